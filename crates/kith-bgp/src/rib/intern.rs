//! Interned path attributes and next hops: routes that share them share one `Arc` (a
//! full table has far fewer distinct attribute sets and next hops than prefixes).

use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

use crate::codec::{AsPath, PathAttributes};

/// The interners' hash sets: foldhash (seeded per process, as the prefix maps), as
/// SipHash was a sixth of the RIB's CPU time on a table where most routes bring a new
/// attribute set.
type Set<T> = HashSet<T, foldhash::fast::RandomState>;

/// The set of values (attribute sets by default) in use.
#[derive(Debug)]
pub struct Interner<T = PathAttributes> {
    set: Set<Arc<T>>,
    purge_at: usize,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Self {
            set: Set::default(),
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

    /// The shared copy of `attrs`, if held.
    pub fn get(&self, attrs: &T) -> Option<Arc<T>> {
        self.set.get(attrs).map(Arc::clone)
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

/// Attribute sets, with their AS paths interned apart: in a full table most routes
/// have their own communities, hence their own set, but far fewer distinct paths, so a
/// new set takes the path's shared copy instead of a copy of its own. Each set and
/// path is hashed once per call (a table of hashes, not a set that hashes on every
/// `get` and again on `insert`): on a table where most routes bring a new set, hashing
/// was a tenth of the RIB's time.
#[derive(Debug, Default)]
pub struct AttrInterner {
    hasher: foldhash::fast::RandomState,
    sets: HashTable<Arc<PathAttributes>>,
    sets_purge_at: usize,
    paths: HashTable<AsPath>,
    paths_purge_at: usize,
}

impl AttrInterner {
    /// The shared copy of `attrs`.
    pub fn intern(&mut self, mut attrs: PathAttributes) -> Arc<PathAttributes> {
        let hash = self.hasher.hash_one(&attrs);
        if let Some(found) = self.sets.find(hash, |a| **a == attrs) {
            return Arc::clone(found);
        }
        if self.sets.len() >= self.sets_purge_at {
            self.sets.retain(|a| Arc::strong_count(a) > 1);
            self.sets_purge_at = (self.sets.len() * 2).max(1024);
        }
        attrs.as_path = self.share_path(attrs.as_path);
        let arc = Arc::new(attrs);
        let hasher = &self.hasher;
        self.sets
            .insert_unique(hash, Arc::clone(&arc), |a| hasher.hash_one(&**a));
        arc
    }

    /// The shared copy of `path` (the same segments `Arc`).
    fn share_path(&mut self, path: AsPath) -> AsPath {
        let hash = self.hasher.hash_one(&path);
        if let Some(found) = self.paths.find(hash, |p| *p == path) {
            return found.clone();
        }
        if self.paths.len() >= self.paths_purge_at {
            self.paths.retain(|p| Arc::strong_count(&p.segments) > 1);
            self.paths_purge_at = (self.paths.len() * 2).max(1024);
        }
        let hasher = &self.hasher;
        self.paths
            .insert_unique(hash, path.clone(), |p| hasher.hash_one(p));
        path
    }

    /// Distinct attribute sets held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sets.len()
    }

    /// Whether none is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sets.is_empty()
    }

    /// Distinct AS paths held.
    #[must_use]
    pub fn paths(&self) -> usize {
        self.paths.len()
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

    #[test]
    fn sets_and_paths_no_route_uses_are_forgotten() {
        let mut i = AttrInterner::default();
        let kept = i.intern(PathAttributes {
            as_path: AsPath::sequence(&[65000]),
            communities: vec![0],
            ..Default::default()
        });
        // Thousands of sets, each dropped at once: the table is purged as it grows.
        for n in 1..5000u32 {
            let a = i.intern(PathAttributes {
                as_path: AsPath::sequence(&[65000, n]),
                communities: vec![n],
                ..Default::default()
            });
            assert_eq!(a.communities, [n]);
        }
        assert!(i.len() <= 2048, "{} sets held", i.len());
        assert!(i.paths() <= 2048, "{} paths held", i.paths());
        // The one still in use is still the shared copy.
        let again = i.intern(PathAttributes {
            as_path: AsPath::sequence(&[65000]),
            communities: vec![0],
            ..Default::default()
        });
        assert!(Arc::ptr_eq(&kept, &again));
    }

    #[test]
    fn sets_with_the_same_path_share_its_segments() {
        let mut i = AttrInterner::default();
        let a = i.intern(PathAttributes {
            as_path: AsPath::sequence(&[65000, 65001]),
            communities: vec![1],
            ..Default::default()
        });
        let b = i.intern(PathAttributes {
            as_path: AsPath::sequence(&[65000, 65001]),
            communities: vec![2],
            ..Default::default()
        });
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&a.as_path.segments, &b.as_path.segments));
        assert_eq!((i.len(), i.paths()), (2, 1));
    }
}
