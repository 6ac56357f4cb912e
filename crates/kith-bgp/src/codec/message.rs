//! A whole BGP message: parse one from bytes, write one to bytes; NOTIFICATION,
//! KEEPALIVE and ROUTE-REFRESH bodies live here too.

use super::DecodeContext;
use super::error::{MessageError, Notification, code};
use super::header::{HEADER_LEN, MessageType, Packet, emit_header};
use super::nlri::Family;
use super::open::Open;
use super::reader::Reader;
use super::update::Update;

/// Any BGP message.
// UPDATEs are most of the traffic and are consumed at once: boxing them would add an
// allocation per message for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH for an (AFI, SAFI) (RFC 2918).
    RouteRefresh {
        /// Address family identifier.
        afi: u16,
        /// Subsequent address family identifier.
        safi: u8,
    },
}

impl Message {
    /// Parses one whole message (header included).
    ///
    /// # Errors
    /// The NOTIFICATION the message must be answered with (RFC 4271 6, RFC 7606 for
    /// what is left of UPDATE errors). Never panics, whatever `buf` holds.
    pub fn parse(buf: &[u8], ctx: &DecodeContext) -> Result<Self, MessageError> {
        let packet = Packet::new_checked(buf)?;
        let body = packet.body();
        Ok(match packet.kind() {
            MessageType::Open => Self::Open(Open::parse(body)?),
            MessageType::Update => Self::Update(Update::parse(body, ctx)?),
            MessageType::Keepalive => Self::Keepalive,
            MessageType::Notification => {
                let mut r = Reader::new(body);
                let (Some(code), Some(subcode)) = (r.u8(), r.u8()) else {
                    return Err(MessageError::new(
                        "NOTIFICATION truncated",
                        code::HEADER,
                        code::BAD_LENGTH,
                        &[],
                    ));
                };
                Self::Notification(Notification::with_data(code, subcode, r.rest()))
            }
            MessageType::RouteRefresh => {
                let mut r = Reader::new(body);
                match (r.u16(), r.u8(), r.u8(), r.is_empty()) {
                    (Some(afi), Some(_reserved), Some(safi), true) => {
                        Self::RouteRefresh { afi, safi }
                    }
                    _ => {
                        return Err(MessageError::new(
                            "ROUTE-REFRESH of a wrong length",
                            code::ROUTE_REFRESH,
                            code::INVALID_REFRESH_LENGTH,
                            buf,
                        ));
                    }
                }
            }
        })
    }

    /// A ROUTE-REFRESH for `family`.
    #[must_use]
    pub fn route_refresh(family: Family) -> Self {
        Self::RouteRefresh {
            afi: family.afi(),
            safi: family.safi(),
        }
    }

    /// Writes the whole message for a peer described by `ctx`.
    #[must_use]
    pub fn to_bytes(&self, ctx: &DecodeContext) -> Vec<u8> {
        let (kind, body) = match self {
            Self::Update(update) => return update.to_bytes(ctx),
            Self::Open(open) => {
                let mut body = Vec::new();
                open.emit_body(&mut body);
                (MessageType::Open, body)
            }
            Self::Notification(n) => {
                let mut body = vec![n.code, n.subcode];
                let room = super::header::MAX_MESSAGE_LEN - HEADER_LEN - 2;
                body.extend_from_slice(n.data.get(..n.data.len().min(room)).unwrap_or_default());
                (MessageType::Notification, body)
            }
            Self::Keepalive => (MessageType::Keepalive, Vec::new()),
            Self::RouteRefresh { afi, safi } => {
                let mut body = afi.to_be_bytes().to_vec();
                body.extend_from_slice(&[0, *safi]);
                (MessageType::RouteRefresh, body)
            }
        };
        let mut out = Vec::with_capacity(HEADER_LEN + body.len());
        emit_header(&mut out, kind, HEADER_LEN + body.len());
        out.extend_from_slice(&body);
        out
    }
}
