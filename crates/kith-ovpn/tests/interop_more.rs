//! More namespace tests: kith client against kith server for the three transport and
//! cipher combinations; certificates from another CA, expired or revoked, and a wrong
//! password refused by the kith server with a clear log line and no interface;
//! renegotiation every 10 s (stock openvpn client, `reneg-sec 10`) during transfers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Pair, SRV_ADDR};
use kith_ovpn::pki::Pki;

fn server_yaml(tcp: bool, ciphers: &str, password: Option<&str>) -> String {
    format!(
        "interface:\n  ovpn-server:\n    server:\n      enabled: yes\n      port: 1194\n      protocol: {}\n      max-mtu: 1450\n      keepalive-timeout: 60\n      certificate: server\n      require-client-certificate: yes\n      auth: sha1\n      cipher: {ciphers}\n    add:\n      - name: friend1-1\n        user: friend1-1\nppp:\n  secret:\n    - name: friend1-1\n      service: ovpn\n      local-address: 172.16.10.1\n      remote-address: 172.16.10.2\n{}",
        if tcp { "tcp" } else { "udp" },
        password.map_or(String::new(), |p| format!("      password: {p}\n"))
    )
}

fn client_yaml(tcp: bool, cipher: &str, password: Option<&str>) -> String {
    format!(
        "interface:\n  ovpn-client:\n    - name: home-isp1\n      connect-to: {SRV_ADDR}\n      port: 1194\n      protocol: {}\n      user: friend1-1\n      certificate: friend1-1\n      verify-server-certificate: yes\n      cipher: {cipher}\n      auth: sha1\n      max-mtu: 1450\n{}",
        if tcp { "tcp" } else { "udp" },
        password.map_or(String::new(), |p| format!("      password: {p}\n"))
    )
}

fn kith_to_kith(tag: &str, tcp: bool, cipher: &str, encoding: &str) {
    common::logs();
    let pair = Pair::new(tag);
    let server = pair.spawn_vpnd("srv", &server_yaml(tcp, cipher, Some("s3cret")));
    std::thread::sleep(Duration::from_millis(500));
    let client = pair.spawn_vpnd("cli", &client_yaml(tcp, cipher, Some("s3cret")));
    let c = client.wait_connected("home-isp1", Duration::from_secs(30));
    let s = server.wait_connected("friend1-1", Duration::from_secs(30));
    assert_eq!(
        (c.encoding.as_str(), s.encoding.as_str()),
        (encoding, encoding)
    );
    assert_eq!(
        (c.local_address.as_str(), c.remote_address.as_str()),
        ("172.16.10.2", "172.16.10.1")
    );
    pair.wait_ping("cli", "172.16.10.1");
    pair.wait_ping("srv", "172.16.10.2");
    pair.transfer("cli", "srv", "172.16.10.1", 20);
    pair.transfer("srv", "cli", "172.16.10.2", 20);
}

#[test]
fn kith_kith_tcp_aes128cbc_sha1() {
    kith_to_kith("kk-cbc", true, "aes128", "AES-128-CBC/SHA1");
}

#[test]
fn kith_kith_udp_aes256gcm() {
    kith_to_kith("kk-gcm", false, "aes256-gcm", "AES-256-GCM");
}

#[test]
fn kith_kith_udp_chacha20poly1305() {
    kith_to_kith("kk-chacha", false, "chacha20-poly1305", "CHACHA20-POLY1305");
}

/// A client that must be refused: the server logs a line with every part of `why`
/// and creates no interface.
fn refused(pair: &Pair, conf: &str, why: &[&str], server: &common::Vpnd) {
    pair.spawn_openvpn("cli", "refused", conf, "TLS");
    common::wait_log_line(why);
    assert!(
        server
            .status()
            .tunnels
            .iter()
            .all(|t| t.state != "connected"),
        "{:?}",
        server.status()
    );
    let links = pair.lab.exec_ok("srv", &["ip", "-o", "link"]).unwrap();
    assert!(!links.contains("friend1-1"), "{links}");
    pair.lab.stop("cli", "refused").unwrap();
}

#[test]
fn refused_certificates_and_password() {
    common::logs();
    let pair = Pair::new("kk-refuse");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    pair.pki
        .issue_between("expired", now - 10 * 86400, now - 86400)
        .unwrap();
    pair.pki.issue("revoked").unwrap();
    pair.pki.revoke("revoked").unwrap();
    let other = Pki::open(pair.path("other"));
    other.init("Other CA", "server").unwrap();
    other.issue("friend1-1").unwrap();
    let server = pair.spawn_vpnd("srv", &server_yaml(false, "aes256-gcm", Some("s3cret")));
    std::thread::sleep(Duration::from_millis(500));

    for (name, why) in [
        (
            "expired",
            "certificate check failed: certificate has expired",
        ),
        ("revoked", "certificate check failed: certificate revoked"),
    ] {
        let conf = pair.openvpn_client_conf(name, false, "AES-256-GCM", "SHA1", "");
        refused(&pair, &conf, &["TLS with 10.77.1.2:", why], &server);
    }
    let foreign = pair
        .openvpn_client_conf("friend1-1", false, "AES-256-GCM", "SHA1", "")
        .replace(
            &pair.pki.cert_path("friend1-1").display().to_string(),
            &other.cert_path("friend1-1").display().to_string(),
        )
        .replace(
            &pair.pki.key_path("friend1-1").display().to_string(),
            &other.key_path("friend1-1").display().to_string(),
        );
    refused(
        &pair,
        &foreign,
        &[
            "TLS with 10.77.1.2:",
            "certificate check failed: unable to get local issuer certificate",
        ],
        &server,
    );
    // wrong password: the client sees AUTH_FAILED
    let pass = pair.path("pass.txt");
    std::fs::write(&pass, "friend1-1\nwrong\n").unwrap();
    let conf = pair.openvpn_client_conf(
        "friend1-1",
        false,
        "AES-256-GCM",
        "SHA1",
        &format!("auth-user-pass {}", pass.display()),
    );
    pair.spawn_openvpn("cli", "badpass", &conf, "AUTH_FAILED");
    common::wait_log_line(&[
        "login from 10.77.1.2:",
        "refused: wrong password for friend1-1",
    ]);
    assert!(
        server
            .status()
            .tunnels
            .iter()
            .all(|t| t.state != "connected")
    );
    let links = pair.lab.exec_ok("srv", &["ip", "-o", "link"]).unwrap();
    assert!(!links.contains("friend1-1"), "{links}");
}

#[test]
fn renegotiation_every_10s_during_transfers() {
    common::logs();
    let pair = Pair::new("kk-reneg");
    let server = pair.spawn_vpnd("srv", &server_yaml(false, "aes256-gcm", None));
    std::thread::sleep(Duration::from_millis(500));
    let conf = pair.openvpn_client_conf("friend1-1", false, "AES-256-GCM", "SHA1", "reneg-sec 10");
    pair.spawn_openvpn(
        "cli",
        "ovpn-client",
        &conf,
        "Initialization Sequence Completed",
    );
    server.wait_connected("friend1-1", Duration::from_secs(30));
    pair.wait_ping("cli", "172.16.10.1");
    let start = std::time::Instant::now();
    let mut rounds = 0;
    while start.elapsed() < Duration::from_secs(25) {
        pair.transfer("cli", "srv", "172.16.10.1", 20);
        rounds += 1;
    }
    let log = pair.lab.log("cli", "ovpn-client");
    let renegs = log.matches("TLS: soft reset").count();
    assert!(
        renegs >= 2,
        "{renegs} renegotiations in {rounds} rounds:\n{log}"
    );
    assert!(pair.lab.ping("cli", "172.16.10.1", 3));
}
