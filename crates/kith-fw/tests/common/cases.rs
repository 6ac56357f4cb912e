//! Table-driven rule tests: one RouterOS rule (or a few) in a small config, the nft lines
//! it must compile to, and the kernel's word that it takes them (applied in a namespace).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kith_fw::{Nft, Options, TableId};

/// The config every case adds its rules to: three NICs, a VLAN with a long label, the
/// list ALL-WAN, an OpenVPN account `friend1-1` and an address list per family.
const BASE: &str = "\
interface:
  ethernet:
    - name: ether1
      default-name: eth0
    - name: sfp-wan-sfr
      default-name: eth1
    - name: ether3-lan
      default-name: eth2
  vlan:
    - name: vlan832-orange-internet
      vlan-id: 832
      interface: ether1
  list:
    add:
      - name: ALL-WAN
    member:
      - list: ALL-WAN
        interface: vlan832-orange-internet
      - list: ALL-WAN
        interface: sfp-wan-sfr
  ovpn-server:
    add:
      - name: friend1-1
        user: friend1-1
ppp:
  profile:
    - name: no-clamp
      change-tcp-mss: no
  secret:
    - name: friend1-1
      service: ovpn
      password: x
      profile: no-clamp
";

/// Which menu a case's rules go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Menu {
    /// `ip/firewall/filter`.
    Filter,
    /// `ipv6/firewall/filter`.
    Filter6,
    /// `ip/firewall/nat`.
    Nat,
    /// `ip/firewall/mangle`.
    Mangle,
}

impl Menu {
    fn table(self) -> TableId {
        match self {
            Self::Filter | Self::Filter6 => kith_fw::FILTER_TABLE,
            Self::Nat => kith_fw::NAT_TABLE,
            Self::Mangle => kith_fw::MANGLE_TABLE,
        }
    }
}

/// A config with `rules` (each a block of `key: value` lines) in `menu`.
pub fn config_text(menu: Menu, rules: &[&str]) -> String {
    let mut rules_yaml = String::new();
    for rule in rules {
        for (i, line) in rule.lines().enumerate() {
            rules_yaml.push_str(if i == 0 { "      - " } else { "        " });
            rules_yaml.push_str(line.trim());
            rules_yaml.push('\n');
        }
    }
    let (ip_menu, ip6_menu) = match menu {
        Menu::Filter => ("    filter:\n", ""),
        Menu::Nat => ("    nat:\n", ""),
        Menu::Mangle => ("    mangle:\n", ""),
        Menu::Filter6 => ("", "    filter:\n"),
    };
    let (ip_rules, ip6_rules) = if menu == Menu::Filter6 {
        (String::new(), rules_yaml)
    } else {
        (rules_yaml, String::new())
    };
    format!(
        "{BASE}ip:
  firewall:
    address-list:
      - list: trusted
        address: 192.168.0.0/24
      - list: trusted
        address: 10.0.0.1-10.0.0.9
{ip_menu}{ip_rules}ipv6:
  firewall:
    address-list:
      - list: trusted
        address: 2001:db8::/32
{ip6_menu}{ip6_rules}"
    )
}

/// The rule lines the rules compile to, in table order (base chains, then custom
/// chains), and the whole ruleset text.
pub fn compile_rules(menu: Menu, rules: &[&str]) -> (Vec<String>, String) {
    let config = super::load_str(&config_text(menu, rules));
    let compiled = super::compile(&config);
    let table = compiled
        .ruleset
        .table(menu.table())
        .unwrap_or_else(|| panic!("no table {} in\n{}", menu.table(), compiled.ruleset));
    let lines = table
        .chains
        .iter()
        .flat_map(|c| c.rules.iter().cloned())
        .collect();
    (lines, compiled.ruleset.to_string())
}

/// The compile errors of the rules, as `LINE:COL: message`.
pub fn compile_errors(menu: Menu, rules: &[&str]) -> Vec<String> {
    let config = super::load_str(&config_text(menu, rules));
    match kith_fw::compile(&config, &Options::default()) {
        Ok(c) => panic!("expected compile errors, got\n{}", c.ruleset),
        Err(errors) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// Checks every case: its lines, and that the kernel takes its ruleset.
pub fn check(tag: &str, menu: Menu, cases: &[(&[&str], &[&str])]) {
    let (_ns, nft) = super::netns(tag);
    for (rules, want) in cases {
        let (got, text) = compile_rules(menu, rules);
        assert_eq!(got, *want, "rules:\n{}", rules.join("\n---\n"));
        kernel_takes(&nft, &text);
    }
}

/// Fails unless the kernel takes `text` (applied for real in the test's namespace:
/// `nft -c` skips some checks the kernel makes at commit, such as NAT hooks).
pub fn kernel_takes(nft: &Nft, text: &str) {
    if let Err(e) = nft.apply(text) {
        panic!("the kernel refuses:\n{e}\n---\n{text}");
    }
}
