//! Makes the kernel's static routes match the config: add what is missing, remove what is stale.

use std::collections::HashMap;

use kith_config::Config;
use kith_net::{Net, PROTO_STATIC, Route, RouteFilter, RouteInfo, RouteSource};
use tracing::{info, warn};

use crate::plan::{StaticRoute, Via, static_routes};

/// The wanted routes and what was last said about each, so a failing route is logged
/// once per change and not every few seconds.
#[derive(Default)]
pub struct Reconciler {
    wanted: Vec<StaticRoute>,
    last_problem: HashMap<StaticRoute, String>,
}

impl Reconciler {
    /// Takes the static routes of a (new) config; notes about unusable entries are logged.
    pub fn set_config(&mut self, config: &Config) {
        let (wanted, notes) = static_routes(config);
        for note in notes {
            warn!("{note}");
        }
        for route in &wanted {
            if route.check_gateway {
                warn!(
                    "route {route}: check-gateway=ping is not implemented yet; installed without probing"
                );
            }
        }
        self.last_problem.retain(|r, _| wanted.contains(r));
        self.wanted = wanted;
    }

    /// The routes the config wants.
    pub fn wanted(&self) -> &[StaticRoute] {
        &self.wanted
    }

    /// One pass: installs each wanted route that the kernel lacks, removes own stale routes.
    pub async fn sync(&mut self, net: &Net) {
        let installed = match own_routes(net).await {
            Ok(routes) => routes,
            Err(err) => {
                warn!("cannot read the kernel's routes: {err}");
                return;
            }
        };
        let mut keep: Vec<Route> = Vec::new();
        for wanted in self.wanted.clone() {
            let kernel = match self.resolve(net, &wanted).await {
                Ok(route) => route,
                Err(problem) => {
                    self.report(&wanted, problem);
                    continue;
                }
            };
            if installed.iter().any(|i| same_route(&i.route, &kernel)) {
                keep.push(kernel);
                self.clear(&wanted);
                continue;
            }
            match net.replace_route(&kernel).await {
                Ok(()) => {
                    info!("route {wanted} installed");
                    self.clear(&wanted);
                    keep.push(kernel);
                }
                Err(err) => self.report(&wanted, format!("cannot install: {err}")),
            }
        }
        for stale in installed
            .iter()
            .filter(|i| !keep.iter().any(|k| same_route(&i.route, k)))
        {
            match net.del_route(&stale.route).await {
                Ok(()) => info!(
                    "route {} removed (no longer configured)",
                    describe(&stale.route)
                ),
                Err(err) => warn!("cannot remove route {}: {err}", describe(&stale.route)),
            }
        }
    }

    /// Removes every static route this daemon owns (at shutdown).
    pub async fn remove_all(&mut self, net: &Net) {
        match own_routes(net).await {
            Ok(routes) => {
                for info in routes {
                    if let Err(err) = net.del_route(&info.route).await {
                        warn!("cannot remove route {}: {err}", describe(&info.route));
                    }
                }
            }
            Err(err) => warn!("cannot read the kernel's routes: {err}"),
        }
    }

    async fn resolve(&self, net: &Net, wanted: &StaticRoute) -> Result<Route, String> {
        let oif = match &wanted.via {
            Some(Via::Interface(label)) => Some(
                link_index_by_label(net, label)
                    .await?
                    .ok_or_else(|| format!("interface {label} does not exist (yet)"))?,
            ),
            _ => None,
        };
        Ok(wanted.to_kernel(oif))
    }

    fn report(&mut self, route: &StaticRoute, problem: String) {
        if self.last_problem.get(route) != Some(&problem) {
            warn!("route {route}: {problem}; will retry");
            self.last_problem.insert(route.clone(), problem);
        }
    }

    fn clear(&mut self, route: &StaticRoute) {
        self.last_problem.remove(route);
    }
}

/// The ifindex of an interface by its config label: its kernel name, or its altname.
async fn link_index_by_label(net: &Net, label: &str) -> Result<Option<u32>, String> {
    if kith_net::is_valid_kernel_name(label) {
        if let Some(index) = net.link_index(label).await.map_err(|e| e.to_string())? {
            return Ok(Some(index));
        }
    }
    let by_alt = net
        .link_by_altname(label)
        .await
        .map_err(|e| e.to_string())?;
    Ok(by_alt.map(|l| l.index))
}

/// Routes of protocol static whose metric says "static" by the Kith convention, in any table.
async fn own_routes(net: &Net) -> Result<Vec<RouteInfo>, kith_net::NetError> {
    let filter = RouteFilter {
        protocol: Some(PROTO_STATIC),
        ..Default::default()
    };
    let routes = net.routes(&filter).await?;
    Ok(routes
        .into_iter()
        .filter(|r| {
            matches!(
                kith_net::metric_parts(r.route.metric),
                Some((_, RouteSource::Static))
            )
        })
        .collect())
}

/// Whether an installed route is the wanted one; the kernel fills in an oif we did not give.
fn same_route(installed: &Route, wanted: &Route) -> bool {
    installed.dst == wanted.dst
        && installed.table == wanted.table
        && installed.metric == wanted.metric
        && installed.kind == wanted.kind
        && installed.gateway == wanted.gateway
        && (wanted.oif.is_none() || installed.oif == wanted.oif)
}

fn describe(route: &Route) -> String {
    let mut text = route.dst.to_string();
    if let Some(gw) = route.gateway {
        text.push_str(&format!(" via {gw}"));
    }
    text.push_str(&format!(" metric {}", route.metric));
    text
}
