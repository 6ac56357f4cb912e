//! ICMP and ICMPv6 echo messages: building requests and recognising replies (no I/O).

/// ICMP echo request / reply types.
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// What follows the 8-byte header in Kith's probes, so a capture says who sent them.
pub const PAYLOAD: &[u8; 16] = b"kith-routed-ping";

/// An echo request (8-byte header + [`PAYLOAD`]). For IPv4 the checksum is computed;
/// for ICMPv6 the kernel fills it in (it covers a pseudo-header only it knows).
pub fn echo_request(v6: bool, ident: u16, seq: u16) -> Vec<u8> {
    let mut msg = Vec::with_capacity(8 + PAYLOAD.len());
    msg.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    msg.push(0);
    msg.extend_from_slice(&[0, 0]);
    msg.extend_from_slice(&ident.to_be_bytes());
    msg.extend_from_slice(&seq.to_be_bytes());
    msg.extend_from_slice(PAYLOAD);
    if !v6 {
        let sum = checksum(&msg);
        msg[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    msg
}

/// How received bytes start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// An IPv4 header comes first (raw IPv4 sockets).
    Ipv4Header,
    /// The ICMP message itself (ping sockets, raw ICMPv6 sockets).
    Bare,
}

/// An echo reply: its identifier and sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoReply {
    /// Identifier (ping sockets: the kernel's, to be ignored).
    pub ident: u16,
    /// Sequence number.
    pub seq: u16,
}

/// Parses an echo reply; `None` for anything else (other ICMP types, short packets).
pub fn parse_echo_reply(v6: bool, framing: Framing, packet: &[u8]) -> Option<EchoReply> {
    let icmp = match framing {
        Framing::Bare => packet,
        Framing::Ipv4Header => {
            let first = *packet.first()?;
            if first >> 4 != 4 {
                return None;
            }
            let ihl = usize::from(first & 0x0f) * 4;
            if ihl < 20 {
                return None;
            }
            packet.get(ihl..)?
        }
    };
    let header = icmp.get(..8)?;
    let reply = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if header[0] != reply || header[1] != 0 {
        return None;
    }
    Some(EchoReply {
        ident: u16::from_be_bytes([header[4], header[5]]),
        seq: u16::from_be_bytes([header[6], header[7]]),
    })
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum += u32::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = chunks.remainder() {
        sum += u32::from(*last) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_v4_has_a_valid_checksum() {
        let msg = echo_request(false, 0x1234, 7);
        assert_eq!(msg.len(), 24);
        assert_eq!(&msg[..2], &[8, 0]);
        assert_eq!(&msg[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(
            checksum(&msg),
            0,
            "a message with its checksum sums to zero"
        );
    }

    #[test]
    fn request_v6_leaves_the_checksum_to_the_kernel() {
        let msg = echo_request(true, 1, 2);
        assert_eq!(&msg[..4], &[128, 0, 0, 0]);
    }

    #[test]
    fn checksum_known_value() {
        // RFC 1071's example words 0001 f203 f4f5 f6f7 sum to ddf2, complemented 220d.
        assert_eq!(
            checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
        assert_eq!(checksum(&[0xff]), !0xff00);
    }

    #[test]
    fn replies_are_recognised() {
        let mut reply = echo_request(false, 0xabcd, 42);
        reply[0] = 0;
        assert_eq!(
            parse_echo_reply(false, Framing::Bare, &reply),
            Some(EchoReply {
                ident: 0xabcd,
                seq: 42
            })
        );
        let mut with_ip = vec![0x45u8];
        with_ip.extend_from_slice(&[0; 19]);
        with_ip.extend_from_slice(&reply);
        assert_eq!(
            parse_echo_reply(false, Framing::Ipv4Header, &with_ip),
            Some(EchoReply {
                ident: 0xabcd,
                seq: 42
            })
        );
        let mut v6 = echo_request(true, 3, 4);
        v6[0] = 129;
        assert_eq!(
            parse_echo_reply(true, Framing::Bare, &v6),
            Some(EchoReply { ident: 3, seq: 4 })
        );
    }

    #[test]
    fn other_packets_are_not_replies() {
        let request = echo_request(false, 1, 1);
        assert_eq!(parse_echo_reply(false, Framing::Bare, &request), None);
        assert_eq!(parse_echo_reply(false, Framing::Bare, &[0, 0, 0]), None);
        assert_eq!(parse_echo_reply(false, Framing::Ipv4Header, &[]), None);
        assert_eq!(
            parse_echo_reply(false, Framing::Ipv4Header, &[0x60; 40]),
            None
        );
        assert_eq!(
            parse_echo_reply(false, Framing::Ipv4Header, &[0x41; 40]),
            None
        );
        // Destination unreachable (type 3) is no reply.
        let mut unreach = vec![0x45u8];
        unreach.extend_from_slice(&[0; 19]);
        unreach.extend_from_slice(&[3, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(parse_echo_reply(false, Framing::Ipv4Header, &unreach), None);
        // An ICMPv6 echo reply is no ICMPv4 reply.
        let mut v6 = echo_request(true, 3, 4);
        v6[0] = 129;
        assert_eq!(parse_echo_reply(false, Framing::Bare, &v6), None);
    }
}
