//! Golden tests: the exact ruleset of the example configs and of the lab scenario's
//! configs, compared with `tests/golden/<name>.nft`; each is also applied in a
//! namespace, so the kernel accepts it. `UPDATE_GOLDEN=1` rewrites the files.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

const CASES: &[(&str, &str)] = &[
    ("examples-home", "examples/home.yaml"),
    ("examples-remi", "examples/remi.yaml"),
    ("scenario-home", "crates/kith-lab/scenario/home.yaml"),
    ("scenario-remi", "crates/kith-lab/scenario/remi.yaml"),
    (
        "all-matchers",
        "crates/kith-fw/tests/golden/all-matchers.yaml",
    ),
];

fn golden(name: &str, config: &str) {
    let root = common::workspace();
    let config = common::load_file(&root.join(config));
    let text = common::compile(&config).ruleset.to_string();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}.nft"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with UPDATE_GOLDEN=1 to create it",
            path.display()
        )
    });
    if text != want {
        panic!(
            "{name}: the ruleset differs from {} (UPDATE_GOLDEN=1 rewrites it after review)\n--- got ---\n{text}",
            path.display()
        );
    }
    let (_ns, nft) = common::netns(name);
    nft.apply(&text)
        .unwrap_or_else(|e| panic!("{name}: the kernel refuses it: {e}"));
}

#[test]
fn examples_home() {
    golden(CASES[0].0, CASES[0].1);
}

#[test]
fn examples_remi() {
    golden(CASES[1].0, CASES[1].1);
}

#[test]
fn scenario_home() {
    golden(CASES[2].0, CASES[2].1);
}

#[test]
fn scenario_remi() {
    golden(CASES[3].0, CASES[3].1);
}

#[test]
fn all_matchers() {
    golden(CASES[4].0, CASES[4].1);
}
