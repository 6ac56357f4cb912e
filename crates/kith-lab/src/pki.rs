//! Certificates for a lab's tunnels: when a router config names certificates
//! (`interface/ovpn-server/server certificate`, `interface/ovpn-client certificate`),
//! [`Lab::build`](crate::Lab::build) makes them with `kith pki` (the kith binary it
//! runs in the routers, as a process: this crate stays free of OpenSSL) in
//! `<workdir>/pki`, and the routers get `KITH_PKI_DIR` pointing there. One PKI serves
//! every router of the lab (each finds its own certificate by name in it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::process;
use crate::topology::Topology;

/// How long one `kith pki` call may take (RSA key generation).
const PKI_TIMEOUT: Duration = Duration::from_secs(60);

/// The certificate names a router config uses: (server certificate, client certificates).
pub fn certificates(config: &str) -> (Option<String>, Vec<String>) {
    let Ok(v) = serde_saphyr::from_str::<serde_json::Value>(config) else {
        return (None, Vec::new());
    };
    let iface = &v["interface"];
    let server = iface["ovpn-server"]["server"]["certificate"]
        .as_str()
        .map(str::to_owned);
    let clients = iface["ovpn-client"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|c| c["certificate"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (server, clients)
}

/// Makes the PKI of `topology`'s routers in `<workdir>/pki` with `kith_bin pki`; `None`
/// when no router config names a certificate.
pub fn make(workdir: &Path, topology: &Topology, kith_bin: &Path) -> Result<Option<PathBuf>> {
    let mut servers: Vec<String> = Vec::new();
    let mut clients: Vec<String> = Vec::new();
    for node in &topology.nodes {
        let Some(config) = &node.config else { continue };
        let (server, client) = certificates(&config.text);
        servers.extend(server);
        clients.extend(client);
    }
    if servers.is_empty() && clients.is_empty() {
        return Ok(None);
    }
    let dir = workdir.join("pki");
    let dir_s = dir.display().to_string();
    let bin = kith_bin.display().to_string();
    let server = servers.first().cloned().unwrap_or_else(|| "server".into());
    let run = |args: &[&str]| -> Result<()> {
        let mut argv = vec![bin.clone(), "pki".to_owned()];
        argv.extend(args.iter().map(|a| (*a).to_owned()));
        process::run_ok(&argv, PKI_TIMEOUT)
            .map(drop)
            .map_err(|e| Error::State(format!("making the lab's certificates: {e}")))
    };
    run(&[
        "init",
        "--dir",
        &dir_s,
        "--server",
        &server,
        "--ca-name",
        "Kith lab CA",
    ])?;
    let mut done = vec![server];
    for name in servers.into_iter().chain(clients) {
        if !done.contains(&name) {
            run(&["issue", &name, "--dir", &dir_s])?;
            done.push(name);
        }
    }
    Ok(Some(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_server_and_client_certificates() {
        let (s, c) = certificates(
            "interface:\n  ovpn-server:\n    server:\n      enabled: yes\n      certificate: server_cert\n  ovpn-client:\n    - name: a\n      certificate: friend1-1\n    - name: b\n",
        );
        assert_eq!(s.as_deref(), Some("server_cert"));
        assert_eq!(c, ["friend1-1"]);
        assert_eq!(certificates("system:\n  identity: r\n"), (None, vec![]));
        assert_eq!(certificates(": not yaml ["), (None, vec![]));
    }
}
