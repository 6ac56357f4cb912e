//! Errors of the firewall compiler (with config locations) and of applying a ruleset.

use std::fmt;
use std::time::Duration;

use kith_config::{Diagnostic, Loc, Severity};

/// Something in the config that the compiler cannot turn into nftables, at its location.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{loc}: {message}")]
pub struct CompileError {
    /// Where in the config (the offending value, or the rule when the value has no
    /// location of its own).
    pub loc: Loc,
    /// What is wrong, in the config's words.
    pub message: String,
}

impl CompileError {
    pub(crate) fn new(loc: Loc, message: impl Into<String>) -> Self {
        Self {
            loc,
            message: message.into(),
        }
    }

    /// As a diagnostic of `file`, printed `FILE:LINE:COL: error: ...`.
    #[must_use]
    pub fn to_diagnostic(&self, file: &str) -> Diagnostic {
        diagnostic(Severity::Error, file, self.loc, &self.message)
    }
}

/// Something the compiler changed or could not honour exactly, at its location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileWarning {
    /// Where in the config.
    pub loc: Loc,
    /// What happened, in the config's words.
    pub message: String,
}

impl CompileWarning {
    pub(crate) fn new(loc: Loc, message: impl Into<String>) -> Self {
        Self {
            loc,
            message: message.into(),
        }
    }

    /// As a diagnostic of `file`, printed `FILE:LINE:COL: warning: ...`.
    #[must_use]
    pub fn to_diagnostic(&self, file: &str) -> Diagnostic {
        diagnostic(Severity::Warning, file, self.loc, &self.message)
    }
}

impl fmt::Display for CompileWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.loc, self.message)
    }
}

fn diagnostic(severity: Severity, file: &str, loc: Loc, message: &str) -> Diagnostic {
    Diagnostic {
        severity,
        file: file.to_owned(),
        line: loc.line,
        col: loc.col,
        message: message.to_owned(),
    }
}

/// Why a ruleset did not reach the kernel. In every case the ruleset that was in
/// place before stays in place: `nft` applies a file as one transaction.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The `nft` program is not installed (or not in `PATH`).
    #[error("cannot run {program}: not found; install nftables")]
    NftMissing {
        /// The program that was looked for.
        program: String,
    },
    /// `nft` could not be started or talked to.
    #[error("cannot run {program}: {source}")]
    Io {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `nft` (or the kernel behind it) refused the ruleset; nothing changed.
    #[error("nft refused the ruleset ({status}); the previous ruleset stays in place:\n{stderr}")]
    Refused {
        /// The exit status, as text.
        status: String,
        /// What nft said.
        stderr: String,
    },
    /// `nft` ran longer than allowed and was killed.
    #[error("nft did not finish within {0:?} and was killed")]
    Timeout(Duration),
}
