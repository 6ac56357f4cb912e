//! Links against the real kernel, each test in its own network namespace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{eventually, ns};
use kith_net::{BondConfig, BondMode, LinkRef, Net, NetError, OperState, kernel_name};

#[test]
fn veth_pair_up_mtu_rename_delete() {
    let ns = ns("veth");
    ns.run(|| async {
        let net = Net::new().unwrap();
        let a = net.create_veth("va", "vb").await.unwrap();
        let b = net.link_index("vb").await.unwrap().expect("peer exists");
        let va = net.link("va").await.unwrap().expect("va exists");
        assert_eq!(va.index, a);
        assert_eq!(va.kind.as_deref(), Some("veth"));
        assert_eq!(va.parent, Some(b), "a veth's link is its peer");
        assert_eq!(va.mtu, 1500);
        assert!(!va.up);
        assert!(va.mac.is_some());
        assert_eq!(va.master, None);

        net.set_up("va").await.unwrap();
        net.set_up(LinkRef::Index(b)).await.unwrap();
        let va = eventually("carrier on va", || async {
            net.link("va")
                .await
                .unwrap()
                .filter(|l| l.carrier && l.oper_state == OperState::Up)
        })
        .await;
        assert!(va.up);

        net.set_mtu("va", 1400).await.unwrap();
        assert_eq!(net.link(a).await.unwrap().unwrap().mtu, 1400);
        let e = net.set_mtu("va", 10).await.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot set mtu of va to 10: Invalid argument (os error 22)"),
            "{e}"
        );

        net.set_down("va").await.unwrap();
        assert!(!net.link("va").await.unwrap().unwrap().up);
        net.rename("va", "vc").await.unwrap();
        assert_eq!(net.link_index("va").await.unwrap(), None);
        assert_eq!(net.link_index("vc").await.unwrap(), Some(a));

        let names: Vec<String> = net
            .links()
            .await
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect();
        assert_eq!(names, ["lo", "vb", "vc"]);

        net.delete_link("vc").await.unwrap();
        assert_eq!(net.link_index("vc").await.unwrap(), None);
        assert_eq!(
            net.link_index("vb").await.unwrap(),
            None,
            "the peer goes too"
        );
    });
    // Cross-check with iproute2: nothing left but lo.
    let out = ns.ip(&["-o", "link", "show"]).unwrap();
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn errors_say_what_failed() {
    let ns = ns("errors");
    ns.run(|| async {
        let net = Net::new().unwrap();
        net.create_veth("dup0", "dup1").await.unwrap();
        let e = net.create_veth("dup0", "dup2").await.unwrap_err();
        assert!(e.is_exists());
        assert!(
            e.to_string()
                .starts_with("cannot create veth dup0: File exists (os error 17)"),
            "{e}"
        );

        let e = net.set_up("nope").await.unwrap_err();
        assert!(matches!(e, NetError::LinkNotFound { .. }));
        assert_eq!(
            e.to_string(),
            "cannot set nope up: no such interface `nope`"
        );
        assert!(e.is_not_found());

        let e = net.delete_link(4242).await.unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot delete interface ifindex 4242: No such device"),
            "{e}"
        );

        let e = net
            .create_veth("vlan832-orange-internet", "x")
            .await
            .unwrap_err();
        assert!(e.to_string().contains("longer than 15 bytes"), "{e}");
        let e = net.create_bridge("a b").await.unwrap_err();
        assert!(e.to_string().contains("not a valid interface name"), "{e}");
        assert_eq!(net.link("").await.unwrap(), None);
    });
}

#[test]
fn altnames_and_kernel_names() {
    let ns = ns("altname");
    ns.run(|| async {
        let net = Net::new().unwrap();
        let label = "vlan832-orange-internet";
        let name = kernel_name(label);
        assert_ne!(name, label);
        let index = net.create_veth(&name, "peer0").await.unwrap();
        net.add_altname(&name, label).await.unwrap();

        let by_label = net.link(label).await.unwrap().expect("found by altname");
        assert_eq!(by_label.index, index);
        assert_eq!(by_label.name, name);
        assert_eq!(by_label.altnames, [label]);
        assert!(by_label.has_name(label) && by_label.has_name(&name));
        assert_eq!(net.link_index(label).await.unwrap(), Some(index));
        assert_eq!(
            net.link_by_altname(label).await.unwrap().map(|l| l.index),
            Some(index)
        );
        assert_eq!(
            net.link_by_altname(&name).await.unwrap(),
            None,
            "a kernel name is no altname"
        );

        // Labels work wherever a link is named.
        net.set_mtu(label, 1450).await.unwrap();
        net.set_up(label).await.unwrap();
        let l = net.link(index).await.unwrap().unwrap();
        assert_eq!((l.mtu, l.up), (1450, true));

        // Short altnames too, and the longest the kernel takes.
        net.add_altname(index, "wan").await.unwrap();
        let longest = "x".repeat(127);
        net.add_altname(index, &longest).await.unwrap();
        assert_eq!(net.link_index(&longest).await.unwrap(), Some(index));
        let e = net.add_altname(index, &"y".repeat(128)).await.unwrap_err();
        assert!(e.to_string().contains("1 to 127 bytes"), "{e}");
        let e = net.add_altname("peer0", "wan").await.unwrap_err();
        assert!(e.is_exists(), "{e}");

        net.del_altname(index, "wan").await.unwrap();
        net.del_altname(index, &longest).await.unwrap();
        assert_eq!(net.link(index).await.unwrap().unwrap().altnames, [label]);
        assert_eq!(net.link_index("wan").await.unwrap(), None);
    });
    let out = ns.ip(&["link", "show", "vlan832-orange-internet"]).unwrap();
    assert!(out.contains("altname vlan832-orange-internet"), "{out}");
}

#[test]
fn bridge_with_a_port_and_macvlan() {
    let ns = ns("bridge");
    ns.run(|| async {
        let net = Net::new().unwrap();
        let br = net.create_bridge("br0").await.unwrap();
        assert_eq!(
            net.link(br).await.unwrap().unwrap().kind.as_deref(),
            Some("bridge")
        );
        net.create_veth("p0", "p1").await.unwrap();
        net.set_master("p0", "br0").await.unwrap();
        assert_eq!(net.link("p0").await.unwrap().unwrap().master, Some(br));
        net.set_up("br0").await.unwrap();
        net.set_up("p0").await.unwrap();

        let mv = net.create_macvlan("mv0", "p1").await.unwrap();
        let mv = net.link(mv).await.unwrap().unwrap();
        assert_eq!(mv.kind.as_deref(), Some("macvlan"));
        assert_eq!(mv.parent, net.link_index("p1").await.unwrap());
    });
    let ports = ns.ip(&["-o", "link", "show", "master", "br0"]).unwrap();
    assert!(ports.contains(": p0@p1:"), "{ports}");
    let details = ns.ip(&["-d", "link", "show", "mv0"]).unwrap();
    assert!(details.contains("macvlan mode bridge"), "{details}");
    ns.run(|| async {
        let net = Net::new().unwrap();
        net.set_nomaster("p0").await.unwrap();
        assert_eq!(net.link("p0").await.unwrap().unwrap().master, None);
    });
}

/// VLAN, bonding and dummy links: this machine's kernel lacks them (DESIGN, "Kernel
/// features this machine lacks"), so the refusal must be reported clearly. On a kernel
/// that has them, the links must be created as asked; `link_kinds_guest.rs` proves that
/// in a QEMU guest with Debian's kernel.
#[test]
fn vlan_bond_dummy_report_missing_kernel_support() {
    let ns = ns("unsupported");
    ns.run(|| async {
        let net = Net::new().unwrap();
        net.create_veth("eth0", "eth1").await.unwrap();

        match net.create_vlan("v832", "eth0", 832).await {
            Err(e) => {
                assert!(e.is_unsupported(), "{e}");
                assert_eq!(
                    e.to_string(),
                    "cannot create vlan v832: kernel does not support link kind `vlan` (module 8021q missing?)"
                );
            }
            Ok(index) => {
                let l = net.link(index).await.unwrap().unwrap();
                assert_eq!(l.kind.as_deref(), Some("vlan"));
                assert_eq!(l.parent, net.link_index("eth0").await.unwrap());
            }
        }

        match net.create_bond("bond0", &BondConfig::new(BondMode::ActiveBackup)).await {
            Err(e) => assert_eq!(
                e.to_string(),
                "cannot create bond bond0: kernel does not support link kind `bond` (module bonding missing?)"
            ),
            Ok(index) => {
                let l = net.link(index).await.unwrap().unwrap();
                assert_eq!(l.kind.as_deref(), Some("bond"));
            }
        }

        match net.create_dummy("dummy0").await {
            Err(e) => assert_eq!(
                e.to_string(),
                "cannot create dummy dummy0: kernel does not support link kind `dummy` (module dummy missing?)"
            ),
            Ok(index) => {
                let l = net.link(index).await.unwrap().unwrap();
                assert_eq!(l.kind.as_deref(), Some("dummy"));
            }
        }

        // Checked before anything is sent, whatever the kernel.
        for bad in [0, 4095] {
            let e = net.create_vlan("vbad", "eth0", bad).await.unwrap_err();
            assert!(e.to_string().contains("outside 1..=4094"), "{e}");
        }
        let e = net.create_vlan("v5", "nope", 5).await.unwrap_err();
        assert_eq!(e.to_string(), "cannot create vlan v5: no such interface `nope`");
    });
}
