//! The Loc-RIB: every accepted path per prefix, best first. A prefix with a single path
//! (nearly all of a full table) keeps it inline, without a heap allocation of its own.

use std::sync::Arc;

use ipnet::IpNet;

use super::best::{BestConfig, compare};
use super::{Path, PrefixMap, Source};

/// The paths of one prefix, best first.
#[derive(Debug)]
enum Paths {
    One(Path),
    Many(Vec<Path>),
}

impl Paths {
    fn as_slice(&self) -> &[Path] {
        match self {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Many(v) => v,
        }
    }

    fn first(&self) -> Option<&Path> {
        self.as_slice().first()
    }
}

/// Paths per prefix; the first of each list is the best.
#[derive(Debug, Default)]
pub struct LocRib {
    routes: PrefixMap<Paths>,
}

impl LocRib {
    /// Sets (`Some`) or removes (`None`) the path of `source` to `prefix`; tells whether
    /// the best path changed.
    pub fn set(
        &mut self,
        prefix: IpNet,
        source: Source,
        path: Option<Path>,
        cfg: BestConfig,
    ) -> bool {
        let Some(entry) = self.routes.get_mut(&prefix) else {
            // The common case of a full table: the first path of a prefix.
            return match path {
                Some(p) => {
                    self.routes.insert(prefix, Paths::One(p));
                    true
                }
                None => false,
            };
        };
        let before = entry.first().map(Path::identity);
        let mut list = match std::mem::replace(entry, Paths::Many(Vec::new())) {
            Paths::One(p) => vec![p],
            Paths::Many(v) => v,
        };
        list.retain(|p| p.source() != source);
        if let Some(path) = path {
            list.push(path);
        }
        list.sort_by(|a, b| compare(a, b, cfg));
        let after = list.first().map(Path::identity);
        match list.len() {
            0 => {
                self.routes.remove(&prefix);
            }
            1 => {
                if let Some(p) = list.pop() {
                    *entry = Paths::One(p);
                }
            }
            _ => *entry = Paths::Many(list),
        }
        before != after
    }

    /// Re-sorts every prefix (after a change of [`BestConfig`]); the changed prefixes.
    pub fn resort(&mut self, cfg: BestConfig) -> Vec<IpNet> {
        let mut changed = Vec::new();
        for (prefix, paths) in self.routes.iter_mut() {
            let Paths::Many(list) = paths else {
                continue;
            };
            let before = list.first().map(Path::identity);
            list.sort_by(|a, b| compare(a, b, cfg));
            if before != list.first().map(Path::identity) {
                changed.push(prefix);
            }
        }
        changed
    }

    /// The best path to `prefix`.
    #[must_use]
    pub fn best(&self, prefix: &IpNet) -> Option<&Path> {
        self.routes.get(prefix).and_then(Paths::first)
    }

    /// Every path to `prefix`, best first.
    #[must_use]
    pub fn paths(&self, prefix: &IpNet) -> &[Path] {
        self.routes.get(prefix).map_or(&[], Paths::as_slice)
    }

    /// Every prefix with a path.
    pub fn prefixes(&self) -> impl Iterator<Item = IpNet> + '_ {
        self.routes.keys()
    }

    /// Number of prefixes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.routes.len() == 0
    }
}

impl Path {
    /// What makes two best paths the same for announcements and the kernel.
    fn identity(&self) -> (Source, usize, std::net::IpAddr, u8) {
        (
            self.source(),
            Arc::as_ptr(&self.attrs) as usize,
            self.hop.addr,
            self.distance,
        )
    }
}
