//! Shared test helpers: root and nft checks, config loading, namespaces with nft.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod cases;

use std::path::{Path, PathBuf};

use kith_config::Config;
use kith_fw::{Compiled, Nft, Options};
use kith_net::testns::TestNetns;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Fails (never skips) when the test cannot run: not root, or no `nft`.
pub fn require_root_and_nft() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "kith-fw tests need root (network namespaces and nftables): run them as root"
    );
    let found = std::process::Command::new("nft")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "kith-fw tests need the nft program (Debian package nftables): run ci/install-deps.sh"
    );
}

/// Loads a config file, failing with its diagnostics.
pub fn load_file(path: &Path) -> Config {
    match kith_config::load_file(path) {
        Ok(loaded) => loaded.config,
        Err(diags) => panic!("{} does not load:\n{}", path.display(), lines(&diags)),
    }
}

/// Loads config text, failing with its diagnostics.
pub fn load_str(text: &str) -> Config {
    match kith_config::load_str(text, "test.yaml") {
        Ok(loaded) => loaded.config,
        Err(diags) => panic!("config does not load:\n{}\n---\n{text}", lines(&diags)),
    }
}

fn lines(diags: &[kith_config::Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Compiles, failing with the errors.
pub fn compile(config: &Config) -> Compiled {
    match kith_fw::compile(config, &Options::default()) {
        Ok(c) => c,
        Err(errors) => panic!(
            "compile errors:\n{}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// A fresh namespace and an nft that runs in it.
pub fn netns(tag: &str) -> (TestNetns, Nft) {
    require_root_and_nft();
    let ns = TestNetns::new(tag).expect("test namespace");
    let nft = Nft::in_netns(ns.name());
    (ns, nft)
}
