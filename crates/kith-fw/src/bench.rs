//! `kith bench fw`: load + compile + apply time of generated rule sets, beside `nft -f`
//! of the same ruleset text alone, in a network namespace the benchmark creates.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use kith_config::Config;

use crate::compile::{Options, compile};
use crate::error::{ApplyError, CompileError};
use crate::nft::Nft;

/// One line of the benchmark table (medians over the runs).
#[derive(Debug, Clone)]
pub struct Row {
    /// Rules in the generated config.
    pub rules: usize,
    /// Rules in the compiled ruleset.
    pub nft_rules: usize,
    /// Parsing and validating the YAML config.
    pub load: Duration,
    /// Compiling the config and writing the ruleset text.
    pub compile: Duration,
    /// `nft -f -` of the compiled text through [`Nft`].
    pub apply: Duration,
    /// `load + compile + apply` of the same run.
    pub total: Duration,
    /// `nft -f FILE` of the same text, run directly.
    pub nft_alone: Duration,
}

impl Row {
    /// What Kith adds to `nft -f` alone, in percent of it (`total / nft_alone - 1`).
    #[must_use]
    pub fn overhead_percent(&self) -> f64 {
        percent(self.total, self.nft_alone) - 100.0
    }

    /// The compiler's own time (config to ruleset text), in percent of `nft -f` alone.
    #[must_use]
    pub fn compile_percent(&self) -> f64 {
        percent(self.compile, self.nft_alone)
    }

    /// Loading the YAML config and compiling it, in percent of `nft -f` alone.
    #[must_use]
    pub fn load_compile_percent(&self) -> f64 {
        percent(self.load + self.compile, self.nft_alone)
    }
}

fn percent(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        return 0.0;
    }
    part.as_secs_f64() / whole.as_secs_f64() * 100.0
}

/// Why the benchmark stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The generated config does not load (a bug in the generator).
    #[error("the generated config does not load: {0}")]
    Load(String),
    /// The generated config does not compile (a bug in the generator or compiler).
    #[error("the generated config does not compile: {0}")]
    Compile(String),
    /// nft failed.
    #[error(transparent)]
    Apply(#[from] ApplyError),
    /// The text could not be written for `nft -f FILE`.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Runs the benchmark for each size in `sizes`, `runs` times each (after one warm-up),
/// with `nft` in network namespace `netns`; `scratch` is a directory for the text file
/// that `nft -f FILE` reads.
///
/// # Errors
/// When a config does not load or compile, or nft fails.
pub fn run(
    sizes: &[usize],
    runs: usize,
    netns: &str,
    scratch: &std::path::Path,
) -> Result<Vec<Row>, BenchError> {
    let nft = Nft::in_netns(netns);
    let mut rows = Vec::new();
    for &size in sizes {
        let yaml = generate(size);
        let file = scratch.join(format!("kith-bench-fw-{size}.nft"));
        let mut samples: Vec<Row> = Vec::new();
        for run in 0..=runs {
            let sample = measure(size, &yaml, &nft, netns, &file)?;
            if run > 0 {
                samples.push(sample);
            }
        }
        let _ = std::fs::remove_file(&file);
        rows.extend(median(&samples));
    }
    Ok(rows)
}

/// One run: load, compile, apply through the library; then `nft -f FILE` of the same
/// text (both replace the same ruleset, so both do the same work in the kernel).
fn measure(
    size: usize,
    yaml: &str,
    nft: &Nft,
    netns: &str,
    file: &std::path::Path,
) -> Result<Row, BenchError> {
    let start = Instant::now();
    let config: Config = kith_config::load_str(yaml, "bench.yaml")
        .map_err(|d| BenchError::Load(d.first().map(ToString::to_string).unwrap_or_default()))?
        .config;
    let load = start.elapsed();
    let start = Instant::now();
    let compiled = compile(&config, &Options::default()).map_err(|e| {
        BenchError::Compile(e.first().map(CompileError::to_string).unwrap_or_default())
    })?;
    let text = compiled.ruleset.to_string();
    let compile = start.elapsed();
    let start = Instant::now();
    nft.apply(&text)?;
    let apply = start.elapsed();
    let total = load + compile + apply;

    std::fs::write(file, &text).map_err(|source| BenchError::Io {
        path: file.display().to_string(),
        source,
    })?;
    let start = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "nft", "-f"])
        .arg(file)
        .output()
        .map_err(|source| ApplyError::Io {
            program: "ip".to_owned(),
            source,
        })?;
    let nft_alone = start.elapsed();
    if !out.status.success() {
        return Err(BenchError::Apply(ApplyError::Refused {
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }));
    }
    Ok(Row {
        rules: size,
        nft_rules: compiled.ruleset.rule_count(),
        load,
        compile,
        apply,
        total,
        nft_alone,
    })
}

/// The median of each column.
fn median(samples: &[Row]) -> Option<Row> {
    let first = samples.first()?;
    let pick = |f: fn(&Row) -> Duration| {
        let mut v: Vec<Duration> = samples.iter().map(f).collect();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    Some(Row {
        rules: first.rules,
        nft_rules: first.nft_rules,
        load: pick(|r| r.load),
        compile: pick(|r| r.compile),
        apply: pick(|r| r.apply),
        total: pick(|r| r.total),
        nft_alone: pick(|r| r.nft_alone),
    })
}

/// The results as a table, one line per size: times in ms, then the compiler's time,
/// load + compile, and Kith's whole overhead, each in percent of `nft -f` alone.
#[must_use]
pub fn table(rows: &[Row]) -> String {
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1000.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9} {:>9} {:>14} {:>9}",
        "rules",
        "load",
        "compile",
        "apply",
        "kith",
        "nft -f",
        "compile%",
        "+load%",
        "overhead%",
        "nft rules"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:>6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8.1}% {:>8.1}% {:>13.1}% {:>9}",
            r.rules,
            ms(r.load),
            ms(r.compile),
            ms(r.apply),
            ms(r.total),
            ms(r.nft_alone),
            r.compile_percent(),
            r.load_compile_percent(),
            r.overhead_percent(),
            r.nft_rules,
        );
    }
    out
}

/// A config with `rules` firewall rules, shaped like a real router's: a WAN list and a
/// LAN list, address lists, `input` and `forward` jumping to one custom chain per 100
/// rules, rules with ports, addresses, lists, protocols, states and comments, and a few
/// NAT rules.
#[must_use]
pub fn generate(rules: usize) -> String {
    let mut y = String::new();
    y.push_str("interface:\n  ethernet:\n");
    for i in 0..4 {
        let _ = writeln!(y, "    - name: ether{}\n      default-name: eth{i}", i + 1);
    }
    y.push_str("  list:\n    add:\n      - name: WAN\n      - name: LAN\n    member:\n");
    y.push_str("      - list: WAN\n        interface: ether1\n");
    y.push_str("      - list: WAN\n        interface: ether2\n");
    y.push_str("      - list: LAN\n        interface: ether3\n");
    y.push_str("      - list: LAN\n        interface: ether4\n");
    y.push_str("ip:\n  firewall:\n    address-list:\n");
    for i in 0..(rules / 10).max(10) {
        let _ = writeln!(
            y,
            "      - list: blocked{}\n        address: 198.{}.{}.0/24",
            i % 10,
            18 + (i / 256) % 2,
            i % 256
        );
    }
    y.push_str("    filter:\n");
    y.push_str("      - chain: input\n        action: accept\n        connection-state: established,related\n");
    y.push_str("      - chain: forward\n        action: accept\n        connection-state: established,related\n");
    let nat = (rules / 20).max(1);
    let filter = rules.saturating_sub(nat + 2);
    let chains = filter.div_ceil(100).max(1);
    for c in 0..chains {
        let hook = if c % 2 == 0 { "input" } else { "forward" };
        let _ = writeln!(
            y,
            "      - chain: {hook}\n        action: jump\n        jump-target: custom{c}\n        in-interface-list: WAN"
        );
    }
    for i in 0..filter.saturating_sub(chains) {
        let _ = writeln!(y, "      - chain: custom{}", i % chains);
        y.push_str(&generated_rule(i));
    }
    y.push_str("    nat:\n");
    y.push_str(
        "      - chain: srcnat\n        action: masquerade\n        out-interface-list: WAN\n",
    );
    for i in 0..nat.saturating_sub(1) {
        let _ = writeln!(
            y,
            "      - chain: dstnat\n        action: dst-nat\n        in-interface-list: WAN\n        protocol: tcp\n        dst-port: {}\n        to-addresses: 192.168.{}.{}\n        to-ports: 80",
            10000 + i % 50000,
            i / 250 % 256,
            i % 250 + 2
        );
    }
    y
}

/// The fields of generated filter rule `i` (after its `chain`).
fn generated_rule(i: usize) -> String {
    let port = 1024 + (i * 7) % 60000;
    let net = format!("10.{}.{}.0/24", (i / 256) % 256, i % 256);
    match i % 6 {
        0 => format!(
            "        action: accept\n        protocol: tcp\n        dst-port: {port}\n        comment: service {i}\n"
        ),
        1 => format!(
            "        action: accept\n        protocol: udp\n        dst-port: {port}-{}\n        src-address: {net}\n",
            port + 10
        ),
        2 => format!(
            "        action: drop\n        src-address-list: blocked{}\n",
            i % 10
        ),
        3 => format!(
            "        action: accept\n        protocol: tcp\n        dst-port: 22,80,443,{port}\n        in-interface: ether{}\n",
            1 + i % 2
        ),
        4 => format!(
            "        action: reject\n        protocol: icmp\n        icmp-options: 8:0\n        dst-address: {net}\n"
        ),
        _ => "        action: accept\n        protocol: gre\n        connection-state: new\n"
            .to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn generated_configs_load_and_compile_to_the_asked_size() {
        for size in [10, 1000] {
            let loaded = kith_config::load_str(&generate(size), "bench.yaml");
            let config = match loaded {
                Ok(l) => l.config,
                Err(d) => panic!("{}", d.first().map(ToString::to_string).unwrap_or_default()),
            };
            let rules = config.ip.firewall.filter.len() + config.ip.firewall.nat.len();
            assert_eq!(rules, size);
            let compiled = compile(&config, &Options::default());
            assert!(compiled.is_ok(), "{compiled:?}");
        }
    }
}
