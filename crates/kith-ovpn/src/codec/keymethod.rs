//! The key-method 2 message, the first plaintext each side writes into the TLS tunnel:
//!
//! ```text
//! u32 0 | u8 2 (key method) | key source (client: pre-master 48 + random 32 + random 32;
//!   server: random 32 + random 32) | options string | username | password | peer info
//! ```
//! Strings are `u16 length (with the NUL) | bytes | NUL`; length 0 means absent.

use std::fmt;

use super::{CodecError, Result, be_u16, be_u32};

/// Longest string accepted in a key-method message.
const MAX_STRING: usize = 4096;

/// The random material one side contributes to the data channel keys.
#[derive(Clone)]
pub struct KeySource {
    /// The client's pre-master secret (absent in the server's message).
    pub pre_master: Option<[u8; 48]>,
    /// First random (master secret seed).
    pub random1: [u8; 32],
    /// Second random (key expansion seed).
    pub random2: [u8; 32],
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySource(..)")
    }
}

impl KeySource {
    /// Fresh randoms; a pre-master secret for the client.
    pub fn random(client: bool) -> KeySource {
        let mut pre = [0u8; 48];
        let mut r1 = [0u8; 32];
        let mut r2 = [0u8; 32];
        let _ = openssl::rand::rand_bytes(&mut pre);
        let _ = openssl::rand::rand_bytes(&mut r1);
        let _ = openssl::rand::rand_bytes(&mut r2);
        KeySource {
            pre_master: client.then_some(pre),
            random1: r1,
            random2: r2,
        }
    }
}

/// A password that never prints.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A key-method 2 message.
#[derive(Debug, Clone)]
pub struct KeyMethod2 {
    /// Key source material.
    pub source: KeySource,
    /// The OCC options string (`V4,dev-type tun,...`).
    pub options: String,
    /// Username (empty when none was sent).
    pub username: String,
    /// Password (empty when none was sent).
    pub password: Password,
    /// Peer info (`IV_VER=...\nIV_PROTO=...\n`), empty when none was sent.
    pub peer_info: String,
}

impl KeyMethod2 {
    /// Parses a message; `from_client` says whether the sender is the client (it then
    /// carries the pre-master secret). Trailing bytes after the peer info are ignored,
    /// as openvpn does.
    pub fn parse(buf: &[u8], from_client: bool) -> Result<KeyMethod2> {
        if be_u32(buf, 0) != Some(0) {
            return Err(CodecError::Malformed(
                "key-method message must start with 0",
            ));
        }
        if buf.get(4).map(|m| m & 0x0f) != Some(2) {
            return Err(CodecError::Malformed("key method is not 2"));
        }
        let mut at = 5;
        let mut take = |n: usize| -> Result<&[u8]> {
            let b = buf
                .get(at..at + n)
                .ok_or(CodecError::Truncated("key source"))?;
            at += n;
            Ok(b)
        };
        let pre_master = if from_client {
            let mut p = [0u8; 48];
            p.copy_from_slice(take(48)?);
            Some(p)
        } else {
            None
        };
        let mut random1 = [0u8; 32];
        random1.copy_from_slice(take(32)?);
        let mut random2 = [0u8; 32];
        random2.copy_from_slice(take(32)?);
        let options =
            read_string(buf, &mut at)?.ok_or(CodecError::Malformed("no options string"))?;
        let username = read_string(buf, &mut at).ok().flatten().unwrap_or_default();
        let password = read_string(buf, &mut at).ok().flatten().unwrap_or_default();
        let peer_info = read_string(buf, &mut at).ok().flatten().unwrap_or_default();
        Ok(KeyMethod2 {
            source: KeySource {
                pre_master,
                random1,
                random2,
            },
            options,
            username,
            password: Password(password),
            peer_info,
        })
    }

    /// The message bytes.
    pub fn emit(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.options.len() + self.peer_info.len());
        out.extend_from_slice(&[0, 0, 0, 0, 2]);
        if let Some(pre) = &self.source.pre_master {
            out.extend_from_slice(pre);
        }
        out.extend_from_slice(&self.source.random1);
        out.extend_from_slice(&self.source.random2);
        write_string(&mut out, &self.options);
        write_string(&mut out, &self.username);
        write_string(&mut out, &self.password.0);
        write_string(&mut out, &self.peer_info);
        out
    }
}

/// Writes a string; an empty one is written as absent (length 0), except that the
/// options string is always present (openvpn requires it).
fn write_string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let bytes = &bytes[..bytes.len().min(MAX_STRING - 1)];
    if bytes.is_empty() {
        out.extend_from_slice(&[0, 0]);
        return;
    }
    out.extend_from_slice(&((bytes.len() + 1) as u16).to_be_bytes());
    out.extend_from_slice(bytes);
    out.push(0);
}

fn read_string(buf: &[u8], at: &mut usize) -> Result<Option<String>> {
    let len = usize::from(be_u16(buf, *at).ok_or(CodecError::Truncated("string length"))?);
    *at += 2;
    if len == 0 {
        return Ok(None);
    }
    if len > MAX_STRING {
        return Err(CodecError::Malformed("string too long"));
    }
    let b = buf
        .get(*at..*at + len)
        .ok_or(CodecError::Truncated("string"))?;
    *at += len;
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    Ok(Some(String::from_utf8_lossy(&b[..end]).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_message_round_trips() {
        let m = KeyMethod2 {
            source: KeySource::random(true),
            options: "V4,dev-type tun,tls-client".into(),
            username: "friend1-1".into(),
            password: Password("secret".into()),
            peer_info: "IV_PROTO=10\nIV_CIPHERS=AES-256-GCM\n".into(),
        };
        let b = m.emit();
        assert_eq!(&b[..5], &[0, 0, 0, 0, 2]);
        let back = KeyMethod2::parse(&b, true).unwrap();
        assert_eq!(back.options, m.options);
        assert_eq!(back.username, "friend1-1");
        assert_eq!(back.password.0, "secret");
        assert_eq!(back.peer_info, m.peer_info);
        assert_eq!(back.source.pre_master, m.source.pre_master);
        assert_eq!(format!("{:?}", back.password), "***");
    }

    #[test]
    fn server_message_without_user_round_trips() {
        let m = KeyMethod2 {
            source: KeySource::random(false),
            options: "V4,tls-server".into(),
            username: String::new(),
            password: Password::default(),
            peer_info: String::new(),
        };
        let b = m.emit();
        assert_eq!(b.len(), 5 + 64 + 2 + 14 + 2 + 2 + 2);
        let back = KeyMethod2::parse(&b, false).unwrap();
        assert!(back.username.is_empty() && back.peer_info.is_empty());
        assert!(back.source.pre_master.is_none());
    }

    #[test]
    fn truncations_are_errors() {
        let m = KeyMethod2 {
            source: KeySource::random(true),
            options: "V4".into(),
            username: String::new(),
            password: Password::default(),
            peer_info: String::new(),
        };
        let b = m.emit();
        for n in 0..(5 + 112 + 2) {
            assert!(KeyMethod2::parse(&b[..n], true).is_err(), "{n}");
        }
        assert!(KeyMethod2::parse(&[0, 0, 0, 0, 1], true).is_err());
    }
}
