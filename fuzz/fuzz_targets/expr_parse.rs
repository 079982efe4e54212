//! Any text as a `where` expression: compiling never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|expr: &str| {
    let spec = serde_json::json!({
        "patterns": [{"name": "p", "stages": [
            {"name": "a", "where": expr},
            {"name": "b", "connect": "followed_by", "where": expr}
        ]}]
    });
    let _ = cepflow::spec::load(&spec.to_string());
});
