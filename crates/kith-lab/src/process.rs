//! Running commands with a time bound, and process bookkeeping by pid.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// The `ip` binary (iproute2). Looked up in `PATH`.
pub(crate) const IP: &str = "ip";

/// Quotes an argv for messages: words with blanks or quotes get single quotes.
pub(crate) fn display_argv<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|a| {
            let a = a.as_ref();
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@%+".contains(c))
            {
                a.to_owned()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Describes an exit status the way a shell user reads it.
pub(crate) fn describe_status(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => match Signal::try_from(sig) {
            Ok(s) => format!("killed by {s}"),
            Err(_) => format!("killed by signal {sig}"),
        },
        _ => status.to_string(),
    }
}

/// Runs `argv` to completion with captured output, killing its whole process group
/// when it outlives `timeout`. A non-zero exit is not an error here.
pub(crate) fn run(argv: &[String], timeout: Duration) -> Result<Output> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::invalid("command", "", "empty argv"));
    };
    let shown = display_argv(argv);
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io(format!("cannot start `{shown}`"), e))?;
    let pgid = child_pid(&child);

    // Readers on their own threads so a chatty command cannot fill a pipe and stall.
    let (tx, rx) = mpsc::channel::<(bool, Vec<u8>)>();
    for (is_stdout, pipe) in [
        (
            true,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            false,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ] {
        if let Some(mut pipe) = pipe {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                let _ = tx.send((is_stdout, buf));
            });
        }
    }
    drop(tx);

    let deadline = Instant::now() + timeout;
    let status = match wait_deadline(&mut child, deadline) {
        Some(status) => status,
        None => {
            kill_group_now(pgid);
            let _ = child.wait();
            return Err(Error::CommandTimeout {
                command: shown,
                timeout,
            });
        }
    };

    // The command exited; its output pipes close when every holder is gone. A
    // background process it left behind may hold them: bound that wait too.
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((true, buf)) => stdout = buf,
            Ok((false, buf)) => stderr = buf,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                kill_group_now(pgid);
                return Err(Error::CommandTimeout {
                    command: format!("{shown} (a process it left running held its output open)"),
                    timeout,
                });
            }
        }
    }
    Ok(Output {
        status,
        stdout,
        stderr,
    })
}

/// Runs `argv` and returns its stdout, or an error naming the command, its status and
/// its stderr.
pub(crate) fn run_ok(argv: &[String], timeout: Duration) -> Result<String> {
    let out = run(argv, timeout)?;
    check_output(argv, out)
}

pub(crate) fn check_output(argv: &[String], out: Output) -> Result<String> {
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Command {
            command: display_argv(argv),
            status: describe_status(&out.status),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Polls `child` until it exits or `deadline` passes (then `None`).
pub(crate) fn wait_deadline(child: &mut Child, deadline: Instant) -> Option<ExitStatus> {
    let mut pause = Duration::from_millis(1);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            // ECHILD and friends: nothing left to wait for.
            Err(_) => return Some(ExitStatus::from_raw(0)),
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

pub(crate) fn child_pid(child: &Child) -> Pid {
    Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX))
}

/// SIGKILL to a whole process group; a group that is already gone is fine.
pub(crate) fn kill_group_now(pgid: Pid) {
    signal_group(pgid, Signal::SIGKILL);
}

pub(crate) fn signal_group(pgid: Pid, signal: Signal) {
    if pgid.as_raw() <= 1 {
        return; // never signal init or "every process"
    }
    match killpg(pgid, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::debug!(%pgid, %signal, "killpg: {e}"),
    }
}

pub(crate) fn signal_pid(pid: Pid, signal: Signal) {
    if pid.as_raw() <= 1 {
        return;
    }
    match kill(pid, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => tracing::debug!(%pid, %signal, "kill: {e}"),
    }
}

/// The fields of `/proc/<pid>/stat` after the command name (field 3 onwards).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// The start time of a process (clock ticks since boot), to tell a pid from a
/// later process that reused it.
pub(crate) fn start_time(pid: i32) -> Option<u64> {
    // Field 22 overall; field 3 is index 0 here.
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// True when `pid` is a live (not zombie) process started at `started`
/// (when given).
pub(crate) fn is_alive(pid: i32, started: Option<u64>) -> bool {
    if pid <= 0 {
        return false;
    }
    let Some(fields) = stat_fields(pid) else {
        return false;
    };
    let state = fields.first().map(String::as_str).unwrap_or("X");
    if state == "Z" || state == "X" {
        return false;
    }
    match started {
        Some(t) => fields.get(19).and_then(|s| s.parse::<u64>().ok()) == Some(t),
        None => true,
    }
}

/// Pids of the processes inside a named network namespace (`ip netns pids`).
pub(crate) fn netns_pids(ns: &str) -> Vec<Pid> {
    let argv = [IP.to_owned(), "netns".into(), "pids".into(), ns.to_owned()];
    match run_ok(&argv, Duration::from_secs(10)) {
        Ok(out) => out
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .filter(|p| *p > 1 && *p != std::process::id() as i32)
            .map(Pid::from_raw)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// True when the named network namespace exists (`/run/netns/<ns>`).
pub(crate) fn netns_exists(ns: &str) -> bool {
    Path::new("/run/netns").join(ns).exists()
}

/// Deletes a network namespace after killing what still runs inside it.
/// Missing namespaces are fine.
pub(crate) fn delete_netns(ns: &str) -> Result<()> {
    if !netns_exists(ns) {
        return Ok(());
    }
    for _ in 0..3 {
        let pids = netns_pids(ns);
        if pids.is_empty() {
            break;
        }
        for pid in pids {
            signal_pid(pid, Signal::SIGKILL);
        }
        thread::sleep(Duration::from_millis(50));
    }
    let argv = [IP.to_owned(), "netns".into(), "del".into(), ns.to_owned()];
    match run_ok(&argv, Duration::from_secs(20)) {
        Ok(_) => Ok(()),
        Err(_) if !netns_exists(ns) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Terminates process groups: SIGTERM, up to `grace` for them to go, then SIGKILL.
/// `alive` reports whether a group leader still runs (and reaps it when it can).
pub(crate) fn terminate_groups(
    groups: &[Pid],
    grace: Duration,
    mut alive: impl FnMut(Pid) -> bool,
) {
    for pgid in groups {
        signal_group(*pgid, Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    while groups.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    for pgid in groups {
        signal_group(*pgid, Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_display_quotes_what_needs_it() {
        let argv = ["ip", "-n", "x", "sh", "-c", "echo 'a b'"];
        assert_eq!(display_argv(&argv), r"ip -n x sh -c 'echo '\''a b'\'''");
    }

    #[test]
    fn run_reports_failure_and_timeout() {
        let err = run_ok(&["false".to_owned()], Duration::from_secs(5)).unwrap_err();
        assert!(err.to_string().contains("exit status 1"), "{err}");
        let t0 = Instant::now();
        let err = run(
            &["sleep".to_owned(), "5".to_owned()],
            Duration::from_millis(200),
        )
        .unwrap_err();
        assert!(matches!(err, Error::CommandTimeout { .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn run_does_not_hang_on_background_children() {
        let t0 = Instant::now();
        let argv = ["sh", "-c", "sleep 5 & echo started"].map(str::to_owned);
        let err = run(&argv, Duration::from_millis(500)).unwrap_err();
        assert!(matches!(err, Error::CommandTimeout { .. }), "{err}");
        assert!(t0.elapsed() < Duration::from_secs(3));
    }

    #[test]
    fn start_time_identifies_self() {
        let me = std::process::id() as i32;
        let t = start_time(me).expect("own start time");
        assert!(is_alive(me, Some(t)));
        assert!(!is_alive(me, Some(t + 1)));
        assert!(!is_alive(0, None));
    }
}
