//! Interface naming: RouterOS-style labels of any length to kernel names.
//!
//! The kernel allows interface names of at most 15 bytes; Kith's configuration names
//! interfaces with labels of any length (`vlan832-orange-internet`). The DESIGN
//! convention: a label that is a safe kernel name is used as is; any other label gets a
//! short deterministic name (see [`kernel_name`]) and the caller sets the label itself as
//! the link's altname ([`crate::Net::add_altname`]), so `ip link show vlan832-orange-internet`
//! and every kith-net lookup by label keep working.
//!
//! The mapping must never change between releases: a new mapping would rename every
//! interface of an upgraded router. The golden test below pins it.

/// Longest kernel interface name, in bytes (`IFNAMSIZ - 1`).
pub const MAX_KERNEL_NAME_LEN: usize = 15;

/// Longest altname, in bytes (`ALTIFNAMSIZ - 1`).
pub const MAX_ALTNAME_LEN: usize = 127;

/// Bytes of the label kept in front of the hash in a generated name.
const PREFIX_LEN: usize = 8;

/// Hex digits of the label hash in a generated name (24 bits).
const HASH_DIGITS: usize = 6;

/// True for characters Kith keeps in kernel names: ASCII letters, digits, `-`, `_`, `.`.
///
/// The kernel accepts more (anything but `/`, `:`, whitespace), but these are the ones
/// that survive unquoted in nft rules, sysctl paths and shell commands.
fn is_safe_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// Whether `name` can be used as a kernel interface name as is: 1..=15 bytes of ASCII
/// letters, digits, `-`, `_`, `.`, and not `.` or `..`.
pub fn is_valid_kernel_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_KERNEL_NAME_LEN
        && name != "."
        && name != ".."
        && name.chars().all(is_safe_char)
}

/// Whether the kernel accepts `name` as an altname: 1..=127 bytes, not `.` or `..`, and
/// without `/`, `:`, whitespace or NUL (the kernel's `dev_valid_name` rules).
pub fn is_valid_altname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ALTNAME_LEN
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c == '\0' || c.is_whitespace())
}

/// The kernel name of the interface a configuration labels `label`.
///
/// A label that is a valid kernel name ([`is_valid_kernel_name`]) is returned unchanged.
/// Any other label becomes `<prefix>-<hash>`: up to 8 leading characters of the label
/// (characters outside `[A-Za-z0-9._-]` replaced by `_`, trailing `-`, `_`, `.`
/// trimmed) and 6 hex digits of a 64-bit FNV-1a hash of the whole label, at most 15 bytes
/// in all. `vlan832-orange-internet` becomes `vlan832-` + hash, for instance.
pub fn kernel_name(label: &str) -> String {
    if is_valid_kernel_name(label) {
        return label.to_string();
    }
    let prefix: String = label
        .chars()
        .map(|c| if is_safe_char(c) { c } else { '_' })
        .take(PREFIX_LEN)
        .collect();
    let prefix = prefix.trim_end_matches(['-', '_', '.']);
    let prefix = if prefix.is_empty() || prefix.starts_with('.') {
        "if"
    } else {
        prefix
    };
    let hash = fnv1a64(label.as_bytes());
    // Fold the 64 bits so every input bit counts, then keep 24 of them.
    let folded = (hash ^ (hash >> 32)) & 0xff_ffff;
    format!("{prefix}-{folded:0width$x}", width = HASH_DIGITS)
}

/// 64-bit FNV-1a: tiny, fixed forever, and identical on every platform (unlike std's
/// `DefaultHasher`, whose output may change between Rust releases).
fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_valid_labels_are_kept() {
        for label in [
            "ether1",
            "wan",
            "friend1-1",
            "br-lan",
            "ether1.832",
            "abcdefghijklmno",
        ] {
            assert_eq!(kernel_name(label), label);
        }
    }

    #[test]
    fn long_labels_are_short_and_deterministic() {
        let label = "vlan832-orange-internet";
        let name = kernel_name(label);
        assert!(name.len() <= MAX_KERNEL_NAME_LEN, "{name}");
        assert!(is_valid_kernel_name(&name), "{name}");
        assert!(name.starts_with("vlan832-"), "{name}");
        assert_eq!(name, kernel_name(label));
        // 16 bytes is one too many.
        let sixteen = "abcdefghijklmnop";
        assert_ne!(kernel_name(sixteen), sixteen);
        assert!(kernel_name(sixteen).len() <= MAX_KERNEL_NAME_LEN);
    }

    #[test]
    fn same_prefix_different_labels_differ() {
        let a = kernel_name("vlan832-orange-internet");
        let b = kernel_name("vlan832-orange-iptv-multicast");
        let c = kernel_name("vlan832-orange-internet2");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(b, c);
        // Many labels sharing a long prefix: no collisions among them.
        let names: std::collections::HashSet<String> = (0..2000)
            .map(|i| kernel_name(&format!("bridge-for-friends-number-{i}")))
            .collect();
        assert_eq!(names.len(), 2000);
    }

    #[test]
    fn unsafe_characters_are_replaced() {
        for label in [
            "my wan", "a/b", "x:y", "café", "..", ".", "", "    ", "-----", ".hidden",
        ] {
            let name = kernel_name(label);
            assert!(is_valid_kernel_name(&name), "{label:?} -> {name:?}");
        }
        // Two labels that sanitize alike still get different names.
        assert_ne!(kernel_name("my wan"), kernel_name("my_wan "));
        assert_ne!(kernel_name("a b"), kernel_name("a_b"));
        assert_eq!(kernel_name("a_b"), "a_b");
    }

    #[test]
    fn mapping_is_pinned() {
        // Changing these values renames interfaces on upgrade: don't.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(kernel_name("vlan832-orange-internet"), PINNED_VLAN832);
    }
    const PINNED_VLAN832: &str = "vlan832-00a3bd";

    #[test]
    fn altname_rules() {
        assert!(is_valid_altname("vlan832-orange-internet"));
        assert!(is_valid_altname(&"x".repeat(127)));
        assert!(!is_valid_altname(&"x".repeat(128)));
        assert!(!is_valid_altname("a b"));
        assert!(!is_valid_altname("a/b"));
        assert!(!is_valid_altname(""));
        assert!(!is_valid_altname(".."));
    }
}
