//! Throwaway network namespaces for tests (of this crate and of the others).
//!
//! ```no_run
//! use kith_net::{Net, testns::TestNetns};
//!
//! let ns = TestNetns::new("veth").expect("namespace");
//! let links = ns.run(|| async {
//!     let net = Net::new().expect("netlink");
//!     net.create_veth("a", "b").await.expect("veth");
//!     net.links().await.expect("links")
//! });
//! assert!(links.iter().any(|l| l.name == "b"));
//! // Dropping `ns` (also while unwinding from a failed assertion) deletes the namespace.
//! ```
//!
//! Namespaces are named `kt-<pid>-<counter>-<tag>`. Needs root (CAP_SYS_ADMIN and
//! CAP_NET_ADMIN); without it [`TestNetns::new`] fails with a message saying so, so a test
//! fails loudly instead of being skipped. Namespaces left behind by a killed test process
//! (whose pid is gone) are removed by the next [`TestNetns::new`].

use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::sched::CloneFlags;

use crate::{NetError, Result};

const NETNS_DIR: &str = "/run/netns";
const PREFIX: &str = "kt-";

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SWEEP: Once = Once::new();

/// A network namespace that exists as long as this value does.
#[derive(Debug)]
pub struct TestNetns {
    name: String,
}

fn run_command(cmd: &mut Command, op: &str) -> Result<Output> {
    let output = cmd
        .output()
        .map_err(|e| NetError::io(format!("{op} (running {cmd:?})"), e))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let mut reason = format!("{cmd:?} failed ({}): {stderr}", output.status);
        if !nix::unistd::geteuid().is_root() {
            reason.push_str(
                "; network namespace tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN): run them as root",
            );
        }
        return Err(NetError::Invalid {
            op: op.to_string(),
            reason,
        });
    }
    Ok(output)
}

/// Removes `kt-<pid>-...` namespaces whose process no longer exists.
fn sweep_stale() {
    let Ok(entries) = std::fs::read_dir(NETNS_DIR) else {
        return;
    };
    let me = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != me && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("ip").args(["netns", "del", &name]).output();
        }
    }
}

impl TestNetns {
    /// Creates namespace `kt-<pid>-<counter>-<tag>` with its loopback up.
    ///
    /// Fails with a message naming the missing privilege when not run as root.
    pub fn new(tag: &str) -> Result<TestNetns> {
        if !nix::unistd::geteuid().is_root() {
            return Err(NetError::invalid(
                "create a test network namespace",
                format!(
                    "network namespace tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN), running as uid {}: run them as root",
                    nix::unistd::geteuid()
                ),
            ));
        }
        SWEEP.call_once(sweep_stale);
        let tag: String = tag
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(40)
            .collect();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{PREFIX}{}-{n}-{tag}", std::process::id());
        let op = format!("create network namespace {name}");
        run_command(Command::new("ip").args(["netns", "add", &name]), &op)?;
        let ns = TestNetns { name };
        run_command(
            Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]),
            &op,
        )?;
        Ok(ns)
    }

    /// The namespace's name (for `ip -n NAME`, `ip netns exec NAME`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace's bind mount, `/run/netns/NAME`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(NETNS_DIR).join(&self.name)
    }

    /// Runs the async closure `f` inside the namespace and returns its output.
    ///
    /// A new thread enters the namespace (`setns`) and drives `f()` on its own
    /// current-thread tokio runtime, so every socket, tun device and `/proc/sys/net` file
    /// `f` opens belongs to the namespace. (Do not use `spawn_blocking` in `f`: the
    /// blocking pool's threads are not in the namespace.) A panic in `f` is propagated
    /// to the caller, and the namespace is still deleted when `self` drops.
    ///
    /// Panics if the namespace cannot be entered or the runtime cannot be built; see
    /// [`TestNetns::try_run`] for the fallible form.
    pub fn run<F, Fut, T>(&self, f: F) -> T
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = T>,
        T: Send,
    {
        match self.try_run(f) {
            Ok(out) => out,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`TestNetns::run`], but reports a failure to enter the namespace or to build
    /// the runtime as an error.
    pub fn try_run<F, Fut, T>(&self, f: F) -> Result<T>
    where
        F: FnOnce() -> Fut + Send,
        Fut: Future<Output = T>,
        T: Send,
    {
        let path = self.path();
        let name = self.name.clone();
        std::thread::scope(|scope| {
            let worker = std::thread::Builder::new()
                .name(format!("netns-{name}"))
                .spawn_scoped(scope, move || -> Result<T> {
                    let op = format!("enter network namespace {name}");
                    let file = std::fs::File::open(&path).map_err(|e| NetError::io(&op, e))?;
                    nix::sched::setns(&file, CloneFlags::CLONE_NEWNET)
                        .map_err(|e| NetError::io(&op, e.into()))?;
                    drop(file);
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| NetError::io("build a tokio runtime", e))?;
                    Ok(runtime.block_on(f()))
                })
                .map_err(|e| NetError::io("spawn a thread for the namespace", e))?;
            match worker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Runs `ip -n NAME ARGS...` and returns its standard output.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        let op = format!("run ip {} in {}", args.join(" "), self.name);
        let out = run_command(Command::new("ip").arg("-n").arg(&self.name).args(args), &op)?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs `program ARGS...` inside the namespace (`ip netns exec`); fails unless it
    /// exits successfully.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<Output> {
        let op = format!("run {program} {} in {}", args.join(" "), self.name);
        run_command(
            Command::new("ip")
                .args(["netns", "exec", &self.name, program])
                .args(args),
            &op,
        )
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        // Processes a test started inside the namespace would keep it alive unseen.
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                if let Ok(pid) = pid.parse::<i32>() {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
        }
        match Command::new("ip")
            .args(["netns", "del", &self.name])
            .output()
        {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!(
                "warning: cannot delete network namespace {}: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            Err(e) => eprintln!(
                "warning: cannot delete network namespace {}: {e}",
                self.name
            ),
        }
    }
}
