//! Kernel parameters under `/proc/sys`.
//!
//! `/proc/sys/net` belongs to the network namespace of the thread that opens the file, so
//! these functions are synchronous on purpose: an async file API would open the file on a
//! blocking-pool thread, possibly in another namespace.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{NetError, Result};

const ROOT: &str = "/proc/sys";

/// Resolves `key` (`net/ipv4/ip_forward`, or the dotted `net.ipv4.ip_forward` when it
/// holds no `/`) to a path under `/proc/sys`, refusing anything that would leave it.
fn sysctl_path(key: &str, op: &str) -> Result<PathBuf> {
    let rel = if key.contains('/') {
        key.to_string()
    } else {
        key.replace('.', "/")
    };
    let ok = rel
        .split('/')
        .all(|part| !part.is_empty() && part != "." && part != "..");
    if !ok {
        return Err(NetError::invalid(
            op,
            format!("`{key}` is not a sysctl key (like net/ipv4/ip_forward)"),
        ));
    }
    Ok(Path::new(ROOT).join(rel))
}

/// Writes `value` to the sysctl `key` (`net/ipv4/conf/all/rp_filter`, or dotted when no
/// interface name with a dot is involved).
pub fn sysctl_set(key: &str, value: &str) -> Result<()> {
    let op = format!("set sysctl {key} to {value}");
    let path = sysctl_path(key, &op)?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| NetError::io(&op, e))?;
    file.write_all(value.as_bytes())
        .map_err(|e| NetError::io(&op, e))
}

/// Reads the sysctl `key`, without the trailing newline.
pub fn sysctl_get(key: &str) -> Result<String> {
    let op = format!("read sysctl {key}");
    let path = sysctl_path(key, &op)?;
    let text = std::fs::read_to_string(&path).map_err(|e| NetError::io(&op, e))?;
    Ok(text.trim_end_matches('\n').to_string())
}

fn bool_value(on: bool) -> &'static str {
    if on { "1" } else { "0" }
}

fn ipv6_present() -> bool {
    Path::new(ROOT).join("net/ipv6").exists()
}

/// Checks an interface name used in a sysctl path: `all`, `default` or a kernel name
/// (not a Kith label: altnames have no sysctl directory).
fn check_conf_name(name: &str, op: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(NetError::invalid(
            op,
            format!("`{name}` is not an interface name (or all / default)"),
        ));
    }
    Ok(())
}

/// Turns IPv4 and IPv6 forwarding on or off (`net/ipv4/ip_forward`,
/// `net/ipv6/conf/all/forwarding`). Turning IPv6 off on a kernel without IPv6 succeeds.
pub fn set_forwarding(v4: bool, v6: bool) -> Result<()> {
    sysctl_set("net/ipv4/ip_forward", bool_value(v4))?;
    if v6 || ipv6_present() {
        sysctl_set("net/ipv6/conf/all/forwarding", bool_value(v6))?;
    }
    Ok(())
}

/// Sets reverse path filtering of `ifname_or_all` (a kernel name, `all` or `default`):
/// 0 off, 1 strict, 2 loose. The kernel uses the larger of `all` and the interface's.
pub fn set_rp_filter(ifname_or_all: &str, mode: u8) -> Result<()> {
    let op = format!("set rp_filter of {ifname_or_all} to {mode}");
    check_conf_name(ifname_or_all, &op)?;
    if mode > 2 {
        return Err(NetError::invalid(
            op,
            "rp_filter is 0 (off), 1 (strict) or 2 (loose)",
        ));
    }
    sysctl_set(
        &format!("net/ipv4/conf/{ifname_or_all}/rp_filter"),
        &mode.to_string(),
    )
}

/// Sets `ignore_routes_with_linkdown` for IPv4 and (when present) IPv6 on
/// `ifname_or_all` (a kernel name, `all` or `default`): with it, routes over a link
/// without carrier are not used (DESIGN, "Kernel routes").
pub fn set_ignore_routes_with_linkdown(ifname_or_all: &str, on: bool) -> Result<()> {
    let op = format!("set ignore_routes_with_linkdown of {ifname_or_all}");
    check_conf_name(ifname_or_all, &op)?;
    sysctl_set(
        &format!("net/ipv4/conf/{ifname_or_all}/ignore_routes_with_linkdown"),
        bool_value(on),
    )?;
    if ipv6_present() {
        sysctl_set(
            &format!("net/ipv6/conf/{ifname_or_all}/ignore_routes_with_linkdown"),
            bool_value(on),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn keys_map_to_proc_sys() {
        assert_eq!(
            sysctl_path("net/ipv4/ip_forward", "x").unwrap(),
            Path::new("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            sysctl_path("net.ipv4.ip_forward", "x").unwrap(),
            Path::new("/proc/sys/net/ipv4/ip_forward")
        );
        // A slash key keeps dots (interface names like ether1.832).
        assert_eq!(
            sysctl_path("net/ipv4/conf/ether1.832/rp_filter", "x").unwrap(),
            Path::new("/proc/sys/net/ipv4/conf/ether1.832/rp_filter")
        );
        for bad in [
            "",
            "/etc/passwd",
            "net/../../etc/passwd",
            "net/./x",
            "..",
            "net//x",
            "net/x/",
        ] {
            assert!(sysctl_path(bad, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_arguments_are_refused() {
        let e = set_rp_filter("all", 3).unwrap_err();
        assert!(e.to_string().contains("rp_filter is 0"), "{e}");
        assert!(set_rp_filter("../x", 1).is_err());
        assert!(set_ignore_routes_with_linkdown("", true).is_err());
    }

    #[test]
    fn reading_works_without_privileges() {
        let v = sysctl_get("net/ipv4/ip_forward").unwrap();
        assert!(v == "0" || v == "1", "{v}");
        let e = sysctl_get("net/ipv4/no_such_key").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot read sysctl net/ipv4/no_such_key: "),
            "{e}"
        );
    }
}
