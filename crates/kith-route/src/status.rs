//! `GET /status` of `kith routed`: the JSON types, how they are computed from the daemon's
//! state and the kernel's routes, and the RouterOS-style table `kith route print` shows.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use kith_net::{
    PROTO_BGP, PROTO_KERNEL, PROTO_STATIC, RouteInfo, RouteKind, TABLE_LOCAL, TABLE_MAIN,
};
use serde::{Deserialize, Serialize};

use crate::plan::{StaticRoute, Via};
use crate::probe::{ProbeKey, ProbeSettings, Probers};
use crate::resolve::Interfaces;

/// Everything `kith routed` knows: its routes (and the kernel's other routes of the same
/// tables, as dynamic entries) and its probed gateways.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Status {
    /// Routes, static ones first in config order.
    pub routes: Vec<RouteStatus>,
    /// Gateways probed by `check-gateway=ping`.
    pub gateways: Vec<GatewayStatus>,
}

/// One route, as `/ip route print detail` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteStatus {
    /// `192.168.42.0/24`.
    pub dst_address: String,
    /// Gateways (addresses or interfaces); empty for blackhole/unreachable/prohibit.
    pub gateway: Vec<String>,
    /// RouterOS distance.
    pub distance: u8,
    /// `main` or the table number.
    pub routing_table: String,
    /// `unicast`, `blackhole`, `unreachable`, `prohibit`.
    pub route_type: String,
    /// Who installed it: `static`, `connect`, `bgp`, `kernel`, or a protocol number.
    pub protocol: String,
    /// The kernel metric, when installed.
    pub metric: Option<u32>,
    /// Flags.
    pub flags: Flags,
    /// `check-gateway=ping` timing, when checked.
    pub check_gateway: Option<Timing>,
    /// Free text from the config.
    pub comment: Option<String>,
}

/// RouterOS route flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Flags {
    /// A: the kernel uses it (installed, and no better route to the same destination).
    pub active: bool,
    /// S: a static route of the config.
    #[serde(rename = "static")]
    pub static_route: bool,
    /// X: disabled in the config.
    pub disabled: bool,
    /// D: dynamic (not from `ip/route`).
    pub dynamic: bool,
    /// C: connected.
    pub connect: bool,
    /// b: from BGP.
    pub bgp: bool,
    /// B: blackhole.
    pub blackhole: bool,
    /// U: unreachable (type unreachable, or every checked gateway unreachable: withdrawn).
    pub unreachable: bool,
    /// P: prohibit.
    pub prohibit: bool,
}

impl Flags {
    /// `AS`, `XS`, `DAC`, ... in RouterOS order.
    pub fn letters(&self) -> String {
        [
            (self.disabled, 'X'),
            (self.active, 'A'),
            (self.dynamic, 'D'),
            (self.connect, 'C'),
            (self.static_route, 'S'),
            (self.bgp, 'b'),
            (self.blackhole, 'B'),
            (self.unreachable, 'U'),
            (self.prohibit, 'P'),
        ]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, c)| *c)
        .collect()
    }
}

/// Probe timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// Interval between probes, ms.
    pub interval_ms: u64,
    /// Losses in a row that make a gateway unreachable.
    pub threshold: u8,
    /// Answers in a row that make it reachable again.
    pub recovery: u8,
}

/// One probed gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayStatus {
    /// Gateway address.
    pub gateway: String,
    /// Kernel name of the interface the probes leave by, when known.
    pub interface: Option<String>,
    /// `reachable`, `unreachable` or `unknown`.
    pub state: String,
    /// Round-trip time of the last answered probe, microseconds.
    pub last_rtt_us: Option<u64>,
    /// Probes lost in a row.
    pub lost_in_row: u32,
    /// Probes sent.
    pub sent: u64,
    /// Probes answered.
    pub answered: u64,
    /// Milliseconds since the state last changed.
    pub for_ms: u64,
    /// Probe timing.
    pub timing: Timing,
}

fn timing_of(settings: ProbeSettings) -> Timing {
    Timing {
        interval_ms: u64::try_from(settings.interval.as_millis()).unwrap_or(u64::MAX),
        threshold: settings.threshold,
        recovery: settings.recovery,
    }
}

/// The gateways' status from the probers; `interfaces` names the interface of each.
pub fn gateways(
    probers: &Probers,
    interfaces: &HashMap<ProbeKey, String>,
    now: Instant,
) -> Vec<GatewayStatus> {
    probers
        .iter()
        .map(|(key, fsm)| {
            let (sent, answered) = fsm.counts();
            GatewayStatus {
                gateway: key.gateway.to_string(),
                interface: interfaces.get(key).cloned(),
                state: fsm.reach().as_str().to_owned(),
                last_rtt_us: fsm
                    .last_rtt()
                    .map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
                lost_in_row: fsm.lost_in_row(),
                sent,
                answered,
                for_ms: u64::try_from(now.saturating_duration_since(fsm.since()).as_millis())
                    .unwrap_or(u64::MAX),
                timing: timing_of(key.settings),
            }
        })
        .collect()
}

fn table_name(table: u32) -> String {
    if table == TABLE_MAIN {
        "main".to_owned()
    } else {
        table.to_string()
    }
}

fn kind_flags(kind: RouteKind, flags: &mut Flags) {
    flags.blackhole = kind == RouteKind::Blackhole;
    flags.unreachable = kind == RouteKind::Unreachable;
    flags.prohibit = kind == RouteKind::Prohibit;
}

/// Whether `info` is the route the kernel uses for its destination: no other usable
/// route of the same table and destination has a lower metric.
fn is_active(info: &RouteInfo, kernel: &[RouteInfo]) -> bool {
    let usable = |r: &RouteInfo| {
        !r.linkdown && (r.nexthops.is_empty() || r.nexthops.iter().any(|n| !n.linkdown))
    };
    usable(info)
        && !kernel.iter().any(|o| {
            o.route.table == info.route.table
                && o.route.dst == info.route.dst
                && o.route.metric < info.route.metric
                && usable(o)
        })
}

/// Whether an installed kernel route is this daemon's route for `s`.
fn is_own(info: &RouteInfo, s: &StaticRoute) -> bool {
    info.route.protocol == PROTO_STATIC
        && info.route.table == s.table
        && info.route.dst == s.dst
        && info.route.metric == s.metric()
}

/// Builds the status: the config's static routes with what the kernel and the probers
/// say about them, then the kernel's other routes of the tables in use as dynamic.
pub fn build(
    statics: &[StaticRoute],
    gateways: Vec<GatewayStatus>,
    kernel: &[RouteInfo],
    interfaces: &Interfaces,
) -> Status {
    let state_of = |gw: &str, s: &StaticRoute| {
        let timing = s.check.map(timing_of);
        gateways
            .iter()
            .find(|g| g.gateway == gw && timing == Some(g.timing))
    };
    let mut routes = Vec::new();
    let mut tables = vec![TABLE_MAIN];
    for s in statics {
        if !tables.contains(&s.table) {
            tables.push(s.table);
        }
        let installed = kernel.iter().find(|i| is_own(i, s));
        let mut flags = Flags {
            static_route: true,
            disabled: s.disabled,
            active: !s.disabled && installed.is_some_and(|i| is_active(i, kernel)),
            ..Flags::default()
        };
        kind_flags(s.kind, &mut flags);
        let addresses: Vec<String> = s.probed().map(|a| a.to_string()).collect();
        if !s.disabled
            && !addresses.is_empty()
            && s.gateways.len() == addresses.len()
            && addresses
                .iter()
                .all(|a| state_of(a, s).is_some_and(|g| g.state == "unreachable"))
        {
            flags.unreachable = true;
        }
        routes.push(RouteStatus {
            dst_address: s.dst.to_string(),
            gateway: s.gateways.iter().map(Via::to_string).collect(),
            distance: s.distance,
            routing_table: table_name(s.table),
            route_type: s.kind.as_str().to_owned(),
            protocol: "static".to_owned(),
            metric: installed.map(|i| i.route.metric),
            flags,
            check_gateway: s.check.map(timing_of),
            comment: s.comment.clone(),
        });
    }
    for info in kernel {
        let r = &info.route;
        if !tables.contains(&r.table) || r.table == TABLE_LOCAL {
            continue;
        }
        if statics.iter().any(|s| is_own(info, s)) {
            continue;
        }
        if !matches!(
            r.kind,
            RouteKind::Unicast
                | RouteKind::Blackhole
                | RouteKind::Unreachable
                | RouteKind::Prohibit
        ) {
            continue;
        }
        if let std::net::IpAddr::V6(v6) = r.dst.addr()
            && (v6.segments()[0] & 0xffc0 == 0xfe80 || v6.segments()[0] & 0xff00 == 0xff00)
        {
            continue;
        }
        let mut flags = Flags {
            dynamic: true,
            active: is_active(info, kernel),
            connect: r.protocol == PROTO_KERNEL,
            bgp: r.protocol == PROTO_BGP,
            ..Flags::default()
        };
        kind_flags(r.kind, &mut flags);
        let ifname =
            |index: Option<u32>| index.and_then(|i| interfaces.by_index(i)).map(|l| l.name);
        let gateway: Vec<String> = if info.nexthops.is_empty() {
            r.gateway
                .map(|g| g.to_string())
                .or_else(|| ifname(r.oif))
                .into_iter()
                .collect()
        } else {
            info.nexthops
                .iter()
                .filter_map(|n| n.gateway.map(|g| g.to_string()).or_else(|| ifname(n.oif)))
                .collect()
        };
        let distance = match kith_net::metric_parts(r.metric) {
            _ if r.protocol == PROTO_KERNEL => 0,
            Some((d, _)) => d,
            None => u8::try_from(r.metric).unwrap_or(u8::MAX),
        };
        routes.push(RouteStatus {
            dst_address: r.dst.to_string(),
            gateway,
            distance,
            routing_table: table_name(r.table),
            route_type: r.kind.as_str().to_owned(),
            protocol: match r.protocol {
                PROTO_KERNEL => "connect".to_owned(),
                PROTO_BGP => "bgp".to_owned(),
                PROTO_STATIC => "static".to_owned(),
                other => other.to_string(),
            },
            metric: Some(r.metric),
            flags,
            check_gateway: None,
            comment: None,
        });
    }
    Status { routes, gateways }
}

fn rtt_text(us: u64) -> String {
    if us < 10_000 {
        format!("{:.2}ms", us as f64 / 1000.0)
    } else {
        format!("{}ms", us / 1000)
    }
}

/// The RouterOS-style table of `kith route print`.
pub fn render(status: &Status) -> String {
    let mut rows: Vec<[String; 7]> = vec![[
        "#".into(),
        "FLAGS".into(),
        "DST-ADDRESS".into(),
        "GATEWAY".into(),
        "DISTANCE".into(),
        "GATEWAY-STATE".into(),
        "RTT".into(),
    ]];
    let mut comments = Vec::new();
    for (n, r) in status.routes.iter().enumerate() {
        let gateway = if r.gateway.is_empty() {
            r.route_type.clone()
        } else {
            r.gateway.join(",")
        };
        let mut states = Vec::new();
        let mut rtts = Vec::new();
        for gw in &r.gateway {
            let probed = r.check_gateway.and_then(|t| {
                status
                    .gateways
                    .iter()
                    .find(|g| &g.gateway == gw && g.timing == t)
            });
            match probed {
                Some(g) => {
                    let mut text = format!("{gw} {}", g.state);
                    if let Some(i) = &g.interface {
                        text.push_str(&format!(" via {i}"));
                    }
                    if g.state == "unreachable" {
                        text.push_str(&format!(" ({} lost)", g.lost_in_row));
                    }
                    states.push(text);
                    rtts.push(g.last_rtt_us.map(rtt_text).unwrap_or_else(|| "-".into()));
                }
                None if r.check_gateway.is_some() && gw.parse::<std::net::IpAddr>().is_ok() => {
                    states.push(format!("{gw} not probed yet"));
                }
                None => {}
            }
        }
        if let Some(c) = &r.comment {
            comments.push((n, c.clone()));
        }
        let mut dst = r.dst_address.clone();
        if r.routing_table != "main" {
            dst.push_str(&format!(" table={}", r.routing_table));
        }
        rows.push([
            n.to_string(),
            r.flags.letters(),
            dst,
            gateway,
            r.distance.to_string(),
            states.join(", "),
            rtts.join(","),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::from(
        "Flags: X - disabled, A - active, D - dynamic, C - connect, S - static, b - bgp, B - blackhole, U - unreachable, P - prohibit\n",
    );
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i + 1 == row.len() {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    for (n, c) in comments {
        let _ = writeln!(out, ";;; #{n}: {c}");
    }
    out
}

#[cfg(test)]
mod tests;
