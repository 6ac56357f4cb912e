//! Applying against the real kernel, each test in its own namespace: the transaction is
//! atomic (a refused ruleset leaves the previous one), applying twice changes nothing,
//! other tables are never touched, and tables a config no longer needs go away.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use kith_fw::{ApplyError, FILTER_TABLE, NAT_TABLE, Nft, Options};

fn home() -> kith_config::Config {
    common::load_file(&common::workspace().join("examples/home.yaml"))
}

fn home_text() -> String {
    common::compile(&home()).ruleset.to_string()
}

#[test]
fn applying_the_same_config_twice_changes_nothing() {
    let (_ns, nft) = common::netns("fw-idem");
    let config = home();
    kith_fw::compile_and_apply(&config, &Options::default(), &nft).unwrap();
    let first = nft.list_ruleset().unwrap();
    let filter = nft.list_table(FILTER_TABLE).unwrap().unwrap();
    kith_fw::compile_and_apply(&config, &Options::default(), &nft).unwrap();
    assert_eq!(nft.list_ruleset().unwrap(), first);
    assert_eq!(nft.list_table(FILTER_TABLE).unwrap().unwrap(), filter);
    // What the kernel holds is what the compiler wrote.
    assert!(filter.contains("chain ip_INPUT_WAN {"), "{filter}");
    assert!(
        filter.contains("tcp dport 1194 accept comment \"OpenVPN\""),
        "{filter}"
    );
    assert!(
        filter.contains("iifname @iflist_ALL-WAN jump ip_INPUT_WAN"),
        "{filter}"
    );
    let nat = nft.list_table(NAT_TABLE).unwrap().unwrap();
    assert!(nat.contains("oifname @iflist_ALL-WAN masquerade"), "{nat}");
}

#[test]
fn a_ruleset_the_kernel_refuses_leaves_the_previous_one() {
    let (_ns, nft) = common::netns("fw-atomic");
    let good = home_text();
    nft.apply(&good).unwrap();
    let before = nft.list_ruleset().unwrap();

    // nft itself accepts this text; the kernel refuses the jump loop at commit, after
    // the transaction already deleted and recreated the tables.
    let looped = good.clone()
        + "\ntable inet kith {\n\tchain ip_LOOP {\n\t\tjump ip_INPUT_WAN\n\t}\n}\n"
        + "add rule inet kith ip_INPUT_WAN jump ip_LOOP\n";
    match nft.apply(&looped) {
        Err(ApplyError::Refused { stderr, .. }) => {
            assert!(
                stderr.contains("Too many links") || stderr.contains("loop"),
                "{stderr}"
            )
        }
        other => panic!("the kernel should refuse a jump loop: {other:?}"),
    }
    assert_eq!(
        nft.list_ruleset().unwrap(),
        before,
        "the previous ruleset must stay"
    );

    // A text nft cannot parse changes nothing either, even after the deletes.
    let broken = good.replace("tcp dport 1194 accept", "tcp dport 1194 acept");
    assert!(matches!(
        nft.apply(&broken),
        Err(ApplyError::Refused { .. })
    ));
    assert_eq!(nft.list_ruleset().unwrap(), before);

    // An expression the kernel refuses in that hook (rt mtu on input).
    let wrong_hook = good.replace(
        "\t\tmeta nfproto ipv4 ct state established,related accept\n",
        "\t\tmeta nfproto ipv4 ct state established,related accept\n\t\ttcp option maxseg size set rt mtu\n",
    );
    assert!(matches!(
        nft.apply(&wrong_hook),
        Err(ApplyError::Refused { .. })
    ));
    assert_eq!(nft.list_ruleset().unwrap(), before);
}

#[test]
fn other_tables_are_never_touched() {
    let (_ns, nft) = common::netns("fw-others");
    let other = "table inet other {\n\tchain input {\n\t\ttype filter hook input priority 10; policy accept;\n\t\ttcp dport 9 drop\n\t}\n}\ntable ip kith-other {\n\tchain c {\n\t}\n}\n";
    nft.apply(other).unwrap();
    let listed = |nft: &Nft, family: &str, name: &str| {
        nft.run(&["list", "table", family, name], None)
            .unwrap()
            .stdout
    };
    let before_other = listed(&nft, "inet", "other");
    let before_kith_other = listed(&nft, "ip", "kith-other");
    nft.apply(&home_text()).unwrap();
    nft.apply(&home_text()).unwrap();
    assert_eq!(listed(&nft, "inet", "other"), before_other);
    assert_eq!(listed(&nft, "ip", "kith-other"), before_kith_other);
    assert!(before_other.contains("tcp dport 9 drop"));
}

#[test]
fn tables_the_config_no_longer_needs_are_removed() {
    let (_ns, nft) = common::netns("fw-shrink");
    nft.apply(&home_text()).unwrap();
    assert!(nft.list_table(NAT_TABLE).unwrap().is_some());
    let mut config = home();
    config.ip.firewall.nat.clear();
    config.ip.firewall.filter.clear();
    let compiled = common::compile(&config);
    nft.apply(&compiled.ruleset.to_string()).unwrap();
    assert!(nft.list_table(NAT_TABLE).unwrap().is_none());
    let filter = nft.list_table(FILTER_TABLE).unwrap().unwrap();
    assert!(!filter.contains("INPUT_WAN"), "{filter}");
}

#[test]
fn a_missing_nft_is_reported_and_changes_nothing() {
    let nft = Nft::new().with_program("/nonexistent/nft");
    match nft.apply(&home_text()) {
        Err(ApplyError::NftMissing { program }) => assert_eq!(program, "/nonexistent/nft"),
        other => panic!("{other:?}"),
    }
    let (ns, _) = common::netns("fw-missing");
    let nft = Nft::in_netns(ns.name()).with_program("/nonexistent/nft");
    let result = nft.apply(&home_text());
    assert!(
        matches!(result, Err(ApplyError::NftMissing { .. })),
        "in a namespace too: {result:?}"
    );
}

#[test]
fn a_hanging_nft_is_killed_within_the_bound() {
    common::require_root_and_nft();
    // A program that never finishes in place of nft.
    let sleepy = Nft::new()
        .with_program("/bin/sleep")
        .with_timeout(std::time::Duration::from_millis(300));
    let start = std::time::Instant::now();
    let result = sleepy.run(&["30"], None);
    assert!(matches!(result, Err(ApplyError::Timeout(_))), "{result:?}");
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
