//! The scenario's step 2 (DESIGN.md) with `kith bgpd` over plain veth links: home
//! (AS 64514) and remi (AS 64513) with the examples' BGP config, two links standing
//! for the tunnels (172.16.10.0/30 "ISP1", 172.16.11.0/30 "ISP2"). Needs root.

mod bgp_support;

use std::time::Duration;

use bgp_support::*;
use kith_lab::{Lab, NodeKind};

const HOME: &str = include_str!("../../../examples/home.yaml");
const REMI: &str = include_str!("../../../examples/remi.yaml");

fn via(lab: &Lab, node: &str, dst: &str) -> String {
    kernel_route(lab, node, dst)
}

#[test]
fn scenario_step2_bgp_over_two_links() {
    require(&["ip", "ping"]);
    let lab = Lab::new("kith-bgp scenario").expect("lab");
    for (n, k) in [
        ("home", NodeKind::Router),
        ("remi", NodeKind::Router),
        ("nas-home", NodeKind::Host),
        ("nas-remi", NodeKind::Host),
    ] {
        lab.add_node(n, k).unwrap();
    }
    let net = |s: &str| Some(s.parse().unwrap());
    lab.add_link(
        ("home", "isp1", net("172.16.10.1/30")),
        ("remi", "isp1", net("172.16.10.2/30")),
    )
    .unwrap();
    lab.add_link(
        ("home", "isp2", net("172.16.11.1/30")),
        ("remi", "isp2", net("172.16.11.2/30")),
    )
    .unwrap();
    lab.add_link(
        ("home", "lan", net("192.168.0.1/24")),
        ("nas-home", "eth0", net("192.168.0.2/24")),
    )
    .unwrap();
    lab.add_link(
        ("remi", "lan", net("192.168.42.1/24")),
        ("nas-remi", "eth0", net("192.168.42.42/24")),
    )
    .unwrap();
    lab.exec_ok(
        "nas-home",
        &["ip", "route", "add", "default", "via", "192.168.0.1"],
    )
    .unwrap();
    lab.exec_ok(
        "nas-remi",
        &["ip", "route", "add", "default", "via", "192.168.42.1"],
    )
    .unwrap();

    let home_dir = start_kith(&lab, "home", HOME);
    let remi_dir = start_kith(&lab, "remi", REMI);
    let logs = || {
        format!(
            "--- home ---\n{}\n--- remi ---\n{}",
            lab.log("home", "bgpd"),
            lab.log("remi", "bgpd")
        )
    };
    wait_established(&lab, &home_dir, &["remi-isp1", "remi-isp2"], &logs);
    wait_established(&lab, &remi_dir, &["home-isp1", "home-isp2"], &logs);

    // The ISP1 path is active because of local-pref 200 (the jump chain).
    lab.wait_until("192.168.42.0/24 via ISP1 at home", WAIT, || {
        via(&lab, "home", "192.168.42.0/24").contains("via 172.16.10.2")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    lab.wait_until("192.168.0.0/24 at remi", WAIT, || {
        via(&lab, "remi", "192.168.0.0/24").contains("proto bgp")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    let s = status(&home_dir).unwrap();
    let active = s
        .routes
        .iter()
        .find(|r| r.dst_address == "192.168.42.0/24" && r.active)
        .unwrap();
    assert_eq!(
        (active.received_from.as_str(), active.local_pref),
        ("remi-isp1", Some(200))
    );
    lab.wait_ping("nas-home", "192.168.42.42", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    lab.wait_ping("nas-remi", "192.168.0.2", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));

    // Remi adds two LANs: 192.168.43.0/24 (inside home's filter) and 192.168.200.0/24.
    lab.add_node("nas-remi2", NodeKind::Host).unwrap();
    lab.add_link(
        ("remi", "lan2", net("192.168.43.1/24")),
        ("nas-remi2", "eth0", net("192.168.43.2/24")),
    )
    .unwrap();
    lab.exec_ok(
        "nas-remi2",
        &["ip", "route", "add", "default", "via", "192.168.43.1"],
    )
    .unwrap();
    lab.exec_ok(
        "remi",
        &["ip", "route", "add", "blackhole", "192.168.200.0/24"],
    )
    .unwrap();
    let remi2 = REMI.replace(
        "      - network: 192.168.42.0/24\n        synchronize: yes\n",
        "      - network: 192.168.42.0/24\n        synchronize: yes\n      - network: 192.168.43.0/24\n      - network: 192.168.200.0/24\n",
    );
    assert_ne!(remi2, REMI, "examples/remi.yaml changed shape");
    reload_kith(&lab, "remi", &remi_dir, &remi2);
    // Home, untouched, gets 192.168.43.0/24 and reaches it.
    lab.wait_until("192.168.43.0/24 at home", WAIT, || {
        via(&lab, "home", "192.168.43.0/24").contains("via 172.16.10.2")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    lab.wait_ping("nas-home", "192.168.43.2", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    // 192.168.200.0/24 is refused by remi-in as written, and shown as filtered.
    lab.wait_until("192.168.200.0/24 filtered at home", WAIT, || {
        status(&home_dir).is_some_and(|s| {
            s.routes
                .iter()
                .any(|r| r.dst_address == "192.168.200.0/24" && r.status.starts_with("filtered"))
        })
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    assert!(!via(&lab, "home", "192.168.200.0/24").contains("proto bgp"));
    // Widening the filter brings it in without a session reset.
    let count = |n: &str| {
        status(&home_dir)
            .and_then(|s| peer(&s, n))
            .map(|p| p.established_count)
    };
    let before = (count("remi-isp1"), count("remi-isp2"));
    let home2 = HOME.replace(
        "    - chain: remi-in\n      action: discard\n",
        "    - chain: remi-in\n      prefix: 192.168.200.0/24\n      action: accept\n    - chain: remi-in\n      action: discard\n",
    );
    assert_ne!(home2, HOME, "examples/home.yaml changed shape");
    reload_kith(&lab, "home", &home_dir, &home2);
    lab.wait_until("192.168.200.0/24 at home", WAIT, || {
        via(&lab, "home", "192.168.200.0/24").contains("via 172.16.10.2")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    assert_eq!(
        (count("remi-isp1"), count("remi-isp2")),
        before,
        "no session reset"
    );

    // Cutting ISP1 moves traffic to ISP2 at once (fast fallover: carrier loss, not the
    // 180 s hold time); restoring it moves it back.
    lab.set_link_up("remi", "isp1", false).unwrap();
    lab.wait_until("192.168.42.0/24 via ISP2", Duration::from_secs(30), || {
        via(&lab, "home", "192.168.42.0/24").contains("via 172.16.11.2")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    lab.wait_ping("nas-home", "192.168.42.42", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    lab.set_link_up("remi", "isp1", true).unwrap();
    lab.wait_until("192.168.42.0/24 back via ISP1", WAIT, || {
        via(&lab, "home", "192.168.42.0/24").contains("via 172.16.10.2")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
}
