//! Logging for every subcommand: human-readable lines on stderr through `tracing`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sets up the global subscriber; `filter` wins over RUST_LOG, default `info`.
pub fn init(filter: Option<&str>) {
    let filter = match filter {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let stderr = std::io::stderr();
    let ansi = stderr.is_terminal();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}
