//! The chains of one rule list: built-in and custom names, jumps checked (target exists, is
//! not built-in, closes no loop), and which built-in chains reach each chain.

use std::collections::{BTreeSet, HashMap};

use kith_config::{FirewallAction, FirewallRule, Loc};

use super::menu::Menu;
use crate::error::CompileError;

/// The chains of a rule list and who reaches whom.
#[derive(Debug)]
pub struct Chains<'a> {
    /// Custom chains, in order of first appearance.
    pub custom: Vec<&'a str>,
    /// For each chain (built-in or custom), the built-in chains it is reached from.
    reached_from: HashMap<&'a str, BTreeSet<&'static str>>,
}

impl<'a> Chains<'a> {
    /// Reads the chains of `menu`'s rules; jump errors are pushed to `errors`.
    pub fn new(menu: &Menu<'a>, errors: &mut Vec<CompileError>) -> Self {
        let builtin = menu.builtin_names();
        let mut custom: Vec<&'a str> = Vec::new();
        for rule in menu.rules {
            let name = rule.chain.as_str();
            if !builtin.contains(&name) && !custom.contains(&name) {
                custom.push(name);
            }
        }
        let mut edges: HashMap<&'a str, Vec<(&'a str, Loc)>> = HashMap::new();
        for rule in menu.rules.iter().filter(|r| !r.disabled) {
            let Some((target, loc)) = jump_target(rule) else {
                continue;
            };
            if builtin.contains(&target) {
                errors.push(CompileError::new(
                    loc,
                    format!(
                        "cannot jump to the built-in chain {target}; jump to a chain of your own"
                    ),
                ));
            } else if !custom.contains(&target) {
                errors.push(CompileError::new(
                    loc,
                    format!(
                        "unknown chain {target} in {}: no rule has chain: {target}",
                        menu.name
                    ),
                ));
            } else {
                edges
                    .entry(rule.chain.as_str())
                    .or_default()
                    .push((target, loc));
            }
        }
        let mut reached_from: HashMap<&'a str, BTreeSet<&'static str>> = HashMap::new();
        for &hook in builtin {
            let mut seen: BTreeSet<&'a str> = BTreeSet::new();
            let mut todo: Vec<&'a str> = vec![hook];
            while let Some(chain) = todo.pop() {
                if seen.insert(chain) {
                    reached_from.entry(chain).or_default().insert(hook);
                    todo.extend(edges.get(chain).into_iter().flatten().map(|(to, _)| *to));
                }
            }
        }
        let all: Vec<&'a str> = builtin
            .iter()
            .copied()
            .chain(custom.iter().copied())
            .collect();
        report_loops(&all, &edges, errors);
        Self {
            custom,
            reached_from,
        }
    }

    /// The built-in chains from which `chain` is reached (itself, for a built-in chain).
    pub fn reached_from(&self, chain: &str) -> impl Iterator<Item = &'static str> + '_ {
        self.reached_from.get(chain).into_iter().flatten().copied()
    }
}

/// The target of an active `jump` rule, with its location.
fn jump_target(rule: &FirewallRule) -> Option<(&str, Loc)> {
    if *rule.action != FirewallAction::Jump {
        return None;
    }
    let target = rule.jump_target.as_ref()?;
    let loc = if target.loc == Loc::default() {
        rule.loc
    } else {
        target.loc
    };
    Some((target.as_str(), loc))
}

/// Reports every jump that closes a loop (`jump loop: A -> B -> A`), at the jump.
/// Iterative depth-first search, linear in chains and jumps.
fn report_loops<'a>(
    chains: &[&'a str],
    edges: &HashMap<&'a str, Vec<(&'a str, Loc)>>,
    errors: &mut Vec<CompileError>,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        OnStack,
        Done,
    }
    let mut state: HashMap<&'a str, State> = HashMap::new();
    for &start in chains {
        if state.contains_key(start) {
            continue;
        }
        let mut stack: Vec<(&'a str, usize)> = vec![(start, 0)];
        state.insert(start, State::OnStack);
        while let Some(&(chain, index)) = stack.last() {
            let next = edges.get(chain).and_then(|e| e.get(index)).copied();
            let Some((to, loc)) = next else {
                state.insert(chain, State::Done);
                stack.pop();
                continue;
            };
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            match state.get(to) {
                None => {
                    state.insert(to, State::OnStack);
                    stack.push((to, 0));
                }
                Some(State::OnStack) => {
                    let from = stack.iter().position(|(c, _)| *c == to).unwrap_or(0);
                    let mut cycle: Vec<&str> = stack[from..].iter().map(|(c, _)| *c).collect();
                    cycle.push(to);
                    errors.push(CompileError::new(
                        loc,
                        format!("jump loop: {}", cycle.join(" -> ")),
                    ));
                }
                Some(State::Done) => {}
            }
        }
    }
}
