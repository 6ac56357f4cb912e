//! The gateway prober against a real kernel: ping sockets and raw sockets bound to an
//! interface, driving the state machine until the gateway is reachable, then unreachable
//! when it stops answering. Needs root (network namespaces); fails, never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use kith_net::testns::TestNetns;
use kith_route::probe::socket::{Pinger, SocketKind};
use kith_route::probe::{Action, GatewayFsm, ProbeKey, ProbeSettings, Reach};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

fn ns(tag: &str) -> TestNetns {
    TestNetns::new(tag).unwrap_or_else(|e| panic!("{e}"))
}

/// `here` (r0, 10.0.0.1/24) and `there` (r1, 10.0.0.2/24), joined by a veth pair.
fn pair(tag: &str) -> (TestNetns, TestNetns) {
    let here = ns(&format!("{tag}-a"));
    let there = ns(&format!("{tag}-b"));
    here.ip(&["link", "add", "r0", "type", "veth", "peer", "name", "r1"])
        .unwrap();
    here.ip(&["link", "set", "r1", "netns", there.name()])
        .unwrap();
    here.ip(&["addr", "add", "10.0.0.1/24", "dev", "r0"])
        .unwrap();
    there
        .ip(&["addr", "add", "10.0.0.2/24", "dev", "r1"])
        .unwrap();
    here.ip(&["link", "set", "r0", "up"]).unwrap();
    there.ip(&["link", "set", "r1", "up"]).unwrap();
    (here, there)
}

fn settings() -> ProbeSettings {
    ProbeSettings {
        interval: Duration::from_millis(100),
        threshold: 2,
        recovery: 1,
    }
}

/// Probes 10.0.0.2 until `want` or [`WAIT`]; `between` runs once the gateway answered.
async fn probe_until(kind: SocketKind, mut between: impl FnMut(), want: Reach) -> Vec<Action> {
    let key = ProbeKey {
        gateway: "10.0.0.2".parse().unwrap(),
        settings: settings(),
    };
    let index = kith_net::Net::new()
        .unwrap()
        .link_index("r0")
        .await
        .unwrap()
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pinger = Pinger::open(key, Some(("r0", index)), tx).unwrap();
    assert_eq!(pinger.kind(), kind);
    let mut fsm = GatewayFsm::new(key.settings, Instant::now());
    let mut seen = Vec::new();
    let mut cut = false;
    let end = Instant::now() + WAIT;
    while Instant::now() < end {
        let deadline = tokio::time::Instant::from_std(fsm.next_deadline());
        tokio::select! {
            Some(reply) = rx.recv() => {
                assert_eq!(reply.key, key);
                seen.extend(fsm.on_reply(reply.seq, reply.at));
            }
            _ = tokio::time::sleep_until(deadline) => {
                for action in fsm.poll(Instant::now()) {
                    match action {
                        Action::Send { seq } => {
                            if let Err(e) = pinger.send(seq) {
                                seen.extend(fsm.on_send_error(seq, Instant::now()));
                                assert!(cut, "send failed before the cut: {e}");
                            }
                        }
                        other => seen.push(other),
                    }
                }
            }
        }
        if fsm.reach() == Reach::Reachable && !cut {
            between();
            cut = true;
        }
        if fsm.reach() == want && cut {
            return seen;
        }
    }
    panic!("gateway never became {want:?}: {seen:?}");
}

fn check(seen: &[Action]) {
    assert!(
        matches!(seen.first(), Some(Action::Reachable { answered: 1, recovered: false, rtt }) if *rtt < WAIT),
        "{seen:?}"
    );
    assert!(
        matches!(seen.last(), Some(Action::Unreachable { lost: 2 })),
        "{seen:?}"
    );
}

#[test]
fn raw_socket_probes_until_the_gateway_stops_answering() {
    let (here, there) = pair("probe-raw");
    // The default range "1 0" admits no group: routed falls back to a raw socket.
    here.exec(
        "sh",
        &["-c", "echo 1 0 > /proc/sys/net/ipv4/ping_group_range"],
    )
    .unwrap();
    let seen = here.run(|| async {
        probe_until(
            SocketKind::Raw,
            || {
                there
                    .ip(&["addr", "del", "10.0.0.2/24", "dev", "r1"])
                    .unwrap();
            },
            Reach::Unreachable,
        )
        .await
    });
    check(&seen);
}

#[test]
fn ping_socket_probes_until_the_gateway_stops_answering() {
    let (here, there) = pair("probe-dgram");
    here.exec(
        "sh",
        &["-c", "echo 0 0 > /proc/sys/net/ipv4/ping_group_range"],
    )
    .unwrap();
    let seen = here.run(|| async {
        probe_until(
            SocketKind::Ping,
            || {
                there
                    .ip(&["addr", "del", "10.0.0.2/24", "dev", "r1"])
                    .unwrap();
            },
            Reach::Unreachable,
        )
        .await
    });
    check(&seen);
}

#[test]
fn probes_are_bound_to_the_gateway_interface() {
    // 10.0.0.2 answers on r0's side, but a socket bound to another interface (lo) never
    // reaches it: the route's interface, not whatever route the kernel would pick.
    let (here, _there) = pair("probe-bind");
    here.ip(&["link", "set", "lo", "up"]).unwrap();
    here.run(|| async {
        let key = ProbeKey {
            gateway: "10.0.0.2".parse().unwrap(),
            settings: settings(),
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let pinger = Pinger::open(key, Some(("lo", 1)), tx).unwrap();
        for seq in 1..=3 {
            let _ = pinger.send(seq);
        }
        let got = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await;
        assert!(got.is_err(), "no answer through lo: {got:?}");
    });
}

/// The same over IPv6: `here` 2001:db8::1/64 on r0, `there` 2001:db8::2/64 on r1.
fn pair6(tag: &str) -> (TestNetns, TestNetns) {
    let (here, there) = pair(tag);
    here.ip(&["addr", "add", "2001:db8::1/64", "dev", "r0", "nodad"])
        .unwrap();
    there
        .ip(&["addr", "add", "2001:db8::2/64", "dev", "r1", "nodad"])
        .unwrap();
    (here, there)
}

async fn answered_v6(kind: SocketKind) {
    let key = ProbeKey {
        gateway: "2001:db8::2".parse().unwrap(),
        settings: settings(),
    };
    let index = kith_net::Net::new()
        .unwrap()
        .link_index("r0")
        .await
        .unwrap()
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let pinger = Pinger::open(key, Some(("r0", index)), tx).unwrap();
    assert_eq!(pinger.kind(), kind);
    let end = Instant::now() + WAIT;
    let mut seq = 0u16;
    while Instant::now() < end {
        seq += 1;
        let _ = pinger.send(seq);
        if let Ok(Some(reply)) = tokio::time::timeout(Duration::from_millis(200), rx.recv()).await {
            assert_eq!(reply.key, key);
            assert!(reply.seq <= seq);
            return;
        }
    }
    panic!("no ICMPv6 echo reply from 2001:db8::2 in {WAIT:?}");
}

#[test]
fn ipv6_gateways_are_probed_with_both_socket_kinds() {
    let (here, _there) = pair6("probe-v6");
    here.exec(
        "sh",
        &["-c", "echo 1 0 > /proc/sys/net/ipv4/ping_group_range"],
    )
    .unwrap();
    here.run(|| answered_v6(SocketKind::Raw));
    here.exec(
        "sh",
        &["-c", "echo 0 0 > /proc/sys/net/ipv4/ping_group_range"],
    )
    .unwrap();
    here.run(|| answered_v6(SocketKind::Ping));
}
