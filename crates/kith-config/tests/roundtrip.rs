//! Property: a generated, consistent configuration survives `export` then `load_str` unchanged.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use kith_config::*;
use proptest::prelude::*;

/// Pulls values out of proptest-generated numbers and texts, so that
/// shrinking the numbers towards 0 shrinks the configuration.
struct Gen<'a> {
    nums: &'a [u32],
    texts: &'a [String],
    i: usize,
    t: usize,
}

impl Gen<'_> {
    fn raw(&mut self) -> u32 {
        let v = self
            .nums
            .get(self.i % self.nums.len().max(1))
            .copied()
            .unwrap_or(0);
        self.i += 1;
        v
    }
    fn below(&mut self, bound: u32) -> u32 {
        self.raw() % bound.max(1)
    }
    fn flag(&mut self) -> bool {
        self.below(2) == 1
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        let index = self.below(u32::try_from(items.len()).unwrap_or(u32::MAX)) as usize;
        items[index].clone()
    }
    fn maybe<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.flag() { Some(f(self)) } else { None }
    }
    fn text(&mut self) -> String {
        let text = self
            .texts
            .get(self.t % self.texts.len().max(1))
            .cloned()
            .unwrap_or_default();
        self.t += 1;
        text
    }
    fn count(&mut self, max: u32) -> usize {
        self.below(max + 1) as usize
    }
    fn ipv4(&mut self) -> Ipv4Addr {
        Ipv4Addr::from(self.raw())
    }
    fn ipv6(&mut self) -> Ipv6Addr {
        let parts = [self.raw(), self.raw(), self.raw(), self.raw()];
        let mut bits = 0u128;
        for p in parts {
            bits = (bits << 32) | u128::from(p);
        }
        Ipv6Addr::from(bits)
    }
    fn ipv4_net(&mut self) -> Ipv4Net {
        let len = self.below(33) as u8;
        Ipv4Net::new(self.ipv4(), len).unwrap_or_default()
    }
    fn ipv6_net(&mut self) -> Ipv6Net {
        let len = self.below(129) as u8;
        Ipv6Net::new(self.ipv6(), len).unwrap_or_default()
    }
    fn ip(&mut self) -> IpAddr {
        if self.flag() {
            IpAddr::V6(self.ipv6())
        } else {
            IpAddr::V4(self.ipv4())
        }
    }
    fn ip_net(&mut self) -> IpNet {
        if self.flag() {
            IpNet::V6(self.ipv6_net())
        } else {
            IpNet::V4(self.ipv4_net())
        }
    }
    fn comment(&mut self) -> Option<String> {
        self.maybe(Self::text)
    }
    fn secret(&mut self) -> Option<Secret> {
        self.maybe(|g| Secret::new(g.text()))
    }
    fn port(&mut self) -> Port {
        Port::new(u16::try_from(self.below(65535) + 1).unwrap_or(1))
            .unwrap_or(Port::new(1).unwrap())
    }
    fn port_range(&mut self) -> PortRange {
        let (a, b) = (self.port(), self.port());
        PortRange {
            start: a.min(b),
            end: a.max(b),
        }
    }
    fn mtu(&mut self) -> Mtu {
        Mtu::new(u16::try_from(self.below(65535 - 68 + 1) + 68).unwrap_or(1500)).unwrap()
    }
    fn duration(&mut self) -> Duration {
        if self.flag() {
            Duration::from_secs(u64::from(self.raw()))
        } else {
            Duration::from_millis(u64::from(self.raw()))
        }
    }
    fn mac(&mut self) -> MacAddress {
        let (a, b) = (self.raw().to_be_bytes(), self.raw().to_be_bytes());
        MacAddress([a[0], a[1], a[2], a[3], b[0], b[1]])
    }
    fn address_spec(&mut self, ipv6: bool) -> AddressSpec {
        if self.flag() {
            AddressSpec::Net(if ipv6 {
                IpNet::V6(self.ipv6_net())
            } else {
                IpNet::V4(self.ipv4_net())
            })
        } else if ipv6 {
            let (a, b) = (self.ipv6(), self.ipv6());
            AddressSpec::Range(IpAddr::V6(a.min(b)), IpAddr::V6(a.max(b)))
        } else {
            let (a, b) = (self.ipv4(), self.ipv4());
            AddressSpec::Range(IpAddr::V4(a.min(b)), IpAddr::V4(a.max(b)))
        }
    }
    fn negatable<T>(&mut self, value: T) -> Negatable<T> {
        Negatable {
            negated: self.flag(),
            value,
        }
    }
    fn communities(&mut self) -> Vec<Community> {
        (0..self.count(3))
            .map(|_| match self.below(5) {
                0 => Community::NoExport,
                1 => Community::NoAdvertise,
                2 => Community::LocalAs,
                3 => Community::Internet,
                _ => Community::Standard(self.raw() as u16, self.raw() as u16),
            })
            .collect()
    }
    fn some_of<T: Clone>(&mut self, all: &[T]) -> Vec<T> {
        let n = self.count(all.len() as u32).max(1);
        (0..n).map(|_| self.pick(all)).collect()
    }
}

fn loc(s: &str) -> Located<String> {
    Located::bare(s.to_owned())
}

/// Names that YAML would read as something else, or that need care.
const TRICKY_NAMES: &[&str] = &[
    "yes", "no", "true", "null", "on", "1194", "0x1f", "1e3", "a b", "ü-net", "x#y",
];

/// Splits unique names into pools: every kind of declared thing gets its own.
fn names(g: &mut Gen<'_>, base: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, name) in base.iter().enumerate() {
        let name = if g.below(4) == 0 {
            TRICKY_NAMES[i % TRICKY_NAMES.len()].to_owned()
        } else {
            name.clone()
        };
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

fn build(g: &mut Gen<'_>, base_names: &[String]) -> Config {
    let all = names(g, base_names);
    // Pools: ethernet, vlan, bonding, bridge, bindings, clients, secrets, lists, profiles, misc.
    let mut pools: Vec<Vec<String>> = vec![Vec::new(); 10];
    for (i, name) in all.into_iter().enumerate() {
        pools[i % 10].push(name);
    }
    let [
        eth,
        vlans,
        bonds,
        bridges,
        bindings,
        clients,
        secrets,
        lists,
        profiles,
        misc,
    ]: [Vec<String>; 10] = pools.try_into().unwrap();

    let mut c = Config::default();
    c.system.identity = g.text();

    // interface
    for (i, name) in eth.iter().enumerate() {
        c.interface.ethernet.push(Ethernet {
            name: loc(name),
            default_name: if g.flag() {
                Some(loc(&format!("eth{i}")))
            } else {
                None
            },
            mac_address: g.maybe(Gen::mac),
            mtu: g.mtu(),
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
    }
    let mut interfaces: Vec<String> = eth.clone();
    // Each NIC is a slave of one bond or a port of one bridge at most.
    let mut free_nics: Vec<String> = eth.clone();
    if !eth.is_empty() {
        for (i, name) in vlans.iter().enumerate() {
            c.interface.vlan.push(Vlan {
                name: loc(name),
                vlan_id: VlanId::new(u16::try_from(i + 1).unwrap()).unwrap(),
                interface: loc(&g.pick(&eth)),
                mtu: g.mtu(),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
            interfaces.push(name.clone());
        }
        for name in &bonds {
            c.interface.bonding.push(Bonding {
                name: loc(name),
                slaves: (0..g.count(2).max(1))
                    .filter_map(|_| free_nics.pop())
                    .map(|s| loc(&s))
                    .collect(),
                mode: g.pick(BondingMode::ALL),
                transmit_hash_policy: g.pick(TransmitHashPolicy::ALL),
                lacp_rate: g.pick(LacpRate::ALL),
                mtu: g.mtu(),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
            interfaces.push(name.clone());
        }
        c.interface.bonding.retain(|b| !b.slaves.is_empty());
        interfaces.retain(|i| {
            !bonds.contains(i) || c.interface.bonding.iter().any(|b| b.name.value == *i)
        });
    }
    for name in &bridges {
        c.interface.bridge.add.push(Bridge {
            name: loc(name),
            mtu: g.maybe(Gen::mtu),
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
        interfaces.push(name.clone());
    }
    if !bridges.is_empty() {
        for _ in 0..g.count(3) {
            let Some(nic) = free_nics.pop() else { break };
            c.interface.bridge.port.push(BridgePort {
                bridge: loc(&g.pick(&bridges)),
                interface: loc(&nic),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
        }
    }
    for name in &lists {
        c.interface.list.add.push(InterfaceList {
            name: loc(name),
            comment: g.comment(),
            ..Default::default()
        });
    }

    // ppp (before bindings, which name accounts)
    let mut profile_names: Vec<String> = vec!["default".into(), "default-encryption".into()];
    for name in &profiles {
        c.ppp.profile.push(PppProfile {
            name: loc(name),
            local_address: g.maybe(|g| {
                if g.flag() {
                    AddressOrPool::Address(g.ipv4())
                } else {
                    AddressOrPool::Pool("pool1".into())
                }
            }),
            remote_address: g.maybe(|g| AddressOrPool::Address(g.ipv4())),
            use_compression: g.pick(PppSwitch::ALL),
            use_encryption: g.pick(PppSwitch::ALL),
            only_one: g.pick(PppSwitch::ALL),
            change_tcp_mss: g.pick(PppSwitch::ALL),
            use_ipv6: g.pick(PppSwitch::ALL),
            use_mpls: g.pick(PppSwitch::ALL),
            use_upnp: g.pick(PppSwitch::ALL),
            address_list: g.comment(),
            on_up: g.comment(),
            on_down: g.comment(),
            remote_ipv6_prefix_pool: g.comment(),
            comment: g.comment(),
            ..Default::default()
        });
        profile_names.push(name.clone());
    }
    for name in &secrets {
        c.ppp.secret.push(PppSecret {
            name: loc(name),
            service: g.pick(PppService::ALL),
            caller_id: g.comment(),
            password: g.secret(),
            profile: loc(&g.pick(&profile_names)),
            local_address: g.maybe(Gen::ipv4),
            remote_address: g.maybe(Gen::ipv4),
            routes: (0..g.count(2))
                .map(|_| g.text())
                .filter(|t| !t.is_empty())
                .collect(),
            limit_bytes_in: u64::from(g.raw()),
            limit_bytes_out: u64::from(g.raw()),
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
    }
    let bound = if secrets.is_empty() {
        0
    } else {
        bindings.len().min(secrets.len())
    };
    for (name, user) in bindings.iter().zip(&secrets).take(bound) {
        c.interface.ovpn_server.add.push(OvpnServerBinding {
            name: loc(name),
            user: loc(user),
            comment: g.comment(),
            disabled: g.flag(),
            ..Default::default()
        });
        interfaces.push(name.clone());
    }
    interfaces.extend(secrets.iter().skip(bound).cloned());
    let server = &mut c.interface.ovpn_server.server;
    server.enabled = g.flag();
    server.port = g.port();
    server.mode = g.pick(OvpnMode::ALL);
    server.netmask = Netmask::new(g.below(33) as u8).unwrap();
    server.mac_address = g.maybe(Gen::mac);
    server.max_mtu = g.mtu();
    server.keepalive_timeout = g.raw();
    server.default_profile = loc(&g.pick(&profile_names));
    server.certificate = g.comment();
    server.require_client_certificate = g.flag();
    server.auth = g.some_of(OvpnAuth::ALL);
    server.cipher = g.some_of(OvpnCipher::ALL);
    server.protocol = g.pick(OvpnProtocol::ALL);
    server.reneg_sec = g.raw();
    for name in &clients {
        c.interface.ovpn_client.push(OvpnClient {
            name: loc(name),
            connect_to: Located::bare(if g.flag() {
                Host::Address(g.ip())
            } else {
                Host::Name("vpn.example.com".into())
            }),
            port: g.port(),
            mode: g.pick(OvpnMode::ALL),
            protocol: g.pick(OvpnProtocol::ALL),
            user: g.text(),
            password: g.secret(),
            profile: loc(&g.pick(&profile_names)),
            certificate: g.comment(),
            verify_server_certificate: g.flag(),
            auth: g.some_of(OvpnAuth::ALL),
            cipher: g.some_of(OvpnCipher::ALL),
            add_default_route: g.flag(),
            max_mtu: g.mtu(),
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
        interfaces.push(name.clone());
    }
    if !lists.is_empty() && !interfaces.is_empty() {
        for _ in 0..g.count(3) {
            c.interface.list.member.push(InterfaceListMember {
                list: loc(&g.pick(&lists)),
                interface: loc(&g.pick(&interfaces)),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
        }
    }

    // ip, ipv6
    if !interfaces.is_empty() {
        for _ in 0..g.count(3) {
            c.ip.address.push(Address {
                address: g.ipv4_net(),
                interface: loc(&g.pick(&interfaces)),
                network: g.maybe(Gen::ipv4),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
            c.ipv6.address.push(Ipv6Address {
                address: g.ipv6_net(),
                interface: loc(&g.pick(&interfaces)),
                advertise: g.flag(),
                eui_64: g.flag(),
                no_dad: g.flag(),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
        }
    }
    c.ip.dns.servers = (0..g.count(3)).map(|_| g.ip()).collect();
    c.ip.dns.allow_remote_requests = g.flag();
    for _ in 0..g.count(4) {
        let route_type = g.pick(RouteType::ALL);
        let unicast = route_type == RouteType::Unicast;
        let gateway = if unicast {
            let n = g.count(2).max(1);
            (0..n)
                .map(|_| {
                    if g.flag() || interfaces.is_empty() {
                        Gateway::Address(g.ipv4())
                    } else {
                        Gateway::Interface(loc(&g.pick(&interfaces)))
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        c.ip.route.push(Route {
            dst_address: g.ipv4_net(),
            gateway,
            distance: Distance::new(g.below(255) as u8 + 1).unwrap(),
            check_gateway: g.pick(CheckGateway::ALL),
            route_type,
            routing_table: if g.flag() {
                "main".to_owned()
            } else {
                g.text()
            },
            pref_src: g.maybe(Gen::ipv4),
            scope: g.raw() as u8,
            target_scope: g.raw() as u8,
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
        let gateway6 = if unicast {
            vec![Gateway::Address(g.ipv6())]
        } else {
            Vec::new()
        };
        c.ipv6.route.push(Ipv6Route {
            dst_address: g.ipv6_net(),
            gateway: gateway6,
            distance: Distance::new(g.below(255) as u8 + 1).unwrap(),
            check_gateway: g.pick(CheckGateway::ALL),
            route_type,
            routing_table: "main".into(),
            scope: g.raw() as u8,
            target_scope: g.raw() as u8,
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
    }

    // firewall
    let mut all_lists: Vec<String> = lists.clone();
    all_lists.push("all".into());
    c.ip.firewall.filter = rules(
        g,
        &["input", "forward", "output"],
        FirewallAction::FILTER,
        false,
        &misc,
        &interfaces,
        &all_lists,
    );
    c.ip.firewall.nat = rules(
        g,
        &["srcnat", "dstnat"],
        FirewallAction::NAT,
        false,
        &misc,
        &interfaces,
        &all_lists,
    );
    c.ip.firewall.mangle = rules(
        g,
        &["prerouting", "postrouting"],
        FirewallAction::MANGLE,
        false,
        &misc,
        &interfaces,
        &all_lists,
    );
    c.ipv6.firewall.filter = rules(
        g,
        &["input", "forward"],
        FirewallAction::FILTER,
        true,
        &misc,
        &interfaces,
        &all_lists,
    );
    for ipv6 in [false, true] {
        let entries: Vec<AddressListEntry> = (0..g.count(2))
            .map(|_| AddressListEntry {
                list: loc(&g.text()),
                address: Located::bare(g.address_spec(ipv6)),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            })
            .filter(|e| !e.list.is_empty())
            .collect();
        if ipv6 {
            c.ipv6.firewall.address_list = entries;
        } else {
            c.ip.firewall.address_list = entries;
        }
    }

    // routing
    let chains: Vec<String> = misc.iter().map(|m| format!("rf-{m}")).collect();
    for (i, chain) in chains.iter().enumerate() {
        for _ in 0..g.count(2).max(1) {
            let jump = i + 1 < chains.len() && g.flag();
            let prefix = g.maybe(|g| Located::bare(g.ip_net()));
            let max = prefix.as_ref().map_or(32, |p| p.max_prefix_len());
            c.routing.filter.push(RoutingFilterRule {
                chain: loc(chain),
                prefix,
                prefix_length: g.maybe(|g| {
                    let (a, b) = (
                        g.below(u32::from(max) + 1) as u8,
                        g.below(u32::from(max) + 1) as u8,
                    );
                    Located::bare(PrefixLengthRange {
                        min: a.min(b),
                        max: a.max(b),
                    })
                }),
                bgp_as_path: g.comment(),
                bgp_communities: g.communities(),
                address_family: g.maybe(|g| g.pick(AddressFamily::ALL)),
                action: Located::bare(if jump {
                    RoutingAction::Jump
                } else {
                    g.pick(&[
                        RoutingAction::Accept,
                        RoutingAction::Discard,
                        RoutingAction::Reject,
                        RoutingAction::Return,
                        RoutingAction::Log,
                        RoutingAction::Passthrough,
                    ])
                }),
                jump_target: if jump {
                    Some(loc(
                        &chains[i + 1 + g.below((chains.len() - i - 1) as u32) as usize]
                    ))
                } else {
                    None
                },
                set_bgp_local_pref: g.maybe(Gen::raw),
                set_bgp_prepend: g.maybe(|g| Prepend::new(g.below(17) as u8).unwrap()),
                set_bgp_med: g.maybe(Gen::raw),
                set_bgp_communities: g.communities(),
                set_distance: g.maybe(|g| g.raw() as u8),
                set_check_gateway: g.maybe(|g| g.pick(CheckGateway::ALL)),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
        }
    }
    let instances: Vec<String> = misc.iter().map(|m| format!("bgp-{m}")).collect();
    for name in &instances {
        c.routing.bgp.instance.push(BgpInstance {
            name: loc(name),
            asn: Asn::new(g.raw().max(1)).unwrap(),
            router_id: g.maybe(Gen::ipv4),
            redistribute_connected: g.flag(),
            redistribute_static: g.flag(),
            redistribute_rip: g.flag(),
            redistribute_ospf: g.flag(),
            redistribute_other_bgp: g.flag(),
            out_filter: if chains.is_empty() {
                None
            } else {
                g.maybe(|g| loc(&g.pick(&chains)))
            },
            client_to_client_reflection: g.flag(),
            ignore_as_path_len: g.flag(),
            routing_table: g.comment(),
            ..Default::default()
        });
    }
    for _ in 0..g.count(3) {
        c.routing.bgp.network.push(BgpNetwork {
            network: Located::bare(g.ip_net()),
            synchronize: g.flag(),
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
    }
    if !instances.is_empty() {
        for (i, name) in misc.iter().enumerate() {
            let use_local = g.flag();
            c.routing.bgp.peer.push(BgpPeer {
                name: loc(&format!("peer-{i}-{name}")),
                instance: loc(&g.pick(&instances)),
                // One session per address and instance.
                remote_address: if g.flag() {
                    IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | i as u128))
                } else {
                    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i as u32))
                },
                remote_as: Located::bare(Asn::new(g.raw().max(1)).unwrap()),
                remote_port: g.maybe(Gen::port),
                local_address: if use_local { g.maybe(Gen::ip) } else { None },
                update_source: if use_local || interfaces.is_empty() {
                    None
                } else {
                    g.maybe(|g| Gateway::Interface(loc(&g.pick(&interfaces))))
                },
                in_filter: if chains.is_empty() {
                    None
                } else {
                    g.maybe(|g| loc(&g.pick(&chains)))
                },
                out_filter: if chains.is_empty() {
                    None
                } else {
                    g.maybe(|g| loc(&g.pick(&chains)))
                },
                hold_time: Located::bare(Duration::from_secs(g.pick(&[0u64, 3, 90, 180, 65535]))),
                keepalive_time: g.maybe(Gen::duration),
                ttl: g.maybe(|g| Ttl::new(g.below(255) as u8 + 1).unwrap()),
                multihop: g.flag(),
                passive: g.flag(),
                tcp_md5_key: g.secret(),
                use_bfd: g.flag(),
                address_families: g.some_of(AddressFamily::ALL),
                default_originate: g.pick(DefaultOriginate::ALL),
                max_prefix_limit: g.maybe(Gen::raw),
                max_prefix_restart_time: g.maybe(Gen::duration),
                nexthop_choice: g.pick(NexthopChoice::ALL),
                route_reflect: g.flag(),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
        }
    }

    // user
    for (i, name) in misc.iter().enumerate() {
        c.user.push(User {
            name: loc(&format!("{name}{i}")),
            group: g.pick(UserGroup::ALL),
            password: g.secret(),
            address: (0..g.count(2)).map(|_| g.ip_net()).collect(),
            disabled: g.flag(),
            comment: g.comment(),
            ..Default::default()
        });
    }
    c
}

/// Firewall rules over `builtin` chains plus custom chains that only jump
/// forward (no loops).
#[allow(clippy::too_many_arguments)]
fn rules(
    g: &mut Gen<'_>,
    builtin: &[&str],
    actions: &[FirewallAction],
    ipv6: bool,
    custom: &[String],
    interfaces: &[String],
    lists: &[String],
) -> Vec<FirewallRule> {
    let custom: Vec<String> = custom.iter().map(|c| format!("fw-{c}")).collect();
    let mut chains: Vec<String> = builtin.iter().map(|b| (*b).to_owned()).collect();
    let first_custom = chains.len();
    chains.extend(custom.iter().cloned());
    let mut out = Vec::new();
    for (i, chain) in chains.iter().enumerate() {
        let n = if i >= first_custom {
            g.count(2).max(1)
        } else {
            g.count(2)
        };
        for _ in 0..n {
            let later = (i + 1).max(first_custom);
            let jump = later < chains.len() && g.flag();
            let action = if jump {
                FirewallAction::Jump
            } else {
                g.pick(
                    &actions
                        .iter()
                        .copied()
                        .filter(|a| *a != FirewallAction::Jump)
                        .collect::<Vec<_>>(),
                )
            };
            let protocol = g.maybe(|g| {
                g.pick(&[
                    Protocol::TCP,
                    Protocol::UDP,
                    Protocol(47),
                    Protocol(1),
                    Protocol(200),
                ])
            });
            let ports_ok = protocol.is_some_and(|p| p.has_ports());
            let port_list = |g: &mut Gen<'_>| -> Option<Located<Vec<PortRange>>> {
                if ports_ok && g.flag() {
                    Some(Located::bare(
                        (0..g.count(2).max(1)).map(|_| g.port_range()).collect(),
                    ))
                } else {
                    None
                }
            };
            let src_port = port_list(g);
            let dst_port = port_list(g);
            let iface = |g: &mut Gen<'_>| -> Option<Negatable<Located<String>>> {
                if interfaces.is_empty() {
                    None
                } else {
                    g.maybe(|g| {
                        let n = g.pick(interfaces);
                        g.negatable(loc(&n))
                    })
                }
            };
            let list = |g: &mut Gen<'_>| -> Option<Negatable<Located<String>>> {
                g.maybe(|g| {
                    let l = g.pick(lists);
                    g.negatable(loc(&l))
                })
            };
            out.push(FirewallRule {
                chain: loc(chain),
                action: Located::bare(action),
                jump_target: if jump {
                    Some(loc(
                        &chains[later + g.below((chains.len() - later) as u32) as usize]
                    ))
                } else {
                    None
                },
                protocol: protocol.map(Located::bare),
                src_address: g.maybe(|g| {
                    let a = g.address_spec(ipv6);
                    g.negatable(Located::bare(a))
                }),
                dst_address: g.maybe(|g| {
                    let a = g.address_spec(ipv6);
                    g.negatable(Located::bare(a))
                }),
                src_address_list: g.maybe(|g| {
                    let t = format!("l{}", g.below(9));
                    g.negatable(t)
                }),
                dst_address_list: g.maybe(|g| {
                    let t = format!("l{}", g.below(9));
                    g.negatable(t)
                }),
                src_port,
                dst_port,
                in_interface: iface(g),
                out_interface: iface(g),
                in_interface_list: list(g),
                out_interface_list: list(g),
                connection_state: if g.flag() {
                    g.some_of(ConnectionState::ALL)
                } else {
                    Vec::new()
                },
                icmp_options: g.maybe(|g| IcmpOptions {
                    icmp_type: g.raw() as u8,
                    codes: g.maybe(|g| {
                        let (a, b) = (g.raw() as u8, g.raw() as u8);
                        (a.min(b), a.max(b))
                    }),
                }),
                tcp_flags: if g.flag() {
                    (0..g.count(3).max(1))
                        .map(|_| {
                            let f = g.pick(TcpFlag::ALL);
                            g.negatable(f)
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                limit: g.maybe(|g| Limit {
                    rate: g.raw(),
                    per: g.pick(&[
                        Duration::from_secs(1),
                        Duration::from_secs(60),
                        Duration::from_millis(1500),
                    ]),
                    burst: g.raw(),
                    mode: g.pick(LimitMode::ALL),
                }),
                reject_with: g.maybe(|g| g.pick(RejectWith::ALL)),
                log: g.flag(),
                log_prefix: g.comment(),
                address_list: g.comment(),
                address_list_timeout: g.maybe(Gen::duration),
                to_addresses: g.maybe(|g| Located::bare(g.address_spec(ipv6))),
                to_ports: g.maybe(Gen::port_range),
                new_mss: g.maybe(|g| {
                    if g.flag() {
                        NewMss::ClampToPmtu
                    } else {
                        NewMss::Value(g.below(65535) as u16 + 1)
                    }
                }),
                new_connection_mark: g.comment(),
                new_packet_mark: g.comment(),
                new_routing_mark: g.comment(),
                passthrough: g.flag(),
                disabled: g.flag(),
                comment: g.comment(),
                ..Default::default()
            });
        }
    }
    out
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        2 => "[a-zA-Z0-9 ._:/#,-]{0,20}",
        1 => prop::sample::select(vec![
            "yes", "no", "true", "~", "null", "1194", "0o17", "1.10", "-1", ".inf", "a: b", "# c",
            "- x", "[x]", "{x}", "  x ", "'q'", "\"dq\"", "multi\nline", "tab\tx", "back\\slash",
            "!neg", "&anchor", "*alias", "@at", "%pct", "`tick`", "x:", "x #y", "\u{feff}bom",
            "\u{85}nel", "\u{fffe}", "", "a -", "-", "a - b", "x ?", "? x", "a, b", "a ,b",
        ]).prop_map(String::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn export_then_load_gives_the_same_config(
        nums in prop::collection::vec(any::<u32>(), 1..600),
        texts in prop::collection::vec(text(), 1..24),
        base in prop::collection::btree_set("[a-z][a-z0-9-]{0,10}", 0..24),
    ) {
        let mut g = Gen { nums: &nums, texts: &texts, i: 0, t: 0 };
        let base: Vec<String> = base.into_iter().collect();
        let config = build(&mut g, &base);
        let text = export(&config);
        if std::env::var_os("KITH_ROUNDTRIP_SHOW").is_some() {
            eprintln!("----\n{text}");
        }
        match load_str(&text, "gen.yaml") {
            Ok(loaded) => {
                prop_assert_eq!(&loaded.config, &config, "\n{}", text);
                prop_assert_eq!(export(&loaded.config), text);
            }
            Err(diags) => {
                let rendered: String = diags.iter().map(|d| format!("{d}\n")).collect();
                prop_assert!(false, "export does not load:\n{}\n{}", rendered, text);
            }
        }
    }
}
