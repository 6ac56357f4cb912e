//! Best path selection (RFC 4271 9.1.2.2 and the usual tie-breakers): local-pref, locally
//! originated, AS path length, origin, MED within the same neighbour AS, eBGP over iBGP,
//! router id (ORIGINATOR_ID when reflected), cluster list length, peer address.

use std::cmp::Ordering;

use super::Path;

/// Local preference of a path without LOCAL_PREF.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// Instance settings that change the selection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BestConfig {
    /// `ignore-as-path-len`.
    pub ignore_as_path_len: bool,
}

/// Orders two paths to the same prefix: `Less` when `a` is better.
#[must_use]
pub fn compare(a: &Path, b: &Path, cfg: BestConfig) -> Ordering {
    let lp = |p: &Path| p.attrs.local_pref.unwrap_or(DEFAULT_LOCAL_PREF);
    lp(b)
        .cmp(&lp(a))
        .then_with(|| b.is_local().cmp(&a.is_local()))
        .then_with(|| {
            if cfg.ignore_as_path_len {
                Ordering::Equal
            } else {
                a.attrs.as_path.path_len().cmp(&b.attrs.as_path.path_len())
            }
        })
        .then_with(|| a.attrs.origin.cmp(&b.attrs.origin))
        .then_with(|| {
            let (na, nb) = (a.attrs.as_path.first_as(), b.attrs.as_path.first_as());
            if na == nb {
                a.attrs.med.unwrap_or(0).cmp(&b.attrs.med.unwrap_or(0))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| b.from.ebgp.cmp(&a.from.ebgp))
        .then_with(|| {
            let id = |p: &Path| u32::from(p.attrs.originator_id.unwrap_or(p.from.peer_id));
            id(a).cmp(&id(b))
        })
        .then_with(|| a.attrs.cluster_list.len().cmp(&b.attrs.cluster_list.len()))
        .then_with(|| a.from.peer_addr.cmp(&b.from.peer_addr))
}
