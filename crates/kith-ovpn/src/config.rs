//! From the router config to what vpnd runs: the server (`interface/ovpn-server`,
//! `ppp/secret`, `ppp/profile`) and the clients (`interface/ovpn-client`), with
//! certificates from the PKI directory.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use kith_config::{
    AddressOrPool, Config, Host, OvpnClient, OvpnProtocol, PppSecret, PppService, PppSwitch,
};
use tracing::warn;

use crate::codec::options::PushRoute;
use crate::codec::static_key::{Key2, KeyDirection};
use crate::codec::wrap::{AuthDigest, WrapMode};
use crate::crypto::CipherKind;
use crate::crypto::suite::digest_from_config;
use crate::pki::Pki;
use crate::session::tls::{TlsFiles, context};
use crate::session::{Account, Authenticator, LoginRequest, SessionConfig};

/// What vpnd runs.
pub struct VpnSpec {
    /// The server, when enabled.
    pub server: Option<ServerSpec>,
    /// The enabled clients.
    pub clients: Vec<ClientSpec>,
    /// `ip/dns` servers for `connect-to` names.
    pub dns: Vec<IpAddr>,
}

/// The server side.
pub struct ServerSpec {
    /// Port.
    pub port: u16,
    /// TCP or UDP.
    pub tcp: bool,
    /// Engine settings for new sessions (replaced in place when the CRL is re-signed).
    pub session: Arc<SessionSlot>,
    /// Logins (replaced in place on reload).
    pub accounts: Arc<ConfigAccounts>,
}

/// One client.
pub struct ClientSpec {
    /// The interface label (`home-isp1`).
    pub name: String,
    /// Server name or address.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// TCP or UDP.
    pub tcp: bool,
    /// Engine settings.
    pub session: Arc<SessionConfig>,
    /// Tunnel MTU.
    pub mtu: u32,
    /// `add-default-route`: a default route through the tunnel while it is up.
    pub add_default_route: bool,
}

/// True when the config has anything for vpnd (the supervisor starts it only then).
pub fn wants_vpnd(config: &Config) -> bool {
    config.interface.ovpn_server.server.enabled
        || config.interface.ovpn_client.iter().any(|c| !c.disabled)
}

/// Builds the spec; errors name the config item that cannot work.
pub fn spec(config: &Config, pki_dir: &Path) -> Result<VpnSpec, String> {
    let pki = Pki::open(pki_dir);
    let server = if config.interface.ovpn_server.server.enabled {
        Some(server_spec(config, &pki)?)
    } else {
        None
    };
    let mut clients = Vec::new();
    for c in config.interface.ovpn_client.iter().filter(|c| !c.disabled) {
        clients.push(client_spec(c, &pki)?);
    }
    Ok(VpnSpec {
        server,
        clients,
        dns: config.ip.dns.servers.clone(),
    })
}

/// A server's engine settings, replaceable while it runs: sessions that start
/// afterwards take the new ones, running sessions keep theirs.
#[derive(Debug)]
pub struct SessionSlot(RwLock<Arc<SessionConfig>>);

impl SessionSlot {
    /// A slot holding `session`.
    pub fn new(session: Arc<SessionConfig>) -> SessionSlot {
        SessionSlot(RwLock::new(session))
    }

    /// The settings for a session starting now.
    pub fn get(&self) -> Arc<SessionConfig> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes `session` for the sessions that start from now on.
    pub fn replace(&self, session: Arc<SessionConfig>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = session;
    }
}

/// One client's spec (`interface/ovpn-client` entry `c`).
pub fn client_spec(c: &OvpnClient, pki: &Pki) -> Result<ClientSpec, String> {
    let name = c.name.value.clone();
    let files = TlsFiles {
        ca: pki.ca_path().exists().then(|| pki.ca_path()),
        cert: c.certificate.as_ref().map(|n| pki.cert_path(n)),
        key: c.certificate.as_ref().map(|n| pki.key_path(n)),
        crl: None,
    };
    let tls = context(&files, false, c.verify_server_certificate)
        .map_err(|e| format!("ovpn-client {name}: {e}"))?;
    let tcp = c.protocol == OvpnProtocol::Tcp;
    let mut s = SessionConfig::new(false, tcp, tls);
    s.ciphers = ciphers(&c.cipher, &format!("ovpn-client {name}"))?;
    s.auths = auths(&c.auth);
    s.wrap = wrap(
        pki,
        &c.tls_auth,
        &c.tls_crypt,
        s.auths[0],
        false,
        &format!("ovpn-client {name}"),
    )?;
    s.credentials = c
        .password
        .as_ref()
        .map(|p| (c.user.clone(), p.expose().to_string()))
        .or_else(|| (!c.user.is_empty()).then(|| (c.user.clone(), String::new())));
    s.tun_mtu = c.max_mtu.get().into();
    let host = match &c.connect_to.value {
        Host::Address(a) => a.to_string(),
        Host::Name(n) => n.clone(),
    };
    Ok(ClientSpec {
        name,
        host,
        port: c.port.get(),
        tcp,
        session: Arc::new(s),
        mtu: c.max_mtu.get().into(),
        add_default_route: c.add_default_route,
    })
}

/// The server's spec (`interface/ovpn-server/server`, accounts from `ppp/secret`).
pub fn server_spec(config: &Config, pki: &Pki) -> Result<ServerSpec, String> {
    let srv = &config.interface.ovpn_server.server;
    let cert = srv
        .certificate
        .clone()
        .unwrap_or_else(|| "server".to_string());
    let files = TlsFiles {
        ca: Some(pki.ca_path()),
        cert: Some(pki.cert_path(&cert)),
        key: Some(pki.key_path(&cert)),
        crl: pki.crl_path().exists().then(|| pki.crl_path()),
    };
    let tls = context(&files, true, srv.require_client_certificate)
        .map_err(|e| format!("ovpn-server: {e}"))?;
    let tcp = srv.protocol == OvpnProtocol::Tcp;
    let mut s = SessionConfig::new(true, tcp, tls);
    s.ciphers = ciphers(&srv.cipher, "ovpn-server")?;
    s.auths = auths(&srv.auth);
    s.wrap = wrap(
        pki,
        &srv.tls_auth,
        &srv.tls_crypt,
        s.auths[0],
        true,
        "ovpn-server",
    )?;
    s.tun_mtu = srv.max_mtu.get().into();
    let timeout = u64::from(srv.keepalive_timeout.max(6));
    s.ping_restart = Duration::from_secs(timeout);
    s.ping = Duration::from_secs((timeout / 6).max(1));
    s.reneg = (srv.reneg_sec > 0).then(|| Duration::from_secs(u64::from(srv.reneg_sec)));
    Ok(ServerSpec {
        port: srv.port.get(),
        tcp,
        session: Arc::new(SessionSlot::new(Arc::new(s))),
        accounts: Arc::new(ConfigAccounts::new(config)),
    })
}

/// Kith allows the CBC ciphers the config names and always the AEAD ones it names;
/// refused ones (Blowfish, AES-192, null) are reported.
fn ciphers(list: &[kith_config::OvpnCipher], what: &str) -> Result<Vec<CipherKind>, String> {
    let mut out = Vec::new();
    for c in list {
        match CipherKind::from_config(*c) {
            Some(k) if !out.contains(&k) => out.push(k),
            Some(_) => {}
            None => warn!("{what}: cipher {c:?} is not supported by Kith and is ignored"),
        }
    }
    if out.is_empty() {
        return Err(format!(
            "{what}: no usable cipher (use aes128, aes256, aes128-gcm, aes256-gcm or chacha20-poly1305)"
        ));
    }
    Ok(out)
}

/// The control channel wrapping from `tls-auth` / `tls-crypt` (keys in the PKI's
/// `tls/`): tls-auth signs with the `auth` digest, key direction 0 on the server and 1
/// on the client, as openvpn's profiles say.
fn wrap(
    pki: &Pki,
    tls_auth: &Option<String>,
    tls_crypt: &Option<String>,
    digest: AuthDigest,
    server: bool,
    what: &str,
) -> Result<WrapMode, String> {
    let read = |name: &str| -> Result<Key2, String> {
        let path = pki.tls_key_path(name);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{what}: key {name}: {}: {e} (make it with `kith pki tls-key {name}`)",
                path.display()
            )
        })?;
        Key2::parse_file(&text).map_err(|e| format!("{what}: key {name} ({}): {e}", path.display()))
    };
    match (tls_auth, tls_crypt) {
        (Some(_), Some(_)) => Err(format!("{what}: tls-auth and tls-crypt exclude each other")),
        (Some(name), None) => {
            let dir = if server {
                KeyDirection::Normal
            } else {
                KeyDirection::Inverse
            };
            Ok(WrapMode::Auth(digest, read(name)?, dir))
        }
        (None, Some(name)) => Ok(WrapMode::Crypt(read(name)?, server)),
        (None, None) => Ok(WrapMode::None),
    }
}

fn auths(list: &[kith_config::OvpnAuth]) -> Vec<AuthDigest> {
    let mut out: Vec<AuthDigest> = list.iter().filter_map(|a| digest_from_config(*a)).collect();
    if out.is_empty() {
        out.push(AuthDigest::Sha1);
    }
    out
}

/// Logins checked against `ppp/secret` (service `ovpn` or `any`), interface names
/// from the `interface/ovpn-server` bindings. A reload replaces the config in place
/// ([`ConfigAccounts::replace`]): logins from then on see the new accounts.
pub struct ConfigAccounts {
    config: RwLock<Config>,
}

impl ConfigAccounts {
    /// Accounts of `config`.
    pub fn new(config: &Config) -> ConfigAccounts {
        ConfigAccounts {
            config: RwLock::new(config.clone()),
        }
    }

    /// Takes the accounts of `config` for every login from now on.
    pub fn replace(&self, config: &Config) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config.clone();
    }
}

/// The `ppp/secret` that can log in as `name` over OpenVPN: the first enabled one of
/// service `ovpn` or `any`.
pub fn secret<'a>(config: &'a Config, name: &str) -> Option<&'a PppSecret> {
    config.ppp.secret.iter().find(|s| {
        s.name.value == name
            && !s.disabled
            && matches!(s.service, PppService::Ovpn | PppService::Any)
    })
}

/// What a login as `secret` gets: addresses (the secret's, else its profile's),
/// interface (its binding's name, else the account's), pushed routes, MTU, `only-one`.
pub fn account(config: &Config, secret: &PppSecret) -> Result<Account, String> {
    let name = secret.name.value.clone();
    let profile = config
        .ppp
        .profile
        .iter()
        .find(|p| p.name.value == secret.profile.value);
    let pick = |own: Option<Ipv4Addr>, prof: Option<&AddressOrPool>| {
        own.or(match prof {
            Some(AddressOrPool::Address(a)) => Some(*a),
            _ => None,
        })
    };
    let local = pick(
        secret.local_address,
        profile.and_then(|p| p.local_address.as_ref()),
    )
    .ok_or_else(|| format!("account {name} has no local-address"))?;
    let remote = pick(
        secret.remote_address,
        profile.and_then(|p| p.remote_address.as_ref()),
    )
    .ok_or_else(|| format!("account {name} has no remote-address"))?;
    let interface = config
        .interface
        .ovpn_server
        .add
        .iter()
        .find(|b| !b.disabled && b.user.value == name)
        .map_or_else(|| name.clone(), |b| b.name.value.clone());
    let routes = secret
        .routes
        .iter()
        .filter_map(|r| parse_route(r))
        .collect();
    let only_one = profile.is_none_or(|p| p.only_one != PppSwitch::No);
    Ok(Account {
        name,
        interface,
        local,
        remote,
        routes,
        mtu: config.interface.ovpn_server.server.max_mtu.get().into(),
        only_one,
    })
}

impl Authenticator for ConfigAccounts {
    fn login(&self, req: &LoginRequest<'_>) -> Result<Account, String> {
        let name = if req.username.is_empty() {
            req.common_name
                .ok_or("no username and no client certificate")?
                .to_string()
        } else {
            req.username.to_string()
        };
        let config = self.config.read().unwrap_or_else(|e| e.into_inner());
        let secret = secret(&config, &name).ok_or_else(|| format!("unknown account {name}"))?;
        let want = secret.password.as_ref().map_or("", |p| p.expose());
        if !req.username.is_empty() || !want.is_empty() {
            if req.username.is_empty() {
                return Err(format!("{name} sent no password"));
            }
            if want.len() != req.password.len()
                || !openssl::memcmp::eq(want.as_bytes(), req.password.as_bytes())
            {
                return Err(format!("wrong password for {name}"));
            }
        }
        account(&config, secret)
    }

    fn still_current(&self, granted: &Account) -> bool {
        let config = self.config.read().unwrap_or_else(|e| e.into_inner());
        secret(&config, &granted.name)
            .and_then(|s| account(&config, s).ok())
            .is_some_and(|now| now == *granted)
    }
}

/// A `ppp/secret` route, `dst-prefix [gateway] [metric]`, as a pushed route.
fn parse_route(text: &str) -> Option<PushRoute> {
    let mut w = text.split_whitespace();
    let net: ipnet::Ipv4Net = w.next()?.parse().ok()?;
    Some(PushRoute {
        network: net.network(),
        netmask: net.netmask(),
        gateway: w.next().and_then(|g| g.parse().ok()),
        metric: w.next().and_then(|m| m.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_from_secrets() {
        let r = parse_route("192.168.42.0/24 172.16.10.2 1").unwrap();
        assert_eq!(r.netmask, Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(r.gateway, Some(Ipv4Addr::new(172, 16, 10, 2)));
        assert!(parse_route("junk").is_none());
    }
}
