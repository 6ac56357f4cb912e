//! Per-peer session options of kith bgpd against BIRD, in one lab where BIRD listens on
//! one address per case: TCP-MD5 (RFC 2385) with the right key comes up and with a
//! wrong key never does; GTSM (`ttl-security`, RFC 5082) comes up with a peer that
//! sends TTL 255 and never with one that sends TTL 1; `update-source` given as an
//! interface connects from that interface's address; `default-originate` `always` and
//! `if-installed`. Needs root and BIRD.

mod bgp_support;

use std::time::{Duration, Instant};

use bgp_support::*;
use kith_lab::{Lab, NodeKind};

const KITH: &str = "interface:
  ethernet:
    - name: eth1
      default-name: eth1
routing:
  bgp:
    instance:
      - name: default
        as: 65001
        router-id: 10.0.0.1
    peer:
      - name: md5-good
        remote-address: 10.0.0.2
        remote-as: 65002
        local-address: 10.0.0.21
        tcp-md5-key: s3cret
        hold-time: 9s
      - name: md5-bad
        remote-address: 10.0.0.12
        remote-as: 65002
        local-address: 10.0.0.22
        tcp-md5-key: wrong
        hold-time: 9s
      - name: gtsm-good
        remote-address: 10.0.0.3
        remote-as: 65002
        ttl-security: yes
        hold-time: 9s
      - name: gtsm-bad
        remote-address: 10.0.0.13
        remote-as: 65002
        local-address: 10.0.0.23
        ttl-security: yes
        hold-time: 9s
      - name: by-iface
        remote-address: 10.0.0.4
        remote-as: 65002
        update-source: eth1
        hold-time: 9s
      - name: dflt-always
        remote-address: 10.0.0.5
        remote-as: 65002
        local-address: 10.0.0.24
        default-originate: always
        hold-time: 9s
      - name: dflt-installed
        remote-address: 10.0.0.6
        remote-as: 65002
        local-address: 10.0.0.25
        default-originate: if-installed
        hold-time: 9s
";

const BIRD: &str = r#"router id 10.0.0.2;
log stderr all;
protocol device { }
template bgp k { local as 65002; hold time 9; connect retry time 1; error wait time 1, 2; ipv4 { import all; export none; }; }
protocol bgp md5_good from k { local 10.0.0.2; neighbor 10.0.0.21 as 65001; password "s3cret"; }
protocol bgp md5_bad from k { local 10.0.0.12; neighbor 10.0.0.22 as 65001; password "s3cret"; }
protocol bgp gtsm_good from k { local 10.0.0.3; neighbor 10.0.0.1 as 65001; ttl security on; }
protocol bgp gtsm_bad from k { local 10.0.0.13; neighbor 10.0.0.23 as 65001; }
protocol bgp by_iface from k { local 10.0.0.4; neighbor 10.0.9.1 as 65001; multihop; }
protocol bgp dflt_always from k { local 10.0.0.5; neighbor 10.0.0.24 as 65001; }
protocol bgp dflt_installed from k { local 10.0.0.6; neighbor 10.0.0.25 as 65001; }
"#;

fn lab() -> Lab {
    let lab = Lab::new("kith-bgp peer options").expect("lab");
    for n in ["k", "p", "z"] {
        lab.add_node(n, NodeKind::Router).expect("node");
    }
    lab.add_link(
        ("k", "eth0", Some("10.0.0.1/24".parse().unwrap())),
        ("p", "eth0", Some("10.0.0.2/24".parse().unwrap())),
    )
    .expect("link k-p");
    lab.add_link(
        ("k", "eth1", Some("10.0.9.1/24".parse().unwrap())),
        ("z", "eth0", Some("10.0.9.2/24".parse().unwrap())),
    )
    .expect("link k-z");
    // One kith address per session: Linux keys TCP-MD5 by the remote address alone
    // (the other sessions stay unsigned) and BIRD takes one session per neighbor.
    for a in [21, 22, 23, 24, 25] {
        lab.add_address("k", "eth0", format!("10.0.0.{a}/24").parse().unwrap())
            .expect("address");
    }
    for a in [3, 4, 5, 6, 12, 13] {
        lab.add_address("p", "eth0", format!("10.0.0.{a}/24").parse().unwrap())
            .expect("address");
    }
    lab.exec_ok(
        "p",
        &["ip", "route", "add", "10.0.9.0/24", "via", "10.0.0.1"],
    )
    .expect("route to kith's eth1");
    lab
}

#[test]
fn md5_gtsm_update_source_and_default_originate_with_bird() {
    require(&["ip", "bird", "birdc"]);
    let lab = lab();
    let dir_b = lab.workdir().join("p-bird");
    std::fs::create_dir_all(&dir_b).unwrap();
    let conf = dir_b.join("bird.conf");
    std::fs::write(&conf, BIRD).unwrap();
    let sock = dir_b.join("bird.ctl").display().to_string();
    lab.spawn(
        "p",
        "bird",
        &["bird", "-f", "-c", conf.to_str().unwrap(), "-s", &sock],
        &[],
    )
    .expect("bird");
    let dir = start_kith(&lab, "k", KITH);
    let logs = || {
        format!(
            "--- kith ---\n{}\n--- bird ---\n{}",
            lab.log("k", "bgpd"),
            lab.log("p", "bird")
        )
    };
    wait_established(
        &lab,
        &dir,
        &[
            "md5-good",
            "gtsm-good",
            "by-iface",
            "dflt-always",
            "dflt-installed",
        ],
        &logs,
    );
    // update-source eth1: BIRD sees the session from 10.0.9.1.
    let by_iface = lab
        .exec_ok(
            "p",
            &["birdc", "-s", &sock, "show", "protocols", "all", "by_iface"],
        )
        .unwrap();
    assert!(
        by_iface.contains("Established") && by_iface.contains("10.0.9.1"),
        "{by_iface}"
    );
    // TCP-MD5 with the right key: the kernel signs the session (BIRD says so too).
    let md5 = lab
        .exec_ok(
            "p",
            &["birdc", "-s", &sock, "show", "protocols", "md5_good"],
        )
        .unwrap();
    assert!(md5.contains("Established"), "{md5}");
    // default-originate always: BIRD has 0.0.0.0/0 from that session only.
    let default_from = |proto: &str| {
        lab.exec_ok(
            "p",
            &[
                "birdc",
                "-s",
                &sock,
                "show",
                "route",
                "0.0.0.0/0",
                "protocol",
                proto,
            ],
        )
        .unwrap_or_default()
        .contains("0.0.0.0/0")
    };
    lab.wait_until("default route from dflt-always", WAIT, || {
        default_from("dflt_always")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    assert!(!default_from("dflt_installed"));
    assert!(!default_from("md5_good"));
    // if-installed follows the kernel's default route.
    lab.exec_ok("k", &["ip", "route", "add", "default", "via", "10.0.9.2"])
        .unwrap();
    lab.wait_until("default route from dflt-installed", WAIT, || {
        default_from("dflt_installed")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    lab.exec_ok("k", &["ip", "route", "del", "default", "via", "10.0.9.2"])
        .unwrap();
    lab.wait_until("default route from dflt-installed withdrawn", WAIT, || {
        !default_from("dflt_installed")
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    // The wrong MD5 key and the peer that sends TTL 1 never come up, while both sides
    // keep trying (connect retry 1 s on BIRD, backoff on kith).
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let s = status(&dir).expect("status");
        for name in ["md5-bad", "gtsm-bad"] {
            let p = peer(&s, name).unwrap();
            assert!(
                p.state != "established" && p.established_count == 0,
                "{name} came up: {p:?}\n{}",
                logs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    for proto in ["md5_bad", "gtsm_bad"] {
        let out = lab
            .exec_ok("p", &["birdc", "-s", &sock, "show", "protocols", proto])
            .unwrap();
        assert!(!out.contains("Established"), "{out}");
    }
}
