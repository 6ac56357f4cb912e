//! How a tunnel's packets reach its peer: a UDP socket (shared by a server's sessions,
//! or a client's own connected socket) or a TCP connection with length framing.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;

use crate::codec::framing::{Deframer, frame};
use crate::codec::{Header, Opcode, SessionId};

/// Receive and send buffer of a tunnel's own UDP socket once the tunnel is up. The
/// kernel's default (about 200 KiB) overflows while one wake-up of the single-threaded
/// vpnd waits for the CPU: the dropped datagrams cost the TCP inside the tunnel
/// retransmissions and a smaller window (UDP + AES-256-GCM: 517 -> 687 Mb/s in
/// `kith bench vpn`). Only tunnels that came up get it, so a handshake flood of
/// `MAX_TUNNELS` sessions cannot pin 4 MiB each.
pub const UDP_SOCKET_BUFFER: usize = 2 << 20;

/// Sets `sock`'s receive and send buffers to `size` bytes: SO_RCVBUF / SO_SNDBUF, and
/// where `net.core.rmem_max` / `wmem_max` cap those, SO_RCVBUFFORCE / SO_SNDBUFFORCE
/// (vpnd has CAP_NET_ADMIN for its tun interfaces anyway). Returns the sizes the
/// kernel reports (twice the usable bytes, its bookkeeping included).
pub fn grow_udp_buffers(sock: &UdpSocket, size: usize) -> (usize, usize) {
    use nix::sys::socket::{setsockopt, sockopt};
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
        sock: UdpSocket,
        /// Packets the listener received for this session.
        rx: mpsc::Receiver<Vec<u8>>,
        /// The client's session id (a reset with another one is a new session).
        sid: SessionId,
        /// Receive buffer.
        buf: Box<[u8]>,
    },
    /// A client's connected UDP socket and its receive buffer (kept: a fresh 64 KiB
    /// buffer per datagram costs more than the crypto).
    UdpConnected(UdpSocket, Box<[u8]>),
    /// A TCP connection.
    Tcp {
        /// Reading half.
        read: OwnedReadHalf,
        /// Writing half.
        write: OwnedWriteHalf,
        /// Frames not yet complete.
        deframer: Deframer,
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
        }
    }

    /// A server session's transport over its own connected socket.
    pub fn udp_session(sock: UdpSocket, rx: mpsc::Receiver<Vec<u8>>, sid: SessionId) -> Transport {
        Transport::UdpSession {
            sock,
            rx,
            sid,
            buf: vec![0u8; 65536].into_boxed_slice(),
        }
    }

    /// A client's transport over a connected UDP socket.
    pub fn udp(sock: UdpSocket) -> Transport {
        Transport::UdpConnected(sock, vec![0u8; 65536].into_boxed_slice())
    }

    /// Once the tunnel is up: larger socket buffers for a UDP socket of its own (see
    /// [`UDP_SOCKET_BUFFER`]). The listener's shared socket and TCP (which sizes its
    /// buffers itself) stay as they are. Returns the new receive and send sizes.
    pub fn grow_buffers(&self) -> Option<(usize, usize)> {
        match self {
            Transport::UdpSession { sock, .. } | Transport::UdpConnected(sock, _) => {
                Some(grow_udp_buffers(sock, UDP_SOCKET_BUFFER))
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
            Transport::UdpSession { sock, rx, sid, buf } => tokio::select! {
                r = sock.recv(buf) => {
                    let p = &buf[..r?];
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
            Transport::UdpConnected(sock, buf) => {
                let n = sock.recv(buf).await?;
                Ok(buf[..n].to_vec())
            }
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

    /// Sends one packet.
    pub async fn send(&mut self, packet: &[u8]) -> io::Result<()> {
        match self {
            Transport::UdpShared { sock, peer, .. } => sock.send_to(packet, *peer).await.map(drop),
            Transport::UdpSession { sock, .. } | Transport::UdpConnected(sock, _) => {
                sock.send(packet).await.map(drop)
            }
            Transport::Tcp { write, .. } => {
                let framed = frame(packet).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "packet too long")
                })?;
                write.write_all(&framed).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_up_tunnel_gets_large_udp_buffers() {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let s = socket2::SockRef::from(&sock);
        let before = (s.recv_buffer_size().unwrap(), s.send_buffer_size().unwrap());
        let t = Transport::udp(sock);
        let (rcv, snd) = t.grow_buffers().unwrap();
        assert!(
            rcv >= before.0 && snd >= before.1,
            "{before:?} -> {rcv} / {snd}"
        );
        if nix::unistd::geteuid().is_root() {
            // past net.core.rmem_max / wmem_max if need be
            assert_eq!((rcv, snd), (2 * UDP_SOCKET_BUFFER, 2 * UDP_SOCKET_BUFFER));
        }
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
