//! Data channel key material: OpenVPN's TLS 1.0 PRF expansion (which mixes in both
//! session ids) or the RFC 5705 exporter `EXPORTER-OpenVPN-datakeys` when both ends
//! announce it.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use super::CryptoError;
use crate::codec::SessionId;
use crate::codec::keymethod::KeySource;
use crate::codec::static_key::Key2;

/// The exporter label for the data channel keys.
pub const EKM_LABEL: &str = "EXPORTER-OpenVPN-datakeys";

/// The TLS 1.0 PRF (RFC 2246 section 5): P_MD5 over the first half of the secret XOR
/// P_SHA1 over the second half. `seed` already holds the label.
pub fn tls1_prf(secret: &[u8], seed: &[u8], out: &mut [u8]) -> Result<(), CryptoError> {
    let half = secret.len().div_ceil(2);
    let s1 = &secret[..half];
    let s2 = &secret[secret.len() - half..];
    let md5 = p_hash(MessageDigest::md5(), s1, seed, out.len())?;
    let sha = p_hash(MessageDigest::sha1(), s2, seed, out.len())?;
    for (i, o) in out.iter_mut().enumerate() {
        *o = md5[i] ^ sha[i];
    }
    Ok(())
}

fn p_hash(
    md: MessageDigest,
    secret: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Vec<u8>, CryptoError> {
    let key = PKey::hmac(secret)?;
    let mac = |parts: &[&[u8]]| -> Result<Vec<u8>, CryptoError> {
        let mut s = Signer::new(md, &key)?;
        for p in parts {
            s.update(p)?;
        }
        Ok(s.sign_to_vec()?)
    };
    let mut out = Vec::with_capacity(len + 64);
    let mut a = mac(&[seed])?;
    while out.len() < len {
        out.extend_from_slice(&mac(&[&a, seed])?);
        a = mac(&[&a])?;
    }
    out.truncate(len);
    Ok(out)
}

/// OpenVPN's PRF key expansion: the master secret from the client's pre-master secret
/// and both first randoms, then 256 bytes of key material from both second randoms and
/// both session ids.
pub fn expand_prf(
    client: &KeySource,
    server: &KeySource,
    client_sid: SessionId,
    server_sid: SessionId,
) -> Result<Key2, CryptoError> {
    let pre = client.pre_master.ok_or(CryptoError::Short)?;
    let mut seed = Vec::with_capacity(128);
    seed.extend_from_slice(b"OpenVPN master secret");
    seed.extend_from_slice(&client.random1);
    seed.extend_from_slice(&server.random1);
    let mut master = [0u8; 48];
    tls1_prf(&pre, &seed, &mut master)?;

    seed.clear();
    seed.extend_from_slice(b"OpenVPN key expansion");
    seed.extend_from_slice(&client.random2);
    seed.extend_from_slice(&server.random2);
    seed.extend_from_slice(&client_sid.0);
    seed.extend_from_slice(&server_sid.0);
    let mut keys = [0u8; 256];
    tls1_prf(&master, &seed, &mut keys)?;
    Ok(Key2::from_bytes(&keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The TLS 1.0 PRF test vector (secret 48 x 0xab, label "PRF Testvector", seed
    /// 64 x 0xcd, 104 bytes), as `openssl kdf ... -kdfopt digest:MD5-SHA1 TLS1-PRF`
    /// computes it.
    #[test]
    fn tls1_prf_vector() {
        let secret = [0xabu8; 48];
        let mut seed = b"PRF Testvector".to_vec();
        seed.extend_from_slice(&[0xcd; 64]);
        let mut out = [0u8; 104];
        tls1_prf(&secret, &seed, &mut out).unwrap();
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "d3d4d1e349b5d515044666d51de32bab258cb521b6b053463e354832fd976754443bcf9a296519bc289abcbc1187e4ebd31e602353776c408aafb74cbc85eff69255f9788faa184cbb957a9819d84a5d7eb006eb459d3ae8de9810454b8b2d8f1afbc655a8c9a013"
        );
    }

    #[test]
    fn both_session_ids_change_the_keys() {
        let c = KeySource::random(true);
        let s = KeySource::random(false);
        let a = expand_prf(&c, &s, SessionId([1; 8]), SessionId([2; 8])).unwrap();
        let b = expand_prf(&c, &s, SessionId([1; 8]), SessionId([3; 8])).unwrap();
        let again = expand_prf(&c, &s, SessionId([1; 8]), SessionId([2; 8])).unwrap();
        assert_ne!(a.to_bytes(), b.to_bytes());
        assert_eq!(a.to_bytes(), again.to_bytes());
        assert!(expand_prf(&s, &s, SessionId([1; 8]), SessionId([2; 8])).is_err());
    }
}
