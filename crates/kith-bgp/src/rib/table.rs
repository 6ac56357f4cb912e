//! The Loc-RIB: every accepted path per prefix, best first.

use std::collections::HashMap;
use std::sync::Arc;

use ipnet::IpNet;

use super::best::{BestConfig, compare};
use super::{Path, Source};

/// Paths per prefix; the first of each list is the best.
#[derive(Debug, Default)]
pub struct LocRib {
    routes: HashMap<IpNet, Vec<Path>>,
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
        let paths = self.routes.entry(prefix).or_default();
        let before = paths.first().map(Path::identity);
        paths.retain(|p| p.source != source);
        if let Some(path) = path {
            paths.push(path);
        }
        paths.sort_by(|a, b| compare(a, b, cfg));
        let after = paths.first().map(Path::identity);
        if paths.is_empty() {
            self.routes.remove(&prefix);
        }
        before != after
    }

    /// Re-sorts every prefix (after a change of [`BestConfig`]); the changed prefixes.
    pub fn resort(&mut self, cfg: BestConfig) -> Vec<IpNet> {
        let mut changed = Vec::new();
        for (prefix, paths) in &mut self.routes {
            let before = paths.first().map(Path::identity);
            paths.sort_by(|a, b| compare(a, b, cfg));
            if before != paths.first().map(Path::identity) {
                changed.push(*prefix);
            }
        }
        changed
    }

    /// The best path to `prefix`.
    #[must_use]
    pub fn best(&self, prefix: &IpNet) -> Option<&Path> {
        self.routes.get(prefix).and_then(|p| p.first())
    }

    /// Every path to `prefix`, best first.
    #[must_use]
    pub fn paths(&self, prefix: &IpNet) -> &[Path] {
        self.routes
            .get(prefix)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Every prefix with a path.
    pub fn prefixes(&self) -> impl Iterator<Item = &IpNet> {
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
        self.routes.is_empty()
    }
}

impl Path {
    /// What makes two best paths the same for announcements and the kernel.
    fn identity(&self) -> (Source, usize, std::net::IpAddr, u8) {
        (
            self.source,
            Arc::as_ptr(&self.attrs) as usize,
            self.next_hop,
            self.distance,
        )
    }
}
