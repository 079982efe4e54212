//! Any bytes as JSON Lines events, run by one runner and with the keys
//! split over two threads (`ParallelSpecRunner`): the output lines must
//! be the same (as a set: lines of different keys interleave) and so
//! must the counts, pattern by pattern. A differential target: the
//! sharded runner's promise is to emit exactly what one operator emits.
#![no_main]

use cepflow::spec::{load, ParallelSpecRunner, SpecRunner, Summary};
use libfuzzer_sys::fuzz_target;

/// Keys, disorder (so late events), windows of both kinds with timeouts,
/// a trailing negation (whose output depends on when keys are visited),
/// loops and a skip strategy.
const SPEC: &str = r#"{"key":"k","time":{"field":"ts","out_of_orderness_ms":3},"patterns":[
    {"name":"p","within_ms":10,"timeouts":true,"skip":"skip_past_last_event","stages":[
      {"name":"a","where":"t == \"a\"","one_or_more":true},
      {"name":"b","connect":"followed_by_any","where":"v > first(a.v)"}]},
    {"name":"q","within_ms":6,"within_type":"previous_and_current","stages":[
      {"name":"c","where":"v % 2 == 0"},
      {"name":"n","connect":"not_followed_by","where":"v > 8"}]},
    {"name":"r","within_ms":20,"timeouts":true,"stages":[
      {"name":"d","where":"t != \"a\"","times":[1,2]},
      {"name":"e","connect":"next","where":"t == \"a\""}]}]}"#;

fn counts(s: &Summary) -> Vec<(String, u64, u64)> {
    let c = s.counters;
    let mut out = vec![("total".into(), c.matches, c.timeouts)];
    out.push(("late/events".into(), c.late, c.events_in));
    out.extend(
        s.patterns
            .iter()
            .map(|p| (p.name.clone(), p.counters.matches, p.counters.timeouts)),
    );
    out
}

fn sorted_lines(out: Vec<u8>) -> Vec<String> {
    let mut lines: Vec<String> =
        String::from_utf8(out).expect("utf-8").lines().map(String::from).collect();
    lines.sort();
    lines
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let spec = load(SPEC).expect("the fuzz spec is valid");
    let mut one = SpecRunner::new(spec.clone(), Vec::new());
    let mut split = ParallelSpecRunner::new(spec, 2, Vec::new());
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let a = one.push_line(n, line).is_ok();
        let b = split.push_line(n, line).is_ok();
        assert_eq!(a, b, "line {n} read differently");
    }
    let (one, one_out) = one.finish(true).expect("no throw-on-miss");
    let (split, split_out) = split.finish(true).expect("no throw-on-miss");
    assert_eq!(counts(&one), counts(&split));
    assert_eq!((one.lines, one.invalid), (split.lines, split.invalid));
    assert_eq!(sorted_lines(one_out), sorted_lines(split_out));
});
