//! Fuzzes kith-ovpn's packet parsers: any bytes, as a UDP datagram, a TCP stream, a
//! wrapped control packet or control channel plaintext, must never panic, and whatever
//! parses must re-emit to the same bytes.
#![no_main]

use kith_ovpn::codec::framing::Deframer;
use kith_ovpn::codec::keymethod::KeyMethod2;
use kith_ovpn::codec::options::{PeerInfo, PushReply, split_messages};
use kith_ovpn::codec::static_key::{Key2, KeyDirection};
use kith_ovpn::codec::wrap::{AuthDigest, WrapMode, Wrapper};
use kith_ovpn::codec::{ControlRepr, DataHeader, Header};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Header::parse(data);
    if let Ok(repr) = ControlRepr::decode(data) {
        assert_eq!(repr.to_vec(), data);
    }
    if let Ok((h, n)) = DataHeader::parse(data) {
        let mut v = Vec::new();
        h.emit(&mut v);
        assert_eq!(v.len(), n);
    }
    let mut d = Deframer::new();
    d.push(data);
    for _ in 0..data.len() {
        match d.next_packet() {
            Ok(Some(_)) => {}
            _ => break,
        }
    }
    let _ = KeyMethod2::parse(data, true);
    let _ = KeyMethod2::parse(data, false);
    let text = String::from_utf8_lossy(data);
    let _ = PushReply::parse(&text);
    let _ = PeerInfo::parse(&text);
    let _ = Key2::parse_file(&text);
    let mut pending = Vec::new();
    let _ = split_messages(&mut pending, data);
    let key = Key2::from_bytes(&[7u8; 256]);
    let mut auth = Wrapper::new(WrapMode::Auth(AuthDigest::Sha1, key.clone(), KeyDirection::Normal), 0);
    let _ = auth.unwrap(data);
    let mut crypt = Wrapper::new(WrapMode::Crypt(key, true), 0);
    let _ = crypt.unwrap(data);
});
