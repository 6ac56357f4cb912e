//! `kith run`, the supervisor: loads and validates the config, sets up interfaces and
//! addresses, runs each daemon as a child process (restarted with backoff when it dies),
//! reloads on SIGHUP (a config with errors is rejected and the running one kept) and
//! stops everything cleanly on SIGTERM.

mod apply;
mod children;
mod firewall;
mod supervisor;

pub use children::{ChildSpec, Children, describe_exit};
pub use supervisor::{DAEMONS, Options, RUNNING_CONFIG, run, wanted_daemons};
