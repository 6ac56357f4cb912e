//! `kith-net`: thin, typed, async wrappers over rtnetlink for Kith.
//!
//! * [`Net`] talks to the kernel of the network namespace it was created in: links
//!   ([`LinkInfo`], `create_veth`, `create_vlan`, ...), addresses ([`AddressInfo`]) and routes
//!   ([`Route`], [`RouteInfo`]).
//! * [`RouteBatch`] applies many route changes per system call (a full BGP table).
//! * [`kernel_name`] maps a RouterOS-style interface label of any length to a kernel name
//!   (the label itself goes on the link as its altname).
//! * [`sysctl`] reads and writes `/proc/sys` of the calling thread's namespace.
//! * [`subscribe`] streams link, address and route changes ([`NetEvent`]).
//! * [`TunDevice`] is a tun device opened through `/dev/net/tun`.
//! * [`testns::TestNetns`] gives tests (of this and other crates) a throwaway network
//!   namespace.
//!
//! Namespaces: a netlink socket, a tun device and a `/proc/sys/net` file belong to the
//! network namespace of the *thread* that opens them. Create a [`Net`], subscribe, open
//! tun devices and touch sysctls from a thread that is in the namespace you mean (for
//! tests, inside [`testns::TestNetns::run`]); never from `spawn_blocking` threads of a
//! runtime whose main thread switched namespaces.

pub mod address;
pub mod error;
pub mod events;
pub mod link;
pub mod naming;
pub mod route;
pub mod route_batch;
pub mod sysctl;
pub mod testns;
pub mod tun;

use futures::StreamExt;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::sys::AsyncSocket;

pub use address::AddressInfo;
pub use error::{NetError, Result};
pub use events::{EventGroup, EventStream, NetEvent, subscribe};
pub use link::{
    BondConfig, BondMode, LacpRate, LinkInfo, LinkRef, MacAddr, OperState, TransmitHashPolicy,
};
pub use naming::{is_valid_altname, is_valid_kernel_name, kernel_name};
pub use route::{
    IpFamily, NextHop, PROTO_BGP, PROTO_BOOT, PROTO_KERNEL, PROTO_STATIC, Route, RouteFilter,
    RouteInfo, RouteKind, RouteSource, TABLE_LOCAL, TABLE_MAIN, metric, metric_parts,
    multipath_route_message,
};
pub use route_batch::{RouteBatch, RouteChange, RouteChangeError};
pub use sysctl::{
    set_forwarding, set_ignore_routes_with_linkdown, set_rp_filter, sysctl_get, sysctl_set,
};
pub use tun::{AsyncTun, TunDevice};

/// Re-exports of the netlink crates this crate is built on, for callers that need a
/// message this crate does not wrap (see [`Net::handle`]).
pub mod raw {
    pub use netlink_packet_core;
    pub use netlink_packet_route;
    pub use rtnetlink;
}

/// A connection to the kernel's routing netlink (rtnetlink) of one network namespace.
///
/// Cheap to clone: clones share one socket. The socket's I/O runs on a task spawned on
/// the tokio runtime current when [`Net::new`] was called; it ends when the last clone is
/// dropped.
#[derive(Clone, Debug)]
pub struct Net {
    handle: rtnetlink::Handle,
}

impl Net {
    /// Opens a rtnetlink socket in the calling thread's network namespace and spawns its
    /// connection task on the current tokio runtime.
    ///
    /// Fails (instead of panicking) when called outside a tokio runtime.
    pub fn new() -> Result<Net> {
        const OP: &str = "open a rtnetlink connection";
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NetError::Protocol {
            op: OP.into(),
            reason: "Net::new must be called from inside a tokio runtime".into(),
        })?;
        let (mut connection, handle, _unsolicited) =
            rtnetlink::new_connection().map_err(|e| NetError::io(OP, e))?;
        let socket = connection.socket_mut().socket_mut();
        // Extended acks carry the kernel's own explanation ("Unknown device type");
        // capped acks keep error answers short. Both are optional: older kernels without
        // them still answer with an errno.
        if let Err(e) = socket.set_ext_ack(true) {
            tracing::debug!("netlink extended ack unavailable: {e}");
        }
        if let Err(e) = socket.set_cap_ack(true) {
            tracing::debug!("netlink capped ack unavailable: {e}");
        }
        runtime.spawn(connection);
        Ok(Net { handle })
    }

    /// The underlying rtnetlink handle, for requests this crate does not wrap.
    pub fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// Sends one request and collects the kernel's answer messages.
    ///
    /// `flags` are the netlink header flags (`NLM_F_REQUEST` is always added). An
    /// acknowledged request without data returns an empty vector; an error answer
    /// becomes [`NetError::Kernel`] worded with `op`.
    pub(crate) async fn request(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
        op: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.request_raw(message, flags, op)
            .await
            .map(|(out, _)| out)
    }

    /// Dumps a table (links, addresses, routes). A dump the kernel marks as interrupted
    /// (`NLM_F_DUMP_INTR`: the table changed meanwhile, the answer may be inconsistent)
    /// is retried.
    pub(crate) async fn dump(
        &self,
        message: RouteNetlinkMessage,
        op: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        const ATTEMPTS: usize = 10;
        for _ in 0..ATTEMPTS {
            let (out, interrupted) = self.request_raw(message.clone(), NLM_F_DUMP, op).await?;
            if !interrupted {
                return Ok(out);
            }
            tracing::debug!("{op}: dump interrupted by a concurrent change, retrying");
        }
        Err(NetError::Protocol {
            op: op.into(),
            reason: format!("the kernel's table kept changing during {ATTEMPTS} dumps in a row"),
        })
    }

    /// [`Net::request`], also telling whether any answer carried `NLM_F_DUMP_INTR`.
    async fn request_raw(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
        op: &str,
    ) -> Result<(Vec<RouteNetlinkMessage>, bool)> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = flags | NLM_F_REQUEST;
        let mut handle = self.handle.clone();
        let mut answers = handle.request(request).map_err(|_| NetError::Protocol {
            op: op.into(),
            reason: "the rtnetlink connection is closed (was its runtime shut down?)".into(),
        })?;
        let mut out = Vec::new();
        let mut interrupted = false;
        while let Some(answer) = answers.next().await {
            let outer_flags = answer.header.flags;
            interrupted |= outer_flags & NLM_F_DUMP_INTR != 0;
            match answer.payload {
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                NetlinkPayload::Error(err) => {
                    if let Some(code) = err.code {
                        return Err(NetError::Kernel {
                            op: op.into(),
                            source: std::io::Error::from_raw_os_error(code.get().abs()),
                            detail: ext_ack_message(&err.header, outer_flags),
                        });
                    }
                }
                NetlinkPayload::Overrun(_) => {
                    return Err(NetError::Protocol {
                        op: op.into(),
                        reason: "the kernel's answer overran the socket buffer".into(),
                    });
                }
                _ => {}
            }
        }
        Ok((out, interrupted))
    }

    /// Sends a request that changes something and waits for the kernel's acknowledgement.
    pub(crate) async fn ack(
        &self,
        message: RouteNetlinkMessage,
        flags: u16,
        op: &str,
    ) -> Result<()> {
        self.request(message, flags | NLM_F_ACK, op).await.map(drop)
    }

    /// Resolves a link reference to its index (names are looked up, altnames included).
    pub(crate) async fn resolve(&self, link: LinkRef<'_>, op: &str) -> Result<u32> {
        match link {
            LinkRef::Index(index) => Ok(index),
            LinkRef::Name(name) => {
                self.link_index(name)
                    .await?
                    .ok_or_else(|| NetError::LinkNotFound {
                        op: op.into(),
                        link: name.into(),
                    })
            }
        }
    }
}

/// Extracts the kernel's text message (`NLMSGERR_ATTR_MSG`) from an error answer.
///
/// `payload` is what follows the error code: the original request's header (the whole
/// request unless the answer is capped) and then, when `NLM_F_ACK_TLVS` is set, the
/// extended-ack attributes.
fn ext_ack_message(payload: &[u8], outer_flags: u16) -> Option<String> {
    const NLM_F_CAPPED: u16 = 0x100;
    const NLM_F_ACK_TLVS: u16 = 0x200;
    const NLMSGERR_ATTR_MSG: u16 = 1;
    const NLA_TYPE_MASK: u16 = 0x3fff;
    const NLMSG_HDRLEN: usize = 16;
    let align = |n: usize| (n + 3) & !3;

    if outer_flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let skip = if outer_flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        let len: [u8; 4] = payload.get(0..4)?.try_into().ok()?;
        align(u32::from_ne_bytes(len) as usize)
    };
    let mut tlvs = payload.get(skip..)?;
    while tlvs.len() >= 4 {
        let len = u16::from_ne_bytes([tlvs[0], tlvs[1]]) as usize;
        let kind = u16::from_ne_bytes([tlvs[2], tlvs[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > tlvs.len() {
            return None;
        }
        if kind == NLMSGERR_ATTR_MSG {
            let text = tlvs[4..len].split(|b| *b == 0).next().unwrap_or_default();
            let text = String::from_utf8_lossy(text).trim().to_string();
            return (!text.is_empty()).then_some(text);
        }
        tlvs = tlvs.get(align(len)..).unwrap_or_default();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = 4 + value.len();
        let mut out = Vec::new();
        out.extend_from_slice(&(len as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out
    }

    #[test]
    fn ext_ack_capped() {
        let mut payload = vec![0u8; 16];
        payload.extend(tlv(2, &7u32.to_ne_bytes())); // NLMSGERR_ATTR_OFFS first
        payload.extend(tlv(1, b"Unknown device type\0"));
        assert_eq!(
            ext_ack_message(&payload, 0x300).as_deref(),
            Some("Unknown device type")
        );
        // Without NLM_F_ACK_TLVS there is nothing to read.
        assert_eq!(ext_ack_message(&payload, 0x100), None);
    }

    #[test]
    fn ext_ack_uncapped_skips_the_echoed_request() {
        let mut payload = Vec::new();
        payload.extend_from_slice(&22u32.to_ne_bytes()); // original length 22 -> 24 aligned
        payload.extend_from_slice(&[0u8; 20]);
        payload.extend(tlv(1, b"bad thing\0"));
        assert_eq!(
            ext_ack_message(&payload, 0x200).as_deref(),
            Some("bad thing")
        );
    }

    #[test]
    fn ext_ack_garbage_is_ignored() {
        assert_eq!(ext_ack_message(&[1, 2], 0x300), None);
        let mut payload = vec![0u8; 16];
        payload.extend_from_slice(&[200, 0, 1, 0, b'x']);
        assert_eq!(ext_ack_message(&payload, 0x300), None);
    }
}
