//! Hostile input never panics: deep nesting, alias bombs, random text, mangled examples.

use kith_config::{export, load_str};
use proptest::prelude::*;

const HOME: &str = include_str!("../../../examples/home.yaml");

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for depth in [100, 10_000, 200_000] {
        let text = format!("system: {}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(load_str(&text, "deep.yaml").is_err(), "depth {depth}");
    }
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    assert!(load_str(&text, "bomb.yaml").is_err());
}

#[test]
fn anchors_and_aliases_work_for_values() {
    let text = "system:\n  identity: &id router\nuser:\n  - name: *id\n    group: full\n";
    let loaded = load_str(text, "alias.yaml").map_err(|d| d[0].to_string());
    assert_eq!(
        loaded.map(|l| l.config.user[0].name.value.clone()),
        Ok("router".to_owned())
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        let _ = load_str(&text, "random.yaml");
    }

    /// Replaces a slice of home.yaml with random text: whatever comes out,
    /// the loader answers, every diagnostic has a position inside the file,
    /// and a config that loads exports to a fixed point.
    #[test]
    fn mangled_example_never_panics(start in 0usize..HOME.len(), len in 0usize..40, with in "[ -~\n]{0,12}") {
        let start = (0..=start).rev().find(|i| HOME.is_char_boundary(*i)).unwrap_or(0);
        let end = (start + len).min(HOME.len());
        let end = (end..=HOME.len()).find(|i| HOME.is_char_boundary(*i)).unwrap_or(HOME.len());
        let text = format!("{}{}{}", &HOME[..start], with, &HOME[end..]);
        let lines = text.lines().count() + 1;
        match load_str(&text, "mangled.yaml") {
            Ok(loaded) => {
                let out = export(&loaded.config);
                let again = load_str(&out, "export.yaml").map(|l| l.config);
                prop_assert_eq!(again.as_ref().ok(), Some(&loaded.config), "\n{}", out);
            }
            Err(diags) => {
                prop_assert!(!diags.is_empty());
                for d in &diags {
                    prop_assert!(d.line >= 1 && d.line <= lines && d.col >= 1, "{}", d);
                }
            }
        }
    }
}
