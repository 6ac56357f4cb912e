//! The [`Rib`] engine: received UPDATEs through the in-filter into the Loc-RIB, best
//! path changes out to every peer (Adj-RIB-Out diffing, packed UPDATEs) and to the kernel.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::IpNet;
use kith_config::{DefaultOriginate, NexthopChoice};
use serde::Serialize;

use crate::codec::{
    DecodeContext, ErrorAction, Family, Notification, PathAttributes, Update, code, pack,
    pack_withdraw,
};
use crate::fsm::Negotiated;
use crate::policy::{Candidate, Chains, Verdict};

use super::best::BestConfig;
use super::export::export;
use super::gateway::GatewayIndex;
use super::intern::{AttrInterner, Interner};
use super::table::LocRib;
use super::{NextHop, Path, PathFrom, PeerId, PrefixMap, Source};

/// Distance of eBGP routes (RouterOS).
pub const EBGP_DISTANCE: u8 = 20;
/// Distance of iBGP routes (RouterOS).
pub const IBGP_DISTANCE: u8 = 200;

/// The instance settings the engine needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Own AS.
    pub local_as: u32,
    /// Router id (also the cluster id when reflecting).
    pub router_id: Ipv4Addr,
    /// Instance out-filter chain.
    pub out_filter: Option<String>,
    /// `client-to-client-reflection`.
    pub client_to_client_reflection: bool,
    /// `ignore-as-path-len`.
    pub ignore_as_path_len: bool,
}

/// A configured peer, as the engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSpec {
    /// Number.
    pub id: PeerId,
    /// Name (`remi-isp1`).
    pub name: String,
    /// Address.
    pub address: IpAddr,
    /// AS.
    pub remote_as: u32,
    /// In-filter chain.
    pub in_filter: Option<String>,
    /// Out-filter chain.
    pub out_filter: Option<String>,
    /// Route-reflector client.
    pub rr_client: bool,
    /// Next hop choice.
    pub nexthop_choice: NexthopChoice,
    /// Prefix limit.
    pub max_prefix: Option<u32>,
    /// `default-originate`: announce a default route to this peer.
    pub default_originate: DefaultOriginate,
}

/// An Established session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// What was negotiated.
    pub negotiated: Negotiated,
    /// Own IPv4 address for next-hop-self.
    pub local_v4: Option<Ipv4Addr>,
    /// Own global IPv6 address for next-hop-self.
    pub local_v6: Option<Ipv6Addr>,
    /// Own link-local IPv6 address on the peer's link.
    pub link_local: Option<Ipv6Addr>,
}

/// The in-filter action that refused a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FilterAction {
    /// `discard`.
    Discard,
    /// `reject`.
    Reject,
}

impl FilterAction {
    fn of(verdict: Verdict) -> Self {
        match verdict {
            Verdict::Reject => Self::Reject,
            _ => Self::Discard,
        }
    }

    /// The RouterOS word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discard => "discard",
            Self::Reject => "reject",
        }
    }
}

impl std::fmt::Display for FilterAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a received route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteStatus {
    /// In the Loc-RIB.
    Accepted,
    /// Refused by the in-filter (`discard` or `reject`).
    Filtered(FilterAction),
    /// Own AS in the AS_PATH, or own id in ORIGINATOR_ID / CLUSTER_LIST.
    Loop,
    /// RFC 7606 treat-as-withdraw.
    Malformed,
    /// Accepted, but `set-check-gateway=ping` found its gateway unreachable: not used.
    GatewayUnreachable,
}

#[derive(Debug, Clone)]
struct Received {
    attrs: Arc<PathAttributes>,
    hop: Arc<NextHop>,
    status: RouteStatus,
    stale: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    attrs: Arc<PathAttributes>,
    next_hop: IpAddr,
    link_local: Option<Ipv6Addr>,
}

#[derive(Debug)]
pub(crate) struct PeerState {
    pub(crate) spec: PeerSpec,
    pub(crate) session: Option<SessionInfo>,
    adj_in: PrefixMap<Received>,
    adj_out: PrefixMap<Sent>,
    accepted: usize,
    /// What the paths of this peer share (see [`Rib::path_from`]).
    from: Option<Arc<PathFrom>>,
}

impl PeerState {
    /// Keeps `accepted` right when a route's status goes from `was` (`None`: a new
    /// route) to `now`.
    fn recount(&mut self, was: Option<RouteStatus>, now: RouteStatus) {
        let was = was == Some(RouteStatus::Accepted);
        match (was, now == RouteStatus::Accepted) {
            (false, true) => self.accepted += 1,
            (true, false) => self.accepted = self.accepted.saturating_sub(1),
            _ => {}
        }
    }
}

/// A change for the kernel's routing table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelChange {
    /// Install or replace the route.
    Install {
        /// Destination.
        prefix: IpNet,
        /// Gateway.
        gateway: IpAddr,
        /// IPv6 link-local gateway the peer gave.
        link_local: Option<Ipv6Addr>,
        /// Distance (the metric is derived from it).
        distance: u8,
    },
    /// Remove the route.
    Remove {
        /// Destination.
        prefix: IpNet,
    },
}

impl KernelChange {
    /// The destination changed.
    #[must_use]
    pub fn prefix(&self) -> IpNet {
        match self {
            KernelChange::Install { prefix, .. } | KernelChange::Remove { prefix } => *prefix,
        }
    }
}

/// `dirty` keeps its allocation for the next UPDATE up to this many prefixes (a
/// re-evaluation of a full table does not keep megabytes).
const DIRTY_KEPT: usize = 4096;

/// What an engine call asks the caller to do.
#[derive(Debug, Default)]
pub struct Output {
    /// Encoded UPDATEs per peer, in order.
    pub messages: Vec<(PeerId, Vec<u8>)>,
    /// Kernel changes.
    pub kernel: Vec<KernelChange>,
    /// Sessions to reset (prefix limit).
    pub resets: Vec<(PeerId, Notification)>,
}

impl Output {
    /// Whether there is nothing to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.kernel.is_empty() && self.resets.is_empty()
    }
}

/// One route as `kith bgp routes` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteView {
    /// Destination.
    pub dst_address: String,
    /// Gateway.
    pub gateway: String,
    /// Distance.
    pub distance: u8,
    /// AS path.
    pub as_path: String,
    /// Local preference.
    pub local_pref: Option<u32>,
    /// MED.
    pub med: Option<u32>,
    /// Origin.
    pub origin: &'static str,
    /// Communities, `AS:value`.
    pub communities: Vec<String>,
    /// Large communities, `a:b:c`.
    pub large_communities: Vec<String>,
    /// The peer's name.
    pub received_from: String,
    /// The best path (installed).
    pub active: bool,
    /// What the in-filter did.
    pub status: RouteStatus,
}

/// The engine.
#[derive(Debug)]
pub struct Rib {
    instance: Instance,
    chains: Chains,
    peers: HashMap<PeerId, PeerState>,
    loc: LocRib,
    interner: AttrInterner,
    hops: Interner<NextHop>,
    local: HashMap<IpNet, Arc<PathAttributes>>,
    installed: PrefixMap<(IpAddr, Option<Ipv6Addr>, u8)>,
    /// Prefixes whose best path may have changed (sorted and deduplicated at flush).
    dirty: Vec<IpNet>,
    /// The peers `flush` exports to (kept: one allocation fewer per UPDATE).
    export_ids: Vec<PeerId>,
    kernel: bool,
    /// Whether the kernel has an active default route (IPv4, IPv6) of another source
    /// (`default-originate: if-installed`).
    default_installed: (bool, bool),
    /// Routes whose gateway is checked (`set-check-gateway`), and the unreachable ones.
    gateways: GatewayIndex,
}

impl Rib {
    /// An empty engine.
    #[must_use]
    pub fn new(instance: Instance, chains: Chains) -> Self {
        Self {
            instance,
            chains,
            peers: HashMap::new(),
            loc: LocRib::default(),
            interner: AttrInterner::default(),
            hops: Interner::default(),
            local: HashMap::new(),
            installed: PrefixMap::default(),
            dirty: Vec::new(),
            export_ids: Vec::new(),
            kernel: true,
            default_installed: (false, false),
            gateways: GatewayIndex::default(),
        }
    }

    /// Tells whether the kernel has a default route of another source (IPv4, IPv6);
    /// peers with `default-originate: if-installed` follow it.
    pub fn set_default_installed(&mut self, v4: bool, v6: bool) -> Output {
        if self.default_installed != (v4, v6) {
            self.default_installed = (v4, v6);
            self.dirty.extend(default_prefixes());
        }
        self.flush()
    }

    /// Whether `peer` is sent an originated default route for the family of `prefix`.
    fn originates_default(&self, spec: &PeerSpec, prefix: &IpNet) -> bool {
        if prefix.prefix_len() != 0 {
            return false;
        }
        match spec.default_originate {
            DefaultOriginate::Never => false,
            DefaultOriginate::Always => true,
            DefaultOriginate::IfInstalled => match prefix {
                IpNet::V4(_) => self.default_installed.0,
                IpNet::V6(_) => self.default_installed.1,
            },
        }
    }

    /// Whether kernel changes are computed at all (`false`: bgpd runs without route
    /// install, and keeps no table of installed routes).
    pub fn set_kernel(&mut self, on: bool) {
        self.kernel = on;
        if !on {
            self.installed = PrefixMap::default();
        }
    }

    fn best_config(&self) -> BestConfig {
        BestConfig {
            ignore_as_path_len: self.instance.ignore_as_path_len,
        }
    }

    /// Adds or updates a peer's settings; a filter change re-evaluates its routes in
    /// place (no session reset).
    pub fn set_peer(&mut self, spec: PeerSpec) -> Output {
        let id = spec.id;
        match self.peers.get_mut(&id) {
            Some(state) => {
                let in_changed = state.spec.in_filter != spec.in_filter;
                let default_changed = state.spec.default_originate != spec.default_originate;
                state.spec = spec;
                if default_changed {
                    self.dirty.extend(default_prefixes());
                }
                if in_changed {
                    self.reevaluate_peer(id);
                }
                self.dirty.extend(self.loc.prefixes());
            }
            None => {
                self.peers.insert(
                    id,
                    PeerState {
                        spec,
                        session: None,
                        adj_in: PrefixMap::default(),
                        adj_out: PrefixMap::default(),
                        accepted: 0,
                        from: None,
                    },
                );
            }
        }
        self.flush()
    }

    /// The gateways to probe for `set-check-gateway`, when they changed since the last
    /// call (`None`: unchanged).
    pub fn take_checked_gateways(&mut self) -> Option<BTreeSet<IpAddr>> {
        self.gateways
            .take_changed()
            .then(|| self.gateways.gateways())
    }

    /// A probed gateway answers again (`reachable`) or stopped answering: the routes
    /// through it are used again, or no longer.
    pub fn set_gateway_reachable(&mut self, gateway: IpAddr, reachable: bool) -> Output {
        for (id, prefix) in self.gateways.set_reachable(gateway, reachable) {
            self.evaluate(id, prefix);
        }
        self.flush()
    }

    /// Forgets a peer and its routes.
    pub fn remove_peer(&mut self, id: PeerId) -> Output {
        self.drop_routes(id, |_| true);
        self.peers.remove(&id);
        self.flush()
    }

    /// New filters and instance settings: every received route is filtered again and
    /// every peer gets what changed (RouterOS applies filter changes in place).
    pub fn reconfigure(&mut self, instance: Instance, chains: Chains) -> Output {
        let resort = instance.ignore_as_path_len != self.instance.ignore_as_path_len;
        self.instance = instance;
        self.chains = chains;
        let ids: Vec<PeerId> = self.peers.keys().copied().collect();
        for id in ids {
            self.reevaluate_peer(id);
        }
        if resort {
            let changed = self.loc.resort(self.best_config());
            self.dirty.extend(changed);
        }
        self.dirty.extend(self.loc.prefixes());
        self.flush()
    }

    /// A session came up: the peer gets the whole table, then End-of-RIB.
    pub fn peer_up(&mut self, id: PeerId, session: SessionInfo) -> Output {
        let families = session.negotiated.families.clone();
        let ctx = session.negotiated.context();
        let Some(peer) = self.peers.get_mut(&id) else {
            return Output::default();
        };
        peer.session = Some(session);
        peer.adj_out.clear();
        let mut out = Output::default();
        let mut prefixes: Vec<IpNet> = self.loc.prefixes().collect();
        prefixes.extend(default_prefixes().filter(|p| self.loc.best(p).is_none()));
        self.export_to(id, &prefixes, &mut out);
        for family in families {
            out.messages
                .push((id, Update::end_of_rib_marker(family).to_bytes(&ctx)));
        }
        out
    }

    /// A session went down. With `keep_stale` (graceful restart helper) its routes stay,
    /// marked stale, until [`Rib::sweep_stale`].
    pub fn peer_down(&mut self, id: PeerId, keep_stale: bool) -> Output {
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.session = None;
            peer.adj_out.clear();
            if keep_stale {
                for r in peer.adj_in.values_mut() {
                    r.stale = true;
                }
                return Output::default();
            }
        }
        self.drop_routes(id, |_| true);
        self.flush()
    }

    /// Removes a peer's routes still stale (End-of-RIB or restart timer).
    pub fn sweep_stale(&mut self, id: PeerId, family: Option<Family>) -> Output {
        self.drop_routes(id, |r| {
            r.1.stale && family.is_none_or(|f| f == Family::of(r.0))
        });
        self.flush()
    }

    /// An UPDATE from a peer (a copy of it: see [`Rib::receive_owned`]).
    pub fn receive(&mut self, id: PeerId, update: &Update) -> Output {
        self.receive_owned(id, update.clone())
    }

    /// An UPDATE from a peer, taken: its attributes become the interned set without a
    /// copy.
    pub fn receive_owned(&mut self, id: PeerId, update: Update) -> Output {
        if let Some(family) = update.end_of_rib() {
            return self.sweep_stale(id, Some(family));
        }
        let malformed = update.error_action() == Some(ErrorAction::TreatAsWithdraw);
        for prefix in update.withdrawn_all() {
            self.withdraw(id, *prefix);
        }
        let nh4 = update.next_hop(Family::Ipv4);
        let Update {
            attrs,
            nlri,
            mp_reach,
            ..
        } = update;
        let mp_reach = mp_reach.filter(|mp| !mp.nlri.is_empty());
        let mut attrs = Some(attrs);
        if !nlri.is_empty() {
            // Copied only when MP_REACH needs them too (rare).
            let taken = if mp_reach.is_some() {
                attrs.clone()
            } else {
                attrs.take()
            };
            if let Some(a) = taken {
                self.announce(id, &nlri, a, nh4, malformed);
            }
        }
        if let (Some(mp), Some(a)) = (mp_reach, attrs) {
            let nh = Some((mp.next_hop, mp.link_local));
            self.announce(id, &mp.nlri, a, nh, malformed);
        }
        let mut out = self.flush();
        if let Some(peer) = self.peers.get(&id) {
            if let Some(limit) = peer.spec.max_prefix {
                if peer.accepted > limit as usize {
                    out.resets
                        .push((id, Notification::new(code::CEASE, code::MAX_PREFIXES)));
                }
            }
        }
        out
    }

    /// The peer asked for our routes again (ROUTE-REFRESH).
    pub fn refresh(&mut self, id: PeerId, family: Family) -> Output {
        let mut out = Output::default();
        let Some(peer) = self.peers.get_mut(&id) else {
            return out;
        };
        peer.adj_out.retain(|p, _| Family::of(&p) != family);
        let prefixes: Vec<IpNet> = self
            .loc
            .prefixes()
            .filter(|p| Family::of(p) == family)
            .chain(
                default_prefixes()
                    .filter(|p| Family::of(p) == family && self.loc.best(p).is_none()),
            )
            .collect();
        self.export_to(id, &prefixes, &mut out);
        out
    }

    /// Starts (`true`) or stops originating `prefix` (`routing/bgp/network`,
    /// redistribution).
    pub fn set_local(&mut self, prefix: IpNet, originate: bool) -> Output {
        if originate {
            let attrs = self.interner.intern(PathAttributes::default());
            self.local.insert(prefix, Arc::clone(&attrs));
            let path = Path {
                from: self.local_from(prefix),
                attrs,
                hop: NextHop::new(unspecified(prefix), None),
                distance: 0,
            };
            if self
                .loc
                .set(prefix, Source::Local, Some(path), self.best_config())
            {
                self.dirty.push(prefix);
            }
        } else if self.local.remove(&prefix).is_some()
            && self
                .loc
                .set(prefix, Source::Local, None, self.best_config())
        {
            self.dirty.push(prefix);
        }
        self.flush()
    }

    /// The prefixes originated locally.
    pub fn local_prefixes(&self) -> impl Iterator<Item = &IpNet> {
        self.local.keys()
    }

    /// Counters of a peer: received, accepted, advertised.
    #[must_use]
    pub fn counters(&self, id: PeerId) -> (usize, usize, usize) {
        self.peers
            .get(&id)
            .map(|p| (p.adj_in.len(), p.accepted, p.adj_out.len()))
            .unwrap_or_default()
    }

    /// Every received route (filtered ones included) and every local one, sorted.
    #[must_use]
    pub fn routes(&self) -> Vec<RouteView> {
        let mut out = Vec::new();
        for peer in self.peers.values() {
            for (prefix, r) in peer.adj_in.iter() {
                let prefix = &prefix;
                let active = self
                    .loc
                    .best(prefix)
                    .is_some_and(|b| b.source() == Source::Peer(peer.spec.id));
                let shown = match r.status {
                    RouteStatus::Accepted => self
                        .loc
                        .paths(prefix)
                        .iter()
                        .find(|p| p.source() == Source::Peer(peer.spec.id)),
                    _ => None,
                };
                let (attrs, distance) = match shown {
                    Some(p) => (&p.attrs, p.distance),
                    None => (&r.attrs, 0),
                };
                out.push(view(
                    prefix,
                    r.hop.addr,
                    distance,
                    attrs,
                    &peer.spec.name,
                    active,
                    r.status,
                ));
            }
        }
        for (prefix, attrs) in &self.local {
            let active = self.loc.best(prefix).is_some_and(Path::is_local);
            out.push(view(
                prefix,
                unspecified(*prefix),
                0,
                attrs,
                "",
                active,
                RouteStatus::Accepted,
            ));
        }
        out.sort_by(|a, b| {
            (&a.dst_address, &a.received_from).cmp(&(&b.dst_address, &b.received_from))
        });
        out
    }

    // ---- internals

    fn announce(
        &mut self,
        id: PeerId,
        prefixes: &[IpNet],
        attrs: PathAttributes,
        nh: Option<(IpAddr, Option<Ipv6Addr>)>,
        malformed: bool,
    ) {
        let (next_hop, link_local) = match nh {
            Some(nh) => nh,
            // Kept (shown as malformed) but never used: RFC 7606 treat-as-withdraw.
            None if malformed => (
                prefixes
                    .first()
                    .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |p| unspecified(*p)),
                None,
            ),
            None => {
                for p in prefixes {
                    self.withdraw(id, *p);
                }
                return;
            }
        };
        let shared = self.interner.intern(attrs);
        let hop = self.hops.intern(NextHop {
            addr: next_hop,
            link_local,
        });
        for &prefix in prefixes {
            // Judged first, then stored once with its status (one insert, no lookups).
            let (status, path) = if malformed {
                (RouteStatus::Malformed, None)
            } else {
                match self.judge(id, prefix, &shared, &hop) {
                    Some(judged) => judged,
                    None => continue,
                }
            };
            if let Some(peer) = self.peers.get_mut(&id) {
                let received = Received {
                    attrs: Arc::clone(&shared),
                    hop: Arc::clone(&hop),
                    status,
                    stale: false,
                };
                let old = peer.adj_in.insert(prefix, received);
                peer.recount(old.map(|o| o.status), status);
            }
            self.install_path(id, prefix, path);
        }
    }

    fn withdraw(&mut self, id: PeerId, prefix: IpNet) {
        self.gateways.untrack((id, prefix));
        if let Some(peer) = self.peers.get_mut(&id) {
            if let Some(r) = peer.adj_in.remove(&prefix) {
                if r.status == RouteStatus::Accepted {
                    peer.accepted = peer.accepted.saturating_sub(1);
                }
            }
        }
        self.install_path(id, prefix, None);
    }

    fn drop_routes(&mut self, id: PeerId, which: impl Fn((&IpNet, &Received)) -> bool) {
        let Some(peer) = self.peers.get(&id) else {
            return;
        };
        let gone: Vec<IpNet> = peer
            .adj_in
            .iter()
            .filter(|(p, r)| which((p, r)))
            .map(|(p, _)| p)
            .collect();
        for prefix in gone {
            self.withdraw(id, prefix);
        }
    }

    fn reevaluate_peer(&mut self, id: PeerId) {
        let prefixes: Vec<IpNet> = self
            .peers
            .get(&id)
            .map(|p| {
                p.adj_in
                    .iter()
                    .filter(|(_, r)| r.status != RouteStatus::Malformed)
                    .map(|(p, _)| p)
                    .collect()
            })
            .unwrap_or_default();
        for prefix in prefixes {
            self.evaluate(id, prefix);
        }
    }

    /// Runs loop checks and the in-filter on a received route and updates the Loc-RIB.
    fn evaluate(&mut self, id: PeerId, prefix: IpNet) {
        let Some(r) = self.peers.get(&id).and_then(|p| p.adj_in.get(&prefix)) else {
            return;
        };
        let (attrs, hop) = (Arc::clone(&r.attrs), Arc::clone(&r.hop));
        let Some((status, path)) = self.judge(id, prefix, &attrs, &hop) else {
            return;
        };
        self.set_status(id, prefix, status);
        self.install_path(id, prefix, path);
    }

    /// What loop checks, the in-filter and `set-check-gateway` make of a route received
    /// from `id`: its status and, when accepted, its path for the Loc-RIB (`None`: no
    /// such peer). Tracks or untracks its gateway.
    fn judge(
        &mut self,
        id: PeerId,
        prefix: IpNet,
        received: &Arc<PathAttributes>,
        hop: &Arc<NextHop>,
    ) -> Option<(RouteStatus, Option<Path>)> {
        let from = self.path_from(id)?;
        let peer = self.peers.get(&id)?;
        let ebgp = from.ebgp;
        let looped = received.as_path.contains(self.instance.local_as)
            || received.originator_id == Some(self.instance.router_id)
            || received.cluster_list.contains(&self.instance.router_id);
        if looped {
            self.gateways.untrack((id, prefix));
            return Some((RouteStatus::Loop, None));
        }
        // Without an in-filter the received attributes stand as they are: no copy.
        let (attrs, distance, checked) = match &peer.spec.in_filter {
            None => (Ok(Arc::clone(received)), None, false),
            Some(chain) => {
                let mut candidate = Candidate {
                    prefix,
                    attrs: (**received).clone(),
                    distance: None,
                    check_gateway: None,
                    prepend_as: received.as_path.first_as().unwrap_or(peer.spec.remote_as),
                };
                match self.chains.evaluate(chain, &mut candidate) {
                    Verdict::Accept => (
                        Err(candidate.attrs),
                        candidate.distance,
                        candidate.check_gateway == Some(true),
                    ),
                    verdict => {
                        self.gateways.untrack((id, prefix));
                        let action = FilterAction::of(verdict);
                        return Some((RouteStatus::Filtered(action), None));
                    }
                }
            }
        };
        if checked {
            self.gateways.track((id, prefix), hop.addr);
            if self.gateways.is_unreachable(&hop.addr) {
                return Some((RouteStatus::GatewayUnreachable, None));
            }
        } else {
            self.gateways.untrack((id, prefix));
        }
        let attrs = match attrs {
            Ok(shared) => shared,
            Err(changed) => self.interner.intern(changed),
        };
        let path = Path {
            from,
            attrs,
            hop: Arc::clone(hop),
            distance: distance.unwrap_or(if ebgp { EBGP_DISTANCE } else { IBGP_DISTANCE }),
        };
        Some((RouteStatus::Accepted, Some(path)))
    }

    /// The [`PathFrom`] of the peer's paths: the one its paths already share unless the
    /// peer's settings or session changed since.
    fn path_from(&mut self, id: PeerId) -> Option<Arc<PathFrom>> {
        let local_as = self.instance.local_as;
        let peer = self.peers.get_mut(&id)?;
        let want = PathFrom {
            source: Source::Peer(id),
            peer_addr: peer.spec.address,
            peer_id: peer
                .session
                .as_ref()
                .map_or(Ipv4Addr::UNSPECIFIED, |s| s.negotiated.peer_id),
            ebgp: peer.spec.remote_as != local_as,
            from_rr_client: peer.spec.rr_client,
        };
        match &peer.from {
            Some(from) if **from == want => Some(Arc::clone(from)),
            _ => {
                let from = Arc::new(want);
                peer.from = Some(Arc::clone(&from));
                Some(from)
            }
        }
    }

    fn set_status(&mut self, id: PeerId, prefix: IpNet, status: RouteStatus) {
        if let Some(peer) = self.peers.get_mut(&id) {
            if let Some(r) = peer.adj_in.get_mut(&prefix) {
                let was = std::mem::replace(&mut r.status, status);
                peer.recount(Some(was), status);
            }
        }
    }

    fn install_path(&mut self, id: PeerId, prefix: IpNet, path: Option<Path>) {
        if self
            .loc
            .set(prefix, Source::Peer(id), path, self.best_config())
        {
            self.dirty.push(prefix);
        }
    }

    /// Sends every peer and the kernel what the dirty prefixes now need.
    fn flush(&mut self) -> Output {
        let mut out = Output::default();
        if self.dirty.is_empty() {
            return out;
        }
        // Taken and given back (cleared): its capacity serves the next UPDATE.
        let mut dirty: Vec<IpNet> = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for prefix in &dirty {
            self.kernel_change(*prefix, &mut out);
        }
        let mut ids = std::mem::take(&mut self.export_ids);
        ids.extend(
            self.peers
                .iter()
                .filter(|(_, p)| p.session.is_some())
                .map(|(id, _)| *id),
        );
        ids.sort_unstable();
        for &id in &ids {
            self.export_to(id, &dirty, &mut out);
        }
        ids.clear();
        self.export_ids = ids;
        dirty.clear();
        if dirty.capacity() <= DIRTY_KEPT {
            self.dirty = dirty;
        }
        out
    }

    fn kernel_change(&mut self, prefix: IpNet, out: &mut Output) {
        if !self.kernel {
            return;
        }
        let want = self
            .loc
            .best(&prefix)
            .filter(|b| !b.is_local())
            .map(|b| (b.hop.addr, b.hop.link_local, b.distance));
        let have = self.installed.get(&prefix).copied();
        if want == have {
            return;
        }
        match want {
            Some((gateway, link_local, distance)) => {
                self.installed
                    .insert(prefix, (gateway, link_local, distance));
                out.kernel.push(KernelChange::Install {
                    prefix,
                    gateway,
                    link_local,
                    distance,
                });
            }
            None => {
                self.installed.remove(&prefix);
                out.kernel.push(KernelChange::Remove { prefix });
            }
        }
    }

    /// Diffs `prefixes` against the peer's Adj-RIB-Out and appends packed UPDATEs.
    fn export_to(&mut self, id: PeerId, prefixes: &[IpNet], out: &mut Output) {
        let Some(peer) = self.peers.get(&id) else {
            return;
        };
        let Some(session) = &peer.session else {
            return;
        };
        let families = &session.negotiated.families;
        let mut announce: HashMap<(Arc<PathAttributes>, IpAddr, Option<Ipv6Addr>), Vec<IpNet>> =
            HashMap::new();
        let mut withdraw: HashMap<Family, Vec<IpNet>> = HashMap::new();
        let mut new_out: Vec<(IpNet, Option<Sent>)> = Vec::new();
        for prefix in prefixes {
            let family = Family::of(prefix);
            if !families.contains(&family) {
                continue;
            }
            let want = if self.originates_default(&peer.spec, prefix) {
                let local = self.default_path(*prefix);
                export(&self.instance, &self.chains, peer, prefix, &local)
            } else {
                self.loc
                    .best(prefix)
                    .and_then(|best| export(&self.instance, &self.chains, peer, prefix, best))
            };
            let want = want.map(|a| Sent {
                attrs: self.interner.intern(a.attrs),
                next_hop: a.next_hop,
                link_local: a.link_local,
            });
            let have = peer.adj_out.get(prefix);
            if want.as_ref() == have {
                continue;
            }
            match &want {
                Some(s) => announce
                    .entry((Arc::clone(&s.attrs), s.next_hop, s.link_local))
                    .or_default()
                    .push(*prefix),
                None => withdraw.entry(family).or_default().push(*prefix),
            }
            new_out.push((*prefix, want));
        }
        if new_out.is_empty() {
            return;
        }
        let ctx: DecodeContext = session.negotiated.context();
        let mut withdraw: Vec<_> = withdraw.into_iter().collect();
        withdraw.sort_by_key(|(f, _)| *f);
        for (family, list) in withdraw {
            for msg in pack_withdraw(family, &list, &ctx) {
                out.messages.push((id, msg));
            }
        }
        let mut groups: Vec<_> = announce.into_iter().collect();
        groups.sort_by(|a, b| a.1.first().cmp(&b.1.first()));
        for ((attrs, nh, ll), list) in groups {
            let family = Family::of(&list[0]);
            for msg in pack(&attrs, family, nh, ll, &list, &ctx) {
                out.messages.push((id, msg));
            }
        }
        if let Some(peer) = self.peers.get_mut(&id) {
            for (prefix, sent) in new_out {
                match sent {
                    Some(s) => {
                        peer.adj_out.insert(prefix, s);
                    }
                    None => {
                        peer.adj_out.remove(&prefix);
                    }
                }
            }
        }
    }
}

fn default_prefixes() -> impl Iterator<Item = IpNet> {
    [
        IpNet::V4(ipnet::Ipv4Net::default()),
        IpNet::V6(ipnet::Ipv6Net::default()),
    ]
    .into_iter()
}

impl Rib {
    /// The path of an originated default route (`default-originate`).
    fn default_path(&self, prefix: IpNet) -> Path {
        Path {
            from: self.local_from(prefix),
            attrs: Arc::new(PathAttributes::default()),
            hop: NextHop::new(unspecified(prefix), None),
            distance: 0,
        }
    }

    /// Where a path this router originates comes from.
    fn local_from(&self, prefix: IpNet) -> Arc<PathFrom> {
        Arc::new(PathFrom {
            source: Source::Local,
            peer_addr: unspecified(prefix),
            peer_id: self.instance.router_id,
            ebgp: false,
            from_rr_client: false,
        })
    }
}

fn unspecified(prefix: IpNet) -> IpAddr {
    match prefix {
        IpNet::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpNet::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    }
}

fn view(
    prefix: &IpNet,
    gateway: IpAddr,
    distance: u8,
    attrs: &PathAttributes,
    from: &str,
    active: bool,
    status: RouteStatus,
) -> RouteView {
    RouteView {
        dst_address: prefix.to_string(),
        gateway: if gateway.is_unspecified() {
            String::new()
        } else {
            gateway.to_string()
        },
        distance,
        as_path: attrs.as_path.to_string(),
        local_pref: attrs.local_pref,
        med: attrs.med,
        origin: attrs.origin.as_str(),
        communities: attrs
            .communities
            .iter()
            .map(|c| community_text(*c))
            .collect(),
        large_communities: attrs
            .large_communities
            .iter()
            .map(|[a, b, c]| format!("{a}:{b}:{c}"))
            .collect(),
        received_from: from.to_string(),
        active,
        status,
    }
}

/// A community as RouterOS prints it.
#[must_use]
pub fn community_text(c: u32) -> String {
    use crate::codec::community::*;
    match c {
        NO_EXPORT => "no-export".into(),
        NO_ADVERTISE => "no-advertise".into(),
        NO_EXPORT_SUBCONFED => "local-as".into(),
        _ => format!("{}:{}", c >> 16, c & 0xffff),
    }
}
