//! The scenario's two tunnels with the real `kith run` in both routers: `home` serves
//! OpenVPN on both WANs, `remi` dials `vpn.mydomain.com` (friend1-1 over ISP1) and
//! `vpn2.mydomain.com` (friend1-2 over ISP2), names answered by dnsmasq in `isp1`; both
//! tunnels up at once. Then the ISP moves home's `vpn` address: the DNS record changes,
//! the old address goes dark, and remi's client re-resolves on reconnect and comes back
//! by itself while tunnel 2 stays up. Needs root, dnsmasq, ping and ss.

mod vpn_support;

use std::time::Duration;

use vpn_support::*;

#[test]
fn two_tunnels_by_name_and_dns_change_heals() {
    require(&["dnsmasq", "ping", "ss", "ip"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = make_pki(dir.path(), &["friend1-1", "friend1-2"]);
    let lab = wan_lab("vpn two tunnels");
    dnsmasq(&lab, "203.0.113.10", "198.51.100.10");
    // A short keepalive so that the dead path is noticed within the test's bounds.
    start_router(&lab, "home", &home_config(10, "203.0.113.11/24", ""), &pki);
    start_router(&lab, "remi", &remi_config(""), &pki);

    // Both tunnels up at once, each to the address its name resolved to.
    let t1 = wait_tunnel(&lab, "remi", "home-isp1", |_| true);
    let t2 = wait_tunnel(&lab, "remi", "home-isp2", |_| true);
    assert_eq!(
        field(&t1, "peer"),
        "vpn.mydomain.com (203.0.113.10:1194)",
        "{t1}"
    );
    assert_eq!(
        field(&t2, "peer"),
        "vpn2.mydomain.com (198.51.100.10:1194)",
        "{t2}"
    );
    assert_eq!(field(&t1, "encoding"), "AES-128-CBC/SHA1");
    for (t, local, remote) in [
        (&t1, "172.16.10.2", "172.16.10.1"),
        (&t2, "172.16.11.2", "172.16.11.1"),
    ] {
        assert_eq!(
            (field(t, "local_address"), field(t, "remote_address")),
            (local.to_string(), remote.to_string()),
            "{t}"
        );
    }
    let h1 = wait_tunnel(&lab, "home", "friend1-1", |_| true);
    let h2 = wait_tunnel(&lab, "home", "friend1-2", |_| true);
    assert!(field(&h1, "peer").starts_with("192.0.2.20:"), "{h1}");
    // Tunnel 2 rides ISP2: remi reaches vpn2 from its ISP2 address.
    assert!(field(&h2, "peer").starts_with("100.64.2.20:"), "{h2}");
    let addrs = lab.exec_ok("home", &["ip", "-o", "-4", "addr"]).unwrap();
    for a in [
        "friend1-1    inet 172.16.10.1 peer 172.16.10.2/32",
        "friend1-2    inet 172.16.11.1 peer 172.16.11.2/32",
    ] {
        assert!(addrs.contains(a), "home lacks `{a}`:\n{addrs}");
    }
    for (from, to) in [
        ("remi", "172.16.10.1"),
        ("remi", "172.16.11.1"),
        ("home", "172.16.10.2"),
        ("home", "172.16.11.2"),
    ] {
        if let Err(e) = lab.wait_ping(from, to, WAIT) {
            panic!("{e}\n{}", logs(&lab));
        }
    }
    let dns_log = lab.log("isp1", "dnsmasq");
    assert!(
        dns_log.contains("query[A] vpn.mydomain.com from 192.0.2.20")
            && dns_log.contains("query[A] vpn2.mydomain.com from 192.0.2.20"),
        "remi asked isp1's DNS server for both names:\n{dns_log}"
    );
    let t2_uptime_before = t2["uptime"].as_u64().unwrap_or(0);

    // The ISP moves `vpn` to home's second ISP1 address: new record, old address dark.
    dnsmasq(&lab, "203.0.113.11", "198.51.100.10");
    lab.exec_ok(
        "isp1",
        &["ip", "route", "add", "blackhole", "203.0.113.10/32"],
    )
    .unwrap();
    let t1 = wait_tunnel(&lab, "remi", "home-isp1", |t| {
        field(t, "peer") == "vpn.mydomain.com (203.0.113.11:1194)"
    });
    assert_eq!(field(&t1, "local_address"), "172.16.10.2");
    if let Err(e) = lab.wait_ping("remi", "172.16.10.1", WAIT) {
        panic!("{e}\n{}", logs(&lab));
    }
    let remi_log = lab.log("remi", "kith");
    assert!(
        remi_log.contains("connecting to vpn.mydomain.com (203.0.113.11:1194) over TCP"),
        "remi's log tells the new address:\n{remi_log}"
    );
    // Home's server saw the same account log in again over the new address.
    wait(&lab, "home: friend1-1 from its new path", || {
        connected(&lab, "home", "friend1-1").is_some_and(|t| {
            field(&t, "peer").starts_with("192.0.2.20:") && t["uptime"].as_u64() < Some(30)
        })
    });
    // Tunnel 2 never went down meanwhile.
    let t2_after = connected(&lab, "remi", "home-isp2").expect("tunnel 2 still up");
    assert!(
        t2_after["uptime"].as_u64().unwrap_or(0) > t2_uptime_before,
        "tunnel 2 was restarted: {t2_after}"
    );
    assert!(lab.ping("remi", "172.16.11.1", 2));
    std::thread::sleep(Duration::from_millis(100));
}
