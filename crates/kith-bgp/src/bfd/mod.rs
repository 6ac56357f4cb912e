//! BFD, Bidirectional Forwarding Detection (RFC 5880, single hop RFC 5881,
//! asynchronous mode): tells a BGP peer with `use-bfd` that its path died in a few
//! hundred milliseconds, also when the interface stays up.
//!
//! [`codec`] (control packets <-> bytes, fuzzed as `bfd_decode`), [`fsm`] (the
//! session as a pure state machine) and [`io`] (UDP 3784 with the TTL 255 check,
//! timers; the only part that awaits).

pub mod codec;
pub mod fsm;
pub mod io;

pub use codec::{BfdState, ControlPacket, DecodeError};
pub use fsm::{Action, Session, Timers};
