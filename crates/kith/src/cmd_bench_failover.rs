//! `kith bench failover`: how long traffic stops when the primary gateway dies.

use std::process::ExitCode;

use anyhow::{Result, bail};

/// Options of `kith bench failover`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs the benchmark.
pub fn run(_args: Args) -> Result<ExitCode> {
    bail!("kith bench failover: not built yet")
}
