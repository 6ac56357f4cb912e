//! The scenario's step 1 over the real tunnels: home and remi route each other's LAN at
//! distance 10 via tunnel 1 (ISP1) and 20 via tunnel 2 (ISP2), `check-gateway=ping`.
//! Cutting home's ISP1 access link makes tunnel 1's gateway stop answering: both routers
//! withdraw the distance-10 route and the NAS keep talking over tunnel 2; restoring the
//! link brings tunnel 1 back into use. Probing is set to 200 ms here so the test is short
//! (`kith bench failover` measures the outage; this test only waits with generous bounds).
//! Needs root and dnsmasq.

use std::path::Path;
use std::time::Duration;

use kith_lab::{Lab, Topology};

const KITH: &str = env!("CARGO_BIN_EXE_kith");
const WAIT: Duration = Duration::from_secs(90);

/// The embedded scenario with faster gateway probing on the tunnel routes.
fn fast_probing_scenario() -> Topology {
    let mut topology = Topology::scenario().expect("embedded scenario");
    for node in &mut topology.nodes {
        if let Some(config) = &mut node.config {
            config.text = config.text.replace(
                "      check-gateway: ping\n",
                "      check-gateway: ping\n      check-gateway-interval: 200ms\n",
            );
        }
    }
    topology
}

fn uses(lab: &Lab, node: &str, dst: &str, dev: &str) -> bool {
    lab.exec_ok(node, &["ip", "route", "get", dst])
        .is_ok_and(|r| r.contains(&format!("dev {dev} ")))
}

#[test]
fn cutting_isp1_moves_the_nas_traffic_to_tunnel_2_and_back() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (CAP_NET_ADMIN) to create network namespaces; run it as root"
    );
    let lab = Lab::from_topology(&fast_probing_scenario(), Path::new(KITH))
        .expect("build the scenario lab");
    let logs = || {
        format!(
            "--- home ---\n{}\n--- remi ---\n{}",
            lab.log("home", "kith"),
            lab.log("remi", "kith")
        )
    };
    let check = |what: &str, cond: &dyn Fn() -> bool| {
        lab.wait_until(what, WAIT, cond)
            .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    };

    // Both tunnels up, tunnel 1 in use both ways.
    check("home routes remi's LAN via friend1-1", &|| {
        uses(&lab, "home", "192.168.42.42", "friend1-1")
    });
    check("remi routes home's LAN via home-isp1", &|| {
        uses(&lab, "remi", "192.168.0.2", "home-isp1")
    });
    check("tunnel 2 is up too", &|| {
        lab.exec_ok("home", &["ip", "-4", "-o", "addr", "show", "friend1-2"])
            .is_ok_and(|s| s.contains("172.16.11.1"))
    });
    lab.wait_ping("nas-home", "192.168.42.42", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));

    // Cut home's ISP1 access link on the ISP's side.
    lab.set_link_up("isp1", "home", false)
        .expect("cut isp1 <-> home");
    check("home withdrew the distance-10 route", &|| {
        uses(&lab, "home", "192.168.42.42", "friend1-2")
    });
    check("remi withdrew the distance-10 route", &|| {
        uses(&lab, "remi", "192.168.0.2", "home-isp2")
    });
    lab.wait_ping("nas-home", "192.168.42.42", WAIT)
        .unwrap_or_else(|e| panic!("NAS over tunnel 2: {e}\n{}", logs()));
    lab.wait_ping("nas-remi", "192.168.0.2", WAIT)
        .unwrap_or_else(|e| panic!("NAS over tunnel 2: {e}\n{}", logs()));
    let log = lab.log("home", "kith");
    assert!(
        log.contains("172.16.10.2 unreachable") && log.contains("withdrawn"),
        "routed says what happened: {log}"
    );

    // Restore: tunnel 1 answers again and takes the traffic back.
    lab.set_link_up("isp1", "home", true)
        .expect("restore isp1 <-> home");
    check("home uses tunnel 1 again", &|| {
        uses(&lab, "home", "192.168.42.42", "friend1-1")
    });
    check("remi uses tunnel 1 again", &|| {
        uses(&lab, "remi", "192.168.0.2", "home-isp1")
    });
    lab.wait_ping("nas-home", "192.168.42.42", WAIT)
        .unwrap_or_else(|e| panic!("NAS over tunnel 1 again: {e}\n{}", logs()));
}
