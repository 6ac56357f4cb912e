//! BGP-4 wire format: bytes <-> typed messages; no I/O, no state.
//!
//! The shape is smoltcp's `wire`: [`Packet`] is a checked view of one message's header,
//! [`Message::parse`] turns one whole message into a typed value and
//! [`Message::to_bytes`] writes one. A [`DecodeContext`] carries what the session
//! negotiated (4-octet AS, families, eBGP or iBGP), since the same bytes mean different
//! things on different sessions.
//!
//! No function here panics on any input: every read goes through a bounds-checked
//! reader, every error carries the NOTIFICATION (code, subcode, data) RFC 4271 answers
//! with, and malformed UPDATE attributes get their RFC 7606 outcome (treat-as-withdraw,
//! attribute discard) instead of a reset where that RFC allows. `fuzz/` checks it.
//!
//! Implemented: OPEN with capabilities 4-octet AS, multiprotocol IPv4/IPv6 unicast,
//! route refresh, graceful restart; UPDATE with ORIGIN, AS_PATH (AS_SET, AS_SEQUENCE,
//! confederation segments parsed), NEXT_HOP, MED, LOCAL_PREF, ATOMIC_AGGREGATE,
//! AGGREGATOR, COMMUNITIES, LARGE_COMMUNITY, ORIGINATOR_ID, CLUSTER_LIST, MP_REACH,
//! MP_UNREACH, AS4_PATH, AS4_AGGREGATOR, unknown optional transitive attributes kept;
//! KEEPALIVE, NOTIFICATION, ROUTE-REFRESH.
//! Not implemented: ADD-PATH, extended messages (RFC 8654), extended optional
//! parameters (RFC 9072), enhanced route refresh, extended communities (carried as
//! unknown optional transitive), families other than IPv4/IPv6 unicast.

mod aspath;
mod attr;
mod error;
mod header;
mod message;
mod nlri;
mod open;
mod reader;
mod update;

pub use aspath::{AsPath, Segment, SegmentKind};
pub use attr::{
    FLAG_EXTENDED, FLAG_OPTIONAL, FLAG_PARTIAL, FLAG_TRANSITIVE, LargeCommunity, MpReach,
    MpUnreach, Origin, PathAttributes, RawAttribute, attr_type, community,
};
pub use error::{AttrIssue, ErrorAction, MessageError, Notification, code};
pub use header::{HEADER_LEN, MAX_MESSAGE_LEN, MessageType, Packet, frame_len};
pub use message::Message;
pub use nlri::{AFI_IPV4, AFI_IPV6, Family, SAFI_UNICAST, prefix_size};
pub use open::{AS_TRANS, Capability, Open, cap};
pub use update::{Update, pack, pack_withdraw};

/// What a session negotiated, which decoding and encoding depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeContext {
    /// Both sides announced the 4-octet AS capability: AS numbers are 4 octets.
    pub four_octet_as: bool,
    /// The peer is in another AS: LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST are
    /// ignored on receipt and not sent, and the AS_PATH must start with `peer_as`.
    pub ebgp: bool,
    /// The peer's AS, for the first-AS check on eBGP.
    pub peer_as: Option<u32>,
    /// Families negotiated (informational; prefixes of other families still parse).
    pub families: Vec<Family>,
}

impl Default for DecodeContext {
    /// A 4-octet, iBGP, IPv4-and-IPv6 context (what two modern speakers negotiate).
    fn default() -> Self {
        Self {
            four_octet_as: true,
            ebgp: false,
            peer_as: None,
            families: Family::ALL.to_vec(),
        }
    }
}
