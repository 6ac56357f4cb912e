//! Canonical YAML export: fixed menu order, RouterOS defaults elided, careful quoting.

use crate::decode::ScalarValue;
use crate::diag::Located;
use crate::model::Config;
use crate::values::Secret;

/// Export options.
pub(crate) struct ExportCx {
    /// Write `***` instead of passwords and keys.
    pub(crate) hide_secrets: bool,
}

/// A YAML tree ready to print; scalars are already quoted where needed.
#[derive(Debug)]
pub(crate) enum Out {
    Scalar(String),
    Map(Vec<(&'static str, Out)>),
    Seq(Vec<Out>),
    FlowSeq(Vec<String>),
}

/// Something that exports to YAML.
pub(crate) trait ToOut {
    fn to_out(&self, cx: &ExportCx) -> Out;
}

impl<T: ScalarValue> ToOut for T {
    fn to_out(&self, _cx: &ExportCx) -> Out {
        Out::Scalar(scalar(&self.to_scalar(), T::FREE_TEXT))
    }
}

/// Lists of values are written RouterOS style (`aes128,aes256`) when every
/// item allows it, else as a YAML flow list.
impl<T: ScalarValue> ToOut for Vec<T> {
    fn to_out(&self, _cx: &ExportCx) -> Out {
        let texts: Vec<String> = self.iter().map(ScalarValue::to_scalar).collect();
        let commas_ok = texts
            .iter()
            .all(|t| !t.contains(',') && !t.contains(' ') && plain_ok(t, T::FREE_TEXT));
        if T::EXPORT_AS_SEQ || !commas_ok || texts.is_empty() {
            Out::FlowSeq(texts.iter().map(|t| flow_item(t, T::FREE_TEXT)).collect())
        } else {
            Out::Scalar(texts.join(","))
        }
    }
}

impl<T: ScalarValue> ToOut for Located<Vec<T>> {
    fn to_out(&self, cx: &ExportCx) -> Out {
        self.value.to_out(cx)
    }
}

/// A secret, or `***` when secrets are hidden.
pub(crate) fn secret_out(secret: &Secret, cx: &ExportCx) -> Out {
    if cx.hide_secrets {
        Out::Scalar("\"***\"".to_owned())
    } else {
        Out::Scalar(scalar(secret.expose(), true))
    }
}

/// Whether `text` reads back as itself when written as a plain YAML scalar
/// in block context. Conservative: anything unusual is quoted.
fn plain_ok(text: &str, free_text: bool) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphanumeric() || "._/(".contains(first)) {
        return false;
    }
    if text.ends_with([' ', ':']) || text.contains(": ") || text.contains(" #") {
        return false;
    }
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || " -_./:+,@=()".contains(c))
    {
        return false;
    }
    if text.contains("  ") {
        return false;
    }
    !(free_text && looks_typed(text))
}

/// Whether a YAML 1.1 or 1.2 reader could take `text` for a boolean, a null
/// or a number rather than a string.
fn looks_typed(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "y" | "n" | "yes" | "no" | "true" | "false" | "on" | "off" | "null" | "~" | ".inf" | ".nan"
    ) {
        return true;
    }
    let first = text.chars().next().unwrap_or(' ');
    (first.is_ascii_digit() || "+-.".contains(first))
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() || "xXoO._:+-".contains(c))
}

/// Renders a scalar, double-quoting it when a plain scalar would not read back.
fn scalar(text: &str, free_text: bool) -> String {
    if plain_ok(text, free_text) {
        text.to_owned()
    } else {
        quote(text)
    }
}

/// A flow-list item: like `scalar`, but commas and brackets need quotes too.
fn flow_item(text: &str, free_text: bool) -> String {
    if plain_ok(text, free_text) && !text.contains([',', '[', ']', '{', '}', ' ']) {
        text.to_owned()
    } else {
        quote(text)
    }
}

fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' => {
                let code = u32::from(c);
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{code:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn render_map(entries: &[(&'static str, Out)], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for (key, value) in entries {
        match value {
            Out::Scalar(s) => out.push_str(&format!("{pad}{key}: {s}\n")),
            Out::FlowSeq(items) => out.push_str(&format!("{pad}{key}: [{}]\n", items.join(", "))),
            Out::Map(m) if m.is_empty() => out.push_str(&format!("{pad}{key}: {{}}\n")),
            Out::Map(m) => {
                out.push_str(&format!("{pad}{key}:\n"));
                render_map(m, indent + 2, out);
            }
            Out::Seq(items) if items.is_empty() => out.push_str(&format!("{pad}{key}: []\n")),
            Out::Seq(items) => {
                out.push_str(&format!("{pad}{key}:\n"));
                for item in items {
                    render_item(item, indent + 2, out);
                }
            }
        }
    }
}

fn render_item(item: &Out, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match item {
        Out::Scalar(s) => out.push_str(&format!("{pad}- {s}\n")),
        Out::FlowSeq(items) => out.push_str(&format!("{pad}- [{}]\n", items.join(", "))),
        Out::Map(m) if m.is_empty() => out.push_str(&format!("{pad}- {{}}\n")),
        Out::Map(m) => {
            let mut inner = String::new();
            render_map(m, indent + 2, &mut inner);
            // The first line's indentation becomes the list dash.
            out.push_str(&pad);
            out.push_str("- ");
            out.push_str(inner.get(indent + 2..).unwrap_or(""));
        }
        Out::Seq(items) => {
            out.push_str(&format!("{pad}-\n"));
            for nested in items {
                render_item(nested, indent + 2, out);
            }
        }
    }
}

fn render(config: &Config, hide_secrets: bool) -> String {
    let cx = ExportCx { hide_secrets };
    let mut out = String::new();
    if let Out::Map(sections) = config.to_out(&cx) {
        for (i, section) in sections.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            render_map(std::slice::from_ref(section), 0, &mut out);
        }
    }
    out
}

/// The canonical YAML of `config`, secrets included (`export --show-sensitive`).
#[must_use]
pub fn export(config: &Config) -> String {
    render(config, false)
}

/// The canonical YAML of `config` with every password and key written as `***`,
/// as RouterOS' `export` does without `show-sensitive`.
#[must_use]
pub fn export_hiding_secrets(config: &Config) -> String {
    render(config, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(scalar("yes", true), "\"yes\"");
        assert_eq!(scalar("yes", false), "yes");
        assert_eq!(scalar("1194", true), "\"1194\"");
        assert_eq!(scalar("Orange ONT", true), "Orange ONT");
        assert_eq!(scalar("!ether1", false), "\"!ether1\"");
        assert_eq!(scalar("a: b", true), "\"a: b\"");
        assert_eq!(scalar("", true), "\"\"");
        assert_eq!(scalar("tab\there", true), "\"tab\\there\"");
        assert_eq!(scalar("192.168.0.1", true), "\"192.168.0.1\"");
        assert_eq!(scalar("192.168.0.1", false), "192.168.0.1");
    }
}
