//! A borrowed view of a completed (or timed-out) match.

use super::buffer::SharedBuffer;
use crate::util::ids::{EventId, StageId};

/// A match, borrowed from the shared buffer: no event is copied.
///
/// Stages appear in the order they first took an event; each stage's
/// events in match order (Flink's `Map<String, List<T>>`).
pub struct Match<'a, E> {
    pub(crate) buffer: &'a SharedBuffer<E>,
    pub(crate) stage_names: &'a [String],
    pub(crate) path: &'a [(StageId, EventId)],
}

impl<'a, E> Match<'a, E> {
    /// Every event of the match in order, with its stage's name.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a E)> + '_ {
        self.path.iter().map(move |&(s, e)| {
            (self.stage_names[s.as_usize()].as_str(), self.buffer.event(e))
        })
    }

    /// Number of events in the match.
    pub fn len(&self) -> usize {
        self.path.len()
    }

    /// Whether the match has no events (only a timed-out run that took
    /// nothing could be empty; Flink never reports those).
    pub fn is_empty(&self) -> bool {
        self.path.is_empty()
    }

    /// The stages that took events, in the order they first did.
    pub fn stages(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.path.iter().enumerate().filter_map(move |(i, &(s, _))| {
            let first = self.path[..i].iter().all(|&(t, _)| t != s);
            first.then(|| self.stage_names[s.as_usize()].as_str())
        })
    }

    /// The events `stage` took, in match order.
    pub fn events<'s>(
        &'s self,
        stage: &'s str,
    ) -> impl Iterator<Item = &'a E> + 's {
        self.iter().filter(move |(s, _)| *s == stage).map(|(_, e)| e)
    }

    /// The match as owned data: stage name and its events, in order.
    pub fn to_owned_groups(&self) -> Vec<(String, Vec<E>)>
    where
        E: Clone,
    {
        self.stages()
            .map(|s| (s.to_owned(), self.events(s).cloned().collect()))
            .collect()
    }

    /// The timestamp of the first event of the match.
    pub fn first_timestamp(&self) -> Option<i64> {
        self.path.first().map(|&(_, e)| self.buffer.event_timestamp(e))
    }
}

impl<E: std::fmt::Debug> std::fmt::Debug for Match<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for s in self.stages() {
            m.entry(&s, &self.events(s).collect::<Vec<_>>());
        }
        m.finish()
    }
}
