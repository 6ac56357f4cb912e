//! `kith fw show` and `kith fw apply`: the firewall compiled from a config, printed or
//! applied to the kernel as one nftables transaction.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use clap::Subcommand;
use kith_config::Config;
use kith_fw::{Nft, Options};

/// `kith fw ...`.
#[derive(Subcommand, Debug)]
pub enum FwCommand {
    /// Print the nftables ruleset compiled from a config: exactly what `apply` loads
    /// (`kith fw show | nft -f -` does the same). Errors go to stderr as FILE:LINE:COL.
    Show {
        /// The config file (default /etc/kith/config.yaml).
        #[arg(default_value = crate::DEFAULT_CONFIG)]
        file: PathBuf,
    },
    /// Compile a config's firewall and apply it as one transaction: Kith's tables
    /// (inet kith, ip kith-nat, ip kith-mangle) are replaced, no other table is touched;
    /// on any error the ruleset in place stays. Needs root.
    Apply {
        /// The config file (default /etc/kith/config.yaml).
        #[arg(default_value = crate::DEFAULT_CONFIG)]
        file: PathBuf,
        /// Only ask the kernel whether it takes the ruleset (`nft -c`); change nothing. The
        /// kernel checks NAT hooks and jump loops only at a real commit.
        #[arg(long)]
        check: bool,
    },
}

/// Runs a `kith fw` command.
pub fn run(command: FwCommand) -> Result<ExitCode> {
    match command {
        FwCommand::Show { file } => show(&file),
        FwCommand::Apply { file, check } => apply(&file, check),
    }
}

fn show(file: &Path) -> Result<ExitCode> {
    let Some(config) = load(file) else {
        return Ok(ExitCode::FAILURE);
    };
    match kith_fw::compile(&config, &Options::default()) {
        Ok(compiled) => {
            print_warnings(file, &compiled.warnings);
            print!("{}", compiled.ruleset);
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            print_errors(file, &errors);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn apply(file: &Path, check: bool) -> Result<ExitCode> {
    let Some(config) = load(file) else {
        return Ok(ExitCode::FAILURE);
    };
    let options = Options {
        nics: kernel_nics(),
    };
    let start = Instant::now();
    let compiled = match kith_fw::compile(&config, &options) {
        Ok(compiled) => compiled,
        Err(errors) => {
            print_errors(file, &errors);
            eprintln!(
                "{}: firewall not applied; the ruleset in place stays",
                file.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    print_warnings(file, &compiled.warnings);
    let text = compiled.ruleset.to_string();
    let rules = compiled.ruleset.rule_count();
    let nft = Nft::new();
    if check {
        nft.check(&text)?;
        println!(
            "{}: the kernel takes the ruleset ({rules} rules); nothing changed",
            file.display()
        );
    } else {
        nft.apply(&text)?;
        println!(
            "{}: firewall applied, {rules} rules in {} ms",
            file.display(),
            start.elapsed().as_millis()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the config, printing its diagnostics; `None` when it has errors.
fn load(file: &Path) -> Option<Config> {
    match kith_config::load_file(file) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            Some(loaded.config)
        }
        Err(diags) => {
            for diag in &diags {
                eprintln!("{diag}");
            }
            None
        }
    }
}

/// The NICs by MAC address, for ethernet entries bound by `mac-address`; empty (with a
/// note) when the kernel's links cannot be read.
fn kernel_nics() -> std::collections::BTreeMap<kith_config::MacAddress, String> {
    let read = || -> Result<_> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let net = kith_net::Net::new()?;
            Ok(kith_fw::nics(&net).await?)
        })
    };
    read().unwrap_or_else(|err| {
        eprintln!("kith fw: cannot list the NICs ({err:#}); ethernet entries bound by mac-address match nothing");
        Default::default()
    })
}

fn print_errors(file: &Path, errors: &[kith_fw::CompileError]) {
    let name = file.display().to_string();
    for error in errors {
        eprintln!("{}", error.to_diagnostic(&name));
    }
}

fn print_warnings(file: &Path, warnings: &[kith_fw::CompileWarning]) {
    let name = file.display().to_string();
    for warning in warnings {
        eprintln!("{}", warning.to_diagnostic(&name));
    }
}
