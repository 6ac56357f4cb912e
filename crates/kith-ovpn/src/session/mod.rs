//! One tunnel's protocol engine, sans I/O: control channel (reliability, TLS over
//! memory, key-method 2, push), data channel keys, renegotiation, keepalive and exit
//! notify. Driven by [`Tunnel::handle_packet`], [`Tunnel::send_ip`] and [`Tunnel::tick`];
//! effects come out as [`Action`]s.

pub mod config;
mod key;
pub mod tls;
mod tunnel;

pub use config::{Account, Authenticator, LoginRequest, SessionConfig};
pub use tunnel::{Action, Established, Stats, Tunnel};
