//! kith server against stock openvpn 2.6 clients, and kith against kith, in network
//! namespaces: the account's /32 pair on an interface named after the binding, ping
//! both ways, a checksummed 20 MB transfer; refused certificates and passwords create
//! nothing; killing the peer is detected and its interface removed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Pair;

fn server_yaml(tcp: bool, ciphers: &str, extra_secret: &str) -> String {
    format!(
        "interface:\n  ovpn-server:\n    server:\n      enabled: yes\n      port: 1194\n      protocol: {}\n      netmask: 32\n      max-mtu: 1450\n      keepalive-timeout: 20\n      certificate: server\n      require-client-certificate: yes\n      auth: sha1\n      cipher: {ciphers}\n    add:\n      - name: friend1-1\n        user: friend1-1\nppp:\n  secret:\n    - name: friend1-1\n      service: ovpn\n      local-address: 172.16.10.1\n      remote-address: 172.16.10.2\n{extra_secret}",
        if tcp { "tcp" } else { "udp" }
    )
}

fn kith_server_vs_openvpn_client(
    tag: &str,
    tcp: bool,
    kith_ciphers: &str,
    ov_cipher: &str,
    encoding: &str,
) {
    common::logs();
    let pair = Pair::new(tag);
    let vpnd = pair.spawn_vpnd("srv", &server_yaml(tcp, kith_ciphers, ""));
    std::thread::sleep(Duration::from_millis(500));
    let conf = pair.openvpn_client_conf("friend1-1", tcp, ov_cipher, "SHA1", "");
    pair.spawn_openvpn(
        "cli",
        "ovpn-client",
        &conf,
        "Initialization Sequence Completed",
    );
    let t = vpnd.wait_connected("friend1-1", Duration::from_secs(30));
    assert_eq!(t.encoding, encoding);
    assert_eq!(t.user, "friend1-1");
    let addr = pair
        .lab
        .exec_ok(
            "srv",
            &["ip", "-4", "-o", "addr", "show", "dev", "friend1-1"],
        )
        .unwrap();
    assert!(
        addr.contains("inet 172.16.10.1 peer 172.16.10.2/32"),
        "{addr}"
    );
    let mtu = pair
        .lab
        .exec_ok("srv", &["cat", "/sys/class/net/friend1-1/mtu"])
        .unwrap();
    assert_eq!(mtu.trim(), "1450");
    pair.wait_ping("srv", "172.16.10.2");
    pair.wait_ping("cli", "172.16.10.1");
    pair.transfer("cli", "srv", "172.16.10.1", 20);
    pair.transfer("srv", "cli", "172.16.10.2", 20);
    // killing the peer: detected within the keepalive timeout (20 s), interface removed
    pair.lab.stop("cli", "ovpn-client").unwrap();
    let lab = &pair.lab;
    lab.wait_until(
        "interface friend1-1 removed",
        Duration::from_secs(30),
        || {
            lab.exec("srv", &["ip", "link", "show", "friend1-1"])
                .is_ok_and(|o| !o.status.success())
        },
    )
    .unwrap();
}

#[test]
fn openvpn_client_udp_aes256gcm() {
    kith_server_vs_openvpn_client(
        "ovs-gcm",
        false,
        "aes256-gcm,aes128",
        "AES-256-GCM",
        "AES-256-GCM",
    );
}

#[test]
fn openvpn_client_tcp_aes128cbc_sha1() {
    kith_server_vs_openvpn_client(
        "ovs-cbc",
        true,
        "aes128,aes256",
        "AES-128-CBC",
        "AES-128-CBC/SHA1",
    );
}

#[test]
fn openvpn_client_udp_chacha20poly1305() {
    kith_server_vs_openvpn_client(
        "ovs-chacha",
        false,
        "chacha20-poly1305",
        "CHACHA20-POLY1305",
        "CHACHA20-POLY1305",
    );
}

#[test]
fn exported_profile_works_in_stock_openvpn() {
    common::logs();
    let pair = Pair::new("ovs-export");
    let yaml = server_yaml(false, "aes256-gcm,aes128", "      password: s3cret\n");
    let vpnd = pair.spawn_vpnd("srv", &yaml);
    let config = kith_config::load_str(&yaml, "test.yaml").unwrap().config;
    let (profile, snippet) =
        kith_ovpn::export::export(&config, &pair.pki, "friend1-1", "10.77.1.1").unwrap();
    assert!(
        profile.contains("<ca>")
            && profile.contains("<key>")
            && profile.contains("<auth-user-pass>")
    );
    assert!(
        snippet.contains("connect-to: 10.77.1.1") && snippet.contains("cipher: aes256-gcm,aes128")
    );
    let path = pair.path("friend1-1.ovpn");
    std::fs::write(&path, &profile).unwrap();
    pair.lab
        .spawn(
            "cli",
            "exported",
            &["openvpn", "--config", path.to_str().unwrap()],
            &[],
        )
        .unwrap();
    let t = vpnd.wait_connected("friend1-1", Duration::from_secs(30));
    assert_eq!(t.encoding, "AES-256-GCM");
    pair.wait_ping("cli", "172.16.10.1");
    let table = kith_ovpn::io::status::print(&vpnd.status());
    assert!(
        table.contains("friend1-1") && table.contains("172.16.10.2"),
        "{table}"
    );
}

/// A WAN address that arrives after the server started (DHCP, PPPoE) is served from
/// then on, and one that goes away is no longer listened on: a stock openvpn client
/// connects over UDP to an address added to the server's interface after start.
#[test]
fn udp_server_follows_addresses_added_after_start() {
    common::logs();
    let pair = Pair::new("ovs-newaddr");
    let vpnd = pair.spawn_vpnd("srv", &server_yaml(false, "aes256-gcm", ""));
    common::wait_log_line(&["ovpn-server listening on UDP 10.77.1.1:1194"]);
    pair.lab
        .exec_ok("srv", &["ip", "addr", "add", "10.77.1.5/24", "dev", "eth0"])
        .unwrap();
    common::wait_log_line(&["ovpn-server listening on UDP 10.77.1.5:1194"]);
    let conf = pair
        .openvpn_client_conf("friend1-1", false, "AES-256-GCM", "SHA1", "")
        .replace(
            &format!("remote {} ", common::SRV_ADDR),
            "remote 10.77.1.5 ",
        );
    assert!(conf.contains("remote 10.77.1.5 1194"), "{conf}");
    pair.spawn_openvpn(
        "cli",
        "ovpn-client",
        &conf,
        "Initialization Sequence Completed",
    );
    let t = vpnd.wait_connected("friend1-1", Duration::from_secs(30));
    assert!(t.peer.starts_with("10.77.1.2"), "{t:?}");
    pair.wait_ping("cli", "172.16.10.1");
    // the client talks to 10.77.1.5 and the answers come from there
    let log = pair.lab.log("cli", "ovpn-client");
    assert!(log.contains("[AF_INET]10.77.1.5:1194"), "{log}");
    pair.lab
        .exec_ok("srv", &["ip", "addr", "del", "10.77.1.5/24", "dev", "eth0"])
        .unwrap();
    common::wait_log_line(&["10.77.1.5 removed; no longer listening on it"]);
}

/// `ppp/secret` `routes` are installed on the server towards the connected client (via
/// their gateway, else the client's tunnel address; metric from the route's distance)
/// and go with the tunnel.
#[test]
fn secret_routes_are_installed_on_the_server() {
    common::logs();
    let pair = Pair::new("ovs-routes");
    let lab = &pair.lab;
    let yaml = server_yaml(
        false,
        "aes256-gcm,aes128",
        "      routes: [192.168.42.0/24, 192.168.43.0/24 172.16.10.2 3]\n",
    );
    let vpnd = pair.spawn_vpnd("srv", &yaml);
    std::thread::sleep(Duration::from_millis(500));
    // the client's network behind it
    lab.exec_ok(
        "cli",
        &["ip", "addr", "add", "192.168.42.1/32", "dev", "lo"],
    )
    .unwrap();
    let conf = pair.openvpn_client_conf("friend1-1", false, "AES-256-GCM", "SHA1", "");
    pair.spawn_openvpn(
        "cli",
        "ovpn-client",
        &conf,
        "Initialization Sequence Completed",
    );
    vpnd.wait_connected("friend1-1", Duration::from_secs(30));
    let metric = |d| kith_net::metric(d, kith_net::RouteSource::Connected);
    let routes = || {
        lab.exec_ok("srv", &["ip", "-4", "route", "show", "proto", "20"])
            .unwrap()
    };
    let want = [
        format!(
            "192.168.42.0/24 via 172.16.10.2 dev friend1-1 metric {}",
            metric(1)
        ),
        format!(
            "192.168.43.0/24 via 172.16.10.2 dev friend1-1 metric {}",
            metric(3)
        ),
    ];
    lab.wait_until("the account's routes", Duration::from_secs(10), || {
        let r = routes();
        want.iter().all(|w| r.contains(w.as_str()))
    })
    .unwrap_or_else(|e| panic!("{e}:\n{}", routes()));
    // they carry: the server reaches the client's network through the tunnel
    pair.wait_ping("srv", "192.168.42.1");
    common::wait_log_line(&[
        "ovpn-server friend1-1: route 192.168.42.0/24 via 172.16.10.2 installed",
    ]);

    pair.lab.stop("cli", "ovpn-client").unwrap();
    lab.wait_until("the routes gone", Duration::from_secs(40), || {
        !routes().contains("192.168.4")
    })
    .unwrap_or_else(|e| panic!("{e}:\n{}", routes()));
}
