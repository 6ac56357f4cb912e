//! `kith-ovpn`: `kith vpnd`, an OpenVPN 2.x compatible tunnel server and client.
//!
//! Shaped as DESIGN.md says a protocol daemon is:
//! * [`codec`]: bytes <-> typed packets (no I/O, no state; fuzzed);
//! * [`fsm`]: pure state machines (the control channel's reliability layer, replay
//!   windows);
//! * [`crypto`]: key derivation and the data channel ciphers;
//! * [`session`]: one tunnel's protocol engine (TLS over memory, key-method 2, push,
//!   renegotiation, keepalive), driven by packets and time, returning actions;
//! * [`io`]: tokio sockets, tun devices and timers: the only place that awaits.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod codec;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod export;
pub mod fsm;
pub mod io;
pub mod pki;
pub mod reload;
pub mod session;
