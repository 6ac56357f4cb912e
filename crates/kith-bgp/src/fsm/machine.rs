//! The transition function: [`Fsm::handle`].

use std::time::{Duration, Instant};

use crate::codec::{Message, Notification, code};

use super::negotiate::{negotiate, own_open};
use super::{Action, DownReason, Event, Fsm, OPEN_HOLD, State};

/// FSM error subcodes (RFC 6608).
const FSM_IN_OPENSENT: u8 = 1;
const FSM_IN_OPENCONFIRM: u8 = 2;
const FSM_IN_ESTABLISHED: u8 = 3;

impl Fsm {
    /// Applies `event` at time `now`; returns what the caller must do, in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        match (self.state, event) {
            (_, Event::ManualStop) => {
                self.started = false;
                if matches!(
                    self.state,
                    State::OpenSent | State::OpenConfirm | State::Established
                ) {
                    let n = Notification::new(code::CEASE, code::ADMIN_SHUTDOWN);
                    actions.push(Action::Send(Message::Notification(n)));
                }
                self.close(&mut actions, "stopped", false);
                self.connect_retry_at = None;
                self.failures = 0;
            }
            (State::Idle, Event::ManualStart) => {
                self.started = true;
                self.start(now, &mut actions);
            }
            (_, Event::ManualStart) => {}
            (State::Idle, Event::ConnectRetryTimerExpires) => {
                // The automatic restart after a failure.
                if self.started {
                    self.start(now, &mut actions);
                } else {
                    self.connect_retry_at = None;
                }
            }
            (State::Idle, Event::TcpConnectionConfirmed) => {
                // A connection the peer opened while we wait out the backoff.
                if self.started {
                    self.send_open(now, &mut actions);
                } else {
                    actions.push(Action::Disconnect);
                }
            }
            (State::Idle, _) => {}
            (State::Connect | State::Active, Event::TcpConnectionConfirmed) => {
                self.send_open(now, &mut actions);
            }
            (State::Connect, Event::TcpConnectionFails) => {
                self.state = State::Active;
                self.connect_retry_at = Some(now + self.retry_delay());
            }
            (State::Connect | State::Active, Event::ConnectRetryTimerExpires) => {
                if self.config.passive {
                    self.state = State::Active;
                    self.connect_retry_at = Some(now + self.retry_delay());
                } else {
                    if self.state == State::Connect {
                        actions.push(Action::Disconnect);
                    }
                    self.failures = self.failures.saturating_add(1);
                    self.state = State::Connect;
                    self.connect_retry_at = Some(now + self.retry_delay());
                    actions.push(Action::Connect);
                }
            }
            (State::Active, Event::TcpConnectionFails) => {}
            (State::Connect | State::Active, _) => {
                // Anything else before a connection exists is an FSM error (RFC 4271 8.2.2).
                self.fail(now, &mut actions, "unexpected event before OPEN", None);
            }
            (State::OpenSent, Event::OpenReceived(open)) => match negotiate(&self.config, &open) {
                Ok(neg) => {
                    self.connect_retry_at = None;
                    self.hold_at = (neg.hold_time > 0)
                        .then(|| now + Duration::from_secs(u64::from(neg.hold_time)));
                    self.keepalive_at = (neg.keepalive > 0)
                        .then(|| now + Duration::from_secs(u64::from(neg.keepalive)));
                    self.negotiated = Some(neg);
                    self.state = State::OpenConfirm;
                    actions.push(Action::Send(Message::Keepalive));
                }
                Err(n) => {
                    let text = format!("refused the peer's OPEN: {}", n.describe());
                    self.fail(now, &mut actions, &text, Some(n));
                }
            },
            (State::OpenSent, Event::TcpConnectionFails) => {
                self.hold_at = None;
                self.state = State::Active;
                self.connect_retry_at = Some(now + self.retry_delay());
            }
            (State::OpenConfirm, Event::KeepaliveReceived) => {
                self.state = State::Established;
                self.failures = 0;
                self.last_error = None;
                self.touch_hold(now);
                if let Some(neg) = &self.negotiated {
                    actions.push(Action::Up(neg.clone()));
                }
            }
            (State::Established, Event::UpdateReceived | Event::RouteRefreshReceived) => {
                self.touch_hold(now);
                actions.push(Action::Deliver);
            }
            (State::Established, Event::KeepaliveReceived) => self.touch_hold(now),
            (State::OpenConfirm | State::Established, Event::KeepaliveTimerExpires) => {
                actions.push(Action::Send(Message::Keepalive));
                self.keepalive_at = self
                    .negotiated
                    .as_ref()
                    .filter(|n| n.keepalive > 0)
                    .map(|n| now + Duration::from_secs(u64::from(n.keepalive)));
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::HoldTimerExpires,
            ) => {
                let n = Notification::new(code::HOLD_TIMER, 0);
                self.fail(now, &mut actions, "hold timer expired", Some(n));
            }
            (
                State::OpenSent | State::OpenConfirm | State::Established,
                Event::NotificationReceived(n),
            ) => {
                let text = format!("the peer sent a NOTIFICATION: {n}");
                self.fail(now, &mut actions, &text, None);
            }
            (State::OpenSent | State::OpenConfirm | State::Established, Event::DecodeError(n)) => {
                let text = format!("bad message from the peer: {}", n.describe());
                self.fail(now, &mut actions, &text, Some(n));
            }
            (State::OpenConfirm | State::Established, Event::TcpConnectionFails) => {
                let was_up = self.state == State::Established;
                self.close_after_failure(now, &mut actions, "connection lost", was_up);
            }
            (state, _) => {
                let subcode = match state {
                    State::OpenSent => FSM_IN_OPENSENT,
                    State::OpenConfirm => FSM_IN_OPENCONFIRM,
                    _ => FSM_IN_ESTABLISHED,
                };
                let n = Notification::new(code::FSM, subcode);
                self.fail(
                    now,
                    &mut actions,
                    "unexpected message for the state",
                    Some(n),
                );
            }
        }
        actions
    }

    fn start(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.connect_retry_at = Some(now + self.retry_delay());
        if self.config.passive {
            self.state = State::Active;
        } else {
            self.state = State::Connect;
            actions.push(Action::Connect);
        }
    }

    fn send_open(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.connect_retry_at = None;
        self.hold_at = Some(now + OPEN_HOLD);
        self.state = State::OpenSent;
        actions.push(Action::Send(Message::Open(own_open(&self.config))));
    }

    fn touch_hold(&mut self, now: Instant) {
        self.hold_at = self
            .negotiated
            .as_ref()
            .filter(|n| n.hold_time > 0)
            .map(|n| now + Duration::from_secs(u64::from(n.hold_time)));
    }

    /// An error: NOTIFICATION (when given), close, back to Idle with a backoff.
    fn fail(
        &mut self,
        now: Instant,
        actions: &mut Vec<Action>,
        text: &str,
        n: Option<Notification>,
    ) {
        if let Some(n) = n {
            actions.push(Action::Send(Message::Notification(n)));
        }
        self.close_after_failure(now, actions, text, false);
    }

    fn close_after_failure(
        &mut self,
        now: Instant,
        actions: &mut Vec<Action>,
        text: &str,
        lost: bool,
    ) {
        self.close(actions, text, lost);
        self.failures = self.failures.saturating_add(1);
        self.connect_retry_at = self.started.then(|| now + self.retry_delay());
    }

    fn close(&mut self, actions: &mut Vec<Action>, text: &str, connection_lost: bool) {
        if self.state != State::Idle {
            actions.push(Action::Disconnect);
        }
        if self.state == State::Established {
            actions.push(Action::Down(DownReason {
                text: text.to_string(),
                connection_lost,
            }));
        }
        if text != "stopped" {
            self.last_error = Some(text.to_string());
        }
        self.state = State::Idle;
        self.hold_at = None;
        self.keepalive_at = None;
        self.negotiated = None;
    }
}
