//! `/ip` and `/ipv6` menus: addresses, DNS and routes (firewall lives in `firewall`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

use crate::diag::Located;
use crate::model::{Firewall, Ipv6Firewall};
use crate::values::{Distance, Duration, Gateway};

menu! {
    /// `/ip`.
    pub struct Ip = "ip" {
        /// `/ip address`.
        address: Vec<Address> = "address", list;
        /// `/ip dns`.
        dns: Dns = "dns", default(Dns::default());
        /// `/ip firewall`.
        firewall: Firewall = "firewall", default(Firewall::default());
        /// `/ip route`.
        route: Vec<Route> = "route", list;
    }
}

menu! {
    /// An `/ip address` entry.
    pub struct Address = "ip/address entry" {
        /// The address with its prefix length, host bits kept (`192.168.0.254/24`).
        address: Ipv4Net = "address", required;
        /// The interface.
        interface: Located<String> = "interface", required;
        /// The network address (computed from `address` when absent).
        network: Option<Ipv4Addr> = "network", optional;
        /// Whether the address is removed from the interface.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// `/ip dns` settings.
    pub struct Dns = "ip/dns" {
        /// Upstream servers, also used by Kith to resolve names (`connect-to`).
        servers: Vec<IpAddr> = "servers", default(Vec::new());
        /// Whether the router answers DNS queries from the network.
        allow_remote_requests: bool = "allow-remote-requests", default(false);
    }
}

ros_enum! {
    /// How a route's gateway is checked.
    pub enum CheckGateway {
        /// Not checked.
        #[default]
        None = "none",
        /// ARP requests.
        Arp = "arp",
        /// ICMP echo every 10 seconds; two failures mark the gateway unreachable.
        Ping = "ping",
        /// A BFD session.
        Bfd = "bfd",
    }
}

ros_enum! {
    /// Route type.
    pub enum RouteType {
        /// Forward through the gateway.
        #[default]
        Unicast = "unicast",
        /// Drop silently.
        Blackhole = "blackhole",
        /// Drop and send ICMP host unreachable.
        Unreachable = "unreachable",
        /// Drop and send ICMP administratively prohibited.
        Prohibit = "prohibit",
    }
}

menu! {
    /// An `/ip route` entry (a static route).
    pub struct Route = "ip/route entry" {
        /// Destination prefix.
        dst_address: Ipv4Net = "dst-address", shown(Ipv4Net::default());
        /// Next hops: addresses or interface names (ECMP when several).
        gateway: Vec<Gateway<Ipv4Addr>> = "gateway", default(Vec::new());
        /// Distance: the lowest active distance wins.
        distance: Distance = "distance", default(Distance::lit(1));
        /// Gateway reachability check.
        check_gateway: CheckGateway = "check-gateway", default(CheckGateway::None);
        /// Kith extension: time between two `check-gateway=ping` probes of each gateway
        /// (RouterOS: 10 s; at least 100ms). A probe not answered before the next one is
        /// sent is lost.
        check_gateway_interval: Located<Duration> = "check-gateway-interval", default(Located::bare(Duration::from_secs(10)));
        /// Kith extension: probes lost in a row that make a gateway unreachable
        /// (RouterOS: 2).
        check_gateway_threshold: Located<u8> = "check-gateway-threshold", default(Located::bare(2));
        /// Kith extension: probes answered in a row that make an unreachable gateway
        /// reachable again (RouterOS: 1).
        check_gateway_recovery: Located<u8> = "check-gateway-recovery", default(Located::bare(1));
        /// Route type.
        route_type: RouteType = "type", default(RouteType::Unicast);
        /// Routing table.
        routing_table: String = "routing-table", default("main".to_owned());
        /// Preferred source address.
        pref_src: Option<Ipv4Addr> = "pref-src", optional;
        /// Scope.
        scope: u8 = "scope", default(30);
        /// Target scope (recursive next-hop lookup).
        target_scope: u8 = "target-scope", default(10);
        /// Whether the route is ignored.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// `/ipv6`.
    pub struct Ipv6 = "ipv6" {
        /// `/ipv6 address`.
        address: Vec<Ipv6Address> = "address", list;
        /// `/ipv6 firewall`.
        firewall: Ipv6Firewall = "firewall", default(Ipv6Firewall::default());
        /// `/ipv6 route`.
        route: Vec<Ipv6Route> = "route", list;
    }
}

menu! {
    /// An `/ipv6 address` entry.
    pub struct Ipv6Address = "ipv6/address entry" {
        /// The address with its prefix length.
        address: Ipv6Net = "address", required;
        /// The interface.
        interface: Located<String> = "interface", required;
        /// Whether the prefix is advertised by router advertisements.
        advertise: bool = "advertise", default(true);
        /// Whether the host part is derived from the MAC address.
        eui_64: bool = "eui-64", default(false);
        /// Whether duplicate address detection is skipped.
        no_dad: bool = "no-dad", default(false);
        /// Whether the address is removed from the interface.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// An `/ipv6 route` entry.
    pub struct Ipv6Route = "ipv6/route entry" {
        /// Destination prefix.
        dst_address: Ipv6Net = "dst-address", shown(Ipv6Net::default());
        /// Next hops: addresses or interface names.
        gateway: Vec<Gateway<Ipv6Addr>> = "gateway", default(Vec::new());
        /// Distance.
        distance: Distance = "distance", default(Distance::lit(1));
        /// Gateway reachability check.
        check_gateway: CheckGateway = "check-gateway", default(CheckGateway::None);
        /// Kith extension: time between two `check-gateway=ping` probes of each gateway
        /// (RouterOS: 10 s; at least 100ms). A probe not answered before the next one is
        /// sent is lost.
        check_gateway_interval: Located<Duration> = "check-gateway-interval", default(Located::bare(Duration::from_secs(10)));
        /// Kith extension: probes lost in a row that make a gateway unreachable
        /// (RouterOS: 2).
        check_gateway_threshold: Located<u8> = "check-gateway-threshold", default(Located::bare(2));
        /// Kith extension: probes answered in a row that make an unreachable gateway
        /// reachable again (RouterOS: 1).
        check_gateway_recovery: Located<u8> = "check-gateway-recovery", default(Located::bare(1));
        /// Route type.
        route_type: RouteType = "type", default(RouteType::Unicast);
        /// Routing table.
        routing_table: String = "routing-table", default("main".to_owned());
        /// Scope.
        scope: u8 = "scope", default(30);
        /// Target scope.
        target_scope: u8 = "target-scope", default(10);
        /// Whether the route is ignored.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}
