//! Interface addresses (`ip address`).

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::link::LinkRef;
use crate::{Net, NetError, Result};

/// One address of one interface, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressInfo {
    /// Index of the interface holding the address.
    pub index: u32,
    /// The local address with its prefix length (`192.168.0.1/24`, or `172.16.10.1/32`
    /// for a point-to-point address).
    pub address: IpNet,
    /// The peer of a point-to-point address (`peer 172.16.10.2/32`).
    pub peer: Option<IpNet>,
    /// IPv4 label (`eth0:1`), when set.
    pub label: Option<String>,
    /// Scope (`RT_SCOPE_*`: 0 universe, 253 link, 254 host).
    pub scope: u8,
    /// `IFA_F_*` flags (secondary, permanent, tentative, ...).
    pub flags: u32,
}

/// `IFA_F_SECONDARY`.
pub const IFA_F_SECONDARY: u32 = 0x01;
/// `IFA_F_TENTATIVE`: IPv6 duplicate address detection still running.
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// `IFA_F_PERMANENT`: configured (not autoconfigured).
pub const IFA_F_PERMANENT: u32 = 0x80;

impl AddressInfo {
    /// The local address.
    pub fn ip(&self) -> IpAddr {
        self.address.addr()
    }

    /// Builds an [`AddressInfo`] from a kernel `RTM_NEWADDR`/`RTM_DELADDR` message;
    /// `None` for messages without an address (multicast/anycast entries).
    pub fn from_message(msg: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        let mut label = None;
        let mut flags = u32::from(msg.header.flags.bits());
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(ip) => local = Some(*ip),
                AddressAttribute::Address(ip) => address = Some(*ip),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = f.bits(),
                _ => {}
            }
        }
        let prefix = msg.header.prefix_len;
        let mine = local.or(address)?;
        let peer = match (local, address) {
            (Some(l), Some(a)) if l != a => IpNet::new(a, prefix).ok(),
            _ => None,
        };
        Some(AddressInfo {
            index: msg.header.index,
            address: IpNet::new(mine, prefix).ok()?,
            peer,
            label,
            scope: msg.header.scope.into(),
            flags,
        })
    }

    fn is_ipv6_link_local(&self) -> bool {
        matches!(self.address.addr(), IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80)
    }
}

/// The `RTM_NEWADDR`/`RTM_DELADDR` body for `local/prefix_len` on `index`, with an
/// optional point-to-point `peer` (then `prefix_len` is the peer's prefix).
pub fn address_message(
    index: u32,
    local: IpAddr,
    prefix_len: u8,
    peer: Option<IpAddr>,
) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = index;
    msg.header.prefix_len = prefix_len;
    match local {
        IpAddr::V4(v4) => {
            msg.header.family = AddressFamily::Inet;
            msg.attributes.push(AddressAttribute::Local(local));
            msg.attributes
                .push(AddressAttribute::Address(peer.unwrap_or(local)));
            if peer.is_none() && prefix_len < 31 {
                let host_bits = u32::MAX.checked_shr(u32::from(prefix_len)).unwrap_or(0);
                let brd = Ipv4Addr::from(u32::from(v4) | host_bits);
                msg.attributes.push(AddressAttribute::Broadcast(brd));
            }
        }
        IpAddr::V6(_) => {
            msg.header.family = AddressFamily::Inet6;
            match peer {
                Some(peer) => {
                    msg.attributes.push(AddressAttribute::Local(local));
                    msg.attributes.push(AddressAttribute::Address(peer));
                }
                None => msg.attributes.push(AddressAttribute::Address(local)),
            }
        }
    }
    msg
}

impl Net {
    /// Adds `address` (`192.168.0.1/24`) to `link`.
    pub async fn add_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: IpNet,
    ) -> Result<()> {
        let link = link.into();
        let op = format!("add address {address} to {link}");
        let index = self.resolve(link, &op).await?;
        let msg = address_message(index, address.addr(), address.prefix_len(), None);
        self.ack(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )
        .await
    }

    /// Adds a point-to-point address, like `ip addr add 172.16.10.1/32 peer
    /// 172.16.10.2/32 dev friend1-1`: `local` on `link`, `peer` reachable through it.
    pub async fn add_address_peer<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        local: IpAddr,
        peer: IpNet,
    ) -> Result<()> {
        let link = link.into();
        let op = format!("add address {local} peer {peer} to {link}");
        if local.is_ipv4() != peer.addr().is_ipv4() {
            return Err(NetError::invalid(
                op,
                "local and peer addresses are of different families",
            ));
        }
        let index = self.resolve(link, &op).await?;
        let msg = address_message(index, local, peer.prefix_len(), Some(peer.addr()));
        self.ack(
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )
        .await
    }

    /// Removes `address` (local address and prefix length, as added) from `link`.
    pub async fn del_address<'a>(
        &self,
        link: impl Into<LinkRef<'a>>,
        address: IpNet,
    ) -> Result<()> {
        let link = link.into();
        let op = format!("remove address {address} from {link}");
        let index = self.resolve(link, &op).await?;
        let found = self
            .addresses(Some(LinkRef::Index(index)))
            .await?
            .into_iter()
            .find(|a| a.address == address)
            .ok_or_else(|| NetError::AddressNotFound {
                op: op.clone(),
                address: address.to_string(),
                link: link.to_string(),
            })?;
        self.delete_address(&found, &op).await
    }

    async fn delete_address(&self, info: &AddressInfo, op: &str) -> Result<()> {
        let prefix = info.address.prefix_len();
        let msg = address_message(info.index, info.ip(), prefix, info.peer.map(|p| p.addr()));
        self.ack(RouteNetlinkMessage::DelAddress(msg), 0, op).await
    }

    /// The addresses of `link`, or of every interface with `None`.
    pub async fn addresses<'a>(&self, link: Option<LinkRef<'a>>) -> Result<Vec<AddressInfo>> {
        let (index, op) = match link {
            Some(link) => {
                let op = format!("list addresses of {link}");
                (Some(self.resolve(link, &op).await?), op)
            }
            None => (None, "list addresses".to_string()),
        };
        let answers = self
            .dump(
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
                &op,
            )
            .await?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => AddressInfo::from_message(a),
                _ => None,
            })
            .filter(|a| index.is_none_or(|i| a.index == i))
            .collect())
    }

    /// Removes every address of `link` except IPv6 link-local ones (`fe80::/10`, which
    /// IPv6 neighbour discovery needs).
    pub async fn flush_addresses<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let op = format!("flush addresses of {link}");
        let index = self.resolve(link, &op).await?;
        // Secondaries before primaries, so that deleting a primary does not promote or
        // remove secondaries under our feet.
        let mut addresses = self.addresses(Some(LinkRef::Index(index))).await?;
        addresses.sort_by_key(|a| a.flags & IFA_F_SECONDARY == 0);
        for address in addresses.iter().filter(|a| !a.is_ipv6_link_local()) {
            match self.delete_address(address, &op).await {
                // Already gone with its primary.
                Err(e) if e.is_not_found() => {}
                other => other?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use netlink_packet_core::{Emitable, Parseable};

    fn roundtrip(msg: &AddressMessage) -> AddressMessage {
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        AddressMessage::parse(buf.as_slice()).unwrap()
    }

    #[test]
    fn plain_ipv4_address() {
        let msg = roundtrip(&address_message(
            3,
            "192.168.0.1".parse().unwrap(),
            24,
            None,
        ));
        assert_eq!(msg.header.prefix_len, 24);
        assert_eq!(msg.header.family, AddressFamily::Inet);
        assert!(
            msg.attributes
                .contains(&AddressAttribute::Local("192.168.0.1".parse().unwrap()))
        );
        assert!(
            msg.attributes
                .contains(&AddressAttribute::Address("192.168.0.1".parse().unwrap()))
        );
        assert!(msg.attributes.contains(&AddressAttribute::Broadcast(
            "192.168.0.255".parse().unwrap()
        )));
        let info = AddressInfo::from_message(&msg).unwrap();
        assert_eq!(info.address, "192.168.0.1/24".parse::<IpNet>().unwrap());
        assert_eq!(info.peer, None);
        assert_eq!(info.index, 3);
    }

    #[test]
    fn peer_ipv4_address() {
        let msg = roundtrip(&address_message(
            5,
            "172.16.10.1".parse().unwrap(),
            32,
            Some("172.16.10.2".parse().unwrap()),
        ));
        assert!(
            msg.attributes
                .contains(&AddressAttribute::Local("172.16.10.1".parse().unwrap()))
        );
        assert!(
            msg.attributes
                .contains(&AddressAttribute::Address("172.16.10.2".parse().unwrap()))
        );
        assert!(
            !msg.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Broadcast(_)))
        );
        let info = AddressInfo::from_message(&msg).unwrap();
        assert_eq!(info.address, "172.16.10.1/32".parse::<IpNet>().unwrap());
        assert_eq!(info.peer, Some("172.16.10.2/32".parse().unwrap()));
    }

    #[test]
    fn ipv6_addresses() {
        let msg = roundtrip(&address_message(
            2,
            "2001:db8::1".parse().unwrap(),
            64,
            None,
        ));
        assert_eq!(msg.header.family, AddressFamily::Inet6);
        assert_eq!(
            msg.attributes,
            vec![AddressAttribute::Address("2001:db8::1".parse().unwrap())]
        );
        let info = AddressInfo::from_message(&msg).unwrap();
        assert_eq!(info.address, "2001:db8::1/64".parse::<IpNet>().unwrap());
        assert!(!info.is_ipv6_link_local());
        let ll =
            AddressInfo::from_message(&address_message(2, "fe80::1".parse().unwrap(), 64, None))
                .unwrap();
        assert!(ll.is_ipv6_link_local());
    }

    #[test]
    fn broadcast_of_small_prefixes() {
        let msg = address_message(1, "10.0.0.1".parse().unwrap(), 0, None);
        assert!(
            msg.attributes
                .contains(&AddressAttribute::Broadcast(Ipv4Addr::BROADCAST))
        );
        let msg = address_message(1, "10.0.0.1".parse().unwrap(), 31, None);
        assert!(
            !msg.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Broadcast(_)))
        );
    }
}
