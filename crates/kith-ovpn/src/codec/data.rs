//! Data channel packet header (`P_DATA_V1`: 1 byte; `P_DATA_V2`: 4 bytes with a 24-bit
//! peer id) and the two in-band messages that travel as data: the keepalive ping and
//! the OCC exit notify.

use super::opcode::{Header, Opcode};
use super::{CodecError, Result};

/// The payload of a keepalive ping (openvpn's `ping_string`).
pub const PING_MAGIC: [u8; 16] = [
    0x2a, 0x18, 0x7b, 0xf3, 0x64, 0x1e, 0xb4, 0xcb, 0x07, 0xed, 0x2d, 0x0a, 0x98, 0x1f, 0xc7, 0x48,
];

/// The prefix of an OCC message (openvpn's `occ_magic`).
pub const OCC_MAGIC: [u8; 16] = [
    0x28, 0x7f, 0x34, 0x6b, 0xd4, 0xef, 0x7a, 0x81, 0x2d, 0x56, 0xb8, 0xd3, 0xaf, 0xc5, 0x45, 0x9c,
];

/// OCC opcode of the explicit exit notify.
pub const OCC_EXIT: u8 = 6;

/// The largest peer id `P_DATA_V2` can carry; openvpn uses it for "no peer id".
pub const PEER_ID_UNDEF: u32 = 0x00ff_ffff;

/// True when a decrypted payload is a keepalive ping, not an IP packet.
pub fn is_ping(payload: &[u8]) -> bool {
    payload == PING_MAGIC
}

/// True when a decrypted payload is the OCC exit notify.
pub fn is_exit_notify(payload: &[u8]) -> bool {
    payload.len() == OCC_MAGIC.len() + 1
        && payload.starts_with(&OCC_MAGIC)
        && payload.last() == Some(&OCC_EXIT)
}

/// The exit notify payload.
pub fn exit_notify_payload() -> [u8; 17] {
    let mut p = [0u8; 17];
    p[..16].copy_from_slice(&OCC_MAGIC);
    p[16] = OCC_EXIT;
    p
}

/// The header of a data packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataHeader {
    /// Key id of the data channel key.
    pub key_id: u8,
    /// Peer id for `P_DATA_V2`; `None` for `P_DATA_V1`.
    pub peer_id: Option<u32>,
}

impl DataHeader {
    /// Parses the header of `packet`; returns it and its length (1 or 4).
    pub fn parse(packet: &[u8]) -> Result<(DataHeader, usize)> {
        let h = Header::parse(packet)?;
        match h.opcode {
            Opcode::DataV1 => Ok((
                DataHeader {
                    key_id: h.key_id,
                    peer_id: None,
                },
                1,
            )),
            Opcode::DataV2 => {
                let b = packet.get(1..4).ok_or(CodecError::Truncated("peer id"))?;
                let peer = u32::from_be_bytes([0, b[0], b[1], b[2]]);
                Ok((
                    DataHeader {
                        key_id: h.key_id,
                        peer_id: Some(peer),
                    },
                    4,
                ))
            }
            _ => Err(CodecError::Malformed("control opcode in data path")),
        }
    }

    /// Length of the header.
    pub fn len(&self) -> usize {
        if self.peer_id.is_some() { 4 } else { 1 }
    }

    /// Always false: a header has at least its opcode byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Appends the header to `out`.
    pub fn emit(&self, out: &mut Vec<u8>) {
        match self.peer_id {
            None => out.push(
                Header {
                    opcode: Opcode::DataV1,
                    key_id: self.key_id,
                }
                .byte(),
            ),
            Some(peer) => {
                let first = Header {
                    opcode: Opcode::DataV2,
                    key_id: self.key_id,
                }
                .byte();
                let p = (peer & PEER_ID_UNDEF).to_be_bytes();
                out.extend_from_slice(&[first, p[1], p[2], p[3]]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_header_round_trips() {
        let h = DataHeader {
            key_id: 3,
            peer_id: Some(0x010203),
        };
        let mut v = Vec::new();
        h.emit(&mut v);
        assert_eq!(v, [0x4b, 1, 2, 3]);
        assert_eq!(DataHeader::parse(&v).unwrap(), (h, 4));
    }

    #[test]
    fn v1_header_round_trips() {
        let h = DataHeader {
            key_id: 1,
            peer_id: None,
        };
        let mut v = Vec::new();
        h.emit(&mut v);
        assert_eq!(v, [0x31]);
        assert_eq!(DataHeader::parse(&v).unwrap(), (h, 1));
    }

    #[test]
    fn short_and_control_are_errors() {
        assert!(DataHeader::parse(&[0x48, 1]).is_err());
        assert!(DataHeader::parse(&[0x20]).is_err());
        assert!(DataHeader::parse(&[]).is_err());
    }

    #[test]
    fn magic_messages() {
        assert!(is_ping(&PING_MAGIC));
        assert!(!is_ping(&PING_MAGIC[..15]));
        assert!(is_exit_notify(&exit_notify_payload()));
        assert!(!is_exit_notify(&OCC_MAGIC));
    }
}
