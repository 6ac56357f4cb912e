//! Links (network interfaces): look-up, creation, settings, altnames, deletion.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use netlink_packet_core::{DefaultNla, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    BondLacpRate, BondXmitHashPolicy, LinkAttribute, LinkExtentMask, LinkFlags,
    LinkInfo as NlLinkInfo, LinkMessage, MacVlanMode, Prop, State,
};
use rtnetlink::{
    LinkBond, LinkBridge, LinkDummy, LinkMacVlan, LinkMessageBuilder, LinkVeth, LinkVlan,
};

use crate::naming::{MAX_ALTNAME_LEN, MAX_KERNEL_NAME_LEN, is_valid_altname};
use crate::tun::TunDevice;
use crate::{Net, NetError, Result};

/// `IFLA_ALT_IFNAME`: look a link up by a name longer than 15 bytes.
const IFLA_ALT_IFNAME: u16 = 53;

/// An interface named by the caller: by name (kernel name or altname) or by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinkRef<'a> {
    /// A kernel name or an altname (a Kith label).
    Name(&'a str),
    /// An interface index.
    Index(u32),
}

impl<'a> From<&'a str> for LinkRef<'a> {
    fn from(name: &'a str) -> Self {
        LinkRef::Name(name)
    }
}

impl<'a> From<&'a String> for LinkRef<'a> {
    fn from(name: &'a String) -> Self {
        LinkRef::Name(name)
    }
}

impl From<u32> for LinkRef<'_> {
    fn from(index: u32) -> Self {
        LinkRef::Index(index)
    }
}

impl fmt::Display for LinkRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRef::Name(name) => f.write_str(name),
            LinkRef::Index(index) => write!(f, "ifindex {index}"),
        }
    }
}

/// An Ethernet (EUI-48) address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl FromStr for MacAddr {
    type Err = NetError;

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-`, any case), as RouterOS prints them.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            NetError::invalid(
                format!("parse MAC address `{s}`"),
                "expected six hex bytes like 02:00:00:aa:bb:cc",
            )
        };
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or_else(bad)?;
            if part.is_empty() || part.len() > 2 {
                return Err(bad());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

/// RFC 2863 operational state of a link, as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OperState {
    /// The state cannot be determined (typical of loopback, tun without a reader, ...).
    Unknown,
    /// A component is missing.
    NotPresent,
    /// Down.
    Down,
    /// Down because a lower link (the parent of a VLAN, the peer of a veth) is down.
    LowerLayerDown,
    /// In a test mode.
    Testing,
    /// Waiting for an external event.
    Dormant,
    /// Up and able to pass packets.
    Up,
    /// A state newer than this crate.
    Other(u8),
}

impl From<&State> for OperState {
    fn from(state: &State) -> Self {
        match state {
            State::Unknown => OperState::Unknown,
            State::NotPresent => OperState::NotPresent,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Testing => OperState::Testing,
            State::Dormant => OperState::Dormant,
            State::Up => OperState::Up,
            State::Other(v) => OperState::Other(*v),
            _ => OperState::Unknown,
        }
    }
}

/// What the kernel says about one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Kernel name (at most 15 bytes).
    pub name: String,
    /// Link kind (`veth`, `bridge`, `tun`, `vlan`, ...); `None` for physical NICs and
    /// loopback.
    pub kind: Option<String>,
    /// MTU in bytes.
    pub mtu: u32,
    /// Administratively up (`IFF_UP`, what `set_up` / `set_down` change).
    pub up: bool,
    /// Operational state.
    pub oper_state: OperState,
    /// Carrier present (`IFF_LOWER_UP`).
    pub carrier: bool,
    /// Index of the bridge or bond this link is a port of.
    pub master: Option<u32>,
    /// Index of the link this one is stacked on (VLAN, macvlan parent; veth peer).
    pub parent: Option<u32>,
    /// Alternative names (Kith puts the configuration label here).
    pub altnames: Vec<String>,
    /// Hardware address, when the link has an Ethernet one.
    pub mac: Option<MacAddr>,
    /// Raw `IFF_*` flags.
    pub flags: u32,
}

impl LinkInfo {
    /// Whether this link answers to `name` (its kernel name or one of its altnames).
    pub fn has_name(&self, name: &str) -> bool {
        self.name == name || self.altnames.iter().any(|a| a == name)
    }

    /// Builds a [`LinkInfo`] from a kernel `RTM_NEWLINK` message.
    pub fn from_message(msg: &LinkMessage) -> Self {
        let flags = msg.header.flags;
        let mut info = LinkInfo {
            index: msg.header.index,
            name: String::new(),
            kind: None,
            mtu: 0,
            up: flags.contains(LinkFlags::Up),
            oper_state: OperState::Unknown,
            carrier: flags.contains(LinkFlags::LowerUp),
            master: None,
            parent: None,
            altnames: Vec::new(),
            mac: None,
            flags: flags.bits(),
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(name) => info.name.clone_from(name),
                LinkAttribute::Mtu(mtu) => info.mtu = *mtu,
                LinkAttribute::OperState(state) => info.oper_state = state.into(),
                LinkAttribute::Controller(master) if *master != 0 => info.master = Some(*master),
                LinkAttribute::Link(parent) if *parent != 0 && *parent != info.index => {
                    info.parent = Some(*parent)
                }
                LinkAttribute::Address(bytes) => {
                    info.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok().map(MacAddr);
                }
                LinkAttribute::PropList(props) => {
                    for prop in props {
                        if let Prop::AltIfName(alt) = prop {
                            info.altnames.push(alt.clone());
                        }
                    }
                }
                LinkAttribute::LinkInfo(infos) => {
                    for i in infos {
                        if let NlLinkInfo::Kind(kind) = i {
                            info.kind = Some(kind.to_string());
                        }
                    }
                }
                _ => {}
            }
        }
        info
    }
}

/// Bonding mode, spelled as RouterOS spells it (`/interface bonding mode=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BondMode {
    /// `balance-rr`: round robin (the kernel's and RouterOS's default).
    #[default]
    BalanceRr,
    /// `active-backup`: one port at a time.
    ActiveBackup,
    /// `balance-xor`: by transmit hash.
    BalanceXor,
    /// `broadcast`: everything on every port.
    Broadcast,
    /// `802.3ad`: LACP.
    Ieee8023ad,
    /// `balance-tlb`: adaptive transmit load balancing.
    BalanceTlb,
    /// `balance-alb`: adaptive load balancing.
    BalanceAlb,
}

impl BondMode {
    /// Every mode, in kernel order.
    pub const ALL: [BondMode; 7] = [
        BondMode::BalanceRr,
        BondMode::ActiveBackup,
        BondMode::BalanceXor,
        BondMode::Broadcast,
        BondMode::Ieee8023ad,
        BondMode::BalanceTlb,
        BondMode::BalanceAlb,
    ];

    /// The RouterOS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            BondMode::BalanceRr => "balance-rr",
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceXor => "balance-xor",
            BondMode::Broadcast => "broadcast",
            BondMode::Ieee8023ad => "802.3ad",
            BondMode::BalanceTlb => "balance-tlb",
            BondMode::BalanceAlb => "balance-alb",
        }
    }

    fn to_netlink(self) -> netlink_packet_route::link::BondMode {
        use netlink_packet_route::link::BondMode as M;
        match self {
            BondMode::BalanceRr => M::BalanceRr,
            BondMode::ActiveBackup => M::ActiveBackup,
            BondMode::BalanceXor => M::BalanceXor,
            BondMode::Broadcast => M::Broadcast,
            BondMode::Ieee8023ad => M::Ieee8023Ad,
            BondMode::BalanceTlb => M::BalanceTlb,
            BondMode::BalanceAlb => M::BalanceAlb,
        }
    }
}

impl fmt::Display for BondMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BondMode {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self> {
        BondMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                NetError::invalid(
                    format!("parse bonding mode `{s}`"),
                    "expected one of balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb",
                )
            })
    }
}

/// LACP rate (RouterOS `lacp-rate=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LacpRate {
    /// `30secs`: slow (default).
    #[default]
    Slow,
    /// `1sec`: fast.
    Fast,
}

impl LacpRate {
    /// The RouterOS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LacpRate::Slow => "30secs",
            LacpRate::Fast => "1sec",
        }
    }
}

impl FromStr for LacpRate {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "30secs" => Ok(LacpRate::Slow),
            "1sec" => Ok(LacpRate::Fast),
            _ => Err(NetError::invalid(
                format!("parse lacp-rate `{s}`"),
                "expected 30secs or 1sec",
            )),
        }
    }
}

/// Transmit hash policy (RouterOS `transmit-hash-policy=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TransmitHashPolicy {
    /// `layer-2` (default).
    #[default]
    Layer2,
    /// `layer-2-and-3`.
    Layer23,
    /// `layer-3-and-4`.
    Layer34,
    /// `encap-2-and-3`.
    Encap23,
    /// `encap-3-and-4`.
    Encap34,
}

impl TransmitHashPolicy {
    const ALL: [TransmitHashPolicy; 5] = [
        TransmitHashPolicy::Layer2,
        TransmitHashPolicy::Layer23,
        TransmitHashPolicy::Layer34,
        TransmitHashPolicy::Encap23,
        TransmitHashPolicy::Encap34,
    ];

    /// The RouterOS spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TransmitHashPolicy::Layer2 => "layer-2",
            TransmitHashPolicy::Layer23 => "layer-2-and-3",
            TransmitHashPolicy::Layer34 => "layer-3-and-4",
            TransmitHashPolicy::Encap23 => "encap-2-and-3",
            TransmitHashPolicy::Encap34 => "encap-3-and-4",
        }
    }

    fn to_netlink(self) -> BondXmitHashPolicy {
        match self {
            TransmitHashPolicy::Layer2 => BondXmitHashPolicy::Layer2,
            TransmitHashPolicy::Layer23 => BondXmitHashPolicy::Layer23,
            TransmitHashPolicy::Layer34 => BondXmitHashPolicy::Layer34,
            TransmitHashPolicy::Encap23 => BondXmitHashPolicy::Encap23,
            TransmitHashPolicy::Encap34 => BondXmitHashPolicy::Encap34,
        }
    }
}

impl FromStr for TransmitHashPolicy {
    type Err = NetError;

    fn from_str(s: &str) -> Result<Self> {
        TransmitHashPolicy::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                NetError::invalid(
                    format!("parse transmit-hash-policy `{s}`"),
                    "expected layer-2, layer-2-and-3, layer-3-and-4, encap-2-and-3 or encap-3-and-4",
                )
            })
    }
}

/// Settings of a bonding interface (RouterOS `/interface bonding`). Unset fields keep the
/// kernel's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BondConfig {
    /// Bonding mode.
    pub mode: BondMode,
    /// MII link monitoring interval in milliseconds (RouterOS `mii-interval`, 100ms by
    /// default there; [`BondConfig::new`] sets 100).
    pub mii_interval_ms: Option<u32>,
    /// Delay before a port that came up is used, in milliseconds.
    pub up_delay_ms: Option<u32>,
    /// Delay before a port that went down is dropped, in milliseconds.
    pub down_delay_ms: Option<u32>,
    /// ARP monitoring interval in milliseconds (RouterOS `link-monitoring=arp`).
    pub arp_interval_ms: Option<u32>,
    /// ARP monitoring targets.
    pub arp_ip_targets: Vec<Ipv4Addr>,
    /// LACP rate (802.3ad only).
    pub lacp_rate: Option<LacpRate>,
    /// Transmit hash policy (balance-xor, 802.3ad, balance-tlb).
    pub transmit_hash_policy: Option<TransmitHashPolicy>,
    /// Minimum number of ports up for the bond to have carrier.
    pub min_links: Option<u32>,
}

impl BondConfig {
    /// A bond of `mode` with RouterOS's default link monitoring (MII every 100 ms).
    pub fn new(mode: BondMode) -> Self {
        BondConfig {
            mode,
            mii_interval_ms: Some(100),
            ..BondConfig::default()
        }
    }
}

/// The kernel module that provides a link kind, for error messages.
pub fn module_for_kind(kind: &str) -> &str {
    match kind {
        "vlan" => "8021q",
        "bond" => "bonding",
        "gre" | "gretap" => "ip_gre",
        "ip6gre" | "ip6gretap" => "ip6_gre",
        "ipip" => "ipip",
        "sit" => "sit",
        "vti" => "ip_vti",
        "wireguard" => "wireguard",
        "vxlan" => "vxlan",
        "macvlan" => "macvlan",
        "ipvlan" => "ipvlan",
        other => other,
    }
}

fn check_new_name(op: &str, name: &str) -> Result<()> {
    if !crate::naming::is_valid_kernel_name(name) {
        let why = if name.len() > MAX_KERNEL_NAME_LEN {
            format!(
                "`{name}` is longer than {MAX_KERNEL_NAME_LEN} bytes (use kernel_name() and set the label as altname)"
            )
        } else {
            format!("`{name}` is not a valid interface name (letters, digits, `-`, `_`, `.` only)")
        };
        return Err(NetError::invalid(op, why));
    }
    Ok(())
}

/// `RTM_GETLINK` for one link by name: `IFLA_IFNAME` when it fits, else `IFLA_ALT_IFNAME`.
/// The kernel resolves both kernel names and altnames either way.
pub(crate) fn get_by_name_message(name: &str) -> LinkMessage {
    let mut msg = LinkMessage::default();
    if name.len() <= MAX_KERNEL_NAME_LEN {
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    } else {
        let mut value = name.as_bytes().to_vec();
        value.push(0);
        msg.attributes.push(LinkAttribute::Other(DefaultNla::new(
            IFLA_ALT_IFNAME,
            value,
        )));
    }
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    msg
}

/// `RTM_NEWLINK` creating a veth pair.
pub fn veth_message(name: &str, peer: &str) -> LinkMessage {
    LinkVeth::new(name, peer).build()
}

/// `RTM_NEWLINK` creating an 802.1Q VLAN `vlan_id` on the link of index `parent`.
pub fn vlan_message(name: &str, parent: u32, vlan_id: u16) -> LinkMessage {
    LinkVlan::new(name, parent, vlan_id).build()
}

/// `RTM_NEWLINK` creating a bond.
pub fn bond_message(name: &str, config: &BondConfig) -> LinkMessage {
    let mut b = LinkBond::new(name).mode(config.mode.to_netlink());
    if let Some(v) = config.mii_interval_ms {
        b = b.miimon(v);
    }
    if let Some(v) = config.up_delay_ms {
        b = b.updelay(v);
    }
    if let Some(v) = config.down_delay_ms {
        b = b.downdelay(v);
    }
    if let Some(v) = config.arp_interval_ms {
        b = b.arp_interval(v);
    }
    if !config.arp_ip_targets.is_empty() {
        b = b.arp_ip_target(config.arp_ip_targets.clone());
    }
    if let Some(v) = config.lacp_rate {
        b = b.ad_lacp_rate(match v {
            LacpRate::Slow => BondLacpRate::Slow,
            LacpRate::Fast => BondLacpRate::Fast,
        });
    }
    if let Some(v) = config.transmit_hash_policy {
        b = b.xmit_hash_policy(v.to_netlink());
    }
    if let Some(v) = config.min_links {
        b = b.min_links(v);
    }
    b.build()
}

/// `RTM_NEWLINK` creating a bridge (left down, like `ip link add type bridge`).
pub fn bridge_message(name: &str) -> LinkMessage {
    LinkMessageBuilder::<LinkBridge>::new(name).build()
}

/// `RTM_NEWLINK` creating a dummy link.
pub fn dummy_message(name: &str) -> LinkMessage {
    LinkDummy::new(name).build()
}

/// `RTM_NEWLINK` creating a macvlan in bridge mode on the link of index `parent`.
pub fn macvlan_message(name: &str, parent: u32) -> LinkMessage {
    LinkMacVlan::new(name, parent, MacVlanMode::Bridge).build()
}

/// The kind named in a creation message, for error messages.
fn kind_of(msg: &LinkMessage) -> String {
    msg.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                NlLinkInfo::Kind(kind) => Some(kind.to_string()),
                _ => None,
            }),
            _ => None,
        })
        .unwrap_or_else(|| "link".into())
}

fn index_message(index: u32) -> LinkMessage {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg
}

impl Net {
    /// The index of the link named `name` (kernel name or altname), `None` if there is
    /// none.
    pub async fn link_index(&self, name: &str) -> Result<Option<u32>> {
        Ok(self.link(name).await?.map(|l| l.index))
    }

    /// What the kernel says about one link, `None` if it does not exist.
    pub async fn link<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<Option<LinkInfo>> {
        let link = link.into();
        let msg = match link {
            LinkRef::Name(name) => {
                if name.is_empty() || name.len() > MAX_ALTNAME_LEN {
                    return Ok(None);
                }
                get_by_name_message(name)
            }
            LinkRef::Index(index) => {
                let mut msg = index_message(index);
                msg.attributes
                    .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
                msg
            }
        };
        let op = format!("look up interface {link}");
        match self
            .request(RouteNetlinkMessage::GetLink(msg), 0, &op)
            .await
        {
            Ok(answers) => Ok(answers.iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(LinkInfo::from_message(l)),
                _ => None,
            })),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The link that has `altname` as an altname (not merely as its kernel name).
    pub async fn link_by_altname(&self, altname: &str) -> Result<Option<LinkInfo>> {
        Ok(self
            .link(altname)
            .await?
            .filter(|l| l.altnames.iter().any(|a| a == altname)))
    }

    /// Every link of the namespace, by index.
    pub async fn links(&self) -> Result<Vec<LinkInfo>> {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let answers = self
            .dump(RouteNetlinkMessage::GetLink(msg), "list interfaces")
            .await?;
        let mut links: Vec<LinkInfo> = answers
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(LinkInfo::from_message(l)),
                _ => None,
            })
            .collect();
        links.sort_by_key(|l| l.index);
        Ok(links)
    }

    /// Sends a link creation message, turning "unknown kind" into
    /// [`NetError::UnsupportedKind`]; returns the new link's index.
    async fn create_link(&self, name: &str, msg: LinkMessage) -> Result<u32> {
        let kind = kind_of(&msg);
        let op = format!("create {kind} {name}");
        check_new_name(&op, name)?;
        let result = self
            .ack(
                RouteNetlinkMessage::NewLink(msg),
                NLM_F_CREATE | NLM_F_EXCL,
                &op,
            )
            .await;
        if let Err(NetError::Kernel { source, detail, .. }) = &result
            && source.raw_os_error() == Some(libc::EOPNOTSUPP)
            && detail
                .as_deref()
                .is_none_or(|d| d.contains("Unknown device type"))
        {
            return Err(NetError::UnsupportedKind {
                module: module_for_kind(&kind).to_string(),
                kind,
                name: name.to_string(),
            });
        }
        result?;
        self.link_index(name)
            .await?
            .ok_or_else(|| NetError::Protocol {
                op,
                reason: "the kernel acknowledged the new link but it is not there".into(),
            })
    }

    /// Creates a veth pair `name` <-> `peer` (both down); returns the index of `name`.
    pub async fn create_veth(&self, name: &str, peer: &str) -> Result<u32> {
        check_new_name(&format!("create veth {name} (peer {peer})"), peer)?;
        self.create_link(name, veth_message(name, peer)).await
    }

    /// Creates 802.1Q VLAN `vlan_id` (1..=4094) named `name` on `parent`.
    pub async fn create_vlan<'a>(
        &self,
        name: &str,
        parent: impl Into<LinkRef<'a>>,
        vlan_id: u16,
    ) -> Result<u32> {
        let op = format!("create vlan {name}");
        if !(1..=4094).contains(&vlan_id) {
            return Err(NetError::invalid(
                op,
                format!("VLAN id {vlan_id} is outside 1..=4094"),
            ));
        }
        check_new_name(&op, name)?;
        let parent = self.resolve(parent.into(), &op).await?;
        self.create_link(name, vlan_message(name, parent, vlan_id))
            .await
    }

    /// Creates a bonding interface; add ports with [`Net::set_master`].
    pub async fn create_bond(&self, name: &str, config: &BondConfig) -> Result<u32> {
        self.create_link(name, bond_message(name, config)).await
    }

    /// Creates a bridge (down, STP off: the kernel's defaults).
    pub async fn create_bridge(&self, name: &str) -> Result<u32> {
        self.create_link(name, bridge_message(name)).await
    }

    /// Creates a dummy link.
    pub async fn create_dummy(&self, name: &str) -> Result<u32> {
        self.create_link(name, dummy_message(name)).await
    }

    /// Creates a macvlan on `parent`, in bridge mode (RouterOS's default).
    pub async fn create_macvlan<'a>(
        &self,
        name: &str,
        parent: impl Into<LinkRef<'a>>,
    ) -> Result<u32> {
        let op = format!("create macvlan {name}");
        check_new_name(&op, name)?;
        let parent = self.resolve(parent.into(), &op).await?;
        self.create_link(name, macvlan_message(name, parent)).await
    }

    /// Creates a tun device (`IFF_TUN | IFF_NO_PI`) in the calling thread's namespace.
    ///
    /// The device lives as long as the returned [`TunDevice`] unless `persist` is true.
    pub fn create_tun(&self, name: &str, persist: bool) -> Result<TunDevice> {
        TunDevice::create(name, persist)
    }

    /// Sends an `RTM_NEWLINK` change (no creation) for one link.
    async fn change_link(&self, msg: LinkMessage, op: &str) -> Result<()> {
        self.ack(RouteNetlinkMessage::NewLink(msg), 0, op).await
    }

    /// Makes `link` a port of the bridge or bond `master`.
    pub async fn set_master<'a, 'b>(
        &self,
        link: impl Into<LinkRef<'a>>,
        master: impl Into<LinkRef<'b>>,
    ) -> Result<()> {
        let (link, master) = (link.into(), master.into());
        let op = format!("make {link} a port of {master}");
        let index = self.resolve(link, &op).await?;
        let master = self.resolve(master, &op).await?;
        let mut msg = index_message(index);
        msg.attributes.push(LinkAttribute::Controller(master));
        self.change_link(msg, &op).await
    }

    /// Takes `link` out of its bridge or bond.
    pub async fn set_nomaster<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let op = format!("remove {link} from its master");
        let index = self.resolve(link, &op).await?;
        let mut msg = index_message(index);
        msg.attributes.push(LinkAttribute::Controller(0));
        self.change_link(msg, &op).await
    }

    async fn set_flag_up(&self, link: LinkRef<'_>, up: bool) -> Result<()> {
        let op = format!("set {link} {}", if up { "up" } else { "down" });
        let index = self.resolve(link, &op).await?;
        let mut msg = index_message(index);
        if up {
            msg.header.flags.insert(LinkFlags::Up);
        }
        msg.header.change_mask.insert(LinkFlags::Up);
        self.change_link(msg, &op).await
    }

    /// Sets `link` administratively up.
    pub async fn set_up<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        self.set_flag_up(link.into(), true).await
    }

    /// Sets `link` administratively down.
    pub async fn set_down<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        self.set_flag_up(link.into(), false).await
    }

    /// Sets the MTU of `link`.
    pub async fn set_mtu<'a>(&self, link: impl Into<LinkRef<'a>>, mtu: u32) -> Result<()> {
        let link = link.into();
        let op = format!("set mtu of {link} to {mtu}");
        let index = self.resolve(link, &op).await?;
        let mut msg = index_message(index);
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        self.change_link(msg, &op).await
    }

    /// Renames `link` to `new_name` (the kernel refuses while the link is up).
    pub async fn rename<'a>(&self, link: impl Into<LinkRef<'a>>, new_name: &str) -> Result<()> {
        let link = link.into();
        let op = format!("rename {link} to {new_name}");
        check_new_name(&op, new_name)?;
        let index = self.resolve(link, &op).await?;
        let mut msg = index_message(index);
        msg.attributes
            .push(LinkAttribute::IfName(new_name.to_string()));
        self.change_link(msg, &op).await
    }

    /// Adds `altname` (up to 127 bytes, e.g. a Kith label) to `link`.
    pub async fn add_altname<'a>(&self, link: impl Into<LinkRef<'a>>, altname: &str) -> Result<()> {
        self.altname_request(link.into(), altname, true).await
    }

    /// Removes `altname` from `link`.
    pub async fn del_altname<'a>(&self, link: impl Into<LinkRef<'a>>, altname: &str) -> Result<()> {
        self.altname_request(link.into(), altname, false).await
    }

    async fn altname_request(&self, link: LinkRef<'_>, altname: &str, add: bool) -> Result<()> {
        let op = if add {
            format!("add altname {altname} to {link}")
        } else {
            format!("remove altname {altname} from {link}")
        };
        if !is_valid_altname(altname) {
            return Err(NetError::invalid(
                op,
                format!(
                    "an altname is 1 to {MAX_ALTNAME_LEN} bytes without `/`, `:` or whitespace"
                ),
            ));
        }
        let index = self.resolve(link, &op).await?;
        let msg = altname_message(index, altname);
        if add {
            self.ack(
                RouteNetlinkMessage::NewLinkProp(msg),
                NLM_F_CREATE | NLM_F_EXCL | netlink_packet_core::NLM_F_APPEND,
                &op,
            )
            .await
        } else {
            self.ack(RouteNetlinkMessage::DelLinkProp(msg), 0, &op)
                .await
        }
    }

    /// Deletes `link` (for a veth, both ends go).
    pub async fn delete_link<'a>(&self, link: impl Into<LinkRef<'a>>) -> Result<()> {
        let link = link.into();
        let op = format!("delete interface {link}");
        let index = self.resolve(link, &op).await?;
        self.ack(RouteNetlinkMessage::DelLink(index_message(index)), 0, &op)
            .await
    }
}

/// `RTM_NEWLINKPROP` / `RTM_DELLINKPROP` body for one altname.
pub(crate) fn altname_message(index: u32, altname: &str) -> LinkMessage {
    let mut msg = index_message(index);
    msg.attributes
        .push(LinkAttribute::PropList(vec![Prop::AltIfName(
            altname.to_string(),
        )]));
    msg
}

/// The `IFLA_INFO_DATA` of a creation message, for tests.
#[cfg(test)]
fn info_data(msg: &LinkMessage) -> Option<&netlink_packet_route::link::InfoData> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            NlLinkInfo::Data(d) => Some(d),
            _ => None,
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use netlink_packet_core::{Emitable, Parseable};
    use netlink_packet_route::link::{InfoBond, InfoData, InfoKind, InfoVlan};

    /// Serializes a message and parses it back, as the kernel would see it.
    fn roundtrip(msg: &LinkMessage) -> LinkMessage {
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        LinkMessage::parse(buf.as_slice()).unwrap()
    }

    fn kind(msg: &LinkMessage) -> Option<InfoKind> {
        msg.attributes.iter().find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
                NlLinkInfo::Kind(k) => Some(k.clone()),
                _ => None,
            }),
            _ => None,
        })
    }

    #[test]
    fn vlan_message_attributes() {
        let msg = roundtrip(&vlan_message("vlan832", 7, 832));
        assert!(
            msg.attributes
                .contains(&LinkAttribute::IfName("vlan832".into()))
        );
        assert!(msg.attributes.contains(&LinkAttribute::Link(7)));
        assert_eq!(kind(&msg), Some(InfoKind::Vlan));
        assert_eq!(
            info_data(&msg),
            Some(&InfoData::Vlan(vec![InfoVlan::Id(832)]))
        );
        assert_eq!(kind_of(&msg), "vlan");
    }

    #[test]
    fn vlan_message_wire_bytes() {
        // IFLA_LINKINFO { IFLA_INFO_KIND "vlan", IFLA_INFO_DATA { IFLA_VLAN_ID u16 } }
        let msg = vlan_message("v", 3, 0x0123);
        let mut buf = vec![0u8; msg.buffer_len()];
        msg.emit(&mut buf);
        let find = |needle: &[u8]| buf.windows(needle.len()).any(|w| w == needle);
        // IFLA_INFO_KIND: len 9, type 1, "vlan\0"
        assert!(find(&[9, 0, 1, 0, b'v', b'l', b'a', b'n', 0]));
        // IFLA_VLAN_ID: len 6, type 1, 0x0123 little endian
        assert!(find(&[6, 0, 1, 0, 0x23, 0x01]));
        // IFLA_LINK (5): len 8, ifindex 3
        assert!(find(&[8, 0, 5, 0, 3, 0, 0, 0]));
    }

    #[test]
    fn bond_message_attributes() {
        let cfg = BondConfig {
            lacp_rate: Some(LacpRate::Fast),
            transmit_hash_policy: Some(TransmitHashPolicy::Layer34),
            min_links: Some(1),
            up_delay_ms: Some(200),
            down_delay_ms: Some(300),
            ..BondConfig::new(BondMode::Ieee8023ad)
        };
        let msg = roundtrip(&bond_message("bond0", &cfg));
        assert!(
            msg.attributes
                .contains(&LinkAttribute::IfName("bond0".into()))
        );
        assert_eq!(kind(&msg), Some(InfoKind::Bond));
        let Some(InfoData::Bond(infos)) = info_data(&msg) else {
            panic!("no bond info data in {msg:?}");
        };
        use netlink_packet_route::link::BondMode as M;
        for expected in [
            InfoBond::Mode(M::Ieee8023Ad),
            InfoBond::MiiMon(100),
            InfoBond::UpDelay(200),
            InfoBond::DownDelay(300),
            InfoBond::AdLacpRate(BondLacpRate::Fast),
            InfoBond::XmitHashPolicy(BondXmitHashPolicy::Layer34),
            InfoBond::MinLinks(1),
        ] {
            assert!(
                infos.contains(&expected),
                "{expected:?} missing from {infos:?}"
            );
        }
        assert_eq!(infos.len(), 7);
    }

    #[test]
    fn bond_modes_map_to_kernel_numbers() {
        use netlink_packet_route::link::BondMode as M;
        for (i, mode) in BondMode::ALL.into_iter().enumerate() {
            assert_eq!(u8::from(mode.to_netlink()), i as u8, "{mode}");
            let msg = roundtrip(&bond_message(
                "b",
                &BondConfig {
                    mode,
                    ..Default::default()
                },
            ));
            let Some(InfoData::Bond(infos)) = info_data(&msg) else {
                panic!()
            };
            assert_eq!(infos, &vec![InfoBond::Mode(M::from(i as u8))]);
            assert_eq!(mode.as_str().parse::<BondMode>().unwrap(), mode);
        }
        assert_eq!("802.3ad".parse::<BondMode>().unwrap(), BondMode::Ieee8023ad);
        assert!("lacp".parse::<BondMode>().is_err());
        assert_eq!("1sec".parse::<LacpRate>().unwrap(), LacpRate::Fast);
        assert_eq!(
            "layer-2-and-3".parse::<TransmitHashPolicy>().unwrap(),
            TransmitHashPolicy::Layer23
        );
    }

    #[test]
    fn bond_arp_monitoring() {
        let cfg = BondConfig {
            mode: BondMode::ActiveBackup,
            arp_interval_ms: Some(1000),
            arp_ip_targets: vec![Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 0, 2, 2)],
            ..Default::default()
        };
        let msg = roundtrip(&bond_message("b", &cfg));
        let Some(InfoData::Bond(infos)) = info_data(&msg) else {
            panic!()
        };
        assert!(infos.contains(&InfoBond::ArpInterval(1000)));
        assert!(infos.contains(&InfoBond::ArpIpTarget(cfg.arp_ip_targets.clone())));
    }

    #[test]
    fn other_creation_messages() {
        let veth = roundtrip(&veth_message("a", "b"));
        assert_eq!(kind(&veth), Some(InfoKind::Veth));
        assert_eq!(kind(&roundtrip(&dummy_message("d"))), Some(InfoKind::Dummy));
        let br = roundtrip(&bridge_message("br"));
        assert_eq!(kind(&br), Some(InfoKind::Bridge));
        assert!(
            !br.header.flags.contains(LinkFlags::Up),
            "bridges are created down"
        );
        let mv = roundtrip(&macvlan_message("mv", 4));
        assert_eq!(kind(&mv), Some(InfoKind::MacVlan));
        assert!(mv.attributes.contains(&LinkAttribute::Link(4)));
    }

    #[test]
    fn get_by_long_name_uses_alt_ifname() {
        let short = get_by_name_message("eth0");
        assert!(
            short
                .attributes
                .contains(&LinkAttribute::IfName("eth0".into()))
        );
        let long = get_by_name_message("vlan832-orange-internet");
        let mut buf = vec![0u8; long.buffer_len()];
        long.emit(&mut buf);
        let mut needle = vec![28, 0, 53, 0];
        needle.extend_from_slice(b"vlan832-orange-internet\0");
        assert!(buf.windows(needle.len()).any(|w| w == needle.as_slice()));
    }

    #[test]
    fn altname_message_attributes() {
        let msg = roundtrip(&altname_message(9, "a-very-long-label-of-a-vlan"));
        assert_eq!(msg.header.index, 9);
        assert!(
            msg.attributes
                .contains(&LinkAttribute::PropList(vec![Prop::AltIfName(
                    "a-very-long-label-of-a-vlan".into()
                )]))
        );
    }

    #[test]
    fn mac_addresses() {
        let mac: MacAddr = "02:AA:bb:0c:0d:ff".parse().unwrap();
        assert_eq!(mac.to_string(), "02:aa:bb:0c:0d:ff");
        assert_eq!("02-aa-bb-0c-0d-ff".parse::<MacAddr>().unwrap(), mac);
        for bad in [
            "",
            "02:aa:bb:0c:0d",
            "02:aa:bb:0c:0d:ff:00",
            "02:aa:bb:0c:0d:fg",
            "002:aa:bb:0c:0d:f",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn module_names() {
        assert_eq!(module_for_kind("vlan"), "8021q");
        assert_eq!(module_for_kind("bond"), "bonding");
        assert_eq!(module_for_kind("dummy"), "dummy");
        assert_eq!(module_for_kind("vrf"), "vrf");
        assert_eq!(module_for_kind("gre"), "ip_gre");
    }
}
