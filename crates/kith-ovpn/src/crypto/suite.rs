//! Data channel cipher suites and their OpenVPN names (`AES-128-CBC`, `AES-256-GCM`,
//! `CHACHA20-POLY1305`), with HMAC digests for the CBC ciphers.

use std::fmt;

use kith_config::{OvpnAuth, OvpnCipher};

use crate::codec::wrap::AuthDigest;

/// A data channel cipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CipherKind {
    /// AES-128-CBC with an HMAC.
    Aes128Cbc,
    /// AES-256-CBC with an HMAC.
    Aes256Cbc,
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    Chacha20Poly1305,
}

impl CipherKind {
    /// Every supported cipher.
    pub const ALL: [CipherKind; 5] = [
        CipherKind::Aes256Gcm,
        CipherKind::Aes128Gcm,
        CipherKind::Chacha20Poly1305,
        CipherKind::Aes256Cbc,
        CipherKind::Aes128Cbc,
    ];

    /// OpenVPN's name.
    pub fn name(self) -> &'static str {
        match self {
            CipherKind::Aes128Cbc => "AES-128-CBC",
            CipherKind::Aes256Cbc => "AES-256-CBC",
            CipherKind::Aes128Gcm => "AES-128-GCM",
            CipherKind::Aes256Gcm => "AES-256-GCM",
            CipherKind::Chacha20Poly1305 => "CHACHA20-POLY1305",
        }
    }

    /// The cipher of an OpenVPN name (case-insensitive).
    pub fn from_name(name: &str) -> Option<CipherKind> {
        CipherKind::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The cipher of a config value; `None` for ciphers Kith refuses (Blowfish,
    /// AES-192, null).
    pub fn from_config(c: OvpnCipher) -> Option<CipherKind> {
        match c {
            OvpnCipher::Aes128 => Some(CipherKind::Aes128Cbc),
            OvpnCipher::Aes256 => Some(CipherKind::Aes256Cbc),
            OvpnCipher::Aes128Gcm => Some(CipherKind::Aes128Gcm),
            OvpnCipher::Aes256Gcm => Some(CipherKind::Aes256Gcm),
            OvpnCipher::Chacha20Poly1305 => Some(CipherKind::Chacha20Poly1305),
            OvpnCipher::Blowfish128 | OvpnCipher::Aes192 | OvpnCipher::Null => None,
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            CipherKind::Aes128Cbc | CipherKind::Aes128Gcm => 16,
            _ => 32,
        }
    }

    /// True for the AEAD ciphers (no HMAC).
    pub fn is_aead(self) -> bool {
        !matches!(self, CipherKind::Aes128Cbc | CipherKind::Aes256Cbc)
    }

    pub(crate) fn openssl(self) -> &'static openssl::cipher::CipherRef {
        use openssl::cipher::Cipher;
        match self {
            CipherKind::Aes128Cbc => Cipher::aes_128_cbc(),
            CipherKind::Aes256Cbc => Cipher::aes_256_cbc(),
            CipherKind::Aes128Gcm => Cipher::aes_128_gcm(),
            CipherKind::Aes256Gcm => Cipher::aes_256_gcm(),
            CipherKind::Chacha20Poly1305 => Cipher::chacha20_poly1305(),
        }
    }
}

impl fmt::Display for CipherKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The HMAC digest of a config value; `None` for MD5 and null, which Kith refuses.
pub fn digest_from_config(a: OvpnAuth) -> Option<AuthDigest> {
    match a {
        OvpnAuth::Sha1 => Some(AuthDigest::Sha1),
        OvpnAuth::Sha256 => Some(AuthDigest::Sha256),
        OvpnAuth::Sha512 => Some(AuthDigest::Sha512),
        OvpnAuth::Md5 | OvpnAuth::Null => None,
    }
}

/// OpenVPN's name of a digest.
pub fn digest_name(d: AuthDigest) -> &'static str {
    match d {
        AuthDigest::Sha1 => "SHA1",
        AuthDigest::Sha256 => "SHA256",
        AuthDigest::Sha512 => "SHA512",
    }
}

/// A negotiated data channel suite: cipher and, for CBC, the HMAC digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    /// The cipher.
    pub cipher: CipherKind,
    /// The HMAC digest (used by the CBC ciphers only).
    pub auth: AuthDigest,
}

impl fmt::Display for Suite {
    /// RouterOS's `encoding` column: `AES-128-CBC/SHA1`, `AES-256-GCM`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cipher.is_aead() {
            f.write_str(self.cipher.name())
        } else {
            write!(f, "{}/{}", self.cipher.name(), digest_name(self.auth))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in CipherKind::ALL {
            assert_eq!(CipherKind::from_name(c.name()), Some(c));
        }
        assert_eq!(
            CipherKind::from_name("aes-256-gcm"),
            Some(CipherKind::Aes256Gcm)
        );
        assert_eq!(CipherKind::from_name("BF-CBC"), None);
        let s = Suite {
            cipher: CipherKind::Aes128Cbc,
            auth: AuthDigest::Sha1,
        };
        assert_eq!(s.to_string(), "AES-128-CBC/SHA1");
    }
}
