//! The scenario's two routers load without errors, and export round-trips them.

use std::path::PathBuf;

use kith_config::{export, export_hiding_secrets, load_file, load_str};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn render(diags: &[kith_config::Diagnostic]) -> String {
    diags.iter().map(|d| format!("{d}\n")).collect()
}

#[test]
fn home_loads_without_warnings() {
    let loaded = load_file(&example("home.yaml")).map_err(|d| render(&d));
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => panic!("home.yaml:\n{e}"),
    };
    assert_eq!(render(&loaded.warnings), "");
    println!("{}", export(&loaded.config));
}
