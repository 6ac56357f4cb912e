//! Fuzz target: the BFD control packet decoder never panics on any bytes, whatever it
//! accepts encodes and decodes to the same packet, and a session fed the packet
//! neither panics nor loses track of its timers.
#![no_main]

use std::time::{Duration, Instant};

use kith_bgp::bfd::{ControlPacket, Session, Timers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = ControlPacket::parse(data) {
        let again = ControlPacket::parse(&p.to_bytes());
        assert_eq!(again.as_ref(), Ok(&p));
        let now = Instant::now();
        let mut s = Session::new(1, Timers::default(), now);
        let _ = s.receive(&p, now);
        let _ = s.tick(now + Duration::from_secs(5));
        assert!(s.next_deadline() >= now);
    }
});
