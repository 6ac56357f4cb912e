//! The [`Lab`]: network namespaces, veth links and processes, removed on drop.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::net::IpAddr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::process::{self, IP};
use crate::state::{self, InterfaceState, LabState, NodeState, ProcessState, STATE_DIR};
use crate::topology::{NodeKind, Topology, check_ifname, check_node_name};

/// How long [`Lab::exec`] lets a command run unless told otherwise.
pub const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Lab::stop`] waits after SIGTERM before SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);
/// The polling interval of [`wait_until`].
pub const WAIT_INTERVAL: Duration = Duration::from_millis(100);

/// Commands the lab itself runs (ip, sysctl writes) get this long.
const SETUP_TIMEOUT: Duration = Duration::from_secs(20);

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One end of a link for [`Lab::add_link`]: node, interface name, optional address.
pub type LinkEnd<'a> = (&'a str, &'a str, Option<IpNet>);

/// How [`Lab::build`] makes a lab from a [`Topology`].
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// A fixed lab name (namespaces `<name>-<node>`); `None`: a unique name.
    pub name: Option<String>,
    /// Free text recorded in the state file (a test name).
    pub tag: String,
    /// The `kith` binary run in routers as `kith run --config <file> --run-dir <dir>`.
    pub kith_bin: Option<PathBuf>,
    /// Start `kith run` in every router that has a config, the nodes' `daemons`,
    /// and make the routers' certificates (`kith pki`, see [`crate::pki`]). With
    /// `false` the routers are bare namespaces (forwarding on, no addresses).
    pub start_routers: bool,
    /// Extra environment for the router processes.
    pub router_env: Vec<(String, String)>,
}

impl BuildOptions {
    /// Start `kith run` in the routers, using `kith_bin`.
    pub fn new(kith_bin: &Path) -> Self {
        BuildOptions {
            name: None,
            tag: String::new(),
            kith_bin: Some(kith_bin.to_path_buf()),
            start_routers: true,
            router_env: Vec::new(),
        }
    }

    /// Build the namespaces and links only; start no process (no router, no
    /// topology `daemons`, no PKI).
    pub fn without_routers() -> Self {
        BuildOptions {
            name: None,
            tag: String::new(),
            kith_bin: None,
            start_routers: false,
            router_env: Vec::new(),
        }
    }
}

struct Proc {
    node: String,
    name: String,
    pid: Pid,
    child: Option<Child>,
    status: Option<ExitStatus>,
}

impl Proc {
    /// Reaps the child when it exited; true while it runs.
    fn running(&mut self) -> bool {
        if self.status.is_some() {
            return false;
        }
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => true,
            Some(Ok(Some(status))) => {
                self.status = Some(status);
                false
            }
            _ => false,
        }
    }
}

struct Inner {
    state: LabState,
    procs: Vec<Proc>,
    exec_timeout: Duration,
    finished: bool,
}

/// A set of network namespaces joined by veth pairs, and the processes running
/// in them. Everything it created is removed when it is dropped (also while a
/// test panics); nothing it did not create is ever touched.
///
/// All methods take `&self`, so a lab can be shared between threads (for
/// example to cut a link while another thread pings).
pub struct Lab {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Lab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Lab")
            .field("name", &inner.state.name)
            .field("workdir", &inner.state.workdir)
            .finish_non_exhaustive()
    }
}

fn check_lab_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 16
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "lab name",
            name,
            "1-16 characters of a-z, 0-9 and `-`, starting with a letter",
        ))
    }
}

impl Lab {
    /// A lab with a unique name `kl<pid>x<n>` (namespaces `kl<pid>x<n>-<node>`).
    /// `tag` is recorded in the state file to say who made it. Stale labs of
    /// dead processes are removed first (best effort).
    pub fn new(tag: &str) -> Result<Lab> {
        if let Err(e) = state::cleanup_stale() {
            tracing::warn!("cleaning up stale labs: {e}");
        }
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("kl{}x{n}", std::process::id());
        Lab::create(&name, tag)
    }

    /// A lab with a fixed name (namespaces `<name>-<node>`), e.g. `kith` for the
    /// CLI. Fails when a live or detached lab has that name; a stale one is
    /// removed first.
    pub fn named(name: &str, tag: &str) -> Result<Lab> {
        check_lab_name(name)?;
        Lab::create(name, tag)
    }

    fn create(name: &str, tag: &str) -> Result<Lab> {
        let me = std::process::id() as i32;
        let workdir = Path::new(STATE_DIR).join(name);
        let state = LabState {
            name: name.to_owned(),
            tag: tag.to_owned(),
            prefix: format!("{name}-"),
            owner_pid: me,
            owner_start: process::start_time(me),
            detached: false,
            workdir: workdir.clone(),
            nodes: Vec::new(),
            processes: Vec::new(),
        };
        state::claim(&state)?;
        // A work dir left by a crashed lab of the same name holds nothing we need.
        state::remove_workdir(&workdir);
        if let Err(e) = fs::DirBuilder::new().mode(0o700).create(&workdir) {
            let _ = fs::remove_file(LabState::path_of(name));
            return Err(Error::io(
                format!("cannot create work dir {}", workdir.display()),
                e,
            ));
        }
        Ok(Lab {
            inner: Mutex::new(Inner {
                state,
                procs: Vec::new(),
                exec_timeout: DEFAULT_EXEC_TIMEOUT,
                finished: false,
            }),
        })
    }

    /// Builds `topology` and starts `kith run` in each router that has a config.
    pub fn from_topology(topology: &Topology, kith_bin: &Path) -> Result<Lab> {
        Lab::build(topology, &BuildOptions::new(kith_bin))
    }

    /// Builds `topology`: nodes, links (with their addresses, both ends up), the
    /// nodes' `commands`, then (if asked) the certificates the router configs name
    /// (`kith pki` into `<workdir>/pki`, passed on as `KITH_PKI_DIR`), the nodes'
    /// `daemons` and `kith run` in the routers. On error the half-built lab is removed.
    pub fn build(topology: &Topology, opts: &BuildOptions) -> Result<Lab> {
        topology.validate()?;
        let kith_bin = match (&opts.kith_bin, opts.start_routers) {
            (Some(bin), true) => Some(bin.clone()),
            (None, true) => {
                return Err(Error::State(
                    "start_routers needs the path of the kith binary".into(),
                ));
            }
            (_, false) => None,
        };
        let lab = match &opts.name {
            Some(name) => Lab::named(name, &opts.tag)?,
            None => Lab::new(&opts.tag)?,
        };
        for node in &topology.nodes {
            lab.add_node(&node.name, node.kind)?;
        }
        for link in &topology.links {
            let (a, b) = (&link.a, &link.b);
            lab.add_link(
                (&a.node, &a.ifname, a.addresses.first().copied()),
                (&b.node, &b.ifname, b.addresses.first().copied()),
            )?;
            for end in [a, b] {
                for addr in end.addresses.iter().skip(1) {
                    lab.add_address(&end.node, &end.ifname, *addr)?;
                }
            }
        }
        for node in &topology.nodes {
            for command in &node.commands {
                lab.sh(&node.name, command).map_err(|e| {
                    Error::State(format!("node `{}`: command `{command}`: {e}", node.name))
                })?;
            }
        }
        let mut env = opts.router_env.clone();
        if let Some(bin) = &kith_bin {
            if let Some(dir) = crate::pki::make(&lab.workdir(), topology, bin)?
                && !env.iter().any(|(k, _)| k == "KITH_PKI_DIR")
            {
                env.push(("KITH_PKI_DIR".into(), dir.display().to_string()));
            }
            for node in &topology.nodes {
                for line in &node.daemons {
                    lab.start_daemon(&node.name, line)?;
                }
            }
        }
        for node in &topology.nodes {
            let Some(config) = &node.config else { continue };
            let path = lab.write_router_config(&node.name, &config.text)?;
            if let Some(bin) = &kith_bin {
                lab.start_router(&node.name, bin, &path, &env)?;
            }
        }
        Ok(lab)
    }

    /// Starts a topology `daemons` line (`sh -c "exec LINE"`) in a node as a process
    /// named after its program (`dnsmasq`), stopped with the lab.
    pub fn start_daemon(&self, node: &str, line: &str) -> Result<Pid> {
        let program = line.split_whitespace().next().unwrap_or_default();
        let name = program.rsplit('/').next().unwrap_or(program);
        self.spawn(node, name, &["sh", "-c", &format!("exec {line}")], &[])
    }

    /// Writes a router's config to `<workdir>/<node>/config.yaml` (mode 0600)
    /// and returns its path.
    pub fn write_router_config(&self, node: &str, text: &str) -> Result<PathBuf> {
        self.namespace(node)?;
        let dir = self.node_dir(node)?;
        let path = dir.join("config.yaml");
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)?;
            f.write_all(text.as_bytes())
        };
        write().map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
        Ok(path)
    }

    /// Starts `kith run --config <config> --run-dir <workdir>/<node>/run` in the
    /// node, as process `kith` (log `<workdir>/<node>-kith.log`).
    pub fn start_router(
        &self,
        node: &str,
        kith_bin: &Path,
        config: &Path,
        env: &[(String, String)],
    ) -> Result<Pid> {
        let run_dir = self.node_dir(node)?.join("run");
        let argv = [
            kith_bin.display().to_string(),
            "run".into(),
            "--config".into(),
            config.display().to_string(),
            "--run-dir".into(),
            run_dir.display().to_string(),
        ];
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.spawn(node, "kith", &argv, &env)
    }

    /// `<workdir>/<node>/`, created (0700) when missing.
    pub fn node_dir(&self, node: &str) -> Result<PathBuf> {
        self.namespace(node)?;
        let dir = self.workdir().join(node);
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        Ok(dir)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data: keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lab's name.
    pub fn name(&self) -> String {
        self.lock().state.name.clone()
    }

    /// The prefix of its namespace names.
    pub fn prefix(&self) -> String {
        self.lock().state.prefix.clone()
    }

    /// The work dir (logs, configs).
    pub fn workdir(&self) -> PathBuf {
        self.lock().state.workdir.clone()
    }

    /// A copy of the lab's state (what the state file holds).
    pub fn state(&self) -> LabState {
        self.lock().state.clone()
    }

    /// Node names and kinds, in creation order.
    pub fn nodes(&self) -> Vec<(String, NodeKind)> {
        self.lock()
            .state
            .nodes
            .iter()
            .map(|n| (n.name.clone(), n.kind))
            .collect()
    }

    /// Every namespace the lab created.
    pub fn namespaces(&self) -> Vec<String> {
        self.lock()
            .state
            .nodes
            .iter()
            .map(|n| n.namespace.clone())
            .collect()
    }

    /// The namespace of a node.
    pub fn namespace(&self, node: &str) -> Result<String> {
        self.lock()
            .state
            .namespace(node)
            .map(str::to_owned)
            .ok_or_else(|| Error::UnknownNode(node.to_owned()))
    }

    /// Sets the time bound of [`Lab::exec`] and friends.
    pub fn set_exec_timeout(&self, timeout: Duration) {
        self.lock().exec_timeout = timeout;
    }

    fn save(&self, inner: &Inner) {
        if let Err(e) = inner.state.save() {
            tracing::warn!("lab {}: {e}", inner.state.name);
        }
    }

    /// Creates the node's namespace, brings `lo` up, and sets its sysctls:
    /// `rp_filter` 0 everywhere; on routers and ISPs forwarding (IPv4 and IPv6)
    /// and `ignore_routes_with_linkdown` (a route over a link without carrier is
    /// not used, as the design's convention says); IPv6 DAD off (no tentative
    /// addresses in tests).
    pub fn add_node(&self, name: &str, kind: NodeKind) -> Result<()> {
        check_node_name(name).map_err(|m| Error::invalid("node name", name, m))?;
        let ns = {
            let inner = self.lock();
            if inner.state.namespace(name).is_some() {
                return Err(Error::invalid("node name", name, "already in this lab"));
            }
            format!("{}{name}", inner.state.prefix)
        };
        if process::netns_exists(&ns) {
            return Err(Error::State(format!(
                "namespace `{ns}` already exists and this lab did not create it: left alone"
            )));
        }
        ip(&["netns", "add", &ns])?;
        {
            let mut inner = self.lock();
            inner.state.nodes.push(NodeState {
                name: name.to_owned(),
                kind,
                namespace: ns.clone(),
                interfaces: Vec::new(),
            });
            self.save(&inner);
        }
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;

        let mut script = String::from(
            "set -e\n\
             cd /proc/sys/net\n\
             echo 0 > ipv4/conf/all/rp_filter\n\
             echo 0 > ipv4/conf/default/rp_filter\n",
        );
        if kind.forwards() {
            script.push_str(
                "echo 1 > ipv4/ip_forward\n\
                 echo 1 > ipv4/conf/all/ignore_routes_with_linkdown\n\
                 echo 1 > ipv4/conf/default/ignore_routes_with_linkdown\n",
            );
        }
        script.push_str("if [ -d ipv6 ]; then\n");
        script.push_str(
            "echo 0 > ipv6/conf/all/accept_dad\n\
             echo 0 > ipv6/conf/default/accept_dad\n",
        );
        if kind.forwards() {
            script.push_str(
                "echo 1 > ipv6/conf/all/forwarding\n\
                 echo 1 > ipv6/conf/default/forwarding\n\
                 echo 1 > ipv6/conf/all/ignore_routes_with_linkdown\n\
                 echo 1 > ipv6/conf/default/ignore_routes_with_linkdown\n",
            );
        }
        script.push_str("fi\n");
        self.exec_ok_timeout(name, &["sh", "-c", &script], SETUP_TIMEOUT)
            .map_err(|e| Error::State(format!("node `{name}`: setting sysctls: {e}")))?;
        Ok(())
    }

    /// Creates a veth pair directly inside the two nodes' namespaces (nothing in
    /// the root namespace), with the given interface names, optional addresses,
    /// both ends up.
    pub fn add_link(&self, a: LinkEnd<'_>, b: LinkEnd<'_>) -> Result<()> {
        let (na, ia, addr_a) = a;
        let (nb, ib, addr_b) = b;
        check_ifname(ia).map_err(|m| Error::invalid("interface name", ia, m))?;
        check_ifname(ib).map_err(|m| Error::invalid("interface name", ib, m))?;
        if na == nb && ia == ib {
            return Err(Error::invalid("link", ia, "both ends have the same name"));
        }
        let ns_a = self.namespace(na)?;
        let ns_b = self.namespace(nb)?;
        {
            let inner = self.lock();
            for (node, ifname) in [(na, ia), (nb, ib)] {
                let taken = inner
                    .state
                    .nodes
                    .iter()
                    .any(|n| n.name == node && n.interfaces.iter().any(|i| i.name == ifname));
                if taken {
                    return Err(Error::invalid(
                        "interface name",
                        ifname,
                        format!("node `{node}` already has it"),
                    ));
                }
            }
        }
        ip(&[
            "-n", &ns_a, "link", "add", ia, "type", "veth", "peer", "name", ib, "netns", &ns_b,
        ])?;
        {
            let mut inner = self.lock();
            for (node, ifname, peer) in [
                (na, ia, format!("{nb}:{ib}")),
                (nb, ib, format!("{na}:{ia}")),
            ] {
                if let Some(n) = inner.state.nodes.iter_mut().find(|n| n.name == node) {
                    n.interfaces.push(InterfaceState {
                        name: ifname.to_owned(),
                        peer,
                        addresses: Vec::new(),
                    });
                }
            }
            self.save(&inner);
        }
        for (node, ifname, addr) in [(na, ia, addr_a), (nb, ib, addr_b)] {
            if let Some(addr) = addr {
                self.add_address(node, ifname, addr)?;
            }
        }
        self.set_link_up(na, ia, true)?;
        self.set_link_up(nb, ib, true)?;
        Ok(())
    }

    /// Adds an address to an interface of a node (IPv6 without DAD).
    pub fn add_address(&self, node: &str, ifname: &str, addr: IpNet) -> Result<()> {
        let ns = self.namespace(node)?;
        let text = addr.to_string();
        let mut args = vec!["-n", &ns, "addr", "add", &text, "dev", ifname];
        if matches!(addr, IpNet::V6(_)) {
            args.push("nodad");
        }
        ip(&args)?;
        let mut inner = self.lock();
        if let Some(i) = inner
            .state
            .nodes
            .iter_mut()
            .find(|n| n.name == node)
            .and_then(|n| n.interfaces.iter_mut().find(|i| i.name == ifname))
        {
            i.addresses.push(text);
        }
        self.save(&inner);
        Ok(())
    }

    /// Brings an interface of a node up or down (a cut cable, from that side).
    pub fn set_link_up(&self, node: &str, ifname: &str, up: bool) -> Result<()> {
        let ns = self.namespace(node)?;
        let state = if up { "up" } else { "down" };
        ip(&["-n", &ns, "link", "set", "dev", ifname, state])?;
        Ok(())
    }

    fn netns_argv<S: AsRef<str>>(&self, node: &str, argv: &[S]) -> Result<Vec<String>> {
        if argv.is_empty() {
            return Err(Error::invalid("command", "", "empty argv"));
        }
        let ns = self.namespace(node)?;
        let mut full = vec![IP.to_owned(), "netns".into(), "exec".into(), ns];
        full.extend(argv.iter().map(|a| a.as_ref().to_owned()));
        Ok(full)
    }

    /// Runs a command inside a node with the lab's time bound (default 30 s;
    /// the command's process group is killed when it runs over). A non-zero
    /// exit is not an error here: see [`Lab::exec_ok`].
    pub fn exec<S: AsRef<str>>(&self, node: &str, argv: &[S]) -> Result<Output> {
        let timeout = self.lock().exec_timeout;
        self.exec_timeout(node, argv, timeout)
    }

    /// [`Lab::exec`] with an explicit time bound.
    pub fn exec_timeout<S: AsRef<str>>(
        &self,
        node: &str,
        argv: &[S],
        timeout: Duration,
    ) -> Result<Output> {
        let full = self.netns_argv(node, argv)?;
        process::run(&full, timeout)
    }

    /// Runs a command inside a node and returns its stdout; a failure is an error
    /// naming the command, its exit status and its stderr.
    pub fn exec_ok<S: AsRef<str>>(&self, node: &str, argv: &[S]) -> Result<String> {
        let timeout = self.lock().exec_timeout;
        self.exec_ok_timeout(node, argv, timeout)
    }

    /// [`Lab::exec_ok`] with an explicit time bound.
    pub fn exec_ok_timeout<S: AsRef<str>>(
        &self,
        node: &str,
        argv: &[S],
        timeout: Duration,
    ) -> Result<String> {
        let full = self.netns_argv(node, argv)?;
        let out = process::run(&full, timeout)?;
        process::check_output(&full, out)
    }

    /// Runs a shell command line (`sh -c`) inside a node; stdout or an error.
    pub fn sh(&self, node: &str, script: &str) -> Result<String> {
        self.exec_ok(node, &["sh", "-c", script])
    }

    /// Starts a long-running process in a node, in its own process group, with
    /// stdout and stderr appended to `<workdir>/<node>-<name>.log`. `name` is
    /// unique per node while the process runs; it is stopped when the lab goes.
    pub fn spawn<S: AsRef<str>>(
        &self,
        node: &str,
        name: &str,
        argv: &[S],
        env: &[(&str, &str)],
    ) -> Result<Pid> {
        check_node_name(name).map_err(|m| Error::invalid("process name", name, m))?;
        let full = self.netns_argv(node, argv)?;
        let log = self.log_path(node, name);
        {
            let mut inner = self.lock();
            if let Some(p) = inner
                .procs
                .iter_mut()
                .find(|p| p.node == node && p.name == name)
                && p.running()
            {
                return Err(Error::invalid(
                    "process name",
                    name,
                    format!("already running on `{node}` (pid {})", p.pid),
                ));
            }
        }
        let out = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io(format!("cannot open {}", log.display()), e))?;
        let mut cmd = Command::new(&full[0]);
        cmd.args(&full[1..])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().map_err(|e| {
            Error::io(
                format!("cannot start `{}`", process::display_argv(&full)),
                e,
            )
        })?;
        let pid = process::child_pid(&child);
        let mut inner = self.lock();
        inner.procs.retain(|p| !(p.node == node && p.name == name));
        inner.procs.push(Proc {
            node: node.to_owned(),
            name: name.to_owned(),
            pid,
            child: Some(child),
            status: None,
        });
        inner
            .state
            .processes
            .retain(|p| !(p.node == node && p.name == name));
        inner.state.processes.push(ProcessState {
            node: node.to_owned(),
            name: name.to_owned(),
            pid: pid.as_raw(),
            start: process::start_time(pid.as_raw()),
            argv: argv.iter().map(|a| a.as_ref().to_owned()).collect(),
            log: log.clone(),
        });
        self.save(&inner);
        Ok(pid)
    }

    /// Stops a spawned process: SIGTERM to its process group, SIGKILL after
    /// [`STOP_GRACE`]. Returns its exit status (`None` when it was not our child
    /// any more). Stopping a process that already exited is fine.
    pub fn stop(&self, node: &str, name: &str) -> Result<Option<ExitStatus>> {
        let mut proc = {
            let mut inner = self.lock();
            let Some(i) = inner
                .procs
                .iter()
                .position(|p| p.node == node && p.name == name)
            else {
                return Err(Error::UnknownProcess {
                    node: node.to_owned(),
                    name: name.to_owned(),
                });
            };
            inner.procs.remove(i)
        };
        process::terminate_groups(&[proc.pid], STOP_GRACE, |_| proc.running());
        let status = match (proc.status, proc.child.as_mut()) {
            (Some(s), _) => Some(s),
            (None, Some(child)) => child.wait().ok(),
            (None, None) => None,
        };
        let mut inner = self.lock();
        inner
            .state
            .processes
            .retain(|p| !(p.node == node && p.name == name));
        self.save(&inner);
        Ok(status)
    }

    /// The pid of a spawned process (also when it exited).
    pub fn pid(&self, node: &str, name: &str) -> Option<Pid> {
        self.lock()
            .procs
            .iter()
            .find(|p| p.node == node && p.name == name)
            .map(|p| p.pid)
    }

    /// True while a spawned process runs.
    pub fn is_running(&self, node: &str, name: &str) -> bool {
        self.lock()
            .procs
            .iter_mut()
            .find(|p| p.node == node && p.name == name)
            .is_some_and(Proc::running)
    }

    /// The exit status of a spawned process that exited.
    pub fn exit_status(&self, node: &str, name: &str) -> Option<ExitStatus> {
        let mut inner = self.lock();
        let p = inner
            .procs
            .iter_mut()
            .find(|p| p.node == node && p.name == name)?;
        p.running();
        p.status
    }

    /// Where a spawned process logs.
    pub fn log_path(&self, node: &str, name: &str) -> PathBuf {
        self.workdir().join(format!("{node}-{name}.log"))
    }

    /// The log of a spawned process so far (empty when it wrote nothing).
    pub fn log(&self, node: &str, name: &str) -> String {
        fs::read(self.log_path(node, name))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// Polls `cond` every 100 ms until it holds; an error naming `desc` after
    /// `timeout`.
    pub fn wait_until(
        &self,
        desc: &str,
        timeout: Duration,
        cond: impl FnMut() -> bool,
    ) -> Result<()> {
        wait_until(desc, timeout, cond)
    }

    /// Pings `dst` from a node: `count` echo requests 0.2 s apart, each waiting
    /// up to 1 s; true when any reply came back. An unparsable `dst` or an
    /// unknown node is false.
    pub fn ping(&self, from: &str, dst: &str, count: u32) -> bool {
        if dst.parse::<IpAddr>().is_err() {
            tracing::warn!("ping: `{dst}` is not an IP address");
            return false;
        }
        let count = count.clamp(1, 1000);
        let n = count.to_string();
        let timeout = Duration::from_millis(u64::from(count) * 250 + 5_000);
        matches!(
            self.exec_timeout(from, &["ping", "-n", "-q", "-c", &n, "-i", "0.2", "-W", "1", dst], timeout),
            Ok(out) if out.status.success()
        )
    }

    /// Starts a ping from `node` in the background as its process `ping` (its summary
    /// in [`Lab::log`] once it ends): `count` echo requests `interval` apart, each
    /// waiting up to 2 s for its reply.
    pub fn spawn_ping(&self, node: &str, dst: &str, interval: Duration, count: u32) -> Result<Pid> {
        let interval = format!("{:.3}", interval.as_secs_f64());
        let count = count.to_string();
        self.spawn(
            node,
            "ping",
            &["ping", "-n", "-i", &interval, "-W", "2", "-c", &count, dst],
            &[],
        )
    }

    /// Waits until a single ping from `from` to `dst` succeeds.
    pub fn wait_ping(&self, from: &str, dst: &str, timeout: Duration) -> Result<()> {
        self.wait_until(&format!("ping {from} -> {dst}"), timeout, || {
            self.ping(from, dst, 1)
        })
    }

    /// Leaves the lab running (state file marked detached) and returns its
    /// state; a later [`crate::cli::down`] removes it.
    pub fn detach(self) -> LabState {
        let mut inner = self.lock();
        inner.state.detached = true;
        inner.finished = true;
        self.save(&inner);
        // Dropping the Child handles neither kills nor waits: the processes live on.
        inner.procs.clear();
        inner.state.clone()
    }

    /// Removes everything now and reports the first error (drop does the same
    /// silently).
    pub fn teardown(self) -> Result<()> {
        self.finish()
    }

    fn finish(&self) -> Result<()> {
        let mut inner = self.lock();
        if inner.finished {
            return Ok(());
        }
        inner.finished = true;
        let groups: Vec<Pid> = inner
            .procs
            .iter_mut()
            .filter_map(|p| p.running().then_some(p.pid))
            .collect();
        let procs = &mut inner.procs;
        process::terminate_groups(&groups, state::TERM_GRACE, |pgid| {
            procs.iter_mut().any(|p| p.pid == pgid && p.running())
        });
        for p in procs.iter_mut() {
            if let Some(child) = p.child.as_mut() {
                // SIGKILLed above: the wait is short.
                let deadline = Instant::now() + Duration::from_secs(2);
                let _ = process::wait_deadline(child, deadline);
            }
        }
        if thread::panicking() {
            print_log_tails(&inner.state);
        }
        let mut first_err = None;
        for node in inner.state.nodes.iter().rev() {
            if let Err(e) = process::delete_netns(&node.namespace) {
                eprintln!("kith-lab: cannot delete namespace {}: {e}", node.namespace);
                first_err.get_or_insert(e);
            }
        }
        if first_err.is_some() {
            // Keep the state file so that cleanup_stale can finish the job.
            self.save(&inner);
        } else {
            if std::env::var_os("KITH_LAB_KEEP").is_some() {
                eprintln!(
                    "kith-lab: KITH_LAB_KEEP: kept {}",
                    inner.state.workdir.display()
                );
            } else {
                state::remove_workdir(&inner.state.workdir);
            }
            let _ = fs::remove_file(LabState::path_of(&inner.state.name));
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            eprintln!("kith-lab: tearing down lab: {e}");
        }
    }
}

/// Prints the last lines of each process log to stderr (a test is failing).
fn print_log_tails(state: &LabState) {
    for p in &state.processes {
        let Ok(text) = fs::read(&p.log) else { continue };
        let text = String::from_utf8_lossy(&text);
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(40)..];
        eprintln!(
            "--- kith-lab: last lines of {} ({}:{}) ---",
            p.log.display(),
            p.node,
            p.name
        );
        for line in tail {
            eprintln!("{line}");
        }
    }
}

/// Runs `ip ARGS` in the root namespace's view (with `-n` it acts in a lab
/// namespace) and fails with its stderr.
fn ip(args: &[&str]) -> Result<String> {
    let mut argv = vec![IP.to_owned()];
    argv.extend(args.iter().map(|a| (*a).to_owned()));
    process::run_ok(&argv, SETUP_TIMEOUT)
}

/// Polls `cond` every [`WAIT_INTERVAL`] until it holds, at most `timeout` and
/// at most `timeout / interval + 1` times; then an error naming `desc`.
pub fn wait_until(desc: &str, timeout: Duration, mut cond: impl FnMut() -> bool) -> Result<()> {
    let start = Instant::now();
    let max_polls = timeout.as_millis() / WAIT_INTERVAL.as_millis() + 1;
    let mut polls = 0u128;
    loop {
        if cond() {
            return Ok(());
        }
        polls += 1;
        let elapsed = start.elapsed();
        if elapsed >= timeout || polls >= max_polls {
            return Err(Error::WaitTimeout {
                desc: desc.to_owned(),
                timeout,
            });
        }
        thread::sleep(WAIT_INTERVAL.min(timeout - elapsed));
    }
}
