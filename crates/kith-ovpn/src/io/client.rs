//! A client: resolves the server's name (again on every attempt, so a changed ISP
//! address heals by itself; `ip/dns` as it is then), connects, runs the tunnel, and reconnects with backoff.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kith_net::Net;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::watch;
use tracing::{info, warn};

use super::dns;
use super::driver::{ClientRouting, Driver};
use super::registry::{Registry, TunnelStatus};
use super::transport::Transport;
use crate::codec::framing::Deframer;
use crate::config::ClientSpec;
use crate::session::Tunnel;

const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one client until `shutdown` turns true.
pub async fn run(
    spec: ClientSpec,
    dns_servers: watch::Receiver<Vec<IpAddr>>,
    net: Net,
    registry: Arc<Registry>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        if *shutdown.borrow() {
            return;
        }
        let servers = dns_servers.borrow().clone();
        let ended = attempt(&spec, &servers, &net, &registry, shutdown.clone()).await;
        match ended {
            Ok(true) => backoff = BACKOFF_MIN,
            Ok(false) => backoff = (backoff * 2).min(BACKOFF_MAX),
            Err(e) => {
                warn!(
                    "ovpn-client {}: {e}; retrying in {} s",
                    spec.name,
                    backoff.as_secs()
                );
                registry.update(
                    u64::MAX - hash(&spec.name),
                    TunnelStatus {
                        name: spec.name.clone(),
                        kind: "client".into(),
                        state: format!("retrying: {e}"),
                        ..TunnelStatus::default()
                    },
                );
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
        let stopping = tokio::select! {
            _ = tokio::time::sleep(backoff) => false,
            _ = shutdown.changed() => true,
        };
        // the "retrying" row goes, also when the client is stopped (reload, vpnd exit)
        registry.remove(u64::MAX - hash(&spec.name));
        if stopping {
            return;
        }
    }
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(1469598103934665603u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(1099511628211)
    }) >> 8
}

/// One connection attempt; Ok(true) when the tunnel had come up.
async fn attempt(
    spec: &ClientSpec,
    dns_servers: &[IpAddr],
    net: &Net,
    registry: &Arc<Registry>,
    shutdown: watch::Receiver<bool>,
) -> Result<bool, String> {
    let addrs = dns::resolve(&spec.host, dns_servers).await?;
    let ip = addrs
        .first()
        .copied()
        .ok_or_else(|| format!("{} has no address", spec.host))?;
    let server = SocketAddr::new(IpAddr::V4(ip), spec.port);
    let peer = if spec.host == ip.to_string() {
        server.to_string()
    } else {
        format!("{} ({server})", spec.host)
    };
    let transport = if spec.tcp {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(server))
            .await
            .map_err(|_| format!("connecting to {peer} timed out"))?
            .map_err(|e| format!("cannot connect to {peer}: {e}"))?;
        Transport::tcp(stream, Deframer::new())
    } else {
        let sock = UdpSocket::bind("0.0.0.0:0")
            .await
            .map_err(|e| format!("cannot open a UDP socket: {e}"))?;
        sock.connect(server)
            .await
            .map_err(|e| format!("cannot reach {peer}: {e}"))?;
        Transport::udp(sock)
    };
    info!(
        "ovpn-client {}: connecting to {peer} over {}",
        spec.name,
        if spec.tcp { "TCP" } else { "UDP" }
    );
    let tunnel = Tunnel::client(spec.session.clone(), &peer, Instant::now())?;
    let driver = Driver {
        tunnel,
        transport,
        net: net.clone(),
        registry: registry.clone(),
        kind: "client",
        label: Some(spec.name.clone()),
        mtu: spec.mtu,
        routing: Some(ClientRouting {
            server: server.ip(),
            add_default_route: spec.add_default_route,
        }),
    };
    let ended = driver.run(shutdown).await;
    Ok(ended.was_up)
}
