//! Flink's answers, case by case, through the library's spec runner:
//! the cases translated from Flink CEP's own tests, the oracle's
//! hand-written cases and behaviour probes, and every disagreement with
//! the real Flink that random differential testing found (fixed since).

use crate::common::{case_dirs, check_all, testdata};

#[test]
fn flink_itcase_conformance_cases_agree() {
    check_all(&testdata().join("conformance"), 101);
}

#[test]
fn oracle_hand_written_cases_agree() {
    check_all(&testdata().join("oracle/cases"), 7);
}

#[test]
fn oracle_behaviour_probes_agree() {
    check_all(&testdata().join("oracle/probes"), 40);
}

#[test]
fn differential_regressions_agree() {
    check_all(&testdata().join("regressions"), 5);
}

/// Counts a case two ways: one counting runner, and the events it read
/// through a counting `ParallelSpecRunner` on three threads (as `cepflow
/// bench --threads 3` does). `None` for a spec that is refused.
fn counts_both_ways(
    dir: &std::path::Path,
) -> Option<(cepflow::spec::Summary, cepflow::spec::Summary)> {
    use cepflow::spec::{load, ParallelSpecRunner, SpecRunner};
    let spec =
        load(&std::fs::read_to_string(dir.join("spec.json")).ok()?).ok()?;
    let events =
        std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
    let mut one = SpecRunner::counting(spec.clone());
    let mut reader = SpecRunner::counting(spec.clone());
    let mut prepared = Vec::new();
    for (i, line) in events.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if let Ok(p) = reader.prepare(i as u64 + 1, line) {
            prepared.push(p);
        }
        let _ = one.push_line(i as u64 + 1, line);
    }
    let one = one.finish(false).ok()?.0;
    // Processing-time specs run on one thread anyway.
    let mut split = ParallelSpecRunner::counting(spec, 3);
    for p in prepared {
        split.push_prepared(p).ok()?;
    }
    Some((one, split.finish(false).ok()?.0))
}

#[test]
fn sharded_counts_equal_one_runners_on_every_case() {
    let mut compared = 0;
    let mut matched = 0;
    for root in ["conformance", "oracle/cases", "oracle/probes", "regressions"]
    {
        for dir in case_dirs(&testdata().join(root)) {
            let Some((one, split)) = counts_both_ways(&dir) else { continue };
            let name = dir.display();
            let (a, b) = (one.counters, split.counters);
            assert_eq!(
                (a.events_in, a.late, a.matches, a.timeouts),
                (b.events_in, b.late, b.matches, b.timeouts),
                "{name}"
            );
            let per = |s: &cepflow::spec::Summary| {
                s.patterns
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            p.counters.matches,
                            p.counters.timeouts,
                        )
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(per(&one), per(&split), "{name}");
            compared += 1;
            matched += a.matches;
        }
    }
    assert!(
        compared >= 100 && matched > 0,
        "{compared} cases, {matched} matches"
    );
}
