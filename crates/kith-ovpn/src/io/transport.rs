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
