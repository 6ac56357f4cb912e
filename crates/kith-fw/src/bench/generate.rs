//! The configs `kith bench fw` measures: N firewall rules shaped like a real router's.

use std::fmt::Write as _;

/// A config with `rules` firewall rules, shaped like a real router's: a WAN list and a
/// LAN list, address lists, `input` and `forward` jumping to one custom chain per 100
/// rules, rules with ports, addresses, lists, protocols, states and comments, and a few
/// NAT rules.
#[must_use]
pub fn generate(rules: usize) -> String {
    let mut y = String::new();
    y.push_str("interface:\n  ethernet:\n");
    for i in 0..4 {
        let _ = writeln!(y, "    - name: ether{}\n      default-name: eth{i}", i + 1);
    }
    y.push_str("  list:\n    add:\n      - name: WAN\n      - name: LAN\n    member:\n");
    y.push_str("      - list: WAN\n        interface: ether1\n");
    y.push_str("      - list: WAN\n        interface: ether2\n");
    y.push_str("      - list: LAN\n        interface: ether3\n");
    y.push_str("      - list: LAN\n        interface: ether4\n");
    y.push_str("ip:\n  firewall:\n    address-list:\n");
    for i in 0..(rules / 10).max(10) {
        let _ = writeln!(
            y,
            "      - list: blocked{}\n        address: 198.{}.{}.0/24",
            i % 10,
            18 + (i / 256) % 2,
            i % 256
        );
    }
    y.push_str("    filter:\n");
    y.push_str("      - chain: input\n        action: accept\n        connection-state: established,related\n");
    y.push_str("      - chain: forward\n        action: accept\n        connection-state: established,related\n");
    let nat = (rules / 20).max(1);
    let filter = rules.saturating_sub(nat + 2);
    let chains = filter.div_ceil(100).max(1);
    for c in 0..chains {
        let hook = if c % 2 == 0 { "input" } else { "forward" };
        let _ = writeln!(
            y,
            "      - chain: {hook}\n        action: jump\n        jump-target: custom{c}\n        in-interface-list: WAN"
        );
    }
    for i in 0..filter.saturating_sub(chains) {
        let _ = writeln!(y, "      - chain: custom{}", i % chains);
        y.push_str(&generated_rule(i));
    }
    y.push_str("    nat:\n");
    y.push_str(
        "      - chain: srcnat\n        action: masquerade\n        out-interface-list: WAN\n",
    );
    for i in 0..nat.saturating_sub(1) {
        let _ = writeln!(
            y,
            "      - chain: dstnat\n        action: dst-nat\n        in-interface-list: WAN\n        protocol: tcp\n        dst-port: {}\n        to-addresses: 192.168.{}.{}\n        to-ports: 80",
            10000 + i % 50000,
            i / 250 % 256,
            i % 250 + 2
        );
    }
    y
}

/// The fields of generated filter rule `i` (after its `chain`).
fn generated_rule(i: usize) -> String {
    let port = 1024 + (i * 7) % 60000;
    let net = format!("10.{}.{}.0/24", (i / 256) % 256, i % 256);
    match i % 6 {
        0 => format!(
            "        action: accept\n        protocol: tcp\n        dst-port: {port}\n        comment: service {i}\n"
        ),
        1 => format!(
            "        action: accept\n        protocol: udp\n        dst-port: {port}-{}\n        src-address: {net}\n",
            port + 10
        ),
        2 => format!(
            "        action: drop\n        src-address-list: blocked{}\n",
            i % 10
        ),
        3 => format!(
            "        action: accept\n        protocol: tcp\n        dst-port: 22,80,443,{port}\n        in-interface: ether{}\n",
            1 + i % 2
        ),
        4 => format!(
            "        action: reject\n        protocol: icmp\n        icmp-options: 8:0\n        dst-address: {net}\n"
        ),
        _ => "        action: accept\n        protocol: gre\n        connection-state: new\n"
            .to_owned(),
    }
}
