//! `/ppp` menus: profiles and secrets (the accounts of tunnel peers).

use std::net::Ipv4Addr;

use crate::diag::Located;
use crate::values::{AddressOrPool, Secret};

menu! {
    /// `/ppp`.
    pub struct Ppp = "ppp" {
        /// `/ppp profile`.
        profile: Vec<PppProfile> = "profile", list;
        /// `/ppp secret`.
        secret: Vec<PppSecret> = "secret", list;
    }
}

ros_enum! {
    /// A PPP profile switch: `default` defers to the `default` profile.
    pub enum PppSwitch {
        /// As the default profile says.
        #[default]
        Default = "default",
        /// On.
        Yes = "yes",
        /// Off.
        No = "no",
        /// On, and the peer must agree.
        Required = "required",
    }
}

menu! {
    /// A `/ppp profile` entry. The built-in profiles `default` and
    /// `default-encryption` exist without being written.
    pub struct PppProfile = "ppp/profile entry" {
        /// The profile's name.
        name: Located<String> = "name", required;
        /// Router side address of the tunnel (address or pool).
        local_address: Option<AddressOrPool> = "local-address", optional;
        /// Peer side address of the tunnel (address or pool).
        remote_address: Option<AddressOrPool> = "remote-address", optional;
        /// Compression.
        use_compression: PppSwitch = "use-compression", default(PppSwitch::Default);
        /// Encryption.
        use_encryption: PppSwitch = "use-encryption", default(PppSwitch::Default);
        /// Whether an account may have only one session at a time.
        only_one: PppSwitch = "only-one", default(PppSwitch::Default);
        /// Whether the TCP MSS is clamped on the tunnel.
        change_tcp_mss: PppSwitch = "change-tcp-mss", default(PppSwitch::Default);
        /// IPv6 on the tunnel.
        use_ipv6: PppSwitch = "use-ipv6", default(PppSwitch::Default);
        /// MPLS on the tunnel.
        use_mpls: PppSwitch = "use-mpls", default(PppSwitch::Default);
        /// UPnP on the tunnel.
        use_upnp: PppSwitch = "use-upnp", default(PppSwitch::Default);
        /// Address list the peer's address is added to.
        address_list: Option<String> = "address-list", optional;
        /// Script run when a session comes up.
        on_up: Option<String> = "on-up", optional;
        /// Script run when a session goes down.
        on_down: Option<String> = "on-down", optional;
        /// IPv6 pool delegated to the peer.
        remote_ipv6_prefix_pool: Option<String> = "remote-ipv6-prefix-pool", optional;
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

ros_enum! {
    /// Which tunnel services an account may use.
    pub enum PppService {
        /// Any.
        #[default]
        Any = "any",
        /// Async.
        Async = "async",
        /// L2TP.
        L2tp = "l2tp",
        /// OpenVPN.
        Ovpn = "ovpn",
        /// PPPoE.
        Pppoe = "pppoe",
        /// PPTP.
        Pptp = "pptp",
        /// SSTP.
        Sstp = "sstp",
    }
}

menu! {
    /// A `/ppp secret` entry: one account, which also declares the interface
    /// of its session (named after the account unless an ovpn-server binding names it).
    pub struct PppSecret = "ppp/secret entry" {
        /// The account name.
        name: Located<String> = "name", required;
        /// Services the account may use.
        service: PppService = "service", default(PppService::Any);
        /// Required caller id.
        caller_id: Option<String> = "caller-id", optional;
        /// The password.
        password: Option<Secret> = "password", secret;
        /// PPP profile.
        profile: Located<String> = "profile", default(Located::from("default"));
        /// Router side address of the tunnel.
        local_address: Option<Ipv4Addr> = "local-address", optional;
        /// Peer side address of the tunnel.
        remote_address: Option<Ipv4Addr> = "remote-address", optional;
        /// Routes added while the session is up (`dst gw metric`).
        routes: Vec<String> = "routes", default(Vec::new());
        /// Byte limit in (0: none).
        limit_bytes_in: u64 = "limit-bytes-in", default(0);
        /// Byte limit out (0: none).
        limit_bytes_out: u64 = "limit-bytes-out", default(0);
        /// Whether the account is locked.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}
