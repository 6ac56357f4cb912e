//! Turns the config's `/routing filter` rules into chains ready to evaluate (regular
//! expressions compiled once).

use std::collections::HashMap;

use ipnet::IpNet;
use kith_config::Community;
use kith_config::{AddressFamily, CheckGateway, RoutingAction, RoutingFilterRule};
use regex::Regex;

use crate::codec::{Family, community};

/// A rule that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The `bgp-as-path` expression does not compile.
    #[error("chain {chain}: bgp-as-path {pattern:?} is not a valid regular expression: {reason}")]
    BadRegex {
        /// The chain.
        chain: String,
        /// The expression.
        pattern: String,
        /// Why.
        reason: String,
    },
}

/// What a rule does when it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleAction {
    /// Accept and stop.
    Accept,
    /// Drop and stop (kept in the Adj-RIB-In, shown as filtered).
    Discard,
    /// Drop and stop (kept in the Adj-RIB-In, shown as filtered).
    Reject,
    /// Continue in another chain.
    Jump(String),
    /// Back to the calling chain.
    Return,
    /// Log and continue.
    Log,
    /// Continue.
    Passthrough,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Matched prefix.
    pub prefix: Option<IpNet>,
    /// Matched prefix lengths.
    pub prefix_length: Option<(u8, u8)>,
    /// AS path expression.
    pub as_path: Option<Regex>,
    /// Communities that must all be present.
    pub communities: Vec<u32>,
    /// Matched family.
    pub family: Option<Option<Family>>,
    /// The action.
    pub action: RuleAction,
    /// `set-bgp-local-pref`.
    pub set_local_pref: Option<u32>,
    /// `set-bgp-prepend`.
    pub set_prepend: Option<u8>,
    /// `set-bgp-med`.
    pub set_med: Option<u32>,
    /// `set-bgp-communities` (replaces the route's).
    pub set_communities: Option<Vec<u32>>,
    /// `set-distance`.
    pub set_distance: Option<u8>,
    /// `set-check-gateway`: `Some(true)` probes the route's gateway with ping (`arp` and
    /// `bfd` are probed with ping too), `Some(false)` stops probing (`none`).
    pub set_check_gateway: Option<bool>,
}

/// Every chain by name.
#[derive(Debug, Clone, Default)]
pub struct Chains {
    pub(crate) chains: HashMap<String, Vec<Rule>>,
}

impl Chains {
    /// Compiles the config's filter rules (disabled ones left out).
    ///
    /// # Errors
    /// A `bgp-as-path` that is not a regular expression.
    pub fn compile(rules: &[RoutingFilterRule]) -> Result<Self, FilterError> {
        let mut chains: HashMap<String, Vec<Rule>> = HashMap::new();
        for r in rules.iter().filter(|r| !r.disabled) {
            let chain = r.chain.value.clone();
            let as_path = match &r.bgp_as_path {
                Some(p) => Some(Regex::new(p).map_err(|e| FilterError::BadRegex {
                    chain: chain.clone(),
                    pattern: p.to_string(),
                    reason: e.to_string(),
                })?),
                None => None,
            };
            let action = match r.action.value {
                RoutingAction::Accept => RuleAction::Accept,
                RoutingAction::Discard => RuleAction::Discard,
                RoutingAction::Reject => RuleAction::Reject,
                RoutingAction::Jump => match &r.jump_target {
                    Some(t) => RuleAction::Jump(t.value.clone()),
                    None => RuleAction::Passthrough,
                },
                RoutingAction::Return => RuleAction::Return,
                RoutingAction::Log => RuleAction::Log,
                RoutingAction::Passthrough => RuleAction::Passthrough,
            };
            let rule = Rule {
                prefix: r.prefix.as_ref().map(|p| p.value.trunc()),
                prefix_length: r.prefix_length.as_ref().map(|l| (l.value.min, l.value.max)),
                as_path,
                communities: r
                    .bgp_communities
                    .iter()
                    .map(|c| community_value(*c))
                    .collect(),
                family: r.address_family.map(|f| match f {
                    AddressFamily::Ip => Some(Family::Ipv4),
                    AddressFamily::Ipv6 => Some(Family::Ipv6),
                    _ => None,
                }),
                action,
                set_local_pref: r.set_bgp_local_pref,
                set_prepend: r.set_bgp_prepend.map(|p| p.get()),
                set_med: r.set_bgp_med,
                set_communities: (!r.set_bgp_communities.is_empty()).then(|| {
                    r.set_bgp_communities
                        .iter()
                        .map(|c| community_value(*c))
                        .collect()
                }),
                set_distance: r.set_distance,
                set_check_gateway: r.set_check_gateway.map(|c| c != CheckGateway::None),
            };
            chains.entry(chain).or_default().push(rule);
        }
        Ok(Self { chains })
    }

    /// Whether a chain of that name has rules.
    #[must_use]
    pub fn has(&self, chain: &str) -> bool {
        self.chains.contains_key(chain)
    }
}

/// The 32-bit value of a configured community.
#[must_use]
pub fn community_value(c: Community) -> u32 {
    match c {
        Community::Standard(a, b) => (u32::from(a) << 16) | u32::from(b),
        Community::Internet => 0,
        Community::NoExport => community::NO_EXPORT,
        Community::NoAdvertise => community::NO_ADVERTISE,
        Community::LocalAs => community::NO_EXPORT_SUBCONFED,
    }
}
