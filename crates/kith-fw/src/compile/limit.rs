//! `limit` to nft `limit rate`: the rate in a unit nft has, and a token bucket the kernel
//! takes.

use kith_config::{Limit, LimitMode};

use super::rule::{Match, RuleCx};

/// `limit`: matches while under the rate, as RouterOS (nft `limit rate`).
pub fn limit(cx: &mut RuleCx<'_, '_>) -> Option<Match> {
    let limit: Limit = cx.rule.limit?;
    let loc = cx.loc();
    if limit.rate == 0 {
        cx.error(
            loc,
            "limit with rate 0 never matches; nftables has no such limit",
        );
        return Some(Match::Never);
    }
    let rate = rate_per_unit(&limit);
    if !rate.exact {
        cx.warn(
            loc,
            format!("limit {limit}: rounded up to {}/{}", rate.value, rate.unit),
        );
    }
    if !fits_the_kernel(&limit, &rate) {
        cx.error(loc, format!("limit {limit} is too large for nftables"));
        return Some(Match::Never);
    }
    let (value, unit) = (rate.value, rate.unit);
    let mut expr = match limit.mode {
        LimitMode::Packet => format!("limit rate {value}/{unit}"),
        LimitMode::Bytes => format!("limit rate {value} bytes/{unit}"),
    };
    match (limit.mode, limit.burst) {
        (LimitMode::Packet, 0) => cx.warn(
            loc,
            format!(
                "limit {limit}: burst 0 is not possible in nftables; its default (5 packets) applies"
            ),
        ),
        (LimitMode::Packet, b) => expr.push_str(&format!(" burst {b} packets")),
        (LimitMode::Bytes, b) => expr.push_str(&format!(" burst {b} bytes")),
    }
    Some(Match::Expr(expr))
}

/// A rate in an nft unit.
struct Rate {
    value: u128,
    unit: &'static str,
    seconds: u128,
    exact: bool,
}

/// The rate in the smallest nft unit where it is a whole number; else in the smallest
/// unit where rounding up changes it by at most 1 %; else per week, rounded up.
fn rate_per_unit(limit: &Limit) -> Rate {
    let per_ms = limit.per.get().as_millis().max(1);
    let units: [(&str, u128); 5] = [
        ("second", 1),
        ("minute", 60),
        ("hour", 3_600),
        ("day", 86_400),
        ("week", 604_800),
    ];
    let rate = u128::from(limit.rate);
    let exact = units
        .iter()
        .find(|(_, secs)| (rate * secs * 1000) % per_ms == 0);
    let close = || {
        units
            .iter()
            .find(|(_, secs)| rate * secs * 1000 / per_ms >= 100)
    };
    let (unit, seconds) = exact.or_else(close).copied().unwrap_or(("week", 604_800));
    Rate {
        value: (rate * seconds * 1000).div_ceil(per_ms).max(1),
        unit,
        seconds,
        exact: exact.is_some(),
    }
}

/// Whether the kernel takes the limit: it refuses token buckets whose size in
/// nanoseconds does not fit 64 bits.
fn fits_the_kernel(limit: &Limit, rate: &Rate) -> bool {
    let nsecs = rate.seconds * 1_000_000_000;
    let burst = u128::from(limit.burst);
    let max = u128::from(u64::MAX);
    if rate.value > max {
        return false;
    }
    match limit.mode {
        LimitMode::Packet => (nsecs / rate.value) * burst.max(5) <= max,
        LimitMode::Bytes => nsecs * (rate.value + burst) <= max,
    }
}
