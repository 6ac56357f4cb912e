//! Which received routes have their gateway checked (`set-check-gateway=ping` in the
//! in-filter) and which gateways do not answer: a route through a gateway that does not
//! answer is kept in the Adj-RIB-In but not used (RouterOS marks it unreachable).
//! The probing itself is I/O (`io::gateway_check`); this is only the bookkeeping.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::PeerId;

/// A received route: the peer and the prefix.
pub(crate) type RouteKey = (PeerId, IpNet);

/// The checked routes by gateway, and the gateways found unreachable.
#[derive(Debug, Default)]
pub(crate) struct GatewayIndex {
    by_gateway: BTreeMap<IpAddr, BTreeSet<RouteKey>>,
    of_route: HashMap<RouteKey, IpAddr>,
    unreachable: HashSet<IpAddr>,
    /// The set of checked gateways changed since [`GatewayIndex::take_changed`].
    changed: bool,
}

impl GatewayIndex {
    /// No route is checked.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.of_route.is_empty()
    }

    /// `route` is checked through `gateway`.
    pub(crate) fn track(&mut self, route: RouteKey, gateway: IpAddr) {
        if self.of_route.get(&route) == Some(&gateway) {
            return;
        }
        self.untrack(route);
        self.of_route.insert(route, gateway);
        let routes = self.by_gateway.entry(gateway).or_default();
        self.changed |= routes.is_empty();
        routes.insert(route);
    }

    /// `route` is no longer checked (withdrawn, filtered, or no longer flagged). Called
    /// for every route the RIB evaluates or drops: returns at once when none is checked.
    pub(crate) fn untrack(&mut self, route: RouteKey) {
        if self.of_route.is_empty() {
            return;
        }
        let Some(gateway) = self.of_route.remove(&route) else {
            return;
        };
        if let Some(routes) = self.by_gateway.get_mut(&gateway) {
            routes.remove(&route);
            if routes.is_empty() {
                self.by_gateway.remove(&gateway);
                self.unreachable.remove(&gateway);
                self.changed = true;
            }
        }
    }

    /// Whether `gateway` was found unreachable.
    pub(crate) fn is_unreachable(&self, gateway: &IpAddr) -> bool {
        self.unreachable.contains(gateway)
    }

    /// Records a probe outcome; returns the routes through `gateway` when its state
    /// changed (they need evaluating again).
    pub(crate) fn set_reachable(&mut self, gateway: IpAddr, reachable: bool) -> Vec<RouteKey> {
        let Some(routes) = self.by_gateway.get(&gateway) else {
            return Vec::new();
        };
        let changed = if reachable {
            self.unreachable.remove(&gateway)
        } else {
            self.unreachable.insert(gateway)
        };
        if changed {
            routes.iter().copied().collect()
        } else {
            Vec::new()
        }
    }

    /// The gateways to probe.
    pub(crate) fn gateways(&self) -> BTreeSet<IpAddr> {
        self.by_gateway.keys().copied().collect()
    }

    /// Whether the gateways to probe changed since the last call.
    pub(crate) fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(peer: u32, prefix: &str) -> RouteKey {
        (peer, prefix.parse().unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn tracks_gateways_and_their_routes() {
        let gw: IpAddr = [10, 0, 0, 2].into();
        let mut g = GatewayIndex::default();
        assert!(g.is_empty());
        g.track(key(1, "192.168.50.0/24"), gw);
        g.track(key(1, "192.168.51.0/24"), gw);
        assert!(g.take_changed());
        assert!(!g.take_changed());
        assert_eq!(g.gateways().into_iter().collect::<Vec<_>>(), vec![gw]);
        assert_eq!(g.set_reachable(gw, false).len(), 2);
        assert!(g.is_unreachable(&gw));
        assert!(
            g.set_reachable(gw, false).is_empty(),
            "no change, nothing to do"
        );
        assert_eq!(g.set_reachable(gw, true).len(), 2);
        g.untrack(key(1, "192.168.50.0/24"));
        assert!(!g.take_changed(), "the gateway still has a route");
        g.untrack(key(1, "192.168.51.0/24"));
        assert!(g.take_changed());
        assert!(g.is_empty() && g.gateways().is_empty());
    }
}
