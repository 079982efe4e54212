//! One key's runs (partial matches) of one pattern, stepped event by
//! event: a port of Flink's `NFA.process` / `NFA.advanceTime`.
//!
//! A *run* is Flink's `ComputationState`: an NFA state, the chain of
//! events taken so far (a node of the [`SharedBuffer`]), and the start
//! and previous timestamps its windows are measured from. Runs sit in a
//! heap ordered by their start event, walked in the heap's array order
//! exactly as Flink walks its `PriorityQueue`, because that order decides
//! which of several simultaneous matches a skip strategy keeps.

use std::cmp::Ordering;
use std::fmt;

use thin_vec::ThinVec;

use super::automaton::{
    Action, AfterMatch, Exclusive, Nfa, Reuse, StartTake, StateKind,
    Transition,
};
use super::buffer::{EventOrder, SharedBuffer};
use super::context::Context;
use super::matched::Match;
use crate::pattern::condition::Test;
use crate::util::ids::{EventId, NodeId, StageId, StateId};
use crate::util::javaheap::{HeapKey, JavaHeap};

const NO_SEQ: u64 = u64::MAX;

/// Flink gives up on patterns whose epsilon (proceed) edges cycle; we cap
/// the walk instead of looping forever.
const MAX_PROCEED_STEPS: usize = 4096;

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct Run {
    state: StateId,
    node: Option<NodeId>,
    /// The start event's timestamp; `i64::MAX` for the start run (Flink
    /// has -1 there, but nothing reads it: its windows never close), so
    /// that it sorts last.
    start_ts: i64,
    prev_ts: i64,
    /// The start event's arrival number; `NO_SEQ` for the start run.
    start_seq: u64,
}

impl Run {
    fn start(state: StateId) -> Self {
        Run {
            state,
            node: None,
            start_ts: i64::MAX,
            prev_ts: -1,
            start_seq: NO_SEQ,
        }
    }

    /// Flink's order of runs: by start event, the start run last.
    #[inline]
    fn start_order(&self) -> EventOrder {
        (self.start_ts, self.start_seq)
    }
}

impl HeapKey for Run {
    #[inline]
    fn heap_cmp(&self, other: &Self) -> Ordering {
        self.start_order().cmp(&other.start_order())
    }
}

/// Receives what a pattern produces for one key.
pub trait Output<E> {
    /// A completed match.
    fn on_match(&mut self, m: &Match<'_, E>);
    /// A partial match whose window expired at `timestamp` (only called
    /// when timeouts are requested).
    fn on_timeout(&mut self, m: &Match<'_, E>, timestamp: i64);
}

/// A skip strategy with throw-on-miss found no event to skip to
/// (Flink fails the job with `FlinkRuntimeException`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkipError {
    stage: String,
    first_element: bool,
}

impl fmt::Display for SkipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first_element {
            write!(
                f,
                "could not skip to the first element of a match (stage {:?})",
                self.stage
            )
        } else {
            write!(
                f,
                "could not skip to stage {:?}: the match has no such event",
                self.stage
            )
        }
    }
}

impl std::error::Error for SkipError {}

/// The event being processed: handed to the buffer only when some run
/// takes it, so an event that starts nothing costs nothing.
#[derive(Debug)]
pub struct Incoming<E> {
    value: Option<E>,
    id: Option<EventId>,
    timestamp: i64,
}

impl<E> Incoming<E> {
    /// Wraps an event and its timestamp.
    pub fn new(value: E, timestamp: i64) -> Self {
        Self { value: Some(value), id: None, timestamp }
    }

    /// The event's timestamp.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// Whether some run took the event (it now lives in the buffer).
    pub fn was_taken(&self) -> bool {
        self.id.is_some()
    }

    /// Ends processing: the event stays in the buffer only as long as a
    /// run holds it. Gives the event back when no run took it.
    pub fn finish(self, buffer: &mut SharedBuffer<E>) -> Option<E> {
        if let Some(id) = self.id {
            buffer.unpin(id);
        }
        self.value
    }

    /// The event, wherever it is now (here, or in the buffer once a run
    /// took it).
    #[inline]
    pub(crate) fn value<'a>(&'a self, buffer: &'a SharedBuffer<E>) -> &'a E {
        match self.id {
            Some(id) => buffer.event(id),
            // OK because value is only moved out when id is set.
            None => self.value.as_ref().expect("incoming event"),
        }
    }

    /// Moves the event into the buffer, pinned until
    /// [`finish`](Self::finish), so every pattern sees it even after the
    /// runs that took it are gone.
    #[inline]
    fn register(&mut self, buffer: &mut SharedBuffer<E>) -> EventId {
        match self.id {
            Some(id) => id,
            None => self.move_to_buffer(buffer),
        }
    }

    /// The first [`register`](Self::register) of the event.
    #[inline(never)]
    fn move_to_buffer(&mut self, buffer: &mut SharedBuffer<E>) -> EventId {
        // OK because id is unset, so value is still here.
        let value = self.value.take().expect("incoming event");
        let id = buffer.insert_event(value, self.timestamp);
        self.id = Some(id);
        id
    }
}

/// What advancing time does to a queue (see `Runs::scan_expiry`).
enum Expiry {
    /// No run expires; the earliest deadline.
    None { deadline: i64 },
    /// The first `cut` runs expire, and the rest are in order; their
    /// earliest deadline.
    Prefix { cut: usize, deadline: i64 },
    /// Anything else: the queue is rebuilt as Flink does.
    Mixed,
}

/// Reusable working memory for stepping runs; one per thread, shared by
/// all keys and patterns, so the per-event path does not allocate.
#[derive(Debug, Default)]
pub struct Scratch {
    conditions: ConditionCache,
    next: JavaHeap<Run>,
    potential: JavaHeap<Run>,
    new_runs: Vec<Run>,
    retained: Vec<Run>,
    /// A decision graph's edges: action, source state, and the edge's
    /// index among the source's transitions.
    edges: Vec<(Action, StateId, u32)>,
    stack: Vec<StateId>,
    path: Vec<(StageId, EventId)>,
    /// Allocations of queues that went idle, for the next queues that
    /// start, the most recently emptied first (still in cache).
    spare_queues: Vec<ThinVec<Run>>,
}

/// Spare queue allocations kept at most: enough for a burst of keys
/// going idle and busy again.
const SPARE_QUEUES: usize = 256;

/// Capacity above which an idle queue's allocation is freed rather than
/// kept as a spare: a key's queue then holds about what it needs, not
/// what the busiest step ever needed.
const SPARE_CAPACITY: usize = 8;

/// Capacity a queue that starts with no spare at hand gets.
const QUEUE_CAPACITY: usize = 4;

impl Scratch {
    /// Empty scratch space.
    pub fn new() -> Self {
        Self::default()
    }

    /// A spare allocation for a queue that needs `len` entries.
    #[inline]
    fn queue_for(&mut self, len: usize) -> ThinVec<Run> {
        match self.spare_queues.pop() {
            Some(spare) if spare.capacity() >= len => spare,
            _ => ThinVec::with_capacity(len.max(QUEUE_CAPACITY)),
        }
    }

    /// Keeps an idle queue's (empty) allocation for a later queue.
    #[inline]
    fn keep_queue(&mut self, queue: ThinVec<Run>) {
        let cap = queue.capacity();
        if cap > 0
            && cap <= SPARE_CAPACITY
            && self.spare_queues.len() < SPARE_QUEUES
        {
            if self.spare_queues.capacity() == 0 {
                // The pool's whole size at once, so keeping a queue never
                // grows it one allocation at a time.
                self.spare_queues.reserve_exact(SPARE_QUEUES);
            }
            self.spare_queues.push(queue);
        }
    }
}

/// Where the runs one step (or one advance of time) leads to go:
/// completed ones to `potential`, the others to `next`, whose earliest
/// deadline is kept. Lives in the scratch's heaps; `Runs::install` hands
/// them back.
struct Successors {
    next: JavaHeap<Run>,
    potential: JavaHeap<Run>,
    deadline: i64,
}

impl Successors {
    /// Empty, in the scratch's heaps.
    fn from_scratch(scratch: &mut Scratch) -> Self {
        let mut next = std::mem::take(&mut scratch.next);
        let mut potential = std::mem::take(&mut scratch.potential);
        next.clear();
        potential.clear();
        Self { next, potential, deadline: i64::MAX }
    }

    /// Adds `run`, in the order Flink adds it to its queues.
    #[inline]
    fn add<E>(&mut self, nfa: &Nfa<E>, run: Run, is_final: bool) {
        if is_final {
            self.potential.add(run);
        } else {
            if nfa.previous_windows {
                self.deadline = self.deadline.min(deadline_of(nfa, &run));
            }
            self.next.add(run);
        }
    }

    /// The earliest deadline of the runs in `next`.
    #[inline]
    fn deadline<E>(&self, nfa: &Nfa<E>) -> i64 {
        if nfa.previous_windows {
            self.deadline
        } else {
            first_and_last_deadline(nfa, &self.next)
        }
    }

    /// Adds the start run, which sorts after every other run and has no
    /// deadline: it goes at the end, with no comparison.
    #[inline]
    fn add_start(&mut self, start: Run) {
        debug_assert_eq!(start.start_seq, NO_SEQ);
        self.next.push_greatest(start);
    }
}

/// Results of the user's conditions for the current event: a condition
/// that reads only the event is computed once per event for all runs;
/// one that reads the partial match, once per run when a decision graph
/// is walked. (The fused step needs no cache for the latter: a state's
/// take edge and its negated ignore edge are decided with one call, see
/// [`Reuse`].)
#[derive(Debug, Default)]
struct ConditionCache {
    /// Per leaf: the stamp it was computed at, and the result.
    results: Vec<(u64, bool)>,
    event_stamp: u64,
    run_stamp: u64,
}

impl ConditionCache {
    /// A new event for `nfa`: every earlier result is stale.
    fn start_event<E>(&mut self, nfa: &Nfa<E>) {
        if self.results.len() < nfa.leaves.len() {
            self.results.resize(nfa.leaves.len(), (0, false));
        }
        // Stamps only grow, and a run stamp is always above the event
        // stamp it started from, so no stale entry can match.
        self.event_stamp = self.run_stamp.max(self.event_stamp) + 1;
        self.run_stamp = self.event_stamp;
    }

    /// A new run of the same event: results of iterative leaves are stale.
    fn start_run(&mut self) {
        self.run_stamp += 1;
    }

    /// Leaf `i`, computed at most once per event (simple) or run
    /// (iterative).
    #[inline]
    fn leaf<E>(
        &mut self,
        nfa: &Nfa<E>,
        i: u32,
        event: &E,
        ctx: &Context<'_, E>,
    ) -> bool {
        let i = i as usize;
        let leaf = &nfa.leaves[i];
        let stamp =
            if leaf.is_simple() { self.event_stamp } else { self.run_stamp };
        let (at, value) = self.results[i];
        if at == stamp {
            return value;
        }
        let value = leaf.call(event, ctx);
        self.results[i] = (stamp, value);
        value
    }

    #[inline]
    fn test<E>(
        &mut self,
        nfa: &Nfa<E>,
        test: &Test,
        event: &E,
        ctx: &Context<'_, E>,
    ) -> bool {
        test.eval(&mut |i| self.leaf(nfa, i, event, ctx))
    }

    /// `test` for one of a state's own transitions, whose neighbours'
    /// repeats were already taken care of (see [`Reuse`]): a lone
    /// iterative closure is called directly, since no other run can use
    /// its result; simple ones still go through the per-event cache.
    #[inline(always)]
    fn decide<E>(
        &mut self,
        nfa: &Nfa<E>,
        test: &Test,
        event: &E,
        ctx: &Context<'_, E>,
    ) -> bool {
        let Some((i, negated)) = test.single_leaf() else {
            return self.test(nfa, test, event, ctx);
        };
        let leaf = &nfa.leaves[i as usize];
        let value = if leaf.is_simple() {
            self.leaf(nfa, i, event, ctx)
        } else {
            leaf.call(event, ctx)
        };
        value != negated
    }

    /// A state's transition `t`, given the answer of the transition before
    /// it in the same state.
    #[inline]
    fn transition<E>(
        &mut self,
        nfa: &Nfa<E>,
        t: &Transition<E>,
        previous: bool,
        event: &E,
        ctx: &Context<'_, E>,
    ) -> bool {
        match t.reuse {
            Reuse::Same => previous,
            Reuse::Negated => !previous,
            Reuse::No => self.decide(nfa, &t.test, event, ctx),
        }
    }
}

/// `test` evaluated directly, without the per-event cache (for the start
/// run's one-off check, where a closure call is cheaper than the cache).
fn test_uncached<E>(
    nfa: &Nfa<E>,
    test: &Test,
    event: &E,
    ctx: &Context<'_, E>,
) -> bool {
    test.eval(&mut |i| nfa.leaves[i as usize].call(event, ctx))
}

/// The partial matches of one pattern for one key (Flink's `NFAState`).
///
/// Flink's queue always holds the start run. Here an empty queue stands
/// for the queue holding only the start run, so an idle key's runs own no
/// memory and can be recognised without reading any: the start run is
/// materialised when some event starts a partial match, and the queue is
/// emptied again when only the start run is left. The start run is the
/// unique largest entry, so the real queue is `[start]` exactly when its
/// length is one.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Runs {
    partial: JavaHeap<Run>,
    /// Completed matches held back by an earlier partial match (skip
    /// strategies other than `no_skip`).
    completed: JavaHeap<Run>,
    /// No run expires before this time (a lower bound), so advancing
    /// time short of it is free.
    min_deadline: i64,
}

impl Default for Runs {
    fn default() -> Self {
        Self::new()
    }
}

impl Runs {
    /// The runs of a fresh key: just the start run (which, as an empty
    /// queue, needs nothing from the automaton).
    pub fn new() -> Self {
        Self {
            partial: JavaHeap::default(),
            completed: JavaHeap::default(),
            min_deadline: i64::MAX,
        }
    }

    /// Whether only the start run is left: the key holds nothing for this
    /// pattern and may be dropped.
    #[inline]
    pub fn is_idle(&self) -> bool {
        self.partial.is_empty() && self.completed.is_empty()
    }

    /// Partial matches alive, not counting the start run.
    pub fn partial_count(&self) -> usize {
        // The start run is in every materialised queue: it is re-created
        // on every event and no strategy prunes it (it has no start event).
        self.partial.len().saturating_sub(1)
    }

    /// No run expires before this time (`i64::MAX`: none can):
    /// [`advance_time`](Self::advance_time) to an earlier time does
    /// nothing.
    #[inline]
    pub fn next_expiry(&self) -> i64 {
        self.min_deadline
    }

    /// Heap bytes held by the run queues.
    pub fn memory_usage(&self) -> usize {
        (self.partial.capacity() + self.completed.capacity())
            * std::mem::size_of::<Run>()
    }

    /// Completed matches held back by a skip strategy.
    pub fn held_count(&self) -> usize {
        self.completed.len()
    }

    /// The earliest moment (event time) at which advancing time can
    /// change these runs: the smallest window deadline. `None` when no
    /// run can time out.
    pub fn next_deadline<E>(&self, nfa: &Nfa<E>) -> Option<i64> {
        let mut best: Option<i64> = None;
        for run in self.partial.as_slice() {
            let state = nfa.state(run.state);
            if state.kind == StateKind::Start {
                continue;
            }
            if nfa.window > 0 {
                let d = run.start_ts.wrapping_add(nfa.window);
                best = Some(best.map_or(d, |b| b.min(d)));
            }
            if let Some(w) = state.window_previous.filter(|&w| w > 0) {
                let d = run.prev_ts.wrapping_add(w);
                best = Some(best.map_or(d, |b| b.min(d)));
            }
        }
        best
    }

    /// The chains the runs hold in the shared buffer (one reference each).
    pub(crate) fn held_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.partial
            .as_slice()
            .iter()
            .chain(self.completed.as_slice())
            .filter_map(|r| r.node)
    }

    /// Checks runs restored from a snapshot against the automaton they
    /// will run on: what stepping and expiring rely on (valid states, heap
    /// order, one start run in a materialised queue). The expiry bound is
    /// lowered to the runs' real next deadline if it was above it, so a
    /// tampered bound cannot hide an expiry.
    pub(crate) fn check_restored<E>(
        &mut self,
        nfa: &Nfa<E>,
    ) -> Result<(), String> {
        for (name, queue) in
            [("partial", &self.partial), ("completed", &self.completed)]
        {
            if !queue.is_heap() {
                return Err(format!("the {name} queue is not in heap order"));
            }
            if let Some(r) = queue
                .as_slice()
                .iter()
                .find(|r| r.state.as_usize() >= nfa.state_count())
            {
                return Err(format!(
                    "a {name} run is in state {}, the automaton has {}",
                    r.state.as_usize(),
                    nfa.state_count()
                ));
            }
        }
        // A materialised queue holds the start run, once, and it sorts
        // last (`Run::start`); every other run has a start event.
        let queue = self.partial.as_slice();
        let is_start = |r: &Run| {
            r.start_seq == NO_SEQ
                && r.state == nfa.start
                && r.node.is_none()
                && r.start_ts == i64::MAX
        };
        let starts = queue.iter().filter(|r| is_start(r)).count();
        let seqless = queue.iter().filter(|r| r.start_seq == NO_SEQ).count();
        if !queue.is_empty()
            && (starts != 1 || seqless != 1 || queue.len() < 2)
        {
            return Err("a partial queue must hold its start run once, \
                        besides at least one partial match"
                .into());
        }
        let can_wait = |r: &Run| {
            let state = nfa.state(r.state);
            r.state != nfa.start
                && !matches!(state.kind, StateKind::Final | StateKind::Stop)
                // What `step_in_place` relies on.
                && (!nfa.steps_in_place || state.exclusive.is_some())
        };
        if queue.iter().any(|r| !is_start(r) && !can_wait(r)) {
            return Err(
                "a partial match is in a state where none waits".into()
            );
        }
        if self.completed.as_slice().iter().any(|r| r.start_seq == NO_SEQ) {
            return Err("a held match without a start event".into());
        }
        let deadline = self.next_deadline(nfa).unwrap_or(i64::MAX);
        self.min_deadline = self.min_deadline.min(deadline);
        Ok(())
    }

    /// Releases every run's events from the buffer, leaving the start run
    /// and no memory (a removed pattern's queues are never used again).
    pub fn clear<E>(&mut self, buffer: &mut SharedBuffer<E>) {
        for run in self.partial.take_items() {
            buffer.release(run.node);
        }
        for run in self.completed.take_items() {
            buffer.release(run.node);
        }
        self.min_deadline = i64::MAX;
    }

    /// Empties a queue that holds only the start run (see the type docs).
    #[inline]
    fn normalise(&mut self, scratch: &mut Scratch) {
        if self.partial.len() == 1 {
            debug_assert_eq!(self.partial.as_slice()[0].start_seq, NO_SEQ);
            self.go_idle(scratch);
        }
    }

    /// Empties the queue and hands its allocation to the scratch's
    /// spares: an idle pattern holds no memory, and the next queue to
    /// start takes an allocation that is still in cache instead of the
    /// cold one this key would otherwise keep.
    #[inline]
    fn go_idle(&mut self, scratch: &mut Scratch) {
        self.partial.clear();
        scratch.keep_queue(self.partial.take_items());
    }

    /// Makes room for `len` runs in the queue, from the scratch's spares
    /// when it has no allocation.
    #[inline]
    fn reserve(&mut self, scratch: &mut Scratch, len: usize) {
        if self.partial.capacity() == 0 {
            self.partial.set_items(scratch.queue_for(len));
        }
    }

    /// Whether `event` would start a partial match: whether the start run
    /// takes it. The answer is the same for every key and reads no
    /// per-key state, so a caller can skip keys that hold nothing when
    /// it is `false` (their runs would stay exactly as they are).
    #[inline]
    pub fn starts<E>(
        nfa: &Nfa<E>,
        buffer: &SharedBuffer<E>,
        scratch: &mut Scratch,
        event: &E,
        timestamp: i64,
    ) -> bool {
        // One closure decides for most patterns: asked here, inlined into
        // the caller, as the general walk would cost a large frame on
        // every call (patterns fanned out ask this for every event).
        if let Some(take) = &nfa.start_take {
            return (take.test)(event) != take.negated;
        }
        Self::starts_walk(nfa, buffer, scratch, event, timestamp)
    }

    /// [`starts`](Self::starts) for a start state that needs its edges
    /// walked.
    #[inline(never)]
    fn starts_walk<E>(
        nfa: &Nfa<E>,
        buffer: &SharedBuffer<E>,
        scratch: &mut Scratch,
        event: &E,
        timestamp: i64,
    ) -> bool {
        let state = nfa.state(nfa.start);
        if !state.has_proceed {
            // The start state's own take edges decide.
            let ctx = Context {
                buffer,
                node: None,
                stage_names: &nfa.stage_names,
                timestamp,
            };
            return state.transitions.iter().any(|t| {
                t.action == Action::Take
                    && test_uncached(nfa, &t.test, event, &ctx)
            });
        }
        scratch.conditions.start_event(nfa);
        let start = Run::start(nfa.start);
        decision_graph(nfa, buffer, scratch, start, event, timestamp);
        scratch.edges.iter().any(|e| e.0 == Action::Take)
    }

    /// Feeds one event to every run (Flink's `NFA.process`): completed
    /// matches go to `out`, as the skip strategy allows.
    ///
    /// Returns whether the event started a partial match at a positive
    /// timestamp (Flink's `isNewStartPartialMatch`, which decides when
    /// Flink's operator sets a window timer).
    ///
    /// # Errors
    ///
    /// [`SkipError`] when a skip strategy with throw-on-miss cannot skip.
    #[inline(always)]
    pub fn process<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        event: &mut Incoming<E>,
        out: &mut O,
    ) -> Result<bool, SkipError> {
        // Only the start run (most keys, most of the time): if the event
        // starts nothing, the runs stay exactly as they are. Checked here,
        // inlined into the caller, before the call of the whole step.
        if self.partial.is_empty()
            && !Self::starts(
                nfa,
                buffer,
                scratch,
                event.value(buffer),
                event.timestamp,
            )
        {
            return Ok(false);
        }
        // An empty queue that gets here starts a match: said above.
        if self.partial.is_empty() {
            return self.start(nfa, buffer, scratch, event, out);
        }
        self.step(nfa, buffer, scratch, event, false, out)
    }

    /// [`step`](Self::step) for an event that [`starts`](Self::starts)
    /// said starts a match on runs that may be idle.
    ///
    /// An idle pattern is the common case when patterns are fanned out
    /// (most keys hold nothing for most patterns): when the new run can
    /// only wait (its state is not final and cannot finish at once),
    /// Flink's rebuilt queue is `[new run, start run]` and nothing can
    /// complete, so the queue is written directly, without the step's
    /// machinery.
    #[inline]
    pub(crate) fn start<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        event: &mut Incoming<E>,
        out: &mut O,
    ) -> Result<bool, SkipError> {
        if self.is_idle() {
            if let Some(take) = &nfa.start_take {
                let t = &nfa.state(nfa.start).transitions[take.transition];
                if !t.target_final && !t.target_may_finish {
                    return Ok(self.start_idle(nfa, buffer, scratch, t, event));
                }
            }
        }
        self.step(nfa, buffer, scratch, event, true, out)
    }

    /// [`start`](Self::start)'s direct path: the start run takes the
    /// event along take edge `t`, and the queue becomes the new run and
    /// the start run, in Flink's order.
    #[inline(never)]
    fn start_idle<E>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        t: &Transition<E>,
        event: &mut Incoming<E>,
    ) -> bool {
        let start = Run::start(nfa.start);
        // `fin` is `None`: the target cannot finish at once.
        let (taken, _) =
            take_edge(nfa, buffer, scratch, start, event, t, Chain::Share);
        self.reserve(scratch, 2);
        self.partial.add(taken);
        self.partial.push_greatest(start);
        self.min_deadline = if nfa.previous_windows {
            deadline_of(nfa, &taken)
        } else {
            first_and_last_deadline_of(nfa, &taken)
        };
        event.timestamp > 0
    }

    /// [`process`](Self::process) for an event that meets some run: the
    /// queue is not empty, or [`starts`](Self::starts) said the event
    /// starts a match (so a caller that asked need not ask again).
    /// `starts`: the caller asked, and the answer was yes (the start run's
    /// take is then not decided again).
    #[inline(never)]
    pub(crate) fn step<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        event: &mut Incoming<E>,
        starts: bool,
        out: &mut O,
    ) -> Result<bool, SkipError> {
        scratch.conditions.start_event(nfa);
        if let Some(take) =
            nfa.start_take.as_ref().filter(|_| nfa.steps_in_place)
        {
            if self.steps_in_place(nfa) {
                return self.step_in_place(
                    nfa, buffer, scratch, take, event, starts, out,
                );
            }
        }
        let mut new_start = false;
        let start = Run::start(nfa.start);
        let mut succ = Successors::from_scratch(scratch);
        // The start run is the largest entry, so when the queue is in
        // order it is the last one walked: stepped after the loop by the
        // one-call path when its state allows (see `Nfa::start_take`).
        let n = self.partial.len();
        let start_last = self
            .partial
            .as_slice()
            .last()
            .is_none_or(|r| r.start_seq == NO_SEQ && r.state == nfa.start);
        let fast_start = nfa.start_take.as_ref().filter(|_| start_last);
        let walked =
            if fast_start.is_some() { n.saturating_sub(1) } else { n.max(1) };
        // An empty queue is the queue [start].
        for i in 0..walked {
            let run = self.partial.as_slice().get(i).copied().unwrap_or(start);
            let state = nfa.state(run.state);
            if let Some(shape) = state.exclusive {
                step_exclusive(
                    nfa, buffer, scratch, shape, run, event, &mut succ,
                );
                continue;
            }
            if state.direct {
                new_start |=
                    step_direct(nfa, buffer, scratch, run, event, &mut succ);
                continue;
            }
            let mut new_runs = std::mem::take(&mut scratch.new_runs);
            new_runs.clear();
            compute_next_states(
                nfa,
                buffer,
                scratch,
                run,
                event,
                &mut new_runs,
            );
            let mut retained = std::mem::take(&mut scratch.retained);
            retained.clear();
            let mut discard = false;
            if run.start_seq == NO_SEQ
                && event.timestamp > 0
                && new_runs.iter().any(|r| r.start_seq != NO_SEQ)
            {
                new_start = true;
            }
            for &r in &new_runs {
                match nfa.state(r.state).kind {
                    StateKind::Final => succ.add(nfa, r, true),
                    StateKind::Stop => {
                        discard = true;
                        buffer.release(r.node);
                    }
                    _ => retained.push(r),
                }
            }
            if discard {
                for r in &retained {
                    buffer.release(r.node);
                }
            } else {
                for &r in &retained {
                    succ.add(nfa, r, false);
                }
            }
            scratch.new_runs = new_runs;
            scratch.retained = retained;
        }
        if let Some(take) = fast_start {
            new_start |= step_start(
                nfa, buffer, scratch, take, event, starts, &mut succ,
            );
        }
        self.partial.clear();
        self.install(nfa, buffer, scratch, succ, out).map(|()| new_start)
    }

    /// Whether the queue of an NFA whose runs are all in [`Exclusive`]
    /// states (one successor at most besides final ones; see
    /// `Nfa::steps_in_place`) can be stepped in place: the start run is
    /// last (or the queue is empty, standing for it) and the others are
    /// in order. Then Flink's rebuilt queue is the old one with each run
    /// replaced by its successor, and the start run's new run and itself
    /// added at the end.
    fn steps_in_place<E>(&self, nfa: &Nfa<E>) -> bool {
        let Some((last, rest)) = self.partial.as_slice().split_last() else {
            return true;
        };
        last.start_seq == NO_SEQ
            && last.state == nfa.start
            && rest.is_sorted_by(|a, b| a.heap_cmp(b) != Ordering::Greater)
    }

    /// [`step`](Self::step) when [`steps_in_place`](Self::steps_in_place)
    /// says so.
    #[allow(clippy::too_many_arguments)]
    fn step_in_place<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        take: &StartTake<E>,
        event: &mut Incoming<E>,
        starts: bool,
        out: &mut O,
    ) -> Result<bool, SkipError> {
        let mut potential = std::mem::take(&mut scratch.potential);
        potential.clear();
        self.partial.pop_last(); // the start run, stepped last
        let mut deadline = i64::MAX;
        self.partial.filter_map_in_place(|run| {
            // OK because `steps_in_place` checked every run's state.
            let shape = nfa.state(run.state).exclusive.expect("exclusive");
            let next = exclusive_successor(
                nfa,
                buffer,
                scratch,
                shape,
                run,
                event,
                &mut potential,
            )?;
            if nfa.previous_windows {
                deadline = deadline.min(deadline_of(nfa, &next));
            }
            Some(next)
        });
        let mut succ = Successors {
            next: std::mem::take(&mut self.partial),
            potential,
            deadline,
        };
        let new_start =
            step_start(nfa, buffer, scratch, take, event, starts, &mut succ);
        let deadline = succ.deadline(nfa);
        let Successors { next, mut potential, .. } = succ;
        self.partial = next;
        self.min_deadline = deadline;
        let result =
            self.finish_step(nfa, buffer, scratch, &mut potential, out);
        scratch.potential = potential;
        result.map(|()| new_start)
    }

    /// Makes the successors' `next` the live runs and emits the matches
    /// their `potential` (and the held ones) may release; hands the heaps
    /// back to the scratch.
    fn install<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        succ: Successors,
        out: &mut O,
    ) -> Result<(), SkipError> {
        let deadline = succ.deadline(nfa);
        let Successors { next, mut potential, .. } = succ;
        if next.len() == 1 {
            self.go_idle(scratch); // only the start run: see the type docs
        } else {
            // Copied, not swapped, so that the key keeps an allocation of
            // about its own size, and the scratch its large one.
            self.reserve(scratch, next.len());
            self.partial.copy_from(&next);
        }
        self.min_deadline = deadline;
        let result =
            self.finish_step(nfa, buffer, scratch, &mut potential, out);
        scratch.next = next;
        scratch.potential = potential;
        result
    }

    /// Emits the matches a skip strategy is holding back, in start order,
    /// as if nothing blocked them (`cepflow run --flush-held`; Flink never
    /// releases them).
    ///
    /// # Errors
    ///
    /// [`SkipError`] when a skip strategy with throw-on-miss cannot skip.
    pub fn flush_held<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        out: &mut O,
    ) -> Result<(), SkipError> {
        let mut none = JavaHeap::default();
        let result =
            self.emit_matches(nfa, buffer, scratch, &mut none, true, out);
        self.normalise(scratch);
        result
    }

    /// Expires runs whose window has passed at `timestamp` (Flink's
    /// `NFA.advanceTime`): timed-out partial matches go to
    /// `out.on_timeout` when `timeouts` is set; a trailing
    /// `not_followed_by` that waited out its window completes; matches
    /// held back by expired runs are released.
    ///
    /// # Errors
    ///
    /// [`SkipError`] when a skip strategy with throw-on-miss cannot skip.
    #[inline]
    pub fn advance_time<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        timestamp: i64,
        timeouts: bool,
        out: &mut O,
    ) -> Result<(), SkipError> {
        // Rebuilding the heap from an unchanged heap reproduces it, so
        // when nothing expires there is nothing to do (checked inline).
        if timestamp < self.min_deadline {
            return Ok(());
        }
        self.expire(nfa, buffer, scratch, timestamp, timeouts, out)
    }

    /// [`advance_time`](Self::advance_time) when some run may expire.
    #[inline(never)]
    fn expire<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        timestamp: i64,
        timeouts: bool,
        out: &mut O,
    ) -> Result<(), SkipError> {
        if self.expire_only_run(nfa, buffer, scratch, timestamp, timeouts, out)
        {
            return Ok(());
        }
        match self.scan_expiry(nfa, timestamp) {
            Expiry::None { deadline } => {
                self.min_deadline = deadline;
                return Ok(());
            }
            Expiry::Prefix { cut, deadline } => {
                return self.expire_prefix(
                    nfa, buffer, scratch, cut, deadline, timestamp, timeouts,
                    out,
                );
            }
            Expiry::Mixed => {}
        }
        let mut succ = Successors::from_scratch(scratch);
        for run in self.partial.drain_in_array_order() {
            let Some(expiry) = timed_out(nfa, &run, timestamp) else {
                succ.add(nfa, run, false);
                continue;
            };
            if waits_out_negation(nfa, &run) {
                // A trailing negation waited out its window: a match.
                succ.add(nfa, run, true);
                continue;
            }
            if timeouts {
                report_timeout(
                    nfa,
                    buffer,
                    &mut scratch.path,
                    run,
                    expiry,
                    out,
                );
            }
            buffer.release(run.node);
        }
        self.install(nfa, buffer, scratch, succ, out)
    }

    /// [`expire`](Self::expire) for the usual end of a partial match that
    /// never completed: the queue holds one run besides the start run,
    /// nothing is held back, and the run expires without waiting out a
    /// trailing negation. Then Flink's rebuilt queue is the start run
    /// alone, so the runs go idle at once. Returns whether that was the
    /// case (and done).
    #[inline]
    fn expire_only_run<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        now: i64,
        timeouts: bool,
        out: &mut O,
    ) -> bool {
        let &[run, start] = self.partial.as_slice() else { return false };
        if start.start_seq != NO_SEQ || !self.completed.is_empty() {
            return false;
        }
        let Some(expiry) = timed_out(nfa, &run, now) else { return false };
        if waits_out_negation(nfa, &run) {
            return false;
        }
        if timeouts {
            report_timeout(nfa, buffer, &mut scratch.path, run, expiry, out);
        }
        buffer.release(run.node);
        self.go_idle(scratch);
        self.min_deadline = i64::MAX;
        true
    }

    /// Which runs expire at `now`, in one pass. When they are the
    /// leading runs, none of them waits out a trailing negation, and the
    /// rest are in order, rebuilding the queue from the survivors (Flink's
    /// `advanceTime`) moves nothing, so dropping the prefix is the same.
    /// (In-order input keeps queues in order.)
    fn scan_expiry<E>(&self, nfa: &Nfa<E>, now: i64) -> Expiry {
        let mut cut = 0;
        let mut deadline = i64::MAX;
        let mut last: Option<&Run> = None;
        for (i, r) in self.partial.as_slice().iter().enumerate() {
            let expired = if nfa.previous_windows {
                timed_out(nfa, r, now).is_some()
            } else {
                first_and_last_expired(nfa, r, now)
            };
            if expired {
                if i != cut || waits_out_negation(nfa, r) {
                    return Expiry::Mixed;
                }
                cut += 1;
                continue;
            }
            if last.is_some_and(|l| l.heap_cmp(r) == Ordering::Greater) {
                return Expiry::Mixed;
            }
            last = Some(r);
            if nfa.previous_windows {
                deadline = deadline.min(deadline_of(nfa, r));
            }
        }
        if !nfa.previous_windows {
            // The survivors are in order: the first has the earliest start.
            deadline = self
                .partial
                .as_slice()
                .get(cut)
                .map_or(i64::MAX, |r| first_and_last_deadline_of(nfa, r));
        }
        if cut == 0 {
            Expiry::None { deadline }
        } else {
            Expiry::Prefix { cut, deadline }
        }
    }

    /// `expire` when the first `cut` runs are the ones that expire (see
    /// [`scan_expiry`](Self::scan_expiry)); `deadline` is the survivors'
    /// earliest.
    #[allow(clippy::too_many_arguments)]
    fn expire_prefix<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        cut: usize,
        deadline: i64,
        now: i64,
        timeouts: bool,
        out: &mut O,
    ) -> Result<(), SkipError> {
        for run in self.partial.drain_front(cut) {
            if timeouts {
                // OK because the caller checked every run here expired.
                let expiry = timed_out(nfa, &run, now).expect("expired");
                report_timeout(
                    nfa,
                    buffer,
                    &mut scratch.path,
                    run,
                    expiry,
                    out,
                );
            }
            buffer.release(run.node);
        }
        self.min_deadline = deadline;
        let mut none = JavaHeap::default();
        self.finish_step(nfa, buffer, scratch, &mut none, out)
    }

    /// The end of every step and advance: emits the matches `potential`
    /// completes and those it or the step releases (skipped when nothing
    /// completed and nothing is held, as usual), then empties a queue
    /// holding only the start run.
    #[inline]
    fn finish_step<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        potential: &mut JavaHeap<Run>,
        out: &mut O,
    ) -> Result<(), SkipError> {
        let result = if potential.is_empty() && self.completed.is_empty() {
            Ok(())
        } else {
            self.emit_matches(nfa, buffer, scratch, potential, false, out)
        };
        self.normalise(scratch);
        result
    }

    /// Flink's `processMatchesAccordingToSkipStrategy`.
    #[inline(never)]
    fn emit_matches<E, O: Output<E>>(
        &mut self,
        nfa: &Nfa<E>,
        buffer: &mut SharedBuffer<E>,
        scratch: &mut Scratch,
        potential: &mut JavaHeap<Run>,
        force: bool,
        out: &mut O,
    ) -> Result<(), SkipError> {
        if self.completed.is_empty() {
            // Adding a heap's entries in array order to an empty heap
            // moves none of them (each is at least its parent, which is
            // already in place), so the result is the same array.
            debug_assert!(potential.is_heap());
            std::mem::swap(&mut self.completed, potential);
        } else {
            for &r in potential.as_slice() {
                self.completed.add(r);
            }
        }
        let skips = !force && !matches!(nfa.skip, AfterMatch::NoSkip);
        while let Some(&earliest) = self.completed.peek() {
            if skips {
                if let Some(partial) = self.partial.peek() {
                    if earliest.heap_cmp(partial) == Ordering::Greater {
                        break;
                    }
                }
            }
            self.completed.poll();
            buffer.extract(earliest.node, &mut scratch.path);
            if let Some((pruning, inclusive)) =
                pruning_id(nfa, buffer, &scratch.path)?
            {
                let prune = |r: &Run| {
                    r.start_seq != NO_SEQ && {
                        let start = r.start_order();
                        start < pruning || (inclusive && start == pruning)
                    }
                };
                self.partial.remove_if(|r| {
                    let gone = prune(r);
                    if gone {
                        buffer.release(r.node);
                    }
                    gone
                });
                self.completed.remove_if(|r| {
                    let gone = prune(r);
                    if gone {
                        buffer.release(r.node);
                    }
                    gone
                });
            }
            let m = Match {
                buffer,
                stage_names: &nfa.stage_names,
                path: &scratch.path,
            };
            out.on_match(&m);
            buffer.release(earliest.node);
        }
        if self.completed.is_empty() {
            // Nothing held: the (usually larger) allocation of
            // `potential`, swapped in above, goes back to it, and the
            // runs it held are gone one way or the other.
            potential.clear();
            std::mem::swap(&mut self.completed, potential);
        }
        Ok(())
    }
}

/// Hands the partial match of an expired run to `out.on_timeout`, with
/// the moment its window closed.
fn report_timeout<E, O: Output<E>>(
    nfa: &Nfa<E>,
    buffer: &SharedBuffer<E>,
    path: &mut Vec<(StageId, EventId)>,
    run: Run,
    expiry: i64,
    out: &mut O,
) {
    buffer.extract(run.node, path);
    let m = Match { buffer, stage_names: &nfa.stage_names, path };
    out.on_timeout(&m, expiry);
}

/// The earliest time at which `run` could time out (`i64::MAX`: never).
/// `timed_out` fires when `now - start >= window`, i.e. at
/// `start + window`; with wrapping arithmetic, as Java's, a deadline that
/// overflows is treated as never.
#[inline]
fn deadline_of<E>(nfa: &Nfa<E>, run: &Run) -> i64 {
    let state = nfa.state(run.state);
    if state.kind == StateKind::Start {
        return i64::MAX;
    }
    let mut d = i64::MAX;
    if let Some(w) = state.window_previous.filter(|&w| w > 0) {
        d = d.min(run.prev_ts.checked_add(w).unwrap_or(i64::MAX));
    }
    if nfa.window > 0 {
        d = d.min(run.start_ts.checked_add(nfa.window).unwrap_or(i64::MAX));
    }
    d
}

/// The earliest deadline in `queue` when no state has a
/// previous-and-current window: deadlines are then starts plus the one
/// window, and the heap's first run has the earliest start (the start
/// run, last in order, has none). A lower bound even if some run could
/// not expire, which is all `min_deadline` needs.
#[inline]
fn first_and_last_deadline<E>(nfa: &Nfa<E>, queue: &JavaHeap<Run>) -> i64 {
    queue.peek().map_or(i64::MAX, |top| first_and_last_deadline_of(nfa, top))
}

/// [`deadline_of`] for an automaton without previous-and-current windows.
#[inline]
fn first_and_last_deadline_of<E>(nfa: &Nfa<E>, run: &Run) -> i64 {
    debug_assert!(!nfa.previous_windows);
    if run.start_seq == NO_SEQ || nfa.window <= 0 {
        return i64::MAX;
    }
    run.start_ts.checked_add(nfa.window).unwrap_or(i64::MAX)
}

/// Whether `run` has expired at `now`, for an automaton without
/// previous-and-current windows: [`timed_out`] without looking up the
/// run's state (only the start run, which has no start event, waits in
/// the start state).
#[inline]
fn first_and_last_expired<E>(nfa: &Nfa<E>, run: &Run, now: i64) -> bool {
    let expired = run.start_seq != NO_SEQ
        && nfa.window > 0
        && now.wrapping_sub(run.start_ts) >= nfa.window;
    debug_assert_eq!(expired, timed_out(nfa, run, now).is_some());
    expired
}

/// Whether `run` waits out a trailing `not_followed_by` (so expiring
/// completes it instead of dropping it). Asked of every expired run, so
/// automata without such a state answer without looking the state up.
#[inline]
fn waits_out_negation<E>(nfa: &Nfa<E>, run: &Run) -> bool {
    nfa.pending && nfa.state(run.state).kind == StateKind::Pending
}

/// When `run` has expired at `now`: the moment its window closed.
fn timed_out<E>(nfa: &Nfa<E>, run: &Run, now: i64) -> Option<i64> {
    let state = nfa.state(run.state);
    if state.kind == StateKind::Start {
        return None;
    }
    if let Some(w) = state.window_previous {
        if w > 0 && now.wrapping_sub(run.prev_ts) >= w {
            return Some(run.prev_ts.wrapping_add(w));
        }
    }
    if nfa.window > 0 && now.wrapping_sub(run.start_ts) >= nfa.window {
        return Some(run.start_ts.wrapping_add(nfa.window));
    }
    None
}

/// The event runs are pruned against after a match, and whether a run
/// starting exactly there is pruned too.
fn pruning_id<E>(
    nfa: &Nfa<E>,
    buffer: &SharedBuffer<E>,
    path: &[(StageId, EventId)],
) -> Result<Option<(EventOrder, bool)>, SkipError> {
    let order = |e: EventId| buffer.event_order(e);
    Ok(match nfa.skip {
        AfterMatch::NoSkip => None,
        AfterMatch::ToNext => {
            path.iter().map(|&(_, e)| order(e)).min().map(|p| (p, true))
        }
        AfterMatch::PastLastEvent => {
            path.iter().map(|&(_, e)| order(e)).max().map(|p| (p, true))
        }
        AfterMatch::ToFirst { stage, throw_on_miss }
        | AfterMatch::ToLast { stage, throw_on_miss } => {
            let mut events = path
                .iter()
                .filter(|&&(s, _)| s == stage)
                .map(|&(_, e)| order(e));
            let target = if matches!(nfa.skip, AfterMatch::ToFirst { .. }) {
                events.next()
            } else {
                events.next_back()
            };
            // The stage's name is copied only for an error, not per match.
            let miss = |first_element| SkipError {
                stage: nfa.stage_name(stage).to_owned(),
                first_element,
            };
            if throw_on_miss {
                let Some(t) = target else { return Err(miss(false)) };
                let first = path.iter().map(|&(_, e)| order(e)).min();
                if first == Some(t) {
                    return Err(miss(true));
                }
            }
            target.map(|p| (p, false))
        }
    })
}

/// `compute_next_states` and the sorting of its results fused, for a run
/// in a direct state (almost every run): the decision graph is the
/// state's own transitions, in order, then those of the state its one
/// always-true proceed edge leads to (`State::then`), and no successor
/// can be discarded, so each goes straight to `next` (or `potential`
/// when final) in the order Flink adds them.
/// Returns whether the run was the start run and the event started a
/// partial match (Flink's `isNewStartPartialMatch`).
#[inline]
fn step_direct<E>(
    nfa: &Nfa<E>,
    buffer: &mut SharedBuffer<E>,
    scratch: &mut Scratch,
    run: Run,
    event: &mut Incoming<E>,
    succ: &mut Successors,
) -> bool {
    let state = nfa.state(run.state);
    let is_start = state.kind == StateKind::Start;
    scratch.conditions.start_run();
    // The first run that keeps the old chain inherits the old run's
    // reference to it (see compute_next_states).
    let mut inherited = false;
    let mut took = false;
    let mut holds = false;
    let then = state.then.map(|s| nfa.state(s).transitions.as_slice());
    for t in state.transitions.iter().chain(then.unwrap_or_default()) {
        holds = {
            let ctx = Context {
                buffer,
                node: run.node,
                stage_names: &nfa.stage_names,
                timestamp: event.timestamp,
            };
            let value = event.value(buffer);
            scratch.conditions.transition(nfa, t, holds, value, &ctx)
        };
        if !holds {
            continue;
        }
        match t.action {
            Action::Ignore => {
                if !is_start {
                    let r = ignore_edge(buffer, run, t.target, &mut inherited);
                    succ.add(nfa, r, t.target_final);
                }
            }
            Action::Take => {
                took = true;
                let (taken, fin) = take_edge(
                    nfa,
                    buffer,
                    scratch,
                    run,
                    event,
                    t,
                    Chain::Share,
                );
                succ.add(nfa, taken, t.target_final);
                if let Some(fin) = fin {
                    succ.add(nfa, fin, true);
                }
            }
            // OK: a direct state's proceed edge leads to `then`, whose
            // edges follow its own.
            Action::Proceed => {}
        }
    }
    if is_start {
        succ.add_start(Run::start(run.state));
    }
    if !inherited {
        buffer.release(run.node);
    }
    is_start && took && event.timestamp > 0
}

/// `step_direct` for a run in an [`Exclusive`] state: one condition
/// decides between the take edge and the ignore edge (or death), and the
/// one successor keeps the run's chain, so nothing is shared or freed.
#[inline]
fn step_exclusive<E>(
    nfa: &Nfa<E>,
    buffer: &mut SharedBuffer<E>,
    scratch: &mut Scratch,
    shape: Exclusive,
    run: Run,
    event: &mut Incoming<E>,
    succ: &mut Successors,
) {
    let next = exclusive_successor(
        nfa,
        buffer,
        scratch,
        shape,
        run,
        event,
        &mut succ.potential,
    );
    if let Some(next) = next {
        succ.add(nfa, next, false);
    }
}

/// The successor of a run in an [`Exclusive`] state that is not final,
/// if any; a final one goes to `potential`.
#[inline(always)]
fn exclusive_successor<E>(
    nfa: &Nfa<E>,
    buffer: &mut SharedBuffer<E>,
    scratch: &mut Scratch,
    shape: Exclusive,
    run: Run,
    event: &mut Incoming<E>,
    potential: &mut JavaHeap<Run>,
) -> Option<Run> {
    if shape.guard.is_some() {
        return step_guarded(
            nfa, buffer, scratch, shape, run, event, potential,
        );
    }
    let t = &nfa.state(run.state).transitions[shape.take];
    scratch.conditions.start_run();
    let takes = {
        let ctx = Context {
            buffer,
            node: run.node,
            stage_names: &nfa.stage_names,
            timestamp: event.timestamp,
        };
        let value = event.value(buffer);
        scratch.conditions.decide(nfa, &t.test, value, &ctx)
    };
    if takes {
        let (taken, fin) =
            take_edge(nfa, buffer, scratch, run, event, t, Chain::Move);
        if let Some(fin) = fin {
            potential.add(fin);
        }
        if t.target_final {
            potential.add(taken);
            return None;
        }
        Some(taken)
    } else if let Some((target, is_final)) = shape.ignore {
        let waiting = Run { state: target, ..run };
        if is_final {
            potential.add(waiting);
            return None;
        }
        Some(waiting)
    } else {
        buffer.release(run.node);
        None
    }
}

/// `exclusive_successor` for a state with a guard. When the guard
/// fires, only a successor in the final state survives (as in Flink,
/// where reaching a stop state discards the others).
#[inline(never)]
fn step_guarded<E>(
    nfa: &Nfa<E>,
    buffer: &mut SharedBuffer<E>,
    scratch: &mut Scratch,
    shape: Exclusive,
    run: Run,
    event: &mut Incoming<E>,
    potential: &mut JavaHeap<Run>,
) -> Option<Run> {
    let state = nfa.state(run.state);
    let t = &state.transitions[shape.take];
    scratch.conditions.start_run();
    let (takes, killed) = {
        let ctx = Context {
            buffer,
            node: run.node,
            stage_names: &nfa.stage_names,
            timestamp: event.timestamp,
        };
        let value = event.value(buffer);
        let conditions = &mut scratch.conditions;
        let takes = conditions.decide(nfa, &t.test, value, &ctx);
        let killed = shape.guard.is_some_and(|(proceed, stop)| {
            let edge = &state.transitions[proceed];
            conditions.decide(nfa, &edge.test, value, &ctx)
                && nfa
                    .state(stop)
                    .transitions
                    .iter()
                    .any(|s| conditions.decide(nfa, &s.test, value, &ctx))
        });
        (takes, killed)
    };
    // A final successor always counts; another one only if not killed.
    let mut keep = |buffer: &mut SharedBuffer<E>, run: Run, is_final: bool| {
        if is_final {
            potential.add(run);
            None
        } else if killed {
            buffer.release(run.node);
            None
        } else {
            Some(run)
        }
    };
    if takes {
        let (taken, fin) =
            take_edge(nfa, buffer, scratch, run, event, t, Chain::Move);
        if let Some(fin) = fin {
            keep(buffer, fin, true);
        }
        keep(buffer, taken, t.target_final)
    } else if let Some((target, is_final)) = shape.ignore {
        keep(buffer, Run { state: target, ..run }, is_final)
    } else {
        buffer.release(run.node);
        None
    }
}

/// `step_direct` for the start run when one simple closure decides the
/// start state's only take edge (see [`Nfa::start_take`]): the new run if
/// the event is taken, then the start run itself, in Flink's order.
/// Returns whether the event started a partial match at a positive
/// timestamp.
#[inline(always)]
fn step_start<E>(
    nfa: &Nfa<E>,
    buffer: &mut SharedBuffer<E>,
    scratch: &mut Scratch,
    take: &StartTake<E>,
    event: &mut Incoming<E>,
    starts: bool,
    succ: &mut Successors,
) -> bool {
    let start = Run::start(nfa.start);
    let took = starts || {
        // The start run has taken nothing: an empty context.
        let ctx = Context {
            buffer,
            node: None,
            stage_names: &nfa.stage_names,
            timestamp: event.timestamp,
        };
        let value = event.value(buffer);
        scratch.conditions.leaf(nfa, take.leaf, value, &ctx) != take.negated
    };
    if took {
        let t = &nfa.state(nfa.start).transitions[take.transition];
        let (taken, fin) =
            take_edge(nfa, buffer, scratch, start, event, t, Chain::Share);
        succ.add(nfa, taken, t.target_final);
        if let Some(fin) = fin {
            succ.add(nfa, fin, true);
        }
    }
    succ.add_start(start);
    took && event.timestamp > 0
}

/// Flink's `computeNextStates`: every run the event can lead `run` to,
/// in Flink's order.
fn compute_next_states<E>(
    nfa: &Nfa<E>,
    buffer: &mut SharedBuffer<E>,
    scratch: &mut Scratch,
    run: Run,
    event: &mut Incoming<E>,
    out: &mut Vec<Run>,
) {
    decision_graph(
        nfa,
        buffer,
        scratch,
        run,
        event.value(buffer),
        event.timestamp,
    );
    let is_start = nfa.state(run.state).kind == StateKind::Start;
    // The first run that keeps the old chain inherits the old run's
    // reference to it instead of retaining and then releasing it.
    let mut inherited = false;
    for i in 0..scratch.edges.len() {
        let (action, source, index) = scratch.edges[i];
        let t = &nfa.state(source).transitions[index as usize];
        match action {
            Action::Ignore => {
                if !is_start {
                    out.push(ignore_edge(
                        buffer,
                        run,
                        t.target,
                        &mut inherited,
                    ));
                }
            }
            Action::Take => {
                let (taken, fin) = take_edge(
                    nfa,
                    buffer,
                    scratch,
                    run,
                    event,
                    t,
                    Chain::Share,
                );
                out.push(taken);
                out.extend(fin);
            }
            Action::Proceed => {}
        }
    }
    if is_start {
        out.push(Run::start(run.state));
    }
    if !inherited {
        buffer.release(run.node);
    }
}

/// Follows an ignore edge of (non-start) `run` to `target`: the new run
/// keeps the chain. The first one inherits the old run's reference to it
/// (`inherited`), the others retain it, so a run that only waits costs no
/// reference counting.
#[inline(always)]
fn ignore_edge<E>(
    buffer: &mut SharedBuffer<E>,
    run: Run,
    target: StateId,
    inherited: &mut bool,
) -> Run {
    if *inherited {
        buffer.retain(run.node);
    }
    *inherited = true;
    Run { state: target, ..run }
}

/// Whether a taken run shares the old run's chain (the old run's
/// reference stays with it) or takes the old run's reference over.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Chain {
    Share,
    Move,
}

/// Follows take edge `t` of `run`: the event joins the chain. Also
/// returns the run at the final state the new one reaches by proceed
/// edges at once, if any (Flink's `findFinalStateAfterProceed`).
#[inline(always)]
fn take_edge<E>(
    nfa: &Nfa<E>,
    buffer: &mut SharedBuffer<E>,
    scratch: &mut Scratch,
    run: Run,
    event: &mut Incoming<E>,
    t: &Transition<E>,
    chain: Chain,
) -> (Run, Option<Run>) {
    let target = t.target;
    let id = event.register(buffer);
    // OK because only states of a stage have take edges.
    let stage = t.stage.expect("take from a stage");
    let node = match chain {
        Chain::Share => buffer.put(stage, id, run.node),
        Chain::Move => buffer.put_moving(stage, id, run.node),
    };
    let (start_ts, start_seq) = if run.start_seq == NO_SEQ {
        buffer.event_order(id)
    } else {
        (run.start_ts, run.start_seq)
    };
    let taken = Run {
        state: target,
        node: Some(node),
        start_ts,
        prev_ts: event.timestamp,
        start_seq,
    };
    if !t.target_may_finish {
        return (taken, None);
    }
    let fin = final_after_proceed(nfa, buffer, scratch, run, event, target)
        .map(|fin| {
            buffer.retain(Some(node));
            Run { state: fin, ..taken }
        });
    (taken, fin)
}

/// Flink's `createDecisionGraph`: follows proceed edges whose condition
/// holds and collects the take and ignore edges that hold.
fn decision_graph<E>(
    nfa: &Nfa<E>,
    buffer: &SharedBuffer<E>,
    scratch: &mut Scratch,
    run: Run,
    value: &E,
    timestamp: i64,
) {
    let ctx = Context {
        buffer,
        node: run.node,
        stage_names: &nfa.stage_names,
        timestamp,
    };
    scratch.conditions.start_run();
    scratch.edges.clear();
    let state = nfa.state(run.state);
    if !state.has_proceed {
        // No epsilon edge: the graph is this state's own transitions.
        for (i, t) in state.transitions.iter().enumerate() {
            if scratch.conditions.test(nfa, &t.test, value, &ctx) {
                scratch.edges.push((t.action, t.source, i as u32));
            }
        }
        return;
    }
    scratch.stack.clear();
    scratch.stack.push(run.state);
    let mut steps = 0;
    while let Some(s) = scratch.stack.pop() {
        steps += 1;
        if steps > MAX_PROCEED_STEPS {
            break;
        }
        for (i, t) in nfa.state(s).transitions.iter().enumerate() {
            if scratch.conditions.test(nfa, &t.test, value, &ctx) {
                match t.action {
                    Action::Proceed => scratch.stack.push(t.target),
                    action => scratch.edges.push((action, s, i as u32)),
                }
            }
        }
    }
}

/// Flink's `findFinalStateAfterProceed`, with the context of the run
/// before it took the event. Out of line: it keeps the frame of every
/// step that takes an event small.
#[inline(never)]
fn final_after_proceed<E>(
    nfa: &Nfa<E>,
    buffer: &SharedBuffer<E>,
    scratch: &mut Scratch,
    run: Run,
    event: &Incoming<E>,
    from: StateId,
) -> Option<StateId> {
    if !nfa.state(from).has_proceed {
        return None;
    }
    let ctx = Context {
        buffer,
        node: run.node,
        stage_names: &nfa.stage_names,
        timestamp: event.timestamp,
    };
    let value = event.value(buffer);
    scratch.stack.clear();
    scratch.stack.push(from);
    let mut steps = 0;
    while let Some(s) = scratch.stack.pop() {
        steps += 1;
        if steps > MAX_PROCEED_STEPS {
            break;
        }
        for t in &nfa.state(s).transitions {
            if t.action == Action::Proceed
                && scratch.conditions.test(nfa, &t.test, value, &ctx)
            {
                if nfa.state(t.target).kind == StateKind::Final {
                    return Some(t.target);
                }
                scratch.stack.push(t.target);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::nfa::partition::Collect;
    use crate::nfa::{OwnedMatch, Partition};
    use crate::Pattern;

    /// `a` (a non-negative event) followed by `b` (a negative one)
    /// within 10 ms.
    fn a_then_b_pattern() -> Pattern<i64> {
        Pattern::<i64>::begin("a")
            .when(|e| *e >= 0)
            .followed_by("b")
            .when(|e| *e < 0)
            .within(Duration::from_millis(10))
            .build()
            .unwrap()
    }

    /// [`a_then_b_pattern`] with timeouts; events are their timestamps.
    fn a_then_b() -> Partition<i64> {
        Partition::new(&a_then_b_pattern()).with_timeouts(true)
    }

    /// One pattern's runs, stepped by hand.
    struct Key {
        runs: Runs,
        buffer: SharedBuffer<i64>,
        scratch: Scratch,
        seen: Collect<i64>,
    }

    impl Key {
        fn new() -> Self {
            let (runs, buffer) = (Runs::new(), SharedBuffer::new());
            Self {
                runs,
                buffer,
                scratch: Scratch::new(),
                seen: Collect::new(),
            }
        }

        /// Feeds `e` at time `e.abs()`. An event that starts a match on
        /// idle runs goes through `start` (which takes its shortcut where
        /// it applies) or, without `shortcut`, the general step; any
        /// other through `process`.
        fn feed(&mut self, nfa: &Nfa<i64>, e: i64, shortcut: bool) -> bool {
            let (b, s, o) =
                (&mut self.buffer, &mut self.scratch, &mut self.seen);
            self.runs.advance_time(nfa, b, s, e.abs(), true, o).unwrap();
            let mut incoming = Incoming::new(e, e.abs());
            let starts =
                self.runs.is_idle() && Runs::starts(nfa, b, s, &e, e.abs());
            let started = match (starts, shortcut) {
                (true, true) => self.runs.start(nfa, b, s, &mut incoming, o),
                (true, false) => {
                    self.runs.step(nfa, b, s, &mut incoming, true, o)
                }
                (false, _) => self.runs.process(nfa, b, s, &mut incoming, o),
            };
            incoming.finish(b);
            started.unwrap()
        }
    }

    #[test]
    fn an_idle_start_writes_the_queue_the_step_would() {
        let waits = a_then_b_pattern();
        let single =
            Pattern::<i64>::begin("a").when(|e| *e >= 0).build().unwrap();
        let looping = Pattern::<i64>::begin("a")
            .when(|e| *e >= 0)
            .one_or_more()
            .followed_by("b")
            .when(|e| *e < 0)
            .within(Duration::from_millis(10))
            .build()
            .unwrap();
        for nfa in [waits.nfa(), single.nfa(), looping.nfa()] {
            let (mut direct, mut stepped) = (Key::new(), Key::new());
            // 3 starts on idle runs, expires, 20 starts on idle runs again,
            // 21 joins it, -25 completes.
            for e in [3, 20, 21, -25] {
                assert_eq!(
                    direct.feed(nfa, e, true),
                    stepped.feed(nfa, e, false)
                );
                assert_eq!(
                    direct.runs.partial.as_slice(),
                    stepped.runs.partial.as_slice()
                );
                assert_eq!(
                    direct.runs.next_expiry(),
                    stepped.runs.next_expiry()
                );
                assert_eq!(
                    direct.buffer.node_count(),
                    stepped.buffer.node_count()
                );
            }
            assert_eq!(direct.seen.matches, stepped.seen.matches);
            assert_eq!(direct.seen.timeouts, stepped.seen.timeouts);
            assert!(!direct.seen.matches.is_empty());
        }
        // The shortcut was taken: `a_then_b`'s new run only waits.
        let mut k = Key::new();
        assert!(k.feed(waits.nfa(), 3, true));
        assert_eq!(k.runs.partial_count(), 1);
    }

    #[test]
    fn a_lone_expired_run_times_out_and_frees_its_events() {
        let pattern = a_then_b_pattern();
        let nfa = pattern.nfa();
        let mut k = Key::new();
        k.feed(nfa, 3, true);
        assert_eq!((k.buffer.event_count(), k.buffer.node_count()), (1, 1));
        let (b, s, o) = (&mut k.buffer, &mut k.scratch, &mut k.seen);
        k.runs.advance_time(nfa, b, s, 12, true, o).unwrap();
        assert_eq!(k.runs.partial_count(), 1, "12 - 3 < 10: alive");
        k.runs.advance_time(nfa, b, s, 13, true, o).unwrap();
        assert!(k.runs.is_idle());
        assert_eq!(k.runs.next_expiry(), i64::MAX);
        assert_eq!(started(&k.seen.timeouts), [(3, 13)]);
        assert!(k.buffer.is_empty());
    }

    #[test]
    fn queues_hold_memory_for_what_they_hold_and_idle_ones_none() {
        let pattern = a_then_b_pattern();
        let nfa = pattern.nfa();
        let mut k = Key::new();
        // Nine partial matches at once: the queue grows past what a spare
        // may hold.
        for e in 1..10 {
            k.feed(nfa, e, true);
        }
        assert_eq!(k.runs.partial_count(), 9);
        let run = std::mem::size_of::<Run>();
        assert!(k.runs.memory_usage() > SPARE_CAPACITY * run);
        // All expire: the idle queue holds nothing, and its allocation,
        // too large to keep, is not kept either.
        let (b, s, o) = (&mut k.buffer, &mut k.scratch, &mut k.seen);
        k.runs.advance_time(nfa, b, s, 100, true, o).unwrap();
        assert!(k.runs.is_idle());
        assert_eq!(k.runs.memory_usage(), 0);
        assert!(k.scratch.spare_queues.is_empty());
        // A new partial match gets a queue of its own size ...
        k.feed(nfa, 200, true);
        assert_eq!(k.runs.memory_usage(), QUEUE_CAPACITY * run);
        // ... whose allocation, once idle again, is kept for the next.
        let (b, s, o) = (&mut k.buffer, &mut k.scratch, &mut k.seen);
        k.runs.advance_time(nfa, b, s, 300, true, o).unwrap();
        assert_eq!(k.runs.memory_usage(), 0);
        assert_eq!(k.scratch.spare_queues.len(), 1);
        k.feed(nfa, 400, true);
        assert!(k.scratch.spare_queues.is_empty());
        // A cleared queue (its pattern replaced or removed) keeps nothing.
        k.runs.clear(&mut k.buffer);
        assert_eq!(k.runs.memory_usage(), 0);
        assert!(k.buffer.is_empty());
        assert_eq!(started(&k.seen.timeouts)[9..], [(200, 210)]);
    }

    fn started(timeouts: &[(OwnedMatch<i64>, i64)]) -> Vec<(i64, i64)> {
        timeouts.iter().map(|(m, at)| (m[0].1[0], *at)).collect()
    }

    #[test]
    fn in_order_runs_expire_from_the_front() {
        let mut p = a_then_b();
        for ts in [1, 5, 8] {
            p.process(ts, ts).unwrap();
        }
        let (_, timeouts) = p.advance_time(15).unwrap();
        assert_eq!(started(&timeouts), [(1, 11), (5, 15)]);
        assert_eq!(p.partial_count(), 1);
        let (_, timeouts) = p.advance_time(100).unwrap();
        assert_eq!(started(&timeouts), [(8, 18)]);
        assert_eq!(p.partial_count(), 0);
    }

    #[test]
    fn runs_out_of_order_expire_as_flink_rebuilds_them() {
        // Time going back leaves the queue out of order:
        // [1, 7, 5, start], so the survivors of 1's expiry are rebuilt.
        let mut p = a_then_b();
        for ts in [5, 7, 1] {
            p.process(ts, ts).unwrap();
        }
        let (_, timeouts) = p.advance_time(12).unwrap();
        assert_eq!(started(&timeouts), [(1, 11)]);
        let (_, timeouts) = p.advance_time(16).unwrap();
        assert_eq!(started(&timeouts), [(5, 15)]);
        // The last one still completes, once.
        let matches = p.process(-1, 16).unwrap();
        assert_eq!(matches.len(), 1);
        assert_eq!(matches[0][0].1, [7]);
        assert_eq!(p.partial_count(), 0);
    }
}
