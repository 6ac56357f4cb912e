//! The scenario's firewall on `home`, in the lab (namespaces isp1, isp2, home, remi,
//! nas-home, nas-remi; kith-lab removes them all, also when a test fails): the tunnel
//! ports open, the rest dropped (timeout, not RST), GRE through, disabled rules without
//! effect, masquerade and a port forward, tunnels that come and go, and a refused apply
//! that keeps the previous ruleset. Traffic is made with `tests/helpers/netprobe.py`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use kith_config::Config;
use kith_fw::{Nft, Options};
use kith_lab::{BuildOptions, Lab, SCENARIO_HOME_CONFIG, Topology};

const HOME_WAN1: &str = "203.0.113.10";
const ISP1: &str = "203.0.113.1";
const HOME_LAN: &str = "192.168.0.254";
const NAS_HOME: &str = "192.168.0.2";
/// How long a TCP connect waits before it counts as dropped.
const CONNECT_TIMEOUT: &str = "2";
/// How long a packet that should arrive may take.
const ARRIVAL: Duration = Duration::from_secs(10);

/// The scenario's `home` config with NAT added: masquerade on ALL-WAN and a port forward
/// of WAN port 8080 to the NAS's port 80.
fn home_with_nat() -> String {
    let nat = "    nat:
      - chain: srcnat
        action: masquerade
        out-interface-list: ALL-WAN
      - chain: dstnat
        action: dst-nat
        in-interface-list: ALL-WAN
        protocol: tcp
        dst-port: \"8080\"
        to-addresses: 192.168.0.2
        to-ports: \"80\"
        comment: NAS web
  route:
";
    assert_eq!(SCENARIO_HOME_CONFIG.matches("\n  route:\n").count(), 1);
    SCENARIO_HOME_CONFIG.replace("\n  route:\n", &format!("\n{nat}"))
}

/// The scenario lab without `kith run`: home gets its addresses and default route by
/// hand, the firewall is applied by the test.
struct ScenarioLab {
    lab: Lab,
    nft: Nft,
}

impl ScenarioLab {
    fn new(tag: &str) -> Self {
        common::require_root_and_nft();
        let python = std::process::Command::new("python3")
            .arg("--version")
            .output();
        assert!(
            python.is_ok_and(|o| o.status.success()),
            "the lab tests need python3 (Debian package python3): run ci/install-deps.sh"
        );
        let mut opts = BuildOptions::without_routers();
        opts.tag = tag.to_owned();
        let lab = Lab::build(&Topology::scenario().unwrap(), &opts).unwrap();
        for (ifname, addr) in [
            ("eth0", "203.0.113.10/24"),
            ("eth1", "198.51.100.10/24"),
            ("eth2", "192.168.0.254/24"),
        ] {
            lab.add_address("home", ifname, addr.parse().unwrap())
                .unwrap();
        }
        lab.exec_ok("home", &["ip", "route", "add", "default", "via", ISP1])
            .unwrap();
        // The ISPs route home's LAN to home's WAN addresses (the scenario's ISPs do
        // not: there the LANs ride the tunnels, which need `kith run`).
        lab.sh("isp1", "ip route add 192.168.0.0/24 via 203.0.113.10")
            .unwrap();
        lab.sh("isp2", "ip route add 192.168.0.0/24 via 198.51.100.10")
            .unwrap();
        lab.wait_ping("isp1", HOME_WAN1, ARRIVAL).unwrap();
        lab.wait_ping("nas-home", ISP1, ARRIVAL).unwrap();
        let nft = Nft::in_netns(&lab.namespace("home").unwrap());
        Self { lab, nft }
    }

    fn apply(&self, config: &Config) {
        kith_fw::compile_and_apply(config, &Options::default(), &self.nft)
            .unwrap_or_else(|e| panic!("apply on home: {e:?}"));
    }

    fn ruleset(&self) -> String {
        self.nft.list_ruleset().unwrap()
    }

    /// Runs a probe in `node`; its printed word (`connected`, `refused`, `timeout`).
    fn probe(&self, node: &str, args: &[&str]) -> String {
        let mut argv = vec!["python3", SCRIPT];
        argv.extend_from_slice(args);
        let out = self.lab.exec(node, &argv).unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn connect(&self, from: &str, host: &str, port: u16) -> String {
        self.probe(
            from,
            &["tcp-connect", host, &port.to_string(), CONNECT_TIMEOUT],
        )
    }

    /// Starts a listening probe as process `name` in `node`, once it listens.
    fn listen(&self, node: &str, name: &str, args: &[&str]) {
        let mut argv = vec!["python3", SCRIPT];
        argv.extend_from_slice(args);
        self.lab.spawn(node, name, &argv, &[]).unwrap();
        self.lab
            .wait_until(&format!("{name} listening in {node}"), ARRIVAL, || {
                self.lab.log(node, name).contains("listening")
            })
            .unwrap_or_else(|e| panic!("{e}: {}", self.lab.log(node, name)));
    }

    /// Waits until the listener's log has `line`.
    fn heard(&self, node: &str, name: &str, line: &str) -> bool {
        self.lab
            .wait_until(&format!("{line} in {name}"), ARRIVAL, || {
                self.lab.log(node, name).lines().any(|l| l == line)
            })
            .is_ok()
    }

    /// Whether the listener's log has `line` now.
    fn has(&self, node: &str, name: &str, line: &str) -> bool {
        self.lab.log(node, name).lines().any(|l| l == line)
    }

    /// Sends probe `kind` (`udp-send`, `raw-send`) with `arg` (port or protocol) from
    /// isp1 to home's WAN address, then the same from the NAS to home's LAN address (not
    /// filtered: the control); once the control arrived, tells whether isp1's did too.
    fn isp1_gets_through(&self, name: &str, kind: &str, arg: &str) -> bool {
        self.probe("isp1", &[kind, HOME_WAN1, arg]);
        std::thread::sleep(Duration::from_millis(300));
        self.probe("nas-home", &[kind, HOME_LAN, arg]);
        assert!(
            self.heard("home", name, &format!("from {NAS_HOME}")),
            "the control packet from the LAN never reached home: {}",
            self.lab.log("home", name)
        );
        self.has("home", name, &format!("from {ISP1}"))
    }
}

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/helpers/netprobe.py");

fn scenario_home() -> Config {
    common::load_str(SCENARIO_HOME_CONFIG)
}

#[test]
fn scenario_rules_open_the_tunnel_ports_and_drop_the_rest() {
    let s = ScenarioLab::new("fw_scenario_rules");
    s.listen("home", "tcp1194", &["tcp-listen", "1194"]);
    // Before the firewall, a closed port answers with a reset.
    assert_eq!(s.connect("isp1", HOME_WAN1, 2222), "refused");

    s.apply(&scenario_home());
    assert_eq!(
        s.connect("isp1", HOME_WAN1, 1194),
        "connected",
        "OpenVPN port"
    );
    assert!(s.heard("home", "tcp1194", &format!("peer {ISP1}")));
    // Dropped, not refused: the connect times out.
    assert_eq!(
        s.connect("isp1", HOME_WAN1, 2222),
        "timeout",
        "closed by drop"
    );
    // The SSTP rule (tcp 4430) is disabled: dropped like any other port.
    assert_eq!(
        s.connect("isp1", HOME_WAN1, 4430),
        "timeout",
        "disabled SSTP rule"
    );
    // The LAN side is not ALL-WAN: its closed ports still answer with a reset.
    assert_eq!(s.connect("nas-home", HOME_LAN, 2222), "refused");
    // Both WANs are in ALL-WAN.
    assert_eq!(
        s.probe(
            "isp2",
            &["tcp-connect", "198.51.100.10", "2222", CONNECT_TIMEOUT]
        ),
        "timeout"
    );

    // GRE (raw IP protocol 47) is open.
    s.listen("home", "gre", &["raw-listen", "47"]);
    s.probe("isp1", &["raw-send", HOME_WAN1, "47"]);
    assert!(
        s.heard("home", "gre", &format!("from {ISP1}")),
        "GRE from isp1 should pass: {}",
        s.lab.log("home", "gre")
    );
    // ESP (protocol 50) has only a disabled rule: dropped.
    s.listen("home", "esp", &["raw-listen", "50"]);
    assert!(
        !s.isp1_gets_through("esp", "raw-send", "50"),
        "ESP must be dropped"
    );
}

#[test]
fn the_disabled_l2tp_rule_has_no_effect_until_enabled() {
    let s = ScenarioLab::new("fw_disabled_l2tp");
    s.listen("home", "l2tp", &["udp-listen", "1701"]);
    let mut config = scenario_home();
    s.apply(&config);
    assert!(
        !s.isp1_gets_through("l2tp", "udp-send", "1701"),
        "udp 1701 must be dropped while the L2TP rule is disabled"
    );
    let l2tp = config
        .ip
        .firewall
        .filter
        .iter_mut()
        .find(|r| r.comment.as_deref() == Some("L2TP"))
        .unwrap();
    l2tp.disabled = false;
    s.apply(&config);
    s.probe("isp1", &["udp-send", HOME_WAN1, "1701"]);
    assert!(
        s.heard("home", "l2tp", &format!("from {ISP1}")),
        "udp 1701 must pass once the L2TP rule is enabled"
    );
}

#[test]
fn masquerade_on_all_wan_and_a_port_forward() {
    let s = ScenarioLab::new("fw_nat");
    s.listen("isp1", "web", &["tcp-listen", "8000"]);
    // Without NAT the ISP sees the NAS's own address (the lab routes the LAN to home).
    s.apply(&scenario_home());
    assert_eq!(s.connect("nas-home", ISP1, 8000), "connected");
    assert!(s.heard("isp1", "web", &format!("peer {NAS_HOME}")));

    s.apply(&common::load_str(&home_with_nat()));
    assert_eq!(s.connect("nas-home", ISP1, 8000), "connected");
    assert!(
        s.heard("isp1", "web", &format!("peer {HOME_WAN1}")),
        "masquerade: isp1 should see home's WAN address: {}",
        s.lab.log("isp1", "web")
    );

    // Port forward: WAN 8080 reaches the NAS's port 80, with the ISP's address.
    s.listen("nas-home", "nas80", &["tcp-listen", "80"]);
    assert_eq!(
        s.connect("isp1", HOME_WAN1, 8080),
        "connected",
        "port forward"
    );
    assert!(
        s.heard("nas-home", "nas80", &format!("peer {ISP1}")),
        "{}",
        s.lab.log("nas-home", "nas80")
    );
    // Other WAN ports stay dropped.
    assert_eq!(s.connect("isp1", HOME_WAN1, 8081), "timeout");
}

#[test]
fn a_tunnel_interface_that_comes_and_goes_needs_no_recompile() {
    let s = ScenarioLab::new("fw_tunnel_names");
    // friend1-1 is declared (an OpenVPN account) and in list TUNNELS; tcp 5001 from it
    // is dropped. The interface does not exist when the firewall is applied.
    let yaml = SCENARIO_HOME_CONFIG
        .replace(
            "  list:\n    add:\n      - name: ALL-WAN\n",
            "  list:\n    add:\n      - name: ALL-WAN\n      - name: TUNNELS\n",
        )
        .replace(
            "    member:\n",
            "    member:\n      - list: TUNNELS\n        interface: friend1-1\n",
        )
        .replace(
            "    filter:\n",
            "    filter:\n      - chain: input\n        action: drop\n        in-interface-list: TUNNELS\n        protocol: tcp\n        dst-port: \"5001\"\n",
        )
        // The scenario's home declares friend1-1 itself once its tunnels are real.
        + if SCENARIO_HOME_CONFIG.contains("\nppp:\n") {
            ""
        } else {
            "ppp:\n  secret:\n    - name: friend1-1\n      service: ovpn\n      password: x\n"
        };
    s.apply(&common::load_str(&yaml));
    let applied = s.ruleset();
    assert!(applied.contains("\"friend1-1\""), "{applied}");
    s.listen("home", "t5001", &["tcp-listen", "5001"]);
    s.listen("home", "t5002", &["tcp-listen", "5002"]);
    for round in 0..2 {
        // The tunnel comes up (a veth named like it, to isp2)...
        let isp2 = s.lab.namespace("isp2").unwrap();
        s.lab
            .sh(
                "home",
                &format!(
                    "ip link add friend1-1 type veth peer name tun-home netns {isp2} && \
                     ip addr add 172.16.10.1/30 dev friend1-1 && ip link set friend1-1 up"
                ),
            )
            .unwrap();
        s.lab
            .sh(
                "isp2",
                "ip addr add 172.16.10.2/30 dev tun-home && ip link set tun-home up",
            )
            .unwrap();
        s.lab.wait_ping("isp2", "172.16.10.1", ARRIVAL).unwrap();
        assert_eq!(
            s.connect("isp2", "172.16.10.1", 5001),
            "timeout",
            "round {round}"
        );
        assert_eq!(
            s.connect("isp2", "172.16.10.1", 5002),
            "connected",
            "round {round}"
        );
        // ... and goes away.
        s.lab
            .exec_ok("home", &["ip", "link", "del", "friend1-1"])
            .unwrap();
    }
    assert_eq!(s.ruleset(), applied, "nothing was recompiled or reapplied");
}

#[test]
fn a_refused_apply_keeps_the_previous_ruleset_and_its_traffic() {
    let s = ScenarioLab::new("fw_refused_apply");
    s.listen("home", "tcp1194", &["tcp-listen", "1194"]);
    let config = common::load_str(&home_with_nat());
    s.apply(&config);
    let before = s.ruleset();

    // The kernel refuses a jump loop at commit time: nothing changes.
    let good = common::compile(&config).ruleset.to_string();
    let looped = good
        + "\ntable inet kith {\n\tchain ip_LOOP {\n\t\tjump ip_INPUT_WAN\n\t}\n}\n"
        + "add rule inet kith ip_INPUT_WAN jump ip_LOOP\n";
    assert!(s.nft.apply(&looped).is_err());
    assert_eq!(
        s.ruleset(),
        before,
        "nft list ruleset changed after a refused apply"
    );

    // A config whose firewall does not compile is not applied either.
    let mut broken = config.clone();
    broken.ip.firewall.filter[0].src_address_list =
        Some(kith_config::Negatable::plain("nosuch".to_owned()));
    let err = kith_fw::compile_and_apply(&broken, &Options::default(), &s.nft).unwrap_err();
    assert!(matches!(err, kith_fw::FwError::Compile(_)), "{err:?}");
    assert_eq!(s.ruleset(), before);

    // And the ruleset in place still works.
    assert_eq!(s.connect("isp1", HOME_WAN1, 1194), "connected");
    assert_eq!(s.connect("isp1", HOME_WAN1, 2222), "timeout");
}
