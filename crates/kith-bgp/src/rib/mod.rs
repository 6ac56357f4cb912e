//! Routing tables: Adj-RIB-In (everything received, before filters, so a filter change
//! re-evaluates without asking the peer), Loc-RIB with best path selection, Adj-RIB-Out
//! per peer, and the [`Rib`] engine that turns session events into UPDATEs to send and
//! kernel route changes. Pure: no I/O, no clock.

mod best;
mod engine;
mod export;
mod gateway;
mod intern;
mod prefix_map;
mod prefix_map_v4;
mod table;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::codec::PathAttributes;

pub use best::{BestConfig, DEFAULT_LOCAL_PREF, compare};
pub use engine::{
    FilterAction, Instance, KernelChange, Output, PeerSpec, Rib, RouteStatus, RouteView,
    SessionInfo,
};
pub use intern::{AttrInterner, Interner};
pub use table::LocRib;

pub(crate) use prefix_map::PrefixMap;

/// A peer's number inside the daemon.
pub type PeerId = u32;

/// Where a path comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// This router (`routing/bgp/network`, redistribution).
    Local,
    /// A peer.
    Peer(PeerId),
}

/// A next hop as received: the gateway and, for IPv6, the link-local address the peer
/// gave with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// The gateway (unspecified for local paths).
    pub addr: IpAddr,
    /// IPv6 link-local next hop, when the peer sent one.
    pub link_local: Option<Ipv6Addr>,
}

impl NextHop {
    /// A next hop shared by nothing else (tests, originated routes).
    #[must_use]
    pub fn new(addr: IpAddr, link_local: Option<Ipv6Addr>) -> Arc<Self> {
        Arc::new(Self { addr, link_local })
    }
}

/// Where a path comes from: what selection and export need of its peer, one shared copy
/// for all the paths of a peer's session (not four fields in every path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathFrom {
    /// Where it comes from.
    pub source: Source,
    /// The peer's address (unspecified for local paths).
    pub peer_addr: IpAddr,
    /// The peer's BGP identifier (own for local paths).
    pub peer_id: Ipv4Addr,
    /// Learnt over eBGP.
    pub ebgp: bool,
    /// Learnt from a route-reflector client.
    pub from_rr_client: bool,
}

/// One path to a prefix in the Loc-RIB (after the in-filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Where it comes from (shared by the peer's paths).
    pub from: Arc<PathFrom>,
    /// Its attributes (interned).
    pub attrs: Arc<PathAttributes>,
    /// The gateway (unspecified for local paths) and IPv6 link-local next hop
    /// (interned: a full table has few).
    pub hop: Arc<NextHop>,
    /// RouterOS distance: eBGP 20, iBGP 200, or `set-distance`.
    pub distance: u8,
}

impl Path {
    /// Where it comes from.
    #[must_use]
    pub fn source(&self) -> Source {
        self.from.source
    }

    /// Whether this router originates the path.
    #[must_use]
    pub fn is_local(&self) -> bool {
        self.from.source == Source::Local
    }
}

#[cfg(test)]
mod tests {
    use super::Path;

    #[test]
    fn a_path_is_four_words() {
        // A full table holds a million of them: per-peer constants live in `PathFrom`.
        assert_eq!(std::mem::size_of::<Path>(), 32);
    }
}
