//! The only place that awaits: sockets, tun interfaces, timers, the status socket.

pub mod client;
pub mod dns;
pub mod driver;
pub mod registry;
pub mod routes;
pub mod runtime;
pub mod server;
pub mod status;
pub mod transport;
pub mod tunif;

use std::path::PathBuf;
use std::sync::Arc;

use kith_net::Net;
use tokio::sync::watch;
use tracing::error;

use crate::config::VpnSpec;
pub use registry::{Registry, Status, TunnelStatus};

/// Runs everything in `spec` until `shutdown` turns true; the status socket goes to
/// `status_socket` when given.
pub async fn run(
    spec: VpnSpec,
    status_socket: Option<PathBuf>,
    registry: Arc<Registry>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let net = Net::new().map_err(|e| format!("cannot open rtnetlink: {e}"))?;
    let mut tasks = Vec::new();
    if let Some(path) = status_socket {
        let r = registry.clone();
        let s = shutdown.clone();
        tasks.push(tokio::spawn(
            async move { status::serve(&path, r, s).await },
        ));
    }
    if let Some(server) = spec.server {
        let (n, r, s) = (net.clone(), registry.clone(), shutdown.clone());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = server::run(server, n, r, s).await {
                error!("ovpn-server: {e}");
            }
        }));
    }
    let (_dns_tx, dns) = watch::channel(spec.dns);
    for c in spec.clients {
        let (n, r, s, d) = (net.clone(), registry.clone(), shutdown.clone(), dns.clone());
        tasks.push(tokio::spawn(client::run(c, d, n, r, s)));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
