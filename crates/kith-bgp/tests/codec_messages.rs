//! Byte-level encode/decode tests, one or more per message type.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use kith_bgp::codec::*;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn header(len: u16, kind: u8) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&len.to_be_bytes());
    v.push(kind);
    v
}

#[test]
fn keepalive_bytes() {
    let ctx = DecodeContext::default();
    let bytes = Message::Keepalive.to_bytes(&ctx);
    assert_eq!(bytes, header(19, 4));
    assert_eq!(Message::parse(&bytes, &ctx).unwrap(), Message::Keepalive);
}

#[test]
fn open_bytes_with_every_capability() {
    let open = Open {
        my_as: AS_TRANS,
        hold_time: 180,
        bgp_id: Ipv4Addr::new(192, 0, 2, 1),
        capabilities: vec![
            Capability::Multiprotocol { afi: 1, safi: 1 },
            Capability::Multiprotocol { afi: 2, safi: 1 },
            Capability::RouteRefresh,
            Capability::FourOctetAs(4_200_000_001),
            Capability::GracefulRestart {
                restarting: false,
                restart_time: 120,
                families: vec![(1, 1, true)],
            },
        ],
    };
    let ctx = DecodeContext::default();
    let bytes = Message::Open(open.clone()).to_bytes(&ctx);
    let mut want = header(0, 1);
    want.extend_from_slice(&[4, 0x5b, 0xa0, 0, 180, 192, 0, 2, 1]);
    let params: Vec<u8> = [
        vec![2, 6, 1, 4, 0, 1, 0, 1],
        vec![2, 6, 1, 4, 0, 2, 0, 1],
        vec![2, 2, 2, 0],
        vec![2, 6, 65, 4, 0xfa, 0x56, 0xea, 0x01],
        vec![2, 8, 64, 6, 0, 120, 0, 1, 1, 0x80],
    ]
    .concat();
    want.push(params.len() as u8);
    want.extend_from_slice(&params);
    let len = want.len() as u16;
    want[16..18].copy_from_slice(&len.to_be_bytes());
    assert_eq!(bytes, want);
    let Message::Open(back) = Message::parse(&bytes, &ctx).unwrap() else {
        panic!("not an OPEN");
    };
    assert_eq!(back, open);
    assert_eq!(back.asn(), 4_200_000_001);
    assert_eq!(back.families(), vec![Family::Ipv4, Family::Ipv6]);
    assert!(back.route_refresh());
    assert_eq!(back.graceful_restart_time(), Some(120));
}

#[test]
fn open_without_capabilities_is_ipv4_two_octet() {
    let mut bytes = header(29, 1);
    bytes.extend_from_slice(&[4, 0xfc, 0x02, 0, 90, 10, 0, 0, 1, 0]);
    let Message::Open(open) = Message::parse(&bytes, &DecodeContext::default()).unwrap() else {
        panic!("not an OPEN");
    };
    assert_eq!(open.asn(), 64514);
    assert!(!open.four_octet_as());
    assert_eq!(open.families(), vec![Family::Ipv4]);
}

#[test]
fn notification_and_route_refresh_bytes() {
    let ctx = DecodeContext::default();
    let n = Message::Notification(Notification::with_data(6, 2, b"bye"));
    let bytes = n.to_bytes(&ctx);
    let mut want = header(24, 3);
    want.extend_from_slice(&[6, 2, b'b', b'y', b'e']);
    assert_eq!(bytes, want);
    assert_eq!(Message::parse(&bytes, &ctx).unwrap(), n);
    let rr = Message::route_refresh(Family::Ipv6);
    let bytes = rr.to_bytes(&ctx);
    let mut want = header(23, 5);
    want.extend_from_slice(&[0, 2, 0, 1]);
    assert_eq!(bytes, want);
    assert_eq!(Message::parse(&bytes, &ctx).unwrap(), rr);
}

fn sample_attrs() -> PathAttributes {
    PathAttributes {
        origin: Origin::Igp,
        as_path: AsPath::sequence(&[64513, 64512]),
        next_hop: Some(Ipv4Addr::new(172, 16, 10, 2)),
        med: Some(10),
        local_pref: Some(200),
        atomic_aggregate: true,
        aggregator: Some((64513, Ipv4Addr::new(10, 0, 0, 1))),
        communities: vec![(64513 << 16) | 42, community::NO_EXPORT],
        large_communities: vec![[64513, 1, 2]],
        originator_id: Some(Ipv4Addr::new(10, 0, 0, 9)),
        cluster_list: vec![Ipv4Addr::new(10, 0, 0, 8)],
        unknown: vec![RawAttribute {
            flags: FLAG_OPTIONAL | FLAG_TRANSITIVE,
            type_code: 99,
            value: vec![1, 2, 3],
        }],
    }
}

#[test]
fn update_ipv4_bytes_roundtrip() {
    let ctx = DecodeContext::default();
    let update = Update {
        withdrawn: vec![net("10.9.0.0/16")],
        attrs: sample_attrs(),
        nlri: vec![net("192.168.42.0/24"), net("192.168.43.0/24")],
        ..Update::default()
    };
    let bytes = update.to_bytes(&ctx);
    // Header, withdrawn length 3 and the prefix.
    assert_eq!(&bytes[16..19], &[0, bytes.len() as u8, 2]);
    assert_eq!(&bytes[19..24], &[0, 3, 16, 10, 9]);
    // ORIGIN first: flags transitive, type 1, length 1, IGP.
    assert_eq!(&bytes[26..30], &[0x40, 1, 1, 0]);
    // AS_PATH: one sequence of two 4-octet AS numbers.
    assert_eq!(
        &bytes[30..43],
        &[0x40, 2, 10, 2, 2, 0, 0, 0xfc, 1, 0, 0, 0xfc, 0]
    );
    // NLRI at the end.
    assert_eq!(
        &bytes[bytes.len() - 8..],
        &[24, 192, 168, 42, 24, 192, 168, 43]
    );
    let Message::Update(back) = Message::parse(&bytes, &ctx).unwrap() else {
        panic!("not an UPDATE");
    };
    let mut want = update.clone();
    // Unknown optional transitive attributes are passed on with the partial bit.
    want.attrs.unknown[0].flags |= FLAG_PARTIAL;
    assert_eq!(back, want);
    assert_eq!(back.error_action(), None);
}

#[test]
fn update_ipv6_mp_reach_with_link_local() {
    let ctx = DecodeContext::default();
    let mut attrs = sample_attrs();
    attrs.next_hop = None;
    let update = Update {
        attrs,
        mp_reach: Some(MpReach {
            family: Family::Ipv6,
            next_hop: IpAddr::V6("2001:db8::2".parse().unwrap()),
            link_local: Some("fe80::2".parse::<Ipv6Addr>().unwrap()),
            nlri: vec![net("2001:db8:42::/48")],
        }),
        mp_unreach: Some(MpUnreach {
            family: Family::Ipv6,
            withdrawn: vec![net("2001:db8:99::/48")],
        }),
        ..Update::default()
    };
    let bytes = update.to_bytes(&ctx);
    let Message::Update(back) = Message::parse(&bytes, &ctx).unwrap() else {
        panic!("not an UPDATE");
    };
    assert_eq!(back.mp_reach, update.mp_reach);
    assert_eq!(back.mp_unreach, update.mp_unreach);
    assert_eq!(
        back.next_hop(Family::Ipv6),
        Some((
            IpAddr::V6("2001:db8::2".parse().unwrap()),
            Some("fe80::2".parse().unwrap())
        ))
    );
    assert_eq!(back.announced().count(), 1);
    assert_eq!(back.withdrawn_all().count(), 1);
}

#[test]
fn two_octet_session_uses_as_trans_and_as4_path() {
    let ctx = DecodeContext {
        four_octet_as: false,
        ..DecodeContext::default()
    };
    let mut attrs = sample_attrs();
    attrs.as_path = AsPath::sequence(&[64513, 4_200_000_000]);
    attrs.aggregator = Some((4_200_000_000, Ipv4Addr::new(10, 0, 0, 1)));
    let update = Update {
        attrs: attrs.clone(),
        nlri: vec![net("192.168.42.0/24")],
        ..Update::default()
    };
    let bytes = update.to_bytes(&ctx);
    // AS_PATH in 2 octets with AS_TRANS.
    let path_at = bytes
        .windows(4)
        .position(|w| w == [0x40, 2, 6, 2])
        .expect("a 2-octet AS_PATH");
    assert_eq!(
        &bytes[path_at + 4..path_at + 9],
        &[2, 0xfc, 0x01, 0x5b, 0xa0]
    );
    let Message::Update(back) = Message::parse(&bytes, &ctx).unwrap() else {
        panic!("not an UPDATE");
    };
    // AS4_PATH and AS4_AGGREGATOR restore the real values.
    assert_eq!(back.attrs.as_path, attrs.as_path);
    assert_eq!(back.attrs.aggregator, attrs.aggregator);
}

#[test]
fn end_of_rib_markers() {
    let ctx = DecodeContext::default();
    for family in Family::ALL {
        let bytes = Update::end_of_rib_marker(family).to_bytes(&ctx);
        let Message::Update(back) = Message::parse(&bytes, &ctx).unwrap() else {
            panic!("not an UPDATE");
        };
        assert_eq!(back.end_of_rib(), Some(family));
    }
    assert_eq!(
        Update::end_of_rib_marker(Family::Ipv4).to_bytes(&ctx).len(),
        23
    );
}

#[test]
fn pack_splits_large_tables_under_4096_octets() {
    let ctx = DecodeContext::default();
    let prefixes: Vec<IpNet> = (0..3000u32)
        .map(|i| IpNet::new(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + (i << 8))), 24).unwrap())
        .collect();
    let attrs = sample_attrs();
    let msgs = pack(
        &attrs,
        Family::Ipv4,
        "172.16.10.1".parse().unwrap(),
        None,
        &prefixes,
        &ctx,
    );
    assert!(msgs.len() > 1);
    let mut seen = Vec::new();
    for m in &msgs {
        assert!(m.len() <= MAX_MESSAGE_LEN, "{} octets", m.len());
        let Message::Update(u) = Message::parse(m, &ctx).unwrap() else {
            panic!("not an UPDATE");
        };
        seen.extend(u.nlri);
    }
    assert_eq!(seen, prefixes);
    let v6: Vec<IpNet> = (0..2000u32)
        .map(|i| net(&format!("2001:db8:{i:x}::/48")))
        .collect();
    let msgs = pack(
        &attrs,
        Family::Ipv6,
        "2001:db8::1".parse().unwrap(),
        None,
        &v6,
        &ctx,
    );
    let mut seen = Vec::new();
    for m in &msgs {
        assert!(m.len() <= MAX_MESSAGE_LEN);
        let Message::Update(u) = Message::parse(m, &ctx).unwrap() else {
            panic!("not an UPDATE");
        };
        seen.extend(u.mp_reach.unwrap().nlri);
    }
    assert_eq!(seen, v6);
    let withdraws = pack_withdraw(Family::Ipv4, &prefixes, &ctx);
    let mut seen = Vec::new();
    for m in &withdraws {
        assert!(m.len() <= MAX_MESSAGE_LEN);
        let Message::Update(u) = Message::parse(m, &ctx).unwrap() else {
            panic!("not an UPDATE");
        };
        seen.extend(u.withdrawn);
    }
    assert_eq!(seen, prefixes);
}

#[test]
fn frame_len_reads_the_stream() {
    let bytes = Message::Keepalive.to_bytes(&DecodeContext::default());
    assert_eq!(frame_len(&bytes[..10]).unwrap(), None);
    assert_eq!(frame_len(&bytes).unwrap(), Some(19));
}
