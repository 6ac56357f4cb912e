//! `kith run` in a lab namespace: restarts a killed daemon, rejects a bad reload while
//! keeping the running config, applies a good reload, stops cleanly on SIGTERM.
//! Needs root (network namespaces); fails with a clear message otherwise.

use std::path::Path;
use std::time::Duration;

use kith_lab::{Lab, NodeKind};

const KITH: &str = env!("CARGO_BIN_EXE_kith");
const WAIT: Duration = Duration::from_secs(30);

const GOOD: &str = "\
interface:
  ethernet:
    - name: lan-to-host
      default-name: eth0
ip:
  address:
    - address: 10.9.0.1/24
      interface: lan-to-host
  route:
    - dst-address: 10.77.0.0/16
      gateway: 10.9.0.2
      distance: 3
";

/// A typo (`adress`) and an undefined interface: two errors.
const BROKEN: &str = "\
interface:
  ethernet:
    - name: lan-to-host
      default-name: eth0
ip:
  address:
    - adress: 10.9.0.5/24
      interface: lan-to-host
    - address: 10.9.0.6/24
      interface: nowhere
";

const CHANGED: &str = "\
interface:
  ethernet:
    - name: lan-to-host
      default-name: eth0
ip:
  address:
    - address: 10.9.0.3/24
      interface: lan-to-host
  route:
    - dst-address: 10.78.0.0/16
      gateway: 10.9.0.2
";

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "this test needs root (CAP_NET_ADMIN) to create network namespaces; run it as root (sudo ci/test.sh)"
    );
}

/// One router `r` (eth0) linked to host `h` (10.9.0.2/24), `kith run` started in `r`.
fn router_lab(tag: &str) -> (Lab, std::path::PathBuf) {
    require_root();
    let lab = Lab::new(tag).expect("create lab");
    lab.add_node("r", NodeKind::Router).expect("node r");
    lab.add_node("h", NodeKind::Host).expect("node h");
    lab.add_link(
        ("r", "eth0", None),
        ("h", "eth0", Some("10.9.0.2/24".parse().unwrap())),
    )
    .expect("link");
    let config = lab.write_router_config("r", GOOD).expect("config");
    lab.start_router("r", Path::new(KITH), &config, &[])
        .expect("start kith run");
    (lab, config)
}

fn run_dir(lab: &Lab) -> std::path::PathBuf {
    lab.node_dir("r").expect("node dir").join("run")
}

fn routes(lab: &Lab) -> String {
    lab.exec_ok("r", &["ip", "route", "show", "proto", "static"])
        .unwrap_or_default()
}

/// Pids that `kith run` logged as `started routed (pid N)`, in order.
fn routed_pids(log: &str) -> Vec<u32> {
    log.lines()
        .filter_map(|l| l.split("started routed (pid ").nth(1))
        .filter_map(|rest| rest.split(')').next()?.parse().ok())
        .collect()
}

fn wait_log(lab: &Lab, what: &str, cond: impl Fn(&str) -> bool) {
    let result = lab.wait_until(what, WAIT, || cond(&lab.log("r", "kith")));
    if let Err(err) = result {
        panic!("{err}\n--- kith run log ---\n{}", lab.log("r", "kith"));
    }
}

#[test]
fn run_applies_the_config_and_restarts_a_killed_daemon() {
    let (lab, _config) = router_lab("sup-restart");
    lab.wait_ping("h", "10.9.0.1", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.log("r", "kith")));
    wait_log(&lab, "route 10.77.0.0/16 installed by routed", |_| {
        routes(&lab).contains("10.77.0.0/16 via 10.9.0.2")
    });
    let route = lab
        .exec_ok("r", &["ip", "route", "show", "10.77.0.0/16"])
        .unwrap();
    assert!(
        route.contains("10.77.0.0/16 via 10.9.0.2 dev eth0 proto static metric 49"),
        "distance 3 must be metric 3*16+1 = 49: {route}"
    );
    // The label is the link's altname.
    let link = lab
        .exec_ok("r", &["ip", "link", "show", "lan-to-host"])
        .unwrap();
    assert!(link.contains("altname lan-to-host"), "{link}");

    let first = routed_pids(&lab.log("r", "kith"));
    assert_eq!(first.len(), 1, "{}", lab.log("r", "kith"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first[0] as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill routed");
    wait_log(&lab, "routed restarted", |log| routed_pids(log).len() == 2);
    let log = lab.log("r", "kith");
    assert!(
        log.contains("routed was killed by SIGKILL") && log.contains("restarting in 1 s"),
        "the supervisor must say why and when: {log}"
    );
    let second = routed_pids(&log)[1];
    assert_ne!(second, first[0]);
    assert!(
        Path::new(&format!("/proc/{second}")).exists(),
        "new routed is alive"
    );
    // The restarted routed keeps the route in place.
    assert!(routes(&lab).contains("10.77.0.0/16 via 10.9.0.2"));
}

#[test]
fn bad_reload_is_rejected_and_good_reload_applies() {
    let (lab, config) = router_lab("sup-reload");
    lab.wait_ping("h", "10.9.0.1", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.log("r", "kith")));
    wait_log(&lab, "route installed", |_| {
        routes(&lab).contains("10.77.0.0/16")
    });
    let running = run_dir(&lab).join("running.yaml");
    let before = std::fs::read_to_string(&running).expect("running.yaml");

    std::fs::write(&config, BROKEN).unwrap();
    let reload = |lab: &Lab| {
        let out = std::process::Command::new(KITH)
            .args(["reload", "--run-dir"])
            .arg(run_dir(lab))
            .output()
            .expect("kith reload");
        assert!(out.status.success(), "kith reload: {out:?}");
    };
    reload(&lab);
    wait_log(&lab, "reload rejected", |log| {
        log.contains("reload rejected")
    });
    let log = lab.log("r", "kith");
    assert!(
        log.contains("unknown key `adress`"),
        "errors are logged: {log}"
    );
    assert!(
        log.contains("undefined interface `nowhere`"),
        "all errors are logged: {log}"
    );
    assert!(log.contains("keeping the running config"), "{log}");
    assert_eq!(std::fs::read_to_string(&running).unwrap(), before);
    assert!(lab.ping("h", "10.9.0.1", 2), "old address still there");
    assert!(
        routes(&lab).contains("10.77.0.0/16"),
        "old route still there"
    );
    assert_eq!(routed_pids(&log).len(), 1, "routed not restarted");

    std::fs::write(&config, CHANGED).unwrap();
    reload(&lab);
    wait_log(&lab, "reload accepted", |log| {
        log.contains("reload accepted")
    });
    lab.wait_ping("h", "10.9.0.3", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.log("r", "kith")));
    wait_log(&lab, "new route in, old route out", |_| {
        let r = routes(&lab);
        r.contains("10.78.0.0/16") && !r.contains("10.77.0.0/16")
    });
    let addrs = lab
        .exec_ok("r", &["ip", "-4", "addr", "show", "eth0"])
        .unwrap();
    assert!(
        !addrs.contains("10.9.0.1/24"),
        "removed address is gone: {addrs}"
    );
}

#[test]
fn sigterm_stops_daemons_and_removes_their_routes() {
    let (lab, _config) = router_lab("sup-stop");
    wait_log(&lab, "route installed", |_| {
        routes(&lab).contains("10.77.0.0/16")
    });
    let routed = routed_pids(&lab.log("r", "kith"))[0];
    let status = lab.stop("r", "kith").expect("stop").expect("exit status");
    assert!(
        status.success(),
        "kith run exits 0 on SIGTERM: {status:?}\n{}",
        lab.log("r", "kith")
    );
    assert!(
        !Path::new(&format!("/proc/{routed}")).exists(),
        "routed is gone"
    );
    assert_eq!(routes(&lab), "", "routed removed its routes at shutdown");
    assert!(lab.log("r", "kith").contains("stopped"));
}

#[test]
fn run_refuses_a_config_with_errors() {
    require_root();
    let dir = tempfile_dir();
    let config = dir.join("bad.yaml");
    std::fs::write(&config, BROKEN).unwrap();
    let out = std::process::Command::new(KITH)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .arg("--run-dir")
        .arg(dir.join("run"))
        .output()
        .expect("kith run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 error(s); not starting"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("kith-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A bridge with the NIC as its port carries the LAN address; a VLAN, which this kernel
/// cannot create (no 8021q), is reported clearly and the rest of the config still applies.
#[test]
fn run_creates_bridges_and_reports_what_the_kernel_lacks() {
    require_root();
    let lab = Lab::new("sup-bridge").expect("create lab");
    lab.add_node("r", NodeKind::Router).expect("node r");
    lab.add_node("h", NodeKind::Host).expect("node h");
    lab.add_link(
        ("r", "eth0", None),
        ("h", "eth0", Some("10.9.0.2/24".parse().unwrap())),
    )
    .expect("link");
    let config = "\
interface:
  ethernet:
    - name: lan-port
      default-name: eth0
  bridge:
    add:
      - name: bridge-lan-with-a-long-label
    port:
      - bridge: bridge-lan-with-a-long-label
        interface: lan-port
  vlan:
    - name: vlan832-orange-internet
      vlan-id: 832
      interface: lan-port
ip:
  address:
    - address: 10.9.0.1/24
      interface: bridge-lan-with-a-long-label
";
    let path = lab.write_router_config("r", config).expect("config");
    lab.start_router("r", Path::new(KITH), &path, &[])
        .expect("start kith run");
    lab.wait_ping("h", "10.9.0.1", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", lab.log("r", "kith")));
    let bridge = lab
        .exec_ok(
            "r",
            &["ip", "-d", "link", "show", "bridge-lan-with-a-long-label"],
        )
        .unwrap();
    assert!(bridge.contains("bridge"), "{bridge}");
    assert!(
        bridge.contains("altname bridge-lan-with-a-long-label"),
        "{bridge}"
    );
    let port = lab.exec_ok("r", &["ip", "link", "show", "eth0"]).unwrap();
    assert!(port.contains("master "), "eth0 is a bridge port: {port}");
    wait_log(&lab, "vlan error logged", |log| {
        log.contains("interface vlan832-orange-internet: cannot create vlan")
    });
    let log = lab.log("r", "kith");
    assert!(
        log.contains("8021q"),
        "the log names the missing module: {log}"
    );
}
