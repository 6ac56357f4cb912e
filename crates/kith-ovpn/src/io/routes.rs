//! Routes installed while a tunnel is up. A client: the routes the server pushed, and
//! with `add-default-route` a default route through the tunnel plus a host route that
//! keeps the server itself reached outside the tunnel. A server: the account's
//! `ppp/secret` `routes` towards the client (via their gateway, else the client's
//! tunnel address), as RouterOS installs them. Protocol [`PROTO_VPND`], metric of
//! distance 1 (or the route's own metric) as "other" routes; removed when the tunnel
//! goes.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::{IpNet, Ipv4Net};
use kith_net::{Net, Route, RouteFilter, RouteKind, RouteSource, metric};
use tracing::{info, warn};

use super::driver::ClientRouting;
use crate::codec::options::PushRoute;
use crate::session::Established;

/// The rtnetlink protocol of vpnd's routes (unassigned in iproute2's `rt_protos`).
pub const PROTO_VPND: u8 = 20;

/// The distance of a route through the tunnel (RouterOS' default-route-distance).
const DISTANCE: u8 = 1;

/// Routes installed for one tunnel.
#[derive(Debug, Default)]
pub struct TunnelRoutes {
    installed: Vec<Route>,
    /// Who installed them, for the log (`ovpn-client home-isp1`, `ovpn-server friend1`).
    label: String,
}

impl TunnelRoutes {
    /// The routes of tunnel `est` that came up on interface `label`: a client's
    /// (`routing` given) pushed routes and default route, a server's account routes.
    pub async fn install_for(
        net: &Net,
        label: &str,
        est: &Established,
        routing: Option<ClientRouting>,
    ) -> Option<TunnelRoutes> {
        let kname = kith_net::kernel_name(label);
        match (&est.account, routing, est.remote) {
            (None, Some(r), Some(remote)) => Some(
                TunnelRoutes::install(
                    net,
                    &format!("ovpn-client {label}"),
                    &kname,
                    remote,
                    &est.routes,
                    r.add_default_route.then_some(r.server),
                )
                .await,
            ),
            (Some(a), _, _) if !a.routes.is_empty() => Some(
                TunnelRoutes::install(
                    net,
                    &format!("ovpn-server {}", a.name),
                    &kname,
                    a.remote,
                    &a.routes,
                    None,
                )
                .await,
            ),
            _ => None,
        }
    }

    /// Installs `routes` (via their gateway, or the tunnel's remote end) and, when
    /// asked, the default route, on interface `kname`; `label` names the tunnel's end
    /// in the log (`ovpn-client home-isp1`).
    pub async fn install(
        net: &Net,
        label: &str,
        kname: &str,
        remote: Ipv4Addr,
        routes: &[PushRoute],
        default_route: Option<IpAddr>,
    ) -> TunnelRoutes {
        let mut out = TunnelRoutes {
            installed: Vec::new(),
            label: label.to_string(),
        };
        let oif = match net.link_index(kname).await {
            Ok(Some(i)) => i,
            _ => {
                warn!("{label}: interface gone; no routes installed");
                return out;
            }
        };
        let mut wanted = Vec::new();
        for r in routes {
            let Ok(net4) = Ipv4Net::with_netmask(r.network, r.netmask) else {
                warn!(
                    "{label}: route {} {} ignored (bad netmask)",
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
                    warn!("{label}: no route to the server {server} outside the tunnel")
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
                        "{label}: route {} via {} installed",
                        route.dst,
                        route
                            .gateway
                            .map_or_else(|| "a connected link".to_string(), |g| g.to_string())
                    );
                    out.installed.push(route);
                }
                Err(e) => warn!("{label}: cannot install route {}: {e}", route.dst),
            }
        }
        out
    }

    /// Removes what [`TunnelRoutes::install`] added (the kernel already dropped the
    /// routes over a tun that is gone; the host route to the server is removed here).
    pub async fn remove(self, net: &Net) {
        for route in self.installed.iter().rev() {
            if net.del_route(route).await.is_ok() {
                info!("{}: route {} removed", self.label, route.dst);
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
