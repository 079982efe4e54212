//! [`KeyedOperator`]: see the module docs.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hash::Hash;
use std::sync::Arc;

use hashbrown::HashMap;
use smallvec::SmallVec;

use crate::nfa::{Incoming, Match, Nfa, Output, Runs, Scratch, SharedBuffer, SkipError};
use crate::pattern::Pattern;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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

struct PatternSlot<E> {
    nfa: Arc<Nfa<E>>,
    options: PatternOptions,
    active: bool,
}

/// One pattern's state on one key: its runs and the timers Flink's
/// operator would hold for it.
struct PatternKeyState {
    runs: Runs,
    /// Window timers (Flink's `registerTimer(ts + windowTime)`), sorted.
    timers: SmallVec<[i64; 2]>,
    /// Flink's `isNewStartPartialMatch`, kept until the visit ends.
    new_start: bool,
}

impl PatternKeyState {
    fn new<E>(nfa: &Nfa<E>) -> Self {
        Self { runs: Runs::new(nfa), timers: SmallVec::new(), new_start: false }
    }

    fn add_timer(&mut self, at: i64) {
        let i = self.timers.partition_point(|&t| t < at);
        if self.timers.get(i) != Some(&at) {
            self.timers.insert(i, at);
        }
    }

    /// Fires the timers at or before `now`; whether any did.
    fn fire_timers(&mut self, now: i64) -> bool {
        let n = self.timers.partition_point(|&t| t <= now);
        self.timers.drain(..n);
        n > 0
    }
}

struct KeyState<E, K> {
    key: K,
    buffer: SharedBuffer<E>,
    patterns: Vec<PatternKeyState>,
    /// Events waiting for the watermark, sorted by (timestamp, arrival).
    pending: Vec<(i64, E)>,
    /// The time this key's timer entry is set for.
    due: Option<i64>,
    live_partial: u64,
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
    keys: Vec<Option<KeyState<E, K>>>,
    free_slots: Vec<usize>,
    recycled: Vec<KeyState<E, K>>,
    timers: BinaryHeap<Reverse<(i64, usize)>>,
    watermark: i64,
    scratch: Scratch,
    counters: Counters,
}

impl<E, K> std::fmt::Debug for KeyedOperator<E, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyedOperator")
            .field("mode", &self.mode)
            .field("patterns", &self.patterns.len())
            .field("watermark", &self.watermark)
            .field("counters", &self.counters)
            .finish()
    }
}

/// How many idle key states are kept for reuse: enough to absorb churn,
/// small enough that idle keys cost (next to) nothing.
const RECYCLE_LIMIT: usize = 256;

struct Emit<'h, H, K> {
    handler: &'h mut H,
    pattern: PatternId,
    key: &'h K,
    timestamp: i64,
    matches: u64,
    timeouts: u64,
}

impl<E, K, H: Handler<E, K>> Output<E> for Emit<'_, H, K> {
    fn on_match(&mut self, m: &Match<'_, E>) {
        self.matches += 1;
        self.handler.on_match(self.pattern, self.key, m, self.timestamp);
    }

    fn on_timeout(&mut self, m: &Match<'_, E>, timestamp: i64) {
        self.timeouts += 1;
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
            keys: Vec::new(),
            free_slots: Vec::new(),
            recycled: Vec::new(),
            timers: BinaryHeap::new(),
            watermark: i64::MIN,
            scratch: Scratch::new(),
            counters: Counters::default(),
        }
    }

    /// Registers a pattern; every key runs it from now on.
    pub fn add_pattern(&mut self, pattern: &Pattern<E>, options: PatternOptions) -> PatternId {
        let nfa = pattern.nfa_arc();
        for state in self.keys.iter_mut().flatten() {
            state.patterns.push(PatternKeyState::new(&nfa));
        }
        for state in &mut self.recycled {
            state.patterns.push(PatternKeyState::new(&nfa));
        }
        self.patterns.push(PatternSlot { nfa, options, active: true });
        PatternId(u32::try_from(self.patterns.len() - 1).unwrap_or(u32::MAX))
    }

    /// Replaces a pattern: its partial matches are dropped, the other
    /// patterns' state is untouched.
    pub fn replace_pattern(&mut self, id: PatternId, pattern: &Pattern<E>, options: PatternOptions) {
        let nfa = pattern.nfa_arc();
        self.reset_pattern_runs(id, &nfa);
        let slot = &mut self.patterns[id.index()];
        slot.nfa = nfa;
        slot.options = options;
        slot.active = true;
    }

    /// Removes a pattern: its partial matches are dropped; its id is not
    /// reused.
    pub fn remove_pattern(&mut self, id: PatternId) {
        let nfa = self.patterns[id.index()].nfa.clone();
        self.reset_pattern_runs(id, &nfa);
        self.patterns[id.index()].active = false;
    }

    fn reset_pattern_runs(&mut self, id: PatternId, new_nfa: &Arc<Nfa<E>>) {
        let old = self.patterns[id.index()].nfa.clone();
        for state in self.keys.iter_mut().flatten() {
            let p = &mut state.patterns[id.index()];
            p.runs.clear(&old, &mut state.buffer);
            *p = PatternKeyState::new(new_nfa);
        }
        for state in &mut self.recycled {
            state.patterns[id.index()] = PatternKeyState::new(new_nfa);
        }
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

    /// The counters.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters;
        c.keys = self.index.len() as u64;
        c
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
                let slot = self.slot_for(key);
                // OK because slot_for returns a live slot.
                let state = self.keys[slot].as_mut().expect("live key");
                let at = state.pending.partition_point(|(t, _)| *t <= timestamp);
                state.pending.insert(at, (timestamp, event));
                self.counters.buffered += 1;
                if state.due.is_none_or(|d| timestamp < d) {
                    state.due = Some(timestamp);
                    self.timers.push(Reverse((timestamp, slot)));
                }
                Ok(())
            }
            TimeMode::ProcessingTime => {
                let slot = self.slot_for(key);
                self.run_key(slot, Some((timestamp, event)), timestamp, handler)
            }
        }
    }

    /// Advances the watermark (event time) or the clock (processing
    /// time) to `to`: releases buffered events up to it in order and
    /// expires windows up to it. A watermark never goes back.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn advance_to<H: Handler<E, K>>(&mut self, to: i64, handler: &mut H) -> Result<(), SkipError> {
        if to <= self.watermark {
            return Ok(());
        }
        self.watermark = to;
        while let Some(&Reverse((due, slot))) = self.timers.peek() {
            if due > to {
                break;
            }
            self.timers.pop();
            let current = self.keys.get(slot).and_then(|s| s.as_ref()).and_then(|s| s.due);
            if current != Some(due) {
                continue; // a stale entry: the key moved on or is gone
            }
            self.run_key(slot, None, to, handler)?;
        }
        Ok(())
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
    pub fn finish<H: Handler<E, K>>(&mut self, handler: &mut H) -> Result<(), SkipError> {
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
    pub fn flush_held<H: Handler<E, K>>(&mut self, handler: &mut H) -> Result<(), SkipError> {
        for slot in 0..self.keys.len() {
            let Some(mut state) = self.keys[slot].take() else { continue };
            let mut result = Ok(());
            for (i, p) in self.patterns.iter().enumerate() {
                if !p.active || result.is_err() {
                    continue;
                }
                let mut out = Emit { handler, pattern: PatternId(i as u32), key: &state.key, timestamp: self.watermark, matches: 0, timeouts: 0 };
                result = state.patterns[i].runs.flush_held(&p.nfa, &mut state.buffer, &mut self.scratch, &mut out);
                self.counters.matches += out.matches;
            }
            self.keys[slot] = Some(state);
            result?;
        }
        Ok(())
    }

    fn slot_for(&mut self, key: K) -> usize {
        if let Some(&slot) = self.index.get(&key) {
            return slot;
        }
        let state = match self.recycled.pop() {
            Some(mut s) => {
                s.key = key.clone();
                s
            }
            None => KeyState {
                key: key.clone(),
                buffer: SharedBuffer::new(),
                patterns: self.patterns.iter().map(|p| PatternKeyState::new(&p.nfa)).collect(),
                pending: Vec::new(),
                due: None,
                live_partial: 0,
            },
        };
        let slot = match self.free_slots.pop() {
            Some(slot) => {
                self.keys[slot] = Some(state);
                slot
            }
            None => {
                self.keys.push(Some(state));
                self.keys.len() - 1
            }
        };
        self.index.insert(key, slot);
        slot
    }

    /// Processes a key up to `now`: buffered events at or below it in
    /// order (event time) or the given event (processing time), then
    /// expires windows at `now`, then re-arms the key's timer or drops the
    /// key when it holds nothing.
    fn run_key<H: Handler<E, K>>(
        &mut self,
        slot: usize,
        direct: Option<(i64, E)>,
        now: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        // OK because callers pass live slots.
        let mut state = self.keys[slot].take().expect("live key");
        let result = self.step_key(&mut state, direct, now, handler);
        let mut live = 0;
        let mut due = state.pending.first().map(|(t, _)| *t);
        for p in &state.patterns {
            live += p.runs.partial_count() as u64;
            if let Some(&t) = p.timers.first() {
                due = Some(due.map_or(t, |d: i64| d.min(t)));
            }
        }
        self.counters.partial_matches = self.counters.partial_matches + live - state.live_partial;
        state.live_partial = live;
        self.counters.peak_partial_matches =
            self.counters.peak_partial_matches.max(self.counters.partial_matches);
        // Timers may remain: Flink would visit the key, but with only start
        // runs left a visit changes nothing.
        let idle = state.pending.is_empty()
            && state.buffer.is_empty()
            && state.patterns.iter().all(|p| p.runs.is_idle());
        if idle {
            self.index.remove(&state.key);
            self.free_slots.push(slot);
            if self.recycled.len() < RECYCLE_LIMIT {
                state.due = None;
                state.live_partial = 0;
                self.recycled.push(state);
            }
        } else {
            if due != state.due {
                if let Some(d) = due {
                    self.timers.push(Reverse((d, slot)));
                }
            }
            state.due = due;
            self.keys[slot] = Some(state);
        }
        result
    }

    /// One visit of a key, as Flink's `onEventTime` (or, for a direct
    /// event, `processElement` in processing time) would make it: each
    /// pattern is advanced only when Flink's operator for it would be
    /// woken, because previous-and-current windows expire only then.
    fn step_key<H: Handler<E, K>>(
        &mut self,
        state: &mut KeyState<E, K>,
        direct: Option<(i64, E)>,
        now: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        for p in &mut state.patterns {
            p.new_start = false;
        }
        if let Some((ts, event)) = direct {
            self.advance_runs(state, ts, None, handler)?;
            return self.process_event(state, event, ts, handler);
        }
        let ready = state.pending.partition_point(|(t, _)| *t <= now);
        if ready > 0 {
            self.counters.buffered -= ready as u64;
            // Taken out so the events can be moved while the rest of the
            // key's state is borrowed; put back (allocation kept) after.
            let mut pending = std::mem::take(&mut state.pending);
            let mut last_ts = None;
            let mut result = Ok(());
            for (ts, event) in pending.drain(..ready) {
                if result.is_err() {
                    break;
                }
                if last_ts != Some(ts) {
                    result = self.advance_runs(state, ts, None, handler);
                    last_ts = Some(ts);
                }
                if result.is_ok() {
                    result = self.process_event(state, event, ts, handler);
                }
            }
            state.pending = pending;
            result?;
        }
        // Event timers wake every pattern; window timers only their own.
        let woken: SmallVec<[bool; 8]> = state
            .patterns
            .iter_mut()
            .map(|p| p.fire_timers(now) || ready > 0)
            .collect();
        self.advance_runs(state, now, Some(&woken), handler)
    }

    fn advance_runs<H: Handler<E, K>>(
        &mut self,
        state: &mut KeyState<E, K>,
        ts: i64,
        only: Option<&[bool]>,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        for (i, p) in self.patterns.iter().enumerate() {
            if !p.active || only.is_some_and(|o| !o[i]) {
                continue;
            }
            let mut out = Emit { handler, pattern: PatternId(i as u32), key: &state.key, timestamp: ts, matches: 0, timeouts: 0 };
            state.patterns[i].runs.advance_time(&p.nfa, &mut state.buffer, &mut self.scratch, ts, p.options.timeouts, &mut out)?;
            self.counters.matches += out.matches;
            self.counters.timeouts += out.timeouts;
        }
        Ok(())
    }

    fn process_event<H: Handler<E, K>>(
        &mut self,
        state: &mut KeyState<E, K>,
        event: E,
        ts: i64,
        handler: &mut H,
    ) -> Result<(), SkipError> {
        let mut incoming = Incoming::new(event, ts);
        let mut result = Ok(());
        for (i, p) in self.patterns.iter().enumerate() {
            if !p.active || result.is_err() {
                continue;
            }
            let mut out = Emit { handler, pattern: PatternId(i as u32), key: &state.key, timestamp: ts, matches: 0, timeouts: 0 };
            let ps = &mut state.patterns[i];
            result = ps.runs.process(&p.nfa, &mut state.buffer, &mut self.scratch, &mut incoming, &mut out).map(|new_start| {
                // Flink's processEvent: once a visit has started a partial
                // match, every later event of the visit sets a window
                // timer (processing time: one millisecond later).
                ps.new_start |= new_start;
                if let Some(window) = p.nfa.window().filter(|_| ps.new_start) {
                    let delay = if self.mode == TimeMode::ProcessingTime { 1 } else { 0 };
                    ps.add_timer(ts.saturating_add(window).saturating_add(delay));
                }
            });
            self.counters.matches += out.matches;
        }
        incoming.finish(&mut state.buffer);
        result
    }
}
