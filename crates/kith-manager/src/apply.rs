//! Applies the interface part of the config to the kernel: NIC labels, bridges, bonds,
//! VLANs, addresses, forwarding. Every step logs what it did; a step that fails is logged
//! and the rest still applied, so a router comes up as far as it can.

use ipnet::IpNet;
use kith_config::{BondingMode, Config, DeclaredInterface, InterfaceKind};
use kith_net::{BondConfig, BondMode, LinkInfo, Net};
use tracing::{debug, error, info, warn};

/// Applies `new`; `old` is the config applied before (on reload), whose interfaces and
/// addresses that `new` no longer has are removed.
pub async fn apply(net: &Net, old: Option<&Config>, new: &Config) {
    if let Err(err) = kith_net::set_forwarding(true, true) {
        error!("cannot turn forwarding on: {err}");
    }
    let declared = new.interfaces();
    for iface in &declared {
        if let Err(err) = apply_interface(net, new, iface).await {
            error!("interface {}: {err}", iface.name);
        }
    }
    apply_bridge_ports(net, new).await;
    if let Some(old) = old {
        remove_gone_interfaces(net, old, &declared).await;
    }
    let wanted = wanted_addresses(new);
    if let Some(old) = old {
        for gone in wanted_addresses(old)
            .into_iter()
            .filter(|a| !wanted.contains(a))
        {
            remove_address(net, old, &gone).await;
        }
    }
    for address in &wanted {
        add_address(net, new, address).await;
    }
}

/// Finds the link a config label stands for: its kernel name or altname, or for an
/// `interface/ethernet` entry, the NIC it binds (`default-name`, `mac-address`).
pub async fn find_link(net: &Net, config: &Config, label: &str) -> Option<LinkInfo> {
    // One netlink request answers for a kernel name or an altname.
    if let Some(link) = lookup(net, label).await {
        return Some(link);
    }
    let ether = config
        .interface
        .ethernet
        .iter()
        .find(|e| e.name.value == label)?;
    if let Some(kernel) = &ether.default_name {
        return lookup(net, &kernel.value).await;
    }
    // Binding by MAC is the only case that needs every link.
    let mac = ether.mac_address.as_ref()?.to_string().to_lowercase();
    let links = match net.links().await {
        Ok(links) => links,
        Err(err) => {
            warn!("cannot list links: {err}");
            return None;
        }
    };
    links
        .into_iter()
        .find(|l| l.mac.is_some_and(|m| m.to_string().to_lowercase() == mac))
}

async fn lookup(net: &Net, name: &str) -> Option<LinkInfo> {
    match net.link(name).await {
        Ok(link) => link,
        Err(err) => {
            warn!("cannot look up interface {name}: {err}");
            None
        }
    }
}

async fn apply_interface(
    net: &Net,
    config: &Config,
    iface: &DeclaredInterface,
) -> Result<(), String> {
    let label = iface.name.as_str();
    let (mtu, disabled) = settings_of(config, label);
    let link = match &iface.kind {
        InterfaceKind::Ethernet { .. } => match find_link(net, config, label).await {
            Some(link) => link,
            None => return Err(nic_missing(config, label)),
        },
        InterfaceKind::Bridge => {
            ensure_created(net, config, label, "bridge", |net, name| async move {
                net.create_bridge(&name).await
            })
            .await?
        }
        InterfaceKind::Bonding { slaves } => {
            let mode = bond_mode(config, label);
            let link = ensure_created(net, config, label, "bonding", |net, name| async move {
                net.create_bond(&name, &BondConfig::new(mode)).await
            })
            .await?;
            for slave in slaves {
                enslave(net, config, slave, &link).await;
            }
            link
        }
        InterfaceKind::Vlan { parent, id } => {
            let parent_link = find_link(net, config, parent)
                .await
                .ok_or_else(|| format!("parent interface {parent} does not exist"))?;
            let id = id.get();
            ensure_created(net, config, label, "vlan", |net, name| async move {
                net.create_vlan(&name, parent_link.index, id).await
            })
            .await?
        }
        // Created at run time by the tunnel daemon when a peer connects.
        InterfaceKind::OvpnServerBinding { .. }
        | InterfaceKind::OvpnClient
        | InterfaceKind::PppSecret => return Ok(()),
    };
    if link.name != label && !link.altnames.iter().any(|a| a == label) {
        if kith_net::is_valid_altname(label) {
            match net.add_altname(link.index, label).await {
                Ok(()) => info!("interface {label}: is kernel link {}", link.name),
                Err(err) => warn!(
                    "interface {label}: cannot set it as altname of {}: {err}",
                    link.name
                ),
            }
        } else {
            warn!(
                "interface {label}: not usable as a kernel altname; only Kith knows it as {}",
                link.name
            );
        }
    }
    if let Some(mtu) = mtu {
        if link.mtu != mtu {
            net.set_mtu(link.index, mtu)
                .await
                .map_err(|e| format!("cannot set mtu {mtu}: {e}"))?;
            info!("interface {label}: mtu {mtu}");
        }
    }
    if disabled {
        if link.up {
            net.set_down(link.index).await.map_err(|e| e.to_string())?;
            info!("interface {label}: down (disabled)");
        }
    } else if !link.up {
        net.set_up(link.index).await.map_err(|e| e.to_string())?;
        info!("interface {label}: up");
    }
    Ok(())
}

/// Returns the link of a virtual interface, creating it under its kernel name if missing.
async fn ensure_created<F, Fut>(
    net: &Net,
    config: &Config,
    label: &str,
    kind: &str,
    create: F,
) -> Result<LinkInfo, String>
where
    F: FnOnce(Net, String) -> Fut,
    Fut: std::future::Future<Output = kith_net::Result<u32>>,
{
    if let Some(link) = find_link(net, config, label).await {
        return Ok(link);
    }
    let name = kith_net::kernel_name(label);
    create(net.clone(), name.clone())
        .await
        .map_err(|e| format!("cannot create {kind}: {e}"))?;
    info!("interface {label}: created {kind} {name}");
    net.link(name.as_str())
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{kind} {name} vanished right after creation"))
}

async fn enslave(net: &Net, config: &Config, port: &str, master: &LinkInfo) {
    let Some(link) = find_link(net, config, port).await else {
        error!(
            "interface {port}: does not exist; cannot add it to {}",
            master.name
        );
        return;
    };
    if link.master == Some(master.index) {
        return;
    }
    // A bond takes only ports that are down; a bridge does not mind.
    let _ = net.set_down(link.index).await;
    match net.set_master(link.index, master.index).await {
        Ok(()) => info!("interface {port}: port of {}", master.name),
        Err(err) => error!(
            "interface {port}: cannot be a port of {}: {err}",
            master.name
        ),
    }
    if let Err(err) = net.set_up(link.index).await {
        warn!("interface {port}: cannot bring it up: {err}");
    }
}

async fn apply_bridge_ports(net: &Net, config: &Config) {
    for port in config.interface.bridge.port.iter().filter(|p| !p.disabled) {
        let Some(bridge) = find_link(net, config, &port.bridge).await else {
            error!(
                "bridge {}: does not exist; port {} not added",
                *port.bridge, *port.interface
            );
            continue;
        };
        enslave(net, config, &port.interface, &bridge).await;
    }
}

/// Deletes the bridges, bonds and VLANs of the old config that the new one dropped.
async fn remove_gone_interfaces(net: &Net, old: &Config, now: &[DeclaredInterface]) {
    for gone in old.interfaces() {
        let virtual_link = matches!(
            gone.kind,
            InterfaceKind::Bridge | InterfaceKind::Bonding { .. } | InterfaceKind::Vlan { .. }
        );
        if !virtual_link || now.iter().any(|d| d.name == gone.name) {
            continue;
        }
        if let Some(link) = find_link(net, old, &gone.name).await {
            match net.delete_link(link.index).await {
                Ok(()) => info!("interface {}: deleted (no longer configured)", gone.name),
                Err(err) => error!("interface {}: cannot delete: {err}", gone.name),
            }
        }
    }
}

fn settings_of(config: &Config, label: &str) -> (Option<u32>, bool) {
    let i = &config.interface;
    if let Some(e) = i.ethernet.iter().find(|e| e.name.value == label) {
        return (Some(u32::from(e.mtu.get())), e.disabled);
    }
    if let Some(v) = i.vlan.iter().find(|v| v.name.value == label) {
        return (Some(u32::from(v.mtu.get())), v.disabled);
    }
    if let Some(b) = i.bonding.iter().find(|b| b.name.value == label) {
        return (Some(u32::from(b.mtu.get())), b.disabled);
    }
    if let Some(b) = i.bridge.add.iter().find(|b| b.name.value == label) {
        return (b.mtu.map(|m| u32::from(m.get())), b.disabled);
    }
    (None, false)
}

fn bond_mode(config: &Config, label: &str) -> BondMode {
    let mode = config
        .interface
        .bonding
        .iter()
        .find(|b| b.name.value == label)
        .map(|b| b.mode)
        .unwrap_or_default();
    match mode {
        BondingMode::BalanceRr => BondMode::BalanceRr,
        BondingMode::ActiveBackup => BondMode::ActiveBackup,
        BondingMode::BalanceXor => BondMode::BalanceXor,
        BondingMode::Broadcast => BondMode::Broadcast,
        BondingMode::Lacp => BondMode::Ieee8023ad,
        BondingMode::BalanceTlb => BondMode::BalanceTlb,
        BondingMode::BalanceAlb => BondMode::BalanceAlb,
    }
}

fn nic_missing(config: &Config, label: &str) -> String {
    let ether = config
        .interface
        .ethernet
        .iter()
        .find(|e| e.name.value == label);
    match ether {
        Some(e) if e.default_name.is_some() => format!(
            "no NIC named {} (default-name); is the cable card there?",
            e.default_name
                .as_ref()
                .map(|n| n.value.as_str())
                .unwrap_or_default()
        ),
        Some(e) if e.mac_address.is_some() => format!(
            "no NIC with mac-address {}",
            e.mac_address
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default()
        ),
        _ => "no NIC of that name; bind it with default-name or mac-address".to_string(),
    }
}

/// An address the config puts on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
struct WantedAddress {
    interface: String,
    address: IpNet,
}

fn wanted_addresses(config: &Config) -> Vec<WantedAddress> {
    let v4 = config
        .ip
        .address
        .iter()
        .filter(|a| !a.disabled)
        .map(|a| WantedAddress {
            interface: a.interface.value.clone(),
            address: IpNet::V4(a.address),
        });
    let v6 = config
        .ipv6
        .address
        .iter()
        .filter(|a| !a.disabled)
        .map(|a| WantedAddress {
            interface: a.interface.value.clone(),
            address: IpNet::V6(a.address),
        });
    v4.chain(v6).collect()
}

async fn add_address(net: &Net, config: &Config, wanted: &WantedAddress) {
    let label = &wanted.interface;
    let Some(link) = find_link(net, config, label).await else {
        debug!(
            "address {} on {label}: interface not present (yet)",
            wanted.address
        );
        return;
    };
    match has_address(net, link.index, wanted.address).await {
        Ok(true) => return,
        Ok(false) => {}
        Err(err) => warn!("cannot list addresses of {label}: {err}"),
    }
    match net.add_address(link.index, wanted.address).await {
        Ok(()) => info!("address {} added on {label}", wanted.address),
        Err(err) if err.is_exists() => {}
        Err(err) => error!("address {} on {label}: {err}", wanted.address),
    }
}

async fn remove_address(net: &Net, config: &Config, gone: &WantedAddress) {
    let Some(link) = find_link(net, config, &gone.interface).await else {
        return;
    };
    match net.del_address(link.index, gone.address).await {
        Ok(()) => info!(
            "address {} removed from {} (no longer configured)",
            gone.address, gone.interface
        ),
        Err(err) if err.is_not_found() => {}
        Err(err) => error!(
            "address {} on {}: cannot remove: {err}",
            gone.address, gone.interface
        ),
    }
}

async fn has_address(net: &Net, index: u32, address: IpNet) -> kith_net::Result<bool> {
    let existing = net.addresses(Some(index.into())).await?;
    Ok(existing.iter().any(|a| {
        a.address.addr() == address.addr() && a.address.prefix_len() == address.prefix_len()
    }))
}
