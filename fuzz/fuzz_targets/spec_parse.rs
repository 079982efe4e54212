//! Any bytes as a spec: loading never panics; an accepted spec runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = cepflow::spec::load(text) {
            // An accepted spec must also run on an empty input.
            let runner = cepflow::spec::SpecRunner::new(spec, std::io::sink());
            let _ = runner.finish(true);
        }
    }
});
