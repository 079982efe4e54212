//! The handler trait and Flink's result functions as adapters.

use super::side::{OutputTag, SideOutputs};
use crate::nfa::Match;

/// What a handler may see and do besides the match (Flink's
/// `PatternProcessFunction.Context`).
pub struct MatchContext<'a, K> {
    pub(crate) key: &'a K,
    pub(crate) timestamp: i64,
    pub(crate) watermark: i64,
    pub(crate) side: &'a mut SideOutputs,
}

impl<K> std::fmt::Debug for MatchContext<'_, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatchContext")
            .field("timestamp", &self.timestamp)
            .field("watermark", &self.watermark)
            .finish()
    }
}

impl<'a, K> MatchContext<'a, K> {
    /// The key of the match.
    pub fn key(&self) -> &'a K {
        self.key
    }

    /// For a match, the timestamp of the event that completed it (or the
    /// time that released it); for a timeout, the moment it expired.
    pub fn timestamp(&self) -> i64 {
        self.timestamp
    }

    /// The current watermark (`i64::MIN` before the first).
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Sends a value to a side output (Flink's `ctx.output(tag, v)`).
    pub fn output<T: 'static>(&mut self, tag: &OutputTag<T>, value: T) {
        self.side.push(tag, value);
    }
}

/// Handles one pattern's results; the only interface the runtime calls.
pub trait PatternHandler<E, K> {
    /// A completed match.
    fn on_match(&mut self, m: &Match<'_, E>, ctx: &mut MatchContext<'_, K>);

    /// A partial match that timed out; ignored unless overridden.
    fn on_timeout(&mut self, m: &Match<'_, E>, ctx: &mut MatchContext<'_, K>) {
        let _ = (m, ctx);
    }

    /// Whether timed-out partial matches are wanted (otherwise the engine
    /// discards them without extracting them).
    fn wants_timeouts(&self) -> bool {
        false
    }
}

/// Flink's `select`: one result per match, given to `sink`.
pub fn select<E: 'static, K: 'static, R>(
    mut f: impl FnMut(&Match<'_, E>, &MatchContext<'_, K>) -> R + 'static,
    mut sink: impl FnMut(R) + 'static,
) -> Process<E, K> {
    Process::new(move |m: &Match<'_, E>, ctx: &mut MatchContext<'_, K>| {
        sink(f(m, ctx))
    })
}

/// Flink's `flatSelect`: any number of results per match.
pub fn flat_select<E: 'static, K: 'static, R: 'static>(
    mut f: impl FnMut(&Match<'_, E>, &MatchContext<'_, K>, &mut Vec<R>) + 'static,
    mut sink: impl FnMut(R) + 'static,
) -> Process<E, K> {
    let mut out = Vec::new();
    Process::new(move |m: &Match<'_, E>, ctx: &mut MatchContext<'_, K>| {
        f(m, ctx, &mut out);
        for r in out.drain(..) {
            sink(r);
        }
    })
}

/// Flink's `process`: full access to the context, side outputs included.
pub fn process<E: 'static, K: 'static>(
    f: impl FnMut(&Match<'_, E>, &mut MatchContext<'_, K>) + 'static,
) -> Process<E, K> {
    Process::new(f)
}

type MatchFn<E, K> = Box<dyn FnMut(&Match<'_, E>, &mut MatchContext<'_, K>)>;

/// A handler made of closures: one for matches and, optionally, one for
/// timeouts (Flink's `TimedOutPartialMatchHandler`).
pub struct Process<E, K> {
    on_match: MatchFn<E, K>,
    on_timeout: Option<MatchFn<E, K>>,
}

impl<E, K> std::fmt::Debug for Process<E, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Process")
            .field("timeouts", &self.on_timeout.is_some())
            .finish()
    }
}

impl<E, K> Process<E, K> {
    /// A handler for matches only.
    pub fn new(
        f: impl FnMut(&Match<'_, E>, &mut MatchContext<'_, K>) + 'static,
    ) -> Self
    where
        E: 'static,
        K: 'static,
    {
        Self { on_match: Box::new(f), on_timeout: None }
    }

    /// Also handles timed-out partial matches.
    pub fn on_timeout(
        mut self,
        f: impl FnMut(&Match<'_, E>, &mut MatchContext<'_, K>) + 'static,
    ) -> Self {
        self.on_timeout = Some(Box::new(f));
        self
    }
}

impl<E, K> PatternHandler<E, K> for Process<E, K> {
    fn on_match(&mut self, m: &Match<'_, E>, ctx: &mut MatchContext<'_, K>) {
        (self.on_match)(m, ctx)
    }

    fn on_timeout(&mut self, m: &Match<'_, E>, ctx: &mut MatchContext<'_, K>) {
        if let Some(f) = &mut self.on_timeout {
            f(m, ctx)
        }
    }

    fn wants_timeouts(&self) -> bool {
        self.on_timeout.is_some()
    }
}
