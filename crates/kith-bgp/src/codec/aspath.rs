//! AS_PATH and AS4_PATH (RFC 4271 4.3, RFC 6793): segments, 2- and 4-octet encodings,
//! AS_TRANS substitution and the AS4_PATH merge, path length, prepend and loop checks.

use std::fmt;
use std::sync::Arc;

use super::open::AS_TRANS;
use super::reader::Reader;

/// The kind of an AS_PATH segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    /// AS_SET: unordered, counts as one hop.
    Set = 1,
    /// AS_SEQUENCE: ordered, every AS counts.
    Sequence = 2,
    /// AS_CONFED_SEQUENCE (RFC 5065): does not count.
    ConfedSequence = 3,
    /// AS_CONFED_SET (RFC 5065): does not count.
    ConfedSet = 4,
}

/// One segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    /// The segment's kind.
    pub kind: SegmentKind,
    /// Its AS numbers (1..=255 of them).
    pub asns: Vec<u32>,
}

/// An AS path: the segments in order, leftmost (most recent) first. The segments sit
/// behind an `Arc` so that attribute sets with the same path share one copy (the RIB
/// interns paths apart from the sets: a table has far fewer paths than attribute sets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AsPath {
    /// The segments.
    pub segments: Arc<Vec<Segment>>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    #[must_use]
    pub fn sequence(asns: &[u32]) -> Self {
        let mut path = Self::default();
        for asn in asns.iter().rev() {
            path.prepend(*asn, 1);
        }
        path
    }

    /// Parses an AS_PATH (or AS4_PATH, with `four_octet`) value.
    ///
    /// # Errors
    /// An unknown segment type, an empty segment, or a segment that overruns the
    /// attribute (RFC 7606 7.2: "malformed").
    pub fn parse(buf: &[u8], four_octet: bool) -> Result<Self, String> {
        let size = if four_octet { 4 } else { 2 };
        let mut r = Reader::new(buf);
        let mut segments = Vec::new();
        while !r.is_empty() {
            let kind = match r.u8() {
                Some(1) => SegmentKind::Set,
                Some(2) => SegmentKind::Sequence,
                Some(3) => SegmentKind::ConfedSequence,
                Some(4) => SegmentKind::ConfedSet,
                Some(other) => return Err(format!("segment type {other}")),
                None => return Err("truncated segment".into()),
            };
            let count = usize::from(r.u8().ok_or("truncated segment header")?);
            if count == 0 {
                return Err("empty segment".into());
            }
            let data = r.take(count * size).ok_or_else(|| {
                format!(
                    "segment of {count} AS numbers overruns the attribute ({} octets left)",
                    r.remaining()
                )
            })?;
            let asns = data
                .chunks_exact(size)
                .map(|c| match c {
                    [a, b] => u32::from(u16::from_be_bytes([*a, *b])),
                    [a, b, c, d] => u32::from_be_bytes([*a, *b, *c, *d]),
                    _ => 0,
                })
                .collect();
            segments.push(Segment { kind, asns });
        }
        Ok(Self {
            segments: Arc::new(segments),
        })
    }

    /// Appends the encoding; with `four_octet` false, AS numbers above 65535 become
    /// AS_TRANS (the caller then also sends [`AsPath::needs_as4`]'s AS4_PATH).
    pub fn emit(&self, out: &mut Vec<u8>, four_octet: bool) {
        for seg in self.segments.iter() {
            for chunk in seg.asns.chunks(255) {
                out.push(seg.kind as u8);
                out.push(chunk.len() as u8);
                for asn in chunk {
                    if four_octet {
                        out.extend_from_slice(&asn.to_be_bytes());
                    } else {
                        let two = u16::try_from(*asn).unwrap_or(AS_TRANS);
                        out.extend_from_slice(&two.to_be_bytes());
                    }
                }
            }
        }
    }

    /// Whether a 2-octet encoding loses information (some AS is above 65535).
    #[must_use]
    pub fn needs_as4(&self) -> bool {
        self.segments
            .iter()
            .any(|s| s.asns.iter().any(|a| *a > 0xffff))
    }

    /// The path length for best path selection: each AS of a sequence counts, a set
    /// counts one, confederation segments none.
    #[must_use]
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentKind::Sequence => s.asns.len(),
                SegmentKind::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// The leftmost AS (the neighbour AS of a route learnt over eBGP).
    #[must_use]
    pub fn first_as(&self) -> Option<u32> {
        let first = self.segments.first()?;
        match first.kind {
            SegmentKind::Sequence => first.asns.first().copied(),
            _ => None,
        }
    }

    /// Whether `asn` appears anywhere in the path (loop detection, RFC 4271 9.1.2).
    #[must_use]
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// Number of AS numbers in total (sets and confederations included).
    #[must_use]
    pub fn as_count(&self) -> usize {
        self.segments.iter().map(|s| s.asns.len()).sum()
    }

    /// Prepends `asn` `times` times to the leading AS_SEQUENCE (a new one if needed).
    pub fn prepend(&mut self, asn: u32, times: usize) {
        let segments = Arc::make_mut(&mut self.segments);
        for _ in 0..times {
            match segments.first_mut() {
                Some(seg) if seg.kind == SegmentKind::Sequence && seg.asns.len() < 255 => {
                    seg.asns.insert(0, asn);
                }
                _ => segments.insert(
                    0,
                    Segment {
                        kind: SegmentKind::Sequence,
                        asns: vec![asn],
                    },
                ),
            }
        }
    }

    /// Rebuilds the true path from a 2-octet AS_PATH and an AS4_PATH (RFC 6793 4.2.3):
    /// the AS4_PATH is ignored when longer than the AS_PATH; otherwise the leading AS
    /// numbers the AS4_PATH lacks are taken from the AS_PATH.
    #[must_use]
    pub fn merge_as4(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
        let n2 = as_path.path_len();
        let n4 = as4_path.path_len();
        if n2 < n4 {
            return as_path.clone();
        }
        let mut keep = n2 - n4;
        let mut out = Vec::new();
        for seg in as_path.segments.iter() {
            if keep == 0 {
                break;
            }
            match seg.kind {
                SegmentKind::Sequence => {
                    let take = keep.min(seg.asns.len());
                    out.push(Segment {
                        kind: seg.kind,
                        asns: seg.asns[..take].to_vec(),
                    });
                    keep -= take;
                }
                SegmentKind::Set => {
                    out.push(seg.clone());
                    keep -= 1;
                }
                _ => out.push(seg.clone()),
            }
        }
        out.extend(as4_path.segments.iter().cloned());
        AsPath {
            segments: Arc::new(normalized(out)),
        }
    }
}

/// `segments` with adjacent AS_SEQUENCE segments joined (up to 255 AS numbers each).
fn normalized(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::with_capacity(segments.len());
    for seg in segments {
        match out.last_mut() {
            Some(last)
                if last.kind == SegmentKind::Sequence
                    && seg.kind == SegmentKind::Sequence
                    && last.asns.len() + seg.asns.len() <= 255 =>
            {
                last.asns.extend(seg.asns);
            }
            _ => out.push(seg),
        }
    }
    out
}

impl fmt::Display for AsPath {
    /// RouterOS/BIRD style: `64513 64512 {65001,65002}`; confederations in parentheses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for seg in self.segments.iter() {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let list = |sep: &str| {
                seg.asns
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(sep)
            };
            match seg.kind {
                SegmentKind::Sequence => f.write_str(&list(" "))?,
                SegmentKind::Set => write!(f, "{{{}}}", list(","))?,
                SegmentKind::ConfedSequence => write!(f, "({})", list(" "))?,
                SegmentKind::ConfedSet => write!(f, "[{}]", list(","))?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_two_and_four_octets() {
        let two = [2, 2, 0xfb, 0xf1, 0xfb, 0xf0, 1, 1, 0, 1];
        let p = AsPath::parse(&two, false).unwrap();
        assert_eq!(p.to_string(), "64497 64496 {1}");
        assert_eq!(p.path_len(), 3);
        assert_eq!(p.first_as(), Some(64497));
        let mut out = Vec::new();
        p.emit(&mut out, false);
        assert_eq!(out, two);
        let mut four = Vec::new();
        p.emit(&mut four, true);
        assert_eq!(AsPath::parse(&four, true).unwrap(), p);
    }

    #[test]
    fn malformed_paths() {
        assert!(AsPath::parse(&[5, 1, 0, 1], false).is_err());
        assert!(AsPath::parse(&[2, 0], false).is_err());
        // Overflow: 3 AS numbers announced, 2 present.
        assert!(AsPath::parse(&[2, 3, 0, 1, 0, 2], false).is_err());
        assert!(AsPath::parse(&[2], false).is_err());
    }

    #[test]
    fn as_trans_and_merge() {
        let real = AsPath::sequence(&[64513, 4_200_000_000, 64496]);
        assert!(real.needs_as4());
        let mut two = Vec::new();
        real.emit(&mut two, false);
        let as_path = AsPath::parse(&two, false).unwrap();
        assert_eq!(as_path.to_string(), "64513 23456 64496");
        // An old speaker prepended 64513 without knowing AS4_PATH.
        let as4 = AsPath::sequence(&[4_200_000_000, 64496]);
        assert_eq!(AsPath::merge_as4(&as_path, &as4), real);
        // An AS4_PATH longer than the AS_PATH is ignored.
        let long = AsPath::sequence(&[1, 2, 3, 4]);
        assert_eq!(AsPath::merge_as4(&as_path, &long), as_path);
    }

    #[test]
    fn prepend_and_loops() {
        let mut p = AsPath::default();
        p.prepend(64514, 3);
        assert_eq!(p.to_string(), "64514 64514 64514");
        assert!(p.contains(64514));
        assert!(!p.contains(64513));
        let mut big = AsPath::sequence(&[1; 255]);
        big.prepend(2, 1);
        assert_eq!(big.segments.len(), 2);
        assert_eq!(big.path_len(), 256);
    }
}
