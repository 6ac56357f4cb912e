//! `use-bfd` against BIRD's bfd protocol and FRR's bfdd: kith (AS 65001), BIRD (AS
//! 65002, preferred by local-pref) and FRR (AS 65003) hang off one bridge in a switch
//! namespace, so cutting the far end's port kills the path while kith's interface
//! stays up. BFD (100 ms x 3)
//! must notice within a few hundred milliseconds — the hold time is 30 s — reset the
//! BGP session at once and move the route to the other peer. A forged AdminDown with
//! TTL 254 is dropped (GTSM). Needs root, BIRD and FRR.

mod bgp_support;

use std::path::Path;
use std::time::{Duration, Instant};

use bgp_support::frr::FrrWork;
use bgp_support::*;
use kith_lab::Lab;

const PREFIX: &str = "192.168.50.0/24";
/// Far above BFD's 300 ms, far below the 30 s hold time.
const DETECT_BOUND: Duration = Duration::from_secs(3);

const KITH: &str = "routing:
  bfd:
    interface:
      - interface: all
        interval: 100ms
        min-rx: 100ms
        multiplier: 3
  bgp:
    instance:
      - name: default
        as: 65001
        router-id: 10.0.0.1
    peer:
      - name: bird
        remote-address: 10.0.0.2
        remote-as: 65002
        in-filter: prefer
        hold-time: 30s
        use-bfd: yes
      - name: frr
        remote-address: 10.0.0.3
        remote-as: 65003
        hold-time: 30s
        use-bfd: yes
  filter:
    - chain: prefer
      set-bgp-local-pref: 200
      action: accept
";

fn start_bird(lab: &Lab) {
    spawn_bird(
        lab,
        "b",
        &format!(
            "router id 10.0.0.2;
log stderr all;
protocol device {{ }}
protocol static {{ ipv4; route {PREFIX} blackhole; }}
protocol bfd {{ interface \"*\" {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }}; }}
protocol bgp k {{ local 10.0.0.2 as 65002; neighbor 10.0.0.1 as 65001; hold time 30; error wait time 1, 5; bfd on; ipv4 {{ import all; export all; }}; }}
"
        ),
    );
}

fn start_frr(lab: &Lab) -> FrrWork {
    let frr = FrrWork::new("bfd");
    frr.write("zebra", "hostname f\n");
    frr.write(
        "bfdd",
        "hostname f
bfd
 profile fast
  receive-interval 100
  transmit-interval 100
  detect-multiplier 3
 !
!
",
    );
    frr.write(
        "bgpd",
        &format!(
            "frr defaults traditional
hostname f
router bgp 65003
 bgp router-id 10.0.0.3
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 10.0.0.1 remote-as 65001
 neighbor 10.0.0.1 timers 10 30
 neighbor 10.0.0.1 bfd
 neighbor 10.0.0.1 bfd profile fast
 neighbor 10.0.0.1 advertisement-interval 0
 address-family ipv4 unicast
  network {PREFIX}
 exit-address-family
"
        ),
    );
    frr.chown();
    let ctl = frr.0.join("bfdd.sock");
    frr.spawn(lab, "f", "zebra", &[]);
    frr.spawn(lab, "f", "bfdd", &["--bfdctl", ctl.to_str().unwrap()]);
    frr.spawn(lab, "f", "bgpd", &["-P", "0"]);
    frr
}

fn bfd_up(dir: &Path, names: &[&str]) -> bool {
    status(dir).is_some_and(|s| {
        names.iter().all(|n| {
            peer(&s, n).is_some_and(|p| p.state == "established" && p.bfd.as_deref() == Some("up"))
        })
    })
}

/// Polls every 10 ms until `cond` holds; the time it took.
fn measure(what: &str, mut cond: impl FnMut() -> bool, logs: &dyn Fn() -> String) -> Duration {
    let start = Instant::now();
    let limit = start + Duration::from_secs(20);
    for _ in 0..4000 {
        if cond() {
            return start.elapsed();
        }
        assert!(
            Instant::now() < limit,
            "{what}: not within 20 s\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what}: not within 4000 polls\n{}", logs());
}

#[test]
fn bfd_with_bird_and_frr_detects_a_dead_path_with_the_link_up() {
    require(&[
        "ip",
        "bird",
        "/usr/lib/frr/bgpd",
        "/usr/lib/frr/bfdd",
        "vtysh",
    ]);
    let lab = bridged_lab(
        "kith-bgp bfd",
        &[("b", "10.0.0.2/24"), ("f", "10.0.0.3/24")],
    );
    start_bird(&lab);
    let frr = start_frr(&lab);
    let dir = start_kith(&lab, "k", KITH);
    let logs = || {
        format!(
            "--- kith ---\n{}\n--- bird ---\n{}\n--- frr bfdd ---\n{}\n--- frr bgpd ---\n{}",
            lab.log("k", "bgpd"),
            lab.log("b", "bird"),
            lab.log("f", "frr-bfdd"),
            lab.log("f", "frr-bgpd")
        )
    };
    wait_established(&lab, &dir, &["bird", "frr"], &logs);
    lab.wait_until("BFD up with BIRD and FRR", WAIT, || {
        bfd_up(&dir, &["bird", "frr"])
    })
    .unwrap_or_else(|e| panic!("{e}\n{:?}\n{}", status(&dir), logs()));
    // FRR's bfdd sees kith's session up too.
    wait_output(
        &lab,
        "f",
        &frr.vtysh("show bfd peers brief")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        "up",
        true,
        &logs,
    );
    let via = |gw: &str| kernel_route(&lab, "k", PREFIX).contains(&format!("via {gw} "));
    lab.wait_until("route via BIRD (local-pref 200)", WAIT, || via("10.0.0.2"))
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));

    // BIRD's path dies; kith's eth0 keeps its carrier.
    lab.set_link_up("s", "p1", false).unwrap();
    let took = measure("route moved to FRR", || via("10.0.0.3"), &logs);
    eprintln!("BIRD path cut: route moved to FRR after {took:?}");
    assert!(took < DETECT_BOUND, "BFD took {took:?}\n{}", logs());
    let link = lab.exec_ok("k", &["ip", "link", "show", "eth0"]).unwrap();
    assert!(link.contains("LOWER_UP"), "kith's link went down: {link}");
    let s = status(&dir).unwrap();
    let bird = peer(&s, "bird").unwrap();
    assert_ne!(bird.state, "established");
    assert!(
        bird.last_error
            .as_deref()
            .is_some_and(|e| e.contains("BFD")),
        "{bird:?}"
    );

    // Back: the session and BFD come up again and the route returns to BIRD.
    lab.set_link_up("s", "p1", true).unwrap();
    lab.wait_until("BFD up again with BIRD", WAIT, || bfd_up(&dir, &["bird"]))
        .unwrap_or_else(|e| panic!("{e}\n{:?}\n{}", status(&dir), logs()));
    lab.wait_until("route back via BIRD", WAIT, || via("10.0.0.2"))
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));

    // FRR's path dies: kith drops that session as fast, the route stays on BIRD.
    lab.set_link_up("s", "p2", false).unwrap();
    let took = measure(
        "FRR session reset",
        || {
            status(&dir)
                .and_then(|s| peer(&s, "frr"))
                .is_some_and(|p| p.state != "established")
        },
        &logs,
    );
    eprintln!("FRR path cut: session reset after {took:?}");
    assert!(took < DETECT_BOUND, "BFD took {took:?}\n{}", logs());
    assert!(via("10.0.0.2"), "{}", logs());
    let bird = status(&dir).and_then(|s| peer(&s, "bird")).unwrap();
    assert_eq!(bird.state, "established", "{bird:?}");

    // GTSM: an AdminDown packet from BIRD's address with TTL 254 (one hop farther) is
    // dropped; accepted, it would bring the session down.
    let admin_down: Vec<u8> = {
        let mut p = vec![0x20, 0x00, 3, 24];
        p.extend_from_slice(&0x4242_4242u32.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(&1_000_000u32.to_be_bytes());
        p.extend_from_slice(&1_000_000u32.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p
    };
    let ns = lab.namespace("b").unwrap();
    bgp_support::speaker::in_netns(&ns, move || {
        let sock = std::net::UdpSocket::bind("10.0.0.2:0").expect("udp");
        sock.set_ttl(254).expect("ttl");
        for _ in 0..5 {
            sock.send_to(&admin_down, "10.0.0.1:3784").expect("send");
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(bfd_up(&dir, &["bird"]), "{:?}\n{}", status(&dir), logs());
    assert!(
        lab.log("k", "bgpd").contains("TTL Some(254)"),
        "the TTL-254 packet was not seen as such\n{}",
        logs()
    );
}
