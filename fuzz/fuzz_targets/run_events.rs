//! Any bytes as JSON Lines events through `cepflow run`'s engine, with
//! specs covering keys, event time, windows, loops, negations and skip
//! strategies: never panics; bad lines are errors, not crashes.
#![no_main]

use libfuzzer_sys::fuzz_target;

const SPECS: &[&str] = &[
    r#"{"key":"k","time":{"field":"ts","out_of_orderness_ms":3},"patterns":[
        {"name":"p","within_ms":10,"timeouts":true,"skip":"skip_past_last_event","stages":[
          {"name":"a","where":"t == \"a\" && count(a) < 3","one_or_more":true},
          {"name":"n","connect":"not_followed_by","where":"t == \"x\""},
          {"name":"b","connect":"followed_by_any","where":"v > first(a.v)"}]},
        {"name":"q","within_ms":5,"within_type":"previous_and_current","stages":[
          {"name":"g","group":[{"name":"c","where":"matches(t, \"^[ab]\")"},
                               {"name":"d","connect":"next"}],"times":[1,2]},
          {"name":"e","connect":"not_next","where":"v == null"},
          {"name":"f","connect":"followed_by","where":"sum(c.v) > 3"}]}]}"#,
    r#"{"patterns":[{"name":"p","skip":{"skip_to_first":"a"},"stages":[
          {"name":"a","where":"v >= 0","times_or_more":2,"greedy":true},
          {"name":"b","connect":"next","where":"len(t) > 0"}]}]}"#,
];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let spec = SPECS[choice as usize % SPECS.len()];
    let spec = cepflow::spec::load(spec).expect("fuzz specs are valid");
    let mut runner =
        cepflow::spec::SpecRunner::new(spec, std::io::sink()).with_clock(|| 0);
    for (i, line) in text.lines().enumerate() {
        let _ = runner.push_line(i as u64 + 1, line);
    }
    let _ = runner.finish(true);
});
