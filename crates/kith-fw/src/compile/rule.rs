//! One RouterOS rule to one nft rule line: matchers in a fixed order, then log, the
//! action and the comment.

use kith_config::{FirewallRule, Loc};

use super::chains::Chains;
use super::menu::Menu;
use super::sets::{Catalog, Used};
use super::{actions, limit, matchers, text};
use crate::error::{CompileError, CompileWarning};
use crate::names::InterfaceNames;

/// What a rule is compiled against, and where its problems are collected.
pub struct RuleCx<'c, 'a> {
    /// The rule's menu.
    pub menu: &'c Menu<'a>,
    /// The menu's chains.
    pub chains: &'c Chains<'a>,
    /// The config's lists.
    pub catalog: &'c Catalog,
    /// Kernel names of interfaces.
    pub names: &'c InterfaceNames,
    /// The lists the table uses so far.
    pub used: &'c mut Used,
    /// The rule.
    pub rule: &'a FirewallRule,
    /// Errors found.
    pub errors: Vec<CompileError>,
    /// Warnings found.
    pub warnings: Vec<CompileWarning>,
}

impl RuleCx<'_, '_> {
    /// Where the rule starts (for problems of values without their own location).
    pub fn loc(&self) -> Loc {
        self.rule.loc
    }

    /// `loc`, or the rule's location when `loc` is unknown (a default value).
    pub fn at(&self, loc: Loc) -> Loc {
        if loc == Loc::default() {
            self.rule.loc
        } else {
            loc
        }
    }

    /// Records an error at `loc`.
    pub fn error(&mut self, loc: Loc, message: impl Into<String>) {
        let loc = self.at(loc);
        self.errors.push(CompileError::new(loc, message));
    }

    /// Records a warning at `loc`.
    pub fn warn(&mut self, loc: Loc, message: impl Into<String>) {
        let loc = self.at(loc);
        self.warnings.push(CompileWarning::new(loc, message));
    }

    /// The built-in chains the rule's chain is reached from.
    pub fn hooks(&self) -> Vec<&'static str> {
        self.chains.reached_from(self.rule.chain.as_str()).collect()
    }
}

/// A matcher's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Matches every packet: nothing to write (`in-interface-list: all`).
    Always,
    /// Matches no packet: the rule is left out (`in-interface-list: none`).
    Never,
    /// An nft expression.
    Expr(String),
}

/// The nft line of the rule, or `None` when it is left out (disabled, can never match,
/// or in error: see `cx.errors`). `nfproto` prefixes rules of base chains of the
/// `inet` table, so IPv4 rules see only IPv4 packets and IPv6 rules only IPv6.
pub fn compile(cx: &mut RuleCx<'_, '_>, nfproto: bool) -> Option<String> {
    let rule = cx.rule;
    if rule.disabled {
        return None;
    }
    let mut parts: Vec<Match> = Vec::new();
    if nfproto {
        let family = if cx.menu.v6 { "ipv6" } else { "ipv4" };
        parts.push(Match::Expr(format!("meta nfproto {family}")));
    }
    parts.extend(matchers::interfaces(cx));
    parts.extend(matchers::addresses(cx));
    parts.extend(matchers::protocol(cx));
    parts.extend(matchers::connection_state(rule));
    parts.extend(limit::limit(cx));
    let action = actions::action(cx);
    if parts.contains(&Match::Never) || !cx.errors.is_empty() {
        return None;
    }
    let mut line: Vec<String> = parts
        .into_iter()
        .filter_map(|m| match m {
            Match::Expr(e) => Some(e),
            Match::Always | Match::Never => None,
        })
        .collect();
    line.extend(action);
    if let Some(comment) = &rule.comment {
        let (quoted, changed) = text::quoted(comment, text::MAX_COMMENT, false);
        if changed {
            cx.warn(
                rule.loc,
                format!(
                    "comment shortened to {} bytes or changed (nft comments hold no \" or control characters)",
                    text::MAX_COMMENT
                ),
            );
        }
        line.push(format!("comment {quoted}"));
    }
    Some(line.join(" "))
}
