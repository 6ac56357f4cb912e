//! `/routing` menus: BGP instances, networks and peers, and routing filters.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

use crate::diag::Located;
use crate::model::CheckGateway;
use crate::values::{
    Asn, Community, Duration, Gateway, Multiplier, Port, PrefixLengthRange, Prepend, Secret, Ttl,
};

menu! {
    /// `/routing`.
    pub struct Routing = "routing" {
        /// `/routing bgp`.
        bgp: Bgp = "bgp", default(Bgp::default());
        /// `/routing bfd`.
        bfd: Bfd = "bfd", default(Bfd::default());
        /// `/routing filter`.
        filter: Vec<RoutingFilterRule> = "filter", list;
    }
}

menu! {
    /// `/routing bgp`.
    pub struct Bgp = "routing/bgp" {
        /// `/routing bgp instance`.
        instance: Vec<BgpInstance> = "instance", list;
        /// `/routing bgp network`.
        network: Vec<BgpNetwork> = "network", list;
        /// `/routing bgp peer`.
        peer: Vec<BgpPeer> = "peer", list;
    }
}

menu! {
    /// A `/routing bgp instance` entry: one BGP speaker.
    pub struct BgpInstance = "routing/bgp/instance entry" {
        /// The instance's name (peers refer to it; `default` is the usual one).
        name: Located<String> = "name", required;
        /// Own AS number.
        asn: Asn = "as", required;
        /// Router id (the highest address when absent).
        router_id: Option<Ipv4Addr> = "router-id", optional;
        /// Announce connected routes.
        redistribute_connected: bool = "redistribute-connected", default(false);
        /// Announce static routes.
        redistribute_static: bool = "redistribute-static", default(false);
        /// Announce RIP routes.
        redistribute_rip: bool = "redistribute-rip", default(false);
        /// Announce OSPF routes.
        redistribute_ospf: bool = "redistribute-ospf", default(false);
        /// Announce routes learnt from other BGP instances.
        redistribute_other_bgp: bool = "redistribute-other-bgp", default(false);
        /// Routing filter chain applied to every announcement.
        out_filter: Option<Located<String>> = "out-filter", optional;
        /// Whether routes are reflected between route-reflector clients.
        client_to_client_reflection: bool = "client-to-client-reflection", default(true);
        /// Whether the AS path length is left out of best path selection.
        ignore_as_path_len: bool = "ignore-as-path-len", default(false);
        /// Routing table the instance installs into (`main` when absent).
        routing_table: Option<String> = "routing-table", optional;
    }
}

menu! {
    /// A `/routing bgp network` entry: a prefix to announce.
    pub struct BgpNetwork = "routing/bgp/network entry" {
        /// The prefix.
        network: Located<IpNet> = "network", required;
        /// Announce only while an IGP route for the prefix is active.
        synchronize: bool = "synchronize", default(true);
        /// Whether the entry is ignored.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// `/routing bfd`: timers of the BFD sessions that `use-bfd` peers ask for.
    pub struct Bfd = "routing/bfd" {
        /// `/routing bfd interface`: timers per interface (`all` for the rest).
        interface: Vec<BfdInterface> = "interface", list;
    }
}

menu! {
    /// A `/routing bfd interface` entry (RouterOS v6). Without any, sessions use
    /// 100 ms x 3 (RouterOS defaults to 200 ms x 5).
    pub struct BfdInterface = "routing/bfd/interface entry" {
        /// The interface, or `all`.
        interface: Located<String> = "interface", default(Located::from("all"));
        /// Desired interval between sent packets.
        interval: Duration = "interval", default(Duration::from_millis(100));
        /// Shortest interval between received packets this router accepts.
        min_rx: Duration = "min-rx", default(Duration::from_millis(100));
        /// Packets missed before the session is declared down.
        multiplier: Multiplier = "multiplier", default(Multiplier::lit(3));
        /// Whether the entry is ignored.
        disabled: bool = "disabled", default(false);
    }
}

ros_enum! {
    /// Address families a BGP session carries.
    pub enum AddressFamily {
        /// IPv4 unicast.
        #[default]
        Ip = "ip",
        /// IPv6 unicast.
        Ipv6 = "ipv6",
        /// L2VPN.
        L2vpn = "l2vpn",
        /// L2VPN Cisco style.
        L2vpnCisco = "l2vpn-cisco",
        /// VPNv4.
        Vpnv4 = "vpnv4",
    }
}

ros_enum! {
    /// When a default route is announced to a peer.
    pub enum DefaultOriginate {
        /// Never.
        #[default]
        Never = "never",
        /// When the router has an active default route.
        IfInstalled = "if-installed",
        /// Always.
        Always = "always",
    }
}

ros_enum! {
    /// Next hop sent to a peer.
    pub enum NexthopChoice {
        /// As BGP rules say.
        #[default]
        Default = "default",
        /// Always the own address.
        ForceSelf = "force-self",
        /// Always the received next hop.
        Propagate = "propagate",
    }
}

menu! {
    /// A `/routing bgp peer` entry: one BGP session.
    pub struct BgpPeer = "routing/bgp/peer entry" {
        /// The session's name.
        name: Located<String> = "name", required;
        /// The instance the session belongs to.
        instance: Located<String> = "instance", default(Located::from("default"));
        /// Peer address.
        remote_address: IpAddr = "remote-address", required(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        /// Peer AS number.
        remote_as: Located<Asn> = "remote-as", required;
        /// Peer TCP port (179 when absent).
        remote_port: Option<Port> = "remote-port", optional;
        /// Own address of the session.
        local_address: Option<IpAddr> = "local-address", optional;
        /// Address or interface whose address the session uses.
        update_source: Option<Gateway<IpAddr>> = "update-source", optional;
        /// Routing filter chain for received routes.
        in_filter: Option<Located<String>> = "in-filter", optional;
        /// Routing filter chain for sent routes.
        out_filter: Option<Located<String>> = "out-filter", optional;
        /// Hold time.
        hold_time: Located<Duration> = "hold-time", default(Located::bare(Duration::from_secs(180)));
        /// Keepalive interval (a third of the hold time when absent).
        keepalive_time: Option<Duration> = "keepalive-time", optional;
        /// TTL of sent packets (`default`: 1 for eBGP, 255 for iBGP, when absent).
        ttl: Option<Ttl> = "ttl", optional;
        /// GTSM (RFC 5082): send with TTL 255 and drop what arrives with less (the peer
        /// must do the same).
        ttl_security: bool = "ttl-security", default(false);
        /// Whether the peer may be several hops away.
        multihop: bool = "multihop", default(false);
        /// Whether the router waits for the peer to connect.
        passive: bool = "passive", default(false);
        /// TCP MD5 signature key.
        tcp_md5_key: Option<Secret> = "tcp-md5-key", secret;
        /// Whether a BFD session guards the BGP session.
        use_bfd: bool = "use-bfd", default(false);
        /// Address families carried.
        address_families: Vec<AddressFamily> = "address-families", default(vec![AddressFamily::Ip]);
        /// When a default route is announced.
        default_originate: DefaultOriginate = "default-originate", default(DefaultOriginate::Never);
        /// Largest number of prefixes accepted (no limit when absent).
        max_prefix_limit: Option<u32> = "max-prefix-limit", optional;
        /// Time before reconnecting after the limit was hit (never when absent).
        max_prefix_restart_time: Option<Duration> = "max-prefix-restart-time", optional;
        /// Next hop sent to the peer.
        nexthop_choice: NexthopChoice = "nexthop-choice", default(NexthopChoice::Default);
        /// Whether the peer is a route-reflector client.
        route_reflect: bool = "route-reflect", default(false);
        /// Whether the session is down.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

ros_enum! {
    /// What a routing filter rule does.
    pub enum RoutingAction {
        /// Accept the route (stop processing).
        Accept = "accept",
        /// Drop the route, keeping it visible as filtered.
        Discard = "discard",
        /// Drop the route.
        Reject = "reject",
        /// Continue in `jump-target`.
        Jump = "jump",
        /// Return to the calling chain.
        Return = "return",
        /// Log and continue.
        Log = "log",
        /// Apply the `set-*` and continue.
        #[default]
        Passthrough = "passthrough",
    }
}

menu! {
    /// A `/routing filter` rule.
    pub struct RoutingFilterRule = "routing/filter entry" {
        /// The chain the rule belongs to.
        chain: Located<String> = "chain", required;
        /// Matched prefix (routes inside it, see `prefix-length`).
        prefix: Option<Located<IpNet>> = "prefix", optional;
        /// Matched prefix lengths.
        prefix_length: Option<Located<PrefixLengthRange>> = "prefix-length", optional;
        /// AS path regular expression.
        bgp_as_path: Option<String> = "bgp-as-path", optional;
        /// Communities the route must carry.
        bgp_communities: Vec<Community> = "bgp-communities", default(Vec::new());
        /// Address family matched.
        address_family: Option<AddressFamily> = "address-family", optional;
        /// What the rule does.
        action: Located<RoutingAction> = "action", shown(Located::bare(RoutingAction::Passthrough));
        /// The chain to continue in (`action: jump`).
        jump_target: Option<Located<String>> = "jump-target", optional;
        /// Set the BGP local preference.
        set_bgp_local_pref: Option<u32> = "set-bgp-local-pref", optional;
        /// Prepend the own AS this many times.
        set_bgp_prepend: Option<Prepend> = "set-bgp-prepend", optional;
        /// Set the BGP MED.
        set_bgp_med: Option<u32> = "set-bgp-med", optional;
        /// Set the BGP communities.
        set_bgp_communities: Vec<Community> = "set-bgp-communities", default(Vec::new());
        /// Set the route distance.
        set_distance: Option<u8> = "set-distance", optional;
        /// Set the gateway check of the route.
        set_check_gateway: Option<CheckGateway> = "set-check-gateway", optional;
        /// Whether the rule is ignored.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

impl RoutingFilterRule {
    /// Whether the rule matches every route (no match condition).
    #[must_use]
    pub fn matches_all(&self) -> bool {
        self.prefix.is_none()
            && self.prefix_length.is_none()
            && self.bgp_as_path.is_none()
            && self.bgp_communities.is_empty()
            && self.address_family.is_none()
    }
}
