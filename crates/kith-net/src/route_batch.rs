//! Many route changes per system call: [`RouteBatch`].
//!
//! [`Net::replace_route`](crate::Net::replace_route) sends one request and waits for its
//! acknowledgement; installing a full BGP table that way costs a round trip per route. A
//! [`RouteBatch`] packs up to 64 KiB of `RTM_NEWROUTE`/`RTM_DELROUTE` messages (about a
//! thousand routes) into one `sendmsg` on a socket of its own.
//!
//! How the answers are matched: the kernel handles the messages of one `sendmsg` in
//! order, inside the call, and answers every message that fails with an error carrying
//! the message's sequence number, whether or not it asked for an acknowledgement. Only
//! the last message of each send asks for one (`NLM_F_ACK`): its answer, success or
//! error, is the last, so reading the socket up to it collects every error of the send
//! and the rest succeeded. Each message has its own sequence number, so an error names
//! its route and a bad route fails alone: the others of the batch are applied.
//!
//! The receive buffer is made large (`SO_RCVBUFFORCE`, as root) and a send carries no
//! more messages than the buffer can hold error answers for, so even a send where every
//! route fails cannot overflow it. If answers are lost anyway (`ENOBUFS`), the routes of
//! that send without an answer are reported as unknown rather than as applied.

use std::io;
use std::os::fd::AsFd;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE, NLM_F_REQUEST, NLMSG_ERROR, NetlinkBuffer,
    NetlinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::route::route_message;
use crate::{NetError, Result, Route};

/// Bytes of messages per `sendmsg` (the kernel accepts up to the send buffer, 208 KiB by
/// default; 64 KiB is about a thousand routes, enough to make the call's cost vanish).
const SEND_BYTES: usize = 64 * 1024;
/// The receive buffer asked for; the kernel doubles it for its bookkeeping.
const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;
/// An upper bound of what one error answer takes of the receive buffer (the answer's
/// bytes and the kernel's per-packet overhead).
const ANSWER_COST: usize = 2048;
/// Bytes read per `recv`: one answer (an error echoes at most the failed request).
const RECEIVE_BYTES: usize = 64 * 1024;
/// Answers ignored per send (stale ones of an earlier send) before giving up on it.
const STRAY_ANSWERS: usize = 64;

/// One change of a [`RouteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteChange {
    /// Install the route, replacing the one with the same table, destination and metric
    /// (as [`Net::replace_route`](crate::Net::replace_route), `ip route replace`).
    Replace(Route),
    /// Delete the matching route (as [`Net::del_route`](crate::Net::del_route)); a route
    /// the kernel does not have fails with [`NetError::RouteNotFound`].
    Delete(Route),
}

impl RouteChange {
    /// The route changed.
    pub fn route(&self) -> &Route {
        match self {
            RouteChange::Replace(r) | RouteChange::Delete(r) => r,
        }
    }

    /// Why the change cannot be sent, if it cannot. The operation is named only for a
    /// refused change: formatting it for each of a million valid routes cost more than
    /// the checks.
    fn refusal(&self) -> Option<NetError> {
        let valid = match self {
            RouteChange::Replace(r) => r.check(""),
            RouteChange::Delete(r) => r.check_addresses(""),
        };
        valid.err()?;
        match self {
            RouteChange::Replace(r) => r.check(&self.op()),
            RouteChange::Delete(r) => r.check_addresses(&self.op()),
        }
        .err()
    }

    fn op(&self) -> String {
        match self {
            RouteChange::Replace(r) => format!("replace route {r}"),
            RouteChange::Delete(r) => format!("delete route {r}"),
        }
    }
}

/// A change of a batch that failed: its position in the slice given to
/// [`RouteBatch::apply`] and why.
#[derive(Debug)]
pub struct RouteChangeError {
    /// Index of the change in the batch.
    pub index: usize,
    /// What the kernel (or the check before sending) said.
    pub error: NetError,
}

/// A routing netlink socket that applies route changes in batches.
///
/// Its calls block: the kernel does the work inside `sendmsg` (a few microseconds per
/// route). From async code, call [`RouteBatch::apply`] in `spawn_blocking`. Like every
/// netlink socket it belongs to the network namespace of the thread that created it,
/// whichever thread uses it afterwards.
#[derive(Debug)]
pub struct RouteBatch {
    socket: Socket,
    /// Sequence number of the next message.
    next_seq: u32,
    /// Messages per send, so that their error answers fit in the receive buffer.
    max_messages: usize,
    /// The messages of the send being built.
    out: Vec<u8>,
    /// Offset in `out` of the last message's header.
    last_header: usize,
    /// The batch index of each message in `out`.
    pending: Vec<usize>,
    received: Vec<u8>,
}

impl RouteBatch {
    /// Opens a routing netlink socket in the calling thread's network namespace.
    pub fn new() -> Result<RouteBatch> {
        const OP: &str = "open a netlink socket for route batches";
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(|e| NetError::io(OP, e))?;
        socket.bind_auto().map_err(|e| NetError::io(OP, e))?;
        // Short error answers carrying the kernel's explanation (both optional).
        if let Err(e) = socket.set_cap_ack(true) {
            tracing::debug!("netlink capped ack unavailable: {e}");
        }
        if let Err(e) = socket.set_ext_ack(true) {
            tracing::debug!("netlink extended ack unavailable: {e}");
        }
        let receive_buffer = size_buffers(&socket);
        Ok(RouteBatch {
            socket,
            next_seq: 1,
            max_messages: (receive_buffer / ANSWER_COST).max(1),
            out: Vec::with_capacity(SEND_BYTES),
            last_header: 0,
            pending: Vec::new(),
            received: Vec::with_capacity(RECEIVE_BYTES),
        })
    }

    /// Applies `changes` in order and returns the ones that failed, in order (empty when
    /// all succeeded). A failed change does not stop the others; a route that is not
    /// valid (see [`Net::add_route`](crate::Net::add_route)) is refused before sending.
    pub fn apply(&mut self, changes: &[RouteChange]) -> Vec<RouteChangeError> {
        let mut failed = Vec::new();
        self.out.clear();
        self.pending.clear();
        for (index, change) in changes.iter().enumerate() {
            if let Some(error) = change.refusal() {
                failed.push(RouteChangeError { index, error });
                continue;
            }
            let (message, flags) = match change {
                RouteChange::Replace(route) => (
                    RouteNetlinkMessage::NewRoute(route_message(route, false)),
                    NLM_F_CREATE | NLM_F_REPLACE,
                ),
                RouteChange::Delete(route) => {
                    (RouteNetlinkMessage::DelRoute(route_message(route, true)), 0)
                }
            };
            let mut message = NetlinkMessage::from(message);
            message.header.flags = flags | NLM_F_REQUEST;
            message.finalize();
            let len = message.buffer_len();
            if !self.pending.is_empty()
                && (self.out.len() + len > SEND_BYTES || self.pending.len() >= self.max_messages)
            {
                self.flush(changes, &mut failed);
            }
            message.header.sequence_number = self.next_seq.wrapping_add(self.pending.len() as u32);
            let start = self.out.len();
            // Netlink messages start on 4-byte boundaries.
            self.out.resize(start + align(len), 0);
            message.serialize(&mut self.out[start..start + len]);
            self.last_header = start;
            self.pending.push(index);
        }
        if !self.pending.is_empty() {
            self.flush(changes, &mut failed);
        }
        // Refused-before-sending changes were noted ahead of the sends they sat in.
        failed.sort_by_key(|f| f.index);
        failed
    }

    /// Sends the messages in `out` and collects their errors into `failed`.
    fn flush(&mut self, changes: &[RouteChange], failed: &mut Vec<RouteChangeError>) {
        let count = self.pending.len();
        let first_seq = self.next_seq;
        let last_seq = first_seq.wrapping_add(count as u32 - 1);
        self.next_seq = first_seq.wrapping_add(count as u32);
        let mut last = NetlinkBuffer::new(&mut self.out[self.last_header..]);
        let flags = last.flags();
        last.set_flags(flags | NLM_F_ACK);

        let kernel = SocketAddr::new(0, 0);
        if let Err(e) = self.socket.send_to(&self.out, &kernel, 0) {
            for &index in &self.pending {
                let op = format!("{} (sending a batch of {count})", changes[index].op());
                failed.push(RouteChangeError {
                    index,
                    error: NetError::io(op, copy(&e)),
                });
            }
            self.out.clear();
            self.pending.clear();
            return;
        }
        self.out.clear();

        let mut answered = vec![false; count];
        let mut lost = false;
        let mut done = false;
        // One answer per message at most, plus strays: the loop ends.
        for _ in 0..count + STRAY_ANSWERS {
            self.received.clear();
            // The kernel queued every answer before `send_to` returned: never wait.
            match self.socket.recv(&mut self.received, libc::MSG_DONTWAIT) {
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    lost = true;
                    continue;
                }
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(_) => break,
            }
            for answer in answers(&self.received) {
                let offset = answer.seq.wrapping_sub(first_seq) as usize;
                if offset >= count {
                    continue;
                }
                answered[offset] = true;
                if let Some(error) = answer.error(&changes[self.pending[offset]]) {
                    failed.push(RouteChangeError {
                        index: self.pending[offset],
                        error,
                    });
                }
                done |= answer.seq == last_seq;
            }
            if done {
                break;
            }
        }
        if !done || lost {
            let reason = if lost {
                "its answer was lost (netlink receive buffer overflow): it may or may not be applied"
            } else {
                "the kernel did not answer: it may or may not be applied"
            };
            for (offset, &index) in self.pending.iter().enumerate() {
                if !answered[offset] {
                    failed.push(RouteChangeError {
                        index,
                        error: NetError::Protocol {
                            op: changes[index].op(),
                            reason: reason.into(),
                        },
                    });
                }
            }
        }
        self.pending.clear();
    }
}

/// Asks for a receive buffer of [`RECEIVE_BUFFER`] bytes, beyond `rmem_max` when allowed
/// (root), and returns the size obtained. Makes sure a send of [`SEND_BYTES`] fits the
/// send buffer too (a netlink message longer than it fails with `EMSGSIZE`).
fn size_buffers(socket: &Socket) -> usize {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    if getsockopt(&socket.as_fd(), sockopt::SndBuf).is_ok_and(|size| size < 2 * SEND_BYTES)
        && let Err(e) = setsockopt(&socket.as_fd(), sockopt::SndBuf, &(2 * SEND_BYTES))
    {
        tracing::debug!("SO_SNDBUF refused: {e}");
    }
    if let Err(e) = setsockopt(&socket.as_fd(), sockopt::RcvBufForce, &RECEIVE_BUFFER) {
        tracing::debug!("SO_RCVBUFFORCE refused ({e}), asking within rmem_max");
        if let Err(e) = socket.set_rx_buf_sz(RECEIVE_BUFFER) {
            tracing::debug!("SO_RCVBUF refused: {e}");
        }
    }
    socket.get_rx_buf_sz().unwrap_or(0)
}

/// The same error again (`io::Error` is not `Clone`).
fn copy(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(errno) => io::Error::from_raw_os_error(errno),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// One `NLMSG_ERROR` answer: an acknowledgement (code 0) or an error.
struct Answer<'a> {
    seq: u32,
    flags: u16,
    /// Negative errno, or 0.
    code: i32,
    /// What follows the code: the echoed request header and extended-ack attributes.
    rest: &'a [u8],
}

impl Answer<'_> {
    fn error(&self, change: &RouteChange) -> Option<NetError> {
        if self.code == 0 {
            return None;
        }
        let errno = self.code.checked_abs().unwrap_or(i32::MAX);
        if errno == libc::ESRCH && matches!(change, RouteChange::Delete(_)) {
            return Some(NetError::RouteNotFound { op: change.op() });
        }
        Some(NetError::Kernel {
            op: change.op(),
            source: io::Error::from_raw_os_error(errno),
            detail: crate::ext_ack_message(self.rest, self.flags),
        })
    }
}

/// The `NLMSG_ERROR` messages in one received datagram; anything else is skipped.
fn answers(datagram: &[u8]) -> impl Iterator<Item = Answer<'_>> {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        loop {
            let message = NetlinkBuffer::new_checked(rest).ok()?;
            let len = message.length() as usize;
            rest = rest.get(align(len)..).unwrap_or_default();
            if message.message_type() != NLMSG_ERROR {
                continue;
            }
            let payload = message.payload();
            let code: [u8; 4] = payload.get(0..4)?.try_into().ok()?;
            return Some(Answer {
                seq: message.sequence_number(),
                flags: message.flags(),
                code: i32::from_ne_bytes(code),
                rest: payload.get(4..).unwrap_or_default(),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn error_message(seq: u32, code: i32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&36u32.to_ne_bytes());
        out.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        out.extend_from_slice(&0x100u16.to_ne_bytes()); // capped
        out.extend_from_slice(&seq.to_ne_bytes());
        out.extend_from_slice(&0u32.to_ne_bytes());
        out.extend_from_slice(&code.to_ne_bytes());
        out.extend_from_slice(&[0u8; 16]); // the echoed request header
        out
    }

    #[test]
    fn answers_are_read_in_order_and_garbage_ends_them() {
        let mut datagram = error_message(7, 0);
        datagram.extend(error_message(8, -libc::ENETUNREACH));
        datagram.extend_from_slice(&[1, 2, 3]);
        let got: Vec<_> = answers(&datagram).map(|a| (a.seq, a.code)).collect();
        assert_eq!(got, [(7, 0), (8, -libc::ENETUNREACH)]);
        assert_eq!(answers(&[0u8; 8]).count(), 0);
    }

    #[test]
    fn a_missing_route_to_delete_is_route_not_found() {
        let route = Route::new("10.0.0.0/24".parse().unwrap()).with_oif(1);
        let datagram = error_message(1, -libc::ESRCH);
        let answer = answers(&datagram).next().unwrap();
        let e = answer.error(&RouteChange::Delete(route.clone())).unwrap();
        assert!(matches!(e, NetError::RouteNotFound { .. }), "{e}");
        let e = answer.error(&RouteChange::Replace(route)).unwrap();
        assert!(
            e.to_string()
                .starts_with("cannot replace route 10.0.0.0/24"),
            "{e}"
        );
    }
}
