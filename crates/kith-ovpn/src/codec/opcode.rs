//! The first byte of every OpenVPN packet: a 5-bit opcode and a 3-bit key id.

use super::{CodecError, Result};

/// Packet opcodes (the high 5 bits of the first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Opcode {
    /// Key method 1 client reset (obsolete, refused).
    HardResetClientV1 = 1,
    /// Key method 1 server reset (obsolete, refused).
    HardResetServerV1 = 2,
    /// Starts a renegotiation on a new key id.
    SoftResetV1 = 3,
    /// Control channel payload (TLS records).
    ControlV1 = 4,
    /// Acknowledgements only.
    AckV1 = 5,
    /// Data channel packet.
    DataV1 = 6,
    /// Client's first packet (key method 2).
    HardResetClientV2 = 7,
    /// Server's first packet (key method 2).
    HardResetServerV2 = 8,
    /// Data channel packet with a 24-bit peer id.
    DataV2 = 9,
    /// Client's first packet with a tls-crypt-v2 wrapped client key.
    HardResetClientV3 = 10,
    /// Control packet with a tls-crypt-v2 wrapped client key.
    ControlWkcV1 = 11,
}

impl Opcode {
    /// The opcode of a value, if OpenVPN defines it.
    pub fn from_u8(v: u8) -> Option<Opcode> {
        Some(match v {
            1 => Opcode::HardResetClientV1,
            2 => Opcode::HardResetServerV1,
            3 => Opcode::SoftResetV1,
            4 => Opcode::ControlV1,
            5 => Opcode::AckV1,
            6 => Opcode::DataV1,
            7 => Opcode::HardResetClientV2,
            8 => Opcode::HardResetServerV2,
            9 => Opcode::DataV2,
            10 => Opcode::HardResetClientV3,
            11 => Opcode::ControlWkcV1,
            _ => return None,
        })
    }

    /// True for the data channel opcodes.
    pub fn is_data(self) -> bool {
        matches!(self, Opcode::DataV1 | Opcode::DataV2)
    }

    /// True for the opcodes whose packets carry a message packet id (all control
    /// opcodes but the bare ACK).
    pub fn has_message_id(self) -> bool {
        !self.is_data() && self != Opcode::AckV1
    }

    /// True for the reset opcodes that open a session or a new key.
    pub fn is_reset(self) -> bool {
        matches!(
            self,
            Opcode::HardResetClientV2
                | Opcode::HardResetServerV2
                | Opcode::HardResetClientV3
                | Opcode::SoftResetV1
        )
    }

    /// The name openvpn logs for it.
    pub fn name(self) -> &'static str {
        match self {
            Opcode::HardResetClientV1 => "P_CONTROL_HARD_RESET_CLIENT_V1",
            Opcode::HardResetServerV1 => "P_CONTROL_HARD_RESET_SERVER_V1",
            Opcode::SoftResetV1 => "P_CONTROL_SOFT_RESET_V1",
            Opcode::ControlV1 => "P_CONTROL_V1",
            Opcode::AckV1 => "P_ACK_V1",
            Opcode::DataV1 => "P_DATA_V1",
            Opcode::HardResetClientV2 => "P_CONTROL_HARD_RESET_CLIENT_V2",
            Opcode::HardResetServerV2 => "P_CONTROL_HARD_RESET_SERVER_V2",
            Opcode::DataV2 => "P_DATA_V2",
            Opcode::HardResetClientV3 => "P_CONTROL_HARD_RESET_CLIENT_V3",
            Opcode::ControlWkcV1 => "P_CONTROL_WKC_V1",
        }
    }
}

/// The decoded first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// What the packet is.
    pub opcode: Opcode,
    /// Which key (0..=7) it belongs to.
    pub key_id: u8,
}

impl Header {
    /// Decodes the first byte of `packet`.
    pub fn parse(packet: &[u8]) -> Result<Header> {
        let first = *packet.first().ok_or(CodecError::Truncated("empty"))?;
        let opcode = Opcode::from_u8(first >> 3).ok_or(CodecError::UnknownOpcode(first >> 3))?;
        Ok(Header {
            opcode,
            key_id: first & 0x07,
        })
    }

    /// Encodes the first byte.
    pub fn byte(self) -> u8 {
        ((self.opcode as u8) << 3) | (self.key_id & 0x07)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_byte_round_trips() {
        for op in 1..=11u8 {
            for key in 0..8u8 {
                let byte = (op << 3) | key;
                let h = Header::parse(&[byte]).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(h.byte(), byte);
                assert_eq!(h.key_id, key);
            }
        }
    }

    #[test]
    fn unknown_and_empty_are_errors() {
        assert_eq!(Header::parse(&[]), Err(CodecError::Truncated("empty")));
        assert_eq!(Header::parse(&[0]), Err(CodecError::UnknownOpcode(0)));
        assert_eq!(
            Header::parse(&[31 << 3]),
            Err(CodecError::UnknownOpcode(31))
        );
    }

    #[test]
    fn client_reset_v2_is_0x38() {
        let h = Header {
            opcode: Opcode::HardResetClientV2,
            key_id: 0,
        };
        assert_eq!(h.byte(), 0x38);
    }
}
