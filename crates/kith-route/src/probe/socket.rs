//! ICMP echo sockets, one per probed gateway: bound to the gateway's interface and
//! connected to the gateway, so only its answers come back.
//!
//! An unprivileged ping socket (`SOCK_DGRAM`/`IPPROTO_ICMP`) is tried first; where
//! `net.ipv4.ping_group_range` does not admit the daemon's group, a raw ICMP socket
//! (needs `CAP_NET_RAW`, which `kith routed` has as root) is used instead.

use std::io;
use std::net::{IpAddr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::debug;

use super::ProbeKey;
use super::icmp::{self, Framing};

/// Which kind of socket a pinger uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketKind {
    /// `SOCK_DGRAM` ping socket (the kernel owns the identifier).
    Ping,
    /// `SOCK_RAW` ICMP socket.
    Raw,
}

/// An echo reply that arrived for a probed gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply {
    /// The gateway (and timing) it answers.
    pub key: ProbeKey,
    /// Sequence number of the answered probe.
    pub seq: u16,
    /// When it was read.
    pub at: Instant,
}

/// An open echo socket towards one gateway and the task reading its answers.
#[derive(Debug)]
pub struct Pinger {
    fd: Arc<UdpSocket>,
    v6: bool,
    ident: u16,
    kind: SocketKind,
    reader: JoinHandle<()>,
}

static NEXT_IDENT: AtomicU16 = AtomicU16::new(0);

impl Pinger {
    /// Opens the socket for `key.gateway`, bound to interface `ifname` (index `ifindex`)
    /// when given, and starts reading answers into `replies`. Call inside a tokio runtime.
    pub fn open(
        key: ProbeKey,
        interface: Option<(&str, u32)>,
        replies: mpsc::UnboundedSender<Reply>,
    ) -> io::Result<Pinger> {
        let v6 = key.gateway.is_ipv6();
        let (domain, protocol) = if v6 {
            (Domain::IPV6, Protocol::ICMPV6)
        } else {
            (Domain::IPV4, Protocol::ICMPV4)
        };
        let (socket, kind) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
            Ok(s) => (s, SocketKind::Ping),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
                let raw = Socket::new(domain, Type::RAW, Some(protocol)).map_err(|raw_err| {
                    io::Error::new(
                        raw_err.kind(),
                        format!(
                            "no ping socket ({e}: net.ipv4.ping_group_range excludes this group) and no raw ICMP socket ({raw_err}: needs CAP_NET_RAW)"
                        ),
                    )
                })?;
                (raw, SocketKind::Raw)
            }
            Err(e) => return Err(e),
        };
        socket.set_nonblocking(true)?;
        let mut scope = 0;
        if let Some((name, index)) = interface {
            socket.bind_device(Some(name.as_bytes())).map_err(|e| {
                io::Error::new(e.kind(), format!("cannot bind to interface {name}: {e}"))
            })?;
            scope = index;
        }
        let target = match key.gateway {
            IpAddr::V4(a) => SocketAddr::V4(SocketAddrV4::new(a, 0)),
            IpAddr::V6(a) => {
                let link_local = a.segments()[0] & 0xffc0 == 0xfe80;
                SocketAddr::V6(SocketAddrV6::new(
                    a,
                    0,
                    0,
                    if link_local { scope } else { 0 },
                ))
            }
        };
        socket.connect(&target.into())?;
        let ident = match kind {
            SocketKind::Ping => 0,
            SocketKind::Raw => {
                (std::process::id() as u16) ^ NEXT_IDENT.fetch_add(0x0101, Ordering::Relaxed)
            }
        };
        let framing = if kind == SocketKind::Raw && !v6 {
            Framing::Ipv4Header
        } else {
            Framing::Bare
        };
        // tokio's UdpSocket only issues send(2) and recv(2) on the descriptor, which work
        // the same on a connected ICMP socket; it gives readiness without unsafe code.
        let fd = Arc::new(UdpSocket::from_std(std::net::UdpSocket::from(socket))?);
        let reader = tokio::spawn(read_replies(
            Arc::clone(&fd),
            Filter {
                key,
                v6,
                framing,
                ident: (kind == SocketKind::Raw).then_some(ident),
            },
            replies,
        ));
        Ok(Pinger {
            fd,
            v6,
            ident,
            kind,
            reader,
        })
    }

    /// Sends echo request `seq`.
    pub fn send(&self, seq: u16) -> io::Result<()> {
        let msg = icmp::echo_request(self.v6, self.ident, seq);
        self.fd.try_send(&msg).map(drop)
    }

    /// The kind of socket in use.
    pub fn kind(&self) -> SocketKind {
        self.kind
    }

    /// False once the reading task stopped on a socket error: open a new pinger.
    pub fn is_alive(&self) -> bool {
        !self.reader.is_finished()
    }
}

impl Drop for Pinger {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Which packets are answers to this pinger's probes.
struct Filter {
    key: ProbeKey,
    v6: bool,
    framing: Framing,
    /// The identifier to match (raw sockets); ping sockets get only their own answers.
    ident: Option<u16>,
}

/// Errors a connected ICMP socket reports for ICMP errors it received; they say the
/// gateway did not answer this time, nothing more.
fn transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::ECONNREFUSED
                | libc::EHOSTDOWN
                | libc::EMSGSIZE
                | libc::EPROTO
                | libc::EACCES
                | libc::ENETDOWN
                | libc::EINTR
        )
    ) || e.kind() == io::ErrorKind::WouldBlock
}

async fn read_replies(fd: Arc<UdpSocket>, filter: Filter, replies: mpsc::UnboundedSender<Reply>) {
    let mut buf = [0u8; 2048];
    loop {
        match fd.recv(&mut buf).await {
            Ok(n) => {
                let at = Instant::now();
                let Some(reply) = buf
                    .get(..n)
                    .and_then(|p| icmp::parse_echo_reply(filter.v6, filter.framing, p))
                else {
                    continue;
                };
                if filter.ident.is_some_and(|ident| ident != reply.ident) {
                    continue;
                }
                let sent = replies.send(Reply {
                    key: filter.key,
                    seq: reply.seq,
                    at,
                });
                if sent.is_err() {
                    return;
                }
            }
            Err(e) if transient(&e) => {}
            Err(e) => {
                debug!(
                    "gateway {}: the probe socket failed ({e}); it will be reopened",
                    filter.key.gateway
                );
                return;
            }
        }
    }
}
