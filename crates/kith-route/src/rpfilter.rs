//! Loose reverse-path filtering (`rp_filter=2`) on WAN and tunnel interfaces, so that
//! asymmetric routing works: a packet may arrive on one path and its answer leave by
//! another (the scenario swaps distances on one side).
//!
//! The interfaces are those in any `interface/list`, the tunnels the config declares
//! (`ppp/secret`, `interface/ovpn-server` bindings, `interface/ovpn-client`) and the
//! interfaces static routes name as gateway. The kernel applies the larger of
//! `conf/all/rp_filter` and the interface's value, so `2` on the interface is loose even
//! where `all` is strict (1).

use std::collections::{BTreeMap, HashMap};

use kith_config::Config;
use tracing::{info, warn};

use crate::resolve::Interfaces;

/// Loose mode.
pub const LOOSE: u8 = 2;

/// The interface labels that get loose reverse-path filtering, each with why.
pub fn loose_interfaces(config: &Config) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for m in &config.interface.list.member {
        if !m.disabled {
            out.entry(m.interface.value.clone())
                .or_insert_with(|| format!("member of interface list {}", m.list.value));
        }
    }
    for s in &config.ppp.secret {
        out.entry(s.name.value.clone())
            .or_insert_with(|| "ppp/secret tunnel".to_owned());
    }
    for b in &config.interface.ovpn_server.add {
        out.entry(b.name.value.clone())
            .or_insert_with(|| "ovpn-server tunnel".to_owned());
    }
    for c in &config.interface.ovpn_client {
        out.entry(c.name.value.clone())
            .or_insert_with(|| "ovpn-client tunnel".to_owned());
    }
    let v4 = config.ip.route.iter().flat_map(|r| r.gateway.iter());
    for g in v4 {
        if let kith_config::Gateway::Interface(label) = g {
            out.entry(label.value.clone())
                .or_insert_with(|| "gateway of a static route".to_owned());
        }
    }
    out
}

/// Sets rp_filter to loose on each wanted interface that exists now; remembers what it
/// set per ifindex so that a change is logged once (an interface that comes back is a
/// new index and is set again).
#[derive(Debug, Default)]
pub struct RpFilter {
    set: HashMap<u32, String>,
}

impl RpFilter {
    /// One pass over `wanted` (from [`loose_interfaces`]).
    pub fn apply(&mut self, wanted: &BTreeMap<String, String>, interfaces: &Interfaces) {
        for (label, why) in wanted {
            let Some(link) = interfaces.by_label(label) else {
                continue;
            };
            if self.set.get(&link.index) == Some(&link.name) {
                continue;
            }
            let key = format!("net/ipv4/conf/{}/rp_filter", link.name);
            match kith_net::sysctl_get(&key) {
                Ok(v) if v == LOOSE.to_string() => {}
                Ok(_) | Err(_) => match kith_net::set_rp_filter(&link.name, LOOSE) {
                    Ok(()) => info!(
                        "rp_filter loose on {label} ({why}): asymmetric routing is accepted there"
                    ),
                    Err(err) => {
                        warn!("cannot set rp_filter loose on {label}: {err}");
                        continue;
                    }
                },
            }
            self.set.insert(link.index, link.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wan_lists_tunnels_and_gateway_interfaces_are_loose() {
        let config = match kith_config::load_str(
            "interface:\n  ethernet:\n    - name: ether1\n      default-name: eth0\n    - name: sfp-wan-sfr\n      default-name: eth1\n    - name: lan\n      default-name: eth2\n  list:\n    add:\n      - name: ALL-WAN\n    member:\n      - list: ALL-WAN\n        interface: ether1\n      - list: ALL-WAN\n        interface: sfp-wan-sfr\n        disabled: yes\nppp:\n  secret:\n    - name: friend1-1\n      password: x\n      local-address: 172.16.10.1\n      remote-address: 172.16.10.2\nip:\n  route:\n    - dst-address: 10.0.0.0/8\n      gateway: friend1-1\n",
            "t.yaml",
        ) {
            Ok(l) => l.config,
            Err(d) => panic!("{d:?}"),
        };
        let loose = loose_interfaces(&config);
        let names: Vec<&str> = loose.keys().map(String::as_str).collect();
        assert_eq!(names, vec!["ether1", "friend1-1"], "{loose:?}");
        assert_eq!(loose["ether1"], "member of interface list ALL-WAN");
        assert_eq!(loose["friend1-1"], "ppp/secret tunnel");
    }
}
