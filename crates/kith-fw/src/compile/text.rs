//! How values are spelled in nft: strings, protocols, ports, addresses, merged intervals.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use kith_config::{AddressSpec, PortRange, Protocol};

/// Longest rule comment nft takes, in bytes.
pub const MAX_COMMENT: usize = 128;
/// Longest log prefix the kernel takes, in bytes.
pub const MAX_LOG_PREFIX: usize = 127;

/// A string as an nft quoted string of at most `max` bytes. nft strings cannot hold `"`
/// (it becomes `'`), control characters (a space) or, in a log prefix, `$` (nft would
/// read a variable; it becomes `S`). Returns the text and whether it had to change.
pub fn quoted(text: &str, max: usize, log_prefix: bool) -> (String, bool) {
    let mut out = String::with_capacity(text.len().min(max) + 2);
    let mut changed = false;
    out.push('"');
    let mut len = 0;
    for c in text.chars() {
        let c = match c {
            '"' => '\'',
            '$' if log_prefix => 'S',
            c if c.is_control() => ' ',
            c => c,
        };
        if len + c.len_utf8() > max {
            changed = true;
            break;
        }
        len += c.len_utf8();
        out.push(c);
    }
    changed |= out[1..] != *text;
    out.push('"');
    (out, changed)
}

/// The protocol in `meta l4proto`: nft's built-in name where nft has one (so no
/// `/etc/protocols` is needed), else the number.
pub fn protocol(p: Protocol) -> String {
    match l4_keyword(p) {
        Some(name) => name.to_owned(),
        None => p.0.to_string(),
    }
}

/// nft's keyword for a protocol, for those that nft knows without `/etc/protocols`.
fn l4_keyword(p: Protocol) -> Option<&'static str> {
    Some(match p.0 {
        1 => "icmp",
        2 => "igmp",
        6 => "tcp",
        17 => "udp",
        33 => "dccp",
        50 => "esp",
        51 => "ah",
        58 => "icmpv6",
        108 => "comp",
        132 => "sctp",
        136 => "udplite",
        _ => return None,
    })
}

/// The header keyword of a protocol with ports (`tcp dport`).
pub fn port_header(p: Protocol) -> Option<&'static str> {
    match p.0 {
        6 | 17 | 33 | 132 | 136 => l4_keyword(p),
        _ => None,
    }
}

/// A port list: `1194`, `8000-8100` or `{ 22, 8000-8100 }`, overlaps merged.
pub fn ports(list: &[PortRange]) -> String {
    let mut ranges: Vec<(u16, u16)> = list.iter().map(|r| (r.start.get(), r.end.get())).collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u16, u16)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if u32::from(start) <= u32::from(last.1) + 1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    let text: Vec<String> = merged
        .iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    match text.as_slice() {
        [one] => one.clone(),
        _ => format!("{{ {} }}", text.join(", ")),
    }
}

/// An address match or NAT target: a host (`10.0.0.1`), a prefix with its host bits
/// cleared (`192.168.0.254/24` is `192.168.0.0/24`, as RouterOS reads it), or a range.
pub fn address(spec: &AddressSpec) -> String {
    match spec {
        AddressSpec::Net(net) if net.prefix_len() == net.max_prefix_len() => net.addr().to_string(),
        AddressSpec::Net(net) => net.trunc().to_string(),
        AddressSpec::Range(a, b) => format!("{a}-{b}"),
    }
}

/// Set elements for address entries of one family: overlapping and adjacent entries
/// merged (nft refuses overlapping intervals), each written as a prefix when it is one.
pub fn address_elements(specs: &[AddressSpec], v6: bool) -> Vec<String> {
    let mut ranges: Vec<(u128, u128)> = specs.iter().filter_map(|s| bounds(s, v6)).collect();
    ranges.sort_unstable();
    let mut merged: Vec<(u128, u128)> = Vec::new();
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if last.1 == u128::MAX || start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
        .into_iter()
        .map(|(a, b)| interval_text(a, b, v6))
        .collect()
}

/// The first and last address of a spec, as integers; `None` for the other family.
fn bounds(spec: &AddressSpec, v6: bool) -> Option<(u128, u128)> {
    match (spec, v6) {
        (AddressSpec::Net(IpNet::V4(n)), false) => Some((
            u128::from(u32::from(n.network())),
            u128::from(u32::from(n.broadcast())),
        )),
        (AddressSpec::Net(IpNet::V6(n)), true) => {
            Some((u128::from(n.network()), u128::from(n.broadcast())))
        }
        (AddressSpec::Range(IpAddr::V4(a), IpAddr::V4(b)), false) => {
            Some((u128::from(u32::from(*a)), u128::from(u32::from(*b))))
        }
        (AddressSpec::Range(IpAddr::V6(a), IpAddr::V6(b)), true) => {
            Some((u128::from(*a), u128::from(*b)))
        }
        _ => None,
    }
}

/// `a..=b` as a host, a prefix, or a range.
fn interval_text(a: u128, b: u128, v6: bool) -> String {
    let bits: u32 = if v6 { 128 } else { 32 };
    let size = b - a;
    // A prefix: the size is 2^k - 1 and `a` is aligned to it.
    let host_bits = if size == u128::MAX {
        128
    } else {
        128 - (size + 1).leading_zeros() - 1
    };
    let is_prefix = (size == u128::MAX || (size + 1).is_power_of_two()) && a & size == 0;
    let addr = |n: u128| -> String {
        if v6 {
            Ipv6Addr::from(n).to_string()
        } else {
            Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)).to_string()
        }
    };
    if size == 0 {
        addr(a)
    } else if is_prefix && host_bits <= bits {
        let len = u8::try_from(bits - host_bits).unwrap_or(0);
        if v6 {
            Ipv6Net::new(Ipv6Addr::from(a), len)
                .map(|n| n.to_string())
                .unwrap_or_else(|_| format!("{}-{}", addr(a), addr(b)))
        } else {
            Ipv4Net::new(Ipv4Addr::from(u32::try_from(a).unwrap_or(0)), len)
                .map(|n| n.to_string())
                .unwrap_or_else(|_| format!("{}-{}", addr(a), addr(b)))
        }
    } else {
        format!("{}-{}", addr(a), addr(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> AddressSpec {
        match s.split_once('-') {
            Some((a, b)) => AddressSpec::Range(
                a.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                b.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            ),
            None if s.contains('/') => AddressSpec::Net(s.parse().unwrap_or_default()),
            None => AddressSpec::Net(IpNet::from(
                s.parse::<IpAddr>()
                    .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            )),
        }
    }

    #[test]
    fn strings_are_made_safe() {
        assert_eq!(quoted("OpenVPN", 128, false), ("\"OpenVPN\"".into(), false));
        assert_eq!(
            quoted("say \"hi\"", 128, false),
            ("\"say 'hi'\"".into(), true)
        );
        assert_eq!(quoted("a$b", 127, true), ("\"aSb\"".into(), true));
        assert_eq!(quoted("a$b", 128, false), ("\"a$b\"".into(), false));
        assert_eq!(quoted("line\nbreak", 128, false).0, "\"line break\"");
        assert_eq!(quoted("ééé", 5, false), ("\"éé\"".into(), true));
    }

    #[test]
    fn ports_merge() {
        let p = |a: u16, b: u16| PortRange {
            start: kith_config::Port::new(a).unwrap_or_default(),
            end: kith_config::Port::new(b).unwrap_or_default(),
        };
        assert_eq!(ports(&[p(1194, 1194)]), "1194");
        assert_eq!(ports(&[p(8000, 8100), p(22, 22)]), "{ 22, 8000-8100 }");
        assert_eq!(ports(&[p(1, 10), p(5, 20), p(21, 21)]), "1-21");
    }

    #[test]
    fn address_sets_merge_into_prefixes_and_ranges() {
        let specs: Vec<AddressSpec> = [
            "10.0.0.0/8",
            "10.1.0.0/16",
            "192.168.1.1-192.168.1.9",
            "192.168.1.10",
            "1.2.3.4",
        ]
        .iter()
        .map(|s| spec(s))
        .collect();
        assert_eq!(
            address_elements(&specs, false),
            ["1.2.3.4", "10.0.0.0/8", "192.168.1.1-192.168.1.10"]
        );
        let v6: Vec<AddressSpec> = ["2001:db8::/32", "::/0"].iter().map(|s| spec(s)).collect();
        assert_eq!(address_elements(&v6, true), ["::/0"]);
        assert_eq!(address_elements(&[spec("0.0.0.0/0")], false), ["0.0.0.0/0"]);
        assert_eq!(address(&spec("192.168.0.254/24")), "192.168.0.0/24");
        assert_eq!(address(&spec("192.168.0.254")), "192.168.0.254");
    }
}
