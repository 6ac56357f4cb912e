//! How a tunnel's packets reach its peer: a UDP socket (shared by a server's sessions,
//! or a session's or client's own connected socket) or a TCP connection with length
//! framing.
//!
//! A tunnel's own UDP socket moves packets in batches once the tunnel is up: UDP GRO
//! on receive (the kernel hands over a run of equal-sized datagrams from the peer in
//! one read) and UDP GSO on send (a run of equal-sized datagrams goes down the stack
//! as one). On the wire they are ordinary datagrams, one per packet; the peer needs
//! neither. Where the kernel refuses GSO the tunnel sends one datagram at a time.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use nix::sys::socket::{
    ControlMessage, ControlMessageOwned, MsgFlags, recvmsg, sendmsg, setsockopt, sockopt,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::codec::framing::{Deframer, frame_into};
use crate::codec::{Header, Opcode, SessionId};

/// Receive and send buffer of a tunnel's own UDP socket once the tunnel is up. The
/// kernel's default (about 200 KiB) overflows while one wake-up of the single-threaded
/// vpnd waits for the CPU: the dropped datagrams cost the TCP inside the tunnel
/// retransmissions and a smaller window (UDP + AES-256-GCM: 517 -> 687 Mb/s in
/// `kith bench vpn`). Only tunnels that came up get it, so a handshake flood of
/// `MAX_TUNNELS` sessions cannot pin 4 MiB each.
pub const UDP_SOCKET_BUFFER: usize = 2 << 20;

/// Most datagrams in one GSO send (the kernel's `UDP_MAX_SEGMENTS`).
pub const GSO_MAX_SEGMENTS: usize = 64;
/// Most bytes in one GSO send (an IPv4 datagram's payload is at most 65507).
pub const GSO_MAX_BYTES: usize = 65000;

/// Sets `sock`'s receive and send buffers to `size` bytes: SO_RCVBUF / SO_SNDBUF, and
/// where `net.core.rmem_max` / `wmem_max` cap those, SO_RCVBUFFORCE / SO_SNDBUFFORCE
/// (vpnd has CAP_NET_ADMIN for its tun interfaces anyway). Returns the sizes the
/// kernel reports (twice the usable bytes, its bookkeeping included).
pub fn grow_udp_buffers(sock: &UdpSocket, size: usize) -> (usize, usize) {
    let s = socket2::SockRef::from(sock);
    // the kernel keeps (and reports) twice what it is given; less back means capped
    let rcv = s
        .set_recv_buffer_size(size)
        .and_then(|()| s.recv_buffer_size());
    if rcv.as_ref().map_or(true, |n| *n < 2 * size) {
        let _ = setsockopt(sock, sockopt::RcvBufForce, &size);
    }
    let snd = s
        .set_send_buffer_size(size)
        .and_then(|()| s.send_buffer_size());
    if snd.as_ref().map_or(true, |n| *n < 2 * size) {
        let _ = setsockopt(sock, sockopt::SndBufForce, &size);
    }
    (
        s.recv_buffer_size().unwrap_or(0),
        s.send_buffer_size().unwrap_or(0),
    )
}

/// True for a client's first reset of another session than `sid`.
fn is_new_session(packet: &[u8], sid: SessionId) -> bool {
    let reset = Header::parse(packet).is_ok_and(|h| {
        matches!(
            h.opcode,
            Opcode::HardResetClientV2 | Opcode::HardResetClientV3
        ) && h.key_id == 0
    });
    reset && packet.get(1..9).is_some_and(|id| id != sid.0)
}

/// A UDP socket of the tunnel's own, connected to the peer (a server session's or a
/// client's), with its receive buffer (kept: a fresh 64 KiB buffer per datagram costs
/// more than the crypto).
pub struct OwnUdp {
    sock: UdpSocket,
    buf: Box<[u8]>,
    /// What of the last read is not handed out yet: `buf[next..end]`, in datagrams of
    /// `seg` bytes (the last one may be shorter).
    next: usize,
    end: usize,
    seg: usize,
    /// Whether sends go out as GSO runs (on once the tunnel is up, off for good if the
    /// kernel refuses one).
    gso: bool,
}

impl OwnUdp {
    fn new(sock: UdpSocket) -> OwnUdp {
        OwnUdp {
            sock,
            buf: vec![0u8; 65536].into_boxed_slice(),
            next: 0,
            end: 0,
            seg: 0,
            gso: false,
        }
    }

    /// The tunnel is up: larger buffers, GRO and GSO. What was set, for the log.
    fn tunnel_up(&mut self) -> String {
        let (rcv, snd) = grow_udp_buffers(&self.sock, UDP_SOCKET_BUFFER);
        let gro = setsockopt(&self.sock, sockopt::UdpGroSegment, &true).is_ok();
        self.gso = true;
        format!("UDP socket buffers {rcv} / {snd} bytes, GRO {gro}")
    }

    /// The next datagram from the peer (cancel-safe: a read either completes at once
    /// or consumes nothing).
    async fn recv(&mut self) -> io::Result<&[u8]> {
        if self.next >= self.end {
            let (n, seg) = recv_segments(&self.sock, &mut self.buf).await?;
            self.next = 0;
            self.end = n;
            self.seg = seg.filter(|s| *s > 0).unwrap_or(n);
        }
        let start = self.next;
        let stop = start.saturating_add(self.seg).min(self.end);
        self.next = stop.max(start + 1);
        Ok(self.buf.get(start..stop).unwrap_or_default())
    }

    /// Sends `packets` in order: runs of equal-sized ones (the last of a run may be
    /// shorter) as one GSO send each, the others one by one.
    async fn send_batch(&mut self, packets: &[Vec<u8>]) -> io::Result<()> {
        let mut rest = packets;
        while let Some(first) = rest.first() {
            let n = if self.gso { gso_run(rest) } else { 1 };
            let (run, more) = rest.split_at(n);
            rest = more;
            if n == 1 {
                self.sock.send(first).await?;
                continue;
            }
            match send_gso(&self.sock, run).await {
                Ok(()) => {}
                Err(e) if gso_refused(&e) => {
                    tracing::debug!("UDP GSO refused ({e}); sending one datagram at a time");
                    self.gso = false;
                    for p in run {
                        self.sock.send(p).await?;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// How many of `packets`, from the first, go out as one GSO send: all of the first's
/// size, the last possibly shorter, within the kernel's limits.
pub fn gso_run(packets: &[Vec<u8>]) -> usize {
    let Some(seg) = packets.first().map(Vec::len).filter(|l| *l > 0) else {
        return 1.min(packets.len());
    };
    let mut n = 1;
    let mut total = seg;
    for p in &packets[1..] {
        let len = p.len();
        if len == 0 || len > seg || n == GSO_MAX_SEGMENTS || total + len > GSO_MAX_BYTES {
            break;
        }
        n += 1;
        total += len;
        if len < seg {
            break;
        }
    }
    n
}

/// Errors of a GSO send that a send per datagram may not have: no GSO in the kernel,
/// no checksum offload on the way out (`EIO`), datagrams longer than the path MTU.
fn gso_refused(e: &io::Error) -> bool {
    use nix::errno::Errno;
    e.raw_os_error().is_some_and(|c| {
        [
            Errno::EINVAL,
            Errno::EIO,
            Errno::EMSGSIZE,
            Errno::ENOPROTOOPT,
            Errno::EOPNOTSUPP,
        ]
        .iter()
        .any(|x| *x as i32 == c)
    })
}

/// Sends `run` (at most [`GSO_MAX_SEGMENTS`] datagrams, all as long as the first but
/// the last) in one `sendmsg` with `UDP_SEGMENT`.
async fn send_gso(sock: &UdpSocket, run: &[Vec<u8>]) -> io::Result<()> {
    let seg = run
        .first()
        .and_then(|p| u16::try_from(p.len()).ok())
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut iov = [IoSlice::new(&[]); GSO_MAX_SEGMENTS];
    for (slot, p) in iov.iter_mut().zip(run) {
        *slot = IoSlice::new(p);
    }
    let iov = &iov[..run.len().min(GSO_MAX_SEGMENTS)];
    let cmsg = [ControlMessage::UdpGsoSegments(&seg)];
    sock.async_io(Interest::WRITABLE, || {
        sendmsg::<()>(sock.as_raw_fd(), iov, &cmsg, MsgFlags::empty(), None)
            .map_err(io::Error::from)
    })
    .await
    .map(drop)
}

/// One read from `sock` into `buf`: its length and, when the kernel coalesced several
/// datagrams (UDP GRO), their size.
async fn recv_segments(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, Option<usize>)> {
    let mut space = nix::cmsg_space!(i32);
    sock.async_io(Interest::READABLE, || {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .map_err(io::Error::from)?;
        let seg = msg.cmsgs().ok().and_then(|mut c| {
            c.find_map(|c| match c {
                ControlMessageOwned::UdpGroSegments(s) => usize::try_from(s).ok(),
                _ => None,
            })
        });
        Ok((msg.bytes, seg))
    })
    .await
}

/// A tunnel's transport.
pub enum Transport {
    /// A server session on a shared UDP socket; the demultiplexer feeds `rx`.
    UdpShared {
        /// The listening socket.
        sock: Arc<UdpSocket>,
        /// The client.
        peer: SocketAddr,
        /// Packets from the client.
        rx: mpsc::Receiver<Vec<u8>>,
    },
    /// A server session's own socket (connected to the client, sharing the listener's
    /// port); `rx` carries what reached the listener before it existed.
    UdpSession {
        /// The connected socket.
        own: OwnUdp,
        /// Packets the listener received for this session.
        rx: mpsc::Receiver<Vec<u8>>,
        /// The client's session id (a reset with another one is a new session).
        sid: SessionId,
    },
    /// A client's connected UDP socket.
    UdpConnected(OwnUdp),
    /// A TCP connection.
    Tcp {
        /// Reading half.
        read: OwnedReadHalf,
        /// Writing half.
        write: OwnedWriteHalf,
        /// Frames not yet complete.
        deframer: Deframer,
        /// Frames of a batch, written together.
        out: Vec<u8>,
    },
}

impl Transport {
    /// A TCP transport; `first` holds bytes already read.
    pub fn tcp(stream: TcpStream, deframer: Deframer) -> Transport {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        Transport::Tcp {
            read,
            write,
            deframer,
            out: Vec::new(),
        }
    }

    /// A server session's transport over its own connected socket.
    pub fn udp_session(sock: UdpSocket, rx: mpsc::Receiver<Vec<u8>>, sid: SessionId) -> Transport {
        Transport::UdpSession {
            own: OwnUdp::new(sock),
            rx,
            sid,
        }
    }

    /// A client's transport over a connected UDP socket.
    pub fn udp(sock: UdpSocket) -> Transport {
        Transport::UdpConnected(OwnUdp::new(sock))
    }

    /// Once the tunnel is up: a UDP socket of its own gets larger buffers (see
    /// [`UDP_SOCKET_BUFFER`]) and GRO / GSO. The listener's shared socket and TCP
    /// (which sizes its buffers itself) stay as they are. What was set, for the log.
    pub fn tunnel_up(&mut self) -> Option<String> {
        match self {
            Transport::UdpSession { own, .. } | Transport::UdpConnected(own) => {
                Some(own.tunnel_up())
            }
            Transport::UdpShared { .. } | Transport::Tcp { .. } => None,
        }
    }

    /// The next packet from the peer (cancel-safe).
    pub async fn recv(&mut self) -> io::Result<Vec<u8>> {
        match self {
            Transport::UdpShared { rx, .. } => rx
                .recv()
                .await
                .ok_or_else(|| io::Error::new(io::ErrorKind::ConnectionReset, "session replaced")),
            Transport::UdpSession { own, rx, sid } => tokio::select! {
                r = own.recv() => {
                    let p = r?;
                    if is_new_session(p, *sid) {
                        // the client restarted from the same address and port
                        return Err(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            "the client started a new session",
                        ));
                    }
                    Ok(p.to_vec())
                }
                p = rx.recv() => p.ok_or_else(|| {
                    io::Error::new(io::ErrorKind::ConnectionReset, "session replaced")
                }),
            },
            Transport::UdpConnected(own) => own.recv().await.map(<[u8]>::to_vec),
            Transport::Tcp { read, deframer, .. } => loop {
                match deframer.next_packet() {
                    Ok(Some(p)) => return Ok(p),
                    Ok(None) => {}
                    Err(e) => {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
                    }
                }
                let mut buf = [0u8; 16384];
                let n = read.read(&mut buf).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed",
                    ));
                }
                deframer.push(&buf[..n]);
            },
        }
    }

    /// Sends `packets` in order, together where the transport can: GSO runs on a UDP
    /// socket of the tunnel's own, one write of all the frames on TCP.
    pub async fn send_batch(&mut self, packets: &[Vec<u8>]) -> io::Result<()> {
        match self {
            Transport::UdpShared { sock, peer, .. } => {
                for p in packets {
                    sock.send_to(p, *peer).await?;
                }
                Ok(())
            }
            Transport::UdpSession { own, .. } | Transport::UdpConnected(own) => {
                own.send_batch(packets).await
            }
            Transport::Tcp { write, out, .. } => {
                out.clear();
                for p in packets {
                    if !frame_into(p, out) {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidInput,
                            "packet too long",
                        ));
                    }
                }
                let r = write.write_all(out).await;
                if out.capacity() > 1 << 20 {
                    *out = Vec::new();
                }
                r
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(t: &Transport) -> (usize, usize) {
        let (Transport::UdpConnected(own) | Transport::UdpSession { own, .. }) = t else {
            panic!("not a UDP socket of its own");
        };
        let s = socket2::SockRef::from(&own.sock);
        (s.recv_buffer_size().unwrap(), s.send_buffer_size().unwrap())
    }

    #[tokio::test]
    async fn an_up_tunnel_gets_large_udp_buffers() {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut t = Transport::udp(sock);
        let before = sizes(&t);
        let said = t.tunnel_up().unwrap();
        let (rcv, snd) = sizes(&t);
        assert!(
            rcv >= before.0 && snd >= before.1,
            "{before:?} -> {rcv} / {snd}"
        );
        if nix::unistd::geteuid().is_root() {
            // past net.core.rmem_max / wmem_max if need be
            assert_eq!((rcv, snd), (2 * UDP_SOCKET_BUFFER, 2 * UDP_SOCKET_BUFFER));
        }
        assert!(said.contains(&rcv.to_string()), "{said}");
    }

    #[test]
    fn gso_runs_are_equal_sizes_with_a_shorter_last() {
        let p = |lens: &[usize]| lens.iter().map(|l| vec![0u8; *l]).collect::<Vec<_>>();
        assert_eq!(gso_run(&p(&[])), 0);
        assert_eq!(gso_run(&p(&[100])), 1);
        assert_eq!(gso_run(&p(&[100, 100, 100])), 3);
        assert_eq!(gso_run(&p(&[100, 100, 40, 100])), 3);
        assert_eq!(gso_run(&p(&[100, 200, 200])), 1);
        assert_eq!(gso_run(&p(&[0, 0])), 1);
        assert_eq!(gso_run(&p(&[100, 0, 100])), 1);
        assert_eq!(gso_run(&p(&[100; 100])), GSO_MAX_SEGMENTS);
        assert_eq!(gso_run(&p(&[1444; 64])), GSO_MAX_BYTES / 1444);
    }

    /// Two connected sockets on loopback, both up (GSO and GRO on when the kernel has
    /// them): whatever the batching, every datagram arrives alone, whole, in order.
    #[tokio::test]
    async fn batches_arrive_as_the_datagrams_they_were() {
        let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap()).await.unwrap();
        let (mut a, mut b) = (Transport::udp(a), Transport::udp(b));
        a.tunnel_up().unwrap();
        b.tunnel_up().unwrap();
        let mut sent = Vec::new();
        let mut n = 0u32;
        let mut packet = |len: usize| {
            n += 1;
            let mut p = n.to_be_bytes().to_vec();
            p.resize(len.max(4), n as u8);
            sent.push(p.clone());
            p
        };
        let lens: Vec<usize> = std::iter::repeat_n(1444, 70)
            .chain([600, 1444, 1444, 20, 20, 20, 1500, 4])
            .chain(std::iter::repeat_n(300, 10))
            .collect();
        let batch: Vec<Vec<u8>> = lens.iter().map(|l| packet(*l)).collect();
        a.send_batch(&batch).await.unwrap();
        a.send_batch(&[packet(99)]).await.unwrap();
        for want in &sent {
            let got = tokio::time::timeout(std::time::Duration::from_secs(5), b.recv())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&got, want);
        }
        // the kernel took the GSO sends (loopback has the offloads)
        let Transport::UdpConnected(own) = &a else {
            panic!("not UDP");
        };
        assert!(own.gso);
    }

    #[test]
    fn a_reset_with_another_session_id_is_a_new_session() {
        let mine = SessionId([1; 8]);
        let reset = |sid: [u8; 8]| {
            let mut p = vec![(7 << 3) as u8];
            p.extend_from_slice(&sid);
            p.extend_from_slice(&[0, 0, 0, 0, 0]);
            p
        };
        assert!(!is_new_session(&reset([1; 8]), mine));
        assert!(is_new_session(&reset([2; 8]), mine));
        // data and control packets, and junk, are not
        let mut data = reset([2; 8]);
        data[0] = 9 << 3;
        assert!(!is_new_session(&data, mine));
        assert!(!is_new_session(&[], mine));
        assert!(!is_new_session(&[7 << 3, 1], mine));
    }
}
