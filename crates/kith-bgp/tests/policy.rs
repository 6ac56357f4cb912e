//! Routing filters with RouterOS v6 semantics, compiled from real config text.

use ipnet::IpNet;
use kith_bgp::codec::{AsPath, PathAttributes};
use kith_bgp::policy::{Candidate, Chains, Verdict};

fn chains(yaml: &str) -> Chains {
    let loaded = kith_config::load_str(yaml, "test.yaml").unwrap_or_else(|d| panic!("{d:?}"));
    Chains::compile(&loaded.config.routing.filter).unwrap()
}

fn route(prefix: &str, path: &[u32]) -> Candidate {
    Candidate {
        prefix: prefix.parse::<IpNet>().unwrap(),
        attrs: PathAttributes {
            as_path: AsPath::sequence(path),
            ..PathAttributes::default()
        },
        distance: None,
        check_gateway: None,
        prepend_as: 64513,
    }
}

const SCENARIO: &str = "
routing:
  filter:
    - chain: remi-in-isp1
      set-bgp-local-pref: 200
      action: jump
      jump-target: remi-in
    - chain: remi-in
      prefix: 192.168.42.0/23
      prefix-length: 23-32
      action: accept
    - chain: remi-in
      action: discard
";

#[test]
fn scenario_chains_as_the_examples_write_them() {
    let c = chains(SCENARIO);
    let mut r = route("192.168.42.0/24", &[64513]);
    assert_eq!(c.evaluate("remi-in-isp1", &mut r), Verdict::Accept);
    assert_eq!(
        r.attrs.local_pref,
        Some(200),
        "set on match of the jump rule"
    );
    let mut r = route("192.168.43.0/24", &[64513]);
    assert_eq!(c.evaluate("remi-in", &mut r), Verdict::Accept);
    assert_eq!(r.attrs.local_pref, None);
    let mut r = route("192.168.42.0/23", &[64513]);
    assert_eq!(c.evaluate("remi-in", &mut r), Verdict::Accept);
    let mut r = route("192.168.200.0/24", &[64513]);
    assert_eq!(c.evaluate("remi-in-isp1", &mut r), Verdict::Discard);
    // Shorter than the range: outside.
    let mut r = route("192.168.0.0/16", &[64513]);
    assert_eq!(c.evaluate("remi-in", &mut r), Verdict::Discard);
}

#[test]
fn the_printed_slips_filter_nothing() {
    // As the blog prints them: no action=jump, no final discard.
    let c = chains(
        "
routing:
  filter:
    - chain: remi-in-isp1
      set-bgp-local-pref: 200
      jump-target: remi-in
    - chain: remi-in
      prefix: 192.168.42.0/23
      prefix-length: 23-32
      action: accept
",
    );
    let mut r = route("192.168.200.0/24", &[64513]);
    assert_eq!(c.evaluate("remi-in-isp1", &mut r), Verdict::Accept);
    assert_eq!(r.attrs.local_pref, Some(200), "passthrough still sets");
    let mut r = route("192.168.200.0/24", &[64513]);
    assert_eq!(
        c.evaluate("remi-in", &mut r),
        Verdict::Accept,
        "falls off the end"
    );
    assert_eq!(c.evaluate("no-such-chain", &mut r), Verdict::Accept);
}

#[test]
fn matchers_and_setters() {
    let c = chains(
        "
routing:
  filter:
    - chain: in
      bgp-as-path: '^64513 64999$'
      action: reject
    - chain: in
      bgp-communities: [64513:666]
      action: discard
    - chain: in
      address-family: ipv6
      set-distance: 50
      set-check-gateway: ping
      action: accept
    - chain: in
      prefix: 10.0.0.0/8
      action: return
    - chain: in
      set-bgp-med: 7
      set-bgp-prepend: 2
      set-bgp-communities: [64514:1, no-export]
      action: log
    - chain: in
      action: passthrough
    - chain: top
      action: jump
      jump-target: in
    - chain: top
      set-bgp-local-pref: 50
",
    );
    let mut r = route("10.1.0.0/16", &[64513, 64999]);
    assert_eq!(c.evaluate("in", &mut r), Verdict::Reject);
    let mut r = route("10.1.0.0/16", &[64513]);
    r.attrs.communities = vec![(64513 << 16) | 666];
    assert_eq!(c.evaluate("in", &mut r), Verdict::Discard);
    let mut r = route("2001:db8::/32", &[64513]);
    assert_eq!(c.evaluate("in", &mut r), Verdict::Accept);
    assert_eq!(r.distance, Some(50));
    assert_eq!(r.check_gateway, Some(true));
    // `prefix` without `prefix-length` is exact: 10.0.0.0/8 returns, 10.1.0.0/16 does not.
    let mut r = route("10.0.0.0/8", &[64513]);
    assert_eq!(c.evaluate("top", &mut r), Verdict::Accept);
    assert_eq!(
        r.attrs.local_pref,
        Some(50),
        "return continues in the caller"
    );
    assert_eq!(r.attrs.med, None);
    let mut r = route("10.1.0.0/16", &[64513]);
    assert_eq!(c.evaluate("top", &mut r), Verdict::Accept);
    assert_eq!(r.attrs.med, Some(7));
    assert_eq!(r.attrs.as_path.to_string(), "64513 64513 64513");
    assert_eq!(r.attrs.communities, vec![(64514 << 16) | 1, 0xffff_ff01]);
    assert_eq!(
        r.check_gateway, None,
        "not set by the rules it went through"
    );
}

#[test]
fn disabled_rules_are_left_out() {
    let c = chains(
        "
routing:
  filter:
    - chain: in
      action: discard
      disabled: yes
",
    );
    assert!(!c.has("in"));
    assert_eq!(
        c.evaluate("in", &mut route("10.0.0.0/8", &[1])),
        Verdict::Accept
    );
}
