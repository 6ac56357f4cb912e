//! The `kith lab` functions: up --detach, status, exec, down.

mod common;

use std::path::Path;

use common::{netns_list, require_root};
use kith_lab::LabState;
use kith_lab::cli::{self, UpOptions};

#[test]
fn up_detached_then_status_exec_and_down() {
    require_root();
    let name = format!("kt{}", std::process::id());
    let opts = UpOptions {
        name: name.clone(),
        detach: true,
        start_routers: false,
        check: false,
    };
    // The kith binary is not started (start_routers: false); any path will do.
    cli::up(None, Path::new("/nonexistent/kith"), &opts).unwrap();

    let state = LabState::read(&name).unwrap().expect("state file");
    assert!(state.detached);
    let expected: Vec<String> = ["isp1", "isp2", "home", "remi", "nas-home", "nas-remi"]
        .iter()
        .map(|n| format!("{name}-{n}"))
        .collect();
    let got: Vec<String> = state.nodes.iter().map(|n| n.namespace.clone()).collect();
    assert_eq!(got, expected);
    let listed = netns_list();
    assert!(expected.iter().all(|n| listed.contains(n)), "{listed:?}");

    // A second `up` with the same name is refused while the first is up.
    let err = cli::up(None, Path::new("/nonexistent/kith"), &opts).unwrap_err();
    assert!(format!("{err:#}").contains("already up"), "{err:#}");

    cli::status(&name).unwrap();
    cli::list().unwrap();
    let argv = |words: &[&str]| words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
    assert_eq!(cli::exec(&name, "isp1", &argv(&["true"])).unwrap(), 0);
    assert_eq!(
        cli::exec(&name, "isp1", &argv(&["sh", "-c", "exit 5"])).unwrap(),
        5
    );
    // The ISP's routes are there: the command ran in its namespace.
    assert_eq!(
        cli::exec(
            &name,
            "isp1",
            &argv(&[
                "sh",
                "-c",
                "ip route | grep -q '198.51.100.0/24 via 10.255.12.2'"
            ])
        )
        .unwrap(),
        0
    );
    assert!(cli::exec(&name, "nowhere", &argv(&["true"])).is_err());
    assert!(cli::exec("no-such-lab", "isp1", &argv(&["true"])).is_err());

    cli::down(&name).unwrap();
    let listed = netns_list();
    assert!(expected.iter().all(|n| !listed.contains(n)), "{listed:?}");
    assert!(LabState::read(&name).unwrap().is_none());
    // Idempotent.
    cli::down(&name).unwrap();
    assert!(cli::status(&name).is_err());
}

#[test]
fn up_reports_topology_errors_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.yaml");
    std::fs::write(&path, "nodes:\n  - {name: a, kind: host}\nlink: []\n").unwrap();
    let opts = UpOptions {
        name: format!("ke{}", std::process::id()),
        detach: true,
        start_routers: false,
        check: false,
    };
    let err = cli::up(Some(&path), Path::new("/nonexistent/kith"), &opts).unwrap_err();
    let shown = format!("{err:#}");
    assert!(
        shown.contains(&format!("{}:3:1", path.display())),
        "{shown}"
    );
}

/// Not a test of its own: runs `kith lab up` in the foreground (the lab named
/// by KITH_LAB_TEST_NAME) for `up_in_the_foreground_tears_down_on_signal`.
#[test]
#[ignore = "helper process of up_in_the_foreground_tears_down_on_signal"]
fn helper_up_in_the_foreground() {
    let name = std::env::var("KITH_LAB_TEST_NAME").expect("KITH_LAB_TEST_NAME");
    let opts = UpOptions {
        name,
        detach: false,
        start_routers: false,
        check: false,
    };
    cli::up(None, Path::new("/nonexistent/kith"), &opts).unwrap();
    println!("HELPER DONE");
}

/// Starts the helper and waits until its lab is up; returns the child.
fn start_foreground_lab(name: &str) -> std::process::Child {
    use std::io::{BufRead, BufReader};
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "helper_up_in_the_foreground",
            "--ignored",
            "--nocapture",
        ])
        .env("KITH_LAB_TEST_NAME", name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut up = false;
    for line in lines.by_ref() {
        if line.unwrap().contains("is up; Ctrl-C tears it down") {
            up = true;
            break;
        }
    }
    assert!(up, "the foreground lab never came up");
    // Keep draining its output so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the foreground lab did not exit");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
fn up_in_the_foreground_tears_down_on_signal() {
    require_root();
    let name = format!("kf{}", std::process::id());
    let namespaces = |state: &LabState| -> Vec<String> {
        state.nodes.iter().map(|n| n.namespace.clone()).collect()
    };

    // SIGTERM to the foreground `up`.
    let mut child = start_foreground_lab(&name);
    let state = LabState::read(&name).unwrap().expect("state file");
    assert!(!state.detached);
    assert_eq!(state.owner_pid, child.id() as i32);
    let names = namespaces(&state);
    assert_eq!(names.len(), 6);
    assert!(names.iter().all(|n| netns_list().contains(n)));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let listed = netns_list();
    assert!(names.iter().all(|n| !listed.contains(n)), "{listed:?}");
    assert!(LabState::read(&name).unwrap().is_none());

    // `down` from elsewhere asks the foreground `up` to tear down.
    let mut child = start_foreground_lab(&name);
    cli::down(&name).unwrap();
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status}");
    let listed = netns_list();
    assert!(names.iter().all(|n| !listed.contains(n)), "{listed:?}");
    assert!(LabState::read(&name).unwrap().is_none());
}
