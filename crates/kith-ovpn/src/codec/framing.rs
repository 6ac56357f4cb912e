//! TCP framing: every OpenVPN packet on a stream is prefixed by its length (u16, big
//! endian).

use super::{CodecError, Result};

/// Prefixes `packet` with its length; `None` when it is longer than 65535 bytes.
pub fn frame(packet: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(packet.len()).ok()?;
    let mut out = Vec::with_capacity(packet.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(packet);
    Some(out)
}

/// Splits a byte stream into packets.
#[derive(Debug, Default)]
pub struct Deframer {
    buf: Vec<u8>,
}

impl Deframer {
    /// An empty deframer.
    pub fn new() -> Deframer {
        Deframer::default()
    }

    /// Appends bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole packet, if one is buffered. A zero-length frame is an error (the
    /// stream is out of step and must be closed).
    pub fn next_packet(&mut self) -> Result<Option<Vec<u8>>> {
        let Some(len) = super::be_u16(&self.buf, 0) else {
            return Ok(None);
        };
        let len = usize::from(len);
        if len == 0 {
            return Err(CodecError::Malformed("zero-length TCP frame"));
        }
        if self.buf.len() < 2 + len {
            return Ok(None);
        }
        let packet = self.buf[2..2 + len].to_vec();
        self.buf.drain(..2 + len);
        Ok(Some(packet))
    }

    /// Bytes buffered and not yet returned.
    pub fn buffered(&self) -> usize {
        self.buf.len()
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
    }
}
