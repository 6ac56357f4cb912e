//! OpenVPN static key files (`-----BEGIN OpenVPN Static key V1-----`, 2048 bits): the
//! keys of `tls-auth` and `tls-crypt`, and their directions.

use std::fmt;

/// One direction's key material: cipher key and HMAC key slots (64 bytes each), of which
/// a cipher or digest uses the leading bytes.
#[derive(Clone)]
pub struct KeySlot {
    /// Cipher key slot.
    pub cipher: [u8; 64],
    /// HMAC key slot.
    pub hmac: [u8; 64],
}

impl fmt::Debug for KeySlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeySlot(..)")
    }
}

impl KeySlot {
    /// A slot from 128 bytes: cipher slot, then HMAC slot.
    pub fn from_bytes(b: &[u8; 128]) -> KeySlot {
        let mut cipher = [0u8; 64];
        let mut hmac = [0u8; 64];
        cipher.copy_from_slice(&b[..64]);
        hmac.copy_from_slice(&b[64..]);
        KeySlot { cipher, hmac }
    }
}

/// Two key slots: a static key file, or the 256 bytes of data channel key material.
#[derive(Clone, Debug)]
pub struct Key2 {
    /// Slot 0 and slot 1.
    pub keys: [KeySlot; 2],
}

impl Key2 {
    /// Key material from 256 bytes.
    pub fn from_bytes(b: &[u8; 256]) -> Key2 {
        let mut first = [0u8; 128];
        let mut second = [0u8; 128];
        first.copy_from_slice(&b[..128]);
        second.copy_from_slice(&b[128..]);
        Key2 {
            keys: [KeySlot::from_bytes(&first), KeySlot::from_bytes(&second)],
        }
    }

    /// A fresh random key (what `openvpn --genkey secret` writes).
    pub fn random() -> Key2 {
        let mut b = [0u8; 256];
        let _ = openssl::rand::rand_bytes(&mut b);
        Key2::from_bytes(&b)
    }

    /// The 256 bytes.
    pub fn to_bytes(&self) -> [u8; 256] {
        let mut b = [0u8; 256];
        for (i, k) in self.keys.iter().enumerate() {
            b[i * 128..i * 128 + 64].copy_from_slice(&k.cipher);
            b[i * 128 + 64..i * 128 + 128].copy_from_slice(&k.hmac);
        }
        b
    }

    /// Parses the text of a static key file.
    pub fn parse_file(text: &str) -> Result<Key2, &'static str> {
        const BEGIN: &str = "-----BEGIN OpenVPN Static key V1-----";
        const END: &str = "-----END OpenVPN Static key V1-----";
        let start = text
            .find(BEGIN)
            .ok_or("no BEGIN OpenVPN Static key V1 line")?;
        let rest = &text[start + BEGIN.len()..];
        let end = rest.find(END).ok_or("no END OpenVPN Static key V1 line")?;
        let hex: Vec<u8> = rest[..end]
            .bytes()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        if hex.len() != 512 {
            return Err("a static key must hold 256 bytes (512 hex digits)");
        }
        let mut b = [0u8; 256];
        for (i, pair) in hex.chunks(2).enumerate() {
            let hi = hex_digit(pair[0]).ok_or("not a hex digit in the static key")?;
            let lo = hex_digit(pair[1]).ok_or("not a hex digit in the static key")?;
            b[i] = (hi << 4) | lo;
        }
        Ok(Key2::from_bytes(&b))
    }

    /// The text of a static key file, as openvpn writes it.
    pub fn to_file(&self) -> String {
        let mut s = String::from(
            "#\n# 2048 bit OpenVPN static key\n#\n-----BEGIN OpenVPN Static key V1-----\n",
        );
        for line in self.to_bytes().chunks(16) {
            for b in line {
                s.push_str(&format!("{b:02x}"));
            }
            s.push('\n');
        }
        s.push_str("-----END OpenVPN Static key V1-----\n");
        s
    }

    /// The (send, receive) slots for a key direction.
    pub fn directed(&self, dir: KeyDirection) -> (&KeySlot, &KeySlot) {
        let [k0, k1] = &self.keys;
        match dir {
            KeyDirection::Bidirectional => (k0, k0),
            KeyDirection::Normal => (k0, k1),
            KeyDirection::Inverse => (k1, k0),
        }
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// openvpn's key direction: which slot sends and which receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyDirection {
    /// Both directions use slot 0 (`tls-auth` without a direction).
    Bidirectional,
    /// Send with slot 0, receive with slot 1 (`key-direction 0`; the data channel
    /// client; the tls-crypt server).
    Normal,
    /// Send with slot 1, receive with slot 0 (`key-direction 1`; the data channel
    /// server; the tls-crypt client).
    Inverse,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trips() {
        let k = Key2::random();
        let text = k.to_file();
        let back = Key2::parse_file(&text).unwrap();
        assert_eq!(back.to_bytes(), k.to_bytes());
    }

    #[test]
    fn bad_files() {
        assert!(Key2::parse_file("").is_err());
        assert!(
            Key2::parse_file(
                "-----BEGIN OpenVPN Static key V1-----\nzz\n-----END OpenVPN Static key V1-----"
            )
            .is_err()
        );
    }

    #[test]
    fn directions() {
        let k = Key2::random();
        let (s, r) = k.directed(KeyDirection::Normal);
        assert_eq!(s.cipher, k.keys[0].cipher);
        assert_eq!(r.hmac, k.keys[1].hmac);
        let (s, r) = k.directed(KeyDirection::Inverse);
        assert_eq!(s.cipher, k.keys[1].cipher);
        assert_eq!(r.cipher, k.keys[0].cipher);
    }
}
