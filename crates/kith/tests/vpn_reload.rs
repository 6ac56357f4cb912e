//! Reload in place with the real `kith run` in both routers: `home` serves friend1-1 and
//! friend1-2, `remi` is connected to both (kith clients, by address). A new friend
//! (`ppp/secret`) added by `kith reload` while a ping runs through tunnel 1 leaves both
//! tunnels as they were: same interfaces (ifindex), no new login, no lost ping. Removing
//! friend1-1's secret then closes only its tunnel. On remi, a changed client restarts
//! and a removed one stops, the other kept. Needs root, ping and ip.

mod vpn_support;

use std::time::Duration;

use kith_lab::Lab;
use vpn_support::*;

/// Pings sent through tunnel 1 during the first reload (every 50 ms: 10 s).
const PINGS: u32 = 200;

/// Home's config with one more account (`friend2`, not connected).
fn with_friend2(home: &str) -> String {
    home.replacen(
        "  secret:\n",
        "  secret:\n    - name: friend2\n      service: ovpn\n      password: change-me-3\n      \
         profile: VPN-interco\n      local-address: 172.16.12.1\n      remote-address: 172.16.12.2\n",
        1,
    )
}

/// Home's config without friend1-1's secret (and its interface binding).
fn without_friend1_1(home: &str) -> String {
    let binding = "      - name: friend1-1\n        user: friend1-1\n";
    assert!(home.contains(binding), "{home}");
    let home = home.replacen(binding, "", 1);
    let secret = "    - name: friend1-1\n      service: ovpn\n      password: change-me-1\n      \
                  profile: VPN-interco\n      local-address: 172.16.10.1\n      \
                  remote-address: 172.16.10.2\n";
    assert!(home.contains(secret), "{home}");
    home.replacen(secret, "", 1)
}

/// `kith reload` for `node` (SIGHUP to its supervisor, which SIGHUPs vpnd).
fn reload(lab: &Lab, node: &str, config: &str) {
    lab.write_router_config(node, config).expect("config");
    let run_dir = lab.workdir().join(node).join("run");
    let run_dir = run_dir.to_str().expect("utf-8 path");
    kith(&["reload", "--run-dir", run_dir]);
}

/// The ifindex of interface `name` on `node`.
fn ifindex(lab: &Lab, node: &str, name: &str) -> Option<u32> {
    let out = lab
        .exec_ok(node, &["ip", "-o", "link", "show", name])
        .ok()?;
    out.split(':').next()?.trim().parse().ok()
}

/// Lines of `log` holding `text`.
fn count(log: &str, text: &str) -> usize {
    log.lines().filter(|l| l.contains(text)).count()
}

#[test]
fn adding_a_friend_keeps_tunnels_and_removing_one_closes_only_its_tunnel() {
    require(&["ping", "ip"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = make_pki(dir.path(), &["friend1-1", "friend1-2"]);
    let lab = wan_lab("vpn reload");
    let home = home_config(60, "", "");
    let remi = remi_config("")
        .replace("vpn.mydomain.com", "203.0.113.10")
        .replace("vpn2.mydomain.com", "198.51.100.10");
    start_router(&lab, "home", &home, &pki);
    start_router(&lab, "remi", &remi, &pki);
    wait_tunnel(&lab, "remi", "home-isp1", |_| true);
    wait_tunnel(&lab, "remi", "home-isp2", |_| true);
    wait_tunnel(&lab, "home", "friend1-1", |_| true);
    wait_tunnel(&lab, "home", "friend1-2", |_| true);
    for to in ["172.16.10.1", "172.16.11.1"] {
        if let Err(e) = lab.wait_ping("remi", to, WAIT) {
            panic!("{e}\n{}", logs(&lab));
        }
    }
    let links = |lab: &Lab| {
        [
            ifindex(lab, "home", "friend1-1"),
            ifindex(lab, "home", "friend1-2"),
            ifindex(lab, "remi", "home-isp1"),
            ifindex(lab, "remi", "home-isp2"),
        ]
    };
    let links_before = links(&lab);
    assert!(links_before.iter().all(Option::is_some), "{links_before:?}");
    let home_log = lab.log("home", "kith");
    let logins_before = count(&home_log, "friend1-1 connected from");
    assert_eq!(logins_before, 1, "{home_log}");
    let remi_connects = count(&lab.log("remi", "kith"), "connecting to");

    // A reload that changes nothing does nothing.
    reload(&lab, "home", &home);
    wait(&lab, "home: an unchanged reload", || {
        lab.log("home", "kith")
            .contains("reload: nothing vpnd runs changed; every tunnel kept")
    });

    // A new friend while pings run through tunnel 1.
    let uptime_before = connected(&lab, "home", "friend1-1").expect("friend1-1 up")["uptime"]
        .as_u64()
        .unwrap_or(0);
    lab.spawn_ping("remi", "172.16.10.1", Duration::from_millis(50), PINGS)
        .expect("start ping");
    std::thread::sleep(Duration::from_secs(1));
    reload(&lab, "home", &with_friend2(&home));
    wait(&lab, "home: vpnd reloaded", || {
        lab.log("home", "kith").contains("tunnel(s) kept")
    });
    assert!(
        lab.is_running("remi", "ping"),
        "the reload must happen while the ping runs (make PINGS larger)"
    );
    wait(&lab, "the ping to finish", || {
        !lab.is_running("remi", "ping")
    });
    let ping = lab.log("remi", "ping");
    assert!(
        ping.contains(&format!(
            "{PINGS} packets transmitted, {PINGS} received, 0% packet loss"
        )),
        "a ping was lost across the reload:\n{ping}\n{}",
        logs(&lab)
    );
    assert_eq!(links(&lab), links_before, "an interface was recreated");
    let home_log = lab.log("home", "kith");
    assert_eq!(
        count(&home_log, "friend1-1 connected from"),
        logins_before,
        "friend1-1 logged in again:\n{home_log}"
    );
    assert_eq!(
        count(&lab.log("remi", "kith"), "connecting to"),
        remi_connects,
        "remi reconnected:\n{}",
        logs(&lab)
    );
    let uptime_after = connected(&lab, "home", "friend1-1").expect("friend1-1 up")["uptime"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        uptime_after > uptime_before,
        "the session was restarted ({uptime_before} s before, {uptime_after} s after)"
    );

    wait(&lab, "home: friend2 added", || {
        lab.log("home", "kith")
            .contains("reload: secret friend2 added: accepted from now on")
    });
    wait(&lab, "home: the reload's summary", || {
        lab.log("home", "kith")
            .contains("reload: 2 tunnel(s) kept, 0 closed or restarted")
    });

    // friend1-1's secret goes: its tunnel closes, friend1-2's stays.
    reload(&lab, "home", &without_friend1_1(&with_friend2(&home)));
    wait(&lab, "home: friend1-1 disconnected", || {
        ifindex(&lab, "home", "friend1-1").is_none()
    });
    wait(&lab, "home: friend1-1's removal logged", || {
        let log = lab.log("home", "kith");
        log.contains("reload: secret friend1-1 removed: disconnecting")
            && log.contains("reload: 1 tunnel(s) kept, 1 closed or restarted")
    });
    assert_eq!(ifindex(&lab, "home", "friend1-2"), links_before[1]);
    assert_eq!(ifindex(&lab, "remi", "home-isp2"), links_before[3]);
    assert!(lab.ping("remi", "172.16.11.1", 2), "tunnel 2 still carries");
    // remi tries again and is refused: friend1-1 is no account any more.
    wait(&lab, "home: friend1-1 refused", || {
        lab.log("home", "kith")
            .contains("unknown account friend1-1")
    });
    assert!(connected(&lab, "home", "friend1-1").is_none());

    // Remi: a changed client restarts (with its new MTU), a removed one stops.
    let last_mtu = remi.rfind("max-mtu: 1450").expect("home-isp2's max-mtu");
    let remi_mtu = format!(
        "{}max-mtu: 1400{}",
        &remi[..last_mtu],
        &remi[last_mtu + 13..]
    );
    reload(&lab, "remi", &remi_mtu);
    wait(&lab, "remi: home-isp2 restarted with MTU 1400", || {
        lab.exec_ok("remi", &["cat", "/sys/class/net/home-isp2/mtu"])
            .is_ok_and(|m| m.trim() == "1400")
            && connected(&lab, "remi", "home-isp2").is_some()
    });
    assert!(
        lab.log("remi", "kith")
            .contains("reload: ovpn-client home-isp2 max-mtu changed: restarting it"),
        "{}",
        logs(&lab)
    );
    assert_ne!(ifindex(&lab, "remi", "home-isp2"), links_before[3]);
    if let Err(e) = lab.wait_ping("remi", "172.16.11.1", WAIT) {
        panic!("{e}\n{}", logs(&lab));
    }
    let entry1 = client_entry("home-isp1", "203.0.113.10", "friend1-1", "change-me-1");
    assert!(remi_mtu.contains(&entry1), "{remi_mtu}");
    let tunnel2 = ifindex(&lab, "remi", "home-isp2");
    reload(&lab, "remi", &remi_mtu.replacen(&entry1, "", 1));
    wait(&lab, "remi: home-isp1 stopped", || {
        lab.log("remi", "kith")
            .contains("reload: ovpn-client home-isp1 removed: stopping it")
            && !tunnels(&lab, "remi")
                .iter()
                .any(|t| t["name"] == "home-isp1")
    });
    assert_eq!(ifindex(&lab, "remi", "home-isp2"), tunnel2);
}
