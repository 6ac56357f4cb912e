//! RouterOS actions to nft statements: verdicts, reject, jump, log, NAT, MSS change.

use kith_config::{FirewallAction, NewMss, PortRange, RejectWith};

use super::menu::Kind;
use super::rule::RuleCx;
use super::text;

/// The statements of the rule's action (with its `log`), or nothing when the action
/// cannot be compiled (the error is in `cx.errors`).
pub fn action(cx: &mut RuleCx<'_, '_>) -> Vec<String> {
    let rule = cx.rule;
    let action = *rule.action;
    let mut out = Vec::new();
    if rule.log || action == FirewallAction::Log {
        out.push(log(cx));
    }
    let statement = match action {
        FirewallAction::Accept => Some("accept".to_owned()),
        FirewallAction::Drop => Some("drop".to_owned()),
        FirewallAction::Return => Some("return".to_owned()),
        FirewallAction::Reject => reject(cx),
        FirewallAction::Jump => jump(cx),
        // RouterOS counts the packet and goes on.
        FirewallAction::Passthrough => Some("counter".to_owned()),
        FirewallAction::Log => None,
        FirewallAction::Masquerade => nat_source(cx, "masquerade"),
        FirewallAction::SrcNat => nat_source(cx, "snat"),
        FirewallAction::DstNat => dst_nat(cx),
        FirewallAction::Redirect => redirect(cx),
        FirewallAction::ChangeMss => change_mss(cx),
        FirewallAction::FasttrackConnection
        | FirewallAction::AddSrcToAddressList
        | FirewallAction::AddDstToAddressList
        | FirewallAction::Netmap
        | FirewallAction::MarkConnection
        | FirewallAction::MarkPacket
        | FirewallAction::MarkRouting => {
            let loc = cx.at(rule.action.loc);
            cx.error(
                loc,
                format!("action {action} is not supported by kith fw yet"),
            );
            None
        }
    };
    out.extend(statement);
    out
}

fn log(cx: &mut RuleCx<'_, '_>) -> String {
    match cx.rule.log_prefix.as_deref() {
        Some(prefix) if !prefix.is_empty() => {
            let (quoted, changed) = text::quoted(prefix, text::MAX_LOG_PREFIX, true);
            if changed {
                let loc = cx.loc();
                cx.warn(
                    loc,
                    format!(
                        "log-prefix shortened to {} bytes or changed (no \", $ or control characters)",
                        text::MAX_LOG_PREFIX
                    ),
                );
            }
            format!("log prefix {quoted}")
        }
        _ => "log".to_owned(),
    }
}

fn reject(cx: &mut RuleCx<'_, '_>) -> Option<String> {
    // RouterOS's default answer is icmp-network-unreachable.
    let with = cx
        .rule
        .reject_with
        .unwrap_or(RejectWith::IcmpNetworkUnreachable);
    if with == RejectWith::TcpReset {
        if cx.rule.protocol.as_ref().is_some_and(|p| p.value.0 == 6) {
            return Some("reject with tcp reset".to_owned());
        }
        let loc = cx.loc();
        cx.error(loc, "reject-with tcp-reset needs protocol tcp");
        return None;
    }
    let text = if cx.menu.v6 {
        let t = match with {
            RejectWith::IcmpNetworkUnreachable => "no-route",
            RejectWith::IcmpHostUnreachable => "addr-unreachable",
            RejectWith::IcmpPortUnreachable | RejectWith::IcmpProtocolUnreachable => {
                "port-unreachable"
            }
            _ => "admin-prohibited",
        };
        format!("reject with icmpv6 type {t}")
    } else {
        let t = match with {
            RejectWith::IcmpNetworkUnreachable => "net-unreachable",
            RejectWith::IcmpHostUnreachable => "host-unreachable",
            RejectWith::IcmpPortUnreachable => "port-unreachable",
            RejectWith::IcmpProtocolUnreachable => "prot-unreachable",
            RejectWith::IcmpNetworkProhibited => "net-prohibited",
            RejectWith::IcmpHostProhibited => "host-prohibited",
            RejectWith::IcmpAdminProhibited | RejectWith::TcpReset => "admin-prohibited",
        };
        format!("reject with icmp type {t}")
    };
    Some(text)
}

fn jump(cx: &mut RuleCx<'_, '_>) -> Option<String> {
    // Validation and the chain graph have checked the target.
    let target = cx.rule.jump_target.as_ref()?;
    Some(format!("jump {}", cx.menu.chain_name(target.as_str())))
}

/// Checks that a NAT or MSS action is reached only from the built-in chains where the
/// kernel allows it (`allowed`); the kernel would refuse the whole ruleset otherwise.
fn check_hooks(cx: &mut RuleCx<'_, '_>, what: &str, allowed: &[&str]) -> bool {
    let wrong: Vec<&str> = cx
        .hooks()
        .into_iter()
        .filter(|h| !allowed.contains(h))
        .collect();
    if wrong.is_empty() {
        return true;
    }
    let loc = cx.at(cx.rule.action.loc);
    cx.error(
        loc,
        format!(
            "{what} works only in chain {}, but this rule is reached from {}",
            allowed.join(" or "),
            wrong.join(", ")
        ),
    );
    false
}

/// Checks that the action belongs to the menu (validation does too).
fn in_menu(cx: &mut RuleCx<'_, '_>, kind: Kind) -> bool {
    if cx.menu.kind == kind {
        return true;
    }
    let loc = cx.at(cx.rule.action.loc);
    let (action, menu) = (*cx.rule.action, cx.menu.name);
    cx.error(loc, format!("action {action} is not allowed in {menu}"));
    false
}

/// `to-ports` as `:PORT` or `:A-B`, when the rule's protocol has ports.
fn to_ports(cx: &mut RuleCx<'_, '_>) -> Option<Result<String, ()>> {
    let ports: PortRange = cx.rule.to_ports?;
    if cx
        .rule
        .protocol
        .as_ref()
        .is_some_and(|p| p.value.has_ports())
    {
        return Some(Ok(format!(":{ports}")));
    }
    let loc = cx.loc();
    cx.error(
        loc,
        "to-ports needs protocol tcp, udp, udp-lite, sctp or dccp",
    );
    Some(Err(()))
}

/// `masquerade` and `src-nat`.
fn nat_source(cx: &mut RuleCx<'_, '_>, statement: &str) -> Option<String> {
    if !in_menu(cx, Kind::Nat) || !check_hooks(cx, statement, &["srcnat"]) {
        return None;
    }
    let ports = match to_ports(cx) {
        Some(Err(())) => return None,
        Some(Ok(p)) => Some(p),
        None => None,
    };
    if statement == "masquerade" {
        return Some(match ports {
            Some(p) => format!("masquerade to {p}"),
            None => "masquerade".to_owned(),
        });
    }
    let Some(to) = &cx.rule.to_addresses else {
        let loc = cx.at(cx.rule.action.loc);
        cx.error(loc, "action src-nat needs to-addresses");
        return None;
    };
    Some(format!(
        "snat to {}{}",
        text::address(to),
        ports.unwrap_or_default()
    ))
}

/// `dst-nat` (port forwarding).
fn dst_nat(cx: &mut RuleCx<'_, '_>) -> Option<String> {
    if !in_menu(cx, Kind::Nat) || !check_hooks(cx, "dst-nat", &["dstnat"]) {
        return None;
    }
    let ports = match to_ports(cx) {
        Some(Err(())) => return None,
        Some(Ok(p)) => p,
        None => String::new(),
    };
    let Some(to) = &cx.rule.to_addresses else {
        let loc = cx.at(cx.rule.action.loc);
        cx.error(
            loc,
            "action dst-nat needs to-addresses (changing only the port is not supported yet)",
        );
        return None;
    };
    Some(format!("dnat to {}{ports}", text::address(to)))
}

/// `redirect`: to the router itself.
fn redirect(cx: &mut RuleCx<'_, '_>) -> Option<String> {
    if !in_menu(cx, Kind::Nat) || !check_hooks(cx, "redirect", &["dstnat"]) {
        return None;
    }
    match to_ports(cx) {
        Some(Err(())) => None,
        Some(Ok(p)) => Some(format!("redirect to {p}")),
        None => Some("redirect".to_owned()),
    }
}

/// `change-mss`: sets the MSS of TCP SYNs; `passthrough: no` then leaves the chain.
fn change_mss(cx: &mut RuleCx<'_, '_>) -> Option<String> {
    let rule = cx.rule;
    if !in_menu(cx, Kind::Mangle) {
        return None;
    }
    if rule.protocol.as_ref().is_some_and(|p| p.value.0 != 6) {
        let loc = cx.loc();
        cx.error(loc, "change-mss needs protocol tcp");
        return None;
    }
    let value = match rule.new_mss {
        None => {
            let loc = cx.at(rule.action.loc);
            cx.error(loc, "action change-mss needs new-mss");
            return None;
        }
        Some(NewMss::Value(v)) => v.to_string(),
        Some(NewMss::ClampToPmtu) => {
            if !check_hooks(
                cx,
                "new-mss: clamp-to-pmtu",
                &["forward", "output", "postrouting"],
            ) {
                return None;
            }
            "rt mtu".to_owned()
        }
    };
    let mut text = format!("tcp option maxseg size set {value}");
    if !rule.passthrough {
        text.push_str(" accept");
    }
    Some(text)
}
