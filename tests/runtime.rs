//! The keyed runtime's promises: order independence, late data,
//! timeouts, fan-out, key isolation, state hygiene, pattern replacement,
//! keys split over threads.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use cepflow::handler::{process, select};
use cepflow::runtime::{
    Handler, KeyedOperator, PatternCounters, PatternId, PatternOptions,
    Pipeline, ShardedOperator, TimeMode, Watermarks,
};
use cepflow::{Match, Pattern, SkipStrategy};

#[derive(Clone, Debug, PartialEq)]
struct Ev {
    key: u32,
    kind: char,
    ts: i64,
    id: u32,
}

fn ev(key: u32, kind: char, ts: i64, id: u32) -> Ev {
    Ev { key, kind, ts, id }
}

/// "a then b within 10 ms".
fn a_then_b() -> Pattern<Ev> {
    Pattern::begin("a")
        .when(|e: &Ev| e.kind == 'a')
        .followed_by("b")
        .when(|e: &Ev| e.kind == 'b')
        .within(Duration::from_millis(10))
        .build()
        .unwrap()
}

/// Collects everything as (pattern, key, ids) for order-free comparison.
#[derive(Default, Debug)]
struct Collect {
    matches: Vec<(usize, u32, Vec<u32>)>,
    timeouts: Vec<(usize, u32, Vec<u32>, i64)>,
    late: Vec<u32>,
}

impl Handler<Ev, u32> for Collect {
    fn on_match(&mut self, p: PatternId, k: &u32, m: &Match<'_, Ev>, _: i64) {
        self.matches.push((
            p.index(),
            *k,
            m.iter().map(|(_, e)| e.id).collect(),
        ));
    }
    fn on_timeout(
        &mut self,
        p: PatternId,
        k: &u32,
        m: &Match<'_, Ev>,
        t: i64,
    ) {
        let ids = m.iter().map(|(_, e)| e.id).collect();
        self.timeouts.push((p.index(), *k, ids, t));
    }
    fn on_late(&mut self, _: &u32, e: Ev, _: i64) {
        self.late.push(e.id);
    }
}

impl Collect {
    fn sorted(mut self) -> Self {
        self.matches.sort();
        self.timeouts.sort();
        self.late.sort();
        self
    }
}

fn run(
    patterns: &[(Pattern<Ev>, bool)],
    events: &[Ev],
    out_of_orderness: i64,
) -> Collect {
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    for (p, timeouts) in patterns {
        op.add_pattern(p, PatternOptions { timeouts: *timeouts });
    }
    let mut out = Collect::default();
    let mut max_ts = i64::MIN;
    for e in events {
        max_ts = max_ts.max(e.ts);
        let wm = max_ts - out_of_orderness - 1;
        op.push_and_advance(e.key, e.clone(), e.ts, wm, &mut out).unwrap();
    }
    op.finish(&mut out).unwrap();
    out.sorted()
}

/// A deterministic pseudo-random stream over a few keys.
fn stream(n: u32, seed: u64) -> Vec<Ev> {
    let mut x = seed;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let r = next();
            let kind = ['a', 'b', 'c'][(r % 3) as usize];
            ev(
                (r >> 8) as u32 % 4,
                kind,
                i64::from(i) * 3 + (r >> 20) as i64 % 3,
                i,
            )
        })
        .collect()
}

#[test]
fn out_of_order_input_gives_the_same_matches_as_sorted_input() {
    let p = [(a_then_b(), true)];
    for seed in 1..20 {
        let sorted = {
            let mut s = stream(60, seed);
            s.sort_by_key(|e| (e.ts, e.id));
            s
        };
        // Shuffle within a bounded disorder of 8 ms.
        let mut shuffled = sorted.clone();
        for i in (1..shuffled.len()).rev() {
            let j = i.saturating_sub((seed as usize + i * 7) % 3);
            if shuffled[i].ts - shuffled[j].ts <= 8 {
                shuffled.swap(i, j);
            }
        }
        let a = run(&p, &sorted, 0);
        let b = run(&p, &shuffled, 10);
        assert!(b.late.is_empty(), "seed {seed}: no event is late");
        assert_eq!(a.matches, b.matches, "seed {seed}");
        assert_eq!(a.timeouts, b.timeouts, "seed {seed}");
        assert!(!a.matches.is_empty(), "seed {seed}: the test needs matches");
    }
}

#[test]
fn late_events_go_to_the_late_output_and_take_part_in_no_match() {
    let events = [
        ev(1, 'a', 10, 0),
        ev(1, 'c', 20, 1), // watermark 19
        ev(1, 'b', 15, 2), // late: 15 <= 19
        ev(1, 'b', 19, 3), // late: equal to the watermark
        ev(1, 'b', 21, 4),
    ];
    let out = run(&[(a_then_b(), false)], &events, 0);
    assert_eq!(out.late, vec![2, 3]);
    // a@10 expired at 20 before b@21 (exclusive window).
    assert!(out.matches.is_empty(), "{:?}", out.matches);
}

#[test]
fn late_events_are_reported_once_however_many_patterns() {
    let events = [ev(1, 'a', 10, 0), ev(1, 'a', 5, 1)];
    let p = a_then_b();
    let out =
        run(&[(p.clone(), false), (p.clone(), false), (p, false)], &events, 0);
    assert_eq!(out.late, vec![1]);
}

#[test]
fn each_timeout_fires_exactly_once_at_its_deadline() {
    let events = [ev(1, 'a', 100, 0), ev(2, 'c', 105, 1), ev(2, 'c', 130, 2)];
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    op.add_pattern(&a_then_b(), PatternOptions { timeouts: true });
    let mut out = Collect::default();
    op.push_and_advance(1, events[0].clone(), 100, 99, &mut out).unwrap();
    op.push_and_advance(2, events[1].clone(), 105, 104, &mut out).unwrap();
    // The deadline is 110: nothing before the watermark reaches it.
    op.advance_to(109, &mut out).unwrap();
    assert!(out.timeouts.is_empty());
    op.advance_to(110, &mut out).unwrap();
    assert_eq!(out.timeouts, vec![(0, 1, vec![0], 110)]);
    op.push_and_advance(2, events[2].clone(), 130, 129, &mut out).unwrap();
    op.finish(&mut out).unwrap();
    assert_eq!(out.timeouts.len(), 1, "{:?}", out.timeouts);
    assert!(out.matches.is_empty());
}

#[test]
fn end_of_input_times_out_windowed_partial_matches() {
    let out = run(&[(a_then_b(), true)], &[ev(7, 'a', 1_000, 0)], 0);
    assert_eq!(out.timeouts, vec![(0, 7, vec![0], 1_010)]);
}

/// Three patterns to fan out: `a_then_b` (windowed), two non-c events
/// then a c (windowed, skip past the last event), and one or more b's
/// then an a (no window).
fn three_patterns() -> [Pattern<Ev>; 3] {
    let p2 = Pattern::begin("x")
        .when(|e: &Ev| e.kind != 'c')
        .times(2)
        .next("y")
        .when(|e: &Ev| e.kind == 'c')
        .within(Duration::from_millis(20))
        .skip(SkipStrategy::SkipPastLastEvent)
        .build()
        .unwrap();
    let p3 = Pattern::begin("s")
        .when(|e: &Ev| e.kind == 'b')
        .one_or_more()
        .followed_by("t")
        .when(|e: &Ev| e.kind == 'a')
        .build()
        .unwrap();
    [a_then_b(), p2, p3]
}

#[test]
fn fan_out_gives_exactly_what_separate_runs_give() {
    let [p1, p2, p3] = three_patterns();
    let events = stream(200, 42);
    let together = run(
        &[(p1.clone(), true), (p2.clone(), true), (p3.clone(), false)],
        &events,
        0,
    );
    let mut apart = Collect::default();
    for (i, p) in [(p1, true), (p2, true), (p3, false)].into_iter().enumerate()
    {
        let one = run(&[p], &events, 0);
        apart
            .matches
            .extend(one.matches.into_iter().map(|(_, k, m)| (i, k, m)));
        apart
            .timeouts
            .extend(one.timeouts.into_iter().map(|(_, k, m, t)| (i, k, m, t)));
    }
    let apart = apart.sorted();
    assert_eq!(together.matches, apart.matches);
    assert_eq!(together.timeouts, apart.timeouts);
    for i in 0..3 {
        assert!(
            together.matches.iter().any(|m| m.0 == i),
            "pattern {i} matched"
        );
    }
}

#[test]
fn pattern_counters_split_the_totals_by_pattern() {
    let [p1, p2, p3] = three_patterns();
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    let ids = [
        op.add_pattern(&p1, PatternOptions { timeouts: true }),
        op.add_pattern(&p2, PatternOptions { timeouts: true }),
        op.add_pattern(&p3, PatternOptions::default()),
    ];
    let counters = |op: &KeyedOperator<Ev, u32>| {
        ids.map(|id| op.pattern_counters(id).expect("registered"))
    };
    let mut out = Collect::default();
    let mut held_partials = false;
    for e in stream(300, 7) {
        op.push_and_advance(e.key, e.clone(), e.ts, e.ts - 1, &mut out)
            .unwrap();
        // At every moment the patterns' live partial matches add up to
        // the operator's.
        let live: u64 = counters(&op).iter().map(|c| c.partial_matches).sum();
        assert_eq!(live, op.counters().partial_matches);
        held_partials |= counters(&op).iter().all(|c| c.partial_matches > 0);
    }
    op.finish(&mut out).unwrap();
    assert!(held_partials, "every pattern held partial matches at once");
    let end = counters(&op);
    for (i, c) in end.iter().enumerate() {
        let matches = out.matches.iter().filter(|m| m.0 == i).count();
        let timeouts = out.timeouts.iter().filter(|t| t.0 == i).count();
        assert_eq!((c.matches, c.timeouts), (matches as u64, timeouts as u64));
        assert!(c.matches > 0, "pattern {i} matched");
    }
    assert!(end[0].timeouts > 0 && end[1].timeouts > 0);
    assert_eq!(end[2].timeouts, 0, "no timeouts asked for");
    assert_eq!(
        end.iter().map(|c| c.matches).sum::<u64>(),
        op.counters().matches
    );
    // Without a window, the third pattern's partial matches outlive the
    // input; the windowed ones all timed out.
    assert_eq!(end[0].partial_matches + end[1].partial_matches, 0);
    assert!(end[2].partial_matches > 0);

    // A replaced pattern starts counting again; the others keep theirs.
    op.replace_pattern(ids[1], &a_then_b(), PatternOptions::default());
    let after = counters(&op);
    assert_eq!(after[1], PatternCounters::default());
    assert_eq!((after[0], after[2]), (end[0], end[2]));
    // An id from another operator with more patterns is unknown here.
    let mut other = KeyedOperator::<Ev, u32>::new(TimeMode::EventTime);
    let foreign = (0..4)
        .map(|_| other.add_pattern(&a_then_b(), PatternOptions::default()))
        .last()
        .expect("four ids");
    assert_eq!(op.pattern_counters(foreign), None);
}

#[test]
fn keys_are_isolated() {
    // a on key 1, b on key 2: no match; then b on key 1: a match.
    let events = [ev(1, 'a', 1, 0), ev(2, 'b', 2, 1), ev(1, 'b', 3, 2)];
    let out = run(&[(a_then_b(), false)], &events, 0);
    assert_eq!(out.matches, vec![(0, 1, vec![0, 2])]);
}

#[test]
fn idle_keys_hold_no_state() {
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    op.add_pattern(&a_then_b(), PatternOptions::default());
    let mut out = Collect::default();
    // 100,000 keys that each see an event starting nothing.
    for k in 0..100_000u32 {
        let ts = i64::from(k) + 1;
        op.push_and_advance(k, ev(k, 'c', ts, k), ts, ts - 1, &mut out)
            .unwrap();
    }
    op.advance_to(100_001, &mut out).unwrap();
    assert_eq!(op.counters().events_in, 100_000);
    assert_eq!(op.counters().keys, 0);
    assert_eq!(op.counters().partial_matches, 0);
    assert!(op.memory_usage() < 256 * 1024, "{} bytes", op.memory_usage());
    // Keys with partial matches hold state until their window passes.
    op.push_and_advance(1, ev(1, 'a', 200_000, 0), 200_000, 199_999, &mut out)
        .unwrap();
    op.advance_to(200_000, &mut out).unwrap();
    assert_eq!(op.counters().keys, 1);
    assert_eq!(op.counters().partial_matches, 1);
    op.advance_to(200_010, &mut out).unwrap();
    assert_eq!(op.counters().keys, 0);
    assert_eq!(op.counters().partial_matches, 0);
}

#[test]
fn a_timer_that_prunes_some_runs_keeps_the_counters_exact() {
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    op.add_pattern(&a_then_b(), PatternOptions::default());
    let mut out = Collect::default();
    for (ts, id) in [(100, 0), (105, 1)] {
        op.push_and_advance(1, ev(1, 'a', ts, id), ts, ts, &mut out).unwrap();
    }
    assert_eq!(op.counters().partial_matches, 2);
    // The first run's window closes; the key keeps the second.
    op.advance_to(110, &mut out).unwrap();
    assert_eq!(op.counters().partial_matches, 1);
    assert_eq!(op.counters().keys, 1);
    op.advance_to(115, &mut out).unwrap();
    assert_eq!(op.counters().partial_matches, 0);
    assert_eq!(op.counters().keys, 0);
    assert_eq!(op.counters().peak_partial_matches, 2);
}

#[test]
fn counters_track_events_matches_and_late() {
    let events = [ev(1, 'a', 1, 0), ev(1, 'b', 2, 1), ev(1, 'a', 0, 2)];
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    op.add_pattern(&a_then_b(), PatternOptions::default());
    let mut out = Collect::default();
    for e in &events {
        op.push_and_advance(e.key, e.clone(), e.ts, e.ts - 1, &mut out)
            .unwrap();
    }
    op.finish(&mut out).unwrap();
    let c = op.counters();
    assert_eq!((c.events_in, c.late, c.matches), (3, 1, 1));
}

#[test]
fn a_replaced_pattern_restarts_while_others_keep_their_state() {
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    let keep = op.add_pattern(&a_then_b(), PatternOptions::default());
    let swap = op.add_pattern(&a_then_b(), PatternOptions::default());
    let mut out = Collect::default();
    op.push_and_advance(1, ev(1, 'a', 1, 0), 1, 0, &mut out).unwrap();
    op.advance_to(1, &mut out).unwrap();
    // Replace the second pattern by "c then b": its partial match (the a)
    // is dropped, the first pattern's is kept.
    let c_then_b = Pattern::begin("c")
        .when(|e: &Ev| e.kind == 'c')
        .followed_by("b")
        .when(|e: &Ev| e.kind == 'b')
        .build()
        .unwrap();
    op.replace_pattern(swap, &c_then_b, PatternOptions::default());
    for (i, kind) in ['c', 'b'].into_iter().enumerate() {
        let ts = 2 + i as i64;
        op.push_and_advance(
            1,
            ev(1, kind, ts, 1 + i as u32),
            ts,
            ts - 1,
            &mut out,
        )
        .unwrap();
    }
    op.finish(&mut out).unwrap();
    let out = out.sorted();
    assert_eq!(
        out.matches,
        vec![(keep.index(), 1, vec![0, 2]), (swap.index(), 1, vec![1, 2])]
    );
    op.remove_pattern(keep);
    assert_eq!(op.pattern_ids().collect::<Vec<_>>(), vec![swap]);
}

#[test]
fn pipeline_select_process_side_outputs_and_late_data() {
    use cepflow::handler::OutputTag;
    let events = vec![
        ev(1, 'a', 10, 0),
        ev(1, 'b', 12, 1),
        ev(2, 'a', 13, 2),
        ev(1, 'a', 5, 3), // late
        ev(2, 'c', 40, 4),
    ];
    let selected = Rc::new(RefCell::new(Vec::new()));
    let sink = selected.clone();
    let expired: OutputTag<(u32, i64)> = OutputTag::new("expired");
    let tag = expired.clone();
    let mut report = Pipeline::from_iter(events)
        .event_time(
            |e| e.ts,
            Watermarks::bounded_out_of_orderness(Duration::ZERO),
        )
        .key_by(|e| e.key)
        .pattern(
            &a_then_b(),
            select(
                |m, ctx| (*ctx.key(), m.len()),
                move |r| sink.borrow_mut().push(r),
            ),
        )
        .pattern(
            &a_then_b(),
            process(|_, _| {}).on_timeout(move |_, ctx| {
                let (k, t) = (*ctx.key(), ctx.timestamp());
                ctx.output(&tag, (k, t));
            }),
        )
        .run()
        .unwrap();
    assert_eq!(*selected.borrow(), vec![(1, 2)]);
    assert_eq!(report.side_output(&expired), vec![(2, 23)]);
    assert_eq!(
        report.late().iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![3]
    );
    // Per pattern, in the order added: the select's match, the process
    // handler's match and timeout.
    let per_pattern: Vec<(u64, u64)> = report
        .pattern_counters()
        .iter()
        .map(|c| (c.matches, c.timeouts))
        .collect();
    assert_eq!(per_pattern, vec![(1, 0), (1, 1)]);
    assert_eq!(report.counters().matches, 2);
}

/// [`run`] on a [`ShardedOperator`] with `shards` shards; the shards'
/// output put together.
fn run_sharded(
    patterns: &[(Pattern<Ev>, bool)],
    events: &[Ev],
    out_of_orderness: i64,
    shards: usize,
) -> Collect {
    let mut op = ShardedOperator::new(
        shards,
        || {
            let mut op = KeyedOperator::new(TimeMode::EventTime);
            for (p, timeouts) in patterns {
                op.add_pattern(p, PatternOptions { timeouts: *timeouts });
            }
            op
        },
        |_| Collect::default(),
    );
    let mut max_ts = i64::MIN;
    for e in events {
        max_ts = max_ts.max(e.ts);
        let wm = max_ts - out_of_orderness - 1;
        op.push_and_advance(e.key, e.clone(), e.ts, wm).unwrap();
    }
    let mut all = Collect::default();
    for shard in op.finish().unwrap() {
        let c = shard.handler;
        all.matches.extend(c.matches);
        all.timeouts.extend(c.timeouts);
        all.late.extend(c.late);
    }
    all.sorted()
}

#[test]
fn a_sharded_operator_gives_what_one_operator_gives() {
    let [p1, p2, p3] = three_patterns();
    let patterns = [(p1, true), (p2, true), (p3, false)];
    let mut seen = [0; 3];
    for seed in 1..13 {
        // Disorder beyond the bound gives late events too.
        let mut events = stream(300, seed);
        for i in (0..events.len()).step_by(7).skip(1) {
            events.swap(i, i - 3);
        }
        for out_of_orderness in [0, 4] {
            let one = run(&patterns, &events, out_of_orderness);
            for shards in [1, 2, 3] {
                let split =
                    run_sharded(&patterns, &events, out_of_orderness, shards);
                assert_eq!(split.matches, one.matches, "seed {seed}");
                assert_eq!(split.timeouts, one.timeouts, "seed {seed}");
                assert_eq!(split.late, one.late, "seed {seed}");
            }
            seen[0] += one.matches.len();
            seen[1] += one.timeouts.len();
            seen[2] += one.late.len();
        }
    }
    assert!(seen.iter().all(|&n| n > 0), "matches, timeouts, late: {seen:?}");
}

#[test]
fn a_sharded_operator_hands_back_a_shards_skip_error() {
    let p = Pattern::begin("a")
        .when(|e: &Ev| e.kind == 'a')
        .optional()
        .followed_by("b")
        .when(|e: &Ev| e.kind == 'b')
        .skip(SkipStrategy::skip_to_first("a").throw_on_miss())
        .build()
        .unwrap();
    let events: Vec<Ev> =
        (0..5000).map(|i| ev(i % 5, 'b', i64::from(i), i)).collect();
    let mut op = ShardedOperator::new(
        2,
        || {
            let mut op = KeyedOperator::new(TimeMode::EventTime);
            op.add_pattern(&p, PatternOptions::default());
            op
        },
        |_| Collect::default(),
    );
    // A shard stops at its first match; pushing on may or may not notice
    // before the end.
    for e in &events {
        if op.push_and_advance(e.key, e.clone(), e.ts, e.ts - 1).is_err() {
            break;
        }
    }
    let err = op.finish().expect_err("a match without an `a` throws");
    assert_eq!(err.shards.len(), 2);
    assert!(!err.to_string().is_empty());
}
