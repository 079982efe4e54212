//! What an iterative condition sees: the partial match so far.

use super::buffer::SharedBuffer;
use crate::util::ids::{NodeId, StageId};

/// A read-only view of the partial match a condition is evaluated for
/// (Flink's `IterativeCondition.Context`), without copying or allocating.
///
/// Stages are named by [`StageId`] (fast) or by name (a short linear
/// search). The events a stage has taken come newest first: the partial
/// match is stored as a backward chain, so that order costs nothing.
pub struct Context<'a, E> {
    pub(crate) buffer: &'a SharedBuffer<E>,
    pub(crate) node: Option<NodeId>,
    pub(crate) stage_names: &'a [String],
    pub(crate) timestamp: i64,
}

/// A way to name a stage: its [`StageId`] or its name.
pub trait StageKey {
    /// Resolves the key against the pattern's stage names.
    fn resolve(&self, names: &[String]) -> Option<StageId>;
}

impl StageKey for StageId {
    #[inline]
    fn resolve(&self, names: &[String]) -> Option<StageId> {
        (self.as_usize() < names.len()).then_some(*self)
    }
}

impl StageKey for &str {
    fn resolve(&self, names: &[String]) -> Option<StageId> {
        names.iter().position(|n| n == self).and_then(StageId::new)
    }
}

impl StageKey for String {
    fn resolve(&self, names: &[String]) -> Option<StageId> {
        self.as_str().resolve(names)
    }
}

impl<'a, E> Context<'a, E> {
    /// The timestamp of the event being evaluated (Flink's
    /// `ctx.timestamp()`).
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The events `stage` has taken so far in this partial match, newest
    /// first (Flink's `getEventsForPattern`, reversed). For the stage being
    /// evaluated, the current event is not among them. A group stage takes
    /// no events itself; its members do.
    pub fn events_rev(
        &self,
        stage: impl StageKey,
    ) -> impl Iterator<Item = &'a E> + 'a {
        let stage = stage.resolve(self.stage_names);
        let buffer = self.buffer;
        buffer
            .walk(self.node)
            .filter(move |(s, _)| Some(*s) == stage)
            .map(move |(_, e)| buffer.event(e))
    }

    /// The events taken by any stage so far, newest first, with their
    /// stage.
    pub fn all_events_rev(
        &self,
    ) -> impl Iterator<Item = (StageId, &'a E)> + 'a {
        let buffer = self.buffer;
        buffer.walk(self.node).map(move |(s, e)| (s, buffer.event(e)))
    }

    /// The most recent event `stage` has taken.
    pub fn last(&self, stage: impl StageKey) -> Option<&'a E> {
        self.events_rev(stage).next()
    }

    /// The first event `stage` took.
    pub fn first(&self, stage: impl StageKey) -> Option<&'a E> {
        let stage = stage.resolve(self.stage_names)?;
        let (root_stage, root_event) = self.buffer.root(self.node?);
        if root_stage == stage {
            // The match's first event: no walk.
            return Some(self.buffer.event(root_event));
        }
        self.events_rev(stage).last()
    }

    /// How many events `stage` has taken.
    pub fn count(&self, stage: impl StageKey) -> usize {
        self.events_rev(stage).count()
    }
}

impl<E> std::fmt::Debug for Context<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("timestamp", &self.timestamp)
            .field("node", &self.node)
            .finish()
    }
}
