//! A map keyed by prefix, one table per family: IPv4 prefixes in a [`V4Map`] (sorted
//! slots per /16, 4 bytes of key per entry), IPv6 ones in a hash map (foldhash: fast,
//! seeded per process).

use std::collections::HashMap;
use std::net::Ipv6Addr;

use ipnet::{IpNet, Ipv6Net};

use super::prefix_map_v4::V4Map;

type Table<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// An IPv6 prefix as a key: address bytes and length (17 bytes, no padding).
type V6Key = ([u8; 16], u8);

fn v6_key(net: &Ipv6Net) -> V6Key {
    (net.addr().octets(), net.prefix_len())
}

fn v6_net(key: &V6Key) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::from(key.0), key.1)
}

/// Values per prefix.
#[derive(Debug)]
pub(crate) struct PrefixMap<V> {
    v4: V4Map<V>,
    v6: Table<V6Key, V>,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        Self {
            v4: V4Map::default(),
            v6: Table::default(),
        }
    }
}

impl<V> PrefixMap<V> {
    pub(crate) fn get(&self, prefix: &IpNet) -> Option<&V> {
        match prefix {
            IpNet::V4(n) => self.v4.get(n),
            IpNet::V6(n) => self.v6.get(&v6_key(n)),
        }
    }

    pub(crate) fn get_mut(&mut self, prefix: &IpNet) -> Option<&mut V> {
        match prefix {
            IpNet::V4(n) => self.v4.get_mut(n),
            IpNet::V6(n) => self.v6.get_mut(&v6_key(n)),
        }
    }

    /// Inserts or replaces; the value replaced.
    pub(crate) fn insert(&mut self, prefix: IpNet, value: V) -> Option<V> {
        match prefix {
            IpNet::V4(n) => self.v4.insert(n, value),
            IpNet::V6(n) => self.v6.insert(v6_key(&n), value),
        }
    }

    pub(crate) fn remove(&mut self, prefix: &IpNet) -> Option<V> {
        match prefix {
            IpNet::V4(n) => self.v4.remove(n),
            IpNet::V6(n) => self.v6.remove(&v6_key(n)),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    pub(crate) fn clear(&mut self) {
        self.v4.clear();
        self.v6.clear();
    }

    /// Every prefix (IPv4 first, otherwise in no order).
    pub(crate) fn keys(&self) -> impl Iterator<Item = IpNet> + '_ {
        let v4 = self.v4.keys().map(IpNet::V4);
        v4.chain(self.v6.keys().map(|k| IpNet::V6(v6_net(k))))
    }

    /// Every entry (IPv4 first, otherwise in no order).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (IpNet, &V)> + '_ {
        let v4 = self.v4.iter().map(|(k, v)| (IpNet::V4(k), v));
        v4.chain(self.v6.iter().map(|(k, v)| (IpNet::V6(v6_net(k)), v)))
    }

    /// Every entry, mutable.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (IpNet, &mut V)> + '_ {
        let v4 = self.v4.iter_mut().map(|(k, v)| (IpNet::V4(k), v));
        v4.chain(self.v6.iter_mut().map(|(k, v)| (IpNet::V6(v6_net(k)), v)))
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.v4.values_mut().chain(self.v6.values_mut())
    }

    /// Keeps the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(IpNet, &mut V) -> bool) {
        self.v4.retain(|k, v| keep(IpNet::V4(k), v));
        self.v6.retain(|k, v| keep(IpNet::V6(v6_net(k)), v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    #[test]
    fn keys_round_trip_and_lengths_stay_apart() {
        let mut m = PrefixMap::default();
        for (i, p) in [
            "0.0.0.0/0",
            "10.0.0.0/8",
            "10.0.0.0/24",
            "255.255.255.255/32",
            "::/0",
            "2001:db8::/32",
            "2001:db8::/48",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        ]
        .into_iter()
        .enumerate()
        {
            assert_eq!(m.insert(net(p), i), None);
        }
        assert_eq!(m.len(), 8);
        assert_eq!(m.get(&net("10.0.0.0/24")), Some(&2));
        assert_eq!(m.get(&net("10.0.0.0/16")), None);
        assert_eq!(m.get(&net("2001:db8::/48")), Some(&6));
        let mut keys: Vec<String> = m.keys().map(|k| k.to_string()).collect();
        keys.sort();
        assert!(keys.contains(&"255.255.255.255/32".to_string()));
        assert!(keys.contains(&"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128".to_string()));
        assert_eq!(m.remove(&net("10.0.0.0/8")), Some(1));
        m.retain(|p, _| p.prefix_len() != 0);
        assert_eq!(m.len(), 5);
        assert!(m.iter().all(|(p, v)| m.get(&p) == Some(v)));
        m.clear();
        assert_eq!(m.len(), 0);
    }
}
