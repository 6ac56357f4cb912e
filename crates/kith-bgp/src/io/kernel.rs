//! Installs best routes into the kernel with protocol `bgp` (186) and the metric of
//! their distance, replaces them in place, removes them on withdraw and at shutdown.
//! Runs as its own task so a slow kernel never stalls the sessions.

use std::collections::HashMap;

use ipnet::IpNet;
use kith_net::{Net, PROTO_BGP, Route, RouteFilter, RouteSource, metric};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

use crate::rib::KernelChange;

/// Requests to the kernel task.
#[derive(Debug)]
pub(crate) enum KernelRequest {
    /// Apply these changes in order.
    Apply(Vec<KernelChange>),
    /// Remove every route installed, then answer.
    Shutdown(oneshot::Sender<()>),
}

/// Removes BGP routes a previous run left behind (a crash), then applies requests.
pub(crate) async fn run(net: Net, mut requests: mpsc::UnboundedReceiver<KernelRequest>) {
    match net.routes(&RouteFilter::protocol(PROTO_BGP)).await {
        Ok(left) => {
            for info in left {
                let _ = net.del_route(&info.route).await;
            }
        }
        Err(e) => warn!("bgpd: cannot list old BGP routes: {e}"),
    }
    let mut installed: HashMap<IpNet, Route> = HashMap::new();
    while let Some(request) = requests.recv().await {
        match request {
            KernelRequest::Apply(changes) => {
                for change in changes {
                    apply(&net, &mut installed, change).await;
                }
            }
            KernelRequest::Shutdown(done) => {
                for (_, route) in installed.drain() {
                    if let Err(e) = net.del_route(&route).await {
                        debug!("bgpd: removing {}: {e}", route.dst);
                    }
                }
                let _ = done.send(());
                return;
            }
        }
    }
}

async fn apply(net: &Net, installed: &mut HashMap<IpNet, Route>, change: KernelChange) {
    match change {
        KernelChange::Install {
            prefix,
            gateway,
            link_local,
            distance,
        } => {
            let gateway = if gateway.is_unspecified() {
                link_local.map(Into::into)
            } else {
                Some(gateway)
            };
            let Some(gateway) = gateway else {
                return;
            };
            let route = Route::new(prefix)
                .with_gateway(gateway)
                .with_protocol(PROTO_BGP)
                .with_metric(metric(distance, RouteSource::Bgp));
            if let Err(e) = net.replace_route(&route).await {
                warn!("bgpd: cannot install {prefix} via {gateway}: {e}");
                return;
            }
            if let Some(old) = installed.insert(prefix, route.clone()) {
                if old.metric != route.metric {
                    let _ = net.del_route(&old).await;
                }
            }
        }
        KernelChange::Remove { prefix } => {
            if let Some(old) = installed.remove(&prefix) {
                if let Err(e) = net.del_route(&old).await {
                    debug!("bgpd: removing {prefix}: {e}");
                }
            }
        }
    }
}
