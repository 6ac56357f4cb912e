//! What a peer is sent for a best path (RFC 4271 5, 9.1.3; RFC 4456; RFC 1997): split
//! horizon, iBGP rules and reflection, well-known communities, eBGP next-hop-self and
//! own-AS prepend, iBGP next hop unchanged, out-filters.

use std::net::{IpAddr, Ipv6Addr};

use kith_config::NexthopChoice;

use crate::codec::{Family, PathAttributes, community};
use crate::policy::{Candidate, Chains, Verdict};

use super::best::DEFAULT_LOCAL_PREF;
use super::engine::{Instance, PeerState};
use super::{Path, Source};

/// Attributes and next hop to announce.
pub(crate) struct Announce {
    pub(crate) attrs: PathAttributes,
    pub(crate) next_hop: IpAddr,
    pub(crate) link_local: Option<Ipv6Addr>,
}

/// What `peer` should be sent for `best` (to `prefix`), `None` to send nothing.
pub(crate) fn export(
    instance: &Instance,
    chains: &Chains,
    peer: &PeerState,
    prefix: &ipnet::IpNet,
    best: &Path,
) -> Option<Announce> {
    let session = peer.session.as_ref()?;
    let ebgp = peer.spec.remote_as != instance.local_as;
    if best.source() == Source::Peer(peer.spec.id) {
        return None;
    }
    let comms = &best.attrs.communities;
    if comms.contains(&community::NO_ADVERTISE) {
        return None;
    }
    if ebgp
        && (comms.contains(&community::NO_EXPORT)
            || comms.contains(&community::NO_EXPORT_SUBCONFED))
    {
        return None;
    }
    let mut attrs = (*best.attrs).clone();
    let reflected = !ebgp && !best.is_local() && !best.from.ebgp;
    if reflected {
        // iBGP to iBGP only through reflection (RFC 4456 6).
        let from_client = best.from.from_rr_client;
        let allowed = peer.spec.rr_client && (!from_client || instance.client_to_client_reflection)
            || from_client && !peer.spec.rr_client;
        if !allowed {
            return None;
        }
        if attrs.originator_id.is_none() {
            attrs.originator_id = Some(best.from.peer_id);
        }
        attrs.cluster_list.insert(0, instance.router_id);
    }
    let family = Family::of(prefix);
    let (self_v4, self_v6, self_ll) = (session.local_v4, session.local_v6, session.link_local);
    let self_hop = match family {
        Family::Ipv4 => self_v4.map(IpAddr::V4),
        Family::Ipv6 => self_v6.map(IpAddr::V6),
    };
    let received_hop = (!best.is_local()).then_some(best.hop.addr);
    let choose_self = match peer.spec.nexthop_choice {
        NexthopChoice::ForceSelf => true,
        NexthopChoice::Propagate => received_hop.is_none(),
        NexthopChoice::Default => ebgp || best.is_local(),
    };
    let (next_hop, link_local) = if choose_self {
        (
            self_hop?,
            if family == Family::Ipv6 {
                self_ll
            } else {
                None
            },
        )
    } else {
        (received_hop?, best.hop.link_local.filter(|_| !ebgp))
    };
    if ebgp {
        if attrs.as_path.contains(peer.spec.remote_as) {
            return None; // the peer would drop it as a loop
        }
        attrs.as_path.prepend(instance.local_as, 1);
        attrs.local_pref = None;
        if !best.is_local() {
            attrs.med = None; // RFC 4271 5.1.4: not passed to other ASes
        }
        attrs.originator_id = None;
        attrs.cluster_list.clear();
    } else if attrs.local_pref.is_none() {
        attrs.local_pref = Some(DEFAULT_LOCAL_PREF);
    }
    let mut candidate = Candidate {
        prefix: *prefix,
        attrs,
        distance: None,
        check_gateway: None,
        prepend_as: instance.local_as,
    };
    for chain in [
        peer.spec.out_filter.as_deref(),
        instance.out_filter.as_deref(),
    ]
    .into_iter()
    .flatten()
    {
        if chains.evaluate(chain, &mut candidate) != Verdict::Accept {
            return None;
        }
    }
    Some(Announce {
        attrs: candidate.attrs,
        next_hop,
        link_local,
    })
}
