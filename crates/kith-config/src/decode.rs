//! The hand-written decode framework: typed values out of located YAML nodes, collecting every error.

use crate::diag::{Loc, Located, Sink};
use crate::yaml::{Kind, Node};

/// A type that can be decoded from a YAML node.
pub(crate) trait Decode: Sized {
    /// Decodes `node`, found under `key`. Problems are reported into `sink`;
    /// `None` means the value could not be decoded (and an error was reported).
    fn decode(node: &Node, key: &str, sink: &mut Sink) -> Option<Self>;
}

/// A single RouterOS value written as one YAML scalar (`yes`, `1194`, `23-32`, `aes128`).
pub(crate) trait ScalarValue: Sized {
    /// Whether the text is free text (a name, a comment, a password) rather than a
    /// RouterOS token. Free text is quoted on export when YAML would read it as
    /// something else (`"yes"`, `"1194"`).
    const FREE_TEXT: bool = false;

    /// Whether a list of these is exported as a YAML flow list `[a, b]` rather
    /// than RouterOS' comma-separated `a,b`.
    const EXPORT_AS_SEQ: bool = false;

    /// Parses `text`, written at `loc`. The error is the reason, completing
    /// "invalid KEY `TEXT`: ...".
    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String>;

    /// The text that `parse_scalar` reads back as an equal value.
    fn to_scalar(&self) -> String;
}

impl<T: ScalarValue> Decode for T {
    fn decode(node: &Node, key: &str, sink: &mut Sink) -> Option<Self> {
        match &node.kind {
            Kind::Scalar { text, .. } => parse_item(text, node.loc, key, sink),
            Kind::Null => {
                sink.error(node.loc, format!("missing value for `{key}`"));
                None
            }
            Kind::Seq(_) | Kind::Map(_) => {
                sink.error(
                    node.loc,
                    format!(
                        "expected a single value for `{key}`, found {}",
                        node.describe()
                    ),
                );
                None
            }
        }
    }
}

fn parse_item<T: ScalarValue>(text: &str, loc: Loc, key: &str, sink: &mut Sink) -> Option<T> {
    match T::parse_scalar(text, loc) {
        Ok(v) => Some(v),
        Err(reason) => {
            sink.error(loc, format!("invalid {key} `{text}`: {reason}"));
            None
        }
    }
}

/// A list of values: a YAML list, or RouterOS' comma-separated form `a,b,c`.
impl<T: ScalarValue> Decode for Vec<T> {
    fn decode(node: &Node, key: &str, sink: &mut Sink) -> Option<Self> {
        let items: Vec<(String, Loc)> = match &node.kind {
            Kind::Null => Vec::new(),
            Kind::Scalar { text, plain } => split_commas(text, node.loc, *plain),
            Kind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    match &item.kind {
                        Kind::Scalar { text, .. } => out.push((text.clone(), item.loc)),
                        _ => sink.error(
                            item.loc,
                            format!(
                                "expected a single value in the `{key}` list, found {}",
                                item.describe()
                            ),
                        ),
                    }
                }
                out
            }
            Kind::Map(_) => {
                sink.error(
                    node.loc,
                    format!("expected a value or a list for `{key}`, found a mapping"),
                );
                return None;
            }
        };
        let mut values = Vec::with_capacity(items.len());
        let mut ok = true;
        for (text, loc) in items {
            if text.is_empty() {
                sink.error(loc, format!("empty item in the `{key}` list"));
                ok = false;
            } else if let Some(v) = parse_item(&text, loc, key, sink) {
                values.push(v);
            } else {
                ok = false;
            }
        }
        ok.then_some(values)
    }
}

/// A list of values with the position of the whole list.
impl<T: ScalarValue> Decode for Located<Vec<T>> {
    fn decode(node: &Node, key: &str, sink: &mut Sink) -> Option<Self> {
        Vec::<T>::decode(node, key, sink).map(|v| Located::new(v, node.loc))
    }
}

/// Splits `a, b,c` into trimmed items, each with its own column when the
/// scalar was written plain on one line.
fn split_commas(text: &str, loc: Loc, plain: bool) -> Vec<(String, Loc)> {
    let mut out = Vec::new();
    let mut col = 0usize;
    for part in text.split(',') {
        let leading = part.chars().take_while(|c| c.is_whitespace()).count();
        let item_loc = if plain && !text.contains('\n') {
            Loc::new(loc.line, loc.col + col + leading)
        } else {
            loc
        };
        out.push((part.trim().to_owned(), item_loc));
        col += part.chars().count() + 1;
    }
    out
}

impl<T: ScalarValue> ScalarValue for Located<T> {
    const FREE_TEXT: bool = T::FREE_TEXT;
    const EXPORT_AS_SEQ: bool = T::EXPORT_AS_SEQ;

    fn parse_scalar(text: &str, loc: Loc) -> Result<Self, String> {
        T::parse_scalar(text, loc).map(|v| Located::new(v, loc))
    }

    fn to_scalar(&self) -> String {
        self.value.to_scalar()
    }
}

/// Reads the keys of one YAML mapping, remembering which were consumed so
/// that the rest can be reported as unknown keys.
pub(crate) struct MapReader<'n> {
    entries: &'n [(Located<String>, Node)],
    used: Vec<bool>,
    known: Vec<&'static str>,
    what: &'static str,
    loc: Loc,
    errors_at_start: usize,
}

/// `what` of the root mapping, used to word its messages.
pub(crate) const TOP_LEVEL: &str = "the top level";

impl<'n> MapReader<'n> {
    /// Starts reading `node` as the mapping `what` (e.g. `ip/route entry`).
    /// An empty value reads as an empty mapping; anything else that is not
    /// a mapping is reported and yields `None`.
    pub(crate) fn new(node: &'n Node, what: &'static str, sink: &mut Sink) -> Option<Self> {
        let entries: &'n [(Located<String>, Node)] = match &node.kind {
            Kind::Map(entries) => entries,
            Kind::Null => &[],
            Kind::Scalar { .. } | Kind::Seq(_) => {
                let place = if what == TOP_LEVEL {
                    "at the top level".to_owned()
                } else {
                    format!("for {what}")
                };
                sink.error(
                    node.loc,
                    format!("expected a mapping {place}, found {}", node.describe()),
                );
                return None;
            }
        };
        Some(Self {
            entries,
            used: vec![false; entries.len()],
            known: Vec::new(),
            what,
            loc: node.loc,
            errors_at_start: sink.error_count(),
        })
    }

    /// The node under `key`, if present, marking it consumed. An empty value counts as absent.
    fn take(&mut self, key: &'static str) -> Option<&'n Node> {
        self.take_entry(key).and_then(|(_, node)| match node.kind {
            Kind::Null => None,
            _ => Some(node),
        })
    }

    /// The key and node under `key`, if present (even empty), marking it consumed.
    fn take_entry(&mut self, key: &'static str) -> Option<(&'n Located<String>, &'n Node)> {
        self.known.push(key);
        let index = self.entries.iter().position(|(k, _)| k.value == key)?;
        if let Some(u) = self.used.get_mut(index) {
            *u = true;
        }
        self.entries.get(index).map(|(k, v)| (k, v))
    }

    /// Reports a required `key` that is absent or empty.
    fn missing(&self, key: &'static str, written: Option<&Located<String>>, sink: &mut Sink) {
        match written {
            Some(k) => sink.error(k.loc, format!("`{key}` needs a value")),
            None => sink.error(self.loc, format!("missing `{key}` in {}", self.what)),
        }
    }

    /// A required node: present and not empty.
    fn take_required(&mut self, key: &'static str, sink: &mut Sink) -> Option<&'n Node> {
        match self.take_entry(key) {
            Some((_, node)) if !matches!(node.kind, Kind::Null) => Some(node),
            entry => {
                self.missing(key, entry.map(|(k, _)| k), sink);
                None
            }
        }
    }

    /// A field that must be present; its absence is reported and the default used.
    pub(crate) fn required<T: Decode + Default>(
        &mut self,
        key: &'static str,
        sink: &mut Sink,
    ) -> T {
        self.take_required(key, sink)
            .and_then(|node| T::decode(node, key, sink))
            .unwrap_or_default()
    }

    /// A field that must be present, for types without `Default`.
    pub(crate) fn required_or<T: Decode>(
        &mut self,
        key: &'static str,
        sink: &mut Sink,
        placeholder: T,
    ) -> T {
        self.take_required(key, sink)
            .and_then(|node| T::decode(node, key, sink))
            .unwrap_or(placeholder)
    }

    /// A field without a default.
    pub(crate) fn optional<T: Decode>(&mut self, key: &'static str, sink: &mut Sink) -> Option<T> {
        self.take(key).and_then(|node| T::decode(node, key, sink))
    }

    /// A field with a default.
    pub(crate) fn or_default<T: Decode>(
        &mut self,
        key: &'static str,
        sink: &mut Sink,
        default: T,
    ) -> T {
        match self.take(key) {
            Some(node) => T::decode(node, key, sink).unwrap_or(default),
            None => default,
        }
    }

    /// A menu of items: a YAML list of mappings.
    pub(crate) fn list<T: Decode>(&mut self, key: &'static str, sink: &mut Sink) -> Vec<T> {
        let Some(node) = self.take(key) else {
            return Vec::new();
        };
        match &node.kind {
            Kind::Seq(items) => items
                .iter()
                .filter_map(|item| T::decode(item, key, sink))
                .collect(),
            _ => {
                sink.error(
                    node.loc,
                    format!(
                        "expected a list of entries for `{key}`, found {}",
                        node.describe()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Reports every key that no field asked for.
    pub(crate) fn finish(self, sink: &mut Sink) {
        for ((key, _), used) in self.entries.iter().zip(&self.used) {
            if *used {
                continue;
            }
            let place = if self.what == TOP_LEVEL {
                "at the top level".to_owned()
            } else {
                format!("in {}", self.what)
            };
            let mut message = format!("unknown key `{}` {place}", key.value);
            if let Some(best) = suggest(&key.value, &self.known) {
                message.push_str(&format!("; did you mean `{best}`?"));
            }
            sink.error(key.loc, message);
        }
        if sink.error_count() > self.errors_at_start {
            sink.taint(self.loc);
        }
    }
}

/// The known key closest to `key`, if it is close enough to be a typo.
pub(crate) fn suggest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let normalize = |s: &str| s.to_lowercase().replace('_', "-");
    let key_lower = normalize(key);
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(&key_lower, &normalize(k)), *k))
        .filter(|(d, k)| {
            let len = k.chars().count().max(key_lower.chars().count());
            *d <= (len / 3).clamp(1, 3)
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let known = ["distance", "dst-address", "gateway"];
        assert_eq!(suggest("distanse", &known), Some("distance"));
        assert_eq!(suggest("dst_address", &known), Some("dst-address"));
        assert_eq!(suggest("colour", &known), None);
    }

    #[test]
    fn comma_columns() {
        let items = split_commas("a, bb,c", Loc::new(3, 10), true);
        let cols: Vec<usize> = items.iter().map(|(_, l)| l.col).collect();
        assert_eq!(cols, vec![10, 13, 16]);
    }
}
