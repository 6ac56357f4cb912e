//! The error type of the lab.

use std::time::Duration;

/// Everything that can go wrong while building, driving or tearing down a lab.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A topology file is malformed or inconsistent; `origin` names the file.
    #[error("{origin}:{line}:{column}: {message}")]
    Topology {
        origin: String,
        line: u64,
        column: u64,
        message: String,
    },
    /// A topology built in code (not parsed) is inconsistent.
    #[error("invalid topology: {0}")]
    InvalidTopology(String),
    /// A name, interface name or argument the lab refuses.
    #[error("invalid {what} `{value}`: {reason}")]
    Invalid {
        what: &'static str,
        value: String,
        reason: String,
    },
    /// A node name that this lab does not have.
    #[error("lab has no node `{0}`")]
    UnknownNode(String),
    /// A spawned process name that this lab does not have on that node.
    #[error("node `{node}` has no process `{name}`")]
    UnknownProcess { node: String, name: String },
    /// A command ran but failed.
    #[error("`{command}` failed ({status}): {stderr}")]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    /// A command did not finish in time and was killed.
    #[error("`{command}` timed out after {timeout:?} and was killed")]
    CommandTimeout { command: String, timeout: Duration },
    /// [`crate::Lab::wait_until`] gave up.
    #[error("timed out after {timeout:?} waiting for {desc}")]
    WaitTimeout { desc: String, timeout: Duration },
    /// An I/O error, with what the lab was doing.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The state of a lab (state file, ownership) forbids the operation.
    #[error("{0}")]
    State(String),
}

/// Result with the lab's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn invalid(what: &'static str, value: &str, reason: impl Into<String>) -> Self {
        Error::Invalid {
            what,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }
}
