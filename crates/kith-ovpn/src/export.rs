//! `kith ovpn export ACCOUNT`: a `.ovpn` profile with inline CA, certificate and key
//! that stock OpenVPN 2.6 uses as it is, and the matching Kith client snippet.

use std::fs;

use kith_config::{Config, OvpnProtocol};

use crate::crypto::CipherKind;
use crate::crypto::suite::{digest_from_config, digest_name};
use crate::pki::Pki;

/// The profile text and the Kith snippet for `account`, reaching the server at
/// `remote` (name or address). Issues the account's certificate when it has none.
pub fn export(
    config: &Config,
    pki: &Pki,
    account: &str,
    remote: &str,
) -> Result<(String, String), String> {
    let secret = config
        .ppp
        .secret
        .iter()
        .find(|s| s.name.value == account)
        .ok_or_else(|| format!("no ppp/secret named {account}"))?;
    if !pki.cert_path(account).exists() {
        pki.issue(account).map_err(|e| e.to_string())?;
    }
    let read =
        |p: std::path::PathBuf| fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()));
    let ca = read(pki.ca_path())?;
    let cert = read(pki.cert_path(account))?;
    let key = read(pki.key_path(account))?;
    let srv = &config.interface.ovpn_server.server;
    let tcp = srv.protocol == OvpnProtocol::Tcp;
    let ciphers: Vec<&str> = srv
        .cipher
        .iter()
        .filter_map(|c| CipherKind::from_config(*c))
        .map(|c| c.name())
        .collect();
    let auth = srv
        .auth
        .iter()
        .find_map(|a| digest_from_config(*a))
        .map_or("SHA1", digest_name);
    let mut p = String::new();
    p.push_str(&format!(
        "# OpenVPN profile for {account}, made by kith ovpn export\n"
    ));
    p.push_str("client\ndev tun\nnobind\npersist-key\nremote-cert-tls server\n");
    p.push_str(&format!(
        "proto {}\nremote {remote} {}\n",
        if tcp { "tcp-client" } else { "udp" },
        srv.port.get()
    ));
    p.push_str(&format!(
        "data-ciphers {}\nauth {auth}\n",
        ciphers.join(":")
    ));
    if let Some(pass) = &secret.password {
        p.push_str(&format!(
            "<auth-user-pass>\n{account}\n{}\n</auth-user-pass>\n",
            pass.expose()
        ));
    }
    p.push_str(&format!(
        "<ca>\n{}</ca>\n<cert>\n{}</cert>\n<key>\n{}</key>\n",
        ca, cert, key
    ));
    if let Some(name) = &srv.tls_auth {
        let k = read(pki.tls_key_path(name))?;
        p.push_str(&format!("key-direction 1\n<tls-auth>\n{k}</tls-auth>\n"));
    }
    if let Some(name) = &srv.tls_crypt {
        let k = read(pki.tls_key_path(name))?;
        p.push_str(&format!("<tls-crypt>\n{k}</tls-crypt>\n"));
    }

    let cipher_words: Vec<&str> = srv
        .cipher
        .iter()
        .filter_map(|c| CipherKind::from_config(*c))
        .map(|c| match c {
            CipherKind::Aes128Cbc => "aes128",
            CipherKind::Aes256Cbc => "aes256",
            CipherKind::Aes128Gcm => "aes128-gcm",
            CipherKind::Aes256Gcm => "aes256-gcm",
            CipherKind::Chacha20Poly1305 => "chacha20-poly1305",
        })
        .collect();
    let snippet = format!(
        "# copy {account}.crt and {account}.key into the friend's /etc/kith/pki (kith pki), then:\ninterface:\n  ovpn-client:\n    - name: {account}\n      connect-to: {remote}\n      port: {}\n      protocol: {}\n      user: {account}\n{}      certificate: {account}\n      verify-server-certificate: yes\n      auth: {}\n      cipher: {}\n",
        srv.port.get(),
        if tcp { "tcp" } else { "udp" },
        secret.password.as_ref().map_or(String::new(), |p| format!(
            "      password: {}\n",
            p.expose()
        )),
        auth.to_ascii_lowercase(),
        cipher_words.join(",")
    );
    let mut snippet = snippet;
    for (key, name) in [("tls-auth", &srv.tls_auth), ("tls-crypt", &srv.tls_crypt)] {
        if let Some(name) = name {
            snippet.push_str(&format!(
                "      {key}: {name}   # copy tls/{name}.key into the friend's PKI too\n"
            ));
        }
    }
    Ok((p, snippet))
}
