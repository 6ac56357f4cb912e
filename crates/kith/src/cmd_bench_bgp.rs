//! `kith bench bgp`: BIRD feeds N IPv4 prefixes (a shared-path table and a diverse
//! one) to kith, BIRD, FRR and GoBGP in turn, in a namespace pair; prints seconds from
//! Established to every prefix received and selected, peak RSS and bytes per route,
//! and for kith with kernel install the time until every route is in the kernel,
//! beside `ip -batch` of the same routes. Feeder and receiver run on different cores.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use kith_lab::{Lab, NodeKind};

use crate::cmd_bench_bgp_gen::{Table, bird_static, prefixes};

/// Options of `kith bench bgp`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Prefixes the feeder sends.
    #[arg(long, default_value_t = 1_000_000)]
    prefixes: usize,
    /// Tables to feed.
    #[arg(long, value_delimiter = ',', default_value = "shared,diverse")]
    tables: Vec<Table>,
    /// Receivers to measure (`kith`, `bird`, `frr`, `gobgp`, `kith-kernel`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "kith,bird,frr,gobgp,kith-kernel"
    )]
    receivers: Vec<String>,
    /// Longest wait for one receiver, in seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

/// One measured row.
struct Row {
    table: &'static str,
    receiver: String,
    seconds: Option<f64>,
    rss: u64,
    kernel: Option<f64>,
    feeder_cpu: Option<f64>,
    /// From Established to the first 256 KiB of UPDATEs reaching the receiver (the feeder's
    /// own preparation of the table, the same for every receiver).
    first: Option<f64>,
    /// The receiver's CPU seconds over the same span as `seconds`.
    receiver_cpu: Option<f64>,
    /// kith with kernel install: seconds from SIGTERM until bgpd exited, and the
    /// routes it left in the kernel.
    shutdown: Option<(f64, usize)>,
}

impl Row {
    /// Seconds from the first UPDATE to `at` (seconds from Established).
    fn after_first(&self, at: Option<f64>) -> Option<f64> {
        Some(at? - self.first?)
    }
}

/// A receiver whose count does not move for this long has stopped.
const STALL: Duration = Duration::from_secs(60);
/// Bytes the receiver's namespace takes in before the table is said to be arriving:
/// BIRD sends a few routes at once when its static protocol is enabled, then the bulk
/// once it has prepared the table (seconds later for a diverse table); 256 KiB is
/// about 0.5 % of a full diverse table (at most a byte per prefix of the table).
const FIRST_BYTES: u64 = 256 * 1024;
const FEEDER_CORE: &str = "0";
const RECEIVER_CORE: &str = "1";
const FEED: &str = "10.0.0.1";
const RECV: &str = "10.0.0.2";

/// Runs the benchmark in namespaces it creates and removes.
pub fn run(args: Args) -> Result<ExitCode> {
    if !nix::unistd::geteuid().is_root() {
        bail!("kith bench bgp needs root (network namespaces)");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "kith bench bgp: {} prefixes; feeder BIRD on core {FEEDER_CORE}, receiver on core {RECEIVER_CORE} ({cores} cores)",
        args.prefixes
    );
    let kith = std::env::current_exe().context("the path of kith")?;
    let timeout = Duration::from_secs(args.timeout);
    let mut rows = Vec::new();
    let mut batches = Vec::new();
    for &table in &args.tables {
        let list = prefixes(table, args.prefixes);
        let lab = pair()?;
        let feeder = Feeder::start(&lab, table, &list, timeout)?;
        for receiver in &args.receivers {
            eprintln!("-- {} table, receiver {receiver}", table.name());
            let row = match receiver.as_str() {
                "kith" => measure_kith(&lab, &kith, &feeder, table, false, timeout)?,
                "kith-kernel" => measure_kith(&lab, &kith, &feeder, table, true, timeout)?,
                "bird" => measure_bird(&lab, &feeder, table, timeout)?,
                "frr" => measure_frr(&lab, &feeder, table, timeout)?,
                "gobgp" => measure_gobgp(&lab, &feeder, table, timeout)?,
                other => bail!("unknown receiver `{other}` (kith, kith-kernel, bird, frr, gobgp)"),
            };
            rows.push(row);
            lab.exec_ok(
                "f",
                &["birdc", "-s", &feeder.sock, "disable", "feed_routes"],
            )?;
            // The next receiver starts once the feeder has dropped the table (seconds
            // for a diverse one), not while it is still busy with it.
            poll(timeout, Duration::from_millis(200), || {
                Ok(bird_networks(&lab, "f", &feeder.sock)? == 0)
            })
            .context("the feeder did not drop its table")?;
        }
        if args.receivers.iter().any(|r| r == "kith-kernel") {
            batches.push((table.name(), ip_batch(&lab, &list)?));
        }
        drop(lab);
    }
    print!("{}", table_text(&rows, args.prefixes));
    for r in &rows {
        if let Some((secs, left)) = r.shutdown {
            println!(
                "bgpd stopped ({} table): exited {secs:.2} s after SIGTERM, {left} of its routes left in the kernel",
                r.table
            );
        }
    }
    for (table, secs) in batches {
        println!(
            "ip -batch of the same {} routes ({table} table; route replace, proto 186, core {RECEIVER_CORE}): {secs:.2} s",
            args.prefixes
        );
    }
    println!(
        "SECONDS: from Established (polled every 20 ms) to every prefix received and \
         selected (kith: accepted in the Loc-RIB; BIRD: networks in master4; FRR: pfxRcd; \
         GoBGP: destinations in the global RIB), polled every 100 ms.\n\
         1ST-UPD: from Established to the first 256 KiB of UPDATEs in the receiver's \
         namespace (IpExt InOctets, every 5 ms): the feeder preparing its table, the same for every \
         receiver; the receiver's own time is SECONDS - 1ST-UPD.\n\
         RECV-CPU: the receiver's CPU seconds over SECONDS (FRR: bgpd).\n\
         RSS: the receiver's VmHWM. FEEDER-CPU: the feeder's CPU time over SECONDS.\n\
         KERNEL-S: until bgpd reports every route acknowledged by the kernel (its status, \
         every 50 ms), checked by a count of the kernel's table afterwards; KERNEL-1ST: \
         the same from the first UPDATE, to compare with ip -batch (same core as the \
         receiver)."
    );
    Ok(ExitCode::SUCCESS)
}

fn pair() -> Result<Lab> {
    let lab = Lab::new("kith bench bgp")?;
    lab.add_node("f", NodeKind::Router)?;
    lab.add_node("r", NodeKind::Router)?;
    lab.add_link(
        ("f", "eth0", Some(format!("{FEED}/24").parse()?)),
        ("r", "eth0", Some(format!("{RECV}/24").parse()?)),
    )?;
    Ok(lab)
}

struct Feeder {
    sock: String,
    count: usize,
}

impl Feeder {
    fn start(
        lab: &Lab,
        table: Table,
        list: &[(std::net::Ipv4Addr, u8)],
        timeout: Duration,
    ) -> Result<Self> {
        // BIRD 2.0 stalls for its 3 s poll timeout when its socket fills up: a send
        // buffer that holds the whole table keeps the feeder out of the measurement.
        lab.sh(
            "f",
            "echo '4096 134217728 134217728' > /proc/sys/net/ipv4/tcp_wmem",
        )?;
        let dir = lab.workdir().join("feeder");
        std::fs::create_dir_all(&dir)?;
        let conf = dir.join("bird.conf");
        let mut text = format!(
            "router id {FEED};\nlog stderr all;\nprotocol device {{ }}\n\
             protocol bgp r {{ local {FEED} as 65000; neighbor {RECV} as 65001; hold time 240; \
             connect retry time 1; error wait time 1, 2; ipv4 {{ import none; export all; }}; }}\n"
        );
        text.push_str(&bird_static(table, list, true));
        std::fs::write(&conf, text)?;
        let sock = dir.join("bird.ctl").display().to_string();
        let conf = conf.display().to_string();
        lab.spawn(
            "f",
            "feeder",
            &[
                "taskset",
                "-c",
                FEEDER_CORE,
                "bird",
                "-f",
                "-c",
                &conf,
                "-s",
                &sock,
            ],
            &[],
        )?;
        let f = Feeder {
            sock,
            count: list.len(),
        };
        let start = Instant::now();
        // Parsed and checked now; the routes enter its table only once a receiver is
        // Established (`release`): BIRD 2.0 otherwise pauses a full table's export for
        // its 3 s poll timeout, which would be measured as the receiver's time.
        poll(timeout, Duration::from_millis(200), || {
            Ok(lab
                .exec_ok("f", &["birdc", "-s", &f.sock, "show", "status"])
                .is_ok())
        })
        .context("the feeder did not start")?;
        eprintln!(
            "feeder: {} {} routes parsed in {:.1} s",
            f.count,
            table.name(),
            start.elapsed().as_secs_f64()
        );
        Ok(f)
    }

    fn cpu(&self, lab: &Lab) -> u64 {
        lab.pid("f", "feeder").map_or(0, |p| cpu_ticks(p.as_raw()))
    }
}

/// The common measurement: start, wait for Established, then for the count.
fn measure(
    lab: &Lab,
    feeder: &Feeder,
    table: Table,
    (receiver, process): (&str, &str),
    established: &dyn Fn() -> Result<bool>,
    count: &dyn Fn() -> Result<usize>,
    timeout: Duration,
) -> Result<Row> {
    poll(timeout, Duration::from_millis(20), established)
        .with_context(|| format!("{receiver}: no session with the feeder"))?;
    let pid = lab.pid("r", process).map(|p| p.as_raw());
    let received = || pid.map_or(0, received_bytes);
    let t0 = Instant::now();
    let cpu0 = feeder.cpu(lab);
    let receiver_cpu0 = pid.map_or(0, cpu_ticks);
    let bytes0 = received();
    lab.exec_ok("f", &["birdc", "-s", &feeder.sock, "enable", "feed_routes"])?;
    // The first UPDATE bytes (watched every 5 ms, the count every 100 ms); a small
    // table (tests) may be smaller than FIRST_BYTES altogether: a byte per prefix.
    let first_bytes = FIRST_BYTES.min(feeder.count as u64);
    let mut first = None;
    let (mut last_count, mut moved_at, mut counted_at) = (0, Instant::now(), Instant::now());
    let done = poll(timeout, Duration::from_millis(5), || {
        if first.is_none() && received() > bytes0 + first_bytes {
            first = Some(t0.elapsed().as_secs_f64());
        }
        if counted_at.elapsed() < Duration::from_millis(100) {
            return Ok(false);
        }
        counted_at = Instant::now();
        let n = count()?;
        if n != last_count {
            (last_count, moved_at) = (n, Instant::now());
        } else if moved_at.elapsed() > STALL {
            bail!("stalled at {n} of {} prefixes", feeder.count);
        }
        Ok(n >= feeder.count)
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = feeder.cpu(lab).saturating_sub(cpu0);
    let receiver_cpu =
        pid.map(|p| cpu_ticks(p).saturating_sub(receiver_cpu0) as f64 / ticks_per_second());
    let rss = pid.map_or(0, vm_hwm);
    if let Err(e) = &done {
        eprintln!("{receiver}: {e:#} (last count {:?})", count().ok());
    }
    Ok(Row {
        table: table.name(),
        receiver: receiver.into(),
        seconds: done.is_ok().then_some(secs),
        rss,
        kernel: None,
        feeder_cpu: Some(cpu as f64 / ticks_per_second() / secs.max(1e-3) * 100.0),
        first,
        receiver_cpu,
        shutdown: None,
    })
}

fn measure_kith(
    lab: &Lab,
    kith: &Path,
    feeder: &Feeder,
    table: Table,
    install: bool,
    timeout: Duration,
) -> Result<Row> {
    let dir = lab.workdir().join("kith");
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("config.yaml");
    std::fs::write(
        &conf,
        format!(
            "routing:\n  bgp:\n    instance:\n      - name: default\n        as: 65001\n        router-id: {RECV}\n    peer:\n      - name: feed\n        remote-address: {FEED}\n        remote-as: 65000\n        hold-time: 240s\n"
        ),
    )?;
    let kith = kith.display().to_string();
    let (conf, d) = (conf.display().to_string(), dir.display().to_string());
    let mut argv = vec![
        "taskset",
        "-c",
        RECEIVER_CORE,
        &kith,
        "--log",
        "info",
        "bgpd",
        "--config",
        &conf,
        "--run-dir",
        &d,
    ];
    if !install {
        argv.push("--no-install");
    }
    lab.spawn("r", "kith", &argv, &[])?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let status = || rt.block_on(kith_bgp::status::fetch_peers(&dir)).ok();
    let peer = || status().and_then(|s| s.peers.into_iter().find(|p| p.name == "feed"));
    let name = if install { "kith-kernel" } else { "kith" };
    let mut row = measure(
        lab,
        feeder,
        table,
        (name, "kith"),
        &|| Ok(peer().is_some_and(|p| p.state == "established")),
        &|| Ok(peer().map_or(0, |p| p.prefixes_accepted)),
        timeout,
    )?;
    if install {
        let t0 = Instant::now();
        // Until bgpd says the kernel acknowledged every route (what `ip -batch`
        // returning means); a full count of the kernel's table then checks that, off
        // the clock (a dump of a full table costs seconds of CPU).
        let in_kernel = || status().and_then(|s| s.kernel_routes).unwrap_or(0);
        let done = poll(timeout, Duration::from_millis(50), || {
            Ok(in_kernel() >= feeder.count)
        });
        let elapsed = t0.elapsed().as_secs_f64();
        if done.is_ok() {
            let listed = kernel_routes(lab)?;
            if listed < feeder.count {
                bail!(
                    "bgpd says the kernel holds {} routes, but it lists {listed} of {}",
                    in_kernel(),
                    feeder.count
                );
            }
        }
        // From Established: the RIB time plus the rest of the install.
        row.kernel = done.is_ok().then(|| row.seconds.unwrap_or(0.0) + elapsed);
        row.rss = lab.pid("r", "kith").map_or(0, |p| vm_hwm(p.as_raw()));
        row.shutdown = shutdown_removal(lab, timeout);
    }
    lab.stop("r", "kith")?;
    // Whatever the shutdown left (it removes its routes, within its grace time).
    flush_bgp_routes(lab);
    Ok(row)
}

fn measure_bird(lab: &Lab, feeder: &Feeder, table: Table, timeout: Duration) -> Result<Row> {
    let dir = lab.workdir().join("rbird");
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("bird.conf");
    std::fs::write(
        &conf,
        format!(
            "router id {RECV};\nprotocol device {{ }}\nprotocol bgp feed {{ local {RECV} as 65001; neighbor {FEED} as 65000; hold time 240; ipv4 {{ import all; export none; }}; }}\n"
        ),
    )?;
    let sock = dir.join("bird.ctl").display().to_string();
    let conf = conf.display().to_string();
    lab.spawn(
        "r",
        "bird",
        &[
            "taskset",
            "-c",
            RECEIVER_CORE,
            "bird",
            "-f",
            "-c",
            &conf,
            "-s",
            &sock,
        ],
        &[],
    )?;
    let row = measure(
        lab,
        feeder,
        table,
        ("bird", "bird"),
        &|| {
            Ok(lab
                .exec_ok("r", &["birdc", "-s", &sock, "show", "protocols", "feed"])
                .is_ok_and(|o| o.contains("Established")))
        },
        &|| bird_networks(lab, "r", &sock),
        timeout,
    )?;
    lab.stop("r", "bird")?;
    Ok(row)
}

fn measure_frr(lab: &Lab, feeder: &Feeder, table: Table, timeout: Duration) -> Result<Row> {
    let dir = FrrDir::new()?;
    let d = dir.0.display().to_string();
    std::fs::write(dir.0.join("zebra.conf"), "hostname r\n")?;
    std::fs::write(
        dir.0.join("bgpd.conf"),
        format!(
            "frr defaults traditional\nhostname r\nrouter bgp 65001\n bgp router-id {RECV}\n no bgp ebgp-requires-policy\n neighbor {FEED} remote-as 65000\n neighbor {FEED} timers 80 240\n"
        ),
    )?;
    let ok = std::process::Command::new("chown")
        .args(["-R", "frr:frr", &d])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        bail!("chown frr:frr {d} failed (is FRR installed?)");
    }
    let common = |name: &str| -> Vec<String> {
        [
            "taskset",
            "-c",
            RECEIVER_CORE,
            &format!("/usr/lib/frr/{name}"),
            "-f",
            &format!("{d}/{name}.conf"),
            "-i",
            &format!("{d}/{name}.pid"),
            "-z",
            &format!("{d}/zserv.api"),
            "--vty_socket",
            &d,
            "-u",
            "frr",
            "-g",
            "frr",
        ]
        .iter()
        .map(ToString::to_string)
        .collect()
    };
    lab.spawn("r", "zebra", &common("zebra"), &[])?;
    poll(Duration::from_secs(30), Duration::from_millis(50), || {
        Ok(dir.0.join("zserv.api").exists())
    })?;
    let mut bgpd = common("bgpd");
    // No FIB install: bgpd's own work, like the other receivers.
    bgpd.extend(["-n".to_string(), "-P".to_string(), "0".to_string()]);
    lab.spawn("r", "bgpd", &bgpd, &[])?;
    let summary = || -> Option<serde_json::Value> {
        let out = lab
            .exec_ok(
                "r",
                &[
                    "vtysh",
                    "--vty_socket",
                    &d,
                    "-c",
                    "show bgp ipv4 unicast summary json",
                ],
            )
            .ok()?;
        let v: serde_json::Value = serde_json::from_str(&out).ok()?;
        v.get("peers")?.get(FEED).cloned()
    };
    let row = measure(
        lab,
        feeder,
        table,
        ("frr", "bgpd"),
        &|| Ok(summary().is_some_and(|p| p["state"] == "Established")),
        &|| {
            Ok(summary()
                .and_then(|p| p["pfxRcd"].as_u64())
                .map_or(0, |n| usize::try_from(n).unwrap_or(0)))
        },
        timeout,
    )?;
    lab.stop("r", "bgpd")?;
    lab.stop("r", "zebra")?;
    Ok(row)
}

fn measure_gobgp(lab: &Lab, feeder: &Feeder, table: Table, timeout: Duration) -> Result<Row> {
    let dir = lab.workdir().join("gobgp");
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("gobgp.toml");
    std::fs::write(
        &conf,
        format!(
            "[global.config]\n  as = 65001\n  router-id = \"{RECV}\"\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{FEED}\"\n    peer-as = 65000\n  [neighbors.timers.config]\n    hold-time = 240\n    keepalive-interval = 80\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = \"ipv4-unicast\"\n"
        ),
    )?;
    let conf = conf.display().to_string();
    lab.spawn(
        "r",
        "gobgpd",
        &[
            "taskset",
            "-c",
            RECEIVER_CORE,
            "gobgpd",
            "-t",
            "toml",
            "-f",
            &conf,
            "--api-hosts",
            "127.0.0.1:50051",
        ],
        &[],
    )?;
    let gobgp = |args: &[&str]| -> Option<String> {
        let mut argv = vec!["gobgp", "-u", "127.0.0.1", "-p", "50051"];
        argv.extend_from_slice(args);
        lab.exec_ok("r", &argv).ok()
    };
    let row = measure(
        lab,
        feeder,
        table,
        ("gobgp", "gobgpd"),
        &|| Ok(gobgp(&["neighbor"]).is_some_and(|o| o.contains("Establ"))),
        &|| {
            Ok(gobgp(&["global", "rib", "summary", "-a", "ipv4"])
                .and_then(|o| {
                    let rest = o.split("Destination:").nth(1)?;
                    rest.trim()
                        .split(|c: char| !c.is_ascii_digit())
                        .next()?
                        .parse()
                        .ok()
                })
                .unwrap_or(0))
        },
        timeout,
    )?;
    lab.stop("r", "gobgpd")?;
    Ok(row)
}

/// `ip -batch` of the same routes in the receiver namespace: the kernel's own pace.
fn ip_batch(lab: &Lab, list: &[(std::net::Ipv4Addr, u8)]) -> Result<f64> {
    let file = lab.workdir().join("routes.batch");
    let mut text = String::with_capacity(list.len() * 60);
    for (addr, len) in list {
        text.push_str(&format!(
            "route replace {addr}/{len} via {FEED} proto 186 metric 322\n"
        ));
    }
    std::fs::write(&file, text)?;
    flush_bgp_routes(lab);
    let f = file.display().to_string();
    let t0 = Instant::now();
    // On the receiver's core: the same CPU kith gets.
    lab.exec_ok_timeout(
        "r",
        &["taskset", "-c", RECEIVER_CORE, "ip", "-batch", &f],
        Duration::from_secs(1800),
    )?;
    let secs = t0.elapsed().as_secs_f64();
    let n = kernel_routes(lab)?;
    if n < list.len() {
        bail!("ip -batch left {n} of {} routes", list.len());
    }
    flush_bgp_routes(lab);
    Ok(secs)
}

/// Stops bgpd with SIGTERM (as the supervisor does) and times how long it takes to
/// exit, having removed its routes: seconds and the routes left behind.
fn shutdown_removal(lab: &Lab, timeout: Duration) -> Option<(f64, usize)> {
    let pid = lab.pid("r", "kith")?;
    let t0 = Instant::now();
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).ok()?;
    poll(timeout, Duration::from_millis(50), || {
        Ok(!lab.is_running("r", "kith"))
    })
    .ok()?;
    let secs = t0.elapsed().as_secs_f64();
    let left = kernel_routes(lab).ok()?;
    Some((secs, left))
}

/// Removes every BGP route (proto 186) from the receiver's kernel, whatever put it there.
fn flush_bgp_routes(lab: &Lab) {
    let _ = lab.exec_timeout(
        "r",
        &["ip", "route", "flush", "proto", "186"],
        Duration::from_secs(120),
    );
}

fn kernel_routes(lab: &Lab) -> Result<usize> {
    let out = lab.exec_ok_timeout(
        "r",
        &["sh", "-c", "ip -4 route show proto 186 | wc -l"],
        Duration::from_secs(120),
    )?;
    Ok(out.trim().parse().unwrap_or(0))
}

/// Networks in BIRD's master4 table (`show route count`).
fn bird_networks(lab: &Lab, node: &str, sock: &str) -> Result<usize> {
    let out = lab
        .exec_ok(node, &["birdc", "-s", sock, "show", "route", "count"])
        .unwrap_or_default();
    // "N of M routes for K networks in table master4"
    let n = out
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .find(|w| w[1] == "networks")
        .and_then(|w| w[0].parse().ok())
        .unwrap_or(0);
    Ok(n)
}

/// Polls `cond` every `every` up to `timeout`.
fn poll(timeout: Duration, every: Duration, mut cond: impl FnMut() -> Result<bool>) -> Result<()> {
    let start = Instant::now();
    let max = timeout.as_millis() / every.as_millis().max(1) + 1;
    for _ in 0..max {
        if cond()? {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            break;
        }
        std::thread::sleep(every);
    }
    bail!("not within {} s", timeout.as_secs())
}

/// Peak resident set size in bytes (`VmHWM`).
fn vm_hwm(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Bytes received at the IP layer by the network namespace of `pid` (`IpExt InOctets`).
fn received_bytes(pid: i32) -> u64 {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/netstat")) else {
        return 0;
    };
    let mut ip_ext = text.lines().filter(|l| l.starts_with("IpExt:"));
    let (Some(names), Some(values)) = (ip_ext.next(), ip_ext.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "InOctets")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    // Fields after the command name (which may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |r| r.1);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

fn table_text(rows: &[Row], n: usize) -> String {
    let mut out = format!(
        "{:<8} {:<12} {:>8} {:>9} {:>9} {:>8} {:>8} {:>10} {:>9} {:>10}\n",
        "TABLE",
        "RECEIVER",
        "SECONDS",
        "1ST-UPD",
        "RECV-CPU",
        "RSS-MIB",
        "B/ROUTE",
        "FEEDER-CPU",
        "KERNEL-S",
        "KERNEL-1ST"
    );
    let secs = |s: Option<f64>| s.map_or("-".into(), |s| format!("{s:.2}"));
    for r in rows {
        let cpu = r.feeder_cpu.map_or("-".into(), |c| format!("{c:.0} %"));
        out.push_str(&format!(
            "{:<8} {:<12} {:>8} {:>9} {:>9} {:>8.1} {:>8} {:>10} {:>9} {:>10}\n",
            r.table,
            r.receiver,
            r.seconds.map_or("timeout".into(), |s| format!("{s:.2}")),
            secs(r.first),
            secs(r.receiver_cpu),
            r.rss as f64 / 1_048_576.0,
            r.rss / n.max(1) as u64,
            cpu,
            secs(r.kernel),
            secs(r.after_first(r.kernel)),
        ));
    }
    out
}

/// A directory FRR's user may use, removed on drop.
struct FrrDir(PathBuf);

impl FrrDir {
    fn new() -> Result<Self> {
        let dir = std::env::temp_dir().join(format!("kith-bench-frr-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(FrrDir(dir))
    }
}

impl Drop for FrrDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
