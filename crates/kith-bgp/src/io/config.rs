//! The daemon's view of the config: the first `routing/bgp/instance` (Kith runs one
//! speaker), its peers and networks, translated into engine and FSM settings.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ipnet::IpNet;
use kith_config::{AddressFamily, Config, DefaultOriginate, Gateway, Secret};

use crate::bfd::Timers;
use crate::codec::Family;
use crate::fsm::FsmConfig;
use crate::policy::{Chains, FilterError};
use crate::rib::{Instance, PeerSpec};

/// Port BGP listens on and connects to.
pub const BGP_PORT: u16 = 179;

/// One configured peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerConfig {
    /// Engine settings (filters, reflection, ...).
    pub spec: PeerSpec,
    /// Session settings (AS, hold time, passive, families).
    pub fsm: FsmConfig,
    /// Port to connect to.
    pub remote_port: u16,
    /// Own address to connect from.
    pub local_address: Option<IpAddr>,
    /// TTL of sent packets (1 for single-hop eBGP).
    pub ttl: u8,
    /// Whether the session is administratively down.
    pub disabled: bool,
    /// Restart time after the prefix limit was hit (`None`: stay down).
    pub max_prefix_restart: Option<Duration>,
    /// `use-bfd`: a BFD session guards the BGP session once Established.
    pub use_bfd: bool,
    /// `tcp-md5-key` (RFC 2385).
    pub md5_key: Option<Secret>,
    /// `ttl-security` (GTSM, RFC 5082): TTL 255 sent, less refused.
    pub ttl_security: bool,
    /// `update-source` given as an interface: connect from its address.
    pub update_source_interface: Option<String>,
}

impl PeerConfig {
    /// Whether a change from `old` needs the session to restart (anything but filters,
    /// reflection and the prefix limit).
    #[must_use]
    pub fn needs_restart(&self, old: &PeerConfig) -> bool {
        self.fsm != old.fsm
            || self.remote_port != old.remote_port
            || self.local_address != old.local_address
            || self.ttl != old.ttl
            || self.md5_key != old.md5_key
            || self.ttl_security != old.ttl_security
            || self.update_source_interface != old.update_source_interface
            || self.spec.address != old.spec.address
            || self.spec.remote_as != old.spec.remote_as
    }
}

/// Everything bgpd needs from the config.
#[derive(Debug, Clone)]
pub struct BgpConfig {
    /// The instance.
    pub instance: Instance,
    /// Compiled routing filters.
    pub chains: Chains,
    /// Peers by name, in config order.
    pub peers: Vec<PeerConfig>,
    /// `routing/bgp/network`: prefix and `synchronize`.
    pub networks: Vec<(IpNet, bool)>,
    /// `redistribute-connected`.
    pub redistribute_connected: bool,
    /// `redistribute-static`.
    pub redistribute_static: bool,
    /// `routing/bfd/interface`: BFD timers by interface name (`all` matches any), in
    /// config order.
    pub bfd: Vec<(String, Timers)>,
}

impl BgpConfig {
    /// Whether kernel routes decide what is announced (networks with or without
    /// `synchronize`, redistribution): only then are route events followed.
    #[must_use]
    pub fn watches_routes(&self) -> bool {
        !self.networks.is_empty()
            || self.redistribute_connected
            || self.redistribute_static
            || self
                .peers
                .iter()
                .any(|p| p.spec.default_originate == DefaultOriginate::IfInstalled)
    }

    /// The BFD timers for a session over the interface named `names` (kernel name and
    /// altnames): the first entry naming it, else the first `all`, else 100 ms x 3.
    #[must_use]
    pub fn bfd_timers(&self, names: &[String]) -> Timers {
        self.bfd
            .iter()
            .find(|(i, _)| names.iter().any(|n| n == i))
            .or_else(|| self.bfd.iter().find(|(i, _)| i == "all"))
            .map(|(_, t)| *t)
            .unwrap_or_default()
    }
}

impl BgpConfig {
    /// Reads the BGP part of a config; `None` when it has no instance.
    ///
    /// `fallback_id` is the router id when neither the instance nor `ip/address` gives
    /// one (the highest address of the machine, looked up by the caller).
    ///
    /// # Errors
    /// A routing filter that does not compile.
    pub fn from_config(
        config: &Config,
        fallback_id: Ipv4Addr,
        ids: &mut dyn FnMut(&str) -> u32,
    ) -> Result<Option<Self>, FilterError> {
        let Some(inst) = config.routing.bgp.instance.first() else {
            return Ok(None);
        };
        let router_id = inst.router_id.unwrap_or_else(|| {
            config
                .ip
                .address
                .iter()
                .filter(|a| !a.disabled)
                .map(|a| a.address.addr())
                .max()
                .unwrap_or(fallback_id)
        });
        let instance = Instance {
            local_as: inst.asn.get(),
            router_id,
            out_filter: inst.out_filter.as_ref().map(|f| f.value.clone()),
            client_to_client_reflection: inst.client_to_client_reflection,
            ignore_as_path_len: inst.ignore_as_path_len,
        };
        let chains = Chains::compile(&config.routing.filter)?;
        let peers = config
            .routing
            .bgp
            .peer
            .iter()
            .filter(|p| p.instance.value == inst.name.value)
            .map(|p| {
                let remote_as = p.remote_as.value.get();
                let mut fsm = FsmConfig::new(instance.local_as, router_id, remote_as);
                let hold = p.hold_time.value.get().as_secs();
                fsm.hold_time = u16::try_from(hold).unwrap_or(u16::MAX);
                fsm.keepalive = p
                    .keepalive_time
                    .map(|k| u16::try_from(k.get().as_secs()).unwrap_or(u16::MAX));
                fsm.passive = p.passive;
                fsm.families = p
                    .address_families
                    .iter()
                    .filter_map(|f| match f {
                        AddressFamily::Ip => Some(Family::Ipv4),
                        AddressFamily::Ipv6 => Some(Family::Ipv6),
                        _ => None,
                    })
                    .collect();
                let ebgp = remote_as != instance.local_as;
                let ttl = if p.ttl_security {
                    255
                } else {
                    p.ttl
                        .map(|t| t.get())
                        .unwrap_or(if ebgp && !p.multihop { 1 } else { 255 })
                };
                PeerConfig {
                    spec: PeerSpec {
                        id: ids(&p.name.value),
                        name: p.name.value.clone(),
                        address: p.remote_address,
                        remote_as,
                        in_filter: p.in_filter.as_ref().map(|f| f.value.clone()),
                        out_filter: p.out_filter.as_ref().map(|f| f.value.clone()),
                        rr_client: p.route_reflect,
                        nexthop_choice: p.nexthop_choice,
                        max_prefix: p.max_prefix_limit,
                        default_originate: p.default_originate,
                    },
                    fsm,
                    remote_port: p.remote_port.map_or(BGP_PORT, |p| p.get()),
                    // `update-source` by address here, by interface at connect time.
                    local_address: p.local_address.or(match &p.update_source {
                        Some(Gateway::Address(a)) => Some(*a),
                        _ => None,
                    }),
                    ttl,
                    disabled: p.disabled,
                    max_prefix_restart: p.max_prefix_restart_time.map(|d| d.get()),
                    use_bfd: p.use_bfd,
                    md5_key: p.tcp_md5_key.clone().filter(|k| !k.expose().is_empty()),
                    ttl_security: p.ttl_security,
                    update_source_interface: match &p.update_source {
                        Some(Gateway::Interface(name)) if p.local_address.is_none() => {
                            Some(name.value.clone())
                        }
                        _ => None,
                    },
                }
            })
            .collect();
        let networks = config
            .routing
            .bgp
            .network
            .iter()
            .filter(|n| !n.disabled)
            .map(|n| (n.network.value.trunc(), n.synchronize))
            .collect();
        let bfd = config
            .routing
            .bfd
            .interface
            .iter()
            .filter(|b| !b.disabled)
            .map(|b| {
                (
                    b.interface.value.clone(),
                    Timers {
                        desired_min_tx: b.interval.get(),
                        required_min_rx: b.min_rx.get(),
                        multiplier: b.multiplier.get(),
                    },
                )
            })
            .collect();
        Ok(Some(Self {
            bfd,
            instance,
            chains,
            peers,
            networks,
            redistribute_connected: inst.redistribute_connected,
            redistribute_static: inst.redistribute_static,
        }))
    }
}
