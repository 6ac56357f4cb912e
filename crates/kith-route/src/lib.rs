//! `kith routed`: the config's static routes (`ip/route`, `ipv6/route`) in the kernel.
//!
//! * [`plan`]: config entries to kernel routes (protocol static, metric
//!   `distance * 16 + 1`, ECMP for several gateways, blackhole/unreachable/prohibit).
//! * [`probe`]: `check-gateway=ping`, a pure state machine per gateway ([`probe::fsm`])
//!   and thin ICMP sockets ([`probe::socket`]).
//! * [`reconcile`]: installs, replaces, withdraws and removes routes.
//! * [`rpfilter`]: loose reverse-path filtering on WAN and tunnel interfaces.
//! * [`status`] and [`server`]: `GET /status` on `<run-dir>/routed.sock`, and the table of
//!   `kith route print`.
//!
//! Not here: named routing tables (RouterOS `/routing table`): a route naming one is
//! logged and ignored; `check-gateway=arp|bfd` are logged and treated as none.

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod daemon;
pub mod plan;
pub mod probe;
pub mod reconcile;
pub mod resolve;
pub mod rpfilter;
pub mod server;
pub mod status;

pub use daemon::{Options, run};
pub use plan::{StaticRoute, Via, static_routes};
pub use reconcile::Reconciler;
pub use status::Status;
