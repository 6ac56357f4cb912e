//! `kith bench ...`: benchmarks that build their own namespace labs and print tables.
//! Each benchmark lives in its own `cmd_bench_<name>.rs`; this file only dispatches.

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// `kith bench ...`.
#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// BGP: BIRD feeds N IPv4 prefixes to kith, BIRD, FRR and GoBGP; seconds from
    /// Established to all prefixes, peak RSS, bytes per route, kernel install beside
    /// `ip -batch`. Needs root, bird2, frr and gobgpd.
    Bgp(crate::cmd_bench_bgp::Args),
    /// Outage when a gateway dies: RouterOS timing (10 s, 2 misses) beside the fastest
    /// `check-gateway-interval` (100 ms), measured with a ping every 10 ms. Needs root.
    Failover(crate::cmd_bench_failover::Args),
    /// Firewall: load + compile + apply of 1,000 and 10,000 generated rules beside
    /// `nft -f` of the same ruleset text alone. Needs root.
    Fw(crate::cmd_bench_fw::Args),
    /// Tunnels: iperf3 throughput and CPU through kith vpnd and openvpn 2.6 for three
    /// transport/cipher combinations, beside veth and `openssl speed`. Needs root,
    /// openvpn and iperf3.
    Vpn(crate::cmd_bench_vpn::Args),
}

/// Runs a benchmark.
pub fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Bgp(args) => crate::cmd_bench_bgp::run(args),
        BenchCommand::Failover(args) => crate::cmd_bench_failover::run(args),
        BenchCommand::Fw(args) => crate::cmd_bench_fw::run(args),
        BenchCommand::Vpn(args) => crate::cmd_bench_vpn::run(args),
    }
}
