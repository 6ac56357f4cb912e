//! Reload in place against a stock openvpn 2.6 client over UDP: adding an account
//! during a 50 ms ping keeps the tunnel (same interfaces, no new handshake, no lost
//! ping); changing the connected account's remote address restarts only its tunnel
//! (the client logs in again and gets the new pair); a re-signed CRL is taken without
//! a restart; a new revocation is taken in place: a certificate no tunnel uses closes
//! nothing, the client's own closes its tunnel and its logins are refused; removing the
//! account then finds no tunnel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::Pair;

/// Pings sent through the tunnel during the first reload (every 50 ms: 5 s).
const PINGS: u32 = 100;

fn server_yaml(friend_remote: &str, friend1_1: bool, friend2: bool) -> String {
    let mut yaml = "interface:\n  ovpn-server:\n    server:\n      enabled: yes\n      port: 1194\n      protocol: udp\n      netmask: 32\n      max-mtu: 1450\n      keepalive-timeout: 20\n      certificate: server\n      require-client-certificate: yes\n      auth: sha1\n      cipher: aes256-gcm,aes128\n".to_string();
    if friend1_1 {
        yaml += "    add:\n      - name: friend1-1\n        user: friend1-1\n";
    }
    yaml += "ppp:\n  secret:\n";
    if friend1_1 {
        yaml += &format!(
            "    - name: friend1-1\n      service: ovpn\n      local-address: 172.16.10.1\n      remote-address: {friend_remote}\n"
        );
    }
    if friend2 {
        yaml += "    - name: friend2\n      service: ovpn\n      local-address: 172.16.12.1\n      remote-address: 172.16.12.2\n";
    }
    yaml
}

fn ifindex(pair: &Pair, node: &str, name: &str) -> Option<u32> {
    let out = pair
        .lab
        .exec_ok(node, &["ip", "-o", "link", "show", name])
        .ok()?;
    out.split(':').next()?.trim().parse().ok()
}

fn count(log: &str, text: &str) -> usize {
    log.lines().filter(|l| l.contains(text)).count()
}

#[test]
fn reload_keeps_changes_and_closes_only_what_it_concerns() {
    common::logs();
    let pair = Pair::new("ovr-udp");
    let lab = &pair.lab;
    let vpnd = pair.spawn_vpnd("srv", &server_yaml("172.16.10.2", true, false));
    std::thread::sleep(Duration::from_millis(500));
    let conf = pair.openvpn_client_conf("friend1-1", false, "AES-256-GCM", "SHA1", "");
    pair.spawn_openvpn(
        "cli",
        "ovpn-client",
        &conf,
        "Initialization Sequence Completed",
    );
    vpnd.wait_connected("friend1-1", Duration::from_secs(30));
    pair.wait_ping("cli", "172.16.10.1");
    let links = || {
        (
            ifindex(&pair, "srv", "friend1-1"),
            ifindex(&pair, "cli", "tun0"),
        )
    };
    let before = links();
    assert!(before.0.is_some() && before.1.is_some(), "{before:?}");
    let ready = "Initialization Sequence Completed";
    let handshakes = |log: &str| (count(log, ready), count(log, "TLS: soft reset"));
    let ov_before = handshakes(&lab.log("cli", "ovpn-client"));
    assert_eq!(ov_before, (1, 0));

    // A new account while pings run through the tunnel.
    lab.spawn_ping("cli", "172.16.10.1", Duration::from_millis(50), PINGS)
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    vpnd.reload(&server_yaml("172.16.10.2", true, true))
        .unwrap();
    assert!(
        lab.is_running("cli", "ping"),
        "the reload must happen while the ping runs"
    );
    lab.wait_until("the ping to finish", Duration::from_secs(30), || {
        !lab.is_running("cli", "ping")
    })
    .unwrap();
    let ping = lab.log("cli", "ping");
    assert!(
        ping.contains(&format!(
            "{PINGS} packets transmitted, {PINGS} received, 0% packet loss"
        )),
        "a ping was lost across the reload:\n{ping}"
    );
    assert_eq!(links(), before, "an interface was recreated");
    assert_eq!(
        handshakes(&lab.log("cli", "ovpn-client")),
        ov_before,
        "the client renegotiated:\n{}",
        lab.log("cli", "ovpn-client")
    );

    common::wait_log_line(&["reload: secret friend2 added: accepted from now on"]);
    common::wait_log_line(&["reload: 1 tunnel(s) kept, 0 closed or restarted"]);

    // The same config again: nothing happens.
    vpnd.reload(&server_yaml("172.16.10.2", true, true))
        .unwrap();
    common::wait_log_line(&["reload: nothing vpnd runs changed; every tunnel kept"]);
    assert_eq!(links(), before);

    // A CRL re-signed with the same revocations: new handshakes take it (the next
    // step's login goes through it), the tunnel stays.
    pair.pki.renew_crl().unwrap();
    vpnd.reload(&server_yaml("172.16.10.2", true, true))
        .unwrap();
    common::wait_log_line(&["CRL re-signed; new handshakes check against it, every tunnel kept"]);
    assert_eq!(links(), before);

    // friend1-1's remote address changes: only its tunnel restarts, with the new pair.
    vpnd.reload(&server_yaml("172.16.10.3", true, true))
        .unwrap();
    common::wait_log_line(&["reload: secret friend1-1 changed (addresses): restarting its tunnel"]);
    lab.wait_until(
        "friend1-1 back with 172.16.10.3",
        Duration::from_secs(60),
        || {
            lab.exec_ok(
                "srv",
                &["ip", "-4", "-o", "addr", "show", "dev", "friend1-1"],
            )
            .is_ok_and(|a| a.contains("inet 172.16.10.1 peer 172.16.10.3/32"))
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", lab.log("cli", "ovpn-client")));
    pair.wait_ping("cli", "172.16.10.1");
    assert_eq!(count(&lab.log("cli", "ovpn-client"), ready), 2);

    // Another certificate revoked, one no tunnel uses: the server takes the CRL in
    // place; friend1-1's tunnel is kept (same interface, no new login).
    let kept = ifindex(&pair, "srv", "friend1-1");
    assert!(kept.is_some());
    pair.pki.issue("spare").unwrap();
    pair.pki.revoke("spare").unwrap();
    vpnd.reload(&server_yaml("172.16.10.3", true, true))
        .unwrap();
    common::wait_log_line(&[
        "reload: the CRL revokes other certificates",
        "0 tunnel(s) of revoked certificates closed",
    ]);
    pair.wait_ping("cli", "172.16.10.1");
    assert_eq!(
        ifindex(&pair, "srv", "friend1-1"),
        kept,
        "the tunnel was recreated"
    );
    assert_eq!(count(&lab.log("cli", "ovpn-client"), ready), 2);

    // The client's own certificate revoked: its tunnel closes and its logins from then
    // on are refused.
    pair.pki.revoke("friend1-1").unwrap();
    vpnd.reload(&server_yaml("172.16.10.3", true, true))
        .unwrap();
    common::wait_log_line(&[
        "reload: the CRL revokes other certificates",
        "1 tunnel(s) of revoked certificates closed",
    ]);
    lab.wait_until(
        "interface friend1-1 removed",
        Duration::from_secs(30),
        || ifindex(&pair, "srv", "friend1-1").is_none(),
    )
    .unwrap();
    common::wait_log_line(&["certificate revoked"]);
    assert!(ifindex(&pair, "srv", "friend1-1").is_none());
    assert_eq!(count(&lab.log("cli", "ovpn-client"), ready), 2);

    // friend1-1's secret goes too: there is no tunnel left to close.
    vpnd.reload(&server_yaml("172.16.10.3", false, true))
        .unwrap();
    common::wait_log_line(&["reload: secret friend1-1 removed: disconnecting (no tunnel up)"]);
    assert!(ifindex(&pair, "srv", "friend1-1").is_none());
}

/// A client that cannot connect shows a "retrying" row; removed by a reload, it stops
/// and its row goes.
#[test]
fn a_removed_client_stops_and_leaves_no_row() {
    common::logs();
    let pair = Pair::new("ovr-cli");
    let yaml = |with_client: bool| {
        let mut y = "interface:\n  ovpn-client:\n    - name: keeper\n      connect-to: 10.77.1.1\n      port: 1198\n      user: x\n      cipher: aes128\n".to_string();
        if with_client {
            y += "    - name: nowhere\n      connect-to: 10.77.1.1\n      port: 1199\n      user: x\n      cipher: aes128\n";
        }
        y
    };
    let vpnd = pair.spawn_vpnd("cli", &yaml(true));
    let retrying = |name: &str| {
        vpnd.status()
            .tunnels
            .iter()
            .any(|t| t.name == name && t.state.starts_with("retrying"))
    };
    pair.lab
        .wait_until("both clients retrying", Duration::from_secs(20), || {
            retrying("nowhere") && retrying("keeper")
        })
        .unwrap();
    vpnd.reload(&yaml(false)).unwrap();
    common::wait_log_line(&["reload: ovpn-client nowhere removed: stopping it"]);
    let names: Vec<String> = vpnd.status().tunnels.into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["keeper"]);
}
