//! `kith bench fw` without the rest of the `kith` binary, so that the library alone can be
//! built with optimizations: `cargo run --release -p kith-fw --example bench_fw --
//! [RULES,RULES] [RUNS]` (defaults 1000,10000 and 5). Needs root.

use std::process::ExitCode;

use kith_net::testns::TestNetns;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let sizes: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1000,10000".to_owned())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let ns = match TestNetns::new("bench-fw") {
        Ok(ns) => ns,
        Err(err) => {
            eprintln!("bench_fw: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "kith bench fw: {runs} run(s) per size after a warm-up, medians; namespace {}",
        ns.name()
    );
    match kith_fw::bench::run(&sizes, runs.max(1), ns.name(), &std::env::temp_dir()) {
        Ok(rows) => {
            print!("{}", kith_fw::bench::table(&rows));
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("bench_fw: {err}");
            ExitCode::FAILURE
        }
    }
}
