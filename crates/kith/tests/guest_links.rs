//! `kith run` creates VLANs and bonds — in a QEMU guest, since this machine's kernel
//! has neither 8021q nor bonding (DESIGN, "Kernel"). The guest boots Debian's kernel
//! with three NICs, runs `kith run` on a config with an active-backup bond of two NICs,
//! a VLAN on the third NIC (a label too long for a kernel name, as in the scenario) and
//! a VLAN on the bond, each with an address; then reloads a config without the VLAN on
//! the bond. The kernel's own tables (/proc/net/vlan/config, /proc/net/bonding) are the
//! evidence. Needs qemu, busybox-static, cpio and the guest kernel
//! (`sudo ci/install-deps.sh`); fails, never skips, without them.

use std::time::Duration;

use kith_lab::guest::Guest;
use kith_net::kernel_name;

const KITH: &str = env!("CARGO_BIN_EXE_kith");

const CONFIG: &str = "\
interface:
  ethernet:
    - name: ether1
      default-name: eth0
    - name: ether2
      default-name: eth1
    - name: ether3
      default-name: eth2
  bonding:
    - name: bond-lan
      slaves: [ether2, ether3]
      mode: active-backup
  vlan:
    - name: vlan832-orange-internet
      vlan-id: 832
      interface: ether1
    - name: vlan100
      vlan-id: 100
      interface: bond-lan
ip:
  address:
    - address: 203.0.113.10/24
      interface: vlan832-orange-internet
    - address: 192.168.100.1/24
      interface: vlan100
    - address: 10.0.0.1/24
      interface: bond-lan
";

/// The same without the VLAN on the bond and its address.
fn reloaded() -> String {
    CONFIG
        .replace(
            "    - name: vlan100\n      vlan-id: 100\n      interface: bond-lan\n",
            "",
        )
        .replace(
            "    - address: 192.168.100.1/24\n      interface: vlan100\n",
            "",
        )
}

/// Waits (at most 30 s) until the shell condition `test` holds, then prints the
/// kernel's view of VLANs, bonds, addresses and links under `== title: ...`.
fn wait_and_show(title: &str, test: &str) -> String {
    format!(
        "i=0\n\
         while [ $i -lt 300 ]; do if {test}; then break; fi; sleep 0.1; i=$((i+1)); done\n\
         echo '== {title}: vlan'; cat /proc/net/vlan/config\n\
         echo '== {title}: bond'; cat /proc/net/bonding/* 2>&1\n\
         echo '== {title}: addresses'; ip -o -4 addr show\n\
         echo '== {title}: links'; ip -o link show\n\
         echo '== {title}: end'\n"
    )
}

#[test]
fn kith_run_creates_vlans_and_bonds_in_a_guest() {
    let vlan832 = kernel_name("vlan832-orange-internet");
    let bond = kernel_name("bond-lan");
    // Applied once vlan100 exists; the reload follows at once, while routed (started
    // after the addresses) is likely still starting: a SIGHUP before its handler is
    // installed would kill it (the supervisor waits until it is ready).
    let up = wait_and_show(
        "applied",
        "grep -q '^vlan100 ' /proc/net/vlan/config 2>/dev/null && \
         ip -o -4 addr show | grep -q ' 10.0.0.1/24 '",
    );
    // Reloaded once vlan100 is gone and the bond has picked its active port (which
    // needs the bond and its ports up, with carrier).
    let after = wait_and_show(
        "reloaded",
        &format!(
            "! grep -q '^vlan100 ' /proc/net/vlan/config 2>/dev/null && \\
             grep -q 'Currently Active Slave: eth' /proc/net/bonding/{bond} 2>/dev/null"
        ),
    );
    let script = format!(
        "kith check /etc/kith/config.yaml || echo 'CHECK FAILED'\n\
         kith run --config /etc/kith/config.yaml --run-dir /run/kith >/tmp/kith.log 2>&1 &\n\
         pid=$!\n\
         {up}\
         cp /etc/kith/reloaded.yaml /etc/kith/config.yaml\n\
         kill -HUP $pid\n\
         {after}\
         kill -TERM $pid; wait $pid\n\
         echo '== kith log'; cat /tmp/kith.log\n"
    );
    let out = Guest::new(3, &script)
        .binary("kith", KITH)
        .module("e1000")
        .module("8021q")
        .module_with("bonding", "max_bonds=0")
        .file("/etc/kith/config.yaml", CONFIG)
        .file("/etc/kith/reloaded.yaml", &reloaded())
        .run(Duration::from_secs(240))
        .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{out}");
    let section = |title: &str| -> String {
        let start = out
            .find(&format!("== {title}"))
            .unwrap_or_else(|| panic!("no `{title}` in the console:\n{out}"));
        let end = out[start + 1..]
            .find("\n== ")
            .map_or(out.len(), |e| start + 1 + e);
        out[start..end].to_string()
    };
    assert!(!out.contains("CHECK FAILED"), "kith check refused:\n{out}");
    assert!(!out.contains("insmod"), "a module did not load:\n{out}");

    // Applied: both VLANs on their parents, the bond with both NICs, the addresses.
    let vlans = section("applied: vlan");
    let row = |name: &str, id: &str, parent: &str| {
        vlans
            .lines()
            .any(|l| l.split('|').map(str::trim).collect::<Vec<_>>() == [name, id, parent])
    };
    assert!(row(&vlan832, "832", "eth0"), "VLAN 832 on eth0:\n{out}");
    assert!(row("vlan100", "100", &bond), "VLAN 100 on the bond:\n{out}");
    let bonding = section("applied: bond");
    assert!(
        bonding.contains("Bonding Mode: fault-tolerance (active-backup)"),
        "bond mode:\n{out}"
    );
    for nic in ["eth1", "eth2"] {
        assert!(
            bonding.contains(&format!("Slave Interface: {nic}")),
            "{nic} in the bond:\n{out}"
        );
    }
    let addrs = section("applied: addresses");
    for (dev, addr) in [
        (vlan832.as_str(), "203.0.113.10/24"),
        ("vlan100", "192.168.100.1/24"),
        (bond.as_str(), "10.0.0.1/24"),
    ] {
        assert!(
            addrs
                .lines()
                .any(|l| l.contains(&format!(" {dev} ")) && l.contains(addr)),
            "{addr} on {dev}:\n{out}"
        );
    }

    let links = section("applied: links");
    for dev in [vlan832.as_str(), "vlan100", bond.as_str()] {
        assert!(
            links.lines().any(|l| {
                (l.contains(&format!(" {dev}@")) || l.contains(&format!(" {dev}:")))
                    && l.contains(",UP")
            }),
            "{dev} is up:\n{out}"
        );
    }

    // Reloaded: the VLAN on the bond is gone, the rest stays.
    let vlans = section("reloaded: vlan");
    assert!(
        !vlans.contains("vlan100"),
        "vlan100 left after reload:\n{out}"
    );
    assert!(vlans.contains(&vlan832), "VLAN 832 kept:\n{out}");
    let bonding = section("reloaded: bond");
    assert!(
        bonding.contains("Currently Active Slave: eth1")
            || bonding.contains("Currently Active Slave: eth2"),
        "the bond has an active port:\n{out}"
    );
    assert!(
        bonding.contains("Slave Interface: eth2"),
        "bond kept:\n{out}"
    );
    let log = section("kith log");
    assert!(
        !log.contains("restarting in"),
        "a daemon died during the reload:\n{out}"
    );
}
