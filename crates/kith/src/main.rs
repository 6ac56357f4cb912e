//! `kith`: the multi-call binary. Every daemon and tool of the router is a subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd_bench;
mod cmd_bench_bgp;
mod cmd_bench_bgp_gen;
mod cmd_bench_failover;
mod cmd_bench_fw;
mod cmd_bench_vpn;
mod cmd_bgp;
mod cmd_config;
mod cmd_fw;
mod cmd_lab;
mod cmd_ovpn;
mod cmd_route;
mod logging;

/// Kith, a router OS for friends' networks: one YAML config, tunnels, firewall, routes, BGP.
#[derive(Parser, Debug)]
#[command(name = "kith", version, about, long_about = None)]
struct Cli {
    /// Log filter (`info`, `debug`, `kith_manager=debug`); the RUST_LOG variable also works.
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a config: prints every error and warning as FILE:LINE:COL; exit 1 on errors.
    Check {
        /// The config file (default /etc/kith/config.yaml).
        #[arg(default_value = DEFAULT_CONFIG)]
        file: PathBuf,
    },
    /// Print the canonical form of a config (stable order, defaults left out, secrets hidden).
    Export {
        /// The config file (default /etc/kith/config.yaml).
        #[arg(default_value = DEFAULT_CONFIG)]
        file: PathBuf,
        /// Print passwords and keys instead of `***` (as RouterOS `export show-sensitive`).
        #[arg(long)]
        show_sensitive: bool,
    },
    /// Run the router: the supervisor that sets up interfaces and runs the daemons.
    Run {
        /// The config file.
        #[arg(long, short, default_value = DEFAULT_CONFIG)]
        config: PathBuf,
        /// Runtime state directory (running config, pid file, daemon sockets).
        #[arg(long, default_value = DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
    },
    /// Ask a running `kith run` to reload its config (sends SIGHUP).
    Reload {
        /// Runtime state directory of the running supervisor.
        #[arg(long, default_value = DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
    },
    /// The static route daemon (started by `kith run`).
    Routed {
        /// The config file (the supervisor passes its validated running copy).
        #[arg(long, short)]
        config: PathBuf,
        /// Runtime state directory: the status socket `routed.sock` goes there.
        #[arg(long)]
        run_dir: Option<PathBuf>,
    },
    /// The BGP speaker (started by `kith run` when the config has a BGP instance).
    Bgpd {
        /// The config file (the supervisor passes its validated running copy).
        #[arg(long, short)]
        config: PathBuf,
        /// Runtime state directory: the status socket `bgpd.sock` goes there.
        #[arg(long)]
        run_dir: Option<PathBuf>,
        /// TCP port to listen on.
        #[arg(long, default_value_t = kith_bgp::BGP_PORT)]
        port: u16,
        /// Leave the kernel's routing table alone (no route install).
        #[arg(long)]
        no_install: bool,
    },
    /// BGP sessions and routes of the running router (`kith bgp peers`, `kith bgp routes`).
    Bgp {
        #[command(subcommand)]
        command: cmd_bgp::BgpCommand,
    },
    /// Static routes of the running router (`kith route print`).
    Route {
        #[command(subcommand)]
        command: cmd_route::RouteCommand,
    },
    /// The firewall: print or apply the nftables ruleset compiled from a config.
    Fw {
        #[command(subcommand)]
        command: cmd_fw::FwCommand,
    },
    /// Benchmarks in network namespaces (need root).
    Bench {
        #[command(subcommand)]
        command: cmd_bench::BenchCommand,
    },
    /// The OpenVPN-compatible tunnel daemon (started by `kith run` when the config has
    /// an enabled ovpn server or clients).
    Vpnd {
        /// The config file (the supervisor passes its validated running copy).
        #[arg(long, short)]
        config: PathBuf,
        /// Runtime state directory: the status socket `vpnd.sock` goes there.
        #[arg(long)]
        run_dir: Option<PathBuf>,
        /// PKI directory (certificates, keys, CRL); `kith run` passes its own
        /// KITH_PKI_DIR on to vpnd (the lab gives each lab its own PKI that way).
        #[arg(long, env = "KITH_PKI_DIR", default_value = kith_ovpn::pki::DEFAULT_DIR)]
        pki_dir: PathBuf,
    },
    /// Certificates for the tunnels: `kith pki init | issue NAME | revoke NAME`.
    Pki {
        #[command(subcommand)]
        command: cmd_ovpn::PkiCommand,
    },
    /// Tunnels of the running router (`kith ovpn print`) and client profiles
    /// (`kith ovpn export ACCOUNT`).
    Ovpn {
        #[command(subcommand)]
        command: cmd_ovpn::OvpnCommand,
    },
    /// Network-namespace labs: the scenario demo and the test harness.
    Lab {
        #[command(subcommand)]
        command: cmd_lab::LabCommand,
    },
}

const DEFAULT_CONFIG: &str = "/etc/kith/config.yaml";
pub(crate) const DEFAULT_RUN_DIR: &str = "/run/kith";

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log.as_deref());
    let result = match cli.command {
        Command::Check { file } => cmd_config::check(&file),
        Command::Export {
            file,
            show_sensitive,
        } => cmd_config::export(&file, show_sensitive),
        Command::Run { config, run_dir } => run_supervisor(config, run_dir),
        Command::Reload { run_dir } => cmd_config::reload(&run_dir),
        Command::Routed { config, run_dir } => {
            block_on(kith_route::run(kith_route::Options { config, run_dir }))
        }
        Command::Route { command } => cmd_route::run(command),
        Command::Bgpd {
            config,
            run_dir,
            port,
            no_install,
        } => block_on(cmd_bgp::daemon(config, run_dir, port, !no_install)),
        Command::Bgp { command } => cmd_bgp::run(command),
        Command::Fw { command } => cmd_fw::run(command),
        Command::Bench { command } => cmd_bench::run(command),
        Command::Vpnd {
            config,
            run_dir,
            pki_dir,
        } => cmd_ovpn::vpnd(config, run_dir, pki_dir),
        Command::Pki { command } => cmd_ovpn::pki(command),
        Command::Ovpn { command } => cmd_ovpn::ovpn(command),
        Command::Lab { command } => cmd_lab::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("kith: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_supervisor(config: PathBuf, run_dir: PathBuf) -> anyhow::Result<ExitCode> {
    let kith_bin = std::env::current_exe()?;
    let opts = kith_manager::Options {
        config,
        run_dir,
        kith_bin,
    };
    block_on(kith_manager::run(opts))
}

/// Runs a daemon's future on a tokio runtime; Ok means exit status 0.
fn block_on<F>(future: F) -> anyhow::Result<ExitCode>
where
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(future)?;
    Ok(ExitCode::SUCCESS)
}
