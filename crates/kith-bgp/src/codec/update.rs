//! UPDATE (RFC 4271 4.3, RFC 4760, RFC 7606): withdrawn routes, path attributes and
//! NLRI; the RFC 7606 outcome of a malformed one; packing many prefixes into messages.

use std::net::IpAddr;

use ipnet::IpNet;

use super::DecodeContext;
use super::attr::{self, FLAG_OPTIONAL, MpReach, MpUnreach, PathAttributes, attr_type as t};
use super::error::{AttrIssue, ErrorAction, MessageError, Notification, code};
use super::header::{HEADER_LEN, MAX_MESSAGE_LEN, MessageType, emit_header};
use super::nlri::{self, Family, PrefixError};
use super::reader::Reader;

/// An UPDATE message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Update {
    /// IPv4 withdrawn routes (the Withdrawn Routes field).
    pub withdrawn: Vec<IpNet>,
    /// Path attributes.
    pub attrs: PathAttributes,
    /// IPv4 NLRI (the NLRI field).
    pub nlri: Vec<IpNet>,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreach>,
    /// Malformed attributes RFC 7606 let through, with their outcome (empty when sent).
    pub issues: Vec<AttrIssue>,
}

impl Update {
    /// The strongest RFC 7606 outcome of the message, `None` when it is well formed.
    #[must_use]
    pub fn error_action(&self) -> Option<ErrorAction> {
        self.issues.iter().map(|i| i.action).max()
    }

    /// Every prefix the message announces (NLRI field and MP_REACH).
    pub fn announced(&self) -> impl Iterator<Item = &IpNet> {
        self.nlri
            .iter()
            .chain(self.mp_reach.iter().flat_map(|m| m.nlri.iter()))
    }

    /// Every prefix the message withdraws (withdrawn field and MP_UNREACH).
    pub fn withdrawn_all(&self) -> impl Iterator<Item = &IpNet> {
        self.withdrawn
            .iter()
            .chain(self.mp_unreach.iter().flat_map(|m| m.withdrawn.iter()))
    }

    /// The next hop of an announced prefix of `family` (IPv6 link-local beside it).
    #[must_use]
    pub fn next_hop(&self, family: Family) -> Option<(IpAddr, Option<std::net::Ipv6Addr>)> {
        match (family, &self.mp_reach) {
            (_, Some(mp)) if mp.family == family => Some((mp.next_hop, mp.link_local)),
            (Family::Ipv4, _) => self.attrs.next_hop.map(|nh| (IpAddr::V4(nh), None)),
            _ => None,
        }
    }

    /// The family an End-of-RIB marker (RFC 4724 2) stands for, if this is one.
    #[must_use]
    pub fn end_of_rib(&self) -> Option<Family> {
        let plain = self.withdrawn.is_empty() && self.nlri.is_empty() && self.mp_reach.is_none();
        match &self.mp_unreach {
            None if plain && self.attrs == PathAttributes::default() && self.issues.is_empty() => {
                Some(Family::Ipv4)
            }
            Some(mp) if plain && mp.withdrawn.is_empty() => Some(mp.family),
            _ => None,
        }
    }

    /// The End-of-RIB marker of `family`.
    #[must_use]
    pub fn end_of_rib_marker(family: Family) -> Self {
        let mut update = Self::default();
        if family != Family::Ipv4 {
            update.mp_unreach = Some(MpUnreach {
                family,
                withdrawn: Vec::new(),
            });
        }
        update
    }

    /// Parses an UPDATE body (after the header).
    ///
    /// # Errors
    /// What RFC 7606 still answers with a session reset: field lengths that overrun the
    /// message, unparseable prefixes, malformed MP_REACH/MP_UNREACH, an unrecognized
    /// well-known attribute. Lesser errors are in [`Update::issues`].
    pub fn parse(body: &[u8], ctx: &DecodeContext) -> Result<Self, MessageError> {
        let mut r = Reader::new(body);
        let malformed =
            |what: &str| MessageError::new(what, code::UPDATE, code::MALFORMED_ATTRIBUTE_LIST, &[]);
        let wlen = usize::from(r.u16().ok_or_else(|| malformed("UPDATE truncated"))?);
        let wbuf = r
            .take(wlen)
            .ok_or_else(|| malformed("withdrawn routes length overruns the message"))?;
        let alen = usize::from(
            r.u16()
                .ok_or_else(|| malformed("total path attribute length missing"))?,
        );
        let abuf = r
            .take(alen)
            .ok_or_else(|| malformed("total path attribute length overruns the message"))?;
        let withdrawn = prefixes(wbuf)?;
        let nlri = prefixes(r.rest())?;
        let parsed = attr::parse_attributes(abuf, ctx)?;
        let mut update = Self {
            withdrawn,
            attrs: parsed.attrs,
            nlri,
            mp_reach: parsed.mp_reach,
            mp_unreach: parsed.mp_unreach,
            issues: parsed.issues,
        };
        check_mandatory(&mut update, &parsed.seen, ctx);
        Ok(update)
    }

    /// Writes the whole message (header included) for a peer described by `ctx`.
    ///
    /// The caller keeps it under 4096 octets; [`pack`] does that for many prefixes.
    #[must_use]
    pub fn to_bytes(&self, ctx: &DecodeContext) -> Vec<u8> {
        let mut body = Vec::new();
        let mut w = Vec::new();
        for n in &self.withdrawn {
            nlri::emit_prefix(&mut w, n);
        }
        body.extend_from_slice(&(w.len() as u16).to_be_bytes());
        body.extend_from_slice(&w);
        let mut a = Vec::new();
        if let Some(mp) = &self.mp_unreach {
            let mut v = Vec::new();
            v.extend_from_slice(&mp.family.afi().to_be_bytes());
            v.push(mp.family.safi());
            for n in &mp.withdrawn {
                nlri::emit_prefix(&mut v, n);
            }
            attr::emit_attribute(&mut a, FLAG_OPTIONAL, t::MP_UNREACH, &v);
        }
        let has_attrs = !self.nlri.is_empty() || self.mp_reach.is_some();
        if has_attrs {
            if let Some(mp) = &self.mp_reach {
                let mut v = Vec::new();
                v.extend_from_slice(&mp.family.afi().to_be_bytes());
                v.push(mp.family.safi());
                let mut nh = match mp.next_hop {
                    IpAddr::V4(a) => a.octets().to_vec(),
                    IpAddr::V6(a) => a.octets().to_vec(),
                };
                if let Some(ll) = mp.link_local {
                    nh.extend_from_slice(&ll.octets());
                }
                v.push(nh.len() as u8);
                v.extend_from_slice(&nh);
                v.push(0);
                for n in &mp.nlri {
                    nlri::emit_prefix(&mut v, n);
                }
                attr::emit_attribute(&mut a, FLAG_OPTIONAL, t::MP_REACH, &v);
            }
            self.attrs.emit(&mut a, ctx, !self.nlri.is_empty());
        }
        body.extend_from_slice(&(a.len() as u16).to_be_bytes());
        body.extend_from_slice(&a);
        for n in &self.nlri {
            nlri::emit_prefix(&mut body, n);
        }
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        emit_header(&mut out, MessageType::Update, HEADER_LEN + body.len());
        out.extend_from_slice(&body);
        out
    }
}

/// Builds the messages that announce `prefixes` (all of one family) with `attrs` and
/// `next_hop`, as few as fit in 4096 octets each.
#[must_use]
pub fn pack(
    attrs: &PathAttributes,
    family: Family,
    next_hop: IpAddr,
    link_local: Option<std::net::Ipv6Addr>,
    prefixes: &[IpNet],
    ctx: &DecodeContext,
) -> Vec<Vec<u8>> {
    let mut template = Update {
        attrs: attrs.clone(),
        ..Update::default()
    };
    if family == Family::Ipv4 {
        if let IpAddr::V4(nh) = next_hop {
            template.attrs.next_hop = Some(nh);
        }
    } else {
        template.mp_reach = Some(MpReach {
            family,
            next_hop,
            link_local,
            nlri: Vec::new(),
        });
    }
    // The size without prefixes: a message with one default route, less that route;
    // one octet more in case the MP_REACH attribute needs an extended length.
    let base = {
        let mut probe = template.clone();
        match &mut probe.mp_reach {
            Some(mp) => mp.nlri = vec![IpNet::new(unspecified(family), 0).unwrap_or_default()],
            None => probe.nlri = vec![IpNet::default()],
        }
        probe.to_bytes(ctx).len()
    };
    chunk(prefixes, MAX_MESSAGE_LEN.saturating_sub(base))
        .into_iter()
        .map(|part| {
            let mut u = template.clone();
            if let Some(mp) = &mut u.mp_reach {
                mp.nlri = part.to_vec();
            } else {
                u.nlri = part.to_vec();
            }
            u.to_bytes(ctx)
        })
        .collect()
}

/// Builds the messages that withdraw `prefixes` (all of one family).
#[must_use]
pub fn pack_withdraw(family: Family, prefixes: &[IpNet], ctx: &DecodeContext) -> Vec<Vec<u8>> {
    chunk(prefixes, MAX_MESSAGE_LEN - HEADER_LEN - 4 - 10)
        .into_iter()
        .map(|part| {
            let mut u = Update::default();
            if family == Family::Ipv4 {
                u.withdrawn = part.to_vec();
            } else {
                u.mp_unreach = Some(MpUnreach {
                    family,
                    withdrawn: part.to_vec(),
                });
            }
            u.to_bytes(ctx)
        })
        .collect()
}

fn unspecified(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        Family::Ipv6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

fn chunk(prefixes: &[IpNet], room: usize) -> Vec<&[IpNet]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut used = 0;
    for (i, p) in prefixes.iter().enumerate() {
        let size = nlri::prefix_size(p);
        if used + size > room && i > start {
            out.push(&prefixes[start..i]);
            start = i;
            used = 0;
        }
        used += size;
    }
    if start < prefixes.len() {
        out.push(&prefixes[start..]);
    }
    out
}

fn prefixes(buf: &[u8]) -> Result<Vec<IpNet>, MessageError> {
    nlri::parse_prefixes(buf, Family::Ipv4).map_err(|e| {
        let reason = match e {
            PrefixError::TooLong(len) => format!("IPv4 prefix length {len}"),
            PrefixError::Truncated => "IPv4 prefix truncated".into(),
        };
        MessageError::new(reason, code::UPDATE, code::INVALID_NETWORK, &[])
    })
}

/// RFC 7606 3(d): a missing well-known mandatory attribute is treat-as-withdraw.
fn check_mandatory(update: &mut Update, seen: &[u8], ctx: &DecodeContext) {
    let announces =
        !update.nlri.is_empty() || update.mp_reach.as_ref().is_some_and(|m| !m.nlri.is_empty());
    if !announces {
        return;
    }
    let mut required = vec![t::ORIGIN, t::AS_PATH];
    if !update.nlri.is_empty() {
        required.push(t::NEXT_HOP);
    }
    if !ctx.ebgp {
        required.push(t::LOCAL_PREF);
    }
    for type_code in required {
        // An attribute that was present but malformed already has its issue.
        if !seen.contains(&type_code) {
            update.issues.push(AttrIssue {
                type_code,
                action: ErrorAction::TreatAsWithdraw,
                would_notify: Notification::with_data(
                    code::UPDATE,
                    code::MISSING_WELL_KNOWN,
                    &[type_code],
                ),
                reason: format!("well-known attribute {type_code} missing"),
            });
        }
    }
}
