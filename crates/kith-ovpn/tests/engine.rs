//! The tunnel engine, kith client against kith server, entirely in memory (no sockets,
//! simulated time): handshakes for every cipher and wrapping, data both ways,
//! renegotiation without loss, keepalive timeout, refused logins, lost and forged
//! packets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kith_ovpn::codec::static_key::{Key2, KeyDirection};
use kith_ovpn::codec::wrap::{AuthDigest, WrapMode};
use kith_ovpn::crypto::CipherKind;
use kith_ovpn::pki::Pki;
use kith_ovpn::session::tls::{TlsFiles, context};
use kith_ovpn::session::{Account, Action, Authenticator, LoginRequest, SessionConfig, Tunnel};

struct Accounts;

impl Authenticator for Accounts {
    fn login(&self, req: &LoginRequest<'_>) -> Result<Account, String> {
        let name = if req.username.is_empty() {
            req.common_name.unwrap_or_default().to_string()
        } else {
            if req.password != "pass" {
                return Err(format!("wrong password for {}", req.username));
            }
            req.username.to_string()
        };
        Ok(Account {
            interface: name.clone(),
            name,
            local: Ipv4Addr::new(172, 16, 10, 1),
            remote: Ipv4Addr::new(172, 16, 10, 2),
            routes: Vec::new(),
            mtu: 1450,
            only_one: true,
        })
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    pki: Pki,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::open(dir.path().join("pki"));
    pki.init("Kith CA engine", "server").unwrap();
    pki.issue("friend1-1").unwrap();
    Setup { _dir: dir, pki }
}

fn server_cfg(pki: &Pki, tcp: bool) -> SessionConfig {
    let files = TlsFiles {
        ca: Some(pki.ca_path()),
        cert: Some(pki.cert_path("server")),
        key: Some(pki.key_path("server")),
        crl: Some(pki.crl_path()),
    };
    SessionConfig::new(true, tcp, context(&files, true, true).unwrap())
}

fn client_cfg(pki: &Pki, name: &str, tcp: bool) -> SessionConfig {
    let files = TlsFiles {
        ca: Some(pki.ca_path()),
        cert: Some(pki.cert_path(name)),
        key: Some(pki.key_path(name)),
        crl: None,
    };
    SessionConfig::new(false, tcp, context(&files, false, true).unwrap())
}

#[derive(Default, Debug)]
struct Seen {
    up: usize,
    down: Vec<String>,
    delivered: Vec<Vec<u8>>,
}

struct Link {
    now: Instant,
    client: Tunnel,
    server: Option<Tunnel>,
    scfg: Arc<SessionConfig>,
    cseen: Seen,
    sseen: Seen,
    /// Drop every n-th packet in each direction (0: none).
    drop_every: usize,
    sent: usize,
    /// Rewrites each client -> server packet into the packets the server gets (a peer
    /// with another implementation's habits); none: as sent.
    client_wire: Option<Rewrite>,
    /// The same for server -> client.
    server_wire: Option<Rewrite>,
}

type Rewrite = Box<dyn FnMut(Vec<u8>) -> Vec<Vec<u8>>>;

impl Link {
    fn new(client: SessionConfig, server: SessionConfig) -> Link {
        let now = Instant::now();
        let client = Tunnel::client(Arc::new(client), "server", now).unwrap();
        Link {
            now,
            client,
            server: None,
            scfg: Arc::new(server),
            cseen: Seen::default(),
            sseen: Seen::default(),
            drop_every: 0,
            sent: 0,
            client_wire: None,
            server_wire: None,
        }
    }

    fn lose(&mut self) -> bool {
        self.sent += 1;
        self.drop_every > 0 && self.sent % self.drop_every == 0
    }

    /// Moves packets until both sides are quiet, then advances time by `step`.
    fn run(&mut self, duration: Duration, step: Duration) {
        let end = self.now + duration;
        while self.now < end {
            for _ in 0..200 {
                let mut moved = false;
                while let Some(a) = self.client.poll_action() {
                    moved = true;
                    match a {
                        Action::Send(p) => {
                            if self.lose() {
                                continue;
                            }
                            let wire = match &mut self.client_wire {
                                Some(rewrite) => rewrite(p),
                                None => vec![p],
                            };
                            for p in wire {
                                match &mut self.server {
                                    Some(s) => s.handle_packet(self.now, &p),
                                    None => {
                                        self.server = Some(
                                            Tunnel::server(
                                                self.scfg.clone(),
                                                Arc::new(Accounts),
                                                "client",
                                                7,
                                                &p,
                                                self.now,
                                            )
                                            .unwrap(),
                                        )
                                    }
                                }
                            }
                        }
                        Action::Deliver(p) => self.cseen.delivered.push(p),
                        Action::Up(_) => self.cseen.up += 1,
                        Action::Down(r) => self.cseen.down.push(r),
                    }
                }
                if let Some(s) = &mut self.server {
                    while let Some(a) = s.poll_action() {
                        moved = true;
                        match a {
                            Action::Send(p) => {
                                self.sent += 1;
                                if self.drop_every > 0 && self.sent % self.drop_every == 0 {
                                    continue;
                                }
                                let wire = match &mut self.server_wire {
                                    Some(rewrite) => rewrite(p),
                                    None => vec![p],
                                };
                                for p in wire {
                                    self.client.handle_packet(self.now, &p)
                                }
                            }
                            Action::Deliver(p) => self.sseen.delivered.push(p),
                            Action::Up(_) => self.sseen.up += 1,
                            Action::Down(r) => self.sseen.down.push(r),
                        }
                    }
                }
                if !moved {
                    break;
                }
            }
            self.now += step;
            self.client.tick(self.now);
            if let Some(s) = &mut self.server {
                s.tick(self.now);
            }
        }
    }

    fn server(&mut self) -> &mut Tunnel {
        self.server.as_mut().unwrap()
    }

    fn both_up(&self) -> bool {
        self.client.is_up() && self.server.as_ref().is_some_and(|s| s.is_up())
    }

    fn exchange(&mut self, n: usize) {
        let before_c = self.cseen.delivered.len();
        let before_s = self.sseen.delivered.len();
        for i in 0..n {
            let now = self.now;
            self.client.send_ip(now, &packet(i, 0x11));
            self.server().send_ip(now, &packet(i, 0x22));
            self.run(Duration::from_millis(1), Duration::from_millis(1));
        }
        self.run(Duration::from_millis(10), Duration::from_millis(1));
        assert_eq!(self.sseen.delivered.len() - before_s, n, "client -> server");
        assert_eq!(self.cseen.delivered.len() - before_c, n, "server -> client");
        assert_eq!(self.sseen.delivered.last(), Some(&packet(n - 1, 0x11)));
    }
}

fn packet(i: usize, fill: u8) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 0];
    p.extend_from_slice(&(i as u32).to_be_bytes());
    p.extend(std::iter::repeat_n(fill, 100 + i % 1300));
    p
}

fn connect(mut link: Link) -> Link {
    link.run(Duration::from_secs(10), Duration::from_millis(50));
    assert!(
        link.both_up(),
        "not up: client {:?} server {:?}",
        link.cseen.down,
        link.sseen.down
    );
    assert_eq!((link.cseen.up, link.sseen.up), (1, 1));
    link
}

#[test]
fn every_cipher_udp_and_tcp() {
    let s = setup();
    for tcp in [false, true] {
        for cipher in CipherKind::ALL {
            let mut c = client_cfg(&s.pki, "friend1-1", tcp);
            c.ciphers = vec![cipher];
            let mut sv = server_cfg(&s.pki, tcp);
            sv.ciphers = CipherKind::ALL.to_vec();
            let mut link = connect(Link::new(c, sv));
            let est = link.client.established().unwrap().clone();
            assert_eq!(est.suite.cipher, cipher);
            assert!(est.tls_ekm);
            assert_eq!(est.local, Some(Ipv4Addr::new(172, 16, 10, 2)));
            assert_eq!(est.remote, Some(Ipv4Addr::new(172, 16, 10, 1)));
            let sest = link.server().established().unwrap().clone();
            assert_eq!(sest.account.unwrap().name, "friend1-1");
            link.exchange(50);
        }
    }
}

#[test]
fn cbc_with_sha1_and_password() {
    let s = setup();
    let mut c = client_cfg(&s.pki, "friend1-1", true);
    c.ciphers = vec![CipherKind::Aes128Cbc];
    c.credentials = Some(("friend1-1".into(), "pass".into()));
    let mut sv = server_cfg(&s.pki, true);
    sv.ciphers = vec![CipherKind::Aes128Cbc, CipherKind::Aes256Cbc];
    sv.auths = vec![AuthDigest::Sha1];
    let mut link = connect(Link::new(c, sv));
    assert_eq!(
        link.client.established().unwrap().suite.to_string(),
        "AES-128-CBC/SHA1"
    );
    link.exchange(20);
}

#[test]
fn tls_auth_and_tls_crypt() {
    let s = setup();
    let key = Key2::random();
    for (cw, sw) in [
        (
            WrapMode::Auth(AuthDigest::Sha256, key.clone(), KeyDirection::Inverse),
            WrapMode::Auth(AuthDigest::Sha256, key.clone(), KeyDirection::Normal),
        ),
        (
            WrapMode::Crypt(key.clone(), false),
            WrapMode::Crypt(key.clone(), true),
        ),
    ] {
        let mut c = client_cfg(&s.pki, "friend1-1", false);
        c.wrap = cw;
        let mut sv = server_cfg(&s.pki, false);
        sv.wrap = sw;
        let mut link = connect(Link::new(c, sv));
        link.exchange(10);
    }
}

#[test]
fn handshake_survives_packet_loss() {
    let s = setup();
    let mut link = Link::new(
        client_cfg(&s.pki, "friend1-1", false),
        server_cfg(&s.pki, false),
    );
    link.drop_every = 3;
    link.run(Duration::from_secs(40), Duration::from_millis(100));
    assert!(
        link.both_up(),
        "{:?} {:?}",
        link.cseen.down,
        link.sseen.down
    );
    link.drop_every = 0;
    link.exchange(10);
}

#[test]
fn renegotiation_loses_nothing() {
    let s = setup();
    let mut c = client_cfg(&s.pki, "friend1-1", false);
    c.reneg = Some(Duration::from_secs(10));
    let mut link = connect(Link::new(c, server_cfg(&s.pki, false)));
    let mut sent = 0;
    // 35 simulated seconds of steady traffic: three renegotiations
    for _ in 0..350 {
        let now = link.now;
        link.client.send_ip(now, &packet(sent, 1));
        link.server().send_ip(now, &packet(sent, 2));
        sent += 1;
        link.run(Duration::from_millis(100), Duration::from_millis(100));
    }
    link.run(Duration::from_millis(100), Duration::from_millis(10));
    assert_eq!(link.sseen.delivered.len(), sent);
    assert_eq!(link.cseen.delivered.len(), sent);
    assert!(
        link.client.stats().keys_negotiated >= 4,
        "{:?}",
        link.client.stats()
    );
    assert!(link.server().stats().keys_negotiated >= 4);
    assert!(link.cseen.down.is_empty() && link.sseen.down.is_empty());
}

#[test]
fn server_initiated_renegotiation() {
    let s = setup();
    let mut sv = server_cfg(&s.pki, true);
    sv.reneg = Some(Duration::from_secs(5));
    let mut link = connect(Link::new(client_cfg(&s.pki, "friend1-1", true), sv));
    link.run(Duration::from_secs(12), Duration::from_millis(100));
    assert!(link.server().stats().keys_negotiated >= 3);
    assert_ne!(link.client.current_key_id(), Some(0));
    link.exchange(10);
}

#[test]
fn keepalive_timeout_detects_a_dead_peer() {
    let s = setup();
    let mut link = connect(Link::new(
        client_cfg(&s.pki, "friend1-1", false),
        server_cfg(&s.pki, false),
    ));
    // the client goes silent: only the server ticks
    let mut now = link.now;
    let server = link.server.as_mut().unwrap();
    let mut down = None;
    for _ in 0..700 {
        now += Duration::from_millis(100);
        server.tick(now);
        while let Some(a) = server.poll_action() {
            if let Action::Down(r) = a {
                down = Some((r, now - link.now));
            }
        }
        if down.is_some() {
            break;
        }
    }
    let (reason, after) = down.expect("server noticed nothing");
    assert!(reason.contains("keepalive timeout"), "{reason}");
    // the last packet from the client came at most one ping interval (10 s) before
    assert!(
        after >= Duration::from_secs(50) && after <= Duration::from_secs(61),
        "{after:?}"
    );
}

#[test]
fn pings_keep_an_idle_tunnel_up() {
    let s = setup();
    let mut link = connect(Link::new(
        client_cfg(&s.pki, "friend1-1", false),
        server_cfg(&s.pki, false),
    ));
    link.run(Duration::from_secs(200), Duration::from_millis(500));
    assert!(link.both_up());
    assert!(link.cseen.delivered.is_empty(), "pings are not delivered");
}

fn refused(link: &mut Link) -> (Vec<String>, Vec<String>) {
    link.run(Duration::from_secs(10), Duration::from_millis(50));
    assert!(!link.client.is_up());
    assert_eq!(link.sseen.up, 0);
    (link.cseen.down.clone(), link.sseen.down.clone())
}

#[test]
fn wrong_password_is_refused() {
    let s = setup();
    let mut c = client_cfg(&s.pki, "friend1-1", false);
    c.credentials = Some(("friend1-1".into(), "nope".into()));
    let (cdown, sdown) = refused(&mut Link::new(c, server_cfg(&s.pki, false)));
    eprintln!("client: {cdown:?} server: {sdown:?}");
    assert!(
        sdown.iter().any(|r| r.contains("wrong password")),
        "{sdown:?}"
    );
    assert!(cdown.iter().any(|r| r.contains("AUTH_FAILED")), "{cdown:?}");
}

#[test]
fn bad_certificates_are_refused() {
    let s = setup();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    s.pki
        .issue_between("expired", now - 10 * 86400, now - 86400)
        .unwrap();
    s.pki.issue("revoked").unwrap();
    s.pki.revoke("revoked").unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = Pki::open(other_dir.path());
    other.init("Other CA", "server").unwrap();
    other.issue("friend1-1").unwrap();

    let cases: [(SessionConfig, &str); 3] = [
        (
            client_cfg(&s.pki, "expired", false),
            "certificate has expired",
        ),
        (client_cfg(&s.pki, "revoked", false), "certificate revoked"),
        (
            {
                let files = TlsFiles {
                    ca: Some(s.pki.ca_path()),
                    cert: Some(other.cert_path("friend1-1")),
                    key: Some(other.key_path("friend1-1")),
                    crl: None,
                };
                SessionConfig::new(false, false, context(&files, false, true).unwrap())
            },
            "unable to get local issuer certificate",
        ),
    ];
    for (c, why) in cases {
        let (_, sdown) = refused(&mut Link::new(c, server_cfg(&s.pki, false)));
        assert!(
            sdown.iter().any(|r| r.contains(why)),
            "want {why}: {sdown:?}"
        );
    }
}

#[test]
fn forged_replayed_and_garbage_packets_are_dropped() {
    let s = setup();
    let mut link = connect(Link::new(
        client_cfg(&s.pki, "friend1-1", false),
        server_cfg(&s.pki, false),
    ));
    while link.client.poll_action().is_some() {}
    let now = link.now;
    link.client.send_ip(now, &packet(1, 3));
    let Some(Action::Send(data)) = link.client.poll_action() else {
        panic!("no data packet");
    };
    link.client.send_ip(now, &packet(2, 3));
    let Some(Action::Send(fresh)) = link.client.poll_action() else {
        panic!("no data packet");
    };
    let server = link.server.as_mut().unwrap();
    server.handle_packet(now, &data);
    server.handle_packet(now, &data);
    let mut forged = fresh.clone();
    let n = forged.len();
    forged[n - 1] ^= 1;
    server.handle_packet(now, &forged);
    for len in 0..40 {
        server.handle_packet(now, &data[..len.min(data.len())]);
        server.handle_packet(now, &vec![0x20; len]);
        server.handle_packet(now, &vec![0xff; len]);
    }
    let st = server.stats();
    assert_eq!(st.packets_in, 1);
    assert!(
        st.dropped_replay >= 1 && st.dropped_auth >= 1 && st.dropped_malformed > 0,
        "{st:?}"
    );
    assert!(server.is_up());
    while server.poll_action().is_some() {}
    link.exchange(5);
}

/// Rewrites a kith client's control channel into MikroTik RouterOS's habit: its first
/// `P_CONTROL_HARD_RESET_CLIENT_V2` goes out twice, numbered 0 and 1 (`both`), or once
/// numbered 1 (`!both`), and every later control packet is numbered one higher than
/// the kith client thinks; the server's ACKs are mapped back. Plain control packets (no
/// tls-auth) so that the ids can be rewritten.
fn mikrotik_numbering(both: bool) -> (Rewrite, Rewrite) {
    use kith_ovpn::codec::{AckList, ControlRepr, Opcode};
    let c2s: Rewrite = Box::new(move |p: Vec<u8>| {
        let Ok(mut repr) = ControlRepr::decode(&p) else {
            return vec![p]; // data channel
        };
        let Some(id) = repr.packet_id else {
            return vec![p]; // ACK_V1
        };
        repr.packet_id = Some(id + 1);
        let shifted = repr.to_vec();
        if both && id == 0 && repr.header.opcode == Opcode::HardResetClientV2 {
            return vec![p, shifted];
        }
        vec![shifted]
    });
    let s2c: Rewrite = Box::new(move |p: Vec<u8>| {
        let Ok(mut repr) = ControlRepr::decode(&p) else {
            return vec![p];
        };
        let mut acks = AckList::new();
        for &id in repr.acks.as_slice() {
            // the server's id 1 is the reset the kith client sent as 0 (or its copy)
            match id {
                0 if both => {}
                0 => panic!("the server ACKed an id the MikroTik-style client never sent"),
                n => {
                    acks.push(n - 1);
                }
            }
        }
        if acks.is_empty() && repr.packet_id.is_none() {
            return Vec::new(); // an ACK_V1 left with nothing to say
        }
        repr.acks = acks;
        vec![repr.to_vec()]
    });
    (c2s, s2c)
}

fn mikrotik_client(both: bool) {
    let s = setup();
    // MikroTik's client: TCP, AES-256-CBC with SHA1, username and password.
    let mut c = client_cfg(&s.pki, "friend1-1", true);
    c.ciphers = vec![CipherKind::Aes256Cbc];
    c.credentials = Some(("friend1-1".into(), "pass".into()));
    let mut sv = server_cfg(&s.pki, true);
    sv.ciphers = vec![CipherKind::Aes128Cbc, CipherKind::Aes256Cbc];
    let mut link = Link::new(c, sv);
    let (c2s, s2c) = mikrotik_numbering(both);
    link.client_wire = Some(c2s);
    link.server_wire = Some(s2c);
    let mut link = connect(link);
    assert_eq!(
        link.client.established().unwrap().suite.to_string(),
        "AES-256-CBC/SHA1"
    );
    link.exchange(20);
}

#[test]
fn mikrotik_client_sending_two_hard_resets() {
    mikrotik_client(true);
}

#[test]
fn mikrotik_client_numbering_its_hard_reset_1() {
    mikrotik_client(false);
}
