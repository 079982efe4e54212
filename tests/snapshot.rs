//! Operator snapshots: a run stopped at any point, snapshotted through
//! JSON and restored into a fresh operator gives exactly the output (in
//! order) and counters of the run that never stopped; a snapshot that does
//! not fit or is damaged is refused, never a panic. The same for a
//! sharded operator, whose output is compared without its order.

use std::cell::Cell;

use cepflow::runtime::{
    Handler, KeyedOperator, OperatorSnapshot, PatternId, PatternOptions,
    RestoreError, ShardedOperator, ShardedSnapshot, TimeMode,
};
use cepflow::{Match, Pattern, SkipStrategy, WithinType};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Ev {
    key: u8,
    kind: u8,
    ts: i64,
    id: u32,
}

const A: u8 = 0;
const B: u8 = 1;
const C: u8 = 2;

fn is(kind: u8) -> impl Fn(&Ev) -> bool + Send + Sync + 'static {
    move |e: &Ev| e.kind == kind
}

/// Patterns that leave every kind of state behind: long and short
/// windows, held-back matches (skip strategies), timeouts, loops with
/// iterative conditions, negations, a pending trailing negation, a
/// previous-and-current window, and no window at all.
fn patterns() -> Vec<(Pattern<Ev>, PatternOptions)> {
    let timeouts = PatternOptions { timeouts: true };
    let plain = PatternOptions::default();
    vec![
        (
            Pattern::begin("a")
                .when(is(A))
                .times(3)
                .followed_by("b")
                .when(is(B))
                .within_ms(40, WithinType::FirstAndLast)
                .skip(SkipStrategy::SkipPastLastEvent)
                .build()
                .unwrap(),
            plain,
        ),
        (
            Pattern::begin("a")
                .when(is(A))
                .next("b")
                .when(is(B))
                .within_ms(8, WithinType::FirstAndLast)
                .build()
                .unwrap(),
            timeouts,
        ),
        (
            Pattern::begin("start")
                .when(is(A))
                .followed_by_any("rise")
                .when_iterative(|e: &Ev, ctx| {
                    ctx.last("rise").is_none_or(|l| e.id % 3 != l.id % 3)
                })
                .one_or_more()
                .followed_by("end")
                .when(is(C))
                .within_ms(25, WithinType::FirstAndLast)
                .build()
                .unwrap(),
            timeouts,
        ),
        (
            Pattern::begin("a")
                .when(is(A))
                .not_followed_by("c")
                .when(is(C))
                .followed_by("b")
                .when(is(B))
                .within_ms(30, WithinType::FirstAndLast)
                .skip(SkipStrategy::SkipToNext)
                .build()
                .unwrap(),
            timeouts,
        ),
        (
            Pattern::begin("b")
                .when(is(B))
                .not_followed_by("a")
                .when(is(A))
                .within_ms(12, WithinType::FirstAndLast)
                .build()
                .unwrap(),
            plain,
        ),
        (
            Pattern::begin("a")
                .when(is(A))
                .one_or_more()
                .consecutive()
                .next("c")
                .when(is(C))
                .within_ms(20, WithinType::PreviousAndCurrent)
                .skip(SkipStrategy::SkipToFirst {
                    stage: "a".into(),
                    throw_on_miss: false,
                })
                .build()
                .unwrap(),
            timeouts,
        ),
        (
            Pattern::begin("c")
                .when(is(C))
                .followed_by("b")
                .when(is(B))
                .optional()
                .followed_by("a")
                .when(is(A))
                .build()
                .unwrap(),
            plain,
        ),
    ]
}

fn operator(mode: TimeMode) -> KeyedOperator<Ev, u8> {
    let mut op = KeyedOperator::new(mode);
    for (p, options) in patterns() {
        op.add_pattern(&p, options);
    }
    op
}

/// Everything the operator says, in order.
#[derive(Debug, Default, PartialEq)]
struct Record(Vec<String>);

impl Handler<Ev, u8> for Record {
    fn on_match(&mut self, p: PatternId, k: &u8, m: &Match<'_, Ev>, t: i64) {
        let ids: Vec<u32> = m.iter().map(|(_, e)| e.id).collect();
        self.0.push(format!("match p{} k{k} {ids:?} @{t}", p.index()));
    }
    fn on_timeout(&mut self, p: PatternId, k: &u8, m: &Match<'_, Ev>, t: i64) {
        let ids: Vec<u32> = m.iter().map(|(_, e)| e.id).collect();
        self.0.push(format!("timeout p{} k{k} {ids:?} @{t}", p.index()));
    }
    fn on_late(&mut self, k: &u8, e: Ev, t: i64) {
        self.0.push(format!("late k{k} {} @{t}", e.id));
    }
}

#[derive(Clone, Debug)]
enum Step {
    Push(Ev),
    Advance(i64),
}

fn apply(op: &mut KeyedOperator<Ev, u8>, step: &Step, out: &mut Record) {
    match step {
        Step::Push(e) => op.push(e.key, e.clone(), e.ts, out).unwrap(),
        Step::Advance(to) => op.advance_to(*to, out).unwrap(),
    }
}

fn finish(op: &mut KeyedOperator<Ev, u8>, out: &mut Record) {
    op.finish(out).unwrap();
    op.flush_held(out).unwrap();
}

/// Events with out-of-order arrivals, each followed by a watermark that
/// lags the largest timestamp seen by `lag`.
fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec((0u8..3, 0u8..3, 0i64..5, 0i64..4, 0i64..6), 1..70)
        .prop_map(|raw| {
            let (mut now, mut max, mut steps) = (0, 0, Vec::new());
            for (id, (key, kind, gap, back, lag)) in
                raw.into_iter().enumerate()
            {
                now += gap;
                let ts = now - back;
                max = max.max(ts);
                let ev = Ev { key, kind, ts, id: id as u32 };
                steps.push(Step::Push(ev));
                steps.push(Step::Advance(max - lag));
            }
            steps
        })
}

/// The snapshot through JSON, as a program would store it.
fn through_json(s: &OperatorSnapshot<Ev, u8>) -> OperatorSnapshot<Ev, u8> {
    let text = serde_json::to_string(s).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn check_resume(mode: TimeMode, steps: &[Step], split: usize) {
    let split = split % (steps.len() + 1);
    let mut whole = operator(mode);
    let mut expected = Record::default();
    for s in steps {
        apply(&mut whole, s, &mut expected);
    }
    finish(&mut whole, &mut expected);

    let mut first = operator(mode);
    let mut got = Record::default();
    for s in &steps[..split] {
        apply(&mut first, s, &mut got);
    }
    let snapshot = through_json(&first.snapshot());
    let mut resumed = operator(mode);
    resumed.restore(snapshot).unwrap();
    // Restoring loses nothing: the resumed operator's snapshot is the
    // original's.
    assert_eq!(
        serde_json::to_value(resumed.snapshot()).unwrap(),
        serde_json::to_value(first.snapshot()).unwrap()
    );
    assert_eq!(resumed.counters(), first.counters());
    let per_pattern = |op: &KeyedOperator<Ev, u8>| {
        op.pattern_ids().map(|id| op.pattern_counters(id)).collect::<Vec<_>>()
    };
    assert_eq!(per_pattern(&resumed), per_pattern(&first));
    for s in &steps[split..] {
        apply(&mut resumed, s, &mut got);
    }
    finish(&mut resumed, &mut got);
    assert_eq!(got, expected);
    assert_eq!(resumed.counters(), whole.counters());
    assert_eq!(per_pattern(&resumed), per_pattern(&whole));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn event_time_runs_resume_exactly(steps in steps(), split in 0usize..200) {
        check_resume(TimeMode::EventTime, &steps, split);
    }

    #[test]
    fn processing_time_runs_resume_exactly(steps in steps(), split in 0usize..200) {
        // In processing time, the timestamps are the clock.
        let steps: Vec<Step> = steps
            .into_iter()
            .scan(i64::MIN, |clock, s| {
                Some(match s {
                    Step::Push(mut e) => {
                        *clock = (*clock).max(e.ts);
                        e.ts = *clock;
                        Step::Push(e)
                    }
                    Step::Advance(_) => Step::Advance(*clock),
                })
            })
            .collect();
        check_resume(TimeMode::ProcessingTime, &steps, split);
    }
}

/// A snapshot in the middle of some busy run, as JSON.
fn busy_snapshot() -> Value {
    let mut op = operator(TimeMode::EventTime);
    let mut out = Record::default();
    for id in 0..40u32 {
        let ev = Ev {
            key: (id % 3) as u8,
            kind: (id % 4 % 3) as u8,
            ts: i64::from(id),
            id,
        };
        op.push(ev.key, ev.clone(), ev.ts, &mut out).unwrap();
        op.advance_to(i64::from(id) - 2, &mut out).unwrap();
    }
    assert!(op.counters().partial_matches > 0 && op.counters().buffered > 0);
    serde_json::to_value(op.snapshot()).unwrap()
}

fn restore_value(
    op: &mut KeyedOperator<Ev, u8>,
    v: Value,
) -> Result<(), String> {
    let snapshot: OperatorSnapshot<Ev, u8> =
        serde_json::from_value(v).map_err(|e| format!("serde: {e}"))?;
    op.restore(snapshot).map_err(|e| e.to_string())
}

/// Counts are not checked on restore (any count is possible), so counts
/// at the top of the range must not overflow when added up or counted on.
#[test]
fn counts_at_the_limit_saturate() {
    let mut v = busy_snapshot();
    for p in v["patterns"].as_array_mut().unwrap() {
        p["emitted"]["matches"] = Value::from(u64::MAX);
    }
    let mut op = operator(TimeMode::EventTime);
    restore_value(&mut op, v).unwrap();
    assert_eq!(op.counters().matches, u64::MAX);
    let mut out = Record::default();
    finish(&mut op, &mut out);
    let ids: Vec<_> = op.pattern_ids().collect();
    assert_eq!(op.pattern_counters(ids[0]).unwrap().matches, u64::MAX);
    assert_eq!(op.counters().matches, u64::MAX);
}

/// A snapshot of the first layout, taken before patterns were counted
/// one by one, restores with its totals intact.
#[test]
fn snapshots_without_pattern_counts_keep_their_totals() {
    let mut v = busy_snapshot();
    let total = v["counters"]["matches"].as_u64().unwrap();
    assert!(total > 0);
    for p in v["patterns"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("emitted");
    }
    let mut op = operator(TimeMode::EventTime);
    restore_value(&mut op, v).unwrap();
    assert_eq!(op.counters().matches, total);
    let per_pattern: u64 = op
        .pattern_ids()
        .map(|id| op.pattern_counters(id).unwrap().matches)
        .sum();
    assert_eq!(per_pattern, 0, "unknown, so counted from the restore on");
}

#[test]
fn a_snapshot_tells_what_it_holds() {
    let v = busy_snapshot();
    let s: OperatorSnapshot<Ev, u8> = serde_json::from_value(v).unwrap();
    assert_eq!(s.watermark(), 37);
    assert_eq!(s.buffered_events(), 2);
    assert_eq!(s.counters().events_in, 40);
    assert_eq!(s.key_count() as u64, s.counters().keys);
    assert!(s.key_count() > 0);
}

#[test]
fn changed_conditions_are_accepted_changed_structure_is_not() {
    let v = busy_snapshot();
    // The snapshot's patterns with pattern 1 replaced by "`first`, then
    // `second` next, within `window`".
    let with_pattern_1 = |first: u8, second: &str, window: i64| {
        let mut op = KeyedOperator::new(TimeMode::EventTime);
        let mut ps = patterns();
        ps[1].0 = Pattern::begin("a")
            .when(is(first))
            .next(second)
            .when(is(B))
            .within_ms(window, WithinType::FirstAndLast)
            .build()
            .unwrap();
        for (p, o) in &ps {
            op.add_pattern(p, *o);
        }
        restore_value(&mut op, v.clone())
    };
    // Same structure, another condition: fine (Flink keeps NFA states by
    // name; conditions are code).
    assert_eq!(with_pattern_1(C, "b", 8), Ok(()));
    // Another window: refused, naming the pattern and the line.
    assert_eq!(
        with_pattern_1(A, "b", 9).unwrap_err(),
        "pattern 1: its automaton differs at line 1: the snapshot has \
         `window 8`, this operator `window 9`"
    );
    // A renamed stage.
    let err = with_pattern_1(A, "bb", 8).unwrap_err();
    assert!(
        err.starts_with("pattern 1: its automaton differs at line 3"),
        "{err}"
    );
}

#[test]
fn a_snapshot_must_fit_the_operator() {
    let v = busy_snapshot();
    let mut fewer = KeyedOperator::new(TimeMode::EventTime);
    for (p, o) in patterns().iter().take(6) {
        fewer.add_pattern(p, *o);
    }
    assert_eq!(
        restore_value(&mut fewer, v.clone()).unwrap_err(),
        RestoreError::PatternCount { snapshot: 7, operator: 6 }.to_string()
    );
    let mut clock = operator(TimeMode::ProcessingTime);
    assert_eq!(
        restore_value(&mut clock, v.clone()).unwrap_err(),
        "the snapshot was taken in EventTime, this operator runs in \
         ProcessingTime"
    );
    let mut removed = operator(TimeMode::EventTime);
    let third = removed.pattern_ids().nth(2).unwrap();
    removed.remove_pattern(third);
    assert_eq!(
        restore_value(&mut removed, v.clone()).unwrap_err(),
        "pattern 2: removed here, not in the snapshot"
    );
    let mut newer = v.clone();
    newer["format"] = Value::from(2);
    assert_eq!(
        restore_value(&mut operator(TimeMode::EventTime), newer).unwrap_err(),
        "snapshot format 2 is not supported (this build reads format 1)"
    );
}

#[test]
fn a_refused_snapshot_leaves_the_operator_as_it_was() {
    let mut op = operator(TimeMode::EventTime);
    let mut out = Record::default();
    let e = Ev { key: 1, kind: A, ts: 5, id: 0 };
    op.push_and_advance(1, e, 5, 5, &mut out).unwrap();
    let before = serde_json::to_value(op.snapshot()).unwrap();
    let mut damaged = busy_snapshot();
    damaged["free_slots"] = Value::from(vec![0]);
    assert!(restore_value(&mut op, damaged).is_err());
    assert_eq!(serde_json::to_value(op.snapshot()).unwrap(), before);
}

#[test]
fn damaged_references_are_named() {
    let v = busy_snapshot();
    let mut damaged = v.clone();
    let nodes = damaged["buffer"]["nodes"].as_array_mut().unwrap();
    let live =
        nodes.iter_mut().find(|n| n["refs"].as_u64() > Some(0)).unwrap();
    live["refs"] = Value::from(live["refs"].as_u64().unwrap() + 1);
    let err = restore_value(&mut operator(TimeMode::EventTime), damaged)
        .unwrap_err();
    assert!(err.starts_with("the snapshot is damaged: node "), "{err}");
    assert!(err.contains("references"), "{err}");

    let mut damaged = v;
    damaged["timer_queues"].as_array_mut().unwrap().pop();
    let err = restore_value(&mut operator(TimeMode::EventTime), damaged)
        .unwrap_err();
    assert_eq!(
        err,
        "the snapshot is damaged: timer queues do not match the patterns"
    );
}

/// Every number in a JSON tree, as a path of keys and indices.
fn number_paths(v: &Value, path: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Number(_) => out.push(path.clone()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Value::from(i));
                number_paths(item, path, out);
                path.pop();
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                path.push(Value::from(k.as_str()));
                number_paths(item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at_path<'v>(v: &'v mut Value, path: &[Value]) -> &'v mut Value {
    path.iter().fold(v, |v, step| match step {
        Value::String(k) => &mut v[k.as_str()],
        i => &mut v[i.as_u64().unwrap() as usize],
    })
}

/// Any one number changed: restoring is refused, or the operator runs on
/// without panicking. Both happen often (the test says how often).
#[test]
fn damaged_snapshots_never_panic() {
    let busy = busy_snapshot();
    let mut paths = Vec::new();
    number_paths(&busy, &mut Vec::new(), &mut paths);
    let (refused, accepted) = (Cell::new(0), Cell::new(0));
    let cases = (any::<prop::sample::Index>(), -3i64..60, steps());
    proptest!(ProptestConfig::with_cases(400), |(case in cases)| {
        let (pick, value, more) = case;
        let mut v = busy.clone();
        *at_path(&mut v, &paths[pick.index(paths.len())]) = Value::from(value);
        let mut op = operator(TimeMode::EventTime);
        if restore_value(&mut op, v).is_err() {
            refused.set(refused.get() + 1);
            return Ok(());
        }
        accepted.set(accepted.get() + 1);
        let mut out = Record::default();
        for s in &more {
            match s {
                Step::Push(e) => {
                    let _ = op.push(e.key, e.clone(), e.ts + 40, &mut out);
                }
                Step::Advance(to) => {
                    let _ = op.advance_to(to + 40, &mut out);
                }
            }
        }
        let _ = op.finish(&mut out);
        let _ = op.flush_held(&mut out);
    });
    assert!(
        refused.get() > 50 && accepted.get() > 50,
        "{refused:?} {accepted:?}"
    );
}

/// Any pattern the random generator of `properties.rs` builds (every
/// construct, negations, greedy, until, both window kinds), one key,
/// stopped and restored at a random event: the same output in the same
/// order.
#[test]
fn any_pattern_resumes_exactly() {
    use crate::properties::{build, events, wild, EVERYTHING};
    use crate::reference::Ev as Simple;

    #[derive(Default, PartialEq, Debug)]
    struct Out(Vec<String>);
    impl Handler<Simple, u8> for Out {
        fn on_match(
            &mut self,
            _: PatternId,
            _: &u8,
            m: &Match<'_, Simple>,
            t: i64,
        ) {
            let ids: Vec<(&str, u32)> =
                m.iter().map(|(s, e)| (s, e.id)).collect();
            self.0.push(format!("match {ids:?} @{t}"));
        }
        fn on_timeout(
            &mut self,
            _: PatternId,
            _: &u8,
            m: &Match<'_, Simple>,
            t: i64,
        ) {
            let ids: Vec<u32> = m.iter().map(|(_, e)| e.id).collect();
            self.0.push(format!("timeout {ids:?} @{t}"));
        }
    }
    let drive = |op: &mut KeyedOperator<Simple, u8>,
                 evs: &[Simple],
                 out: &mut Out| {
        for e in evs {
            op.push_and_advance(0, e.clone(), e.ts, e.ts - 1, out).unwrap();
        }
    };
    let cases = (wild(), events(EVERYTHING), 1usize..10);
    let holding = Cell::new(0);
    proptest!(ProptestConfig::with_cases(1500), |(case in cases)| {
        let ((spec, extra), evs, split) = case;
        let Ok(pattern) = build(&spec, &extra) else { return Ok(()) };
        let fresh = || {
            let mut op = KeyedOperator::new(TimeMode::EventTime);
            op.add_pattern(&pattern, PatternOptions { timeouts: true });
            op
        };
        let split = split.min(evs.len());
        let (mut whole, mut expected) = (fresh(), Out::default());
        drive(&mut whole, &evs, &mut expected);
        whole.finish(&mut expected).unwrap();
        whole.flush_held(&mut expected).unwrap();

        let (mut first, mut got) = (fresh(), Out::default());
        drive(&mut first, &evs[..split], &mut got);
        let mut resumed = fresh();
        if first.counters().partial_matches > 0 {
            holding.set(holding.get() + 1);
        }
        resumed.restore(first.snapshot()).unwrap();
        drive(&mut resumed, &evs[split..], &mut got);
        resumed.finish(&mut got).unwrap();
        resumed.flush_held(&mut got).unwrap();
        prop_assert_eq!(got, expected);
    });
    // Most restores carry partial matches over (not a vacuous property).
    assert!(holding.get() > 200, "{holding:?}");
}

/// A handler for a sharded run that is snapshotted and then abandoned:
/// it records into a log shared with the test until told to stop (the
/// abandoned shards still finish their input when dropped).
struct Shared {
    log: std::sync::Arc<std::sync::Mutex<Record>>,
    stopped: std::sync::Arc<std::sync::atomic::AtomicBool>,
    mine: Record,
}

impl Shared {
    fn keep(&mut self) {
        if !self.stopped.load(std::sync::atomic::Ordering::SeqCst) {
            self.log.lock().unwrap().0.append(&mut self.mine.0);
        }
        self.mine.0.clear();
    }
}

impl Handler<Ev, u8> for Shared {
    fn on_match(&mut self, p: PatternId, k: &u8, m: &Match<'_, Ev>, t: i64) {
        self.mine.on_match(p, k, m, t);
        self.keep();
    }
    fn on_timeout(&mut self, p: PatternId, k: &u8, m: &Match<'_, Ev>, t: i64) {
        self.mine.on_timeout(p, k, m, t);
        self.keep();
    }
    fn on_late(&mut self, k: &u8, e: Ev, t: i64) {
        self.mine.on_late(k, e, t);
        self.keep();
    }
}

fn apply_sharded(
    op: &mut ShardedOperator<Ev, u8, impl Handler<Ev, u8> + Send + 'static>,
    step: &Step,
) {
    match step {
        Step::Push(e) => op.push(e.key, e.clone(), e.ts).unwrap(),
        Step::Advance(to) => op.advance_to(*to).unwrap(),
    }
}

/// A sharded run snapshotted at `split` (through JSON) and restored into
/// new shards gives, in all, what one operator gives for the whole run.
fn check_sharded_resume(steps: &[Step], split: usize, shards: usize) {
    let split = split % (steps.len() + 1);
    let mut whole = operator(TimeMode::EventTime);
    let mut expected = Record::default();
    for s in steps {
        apply(&mut whole, s, &mut expected);
    }
    whole.finish(&mut expected).unwrap();
    expected.0.sort();

    let log = std::sync::Arc::new(std::sync::Mutex::new(Record::default()));
    let stopped =
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut first = ShardedOperator::new(
        shards,
        || operator(TimeMode::EventTime),
        |_| Shared {
            log: log.clone(),
            stopped: stopped.clone(),
            mine: Record::default(),
        },
    );
    for s in &steps[..split] {
        apply_sharded(&mut first, s);
    }
    let snapshot = first.snapshot().unwrap();
    // Everything pushed before the snapshot is in it, and in the log.
    stopped.store(true, std::sync::atomic::Ordering::SeqCst);
    drop(first);
    let text = serde_json::to_string(&snapshot).unwrap();
    let snapshot: ShardedSnapshot<Ev, u8> =
        serde_json::from_str(&text).unwrap();
    assert_eq!(snapshot.shards().len(), shards);

    let mut resumed = ShardedOperator::restore(
        snapshot,
        || operator(TimeMode::EventTime),
        |_| Record::default(),
    )
    .unwrap();
    for s in &steps[split..] {
        apply_sharded(&mut resumed, s);
    }
    let mut got = std::mem::take(&mut *log.lock().unwrap());
    for shard in resumed.finish().unwrap() {
        got.0.extend(shard.handler.0);
    }
    got.0.sort();
    assert_eq!(got, expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(60))]

    #[test]
    fn sharded_runs_resume_exactly(
        steps in steps(),
        split in 0usize..200,
        shards in 1usize..4,
    ) {
        check_sharded_resume(&steps, split, shards);
    }
}

#[test]
fn a_sharded_snapshot_must_be_whole() {
    let mut op = ShardedOperator::new(
        2,
        || operator(TimeMode::EventTime),
        |_| Record::default(),
    );
    for (id, key) in [0u8, 1, 2, 0].into_iter().enumerate() {
        let ev = Ev { key, kind: A, ts: id as i64, id: id as u32 };
        op.push_and_advance(key, ev, id as i64, id as i64 - 1).unwrap();
    }
    let good = serde_json::to_value(op.snapshot().unwrap()).unwrap();
    drop(op);
    let restore = |v: &Value| {
        let s: ShardedSnapshot<Ev, u8> =
            serde_json::from_value(v.clone()).unwrap();
        ShardedOperator::restore(
            s,
            || operator(TimeMode::EventTime),
            |_| Record::default(),
        )
        .map(|_| ())
    };
    assert!(restore(&good).is_ok());
    // No shard at all.
    let mut none = good.clone();
    none["shards"] = Value::Array(vec![]);
    assert!(matches!(restore(&none), Err(RestoreError::Corrupt { .. })));
    // A shard at another watermark.
    let mut late = good.clone();
    late["watermark"] = Value::from(1000);
    let err = restore(&late).unwrap_err();
    assert!(err.to_string().contains("watermark"), "{err}");
    // One shard's state twice: its keys are in two shards.
    let mut twice = good.clone();
    let shards = twice["shards"].as_array().unwrap().clone();
    let busy = shards
        .iter()
        .find(|s| s["keys"].as_array().unwrap().iter().any(|k| !k.is_null()))
        .unwrap()
        .clone();
    twice["shards"] = Value::Array(vec![busy.clone(), busy]);
    let err = restore(&twice).unwrap_err();
    assert!(err.to_string().contains("key of another"), "{err}");
}
