//! Semantic validation: references, duplicates, jump loops, and the warnings of `kith check`.

use std::collections::{HashMap, HashSet};

use crate::decode::suggest;
use crate::diag::{Loc, Located, Sink};
use crate::model::{
    AddressListEntry, Config, FirewallAction, FirewallRule, RouteType, RoutingAction,
    RoutingFilterRule,
};
use crate::values::{AddressSpec, Gateway, MacAddress, Negatable, VlanId};

/// An interface the configuration declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredInterface {
    /// The label used in the configuration.
    pub name: String,
    /// What creates it.
    pub kind: InterfaceKind,
    /// Where it is declared.
    pub loc: Loc,
}

/// What declares an interface, with what the supervisor needs to create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceKind {
    /// `interface/ethernet`: a NIC, by kernel name and/or MAC address.
    Ethernet {
        /// Kernel name of the NIC (`eth0`).
        default_name: Option<String>,
        /// MAC address of the NIC.
        mac_address: Option<MacAddress>,
    },
    /// `interface/vlan`: a VLAN on `parent`.
    Vlan {
        /// Parent interface label.
        parent: String,
        /// VLAN id.
        id: VlanId,
    },
    /// `interface/bonding`.
    Bonding {
        /// Member interface labels.
        slaves: Vec<String>,
    },
    /// `interface/bridge`.
    Bridge,
    /// `interface/ovpn-server` binding: the tunnel of account `user`.
    OvpnServerBinding {
        /// The `ppp/secret` name.
        user: String,
    },
    /// `interface/ovpn-client`.
    OvpnClient,
    /// A `ppp/secret` without binding: the tunnel of that account, named after it.
    PppSecret,
}

impl Config {
    /// Every interface the configuration declares, in creation order:
    /// ethernet, bonding, vlan, bridge, ovpn-server bindings, ovpn clients,
    /// then the accounts (`ppp/secret`) that no binding names.
    #[must_use]
    pub fn interfaces(&self) -> Vec<DeclaredInterface> {
        let i = &self.interface;
        let mut out = Vec::new();
        let mut push = |name: &Located<String>, kind: InterfaceKind| {
            out.push(DeclaredInterface {
                name: name.value.clone(),
                kind,
                loc: name.loc,
            });
        };
        for e in &i.ethernet {
            push(
                &e.name,
                InterfaceKind::Ethernet {
                    default_name: e.default_name.as_ref().map(|n| n.value.clone()),
                    mac_address: e.mac_address,
                },
            );
        }
        for b in &i.bonding {
            let slaves = b.slaves.iter().map(|s| s.value.clone()).collect();
            push(&b.name, InterfaceKind::Bonding { slaves });
        }
        for v in &i.vlan {
            let parent = v.interface.value.clone();
            push(
                &v.name,
                InterfaceKind::Vlan {
                    parent,
                    id: v.vlan_id,
                },
            );
        }
        for b in &i.bridge.add {
            push(&b.name, InterfaceKind::Bridge);
        }
        for b in &i.ovpn_server.add {
            let user = b.user.value.clone();
            push(&b.name, InterfaceKind::OvpnServerBinding { user });
        }
        for c in &i.ovpn_client {
            push(&c.name, InterfaceKind::OvpnClient);
        }
        let bound: HashSet<&str> = i.ovpn_server.add.iter().map(|b| b.user.as_str()).collect();
        for s in &self.ppp.secret {
            if !bound.contains(s.name.as_str()) {
                push(&s.name, InterfaceKind::PppSecret);
            }
        }
        out
    }
}

/// A namespace of declared names (interfaces, lists, chains...), in declaration order.
struct Names<'a> {
    kind: &'static str,
    order: Vec<&'a str>,
    locs: HashMap<&'a str, Loc>,
}

impl<'a> Names<'a> {
    fn new(kind: &'static str) -> Self {
        Self {
            kind,
            order: Vec::new(),
            locs: HashMap::new(),
        }
    }

    /// A name that exists without being written (RouterOS built-ins).
    fn builtin(mut self, names: &[&'a str]) -> Self {
        for name in names {
            self.order.push(name);
            self.locs.insert(name, Loc::default());
        }
        self
    }

    /// Declares `name`, reporting a duplicate.
    fn declare(&mut self, name: &'a Located<String>, sink: &mut Sink) {
        if name.is_empty() {
            return;
        }
        match self.locs.get(name.as_str()) {
            Some(first) if *first == Loc::default() => sink.error(
                name.loc,
                format!("duplicate {} `{}` (built in)", self.kind, name.value),
            ),
            Some(first) => sink.error(
                name.loc,
                format!(
                    "duplicate {} `{}` (first declared at {first})",
                    self.kind, name.value
                ),
            ),
            None => {
                self.order.push(name.as_str());
                self.locs.insert(name.as_str(), name.loc);
            }
        }
    }

    /// Declares without duplicate check (a chain has many rules).
    fn declare_quietly(&mut self, name: &'a str, loc: Loc) {
        if !name.is_empty() && !self.locs.contains_key(name) {
            self.order.push(name);
            self.locs.insert(name, loc);
        }
    }

    fn contains(&self, name: &str) -> bool {
        self.locs.contains_key(name)
    }

    /// Reports `name` if it is not declared.
    fn check(&self, name: &Located<String>, sink: &mut Sink) {
        self.check_defaulted(name, "", Loc::default(), sink);
    }

    /// Reports `name` if it is not declared; a value that was not written
    /// (the default of `key`) is reported at its `entry`.
    fn check_defaulted(&self, name: &Located<String>, key: &str, entry: Loc, sink: &mut Sink) {
        if name.is_empty() || self.contains(name.as_str()) {
            return;
        }
        let mut message = format!("undefined {} `{}`", self.kind, name.value);
        let mut loc = name.loc;
        if loc == Loc::default() && !key.is_empty() {
            message.push_str(&format!(" (the default of `{key}`)"));
            loc = entry;
        }
        if let Some(best) = suggest(name.as_str(), &self.order) {
            message.push_str(&format!("; did you mean `{best}`?"));
        }
        sink.error(loc, message);
    }
}

pub(crate) fn validate(config: &Config, sink: &mut Sink) {
    let interfaces = check_interfaces(config, sink);
    let mut lists = Names::new("interface list").builtin(&["all", "none", "dynamic", "static"]);
    for list in &config.interface.list.add {
        lists.declare(&list.name, sink);
    }
    let refs = Refs {
        interfaces: &interfaces,
        lists: &lists,
    };
    check_interface_refs(config, &refs, sink);
    check_ppp(config, sink);
    check_ip(config, &refs, sink);
    check_firewall(config, &refs, sink);
    check_routing(config, &refs, sink);
    let mut users = Names::new("user");
    for user in &config.user {
        users.declare(&user.name, sink);
    }
}

struct Refs<'r, 'a> {
    interfaces: &'r Names<'a>,
    lists: &'r Names<'a>,
}

impl Refs<'_, '_> {
    fn interface(&self, name: &Located<String>, sink: &mut Sink) {
        self.interfaces.check(name, sink);
    }

    fn interface_match(&self, m: Option<&Negatable<Located<String>>>, sink: &mut Sink) {
        if let Some(m) = m {
            self.interfaces.check(&m.value, sink);
        }
    }

    fn list_match(&self, m: Option<&Negatable<Located<String>>>, sink: &mut Sink) {
        if let Some(m) = m {
            self.lists.check(&m.value, sink);
        }
    }

    fn gateways<A>(&self, gateways: &[Gateway<A>], sink: &mut Sink) {
        for gateway in gateways {
            if let Gateway::Interface(name) = gateway {
                self.interface(name, sink);
            }
        }
    }
}

/// Declares every interface, reporting duplicates at the later declaration.
fn check_interfaces<'a>(config: &'a Config, sink: &mut Sink) -> Names<'a> {
    let i = &config.interface;
    let bound: HashSet<&str> = i.ovpn_server.add.iter().map(|b| b.user.as_str()).collect();
    let mut decls: Vec<&Located<String>> = Vec::new();
    decls.extend(i.ethernet.iter().map(|e| &e.name));
    decls.extend(i.vlan.iter().map(|v| &v.name));
    decls.extend(i.bonding.iter().map(|b| &b.name));
    decls.extend(i.bridge.add.iter().map(|b| &b.name));
    decls.extend(i.ovpn_server.add.iter().map(|b| &b.name));
    decls.extend(i.ovpn_client.iter().map(|c| &c.name));
    // An account declares the interface of its session, unless a binding
    // names that interface. A binding named like its account is one interface.
    // A repeated account is reported as a duplicate secret, not twice.
    let mut accounts = HashSet::new();
    decls.extend(
        config
            .ppp
            .secret
            .iter()
            .filter(|s| !bound.contains(s.name.as_str()) && accounts.insert(s.name.as_str()))
            .map(|s| &s.name),
    );
    decls.sort_by_key(|name| name.loc);
    let mut names = Names::new("interface");
    for name in decls {
        names.declare(name, sink);
    }

    let mut nics = Names::new("default-name");
    for e in &i.ethernet {
        if let Some(default_name) = &e.default_name {
            nics.declare(default_name, sink);
        }
    }
    let mut vlans: HashMap<(&str, VlanId), Loc> = HashMap::new();
    for v in &i.vlan {
        if sink.is_tainted(v.loc) {
            continue;
        }
        if let Some(first) = vlans.insert((v.interface.as_str(), v.vlan_id), v.name.loc) {
            sink.error(
                v.name.loc,
                format!(
                    "vlan-id {} on `{}` is already used by the vlan at {first}",
                    v.vlan_id, v.interface.value
                ),
            );
        }
    }
    names
}

fn check_interface_refs(config: &Config, refs: &Refs<'_, '_>, sink: &mut Sink) {
    let i = &config.interface;
    for v in &i.vlan {
        if v.interface.value == v.name.value && !v.name.is_empty() {
            sink.error(v.interface.loc, "a vlan cannot be its own parent");
        } else {
            refs.interface(&v.interface, sink);
        }
    }
    // An interface is a port of at most one bridge and a slave of at most one bond.
    let mut enslaved: HashMap<&str, (&str, Loc)> = HashMap::new();
    for b in &i.bonding {
        for slave in &b.slaves {
            enslave(&mut enslaved, slave, b.name.as_str(), sink);
        }
    }
    for port in i.bridge.port.iter().filter(|p| !p.disabled) {
        enslave(&mut enslaved, &port.interface, port.bridge.as_str(), sink);
    }
    for b in &i.bonding {
        if b.slaves.is_empty() && !sink.is_tainted(b.loc) {
            sink.error(
                b.name.loc,
                format!("bonding `{}` has no slaves", b.name.value),
            );
        }
        for slave in &b.slaves {
            refs.interface(slave, sink);
        }
    }
    let bridges: HashSet<&str> = i.bridge.add.iter().map(|b| b.name.as_str()).collect();
    for port in &i.bridge.port {
        if refs.interfaces.contains(port.bridge.as_str()) && !bridges.contains(port.bridge.as_str())
        {
            sink.error(
                port.bridge.loc,
                format!("`{}` is not a bridge", port.bridge.value),
            );
        } else {
            refs.interface(&port.bridge, sink);
        }
        refs.interface(&port.interface, sink);
    }
    for member in &i.list.member {
        refs.lists.check(&member.list, sink);
        refs.interface(&member.interface, sink);
    }
}

/// Records that `iface` belongs to `owner` (a bond or a bridge), reporting a second owner.
fn enslave<'a>(
    enslaved: &mut HashMap<&'a str, (&'a str, Loc)>,
    iface: &'a Located<String>,
    owner: &'a str,
    sink: &mut Sink,
) {
    if iface.is_empty() {
        return;
    }
    match enslaved.get(iface.as_str()) {
        Some((first, loc)) => sink.error(
            iface.loc,
            format!(
                "`{}` is already a member of `{first}` (at {loc})",
                iface.value
            ),
        ),
        None => {
            enslaved.insert(iface.as_str(), (owner, iface.loc));
        }
    }
}

fn check_ppp(config: &Config, sink: &mut Sink) {
    let mut profiles = Names::new("ppp profile");
    let mut builtin = Names::new("ppp profile").builtin(&["default", "default-encryption"]);
    for profile in &config.ppp.profile {
        profiles.declare(&profile.name, sink);
        builtin.declare_quietly(profile.name.as_str(), profile.name.loc);
    }
    let mut secrets = Names::new("ppp secret");
    for secret in &config.ppp.secret {
        secrets.declare(&secret.name, sink);
        builtin.check_defaulted(&secret.profile, "profile", secret.loc, sink);
    }
    let server = &config.interface.ovpn_server;
    builtin.check_defaulted(
        &server.server.default_profile,
        "default-profile",
        server.server.loc,
        sink,
    );
    for binding in &server.add {
        secrets.check(&binding.user, sink);
    }
    let srv = &server.server;
    check_tls_keys(&srv.tls_auth, &srv.tls_crypt, srv.loc, sink);
    for client in &config.interface.ovpn_client {
        builtin.check_defaulted(&client.profile, "profile", client.loc, sink);
        check_tls_keys(&client.tls_auth, &client.tls_crypt, client.loc, sink);
    }
}

/// `tls-auth` and `tls-crypt` name a key of the PKI's `tls/` directory; one of them.
fn check_tls_keys(auth: &Option<String>, crypt: &Option<String>, loc: Loc, sink: &mut Sink) {
    if auth.is_some() && crypt.is_some() {
        sink.error(
            loc,
            "tls-auth and tls-crypt exclude each other: keep one (tls-crypt also hides the handshake)",
        );
    }
    for (what, name) in [("tls-auth", auth), ("tls-crypt", crypt)] {
        let Some(name) = name else { continue };
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok {
            sink.error(
                loc,
                format!(
                    "{what} `{name}` is not a key name (letters, digits, `-`, `_`, `.`; made by `kith pki tls-key NAME`)"
                ),
            );
        }
    }
}

fn check_ip(config: &Config, refs: &Refs<'_, '_>, sink: &mut Sink) {
    for a in &config.ip.address {
        refs.interface(&a.interface, sink);
    }
    for a in &config.ipv6.address {
        refs.interface(&a.interface, sink);
    }
    for r in &config.ip.route {
        refs.gateways(&r.gateway, sink);
        if !sink.is_tainted(r.loc) {
            check_route_type(r.route_type, r.gateway.is_empty(), r.loc, sink);
        }
        let probe = [&r.check_gateway_threshold, &r.check_gateway_recovery];
        check_route_probe(&r.check_gateway_interval, probe, r.loc, sink);
    }
    for r in &config.ipv6.route {
        refs.gateways(&r.gateway, sink);
        if !sink.is_tainted(r.loc) {
            check_route_type(r.route_type, r.gateway.is_empty(), r.loc, sink);
        }
        let probe = [&r.check_gateway_threshold, &r.check_gateway_recovery];
        check_route_probe(&r.check_gateway_interval, probe, r.loc, sink);
    }
}

/// `check-gateway-interval` (100ms..1h), `check-gateway-threshold` and
/// `check-gateway-recovery` (at least 1): the Kith probe timing of a route.
fn check_route_probe(
    interval: &Located<crate::values::Duration>,
    [threshold, recovery]: [&Located<u8>; 2],
    loc: Loc,
    sink: &mut Sink,
) {
    let value = interval.get();
    if value < std::time::Duration::from_millis(100) || value > std::time::Duration::from_secs(3600)
    {
        sink.error(
            at(interval.loc, loc),
            format!(
                "check-gateway-interval must be between 100ms and 1h, not {}",
                **interval
            ),
        );
    }
    for (count, key) in [
        (threshold, "check-gateway-threshold"),
        (recovery, "check-gateway-recovery"),
    ] {
        if **count == 0 {
            sink.error(at(count.loc, loc), format!("{key} must be at least 1"));
        }
    }
}

fn check_route_type(route_type: RouteType, no_gateway: bool, loc: Loc, sink: &mut Sink) {
    match (route_type, no_gateway) {
        (RouteType::Unicast, true) => sink.error(loc, "a unicast route needs a gateway"),
        (RouteType::Unicast, false) | (_, true) => {}
        (other, false) => sink.error(loc, format!("a {other} route has no gateway")),
    }
}

/// Which firewall table a rule list is, for the allowed actions and built-in chains.
struct Table<'a> {
    menu: &'static str,
    ipv6: bool,
    actions: &'static [FirewallAction],
    builtin: &'static [&'static str],
    rules: &'a [FirewallRule],
}

fn check_firewall(config: &Config, refs: &Refs<'_, '_>, sink: &mut Sink) {
    let filter_chains: &[&str] = &["input", "forward", "output"];
    let tables = [
        Table {
            menu: "ip/firewall/filter",
            ipv6: false,
            actions: FirewallAction::FILTER,
            builtin: filter_chains,
            rules: &config.ip.firewall.filter,
        },
        Table {
            menu: "ip/firewall/nat",
            ipv6: false,
            actions: FirewallAction::NAT,
            builtin: &["srcnat", "dstnat"],
            rules: &config.ip.firewall.nat,
        },
        Table {
            menu: "ip/firewall/mangle",
            ipv6: false,
            actions: FirewallAction::MANGLE,
            builtin: &["prerouting", "input", "forward", "output", "postrouting"],
            rules: &config.ip.firewall.mangle,
        },
        Table {
            menu: "ipv6/firewall/filter",
            ipv6: true,
            actions: FirewallAction::FILTER,
            builtin: filter_chains,
            rules: &config.ipv6.firewall.filter,
        },
    ];
    for table in &tables {
        check_table(table, refs, sink);
    }
    check_address_lists(&config.ip.firewall.address_list, false, sink);
    check_address_lists(&config.ipv6.firewall.address_list, true, sink);
}

fn check_address_lists(entries: &[AddressListEntry], ipv6: bool, sink: &mut Sink) {
    let menu = if ipv6 {
        "ipv6/firewall/address-list"
    } else {
        "ip/firewall/address-list"
    };
    for entry in entries {
        check_family(&entry.address, ipv6, menu, sink);
    }
}

fn check_family(address: &Located<AddressSpec>, ipv6: bool, menu: &str, sink: &mut Sink) {
    let family = match (address.is_ipv6(), ipv6) {
        (true, false) => "IPv6",
        (false, true) => "IPv4",
        _ => return,
    };
    sink.error(
        address.loc,
        format!("{family} address `{}` in {menu}", address.value),
    );
}

/// `loc`, or `fallback` when the value was not written (a default).
fn at(loc: Loc, fallback: Loc) -> Loc {
    if loc == Loc::default() { fallback } else { loc }
}

fn check_table(table: &Table<'_>, refs: &Refs<'_, '_>, sink: &mut Sink) {
    let mut chains = Names::new("firewall chain").builtin(table.builtin);
    for rule in table.rules {
        chains.declare_quietly(rule.chain.as_str(), rule.chain.loc);
    }
    let mut edges: Vec<Edge<'_>> = Vec::new();
    for rule in table.rules {
        let action = *rule.action;
        let action_loc = at(rule.action.loc, rule.loc);
        if !table.actions.contains(&action) {
            let allowed: Vec<&str> = table.actions.iter().map(|a| a.as_str()).collect();
            sink.error(
                action_loc,
                format!(
                    "action {action} is not allowed in {}; expected one of {}",
                    table.menu,
                    allowed.join(", ")
                ),
            );
        }
        match (action, &rule.jump_target) {
            (FirewallAction::Jump, None) => {
                sink.error(action_loc, "action jump needs a jump-target")
            }
            (FirewallAction::Jump, Some(target)) => {
                chains.check(target, sink);
                if !rule.disabled && chains.contains(target.as_str()) {
                    edges.push(Edge {
                        from: rule.chain.as_str(),
                        to: target.as_str(),
                        loc: target.loc,
                    });
                }
            }
            (_, Some(target)) => {
                sink.warning(target.loc, "jump-target without action=jump has no effect");
            }
            (_, None) => {}
        }
        for (key, ports) in [("src-port", &rule.src_port), ("dst-port", &rule.dst_port)] {
            let Some(ports) = ports else { continue };
            if sink.is_tainted(rule.loc) {
                continue;
            }
            match &rule.protocol {
                Some(p) if p.has_ports() => {}
                Some(p) => sink.error(
                    ports.loc,
                    format!(
                        "{key} needs protocol tcp, udp, udp-lite, sctp or dccp, not {}",
                        p.value
                    ),
                ),
                None => sink.error(
                    ports.loc,
                    format!("{key} needs protocol tcp, udp, udp-lite, sctp or dccp"),
                ),
            }
        }
        for address in [&rule.src_address, &rule.dst_address].into_iter().flatten() {
            check_family(&address.value, table.ipv6, table.menu, sink);
        }
        if let Some(to) = &rule.to_addresses {
            check_family(to, table.ipv6, table.menu, sink);
        }
        refs.interface_match(rule.in_interface.as_ref(), sink);
        refs.interface_match(rule.out_interface.as_ref(), sink);
        refs.list_match(rule.in_interface_list.as_ref(), sink);
        refs.list_match(rule.out_interface_list.as_ref(), sink);
    }
    report_loops(&chains.order, &edges, sink);
}

/// A jump from one chain to another, at the `jump-target` value.
struct Edge<'a> {
    from: &'a str,
    to: &'a str,
    loc: Loc,
}

/// Reports every jump that closes a loop, with the loop: `jump loop: A -> B -> A`.
fn report_loops(order: &[&str], edges: &[Edge<'_>], sink: &mut Sink) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        OnStack,
        Done,
    }
    let mut out: HashMap<&str, Vec<&Edge<'_>>> = HashMap::new();
    for edge in edges {
        out.entry(edge.from).or_default().push(edge);
    }
    let mut state: HashMap<&str, State> = order.iter().map(|c| (*c, State::New)).collect();
    for start in order {
        if state.get(start) != Some(&State::New) {
            continue;
        }
        // Iterative depth-first search: (chain, next edge index).
        let mut stack: Vec<(&str, usize)> = vec![(start, 0)];
        state.insert(start, State::OnStack);
        while let Some((chain, index)) = stack.last().copied() {
            let next = out.get(chain).and_then(|e| e.get(index)).copied();
            let Some(edge) = next else {
                state.insert(chain, State::Done);
                stack.pop();
                continue;
            };
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            match state.get(edge.to).copied().unwrap_or(State::Done) {
                State::New => {
                    state.insert(edge.to, State::OnStack);
                    stack.push((edge.to, 0));
                }
                State::OnStack => {
                    let from = stack.iter().position(|(c, _)| *c == edge.to).unwrap_or(0);
                    let mut path: Vec<&str> = stack.iter().skip(from).map(|(c, _)| *c).collect();
                    path.push(edge.to);
                    sink.error(edge.loc, format!("jump loop: {}", path.join(" -> ")));
                }
                State::Done => {}
            }
        }
    }
}

fn check_routing(config: &Config, refs: &Refs<'_, '_>, sink: &mut Sink) {
    let rules = &config.routing.filter;
    let mut chains = Names::new("routing filter chain");
    for rule in rules {
        chains.declare_quietly(rule.chain.as_str(), rule.chain.loc);
    }
    let mut edges = Vec::new();
    for rule in rules {
        let action_loc = at(rule.action.loc, rule.loc);
        match (*rule.action, &rule.jump_target) {
            (RoutingAction::Jump, None) => {
                sink.error(action_loc, "action jump needs a jump-target")
            }
            (RoutingAction::Jump, Some(target)) => {
                chains.check(target, sink);
                if !rule.disabled && chains.contains(target.as_str()) {
                    edges.push(Edge {
                        from: rule.chain.as_str(),
                        to: target.as_str(),
                        loc: target.loc,
                    });
                }
            }
            (_, Some(target)) => {
                sink.warning(target.loc, "jump-target without action=jump has no effect");
            }
            (_, None) => {}
        }
        if let (Some(prefix), Some(length)) = (&rule.prefix, &rule.prefix_length) {
            let max = prefix.max_prefix_len();
            if length.max > max {
                sink.error(
                    length.loc,
                    format!(
                        "prefix-length {} goes beyond /{max}, the longest prefix of `{}`",
                        length.value, prefix.value
                    ),
                );
            }
        }
    }
    report_loops(&chains.order, &edges, sink);

    let bgp = &config.routing.bgp;
    let mut instances = Names::new("bgp instance");
    for instance in &bgp.instance {
        instances.declare(&instance.name, sink);
        if let Some(out) = &instance.out_filter {
            chains.check(out, sink);
        }
    }
    let mut peers = Names::new("bgp peer");
    let mut in_filters: Vec<&str> = Vec::new();
    let mut sessions: HashMap<(&str, std::net::IpAddr), &str> = HashMap::new();
    for peer in &bgp.peer {
        peers.declare(&peer.name, sink);
        let session = (peer.instance.as_str(), peer.remote_address);
        if let Some(first) = sessions.get(&session) {
            if !sink.is_tainted(peer.loc) {
                sink.error(
                    peer.name.loc,
                    format!(
                        "bgp peer `{first}` already has remote-address {} in instance `{}`",
                        peer.remote_address, peer.instance.value
                    ),
                );
            }
        } else {
            sessions.insert(session, peer.name.as_str());
        }
        instances.check_defaulted(&peer.instance, "instance", peer.loc, sink);
        for filter in [&peer.in_filter, &peer.out_filter].into_iter().flatten() {
            chains.check(filter, sink);
        }
        if let Some(filter) = &peer.in_filter {
            if chains.contains(filter.as_str()) && !in_filters.contains(&filter.as_str()) {
                in_filters.push(filter.as_str());
            }
        }
        if let Some(Gateway::Interface(name)) = &peer.update_source {
            refs.interface(name, sink);
        }
        if peer.local_address.is_some() && peer.update_source.is_some() {
            sink.error(
                peer.name.loc,
                "set local-address or update-source, not both",
            );
        }
        let hold = peer.hold_time.get();
        if !hold.is_zero() && hold < std::time::Duration::from_secs(3) {
            sink.error(
                at(peer.hold_time.loc, peer.loc),
                "hold-time must be 0 or at least 3s",
            );
        }
        let instance = bgp
            .instance
            .iter()
            .find(|i| i.name.value == peer.instance.value);
        if let Some(instance) = instance {
            if instance.asn != *peer.remote_as && peer.in_filter.is_none() {
                sink.warning(
                    peer.name.loc,
                    format!(
                        "eBGP peer `{}` has no in-filter: it accepts every route (RFC 8212 risk)",
                        peer.name.value
                    ),
                );
            }
        }
    }
    for chain in in_filters {
        if !ends_terminally(rules, chain, &mut Vec::new()) {
            let last = rules
                .iter()
                .rev()
                .find(|r| r.chain.value == chain && !r.disabled);
            let last = last.or_else(|| rules.iter().rev().find(|r| r.chain.value == chain));
            if let Some(rule) = last {
                sink.warning(
                    rule.chain.loc,
                    format!(
                        "chain {chain} ends without a discard or reject: unmatched routes are accepted"
                    ),
                );
            }
        }
    }
}

/// Whether a routing filter chain decides every route itself: its last active
/// rule matches everything and accepts, discards or rejects, or jumps to a
/// chain that does.
fn ends_terminally<'a>(
    rules: &'a [RoutingFilterRule],
    chain: &'a str,
    seen: &mut Vec<&'a str>,
) -> bool {
    if seen.contains(&chain) {
        return false;
    }
    seen.push(chain);
    let Some(last) = rules
        .iter()
        .rev()
        .find(|r| r.chain.value == chain && !r.disabled)
    else {
        return false;
    };
    if !last.matches_all() {
        return false;
    }
    match *last.action {
        RoutingAction::Accept | RoutingAction::Discard | RoutingAction::Reject => true,
        RoutingAction::Jump => last
            .jump_target
            .as_ref()
            .is_some_and(|t| ends_terminally(rules, t.as_str(), seen)),
        RoutingAction::Return | RoutingAction::Log | RoutingAction::Passthrough => false,
    }
}
