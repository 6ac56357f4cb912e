//! `kith vpnd`: loads the config, runs the server and clients, serves the status, keeps
//! the CRL fresh and warns before certificates expire. SIGTERM/SIGINT stop it; SIGHUP
//! reloads the config in place (only the tunnels a change concerns are restarted; see
//! [`crate::reload`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

use crate::io::Registry;
use crate::io::runtime::Runtime;
use crate::pki::Pki;

/// How often the CRL and expiry dates are checked.
const PKI_CHECK: Duration = Duration::from_secs(12 * 3600);

/// Options of `kith vpnd`.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config file.
    pub config: PathBuf,
    /// Runtime directory (`vpnd.sock` goes there).
    pub run_dir: Option<PathBuf>,
    /// The PKI directory.
    pub pki_dir: PathBuf,
}

/// Runs vpnd until SIGTERM or SIGINT.
pub async fn run(opts: Options) -> Result<(), String> {
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let config = load(&opts.config)?;
    let registry = Arc::new(Registry::default());
    let socket = opts.run_dir.as_ref().map(|d| d.join("vpnd.sock"));
    let mut runtime = Runtime::start(config, &opts.pki_dir, socket, registry).await?;
    let mut pki_check = tokio::time::interval(PKI_CHECK);
    loop {
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
            _ = sighup.recv() => match load(&opts.config) {
                Ok(new) => {
                    if let Err(e) = runtime.reload(new).await {
                        error!("vpnd: {e}; keeping the running config");
                    }
                }
                Err(e) => error!("vpnd: reload refused, keeping the running config: {e}"),
            },
            _ = pki_check.tick() => {
                maintain_pki(&opts.pki_dir);
                runtime.refresh_crl();
            }
        }
    }
    runtime.stop().await;
    info!("vpnd: stopped");
    Ok(())
}

fn load(path: &Path) -> Result<kith_config::Config, String> {
    kith_config::load_file(path).map(|l| l.config).map_err(|d| {
        format!(
            "{}: {} error(s): {:?}",
            path.display(),
            d.len(),
            d.first().map(|x| x.to_string())
        )
    })
}

/// Re-signs the CRL when due and logs what expires soon.
pub fn maintain_pki(dir: &Path) {
    let pki = Pki::open(dir);
    if !pki.exists() {
        return;
    }
    match pki.maintain_crl() {
        Ok(true) => info!("pki: CRL re-signed"),
        Ok(false) => {}
        Err(e) => warn!("pki: cannot re-sign the CRL: {e}"),
    }
    match pki.expiry_warnings() {
        Ok(lines) => {
            for l in lines {
                warn!("pki: {l}");
            }
        }
        Err(e) => warn!("pki: {e}"),
    }
}
