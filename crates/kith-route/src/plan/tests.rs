//! Route planning: config entries to kernel routes, ECMP, withdrawal.

use std::time::Duration;

use super::*;

fn load(text: &str) -> Config {
    match kith_config::load_str(text, "test.yaml") {
        Ok(loaded) => loaded.config,
        Err(diags) => panic!("config does not load: {diags:?}"),
    }
}

fn errors(text: &str) -> Vec<String> {
    match kith_config::load_str(text, "test.yaml") {
        Ok(_) => Vec::new(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

fn hop(gw: &str) -> ResolvedHop {
    ResolvedHop {
        gateway: Some(gw.parse().unwrap()),
        oif: None,
    }
}

#[test]
fn scenario_routes_get_the_distance_ordered_metric() {
    let config = load(
        "ip:\n  route:\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.10.2\n      distance: 10\n      check-gateway: ping\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.11.2\n      distance: 20\n      comment: backup\n    - dst-address: 10.9.0.0/16\n      type: blackhole\n    - dst-address: 10.8.0.0/16\n      gateway: 10.0.0.1\n      disabled: yes\n",
    );
    let (routes, notes) = static_routes(&config);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(routes.len(), 4);
    let first = routes[0].desired(&[hop("172.16.10.2")]).unwrap();
    assert_eq!(first.route.metric, 161);
    assert_eq!(first.route.protocol, PROTO_STATIC);
    assert_eq!(first.route.gateway, Some("172.16.10.2".parse().unwrap()));
    assert!(first.nexthops.is_empty());
    assert_eq!(routes[0].check, Some(ProbeSettings::ROUTEROS));
    assert_eq!(routes[1].check, None);
    assert_eq!(routes[1].comment.as_deref(), Some("backup"));
    assert_eq!(routes[1].metric(), 321);
    assert_eq!(routes[2].kind, RouteKind::Blackhole);
    assert!(routes[2].gateways.is_empty());
    let bh = routes[2].desired(&[]).unwrap();
    assert_eq!(bh.route.kind, RouteKind::Blackhole);
    assert!(routes[3].disabled);
    assert_eq!(
        routes[0].to_string(),
        "192.168.42.0/24 via 172.16.10.2 distance 10"
    );
    assert_eq!(routes[0].short(), "192.168.42.0/24 distance 10");
}

#[test]
fn unicast_route_without_usable_hop_is_withdrawn() {
    let config = load("ip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.1\n");
    let (routes, _) = static_routes(&config);
    assert_eq!(routes[0].desired(&[]), None);
}

#[test]
fn several_gateways_make_one_multipath_route() {
    let config = load(
        "ip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.1,10.0.0.2,tun1\n      distance: 5\n      check-gateway: ping\ninterface:\n  ethernet:\n    - name: tun1\n      default-name: eth9\n",
    );
    let (routes, notes) = static_routes(&config);
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("interface tun1 is used unchecked"),
        "{notes:?}"
    );
    let route = &routes[0];
    assert_eq!(
        route.gateways,
        vec![
            Via::Address("10.0.0.1".parse().unwrap()),
            Via::Address("10.0.0.2".parse().unwrap()),
            Via::Interface("tun1".into())
        ]
    );
    let probed: Vec<IpAddr> = route.probed().collect();
    assert_eq!(probed.len(), 2, "interfaces are not probed");
    let tun = ResolvedHop {
        gateway: None,
        oif: Some(9),
    };
    let all = route
        .desired(&[hop("10.0.0.1"), hop("10.0.0.2"), tun])
        .unwrap();
    assert_eq!(all.route.gateway, None);
    assert_eq!(all.route.oif, None);
    assert_eq!(all.route.metric, 81);
    assert_eq!(all.nexthops.len(), 3);
    assert_eq!(all.nexthops[2].oif, Some(9));
    assert!(all.nexthops.iter().all(|n| n.weight == 1));
    // One gateway down: the two others remain.
    let two = route.desired(&[hop("10.0.0.2"), tun]).unwrap();
    assert_eq!(two.nexthops.len(), 2);
    // Only one left: a plain single-path route.
    let one = route.desired(&[hop("10.0.0.2")]).unwrap();
    assert!(one.nexthops.is_empty());
    assert_eq!(one.route.gateway, Some("10.0.0.2".parse().unwrap()));
    // The same gateway twice is one next hop.
    let dup = route.desired(&[hop("10.0.0.2"), hop("10.0.0.2")]).unwrap();
    assert!(dup.nexthops.is_empty());
    assert_eq!(
        route.to_string(),
        "10.1.0.0/16 via 10.0.0.1,10.0.0.2,tun1 distance 5"
    );
}

#[test]
fn probe_timing_fields_have_routeros_defaults_and_are_validated() {
    let config = load(
        "ip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.1\n      check-gateway: ping\n      check-gateway-interval: 100ms\n      check-gateway-threshold: 3\n      check-gateway-recovery: 5\nipv6:\n  route:\n    - dst-address: 2001:db8::/32\n      gateway: fe80::1\n      check-gateway: ping\n",
    );
    let (routes, notes) = static_routes(&config);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(
        routes[0].check,
        Some(ProbeSettings {
            interval: Duration::from_millis(100),
            threshold: 3,
            recovery: 5
        })
    );
    assert_eq!(routes[1].check, Some(ProbeSettings::ROUTEROS));
    assert!(routes[1].dst.addr().is_ipv6());

    let bad = errors(
        "ip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.1\n      check-gateway: ping\n      check-gateway-interval: 50ms\n      check-gateway-threshold: 0\n      check-gateway-recovery: 0\n",
    );
    assert_eq!(bad.len(), 3, "{bad:?}");
    assert!(
        bad[0].contains("test.yaml:6:31")
            && bad[0].contains("check-gateway-interval must be between 100ms and 1h, not 50ms"),
        "{bad:?}"
    );
    assert!(
        bad[1].contains("test.yaml:7:32")
            && bad[1].contains("check-gateway-threshold must be at least 1"),
        "{bad:?}"
    );
    assert!(
        bad[2].contains("check-gateway-recovery must be at least 1"),
        "{bad:?}"
    );
}

#[test]
fn unsupported_entries_are_noted_not_dropped_silently() {
    let config = load(
        "ip:\n  route:\n    - dst-address: 10.2.0.0/16\n      gateway: 10.0.0.1\n      routing-table: vpn\n    - dst-address: 10.3.0.0/16\n      gateway: 10.0.0.1\n      routing-table: \"100\"\n    - dst-address: 10.4.0.0/16\n      gateway: 10.0.0.1\n      check-gateway: arp\n",
    );
    let (routes, notes) = static_routes(&config);
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].table, 100);
    assert_eq!(routes[0].short(), "10.3.0.0/16 distance 1 table 100");
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes[0].contains("routing-table `vpn` is not supported"));
    assert!(notes[1].contains("check-gateway=arp is not supported"));
    assert_eq!(routes[1].check, None);
}

#[test]
fn table_names() {
    assert_eq!(table_id("main"), Some(TABLE_MAIN));
    assert_eq!(table_id("1"), Some(1));
    assert_eq!(table_id("252"), Some(252));
    assert_eq!(table_id("0"), None);
    assert_eq!(table_id("254"), None, "main by name only");
    assert_eq!(table_id("255"), None, "local is the kernel's");
    assert_eq!(table_id("vpn"), None);
}
