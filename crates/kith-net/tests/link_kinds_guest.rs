//! VLAN, bond and dummy links against a kernel that has them: this machine's lacks the
//! modules (DESIGN, "Kernel"), so `link_kinds_in_a_qemu_guest` boots Debian's kernel in
//! QEMU (kith_lab::guest) with two NICs and runs this very test binary there, whose
//! `link_kinds_in_the_guest` test creates each kind in the guest, checks the kernel's
//! view and deletes them. Needs qemu, busybox-static, cpio and the guest kernel (`sudo
//! ci/install-deps.sh`); fails, never skips, without them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use kith_lab::guest::Guest;
use kith_net::{BondConfig, BondMode, Net};

#[test]
fn link_kinds_in_a_qemu_guest() {
    let me = std::env::current_exe().unwrap();
    let out = Guest::new(
        2,
        "/bin/link_kinds_guest --ignored --exact link_kinds_in_the_guest --nocapture 2>&1",
    )
    .binary("link_kinds_guest", me)
    .module("e1000")
    .module("8021q")
    .module_with("bonding", "max_bonds=0")
    .module_with("dummy", "numdummies=0")
    .run(Duration::from_secs(240))
    .unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{out}");
    assert!(
        out.contains("test link_kinds_in_the_guest ... ok")
            && out.contains("test result: ok. 1 passed"),
        "the test failed in the guest:\n{out}"
    );
}

/// Runs inside the guest only (the host kernel would refuse every kind).
#[test]
#[ignore = "runs inside the QEMU guest started by link_kinds_in_a_qemu_guest"]
fn link_kinds_in_the_guest() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let net = Net::new().unwrap();
        let eth0 = net.link_index("eth0").await.unwrap().expect("eth0");

        let v = net.create_vlan("v832", "eth0", 832).await.unwrap();
        let l = net.link(v).await.unwrap().unwrap();
        assert_eq!(l.kind.as_deref(), Some("vlan"));
        assert_eq!(l.parent, Some(eth0));
        let vlans = std::fs::read_to_string("/proc/net/vlan/config").unwrap();
        assert!(
            vlans.lines().any(|r| {
                r.split('|').map(str::trim).collect::<Vec<_>>() == ["v832", "832", "eth0"]
            }),
            "{vlans}"
        );

        let b = net
            .create_bond("bond7", &BondConfig::new(BondMode::ActiveBackup))
            .await
            .unwrap();
        assert_eq!(
            net.link(b).await.unwrap().unwrap().kind.as_deref(),
            Some("bond")
        );
        net.set_master("eth1", "bond7").await.unwrap();
        assert_eq!(net.link("eth1").await.unwrap().unwrap().master, Some(b));
        let bond = std::fs::read_to_string("/proc/net/bonding/bond7").unwrap();
        assert!(
            bond.contains("Bonding Mode: fault-tolerance (active-backup)"),
            "{bond}"
        );
        assert!(bond.contains("Slave Interface: eth1"), "{bond}");

        let d = net.create_dummy("dummy3").await.unwrap();
        assert_eq!(
            net.link(d).await.unwrap().unwrap().kind.as_deref(),
            Some("dummy")
        );
        net.set_up("dummy3").await.unwrap();
        assert!(net.link("dummy3").await.unwrap().unwrap().up);

        for name in ["v832", "bond7", "dummy3"] {
            net.delete_link(name).await.unwrap();
            assert!(
                net.link_index(name).await.unwrap().is_none(),
                "{name} deleted"
            );
        }
    });
}
