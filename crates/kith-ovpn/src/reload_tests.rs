use super::*;

const BASE: &str = "interface:
  ethernet:
    - name: ether1
      default-name: eth0
  ovpn-server:
    server:
      enabled: yes
      port: 1194
      protocol: tcp
      certificate: server
      cipher: aes128,aes256
      auth: sha1
    add:
      - name: friend1-1
        user: friend1-1
  ovpn-client:
    - name: home-isp1
      connect-to: vpn.example.com
      user: remi
      password: pw
      cipher: aes128
ip:
  dns:
    servers: [192.0.2.1]
ppp:
  profile:
    - name: VPN-interco
      only-one: yes
      local-address: 172.16.20.1
  secret:
    - name: friend1-1
      service: ovpn
      password: change-me-1
      profile: VPN-interco
      local-address: 172.16.10.1
      remote-address: 172.16.10.2
    - name: friend1-2
      service: ovpn
      password: change-me-2
      profile: VPN-interco
      remote-address: 172.16.11.2
";

fn config(yaml: &str) -> Config {
    kith_config::load_str(yaml, "test.yaml")
        .unwrap_or_else(|d| panic!("{d:?}"))
        .config
}

/// The plan from BASE to BASE with `from` replaced by `to` (which must occur).
fn edit(from: &str, to: &str) -> Plan {
    assert!(BASE.contains(from), "{from}");
    plan(&config(BASE), &config(&BASE.replacen(from, to, 1)), false)
}

fn changed(name: &str, what: &[&'static str]) -> Vec<(String, SecretChange)> {
    vec![(name.to_string(), SecretChange::Changed(what.to_vec()))]
}

#[test]
fn an_unchanged_config_changes_nothing() {
    let p = plan(&config(BASE), &config(BASE), false);
    assert!(p.is_empty(), "{p:?}");
    // comments and where things are written do not count
    let p = edit(
        "      cipher: aes128\n",
        "      cipher: aes128\n      comment: remi's home\n",
    );
    assert!(p.is_empty(), "{p:?}");
}

#[test]
fn a_new_secret_is_only_added() {
    let p = edit(
        "  secret:\n",
        "  secret:\n    - name: friend2\n      service: ovpn\n      password: x\n      local-address: 172.16.12.1\n      remote-address: 172.16.12.2\n",
    );
    assert_eq!(p.server, ServerChange::Keep);
    assert_eq!(
        p.secrets,
        vec![("friend2".to_string(), SecretChange::Added)]
    );
    assert!(p.clients.is_empty() && !p.dns && !p.addresses, "{p:?}");
}

#[test]
fn removed_and_disabled_secrets() {
    let p = edit(
        "    - name: friend1-2\n      service: ovpn\n      password: change-me-2\n      profile: VPN-interco\n      remote-address: 172.16.11.2\n",
        "",
    );
    assert_eq!(
        p.secrets,
        vec![("friend1-2".to_string(), SecretChange::Removed)]
    );
    let p = edit(
        "      password: change-me-2\n",
        "      password: change-me-2\n      disabled: yes\n",
    );
    assert_eq!(
        p.secrets,
        vec![("friend1-2".to_string(), SecretChange::Disabled)]
    );
    // no longer an OpenVPN account
    let p = edit(
        "service: ovpn\n      password: change-me-2",
        "service: pptp\n      password: change-me-2",
    );
    assert_eq!(
        p.secrets,
        vec![("friend1-2".to_string(), SecretChange::Disabled)]
    );
    assert_eq!(p.server, ServerChange::Keep);
}

#[test]
fn changed_secrets_name_what_changed() {
    assert_eq!(
        edit("change-me-1", "new-password").secrets,
        changed("friend1-1", &["password"])
    );
    assert_eq!(
        edit("remote-address: 172.16.10.2", "remote-address: 172.16.10.3").secrets,
        changed("friend1-1", &["addresses"])
    );
    assert_eq!(
        edit(
            "      remote-address: 172.16.10.2\n",
            "      remote-address: 172.16.10.2\n      routes: 192.168.42.0/24\n"
        )
        .secrets,
        changed("friend1-1", &["routes"])
    );
    // the binding names the interface
    assert_eq!(
        edit(
            "      - name: friend1-1\n        user",
            "      - name: friend-one\n        user"
        )
        .secrets,
        changed("friend1-1", &["interface"])
    );
    // friend1-2 takes its local address from the profile; friend1-1 has its own
    assert_eq!(
        edit("local-address: 172.16.20.1", "local-address: 172.16.20.9").secrets,
        changed("friend1-2", &["addresses"])
    );
    // another profile: only friend1-2's tunnel, which loses its local address
    let p = edit(
        "password: change-me-2\n      profile: VPN-interco",
        "password: change-me-2\n      profile: default",
    );
    assert_eq!(p.secrets, changed("friend1-2", &["profile", "addresses"]));
    assert_eq!(p.server, ServerChange::Keep);
}

#[test]
fn server_settings_restart_the_server_only() {
    let p = edit("port: 1194", "port: 1195");
    assert_eq!(p.server, ServerChange::Restart(vec!["port"]));
    assert!(p.secrets.is_empty() && p.clients.is_empty(), "{p:?}");
    let p = edit("cipher: aes128,aes256", "cipher: aes256");
    assert_eq!(p.server, ServerChange::Restart(vec!["cipher"]));
    let p = edit(
        "protocol: tcp\n      certificate",
        "protocol: udp\n      certificate",
    );
    assert_eq!(p.server, ServerChange::Restart(vec!["protocol"]));
    // a new secret along with a server change: the restart covers it
    let p = edit("port: 1194", "port: 1195");
    assert!(p.secrets.is_empty());
    // New revocations: the server keeps running and closes only the revoked peers.
    let p = plan(&config(BASE), &config(BASE), true);
    assert_eq!(p.server, ServerChange::Keep);
    assert!(p.revocations && !p.is_empty());
    // ... which a restart covers anyway.
    let p = plan(
        &config(BASE),
        &config(&BASE.replacen("port: 1194", "port: 1195", 1)),
        true,
    );
    assert!(matches!(p.server, ServerChange::Restart(_)) && !p.revocations);
    let p = edit("enabled: yes", "enabled: no");
    assert_eq!(p.server, ServerChange::Stop);
    let p = plan(
        &config(&BASE.replacen("enabled: yes", "enabled: no", 1)),
        &config(BASE),
        false,
    );
    assert_eq!(p.server, ServerChange::Start);
    assert!(p.secrets.is_empty());
}

#[test]
fn clients_added_removed_changed() {
    let p = edit(
        "connect-to: vpn.example.com",
        "connect-to: vpn2.example.com",
    );
    assert_eq!(
        p.clients,
        vec![(
            "home-isp1".to_string(),
            ClientChange::Changed(vec!["connect-to"])
        )]
    );
    assert_eq!(p.server, ServerChange::Keep);
    assert!(p.secrets.is_empty());
    let p = edit(
        "      cipher: aes128\n",
        "      cipher: aes128\n      disabled: yes\n",
    );
    assert_eq!(
        p.clients,
        vec![("home-isp1".to_string(), ClientChange::Removed)]
    );
    let p = edit(
        "  ovpn-client:\n",
        "  ovpn-client:\n    - name: home-isp2\n      connect-to: 198.51.100.10\n      user: remi\n",
    );
    assert_eq!(
        p.clients,
        vec![("home-isp2".to_string(), ClientChange::Added)]
    );
}

#[test]
fn dns_and_addresses() {
    let p = edit("servers: [192.0.2.1]", "servers: [192.0.2.53]");
    assert!(p.dns && p.clients.is_empty() && !p.is_empty(), "{p:?}");
    let p = edit(
        "ip:\n",
        "ip:\n  address:\n    - address: 192.0.2.20/24\n      interface: ether1\n",
    );
    assert!(p.addresses && p.server == ServerChange::Keep, "{p:?}");
}

/// A tunnel that logged in before a reload and comes up after it: its account must
/// still be what the accounts say, or it is not brought up.
#[test]
fn an_account_changed_or_removed_during_a_handshake_is_no_longer_current() {
    use crate::config::ConfigAccounts;
    use crate::session::{Authenticator, LoginRequest};

    let accounts = ConfigAccounts::new(&config(BASE));
    let login = |accounts: &ConfigAccounts| {
        accounts.login(&LoginRequest {
            username: "friend1-1",
            password: "change-me-1",
            common_name: None,
            peer: "192.0.2.9:1194",
        })
    };
    let granted = login(&accounts).unwrap();
    assert!(accounts.still_current(&granted));
    // Reloaded with the same secret: still current.
    accounts.replace(&config(BASE));
    assert!(accounts.still_current(&granted));
    // Its remote address changed: not current (the peer logs in again for the new one).
    accounts.replace(&config(&BASE.replacen(
        "remote-address: 172.16.10.2",
        "remote-address: 172.16.10.3",
        1,
    )));
    assert!(!accounts.still_current(&granted));
    assert!(accounts.still_current(&login(&accounts).unwrap()));
    // Disabled: not current, and no login.
    accounts.replace(&config(&BASE.replacen(
        "    - name: friend1-1\n      service: ovpn",
        "    - name: friend1-1\n      disabled: yes\n      service: ovpn",
        1,
    )));
    assert!(!accounts.still_current(&granted));
    assert!(login(&accounts).is_err());
}
