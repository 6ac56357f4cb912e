//! The RIB engine: best path, in-filters, loops, export rules, withdraws, kernel
//! changes, filter changes without resets, graceful restart helper, prefix limit.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ipnet::IpNet;
use kith_bgp::codec::{
    AsPath, DecodeContext, Family, Message, Origin, PathAttributes, Update, community,
};
use kith_bgp::fsm::Negotiated;
use kith_bgp::policy::Chains;
use kith_bgp::rib::*;
use kith_config::NexthopChoice;

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

fn chains(yaml: &str) -> Chains {
    let loaded = kith_config::load_str(yaml, "t.yaml").unwrap_or_else(|d| panic!("{d:?}"));
    Chains::compile(&loaded.config.routing.filter).unwrap()
}

const HOME_FILTERS: &str = "
routing:
  filter:
    - chain: remi-in-isp1
      set-bgp-local-pref: 200
      action: jump
      jump-target: remi-in
    - chain: remi-in
      prefix: 192.168.42.0/23
      prefix-length: 23-32
      action: accept
    - chain: remi-in
      action: discard
";

fn instance() -> Instance {
    Instance {
        local_as: 64514,
        router_id: Ipv4Addr::new(192, 168, 0, 1),
        out_filter: None,
        client_to_client_reflection: true,
        ignore_as_path_len: false,
    }
}

fn spec(id: PeerId, name: &str, addr: &str, asn: u32, in_filter: Option<&str>) -> PeerSpec {
    PeerSpec {
        id,
        name: name.into(),
        address: addr.parse().unwrap(),
        remote_as: asn,
        in_filter: in_filter.map(Into::into),
        out_filter: None,
        rr_client: false,
        nexthop_choice: NexthopChoice::Default,
        max_prefix: None,
        default_originate: kith_config::DefaultOriginate::Never,
    }
}

fn session(peer_as: u32, peer_id: [u8; 4], local: &str) -> SessionInfo {
    SessionInfo {
        negotiated: Negotiated {
            peer_id: Ipv4Addr::from(peer_id),
            peer_as,
            hold_time: 90,
            keepalive: 30,
            four_octet_as: true,
            families: vec![Family::Ipv4, Family::Ipv6],
            route_refresh: true,
            peer_restart_time: None,
            ebgp: peer_as != 64514,
        },
        local_v4: Some(local.parse().unwrap()),
        local_v6: Some("2001:db8::1".parse().unwrap()),
        link_local: None,
    }
}

fn update(prefixes: &[&str], path: &[u32], nh: &str) -> Update {
    Update {
        attrs: PathAttributes {
            origin: Origin::Igp,
            as_path: AsPath::sequence(path),
            next_hop: Some(nh.parse().unwrap()),
            ..PathAttributes::default()
        },
        nlri: prefixes.iter().map(|p| net(p)).collect(),
        ..Update::default()
    }
}

fn withdraw(prefixes: &[&str]) -> Update {
    Update {
        withdrawn: prefixes.iter().map(|p| net(p)).collect(),
        ..Update::default()
    }
}

/// Decodes what `out` sends to `peer`.
fn sent(out: &Output, peer: PeerId) -> Vec<Update> {
    out.messages
        .iter()
        .filter(|(id, _)| *id == peer)
        .map(
            |(_, bytes)| match Message::parse(bytes, &DecodeContext::default()).unwrap() {
                Message::Update(u) => u,
                other => panic!("{other:?}"),
            },
        )
        .collect()
}

/// Home with remi over two sessions, both Established.
fn home() -> Rib {
    let mut rib = Rib::new(instance(), chains(HOME_FILTERS));
    rib.set_peer(spec(
        1,
        "remi-isp1",
        "172.16.10.2",
        64513,
        Some("remi-in-isp1"),
    ));
    rib.set_peer(spec(2, "remi-isp2", "172.16.11.2", 64513, Some("remi-in")));
    rib.peer_up(1, session(64513, [192, 168, 42, 1], "172.16.10.1"));
    rib.peer_up(2, session(64513, [192, 168, 42, 1], "172.16.11.1"));
    rib
}

#[test]
fn isp1_path_wins_by_local_pref() {
    let mut rib = home();
    let out = rib.receive(2, &update(&["192.168.42.0/24"], &[64513], "172.16.11.2"));
    assert_eq!(
        out.kernel,
        vec![KernelChange::Install {
            prefix: net("192.168.42.0/24"),
            gateway: "172.16.11.2".parse().unwrap(),
            link_local: None,
            distance: 20
        }]
    );
    let out = rib.receive(1, &update(&["192.168.42.0/24"], &[64513], "172.16.10.2"));
    assert_eq!(
        out.kernel,
        vec![KernelChange::Install {
            prefix: net("192.168.42.0/24"),
            gateway: "172.16.10.2".parse().unwrap(),
            link_local: None,
            distance: 20
        }]
    );
    let routes = rib.routes();
    let active: Vec<_> = routes.iter().filter(|r| r.active).collect();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0].received_from, "remi-isp1");
    assert_eq!(active[0].local_pref, Some(200));
    // Losing ISP1 falls back to ISP2.
    let out = rib.peer_down(1, false);
    assert_eq!(
        out.kernel,
        vec![KernelChange::Install {
            prefix: net("192.168.42.0/24"),
            gateway: "172.16.11.2".parse().unwrap(),
            link_local: None,
            distance: 20
        }]
    );
    let out = rib.receive(2, &withdraw(&["192.168.42.0/24"]));
    assert_eq!(
        out.kernel,
        vec![KernelChange::Remove {
            prefix: net("192.168.42.0/24")
        }]
    );
}

#[test]
fn filtered_route_is_shown_then_arrives_when_the_filter_is_widened() {
    let mut rib = home();
    let out = rib.receive(
        1,
        &update(
            &["192.168.43.0/24", "192.168.200.0/24"],
            &[64513],
            "172.16.10.2",
        ),
    );
    assert_eq!(out.kernel.len(), 1, "{:?}", out.kernel);
    let routes = rib.routes();
    let filtered = routes
        .iter()
        .find(|r| r.dst_address == "192.168.200.0/24")
        .unwrap();
    assert_eq!(
        filtered.status,
        RouteStatus::Filtered(FilterAction::Discard)
    );
    assert!(!filtered.active);
    assert_eq!(rib.counters(1), (2, 1, 0));
    let widened = chains(&HOME_FILTERS.replace(
        "    - chain: remi-in\n      action: discard",
        "    - chain: remi-in\n      prefix: 192.168.200.0/24\n      action: accept\n    - chain: remi-in\n      action: discard",
    ));
    let out = rib.reconfigure(instance(), widened);
    assert!(out.resets.is_empty());
    assert_eq!(
        out.kernel,
        vec![KernelChange::Install {
            prefix: net("192.168.200.0/24"),
            gateway: "172.16.10.2".parse().unwrap(),
            link_local: None,
            distance: 20
        }]
    );
    assert_eq!(rib.counters(1), (2, 2, 0));
}

#[test]
fn own_as_in_the_path_is_a_loop() {
    let mut rib = home();
    let out = rib.receive(
        1,
        &update(&["192.168.42.0/24"], &[64513, 64514], "172.16.10.2"),
    );
    assert!(out.kernel.is_empty());
    assert_eq!(rib.routes()[0].status, RouteStatus::Loop);
}

#[test]
fn treat_as_withdraw_removes_the_route() {
    let mut rib = home();
    rib.receive(1, &update(&["192.168.42.0/24"], &[64513], "172.16.10.2"));
    let bytes = {
        let mut u = update(&["192.168.42.0/24"], &[64513], "172.16.10.2");
        u.attrs.local_pref = Some(1);
        u.to_bytes(&DecodeContext::default())
    };
    // Corrupt ORIGIN's value (third attribute octet after the header and lengths).
    let mut bad = bytes.clone();
    let at = bad.windows(4).position(|w| w == [0x40, 1, 1, 0]).unwrap();
    bad[at + 3] = 7;
    let ctx = DecodeContext {
        ebgp: true,
        peer_as: Some(64513),
        ..DecodeContext::default()
    };
    let Message::Update(u) = Message::parse(&bad, &ctx).unwrap() else {
        panic!()
    };
    let out = rib.receive(1, &u);
    assert_eq!(
        out.kernel,
        vec![KernelChange::Remove {
            prefix: net("192.168.42.0/24")
        }]
    );
    assert_eq!(rib.routes()[0].status, RouteStatus::Malformed);
}

#[test]
fn network_is_announced_with_next_hop_self_and_own_as() {
    let mut rib = home();
    let out = rib.set_local(net("192.168.0.0/24"), true);
    assert!(out.kernel.is_empty(), "own routes are not installed");
    for (peer, nh) in [(1, "172.16.10.1"), (2, "172.16.11.1")] {
        let u = sent(&out, peer);
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].nlri, vec![net("192.168.0.0/24")]);
        assert_eq!(u[0].attrs.as_path.to_string(), "64514");
        assert_eq!(u[0].attrs.next_hop, Some(nh.parse().unwrap()));
        assert_eq!(u[0].attrs.local_pref, None, "no LOCAL_PREF to eBGP");
    }
    let out = rib.set_local(net("192.168.0.0/24"), false);
    assert_eq!(sent(&out, 1)[0].withdrawn, vec![net("192.168.0.0/24")]);
}

#[test]
fn export_rules_between_peers() {
    let mut rib = Rib::new(instance(), Chains::default());
    rib.set_peer(spec(1, "remi", "172.16.10.2", 64513, None));
    rib.set_peer(spec(2, "other", "10.0.2.2", 65000, None));
    rib.set_peer(spec(3, "ibgp", "10.0.3.2", 64514, None));
    rib.peer_up(1, session(64513, [1, 1, 1, 1], "172.16.10.1"));
    rib.peer_up(2, session(65000, [2, 2, 2, 2], "10.0.2.1"));
    rib.peer_up(3, session(64514, [3, 3, 3, 3], "10.0.3.1"));
    let mut u = update(&["192.168.42.0/24"], &[64513], "172.16.10.2");
    u.attrs.med = Some(5);
    u.attrs.communities = vec![(64513 << 16) | 7];
    u.attrs.large_communities = vec![[64513, 1, 2]];
    let out = rib.receive(1, &u);
    assert!(sent(&out, 1).is_empty(), "never back to the source");
    let to_ebgp = &sent(&out, 2)[0];
    assert_eq!(to_ebgp.attrs.as_path.to_string(), "64514 64513");
    assert_eq!(to_ebgp.attrs.next_hop, Some("10.0.2.1".parse().unwrap()));
    assert_eq!(to_ebgp.attrs.med, None, "MED stays in the neighbour AS");
    assert_eq!(
        to_ebgp.attrs.communities, u.attrs.communities,
        "communities carried"
    );
    assert_eq!(to_ebgp.attrs.large_communities, u.attrs.large_communities);
    let to_ibgp = &sent(&out, 3)[0];
    assert_eq!(to_ibgp.attrs.as_path.to_string(), "64513");
    assert_eq!(
        to_ibgp.attrs.next_hop,
        Some("172.16.10.2".parse().unwrap()),
        "iBGP next hop unchanged"
    );
    assert_eq!(to_ibgp.attrs.local_pref, Some(100));
    // iBGP-learnt routes are not passed to other iBGP peers without reflection.
    rib.set_peer(spec(4, "ibgp2", "10.0.4.2", 64514, None));
    rib.peer_up(4, session(64514, [4, 4, 4, 4], "10.0.4.1"));
    let mut from_ibgp = update(&["10.99.0.0/16"], &[65010], "10.0.3.9");
    from_ibgp.attrs.local_pref = Some(100);
    let out = rib.receive(3, &from_ibgp);
    assert!(sent(&out, 4).is_empty());
    assert_eq!(sent(&out, 2).len(), 1);
    // NO_EXPORT stays inside the AS.
    let mut no_export = update(&["192.168.44.0/24"], &[64513], "172.16.10.2");
    no_export.attrs.communities = vec![community::NO_EXPORT];
    let out = rib.receive(1, &no_export);
    assert!(sent(&out, 2).is_empty());
    assert_eq!(sent(&out, 3).len(), 1);
}

#[test]
fn route_reflection_to_clients() {
    let mut rib = Rib::new(instance(), Chains::default());
    let mut client = spec(1, "client", "10.0.1.2", 64514, None);
    client.rr_client = true;
    rib.set_peer(client);
    rib.set_peer(spec(2, "non-client", "10.0.2.2", 64514, None));
    rib.peer_up(1, session(64514, [1, 1, 1, 1], "10.0.1.1"));
    rib.peer_up(2, session(64514, [2, 2, 2, 2], "10.0.2.1"));
    let mut u = update(&["10.50.0.0/16"], &[], "10.0.2.2");
    u.attrs.local_pref = Some(100);
    let out = rib.receive(2, &u);
    let reflected = &sent(&out, 1)[0];
    assert_eq!(
        reflected.attrs.originator_id,
        Some(Ipv4Addr::new(2, 2, 2, 2))
    );
    assert_eq!(
        reflected.attrs.cluster_list,
        vec![Ipv4Addr::new(192, 168, 0, 1)]
    );
    // A reflected route that comes back with our cluster id is a loop.
    let mut back = u.clone();
    back.nlri = vec![net("10.51.0.0/16")];
    back.attrs.cluster_list = vec![Ipv4Addr::new(192, 168, 0, 1)];
    let out = rib.receive(1, &back);
    assert!(out.kernel.is_empty());
}

#[test]
fn out_filter_prepends_and_refuses() {
    let c = chains(
        "
routing:
  filter:
    - chain: out-aspath
      prefix: 192.168.0.0/24
      set-bgp-prepend: 3
      action: accept
    - chain: out-aspath
      action: discard
",
    );
    let mut rib = Rib::new(instance(), c);
    let mut s = spec(1, "remi", "172.16.10.2", 64513, None);
    s.out_filter = Some("out-aspath".into());
    rib.set_peer(s);
    rib.peer_up(1, session(64513, [1, 1, 1, 1], "172.16.10.1"));
    let out = rib.set_local(net("192.168.0.0/24"), true);
    assert_eq!(
        sent(&out, 1)[0].attrs.as_path.to_string(),
        "64514 64514 64514 64514"
    );
    let out = rib.set_local(net("192.168.1.0/24"), true);
    assert!(sent(&out, 1).is_empty());
}

#[test]
fn peer_up_sends_the_table_then_end_of_rib() {
    let mut rib = home();
    rib.set_local(net("192.168.0.0/24"), true);
    rib.set_peer(spec(3, "late", "10.0.3.2", 65000, None));
    let out = rib.peer_up(3, session(65000, [3, 3, 3, 3], "10.0.3.1"));
    let u = sent(&out, 3);
    assert_eq!(u.len(), 3);
    assert_eq!(u[0].nlri, vec![net("192.168.0.0/24")]);
    assert_eq!(u[1].end_of_rib(), Some(Family::Ipv4));
    assert_eq!(u[2].end_of_rib(), Some(Family::Ipv6));
    // Route refresh sends it again.
    let out = rib.refresh(3, Family::Ipv4);
    assert_eq!(sent(&out, 3).len(), 1);
}

#[test]
fn ipv6_routes_with_mp_reach() {
    let mut rib = home();
    let mut u = Update::default();
    u.attrs.as_path = AsPath::sequence(&[64513]);
    u.mp_reach = Some(kith_bgp::codec::MpReach {
        family: Family::Ipv6,
        next_hop: "2001:db8::2".parse().unwrap(),
        link_local: Some("fe80::2".parse().unwrap()),
        nlri: vec![net("2001:db8:42::/48")],
    });
    // Home's filter only admits 192.168.42.0/23: the IPv6 route is filtered on isp2...
    let out = rib.receive(2, &u);
    assert!(out.kernel.is_empty());
    // ...and accepted from a peer without filter.
    rib.set_peer(spec(3, "v6", "2001:db8::2", 65000, None));
    rib.peer_up(3, session(65000, [3, 3, 3, 3], "10.0.3.1"));
    let out = rib.receive(3, &u);
    assert_eq!(
        out.kernel,
        vec![KernelChange::Install {
            prefix: net("2001:db8:42::/48"),
            gateway: "2001:db8::2".parse().unwrap(),
            link_local: Some("fe80::2".parse().unwrap()),
            distance: 20
        }]
    );
}

#[test]
fn graceful_restart_keeps_stale_routes_until_end_of_rib() {
    let mut rib = home();
    rib.receive(
        1,
        &update(
            &["192.168.42.0/24", "192.168.43.0/24"],
            &[64513],
            "172.16.10.2",
        ),
    );
    let out = rib.peer_down(1, true);
    assert!(out.kernel.is_empty(), "kept while the peer restarts");
    rib.peer_up(1, session(64513, [192, 168, 42, 1], "172.16.10.1"));
    rib.receive(1, &update(&["192.168.42.0/24"], &[64513], "172.16.10.2"));
    let out = rib.receive(1, &Update::end_of_rib_marker(Family::Ipv4));
    assert_eq!(
        out.kernel,
        vec![KernelChange::Remove {
            prefix: net("192.168.43.0/24")
        }]
    );
}

#[test]
fn prefix_limit_resets_the_session() {
    let mut rib = Rib::new(instance(), Chains::default());
    let mut s = spec(1, "remi", "172.16.10.2", 64513, None);
    s.max_prefix = Some(1);
    rib.set_peer(s);
    rib.peer_up(1, session(64513, [1, 1, 1, 1], "172.16.10.1"));
    let out = rib.receive(
        1,
        &update(&["10.0.0.0/24", "10.0.1.0/24"], &[64513], "172.16.10.2"),
    );
    assert_eq!(out.resets.len(), 1);
    assert_eq!((out.resets[0].1.code, out.resets[0].1.subcode), (6, 1));
}

#[test]
fn set_distance_changes_the_kernel_metric() {
    let c = chains(
        "
routing:
  filter:
    - chain: in
      set-distance: 30
",
    );
    let mut rib = Rib::new(instance(), c);
    rib.set_peer(spec(1, "remi", "172.16.10.2", 64513, Some("in")));
    rib.peer_up(1, session(64513, [1, 1, 1, 1], "172.16.10.1"));
    let out = rib.receive(1, &update(&["10.0.0.0/24"], &[64513], "172.16.10.2"));
    assert!(matches!(
        out.kernel[0],
        KernelChange::Install { distance: 30, .. }
    ));
}

fn path(
    lp: Option<u32>,
    as_path: &[u32],
    origin: Origin,
    med: Option<u32>,
    ebgp: bool,
    id: u8,
    addr: &str,
) -> Path {
    Path {
        from: Arc::new(PathFrom {
            source: Source::Peer(u32::from(id)),
            peer_addr: addr.parse::<IpAddr>().unwrap(),
            peer_id: Ipv4Addr::new(id, id, id, id),
            ebgp,
            from_rr_client: false,
        }),
        attrs: Arc::new(PathAttributes {
            origin,
            as_path: AsPath::sequence(as_path),
            med,
            local_pref: lp,
            ..PathAttributes::default()
        }),
        hop: NextHop::new(addr.parse().unwrap(), None),
        distance: 20,
    }
}

#[test]
fn best_path_tie_breakers_in_order() {
    use std::cmp::Ordering::*;
    let cfg = BestConfig::default();
    let base = || path(None, &[1, 2], Origin::Igp, None, true, 5, "10.0.0.5");
    // Local preference beats a shorter path.
    let a = path(
        Some(200),
        &[1, 2, 3],
        Origin::Igp,
        None,
        true,
        5,
        "10.0.0.5",
    );
    assert_eq!(compare(&a, &base(), cfg), Less);
    // Shorter AS path, unless ignored.
    let a = path(None, &[1], Origin::Incomplete, None, true, 5, "10.0.0.5");
    assert_eq!(compare(&a, &base(), cfg), Less);
    assert_eq!(
        compare(
            &a,
            &base(),
            BestConfig {
                ignore_as_path_len: true
            }
        ),
        Greater
    );
    // Origin.
    let a = path(None, &[1, 2], Origin::Egp, None, true, 5, "10.0.0.5");
    assert_eq!(compare(&a, &base(), cfg), Greater);
    // MED, only between paths from the same neighbour AS.
    let a = path(None, &[1, 2], Origin::Igp, Some(10), true, 5, "10.0.0.5");
    let b = path(None, &[1, 3], Origin::Igp, Some(5), true, 5, "10.0.0.5");
    assert_eq!(compare(&a, &b, cfg), Greater);
    let c = path(None, &[9, 3], Origin::Igp, Some(5), true, 6, "10.0.0.6");
    assert_eq!(
        compare(&a, &c, cfg),
        Less,
        "MED ignored across ASes; router id decides"
    );
    // eBGP over iBGP.
    let a = path(None, &[1, 2], Origin::Igp, None, false, 1, "10.0.0.1");
    assert_eq!(compare(&a, &base(), cfg), Greater);
    // Router id, then peer address.
    let a = path(None, &[1, 2], Origin::Igp, None, true, 4, "10.0.0.9");
    assert_eq!(compare(&a, &base(), cfg), Less);
    let a = path(None, &[1, 2], Origin::Igp, None, true, 5, "10.0.0.4");
    assert_eq!(compare(&a, &base(), cfg), Less);
}
