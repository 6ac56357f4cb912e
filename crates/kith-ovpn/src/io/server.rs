//! The server: a UDP socket per local IPv4 address (so replies leave from the address
//! the client reached, on every WAN) or a TCP listener; new handshakes are rate-limited
//! per source address.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kith_net::Net;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
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

/// Counts new handshakes per source address.
#[derive(Debug, Default)]
pub struct RateLimiter {
    seen: HashMap<IpAddr, Vec<Instant>>,
}

impl RateLimiter {
    /// True when `ip` may start another handshake at `now`.
    pub fn allow(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.seen.len() > 4096 {
            self.seen.retain(|_, v| {
                v.iter()
                    .any(|t| now.saturating_duration_since(*t) < RATE_WINDOW)
            });
        }
        let v = self.seen.entry(ip).or_default();
        v.retain(|t| now.saturating_duration_since(*t) < RATE_WINDOW);
        if v.len() >= RATE_LIMIT {
            return false;
        }
        v.push(now);
        true
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
    if addrs.is_empty() {
        addrs.push(Ipv4Addr::UNSPECIFIED);
    }
    let mut tasks = Vec::new();
    for a in addrs {
        let sock = UdpSocket::bind((a, spec.port))
            .await
            .map_err(|e| format!("cannot listen on UDP {a}:{}: {e}", spec.port))?;
        info!("ovpn-server listening on UDP {a}:{}", spec.port);
        tasks.push(tokio::spawn(udp_demux(
            Arc::new(sock),
            spec.clone(),
            net.clone(),
            registry.clone(),
            shutdown.clone(),
        )));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn tcp_accept(
    listener: TcpListener,
    spec: Arc<ServerSpec>,
    net: Net,
    registry: Arc<Registry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut limiter = RateLimiter::default();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, from)) = accepted else {
            continue;
        };
        if !limiter.allow(from.ip(), Instant::now()) {
            debug!(
                "ovpn-server: too many new connections from {}; dropped",
                from.ip()
            );
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
                spec.session.clone(),
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
                mtu: spec.session.tun_mtu,
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
    spec: Arc<ServerSpec>,
    net: Net,
    registry: Arc<Registry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut sessions: HashMap<SocketAddr, Session> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(SocketAddr, SessionId)>();
    let mut limiter = RateLimiter::default();
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
        if sessions.len() >= MAX_TUNNELS || !limiter.allow(from.ip(), Instant::now()) {
            debug!("ovpn-server: new handshake from {from} refused (rate limit)");
            continue;
        }
        let tunnel = match Tunnel::server(
            spec.session.clone(),
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
        let driver = Driver {
            tunnel,
            transport: Transport::UdpShared {
                sock: sock.clone(),
                peer: from,
                rx,
            },
            net: net.clone(),
            registry: registry.clone(),
            kind: "server",
            label: None,
            mtu: spec.session.tun_mtu,
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
}
