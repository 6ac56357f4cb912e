//! Decode errors: the NOTIFICATION (code, subcode, data) a malformed message is answered
//! with, and the RFC 7606 outcomes that do not reset the session.

use std::fmt;

/// A NOTIFICATION's error code and subcode (RFC 4271 4.5, 6.x), with its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode (0: unspecific).
    pub subcode: u8,
    /// Diagnostic data (the offending field, where the RFC asks for it).
    pub data: Vec<u8>,
}

/// Error codes and subcodes (RFC 4271 4.5, RFC 4486 for Cease, RFC 7313 for ROUTE-REFRESH).
pub mod code {
    /// Message Header Error.
    pub const HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// Cease.
    pub const CEASE: u8 = 6;
    /// ROUTE-REFRESH Message Error.
    pub const ROUTE_REFRESH: u8 = 7;

    /// Header: Connection Not Synchronized (bad marker).
    pub const NOT_SYNCHRONIZED: u8 = 1;
    /// Header: Bad Message Length.
    pub const BAD_LENGTH: u8 = 2;
    /// Header: Bad Message Type.
    pub const BAD_TYPE: u8 = 3;

    /// OPEN: Unsupported Version Number.
    pub const UNSUPPORTED_VERSION: u8 = 1;
    /// OPEN: Bad Peer AS.
    pub const BAD_PEER_AS: u8 = 2;
    /// OPEN: Bad BGP Identifier.
    pub const BAD_BGP_ID: u8 = 3;
    /// OPEN: Unsupported Optional Parameter.
    pub const UNSUPPORTED_PARAMETER: u8 = 4;
    /// OPEN: Unacceptable Hold Time.
    pub const UNACCEPTABLE_HOLD_TIME: u8 = 6;
    /// OPEN: Unsupported Capability (RFC 5492).
    pub const UNSUPPORTED_CAPABILITY: u8 = 7;

    /// UPDATE: Malformed Attribute List.
    pub const MALFORMED_ATTRIBUTE_LIST: u8 = 1;
    /// UPDATE: Unrecognized Well-known Attribute.
    pub const UNRECOGNIZED_WELL_KNOWN: u8 = 2;
    /// UPDATE: Missing Well-known Attribute.
    pub const MISSING_WELL_KNOWN: u8 = 3;
    /// UPDATE: Attribute Flags Error.
    pub const ATTRIBUTE_FLAGS: u8 = 4;
    /// UPDATE: Attribute Length Error.
    pub const ATTRIBUTE_LENGTH: u8 = 5;
    /// UPDATE: Invalid ORIGIN Attribute.
    pub const INVALID_ORIGIN: u8 = 6;
    /// UPDATE: Invalid NEXT_HOP Attribute.
    pub const INVALID_NEXT_HOP: u8 = 8;
    /// UPDATE: Optional Attribute Error.
    pub const OPTIONAL_ATTRIBUTE: u8 = 9;
    /// UPDATE: Invalid Network Field.
    pub const INVALID_NETWORK: u8 = 10;
    /// UPDATE: Malformed AS_PATH.
    pub const MALFORMED_AS_PATH: u8 = 11;

    /// Cease: Maximum Number of Prefixes Reached.
    pub const MAX_PREFIXES: u8 = 1;
    /// Cease: Administrative Shutdown.
    pub const ADMIN_SHUTDOWN: u8 = 2;
    /// Cease: Peer De-configured.
    pub const PEER_DECONFIGURED: u8 = 3;
    /// Cease: Administrative Reset.
    pub const ADMIN_RESET: u8 = 4;
    /// Cease: Connection Rejected.
    pub const CONNECTION_REJECTED: u8 = 5;
    /// Cease: Other Configuration Change.
    pub const OTHER_CONFIG_CHANGE: u8 = 6;
    /// Cease: Connection Collision Resolution.
    pub const COLLISION: u8 = 7;

    /// ROUTE-REFRESH: Invalid Message Length.
    pub const INVALID_REFRESH_LENGTH: u8 = 1;
}

impl Notification {
    /// A notification without data.
    #[must_use]
    pub fn new(code: u8, subcode: u8) -> Self {
        Self {
            code,
            subcode,
            data: Vec::new(),
        }
    }

    /// A notification carrying `data`.
    #[must_use]
    pub fn with_data(code: u8, subcode: u8, data: &[u8]) -> Self {
        Self {
            code,
            subcode,
            data: data.to_vec(),
        }
    }

    /// The code and subcode in words, as a log line says them.
    #[must_use]
    pub fn describe(&self) -> String {
        let code = match self.code {
            code::HEADER => "message header error",
            code::OPEN => "OPEN message error",
            code::UPDATE => "UPDATE message error",
            code::HOLD_TIMER => "hold timer expired",
            code::FSM => "finite state machine error",
            code::CEASE => "cease",
            code::ROUTE_REFRESH => "ROUTE-REFRESH message error",
            _ => "unknown error",
        };
        let sub = match (self.code, self.subcode) {
            (_, 0) => None,
            (code::HEADER, 1) => Some("connection not synchronized"),
            (code::HEADER, 2) => Some("bad message length"),
            (code::HEADER, 3) => Some("bad message type"),
            (code::OPEN, 1) => Some("unsupported version number"),
            (code::OPEN, 2) => Some("bad peer AS"),
            (code::OPEN, 3) => Some("bad BGP identifier"),
            (code::OPEN, 4) => Some("unsupported optional parameter"),
            (code::OPEN, 6) => Some("unacceptable hold time"),
            (code::OPEN, 7) => Some("unsupported capability"),
            (code::UPDATE, 1) => Some("malformed attribute list"),
            (code::UPDATE, 2) => Some("unrecognized well-known attribute"),
            (code::UPDATE, 3) => Some("missing well-known attribute"),
            (code::UPDATE, 4) => Some("attribute flags error"),
            (code::UPDATE, 5) => Some("attribute length error"),
            (code::UPDATE, 6) => Some("invalid ORIGIN"),
            (code::UPDATE, 8) => Some("invalid NEXT_HOP"),
            (code::UPDATE, 9) => Some("optional attribute error"),
            (code::UPDATE, 10) => Some("invalid network field"),
            (code::UPDATE, 11) => Some("malformed AS_PATH"),
            (code::CEASE, 1) => Some("maximum number of prefixes reached"),
            (code::CEASE, 2) => Some("administrative shutdown"),
            (code::CEASE, 3) => Some("peer de-configured"),
            (code::CEASE, 4) => Some("administrative reset"),
            (code::CEASE, 5) => Some("connection rejected"),
            (code::CEASE, 6) => Some("other configuration change"),
            (code::CEASE, 7) => Some("connection collision resolution"),
            (code::CEASE, 8) => Some("out of resources"),
            (code::ROUTE_REFRESH, 1) => Some("invalid message length"),
            _ => None,
        };
        match sub {
            Some(sub) => format!("{code}: {sub}"),
            None if self.subcode == 0 => code.to_string(),
            None => format!("{code} (subcode {})", self.subcode),
        }
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}/{})", self.describe(), self.code, self.subcode)
    }
}

/// A message that cannot be accepted: the session is reset with `notification`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {notification}")]
pub struct MessageError {
    /// What is wrong, in words.
    pub reason: String,
    /// The NOTIFICATION to send before closing.
    pub notification: Notification,
}

impl MessageError {
    /// An error answered with `code`/`subcode` and `data`.
    pub(crate) fn new(reason: impl Into<String>, code: u8, subcode: u8, data: &[u8]) -> Self {
        Self {
            reason: reason.into(),
            notification: Notification::with_data(code, subcode, data),
        }
    }
}

/// What RFC 7606 does with an UPDATE whose attributes are malformed, short of a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorAction {
    /// The malformed attribute is dropped; the routes stay valid (RFC 7606 2).
    AttributeDiscard,
    /// Every prefix the UPDATE announces is handled as withdrawn (RFC 7606 2).
    TreatAsWithdraw,
}

/// One malformed attribute of an accepted UPDATE and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrIssue {
    /// The attribute's type code.
    pub type_code: u8,
    /// The RFC 7606 outcome.
    pub action: ErrorAction,
    /// The NOTIFICATION RFC 4271 alone would have sent (for the log).
    pub would_notify: Notification,
    /// What is wrong, in words.
    pub reason: String,
}
