//! Installs best routes into the kernel with protocol `bgp` (186) and the metric of
//! their distance, replaces them in place, removes them on withdraw and at shutdown.
//! Runs as its own task so a slow kernel never stalls the sessions. Changes are
//! batched: queued requests are merged, only the last change per prefix is kept, and
//! up to [`PIPELINE`] netlink requests are in flight at once on one socket.

use std::collections::HashMap;
use std::net::IpAddr;

use futures::StreamExt;
use ipnet::IpNet;
use kith_net::{Net, PROTO_BGP, Route, RouteFilter, RouteSource, metric};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::rib::KernelChange;

/// Netlink requests in flight at once.
pub(crate) const PIPELINE: usize = 256;
/// Changes taken from the queue in one batch.
const BATCH: usize = 65_536;

/// Requests to the kernel task.
#[derive(Debug)]
pub(crate) enum KernelRequest {
    /// Apply these changes in order.
    Apply(Vec<KernelChange>),
    /// Remove every route installed, then answer.
    Shutdown(oneshot::Sender<()>),
}

/// What one prefix has in the kernel: gateway and distance.
type Installed = HashMap<IpNet, (IpAddr, u8)>;

enum Op {
    Replace(Route, Option<Route>),
    Delete(Route),
}

/// Removes BGP routes a previous run left behind (a crash), then applies requests.
pub(crate) async fn run(net: Net, mut requests: mpsc::UnboundedReceiver<KernelRequest>) {
    match net.routes(&RouteFilter::protocol(PROTO_BGP)).await {
        Ok(left) => {
            let ops = left.into_iter().map(|i| Op::Delete(i.route)).collect();
            execute(&net, ops).await;
        }
        Err(e) => warn!("bgpd: cannot list old BGP routes: {e}"),
    }
    let mut installed = Installed::new();
    while let Some(request) = requests.recv().await {
        let mut changes = match request {
            KernelRequest::Apply(c) => c,
            KernelRequest::Shutdown(done) => {
                shutdown(&net, &mut installed).await;
                let _ = done.send(());
                return;
            }
        };
        // Merge what queued up meanwhile (bounded).
        let mut stop = None;
        while changes.len() < BATCH {
            match requests.try_recv() {
                Ok(KernelRequest::Apply(more)) => changes.extend(more),
                Ok(KernelRequest::Shutdown(done)) => {
                    stop = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        let ops = plan(&mut installed, changes);
        execute(&net, ops).await;
        if let Some(done) = stop {
            shutdown(&net, &mut installed).await;
            let _ = done.send(());
            return;
        }
    }
}

async fn shutdown(net: &Net, installed: &mut Installed) {
    let ops = installed
        .drain()
        .map(|(prefix, (gw, distance))| Op::Delete(route(prefix, gw, distance)))
        .collect();
    execute(net, ops).await;
}

fn route(prefix: IpNet, gateway: IpAddr, distance: u8) -> Route {
    Route::new(prefix)
        .with_gateway(gateway)
        .with_protocol(PROTO_BGP)
        .with_metric(metric(distance, RouteSource::Bgp))
}

/// The netlink operations for `changes`: the last change per prefix wins; the table of
/// what is installed is updated at once.
fn plan(installed: &mut Installed, changes: Vec<KernelChange>) -> Vec<Op> {
    let mut last: HashMap<IpNet, KernelChange> = HashMap::with_capacity(changes.len());
    let mut order = Vec::with_capacity(changes.len());
    for change in changes {
        let prefix = match &change {
            KernelChange::Install { prefix, .. } | KernelChange::Remove { prefix } => *prefix,
        };
        if last.insert(prefix, change).is_none() {
            order.push(prefix);
        }
    }
    let mut ops = Vec::with_capacity(order.len());
    for prefix in order {
        let Some(change) = last.remove(&prefix) else {
            continue;
        };
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
                // A new metric is a new kernel route: the old one must go.
                let stale = old
                    .filter(|(_, d)| *d != distance)
                    .map(|(g, d)| route(prefix, g, d));
                ops.push(Op::Replace(route(prefix, gateway, distance), stale));
            }
            KernelChange::Remove { .. } => {
                if let Some((g, d)) = installed.remove(&prefix) {
                    ops.push(Op::Delete(route(prefix, g, d)));
                }
            }
        }
    }
    ops
}

async fn execute(net: &Net, ops: Vec<Op>) {
    futures::stream::iter(ops)
        .for_each_concurrent(PIPELINE, |op| async move {
            match op {
                Op::Replace(route, stale) => {
                    if let Err(e) = net.replace_route(&route).await {
                        warn!(
                            "bgpd: cannot install {} via {:?}: {e}",
                            route.dst, route.gateway
                        );
                    }
                    if let Some(old) = stale {
                        let _ = net.del_route(&old).await;
                    }
                }
                Op::Delete(route) => {
                    if let Err(e) = net.del_route(&route).await {
                        debug!("bgpd: removing {}: {e}", route.dst);
                    }
                }
            }
        })
        .await;
}
