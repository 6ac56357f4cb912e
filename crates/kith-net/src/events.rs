//! Link, address and route change notifications (netlink multicast).
//!
//! DESIGN, principle 2: daemons never talk to each other to agree on routes; they watch
//! the kernel. [`subscribe`] is how they watch.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use futures::channel::mpsc::UnboundedReceiver;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use rtnetlink::MulticastGroup;
use rtnetlink::sys::{AsyncSocket, SocketAddr};

use crate::address::AddressInfo;
use crate::link::LinkInfo;
use crate::route::RouteInfo;
use crate::{NetError, Result};

/// What to watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventGroup {
    /// Links appearing, changing, disappearing (`RTNLGRP_LINK`).
    Link,
    /// IPv4 addresses (`RTNLGRP_IPV4_IFADDR`).
    Ipv4Address,
    /// IPv6 addresses (`RTNLGRP_IPV6_IFADDR`).
    Ipv6Address,
    /// IPv4 routes (`RTNLGRP_IPV4_ROUTE`).
    Ipv4Route,
    /// IPv6 routes (`RTNLGRP_IPV6_ROUTE`).
    Ipv6Route,
}

impl EventGroup {
    /// Every group.
    pub const ALL: [EventGroup; 5] = [
        EventGroup::Link,
        EventGroup::Ipv4Address,
        EventGroup::Ipv6Address,
        EventGroup::Ipv4Route,
        EventGroup::Ipv6Route,
    ];

    fn multicast(self) -> MulticastGroup {
        match self {
            EventGroup::Link => MulticastGroup::Link,
            EventGroup::Ipv4Address => MulticastGroup::Ipv4Ifaddr,
            EventGroup::Ipv6Address => MulticastGroup::Ipv6Ifaddr,
            EventGroup::Ipv4Route => MulticastGroup::Ipv4Route,
            EventGroup::Ipv6Route => MulticastGroup::Ipv6Route,
        }
    }
}

/// A change in the kernel's network state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A link was created (or moved into this namespace).
    LinkAdded(LinkInfo),
    /// A link changed (state, carrier, MTU, name, master, altnames, ...).
    LinkChanged(LinkInfo),
    /// A link was deleted (or moved out of this namespace).
    LinkRemoved {
        /// Its index.
        index: u32,
        /// Its kernel name.
        name: String,
    },
    /// An address was added, or an existing one updated (IPv6 DAD, lifetimes).
    AddressAdded(AddressInfo),
    /// An address was removed.
    AddressRemoved(AddressInfo),
    /// A route was added or replaced.
    RouteAdded(RouteInfo),
    /// A route was removed.
    RouteRemoved(RouteInfo),
    /// The socket buffer overflowed and events were lost: re-read the state you track
    /// (links, addresses, routes) from the kernel.
    Overrun,
}

/// Maps one notification to an event; `None` for messages that are no event of ours
/// (bridge-family link messages, cached routes, other message types).
pub fn event_from_message(msg: &NetlinkMessage<RouteNetlinkMessage>) -> Option<NetEvent> {
    match &msg.payload {
        NetlinkPayload::Overrun(_) => Some(NetEvent::Overrun),
        NetlinkPayload::InnerMessage(inner) => match inner {
            RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l)
                if l.header.interface_family != AddressFamily::Unspec =>
            {
                // AF_BRIDGE port notifications and the like: not the link itself.
                None
            }
            RouteNetlinkMessage::NewLink(l) => {
                let info = LinkInfo::from_message(l);
                // The kernel announces a new device with a change mask of all ones
                // (rtnl_configure_link / register_netdevice); changes carry what changed.
                if l.header.change_mask.bits() == u32::MAX {
                    Some(NetEvent::LinkAdded(info))
                } else {
                    Some(NetEvent::LinkChanged(info))
                }
            }
            RouteNetlinkMessage::DelLink(l) => {
                let info = LinkInfo::from_message(l);
                Some(NetEvent::LinkRemoved {
                    index: info.index,
                    name: info.name,
                })
            }
            RouteNetlinkMessage::NewAddress(a) => {
                AddressInfo::from_message(a).map(NetEvent::AddressAdded)
            }
            RouteNetlinkMessage::DelAddress(a) => {
                AddressInfo::from_message(a).map(NetEvent::AddressRemoved)
            }
            RouteNetlinkMessage::NewRoute(r) => {
                RouteInfo::from_message(r).map(NetEvent::RouteAdded)
            }
            RouteNetlinkMessage::DelRoute(r) => {
                RouteInfo::from_message(r).map(NetEvent::RouteRemoved)
            }
            _ => None,
        },
        _ => None,
    }
}

/// A stream of [`NetEvent`]s; its socket closes when it is dropped.
#[derive(Debug)]
pub struct EventStream {
    messages: UnboundedReceiver<(NetlinkMessage<RouteNetlinkMessage>, SocketAddr)>,
    connection: tokio::task::JoinHandle<()>,
}

impl Stream for EventStream {
    type Item = NetEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<NetEvent>> {
        loop {
            match Pin::new(&mut self.messages).poll_next(cx) {
                Poll::Ready(Some((msg, _))) => {
                    if let Some(event) = event_from_message(&msg) {
                        return Poll::Ready(Some(event));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

/// Watches `groups` in the calling thread's network namespace.
///
/// The socket is subscribed when this returns: every change made afterwards is seen.
/// Must be called inside a tokio runtime (the socket's task is spawned on it).
pub fn subscribe(groups: &[EventGroup]) -> Result<EventStream> {
    const OP: &str = "subscribe to netlink events";
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::Protocol {
        op: OP.into(),
        reason: "subscribe must be called from inside a tokio runtime".into(),
    })?;
    let groups: Vec<MulticastGroup> = groups.iter().map(|g| g.multicast()).collect();
    let (mut connection, _handle, messages) =
        rtnetlink::new_multicast_connection(&groups).map_err(|e| NetError::io(OP, e))?;
    // A larger buffer makes overruns rarer during bursts (a full BGP table); the kernel
    // caps it at net.core.rmem_max, which is fine.
    if let Err(e) = connection
        .socket_mut()
        .socket_mut()
        .set_rx_buf_sz(4usize << 20)
    {
        tracing::debug!("cannot enlarge netlink event buffer: {e}");
    }
    let connection = runtime.spawn(connection);
    Ok(EventStream {
        messages,
        connection,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
    use netlink_packet_route::route::RouteMessage;

    fn link_msg(
        change: u32,
        family: AddressFamily,
        del: bool,
    ) -> NetlinkMessage<RouteNetlinkMessage> {
        let mut l = LinkMessage::default();
        l.header.index = 4;
        l.header.interface_family = family;
        l.header.change_mask = LinkFlags::from_bits_retain(change);
        l.attributes.push(LinkAttribute::IfName("veth0".into()));
        NetlinkMessage::from(if del {
            RouteNetlinkMessage::DelLink(l)
        } else {
            RouteNetlinkMessage::NewLink(l)
        })
    }

    #[test]
    fn link_events() {
        let added = event_from_message(&link_msg(u32::MAX, AddressFamily::Unspec, false));
        assert!(
            matches!(added, Some(NetEvent::LinkAdded(ref l)) if l.name == "veth0" && l.index == 4)
        );
        let changed = event_from_message(&link_msg(1, AddressFamily::Unspec, false));
        assert!(matches!(changed, Some(NetEvent::LinkChanged(_))));
        let removed = event_from_message(&link_msg(0, AddressFamily::Unspec, true));
        assert_eq!(
            removed,
            Some(NetEvent::LinkRemoved {
                index: 4,
                name: "veth0".into()
            })
        );
        assert_eq!(
            event_from_message(&link_msg(0, AddressFamily::Bridge, true)),
            None
        );
    }

    #[test]
    fn cloned_routes_are_not_events() {
        let mut r = RouteMessage::default();
        r.header.address_family = AddressFamily::Inet6;
        r.header.flags = netlink_packet_route::route::RouteFlags::Cloned;
        assert_eq!(
            event_from_message(&NetlinkMessage::from(RouteNetlinkMessage::NewRoute(r))),
            None
        );
    }
}
