//! Which kernel routes the config asks for: `ip/route` and `ipv6/route` entries, resolved.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use kith_config::{CheckGateway, Config, Gateway, RouteType};
use kith_net::{NextHop, PROTO_STATIC, Route, RouteKind, RouteSource, TABLE_MAIN};

use crate::probe::ProbeSettings;

/// Where a static route sends its packets, before interface labels are resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Via {
    /// A next-hop address.
    Address(IpAddr),
    /// An interface label (a tunnel, a point-to-point link).
    Interface(String),
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Via::Address(a) => a.fmt(f),
            Via::Interface(i) => f.write_str(i),
        }
    }
}

/// One static route of the config (enabled or not).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaticRoute {
    /// Destination prefix.
    pub dst: IpNet,
    /// Next hops, in config order; several make an ECMP route. Empty for blackhole,
    /// unreachable and prohibit routes.
    pub gateways: Vec<Via>,
    /// RouterOS distance.
    pub distance: u8,
    /// Route type.
    pub kind: RouteKind,
    /// Kernel table.
    pub table: u32,
    /// Preferred source address.
    pub pref_src: Option<IpAddr>,
    /// `check-gateway=ping` and its timing; `None` when gateways are not checked.
    pub check: Option<ProbeSettings>,
    /// `disabled=yes`: kept for `print`, never installed.
    pub disabled: bool,
    /// Free text.
    pub comment: Option<String>,
}

/// A next hop with its interface label resolved to an ifindex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ResolvedHop {
    /// Gateway address.
    pub gateway: Option<IpAddr>,
    /// Output interface.
    pub oif: Option<u32>,
}

/// What the kernel should hold for one static route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Desired {
    /// The route; for a multipath route without gateway and interface.
    pub route: Route,
    /// Next hops of a multipath (ECMP) route; empty for a single path.
    pub nexthops: Vec<NextHop>,
}

impl StaticRoute {
    /// The kernel route through the usable `hops` (those of unreachable gateways left out);
    /// `None` when a unicast route has no usable hop left (the route is withdrawn).
    pub fn desired(&self, hops: &[ResolvedHop]) -> Option<Desired> {
        let mut route = Route::new(self.dst)
            .with_protocol(PROTO_STATIC)
            .with_metric(self.metric())
            .with_table(self.table)
            .with_kind(self.kind);
        if let Some(src) = self.pref_src {
            route = route.with_pref_src(src);
        }
        if self.kind != RouteKind::Unicast {
            return Some(Desired {
                route,
                nexthops: Vec::new(),
            });
        }
        match hops {
            [] => None,
            [one] => {
                route.gateway = one.gateway;
                route.oif = one.oif;
                Some(Desired {
                    route,
                    nexthops: Vec::new(),
                })
            }
            many => {
                let mut nexthops: Vec<NextHop> = Vec::new();
                for hop in many {
                    let dup = nexthops
                        .iter()
                        .any(|n| n.gateway == hop.gateway && n.oif == hop.oif);
                    if !dup {
                        nexthops.push(NextHop {
                            gateway: hop.gateway,
                            oif: hop.oif,
                            weight: 1,
                            linkdown: false,
                        });
                    }
                }
                if let [one] = nexthops.as_slice() {
                    route.gateway = one.gateway;
                    route.oif = one.oif;
                    nexthops.clear();
                }
                Some(Desired { route, nexthops })
            }
        }
    }

    /// The kernel metric: `distance * 16 + 1` (DESIGN, "Kernel routes").
    pub fn metric(&self) -> u32 {
        kith_net::metric(self.distance, RouteSource::Static)
    }

    /// `192.168.42.0/24 distance 10` (and the table when not main): how logs name it.
    pub fn short(&self) -> String {
        let mut text = format!("{} distance {}", self.dst, self.distance);
        if self.table != TABLE_MAIN {
            text.push_str(&format!(" table {}", self.table));
        }
        text
    }

    /// The gateway addresses that `check-gateway=ping` probes.
    pub fn probed(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.gateways.iter().filter_map(move |via| match via {
            Via::Address(a) if self.check.is_some() => Some(*a),
            _ => None,
        })
    }
}

impl fmt::Display for StaticRoute {
    /// `192.168.42.0/24 via 172.16.10.2 distance 10`, as a log line says it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dst)?;
        if self.gateways.is_empty() {
            write!(f, " {}", self.kind.as_str())?;
        } else {
            let list: Vec<String> = self.gateways.iter().map(Via::to_string).collect();
            write!(f, " via {}", list.join(","))?;
        }
        write!(f, " distance {}", self.distance)?;
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        Ok(())
    }
}

/// The config's static routes (disabled ones included, flagged) and a note for each
/// entry that cannot be used.
pub fn static_routes(config: &Config) -> (Vec<StaticRoute>, Vec<String>) {
    let v4 = config.ip.route.iter().map(|r| Common {
        dst: IpNet::V4(r.dst_address.trunc()),
        gateways: r.gateway.iter().map(via_of).collect(),
        distance: r.distance.get(),
        route_type: r.route_type,
        table: &r.routing_table,
        pref_src: r.pref_src.map(IpAddr::V4),
        check_gateway: r.check_gateway,
        settings: ProbeSettings {
            interval: r.check_gateway_interval.get(),
            threshold: *r.check_gateway_threshold,
            recovery: *r.check_gateway_recovery,
        },
        disabled: r.disabled,
        comment: r.comment.clone(),
    });
    let v6 = config.ipv6.route.iter().map(|r| Common {
        dst: IpNet::V6(r.dst_address.trunc()),
        gateways: r.gateway.iter().map(via_of).collect(),
        distance: r.distance.get(),
        route_type: r.route_type,
        table: &r.routing_table,
        pref_src: None,
        check_gateway: r.check_gateway,
        settings: ProbeSettings {
            interval: r.check_gateway_interval.get(),
            threshold: *r.check_gateway_threshold,
            recovery: *r.check_gateway_recovery,
        },
        disabled: r.disabled,
        comment: r.comment.clone(),
    });
    let mut routes = Vec::new();
    let mut notes = Vec::new();
    for c in v4.chain(v6) {
        let Some(table) = table_id(c.table) else {
            notes.push(format!(
                "route to {}: routing-table `{}` is not supported (use main or a table number 1..252); ignored",
                c.dst, c.table
            ));
            continue;
        };
        let kind = match c.route_type {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::Blackhole => RouteKind::Blackhole,
            RouteType::Unreachable => RouteKind::Unreachable,
            RouteType::Prohibit => RouteKind::Prohibit,
        };
        if kind == RouteKind::Unicast && c.gateways.is_empty() {
            notes.push(format!(
                "route to {}: no gateway and type unicast; ignored",
                c.dst
            ));
            continue;
        }
        let check = match c.check_gateway {
            CheckGateway::Ping if kind == RouteKind::Unicast => {
                for via in &c.gateways {
                    if let Via::Interface(label) = via {
                        notes.push(format!(
                            "route to {}: check-gateway=ping probes gateway addresses; interface {label} is used unchecked",
                            c.dst
                        ));
                    }
                }
                Some(c.settings)
            }
            CheckGateway::None | CheckGateway::Ping => None,
            other => {
                notes.push(format!(
                    "route to {}: check-gateway={other} is not supported (none or ping); gateways are not checked",
                    c.dst
                ));
                None
            }
        };
        let gateways = if kind == RouteKind::Unicast {
            c.gateways
        } else {
            Vec::new()
        };
        routes.push(StaticRoute {
            dst: c.dst,
            gateways,
            distance: c.distance,
            kind,
            table,
            pref_src: c.pref_src,
            check,
            disabled: c.disabled,
            comment: c.comment,
        });
    }
    (routes, notes)
}

struct Common<'a> {
    dst: IpNet,
    gateways: Vec<Via>,
    distance: u8,
    route_type: RouteType,
    table: &'a str,
    pref_src: Option<IpAddr>,
    check_gateway: CheckGateway,
    settings: ProbeSettings,
    disabled: bool,
    comment: Option<String>,
}

fn via_of<A: Copy + Into<IpAddr>>(gateway: &Gateway<A>) -> Via {
    match gateway {
        Gateway::Address(a) => Via::Address((*a).into()),
        Gateway::Interface(label) => Via::Interface(label.value.clone()),
    }
}

/// `main` is table 254; a number 1..252 names a table directly. Named tables
/// (RouterOS `/routing table`) are not supported yet.
pub fn table_id(name: &str) -> Option<u32> {
    if name == "main" {
        Some(TABLE_MAIN)
    } else {
        name.parse().ok().filter(|&t| t > 0 && t < 253)
    }
}

#[cfg(test)]
mod tests;
