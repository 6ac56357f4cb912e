//! `set-check-gateway=ping` for BGP routes: every gateway used by a route whose filter
//! set the flag is pinged with RouterOS timing (every 10 s; 2 lost in a row make it
//! unreachable, 1 answer makes it reachable again), through kith-route's probe state
//! machines and echo sockets. What this module reports, the RIB acts on: a route whose
//! gateway does not answer is not used.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use kith_route::probe::socket::{Pinger, Reply};
use kith_route::probe::{Action, ProbeKey, ProbeSettings, Probers};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// A gateway whose reachability changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GatewayChange {
    /// The gateway.
    pub gateway: IpAddr,
    /// Whether it answers now.
    pub reachable: bool,
}

/// The probed gateways, their state machines and sockets.
pub(crate) struct GatewayChecks {
    probers: Probers,
    pingers: HashMap<ProbeKey, Pinger>,
    replies_tx: mpsc::UnboundedSender<Reply>,
    replies: mpsc::UnboundedReceiver<Reply>,
}

impl GatewayChecks {
    pub(crate) fn new() -> GatewayChecks {
        let (replies_tx, replies) = mpsc::unbounded_channel();
        GatewayChecks {
            probers: Probers::default(),
            pingers: HashMap::new(),
            replies_tx,
            replies,
        }
    }

    /// Probes exactly `gateways` from now on (new ones from `now`). Call inside a
    /// tokio runtime.
    pub(crate) fn set_wanted(&mut self, gateways: &BTreeSet<IpAddr>, now: Instant) {
        let keys = gateways.iter().map(|&gateway| ProbeKey {
            gateway,
            settings: ProbeSettings::ROUTEROS,
        });
        let (added, removed) = self.probers.set_wanted(keys, now);
        for key in removed {
            self.pingers.remove(&key);
            info!("check-gateway: no route uses {} any more", key.gateway);
        }
        for key in added {
            match Pinger::open(key, None, self.replies_tx.clone()) {
                Ok(p) => {
                    info!("check-gateway: probing {} by ping", key.gateway);
                    self.pingers.insert(key, p);
                }
                // Without a socket every probe is lost: the gateway goes unreachable,
                // which is what the user sees and what the log explains.
                Err(e) => warn!("check-gateway: cannot probe {}: {e}", key.gateway),
            }
        }
    }

    /// When [`GatewayChecks::poll`] is due next.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.probers.next_deadline()
    }

    /// Sends the probes that are due; returns the gateways whose state changed.
    pub(crate) fn poll(&mut self, now: Instant) -> Vec<GatewayChange> {
        let actions = self.probers.poll(now);
        self.act(actions, now)
    }

    /// The next echo reply (for `select!`).
    pub(crate) async fn reply(&mut self) -> Option<Reply> {
        self.replies.recv().await
    }

    /// Takes an echo reply; returns the gateways whose state changed.
    pub(crate) fn on_reply(&mut self, reply: Reply) -> Vec<GatewayChange> {
        let actions = self.probers.on_reply(reply.key, reply.seq, reply.at);
        let actions = actions.into_iter().map(|a| (reply.key, a)).collect();
        self.act(actions, reply.at)
    }

    fn act(&mut self, actions: Vec<(ProbeKey, Action)>, now: Instant) -> Vec<GatewayChange> {
        let mut changes = Vec::new();
        let mut todo = actions;
        // A failed send counts as a lost probe, which may itself ask for more.
        for _ in 0..4 {
            let mut next = Vec::new();
            for (key, action) in todo {
                match action {
                    Action::Send { seq } => {
                        let sent = self.pingers.get(&key).map(|p| p.send(seq));
                        if !matches!(sent, Some(Ok(()))) {
                            let more = self.probers.on_send_error(key, seq, now);
                            next.extend(more.into_iter().map(|a| (key, a)));
                        }
                    }
                    Action::Unreachable { lost } => {
                        warn!(
                            "check-gateway: {} unreachable ({lost} probes lost); its routes are not used",
                            key.gateway
                        );
                        changes.push(GatewayChange {
                            gateway: key.gateway,
                            reachable: false,
                        });
                    }
                    Action::Reachable { rtt, recovered, .. } => {
                        if recovered {
                            info!(
                                "check-gateway: {} reachable again (rtt {rtt:?}); its routes are used",
                                key.gateway
                            );
                        }
                        changes.push(GatewayChange {
                            gateway: key.gateway,
                            reachable: true,
                        });
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            todo = next;
        }
        changes
    }
}
