//! The daemon loop: accepts connections, runs one task per peer, feeds the RIB engine,
//! sends its UPDATEs and kernel changes on, follows the kernel (networks, links) and
//! reloads the config on SIGHUP without resetting sessions for filter changes.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use ipnet::IpNet;
use kith_net::{
    AddressInfo, EventGroup, Net, NetEvent, PROTO_BGP, PROTO_KERNEL, PROTO_STATIC, RouteFilter,
};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::bfd::io::{BfdCommand, BfdEvent};
use crate::bfd::{BfdState, Timers};
use crate::codec::{Family, Message};
use crate::fsm::State;
use crate::rib::{KernelChange, Output, PeerId, Rib, RouteStatus, SessionInfo};
use crate::status::{PeerStatus, RouteStatusView, Status};

use super::config::{BgpConfig, PeerConfig};
use super::gateway_check::{GatewayChange, GatewayChecks};
use super::kernel::KernelRequest;
use super::session::{self, FromSession, ToSession};
use super::status_server::StatusRequest;
use super::{DaemonError, Options};

/// Session events (UPDATEs above all) queued for the daemon before sessions wait.
const SESSION_EVENTS_IN_FLIGHT: usize = 256;

/// Session events taken off the queue at once, then handled before the daemon's loop
/// looks at its other inputs again (signals, status requests, timers). A full table
/// is hundreds of thousands of UPDATEs: taken one by one, each freed slot woke the
/// waiting session (a thread switch on a shared core) and each took a pass through
/// every branch of the loop.
const SESSION_EVENTS_PER_WAKE: usize = 64;

/// Kernel events come in bursts: wait this long before re-reading the routes.
const SETTLE: Duration = Duration::from_millis(100);
/// How long bgpd waits at shutdown for its routes to leave the kernel.
const KERNEL_SHUTDOWN: Duration = Duration::from_secs(40);
/// Re-read the kernel routes this often even without events.
const RESYNC: Duration = Duration::from_secs(10);

struct Peer {
    cfg: PeerConfig,
    tx: mpsc::UnboundedSender<ToSession>,
    state: State,
    last_error: Option<String>,
    up_since: Option<Instant>,
    established_count: u64,
    hold: Option<(u16, u16)>,
    route_refresh: bool,
    families: Vec<Family>,
    /// Interface and local address of the Established session (fast fallover).
    link: Option<(u32, IpAddr)>,
    eor_logged: bool,
    /// The peer's graceful restart time (helper mode keeps its routes that long).
    restart_time: Option<u16>,
    /// State of the BFD session guarding it (`use-bfd`), once one runs.
    bfd: Option<BfdState>,
    /// Why the daemon reset the session, shown instead of the session's own reason.
    reset_reason: Option<String>,
}

pub(crate) struct Daemon {
    opts: Options,
    cfg: BgpConfig,
    rib: Rib,
    peers: HashMap<PeerId, Peer>,
    ids: HashMap<String, PeerId>,
    from_sessions_tx: mpsc::Sender<FromSession>,
    kernel: mpsc::UnboundedSender<KernelRequest>,
    net: Net,
    originated: BTreeSet<IpNet>,
    stale_until: HashMap<PeerId, Instant>,
    /// The BFD task, started by the first `use-bfd` session.
    bfd: Option<mpsc::UnboundedSender<BfdCommand<PeerId>>>,
    bfd_events: mpsc::UnboundedSender<BfdEvent<PeerId>>,
    /// `set-check-gateway=ping`: the probed gateways.
    checks: GatewayChecks,
    /// Routes the kernel acknowledged and holds (none without route install).
    in_kernel: Option<Arc<AtomicUsize>>,
    /// Kernel changes of this pass through the event loop, sent at its end as one
    /// request (a full table comes a few routes per UPDATE).
    kernel_pending: Vec<KernelChange>,
}

impl Daemon {
    pub(crate) async fn run(
        opts: Options,
        cfg: BgpConfig,
        ids: HashMap<String, PeerId>,
    ) -> Result<(), DaemonError> {
        // Signal handlers first, before the status socket that tells the supervisor
        // this daemon is ready for a SIGHUP (an early SIGHUP must not kill it).
        let mut sigterm = signal(SignalKind::terminate())?;
        let mut sigint = signal(SignalKind::interrupt())?;
        let mut sighup = signal(SignalKind::hangup())?;
        let net = Net::new()?;
        // Route events only when networks or redistribution need them: with a full
        // table, every route bgpd installs would come back as an event.
        let mut routes_watched = cfg.watches_routes();
        let mut events = subscribe(routes_watched)?;
        let listener = listen(opts.port).await?;
        let mut md5_keys: HashMap<IpAddr, Vec<u8>> = HashMap::new();
        apply_md5_keys(&listener, &cfg.peers, &mut md5_keys);
        let (kernel, kernel_rx) = mpsc::unbounded_channel();
        let in_kernel = opts.install_routes.then(|| Arc::new(AtomicUsize::new(0)));
        let kernel_task = if let Some(count) = &in_kernel {
            // A socket of its own: two dumps on one socket at once fail with EBUSY.
            let batch = kith_net::RouteBatch::new()?;
            Some(tokio::spawn(super::kernel::run(
                Net::new()?,
                batch,
                kernel_rx,
                Arc::clone(count),
            )))
        } else {
            drop(kernel_rx);
            None
        };
        let (status_tx, mut status_rx) = mpsc::unbounded_channel::<StatusRequest>();
        if let Some(dir) = &opts.run_dir {
            std::fs::create_dir_all(dir).map_err(|e| DaemonError::Io {
                what: format!("create {}", dir.display()),
                source: e,
            })?;
            let path = dir.join(crate::status::SOCKET_NAME);
            let l = super::status_server::bind(&path).map_err(|e| DaemonError::Io {
                what: format!("bind {}", path.display()),
                source: e,
            })?;
            tokio::spawn(super::status_server::serve(l, status_tx));
        }
        // Bounded: a session waits (and so reads no further) while the RIB is behind.
        let (from_sessions_tx, mut from_sessions) = mpsc::channel(SESSION_EVENTS_IN_FLIGHT);
        let mut rib = Rib::new(cfg.instance.clone(), cfg.chains.clone());
        rib.set_kernel(opts.install_routes);
        let (bfd_events, mut bfd_rx) = mpsc::unbounded_channel();
        let mut d = Daemon {
            bfd: None,
            bfd_events,
            checks: GatewayChecks::new(),
            in_kernel,
            opts,
            cfg,
            rib,
            peers: HashMap::new(),
            ids,
            from_sessions_tx,
            kernel,
            net,
            originated: BTreeSet::new(),
            stale_until: HashMap::new(),
            kernel_pending: Vec::new(),
        };
        info!(
            "bgpd: AS {} router-id {}, {} peer(s), {} network(s)",
            d.cfg.instance.local_as,
            d.cfg.instance.router_id,
            d.cfg.peers.len(),
            d.cfg.networks.len()
        );
        for p in d.cfg.peers.clone() {
            d.add_peer(p);
        }
        d.sync_local().await;
        let mut resync = tokio::time::interval(RESYNC);
        let mut sync_at: Option<Instant> = None;
        let mut session_events = Vec::with_capacity(SESSION_EVENTS_PER_WAKE);
        let mut from_sessions_open = true;
        loop {
            d.send_kernel();
            let stale_at = d.stale_until.values().min().copied();
            tokio::select! {
                _ = sigterm.recv() => break,
                _ = sigint.recv() => break,
                _ = sighup.recv() => {
                    d.reload().await;
                    apply_md5_keys(&listener, &d.cfg.peers, &mut md5_keys);
                    if !routes_watched && d.cfg.watches_routes() {
                        events = subscribe(true)?;
                        routes_watched = true;
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, addr)) => d.incoming(stream, addr),
                    Err(e) => warn!("bgpd: accept failed: {e}"),
                },
                n = from_sessions.recv_many(&mut session_events, SESSION_EVENTS_PER_WAKE), if from_sessions_open => {
                    from_sessions_open = n > 0;
                    for event in session_events.drain(..) {
                        d.session_event(event).await;
                    }
                }
                Some(event) = bfd_rx.recv() => d.bfd_event(event),
                Some((routes, reply)) = status_rx.recv() => { let _ = reply.send(d.status(routes)); }
                event = events.next() => match event {
                    Some(event) => {
                        if d.link_event(&event).await {
                            sync_at.get_or_insert(Instant::now() + SETTLE);
                        }
                    }
                    None => return Err(DaemonError::Events),
                },
                () = sleep_until(sync_at) => { sync_at = None; d.sync_local().await; }
                () = sleep_until(stale_at) => d.sweep_expired_stale(),
                () = sleep_until(d.checks.next_deadline().map(Instant::from_std)) => {
                    let changes = d.checks.poll(std::time::Instant::now());
                    d.gateway_changes(changes);
                }
                Some(reply) = d.checks.reply() => {
                    let changes = d.checks.on_reply(reply);
                    d.gateway_changes(changes);
                }
                _ = resync.tick() => if d.cfg.watches_routes() { d.sync_local().await },
            }
        }
        info!("bgpd: stopping, closing sessions and removing its routes");
        for peer in d.peers.values() {
            let _ = peer.tx.send(ToSession::Stop);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(task) = kernel_task {
            let (tx, rx) = oneshot::channel();
            let _ = d.kernel.send(KernelRequest::Shutdown(tx));
            // A full table takes the kernel 25-30 s to delete (the supervisor waits 45 s).
            let _ = tokio::time::timeout(KERNEL_SHUTDOWN, rx).await;
            task.abort();
        }
        if let Some(dir) = &d.opts.run_dir {
            let _ = std::fs::remove_file(dir.join(crate::status::SOCKET_NAME));
        }
        Ok(())
    }

    fn add_peer(&mut self, cfg: PeerConfig) {
        let id = cfg.spec.id;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(session::run(
            id,
            cfg.clone(),
            rx,
            self.from_sessions_tx.clone(),
        ));
        let out = self.rib.set_peer(cfg.spec.clone());
        self.peers.insert(
            id,
            Peer {
                cfg,
                tx,
                state: State::Idle,
                last_error: None,
                up_since: None,
                established_count: 0,
                hold: None,
                route_refresh: false,
                families: Vec::new(),
                link: None,
                eor_logged: false,
                restart_time: None,
                bfd: None,
                reset_reason: None,
            },
        );
        self.dispatch(out);
    }

    fn incoming(&mut self, stream: tokio::net::TcpStream, addr: SocketAddr) {
        let ip = addr.ip().to_canonical();
        match self.peers.values().find(|p| p.cfg.spec.address == ip) {
            Some(peer) => {
                let _ = peer.tx.send(ToSession::Incoming(stream));
            }
            None => info!("bgpd: refused a connection from {ip}: no peer has that address"),
        }
    }

    async fn session_event(&mut self, event: FromSession) {
        match event {
            FromSession::State {
                id,
                state,
                last_error,
            } => {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.state = state;
                    if p.reset_reason.is_some() {
                        p.last_error.clone_from(&p.reset_reason);
                    } else if last_error.is_some() {
                        p.last_error = last_error;
                    }
                }
            }
            FromSession::Up {
                id,
                negotiated,
                local,
            } => {
                let info = self.session_info(&negotiated, local).await;
                if let Some(p) = self.peers.get_mut(&id) {
                    p.reset_reason = None;
                    p.up_since = Some(Instant::now());
                    p.established_count += 1;
                    p.hold = Some((negotiated.hold_time, negotiated.keepalive));
                    p.route_refresh = negotiated.route_refresh;
                    p.families = negotiated.families.clone();
                    p.link = info.1;
                    p.eor_logged = false;
                    p.restart_time = negotiated.peer_restart_time;
                }
                self.stale_until.remove(&id);
                self.start_bfd(id).await;
                let out = self.rib.peer_up(id, info.0);
                self.dispatch(out);
            }
            FromSession::Down { id, reason } => {
                let mut keep = None;
                if reason.connection_lost {
                    keep = self.rib_restart_time(id);
                }
                self.stop_bfd(id);
                if let Some(p) = self.peers.get_mut(&id) {
                    p.up_since = None;
                    p.link = None;
                    p.last_error = Some(p.reset_reason.clone().unwrap_or(reason.text.clone()));
                }
                if let Some(secs) = keep {
                    info!(
                        "bgpd: keeping the routes of {} as stale for {secs} s (graceful restart)",
                        self.name(id)
                    );
                    self.stale_until
                        .insert(id, Instant::now() + Duration::from_secs(u64::from(secs)));
                }
                let out = self.rib.peer_down(id, keep.is_some());
                self.dispatch(out);
            }
            FromSession::Message { id, message } => match message {
                Message::Update(update) => {
                    let eor = update.end_of_rib().is_some();
                    let out = self.rib.receive_owned(id, update);
                    if eor {
                        self.log_end_of_rib(id);
                    }
                    self.dispatch(out);
                }
                Message::RouteRefresh { afi, safi } => {
                    if let Some(family) = Family::from_afi_safi(afi, safi) {
                        let out = self.rib.refresh(id, family);
                        self.dispatch(out);
                    }
                }
                _ => {}
            },
        }
    }

    /// Starts the BFD session of an Established `use-bfd` peer (from its session's
    /// address, with the timers of its interface).
    async fn start_bfd(&mut self, id: PeerId) {
        let Some(p) = self.peers.get(&id) else {
            return;
        };
        let Some((index, local)) = p.link.filter(|_| p.cfg.use_bfd) else {
            return;
        };
        let remote = p.cfg.spec.address;
        let names = match self.net.link(index).await {
            Ok(Some(l)) => {
                let mut n = l.altnames.clone();
                n.push(l.name);
                n
            }
            _ => Vec::new(),
        };
        let timers: Timers = self.cfg.bfd_timers(&names);
        let tx = self.bfd.get_or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(crate::bfd::io::run(rx, self.bfd_events.clone()));
            tx
        });
        let _ = tx.send(BfdCommand::Add {
            key: id,
            local,
            remote,
            timers,
        });
        if let Some(p) = self.peers.get_mut(&id) {
            p.bfd = Some(BfdState::Down);
        }
    }

    fn stop_bfd(&mut self, id: PeerId) {
        let Some(p) = self.peers.get_mut(&id) else {
            return;
        };
        if p.bfd.take().is_some() {
            if let Some(tx) = &self.bfd {
                let _ = tx.send(BfdCommand::Remove(id));
            }
        }
    }

    /// A BFD session changed state: when an Up session goes down, the path is dead and
    /// the BGP session is reset at once (RFC 5882).
    fn bfd_event(&mut self, event: BfdEvent<PeerId>) {
        let Some(p) = self.peers.get_mut(&event.key) else {
            return;
        };
        if p.bfd.is_none() {
            return; // stopped meanwhile
        }
        p.bfd = Some(event.to);
        if event.from == BfdState::Up && event.to != BfdState::Up {
            warn!(
                "peer {} ({}): BFD says the path is down ({}), resetting the session",
                p.cfg.spec.name, p.cfg.spec.address, event.why
            );
            p.reset_reason = Some(format!("BFD: {}", event.why));
            let _ = p.tx.send(ToSession::Reset(None, Some(Duration::ZERO)));
        } else if event.to == BfdState::Up {
            info!(
                "peer {} ({}): BFD session up",
                p.cfg.spec.name, p.cfg.spec.address
            );
        }
    }

    fn rib_restart_time(&self, id: PeerId) -> Option<u16> {
        self.peers
            .get(&id)
            .and_then(|p| p.restart_time)
            .filter(|t| *t > 0)
    }

    fn log_end_of_rib(&mut self, id: PeerId) {
        let (received, accepted, _) = self.rib.counters(id);
        if let Some(p) = self.peers.get_mut(&id) {
            if !p.eor_logged {
                p.eor_logged = true;
                info!(
                    "peer {} ({}) Established, {received} prefixes received, {accepted} accepted",
                    p.cfg.spec.name, p.cfg.spec.address
                );
            }
        }
    }

    fn name(&self, id: PeerId) -> String {
        self.peers
            .get(&id)
            .map(|p| p.cfg.spec.name.clone())
            .unwrap_or_default()
    }

    fn sweep_expired_stale(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self
            .stale_until
            .iter()
            .filter(|(_, t)| **t <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.stale_until.remove(&id);
            let out = self.rib.sweep_stale(id, None);
            self.dispatch(out);
        }
    }

    /// Own addresses for next-hop-self, and the interface for fast fallover.
    async fn session_info(
        &self,
        negotiated: &crate::fsm::Negotiated,
        local: SocketAddr,
    ) -> (SessionInfo, Option<(u32, IpAddr)>) {
        let local_ip = local.ip().to_canonical();
        let addrs: Vec<AddressInfo> = self.net.addresses(None).await.unwrap_or_default();
        let index = addrs.iter().find(|a| a.ip() == local_ip).map(|a| a.index);
        let on_link = |pred: &dyn Fn(&AddressInfo) -> bool| {
            addrs
                .iter()
                .filter(|a| Some(a.index) == index)
                .find(|a| pred(a))
                .map(AddressInfo::ip)
        };
        let local_v4 = match local_ip {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => on_link(&|a| a.ip().is_ipv4()).and_then(|ip| match ip {
                IpAddr::V4(a) => Some(a),
                IpAddr::V6(_) => None,
            }),
        };
        let v6 = |want_ll: bool| {
            on_link(&|a| matches!(a.ip(), IpAddr::V6(v) if v.is_unicast_link_local() == want_ll))
                .and_then(|ip| match ip {
                    IpAddr::V6(a) => Some(a),
                    IpAddr::V4(_) => None::<Ipv6Addr>,
                })
        };
        let local_v6 = match local_ip {
            IpAddr::V6(a) if !a.is_unicast_link_local() => Some(a),
            _ => v6(false),
        };
        let info = SessionInfo {
            negotiated: negotiated.clone(),
            local_v4,
            local_v6,
            link_local: v6(true),
        };
        (info, index.map(|i| (i, local_ip)))
    }

    /// Probed gateways that became reachable or unreachable: their routes are used
    /// again, or no longer.
    fn gateway_changes(&mut self, changes: Vec<GatewayChange>) {
        for c in changes {
            let out = self.rib.set_gateway_reachable(c.gateway, c.reachable);
            self.dispatch(out);
        }
    }

    /// Sends the kernel changes gathered since the last call.
    fn send_kernel(&mut self) {
        if !self.kernel_pending.is_empty() {
            let changes = std::mem::take(&mut self.kernel_pending);
            let _ = self.kernel.send(KernelRequest::Apply(changes));
        }
    }

    fn dispatch(&mut self, out: Output) {
        if let Some(gateways) = self.rib.take_checked_gateways() {
            self.checks.set_wanted(&gateways, std::time::Instant::now());
        }
        for (id, bytes) in out.messages {
            if let Some(p) = self.peers.get(&id) {
                let _ = p.tx.send(ToSession::Send(bytes));
            }
        }
        if self.kernel_pending.is_empty() {
            self.kernel_pending = out.kernel;
        } else {
            self.kernel_pending.extend(out.kernel);
        }
        for (id, n) in out.resets {
            if let Some(p) = self.peers.get(&id) {
                warn!(
                    "peer {} ({}): prefix limit {} exceeded, session reset",
                    p.cfg.spec.name,
                    p.cfg.spec.address,
                    p.cfg.spec.max_prefix.unwrap_or(0)
                );
                let _ =
                    p.tx.send(ToSession::Reset(Some(n), p.cfg.max_prefix_restart));
            }
        }
    }

    /// Fast fallover on link and address events; tells whether routes may have changed.
    async fn link_event(&mut self, event: &NetEvent) -> bool {
        let gone: Option<(Option<u32>, Option<IpAddr>)> = match event {
            NetEvent::LinkChanged(l) if !l.up || !l.carrier => Some((Some(l.index), None)),
            NetEvent::LinkRemoved { index, .. } => Some((Some(*index), None)),
            NetEvent::AddressRemoved(a) => Some((None, Some(a.ip()))),
            _ => None,
        };
        if let Some((index, addr)) = gone {
            for p in self.peers.values() {
                let Some((link, local)) = p.link else {
                    continue;
                };
                if index == Some(link) || addr == Some(local) {
                    info!(
                        "peer {} ({}): its interface went down, resetting the session (fast fallover)",
                        p.cfg.spec.name, p.cfg.spec.address
                    );
                    let _ = p.tx.send(ToSession::Reset(None, Some(Duration::ZERO)));
                }
            }
        }
        match event {
            // bgpd's own routes never decide what it announces.
            NetEvent::RouteAdded(r) | NetEvent::RouteRemoved(r) => {
                r.route.protocol != PROTO_BGP && self.cfg.watches_routes()
            }
            NetEvent::Overrun | NetEvent::LinkChanged(_) => self.cfg.watches_routes(),
            _ => false,
        }
    }

    /// Announces the networks whose route exists (or that need none), and what
    /// redistribution asks for; withdraws the rest.
    async fn sync_local(&mut self) {
        let routes = match self.net.routes(&RouteFilter::main()).await {
            Ok(r) => r,
            Err(e) => {
                warn!("bgpd: cannot read the kernel routes: {e}");
                return;
            }
        };
        let present: BTreeSet<IpNet> = routes
            .iter()
            .filter(|r| r.route.protocol != PROTO_BGP && !r.linkdown)
            .map(|r| r.route.dst)
            .collect();
        let v4 = present.contains(&IpNet::V4(ipnet::Ipv4Net::default()));
        let v6 = present.contains(&IpNet::V6(ipnet::Ipv6Net::default()));
        let out = self.rib.set_default_installed(v4, v6);
        self.dispatch(out);
        let mut want: BTreeSet<IpNet> = self
            .cfg
            .networks
            .iter()
            .filter(|(net, sync)| !sync || present.contains(net))
            .map(|(net, _)| *net)
            .collect();
        for r in &routes {
            let dst = r.route.dst;
            let usable = !r.linkdown
                && !dst.addr().is_multicast()
                && !is_link_local(&dst)
                && !dst.addr().is_loopback();
            let connected = self.cfg.redistribute_connected && r.route.protocol == PROTO_KERNEL;
            let statics = self.cfg.redistribute_static && r.route.protocol == PROTO_STATIC;
            if usable && (connected || statics) {
                want.insert(dst);
            }
        }
        let add: Vec<IpNet> = want.difference(&self.originated).copied().collect();
        let remove: Vec<IpNet> = self.originated.difference(&want).copied().collect();
        for net in add {
            info!("bgpd: announcing {net}");
            let out = self.rib.set_local(net, true);
            self.dispatch(out);
        }
        for net in remove {
            info!("bgpd: withdrawing {net} (its route is gone)");
            let out = self.rib.set_local(net, false);
            self.dispatch(out);
        }
        self.originated = want;
    }

    async fn reload(&mut self) {
        let Some(path) = self.opts.config.clone() else {
            return;
        };
        let fallback = self.cfg.instance.router_id;
        let ids = &mut self.ids;
        let new = match super::load(&path, fallback, ids) {
            Ok(Some(c)) => c,
            Ok(None) => {
                warn!(
                    "bgpd: reload: the config has no BGP instance any more; keeping the running one"
                );
                return;
            }
            Err(e) => {
                error!("bgpd: reload rejected, keeping the running config: {e}");
                return;
            }
        };
        info!("bgpd: config reloaded");
        self.cfg.bfd = new.bfd.clone();
        let out = self
            .rib
            .reconfigure(new.instance.clone(), new.chains.clone());
        self.dispatch(out);
        let old_peers: HashMap<PeerId, PeerConfig> = self
            .peers
            .iter()
            .map(|(id, p)| (*id, p.cfg.clone()))
            .collect();
        for cfg in &new.peers {
            let id = cfg.spec.id;
            match old_peers.get(&id) {
                None => self.add_peer(cfg.clone()),
                Some(old) if cfg.needs_restart(old) || cfg.disabled != old.disabled => {
                    info!(
                        "peer {} ({}): session settings changed, restarting it",
                        cfg.spec.name, cfg.spec.address
                    );
                    self.stop_bfd(id);
                    if let Some(p) = self.peers.remove(&id) {
                        let _ = p.tx.send(ToSession::Stop);
                    }
                    let out = self.rib.peer_down(id, false);
                    self.dispatch(out);
                    self.add_peer(cfg.clone());
                }
                Some(old) => {
                    let in_changed = cfg.spec.in_filter != old.spec.in_filter;
                    let bfd_changed = cfg.use_bfd != old.use_bfd;
                    let out = self.rib.set_peer(cfg.spec.clone());
                    self.dispatch(out);
                    if let Some(p) = self.peers.get_mut(&id) {
                        p.cfg = cfg.clone();
                        if in_changed && p.route_refresh && p.up_since.is_some() {
                            // The Adj-RIB-In already has everything; the refresh makes
                            // sure nothing the peer holds back is missed.
                            let ctx = crate::codec::DecodeContext::default();
                            for f in &p.families {
                                let _ = p.tx.send(ToSession::Send(
                                    Message::route_refresh(*f).to_bytes(&ctx),
                                ));
                            }
                        }
                    }
                    if bfd_changed && cfg.use_bfd {
                        self.start_bfd(id).await;
                    } else if bfd_changed {
                        self.stop_bfd(id);
                    }
                }
            }
        }
        let removed: Vec<PeerId> = old_peers
            .keys()
            .filter(|id| !new.peers.iter().any(|p| p.spec.id == **id))
            .copied()
            .collect();
        for id in removed {
            self.stop_bfd(id);
            if let Some(p) = self.peers.remove(&id) {
                info!(
                    "peer {} ({}) removed from the config",
                    p.cfg.spec.name, p.cfg.spec.address
                );
                let _ = p.tx.send(ToSession::Stop);
            }
            let out = self.rib.remove_peer(id);
            self.dispatch(out);
        }
        self.cfg = new;
        self.sync_local().await;
    }

    fn status(&self, with_routes: bool) -> Status {
        let mut peers: Vec<PeerStatus> = self
            .cfg
            .peers
            .iter()
            .filter_map(|c| self.peers.get(&c.spec.id))
            .map(|p| {
                let (received, accepted, advertised) = self.rib.counters(p.cfg.spec.id);
                PeerStatus {
                    name: p.cfg.spec.name.clone(),
                    remote_address: p.cfg.spec.address.to_string(),
                    remote_as: p.cfg.spec.remote_as,
                    state: p.state.as_str().to_string(),
                    uptime_secs: p.up_since.map(|t| t.elapsed().as_secs()).unwrap_or(0),
                    prefixes_received: received,
                    prefixes_accepted: accepted,
                    prefixes_advertised: advertised,
                    established_count: p.established_count,
                    last_error: p.last_error.clone(),
                    hold_time: p.hold.map(|h| h.0),
                    keepalive_time: p.hold.map(|h| h.1),
                    disabled: p.cfg.disabled,
                    bfd: p.bfd.map(|b| b.as_str().to_string()),
                }
            })
            .collect();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        let routes = if with_routes {
            self.rib.routes()
        } else {
            Vec::new()
        };
        let routes = routes
            .into_iter()
            .map(|r| RouteStatusView {
                dst_address: r.dst_address,
                gateway: r.gateway,
                distance: r.distance,
                as_path: r.as_path,
                local_pref: r.local_pref,
                med: r.med,
                origin: r.origin.to_string(),
                communities: r.communities,
                large_communities: r.large_communities,
                received_from: r.received_from,
                active: r.active,
                status: match r.status {
                    RouteStatus::Accepted => "accepted".into(),
                    RouteStatus::Filtered(action) => format!("filtered: {action}"),
                    RouteStatus::Loop => "loop".into(),
                    RouteStatus::Malformed => "malformed".into(),
                    RouteStatus::GatewayUnreachable => "unreachable (check-gateway)".into(),
                },
            })
            .collect();
        Status {
            local_as: self.cfg.instance.local_as,
            router_id: self.cfg.instance.router_id.to_string(),
            peers,
            routes,
            kernel_routes: self.in_kernel.as_ref().map(|c| c.load(Ordering::Relaxed)),
        }
    }
}

/// Puts the peers' TCP-MD5 keys on the listening socket (accepted connections inherit
/// them) and takes away those of peers that no longer have one.
fn apply_md5_keys(
    listener: &TcpListener,
    peers: &[PeerConfig],
    applied: &mut HashMap<IpAddr, Vec<u8>>,
) {
    let want: HashMap<IpAddr, Vec<u8>> = peers
        .iter()
        .filter_map(|p| {
            p.md5_key
                .as_ref()
                .map(|k| (p.spec.address, k.expose().as_bytes().to_vec()))
        })
        .collect();
    let v6 = listener.local_addr().is_ok_and(|a| a.is_ipv6());
    for (addr, key) in &want {
        if applied.get(addr) != Some(key) {
            if let Err(e) = super::sockopt::set_tcp_md5(listener, *addr, key, v6) {
                warn!("bgpd: cannot set the TCP-MD5 key for {addr}: {e}");
            }
        }
    }
    for addr in applied.keys().filter(|a| !want.contains_key(*a)) {
        let _ = super::sockopt::set_tcp_md5(listener, *addr, &[], v6);
    }
    *applied = want;
}

type Events = std::pin::Pin<Box<dyn futures::Stream<Item = NetEvent> + Send>>;

fn subscribe(routes: bool) -> Result<Events, DaemonError> {
    let mut groups = vec![
        EventGroup::Link,
        EventGroup::Ipv4Address,
        EventGroup::Ipv6Address,
    ];
    if routes {
        groups.extend([EventGroup::Ipv4Route, EventGroup::Ipv6Route]);
    }
    Ok(Box::pin(kith_net::subscribe(&groups)?))
}

fn is_link_local(net: &IpNet) -> bool {
    match net.addr() {
        IpAddr::V6(a) => a.is_unicast_link_local(),
        IpAddr::V4(a) => a.is_link_local(),
    }
}

async fn listen(port: u16) -> Result<TcpListener, DaemonError> {
    let any6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    match TcpListener::bind(any6).await {
        Ok(l) => Ok(l),
        Err(_) => TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
            .await
            .map_err(|e| DaemonError::Io {
                what: format!("listen on port {port}"),
                source: e,
            }),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
