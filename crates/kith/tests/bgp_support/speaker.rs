//! A raw BGP speaker for tests: opens a session from inside a lab namespace, sends the
//! bytes a test crafts (malformed UPDATEs included) and reads what kith answers. Every
//! read is bounded in time; nothing here runs without a deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Attribute flags.
pub const WK: u8 = 0x40;
pub const OPT: u8 = 0x80;
pub const OPT_T: u8 = 0xc0;

/// One BGP message: header (marker, length, type) and body.
pub fn msg(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0xff; 16];
    v.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    v.push(kind);
    v.extend_from_slice(body);
    v
}

/// One path attribute (short length form).
pub fn attr(flags: u8, kind: u8, value: &[u8]) -> Vec<u8> {
    let mut v = vec![flags, kind, u8::try_from(value.len()).unwrap()];
    v.extend_from_slice(value);
    v
}

/// An IPv4 prefix in NLRI form (`10.1.2.0/24` -> `[24, 10, 1, 2]`).
pub fn nlri(prefix: &str) -> Vec<u8> {
    let (addr, len) = prefix.split_once('/').unwrap();
    let addr: Ipv4Addr = addr.parse().unwrap();
    let len: u8 = len.parse().unwrap();
    let mut v = vec![len];
    v.extend_from_slice(&addr.octets()[..usize::from(len.div_ceil(8))]);
    v
}

/// ORIGIN IGP, AS_PATH `asn` (4-octet encoding), NEXT_HOP `nh`.
pub fn good_attrs(asn: u32, nh: Ipv4Addr) -> Vec<Vec<u8>> {
    let mut path = vec![2, 1];
    path.extend_from_slice(&asn.to_be_bytes());
    vec![
        attr(WK, 1, &[0]),
        attr(WK, 2, &path),
        attr(WK, 3, &nh.octets()),
    ]
}

/// An UPDATE from raw parts.
pub fn update_raw(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut body = u16::try_from(withdrawn.len())
        .unwrap()
        .to_be_bytes()
        .to_vec();
    body.extend_from_slice(withdrawn);
    body.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    msg(2, &body)
}

/// An OPEN: version 4, `asn` (AS_TRANS above 65535), hold time, id, capabilities
/// multiprotocol IPv4 unicast and 4-octet AS.
pub fn open(asn: u32, id: Ipv4Addr, hold: u16) -> Vec<u8> {
    let my_as = u16::try_from(asn).unwrap_or(23456);
    let mut caps = vec![1, 4, 0, 1, 0, 1, 65, 4];
    caps.extend_from_slice(&asn.to_be_bytes());
    let mut params = vec![2, u8::try_from(caps.len()).unwrap()];
    params.extend_from_slice(&caps);
    let mut body = vec![4];
    body.extend_from_slice(&my_as.to_be_bytes());
    body.extend_from_slice(&hold.to_be_bytes());
    body.extend_from_slice(&id.octets());
    body.push(u8::try_from(params.len()).unwrap());
    body.extend_from_slice(&params);
    msg(1, &body)
}

/// Runs `f` on a thread that entered the network namespace `ns` (`ip netns` name);
/// sockets it creates stay in that namespace.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        f()
    })
    .join()
    .expect("namespace thread")
}

/// What the speaker read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    /// A message: type and body.
    Message(u8, Vec<u8>),
    /// The peer closed the connection.
    Closed,
}

/// An Established session seen from the raw side.
pub struct Speaker {
    stream: TcpStream,
    buf: Vec<u8>,
    last_keepalive: Instant,
    /// NOTIFICATIONs received while draining (code, subcode).
    pub notifications: Vec<(u8, u8)>,
}

impl Speaker {
    /// Connects from namespace `ns` to `remote`, exchanges OPENs and KEEPALIVEs.
    pub fn establish(ns: &str, remote: SocketAddr, asn: u32, id: Ipv4Addr) -> Speaker {
        let stream = in_netns(ns, move || {
            TcpStream::connect_timeout(&remote, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("raw speaker: connect to {remote}: {e}"))
        });
        let mut s = Speaker {
            stream,
            buf: Vec::new(),
            last_keepalive: Instant::now(),
            notifications: Vec::new(),
        };
        s.send(&open(asn, id, 90));
        match s.next(Duration::from_secs(10)) {
            Some(Got::Message(1, _)) => {}
            other => panic!("raw speaker: expected kith's OPEN, got {other:?}"),
        }
        s.send(&msg(4, &[]));
        match s.next(Duration::from_secs(10)) {
            Some(Got::Message(4, _)) => {}
            other => panic!("raw speaker: expected kith's KEEPALIVE, got {other:?}"),
        }
        s
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .unwrap_or_else(|e| panic!("raw speaker: send: {e}"));
    }

    /// The next message, within `timeout` (None when nothing came).
    pub fn next(&mut self, timeout: Duration) -> Option<Got> {
        let deadline = Instant::now() + timeout;
        loop {
            if self.buf.len() >= 19 {
                let len = usize::from(u16::from_be_bytes([self.buf[16], self.buf[17]]));
                if (19..=4096).contains(&len) && self.buf.len() >= len {
                    let m: Vec<u8> = self.buf.drain(..len).collect();
                    return Some(Got::Message(m[18], m[19..].to_vec()));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            let mut chunk = [0u8; 8192];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Some(Got::Closed),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None;
                }
                Err(_) => return Some(Got::Closed),
            }
        }
    }

    /// Reads whatever kith sent (UPDATEs, KEEPALIVEs) without waiting long and keeps
    /// the session alive; records NOTIFICATIONs.
    pub fn drain(&mut self) {
        for _ in 0..1000 {
            match self.next(Duration::from_millis(5)) {
                Some(Got::Message(3, body)) if body.len() >= 2 => {
                    self.notifications.push((body[0], body[1]));
                }
                Some(Got::Message(..)) => {}
                Some(Got::Closed) | None => break,
            }
        }
        if self.last_keepalive.elapsed() > Duration::from_secs(3) {
            self.last_keepalive = Instant::now();
            let _ = self.stream.write_all(&msg(4, &[]));
        }
    }

    /// Waits for kith's NOTIFICATION (code, subcode), then for the connection to close.
    pub fn expect_notification(&mut self, timeout: Duration) -> (u8, u8) {
        let deadline = Instant::now() + timeout;
        let mut got = None;
        while Instant::now() < deadline {
            match self.next(deadline.saturating_duration_since(Instant::now())) {
                Some(Got::Message(3, body)) if body.len() >= 2 => got = Some((body[0], body[1])),
                Some(Got::Message(..)) => {}
                Some(Got::Closed) => break,
                None => break,
            }
        }
        got.unwrap_or_else(|| panic!("raw speaker: no NOTIFICATION from kith within {timeout:?}"))
    }
}
