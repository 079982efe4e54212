//! Any bytes as JSON Lines events, counted by one runner and by the
//! keys split over two threads (`count_sharded`): the counts must agree,
//! pattern by pattern. A differential target: the sharded runner's
//! promise is to emit exactly what one operator emits.
#![no_main]

use cepflow::spec::{count_sharded, load, SpecRunner, Summary};
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

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let spec = load(SPEC).expect("the fuzz spec is valid");
    let mut one = SpecRunner::counting(spec.clone());
    let mut reader = SpecRunner::counting(spec.clone());
    let mut prepared = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let n = i as u64 + 1;
        if let Ok(p) = reader.prepare(n, line) {
            prepared.push(p);
        }
        let _ = one.push_line(n, line);
    }
    let one = one.finish(false).expect("no throw-on-miss").0;
    let split = count_sharded(spec, prepared, 2).expect("no throw-on-miss");
    assert_eq!(counts(&one), counts(&split));
});
