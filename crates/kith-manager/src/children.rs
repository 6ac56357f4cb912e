//! The daemons the supervisor runs as child processes: start, watch, restart with backoff, stop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::{Duration, Instant, SystemTime};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// First restart delay after a crash; doubles on each crash in a row.
const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest restart delay.
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A child that ran this long before exiting counts as healthy: its backoff starts over.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// How long a child gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// bgpd's: it removes the routes it installed before it exits, and the kernel deletes a
/// full table (1,000,000 routes) in 25-30 s; a small table goes at once.
const BGPD_STOP_GRACE: Duration = Duration::from_secs(45);

/// How long `daemon` gets between SIGTERM and SIGKILL.
fn stop_grace(daemon: &str) -> Duration {
    if daemon == "bgpd" {
        BGPD_STOP_GRACE
    } else {
        STOP_GRACE
    }
}
/// How long a reload waits for a child that just started to become ready (its status
/// socket bound, which each daemon does after installing its SIGHUP handler).
const READY_WAIT: Duration = Duration::from_secs(10);

/// What the supervisor tells a child to be: `kith <daemon> --config <file>`.
#[derive(Clone, Debug)]
pub struct ChildSpec {
    /// Daemon name, also the `kith` subcommand (`routed`, `vpnd`, `bgpd`).
    pub daemon: String,
    /// The multi-call binary.
    pub program: PathBuf,
    /// Arguments after the program name.
    pub args: Vec<String>,
}

/// A child exit reported to the supervisor loop.
#[derive(Debug)]
pub struct ChildExit {
    pub daemon: String,
    pub generation: u64,
    pub status: std::io::Result<ExitStatus>,
}

struct Running {
    spec: ChildSpec,
    pid: Option<u32>,
    generation: u64,
    started: Instant,
    /// The wall-clock time of the start, to tell this process's status socket from a
    /// left-over one.
    started_at: SystemTime,
    crashes_in_a_row: u32,
    /// When set, the child is down and waits for this instant to start again.
    restart_at: Option<Instant>,
}

/// The set of supervised daemons.
pub struct Children {
    running: BTreeMap<String, Running>,
    exits_tx: mpsc::UnboundedSender<ChildExit>,
    next_generation: u64,
}

impl Children {
    /// A new empty set; exits are reported on the returned receiver.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<ChildExit>) {
        let (exits_tx, exits_rx) = mpsc::unbounded_channel();
        let children = Children {
            running: BTreeMap::new(),
            exits_tx,
            next_generation: 1,
        };
        (children, exits_rx)
    }

    /// Names of the daemons currently supervised.
    pub fn daemons(&self) -> Vec<String> {
        self.running.keys().cloned().collect()
    }

    /// Pid of a daemon's current process, if it is running.
    pub fn pid(&self, daemon: &str) -> Option<u32> {
        self.running.get(daemon).and_then(|r| r.pid)
    }

    /// Starts a daemon that is not supervised yet.
    pub fn start(&mut self, spec: ChildSpec) {
        let daemon = spec.daemon.clone();
        let mut running = Running {
            spec,
            pid: None,
            generation: 0,
            started: Instant::now(),
            started_at: SystemTime::now(),
            crashes_in_a_row: 0,
            restart_at: None,
        };
        self.launch(&mut running);
        self.running.insert(daemon, running);
    }

    fn launch(&mut self, running: &mut Running) {
        let generation = self.next_generation;
        self.next_generation += 1;
        running.generation = generation;
        running.started = Instant::now();
        // File times come from the kernel's coarse clock, a tick behind: take the start
        // a little early (a left-over socket is older than a restart's backoff).
        running.started_at = SystemTime::now() - Duration::from_millis(50);
        running.restart_at = None;
        let spec = &running.spec;
        let mut command = Command::new(&spec.program);
        command.args(&spec.args).kill_on_drop(true);
        match command.spawn() {
            Ok(child) => {
                running.pid = child.id();
                info!(
                    "started {} (pid {})",
                    spec.daemon,
                    running.pid.unwrap_or_default()
                );
                let tx = self.exits_tx.clone();
                let daemon = spec.daemon.clone();
                tokio::spawn(wait_child(child, daemon, generation, tx));
            }
            Err(err) => {
                running.pid = None;
                warn!(
                    "cannot start {} ({}): {err}",
                    spec.daemon,
                    spec.program.display()
                );
                let _ = self.exits_tx.send(ChildExit {
                    daemon: spec.daemon.clone(),
                    generation,
                    status: Err(err),
                });
            }
        }
    }

    /// Records a child's exit and schedules its restart with backoff.
    pub fn handle_exit(&mut self, exit: ChildExit) {
        let Some(running) = self.running.get_mut(&exit.daemon) else {
            return; // stopped on purpose
        };
        if running.generation != exit.generation {
            return; // an older process of this daemon
        }
        running.pid = None;
        let ran = running.started.elapsed();
        if ran >= STABLE_AFTER {
            running.crashes_in_a_row = 0;
        }
        running.crashes_in_a_row += 1;
        let delay = backoff(running.crashes_in_a_row);
        let why = match &exit.status {
            Ok(status) => describe_exit(status),
            Err(err) => format!("could not be started: {err}"),
        };
        warn!(
            "{} {why} after {:.1} s; restarting in {} s (crash {} in a row)",
            exit.daemon,
            ran.as_secs_f64(),
            delay.as_secs(),
            running.crashes_in_a_row
        );
        running.restart_at = Some(Instant::now() + delay);
    }

    /// The earliest pending restart, for the supervisor's timer.
    pub fn next_restart(&self) -> Option<Instant> {
        self.running.values().filter_map(|r| r.restart_at).min()
    }

    /// Restarts every daemon whose backoff has elapsed.
    pub fn restart_due(&mut self) {
        let now = Instant::now();
        let due: Vec<String> = self
            .running
            .iter()
            .filter(|(_, r)| r.restart_at.is_some_and(|at| at <= now))
            .map(|(name, _)| name.clone())
            .collect();
        for name in due {
            if let Some(mut running) = self.running.remove(&name) {
                info!("restarting {name}");
                self.launch(&mut running);
                self.running.insert(name, running);
            }
        }
    }

    /// Tells every running child to reload (SIGHUP). A child that has not bound its
    /// status socket `<run_dir>/<daemon>.sock` since it started may not have its SIGHUP
    /// handler yet, and SIGHUP's default action would kill it: it gets the signal once
    /// the socket is there (waiting at most [`READY_WAIT`]).
    pub async fn reload_all(&self, run_dir: &Path) {
        for (name, running) in &self.running {
            let Some(pid) = running.pid else { continue };
            let socket = run_dir.join(format!("{name}.sock"));
            let deadline = Instant::now() + READY_WAIT;
            while !bound_since(&socket, running.started_at) {
                if Instant::now() >= deadline {
                    warn!(
                        "{name} (pid {pid}) not ready after {}s; sending SIGHUP anyway",
                        READY_WAIT.as_secs()
                    );
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if let Err(err) = kill(Pid::from_raw(pid as i32), Signal::SIGHUP) {
                warn!("cannot send SIGHUP to {name} (pid {pid}): {err}");
            }
        }
    }

    /// Stops one daemon (SIGTERM, then SIGKILL after a grace period) and forgets it.
    pub async fn stop(&mut self, daemon: &str) {
        if let Some(running) = self.running.remove(daemon) {
            if let Some(pid) = running.pid {
                stop_pid(daemon, pid).await;
            }
        }
    }

    /// Stops every daemon.
    pub async fn stop_all(&mut self) {
        let names = self.daemons();
        let mut stops = Vec::new();
        for name in names {
            if let Some(running) = self.running.remove(&name) {
                if let Some(pid) = running.pid {
                    stops.push(async move { stop_pid(&name, pid).await });
                }
            }
        }
        futures::future::join_all(stops).await;
    }
}

fn backoff(crashes_in_a_row: u32) -> Duration {
    let shift = crashes_in_a_row.saturating_sub(1).min(16);
    BACKOFF_START.saturating_mul(1u32 << shift).min(BACKOFF_MAX)
}

async fn wait_child(
    mut child: Child,
    daemon: String,
    generation: u64,
    tx: mpsc::UnboundedSender<ChildExit>,
) {
    let status = child.wait().await;
    let _ = tx.send(ChildExit {
        daemon,
        generation,
        status,
    });
}

async fn stop_pid(daemon: &str, pid: u32) {
    let pid = Pid::from_raw(pid as i32);
    if kill(pid, Signal::SIGTERM).is_err() {
        return; // already gone
    }
    let grace = stop_grace(daemon);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        // Signal 0 only probes: the process (or its zombie, reaped by its waiter task) exists.
        if kill(pid, None).is_err() {
            info!("stopped {daemon}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    warn!("{daemon} (pid {pid}) ignored SIGTERM for {grace:?}; killing it");
    let _ = kill(pid, Signal::SIGKILL);
}

/// A child's exit status in words: `exited with status 1`, `was killed by SIGKILL`.
pub fn describe_exit(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        format!("exited with status {code}")
    } else if let Some(signal) = status.signal() {
        let name = Signal::try_from(signal)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {signal}"));
        format!("was killed by {name}")
    } else {
        format!("ended ({status})")
    }
}

/// True when `socket` exists and was created at or after `since`.
fn bound_since(socket: &Path, since: SystemTime) -> bool {
    std::fs::metadata(socket)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(6), Duration::from_secs(30));
        assert_eq!(backoff(100), Duration::from_secs(30));
    }
}
