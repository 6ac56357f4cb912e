//! Key derivation and the data channel: cipher suites, the TLS1 PRF / RFC 5705 exporter
//! key expansion, and per-key packet encryption with replay protection.

pub mod data;
pub mod prf;
pub mod suite;

pub use data::DataKey;
pub use suite::{CipherKind, Suite};

/// Why a data packet was dropped or keys could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Too short for its cipher's framing.
    #[error("data packet too short")]
    Short,
    /// The HMAC or AEAD tag did not match.
    #[error("data packet authentication failed")]
    Auth,
    /// The packet id was seen before or is too old.
    #[error("replayed data packet")]
    Replay,
    /// The send packet id would wrap: the key must be renegotiated.
    #[error("packet id exhausted")]
    Exhausted,
    /// OpenSSL failed (a bug or an unusable library, not network input).
    #[error("openssl: {0}")]
    Openssl(String),
}

impl From<openssl::error::ErrorStack> for CryptoError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        CryptoError::Openssl(e.to_string())
    }
}
