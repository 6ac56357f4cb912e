//! `check-gateway=ping`: the gateways to probe, their state machines and their sockets.
//!
//! [`fsm`] decides (pure); [`socket`] sends and receives echo messages; [`Probers`] keeps
//! one state machine per (gateway, timing) and is driven by the daemon loop.

pub mod fsm;
pub mod icmp;
pub mod socket;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Instant;

pub use fsm::{Action, GatewayFsm, ProbeSettings, Reach};

/// One probed gateway: its address and the timing it is probed with. Two routes with the
/// same gateway and timing share one prober.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeKey {
    /// Gateway address.
    pub gateway: IpAddr,
    /// Probe timing.
    pub settings: ProbeSettings,
}

/// The state machines of every probed gateway.
#[derive(Debug, Default)]
pub struct Probers {
    gateways: BTreeMap<ProbeKey, GatewayFsm>,
}

impl Probers {
    /// Keeps the state of gateways still wanted, starts probing new ones (first probe
    /// at `now`), forgets the others. Returns the keys added and removed.
    pub fn set_wanted(
        &mut self,
        wanted: impl IntoIterator<Item = ProbeKey>,
        now: Instant,
    ) -> (Vec<ProbeKey>, Vec<ProbeKey>) {
        let wanted: Vec<ProbeKey> = wanted.into_iter().collect();
        let removed: Vec<ProbeKey> = self
            .gateways
            .keys()
            .filter(|k| !wanted.contains(k))
            .copied()
            .collect();
        for key in &removed {
            self.gateways.remove(key);
        }
        let mut added = Vec::new();
        for key in wanted {
            if let std::collections::btree_map::Entry::Vacant(slot) = self.gateways.entry(key) {
                slot.insert(GatewayFsm::new(key.settings, now));
                added.push(key);
            }
        }
        (added, removed)
    }

    /// Polls every gateway whose deadline has come.
    pub fn poll(&mut self, now: Instant) -> Vec<(ProbeKey, Action)> {
        let mut out = Vec::new();
        for (key, fsm) in &mut self.gateways {
            if fsm.next_deadline() <= now {
                out.extend(fsm.poll(now).into_iter().map(|a| (*key, a)));
            }
        }
        out
    }

    /// An echo reply for `key`'s probe `seq`.
    pub fn on_reply(&mut self, key: ProbeKey, seq: u16, now: Instant) -> Vec<Action> {
        match self.gateways.get_mut(&key) {
            Some(fsm) => fsm.on_reply(seq, now),
            None => Vec::new(),
        }
    }

    /// Sending `key`'s probe `seq` failed.
    pub fn on_send_error(&mut self, key: ProbeKey, seq: u16, now: Instant) -> Vec<Action> {
        match self.gateways.get_mut(&key) {
            Some(fsm) => fsm.on_send_error(seq, now),
            None => Vec::new(),
        }
    }

    /// The earliest deadline of all gateways.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.gateways.values().map(GatewayFsm::next_deadline).min()
    }

    /// Whether routes through `key`'s gateway belong in the kernel; gateways not probed
    /// are usable.
    pub fn usable(&self, key: &ProbeKey) -> bool {
        self.gateways.get(key).is_none_or(GatewayFsm::usable)
    }

    /// The state machine of one gateway.
    pub fn get(&self, key: &ProbeKey) -> Option<&GatewayFsm> {
        self.gateways.get(key)
    }

    /// Every probed gateway.
    pub fn iter(&self) -> impl Iterator<Item = (&ProbeKey, &GatewayFsm)> {
        self.gateways.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn key(gw: &str, ms: u64) -> ProbeKey {
        ProbeKey {
            gateway: gw.parse().unwrap(),
            settings: ProbeSettings {
                interval: Duration::from_millis(ms),
                threshold: 1,
                recovery: 1,
            },
        }
    }

    #[test]
    fn wanted_gateways_keep_their_state_across_reloads() {
        let t0 = Instant::now();
        let mut p = Probers::default();
        let a = key("10.0.0.1", 100);
        let b = key("10.0.0.2", 100);
        let (added, removed) = p.set_wanted([a, b], t0);
        assert_eq!((added.len(), removed.len()), (2, 0));
        assert_eq!(p.next_deadline(), Some(t0));
        let sends = p.poll(t0);
        assert_eq!(sends.len(), 2);
        // a stops answering: unreachable after one loss.
        let later = t0 + Duration::from_millis(100);
        let events = p.poll(later);
        assert!(
            events.contains(&(a, Action::Unreachable { lost: 1 })),
            "{events:?}"
        );
        assert!(!p.usable(&a));
        // A reload that keeps a (and drops b) keeps a's state.
        let c = key("10.0.0.1", 200);
        let (added, removed) = p.set_wanted([a, c], later);
        assert_eq!(added, vec![c], "another timing is another prober");
        assert_eq!(removed, vec![b]);
        assert!(!p.usable(&a));
        assert!(p.usable(&c));
        assert!(p.usable(&key("10.9.9.9", 100)), "not probed: usable");
        assert_eq!(p.on_reply(b, 1, later), vec![], "forgotten gateway");
        assert_eq!(p.iter().count(), 2);
    }
}
