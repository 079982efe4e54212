//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The directory of test data.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata")
}

/// Rewrites a JSON value so that spelling does not matter: integral
/// floats become integers (object keys are sorted by serde_json's map).
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::from(f as i64)
            }
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        Value::Object(o) => Value::Object(
            o.iter().map(|(k, v)| (k.clone(), canonical(v))).collect(),
        ),
        other => other.clone(),
    }
}

/// Output lines as a sorted multiset of canonical JSON texts.
pub fn multiset(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("bad output line {l:?}: {e}"));
            canonical(&v).to_string()
        })
        .collect();
    lines.sort();
    lines
}

/// Case directories below `dir` (those holding a spec.json), sorted.
pub fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("spec.json").exists())
        .collect();
    out.sort();
    out
}

/// Runs a case through the library's spec runner; processing-time
/// cases get a clock that ticks once per event. `Err` is a rejected spec.
pub fn run_case(dir: &Path) -> Result<String, String> {
    let spec_text = std::fs::read_to_string(dir.join("spec.json"))
        .map_err(|e| e.to_string())?;
    let spec = cepflow::spec::load(&spec_text).map_err(|e| e.to_string())?;
    let events =
        std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
    let mut tick = 0;
    let mut runner = cepflow::spec::SpecRunner::new(spec, Vec::new())
        .with_clock(move || {
            tick += 1;
            tick
        });
    for (i, line) in events.lines().enumerate() {
        match runner.push_line(i as u64 + 1, line) {
            Ok(()) | Err(cepflow::spec::RunError::Event(_)) => {}
            Err(e) => return Ok(format!("error: {e}")),
        }
    }
    let (_, out) = runner.finish(false).map_err(|e| e.to_string())?;
    Ok(String::from_utf8(out).expect("utf-8 output"))
}

/// Checks one case directory through the library: `expected.jsonl` must
/// equal the output as a multiset, `rejected.txt` means the spec must be
/// refused. Returns a description of the disagreement.
pub fn check_case(dir: &Path) -> Option<String> {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let rejected = dir.join("rejected.txt").exists();
    match (run_case(dir), rejected) {
        (Err(_), true) => None,
        (Ok(_), true) => {
            Some(format!("{name}: accepted a spec Flink rejects"))
        }
        (Err(e), false) => Some(format!("{name}: rejected: {e}")),
        (Ok(out), false) => {
            let expected = std::fs::read_to_string(dir.join("expected.jsonl"))
                .unwrap_or_else(|e| panic!("{name}: expected.jsonl: {e}"));
            let (got, want) = (multiset(&out), multiset(&expected));
            if got == want {
                return None;
            }
            let missing: Vec<_> =
                want.iter().filter(|l| !got.contains(l)).take(3).collect();
            let extra: Vec<_> =
                got.iter().filter(|l| !want.contains(l)).take(3).collect();
            Some(format!(
                "{name}: {} lines, want {}\n  missing: {missing:?}\n  extra: {extra:?}",
                got.len(),
                want.len()
            ))
        }
    }
}

/// Checks every case below `dir`, failing with all disagreements.
pub fn check_all(dir: &Path, at_least: usize) {
    let dirs = case_dirs(dir);
    assert!(
        dirs.len() >= at_least,
        "{}: {} cases, expected at least {at_least}",
        dir.display(),
        dirs.len()
    );
    let failures: Vec<String> =
        dirs.iter().filter_map(|d| check_case(d)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
