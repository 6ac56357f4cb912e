//! kith client against a stock openvpn 2.6 server, in network namespaces: ping both
//! ways and a checksummed 20 MB transfer, for UDP + AES-256-GCM, TCP + AES-128-CBC/SHA1
//! and UDP + CHACHA20-POLY1305; the pushed /32 pair on an interface named as
//! configured.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Pair, SRV_ADDR};

fn client_yaml(tcp: bool, cipher: &str) -> String {
    format!(
        "interface:\n  ovpn-client:\n    - name: friend1-1\n      connect-to: {SRV_ADDR}\n      port: 1194\n      protocol: {}\n      user: friend1-1\n      certificate: friend1-1\n      verify-server-certificate: yes\n      cipher: {cipher}\n      auth: sha1\n",
        if tcp { "tcp" } else { "udp" }
    )
}

fn kith_client_vs_openvpn_server(
    tag: &str,
    tcp: bool,
    ov_cipher: &str,
    kith_cipher: &str,
    encoding: &str,
) {
    common::logs();
    let pair = Pair::new(tag);
    let conf = pair.openvpn_server_conf(tcp, ov_cipher, "SHA1", "");
    pair.spawn_openvpn(
        "srv",
        "ovpn-server",
        &conf,
        "Initialization Sequence Completed",
    );
    let vpnd = pair.spawn_vpnd("cli", &client_yaml(tcp, kith_cipher));
    let t = vpnd.wait_connected("friend1-1", Duration::from_secs(30));
    assert_eq!(t.encoding, encoding);
    let addr = pair
        .lab
        .exec_ok(
            "cli",
            &["ip", "-4", "-o", "addr", "show", "dev", "friend1-1"],
        )
        .unwrap();
    assert!(
        addr.contains(&format!(
            "inet {} peer {}/32",
            t.local_address, t.remote_address
        )),
        "{addr}"
    );
    pair.wait_ping("cli", &t.remote_address);
    pair.wait_ping("srv", &t.local_address);
    pair.transfer("cli", "srv", &t.remote_address, 20);
    pair.transfer("srv", "cli", &t.local_address, 20);
    let log = pair.lab.log("srv", "ovpn-server");
    assert!(log.contains("Peer Connection Initiated"), "{log}");
}

#[test]
fn udp_aes256gcm() {
    kith_client_vs_openvpn_server("ovc-gcm", false, "AES-256-GCM", "aes256-gcm", "AES-256-GCM");
}

#[test]
fn tcp_aes128cbc_sha1() {
    kith_client_vs_openvpn_server("ovc-cbc", true, "AES-128-CBC", "aes128", "AES-128-CBC/SHA1");
}

#[test]
fn udp_chacha20poly1305() {
    kith_client_vs_openvpn_server(
        "ovc-chacha",
        false,
        "CHACHA20-POLY1305",
        "chacha20-poly1305",
        "CHACHA20-POLY1305",
    );
}

/// The kith client installs what a stock server pushes (`route 10.99.0.0/24`) and,
/// with `add-default-route`, a default route through the tunnel plus a host route
/// keeping the server outside it; all gone when the tunnel goes.
#[test]
fn pushed_routes_and_default_route() {
    common::logs();
    let pair = Pair::new("ovc-routes");
    for a in ["10.99.0.1/32", "10.123.4.5/32"] {
        pair.lab
            .exec_ok("srv", &["ip", "addr", "add", a, "dev", "lo"])
            .unwrap();
    }
    let conf = pair.openvpn_server_conf(
        false,
        "AES-256-GCM",
        "SHA1",
        "push \"route 10.99.0.0 255.255.255.0\"",
    );
    pair.spawn_openvpn(
        "srv",
        "ovpn-server",
        &conf,
        "Initialization Sequence Completed",
    );
    let yaml = client_yaml(false, "aes256-gcm") + "      add-default-route: yes\n";
    let vpnd = pair.spawn_vpnd("cli", &yaml);
    let t = vpnd.wait_connected("friend1-1", Duration::from_secs(30));
    let show = |args: &[&str]| {
        let mut argv = vec!["ip", "route", "show"];
        argv.extend_from_slice(args);
        pair.lab.exec_ok("cli", &argv).unwrap()
    };
    let gw = &t.remote_address;
    pair.lab
        .wait_until("routes installed", Duration::from_secs(10), || {
            show(&["default"]).contains("dev friend1-1")
        })
        .unwrap_or_else(|e| panic!("{e}: {}", show(&[])));
    let pushed = show(&["10.99.0.0/24"]);
    assert!(
        pushed.contains(&format!("via {gw} dev friend1-1 proto 20 metric 19")),
        "{pushed}"
    );
    let default = show(&["default"]);
    assert!(
        default.contains(&format!("via {gw} dev friend1-1 proto 20 metric 19")),
        "{default}"
    );
    let host = show(&["10.77.1.1"]);
    assert!(host.contains("dev eth0 proto 20"), "{host}");
    // Traffic follows: the pushed network and anything else go through the tunnel.
    pair.wait_ping("cli", "10.99.0.1");
    pair.wait_ping("cli", "10.123.4.5");
    let get = pair
        .lab
        .exec_ok("cli", &["ip", "route", "get", "10.123.4.5"])
        .unwrap();
    assert!(get.contains("dev friend1-1"), "{get}");
    drop(vpnd);
    let left = show(&["proto", "20"]);
    assert!(left.trim().is_empty(), "routes left: {left}");
}
