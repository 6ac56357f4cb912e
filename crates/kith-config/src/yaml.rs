//! Reading YAML text into a small located node tree (via saphyr's `MarkedYaml`).

use saphyr::{LoadableYamlNode, MarkedYaml, Marker, Scalar, YamlData};

use crate::diag::{Loc, Located, Sink};

/// A YAML node with the position where it starts.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) loc: Loc,
    pub(crate) kind: Kind,
}

/// What a node holds. Scalars keep their source text: the decoder, not YAML,
/// decides what `1.10` or `yes` mean.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// An empty value.
    Null,
    /// A scalar; `plain` is false for quoted and block scalars.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Located<String>, Node)>),
}

impl Node {
    /// A short description of the node's type for "found ..." messages.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Null => "an empty value".to_owned(),
            Kind::Scalar { text, .. } => format!("`{text}`"),
            Kind::Seq(_) => "a list".to_owned(),
            Kind::Map(_) => "a mapping".to_owned(),
        }
    }
}

/// Source text indexed by character, to recover the text of plain scalars.
struct Source<'a> {
    text: &'a str,
    /// Byte offset of every character, plus the end.
    offsets: Vec<usize>,
}

impl<'a> Source<'a> {
    fn new(text: &'a str) -> Self {
        let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        offsets.push(text.len());
        Self { text, offsets }
    }

    fn slice(&self, start: usize, end: usize) -> &'a str {
        let (Some(&a), Some(&b)) = (self.offsets.get(start), self.offsets.get(end)) else {
            return "";
        };
        self.text.get(a..b).unwrap_or("")
    }

    fn char_at(&self, index: usize) -> Option<char> {
        let a = *self.offsets.get(index)?;
        self.text.get(a..)?.chars().next()
    }
}

fn loc_of(marker: &Marker) -> Loc {
    Loc::new(marker.line(), marker.col() + 1)
}

/// Parses `text` as a single YAML document. A syntax error is reported into
/// `sink` and yields `None`. An empty document yields a `Null` node.
pub(crate) fn parse(text: &str, sink: &mut Sink) -> Option<Node> {
    let docs = match MarkedYaml::load_from_str(text) {
        Ok(docs) => docs,
        Err(e) => {
            sink.error(
                loc_of(e.marker()),
                format!("YAML syntax error: {}", e.info()),
            );
            return None;
        }
    };
    let source = Source::new(text);
    let mut iter = docs.iter();
    let Some(first) = iter.next() else {
        return Some(Node {
            loc: Loc::new(1, 1),
            kind: Kind::Null,
        });
    };
    if let Some(second) = iter.next() {
        sink.error(
            loc_of(&second.span.start),
            "a configuration is a single YAML document; found a second one",
        );
        return None;
    }
    let mut ok = true;
    let node = convert(first, &source, sink, &mut ok);
    ok.then_some(node)
}

fn convert(node: &MarkedYaml<'_>, source: &Source<'_>, sink: &mut Sink, ok: &mut bool) -> Node {
    let loc = loc_of(&node.span.start);
    let kind = match &node.data {
        YamlData::Value(scalar) => convert_scalar(node, scalar, source),
        YamlData::Representation(text, _, _) => Kind::Scalar {
            text: text.to_string(),
            plain: true,
        },
        YamlData::Sequence(items) => Kind::Seq(
            items
                .iter()
                .map(|item| convert(item, source, sink, ok))
                .collect(),
        ),
        YamlData::Mapping(map) => {
            let mut entries = Vec::with_capacity(map.len());
            for (key, value) in map {
                let key_loc = loc_of(&key.span.start);
                let key_node = convert(key, source, sink, ok);
                let value = convert(value, source, sink, ok);
                match key_node.kind {
                    Kind::Scalar { text, .. } => entries.push((Located::new(text, key_loc), value)),
                    _ => {
                        sink.error(key_loc, "a key must be a plain word such as `name`");
                        *ok = false;
                    }
                }
            }
            Kind::Map(entries)
        }
        YamlData::Tagged(tag, inner) => {
            let word = format!("{}{}", tag.handle, tag.suffix);
            if tag.handle == "!" {
                sink.error(
                    loc,
                    format!(
                        "`{word}` is read as a YAML tag; write \"{word}\" in quotes (a leading `!` negates a match)"
                    ),
                );
            } else {
                sink.error(loc, format!("unsupported YAML tag `{word}`"));
            }
            *ok = false;
            let mut inner = convert(inner, source, sink, ok);
            inner.loc = loc;
            return inner;
        }
        YamlData::Alias(_) | YamlData::BadValue => {
            if node.span.start.index() == node.span.end.index() {
                Kind::Null
            } else {
                let raw = source.slice(node.span.start.index(), node.span.end.index());
                sink.error(loc, format!("invalid YAML value `{raw}`"));
                *ok = false;
                Kind::Null
            }
        }
    };
    Node { loc, kind }
}

fn convert_scalar(node: &MarkedYaml<'_>, scalar: &Scalar<'_>, source: &Source<'_>) -> Kind {
    let start = node.span.start.index();
    let first = source.char_at(start);
    match scalar {
        // RouterOS has no null: `null` and `~` are words (`auth: null`), and
        // only an empty value is empty.
        Scalar::Null => {
            let raw = source.slice(start, node.span.end.index()).trim();
            if raw.is_empty() {
                Kind::Null
            } else {
                Kind::Scalar {
                    text: raw.to_owned(),
                    plain: true,
                }
            }
        }
        Scalar::String(text) => Kind::Scalar {
            text: text.to_string(),
            plain: !matches!(first, Some('"' | '\'' | '|' | '>')),
        },
        Scalar::Boolean(_) | Scalar::Integer(_) | Scalar::FloatingPoint(_) => {
            let mut raw = source.slice(start, node.span.end.index()).trim();
            if raw.starts_with('!') {
                // A core-schema tag such as `!!int 5`: keep the value only.
                raw = raw
                    .split_once(char::is_whitespace)
                    .map_or("", |(_, v)| v.trim());
            }
            Kind::Scalar {
                text: raw.to_owned(),
                plain: true,
            }
        }
    }
}
