//! `GET /status` as JSON over HTTP on the Unix socket `<run-dir>/vpnd.sock`, and the
//! client side that `kith ovpn print` uses.

use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tracing::warn;

use super::registry::{Registry, Status};

/// Serves the status until `shutdown` turns true.
pub async fn serve(path: &Path, registry: Arc<Registry>, mut shutdown: watch::Receiver<bool>) {
    let _ = std::fs::remove_file(path);
    let listener = match UnixListener::bind(path) {
        Ok(l) => l,
        Err(e) => {
            warn!("status socket {}: {e}", path.display());
            return;
        }
    };
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let Ok((mut stream, _)) = accepted else {
            continue;
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut req = [0u8; 1024];
            let n = match tokio::time::timeout(
                std::time::Duration::from_secs(2),
                stream.read(&mut req),
            )
            .await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let line = String::from_utf8_lossy(&req[..n]);
            let (code, body) = if line.starts_with("GET /status") {
                let body = serde_json::to_string(&registry.status()).unwrap_or_default();
                ("200 OK", body)
            } else {
                ("404 Not Found", "{\"error\":\"not found\"}".to_string())
            };
            let resp = format!(
                "HTTP/1.1 {code}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes()).await;
        });
    }
    let _ = std::fs::remove_file(path);
}

/// Fetches the status from a running vpnd.
pub async fn fetch(path: &Path) -> Result<Status, String> {
    let mut s = UnixStream::connect(path)
        .await
        .map_err(|e| format!("cannot reach vpnd at {}: {e}", path.display()))?;
    s.write_all(b"GET /status HTTP/1.1\r\nHost: vpnd\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&resp);
    let body = text
        .split("\r\n\r\n")
        .nth(1)
        .ok_or("bad HTTP answer from vpnd")?;
    serde_json::from_str(body).map_err(|e| format!("bad status from vpnd: {e}"))
}

/// RouterOS-style table of the status.
pub fn print(status: &Status) -> String {
    let mut out = String::from(
        "Flags: R - RUNNING\n #   NAME             KIND    USER          PEER                   LOCAL-ADDRESS   REMOTE-ADDRESS  ENCODING           UPTIME    RX-BYTE     TX-BYTE\n",
    );
    for (i, t) in status.tunnels.iter().enumerate() {
        let flag = if t.state == "connected" { "R" } else { " " };
        out.push_str(&format!(
            "{i:>2} {flag} {:<16} {:<7} {:<13} {:<22} {:<15} {:<15} {:<18} {:<9} {:<11} {}\n",
            t.name,
            t.kind,
            t.user,
            t.peer,
            t.local_address,
            t.remote_address,
            t.encoding,
            uptime(t.uptime),
            t.bytes_in,
            t.bytes_out
        ));
        if t.state != "connected" {
            out.push_str(&format!("       ;;; {}\n", t.state));
        }
    }
    out
}

fn uptime(s: u64) -> String {
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h >= 24 {
        format!("{}d{}h{}m", h / 24, h % 24, m)
    } else if h > 0 {
        format!("{h}h{m}m{s}s")
    } else if m > 0 {
        format!("{m}m{s}s")
    } else {
        format!("{s}s")
    }
}
