//! Addresses against the real kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::ns;
use ipnet::IpNet;
use kith_net::{LinkRef, Net, NetError};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

#[test]
fn add_list_delete_addresses() {
    let ns = ns("addr");
    ns.run(|| async {
        let n = Net::new().unwrap();
        let a = n.create_veth("a0", "a1").await.unwrap();
        n.add_address("a0", net("192.168.0.1/24")).await.unwrap();
        n.add_address("a0", net("192.168.0.2/24")).await.unwrap();
        n.add_address(a, net("2001:db8::1/64")).await.unwrap();

        let e = n
            .add_address("a0", net("192.168.0.1/24"))
            .await
            .unwrap_err();
        assert!(e.is_exists());
        assert!(
            e.to_string()
                .starts_with("cannot add address 192.168.0.1/24 to a0: File exists (os error 17)"),
            "{e}"
        );

        let mine = n.addresses(Some(LinkRef::Name("a0"))).await.unwrap();
        let nets: Vec<IpNet> = mine.iter().map(|a| a.address).collect();
        assert!(nets.contains(&net("192.168.0.1/24")), "{nets:?}");
        assert!(nets.contains(&net("192.168.0.2/24")), "{nets:?}");
        assert!(nets.contains(&net("2001:db8::1/64")), "{nets:?}");
        assert!(mine.iter().all(|x| x.index == a && x.peer.is_none()));
        let second = mine
            .iter()
            .find(|x| x.address == net("192.168.0.2/24"))
            .unwrap();
        assert_ne!(second.flags & kith_net::address::IFA_F_SECONDARY, 0);

        let all = n.addresses(None).await.unwrap();
        assert!(all.iter().any(|x| x.address == net("127.0.0.1/8")));

        n.del_address("a0", net("192.168.0.2/24")).await.unwrap();
        let e = n
            .del_address("a0", net("192.168.0.2/24"))
            .await
            .unwrap_err();
        assert!(matches!(e, NetError::AddressNotFound { .. }));
        assert_eq!(
            e.to_string(),
            "cannot remove address 192.168.0.2/24 from a0: address 192.168.0.2/24 is not on a0"
        );
        let e = n.add_address("zz", net("10.0.0.1/8")).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot add address 10.0.0.1/8 to zz: no such interface `zz`"
        );
    });
    let out = ns.ip(&["-o", "addr", "show", "dev", "a0"]).unwrap();
    assert!(
        out.contains("inet 192.168.0.1/24 brd 192.168.0.255"),
        "{out}"
    );
    assert!(!out.contains("inet 192.168.0.2/"), "{out}");
    assert!(out.contains("inet6 2001:db8::1/64"), "{out}");
}

#[test]
fn point_to_point_peer_address() {
    let ns = ns("peer");
    ns.run(|| async {
        let n = Net::new().unwrap();
        n.create_veth("friend1-1", "remote").await.unwrap();
        n.add_address_peer(
            "friend1-1",
            "172.16.10.1".parse().unwrap(),
            net("172.16.10.2/32"),
        )
        .await
        .unwrap();
        let addrs = n.addresses(Some("friend1-1".into())).await.unwrap();
        let p2p = addrs
            .iter()
            .find(|a| a.address == net("172.16.10.1/32"))
            .expect("peer address listed");
        assert_eq!(p2p.peer, Some(net("172.16.10.2/32")));

        let e = n
            .add_address_peer(
                "friend1-1",
                "172.16.10.1".parse().unwrap(),
                net("2001:db8::2/128"),
            )
            .await
            .unwrap_err();
        assert!(e.to_string().contains("different families"), "{e}");
    });
    let out = ns.ip(&["-o", "addr", "show", "dev", "friend1-1"]).unwrap();
    assert!(
        out.contains("inet 172.16.10.1 peer 172.16.10.2/32"),
        "{out}"
    );
    ns.run(|| async {
        let n = Net::new().unwrap();
        n.del_address("friend1-1", net("172.16.10.1/32"))
            .await
            .unwrap();
        assert!(
            n.addresses(Some("friend1-1".into()))
                .await
                .unwrap()
                .iter()
                .all(|a| !a.address.addr().is_ipv4())
        );
    });
}

#[test]
fn flush_keeps_ipv6_link_local() {
    let ns = ns("flush");
    ns.run(|| async {
        let n = Net::new().unwrap();
        n.create_veth("f0", "f1").await.unwrap();
        for a in [
            "10.1.0.1/24",
            "10.1.0.2/24",
            "10.2.0.1/16",
            "2001:db8:5::1/64",
            "fe80::5/64",
        ] {
            n.add_address("f0", net(a)).await.unwrap();
        }
        n.flush_addresses("f0").await.unwrap();
        let left: Vec<IpNet> = n
            .addresses(Some("f0".into()))
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.address)
            .collect();
        assert_eq!(left, [net("fe80::5/64")]);
        // Flushing an empty link is fine.
        n.flush_addresses("f1").await.unwrap();
    });
}
