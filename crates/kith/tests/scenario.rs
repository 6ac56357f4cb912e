//! The scenario's lab (DESIGN.md): home and remi routers running `kith run` with their
//! configs, two ISPs, a NAS behind each router. With plain static routes through the
//! ISPs (no tunnels yet), the two NAS reach each other. Needs root.

use std::path::Path;
use std::time::Duration;

use kith_lab::{Lab, Topology};

const KITH: &str = env!("CARGO_BIN_EXE_kith");

#[test]
fn nas_home_and_nas_remi_reach_each_other() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (CAP_NET_ADMIN) to create network namespaces; run it as root"
    );
    let topology = Topology::scenario().expect("embedded scenario");
    let lab = Lab::from_topology(&topology, Path::new(KITH)).expect("build the scenario lab");
    let logs = || {
        format!(
            "--- home ---\n{}\n--- remi ---\n{}",
            lab.log("home", "kith"),
            lab.log("remi", "kith")
        )
    };
    let wait = Duration::from_secs(60);
    lab.wait_ping("nas-home", "192.168.42.42", wait)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    lab.wait_ping("nas-remi", "192.168.0.2", wait)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));

    // kith run set the addresses and routed installed the static routes, distance-ordered.
    let addrs = lab.exec_ok("home", &["ip", "-4", "-o", "addr"]).unwrap();
    for a in ["203.0.113.10/24", "198.51.100.10/24", "192.168.0.254/24"] {
        assert!(addrs.contains(a), "home lacks {a}: {addrs}");
    }
    let routes = lab
        .exec_ok("home", &["ip", "route", "show", "192.168.42.0/24"])
        .unwrap();
    assert!(
        routes.contains("proto static metric 161") && routes.contains("proto static metric 321"),
        "distance 10 and 20 routes: {routes}\n{}",
        logs()
    );
    // The path in use is the distance-10 one.
    let get = lab
        .exec_ok("home", &["ip", "route", "get", "192.168.42.42"])
        .unwrap();
    assert!(get.contains("via 203.0.113.1"), "{get}");
    let tr = lab
        .exec_ok("remi", &["ip", "route", "get", "192.168.0.2"])
        .unwrap();
    assert!(tr.contains("via 192.0.2.1"), "{tr}");
}

/// The main job of the README, as a user runs it without watching: `kith lab up --check`
/// builds the embedded scenario, runs its checks, removes the lab, and exits 0.
#[test]
fn lab_up_check_runs_the_demo_and_cleans_up() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (CAP_NET_ADMIN) to create network namespaces; run it as root"
    );
    let name = format!("kd{}", std::process::id());
    let out = std::process::Command::new(KITH)
        .args(["lab", "up", "--check", "--name", &name])
        .output()
        .expect("kith lab up --check");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("[ ok ] NAS 192.168.0.2 reaches NAS 192.168.42.42"),
        "{stdout}"
    );
    assert!(
        stdout.contains("[ ok ] NAS 192.168.42.42 reaches NAS 192.168.0.2"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("lab {name} removed")), "{stdout}");
    let netns = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    let left = String::from_utf8_lossy(&netns.stdout);
    assert!(
        !left.lines().any(|l| l.starts_with(&format!("{name}-"))),
        "namespaces left: {left}"
    );
}
