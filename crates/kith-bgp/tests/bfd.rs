//! The BFD session machine without sockets: two sessions wired back to back come Up by
//! the three-way handshake, speed up by a Poll sequence, and go Down on silence within
//! the detection time or when the neighbour says so.

use std::time::{Duration, Instant};

use kith_bgp::bfd::codec::diag;
use kith_bgp::bfd::{Action, BfdState, ControlPacket, Session, Timers};

fn sent(actions: &[Action]) -> Vec<ControlPacket> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(p) => Some(p.clone()),
            Action::StateChanged { .. } => None,
        })
        .collect()
}

/// Runs both sessions for `span`, delivering every packet (through the codec) unless
/// `cut`; returns the time of the first state change of `a` to `to`, if any.
fn run(
    a: &mut Session,
    b: &mut Session,
    start: Instant,
    span: Duration,
    cut: bool,
    to: BfdState,
) -> Option<Instant> {
    let mut now = start;
    let mut seen = None;
    let step = Duration::from_millis(1);
    while now < start + span {
        let mut from_a = sent(&a.tick(now));
        let mut from_b = sent(&b.tick(now));
        for _ in 0..4 {
            if cut {
                break;
            }
            let mut next_a = Vec::new();
            let mut next_b = Vec::new();
            for p in from_a.drain(..) {
                let p = ControlPacket::parse(&p.to_bytes()).expect("valid packet");
                next_b.extend(sent(&b.receive(&p, now)));
            }
            for p in from_b.drain(..) {
                let p = ControlPacket::parse(&p.to_bytes()).expect("valid packet");
                let actions = a.receive(&p, now);
                if seen.is_none()
                    && actions
                        .iter()
                        .any(|x| matches!(x, Action::StateChanged { to: t, .. } if *t == to))
                {
                    seen = Some(now);
                }
                next_a.extend(sent(&actions));
            }
            from_a = next_a;
            from_b = next_b;
        }
        if seen.is_none() && a.state() == to {
            seen = Some(now);
        }
        now += step;
    }
    seen
}

#[test]
fn handshake_then_fast_timers_then_detection() {
    let t0 = Instant::now();
    let mut a = Session::new(11, Timers::default(), t0);
    let mut b = Session::new(22, Timers::default(), t0);
    let up = run(
        &mut a,
        &mut b,
        t0,
        Duration::from_secs(3),
        false,
        BfdState::Up,
    );
    assert!(up.is_some(), "never came up");
    assert_eq!(b.state(), BfdState::Up);
    assert_eq!(a.remote_discr(), 22);
    assert_eq!(b.remote_discr(), 11);
    // After the Poll sequence both use 100 ms: detection is 300 ms.
    let t1 = t0 + Duration::from_secs(3);
    run(
        &mut a,
        &mut b,
        t1,
        Duration::from_secs(1),
        false,
        BfdState::Down,
    );
    assert_eq!(a.detection_time(), Duration::from_millis(300));
    assert_eq!(a.state(), BfdState::Up);
    // Silence: down within the detection time (plus one tick).
    let t2 = t1 + Duration::from_secs(1);
    let down = run(
        &mut a,
        &mut b,
        t2,
        Duration::from_secs(2),
        true,
        BfdState::Down,
    )
    .expect("never went down");
    assert!(
        down - t2 <= Duration::from_millis(301),
        "detected after {:?}",
        down - t2
    );
    assert_eq!(a.diag(), diag::DETECTION_EXPIRED);
    assert_eq!(a.remote_discr(), 0);
}

#[test]
fn packets_are_slow_until_up_and_poll_gets_final() {
    let t0 = Instant::now();
    let mut a = Session::new(5, Timers::default(), t0);
    let first = sent(&a.tick(t0));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].state, BfdState::Down);
    assert_eq!(first[0].desired_min_tx, Duration::from_secs(1));
    assert_eq!(first[0].your_discr, 0);
    // Nothing more for at least 750 ms (1 s less jitter).
    assert!(sent(&a.tick(t0 + Duration::from_millis(700))).is_empty());
    // A Poll is answered at once with Final.
    let poll = ControlPacket {
        poll: true,
        ..peer_packet(BfdState::Down, 0)
    };
    let answer = sent(&a.receive(&poll, t0 + Duration::from_millis(10)));
    assert!(answer.iter().any(|p| p.fin && !p.poll), "{answer:?}");
}

fn peer_packet(state: BfdState, your: u32) -> ControlPacket {
    ControlPacket {
        diag: 0,
        state,
        poll: false,
        fin: false,
        cpi: false,
        auth: false,
        demand: false,
        detect_mult: 3,
        my_discr: 99,
        your_discr: your,
        desired_min_tx: Duration::from_millis(100),
        required_min_rx: Duration::from_millis(100),
        required_min_echo_rx: Duration::ZERO,
    }
}

#[test]
fn neighbour_down_and_admin_down_bring_the_session_down() {
    let t0 = Instant::now();
    for remote_says in [BfdState::Down, BfdState::AdminDown] {
        let mut a = Session::new(5, Timers::default(), t0);
        a.receive(&peer_packet(BfdState::Init, 5), t0);
        assert_eq!(a.state(), BfdState::Up);
        let actions = a.receive(&peer_packet(remote_says, 5), t0);
        assert_eq!(a.state(), BfdState::Down, "{remote_says:?}");
        assert_eq!(a.diag(), diag::NEIGHBOR_DOWN);
        assert!(actions.iter().any(|x| matches!(
            x,
            Action::StateChanged {
                from: BfdState::Up,
                to: BfdState::Down,
                ..
            }
        )));
    }
    // A packet for another discriminator is ignored.
    let mut a = Session::new(5, Timers::default(), t0);
    assert!(a.receive(&peer_packet(BfdState::Init, 6), t0).is_empty());
    assert_eq!(a.state(), BfdState::Down);
}
