//! Diagnostics (errors and warnings with file:line:col) and source locations.

use std::collections::HashSet;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

/// A position in the configuration file, 1-based (0:0 when there is no position).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    /// Line, starting at 1.
    pub line: usize,
    /// Column in characters, starting at 1.
    pub col: usize,
}

impl Loc {
    /// A location at `line:col` (both 1-based).
    #[must_use]
    pub const fn new(line: usize, col: usize) -> Self {
        Self { line, col }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// A value together with where it was written.
///
/// Equality, ordering and hashing look at the value only, so two configurations
/// that say the same thing compare equal wherever they say it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// Where the value was written (0:0 for a value built in code).
    pub loc: Loc,
}

impl<T> Located<T> {
    /// Wraps `value` found at `loc`.
    #[must_use]
    pub const fn new(value: T, loc: Loc) -> Self {
        Self { value, loc }
    }

    /// Wraps a value built in code (no source location).
    #[must_use]
    pub fn bare(value: T) -> Self {
        Self {
            value,
            loc: Loc::default(),
        }
    }

    /// Unwraps the value.
    #[must_use]
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl Located<String> {
    /// The value as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<T> Deref for Located<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Located<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: PartialEq> PartialEq for Located<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: Eq> Eq for Located<T> {}

impl<T: Hash> Hash for Located<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}

impl<T: PartialOrd> PartialOrd for Located<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.value.partial_cmp(&other.value)
    }
}

impl<T: Ord> Ord for Located<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.value.cmp(&other.value)
    }
}

impl<T: fmt::Display> fmt::Display for Located<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl From<&str> for Located<String> {
    fn from(s: &str) -> Self {
        Self::bare(s.to_owned())
    }
}

impl From<String> for Located<String> {
    fn from(s: String) -> Self {
        Self::bare(s)
    }
}

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The configuration cannot be used.
    Error,
    /// The configuration is usable but probably does not do what was meant.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Error => "error",
            Self::Warning => "warning",
        })
    }
}

/// One message about the configuration, pointing at the offending key or value.
///
/// Displays as `FILE:LINE:COL: error: MESSAGE` (or `warning:`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file name as given to the loader.
    pub file: String,
    /// Line, 1-based (0 when the problem is not in the text, e.g. an unreadable file).
    pub line: usize,
    /// Column, 1-based (0 when the problem is not in the text).
    pub col: usize,
    /// What is wrong, for humans.
    pub message: String,
}

impl Diagnostic {
    /// Whether this is an error (as opposed to a warning).
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The location of this diagnostic.
    #[must_use]
    pub fn loc(&self) -> Loc {
        Loc::new(self.line, self.col)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {}",
            self.file, self.line, self.col, self.severity, self.message
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Collects diagnostics for one file.
#[derive(Debug)]
pub(crate) struct Sink {
    file: String,
    diags: Vec<Diagnostic>,
    /// Entries (by location) that had decode errors: checks that combine
    /// several of their fields would only repeat those errors.
    tainted: HashSet<Loc>,
}

impl Sink {
    pub(crate) fn new(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            diags: Vec::new(),
            tainted: HashSet::new(),
        }
    }

    pub(crate) fn push(&mut self, severity: Severity, loc: Loc, message: impl Into<String>) {
        self.diags.push(Diagnostic {
            severity,
            file: self.file.clone(),
            line: loc.line,
            col: loc.col,
            message: message.into(),
        });
    }

    pub(crate) fn error(&mut self, loc: Loc, message: impl Into<String>) {
        self.push(Severity::Error, loc, message);
    }

    pub(crate) fn warning(&mut self, loc: Loc, message: impl Into<String>) {
        self.push(Severity::Warning, loc, message);
    }

    pub(crate) fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    pub(crate) fn taint(&mut self, entry: Loc) {
        self.tainted.insert(entry);
    }

    /// Whether the entry at `entry` had decode errors.
    pub(crate) fn is_tainted(&self, entry: Loc) -> bool {
        self.tainted.contains(&entry)
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    /// Splits into (errors, warnings), each sorted by position, duplicates removed.
    pub(crate) fn finish(self) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let (mut errors, mut warnings): (Vec<_>, Vec<_>) =
            self.diags.into_iter().partition(Diagnostic::is_error);
        for list in [&mut errors, &mut warnings] {
            list.sort_by_key(|d| (d.line, d.col));
            list.dedup();
        }
        (errors, warnings)
    }
}
