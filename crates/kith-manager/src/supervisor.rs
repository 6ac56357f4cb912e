//! `kith run`: load the config, set up interfaces, run the daemons, reload on SIGHUP, stop on SIGTERM.

use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use kith_config::{Config, Diagnostic, Loaded};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;
use tracing::{error, info, warn};

use crate::apply;
use crate::children::{ChildSpec, Children};
use crate::firewall;

/// Where `kith run` finds its config and keeps its runtime state.
#[derive(Clone, Debug)]
pub struct Options {
    /// The config to load (`/etc/kith/config.yaml`).
    pub config: PathBuf,
    /// Runtime state: the running config given to the daemons, pid file (`/run/kith`).
    pub run_dir: PathBuf,
    /// The multi-call binary whose subcommands are the daemons.
    pub kith_bin: PathBuf,
}

/// The daemons that exist today, in start order. Each is
/// `kith <name> --config <running> --run-dir <run-dir>` (its socket goes in the run dir).
pub const DAEMONS: &[&str] = &["routed", "bgpd", "vpnd"];

/// Name of the validated copy of the config that the daemons read.
pub const RUNNING_CONFIG: &str = "running.yaml";

/// Runs the supervisor until SIGTERM or SIGINT.
pub async fn run(opts: Options) -> Result<()> {
    let loaded = match kith_config::load_file(&opts.config) {
        Ok(loaded) => loaded,
        Err(diags) => {
            log_diagnostics(&diags);
            bail!(
                "{}: {} error(s); not starting",
                opts.config.display(),
                count_errors(&diags)
            );
        }
    };
    log_diagnostics(&loaded.warnings);
    let mut config = loaded.config;
    prepare_run_dir(&opts.run_dir)?;
    write_running_config(&opts.run_dir, &config)?;
    write_pid_file(&opts.run_dir)?;
    info!(
        "config {} loaded ({} warning(s))",
        opts.config.display(),
        loaded.warnings.len()
    );

    let net = kith_net::Net::new().context("cannot open rtnetlink")?;
    firewall::apply_firewall(&net, &config, &opts.config).await;
    apply::apply(&net, None, &config).await;

    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let (mut children, mut exits) = Children::new();
    for daemon in wanted_daemons(&config) {
        children.start(child_spec(&opts, daemon));
    }

    loop {
        let restart_at = children.next_restart().map(Instant::from_std);
        tokio::select! {
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => {
                if let Some(new) = reload(&opts).await {
                    firewall::apply_firewall(&net, &new, &opts.config).await;
                    apply::apply(&net, Some(&config), &new).await;
                    config = new;
                    children.reload_all(&opts.run_dir).await;
                    sync_daemons(&opts, &mut children, &config).await;
                }
            }
            Some(exit) = exits.recv() => children.handle_exit(exit),
            _ = sleep_until(restart_at) => children.restart_due(),
        }
    }
    children.stop_all().await;
    let _ = std::fs::remove_file(opts.run_dir.join("kith.pid"));
    info!("stopped");
    Ok(())
}

/// Loads the config again; a config with errors is rejected and `None` returned.
async fn reload(opts: &Options) -> Option<Config> {
    info!("SIGHUP: reloading {}", opts.config.display());
    match kith_config::load_file(&opts.config) {
        Ok(Loaded { config, warnings }) => {
            log_diagnostics(&warnings);
            if let Err(err) = write_running_config(&opts.run_dir, &config) {
                error!("reload rejected: {err:#}; keeping the running config");
                return None;
            }
            info!("reload accepted ({} warning(s))", warnings.len());
            Some(config)
        }
        Err(diags) => {
            log_diagnostics(&diags);
            error!(
                "reload rejected: {} error(s) in {}; keeping the running config",
                count_errors(&diags),
                opts.config.display()
            );
            None
        }
    }
}

/// Starts daemons the new config needs and stops those it no longer needs.
async fn sync_daemons(opts: &Options, children: &mut Children, config: &Config) {
    let wanted = wanted_daemons(config);
    for running in children.daemons() {
        if !wanted.contains(&running.as_str()) {
            info!("{running} is no longer needed by the config");
            children.stop(&running).await;
        }
    }
    let running = children.daemons();
    for daemon in wanted {
        if !running.iter().any(|r| r == daemon) {
            children.start(child_spec(opts, daemon));
        }
    }
}

/// The daemons a config needs. `routed` owns `ip/route` and always runs.
pub fn wanted_daemons(config: &Config) -> Vec<&'static str> {
    let bgp = !config.routing.bgp.instance.is_empty();
    let vpn = config.interface.ovpn_server.server.enabled
        || config.interface.ovpn_client.iter().any(|c| !c.disabled);
    DAEMONS
        .iter()
        .copied()
        .filter(|d| *d != "bgpd" || bgp)
        .filter(|d| *d != "vpnd" || vpn)
        .collect()
}

fn child_spec(opts: &Options, daemon: &str) -> ChildSpec {
    ChildSpec {
        daemon: daemon.to_string(),
        program: opts.kith_bin.clone(),
        args: vec![
            daemon.to_string(),
            "--config".to_string(),
            opts.run_dir.join(RUNNING_CONFIG).display().to_string(),
            "--run-dir".to_string(),
            opts.run_dir.display().to_string(),
        ],
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn prepare_run_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Writes the validated config for the daemons: mode 0600, it holds secrets.
fn write_running_config(dir: &Path, config: &Config) -> Result<()> {
    let path = dir.join(RUNNING_CONFIG);
    let tmp = dir.join(format!("{RUNNING_CONFIG}.tmp"));
    let text = kith_config::export(config);
    {
        use std::io::Write;
        let _ = std::fs::remove_file(&tmp);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
}

fn write_pid_file(dir: &Path) -> Result<()> {
    let path = dir.join("kith.pid");
    std::fs::write(&path, format!("{}\n", std::process::id()))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn count_errors(diags: &[Diagnostic]) -> usize {
    diags
        .iter()
        .filter(|d| d.severity == kith_config::Severity::Error)
        .count()
}

fn log_diagnostics(diags: &[Diagnostic]) {
    for diag in diags {
        match diag.severity {
            kith_config::Severity::Error => error!("{diag}"),
            kith_config::Severity::Warning => warn!("{diag}"),
        }
    }
}
