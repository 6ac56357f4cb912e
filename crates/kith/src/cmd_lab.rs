//! `kith lab ...`: network-namespace labs, the demo and the test harness (crate kith-lab).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;
use kith_lab::cli::{self, DEFAULT_LAB_NAME, UpOptions};

#[derive(Subcommand, Debug)]
pub enum LabCommand {
    /// Build a topology and start `kith run` in each router. Without FILE: the embedded
    /// scenario (home, remi, isp1, isp2, a NAS behind each router). Stays in the
    /// foreground until Ctrl-C, then removes everything (unless --detach).
    Up {
        /// A topology YAML file (default: the embedded scenario).
        file: Option<PathBuf>,
        /// Lab name: namespaces are `<name>-<node>`.
        #[arg(long, default_value = DEFAULT_LAB_NAME)]
        name: String,
        /// Leave the lab running and return; `kith lab down` removes it.
        #[arg(long)]
        detach: bool,
        /// Build namespaces and links only; do not start `kith run` in the routers.
        #[arg(long)]
        no_routers: bool,
        /// Run the scenario's checks, print them, remove the lab; exit 1 if one fails.
        #[arg(long, conflicts_with = "detach")]
        check: bool,
    },
    /// Show the lab's nodes, namespaces, processes and routes.
    Status {
        #[arg(long, default_value = DEFAULT_LAB_NAME)]
        name: String,
    },
    /// Run a command inside a node: `kith lab exec home -- ip route`.
    Exec {
        #[arg(long, default_value = DEFAULT_LAB_NAME)]
        name: String,
        /// The node (home, remi, isp1, isp2, nas-home, nas-remi in the scenario).
        node: String,
        /// The command and its arguments (after `--`); default: a shell.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Stop the lab's processes and delete its namespaces.
    Down {
        #[arg(long, default_value = DEFAULT_LAB_NAME)]
        name: String,
    },
    /// List the labs that exist on this machine.
    List,
}

pub fn run(command: LabCommand) -> Result<ExitCode> {
    match command {
        LabCommand::Up {
            file,
            name,
            detach,
            no_routers,
            check,
        } => {
            let kith_bin = std::env::current_exe()?;
            let opts = UpOptions {
                name,
                detach,
                start_routers: !no_routers,
                check,
            };
            cli::up(file.as_deref(), &kith_bin, &opts)?;
        }
        LabCommand::Status { name } => cli::status(&name)?,
        LabCommand::Exec {
            name,
            node,
            command,
        } => {
            let code = cli::exec(&name, &node, &command)?;
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)));
        }
        LabCommand::Down { name } => cli::down(&name)?,
        LabCommand::List => cli::list()?,
    }
    Ok(ExitCode::SUCCESS)
}
