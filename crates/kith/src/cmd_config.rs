//! `kith check`, `kith export` and `kith reload`: config tools for the command line.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use kith_config::Severity;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Prints every diagnostic; exit 0 when there is no error (warnings allowed), 1 otherwise.
pub fn check(file: &Path) -> Result<ExitCode> {
    match kith_config::load_file(file) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            println!(
                "{}: ok ({} warning(s))",
                file.display(),
                loaded.warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            for diag in &diags {
                eprintln!("{diag}");
            }
            let errors = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            eprintln!("{}: {errors} error(s)", file.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Prints the canonical config; a config with errors is not exported.
pub fn export(file: &Path, show_sensitive: bool) -> Result<ExitCode> {
    match kith_config::load_file(file) {
        Ok(loaded) => {
            let text = if show_sensitive {
                kith_config::export(&loaded.config)
            } else {
                kith_config::export_hiding_secrets(&loaded.config)
            };
            print!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(diags) => {
            for diag in &diags {
                eprintln!("{diag}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Sends SIGHUP to the supervisor whose pid file is in `run_dir`.
pub fn reload(run_dir: &Path) -> Result<ExitCode> {
    let pid_file = run_dir.join("kith.pid");
    let text = std::fs::read_to_string(&pid_file).with_context(|| {
        format!(
            "cannot read {} (is `kith run` running?)",
            pid_file.display()
        )
    })?;
    let pid: i32 = text
        .trim()
        .parse()
        .with_context(|| format!("{} does not hold a pid", pid_file.display()))?;
    if pid <= 1 {
        bail!("{} holds an invalid pid {pid}", pid_file.display());
    }
    kill(Pid::from_raw(pid), Signal::SIGHUP)
        .with_context(|| format!("cannot signal kith run (pid {pid})"))?;
    println!("reload requested (pid {pid}); the supervisor logs the outcome");
    Ok(ExitCode::SUCCESS)
}
