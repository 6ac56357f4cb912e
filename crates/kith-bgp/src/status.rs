//! What `GET /status` on `<run-dir>/bgpd.sock` returns, the client the `kith bgp`
//! commands use, and the RouterOS-like tables they print.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Name of the status socket inside the run directory.
pub const SOCKET_NAME: &str = "bgpd.sock";

/// The whole status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// Own AS.
    pub local_as: u32,
    /// Router id.
    pub router_id: String,
    /// Every configured peer.
    pub peers: Vec<PeerStatus>,
    /// Every received and local route.
    pub routes: Vec<RouteStatusView>,
    /// Routes installed and acknowledged by the kernel (none when install is off).
    #[serde(default)]
    pub kernel_routes: Option<usize>,
}

/// One peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Name.
    pub name: String,
    /// Address.
    pub remote_address: String,
    /// AS.
    pub remote_as: u32,
    /// FSM state (`established`, `active`, ...).
    pub state: String,
    /// Seconds since Established (0 when not).
    pub uptime_secs: u64,
    /// Prefixes received.
    pub prefixes_received: usize,
    /// Prefixes that passed the in-filter.
    pub prefixes_accepted: usize,
    /// Prefixes announced to the peer.
    pub prefixes_advertised: usize,
    /// How many times the session came up.
    pub established_count: u64,
    /// The last error.
    pub last_error: Option<String>,
    /// Negotiated hold time.
    pub hold_time: Option<u16>,
    /// Negotiated keepalive.
    pub keepalive_time: Option<u16>,
    /// Whether administratively down.
    pub disabled: bool,
    /// State of the BFD session guarding it (`use-bfd`), when one runs.
    #[serde(default)]
    pub bfd: Option<String>,
}

/// One route (the content of `/ip route print detail where bgp`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStatusView {
    /// Destination.
    pub dst_address: String,
    /// Gateway.
    pub gateway: String,
    /// Distance.
    pub distance: u8,
    /// AS path.
    pub as_path: String,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// MED.
    pub med: Option<u32>,
    /// ORIGIN.
    pub origin: String,
    /// Communities.
    pub communities: Vec<String>,
    /// Large communities.
    pub large_communities: Vec<String>,
    /// The peer's name (empty for own routes).
    pub received_from: String,
    /// The best path (installed).
    pub active: bool,
    /// `accepted`, `filtered: discard`, `loop`, `malformed`.
    pub status: String,
}

/// Errors of the status client.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The socket cannot be reached.
    #[error("cannot reach bgpd at {path}: {source} (is `kith bgpd` running?)")]
    Connect {
        /// The socket.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The answer is not a status.
    #[error("bgpd answered something unexpected: {0}")]
    Protocol(String),
}

/// Asks a running bgpd for its status.
///
/// # Errors
/// The socket is missing or the answer is not a status.
pub async fn fetch(run_dir: &Path) -> Result<Status, StatusError> {
    fetch_path(run_dir, "/status").await
}

/// Fetches the status without the routes (`GET /status/peers`), cheap with a full
/// table.
///
/// # Errors
/// As [`fetch`].
pub async fn fetch_peers(run_dir: &Path) -> Result<Status, StatusError> {
    fetch_path(run_dir, "/status/peers").await
}

async fn fetch_path(run_dir: &Path, what: &str) -> Result<Status, StatusError> {
    let path = run_dir.join(SOCKET_NAME);
    let connect = |source| StatusError::Connect {
        path: path.display().to_string(),
        source,
    };
    let io = async {
        let mut stream = tokio::net::UnixStream::connect(&path).await?;
        stream
            .write_all(format!("GET {what} HTTP/1.0\r\nHost: bgpd\r\n\r\n").as_bytes())
            .await?;
        let mut body = Vec::new();
        stream.take(64 << 20).read_to_end(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), io)
        .await
        .map_err(|_| connect(std::io::Error::from(std::io::ErrorKind::TimedOut)))?
        .map_err(connect)?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| StatusError::Protocol("no HTTP header".into()))?;
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(StatusError::Protocol(
            head.lines().next().unwrap_or_default().to_string(),
        ));
    }
    serde_json::from_str(body).map_err(|e| StatusError::Protocol(e.to_string()))
}

/// The peers as a table (`kith bgp peers`).
#[must_use]
pub fn peers_table(status: &Status) -> String {
    let mut rows = vec![
        [
            "NAME",
            "REMOTE-ADDRESS",
            "REMOTE-AS",
            "STATE",
            "UPTIME",
            "PREFIXES",
            "ACCEPTED",
            "ADVERTISED",
            "BFD",
            "LAST-ERROR",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for p in &status.peers {
        let state = if p.disabled {
            "disabled".to_string()
        } else {
            p.state.clone()
        };
        rows.push(vec![
            p.name.clone(),
            p.remote_address.clone(),
            p.remote_as.to_string(),
            state,
            if p.state == "established" {
                uptime(p.uptime_secs)
            } else {
                String::new()
            },
            p.prefixes_received.to_string(),
            p.prefixes_accepted.to_string(),
            p.prefixes_advertised.to_string(),
            p.bfd.clone().unwrap_or_default(),
            p.last_error.clone().unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let idx = if i == 0 {
            " #".to_string()
        } else {
            format!("{:>2}", i - 1)
        };
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{idx} {}", line.join("  ").trim_end());
    }
    out
}

/// The routes as `/ip route print detail where bgp` shows them (`kith bgp routes`).
#[must_use]
pub fn routes_detail(status: &Status) -> String {
    let mut out = String::from("Flags: A - active, D - dynamic, b - bgp, F - filtered\n");
    for (i, r) in status
        .routes
        .iter()
        .filter(|r| !r.received_from.is_empty())
        .enumerate()
    {
        let flags = match (r.active, r.status.as_str()) {
            (true, _) => "ADb",
            (false, "accepted") => " Db",
            _ => "FDb",
        };
        let _ = write!(
            out,
            "{i:>2} {flags}  dst-address={} gateway={}",
            r.dst_address, r.gateway
        );
        if r.status == "accepted" {
            let _ = write!(out, " distance={}", r.distance);
        }
        let _ = write!(out, "\n          bgp-as-path=\"{}\"", r.as_path);
        if let Some(lp) = r.local_pref {
            let _ = write!(out, " bgp-local-pref={lp}");
        }
        if let Some(med) = r.med {
            let _ = write!(out, " bgp-med={med}");
        }
        let _ = write!(out, " bgp-origin={}", r.origin);
        if !r.communities.is_empty() {
            let _ = write!(out, " bgp-communities={}", r.communities.join(","));
        }
        if !r.large_communities.is_empty() {
            let _ = write!(
                out,
                " bgp-large-communities={}",
                r.large_communities.join(",")
            );
        }
        let _ = write!(out, " received-from={}", r.received_from);
        if r.status != "accepted" {
            let _ = write!(out, " {}", r.status);
        }
        out.push_str("\n\n");
    }
    out
}

fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    if d > 0 {
        let _ = write!(out, "{d}d");
    }
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    let _ = write!(out, "{s}s");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_read_like_routeros() {
        let status = Status {
            local_as: 64514,
            router_id: "192.168.0.1".into(),
            peers: vec![PeerStatus {
                name: "remi-isp1".into(),
                remote_address: "172.16.10.2".into(),
                remote_as: 64513,
                state: "established".into(),
                uptime_secs: 3725,
                prefixes_received: 3,
                prefixes_accepted: 2,
                prefixes_advertised: 1,
                ..PeerStatus::default()
            }],
            routes: vec![
                RouteStatusView {
                    dst_address: "192.168.42.0/24".into(),
                    gateway: "172.16.10.2".into(),
                    distance: 20,
                    as_path: "64513".into(),
                    local_pref: Some(200),
                    origin: "igp".into(),
                    received_from: "remi-isp1".into(),
                    active: true,
                    status: "accepted".into(),
                    ..RouteStatusView::default()
                },
                RouteStatusView {
                    dst_address: "192.168.200.0/24".into(),
                    gateway: "172.16.10.2".into(),
                    as_path: "64513".into(),
                    origin: "igp".into(),
                    received_from: "remi-isp1".into(),
                    status: "filtered: discard".into(),
                    ..RouteStatusView::default()
                },
            ],
            kernel_routes: None,
        };
        let peers = peers_table(&status);
        assert!(
            peers.contains("remi-isp1  172.16.10.2     64513      established  1h2m5s"),
            "{peers}"
        );
        let routes = routes_detail(&status);
        assert!(
            routes.contains(" 0 ADb  dst-address=192.168.42.0/24 gateway=172.16.10.2 distance=20"),
            "{routes}"
        );
        assert!(
            routes.contains(
                "bgp-as-path=\"64513\" bgp-local-pref=200 bgp-origin=igp received-from=remi-isp1"
            ),
            "{routes}"
        );
        assert!(
            routes.contains(" 1 FDb  dst-address=192.168.200.0/24"),
            "{routes}"
        );
        assert!(routes.contains("filtered: discard"), "{routes}");
    }
}
