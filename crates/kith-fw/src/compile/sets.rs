//! Interface lists and address lists as named sets, and which sets each table uses.

use std::collections::BTreeSet;

use kith_config::{AddressListEntry, AddressSpec, Config};

use super::text;
use crate::names::{InterfaceNames, address_list_set, address_list6_set, interface_list_set};
use crate::ruleset::{Set, SetType};

/// Every list of the config, ready to become sets.
#[derive(Debug)]
pub struct Catalog {
    /// Interface lists (`interface/list`) with their members' kernel names, declared
    /// lists first, then RouterOS's `dynamic` and `static`.
    interface_lists: Vec<(String, Vec<String>)>,
    /// How many of `interface_lists` the config declares.
    declared: usize,
    /// IPv4 address lists with their active entries, in order of first appearance.
    address_lists: Vec<(String, Vec<AddressSpec>)>,
    /// IPv6 address lists.
    address_lists6: Vec<(String, Vec<AddressSpec>)>,
}

/// The lists a table's rules use.
#[derive(Debug, Default)]
pub struct Used {
    /// Interface lists.
    pub interface_lists: BTreeSet<String>,
    /// IPv4 address lists.
    pub address_lists: BTreeSet<String>,
    /// IPv6 address lists.
    pub address_lists6: BTreeSet<String>,
}

impl Catalog {
    /// Reads the lists of `config`, naming interfaces with `names`.
    pub fn new(config: &Config, names: &InterfaceNames) -> Self {
        let mut interface_lists: Vec<(String, Vec<String>)> = config
            .interface
            .list
            .add
            .iter()
            .map(|l| (l.name.value.clone(), Vec::new()))
            .collect();
        for member in config.interface.list.member.iter().filter(|m| !m.disabled) {
            if let Some((_, members)) = interface_lists
                .iter_mut()
                .find(|(name, _)| *name == member.list.value)
            {
                push_unique(members, names.kernel(&member.interface));
            }
        }
        let declared = interface_lists.len();
        let mut dynamic = Vec::new();
        let mut fixed = Vec::new();
        for iface in config.interfaces() {
            let list = if names.is_dynamic(&iface.name) {
                &mut dynamic
            } else {
                &mut fixed
            };
            push_unique(list, names.kernel(&iface.name));
        }
        interface_lists.push(("dynamic".to_owned(), dynamic));
        interface_lists.push(("static".to_owned(), fixed));
        Self {
            interface_lists,
            declared,
            address_lists: address_lists(&config.ip.firewall.address_list),
            address_lists6: address_lists(&config.ipv6.firewall.address_list),
        }
    }

    /// Whether interface list `name` exists (declared, or `dynamic`/`static`).
    pub fn has_interface_list(&self, name: &str) -> bool {
        self.interface_lists.iter().any(|(n, _)| n == name)
    }

    /// Whether address list `name` of the family exists (has an entry, even disabled).
    pub fn has_address_list(&self, name: &str, v6: bool) -> bool {
        let lists = if v6 {
            &self.address_lists6
        } else {
            &self.address_lists
        };
        lists.iter().any(|(n, _)| n == name)
    }

    /// The sets of a table: every declared list (`all`) or only those `used`, in
    /// config order.
    pub fn sets(&self, used: &Used, all: bool) -> Vec<Set> {
        let mut sets = Vec::new();
        for (i, (name, members)) in self.interface_lists.iter().enumerate() {
            if (all && i < self.declared) || used.interface_lists.contains(name) {
                sets.push(Set {
                    name: interface_list_set(name),
                    kind: SetType::Ifname,
                    elements: members.iter().map(|m| format!("\"{m}\"")).collect(),
                });
            }
        }
        for (name, entries) in &self.address_lists {
            if all || used.address_lists.contains(name) {
                sets.push(Set {
                    name: address_list_set(name),
                    kind: SetType::Ipv4,
                    elements: text::address_elements(entries, false),
                });
            }
        }
        for (name, entries) in &self.address_lists6 {
            if all || used.address_lists6.contains(name) {
                sets.push(Set {
                    name: address_list6_set(name),
                    kind: SetType::Ipv6,
                    elements: text::address_elements(entries, true),
                });
            }
        }
        sets
    }
}

fn address_lists(entries: &[AddressListEntry]) -> Vec<(String, Vec<AddressSpec>)> {
    let mut lists: Vec<(String, Vec<AddressSpec>)> = Vec::new();
    for entry in entries {
        let index = match lists.iter().position(|(n, _)| *n == entry.list.value) {
            Some(i) => i,
            None => {
                lists.push((entry.list.value.clone(), Vec::new()));
                lists.len() - 1
            }
        };
        if !entry.disabled {
            if let Some((_, specs)) = lists.get_mut(index) {
                specs.push(entry.address.value);
            }
        }
    }
    lists
}

fn push_unique(list: &mut Vec<String>, name: String) {
    if !list.contains(&name) {
        list.push(name);
    }
}
