//! `kith bench fw`: load + compile + apply time of generated rule sets, beside `nft -f`
//! of the same ruleset text alone, in a network namespace the benchmark creates.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use kith_config::Config;

use crate::compile::{Options, compile};
use crate::error::{ApplyError, CompileError};
use crate::nft::Nft;

mod generate;

pub use generate::generate;

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
