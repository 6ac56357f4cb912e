//! The scenario's step 1 with the real `kith run` / `kith routed`: two routers, `home`
//! and `remi`, joined by two paths standing in for the tunnels (a bridge in a `wire`
//! namespace each, so cutting the far side leaves the near interface up and only the
//! gateway stops answering), static routes at distance 10 and 20 with
//! `check-gateway=ping`; failover and back, reinstall after a link flap, asymmetric
//! routing with strict rp_filter by default. Needs root and iproute2's `ip` and `ping`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kith_lab::{Lab, NodeKind};

const KITH: &str = env!("CARGO_BIN_EXE_kith");
const WAIT: Duration = Duration::from_secs(60);

/// Probe timing of the tests' routes: fast, so failover takes well under a second.
const PROBE: &str = "      check-gateway: ping\n      check-gateway-interval: 200ms\n      check-gateway-threshold: 2\n";

fn router_config(lan: &str, remote_lan: &str, gw1: &str, gw2: &str, d1: u8, d2: u8) -> String {
    format!(
        "interface:
  ethernet:
    - name: tunnel1
      default-name: t1
    - name: tunnel2
      default-name: t2
    - name: lan
      default-name: eth2
  list:
    add:
      - name: VPN
    member:
      - list: VPN
        interface: tunnel1
      - list: VPN
        interface: tunnel2
ip:
  address:
    - address: {a1}/24
      interface: tunnel1
    - address: {a2}/24
      interface: tunnel2
    - address: {lan}
      interface: lan
  route:
    - dst-address: {remote_lan}
      gateway: {gw1}
      distance: {d1}
{PROBE}      comment: tunnel 1
    - dst-address: {remote_lan}
      gateway: {gw2}
      distance: {d2}
{PROBE}      comment: tunnel 2
",
        a1 = own_address(gw1),
        a2 = own_address(gw2),
    )
}

/// 172.16.10.2 -> 172.16.10.1 and back: the router's own end of a path.
fn own_address(gateway: &str) -> String {
    match gateway.rsplit_once('.') {
        Some((net, "1")) => format!("{net}.2"),
        Some((net, _)) => format!("{net}.1"),
        None => panic!("not an IPv4 address: {gateway}"),
    }
}

fn require_tools() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (CAP_NET_ADMIN) to create network namespaces; run it as root (sudo ci/test.sh)"
    );
    for tool in ["ip", "ping"] {
        let found = std::process::Command::new(tool)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "this test needs `{tool}` (iproute2, iputils-ping) on PATH"
        );
    }
}

/// The lab: nas-home - home =(t1, t2)= remi - nas-remi, each path through a bridge in
/// `w1` / `w2`. `strict` sets net.ipv4.conf.all.rp_filter=1 on both routers first (as
/// most distributions do). `remi_swapped` gives remi distance 10 via tunnel 2.
fn lab(tag: &str, strict: bool, remi_swapped: bool) -> Lab {
    require_tools();
    let lab = Lab::new(tag).expect("create lab");
    for (node, kind) in [
        ("home", NodeKind::Router),
        ("remi", NodeKind::Router),
        ("w1", NodeKind::Host),
        ("w2", NodeKind::Host),
        ("nas-home", NodeKind::Host),
        ("nas-remi", NodeKind::Host),
    ] {
        lab.add_node(node, kind).expect("node");
    }
    let net = |s: &str| Some(s.parse().expect("prefix"));
    lab.add_link(("home", "t1", None), ("w1", "to-home", None))
        .expect("link");
    lab.add_link(("w1", "to-remi", None), ("remi", "t1", None))
        .expect("link");
    lab.add_link(("home", "t2", None), ("w2", "to-home", None))
        .expect("link");
    lab.add_link(("w2", "to-remi", None), ("remi", "t2", None))
        .expect("link");
    lab.add_link(
        ("home", "eth2", None),
        ("nas-home", "eth0", net("192.168.0.2/24")),
    )
    .expect("link");
    lab.add_link(
        ("remi", "eth2", None),
        ("nas-remi", "eth0", net("192.168.42.42/24")),
    )
    .expect("link");
    for w in ["w1", "w2"] {
        lab.sh(
            w,
            "ip link add br0 type bridge && ip link set to-home master br0 && ip link set to-remi master br0 && ip link set br0 up",
        )
        .expect("bridge");
    }
    lab.sh("nas-home", "ip route add default via 192.168.0.254")
        .expect("route");
    lab.sh("nas-remi", "ip route add default via 192.168.42.252")
        .expect("route");
    if strict {
        for r in ["home", "remi"] {
            lab.sh(r, "echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter")
                .expect("strict rp_filter");
        }
    }
    let home = router_config(
        "192.168.0.254/24",
        "192.168.42.0/24",
        "172.16.10.2",
        "172.16.11.2",
        10,
        20,
    );
    let (d1, d2) = if remi_swapped { (20, 10) } else { (10, 20) };
    let remi = router_config(
        "192.168.42.252/24",
        "192.168.0.0/24",
        "172.16.10.1",
        "172.16.11.1",
        d1,
        d2,
    );
    for (node, text) in [("home", home), ("remi", remi)] {
        let config = lab.write_router_config(node, &text).expect("config");
        lab.start_router(node, Path::new(KITH), &config, &[])
            .expect("start kith run");
    }
    lab
}

fn logs(lab: &Lab) -> String {
    format!(
        "--- home ---\n{}\n--- remi ---\n{}",
        lab.log("home", "kith"),
        lab.log("remi", "kith")
    )
}

fn routes(lab: &Lab, node: &str, dst: &str) -> String {
    lab.exec_ok(node, &["ip", "route", "show", dst])
        .unwrap_or_default()
}

fn path_to(lab: &Lab, node: &str, dst: &str) -> String {
    lab.exec_ok(node, &["ip", "route", "get", dst])
        .unwrap_or_default()
}

fn wait(lab: &Lab, what: &str, cond: impl FnMut() -> bool) {
    if let Err(err) = lab.wait_until(what, WAIT, cond) {
        panic!("{err}\n{}", logs(lab));
    }
}

fn wait_ping(lab: &Lab, from: &str, to: &str) {
    if let Err(err) = lab.wait_ping(from, to, WAIT) {
        panic!("{err}\n{}", logs(lab));
    }
}

/// Both routes of a router in the kernel, distance 10 in use.
fn wait_both_routes(lab: &Lab, node: &str, dst: &str) {
    wait(
        lab,
        &format!("{node}: routes to {dst} at metric 161 and 321"),
        || {
            let r = routes(lab, node, dst);
            r.contains("proto static metric 161") && r.contains("proto static metric 321")
        },
    );
}

fn run_dir(lab: &Lab, node: &str) -> PathBuf {
    lab.node_dir(node).expect("node dir").join("run")
}

fn route_print(lab: &Lab, node: &str) -> String {
    let out = std::process::Command::new(KITH)
        .args(["route", "print", "--run-dir"])
        .arg(run_dir(lab, node))
        .output()
        .expect("kith route print");
    assert!(
        out.status.success(),
        "kith route print: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        logs(lab)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line_with<'a>(table: &'a str, needle: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with `{needle}` in\n{table}"))
}

#[test]
fn nas_traffic_fails_over_to_distance_20_and_back() {
    let lab = lab("fo-cut", false, false);
    wait_both_routes(&lab, "home", "192.168.42.0/24");
    wait_both_routes(&lab, "remi", "192.168.0.0/24");
    wait_ping(&lab, "nas-home", "192.168.42.42");
    wait_ping(&lab, "nas-remi", "192.168.0.2");
    assert!(
        path_to(&lab, "home", "192.168.42.42").contains("via 172.16.10.2 dev t1"),
        "distance 10 in use"
    );
    wait(&lab, "home probes answered", || {
        route_print(&lab, "home").contains("172.16.10.2 reachable via t1")
    });
    let table = route_print(&lab, "home");
    let primary = line_with(&table, "172.16.10.2 reachable");
    assert!(
        primary.contains("AS") && primary.contains(" 10 "),
        "{table}"
    );
    assert!(primary.ends_with("ms"), "last probe RTT shown: {table}");
    let backup = line_with(&table, "172.16.11.2 reachable");
    assert!(!backup.contains('A'), "the backup is not active: {table}");
    assert!(table.contains(";;; #0: tunnel 1"), "{table}");

    // Cut path 1 on remi's side of the wire: home's t1 keeps its carrier, only the
    // gateway 172.16.10.2 stops answering.
    lab.set_link_up("w1", "to-remi", false).expect("cut");
    wait(&lab, "home withdraws the distance-10 route", || {
        let r = routes(&lab, "home", "192.168.42.0/24");
        !r.contains("metric 161") && r.contains("via 172.16.11.2 dev t2 proto static metric 321")
    });
    let t1 = lab.exec_ok("home", &["ip", "link", "show", "t1"]).unwrap();
    assert!(!t1.contains("NO-CARRIER"), "home's t1 stays up: {t1}");
    wait_ping(&lab, "nas-home", "192.168.42.42");
    wait_ping(&lab, "nas-remi", "192.168.0.2");
    assert!(path_to(&lab, "home", "192.168.42.42").contains("via 172.16.11.2 dev t2"));
    assert!(path_to(&lab, "remi", "192.168.0.2").contains("via 172.16.11.1 dev t2"));
    let log = lab.log("home", "kith");
    assert!(
        log.contains("gateway 172.16.10.2 unreachable (2 probes lost): route 192.168.42.0/24 distance 10 withdrawn"),
        "the change is logged in the user's words:\n{log}"
    );
    let table = route_print(&lab, "home");
    let primary = line_with(&table, "172.16.10.2 unreachable");
    assert!(primary.contains("SU") && !primary.contains('A'), "{table}");
    assert!(
        line_with(&table, "172.16.11.2 reachable").contains("AS"),
        "{table}"
    );

    // Restore: the distance-10 route comes back and carries the traffic again.
    lab.set_link_up("w1", "to-remi", true).expect("restore");
    wait_both_routes(&lab, "home", "192.168.42.0/24");
    wait_both_routes(&lab, "remi", "192.168.0.0/24");
    wait(&lab, "home uses path 1 again", || {
        path_to(&lab, "home", "192.168.42.42").contains("via 172.16.10.2 dev t1")
    });
    wait(&lab, "remi uses path 1 again", || {
        path_to(&lab, "remi", "192.168.0.2").contains("via 172.16.10.1 dev t1")
    });
    wait_ping(&lab, "nas-home", "192.168.42.42");
    wait_ping(&lab, "nas-remi", "192.168.0.2");
    let log = lab.log("home", "kith");
    assert!(
        log.contains("gateway 172.16.10.2 reachable again via t1 (1 probe answered, rtt ")
            && log.contains("route 192.168.42.0/24 distance 10 restored via 172.16.10.2"),
        "{log}"
    );
}

#[test]
fn routes_come_back_when_an_interface_comes_back() {
    let lab = lab("fo-flap", false, false);
    wait_both_routes(&lab, "home", "192.168.42.0/24");
    // Taking t1 down makes the kernel drop every route through it.
    lab.set_link_up("home", "t1", false).expect("down");
    wait(&lab, "the kernel dropped the distance-10 route", || {
        !routes(&lab, "home", "192.168.42.0/24").contains("metric 161")
    });
    wait_ping(&lab, "nas-home", "192.168.42.42");
    lab.set_link_up("home", "t1", true).expect("up");
    wait_both_routes(&lab, "home", "192.168.42.0/24");
    wait(&lab, "path 1 in use again", || {
        path_to(&lab, "home", "192.168.42.42").contains("via 172.16.10.2 dev t1")
    });
    wait_ping(&lab, "nas-home", "192.168.42.42");
}

fn counter(lab: &Lab, node: &str, ifname: &str, field: &str) -> u64 {
    let path = format!("/sys/class/net/{ifname}/statistics/{field}");
    lab.exec_ok(node, &["cat", &path])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("cannot read {path} in {node}"))
}

#[test]
fn swapped_distances_route_asymmetrically_and_traffic_flows_both_ways() {
    // Strict rp_filter everywhere, as most distributions ship: only routed's loose
    // setting on the tunnel interfaces lets the asymmetric traffic through.
    let lab = lab("fo-asym", true, true);
    wait_both_routes(&lab, "home", "192.168.42.0/24");
    wait_both_routes(&lab, "remi", "192.168.0.0/24");
    for node in ["home", "remi"] {
        for ifname in ["t1", "t2"] {
            let key = format!("/proc/sys/net/ipv4/conf/{ifname}/rp_filter");
            wait(
                &lab,
                &format!("{node}: rp_filter loose on {ifname}"),
                || {
                    lab.exec_ok(node, &["cat", &key])
                        .is_ok_and(|v| v.trim() == "2")
                },
            );
        }
        let lan = lab
            .exec_ok(node, &["cat", "/proc/sys/net/ipv4/conf/eth2/rp_filter"])
            .unwrap();
        assert_eq!(
            lan.trim(),
            "0",
            "{node}: the LAN is left alone (all=1 applies)"
        );
    }
    assert!(
        lab.log("home", "kith")
            .contains("rp_filter loose on tunnel1 (member of interface list VPN)")
    );
    // home sends through path 1, remi answers through path 2.
    assert!(path_to(&lab, "home", "192.168.42.42").contains("dev t1"));
    assert!(path_to(&lab, "remi", "192.168.0.2").contains("dev t2"));
    wait_ping(&lab, "nas-home", "192.168.42.42");
    wait_ping(&lab, "nas-remi", "192.168.0.2");

    let rx1 = counter(&lab, "remi", "t1", "rx_packets");
    let tx2 = counter(&lab, "remi", "t2", "tx_packets");
    assert!(lab.ping("nas-home", "192.168.42.42", 20), "{}", logs(&lab));
    assert!(
        counter(&lab, "remi", "t1", "rx_packets") >= rx1 + 20,
        "requests arrive on path 1"
    );
    assert!(
        counter(&lab, "remi", "t2", "tx_packets") >= tx2 + 20,
        "answers leave on path 2"
    );

    // The control: strict filtering on remi's t1 drops the asymmetric traffic.
    lab.sh("remi", "echo 1 > /proc/sys/net/ipv4/conf/t1/rp_filter")
        .expect("strict");
    assert!(
        !lab.ping("nas-home", "192.168.42.42", 3),
        "strict rp_filter must drop it, or this test proves nothing"
    );
    lab.sh("remi", "echo 2 > /proc/sys/net/ipv4/conf/t1/rp_filter")
        .expect("loose");
    wait_ping(&lab, "nas-home", "192.168.42.42");
}

#[test]
fn reload_swaps_distances_in_place() {
    let lab = lab("fo-reload", false, false);
    wait_both_routes(&lab, "home", "192.168.42.0/24");
    let swapped = router_config(
        "192.168.0.254/24",
        "192.168.42.0/24",
        "172.16.10.2",
        "172.16.11.2",
        20,
        10,
    );
    let config = lab.node_dir("home").expect("node dir").join("config.yaml");
    std::fs::write(&config, swapped).expect("write config");
    let out = std::process::Command::new(KITH)
        .args(["reload", "--run-dir"])
        .arg(run_dir(&lab, "home"))
        .output()
        .expect("kith reload");
    assert!(out.status.success(), "kith reload: {out:?}");
    wait(&lab, "distance 10 now via path 2", || {
        routes(&lab, "home", "192.168.42.0/24")
            .contains("via 172.16.11.2 dev t2 proto static metric 161")
    });
    wait(&lab, "distance 20 now via path 1", || {
        routes(&lab, "home", "192.168.42.0/24")
            .contains("via 172.16.10.2 dev t1 proto static metric 321")
    });
    assert!(path_to(&lab, "home", "192.168.42.42").contains("via 172.16.11.2 dev t2"));
    wait_ping(&lab, "nas-home", "192.168.42.42");
    let log = lab.log("home", "kith");
    assert!(log.contains("routed: config reloaded"), "{log}");
    assert_eq!(
        log.matches("started routed").count(),
        1,
        "routed applies a reload in place: {log}"
    );
}
