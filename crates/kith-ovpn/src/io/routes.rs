//! Routes a client installs while its tunnel is up: the routes the server pushed, and
//! with `add-default-route` a default route through the tunnel plus a host route that
//! keeps the server itself reached outside the tunnel. Protocol [`PROTO_VPND`], metric
//! of distance 1 (or the pushed metric) as "other" routes; removed when the tunnel goes.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use kith_net::{Net, Route, RouteFilter, RouteKind, RouteSource, metric};
use tracing::{info, warn};

use crate::codec::options::PushRoute;

/// The rtnetlink protocol of vpnd's routes (unassigned in iproute2's `rt_protos`).
pub const PROTO_VPND: u8 = 20;

/// The distance of a route through the tunnel (RouterOS' default-route-distance).
const DISTANCE: u8 = 1;

/// Routes installed for one tunnel.
#[derive(Debug, Default)]
pub struct ClientRoutes {
    installed: Vec<Route>,
    label: String,
}

impl ClientRoutes {
    /// Installs the pushed routes (via their gateway, or the tunnel's remote end) and,
    /// when asked, the default route, on interface `kname` (labelled `label`).
    pub async fn install(
        net: &Net,
        label: &str,
        kname: &str,
        remote: Ipv4Addr,
        pushed: &[PushRoute],
        default_route: Option<IpAddr>,
    ) -> ClientRoutes {
        let mut out = ClientRoutes {
            installed: Vec::new(),
            label: label.to_string(),
        };
        let oif = match net.link_index(kname).await {
            Ok(Some(i)) => i,
            _ => {
                warn!("ovpn-client {label}: interface gone; no routes installed");
                return out;
            }
        };
        let mut wanted = Vec::new();
        for r in pushed {
            let Ok(net4) = Ipv4Net::with_netmask(r.network, r.netmask) else {
                warn!(
                    "ovpn-client {label}: pushed route {} {} ignored (bad netmask)",
                    r.network, r.netmask
                );
                continue;
            };
            let distance = r.metric.map_or(DISTANCE, |m| {
                u8::try_from(m.clamp(1, 255)).unwrap_or(DISTANCE)
            });
            wanted.push(
                Route::new(IpNet::V4(net4.trunc()))
                    .with_gateway(IpAddr::V4(r.gateway.unwrap_or(remote)))
                    .with_oif(oif)
                    .with_protocol(PROTO_VPND)
                    .with_metric(metric(distance, RouteSource::Connected)),
            );
        }
        if let Some(server) = default_route {
            // The server stays reachable the way it was before the default moved.
            match path_to(net, server, oif).await {
                Some(host) => wanted.push(host),
                None => {
                    warn!("ovpn-client {label}: no route to the server {server} outside the tunnel")
                }
            }
            wanted.push(
                Route::new(IpNet::V4(Ipv4Net::default()))
                    .with_gateway(IpAddr::V4(remote))
                    .with_oif(oif)
                    .with_protocol(PROTO_VPND)
                    .with_metric(metric(DISTANCE, RouteSource::Connected)),
            );
        }
        for route in wanted {
            match net.replace_route(&route).await {
                Ok(()) => {
                    info!(
                        "ovpn-client {label}: route {} via {} installed",
                        route.dst,
                        route
                            .gateway
                            .map_or_else(|| label.to_string(), |g| g.to_string())
                    );
                    out.installed.push(route);
                }
                Err(e) => warn!(
                    "ovpn-client {label}: cannot install route {}: {e}",
                    route.dst
                ),
            }
        }
        out
    }

    /// Removes what [`ClientRoutes::install`] added (the kernel already dropped the
    /// routes over a tun that is gone; the host route to the server is removed here).
    pub async fn remove(self, net: &Net) {
        for route in self.installed.iter().rev() {
            if net.del_route(route).await.is_ok() {
                info!("ovpn-client {}: route {} removed", self.label, route.dst);
            }
        }
    }
}

/// A host route to `server` copying the best current route to it that is not over
/// the tunnel (`tunnel_oif`).
async fn path_to(net: &Net, server: IpAddr, tunnel_oif: u32) -> Option<Route> {
    let routes = net.routes(&RouteFilter::main()).await.ok()?;
    let best = routes
        .into_iter()
        .filter(|r| {
            r.route.kind == RouteKind::Unicast
                && r.route.dst.contains(&server)
                && r.route.oif != Some(tunnel_oif)
                && !r.linkdown
        })
        .min_by_key(|r| (u8::MAX - r.route.dst.prefix_len(), r.route.metric))?;
    let mut host = Route::new(IpNet::from(server))
        .with_protocol(PROTO_VPND)
        .with_metric(metric(DISTANCE, RouteSource::Connected));
    host.gateway = best.route.gateway;
    host.oif = best.route.oif;
    Some(host)
}
