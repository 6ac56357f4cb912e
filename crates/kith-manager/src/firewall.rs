//! Applies the firewall part of the config (`kith fw`): compile, then one atomic nft
//! transaction. A failure is logged and the ruleset in place stays.

use std::path::Path;

use kith_config::Config;
use kith_fw::{FwError, Nft, Options};
use kith_net::Net;
use tracing::{error, warn};

/// Compiles `config`'s firewall and applies it; `file` names the config in messages.
pub async fn apply_firewall(net: &Net, config: &Config, file: &Path) {
    let nics = match kith_fw::nics(net).await {
        Ok(nics) => nics,
        Err(err) => {
            warn!(
                "firewall: cannot list the NICs ({err}); ethernet entries bound by mac-address match nothing"
            );
            Default::default()
        }
    };
    let config = config.clone();
    let name = file.display().to_string();
    let result = tokio::task::spawn_blocking(move || {
        kith_fw::compile_and_apply(&config, &Options { nics }, &Nft::new())
    })
    .await;
    match result {
        // compile_and_apply logs the rules applied.
        Ok(Ok(applied)) => {
            for warning in &applied.warnings {
                warn!("{}", warning.to_diagnostic(&name));
            }
        }
        Ok(Err(FwError::Compile(errors))) => {
            for err in &errors {
                error!("{}", err.to_diagnostic(&name));
            }
            error!(
                "firewall not applied: {} error(s); the ruleset in place stays",
                errors.len()
            );
        }
        Ok(Err(FwError::Apply(err))) => error!("firewall not applied: {err}"),
        Err(err) => error!("firewall not applied: {err}"),
    }
}
