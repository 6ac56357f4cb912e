//! What a reload changes: the old and the new config compared into a [`Plan`] (pure;
//! `io::runtime` carries it out). A tunnel the change does not concern is kept as it
//! is: the server is restarted only when its own settings changed, an account's tunnel
//! only when that account changed, a client only when its entry changed.

use std::collections::BTreeSet;

use kith_config::{Config, OvpnClient};

use crate::config::{account, secret};

/// What happens to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerChange {
    /// Nothing (running or not, it stays so).
    Keep,
    /// It was off and is enabled now.
    Start,
    /// It was on and is disabled now.
    Stop,
    /// Its own settings changed (the named ones): every server tunnel restarts.
    Restart(Vec<&'static str>),
}

/// What happens to one account (`ppp/secret`) on a running server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretChange {
    /// New: accepted from now on.
    Added,
    /// Gone: its tunnel is closed.
    Removed,
    /// Disabled (or no longer for `ovpn`): its tunnel is closed.
    Disabled,
    /// Changed (the named parts): its tunnel is closed, the peer logs in again.
    Changed(Vec<&'static str>),
}

/// What happens to one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientChange {
    /// New or enabled: started.
    Added,
    /// Gone or disabled: stopped.
    Removed,
    /// Its entry changed (the named parts): restarted.
    Changed(Vec<&'static str>),
}

/// Everything a reload does; empty when the change concerns no tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The server.
    pub server: ServerChange,
    /// Per account, sorted by name (only when the server keeps running).
    pub secrets: Vec<(String, SecretChange)>,
    /// Per client, sorted by name.
    pub clients: Vec<(String, ClientChange)>,
    /// `ip/dns` servers changed (clients use them from their next attempt on).
    pub dns: bool,
    /// Interface addresses changed (a UDP server listens on the new ones).
    pub addresses: bool,
    /// The CRL revokes other certificates than before, and the server keeps running:
    /// it takes the CRL in place and closes only the tunnels whose peers logged in with
    /// a certificate it now revokes.
    pub revocations: bool,
}

impl Plan {
    /// True when the reload changes nothing that vpnd runs.
    pub fn is_empty(&self) -> bool {
        self.server == ServerChange::Keep
            && self.secrets.is_empty()
            && self.clients.is_empty()
            && !self.dns
            && !self.addresses
            && !self.revocations
    }
}

/// Compares `old` with `new`; `revocations_changed` says the CRL revokes other
/// certificates than when the server started.
pub fn plan(old: &Config, new: &Config, revocations_changed: bool) -> Plan {
    let server = server_change(old, new);
    let revocations = revocations_changed
        && server == ServerChange::Keep
        && new.interface.ovpn_server.server.enabled;
    let secrets = if server == ServerChange::Keep && new.interface.ovpn_server.server.enabled {
        secret_changes(old, new)
    } else {
        Vec::new()
    };
    Plan {
        server,
        secrets,
        clients: client_changes(old, new),
        dns: old.ip.dns.servers != new.ip.dns.servers,
        addresses: addresses(old) != addresses(new),
        revocations,
    }
}

fn server_change(old: &Config, new: &Config) -> ServerChange {
    let (o, n) = (
        &old.interface.ovpn_server.server,
        &new.interface.ovpn_server.server,
    );
    match (o.enabled, n.enabled) {
        (false, false) => return ServerChange::Keep,
        (false, true) => return ServerChange::Start,
        (true, false) => return ServerChange::Stop,
        (true, true) => {}
    }
    let mut what = Vec::new();
    let mut differ = |name, changed: bool| {
        if changed {
            what.push(name);
        }
    };
    differ("port", o.port != n.port);
    differ("protocol", o.protocol != n.protocol);
    differ("mode", o.mode != n.mode);
    differ("netmask", o.netmask != n.netmask);
    differ("mac-address", o.mac_address != n.mac_address);
    differ("max-mtu", o.max_mtu != n.max_mtu);
    differ(
        "keepalive-timeout",
        o.keepalive_timeout != n.keepalive_timeout,
    );
    differ("default-profile", o.default_profile != n.default_profile);
    differ("certificate", o.certificate != n.certificate);
    differ(
        "require-client-certificate",
        o.require_client_certificate != n.require_client_certificate,
    );
    differ("auth", o.auth != n.auth);
    differ("cipher", o.cipher != n.cipher);
    differ("reneg-sec", o.reneg_sec != n.reneg_sec);
    differ("tls-auth", o.tls_auth != n.tls_auth);
    differ("tls-crypt", o.tls_crypt != n.tls_crypt);
    if what.is_empty() && o != n {
        what.push("settings");
    }
    if what.is_empty() {
        ServerChange::Keep
    } else {
        ServerChange::Restart(what)
    }
}

/// Every account name either config can log in with.
fn account_names(config: &Config) -> BTreeSet<String> {
    config
        .ppp
        .secret
        .iter()
        .map(|s| s.name.value.clone())
        .collect()
}

fn secret_changes(old: &Config, new: &Config) -> Vec<(String, SecretChange)> {
    let mut names = account_names(old);
    names.extend(account_names(new));
    let mut out = Vec::new();
    for name in names {
        let change = match (secret(old, &name), secret(new, &name)) {
            (None, None) => None,
            (None, Some(_)) => Some(SecretChange::Added),
            (Some(_), None) => {
                let still_listed = new.ppp.secret.iter().any(|s| s.name.value == name);
                Some(if still_listed {
                    SecretChange::Disabled
                } else {
                    SecretChange::Removed
                })
            }
            (Some(o), Some(n)) => {
                let (ao, an) = (account(old, o), account(new, n));
                let mut what = Vec::new();
                if o.password != n.password {
                    what.push("password");
                }
                if o.profile != n.profile {
                    what.push("profile");
                }
                match (&ao, &an) {
                    (Ok(a), Ok(b)) => {
                        if (a.local, a.remote) != (b.local, b.remote) {
                            what.push("addresses");
                        }
                        if a.routes != b.routes {
                            what.push("routes");
                        }
                        if a.interface != b.interface {
                            what.push("interface");
                        }
                        if a.only_one != b.only_one {
                            what.push("only-one");
                        }
                        if a.mtu != b.mtu {
                            what.push("mtu");
                        }
                    }
                    (a, b) if a != b => what.push("addresses"),
                    _ => {}
                }
                (!what.is_empty()).then_some(SecretChange::Changed(what))
            }
        };
        if let Some(c) = change {
            out.push((name, c));
        }
    }
    out
}

fn client_changes(old: &Config, new: &Config) -> Vec<(String, ClientChange)> {
    let enabled = |c: &Config| -> Vec<OvpnClient> {
        c.interface
            .ovpn_client
            .iter()
            .filter(|c| !c.disabled)
            .cloned()
            .collect()
    };
    let (old, new) = (enabled(old), enabled(new));
    let find = |list: &[OvpnClient], name: &str| -> Option<OvpnClient> {
        list.iter().find(|c| c.name.value == name).cloned()
    };
    let names: BTreeSet<String> = old
        .iter()
        .chain(new.iter())
        .map(|c| c.name.value.clone())
        .collect();
    let mut out = Vec::new();
    for name in names {
        let change = match (find(&old, &name), find(&new, &name)) {
            (None, None) => None,
            (None, Some(_)) => Some(ClientChange::Added),
            (Some(_), None) => Some(ClientChange::Removed),
            (Some(o), Some(n)) => {
                let what = client_differences(&o, &n);
                (!what.is_empty()).then_some(ClientChange::Changed(what))
            }
        };
        if let Some(c) = change {
            out.push((name, c));
        }
    }
    out
}

/// What differs between two entries of the same client (the comment does not count).
fn client_differences(o: &OvpnClient, n: &OvpnClient) -> Vec<&'static str> {
    let mut what = Vec::new();
    let mut differ = |name, changed: bool| {
        if changed {
            what.push(name);
        }
    };
    differ("connect-to", o.connect_to != n.connect_to);
    differ("port", o.port != n.port);
    differ("mode", o.mode != n.mode);
    differ("protocol", o.protocol != n.protocol);
    differ("user", o.user != n.user);
    differ("password", o.password != n.password);
    differ("profile", o.profile != n.profile);
    differ("certificate", o.certificate != n.certificate);
    differ(
        "verify-server-certificate",
        o.verify_server_certificate != n.verify_server_certificate,
    );
    differ("auth", o.auth != n.auth);
    differ("cipher", o.cipher != n.cipher);
    differ(
        "add-default-route",
        o.add_default_route != n.add_default_route,
    );
    differ("tls-auth", o.tls_auth != n.tls_auth);
    differ("tls-crypt", o.tls_crypt != n.tls_crypt);
    differ("max-mtu", o.max_mtu != n.max_mtu);
    let mut n_commented = n.clone();
    n_commented.comment = o.comment.clone();
    if what.is_empty() && *o != n_commented {
        what.push("settings");
    }
    what
}

/// The configured interface addresses, in a comparable form.
fn addresses(config: &Config) -> Vec<String> {
    let mut out: Vec<String> = config
        .ip
        .address
        .iter()
        .filter(|a| !a.disabled)
        .map(|a| a.address.to_string())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
#[path = "reload_tests.rs"]
mod tests;
