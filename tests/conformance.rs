//! Every case translated from Flink CEP's own tests agrees, through the
//! library's spec runner.

use crate::common::{case_dirs, multiset, run_case, testdata};

#[test]
fn all_flink_conformance_cases_agree() {
    let dirs = case_dirs(&testdata().join("conformance"));
    assert!(dirs.len() >= 100, "conformance cases missing: {}", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let expected = std::fs::read_to_string(dir.join("expected.jsonl"))
            .expect("expected.jsonl");
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        match run_case(dir) {
            Err(e) => failures.push(format!("{name}: rejected: {e}")),
            Ok(out) => {
                let (got, want) = (multiset(&out), multiset(&expected));
                if got != want {
                    let missing: Vec<_> =
                        want.iter().filter(|l| !got.contains(l)).collect();
                    let extra: Vec<_> =
                        got.iter().filter(|l| !want.contains(l)).collect();
                    failures.push(format!(
                        "{name}: {} lines, want {}\n  missing: {:?}\n  extra: {:?}",
                        got.len(),
                        want.len(),
                        missing.iter().take(3).collect::<Vec<_>>(),
                        extra.iter().take(3).collect::<Vec<_>>()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}
