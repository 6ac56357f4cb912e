//! RouterOS value types (ports, ranges, durations, addresses, enums) and how they are spelled.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::decode::ScalarValue;
use crate::diag::{Loc, Located};

// ---------------------------------------------------------------------------
// Plain values

impl ScalarValue for String {
    const FREE_TEXT: bool = true;
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        Ok(text.to_owned())
    }
    fn to_scalar(&self) -> String {
        self.clone()
    }
}

/// RouterOS `yes`/`no` (YAML `true`/`false` are accepted too).
impl ScalarValue for bool {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        match text {
            "yes" | "true" => Ok(true),
            "no" | "false" => Ok(false),
            _ => Err("expected yes or no".to_owned()),
        }
    }
    fn to_scalar(&self) -> String {
        if *self { "yes" } else { "no" }.to_owned()
    }
}

fn parse_decimal<T: TryFrom<u64>>(text: &str, min: u64, max: u64) -> Result<T, String> {
    let range = || format!("expected a number {min}..{max}");
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(range());
    }
    let value: u64 = text.parse().map_err(|_| range())?;
    if value < min || value > max {
        return Err(range());
    }
    T::try_from(value).map_err(|_| range())
}

macro_rules! unsigned_scalar {
    ($($t:ty),*) => {$(
        impl ScalarValue for $t {
            fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
                parse_decimal(text, 0, u64::from(<$t>::MAX))
            }
            fn to_scalar(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
unsigned_scalar!(u8, u16, u32, u64);

/// Defines a bounded integer newtype.
macro_rules! bounded {
    ($(#[$meta:meta])* $name:ident($t:ty) in $min:literal ..= $max:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name($t);

        impl $name {
            /// The smallest allowed value.
            pub const MIN: $t = $min;
            /// The largest allowed value.
            pub const MAX: $t = $max;

            /// The value, if it is within range.
            #[must_use]
            #[allow(unused_comparisons, clippy::manual_range_contains)]
            pub const fn new(value: $t) -> Option<Self> {
                if value >= $min && value <= $max { Some(Self(value)) } else { None }
            }

            /// A value known at compile time to be in range (used for defaults).
            #[allow(dead_code)]
            pub(crate) const fn lit(value: $t) -> Self {
                Self(value)
            }

            /// The number.
            #[must_use]
            pub const fn get(self) -> $t {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self($min)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl TryFrom<$t> for $name {
            type Error = String;
            fn try_from(value: $t) -> Result<Self, String> {
                Self::new(value).ok_or_else(|| format!("expected a number {}..{}", $min, $max))
            }
        }

        impl From<$name> for $t {
            fn from(v: $name) -> $t {
                v.0
            }
        }

        impl ScalarValue for $name {
            fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
                parse_decimal::<$t>(text, $min, $max).map(Self)
            }
            fn to_scalar(&self) -> String {
                self.0.to_string()
            }
        }
    };
}

bounded!(
    /// A TCP/UDP port, 1..65535.
    Port(u16) in 1..=65535
);
bounded!(
    /// An 802.1Q VLAN id, 1..4094.
    VlanId(u16) in 1..=4094
);
bounded!(
    /// A route distance (administrative distance), 1..255.
    Distance(u8) in 1..=255
);
bounded!(
    /// An interface MTU, 68..65535.
    Mtu(u16) in 68..=65535
);
bounded!(
    /// An IPv4 prefix length, 0..32.
    Netmask(u8) in 0..=32
);
bounded!(
    /// How many times a routing filter prepends the own AS, 0..16.
    Prepend(u8) in 0..=16
);
bounded!(
    /// An IP time-to-live, 1..255.
    Ttl(u8) in 1..=255
);
bounded!(
    /// A BFD detection multiplier (packets missed before the session goes down), 1..255.
    Multiplier(u8) in 1..=255
);

/// A BGP AS number, 1..4294967295; asdot (`1.10`) is accepted on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Asn(u32);

impl Asn {
    /// The AS number, if not 0.
    #[must_use]
    pub const fn new(value: u32) -> Option<Self> {
        if value == 0 { None } else { Some(Self(value)) }
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for Asn {
    fn default() -> Self {
        Self(1)
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ScalarValue for Asn {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        let err = || "expected an AS number 1..4294967295 (or asdot 1.10)".to_owned();
        let value = if let Some((high, low)) = text.split_once('.') {
            let high: u16 = parse_decimal(high, 0, 65535).map_err(|_| err())?;
            let low: u16 = parse_decimal(low, 0, 65535).map_err(|_| err())?;
            (u32::from(high) << 16) | u32::from(low)
        } else {
            parse_decimal(text, 1, u64::from(u32::MAX)).map_err(|_| err())?
        };
        Self::new(value).ok_or_else(err)
    }
    fn to_scalar(&self) -> String {
        self.0.to_string()
    }
}

// ---------------------------------------------------------------------------
// Durations

/// A RouterOS time value: `180` (seconds), `180s`, `3m`, `1h30m`, `1d`, `1w`,
/// `500ms` or `00:03:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Duration(std::time::Duration);

impl Duration {
    /// A duration of `secs` seconds.
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Self(std::time::Duration::from_secs(secs))
    }

    /// A duration of `ms` milliseconds.
    #[must_use]
    pub const fn from_millis(ms: u64) -> Self {
        Self(std::time::Duration::from_millis(ms))
    }

    /// As a standard duration.
    #[must_use]
    pub const fn get(self) -> std::time::Duration {
        self.0
    }

    fn parse(text: &str) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return text.parse().ok().map(Self::from_secs);
        }
        if text.contains(':') {
            let parts: Vec<&str> = text.split(':').collect();
            let [h, m, s] = parts.as_slice() else {
                return None;
            };
            let h: u64 = parse_decimal(h, 0, 1_000_000).ok()?;
            let m: u64 = parse_decimal(m, 0, 59).ok()?;
            let s: u64 = parse_decimal(s, 0, 59).ok()?;
            return Some(Self::from_secs(h * 3600 + m * 60 + s));
        }
        let mut total_ms: u64 = 0;
        let mut rest = text;
        let mut last_unit = u64::MAX;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let (number, tail) = rest.split_at(digits);
            let number: u64 = number.parse().ok()?;
            let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
            let (unit, tail) = tail.split_at(unit_len);
            let unit_ms: u64 = match unit {
                "w" => 604_800_000,
                "d" => 86_400_000,
                "h" => 3_600_000,
                "m" => 60_000,
                "s" => 1_000,
                "ms" => 1,
                _ => return None,
            };
            // Units go from the largest to the smallest, each at most once.
            if unit_ms >= last_unit {
                return None;
            }
            last_unit = unit_ms;
            total_ms = total_ms.checked_add(number.checked_mul(unit_ms)?)?;
            rest = tail;
        }
        Some(Self::from_millis(total_ms))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("w", 604_800_000),
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl ScalarValue for Duration {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        Self::parse(text).ok_or_else(|| "expected a time such as 180, 30s, 3m or 1h30m".to_owned())
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

// ---------------------------------------------------------------------------
// Secrets

/// A password or key. `Debug` does not show it; `export_hiding_secrets` writes `***`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    #[must_use]
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl ScalarValue for Secret {
    const FREE_TEXT: bool = true;
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        Ok(Self(text.to_owned()))
    }
    fn to_scalar(&self) -> String {
        self.0.clone()
    }
}

// ---------------------------------------------------------------------------
// Addresses

impl ScalarValue for Ipv4Addr {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        text.parse()
            .map_err(|_| "expected an IPv4 address such as 192.168.0.1".to_owned())
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

impl ScalarValue for Ipv6Addr {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        text.parse()
            .map_err(|_| "expected an IPv6 address such as 2001:db8::1".to_owned())
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

impl ScalarValue for IpAddr {
    const EXPORT_AS_SEQ: bool = true;
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        text.parse()
            .map_err(|_| "expected an IP address".to_owned())
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// Parses `a.b.c.d/len`, or a bare address meaning a host prefix.
fn parse_net<N, A>(
    text: &str,
    what: &str,
    full: u8,
    make: fn(A, u8) -> Option<N>,
) -> Result<N, String>
where
    A: std::str::FromStr,
{
    let err = || format!("expected {what}");
    let (addr, len) = match text.split_once('/') {
        Some((addr, len)) => {
            let len: u8 = parse_decimal(len, 0, u64::from(full))
                .map_err(|_| format!("prefix length must be 0..{full}"))?;
            (addr, len)
        }
        None => (text, full),
    };
    let addr: A = addr.parse().map_err(|_| err())?;
    make(addr, len).ok_or_else(err)
}

impl ScalarValue for Ipv4Net {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        parse_net(text, "an IPv4 prefix such as 192.168.0.0/24", 32, |a, l| {
            Ipv4Net::new(a, l).ok()
        })
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

impl ScalarValue for Ipv6Net {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        parse_net(text, "an IPv6 prefix such as 2001:db8::/64", 128, |a, l| {
            Ipv6Net::new(a, l).ok()
        })
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

impl ScalarValue for IpNet {
    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String> {
        if text.contains(':') {
            Ipv6Net::parse_scalar(text, loc).map(IpNet::V6)
        } else {
            Ipv4Net::parse_scalar(text, loc).map(IpNet::V4)
        }
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// An address match or target: a prefix (`10.0.0.0/8`, a bare address being a
/// host prefix) or a range (`10.0.0.1-10.0.0.9`), IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressSpec {
    /// A prefix.
    Net(IpNet),
    /// An inclusive range of addresses of one family.
    Range(IpAddr, IpAddr),
}

impl AddressSpec {
    /// Whether this is an IPv6 match.
    #[must_use]
    pub fn is_ipv6(&self) -> bool {
        match self {
            Self::Net(n) => matches!(n, IpNet::V6(_)),
            Self::Range(a, _) => a.is_ipv6(),
        }
    }
}

impl Default for AddressSpec {
    fn default() -> Self {
        Self::Net(IpNet::V4(Ipv4Net::default()))
    }
}

impl fmt::Display for AddressSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Net(n) if n.prefix_len() == n.max_prefix_len() => n.addr().fmt(f),
            Self::Net(n) => n.fmt(f),
            Self::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

impl ScalarValue for AddressSpec {
    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String> {
        if let Some((a, b)) = text.split_once('-') {
            let err = || "expected an address range such as 10.0.0.1-10.0.0.9".to_owned();
            let a: IpAddr = a.trim().parse().map_err(|_| err())?;
            let b: IpAddr = b.trim().parse().map_err(|_| err())?;
            if a.is_ipv4() != b.is_ipv4() {
                return Err("the two ends of the range are of different families".to_owned());
            }
            if a > b {
                return Err("the range ends before it starts".to_owned());
            }
            Ok(Self::Range(a, b))
        } else {
            IpNet::parse_scalar(text, loc)
                .map(Self::Net)
                .map_err(|_| "expected an address, a prefix or a range a-b".to_owned())
        }
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// A match that a leading `!` negates (`!ether1`, `!10.0.0.0/8`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Negatable<T> {
    /// Whether the match is negated (`!`).
    pub negated: bool,
    /// What is matched.
    pub value: T,
}

impl<T> Negatable<T> {
    /// A plain (not negated) match.
    pub fn plain(value: T) -> Self {
        Self {
            negated: false,
            value,
        }
    }
}

impl<T: ScalarValue> ScalarValue for Negatable<T> {
    const FREE_TEXT: bool = T::FREE_TEXT;
    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String> {
        match text.strip_prefix('!') {
            Some(rest) => Ok(Self {
                negated: true,
                value: T::parse_scalar(rest, Loc::new(loc.line, loc.col + 1))?,
            }),
            None => Ok(Self::plain(T::parse_scalar(text, loc)?)),
        }
    }
    fn to_scalar(&self) -> String {
        let inner = self.value.to_scalar();
        if self.negated {
            format!("!{inner}")
        } else {
            inner
        }
    }
}

impl<T> Negatable<Located<T>> {
    /// Where the matched value was written.
    pub fn loc(&self) -> Loc {
        self.value.loc
    }
}

/// A MAC address, written `AA:BB:CC:DD:EE:FF`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddress(pub [u8; 6]);

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02X}:{b:02X}:{c:02X}:{d:02X}:{e:02X}:{g:02X}")
    }
}

impl ScalarValue for MacAddress {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        let err = || "expected a MAC address such as 00:11:22:AA:BB:CC".to_owned();
        let parts: Vec<&str> = text.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(err());
        }
        let mut out = [0u8; 6];
        for (slot, part) in out.iter_mut().zip(parts) {
            if part.len() != 2 {
                return Err(err());
            }
            *slot = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        Ok(Self(out))
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// Where to connect: a host name or an address (`vpn.example.com`, `203.0.113.10`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An address.
    Address(IpAddr),
    /// A DNS name, resolved with the servers of `ip/dns`.
    Name(String),
}

impl Default for Host {
    fn default() -> Self {
        Self::Name(String::new())
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(a) => a.fmt(f),
            Self::Name(n) => f.write_str(n),
        }
    }
}

impl ScalarValue for Host {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        if let Ok(addr) = text.parse::<IpAddr>() {
            return Ok(Self::Address(addr));
        }
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let name = text.strip_suffix('.').unwrap_or(text);
        let all_numeric = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if name.len() <= 253 && !all_numeric && name.split('.').all(label_ok) {
            Ok(Self::Name(text.to_owned()))
        } else {
            Err("expected a host name or an IP address".to_owned())
        }
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// A route gateway: an address, or the name of an interface.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Gateway<A> {
    /// A next-hop address.
    Address(A),
    /// An interface (point-to-point links, tunnels).
    Interface(Located<String>),
}

impl<A: ScalarValue + fmt::Display> ScalarValue for Gateway<A> {
    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String> {
        if let Ok(addr) = A::parse_scalar(text, loc) {
            return Ok(Self::Address(addr));
        }
        // Something shaped like an address is a broken address, not an interface.
        let looks_v4 = text.bytes().all(|b| b.is_ascii_digit() || b == b'.') && text.contains('.');
        let looks_v6 = text.contains(':');
        if looks_v4 || looks_v6 {
            return Err(A::parse_scalar(text, loc).err().unwrap_or_default());
        }
        Ok(Self::Interface(Located::new(text.to_owned(), loc)))
    }
    fn to_scalar(&self) -> String {
        match self {
            Self::Address(a) => a.to_string(),
            Self::Interface(i) => i.value.clone(),
        }
    }
}

/// A PPP address: an address, or the name of an IP pool.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AddressOrPool {
    /// A fixed address.
    Address(Ipv4Addr),
    /// An `ip/pool` name.
    Pool(String),
}

impl ScalarValue for AddressOrPool {
    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String> {
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            Ipv4Addr::parse_scalar(text, loc).map(Self::Address)
        } else {
            Ok(Self::Pool(text.to_owned()))
        }
    }
    fn to_scalar(&self) -> String {
        match self {
            Self::Address(a) => a.to_string(),
            Self::Pool(p) => p.clone(),
        }
    }
}

// ---------------------------------------------------------------------------
// Ranges

/// A port or an inclusive port range (`1194`, `8000-8100`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRange {
    /// First port.
    pub start: Port,
    /// Last port (equal to `start` for a single port).
    pub end: Port,
}

impl PortRange {
    /// A single port.
    #[must_use]
    pub const fn single(port: Port) -> Self {
        Self {
            start: port,
            end: port,
        }
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end {
            write!(f, "{}", self.start)
        } else {
            write!(f, "{}-{}", self.start, self.end)
        }
    }
}

impl ScalarValue for PortRange {
    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String> {
        let port = |t: &str| {
            Port::parse_scalar(t.trim(), loc).map_err(|_| "ports are 1..65535".to_owned())
        };
        match text.split_once('-') {
            Some((a, b)) => {
                let (start, end) = (port(a)?, port(b)?);
                if start > end {
                    return Err("the range ends before it starts".to_owned());
                }
                Ok(Self { start, end })
            }
            None => port(text).map(Self::single),
        }
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// A prefix-length match, `24` or `23-32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixLengthRange {
    /// Shortest prefix length matched.
    pub min: u8,
    /// Longest prefix length matched.
    pub max: u8,
}

impl fmt::Display for PrefixLengthRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.min == self.max {
            write!(f, "{}", self.min)
        } else {
            write!(f, "{}-{}", self.min, self.max)
        }
    }
}

impl ScalarValue for PrefixLengthRange {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        let len = |t: &str| -> Result<u8, String> {
            parse_decimal(t.trim(), 0, 128).map_err(|_| "prefix lengths are 0..128".to_owned())
        };
        let (min, max) = match text.split_once('-') {
            Some((a, b)) => (len(a)?, len(b)?),
            None => {
                let l = len(text)?;
                (l, l)
            }
        };
        if min > max {
            return Err("the range ends before it starts".to_owned());
        }
        Ok(Self { min, max })
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

// ---------------------------------------------------------------------------
// Firewall values

/// An IP protocol, by RouterOS name or number 0..255. Stored as the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Protocol(pub u8);

const PROTOCOL_NAMES: &[(&str, u8)] = &[
    ("icmp", 1),
    ("igmp", 2),
    ("ggp", 3),
    ("ip-encap", 4),
    ("st", 5),
    ("tcp", 6),
    ("egp", 8),
    ("pup", 12),
    ("udp", 17),
    ("hmp", 20),
    ("xns-idp", 22),
    ("rdp", 27),
    ("iso-tp4", 29),
    ("dccp", 33),
    ("xtp", 36),
    ("ddp", 37),
    ("idpr-cmtp", 38),
    ("ipv6-encap", 41),
    ("ipv6-route", 43),
    ("ipv6-frag", 44),
    ("idrp", 45),
    ("rsvp", 46),
    ("gre", 47),
    ("ipsec-esp", 50),
    ("ipsec-ah", 51),
    ("icmpv6", 58),
    ("ipv6-nonxt", 59),
    ("ipv6-opts", 60),
    ("rspf", 73),
    ("vmtp", 81),
    ("ospf", 89),
    ("ipip", 94),
    ("etherip", 97),
    ("encap", 98),
    ("pim", 103),
    ("vrrp", 112),
    ("l2tp", 115),
    ("sctp", 132),
    ("udp-lite", 136),
];

impl Protocol {
    /// TCP.
    pub const TCP: Self = Self(6);
    /// UDP.
    pub const UDP: Self = Self(17);

    /// The RouterOS name, if the protocol has one.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        PROTOCOL_NAMES
            .iter()
            .find(|(_, n)| *n == self.0)
            .map(|(name, _)| *name)
    }

    /// Whether the protocol has ports (tcp, udp, udp-lite, sctp, dccp).
    #[must_use]
    pub fn has_ports(self) -> bool {
        matches!(self.0, 6 | 17 | 33 | 132 | 136)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => self.0.fmt(f),
        }
    }
}

impl ScalarValue for Protocol {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        if text.bytes().all(|b| b.is_ascii_digit()) {
            return parse_decimal(text, 0, 255)
                .map(Self)
                .map_err(|_| "protocol numbers are 0..255".to_owned());
        }
        let name = if text == "udplite" { "udp-lite" } else { text };
        PROTOCOL_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, number)| Self(*number))
            .ok_or_else(|| {
                "expected a protocol name (tcp, udp, icmp, gre, ipsec-esp, ...) or a number 0..255"
                    .to_owned()
            })
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// An ICMP match: type, and optionally a code or code range (`8`, `8:0`, `3:0-3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IcmpOptions {
    /// ICMP type.
    pub icmp_type: u8,
    /// Inclusive code range, `None` for any code.
    pub codes: Option<(u8, u8)>,
}

impl fmt::Display for IcmpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.codes {
            None => write!(f, "{}", self.icmp_type),
            Some((a, b)) if a == b => write!(f, "{}:{a}", self.icmp_type),
            Some((a, b)) => write!(f, "{}:{a}-{b}", self.icmp_type),
        }
    }
}

impl ScalarValue for IcmpOptions {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        let err = || "expected type[:code[-code]] such as 8:0 or 3:0-3".to_owned();
        let num = |t: &str| parse_decimal::<u8>(t, 0, 255).map_err(|_| err());
        let (t, codes) = match text.split_once(':') {
            None => (num(text)?, None),
            Some((t, c)) => {
                let codes = match c.split_once('-') {
                    Some((a, b)) => (num(a)?, num(b)?),
                    None => (num(c)?, num(c)?),
                };
                if codes.0 > codes.1 {
                    return Err(err());
                }
                (num(t)?, Some(codes))
            }
        };
        Ok(Self {
            icmp_type: t,
            codes,
        })
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

ros_enum! {
    /// Unit of a rate limit.
    pub enum LimitMode {
        /// Count packets.
        #[default]
        Packet = "packet",
        /// Count bytes.
        Bytes = "bytes",
    }
}

/// A rate limit `rate[/time],burst:mode` (`10,5:packet`, `50/1m,10:packet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    /// How many per `per`.
    pub rate: u32,
    /// The period of `rate` (1s when not written).
    pub per: Duration,
    /// Burst size.
    pub burst: u32,
    /// Packets or bytes.
    pub mode: LimitMode,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.rate)?;
        if self.per != Duration::from_secs(1) {
            write!(f, "/{}", self.per)?;
        }
        write!(f, ",{}:{}", self.burst, self.mode)
    }
}

impl ScalarValue for Limit {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        let err = || "expected rate[/time],burst:mode such as 10,5:packet".to_owned();
        let (rate_part, rest) = text.split_once(',').ok_or_else(err)?;
        let (burst, mode) = rest.split_once(':').ok_or_else(err)?;
        let (rate, per) = match rate_part.split_once('/') {
            Some((r, p)) => {
                let p = if p.bytes().all(|b| b.is_ascii_alphabetic()) {
                    format!("1{p}")
                } else {
                    p.to_owned()
                };
                (r, Duration::parse(&p).ok_or_else(err)?)
            }
            None => (rate_part, Duration::from_secs(1)),
        };
        if per == Duration::default() {
            return Err(err());
        }
        Ok(Self {
            rate: parse_decimal(rate, 0, u64::from(u32::MAX)).map_err(|_| err())?,
            per,
            burst: parse_decimal(burst, 0, u64::from(u32::MAX)).map_err(|_| err())?,
            mode: mode.parse().map_err(|_| err())?,
        })
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

/// The MSS a `change-mss` rule sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NewMss {
    /// `clamp-to-pmtu`: the path MTU minus headers.
    ClampToPmtu,
    /// A fixed value.
    Value(u16),
}

impl fmt::Display for NewMss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClampToPmtu => f.write_str("clamp-to-pmtu"),
            Self::Value(v) => v.fmt(f),
        }
    }
}

impl ScalarValue for NewMss {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        if text == "clamp-to-pmtu" {
            return Ok(Self::ClampToPmtu);
        }
        parse_decimal(text, 1, 65535)
            .map(Self::Value)
            .map_err(|_| "expected clamp-to-pmtu or a number 1..65535".to_owned())
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

ros_enum! {
    /// A connection tracking state.
    pub enum ConnectionState {
        /// Part of a known connection.
        #[default]
        Established = "established",
        /// Related to a known connection (ICMP errors, FTP data).
        Related = "related",
        /// Starts a new connection.
        New = "new",
        /// Not part of any connection.
        Invalid = "invalid",
        /// Exempted from tracking.
        Untracked = "untracked",
    }
}

ros_enum! {
    /// A TCP flag for `tcp-flags`.
    pub enum TcpFlag {
        /// FIN.
        #[default]
        Fin = "fin",
        /// SYN.
        Syn = "syn",
        /// RST.
        Rst = "rst",
        /// PSH.
        Psh = "psh",
        /// ACK.
        Ack = "ack",
        /// URG.
        Urg = "urg",
        /// ECE.
        Ece = "ece",
        /// CWR.
        Cwr = "cwr",
    }
}

// ---------------------------------------------------------------------------
// BGP values

/// A BGP community: `AS:value` or a well-known name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Community {
    /// `AS:value`.
    Standard(u16, u16),
    /// `internet`.
    Internet,
    /// `no-export`.
    NoExport,
    /// `no-advertise`.
    NoAdvertise,
    /// `local-as` (NO_EXPORT_SUBCONFED).
    LocalAs,
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Standard(a, b) => write!(f, "{a}:{b}"),
            Self::Internet => f.write_str("internet"),
            Self::NoExport => f.write_str("no-export"),
            Self::NoAdvertise => f.write_str("no-advertise"),
            Self::LocalAs => f.write_str("local-as"),
        }
    }
}

impl ScalarValue for Community {
    fn parse_scalar(text: &str, _loc: Loc) -> Result<Self, String> {
        let err = || {
            "expected AS:value (0..65535 each) or internet, no-export, no-advertise, local-as"
                .to_owned()
        };
        match text {
            "internet" => Ok(Self::Internet),
            "no-export" => Ok(Self::NoExport),
            "no-advertise" => Ok(Self::NoAdvertise),
            "local-as" => Ok(Self::LocalAs),
            _ => {
                let (a, b) = text.split_once(':').ok_or_else(err)?;
                Ok(Self::Standard(
                    parse_decimal(a, 0, 65535).map_err(|_| err())?,
                    parse_decimal(b, 0, 65535).map_err(|_| err())?,
                ))
            }
        }
    }
    fn to_scalar(&self) -> String {
        self.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<T: ScalarValue>(s: &str) -> Result<T, String> {
        T::parse_scalar(s, Loc::default())
    }

    #[test]
    fn durations() {
        for (text, secs, canon) in [
            ("180", 180, "3m"),
            ("180s", 180, "3m"),
            ("3m", 180, "3m"),
            ("1h30m", 5400, "1h30m"),
            ("00:03:00", 180, "3m"),
            ("1d", 86400, "1d"),
            ("0", 0, "0s"),
        ] {
            let d: Duration = parse(text).unwrap_or_default();
            assert_eq!(d.get().as_secs(), secs, "{text}");
            assert_eq!(d.to_string(), canon);
        }
        assert!(parse::<Duration>("3x").is_err());
        assert!(parse::<Duration>("3m1h").is_err());
        assert!(parse::<Duration>("").is_err());
        assert!(parse::<Duration>("m").is_err());
    }

    #[test]
    fn asn() {
        assert_eq!(parse::<Asn>("1.10").map(Asn::get), Ok(65546));
        assert_eq!(parse::<Asn>("4294967295").map(Asn::get), Ok(u32::MAX));
        assert!(parse::<Asn>("0").is_err());
        assert!(parse::<Asn>("4294967296").is_err());
        assert!(parse::<Asn>("0.0").is_err());
    }

    #[test]
    fn limits_and_ports() {
        let l: Limit = parse("10,5:packet").unwrap_or(Limit {
            rate: 0,
            per: Duration::default(),
            burst: 0,
            mode: LimitMode::Bytes,
        });
        assert_eq!(l.to_string(), "10,5:packet");
        assert_eq!(
            parse::<Limit>("50/1m,10:bytes").map(|l| l.to_string()),
            Ok("50/1m,10:bytes".to_owned())
        );
        assert_eq!(
            parse::<PortRange>("8000-8100").map(|p| p.to_string()),
            Ok("8000-8100".to_owned())
        );
        assert!(parse::<PortRange>("0").is_err());
        assert!(parse::<PortRange>("70000").is_err());
        assert!(parse::<PortRange>("90-80").is_err());
    }

    #[test]
    fn addresses() {
        assert_eq!(
            parse::<AddressSpec>("10.0.0.1").map(|a| a.to_string()),
            Ok("10.0.0.1".to_owned())
        );
        assert!(parse::<AddressSpec>("10.0.0.1-2001:db8::1").is_err());
        assert!(parse::<Ipv4Net>("10.0.0.0/33").is_err());
        assert_eq!(
            parse::<Ipv4Net>("192.168.0.254/24").map(|n| n.to_string()),
            Ok("192.168.0.254/24".to_owned())
        );
        assert!(matches!(
            parse::<Host>("vpn.example.com"),
            Ok(Host::Name(_))
        ));
        assert!(parse::<Host>("bad host").is_err());
        assert!(parse::<Host>("1.2.3.300").is_err());
        assert!(matches!(
            parse::<Gateway<Ipv4Addr>>("ether1"),
            Ok(Gateway::Interface(_))
        ));
        assert!(parse::<Gateway<Ipv4Addr>>("10.0.0.300").is_err());
        assert_eq!(
            parse::<MacAddress>("00:11:22:aa:bb:cc").map(|m| m.to_string()),
            Ok("00:11:22:AA:BB:CC".to_owned())
        );
    }

    #[test]
    fn protocols() {
        assert_eq!(parse::<Protocol>("gre"), Ok(Protocol(47)));
        assert_eq!(
            parse::<Protocol>("6").map(|p| p.to_string()),
            Ok("tcp".into())
        );
        assert_eq!(parse::<Protocol>("udplite"), Ok(Protocol(136)));
        assert!(parse::<Protocol>("256").is_err());
        assert!(parse::<Protocol>("foo").is_err());
    }
}
