//! `GET /status` as JSON over HTTP on the Unix socket `<run-dir>/routed.sock` (DESIGN,
//! "Status"), and the client that `kith route print` uses.

use std::convert::Infallible;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HOST};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{UnixListener, UnixStream};
use tracing::warn;

use crate::status::Status;

/// The socket's file name in the run directory.
pub const SOCKET_NAME: &str = "routed.sock";

/// The socket path for a run directory (`/run/kith/routed.sock`).
pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET_NAME)
}

/// Computes the status for one request.
pub type StatusSource = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Status> + Send>> + Send + Sync>;

/// Binds the socket (mode 0600), replacing a stale socket file left by a crash.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(path)?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ));
        }
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Serves requests until the task is dropped.
pub async fn serve(listener: UnixListener, source: StatusSource) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                warn!("status socket: cannot accept a connection: {err}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let source = Arc::clone(&source);
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(req, Arc::clone(&source)));
            let conn = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(30), conn).await;
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    source: StatusSource,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let reply = |code: StatusCode, kind: &'static str, body: Vec<u8>| {
        let mut resp = Response::new(Full::new(Bytes::from(body)));
        *resp.status_mut() = code;
        if let Ok(v) = kind.parse() {
            resp.headers_mut().insert(CONTENT_TYPE, v);
        }
        resp
    };
    let text = |code, msg: &str| reply(code, "text/plain", format!("{msg}\n").into_bytes());
    Ok(match (req.method(), req.uri().path()) {
        (&Method::GET, "/status") => {
            let status = source().await;
            match serde_json::to_vec_pretty(&status) {
                Ok(body) => reply(StatusCode::OK, "application/json", body),
                Err(err) => text(StatusCode::INTERNAL_SERVER_ERROR, &err.to_string()),
            }
        }
        (_, "/status") => text(StatusCode::METHOD_NOT_ALLOWED, "only GET /status"),
        _ => text(StatusCode::NOT_FOUND, "not found; try GET /status"),
    })
}

/// Asks the `kith routed` listening on `socket` for its status.
pub async fn fetch_status(socket: &Path) -> anyhow::Result<Status> {
    let ask = async {
        let stream = UnixStream::connect(socket).await.with_context(|| {
            format!(
                "cannot reach kith routed at {} (is `kith run` running with this --run-dir?)",
                socket.display()
            )
        })?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake with kith routed")?;
        tokio::spawn(conn);
        let req = Request::get("/status")
            .header(HOST, "routed")
            .body(Empty::<Bytes>::new())
            .context("building the request")?;
        let resp = sender
            .send_request(req)
            .await
            .context("asking kith routed")?;
        let code = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .context("reading the answer of kith routed")?
            .to_bytes();
        if !code.is_success() {
            bail!(
                "kith routed answered {code}: {}",
                String::from_utf8_lossy(&body).trim()
            );
        }
        serde_json::from_slice::<Status>(&body)
            .context("kith routed answered something else than a status")
    };
    match tokio::time::timeout(Duration::from_secs(10), ask).await {
        Ok(result) => result,
        Err(_) => bail!("kith routed did not answer within 10 s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{GatewayStatus, Timing};

    fn sample() -> Status {
        Status {
            routes: Vec::new(),
            gateways: vec![GatewayStatus {
                gateway: "172.16.10.2".into(),
                interface: Some("t1".into()),
                state: "reachable".into(),
                last_rtt_us: Some(310),
                lost_in_row: 0,
                sent: 4,
                answered: 4,
                for_ms: 30_000,
                timing: Timing {
                    interval_ms: 10_000,
                    threshold: 2,
                    recovery: 1,
                },
            }],
        }
    }

    #[tokio::test]
    async fn status_round_trip_over_the_unix_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        // A stale socket file from a crash is replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let listener = bind(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let source: StatusSource = Arc::new(|| Box::pin(async { sample() }));
        let server = tokio::spawn(serve(listener, source));
        assert_eq!(fetch_status(&path).await.unwrap(), sample());

        // Anything but GET /status is refused with a word about what exists.
        let stream = UnixStream::connect(&path).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let req = Request::get("/routes")
            .header(HOST, "routed")
            .body(Empty::<Bytes>::new())
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        server.abort();
    }

    #[tokio::test]
    async fn a_missing_daemon_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch_status(&socket_path(dir.path())).await.unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("cannot reach kith routed at"), "{text}");
        assert!(text.contains("routed.sock"), "{text}");
    }

    #[test]
    fn a_file_that_is_not_a_socket_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = socket_path(dir.path());
        std::fs::write(&path, "keep me").unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let err = runtime.block_on(async { bind(&path) }).unwrap_err();
        assert!(err.to_string().contains("is not a socket"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "keep me");
    }
}
