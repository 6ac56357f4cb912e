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
            Transport::UdpConnected(sock, _) => sock.send(packet).await.map(drop),
            Transport::Tcp { write, .. } => {
                let framed = frame(packet).ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "packet too long")
                })?;
                write.write_all(&framed).await
            }
        }
    }
}
