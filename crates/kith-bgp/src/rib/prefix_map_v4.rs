//! IPv4 prefixes in slots by the top 16 bits of their address, each slot two sorted
//! parallel arrays: keys (the low 16 address bits and the length, 4 bytes) and values.
//! A full table costs 4 bytes of key beside each value and no empty buckets (a hash map
//! past 917,504 entries has 2,097,152 buckets: half of them empty at 1,000,000), and
//! never rehashes the whole table at once. A lookup is an index into the slot directory
//! and a binary search in one slot (a full table has a few hundred prefixes per /16 at
//! most; a peer announcing many more in one /16 is bounded by its prefix limit).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Slot directory entry of a /16 without prefixes.
const NO_SLOT: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<V> {
    /// The top 16 bits of the addresses in this slot.
    top: u16,
    /// Sorted: low 16 address bits << 8 | length.
    keys: Vec<u32>,
    /// `values[i]` belongs to `keys[i]`.
    values: Vec<V>,
}

impl<V> Slot<V> {
    fn net(&self, key: u32) -> Ipv4Net {
        let addr = Ipv4Addr::from((u32::from(self.top) << 16) | (key >> 8));
        // Lossless: the length (at most 32, checked when the key was made) is the low
        // byte of the key.
        Ipv4Net::new_assert(addr, (key & 0xff) as u8)
    }
}

/// Values per IPv4 prefix.
#[derive(Debug)]
pub(crate) struct V4Map<V> {
    /// Index into `slots` per /16 (`NO_SLOT`: none); empty until the first insert.
    directory: Vec<u32>,
    slots: Vec<Slot<V>>,
    len: usize,
}

impl<V> Default for V4Map<V> {
    fn default() -> Self {
        Self {
            directory: Vec::new(),
            slots: Vec::new(),
            len: 0,
        }
    }
}

/// Where a prefix goes: its /16 and its key inside the slot.
fn split(net: &Ipv4Net) -> (usize, u32) {
    let addr = u32::from(net.addr());
    (
        (addr >> 16) as usize,
        ((addr & 0xffff) << 8) | u32::from(net.prefix_len()),
    )
}

impl<V> V4Map<V> {
    fn slot(&self, top: usize) -> Option<&Slot<V>> {
        let i = *self.directory.get(top)?;
        self.slots.get(i as usize)
    }

    fn slot_mut(&mut self, top: usize) -> Option<&mut Slot<V>> {
        let i = *self.directory.get(top)?;
        self.slots.get_mut(i as usize)
    }

    pub(crate) fn get(&self, net: &Ipv4Net) -> Option<&V> {
        let (top, key) = split(net);
        let slot = self.slot(top)?;
        let i = slot.keys.binary_search(&key).ok()?;
        slot.values.get(i)
    }

    pub(crate) fn get_mut(&mut self, net: &Ipv4Net) -> Option<&mut V> {
        let (top, key) = split(net);
        let slot = self.slot_mut(top)?;
        let i = slot.keys.binary_search(&key).ok()?;
        slot.values.get_mut(i)
    }

    /// Inserts or replaces; the value replaced.
    pub(crate) fn insert(&mut self, net: Ipv4Net, value: V) -> Option<V> {
        let (top, key) = split(&net);
        if self.directory.is_empty() {
            self.directory = vec![NO_SLOT; 1 << 16];
        }
        if self.directory.get(top) == Some(&NO_SLOT) {
            let index = u32::try_from(self.slots.len()).unwrap_or(NO_SLOT);
            self.slots.push(Slot {
                top: top as u16,
                keys: Vec::new(),
                values: Vec::new(),
            });
            if let Some(d) = self.directory.get_mut(top) {
                *d = index;
            }
        }
        let slot = self.slot_mut(top)?;
        match slot.keys.binary_search(&key) {
            Ok(i) => slot
                .values
                .get_mut(i)
                .map(|old| std::mem::replace(old, value)),
            Err(i) => {
                slot.keys.insert(i, key);
                slot.values.insert(i, value);
                self.len += 1;
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, net: &Ipv4Net) -> Option<V> {
        let (top, key) = split(net);
        let slot = self.slot_mut(top)?;
        let i = slot.keys.binary_search(&key).ok()?;
        slot.keys.remove(i);
        let value = slot.values.remove(i);
        if slot.keys.len() * 4 < slot.keys.capacity() {
            slot.keys.shrink_to(slot.keys.len() * 2);
            slot.values.shrink_to(slot.values.len() * 2);
        }
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn clear(&mut self) {
        *self = Self::default();
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        self.slots
            .iter()
            .flat_map(|s| s.keys.iter().map(move |k| s.net(*k)))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (Ipv4Net, &V)> + '_ {
        self.slots
            .iter()
            .flat_map(|s| s.keys.iter().map(move |k| s.net(*k)).zip(&s.values))
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (Ipv4Net, &mut V)> + '_ {
        self.slots.iter_mut().flat_map(|s| {
            let top = s.top;
            let nets = s.keys.iter().map(move |k| {
                let addr = Ipv4Addr::from((u32::from(top) << 16) | (k >> 8));
                Ipv4Net::new_assert(addr, (k & 0xff) as u8)
            });
            nets.zip(s.values.iter_mut())
        })
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.slots.iter_mut().flat_map(|s| s.values.iter_mut())
    }

    /// Keeps the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(Ipv4Net, &mut V) -> bool) {
        for slot in &mut self.slots {
            let nets: Vec<Ipv4Net> = slot.keys.iter().map(|k| slot.net(*k)).collect();
            let flags: Vec<bool> = nets
                .into_iter()
                .zip(slot.values.iter_mut())
                .map(|(n, v)| keep(n, v))
                .collect();
            let mut f = flags.iter();
            slot.keys.retain(|_| *f.next().unwrap_or(&true));
            let mut f = flags.iter();
            slot.values.retain(|_| *f.next().unwrap_or(&true));
        }
        self.len = self.slots.iter().map(|s| s.keys.len()).sum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn sorted_slots_find_replace_and_remove() {
        let mut m = V4Map::default();
        let nets = [
            "10.1.2.0/24",
            "10.1.0.0/16",
            "10.1.0.0/24",
            "10.0.0.0/8",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "10.1.255.0/24",
        ];
        for (i, n) in nets.iter().enumerate() {
            assert_eq!(m.insert(net(n), i), None);
        }
        assert_eq!(m.len(), 7);
        for (i, n) in nets.iter().enumerate() {
            assert_eq!(m.get(&net(n)), Some(&i), "{n}");
        }
        assert_eq!(m.get(&net("10.1.2.0/23")), None);
        assert_eq!(m.insert(net("10.1.0.0/16"), 9), Some(1));
        assert_eq!(m.len(), 7);
        *m.get_mut(&net("0.0.0.0/0")).unwrap() += 10;
        assert_eq!(m.get(&net("0.0.0.0/0")), Some(&14));
        let mut all: Vec<String> = m.keys().map(|n| n.to_string()).collect();
        all.sort();
        let mut want: Vec<String> = nets.iter().map(|n| n.to_string()).collect();
        want.sort();
        assert_eq!(all, want);
        assert!(m.iter().all(|(n, v)| m.get(&n) == Some(v)));
        assert_eq!(m.remove(&net("10.1.0.0/24")), Some(2));
        assert_eq!(m.remove(&net("10.1.0.0/24")), None);
        m.retain(|n, _| n.prefix_len() >= 16);
        let mut left: Vec<String> = m.iter().map(|(n, v)| format!("{n}={v}")).collect();
        left.sort();
        assert_eq!(
            left,
            [
                "10.1.0.0/16=9",
                "10.1.2.0/24=0",
                "10.1.255.0/24=6",
                "255.255.255.255/32=5"
            ]
        );
        assert_eq!(m.len(), 4);
        for v in m.values_mut() {
            *v = 1;
        }
        for (_, v) in m.iter_mut() {
            *v += 1;
        }
        assert!(m.iter().all(|(_, v)| *v == 2));
        m.clear();
        assert_eq!((m.len(), m.get(&net("10.1.0.0/16"))), (0, None));
    }

    #[test]
    fn many_prefixes_in_any_order() {
        let mut m = V4Map::default();
        // 20,000 /24s and /32s over a few /16s, inserted in a scrambled order.
        let n: u32 = 20_000;
        for i in 0..n {
            let j = i.wrapping_mul(7919) % n;
            let addr = Ipv4Addr::from(0x0b00_0000 + (j << 4));
            m.insert(Ipv4Net::new(addr, 32).unwrap(), j);
        }
        assert_eq!(m.len(), n as usize);
        for j in (0..n).step_by(97) {
            let addr = Ipv4Addr::from(0x0b00_0000 + (j << 4));
            assert_eq!(m.get(&Ipv4Net::new(addr, 32).unwrap()), Some(&j));
        }
        for slot in &m.slots {
            assert!(slot.keys.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
