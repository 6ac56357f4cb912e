//! Interface lookups: config labels to kernel links, gateways to the interface they are on.

use std::net::IpAddr;

use kith_net::{AddressInfo, LinkInfo, Net};

/// A kernel link as routed needs it: index and kernel name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Link {
    /// Interface index.
    pub index: u32,
    /// Kernel name.
    pub name: String,
}

/// A snapshot of the kernel's links and addresses, to resolve many names at once.
#[derive(Debug, Clone, Default)]
pub struct Interfaces {
    links: Vec<LinkInfo>,
    addresses: Vec<AddressInfo>,
}

impl Interfaces {
    /// Reads links and addresses from the kernel.
    pub async fn read(net: &Net) -> Result<Interfaces, kith_net::NetError> {
        Ok(Interfaces {
            links: net.links().await?,
            addresses: net.addresses(None).await?,
        })
    }

    /// Builds a snapshot from given links and addresses (tests).
    pub fn from_parts(links: Vec<LinkInfo>, addresses: Vec<AddressInfo>) -> Interfaces {
        Interfaces { links, addresses }
    }

    /// The link a config label names: its kernel name, its altname, or the kernel name
    /// `kith-net` derives from a long label.
    pub fn by_label(&self, label: &str) -> Option<Link> {
        let derived = kith_net::kernel_name(label);
        let found = self
            .links
            .iter()
            .find(|l| l.has_name(label))
            .or_else(|| self.links.iter().find(|l| l.name == derived))?;
        Some(Link {
            index: found.index,
            name: found.name.clone(),
        })
    }

    /// The link with this index.
    pub fn by_index(&self, index: u32) -> Option<Link> {
        self.links.iter().find(|l| l.index == index).map(|l| Link {
            index: l.index,
            name: l.name.clone(),
        })
    }

    /// The interface a gateway is reached on: the one whose address (or point-to-point
    /// peer) covers it, the longest prefix winning. `None` when no interface does, or
    /// when an IPv6 link-local gateway could be on several.
    pub fn for_gateway(&self, gateway: IpAddr) -> Option<Link> {
        let mut best: Option<(u8, u32)> = None;
        let mut tie = false;
        for a in &self.addresses {
            let net = match a.peer {
                Some(peer) if peer.contains(&gateway) => Some(peer),
                _ if a.address.contains(&gateway) && a.address.addr() != gateway => Some(a.address),
                _ => None,
            };
            let Some(net) = net else { continue };
            let len = net.prefix_len();
            match best {
                Some((l, index)) if l == len && index != a.index => tie = true,
                Some((l, _)) if l >= len => {}
                _ => {
                    best = Some((len, a.index));
                    tie = false;
                }
            }
        }
        let (_, index) = best?;
        let link_local = matches!(gateway, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80);
        if tie && link_local {
            return None;
        }
        self.by_index(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(index: u32, name: &str, altnames: &[&str]) -> LinkInfo {
        LinkInfo {
            index,
            name: name.into(),
            kind: None,
            mtu: 1500,
            up: true,
            oper_state: kith_net::OperState::Up,
            carrier: true,
            master: None,
            parent: None,
            altnames: altnames.iter().map(|s| s.to_string()).collect(),
            mac: None,
            flags: 0,
        }
    }

    fn addr(index: u32, address: &str, peer: Option<&str>) -> AddressInfo {
        AddressInfo {
            index,
            address: address.parse().unwrap(),
            peer: peer.map(|p| p.parse().unwrap()),
            label: None,
            scope: 0,
            flags: 0,
        }
    }

    fn sample() -> Interfaces {
        Interfaces::from_parts(
            vec![
                link(2, "eth0", &["ether1"]),
                link(3, "eth1", &["sfp-wan-sfr"]),
                link(4, "friend1-1", &[]),
                link(5, "eth2", &[]),
                link(
                    6,
                    kith_net::kernel_name("vlan832-orange-internet").as_str(),
                    &[],
                ),
            ],
            vec![
                addr(2, "203.0.113.10/24", None),
                addr(3, "198.51.100.10/24", None),
                addr(4, "172.16.10.1/32", Some("172.16.10.2/32")),
                addr(5, "10.0.0.1/8", None),
                addr(5, "10.1.0.1/16", None),
                addr(2, "fe80::1/64", None),
                addr(3, "fe80::2/64", None),
            ],
        )
    }

    #[test]
    fn labels_resolve_by_name_altname_or_derived_name() {
        let i = sample();
        assert_eq!(i.by_label("ether1").map(|l| l.name), Some("eth0".into()));
        assert_eq!(i.by_label("eth1").map(|l| l.index), Some(3));
        assert_eq!(i.by_label("friend1-1").map(|l| l.index), Some(4));
        assert_eq!(
            i.by_label("vlan832-orange-internet").map(|l| l.index),
            Some(6)
        );
        assert_eq!(i.by_label("nowhere"), None);
    }

    #[test]
    fn gateways_resolve_to_their_interface() {
        let i = sample();
        let on = |gw: &str| i.for_gateway(gw.parse().unwrap()).map(|l| l.name);
        assert_eq!(on("203.0.113.1"), Some("eth0".into()));
        assert_eq!(on("198.51.100.1"), Some("eth1".into()));
        assert_eq!(
            on("172.16.10.2"),
            Some("friend1-1".into()),
            "point-to-point peer"
        );
        assert_eq!(on("10.1.2.3"), Some("eth2".into()), "longest prefix");
        assert_eq!(on("10.200.0.1"), Some("eth2".into()));
        assert_eq!(on("192.0.2.1"), None);
        assert_eq!(on("203.0.113.10"), None, "our own address is no gateway");
        assert_eq!(
            on("fe80::9"),
            None,
            "link-local on two interfaces is ambiguous"
        );
    }
}
