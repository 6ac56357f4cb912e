//! Each RouterOS action (and `log`, `comment`, `disabled`): the nft statements it becomes,
//! and the kernel takes them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::cases::{Menu, check};

#[test]
fn accept_drop_return_passthrough() {
    check(
        "a-verdicts",
        Menu::Filter,
        &[
            (
                &["chain: input\naction: accept"],
                &["meta nfproto ipv4 accept"],
            ),
            (&["chain: input\naction: drop"], &["meta nfproto ipv4 drop"]),
            // RouterOS counts and goes on.
            (
                &["chain: forward\naction: passthrough\nprotocol: tcp"],
                &["meta nfproto ipv4 meta l4proto tcp counter"],
            ),
            (
                &[
                    "chain: input\naction: jump\njump-target: sub",
                    "chain: sub\naction: return\nprotocol: udp",
                ],
                &["meta nfproto ipv4 jump ip_sub", "meta l4proto udp return"],
            ),
        ],
    );
}

#[test]
fn reject_with_each_answer() {
    check(
        "a-reject",
        Menu::Filter,
        &[
            // RouterOS's default answer is icmp-network-unreachable.
            (
                &["chain: input\naction: reject"],
                &["meta nfproto ipv4 reject with icmp type net-unreachable"],
            ),
            (
                &["chain: input\naction: reject\nreject-with: icmp-host-unreachable"],
                &["meta nfproto ipv4 reject with icmp type host-unreachable"],
            ),
            (
                &["chain: input\naction: reject\nreject-with: icmp-port-unreachable"],
                &["meta nfproto ipv4 reject with icmp type port-unreachable"],
            ),
            (
                &["chain: input\naction: reject\nreject-with: icmp-protocol-unreachable"],
                &["meta nfproto ipv4 reject with icmp type prot-unreachable"],
            ),
            (
                &["chain: input\naction: reject\nreject-with: icmp-network-prohibited"],
                &["meta nfproto ipv4 reject with icmp type net-prohibited"],
            ),
            (
                &["chain: input\naction: reject\nreject-with: icmp-host-prohibited"],
                &["meta nfproto ipv4 reject with icmp type host-prohibited"],
            ),
            (
                &["chain: input\naction: reject\nreject-with: icmp-admin-prohibited"],
                &["meta nfproto ipv4 reject with icmp type admin-prohibited"],
            ),
            (
                &["chain: input\naction: reject\nprotocol: tcp\nreject-with: tcp-reset"],
                &["meta nfproto ipv4 meta l4proto tcp reject with tcp reset"],
            ),
        ],
    );
    check(
        "a-reject6",
        Menu::Filter6,
        &[
            (
                &["chain: input\naction: reject"],
                &["meta nfproto ipv6 reject with icmpv6 type no-route"],
            ),
            (
                &["chain: input\naction: reject\nreject-with: icmp-admin-prohibited"],
                &["meta nfproto ipv6 reject with icmpv6 type admin-prohibited"],
            ),
        ],
    );
}

#[test]
fn jump_to_custom_chains_in_each_family() {
    check(
        "a-jump",
        Menu::Filter,
        &[(
            &[
                "chain: input\naction: jump\njump-target: INPUT_WAN\nin-interface-list: ALL-WAN",
                "chain: INPUT_WAN\naction: jump\njump-target: my chain",
                "chain: my chain\naction: drop",
            ],
            &[
                "meta nfproto ipv4 iifname @iflist_ALL-WAN jump ip_INPUT_WAN",
                "jump ip_my.20chain",
                "drop",
            ],
        )],
    );
    check(
        "a-jump6",
        Menu::Filter6,
        &[(
            &[
                "chain: input\naction: jump\njump-target: INPUT_WAN",
                "chain: INPUT_WAN\naction: drop",
            ],
            &["meta nfproto ipv6 jump ip6_INPUT_WAN", "drop"],
        )],
    );
}

#[test]
fn log_with_prefix_and_log_yes() {
    check(
        "a-log",
        Menu::Filter,
        &[
            (&["chain: input\naction: log"], &["meta nfproto ipv4 log"]),
            (
                &["chain: input\naction: log\nlog-prefix: \"wan-in: \""],
                &["meta nfproto ipv4 log prefix \"wan-in: \""],
            ),
            (
                &["chain: input\naction: drop\nlog: yes\nlog-prefix: dropped"],
                &["meta nfproto ipv4 log prefix \"dropped\" drop"],
            ),
            // nft reads $ as a variable and has no \" : both are replaced.
            (
                &["chain: input\naction: log\nlog-prefix: 'cost $5 \"now\"'"],
                &["meta nfproto ipv4 log prefix \"cost S5 'now'\""],
            ),
        ],
    );
}

#[test]
fn comment_disabled_and_order() {
    check(
        "a-comment",
        Menu::Filter,
        &[
            (
                &["chain: input\nprotocol: tcp\ndst-port: \"1194\"\ncomment: OpenVPN"],
                &["meta nfproto ipv4 tcp dport 1194 accept comment \"OpenVPN\""],
            ),
            (
                &["chain: input\ncomment: 'a \"quoted\" word'"],
                &["meta nfproto ipv4 accept comment \"a 'quoted' word\""],
            ),
            // Disabled rules stay in the config and out of the ruleset; order is kept.
            (
                &[
                    "chain: input\nprotocol: tcp\naction: accept",
                    "chain: input\nprotocol: udp\naction: accept\ndisabled: yes",
                    "chain: input\naction: drop",
                ],
                &[
                    "meta nfproto ipv4 meta l4proto tcp accept",
                    "meta nfproto ipv4 drop",
                ],
            ),
        ],
    );
    let long = "x".repeat(200);
    let (lines, _) =
        common::cases::compile_rules(Menu::Filter, &[&format!("chain: input\ncomment: {long}")]);
    assert_eq!(
        lines,
        [format!(
            "meta nfproto ipv4 accept comment \"{}\"",
            "x".repeat(128)
        )]
    );
}

#[test]
fn nat_masquerade_and_src_nat() {
    check(
        "a-srcnat",
        Menu::Nat,
        &[
            (
                &["chain: srcnat\naction: masquerade\nout-interface-list: ALL-WAN"],
                &["oifname @iflist_ALL-WAN masquerade"],
            ),
            (
                &["chain: srcnat\naction: masquerade\nprotocol: udp\nto-ports: 10000-20000"],
                &["meta l4proto udp masquerade to :10000-20000"],
            ),
            (
                &[
                    "chain: srcnat\naction: src-nat\nsrc-address: 192.168.0.0/24\nto-addresses: 203.0.113.10",
                ],
                &["ip saddr 192.168.0.0/24 snat to 203.0.113.10"],
            ),
            (
                &[
                    "chain: srcnat\naction: src-nat\nprotocol: tcp\nto-addresses: 203.0.113.10-203.0.113.12\nto-ports: 2000-3000",
                ],
                &["meta l4proto tcp snat to 203.0.113.10-203.0.113.12:2000-3000"],
            ),
            (
                &["chain: srcnat\naction: accept\nout-interface: friend1-1"],
                &["oifname \"friend1-1\" accept"],
            ),
        ],
    );
}

#[test]
fn nat_dst_nat_and_redirect() {
    check(
        "a-dstnat",
        Menu::Nat,
        &[
            (
                &[
                    "chain: dstnat\naction: dst-nat\nin-interface-list: ALL-WAN\nprotocol: tcp\ndst-port: \"8080\"\nto-addresses: 192.168.0.2\nto-ports: \"80\"",
                ],
                &["iifname @iflist_ALL-WAN tcp dport 8080 dnat to 192.168.0.2:80"],
            ),
            (
                &[
                    "chain: dstnat\naction: dst-nat\ndst-address: 203.0.113.10\nto-addresses: 192.168.0.2",
                ],
                &["ip daddr 203.0.113.10 dnat to 192.168.0.2"],
            ),
            (
                &[
                    "chain: dstnat\naction: redirect\nprotocol: tcp\ndst-port: \"2222\"\nto-ports: \"22\"",
                ],
                &["tcp dport 2222 redirect to :22"],
            ),
            (
                &["chain: dstnat\naction: redirect\nprotocol: udp\ndst-port: \"53\""],
                &["udp dport 53 redirect"],
            ),
            // A custom chain reached only from dstnat may forward ports.
            (
                &[
                    "chain: dstnat\naction: jump\njump-target: forwards",
                    "chain: forwards\naction: dst-nat\nprotocol: udp\ndst-port: \"1194\"\nto-addresses: 192.168.0.3",
                ],
                &["jump ip_forwards", "udp dport 1194 dnat to 192.168.0.3"],
            ),
        ],
    );
}

#[test]
fn mangle_change_mss() {
    check(
        "a-mss",
        Menu::Mangle,
        &[
            (
                &[
                    "chain: forward\naction: change-mss\nprotocol: tcp\ntcp-flags: syn\nnew-mss: clamp-to-pmtu\nout-interface: sfp-wan-sfr",
                ],
                &["oifname \"eth1\" tcp flags & syn == syn tcp option maxseg size set rt mtu"],
            ),
            (
                &[
                    "chain: prerouting\naction: change-mss\nprotocol: tcp\ntcp-flags: syn\nnew-mss: \"1360\"\npassthrough: no",
                ],
                &["tcp flags & syn == syn tcp option maxseg size set 1360 accept"],
            ),
        ],
    );
}

#[test]
fn mss_clamp_of_ppp_profiles_on_tunnel_interfaces() {
    // The base config's account has a profile without change-tcp-mss: no clamp.
    let (_, text) = common::cases::compile_rules(Menu::Filter, &[]);
    assert!(!text.contains("mangle_forward"), "{text}");
    // The built-in default profile clamps; a binding names the interface.
    let yaml = common::cases::config_text(Menu::Filter, &[])
        .replace("      profile: no-clamp\n", "")
        .replace(
            "  secret:\n",
            "  secret:\n    - name: friend2\n      service: any\n    - name: pptp-only\n      service: pptp\n",
        );
    let config = common::load_str(&yaml);
    let compiled = common::compile(&config);
    let table = compiled.ruleset.table(kith_fw::FILTER_TABLE).unwrap();
    let chain = table
        .chains
        .iter()
        .find(|c| c.name == "mangle_forward")
        .unwrap();
    assert_eq!(
        chain.rules,
        [
            "oifname { \"friend2\", \"friend1-1\" } tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu comment \"ppp profile change-tcp-mss\"",
            "iifname { \"friend2\", \"friend1-1\" } tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu comment \"ppp profile change-tcp-mss\"",
        ]
    );
    let hook = chain.hook.as_ref().unwrap();
    assert_eq!((hook.hook, hook.priority), ("forward", "mangle"));
    let (_ns, nft) = common::netns("a-clamp");
    common::cases::kernel_takes(&nft, &compiled.ruleset.to_string());
}
