//! Data channel encryption for one key id, in openvpn 2.6's packet layouts:
//!
//! ```text
//! AEAD: header | packet id (4) | tag (16) | ciphertext        IV = packet id | implicit IV (8)
//!                                                 AD = V2 header (4) | packet id
//! CBC:  header | HMAC | IV (16) | CBC(packet id (4) | payload)  HMAC over IV | ciphertext
//! ```
//! The header is 1 byte (`P_DATA_V1`) or 4 (`P_DATA_V2` with peer id). Keys come from
//! the 256 bytes of key material: the client sends with slot 0, the server with slot 1;
//! the cipher key is the start of a slot's cipher half, the HMAC key (CBC) or the
//! implicit IV (AEAD) the start of its HMAC half.

use openssl::cipher_ctx::CipherCtx;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;

use super::{CryptoError, Suite};
use crate::codec::static_key::{Key2, KeyDirection, KeySlot};
use crate::codec::wrap::AuthDigest;
use crate::fsm::replay::ReplayWindow;

const TAG_LEN: usize = 16;
const CBC_IV_LEN: usize = 16;

struct Direction {
    ctx: CipherCtx,
    hmac: Option<PKey<Private>>,
    implicit_iv: [u8; 8],
}

/// The data channel state of one key: both directions' ciphers, the send packet id and
/// the receive replay window.
pub struct DataKey {
    suite: Suite,
    enc: Direction,
    dec: Direction,
    send_pid: u32,
    replay: ReplayWindow,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({}, sent {})", self.suite, self.send_pid)
    }
}

impl DataKey {
    /// Keys for `suite` from `material`; `server` picks the direction.
    pub fn new(suite: Suite, material: &Key2, server: bool) -> Result<DataKey, CryptoError> {
        let dir = if server {
            KeyDirection::Inverse
        } else {
            KeyDirection::Normal
        };
        let (send, recv) = material.directed(dir);
        Ok(DataKey {
            suite,
            enc: Direction::new(suite, send, true)?,
            dec: Direction::new(suite, recv, false)?,
            send_pid: 1,
            replay: ReplayWindow::new(),
        })
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Packets sent with this key.
    pub fn packets_sent(&self) -> u32 {
        self.send_pid - 1
    }

    /// Encrypts `payload` behind `header` (already emitted into `out`'s start).
    pub fn encrypt(&mut self, header: &[u8], payload: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if self.send_pid == u32::MAX {
            return Err(CryptoError::Exhausted);
        }
        let pid = self.send_pid;
        self.send_pid += 1;
        let pid_bytes = pid.to_be_bytes();
        let mut out = Vec::with_capacity(header.len() + payload.len() + 64);
        out.extend_from_slice(header);
        if self.suite.cipher.is_aead() {
            let mut iv = [0u8; 12];
            iv[..4].copy_from_slice(&pid_bytes);
            iv[4..].copy_from_slice(&self.enc.implicit_iv);
            let ctx = &mut self.enc.ctx;
            ctx.encrypt_init(None, None, Some(&iv))?;
            out.extend_from_slice(&pid_bytes);
            ctx.cipher_update(aad_header(header), None)?;
            ctx.cipher_update(&pid_bytes, None)?;
            let tag_at = out.len();
            out.extend_from_slice(&[0u8; TAG_LEN]);
            ctx.cipher_update_vec(payload, &mut out)?;
            ctx.cipher_final_vec(&mut out)?;
            ctx.tag(&mut out[tag_at..tag_at + TAG_LEN])?;
        } else {
            let mut iv = [0u8; CBC_IV_LEN];
            openssl::rand::rand_bytes(&mut iv)?;
            let mac_len = self.suite.auth.len();
            let mac_at = out.len();
            out.resize(mac_at + mac_len, 0);
            out.extend_from_slice(&iv);
            let ctx = &mut self.enc.ctx;
            ctx.encrypt_init(None, None, Some(&iv))?;
            ctx.cipher_update_vec(&pid_bytes, &mut out)?;
            ctx.cipher_update_vec(payload, &mut out)?;
            ctx.cipher_final_vec(&mut out)?;
            let mac = hmac(
                self.suite.auth,
                self.enc.hmac.as_ref(),
                &out[mac_at + mac_len..],
            )?;
            out[mac_at..mac_at + mac_len].copy_from_slice(&mac[..mac_len]);
        }
        Ok(out)
    }

    /// Authenticates, decrypts and replay-checks `packet` whose header is
    /// `header_len` bytes; the payload.
    pub fn decrypt(&mut self, packet: &[u8], header_len: usize) -> Result<Vec<u8>, CryptoError> {
        let header = packet.get(..header_len).ok_or(CryptoError::Short)?;
        let body = packet.get(header_len..).ok_or(CryptoError::Short)?;
        if self.suite.cipher.is_aead() {
            if body.len() < 4 + TAG_LEN {
                return Err(CryptoError::Short);
            }
            let pid = u32::from_be_bytes([body[0], body[1], body[2], body[3]]);
            if !self.replay.check(pid) {
                return Err(CryptoError::Replay);
            }
            let tag = &body[4..4 + TAG_LEN];
            let ct = &body[4 + TAG_LEN..];
            let mut iv = [0u8; 12];
            iv[..4].copy_from_slice(&body[..4]);
            iv[4..].copy_from_slice(&self.dec.implicit_iv);
            let ctx = &mut self.dec.ctx;
            ctx.decrypt_init(None, None, Some(&iv))?;
            ctx.cipher_update(aad_header(header), None)?;
            ctx.cipher_update(&body[..4], None)?;
            let mut out = Vec::with_capacity(ct.len() + 16);
            ctx.cipher_update_vec(ct, &mut out)?;
            ctx.set_tag(tag)?;
            if ctx.cipher_final_vec(&mut out).is_err() {
                return Err(CryptoError::Auth);
            }
            self.replay.update(pid);
            Ok(out)
        } else {
            let mac_len = self.suite.auth.len();
            if body.len() < mac_len + CBC_IV_LEN + 16 {
                return Err(CryptoError::Short);
            }
            let (mac, rest) = body.split_at(mac_len);
            let want = hmac(self.suite.auth, self.dec.hmac.as_ref(), rest)?;
            if !openssl::memcmp::eq(&want[..mac_len], mac) {
                return Err(CryptoError::Auth);
            }
            let (iv, ct) = rest.split_at(CBC_IV_LEN);
            if ct.len() % 16 != 0 {
                return Err(CryptoError::Short);
            }
            let ctx = &mut self.dec.ctx;
            ctx.decrypt_init(None, None, Some(iv))?;
            let mut plain = Vec::with_capacity(ct.len() + 16);
            ctx.cipher_update_vec(ct, &mut plain)?;
            if ctx.cipher_final_vec(&mut plain).is_err() {
                return Err(CryptoError::Auth);
            }
            if plain.len() < 4 {
                return Err(CryptoError::Short);
            }
            let pid = u32::from_be_bytes([plain[0], plain[1], plain[2], plain[3]]);
            if !self.replay.accept(pid) {
                return Err(CryptoError::Replay);
            }
            plain.drain(..4);
            Ok(plain)
        }
    }
}

impl Direction {
    fn new(suite: Suite, slot: &KeySlot, encrypt: bool) -> Result<Direction, CryptoError> {
        let mut ctx = CipherCtx::new()?;
        let key = &slot.cipher[..suite.cipher.key_len()];
        if encrypt {
            ctx.encrypt_init(Some(suite.cipher.openssl()), Some(key), None)?;
        } else {
            ctx.decrypt_init(Some(suite.cipher.openssl()), Some(key), None)?;
        }
        let hmac = if suite.cipher.is_aead() {
            None
        } else {
            Some(PKey::hmac(&slot.hmac[..suite.auth.len()])?)
        };
        let mut implicit_iv = [0u8; 8];
        implicit_iv.copy_from_slice(&slot.hmac[..8]);
        Ok(Direction {
            ctx,
            hmac,
            implicit_iv,
        })
    }
}

/// The part of the header that AEAD authenticates: all of a `P_DATA_V2` header (opcode
/// and peer id), nothing of `P_DATA_V1`'s opcode byte (openvpn prepends it after
/// encrypting).
fn aad_header(header: &[u8]) -> &[u8] {
    if header.len() == 4 { header } else { &[] }
}

fn hmac(
    digest: AuthDigest,
    key: Option<&PKey<Private>>,
    data: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = key.ok_or(CryptoError::Auth)?;
    let md = match digest {
        AuthDigest::Sha1 => openssl::hash::MessageDigest::sha1(),
        AuthDigest::Sha256 => openssl::hash::MessageDigest::sha256(),
        AuthDigest::Sha512 => openssl::hash::MessageDigest::sha512(),
    };
    let mut s = Signer::new(md, key)?;
    s.update(data)?;
    Ok(s.sign_to_vec()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::CipherKind;

    fn pair(cipher: CipherKind) -> (DataKey, DataKey) {
        let m = Key2::random();
        let suite = Suite {
            cipher,
            auth: AuthDigest::Sha1,
        };
        (
            DataKey::new(suite, &m, false).unwrap(),
            DataKey::new(suite, &m, true).unwrap(),
        )
    }

    #[test]
    fn every_cipher_round_trips_both_ways() {
        for cipher in CipherKind::ALL {
            let (mut client, mut server) = pair(cipher);
            for len in [0usize, 1, 15, 16, 17, 1400] {
                let payload = vec![0x5a; len];
                let header = [0x48, 0, 0, 7];
                let p = client.encrypt(&header, &payload).unwrap();
                assert_eq!(&p[..4], &header);
                assert_eq!(server.decrypt(&p, 4).unwrap(), payload, "{cipher}");
                let back = server.encrypt(&[0x30], &payload).unwrap();
                assert_eq!(client.decrypt(&back, 1).unwrap(), payload, "{cipher}");
            }
        }
    }

    #[test]
    fn aead_layout() {
        let (mut client, _) = pair(CipherKind::Aes256Gcm);
        let p = client.encrypt(&[0x30], b"abc").unwrap();
        assert_eq!(p.len(), 1 + 4 + 16 + 3);
        assert_eq!(&p[1..5], &[0, 0, 0, 1]);
    }

    #[test]
    fn replay_forgery_and_wrong_direction_are_dropped() {
        for cipher in CipherKind::ALL {
            let (mut client, mut server) = pair(cipher);
            let p = client.encrypt(&[0x30], b"hello").unwrap();
            assert!(server.decrypt(&p, 1).is_ok());
            assert_eq!(server.decrypt(&p, 1), Err(CryptoError::Replay));
            let mut forged = client.encrypt(&[0x30], b"hello").unwrap();
            let last = forged.len() - 1;
            forged[last] ^= 0x80;
            assert_eq!(server.decrypt(&forged, 1), Err(CryptoError::Auth));
            // a packet the client sent does not decrypt on the client
            let mine = client.encrypt(&[0x30], b"x").unwrap();
            assert!(client.decrypt(&mine, 1).is_err());
            for n in 0..40 {
                let _ = server.decrypt(&p[..n.min(p.len())], 1);
            }
        }
    }
}
