//! `tls-auth` and `tls-crypt` from the YAML model (keys made by `kith pki tls-key` in the
//! PKI's `tls/`), against stock openvpn 2.6 in network namespaces: a kith server with
//! tls-crypt and an openvpn client, a kith client with tls-auth and an openvpn server;
//! a client without the key gets no tunnel; a missing key is a clear config error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Pair, SRV_ADDR};

fn server_yaml(wrap: &str) -> String {
    format!(
        "interface:\n  ovpn-server:\n    server:\n      enabled: yes\n      port: 1194\n      protocol: udp\n      certificate: server\n      require-client-certificate: yes\n      auth: sha256\n      cipher: aes256-gcm\n{wrap}    add:\n      - name: friend1-1\n        user: friend1-1\nppp:\n  secret:\n    - name: friend1-1\n      service: ovpn\n      local-address: 172.16.10.1\n      remote-address: 172.16.10.2\n"
    )
}

fn client_yaml(wrap: &str) -> String {
    format!(
        "interface:\n  ovpn-client:\n    - name: home-isp1\n      connect-to: {SRV_ADDR}\n      port: 1194\n      protocol: udp\n      user: friend1-1\n      certificate: friend1-1\n      verify-server-certificate: yes\n      cipher: aes256-gcm\n      auth: sha256\n{wrap}"
    )
}

#[test]
fn kith_server_tls_crypt_with_openvpn_client() {
    common::logs();
    let pair = Pair::new("wrap-crypt");
    let key = pair.pki.make_tls_key("tc").unwrap();
    let mode = std::fs::metadata(&key).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o077,
        0
    );
    let server = pair.spawn_vpnd("srv", &server_yaml("      tls-crypt: tc\n"));
    std::thread::sleep(Duration::from_millis(500));
    // Without the key: nothing (tls-crypt drops the packets unanswered).
    let bare = pair.openvpn_client_conf("friend1-1", false, "AES-256-GCM", "SHA256", "");
    pair.spawn_openvpn("cli", "nokey", &bare, "link remote");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        server
            .status()
            .tunnels
            .iter()
            .all(|t| t.state != "connected")
    );
    pair.lab.stop("cli", "nokey").unwrap();
    // With it: up.
    let conf = pair.openvpn_client_conf(
        "friend1-1",
        false,
        "AES-256-GCM",
        "SHA256",
        &format!("tls-crypt {}", key.display()),
    );
    pair.spawn_openvpn(
        "cli",
        "ovpn-client",
        &conf,
        "Initialization Sequence Completed",
    );
    server.wait_connected("friend1-1", Duration::from_secs(30));
    pair.wait_ping("cli", "172.16.10.1");
}

#[test]
fn kith_client_tls_auth_with_openvpn_server() {
    common::logs();
    let pair = Pair::new("wrap-auth");
    let key = pair.pki.make_tls_key("ta").unwrap();
    let conf = pair.openvpn_server_conf(
        false,
        "AES-256-GCM",
        "SHA256",
        &format!("tls-auth {} 0", key.display()),
    );
    pair.spawn_openvpn(
        "srv",
        "ovpn-server",
        &conf,
        "Initialization Sequence Completed",
    );
    let vpnd = pair.spawn_vpnd("cli", &client_yaml("      tls-auth: ta\n"));
    let t = vpnd.wait_connected("home-isp1", Duration::from_secs(30));
    pair.wait_ping("cli", &t.remote_address);
    let log = pair.lab.log("srv", "ovpn-server");
    assert!(log.contains("Peer Connection Initiated"), "{log}");
}

#[test]
fn a_missing_key_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let pki = kith_ovpn::pki::Pki::open(dir.path().join("pki"));
    pki.init("Kith CA test", "server").unwrap();
    let config = kith_config::load_str(&server_yaml("      tls-auth: nope\n"), "t.yaml")
        .unwrap()
        .config;
    let err = match kith_ovpn::config::spec(&config, pki.dir()) {
        Ok(_) => panic!("a missing key must be refused"),
        Err(e) => e,
    };
    assert!(err.contains("kith pki tls-key nope"), "{err}");
    // Both at once is refused when the config is loaded.
    let both = server_yaml("      tls-auth: a\n      tls-crypt: b\n");
    let diags = match kith_config::load_str(&both, "t.yaml") {
        Ok(_) => panic!("tls-auth with tls-crypt must be refused"),
        Err(d) => d,
    };
    let text = format!("{diags:?}");
    assert!(text.contains("exclude each other"), "{text}");
}
