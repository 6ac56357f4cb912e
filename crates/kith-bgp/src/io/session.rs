//! One peer's session task: TCP connections (outgoing and incoming), the FSM of each,
//! collision resolution, timers; hands UPDATEs and ROUTE-REFRESHes to the daemon.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use crate::codec::{DecodeContext, Message, MessageError, Notification, code, frame_len};
use crate::fsm::{Action, DownReason, Event, Fsm, Keep, Negotiated, State, resolve_collision};
use crate::rib::PeerId;

use super::config::PeerConfig;

/// Commands from the daemon.
#[derive(Debug)]
pub(crate) enum ToSession {
    /// Send these bytes (encoded UPDATEs) if Established.
    Send(Vec<u8>),
    /// The peer connected to us.
    Incoming(TcpStream),
    /// Reset the session now (fast fallover, prefix limit), then restart: at once, after
    /// the delay, or never.
    Reset(Option<Notification>, Option<Duration>),
    /// Stop for good.
    Stop,
}

/// Messages read from a connection but not yet handled: past this the reader waits, so a
/// peer sending faster than the RIB takes its routes is held back by TCP (instead of the
/// whole table queueing up in memory).
const READS_IN_FLIGHT: usize = 256;

/// Frames taken off the queue at once, then handled before the session's loop looks at
/// its commands and timers again (a full table is hundreds of thousands of frames).
const READS_PER_WAKE: usize = 64;

/// Events for the daemon.
// Consumed at once by the daemon loop; boxing would cost an allocation per UPDATE.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum FromSession {
    /// Established.
    Up {
        id: PeerId,
        negotiated: Negotiated,
        local: SocketAddr,
    },
    /// No longer Established.
    Down { id: PeerId, reason: DownReason },
    /// An UPDATE or ROUTE-REFRESH.
    Message { id: PeerId, message: Message },
    /// The FSM state changed.
    State {
        id: PeerId,
        state: State,
        last_error: Option<String>,
    },
}

enum Read {
    Frame(Vec<u8>),
    Error(MessageError),
    Closed(String),
}

struct Conn {
    seq: u64,
    writer: OwnedWriteHalf,
    outgoing: bool,
    local: SocketAddr,
    ctx: DecodeContext,
    reader: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

struct Slot {
    fsm: Fsm,
    conn: Option<Conn>,
}

type Connecting = Pin<Box<dyn Future<Output = std::io::Result<TcpStream>> + Send>>;

struct Session {
    id: PeerId,
    cfg: PeerConfig,
    to_daemon: mpsc::Sender<FromSession>,
    reads_tx: mpsc::Sender<(u64, Read)>,
    primary: Slot,
    other: Option<Slot>,
    connecting: Option<Connecting>,
    next_seq: u64,
    restart_at: Option<Instant>,
    reported: (State, Option<String>),
}

/// Runs the session until [`ToSession::Stop`] or the daemon goes away.
pub(crate) async fn run(
    id: PeerId,
    cfg: PeerConfig,
    mut commands: mpsc::UnboundedReceiver<ToSession>,
    to_daemon: mpsc::Sender<FromSession>,
) {
    let (reads_tx, mut reads) = mpsc::channel(READS_IN_FLIGHT);
    let mut s = Session {
        id,
        primary: Slot {
            fsm: Fsm::new(cfg.fsm.clone()),
            conn: None,
        },
        cfg,
        to_daemon,
        reads_tx,
        other: None,
        connecting: None,
        next_seq: 0,
        restart_at: None,
        reported: (State::Idle, None),
    };
    if !s.cfg.disabled {
        s.event(true, Event::ManualStart).await;
    }
    let mut batch = Vec::with_capacity(READS_PER_WAKE);
    let mut reads_open = true;
    loop {
        let deadline = [
            s.primary.fsm.next_deadline().map(Instant::from_std),
            s.other
                .as_ref()
                .and_then(|o| o.fsm.next_deadline())
                .map(Instant::from_std),
            s.restart_at,
        ]
        .into_iter()
        .flatten()
        .min();
        tokio::select! {
            command = commands.recv() => match command {
                None | Some(ToSession::Stop) => {
                    s.event(true, Event::ManualStop).await;
                    if let Some(o) = s.other.take() { drop(o); }
                    return;
                }
                Some(ToSession::Send(bytes)) => s.send_update(&bytes).await,
                Some(ToSession::Incoming(stream)) => s.incoming(stream).await,
                Some(ToSession::Reset(notification, restart)) => s.reset(notification, restart).await,
            },
            n = reads.recv_many(&mut batch, READS_PER_WAKE), if reads_open => {
                // Never 0 in practice: the session holds a sender (`reads_tx`).
                reads_open = n > 0;
                for (seq, read) in batch.drain(..) {
                    s.read(seq, read).await;
                }
            }
            result = maybe(&mut s.connecting) => {
                s.connecting = None;
                match result {
                    Ok(stream) => s.connected(stream).await,
                    Err(e) => {
                        debug!("peer {} ({}): connect failed: {e}", s.cfg.spec.name, s.cfg.spec.address);
                        s.event(true, Event::TcpConnectionFails).await;
                    }
                }
            }
            () = sleep_until(deadline) => s.timers().await,
        }
    }
}

async fn maybe(fut: &mut Option<Connecting>) -> std::io::Result<TcpStream> {
    match fut {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Session {
    fn label(&self) -> String {
        format!("peer {} ({})", self.cfg.spec.name, self.cfg.spec.address)
    }

    async fn timers(&mut self) {
        let now = std::time::Instant::now();
        if self.restart_at.is_some_and(|t| t <= Instant::now()) {
            self.restart_at = None;
            self.event(true, Event::ManualStart).await;
        }
        if let Some(ev) = self.primary.fsm.expired(now) {
            self.event(true, ev).await;
        }
        if let Some(ev) = self.other.as_ref().and_then(|o| o.fsm.expired(now)) {
            self.event(false, ev).await;
        }
    }

    async fn reset(&mut self, notification: Option<Notification>, restart: Option<Duration>) {
        if let (Some(n), Some(conn)) = (notification, self.primary.conn.as_mut()) {
            let _ = conn
                .writer
                .write_all(&Message::Notification(n).to_bytes(&conn.ctx))
                .await;
        }
        self.other = None;
        self.event(true, Event::ManualStop).await;
        match restart {
            Some(d) if d.is_zero() => self.event(true, Event::ManualStart).await,
            Some(d) => self.restart_at = Some(Instant::now() + d),
            None => {}
        }
    }

    async fn send_update(&mut self, bytes: &[u8]) {
        if self.primary.fsm.state() != State::Established {
            return;
        }
        let failed = match self.primary.conn.as_mut() {
            Some(conn) => conn.writer.write_all(bytes).await.is_err(),
            None => false,
        };
        if failed {
            self.event(true, Event::TcpConnectionFails).await;
        }
    }

    fn attach(&mut self, stream: TcpStream, outgoing: bool) -> Option<Conn> {
        let local = stream.local_addr().ok()?;
        let _ = stream.set_nodelay(true);
        if let Err(e) = stream.set_ttl(u32::from(self.cfg.ttl)) {
            debug!("{}: cannot set TTL: {e}", self.label());
        }
        if self.cfg.ttl_security {
            let v6 = local.is_ipv6() && !local.ip().to_canonical().is_ipv4();
            if let Err(e) = super::sockopt::set_min_ttl(&stream, v6, 255) {
                warn!("{}: cannot enforce ttl-security: {e}", self.label());
                return None;
            }
        }
        let (reader, writer) = stream.into_split();
        self.next_seq += 1;
        let seq = self.next_seq;
        let tx = self.reads_tx.clone();
        let reader = tokio::spawn(read_loop(seq, reader, tx));
        Some(Conn {
            seq,
            writer,
            outgoing,
            local,
            ctx: DecodeContext::default(),
            reader,
        })
    }

    async fn connected(&mut self, stream: TcpStream) {
        if !matches!(
            self.primary.fsm.state(),
            State::Connect | State::Active | State::Idle
        ) || self.primary.conn.is_some()
        {
            return; // an incoming connection won meanwhile
        }
        match self.attach(stream, true) {
            Some(conn) => {
                self.primary.conn = Some(conn);
                self.event(true, Event::TcpConnectionConfirmed).await;
            }
            None => self.event(true, Event::TcpConnectionFails).await,
        }
    }

    async fn incoming(&mut self, stream: TcpStream) {
        let state = self.primary.fsm.state();
        if self.cfg.disabled {
            return;
        }
        match state {
            State::Idle | State::Connect | State::Active => {
                self.connecting = None;
                self.primary.conn = None;
                if let Some(conn) = self.attach(stream, false) {
                    self.primary.conn = Some(conn);
                    self.event(true, Event::TcpConnectionConfirmed).await;
                }
            }
            State::OpenSent | State::OpenConfirm if self.other.is_none() => {
                // A collision: run the second connection until an OPEN tells which stays.
                let mut cfg = self.cfg.fsm.clone();
                cfg.passive = true;
                let mut fsm = Fsm::new(cfg);
                let now = std::time::Instant::now();
                fsm.handle(Event::ManualStart, now);
                self.other = Some(Slot {
                    fsm,
                    conn: self.attach(stream, false),
                });
                self.event(false, Event::TcpConnectionConfirmed).await;
            }
            _ => {
                let mut stream = stream;
                let n = Notification::new(code::CEASE, code::COLLISION);
                let _ = stream
                    .write_all(&Message::Notification(n).to_bytes(&DecodeContext::default()))
                    .await;
                debug!(
                    "{}: refused a second connection while {}",
                    self.label(),
                    state.as_str()
                );
            }
        }
    }

    async fn read(&mut self, seq: u64, read: Read) {
        let primary = match (&self.primary.conn, &self.other) {
            (Some(c), _) if c.seq == seq => true,
            (_, Some(Slot { conn: Some(c), .. })) if c.seq == seq => false,
            _ => return, // a connection already dropped
        };
        let event = match read {
            Read::Closed(why) => {
                debug!("{}: connection closed: {why}", self.label());
                Event::TcpConnectionFails
            }
            Read::Error(e) => {
                warn!("{}: {e}", self.label());
                Event::DecodeError(e.notification)
            }
            Read::Frame(bytes) => {
                // The connection's context, borrowed (a copy per frame was an allocation
                // per UPDATE).
                let parsed = match self.slot(primary).conn.as_ref() {
                    Some(c) => Message::parse(&bytes, &c.ctx),
                    None => Message::parse(&bytes, &DecodeContext::default()),
                };
                match parsed {
                    Err(e) => {
                        warn!("{}: {e}", self.label());
                        Event::DecodeError(e.notification)
                    }
                    Ok(Message::Open(open)) => {
                        if self.collide(primary, open.bgp_id).await {
                            return;
                        }
                        // The slot may have moved to primary.
                        let primary = self.primary.conn.as_ref().is_some_and(|c| c.seq == seq);
                        self.event(primary, Event::OpenReceived(open)).await;
                        return;
                    }
                    Ok(Message::Keepalive) => Event::KeepaliveReceived,
                    Ok(Message::Notification(n)) => {
                        warn!("{}: received NOTIFICATION {n}", self.label());
                        Event::NotificationReceived(n)
                    }
                    Ok(message @ (Message::Update(_) | Message::RouteRefresh { .. })) => {
                        if let Message::Update(u) = &message {
                            for issue in &u.issues {
                                warn!(
                                    "{}: malformed UPDATE ({:?}, RFC 7606): {}",
                                    self.label(),
                                    issue.action,
                                    issue.reason
                                );
                            }
                        }
                        let is_update = matches!(message, Message::Update(_));
                        let ev = if is_update {
                            Event::UpdateReceived
                        } else {
                            Event::RouteRefreshReceived
                        };
                        let actions = self
                            .slot_mut(primary)
                            .fsm
                            .handle(ev, std::time::Instant::now());
                        let deliver = actions.contains(&Action::Deliver);
                        self.apply(primary, actions).await;
                        if deliver && primary {
                            let _ = self
                                .to_daemon
                                .send(FromSession::Message {
                                    id: self.id,
                                    message,
                                })
                                .await;
                        }
                        return;
                    }
                }
            }
        };
        self.event(primary, event).await;
    }

    /// An OPEN arrived on one of two connections: keeps one (RFC 4271 6.8). Returns
    /// whether the connection that received the OPEN was closed.
    async fn collide(&mut self, on_primary: bool, remote_id: std::net::Ipv4Addr) -> bool {
        let Some(other) = &self.other else {
            return false;
        };
        let both = self.primary.conn.is_some() && other.conn.is_some();
        if !both {
            return false;
        }
        let keep_outgoing = resolve_collision(self.cfg.fsm.local_id, remote_id) == Keep::Outgoing;
        let this_outgoing = self
            .slot(on_primary)
            .conn
            .as_ref()
            .is_some_and(|c| c.outgoing);
        let this_stays = this_outgoing == keep_outgoing;
        let loser_is_primary = if this_stays { !on_primary } else { on_primary };
        info!(
            "{}: connection collision, keeping the {} connection",
            self.label(),
            if keep_outgoing {
                "outgoing"
            } else {
                "incoming"
            }
        );
        let mut loser = if loser_is_primary {
            let winner = self.other.take().map(|s| s.conn);
            let mut old = std::mem::replace(
                &mut self.primary,
                Slot {
                    fsm: Fsm::new(self.cfg.fsm.clone()),
                    conn: None,
                },
            );
            // The winner takes over the primary slot with the primary's start state.
            if let Some(Some(conn)) = winner {
                let mut fsm = old.fsm.clone();
                let now = std::time::Instant::now();
                fsm.handle(Event::ManualStop, now);
                fsm.handle(Event::ManualStart, now);
                fsm.handle(Event::TcpConnectionConfirmed, now);
                self.primary = Slot {
                    fsm,
                    conn: Some(conn),
                };
            }
            old.conn.take()
        } else {
            self.other.take().and_then(|s| s.conn)
        };
        if let Some(conn) = loser.as_mut() {
            let n = Notification::new(code::CEASE, code::COLLISION);
            let _ = conn
                .writer
                .write_all(&Message::Notification(n).to_bytes(&conn.ctx))
                .await;
        }
        !this_stays
    }

    fn slot(&self, primary: bool) -> &Slot {
        match (&self.other, primary) {
            (Some(o), false) => o,
            _ => &self.primary,
        }
    }

    fn slot_mut(&mut self, primary: bool) -> &mut Slot {
        match (&mut self.other, primary) {
            (Some(o), false) => o,
            _ => &mut self.primary,
        }
    }

    async fn event(&mut self, primary: bool, event: Event) {
        let actions = self
            .slot_mut(primary)
            .fsm
            .handle(event, std::time::Instant::now());
        self.apply(primary, actions).await;
    }

    async fn apply(&mut self, primary: bool, actions: Vec<Action>) {
        let mut failed = false;
        for action in actions {
            match action {
                Action::Connect if primary => self.start_connect(),
                Action::Connect => {}
                Action::Send(message) => {
                    if let Some(conn) = self.slot_mut(primary).conn.as_mut() {
                        let bytes = message.to_bytes(&conn.ctx);
                        failed |= conn.writer.write_all(&bytes).await.is_err();
                    }
                }
                Action::Disconnect => {
                    if let Some(mut conn) = self.slot_mut(primary).conn.take() {
                        let _ = conn.writer.shutdown().await;
                    }
                    if primary {
                        self.connecting = None;
                    } else {
                        self.other = None;
                    }
                }
                Action::Up(neg) => {
                    let label = self.label();
                    let Some(conn) = self.primary.conn.as_mut().filter(|_| primary) else {
                        continue;
                    };
                    conn.ctx = neg.context();
                    let local = conn.local;
                    self.other = None;
                    info!(
                        "{label} Established (AS {}, id {}, hold {} s, families {:?})",
                        neg.peer_as, neg.peer_id, neg.hold_time, neg.families
                    );
                    let _ = self
                        .to_daemon
                        .send(FromSession::Up {
                            id: self.id,
                            negotiated: neg,
                            local,
                        })
                        .await;
                }
                Action::Down(reason) => {
                    info!("{} down: {}", self.label(), reason.text);
                    if primary {
                        let _ = self
                            .to_daemon
                            .send(FromSession::Down {
                                id: self.id,
                                reason,
                            })
                            .await;
                    }
                }
                Action::Deliver => {}
            }
        }
        // From OpenConfirm on, messages decode with what was negotiated (4-octet AS).
        if let Some(neg) = self.slot(primary).fsm.negotiated().cloned() {
            if let Some(conn) = self.slot_mut(primary).conn.as_mut() {
                conn.ctx = neg.context();
            }
        }
        if primary {
            let now = (
                self.primary.fsm.state(),
                self.primary.fsm.last_error().map(String::from),
            );
            if now != self.reported {
                self.reported = now.clone();
                let _ = self
                    .to_daemon
                    .send(FromSession::State {
                        id: self.id,
                        state: now.0,
                        last_error: now.1,
                    })
                    .await;
            }
        }
        if failed {
            Box::pin(self.event(primary, Event::TcpConnectionFails)).await;
        }
    }

    fn start_connect(&mut self) {
        let remote = SocketAddr::new(self.cfg.spec.address, self.cfg.remote_port);
        let local = self.cfg.local_address;
        let interface = self.cfg.update_source_interface.clone();
        let md5 = self
            .cfg
            .md5_key
            .as_ref()
            .map(|k| k.expose().as_bytes().to_vec());
        let ttl_security = self.cfg.ttl_security;
        let timeout = self.primary.fsm.retry_delay().max(Duration::from_secs(1));
        self.connecting = Some(Box::pin(async move {
            let socket = match remote.ip() {
                IpAddr::V4(_) => TcpSocket::new_v4()?,
                IpAddr::V6(_) => TcpSocket::new_v6()?,
            };
            if let Some(key) = &md5 {
                super::sockopt::set_tcp_md5(&socket, remote.ip(), key, remote.is_ipv6())?;
            }
            if ttl_security {
                // Before connect: a SYN-ACK from farther away is dropped too.
                super::sockopt::set_min_ttl(&socket, remote.is_ipv6(), 255)?;
            }
            let local = match (local, interface) {
                (Some(a), _) => Some(a),
                (None, Some(name)) => Some(interface_address(&name, remote.ip()).await?),
                (None, None) => None,
            };
            if let Some(local) = local {
                socket.bind(SocketAddr::new(local, 0))?;
            }
            tokio::time::timeout(timeout, socket.connect(remote))
                .await
                .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
        }));
    }
}

/// The address of interface `name` to connect to `remote` from (`update-source` by
/// interface): a global address of the same family, the first the kernel lists.
async fn interface_address(name: &str, remote: IpAddr) -> std::io::Result<IpAddr> {
    let err = |what: String| std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, what);
    let net = kith_net::Net::new().map_err(|e| err(e.to_string()))?;
    let addrs = net
        .addresses(Some(name.into()))
        .await
        .map_err(|e| err(format!("update-source {name}: {e}")))?;
    addrs
        .iter()
        .map(kith_net::AddressInfo::ip)
        .find(|a| {
            a.is_ipv4() == remote.is_ipv4()
                && match a {
                    IpAddr::V6(v6) => !v6.is_unicast_link_local(),
                    IpAddr::V4(_) => true,
                }
        })
        .ok_or_else(|| {
            err(format!(
                "update-source {name} has no address to reach {remote} from"
            ))
        })
}

/// Reads the byte stream and cuts it into messages.
async fn read_loop(seq: u64, mut reader: OwnedReadHalf, tx: mpsc::Sender<(u64, Read)>) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let mut start = 0;
        loop {
            match frame_len(&buf[start..]) {
                Ok(Some(len)) if buf.len() - start >= len => {
                    let frame = buf[start..start + len].to_vec();
                    start += len;
                    if tx.send((seq, Read::Frame(frame))).await.is_err() {
                        return;
                    }
                }
                Ok(_) => break,
                Err(e) => {
                    let _ = tx.send((seq, Read::Error(e))).await;
                    return;
                }
            }
        }
        buf.drain(..start);
        match reader.read_buf(&mut buf).await {
            Ok(0) => {
                let _ = tx
                    .send((seq, Read::Closed("closed by the peer".into())))
                    .await;
                return;
            }
            Ok(_) => {}
            Err(e) => {
                let _ = tx.send((seq, Read::Closed(e.to_string()))).await;
                return;
            }
        }
    }
}
