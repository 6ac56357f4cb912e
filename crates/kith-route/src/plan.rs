//! Which kernel routes the config asks for: `ip/route` and `ipv6/route` entries, resolved.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use kith_config::{CheckGateway, Config, Gateway, RouteType};
use kith_net::{PROTO_STATIC, Route, RouteKind, RouteSource, TABLE_MAIN};

/// Where a static route sends its packets, before interface labels are resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Via {
    /// A next-hop address.
    Address(IpAddr),
    /// An interface label (a tunnel, a point-to-point link).
    Interface(String),
}

/// One enabled static route of the config.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StaticRoute {
    pub dst: IpNet,
    pub via: Option<Via>,
    pub distance: u8,
    pub kind: RouteKind,
    pub table: u32,
    pub pref_src: Option<IpAddr>,
    pub check_gateway: bool,
}

impl StaticRoute {
    /// The kernel route, given the ifindex of `via` when it names an interface.
    pub fn to_kernel(&self, oif: Option<u32>) -> Route {
        let mut route = Route::new(self.dst)
            .with_protocol(PROTO_STATIC)
            .with_metric(kith_net::metric(self.distance, RouteSource::Static))
            .with_table(self.table)
            .with_kind(self.kind);
        if let Some(Via::Address(gateway)) = &self.via {
            route = route.with_gateway(*gateway);
        }
        if let Some(oif) = oif {
            route = route.with_oif(oif);
        }
        if let Some(src) = self.pref_src {
            route = route.with_pref_src(src);
        }
        route
    }
}

impl fmt::Display for StaticRoute {
    /// `192.168.42.0/24 via 172.16.10.2 distance 10`, as a log line says it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dst)?;
        match &self.via {
            Some(Via::Address(a)) => write!(f, " via {a}")?,
            Some(Via::Interface(i)) => write!(f, " dev {i}")?,
            None => write!(f, " {}", self.kind.as_str())?,
        }
        write!(f, " distance {}", self.distance)?;
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        Ok(())
    }
}

/// The config's enabled static routes, and a note for each entry that cannot be used.
pub fn static_routes(config: &Config) -> (Vec<StaticRoute>, Vec<String>) {
    let mut routes = Vec::new();
    let mut notes = Vec::new();
    let v4 = config.ip.route.iter().map(|r| {
        let gateways: Vec<Via> = r.gateway.iter().map(via_of).collect();
        let common = Common {
            dst: IpNet::V4(r.dst_address.trunc()),
            distance: r.distance.get(),
            route_type: r.route_type,
            table: &r.routing_table,
            pref_src: r.pref_src.map(IpAddr::V4),
            check_gateway: r.check_gateway,
            disabled: r.disabled,
        };
        (common, gateways)
    });
    let v6 = config.ipv6.route.iter().map(|r| {
        let gateways: Vec<Via> = r.gateway.iter().map(via_of).collect();
        let common = Common {
            dst: IpNet::V6(r.dst_address.trunc()),
            distance: r.distance.get(),
            route_type: r.route_type,
            table: &r.routing_table,
            pref_src: None,
            check_gateway: r.check_gateway,
            disabled: r.disabled,
        };
        (common, gateways)
    });
    for (c, gateways) in v4.chain(v6) {
        if c.disabled {
            continue;
        }
        let Some(table) = table_id(c.table) else {
            notes.push(format!(
                "route to {}: routing-table `{}` is not supported yet (only main or a number)",
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
        if kind == RouteKind::Unicast && gateways.is_empty() {
            notes.push(format!(
                "route to {}: no gateway and type unicast; ignored",
                c.dst
            ));
            continue;
        }
        if gateways.len() > 1 {
            notes.push(format!(
                "route to {}: {} gateways (ECMP) are not supported yet; using the first",
                c.dst,
                gateways.len()
            ));
        }
        let via = if kind == RouteKind::Unicast {
            gateways.into_iter().next()
        } else {
            None
        };
        routes.push(StaticRoute {
            dst: c.dst,
            via,
            distance: c.distance,
            kind,
            table,
            pref_src: c.pref_src,
            check_gateway: c.check_gateway == CheckGateway::Ping,
        });
    }
    (routes, notes)
}

struct Common<'a> {
    dst: IpNet,
    distance: u8,
    route_type: RouteType,
    table: &'a str,
    pref_src: Option<IpAddr>,
    check_gateway: CheckGateway,
    disabled: bool,
}

fn via_of<A: Copy + Into<IpAddr>>(gateway: &Gateway<A>) -> Via {
    match gateway {
        Gateway::Address(a) => Via::Address((*a).into()),
        Gateway::Interface(label) => Via::Interface(label.value.clone()),
    }
}

/// `main` is table 254; a number names a table directly.
fn table_id(name: &str) -> Option<u32> {
    if name == "main" {
        Some(TABLE_MAIN)
    } else {
        name.parse().ok().filter(|&t| t > 0 && t < 253)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Config {
        match kith_config::load_str(text, "test.yaml") {
            Ok(loaded) => loaded.config,
            Err(diags) => panic!("config does not load: {diags:?}"),
        }
    }

    #[test]
    fn scenario_routes_get_the_distance_ordered_metric() {
        let config = load(
            "ip:\n  route:\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.10.2\n      distance: 10\n      check-gateway: ping\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.11.2\n      distance: 20\n    - dst-address: 10.9.0.0/16\n      type: blackhole\n    - dst-address: 10.8.0.0/16\n      gateway: 10.0.0.1\n      disabled: yes\n",
        );
        let (routes, notes) = static_routes(&config);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(routes.len(), 3);
        let first = routes[0].to_kernel(None);
        assert_eq!(first.metric, 161);
        assert_eq!(first.protocol, PROTO_STATIC);
        assert_eq!(first.gateway, Some("172.16.10.2".parse().unwrap()));
        assert!(routes[0].check_gateway);
        assert_eq!(routes[1].to_kernel(None).metric, 321);
        assert_eq!(routes[2].kind, RouteKind::Blackhole);
        assert_eq!(routes[2].via, None);
        assert_eq!(
            routes[0].to_string(),
            "192.168.42.0/24 via 172.16.10.2 distance 10"
        );
    }

    #[test]
    fn unsupported_entries_are_noted_not_dropped_silently() {
        let config = load(
            "ip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.1,10.0.0.2\n    - dst-address: 10.2.0.0/16\n      gateway: 10.0.0.1\n      routing-table: vpn\n",
        );
        let (routes, notes) = static_routes(&config);
        assert_eq!(routes.len(), 1);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("ECMP"));
        assert!(notes[1].contains("routing-table `vpn`"));
    }
}
