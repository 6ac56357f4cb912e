//! Routes against the real kernel, cross-checked with `ip route`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::ns;
use ipnet::IpNet;
use kith_net::{
    IpFamily, NetError, PROTO_BGP, PROTO_KERNEL, PROTO_STATIC, Route, RouteFilter, RouteKind,
    RouteSource, metric,
};
use kith_net::{Net, testns::TestNetns};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// A namespace with `r0` (10.0.0.1/24, 2001:db8::1/64) up, its peer `r1` up.
fn routed_ns(tag: &str) -> (TestNetns, u32) {
    let ns = ns(tag);
    let r0 = ns.run(|| async {
        let n = Net::new().unwrap();
        let r0 = n.create_veth("r0", "r1").await.unwrap();
        n.add_address("r0", net("10.0.0.1/24")).await.unwrap();
        n.add_address("r0", net("2001:db8::1/64")).await.unwrap();
        n.set_up("r0").await.unwrap();
        n.set_up("r1").await.unwrap();
        r0
    });
    (ns, r0)
}

#[test]
fn add_replace_delete_with_protocol_and_metric() {
    let (ns, r0) = routed_ns("routes");
    let static10 = Route::new(net("10.1.0.0/16"))
        .with_gateway("10.0.0.2".parse().unwrap())
        .with_protocol(PROTO_STATIC)
        .with_metric(metric(10, RouteSource::Static));
    let bgp20 = Route::new(net("10.1.0.0/16"))
        .with_gateway("10.0.0.3".parse().unwrap())
        .with_protocol(PROTO_BGP)
        .with_metric(metric(20, RouteSource::Bgp));
    ns.run(|| async {
        let n = Net::new().unwrap();
        n.add_route(&static10).await.unwrap();
        n.add_route(&bgp20).await.unwrap();

        let statics = n.routes(&RouteFilter::protocol(PROTO_STATIC)).await.unwrap();
        assert_eq!(statics.len(), 1, "{statics:?}");
        let got = &statics[0].route;
        assert_eq!(got.dst, net("10.1.0.0/16"));
        assert_eq!(got.gateway, Some("10.0.0.2".parse().unwrap()));
        assert_eq!(got.oif, Some(r0));
        assert_eq!((got.protocol, got.metric, got.table), (PROTO_STATIC, 161, 254));
        assert_eq!(got.kind, RouteKind::Unicast);

        let both: Vec<_> = n
            .routes(&RouteFilter::main())
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.route.dst == net("10.1.0.0/16"))
            .map(|r| (r.route.protocol, r.route.metric))
            .collect();
        assert_eq!(both, [(PROTO_STATIC, 161), (PROTO_BGP, 322)]);

        // The kernel's connected route is there too.
        let kernel = n.routes(&RouteFilter::protocol(PROTO_KERNEL)).await.unwrap();
        assert!(kernel.iter().any(|r| r.route.dst == net("10.0.0.0/24")), "{kernel:?}");

        let e = n.add_route(&bgp20).await.unwrap_err();
        assert!(e.is_exists());
        assert_eq!(
            e.to_string(),
            "cannot add route 10.1.0.0/16 via 10.0.0.3 proto 186 metric 322: File exists (os error 17)"
        );
    });
    let out = ns.ip(&["route", "show", "10.1.0.0/16"]).unwrap();
    assert!(
        out.contains("10.1.0.0/16 via 10.0.0.2 dev r0 proto static metric 161"),
        "{out}"
    );
    assert!(
        out.contains("10.1.0.0/16 via 10.0.0.3 dev r0 proto bgp metric 322"),
        "{out}"
    );

    ns.run(|| async {
        let n = Net::new().unwrap();
        // Replace the static route: same (table, dst, metric), new gateway.
        let moved = static10.clone().with_gateway("10.0.0.4".parse().unwrap());
        n.replace_route(&moved).await.unwrap();
        let statics = n
            .routes(&RouteFilter::protocol(PROTO_STATIC))
            .await
            .unwrap();
        assert_eq!(statics.len(), 1, "{statics:?}");
        assert_eq!(statics[0].route.gateway, Some("10.0.0.4".parse().unwrap()));
        // Replace also creates.
        let fresh = Route::new(net("10.7.0.0/16")).with_oif(r0).with_metric(17);
        n.replace_route(&fresh).await.unwrap();
        let got = n
            .routes(&RouteFilter::protocol(PROTO_STATIC))
            .await
            .unwrap();
        let dev_route = got
            .iter()
            .find(|r| r.route.dst == net("10.7.0.0/16"))
            .unwrap();
        assert_eq!(dev_route.scope, 253, "a device route has link scope");
        assert_eq!(dev_route.route.gateway, None);

        n.del_route(&moved).await.unwrap();
        let e = n.del_route(&moved).await.unwrap_err();
        assert!(matches!(e, NetError::RouteNotFound { .. }), "{e:?}");
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "cannot delete route 10.1.0.0/16 via 10.0.0.4 proto 4 metric 161: no such route"
        );
        let left = n.routes(&RouteFilter::main()).await.unwrap();
        let left: Vec<_> = left
            .iter()
            .filter(|r| r.route.dst == net("10.1.0.0/16"))
            .collect();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].route.protocol, PROTO_BGP);
    });
    let out = ns.ip(&["route", "show", "10.1.0.0/16"]).unwrap();
    assert_eq!(
        out.trim(),
        "10.1.0.0/16 via 10.0.0.3 dev r0 proto bgp metric 322"
    );
}

#[test]
fn blackhole_table_and_ipv6_routes() {
    let (ns, r0) = routed_ns("routes6");
    ns.run(|| async {
        let n = Net::new().unwrap();
        let bh = Route::new(net("192.168.200.0/24"))
            .with_kind(RouteKind::Blackhole)
            .with_protocol(PROTO_BGP)
            .with_metric(322);
        n.add_route(&bh).await.unwrap();
        let unreachable = Route::new(net("192.168.201.0/24"))
            .with_kind(RouteKind::Unreachable)
            .with_table(100);
        n.add_route(&unreachable).await.unwrap();
        let v6 = Route::new(net("2001:db8:42::/48"))
            .with_gateway("2001:db8::2".parse().unwrap())
            .with_oif(r0)
            .with_protocol(PROTO_STATIC)
            .with_metric(17);
        n.add_route(&v6).await.unwrap();
        let default = Route::new(net("0.0.0.0/0"))
            .with_gateway("10.0.0.254".parse().unwrap())
            .with_metric(metric(1, RouteSource::Static))
            .with_pref_src("10.0.0.1".parse().unwrap());
        n.add_route(&default).await.unwrap();

        let bgp = n.routes(&RouteFilter::protocol(PROTO_BGP)).await.unwrap();
        assert_eq!(bgp.len(), 1);
        assert_eq!(bgp[0].route, bh);

        let t100 = n
            .routes(&RouteFilter {
                table: Some(100),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(t100.len(), 1);
        assert_eq!(t100[0].route, unreachable);

        let statics6 = n
            .routes(&RouteFilter {
                family: Some(IpFamily::V6),
                ..RouteFilter::protocol(PROTO_STATIC)
            })
            .await
            .unwrap();
        assert_eq!(statics6.len(), 1);
        assert_eq!(statics6[0].route, v6);

        let statics4 = n
            .routes(&RouteFilter {
                family: Some(IpFamily::V4),
                ..RouteFilter::protocol(PROTO_STATIC)
            })
            .await
            .unwrap();
        assert_eq!(statics4.len(), 1);
        assert_eq!(statics4[0].route.dst, net("0.0.0.0/0"));
        assert_eq!(
            statics4[0].route.pref_src,
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(statics4[0].route.oif, Some(r0));

        n.del_route(&v6).await.unwrap();
        n.del_route(&unreachable).await.unwrap();
    });
    let out = ns.ip(&["route", "show"]).unwrap();
    assert!(
        out.contains("blackhole 192.168.200.0/24 proto bgp metric 322"),
        "{out}"
    );
    assert!(
        out.contains("default via 10.0.0.254 dev r0 proto static src 10.0.0.1 metric 17"),
        "{out}"
    );
    let out6 = ns.ip(&["-6", "route", "show"]).unwrap();
    assert!(!out6.contains("2001:db8:42::/48"), "{out6}");
    assert_eq!(
        ns.ip(&["route", "show", "table", "100"]).unwrap().trim(),
        ""
    );
}

#[test]
fn linkdown_routes_are_flagged() {
    let (ns, r0) = routed_ns("linkdown");
    ns.run(|| async {
        let n = Net::new().unwrap();
        let r = Route::new(net("10.5.0.0/16"))
            .with_gateway("10.0.0.2".parse().unwrap())
            .with_metric(17);
        n.add_route(&r).await.unwrap();
        // Carrier goes when the peer goes down.
        n.set_down("r1").await.unwrap();
        let info = common::eventually("the route to be flagged linkdown", || async {
            n.routes(&RouteFilter::protocol(PROTO_STATIC))
                .await
                .unwrap()
                .into_iter()
                .find(|i| i.route.dst == net("10.5.0.0/16") && i.linkdown)
        })
        .await;
        assert_eq!(info.route.oif, Some(r0));
    });
}

#[test]
fn multipath_route_is_installed_replaced_and_deleted() {
    let (ns, r0) = routed_ns("multipath");
    ns.run(|| async {
        let n = Net::new().unwrap();
        let route = Route::new(net("10.6.0.0/16"))
            .with_protocol(PROTO_STATIC)
            .with_metric(metric(10, RouteSource::Static));
        let hop = |gw: &str| kith_net::NextHop {
            gateway: Some(gw.parse().unwrap()),
            oif: None,
            weight: 1,
            linkdown: false,
        };
        n.replace_multipath_route(&route, &[hop("10.0.0.2"), hop("10.0.0.3")])
            .await
            .unwrap();
        let got = n
            .routes(&RouteFilter::protocol(PROTO_STATIC))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        let gateways: Vec<_> = got[0].nexthops.iter().map(|h| h.gateway).collect();
        assert_eq!(
            gateways,
            vec![
                Some("10.0.0.2".parse().unwrap()),
                Some("10.0.0.3".parse().unwrap())
            ]
        );
        assert!(got[0].nexthops.iter().all(|h| h.oif == Some(r0)));
        assert_eq!(got[0].route.metric, 161);

        // Down to one next hop: a plain route replaces the multipath one.
        n.replace_multipath_route(&route, &[hop("10.0.0.3")])
            .await
            .unwrap();
        let got = n
            .routes(&RouteFilter::protocol(PROTO_STATIC))
            .await
            .unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].nexthops.is_empty());
        assert_eq!(got[0].route.gateway, Some("10.0.0.3".parse().unwrap()));

        let e = n.replace_multipath_route(&route, &[]).await.unwrap_err();
        assert!(e.to_string().contains("needs next hops"), "{e}");
        n.del_route(&route).await.unwrap();
        assert!(
            n.routes(&RouteFilter::protocol(PROTO_STATIC))
                .await
                .unwrap()
                .is_empty()
        );
    });
}
