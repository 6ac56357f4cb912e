//! TLS inside the control channel: an OpenSSL session driven over memory buffers.
//! Ciphertext from `P_CONTROL_V1` payloads goes in with [`TlsSession::feed`], records to
//! send come out of [`TlsSession::take_outgoing`]; no socket is involved.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use openssl::pkey::PKey;
use openssl::ssl::{
    ErrorCode, Ssl, SslContext, SslContextBuilder, SslFiletype, SslMethod, SslStream,
    SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;

/// TLS failures, in the user's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    /// A certificate, key or CA file is unusable.
    #[error("{0}")]
    Setup(String),
    /// The handshake failed (the reason includes the certificate check that failed).
    #[error("TLS handshake failed: {0}")]
    Handshake(String),
}

/// Where this end's certificates live.
#[derive(Debug, Clone, Default)]
pub struct TlsFiles {
    /// The CA certificate(s) peers are checked against (PEM).
    pub ca: Option<PathBuf>,
    /// This end's certificate (PEM).
    pub cert: Option<PathBuf>,
    /// This end's private key (PEM).
    pub key: Option<PathBuf>,
    /// A CRL (PEM) checked for the peer's certificate.
    pub crl: Option<PathBuf>,
}

/// Builds the OpenSSL context of a server (client certificates required when
/// `require_peer_cert`) or a client (server certificate checked when
/// `require_peer_cert`).
pub fn context(
    files: &TlsFiles,
    server: bool,
    require_peer_cert: bool,
) -> Result<SslContext, TlsError> {
    let method = if server {
        SslMethod::tls_server()
    } else {
        SslMethod::tls_client()
    };
    let setup = |what: &str, p: &Path, e: openssl::error::ErrorStack| {
        TlsError::Setup(format!("{what} {}: {e}", p.display()))
    };
    let mut b = SslContextBuilder::new(method).map_err(|e| TlsError::Setup(e.to_string()))?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(|e| TlsError::Setup(e.to_string()))?;
    if let Some(cert) = &files.cert {
        b.set_certificate_chain_file(cert)
            .map_err(|e| setup("certificate", cert, e))?;
    }
    if let Some(key) = &files.key {
        let pem = std::fs::read(key)
            .map_err(|e| TlsError::Setup(format!("private key {}: {e}", key.display())))?;
        let pkey = PKey::private_key_from_pem(&pem).map_err(|e| setup("private key", key, e))?;
        b.set_private_key(&pkey)
            .map_err(|e| setup("private key", key, e))?;
        b.check_private_key()
            .map_err(|e| setup("private key does not match the certificate", key, e))?;
    }
    if server && (files.cert.is_none() || files.key.is_none()) {
        return Err(TlsError::Setup(
            "the server needs a certificate and its key (kith pki init)".into(),
        ));
    }
    if let Some(ca) = &files.ca {
        let mut store = X509StoreBuilder::new().map_err(|e| TlsError::Setup(e.to_string()))?;
        let pem =
            std::fs::read(ca).map_err(|e| TlsError::Setup(format!("CA {}: {e}", ca.display())))?;
        for cert in X509::stack_from_pem(&pem).map_err(|e| setup("CA", ca, e))? {
            store.add_cert(cert).map_err(|e| setup("CA", ca, e))?;
        }
        if let Some(crl) = &files.crl {
            let lookup = store
                .add_lookup(X509Lookup::file())
                .map_err(|e| setup("CRL", crl, e))?;
            lookup
                .load_crl_file(crl, SslFiletype::PEM)
                .map_err(|e| setup("CRL", crl, e))?;
            store
                .set_flags(X509VerifyFlags::CRL_CHECK)
                .map_err(|e| setup("CRL", crl, e))?;
        }
        b.set_verify_cert_store(store.build())
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        // Also the store used for chain building and as the client CA list.
        let mut trust = X509StoreBuilder::new().map_err(|e| TlsError::Setup(e.to_string()))?;
        for cert in X509::stack_from_pem(&pem).map_err(|e| setup("CA", ca, e))? {
            trust.add_cert(cert).map_err(|e| setup("CA", ca, e))?;
        }
        b.set_cert_store(trust.build());
    }
    if require_peer_cert {
        if files.ca.is_none() {
            return Err(TlsError::Setup(
                "checking the peer's certificate needs a CA".into(),
            ));
        }
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    } else {
        b.set_verify(SslVerifyMode::NONE);
    }
    Ok(b.build())
}

/// The in-memory transport under the TLS session.
#[derive(Debug, Default)]
struct Pipe {
    incoming: VecDeque<u8>,
    outgoing: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.incoming.len());
        for (dst, src) in buf.iter_mut().zip(self.incoming.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One TLS session (one key id of the control channel).
pub struct TlsSession {
    stream: SslStream<Pipe>,
    established: bool,
    failed: bool,
    plaintext_out: VecDeque<Vec<u8>>,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsSession(established: {})", self.established)
    }
}

impl TlsSession {
    /// A session in the server (accept) or client (connect) role.
    pub fn new(ctx: &SslContext, server: bool) -> Result<TlsSession, TlsError> {
        let mut ssl = Ssl::new(ctx).map_err(|e| TlsError::Setup(e.to_string()))?;
        if server {
            ssl.set_accept_state();
        } else {
            ssl.set_connect_state();
        }
        let stream =
            SslStream::new(ssl, Pipe::default()).map_err(|e| TlsError::Setup(e.to_string()))?;
        Ok(TlsSession {
            stream,
            established: false,
            failed: false,
            plaintext_out: VecDeque::new(),
        })
    }

    /// Adds ciphertext received from the peer.
    pub fn feed(&mut self, ciphertext: &[u8]) {
        self.stream.get_mut().incoming.extend(ciphertext);
    }

    /// Queues a plaintext message; it is written once the handshake is done, in a
    /// record of its own (the peer reads the key-method message as one record).
    pub fn write(&mut self, plaintext: &[u8]) {
        if !plaintext.is_empty() {
            self.plaintext_out.push_back(plaintext.to_vec());
        }
    }

    /// Drives the handshake and reads what plaintext arrived; each element is what one
    /// TLS record carried.
    pub fn process(&mut self) -> Result<Vec<Vec<u8>>, TlsError> {
        if self.failed {
            return Err(TlsError::Handshake("session already failed".into()));
        }
        if !self.established {
            match self.stream.do_handshake() {
                Ok(()) => self.established = true,
                Err(e) if is_would_block(&e) => return Ok(Vec::new()),
                Err(e) => {
                    self.failed = true;
                    return Err(TlsError::Handshake(self.describe(&e)));
                }
            }
        }
        while let Some(msg) = self.plaintext_out.pop_front() {
            match self.stream.ssl_write(&msg) {
                Ok(n) if n < msg.len() => self.plaintext_out.push_front(msg[n..].to_vec()),
                Ok(_) => {}
                Err(e) if is_would_block(&e) => {
                    self.plaintext_out.push_front(msg);
                    break;
                }
                Err(e) => {
                    self.failed = true;
                    return Err(TlsError::Handshake(e.to_string()));
                }
            }
        }
        let mut records = Vec::new();
        let mut buf = vec![0u8; 16 * 1024 + 256];
        for _ in 0..64 {
            match self.stream.ssl_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => records.push(buf[..n].to_vec()),
                Err(e) if is_would_block(&e) => break,
                Err(e) if e.code() == ErrorCode::ZERO_RETURN => break,
                Err(e) => {
                    self.failed = true;
                    return Err(TlsError::Handshake(e.to_string()));
                }
            }
        }
        Ok(records)
    }

    fn describe(&self, e: &openssl::ssl::Error) -> String {
        let v = self.stream.ssl().verify_result();
        if v != openssl::x509::X509VerifyResult::OK {
            return format!("certificate check failed: {}", v.error_string());
        }
        match e.ssl_error() {
            Some(stack) => stack
                .errors()
                .iter()
                .map(|x| x.reason().unwrap_or("unknown").to_string())
                .collect::<Vec<_>>()
                .join("; "),
            None => e.to_string(),
        }
    }

    /// Ciphertext to send to the peer.
    pub fn take_outgoing(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.stream.get_mut().outgoing)
    }

    /// True once the handshake is complete.
    pub fn is_established(&self) -> bool {
        self.established
    }

    /// The common name of the peer's certificate.
    pub fn peer_common_name(&self) -> Option<String> {
        let cert = self.stream.ssl().peer_certificate()?;
        let entry = cert
            .subject_name()
            .entries_by_nid(openssl::nid::Nid::COMMONNAME)
            .next()?;
        entry.data().to_string().ok()
    }

    /// The serial number of the peer's certificate (upper-case hex, as the CRL lists
    /// revoked ones).
    pub fn peer_serial(&self) -> Option<String> {
        let cert = self.stream.ssl().peer_certificate()?;
        let serial = cert.serial_number().to_bn().ok()?;
        Some(serial.to_hex_str().ok()?.to_string())
    }

    /// RFC 5705 keying material.
    pub fn export(&self, label: &str, out: &mut [u8]) -> Result<(), TlsError> {
        self.stream
            .ssl()
            .export_keying_material(out, label, None)
            .map_err(|e| TlsError::Handshake(format!("keying material export: {e}")))
    }

    /// The negotiated TLS version and cipher, for logs.
    pub fn describe_connection(&self) -> String {
        let ssl = self.stream.ssl();
        format!(
            "{}, {}",
            ssl.version_str(),
            ssl.current_cipher().map_or("?", |c| c.name())
        )
    }
}

fn is_would_block(e: &openssl::ssl::Error) -> bool {
    matches!(e.code(), ErrorCode::WANT_READ | ErrorCode::WANT_WRITE)
}
