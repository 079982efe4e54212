//! An event that starts no partial match allocates nothing: proven with a
//! counting allocator (per thread, so parallel tests do not interfere).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use cepflow::nfa::{Incoming, Output, Runs, Scratch};
use cepflow::runtime::{Handler, KeyedOperator, PatternId, TimeMode};
use cepflow::{Match, Pattern, SharedBuffer, SkipStrategy};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a plain
// thread-local Cell that itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(
        &self,
        ptr: *mut u8,
        layout: Layout,
        size: usize,
    ) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_in(f: impl FnOnce()) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Fail,
    Success,
    Logout,
}

#[derive(Clone, Debug)]
struct Login {
    /// Carried like a real event's payload; the key is passed apart.
    #[allow(dead_code)]
    user: u32,
    kind: Kind,
}

fn brute_force() -> Pattern<Login> {
    Pattern::begin("fail")
        .when(|e: &Login| e.kind == Kind::Fail)
        .times(3)
        .followed_by("success")
        .when(|e: &Login| e.kind == Kind::Success)
        .within(Duration::from_secs(60))
        .skip(SkipStrategy::SkipPastLastEvent)
        .build()
        .unwrap()
}

#[derive(Default)]
struct Count(u64);

impl Output<Login> for Count {
    fn on_match(&mut self, _: &Match<'_, Login>) {
        self.0 += 1;
    }
    fn on_timeout(&mut self, _: &Match<'_, Login>, _: i64) {}
}

impl Handler<Login, u32> for Count {
    fn on_match(
        &mut self,
        _: PatternId,
        _: &u32,
        _: &Match<'_, Login>,
        _: i64,
    ) {
        self.0 += 1;
    }
}

#[test]
fn the_counter_sees_allocations() {
    let n = allocations_in(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(n, 1);
}

#[test]
fn an_event_that_starts_nothing_allocates_nothing_in_the_engine() {
    let pattern = brute_force();
    let nfa = pattern.nfa();
    let mut runs = Runs::new();
    let mut buffer = SharedBuffer::new();
    let mut scratch = Scratch::new();
    let mut out = Count::default();
    let mut step =
        |kind, ts, runs: &mut Runs, buffer: &mut SharedBuffer<Login>| {
            runs.advance_time(nfa, buffer, &mut scratch, ts, false, &mut out)
                .unwrap();
            let mut e = Incoming::new(Login { user: 1, kind }, ts);
            runs.process(nfa, buffer, &mut scratch, &mut e, &mut out).unwrap();
            e.finish(buffer);
        };
    // Warm up: partial matches come and go, so the scratch space and the
    // buffer's slabs reach their working size. Events 10 s apart, inside
    // the 60 s window, so later events step live runs (an event on an
    // idle key writes the key's queue directly and warms nothing else).
    for i in 0..50 {
        let kind = [Kind::Fail, Kind::Fail, Kind::Fail, Kind::Success][i % 4];
        step(kind, i as i64 * 10_000, &mut runs, &mut buffer);
    }
    // A logout with a live partial match, then on an idle key.
    step(Kind::Fail, 10_000_000, &mut runs, &mut buffer);
    let with_runs = allocations_in(|| {
        step(Kind::Logout, 10_000_001, &mut runs, &mut buffer)
    });
    assert_eq!(with_runs, 0);
    let idle = allocations_in(|| {
        step(Kind::Logout, 20_000_000, &mut runs, &mut buffer)
    });
    assert_eq!(idle, 0);
    assert!(runs.is_idle());
}

#[test]
fn an_event_that_starts_nothing_allocates_nothing_in_the_operator() {
    let mut op = KeyedOperator::new(TimeMode::EventTime);
    op.add_pattern(&brute_force(), Default::default());
    let mut out = Count::default();
    let mut ts = 0;
    let mut push = |op: &mut KeyedOperator<Login, u32>, user, kind| {
        ts += 1_000;
        op.push_and_advance(user, Login { user, kind }, ts, ts - 1, &mut out)
            .unwrap();
    };
    for i in 0..2_000u32 {
        let kind = [Kind::Fail, Kind::Logout, Kind::Fail, Kind::Success]
            [i as usize % 4];
        push(&mut op, i % 50, kind);
    }
    for user in 0..50 {
        push(&mut op, user, Kind::Logout);
    }
    // A new key whose event starts nothing, then another one.
    let new_key = allocations_in(|| push(&mut op, 1_000_000, Kind::Logout));
    let again = allocations_in(|| push(&mut op, 1_000_001, Kind::Success));
    assert_eq!((new_key, again), (0, 0));
}
