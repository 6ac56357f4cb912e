//! The feeder's routes of `kith bench bgp`: N IPv4 prefixes as BIRD `protocol static`
//! text, either with one shared path (packs many prefixes per UPDATE) or diverse
//! (realistic prefix lengths, many AS paths and communities). Deterministic: the same
//! N gives the same table on every run.

use std::collections::HashSet;
use std::fmt::Write;
use std::net::Ipv4Addr;

/// Which table to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    /// Consecutive /24s from 11.0.0.0, one path for all.
    Shared,
    /// A full-table-like mix of lengths, AS paths and communities.
    Diverse,
}

impl Table {
    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Table::Shared => "shared",
            Table::Diverse => "diverse",
        }
    }
}

/// Share (per mille) of each prefix length in a public IPv4 table, roughly.
const LENGTHS: &[(u8, u32)] = &[
    (24, 590),
    (23, 90),
    (22, 110),
    (21, 55),
    (20, 50),
    (19, 35),
    (18, 20),
    (17, 12),
    (16, 25),
    (15, 5),
    (14, 4),
    (13, 2),
    (12, 1),
    (11, 1),
];

/// Distinct AS paths in the diverse table.
const PATHS: u64 = 100_000;
/// Distinct communities in the diverse table.
const COMMUNITIES: u64 = 2_000;

/// xorshift64*: deterministic, fast, good enough to scatter prefixes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The prefixes of a table, in order.
pub fn prefixes(table: Table, n: usize) -> Vec<(Ipv4Addr, u8)> {
    match table {
        Table::Shared => (0..n)
            .map(|i| {
                let base = u32::from(Ipv4Addr::new(11, 0, 0, 0));
                let i = u32::try_from(i).unwrap_or(u32::MAX);
                (Ipv4Addr::from(base.wrapping_add(i << 8)), 24)
            })
            .collect(),
        Table::Diverse => {
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            let total: u32 = LENGTHS.iter().map(|l| l.1).sum();
            let mut seen = HashSet::with_capacity(n);
            let mut out = Vec::with_capacity(n);
            // Bounded: each round adds a prefix unless it was drawn before.
            for _ in 0..n.saturating_mul(4).max(16) {
                if out.len() == n {
                    break;
                }
                let r = rng.next();
                let mut pick = u32::try_from(r % u64::from(total)).unwrap_or(0);
                let mut len = 24;
                for (l, share) in LENGTHS {
                    if pick < *share {
                        len = *l;
                        break;
                    }
                    pick -= share;
                }
                // 11.0.0.0 - 222.255.255.255 without 127/8.
                let first = 11 + (r >> 32) % 212;
                if first == 127 || first == 10 {
                    continue;
                }
                let addr = (u32::try_from(first).unwrap_or(11) << 24) | (rng.next() as u32 >> 8);
                let addr = addr & (u32::MAX << (32 - u32::from(len)));
                if seen.insert((addr, len)) {
                    out.push((Ipv4Addr::from(addr), len));
                }
            }
            out
        }
    }
}

/// BIRD's `protocol static` for the table (with per-route AS paths and communities
/// for the diverse one).
pub fn bird_static(table: Table, prefixes: &[(Ipv4Addr, u8)], disabled: bool) -> String {
    let mut out = String::with_capacity(prefixes.len() * 80);
    out.push_str("protocol static feed_routes {\n  ipv4;\n");
    if disabled {
        out.push_str("  disabled;\n");
    }
    for (i, (addr, len)) in prefixes.iter().enumerate() {
        let _ = write!(out, "  route {addr}/{len} blackhole");
        if table == Table::Diverse {
            let mut h = Rng((i as u64 % PATHS).wrapping_mul(0x9e37_79b9) | 1);
            let hops = 1 + h.next() % 5;
            out.push_str(" {");
            for _ in 0..hops {
                // 64512-64991: never a receiver's (65001) or the feeder's (65000) AS.
                let asn = 64_512 + h.next() % 480;
                let _ = write!(out, " bgp_path.prepend({asn});");
            }
            let mut c = Rng((i as u64).wrapping_mul(0x5851_f42d) | 1);
            for _ in 0..c.next() % 4 {
                let v = c.next() % COMMUNITIES;
                let _ = write!(out, " bgp_community.add((65000,{v}));");
            }
            out.push_str(" }");
        }
        out.push_str(";\n");
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_unique_deterministic_and_sized() {
        for table in [Table::Shared, Table::Diverse] {
            let a = prefixes(table, 5000);
            assert_eq!(a.len(), 5000);
            assert_eq!(a, prefixes(table, 5000));
            let set: HashSet<_> = a.iter().collect();
            assert_eq!(set.len(), a.len());
            assert!(
                a.iter()
                    .all(|(ip, _)| ip.octets()[0] != 10 && ip.octets()[0] != 127)
            );
        }
        let text = bird_static(Table::Diverse, &prefixes(Table::Diverse, 10), false);
        assert!(text.contains("bgp_path.prepend("), "{text}");
        let shared = bird_static(Table::Shared, &prefixes(Table::Shared, 2), false);
        assert!(shared.contains("route 11.0.1.0/24 blackhole;"), "{shared}");
    }
}
