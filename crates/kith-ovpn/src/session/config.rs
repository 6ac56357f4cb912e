//! What a tunnel engine needs to know: its role, TLS context, wrapping, ciphers and
//! timers ([`SessionConfig`]), and on a server how logins become accounts
//! ([`Authenticator`], [`Account`]).

use std::net::Ipv4Addr;
use std::time::Duration;

use openssl::ssl::SslContext;

use crate::codec::options::PushRoute;
use crate::codec::wrap::{AuthDigest, WrapMode};
use crate::crypto::CipherKind;

/// Settings shared by the tunnels of one server or one client.
pub struct SessionConfig {
    /// True on the server side.
    pub server: bool,
    /// True over TCP (no exit notify, no retransmission worries).
    pub tcp: bool,
    /// The TLS context (certificates, CA, CRL, verification).
    pub tls: SslContext,
    /// tls-auth / tls-crypt.
    pub wrap: WrapMode,
    /// Data channel ciphers in order of preference (the client's first one goes in its
    /// options string).
    pub ciphers: Vec<CipherKind>,
    /// HMAC digests accepted for the CBC ciphers, preferred first.
    pub auths: Vec<AuthDigest>,
    /// Renegotiate the data channel key this often (`reneg-sec`; none: never).
    pub reneg: Option<Duration>,
    /// Send a keepalive ping when nothing was sent for this long.
    pub ping: Duration,
    /// Declare the peer dead when nothing arrived for this long (`keepalive-timeout`).
    pub ping_restart: Duration,
    /// A key's handshake must finish within this (`hand-window`).
    pub handshake_window: Duration,
    /// An old key keeps decrypting this long after a new one took over
    /// (`transition-window`).
    pub transition_window: Duration,
    /// The client's username and password (`auth-user-pass`).
    pub credentials: Option<(String, String)>,
    /// Tun MTU announced in the options string.
    pub tun_mtu: u32,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("server", &self.server)
            .field("tcp", &self.tcp)
            .field("ciphers", &self.ciphers)
            .field("auths", &self.auths)
            .field("reneg", &self.reneg)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// Defaults for a role: keepalive 10/60 s, hand-window 60 s, transition-window
    /// 60 s, no renegotiation, AES-256-GCM first.
    pub fn new(server: bool, tcp: bool, tls: SslContext) -> SessionConfig {
        SessionConfig {
            server,
            tcp,
            tls,
            wrap: WrapMode::None,
            ciphers: vec![
                CipherKind::Aes256Gcm,
                CipherKind::Aes128Gcm,
                CipherKind::Chacha20Poly1305,
            ],
            auths: vec![AuthDigest::Sha1],
            reneg: None,
            ping: Duration::from_secs(10),
            ping_restart: Duration::from_secs(60),
            handshake_window: Duration::from_secs(60),
            transition_window: Duration::from_secs(60),
            credentials: None,
            tun_mtu: 1500,
        }
    }
}

/// A server's answer to a login: who the peer is and what its tunnel looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The account (`ppp/secret` name, or the certificate's common name).
    pub name: String,
    /// The interface label of its tunnel (`friend1-1`).
    pub interface: String,
    /// The server's address on the tunnel.
    pub local: Ipv4Addr,
    /// The client's address on the tunnel.
    pub remote: Ipv4Addr,
    /// Routes pushed to the client.
    pub routes: Vec<PushRoute>,
    /// Tunnel MTU.
    pub mtu: u32,
    /// A second login replaces the first (`only-one`).
    pub only_one: bool,
}

/// What a client presented.
#[derive(Debug, Clone, Copy)]
pub struct LoginRequest<'a> {
    /// Username from key-method 2 (empty when none).
    pub username: &'a str,
    /// Password from key-method 2 (empty when none); never log it.
    pub password: &'a str,
    /// The common name of the verified client certificate.
    pub common_name: Option<&'a str>,
    /// The client's transport address, for logs.
    pub peer: &'a str,
}

/// Decides logins on a server.
pub trait Authenticator: Send + Sync {
    /// The account of a login, or why it is refused (in the user's words).
    fn login(&self, req: &LoginRequest<'_>) -> Result<Account, String>;

    /// Whether `account`, granted by an earlier login, is still what the accounts say
    /// (a reload may have removed or changed it while the tunnel finished its
    /// handshake).
    fn still_current(&self, account: &Account) -> bool {
        let _ = account;
        true
    }
}
