//! BFD on the wire (RFC 5881 single hop): receives on UDP 3784 and drops every packet
//! whose TTL / hop limit is not 255 (GTSM), sends from one port of 49152-65535 per
//! session with TTL 255, runs the sessions' timers and reports state changes. The only
//! part of `bfd` that awaits.

use std::collections::HashMap;
use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::time::Duration;

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::codec::{BfdState, ControlPacket, diag};
use super::fsm::{Action, Session, Timers};

/// UDP port of single-hop BFD control packets (RFC 5881).
pub const CONTROL_PORT: u16 = 3784;
/// TTL of sent packets and the only TTL accepted (RFC 5881 5, GTSM).
pub const TTL: u8 = 255;

/// Requests to the BFD task; `K` names a session (the BGP peer).
#[derive(Debug)]
pub enum BfdCommand<K> {
    /// Start a session from `local` to `remote`.
    Add {
        /// The session's key.
        key: K,
        /// Own address (the BGP session's).
        local: IpAddr,
        /// The peer's address.
        remote: IpAddr,
        /// Timers.
        timers: Timers,
    },
    /// Stop a session.
    Remove(K),
}

/// A session changed state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BfdEvent<K> {
    /// The session's key.
    pub key: K,
    /// Before.
    pub from: BfdState,
    /// After.
    pub to: BfdState,
    /// Why, in words.
    pub why: &'static str,
}

struct Entry {
    session: Session,
    local: IpAddr,
    remote: IpAddr,
    tx: UdpSocket,
}

/// Runs the BFD sessions until the command channel closes.
pub async fn run<K: Clone + Eq + std::hash::Hash + std::fmt::Debug>(
    mut commands: mpsc::UnboundedReceiver<BfdCommand<K>>,
    events: mpsc::UnboundedSender<BfdEvent<K>>,
) {
    let rx4 = match bind_rx(false) {
        Ok(s) => Some(s),
        Err(e) => {
            warn!("bfd: cannot listen on UDP {CONTROL_PORT} (IPv4): {e}");
            None
        }
    };
    let rx6 = match bind_rx(true) {
        Ok(s) => Some(s),
        Err(e) => {
            debug!("bfd: cannot listen on UDP {CONTROL_PORT} (IPv6): {e}");
            None
        }
    };
    let mut sessions: HashMap<K, Entry> = HashMap::new();
    let mut next_discr = initial_discriminator();
    loop {
        let deadline = sessions
            .values()
            .map(|e| Instant::from_std(e.session.next_deadline()))
            .min();
        tokio::select! {
            command = commands.recv() => match command {
                None => return,
                Some(BfdCommand::Add { key, local, remote, timers }) => {
                    match bind_tx(local) {
                        Ok(tx) => {
                            next_discr = next_discr.wrapping_add(1).max(1);
                            while sessions.values().any(|e| e.session.local_discr() == next_discr) {
                                next_discr = next_discr.wrapping_add(1).max(1);
                            }
                            let now = std::time::Instant::now();
                            debug!("bfd: session {key:?} {local} -> {remote}, {timers:?}");
                            sessions.insert(key, Entry { session: Session::new(next_discr, timers, now), local, remote, tx });
                        }
                        Err(e) => warn!("bfd: cannot open a socket from {local} to {remote}: {e}"),
                    }
                }
                Some(BfdCommand::Remove(key)) => { sessions.remove(&key); }
            },
            got = recv(rx4.as_ref()) => handle(&mut sessions, &events, got).await,
            got = recv(rx6.as_ref()) => handle(&mut sessions, &events, got).await,
            () = sleep_until(deadline) => {
                let now = std::time::Instant::now();
                let keys: Vec<K> = sessions.iter().filter(|(_, e)| e.session.next_deadline() <= now).map(|(k, _)| k.clone()).collect();
                for key in keys {
                    if let Some(e) = sessions.get_mut(&key) {
                        let actions = e.session.tick(now);
                        apply(&key, e, actions, &events).await;
                    }
                }
            }
        }
    }
}

async fn handle<K: Clone + Eq + std::hash::Hash + std::fmt::Debug>(
    sessions: &mut HashMap<K, Entry>,
    events: &mpsc::UnboundedSender<BfdEvent<K>>,
    got: Option<(Vec<u8>, IpAddr, Option<u8>)>,
) {
    let Some((bytes, from, ttl)) = got else {
        return;
    };
    if ttl != Some(TTL) {
        debug!("bfd: dropped a packet from {from} with TTL {ttl:?} (GTSM wants 255)");
        return;
    }
    let packet = match ControlPacket::parse(&bytes) {
        Ok(p) => p,
        Err(e) => {
            debug!("bfd: dropped a packet from {from}: {e}");
            return;
        }
    };
    let found = sessions.iter_mut().find(|(_, e)| {
        e.remote == from && (packet.your_discr == 0 || packet.your_discr == e.session.local_discr())
    });
    let Some((key, entry)) = found else {
        debug!("bfd: no session for a packet from {from}");
        return;
    };
    let key = key.clone();
    let actions = entry.session.receive(&packet, std::time::Instant::now());
    apply(&key, entry, actions, events).await;
}

async fn apply<K: Clone + std::fmt::Debug>(
    key: &K,
    e: &mut Entry,
    actions: Vec<Action>,
    events: &mpsc::UnboundedSender<BfdEvent<K>>,
) {
    for action in actions {
        match action {
            Action::Send(p) => {
                let to = SocketAddr::new(e.remote, CONTROL_PORT);
                if let Err(err) = e.tx.send_to(&p.to_bytes(), to).await {
                    debug!("bfd: send to {to}: {err}");
                }
            }
            Action::StateChanged { from, to, diag: d } => {
                info!(
                    "bfd: session {} -> {} {from} -> {to} ({})",
                    e.local,
                    e.remote,
                    diag::text(d)
                );
                let _ = events.send(BfdEvent {
                    key: key.clone(),
                    from,
                    to,
                    why: diag::text(d),
                });
            }
        }
    }
}

fn initial_discriminator() -> u32 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    (std::process::id() << 16) ^ nanos
}

fn bind_rx(v6: bool) -> std::io::Result<UdpSocket> {
    let (domain, addr) = if v6 {
        (
            Domain::IPV6,
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), CONTROL_PORT),
        )
    } else {
        (
            Domain::IPV4,
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), CONTROL_PORT),
        )
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if v6 {
        s.set_only_v6(true)?;
        setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true)?;
    } else {
        setsockopt(&s, sockopt::Ipv4RecvTtl, &true)?;
    }
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&addr.into())?;
    UdpSocket::from_std(s.into())
}

/// A socket from `local`, source port in 49152-65535 (RFC 5881 4), TTL 255.
fn bind_tx(local: IpAddr) -> std::io::Result<UdpSocket> {
    let domain = if local.is_ipv4() {
        Domain::IPV4
    } else {
        Domain::IPV6
    };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    if local.is_ipv4() {
        s.set_ttl_v4(u32::from(TTL))?;
    } else {
        s.set_unicast_hops_v6(u32::from(TTL))?;
    }
    s.set_nonblocking(true)?;
    let start = 49152 + (initial_discriminator() % 16384) as u16;
    let mut last = None;
    for i in 0..16384u16 {
        let port = 49152 + (start - 49152 + i) % 16384;
        match s.bind(&SocketAddr::new(local, port).into()) {
            Ok(()) => return UdpSocket::from_std(s.into()),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AddrInUse)))
}

/// One datagram with its source and TTL (hop limit).
async fn recv(sock: Option<&UdpSocket>) -> Option<(Vec<u8>, IpAddr, Option<u8>)> {
    let Some(sock) = sock else {
        return std::future::pending().await;
    };
    loop {
        let got = sock
            .async_io(Interest::READABLE, || {
                let mut buf = [0u8; 512];
                let mut cmsg = nix::cmsg_space!(libc::c_int);
                let mut iov = [IoSliceMut::new(&mut buf)];
                let msg = recvmsg::<SockaddrStorage>(
                    sock.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::empty(),
                )
                .map_err(std::io::Error::from)?;
                let mut ttl = None;
                if let Ok(cmsgs) = msg.cmsgs() {
                    for c in cmsgs {
                        match c {
                            ControlMessageOwned::Ipv4Ttl(t)
                            | ControlMessageOwned::Ipv6HopLimit(t) => {
                                ttl = u8::try_from(t).ok();
                            }
                            _ => {}
                        }
                    }
                }
                let from = msg.address.and_then(|a| {
                    a.as_sockaddr_in()
                        .map(|v4| IpAddr::V4(v4.ip()))
                        .or_else(|| {
                            a.as_sockaddr_in6()
                                .map(|v6| IpAddr::V6(v6.ip()).to_canonical())
                        })
                });
                let n = msg.bytes;
                Ok((buf[..n.min(buf.len())].to_vec(), from, ttl))
            })
            .await;
        match got {
            Ok((bytes, Some(from), ttl)) => return Some((bytes, from, ttl)),
            Ok(_) => {}
            Err(e) => {
                debug!("bfd: receive: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
