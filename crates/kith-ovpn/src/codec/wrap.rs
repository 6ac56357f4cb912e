//! Control channel wrapping: `tls-auth` (an HMAC and a replay-protected packet id in
//! front of every control packet) and `tls-crypt` (AES-256-CTR + HMAC-SHA256 with a
//! synthetic IV). Turns a plain control packet into its wire form and back.
//!
//! ```text
//! tls-auth:  op | sid | HMAC | pid(4) | time(4) | rest          HMAC over pid|time|op|sid|rest
//! tls-crypt: op | sid | pid(4) | time(4) | tag(32) | AES-CTR(rest)  tag over op|sid|pid|time|rest
//! ```
//!
//! Holds the only state a wrapper needs: the packet id counter it sends and the replay
//! window of what it received.

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, Crypter, Mode};

use super::static_key::{Key2, KeyDirection};
use super::{CodecError, Result, be_u32};
use crate::fsm::replay::ReplayWindow;

/// Digests tls-auth can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthDigest {
    /// HMAC-SHA1 (openvpn's default `auth`).
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl AuthDigest {
    fn md(self) -> MessageDigest {
        match self {
            AuthDigest::Sha1 => MessageDigest::sha1(),
            AuthDigest::Sha256 => MessageDigest::sha256(),
            AuthDigest::Sha512 => MessageDigest::sha512(),
        }
    }

    /// Length of the HMAC.
    pub fn len(self) -> usize {
        match self {
            AuthDigest::Sha1 => 20,
            AuthDigest::Sha256 => 32,
            AuthDigest::Sha512 => 64,
        }
    }

    /// Never empty; for clippy's `len_without_is_empty`.
    pub fn is_empty(self) -> bool {
        false
    }
}

/// How control packets are wrapped.
#[derive(Clone, Debug)]
pub enum WrapMode {
    /// No wrapping.
    None,
    /// `tls-auth` with a digest, the key file and this end's key direction.
    Auth(AuthDigest, Key2, KeyDirection),
    /// `tls-crypt` with the key file; `server` picks the direction.
    Crypt(Key2, bool),
}

/// Wraps and unwraps the control packets of one session.
#[derive(Clone, Debug)]
pub struct Wrapper {
    mode: WrapMode,
    send_pid: u32,
    time: u32,
    replay: ReplayWindow,
}

impl Wrapper {
    /// A wrapper; `time` is the packet-id timestamp this end sends (seconds since the
    /// epoch at session start).
    pub fn new(mode: WrapMode, time: u32) -> Wrapper {
        Wrapper {
            mode,
            send_pid: 1,
            time,
            replay: ReplayWindow::new(),
        }
    }

    /// True when no wrapping is configured.
    pub fn is_none(&self) -> bool {
        matches!(self.mode, WrapMode::None)
    }

    /// Bytes the wrapping adds to each packet.
    pub fn overhead(&self) -> usize {
        match &self.mode {
            WrapMode::None => 0,
            WrapMode::Auth(d, _, _) => d.len() + 8,
            WrapMode::Crypt(..) => 8 + 32,
        }
    }

    /// The wire form of the plain control packet `plain` (`op | sid | rest`).
    pub fn wrap(&mut self, plain: &[u8]) -> Result<Vec<u8>> {
        if plain.len() < 9 {
            return Err(CodecError::Truncated("opcode and session id"));
        }
        let (head, rest) = plain.split_at(9);
        let mut pid = [0u8; 8];
        pid[..4].copy_from_slice(&self.send_pid.to_be_bytes());
        pid[4..].copy_from_slice(&self.time.to_be_bytes());
        let out = match &self.mode {
            WrapMode::None => return Ok(plain.to_vec()),
            WrapMode::Auth(digest, key, dir) => {
                let (send, _) = key.directed(*dir);
                let mac = hmac(digest.md(), &send.hmac[..digest.len()], &[&pid, head, rest])?;
                let mut out = Vec::with_capacity(plain.len() + mac.len() + 8);
                out.extend_from_slice(head);
                out.extend_from_slice(&mac);
                out.extend_from_slice(&pid);
                out.extend_from_slice(rest);
                out
            }
            WrapMode::Crypt(key, server) => {
                let (send, _) = key.directed(crypt_direction(*server));
                let tag = hmac(
                    MessageDigest::sha256(),
                    &send.hmac[..32],
                    &[head, &pid, rest],
                )?;
                let ct = ctr(&send.cipher[..32], &tag[..16], rest)?;
                let mut out = Vec::with_capacity(9 + 8 + 32 + ct.len());
                out.extend_from_slice(head);
                out.extend_from_slice(&pid);
                out.extend_from_slice(&tag);
                out.extend_from_slice(&ct);
                out
            }
        };
        self.send_pid = self.send_pid.wrapping_add(1).max(1);
        Ok(out)
    }

    /// Authenticates (and decrypts) `wire` without touching any state: the plain packet
    /// and its wrapping packet id. Used on a server's first packets, before a session
    /// exists.
    pub fn unwrap_stateless(&self, wire: &[u8]) -> Result<(Vec<u8>, u32)> {
        if wire.len() < 9 {
            return Err(CodecError::Truncated("opcode and session id"));
        }
        let head = &wire[..9];
        match &self.mode {
            WrapMode::None => Ok((wire.to_vec(), 0)),
            WrapMode::Auth(digest, key, dir) => {
                let (_, recv) = key.directed(*dir);
                let n = digest.len();
                let mac = wire
                    .get(9..9 + n)
                    .ok_or(CodecError::Truncated("tls-auth HMAC"))?;
                let pid = wire
                    .get(9 + n..9 + n + 8)
                    .ok_or(CodecError::Truncated("tls-auth packet id"))?;
                let rest = wire.get(9 + n + 8..).unwrap_or(&[]);
                let want = hmac(digest.md(), &recv.hmac[..n], &[pid, head, rest])?;
                if !openssl::memcmp::eq(&want, mac) {
                    return Err(CodecError::BadAuth);
                }
                let mut plain = head.to_vec();
                plain.extend_from_slice(rest);
                Ok((plain, be_u32(pid, 0).unwrap_or(0)))
            }
            WrapMode::Crypt(key, server) => {
                let (_, recv) = key.directed(crypt_direction(*server));
                let pid = wire
                    .get(9..17)
                    .ok_or(CodecError::Truncated("tls-crypt packet id"))?;
                let tag = wire
                    .get(17..49)
                    .ok_or(CodecError::Truncated("tls-crypt tag"))?;
                let ct = wire.get(49..).unwrap_or(&[]);
                let rest = ctr(&recv.cipher[..32], &tag[..16], ct)?;
                let want = hmac(
                    MessageDigest::sha256(),
                    &recv.hmac[..32],
                    &[head, pid, &rest],
                )?;
                if !openssl::memcmp::eq(&want, tag) {
                    return Err(CodecError::BadAuth);
                }
                let mut plain = head.to_vec();
                plain.extend_from_slice(&rest);
                Ok((plain, be_u32(pid, 0).unwrap_or(0)))
            }
        }
    }

    /// Authenticates, decrypts and replay-checks `wire`; the plain packet.
    pub fn unwrap(&mut self, wire: &[u8]) -> Result<Vec<u8>> {
        let (plain, pid) = self.unwrap_stateless(wire)?;
        if !self.is_none() && !self.replay.accept(pid) {
            return Err(CodecError::Replay);
        }
        Ok(plain)
    }
}

/// tls-crypt directions: the server sends with slot 0.
fn crypt_direction(server: bool) -> KeyDirection {
    if server {
        KeyDirection::Normal
    } else {
        KeyDirection::Inverse
    }
}

fn hmac(md: MessageDigest, key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>> {
    let pkey = PKey::hmac(key).map_err(|_| CodecError::Malformed("HMAC key"))?;
    let mut signer = Signer::new(md, &pkey).map_err(|_| CodecError::Malformed("HMAC init"))?;
    for p in parts {
        signer
            .update(p)
            .map_err(|_| CodecError::Malformed("HMAC update"))?;
    }
    signer
        .sign_to_vec()
        .map_err(|_| CodecError::Malformed("HMAC final"))
}

fn ctr(key: &[u8], iv: &[u8], data: &[u8]) -> Result<Vec<u8>> {
    let err = |_| CodecError::Malformed("AES-256-CTR");
    let mut c = Crypter::new(Cipher::aes_256_ctr(), Mode::Encrypt, key, Some(iv)).map_err(err)?;
    let mut out = vec![0u8; data.len() + 16];
    let mut n = c.update(data, &mut out).map_err(err)?;
    n += c.finalize(&mut out[n..]).map_err(err)?;
    out.truncate(n);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Vec<u8> {
        let mut p = vec![0x38, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0, 0];
        p.extend_from_slice(b"payload");
        p
    }

    #[test]
    fn tls_auth_round_trip_and_layout() {
        let key = Key2::random();
        let mut a = Wrapper::new(
            WrapMode::Auth(AuthDigest::Sha1, key.clone(), KeyDirection::Normal),
            1000,
        );
        let mut b = Wrapper::new(
            WrapMode::Auth(AuthDigest::Sha1, key, KeyDirection::Inverse),
            2000,
        );
        let wire = a.wrap(&plain()).unwrap();
        assert_eq!(wire.len(), plain().len() + 28);
        assert_eq!(&wire[..9], &plain()[..9]);
        assert_eq!(&wire[29..37], &[0, 0, 0, 1, 0, 0, 3, 232]);
        assert_eq!(b.unwrap(&wire).unwrap(), plain());
        assert_eq!(b.unwrap(&wire), Err(CodecError::Replay));
        let mut forged = a.wrap(&plain()).unwrap();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(b.unwrap(&forged), Err(CodecError::BadAuth));
        // the wrong direction does not authenticate
        let mut c = Wrapper::new(
            WrapMode::Auth(AuthDigest::Sha1, Key2::random(), KeyDirection::Inverse),
            0,
        );
        assert_eq!(
            c.unwrap(&a.wrap(&plain()).unwrap()),
            Err(CodecError::BadAuth)
        );
    }

    #[test]
    fn tls_crypt_round_trip() {
        let key = Key2::random();
        let mut server = Wrapper::new(WrapMode::Crypt(key.clone(), true), 5);
        let mut client = Wrapper::new(WrapMode::Crypt(key, false), 6);
        let wire = client.wrap(&plain()).unwrap();
        assert_eq!(wire.len(), plain().len() + 40);
        assert_ne!(&wire[49..], &plain()[9..]);
        assert_eq!(server.unwrap(&wire).unwrap(), plain());
        let back = server.wrap(&plain()).unwrap();
        assert_eq!(client.unwrap(&back).unwrap(), plain());
        assert!(client.unwrap(&wire).is_err());
    }

    #[test]
    fn short_wire_is_error() {
        let mut w = Wrapper::new(WrapMode::Crypt(Key2::random(), true), 0);
        for n in 0..60 {
            assert!(w.unwrap(&vec![0x38; n]).is_err());
        }
    }
}
