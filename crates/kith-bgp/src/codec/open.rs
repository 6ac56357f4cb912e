//! OPEN (RFC 4271 4.2) and its capabilities (RFC 5492): 4-octet AS (RFC 6793),
//! multiprotocol (RFC 4760), route refresh (RFC 2918), graceful restart (RFC 4724).

use std::net::Ipv4Addr;

use super::error::{MessageError, code};
use super::nlri::Family;
use super::reader::Reader;

/// AS_TRANS (RFC 6793): the 2-octet AS a 4-octet-only AS number is replaced with.
pub const AS_TRANS: u16 = 23456;

/// Capability codes.
pub mod cap {
    /// Multiprotocol extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// Route refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// Graceful restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// 4-octet AS numbers (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
}

/// One capability of an OPEN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// Multiprotocol extensions for one AFI/SAFI.
    Multiprotocol {
        /// Address family identifier.
        afi: u16,
        /// Subsequent address family identifier.
        safi: u8,
    },
    /// Route refresh.
    RouteRefresh,
    /// 4-octet AS numbers, with the speaker's own AS.
    FourOctetAs(u32),
    /// Graceful restart.
    GracefulRestart {
        /// The restart state bit (the sender has just restarted).
        restarting: bool,
        /// Seconds the peer keeps our routes after we drop the connection.
        restart_time: u16,
        /// Families whose forwarding state the sender keeps, with the F bit.
        families: Vec<(u16, u8, bool)>,
    },
    /// A capability Kith does not know, kept as is.
    Unknown {
        /// Capability code.
        code: u8,
        /// Value.
        value: Vec<u8>,
    },
}

/// An OPEN message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The "My Autonomous System" field (AS_TRANS for a 4-octet-only AS).
    pub my_as: u16,
    /// Proposed hold time in seconds (0, or 3 and more).
    pub hold_time: u16,
    /// BGP identifier.
    pub bgp_id: Ipv4Addr,
    /// Capabilities, in the order received.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The sender's AS: the 4-octet capability's when present, else `my_as`.
    #[must_use]
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                Capability::FourOctetAs(asn) => Some(*asn),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// Whether the sender speaks 4-octet AS numbers.
    #[must_use]
    pub fn four_octet_as(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::FourOctetAs(_)))
    }

    /// Whether the sender understands ROUTE-REFRESH.
    #[must_use]
    pub fn route_refresh(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, Capability::RouteRefresh))
    }

    /// The families the sender announces; IPv4 unicast alone when it sends no
    /// multiprotocol capability (RFC 4760 8).
    #[must_use]
    pub fn families(&self) -> Vec<Family> {
        let mut out: Vec<Family> = self
            .capabilities
            .iter()
            .filter_map(|c| match c {
                Capability::Multiprotocol { afi, safi } => Family::from_afi_safi(*afi, *safi),
                _ => None,
            })
            .collect();
        let any_mp = self
            .capabilities
            .iter()
            .any(|c| matches!(c, Capability::Multiprotocol { .. }));
        if !any_mp {
            out.push(Family::Ipv4);
        }
        out.sort();
        out.dedup();
        out
    }

    /// The sender's graceful restart time, when it announces graceful restart.
    #[must_use]
    pub fn graceful_restart_time(&self) -> Option<u16> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart { restart_time, .. } => Some(*restart_time),
            _ => None,
        })
    }

    /// Parses an OPEN body (after the header).
    ///
    /// # Errors
    /// The RFC 4271 6.2 errors that do not need the local configuration: version,
    /// hold time 1 or 2, identifier 0, optional parameters.
    pub fn parse(body: &[u8]) -> Result<Self, MessageError> {
        let short = || MessageError::new("OPEN truncated", code::HEADER, code::BAD_LENGTH, &[]);
        let mut r = Reader::new(body);
        let version = r.u8().ok_or_else(short)?;
        if version != 4 {
            return Err(MessageError::new(
                format!("BGP version {version}"),
                code::OPEN,
                code::UNSUPPORTED_VERSION,
                &4u16.to_be_bytes(),
            ));
        }
        let my_as = r.u16().ok_or_else(short)?;
        let hold_time = r.u16().ok_or_else(short)?;
        let bgp_id = Ipv4Addr::from(r.u32().ok_or_else(short)?);
        let opt_len = usize::from(r.u8().ok_or_else(short)?);
        if opt_len != r.remaining() {
            return Err(MessageError::new(
                format!(
                    "optional parameters length {opt_len}, {} octets follow",
                    r.remaining()
                ),
                code::OPEN,
                0,
                &[],
            ));
        }
        if hold_time == 1 || hold_time == 2 {
            return Err(MessageError::new(
                format!("hold time {hold_time} s"),
                code::OPEN,
                code::UNACCEPTABLE_HOLD_TIME,
                &[],
            ));
        }
        if bgp_id.is_unspecified() {
            return Err(MessageError::new(
                "BGP identifier 0.0.0.0",
                code::OPEN,
                code::BAD_BGP_ID,
                &[],
            ));
        }
        let mut capabilities = Vec::new();
        while !r.is_empty() {
            let bad = || MessageError::new("optional parameter truncated", code::OPEN, 0, &[]);
            let kind = r.u8().ok_or_else(bad)?;
            let len = usize::from(r.u8().ok_or_else(bad)?);
            let value = r.take(len).ok_or_else(bad)?;
            if kind != 2 {
                return Err(MessageError::new(
                    format!("optional parameter type {kind}"),
                    code::OPEN,
                    code::UNSUPPORTED_PARAMETER,
                    &[],
                ));
            }
            parse_capabilities(value, &mut capabilities)?;
        }
        Ok(Self {
            my_as,
            hold_time,
            bgp_id,
            capabilities,
        })
    }

    /// Appends the OPEN body.
    pub(crate) fn emit_body(&self, out: &mut Vec<u8>) {
        out.push(4);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.bgp_id.octets());
        let mut caps = Vec::new();
        for c in &self.capabilities {
            emit_capability(&mut caps, c);
        }
        if caps.is_empty() {
            out.push(0);
            return;
        }
        // One optional parameter per capability keeps every parameter under 256 octets.
        let mut params = Vec::new();
        let mut r = Reader::new(&caps);
        while let (Some(code), Some(len)) = (r.u8(), r.u8()) {
            let value = r.take(usize::from(len)).unwrap_or_default();
            params.extend_from_slice(&[2, len.saturating_add(2), code, len]);
            params.extend_from_slice(value);
        }
        out.push(u8::try_from(params.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(&params);
    }
}

fn parse_capabilities(buf: &[u8], out: &mut Vec<Capability>) -> Result<(), MessageError> {
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let bad = |what: &str| MessageError::new(format!("capability {what}"), code::OPEN, 0, &[]);
        let kind = r.u8().ok_or_else(|| bad("truncated"))?;
        let len = usize::from(r.u8().ok_or_else(|| bad("truncated"))?);
        let value = r.take(len).ok_or_else(|| bad("truncated"))?;
        let mut v = Reader::new(value);
        let cap = match kind {
            cap::MULTIPROTOCOL if len == 4 => {
                let afi = v.u16().unwrap_or_default();
                let _reserved = v.u8();
                let safi = v.u8().unwrap_or_default();
                Capability::Multiprotocol { afi, safi }
            }
            cap::ROUTE_REFRESH if len == 0 => Capability::RouteRefresh,
            cap::FOUR_OCTET_AS if len == 4 => Capability::FourOctetAs(v.u32().unwrap_or_default()),
            cap::GRACEFUL_RESTART if len >= 2 && (len - 2) % 4 == 0 => {
                let flags_time = v.u16().unwrap_or_default();
                let mut families = Vec::new();
                while let (Some(afi), Some(safi), Some(flags)) = (v.u16(), v.u8(), v.u8()) {
                    families.push((afi, safi, flags & 0x80 != 0));
                }
                Capability::GracefulRestart {
                    restarting: flags_time & 0x8000 != 0,
                    restart_time: flags_time & 0x0fff,
                    families,
                }
            }
            cap::MULTIPROTOCOL
            | cap::ROUTE_REFRESH
            | cap::FOUR_OCTET_AS
            | cap::GRACEFUL_RESTART => {
                return Err(bad(&format!("{kind} with length {len}")));
            }
            _ => Capability::Unknown {
                code: kind,
                value: value.to_vec(),
            },
        };
        out.push(cap);
    }
    Ok(())
}

fn emit_capability(out: &mut Vec<u8>, c: &Capability) {
    match c {
        Capability::Multiprotocol { afi, safi } => {
            out.extend_from_slice(&[cap::MULTIPROTOCOL, 4]);
            out.extend_from_slice(&afi.to_be_bytes());
            out.extend_from_slice(&[0, *safi]);
        }
        Capability::RouteRefresh => out.extend_from_slice(&[cap::ROUTE_REFRESH, 0]),
        Capability::FourOctetAs(asn) => {
            out.extend_from_slice(&[cap::FOUR_OCTET_AS, 4]);
            out.extend_from_slice(&asn.to_be_bytes());
        }
        Capability::GracefulRestart {
            restarting,
            restart_time,
            families,
        } => {
            let len = 2 + 4 * families.len().min(60);
            out.extend_from_slice(&[cap::GRACEFUL_RESTART, len as u8]);
            let flags = if *restarting { 0x8000 } else { 0 } | (restart_time & 0x0fff);
            out.extend_from_slice(&flags.to_be_bytes());
            for (afi, safi, forwarding) in families.iter().take(60) {
                out.extend_from_slice(&afi.to_be_bytes());
                out.extend_from_slice(&[*safi, if *forwarding { 0x80 } else { 0 }]);
            }
        }
        Capability::Unknown { code, value } => {
            let value = value.get(..value.len().min(255)).unwrap_or_default();
            out.extend_from_slice(&[*code, value.len() as u8]);
            out.extend_from_slice(value);
        }
    }
}
