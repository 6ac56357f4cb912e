//! Names in the ruleset: config labels to kernel interface names, and RouterOS chain and
//! list names to nft identifiers that no nft version can mistake for a keyword.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use kith_config::{Config, InterfaceKind, MacAddress};

/// Longest nft identifier Kith writes (the kernel allows 256 bytes with the NUL).
pub const MAX_IDENT_LEN: usize = 255;

/// An nft identifier for a RouterOS name: `prefix` then the name, with every byte
/// outside `[A-Za-z0-9_-]` written as `.XX` (hex), so that two names never meet and the
/// result is always an identifier, never a keyword (`INPUT_WAN` with prefix `ip_` is
/// `ip_INPUT_WAN`, `my chain` is `ip_my.20chain`).
#[must_use]
pub fn ident(prefix: &str, name: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + name.len());
    out.push_str(prefix);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-' {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, ".{byte:02x}");
        }
    }
    out
}

/// The set of an interface list (`interface/list`), in every table that uses it.
#[must_use]
pub fn interface_list_set(list: &str) -> String {
    ident("iflist_", list)
}

/// The set of an IPv4 address list (`ip/firewall/address-list`).
#[must_use]
pub fn address_list_set(list: &str) -> String {
    ident("addrlist_", list)
}

/// The set of an IPv6 address list (`ipv6/firewall/address-list`).
#[must_use]
pub fn address_list6_set(list: &str) -> String {
    ident("addrlist6_", list)
}

/// Kernel names of the interfaces a config declares, by label.
///
/// An `interface/ethernet` entry is its NIC's name (`default-name`, or the NIC found by
/// `mac-address` among the kernel's links); every other interface (VLAN, bridge, bond,
/// tunnel) is created under [`kith_net::kernel_name`] of its label, so that is its name.
/// Rules match names (`iifname`), never interface indexes: a tunnel that goes and comes
/// back under the same name is matched again without a recompile.
#[derive(Debug, Clone, Default)]
pub struct InterfaceNames {
    by_label: HashMap<String, String>,
    /// Labels of interfaces that exist only while a peer is connected (tunnels).
    dynamic: Vec<String>,
    /// Ethernet labels bound by MAC address whose NIC was not found.
    unresolved: Vec<String>,
}

impl InterfaceNames {
    /// The kernel names of `config`'s interfaces; `nics` are the kernel's NIC names by
    /// MAC address (for ethernet entries bound by `mac-address` only).
    #[must_use]
    pub fn new(config: &Config, nics: &BTreeMap<MacAddress, String>) -> Self {
        let mut names = Self::default();
        for iface in config.interfaces() {
            let kernel = match &iface.kind {
                InterfaceKind::Ethernet {
                    default_name: Some(name),
                    ..
                } => name.clone(),
                InterfaceKind::Ethernet {
                    default_name: None,
                    mac_address,
                } => match mac_address.and_then(|mac| nics.get(&mac)) {
                    Some(name) => name.clone(),
                    None => {
                        names.unresolved.push(iface.name.clone());
                        kith_net::kernel_name(&iface.name)
                    }
                },
                InterfaceKind::OvpnServerBinding { .. }
                | InterfaceKind::OvpnClient
                | InterfaceKind::PppSecret => {
                    names.dynamic.push(iface.name.clone());
                    kith_net::kernel_name(&iface.name)
                }
                InterfaceKind::Vlan { .. }
                | InterfaceKind::Bonding { .. }
                | InterfaceKind::Bridge => kith_net::kernel_name(&iface.name),
            };
            names.by_label.entry(iface.name).or_insert(kernel);
        }
        names
    }

    /// The kernel name of the interface labelled `label` (for a label the config does
    /// not declare, the name `kith-net` would give it).
    #[must_use]
    pub fn kernel(&self, label: &str) -> String {
        self.by_label
            .get(label)
            .cloned()
            .unwrap_or_else(|| kith_net::kernel_name(label))
    }

    /// Labels of the tunnel interfaces (RouterOS's built-in list `dynamic`).
    #[must_use]
    pub fn dynamic(&self) -> &[String] {
        &self.dynamic
    }

    /// Whether the interface labelled `label` exists only while a peer is connected.
    #[must_use]
    pub fn is_dynamic(&self, label: &str) -> bool {
        self.dynamic.iter().any(|d| d == label)
    }

    /// Ethernet labels bound by MAC address whose NIC was not found; they are matched
    /// under a placeholder name that no NIC has.
    #[must_use]
    pub fn unresolved(&self) -> &[String] {
        &self.unresolved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_injective_and_plain() {
        assert_eq!(ident("ip_", "INPUT_WAN"), "ip_INPUT_WAN");
        assert_eq!(ident("iflist_", "ALL-WAN"), "iflist_ALL-WAN");
        assert_eq!(ident("ip_", "my chain"), "ip_my.20chain");
        assert_eq!(ident("ip_", "a.b"), "ip_a.2eb");
        assert_ne!(ident("ip_", "a.2eb"), ident("ip_", "a.b"));
        assert_eq!(ident("ip_", "é"), "ip_.c3.a9");
    }
}
