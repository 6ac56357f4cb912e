//! The daemon `kith bgpd`: tokio sessions, the engine loop, kernel routes, the status
//! socket. The only part of the crate that awaits.

mod config;
mod daemon;
mod gateway_check;
mod kernel;
mod session;
mod sockopt;
mod status_server;

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

pub use config::{BGP_PORT, BgpConfig, PeerConfig};

use crate::policy::FilterError;
use crate::rib::PeerId;

/// How to run the daemon.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config file (re-read on SIGHUP).
    pub config: Option<PathBuf>,
    /// Where the status socket goes (`bgpd.sock`); none without it.
    pub run_dir: Option<PathBuf>,
    /// TCP port to listen on (179).
    pub port: u16,
    /// Install best routes into the kernel.
    pub install_routes: bool,
}

/// Why the daemon stopped.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config does not load.
    #[error("{path}: the config has errors:\n{errors}")]
    Config {
        /// The file.
        path: String,
        /// The diagnostics.
        errors: String,
    },
    /// The config has no `routing/bgp/instance`.
    #[error("{0}: no routing/bgp/instance: nothing to do")]
    NoInstance(String),
    /// A routing filter does not compile.
    #[error(transparent)]
    Filter(#[from] FilterError),
    /// Netlink.
    #[error(transparent)]
    Net(#[from] kith_net::NetError),
    /// A socket or file.
    #[error("cannot {what}: {source}")]
    Io {
        /// What was attempted.
        what: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Signals.
    #[error("signal handling: {0}")]
    Signal(#[from] std::io::Error),
    /// The kernel event stream ended.
    #[error("the netlink event stream ended")]
    Events,
}

/// Runs `kith bgpd` until SIGTERM or SIGINT.
///
/// # Errors
/// A config without BGP instance or with errors, sockets that cannot be opened.
pub async fn run(opts: Options) -> Result<(), DaemonError> {
    let path = opts
        .config
        .clone()
        .ok_or_else(|| DaemonError::NoInstance("(no config)".into()))?;
    let fallback = highest_address().await;
    let mut ids = HashMap::new();
    let cfg = load(&path, fallback, &mut ids)?
        .ok_or_else(|| DaemonError::NoInstance(path.display().to_string()))?;
    daemon::Daemon::run(opts, cfg, ids).await
}

/// Loads the BGP part of the config file; peer numbers stay stable across reloads.
pub(crate) fn load(
    path: &Path,
    fallback: Ipv4Addr,
    ids: &mut HashMap<String, PeerId>,
) -> Result<Option<BgpConfig>, DaemonError> {
    let loaded = kith_config::load_file(path).map_err(|diags| DaemonError::Config {
        path: path.display().to_string(),
        errors: diags
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    })?;
    let mut next = ids.values().max().map_or(1, |m| m + 1);
    let mut id_of = |name: &str| {
        *ids.entry(name.to_string()).or_insert_with(|| {
            next += 1;
            next - 1
        })
    };
    Ok(BgpConfig::from_config(
        &loaded.config,
        fallback,
        &mut id_of,
    )?)
}

/// The highest IPv4 address of the machine (the default router id).
async fn highest_address() -> Ipv4Addr {
    let Ok(net) = kith_net::Net::new() else {
        return Ipv4Addr::new(0, 0, 0, 1);
    };
    net.addresses(None)
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|a| match a.ip() {
            IpAddr::V4(v4) if !v4.is_loopback() => Some(v4),
            _ => None,
        })
        .max()
        .unwrap_or(Ipv4Addr::new(0, 0, 0, 1))
}
