//! The compiler: a validated config to one [`Ruleset`], or every problem found with its
//! config location.
//!
//! Tables: `inet kith` holds the IPv4 and IPv6 filter (`input`, `forward`, `output` as
//! base chains, policy accept as RouterOS; custom chains reached by `jump`), every
//! interface list and address list as a named set, and the MSS clamp of tunnels;
//! `ip kith-nat` holds `srcnat`/`dstnat`; `ip kith-mangle` the explicit mangle rules.

mod actions;
mod chains;
mod limit;
mod matchers;
mod menu;
mod mss;
mod rule;
mod sets;
mod text;

use std::collections::BTreeMap;

use kith_config::{Config, Loc, MacAddress};

use self::chains::Chains;
use self::menu::{Kind, Menu};
use self::rule::RuleCx;
use self::sets::{Catalog, Used};
use crate::error::{CompileError, CompileWarning};
use crate::names::{InterfaceNames, MAX_IDENT_LEN, ident};
use crate::ruleset::{Chain, FILTER_TABLE, Ruleset, Table, TableId};

/// What the compiler needs to know beyond the config.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Kernel names of the NICs by MAC address, for `interface/ethernet` entries bound
    /// by `mac-address` alone (see [`crate::nics`]). Without it such NICs are matched
    /// under a placeholder name, with a warning.
    pub nics: BTreeMap<MacAddress, String>,
}

/// A compiled firewall and what the compiler had to say about it.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The ruleset; its `Display` is the text `nft -f` applies.
    pub ruleset: Ruleset,
    /// Things compiled, but not exactly as written.
    pub warnings: Vec<CompileWarning>,
}

/// Compiles the firewall of `config` (a config that passed validation).
///
/// # Errors
/// Every rule that cannot become nftables, each with its config location, sorted by
/// position: an unknown chain or list, a jump loop, a port on a protocol without ports,
/// a NAT action in the wrong chain, an action not supported yet.
pub fn compile(config: &Config, options: &Options) -> Result<Compiled, Vec<CompileError>> {
    let names = InterfaceNames::new(config, &options.nics);
    let catalog = Catalog::new(config, &names);
    let mut cx = Cx {
        names: &names,
        catalog: &catalog,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for label in names.unresolved() {
        cx.warnings.push(CompileWarning::new(
            interface_loc(config, label),
            format!(
                "interface {label}: no NIC with its mac-address found; its rules match nothing"
            ),
        ));
    }
    check_name_lengths(config, &mut cx.errors);
    let menus = [
        Menu {
            name: "ip/firewall/filter",
            kind: Kind::Filter,
            v6: false,
            rules: &config.ip.firewall.filter,
        },
        Menu {
            name: "ipv6/firewall/filter",
            kind: Kind::Filter,
            v6: true,
            rules: &config.ipv6.firewall.filter,
        },
        Menu {
            name: "ip/firewall/nat",
            kind: Kind::Nat,
            v6: false,
            rules: &config.ip.firewall.nat,
        },
        Menu {
            name: "ip/firewall/mangle",
            kind: Kind::Mangle,
            v6: false,
            rules: &config.ip.firewall.mangle,
        },
    ];
    let mut tables: Vec<Table> = Vec::new();
    let mut used_by: BTreeMap<&'static str, Used> = BTreeMap::new();
    for menu in &menus {
        let table_id = menu.table();
        if table_id != FILTER_TABLE && menu.rules.is_empty() {
            continue;
        }
        let used = used_by.entry(table_id.name).or_default();
        let chains = cx.menu(menu, used);
        if !tables.iter().any(|t| t.id == table_id) {
            tables.push(empty_table(table_id));
        }
        if let Some(table) = tables.iter_mut().find(|t| t.id == table_id) {
            merge_chains(table, chains);
        }
    }
    if let Some(clamp) = mss::chain(config, &names) {
        if let Some(filter) = tables.iter_mut().find(|t| t.id == FILTER_TABLE) {
            merge_chains(filter, vec![clamp]);
        }
    }
    for table in &mut tables {
        let used = used_by.remove(table.id.name).unwrap_or_default();
        table.sets = catalog.sets(&used, table.id == FILTER_TABLE);
    }
    let Cx {
        mut errors,
        mut warnings,
        ..
    } = cx;
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.loc);
        errors.dedup();
        return Err(errors);
    }
    warnings.sort_by_key(|w| w.loc);
    warnings.dedup();
    Ok(Compiled {
        ruleset: Ruleset { tables },
        warnings,
    })
}

/// The compiler's state over all menus.
struct Cx<'c> {
    names: &'c InterfaceNames,
    catalog: &'c Catalog,
    errors: Vec<CompileError>,
    warnings: Vec<CompileWarning>,
}

impl Cx<'_> {
    /// The chains of one menu: built-in chains first (always present in the filter
    /// table), then custom chains in order of first appearance.
    fn menu(&mut self, menu: &Menu<'_>, used: &mut Used) -> Vec<Chain> {
        let chains = Chains::new(menu, &mut self.errors);
        let nfproto = menu.table().family == crate::ruleset::Family::Inet;
        let mut out: Vec<Chain> = Vec::new();
        for (name, hook) in menu.builtin() {
            let rules = self.rules_of(menu, &chains, used, name, nfproto);
            if menu.kind == Kind::Filter || !rules.is_empty() || written(menu, name) {
                out.push(Chain {
                    name: (*name).to_owned(),
                    hook: Some(hook.clone()),
                    rules,
                });
            }
        }
        for name in &chains.custom {
            let rules = self.rules_of(menu, &chains, used, name, false);
            out.push(Chain {
                name: menu.chain_name(name),
                hook: None,
                rules,
            });
        }
        out
    }

    fn rules_of(
        &mut self,
        menu: &Menu<'_>,
        chains: &Chains<'_>,
        used: &mut Used,
        chain: &str,
        nfproto: bool,
    ) -> Vec<String> {
        let mut rules = Vec::new();
        for rule in menu.rules.iter().filter(|r| r.chain.value == chain) {
            let mut rcx = RuleCx {
                menu,
                chains,
                catalog: self.catalog,
                names: self.names,
                used,
                rule,
                errors: Vec::new(),
                warnings: Vec::new(),
            };
            let line = rule::compile(&mut rcx, nfproto);
            let RuleCx {
                errors, warnings, ..
            } = rcx;
            self.errors.extend(errors);
            self.warnings.extend(warnings);
            rules.extend(line);
        }
        rules
    }
}

/// Whether any rule (even disabled) is written for `chain`: a built-in NAT or mangle
/// chain is created only then.
fn written(menu: &Menu<'_>, chain: &str) -> bool {
    menu.rules.iter().any(|r| r.chain.value == chain)
}

fn empty_table(id: TableId) -> Table {
    Table {
        id,
        sets: Vec::new(),
        chains: Vec::new(),
    }
}

/// Adds a menu's chains to its table; a base chain that is already there (IPv4 and
/// IPv6 filter share `input`, `forward`, `output`) gets the new rules after its own.
fn merge_chains(table: &mut Table, chains: Vec<Chain>) {
    for chain in chains {
        match table.chains.iter_mut().find(|c| c.name == chain.name) {
            Some(existing) => existing.rules.extend(chain.rules),
            None => table.chains.push(chain),
        }
    }
    // Base chains first, custom chains after, each group in its order.
    table.chains.sort_by_key(|c| c.hook.is_none());
}

/// Where interface `label` is declared.
fn interface_loc(config: &Config, label: &str) -> Loc {
    config
        .interfaces()
        .into_iter()
        .find(|i| i.name == label)
        .map(|i| i.loc)
        .unwrap_or_default()
}

/// Reports chain and list names too long for an nft identifier.
fn check_name_lengths(config: &Config, errors: &mut Vec<CompileError>) {
    let lists = config
        .interface
        .list
        .add
        .iter()
        .map(|l| (&l.name, "iflist_"));
    let addresses = (config.ip.firewall.address_list.iter())
        .chain(&config.ipv6.firewall.address_list)
        .map(|e| (&e.list, "addrlist6_"));
    let rules = [
        &config.ip.firewall.filter,
        &config.ip.firewall.nat,
        &config.ip.firewall.mangle,
        &config.ipv6.firewall.filter,
    ];
    let chains = rules.into_iter().flatten().map(|r| (&r.chain, "ip6_"));
    for (name, prefix) in lists.chain(addresses).chain(chains) {
        if ident(prefix, name).len() > MAX_IDENT_LEN {
            errors.push(CompileError::new(
                name.loc,
                format!("name too long for nftables ({MAX_IDENT_LEN} bytes at most, special characters count 3)"),
            ));
        }
    }
}
