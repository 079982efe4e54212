//! Replays the inputs under `fuzz/regressions/` through the fuzz targets'
//! code: none may panic.

use std::path::Path;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn spec_parse_regressions_do_not_panic() {
    let cases = inputs("spec_parse");
    assert!(!cases.is_empty());
    for data in cases {
        let text = String::from_utf8_lossy(&data);
        // These inputs are all invalid specs: each must be an error.
        assert!(cepflow::spec::load(&text).is_err(), "{text}");
    }
}

#[test]
fn run_events_regressions_do_not_panic() {
    let cases = inputs("run_events");
    assert!(!cases.is_empty());
    let spec = r#"{"key":"k","time":{"field":"ts","out_of_orderness_ms":3},
        "patterns":[{"name":"p","within_ms":10,"timeouts":true,"stages":[
          {"name":"a","where":"t == \"a\"","one_or_more":true},
          {"name":"b","connect":"followed_by_any","where":"v > first(a.v)"}]}]}"#;
    for data in cases {
        let spec = cepflow::spec::load(spec).unwrap();
        let mut runner = cepflow::spec::SpecRunner::new(spec, Vec::new());
        let mut bad = 0;
        for (i, line) in
            String::from_utf8_lossy(&data[1..]).lines().enumerate()
        {
            if runner.push_line(i as u64 + 1, line).is_err() {
                bad += 1;
            }
        }
        let (summary, out) = runner.finish(true).unwrap();
        assert_eq!(summary.invalid, bad);
        assert!(bad > 0, "the regression inputs contain bad lines");
        let out = String::from_utf8(out).unwrap();
        assert!(out
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    }
}
