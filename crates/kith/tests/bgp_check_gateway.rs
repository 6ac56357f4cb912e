//! `set-check-gateway=ping` in a routing filter: kith (AS 65001) learns 192.168.50.0/24
//! from two BIRDs on one bridge, b1 (AS 65002, preferred by local-pref 200 and checked
//! by ping) and b2 (AS 65003). When b1 stops answering pings — its BGP session stays up —
//! kith stops using b1's route (RouterOS timing: a probe every 10 s, 2 lost) and the
//! kernel route moves to b2; when b1 answers again, it comes back. Needs root and BIRD.

mod bgp_support;

use std::time::Duration;

use bgp_support::*;
use kith_lab::Lab;

const PREFIX: &str = "192.168.50.0/24";
/// Two lost probes 10 s apart, plus slack for a busy machine.
const SWITCH_BOUND: Duration = Duration::from_secs(60);

const KITH: &str = "routing:
  bgp:
    instance:
      - name: default
        as: 65001
        router-id: 10.0.0.1
    peer:
      - name: b1
        remote-address: 10.0.0.2
        remote-as: 65002
        in-filter: from-b1
      - name: b2
        remote-address: 10.0.0.3
        remote-as: 65003
        in-filter: from-b2
  filter:
    - chain: from-b1
      set-bgp-local-pref: 200
      set-check-gateway: ping
      action: accept
    - chain: from-b2
      action: accept
";

fn start_bird(lab: &Lab, node: &str, addr: &str, asn: u32) {
    spawn_bird(
        lab,
        node,
        &format!(
            "router id {addr};
log stderr all;
protocol device {{ }}
protocol static {{ ipv4; route {PREFIX} blackhole; }}
protocol bgp k {{ local {addr} as {asn}; neighbor 10.0.0.1 as 65001; hold time 30; error wait time 1, 5; ipv4 {{ import all; export all; }}; }}
"
        ),
    );
}

#[test]
fn a_gateway_that_stops_answering_pings_is_not_used() {
    require(&["ip", "bird", "nft"]);
    let lab = bridged_lab(
        "kith-bgp check-gateway",
        &[("b1", "10.0.0.2/24"), ("b2", "10.0.0.3/24")],
    );
    start_bird(&lab, "b1", "10.0.0.2", 65002);
    start_bird(&lab, "b2", "10.0.0.3", 65003);
    let dir = start_kith(&lab, "k", KITH);
    let logs = || {
        format!(
            "--- kith ---\n{}\n--- b1 ---\n{}\n--- b2 ---\n{}\nkernel: {}",
            lab.log("k", "bgpd"),
            lab.log("b1", "bird"),
            lab.log("b2", "bird"),
            kernel_route(&lab, "k", PREFIX)
        )
    };
    wait_established(&lab, &dir, &["b1", "b2"], &logs);
    let lab = &lab;
    let via = |gw: &'static str| {
        move || {
            let r = kernel_route(lab, "k", PREFIX);
            r.contains("proto bgp") && r.contains(&format!("via {gw} "))
        }
    };
    lab.wait_until("b1's route in the kernel", WAIT, via("10.0.0.2"))
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));

    // b1 stops answering pings; its BGP session is not touched.
    lab.sh(
        "b1",
        "nft add table inet kith_test && \
         nft add chain inet kith_test in '{ type filter hook input priority 0; }' && \
         nft add rule inet kith_test in icmp type echo-request drop",
    )
    .expect("drop pings on b1");
    lab.wait_until("the route moves to b2", SWITCH_BOUND, via("10.0.0.3"))
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
    let s = status(&dir).expect("status");
    assert_eq!(
        peer(&s, "b1").map(|p| p.state),
        Some("established".to_string()),
        "b1's session stays up"
    );
    assert!(
        lab.log("k", "bgpd")
            .contains("check-gateway: 10.0.0.2 unreachable"),
        "{}",
        logs()
    );

    // b1 answers again: its route is used again.
    lab.sh("b1", "nft delete table inet kith_test")
        .expect("accept pings on b1");
    lab.wait_until("the route comes back to b1", SWITCH_BOUND, via("10.0.0.2"))
        .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
}
