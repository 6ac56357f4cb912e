//! IPv4 prefixes in slots by the top 16 bits of their address. A slot keeps its entries
//! sorted by key (the low 16 address bits and the length, 4 bytes) beside the index of
//! each value, and the values in insertion order: an insert shifts 8-byte entries, not
//! whole values (a table arriving in no particular order shifted tens of bytes per
//! entry: a tenth of the RIB's time). A full table costs 8 bytes beside each value and
//! no empty buckets (a hash map past 917,504 entries has 2,097,152 buckets: half of
//! them empty at 1,000,000), and never rehashes the whole table at once. A lookup is an
//! index into the slot directory and a binary search in one slot (a full table has a
//! few hundred prefixes per /16 at most; a peer announcing many more in one /16 is
//! bounded by its prefix limit).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Slot directory entry of a /16 without prefixes.
const NO_SLOT: u32 = u32::MAX;

#[derive(Debug)]
struct Slot<V> {
    /// The top 16 bits of the addresses in this slot.
    top: u16,
    /// Sorted by key (low 16 address bits << 8 | length): key and index in `values`.
    entries: Vec<(u32, u32)>,
    /// In insertion order; a removal moves the last value into the gap.
    values: Vec<V>,
}

impl<V> Slot<V> {
    fn net(&self, key: u32) -> Ipv4Net {
        net(self.top, key)
    }

    fn find(&self, key: u32) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&key, |e| e.0)
    }

    fn value_index(&self, key: u32) -> Option<usize> {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|e| e.1 as usize)
    }

    /// The key of each value, by value index.
    fn keys_by_value(&self) -> Vec<u32> {
        let mut keys = vec![0; self.values.len()];
        for &(key, index) in &self.entries {
            if let Some(k) = keys.get_mut(index as usize) {
                *k = key;
            }
        }
        keys
    }
}

fn net(top: u16, key: u32) -> Ipv4Net {
    let addr = Ipv4Addr::from((u32::from(top) << 16) | (key >> 8));
    // Lossless: the length (at most 32, checked when the key was made) is the low byte
    // of the key.
    Ipv4Net::new_assert(addr, (key & 0xff) as u8)
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
        slot.values.get(slot.value_index(key)?)
    }

    pub(crate) fn get_mut(&mut self, net: &Ipv4Net) -> Option<&mut V> {
        let (top, key) = split(net);
        let slot = self.slot_mut(top)?;
        let i = slot.value_index(key)?;
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
                entries: Vec::new(),
                values: Vec::new(),
            });
            if let Some(d) = self.directory.get_mut(top) {
                *d = index;
            }
        }
        let slot = self.slot_mut(top)?;
        match slot.find(key) {
            Ok(i) => {
                let index = slot.entries.get(i)?.1 as usize;
                slot.values
                    .get_mut(index)
                    .map(|old| std::mem::replace(old, value))
            }
            Err(i) => {
                // At most 2^17 prefixes fit in a /16 (lengths 16 to 32, and the few
                // shorter ones): an index always fits in a u32.
                let index = u32::try_from(slot.values.len()).unwrap_or(u32::MAX);
                // Grown by a quarter, not doubled: a full table's slots stay within
                // about an eighth of their size on average instead of a quarter.
                if slot.values.len() == slot.values.capacity() {
                    let more = slot.values.len() / 4 + 4;
                    slot.values.reserve_exact(more);
                    slot.entries.reserve_exact(more);
                }
                slot.entries.insert(i, (key, index));
                slot.values.push(value);
                self.len += 1;
                None
            }
        }
    }

    pub(crate) fn remove(&mut self, net: &Ipv4Net) -> Option<V> {
        let (top, key) = split(net);
        let slot = self.slot_mut(top)?;
        let i = slot.find(key).ok()?;
        let (_, index) = slot.entries.remove(i);
        let index = index as usize;
        if index >= slot.values.len() {
            return None;
        }
        let value = slot.values.swap_remove(index);
        // The last value moved into the gap: its entry follows it.
        let moved = slot.values.len() as u32;
        if (index as u32) < moved {
            if let Some(e) = slot.entries.iter_mut().find(|e| e.1 == moved) {
                e.1 = index as u32;
            }
        }
        if slot.entries.len() * 4 < slot.entries.capacity() {
            slot.entries.shrink_to(slot.entries.len() * 2);
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

    /// Every prefix (in address order inside each /16).
    pub(crate) fn keys(&self) -> impl Iterator<Item = Ipv4Net> + '_ {
        self.slots
            .iter()
            .flat_map(|s| s.entries.iter().map(move |e| s.net(e.0)))
    }

    /// Every entry (in address order inside each /16).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Ipv4Net, &V)> + '_ {
        self.slots.iter().flat_map(|s| {
            s.entries
                .iter()
                .filter_map(move |e| Some((s.net(e.0), s.values.get(e.1 as usize)?)))
        })
    }

    /// Every entry, mutable (in no particular order inside each /16).
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (Ipv4Net, &mut V)> + '_ {
        self.slots.iter_mut().flat_map(|s| {
            let top = s.top;
            let keys = s.keys_by_value();
            keys.into_iter()
                .map(move |k| net(top, k))
                .zip(s.values.iter_mut())
        })
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.slots.iter_mut().flat_map(|s| s.values.iter_mut())
    }

    /// Keeps the entries `keep` says yes to.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(Ipv4Net, &mut V) -> bool) {
        for slot in &mut self.slots {
            let keys = slot.keys_by_value();
            let flags: Vec<bool> = keys
                .iter()
                .zip(slot.values.iter_mut())
                .map(|(k, v)| keep(net(slot.top, *k), v))
                .collect();
            // New index of each value kept.
            let mut renumber = vec![u32::MAX; flags.len()];
            let mut next = 0u32;
            for (i, kept) in flags.iter().enumerate() {
                if *kept {
                    if let Some(r) = renumber.get_mut(i) {
                        *r = next;
                    }
                    next += 1;
                }
            }
            let mut f = flags.iter();
            slot.values.retain(|_| *f.next().unwrap_or(&true));
            slot.entries.retain_mut(|e| {
                let new = renumber.get(e.1 as usize).copied().unwrap_or(u32::MAX);
                e.1 = new;
                new != u32::MAX
            });
        }
        self.len = self.slots.iter().map(|s| s.entries.len()).sum();
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
            assert!(slot.entries.windows(2).all(|w| w[0].0 < w[1].0));
        }
        // Removing every other one keeps the rest findable (values move into gaps).
        for i in (0..n).step_by(2) {
            let addr = Ipv4Addr::from(0x0b00_0000 + (i << 4));
            assert_eq!(m.remove(&Ipv4Net::new(addr, 32).unwrap()), Some(i));
        }
        for i in 0..n {
            let addr = Ipv4Addr::from(0x0b00_0000 + (i << 4));
            let want = (i % 2 == 1).then_some(i);
            assert_eq!(m.get(&Ipv4Net::new(addr, 32).unwrap()).copied(), want);
        }
        assert_eq!(m.len(), (n / 2) as usize);
        assert!(m.iter().all(|(net, v)| m.get(&net) == Some(v)));
        m.retain(|_, v| *v % 4 == 1);
        assert_eq!(m.len(), (n / 4) as usize);
        assert!(m.iter().all(|(_, v)| *v % 4 == 1));
        for (net, v) in m.iter_mut() {
            *v += u32::from(net.prefix_len());
        }
        assert!(m.iter().all(|(_, v)| *v % 4 == 1));
    }
}
