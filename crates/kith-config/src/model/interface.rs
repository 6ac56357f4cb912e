//! `/interface` menus: ethernet, vlan, bonding, bridge, list, ovpn-server, ovpn-client.

use crate::diag::Located;
use crate::values::{Host, MacAddress, Mtu, Netmask, Port, Secret, VlanId};

menu! {
    /// `/interface`.
    pub struct Interfaces = "interface" {
        /// `/interface ethernet`.
        ethernet: Vec<Ethernet> = "ethernet", list;
        /// `/interface vlan`.
        vlan: Vec<Vlan> = "vlan", list;
        /// `/interface bonding`.
        bonding: Vec<Bonding> = "bonding", list;
        /// `/interface bridge` and its ports.
        bridge: BridgeMenu = "bridge", default(BridgeMenu::default());
        /// `/interface list` and its members.
        list: InterfaceListMenu = "list", default(InterfaceListMenu::default());
        /// `/interface ovpn-server`: the server settings and static bindings.
        ovpn_server: OvpnServerMenu = "ovpn-server", default(OvpnServerMenu::default());
        /// `/interface ovpn-client`.
        ovpn_client: Vec<OvpnClient> = "ovpn-client", list;
    }
}

menu! {
    /// An `/interface ethernet` entry: binds a label to a NIC.
    pub struct Ethernet = "interface/ethernet entry" {
        /// The interface label used everywhere else.
        name: Located<String> = "name", required;
        /// The kernel name of the NIC (`eth0`).
        default_name: Option<Located<String>> = "default-name", optional;
        /// The NIC's MAC address (binds by MAC when there is no `default-name`).
        mac_address: Option<MacAddress> = "mac-address", optional;
        /// MTU.
        mtu: Mtu = "mtu", default(Mtu::lit(1500));
        /// Whether the interface is down.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// An `/interface vlan` entry.
    pub struct Vlan = "interface/vlan entry" {
        /// The interface label.
        name: Located<String> = "name", required;
        /// The 802.1Q tag, 1..4094.
        vlan_id: VlanId = "vlan-id", required;
        /// The parent interface.
        interface: Located<String> = "interface", required;
        /// MTU.
        mtu: Mtu = "mtu", default(Mtu::lit(1500));
        /// Whether the interface is down.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

ros_enum! {
    /// Bonding mode.
    pub enum BondingMode {
        /// Round robin.
        #[default]
        BalanceRr = "balance-rr",
        /// One active slave, the others standby.
        ActiveBackup = "active-backup",
        /// XOR of the transmit hash.
        BalanceXor = "balance-xor",
        /// Every packet on every slave.
        Broadcast = "broadcast",
        /// LACP.
        Lacp = "802.3ad",
        /// Adaptive transmit load balancing.
        BalanceTlb = "balance-tlb",
        /// Adaptive load balancing.
        BalanceAlb = "balance-alb",
    }
}

ros_enum! {
    /// Which headers the bonding transmit hash uses.
    pub enum TransmitHashPolicy {
        /// MAC addresses.
        #[default]
        Layer2 = "layer-2",
        /// MAC and IP addresses.
        Layer2And3 = "layer-2-and-3",
        /// IP addresses and ports.
        Layer3And4 = "layer-3-and-4",
    }
}

ros_enum! {
    /// How often LACP PDUs are sent.
    pub enum LacpRate {
        /// Every second.
        OneSec = "1sec",
        /// Every 30 seconds.
        #[default]
        ThirtySecs = "30secs",
    }
}

menu! {
    /// An `/interface bonding` entry.
    pub struct Bonding = "interface/bonding entry" {
        /// The interface label.
        name: Located<String> = "name", required;
        /// The member interfaces.
        slaves: Vec<Located<String>> = "slaves", required;
        /// Bonding mode.
        mode: BondingMode = "mode", default(BondingMode::BalanceRr);
        /// Transmit hash policy (balance-xor, 802.3ad, balance-tlb).
        transmit_hash_policy: TransmitHashPolicy = "transmit-hash-policy", default(TransmitHashPolicy::Layer2);
        /// LACP rate (802.3ad).
        lacp_rate: LacpRate = "lacp-rate", default(LacpRate::ThirtySecs);
        /// MTU.
        mtu: Mtu = "mtu", default(Mtu::lit(1500));
        /// Whether the interface is down.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// `/interface bridge`: bridges (`add`) and their ports.
    pub struct BridgeMenu = "interface/bridge" {
        /// The bridges.
        add: Vec<Bridge> = "add", list;
        /// `/interface bridge port`.
        port: Vec<BridgePort> = "port", list;
    }
}

menu! {
    /// An `/interface bridge` entry.
    pub struct Bridge = "interface/bridge entry" {
        /// The interface label.
        name: Located<String> = "name", required;
        /// MTU (`auto` when absent: the smallest of the ports').
        mtu: Option<Mtu> = "mtu", optional;
        /// Whether the interface is down.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// An `/interface bridge port` entry.
    pub struct BridgePort = "interface/bridge/port entry" {
        /// The bridge.
        bridge: Located<String> = "bridge", required;
        /// The port.
        interface: Located<String> = "interface", required;
        /// Whether the port is out of the bridge.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// `/interface list`: lists (`add`) and their members.
    pub struct InterfaceListMenu = "interface/list" {
        /// The lists.
        add: Vec<InterfaceList> = "add", list;
        /// `/interface list member`.
        member: Vec<InterfaceListMember> = "member", list;
    }
}

menu! {
    /// An `/interface list` entry.
    pub struct InterfaceList = "interface/list entry" {
        /// The list's name.
        name: Located<String> = "name", required;
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

menu! {
    /// An `/interface list member` entry.
    pub struct InterfaceListMember = "interface/list/member entry" {
        /// The list.
        list: Located<String> = "list", required;
        /// The interface.
        interface: Located<String> = "interface", required;
        /// Whether the membership is ignored.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}

ros_enum! {
    /// OpenVPN tunnel mode.
    pub enum OvpnMode {
        /// Layer 3 (tun).
        #[default]
        Ip = "ip",
        /// Layer 2 (tap).
        Ethernet = "ethernet",
    }
}

ros_enum! {
    /// OpenVPN transport.
    pub enum OvpnProtocol {
        /// TCP.
        #[default]
        Tcp = "tcp",
        /// UDP.
        Udp = "udp",
    }
}

ros_enum! {
    /// OpenVPN HMAC digest.
    pub enum OvpnAuth {
        /// SHA-1.
        #[default]
        Sha1 = "sha1",
        /// MD5.
        Md5 = "md5",
        /// SHA-256.
        Sha256 = "sha256",
        /// SHA-512.
        Sha512 = "sha512",
        /// No authentication.
        Null = "null",
    }
}

ros_enum! {
    /// OpenVPN data channel cipher.
    pub enum OvpnCipher {
        /// Blowfish, 128-bit key.
        #[default]
        Blowfish128 = "blowfish128",
        /// AES-128-CBC.
        Aes128 = "aes128",
        /// AES-192-CBC.
        Aes192 = "aes192",
        /// AES-256-CBC.
        Aes256 = "aes256",
        /// AES-128-GCM.
        Aes128Gcm = "aes128-gcm",
        /// AES-256-GCM.
        Aes256Gcm = "aes256-gcm",
        /// ChaCha20-Poly1305.
        Chacha20Poly1305 = "chacha20-poly1305",
        /// No encryption.
        Null = "null",
    }
}

menu! {
    /// `/interface ovpn-server`: the server (`server`) and static bindings (`add`).
    pub struct OvpnServerMenu = "interface/ovpn-server" {
        /// `/interface ovpn-server server`.
        server: OvpnServer = "server", default(OvpnServer::default());
        /// Static interface bindings, one per account.
        add: Vec<OvpnServerBinding> = "add", list;
    }
}

menu! {
    /// `/interface ovpn-server server` settings.
    pub struct OvpnServer = "interface/ovpn-server/server" {
        /// Whether the server listens.
        enabled: bool = "enabled", default(false);
        /// Listening port.
        port: Port = "port", default(Port::lit(1194));
        /// Tunnel mode.
        mode: OvpnMode = "mode", default(OvpnMode::Ip);
        /// Prefix length of the tunnel addresses.
        netmask: Netmask = "netmask", default(Netmask::lit(24));
        /// MAC address of the server side (ethernet mode).
        mac_address: Option<MacAddress> = "mac-address", optional;
        /// Largest MTU of the tunnels.
        max_mtu: Mtu = "max-mtu", default(Mtu::lit(1500));
        /// Keepalive timeout in seconds.
        keepalive_timeout: u32 = "keepalive-timeout", default(60);
        /// PPP profile for accounts without one.
        default_profile: Located<String> = "default-profile", default(Located::from("default"));
        /// Certificate name in `/etc/kith/pki`.
        certificate: Option<String> = "certificate", optional;
        /// Whether clients must present a certificate.
        require_client_certificate: bool = "require-client-certificate", default(false);
        /// Accepted HMAC digests.
        auth: Vec<OvpnAuth> = "auth", default(vec![OvpnAuth::Sha1, OvpnAuth::Md5]);
        /// Accepted ciphers.
        cipher: Vec<OvpnCipher> = "cipher", default(vec![OvpnCipher::Blowfish128, OvpnCipher::Aes128]);
        /// Transport.
        protocol: OvpnProtocol = "protocol", default(OvpnProtocol::Tcp);
        /// Seconds between data channel key renegotiations.
        reneg_sec: u32 = "reneg-sec", default(3600);
        /// `tls-auth`: a static key in the PKI's `tls/` (`kith pki tls-key NAME`) that
        /// signs every control packet (openvpn `tls-auth`, key direction 0 here).
        tls_auth: Option<String> = "tls-auth", optional;
        /// `tls-crypt`: a static key in the PKI's `tls/` that signs and encrypts every
        /// control packet (openvpn `tls-crypt`).
        tls_crypt: Option<String> = "tls-crypt", optional;
    }
}

menu! {
    /// An `/interface ovpn-server` binding: the interface of one account's tunnel.
    pub struct OvpnServerBinding = "interface/ovpn-server entry" {
        /// The interface label.
        name: Located<String> = "name", required;
        /// The `ppp/secret` whose session uses this interface.
        user: Located<String> = "user", required;
        /// Free text.
        comment: Option<String> = "comment", optional;
        /// Whether the binding is ignored.
        disabled: bool = "disabled", default(false);
    }
}

menu! {
    /// An `/interface ovpn-client` entry.
    pub struct OvpnClient = "interface/ovpn-client entry" {
        /// The interface label.
        name: Located<String> = "name", required;
        /// The server: host name (re-resolved on reconnect) or address.
        connect_to: Located<Host> = "connect-to", required;
        /// Server port.
        port: Port = "port", default(Port::lit(1194));
        /// Tunnel mode.
        mode: OvpnMode = "mode", default(OvpnMode::Ip);
        /// Transport.
        protocol: OvpnProtocol = "protocol", default(OvpnProtocol::Tcp);
        /// Account name.
        user: String = "user", required;
        /// Account password.
        password: Option<Secret> = "password", secret;
        /// PPP profile.
        profile: Located<String> = "profile", default(Located::from("default"));
        /// Client certificate name in `/etc/kith/pki`.
        certificate: Option<String> = "certificate", optional;
        /// Whether the server certificate is checked against the CA.
        verify_server_certificate: bool = "verify-server-certificate", default(false);
        /// HMAC digest.
        auth: Vec<OvpnAuth> = "auth", default(vec![OvpnAuth::Sha1]);
        /// Ciphers.
        cipher: Vec<OvpnCipher> = "cipher", default(vec![OvpnCipher::Blowfish128]);
        /// Whether a default route through the tunnel is added.
        add_default_route: bool = "add-default-route", default(false);
        /// `tls-auth`: a static key in the PKI's `tls/` (key direction 1 here).
        tls_auth: Option<String> = "tls-auth", optional;
        /// `tls-crypt`: a static key in the PKI's `tls/`.
        tls_crypt: Option<String> = "tls-crypt", optional;
        /// Largest MTU of the tunnel.
        max_mtu: Mtu = "max-mtu", default(Mtu::lit(1500));
        /// Whether the client is stopped.
        disabled: bool = "disabled", default(false);
        /// Free text.
        comment: Option<String> = "comment", optional;
    }
}
