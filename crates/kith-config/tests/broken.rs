//! Broken configurations and the exact diagnostics they produce.

mod common;

use common::dedent;
use kith_config::load_str;

fn diagnostics(yaml: &str) -> Vec<String> {
    match load_str(&dedent(yaml), "t.yaml") {
        Ok(loaded) => loaded.warnings.iter().map(ToString::to_string).collect(),
        Err(diags) => diags.iter().map(ToString::to_string).collect(),
    }
}

struct Case {
    name: &'static str,
    yaml: &'static str,
    expected: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "syntax: unclosed flow list",
        yaml: "
        ip:
          dns:
            servers: [192.0.2.1
        ",
        expected: &[
            "t.yaml:5:1: error: YAML syntax error: while parsing a flow sequence, expected ',' or ']'",
        ],
    },
    Case {
        name: "syntax: mapping in a plain value",
        yaml: "
        system:
          identity: a: b
        ",
        expected: &[
            "t.yaml:2:14: error: YAML syntax error: mapping values are not allowed in this context",
        ],
    },
    Case {
        name: "syntax: duplicate key",
        yaml: "
        system:
          identity: a
          identity: b
        ",
        expected: &["t.yaml:3:3: error: YAML syntax error: duplicated key in mapping"],
    },
    Case {
        name: "two documents",
        yaml: "
        system:
          identity: a
        ---
        system:
          identity: b
        ",
        expected: &[
            "t.yaml:4:1: error: a configuration is a single YAML document; found a second one",
        ],
    },
    Case {
        name: "unknown top-level key",
        yaml: "
        interfaces:
          ethernet: []
        ",
        expected: &[
            "t.yaml:1:1: error: unknown key `interfaces` at the top level; did you mean `interface`?",
        ],
    },
    Case {
        name: "unknown deep key",
        yaml: "
        ip:
          route:
            - dst-address: 10.0.0.0/8
              gateway: 192.0.2.1
              distanse: 10
        ",
        expected: &[
            "t.yaml:5:7: error: unknown key `distanse` in ip/route entry; did you mean `distance`?",
        ],
    },
    Case {
        name: "unknown key without suggestion",
        yaml: "
        system:
          identity: a
          colour: blue
        ",
        expected: &["t.yaml:3:3: error: unknown key `colour` in system"],
    },
    Case {
        name: "menu is not a mapping",
        yaml: "
        ip: [1, 2]
        ",
        expected: &["t.yaml:1:5: error: expected a mapping for ip, found a list"],
    },
    Case {
        name: "menu of items is not a list",
        yaml: "
        ip:
          route:
            gateway: 192.0.2.1
        ",
        expected: &["t.yaml:3:5: error: expected a list of entries for `route`, found a mapping"],
    },
    Case {
        name: "entry is not a mapping",
        yaml: "
        user:
          - admin
        ",
        expected: &["t.yaml:2:5: error: expected a mapping for user entry, found `admin`"],
    },
    Case {
        name: "value is a mapping",
        yaml: "
        ip:
          route:
            - gateway: 192.0.2.1
              distance: {value: 1}
        ",
        expected: &["t.yaml:4:17: error: expected a single value for `distance`, found a mapping"],
    },
    Case {
        name: "bad address",
        yaml: "
        interface:
          ethernet:
            - name: ether1
        ip:
          address:
            - address: 192.168.0.300/24
              interface: ether1
        ",
        expected: &[
            "t.yaml:6:16: error: invalid address `192.168.0.300/24`: expected an IPv4 prefix such as 192.168.0.0/24",
        ],
    },
    Case {
        name: "bad prefix length",
        yaml: "
        ip:
          route:
            - dst-address: 10.0.0.0/33
              gateway: 192.0.2.1
        ",
        expected: &[
            "t.yaml:3:20: error: invalid dst-address `10.0.0.0/33`: prefix length must be 0..32",
        ],
    },
    Case {
        name: "AS 0",
        yaml: "
        routing:
          bgp:
            instance:
              - name: default
                as: 0
        ",
        expected: &[
            "t.yaml:5:13: error: invalid as `0`: expected an AS number 1..4294967295 (or asdot 1.10)",
        ],
    },
    Case {
        name: "AS 4294967296",
        yaml: "
        routing:
          bgp:
            instance:
              - name: default
                as: 64514
            peer:
              - name: p
                remote-address: 192.0.2.1
                remote-as: 4294967296
                in-filter: f
          filter:
            - chain: f
              action: discard
        ",
        expected: &[
            "t.yaml:9:20: error: invalid remote-as `4294967296`: expected an AS number 1..4294967295 (or asdot 1.10)",
        ],
    },
    Case {
        name: "port 0",
        yaml: "
        interface:
          ovpn-server:
            server:
              port: 0
        ",
        expected: &["t.yaml:4:13: error: invalid port `0`: expected a number 1..65535"],
    },
    Case {
        name: "port 70000 in a port list",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: input
                protocol: tcp
                dst-port: 22,70000
        ",
        expected: &["t.yaml:6:22: error: invalid dst-port `70000`: ports are 1..65535"],
    },
    Case {
        name: "bad enum value",
        yaml: "
        interface:
          ovpn-server:
            server:
              mode: bridge
        ",
        expected: &["t.yaml:4:13: error: invalid mode `bridge`: expected one of ip, ethernet"],
    },
    Case {
        name: "bad yes/no",
        yaml: "
        interface:
          ethernet:
            - name: ether1
              disabled: maybe
        ",
        expected: &["t.yaml:4:17: error: invalid disabled `maybe`: expected yes or no"],
    },
    Case {
        name: "bad duration",
        yaml: "
        routing:
          bgp:
            instance:
              - name: default
                as: 64514
            peer:
              - name: p
                remote-address: 192.0.2.1
                remote-as: 64514
                hold-time: 3x
        ",
        expected: &[
            "t.yaml:10:20: error: invalid hold-time `3x`: expected a time such as 180, 30s, 3m or 1h30m",
        ],
    },
    Case {
        name: "vlan-id 5000",
        yaml: "
        interface:
          ethernet:
            - name: ether1
          vlan:
            - name: v
              vlan-id: 5000
              interface: ether1
        ",
        expected: &["t.yaml:6:16: error: invalid vlan-id `5000`: expected a number 1..4094"],
    },
    Case {
        name: "missing required key",
        yaml: "
        interface:
          ethernet:
            - name: ether1
          vlan:
            - name: v
              interface: ether1
        ",
        expected: &["t.yaml:5:7: error: missing `vlan-id` in interface/vlan entry"],
    },
    Case {
        name: "required key without a value",
        yaml: "
        user:
          - name:
            group: full
        ",
        expected: &["t.yaml:2:5: error: `name` needs a value"],
    },
    Case {
        name: "interface in two bridges",
        yaml: "
        interface:
          ethernet:
            - name: ether2
          bridge:
            add:
              - name: br1
              - name: br2
            port:
              - bridge: br1
                interface: ether2
              - bridge: br2
                interface: ether2
        ",
        expected: &["t.yaml:12:20: error: `ether2` is already a member of `br1` (at 10:20)"],
    },
    Case {
        name: "two sessions to one address",
        yaml: "
        routing:
          bgp:
            instance:
              - name: default
                as: 64514
            peer:
              - name: a
                remote-address: 10.0.0.1
                remote-as: 64514
              - name: b
                remote-address: 10.0.0.1
                remote-as: 64514
        ",
        expected: &[
            "t.yaml:10:15: error: bgp peer `a` already has remote-address 10.0.0.1 in instance `default`",
        ],
    },
    Case {
        name: "undefined interface",
        yaml: "
        interface:
          ethernet:
            - name: wan1
            - name: wan2
        ip:
          address:
            - address: 192.0.2.2/24
              interface: wan3
            - address: 198.51.100.2/24
              interface: lan
        ",
        expected: &[
            "t.yaml:8:18: error: undefined interface `wan3`; did you mean `wan1`?",
            "t.yaml:10:18: error: undefined interface `lan`",
        ],
    },
    Case {
        name: "undefined interface in a comma list",
        yaml: "
        interface:
          ethernet:
            - name: ether1
          bonding:
            - name: bond1
              slaves: ether1,ether2
        ",
        expected: &["t.yaml:6:22: error: undefined interface `ether2`; did you mean `ether1`?"],
    },
    Case {
        name: "undefined interface list",
        yaml: "
        interface:
          list:
            add:
              - name: ALL-WAN
        ip:
          firewall:
            nat:
              - chain: srcnat
                action: masquerade
                out-interface-list: ALL-WAM
        ",
        expected: &[
            "t.yaml:10:29: error: undefined interface list `ALL-WAM`; did you mean `ALL-WAN`?",
        ],
    },
    Case {
        name: "undefined firewall chain",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: input
                action: jump
                jump-target: INPUT_WN
              - chain: INPUT_WAN
                action: drop
        ",
        expected: &[
            "t.yaml:6:22: error: undefined firewall chain `INPUT_WN`; did you mean `INPUT_WAN`?",
        ],
    },
    Case {
        name: "undefined ppp profile",
        yaml: "
        ppp:
          secret:
            - name: friend
              password: secret
              profile: VPN
        ",
        expected: &["t.yaml:5:16: error: undefined ppp profile `VPN`"],
    },
    Case {
        name: "undefined routing filter chain",
        yaml: "
        routing:
          bgp:
            instance:
              - name: default
                as: 64514
            peer:
              - name: remi
                remote-address: 172.16.10.2
                remote-as: 64513
                in-filter: remi-inn
          filter:
            - chain: remi-in
              action: discard
        ",
        expected: &[
            "t.yaml:10:20: error: undefined routing filter chain `remi-inn`; did you mean `remi-in`?",
        ],
    },
    Case {
        name: "undefined bgp instance",
        yaml: "
        routing:
          bgp:
            instance:
              - name: main
                as: 64514
            peer:
              - name: remi
                remote-address: 172.16.10.2
                remote-as: 64514
        ",
        expected: &[
            "t.yaml:7:9: error: undefined bgp instance `default` (the default of `instance`)",
        ],
    },
    Case {
        name: "firewall jump loop",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: input
                action: jump
                jump-target: A
              - chain: A
                action: jump
                jump-target: B
              - chain: B
                action: jump
                jump-target: A
        ",
        expected: &["t.yaml:12:22: error: jump loop: A -> B -> A"],
    },
    Case {
        name: "routing filter jump loop",
        yaml: "
        routing:
          filter:
            - chain: a
              action: jump
              jump-target: a
        ",
        expected: &["t.yaml:5:20: error: jump loop: a -> a"],
    },
    Case {
        name: "duplicate interface across kinds",
        yaml: "
        interface:
          ethernet:
            - name: ether1
          vlan:
            - name: ether1
              vlan-id: 10
              interface: ether1
        ",
        expected: &[
            "t.yaml:5:13: error: duplicate interface `ether1` (first declared at 3:13)",
            "t.yaml:7:18: error: a vlan cannot be its own parent",
        ],
    },
    Case {
        name: "duplicate names of every kind",
        yaml: "
        interface:
          list:
            add:
              - name: WAN
              - name: WAN
              - name: all
        ppp:
          profile:
            - name: p
            - name: p
          secret:
            - name: s
            - name: s
        user:
          - name: admin
            group: full
          - name: admin
            group: read
        ",
        expected: &[
            "t.yaml:5:15: error: duplicate interface list `WAN` (first declared at 4:15)",
            "t.yaml:6:15: error: duplicate interface list `all` (built in)",
            "t.yaml:10:13: error: duplicate ppp profile `p` (first declared at 9:13)",
            "t.yaml:13:13: error: duplicate ppp secret `s` (first declared at 12:13)",
            "t.yaml:17:11: error: duplicate user `admin` (first declared at 15:11)",
        ],
    },
    Case {
        name: "dst-port on gre",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: input
                protocol: gre
                dst-port: 1723
        ",
        expected: &[
            "t.yaml:6:19: error: dst-port needs protocol tcp, udp, udp-lite, sctp or dccp, not gre",
        ],
    },
    Case {
        name: "dst-port without protocol",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: input
                src-port: 53
        ",
        expected: &["t.yaml:5:19: error: src-port needs protocol tcp, udp, udp-lite, sctp or dccp"],
    },
    Case {
        name: "jump without target",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: input
                action: jump
        routing:
          filter:
            - chain: x
              action: jump
        ",
        expected: &[
            "t.yaml:5:17: error: action jump needs a jump-target",
            "t.yaml:9:15: error: action jump needs a jump-target",
        ],
    },
    Case {
        name: "action not allowed in the table",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: forward
                action: masquerade
        ",
        expected: &[
            "t.yaml:5:17: error: action masquerade is not allowed in ip/firewall/filter; expected one of accept, drop, reject, jump, return, passthrough, log, fasttrack-connection, add-src-to-address-list, add-dst-to-address-list",
        ],
    },
    Case {
        name: "negation written as a YAML tag",
        yaml: "
        interface:
          ethernet:
            - name: ether1
        ip:
          firewall:
            filter:
              - chain: input
                in-interface: !ether1
        ",
        expected: &[
            "t.yaml:8:23: error: `!ether1` is read as a YAML tag; write \"!ether1\" in quotes (a leading `!` negates a match)",
        ],
    },
    Case {
        name: "gateway that is a broken address",
        yaml: "
        ip:
          route:
            - gateway: 10.0.0.300
        ",
        expected: &[
            "t.yaml:3:16: error: invalid gateway `10.0.0.300`: expected an IPv4 address such as 192.168.0.1",
        ],
    },
    Case {
        name: "binding of an unknown account",
        yaml: "
        interface:
          ovpn-server:
            add:
              - name: friend1-1
                user: friend1
        ",
        expected: &["t.yaml:5:15: error: undefined ppp secret `friend1`"],
    },
    Case {
        name: "IPv6 address in an IPv4 rule",
        yaml: "
        ip:
          firewall:
            filter:
              - chain: input
                src-address: 2001:db8::/32
        ",
        expected: &["t.yaml:5:22: error: IPv6 address `2001:db8::/32` in ip/firewall/filter"],
    },
    Case {
        name: "unicast route without gateway",
        yaml: "
        ip:
          route:
            - dst-address: 10.0.0.0/8
            - dst-address: 10.1.0.0/16
              type: blackhole
              gateway: 192.0.2.1
        ",
        expected: &[
            "t.yaml:3:7: error: a unicast route needs a gateway",
            "t.yaml:4:7: error: a blackhole route has no gateway",
        ],
    },
    Case {
        name: "several errors in one file, all reported in order",
        yaml: "
        sytem:
          identity: x
        interface:
          ethernet:
            - name: ether1
              mtu: 10
          vlan:
            - name: v
              vlan-id: 0
              interface: ether9
        ip:
          route:
            - gateway: ether1
              distance: 256
              check-gateway: pong
        ",
        expected: &[
            "t.yaml:1:1: error: unknown key `sytem` at the top level; did you mean `system`?",
            "t.yaml:6:12: error: invalid mtu `10`: expected a number 68..65535",
            "t.yaml:9:16: error: invalid vlan-id `0`: expected a number 1..4094",
            "t.yaml:10:18: error: undefined interface `ether9`; did you mean `ether1`?",
            "t.yaml:14:17: error: invalid distance `256`: expected a number 1..255",
            "t.yaml:15:22: error: invalid check-gateway `pong`: expected one of none, arp, ping, bfd",
        ],
    },
];

#[test]
fn broken_configs_report_exact_diagnostics() {
    let mut failures = String::new();
    for case in CASES {
        let got = diagnostics(case.yaml);
        if got != case.expected {
            failures.push_str(&format!(
                "\n== {}\n{}\n-- expected:\n{}\n-- got:\n{}\n",
                case.name,
                dedent(case.yaml),
                case.expected.join("\n"),
                got.join("\n")
            ));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn there_are_at_least_thirty_cases() {
    assert!(CASES.len() >= 30);
    assert!(CASES.iter().all(|c| !c.expected.is_empty()));
}
