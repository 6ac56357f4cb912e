//! Path attributes (RFC 4271 4.3, 5): the typed set a route carries, their parsing with
//! RFC 7606 error handling, and their encoding.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::DecodeContext;
use super::aspath::AsPath;
use super::error::{AttrIssue, ErrorAction, MessageError, Notification, code};
use super::nlri::{self, Family};
use super::open::AS_TRANS;
use super::reader::Reader;

/// Attribute flag: optional.
pub const FLAG_OPTIONAL: u8 = 0x80;
/// Attribute flag: transitive.
pub const FLAG_TRANSITIVE: u8 = 0x40;
/// Attribute flag: partial.
pub const FLAG_PARTIAL: u8 = 0x20;
/// Attribute flag: extended (2-octet) length.
pub const FLAG_EXTENDED: u8 = 0x10;

/// Attribute type codes.
pub mod attr_type {
    /// ORIGIN.
    pub const ORIGIN: u8 = 1;
    /// AS_PATH.
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP.
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC.
    pub const MED: u8 = 4;
    /// LOCAL_PREF.
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE.
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR.
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH: u8 = 15;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITY: u8 = 32;
}
use attr_type as t;

/// Well-known communities (RFC 1997).
pub mod community {
    /// NO_EXPORT: not announced outside the AS.
    pub const NO_EXPORT: u32 = 0xffff_ff01;
    /// NO_ADVERTISE: not announced to any peer.
    pub const NO_ADVERTISE: u32 = 0xffff_ff02;
    /// NO_EXPORT_SUBCONFED: not announced to eBGP peers.
    pub const NO_EXPORT_SUBCONFED: u32 = 0xffff_ff03;
}

/// ORIGIN values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// IGP (0): the best.
    #[default]
    Igp = 0,
    /// EGP (1).
    Egp = 1,
    /// INCOMPLETE (2).
    Incomplete = 2,
}

impl Origin {
    /// The RouterOS spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Igp => "igp",
            Self::Egp => "egp",
            Self::Incomplete => "incomplete",
        }
    }
}

/// A large community (RFC 8092): global administrator, two local data parts.
pub type LargeCommunity = [u32; 3];

/// An attribute Kith does not interpret, passed on when optional transitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// Flags as received (the partial bit is set when passed on).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub value: Vec<u8>,
}

/// The attributes of a path (everything but MP_REACH/MP_UNREACH, which describe the
/// UPDATE's prefixes, not the path).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct PathAttributes {
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH (already merged with AS4_PATH on 2-octet sessions).
    pub as_path: AsPath,
    /// NEXT_HOP (IPv4 NLRI); IPv6 next hops come with MP_REACH.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR: AS and address.
    pub aggregator: Option<(u32, Ipv4Addr)>,
    /// COMMUNITIES, in the order received.
    pub communities: Vec<u32>,
    /// LARGE_COMMUNITY.
    pub large_communities: Vec<LargeCommunity>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST.
    pub cluster_list: Vec<Ipv4Addr>,
    /// Unknown optional transitive attributes.
    pub unknown: Vec<RawAttribute>,
}

/// MP_REACH_NLRI: announced prefixes of one family and their next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpReach {
    /// The family.
    pub family: Family,
    /// Global next hop.
    pub next_hop: IpAddr,
    /// IPv6 link-local next hop, when the sender gave one (32-octet next hop).
    pub link_local: Option<Ipv6Addr>,
    /// Announced prefixes.
    pub nlri: Vec<IpNet>,
}

/// MP_UNREACH_NLRI: withdrawn prefixes of one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpUnreach {
    /// The family.
    pub family: Family,
    /// Withdrawn prefixes.
    pub withdrawn: Vec<IpNet>,
}

/// What parsing the path attributes field gave.
#[derive(Debug, Default)]
pub(crate) struct ParsedAttributes {
    pub(crate) attrs: PathAttributes,
    pub(crate) mp_reach: Option<MpReach>,
    pub(crate) mp_unreach: Option<MpUnreach>,
    pub(crate) issues: Vec<AttrIssue>,
    pub(crate) seen: Vec<u8>,
}

impl ParsedAttributes {
    fn issue(
        &mut self,
        type_code: u8,
        action: ErrorAction,
        subcode: u8,
        data: &[u8],
        reason: String,
    ) {
        self.issues.push(AttrIssue {
            type_code,
            action,
            would_notify: Notification::with_data(code::UPDATE, subcode, data),
            reason,
        });
    }
}

/// The flags (optional, transitive) an attribute must have, and what RFC 7606 does when
/// it is malformed; `None` for attributes Kith does not know.
fn known(type_code: u8) -> Option<(bool, bool, ErrorAction)> {
    use ErrorAction::{AttributeDiscard as D, TreatAsWithdraw as W};
    Some(match type_code {
        t::ORIGIN | t::AS_PATH | t::NEXT_HOP | t::LOCAL_PREF => (false, true, W),
        t::ATOMIC_AGGREGATE => (false, true, D),
        t::MED | t::ORIGINATOR_ID | t::CLUSTER_LIST => (true, false, W),
        t::COMMUNITIES | t::LARGE_COMMUNITY => (true, true, W),
        t::AGGREGATOR | t::AS4_PATH | t::AS4_AGGREGATOR => (true, true, D),
        // Errors in these reset the session; the action here is not used.
        t::MP_REACH | t::MP_UNREACH => (true, false, W),
        _ => return None,
    })
}

/// Parses the path attributes field of an UPDATE.
pub(crate) fn parse_attributes(
    buf: &[u8],
    ctx: &DecodeContext,
) -> Result<ParsedAttributes, MessageError> {
    let mut out = ParsedAttributes::default();
    let mut as4_path: Option<AsPath> = None;
    let mut as4_aggregator: Option<(u32, Ipv4Addr)> = None;
    let mut r = Reader::new(buf);
    while !r.is_empty() {
        let header_start = buf.len() - r.remaining();
        let (Some(flags), Some(type_code)) = (r.u8(), r.u8()) else {
            out.issue(
                0,
                ErrorAction::TreatAsWithdraw,
                code::ATTRIBUTE_LENGTH,
                &[],
                "attribute header truncated".into(),
            );
            break;
        };
        let len = if flags & FLAG_EXTENDED != 0 {
            r.u16().map(usize::from)
        } else {
            r.u8().map(usize::from)
        };
        let Some(value) = len.and_then(|len| r.take(len)) else {
            // RFC 7606 4: the attribute overruns the field; the NLRI is still located
            // through the total attribute length.
            let data = buf.get(header_start..).unwrap_or_default();
            out.issue(
                type_code,
                ErrorAction::TreatAsWithdraw,
                code::ATTRIBUTE_LENGTH,
                data,
                format!("attribute {type_code} overruns the path attributes"),
            );
            break;
        };
        let whole = buf
            .get(header_start..buf.len() - r.remaining())
            .unwrap_or_default();
        if out.seen.contains(&type_code) {
            if matches!(type_code, t::MP_REACH | t::MP_UNREACH) {
                return Err(MessageError::new(
                    format!("attribute {type_code} appears twice"),
                    code::UPDATE,
                    code::MALFORMED_ATTRIBUTE_LIST,
                    &[],
                ));
            }
            // RFC 7606 3(g): all but the first are discarded.
            out.issue(
                type_code,
                ErrorAction::AttributeDiscard,
                code::MALFORMED_ATTRIBUTE_LIST,
                &[],
                format!("attribute {type_code} appears twice"),
            );
            continue;
        }
        out.seen.push(type_code);
        let Some((optional, transitive, action)) = known(type_code) else {
            unknown_attribute(&mut out, flags, type_code, value)?;
            continue;
        };
        let partial_ok = optional && transitive;
        let flags_ok = (flags & FLAG_OPTIONAL != 0) == optional
            && (flags & FLAG_TRANSITIVE != 0) == transitive
            && (partial_ok || flags & FLAG_PARTIAL == 0);
        if !flags_ok {
            if matches!(type_code, t::MP_REACH | t::MP_UNREACH) {
                return Err(MessageError::new(
                    format!("attribute {type_code} has flags {flags:#04x}"),
                    code::UPDATE,
                    code::ATTRIBUTE_FLAGS,
                    whole,
                ));
            }
            out.issue(
                type_code,
                action,
                code::ATTRIBUTE_FLAGS,
                whole,
                format!("attribute {type_code} has flags {flags:#04x}"),
            );
            continue;
        }
        let mut v = Reader::new(value);
        let result: Result<(), (u8, String)> = match type_code {
            t::ORIGIN => match value {
                [0] => {
                    out.attrs.origin = Origin::Igp;
                    Ok(())
                }
                [1] => {
                    out.attrs.origin = Origin::Egp;
                    Ok(())
                }
                [2] => {
                    out.attrs.origin = Origin::Incomplete;
                    Ok(())
                }
                [other] => Err((code::INVALID_ORIGIN, format!("ORIGIN value {other}"))),
                _ => Err((
                    code::ATTRIBUTE_LENGTH,
                    format!("ORIGIN of {} octets", value.len()),
                )),
            },
            t::AS_PATH => match AsPath::parse(value, ctx.four_octet_as) {
                Ok(path) => check_as_path(path, ctx).map(|p| out.attrs.as_path = p),
                Err(e) => Err((code::MALFORMED_AS_PATH, format!("AS_PATH: {e}"))),
            },
            t::NEXT_HOP => match value {
                [a, b, c, d] => {
                    let nh = Ipv4Addr::new(*a, *b, *c, *d);
                    if nh.is_unspecified() || nh.is_multicast() || nh.is_broadcast() {
                        Err((code::INVALID_NEXT_HOP, format!("NEXT_HOP {nh}")))
                    } else {
                        out.attrs.next_hop = Some(nh);
                        Ok(())
                    }
                }
                _ => Err((
                    code::ATTRIBUTE_LENGTH,
                    format!("NEXT_HOP of {} octets", value.len()),
                )),
            },
            t::MED => fixed_u32(value, "MULTI_EXIT_DISC").map(|m| out.attrs.med = Some(m)),
            t::LOCAL_PREF => fixed_u32(value, "LOCAL_PREF").map(|lp| {
                // RFC 4271 5.1.5: ignored when received from an external peer.
                if !ctx.ebgp {
                    out.attrs.local_pref = Some(lp);
                }
            }),
            t::ATOMIC_AGGREGATE => {
                if value.is_empty() {
                    out.attrs.atomic_aggregate = true;
                    Ok(())
                } else {
                    Err((
                        code::ATTRIBUTE_LENGTH,
                        format!("ATOMIC_AGGREGATE of {} octets", value.len()),
                    ))
                }
            }
            t::AGGREGATOR => {
                let asn = if ctx.four_octet_as {
                    if value.len() == 8 { v.u32() } else { None }
                } else if value.len() == 6 {
                    v.u16().map(u32::from)
                } else {
                    None
                };
                match (asn, v.u32()) {
                    (Some(asn), Some(addr)) => {
                        out.attrs.aggregator = Some((asn, Ipv4Addr::from(addr)));
                        Ok(())
                    }
                    _ => Err((
                        code::ATTRIBUTE_LENGTH,
                        format!("AGGREGATOR of {} octets", value.len()),
                    )),
                }
            }
            t::AS4_AGGREGATOR => match (value.len(), v.u32(), v.u32()) {
                (8, Some(asn), Some(addr)) => {
                    as4_aggregator = Some((asn, Ipv4Addr::from(addr)));
                    Ok(())
                }
                _ => Err((
                    code::ATTRIBUTE_LENGTH,
                    format!("AS4_AGGREGATOR of {} octets", value.len()),
                )),
            },
            t::AS4_PATH => match AsPath::parse(value, true) {
                Ok(path) => {
                    as4_path = Some(path);
                    Ok(())
                }
                Err(e) => Err((code::OPTIONAL_ATTRIBUTE, format!("AS4_PATH: {e}"))),
            },
            t::COMMUNITIES => {
                if value.is_empty() || value.len() % 4 != 0 {
                    Err((
                        code::OPTIONAL_ATTRIBUTE,
                        format!("COMMUNITIES of {} octets", value.len()),
                    ))
                } else {
                    out.attrs.communities = std::iter::from_fn(|| v.u32()).collect();
                    Ok(())
                }
            }
            t::LARGE_COMMUNITY => {
                if value.is_empty() || value.len() % 12 != 0 {
                    Err((
                        code::OPTIONAL_ATTRIBUTE,
                        format!("LARGE_COMMUNITY of {} octets", value.len()),
                    ))
                } else {
                    out.attrs.large_communities =
                        std::iter::from_fn(|| Some([v.u32()?, v.u32()?, v.u32()?])).collect();
                    Ok(())
                }
            }
            t::ORIGINATOR_ID => fixed_u32(value, "ORIGINATOR_ID").map(|id| {
                if !ctx.ebgp {
                    out.attrs.originator_id = Some(Ipv4Addr::from(id));
                }
            }),
            t::CLUSTER_LIST => {
                if value.is_empty() || value.len() % 4 != 0 {
                    Err((
                        code::ATTRIBUTE_LENGTH,
                        format!("CLUSTER_LIST of {} octets", value.len()),
                    ))
                } else {
                    if !ctx.ebgp {
                        out.attrs.cluster_list =
                            std::iter::from_fn(|| v.u32().map(Ipv4Addr::from)).collect();
                    }
                    Ok(())
                }
            }
            t::MP_REACH => {
                out.mp_reach = Some(parse_mp_reach(value, whole)?);
                Ok(())
            }
            t::MP_UNREACH => {
                out.mp_unreach = Some(parse_mp_unreach(value, whole)?);
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err((subcode, reason)) = result {
            out.issue(type_code, action, subcode, whole, reason);
        }
    }
    // RFC 6793 4.2.3: a 4-octet speaker ignores AS4_* from another 4-octet speaker; a
    // 2-octet session rebuilds the path, unless AGGREGATOR names a real 2-octet AS.
    if !ctx.four_octet_as {
        let aggregator_is_trans = out
            .attrs
            .aggregator
            .is_none_or(|(asn, _)| asn == u32::from(AS_TRANS));
        if let (Some(agg4), true) = (as4_aggregator, aggregator_is_trans) {
            out.attrs.aggregator = Some(agg4);
        }
        if let (Some(as4), true) = (as4_path, aggregator_is_trans) {
            out.attrs.as_path = AsPath::merge_as4(&out.attrs.as_path, &as4);
        }
    }
    Ok(out)
}

fn fixed_u32(value: &[u8], name: &str) -> Result<u32, (u8, String)> {
    match value {
        [a, b, c, d] => Ok(u32::from_be_bytes([*a, *b, *c, *d])),
        _ => Err((
            code::ATTRIBUTE_LENGTH,
            format!("{name} of {} octets", value.len()),
        )),
    }
}

/// RFC 4271 6.3 and RFC 7606 7.2 checks that need the session: the neighbour AS first
/// on eBGP, no confederation segments from outside.
fn check_as_path(path: AsPath, ctx: &DecodeContext) -> Result<AsPath, (u8, String)> {
    if let Some(peer_as) = ctx.peer_as.filter(|_| ctx.ebgp) {
        if path.segments.iter().any(|s| {
            matches!(
                s.kind,
                super::aspath::SegmentKind::ConfedSequence | super::aspath::SegmentKind::ConfedSet
            )
        }) {
            return Err((
                code::MALFORMED_AS_PATH,
                "confederation segment from an eBGP peer".into(),
            ));
        }
        // A 2-octet session sees AS_TRANS for a 4-octet-only neighbour.
        let expected = if ctx.four_octet_as || peer_as <= 0xffff {
            peer_as
        } else {
            u32::from(AS_TRANS)
        };
        if !path.segments.is_empty() && path.first_as() != Some(expected) {
            return Err((
                code::MALFORMED_AS_PATH,
                format!("AS_PATH {path} does not start with the neighbour AS {peer_as}"),
            ));
        }
    }
    Ok(path)
}

fn unknown_attribute(
    out: &mut ParsedAttributes,
    flags: u8,
    type_code: u8,
    value: &[u8],
) -> Result<(), MessageError> {
    if flags & FLAG_OPTIONAL == 0 {
        return Err(MessageError::new(
            format!("unrecognized well-known attribute {type_code}"),
            code::UPDATE,
            code::UNRECOGNIZED_WELL_KNOWN,
            &[flags, type_code],
        ));
    }
    if flags & FLAG_TRANSITIVE != 0 {
        out.attrs.unknown.push(RawAttribute {
            flags: flags & !FLAG_EXTENDED,
            type_code,
            value: value.to_vec(),
        });
    }
    // Unknown optional non-transitive attributes are quietly ignored (RFC 4271 5).
    Ok(())
}

fn mp_error(reason: String, whole: &[u8]) -> MessageError {
    MessageError::new(reason, code::UPDATE, code::OPTIONAL_ATTRIBUTE, whole)
}

fn parse_mp_reach(value: &[u8], whole: &[u8]) -> Result<MpReach, MessageError> {
    let mut r = Reader::new(value);
    let short = || mp_error("MP_REACH_NLRI truncated".into(), whole);
    let afi = r.u16().ok_or_else(short)?;
    let safi = r.u8().ok_or_else(short)?;
    let family = Family::from_afi_safi(afi, safi)
        .ok_or_else(|| mp_error(format!("MP_REACH_NLRI for AFI {afi} SAFI {safi}"), whole))?;
    let nh_len = usize::from(r.u8().ok_or_else(short)?);
    let nh = r.take(nh_len).ok_or_else(short)?;
    let _reserved = r.u8().ok_or_else(short)?;
    let (next_hop, link_local) = match (family, nh.len()) {
        (Family::Ipv4, 4) => (IpAddr::V4(Ipv4Addr::new(nh[0], nh[1], nh[2], nh[3])), None),
        (Family::Ipv6, 16) => (IpAddr::V6(v6(&nh[..16])), None),
        (Family::Ipv6, 32) => {
            let global = v6(&nh[..16]);
            let ll = v6(&nh[16..32]);
            // A sender with only a link-local address puts it first (or twice).
            if global.is_unicast_link_local() {
                (IpAddr::V6(global), Some(global))
            } else {
                (IpAddr::V6(global), Some(ll))
            }
        }
        _ => {
            return Err(mp_error(
                format!(
                    "MP_REACH_NLRI next hop of {} octets for {family:?}",
                    nh.len()
                ),
                whole,
            ));
        }
    };
    let nlri = nlri::parse_prefixes(r.rest(), family)
        .map_err(|e| mp_error(format!("MP_REACH_NLRI prefixes: {e:?}"), whole))?;
    Ok(MpReach {
        family,
        next_hop,
        link_local,
        nlri,
    })
}

fn parse_mp_unreach(value: &[u8], whole: &[u8]) -> Result<MpUnreach, MessageError> {
    let mut r = Reader::new(value);
    let short = || mp_error("MP_UNREACH_NLRI truncated".into(), whole);
    let afi = r.u16().ok_or_else(short)?;
    let safi = r.u8().ok_or_else(short)?;
    let family = Family::from_afi_safi(afi, safi)
        .ok_or_else(|| mp_error(format!("MP_UNREACH_NLRI for AFI {afi} SAFI {safi}"), whole))?;
    let withdrawn = nlri::parse_prefixes(r.rest(), family)
        .map_err(|e| mp_error(format!("MP_UNREACH_NLRI prefixes: {e:?}"), whole))?;
    Ok(MpUnreach { family, withdrawn })
}

fn v6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    Ipv6Addr::from(a)
}

/// Appends one attribute (flags, type, length, value), choosing the length size.
pub(crate) fn emit_attribute(out: &mut Vec<u8>, flags: u8, type_code: u8, value: &[u8]) {
    if value.len() > 255 {
        out.extend_from_slice(&[flags | FLAG_EXTENDED, type_code]);
        out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes());
    } else {
        out.extend_from_slice(&[flags & !FLAG_EXTENDED, type_code, value.len() as u8]);
    }
    out.extend_from_slice(value);
}

impl PathAttributes {
    /// Appends the attributes in type order (MP_REACH/UNREACH are the UPDATE's business).
    pub(crate) fn emit(&self, out: &mut Vec<u8>, ctx: &DecodeContext, with_next_hop: bool) {
        const WK: u8 = FLAG_TRANSITIVE;
        const OPT: u8 = FLAG_OPTIONAL;
        const OPT_T: u8 = FLAG_OPTIONAL | FLAG_TRANSITIVE;
        emit_attribute(out, WK, t::ORIGIN, &[self.origin as u8]);
        let mut path = Vec::new();
        self.as_path.emit(&mut path, ctx.four_octet_as);
        emit_attribute(out, WK, t::AS_PATH, &path);
        if let (true, Some(nh)) = (with_next_hop, self.next_hop) {
            emit_attribute(out, WK, t::NEXT_HOP, &nh.octets());
        }
        if let Some(med) = self.med {
            emit_attribute(out, OPT, t::MED, &med.to_be_bytes());
        }
        if let Some(lp) = self.local_pref.filter(|_| !ctx.ebgp) {
            emit_attribute(out, WK, t::LOCAL_PREF, &lp.to_be_bytes());
        }
        if self.atomic_aggregate {
            emit_attribute(out, WK, t::ATOMIC_AGGREGATE, &[]);
        }
        if let Some((asn, addr)) = self.aggregator {
            let mut v = Vec::new();
            if ctx.four_octet_as {
                v.extend_from_slice(&asn.to_be_bytes());
            } else {
                v.extend_from_slice(&u16::try_from(asn).unwrap_or(AS_TRANS).to_be_bytes());
            }
            v.extend_from_slice(&addr.octets());
            emit_attribute(out, OPT_T, t::AGGREGATOR, &v);
        }
        if !self.communities.is_empty() {
            let v: Vec<u8> = self
                .communities
                .iter()
                .flat_map(|c| c.to_be_bytes())
                .collect();
            emit_attribute(out, OPT_T, t::COMMUNITIES, &v);
        }
        if let Some(id) = self.originator_id.filter(|_| !ctx.ebgp) {
            emit_attribute(out, OPT, t::ORIGINATOR_ID, &id.octets());
        }
        if !self.cluster_list.is_empty() && !ctx.ebgp {
            let v: Vec<u8> = self.cluster_list.iter().flat_map(|c| c.octets()).collect();
            emit_attribute(out, OPT, t::CLUSTER_LIST, &v);
        }
        if !ctx.four_octet_as && self.as_path.needs_as4() {
            let mut v = Vec::new();
            self.as_path.emit(&mut v, true);
            emit_attribute(out, OPT_T, t::AS4_PATH, &v);
            if let Some((asn, addr)) = self.aggregator.filter(|(asn, _)| *asn > 0xffff) {
                let mut v = asn.to_be_bytes().to_vec();
                v.extend_from_slice(&addr.octets());
                emit_attribute(out, OPT_T, t::AS4_AGGREGATOR, &v);
            }
        }
        if !self.large_communities.is_empty() {
            let v: Vec<u8> = self
                .large_communities
                .iter()
                .flatten()
                .flat_map(|c| c.to_be_bytes())
                .collect();
            emit_attribute(out, OPT_T, t::LARGE_COMMUNITY, &v);
        }
        for raw in &self.unknown {
            emit_attribute(out, raw.flags | FLAG_PARTIAL, raw.type_code, &raw.value);
        }
    }
}
