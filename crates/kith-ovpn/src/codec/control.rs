//! Control packets (resets, `P_CONTROL_V1`, `P_ACK_V1`) once tls-auth / tls-crypt
//! wrapping is removed:
//!
//! ```text
//! opcode|key-id (1) | session id (8) | ack count (1) | ack packet ids (4 each)
//!   | remote session id (8, only when acks > 0) | message packet id (4, not in P_ACK_V1)
//!   | payload (TLS records; empty in resets except early-negotiation TLVs)
//! ```

use std::fmt;

use super::opcode::{Header, Opcode};
use super::{CodecError, Result, be_u32};

/// Most ACKs one control packet carries (openvpn's `RELIABLE_ACK_SIZE`).
pub const MAX_ACKS: usize = 8;

/// A session id: 8 random bytes naming one end of a session.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SessionId(pub [u8; 8]);

impl SessionId {
    /// A fresh random session id.
    pub fn random() -> SessionId {
        let mut id = [0u8; 8];
        // A failing system RNG leaves zeros, which the peer refuses: no silent weak id.
        let _ = openssl::rand::rand_bytes(&mut id);
        SessionId(id)
    }

    fn read(buf: &[u8], at: usize) -> Option<SessionId> {
        let b = buf.get(at..at.checked_add(8)?)?;
        let mut id = [0u8; 8];
        id.copy_from_slice(b);
        Some(SessionId(id))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// The ACK array of a control packet: up to [`MAX_ACKS`] packet ids.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AckList {
    ids: [u32; MAX_ACKS],
    len: u8,
}

impl AckList {
    /// An empty list.
    pub fn new() -> AckList {
        AckList::default()
    }

    /// Adds `id`; false when the list is full.
    pub fn push(&mut self, id: u32) -> bool {
        let len = usize::from(self.len);
        match self.ids.get_mut(len) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// The ids, in wire order.
    pub fn as_slice(&self) -> &[u32] {
        &self.ids[..usize::from(self.len).min(MAX_ACKS)]
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    /// True when there is no id.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Debug for AckList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// A checked view of a plain (unwrapped) control packet.
#[derive(Debug, Clone, Copy)]
pub struct ControlPacket<T: AsRef<[u8]>> {
    buf: T,
    header: Header,
    acks: usize,
    /// Offset of the message packet id (or of the end, for ACKs).
    msg_at: usize,
}

impl<T: AsRef<[u8]>> ControlPacket<T> {
    /// Validates that `buf` holds a whole control packet; every accessor is then in
    /// bounds.
    pub fn new_checked(buf: T) -> Result<ControlPacket<T>> {
        let b = buf.as_ref();
        let header = Header::parse(b)?;
        if header.opcode.is_data() {
            return Err(CodecError::Malformed("data opcode in control path"));
        }
        let n = *b
            .get(9)
            .ok_or(CodecError::Truncated("session id or ack count"))?;
        if usize::from(n) > MAX_ACKS {
            return Err(CodecError::TooManyAcks(n));
        }
        let acks = usize::from(n);
        let mut msg_at = 10 + 4 * acks;
        if acks > 0 {
            msg_at += 8;
        }
        let need = if header.opcode.has_message_id() {
            msg_at + 4
        } else {
            msg_at
        };
        if b.len() < need {
            return Err(CodecError::Truncated("ack array or message id"));
        }
        if header.opcode == Opcode::AckV1 && acks == 0 {
            return Err(CodecError::Malformed("P_ACK_V1 without ACKs"));
        }
        Ok(ControlPacket {
            buf,
            header,
            acks,
            msg_at,
        })
    }

    /// Opcode and key id.
    pub fn header(&self) -> Header {
        self.header
    }

    /// The sender's session id.
    pub fn session_id(&self) -> SessionId {
        SessionId::read(self.buf.as_ref(), 1).unwrap_or_default()
    }

    /// The acknowledged packet ids.
    pub fn acks(&self) -> AckList {
        let mut list = AckList::new();
        for i in 0..self.acks {
            if let Some(id) = be_u32(self.buf.as_ref(), 10 + 4 * i) {
                list.push(id);
            }
        }
        list
    }

    /// The session id the ACKs are addressed to (present when there are ACKs).
    pub fn remote_session_id(&self) -> Option<SessionId> {
        if self.acks == 0 {
            return None;
        }
        SessionId::read(self.buf.as_ref(), 10 + 4 * self.acks)
    }

    /// The message packet id (absent in `P_ACK_V1`).
    pub fn packet_id(&self) -> Option<u32> {
        if !self.header.opcode.has_message_id() {
            return None;
        }
        be_u32(self.buf.as_ref(), self.msg_at)
    }

    /// The payload after the fixed part.
    pub fn payload(&self) -> &[u8] {
        let start = if self.header.opcode.has_message_id() {
            self.msg_at + 4
        } else {
            self.msg_at
        };
        self.buf.as_ref().get(start..).unwrap_or(&[])
    }
}

/// A parsed control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlRepr<'a> {
    /// Opcode and key id.
    pub header: Header,
    /// The sender's session id.
    pub session_id: SessionId,
    /// Acknowledged packet ids.
    pub acks: AckList,
    /// The receiver's session id, required when `acks` is not empty.
    pub remote_session_id: Option<SessionId>,
    /// Message packet id; `None` for `P_ACK_V1`.
    pub packet_id: Option<u32>,
    /// Payload.
    pub payload: &'a [u8],
}

impl<'a> ControlRepr<'a> {
    /// Parses a checked packet.
    pub fn parse(packet: &ControlPacket<&'a [u8]>) -> ControlRepr<'a> {
        let b: &'a [u8] = packet.buf;
        let payload_len = packet.payload().len();
        ControlRepr {
            header: packet.header(),
            session_id: packet.session_id(),
            acks: packet.acks(),
            remote_session_id: packet.remote_session_id(),
            packet_id: packet.packet_id(),
            payload: b.get(b.len() - payload_len..).unwrap_or(&[]),
        }
    }

    /// Checks and parses `buf` in one step.
    pub fn decode(buf: &'a [u8]) -> Result<ControlRepr<'a>> {
        Ok(ControlRepr::parse(&ControlPacket::new_checked(buf)?))
    }

    /// Length of the emitted packet.
    pub fn buffer_len(&self) -> usize {
        let mut n = 1 + 8 + 1 + 4 * self.acks.len();
        if !self.acks.is_empty() {
            n += 8;
        }
        if self.header.opcode.has_message_id() {
            n += 4;
        }
        n + self.payload.len()
    }

    /// Appends the packet to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        out.reserve(self.buffer_len());
        out.push(self.header.byte());
        out.extend_from_slice(&self.session_id.0);
        out.push(self.acks.len() as u8);
        for id in self.acks.as_slice() {
            out.extend_from_slice(&id.to_be_bytes());
        }
        if !self.acks.is_empty() {
            out.extend_from_slice(&self.remote_session_id.unwrap_or_default().0);
        }
        if self.header.opcode.has_message_id() {
            out.extend_from_slice(&self.packet_id.unwrap_or(0).to_be_bytes());
        }
        out.extend_from_slice(self.payload);
    }

    /// The emitted packet as a new vector.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::new();
        self.emit(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(b: u8) -> SessionId {
        SessionId([b; 8])
    }

    #[test]
    fn client_reset_is_bit_exact() {
        let repr = ControlRepr {
            header: Header {
                opcode: Opcode::HardResetClientV2,
                key_id: 0,
            },
            session_id: sid(0xab),
            acks: AckList::new(),
            remote_session_id: None,
            packet_id: Some(0),
            payload: &[],
        };
        let bytes = repr.to_vec();
        assert_eq!(
            bytes,
            [
                0x38, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0, 0, 0, 0, 0
            ]
        );
        assert_eq!(ControlRepr::decode(&bytes).unwrap(), repr);
    }

    #[test]
    fn control_with_acks_round_trips() {
        let mut acks = AckList::new();
        acks.push(0);
        acks.push(7);
        let repr = ControlRepr {
            header: Header {
                opcode: Opcode::ControlV1,
                key_id: 2,
            },
            session_id: sid(1),
            acks,
            remote_session_id: Some(sid(2)),
            packet_id: Some(5),
            payload: b"tls bytes",
        };
        let bytes = repr.to_vec();
        assert_eq!(bytes.len(), repr.buffer_len());
        assert_eq!(bytes[0], (4 << 3) | 2);
        assert_eq!(bytes[9], 2);
        assert_eq!(ControlRepr::decode(&bytes).unwrap(), repr);
    }

    #[test]
    fn ack_has_no_message_id() {
        let mut acks = AckList::new();
        acks.push(3);
        let repr = ControlRepr {
            header: Header {
                opcode: Opcode::AckV1,
                key_id: 0,
            },
            session_id: sid(1),
            acks,
            remote_session_id: Some(sid(2)),
            packet_id: None,
            payload: &[],
        };
        let bytes = repr.to_vec();
        assert_eq!(bytes.len(), 1 + 8 + 1 + 4 + 8);
        assert_eq!(ControlRepr::decode(&bytes).unwrap(), repr);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(ControlRepr::decode(&[0x38, 1, 2]).is_err());
        let mut too_many = vec![0x20; 9];
        too_many.push(9);
        assert_eq!(
            ControlRepr::decode(&too_many),
            Err(CodecError::TooManyAcks(9))
        );
        let mut ack_none = vec![0x28; 9];
        ack_none.push(0);
        assert!(ControlRepr::decode(&ack_none).is_err());
        // an ACK count that promises more than is there
        let mut short = vec![0x20; 9];
        short.extend_from_slice(&[2, 0, 0, 0, 1]);
        assert!(ControlRepr::decode(&short).is_err());
        assert!(ControlRepr::decode(&[0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
