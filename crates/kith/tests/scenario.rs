//! The scenario's lab (DESIGN.md): home and remi routers running `kith run` with their
//! configs, two ISPs (dnsmasq in isp1 answers `vpn` / `vpn2`), a NAS behind each router.
//! remi's two OpenVPN clients reach home's server by name, the static routes ride the
//! tunnels (distance 10 via friend1-1, 20 via friend1-2), and the two NAS reach each
//! other. Needs root and dnsmasq.

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
    // Both tunnels are up, with the accounts' /32 pairs.
    for a in [
        "friend1-1    inet 172.16.10.1 peer 172.16.10.2/32",
        "friend1-2    inet 172.16.11.1 peer 172.16.11.2/32",
    ] {
        lab.wait_until(&format!("home: {a}"), wait, || {
            lab.exec_ok("home", &["ip", "-4", "-o", "addr"])
                .is_ok_and(|s| s.contains(a))
        })
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    }
    for (node, dst) in [("home", "192.168.42.0/24"), ("remi", "192.168.0.0/24")] {
        lab.wait_until(
            &format!("{node}: routes to {dst} at distance 10 and 20"),
            wait,
            || {
                lab.exec_ok(node, &["ip", "route", "show", dst])
                    .is_ok_and(|r| {
                        r.contains("proto static metric 161")
                            && r.contains("proto static metric 321")
                    })
            },
        )
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    }
    let routes = lab
        .exec_ok("home", &["ip", "route", "show", "192.168.42.0/24"])
        .unwrap();
    assert!(
        routes.contains("via 172.16.10.2 dev friend1-1 proto static metric 161")
            && routes.contains("via 172.16.11.2 dev friend1-2 proto static metric 321"),
        "{routes}"
    );
    // The path in use is the distance-10 one: tunnel 1.
    let get = lab
        .exec_ok("home", &["ip", "route", "get", "192.168.42.42"])
        .unwrap();
    assert!(get.contains("via 172.16.10.2 dev friend1-1"), "{get}");
    let tr = lab
        .exec_ok("remi", &["ip", "route", "get", "192.168.0.2"])
        .unwrap();
    assert!(tr.contains("via 172.16.10.1 dev home-isp1"), "{tr}");
    // remi found home by name, through isp1's DNS server.
    let dns = lab.log("isp1", "dnsmasq");
    assert!(
        dns.contains("query[A] vpn.mydomain.com from 192.0.2.20")
            && dns.contains("query[A] vpn2.mydomain.com from 192.0.2.20"),
        "{dns}"
    );
    // The lab made the certificates; keys are not readable by others.
    let pki = lab.workdir().join("pki");
    for key in [
        "ca.key",
        "private/server.key",
        "private/friend1-1.key",
        "private/friend1-2.key",
    ] {
        use std::os::unix::fs::PermissionsExt;
        let path = pki.join(key);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{} is readable by others", path.display());
    }
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
