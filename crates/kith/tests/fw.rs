//! `kith fw show` and `kith fw apply` from the command line, and the firewall in
//! `kith run`: applied at start and on each reload; a reload whose firewall does not
//! compile leaves the running ruleset. Needs root (namespaces, nft); fails otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kith_fw::{FILTER_TABLE, Nft};
use kith_lab::{Lab, NodeKind};
use kith_net::testns::TestNetns;

const KITH: &str = env!("CARGO_BIN_EXE_kith");
const WAIT: Duration = Duration::from_secs(30);

const V1: &str = "\
interface:
  ethernet:
    - name: wan-port
      default-name: eth0
  list:
    add:
      - name: WAN
    member:
      - list: WAN
        interface: wan-port
ip:
  address:
    - address: 10.9.0.1/24
      interface: wan-port
  firewall:
    filter:
      - chain: input
        action: accept
        connection-state: established,related
      - chain: input
        action: jump
        jump-target: INPUT_WAN
        in-interface-list: WAN
      - chain: INPUT_WAN
        action: accept
        protocol: tcp
        dst-port: \"1194\"
        comment: OpenVPN
      - chain: INPUT_WAN
        action: drop
";

/// V1 with PPTP open too.
fn v2() -> String {
    V1.replace(
        "      - chain: INPUT_WAN\n        action: drop\n",
        "      - chain: INPUT_WAN\n        action: accept\n        protocol: tcp\n        dst-port: \"1723\"\n        comment: PPTP\n      - chain: INPUT_WAN\n        action: drop\n",
    )
}

/// A valid config whose firewall does not compile: the address list does not exist.
fn broken_firewall() -> String {
    V1.replace(
        "        action: drop\n",
        "        action: drop\n        src-address-list: nosuch\n",
    )
}

fn require_root_and_nft() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (network namespaces, nftables); run it as root (sudo ci/test.sh)"
    );
    assert!(
        Command::new("nft")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success()),
        "this test needs nft (Debian package nftables): run ci/install-deps.sh"
    );
}

/// A config file in the temp dir, removed on drop.
struct TempConfig(PathBuf);

impl TempConfig {
    fn new(name: &str, text: &str) -> Self {
        let path = std::env::temp_dir().join(format!("kith-fw-{}-{name}.yaml", std::process::id()));
        std::fs::write(&path, text).unwrap();
        Self(path)
    }
}

impl Drop for TempConfig {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn fw_show_prints_the_ruleset_and_errors_with_locations() {
    let home = workspace().join("examples/home.yaml");
    let out = Command::new(KITH)
        .args(["fw", "show"])
        .arg(&home)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let golden =
        std::fs::read_to_string(workspace().join("crates/kith-fw/tests/golden/examples-home.nft"))
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), golden);

    let broken = TempConfig::new("show-broken", &broken_firewall());
    let out = Command::new(KITH)
        .args(["fw", "show"])
        .arg(&broken.0)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = broken_firewall()
        .lines()
        .position(|l| l.contains("src-address-list: nosuch"))
        .unwrap();
    // The error points at the rule (its first key, `- chain: INPUT_WAN`).
    let want = format!(
        "{}:{}:9: error: src-address-list: address list nosuch does not exist",
        broken.0.display(),
        line - 1
    );
    assert!(stderr.contains(&want), "want {want}\ngot {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn fw_apply_replaces_the_ruleset_and_a_failed_apply_keeps_it() {
    require_root_and_nft();
    let ns = TestNetns::new("kith-fw-cli").unwrap();
    let nft = Nft::in_netns(ns.name());
    let v1 = TempConfig::new("apply-v1", V1);
    let apply = |file: &Path, extra: &[&str]| {
        Command::new("ip")
            .args(["netns", "exec", ns.name(), KITH, "fw", "apply"])
            .args(extra)
            .arg(file)
            .output()
            .unwrap()
    };
    let out = apply(&v1.0, &["--check"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing changed"));
    assert_eq!(
        nft.list_table(FILTER_TABLE).unwrap(),
        None,
        "--check changes nothing"
    );

    let out = apply(&v1.0, &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("firewall applied, 4 rules"),
        "{out:?}"
    );
    let applied = nft.list_ruleset().unwrap();
    assert!(applied.contains("comment \"OpenVPN\""), "{applied}");

    let broken = TempConfig::new("apply-broken", &broken_firewall());
    let out = apply(&broken.0, &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("the ruleset in place stays"),
        "{out:?}"
    );
    assert_eq!(nft.list_ruleset().unwrap(), applied);

    // Applying the same config again changes nothing.
    assert!(apply(&v1.0, &[]).status.success());
    assert_eq!(nft.list_ruleset().unwrap(), applied);
}

#[test]
fn kith_run_applies_the_firewall_at_start_and_on_each_reload() {
    require_root_and_nft();
    let lab = Lab::new("fw-supervisor").unwrap();
    lab.add_node("r", NodeKind::Router).unwrap();
    lab.add_node("h", NodeKind::Host).unwrap();
    lab.add_link(
        ("r", "eth0", None),
        ("h", "eth0", Some("10.9.0.2/24".parse().unwrap())),
    )
    .unwrap();
    let config = lab.write_router_config("r", V1).unwrap();
    lab.start_router("r", Path::new(KITH), &config, &[])
        .unwrap();
    let nft = Nft::in_netns(&lab.namespace("r").unwrap());
    let filter = || {
        nft.list_table(FILTER_TABLE)
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    let wait = |what: &str, cond: &dyn Fn() -> bool| {
        if let Err(e) = lab.wait_until(what, WAIT, cond) {
            panic!(
                "{e}\n--- ruleset ---\n{}\n--- kith run ---\n{}",
                filter(),
                lab.log("r", "kith")
            );
        }
    };
    wait("the firewall applied at start", &|| {
        filter().contains("comment \"OpenVPN\"")
    });
    assert!(lab.log("r", "kith").contains("firewall applied: 4 rules"));

    let reload = || {
        let out = Command::new(KITH)
            .args(["reload", "--run-dir"])
            .arg(lab.node_dir("r").unwrap().join("run"))
            .output()
            .unwrap();
        assert!(out.status.success(), "kith reload: {out:?}");
    };
    std::fs::write(&config, v2()).unwrap();
    reload();
    wait("the new firewall applied on reload", &|| {
        filter().contains("comment \"PPTP\"")
    });
    let running = nft.list_ruleset().unwrap();

    std::fs::write(&config, broken_firewall()).unwrap();
    reload();
    wait("the broken firewall refused", &|| {
        lab.log("r", "kith").contains("firewall not applied")
    });
    let log = lab.log("r", "kith");
    assert!(log.contains("address list nosuch does not exist"), "{log}");
    assert_eq!(
        nft.list_ruleset().unwrap(),
        running,
        "the running ruleset stays"
    );
}
