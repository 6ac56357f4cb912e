//! Runs one tunnel: moves packets between its transport, its engine and its tun
//! interface, ticks the engine's timers, and turns `Up` / `Down` into an interface that
//! appears and disappears.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kith_net::Net;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::registry::{CloseSignal, Registry, TunnelStatus};
use super::routes::TunnelRoutes;
use super::transport::Transport;
use super::tunif::TunnelInterface;
use crate::session::{Action, Established, Tunnel};

const TICK: Duration = Duration::from_millis(200);
/// Most packets read from the tun interface per wake-up (then encrypted and sent to
/// the peer together: one GSO send per run of equal sizes).
const TUN_BATCH: usize = 64;

/// How a tunnel ended.
#[derive(Debug, Clone)]
pub struct Ended {
    /// Why.
    pub reason: String,
    /// Whether it had come up.
    pub was_up: bool,
}

/// One tunnel and what it needs.
pub struct Driver {
    /// The engine.
    pub tunnel: Tunnel,
    /// Its transport.
    pub transport: Transport,
    /// Netlink.
    pub net: Net,
    /// Shared status.
    pub registry: Arc<Registry>,
    /// `server` or `client`.
    pub kind: &'static str,
    /// Interface label for a client (the server takes it from the account).
    pub label: Option<String>,
    /// MTU for a client's interface.
    pub mtu: u32,
    /// A client's routing: the server's address and `add-default-route`.
    pub routing: Option<ClientRouting>,
}

/// What a client's routes need besides the push reply.
#[derive(Debug, Clone, Copy)]
pub struct ClientRouting {
    /// The server's transport address (kept outside the tunnel).
    pub server: std::net::IpAddr,
    /// `add-default-route`.
    pub add_default_route: bool,
}

impl Driver {
    /// Runs until the tunnel closes or `shutdown` turns true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) -> Ended {
        let id = self.registry.next_id();
        let close = Arc::new(CloseSignal::default());
        let (gone_tx, gone_rx) = watch::channel(false);
        let mut iface: Option<TunnelInterface> = None;
        let mut routes: Option<TunnelRoutes> = None;
        let mut est: Option<Established> = None;
        let mut reason = String::from("closed");
        let mut was_up = false;
        let mut tick = tokio::time::interval(TICK);
        let mut buf = vec![0u8; 65536];
        let mut sends: Vec<Vec<u8>> = Vec::new();
        self.publish(id, &iface, &est);
        loop {
            // carry out what the engine asked for, in order; packets for the peer in a
            // row go out together
            loop {
                let action = match self.tunnel.poll_action() {
                    Some(Action::Send(p)) => {
                        sends.push(p);
                        continue;
                    }
                    other => other,
                };
                let mut failed = false;
                if !sends.is_empty() {
                    let r = self.transport.send_batch(&sends).await;
                    sends.clear();
                    if let Err(e) = r {
                        failed = true;
                        self.tunnel.shutdown(
                            Instant::now(),
                            &format!("sending to {} failed: {e}", self.tunnel.peer()),
                        );
                    }
                }
                let Some(action) = action else {
                    if failed {
                        // the shutdown queued its own actions
                        continue;
                    }
                    break;
                };
                match action {
                    Action::Send(_) => {}
                    Action::Deliver(p) => {
                        if let Some(i) = &iface {
                            let _ = i.send(&p).await;
                        }
                    }
                    Action::Up(e) => {
                        match self.bring_up(id, &e, &close, &gone_rx).await {
                            Ok(i) => {
                                info!(
                                    "{} {} connected from {}: interface {} {} <-> {}, {}",
                                    self.kind,
                                    e.account
                                        .as_ref()
                                        .map_or(self.label.as_deref().unwrap_or("?"), |a| a
                                            .name
                                            .as_str()),
                                    self.tunnel.peer(),
                                    i.label(),
                                    e.local.map_or("?".into(), |a| a.to_string()),
                                    e.remote.map_or("?".into(), |a| a.to_string()),
                                    e.suite
                                );
                                routes = TunnelRoutes::install_for(
                                    &self.net,
                                    i.label(),
                                    &e,
                                    self.routing,
                                )
                                .await;
                                if let Some(set) = self.transport.tunnel_up() {
                                    debug!("{}: {set}", self.tunnel.peer());
                                }
                                iface = Some(i);
                                was_up = true;
                            }
                            Err(err) => {
                                warn!("{err}");
                                self.tunnel.shutdown(Instant::now(), &err);
                            }
                        }
                        est = Some(e);
                    }
                    Action::Down(r) => {
                        if was_up {
                            info!("{}: tunnel down: {r}", self.tunnel.peer());
                        } else {
                            warn!("{}: {r}", self.tunnel.peer());
                        }
                        reason = r;
                        if let Some(routes) = routes.take() {
                            routes.remove(&self.net).await;
                        }
                        iface = None;
                        let _ = gone_tx.send(true);
                    }
                }
            }
            if self.tunnel.is_closed() {
                break;
            }
            tokio::select! {
                r = self.transport.recv() => match r {
                    Ok(p) => self.tunnel.handle_packet(Instant::now(), &p),
                    Err(e) => {
                        let msg = format!("connection with {} lost: {e}", self.tunnel.peer());
                        self.tunnel.shutdown(Instant::now(), &msg);
                    }
                },
                r = recv_tun(&iface, &mut buf) => {
                    if let Ok(n) = r {
                        let now = Instant::now();
                        self.tunnel.send_ip(now, &buf[..n]);
                        // and what else waits on the interface, so that the packets
                        // go to the peer together
                        if let Some(i) = &iface {
                            for _ in 1..TUN_BATCH {
                                let Ok(n) = i.try_recv(&mut buf) else {
                                    break;
                                };
                                self.tunnel.send_ip(now, &buf[..n]);
                            }
                        }
                    }
                }
                _ = tick.tick() => {
                    self.tunnel.tick(Instant::now());
                    self.publish(id, &iface, &est);
                }
                why = close.closed() => self.tunnel.shutdown(Instant::now(), &why),
                _ = shutdown.changed() => {
                    self.tunnel.shutdown(Instant::now(), "vpnd stopping");
                }
            }
        }
        if let Some(routes) = routes.take() {
            routes.remove(&self.net).await;
        }
        drop(iface);
        let _ = gone_tx.send(true);
        self.registry.remove(id);
        Ended { reason, was_up }
    }

    async fn bring_up(
        &self,
        id: u64,
        e: &Established,
        close: &Arc<CloseSignal>,
        gone: &watch::Receiver<bool>,
    ) -> Result<TunnelInterface, String> {
        if let Some(serial) = &e.peer_serial {
            self.registry
                .note_serial(id, serial, close.clone(), gone.clone());
        }
        let (label, mtu) = match &e.account {
            Some(a) => {
                if let Some((old_close, mut old_gone)) =
                    self.registry
                        .claim(&a.name, id, close.clone(), gone.clone())
                {
                    info!(
                        "{} logged in again from {}; the older session is replaced (only-one)",
                        a.name,
                        self.tunnel.peer()
                    );
                    old_close.close("replaced by a new login of the same account (only-one)");
                    let _ = tokio::time::timeout(Duration::from_secs(5), old_gone.wait_for(|g| *g))
                        .await;
                }
                // Checked after the claim: a reload replaces the accounts, then closes
                // the claimed tunnels of those it changed; one claimed after that sees
                // the new accounts here.
                if !self.tunnel.account_still_current() {
                    return Err(format!(
                        "{}: account {} was changed or removed during the handshake; \
                         not brought up (the peer logs in again)",
                        self.tunnel.peer(),
                        a.name
                    ));
                }
                (a.interface.clone(), a.mtu)
            }
            None => (
                self.label.clone().unwrap_or_else(|| "ovpn".into()),
                self.mtu,
            ),
        };
        let (Some(local), Some(remote)) = (e.local, e.remote) else {
            return Err(format!(
                "{}: no ifconfig in the push reply; tunnel not usable",
                self.tunnel.peer()
            ));
        };
        let mtu = e.mtu.unwrap_or(mtu).min(mtu.max(576));
        TunnelInterface::create(&self.net, &label, local, remote, mtu).await
    }

    fn publish(&self, id: u64, iface: &Option<TunnelInterface>, est: &Option<Established>) {
        let stats = self.tunnel.stats();
        let up = self.tunnel.is_up();
        let row = TunnelStatus {
            name: iface
                .as_ref()
                .map(|i| i.label().to_string())
                .or_else(|| {
                    est.as_ref()
                        .and_then(|e| e.account.as_ref().map(|a| a.interface.clone()))
                })
                .or_else(|| self.label.clone())
                .unwrap_or_default(),
            kind: self.kind.to_string(),
            user: est
                .as_ref()
                .and_then(|e| e.account.as_ref().map(|a| a.name.clone()))
                .unwrap_or_default(),
            peer: self.tunnel.peer().to_string(),
            state: if up { "connected" } else { "connecting" }.to_string(),
            local_address: est
                .as_ref()
                .and_then(|e| e.local)
                .map(|a| a.to_string())
                .unwrap_or_default(),
            remote_address: est
                .as_ref()
                .and_then(|e| e.remote)
                .map(|a| a.to_string())
                .unwrap_or_default(),
            encoding: est
                .as_ref()
                .map(|e| e.suite.to_string())
                .unwrap_or_default(),
            uptime: self
                .tunnel
                .up_since()
                .map_or(0, |t| Instant::now().saturating_duration_since(t).as_secs()),
            bytes_in: stats.bytes_in,
            bytes_out: stats.bytes_out,
        };
        self.registry.update(id, row);
    }
}

async fn recv_tun(iface: &Option<TunnelInterface>, buf: &mut [u8]) -> std::io::Result<usize> {
    match iface {
        Some(i) => i.recv(buf).await,
        None => std::future::pending().await,
    }
}
