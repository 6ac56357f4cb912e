//! The control channel's reliability layer: numbered messages, a send window,
//! retransmission with exponential backoff, ACK bookkeeping and in-order delivery.
//!
//! Pure: time is an argument. One instance per key state (each key id restarts at
//! packet id 0 with its reset packet).
//!
//! openvpn 2.6 re-sends recently sent ACKs in later packets; an ACK of an id that is no
//! longer in flight is simply ignored, and a message below the receive point (the peer
//! did not see our ACK) is ACKed again and not delivered twice.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::codec::{AckList, MAX_ACKS, Opcode};

/// Messages in flight at once (openvpn's `TLS_RELIABLE_N_SEND_BUFFERS`).
pub const SEND_WINDOW: usize = 6;
/// Messages buffered ahead of the next expected one (openvpn's receive window).
pub const RECV_WINDOW: u32 = 12;
/// First retransmission timeout.
pub const INITIAL_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest retransmission timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(16);

/// A message to put on the wire now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Its packet id.
    pub id: u32,
    /// Its opcode.
    pub opcode: Opcode,
    /// Its payload.
    pub payload: Vec<u8>,
}

#[derive(Debug)]
struct InFlight {
    msg: Transmit,
    due: Option<Instant>,
    timeout: Duration,
    sends: u32,
}

/// What happened to a received message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// New: buffered for in-order delivery and to be ACKed.
    New,
    /// Seen before: ACKed again, not delivered again.
    Duplicate,
    /// Too far ahead of the receive window: dropped, not ACKed.
    OutOfWindow,
}

/// Reliability state of one key.
#[derive(Debug)]
pub struct Reliable {
    next_id: u32,
    queued: VecDeque<(Opcode, Vec<u8>)>,
    in_flight: VecDeque<InFlight>,
    next_recv: u32,
    received: BTreeMap<u32, (Opcode, Vec<u8>)>,
    to_ack: VecDeque<u32>,
    retransmits: u64,
}

impl Default for Reliable {
    fn default() -> Self {
        Reliable::new()
    }
}

impl Reliable {
    /// Empty state; both directions start at packet id 0.
    pub fn new() -> Reliable {
        Reliable {
            next_id: 0,
            queued: VecDeque::new(),
            in_flight: VecDeque::new(),
            next_recv: 0,
            received: BTreeMap::new(),
            to_ack: VecDeque::new(),
            retransmits: 0,
        }
    }

    /// Makes `id` the first packet id expected from the peer, before anything was
    /// received. A server calls it with the id of the client's first HARD_RESET:
    /// OpenVPN clients start at 0, but MikroTik's may number its first reset 1, and a
    /// receive window waiting for a 0 that never comes would stall the handshake.
    pub fn expect_first(&mut self, id: u32) {
        if self.received.is_empty() && self.to_ack.is_empty() {
            self.next_recv = id;
        }
    }

    /// Queues a message; it gets its packet id when the window has room.
    pub fn send(&mut self, opcode: Opcode, payload: Vec<u8>) {
        self.queued.push_back((opcode, payload));
        self.fill_window();
    }

    fn fill_window(&mut self) {
        while self.in_flight.len() < SEND_WINDOW {
            let Some((opcode, payload)) = self.queued.pop_front() else {
                break;
            };
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            self.in_flight.push_back(InFlight {
                msg: Transmit {
                    id,
                    opcode,
                    payload,
                },
                due: None,
                timeout: INITIAL_TIMEOUT,
                sends: 0,
            });
        }
    }

    /// Processes the ACKs of a received packet. Unknown ids (re-ACKs of messages
    /// already acknowledged) are ignored. Returns how many in-flight messages were
    /// acknowledged.
    pub fn on_acks(&mut self, acks: &AckList) -> usize {
        let before = self.in_flight.len();
        self.in_flight
            .retain(|f| !acks.as_slice().contains(&f.msg.id));
        let n = before - self.in_flight.len();
        self.fill_window();
        n
    }

    /// Takes a received message with packet id `id`.
    pub fn on_message(&mut self, id: u32, opcode: Opcode, payload: &[u8]) -> Received {
        let ahead = id.wrapping_sub(self.next_recv);
        if ahead >= u32::MAX / 2 {
            // below the receive point: the peer missed our ACK
            self.ack(id);
            return Received::Duplicate;
        }
        if ahead >= RECV_WINDOW {
            return Received::OutOfWindow;
        }
        self.ack(id);
        if self.received.contains_key(&id) {
            return Received::Duplicate;
        }
        self.received.insert(id, (opcode, payload.to_vec()));
        Received::New
    }

    fn ack(&mut self, id: u32) {
        if !self.to_ack.contains(&id) {
            self.to_ack.push_back(id);
        }
    }

    /// The messages now deliverable in order.
    pub fn take_in_order(&mut self) -> Vec<(Opcode, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some(m) = self.received.remove(&self.next_recv) {
            out.push(m);
            self.next_recv = self.next_recv.wrapping_add(1);
        }
        out
    }

    /// The messages to send at `now`: those never sent and those whose retransmission
    /// timer ran out (each retransmission doubles its timer, up to [`MAX_TIMEOUT`]).
    pub fn poll_transmit(&mut self, now: Instant) -> Vec<Transmit> {
        let mut out = Vec::new();
        for f in &mut self.in_flight {
            let due = f.due.is_none_or(|d| d <= now);
            if due {
                if f.sends > 0 {
                    self.retransmits += 1;
                    f.timeout = (f.timeout * 2).min(MAX_TIMEOUT);
                }
                f.sends += 1;
                f.due = Some(now + f.timeout);
                out.push(f.msg.clone());
            }
        }
        out
    }

    /// Up to [`MAX_ACKS`] ids to acknowledge in the next packet; they are removed.
    pub fn take_acks(&mut self) -> AckList {
        let mut list = AckList::new();
        while list.len() < MAX_ACKS {
            let Some(id) = self.to_ack.pop_front() else {
                break;
            };
            list.push(id);
        }
        list
    }

    /// True when ACKs wait to be sent.
    pub fn has_acks(&self) -> bool {
        !self.to_ack.is_empty()
    }

    /// When the next retransmission is due.
    pub fn next_timeout(&self) -> Option<Instant> {
        self.in_flight.iter().filter_map(|f| f.due).min()
    }

    /// True when nothing is queued or unacknowledged.
    pub fn is_idle(&self) -> bool {
        self.in_flight.is_empty() && self.queued.is_empty()
    }

    /// Messages queued or in flight.
    pub fn backlog(&self) -> usize {
        self.in_flight.len() + self.queued.len()
    }

    /// Retransmissions so far.
    pub fn retransmits(&self) -> u64 {
        self.retransmits
    }

    /// How many sends the oldest unacknowledged message has had.
    pub fn oldest_sends(&self) -> u32 {
        self.in_flight.front().map_or(0, |f| f.sends)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acks(ids: &[u32]) -> AckList {
        let mut l = AckList::new();
        for &i in ids {
            l.push(i);
        }
        l
    }

    #[test]
    fn window_limits_in_flight_and_acks_open_it() {
        let mut r = Reliable::new();
        let t = Instant::now();
        for i in 0..10u8 {
            r.send(Opcode::ControlV1, vec![i]);
        }
        let first = r.poll_transmit(t);
        assert_eq!(first.len(), SEND_WINDOW);
        assert_eq!(first[0].id, 0);
        assert!(r.poll_transmit(t).is_empty());
        assert_eq!(r.on_acks(&acks(&[0, 1])), 2);
        let more = r.poll_transmit(t);
        assert_eq!(more.iter().map(|m| m.id).collect::<Vec<_>>(), [6, 7]);
    }

    #[test]
    fn retransmits_with_backoff() {
        let mut r = Reliable::new();
        let t = Instant::now();
        r.send(Opcode::ControlV1, vec![1]);
        assert_eq!(r.poll_transmit(t).len(), 1);
        assert!(r.poll_transmit(t + Duration::from_millis(1900)).is_empty());
        assert_eq!(r.poll_transmit(t + Duration::from_secs(2)).len(), 1);
        // the second timer is 4 s
        assert!(r.poll_transmit(t + Duration::from_secs(5)).is_empty());
        assert_eq!(r.poll_transmit(t + Duration::from_secs(6)).len(), 1);
        assert_eq!(r.retransmits(), 2);
        r.on_acks(&acks(&[0]));
        assert!(r.is_idle());
        assert_eq!(r.next_timeout(), None);
    }

    #[test]
    fn re_acks_of_old_ids_do_not_stall() {
        let mut r = Reliable::new();
        let t = Instant::now();
        r.send(Opcode::ControlV1, vec![1]);
        r.poll_transmit(t);
        r.on_acks(&acks(&[0]));
        r.send(Opcode::ControlV1, vec![2]);
        // 2.6 repeats ACK 0 beside nothing new: ignored, message 1 still in flight
        assert_eq!(r.on_acks(&acks(&[0])), 0);
        assert_eq!(r.poll_transmit(t)[0].id, 1);
        assert_eq!(r.on_acks(&acks(&[0, 1])), 1);
        assert!(r.is_idle());
    }

    #[test]
    fn in_order_delivery_duplicates_and_window() {
        let mut r = Reliable::new();
        assert_eq!(r.on_message(1, Opcode::ControlV1, b"b"), Received::New);
        assert!(r.take_in_order().is_empty());
        assert_eq!(r.on_message(0, Opcode::ControlV1, b"a"), Received::New);
        let got: Vec<Vec<u8>> = r.take_in_order().into_iter().map(|(_, p)| p).collect();
        assert_eq!(got, [b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(
            r.on_message(0, Opcode::ControlV1, b"a"),
            Received::Duplicate
        );
        assert!(r.take_in_order().is_empty());
        assert_eq!(r.take_acks().as_slice(), &[1, 0]);
        assert_eq!(
            r.on_message(2 + RECV_WINDOW, Opcode::ControlV1, b"far"),
            Received::OutOfWindow
        );
        assert!(!r.has_acks());
    }

    #[test]
    fn acks_are_capped_per_packet() {
        let mut r = Reliable::new();
        for i in 0..RECV_WINDOW {
            r.on_message(i, Opcode::ControlV1, b"x");
        }
        assert_eq!(r.take_acks().len(), MAX_ACKS);
        assert_eq!(r.take_acks().len(), RECV_WINDOW as usize - MAX_ACKS);
    }
}
