//! Differential test: UPDATE messages generated at random, written by Kith's codec, read
//! by an independent implementation (`bgpkit-parser`) and by Kith's own decoder; all three
//! views must agree on every prefix and attribute. A disagreement means one of the two
//! codecs misreads the RFC, so the failing case (shrunk by proptest) is worth a look at
//! the bytes, not just at Kith.
//!
//! The other direction (bytes written by bgpkit, read by Kith) runs on the same cases.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgpkit_parser::models::{
    AsPathSegment, AsnLength, AttributeValue, BgpMessage, Community, NextHopAddress,
};
use bgpkit_parser::parser::bgp::parse_bgp_message;
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use kith_bgp::codec::{
    AsPath, DecodeContext, Family, Message, MpReach, MpUnreach, Origin, PathAttributes, Segment,
    SegmentKind, Update,
};
use proptest::prelude::*;

/// What both decoders must agree on, in one comparable shape.
#[derive(Debug, Default, PartialEq, Eq)]
struct View {
    withdrawn: Vec<IpNet>,
    nlri: Vec<IpNet>,
    origin: Option<u8>,
    as_path: Vec<(u8, Vec<u32>)>,
    next_hop: Option<IpAddr>,
    med: Option<u32>,
    local_pref: Option<u32>,
    atomic_aggregate: bool,
    aggregator: Option<(u32, Ipv4Addr)>,
    communities: Vec<u32>,
    large_communities: Vec<[u32; 3]>,
    originator_id: Option<Ipv4Addr>,
    cluster_list: Vec<u32>,
    mp_reach: Option<(IpAddr, Option<Ipv6Addr>, Vec<IpNet>)>,
    mp_unreach: Vec<IpNet>,
}

fn kith_view(u: &Update) -> View {
    let a = &u.attrs;
    let announces = !u.nlri.is_empty() || u.mp_reach.is_some();
    View {
        withdrawn: u.withdrawn.clone(),
        nlri: u.nlri.clone(),
        origin: announces.then_some(a.origin as u8),
        as_path: a
            .as_path
            .segments
            .iter()
            .map(|s| (s.kind as u8, s.asns.clone()))
            .collect(),
        next_hop: a.next_hop.map(IpAddr::V4),
        med: a.med,
        local_pref: a.local_pref,
        atomic_aggregate: a.atomic_aggregate,
        aggregator: a.aggregator,
        communities: a.communities.clone(),
        large_communities: a.large_communities.clone(),
        originator_id: a.originator_id,
        cluster_list: a.cluster_list.iter().map(|c| u32::from(*c)).collect(),
        mp_reach: u
            .mp_reach
            .as_ref()
            .map(|m| (m.next_hop, m.link_local, m.nlri.clone())),
        mp_unreach: u
            .mp_unreach
            .as_ref()
            .map(|m| m.withdrawn.clone())
            .unwrap_or_default(),
    }
}

fn community_bits(c: &Community) -> u32 {
    match c {
        Community::NoExport => 0xffff_ff01,
        Community::NoAdvertise => 0xffff_ff02,
        Community::NoExportSubConfed => 0xffff_ff03,
        Community::Custom(asn, low) => (asn.to_u32() << 16) | u32::from(*low),
    }
}

fn segment_view(s: &AsPathSegment) -> (u8, Vec<u32>) {
    let (kind, asns) = match s {
        AsPathSegment::AsSet(v) => (1, v),
        AsPathSegment::AsSequence(v) => (2, v),
        AsPathSegment::ConfedSequence(v) => (3, v),
        AsPathSegment::ConfedSet(v) => (4, v),
    };
    (kind, asns.iter().map(|a| a.to_u32()).collect())
}

fn bgpkit_view(bytes: &[u8]) -> View {
    let mut data = Bytes::copy_from_slice(bytes);
    let msg = parse_bgp_message(&mut data, false, &AsnLength::Bits32)
        .unwrap_or_else(|e| panic!("bgpkit refused Kith's bytes: {e}\n{bytes:02x?}"));
    let BgpMessage::Update(u) = msg else {
        panic!("bgpkit read something else than an UPDATE: {msg:?}");
    };
    let mut v = View {
        withdrawn: u.withdrawn_prefixes.iter().map(|p| p.prefix).collect(),
        nlri: u.announced_prefixes.iter().map(|p| p.prefix).collect(),
        ..View::default()
    };
    for value in u.attributes.iter() {
        match value {
            AttributeValue::Origin(o) => v.origin = Some(*o as u8),
            AttributeValue::AsPath { path, .. } => {
                v.as_path = path.segments.iter().map(segment_view).collect();
            }
            AttributeValue::NextHop(nh) => v.next_hop = Some(*nh),
            AttributeValue::MultiExitDiscriminator(m) => v.med = Some(*m),
            AttributeValue::LocalPreference(l) => v.local_pref = Some(*l),
            AttributeValue::AtomicAggregate => v.atomic_aggregate = true,
            AttributeValue::Aggregator { asn, id, .. } => v.aggregator = Some((asn.to_u32(), *id)),
            AttributeValue::Communities(cs) => {
                v.communities = cs.iter().map(community_bits).collect();
            }
            AttributeValue::LargeCommunities(ls) => {
                v.large_communities = ls
                    .iter()
                    .map(|l| [l.global_admin, l.local_data[0], l.local_data[1]])
                    .collect();
            }
            AttributeValue::OriginatorId(id) => v.originator_id = Some(*id),
            AttributeValue::Clusters(c) => v.cluster_list = c.clone(),
            AttributeValue::MpReachNlri(n) => {
                let (nh, ll) = match n.next_hop {
                    Some(NextHopAddress::Ipv4(a)) => (IpAddr::V4(a), None),
                    Some(NextHopAddress::Ipv6(a)) => (IpAddr::V6(a), None),
                    Some(NextHopAddress::Ipv6LinkLocal(g, l)) => (IpAddr::V6(g), Some(l)),
                    None => panic!("bgpkit: MP_REACH without a next hop"),
                };
                v.mp_reach = Some((nh, ll, n.prefixes.iter().map(|p| p.prefix).collect()));
            }
            AttributeValue::MpUnreachNlri(n) => {
                v.mp_unreach = n.prefixes.iter().map(|p| p.prefix).collect();
            }
            other => panic!("bgpkit read an attribute Kith did not write: {other:?}"),
        }
    }
    v
}

// Prefix lengths start at 1: bgpkit reads a leading length-0 prefix (the default route)
// as the sign of an ADD-PATH message sent without the capability and drops it, a
// heuristic of its own (Kith's handling of 0.0.0.0/0 is in codec_messages.rs).
fn v4_net() -> impl Strategy<Value = IpNet> {
    (any::<u32>(), 1u8..=32).prop_map(|(a, len)| {
        let net = Ipv4Net::new(Ipv4Addr::from(a), len).unwrap_or_default();
        IpNet::V4(net.trunc())
    })
}

fn v6_net() -> impl Strategy<Value = IpNet> {
    (any::<u128>(), 1u8..=128).prop_map(|(a, len)| {
        let net = Ipv6Net::new(Ipv6Addr::from(a), len).unwrap_or_default();
        IpNet::V6(net.trunc())
    })
}

fn segment() -> impl Strategy<Value = Segment> {
    let kind = prop_oneof![
        Just(SegmentKind::Sequence),
        Just(SegmentKind::Set),
        Just(SegmentKind::ConfedSequence),
        Just(SegmentKind::ConfedSet),
    ];
    (kind, prop::collection::vec(1u32.., 1..8)).prop_map(|(kind, asns)| Segment { kind, asns })
}

fn origin() -> impl Strategy<Value = Origin> {
    prop_oneof![
        Just(Origin::Igp),
        Just(Origin::Egp),
        Just(Origin::Incomplete)
    ]
}

prop_compose! {
    fn path_attributes()(
        origin in origin(),
        segments in prop::collection::vec(segment(), 0..4),
        med in prop::option::of(any::<u32>()),
        local_pref in any::<u32>(),
        atomic_aggregate in any::<bool>(),
        aggregator in prop::option::of((1u32.., any::<u32>())),
        communities in prop::collection::vec(any::<u32>(), 0..6),
        large_communities in prop::collection::vec(any::<[u32; 3]>(), 0..4),
        originator_id in prop::option::of(any::<u32>()),
        cluster_list in prop::collection::vec(any::<u32>(), 0..4),
    ) -> PathAttributes {
        PathAttributes {
            origin,
            as_path: AsPath {
                segments: segments.into(),
            },
            med,
            // The cases are iBGP (the default context), where LOCAL_PREF is mandatory.
            local_pref: Some(local_pref),
            atomic_aggregate,
            aggregator: aggregator.map(|(asn, id)| (asn, Ipv4Addr::from(id))),
            communities,
            large_communities,
            originator_id: originator_id.map(Ipv4Addr::from),
            cluster_list: cluster_list.into_iter().map(Ipv4Addr::from).collect(),
            ..PathAttributes::default()
        }
    }
}

prop_compose! {
    fn update()(
        withdrawn in prop::collection::vec(v4_net(), 0..20),
        mut attrs in path_attributes(),
        nlri in prop::collection::vec(v4_net(), 0..40),
        next_hop in any::<u32>(),
        v6 in prop::option::of((
            any::<u128>(),
            prop::option::of(any::<u128>()),
            prop::collection::vec(v6_net(), 1..20),
        )),
        v6_withdrawn in prop::collection::vec(v6_net(), 0..10),
    ) -> Update {
        if !nlri.is_empty() {
            // A unicast next hop (1.0.0.0 - 223.255.255.255): others are refused.
            attrs.next_hop = Some(Ipv4Addr::from(0x0100_0000 + next_hop % 0xdf00_0000));
        }
        // A global unicast next hop (2000::/3) and a link-local one (fe80::/64), as
        // senders give them (Kith reads a link-local address in the first place as the
        // link-local next hop, a deliberate reading of what some senders do).
        let mp_reach = v6.map(|(nh, ll, nlri)| MpReach {
            family: Family::Ipv6,
            next_hop: IpAddr::V6(Ipv6Addr::from((0x2000 << 112) | (nh >> 3))),
            link_local: ll.map(|ll| Ipv6Addr::from((0xfe80 << 112) | (ll >> 64))),
            nlri,
        });
        let announces = !nlri.is_empty() || mp_reach.is_some();
        Update {
            withdrawn,
            attrs: if announces { attrs } else { PathAttributes::default() },
            nlri,
            mp_reach,
            mp_unreach: (!v6_withdrawn.is_empty()).then_some(MpUnreach {
                family: Family::Ipv6,
                withdrawn: v6_withdrawn,
            }),
            issues: Vec::new(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Kith writes, bgpkit and Kith read: the same UPDATE for both.
    #[test]
    fn bgpkit_reads_what_kith_writes(u in update()) {
        let ctx = DecodeContext::default();
        let bytes = Message::Update(u.clone()).to_bytes(&ctx);
        prop_assume!(bytes.len() <= 4096);
        let expected = kith_view(&u);
        prop_assert_eq!(&bgpkit_view(&bytes), &expected, "bgpkit's view");
        let Ok(Message::Update(back)) = Message::parse(&bytes, &ctx) else {
            panic!("Kith refused its own bytes: {bytes:02x?}");
        };
        prop_assert!(back.issues.is_empty(), "issues on own bytes: {:?}", back.issues);
        prop_assert_eq!(&kith_view(&back), &expected, "Kith's view");
    }

    /// bgpkit writes (what it read of Kith's bytes), Kith reads: the same UPDATE again.
    #[test]
    fn kith_reads_what_bgpkit_writes(u in update()) {
        let ctx = DecodeContext::default();
        let ours = Message::Update(u.clone()).to_bytes(&ctx);
        prop_assume!(ours.len() <= 4096);
        let mut data = Bytes::from(ours);
        let theirs = parse_bgp_message(&mut data, false, &AsnLength::Bits32)
            .unwrap_or_else(|e| panic!("bgpkit refused Kith's bytes: {e}"))
            .encode(false, AsnLength::Bits32);
        // bgpkit 0.11's encoder leaves the 16-octet marker zero (it writes messages for
        // MRT files, where nobody checks it); a wire peer sends all ones.
        let mut theirs = theirs.to_vec();
        theirs[..16].fill(0xff);
        let back = match Message::parse(&theirs, &ctx) {
            Ok(Message::Update(back)) => back,
            other => panic!("Kith misread bgpkit's bytes: {other:?}\n{:02x?}", &theirs[..]),
        };
        prop_assert!(back.issues.is_empty(), "issues on bgpkit's bytes: {:?}", back.issues);
        prop_assert_eq!(kith_view(&back), kith_view(&u));
    }
}
