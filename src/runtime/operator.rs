//! [`KeyedOperator`]: see the module docs.

use std::collections::VecDeque;
use std::hash::Hash;
use std::sync::Arc;

use hashbrown::HashMap;
use smallvec::SmallVec;

use crate::util::bitset::BitSet;

use crate::nfa::{
    Incoming, Match, Nfa, Output, Runs, Scratch, SharedBuffer, SkipError,
};
use crate::pattern::Pattern;

mod snapshot;
mod timers;

pub use snapshot::{OperatorSnapshot, RestoreError};
use timers::{TimerEntry, TimerQueues};

/// Identifies a pattern within a [`KeyedOperator`]; stable while the
/// pattern is registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatternId(pub(crate) u32);

impl PatternId {
    /// The pattern's position in registration order.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// How a registered pattern reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PatternOptions {
    /// Report partial matches whose window expires (Flink's
    /// `TimedOutPartialMatchHandler`); off by default.
    pub timeouts: bool,
}

/// Which clock drives the operator.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
pub enum TimeMode {
    /// Timestamps come with the events; watermarks release them.
    EventTime,
    /// Events are processed on arrival at the time given with them (the
    /// caller's clock).
    ProcessingTime,
}

/// Receives the operator's output.
pub trait Handler<E, K> {
    /// A completed match of `pattern` for `key`, found at `timestamp`
    /// (the event that completed it, or the time that released it).
    fn on_match(
        &mut self,
        pattern: PatternId,
        key: &K,
        m: &Match<'_, E>,
        timestamp: i64,
    );

    /// A partial match of `pattern` for `key` that expired at `timestamp`
    /// (only for patterns registered with `timeouts`).
    fn on_timeout(
        &mut self,
        pattern: PatternId,
        key: &K,
        m: &Match<'_, E>,
        timestamp: i64,
    ) {
        let _ = (pattern, key, m, timestamp);
    }

    /// An event that arrived at or below the watermark. Reported once,
    /// however many patterns there are.
    fn on_late(&mut self, key: &K, event: E, timestamp: i64) {
        let _ = (key, event, timestamp);
    }
}

/// Counters readable at any time.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct Counters {
    /// Events pushed.
    pub events_in: u64,
    /// Late events (sent to [`Handler::on_late`]).
    pub late: u64,
    /// Matches emitted.
    pub matches: u64,
    /// Timeouts emitted.
    pub timeouts: u64,
    /// Partial matches alive now (all patterns and keys).
    pub partial_matches: u64,
    /// Most partial matches alive at once.
    pub peak_partial_matches: u64,
    /// Keys holding state now.
    pub keys: u64,
    /// Events waiting in reorder buffers now.
    pub buffered: u64,
}

/// What one pattern has done, from [`KeyedOperator::pattern_counters`]:
/// with several patterns fanned out, which rule fires how often and
/// which one holds the state.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct PatternCounters {
    /// Matches this pattern emitted.
    pub matches: u64,
    /// Timeouts this pattern emitted.
    pub timeouts: u64,
    /// This pattern's partial matches alive now, over all keys.
    pub partial_matches: u64,
}

impl Counters {
    /// Both counts added, field by field (peaks too: the sum of the
    /// peaks of operators that ran side by side bounds the peak of their
    /// total from above). Saturating.
    pub fn added(&self, other: &Counters) -> Counters {
        Counters {
            events_in: self.events_in.saturating_add(other.events_in),
            late: self.late.saturating_add(other.late),
            matches: self.matches.saturating_add(other.matches),
            timeouts: self.timeouts.saturating_add(other.timeouts),
            partial_matches: self
                .partial_matches
                .saturating_add(other.partial_matches),
            peak_partial_matches: self
                .peak_partial_matches
                .saturating_add(other.peak_partial_matches),
            keys: self.keys.saturating_add(other.keys),
            buffered: self.buffered.saturating_add(other.buffered),
        }
    }
}

impl PatternCounters {
    /// Both counts added, field by field. Saturating.
    pub fn added(&self, other: &PatternCounters) -> PatternCounters {
        PatternCounters {
            matches: self.matches.saturating_add(other.matches),
            timeouts: self.timeouts.saturating_add(other.timeouts),
            partial_matches: self
                .partial_matches
                .saturating_add(other.partial_matches),
        }
    }

    /// `self` with `other`'s matches and timeouts added; the partial
    /// matches stay `self`'s. Saturating: a restored snapshot may hold
    /// any counts.
    fn with_emitted(self, other: &PatternCounters) -> Self {
        Self {
            matches: self.matches.saturating_add(other.matches),
            timeouts: self.timeouts.saturating_add(other.timeouts),
            ..self
        }
    }
}

struct PatternSlot<E> {
    nfa: Arc<Nfa<E>>,
    options: PatternOptions,
    active: bool,
}

/// A window timer of one pattern on one key (Flink's
/// `registerTimer(ts + windowTime)` in the pattern's operator).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
struct Timer {
    at: i64,
    pattern: u32,
}

/// A key's state. The fields a timer visit reads (generation, expiry
/// bound, live count, the runs and which are busy) come first and the
/// state starts on a cache line, so that they share one line: most
/// visits are timer visits to keys not in cache.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
#[repr(C, align(64))]
struct KeyState<K> {
    /// Tells this key's timer entries from those of an earlier key state
    /// in the same slot.
    generation: u64,
    /// No run of any pattern expires before this time (a lower bound):
    /// advancing the key short of it is skipped without touching its
    /// patterns.
    next_expiry: i64,
    live_partial: u64,
    /// Every pattern's runs, by pattern number.
    runs: Vec<Runs>,
    /// The patterns whose runs are not idle: a visit touches only these
    /// (and those the event starts), so idle patterns cost nothing.
    busy: BitSet,
    /// Flink's `isNewStartPartialMatch` per pattern, kept until the visit
    /// ends.
    new_start: BitSet,
    /// The release (watermark advance) this key was last visited in, and
    /// the last event timestamp processed in it.
    visit: u64,
    visit_ts: Option<i64>,
    /// In the list of keys to finish at the end of the current release
    /// (false between calls, so not in snapshots).
    #[serde(skip)]
    touched: bool,
    /// Timers set on a new key, not yet in the operator's timer queues
    /// (it has no slot until it is stored; a key with a slot queues its
    /// timers at once). Empty between calls, so not in snapshots.
    #[serde(skip)]
    unqueued: SmallVec<[Timer; 2]>,
    key: K,
}

impl<K> KeyState<K> {
    /// Sets a timer on a key not in the table yet, to be queued when it
    /// is stored (Flink's timer service keeps one per key and time, so a
    /// repeat is dropped; a repeat that did get queued would only cost a
    /// visit that changes nothing).
    fn add_timer(&mut self, pattern: usize, at: i64) {
        let t = Timer { at, pattern: pattern as u32 };
        if !self.unqueued.contains(&t) {
            self.unqueued.push(t);
        }
    }

    /// Whether no pattern holds anything: the key may be dropped.
    fn is_idle(&self) -> bool {
        self.busy.is_empty()
    }

    /// Recomputes the expiry bound from the busy patterns' runs.
    fn refresh_expiry(&mut self) {
        self.next_expiry = self
            .busy
            .iter()
            .map(|i| self.runs[i].next_expiry())
            .min()
            .unwrap_or(i64::MAX);
    }

    /// Updates `busy` for pattern `i` after its runs changed.
    #[inline]
    fn note(&mut self, i: usize) {
        let busy = !self.runs[i].is_idle();
        self.busy.set(i, busy);
    }
}

/// Moves the live partial-match counts, the key's and the operator's,
/// from `before` to `after` for one pattern's runs. Counting where the
/// runs change, while they are in cache, spares the end of every visit a
/// walk over the key's patterns. Each count holds `before`, so nothing
/// wraps.
#[inline]
fn recount(key: &mut u64, all: &mut u64, before: usize, after: usize) {
    let (before, after) = (before as u64, after as u64);
    *key = *key - before + after;
    *all = *all - before + after;
}

/// The embeddable, push-based keyed CEP operator.
///
/// # Example
///
/// ```
/// use cepflow::runtime::{Handler, KeyedOperator, PatternId, TimeMode};
/// use cepflow::{Match, Pattern};
///
/// struct Print(Vec<String>);
/// impl Handler<i32, &'static str> for Print {
///     fn on_match(&mut self, _: PatternId, key: &&'static str, m: &Match<'_, i32>, _: i64) {
///         self.0.push(format!("{key}: {:?}", m));
///     }
/// }
///
/// let p = Pattern::<i32>::begin("a").when(|x| *x < 0).next("b").when(|x| *x > 0).build()?;
/// let mut op = KeyedOperator::new(TimeMode::EventTime);
/// op.add_pattern(&p, Default::default());
/// let mut out = Print(Vec::new());
/// op.push("k", -1, 10, &mut out)?;
/// op.push("k", 5, 11, &mut out)?;
/// op.finish(&mut out)?;
/// assert_eq!(out.0, vec!["k: {\"a\": [-1], \"b\": [5]}"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct KeyedOperator<E, K> {
    mode: TimeMode,
    patterns: Vec<PatternSlot<E>>,
    index: HashMap<K, usize>,
    /// Events and partial-match chains of every key. One buffer for all
    /// keys: a key owns no vectors of its own, and the slots a match
    /// frees are the next ones any key takes (hot in cache).
    buffer: SharedBuffer<E>,
    /// Boxed so that taking a key's state out for a visit and putting it
    /// back moves a pointer, not the whole state.
    keys: Vec<Option<Box<KeyState<K>>>>,
    free_slots: Vec<usize>,
    recycled: Vec<Box<KeyState<K>>>,
    /// Events waiting for the watermark, sorted by (timestamp, arrival).
    /// One buffer for all keys: releasing in this order gives every key
    /// its events in Flink's order, and a key holds no state for events
    /// that start nothing.
    reorder: VecDeque<(i64, K, E)>,
    /// Per pattern, every window timer set, in time order. An entry whose
    /// key state is gone is skipped; one whose key has nothing that could
    /// expire by then is skipped too (the visit would change nothing).
    timers: TimerQueues,
    /// The generation the next materialised key state gets.
    next_generation: u64,
    watermark: i64,
    visit: u64,
    touched: Vec<usize>,
    scratch: Scratch,
    /// The counters, but for matches and timeouts: those are counted per
    /// pattern only (one count on the event path, not two), in `emitted`
    /// and, for patterns replaced since, in `retired`.
    counters: Counters,
    /// Per pattern, what it emitted (`partial_matches` is counted when
    /// read). Beside `patterns`, not in it, so that a walk over the
    /// patterns can count.
    emitted: Vec<PatternCounters>,
    /// What replaced patterns had emitted before they were replaced.
    retired: PatternCounters,
}

impl<E, K> KeyedOperator<E, K> {
    /// `counters` with the matches and timeouts of every pattern, present
    /// and replaced, added up.
    fn counters_with_totals(&self) -> Counters {
        let all = self
            .emitted
            .iter()
            .fold(self.retired, PatternCounters::with_emitted);
        Counters {
            matches: all.matches,
            timeouts: all.timeouts,
            ..self.counters
        }
    }
}

impl<E, K> std::fmt::Debug for KeyedOperator<E, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedOperator")
            .field("mode", &self.mode)
            .field("patterns", &self.patterns.len())
            .field("watermark", &self.watermark)
            .field("counters", &self.counters_with_totals())
            .finish()
    }
}

/// How many idle key states are kept for reuse: enough to absorb churn,
/// small enough that idle keys cost (next to) nothing.
const RECYCLE_LIMIT: usize = 256;

/// A pattern's output for one key, on its way to the handler; counted
/// as it goes (output is rare, steps are not: nothing to add up after a
/// step that emitted nothing).
struct Emit<'h, H, K> {
    handler: &'h mut H,
    pattern: PatternId,
    key: &'h K,
    timestamp: i64,
    counters: &'h mut PatternCounters,
}

impl<'h, H, K> Emit<'h, H, K> {
    /// Output of pattern number `pattern` for `key`, at `timestamp`,
    /// counted in `counters`.
    fn new(
        handler: &'h mut H,
        pattern: usize,
        key: &'h K,
        timestamp: i64,
        counters: &'h mut PatternCounters,
    ) -> Self {
        let pattern = PatternId(u32::try_from(pattern).unwrap_or(u32::MAX));
        Self { handler, pattern, key, timestamp, counters }
    }
}

impl<E, K, H: Handler<E, K>> Output<E> for Emit<'_, H, K> {
    fn on_match(&mut self, m: &Match<'_, E>) {
        self.counters.matches = self.counters.matches.saturating_add(1);
        self.handler.on_match(self.pattern, self.key, m, self.timestamp);
    }

    fn on_timeout(&mut self, m: &Match<'_, E>, timestamp: i64) {
        self.counters.timeouts = self.counters.timeouts.saturating_add(1);
        self.handler.on_timeout(self.pattern, self.key, m, timestamp);
    }
}

impl<E, K: Hash + Eq + Clone> KeyedOperator<E, K> {
    /// An operator with no patterns yet.
    pub fn new(mode: TimeMode) -> Self {
        Self {
            mode,
            patterns: Vec::new(),
            index: HashMap::new(),
            buffer: SharedBuffer::new(),
            keys: Vec::new(),
            free_slots: Vec::new(),
            recycled: Vec::new(),
            reorder: VecDeque::new(),
            timers: TimerQueues::default(),
            watermark: i64::MIN,
            visit: 0,
            touched: Vec::new(),
            next_generation: 0,
            scratch: Scratch::new(),
            counters: Counters::default(),
            emitted: Vec::new(),
            retired: PatternCounters::default(),
        }
    }

    /// Registers a pattern; every key runs it from now on.
    pub fn add_pattern(
        &mut self,
        pattern: &Pattern<E>,
        options: PatternOptions,
    ) -> PatternId {
        let nfa = pattern.nfa_arc();
        for state in self.keys.iter_mut().flatten() {
            state.runs.push(Runs::new());
        }
        for state in &mut self.recycled {
            state.runs.push(Runs::new());
        }
        self.patterns.push(PatternSlot { nfa, options, active: true });
        self.timers.add_pattern();
        self.emitted.push(PatternCounters::default());
        PatternId(u32::try_from(self.patterns.len() - 1).unwrap_or(u32::MAX))
    }

    /// Replaces a pattern at run time: its partial matches are dropped
    /// and its [counters](Self::pattern_counters) start again from zero
    /// (a new rule); every other pattern's state is untouched.
    pub fn replace_pattern(
        &mut self,
        id: PatternId,
        pattern: &Pattern<E>,
        options: PatternOptions,
    ) {
        let nfa = pattern.nfa_arc();
        self.reset_pattern_runs(id);
        let slot = &mut self.patterns[id.index()];
        slot.nfa = nfa;
        slot.options = options;
        slot.active = true;
        let old = std::mem::take(&mut self.emitted[id.index()]);
        self.retired = self.retired.with_emitted(&old);
    }

    /// Removes a pattern at run time: its partial matches are dropped;
    /// its id is not reused.
    pub fn remove_pattern(&mut self, id: PatternId) {
        self.reset_pattern_runs(id);
        self.patterns[id.index()].active = false;
    }

    /// Drops every key's runs and timers of pattern `id`.
    fn reset_pattern_runs(&mut self, id: PatternId) {
        let mut live = 0;
        let i = id.index();
        for state in self.keys.iter_mut().flatten() {
            let runs = &mut state.runs[i];
            let dropped = runs.partial_count() as u64;
            live += dropped;
            state.live_partial -= dropped;
            runs.clear(&mut self.buffer);
            state.busy.remove(i);
            state.new_start.remove(i);
        }
        // Keys left idle are dropped at their next visit.
        self.counters.partial_matches =
            self.counters.partial_matches.saturating_sub(live);
    }

    /// The ids of the registered (not removed) patterns.
    pub fn pattern_ids(&self) -> impl Iterator<Item = PatternId> + '_ {
        self.patterns
            .iter()
            .enumerate()
            .filter(|(_, p)| p.active)
            .map(|(i, _)| PatternId(i as u32))
    }

    /// The current watermark (`i64::MIN` before the first).
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Event time or processing time.
    pub fn mode(&self) -> TimeMode {
        self.mode
    }

    /// The counters.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters_with_totals();
        c.keys = self.index.len() as u64;
        c.buffered = self.reorder.len() as u64;
        c
    }

    /// What pattern `id` has emitted, and its partial matches alive now
    /// (counted over the keys holding state, so reading costs a walk over
    /// them). A removed pattern keeps what it emitted. `None` for an id
    /// this operator never gave.
    pub fn pattern_counters(&self, id: PatternId) -> Option<PatternCounters> {
        let i = id.index();
        let emitted = self.emitted.get(i)?;
        let partial_matches = self
            .keys
            .iter()
            .flatten()
            .map(|k| k.runs[i].partial_count() as u64)
            .sum();
        Some(PatternCounters { partial_matches, ..*emitted })
    }

    /// Heap bytes held by keyed state (approximate): key table, per-key
    /// buffers and runs, reorder buffer.
    pub fn memory_usage(&self) -> usize {
        let per_key = |s: &KeyState<K>| {
            std::mem::size_of::<KeyState<K>>()
                + s.runs.capacity() * std::mem::size_of::<Runs>()
                + s.runs.iter().map(Runs::memory_usage).sum::<usize>()
                + if s.unqueued.spilled() {
                    s.unqueued.capacity() * std::mem::size_of::<Timer>()
                } else {
                    0
                }
        };
        self.buffer.memory_usage()
            + self.index.capacity() * (std::mem::size_of::<(K, usize)>() + 1)
            + self.keys.capacity()
                * std::mem::size_of::<Option<Box<KeyState<K>>>>()
            + self.keys.iter().flatten().map(|s| per_key(s)).sum::<usize>()
            + self.recycled.iter().map(|s| per_key(s)).sum::<usize>()
            + self.reorder.capacity() * std::mem::size_of::<(i64, K, E)>()
            + self.timers.memory_usage()
    }

    /// Pushes one event.
    ///
    /// In event time, an event at or below the watermark is late and goes
    /// to [`Handler::on_late`]; others wait for the watermark. In
    /// processing time the event is processed at once at `timestamp`.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn push<H: Handler<E, K>>(
        &mut self,
        key: K,
        event: E,
        timestamp: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        self.counters.events_in += 1;
        match self.mode {
            TimeMode::EventTime => {
                if timestamp <= self.watermark {
                    self.counters.late += 1;
                    handler.on_late(&key, event, timestamp);
                    return Ok(());
                }
                // Usually the newest event: append; otherwise insert after
                // every event with the same or a smaller timestamp.
                if self.reorder.back().is_none_or(|b| b.0 <= timestamp) {
                    self.reorder.push_back((timestamp, key, event));
                } else {
                    let at =
                        self.reorder.partition_point(|e| e.0 <= timestamp);
                    self.reorder.insert(at, (timestamp, key, event));
                }
                Ok(())
            }
            TimeMode::ProcessingTime => {
                // Flink's processElement: advance to now, then process.
                self.visit += 1;
                let slot = self.index.get(&key).copied();
                if slot.is_none() && !self.starts_any(&event, timestamp) {
                    return Ok(());
                }
                let (slot, mut state) = self.state_at(slot, key);
                let result = self.process_in_visit(
                    slot, &mut state, event, timestamp, handler,
                );
                self.settle(slot, state);
                result
            }
        }
    }

    /// Pushes one event, then advances the watermark (or the clock) to
    /// `to`: [`push`](Self::push) followed by
    /// [`advance_to`](Self::advance_to).
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn push_and_advance<H: Handler<E, K>>(
        &mut self,
        key: K,
        event: E,
        timestamp: i64,
        to: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        self.push(key, event, timestamp, handler)?;
        self.advance_to(to, handler)
    }

    /// Advances the watermark (event time) or the clock (processing
    /// time) to `to`: releases buffered events up to it in order, then
    /// visits the keys whose window timers are due. A watermark never
    /// goes back.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn advance_to<H: Handler<E, K>>(
        &mut self,
        to: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        if to <= self.watermark {
            return Ok(());
        }
        self.watermark = to;
        self.release(to, handler)?;
        self.fire_timers(to, handler)
    }

    /// Ends the input. In event time the watermark goes to +infinity, so
    /// every buffered event is processed and every key with a pending
    /// timer is visited a last time (Flink does the same at the end of a
    /// bounded input: windowed partial matches time out). In processing
    /// time nothing happens: Flink fires no processing-time timer after
    /// the input ends.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn finish<H: Handler<E, K>>(
        &mut self,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        match self.mode {
            TimeMode::EventTime => self.advance_to(i64::MAX, handler),
            TimeMode::ProcessingTime => Ok(()),
        }
    }

    /// Emits every match a skip strategy still holds back (see
    /// [`Runs::flush_held`]); call after [`finish`](Self::finish).
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn flush_held<H: Handler<E, K>>(
        &mut self,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        for slot in 0..self.keys.len() {
            let Some(mut state) = self.keys[slot].take() else { continue };
            let mut result = Ok(());
            for (i, p) in self.patterns.iter().enumerate() {
                if !p.active || !state.busy.contains(i) || result.is_err() {
                    continue;
                }
                let mut out = Emit::new(
                    handler,
                    i,
                    &state.key,
                    self.watermark,
                    &mut self.emitted[i],
                );
                let runs = &mut state.runs[i];
                let before = runs.partial_count();
                result = runs.flush_held(
                    &p.nfa,
                    &mut self.buffer,
                    &mut self.scratch,
                    &mut out,
                );
                let after = runs.partial_count();
                recount(
                    &mut state.live_partial,
                    &mut self.counters.partial_matches,
                    before,
                    after,
                );
                state.note(i);
            }
            self.keys[slot] = Some(state);
            result?;
        }
        Ok(())
    }

    /// Releases the buffered events at or below `to`, in order. Each key
    /// they touch gets one visit, as Flink's `onEventTime`: runs advanced
    /// to each new timestamp before its events, then to `to`.
    fn release<H: Handler<E, K>>(
        &mut self,
        to: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        if self.reorder.front().is_none_or(|e| e.0 > to) {
            return Ok(());
        }
        self.visit += 1;
        let mut touched = std::mem::take(&mut self.touched);
        touched.clear();
        let mut result = Ok(());
        while let Some((ts, key, event)) =
            self.reorder.pop_front_if(|e| e.0 <= to)
        {
            let slot = self.index.get(&key).copied();
            if slot.is_none() && !self.starts_any(&event, ts) {
                // A key with nothing, and an event that starts nothing:
                // the visit would change nothing (most events of most
                // workloads), so the key is not even materialised.
                continue;
            }
            let (slot, mut state) = self.state_at(slot, key);
            result =
                self.process_in_visit(slot, &mut state, event, ts, handler);
            if state.is_idle() && slot.is_none() {
                // An event that started nothing on a key with nothing: the
                // visit's last step would change nothing either.
                self.recycle(state);
            } else if touched.is_empty()
                && self.reorder.front().is_none_or(|e| e.0 > to)
            {
                // The release's only key (a watermark after every event):
                // its visit ends now, with no round trip through its slot.
                result = self.end_visit(slot, state, to, result, handler);
            } else {
                let first_touch = !state.touched;
                state.touched = true;
                let slot = self.store(slot, state);
                if first_touch {
                    touched.push(slot);
                }
            }
            if result.is_err() {
                break;
            }
        }
        for &slot in &touched {
            let Some(mut state) = self.keys[slot].take() else { continue };
            state.touched = false;
            result = self.end_visit(Some(slot), state, to, result, handler);
        }
        self.touched = touched;
        result
    }

    /// The end of a key's visit in a release to `to`: its runs advanced to
    /// the watermark (unless the release already failed), then settled.
    fn end_visit<H: Handler<E, K>>(
        &mut self,
        slot: Option<usize>,
        mut state: Box<KeyState<K>>,
        to: i64,
        result: Result<(), SkipError>,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        let result =
            result.and_then(|()| self.advance_runs(&mut state, to, handler));
        self.settle(slot, state);
        result
    }

    /// Visits every key whose window timer is due at `to`; each visit
    /// advances only the patterns whose timers fired.
    fn fire_timers<H: Handler<E, K>>(
        &mut self,
        to: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        if !self.timers.any_due(to) {
            return Ok(());
        }
        for p in 0..self.timers.len() {
            if self.timers.due(p, to) {
                self.fire_queue(p, to, handler)?;
            }
        }
        // Only after every queue went through: a failure leaves the bound
        // lower than it need be, which costs a look, never a missed timer.
        self.timers.refresh_next_due();
        Ok(())
    }

    /// Visits the keys of pattern `p`'s timers due at `to`.
    fn fire_queue<H: Handler<E, K>>(
        &mut self,
        p: usize,
        to: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        while let Some(entry) = self.timers.pop_due(p, to) {
            let slot = entry.slot;
            let Some(state) = self.keys.get(slot).and_then(|s| s.as_ref())
            else {
                continue; // the key is gone
            };
            if state.generation != entry.generation || to < state.next_expiry {
                // Another key's timer, or nothing of this key can expire
                // by `to`: the visit would change nothing.
                continue;
            }
            // OK because the slot was just checked.
            let mut state = self.keys[slot].take().expect("live key");
            let result = self.wake(&mut state, p, to, handler);
            if state.is_idle() {
                self.settle(Some(slot), state);
            } else {
                // A timer sets no timer: nothing to queue.
                debug_assert!(state.unqueued.is_empty());
                self.keys[slot] = Some(state);
            }
            result?;
        }
        Ok(())
    }

    /// A timer's visit: advances pattern `p` of a key to `to` (the other
    /// patterns have timers of their own), keeping the counters and the
    /// key's expiry bound up to date. `advance_runs` and `settle` for one
    /// pattern, which is all a timer visit needs.
    fn wake<H: Handler<E, K>>(
        &mut self,
        state: &mut KeyState<K>,
        p: usize,
        to: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        if !self.patterns[p].active || !state.busy.contains(p) {
            return Ok(());
        }
        let runs = &mut state.runs[p];
        let before = runs.partial_count();
        let result = self.advance_pattern(&state.key, runs, p, to, handler);
        let after = runs.partial_count();
        recount(
            &mut state.live_partial,
            &mut self.counters.partial_matches,
            before,
            after,
        );
        state.note(p);
        state.refresh_expiry();
        result
    }

    /// Processes one event within the current visit of its key (Flink's
    /// `processEvent`, preceded by `advanceTime` when the timestamp is new
    /// to the visit).
    fn process_in_visit<H: Handler<E, K>>(
        &mut self,
        slot: Option<usize>,
        state: &mut KeyState<K>,
        event: E,
        ts: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        if state.visit != self.visit {
            state.visit = self.visit;
            state.visit_ts = None;
            state.new_start.clear();
        }
        if state.visit_ts != Some(ts) {
            state.visit_ts = Some(ts);
            self.advance_runs(state, ts, handler)?;
        }
        self.process_event(slot, state, event, ts, handler)
    }

    /// Whether some pattern's start run takes `event`: if not, the event
    /// changes nothing on a key that holds nothing.
    fn starts_any(&mut self, event: &E, ts: i64) -> bool {
        let (buffer, scratch) = (&self.buffer, &mut self.scratch);
        self.patterns.iter().any(|p| {
            p.active && Runs::starts(&p.nfa, buffer, scratch, event, ts)
        })
    }

    /// The state of the key at `slot` (from the table), or a fresh
    /// (recycled) one that is not in the table yet.
    fn state_at(
        &mut self,
        slot: Option<usize>,
        key: K,
    ) -> (Option<usize>, Box<KeyState<K>>) {
        if let Some(slot) = slot {
            // OK because indexed slots are live between visits.
            return (Some(slot), self.keys[slot].take().expect("live key"));
        }
        let state = match self.recycled.pop() {
            Some(mut s) => {
                s.key = key;
                s.generation = self.next_generation;
                s
            }
            None => Box::new(KeyState {
                key,
                runs: self.patterns.iter().map(|_| Runs::new()).collect(),
                busy: BitSet::default(),
                new_start: BitSet::default(),
                unqueued: SmallVec::new(),
                generation: self.next_generation,
                visit: 0,
                visit_ts: None,
                touched: false,
                live_partial: 0,
                next_expiry: i64::MAX,
            }),
        };
        self.next_generation += 1;
        (None, state)
    }

    /// Puts a key's state in its slot, entering the key in the table if
    /// needed.
    fn store(
        &mut self,
        slot: Option<usize>,
        mut state: Box<KeyState<K>>,
    ) -> usize {
        let slot = match slot {
            Some(slot) => slot,
            None => {
                let slot = self.free_slots.pop().unwrap_or_else(|| {
                    self.keys.push(None);
                    // Room for every slot to be freed, reserved as keys
                    // arrive (which allocates anyway), so dropping an idle
                    // key never allocates.
                    let want = self.keys.len() - self.free_slots.len();
                    self.free_slots.reserve(want);
                    self.keys.len() - 1
                });
                self.index.insert(state.key.clone(), slot);
                slot
            }
        };
        for t in state.unqueued.drain(..) {
            let entry =
                TimerEntry { at: t.at, slot, generation: state.generation };
            self.timers.push(t.pattern as usize, entry);
        }
        self.keys[slot] = Some(state);
        slot
    }

    fn recycle(&mut self, mut state: Box<KeyState<K>>) {
        if self.recycled.len() < RECYCLE_LIMIT {
            // The pool's whole size at once, so recycling never grows it
            // one allocation at a time on the event path.
            self.recycled.reserve_exact(RECYCLE_LIMIT - self.recycled.len());
            state.unqueued.clear();
            state.live_partial = 0;
            state.next_expiry = i64::MAX;
            state.new_start.clear();
            self.recycled.push(state);
        }
    }

    /// After a visit: updates the peak count, then drops an idle key (its
    /// state goes to the recycling pool) or stores it, queueing the timers
    /// the visit set. `slot` is `None` for a key not in the table yet.
    fn settle(&mut self, slot: Option<usize>, state: Box<KeyState<K>>) {
        // The live counts are kept up to date where runs change (see
        // `recount`); only the peak waits for the visit's end.
        self.counters.peak_partial_matches = self
            .counters
            .peak_partial_matches
            .max(self.counters.partial_matches);
        // Timers may remain: Flink would visit the key, but with only start
        // runs left a visit changes nothing.
        if state.is_idle() {
            if let Some(slot) = slot {
                self.index.remove(&state.key);
                self.free_slots.push(slot);
            }
            self.recycle(state);
            return;
        }
        self.store(slot, state);
    }

    /// Advances the busy patterns of a key to `ts`; idle patterns have
    /// nothing that time could change.
    fn advance_runs<H: Handler<E, K>>(
        &mut self,
        state: &mut KeyState<K>,
        ts: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        if ts < state.next_expiry {
            return Ok(());
        }
        let mut result = Ok(());
        let KeyState { key, runs, busy, live_partial, .. } = state;
        // Patterns that go idle leave `busy`.
        busy.retain(|i| {
            if !self.patterns[i].active || result.is_err() {
                return true;
            }
            let runs = &mut runs[i];
            let before = runs.partial_count();
            result = self.advance_pattern(key, runs, i, ts, handler);
            let after = runs.partial_count();
            recount(
                live_partial,
                &mut self.counters.partial_matches,
                before,
                after,
            );
            !runs.is_idle()
        });
        state.refresh_expiry();
        result
    }

    /// Advances pattern `p`'s runs of a key to `ts`, counting what it
    /// emits.
    fn advance_pattern<H: Handler<E, K>>(
        &mut self,
        key: &K,
        runs: &mut Runs,
        p: usize,
        ts: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        let pattern = &self.patterns[p];
        let mut out = Emit::new(handler, p, key, ts, &mut self.emitted[p]);
        runs.advance_time(
            &pattern.nfa,
            &mut self.buffer,
            &mut self.scratch,
            ts,
            pattern.options.timeouts,
            &mut out,
        )
    }

    /// Processes one event for a key: steps the busy patterns and those
    /// it starts, and sets window timers. `slot`: the key's slot in the
    /// table (`None` for a key not entered yet, whose timers wait in the
    /// state until it is stored).
    fn process_event<H: Handler<E, K>>(
        &mut self,
        slot: Option<usize>,
        state: &mut KeyState<K>,
        event: E,
        ts: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        let mut incoming = Incoming::new(event, ts);
        let mut result = Ok(());
        let delay = i64::from(self.mode == TimeMode::ProcessingTime);
        for (i, p) in self.patterns.iter().enumerate() {
            if !p.active {
                continue;
            }
            // An idle pattern changes only if the event starts a match;
            // asking that reads no per-key state (and, once asked, the
            // runs are stepped without asking again).
            let busy = state.busy.contains(i);
            if busy
                || Runs::starts(
                    &p.nfa,
                    &self.buffer,
                    &mut self.scratch,
                    incoming.value(&self.buffer),
                    ts,
                )
            {
                let mut out = Emit::new(
                    handler,
                    i,
                    &state.key,
                    ts,
                    &mut self.emitted[i],
                );
                let runs = &mut state.runs[i];
                let before = runs.partial_count();
                let (nfa, buffer, scratch) =
                    (&p.nfa, &mut self.buffer, &mut self.scratch);
                let step = if busy {
                    runs.process(nfa, buffer, scratch, &mut incoming, &mut out)
                } else {
                    runs.start(nfa, buffer, scratch, &mut incoming, &mut out)
                };
                let after = runs.partial_count();
                recount(
                    &mut state.live_partial,
                    &mut self.counters.partial_matches,
                    before,
                    after,
                );
                state.next_expiry = state.next_expiry.min(runs.next_expiry());
                state.note(i);
                match step {
                    Ok(true) => state.new_start.insert(i),
                    Ok(false) => {}
                    Err(e) => {
                        result = Err(e);
                        break;
                    }
                }
            }
            // Flink's processEvent: once a visit has started a partial
            // match, every later event of the visit sets a window timer
            // (processing time: a millisecond later).
            if let Some(window) =
                p.nfa.window().filter(|_| state.new_start.contains(i))
            {
                let at = ts.saturating_add(window).saturating_add(delay);
                match slot {
                    // A repeat of a timer already queued (a second event
                    // at the same time in this visit) would only cost a
                    // visit that changes nothing: no need to look.
                    Some(slot) => self.timers.push(
                        i,
                        TimerEntry { at, slot, generation: state.generation },
                    ),
                    None => state.add_timer(i, at),
                }
            }
        }
        incoming.finish(&mut self.buffer);
        result
    }
}
