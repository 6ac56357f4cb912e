//! RouterOS matchers to nft expressions: interfaces and interface lists, addresses and
//! address lists, protocol, ports, ICMP type, TCP flags, connection state (`limit` is in
//! its own module).

use kith_config::{ConnectionState, FirewallAction, FirewallRule, Located, Negatable, TcpFlag};

use super::menu::Kind;
use super::rule::{Match, RuleCx};
use super::text;
use crate::names::{address_list_set, address_list6_set, interface_list_set};

/// Direction of an interface match.
#[derive(Clone, Copy)]
enum Dir {
    In,
    Out,
}

impl Dir {
    fn key(self) -> &'static str {
        match self {
            Self::In => "iifname",
            Self::Out => "oifname",
        }
    }

    /// Built-in chains where packets have no interface of this direction.
    fn impossible_in(self, kind: Kind) -> &'static [&'static str] {
        match (self, kind) {
            (Self::In, Kind::Filter | Kind::Mangle) => &["output"],
            (Self::In, Kind::Nat) => &[],
            (Self::Out, Kind::Filter) => &["input"],
            (Self::Out, Kind::Nat) => &["dstnat"],
            (Self::Out, Kind::Mangle) => &["prerouting", "input"],
        }
    }
}

fn not(negated: bool) -> &'static str {
    if negated { "!= " } else { "" }
}

/// `in-interface`, `out-interface`, `in-interface-list`, `out-interface-list`.
pub fn interfaces(cx: &mut RuleCx<'_, '_>) -> Vec<Match> {
    let rule = cx.rule;
    let mut out = Vec::new();
    for (dir, key, m) in [
        (Dir::In, "in-interface", &rule.in_interface),
        (Dir::Out, "out-interface", &rule.out_interface),
    ] {
        if let Some(m) = m {
            check_direction(cx, dir, key, m);
            let name = cx.names.kernel(&m.value);
            out.push(Match::Expr(format!(
                "{} {}\"{name}\"",
                dir.key(),
                not(m.negated)
            )));
        }
    }
    for (dir, key, m) in [
        (Dir::In, "in-interface-list", &rule.in_interface_list),
        (Dir::Out, "out-interface-list", &rule.out_interface_list),
    ] {
        if let Some(m) = m {
            check_direction(cx, dir, key, m);
            out.push(interface_list(cx, dir, m));
        }
    }
    out
}

fn check_direction(cx: &mut RuleCx<'_, '_>, dir: Dir, key: &str, m: &Negatable<Located<String>>) {
    let chain = cx.rule.chain.as_str();
    if dir.impossible_in(cx.menu.kind).contains(&chain) {
        cx.error(
            m.loc(),
            format!("{key} cannot match in chain {chain}: its packets have no such interface"),
        );
    }
}

fn interface_list(cx: &mut RuleCx<'_, '_>, dir: Dir, m: &Negatable<Located<String>>) -> Match {
    let name = m.value.as_str();
    match (name, m.negated) {
        ("all", false) | ("none", true) => return Match::Always,
        ("all", true) | ("none", false) => return Match::Never,
        _ => {}
    }
    if !cx.catalog.has_interface_list(name) {
        cx.error(
            m.loc(),
            format!("interface list {name} does not exist (no interface/list entry names it)"),
        );
        return Match::Never;
    }
    cx.used.interface_lists.insert(name.to_owned());
    Match::Expr(format!(
        "{} {}@{}",
        dir.key(),
        not(m.negated),
        interface_list_set(name)
    ))
}

/// `src-address`, `dst-address`, `src-address-list`, `dst-address-list`.
pub fn addresses(cx: &mut RuleCx<'_, '_>) -> Vec<Match> {
    let rule = cx.rule;
    let ip = cx.menu.ip();
    let mut out = Vec::new();
    for (field, m) in [("saddr", &rule.src_address), ("daddr", &rule.dst_address)] {
        if let Some(m) = m {
            if m.value.is_ipv6() != cx.menu.v6 {
                let menu = cx.menu.name;
                cx.error(
                    m.loc(),
                    format!(
                        "address {} is of the wrong family for {menu}",
                        m.value.value
                    ),
                );
                continue;
            }
            out.push(Match::Expr(format!(
                "{ip} {field} {}{}",
                not(m.negated),
                text::address(&m.value)
            )));
        }
    }
    for (field, key, m) in [
        ("saddr", "src-address-list", &rule.src_address_list),
        ("daddr", "dst-address-list", &rule.dst_address_list),
    ] {
        if let Some(m) = m {
            out.push(address_list(cx, field, key, m));
        }
    }
    out
}

fn address_list(cx: &mut RuleCx<'_, '_>, field: &str, key: &str, m: &Negatable<String>) -> Match {
    let v6 = cx.menu.v6;
    let name = m.value.as_str();
    if !cx.catalog.has_address_list(name, v6) {
        let menu = if v6 {
            "ipv6/firewall/address-list"
        } else {
            "ip/firewall/address-list"
        };
        let loc = cx.loc();
        cx.error(
            loc,
            format!("{key}: address list {name} does not exist (no {menu} entry names it)"),
        );
        return Match::Never;
    }
    let set = if v6 {
        cx.used.address_lists6.insert(name.to_owned());
        address_list6_set(name)
    } else {
        cx.used.address_lists.insert(name.to_owned());
        address_list_set(name)
    };
    Match::Expr(format!("{} {field} {}@{set}", cx.menu.ip(), not(m.negated)))
}

/// `protocol`, `src-port`, `dst-port`, `icmp-options`, `tcp-flags`. A protocol that a
/// later match implies (`tcp dport`, `icmp type`, `tcp flags`) is not written twice.
pub fn protocol(cx: &mut RuleCx<'_, '_>) -> Vec<Match> {
    let rule = cx.rule;
    let proto = rule.protocol.as_ref().map(|p| p.value);
    let mut out = Vec::new();
    let has_ports = rule.src_port.is_some() || rule.dst_port.is_some();
    let icmp_number = if cx.menu.v6 { 58 } else { 1 };
    let icmp_key = if cx.menu.v6 { "icmpv6" } else { "icmp" };
    let implied = has_ports
        || (rule.icmp_options.is_some() && proto.is_some_and(|p| p.0 == icmp_number))
        || (!rule.tcp_flags.is_empty() && proto.is_some_and(|p| p.0 == 6));
    if let (Some(p), false) = (proto, implied) {
        out.push(Match::Expr(format!("meta l4proto {}", text::protocol(p))));
    }
    for (key, field, ports) in [
        ("src-port", "sport", &rule.src_port),
        ("dst-port", "dport", &rule.dst_port),
    ] {
        let Some(ports) = ports else { continue };
        match proto.and_then(text::port_header) {
            Some(header) => out.push(Match::Expr(format!(
                "{header} {field} {}",
                text::ports(ports)
            ))),
            None => cx.error(
                ports.loc,
                format!("{key} needs protocol tcp, udp, udp-lite, sctp or dccp"),
            ),
        }
    }
    if let Some(icmp) = &rule.icmp_options {
        if proto.is_some_and(|p| p.0 != icmp_number) {
            let loc = cx.loc();
            cx.error(loc, format!("icmp-options needs protocol {icmp_key}"));
        } else {
            let mut expr = format!("{icmp_key} type {}", icmp.icmp_type);
            match icmp.codes {
                Some((a, b)) if a == b => expr.push_str(&format!(" {icmp_key} code {a}")),
                Some((a, b)) => expr.push_str(&format!(" {icmp_key} code {a}-{b}")),
                None => {}
            }
            out.push(Match::Expr(expr));
        }
    }
    if proto.is_none() {
        let mut implied: Vec<(&str, &str)> = Vec::new();
        if rule.icmp_options.is_some() {
            implied.push(("icmp-options", icmp_key));
        }
        if !rule.tcp_flags.is_empty() {
            implied.push(("tcp-flags", "tcp"));
        }
        if *rule.action == FirewallAction::ChangeMss {
            implied.push(("action change-mss", "tcp"));
        }
        if let Some((a, pa)) = implied.first().copied() {
            if let Some((b, pb)) = implied.iter().copied().find(|(_, p)| *p != pa) {
                let loc = cx.loc();
                cx.error(
                    loc,
                    format!("{a} ({pa}) and {b} ({pb}) never match the same packet; set protocol"),
                );
                return out;
            }
        }
    }
    if !rule.tcp_flags.is_empty() {
        if proto.is_some_and(|p| p.0 != 6) {
            let loc = cx.loc();
            cx.error(loc, "tcp-flags needs protocol tcp");
        } else {
            out.push(Match::Expr(tcp_flags(&rule.tcp_flags)));
        }
    }
    out
}

/// `syn,!ack`: the listed flags set, the negated ones clear, the others ignored.
fn tcp_flags(flags: &[Negatable<TcpFlag>]) -> String {
    let name = |f: TcpFlag| match f {
        TcpFlag::Fin => "fin",
        TcpFlag::Syn => "syn",
        TcpFlag::Rst => "rst",
        TcpFlag::Psh => "psh",
        TcpFlag::Ack => "ack",
        TcpFlag::Urg => "urg",
        TcpFlag::Ece => "ecn",
        TcpFlag::Cwr => "cwr",
    };
    let mut mask: Vec<&str> = Vec::new();
    let mut set: Vec<&str> = Vec::new();
    for flag in flags {
        let n = name(flag.value);
        if !mask.contains(&n) {
            mask.push(n);
            if !flag.negated {
                set.push(n);
            }
        }
    }
    let group = |flags: &[&str]| match flags {
        [] => "0".to_owned(),
        [one] => (*one).to_owned(),
        many => format!("({})", many.join(" | ")),
    };
    format!("tcp flags & {} == {}", group(&mask), group(&set))
}

/// `connection-state`.
pub fn connection_state(rule: &FirewallRule) -> Option<Match> {
    if rule.connection_state.is_empty() {
        return None;
    }
    let mut states: Vec<&str> = Vec::new();
    for state in &rule.connection_state {
        let name = match state {
            ConnectionState::Established => "established",
            ConnectionState::Related => "related",
            ConnectionState::New => "new",
            ConnectionState::Invalid => "invalid",
            ConnectionState::Untracked => "untracked",
        };
        if !states.contains(&name) {
            states.push(name);
        }
    }
    Some(Match::Expr(format!("ct state {}", states.join(","))))
}
