//! The operator's window timers: one queue per pattern, in time order.
//!
//! A window timer is `ts + window` (Flink's `registerTimer` in the
//! pattern's operator), and event time only moves forward, so each
//! pattern's queue fills in order and is read from the front, with no
//! heap. With a watermark after every event most advances find nothing
//! due in most queues, so the time of each queue's first timer is kept
//! beside the queues (one contiguous array) and the earliest of them
//! too: an advance with nothing due costs one comparison, and one with
//! something due looks at each queue through one load.

use std::collections::VecDeque;

/// A timer in a pattern's queue: when, and which key (its slot, and the
/// generation of the key state that set it, so an entry outlives neither
/// the key's stay in the table nor the slot's reuse by another key).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct TimerEntry {
    pub(super) at: i64,
    pub(super) slot: usize,
    pub(super) generation: u64,
}

/// Every pattern's window timers.
#[derive(Clone, Debug)]
pub(super) struct TimerQueues {
    queues: Vec<VecDeque<TimerEntry>>,
    /// Per pattern, the time of its queue's first timer (`i64::MAX` when
    /// the queue is empty).
    fronts: Vec<i64>,
    /// No timer is due before this (a lower bound of `fronts`).
    next_due: i64,
}

impl Default for TimerQueues {
    fn default() -> Self {
        Self { queues: Vec::new(), fronts: Vec::new(), next_due: i64::MAX }
    }
}

impl TimerQueues {
    /// The queues of a snapshot (each already checked to be in order).
    pub(super) fn from_queues(queues: Vec<VecDeque<TimerEntry>>) -> Self {
        let fronts: Vec<i64> = queues.iter().map(front_at).collect();
        let next_due = fronts.iter().copied().min().unwrap_or(i64::MAX);
        Self { queues, fronts, next_due }
    }

    /// The queues, for a snapshot.
    pub(super) fn queues(&self) -> &[VecDeque<TimerEntry>] {
        &self.queues
    }

    /// An empty queue for a newly registered pattern.
    pub(super) fn add_pattern(&mut self) {
        self.queues.push(VecDeque::new());
        self.fronts.push(i64::MAX);
    }

    /// Queues a timer of pattern `p`, in time order.
    #[inline(always)]
    pub(super) fn push(&mut self, p: usize, entry: TimerEntry) {
        let queue = &mut self.queues[p];
        if queue.back().is_some_and(|b| b.at > entry.at) {
            insert_timer(queue, entry);
        } else {
            queue.push_back(entry);
        }
        let front = &mut self.fronts[p];
        *front = (*front).min(entry.at);
        self.next_due = self.next_due.min(entry.at);
    }

    /// Whether some timer may be due at `to`; when not, nothing is.
    #[inline]
    pub(super) fn any_due(&self, to: i64) -> bool {
        to >= self.next_due
    }

    /// How many patterns have queues.
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.fronts.len()
    }

    /// Whether pattern `p` has a timer due at `to`.
    #[inline]
    pub(super) fn due(&self, p: usize, to: i64) -> bool {
        self.fronts[p] <= to
    }

    /// Takes pattern `p`'s first timer if it is due at `to`.
    #[inline]
    pub(super) fn pop_due(&mut self, p: usize, to: i64) -> Option<TimerEntry> {
        if self.fronts[p] > to {
            return None;
        }
        let queue = &mut self.queues[p];
        let entry = queue.pop_front();
        self.fronts[p] = front_at(queue);
        entry
    }

    /// Recomputes the lower bound after timers were taken.
    pub(super) fn refresh_next_due(&mut self) {
        self.next_due = self.fronts.iter().copied().min().unwrap_or(i64::MAX);
    }

    /// Heap bytes held by the queues.
    pub(super) fn memory_usage(&self) -> usize {
        self.fronts.capacity() * std::mem::size_of::<i64>()
            + self
                .queues
                .iter()
                .map(|q| q.capacity() * std::mem::size_of::<TimerEntry>())
                .sum::<usize>()
    }
}

/// The time of a queue's first timer, `i64::MAX` when it is empty.
fn front_at(queue: &VecDeque<TimerEntry>) -> i64 {
    queue.front().map_or(i64::MAX, |e| e.at)
}

/// [`TimerQueues::push`] for a timer earlier than the last one queued:
/// only a clock that went back (processing time) gets here, so it is out
/// of line, and the common append inlines into its callers.
#[cold]
#[inline(never)]
fn insert_timer(queue: &mut VecDeque<TimerEntry>, entry: TimerEntry) {
    let i = queue.partition_point(|e| e.at <= entry.at);
    queue.insert(i, entry);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at: i64, slot: usize) -> TimerEntry {
        TimerEntry { at, slot, generation: 0 }
    }

    fn drain(timers: &mut TimerQueues, p: usize, to: i64) -> Vec<i64> {
        std::iter::from_fn(|| timers.pop_due(p, to)).map(|e| e.at).collect()
    }

    #[test]
    fn timers_come_out_due_and_in_time_order() {
        let mut timers = TimerQueues::default();
        timers.add_pattern();
        timers.add_pattern();
        assert!(!timers.any_due(i64::MAX - 1));
        timers.push(0, entry(30, 0));
        timers.push(0, entry(10, 1)); // a clock that went back
        timers.push(1, entry(20, 2));
        timers.push(0, entry(40, 3));
        assert!(!timers.any_due(9));
        assert!(timers.any_due(10));
        assert!(timers.due(0, 10) && !timers.due(1, 10));
        assert_eq!(drain(&mut timers, 0, 30), [10, 30]);
        assert_eq!(drain(&mut timers, 1, 30), [20]);
        timers.refresh_next_due();
        assert!(!timers.any_due(39));
        assert!(timers.due(0, 40) && !timers.due(1, i64::MAX - 1));
        assert_eq!(drain(&mut timers, 0, 100), [40]);
        timers.refresh_next_due();
        assert!(!timers.any_due(i64::MAX - 1));
    }

    #[test]
    fn queues_from_a_snapshot_know_their_first_timers() {
        let queues =
            vec![VecDeque::from([entry(5, 0), entry(7, 1)]), VecDeque::new()];
        let mut timers = TimerQueues::from_queues(queues);
        assert!(!timers.any_due(4) && timers.any_due(5));
        assert!(!timers.due(1, 100));
        assert_eq!(drain(&mut timers, 0, 6), [5]);
        assert_eq!(timers.queues()[0].len(), 1);
    }
}
