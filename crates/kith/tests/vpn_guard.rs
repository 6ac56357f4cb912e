//! The server's guards, with the real `kith run` on `home`: `only-one` (a second login
//! of the same account replaces the first, and the log says so) and the per-source
//! handshake rate limit (a flood of HARD_RESETs from one source neither exhausts
//! vpnd's memory nor keeps a client from another source out; the log names the
//! flooding source once). Stock openvpn 2.6 and python3 play the other sides. Needs
//! root, openvpn, python3, ping and ss.

mod vpn_support;

use std::time::Duration;

use vpn_support::*;

/// A stock openvpn client of home's 203.0.113.10 (TCP) logging in as friend1-1; a
/// restart (the server closed the connection) ends it instead (`remap-usr1 SIGTERM`).
fn openvpn_client(pki: &std::path::Path, dir: &std::path::Path, name: &str) -> String {
    let pass = dir.join("friend1-1.pass");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&pass)
            .expect("write pass");
        f.write_all(b"friend1-1\nchange-me-1\n")
            .expect("write pass");
    }
    let conf = format!(
        "client\nproto tcp4-client\nremote 203.0.113.10 1194\ndev tun\nnobind\n\
         remote-cert-tls server\nca {pki}/ca.crt\ncert {pki}/issued/friend1-1.crt\n\
         key {pki}/private/friend1-1.key\ndata-ciphers AES-128-CBC\nauth SHA1\n\
         auth-user-pass {pass}\nremap-usr1 SIGTERM\nverb 3\n",
        pki = pki.display(),
        pass = pass.display()
    );
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, conf).expect("write openvpn conf");
    path.display().to_string()
}

#[test]
fn only_one_second_login_replaces_the_first() {
    require(&["openvpn", "ping", "ss", "ip"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = make_pki(dir.path(), &["friend1-1", "friend1-2"]);
    let lab = wan_lab("vpn only-one");
    start_router(&lab, "home", &home_config(60, "", ""), &pki);
    wait(&lab, "home's server listening", || {
        lab.exec_ok("home", &["ss", "-ltn", "sport", "= :1194"])
            .is_ok_and(|s| s.contains("LISTEN"))
    });

    // First login: from remi (192.0.2.20, over ISP1; no kith there, set by hand).
    lab.sh(
        "remi",
        "ip addr add 192.0.2.20/24 dev eth0 && ip route add default via 192.0.2.1",
    )
    .unwrap();
    let first = openvpn_client(&pki, dir.path(), "first");
    lab.spawn("remi", "first", &["openvpn", "--config", &first], &[])
        .expect("start openvpn");
    wait(&lab, "first login up", || {
        lab.log("remi", "first")
            .contains("Initialization Sequence Completed")
    });
    wait_tunnel(&lab, "home", "friend1-1", |t| {
        field(t, "peer").starts_with("192.0.2.20:")
    });

    // Second login of the same account: from isp2's side (10.255.12.2).
    let second = openvpn_client(&pki, dir.path(), "second");
    lab.spawn("isp2", "second", &["openvpn", "--config", &second], &[])
        .expect("start openvpn");
    wait(&lab, "second login up", || {
        lab.log("isp2", "second")
            .contains("Initialization Sequence Completed")
    });
    wait(&lab, "home logs the replacement", || {
        lab.log("home", "kith")
            .contains("friend1-1 logged in again from 10.255.12.2:")
    });
    let log = lab.log("home", "kith");
    assert!(
        log.contains("the older session is replaced (only-one)"),
        "{log}"
    );
    assert!(
        log.contains("tunnel down: replaced by a new login of the same account (only-one)"),
        "{log}"
    );
    // The first client was pushed out (its restart is an exit here).
    wait(&lab, "the first client to go", || {
        !lab.is_running("remi", "first")
    });
    // One friend1-1 interface, one connected session: the second one.
    let links = lab.exec_ok("home", &["ip", "-o", "link"]).unwrap();
    assert_eq!(links.matches("friend1-1").count(), 1, "{links}");
    let mut rows = Vec::new();
    wait(&lab, "one friend1-1 session, the second", || {
        rows = tunnels(&lab, "home")
            .into_iter()
            .filter(|t| t["name"] == "friend1-1")
            .collect();
        rows.len() == 1 && field(&rows[0], "peer").starts_with("10.255.12.2:")
    });
    if let Err(e) = lab.wait_ping("isp2", "172.16.10.1", WAIT) {
        panic!("{e}\n{}", logs(&lab));
    }
}

/// Sends `count` HARD_RESET_CLIENT_V2 packets (fresh session ids, 64 source ports)
/// to `dst`:1194 over at most `secs` seconds, then prints `sent N`.
const FLOOD: &str = r#"
import os, socket, sys, time
dst, count, secs = (sys.argv[1], 1194), int(sys.argv[2]), float(sys.argv[3])
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(64)]
end, sent = time.time() + secs, 0
while sent < count and time.time() < end:
    socks[sent % 64].sendto(b"\x38" + os.urandom(8) + b"\x00" + b"\x00\x00\x00\x00", dst)
    sent += 1
    if sent % 500 == 0:
        time.sleep(0.05)
print("sent", sent, flush=True)
"#;

/// vpnd's resident memory in kB on `node` (the `kith vpnd` process in its namespace).
fn vpnd_rss_kb(lab: &kith_lab::Lab, node: &str) -> u64 {
    let ns = lab.namespace(node).unwrap();
    let pids = std::process::Command::new("ip")
        .args(["netns", "pids", &ns])
        .output()
        .expect("ip netns pids");
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        if cmdline.split('\0').nth(1) == Some("vpnd") {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            return status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
        }
    }
    panic!("no kith vpnd process in {node}:\n{}", logs(lab));
}

#[test]
fn a_reset_flood_from_one_source_neither_exhausts_memory_nor_blocks_others() {
    require(&["python3", "ping", "ss", "ip"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = make_pki(dir.path(), &["friend1-1", "friend1-2"]);
    let lab = wan_lab("vpn flood");
    let home = home_config(60, "", "").replace("protocol: tcp", "protocol: udp");
    start_router(&lab, "home", &home, &pki);
    wait(&lab, "home's server listening", || {
        lab.exec_ok("home", &["ss", "-lun", "sport", "= :1194"])
            .is_ok_and(|s| s.contains("203.0.113.10:1194"))
    });
    std::thread::sleep(Duration::from_millis(500));
    let rss_before = vpnd_rss_kb(&lab, "home");

    // isp1 (203.0.113.1) floods home's ISP1 address with handshakes.
    lab.spawn(
        "isp1",
        "flood",
        &["python3", "-c", FLOOD, "203.0.113.10", "150000", "20"],
        &[],
    )
    .expect("start the flood");
    wait(&lab, "the flood to be refused", || {
        lab.log("home", "kith").contains(
            "more than 10 new connections from 203.0.113.1 in 10 s; ignoring its new connections for now",
        )
    });
    assert!(lab.is_running("isp1", "flood"), "the flood is still going");

    // Meanwhile remi (192.0.2.20) connects to the same address and port.
    let client = client_entry("home-isp1", "203.0.113.10", "friend1-1", "change-me-1")
        .replace("protocol: tcp", "protocol: udp");
    let remi = format!(
        "interface:\n  ethernet:\n    - name: ether1-isp1\n      default-name: eth0\n  ovpn-client:\n{client}ip:\n  address:\n    - address: 192.0.2.20/24\n      interface: ether1-isp1\n  route:\n    - dst-address: 0.0.0.0/0\n      gateway: 192.0.2.1\n"
    );
    start_router(&lab, "remi", &remi, &pki);
    wait_tunnel(&lab, "remi", "home-isp1", |_| true);
    assert!(
        lab.is_running("isp1", "flood"),
        "the flood was over before remi got in: the test proves nothing"
    );
    if let Err(e) = lab.wait_ping("remi", "172.16.10.1", WAIT) {
        panic!("{e}\n{}", logs(&lab));
    }
    // remi's session has a socket of its own, connected to remi (no hop through the
    // listener's task).
    let socks = lab.exec_ok("home", &["ss", "-uan"]).unwrap();
    assert!(
        socks.lines().any(|l| l.starts_with("ESTAB")
            && l.contains("203.0.113.10:1194")
            && l.contains("192.0.2.20:")),
        "{socks}"
    );

    // Bounded: few half-open handshakes from the flooder, little memory, one log line
    // per window for the flooder and none for remi.
    let from_flooder = tunnels(&lab, "home")
        .iter()
        .filter(|t| field(t, "peer").starts_with("203.0.113.1:"))
        .count();
    assert!(
        from_flooder <= 70,
        "{from_flooder} handshakes of the flooder are kept"
    );
    let rss_after = vpnd_rss_kb(&lab, "home");
    assert!(
        rss_after < rss_before + 40 * 1024,
        "vpnd grew from {rss_before} kB to {rss_after} kB during the flood"
    );
    wait(&lab, "the flood to end", || {
        !lab.is_running("isp1", "flood")
    });
    let sent: u64 = lab
        .log("isp1", "flood")
        .trim()
        .strip_prefix("sent ")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(sent >= 10_000, "the flood sent only {sent} packets");
    let log = lab.log("home", "kith");
    let warnings = log
        .matches("new connections from 203.0.113.1 in 10 s")
        .count();
    assert!(
        (1..=4).contains(&warnings),
        "{warnings} rate-limit lines for {sent} packets:\n{log}"
    );
    assert!(!log.contains("new connections from 192.0.2.20"), "{log}");
    assert!(connected(&lab, "remi", "home-isp1").is_some());
    assert!(lab.ping("remi", "172.16.10.1", 2));
}
