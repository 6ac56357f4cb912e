//! Declarative macros that turn one table of fields into a model struct, its decoder and its exporter.

/// Defines a RouterOS enumerated value (`ip`|`ethernet`) with its spellings.
///
/// Exactly one variant carries `#[default]`: the RouterOS default.
macro_rules! ros_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in RouterOS order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The RouterOS spelling.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    _ => Err(format!("expected one of {}", [$($text),+].join(", "))),
                }
            }
        }

        impl $crate::decode::ScalarValue for $name {
            fn parse_scalar(text: &str, _loc: $crate::diag::Loc) -> Result<Self, String> {
                text.parse()
            }
            fn to_scalar(&self) -> String {
                self.as_str().to_owned()
            }
        }
    };
}

/// Defines a RouterOS menu (a mapping of fields) as a struct, with its decoder,
/// exporter, `Default` (RouterOS defaults) and `PartialEq` (ignoring `loc`).
///
/// Each field is `name: Type = "key", MODE;` where MODE is one of
/// `required`, `optional` (an `Option`), `secret` (an `Option<Secret>`),
/// `required(EXPR)` (for types without `Default`), `list` (a `Vec` of entries
/// written as a YAML list of mappings), `shown(EXPR)` (a default that export
/// still writes, as RouterOS does for a rule's `action`) or
/// `default(EXPR)`.
macro_rules! menu {
    (
        $(#[$meta:meta])*
        pub struct $name:ident = $what:literal {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $key:literal, $mode:ident $(($def:expr))?;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            /// Where this was written (0:0 when built in code); ignored by `==`.
            pub loc: $crate::diag::Loc,
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $( $field: menu!(@default $ty, $mode $(($def))?), )*
                    loc: $crate::diag::Loc::default(),
                }
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                $( self.$field == other.$field && )* true
            }
        }

        impl $crate::decode::Decode for $name {
            fn decode(
                node: &$crate::yaml::Node,
                _key: &str,
                sink: &mut $crate::diag::Sink,
            ) -> Option<Self> {
                let mut reader = $crate::decode::MapReader::new(node, $what, sink)?;
                let value = Self {
                    $( $field: menu!(@decode reader sink $ty, $key, $mode $(($def))?), )*
                    loc: node.loc,
                };
                reader.finish(sink);
                Some(value)
            }
        }

        impl $crate::export::ToOut for $name {
            fn to_out(&self, cx: &$crate::export::ExportCx) -> $crate::export::Out {
                #[allow(unused_mut)]
                let mut map: Vec<(&'static str, $crate::export::Out)> = Vec::new();
                $( menu!(@export map cx self.$field, $ty, $key, $mode $(($def))?); )*
                $crate::export::Out::Map(map)
            }
        }
    };

    (@default $ty:ty, required) => { <$ty as Default>::default() };
    (@default $ty:ty, required($d:expr)) => { $d };
    (@default $ty:ty, optional) => { None };
    (@default $ty:ty, secret) => { None };
    (@default $ty:ty, list) => { Vec::new() };
    (@default $ty:ty, default($d:expr)) => { $d };
    (@default $ty:ty, shown($d:expr)) => { $d };

    (@decode $r:ident $s:ident $ty:ty, $key:literal, required) => { $r.required($key, $s) };
    (@decode $r:ident $s:ident $ty:ty, $key:literal, required($d:expr)) => {
        $r.required_or($key, $s, $d)
    };
    (@decode $r:ident $s:ident $ty:ty, $key:literal, optional) => { $r.optional($key, $s) };
    (@decode $r:ident $s:ident $ty:ty, $key:literal, secret) => { $r.optional($key, $s) };
    (@decode $r:ident $s:ident $ty:ty, $key:literal, list) => { $r.list($key, $s) };
    (@decode $r:ident $s:ident $ty:ty, $key:literal, default($d:expr)) => {
        $r.or_default($key, $s, $d)
    };
    (@decode $r:ident $s:ident $ty:ty, $key:literal, shown($d:expr)) => {
        $r.or_default($key, $s, $d)
    };

    (@export $m:ident $cx:ident $v:expr, $ty:ty, $key:literal, required) => {
        $m.push(($key, $crate::export::ToOut::to_out(&$v, $cx)))
    };
    (@export $m:ident $cx:ident $v:expr, $ty:ty, $key:literal, required($d:expr)) => {
        $m.push(($key, $crate::export::ToOut::to_out(&$v, $cx)))
    };
    (@export $m:ident $cx:ident $v:expr, $ty:ty, $key:literal, shown($d:expr)) => {
        $m.push(($key, $crate::export::ToOut::to_out(&$v, $cx)))
    };
    (@export $m:ident $cx:ident $v:expr, $ty:ty, $key:literal, optional) => {
        if let Some(v) = &$v {
            $m.push(($key, $crate::export::ToOut::to_out(v, $cx)));
        }
    };
    (@export $m:ident $cx:ident $v:expr, $ty:ty, $key:literal, secret) => {
        if let Some(v) = &$v {
            $m.push(($key, $crate::export::secret_out(v, $cx)));
        }
    };
    (@export $m:ident $cx:ident $v:expr, $ty:ty, $key:literal, list) => {
        if !$v.is_empty() {
            $m.push((
                $key,
                $crate::export::Out::Seq(
                    $v.iter().map(|e| $crate::export::ToOut::to_out(e, $cx)).collect(),
                ),
            ));
        }
    };
    (@export $m:ident $cx:ident $v:expr, $ty:ty, $key:literal, default($d:expr)) => {
        let default: $ty = $d;
        if $v != default {
            $m.push(($key, $crate::export::ToOut::to_out(&$v, $cx)));
        }
    };
}
