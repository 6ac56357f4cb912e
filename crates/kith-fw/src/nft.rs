//! Runs the `nft` program: applies a ruleset text as one transaction, checks one, lists
//! tables. Every run is bounded in time; `nft` is killed when it runs over.

use std::io::{ErrorKind, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::ApplyError;
use crate::ruleset::TableId;

/// How long one `nft` run may take unless told otherwise (10,000 rules take a few
/// seconds on a slow router).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// The `nft` program, run in the current network namespace or in a named one.
#[derive(Debug, Clone)]
pub struct Nft {
    program: PathBuf,
    netns: Option<String>,
    timeout: Duration,
}

impl Default for Nft {
    fn default() -> Self {
        Self::new()
    }
}

/// What one `nft` run printed.
#[derive(Debug, Clone)]
pub struct NftOutput {
    /// Exit status.
    pub status: ExitStatus,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Nft {
    /// `nft` from `PATH`, in the current network namespace.
    #[must_use]
    pub fn new() -> Self {
        Self {
            program: PathBuf::from("nft"),
            netns: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `nft` run inside the named network namespace (`ip netns exec NAME nft`).
    #[must_use]
    pub fn in_netns(name: &str) -> Self {
        Self {
            netns: Some(name.to_owned()),
            ..Self::new()
        }
    }

    /// Uses `program` instead of `nft` from `PATH`.
    #[must_use]
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Bounds each run to `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Applies `text` (`nft -f -`) as one transaction: all of it, or nothing.
    ///
    /// # Errors
    /// [`ApplyError::Refused`] when nft or the kernel refuses any of it: then nothing
    /// changed. [`ApplyError::NftMissing`] when nft is not installed.
    pub fn apply(&self, text: &str) -> Result<(), ApplyError> {
        self.run_ok(&["-f", "-"], Some(text)).map(drop)
    }

    /// Checks `text` (`nft -c -f -`): the kernel sees the transaction and drops it.
    ///
    /// # Errors
    /// As [`Nft::apply`].
    pub fn check(&self, text: &str) -> Result<(), ApplyError> {
        self.run_ok(&["-c", "-f", "-"], Some(text)).map(drop)
    }

    /// `nft list table FAMILY NAME`, or `None` when there is no such table.
    ///
    /// # Errors
    /// When nft cannot run or fails for another reason.
    pub fn list_table(&self, table: TableId) -> Result<Option<String>, ApplyError> {
        let family = table.family.to_string();
        let out = self.run(&["list", "table", &family, table.name], None)?;
        if out.status.success() {
            Ok(Some(out.stdout))
        } else if out.stderr.contains("No such file or directory") {
            Ok(None)
        } else {
            Err(refused(&out))
        }
    }

    /// `nft list ruleset`: every table of the namespace.
    ///
    /// # Errors
    /// When nft cannot run or fails.
    pub fn list_ruleset(&self) -> Result<String, ApplyError> {
        self.run_ok(&["list", "ruleset"], None)
    }

    /// Runs nft with `args` and `stdin`; its output, failed or not.
    ///
    /// # Errors
    /// When nft cannot be started or runs over the time bound.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Result<NftOutput, ApplyError> {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns]).arg(&self.program);
                cmd
            }
            None => Command::new(&self.program),
        };
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let program = match &self.netns {
            Some(_) => "ip".to_owned(),
            None => self.program.display().to_string(),
        };
        let child = cmd.spawn().map_err(|source| match source.kind() {
            ErrorKind::NotFound => ApplyError::NftMissing {
                program: program.clone(),
            },
            _ => ApplyError::Io {
                program: program.clone(),
                source,
            },
        })?;
        let out =
            wait_bounded(child, stdin.map(str::to_owned), self.timeout).map_err(|e| match e {
                Waited::Timeout => ApplyError::Timeout(self.timeout),
                Waited::Io(source) => ApplyError::Io { program, source },
            })?;
        // `ip netns exec` says so when it cannot run the program.
        if self.netns.is_some()
            && !out.status.success()
            && out.stderr.starts_with("exec of")
            && out.stderr.contains("No such file or directory")
        {
            return Err(ApplyError::NftMissing {
                program: self.program.display().to_string(),
            });
        }
        Ok(out)
    }

    fn run_ok(&self, args: &[&str], stdin: Option<&str>) -> Result<String, ApplyError> {
        let out = self.run(args, stdin)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(refused(&out))
        }
    }
}

fn refused(out: &NftOutput) -> ApplyError {
    ApplyError::Refused {
        status: out.status.to_string(),
        stderr: out.stderr.trim_end().to_owned(),
    }
}

enum Waited {
    Timeout,
    Io(std::io::Error),
}

/// Feeds `stdin`, collects stdout and stderr on threads, and waits at most `timeout`
/// for the child; a child that runs over is killed (and reaped).
fn wait_bounded(
    mut child: Child,
    stdin: Option<String>,
    timeout: Duration,
) -> Result<NftOutput, Waited> {
    let writer = child.stdin.take().map(|mut pipe| {
        let text = stdin.unwrap_or_default();
        thread::spawn(move || {
            // A child that exits early closes the pipe: its stderr says why.
            let _ = pipe.write_all(text.as_bytes());
        })
    });
    let stdout = child.stdout.take().map(reader);
    let stderr = child.stderr.take().map(reader);
    let pid = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let (tx, rx) = mpsc::channel();
    let waiter = thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = match rx.recv_timeout(timeout) {
        Ok(Ok(status)) => status,
        Ok(Err(e)) => return Err(Waited::Io(e)),
        Err(_) => {
            // The child is not reaped until the waiter's wait() returns: the pid is ours.
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waiter.join();
            return Err(Waited::Timeout);
        }
    };
    let _ = waiter.join();
    if let Some(w) = writer {
        let _ = w.join();
    }
    let collect =
        |h: Option<thread::JoinHandle<String>>| h.and_then(|h| h.join().ok()).unwrap_or_default();
    Ok(NftOutput {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

fn reader<R: Read + Send + 'static>(mut pipe: R) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
