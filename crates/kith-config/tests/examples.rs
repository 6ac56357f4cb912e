//! The scenario's two routers load without errors or warnings, and export round-trips them.

use std::path::PathBuf;

use kith_config::{
    Config, Diagnostic, InterfaceKind, Loaded, export, export_hiding_secrets, load_file, load_str,
};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

fn render(diags: &[Diagnostic]) -> String {
    diags.iter().map(|d| format!("{d}\n")).collect()
}

fn load(name: &str) -> Loaded {
    match load_file(&example(name)) {
        Ok(loaded) => loaded,
        Err(diags) => panic!("{name} does not load:\n{}", render(&diags)),
    }
}

fn reload(text: &str) -> Config {
    match load_str(text, "export.yaml") {
        Ok(loaded) => loaded.config,
        Err(diags) => panic!("export does not load:\n{}\n{text}", render(&diags)),
    }
}

#[test]
fn home_loads_without_warnings() {
    let loaded = load("home.yaml");
    assert_eq!(render(&loaded.warnings), "");
    let config = &loaded.config;
    assert_eq!(config.system.identity, "home");
    assert_eq!(config.ip.route.len(), 4);
    assert_eq!(config.ip.firewall.filter.len(), 11);
    assert_eq!(config.routing.bgp.peer.len(), 2);
    assert_eq!(config.routing.bgp.instance[0].asn.get(), 64514);
    assert!(config.interface.ovpn_server.server.enabled);
}

#[test]
fn remi_loads_without_warnings() {
    let loaded = load("remi.yaml");
    assert_eq!(render(&loaded.warnings), "");
    assert_eq!(loaded.config.interface.ovpn_client.len(), 2);
}

#[test]
fn examples_export_and_load_back_equal() {
    for name in ["home.yaml", "remi.yaml"] {
        let config = load(name).config;
        let text = export(&config);
        assert_eq!(reload(&text), config, "{name}:\n{text}");
        // The canonical form is a fixed point.
        assert_eq!(export(&reload(&text)), text);
    }
}

#[test]
fn export_hides_secrets_on_request() {
    let config = load("home.yaml").config;
    let shown = export(&config);
    let hidden = export_hiding_secrets(&config);
    assert!(shown.contains("password: change-me-1"));
    assert!(!hidden.contains("change-me"));
    assert!(hidden.contains("password: \"***\""));
    // Hidden secrets still load (as the literal `***`).
    let reloaded = reload(&hidden);
    assert_eq!(
        reloaded.ppp.secret[0].password.as_ref().map(|s| s.expose()),
        Some("***")
    );
}

#[test]
fn declared_interfaces_of_home() {
    let config = load("home.yaml").config;
    let listed: Vec<(String, String)> = config
        .interfaces()
        .into_iter()
        .map(|i| {
            let kind = match i.kind {
                InterfaceKind::Ethernet { default_name, .. } => {
                    format!("ethernet {}", default_name.unwrap_or_default())
                }
                InterfaceKind::Vlan { parent, id } => format!("vlan {id} on {parent}"),
                InterfaceKind::Bonding { .. } => "bonding".to_owned(),
                InterfaceKind::Bridge => "bridge".to_owned(),
                InterfaceKind::OvpnServerBinding { user } => format!("ovpn-server {user}"),
                InterfaceKind::OvpnClient => "ovpn-client".to_owned(),
                InterfaceKind::PppSecret => "ppp".to_owned(),
            };
            (i.name, kind)
        })
        .collect();
    let expected = [
        ("ether1", "ethernet eth0"),
        ("sfp-wan-sfr", "ethernet eth1"),
        ("bridge-lan-port", "ethernet eth2"),
        ("vlan832-orange-internet", "vlan 832 on ether1"),
        ("bridge-lan", "bridge"),
        ("friend1-1", "ovpn-server friend1-1"),
        ("friend1-2", "ovpn-server friend1-2"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect();
    assert_eq!(listed, expected);
}

#[test]
fn unreadable_file_is_one_diagnostic() {
    let Err(diags) = load_file(&example("does-not-exist.yaml")) else {
        panic!("a missing file loaded");
    };
    assert_eq!(diags.len(), 1);
    assert_eq!((diags[0].line, diags[0].col), (0, 0));
    assert!(
        diags[0]
            .message
            .starts_with("cannot read the configuration: ")
    );
}

#[test]
fn empty_file_is_the_default_config() {
    let loaded = match load_str("", "empty.yaml") {
        Ok(l) => l,
        Err(d) => panic!("{}", render(&d)),
    };
    assert_eq!(loaded.config, Config::default());
    assert_eq!(export(&loaded.config), "");
}
