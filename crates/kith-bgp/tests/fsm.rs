//! The RFC 4271 state machine, driven without sockets: opens, timers, errors, backoff.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use kith_bgp::codec::{Capability, Message, Notification, Open, code};
use kith_bgp::fsm::{Action, Event, Fsm, FsmConfig, State, own_open};

const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER_ID: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn config() -> FsmConfig {
    FsmConfig::new(64514, LOCAL_ID, 64513)
}

fn peer_open(hold: u16) -> Open {
    Open {
        my_as: 64513,
        hold_time: hold,
        bgp_id: PEER_ID,
        capabilities: vec![Capability::FourOctetAs(64513), Capability::RouteRefresh],
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// Drives a machine to Established; returns it and the time.
fn established(cfg: FsmConfig, peer_hold: u16) -> (Fsm, Instant) {
    let t0 = Instant::now();
    let mut fsm = Fsm::new(cfg);
    fsm.handle(Event::ManualStart, t0);
    fsm.handle(Event::TcpConnectionConfirmed, t0);
    fsm.handle(Event::OpenReceived(peer_open(peer_hold)), t0);
    let actions = fsm.handle(Event::KeepaliveReceived, t0);
    assert!(matches!(actions.as_slice(), [Action::Up(_)]), "{actions:?}");
    (fsm, t0)
}

#[test]
fn active_open_reaches_established() {
    let t0 = Instant::now();
    let mut fsm = Fsm::new(config());
    assert_eq!(fsm.handle(Event::ManualStart, t0), vec![Action::Connect]);
    assert_eq!(fsm.state(), State::Connect);
    let actions = fsm.handle(Event::TcpConnectionConfirmed, t0);
    assert_eq!(
        actions,
        vec![Action::Send(Message::Open(own_open(&config())))]
    );
    assert_eq!(fsm.state(), State::OpenSent);
    let actions = fsm.handle(Event::OpenReceived(peer_open(90)), t0);
    assert_eq!(actions, vec![Action::Send(Message::Keepalive)]);
    assert_eq!(fsm.state(), State::OpenConfirm);
    let actions = fsm.handle(Event::KeepaliveReceived, t0);
    let [Action::Up(neg)] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(fsm.state(), State::Established);
    assert_eq!((neg.hold_time, neg.keepalive), (90, 30));
    assert_eq!(neg.peer_as, 64513);
    assert!(neg.four_octet_as && neg.route_refresh && neg.ebgp);
    assert_eq!(fsm.handle(Event::UpdateReceived, t0), vec![Action::Deliver]);
}

#[test]
fn own_open_announces_the_capabilities() {
    let open = own_open(&config());
    assert_eq!(open.my_as, 64514);
    assert_eq!(open.hold_time, 180);
    assert!(open.four_octet_as() && open.route_refresh());
    assert_eq!(open.graceful_restart_time(), Some(120));
    let mut big = config();
    big.local_as = 4_200_000_000;
    assert_eq!(own_open(&big).my_as, 23456);
}

#[test]
fn passive_open_waits_for_the_peer() {
    let t0 = Instant::now();
    let mut cfg = config();
    cfg.passive = true;
    let mut fsm = Fsm::new(cfg);
    assert_eq!(fsm.handle(Event::ManualStart, t0), vec![]);
    assert_eq!(fsm.state(), State::Active);
    // The connect-retry timer never makes a passive session connect.
    let t1 = t0 + secs(600);
    assert_eq!(fsm.expired(t1), Some(Event::ConnectRetryTimerExpires));
    assert_eq!(fsm.handle(Event::ConnectRetryTimerExpires, t1), vec![]);
    assert_eq!(fsm.state(), State::Active);
    let actions = fsm.handle(Event::TcpConnectionConfirmed, t1);
    assert!(matches!(
        actions.as_slice(),
        [Action::Send(Message::Open(_))]
    ));
    assert_eq!(fsm.state(), State::OpenSent);
}

#[test]
fn keepalive_and_hold_timers() {
    let (mut fsm, t0) = established(config(), 180);
    assert_eq!(fsm.negotiated().unwrap().keepalive, 60);
    assert_eq!(fsm.next_deadline(), Some(t0 + secs(60)));
    assert_eq!(fsm.expired(t0 + secs(59)), None);
    assert_eq!(
        fsm.expired(t0 + secs(60)),
        Some(Event::KeepaliveTimerExpires)
    );
    let t1 = t0 + secs(60);
    assert_eq!(
        fsm.handle(Event::KeepaliveTimerExpires, t1),
        vec![Action::Send(Message::Keepalive)]
    );
    // A KEEPALIVE from the peer pushes the hold timer.
    fsm.handle(Event::KeepaliveReceived, t1);
    assert_eq!(
        fsm.expired(t1 + secs(179)),
        Some(Event::KeepaliveTimerExpires)
    );
    let t2 = t1 + secs(180);
    assert_eq!(fsm.expired(t2), Some(Event::HoldTimerExpires));
    let actions = fsm.handle(Event::HoldTimerExpires, t2);
    assert_eq!(
        actions[0],
        Action::Send(Message::Notification(Notification::new(
            code::HOLD_TIMER,
            0
        )))
    );
    assert_eq!(actions[1], Action::Disconnect);
    assert!(matches!(&actions[2], Action::Down(r) if !r.connection_lost));
    assert_eq!(fsm.state(), State::Idle);
    assert_eq!(fsm.last_error(), Some("hold timer expired"));
    // The automatic restart follows after the backoff.
    let deadline = fsm.next_deadline().unwrap();
    assert!(deadline > t2);
    assert_eq!(
        fsm.handle(Event::ConnectRetryTimerExpires, deadline),
        vec![Action::Connect]
    );
}

#[test]
fn configured_keepalive_and_hold_zero() {
    let mut cfg = config();
    cfg.hold_time = 9;
    cfg.keepalive = Some(1);
    let (fsm, _) = established(cfg, 180);
    let neg = fsm.negotiated().unwrap();
    assert_eq!((neg.hold_time, neg.keepalive), (9, 1));
    let mut cfg = config();
    cfg.hold_time = 0;
    let (fsm, _) = established(cfg, 180);
    assert_eq!(fsm.negotiated().unwrap().hold_time, 0);
    assert_eq!(
        fsm.next_deadline(),
        None,
        "hold 0: no keepalive, no hold timer"
    );
}

#[test]
fn wrong_peer_as_is_refused() {
    let t0 = Instant::now();
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::ManualStart, t0);
    fsm.handle(Event::TcpConnectionConfirmed, t0);
    let mut open = peer_open(90);
    open.capabilities = vec![Capability::FourOctetAs(64999)];
    let actions = fsm.handle(Event::OpenReceived(open), t0);
    let Action::Send(Message::Notification(n)) = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!((n.code, n.subcode), (code::OPEN, code::BAD_PEER_AS));
    assert_eq!(actions[1], Action::Disconnect);
    assert_eq!(fsm.state(), State::Idle);
}

#[test]
fn same_identifier_on_ibgp_is_refused() {
    let t0 = Instant::now();
    let mut fsm = Fsm::new(FsmConfig::new(64513, PEER_ID, 64513));
    fsm.handle(Event::ManualStart, t0);
    fsm.handle(Event::TcpConnectionConfirmed, t0);
    let actions = fsm.handle(Event::OpenReceived(peer_open(90)), t0);
    let Action::Send(Message::Notification(n)) = &actions[0] else {
        panic!("{actions:?}")
    };
    assert_eq!((n.code, n.subcode), (code::OPEN, code::BAD_BGP_ID));
}

#[test]
fn unexpected_messages_are_fsm_errors() {
    let t0 = Instant::now();
    let mut fsm = Fsm::new(config());
    fsm.handle(Event::ManualStart, t0);
    fsm.handle(Event::TcpConnectionConfirmed, t0);
    let actions = fsm.handle(Event::UpdateReceived, t0);
    assert_eq!(
        actions[0],
        Action::Send(Message::Notification(Notification::new(code::FSM, 1)))
    );
    let (mut fsm, t0) = established(config(), 90);
    let actions = fsm.handle(Event::OpenReceived(peer_open(90)), t0);
    assert_eq!(
        actions[0],
        Action::Send(Message::Notification(Notification::new(code::FSM, 3)))
    );
}

#[test]
fn decode_errors_send_their_notification() {
    let (mut fsm, t0) = established(config(), 90);
    let n = Notification::new(code::UPDATE, code::MALFORMED_ATTRIBUTE_LIST);
    let actions = fsm.handle(Event::DecodeError(n.clone()), t0);
    assert_eq!(actions[0], Action::Send(Message::Notification(n)));
    assert_eq!(actions[1], Action::Disconnect);
    assert!(matches!(actions[2], Action::Down(_)));
}

#[test]
fn connection_loss_and_notifications() {
    let (mut fsm, t0) = established(config(), 90);
    let actions = fsm.handle(Event::TcpConnectionFails, t0);
    assert!(matches!(&actions[..], [Action::Disconnect, Action::Down(r)] if r.connection_lost));
    let (mut fsm, t0) = established(config(), 90);
    let actions = fsm.handle(
        Event::NotificationReceived(Notification::new(code::CEASE, code::ADMIN_RESET)),
        t0,
    );
    assert!(matches!(&actions[..], [Action::Disconnect, Action::Down(r)] if !r.connection_lost));
    assert!(fsm.last_error().unwrap().contains("administrative reset"));
}

#[test]
fn manual_stop_sends_cease() {
    let (mut fsm, t0) = established(config(), 90);
    let actions = fsm.handle(Event::ManualStop, t0);
    assert_eq!(
        actions[0],
        Action::Send(Message::Notification(Notification::new(
            code::CEASE,
            code::ADMIN_SHUTDOWN
        )))
    );
    assert_eq!(fsm.state(), State::Idle);
    assert_eq!(fsm.next_deadline(), None, "no restart after a stop");
}

#[test]
fn connect_retry_backs_off_up_to_the_cap() {
    let mut cfg = config();
    cfg.connect_retry = secs(5);
    cfg.connect_retry_max = secs(60);
    let mut fsm = Fsm::new(cfg);
    let mut now = Instant::now();
    fsm.handle(Event::ManualStart, now);
    let mut delays = Vec::new();
    for _ in 0..6 {
        let next = fsm.next_deadline().unwrap();
        delays.push((next - now).as_secs());
        now = next;
        let actions = fsm.handle(Event::ConnectRetryTimerExpires, now);
        assert!(actions.contains(&Action::Connect));
    }
    assert_eq!(delays, vec![5, 10, 20, 40, 60, 60]);
    // A refused connection waits in Active, then tries again.
    fsm.handle(Event::TcpConnectionFails, now);
    assert_eq!(fsm.state(), State::Active);
    // Established resets the backoff.
    fsm.handle(Event::TcpConnectionConfirmed, now);
    fsm.handle(Event::OpenReceived(peer_open(90)), now);
    fsm.handle(Event::KeepaliveReceived, now);
    assert_eq!(fsm.retry_delay(), secs(5));
}

#[test]
fn idle_backoff_accepts_the_peers_connection() {
    let (mut fsm, t0) = established(config(), 90);
    fsm.handle(Event::TcpConnectionFails, t0);
    assert_eq!(fsm.state(), State::Idle);
    let actions = fsm.handle(Event::TcpConnectionConfirmed, t0);
    assert!(matches!(
        actions.as_slice(),
        [Action::Send(Message::Open(_))]
    ));
    assert_eq!(fsm.state(), State::OpenSent);
}
