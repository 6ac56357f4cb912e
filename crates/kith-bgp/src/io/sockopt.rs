//! Socket options the standard library and socket2 do not offer: TCP-MD5 signatures
//! (RFC 2385, Linux `TCP_MD5SIG`) and the minimum received TTL of GTSM (RFC 5082,
//! `IP_MINTTL` / `IPV6_MINHOPCOUNT`). The only `unsafe` of the crate, behind safe
//! functions that take any socket by `AsFd`.
#![allow(unsafe_code)]

use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};

/// Longest TCP-MD5 key Linux takes (`TCP_MD5SIG_MAXKEYLEN`).
pub(crate) const MD5_MAX_KEY: usize = 80;

/// `struct tcp_md5sig` of `linux/tcp.h`: a `sockaddr_storage` (128 octets, 8-aligned),
/// flags, prefix length, key length, interface index, key.
#[repr(C, align(8))]
struct TcpMd5Sig {
    addr: [u8; 128],
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: i32,
    key: [u8; MD5_MAX_KEY],
}

/// Sets (or with an empty `key`, removes) the TCP-MD5 key for connections with
/// `peer` on `socket` (a listener: accepted connections inherit it; or a socket
/// before `connect`). `v6_socket`: the socket is IPv6 (an IPv4 peer is then given as
/// its v4-mapped address, as the kernel wants).
///
/// # Errors
/// A key longer than 80 octets, or what the kernel says.
pub(crate) fn set_tcp_md5(
    socket: &impl AsFd,
    peer: IpAddr,
    key: &[u8],
    v6_socket: bool,
) -> io::Result<()> {
    let peer = match peer {
        IpAddr::V4(v4) if v6_socket => IpAddr::V6(v4.to_ipv6_mapped()),
        other => other,
    };
    if key.len() > MD5_MAX_KEY {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key of {} octets, at most {MD5_MAX_KEY}", key.len()),
        ));
    }
    let mut sig = TcpMd5Sig {
        addr: [0; 128],
        flags: 0,
        prefixlen: 0,
        keylen: u16::try_from(key.len()).unwrap_or(0),
        ifindex: 0,
        key: [0; MD5_MAX_KEY],
    };
    sig.key[..key.len()].copy_from_slice(key);
    // sockaddr_in / sockaddr_in6 in host layout: family in native order, port 0.
    match peer {
        IpAddr::V4(v4) => {
            sig.addr[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            sig.addr[4..8].copy_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            sig.addr[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            sig.addr[8..24].copy_from_slice(&v6.octets());
        }
    }
    setsockopt(
        socket,
        libc::IPPROTO_TCP,
        libc::TCP_MD5SIG,
        std::ptr::from_ref(&sig).cast(),
        std::mem::size_of::<TcpMd5Sig>(),
    )
}

/// Drops received packets whose TTL (hop limit) is below `ttl` (GTSM, RFC 5082).
///
/// # Errors
/// What the kernel says.
pub(crate) fn set_min_ttl(socket: &impl AsFd, v6: bool, ttl: u8) -> io::Result<()> {
    let value: libc::c_int = ttl.into();
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)
    } else {
        (libc::IPPROTO_IP, libc::IP_MINTTL)
    };
    setsockopt(
        socket,
        level,
        name,
        std::ptr::from_ref(&value).cast(),
        std::mem::size_of::<libc::c_int>(),
    )
}

fn setsockopt(
    socket: &impl AsFd,
    level: libc::c_int,
    name: libc::c_int,
    value: *const libc::c_void,
    len: usize,
) -> io::Result<()> {
    let fd = socket.as_fd();
    let len =
        libc::socklen_t::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `fd` is a descriptor borrowed for the call, so it stays open; `value`
    // points to a live, initialised value of `len` octets owned by the caller for the
    // duration of the call (the callers pass references to local values and their
    // exact size); the kernel only reads it. Nothing is retained after the call.
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, value, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_linux_tcp_md5sig() {
        assert_eq!(std::mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn options_apply_to_real_sockets() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = "127.0.0.2".parse().unwrap();
        set_tcp_md5(&listener, peer, b"secret", false).unwrap();
        set_tcp_md5(&listener, peer, b"", false).unwrap();
        assert!(set_tcp_md5(&listener, peer, &[1; 81], false).is_err());
        let v6 = std::net::TcpListener::bind("[::]:0").unwrap();
        set_tcp_md5(&v6, peer, b"secret", true).unwrap();
        set_min_ttl(&listener, false, 255).unwrap();
    }
}
