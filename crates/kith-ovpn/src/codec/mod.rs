//! OpenVPN 2.x wire format, as openvpn 2.6 speaks it: bytes <-> typed packets, no I/O and
//! no state.
//!
//! Shape of smoltcp's `wire`: a checked view (`*Packet::new_checked`) that validates
//! lengths once, and a parsed `*Repr` with `parse` / `emit`. No function in this module
//! panics on any input; `fuzz/fuzz_targets/ovpn_packet.rs` feeds it arbitrary bytes.
//!
//! Layers, outermost first: [`framing`] (TCP length prefix), [`wrap`] (tls-auth HMAC or
//! tls-crypt, applied to control packets only), [`control`] / [`data`] (one packet),
//! then the control channel's plaintext: [`keymethod`] (key-method 2) and [`options`]
//! (options string, peer info, PUSH_REPLY).

pub mod control;
pub mod data;
pub mod framing;
pub mod keymethod;
pub mod opcode;
pub mod options;
pub mod static_key;
pub mod wrap;

pub use control::{AckList, ControlPacket, ControlRepr, MAX_ACKS, SessionId};
pub use data::{DataHeader, PING_MAGIC, is_exit_notify, is_ping};
pub use opcode::{Header, Opcode};

/// Why bytes were not a valid packet. Network input: counted and dropped, never fatal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Fewer bytes than the packet's fixed part needs.
    #[error("truncated packet ({0})")]
    Truncated(&'static str),
    /// The opcode is not one OpenVPN defines.
    #[error("unknown opcode {0}")]
    UnknownOpcode(u8),
    /// A control packet carried more ACKs than the protocol allows.
    #[error("{0} ACKs in one packet (at most 8)")]
    TooManyAcks(u8),
    /// A structurally wrong packet.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
    /// The tls-auth HMAC or tls-crypt tag did not match.
    #[error("control packet authentication failed")]
    BadAuth,
    /// A tls-auth / tls-crypt packet id seen before.
    #[error("replayed control packet")]
    Replay,
}

/// Result of codec functions.
pub type Result<T> = std::result::Result<T, CodecError>;

/// Reads a big-endian u32 at `at`, if the bytes are there.
pub(crate) fn be_u32(buf: &[u8], at: usize) -> Option<u32> {
    let b = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Reads a big-endian u16 at `at`, if the bytes are there.
pub(crate) fn be_u16(buf: &[u8], at: usize) -> Option<u16> {
    let b = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}
