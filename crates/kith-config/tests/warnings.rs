//! Valid configurations that probably do not do what was meant: `kith check` warnings.

mod common;

use common::dedent;
use kith_config::{Severity, load_str};

/// Loads `yaml`, which must be free of errors, and returns its warnings.
fn warnings(yaml: &str) -> Vec<String> {
    match load_str(&dedent(yaml), "w.yaml") {
        Ok(loaded) => {
            assert!(
                loaded
                    .warnings
                    .iter()
                    .all(|w| w.severity == Severity::Warning)
            );
            loaded.warnings.iter().map(ToString::to_string).collect()
        }
        Err(diags) => panic!(
            "unexpected errors:\n{}",
            diags.iter().map(|d| format!("{d}\n")).collect::<String>()
        ),
    }
}

/// The scenario's BGP section as printed in the blog, with its two slips:
/// `remi-in-isp1` has no `action: jump`, `remi-in` has no final discard.
const SCENARIO_AS_PRINTED: &str = "
    routing:
      bgp:
        instance:
          - name: default
            as: 64514
        peer:
          - name: remi-isp1
            remote-address: 172.16.10.2
            remote-as: 64513
            in-filter: remi-in-isp1
          - name: remi-isp2
            remote-address: 172.16.11.2
            remote-as: 64513
            in-filter: remi-in
      filter:
        - chain: remi-in-isp1
          set-bgp-local-pref: 200
          jump-target: remi-in
        - chain: remi-in
          prefix: 192.168.42.0/23
          prefix-length: 23-32
          action: accept
    ";

#[test]
fn scenario_slips_are_warned_about() {
    assert_eq!(
        warnings(SCENARIO_AS_PRINTED),
        [
            "w.yaml:16:14: warning: chain remi-in-isp1 ends without a discard or reject: unmatched routes are accepted",
            "w.yaml:18:20: warning: jump-target without action=jump has no effect",
            "w.yaml:19:14: warning: chain remi-in ends without a discard or reject: unmatched routes are accepted",
        ]
        .map(String::from)
    );
}

#[test]
fn firewall_jump_target_without_jump() {
    assert_eq!(
        warnings(
            "
            ip:
              firewall:
                filter:
                  - chain: input
                    action: accept
                    jump-target: INPUT_WAN
                  - chain: INPUT_WAN
                    action: drop
            "
        ),
        ["w.yaml:6:22: warning: jump-target without action=jump has no effect"]
    );
}

#[test]
fn routing_filter_jump_target_without_jump() {
    assert_eq!(
        warnings(
            "
            routing:
              filter:
                - chain: a
                  action: accept
                  jump-target: b
                - chain: b
                  action: discard
            "
        ),
        ["w.yaml:5:20: warning: jump-target without action=jump has no effect"]
    );
}

#[test]
fn in_filter_without_final_discard() {
    assert_eq!(
        warnings(
            "
            routing:
              bgp:
                instance:
                  - name: default
                    as: 64514
                peer:
                  - name: remi
                    remote-address: 172.16.10.2
                    remote-as: 64513
                    in-filter: remi-in
              filter:
                - chain: remi-in
                  prefix: 192.168.42.0/23
                  prefix-length: 23-32
                  action: accept
                - chain: remi-in
                  prefix: 10.0.0.0/8
                  action: discard
            "
        ),
        [
            "w.yaml:16:14: warning: chain remi-in ends without a discard or reject: unmatched routes are accepted"
        ]
    );
}

#[test]
fn final_discard_reached_through_a_jump_is_enough() {
    assert!(
        warnings(
            "
            routing:
              bgp:
                instance:
                  - name: default
                    as: 64514
                peer:
                  - name: remi
                    remote-address: 172.16.10.2
                    remote-as: 64513
                    in-filter: remi-in-isp1
              filter:
                - chain: remi-in-isp1
                  action: jump
                  jump-target: remi-in
                - chain: remi-in
                  action: reject
            "
        )
        .is_empty()
    );
}

#[test]
fn ebgp_peer_without_in_filter() {
    assert_eq!(
        warnings(
            "
            routing:
              bgp:
                instance:
                  - name: default
                    as: 64514
                peer:
                  - name: remi
                    remote-address: 172.16.10.2
                    remote-as: 64513
                  - name: ibgp
                    remote-address: 10.0.0.2
                    remote-as: 64514
            "
        ),
        [
            "w.yaml:7:15: warning: eBGP peer `remi` has no in-filter: it accepts every route (RFC 8212 risk)"
        ]
    );
}

#[test]
fn errors_come_first_then_warnings() {
    let text = dedent(
        "
        ip:
          firewall:
            filter:
              - chain: input
                action: drop
                jump-target: input
              - chain: input
                action: jump
        ",
    );
    let Err(diags) = load_str(&text, "w.yaml") else {
        panic!("loaded");
    };
    let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "w.yaml:8:17: error: action jump needs a jump-target",
            "w.yaml:6:22: warning: jump-target without action=jump has no effect",
        ]
    );
}
