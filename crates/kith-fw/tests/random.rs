//! Random rules: whatever passes validation compiles without panicking, either to a
//! ruleset the kernel takes (applied in a namespace) or to errors that all carry a
//! location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::cell::Cell;

use common::cases::{Menu, config_text};
use proptest::prelude::*;
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, TestCaseError, TestRng, TestRunner,
};

const CASES: u32 = 1000;

/// A field of a rule, or nothing.
fn field(key: &'static str, values: &'static [&'static str]) -> BoxedStrategy<Option<String>> {
    prop_oneof![
        5 => Just(None),
        1 => proptest::sample::select(values).prop_map(move |v| Some(format!("{key}: {v}"))),
    ]
    .boxed()
}

fn rule(menu: Menu) -> impl Strategy<Value = String> {
    let chains: &'static [&'static str] = match menu {
        Menu::Filter | Menu::Filter6 => &["input", "forward", "output", "A", "B", "my chain"],
        Menu::Nat => &["srcnat", "dstnat", "A", "B"],
        Menu::Mangle => &[
            "prerouting",
            "input",
            "forward",
            "output",
            "postrouting",
            "A",
        ],
    };
    let actions: &'static [&'static str] = match menu {
        Menu::Filter | Menu::Filter6 => &[
            "accept",
            "drop",
            "reject",
            "jump",
            "return",
            "passthrough",
            "log",
            "fasttrack-connection",
        ],
        Menu::Nat => &[
            "accept",
            "jump",
            "return",
            "passthrough",
            "log",
            "masquerade",
            "src-nat",
            "dst-nat",
            "redirect",
            "netmap",
        ],
        Menu::Mangle => &[
            "accept",
            "jump",
            "return",
            "passthrough",
            "log",
            "change-mss",
        ],
    };
    let v6 = menu == Menu::Filter6;
    let addresses: &'static [&'static str] = if v6 {
        &[
            "2001:db8::/32",
            "\"!2001:db8::1\"",
            "2001:db8::1-2001:db8::9",
        ]
    } else {
        &[
            "10.0.0.0/8",
            "\"!192.168.0.254/24\"",
            "10.0.0.1-10.0.0.9",
            "0.0.0.0/0",
        ]
    };
    let targets: &'static [&'static str] = if v6 {
        &["2001:db8::2"]
    } else {
        &["192.168.0.2", "203.0.113.10-203.0.113.12", "10.9.9.0/30"]
    };
    let a = (
        proptest::sample::select(chains).prop_map(|c| format!("chain: {c}")),
        proptest::sample::select(actions).prop_map(|a| format!("action: {a}")),
        field("jump-target", &["A", "B", "my chain", "input"]),
        field(
            "protocol",
            &[
                "tcp", "udp", "icmp", "icmpv6", "gre", "sctp", "\"6\"", "\"200\"",
            ],
        ),
        field("src-port", &["\"53\"", "1024-65535"]),
        field("dst-port", &["\"22\"", "22,80-90,85-100"]),
        field("src-address", addresses),
        field("dst-address", addresses),
    );
    let b = (
        field(
            "in-interface",
            &["ether1", "\"!friend1-1\"", "vlan832-orange-internet"],
        ),
        field("out-interface", &["sfp-wan-sfr", "\"!ether3-lan\""]),
        field(
            "in-interface-list",
            &[
                "ALL-WAN",
                "\"!ALL-WAN\"",
                "all",
                "none",
                "dynamic",
                "static",
            ],
        ),
        field("out-interface-list", &["ALL-WAN", "\"!none\"", "static"]),
        field("src-address-list", &["trusted", "\"!trusted\"", "nosuch"]),
        field("dst-address-list", &["trusted"]),
        field(
            "connection-state",
            &["established,related", "invalid", "new,untracked"],
        ),
        field("icmp-options", &["\"8\"", "8:0", "3:0-4"]),
    );
    let c = (
        field("tcp-flags", &["syn", "syn,!ack", "\"!fin\""]),
        field(
            "limit",
            &[
                "10,5:packet",
                "50/1m,0:packet",
                "1/13s,2:bytes",
                "0,1:packet",
            ],
        ),
        field(
            "reject-with",
            &[
                "tcp-reset",
                "icmp-admin-prohibited",
                "icmp-host-unreachable",
            ],
        ),
        field("log", &["yes"]),
        field("log-prefix", &["\"x: \"", "'a\"$b'"]),
        field("to-addresses", targets),
        field("to-ports", &["\"80\"", "1000-2000"]),
        field("new-mss", &["clamp-to-pmtu", "\"1360\""]),
    );
    let d = (
        field("passthrough", &["no"]),
        field("disabled", &["yes"]),
        field("comment", &["plain", "'with \"quotes\" and $'"]),
    );
    (a, b, c, d).prop_map(|(a, b, c, d)| {
        let mut lines = vec![a.0, a.1];
        let rest = [
            a.2, a.3, a.4, a.5, a.6, a.7, b.0, b.1, b.2, b.3, b.4, b.5, b.6, b.7,
        ]
        .into_iter()
        .chain([c.0, c.1, c.2, c.3, c.4, c.5, c.6, c.7, d.0, d.1, d.2]);
        lines.extend(rest.flatten());
        lines.join("\n")
    })
}

fn menu() -> impl Strategy<Value = Menu> {
    proptest::sample::select(&[Menu::Filter, Menu::Filter6, Menu::Nat, Menu::Mangle][..])
}

#[test]
fn random_valid_configs_compile_to_what_the_kernel_takes_or_to_located_errors() {
    let (_ns, nft) = common::netns("fw-random");
    // A fixed seed: CI sees the same cases every run (and a failure is reproducible).
    // KITH_FW_RANDOM_SEED=N explores other cases.
    let seed: u64 = std::env::var("KITH_FW_RANDOM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let config = RunnerConfig {
        cases: CASES,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = if seed == 0 {
        TestRng::deterministic_rng(RngAlgorithm::ChaCha)
    } else {
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
    };
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = menu().prop_flat_map(|m| (Just(m), proptest::collection::vec(rule(m), 1..6)));
    let valid = Cell::new(0);
    let compiled = Cell::new(0);
    let result = runner.run(&strategy, |(menu, rules)| {
        let refs: Vec<&str> = rules.iter().map(String::as_str).collect();
        let text = config_text(menu, &refs);
        let Ok(loaded) = kith_config::load_str(&text, "random.yaml") else {
            return Ok(());
        };
        valid.set(valid.get() + 1);
        match kith_fw::compile(&loaded.config, &kith_fw::Options::default()) {
            Ok(c) => {
                compiled.set(compiled.get() + 1);
                let ruleset = c.ruleset.to_string();
                nft.apply(&ruleset).map_err(|e| {
                    TestCaseError::fail(format!(
                        "the kernel refuses: {e}\n---\n{ruleset}\n---\n{text}"
                    ))
                })?;
            }
            Err(errors) => {
                for e in &errors {
                    prop_assert!(e.loc.line > 0, "error without location: {e}\n---\n{text}");
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The generator must reach the compiler and the kernel often enough to mean something.
    let (valid, compiled) = (valid.get(), compiled.get());
    println!("{CASES} random configs: {valid} valid, {compiled} compiled and taken by the kernel");
    assert!(
        valid >= CASES / 5,
        "only {valid} of {CASES} random configs passed validation"
    );
    assert!(
        compiled >= CASES / 10,
        "only {compiled} of {CASES} random configs compiled"
    );
}
