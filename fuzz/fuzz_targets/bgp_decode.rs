//! Fuzz target: the BGP message decoder never panics, on any bytes and any session
//! context, and whatever it accepts encodes again without panicking.
#![no_main]

use kith_bgp::codec::{DecodeContext, Message, frame_len};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let ctx = DecodeContext {
        four_octet_as: selector & 1 != 0,
        ebgp: selector & 2 != 0,
        peer_as: (selector & 4 != 0).then_some(64513),
        ..DecodeContext::default()
    };
    let _ = frame_len(bytes);
    if let Ok(message) = Message::parse(bytes, &ctx) {
        let again = message.to_bytes(&ctx);
        let _ = Message::parse(&again, &ctx);
    }
});
