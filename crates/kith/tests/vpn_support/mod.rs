//! Shared by the tunnel lab tests: the scenario's two routers (`home` serves OpenVPN on
//! both WANs, `remi` dials `vpn.mydomain.com` and `vpn2.mydomain.com`) over two ISPs,
//! dnsmasq in `isp1` answering those names, a PKI made with `kith pki` in the test's
//! temp dir, the real `kith run` in both routers, status from `kith ovpn print --json`.
//! Everything (namespaces, kith, dnsmasq) goes when the lab is dropped, also on panic.
//! Missing root or tools fail the test with a message naming what is missing.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kith_lab::{Lab, NodeKind};

pub const KITH: &str = env!("CARGO_BIN_EXE_kith");
pub const WAIT: Duration = Duration::from_secs(60);

/// Panics unless we are root and every program in `tools` is on PATH.
pub fn require(tools: &[&str]) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "the tunnel lab tests need root (network namespaces, tun devices); run them as root"
    );
    for tool in tools {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            found,
            "`{tool}` is missing: install the Debian packages of ci/install-deps.sh"
        );
    }
}

/// Runs `kith ARGS` and returns its stdout; panics with its stderr on failure.
pub fn kith(args: &[&str]) -> String {
    let out = Command::new(KITH).args(args).output().expect("run kith");
    assert!(
        out.status.success(),
        "kith {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PKI in `dir`: CA, server certificate `server`, client certificates `clients`.
pub fn make_pki(dir: &Path, clients: &[&str]) -> PathBuf {
    let pki = dir.join("pki");
    let p = pki.to_str().expect("utf-8 path");
    kith(&["pki", "init", "--dir", p, "--server", "server"]);
    for c in clients {
        kith(&["pki", "issue", c, "--dir", p]);
    }
    pki
}

/// The ISPs' address plan (as the scenario's topology.yaml, without the stand-in LAN
/// routes): home 203.0.113.10 (+ `home_wan1_extra`) / 198.51.100.10, remi 192.0.2.20 /
/// 100.64.2.20.
pub fn wan_lab(tag: &str) -> Lab {
    let lab = Lab::new(tag).expect("create lab");
    for (node, kind) in [
        ("isp1", NodeKind::Isp),
        ("isp2", NodeKind::Isp),
        ("home", NodeKind::Router),
        ("remi", NodeKind::Router),
    ] {
        lab.add_node(node, kind).expect("node");
    }
    let net = |s: &str| Some(s.parse().expect("prefix"));
    lab.add_link(
        ("home", "eth0", None),
        ("isp1", "home", net("203.0.113.1/24")),
    )
    .expect("link");
    lab.add_link(
        ("home", "eth1", None),
        ("isp2", "home", net("198.51.100.1/24")),
    )
    .expect("link");
    lab.add_link(
        ("remi", "eth0", None),
        ("isp1", "remi", net("192.0.2.1/24")),
    )
    .expect("link");
    lab.add_link(
        ("remi", "eth1", None),
        ("isp2", "remi", net("100.64.2.1/24")),
    )
    .expect("link");
    lab.add_link(
        ("isp1", "isp2", net("10.255.12.1/30")),
        ("isp2", "isp1", net("10.255.12.2/30")),
    )
    .expect("link");
    lab.sh(
        "isp1",
        "ip route add 198.51.100.0/24 via 10.255.12.2 && ip route add 100.64.2.0/24 via 10.255.12.2",
    )
    .expect("isp1 routes");
    lab.sh(
        "isp2",
        "ip route add 203.0.113.0/24 via 10.255.12.1 && ip route add 192.0.2.0/24 via 10.255.12.1",
    )
    .expect("isp2 routes");
    lab
}

/// (Re)starts dnsmasq in `isp1` (process `dnsmasq`, log `<workdir>/isp1-dnsmasq.log`)
/// answering `vpn.mydomain.com` with `vpn` and `vpn2.mydomain.com` with `vpn2`.
pub fn dnsmasq(lab: &Lab, vpn: &str, vpn2: &str) {
    if lab.is_running("isp1", "dnsmasq") {
        lab.stop("isp1", "dnsmasq").expect("stop dnsmasq");
    }
    let argv = [
        "dnsmasq".to_string(),
        "--keep-in-foreground".into(),
        "--conf-file=/dev/null".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--user=root".into(),
        "--pid-file".into(),
        "--bind-interfaces".into(),
        "--listen-address=192.0.2.1".into(),
        "--log-facility=-".into(),
        "--log-queries".into(),
        format!("--address=/vpn.mydomain.com/{vpn}"),
        format!("--address=/vpn2.mydomain.com/{vpn2}"),
    ];
    lab.spawn("isp1", "dnsmasq", &argv, &[])
        .expect("start dnsmasq");
    lab.wait_until("dnsmasq to listen", WAIT, || {
        lab.exec_ok("isp1", &["ss", "-lun", "sport", "= :53"])
            .is_ok_and(|s| s.contains("192.0.2.1:53"))
    })
    .unwrap_or_else(|e| panic!("{e}\n{}", lab.log("isp1", "dnsmasq")));
}

/// Home's OpenVPN server (TCP 1194 on every address, AES-128-CBC/SHA1 as MikroTik's
/// `cipher aes128`, keepalive-timeout `keepalive`), accounts friend1-1 / friend1-2 with
/// their bindings and profile VPN-interco (`only-one`, `change-tcp-mss`). `extra_wan1`
/// is a second address on the ISP1 link; `extra` is appended (more top-level menus).
pub fn home_config(keepalive: u32, extra_wan1: &str, extra: &str) -> String {
    let extra_addr = if extra_wan1.is_empty() {
        String::new()
    } else {
        format!("    - address: {extra_wan1}\n      interface: ether1\n")
    };
    format!(
        "system:
  identity: home
interface:
  ethernet:
    - name: ether1
      default-name: eth0
    - name: sfp-wan-sfr
      default-name: eth1
  ovpn-server:
    server:
      enabled: yes
      port: 1194
      protocol: tcp
      netmask: 32
      max-mtu: 1450
      keepalive-timeout: {keepalive}
      certificate: server
      require-client-certificate: yes
      auth: sha1
      cipher: aes128,aes256
    add:
      - name: friend1-1
        user: friend1-1
      - name: friend1-2
        user: friend1-2
ip:
  address:
    - address: 203.0.113.10/24
      interface: ether1
{extra_addr}    - address: 198.51.100.10/24
      interface: sfp-wan-sfr
  route:
    - dst-address: 0.0.0.0/0
      gateway: 203.0.113.1
      distance: 1
    - dst-address: 0.0.0.0/0
      gateway: 198.51.100.1
      distance: 2
ppp:
  profile:
    - name: VPN-interco
      only-one: yes
      change-tcp-mss: yes
  secret:
    - name: friend1-1
      service: ovpn
      password: change-me-1
      profile: VPN-interco
      local-address: 172.16.10.1
      remote-address: 172.16.10.2
    - name: friend1-2
      service: ovpn
      password: change-me-2
      profile: VPN-interco
      local-address: 172.16.11.1
      remote-address: 172.16.11.2
{extra}"
    )
}

/// One `interface/ovpn-client` entry of remi's, as the scenario's remi.yaml has them.
pub fn client_entry(name: &str, connect_to: &str, account: &str, password: &str) -> String {
    format!(
        "    - name: {name}
      connect-to: {connect_to}
      port: 1194
      protocol: tcp
      user: {account}
      password: {password}
      certificate: {account}
      verify-server-certificate: yes
      auth: sha1
      cipher: aes128
      max-mtu: 1450
"
    )
}

/// Remi: two clients by name (`home-isp1` to vpn.mydomain.com as friend1-1,
/// `home-isp2` to vpn2.mydomain.com as friend1-2), names resolved through `ip/dns`
/// 192.0.2.1 (dnsmasq in isp1); vpn2 is reached over ISP2 (a host route).
pub fn remi_config(extra: &str) -> String {
    format!(
        "system:
  identity: remi
interface:
  ethernet:
    - name: ether1-isp1
      default-name: eth0
    - name: ether2-isp2
      default-name: eth1
  ovpn-client:
{c1}{c2}ip:
  address:
    - address: 192.0.2.20/24
      interface: ether1-isp1
    - address: 100.64.2.20/24
      interface: ether2-isp2
  dns:
    servers: [192.0.2.1]
  route:
    - dst-address: 0.0.0.0/0
      gateway: 192.0.2.1
      distance: 1
    - dst-address: 0.0.0.0/0
      gateway: 100.64.2.1
      distance: 2
    - dst-address: 198.51.100.10/32
      gateway: 100.64.2.1
      comment: tunnel 2 rides ISP2
{extra}",
        c1 = client_entry("home-isp1", "vpn.mydomain.com", "friend1-1", "change-me-1"),
        c2 = client_entry("home-isp2", "vpn2.mydomain.com", "friend1-2", "change-me-2"),
    )
}

/// Writes `config` for `node` and starts `kith run` there with KITH_PKI_DIR=`pki`.
pub fn start_router(lab: &Lab, node: &str, config: &str, pki: &Path) {
    let path = lab.write_router_config(node, config).expect("config");
    let env = [("KITH_PKI_DIR".to_string(), pki.display().to_string())];
    lab.start_router(node, Path::new(KITH), &path, &env)
        .expect("start kith run");
}

/// Both routers' kith logs, for failure messages.
pub fn logs(lab: &Lab) -> String {
    format!(
        "--- home ---\n{}\n--- remi ---\n{}",
        lab.log("home", "kith"),
        lab.log("remi", "kith")
    )
}

/// Polls `cond` until it holds; panics with the logs after [`WAIT`].
pub fn wait(lab: &Lab, what: &str, cond: impl FnMut() -> bool) {
    if let Err(err) = lab.wait_until(what, WAIT, cond) {
        panic!("{err}\n{}", logs(lab));
    }
}

/// The tunnels of a router's vpnd (`kith ovpn print --json`), empty when it does not
/// answer yet.
pub fn tunnels(lab: &Lab, node: &str) -> Vec<serde_json::Value> {
    let run_dir = lab.workdir().join(node).join("run");
    let out = Command::new(KITH)
        .args(["ovpn", "print", "--json", "--run-dir"])
        .arg(&run_dir)
        .output();
    let Ok(out) = out else { return Vec::new() };
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .ok()
        .and_then(|v| v.get("tunnels").and_then(|t| t.as_array()).cloned())
        .unwrap_or_default()
}

/// The connected tunnel called `name` on `node`, if any.
pub fn connected(lab: &Lab, node: &str, name: &str) -> Option<serde_json::Value> {
    tunnels(lab, node)
        .into_iter()
        .find(|t| t["name"] == name && t["state"] == "connected")
}

/// Waits until `node` has a connected tunnel `name` whose fields hold `check`.
pub fn wait_tunnel(
    lab: &Lab,
    node: &str,
    name: &str,
    mut check: impl FnMut(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let mut last = None;
    wait(lab, &format!("{node}: tunnel {name} connected"), || {
        last = connected(lab, node, name);
        last.as_ref().is_some_and(&mut check)
    });
    last.unwrap_or_default()
}

/// A one-line summary of a tunnel row (`kith ovpn print` fields).
pub fn field(t: &serde_json::Value, key: &str) -> String {
    t[key]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| t[key].to_string())
}
