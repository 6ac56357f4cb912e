//! A RouterOS rule menu (`ip/firewall/filter`, `nat`, `mangle`, `ipv6/firewall/filter`):
//! its table, built-in chains and their hooks, and how its chains are named in nft.

use kith_config::FirewallRule;

use crate::names::ident;
use crate::ruleset::{FILTER_TABLE, Hook, MANGLE_TABLE, NAT_TABLE, TableId};

/// What a menu does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `filter`: input, forward, output.
    Filter,
    /// `nat`: srcnat, dstnat.
    Nat,
    /// `mangle`: prerouting, input, forward, output, postrouting.
    Mangle,
}

/// One rule menu of the config.
#[derive(Debug, Clone, Copy)]
pub struct Menu<'a> {
    /// The RouterOS menu, for messages (`ip/firewall/filter`).
    pub name: &'static str,
    /// Filter, NAT or mangle.
    pub kind: Kind,
    /// Whether it is an `ipv6` menu.
    pub v6: bool,
    /// Its rules, in order.
    pub rules: &'a [FirewallRule],
}

const FILTER: &[(&str, Hook)] = &[
    ("input", hook("filter", "input", "filter")),
    ("forward", hook("filter", "forward", "filter")),
    ("output", hook("filter", "output", "filter")),
];
const NAT: &[(&str, Hook)] = &[
    ("srcnat", hook("nat", "postrouting", "srcnat")),
    ("dstnat", hook("nat", "prerouting", "dstnat")),
];
const MANGLE: &[(&str, Hook)] = &[
    ("prerouting", hook("filter", "prerouting", "mangle")),
    ("input", hook("filter", "input", "mangle")),
    ("forward", hook("filter", "forward", "mangle")),
    ("output", hook("route", "output", "mangle")),
    ("postrouting", hook("filter", "postrouting", "mangle")),
];

const fn hook(kind: &'static str, hook: &'static str, priority: &'static str) -> Hook {
    Hook {
        kind,
        hook,
        priority,
    }
}

impl<'a> Menu<'a> {
    /// The built-in chains with their hooks, in RouterOS order.
    pub fn builtin(&self) -> &'static [(&'static str, Hook)] {
        match self.kind {
            Kind::Filter => FILTER,
            Kind::Nat => NAT,
            Kind::Mangle => MANGLE,
        }
    }

    /// The names of the built-in chains.
    pub fn builtin_names(&self) -> &'static [&'static str] {
        match self.kind {
            Kind::Filter => &["input", "forward", "output"],
            Kind::Nat => &["srcnat", "dstnat"],
            Kind::Mangle => &["prerouting", "input", "forward", "output", "postrouting"],
        }
    }

    /// Whether `chain` is one of the built-in chains.
    pub fn is_builtin(&self, chain: &str) -> bool {
        self.builtin_names().contains(&chain)
    }

    /// The table the menu's rules go to.
    pub fn table(&self) -> TableId {
        match self.kind {
            Kind::Filter => FILTER_TABLE,
            Kind::Nat => NAT_TABLE,
            Kind::Mangle => MANGLE_TABLE,
        }
    }

    /// The nft name of a chain: a built-in chain keeps its name; a custom chain gets
    /// the menu family's prefix (`INPUT_WAN` is `ip_INPUT_WAN`, `ip6_INPUT_WAN` in IPv6),
    /// so names never clash with built-in chains, nft keywords or the other family.
    pub fn chain_name(&self, chain: &str) -> String {
        if self.is_builtin(chain) {
            chain.to_owned()
        } else if self.v6 {
            ident("ip6_", chain)
        } else {
            ident("ip_", chain)
        }
    }

    /// The address family keyword of matches (`ip saddr`, `ip6 saddr`).
    pub fn ip(&self) -> &'static str {
        if self.v6 { "ip6" } else { "ip" }
    }
}
