//! Kernel routes (`ip route`) and Kith's metric convention.
//!
//! DESIGN, "Kernel routes": every daemon installs its routes with its own protocol number
//! and `metric = distance * 16 + source` (static 1, bgp 2, connected/other 3), so Linux
//! prefers the lowest RouterOS distance and two daemons never collide on the same
//! (table, dst, metric).

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteScope, RouteType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::{Net, NetError, Result};

/// `RTPROT_KERNEL`: routes the kernel derives from addresses (connected routes).
pub const PROTO_KERNEL: u8 = 2;
/// `RTPROT_BOOT`: what `ip route add` uses when no protocol is given.
pub const PROTO_BOOT: u8 = 3;
/// `RTPROT_STATIC`: Kith's static routes (`kith routed`).
pub const PROTO_STATIC: u8 = 4;
/// `RTPROT_BGP`: Kith's BGP routes (`kith bgpd`).
pub const PROTO_BGP: u8 = 186;

/// The main routing table.
pub const TABLE_MAIN: u32 = 254;
/// The local routing table (local and broadcast routes the kernel manages).
pub const TABLE_LOCAL: u32 = 255;

/// The source part of Kith's metric encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RouteSource {
    /// Static routes (`ip/route`).
    Static = 1,
    /// BGP routes.
    Bgp = 2,
    /// Connected and any other routes.
    Connected = 3,
}

/// The kernel metric of a route of RouterOS `distance` from `source`:
/// `distance * 16 + source` (DESIGN, "Kernel routes").
///
/// Static distance 1 is metric 17, eBGP (20) is 322, iBGP (200) is 3202.
pub fn metric(distance: u8, source: RouteSource) -> u32 {
    u32::from(distance) * 16 + source as u32
}

/// The distance and source a Kith metric encodes; `None` for a metric that does not
/// follow the convention (another program's route).
pub fn metric_parts(metric: u32) -> Option<(u8, RouteSource)> {
    let distance = u8::try_from(metric / 16).ok()?;
    let source = match metric % 16 {
        1 => RouteSource::Static,
        2 => RouteSource::Bgp,
        3 => RouteSource::Connected,
        _ => return None,
    };
    Some((distance, source))
}

/// The type of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RouteKind {
    /// A normal route through a gateway or an interface.
    #[default]
    Unicast,
    /// Packets are silently dropped (RouterOS `blackhole`).
    Blackhole,
    /// Packets are dropped with ICMP unreachable (RouterOS `type=unreachable`).
    Unreachable,
    /// Packets are dropped with ICMP prohibited (RouterOS `type=prohibit`).
    Prohibit,
    /// A local address (table local).
    Local,
    /// A broadcast address (table local).
    Broadcast,
    /// Multicast.
    Multicast,
    /// Anycast.
    Anycast,
    /// Lookup continues in the next table.
    Throw,
    /// Another type.
    Other(u8),
}

impl RouteKind {
    fn to_netlink(self) -> RouteType {
        match self {
            RouteKind::Unicast => RouteType::Unicast,
            RouteKind::Blackhole => RouteType::BlackHole,
            RouteKind::Unreachable => RouteType::Unreachable,
            RouteKind::Prohibit => RouteType::Prohibit,
            RouteKind::Local => RouteType::Local,
            RouteKind::Broadcast => RouteType::Broadcast,
            RouteKind::Multicast => RouteType::Multicast,
            RouteKind::Anycast => RouteType::Anycast,
            RouteKind::Throw => RouteType::Throw,
            RouteKind::Other(v) => RouteType::Other(v),
        }
    }

    fn from_netlink(kind: RouteType) -> Self {
        match kind {
            RouteType::Unicast => RouteKind::Unicast,
            RouteType::BlackHole => RouteKind::Blackhole,
            RouteType::Unreachable => RouteKind::Unreachable,
            RouteType::Prohibit => RouteKind::Prohibit,
            RouteType::Local => RouteKind::Local,
            RouteType::Broadcast => RouteKind::Broadcast,
            RouteType::Multicast => RouteKind::Multicast,
            RouteType::Anycast => RouteKind::Anycast,
            RouteType::Throw => RouteKind::Throw,
            other => RouteKind::Other(other.into()),
        }
    }

    /// The `ip route` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RouteKind::Unicast => "unicast",
            RouteKind::Blackhole => "blackhole",
            RouteKind::Unreachable => "unreachable",
            RouteKind::Prohibit => "prohibit",
            RouteKind::Local => "local",
            RouteKind::Broadcast => "broadcast",
            RouteKind::Multicast => "multicast",
            RouteKind::Anycast => "anycast",
            RouteKind::Throw => "throw",
            RouteKind::Other(_) => "other",
        }
    }
}

/// A route to install, replace or delete (and the main part of a [`RouteInfo`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Route {
    /// Destination prefix (host bits must be zero).
    pub dst: IpNet,
    /// Gateway (`via`). An IPv6 gateway for an IPv4 destination is sent as `RTA_VIA`.
    pub gateway: Option<IpAddr>,
    /// Output interface index (`dev`).
    pub oif: Option<u32>,
    /// Protocol number: [`PROTO_STATIC`], [`PROTO_BGP`], ...
    pub protocol: u8,
    /// Metric (priority); see [`metric`]. For IPv6 the kernel turns 0 into 1024.
    pub metric: u32,
    /// Routing table ([`TABLE_MAIN`] by default).
    pub table: u32,
    /// Route type.
    pub kind: RouteKind,
    /// Preferred source address (`src`).
    pub pref_src: Option<IpAddr>,
    /// Use the gateway even if no address of the interface covers it (`onlink`).
    pub onlink: bool,
}

impl Route {
    /// A unicast route to `dst` in the main table, protocol static, metric 0.
    pub fn new(dst: IpNet) -> Self {
        Route {
            dst,
            gateway: None,
            oif: None,
            protocol: PROTO_STATIC,
            metric: 0,
            table: TABLE_MAIN,
            kind: RouteKind::Unicast,
            pref_src: None,
            onlink: false,
        }
    }

    /// Sets the gateway.
    pub fn with_gateway(mut self, gateway: IpAddr) -> Self {
        self.gateway = Some(gateway);
        self
    }

    /// Sets the output interface index.
    pub fn with_oif(mut self, oif: u32) -> Self {
        self.oif = Some(oif);
        self
    }

    /// Sets the protocol number.
    pub fn with_protocol(mut self, protocol: u8) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the metric.
    pub fn with_metric(mut self, metric: u32) -> Self {
        self.metric = metric;
        self
    }

    /// Sets the table.
    pub fn with_table(mut self, table: u32) -> Self {
        self.table = table;
        self
    }

    /// Sets the route type.
    pub fn with_kind(mut self, kind: RouteKind) -> Self {
        self.kind = kind;
        self
    }

    /// Sets the preferred source address.
    pub fn with_pref_src(mut self, src: IpAddr) -> Self {
        self.pref_src = Some(src);
        self
    }

    /// Sets the `onlink` flag.
    pub fn with_onlink(mut self, onlink: bool) -> Self {
        self.onlink = onlink;
        self
    }

    pub(crate) fn check(&self, op: &str) -> Result<()> {
        if self.kind == RouteKind::Unicast && self.gateway.is_none() && self.oif.is_none() {
            return Err(NetError::invalid(
                op,
                "a unicast route needs a gateway or an interface",
            ));
        }
        self.check_addresses(op)
    }

    pub(crate) fn check_addresses(&self, op: &str) -> Result<()> {
        if self.dst.trunc() != self.dst {
            return Err(NetError::invalid(
                op,
                format!(
                    "destination {} has host bits set (did you mean {}?)",
                    self.dst,
                    self.dst.trunc()
                ),
            ));
        }
        let v4 = self.dst.addr().is_ipv4();
        if let Some(IpAddr::V4(_)) = self.gateway
            && !v4
        {
            return Err(NetError::invalid(
                op,
                "an IPv6 route cannot have an IPv4 gateway",
            ));
        }
        if let Some(src) = self.pref_src
            && src.is_ipv4() != v4
        {
            return Err(NetError::invalid(
                op,
                "the preferred source is not of the route's family",
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Route {
    /// Like `ip route`: `10.0.0.0/24 via 192.0.2.1 dev #3 proto 4 metric 17`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind != RouteKind::Unicast {
            write!(f, "{} ", self.kind.as_str())?;
        }
        write!(f, "{}", self.dst)?;
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        if let Some(oif) = self.oif {
            write!(f, " dev #{oif}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        write!(f, " proto {} metric {}", self.protocol, self.metric)?;
        if let Some(src) = self.pref_src {
            write!(f, " src {src}")?;
        }
        if self.onlink {
            f.write_str(" onlink")?;
        }
        Ok(())
    }
}

/// One next hop of a multipath (ECMP) route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NextHop {
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Output interface index.
    pub oif: Option<u32>,
    /// Weight (1..=256).
    pub weight: u16,
    /// The next hop's interface has no carrier.
    pub linkdown: bool,
}

/// A route as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteInfo {
    /// The route (for a multipath route, `gateway` and `oif` are those of the first next
    /// hop and all of them are in `nexthops`).
    pub route: Route,
    /// Scope (`RT_SCOPE_*`: 0 universe, 253 link, 254 host).
    pub scope: u8,
    /// The next hops of a multipath route; empty for a single-path route.
    pub nexthops: Vec<NextHop>,
    /// The route's interface has no carrier (`linkdown`; ignored by lookups when
    /// `ignore_routes_with_linkdown` is set).
    pub linkdown: bool,
}

impl RouteInfo {
    /// Builds a [`RouteInfo`] from a kernel `RTM_NEWROUTE`/`RTM_DELROUTE` message;
    /// `None` for families other than IPv4/IPv6 and for cached (cloned) routes.
    pub fn from_message(msg: &RouteMessage) -> Option<Self> {
        let h = &msg.header;
        if h.flags.contains(RouteFlags::Cloned) {
            return None;
        }
        let unspecified: IpAddr = match h.address_family {
            AddressFamily::Inet => std::net::Ipv4Addr::UNSPECIFIED.into(),
            AddressFamily::Inet6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
            _ => return None,
        };
        let mut dst = unspecified;
        let mut route = Route::new(IpNet::new(unspecified, 0).ok()?);
        route.table = u32::from(h.table);
        route.protocol = h.protocol.into();
        route.kind = RouteKind::from_netlink(h.kind);
        route.onlink = h.flags.contains(RouteFlags::Onlink);
        let mut nexthops = Vec::new();
        for attr in &msg.attributes {
            match attr {
                RouteAttribute::Destination(a) => dst = route_addr(a).unwrap_or(dst),
                RouteAttribute::Gateway(a) => route.gateway = route_addr(a),
                RouteAttribute::Via(v) => route.gateway = via_addr(v),
                RouteAttribute::Oif(i) => route.oif = Some(*i),
                RouteAttribute::Priority(m) => route.metric = *m,
                RouteAttribute::Table(t) => route.table = *t,
                RouteAttribute::PrefSource(a) => route.pref_src = route_addr(a),
                RouteAttribute::MultiPath(hops) => {
                    for hop in hops {
                        let mut nh = NextHop {
                            gateway: None,
                            oif: (hop.interface_index != 0).then_some(hop.interface_index),
                            weight: u16::from(hop.hops) + 1,
                            linkdown: hop.flags.contains(RouteNextHopFlags::Linkdown),
                        };
                        for a in &hop.attributes {
                            match a {
                                RouteAttribute::Gateway(a) => nh.gateway = route_addr(a),
                                RouteAttribute::Via(v) => nh.gateway = via_addr(v),
                                _ => {}
                            }
                        }
                        nexthops.push(nh);
                    }
                }
                _ => {}
            }
        }
        route.dst = IpNet::new(dst, h.destination_prefix_length).ok()?;
        if let Some(first) = nexthops.first() {
            route.gateway = route.gateway.or(first.gateway);
            route.oif = route.oif.or(first.oif);
        }
        Some(RouteInfo {
            route,
            scope: h.scope.into(),
            linkdown: h.flags.contains(RouteFlags::Linkdown),
            nexthops,
        })
    }
}

fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some((*v4).into()),
        RouteAddress::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

fn via_addr(v: &RouteVia) -> Option<IpAddr> {
    match v {
        RouteVia::Inet(v4) => Some((*v4).into()),
        RouteVia::Inet6(v6) => Some((*v6).into()),
        _ => None,
    }
}

/// IP family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4.
    V4,
    /// IPv6.
    V6,
}

/// Which routes [`Net::routes`] returns; `None` fields match everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouteFilter {
    /// Only this table.
    pub table: Option<u32>,
    /// Only this protocol.
    pub protocol: Option<u8>,
    /// Only this family.
    pub family: Option<IpFamily>,
}

impl RouteFilter {
    /// Routes of the main table.
    pub fn main() -> Self {
        RouteFilter {
            table: Some(TABLE_MAIN),
            ..Default::default()
        }
    }

    /// Routes of one protocol in the main table (a daemon's own routes).
    pub fn protocol(protocol: u8) -> Self {
        RouteFilter {
            protocol: Some(protocol),
            ..RouteFilter::main()
        }
    }

    /// Whether `info` passes the filter.
    pub fn matches(&self, info: &RouteInfo) -> bool {
        let r = &info.route;
        self.table.is_none_or(|t| r.table == t)
            && self.protocol.is_none_or(|p| r.protocol == p)
            && self.family.is_none_or(|f| match f {
                IpFamily::V4 => r.dst.addr().is_ipv4(),
                IpFamily::V6 => r.dst.addr().is_ipv6(),
            })
    }
}

/// The `RTM_NEWROUTE` (or, with `delete`, `RTM_DELROUTE`) body for `route`.
pub fn route_message(route: &Route, delete: bool) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let h = &mut msg.header;
    h.address_family = if route.dst.addr().is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    h.destination_prefix_length = route.dst.prefix_len();
    h.table = u8::try_from(route.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    h.protocol = route.protocol.into();
    h.kind = route.kind.to_netlink();
    h.scope = if delete {
        // Wildcard: match whatever scope the kernel gave the route.
        RouteScope::NoWhere
    } else {
        match route.kind {
            RouteKind::Local => RouteScope::Host,
            RouteKind::Broadcast | RouteKind::Multicast | RouteKind::Anycast => RouteScope::Link,
            RouteKind::Unicast if route.gateway.is_none() && route.oif.is_some() => {
                RouteScope::Link
            }
            _ => RouteScope::Universe,
        }
    };
    if route.onlink {
        h.flags.insert(RouteFlags::Onlink);
    }
    let attrs = &mut msg.attributes;
    if route.dst.prefix_len() > 0 {
        attrs.push(RouteAttribute::Destination(route.dst.addr().into()));
    }
    attrs.push(RouteAttribute::Table(route.table));
    attrs.push(RouteAttribute::Priority(route.metric));
    match (route.dst.addr(), route.gateway) {
        (IpAddr::V4(_), Some(IpAddr::V6(gw))) => {
            attrs.push(RouteAttribute::Via(RouteVia::Inet6(gw)))
        }
        (_, Some(gw)) => attrs.push(RouteAttribute::Gateway(gw.into())),
        (_, None) => {}
    }
    if let Some(oif) = route.oif {
        attrs.push(RouteAttribute::Oif(oif));
    }
    if let Some(src) = route.pref_src {
        attrs.push(RouteAttribute::PrefSource(src.into()));
    }
    msg
}

/// The `RTM_NEWROUTE` body for a multipath (ECMP) route: `route` (its `gateway` and
/// `oif` are left out) with one `RTA_MULTIPATH` entry per next hop. Weights are clamped
/// to 1..=256.
pub fn multipath_route_message(route: &Route, hops: &[NextHop]) -> RouteMessage {
    let base = Route {
        gateway: None,
        oif: None,
        ..route.clone()
    };
    let mut msg = route_message(&base, false);
    let v4 = route.dst.addr().is_ipv4();
    let entries = hops
        .iter()
        .map(|hop| {
            let mut nh = RouteNextHop::default();
            nh.interface_index = hop.oif.unwrap_or(0);
            nh.hops = u8::try_from(hop.weight.clamp(1, 256) - 1).unwrap_or(u8::MAX);
            match (v4, hop.gateway) {
                (true, Some(IpAddr::V6(gw))) => {
                    nh.attributes.push(RouteAttribute::Via(RouteVia::Inet6(gw)))
                }
                (_, Some(gw)) => nh.attributes.push(RouteAttribute::Gateway(gw.into())),
                (_, None) => {}
            }
            nh
        })
        .collect();
    msg.attributes.push(RouteAttribute::MultiPath(entries));
    msg
}

impl Net {
    /// Installs `route`; fails with "File exists" if a route with the same table,
    /// destination and metric is there.
    pub async fn add_route(&self, route: &Route) -> Result<()> {
        let op = format!("add route {route}");
        route.check(&op)?;
        self.ack(
            RouteNetlinkMessage::NewRoute(route_message(route, false)),
            NLM_F_CREATE | NLM_F_EXCL,
            &op,
        )
        .await
    }

    /// Installs `route`, replacing the route with the same table, destination and metric
    /// if there is one (`NLM_F_REPLACE`, like `ip route replace`).
    pub async fn replace_route(&self, route: &Route) -> Result<()> {
        let op = format!("replace route {route}");
        route.check(&op)?;
        self.ack(
            RouteNetlinkMessage::NewRoute(route_message(route, false)),
            NLM_F_CREATE | NLM_F_REPLACE,
            &op,
        )
        .await
    }

    /// Installs a multipath (ECMP) route through `hops`, replacing the route with the same
    /// table, destination and metric if there is one; `route.gateway` and `route.oif` are
    /// ignored. With a single next hop this is [`Net::replace_route`] through it.
    pub async fn replace_multipath_route(&self, route: &Route, hops: &[NextHop]) -> Result<()> {
        let op = format!("replace multipath route {route}");
        route.check_addresses(&op)?;
        if route.kind != RouteKind::Unicast {
            return Err(NetError::invalid(&op, "only a unicast route has next hops"));
        }
        for hop in hops {
            if hop.gateway.is_none() && hop.oif.is_none() {
                return Err(NetError::invalid(
                    &op,
                    "every next hop needs a gateway or an interface",
                ));
            }
            if matches!(hop.gateway, Some(IpAddr::V4(_))) && route.dst.addr().is_ipv6() {
                return Err(NetError::invalid(
                    &op,
                    "an IPv6 route cannot have an IPv4 gateway",
                ));
            }
        }
        match hops {
            [] => Err(NetError::invalid(&op, "a multipath route needs next hops")),
            [one] => {
                let single = Route {
                    gateway: one.gateway,
                    oif: one.oif,
                    ..route.clone()
                };
                self.replace_route(&single).await
            }
            _ => {
                self.ack(
                    RouteNetlinkMessage::NewRoute(multipath_route_message(route, hops)),
                    NLM_F_CREATE | NLM_F_REPLACE,
                    &op,
                )
                .await
            }
        }
    }

    /// Deletes the route matching `route` (table, destination, metric, protocol, type and,
    /// when given, gateway and interface).
    pub async fn del_route(&self, route: &Route) -> Result<()> {
        let op = format!("delete route {route}");
        route.check_addresses(&op)?;
        match self
            .ack(
                RouteNetlinkMessage::DelRoute(route_message(route, true)),
                0,
                &op,
            )
            .await
        {
            // The kernel says "No such process" (ESRCH) for a route it does not have.
            Err(NetError::Kernel { source, .. }) if source.raw_os_error() == Some(libc::ESRCH) => {
                Err(NetError::RouteNotFound { op })
            }
            other => other,
        }
    }

    /// The IPv4 and IPv6 routes that pass `filter`, in the kernel's order.
    pub async fn routes(&self, filter: &RouteFilter) -> Result<Vec<RouteInfo>> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = match filter.family {
            None => AddressFamily::Unspec,
            Some(IpFamily::V4) => AddressFamily::Inet,
            Some(IpFamily::V6) => AddressFamily::Inet6,
        };
        let answers = self
            .dump(RouteNetlinkMessage::GetRoute(msg), "list routes")
            .await?;
        Ok(answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewRoute(r) => RouteInfo::from_message(r),
                _ => None,
            })
            .filter(|r| filter.matches(r))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use netlink_packet_core::{Emitable, Parseable};

    fn roundtrip(msg: &RouteMessage) -> RouteMessage {
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        RouteMessage::parse(buf.as_slice()).unwrap()
    }

    #[test]
    fn metric_follows_design() {
        assert_eq!(metric(1, RouteSource::Static), 17);
        assert_eq!(metric(10, RouteSource::Static), 161);
        assert_eq!(metric(20, RouteSource::Bgp), 322);
        assert_eq!(metric(200, RouteSource::Bgp), 3202);
        assert_eq!(metric(0, RouteSource::Connected), 3);
        assert_eq!(metric(255, RouteSource::Connected), 4083);
        // Lower distance always wins, whatever the source.
        assert!(metric(10, RouteSource::Connected) < metric(11, RouteSource::Static));
        for d in [0u8, 1, 20, 200, 255] {
            for s in [
                RouteSource::Static,
                RouteSource::Bgp,
                RouteSource::Connected,
            ] {
                assert_eq!(metric_parts(metric(d, s)), Some((d, s)));
            }
        }
        assert_eq!(metric_parts(0), None);
        assert_eq!(metric_parts(1024), None);
        assert_eq!(metric_parts(16 * 256 + 1), None);
    }

    #[test]
    fn static_route_message() {
        let route = Route::new("10.1.0.0/16".parse().unwrap())
            .with_gateway("192.0.2.1".parse().unwrap())
            .with_protocol(PROTO_STATIC)
            .with_metric(metric(10, RouteSource::Static));
        let msg = roundtrip(&route_message(&route, false));
        assert_eq!(msg.header.protocol, 4.into());
        assert_eq!(msg.header.table, 254);
        assert_eq!(msg.header.scope, RouteScope::Universe);
        assert_eq!(msg.header.kind, RouteType::Unicast);
        assert!(msg.attributes.contains(&RouteAttribute::Priority(161)));
        assert!(msg.attributes.contains(&RouteAttribute::Table(254)));
        let info = RouteInfo::from_message(&msg).unwrap();
        assert_eq!(info.route, route);
    }

    #[test]
    fn device_route_is_link_scope_and_delete_is_wildcard() {
        let route = Route::new("10.9.0.0/24".parse().unwrap()).with_oif(7);
        assert_eq!(route_message(&route, false).header.scope, RouteScope::Link);
        assert_eq!(
            route_message(&route, true).header.scope,
            RouteScope::NoWhere
        );
    }

    #[test]
    fn blackhole_big_table_default_route() {
        let route = Route::new("0.0.0.0/0".parse().unwrap())
            .with_kind(RouteKind::Blackhole)
            .with_table(1000)
            .with_protocol(PROTO_BGP);
        let msg = roundtrip(&route_message(&route, false));
        assert_eq!(msg.header.table, 0);
        assert_eq!(msg.header.kind, RouteType::BlackHole);
        assert!(msg.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(
            !msg.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Destination(_)))
        );
        assert_eq!(RouteInfo::from_message(&msg).unwrap().route, route);
    }

    #[test]
    fn ipv4_over_ipv6_gateway_uses_via() {
        let route = Route::new("10.0.0.0/8".parse().unwrap())
            .with_gateway("fe80::1".parse().unwrap())
            .with_oif(2);
        let msg = roundtrip(&route_message(&route, false));
        assert!(
            msg.attributes
                .contains(&RouteAttribute::Via(RouteVia::Inet6(
                    "fe80::1".parse().unwrap()
                )))
        );
        assert_eq!(RouteInfo::from_message(&msg).unwrap().route, route);
    }

    #[test]
    fn ipv6_route_with_src_and_onlink() {
        let route = Route::new("2001:db8:1::/48".parse().unwrap())
            .with_gateway("2001:db8::1".parse().unwrap())
            .with_pref_src("2001:db8::2".parse().unwrap())
            .with_onlink(true)
            .with_metric(322);
        let msg = roundtrip(&route_message(&route, false));
        assert_eq!(msg.header.address_family, AddressFamily::Inet6);
        assert!(msg.header.flags.contains(RouteFlags::Onlink));
        assert_eq!(RouteInfo::from_message(&msg).unwrap().route, route);
    }

    #[test]
    fn invalid_routes_are_refused_before_sending() {
        let op = "add route";
        let e = Route::new("10.0.0.0/24".parse().unwrap())
            .check(op)
            .unwrap_err();
        assert!(
            e.to_string().contains("needs a gateway or an interface"),
            "{e}"
        );
        assert!(
            Route::new("10.0.0.0/24".parse().unwrap())
                .with_kind(RouteKind::Blackhole)
                .check(op)
                .is_ok()
        );
        let e = Route::new("10.0.0.1/24".parse().unwrap())
            .with_oif(1)
            .check(op)
            .unwrap_err();
        assert!(e.to_string().contains("did you mean 10.0.0.0/24"), "{e}");
        let e = Route::new("2001:db8::/32".parse().unwrap())
            .with_gateway("192.0.2.1".parse().unwrap())
            .check(op)
            .unwrap_err();
        assert!(e.to_string().contains("IPv4 gateway"), "{e}");
    }

    #[test]
    fn multipath_message_roundtrip() {
        let route = Route::new("192.168.42.0/24".parse().unwrap())
            .with_metric(metric(10, RouteSource::Static))
            .with_gateway("10.0.0.9".parse().unwrap());
        let hops = [
            NextHop {
                gateway: Some("172.16.10.2".parse().unwrap()),
                oif: Some(3),
                weight: 1,
                linkdown: false,
            },
            NextHop {
                gateway: Some("172.16.11.2".parse().unwrap()),
                oif: None,
                weight: 300,
                linkdown: false,
            },
        ];
        let msg = roundtrip(&multipath_route_message(&route, &hops));
        assert_eq!(msg.header.scope, RouteScope::Universe);
        assert!(
            !msg.attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Gateway(_))),
            "the single gateway is left out"
        );
        let info = RouteInfo::from_message(&msg).unwrap();
        assert_eq!(info.nexthops.len(), 2);
        assert_eq!(info.nexthops[0].gateway, hops[0].gateway);
        assert_eq!(info.nexthops[0].oif, Some(3));
        assert_eq!(info.nexthops[1].oif, None);
        assert_eq!(info.nexthops[1].weight, 256, "clamped");
        assert_eq!(info.route.gateway, hops[0].gateway);
        assert_eq!(info.route.metric, 161);
    }

    #[test]
    fn display_reads_like_ip_route() {
        let route = Route::new("10.1.0.0/16".parse().unwrap())
            .with_gateway("192.0.2.1".parse().unwrap())
            .with_metric(17);
        assert_eq!(
            route.to_string(),
            "10.1.0.0/16 via 192.0.2.1 proto 4 metric 17"
        );
        let bh = Route::new("192.168.200.0/24".parse().unwrap())
            .with_kind(RouteKind::Blackhole)
            .with_table(100);
        assert_eq!(
            bh.to_string(),
            "blackhole 192.168.200.0/24 table 100 proto 4 metric 0"
        );
    }

    #[test]
    fn filters() {
        let info = RouteInfo {
            route: Route::new("10.0.0.0/8".parse().unwrap()).with_protocol(PROTO_BGP),
            scope: 0,
            nexthops: vec![],
            linkdown: false,
        };
        assert!(RouteFilter::default().matches(&info));
        assert!(RouteFilter::protocol(PROTO_BGP).matches(&info));
        assert!(!RouteFilter::protocol(PROTO_STATIC).matches(&info));
        assert!(
            !RouteFilter {
                family: Some(IpFamily::V6),
                ..Default::default()
            }
            .matches(&info)
        );
        assert!(
            !RouteFilter {
                table: Some(TABLE_LOCAL),
                ..Default::default()
            }
            .matches(&info)
        );
    }
}
