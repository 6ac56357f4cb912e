//! The event stream sees links, addresses and routes come and go, within a bounded wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{ns, within};
use futures::StreamExt;
use ipnet::IpNet;
use kith_net::{EventGroup, EventStream, Net, NetEvent, PROTO_BGP, Route, subscribe};

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// Reads events until `pick` accepts one; fails after the common wait.
async fn wait_for<T>(
    events: &mut EventStream,
    what: &str,
    mut pick: impl FnMut(&NetEvent) -> Option<T>,
) -> T {
    within(what, async {
        loop {
            let event = events.next().await.expect("the event stream ended");
            if let Some(v) = pick(&event) {
                return v;
            }
        }
    })
    .await
}

#[test]
fn events_for_links_addresses_and_routes() {
    let ns = ns("events");
    ns.run(|| async {
        let n = Net::new().unwrap();
        let mut events = subscribe(&EventGroup::ALL).unwrap();

        let index = n.create_veth("ev0", "ev1").await.unwrap();
        let added = wait_for(&mut events, "LinkAdded ev0", |e| match e {
            NetEvent::LinkAdded(l) if l.name == "ev0" => Some(l.clone()),
            _ => None,
        })
        .await;
        assert_eq!(added.index, index);
        assert_eq!(added.kind.as_deref(), Some("veth"));

        n.set_up("ev0").await.unwrap();
        wait_for(&mut events, "LinkChanged ev0 up", |e| match e {
            NetEvent::LinkChanged(l) if l.index == index && l.up => Some(()),
            _ => None,
        })
        .await;

        n.add_address("ev0", net("10.3.0.1/24")).await.unwrap();
        let addr = wait_for(&mut events, "AddressAdded 10.3.0.1/24", |e| match e {
            NetEvent::AddressAdded(a) if a.address == net("10.3.0.1/24") => Some(a.clone()),
            _ => None,
        })
        .await;
        assert_eq!(addr.index, index);

        let route = Route::new(net("10.30.0.0/16"))
            .with_gateway("10.3.0.2".parse().unwrap())
            .with_protocol(PROTO_BGP)
            .with_metric(322);
        n.add_route(&route).await.unwrap();
        let seen = wait_for(&mut events, "RouteAdded 10.30.0.0/16", |e| match e {
            NetEvent::RouteAdded(r) if r.route.dst == net("10.30.0.0/16") => Some(r.clone()),
            _ => None,
        })
        .await;
        assert_eq!(seen.route.protocol, PROTO_BGP);
        assert_eq!(seen.route.metric, 322);
        assert_eq!(seen.route.oif, Some(index));

        n.del_route(&route).await.unwrap();
        wait_for(&mut events, "RouteRemoved 10.30.0.0/16", |e| match e {
            NetEvent::RouteRemoved(r) if r.route.dst == net("10.30.0.0/16") => Some(()),
            _ => None,
        })
        .await;

        n.del_address("ev0", net("10.3.0.1/24")).await.unwrap();
        wait_for(&mut events, "AddressRemoved 10.3.0.1/24", |e| match e {
            NetEvent::AddressRemoved(a) if a.address == net("10.3.0.1/24") => Some(()),
            _ => None,
        })
        .await;

        n.delete_link("ev0").await.unwrap();
        let removed = wait_for(&mut events, "LinkRemoved ev0", |e| match e {
            NetEvent::LinkRemoved { index: i, name } if name == "ev0" => Some(*i),
            _ => None,
        })
        .await;
        assert_eq!(removed, index);
    });
}

#[test]
fn subscription_is_limited_to_its_groups() {
    let ns = ns("events-groups");
    ns.run(|| async {
        let n = Net::new().unwrap();
        let mut routes_only = subscribe(&[EventGroup::Ipv4Route]).unwrap();
        n.create_veth("g0", "g1").await.unwrap();
        n.add_address("g0", net("10.4.0.1/24")).await.unwrap();
        n.set_up("g0").await.unwrap();
        // Bringing g0 up installs its connected route: the first event must be a route.
        let first = within("a route event", routes_only.next()).await.unwrap();
        assert!(matches!(first, NetEvent::RouteAdded(_)), "{first:?}");
    });
}

#[test]
fn subscribe_outside_a_runtime_is_an_error() {
    let e = subscribe(&EventGroup::ALL).unwrap_err();
    assert!(e.to_string().contains("inside a tokio runtime"), "{e}");
    let e = Net::new().unwrap_err();
    assert!(e.to_string().contains("inside a tokio runtime"), "{e}");
}
