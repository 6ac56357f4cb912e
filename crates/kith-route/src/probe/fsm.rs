//! The gateway prober as a pure state machine: (probe results, time) -> (reachable?, actions).
//!
//! One [`GatewayFsm`] per probed gateway. The I/O layer calls [`GatewayFsm::poll`] when
//! [`GatewayFsm::next_deadline`] is reached, sends an echo request for every
//! [`Action::Send`], and feeds answers back with [`GatewayFsm::on_reply`]. A probe that is
//! not answered before the next one is due (one interval) is lost.

use std::time::{Duration, Instant};

/// How a gateway is probed: RouterOS sends a ping every 10 s and declares the gateway
/// unreachable after 2 lost in a row; Kith lets each route choose (down to 100 ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeSettings {
    /// Time between two probes; also how long a probe may wait for its answer.
    pub interval: Duration,
    /// Probes lost in a row that make the gateway unreachable (at least 1).
    pub threshold: u8,
    /// Probes answered in a row that make an unreachable gateway reachable (at least 1).
    pub recovery: u8,
}

impl ProbeSettings {
    /// RouterOS `check-gateway=ping` timing: every 10 s, 2 misses, 1 answer to recover.
    pub const ROUTEROS: ProbeSettings = ProbeSettings {
        interval: Duration::from_secs(10),
        threshold: 2,
        recovery: 1,
    };

    fn threshold(self) -> u32 {
        u32::from(self.threshold.max(1))
    }

    fn recovery(self) -> u32 {
        u32::from(self.recovery.max(1))
    }
}

impl Default for ProbeSettings {
    fn default() -> Self {
        ProbeSettings::ROUTEROS
    }
}

/// What is known about a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reach {
    /// Not decided yet (no answer and fewer losses than the threshold): routes stay in.
    Unknown,
    /// Answers: its routes are in the kernel.
    Reachable,
    /// Stopped answering: its routes are withdrawn.
    Unreachable,
}

impl Reach {
    /// `reachable`, `unreachable`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Unknown => "unknown",
            Reach::Reachable => "reachable",
            Reach::Unreachable => "unreachable",
        }
    }
}

/// What the state machine asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send an echo request with this sequence number now.
    Send {
        /// Sequence number of the request.
        seq: u16,
    },
    /// The gateway just became unreachable: withdraw its routes.
    Unreachable {
        /// Probes lost in a row.
        lost: u32,
    },
    /// The gateway just became reachable: (re)install its routes.
    Reachable {
        /// Probes answered in a row.
        answered: u32,
        /// Round-trip time of the last answer.
        rtt: Duration,
        /// True when it was unreachable before (a recovery), false for the first answer.
        recovered: bool,
    },
}

/// The probing state of one gateway.
#[derive(Debug, Clone)]
pub struct GatewayFsm {
    settings: ProbeSettings,
    reach: Reach,
    lost_in_row: u32,
    answered_in_row: u32,
    sent: u64,
    answered: u64,
    outstanding: Option<(u16, Instant)>,
    next_seq: u16,
    next_send: Instant,
    last_rtt: Option<Duration>,
    since: Instant,
}

impl GatewayFsm {
    /// A gateway not probed yet; the first probe is due at `now`.
    pub fn new(settings: ProbeSettings, now: Instant) -> Self {
        GatewayFsm {
            settings,
            reach: Reach::Unknown,
            lost_in_row: 0,
            answered_in_row: 0,
            sent: 0,
            answered: 0,
            outstanding: None,
            next_seq: 1,
            next_send: now,
            last_rtt: None,
            since: now,
        }
    }

    /// The settings it runs with.
    pub fn settings(&self) -> ProbeSettings {
        self.settings
    }

    /// What is known about the gateway.
    pub fn reach(&self) -> Reach {
        self.reach
    }

    /// Whether routes through this gateway belong in the kernel (not known unreachable).
    pub fn usable(&self) -> bool {
        self.reach != Reach::Unreachable
    }

    /// Round-trip time of the last answered probe.
    pub fn last_rtt(&self) -> Option<Duration> {
        self.last_rtt
    }

    /// Probes lost in a row until now.
    pub fn lost_in_row(&self) -> u32 {
        self.lost_in_row
    }

    /// Probes sent and answered since the gateway was first probed.
    pub fn counts(&self) -> (u64, u64) {
        (self.sent, self.answered)
    }

    /// When the reachability last changed (or probing started).
    pub fn since(&self) -> Instant {
        self.since
    }

    /// When [`GatewayFsm::poll`] must be called next.
    pub fn next_deadline(&self) -> Instant {
        match self.outstanding {
            Some((_, sent)) => self.next_send.min(sent + self.settings.interval),
            None => self.next_send,
        }
    }

    /// Expires the outstanding probe if its time is up, then sends the next one if due.
    pub fn poll(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let due = now >= self.next_send;
        // A probe is lost when its time is up, or at the latest when the next one goes
        // out (a timer that wakes up a little late must not let it slip uncounted).
        if let Some((_, sent)) = self.outstanding
            && (due || now >= sent + self.settings.interval)
        {
            self.outstanding = None;
            self.lost(now, &mut actions);
        }
        if due {
            let seq = self.next_seq;
            self.next_seq = self.next_seq.wrapping_add(1);
            self.outstanding = Some((seq, now));
            self.sent += 1;
            // Keep the cadence; after a long stall (a suspended machine) start again from now.
            self.next_send += self.settings.interval;
            if self.next_send <= now {
                self.next_send = now + self.settings.interval;
            }
            actions.push(Action::Send { seq });
        }
        actions
    }

    /// An echo reply arrived at `now`. Answers to probes already counted lost, or that
    /// were never sent, are ignored.
    pub fn on_reply(&mut self, seq: u16, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        let Some((expected, sent)) = self.outstanding else {
            return actions;
        };
        if seq != expected {
            return actions;
        }
        self.outstanding = None;
        let rtt = now.saturating_duration_since(sent);
        self.last_rtt = Some(rtt);
        self.answered += 1;
        self.lost_in_row = 0;
        self.answered_in_row = self.answered_in_row.saturating_add(1);
        let becomes_reachable = match self.reach {
            Reach::Reachable => false,
            Reach::Unknown => true,
            Reach::Unreachable => self.answered_in_row >= self.settings.recovery(),
        };
        if becomes_reachable {
            let recovered = self.reach == Reach::Unreachable;
            self.reach = Reach::Reachable;
            self.since = now;
            actions.push(Action::Reachable {
                answered: self.answered_in_row,
                rtt,
                recovered,
            });
        }
        actions
    }

    /// Sending probe `seq` failed (no route, interface gone): it counts as lost now.
    pub fn on_send_error(&mut self, seq: u16, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if matches!(self.outstanding, Some((s, _)) if s == seq) {
            self.outstanding = None;
            self.lost(now, &mut actions);
        }
        actions
    }

    fn lost(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.answered_in_row = 0;
        self.lost_in_row = self.lost_in_row.saturating_add(1);
        if self.reach != Reach::Unreachable && self.lost_in_row >= self.settings.threshold() {
            self.reach = Reach::Unreachable;
            self.since = now;
            actions.push(Action::Unreachable {
                lost: self.lost_in_row,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn fast(threshold: u8, recovery: u8) -> ProbeSettings {
        ProbeSettings {
            interval: 100 * MS,
            threshold,
            recovery,
        }
    }

    /// Drives a gateway: at each 100 ms tick it answers (after 1 ms) when `up(tick)`.
    /// Returns the transitions with the tick they happened at.
    fn drive(
        fsm: &mut GatewayFsm,
        t0: Instant,
        ticks: u32,
        up: impl Fn(u32) -> bool,
    ) -> Vec<(u32, Action)> {
        let mut out = Vec::new();
        for tick in 0..ticks {
            let now = t0 + 100 * MS * tick;
            for action in fsm.poll(now) {
                match action {
                    Action::Send { seq } if up(tick) => {
                        for a in fsm.on_reply(seq, now + MS) {
                            out.push((tick, a));
                        }
                    }
                    Action::Send { .. } => {}
                    other => out.push((tick, other)),
                }
            }
        }
        out
    }

    #[test]
    fn first_probe_is_sent_at_once_and_answer_makes_reachable() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(ProbeSettings::ROUTEROS, t0);
        assert_eq!(fsm.reach(), Reach::Unknown);
        assert!(fsm.usable(), "unknown gateways keep their routes");
        assert_eq!(fsm.next_deadline(), t0);
        assert_eq!(fsm.poll(t0), vec![Action::Send { seq: 1 }]);
        assert_eq!(fsm.next_deadline(), t0 + Duration::from_secs(10));
        assert_eq!(fsm.poll(t0 + MS), vec![], "nothing due yet");
        let actions = fsm.on_reply(1, t0 + 3 * MS);
        assert_eq!(
            actions,
            vec![Action::Reachable {
                answered: 1,
                rtt: 3 * MS,
                recovered: false
            }]
        );
        assert_eq!(fsm.reach(), Reach::Reachable);
        assert_eq!(fsm.last_rtt(), Some(3 * MS));
        assert_eq!(fsm.counts(), (1, 1));
    }

    #[test]
    fn routeros_timing_two_misses_make_unreachable() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut fsm = GatewayFsm::new(ProbeSettings::ROUTEROS, t0);
        let seq = match fsm.poll(t0)[..] {
            [Action::Send { seq }] => seq,
            ref other => panic!("{other:?}"),
        };
        fsm.on_reply(seq, t0 + MS);
        // The gateway dies; probe 2 at 10 s is lost at 20 s, probe 3 at 20 s at 30 s.
        assert_eq!(fsm.poll(t0 + 10 * s), vec![Action::Send { seq: 2 }]);
        assert_eq!(fsm.poll(t0 + 20 * s), vec![Action::Send { seq: 3 }]);
        assert_eq!(fsm.lost_in_row(), 1);
        assert!(fsm.usable(), "one miss is not enough");
        assert_eq!(
            fsm.poll(t0 + 30 * s),
            vec![Action::Unreachable { lost: 2 }, Action::Send { seq: 4 }]
        );
        assert!(!fsm.usable());
        // Stays unreachable without repeating the transition.
        assert_eq!(fsm.poll(t0 + 40 * s), vec![Action::Send { seq: 5 }]);
        assert_eq!(fsm.lost_in_row(), 3);
        // One answer (recovery 1) restores it.
        let actions = fsm.on_reply(5, t0 + 40 * s + 2 * MS);
        assert_eq!(
            actions,
            vec![Action::Reachable {
                answered: 1,
                rtt: 2 * MS,
                recovered: true
            }]
        );
        assert_eq!(fsm.lost_in_row(), 0);
    }

    #[test]
    fn fast_timing_fails_over_within_threshold_intervals() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(fast(3, 1), t0);
        // Up for 10 ticks, then dead.
        let events = drive(&mut fsm, t0, 20, |tick| tick < 10);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(matches!(
            events[0],
            (
                0,
                Action::Reachable {
                    recovered: false,
                    ..
                }
            )
        ));
        // Probes at ticks 10, 11, 12 are lost at 11, 12, 13: unreachable at tick 13.
        assert_eq!(events[1], (13, Action::Unreachable { lost: 3 }));
    }

    #[test]
    fn recovery_needs_answers_in_a_row() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(fast(2, 3), t0);
        // Dead from the start: unknown -> unreachable after 2 misses.
        let pattern = |tick: u32| matches!(tick, 5 | 7 | 8 | 10..);
        let events = drive(&mut fsm, t0, 14, pattern);
        assert_eq!(events[0], (2, Action::Unreachable { lost: 2 }));
        // Answers at 5 (alone), at 7, 8 (two: a loss at 9 resets), then 10, 11, 12.
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            matches!(
                events[1],
                (
                    12,
                    Action::Reachable {
                        answered: 3,
                        recovered: true,
                        ..
                    }
                )
            ),
            "{events:?}"
        );
    }

    #[test]
    fn flapping_gateway_is_held_down_by_hysteresis() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(fast(1, 2), t0);
        // Answers every other probe: never two in a row.
        let events = drive(&mut fsm, t0, 40, |tick| tick % 2 == 0 && tick > 0);
        let transitions: Vec<_> = events
            .iter()
            .filter(|(_, a)| {
                matches!(
                    a,
                    Action::Unreachable { .. }
                        | Action::Reachable {
                            recovered: true,
                            ..
                        }
                )
            })
            .collect();
        assert_eq!(transitions.len(), 1, "down once, never back up: {events:?}");
        assert!(!fsm.usable());
    }

    #[test]
    fn late_and_unknown_replies_are_ignored() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(fast(2, 1), t0);
        assert_eq!(fsm.poll(t0), vec![Action::Send { seq: 1 }]);
        assert_eq!(fsm.on_reply(7, t0 + MS), vec![], "never sent");
        // Probe 1 expires at 100 ms as probe 2 goes out; its late answer does not count.
        assert_eq!(fsm.poll(t0 + 100 * MS), vec![Action::Send { seq: 2 }]);
        assert_eq!(fsm.on_reply(1, t0 + 101 * MS), vec![]);
        assert_eq!(fsm.lost_in_row(), 1);
        assert_eq!(fsm.reach(), Reach::Unknown);
    }

    #[test]
    fn send_errors_count_as_losses_at_once() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(fast(2, 1), t0);
        assert_eq!(fsm.poll(t0), vec![Action::Send { seq: 1 }]);
        assert_eq!(fsm.on_send_error(1, t0), vec![]);
        assert_eq!(fsm.next_deadline(), t0 + 100 * MS);
        assert_eq!(fsm.poll(t0 + 100 * MS), vec![Action::Send { seq: 2 }]);
        assert_eq!(
            fsm.on_send_error(2, t0 + 100 * MS),
            vec![Action::Unreachable { lost: 2 }]
        );
        assert_eq!(fsm.on_send_error(2, t0 + 100 * MS), vec![], "counted once");
    }

    #[test]
    fn a_stall_does_not_cause_a_burst_of_probes() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(fast(5, 1), t0);
        fsm.poll(t0);
        let late = t0 + Duration::from_secs(60);
        let actions = fsm.poll(late);
        assert_eq!(actions, vec![Action::Send { seq: 2 }], "one probe, not 600");
        assert_eq!(fsm.next_deadline(), late + 100 * MS);
        assert_eq!(fsm.poll(late + MS), vec![]);
    }

    #[test]
    fn late_timer_wakeups_still_count_every_loss() {
        // Probe 2 goes out 5 ms late, the wake-up for probe 3 is only 1 ms late: probe 2
        // is then not a full interval old, but it is lost all the same.
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut fsm = GatewayFsm::new(ProbeSettings::ROUTEROS, t0);
        fsm.poll(t0);
        fsm.on_reply(1, t0 + MS);
        assert_eq!(
            fsm.poll(t0 + 10 * s + 5 * MS),
            vec![Action::Send { seq: 2 }]
        );
        assert_eq!(fsm.next_deadline(), t0 + 20 * s);
        assert_eq!(fsm.poll(t0 + 20 * s + MS), vec![Action::Send { seq: 3 }]);
        assert_eq!(fsm.lost_in_row(), 1);
        assert_eq!(
            fsm.poll(t0 + 30 * s),
            vec![Action::Unreachable { lost: 2 }, Action::Send { seq: 4 }]
        );
    }

    #[test]
    fn sequence_numbers_wrap() {
        let t0 = Instant::now();
        let mut fsm = GatewayFsm::new(fast(200, 1), t0);
        fsm.next_seq = u16::MAX;
        assert_eq!(fsm.poll(t0), vec![Action::Send { seq: u16::MAX }]);
        assert_eq!(fsm.poll(t0 + 100 * MS), vec![Action::Send { seq: 0 }]);
    }
}
