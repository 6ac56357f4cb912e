//! A minimal DNS client for `connect-to` names: one A query over UDP to the `ip/dns`
//! servers (Kith resolves names itself, so this works inside a network namespace).
//! Without configured servers the system resolver is used.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

const TIMEOUT: Duration = Duration::from_secs(2);

/// Resolves `name` to IPv4 addresses.
pub async fn resolve(name: &str, servers: &[IpAddr]) -> Result<Vec<Ipv4Addr>, String> {
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Ok(vec![ip]);
    }
    if servers.is_empty() {
        let addrs = tokio::net::lookup_host((name, 0))
            .await
            .map_err(|e| format!("cannot resolve {name}: {e}"))?;
        let v: Vec<Ipv4Addr> = addrs
            .filter_map(|a| match a.ip() {
                IpAddr::V4(v4) => Some(v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        return if v.is_empty() {
            Err(format!("{name} has no IPv4 address"))
        } else {
            Ok(v)
        };
    }
    let mut last = format!("no DNS server answered for {name}");
    for server in servers {
        match query(name, SocketAddr::new(*server, 53)).await {
            Ok(v) if !v.is_empty() => return Ok(v),
            Ok(_) => last = format!("{name}: no A record (asked {server})"),
            Err(e) => last = format!("{name}: {e} (asked {server})"),
        }
    }
    Err(last)
}

async fn query(name: &str, server: SocketAddr) -> Result<Vec<Ipv4Addr>, String> {
    let bind: SocketAddr = if server.is_ipv4() {
        "0.0.0.0:0".parse().map_err(|_| "bind")?
    } else {
        "[::]:0".parse().map_err(|_| "bind")?
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| e.to_string())?;
    sock.connect(server).await.map_err(|e| e.to_string())?;
    let mut idb = [0u8; 2];
    let _ = openssl::rand::rand_bytes(&mut idb);
    let id = u16::from_be_bytes(idb);
    let q = build_query(id, name)?;
    sock.send(&q).await.map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let n = tokio::time::timeout(TIMEOUT, sock.recv(&mut buf))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    parse_answer(id, &buf[..n])
}

/// A standard query for the A record of `name`.
pub fn build_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut q = Vec::with_capacity(name.len() + 18);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{name}` is not a host name"));
        }
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    Ok(q)
}

/// The A records of a response to query `id`.
pub fn parse_answer(id: u16, msg: &[u8]) -> Result<Vec<Ipv4Addr>, String> {
    let get16 = |at: usize| -> Result<u16, String> {
        msg.get(at..at + 2)
            .map(|b| u16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated DNS answer".to_string())
    };
    if get16(0)? != id {
        return Err("DNS answer to another query".into());
    }
    let flags = get16(2)?;
    if flags & 0x000f != 0 {
        return Err(format!("DNS error code {}", flags & 0x000f));
    }
    let qd = get16(4)?;
    let an = get16(6)?;
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(msg, at)? + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        at = skip_name(msg, at)?;
        let rtype = get16(at)?;
        let rdlen = usize::from(get16(at + 8)?);
        let data = msg
            .get(at + 10..at + 10 + rdlen)
            .ok_or("truncated DNS record")?;
        if rtype == 1 && rdlen == 4 {
            out.push(Ipv4Addr::new(data[0], data[1], data[2], data[3]));
        }
        at += 10 + rdlen;
    }
    Ok(out)
}

fn skip_name(msg: &[u8], mut at: usize) -> Result<usize, String> {
    for _ in 0..128 {
        let len = *msg.get(at).ok_or("truncated DNS name")?;
        if len == 0 {
            return Ok(at + 1);
        }
        if len & 0xc0 == 0xc0 {
            return Ok(at + 2);
        }
        at += 1 + usize::from(len);
    }
    Err("DNS name too long".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_and_answer() {
        let q = build_query(0x1234, "vpn.mydomain.com").unwrap();
        assert_eq!(&q[..4], &[0x12, 0x34, 1, 0]);
        let mut a = q.clone();
        a[2] = 0x81;
        a[3] = 0x80;
        a[7] = 1; // one answer
        a.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, 10]);
        assert_eq!(
            parse_answer(0x1234, &a).unwrap(),
            vec![Ipv4Addr::new(203, 0, 113, 10)]
        );
        assert!(parse_answer(0x1235, &a).is_err());
        for n in 0..a.len() {
            let _ = parse_answer(0x1234, &a[..n]);
        }
        assert!(build_query(1, "a..b").is_err());
    }
}
