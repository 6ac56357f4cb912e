//! `kith fw`: compiles the firewall part of a Kith config (interface lists, address
//! lists, `ip/firewall/filter`, `nat`, `mangle`, `ipv6/firewall/filter`, and the MSS
//! clamp of tunnels) into one nftables ruleset, and applies it atomically.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let loaded = kith_config::load_file("/etc/kith/config.yaml".as_ref()).map_err(|_| "config")?;
//! let compiled = kith_fw::compile(&loaded.config, &kith_fw::Options::default())
//!     .map_err(|_| "compile")?;
//! print!("{}", compiled.ruleset);                   // what `kith fw show` prints
//! kith_fw::Nft::new().apply(&compiled.ruleset.to_string())?; // all of it, or nothing
//! # Ok(()) }
//! ```
//!
//! Rules keep RouterOS order and meaning (see `docs/firewall.md` for the mapping and what
//! is not supported yet). Interfaces are matched by kernel name (`iifname`), interface
//! lists are sets of names, so a tunnel that comes and goes is matched without a
//! recompile. The ruleset replaces only Kith's own tables ([`OWNED_TABLES`]); `nft`
//! applies it as one transaction, so a ruleset the kernel refuses leaves the previous
//! one in place. The same config always gives the same text, so applying it again
//! changes nothing.

pub mod bench;
mod compile;
mod error;
mod names;
mod nft;
mod nics;
mod ruleset;

use std::time::{Duration, Instant};

use kith_config::Config;
use tracing::info;

pub use compile::{Compiled, Options, compile};
pub use error::{ApplyError, CompileError, CompileWarning};
pub use names::{InterfaceNames, address_list_set, address_list6_set, ident, interface_list_set};
pub use nft::{DEFAULT_TIMEOUT, Nft, NftOutput};
pub use nics::nics;
pub use ruleset::{
    Chain, FILTER_TABLE, Family, Hook, MANGLE_TABLE, NAT_TABLE, OWNED_TABLES, Ruleset, Set,
    SetType, Table, TableId,
};

/// Why a config's firewall is not in place.
#[derive(Debug, thiserror::Error)]
pub enum FwError {
    /// The config has rules the compiler cannot translate.
    #[error("{} error(s) in the firewall rules", .0.len())]
    Compile(Vec<CompileError>),
    /// nft or the kernel refused the ruleset (or could not run).
    #[error(transparent)]
    Apply(#[from] ApplyError),
}

/// What [`compile_and_apply`] did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The ruleset now in place.
    pub ruleset: Ruleset,
    /// The compiler's warnings.
    pub warnings: Vec<CompileWarning>,
    /// How long compiling took.
    pub compile_time: Duration,
    /// How long `nft` took.
    pub apply_time: Duration,
}

/// Compiles `config`'s firewall and applies it with `nft`; logs what was applied (the
/// warnings are returned, for the caller to show with the file name). On any error the
/// ruleset in place before stays in place.
///
/// # Errors
/// The compile errors (with config locations), or why nft did not apply the ruleset.
pub fn compile_and_apply(
    config: &Config,
    options: &Options,
    nft: &Nft,
) -> Result<Applied, FwError> {
    let start = Instant::now();
    let compiled = compile(config, options).map_err(FwError::Compile)?;
    let compile_time = start.elapsed();
    let text = compiled.ruleset.to_string();
    let start = Instant::now();
    nft.apply(&text)?;
    let apply_time = start.elapsed();
    info!(
        "firewall applied: {} rules in {} ({} ms)",
        compiled.ruleset.rule_count(),
        compiled
            .ruleset
            .tables
            .iter()
            .map(|t| format!("table {}", t.id))
            .collect::<Vec<_>>()
            .join(", "),
        (compile_time + apply_time).as_millis()
    );
    Ok(Applied {
        ruleset: compiled.ruleset,
        warnings: compiled.warnings,
        compile_time,
        apply_time,
    })
}
