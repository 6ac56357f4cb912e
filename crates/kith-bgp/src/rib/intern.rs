//! Interned path attributes and next hops: routes that share them share one `Arc` (a
//! full table has far fewer distinct attribute sets and next hops than prefixes).

use std::collections::HashSet;
use std::sync::Arc;

use crate::codec::PathAttributes;

/// The set of values (attribute sets by default) in use.
#[derive(Debug)]
pub struct Interner<T = PathAttributes> {
    set: HashSet<Arc<T>>,
    purge_at: usize,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Self {
            set: HashSet::new(),
            purge_at: 0,
        }
    }
}

impl<T: std::hash::Hash + Eq> Interner<T> {
    /// The shared copy of `attrs`.
    pub fn intern(&mut self, attrs: T) -> Arc<T> {
        if let Some(found) = self.set.get(&attrs) {
            return Arc::clone(found);
        }
        if self.set.len() >= self.purge_at {
            self.purge();
        }
        let arc = Arc::new(attrs);
        self.set.insert(Arc::clone(&arc));
        arc
    }

    /// Forgets attribute sets no route uses any more.
    pub fn purge(&mut self) {
        self.set.retain(|a| Arc::strong_count(a) > 1);
        self.purge_at = (self.set.len() * 2).max(1024);
    }

    /// Distinct attribute sets held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.set.len()
    }

    /// Whether none is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_attributes_share_one_arc() {
        let mut i = Interner::default();
        let a = i.intern(PathAttributes {
            med: Some(1),
            ..Default::default()
        });
        let b = i.intern(PathAttributes {
            med: Some(1),
            ..Default::default()
        });
        let c = i.intern(PathAttributes {
            med: Some(2),
            ..Default::default()
        });
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        drop((a, b));
        i.purge();
        assert_eq!(i.len(), 1);
    }
}
