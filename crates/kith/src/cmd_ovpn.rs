//! `kith vpnd`, `kith pki ...` and `kith ovpn print|export`: the tunnel daemon, the
//! certificate authority, and the tunnels' status and profiles.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use kith_ovpn::pki::{self, Pki};

/// `kith pki ...`.
#[derive(Subcommand, Debug)]
pub enum PkiCommand {
    /// Create the CA, the server certificate and an empty CRL.
    Init {
        /// PKI directory.
        #[arg(long, env = "KITH_PKI_DIR", default_value = pki::DEFAULT_DIR)]
        dir: PathBuf,
        /// Name of the server certificate (`certificate:` of `interface/ovpn-server`).
        #[arg(long, default_value = "server")]
        server: String,
        /// Name of the CA.
        #[arg(long, default_value = "Kith CA")]
        ca_name: String,
    },
    /// Issue a client certificate.
    Issue {
        /// Certificate name (the account, e.g. friend1-1).
        name: String,
        /// PKI directory.
        #[arg(long, env = "KITH_PKI_DIR", default_value = pki::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Revoke a certificate and re-sign the CRL.
    Revoke {
        /// Certificate name.
        name: String,
        /// PKI directory.
        #[arg(long, env = "KITH_PKI_DIR", default_value = pki::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Re-sign the CRL now and print what expires soon.
    Crl {
        /// PKI directory.
        #[arg(long, env = "KITH_PKI_DIR", default_value = pki::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// Make a static key for `tls-auth` / `tls-crypt` (`tls/NAME.key`, 0600).
    TlsKey {
        /// Key name (`tls-auth: NAME` or `tls-crypt: NAME` in the config).
        name: String,
        /// PKI directory.
        #[arg(long, env = "KITH_PKI_DIR", default_value = pki::DEFAULT_DIR)]
        dir: PathBuf,
    },
    /// List the certificates.
    List {
        /// PKI directory.
        #[arg(long, env = "KITH_PKI_DIR", default_value = pki::DEFAULT_DIR)]
        dir: PathBuf,
    },
}

/// `kith ovpn ...`.
#[derive(Subcommand, Debug)]
pub enum OvpnCommand {
    /// Print the tunnels like `/interface ovpn-server print` (from the running vpnd).
    Print {
        /// Runtime state directory of the running `kith run` (its vpnd.sock).
        #[arg(long, default_value = crate::DEFAULT_RUN_DIR)]
        run_dir: PathBuf,
        /// Print the JSON of `GET /status` instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Write a .ovpn profile (inline certificates) for an account, and print the Kith
    /// client snippet for the same account.
    Export {
        /// The account (`ppp/secret` name).
        account: String,
        /// The name or address clients connect to.
        #[arg(long)]
        remote: String,
        /// The config file.
        #[arg(long, short, default_value = "/etc/kith/config.yaml")]
        config: PathBuf,
        /// PKI directory.
        #[arg(long, env = "KITH_PKI_DIR", default_value = pki::DEFAULT_DIR)]
        pki_dir: PathBuf,
        /// Output file (default ACCOUNT.ovpn), written mode 0600.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Runs `kith vpnd`.
pub fn vpnd(config: PathBuf, run_dir: Option<PathBuf>, pki_dir: PathBuf) -> Result<ExitCode> {
    // One thread, as openvpn: a tunnel's packets hop between tasks (socket, engine, tun)
    // without cross-thread wake-ups. `kith bench vpn` measured 1.35x openvpn's UDP +
    // AES-256-GCM throughput this way against 0.96x on tokio's multi-thread runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(kith_ovpn::daemon::run(kith_ovpn::daemon::Options {
            config,
            run_dir,
            pki_dir,
        }))
        .map_err(|e| anyhow!(e))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs a `kith pki` subcommand.
pub fn pki(command: PkiCommand) -> Result<ExitCode> {
    match command {
        PkiCommand::Init {
            dir,
            server,
            ca_name,
        } => {
            Pki::open(&dir).init(&ca_name, &server)?;
            println!(
                "CA, server certificate `{server}` and CRL created in {}",
                dir.display()
            );
        }
        PkiCommand::Issue { name, dir } => {
            let p = Pki::open(&dir);
            p.issue(&name)?;
            println!(
                "issued {} (key {})",
                p.cert_path(&name).display(),
                p.key_path(&name).display()
            );
        }
        PkiCommand::Revoke { name, dir } => {
            Pki::open(&dir).revoke(&name)?;
            println!("revoked {name}; CRL re-signed (a running vpnd applies it on `kith reload`)");
        }
        PkiCommand::Crl { dir } => {
            let p = Pki::open(&dir);
            p.renew_crl()?;
            println!("CRL re-signed");
            for w in p.expiry_warnings()? {
                println!("warning: {w}");
            }
        }
        PkiCommand::TlsKey { name, dir } => {
            let path = Pki::open(&dir).make_tls_key(&name)?;
            println!(
                "made {} (give it to every client with the same tls-auth / tls-crypt name)",
                path.display()
            );
        }
        PkiCommand::List { dir } => {
            for (name, kind, revoked) in Pki::open(&dir).list()? {
                println!(
                    "{name:<24} {kind:<7} {}",
                    if revoked { "revoked" } else { "valid" }
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs a `kith ovpn` subcommand.
pub fn ovpn(command: OvpnCommand) -> Result<ExitCode> {
    match command {
        OvpnCommand::Print { run_dir, json } => {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let status = runtime
                .block_on(kith_ovpn::io::status::fetch(&run_dir.join("vpnd.sock")))
                .map_err(|e| anyhow!(e))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else {
                print!("{}", kith_ovpn::io::status::print(&status));
            }
        }
        OvpnCommand::Export {
            account,
            remote,
            config,
            pki_dir,
            output,
        } => {
            let loaded = kith_config::load_file(&config)
                .map_err(|d| anyhow!("{}: {} error(s)", config.display(), d.len()))?;
            let (profile, snippet) =
                kith_ovpn::export::export(&loaded.config, &Pki::open(&pki_dir), &account, &remote)
                    .map_err(|e| anyhow!(e))?;
            let out = output.unwrap_or_else(|| PathBuf::from(format!("{account}.ovpn")));
            pki::write_private(&out, profile.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote {} (it holds a private key: keep it secret)\n",
                out.display()
            );
            print!("{snippet}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
