//! `kith bgpd` (the BGP daemon's entry point) and `kith bgp peers|routes` (its status as
//! RouterOS-style tables, read from `<run-dir>/bgpd.sock`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// `kith bgp ...`.
#[derive(Subcommand, Debug)]
pub enum BgpCommand {
    /// Sessions: state, uptime, prefixes received/accepted/advertised, last error.
    Peers {
        /// Runtime state directory of the running `kith run` (its bgpd.sock).
        #[arg(long, default_value = crate::DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
        /// Print the JSON of `GET /status` instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Routes like `/ip route print detail where bgp` (filtered ones flagged F).
    Routes {
        /// Runtime state directory of the running `kith run` (its bgpd.sock).
        #[arg(long, default_value = crate::DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
        /// Print the JSON of `GET /status` instead of the table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `kith bgpd`.
pub async fn daemon(
    config: PathBuf,
    run_dir: Option<PathBuf>,
    port: u16,
    install_routes: bool,
) -> Result<()> {
    let opts = kith_bgp::Options {
        config: Some(config),
        run_dir,
        port,
        install_routes,
    };
    kith_bgp::run(opts).await?;
    Ok(())
}

/// Runs a `kith bgp` subcommand.
pub fn run(command: BgpCommand) -> Result<ExitCode> {
    let (run_dir, json, routes) = match command {
        BgpCommand::Peers { run_dir, json } => (run_dir, json, false),
        BgpCommand::Routes { run_dir, json } => (run_dir, json, true),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let status = if routes {
        runtime.block_on(kith_bgp::status::fetch(&run_dir))?
    } else {
        runtime.block_on(kith_bgp::status::fetch_peers(&run_dir))?
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else if routes {
        print!("{}", kith_bgp::status::routes_detail(&status));
    } else {
        print!("{}", kith_bgp::status::peers_table(&status));
    }
    Ok(ExitCode::SUCCESS)
}
