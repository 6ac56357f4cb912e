//! The `kith lab` subcommands, as plain functions for the `kith` binary.
//!
//! - `kith lab up [FILE] [--name N] [--detach] [--no-routers]`: [`up`]
//! - `kith lab status [--name N]`: [`status`]
//! - `kith lab exec [--name N] NODE [-- ARGV...]`: [`exec`]
//! - `kith lab down [--name N]`: [`down`]
//! - `kith lab list`: [`list`]
//!
//! A lab called `kith` (the default) has namespaces `kith-home`, `kith-isp1`, ...
//! and its state in `/run/kith-lab/kith.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::unistd::Pid;

use crate::demo;
use crate::lab::{BuildOptions, Lab};
use crate::process::{self, IP};
use crate::state::{LabState, cleanup_stale};
use crate::topology::{self, NodeKind};

/// The lab name when none is given: namespaces `kith-<node>`.
pub const DEFAULT_LAB_NAME: &str = "kith";

/// Options of `kith lab up`.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Lab name (`--name`), default [`DEFAULT_LAB_NAME`].
    pub name: String,
    /// `--detach`: leave the lab running and return; `kith lab down` removes it.
    pub detach: bool,
    /// Start `kith run` in the routers (default); `--no-routers` builds the
    /// namespaces and links only.
    pub start_routers: bool,
    /// `--check`: run the scenario's checks, print them, tear down, and fail when
    /// one fails (the demo without a human watching).
    pub check: bool,
}

impl Default for UpOptions {
    fn default() -> Self {
        UpOptions {
            name: DEFAULT_LAB_NAME.to_owned(),
            detach: false,
            start_routers: true,
            check: false,
        }
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

const STOP_SIGNALS: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP];

/// Catches SIGINT, SIGTERM and SIGHUP into [`STOP`]; returns the old actions.
#[allow(unsafe_code)]
fn catch_stop_signals() -> Vec<(Signal, SigAction)> {
    STOP.store(false, Ordering::SeqCst);
    let action = SigAction::new(
        SigHandler::Handler(on_stop_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    let mut old = Vec::new();
    for sig in STOP_SIGNALS {
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe,
        // and the previous action is restored by `restore_signals`.
        match unsafe { sigaction(sig, &action) } {
            Ok(prev) => old.push((sig, prev)),
            Err(e) => tracing::warn!("cannot catch {sig}: {e}"),
        }
    }
    old
}

#[allow(unsafe_code)]
fn restore_signals(old: Vec<(Signal, SigAction)>) {
    for (sig, action) in old {
        // SAFETY: puts back the action that was installed before ours.
        let _ = unsafe { sigaction(sig, &action) };
    }
}

/// `kith lab up`: builds the topology in `file` (default: the embedded
/// scenario), starts `kith run` (the binary `kith_bin`) in its routers, writes
/// the state file, prints a summary; then stays until SIGINT/SIGTERM and tears
/// everything down, or with `detach` returns and leaves the lab running.
pub fn up(file: Option<&Path>, kith_bin: &Path, opts: &UpOptions) -> anyhow::Result<()> {
    match cleanup_stale() {
        Ok(removed) => {
            for name in removed {
                println!("removed stale lab {name}");
            }
        }
        Err(e) => eprintln!("warning: cleaning up stale labs: {e}"),
    }
    let topology = topology::load_or_scenario(file)?;
    let scenario = file.is_none();
    let build = BuildOptions {
        name: Some(opts.name.clone()),
        tag: format!(
            "kith lab up {}",
            file.map_or("(scenario)".into(), |p| p.display().to_string())
        ),
        kith_bin: Some(kith_bin.to_path_buf()),
        start_routers: opts.start_routers,
        router_env: Vec::new(),
    };
    // Catch Ctrl-C from here on: a signal during the build tears down after it.
    let old = catch_stop_signals();
    let result = run_up(&topology, &build, opts, scenario);
    restore_signals(old);
    result
}

fn run_up(
    topology: &topology::Topology,
    build: &BuildOptions,
    opts: &UpOptions,
    scenario: bool,
) -> anyhow::Result<()> {
    let lab =
        Lab::build(topology, build).with_context(|| format!("cannot build lab `{}`", opts.name))?;
    wait_router_addresses(&lab, Duration::from_secs(5));
    print!("{}", summary(&lab.state()));
    if scenario && opts.start_routers && !STOP.load(Ordering::SeqCst) {
        println!("checking the scenario (routers get up to 30 s to come up) ...");
        let results = demo::scenario_checks(&lab);
        print!("{}", demo::render(&results));
        if opts.check {
            let failed = results.iter().filter(|r| !r.ok).count();
            lab.teardown().context("tearing down")?;
            println!("lab {} removed", opts.name);
            if failed > 0 {
                bail!("{failed} scenario check(s) failed");
            }
            return Ok(());
        }
    }
    let name_opt = if opts.name == DEFAULT_LAB_NAME {
        String::new()
    } else {
        format!(" --name {}", opts.name)
    };
    if opts.detach && !STOP.load(Ordering::SeqCst) {
        lab.detach();
        println!(
            "lab {} left running; remove it with: kith lab down{name_opt}",
            opts.name
        );
        return Ok(());
    }
    println!(
        "lab {} is up; Ctrl-C tears it down (or: kith lab down{name_opt})",
        opts.name
    );
    let mut reported = Vec::new();
    while !STOP.load(Ordering::SeqCst) {
        for p in lab.state().processes {
            if !lab.is_running(&p.node, &p.name)
                && !reported.contains(&(p.node.clone(), p.name.clone()))
            {
                let status = lab
                    .exit_status(&p.node, &p.name)
                    .map_or_else(|| "exited".to_owned(), |s| process::describe_status(&s));
                println!(
                    "{}: {} stopped ({status}); log: {}",
                    p.node,
                    p.name,
                    p.log.display()
                );
                reported.push((p.node.clone(), p.name.clone()));
            }
        }
        thread::sleep(Duration::from_millis(200));
    }
    println!("tearing down lab {} ...", opts.name);
    lab.teardown().context("tearing down")?;
    println!("lab {} removed", opts.name);
    Ok(())
}

/// Global addresses per interface, live from the namespace.
fn live_addresses(ns: &str) -> BTreeMap<String, Vec<String>> {
    let argv = [IP, "-n", ns, "-j", "addr", "show"].map(str::to_owned);
    let Ok(out) = process::run_ok(&argv, Duration::from_secs(10)) else {
        return BTreeMap::new();
    };
    let Ok(serde_json::Value::Array(links)) = serde_json::from_str(&out) else {
        return BTreeMap::new();
    };
    let mut map = BTreeMap::new();
    for link in links {
        let Some(ifname) = link.get("ifname").and_then(|v| v.as_str()) else {
            continue;
        };
        let addrs = link
            .get("addr_info")
            .and_then(|v| v.as_array())
            .map(|infos| {
                infos
                    .iter()
                    .filter(|i| i.get("scope").and_then(|s| s.as_str()) == Some("global"))
                    .filter_map(|i| {
                        Some(format!(
                            "{}/{}",
                            i.get("local")?.as_str()?,
                            i.get("prefixlen")?.as_u64()?
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default();
        map.insert(ifname.to_owned(), addrs);
    }
    map
}

/// Renders rows as left-aligned columns.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<width$}  ", width = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn runs_kith(state: &LabState, node: &str) -> bool {
    state
        .processes
        .iter()
        .any(|p| p.node == node && p.name == "kith")
}

/// Waits (up to `timeout`) until every interface of every router running kith
/// has a global address, or its kith is gone: so the summary shows them.
fn wait_router_addresses(lab: &Lab, timeout: Duration) {
    let state = lab.state();
    let routers: Vec<_> = state
        .nodes
        .iter()
        .filter(|n| runs_kith(&state, &n.name))
        .collect();
    if routers.is_empty() {
        return;
    }
    let _ = lab.wait_until("router addresses", timeout, || {
        STOP.load(Ordering::SeqCst)
            || routers.iter().all(|n| {
                let live = live_addresses(&n.namespace);
                !lab.is_running(&n.name, "kith")
                    || n.interfaces
                        .iter()
                        .all(|i| live.get(&i.name).is_some_and(|a| !a.is_empty()))
            })
    });
}

/// The summary `up` prints: one row per interface, with live addresses.
pub fn summary(state: &LabState) -> String {
    let mut rows = vec![
        ["NODE", "KIND", "NAMESPACE", "IF", "PEER", "ADDRESSES"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for node in &state.nodes {
        let live = live_addresses(&node.namespace);
        if node.interfaces.is_empty() {
            rows.push(vec![
                node.name.clone(),
                node.kind.to_string(),
                node.namespace.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        for (i, iface) in node.interfaces.iter().enumerate() {
            let addrs = live.get(&iface.name).filter(|a| !a.is_empty()).map_or_else(
                || {
                    if runs_kith(state, &node.name) {
                        "(not yet set by kith)".to_owned()
                    } else {
                        "-".to_owned()
                    }
                },
                |a| a.join(" "),
            );
            let first = i == 0;
            rows.push(vec![
                if first {
                    node.name.clone()
                } else {
                    String::new()
                },
                if first {
                    node.kind.to_string()
                } else {
                    String::new()
                },
                if first {
                    node.namespace.clone()
                } else {
                    String::new()
                },
                iface.name.clone(),
                iface.peer.clone(),
                addrs,
            ]);
        }
    }
    let mut out = format!(
        "lab {}: {} nodes, work dir {}\n",
        state.name,
        state.nodes.len(),
        state.workdir.display()
    );
    out.push_str(&table(&rows));
    if !state.processes.is_empty() {
        let mut rows = vec![
            ["NODE", "PROCESS", "PID", "LOG"]
                .map(str::to_owned)
                .to_vec(),
        ];
        for p in &state.processes {
            rows.push(vec![
                p.node.clone(),
                p.name.clone(),
                p.pid.to_string(),
                p.log.display().to_string(),
            ]);
        }
        out.push_str(&table(&rows));
    }
    out
}

fn read_state(name: &str) -> anyhow::Result<LabState> {
    match LabState::read(name)? {
        Some(state) => Ok(state),
        None => bail!("no lab `{name}` (no {})", LabState::path_of(name).display()),
    }
}

/// `kith lab status`: nodes and whether their namespaces exist, processes and
/// whether they run, and per router its links (`ip -br addr`) and routes.
pub fn status(name: &str) -> anyhow::Result<()> {
    let state = read_state(name)?;
    let owner = if state.detached {
        "detached".to_owned()
    } else if state.owner_alive() {
        format!("owner pid {}", state.owner_pid)
    } else {
        format!("STALE: owner pid {} is gone", state.owner_pid)
    };
    println!(
        "lab {} ({owner}), work dir {}",
        state.name,
        state.workdir.display()
    );
    let mut rows = vec![
        ["NODE", "KIND", "NAMESPACE", "PRESENT"]
            .map(str::to_owned)
            .to_vec(),
    ];
    for node in &state.nodes {
        rows.push(vec![
            node.name.clone(),
            node.kind.to_string(),
            node.namespace.clone(),
            if process::netns_exists(&node.namespace) {
                "yes"
            } else {
                "NO"
            }
            .into(),
        ]);
    }
    print!("{}", table(&rows));
    if !state.processes.is_empty() {
        let mut rows = vec![
            ["NODE", "PROCESS", "PID", "STATE", "LOG"]
                .map(str::to_owned)
                .to_vec(),
        ];
        for p in &state.processes {
            rows.push(vec![
                p.node.clone(),
                p.name.clone(),
                p.pid.to_string(),
                if p.alive() { "running" } else { "DEAD" }.into(),
                p.log.display().to_string(),
            ]);
        }
        print!("{}", table(&rows));
    }
    for node in state.nodes.iter().filter(|n| n.kind == NodeKind::Router) {
        println!("\n== {} ({}) ==", node.name, node.namespace);
        if !process::netns_exists(&node.namespace) {
            println!("namespace missing");
            continue;
        }
        for args in [vec!["-br", "addr"], vec!["route"], vec!["-6", "route"]] {
            let mut argv = vec![IP.to_owned(), "-n".into(), node.namespace.clone()];
            argv.extend(args.iter().map(|a| (*a).to_owned()));
            match process::run_ok(&argv, Duration::from_secs(10)) {
                Ok(out) => {
                    println!("$ ip {}", args.join(" "));
                    print!("{out}");
                }
                Err(e) => println!("{e}"),
            }
        }
    }
    Ok(())
}

/// `kith lab exec`: runs `argv` (a shell when empty) in the node's namespace
/// with the terminal attached; returns its exit code (128 + signal when killed).
pub fn exec(name: &str, node: &str, argv: &[String]) -> anyhow::Result<i32> {
    let state = read_state(name)?;
    let Some(ns) = state.namespace(node) else {
        let nodes: Vec<&str> = state.nodes.iter().map(|n| n.name.as_str()).collect();
        bail!(
            "lab `{name}` has no node `{node}` (nodes: {})",
            nodes.join(", ")
        );
    };
    if !process::netns_exists(ns) {
        bail!("namespace `{ns}` of node `{node}` is gone");
    }
    let shell;
    let argv: &[String] = if argv.is_empty() {
        shell = [std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into())];
        &shell
    } else {
        argv
    };
    let status = Command::new(IP)
        .args(["netns", "exec", ns])
        .args(argv)
        .status()
        .with_context(|| format!("cannot run {IP} netns exec"))?;
    use std::os::unix::process::ExitStatusExt;
    Ok(status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1))
}

/// `kith lab down`: asks a foreground `up` to tear down (SIGTERM), then kills
/// the recorded processes, deletes the recorded namespaces and removes the
/// state file. Idempotent: no lab is not an error.
pub fn down(name: &str) -> anyhow::Result<()> {
    let Some(state) = LabState::read(name)? else {
        println!("lab {name} is not up");
        return Ok(());
    };
    let me = std::process::id() as i32;
    if !state.detached && state.owner_alive() && state.owner_pid != me {
        println!(
            "asking lab {name}'s owner (pid {}) to tear down",
            state.owner_pid
        );
        process::signal_pid(Pid::from_raw(state.owner_pid), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(20);
        while LabState::path_of(name).exists() && state.owner_alive() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(100));
        }
    }
    if let Some(state) = LabState::read(name)? {
        state.teardown()?;
    }
    println!("lab {name} removed");
    Ok(())
}

/// `kith lab list`: every lab with a state file.
pub fn list() -> anyhow::Result<()> {
    let mut rows = vec![["LAB", "OWNER", "NODES", "TAG"].map(str::to_owned).to_vec()];
    for lab in LabState::all() {
        let owner = if lab.detached {
            "detached".to_owned()
        } else if lab.owner_alive() {
            format!("pid {}", lab.owner_pid)
        } else {
            "stale".to_owned()
        };
        rows.push(vec![
            lab.name.clone(),
            owner,
            lab.nodes.len().to_string(),
            lab.tag.clone(),
        ]);
    }
    print!("{}", table(&rows));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let rows = vec![
            vec!["A".to_owned(), "BB".to_owned(), "C".to_owned()],
            vec!["aaa".to_owned(), "b".to_owned(), "c c".to_owned()],
        ];
        assert_eq!(table(&rows), "A    BB  C\naaa  b   c c\n");
    }
}
