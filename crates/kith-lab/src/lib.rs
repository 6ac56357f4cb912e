//! Kith labs: topologies of network namespaces (routers, ISPs, hosts) joined by
//! veth pairs, with real `kith run` instances in the routers. The demo
//! (`kith lab up`) and the harness of every integration test.
//!
//! ```no_run
//! use kith_lab::{Lab, NodeKind};
//! # fn main() -> kith_lab::Result<()> {
//! let lab = Lab::new("my-test")?;
//! lab.add_node("a", NodeKind::Host)?;
//! lab.add_node("r", NodeKind::Router)?;
//! lab.add_link(("a", "eth0", Some("10.0.1.2/24".parse().unwrap())),
//!              ("r", "eth0", Some("10.0.1.1/24".parse().unwrap())))?;
//! assert!(lab.ping("a", "10.0.1.1", 1));
//! # Ok(()) }   // dropping the lab kills its processes and deletes its namespaces
//! ```
//!
//! Rules the lab keeps: traffic only between namespaces it created; nothing is
//! configured in the root namespace (veths are created directly inside the
//! lab's namespaces); only namespaces it created are ever deleted. Each lab
//! records what it created in `/run/kith-lab/<name>.json`, so a lab whose
//! process died is removed by [`cleanup_stale`] (which [`Lab::new`] runs).
//! Needs root (`ip netns`) and iproute2.

#![deny(unsafe_code)]

pub mod cli;
pub mod demo;
mod error;
pub mod guest;
mod lab;
pub mod pki;
mod process;
mod state;
pub mod topology;

pub use error::{Error, Result};
pub use lab::{
    BuildOptions, DEFAULT_EXEC_TIMEOUT, Lab, LinkEnd, STOP_GRACE, WAIT_INTERVAL, wait_until,
};
pub use nix::unistd::Pid;
pub use state::{InterfaceState, LabState, NodeState, ProcessState, STATE_DIR, cleanup_stale};
pub use topology::{
    Endpoint, LinkSpec, NodeKind, NodeSpec, RouterConfig, SCENARIO_HOME_CONFIG,
    SCENARIO_REMI_CONFIG, SCENARIO_TOPOLOGY, Topology,
};
