//! `kith-bgp`: the BGP-4 speaker of Kith (`kith bgpd`).
//!
//! Shaped as DESIGN.md says for a protocol daemon: [`codec`] (bytes <-> messages, fuzzed),
//! [`fsm`] (the RFC 4271 state machine as a pure function), [`rib`] (Adj-RIB-In,
//! Loc-RIB, best path), [`policy`] (RouterOS routing filters), and `io` (tokio sessions,
//! kernel routes, status socket; the only part that awaits); [`bfd`] (RFC 5880/5881
//! for `use-bfd` peers).

#![deny(unsafe_code)]

pub mod bfd;
pub mod codec;
pub mod fsm;
pub mod policy;
pub mod rib;
pub mod status;

mod io;

pub use io::{BGP_PORT, BgpConfig, DaemonError, Options, PeerConfig, run};
