//! Topologies from YAML: errors, the embedded scenario, routers started by the lab.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use common::{netns_list, pid_alive, require_root};
use kith_lab::{
    BuildOptions, Error, Lab, NodeKind, SCENARIO_HOME_CONFIG, SCENARIO_REMI_CONFIG, Topology,
};

#[test]
fn yaml_errors_report_file_line_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "nodes:\n  - name: r\n    kind: router\n  - name: h\n    kind: host\n    gateway: 10.0.0.1\n",
    )
    .unwrap();
    let err = Topology::load(&path).unwrap_err();
    match &err {
        Error::Topology { line, column, .. } => assert_eq!((*line, *column), (6, 5), "{err}"),
        other => panic!("expected a located error, got {other:?}"),
    }
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!("{}:6:5: ", path.display())),
        "{shown}"
    );
    assert!(shown.contains("gateway"), "{shown}");

    std::fs::write(
        &path,
        "nodes:\n  - {name: r, kind: router}\nlinks:\n  - [r:eth0 10.0.0.1/33, r:eth1]\n",
    )
    .unwrap();
    let shown = Topology::load(&path).unwrap_err().to_string();
    assert!(
        shown.starts_with(&format!("{}:4:", path.display())),
        "{shown}"
    );
    assert!(shown.contains("10.0.0.1/33"), "{shown}");
}

#[test]
fn router_config_paths_are_relative_to_the_topology_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("cfg")).unwrap();
    std::fs::write(dir.path().join("cfg/r.yaml"), "system:\n  identity: r\n").unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(
        &path,
        "nodes:\n  - {name: r, kind: router, config: cfg/r.yaml}\n",
    )
    .unwrap();
    let t = Topology::load(&path).unwrap();
    let cfg = t.node("r").unwrap().config.as_ref().unwrap();
    assert_eq!(cfg.origin, "cfg/r.yaml");
    assert_eq!(cfg.text, "system:\n  identity: r\n");
}

/// The routers' addresses and routes of scenario/home.yaml and remi.yaml, set by
/// hand (no kith running): (node, interface, address).
const ROUTER_ADDRESSES: [(&str, &str, &str); 6] = [
    ("home", "eth0", "203.0.113.10/24"),
    ("home", "eth1", "198.51.100.10/24"),
    ("home", "eth2", "192.168.0.254/24"),
    ("remi", "eth0", "192.0.2.20/24"),
    ("remi", "eth1", "100.64.2.20/24"),
    ("remi", "eth2", "192.168.42.252/24"),
];

/// (node, destination, gateway, distance) as in the lab configs; metric =
/// distance * 16 + 1 (static), the design's encoding. (The routes to the other
/// LAN ride the tunnels, which need `kith run`: see crates/kith/tests/scenario.rs.)
const ROUTER_ROUTES: [(&str, &str, &str, u32); 4] = [
    ("home", "default", "203.0.113.1", 1),
    ("home", "default", "198.51.100.1", 2),
    ("remi", "default", "192.0.2.1", 1),
    ("remi", "default", "100.64.2.1", 2),
];

fn add_router_routes(lab: &Lab, node: &str) {
    for (n, dst, gw, distance) in ROUTER_ROUTES {
        if n == node {
            let metric = (distance * 16 + 1).to_string();
            lab.exec_ok(
                n,
                &["ip", "route", "replace", dst, "via", gw, "metric", &metric],
            )
            .unwrap();
        }
    }
}

#[test]
fn scenario_builds_and_the_isps_carry_the_wan_traffic() {
    require_root();
    let topology = Topology::scenario().unwrap();
    // The hand-set addresses are the ones of the lab configs.
    for (node, _, addr) in ROUTER_ADDRESSES {
        let config = if node == "home" {
            SCENARIO_HOME_CONFIG
        } else {
            SCENARIO_REMI_CONFIG
        };
        assert!(
            config.contains(&format!("address: {addr}")),
            "{addr} not in {node}'s config"
        );
    }
    for (node, dst, gw, distance) in ROUTER_ROUTES {
        let config = if node == "home" {
            SCENARIO_HOME_CONFIG
        } else {
            SCENARIO_REMI_CONFIG
        };
        let dst = if dst == "default" { "0.0.0.0/0" } else { dst };
        assert!(
            config.contains(&format!(
                "dst-address: {dst}\n      gateway: {gw}\n      distance: {distance}\n"
            )),
            "route {dst} via {gw} distance {distance} not in {node}'s config"
        );
    }

    let mut opts = BuildOptions::without_routers();
    opts.tag = "scenario_builds_and_the_isps_carry_the_wan_traffic".into();
    let lab = Lab::build(&topology, &opts).unwrap();
    assert_eq!(lab.nodes().len(), 6);
    assert_eq!(
        lab.state().processes.len(),
        0,
        "no process (no router, no dnsmasq) without start_routers"
    );
    assert!(
        !lab.workdir().join("pki").exists(),
        "no certificates without start_routers"
    );
    // The router configs are written anyway (0600), ready for a kith run by hand.
    let cfg = lab.workdir().join("home/config.yaml");
    assert_eq!(std::fs::read_to_string(&cfg).unwrap(), SCENARIO_HOME_CONFIG);
    assert_eq!(
        std::fs::metadata(&cfg).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Nothing reaches the routers before they have addresses.
    assert!(!lab.ping("isp1", "203.0.113.10", 1));

    for (node, ifname, addr) in ROUTER_ADDRESSES {
        lab.add_address(node, ifname, addr.parse().unwrap())
            .unwrap();
    }
    add_router_routes(&lab, "home");
    add_router_routes(&lab, "remi");

    // WAN to WAN over each ISP and across the ISPs' interconnect.
    for (from, dst) in [
        ("home", "192.0.2.20"),
        ("home", "100.64.2.20"),
        ("remi", "203.0.113.10"),
        ("remi", "198.51.100.10"),
    ] {
        lab.wait_ping(from, dst, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{from} -> {dst}: {e}"));
    }
    // The ISPs know nothing of the LANs: only the tunnels carry them.
    assert!(!lab.ping("nas-home", "192.168.42.42", 1));
    // The first path is ISP1 (the distance 1 default route).
    let trace = lab
        .exec_ok("home", &["ip", "route", "get", "192.0.2.20"])
        .unwrap();
    assert!(trace.contains("via 203.0.113.1 dev eth0"), "{trace}");

    // Cut home's ISP1 link: the ISP2 default route carries the traffic.
    lab.set_link_up("home", "eth0", false).unwrap();
    lab.wait_ping("home", "192.0.2.20", Duration::from_secs(10))
        .expect("failover to ISP2");
    let trace = lab
        .exec_ok("home", &["ip", "route", "get", "192.0.2.20"])
        .unwrap();
    assert!(trace.contains("via 198.51.100.1 dev eth1"), "{trace}");

    // Restore: the kernel dropped the routes over eth0 with the link; put them
    // back (what kith routed does) and ISP1 carries the traffic again.
    lab.set_link_up("home", "eth0", true).unwrap();
    add_router_routes(&lab, "home");
    lab.wait_ping("home", "192.0.2.20", Duration::from_secs(10))
        .unwrap();
    let trace = lab
        .exec_ok("home", &["ip", "route", "get", "192.0.2.20"])
        .unwrap();
    assert!(trace.contains("via 203.0.113.1 dev eth0"), "{trace}");
}

#[test]
fn from_topology_starts_kith_run_in_routers() {
    require_root();
    let dir = tempfile::tempdir().unwrap();
    // A stand-in for the kith binary: records its argv and config, then waits.
    let fake = dir.path().join("kith");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"argv: $*\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --config ] && cat \"$2\"; shift; done\necho ready\nexec sleep 600\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let topology = Topology::parse(
        "nodes:\n  - name: r\n    kind: router\n    config: |\n      system:\n        identity: r\n  - {name: bare, kind: router}\n  - {name: h, kind: host, commands: ['ip addr add 10.3.0.2/24 dev eth0']}\nlinks:\n  - [r:eth0 10.3.0.1/24, h:eth0]\n",
        "inline",
        None,
    )
    .unwrap();
    let lab = Lab::from_topology(&topology, &fake).unwrap();
    lab.wait_until("the fake kith to start", Duration::from_secs(10), || {
        lab.log("r", "kith").contains("ready")
    })
    .unwrap();
    let log = lab.log("r", "kith");
    let workdir = lab.workdir();
    let config = workdir.join("r/config.yaml");
    assert!(
        log.contains(&format!(
            "argv: run --config {} --run-dir {}",
            config.display(),
            workdir.join("r/run").display()
        )),
        "{log}"
    );
    assert!(log.contains("identity: r"), "{log}");
    assert_eq!(
        std::fs::metadata(&config).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A router without config runs nothing; host commands ran after the links.
    assert!(lab.pid("bare", "kith").is_none());
    assert!(lab.ping("h", "10.3.0.1", 1));
    assert_eq!(lab.nodes()[1], ("bare".to_owned(), NodeKind::Router));

    let pid = lab.pid("r", "kith").unwrap();
    let names = lab.namespaces();
    drop(lab);
    assert!(!pid_alive(pid.as_raw()));
    let listed = netns_list();
    assert!(names.iter().all(|n| !listed.contains(n)));
}

#[test]
fn a_failing_build_removes_what_it_made() {
    require_root();
    let topology = Topology::parse(
        "nodes:\n  - {name: a, kind: host, commands: ['exit 7']}\n  - {name: b, kind: host}\nlinks:\n  - [a:eth0, b:eth0]\n",
        "inline",
        None,
    )
    .unwrap();
    let before = netns_list();
    let err = Lab::build(&topology, &BuildOptions::without_routers()).unwrap_err();
    assert!(err.to_string().contains("exit 7"), "{err}");
    let after = netns_list();
    assert!(
        after
            .iter()
            .all(|n| before.contains(n) || !n.ends_with("-a")),
        "namespaces left: {after:?}"
    );
    // start_routers without a binary is refused before anything is made.
    let mut opts = BuildOptions::without_routers();
    opts.start_routers = true;
    assert!(Lab::build(&topology, &opts).is_err());
}
