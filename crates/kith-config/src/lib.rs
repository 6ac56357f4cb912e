//! Kith's configuration: the typed model of `/etc/kith/config.yaml`, YAML loading
//! with line:column diagnostics, validation, and canonical export.
//!
//! The YAML shape follows RouterOS menus: `ip/route` is `ip: { route: [...] }`,
//! a menu of items is a list, a menu of settings is a mapping, and values use
//! RouterOS spellings (`yes`/`no`, `aes128,aes256`, `23-32`).

#[macro_use]
mod macros;

mod decode;
mod diag;
mod export;
mod model;
mod validate;
mod values;
mod yaml;

use std::path::Path;

pub use diag::{Diagnostic, Loc, Located, Severity};
pub use export::{export, export_hiding_secrets};
pub use model::*;
pub use validate::{DeclaredInterface, InterfaceKind};
pub use values::{
    AddressOrPool, AddressSpec, Asn, Community, ConnectionState, Distance, Duration, Gateway, Host,
    IcmpOptions, Limit, LimitMode, MacAddress, Mtu, Multiplier, Negatable, Netmask, NewMss, Port,
    PortRange, PrefixLengthRange, Prepend, Protocol, Secret, TcpFlag, Ttl, VlanId,
};

/// A configuration that loaded without errors, with the warnings about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Things that are valid but probably not what was meant.
    pub warnings: Vec<Diagnostic>,
}

/// Loads and validates the configuration file at `path`.
///
/// # Errors
/// Every error found (and the warnings), errors first, each sorted by
/// position. An unreadable file is one diagnostic at 0:0.
pub fn load_file(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let file = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => load_str(&text, &file),
        Err(e) => Err(vec![Diagnostic {
            severity: Severity::Error,
            file,
            line: 0,
            col: 0,
            message: format!("cannot read the configuration: {e}"),
        }]),
    }
}

/// Loads and validates configuration text; `file` names it in diagnostics.
///
/// # Errors
/// Every error found (and the warnings), errors first, each sorted by position.
pub fn load_str(text: &str, file: &str) -> Result<Loaded, Vec<Diagnostic>> {
    let mut sink = diag::Sink::new(file);
    let config = yaml::parse(text, &mut sink)
        .and_then(|root| <Config as decode::Decode>::decode(&root, "", &mut sink));
    if let Some(config) = &config {
        validate::validate(config, &mut sink);
    }
    let failed = sink.has_errors();
    let (errors, warnings) = sink.finish();
    match config {
        Some(config) if !failed => Ok(Loaded { config, warnings }),
        _ => Err(errors.into_iter().chain(warnings).collect()),
    }
}
