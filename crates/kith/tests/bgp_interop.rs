//! kith bgpd against real BGP speakers in network namespaces: BIRD 2, FRR, GoBGP and
//! itself. Each test: sessions Established over IPv4 and IPv6, routes both ways,
//! communities carried, a withdraw propagates both ways, a filter change applies
//! without a session reset. Needs root and the peer binaries (fails without them).

mod bgp_support;

use bgp_support::frr::FrrWork;
use bgp_support::*;

#[test]
fn kith_and_bird() {
    require(&["ip", "bird", "birdc"]);
    let lab = pair();
    kith_lans(&lab, "k");
    let pdir = lab.workdir().join("p-bird");
    std::fs::create_dir_all(&pdir).unwrap();
    let conf = pdir.join("bird.conf");
    std::fs::write(
        &conf,
        "router id 10.0.0.2;
log stderr all;
protocol device { }
protocol static st4 { ipv4; route 192.168.2.0/24 blackhole; route 192.168.3.0/24 blackhole; }
protocol static st6 { ipv6; route 2001:db8:2::/48 blackhole; }
filter tag_lan {
  if net = 192.168.2.0/24 then { bgp_community.add((65002,7)); bgp_large_community.add((65002,1,2)); }
  accept;
}
protocol bgp k4 { local 10.0.0.2 as 65002; neighbor 10.0.0.1 as 65001; hold time 9; ipv4 { import all; export filter tag_lan; }; }
protocol bgp k6 { local 2001:db8:ab::2 as 65002; neighbor 2001:db8:ab::1 as 65001; hold time 9; ipv6 { import all; export all; }; }
",
    )
    .unwrap();
    let sock = pdir.join("bird.ctl");
    let sock_s = sock.to_str().unwrap().to_string();
    lab.spawn(
        "p",
        "bird",
        &["bird", "-f", "-c", conf.to_str().unwrap(), "-s", &sock_s],
        &[],
    )
    .expect("spawn bird");
    let dir = start_kith(&lab, "k", &kith_config(false));
    let logs = || {
        format!(
            "--- kith ---\n{}\n--- bird ---\n{}",
            lab.log("k", "bgpd"),
            lab.log("p", "bird")
        )
    };
    wait_established(&lab, &dir, &["p-v4", "p-v6"], &logs);
    check_kith_side(&lab, &dir, &logs, true);
    // BIRD got kith's LANs, with kith's out-filter community.
    let show = |net: &str| {
        vec![
            "birdc".to_string(),
            "-s".into(),
            sock_s.clone(),
            "show".into(),
            "route".into(),
            net.into(),
            "all".into(),
        ]
    };
    let v4 = show("192.168.1.0/24");
    let v4: Vec<&str> = v4.iter().map(String::as_str).collect();
    wait_output(&lab, "p", &v4, "(65001,9)", true, &logs);
    let v6 = show("2001:db8:1::/48");
    let v6: Vec<&str> = v6.iter().map(String::as_str).collect();
    wait_output(&lab, "p", &v6, "65001", true, &logs);
    // Withdraws both ways.
    drop_kith_lan(&lab, "k");
    wait_output(&lab, "p", &v4, "(65001,9)", false, &logs);
    lab.exec_ok("p", &["birdc", "-s", &sock_s, "disable", "st4"])
        .unwrap();
    wait_route(&lab, "k", "192.168.2.0/24", false, &logs);
}

#[test]
fn kith_and_frr() {
    require(&["ip", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "vtysh"]);
    let lab = pair();
    kith_lans(&lab, "k");
    // FRR drops to its user `frr`, which cannot enter the lab's root-only work dir.
    let frr = FrrWork::new("interop");
    frr.write("zebra", "hostname p\n");
    frr.write(
        "bgpd",
        "frr defaults traditional
hostname p
router bgp 65002
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 65001
 neighbor 10.0.0.1 timers 3 9
 neighbor 2001:db8:ab::1 remote-as 65001
 neighbor 2001:db8:ab::1 timers 3 9
 address-family ipv4 unicast
  network 192.168.2.0/24 route-map tag
  network 192.168.3.0/24
  no neighbor 2001:db8:ab::1 activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:2::/48
  neighbor 2001:db8:ab::1 activate
 exit-address-family
route-map tag permit 10
 set community 65002:7
 set large-community 65002:1:2
",
    );
    frr.chown();
    frr.spawn(&lab, "p", "zebra", &[]);
    frr.spawn(&lab, "p", "bgpd", &["-P", "0"]);
    let dir = start_kith(&lab, "k", &kith_config(false));
    let logs = || {
        format!(
            "--- kith ---\n{}\n--- frr bgpd ---\n{}",
            lab.log("k", "bgpd"),
            lab.log("p", "frr-bgpd")
        )
    };
    wait_established(&lab, &dir, &["p-v4", "p-v6"], &logs);
    check_kith_side(&lab, &dir, &logs, true);
    let vty = |cmd: &str| frr.vtysh(cmd);
    let v4 = vty("show bgp ipv4 unicast 192.168.1.0/24");
    let v4: Vec<&str> = v4.iter().map(String::as_str).collect();
    wait_output(&lab, "p", &v4, "65001:9", true, &logs);
    let v6 = vty("show bgp ipv6 unicast 2001:db8:1::/48");
    let v6: Vec<&str> = v6.iter().map(String::as_str).collect();
    wait_output(&lab, "p", &v6, "65001", true, &logs);
    drop_kith_lan(&lab, "k");
    wait_output(&lab, "p", &v4, "65001:9", false, &logs);
    let d = frr.0.to_str().unwrap();
    lab.exec_ok(
        "p",
        &[
            "vtysh",
            "--vty_socket",
            d,
            "-c",
            "configure terminal",
            "-c",
            "router bgp 65002",
            "-c",
            "address-family ipv4 unicast",
            "-c",
            "no network 192.168.2.0/24",
        ],
    )
    .unwrap();
    wait_route(&lab, "k", "192.168.2.0/24", false, &logs);
}

#[test]
fn kith_and_gobgp() {
    require(&["ip", "gobgpd", "gobgp"]);
    let lab = pair();
    kith_lans(&lab, "k");
    let pdir = lab.workdir().join("p-gobgp");
    std::fs::create_dir_all(&pdir).unwrap();
    let conf = pdir.join("gobgp.toml");
    let neighbor = |addr: &str, afi: &str| {
        format!(
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{addr}\"\n    peer-as = 65001\n  [neighbors.timers.config]\n    hold-time = 9\n    keepalive-interval = 3\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"{afi}\"\n"
        )
    };
    std::fs::write(
        &conf,
        format!(
            "[global.config]\n  as = 65002\n  router-id = \"10.0.0.2\"\n{}{}",
            neighbor("10.0.0.1", "ipv4-unicast"),
            neighbor("2001:db8:ab::1", "ipv6-unicast")
        ),
    )
    .unwrap();
    lab.spawn(
        "p",
        "gobgpd",
        &[
            "gobgpd",
            "-t",
            "toml",
            "-f",
            conf.to_str().unwrap(),
            "--api-hosts",
            "127.0.0.1:50051",
        ],
        &[],
    )
    .expect("gobgpd");
    let gobgp = |args: &[&str]| {
        let mut argv = vec!["gobgp", "-u", "127.0.0.1", "-p", "50051"];
        argv.extend_from_slice(args);
        lab.exec_ok("p", &argv)
    };
    lab.wait_until("gobgpd API", WAIT, || gobgp(&["global"]).is_ok())
        .unwrap();
    gobgp(&[
        "global",
        "rib",
        "-a",
        "ipv4",
        "add",
        "192.168.2.0/24",
        "nexthop",
        "10.0.0.2",
        "community",
        "65002:7",
        "large-community",
        "65002:1:2",
    ])
    .unwrap();
    gobgp(&[
        "global",
        "rib",
        "-a",
        "ipv4",
        "add",
        "192.168.3.0/24",
        "nexthop",
        "10.0.0.2",
    ])
    .unwrap();
    gobgp(&[
        "global",
        "rib",
        "-a",
        "ipv6",
        "add",
        "2001:db8:2::/48",
        "nexthop",
        "2001:db8:ab::2",
    ])
    .unwrap();
    let dir = start_kith(&lab, "k", &kith_config(false));
    let logs = || {
        format!(
            "--- kith ---\n{}\n--- gobgpd ---\n{}",
            lab.log("k", "bgpd"),
            lab.log("p", "gobgpd")
        )
    };
    wait_established(&lab, &dir, &["p-v4", "p-v6"], &logs);
    check_kith_side(&lab, &dir, &logs, true);
    let base = [
        "gobgp",
        "-u",
        "127.0.0.1",
        "-p",
        "50051",
        "global",
        "rib",
        "-a",
    ];
    let v4: Vec<&str> = base
        .iter()
        .copied()
        .chain(["ipv4", "192.168.1.0/24"])
        .collect();
    wait_output(&lab, "p", &v4, "65001:9", true, &logs);
    let v6: Vec<&str> = base
        .iter()
        .copied()
        .chain(["ipv6", "2001:db8:1::/48"])
        .collect();
    wait_output(&lab, "p", &v6, "65001", true, &logs);
    drop_kith_lan(&lab, "k");
    wait_output(&lab, "p", &v4, "65001:9", false, &logs);
    gobgp(&["global", "rib", "-a", "ipv4", "del", "192.168.2.0/24"]).unwrap();
    wait_route(&lab, "k", "192.168.2.0/24", false, &logs);
}

#[test]
fn kith_and_kith() {
    require(&["ip"]);
    let lab = pair();
    kith_lans(&lab, "k");
    // The peer kith announces 192.168.2.0/24 with communities set by its out-filter,
    // 192.168.3.0/24 and 2001:db8:2::/48.
    lab.exec_ok("p", &["ip", "route", "add", "blackhole", "192.168.2.0/24"])
        .unwrap();
    lab.exec_ok("p", &["ip", "route", "add", "blackhole", "192.168.3.0/24"])
        .unwrap();
    lab.exec_ok(
        "p",
        &["ip", "-6", "route", "add", "blackhole", "2001:db8:2::/48"],
    )
    .unwrap();
    let peer_config = "routing:
  bgp:
    instance:
      - name: default
        as: 65002
        router-id: 10.0.0.2
    network:
      - network: 192.168.2.0/24
      - network: 192.168.3.0/24
      - network: 2001:db8:2::/48
    peer:
      - name: k-v4
        remote-address: 10.0.0.1
        remote-as: 65001
        out-filter: tag
        hold-time: 9s
      - name: k-v6
        remote-address: 2001:db8:ab::1
        remote-as: 65001
        address-families: [ipv6]
        hold-time: 9s
  filter:
    - chain: tag
      prefix: 192.168.2.0/24
      set-bgp-communities: [65002:7]
      action: accept
";
    let pdir = start_kith(&lab, "p", peer_config);
    let dir = start_kith(&lab, "k", &kith_config(false));
    let logs = || {
        format!(
            "--- kith k ---\n{}\n--- kith p ---\n{}",
            lab.log("k", "bgpd"),
            lab.log("p", "bgpd")
        )
    };
    wait_established(&lab, &dir, &["p-v4", "p-v6"], &logs);
    wait_established(&lab, &pdir, &["k-v4", "k-v6"], &logs);
    check_kith_side(&lab, &dir, &logs, false);
    wait_route(&lab, "p", "192.168.1.0/24", true, &logs);
    wait_route(&lab, "p", "2001:db8:1::/48", true, &logs);
    let s = status(&pdir).unwrap();
    let r = s
        .routes
        .iter()
        .find(|r| r.dst_address == "192.168.1.0/24")
        .unwrap();
    assert_eq!(r.communities, vec!["65001:9".to_string()]);
    drop_kith_lan(&lab, "k");
    wait_route(&lab, "p", "192.168.1.0/24", false, &logs);
    lab.exec_ok("p", &["ip", "route", "del", "blackhole", "192.168.2.0/24"])
        .unwrap();
    wait_route(&lab, "k", "192.168.2.0/24", false, &logs);
    // Shutdown removes kith's routes from the kernel.
    lab.stop("k", "bgpd").unwrap();
    assert!(!kernel_route(&lab, "k", "192.168.3.0/24").contains("proto bgp"));
}
