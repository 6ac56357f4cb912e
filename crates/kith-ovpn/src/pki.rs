//! `kith pki`: a small certificate authority for the tunnels. A CA, the server
//! certificate, client certificates and a CRL in one directory (`/etc/kith/pki`), keys
//! mode 0600. The CRL is re-signed before it expires, and [`Pki::expiry_warnings`]
//! names every certificate or CRL that expires soon, so nobody is locked out silently.
//!
//! ```text
//! ca.crt ca.key crl.pem index.json  issued/<name>.crt  private/<name>.key
//! ```

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, CrlNumber, ExtendedKeyUsage, KeyUsage,
    SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509CrlBuilder, X509NameBuilder, X509RevokedBuilder};
use serde::{Deserialize, Serialize};

/// Default PKI directory.
pub const DEFAULT_DIR: &str = "/etc/kith/pki";
/// Days a CA is valid.
pub const CA_DAYS: u32 = 3650;
/// Days a server or client certificate is valid.
pub const CERT_DAYS: u32 = 825;
/// Days a CRL is valid; it is re-signed when less than a third remains.
pub const CRL_DAYS: u32 = 30;
/// Warn about anything that expires within this many days.
pub const WARN_DAYS: u32 = 30;

/// PKI failures.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {err}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        err: std::io::Error,
    },
    /// OpenSSL failed.
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    /// The request does not fit the PKI's state.
    #[error("{0}")]
    State(String),
}

type Result<T> = std::result::Result<T, PkiError>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    name: String,
    serial: String,
    kind: String,
    not_after: i64,
    revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Index {
    entries: Vec<Entry>,
    crl_number: u64,
    crl_next_update: i64,
}

/// A PKI directory.
#[derive(Debug, Clone)]
pub struct Pki {
    dir: PathBuf,
}

impl Pki {
    /// The PKI in `dir` (nothing is read yet).
    pub fn open(dir: impl Into<PathBuf>) -> Pki {
        Pki { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA certificate.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.crt")
    }

    /// The CRL.
    pub fn crl_path(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// The certificate of `name`.
    pub fn cert_path(&self, name: &str) -> PathBuf {
        self.dir.join("issued").join(format!("{name}.crt"))
    }

    /// The private key of `name`.
    pub fn key_path(&self, name: &str) -> PathBuf {
        self.dir.join("private").join(format!("{name}.key"))
    }

    /// A `tls-auth` / `tls-crypt` static key (`tls/<name>.key`).
    pub fn tls_key_path(&self, name: &str) -> PathBuf {
        self.dir.join("tls").join(format!("{name}.key"))
    }

    /// Makes the static key `name` for `tls-auth` / `tls-crypt` (openvpn's
    /// `--genkey secret` format, 0600); an existing key is kept (clients have it).
    pub fn make_tls_key(&self, name: &str) -> Result<PathBuf> {
        let path = self.tls_key_path(name);
        if path.exists() {
            return Err(PkiError::State(format!(
                "{} exists; remove it first to make a new key (every client then needs the new one)",
                path.display()
            )));
        }
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|err| PkiError::Io {
                    path: dir.to_path_buf(),
                    err,
                })?;
        }
        let key = crate::codec::static_key::Key2::random();
        write_private(&path, key.to_file().as_bytes())?;
        Ok(path)
    }

    /// True when `init` ran here.
    pub fn exists(&self) -> bool {
        self.ca_path().exists() && self.dir.join("ca.key").exists()
    }

    /// Creates the CA, the server certificate `server_name` and an empty CRL.
    pub fn init(&self, ca_name: &str, server_name: &str) -> Result<()> {
        if self.exists() {
            return Err(PkiError::State(format!(
                "{} already holds a CA; nothing changed",
                self.dir.display()
            )));
        }
        check_name(server_name)?;
        for sub in ["", "issued", "private"] {
            let d = self.dir.join(sub);
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&d)
                .map_err(|err| PkiError::Io {
                    path: d.clone(),
                    err,
                })?;
        }
        let key = new_key()?;
        let now = unix_now();
        let mut b = builder(
            ca_name,
            &random_serial()?,
            now - 60,
            days_after(now, CA_DAYS),
        )?;
        b.set_issuer_name(&*name(ca_name)?)?;
        b.set_pubkey(&key)?;
        b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
        let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
        b.append_extension(ski)?;
        b.sign(&key, MessageDigest::sha256())?;
        let ca = b.build();
        write_private(&self.dir.join("ca.key"), &key.private_key_to_pem_pkcs8()?)?;
        write_public(&self.ca_path(), &ca.to_pem()?)?;
        self.save_index(&Index::default())?;
        self.issue_kind(server_name, "server", now - 60, days_after(now, CERT_DAYS))?;
        self.renew_crl()?;
        Ok(())
    }

    /// Issues a client certificate for `name`, valid [`CERT_DAYS`] days.
    pub fn issue(&self, name: &str) -> Result<()> {
        let now = unix_now();
        self.issue_kind(name, "client", now - 60, days_after(now, CERT_DAYS))
    }

    /// Issues a client certificate with explicit validity (Unix seconds); tests use it
    /// for expired certificates.
    pub fn issue_between(&self, name: &str, not_before: i64, not_after: i64) -> Result<()> {
        self.issue_kind(name, "client", not_before, not_after)
    }

    fn issue_kind(&self, cn: &str, kind: &str, not_before: i64, not_after: i64) -> Result<()> {
        check_name(cn)?;
        let mut index = self.load_index()?;
        if index
            .entries
            .iter()
            .any(|e| e.name == cn && e.revoked_at.is_none())
        {
            return Err(PkiError::State(format!(
                "{cn} already has a certificate; revoke it first (kith pki revoke {cn})"
            )));
        }
        let (ca, ca_key) = self.load_ca()?;
        let key = new_key()?;
        let serial = random_serial()?;
        let mut b = builder(cn, &serial, not_before, not_after)?;
        b.set_issuer_name(ca.subject_name())?;
        b.set_pubkey(&key)?;
        b.append_extension(BasicConstraints::new().build()?)?;
        if kind == "server" {
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .build()?,
            )?;
            b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
        } else {
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
        }
        b.sign(&ca_key, MessageDigest::sha256())?;
        let cert = b.build();
        write_private(&self.key_path(cn), &key.private_key_to_pem_pkcs8()?)?;
        write_public(&self.cert_path(cn), &cert.to_pem()?)?;
        index.entries.push(Entry {
            name: cn.to_string(),
            serial: serial.to_hex_str()?.to_string(),
            kind: kind.to_string(),
            not_after,
            revoked_at: None,
        });
        self.save_index(&index)
    }

    /// Revokes the certificate of `name` and re-signs the CRL.
    pub fn revoke(&self, name: &str) -> Result<()> {
        let mut index = self.load_index()?;
        let now = unix_now();
        let mut found = false;
        for e in &mut index.entries {
            if e.name == name && e.revoked_at.is_none() {
                e.revoked_at = Some(now);
                found = true;
            }
        }
        if !found {
            return Err(PkiError::State(format!(
                "{name} has no valid certificate in {}",
                self.dir.display()
            )));
        }
        self.save_index(&index)?;
        self.renew_crl()
    }

    /// Re-signs the CRL (valid [`CRL_DAYS`] days) with every revoked certificate.
    pub fn renew_crl(&self) -> Result<()> {
        let mut index = self.load_index()?;
        let (ca, ca_key) = self.load_ca()?;
        let now = unix_now();
        let mut b = X509CrlBuilder::new()?;
        b.set_issuer_name(ca.subject_name())?;
        b.set_last_update(&*Asn1Time::from_unix(now - 60)?)?;
        let next = days_after(now, CRL_DAYS);
        b.set_next_update(&*Asn1Time::from_unix(next)?)?;
        for e in index.entries.iter().filter(|e| e.revoked_at.is_some()) {
            let mut r = X509RevokedBuilder::new()?;
            let serial = BigNum::from_hex_str(&e.serial)?;
            r.set_serial_number(&*Asn1Integer::from_bn(&serial)?)?;
            r.set_revocation_date(&*Asn1Time::from_unix(e.revoked_at.unwrap_or(now))?)?;
            b.add_revoked(r.build())?;
        }
        // the Authority Key Identifier, built from the CA as issuer
        let aki = {
            let tmp = X509Builder::new()?;
            AuthorityKeyIdentifier::new()
                .keyid(true)
                .build(&tmp.x509v3_context(Some(&ca), None))?
        };
        b.append_extension(aki)?;
        b.append_extension(
            CrlNumber::new(BigNum::from_u32((index.crl_number + 1) as u32)?)?.build()?,
        )?;
        b.sign(&ca_key, MessageDigest::sha256())?;
        let crl = b.build()?;
        write_public(&self.crl_path(), &crl.to_pem()?)?;
        index.crl_number += 1;
        index.crl_next_update = next;
        self.save_index(&index)
    }

    /// Re-signs the CRL when less than a third of its life remains; true when it did.
    pub fn maintain_crl(&self) -> Result<bool> {
        let index = self.load_index()?;
        let left = index.crl_next_update - unix_now();
        if left < i64::from(CRL_DAYS) * 86400 / 3 {
            self.renew_crl()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// The serial numbers the CRL revokes (hex, sorted); empty without a readable CRL.
    pub fn revoked_serials(&self) -> Vec<String> {
        let Ok(pem) = fs::read(self.crl_path()) else {
            return Vec::new();
        };
        let Ok(crl) = openssl::x509::X509Crl::from_pem(&pem) else {
            return Vec::new();
        };
        let mut out: Vec<String> = crl
            .get_revoked()
            .map(|list| {
                list.iter()
                    .filter_map(|r| r.serial_number().to_bn().ok())
                    .filter_map(|bn| bn.to_hex_str().ok().map(|h| h.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        out.sort();
        out
    }

    /// Lines naming what expires within [`WARN_DAYS`] days (certificates not revoked,
    /// the CA, the CRL).
    pub fn expiry_warnings(&self) -> Result<Vec<String>> {
        let index = self.load_index()?;
        let now = unix_now();
        let soon = i64::from(WARN_DAYS) * 86400;
        let mut out = Vec::new();
        for e in index.entries.iter().filter(|e| e.revoked_at.is_none()) {
            let left = e.not_after - now;
            if left < 0 {
                out.push(format!(
                    "the {} certificate of {} has expired",
                    e.kind, e.name
                ));
            } else if left < soon {
                out.push(format!(
                    "the {} certificate of {} expires in {} day(s); renew it (kith pki revoke {} && kith pki issue {})",
                    e.kind,
                    e.name,
                    left / 86400,
                    e.name,
                    e.name
                ));
            }
        }
        if index.crl_next_update - now < soon / 4 {
            out.push(
                "the CRL expires soon; kith vpnd re-signs it (kith pki crl does it now)".into(),
            );
        }
        Ok(out)
    }

    /// The names with a valid (not revoked) certificate, and their kind.
    pub fn list(&self) -> Result<Vec<(String, String, bool)>> {
        Ok(self
            .load_index()?
            .entries
            .into_iter()
            .map(|e| (e.name, e.kind, e.revoked_at.is_some()))
            .collect())
    }

    fn load_ca(&self) -> Result<(X509, PKey<Private>)> {
        let ca = X509::from_pem(&read(&self.ca_path())?)?;
        let key = PKey::private_key_from_pem(&read(&self.dir.join("ca.key"))?)?;
        Ok((ca, key))
    }

    fn load_index(&self) -> Result<Index> {
        let path = self.dir.join("index.json");
        let text = read(&path)?;
        serde_json::from_slice(&text)
            .map_err(|e| PkiError::State(format!("{}: {e}", path.display())))
    }

    fn save_index(&self, index: &Index) -> Result<()> {
        let text = serde_json::to_vec_pretty(index).map_err(|e| PkiError::State(e.to_string()))?;
        write_private(&self.dir.join("index.json"), &text)
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !name.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(PkiError::State(format!(
            "`{name}` is not a usable certificate name (letters, digits, - _ .)"
        )))
    }
}

fn new_key() -> Result<PKey<Private>> {
    Ok(PKey::from_rsa(Rsa::generate(2048)?)?)
}

fn random_serial() -> Result<BigNum> {
    let mut bn = BigNum::new()?;
    bn.rand(127, MsbOption::MAYBE_ZERO, false)?;
    Ok(bn)
}

fn name(cn: &str) -> Result<openssl::x509::X509Name> {
    let mut n = X509NameBuilder::new()?;
    n.append_entry_by_text("CN", cn)?;
    Ok(n.build())
}

fn builder(cn: &str, serial: &BigNum, not_before: i64, not_after: i64) -> Result<X509Builder> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    b.set_serial_number(&*Asn1Integer::from_bn(serial)?)?;
    b.set_subject_name(&*name(cn)?)?;
    b.set_not_before(&*Asn1Time::from_unix(not_before)?)?;
    b.set_not_after(&*Asn1Time::from_unix(not_after)?)?;
    Ok(b)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn days_after(t: i64, days: u32) -> i64 {
    t + i64::from(days) * 86400
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|err| PkiError::Io {
        path: path.to_path_buf(),
        err,
    })
}

/// Writes a secret file: created 0600 (never world-readable, not even briefly).
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    write_mode(path, data, 0o600)
}

fn write_public(path: &Path, data: &[u8]) -> Result<()> {
    write_mode(path, data, 0o644)
}

fn write_mode(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let io = |err| PkiError::Io {
        path: path.to_path_buf(),
        err,
    };
    let _ = fs::remove_file(&tmp);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(data).map_err(io)?;
    f.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn init_issue_revoke() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open(dir.path().join("pki"));
        pki.init("Kith CA test", "server").unwrap();
        assert!(pki.init("again", "server").is_err());
        pki.issue("friend1-1").unwrap();
        assert!(pki.issue("friend1-1").is_err());
        assert!(pki.issue("../evil").is_err());
        let mode = fs::metadata(pki.key_path("friend1-1"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = fs::metadata(pki.dir().join("ca.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let ca = X509::from_pem(&fs::read(pki.ca_path()).unwrap()).unwrap();
        let cert = X509::from_pem(&fs::read(pki.cert_path("friend1-1")).unwrap()).unwrap();
        assert!(cert.verify(&ca.public_key().unwrap()).unwrap());
        pki.revoke("friend1-1").unwrap();
        let crl = openssl::x509::X509Crl::from_pem(&fs::read(pki.crl_path()).unwrap()).unwrap();
        assert_eq!(crl.get_revoked().map_or(0, |r| r.len()), 1);
        assert!(pki.revoke("friend1-1").is_err());
        // a revoked name can be issued again
        pki.issue("friend1-1").unwrap();
        assert!(pki.expiry_warnings().unwrap().is_empty());
        assert!(!pki.maintain_crl().unwrap());
    }

    #[test]
    fn warns_about_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let pki = Pki::open(dir.path());
        pki.init("Kith CA test", "server").unwrap();
        let now = unix_now();
        pki.issue_between("old", now - 10 * 86400, now - 86400)
            .unwrap();
        pki.issue_between("soon", now - 86400, now + 5 * 86400)
            .unwrap();
        let w = pki.expiry_warnings().unwrap();
        assert!(w.iter().any(|l| l.contains("old has expired")), "{w:?}");
        assert!(w.iter().any(|l| l.contains("soon expires in")), "{w:?}");
    }
}
