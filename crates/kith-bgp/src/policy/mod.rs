//! Routing filters with RouterOS v6 semantics (`/routing filter`): chains of rules
//! evaluated in order, `jump`/`return` between chains, `set-*` on match, and a route
//! that falls off the end of a chain accepted.
//!
//! Matchers: `prefix` (exact, or containing the route when `prefix-length` is given),
//! `prefix-length`, `bgp-as-path` (a regular expression on the path as printed,
//! `64513 64512`), `bgp-communities` (all must be carried), `address-family`.
//! Actions: `accept`, `discard` and `reject` (both stop; the route stays in the
//! Adj-RIB-In, shown as filtered), `jump`, `return`, `log`, `passthrough`.

mod compile;
mod eval;

pub use compile::{Chains, FilterError, Rule, RuleAction};
pub use eval::{Candidate, Verdict};
