//! Makes the kernel's static routes match the config and the gateways' state: install
//! what is missing, replace what differs, remove what is stale or withdrawn.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use kith_net::{Net, NetError, PROTO_STATIC, RouteFilter, RouteInfo, RouteSource};
use tracing::{info, warn};

use crate::plan::{Desired, ResolvedHop, StaticRoute, Via};
use crate::probe::ProbeKey;
use crate::resolve::Interfaces;

/// The wanted routes and what was last said about each, so a failing route is logged
/// once per change and not every few seconds.
#[derive(Debug, Default)]
pub struct Reconciler {
    wanted: Vec<StaticRoute>,
    last_problem: HashMap<StaticRoute, String>,
}

/// Where a route stands after a pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// In the kernel, through these gateways (addresses, or interface labels).
    Installed(Vec<String>),
    /// Out of the kernel: every gateway is unreachable (or its interface missing).
    Withdrawn,
}

impl Reconciler {
    /// Takes the static routes of a (new) config; returns notes about entries that clash.
    pub fn set_routes(&mut self, routes: Vec<StaticRoute>) -> Vec<String> {
        let mut notes = Vec::new();
        let mut slots: HashMap<(u32, ipnet::IpNet, u8), &StaticRoute> = HashMap::new();
        let mut keep = Vec::new();
        for route in &routes {
            if route.disabled {
                keep.push(route.clone());
                continue;
            }
            match slots.get(&(route.table, route.dst, route.distance)) {
                Some(first) => notes.push(format!(
                    "route {route}: same destination and distance as {first}; not installed (give it another distance, or list both gateways in one route for ECMP)"
                )),
                None => {
                    slots.insert((route.table, route.dst, route.distance), route);
                    keep.push(route.clone());
                }
            }
        }
        self.last_problem.retain(|r, _| keep.contains(r));
        self.wanted = keep;
        notes
    }

    /// The routes of the config (disabled ones included).
    pub fn wanted(&self) -> &[StaticRoute] {
        &self.wanted
    }

    /// The next hops of `route` that can be used now: gateways not known unreachable,
    /// interfaces that exist. Problems (missing interfaces) are returned, not logged.
    pub fn usable_hops(
        route: &StaticRoute,
        interfaces: &Interfaces,
        down: &HashSet<ProbeKey>,
    ) -> (Vec<ResolvedHop>, Vec<String>, Vec<String>) {
        let mut hops = Vec::new();
        let mut names = Vec::new();
        let mut problems = Vec::new();
        for via in &route.gateways {
            match via {
                Via::Address(a) => {
                    let unreachable = route.check.is_some_and(|settings| {
                        down.contains(&ProbeKey {
                            gateway: *a,
                            settings,
                        })
                    });
                    if !unreachable {
                        hops.push(ResolvedHop {
                            gateway: Some(*a),
                            oif: None,
                        });
                        names.push(a.to_string());
                    }
                }
                Via::Interface(label) => match interfaces.by_label(label) {
                    Some(link) => {
                        hops.push(ResolvedHop {
                            gateway: None,
                            oif: Some(link.index),
                        });
                        names.push(label.clone());
                    }
                    None => problems.push(format!("interface {label} does not exist (yet)")),
                },
            }
        }
        (hops, names, problems)
    }

    /// Where each enabled route would be with `down` gateways (same order as
    /// [`Reconciler::wanted`], disabled routes left out).
    pub fn placements(
        &self,
        interfaces: &Interfaces,
        down: &HashSet<ProbeKey>,
    ) -> Vec<(StaticRoute, Placement)> {
        self.wanted
            .iter()
            .filter(|r| !r.disabled)
            .map(|r| {
                let (hops, names, _) = Self::usable_hops(r, interfaces, down);
                let placement = match r.desired(&hops) {
                    Some(_) => Placement::Installed(names),
                    None => Placement::Withdrawn,
                };
                (r.clone(), placement)
            })
            .collect()
    }

    /// One pass: installs or replaces each wanted route that the kernel lacks or has
    /// differently, removes own routes that are stale or withdrawn.
    pub async fn sync(&mut self, net: &Net, interfaces: &Interfaces, down: &HashSet<ProbeKey>) {
        let installed = match own_routes(net).await {
            Ok(routes) => routes,
            Err(err) => {
                warn!("cannot read the kernel's routes: {err}");
                return;
            }
        };
        let mut keep: Vec<Desired> = Vec::new();
        for wanted in self.wanted.clone() {
            if wanted.disabled {
                continue;
            }
            let (hops, _, problems) = Self::usable_hops(&wanted, interfaces, down);
            let Some(desired) = wanted.desired(&hops) else {
                if !problems.is_empty() {
                    self.report(&wanted, problems.join("; "));
                }
                continue;
            };
            let mut problems = problems;
            if installed.iter().any(|i| matches(i, &desired)) {
                keep.push(desired);
            } else {
                let result = if desired.nexthops.is_empty() {
                    net.replace_route(&desired.route).await
                } else {
                    net.replace_multipath_route(&desired.route, &desired.nexthops)
                        .await
                };
                match result {
                    Ok(()) => {
                        info!("route {wanted} installed");
                        keep.push(desired);
                    }
                    Err(err) => problems.push(format!("cannot install: {err}")),
                }
            }
            if problems.is_empty() {
                self.clear(&wanted);
            } else {
                self.report(&wanted, problems.join("; "));
            }
        }
        for stale in installed
            .iter()
            .filter(|i| !keep.iter().any(|k| same_slot(i, k)))
        {
            match net.del_route(&stale.route).await {
                Ok(()) | Err(NetError::RouteNotFound { .. }) => {}
                Err(err) => warn!("cannot remove route {}: {err}", describe(stale)),
            }
        }
    }

    /// Removes every static route this daemon owns (at shutdown).
    pub async fn remove_all(&mut self, net: &Net) {
        match own_routes(net).await {
            Ok(routes) => {
                for info in routes {
                    match net.del_route(&info.route).await {
                        Ok(()) | Err(NetError::RouteNotFound { .. }) => {}
                        Err(err) => warn!("cannot remove route {}: {err}", describe(&info)),
                    }
                }
            }
            Err(err) => warn!("cannot read the kernel's routes: {err}"),
        }
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

/// Routes of protocol static whose metric says "static" by the Kith convention, in any table.
pub async fn own_routes(net: &Net) -> Result<Vec<RouteInfo>, NetError> {
    let filter = RouteFilter {
        protocol: Some(PROTO_STATIC),
        ..Default::default()
    };
    let routes = net.routes(&filter).await?;
    Ok(routes.into_iter().filter(is_own_metric).collect())
}

fn is_own_metric(r: &RouteInfo) -> bool {
    matches!(
        kith_net::metric_parts(r.route.metric),
        Some((_, RouteSource::Static))
    )
}

/// Same kernel slot: a replace of one overwrote the other.
fn same_slot(installed: &RouteInfo, wanted: &Desired) -> bool {
    let (i, w) = (&installed.route, &wanted.route);
    i.dst == w.dst && i.table == w.table && i.metric == w.metric
}

/// Whether an installed route is the wanted one; the kernel fills in an oif we did not give.
pub fn matches(installed: &RouteInfo, wanted: &Desired) -> bool {
    let (i, w) = (&installed.route, &wanted.route);
    let hop_eq = |ig: Option<IpAddr>, io: Option<u32>, wg: Option<IpAddr>, wo: Option<u32>| {
        ig == wg && (wo.is_none() || io == wo)
    };
    let base = same_slot(installed, wanted)
        && i.kind == w.kind
        && (w.pref_src.is_none() || i.pref_src == w.pref_src);
    if !base {
        return false;
    }
    if wanted.nexthops.is_empty() {
        installed.nexthops.is_empty() && hop_eq(i.gateway, i.oif, w.gateway, w.oif)
    } else {
        installed.nexthops.len() == wanted.nexthops.len()
            && wanted.nexthops.iter().all(|wh| {
                installed
                    .nexthops
                    .iter()
                    .any(|ih| hop_eq(ih.gateway, ih.oif, wh.gateway, wh.oif))
            })
    }
}

fn describe(info: &RouteInfo) -> String {
    let route = &info.route;
    let mut text = route.dst.to_string();
    if let Some(gw) = route.gateway {
        text.push_str(&format!(" via {gw}"));
    }
    text.push_str(&format!(" metric {}", route.metric));
    text
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kith_net::{NextHop, Route};

    use super::*;
    use crate::probe::ProbeSettings;

    fn routes(text: &str) -> Vec<StaticRoute> {
        match kith_config::load_str(text, "t.yaml") {
            Ok(l) => crate::plan::static_routes(&l.config).0,
            Err(d) => panic!("{d:?}"),
        }
    }

    fn info(route: Route, nexthops: Vec<NextHop>) -> RouteInfo {
        RouteInfo {
            route,
            scope: 0,
            nexthops,
            linkdown: false,
        }
    }

    const SCENARIO: &str = "ip:\n  route:\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.10.2\n      distance: 10\n      check-gateway: ping\n      check-gateway-interval: 100ms\n    - dst-address: 192.168.42.0/24\n      gateway: 172.16.11.2\n      distance: 20\n      check-gateway: ping\n      check-gateway-interval: 100ms\n";

    fn key(gw: &str) -> ProbeKey {
        ProbeKey {
            gateway: gw.parse().unwrap(),
            settings: ProbeSettings {
                interval: Duration::from_millis(100),
                threshold: 2,
                recovery: 1,
            },
        }
    }

    #[test]
    fn unreachable_gateway_withdraws_only_its_route() {
        let mut r = Reconciler::default();
        assert!(r.set_routes(routes(SCENARIO)).is_empty());
        let none = Interfaces::default();
        let up = r.placements(&none, &HashSet::new());
        assert_eq!(up[0].1, Placement::Installed(vec!["172.16.10.2".into()]));
        assert_eq!(up[1].1, Placement::Installed(vec!["172.16.11.2".into()]));
        let down: HashSet<ProbeKey> = [key("172.16.10.2")].into();
        let cut = r.placements(&none, &down);
        assert_eq!(cut[0].1, Placement::Withdrawn);
        assert_eq!(cut[1].1, Placement::Installed(vec!["172.16.11.2".into()]));
        // Another timing is another prober: this one is not down.
        let other = ProbeKey {
            settings: ProbeSettings::ROUTEROS,
            ..key("172.16.10.2")
        };
        let cut = r.placements(&none, &[other].into());
        assert_eq!(cut[0].1, Placement::Installed(vec!["172.16.10.2".into()]));
    }

    #[test]
    fn ecmp_loses_one_hop_then_all() {
        let mut r = Reconciler::default();
        r.set_routes(routes(
            "ip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.1,10.0.0.2\n      check-gateway: ping\n      check-gateway-interval: 100ms\n",
        ));
        let none = Interfaces::default();
        let one_down: HashSet<ProbeKey> = [key("10.0.0.1")].into();
        assert_eq!(
            r.placements(&none, &one_down)[0].1,
            Placement::Installed(vec!["10.0.0.2".into()])
        );
        let both: HashSet<ProbeKey> = [key("10.0.0.1"), key("10.0.0.2")].into();
        assert_eq!(r.placements(&none, &both)[0].1, Placement::Withdrawn);
    }

    #[test]
    fn clashing_routes_are_noted_and_disabled_ones_kept_for_print() {
        let mut r = Reconciler::default();
        let notes = r.set_routes(routes(
            "ip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.1\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.2\n    - dst-address: 10.1.0.0/16\n      gateway: 10.0.0.3\n      disabled: yes\n",
        ));
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(
            notes[0].contains("same destination and distance"),
            "{notes:?}"
        );
        assert_eq!(r.wanted().len(), 2);
        assert!(r.wanted()[1].disabled);
        assert_eq!(
            r.placements(&Interfaces::default(), &HashSet::new()).len(),
            1
        );
    }

    #[test]
    fn missing_interface_is_a_problem_not_a_hop() {
        let rs = routes(
            "interface:\n  ethernet:\n    - name: tun1\n      default-name: eth9\nip:\n  route:\n    - dst-address: 10.1.0.0/16\n      gateway: tun1\n",
        );
        let (hops, names, problems) =
            Reconciler::usable_hops(&rs[0], &Interfaces::default(), &HashSet::new());
        assert!(hops.is_empty() && names.is_empty());
        assert_eq!(
            problems,
            vec!["interface tun1 does not exist (yet)".to_string()]
        );
    }

    #[test]
    fn installed_routes_are_matched_with_kernel_details() {
        let rs = routes(SCENARIO);
        let hop = ResolvedHop {
            gateway: Some("172.16.10.2".parse().unwrap()),
            oif: None,
        };
        let want = rs[0].desired(&[hop]).unwrap();
        // The kernel reports the oif it chose: still the same route.
        let kernel = info(want.route.clone().with_oif(7), vec![]);
        assert!(matches(&kernel, &want));
        let other_gw = info(
            want.route
                .clone()
                .with_gateway("172.16.11.2".parse().unwrap()),
            vec![],
        );
        assert!(!matches(&other_gw, &want));
        assert!(same_slot(&other_gw, &want));
        let multi = rs[0]
            .desired(&[
                hop,
                ResolvedHop {
                    gateway: Some("172.16.10.3".parse().unwrap()),
                    oif: None,
                },
            ])
            .unwrap();
        assert!(!matches(&kernel, &multi));
        let nh = |gw: &str| NextHop {
            gateway: Some(gw.parse().unwrap()),
            oif: Some(7),
            weight: 1,
            linkdown: false,
        };
        let kernel_multi = info(
            want.route.clone(),
            vec![nh("172.16.10.3"), nh("172.16.10.2")],
        );
        assert!(matches(&kernel_multi, &multi), "order does not matter");
        assert!(!matches(&kernel_multi, &want));
    }
}
