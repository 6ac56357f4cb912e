//! `kith routed`: installs the config's static routes (`ip/route`, `ipv6/route`) into the
//! kernel with protocol `static` and the distance-ordered metric of DESIGN.md, keeps them
//! there (reinstalls what disappears, e.g. when a link comes back), and removes its own
//! routes that the config no longer has.
//!
//! Not yet here (issue 4): `check-gateway=ping` probing and failover, ECMP, named
//! routing tables. Such entries are logged, never silently dropped.

mod plan;
mod reconcile;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use futures::StreamExt;
use kith_config::Config;
use kith_net::{EventGroup, Net};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

pub use plan::{StaticRoute, Via, static_routes};
pub use reconcile::Reconciler;

/// How often the kernel is compared with the config even without any event.
const RESYNC_EVERY: Duration = Duration::from_secs(5);
/// Events come in bursts (a link going up adds addresses and routes): wait this long.
const EVENT_SETTLE: Duration = Duration::from_millis(100);

/// Runs the daemon until SIGTERM/SIGINT; SIGHUP reloads the config file.
pub async fn run(config_path: PathBuf) -> Result<()> {
    let mut config = load(&config_path)?;
    let net = Net::new()?;
    if let Err(err) = kith_net::set_ignore_routes_with_linkdown("all", true) {
        warn!("cannot set ignore_routes_with_linkdown: {err}");
    }
    let mut events = kith_net::subscribe(&[
        EventGroup::Link,
        EventGroup::Ipv4Address,
        EventGroup::Ipv6Address,
        EventGroup::Ipv4Route,
        EventGroup::Ipv6Route,
    ])?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut reconciler = Reconciler::default();
    reconciler.set_config(&config);
    reconciler.sync(&net).await;
    info!(
        "routed: {} static route(s) configured",
        reconciler.wanted().len()
    );
    let mut resync = tokio::time::interval(RESYNC_EVERY);
    loop {
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => {
                match kith_config::load_file(&config_path) {
                    Ok(loaded) => {
                        config = loaded.config;
                        reconciler.set_config(&config);
                        info!("routed: config reloaded, {} static route(s)", reconciler.wanted().len());
                        reconciler.sync(&net).await;
                    }
                    Err(diags) => {
                        for d in &diags { error!("{d}"); }
                        error!("routed: reload rejected; keeping the running routes");
                    }
                }
            }
            event = events.next() => {
                if event.is_none() {
                    bail!("netlink event stream ended");
                }
                tokio::time::sleep(EVENT_SETTLE).await;
                reconciler.sync(&net).await;
            }
            _ = resync.tick() => reconciler.sync(&net).await,
        }
    }
    info!("routed: stopping, removing its routes");
    reconciler.remove_all(&net).await;
    Ok(())
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
