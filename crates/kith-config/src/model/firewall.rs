//! `/ip firewall` and `/ipv6 firewall` menus: filter, nat, mangle rules and address lists.

use crate::diag::Located;
use crate::values::{
    AddressSpec, ConnectionState, Duration, IcmpOptions, Limit, Negatable, NewMss, PortRange,
    Protocol, TcpFlag,
};

menu! {
    /// `/ip firewall`.
    pub struct Firewall = "ip/firewall" {
        /// `/ip firewall filter`.
        filter: Vec<FirewallRule> = "filter", list;
        /// `/ip firewall nat`.
        nat: Vec<FirewallRule> = "nat", list;
        /// `/ip firewall mangle`.
        mangle: Vec<FirewallRule> = "mangle", list;
        /// `/ip firewall address-list`.
        address_list: Vec<AddressListEntry> = "address-list", list;
    }
}

menu! {
    /// `/ipv6 firewall`.
    pub struct Ipv6Firewall = "ipv6/firewall" {
        /// `/ipv6 firewall filter`.
        filter: Vec<FirewallRule> = "filter", list;
        /// `/ipv6 firewall address-list`.
        address_list: Vec<AddressListEntry> = "address-list", list;
    }
}

ros_enum! {
    /// What a firewall rule does. Which actions a table allows is checked by validation.
    pub enum FirewallAction {
        /// Accept the packet (stop processing).
        #[default]
        Accept = "accept",
        /// Drop silently.
        Drop = "drop",
        /// Drop and answer with `reject-with`.
        Reject = "reject",
        /// Continue in `jump-target`.
        Jump = "jump",
        /// Return to the calling chain.
        Return = "return",
        /// Count and continue.
        Passthrough = "passthrough",
        /// Log and continue.
        Log = "log",
        /// Fast-path the connection.
        FasttrackConnection = "fasttrack-connection",
        /// Add the source address to `address-list`.
        AddSrcToAddressList = "add-src-to-address-list",
        /// Add the destination address to `address-list`.
        AddDstToAddressList = "add-dst-to-address-list",
        /// Source NAT to the outgoing interface's address.
        Masquerade = "masquerade",
        /// Source NAT to `to-addresses`.
        SrcNat = "src-nat",
        /// Destination NAT to `to-addresses`/`to-ports`.
        DstNat = "dst-nat",
        /// Destination NAT to the router itself.
        Redirect = "redirect",
        /// 1:1 prefix mapping.
        Netmap = "netmap",
        /// Set the TCP MSS to `new-mss`.
        ChangeMss = "change-mss",
        /// Set `new-connection-mark`.
        MarkConnection = "mark-connection",
        /// Set `new-packet-mark`.
        MarkPacket = "mark-packet",
        /// Set `new-routing-mark`.
        MarkRouting = "mark-routing",
    }
}

impl FirewallAction {
    /// Actions allowed in `firewall/filter`.
    pub const FILTER: &'static [Self] = &[
        Self::Accept,
        Self::Drop,
        Self::Reject,
        Self::Jump,
        Self::Return,
        Self::Passthrough,
        Self::Log,
        Self::FasttrackConnection,
        Self::AddSrcToAddressList,
        Self::AddDstToAddressList,
    ];
    /// Actions allowed in `firewall/nat`.
    pub const NAT: &'static [Self] = &[
        Self::Accept,
        Self::Jump,
        Self::Return,
        Self::Passthrough,
        Self::Log,
        Self::AddSrcToAddressList,
        Self::AddDstToAddressList,
        Self::Masquerade,
        Self::SrcNat,
        Self::DstNat,
        Self::Redirect,
        Self::Netmap,
    ];
    /// Actions allowed in `firewall/mangle`.
    pub const MANGLE: &'static [Self] = &[
        Self::Accept,
        Self::Jump,
        Self::Return,
        Self::Passthrough,
        Self::Log,
        Self::AddSrcToAddressList,
        Self::AddDstToAddressList,
        Self::ChangeMss,
        Self::MarkConnection,
        Self::MarkPacket,
        Self::MarkRouting,
    ];
}

ros_enum! {
    /// ICMP answer of a `reject` rule.
    pub enum RejectWith {
        /// ICMP network unreachable.
        IcmpNetworkUnreachable = "icmp-network-unreachable",
        /// ICMP host unreachable.
        IcmpHostUnreachable = "icmp-host-unreachable",
        /// ICMP port unreachable.
        IcmpPortUnreachable = "icmp-port-unreachable",
        /// ICMP protocol unreachable.
        IcmpProtocolUnreachable = "icmp-protocol-unreachable",
        /// ICMP network prohibited.
        IcmpNetworkProhibited = "icmp-network-prohibited",
        /// ICMP host prohibited.
        IcmpHostProhibited = "icmp-host-prohibited",
        /// ICMP administratively prohibited.
        IcmpAdminProhibited = "icmp-admin-prohibited",
        /// TCP reset.
        #[default]
        TcpReset = "tcp-reset",
    }
}

menu! {
    /// A firewall rule of `filter`, `nat` or `mangle` (IPv4 or IPv6).
    pub struct FirewallRule = "firewall rule" {
        /// The chain the rule belongs to (built-in or custom).
        chain: Located<String> = "chain", required;
        /// What the rule does.
        action: Located<FirewallAction> = "action", shown(Located::bare(FirewallAction::Accept));
        /// The chain to continue in (`action: jump`).
        jump_target: Option<Located<String>> = "jump-target", optional;
        /// IP protocol.
        protocol: Option<Located<Protocol>> = "protocol", optional;
        /// Source address, prefix or range.
        src_address: Option<Negatable<Located<AddressSpec>>> = "src-address", optional;
        /// Destination address, prefix or range.
        dst_address: Option<Negatable<Located<AddressSpec>>> = "dst-address", optional;
        /// Source address list.
        src_address_list: Option<Negatable<String>> = "src-address-list", optional;
        /// Destination address list.
        dst_address_list: Option<Negatable<String>> = "dst-address-list", optional;
        /// Source ports.
        src_port: Option<Located<Vec<PortRange>>> = "src-port", optional;
        /// Destination ports.
        dst_port: Option<Located<Vec<PortRange>>> = "dst-port", optional;
        /// Incoming interface.
        in_interface: Option<Negatable<Located<String>>> = "in-interface", optional;
        /// Outgoing interface.
        out_interface: Option<Negatable<Located<String>>> = "out-interface", optional;
        /// Incoming interface list.
        in_interface_list: Option<Negatable<Located<String>>> = "in-interface-list", optional;
        /// Outgoing interface list.
        out_interface_list: Option<Negatable<Located<String>>> = "out-interface-list", optional;
        /// Connection tracking states.
        connection_state: Vec<ConnectionState> = "connection-state", default(Vec::new());
        /// ICMP type and code.
        icmp_options: Option<IcmpOptions> = "icmp-options", optional;
        /// TCP flags (`syn,!ack`).
        tcp_flags: Vec<Negatable<TcpFlag>> = "tcp-flags", default(Vec::new());
        /// Rate limit.
        limit: Option<Limit> = "limit", optional;
        /// ICMP answer of `reject`.
        reject_with: Option<RejectWith> = "reject-with", optional;
        /// Whether matches are logged.
        log: bool = "log", default(false);
        /// Prefix of log lines.
        log_prefix: Option<String> = "log-prefix", optional;
        /// Address list filled by `add-src/dst-to-address-list`.
        address_list: Option<String> = "address-list", optional;
        /// How long an added address stays (forever when absent).
        address_list_timeout: Option<Duration> = "address-list-timeout", optional;
        /// NAT target addresses.
        to_addresses: Option<Located<AddressSpec>> = "to-addresses", optional;
        /// NAT target ports.
        to_ports: Option<PortRange> = "to-ports", optional;
        /// MSS set by `change-mss`.
        new_mss: Option<NewMss> = "new-mss", optional;
        /// Mark set by `mark-connection`.
        new_connection_mark: Option<String> = "new-connection-mark", optional;
        /// Mark set by `mark-packet`.
        new_packet_mark: Option<String> = "new-packet-mark", optional;
        /// Routing table set by `mark-routing`.
        new_routing_mark: Option<String> = "new-routing-mark", optional;
        /// Whether a mangle rule lets the packet continue to the next rule.
        passthrough: bool = "passthrough", default(true);
        /// Whether the rule is ignored.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// An `/ip firewall address-list` entry.
    pub struct AddressListEntry = "firewall/address-list entry" {
        /// The list's name.
        list: Located<String> = "list", required;
        /// The address, prefix or range.
        address: Located<AddressSpec> = "address", required;
        /// Whether the entry is ignored.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}
