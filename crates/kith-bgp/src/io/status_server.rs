//! Serves `GET /status` (JSON) over HTTP/1.0 on the Unix socket `<run-dir>/bgpd.sock`.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use crate::status::Status;

/// A request for the current status, answered by the daemon loop.
/// `true` when the routes are wanted too (`GET /status`), `false` for the peers alone
/// (`GET /status/peers`: cheap with a full table).
pub(crate) type StatusRequest = (bool, oneshot::Sender<Status>);

/// Binds the socket (replacing a stale one).
pub(crate) fn bind(path: &Path) -> std::io::Result<UnixListener> {
    if path.exists() {
        std::fs::remove_file(path)?;
    }
    UnixListener::bind(path)
}

/// Accepts clients until the daemon stops.
pub(crate) async fn serve(listener: UnixListener, requests: mpsc::UnboundedSender<StatusRequest>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let requests = requests.clone();
        tokio::spawn(async move {
            if let Err(e) =
                tokio::time::timeout(Duration::from_secs(10), answer(stream, requests)).await
            {
                debug!("bgpd: status client too slow: {e}");
            }
        });
    }
}

async fn answer(mut stream: UnixStream, requests: mpsc::UnboundedSender<StatusRequest>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let routes = text.starts_with("GET /status ");
    let (code, body) = if routes || text.starts_with("GET /status/peers ") {
        let (tx, rx) = oneshot::channel();
        let status = match requests.send((routes, tx)) {
            Ok(()) => rx.await.ok(),
            Err(_) => None,
        };
        match status.and_then(|s| serde_json::to_string(&s).ok()) {
            Some(json) => ("200 OK", json),
            None => ("503 Service Unavailable", "{}".to_string()),
        }
    } else {
        (
            "404 Not Found",
            "{\"error\":\"only GET /status and GET /status/peers\"}".to_string(),
        )
    };
    let reply = format!(
        "HTTP/1.0 {code}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}
