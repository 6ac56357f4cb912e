//! Compile errors carry the config location; what validation already refuses (unknown
//! chain, jump loop, unknown interface list, port without a port protocol) is caught by
//! the compiler too when it gets such a config anyway.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::cases::{Menu, compile_errors, config_text};
use kith_config::Loc;
use kith_fw::Options;

/// The line of the first rule of a case config (rules start after the base config and
/// the address lists): errors of the first rule point there or below.
fn first_rule_line(menu: Menu) -> usize {
    let text = config_text(menu, &["chain: MARK"]);
    text.lines()
        .position(|l| l.contains("chain: MARK"))
        .unwrap()
        + 1
}

#[test]
fn errors_point_at_the_offending_value() {
    let line = first_rule_line(Menu::Filter);
    let cases: &[(&[&str], &str)] = &[
        (
            &["chain: input\naction: jump\njump-target: forward"],
            "cannot jump to the built-in chain forward; jump to a chain of your own",
        ),
        (
            &["chain: input\nsrc-address-list: nosuch"],
            "src-address-list: address list nosuch does not exist (no ip/firewall/address-list entry names it)",
        ),
        (
            &["chain: input\nprotocol: tcp\nicmp-options: \"8\""],
            "icmp-options needs protocol icmp",
        ),
        (
            &["chain: input\nprotocol: udp\ntcp-flags: syn"],
            "tcp-flags needs protocol tcp",
        ),
        (
            &["chain: input\naction: reject\nreject-with: tcp-reset"],
            "reject-with tcp-reset needs protocol tcp",
        ),
        (
            &["chain: output\nin-interface: ether1"],
            "in-interface cannot match in chain output: its packets have no such interface",
        ),
        (
            &["chain: input\nout-interface-list: ALL-WAN"],
            "out-interface-list cannot match in chain input: its packets have no such interface",
        ),
        (
            &["chain: input\nlimit: 0,5:packet"],
            "limit with rate 0 never matches; nftables has no such limit",
        ),
        (
            &["chain: input\nicmp-options: \"8\"\ntcp-flags: syn"],
            "icmp-options (icmp) and tcp-flags (tcp) never match the same packet; set protocol",
        ),
        (
            &["chain: input\nlimit: 4000000000/1w,4000000000:bytes"],
            "limit 4000000000/1w,4000000000:bytes is too large for nftables",
        ),
        (
            &["chain: forward\naction: fasttrack-connection"],
            "action fasttrack-connection is not supported by kith fw yet",
        ),
        (
            &["chain: input\naction: add-src-to-address-list\naddress-list: seen"],
            "action add-src-to-address-list is not supported by kith fw yet",
        ),
    ];
    for (rules, message) in cases {
        let errors = compile_errors(Menu::Filter, rules);
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (loc, got) = errors[0].split_once(": ").unwrap();
        assert_eq!(got, *message);
        let error_line: usize = loc.split(':').next().unwrap().parse().unwrap();
        assert!(
            (line..line + rules[0].lines().count()).contains(&error_line),
            "{} not within the rule at line {line}",
            errors[0]
        );
    }
}

#[test]
fn nat_and_mss_actions_only_where_the_kernel_allows_them() {
    let cases: &[(Menu, &[&str], &str)] = &[
        (
            Menu::Nat,
            &["chain: dstnat\naction: masquerade"],
            "masquerade works only in chain srcnat, but this rule is reached from dstnat",
        ),
        (
            Menu::Nat,
            &["chain: srcnat\naction: dst-nat\nto-addresses: 192.168.0.2"],
            "dst-nat works only in chain dstnat, but this rule is reached from srcnat",
        ),
        (
            Menu::Nat,
            &[
                "chain: dstnat\naction: jump\njump-target: both",
                "chain: srcnat\naction: jump\njump-target: both",
                "chain: both\naction: redirect",
            ],
            "redirect works only in chain dstnat, but this rule is reached from srcnat",
        ),
        (
            Menu::Nat,
            &["chain: srcnat\naction: src-nat"],
            "action src-nat needs to-addresses",
        ),
        (
            Menu::Nat,
            &["chain: dstnat\naction: dst-nat\nprotocol: tcp\nto-ports: \"80\""],
            "action dst-nat needs to-addresses (changing only the port is not supported yet)",
        ),
        (
            Menu::Nat,
            &["chain: dstnat\naction: dst-nat\nto-addresses: 192.168.0.2\nto-ports: \"80\""],
            "to-ports needs protocol tcp, udp, udp-lite, sctp or dccp",
        ),
        (
            Menu::Mangle,
            &["chain: prerouting\naction: change-mss\nprotocol: tcp\nnew-mss: clamp-to-pmtu"],
            "new-mss: clamp-to-pmtu works only in chain forward or output or postrouting, but this rule is reached from prerouting",
        ),
        (
            Menu::Mangle,
            &["chain: forward\naction: change-mss\nprotocol: tcp"],
            "action change-mss needs new-mss",
        ),
        (
            Menu::Mangle,
            &["chain: forward\naction: mark-routing\nnew-routing-mark: isp2"],
            "action mark-routing is not supported by kith fw yet",
        ),
    ];
    for (menu, rules, message) in cases {
        let errors = compile_errors(*menu, rules);
        let messages: Vec<&str> = errors
            .iter()
            .map(|e| e.split_once(": ").unwrap().1)
            .collect();
        assert_eq!(messages, [*message], "{rules:?}");
    }
}

/// What validation refuses, checked in the compiler by breaking a loaded config.
#[test]
fn the_compiler_catches_what_validation_catches() {
    let text = config_text(
        Menu::Filter,
        &[
            "chain: input\naction: jump\njump-target: A\nin-interface-list: ALL-WAN",
            "chain: A\naction: jump\njump-target: B",
            "chain: B\nprotocol: tcp\ndst-port: \"22\"",
        ],
    );
    let valid = common::load_str(&text);
    assert!(kith_fw::compile(&valid, &Options::default()).is_ok());
    let compile_error = |config: &kith_config::Config| -> (Loc, String) {
        let errors = kith_fw::compile(config, &Options::default()).unwrap_err();
        (errors[0].loc, errors[0].message.clone())
    };

    // Unknown chain.
    let mut c = valid.clone();
    c.ip.firewall.filter[1].jump_target.as_mut().unwrap().value = "nosuch".into();
    let loc = c.ip.firewall.filter[1].jump_target.as_ref().unwrap().loc;
    assert_eq!(
        compile_error(&c),
        (
            loc,
            "unknown chain nosuch in ip/firewall/filter: no rule has chain: nosuch".into()
        )
    );

    // Jump loop.
    let mut c = valid.clone();
    c.ip.firewall.filter[2].action.value = kith_config::FirewallAction::Jump;
    c.ip.firewall.filter[2].jump_target =
        Some(kith_config::Located::new("A".into(), Loc::new(99, 1)));
    assert_eq!(
        compile_error(&c),
        (Loc::new(99, 1), "jump loop: A -> B -> A".into())
    );

    // Interface list that does not exist.
    let mut c = valid.clone();
    c.ip.firewall.filter[0]
        .in_interface_list
        .as_mut()
        .unwrap()
        .value
        .value = "NOSUCH".into();
    let loc = c.ip.firewall.filter[0]
        .in_interface_list
        .as_ref()
        .unwrap()
        .loc();
    assert_eq!(
        compile_error(&c),
        (
            loc,
            "interface list NOSUCH does not exist (no interface/list entry names it)".into()
        )
    );

    // Port on a protocol without ports.
    let mut c = valid.clone();
    c.ip.firewall.filter[2].protocol.as_mut().unwrap().value = kith_config::Protocol(47);
    let loc = c.ip.firewall.filter[2].dst_port.as_ref().unwrap().loc;
    assert_eq!(
        compile_error(&c),
        (
            loc,
            "dst-port needs protocol tcp, udp, udp-lite, sctp or dccp".into()
        )
    );
}

/// The same problems in a config file are reported by validation, with locations.
#[test]
fn validation_reports_them_first_with_locations() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["chain: input\naction: jump\njump-target: nosuch"],
            "nosuch",
        ),
        (
            &[
                "chain: A\naction: jump\njump-target: B",
                "chain: B\naction: jump\njump-target: A",
            ],
            "jump loop",
        ),
        (&["chain: input\nin-interface-list: NOSUCH"], "NOSUCH"),
        (
            &["chain: input\nprotocol: gre\ndst-port: \"22\""],
            "dst-port needs protocol",
        ),
    ];
    for (rules, needle) in cases {
        let text = config_text(Menu::Filter, rules);
        let diags = kith_config::load_str(&text, "test.yaml").unwrap_err();
        let first = diags[0].to_string();
        assert!(
            first.starts_with("test.yaml:") && first.contains(needle),
            "{first}"
        );
        assert!(diags[0].line > 0, "{first}");
    }
}

#[test]
fn errors_print_as_diagnostics() {
    let errors = compile_errors(Menu::Filter, &["chain: input\nsrc-address-list: nosuch"]);
    let config = common::load_str(&config_text(
        Menu::Filter,
        &["chain: input\nsrc-address-list: nosuch"],
    ));
    let error = kith_fw::compile(&config, &Options::default())
        .unwrap_err()
        .remove(0);
    let diag = error.to_diagnostic("home.yaml").to_string();
    assert_eq!(
        diag,
        format!(
            "home.yaml:{}: error: {}",
            errors[0].split_once(": ").unwrap().0,
            error.message
        )
    );
}
