//! Shared by the integration tests: they need root and iproute2, and FAIL
//! (never skip) when those are missing.

#![allow(dead_code)]

use std::process::Command;

/// Panics with what is missing unless we are root with `ip` and `ping`.
pub fn require_root() {
    let euid = nix::unistd::geteuid();
    assert!(
        euid.is_root(),
        "kith-lab tests need root (euid 0, for `ip netns`, veth and sysctls); running as euid {euid}. \
         Run them as root, e.g. `sudo -E cargo test -p kith-lab`."
    );
    for tool in ["ip", "ping"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        assert!(
            found,
            "kith-lab tests need `{tool}` in PATH (iproute2 / iputils-ping)"
        );
    }
}

/// Names from `ip netns list`.
pub fn netns_list() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// True while `pid` is a running (non-zombie) process.
pub fn pid_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("X");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

pub fn net(s: &str) -> Option<ipnet::IpNet> {
    Some(s.parse().expect("test address"))
}
