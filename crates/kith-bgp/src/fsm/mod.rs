//! The RFC 4271 finite state machine of one BGP connection as a pure function:
//! `(state, event, now) -> (state, actions)`. Timers are deadlines the caller polls
//! with [`Fsm::expired`]; nothing here touches a socket or a clock.

mod collision;
mod machine;
mod negotiate;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

pub use collision::{Keep, resolve_collision};
pub use negotiate::{Negotiated, negotiate, own_open};

use crate::codec::{Family, Message, Notification, Open};

/// The six RFC 4271 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not trying; waits for a start (or for the restart backoff).
    Idle,
    /// Waiting for an outgoing TCP connection.
    Connect,
    /// Waiting for the peer to connect.
    Active,
    /// OPEN sent, waiting for the peer's.
    OpenSent,
    /// OPENs exchanged, waiting for a KEEPALIVE.
    OpenConfirm,
    /// Session up: routes flow.
    Established,
}

impl State {
    /// The RouterOS/BIRD word for the state.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Connect => "connect",
            Self::Active => "active",
            Self::OpenSent => "opensent",
            Self::OpenConfirm => "openconfirm",
            Self::Established => "established",
        }
    }
}

/// What the session is configured to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsmConfig {
    /// Own AS.
    pub local_as: u32,
    /// Own BGP identifier.
    pub local_id: Ipv4Addr,
    /// The peer's AS.
    pub remote_as: u32,
    /// Hold time proposed in seconds (0: no keepalives, no hold timer).
    pub hold_time: u16,
    /// Keepalive interval in seconds (a third of the negotiated hold time when absent).
    pub keepalive: Option<u16>,
    /// Only wait for the peer to connect.
    pub passive: bool,
    /// First connect-retry / restart delay; doubled after each failure.
    pub connect_retry: Duration,
    /// Largest connect-retry / restart delay.
    pub connect_retry_max: Duration,
    /// Families to announce.
    pub families: Vec<Family>,
    /// Announce graceful restart (helper mode) with this restart time.
    pub graceful_restart: Option<u16>,
}

impl FsmConfig {
    /// A configuration with RouterOS defaults (hold 180 s, keepalive 60 s).
    #[must_use]
    pub fn new(local_as: u32, local_id: Ipv4Addr, remote_as: u32) -> Self {
        Self {
            local_as,
            local_id,
            remote_as,
            hold_time: 180,
            keepalive: None,
            passive: false,
            connect_retry: Duration::from_secs(5),
            connect_retry_max: Duration::from_secs(120),
            families: vec![Family::Ipv4],
            graceful_restart: Some(120),
        }
    }

    /// Whether the peer is in another AS.
    #[must_use]
    pub fn ebgp(&self) -> bool {
        self.local_as != self.remote_as
    }
}

/// Something that happened to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Start trying (configured, enabled).
    ManualStart,
    /// Stop (disabled, deconfigured, shutdown).
    ManualStop,
    /// The connect-retry (or restart backoff) timer fired.
    ConnectRetryTimerExpires,
    /// The hold timer fired.
    HoldTimerExpires,
    /// The keepalive timer fired.
    KeepaliveTimerExpires,
    /// A TCP connection is up: our outgoing one connected, or an incoming one was
    /// handed to this machine.
    TcpConnectionConfirmed,
    /// The TCP connection failed or closed.
    TcpConnectionFails,
    /// An OPEN arrived.
    OpenReceived(Open),
    /// A KEEPALIVE arrived.
    KeepaliveReceived,
    /// An UPDATE arrived (its content goes to the RIB on [`Action::Deliver`]).
    UpdateReceived,
    /// A ROUTE-REFRESH arrived.
    RouteRefreshReceived,
    /// A NOTIFICATION arrived.
    NotificationReceived(Notification),
    /// A message did not decode; the session is reset with this NOTIFICATION.
    DecodeError(Notification),
}

/// What the caller must do.
// Short-lived values that the caller consumes at once.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open an outgoing TCP connection.
    Connect,
    /// Send a message on the connection.
    Send(Message),
    /// Close the connection (after sending what precedes).
    Disconnect,
    /// The session is up.
    Up(Negotiated),
    /// The session went down (it was Established).
    Down(DownReason),
    /// Hand the received UPDATE / ROUTE-REFRESH to the RIB.
    Deliver,
}

/// Why an Established session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownReason {
    /// In words.
    pub text: String,
    /// The TCP connection dropped without a NOTIFICATION (a graceful-restart helper
    /// keeps the peer's routes as stale).
    pub connection_lost: bool,
}

/// One connection's state machine.
#[derive(Debug, Clone)]
pub struct Fsm {
    config: FsmConfig,
    state: State,
    /// Whether a start is in force (an automatic restart follows failures).
    started: bool,
    /// Failures since the last Established, for the backoff.
    failures: u32,
    connect_retry_at: Option<Instant>,
    hold_at: Option<Instant>,
    keepalive_at: Option<Instant>,
    negotiated: Option<Negotiated>,
    last_error: Option<String>,
}

/// The large hold time used while waiting for the peer's OPEN (RFC 4271 8.2.2: 4 min).
pub const OPEN_HOLD: Duration = Duration::from_secs(240);

impl Fsm {
    /// A machine in Idle.
    #[must_use]
    pub fn new(config: FsmConfig) -> Self {
        Self {
            config,
            state: State::Idle,
            started: false,
            failures: 0,
            connect_retry_at: None,
            hold_at: None,
            keepalive_at: None,
            negotiated: None,
            last_error: None,
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &FsmConfig {
        &self.config
    }

    /// Replaces the configuration (takes effect at the next OPEN).
    pub fn set_config(&mut self, config: FsmConfig) {
        self.config = config;
    }

    /// What was negotiated, from OpenConfirm on.
    #[must_use]
    pub fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The last error, in words.
    #[must_use]
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The earliest timer deadline.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.connect_retry_at, self.hold_at, self.keepalive_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// The timer event due at `now`, if any (hold first: it is the fatal one).
    #[must_use]
    pub fn expired(&self, now: Instant) -> Option<Event> {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.hold_at) {
            Some(Event::HoldTimerExpires)
        } else if due(self.keepalive_at) {
            Some(Event::KeepaliveTimerExpires)
        } else if due(self.connect_retry_at) {
            Some(Event::ConnectRetryTimerExpires)
        } else {
            None
        }
    }

    /// The current backoff delay.
    #[must_use]
    pub fn retry_delay(&self) -> Duration {
        let factor = 1u32 << self.failures.min(10);
        self.config
            .connect_retry
            .saturating_mul(factor)
            .min(self.config.connect_retry_max)
    }
}
