//! Address families (AFI/SAFI) and the prefix encoding of NLRI and withdrawn routes
//! (RFC 4271 4.3, RFC 4760 5).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Serialize};

use super::reader::Reader;

/// AFI IPv4.
pub const AFI_IPV4: u16 = 1;
/// AFI IPv6.
pub const AFI_IPV6: u16 = 2;
/// SAFI unicast.
pub const SAFI_UNICAST: u8 = 1;

/// The address families Kith speaks: IPv4 and IPv6 unicast.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4 unicast.
    Ipv4,
    /// IPv6 unicast.
    Ipv6,
}

impl Family {
    /// Both families.
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    /// The family of an (AFI, SAFI) pair, if Kith speaks it.
    #[must_use]
    pub fn from_afi_safi(afi: u16, safi: u8) -> Option<Self> {
        match (afi, safi) {
            (AFI_IPV4, SAFI_UNICAST) => Some(Self::Ipv4),
            (AFI_IPV6, SAFI_UNICAST) => Some(Self::Ipv6),
            _ => None,
        }
    }

    /// The AFI.
    #[must_use]
    pub fn afi(self) -> u16 {
        match self {
            Self::Ipv4 => AFI_IPV4,
            Self::Ipv6 => AFI_IPV6,
        }
    }

    /// The SAFI (always unicast).
    #[must_use]
    pub fn safi(self) -> u8 {
        SAFI_UNICAST
    }

    /// The family of a prefix.
    #[must_use]
    pub fn of(net: &IpNet) -> Self {
        match net {
            IpNet::V4(_) => Self::Ipv4,
            IpNet::V6(_) => Self::Ipv6,
        }
    }

    fn max_len(self) -> u8 {
        match self {
            Self::Ipv4 => 32,
            Self::Ipv6 => 128,
        }
    }
}

/// Why a prefix list does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrefixError {
    /// A prefix length longer than the family allows.
    TooLong(u8),
    /// The field ends inside a prefix.
    Truncated,
}

/// Parses a whole field of prefixes of one family.
pub(crate) fn parse_prefixes(buf: &[u8], family: Family) -> Result<Vec<IpNet>, PrefixError> {
    let mut reader = Reader::new(buf);
    let mut out = Vec::new();
    while !reader.is_empty() {
        let len = reader.u8().ok_or(PrefixError::Truncated)?;
        if len > family.max_len() {
            return Err(PrefixError::TooLong(len));
        }
        let octets = reader
            .take(usize::from(len).div_ceil(8))
            .ok_or(PrefixError::Truncated)?;
        out.push(make_prefix(family, octets, len));
    }
    Ok(out)
}

fn make_prefix(family: Family, octets: &[u8], len: u8) -> IpNet {
    match family {
        Family::Ipv4 => {
            let mut addr = [0u8; 4];
            addr[..octets.len()].copy_from_slice(octets);
            // The length was checked against the family, so `new` cannot fail; trunc()
            // clears host bits that a sloppy sender left set.
            Ipv4Net::new(Ipv4Addr::from(addr), len)
                .map(|n| IpNet::V4(n.trunc()))
                .unwrap_or_default()
        }
        Family::Ipv6 => {
            let mut addr = [0u8; 16];
            addr[..octets.len()].copy_from_slice(octets);
            Ipv6Net::new(Ipv6Addr::from(addr), len)
                .map(|n| IpNet::V6(n.trunc()))
                .unwrap_or_default()
        }
    }
}

/// Appends the encoding of `net` (length octet, then the significant octets).
pub(crate) fn emit_prefix(out: &mut Vec<u8>, net: &IpNet) {
    let len = net.prefix_len();
    out.push(len);
    let n = usize::from(len).div_ceil(8);
    match net.network() {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()[..n]),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()[..n]),
    }
}

/// The encoded size of `net`.
#[must_use]
pub fn prefix_size(net: &IpNet) -> usize {
    1 + usize::from(net.prefix_len()).div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_v4_and_v6() {
        let nets: Vec<IpNet> = ["0.0.0.0/0", "10.0.0.0/8", "192.168.42.0/23", "1.2.3.4/32"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        let mut buf = Vec::new();
        for n in &nets {
            emit_prefix(&mut buf, n);
        }
        assert_eq!(&buf[..6], &[0, 8, 10, 23, 192, 168]);
        assert_eq!(parse_prefixes(&buf, Family::Ipv4).unwrap(), nets);
        let v6: IpNet = "2001:db8:42::/48".parse().unwrap();
        let mut buf = Vec::new();
        emit_prefix(&mut buf, &v6);
        assert_eq!(buf, [48, 0x20, 0x01, 0x0d, 0xb8, 0, 0x42]);
        assert_eq!(parse_prefixes(&buf, Family::Ipv6).unwrap(), vec![v6]);
    }

    #[test]
    fn bad_prefixes() {
        assert_eq!(
            parse_prefixes(&[33, 1, 2, 3, 4, 5], Family::Ipv4),
            Err(PrefixError::TooLong(33))
        );
        assert_eq!(
            parse_prefixes(&[24, 10, 0], Family::Ipv4),
            Err(PrefixError::Truncated)
        );
        // Host bits are cleared.
        assert_eq!(
            parse_prefixes(&[24, 10, 0, 1], Family::Ipv4).unwrap(),
            vec!["10.0.1.0/24".parse::<IpNet>().unwrap()]
        );
    }
}
