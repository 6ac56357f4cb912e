//! What vpnd runs (the status socket, the server, each client, each a task with its own
//! stop signal) and its reload in place: [`crate::reload::plan`] says what the new
//! config changes, and only that is stopped, started or restarted. Tunnels the change
//! does not concern keep their interfaces, keys and packets.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use kith_config::Config;
use kith_net::Net;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::registry::Registry;
use super::{client, server, status};
use crate::config::{
    ClientSpec, ConfigAccounts, ServerSpec, SessionSlot, VpnSpec, client_spec, server_spec, spec,
};
use crate::pki::Pki;
use crate::reload::{ClientChange, Plan, SecretChange, ServerChange, plan};

/// How long a stopping part (or a closing tunnel) may take.
const STOP_WAIT: Duration = Duration::from_secs(10);
/// How long a closed account's interface may take to go.
const GONE_WAIT: Duration = Duration::from_secs(5);

/// A task and its stop signal.
struct Part {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Part {
    fn spawn<F, Fut>(run: F) -> Part
    where
        F: FnOnce(watch::Receiver<bool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (stop, rx) = watch::channel(false);
        Part {
            stop,
            task: tokio::spawn(run(rx)),
        }
    }

    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(STOP_WAIT, self.task).await;
    }
}

/// The running server: its task and its accounts (replaced in place on reload).
struct RunningServer {
    part: Part,
    accounts: Arc<ConfigAccounts>,
    session: Arc<SessionSlot>,
}

/// Everything vpnd runs.
pub struct Runtime {
    net: Net,
    registry: Arc<Registry>,
    pki: Pki,
    config: Config,
    revoked: Vec<String>,
    /// The CRL the server loaded (its bytes).
    crl: Vec<u8>,
    dns: watch::Sender<Vec<IpAddr>>,
    status: Option<Part>,
    server: Option<RunningServer>,
    clients: BTreeMap<String, Part>,
}

impl Runtime {
    /// Starts what `config` asks for; the status socket goes to `status_socket`.
    pub async fn start(
        config: Config,
        pki_dir: &Path,
        status_socket: Option<PathBuf>,
        registry: Arc<Registry>,
    ) -> Result<Runtime, String> {
        let pki = Pki::open(pki_dir);
        let VpnSpec {
            server, clients, ..
        } = spec(&config, pki_dir)?;
        let net = Net::new().map_err(|e| format!("cannot open rtnetlink: {e}"))?;
        info!(
            "vpnd: server {}, {} client(s)",
            if server.is_some() { "on" } else { "off" },
            clients.len()
        );
        let status = status_socket.map(|path| {
            let r = registry.clone();
            Part::spawn(|stop| async move { status::serve(&path, r, stop).await })
        });
        let mut rt = Runtime {
            net,
            registry,
            revoked: pki.revoked_serials(),
            crl: read_crl(&pki),
            pki,
            dns: watch::channel(config.ip.dns.servers.clone()).0,
            config,
            status,
            server: None,
            clients: BTreeMap::new(),
        };
        rt.server = server.map(|s| rt.spawn_server(s));
        for c in clients {
            let name = c.name.clone();
            let part = rt.spawn_client(c);
            rt.clients.insert(name, part);
        }
        Ok(rt)
    }

    /// Applies `new`: only what changed is touched. On an error (a certificate that
    /// cannot be read, ...) nothing is applied and the running config stays.
    pub async fn reload(&mut self, new: Config) -> Result<(), String> {
        self.refresh_crl();
        let revoked = self.pki.revoked_serials();
        let plan = plan(&self.config, &new, revoked != self.revoked);
        if plan.is_empty() {
            info!("reload: nothing vpnd runs changed; every tunnel kept");
            self.config = new;
            return Ok(());
        }
        // Everything that must be built is built first, so that a bad reload changes
        // nothing.
        let server = match plan.server {
            ServerChange::Start | ServerChange::Restart(_) => {
                Some(server_spec(&new, &self.pki).map_err(|e| format!("reload refused: {e}"))?)
            }
            _ => None,
        };
        let mut clients = BTreeMap::new();
        for (name, change) in &plan.clients {
            if matches!(change, ClientChange::Added | ClientChange::Changed(_)) {
                let entry = new
                    .interface
                    .ovpn_client
                    .iter()
                    .find(|c| !c.disabled && &c.name.value == name)
                    .ok_or_else(|| format!("reload refused: ovpn-client {name} vanished"))?;
                let spec =
                    client_spec(entry, &self.pki).map_err(|e| format!("reload refused: {e}"))?;
                clients.insert(name.clone(), spec);
            }
        }
        // New revocations on a server that keeps running: its new TLS settings (the
        // CRL) are built now too.
        let crl_in_place = if plan.revocations && self.server.is_some() {
            Some(server_spec(&new, &self.pki).map_err(|e| format!("reload refused: {e}"))?)
        } else {
            None
        };
        let before = self.registry.status().tunnels;
        let mut closed = before.iter().filter(|t| touched(&plan, t)).count();

        self.apply_server(&plan, server, &new).await;
        if let (Some(spec), Some(running)) = (crl_in_place, &self.server) {
            running.session.replace(spec.session.get());
            let gone = self
                .registry
                .close_serials(&revoked, "its certificate was revoked (CRL)");
            info!(
                "reload: the CRL revokes other certificates: new handshakes check against it; \
                 {} tunnel(s) of revoked certificates closed",
                gone.len()
            );
            closed += gone.len();
            for mut g in gone {
                let _ = tokio::time::timeout(GONE_WAIT, g.wait_for(|gone| *gone)).await;
            }
        }
        self.apply_clients(&plan, clients).await;
        if plan.dns {
            info!("reload: ip/dns servers changed; clients use them from their next attempt");
            self.dns.send_replace(new.ip.dns.servers.clone());
        }
        if plan.addresses && plan.server == ServerChange::Keep && self.server.is_some() {
            info!(
                "reload: interface addresses changed; a UDP server follows the kernel's \
                 addresses as they come and go"
            );
        }
        info!(
            "reload: {} tunnel(s) kept, {} closed or restarted",
            before.len() - closed,
            closed
        );
        self.config = new;
        self.revoked = revoked;
        self.crl = read_crl(&self.pki);
        Ok(())
    }

    /// Takes a CRL that was re-signed with the same revocations into the running
    /// server: handshakes from now on check against it, every tunnel is kept. (Other
    /// revocations are taken on reload, closing the tunnels they concern.)
    pub fn refresh_crl(&mut self) {
        let crl = read_crl(&self.pki);
        if crl == self.crl || self.pki.revoked_serials() != self.revoked {
            return;
        }
        if let Some(server) = &self.server {
            match server_spec(&self.config, &self.pki) {
                Ok(spec) => {
                    server.session.replace(spec.session.get());
                    info!(
                        "vpnd: CRL re-signed; new handshakes check against it, every tunnel kept"
                    );
                }
                Err(e) => {
                    warn!("vpnd: the re-signed CRL cannot be loaded: {e}");
                    return;
                }
            }
        }
        self.crl = crl;
    }

    /// Stops everything (interfaces removed).
    pub async fn stop(mut self) {
        let mut parts: Vec<Part> = self.clients.into_values().collect();
        parts.extend(self.server.take().map(|s| s.part));
        parts.extend(self.status.take());
        for p in &parts {
            let _ = p.stop.send(true);
        }
        for p in parts {
            p.stop().await;
        }
    }

    async fn apply_server(&mut self, plan: &Plan, spec: Option<ServerSpec>, new: &Config) {
        match &plan.server {
            ServerChange::Keep => {}
            ServerChange::Stop => {
                info!("reload: ovpn-server disabled: stopping it and its tunnels");
                if let Some(s) = self.server.take() {
                    s.part.stop().await;
                }
            }
            ServerChange::Start => info!("reload: ovpn-server enabled: starting it"),
            ServerChange::Restart(what) => {
                info!(
                    "reload: ovpn-server {} changed: restarting it and its tunnels",
                    what.join(", ")
                );
                if let Some(s) = self.server.take() {
                    s.part.stop().await;
                }
            }
        }
        if let Some(spec) = spec {
            self.server = Some(self.spawn_server(spec));
            return;
        }
        let Some(server) = &self.server else {
            return;
        };
        // The same server: logins from now on see the new accounts, then the tunnels
        // of accounts that changed or went are closed (their peers may log in again).
        server.accounts.replace(new);
        let mut gone = Vec::new();
        for (name, change) in &plan.secrets {
            let reason = match change {
                SecretChange::Added => {
                    info!("reload: secret {name} added: accepted from now on");
                    continue;
                }
                SecretChange::Removed => format!("secret {name} removed: disconnecting"),
                SecretChange::Disabled => format!("secret {name} disabled: disconnecting"),
                SecretChange::Changed(what) => format!(
                    "secret {name} changed ({}): restarting its tunnel",
                    what.join(", ")
                ),
            };
            match self.registry.close_account(name, &reason) {
                Some(g) => {
                    info!("reload: {reason}");
                    gone.push(g);
                }
                None => info!("reload: {reason} (no tunnel up)"),
            }
        }
        for mut g in gone {
            let _ = tokio::time::timeout(GONE_WAIT, g.wait_for(|gone| *gone)).await;
        }
    }

    async fn apply_clients(&mut self, plan: &Plan, mut specs: BTreeMap<String, ClientSpec>) {
        for (name, change) in &plan.clients {
            match change {
                ClientChange::Added => info!("reload: ovpn-client {name} added: starting it"),
                ClientChange::Removed => info!("reload: ovpn-client {name} removed: stopping it"),
                ClientChange::Changed(what) => info!(
                    "reload: ovpn-client {name} {} changed: restarting it",
                    what.join(", ")
                ),
            }
            if let Some(old) = self.clients.remove(name) {
                old.stop().await;
            }
            if let Some(spec) = specs.remove(name) {
                let part = self.spawn_client(spec);
                self.clients.insert(name.clone(), part);
            }
        }
    }

    fn spawn_server(&self, spec: ServerSpec) -> RunningServer {
        let accounts = spec.accounts.clone();
        let session = spec.session.clone();
        let (net, registry) = (self.net.clone(), self.registry.clone());
        let part = Part::spawn(|stop| async move {
            if let Err(e) = server::run(spec, net, registry, stop).await {
                error!("ovpn-server: {e}");
            }
        });
        RunningServer {
            part,
            accounts,
            session,
        }
    }

    fn spawn_client(&self, spec: ClientSpec) -> Part {
        let (net, registry, dns) = (
            self.net.clone(),
            self.registry.clone(),
            self.dns.subscribe(),
        );
        Part::spawn(|stop| client::run(spec, dns, net, registry, stop))
    }
}

/// The CRL's bytes (empty without one).
fn read_crl(pki: &Pki) -> Vec<u8> {
    std::fs::read(pki.crl_path()).unwrap_or_default()
}

/// Whether the plan closes the tunnel of status row `t`.
fn touched(plan: &Plan, t: &super::TunnelStatus) -> bool {
    if t.kind == "server" {
        plan.server != ServerChange::Keep
            || plan
                .secrets
                .iter()
                .any(|(n, c)| n == &t.user && *c != SecretChange::Added)
    } else {
        plan.clients.iter().any(|(n, _)| n == &t.name)
    }
}
