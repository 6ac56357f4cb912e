//! `kith bench fw`: load + compile + apply time of 1,000 and 10,000 generated rules,
//! beside `nft -f` of the same ruleset text alone, in a namespace of its own.

use std::process::ExitCode;

use anyhow::{Context, Result};
use kith_net::testns::TestNetns;

/// Options of `kith bench fw`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Rule counts to measure.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    rules: Vec<usize>,
    /// Measured runs per size (after one warm-up run); the table shows medians.
    #[arg(long, default_value_t = 5)]
    runs: usize,
}

/// Runs the benchmark in a network namespace it creates and removes.
pub fn run(args: Args) -> Result<ExitCode> {
    let ns = TestNetns::new("bench-fw").context("kith bench fw needs root")?;
    let scratch = std::env::temp_dir();
    println!(
        "kith bench fw: {} run(s) per size after a warm-up, medians; namespace {}",
        args.runs,
        ns.name()
    );
    let rows = kith_fw::bench::run(&args.rules, args.runs.max(1), ns.name(), &scratch)?;
    print!("{}", kith_fw::bench::table(&rows));
    println!(
        "kith = load (YAML parse + validation) + compile (to nft text) + apply (nft -f - via kith-fw);"
    );
    println!(
        "compiler = (load + compile) / nft -f; overhead = kith / nft -f - 1. Target: under 10 %."
    );
    Ok(ExitCode::SUCCESS)
}
