//! The kernel's NIC names by MAC address, for `interface/ethernet` entries bound by
//! `mac-address` alone.

use std::collections::BTreeMap;

use kith_config::MacAddress;
use kith_net::Net;

/// Kernel names of the links that have an Ethernet address, by that address.
///
/// # Errors
/// When the links cannot be listed.
pub async fn nics(net: &Net) -> kith_net::Result<BTreeMap<MacAddress, String>> {
    let mut out = BTreeMap::new();
    for link in net.links().await? {
        if let Some(mac) = link.mac {
            // The first link wins: a VLAN or bond shares its parent's address.
            out.entry(MacAddress(mac.0)).or_insert(link.name);
        }
    }
    Ok(out)
}
