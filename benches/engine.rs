//! Criterion benches of the engine on the workloads of
//! `shared/bench/workloads.md`, through the typed API.
//!
//! * `nfa/*`: one `Runs` per key in a plain hash map and one
//!   `SharedBuffer` for all keys (as the operator keeps them), time
//!   advanced before each event (the single-partition API).
//! * `operator/*`: the keyed operator in event time, with a watermark
//!   after every event (Flink's setting in `shared/bench/flink`);
//!   `*_2_shards`: the same on a `ShardedOperator` of two threads.
//!
//! Events are generated and parsed before timing. `CEPFLOW_BENCH_EVENTS`
//! sets the count (default 1,000,000). With the full count, the match
//! counts of `workloads.md` are asserted first (skip with
//! `CEPFLOW_BENCH_SKIP_CHECK=1`, e.g. when profiling). With
//! `CEPFLOW_BENCH_MEMORY=1` the keyed-state memory of the operator runs
//! is printed first.

#[path = "support/typed.rs"]
mod typed;
#[path = "support/workloads.rs"]
mod workloads;

use std::hash::Hash;

use hashbrown::HashMap;

use cepflow::nfa::{Incoming, Output, Runs, Scratch};
use cepflow::runtime::{
    Handler, KeyedOperator, PatternId, ShardedOperator, TimeMode,
};
use cepflow::{Match, Pattern, SharedBuffer};
use criterion::{
    criterion_group, criterion_main, BatchSize, Criterion, Throughput,
};

#[derive(Default)]
struct Count(u64);

impl<E> Output<E> for Count {
    fn on_match(&mut self, _: &Match<'_, E>) {
        self.0 += 1;
    }
    fn on_timeout(&mut self, _: &Match<'_, E>, _: i64) {}
}

impl<E, K> Handler<E, K> for Count {
    fn on_match(&mut self, _: PatternId, _: &K, _: &Match<'_, E>, _: i64) {
        self.0 += 1;
    }
}

/// The single-partition engine over a map of per-key states.
fn run_nfa<E, K: Hash + Eq>(
    pattern: &Pattern<E>,
    events: Vec<E>,
    key: impl Fn(&E) -> K,
    ts: impl Fn(&E) -> i64,
) -> u64 {
    let nfa = pattern.nfa();
    let mut keys: HashMap<K, Runs> = HashMap::new();
    let mut buffer = SharedBuffer::new();
    let mut scratch = Scratch::new();
    let mut out = Count::default();
    for e in events {
        let t = ts(&e);
        let k = key(&e);
        let runs = match keys.get_mut(&k) {
            Some(runs) => runs,
            None => keys.entry(k).or_default(),
        };
        runs.advance_time(nfa, &mut buffer, &mut scratch, t, false, &mut out)
            .expect("no throw");
        let mut incoming = Incoming::new(e, t);
        runs.process(nfa, &mut buffer, &mut scratch, &mut incoming, &mut out)
            .expect("no throw");
        incoming.finish(&mut buffer);
    }
    out.0
}

/// The keyed operator, event time, watermark `ts - 1` after each event;
/// the matches.
fn run_operator<E, K: Hash + Eq + Clone>(
    patterns: &[Pattern<E>],
    events: Vec<E>,
    key: impl Fn(&E) -> K,
    ts: impl Fn(&E) -> i64,
) -> u64 {
    drive_operator(patterns, events, key, ts).counters().matches
}

/// [`run_operator`] on a [`ShardedOperator`] with `shards` threads.
fn run_sharded<E: Send + 'static, K: Hash + Eq + Clone + Send + 'static>(
    patterns: &[Pattern<E>],
    shards: usize,
    events: Vec<E>,
    key: impl Fn(&E) -> K,
    ts: impl Fn(&E) -> i64,
) -> u64 {
    let mut op = ShardedOperator::new(
        shards,
        || {
            let mut op = KeyedOperator::new(TimeMode::EventTime);
            for p in patterns {
                op.add_pattern(p, Default::default());
            }
            op
        },
        |_| Count::default(),
    );
    for e in events {
        let t = ts(&e);
        op.push_and_advance(key(&e), e, t, t - 1).expect("no throw");
    }
    let shards = op.finish().expect("no throw");
    shards.iter().map(|s| s.handler.0).sum()
}

/// [`run_operator`]'s run, handing back the operator.
fn drive_operator<E, K: Hash + Eq + Clone>(
    patterns: &[Pattern<E>],
    events: Vec<E>,
    key: impl Fn(&E) -> K,
    ts: impl Fn(&E) -> i64,
) -> KeyedOperator<E, K> {
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    for p in patterns {
        op.add_pattern(p, Default::default());
    }
    let mut out = Count::default();
    for e in events {
        let t = ts(&e);
        op.push_and_advance(key(&e), e, t, t - 1, &mut out).expect("no throw");
    }
    op.finish(&mut out).expect("no throw");
    assert_eq!(out.0, op.counters().matches);
    op
}

fn benches(c: &mut Criterion) {
    let n = typed::event_count();
    let logins = typed::logins(n);
    let txns = typed::txns(n);
    let ticks = typed::ticks(n);

    let mut g = c.benchmark_group("nfa");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    let w1 = typed::brute_force();
    g.bench_function("W1_brute_force", |b| {
        b.iter_batched(
            || logins.clone(),
            |evs| run_nfa(&w1, evs, |e| e.user, |e| e.ts),
            BatchSize::LargeInput,
        )
    });
    let w3 = typed::rally();
    g.bench_function("W3_rally", |b| {
        b.iter_batched(
            || ticks.clone(),
            |evs| run_nfa(&w3, evs, |e| e.symbol, |e| e.ts),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("operator");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("W1_brute_force", |b| {
        b.iter_batched(
            || logins.clone(),
            |evs| {
                run_operator(
                    std::slice::from_ref(&w1),
                    evs,
                    |e| e.user,
                    |e| e.ts,
                )
            },
            BatchSize::LargeInput,
        )
    });
    let w2 = typed::card_fraud();
    g.bench_function("W2_card_fraud", |b| {
        b.iter_batched(
            || txns.clone(),
            |evs| {
                run_operator(
                    std::slice::from_ref(&w2),
                    evs,
                    |e| e.card,
                    |e| e.ts,
                )
            },
            BatchSize::LargeInput,
        )
    });
    let w4 = typed::w4_patterns();
    g.bench_function("W4_fan_out_10", |b| {
        b.iter_batched(
            || logins.clone(),
            |evs| run_operator(&w4, evs, |e| e.user, |e| e.ts),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("W4_fan_out_10_2_shards", |b| {
        b.iter_batched(
            || logins.clone(),
            |evs| run_sharded(&w4, 2, evs, |e| e.user, |e| e.ts),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// The match counts the benches must reproduce (shared/bench/workloads.md)
/// when run on the full 1M-event files; checked once before timing.
fn check_counts(_: &mut Criterion) {
    let skip = std::env::var_os("CEPFLOW_BENCH_SKIP_CHECK").is_some();
    if skip || typed::event_count() != 1_000_000 {
        return;
    }
    let logins = typed::logins(1_000_000);
    let w1 = typed::brute_force();
    assert_eq!(run_nfa(&w1, logins.clone(), |e| e.user, |e| e.ts), 13_855);
    // W4 pattern by pattern (workloads.md), which add up to 408,242.
    let sharded = run_sharded(
        &typed::w4_patterns(),
        2,
        logins.clone(),
        |e| e.user,
        |e| e.ts,
    );
    assert_eq!(sharded, 408_242);
    let w4 =
        drive_operator(&typed::w4_patterns(), logins, |e| e.user, |e| e.ts);
    let per_pattern: Vec<u64> = w4
        .pattern_ids()
        .map(|id| w4.pattern_counters(id).expect("registered").matches)
        .collect();
    assert_eq!(
        per_pattern,
        [
            13_855, 50_497, 32_371, 35_408, 2_502, 68_203, 68_763, 56_183,
            78_848, 1_612
        ]
    );
    assert_eq!(w4.counters().matches, 408_242);
    let ticks = typed::ticks(1_000_000);
    assert_eq!(
        run_nfa(&typed::rally(), ticks, |e| e.symbol, |e| e.ts),
        105_309
    );
    let txns = typed::txns(1_000_000);
    assert_eq!(
        run_operator(&[typed::card_fraud()], txns, |e| e.card, |e| e.ts),
        7_152
    );
}

/// Keyed-state memory of the operator runs (not timed): the peak and the
/// final `KeyedOperator::memory_usage()`, sampled every 1,000 events,
/// printed once for docs/PERFORMANCE.md.
fn report_memory(_: &mut Criterion) {
    if std::env::var_os("CEPFLOW_BENCH_MEMORY").is_none() {
        return;
    }
    fn sample<E, K: Hash + Eq + Clone>(
        name: &str,
        patterns: &[Pattern<E>],
        events: Vec<E>,
        key: impl Fn(&E) -> K,
        ts: impl Fn(&E) -> i64,
    ) {
        let mut op = KeyedOperator::new(TimeMode::EventTime);
        for p in patterns {
            op.add_pattern(p, Default::default());
        }
        let mut out = Count::default();
        let mut peak = 0;
        for (i, e) in events.into_iter().enumerate() {
            let t = ts(&e);
            op.push_and_advance(key(&e), e, t, t - 1, &mut out)
                .expect("no throw");
            if i % 1_000 == 0 {
                peak = peak.max(op.memory_usage());
            }
        }
        let live = op.counters();
        op.finish(&mut out).expect("no throw");
        eprintln!(
            "memory {name}: peak {:.1} MiB keyed state, {} keys and {} partial \
             matches at the end of input, {} bytes after finish",
            peak as f64 / (1024.0 * 1024.0),
            live.keys,
            live.partial_matches,
            op.memory_usage()
        );
    }
    let n = typed::event_count();
    sample(
        "W1",
        &[typed::brute_force()],
        typed::logins(n),
        |e| e.user,
        |e| e.ts,
    );
    sample("W2", &[typed::card_fraud()], typed::txns(n), |e| e.card, |e| e.ts);
    sample(
        "W4",
        &typed::w4_patterns(),
        typed::logins(n),
        |e| e.user,
        |e| e.ts,
    );
}

criterion_group!(engine, check_counts, report_memory, benches);
criterion_main!(engine);
