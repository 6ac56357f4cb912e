//! Evaluating a chain on one route: [`Chains::evaluate`].

use ipnet::IpNet;

use crate::codec::{Family, PathAttributes};

use super::compile::{Chains, Rule, RuleAction};

/// How deep `jump` may nest (config validation refuses loops; this bounds anyway).
const MAX_DEPTH: usize = 16;

/// A route going through a filter: what the rules match and change.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The prefix.
    pub prefix: IpNet,
    /// Its attributes (the setters change them).
    pub attrs: PathAttributes,
    /// Distance set by `set-distance`.
    pub distance: Option<u8>,
    /// Set by `set-check-gateway`: whether the gateway is probed (a route whose gateway
    /// does not answer is not used).
    pub check_gateway: Option<bool>,
    /// The AS `set-bgp-prepend` prepends (own AS outbound, neighbour AS inbound).
    pub prepend_as: u32,
}

/// The outcome of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The route passes.
    Accept,
    /// Dropped by a `discard` rule.
    Discard,
    /// Dropped by a `reject` rule.
    Reject,
}

impl Verdict {
    /// The RouterOS word.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Discard => "discard",
            Self::Reject => "reject",
        }
    }
}

enum Flow {
    Final(Verdict),
    Continue,
}

impl Chains {
    /// Runs `chain` on `route`; a missing chain or falling off its end accepts.
    pub fn evaluate(&self, chain: &str, route: &mut Candidate) -> Verdict {
        match self.run(chain, route, 0) {
            Flow::Final(v) => v,
            Flow::Continue => Verdict::Accept,
        }
    }

    fn run(&self, chain: &str, route: &mut Candidate, depth: usize) -> Flow {
        let Some(rules) = self.chains.get(chain) else {
            return Flow::Continue;
        };
        if depth >= MAX_DEPTH {
            tracing::warn!(
                "routing filter: jumps nest deeper than {MAX_DEPTH} at chain {chain}; route {} continues",
                route.prefix
            );
            return Flow::Continue;
        }
        for rule in rules {
            if !matches(rule, route) {
                continue;
            }
            apply_setters(rule, route);
            match &rule.action {
                RuleAction::Accept => return Flow::Final(Verdict::Accept),
                RuleAction::Discard => return Flow::Final(Verdict::Discard),
                RuleAction::Reject => return Flow::Final(Verdict::Reject),
                RuleAction::Return => return Flow::Continue,
                RuleAction::Jump(target) => {
                    if let Flow::Final(v) = self.run(target, route, depth + 1) {
                        return Flow::Final(v);
                    }
                }
                RuleAction::Log => tracing::info!(
                    "routing filter {chain}: {} as-path \"{}\"",
                    route.prefix,
                    route.attrs.as_path
                ),
                RuleAction::Passthrough => {}
            }
        }
        Flow::Continue
    }
}

fn matches(rule: &Rule, route: &Candidate) -> bool {
    let len = route.prefix.prefix_len();
    match (rule.prefix, rule.prefix_length) {
        (Some(p), None) if p != route.prefix => return false,
        (Some(p), Some(_)) if !p.contains(&route.prefix) => return false,
        _ => {}
    }
    if let Some((min, max)) = rule.prefix_length {
        if len < min || len > max {
            return false;
        }
    }
    if let Some(family) = rule.family {
        if family != Some(Family::of(&route.prefix)) {
            return false;
        }
    }
    if let Some(re) = &rule.as_path {
        if !re.is_match(&route.attrs.as_path.to_string()) {
            return false;
        }
    }
    rule.communities
        .iter()
        .all(|c| route.attrs.communities.contains(c))
}

fn apply_setters(rule: &Rule, route: &mut Candidate) {
    if let Some(lp) = rule.set_local_pref {
        route.attrs.local_pref = Some(lp);
    }
    if let Some(n) = rule.set_prepend {
        route
            .attrs
            .as_path
            .prepend(route.prepend_as, usize::from(n));
    }
    if let Some(med) = rule.set_med {
        route.attrs.med = Some(med);
    }
    if let Some(c) = &rule.set_communities {
        route.attrs.communities = c.clone();
    }
    if let Some(d) = rule.set_distance {
        route.distance = Some(d);
    }
    if let Some(c) = rule.set_check_gateway {
        route.check_gateway = Some(c);
    }
}
