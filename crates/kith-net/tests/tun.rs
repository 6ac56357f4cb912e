//! Tun devices: creation, packets both ways, persistence.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;

use common::{ns, within};
use kith_net::{Net, TunDevice};

/// The IPv4 header checksum (RFC 791).
fn ip_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4/UDP packet (UDP checksum 0: none, allowed for IPv4).
fn udp_packet(src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 20 + 8 + payload.len();
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
    p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let sum = ip_checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

#[test]
fn tun_carries_packets_both_ways() {
    let ns = ns("tun");
    ns.run(|| async {
        let net = Net::new().unwrap();
        let tun = net.create_tun("tun0", false).unwrap();
        assert_eq!(tun.name(), "tun0");
        let link = net.link("tun0").await.unwrap().expect("tun0 exists");
        assert_eq!(link.kind.as_deref(), Some("tun"));
        assert_eq!(link.mac, None, "a tun has no Ethernet address");
        let tun = tun.into_async().unwrap();

        net.add_address("tun0", "10.9.0.1/24".parse().unwrap())
            .await
            .unwrap();
        net.set_up("tun0").await.unwrap();

        // Out: a datagram to 10.9.0.2 leaves through tun0 and is read from the fd.
        let socket = tokio::net::UdpSocket::bind("10.9.0.1:0").await.unwrap();
        let port = socket.local_addr().unwrap().port();
        socket.send_to(b"hello", "10.9.0.2:9999").await.unwrap();
        let mut buf = vec![0u8; 2048];
        let packet = within("the datagram on tun0", async {
            loop {
                let n = tun.recv(&mut buf).await.unwrap();
                let p = &buf[..n];
                // Skip anything else the kernel sends (IPv6 router solicitations, ...).
                if n >= 28 && p[0] >> 4 == 4 && p[9] == 17 {
                    return p.to_vec();
                }
            }
        })
        .await;
        assert_eq!(&packet[12..16], &[10, 9, 0, 1]);
        assert_eq!(&packet[16..20], &[10, 9, 0, 2]);
        assert_eq!(u16::from_be_bytes([packet[22], packet[23]]), 9999);
        assert_eq!(&packet[28..], b"hello");

        // In: a datagram written to the fd is delivered to the socket.
        let reply = udp_packet(
            Ipv4Addr::new(10, 9, 0, 2),
            9999,
            Ipv4Addr::new(10, 9, 0, 1),
            port,
            b"world",
        );
        assert_eq!(tun.send(&reply).await.unwrap(), reply.len());
        let (n, from) = within("the reply on the socket", socket.recv_from(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"world");
        assert_eq!(from, "10.9.0.2:9999".parse().unwrap());

        drop(tun);
        assert_eq!(
            net.link_index("tun0").await.unwrap(),
            None,
            "a non-persistent tun goes with its fd"
        );
    });
}

#[test]
fn persistent_tun_outlives_its_fd() {
    let ns = ns("tunpersist");
    ns.run(|| async {
        let net = Net::new().unwrap();
        let tun = TunDevice::create("tunp", true).unwrap();
        drop(tun);
        let link = net
            .link("tunp")
            .await
            .unwrap()
            .expect("persistent tun stays");
        assert_eq!(link.kind.as_deref(), Some("tun"));
        // Attach again, make it non-persistent: it goes when closed.
        let again = TunDevice::create("tunp", false).unwrap();
        again.set_persist(false).unwrap();
        drop(again);
        assert_eq!(net.link_index("tunp").await.unwrap(), None);

        let tun = TunDevice::create("tunq", true).unwrap();
        drop(tun);
        net.delete_link("tunq").await.unwrap();
        assert_eq!(net.link_index("tunq").await.unwrap(), None);

        let e = TunDevice::create("tun with space", false).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("cannot create tun tun with space: "),
            "{e}"
        );
    });
    let details = ns.ip(&["-o", "link"]).unwrap();
    assert!(
        !details.contains("tunp") && !details.contains("tunq"),
        "{details}"
    );
}
