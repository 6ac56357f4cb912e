//! The daemon loop: signals, netlink events, probe timers and answers; the only place
//! that sequences I/O. Decisions are made in `plan`, `probe::fsm` and `reconcile`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use kith_config::Config;
use kith_net::{EventGroup, Net, NetEvent};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tracing::{debug, error, info, trace, warn};

use crate::plan::{StaticRoute, static_routes};
use crate::probe::socket::{Pinger, Reply};
use crate::probe::{Action, ProbeKey, Probers};
use crate::reconcile::{Placement, Reconciler};
use crate::resolve::{Interfaces, Link};
use crate::rpfilter::{RpFilter, loose_interfaces};
use crate::server;
use crate::status::{self, GatewayStatus, Status};

/// How often the kernel is compared with the config even without any event.
const RESYNC_EVERY: Duration = Duration::from_secs(5);
/// Events come in bursts (a link going up adds addresses and routes): wait this long.
const EVENT_SETTLE: Duration = Duration::from_millis(50);

/// What `kith routed` is started with.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config (the supervisor's validated running copy).
    pub config: PathBuf,
    /// Where the status socket goes (`routed.sock`); none when not given.
    pub run_dir: Option<PathBuf>,
}

/// What the status server reads.
#[derive(Default)]
struct Shared {
    routes: Vec<StaticRoute>,
    gateways: Vec<GatewayStatus>,
}

/// The probe socket of one gateway and the interface it is bound to.
#[derive(Default)]
struct Slot {
    link: Option<Link>,
    pinger: Option<Pinger>,
    problem: Option<String>,
}

struct Daemon {
    net: Net,
    reconciler: Reconciler,
    probers: Probers,
    slots: HashMap<ProbeKey, Slot>,
    replies: mpsc::UnboundedSender<Reply>,
    loose: BTreeMap<String, String>,
    rp_filter: RpFilter,
    shared: Arc<Mutex<Shared>>,
    /// Where the routes were after the last pass, to say what changed.
    placements: Vec<(StaticRoute, Placement)>,
}

/// Runs the daemon until SIGTERM/SIGINT; SIGHUP reloads the config file.
pub async fn run(opts: Options) -> Result<()> {
    // Signal handlers first, before the status socket that tells the supervisor this
    // daemon is ready for a SIGHUP (an early SIGHUP must not kill it).
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let config = load(&opts.config)?;
    let net = Net::new()?;
    for scope in ["all", "default"] {
        if let Err(err) = kith_net::set_ignore_routes_with_linkdown(scope, true) {
            warn!("cannot set ignore_routes_with_linkdown: {err}");
        }
    }
    let mut events = kith_net::subscribe(&EventGroup::ALL)?;
    let (replies_tx, mut replies) = mpsc::unbounded_channel();
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut d = Daemon {
        net: net.clone(),
        reconciler: Reconciler::default(),
        probers: Probers::default(),
        slots: HashMap::new(),
        replies: replies_tx,
        loose: BTreeMap::new(),
        rp_filter: RpFilter::default(),
        shared: Arc::clone(&shared),
        placements: Vec::new(),
    };
    d.set_config(&config);
    let socket = match &opts.run_dir {
        Some(dir) => Some(start_status_server(dir, net.clone(), Arc::clone(&shared))?),
        None => None,
    };
    d.sync().await;
    info!(
        "routed: {} static route(s) configured, {} gateway(s) probed",
        d.reconciler.wanted().len(),
        d.probers.iter().count()
    );
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    let mut sync_at: Option<Instant> = None;
    loop {
        let probe_at = d.probers.next_deadline();
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => {
                match kith_config::load_file(&opts.config) {
                    Ok(loaded) => {
                        d.set_config(&loaded.config);
                        info!("routed: config reloaded, {} static route(s)", d.reconciler.wanted().len());
                        d.sync().await;
                    }
                    Err(diags) => {
                        for diag in &diags { error!("{diag}"); }
                        error!("routed: reload rejected; keeping the running routes");
                    }
                }
            }
            Some(reply) = replies.recv() => {
                trace!("gateway {}: answer to probe {}", reply.key.gateway, reply.seq);
                let actions = d.probers.on_reply(reply.key, reply.seq, reply.at);
                let batch = actions.into_iter().map(|a| (reply.key, a)).collect();
                d.after_actions(batch).await;
            }
            _ = sleep_until(probe_at) => d.probe(Instant::now()).await,
            event = events.next() => {
                let Some(event) = event else { bail!("netlink event stream ended") };
                if let NetEvent::Overrun = &event {
                    debug!("netlink events overran; resynchronising");
                }
                sync_at.get_or_insert_with(|| Instant::now() + EVENT_SETTLE);
            }
            _ = sleep_until(sync_at) => {
                sync_at = None;
                d.sync().await;
            }
            _ = resync.tick() => d.sync().await,
        }
        d.publish();
    }
    info!("routed: stopping, removing its routes");
    d.reconciler.remove_all(&net).await;
    if let Some(path) = socket {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

fn start_status_server(dir: &Path, net: Net, shared: Arc<Mutex<Shared>>) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = server::socket_path(dir);
    let listener =
        server::bind(&path).with_context(|| format!("cannot listen on {}", path.display()))?;
    let source: server::StatusSource = Arc::new(move || {
        let net = net.clone();
        let shared = Arc::clone(&shared);
        Box::pin(async move { current_status(&net, &shared).await })
    });
    tokio::spawn(server::serve(listener, source));
    info!("routed: status on {}", path.display());
    Ok(path)
}

async fn current_status(net: &Net, shared: &Mutex<Shared>) -> Status {
    let (routes, gateways) = match shared.lock() {
        Ok(s) => (s.routes.clone(), s.gateways.clone()),
        Err(poisoned) => {
            let s = poisoned.into_inner();
            (s.routes.clone(), s.gateways.clone())
        }
    };
    let kernel = match net.routes(&kith_net::RouteFilter::default()).await {
        Ok(r) => r,
        Err(err) => {
            warn!("status: cannot read the kernel's routes: {err}");
            Vec::new()
        }
    };
    let interfaces = Interfaces::read(net).await.unwrap_or_default();
    status::build(&routes, gateways, &kernel, &interfaces)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

fn load(path: &Path) -> Result<Config> {
    match kith_config::load_file(path) {
        Ok(loaded) => Ok(loaded.config),
        Err(diags) => {
            for d in &diags {
                error!("{d}");
            }
            bail!("{}: the config has errors", path.display())
        }
    }
}

impl Daemon {
    fn set_config(&mut self, config: &Config) {
        let (routes, notes) = static_routes(config);
        for note in notes {
            warn!("{note}");
        }
        for note in self.reconciler.set_routes(routes) {
            warn!("{note}");
        }
        let wanted: Vec<ProbeKey> = self
            .reconciler
            .wanted()
            .iter()
            .filter(|r| !r.disabled)
            .flat_map(|r| {
                r.probed()
                    .filter_map(|gateway| r.check.map(|settings| ProbeKey { gateway, settings }))
            })
            .collect();
        let (_, removed) = self.probers.set_wanted(wanted, Instant::now());
        for key in removed {
            self.slots.remove(&key);
        }
        self.loose = loose_interfaces(config);
    }

    fn down(&self) -> HashSet<ProbeKey> {
        self.probers
            .iter()
            .filter(|(_, fsm)| !fsm.usable())
            .map(|(k, _)| *k)
            .collect()
    }

    /// A full pass: interfaces, rp_filter, probe sockets, kernel routes.
    async fn sync(&mut self) {
        let interfaces = match Interfaces::read(&self.net).await {
            Ok(i) => i,
            Err(err) => {
                warn!("cannot read the interfaces: {err}");
                return;
            }
        };
        self.rp_filter.apply(&self.loose, &interfaces);
        self.refresh_pingers(&interfaces);
        let down = self.down();
        self.reconciler.sync(&self.net, &interfaces, &down).await;
        self.placements = self.reconciler.placements(&interfaces, &down);
    }

    /// Opens, rebinds or closes each gateway's probe socket to match its interface now.
    fn refresh_pingers(&mut self, interfaces: &Interfaces) {
        let keys: Vec<ProbeKey> = self.probers.iter().map(|(k, _)| *k).collect();
        for key in keys {
            let link = interfaces.for_gateway(key.gateway);
            let slot = self.slots.entry(key).or_default();
            let alive = slot.pinger.as_ref().is_some_and(Pinger::is_alive);
            if slot.link == link && (alive || link.is_none()) && slot.problem.is_none() {
                continue;
            }
            slot.pinger = None;
            slot.link = link.clone();
            let Some(link) = link else {
                let problem = format!(
                    "gateway {}: no interface has an address on its network; probes count as lost",
                    key.gateway
                );
                if slot.problem.as_ref() != Some(&problem) {
                    warn!("{problem}");
                    slot.problem = Some(problem);
                }
                continue;
            };
            match Pinger::open(key, Some((&link.name, link.index)), self.replies.clone()) {
                Ok(pinger) => {
                    debug!(
                        "gateway {}: probing via {} every {:?} ({:?} socket)",
                        key.gateway,
                        link.name,
                        key.settings.interval,
                        pinger.kind()
                    );
                    slot.pinger = Some(pinger);
                    slot.problem = None;
                }
                Err(err) => {
                    let problem = format!(
                        "gateway {}: cannot probe via {}: {err}",
                        key.gateway, link.name
                    );
                    if slot.problem.as_ref() != Some(&problem) {
                        warn!("{problem}");
                        slot.problem = Some(problem);
                    }
                }
            }
        }
    }

    /// Probe timers: expire and send.
    async fn probe(&mut self, now: Instant) {
        let mut batch: Vec<(ProbeKey, Action)> = Vec::new();
        for (key, action) in self.probers.poll(now) {
            match action {
                Action::Send { seq } => {
                    trace!("gateway {}: probe {seq}", key.gateway);
                    let sent = match self.slots.get(&key).and_then(|s| s.pinger.as_ref()) {
                        Some(pinger) => pinger.send(seq).map_err(|e| e.to_string()),
                        None => Err("no probe socket".to_owned()),
                    };
                    if let Err(err) = sent {
                        debug!("gateway {}: probe {seq} not sent: {err}", key.gateway);
                        let actions = self.probers.on_send_error(key, seq, now);
                        batch.extend(actions.into_iter().map(|a| (key, a)));
                    }
                }
                other => batch.push((key, other)),
            }
        }
        self.after_actions(batch).await;
    }

    /// Applies reachability changes to the kernel (one pass for the whole batch) and logs
    /// each in the user's words, with the routes of that gateway that changed.
    async fn after_actions(&mut self, batch: Vec<(ProbeKey, Action)>) {
        let batch: Vec<(ProbeKey, Action)> = batch
            .into_iter()
            .filter(|(_, a)| !matches!(a, Action::Send { .. }))
            .collect();
        if batch.is_empty() {
            return;
        }
        let before = self.placements.clone();
        self.sync().await;
        for (key, action) in batch {
            let via = self
                .slots
                .get(&key)
                .and_then(|s| s.link.as_ref())
                .map(|l| format!(" via {}", l.name))
                .unwrap_or_default();
            match action {
                Action::Send { .. } => {}
                Action::Unreachable { lost } => self.log_change(
                    &before,
                    key,
                    &format!("gateway {} unreachable ({lost} probes lost)", key.gateway),
                ),
                Action::Reachable {
                    answered,
                    rtt,
                    recovered,
                } => {
                    let rtt = format!("{:.2} ms", rtt.as_secs_f64() * 1000.0);
                    if recovered {
                        let what = if answered == 1 {
                            "1 probe answered".to_owned()
                        } else {
                            format!("{answered} probes answered")
                        };
                        self.log_change(
                            &before,
                            key,
                            &format!(
                                "gateway {} reachable again{via} ({what}, rtt {rtt})",
                                key.gateway
                            ),
                        );
                    } else {
                        info!("gateway {} reachable{via} (rtt {rtt})", key.gateway);
                    }
                }
            }
        }
        self.publish();
    }

    /// `gateway X unreachable (2 probes lost): route 192.168.42.0/24 distance 10 withdrawn`,
    /// one line per route through `key`'s gateway whose placement changed.
    fn log_change(&self, before: &[(StaticRoute, Placement)], key: ProbeKey, what: &str) {
        let mut said = false;
        for (route, now) in &self.placements {
            let uses = route.check == Some(key.settings)
                && route
                    .gateways
                    .contains(&crate::plan::Via::Address(key.gateway));
            let was = before.iter().find(|(r, _)| r == route).map(|(_, p)| p);
            if !uses || was == Some(now) {
                continue;
            }
            let effect = match now {
                Placement::Withdrawn => "withdrawn".to_owned(),
                Placement::Installed(gws)
                    if was == Some(&Placement::Withdrawn) || was.is_none() =>
                {
                    format!("restored via {}", gws.join(","))
                }
                Placement::Installed(gws) => format!("now via {}", gws.join(",")),
            };
            let line = format!("{what}: route {} {effect}", route.short());
            if matches!(now, Placement::Withdrawn) {
                warn!("{line}");
            } else {
                info!("{line}");
            }
            said = true;
        }
        if !said {
            info!("{what}");
        }
    }

    fn publish(&self) {
        let names: HashMap<ProbeKey, String> = self
            .slots
            .iter()
            .filter_map(|(k, s)| s.link.as_ref().map(|l| (*k, l.name.clone())))
            .collect();
        let gateways = status::gateways(&self.probers, &names, Instant::now());
        let routes = self.reconciler.wanted().to_vec();
        match self.shared.lock() {
            Ok(mut s) => {
                s.routes = routes;
                s.gateways = gateways;
            }
            Err(poisoned) => {
                let mut s = poisoned.into_inner();
                s.routes = routes;
                s.gateways = gateways;
            }
        }
    }
}
