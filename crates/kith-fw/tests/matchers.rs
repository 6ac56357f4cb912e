//! Each RouterOS matcher: the nft expression it becomes, and the kernel takes it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::cases::{Menu, check};

#[test]
fn in_and_out_interface_match_kernel_names_with_negation() {
    check(
        "m-iface",
        Menu::Filter,
        &[
            (
                &["chain: input\nin-interface: ether1"],
                &["meta nfproto ipv4 iifname \"eth0\" accept"],
            ),
            (
                &["chain: input\nin-interface: \"!ether1\""],
                &["meta nfproto ipv4 iifname != \"eth0\" accept"],
            ),
            // A long label is the kernel name kith-net gives it.
            (
                &["chain: forward\nout-interface: vlan832-orange-internet"],
                &["meta nfproto ipv4 oifname \"vlan832-00a3bd\" accept"],
            ),
            // A tunnel is matched by its name, whether it exists now or not.
            (
                &["chain: forward\nin-interface: friend1-1\nout-interface: \"!sfp-wan-sfr\""],
                &["meta nfproto ipv4 iifname \"friend1-1\" oifname != \"eth1\" accept"],
            ),
        ],
    );
}

#[test]
fn interface_lists_are_sets_and_builtin_lists_work() {
    check(
        "m-iflist",
        Menu::Filter,
        &[
            (
                &["chain: input\nin-interface-list: ALL-WAN"],
                &["meta nfproto ipv4 iifname @iflist_ALL-WAN accept"],
            ),
            (
                &["chain: forward\nout-interface-list: \"!ALL-WAN\""],
                &["meta nfproto ipv4 oifname != @iflist_ALL-WAN accept"],
            ),
            (
                &["chain: input\nin-interface-list: dynamic"],
                &["meta nfproto ipv4 iifname @iflist_dynamic accept"],
            ),
            (
                &["chain: input\nin-interface-list: static"],
                &["meta nfproto ipv4 iifname @iflist_static accept"],
            ),
            // `all` matches every packet, `none` no packet: the rule is left out.
            (
                &["chain: input\nin-interface-list: all"],
                &["meta nfproto ipv4 accept"],
            ),
            (
                &["chain: input\nin-interface-list: none\naction: drop"],
                &[],
            ),
            (
                &["chain: input\nin-interface-list: \"!all\"\naction: drop"],
                &[],
            ),
            (
                &["chain: input\nin-interface-list: \"!none\""],
                &["meta nfproto ipv4 accept"],
            ),
        ],
    );
}

#[test]
fn interface_list_sets_hold_kernel_names() {
    let config = common::load_str(&common::cases::config_text(Menu::Filter, &[]));
    let compiled = common::compile(&config);
    let table = compiled.ruleset.table(kith_fw::FILTER_TABLE).unwrap();
    let set = |name: &str| {
        table
            .sets
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("no set {name}"))
            .elements
            .clone()
    };
    assert_eq!(set("iflist_ALL-WAN"), ["\"vlan832-00a3bd\"", "\"eth1\""]);
    // RouterOS's built-in lists are sets only when a rule uses them.
    assert!(!table.sets.iter().any(|s| s.name == "iflist_dynamic"));
}

#[test]
fn protocols_by_name_or_number() {
    check(
        "m-proto",
        Menu::Filter,
        &[
            (
                &["chain: input\nprotocol: tcp"],
                &["meta nfproto ipv4 meta l4proto tcp accept"],
            ),
            (
                &["chain: input\nprotocol: \"6\""],
                &["meta nfproto ipv4 meta l4proto tcp accept"],
            ),
            // Names nft knows only from /etc/protocols are written as numbers.
            (
                &["chain: input\nprotocol: gre"],
                &["meta nfproto ipv4 meta l4proto 47 accept"],
            ),
            (
                &["chain: input\nprotocol: ipsec-esp"],
                &["meta nfproto ipv4 meta l4proto esp accept"],
            ),
            (
                &["chain: input\nprotocol: ipsec-ah"],
                &["meta nfproto ipv4 meta l4proto ah accept"],
            ),
            (
                &["chain: input\nprotocol: udp-lite"],
                &["meta nfproto ipv4 meta l4proto udplite accept"],
            ),
            (
                &["chain: input\nprotocol: vrrp"],
                &["meta nfproto ipv4 meta l4proto 112 accept"],
            ),
            (
                &["chain: input\nprotocol: \"253\""],
                &["meta nfproto ipv4 meta l4proto 253 accept"],
            ),
        ],
    );
}

#[test]
fn addresses_prefixes_hosts_ranges_and_negation() {
    check(
        "m-addr",
        Menu::Filter,
        &[
            (
                &["chain: input\nsrc-address: 10.0.0.0/8"],
                &["meta nfproto ipv4 ip saddr 10.0.0.0/8 accept"],
            ),
            (
                &["chain: input\ndst-address: 203.0.113.10"],
                &["meta nfproto ipv4 ip daddr 203.0.113.10 accept"],
            ),
            // Host bits are cleared, as RouterOS does.
            (
                &["chain: input\nsrc-address: 192.168.0.254/24"],
                &["meta nfproto ipv4 ip saddr 192.168.0.0/24 accept"],
            ),
            (
                &["chain: input\nsrc-address: 10.0.0.1-10.0.0.9\ndst-address: \"!192.168.0.0/16\""],
                &["meta nfproto ipv4 ip saddr 10.0.0.1-10.0.0.9 ip daddr != 192.168.0.0/16 accept"],
            ),
        ],
    );
    check(
        "m-addr6",
        Menu::Filter6,
        &[(
            &[
                "chain: input\nsrc-address: 2001:db8::/32\ndst-address: \"!2001:db8::1-2001:db8::9\"",
            ],
            &[
                "meta nfproto ipv6 ip6 saddr 2001:db8::/32 ip6 daddr != 2001:db8::1-2001:db8::9 accept",
            ],
        )],
    );
}

#[test]
fn address_lists_are_interval_sets() {
    check(
        "m-addrlist",
        Menu::Filter,
        &[
            (
                &["chain: input\nsrc-address-list: trusted"],
                &["meta nfproto ipv4 ip saddr @addrlist_trusted accept"],
            ),
            (
                &["chain: forward\ndst-address-list: \"!trusted\""],
                &["meta nfproto ipv4 ip daddr != @addrlist_trusted accept"],
            ),
        ],
    );
    check(
        "m-addrlist6",
        Menu::Filter6,
        &[(
            &["chain: input\nsrc-address-list: trusted"],
            &["meta nfproto ipv6 ip6 saddr @addrlist6_trusted accept"],
        )],
    );
    let (_, text) = common::cases::compile_rules(Menu::Filter, &[]);
    assert!(
        text.contains(
            "\tset addrlist_trusted {\n\t\ttype ipv4_addr\n\t\tflags interval\n\t\telements = { 10.0.0.1-10.0.0.9, 192.168.0.0/24 }\n\t}"
        ),
        "{text}"
    );
}

#[test]
fn ports_lists_and_ranges() {
    check(
        "m-ports",
        Menu::Filter,
        &[
            (
                &["chain: input\nprotocol: tcp\ndst-port: \"1194\""],
                &["meta nfproto ipv4 tcp dport 1194 accept"],
            ),
            (
                &["chain: input\nprotocol: udp\nsrc-port: \"500\"\ndst-port: 4500,500"],
                &["meta nfproto ipv4 udp sport 500 udp dport { 500, 4500 } accept"],
            ),
            (
                &["chain: input\nprotocol: tcp\ndst-port: 22,8000-8100,8050-8200"],
                &["meta nfproto ipv4 tcp dport { 22, 8000-8200 } accept"],
            ),
            (
                &["chain: input\nprotocol: sctp\ndst-port: 1000-2000"],
                &["meta nfproto ipv4 sctp dport 1000-2000 accept"],
            ),
            (
                &["chain: input\nprotocol: dccp\nsrc-port: \"5004\""],
                &["meta nfproto ipv4 dccp sport 5004 accept"],
            ),
            (
                &["chain: input\nprotocol: udp-lite\ndst-port: \"53\""],
                &["meta nfproto ipv4 udplite dport 53 accept"],
            ),
        ],
    );
}

#[test]
fn connection_state() {
    check(
        "m-ct",
        Menu::Filter,
        &[
            (
                &["chain: input\nconnection-state: established,related"],
                &["meta nfproto ipv4 ct state established,related accept"],
            ),
            (
                &["chain: forward\nconnection-state: invalid\naction: drop"],
                &["meta nfproto ipv4 ct state invalid drop"],
            ),
            (
                &["chain: input\nconnection-state: new,untracked"],
                &["meta nfproto ipv4 ct state new,untracked accept"],
            ),
        ],
    );
}

#[test]
fn icmp_options() {
    check(
        "m-icmp",
        Menu::Filter,
        &[
            (
                &["chain: input\nprotocol: icmp\nicmp-options: \"8\""],
                &["meta nfproto ipv4 icmp type 8 accept"],
            ),
            (
                &["chain: input\nprotocol: icmp\nicmp-options: 8:0"],
                &["meta nfproto ipv4 icmp type 8 icmp code 0 accept"],
            ),
            (
                &["chain: input\nicmp-options: 3:0-4"],
                &["meta nfproto ipv4 icmp type 3 icmp code 0-4 accept"],
            ),
        ],
    );
    check(
        "m-icmp6",
        Menu::Filter6,
        &[(
            &["chain: input\nprotocol: icmpv6\nicmp-options: 128:0"],
            &["meta nfproto ipv6 icmpv6 type 128 icmpv6 code 0 accept"],
        )],
    );
}

#[test]
fn tcp_flags() {
    check(
        "m-flags",
        Menu::Filter,
        &[
            (
                &["chain: input\nprotocol: tcp\ntcp-flags: syn"],
                &["meta nfproto ipv4 tcp flags & syn == syn accept"],
            ),
            (
                &["chain: input\nprotocol: tcp\ntcp-flags: syn,!ack"],
                &["meta nfproto ipv4 tcp flags & (syn | ack) == syn accept"],
            ),
            (
                &["chain: input\ntcp-flags: \"!fin,!rst\""],
                &["meta nfproto ipv4 tcp flags & (fin | rst) == 0 accept"],
            ),
            (
                &["chain: input\nprotocol: tcp\ndst-port: \"22\"\ntcp-flags: syn,ack,ece,cwr"],
                &[
                    "meta nfproto ipv4 tcp dport 22 tcp flags & (syn | ack | ecn | cwr) == (syn | ack | ecn | cwr) accept",
                ],
            ),
        ],
    );
}

#[test]
fn limit_matches_under_the_rate() {
    check(
        "m-limit",
        Menu::Filter,
        &[
            (
                &["chain: input\nprotocol: icmp\nlimit: 10,5:packet"],
                &[
                    "meta nfproto ipv4 meta l4proto icmp limit rate 10/second burst 5 packets accept",
                ],
            ),
            (
                &["chain: input\nlimit: 50/1m,10:packet"],
                &["meta nfproto ipv4 limit rate 50/minute burst 10 packets accept"],
            ),
            (
                &["chain: input\nlimit: 30/1h,0:bytes"],
                &["meta nfproto ipv4 limit rate 30 bytes/hour burst 0 bytes accept"],
            ),
            // Not a whole number per second: the smallest unit where it is.
            (
                &["chain: input\nlimit: 1/10s,2:packet"],
                &["meta nfproto ipv4 limit rate 6/minute burst 2 packets accept"],
            ),
            // 3 per 7 seconds is a whole number only per week.
            (
                &["chain: input\nlimit: 3/7s,2:packet"],
                &["meta nfproto ipv4 limit rate 259200/week burst 2 packets accept"],
            ),
            // 3 per 13 seconds is none: rounded up where that changes it by 1 % at
            // most (with a warning).
            (
                &["chain: input\nlimit: 3/13s,2:packet"],
                &["meta nfproto ipv4 limit rate 831/hour burst 2 packets accept"],
            ),
        ],
    );
}
