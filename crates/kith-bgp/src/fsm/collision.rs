//! Connection collision resolution (RFC 4271 6.8): of two connections with the same
//! peer, the one opened by the speaker with the higher BGP identifier stays.

use std::net::Ipv4Addr;

/// Which connection stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The connection Kith opened.
    Outgoing,
    /// The connection the peer opened.
    Incoming,
}

/// Resolves a collision between our outgoing and the peer's incoming connection.
#[must_use]
pub fn resolve_collision(local_id: Ipv4Addr, remote_id: Ipv4Addr) -> Keep {
    if u32::from(local_id) > u32::from(remote_id) {
        Keep::Outgoing
    } else {
        Keep::Incoming
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_identifier_keeps_its_connection() {
        let low = Ipv4Addr::new(10, 0, 0, 1);
        let high = Ipv4Addr::new(10, 0, 0, 2);
        assert_eq!(resolve_collision(high, low), Keep::Outgoing);
        assert_eq!(resolve_collision(low, high), Keep::Incoming);
        // Compared as numbers, not text.
        assert_eq!(
            resolve_collision(Ipv4Addr::new(9, 0, 0, 0), Ipv4Addr::new(10, 0, 0, 0)),
            Keep::Incoming
        );
    }
}
