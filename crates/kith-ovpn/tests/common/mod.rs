//! Shared by the namespace tests: prerequisites (root, openvpn, socat: fail loudly, never
//! skip), a two-node lab, a PKI, stock openvpn configs, vpnd running in-process inside a
//! lab namespace, and a checksummed transfer through a tunnel.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use kith_lab::{Lab, NodeKind};
use kith_ovpn::io::{Registry, Status};
use kith_ovpn::pki::Pki;
use tokio::sync::watch;

/// Fails the test with a clear message unless it runs as root with the tools it needs.
pub fn require_prereqs() {
    if !nix::unistd::geteuid().is_root() {
        panic!("this test needs root (network namespaces, tun devices); run it as root");
    }
    for tool in ["openvpn", "socat", "ping", "sha256sum"] {
        let ok = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            panic!("this test needs `{tool}`; install it with ci/install-deps.sh");
        }
    }
}

/// A lab of two hosts, `srv` (10.77.1.1) and `cli` (10.77.1.2), plus a PKI with a
/// server certificate and a client certificate `friend1-1`.
pub struct Pair {
    pub lab: Lab,
    pub dir: tempfile::TempDir,
    pub pki: Pki,
}

pub const SRV_ADDR: &str = "10.77.1.1";

impl Pair {
    pub fn new(tag: &str) -> Pair {
        require_prereqs();
        let lab = Lab::new(tag).unwrap();
        lab.add_node("srv", NodeKind::Host).unwrap();
        lab.add_node("cli", NodeKind::Host).unwrap();
        lab.add_link(
            ("srv", "eth0", Some("10.77.1.1/24".parse().unwrap())),
            ("cli", "eth0", Some("10.77.1.2/24".parse().unwrap())),
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open(dir.path().join("pki"));
        pki.init("Kith CA test", "server").unwrap();
        pki.issue("friend1-1").unwrap();
        Pair { lab, dir, pki }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts stock openvpn in `node` with `conf` (written to a file); waits until it
    /// says it is ready or `ready` appears in its log.
    pub fn spawn_openvpn(&self, node: &str, name: &str, conf: &str, ready: &str) {
        let path = self.path(&format!("{name}.conf"));
        std::fs::write(&path, conf).unwrap();
        self.lab
            .spawn(
                node,
                name,
                &["openvpn", "--config", path.to_str().unwrap()],
                &[],
            )
            .unwrap();
        let lab = &self.lab;
        lab.wait_until(
            &format!("openvpn {name}: {ready}"),
            Duration::from_secs(30),
            || lab.log(node, name).contains(ready),
        )
        .unwrap_or_else(|e| panic!("{e}\nopenvpn log:\n{}", lab.log(node, name)));
    }

    /// A stock openvpn server: `server 172.16.10.0/24`, topology p2p.
    pub fn openvpn_server_conf(&self, tcp: bool, ciphers: &str, auth: &str, extra: &str) -> String {
        format!(
            "mode server\ntls-server\nproto {}\nport 1194\ndev tun\ntopology p2p\nserver 172.16.10.0 255.255.255.0\n\
             ca {}\ncert {}\nkey {}\ncrl-verify {}\ndh none\ndata-ciphers {ciphers}\nauth {auth}\n\
             keepalive 10 60\nverb 3\n{extra}\n",
            if tcp { "tcp4-server" } else { "udp4" },
            self.pki.ca_path().display(),
            self.pki.cert_path("server").display(),
            self.pki.key_path("server").display(),
            self.pki.crl_path().display(),
        )
    }

    /// A stock openvpn client of `server_addr` with certificate `name`.
    pub fn openvpn_client_conf(
        &self,
        name: &str,
        tcp: bool,
        ciphers: &str,
        auth: &str,
        extra: &str,
    ) -> String {
        format!(
            "client\nproto {}\nremote {SRV_ADDR} 1194\ndev tun\nnobind\nremote-cert-tls server\n\
             ca {}\ncert {}\nkey {}\ndata-ciphers {ciphers}\nauth {auth}\nverb 3\nconnect-retry 1\n{extra}\n",
            if tcp { "tcp4-client" } else { "udp4" },
            self.pki.ca_path().display(),
            self.pki.cert_path(name).display(),
            self.pki.key_path(name).display(),
        )
    }

    /// Starts vpnd in `node` with the config `yaml`.
    pub fn spawn_vpnd(&self, node: &str, yaml: &str) -> Vpnd {
        let ns = self.lab.namespace(node).unwrap();
        let config = kith_config::load_str(yaml, "test.yaml")
            .unwrap_or_else(|d| panic!("config: {d:?}"))
            .config;
        Vpnd::start(&ns, config, self.pki.dir().to_path_buf())
    }

    /// Waits until `node` can ping `addr`.
    pub fn wait_ping(&self, node: &str, addr: &str) {
        self.lab
            .wait_ping(node, addr, Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Sends `mb` MB of random data from `from` to `to_addr` (listening in `to`) with
    /// socat over TCP through the tunnel; the checksums must match.
    pub fn transfer(&self, from: &str, to: &str, to_addr: &str, mb: usize) {
        let src = self.path(&format!("src-{from}"));
        let dst = self.path(&format!("dst-{to}"));
        let _ = std::fs::remove_file(&dst);
        self.lab
            .sh(
                from,
                &format!("head -c {}M /dev/urandom > {}", mb, src.display()),
            )
            .unwrap();
        let name = format!("sink-{to}");
        self.lab
            .spawn(
                to,
                &name,
                &[
                    "socat",
                    "-u",
                    "TCP-LISTEN:5001,reuseaddr",
                    &format!("CREATE:{}", dst.display()),
                ],
                &[],
            )
            .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        self.lab
            .exec_ok_timeout(
                from,
                &[
                    "socat",
                    "-u",
                    &format!("FILE:{}", src.display()),
                    &format!("TCP:{to_addr}:5001,connect-timeout=10"),
                ],
                Duration::from_secs(120),
            )
            .unwrap();
        let lab = &self.lab;
        lab.wait_until("transfer finished", Duration::from_secs(30), || {
            !lab.is_running(to, &name)
        })
        .unwrap();
        let sum = |p: &Path| {
            let out = std::process::Command::new("sha256sum")
                .arg(p)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(
            std::fs::metadata(&dst).unwrap().len(),
            (mb * 1024 * 1024) as u64
        );
        assert_eq!(sum(&src), sum(&dst), "checksum of the transfer");
    }
}

/// A new config for [`Vpnd::reload`] and where its outcome goes.
type ReloadRequest = (
    kith_config::Config,
    std::sync::mpsc::Sender<Result<(), String>>,
);

/// vpnd (its [`kith_ovpn::io::runtime::Runtime`]) running in a lab namespace, in a
/// thread of this test process. Stopped (and its interfaces removed) on drop.
pub struct Vpnd {
    shutdown: watch::Sender<bool>,
    reloads: tokio::sync::mpsc::UnboundedSender<ReloadRequest>,
    thread: Option<JoinHandle<()>>,
    pub registry: Arc<Registry>,
}

impl Vpnd {
    pub fn start(ns: &str, config: kith_config::Config, pki_dir: PathBuf) -> Vpnd {
        let (tx, mut rx) = watch::channel(false);
        let (reloads, mut reload_rx) = tokio::sync::mpsc::unbounded_channel::<ReloadRequest>();
        let registry = Arc::new(Registry::default());
        let reg = registry.clone();
        let path = PathBuf::from("/run/netns").join(ns);
        let thread = std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap();
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut runtime =
                    kith_ovpn::io::runtime::Runtime::start(config, &pki_dir, None, reg)
                        .await
                        .unwrap();
                loop {
                    tokio::select! {
                        _ = rx.changed() => break,
                        Some((new, answer)) = reload_rx.recv() => {
                            let _ = answer.send(runtime.reload(new).await);
                        }
                    }
                }
                runtime.stop().await;
            });
        });
        Vpnd {
            shutdown: tx,
            reloads,
            thread: Some(thread),
            registry,
        }
    }

    /// Reloads vpnd with the config `yaml` (as SIGHUP does); returns once applied.
    pub fn reload(&self, yaml: &str) -> Result<(), String> {
        let config = kith_config::load_str(yaml, "test.yaml")
            .unwrap_or_else(|d| panic!("config: {d:?}"))
            .config;
        let (answer, outcome) = std::sync::mpsc::channel();
        self.reloads.send((config, answer)).unwrap();
        outcome
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("reload: no answer within 30 s: {e}"))
    }

    pub fn status(&self) -> Status {
        self.registry.status()
    }

    /// Waits until a tunnel named `name` is connected; returns its row.
    pub fn wait_connected(&self, name: &str, timeout: Duration) -> kith_ovpn::io::TunnelStatus {
        let end = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < end {
            if let Some(t) =
                self.status().tunnels.into_iter().find(|t| {
                    t.name == name && t.state == "connected" && !t.local_address.is_empty()
                })
            {
                // the interface is created right after the state changes
                std::thread::sleep(Duration::from_millis(300));
                return t;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "tunnel {name} not connected within {timeout:?}: {:?}",
            self.status()
        );
    }
}

impl Drop for Vpnd {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Everything logged in this test process so far (see [`logs`]).
static CAPTURED: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Writes log lines to the test output and keeps them for [`captured`].
struct Capture;

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        print!("{}", String::from_utf8_lossy(buf));
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Initializes logging for a test (RUST_LOG, default info); lines are kept for
/// [`captured`].
pub fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(false)
        .with_writer(|| Capture)
        .try_init();
}

/// The log lines of this test process so far (every test of the binary).
pub fn captured() -> String {
    String::from_utf8_lossy(&CAPTURED.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
}

/// Waits until a log line holds every one of `parts`; panics with the log after 20 s.
pub fn wait_log_line(parts: &[&str]) {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let log = captured();
        if log.lines().any(|l| parts.iter().all(|p| l.contains(p))) {
            return;
        }
        if std::time::Instant::now() >= end {
            panic!("no log line with {parts:?} within 20 s; the log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
