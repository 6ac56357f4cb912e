//! The MSS clamp of tunnels: the interfaces whose PPP profile says `change-tcp-mss`, and
//! the `mangle_forward` chain that clamps TCP SYNs through them to the route MTU.

use kith_config::{Config, PppService, PppSwitch};

use crate::names::InterfaceNames;
use crate::ruleset::{Chain, Hook};

/// The chain in `table inet kith` that clamps the MSS of tunnel traffic.
pub const CHAIN: &str = "mangle_forward";

/// The clamp chain for `config`'s tunnels, if any tunnel asks for it.
pub fn chain(config: &Config, names: &InterfaceNames) -> Option<Chain> {
    let interfaces = clamped_interfaces(config, names);
    if interfaces.is_empty() {
        return None;
    }
    let quoted: Vec<String> = interfaces.iter().map(|i| format!("\"{i}\"")).collect();
    let set = match quoted.as_slice() {
        [one] => one.clone(),
        _ => format!("{{ {} }}", quoted.join(", ")),
    };
    let clamp = "tcp flags & (syn | rst) == syn tcp option maxseg size set rt mtu";
    Some(Chain {
        name: CHAIN.to_owned(),
        hook: Some(Hook {
            kind: "filter",
            hook: "forward",
            priority: "mangle",
        }),
        rules: vec![
            format!("oifname {set} {clamp} comment \"ppp profile change-tcp-mss\""),
            format!("iifname {set} {clamp} comment \"ppp profile change-tcp-mss\""),
        ],
    })
}

/// Kernel names of the tunnel interfaces whose profile has `change-tcp-mss`: the
/// sessions of `ppp/secret` accounts that may use OpenVPN (named after the account, or
/// after their `interface/ovpn-server` binding) and the `interface/ovpn-client`s.
pub fn clamped_interfaces(config: &Config, names: &InterfaceNames) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let server_profile = config.interface.ovpn_server.server.default_profile.as_str();
    for secret in config.ppp.secret.iter().filter(|s| !s.disabled) {
        if !matches!(secret.service, PppService::Any | PppService::Ovpn) {
            continue;
        }
        // A secret that names no profile gets the server's default profile.
        let profile = if secret.profile.loc == kith_config::Loc::default() {
            server_profile
        } else {
            secret.profile.as_str()
        };
        if !changes_mss(config, profile) {
            continue;
        }
        let label = config
            .interface
            .ovpn_server
            .add
            .iter()
            .find(|b| !b.disabled && b.user.value == secret.name.value)
            .map_or(secret.name.as_str(), |b| b.name.as_str());
        push_unique(&mut out, names.kernel(label));
    }
    for client in config.interface.ovpn_client.iter().filter(|c| !c.disabled) {
        if changes_mss(config, client.profile.as_str()) {
            push_unique(&mut out, names.kernel(&client.name));
        }
    }
    out
}

/// Whether profile `name` clamps the MSS. `default` defers to the `default` profile;
/// the built-in profiles `default` and `default-encryption` clamp.
fn changes_mss(config: &Config, name: &str) -> bool {
    let switch = |name: &str| {
        config
            .ppp
            .profile
            .iter()
            .find(|p| p.name.value == name)
            .map(|p| p.change_tcp_mss)
    };
    let own = switch(name).unwrap_or(PppSwitch::Default);
    let effective = match own {
        PppSwitch::Default if name != "default" => switch("default").unwrap_or(PppSwitch::Yes),
        PppSwitch::Default => PppSwitch::Yes,
        other => other,
    };
    matches!(effective, PppSwitch::Yes | PppSwitch::Required)
}

fn push_unique(list: &mut Vec<String>, name: String) {
    if !list.contains(&name) {
        list.push(name);
    }
}
