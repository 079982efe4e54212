//! Snapshots damaged in any way, restored: `restore` refuses them or the
//! operator runs on; it never panics. The input edits a real snapshot
//! (taken in the middle of a busy run) number by number, so mutations
//! reach deep into valid-looking state rather than failing to parse.
#![no_main]

use std::time::Duration;

use cepflow::runtime::{
    Handler, KeyedOperator, OperatorSnapshot, PatternId, PatternOptions,
    TimeMode,
};
use cepflow::{Match, Pattern, SkipStrategy};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// (key, kind, payload)
type Ev = (u8, u8, i64);

fn patterns() -> Vec<Pattern<Ev>> {
    let kind = |k: u8| move |e: &Ev| e.1 == k;
    vec![
        Pattern::begin("a")
            .when(kind(0))
            .times(2)
            .followed_by("b")
            .when(kind(1))
            .within(Duration::from_millis(30))
            .skip(SkipStrategy::SkipPastLastEvent)
            .build()
            .unwrap(),
        Pattern::begin("s")
            .when(kind(0))
            .followed_by_any("r")
            .when_iterative(|e: &Ev, ctx| {
                ctx.last("r").is_none_or(|l| e.2 > l.2)
            })
            .one_or_more()
            .not_followed_by("x")
            .when(kind(2))
            .within(Duration::from_millis(20))
            .build()
            .unwrap(),
    ]
}

fn operator() -> KeyedOperator<Ev, u8> {
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    for p in patterns() {
        op.add_pattern(&p, PatternOptions { timeouts: true });
    }
    op
}

struct Sink;
impl Handler<Ev, u8> for Sink {
    fn on_match(&mut self, _: PatternId, _: &u8, m: &Match<'_, Ev>, _: i64) {
        // Extraction walks the chains: touch every event.
        let _ = m.iter().map(|(_, e)| e.2).sum::<i64>();
    }
    fn on_timeout(&mut self, _: PatternId, _: &u8, m: &Match<'_, Ev>, _: i64) {
        let _ = m.iter().count();
    }
}

fn busy_snapshot() -> Value {
    let mut op = operator();
    for i in 0..60i64 {
        let ev = ((i % 3) as u8, (i % 5 % 3) as u8, i * 7 % 11);
        op.push(ev.0, ev, i, &mut Sink).unwrap();
        op.advance_to(i - 2, &mut Sink).unwrap();
    }
    serde_json::to_value(op.snapshot()).unwrap()
}

/// How many numbers the tree holds.
fn count(v: &Value) -> usize {
    match v {
        Value::Number(_) => 1,
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

/// Sets the `n`th number (in walk order) to `value`; `n` counts down.
fn set_nth(v: &mut Value, n: &mut usize, value: i64) -> bool {
    match v {
        Value::Number(_) if *n == 0 => {
            *v = Value::from(value);
            true
        }
        Value::Number(_) => {
            *n -= 1;
            false
        }
        Value::Array(items) => items.iter_mut().any(|i| set_nth(i, n, value)),
        Value::Object(map) => map.values_mut().any(|i| set_nth(i, n, value)),
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut v = busy_snapshot();
    let numbers = count(&v);
    // Each 4-byte chunk: which number (2 bytes), and its new value.
    for chunk in data.chunks_exact(4) {
        let mut at =
            u16::from_le_bytes([chunk[0], chunk[1]]) as usize % numbers;
        let value = i64::from(i16::from_le_bytes([chunk[2], chunk[3]]));
        set_nth(&mut v, &mut at, value);
    }
    let Ok(snapshot) = serde_json::from_value::<OperatorSnapshot<Ev, u8>>(v)
    else {
        return;
    };
    let mut op = operator();
    if op.restore(snapshot).is_err() {
        return;
    }
    for i in 60..120i64 {
        let ev = ((i % 4) as u8, (i % 3) as u8, i % 13);
        let _ = op.push(ev.0, ev, i, &mut Sink);
        let _ = op.advance_to(i - 1, &mut Sink);
    }
    let _ = op.finish(&mut Sink);
    let _ = op.flush_held(&mut Sink);
});
