//! `kith bench failover`: how long traffic stops when the primary gateway dies.
//!
//! Builds the failover lab (nas-home - home =(two bridged paths)= remi - nas-remi, the
//! scenario's static routes at distance 10 and 20 with `check-gateway=ping`), pings
//! nas-home -> nas-remi every 10 ms, cuts path 1 on remi's side (home's interface stays
//! up: only the gateway stops answering) and measures the longest time without a reply.
//! Once with RouterOS timing, once with the fastest Kith setting.

use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kith_lab::{Lab, NodeKind};

/// Options of `kith bench failover`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Cuts measured per timing.
    #[arg(long, default_value_t = 3)]
    runs: u32,
    /// Only the fast timing (the RouterOS timing takes about 40 s per run).
    #[arg(long)]
    quick: bool,
}

/// One probe timing to measure.
#[derive(Debug, Clone, Copy)]
struct Timing {
    name: &'static str,
    interval_ms: u64,
    threshold: u8,
}

const TIMINGS: [Timing; 2] = [
    Timing {
        name: "RouterOS default (every 10 s, 2 misses)",
        interval_ms: 10_000,
        threshold: 2,
    },
    Timing {
        name: "fastest (every 100 ms, 2 misses)",
        interval_ms: 100,
        threshold: 2,
    },
];

/// The continuous ping: one echo request every 10 ms.
const PING_INTERVAL_MS: u64 = 10;
const SETUP_WAIT: Duration = Duration::from_secs(60);

/// Runs the benchmark and prints the table.
pub fn run(args: Args) -> Result<ExitCode> {
    if !nix::unistd::geteuid().is_root() {
        bail!("kith bench failover needs root (it builds network namespaces)");
    }
    for tool in ["ip", "ping"] {
        let ok = std::process::Command::new(tool)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            bail!("kith bench failover needs `{tool}` (iproute2, iputils-ping)");
        }
    }
    let kith = std::env::current_exe().context("cannot find the kith binary")?;
    let runs = args.runs.clamp(1, 20);
    let mut rows = Vec::new();
    for timing in TIMINGS {
        if args.quick && timing.interval_ms > 1000 {
            continue;
        }
        let mut outages = Vec::new();
        for n in 1..=runs {
            let outage =
                one_run(&kith, timing).with_context(|| format!("{}: run {n}", timing.name))?;
            eprintln!(
                "{}: run {n}/{runs}: outage {:.0} ms ({} echo requests lost)",
                timing.name, outage.gap_ms, outage.lost
            );
            outages.push(outage);
        }
        rows.push((timing, outages));
    }
    print!("{}", table(&rows));
    Ok(ExitCode::SUCCESS)
}

/// What one cut cost.
#[derive(Debug, Clone, Copy)]
struct Outage {
    /// Longest time between two consecutive replies, minus the ping interval.
    gap_ms: f64,
    /// Echo requests without a reply.
    lost: u64,
}

fn table(rows: &[(Timing, Vec<Outage>)]) -> String {
    let mut out = format!(
        "{:<42}  {:>4}  {:>10}  {:>10}  {:>10}  {:>14}  {:>8}\n",
        "check-gateway timing", "runs", "min ms", "median ms", "max ms", "expected ms", "lost/run"
    );
    for (t, outages) in rows {
        let mut gaps: Vec<f64> = outages.iter().map(|o| o.gap_ms).collect();
        gaps.sort_by(f64::total_cmp);
        let median = gaps.get(gaps.len() / 2).copied().unwrap_or(0.0);
        let lost: u64 = outages.iter().map(|o| o.lost).sum();
        let low = t.interval_ms * u64::from(t.threshold);
        let high = low + t.interval_ms;
        out.push_str(&format!(
            "{:<42}  {:>4}  {:>10.0}  {:>10.0}  {:>10.0}  {:>14}  {:>8}\n",
            t.name,
            outages.len(),
            gaps.first().copied().unwrap_or(0.0),
            median,
            gaps.last().copied().unwrap_or(0.0),
            format!("{low}..{high}"),
            lost / outages.len().max(1) as u64,
        ));
    }
    out
}

fn router_config(lan: &str, remote_lan: &str, gateways: [&str; 2], t: Timing) -> String {
    let own = |gw: &str| match gw.rsplit_once('.') {
        Some((net, "1")) => format!("{net}.2"),
        Some((net, _)) => format!("{net}.1"),
        None => gw.to_owned(),
    };
    let route = |gw: &str, distance: u8| {
        format!(
            "    - dst-address: {remote_lan}\n      gateway: {gw}\n      distance: {distance}\n      check-gateway: ping\n      check-gateway-interval: {}ms\n      check-gateway-threshold: {}\n",
            t.interval_ms, t.threshold
        )
    };
    format!(
        "interface:\n  ethernet:\n    - name: tunnel1\n      default-name: t1\n    - name: tunnel2\n      default-name: t2\n    - name: lan\n      default-name: eth2\n  list:\n    add:\n      - name: VPN\n    member:\n      - list: VPN\n        interface: tunnel1\n      - list: VPN\n        interface: tunnel2\nip:\n  address:\n    - address: {}/24\n      interface: tunnel1\n    - address: {}/24\n      interface: tunnel2\n    - address: {lan}\n      interface: lan\n  route:\n{}{}",
        own(gateways[0]),
        own(gateways[1]),
        route(gateways[0], 10),
        route(gateways[1], 20),
    )
}

fn build(kith: &Path, t: Timing) -> Result<Lab> {
    let lab = Lab::new("bench-failover")?;
    for (node, kind) in [
        ("home", NodeKind::Router),
        ("remi", NodeKind::Router),
        ("w1", NodeKind::Host),
        ("w2", NodeKind::Host),
        ("nas-home", NodeKind::Host),
        ("nas-remi", NodeKind::Host),
    ] {
        lab.add_node(node, kind)?;
    }
    lab.add_link(("home", "t1", None), ("w1", "to-home", None))?;
    lab.add_link(("w1", "to-remi", None), ("remi", "t1", None))?;
    lab.add_link(("home", "t2", None), ("w2", "to-home", None))?;
    lab.add_link(("w2", "to-remi", None), ("remi", "t2", None))?;
    lab.add_link(
        ("home", "eth2", None),
        ("nas-home", "eth0", Some("192.168.0.2/24".parse()?)),
    )?;
    lab.add_link(
        ("remi", "eth2", None),
        ("nas-remi", "eth0", Some("192.168.42.42/24".parse()?)),
    )?;
    for w in ["w1", "w2"] {
        lab.sh(
            w,
            "ip link add br0 type bridge && ip link set to-home master br0 && ip link set to-remi master br0 && ip link set br0 up",
        )?;
    }
    lab.sh("nas-home", "ip route add default via 192.168.0.254")?;
    lab.sh("nas-remi", "ip route add default via 192.168.42.252")?;
    let home = router_config(
        "192.168.0.254/24",
        "192.168.42.0/24",
        ["172.16.10.2", "172.16.11.2"],
        t,
    );
    let remi = router_config(
        "192.168.42.252/24",
        "192.168.0.0/24",
        ["172.16.10.1", "172.16.11.1"],
        t,
    );
    for (node, text) in [("home", home), ("remi", remi)] {
        let config = lab.write_router_config(node, &text)?;
        lab.start_router(node, kith, &config, &[])?;
    }
    Ok(lab)
}

fn one_run(kith: &Path, t: Timing) -> Result<Outage> {
    let lab = build(kith, t)?;
    let home_routes = || {
        lab.exec_ok("home", &["ip", "route", "show", "192.168.42.0/24"])
            .unwrap_or_default()
    };
    lab.wait_until(
        "both routes installed and gateway 172.16.10.2 answering",
        SETUP_WAIT,
        || {
            let r = home_routes();
            r.contains("metric 161")
                && r.contains("metric 321")
                && lab
                    .log("home", "kith")
                    .contains("gateway 172.16.10.2 reachable")
        },
    )?;
    lab.wait_ping("nas-home", "192.168.42.42", SETUP_WAIT)?;

    // The cut falls at a random point of the probe cycle: a lead-in of 1 s plus up to one
    // interval. Then the worst-case detection ((threshold + 1) intervals) and 3 s more.
    let phase = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()))
        % (t.interval_ms * 1000);
    let lead = Duration::from_secs(1) + Duration::from_micros(phase);
    let detection = Duration::from_millis(t.interval_ms * (u64::from(t.threshold) + 1));
    let deadline = lead + detection + Duration::from_secs(3);
    let interval = format!("{:.3}", PING_INTERVAL_MS as f64 / 1000.0);
    // A count, not `-w`: with a deadline ping stops at the first ICMP error (the router's
    // "host unreachable" while the dead gateway's neighbour entry fails).
    let count = (deadline.as_millis() as u64 / PING_INTERVAL_MS).to_string();
    lab.spawn(
        "nas-home",
        "ping",
        &[
            "ping",
            "-n",
            "-D",
            "-i",
            &interval,
            "-W",
            "1",
            "-c",
            &count,
            "192.168.42.42",
        ],
        &[],
    )?;
    std::thread::sleep(lead);
    lab.set_link_up("w1", "to-remi", false)?;
    lab.wait_until(
        "home withdraws the distance-10 route",
        detection + Duration::from_secs(30),
        || !home_routes().contains("metric 161"),
    )?;
    let end = Instant::now() + 3 * deadline + Duration::from_secs(10);
    while lab.is_running("nas-home", "ping") {
        if Instant::now() > end {
            bail!("the continuous ping did not stop by itself");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let outage = measure(&lab.log("nas-home", "ping"))?;
    lab.teardown()?;
    Ok(outage)
}

/// The longest silence in `ping -D` output, and the requests without a reply.
fn measure(log: &str) -> Result<Outage> {
    let mut replies: Vec<(u64, f64)> = Vec::new();
    let mut transmitted = None;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix('[')
            && let Some((ts, tail)) = rest.split_once(']')
            && let Some(seq) = tail
                .split_whitespace()
                .find_map(|w| w.strip_prefix("icmp_seq="))
            && tail.contains("bytes from")
            && let (Ok(ts), Ok(seq)) = (ts.parse::<f64>(), seq.parse::<u64>())
        {
            replies.push((seq, ts));
        }
        if let Some(n) = line.split(" packets transmitted").next()
            && line.contains(" packets transmitted")
        {
            transmitted = n.trim().parse::<u64>().ok();
        }
    }
    if replies.len() < 2 {
        bail!("the continuous ping got fewer than two replies:\n{log}");
    }
    replies.sort_by_key(|r| r.0);
    replies.dedup_by_key(|r| r.0);
    let sent = transmitted.unwrap_or(replies.len() as u64);
    let last = replies.last().map_or(0, |r| r.0);
    if last + 100 < sent {
        bail!(
            "the traffic did not come back before the ping ended (last reply to {last} of {sent})"
        );
    }
    let gap = replies
        .windows(2)
        .map(|w| (w[1].1 - w[0].1) * 1000.0)
        .fold(0.0, f64::max);
    Ok(Outage {
        gap_ms: (gap - PING_INTERVAL_MS as f64).max(0.0),
        lost: sent.saturating_sub(replies.len() as u64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_measured_from_timestamps() {
        let log = "PING 192.168.42.42 (192.168.42.42) 56(84) bytes of data.\n\
[1000.000000] 64 bytes from 192.168.42.42: icmp_seq=1 ttl=62 time=0.1 ms\n\
[1000.010000] 64 bytes from 192.168.42.42: icmp_seq=2 ttl=62 time=0.1 ms\n\
[1000.260000] 64 bytes from 192.168.42.42: icmp_seq=27 ttl=62 time=0.1 ms\n\
[1000.270000] 64 bytes from 192.168.42.42: icmp_seq=28 ttl=62 time=0.1 ms\n\
\n--- 192.168.42.42 ping statistics ---\n\
28 packets transmitted, 4 received, 85.7143% packet loss, time 270ms\n";
        let o = measure(log).unwrap();
        assert!((o.gap_ms - 240.0).abs() < 0.01, "{o:?}");
        assert_eq!(o.lost, 24);
        assert!(measure("nothing").is_err());
    }
}
