//! kith bgpd fed malformed messages by a raw speaker (AS 65003) while BIRD (AS 65002)
//! peers with it too. Each bad message gets the RFC 4271 NOTIFICATION or the RFC 7606
//! action (treat-as-withdraw, attribute discard); a valid sentinel route sent after it
//! proves it was processed; kith never panics; its session with BIRD stays Established
//! with its routes throughout. Needs root and BIRD (fails without them).

mod bgp_support;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use bgp_support::speaker::*;
use bgp_support::*;
use kith_lab::{Lab, NodeKind};

const RAW_AS: u32 = 65003;
const RAW_ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 2);

/// What kith must do with a case.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// RFC 7606 treat-as-withdraw: the victim route goes, the session stays.
    Withdraw,
    /// RFC 7606 attribute discard: the victim route stays, the session stays.
    Discard,
    /// Session reset with this NOTIFICATION code/subcode.
    Reset(u8, u8),
}

struct Case {
    name: &'static str,
    /// What to send (the victim prefix is the one announced just before).
    bytes: Vec<u8>,
    expect: Expect,
}

/// An UPDATE announcing `prefix` with the good attributes, `replace` standing in for
/// the attribute of type `kind` (or added when no good attribute has that type).
fn with(prefix: &str, kind: u8, replace: Vec<u8>) -> Vec<u8> {
    let mut attrs = Vec::new();
    let mut done = false;
    for a in good_attrs(RAW_AS, RAW_ADDR) {
        if a[1] == kind {
            attrs.extend_from_slice(&replace);
            done = true;
        } else {
            attrs.extend_from_slice(&a);
        }
    }
    if !done {
        attrs.extend_from_slice(&replace);
    }
    update_raw(&[], &attrs, &nlri(prefix))
}

fn announce(prefix: &str) -> Vec<u8> {
    update_raw(&[], &good_attrs(RAW_AS, RAW_ADDR).concat(), &nlri(prefix))
}

fn cases(victim: &str) -> Vec<Case> {
    let mut bad_marker = msg(4, &[]);
    bad_marker[5] = 0;
    let mut bad_length = msg(4, &[]);
    bad_length[16..18].copy_from_slice(&5000u16.to_be_bytes());
    // Total path attribute length larger than what the message holds.
    let mut attrs_overrun = announce(victim);
    attrs_overrun[21..23].copy_from_slice(&400u16.to_be_bytes());
    let mut mp_reach = vec![0, 1, 1, 4];
    mp_reach.extend_from_slice(&RAW_ADDR.octets());
    mp_reach.push(0);
    mp_reach.extend_from_slice(&nlri(victim));
    let mp_update = update_raw(
        &[],
        &[attr(WK, 1, &[0]), good_attrs(RAW_AS, RAW_ADDR)[1].clone()]
            .concat()
            .into_iter()
            .chain(attr(OPT_T, 14, &mp_reach))
            .collect::<Vec<u8>>(),
        &[],
    );
    let mut as_path_wrong_first = vec![2, 1];
    as_path_wrong_first.extend_from_slice(&64999u32.to_be_bytes());
    vec![
        // RFC 7606: treat-as-withdraw.
        Case {
            name: "bad attribute flags: ORIGIN flagged optional transitive",
            bytes: with(victim, 1, attr(OPT_T, 1, &[0])),
            expect: Expect::Withdraw,
        },
        Case {
            name: "ORIGIN value 3",
            bytes: with(victim, 1, attr(WK, 1, &[3])),
            expect: Expect::Withdraw,
        },
        Case {
            name: "AS_PATH overflow: segment of 3 ASes holding 1",
            bytes: with(victim, 2, attr(WK, 2, &[2, 3, 0, 0, 0xfe, 0x4b])),
            expect: Expect::Withdraw,
        },
        Case {
            name: "eBGP AS_PATH not starting with the peer's AS",
            bytes: with(victim, 2, attr(WK, 2, &as_path_wrong_first)),
            expect: Expect::Withdraw,
        },
        Case {
            name: "truncated attribute: COMMUNITIES overrunning the attribute list",
            bytes: with(victim, 8, vec![OPT_T, 8, 40, 0, 0]),
            expect: Expect::Withdraw,
        },
        Case {
            name: "NEXT_HOP 0.0.0.0",
            bytes: with(victim, 3, attr(WK, 3, &[0, 0, 0, 0])),
            expect: Expect::Withdraw,
        },
        // RFC 7606: attribute discard.
        Case {
            name: "AGGREGATOR of 5 octets",
            bytes: with(victim, 7, attr(OPT_T, 7, &[0, 0, 1, 2, 3])),
            expect: Expect::Discard,
        },
        Case {
            name: "ATOMIC_AGGREGATE of 1 octet",
            bytes: with(victim, 6, attr(WK, 6, &[1])),
            expect: Expect::Discard,
        },
        // Session resets (RFC 4271 6.1, 6.3, RFC 7606 5.3, RFC 6608).
        Case {
            name: "bad marker",
            bytes: bad_marker,
            expect: Expect::Reset(1, 1),
        },
        Case {
            name: "bad message length 5000",
            bytes: bad_length,
            expect: Expect::Reset(1, 2),
        },
        Case {
            name: "unknown message type 9",
            bytes: msg(9, &[]),
            expect: Expect::Reset(1, 3),
        },
        Case {
            name: "truncated attributes: attribute list longer than the message",
            bytes: attrs_overrun,
            expect: Expect::Reset(3, 1),
        },
        Case {
            name: "NLRI prefix length 33",
            bytes: update_raw(
                &[],
                &good_attrs(RAW_AS, RAW_ADDR).concat(),
                &[33, 10, 1, 2, 3, 4],
            ),
            expect: Expect::Reset(3, 10),
        },
        Case {
            name: "bad attribute flags: MP_REACH_NLRI flagged transitive",
            bytes: mp_update,
            expect: Expect::Reset(3, 4),
        },
        Case {
            name: "OPEN while Established",
            bytes: open(RAW_AS, Ipv4Addr::new(10, 0, 1, 2), 90),
            expect: Expect::Reset(5, 3),
        },
    ]
}

fn config() -> String {
    "routing:
  bgp:
    instance:
      - name: default
        as: 65001
        router-id: 10.0.0.1
    network:
      - network: 192.168.1.0/24
        synchronize: no
    peer:
      - name: bird
        remote-address: 10.0.0.2
        remote-as: 65002
        hold-time: 9s
      - name: raw
        remote-address: 10.0.1.2
        remote-as: 65003
        passive: yes
        hold-time: 90s
"
    .to_string()
}

fn lab() -> Lab {
    let lab = Lab::new("kith-bgp malformed").expect("lab");
    for n in ["k", "b", "t"] {
        lab.add_node(n, NodeKind::Router).expect("node");
    }
    lab.add_link(
        ("k", "eth0", Some("10.0.0.1/24".parse().unwrap())),
        ("b", "eth0", Some("10.0.0.2/24".parse().unwrap())),
    )
    .expect("link k-b");
    lab.add_link(
        ("k", "eth1", Some("10.0.1.1/24".parse().unwrap())),
        ("t", "eth0", Some("10.0.1.2/24".parse().unwrap())),
    )
    .expect("link k-t");
    lab
}

fn start_bird(lab: &Lab) -> String {
    let pdir = lab.workdir().join("b-bird");
    std::fs::create_dir_all(&pdir).unwrap();
    let conf = pdir.join("bird.conf");
    std::fs::write(
        &conf,
        "router id 10.0.0.2;
log stderr all;
protocol device { }
protocol static st4 { ipv4; route 10.9.1.0/24 blackhole; route 10.9.2.0/24 blackhole; }
protocol bgp k { local 10.0.0.2 as 65002; neighbor 10.0.0.1 as 65001; hold time 9; ipv4 { import all; export all; }; }
",
    )
    .unwrap();
    let sock = pdir.join("bird.ctl").to_str().unwrap().to_string();
    lab.spawn(
        "b",
        "bird",
        &["bird", "-f", "-c", conf.to_str().unwrap(), "-s", &sock],
        &[],
    )
    .expect("spawn bird");
    sock
}

/// kith's session with BIRD is still the first one, Established, with BIRD's routes.
fn check_bird_session(lab: &Lab, dir: &Path, after: &str, logs: &dyn Fn() -> String) {
    let s =
        status(dir).unwrap_or_else(|| panic!("after {after}: kith does not answer\n{}", logs()));
    let p = peer(&s, "bird").expect("peer bird");
    assert!(
        p.state == "established" && p.established_count == 1,
        "after {after}: the BIRD session was disturbed: {p:?}\n{}",
        logs()
    );
    assert!(
        kernel_route(lab, "k", "10.9.1.0/24").contains("proto bgp"),
        "after {after}: BIRD's route left the kernel\n{}",
        logs()
    );
    assert!(
        lab.is_running("k", "bgpd"),
        "after {after}: kith bgpd died\n{}",
        logs()
    );
}

fn wait_kernel(
    lab: &Lab,
    mut sp: Option<&mut Speaker>,
    prefix: &str,
    want: bool,
    why: &str,
    logs: &dyn Fn() -> String,
) {
    lab.wait_until(
        &format!(
            "{why}: {prefix} {}",
            if want { "installed" } else { "removed" }
        ),
        WAIT,
        || {
            if let Some(sp) = sp.as_deref_mut() {
                sp.drain();
            }
            kernel_route(lab, "k", prefix).contains("proto bgp") == want
        },
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", logs()));
}

fn raw_count(dir: &Path) -> u64 {
    status(dir)
        .and_then(|s| peer(&s, "raw"))
        .map_or(0, |p| p.established_count)
}

#[test]
fn malformed_updates_get_the_rfc_answer_and_spare_the_other_peer() {
    require(&["ip", "bird", "birdc"]);
    let lab = lab();
    let bird_sock = start_bird(&lab);
    let dir = start_kith(&lab, "k", &config());
    let logs = || {
        format!(
            "--- kith ---\n{}\n--- bird ---\n{}",
            lab.log("k", "bgpd"),
            lab.log("b", "bird")
        )
    };
    wait_established(&lab, &dir, &["bird"], &logs);
    wait_route(&lab, "k", "10.9.1.0/24", true, &logs);
    let ns = lab.namespace("t").unwrap();
    let kith = SocketAddr::from(([10, 0, 1, 1], 179));
    let mut sp = Speaker::establish(&ns, kith, RAW_AS, RAW_ADDR);
    wait_established(&lab, &dir, &["bird", "raw"], &logs);
    let mut withdrawn = Vec::new();
    let mut last_sentinel = String::new();
    let all = cases("0.0.0.0/0").len();
    for i in 0..all {
        let victim = format!("172.20.{i}.0/24");
        let sentinel = format!("172.31.{i}.0/24");
        let case = cases(&victim).swap_remove(i);
        let name = case.name;
        let before = raw_count(&dir);
        sp.send(&announce(&victim));
        wait_kernel(&lab, Some(&mut sp), &victim, true, name, &logs);
        sp.send(&case.bytes);
        match case.expect {
            Expect::Withdraw | Expect::Discard => {
                sp.send(&announce(&sentinel));
                wait_kernel(&lab, Some(&mut sp), &sentinel, true, name, &logs);
                let present = kernel_route(&lab, "k", &victim).contains("proto bgp");
                let s = status(&dir).expect("status");
                let shown = s
                    .routes
                    .iter()
                    .find(|r| r.dst_address == victim && r.received_from == "raw")
                    .map(|r| r.status.clone());
                if matches!(case.expect, Expect::Withdraw) {
                    assert!(
                        !present,
                        "{name}: treat-as-withdraw left {victim} installed"
                    );
                    assert_eq!(shown.as_deref(), Some("malformed"), "{name}");
                    withdrawn.push(victim.clone());
                } else {
                    assert!(present, "{name}: attribute discard lost {victim}");
                    assert_eq!(shown.as_deref(), Some("accepted"), "{name}");
                }
                assert!(
                    sp.notifications.is_empty(),
                    "{name}: RFC 7606 keeps the session, kith sent {:?}",
                    sp.notifications
                );
                assert_eq!(raw_count(&dir), before, "{name}: session reset");
            }
            Expect::Reset(code, subcode) => {
                let got = sp.expect_notification(Duration::from_secs(10));
                assert_eq!(got, (code, subcode), "{name}: NOTIFICATION code/subcode");
                // The session's routes go with it.
                wait_kernel(&lab, None, &victim, false, name, &logs);
                sp = Speaker::establish(&ns, kith, RAW_AS, RAW_ADDR);
                sp.send(&announce(&sentinel));
                wait_kernel(&lab, Some(&mut sp), &sentinel, true, name, &logs);
                assert_eq!(raw_count(&dir), before + 1, "{name}: one reset");
                withdrawn.push(victim.clone());
            }
        }
        last_sentinel = sentinel;
        check_bird_session(&lab, &dir, name, &logs);
    }
    // BIRD saw the same: the last sentinel arrived, the withdrawn victims did not stay.
    let show = |net: &str| -> Vec<String> {
        ["birdc", "-s", &bird_sock, "show", "route", net]
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    let argv = show(&last_sentinel);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    wait_output(&lab, "b", &argv, &last_sentinel, true, &logs);
    for victim in &withdrawn {
        let argv = show(victim);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        wait_output(&lab, "b", &argv, victim, false, &logs);
    }
    let protocols = lab
        .exec_ok("b", &["birdc", "-s", &bird_sock, "show", "protocols", "k"])
        .unwrap();
    assert!(protocols.contains("Established"), "{protocols}");
    let log = lab.log("k", "bgpd");
    assert!(!log.contains("panicked"), "kith panicked:\n{log}");
    check_bird_session(&lab, &dir, "all cases", &logs);
}
