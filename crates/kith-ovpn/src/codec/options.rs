//! The text messages of the control channel: the OCC options string, peer info
//! (`IV_*` lines), and `PUSH_REQUEST` / `PUSH_REPLY` / `AUTH_FAILED` / `RESTART` / `EXIT`.

use std::net::Ipv4Addr;

/// `PUSH_REQUEST`.
pub const PUSH_REQUEST: &str = "PUSH_REQUEST";
/// `AUTH_FAILED`: the server refused the credentials.
pub const AUTH_FAILED: &str = "AUTH_FAILED";
/// `EXIT`: the peer leaves (control channel exit notify).
pub const EXIT: &str = "EXIT";

/// IV_PROTO bit: P_DATA_V2 with peer id.
pub const IV_PROTO_DATA_V2: u32 = 1 << 1;
/// IV_PROTO bit: the client takes a PUSH_REPLY without asking.
pub const IV_PROTO_REQUEST_PUSH: u32 = 1 << 2;
/// IV_PROTO bit: RFC 5705 keying material exporter for the data channel keys.
pub const IV_PROTO_TLS_KEY_EXPORT: u32 = 1 << 3;
/// IV_PROTO bit: exit notify over the control channel.
pub const IV_PROTO_CC_EXIT_NOTIFY: u32 = 1 << 7;

/// Builds the OCC options string of this end. openvpn 2.6 only warns when the two ends
/// differ, but a peer that does not negotiate ciphers takes `cipher` from here.
pub fn options_string(
    server: bool,
    tcp: bool,
    cipher: &str,
    auth: Option<&str>,
    key_bits: usize,
    tun_mtu: u32,
) -> String {
    let proto = match (tcp, server) {
        (false, _) => "UDPv4",
        (true, true) => "TCPv4_SERVER",
        (true, false) => "TCPv4_CLIENT",
    };
    let auth = auth.unwrap_or("[null-digest]");
    let role = if server { "tls-server" } else { "tls-client" };
    let link_mtu = tun_mtu + if tcp { 61 } else { 59 };
    format!(
        "V4,dev-type tun,link-mtu {link_mtu},tun-mtu {tun_mtu},proto {proto},cipher {cipher},auth {auth},keysize {key_bits},key-method 2,{role}"
    )
}

/// The argument of `name` in an options string (`cipher AES-128-CBC` -> `AES-128-CBC`).
pub fn option_value<'a>(options: &'a str, name: &str) -> Option<&'a str> {
    options.split(',').find_map(|o| {
        let mut words = o.split_whitespace();
        (words.next() == Some(name)).then(|| words.next()).flatten()
    })
}

/// Peer info: `KEY=VALUE` lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerInfo {
    vars: Vec<(String, String)>,
}

impl PeerInfo {
    /// Parses peer info text; lines without `=` are ignored.
    pub fn parse(text: &str) -> PeerInfo {
        let vars = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
            .take(256)
            .collect();
        PeerInfo { vars }
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `IV_PROTO` as a number (0 when absent).
    pub fn proto(&self) -> u32 {
        self.get("IV_PROTO")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// `IV_CIPHERS` as a list; empty when absent.
    pub fn ciphers(&self) -> Vec<String> {
        self.get("IV_CIPHERS")
            .map(|v| v.split(':').map(|c| c.to_ascii_uppercase()).collect())
            .unwrap_or_default()
    }

    /// `IV_VER`.
    pub fn version(&self) -> Option<&str> {
        self.get("IV_VER")
    }
}

/// One pushed route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PushRoute {
    /// Network address.
    pub network: Ipv4Addr,
    /// Netmask (dotted).
    pub netmask: Ipv4Addr,
    /// Gateway, when given (else the tunnel peer).
    pub gateway: Option<Ipv4Addr>,
    /// Metric, when given.
    pub metric: Option<u32>,
}

/// What a `PUSH_REPLY` tells the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReply {
    /// `topology` (Kith pushes `p2p`).
    pub topology: Option<String>,
    /// `ifconfig <local> <remote>`: the client's address and its peer.
    pub ifconfig: Option<(Ipv4Addr, Ipv4Addr)>,
    /// `route` entries.
    pub routes: Vec<PushRoute>,
    /// `peer-id`.
    pub peer_id: Option<u32>,
    /// `cipher` for the data channel.
    pub cipher: Option<String>,
    /// `key-derivation tls-ekm` (or `protocol-flags ... tls-ekm`).
    pub tls_ekm: bool,
    /// `ping` seconds.
    pub ping: Option<u32>,
    /// `ping-restart` seconds.
    pub ping_restart: Option<u32>,
    /// `tun-mtu`.
    pub tun_mtu: Option<u32>,
}

impl PushReply {
    /// Parses a `PUSH_REPLY` message; also returns whether more parts follow
    /// (`push-continuation 2`). Unknown options are ignored, as openvpn does with
    /// `pull-filter`-less clients for options it does not know.
    pub fn parse(msg: &str) -> Option<(PushReply, bool)> {
        let mut parts = msg.split(',');
        if parts.next()?.trim() != "PUSH_REPLY" {
            return None;
        }
        let mut r = PushReply::default();
        let mut more = false;
        for opt in parts {
            let w: Vec<&str> = opt.split_whitespace().collect();
            let arg = |i: usize| w.get(i).copied();
            let num = |i: usize| arg(i).and_then(|v| v.parse::<u32>().ok());
            let ip = |i: usize| arg(i).and_then(|v| v.parse::<Ipv4Addr>().ok());
            match w.first().copied() {
                Some("topology") => r.topology = arg(1).map(str::to_string),
                Some("ifconfig") => {
                    if let (Some(a), Some(b)) = (ip(1), ip(2)) {
                        r.ifconfig = Some((a, b));
                    }
                }
                Some("route") => {
                    if let Some(network) = ip(1) {
                        r.routes.push(PushRoute {
                            network,
                            netmask: ip(2).unwrap_or(Ipv4Addr::BROADCAST),
                            gateway: ip(3),
                            metric: num(4),
                        });
                    }
                }
                Some("peer-id") => r.peer_id = num(1),
                Some("cipher") => r.cipher = arg(1).map(str::to_ascii_uppercase),
                Some("key-derivation") => r.tls_ekm |= arg(1) == Some("tls-ekm"),
                Some("protocol-flags") => r.tls_ekm |= w.contains(&"tls-ekm"),
                Some("ping") => r.ping = num(1),
                Some("ping-restart") => r.ping_restart = num(1),
                Some("tun-mtu") => r.tun_mtu = num(1),
                Some("push-continuation") => more = arg(1) == Some("2"),
                _ => {}
            }
        }
        Some((r, more))
    }

    /// Adds the options of a later part of a continued reply.
    pub fn merge(&mut self, later: PushReply) {
        self.topology = later.topology.or(self.topology.take());
        self.ifconfig = later.ifconfig.or(self.ifconfig);
        self.routes.extend(later.routes);
        self.peer_id = later.peer_id.or(self.peer_id);
        self.cipher = later.cipher.or(self.cipher.take());
        self.tls_ekm |= later.tls_ekm;
        self.ping = later.ping.or(self.ping);
        self.ping_restart = later.ping_restart.or(self.ping_restart);
        self.tun_mtu = later.tun_mtu.or(self.tun_mtu);
    }

    /// The message text (without the trailing NUL).
    pub fn to_message(&self) -> String {
        let mut s = String::from("PUSH_REPLY");
        if let Some(t) = &self.topology {
            s.push_str(&format!(",topology {t}"));
        }
        if let Some((a, b)) = self.ifconfig {
            s.push_str(&format!(",ifconfig {a} {b}"));
        }
        for r in &self.routes {
            s.push_str(&format!(",route {} {}", r.network, r.netmask));
            if let Some(g) = r.gateway {
                s.push_str(&format!(" {g}"));
                if let Some(m) = r.metric {
                    s.push_str(&format!(" {m}"));
                }
            }
        }
        if let Some(p) = self.ping {
            s.push_str(&format!(",ping {p}"));
        }
        if let Some(p) = self.ping_restart {
            s.push_str(&format!(",ping-restart {p}"));
        }
        if let Some(m) = self.tun_mtu {
            s.push_str(&format!(",tun-mtu {m}"));
        }
        if let Some(p) = self.peer_id {
            s.push_str(&format!(",peer-id {p}"));
        }
        if let Some(c) = &self.cipher {
            s.push_str(&format!(",cipher {c}"));
        }
        if self.tls_ekm {
            s.push_str(",key-derivation tls-ekm");
        }
        s
    }
}

/// Splits control channel plaintext into NUL-terminated messages; returns the complete
/// ones and keeps the unterminated rest in `pending`.
pub fn split_messages(pending: &mut Vec<u8>, input: &[u8]) -> Vec<String> {
    pending.extend_from_slice(input);
    let mut out = Vec::new();
    while let Some(pos) = pending.iter().position(|&b| b == 0) {
        let msg: Vec<u8> = pending.drain(..=pos).collect();
        let text = String::from_utf8_lossy(&msg[..msg.len() - 1]);
        let text = text.trim_end_matches(['\r', '\n']).to_string();
        if !text.is_empty() {
            out.push(text);
        }
    }
    // A peer that never sends a NUL cannot make us buffer without bound.
    if pending.len() > 65536 {
        pending.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_string_and_extraction() {
        let s = options_string(true, true, "AES-128-CBC", Some("SHA1"), 128, 1450);
        assert_eq!(
            s,
            "V4,dev-type tun,link-mtu 1511,tun-mtu 1450,proto TCPv4_SERVER,cipher AES-128-CBC,auth SHA1,keysize 128,key-method 2,tls-server"
        );
        assert_eq!(option_value(&s, "cipher"), Some("AES-128-CBC"));
        assert_eq!(option_value(&s, "auth"), Some("SHA1"));
        assert_eq!(option_value(&s, "comp-lzo"), None);
    }

    #[test]
    fn peer_info() {
        let p = PeerInfo::parse(
            "IV_VER=2.6.14\nIV_PLAT=linux\nIV_PROTO=990\nIV_CIPHERS=AES-256-GCM:AES-128-GCM:CHACHA20-POLY1305\n",
        );
        assert_eq!(p.version(), Some("2.6.14"));
        assert_eq!(p.proto(), 990);
        assert_eq!(p.ciphers().len(), 3);
        assert_eq!(PeerInfo::parse("").proto(), 0);
    }

    #[test]
    fn push_reply_round_trips() {
        let r = PushReply {
            topology: Some("p2p".into()),
            ifconfig: Some((
                "172.16.10.2".parse().unwrap(),
                "172.16.10.1".parse().unwrap(),
            )),
            routes: vec![PushRoute {
                network: "192.168.0.0".parse().unwrap(),
                netmask: "255.255.255.0".parse().unwrap(),
                gateway: None,
                metric: None,
            }],
            peer_id: Some(3),
            cipher: Some("AES-256-GCM".into()),
            tls_ekm: true,
            ping: Some(10),
            ping_restart: Some(60),
            tun_mtu: None,
        };
        let text = r.to_message();
        assert_eq!(
            text,
            "PUSH_REPLY,topology p2p,ifconfig 172.16.10.2 172.16.10.1,route 192.168.0.0 255.255.255.0,ping 10,ping-restart 60,peer-id 3,cipher AES-256-GCM,key-derivation tls-ekm"
        );
        assert_eq!(PushReply::parse(&text), Some((r, false)));
    }

    #[test]
    fn push_reply_from_openvpn_26() {
        let text = "PUSH_REPLY,route-gateway 10.8.0.1,topology subnet,ping 10,ping-restart 120,ifconfig 10.8.0.2 255.255.255.0,peer-id 0,cipher AES-256-GCM,protocol-flags cc-exit tls-ekm dyn-tls-crypt,tun-mtu 1500,push-continuation 2";
        let (r, more) = PushReply::parse(text).unwrap();
        assert!(more && r.tls_ekm);
        assert_eq!(r.peer_id, Some(0));
        assert!(PushReply::parse("AUTH_FAILED").is_none());
    }

    #[test]
    fn messages_split_on_nul() {
        let mut pending = Vec::new();
        assert!(split_messages(&mut pending, b"PUSH_REQ").is_empty());
        assert_eq!(
            split_messages(&mut pending, b"UEST\0EXIT\0part"),
            vec!["PUSH_REQUEST".to_string(), "EXIT".to_string()]
        );
        assert_eq!(pending, b"part");
    }
}
