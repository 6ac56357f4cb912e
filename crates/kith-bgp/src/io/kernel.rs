//! Installs best routes into the kernel with protocol `bgp` (186) and the metric of
//! their distance, replaces them in place, removes them on withdraw and at shutdown.
//! Runs as its own task so a slow kernel never stalls the sessions. Changes are
//! batched: queued requests are merged, only the last change per prefix is kept, and
//! they go to the kernel through a [`RouteBatch`] (about a thousand routes per system
//! call, each route's error reported on its own).

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ipnet::IpNet;
use kith_net::{
    Net, NetError, PROTO_BGP, Route, RouteBatch, RouteChange, RouteChangeError, RouteFilter,
    RouteSource, metric,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::rib::{KernelChange, PrefixMap};

/// Changes taken from the queue in one batch.
const BATCH: usize = 65_536;
/// A batch smaller than this waits [`GATHER`] for more changes.
const GATHER_BELOW: usize = 4096;
const GATHER: std::time::Duration = std::time::Duration::from_millis(2);
/// Failures logged one by one per batch; the rest are counted.
const LOGGED_FAILURES: usize = 5;

/// Requests to the kernel task.
#[derive(Debug)]
pub(crate) enum KernelRequest {
    /// Apply these changes in order.
    Apply(Vec<KernelChange>),
    /// Remove every route installed, then answer.
    Shutdown(oneshot::Sender<()>),
}

/// What one prefix has in the kernel: gateway and distance (a [`PrefixMap`]: a full
/// table's worth without a hash map's empty buckets).
type Installed = PrefixMap<(IpAddr, u8)>;

/// What to believe about a prefix when its change fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undo {
    /// Nothing: a delete that fails leaves nothing of ours behind either.
    Nothing,
    /// The replace failed: the kernel kept `previous` (same metric) or has nothing.
    Replace {
        prefix: IpNet,
        previous: Option<(IpAddr, u8)>,
    },
}

/// The kernel changes of one batch, each with what a failure means.
#[derive(Debug, Default)]
struct Plan {
    changes: Vec<RouteChange>,
    undo: Vec<Undo>,
}

impl Plan {
    fn push(&mut self, change: RouteChange, undo: Undo) {
        self.changes.push(change);
        self.undo.push(undo);
    }
}

/// Removes BGP routes a previous run left behind (a crash), then applies requests.
/// `net` lists those routes; `batch` (opened in the daemon's namespace) applies changes;
/// `in_kernel` tells how many routes the kernel has acknowledged and holds (for the
/// status: `kith bench bgp` stops its clock when it reaches the table's size).
pub(crate) async fn run(
    net: Net,
    batch: RouteBatch,
    mut requests: mpsc::UnboundedReceiver<KernelRequest>,
    in_kernel: Arc<AtomicUsize>,
) {
    let batch = Arc::new(Mutex::new(batch));
    let mut installed = Installed::default();
    match net.routes(&RouteFilter::protocol(PROTO_BGP)).await {
        Ok(left) => {
            let mut plan = Plan::default();
            for info in left {
                plan.push(RouteChange::Delete(info.route), Undo::Nothing);
            }
            execute(&batch, &mut installed, plan).await;
        }
        Err(e) => warn!("bgpd: cannot list old BGP routes: {e}"),
    }
    while let Some(request) = requests.recv().await {
        let mut changes = match request {
            KernelRequest::Apply(c) => c,
            KernelRequest::Shutdown(done) => {
                shutdown(&batch, &mut installed).await;
                let _ = done.send(());
                return;
            }
        };
        // Merge what queued up meanwhile (bounded); a small batch waits a moment for
        // more: a full table comes a few routes per UPDATE, and each batch costs a
        // hand-off to a blocking thread.
        let mut stop = merge(&mut requests, &mut changes);
        if stop.is_none() && changes.len() < GATHER_BELOW {
            tokio::time::sleep(GATHER).await;
            stop = merge(&mut requests, &mut changes);
        }
        let plan = plan(&mut installed, changes);
        execute(&batch, &mut installed, plan).await;
        in_kernel.store(installed.len(), Ordering::Relaxed);
        if let Some(done) = stop {
            shutdown(&batch, &mut installed).await;
            let _ = done.send(());
            return;
        }
    }
}

/// Appends queued changes to `changes` up to [`BATCH`]; a shutdown request ends it.
fn merge(
    requests: &mut mpsc::UnboundedReceiver<KernelRequest>,
    changes: &mut Vec<KernelChange>,
) -> Option<oneshot::Sender<()>> {
    while changes.len() < BATCH {
        match requests.try_recv() {
            Ok(KernelRequest::Apply(more)) => changes.extend(more),
            Ok(KernelRequest::Shutdown(done)) => return Some(done),
            Err(_) => break,
        }
    }
    None
}

async fn shutdown(batch: &Arc<Mutex<RouteBatch>>, installed: &mut Installed) {
    let mut plan = Plan::default();
    for (prefix, &(gw, distance)) in installed.iter() {
        plan.push(
            RouteChange::Delete(route(prefix, gw, distance)),
            Undo::Nothing,
        );
    }
    installed.clear();
    execute(batch, installed, plan).await;
}

fn route(prefix: IpNet, gateway: IpAddr, distance: u8) -> Route {
    Route::new(prefix)
        .with_gateway(gateway)
        .with_protocol(PROTO_BGP)
        .with_metric(metric(distance, RouteSource::Bgp))
}

/// The kernel changes for `changes`: the last change per prefix wins; the table of
/// what is installed is updated at once (and corrected by [`settle`] for failures).
/// Prefixes go to the kernel in address order (a stable sort keeps each prefix's own
/// changes in order; different prefixes do not depend on each other).
fn plan(installed: &mut Installed, mut changes: Vec<KernelChange>) -> Plan {
    changes.sort_by_key(KernelChange::prefix);
    let mut plan = Plan::default();
    let mut changes = changes.into_iter().peekable();
    while let Some(change) = changes.next() {
        let prefix = change.prefix();
        if changes.peek().is_some_and(|next| next.prefix() == prefix) {
            continue;
        }
        match change {
            KernelChange::Install {
                gateway,
                link_local,
                distance,
                ..
            } => {
                let gateway = if gateway.is_unspecified() {
                    link_local.map(Into::into)
                } else {
                    Some(gateway)
                };
                let Some(gateway) = gateway else {
                    continue;
                };
                let old = installed.insert(prefix, (gateway, distance));
                if old == Some((gateway, distance)) {
                    continue;
                }
                // Same metric: replaced in place, or kept by the kernel if this fails.
                let previous = old.filter(|(_, d)| *d == distance);
                plan.push(
                    RouteChange::Replace(route(prefix, gateway, distance)),
                    Undo::Replace { prefix, previous },
                );
                // A new metric is a new kernel route: the old one must go.
                if let Some((g, d)) = old.filter(|(_, d)| *d != distance) {
                    plan.push(RouteChange::Delete(route(prefix, g, d)), Undo::Nothing);
                }
            }
            KernelChange::Remove { .. } => {
                if let Some((g, d)) = installed.remove(&prefix) {
                    plan.push(RouteChange::Delete(route(prefix, g, d)), Undo::Nothing);
                }
            }
        }
    }
    plan
}

/// Applies `plan` on a blocking thread (the kernel works inside the system call), then
/// [`settle`]s its failures.
async fn execute(batch: &Arc<Mutex<RouteBatch>>, installed: &mut Installed, plan: Plan) {
    if plan.changes.is_empty() {
        return;
    }
    let batch = Arc::clone(batch);
    let applied = tokio::task::spawn_blocking(move || {
        let failed = batch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .apply(&plan.changes);
        (plan, failed)
    })
    .await;
    match applied {
        Ok((plan, failed)) => settle(installed, &plan, &failed),
        Err(e) => warn!("bgpd: kernel route changes not applied: {e}"),
    }
}

/// Logs the failed changes of `plan` (the first few, then a count) and corrects
/// `installed` for the replaces the kernel refused, so that a later install of the same
/// route is tried again.
fn settle(installed: &mut Installed, plan: &Plan, failed: &[RouteChangeError]) {
    let (mut logged, mut unlogged) = (0usize, 0usize);
    for failure in failed {
        let Some(undo) = plan.undo.get(failure.index) else {
            continue;
        };
        if let Undo::Replace { prefix, previous } = *undo {
            match previous {
                Some(old) => installed.insert(prefix, old),
                None => installed.remove(&prefix),
            };
        }
        match &failure.error {
            NetError::RouteNotFound { .. } => debug!("bgpd: {}", failure.error),
            error if logged < LOGGED_FAILURES => {
                warn!("bgpd: {error}");
                logged += 1;
            }
            _ => unlogged += 1,
        }
    }
    if unlogged > 0 {
        warn!("bgpd: and {unlogged} more kernel route changes failed");
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn install(prefix: &str, gateway: &str, distance: u8) -> KernelChange {
        KernelChange::Install {
            prefix: prefix.parse().unwrap(),
            gateway: gateway.parse().unwrap(),
            link_local: None,
            distance,
        }
    }

    fn failure(index: usize) -> RouteChangeError {
        RouteChangeError {
            index,
            error: NetError::Protocol {
                op: "replace route".into(),
                reason: "refused".into(),
            },
        }
    }

    #[test]
    fn the_last_change_per_prefix_wins() {
        let mut installed = Installed::default();
        let plan = plan(
            &mut installed,
            vec![
                install("11.0.0.0/24", "10.0.0.2", 20),
                install("11.0.1.0/24", "10.0.0.2", 20),
                install("11.0.0.0/24", "10.0.0.3", 20),
                KernelChange::Remove {
                    prefix: "11.0.1.0/24".parse().unwrap(),
                },
            ],
        );
        assert_eq!(
            plan.changes,
            [RouteChange::Replace(route(
                "11.0.0.0/24".parse().unwrap(),
                "10.0.0.3".parse().unwrap(),
                20
            ))]
        );
        assert_eq!(installed.len(), 1);
    }

    #[test]
    fn a_new_distance_deletes_the_old_route_after_installing() {
        let mut installed = Installed::default();
        plan(&mut installed, vec![install("11.0.0.0/24", "10.0.0.2", 20)]);
        let plan = plan(
            &mut installed,
            vec![install("11.0.0.0/24", "10.0.0.2", 200)],
        );
        let metrics: Vec<_> = plan
            .changes
            .iter()
            .map(|c| (matches!(c, RouteChange::Replace(_)), c.route().metric))
            .collect();
        assert_eq!(metrics, [(true, 3202), (false, 322)]);
    }

    #[test]
    fn a_refused_install_is_forgotten_so_it_is_tried_again() {
        let prefix: IpNet = "11.0.0.0/24".parse().unwrap();
        let mut installed = Installed::default();
        let first = plan(&mut installed, vec![install("11.0.0.0/24", "10.9.9.9", 20)]);
        settle(&mut installed, &first, &[failure(0)]);
        assert_eq!(installed.len(), 0);
        let again = plan(&mut installed, vec![install("11.0.0.0/24", "10.9.9.9", 20)]);
        assert_eq!(again.changes.len(), 1);

        // A refused replace of a route of the same metric leaves the old one in place.
        settle(&mut installed, &again, &[]);
        let change = plan(&mut installed, vec![install("11.0.0.0/24", "10.0.0.7", 20)]);
        settle(&mut installed, &change, &[failure(0)]);
        assert_eq!(
            installed.get(&prefix),
            Some(&("10.9.9.9".parse().unwrap(), 20))
        );
    }
}
