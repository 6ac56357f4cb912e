//! `kith bench vpn`: iperf3 throughput and CPU through kith vpnd and through stock
//! openvpn 2.6 (userspace, DCO off) for TCP + AES-128-CBC/SHA1, UDP + AES-256-GCM and
//! UDP + CHACHA20-POLY1305, beside the raw veth figure and the single-core cipher
//! limit of `openssl speed`, in a namespace pair it creates and removes.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use kith_lab::{Lab, NodeKind, Pid};
use kith_ovpn::pki::Pki;

/// Options of `kith bench vpn`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Seconds of each iperf3 run.
    #[arg(long, default_value_t = 8)]
    seconds: u32,
    /// Runs per combination, kith and openvpn alternating; the table shows medians
    /// (a shared machine's load moves single runs a lot).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Only the combinations whose name contains this (`GCM`, `TCP`).
    #[arg(long)]
    only: Option<String>,
}

/// One transport and cipher combination.
struct Combo {
    label: &'static str,
    tcp: bool,
    kith_cipher: &'static str,
    openvpn_cipher: &'static str,
    /// `openssl speed -evp` algorithms whose combined rate bounds one core.
    openssl: &'static [&'static str],
}

const COMBOS: [Combo; 3] = [
    Combo {
        label: "TCP + AES-128-CBC/SHA1",
        tcp: true,
        kith_cipher: "aes128",
        openvpn_cipher: "AES-128-CBC",
        openssl: &["aes-128-cbc", "sha1"],
    },
    Combo {
        label: "UDP + AES-256-GCM",
        tcp: false,
        kith_cipher: "aes256-gcm",
        openvpn_cipher: "AES-256-GCM",
        openssl: &["aes-256-gcm"],
    },
    Combo {
        label: "UDP + CHACHA20-POLY1305",
        tcp: false,
        kith_cipher: "chacha20-poly1305",
        openvpn_cipher: "CHACHA20-POLY1305",
        openssl: &["chacha20-poly1305"],
    },
];

const SRV: &str = "10.77.9.1";
const CLI: &str = "10.77.9.2";
/// Both tunnels' MTU: the encapsulated packets fit the 1500-byte veth unfragmented
/// (openvpn's own default, tun-mtu 1500 with `mssfix`, clamps only TCP).
const TUN_MTU: u32 = 1420;
/// The kernel's clock ticks per second in /proc/<pid>/stat (USER_HZ).
const TICKS: f64 = 100.0;

/// A throughput and the CPU the tunnel processes used meanwhile.
#[derive(Debug, Clone, Copy)]
struct Figure {
    mbps: f64,
    /// Percent of one core, both tunnel ends added.
    cpu: f64,
}

/// Runs the benchmark.
pub fn run(args: Args) -> Result<ExitCode> {
    anyhow::ensure!(
        nix::unistd::geteuid().is_root(),
        "kith bench vpn needs root (network namespaces, tun devices)"
    );
    for tool in ["openvpn", "iperf3", "openssl", "ip"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        anyhow::ensure!(
            found,
            "kith bench vpn needs `{tool}` (ci/install-deps.sh installs it)"
        );
    }
    let kith = std::env::current_exe().context("the kith binary")?;
    let scratch = Scratch(tempdir()?);
    let scratch = &scratch.0;
    let pki = Pki::open(scratch.join("pki"));
    pki.init("Kith bench CA", "server")?;
    pki.issue("friend1-1")?;
    let lab = Lab::new("kith bench vpn")?;
    lab.add_node("srv", NodeKind::Host)?;
    lab.add_node("cli", NodeKind::Host)?;
    lab.add_link(
        ("srv", "eth0", Some(format!("{SRV}/24").parse()?)),
        ("cli", "eth0", Some(format!("{CLI}/24").parse()?)),
    )?;
    println!(
        "kith bench vpn: iperf3 -t {} (TCP inside the tunnel), tunnel MTU {TUN_MTU}, namespaces {}*; CPU = % of one core, both tunnel ends",
        args.seconds,
        lab.prefix()
    );
    println!(
        "{} CPU(s), load average {} at the start",
        num_cpus(),
        loadavg()
    );
    let veth = iperf(&lab, SRV, &[], args.seconds)?;
    let mut rows = Vec::new();
    let wanted = |c: &&Combo| {
        args.only
            .as_ref()
            .is_none_or(|o| c.label.contains(o.as_str()))
    };
    for combo in COMBOS.iter().filter(wanted) {
        let (mut ks, mut os) = (Vec::new(), Vec::new());
        for run in 1..=args.runs.max(1) {
            let k = with_kith(&lab, &kith, &pki, scratch, combo, args.seconds)
                .with_context(|| format!("kith, {}", combo.label))?;
            let o = with_openvpn(&lab, &pki, scratch, combo, args.seconds)
                .with_context(|| format!("openvpn, {}", combo.label))?;
            println!(
                "  {} run {run}: kith {:.0} Mb/s {:.0}% | openvpn {:.0} Mb/s {:.0}% | {:.2}x, per CPU {:.2}x | load {}",
                combo.label,
                k.mbps,
                k.cpu,
                o.mbps,
                o.cpu,
                ratio(&k, &o),
                per_cpu_ratio(&k, &o),
                loadavg()
            );
            ks.push(k);
            os.push(o);
        }
        let (k, o) = (median(ks), median(os));
        let limit = openssl_limit(combo.openssl);
        rows.push((combo.label, k, o, limit));
    }
    print!("{}", table(&rows, veth.mbps));
    println!(
        "medians of {} run(s); per CPU k/o = (kith Mb/s per CPU) / (openvpn Mb/s per CPU). openssl 1 core: `openssl speed -evp ALG -bytes 1400` (CBC+SHA1: both, 1/(1/aes+1/sha1)).\nTarget: kith >= 1.5x openvpn on UDP + AES-256-GCM, >= 1x on TCP + AES-128-CBC/SHA1.",
        args.runs.max(1)
    );
    drop(lab);
    Ok(ExitCode::SUCCESS)
}

/// The benchmark's files (configs, certificates), removed when it ends, also on error.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("kith-bench-vpn-{}", std::process::id()));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

fn write(path: &Path, text: &str) -> Result<String> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path.display().to_string())
}

fn with_kith(
    lab: &Lab,
    kith: &Path,
    pki: &Pki,
    dir: &Path,
    c: &Combo,
    secs: u32,
) -> Result<Figure> {
    let proto = if c.tcp { "tcp" } else { "udp" };
    let server = format!(
        "interface:\n  ovpn-server:\n    server:\n      enabled: yes\n      protocol: {proto}\n      certificate: server\n      require-client-certificate: yes\n      auth: sha1\n      cipher: {cipher}\n      reneg-sec: 0\n      max-mtu: {TUN_MTU}\n    add:\n      - name: friend1-1\n        user: friend1-1\nppp:\n  secret:\n    - name: friend1-1\n      service: ovpn\n      local-address: 172.16.10.1\n      remote-address: 172.16.10.2\n",
        cipher = c.kith_cipher
    );
    let client = format!(
        "interface:\n  ovpn-client:\n    - name: friend1-1\n      connect-to: {SRV}\n      protocol: {proto}\n      user: friend1-1\n      certificate: friend1-1\n      verify-server-certificate: yes\n      auth: sha1\n      cipher: {cipher}\n      max-mtu: {TUN_MTU}\n",
        cipher = c.kith_cipher
    );
    let pki_dir = pki.dir().display().to_string();
    let bin = kith.display().to_string();
    let s = write(&dir.join("kith-srv.yaml"), &server)?;
    let cl = write(&dir.join("kith-cli.yaml"), &client)?;
    lab.spawn(
        "srv",
        "vpnd",
        &[&bin, "vpnd", "--config", &s, "--pki-dir", &pki_dir],
        &[],
    )?;
    std::thread::sleep(Duration::from_millis(500));
    lab.spawn(
        "cli",
        "vpnd",
        &[&bin, "vpnd", "--config", &cl, "--pki-dir", &pki_dir],
        &[],
    )?;
    let result = measure_tunnel(lab, "vpnd", "172.16.10.1", secs);
    lab.stop("cli", "vpnd")?;
    lab.stop("srv", "vpnd")?;
    result
}

fn with_openvpn(lab: &Lab, pki: &Pki, dir: &Path, c: &Combo, secs: u32) -> Result<Figure> {
    let files = format!(
        "ca {}\ncert {{cert}}\nkey {{key}}\ndata-ciphers {}\nauth SHA1\ndisable-dco\ntun-mtu {TUN_MTU}\nverb 3\n",
        pki.ca_path().display(),
        c.openvpn_cipher
    );
    let with = |name: &str| {
        files
            .replace("{cert}", &pki.cert_path(name).display().to_string())
            .replace("{key}", &pki.key_path(name).display().to_string())
    };
    let server = format!(
        "mode server\ntls-server\nproto {}\nport 1194\ndev tun\ntopology p2p\nserver 172.16.20.0 255.255.255.0\ndh none\nkeepalive 10 60\nreneg-sec 0\n{}",
        if c.tcp { "tcp4-server" } else { "udp4" },
        with("server")
    );
    let client = format!(
        "client\nproto {}\nremote {SRV} 1194\ndev tun\nnobind\nremote-cert-tls server\nreneg-sec 0\n{}",
        if c.tcp { "tcp4-client" } else { "udp4" },
        with("friend1-1")
    );
    let s = write(&dir.join("ovpn-srv.conf"), &server)?;
    let cl = write(&dir.join("ovpn-cli.conf"), &client)?;
    lab.spawn("srv", "openvpn", &["openvpn", "--config", &s], &[])?;
    std::thread::sleep(Duration::from_millis(500));
    lab.spawn("cli", "openvpn", &["openvpn", "--config", &cl], &[])?;
    let result = measure_tunnel(lab, "openvpn", "172.16.20.1", secs);
    lab.stop("cli", "openvpn")?;
    lab.stop("srv", "openvpn")?;
    result
}

/// Waits for the tunnel (process `name` on both nodes), then measures through it.
fn measure_tunnel(lab: &Lab, name: &str, addr: &str, secs: u32) -> Result<Figure> {
    lab.wait_ping("cli", addr, Duration::from_secs(30))
        .map_err(|e| {
            anyhow!(
                "{e}\n--- srv ---\n{}\n--- cli ---\n{}",
                lab.log("srv", name),
                lab.log("cli", name)
            )
        })?;
    let pids: Vec<Pid> = ["srv", "cli"]
        .iter()
        .filter_map(|n| lab.pid(n, name))
        .collect();
    iperf(lab, addr, &pids, secs)
}

/// iperf3 from `cli` to `addr` (server in `srv`); the CPU of `pids` meanwhile.
fn iperf(lab: &Lab, addr: &str, pids: &[Pid], secs: u32) -> Result<Figure> {
    lab.spawn("srv", "iperf3", &["iperf3", "-s", "-1", "-p", "5201"], &[])?;
    lab.wait_until("iperf3 to listen", Duration::from_secs(10), || {
        lab.exec_ok("srv", &["ss", "-ltn", "sport", "= :5201"])
            .is_ok_and(|s| s.contains("LISTEN"))
    })?;
    let before = ticks(pids);
    let start = Instant::now();
    let t = secs.to_string();
    let out = lab.exec_ok_timeout(
        "cli",
        &["iperf3", "-c", addr, "-p", "5201", "-t", &t, "-J"],
        Duration::from_secs(u64::from(secs) + 30),
    );
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = (ticks(pids) - before) as f64 / TICKS / elapsed * 100.0;
    let _ = lab.stop("srv", "iperf3");
    let out = out?;
    let json: serde_json::Value = serde_json::from_str(&out).context("iperf3 -J output")?;
    let bps = json["end"]["sum_received"]["bits_per_second"]
        .as_f64()
        .ok_or_else(|| anyhow!("iperf3 reported no throughput: {out}"))?;
    Ok(Figure {
        mbps: bps / 1e6,
        cpu,
    })
}

/// utime + stime of `pids`, in clock ticks.
fn ticks(pids: &[Pid]) -> u64 {
    pids.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|stat| {
            let rest = stat.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            // fields 14 and 15 of the line; `rest` starts at field 3
            Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
        })
        .sum()
}

/// The single-core rate of `openssl speed` for 1400-byte blocks, in Mbit/s; several
/// algorithms in sequence (encrypt then MAC) combine as 1 / sum(1 / rate).
fn openssl_limit(algs: &[&str]) -> Option<f64> {
    let mut inverse = 0.0;
    for alg in algs {
        let out = Command::new("openssl")
            .args(["speed", "-evp", alg, "-bytes", "1400", "-seconds", "2"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let kbytes: f64 = text
            .lines()
            .last()?
            .split_whitespace()
            .last()?
            .trim_end_matches('k')
            .parse()
            .ok()?;
        inverse += 1.0 / (kbytes * 1000.0 * 8.0 / 1e6);
    }
    (inverse > 0.0).then(|| 1.0 / inverse)
}

/// The run of median throughput, and the median CPU apart.
fn median(mut runs: Vec<Figure>) -> Figure {
    let mid = runs.len() / 2;
    runs.sort_by(|a, b| a.mbps.total_cmp(&b.mbps));
    let mbps = runs[mid].mbps;
    runs.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
    Figure {
        mbps,
        cpu: runs[mid].cpu,
    }
}

/// kith's throughput over openvpn's.
fn ratio(k: &Figure, o: &Figure) -> f64 {
    if o.mbps > 0.0 { k.mbps / o.mbps } else { 0.0 }
}

/// kith's Mb/s per CPU over openvpn's.
fn per_cpu_ratio(k: &Figure, o: &Figure) -> f64 {
    let per_cpu = |f: &Figure| if f.cpu > 0.0 { f.mbps / f.cpu } else { 0.0 };
    if per_cpu(o) > 0.0 {
        per_cpu(k) / per_cpu(o)
    } else {
        0.0
    }
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// The 1-minute load average (how busy the shared machine was).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn table(rows: &[(&str, Figure, Figure, Option<f64>)], veth: f64) -> String {
    let mut out = format!(
        "{:<24} {:>10} {:>8} {:>12} {:>8} {:>9} {:>14} {:>10} {:>14}\n",
        "combination",
        "kith Mb/s",
        "kith CPU",
        "openvpn Mb/s",
        "ovpn CPU",
        "kith/ovpn",
        "per CPU k/o",
        "veth Mb/s",
        "openssl 1 core"
    );
    for (label, k, o, limit) in rows {
        let (ratio, eff) = (ratio(k, o), per_cpu_ratio(k, o));
        out.push_str(&format!(
            "{label:<24} {:>10.0} {:>7.0}% {:>12.0} {:>7.0}% {:>8.2}x {:>13.2}x {:>10.0} {:>14}\n",
            k.mbps,
            k.cpu,
            o.mbps,
            o.cpu,
            ratio,
            eff,
            veth,
            limit.map_or("?".to_string(), |l| format!("{l:.0}"))
        ));
    }
    out
}
