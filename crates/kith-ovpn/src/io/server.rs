//! The server: a UDP socket per local IPv4 address (so replies leave from the address
//! the client reached, on every WAN), following the addresses as they come and go (a
//! WAN whose address arrives after start, by DHCP or PPPoE, is served from then on), or
//! a TCP listener; new handshakes are rate-limited per source address.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kith_net::{EventGroup, Net, NetEvent};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

use super::driver::Driver;
use super::registry::Registry;
use super::transport::Transport;
use crate::codec::framing::Deframer;
use crate::codec::{Header, Opcode, SessionId};
use crate::config::ServerSpec;
use crate::session::Tunnel;

/// New handshakes one source address may start per [`RATE_WINDOW`].
pub const RATE_LIMIT: usize = 10;
/// The rate limit's window.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);
/// Most tunnels (handshaking or up) at once.
pub const MAX_TUNNELS: usize = 1024;

/// Counts new handshakes per source address, for every socket of the server.
#[derive(Debug, Default)]
pub struct RateLimiter {
    seen: HashMap<IpAddr, Source>,
    prune_at: usize,
}

/// Sources remembered before stale ones are pruned.
const PRUNE_FROM: usize = 4096;
/// Sources remembered at most.
const MAX_SOURCES: usize = 65536;

#[derive(Debug, Default)]
struct Source {
    starts: Vec<Instant>,
    warned: Option<Instant>,
}

/// What [`RateLimiter::check`] says about a new handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead.
    Allow,
    /// Over the limit; `first` is true once per source and window (log it then).
    Refuse {
        /// Whether this is the first refusal of this source in the window.
        first: bool,
    },
}

impl RateLimiter {
    /// Whether `ip` may start another handshake at `now`.
    pub fn check(&mut self, ip: IpAddr, now: Instant) -> Verdict {
        let fresh = |t: &Instant| now.saturating_duration_since(*t) < RATE_WINDOW;
        if self.seen.len() >= self.prune_at.clamp(PRUNE_FROM, MAX_SOURCES - 1) {
            self.seen
                .retain(|_, s| s.starts.iter().any(fresh) || s.warned.as_ref().is_some_and(fresh));
            if self.seen.len() >= MAX_SOURCES / 2 {
                // Spoofed sources by the ten thousand: forget them all rather than grow;
                // MAX_TUNNELS still bounds what they can start.
                self.seen.clear();
            }
            self.prune_at = (self.seen.len() * 2).clamp(PRUNE_FROM, MAX_SOURCES - 1);
        }

        let s = self.seen.entry(ip).or_default();
        s.starts.retain(fresh);
        if s.starts.len() >= RATE_LIMIT {
            let first = !s.warned.as_ref().is_some_and(fresh);
            if first {
                s.warned = Some(now);
            }
            return Verdict::Refuse { first };
        }
        s.starts.push(now);
        Verdict::Allow
    }

    /// True when `ip` may start another handshake at `now`.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        self.check(ip, now) == Verdict::Allow
    }
}

/// Checks a new handshake from `from` against the limiter; logs the first refusal of
/// a source in each window (a flood writes one line, not thousands).
fn admit(limiter: &Mutex<RateLimiter>, from: SocketAddr) -> bool {
    let verdict = limiter
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .check(from.ip(), Instant::now());
    match verdict {
        Verdict::Allow => true,
        Verdict::Refuse { first } => {
            if first {
                warn!(
                    "ovpn-server: more than {RATE_LIMIT} new connections from {} in {} s; \
                     ignoring its new connections for now",
                    from.ip(),
                    RATE_WINDOW.as_secs()
                );
            }
            debug!("ovpn-server: new connection from {from} refused (rate limit)");
            false
        }
    }
}

/// Runs the server until `shutdown` turns true.
pub async fn run(
    spec: ServerSpec,
    net: Net,
    registry: Arc<Registry>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let spec = Arc::new(spec);
    if spec.tcp {
        let listener = TcpListener::bind(("0.0.0.0", spec.port))
            .await
            .map_err(|e| format!("cannot listen on TCP port {}: {e}", spec.port))?;
        info!("ovpn-server listening on TCP port {}", spec.port);
        tcp_accept(listener, spec, net, registry, shutdown).await;
        return Ok(());
    }
    // Subscribed before listing, so that no address added in between is missed.
    let mut events = kith_net::subscribe(&[EventGroup::Ipv4Address])
        .map_err(|e| format!("cannot watch addresses: {e}"))?;
    let mut udp = UdpListeners {
        by_address: BTreeMap::new(),
        limiter: Arc::new(Mutex::new(RateLimiter::default())),
        spec,
        net: net.clone(),
        registry,
        shutdown: shutdown.clone(),
    };
    let addrs = local_ipv4(&net).await?;
    if addrs.is_empty() {
        // Nothing to pick a source address from yet: every address, until some appear.
        udp.start(Ipv4Addr::UNSPECIFIED)?;
    }
    for a in addrs {
        udp.start(a)?;
    }
    let mut shutdown = shutdown;
    loop {
        tokio::select! {
            _ = shutdown.changed() => {
                if *shutdown.borrow() {
                    break;
                }
            }
            event = events.next() => match event {
                Some(NetEvent::AddressAdded(a)) => {
                    if let IpAddr::V4(v4) = a.ip() {
                        if !v4.is_loopback() && !udp.by_address.contains_key(&v4) {
                            if let Err(e) = udp.start(v4) {
                                warn!("{e}");
                            }
                        }
                    }
                }
                Some(NetEvent::AddressRemoved(a)) => {
                    if let IpAddr::V4(v4) = a.ip() {
                        udp.stop(v4);
                    }
                }
                Some(NetEvent::Overrun) => match local_ipv4(&net).await {
                    Ok(now) => udp.sync(&now),
                    Err(e) => warn!("ovpn-server: {e}"),
                },
                Some(_) => {}
                None => {
                    warn!("ovpn-server: address events ended; listening where it does now");
                    let _ = shutdown.wait_for(|stop| *stop).await;
                    break;
                }
            },
        }
    }
    for (_, task) in std::mem::take(&mut udp.by_address) {
        let _ = task.await;
    }
    Ok(())
}

/// The local IPv4 addresses but loopback, sorted, without duplicates.
async fn local_ipv4(net: &Net) -> Result<Vec<Ipv4Addr>, String> {
    let mut addrs: Vec<Ipv4Addr> = net
        .addresses(None)
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .filter_map(|a| match a.ip() {
            IpAddr::V4(v4) if !v4.is_loopback() => Some(v4),
            _ => None,
        })
        .collect();
    addrs.sort();
    addrs.dedup();
    Ok(addrs)
}

/// The UDP listeners of a server, one per local address.
struct UdpListeners {
    by_address: BTreeMap<Ipv4Addr, JoinHandle<()>>,
    limiter: Arc<Mutex<RateLimiter>>,
    spec: Arc<ServerSpec>,
    net: Net,
    registry: Arc<Registry>,
    shutdown: watch::Receiver<bool>,
}

impl UdpListeners {
    /// Listens on `a` (its own socket and task).
    fn start(&mut self, a: Ipv4Addr) -> Result<(), String> {
        let port = self.spec.port;
        let sock = bind_reuse(SocketAddr::new(IpAddr::V4(a), port))
            .and_then(UdpSocket::from_std)
            .map_err(|e| format!("cannot listen on UDP {a}:{port}: {e}"))?;
        info!("ovpn-server listening on UDP {a}:{port}");
        let task = tokio::spawn(udp_demux(
            Arc::new(sock),
            self.limiter.clone(),
            self.spec.clone(),
            self.net.clone(),
            self.registry.clone(),
            self.shutdown.clone(),
        ));
        self.by_address.insert(a, task);
        Ok(())
    }

    /// Stops listening on `a`, an address that is gone (its tunnels end with it).
    fn stop(&mut self, a: Ipv4Addr) {
        if let Some(task) = self.by_address.remove(&a) {
            task.abort();
            info!("ovpn-server: {a} removed; no longer listening on it");
        }
    }

    /// Listens on exactly `now` (after missed address events), keeping the catch-all.
    fn sync(&mut self, now: &[Ipv4Addr]) {
        let gone: Vec<Ipv4Addr> = self
            .by_address
            .keys()
            .filter(|a| !a.is_unspecified() && !now.contains(a))
            .copied()
            .collect();
        for a in gone {
            self.stop(a);
        }
        for &a in now {
            if !self.by_address.contains_key(&a) {
                if let Err(e) = self.start(a) {
                    warn!("{e}");
                }
            }
        }
    }
}

async fn tcp_accept(
    listener: TcpListener,
    spec: Arc<ServerSpec>,
    net: Net,
    registry: Arc<Registry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limiter = Mutex::new(RateLimiter::default());
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, from)) = accepted else {
            continue;
        };
        if !admit(&limiter, from) {
            continue;
        }
        let spec = spec.clone();
        let net = net.clone();
        let registry = registry.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let mut transport = Transport::tcp(stream, Deframer::new());
            let first = match tokio::time::timeout(Duration::from_secs(10), transport.recv()).await
            {
                Ok(Ok(p)) => p,
                _ => return,
            };
            let peer = from.to_string();
            let tunnel = match Tunnel::server(
                spec.session.get(),
                spec.accounts.clone(),
                &peer,
                registry.next_id() as u32,
                &first,
                Instant::now(),
            ) {
                Ok(t) => t,
                Err(e) => {
                    debug!("ovpn-server: {e}");
                    return;
                }
            };
            Driver {
                tunnel,
                transport,
                net,
                registry,
                kind: "server",
                label: None,
                mtu: spec.session.get().tun_mtu,
                routing: None,
            }
            .run(shutdown)
            .await;
        });
    }
}

struct Session {
    tx: mpsc::Sender<Vec<u8>>,
    sid: SessionId,
}

async fn udp_demux(
    sock: Arc<UdpSocket>,
    limiter: Arc<Mutex<RateLimiter>>,
    spec: Arc<ServerSpec>,
    net: Net,
    registry: Arc<Registry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sessions: HashMap<SocketAddr, Session> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(SocketAddr, SessionId)>();
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(e) => {
                    debug!("ovpn-server: UDP receive: {e}");
                    continue;
                }
            },
            Some((addr, sid)) = done_rx.recv() => {
                if sessions.get(&addr).is_some_and(|s| s.sid == sid) {
                    sessions.remove(&addr);
                }
                continue;
            }
            _ = shutdown.changed() => return,
        };
        let packet = &buf[..n];
        let header = Header::parse(packet).ok();
        let is_reset = header.is_some_and(|h| {
            matches!(
                h.opcode,
                Opcode::HardResetClientV2 | Opcode::HardResetClientV3
            ) && h.key_id == 0
        });
        let sid = packet.get(1..9).map(|b| {
            let mut id = [0u8; 8];
            id.copy_from_slice(b);
            SessionId(id)
        });
        if let Some(s) = sessions.get(&from) {
            let same = Some(s.sid) == sid;
            if !is_reset || same {
                let _ = s.tx.try_send(packet.to_vec());
                continue;
            }
            // the client restarted with the same address and port
            sessions.remove(&from);
        }
        let (true, Some(sid)) = (is_reset, sid) else {
            continue;
        };
        if sessions.len() >= MAX_TUNNELS {
            debug!("ovpn-server: new handshake from {from} refused ({MAX_TUNNELS} tunnels)");
            continue;
        }
        if !admit(&limiter, from) {
            continue;
        }
        let tunnel = match Tunnel::server(
            spec.session.get(),
            spec.accounts.clone(),
            &from.to_string(),
            registry.next_id() as u32,
            packet,
            Instant::now(),
        ) {
            Ok(t) => t,
            Err(e) => {
                debug!("ovpn-server: {e}");
                continue;
            }
        };
        let (tx, rx) = mpsc::channel(1024);
        sessions.insert(from, Session { tx, sid });
        // The session's own socket, connected to the client: the kernel hands it the
        // client's packets directly (no hop through this task). Without one (out of
        // file descriptors), the shared socket serves.
        let transport = match sock.local_addr().and_then(|l| session_socket(l, from)) {
            Ok(own) => Transport::udp_session(own, rx, sid),
            Err(e) => {
                debug!("ovpn-server: no socket of its own for {from}: {e}");
                Transport::UdpShared {
                    sock: sock.clone(),
                    peer: from,
                    rx,
                }
            }
        };
        let driver = Driver {
            tunnel,
            transport,
            net: net.clone(),
            registry: registry.clone(),
            kind: "server",
            label: None,
            mtu: spec.session.get().tun_mtu,
            routing: None,
        };
        let done = done_tx.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            driver.run(shutdown).await;
            let _ = done.send((from, sid));
        });
        if sessions.len() % 100 == 99 {
            warn!("ovpn-server: {} sessions", sessions.len());
        }
    }
}

/// A UDP socket bound to `local` with SO_REUSEADDR and SO_REUSEPORT, so that the
/// sessions' connected sockets can share the listener's address and port.
fn bind_reuse(local: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::for_address(local), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_reuse_port(true)?;
    s.set_nonblocking(true)?;
    s.bind(&local.into())?;
    Ok(s.into())
}

/// A session's socket: the listener's address and port, connected to the client.
fn session_socket(local: SocketAddr, peer: SocketAddr) -> std::io::Result<UdpSocket> {
    let s = bind_reuse(local)?;
    s.connect(peer)?;
    UdpSocket::from_std(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_per_source() {
        let mut l = RateLimiter::default();
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        for _ in 0..RATE_LIMIT {
            assert!(l.allow(a, t));
        }
        assert!(!l.allow(a, t));
        assert!(l.allow(b, t));
        assert!(l.allow(a, t + RATE_WINDOW));
    }

    #[test]
    fn a_flood_is_reported_once_per_window() {
        let mut l = RateLimiter::default();
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..RATE_LIMIT {
            assert_eq!(l.check(a, t), Verdict::Allow);
        }
        assert_eq!(l.check(a, t), Verdict::Refuse { first: true });
        for _ in 0..1000 {
            assert_eq!(l.check(a, t), Verdict::Refuse { first: false });
        }
        let later = t + RATE_WINDOW;
        assert_eq!(l.check(a, later), Verdict::Allow);
        for _ in 1..RATE_LIMIT {
            l.check(a, later);
        }
        assert_eq!(l.check(a, later), Verdict::Refuse { first: true });
        // many sources: the table stays bounded (and checking stays cheap)
        let start = Instant::now();
        for i in 0..200_000u32 {
            l.check(IpAddr::from(i.to_be_bytes()), later + RATE_WINDOW * 2);
            assert!(l.seen.len() <= MAX_SOURCES, "{}", l.seen.len());
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
    }
}
