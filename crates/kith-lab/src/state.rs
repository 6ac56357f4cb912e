//! The state file of a lab (`/run/kith-lab/<name>.json`): what it created, so that
//! `kith lab down` and [`cleanup_stale`] can remove exactly that and nothing else.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::process;
use crate::topology::NodeKind;

/// Where labs keep their state files and work dirs.
pub const STATE_DIR: &str = "/run/kith-lab";

/// How long torn-down processes get between SIGTERM and SIGKILL.
pub(crate) const TERM_GRACE: Duration = Duration::from_secs(3);

/// Everything a lab created, as written to its state file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LabState {
    /// The lab's name: `kith` for the CLI's default, `kl<pid>x<n>` for test labs.
    pub name: String,
    /// Free text given by the creator (a test name).
    pub tag: String,
    /// Namespace names are this prefix plus the node name.
    pub prefix: String,
    /// The process that owns the lab; when it is dead and the lab is not
    /// detached, the lab is stale.
    pub owner_pid: i32,
    /// Start time of the owner (to tell it from a process that reused its pid).
    pub owner_start: Option<u64>,
    /// Left running on purpose (`kith lab up --detach`): never stale.
    pub detached: bool,
    /// Logs, router configs, run dirs.
    pub workdir: PathBuf,
    /// Nodes in creation order.
    pub nodes: Vec<NodeState>,
    /// Processes started with `spawn`, still tracked.
    pub processes: Vec<ProcessState>,
}

/// A node: its namespace and interfaces.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NodeState {
    pub name: String,
    pub kind: NodeKind,
    pub namespace: String,
    pub interfaces: Vec<InterfaceState>,
}

/// An interface made by the lab.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InterfaceState {
    pub name: String,
    /// The other end, `node:ifname`.
    pub peer: String,
    /// Addresses the lab set (a router's own come from its kith config).
    pub addresses: Vec<String>,
}

/// A spawned process (leader of its own process group).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProcessState {
    pub node: String,
    pub name: String,
    pub pid: i32,
    pub start: Option<u64>,
    pub argv: Vec<String>,
    pub log: PathBuf,
}

impl ProcessState {
    /// True when this very process (pid and start time) still runs.
    pub fn alive(&self) -> bool {
        process::is_alive(self.pid, self.start)
    }
}

impl LabState {
    /// The state file of the lab called `name`.
    pub fn path_of(name: &str) -> PathBuf {
        Path::new(STATE_DIR).join(format!("{name}.json"))
    }

    /// Reads the state of the lab called `name`; `None` when there is none.
    pub fn read(name: &str) -> Result<Option<LabState>> {
        let path = Self::path_of(name);
        match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::State(format!("unreadable lab state {}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("cannot read {}", path.display()), e)),
        }
    }

    /// Every readable state file.
    pub fn all() -> Vec<LabState> {
        let Ok(dir) = fs::read_dir(STATE_DIR) else {
            return Vec::new();
        };
        let mut labs: Vec<LabState> = dir
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_str()?.strip_suffix(".json")?.to_owned();
                LabState::read(&name).ok().flatten()
            })
            .collect();
        labs.sort_by(|a, b| a.name.cmp(&b.name));
        labs
    }

    /// True while the owner process runs.
    pub fn owner_alive(&self) -> bool {
        process::is_alive(self.owner_pid, self.owner_start)
    }

    /// Stale: not detached, and its owner is gone.
    pub fn is_stale(&self) -> bool {
        !self.detached && !self.owner_alive()
    }

    /// The namespace of a node.
    pub fn namespace(&self, node: &str) -> Option<&str> {
        self.nodes
            .iter()
            .find(|n| n.name == node)
            .map(|n| n.namespace.as_str())
    }

    /// Writes the state file atomically (temp file, then rename).
    pub(crate) fn save(&self) -> Result<()> {
        let path = Self::path_of(&self.name);
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::State(format!("cannot encode lab state: {e}")))?;
        let write = || -> std::io::Result<()> {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
    }

    /// Kills the recorded processes, deletes the recorded namespaces, removes
    /// the work dir and the state file. Idempotent; touches nothing else.
    pub(crate) fn teardown(&self) -> Result<()> {
        let live: Vec<&ProcessState> = self.processes.iter().filter(|p| p.alive()).collect();
        let groups: Vec<Pid> = live.iter().map(|p| Pid::from_raw(p.pid)).collect();
        process::terminate_groups(&groups, TERM_GRACE, |pgid| {
            live.iter().any(|p| p.pid == pgid.as_raw() && p.alive())
        });
        let mut first_err = None;
        for node in self.nodes.iter().rev() {
            if let Err(e) = process::delete_netns(&node.namespace) {
                first_err.get_or_insert(e);
            }
        }
        if first_err.is_none() {
            remove_workdir(&self.workdir);
            let _ = fs::remove_file(Self::path_of(&self.name));
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

/// Removes a lab work dir, but only one under [`STATE_DIR`].
pub(crate) fn remove_workdir(dir: &Path) {
    if dir.starts_with(STATE_DIR) && dir != Path::new(STATE_DIR) {
        let _ = fs::remove_dir_all(dir);
    }
}

/// Creates [`STATE_DIR`] (0700) when missing.
pub(crate) fn ensure_state_dir() -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(STATE_DIR)
        .map_err(|e| Error::io(format!("cannot create {STATE_DIR} (are you root?)"), e))
}

/// Claims the name of a lab by creating its state file exclusively (with the
/// content of `state`). A stale lab of that name is removed first; a live or
/// detached one is an error.
pub(crate) fn claim(state: &LabState) -> Result<()> {
    ensure_state_dir()?;
    let name = state.name.as_str();
    let path = LabState::path_of(name);
    for _ in 0..2 {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut f) => {
                let text = serde_json::to_string_pretty(state)
                    .map_err(|e| Error::State(format!("cannot encode lab state: {e}")))?;
                return f
                    .write_all(text.as_bytes())
                    .map_err(|e| Error::io(format!("cannot write {}", path.display()), e));
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                match LabState::read(name) {
                    Ok(Some(old)) if old.is_stale() => {
                        tracing::info!(lab = name, "removing the stale lab of that name");
                        old.teardown()?;
                        // teardown removed the file; a failed teardown returned above.
                        let _ = fs::remove_file(&path);
                    }
                    Ok(Some(old)) => {
                        return Err(Error::State(format!(
                            "lab `{name}` is already up (owner pid {}{}); `kith lab down --name {name}` removes it",
                            old.owner_pid,
                            if old.detached { ", detached" } else { "" }
                        )));
                    }
                    _ => {
                        return Err(Error::State(format!(
                            "{} exists but is not a readable lab state; remove it if no lab `{name}` runs",
                            path.display()
                        )));
                    }
                }
            }
            Err(e) => return Err(Error::io(format!("cannot create {}", path.display()), e)),
        }
    }
    Err(Error::State(format!("cannot claim lab name `{name}`")))
}

/// Removes every lab whose owner process is dead (and that was not detached):
/// its processes, namespaces, work dir and state file. Returns their names.
/// Labs of live owners, detached labs and namespaces no lab recorded are left
/// alone.
pub fn cleanup_stale() -> Result<Vec<String>> {
    let mut removed = Vec::new();
    let mut first_err = None;
    for lab in LabState::all() {
        if lab.is_stale() {
            match lab.teardown() {
                Ok(()) => removed.push(lab.name.clone()),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(removed),
    }
}
