//! Snapshots of a [`KeyedOperator`]'s keyed state, and restoring them
//! (Flink's checkpoints and savepoints of the CEP operator's state).
//!
//! A snapshot holds everything the operator holds except its patterns:
//! closures cannot be serialised, so a snapshot is restored into an
//! operator that has the same patterns registered in the same order.
//! Each pattern's automaton *structure* (states, edges, stage names,
//! windows, skip strategy) is recorded and must match; its conditions may
//! change, as in Flink, where a savepoint keeps the NFA states by name and
//! the conditions are code.
//!
//! A snapshot read from outside is not trusted: restoring checks every
//! reference and count that stepping relies on, so a damaged snapshot is
//! an error, never a panic or a wrong answer later.

use std::collections::VecDeque;
use std::fmt;
use std::hash::Hash;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use super::{
    Counters, KeyState, KeyedOperator, PatternCounters, TimeMode, TimerEntry,
    TimerQueues,
};
use crate::nfa::{Holder, Scratch, SharedBuffer};

/// The snapshot layout this version writes and reads.
const FORMAT: u32 = 1;

/// A copy of a [`KeyedOperator`]'s state: keys and their partial matches,
/// the shared events, buffered (not yet released) events, window timers,
/// the watermark and the counters. Serialise it with any serde format;
/// restore it with [`KeyedOperator::restore`].
///
/// ```
/// use cepflow::runtime::{Handler, KeyedOperator, OperatorSnapshot, PatternId, TimeMode};
/// use cepflow::{Match, Pattern};
///
/// struct Count(usize);
/// impl Handler<i32, String> for Count {
///     fn on_match(&mut self, _: PatternId, _: &String, _: &Match<'_, i32>, _: i64) {
///         self.0 += 1;
///     }
/// }
///
/// let p = Pattern::<i32>::begin("a").when(|x| *x < 0)
///     .followed_by("b").when(|x| *x > 0).build()?;
/// let mut op = KeyedOperator::new(TimeMode::EventTime);
/// op.add_pattern(&p, Default::default());
/// let mut count = Count(0);
/// op.push_and_advance("k".to_string(), -1, 10, 10, &mut count)?;
///
/// // The partial match [-1] survives a stop and a restart.
/// let saved = serde_json::to_string(&op.snapshot())?;
/// let mut restarted = KeyedOperator::new(TimeMode::EventTime);
/// restarted.add_pattern(&p, Default::default());
/// let snapshot: OperatorSnapshot<i32, String> = serde_json::from_str(&saved)?;
/// restarted.restore(snapshot)?;
/// restarted.push_and_advance("k".to_string(), 5, 11, 11, &mut count)?;
/// assert_eq!(count.0, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "E: Serialize, K: Serialize",
        deserialize = "E: Deserialize<'de>, K: Deserialize<'de>"
    ),
    deny_unknown_fields
)]
pub struct OperatorSnapshot<E, K> {
    format: u32,
    mode: TimeMode,
    patterns: Vec<PatternShape>,
    watermark: i64,
    visit: u64,
    next_generation: u64,
    counters: Counters,
    buffer: SharedBuffer<E>,
    keys: Vec<Option<Box<KeyState<K>>>>,
    free_slots: Vec<usize>,
    reorder: VecDeque<(i64, K, E)>,
    timer_queues: Vec<VecDeque<TimerEntry>>,
}

/// What a snapshot records of a registered pattern.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatternShape {
    active: bool,
    automaton: Vec<String>,
    /// What the pattern emitted (absent from the first snapshots, which
    /// did not count per pattern).
    #[serde(default)]
    emitted: PatternCounters,
}

impl<E, K> OperatorSnapshot<E, K> {
    /// The watermark (or clock) when the snapshot was taken.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Keys holding partial matches.
    pub fn key_count(&self) -> usize {
        self.keys.iter().flatten().count()
    }

    /// Events waiting for the watermark.
    pub fn buffered_events(&self) -> usize {
        self.reorder.len()
    }

    /// Every key the snapshot holds state or buffered events for (a key
    /// may come more than once).
    pub(crate) fn held_keys(&self) -> impl Iterator<Item = &K> + '_ {
        let states = self.keys.iter().flatten().map(|k| &k.key);
        states.chain(self.reorder.iter().map(|(_, k, _)| k))
    }

    /// The operator's counters when the snapshot was taken.
    pub fn counters(&self) -> Counters {
        let mut c = self.counters;
        c.keys = self.key_count() as u64;
        c.buffered = self.reorder.len() as u64;
        c
    }
}

/// Why [`KeyedOperator::restore`] refused a snapshot. The operator is
/// left as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RestoreError {
    /// Written in a layout this version does not read.
    Format {
        /// The snapshot's layout version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The snapshot was taken on the other clock.
    TimeMode {
        /// The snapshot's mode.
        snapshot: TimeMode,
        /// This operator's mode.
        operator: TimeMode,
    },
    /// The operator has a different number of patterns (registered or
    /// removed) than the snapshot.
    PatternCount {
        /// Patterns in the snapshot.
        snapshot: usize,
        /// Patterns in this operator.
        operator: usize,
    },
    /// A pattern differs from the snapshot's.
    Pattern {
        /// The pattern's position in registration order.
        pattern: usize,
        /// How it differs.
        reason: String,
    },
    /// The snapshot's state is inconsistent: damaged, or not written by
    /// cepflow.
    Corrupt {
        /// What is wrong, and where.
        reason: String,
    },
}

impl fmt::Display for RestoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RestoreError::Format { found, supported } => write!(
                f,
                "snapshot format {found} is not supported (this build reads \
                 format {supported})"
            ),
            RestoreError::TimeMode { snapshot, operator } => write!(
                f,
                "the snapshot was taken in {snapshot:?}, this operator runs \
                 in {operator:?}"
            ),
            RestoreError::PatternCount { snapshot, operator } => write!(
                f,
                "the snapshot has {snapshot} patterns, this operator has \
                 {operator}: register the same patterns in the same order"
            ),
            RestoreError::Pattern { pattern, reason } => {
                write!(f, "pattern {pattern}: {reason}")
            }
            RestoreError::Corrupt { reason } => {
                write!(f, "the snapshot is damaged: {reason}")
            }
        }
    }
}

impl std::error::Error for RestoreError {}

fn corrupt(reason: impl Into<String>) -> RestoreError {
    RestoreError::Corrupt { reason: reason.into() }
}

impl<E, K: Hash + Eq + Clone> KeyedOperator<E, K> {
    /// A copy of the operator's state (not its patterns), to serialise
    /// and later [`restore`](Self::restore). Take it between calls; it
    /// costs a copy of the keyed state ([`memory_usage`](Self::memory_usage)
    /// tells how large that is).
    pub fn snapshot(&self) -> OperatorSnapshot<E, K>
    where
        E: Clone,
    {
        OperatorSnapshot {
            format: FORMAT,
            mode: self.mode,
            patterns: self
                .patterns
                .iter()
                .zip(&self.emitted)
                .map(|(p, &emitted)| PatternShape {
                    active: p.active,
                    automaton: p.nfa.structure(),
                    emitted,
                })
                .collect(),
            watermark: self.watermark,
            visit: self.visit,
            next_generation: self.next_generation,
            counters: self.counters(),
            buffer: self.buffer.clone(),
            keys: self.keys.clone(),
            free_slots: self.free_slots.clone(),
            reorder: self.reorder.clone(),
            timer_queues: self.timers.queues().to_vec(),
        }
    }

    /// Replaces the operator's state with a snapshot's. The operator must
    /// run on the same clock and have the same patterns, registered (and
    /// removed) in the same order; conditions may differ, the automaton's
    /// structure may not. Afterwards the operator continues exactly as
    /// the one the snapshot was taken from would have.
    ///
    /// # Errors
    ///
    /// [`RestoreError`] when the snapshot does not fit this operator or is
    /// inconsistent; the operator is then left as it was.
    pub fn restore(
        &mut self,
        mut snapshot: OperatorSnapshot<E, K>,
    ) -> Result<(), RestoreError> {
        self.check_fits(&snapshot)?;
        let index = self.check_keys(&mut snapshot)?;
        check_queues(&snapshot)?;
        let s = snapshot;
        let live = s.keys.iter().flatten().map(|k| k.live_partial).sum();
        self.index = index;
        self.buffer = s.buffer;
        self.keys = s.keys;
        self.free_slots = s.free_slots;
        self.recycled.clear();
        self.reorder = s.reorder;
        self.timers = TimerQueues::from_queues(s.timer_queues);
        self.next_generation = s.next_generation;
        self.watermark = s.watermark;
        self.visit = s.visit;
        self.touched.clear();
        self.scratch = Scratch::new();
        self.emitted = s.patterns.iter().map(|p| p.emitted).collect();
        // Whatever the patterns' counts do not explain was emitted by
        // patterns replaced before the snapshot (or, from a snapshot that
        // did not count per pattern, by all of them).
        let explained = self
            .emitted
            .iter()
            .fold(PatternCounters::default(), PatternCounters::with_emitted);
        self.retired = PatternCounters {
            matches: s.counters.matches.saturating_sub(explained.matches),
            timeouts: s.counters.timeouts.saturating_sub(explained.timeouts),
            partial_matches: 0,
        };
        self.counters = Counters {
            partial_matches: live,
            peak_partial_matches: s.counters.peak_partial_matches.max(live),
            ..s.counters
        };
        Ok(())
    }

    /// The snapshot was taken from an operator like this one.
    fn check_fits(
        &self,
        snapshot: &OperatorSnapshot<E, K>,
    ) -> Result<(), RestoreError> {
        if snapshot.format != FORMAT {
            return Err(RestoreError::Format {
                found: snapshot.format,
                supported: FORMAT,
            });
        }
        if snapshot.mode != self.mode {
            return Err(RestoreError::TimeMode {
                snapshot: snapshot.mode,
                operator: self.mode,
            });
        }
        if snapshot.patterns.len() != self.patterns.len() {
            return Err(RestoreError::PatternCount {
                snapshot: snapshot.patterns.len(),
                operator: self.patterns.len(),
            });
        }
        for (i, (saved, ours)) in
            snapshot.patterns.iter().zip(&self.patterns).enumerate()
        {
            let differs =
                |reason: String| RestoreError::Pattern { pattern: i, reason };
            match (saved.active, ours.active) {
                (true, false) => {
                    return Err(differs(
                        "removed here, not in the snapshot".into(),
                    ))
                }
                (false, true) => {
                    return Err(differs(
                        "removed in the snapshot, not here".into(),
                    ))
                }
                (false, false) => continue,
                (true, true) => {}
            }
            let structure = ours.nfa.structure();
            if let Some((line, (a, b))) = saved
                .automaton
                .iter()
                .zip(&structure)
                .enumerate()
                .find(|(_, (a, b))| a != b)
            {
                return Err(differs(format!(
                    "its automaton differs at line {}: the snapshot has \
                     `{}`, this operator `{}`",
                    line + 1,
                    a.trim(),
                    b.trim()
                )));
            }
            if saved.automaton.len() != structure.len() {
                return Err(differs(format!(
                    "its automaton has {} lines in the snapshot, {} here",
                    saved.automaton.len(),
                    structure.len()
                )));
            }
        }
        Ok(())
    }

    /// Checks every key's runs and the shared buffer they hold chains in,
    /// recomputes what is derived from the runs, and builds the key index.
    fn check_keys(
        &self,
        snapshot: &mut OperatorSnapshot<E, K>,
    ) -> Result<HashMap<K, usize>, RestoreError> {
        let mut index = HashMap::new();
        let mut holders = Vec::new();
        let patterns = self.patterns.len();
        for (slot, state) in snapshot.keys.iter_mut().enumerate() {
            let Some(state) = state else { continue };
            let at =
                |reason: String| corrupt(format!("key slot {slot}: {reason}"));
            if state.runs.len() != patterns {
                return Err(at(format!(
                    "runs of {} patterns, the operator has {patterns}",
                    state.runs.len()
                )));
            }
            if state.generation >= snapshot.next_generation
                || state.visit > snapshot.visit
            {
                return Err(at("from the future".into()));
            }
            state.busy.clear();
            state.live_partial = 0;
            for (i, runs) in state.runs.iter_mut().enumerate() {
                let pattern = &self.patterns[i];
                if !pattern.active && !runs.is_idle() {
                    return Err(at(format!("runs of removed pattern {i}")));
                }
                runs.check_restored(&pattern.nfa)
                    .map_err(|e| at(format!("pattern {i}: {e}")))?;
                state.busy.set(i, !runs.is_idle());
                state.live_partial += runs.partial_count() as u64;
                let stages = pattern.nfa.stage_names().len();
                holders.extend(runs.held_nodes().map(|node| Holder {
                    node,
                    pattern: i,
                    stages,
                }));
            }
            let bound = state.next_expiry;
            state.refresh_expiry();
            state.next_expiry = state.next_expiry.min(bound);
            if index.insert(state.key.clone(), slot).is_some() {
                return Err(at("the key is in another slot too".into()));
            }
        }
        snapshot.buffer.check_restored(&holders).map_err(corrupt)?;
        Ok(index)
    }
}

/// The free slots, the timer queues and the reorder buffer are what the
/// operator keeps them as.
fn check_queues<E, K>(s: &OperatorSnapshot<E, K>) -> Result<(), RestoreError> {
    let mut free = vec![false; s.keys.len()];
    for &slot in &s.free_slots {
        if s.keys.get(slot).is_none_or(Option::is_some) || free[slot] {
            return Err(corrupt(format!("free slot {slot} is not free")));
        }
        free[slot] = true;
    }
    if s.keys.iter().filter(|k| k.is_none()).count() != s.free_slots.len() {
        return Err(corrupt("an empty key slot is not in the free list"));
    }
    if s.timer_queues.len() != s.patterns.len() {
        return Err(corrupt("timer queues do not match the patterns"));
    }
    for (p, queue) in s.timer_queues.iter().enumerate() {
        if !queue.iter().is_sorted_by_key(|e| e.at) {
            return Err(corrupt(format!(
                "pattern {p}'s timers are out of order"
            )));
        }
    }
    let in_order = s.reorder.iter().is_sorted_by_key(|e| e.0);
    let waiting = s.reorder.front().is_none_or(|e| e.0 > s.watermark);
    let buffers = s.mode == TimeMode::EventTime || s.reorder.is_empty();
    if !(in_order && waiting && buffers) {
        return Err(corrupt(
            "buffered events are out of order or already due",
        ));
    }
    Ok(())
}
