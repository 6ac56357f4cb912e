//! BFD control packets (RFC 5880 4.1) <-> bytes; no I/O, no state; never panics
//! (fuzz target `bfd_decode`). Authentication sections are recognised but not
//! supported: such packets are refused, as RFC 5880 6.8.6 asks when none is configured.

use std::fmt;
use std::time::Duration;

/// Length of a control packet without authentication.
pub const PACKET_LEN: usize = 24;
/// The protocol version this codec speaks.
pub const VERSION: u8 = 1;

/// A session state (RFC 5880 4.1 "Sta").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BfdState {
    /// Held down by the administrator.
    AdminDown = 0,
    /// Down.
    Down = 1,
    /// The peer was heard, the session is coming up.
    Init = 2,
    /// Up.
    Up = 3,
}

impl BfdState {
    fn from_bits(b: u8) -> Self {
        match b & 3 {
            0 => Self::AdminDown,
            1 => Self::Down,
            2 => Self::Init,
            _ => Self::Up,
        }
    }

    /// As status and logs say it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AdminDown => "admin-down",
            Self::Down => "down",
            Self::Init => "init",
            Self::Up => "up",
        }
    }
}

impl fmt::Display for BfdState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Diagnostic codes (RFC 5880 4.1 "Diag").
pub mod diag {
    /// No diagnostic.
    pub const NONE: u8 = 0;
    /// Control detection time expired.
    pub const DETECTION_EXPIRED: u8 = 1;
    /// Echo function failed.
    pub const ECHO_FAILED: u8 = 2;
    /// Neighbor signaled session down.
    pub const NEIGHBOR_DOWN: u8 = 3;
    /// Forwarding plane reset.
    pub const FORWARDING_RESET: u8 = 4;
    /// Path down.
    pub const PATH_DOWN: u8 = 5;
    /// Administratively down.
    pub const ADMIN_DOWN: u8 = 7;

    /// The code in words.
    #[must_use]
    pub fn text(code: u8) -> &'static str {
        match code {
            NONE => "no diagnostic",
            DETECTION_EXPIRED => "no packet within the detection time",
            ECHO_FAILED => "echo function failed",
            NEIGHBOR_DOWN => "the neighbour said the session is down",
            FORWARDING_RESET => "forwarding plane reset",
            PATH_DOWN => "path down",
            6 => "concatenated path down",
            ADMIN_DOWN => "administratively down",
            8 => "reverse concatenated path down",
            _ => "unknown diagnostic",
        }
    }
}

/// One control packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlPacket {
    /// Diagnostic code (5 bits).
    pub diag: u8,
    /// The sender's state.
    pub state: BfdState,
    /// Poll (P).
    pub poll: bool,
    /// Final (F).
    pub fin: bool,
    /// Control plane independent (C).
    pub cpi: bool,
    /// Authentication present (A); only ever true on a received packet.
    pub auth: bool,
    /// Demand mode (D).
    pub demand: bool,
    /// Detect multiplier.
    pub detect_mult: u8,
    /// The sender's discriminator.
    pub my_discr: u32,
    /// The receiver's discriminator as the sender knows it (0: unknown).
    pub your_discr: u32,
    /// Desired minimum transmit interval.
    pub desired_min_tx: Duration,
    /// Required minimum receive interval.
    pub required_min_rx: Duration,
    /// Required minimum echo receive interval (0: no echo).
    pub required_min_echo_rx: Duration,
}

/// Why a packet is refused (RFC 5880 6.8.6: discarded, never answered).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Fewer octets than a control packet.
    #[error("packet of {0} octets, shorter than 24")]
    Short(usize),
    /// Not version 1.
    #[error("BFD version {0}, not 1")]
    Version(u8),
    /// The length field is wrong.
    #[error("length field {field} does not fit a packet of {actual} octets")]
    Length {
        /// The field.
        field: u8,
        /// The octets received.
        actual: usize,
    },
    /// Detect multiplier 0.
    #[error("detect multiplier 0")]
    ZeroMultiplier,
    /// The multipoint bit is set.
    #[error("multipoint bit set")]
    Multipoint,
    /// My Discriminator 0.
    #[error("sender discriminator 0")]
    ZeroDiscriminator,
    /// Your Discriminator 0 while the sender is neither Down nor AdminDown.
    #[error("receiver discriminator 0 from a sender in state {0}")]
    NoYourDiscriminator(BfdState),
    /// An authentication section (not supported).
    #[error("authenticated packet (authentication is not configured)")]
    Authenticated,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b2, c, d]) => u32::from_be_bytes([a, b2, c, d]),
        _ => 0,
    }
}

impl ControlPacket {
    /// Checks and decodes one packet (the UDP payload) as RFC 5880 6.8.6 says.
    ///
    /// # Errors
    /// Every reason 6.8.6 gives to discard a packet.
    pub fn parse(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() < PACKET_LEN {
            return Err(DecodeError::Short(bytes.len()));
        }
        let version = bytes[0] >> 5;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let flags = bytes[1];
        let auth = flags & 0x04 != 0;
        let length = bytes[3];
        let min = if auth { PACKET_LEN + 2 } else { PACKET_LEN };
        if usize::from(length) < min || usize::from(length) > bytes.len() {
            return Err(DecodeError::Length {
                field: length,
                actual: bytes.len(),
            });
        }
        let p = Self {
            diag: bytes[0] & 0x1f,
            state: BfdState::from_bits(flags >> 6),
            poll: flags & 0x20 != 0,
            fin: flags & 0x10 != 0,
            cpi: flags & 0x08 != 0,
            auth,
            demand: flags & 0x02 != 0,
            detect_mult: bytes[2],
            my_discr: be32(bytes, 4),
            your_discr: be32(bytes, 8),
            desired_min_tx: Duration::from_micros(u64::from(be32(bytes, 12))),
            required_min_rx: Duration::from_micros(u64::from(be32(bytes, 16))),
            required_min_echo_rx: Duration::from_micros(u64::from(be32(bytes, 20))),
        };
        if p.detect_mult == 0 {
            return Err(DecodeError::ZeroMultiplier);
        }
        if flags & 0x01 != 0 {
            return Err(DecodeError::Multipoint);
        }
        if p.my_discr == 0 {
            return Err(DecodeError::ZeroDiscriminator);
        }
        if p.your_discr == 0 && !matches!(p.state, BfdState::Down | BfdState::AdminDown) {
            return Err(DecodeError::NoYourDiscriminator(p.state));
        }
        if auth {
            return Err(DecodeError::Authenticated);
        }
        Ok(p)
    }

    /// The packet's 24 octets (never with authentication).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(PACKET_LEN);
        b.push((VERSION << 5) | (self.diag & 0x1f));
        let mut flags = (self.state as u8) << 6;
        for (set, bit) in [
            (self.poll, 0x20),
            (self.fin, 0x10),
            (self.cpi, 0x08),
            (self.demand, 0x02),
        ] {
            if set {
                flags |= bit;
            }
        }
        b.push(flags);
        b.push(self.detect_mult);
        b.push(PACKET_LEN as u8);
        b.extend_from_slice(&self.my_discr.to_be_bytes());
        b.extend_from_slice(&self.your_discr.to_be_bytes());
        b.extend_from_slice(&micros(self.desired_min_tx).to_be_bytes());
        b.extend_from_slice(&micros(self.required_min_rx).to_be_bytes());
        b.extend_from_slice(&micros(self.required_min_echo_rx).to_be_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ControlPacket {
        ControlPacket {
            diag: diag::DETECTION_EXPIRED,
            state: BfdState::Up,
            poll: true,
            fin: false,
            cpi: false,
            auth: false,
            demand: false,
            detect_mult: 3,
            my_discr: 7,
            your_discr: 9,
            desired_min_tx: Duration::from_millis(100),
            required_min_rx: Duration::from_millis(100),
            required_min_echo_rx: Duration::ZERO,
        }
    }

    #[test]
    fn round_trip_and_wire_layout() {
        let p = sample();
        let b = p.to_bytes();
        assert_eq!(b.len(), 24);
        assert_eq!(b[0], 0x21, "version 1, diag 1");
        assert_eq!(b[1], 0xe0, "state up, poll");
        assert_eq!(&b[12..16], &100_000u32.to_be_bytes());
        assert_eq!(ControlPacket::parse(&b), Ok(p));
    }

    #[test]
    fn refuses_what_rfc5880_discards() {
        let good = sample().to_bytes();
        let with = |i: usize, v: u8| {
            let mut b = good.clone();
            b[i] = v;
            b
        };
        assert_eq!(
            ControlPacket::parse(&good[..23]),
            Err(DecodeError::Short(23))
        );
        assert_eq!(
            ControlPacket::parse(&with(0, 0x41)),
            Err(DecodeError::Version(2))
        );
        assert!(matches!(
            ControlPacket::parse(&with(3, 23)),
            Err(DecodeError::Length { .. })
        ));
        assert!(matches!(
            ControlPacket::parse(&with(3, 30)),
            Err(DecodeError::Length { .. })
        ));
        assert_eq!(
            ControlPacket::parse(&with(2, 0)),
            Err(DecodeError::ZeroMultiplier)
        );
        assert_eq!(
            ControlPacket::parse(&with(1, 0xc1)),
            Err(DecodeError::Multipoint)
        );
        assert_eq!(
            ControlPacket::parse(&with(7, 0)),
            Err(DecodeError::ZeroDiscriminator)
        );
        assert!(matches!(
            ControlPacket::parse(&with(11, 0)),
            Err(DecodeError::NoYourDiscriminator(BfdState::Up))
        ));
        let mut auth = with(1, 0xc4);
        auth[3] = 26;
        auth.extend_from_slice(&[1, 2]);
        assert_eq!(ControlPacket::parse(&auth), Err(DecodeError::Authenticated));
        // Down with an unknown peer is fine; extra octets past the length are ignored.
        let mut down = with(1, 0x40);
        down[8..12].copy_from_slice(&[0; 4]);
        down.push(0);
        assert_eq!(
            ControlPacket::parse(&down).map(|p| p.state),
            Ok(BfdState::Down)
        );
    }
}
