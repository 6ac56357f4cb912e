//! The table of malformed messages: each is answered with the NOTIFICATION RFC 4271
//! names, or handled with the RFC 7606 outcome (treat-as-withdraw, attribute discard)
//! that keeps the session up.

use kith_bgp::codec::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Session reset with this NOTIFICATION code/subcode.
    Notify(u8, u8),
    /// Accepted; the prefixes are treated as withdrawn because of this attribute.
    Withdraw(u8),
    /// Accepted; this attribute is discarded.
    Discard(u8),
    /// Accepted as is.
    Fine,
}
use Outcome::*;

fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

fn attr(flags: u8, kind: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, kind, value.len() as u8];
    v.extend_from_slice(value);
    v
}

const WK: u8 = 0x40;
const OPT: u8 = 0x80;
const OPT_T: u8 = 0xc0;

fn origin() -> Vec<u8> {
    attr(WK, 1, &[0])
}
fn as_path() -> Vec<u8> {
    attr(WK, 2, &[2, 1, 0, 0, 0xfc, 1])
}
fn next_hop() -> Vec<u8> {
    attr(WK, 3, &[172, 16, 10, 2])
}
fn local_pref() -> Vec<u8> {
    attr(WK, 5, &[0, 0, 0, 100])
}

/// An UPDATE announcing 192.168.42.0/24 with `attrs` (concatenated).
fn update(attrs: &[Vec<u8>]) -> Vec<u8> {
    update_raw(&[], &attrs.concat(), &[24, 192, 168, 42])
}

fn update_raw(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = (withdrawn.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    msg(2, &body)
}

/// The good attributes with `replace` instead of the one of type `kind` (or without it).
fn with(kind: u8, replace: Option<Vec<u8>>) -> Vec<u8> {
    let mut attrs = Vec::new();
    for (k, a) in [
        (1, origin()),
        (2, as_path()),
        (3, next_hop()),
        (5, local_pref()),
    ] {
        if k == kind {
            if let Some(r) = &replace {
                attrs.push(r.clone());
            }
        } else {
            attrs.push(a);
        }
    }
    if kind > 5 {
        attrs.extend(replace);
    }
    update(&attrs)
}

fn open(version: u8, hold: u16, id: [u8; 4], params: &[u8]) -> Vec<u8> {
    let mut body = vec![version, 0xfc, 0x01];
    body.extend_from_slice(&hold.to_be_bytes());
    body.extend_from_slice(&id);
    body.push(params.len() as u8);
    body.extend_from_slice(params);
    msg(1, &body)
}

fn ibgp() -> DecodeContext {
    DecodeContext::default()
}

fn ebgp(peer_as: u32) -> DecodeContext {
    DecodeContext {
        ebgp: true,
        peer_as: Some(peer_as),
        ..DecodeContext::default()
    }
}

fn two_octet() -> DecodeContext {
    DecodeContext {
        four_octet_as: false,
        ..DecodeContext::default()
    }
}

fn cases() -> Vec<(&'static str, Vec<u8>, DecodeContext, Outcome)> {
    let mut bad_marker = msg(4, &[]);
    bad_marker[3] = 0;
    let mut short_len = msg(4, &[]);
    short_len[17] = 18;
    let mut huge_len = msg(4, &[]);
    huge_len[16..18].copy_from_slice(&5000u16.to_be_bytes());
    let mut len_mismatch = msg(4, &[]);
    len_mismatch.push(0);
    let mp_reach_v6 = |nlri: &[u8]| {
        let mut v = vec![0, 2, 1, 16];
        v.extend_from_slice(&[0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
        v.push(0);
        v.extend_from_slice(nlri);
        attr(OPT, 14, &v)
    };
    let v6_update =
        |mp: Vec<u8>| update_raw(&[], &[origin(), as_path(), local_pref(), mp].concat(), &[]);
    vec![
        // Message header (RFC 4271 6.1).
        ("bad marker", bad_marker, ibgp(), Notify(1, 1)),
        ("length below 19", short_len, ibgp(), Notify(1, 2)),
        ("length above 4096", huge_len, ibgp(), Notify(1, 2)),
        (
            "length differs from the message",
            len_mismatch,
            ibgp(),
            Notify(1, 2),
        ),
        ("unknown message type", msg(9, &[]), ibgp(), Notify(1, 3)),
        ("KEEPALIVE with a body", msg(4, &[0]), ibgp(), Notify(1, 2)),
        ("OPEN too short", msg(1, &[4, 0]), ibgp(), Notify(1, 2)),
        (
            "NOTIFICATION without subcode",
            msg(3, &[6]),
            ibgp(),
            Notify(1, 2),
        ),
        ("UPDATE too short", msg(2, &[0, 0]), ibgp(), Notify(1, 2)),
        // OPEN (RFC 4271 6.2).
        (
            "OPEN version 3",
            open(3, 90, [1, 1, 1, 1], &[]),
            ibgp(),
            Notify(2, 1),
        ),
        (
            "OPEN hold time 2",
            open(4, 2, [1, 1, 1, 1], &[]),
            ibgp(),
            Notify(2, 6),
        ),
        (
            "OPEN identifier 0",
            open(4, 90, [0, 0, 0, 0], &[]),
            ibgp(),
            Notify(2, 3),
        ),
        (
            "OPEN unknown parameter",
            open(4, 90, [1, 1, 1, 1], &[1, 0]),
            ibgp(),
            Notify(2, 4),
        ),
        (
            "OPEN truncated capability",
            open(4, 90, [1, 1, 1, 1], &[2, 3, 65, 4, 0]),
            ibgp(),
            Notify(2, 0),
        ),
        (
            "OPEN 4-octet AS of 3 octets",
            open(4, 90, [1, 1, 1, 1], &[2, 5, 65, 3, 0, 0, 1]),
            ibgp(),
            Notify(2, 0),
        ),
        (
            "OPEN parameters length wrong",
            {
                let mut m = open(4, 90, [1, 1, 1, 1], &[2, 2, 2, 0]);
                m[28] = 3;
                m
            },
            ibgp(),
            Notify(2, 0),
        ),
        // UPDATE: what RFC 7606 still resets for.
        (
            "withdrawn length overruns",
            update_raw(&[], &[], &[])
                .iter()
                .enumerate()
                .map(|(i, b)| if i == 20 { 9 } else { *b })
                .collect(),
            ibgp(),
            Notify(3, 1),
        ),
        (
            "attribute length overruns",
            {
                let mut m = update(&[origin()]);
                m[22] = 200;
                m
            },
            ibgp(),
            Notify(3, 1),
        ),
        (
            "NLRI prefix length 33",
            update_raw(
                &[],
                &[origin(), as_path(), next_hop(), local_pref()].concat(),
                &[33, 1, 2, 3, 4, 5],
            ),
            ibgp(),
            Notify(3, 10),
        ),
        (
            "NLRI truncated",
            update_raw(
                &[],
                &[origin(), as_path(), next_hop(), local_pref()].concat(),
                &[24, 10, 0],
            ),
            ibgp(),
            Notify(3, 10),
        ),
        (
            "withdrawn prefix truncated",
            update_raw(&[24, 10], &[], &[]),
            ibgp(),
            Notify(3, 10),
        ),
        (
            "unrecognized well-known attribute",
            with(40, Some(attr(WK, 40, &[1]))),
            ibgp(),
            Notify(3, 2),
        ),
        (
            "MP_REACH twice",
            v6_update([mp_reach_v6(&[]), mp_reach_v6(&[])].concat()),
            ibgp(),
            Notify(3, 1),
        ),
        (
            "MP_REACH unknown AFI",
            v6_update(attr(OPT, 14, &[0, 9, 1, 4, 1, 2, 3, 4, 0])),
            ibgp(),
            Notify(3, 9),
        ),
        (
            "MP_REACH prefix truncated",
            v6_update(mp_reach_v6(&[64, 0x20, 1])),
            ibgp(),
            Notify(3, 9),
        ),
        (
            "MP_REACH next hop of 5 octets",
            v6_update(attr(OPT, 14, &[0, 2, 1, 5, 1, 2, 3, 4, 5, 0])),
            ibgp(),
            Notify(3, 9),
        ),
        (
            "MP_REACH transitive flag",
            v6_update({
                let mut a = mp_reach_v6(&[]);
                a[0] = OPT_T;
                a
            }),
            ibgp(),
            Notify(3, 4),
        ),
        (
            "MP_UNREACH truncated",
            v6_update(attr(OPT, 15, &[0, 2])),
            ibgp(),
            Notify(3, 9),
        ),
        (
            "ROUTE-REFRESH of 5 octets",
            msg(5, &[0, 1, 0, 1, 0]),
            ibgp(),
            Notify(7, 1),
        ),
        // UPDATE: treat-as-withdraw (RFC 7606 7.x).
        (
            "ORIGIN value 3",
            with(1, Some(attr(WK, 1, &[3]))),
            ibgp(),
            Withdraw(1),
        ),
        (
            "ORIGIN of 2 octets",
            with(1, Some(attr(WK, 1, &[0, 0]))),
            ibgp(),
            Withdraw(1),
        ),
        (
            "ORIGIN flagged optional",
            with(1, Some(attr(OPT_T, 1, &[0]))),
            ibgp(),
            Withdraw(1),
        ),
        (
            "ORIGIN with the partial bit",
            with(1, Some(attr(WK | 0x20, 1, &[0]))),
            ibgp(),
            Withdraw(1),
        ),
        ("ORIGIN missing", with(1, None), ibgp(), Withdraw(1)),
        (
            "AS_PATH overflow",
            with(2, Some(attr(WK, 2, &[2, 3, 0, 0, 0xfc, 1]))),
            ibgp(),
            Withdraw(2),
        ),
        (
            "AS_PATH segment type 9",
            with(2, Some(attr(WK, 2, &[9, 1, 0, 0, 0xfc, 1]))),
            ibgp(),
            Withdraw(2),
        ),
        (
            "AS_PATH empty segment",
            with(2, Some(attr(WK, 2, &[2, 0]))),
            ibgp(),
            Withdraw(2),
        ),
        (
            "AS_PATH of an odd length",
            with(2, Some(attr(WK, 2, &[2, 1, 0, 0, 0xfc]))),
            ibgp(),
            Withdraw(2),
        ),
        ("AS_PATH missing", with(2, None), ibgp(), Withdraw(2)),
        (
            "eBGP AS_PATH not starting with the peer",
            update(&[origin(), attr(WK, 2, &[2, 1, 0, 0, 0xfc, 9]), next_hop()]),
            ebgp(64513),
            Withdraw(2),
        ),
        (
            "eBGP confederation segment",
            update(&[
                origin(),
                attr(WK, 2, &[3, 1, 0, 0, 0xfc, 1, 2, 1, 0, 0, 0xfc, 1]),
                next_hop(),
            ]),
            ebgp(64513),
            Withdraw(2),
        ),
        (
            "NEXT_HOP of 5 octets",
            with(3, Some(attr(WK, 3, &[1, 2, 3, 4, 5]))),
            ibgp(),
            Withdraw(3),
        ),
        (
            "NEXT_HOP 0.0.0.0",
            with(3, Some(attr(WK, 3, &[0, 0, 0, 0]))),
            ibgp(),
            Withdraw(3),
        ),
        (
            "NEXT_HOP multicast",
            with(3, Some(attr(WK, 3, &[224, 0, 0, 1]))),
            ibgp(),
            Withdraw(3),
        ),
        ("NEXT_HOP missing", with(3, None), ibgp(), Withdraw(3)),
        (
            "MED of 3 octets",
            with(9, Some(attr(OPT, 4, &[0, 0, 1]))),
            ibgp(),
            Withdraw(4),
        ),
        (
            "MED flagged transitive",
            with(9, Some(attr(OPT_T, 4, &[0, 0, 0, 1]))),
            ibgp(),
            Withdraw(4),
        ),
        (
            "LOCAL_PREF of 2 octets",
            with(5, Some(attr(WK, 5, &[0, 1]))),
            ibgp(),
            Withdraw(5),
        ),
        (
            "LOCAL_PREF missing on iBGP",
            with(5, None),
            ibgp(),
            Withdraw(5),
        ),
        (
            "COMMUNITIES of 5 octets",
            with(9, Some(attr(OPT_T, 8, &[0, 0, 0, 1, 2]))),
            ibgp(),
            Withdraw(8),
        ),
        (
            "COMMUNITIES empty",
            with(9, Some(attr(OPT_T, 8, &[]))),
            ibgp(),
            Withdraw(8),
        ),
        (
            "LARGE_COMMUNITY of 10 octets",
            with(9, Some(attr(OPT_T, 32, &[0; 10]))),
            ibgp(),
            Withdraw(32),
        ),
        (
            "ORIGINATOR_ID of 3 octets",
            with(9, Some(attr(OPT, 9, &[1, 2, 3]))),
            ibgp(),
            Withdraw(9),
        ),
        (
            "CLUSTER_LIST of 6 octets",
            with(9, Some(attr(OPT, 10, &[1, 2, 3, 4, 5, 6]))),
            ibgp(),
            Withdraw(10),
        ),
        (
            "attribute overruns the attributes",
            update_raw(
                &[],
                &[
                    origin(),
                    as_path(),
                    next_hop(),
                    local_pref(),
                    vec![OPT_T, 8, 40, 0, 0],
                ]
                .concat(),
                &[24, 192, 168, 42],
            ),
            ibgp(),
            Withdraw(8),
        ),
        (
            "attribute header truncated",
            update_raw(
                &[],
                &[origin(), as_path(), next_hop(), local_pref(), vec![OPT_T]].concat(),
                &[24, 192, 168, 42],
            ),
            ibgp(),
            Withdraw(0),
        ),
        // UPDATE: attribute discard.
        (
            "ATOMIC_AGGREGATE of 1 octet",
            with(9, Some(attr(WK, 6, &[1]))),
            ibgp(),
            Discard(6),
        ),
        (
            "AGGREGATOR of 5 octets",
            with(9, Some(attr(OPT_T, 7, &[0, 0, 1, 2, 3]))),
            ibgp(),
            Discard(7),
        ),
        (
            "AGGREGATOR flagged non-transitive",
            with(9, Some(attr(OPT, 7, &[0, 0, 0, 1, 1, 2, 3, 4]))),
            ibgp(),
            Discard(7),
        ),
        (
            "AS4_PATH malformed on a 2-octet session",
            update(&[
                origin(),
                attr(WK, 2, &[2, 1, 0xfc, 1]),
                next_hop(),
                local_pref(),
                attr(OPT_T, 17, &[2, 2, 0, 0]),
            ]),
            two_octet(),
            Discard(17),
        ),
        (
            "MED twice",
            with(
                9,
                Some([attr(OPT, 4, &[0, 0, 0, 1]), attr(OPT, 4, &[0, 0, 0, 2])].concat()),
            ),
            ibgp(),
            Discard(4),
        ),
        // Fine.
        ("well formed", with(0, None), ibgp(), Fine),
        (
            "LOCAL_PREF from eBGP is ignored",
            update(&[origin(), as_path(), next_hop(), local_pref()]),
            ebgp(64513),
            Fine,
        ),
        (
            "unknown optional non-transitive",
            with(9, Some(attr(OPT, 77, &[1]))),
            ibgp(),
            Fine,
        ),
        (
            "attribute type 0 optional",
            with(9, Some(attr(OPT_T, 0, &[1]))),
            ibgp(),
            Fine,
        ),
    ]
}

#[test]
fn malformed_messages_get_the_rfc_answer() {
    let mut failures = Vec::new();
    let all = cases();
    for (name, bytes, ctx, want) in &all {
        let got = match Message::parse(bytes, ctx) {
            Err(e) => Notify(e.notification.code, e.notification.subcode),
            Ok(Message::Update(u)) => match u.issues.iter().max_by_key(|i| i.action) {
                Some(i) if i.action == ErrorAction::TreatAsWithdraw => Withdraw(i.type_code),
                Some(i) => Discard(i.type_code),
                None => Fine,
            },
            Ok(_) => Fine,
        };
        if got != *want {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
    assert!(all.len() >= 60, "the table shrank to {}", all.len());
}

#[test]
fn discarded_attribute_leaves_the_rest() {
    let bytes = with(
        9,
        Some([attr(OPT, 4, &[0, 0, 0, 1]), attr(OPT, 4, &[0, 0, 0, 2])].concat()),
    );
    let Message::Update(u) = Message::parse(&bytes, &ibgp()).unwrap() else {
        panic!("not an UPDATE")
    };
    assert_eq!(u.attrs.med, Some(1), "the first MED stays");
    assert_eq!(u.nlri.len(), 1);
    assert_eq!(u.issues[0].would_notify.code, 3);
}

#[test]
fn treat_as_withdraw_keeps_the_prefixes_known() {
    let bytes = with(1, Some(attr(WK, 1, &[3])));
    let Message::Update(u) = Message::parse(&bytes, &ibgp()).unwrap() else {
        panic!("not an UPDATE")
    };
    assert_eq!(u.error_action(), Some(ErrorAction::TreatAsWithdraw));
    assert_eq!(u.issues[0].would_notify.subcode, code::INVALID_ORIGIN);
    assert_eq!(u.announced().count(), 1);
}

#[test]
fn every_truncation_of_valid_messages_is_an_error_not_a_panic() {
    let ctx = DecodeContext::default();
    for (_, bytes, _, _) in cases() {
        for cut in 0..bytes.len() {
            let mut b = bytes[..cut].to_vec();
            if b.len() >= 18 {
                let len = b.len() as u16;
                b[16..18].copy_from_slice(&len.to_be_bytes());
            }
            let _ = Message::parse(&b, &ctx);
        }
    }
}
