//! The reconciler against a real kernel: ECMP, blackhole/unreachable/prohibit, a numbered
//! table, disabled routes, withdrawal of an unreachable gateway's route, removal of
//! routes no longer configured. Needs root (network namespaces); fails, never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use kith_net::testns::TestNetns;
use kith_net::{Net, RouteKind};
use kith_route::Reconciler;
use kith_route::probe::{ProbeKey, ProbeSettings};
use kith_route::reconcile::own_routes;
use kith_route::resolve::Interfaces;

fn routes(text: &str) -> Vec<kith_route::StaticRoute> {
    match kith_config::load_str(text, "t.yaml") {
        Ok(l) => kith_route::static_routes(&l.config).0,
        Err(d) => panic!("{d:?}"),
    }
}

const CONFIG: &str = "interface:
  ethernet:
    - name: uplink
      default-name: r0
ip:
  route:
    - dst-address: 10.10.0.0/16
      gateway: 10.0.0.2,10.0.0.3
      distance: 5
    - dst-address: 10.20.0.0/16
      gateway: 10.0.0.2
      distance: 10
      check-gateway: ping
      check-gateway-interval: 100ms
    - dst-address: 10.20.0.0/16
      gateway: uplink
      distance: 20
    - dst-address: 192.168.200.0/24
      type: blackhole
    - dst-address: 192.168.201.0/24
      type: unreachable
    - dst-address: 192.168.202.0/24
      type: prohibit
    - dst-address: 10.30.0.0/16
      gateway: 10.0.0.2
      routing-table: 100
    - dst-address: 10.40.0.0/16
      gateway: 10.0.0.2
      disabled: yes
";

#[test]
fn every_route_kind_lands_in_the_kernel_and_leaves_it() {
    let ns = TestNetns::new("reconcile").unwrap_or_else(|e| panic!("{e}"));
    ns.ip(&["link", "add", "r0", "type", "veth", "peer", "name", "r1"])
        .unwrap();
    // As `kith run` does: the config label becomes the link's altname.
    ns.ip(&["link", "property", "add", "dev", "r0", "altname", "uplink"])
        .unwrap();
    ns.ip(&["addr", "add", "10.0.0.1/24", "dev", "r0"]).unwrap();
    ns.ip(&["link", "set", "r0", "up"]).unwrap();
    ns.ip(&["link", "set", "r1", "up"]).unwrap();
    let show = |args: &[&str]| ns.ip(args).unwrap();
    ns.run(|| async {
        let net = Net::new().unwrap();
        let mut r = Reconciler::default();
        assert!(r.set_routes(routes(CONFIG)).is_empty());
        let interfaces = Interfaces::read(&net).await.unwrap();
        r.sync(&net, &interfaces, &HashSet::new()).await;

        let main = show(&["route", "show", "proto", "static"]);
        assert!(main.contains("10.10.0.0/16 metric 81"), "{main}");
        assert!(
            main.contains("nexthop via 10.0.0.2 dev r0 weight 1"),
            "{main}"
        );
        assert!(
            main.contains("nexthop via 10.0.0.3 dev r0 weight 1"),
            "{main}"
        );
        assert!(
            main.contains("10.20.0.0/16 via 10.0.0.2 dev r0 metric 161"),
            "{main}"
        );
        assert!(
            main.contains("10.20.0.0/16 dev r0 scope link metric 321"),
            "{main}"
        );
        assert!(
            main.contains("blackhole 192.168.200.0/24 metric 17"),
            "{main}"
        );
        assert!(
            main.contains("unreachable 192.168.201.0/24 metric 17"),
            "{main}"
        );
        assert!(
            main.contains("prohibit 192.168.202.0/24 metric 17"),
            "{main}"
        );
        assert!(!main.contains("10.40.0.0"), "disabled: {main}");
        let t100 = show(&["route", "show", "table", "100"]);
        assert!(
            t100.contains("10.30.0.0/16 via 10.0.0.2 dev r0 proto static metric 17"),
            "{t100}"
        );
        let own = own_routes(&net).await.unwrap();
        assert_eq!(own.len(), 7, "{own:?}");
        assert!(own.iter().any(|i| i.route.kind == RouteKind::Prohibit));

        // A second pass changes nothing.
        r.sync(&net, &interfaces, &HashSet::new()).await;
        assert_eq!(show(&["route", "show", "proto", "static"]), main);

        // The checked gateway is unreachable: its route goes, the interface route stays.
        let down: HashSet<ProbeKey> = [ProbeKey {
            gateway: "10.0.0.2".parse().unwrap(),
            settings: ProbeSettings {
                interval: Duration::from_millis(100),
                threshold: 2,
                recovery: 1,
            },
        }]
        .into();
        r.sync(&net, &interfaces, &down).await;
        let cut = show(&["route", "show", "10.20.0.0/16"]);
        assert!(!cut.contains("metric 161"), "{cut}");
        assert!(cut.contains("metric 321"), "{cut}");
        assert!(
            show(&["route", "show", "10.10.0.0/16"]).contains("nexthop via 10.0.0.2"),
            "unchecked ECMP gateways stay"
        );
        r.sync(&net, &interfaces, &HashSet::new()).await;
        assert!(show(&["route", "show", "10.20.0.0/16"]).contains("metric 161"));

        // A route deleted by hand comes back; a route no longer configured goes.
        ns.ip(&[
            "route",
            "del",
            "blackhole",
            "192.168.200.0/24",
            "metric",
            "17",
        ])
        .unwrap();
        r.set_routes(routes(
            "ip:\n  route:\n    - dst-address: 192.168.200.0/24\n      type: blackhole\n",
        ));
        r.sync(&net, &interfaces, &HashSet::new()).await;
        let left = show(&["route", "show", "proto", "static"]);
        assert_eq!(
            left.trim(),
            "blackhole 192.168.200.0/24 metric 17",
            "{left}"
        );
        assert_eq!(show(&["route", "show", "table", "100"]).trim(), "");

        r.remove_all(&net).await;
        assert_eq!(show(&["route", "show", "proto", "static"]).trim(), "");
    });
}
