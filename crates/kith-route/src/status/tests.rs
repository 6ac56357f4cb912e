//! Status: flags from the kernel's routes and the probers, JSON shape, the printed table.

use std::time::{Duration, Instant};

use kith_net::{NextHop, PROTO_BGP, PROTO_KERNEL, Route, RouteInfo, RouteKind};

use super::*;
use crate::probe::{Action, ProbeKey, ProbeSettings, Probers};

fn statics() -> Vec<StaticRoute> {
    let text = "ip:\n  route:\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.10.2\n      distance: 10\n      check-gateway: ping\n      comment: tunnel 1\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.11.2\n      distance: 20\n      check-gateway: ping\n    - dst-address: 10.9.0.0/16\n      type: blackhole\n    - dst-address: 10.8.0.0/16\n      gateway: 10.0.0.1\n      disabled: yes\n";
    match kith_config::load_str(text, "t.yaml") {
        Ok(l) => crate::plan::static_routes(&l.config).0,
        Err(d) => panic!("{d:?}"),
    }
}

fn kernel(dst: &str, gw: Option<&str>, metric: u32, protocol: u8) -> RouteInfo {
    let mut route = Route::new(dst.parse().unwrap())
        .with_metric(metric)
        .with_protocol(protocol);
    route.gateway = gw.map(|g| g.parse().unwrap());
    route.oif = Some(2);
    RouteInfo {
        route,
        scope: 0,
        nexthops: Vec::new(),
        linkdown: false,
    }
}

fn key(gw: &str) -> ProbeKey {
    ProbeKey {
        gateway: gw.parse().unwrap(),
        settings: ProbeSettings::ROUTEROS,
    }
}

/// Probers where 172.16.10.2 is unreachable and 172.16.11.2 answered in 0.4 ms.
fn probers(t0: Instant) -> Probers {
    let mut p = Probers::default();
    p.set_wanted([key("172.16.10.2"), key("172.16.11.2")], t0);
    let sends = p.poll(t0);
    assert_eq!(sends.len(), 2);
    p.on_reply(key("172.16.11.2"), 1, t0 + Duration::from_micros(400));
    let s10 = Duration::from_secs(10);
    p.poll(t0 + s10);
    p.on_reply(key("172.16.11.2"), 2, t0 + s10 + Duration::from_micros(400));
    let events = p.poll(t0 + 2 * s10);
    assert!(events.contains(&(key("172.16.10.2"), Action::Unreachable { lost: 2 })));
    p
}

#[test]
fn failed_over_state_has_the_right_flags() {
    let t0 = Instant::now();
    let p = probers(t0);
    let names = [(key("172.16.11.2"), "eth1".to_string())].into();
    let gws = gateways(&p, &names, t0 + Duration::from_secs(21));
    assert_eq!(gws.len(), 2);
    let g11 = gws.iter().find(|g| g.gateway == "172.16.11.2").unwrap();
    assert_eq!(g11.state, "reachable");
    assert_eq!(g11.last_rtt_us, Some(400));
    assert_eq!(g11.interface.as_deref(), Some("eth1"));
    assert_eq!((g11.sent, g11.answered), (3, 2));
    let g10 = gws.iter().find(|g| g.gateway == "172.16.10.2").unwrap();
    assert_eq!(g10.state, "unreachable");
    assert_eq!(g10.lost_in_row, 2);
    assert_eq!(g10.for_ms, 1000);

    // The kernel holds the distance-20 route (the distance-10 one is withdrawn), a
    // connected route, a BGP route with a better distance for another prefix, and the
    // blackhole.
    let kernel_routes = vec![
        kernel("192.168.42.0/24", Some("172.16.11.2"), 321, PROTO_STATIC),
        kernel("172.16.11.0/24", None, 0, PROTO_KERNEL),
        kernel("192.168.43.0/24", Some("172.16.10.2"), 322, PROTO_BGP),
        RouteInfo {
            route: Route::new("10.9.0.0/16".parse().unwrap())
                .with_kind(RouteKind::Blackhole)
                .with_metric(17),
            scope: 0,
            nexthops: Vec::new(),
            linkdown: false,
        },
        kernel("fe80::/64", None, 256, PROTO_KERNEL),
    ];
    let status = build(&statics(), gws, &kernel_routes, &Interfaces::default());
    let flags: Vec<String> = status.routes.iter().map(|r| r.flags.letters()).collect();
    assert_eq!(
        flags,
        vec!["SU", "AS", "ASB", "XS", "ADC", "ADb"],
        "{status:#?}"
    );
    assert_eq!(status.routes[0].metric, None, "withdrawn");
    assert_eq!(status.routes[1].metric, Some(321));
    assert_eq!(status.routes[4].distance, 0);
    assert_eq!(status.routes[4].protocol, "connect");
    assert_eq!(status.routes[5].distance, 20);
    assert_eq!(status.routes[0].comment.as_deref(), Some("tunnel 1"));

    let json = serde_json::to_string(&status).unwrap();
    assert!(json.contains("\"static\":true"), "{json}");
    let back: Status = serde_json::from_str(&json).unwrap();
    assert_eq!(back, status);

    let table = render(&status);
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("Flags: X - disabled, A - active"),
        "{table}"
    );
    assert!(lines[1].starts_with("#  FLAGS  DST-ADDRESS"), "{table}");
    assert!(
        lines[2].contains("SU")
            && lines[2].contains("192.168.42.0/24")
            && lines[2].contains("172.16.10.2 unreachable (2 lost)"),
        "{table}"
    );
    assert!(
        lines[3].contains("AS")
            && lines[3].contains("172.16.11.2 reachable via eth1")
            && lines[3].ends_with("0.40ms"),
        "{table}"
    );
    assert!(lines[4].contains("blackhole"), "{table}");
    assert!(table.contains(";;; #0: tunnel 1"), "{table}");
}

#[test]
fn better_and_linkdown_routes_decide_active() {
    let routes = statics();
    let own = kernel("192.168.42.0/24", Some("172.16.10.2"), 161, PROTO_STATIC);
    let backup = kernel("192.168.42.0/24", Some("172.16.11.2"), 321, PROTO_STATIC);
    let s = build(
        &routes,
        Vec::new(),
        &[own.clone(), backup.clone()],
        &Interfaces::default(),
    );
    assert!(s.routes[0].flags.active);
    assert!(!s.routes[1].flags.active, "distance 20 is a backup");
    assert!(
        !s.routes[0].flags.unreachable,
        "not probed yet is not unreachable"
    );
    // The distance-10 route over a link without carrier is not used.
    let down = RouteInfo {
        linkdown: true,
        ..own.clone()
    };
    let s = build(
        &routes,
        Vec::new(),
        &[down, backup.clone()],
        &Interfaces::default(),
    );
    assert!(!s.routes[0].flags.active);
    assert!(s.routes[1].flags.active);
    // A multipath route with one live next hop is used.
    let hop = |gw: &str, linkdown| NextHop {
        gateway: Some(gw.parse().unwrap()),
        oif: Some(3),
        weight: 1,
        linkdown,
    };
    let multi = RouteInfo {
        nexthops: vec![hop("172.16.10.2", true), hop("172.16.10.3", false)],
        ..own
    };
    let s = build(
        &routes,
        Vec::new(),
        &[multi, backup],
        &Interfaces::default(),
    );
    assert!(s.routes[0].flags.active);
    assert!(render(&s).contains("not probed yet"));
}
