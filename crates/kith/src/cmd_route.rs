//! `kith route print`: the static route daemon's status as a RouterOS-style table.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// `kith route ...`.
#[derive(Subcommand, Debug)]
pub enum RouteCommand {
    /// Print routes like `/ip route print detail`: flags, destination, gateway, distance,
    /// gateway state and last probe round-trip time (from the running `kith routed`).
    Print {
        /// Runtime state directory of the running `kith run` (its routed.sock).
        #[arg(long, default_value = crate::DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
        /// Print the JSON of `GET /status` instead of the table.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `kith route` subcommand.
pub fn run(command: RouteCommand) -> Result<ExitCode> {
    match command {
        RouteCommand::Print { run_dir, json } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let socket = kith_route::server::socket_path(&run_dir);
            let status = runtime.block_on(kith_route::server::fetch_status(&socket))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", kith_route::status::render(&status));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
