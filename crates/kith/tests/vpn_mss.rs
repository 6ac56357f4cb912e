//! The MSS clamp of the tunnels, end to end in the scenario's lab: `kith fw` (run by
//! `kith run`) derives from the `VPN-interco` profile's `change-tcp-mss` a clamp on
//! friend1-1 / friend1-2, and a TCP connection between the two NAS through tunnel 1
//! (MTU 1450) gets an MSS of at most 1410 on both ends, where a connection that
//! crosses no tunnel keeps 1460. Needs root, dnsmasq, python3 and nft.

use std::path::Path;
use std::time::Duration;

use kith_lab::{Lab, Topology};

const KITH: &str = env!("CARGO_BIN_EXE_kith");
const WAIT: Duration = Duration::from_secs(60);

/// Accepts one connection on port 5001 and prints `mss N` (TCP_MAXSEG of it).
const SERVER: &str = r#"
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 5001))
s.listen(1)
s.settimeout(30)
print("listening", flush=True)
c, _ = s.accept()
print("mss", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)
c.close()
"#;

/// Connects to argv[1]:5001 and prints `mss N`.
const CLIENT: &str = r#"
import socket, sys
c = socket.create_connection((sys.argv[1], 5001), timeout=10)
print("mss", c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG), flush=True)
c.close()
"#;

fn require() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (network namespaces, tun devices); run it as root"
    );
    for tool in ["dnsmasq", "python3", "nft", "ping"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`{tool}` is missing: install the Debian packages of ci/install-deps.sh"
        );
    }
}

/// The MSS both ends of a connection from `client` to `server` (at `addr`) see.
fn mss(lab: &Lab, server: &str, client: &str, addr: &str, tag: &str) -> (u32, u32) {
    let name = format!("mss-{tag}");
    lab.spawn(server, &name, &["python3", "-c", SERVER], &[])
        .expect("start listener");
    lab.wait_until("listener", WAIT, || {
        lab.log(server, &name).contains("listening")
    })
    .expect("listener up");
    let out = lab
        .exec_ok(client, &["python3", "-c", CLIENT, addr])
        .expect("connect");
    lab.wait_until("listener's mss", WAIT, || {
        lab.log(server, &name).contains("mss ")
    })
    .unwrap_or_else(|e| panic!("{e}: {}", lab.log(server, &name)));
    let parse = |s: &str| -> u32 {
        s.lines()
            .find_map(|l| l.strip_prefix("mss "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no mss in {s:?}"))
    };
    (parse(&lab.log(server, &name)), parse(&out))
}

#[test]
fn tunnel_tcp_syns_carry_the_clamped_mss() {
    require();
    let topology = Topology::scenario().expect("embedded scenario");
    let lab = Lab::from_topology(&topology, Path::new(KITH)).expect("build the scenario lab");
    let logs = || {
        format!(
            "--- home ---\n{}\n--- remi ---\n{}",
            lab.log("home", "kith"),
            lab.log("remi", "kith")
        )
    };
    lab.wait_ping("nas-remi", "192.168.0.2", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    // Tunnel 2 may come up first: wait until tunnel 1 carries the route (distance 10).
    lab.wait_until("home routes 192.168.42.42 via friend1-1", WAIT, || {
        lab.exec_ok("home", &["ip", "route", "get", "192.168.42.42"])
            .is_ok_and(|r| r.contains("dev friend1-1"))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));

    // The firewall compiler's clamp names the tunnels (declared by the accounts).
    let table = lab
        .exec_ok("home", &["nft", "list", "table", "inet", "kith"])
        .unwrap();
    let clamp = "tcp flags syn / syn,rst tcp option maxseg size set rt mtu";
    for dir in ["oifname", "iifname"] {
        let rule = format!("{dir} {{ \"friend1-1\", \"friend1-2\" }} {clamp}");
        assert!(table.contains(&rule), "no `{rule}` in:\n{table}");
    }
    let mtu = lab
        .exec_ok("home", &["ip", "-o", "link", "show", "friend1-1"])
        .unwrap();
    assert!(mtu.contains("mtu 1450"), "{mtu}");

    // Through tunnel 1 (MTU 1450): both ends see at most 1450 - 40 = 1410 (less the
    // timestamp option), clamped in the SYN and the SYN-ACK by the routers.
    let (at_server, at_client) = mss(&lab, "nas-home", "nas-remi", "192.168.0.2", "tunnel");
    assert!(
        at_server <= 1410 && at_client <= 1410,
        "MSS through the tunnel: {at_server} at nas-home, {at_client} at nas-remi"
    );
    // The control: NAS to its own router, no tunnel, no clamp: 1460 less timestamps.
    let (lan_server, _) = mss(&lab, "home", "nas-home", "192.168.0.254", "lan");
    assert!(
        lan_server > 1410,
        "MSS without a tunnel: {lan_server} (the clamp should not apply)"
    );
    println!(
        "MSS through friend1-1: {at_server} (nas-home) / {at_client} (nas-remi); on the LAN: {lan_server}"
    );
}
