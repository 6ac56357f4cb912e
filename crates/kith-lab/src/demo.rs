//! What `kith lab up` shows on the embedded scenario once its routers run: the checks a
//! user would do by hand (the two NAS reach each other, and over which path).

use std::time::Duration;

use crate::lab::Lab;

/// One check and its outcome, printed as a line of the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// What was checked, in the user's words.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// Evidence: the route in use, or why it failed.
    pub detail: String,
}

/// How long the routers get to come up before a check counts as failed.
const SETTLE: Duration = Duration::from_secs(30);

/// Runs the scenario's checks on a lab built from the embedded scenario.
pub fn scenario_checks(lab: &Lab) -> Vec<CheckResult> {
    let pings = [
        (
            "nas-home",
            "192.168.42.42",
            "home",
            "NAS 192.168.0.2 reaches NAS 192.168.42.42",
        ),
        (
            "nas-remi",
            "192.168.0.2",
            "remi",
            "NAS 192.168.42.42 reaches NAS 192.168.0.2",
        ),
    ];
    pings
        .iter()
        .map(|(from, dst, router, what)| {
            let ok = lab.wait_ping(from, dst, SETTLE).is_ok();
            let detail = match lab.exec_ok(router, &["ip", "route", "get", dst]) {
                Ok(route) => format!(
                    "{router} sends it: {}",
                    route.lines().next().unwrap_or_default().trim()
                ),
                Err(err) => format!("{router}: {err}"),
            };
            CheckResult {
                what: (*what).to_owned(),
                ok,
                detail,
            }
        })
        .collect()
}

/// The checks as lines: `[ ok ] what — detail`.
pub fn render(results: &[CheckResult]) -> String {
    let mut out = String::new();
    for r in results {
        let mark = if r.ok { "[ ok ]" } else { "[FAIL]" };
        out.push_str(&format!("{mark} {} — {}\n", r.what, r.detail));
    }
    out
}
