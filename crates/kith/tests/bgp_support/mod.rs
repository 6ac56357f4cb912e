//! Shared by the BGP interop tests: a two-node lab (`k` runs `kith bgpd`, `p` runs the
//! peer under test), kith's config, status polling, kernel route checks. The tests need
//! root and the peer binaries; they FAIL with a clear message when one is missing.

#![allow(dead_code)]

pub mod frr;
pub mod speaker;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kith_bgp::status::{PeerStatus, Status};
use kith_lab::{Lab, NodeKind};

pub const KITH: &str = env!("CARGO_BIN_EXE_kith");
pub const WAIT: Duration = Duration::from_secs(60);

/// Panics unless we are root and every program in `tools` is installed.
pub fn require(tools: &[&str]) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the BGP interop tests need root (network namespaces); run them as root"
    );
    for tool in tools {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool} || test -x {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            found,
            "`{tool}` is missing: install the Debian packages of ci/install-deps.sh (bird2, frr, gobgpd)"
        );
    }
}

/// Two nodes joined by one link: k 10.0.0.1/24 2001:db8:ab::1/64, p .2 / ::2.
pub fn pair() -> Lab {
    let lab = Lab::new("kith-bgp interop").expect("lab");
    lab.add_node("k", NodeKind::Router).expect("node k");
    lab.add_node("p", NodeKind::Router).expect("node p");
    lab.add_link(
        ("k", "eth0", Some("10.0.0.1/24".parse().unwrap())),
        ("p", "eth0", Some("10.0.0.2/24".parse().unwrap())),
    )
    .expect("link");
    lab.add_address("k", "eth0", "2001:db8:ab::1/64".parse().unwrap())
        .expect("v6 k");
    lab.add_address("p", "eth0", "2001:db8:ab::2/64".parse().unwrap())
        .expect("v6 p");
    lab
}

/// kith's config on node `k` (AS 65001): the LANs 192.168.1.0/24 and 2001:db8:1::/48
/// (blackhole routes stand for them; `synchronize`), two sessions to AS 65002 at
/// 10.0.0.2 (IPv4) and 2001:db8:ab::2 (IPv6), in-filter `in` that discards
/// 192.168.3.0/24 unless `widened`, out-filter that tags 65001:9.
pub fn kith_config(widened: bool) -> String {
    let filtered = if widened {
        "192.168.99.0/24"
    } else {
        "192.168.3.0/24"
    };
    let discard = format!("    - chain: in\n      prefix: {filtered}\n      action: discard\n");
    format!(
        "routing:
  bgp:
    instance:
      - name: default
        as: 65001
        router-id: 10.0.0.1
    network:
      - network: 192.168.1.0/24
        synchronize: yes
      - network: 2001:db8:1::/48
        synchronize: yes
    peer:
      - name: p-v4
        remote-address: 10.0.0.2
        remote-as: 65002
        in-filter: in
        out-filter: out
        hold-time: 9s
      - name: p-v6
        remote-address: 2001:db8:ab::2
        remote-as: 65002
        address-families: [ipv6]
        in-filter: in
        out-filter: out
        hold-time: 9s
  filter:
{discard}    - chain: out
      set-bgp-communities: [65001:9]
      action: accept
"
    )
}

/// Writes kith's config into the lab and starts `kith bgpd` on `node`.
pub fn start_kith(lab: &Lab, node: &str, config: &str) -> PathBuf {
    let dir = lab.workdir().join(format!("{node}-kith"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("config.yaml");
    std::fs::write(&file, config).unwrap();
    lab.spawn(
        node,
        "bgpd",
        &[
            KITH,
            "--log",
            "debug",
            "bgpd",
            "--config",
            file.to_str().unwrap(),
            "--run-dir",
            dir.to_str().unwrap(),
        ],
        &[],
    )
    .expect("spawn kith bgpd");
    dir
}

/// Rewrites kith's config and sends SIGHUP.
pub fn reload_kith(lab: &Lab, node: &str, dir: &Path, config: &str) {
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    let pid = lab.pid(node, "bgpd").expect("bgpd runs");
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).expect("SIGHUP");
}

/// The status of the kith on `dir` (None while it does not answer).
pub fn status(dir: &Path) -> Option<Status> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    rt.block_on(kith_bgp::status::fetch(dir)).ok()
}

pub fn peer(status: &Status, name: &str) -> Option<PeerStatus> {
    status.peers.iter().find(|p| p.name == name).cloned()
}

/// Waits until every named kith peer is Established.
pub fn wait_established(lab: &Lab, dir: &Path, names: &[&str], logs: &dyn Fn() -> String) {
    lab.wait_until("kith sessions Established", WAIT, || {
        status(dir).is_some_and(|s| {
            names
                .iter()
                .all(|n| peer(&s, n).is_some_and(|p| p.state == "established"))
        })
    })
    .unwrap_or_else(|e| panic!("{e}\nstatus: {:?}\n{}", status(dir), logs()));
}

/// `ip route show <dst>` on a node.
pub fn kernel_route(lab: &Lab, node: &str, dst: &str) -> String {
    let family = if dst.contains(':') { "-6" } else { "-4" };
    lab.exec_ok(node, &["ip", family, "route", "show", dst])
        .unwrap_or_default()
}

/// Waits until a predicate on `ip route show <dst>` holds.
pub fn wait_route(lab: &Lab, node: &str, dst: &str, want: bool, logs: &dyn Fn() -> String) {
    lab.wait_until(
        &format!(
            "{dst} {} in {node}'s kernel",
            if want { "present" } else { "absent" }
        ),
        WAIT,
        || kernel_route(lab, node, dst).contains("proto bgp") == want,
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
}

/// Waits until `check` (a command on node `p`) prints something containing `needle`
/// (or, with `want` false, stops doing so).
pub fn wait_output(
    lab: &Lab,
    node: &str,
    argv: &[&str],
    needle: &str,
    want: bool,
    logs: &dyn Fn() -> String,
) {
    lab.wait_until(
        &format!(
            "`{}` {} {needle}",
            argv.join(" "),
            if want { "shows" } else { "no longer shows" }
        ),
        WAIT,
        || {
            let out = lab
                .exec(node, argv)
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            out.contains(needle) == want
        },
    )
    .unwrap_or_else(|e| {
        let out = lab
            .exec(node, argv)
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        panic!("{e}\nlast output:\n{out}\n{}", logs())
    });
}

/// What every interop test checks on kith's side once the peer announces
/// 192.168.2.0/24 (communities 65002:7, large 65002:1:2), 192.168.3.0/24 and
/// 2001:db8:2::/48: routes in, IPv6 too, communities carried, 192.168.3.0/24 filtered,
/// then admitted by a reload without a session reset.
pub fn check_kith_side(lab: &Lab, dir: &Path, logs: &dyn Fn() -> String, large: bool) {
    wait_route(lab, "k", "192.168.2.0/24", true, logs);
    wait_route(lab, "k", "2001:db8:2::/48", true, logs);
    let r = kernel_route(lab, "k", "192.168.2.0/24");
    assert!(
        r.contains("via 10.0.0.2") && r.contains("metric 322"),
        "eBGP distance 20: {r}"
    );
    let s = status(dir).expect("status");
    let route = s
        .routes
        .iter()
        .find(|r| r.dst_address == "192.168.2.0/24")
        .expect("route in status");
    assert!(route.active && route.as_path == "65002", "{route:?}");
    assert_eq!(route.communities, vec!["65002:7".to_string()], "{route:?}");
    if large {
        assert_eq!(
            route.large_communities,
            vec!["65002:1:2".to_string()],
            "{route:?}"
        );
    }
    lab.wait_until("192.168.3.0/24 shown as filtered", WAIT, || {
        status(dir).is_some_and(|s| {
            s.routes
                .iter()
                .any(|r| r.dst_address == "192.168.3.0/24" && r.status == "filtered: discard")
        })
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    assert!(!kernel_route(lab, "k", "192.168.3.0/24").contains("proto bgp"));
    // The CLI prints it RouterOS style.
    let table = lab
        .exec_ok(
            "k",
            &[KITH, "bgp", "routes", "--run-dir", dir.to_str().unwrap()],
        )
        .unwrap();
    assert!(
        table.contains("dst-address=192.168.2.0/24") && table.contains("FDb"),
        "{table}"
    );
    let peers = lab
        .exec_ok(
            "k",
            &[KITH, "bgp", "peers", "--run-dir", dir.to_str().unwrap()],
        )
        .unwrap();
    assert!(
        peers.contains("p-v4") && peers.contains("established"),
        "{peers}"
    );
    // Widen the filter: the route arrives without a session reset.
    let before = peer(&s, "p-v4").unwrap().established_count;
    reload_kith(lab, "k", dir, &kith_config(true));
    wait_route(lab, "k", "192.168.3.0/24", true, logs);
    let after = status(dir).and_then(|s| peer(&s, "p-v4")).unwrap();
    assert_eq!(
        after.established_count, before,
        "no session reset: {after:?}"
    );
    assert_eq!(after.state, "established");
}

/// Adds kith's LAN routes on `k`.
pub fn kith_lans(lab: &Lab, node: &str) {
    lab.exec_ok(node, &["ip", "route", "add", "blackhole", "192.168.1.0/24"])
        .unwrap();
    lab.exec_ok(
        node,
        &["ip", "-6", "route", "add", "blackhole", "2001:db8:1::/48"],
    )
    .unwrap();
}

/// Removes kith's IPv4 LAN route: the withdraw must reach the peer.
pub fn drop_kith_lan(lab: &Lab, node: &str) {
    lab.exec_ok(node, &["ip", "route", "del", "blackhole", "192.168.1.0/24"])
        .unwrap();
}

/// Kith on node `k` (10.0.0.1) and `peers` (node, address/24) on one bridge in a switch
/// node `s`, so that a peer's path can die while kith's interface stays up.
pub fn bridged_lab(name: &str, peers: &[(&str, &str)]) -> Lab {
    let lab = Lab::new(name).expect("lab");
    lab.add_node("k", NodeKind::Router).expect("node k");
    lab.add_node("s", NodeKind::Router).expect("node s");
    let mut ends = vec![("k", "10.0.0.1/24")];
    ends.extend_from_slice(peers);
    let mut ports = Vec::new();
    for (i, (node, addr)) in ends.iter().enumerate() {
        if *node != "k" {
            lab.add_node(node, NodeKind::Router).expect("peer node");
        }
        let port = format!("p{i}");
        lab.add_link(
            (node, "eth0", Some(addr.parse().unwrap())),
            ("s", &port, None),
        )
        .expect("link");
        ports.push(port);
    }
    lab.sh(
        "s",
        &format!(
            "ip link add br0 type bridge && ip link set br0 up && \
             for p in {}; do ip link set $p master br0; done",
            ports.join(" ")
        ),
    )
    .expect("bridge");
    lab
}

/// Starts BIRD on `node` with `config` (written into the lab's work directory).
pub fn spawn_bird(lab: &Lab, node: &str, config: &str) {
    let dir = lab.workdir().join(format!("{node}-bird"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("bird.conf");
    std::fs::write(&conf, config).unwrap();
    let sock = dir.join("bird.ctl");
    lab.spawn(
        node,
        "bird",
        &[
            "bird",
            "-f",
            "-c",
            conf.to_str().unwrap(),
            "-s",
            sock.to_str().unwrap(),
        ],
        &[],
    )
    .expect("spawn bird");
}
