//! The error type of this crate.
//!
//! Every message says what was attempted in the words of the person who asked for it
//! (`cannot create veth veth0: File exists (os error 17)`), never only "netlink error".

use std::io;

/// Result alias of this crate.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// What went wrong in a kith-net operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The kernel refused a netlink request.
    ///
    /// `op` is the operation in plain words (`create veth veth0`), `source` the errno the
    /// kernel answered and `detail` the kernel's extended-ack text, when it sent one.
    #[error("cannot {op}: {source}{}", detail.as_ref().map(|d| format!(" (kernel: {d})")).unwrap_or_default())]
    Kernel {
        /// What was attempted.
        op: String,
        /// The errno, as an I/O error.
        source: io::Error,
        /// The kernel's extended-ack message, if any.
        detail: Option<String>,
    },

    /// The running kernel does not know this kind of link (its module is not built or
    /// not loadable).
    #[error(
        "cannot create {kind} {name}: kernel does not support link kind `{kind}` (module {module} missing?)"
    )]
    UnsupportedKind {
        /// The link kind (`vlan`, `bond`, ...).
        kind: String,
        /// The link that was to be created.
        name: String,
        /// The kernel module providing that kind.
        module: String,
    },

    /// An interface named in a request does not exist.
    #[error("cannot {op}: no such interface `{link}`")]
    LinkNotFound {
        /// What was attempted.
        op: String,
        /// The interface as the caller named it.
        link: String,
    },

    /// An address named in a request is not on the interface.
    #[error("cannot {op}: address {address} is not on {link}")]
    AddressNotFound {
        /// What was attempted.
        op: String,
        /// The address as given.
        address: String,
        /// The interface as the caller named it.
        link: String,
    },

    /// The route to delete is not in the kernel.
    #[error("cannot {op}: no such route")]
    RouteNotFound {
        /// What was attempted.
        op: String,
    },

    /// A name, value or argument was refused before anything was sent to the kernel.
    #[error("cannot {op}: {reason}")]
    Invalid {
        /// What was attempted.
        op: String,
        /// Why the argument is not acceptable.
        reason: String,
    },

    /// A system call or file operation failed (sysctl files, /dev/net/tun, sockets).
    #[error("cannot {op}: {source}")]
    Io {
        /// What was attempted.
        op: String,
        /// The underlying error.
        source: io::Error,
    },

    /// The netlink conversation itself broke (connection closed, unexpected answer).
    #[error("cannot {op}: {reason}")]
    Protocol {
        /// What was attempted.
        op: String,
        /// What went wrong.
        reason: String,
    },
}

impl NetError {
    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Kernel { source, .. } | NetError::Io { source, .. } => source.raw_os_error(),
            NetError::UnsupportedKind { .. } => Some(libc::EOPNOTSUPP),
            NetError::LinkNotFound { .. } => Some(libc::ENODEV),
            NetError::AddressNotFound { .. } => Some(libc::EADDRNOTAVAIL),
            NetError::RouteNotFound { .. } => Some(libc::ESRCH),
            NetError::Invalid { .. } => Some(libc::EINVAL),
            NetError::Protocol { .. } => None,
        }
    }

    /// True when the object to create already exists (`EEXIST`).
    pub fn is_exists(&self) -> bool {
        self.errno() == Some(libc::EEXIST)
    }

    /// True when the object to act on does not exist (no such interface, address or
    /// route: `ENODEV`, `ESRCH`, `ENOENT`, `EADDRNOTAVAIL`).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self.errno(),
            Some(libc::ENODEV | libc::ESRCH | libc::ENOENT | libc::EADDRNOTAVAIL)
        )
    }

    /// True when the kernel lacks the link kind that was asked for.
    pub fn is_unsupported(&self) -> bool {
        matches!(self, NetError::UnsupportedKind { .. })
    }

    pub(crate) fn invalid(op: impl Into<String>, reason: impl Into<String>) -> Self {
        NetError::Invalid {
            op: op.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn io(op: impl Into<String>, source: io::Error) -> Self {
        NetError::Io {
            op: op.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_error_reads_like_the_request() {
        let e = NetError::Kernel {
            op: "create veth veth0".into(),
            source: io::Error::from_raw_os_error(libc::EEXIST),
            detail: None,
        };
        assert_eq!(
            e.to_string(),
            "cannot create veth veth0: File exists (os error 17)"
        );
        assert!(e.is_exists());
        let e = NetError::Kernel {
            op: "create vlan v5".into(),
            source: io::Error::from_raw_os_error(libc::EINVAL),
            detail: Some("VLAN id out of range".into()),
        };
        assert_eq!(
            e.to_string(),
            "cannot create vlan v5: Invalid argument (os error 22) (kernel: VLAN id out of range)"
        );
    }

    #[test]
    fn unsupported_kind_names_the_module() {
        let e = NetError::UnsupportedKind {
            kind: "vlan".into(),
            name: "v5".into(),
            module: "8021q".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot create vlan v5: kernel does not support link kind `vlan` (module 8021q missing?)"
        );
        assert!(e.is_unsupported());
    }
}
