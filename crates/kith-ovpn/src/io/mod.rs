//! The only place that awaits: sockets, tun interfaces, timers, the status socket.

pub mod client;
pub mod dns;
pub mod driver;
pub mod registry;
pub mod routes;
pub mod runtime;
pub mod server;
pub mod status;
pub mod transport;
pub mod tunif;

pub use registry::{Registry, Status, TunnelStatus};
pub use runtime::Runtime;
