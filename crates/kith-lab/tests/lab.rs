//! The Lab builder against the real kernel: namespaces, veths, processes, cleanup.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{net, netns_list, pid_alive, require_root};
use kith_lab::{Error, Lab, NodeKind, cleanup_stale};

/// host a (10.0.1.2) - r - host b (10.0.2.2)
fn three_nodes(tag: &str) -> Lab {
    let lab = Lab::new(tag).expect("lab");
    lab.add_node("a", NodeKind::Host).unwrap();
    lab.add_node("r", NodeKind::Router).unwrap();
    lab.add_node("b", NodeKind::Host).unwrap();
    lab.add_link(
        ("a", "eth0", net("10.0.1.2/24")),
        ("r", "eth0", net("10.0.1.1/24")),
    )
    .unwrap();
    lab.add_link(
        ("r", "eth1", net("10.0.2.1/24")),
        ("b", "eth0", net("10.0.2.2/24")),
    )
    .unwrap();
    lab.sh("a", "ip route add default via 10.0.1.1").unwrap();
    lab.sh("b", "ip route add default via 10.0.2.1").unwrap();
    lab
}

#[test]
fn three_nodes_ping_across_a_router() {
    require_root();
    let lab = three_nodes("three_nodes_ping_across_a_router");
    assert!(lab.ping("a", "10.0.2.2", 2), "a cannot ping b through r");
    assert!(lab.ping("b", "10.0.1.2", 1), "b cannot ping a through r");
    // The router forwards; the host does not.
    let fwd = lab
        .exec_ok("r", &["cat", "/proc/sys/net/ipv4/ip_forward"])
        .unwrap();
    assert_eq!(fwd.trim(), "1");
    let fwd = lab
        .exec_ok("a", &["cat", "/proc/sys/net/ipv4/ip_forward"])
        .unwrap();
    assert_eq!(fwd.trim(), "0");
    // Interfaces got the names asked for, in the right namespaces.
    let links = lab.exec_ok("r", &["ip", "-br", "link"]).unwrap();
    assert!(
        links.contains("eth0@") && links.contains("eth1@"),
        "{links}"
    );
    assert!(!lab.ping("a", "10.9.9.9", 1));
    assert!(!lab.ping("a", "not-an-address", 1));
}

#[test]
fn link_cut_stops_ping_and_restore_brings_it_back() {
    require_root();
    let lab = three_nodes("link_cut_stops_ping_and_restore_brings_it_back");
    lab.wait_ping("a", "10.0.2.2", Duration::from_secs(10))
        .unwrap();
    lab.set_link_up("r", "eth1", false).unwrap();
    assert!(!lab.ping("a", "10.0.2.2", 2), "ping crossed a cut link");
    lab.set_link_up("r", "eth1", true).unwrap();
    // The connected route comes back with the link; the host's default route
    // never left (its own link stayed up).
    lab.wait_ping("a", "10.0.2.2", Duration::from_secs(10))
        .expect("ping back after restoring the link");
}

#[test]
fn drop_kills_processes_and_deletes_namespaces() {
    require_root();
    let lab = three_nodes("drop_kills_processes_and_deletes_namespaces");
    // A process that ignores SIGTERM: drop must SIGKILL it.
    let stubborn = lab
        .spawn(
            "r",
            "stubborn",
            &["sh", "-c", "trap '' TERM; echo started; exec sleep 600"],
            &[],
        )
        .unwrap();
    let polite = lab.spawn("b", "polite", &["sleep", "600"], &[]).unwrap();
    lab.wait_until("stubborn to start", Duration::from_secs(10), || {
        lab.log("r", "stubborn").contains("started")
    })
    .unwrap();
    let names = lab.namespaces();
    let workdir = lab.workdir();
    assert_eq!(names.len(), 3);
    let listed = netns_list();
    for n in &names {
        assert!(listed.contains(n), "{n} missing from ip netns list");
    }
    assert!(pid_alive(stubborn.as_raw()) && pid_alive(polite.as_raw()));
    let t0 = Instant::now();
    drop(lab);
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "drop took {:?}",
        t0.elapsed()
    );
    let listed = netns_list();
    for n in &names {
        assert!(!listed.contains(n), "{n} survived the drop");
    }
    assert!(!pid_alive(stubborn.as_raw()), "stubborn process survived");
    assert!(!pid_alive(polite.as_raw()), "polite process survived");
    assert!(!workdir.exists(), "work dir survived");
}

#[test]
fn panic_inside_a_test_still_cleans_up() {
    require_root();
    let seen: Arc<Mutex<(Vec<String>, i32)>> = Arc::default();
    let inner = seen.clone();
    let result = std::panic::catch_unwind(move || {
        let lab = Lab::new("panic_inside_a_test_still_cleans_up").unwrap();
        lab.add_node("x", NodeKind::Host).unwrap();
        lab.add_node("y", NodeKind::Isp).unwrap();
        lab.add_link(("x", "eth0", None), ("y", "eth0", None))
            .unwrap();
        let pid = lab.spawn("x", "sleeper", &["sleep", "600"], &[]).unwrap();
        *inner.lock().unwrap() = (lab.namespaces(), pid.as_raw());
        panic!("a test failing with a lab inside");
    });
    assert!(result.is_err(), "the closure was meant to panic");
    let (names, pid) = seen.lock().unwrap().clone();
    assert_eq!(names.len(), 2);
    let listed = netns_list();
    for n in &names {
        assert!(!listed.contains(n), "{n} survived the panic");
    }
    assert!(!pid_alive(pid), "process {pid} survived the panic");
}

#[test]
fn exec_is_bounded_and_reports_failures() {
    require_root();
    let lab = Lab::new("exec_is_bounded_and_reports_failures").unwrap();
    lab.add_node("h", NodeKind::Host).unwrap();

    let t0 = Instant::now();
    let err = lab
        .exec_timeout("h", &["sleep", "30"], Duration::from_millis(300))
        .unwrap_err();
    assert!(matches!(err, Error::CommandTimeout { .. }), "{err}");
    assert!(t0.elapsed() < Duration::from_secs(5));

    let err = lab
        .exec_ok("h", &["sh", "-c", "echo oops >&2; exit 3"])
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("exit status 3") && msg.contains("oops"),
        "{msg}"
    );
    assert!(msg.contains("sh -c"), "{msg}");

    let out = lab.exec("h", &["sh", "-c", "exit 4"]).unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(lab.exec_ok("h", &["echo", "hi"]).unwrap(), "hi\n");
    // Commands run inside the namespace: only lo there.
    let links = lab.exec_ok("h", &["ip", "-o", "link"]).unwrap();
    assert_eq!(links.lines().count(), 1, "{links}");

    assert!(matches!(
        lab.exec("nope", &["true"]),
        Err(Error::UnknownNode(_))
    ));
    let empty: [&str; 0] = [];
    assert!(lab.exec("h", &empty).is_err());

    lab.set_exec_timeout(Duration::from_millis(200));
    assert!(lab.exec("h", &["sleep", "5"]).is_err());
}

#[test]
fn spawn_logs_and_stop() {
    require_root();
    let lab = Lab::new("spawn_logs_and_stop").unwrap();
    lab.add_node("h", NodeKind::Host).unwrap();
    let pid = lab
        .spawn(
            "h",
            "talker",
            &[
                "sh",
                "-c",
                "echo out $GREETING; echo err >&2; exec sleep 600",
            ],
            &[("GREETING", "hello")],
        )
        .unwrap();
    assert_eq!(lab.pid("h", "talker"), Some(pid));
    lab.wait_until("talker to log", Duration::from_secs(10), || {
        let log = lab.log("h", "talker");
        log.contains("out hello") && log.contains("err")
    })
    .unwrap();
    assert!(lab.log_path("h", "talker").ends_with("h-talker.log"));
    assert!(lab.is_running("h", "talker"));
    // Its own process group.
    let pgid = nix::unistd::getpgid(Some(pid)).unwrap();
    assert_eq!(pgid, pid);
    // The same name twice is refused while it runs.
    assert!(lab.spawn("h", "talker", &["true"], &[]).is_err());

    let status = lab.stop("h", "talker").unwrap().expect("status");
    assert!(!status.success());
    assert!(!pid_alive(pid.as_raw()));
    assert!(matches!(
        lab.stop("h", "talker"),
        Err(Error::UnknownProcess { .. })
    ));

    // A process that exits by itself is seen as stopped.
    lab.spawn("h", "short", &["true"], &[]).unwrap();
    lab.wait_until("short to exit", Duration::from_secs(10), || {
        !lab.is_running("h", "short")
    })
    .unwrap();
    assert!(lab.exit_status("h", "short").unwrap().success());
    // And the name can be used again.
    lab.spawn("h", "short", &["sleep", "600"], &[]).unwrap();
    assert!(lab.is_running("h", "short"));
}

#[test]
fn wait_until_gives_up_with_the_description() {
    let t0 = Instant::now();
    let mut polls = 0;
    let err = kith_lab::wait_until("the impossible", Duration::from_millis(350), || {
        polls += 1;
        false
    })
    .unwrap_err();
    assert!(err.to_string().contains("the impossible"), "{err}");
    assert!((1..=5).contains(&polls), "{polls} polls");
    assert!(t0.elapsed() < Duration::from_secs(2));
    kith_lab::wait_until("at once", Duration::from_secs(1), || true).unwrap();
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    require_root();
    let lab = Lab::new("bad_input_is_an_error_not_a_panic").unwrap();
    lab.add_node("h", NodeKind::Host).unwrap();
    lab.add_node("g", NodeKind::Host).unwrap();
    assert!(lab.add_node("h", NodeKind::Host).is_err(), "duplicate node");
    assert!(lab.add_node("Bad Name", NodeKind::Host).is_err());
    assert!(lab.add_node("", NodeKind::Host).is_err());
    assert!(
        lab.add_link(("h", "eth0", None), ("zz", "eth0", None))
            .is_err()
    );
    assert!(
        lab.add_link(("h", "much-too-long-ifname", None), ("g", "eth0", None))
            .is_err()
    );
    assert!(
        lab.add_link(("h", "a/b", None), ("g", "eth0", None))
            .is_err()
    );
    lab.add_link(("h", "eth0", None), ("g", "eth0", None))
        .unwrap();
    assert!(
        lab.add_link(("h", "eth0", None), ("g", "eth1", None))
            .is_err()
    );
    assert!(lab.set_link_up("h", "nope0", false).is_err());
    assert!(lab.set_link_up("zz", "eth0", false).is_err());
    assert!(lab.spawn("zz", "p", &["true"], &[]).is_err());
    assert!(lab.spawn("h", "bad/name", &["true"], &[]).is_err());
    assert!(lab.stop("h", "never-started").is_err());
    assert!(Lab::named("Not_Valid", "t").is_err());
    // Still usable after all that.
    lab.add_address("h", "eth0", "10.7.0.1/24".parse().unwrap())
        .unwrap();
    lab.add_address("g", "eth0", "10.7.0.2/24".parse().unwrap())
        .unwrap();
    lab.add_address("g", "eth0", "fd00:7::2/64".parse().unwrap())
        .unwrap();
    lab.add_address("h", "eth0", "fd00:7::1/64".parse().unwrap())
        .unwrap();
    assert!(lab.ping("h", "10.7.0.2", 1));
    assert!(lab.ping("h", "fd00:7::2", 1));
}

#[test]
fn two_labs_in_parallel_do_not_collide() {
    require_root();
    // The same node names, interface names and addresses in two labs at once.
    let run = |tag: &'static str| {
        std::thread::spawn(move || {
            let lab = three_nodes(tag);
            let ok = lab.ping("a", "10.0.2.2", 3);
            (lab.namespaces(), ok)
        })
    };
    let one = run("two_labs_in_parallel_do_not_collide-1");
    let two = run("two_labs_in_parallel_do_not_collide-2");
    let (ns1, ok1) = one.join().unwrap();
    let (ns2, ok2) = two.join().unwrap();
    assert!(ok1 && ok2, "ping failed in a parallel lab");
    for n in &ns1 {
        assert!(!ns2.contains(n), "labs share namespace {n}");
    }
    let listed = netns_list();
    for n in ns1.iter().chain(&ns2) {
        assert!(!listed.contains(n), "{n} survived");
    }
}

/// Not a test of its own: `cleanup_stale_removes_labs_of_dead_owners` runs the
/// test binary again with this one, which builds a lab, reports it, and aborts
/// (no drop, no cleanup) when its stdin closes.
#[test]
#[ignore = "helper process of cleanup_stale_removes_labs_of_dead_owners"]
fn helper_abandon_a_lab() {
    let lab = Lab::new("helper_abandon_a_lab").unwrap();
    lab.add_node("p", NodeKind::Host).unwrap();
    lab.add_node("q", NodeKind::Router).unwrap();
    lab.add_link(("p", "eth0", None), ("q", "eth0", None))
        .unwrap();
    let pid = lab.spawn("q", "sleeper", &["sleep", "600"], &[]).unwrap();
    println!(
        "ABANDONED {} {} {}",
        lab.name(),
        pid.as_raw(),
        lab.namespaces().join(",")
    );
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    std::process::abort();
}

#[test]
fn cleanup_stale_removes_labs_of_dead_owners() {
    require_root();
    let exe = std::env::current_exe().unwrap();
    let mut helper = Command::new(exe)
        .args([
            "--exact",
            "helper_abandon_a_lab",
            "--ignored",
            "--nocapture",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = helper.stdout.take().unwrap();
    let mut report = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("ABANDONED ") {
            report = Some(rest.to_owned());
            break;
        }
    }
    let report = report.expect("the helper reported its lab");
    let mut words = report.split_whitespace();
    let name = words.next().unwrap().to_owned();
    let pid: i32 = words.next().unwrap().parse().unwrap();
    let names: Vec<String> = words
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let listed = netns_list();
    for n in &names {
        assert!(listed.contains(n), "{n} not created");
    }
    assert!(pid_alive(pid));

    drop(helper.stdin.take()); // the helper aborts: no drop, nothing cleaned
    let status = helper.wait().unwrap();
    assert!(!status.success(), "the helper was meant to abort");

    // Another test's Lab::new may clean it up first; either way it must go.
    cleanup_stale().unwrap();
    let listed = netns_list();
    for n in &names {
        assert!(!listed.contains(n), "{n} survived cleanup_stale");
    }
    kith_lab::wait_until("the sleeper to die", Duration::from_secs(5), || {
        !pid_alive(pid)
    })
    .unwrap();
    assert!(!kith_lab::LabState::path_of(&name).exists());
}
