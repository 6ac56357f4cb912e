//! `kith bench bgp` on a small table, so the benchmark the README points to keeps
//! working: BIRD feeds 20,000 prefixes of both tables to kith, BIRD and kith with
//! kernel install; every row must finish (no timeout) with its figures, the feeder's
//! first UPDATEs must be seen, `ip -batch` must run once per table, and bgpd stopped
//! with SIGTERM must leave none of its routes in the kernel. Figures are
//! not judged here (a benchmark, not a timed test). Needs root and BIRD (fails
//! without them).

mod bgp_support;

use std::process::Command;

use bgp_support::require;

#[test]
fn the_bgp_benchmark_runs_end_to_end_on_a_small_table() {
    require(&["ip", "bird", "birdc", "taskset"]);
    let out = Command::new(env!("CARGO_BIN_EXE_kith"))
        .args([
            "bench",
            "bgp",
            "--prefixes",
            "20000",
            "--receivers",
            "kith,bird,kith-kernel",
            "--timeout",
            "180",
        ])
        .output()
        .expect("run kith bench bgp");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kith bench bgp failed:\n{stdout}\n{stderr}"
    );
    let rows: Vec<Vec<&str>> = stdout
        .lines()
        .filter(|l| l.starts_with("shared ") || l.starts_with("diverse "))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 6, "two tables x three receivers:\n{stdout}");
    for row in &rows {
        // TABLE RECEIVER SECONDS 1ST-UPD RECV-CPU RSS-MIB B/ROUTE FEEDER-CPU(2) KERNEL-S KERNEL-1ST
        assert_eq!(row.len(), 11, "columns of {row:?}");
        let number = |i: usize| row[i].parse::<f64>().ok();
        assert!(number(2).is_some(), "seconds of {row:?}");
        assert!(number(3).is_some(), "first UPDATEs not seen in {row:?}");
        assert!(number(4).is_some(), "receiver CPU of {row:?}");
        assert!(
            number(6).is_some_and(|b| b > 0.0),
            "bytes per route of {row:?}"
        );
        if row[1] == "kith-kernel" {
            assert!(number(9).is_some(), "kernel seconds of {row:?}");
            assert!(number(10).is_some(), "kernel seconds from 1st of {row:?}");
        } else {
            assert_eq!(row[9], "-", "{row:?}");
        }
    }
    let batches = stdout
        .lines()
        .filter(|l| l.starts_with("ip -batch of the same 20000 routes"))
        .count();
    assert_eq!(batches, 2, "one ip -batch per table:\n{stdout}");
    // Stopped with SIGTERM, bgpd removes every route it installed before it exits.
    let stops = stdout
        .lines()
        .filter(|l| l.starts_with("bgpd stopped (") && l.contains(", 0 of its routes left"))
        .count();
    assert_eq!(stops, 2, "bgpd left routes behind:\n{stdout}");
}
