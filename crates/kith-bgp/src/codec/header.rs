//! The 19-octet message header (RFC 4271 4.1) as a checked zero-copy view, and stream
//! framing: how long the next message in a TCP byte stream is.

use super::error::{MessageError, code};

/// Length of the header: marker (16), length (2), type (1).
pub const HEADER_LEN: usize = 19;
/// Largest message without the extended message capability (RFC 4271).
pub const MAX_MESSAGE_LEN: usize = 4096;

/// Message type codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// OPEN.
    Open = 1,
    /// UPDATE.
    Update = 2,
    /// NOTIFICATION.
    Notification = 3,
    /// KEEPALIVE.
    Keepalive = 4,
    /// ROUTE-REFRESH (RFC 2918).
    RouteRefresh = 5,
}

impl MessageType {
    fn from_u8(value: u8) -> Option<Self> {
        Some(match value {
            1 => Self::Open,
            2 => Self::Update,
            3 => Self::Notification,
            4 => Self::Keepalive,
            5 => Self::RouteRefresh,
            _ => return None,
        })
    }

    /// The smallest valid length of a message of this type.
    fn min_len(self) -> usize {
        match self {
            Self::Open => 29,
            Self::Update => 23,
            Self::Notification => 21,
            Self::Keepalive => 19,
            Self::RouteRefresh => 23,
        }
    }
}

/// A checked view of one whole message: marker, length and type were validated by
/// [`Packet::new_checked`]; the body is the rest.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    buf: &'a [u8],
    kind: MessageType,
}

impl<'a> Packet<'a> {
    /// Validates the header of the message that `buf` holds exactly.
    ///
    /// # Errors
    /// Bad marker, a length field that differs from `buf` or is out of range for the
    /// type, or an unknown type, with the RFC 4271 6.1 NOTIFICATION.
    pub fn new_checked(buf: &'a [u8]) -> Result<Self, MessageError> {
        let len = frame_len(buf)?.ok_or_else(|| {
            MessageError::new(
                "message shorter than its header",
                code::HEADER,
                code::BAD_LENGTH,
                &[],
            )
        })?;
        if len != buf.len() {
            return Err(MessageError::new(
                format!(
                    "length field says {len} octets, the message has {}",
                    buf.len()
                ),
                code::HEADER,
                code::BAD_LENGTH,
                &length_data(len),
            ));
        }
        let type_code = buf[18];
        let kind = MessageType::from_u8(type_code).ok_or_else(|| {
            MessageError::new(
                format!("unknown message type {type_code}"),
                code::HEADER,
                code::BAD_TYPE,
                &[type_code],
            )
        })?;
        if len < kind.min_len() || (kind == MessageType::Keepalive && len != HEADER_LEN) {
            return Err(MessageError::new(
                format!("{kind:?} message of {len} octets"),
                code::HEADER,
                code::BAD_LENGTH,
                &length_data(len),
            ));
        }
        Ok(Self { buf, kind })
    }

    /// The message type.
    #[must_use]
    pub fn kind(&self) -> MessageType {
        self.kind
    }

    /// Everything after the header.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.buf.get(HEADER_LEN..).unwrap_or_default()
    }
}

/// The length of the message starting at `buf`, once its header is complete
/// (`Ok(None)` while fewer than 19 octets are there).
///
/// # Errors
/// A marker that is not all ones, or a length outside 19..=4096.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, MessageError> {
    let Some(header) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    if header[..16].iter().any(|b| *b != 0xff) {
        return Err(MessageError::new(
            "marker is not all ones",
            code::HEADER,
            code::NOT_SYNCHRONIZED,
            &[],
        ));
    }
    let len = usize::from(u16::from_be_bytes([header[16], header[17]]));
    if !(HEADER_LEN..=MAX_MESSAGE_LEN).contains(&len) {
        return Err(MessageError::new(
            format!("length field {len} outside 19..4096"),
            code::HEADER,
            code::BAD_LENGTH,
            &length_data(len),
        ));
    }
    Ok(Some(len))
}

/// Writes a header for a message of `len` octets (body included) into `out`.
pub(crate) fn emit_header(out: &mut Vec<u8>, kind: MessageType, len: usize) {
    out.extend_from_slice(&[0xff; 16]);
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    out.push(kind as u8);
}

fn length_data(len: usize) -> [u8; 2] {
    u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes()
}
