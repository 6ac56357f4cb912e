//! TCP framing: every OpenVPN packet on a stream is prefixed by its length (u16, big
//! endian).

use super::{CodecError, Result};

/// Prefixes `packet` with its length; `None` when it is longer than 65535 bytes.
pub fn frame(packet: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(packet.len() + 2);
    frame_into(packet, &mut out).then_some(out)
}

/// Appends `packet`, prefixed by its length, to `out` (several packets go out in one
/// write); false, and nothing appended, when it is longer than 65535 bytes.
pub fn frame_into(packet: &[u8], out: &mut Vec<u8>) -> bool {
    let Ok(len) = u16::try_from(packet.len()) else {
        return false;
    };
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    true
}

/// Splits a byte stream into packets.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
    /// Where the packets not yet returned start in `buf` (what is before is consumed;
    /// it is dropped when more arrives, not by moving the rest after every packet).
    start: usize,
}

impl Deframer {
    /// An empty deframer.
    pub fn new() -> Deframer {
        Deframer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet, if one is buffered. A zero-length frame is an error (the
    /// stream is out of step and must be closed).
    pub fn next_packet(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(len) = super::be_u16(&self.buf, self.start) else {
            return Ok(None);
        };
        let len = usize::from(len);
        if len == 0 {
            return Err(CodecError::Malformed("zero-length TCP frame"));
        }
        let at = self.start + 2;
        let Some(packet) = self.buf.get(at..at + len) else {
            return Ok(None);
        };
        let packet = packet.to_vec();
        self.start = at + len;
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        Ok(Some(packet))
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_joins() {
        let mut stream = frame(b"one").unwrap();
        stream.extend(frame(b"second packet").unwrap());
        let mut d = Deframer::new();
        for chunk in stream.chunks(3) {
            d.push(chunk);
        }
        assert_eq!(d.next_packet().unwrap().unwrap(), b"one");
        assert_eq!(d.next_packet().unwrap().unwrap(), b"second packet");
        assert_eq!(d.next_packet().unwrap(), None);
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn partial_frame_waits() {
        let mut d = Deframer::new();
        d.push(&[0, 5, 1, 2]);
        assert_eq!(d.next_packet().unwrap(), None);
        d.push(&[3, 4, 5]);
        assert_eq!(d.next_packet().unwrap().unwrap(), [1, 2, 3, 4, 5]);
    }

    #[test]
    fn zero_length_is_error_and_oversize_not_framed() {
        let mut d = Deframer::new();
        d.push(&[0, 0]);
        assert!(d.next_packet().is_err());
        assert!(frame(&vec![0u8; 70_000]).is_none());
        let mut out = vec![9];
        assert!(!frame_into(&vec![0u8; 70_000], &mut out));
        assert_eq!(out, [9]);
    }

    #[test]
    fn many_packets_in_one_push_and_leftovers() {
        let mut stream = Vec::new();
        for i in 0..50u8 {
            assert!(frame_into(&vec![i; usize::from(i) + 1], &mut stream));
        }
        let (whole, tail) = stream.split_at(stream.len() - 7);
        let mut d = Deframer::new();
        d.push(whole);
        for i in 0..49u8 {
            assert_eq!(
                d.next_packet().unwrap().unwrap(),
                vec![i; usize::from(i) + 1]
            );
        }
        assert_eq!(d.next_packet().unwrap(), None);
        assert_eq!(d.buffered(), 50 + 2 - 7);
        d.push(tail);
        assert_eq!(d.next_packet().unwrap().unwrap(), vec![49; 50]);
        assert_eq!(d.buffered(), 0);
    }
}
