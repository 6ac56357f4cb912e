//! The BFD session (RFC 5880 6.2, 6.8) as a pure state machine: a received packet or
//! the time in, packets to send and state changes out. Asynchronous mode only (no
//! echo, no demand mode); intervals change through Poll/Final sequences.

use std::time::{Duration, Instant};

use super::codec::{BfdState, ControlPacket, diag};

/// While the session is not Up, packets go at most once a second (RFC 5880 6.8.3).
pub const SLOW_TX: Duration = Duration::from_secs(1);

/// Timers of one session (`routing/bfd/interface`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Desired interval between sent packets once Up.
    pub desired_min_tx: Duration,
    /// Shortest interval between received packets accepted.
    pub required_min_rx: Duration,
    /// Packets missed before the session goes down.
    pub multiplier: u8,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            desired_min_tx: Duration::from_millis(100),
            required_min_rx: Duration::from_millis(100),
            multiplier: 3,
        }
    }
}

/// What the caller must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this packet to the peer.
    Send(ControlPacket),
    /// The session changed state; `diag` says why.
    StateChanged {
        /// Before.
        from: BfdState,
        /// After.
        to: BfdState,
        /// The local diagnostic.
        diag: u8,
    },
}

/// One BFD session.
#[derive(Debug, Clone)]
pub struct Session {
    timers: Timers,
    state: BfdState,
    remote_state: BfdState,
    local_discr: u32,
    remote_discr: u32,
    diag: u8,
    remote_min_rx: Duration,
    remote_desired_tx: Duration,
    remote_mult: u8,
    /// The Desired Min TX sent (slow until Up).
    advertised_tx: Duration,
    poll_pending: bool,
    next_tx: Instant,
    detect_at: Option<Instant>,
    rng: u32,
}

impl Session {
    /// A Down session with discriminator `local_discr` (not 0), sending at once.
    #[must_use]
    pub fn new(local_discr: u32, timers: Timers, now: Instant) -> Self {
        Self {
            timers,
            state: BfdState::Down,
            remote_state: BfdState::Down,
            local_discr: local_discr.max(1),
            remote_discr: 0,
            diag: diag::NONE,
            remote_min_rx: Duration::from_micros(1),
            remote_desired_tx: Duration::ZERO,
            remote_mult: 0,
            advertised_tx: timers.desired_min_tx.max(SLOW_TX),
            poll_pending: false,
            next_tx: now,
            detect_at: None,
            rng: local_discr | 1,
        }
    }

    /// The state.
    #[must_use]
    pub fn state(&self) -> BfdState {
        self.state
    }

    /// The local diagnostic.
    #[must_use]
    pub fn diag(&self) -> u8 {
        self.diag
    }

    /// Own discriminator.
    #[must_use]
    pub fn local_discr(&self) -> u32 {
        self.local_discr
    }

    /// The peer's discriminator (0 while unknown).
    #[must_use]
    pub fn remote_discr(&self) -> u32 {
        self.remote_discr
    }

    /// The timers.
    #[must_use]
    pub fn timers(&self) -> Timers {
        self.timers
    }

    /// When [`Session::tick`] must run next.
    #[must_use]
    pub fn next_deadline(&self) -> Instant {
        match self.detect_at {
            Some(d) => d.min(self.next_tx),
            None => self.next_tx,
        }
    }

    /// Detection time: the peer's multiplier times the slower of what we accept and
    /// what the peer sends (RFC 5880 6.8.4).
    #[must_use]
    pub fn detection_time(&self) -> Duration {
        let every = self.timers.required_min_rx.max(self.remote_desired_tx);
        every * u32::from(self.remote_mult.max(1))
    }

    /// A packet from the peer (already checked by the codec and matched to this
    /// session).
    pub fn receive(&mut self, p: &ControlPacket, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if p.your_discr != 0 && p.your_discr != self.local_discr {
            return actions;
        }
        self.remote_discr = p.my_discr;
        self.remote_state = p.state;
        let faster = p.required_min_rx < self.remote_min_rx;
        self.remote_min_rx = p.required_min_rx;
        if faster {
            // The peer accepts packets more often now: do not wait out the old interval.
            let soon = now + self.jittered();
            if soon < self.next_tx {
                self.next_tx = soon;
            }
        }
        self.remote_desired_tx = p.desired_min_tx;
        self.remote_mult = p.detect_mult;
        if p.fin && self.poll_pending {
            self.poll_pending = false;
        }
        if self.state == BfdState::AdminDown {
            return actions;
        }
        self.detect_at = Some(now + self.detection_time());
        let to = match (self.state, p.state) {
            (BfdState::Down, BfdState::AdminDown) => None,
            (_, BfdState::AdminDown) => Some((BfdState::Down, diag::NEIGHBOR_DOWN)),
            (BfdState::Down, BfdState::Down) => Some((BfdState::Init, diag::NONE)),
            (BfdState::Down, BfdState::Init) | (BfdState::Init, BfdState::Init | BfdState::Up) => {
                Some((BfdState::Up, diag::NONE))
            }
            (BfdState::Up, BfdState::Down) => Some((BfdState::Down, diag::NEIGHBOR_DOWN)),
            _ => None,
        };
        if let Some((to, d)) = to {
            self.go(to, d, now, &mut actions);
            // Tell the peer at once rather than at the next periodic packet.
            let poll = self.poll_pending && !p.poll;
            actions.push(Action::Send(self.packet(poll, p.poll)));
        } else if p.poll {
            actions.push(Action::Send(self.packet(false, true)));
        }
        actions
    }

    /// Timers: detection time expiry, periodic transmission.
    pub fn tick(&mut self, now: Instant) -> Vec<Action> {
        let mut actions = Vec::new();
        if self.detect_at.is_some_and(|t| now >= t) {
            self.detect_at = None;
            if matches!(self.state, BfdState::Init | BfdState::Up) {
                self.go(BfdState::Down, diag::DETECTION_EXPIRED, now, &mut actions);
            }
            self.remote_discr = 0;
            self.remote_state = BfdState::Down;
            self.remote_min_rx = Duration::from_micros(1);
            self.remote_desired_tx = Duration::ZERO;
        }
        if now >= self.next_tx {
            if !self.remote_min_rx.is_zero() {
                actions.push(Action::Send(self.packet(self.poll_pending, false)));
            }
            self.next_tx = now + self.jittered();
        }
        actions
    }

    fn go(&mut self, to: BfdState, d: u8, now: Instant, actions: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        self.diag = d;
        let tx = if to == BfdState::Up {
            self.timers.desired_min_tx
        } else {
            self.timers.desired_min_tx.max(SLOW_TX)
        };
        if tx != self.advertised_tx {
            self.advertised_tx = tx;
            // A faster rate applies at once (the peer's detection time shrinks as soon
            // as it reads it); the peer acknowledges it by a Poll sequence.
            self.poll_pending = to == BfdState::Up;
            let soon = now + self.jittered();
            if soon < self.next_tx {
                self.next_tx = soon;
            }
        }
        if to != BfdState::Up {
            self.poll_pending = false;
        }
        actions.push(Action::StateChanged { from, to, diag: d });
    }

    /// The interval to the next periodic packet: the slower of ours and what the
    /// peer accepts, less 0-25 % jitter (10-25 % with multiplier 1) (RFC 5880 6.8.7).
    fn jittered(&mut self) -> Duration {
        let base = self.advertised_tx.max(self.remote_min_rx);
        // xorshift32: deterministic, good enough to avoid self-synchronisation.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        let (lo, span) = if self.timers.multiplier == 1 {
            (75, 16)
        } else {
            (75, 26)
        };
        let pct = lo + x % span;
        base * pct / 100
    }

    fn packet(&self, poll: bool, fin: bool) -> ControlPacket {
        ControlPacket {
            diag: self.diag,
            state: self.state,
            poll,
            fin,
            cpi: false,
            auth: false,
            demand: false,
            detect_mult: self.timers.multiplier,
            my_discr: self.local_discr,
            your_discr: self.remote_discr,
            desired_min_tx: self.advertised_tx,
            required_min_rx: self.timers.required_min_rx,
            required_min_echo_rx: Duration::ZERO,
        }
    }
}
