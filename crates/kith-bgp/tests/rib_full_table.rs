//! Cost of a full table without sockets (ignored by default; run with `--ignored
//! --nocapture` in release): 1,000,000 /24s from one eBGP peer are encoded, decoded and
//! fed to the RIB; prints seconds (wall and on CPU: the machine is shared) and resident
//! bytes per route.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use ipnet::{IpNet, Ipv4Net};
use kith_bgp::codec::{AsPath, DecodeContext, Family, Message, Origin, PathAttributes, pack};
use kith_bgp::fsm::Negotiated;
use kith_bgp::policy::Chains;
use kith_bgp::rib::{Instance, PeerSpec, Rib, SessionInfo};

fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// Nanoseconds this thread has run on a CPU.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[test]
#[ignore = "a measurement: run in release with --ignored --nocapture"]
fn full_table_cost() {
    let n: u32 = std::env::var("KITH_RIB_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let ctx = DecodeContext {
        ebgp: true,
        peer_as: Some(65000),
        ..DecodeContext::default()
    };
    let attrs = PathAttributes {
        origin: Origin::Igp,
        as_path: AsPath::sequence(&[65000]),
        next_hop: Some(Ipv4Addr::new(10, 0, 0, 1)),
        ..PathAttributes::default()
    };
    let base = u32::from(Ipv4Addr::new(11, 0, 0, 0));
    // KITH_RIB_SCATTER: the same /24s in a scrambled order (each UPDATE's prefixes far
    // apart), as a table that is not sent in address order.
    let scatter = std::env::var_os("KITH_RIB_SCATTER").is_some();
    let prefixes: Vec<IpNet> = (0..n)
        .map(|i| {
            let i = if scatter {
                (u64::from(i) * 2_654_435_761 % u64::from(n)) as u32
            } else {
                i
            };
            IpNet::V4(Ipv4Net::new(Ipv4Addr::from(base + (i << 8)), 24).unwrap())
        })
        .collect();
    let nh = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    let wire = pack(&attrs, Family::Ipv4, nh, None, &prefixes, &ctx);
    drop(prefixes);
    let mut rib = Rib::new(
        Instance {
            local_as: 65001,
            router_id: Ipv4Addr::new(10, 0, 0, 2),
            out_filter: None,
            client_to_client_reflection: true,
            ignore_as_path_len: false,
        },
        Chains::default(),
    );
    rib.set_kernel(std::env::var_os("KITH_RIB_KERNEL").is_some());
    rib.set_peer(PeerSpec {
        id: 1,
        name: "feed".into(),
        address: nh,
        remote_as: 65000,
        in_filter: None,
        out_filter: None,
        rr_client: false,
        nexthop_choice: kith_config::NexthopChoice::Default,
        max_prefix: None,
        default_originate: kith_config::DefaultOriginate::Never,
    });
    rib.peer_up(
        1,
        SessionInfo {
            negotiated: Negotiated {
                peer_id: Ipv4Addr::new(10, 0, 0, 1),
                peer_as: 65000,
                hold_time: 90,
                keepalive: 30,
                four_octet_as: true,
                families: vec![Family::Ipv4],
                route_refresh: true,
                peer_restart_time: None,
                ebgp: true,
            },
            local_v4: Some(Ipv4Addr::new(10, 0, 0, 2)),
            local_v6: None,
            link_local: None,
        },
    );
    let before = rss();
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let mut kernel = 0;
    for msg in &wire {
        let Ok(Message::Update(u)) = Message::parse(msg, &ctx) else {
            panic!("bad UPDATE")
        };
        kernel += rib.receive(1, &u).kernel.len();
    }
    let secs = start.elapsed().as_secs_f64();
    let cpu = (cpu_ns() - cpu_start) as f64 / 1e9;
    let grown = rss().saturating_sub(before);
    let (_, accepted, _) = rib.counters(1);
    assert_eq!(accepted, n as usize);
    println!(
        "{n} prefixes in {} UPDATEs: {secs:.2} s ({cpu:.2} s on CPU), {} bytes/route resident, {kernel} kernel changes",
        wire.len(),
        grown / u64::from(n)
    );
}
