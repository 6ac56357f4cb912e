//! The OPEN exchange: the OPEN Kith sends, and the checks and negotiation on the peer's
//! (RFC 4271 6.2, RFC 5492, RFC 6793).

use std::net::Ipv4Addr;

use crate::codec::{AS_TRANS, Capability, DecodeContext, Family, Notification, Open, code};

use super::FsmConfig;

/// What two speakers agreed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// The peer's AS.
    pub peer_as: u32,
    /// Hold time in seconds (0: none).
    pub hold_time: u16,
    /// Keepalive interval in seconds (0: none).
    pub keepalive: u16,
    /// Both speak 4-octet AS numbers.
    pub four_octet_as: bool,
    /// Families both announced.
    pub families: Vec<Family>,
    /// The peer understands ROUTE-REFRESH.
    pub route_refresh: bool,
    /// The peer's graceful restart time, when it announced graceful restart.
    pub peer_restart_time: Option<u16>,
    /// The session is eBGP.
    pub ebgp: bool,
}

impl Negotiated {
    /// The codec context of the session.
    #[must_use]
    pub fn context(&self) -> DecodeContext {
        DecodeContext {
            four_octet_as: self.four_octet_as,
            ebgp: self.ebgp,
            peer_as: Some(self.peer_as),
            families: self.families.clone(),
        }
    }
}

/// The OPEN Kith sends.
#[must_use]
pub fn own_open(config: &FsmConfig) -> Open {
    let mut capabilities: Vec<Capability> = config
        .families
        .iter()
        .map(|f| Capability::Multiprotocol {
            afi: f.afi(),
            safi: f.safi(),
        })
        .collect();
    capabilities.push(Capability::RouteRefresh);
    capabilities.push(Capability::FourOctetAs(config.local_as));
    if let Some(restart_time) = config.graceful_restart {
        // Helper mode: no family's forwarding state is claimed as preserved.
        capabilities.push(Capability::GracefulRestart {
            restarting: false,
            restart_time,
            families: Vec::new(),
        });
    }
    Open {
        my_as: u16::try_from(config.local_as).unwrap_or(AS_TRANS),
        hold_time: config.hold_time,
        bgp_id: config.local_id,
        capabilities,
    }
}

/// Checks the peer's OPEN against the configuration and negotiates.
///
/// # Errors
/// The NOTIFICATION to answer with: Bad Peer AS, Bad BGP Identifier.
pub fn negotiate(config: &FsmConfig, open: &Open) -> Result<Negotiated, Notification> {
    let peer_as = open.asn();
    if peer_as != config.remote_as {
        let data = u16::try_from(peer_as).unwrap_or(AS_TRANS).to_be_bytes();
        return Err(Notification::with_data(
            code::OPEN,
            code::BAD_PEER_AS,
            &data,
        ));
    }
    // RFC 6286: identifiers must differ within an AS.
    if !config.ebgp() && open.bgp_id == config.local_id {
        return Err(Notification::new(code::OPEN, code::BAD_BGP_ID));
    }
    let hold_time = config.hold_time.min(open.hold_time);
    let keepalive = if hold_time == 0 {
        0
    } else {
        config
            .keepalive
            .unwrap_or(hold_time / 3)
            .min(hold_time / 3)
            .max(1)
    };
    let theirs = open.families();
    let families = config
        .families
        .iter()
        .copied()
        .filter(|f| theirs.contains(f))
        .collect();
    Ok(Negotiated {
        peer_id: open.bgp_id,
        peer_as,
        hold_time,
        keepalive,
        four_octet_as: open.four_octet_as(),
        families,
        route_refresh: open.route_refresh(),
        peer_restart_time: open.graceful_restart_time(),
        ebgp: config.ebgp(),
    })
}
