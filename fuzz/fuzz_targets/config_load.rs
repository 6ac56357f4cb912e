//! Any bytes as a config file: loading returns a config or located diagnostics, never panics,
//! and a config that loads exports to text that loads back to the same model.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(loaded) = kith_config::load_str(text, "fuzz.yaml") {
        let exported = kith_config::export(&loaded.config);
        match kith_config::load_str(&exported, "export.yaml") {
            Ok(again) => assert_eq!(again.config, loaded.config, "export round trip"),
            Err(diags) => panic!("export does not load back: {diags:?}\n{exported}"),
        }
    }
});
