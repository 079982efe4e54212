//! The consuming builder users write patterns with.

use std::time::Duration;

use super::condition::Condition;
use super::quantifier::{Connect, SkipStrategy, WithinType};
use super::validate;
use super::{Pattern, PatternError};
use crate::nfa::Context;

/// The quantifier call as the user made it, kept until `build` so that
/// validation sees it as Flink's API did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RepeatCall {
    Times(i64),
    TimesRange(i64, i64),
    TimesOrMore(i64),
    OneOrMore,
}

pub(crate) enum Body<E> {
    Events(Option<Condition<E>>),
    Group(PatternBuilder<E>),
}

pub(crate) struct StageDraft<E> {
    pub(crate) name: String,
    pub(crate) connect: Connect,
    pub(crate) body: Body<E>,
    pub(crate) repeat: Vec<RepeatCall>,
    pub(crate) consecutive: u32,
    pub(crate) combinations: u32,
    pub(crate) optional: u32,
    pub(crate) greedy: bool,
    pub(crate) until: Vec<Condition<E>>,
    pub(crate) within_first_and_last: Option<i64>,
    pub(crate) within_previous_and_current: Option<i64>,
    pub(crate) condition_on_group: bool,
}

/// Builds a [`Pattern`] one stage at a time, like Flink's `Pattern` API.
///
/// Methods that configure a stage (conditions, quantifiers, `within`)
/// apply to the most recently added stage. Mistakes are reported by
/// [`build`](PatternBuilder::build), naming the stage and the rule.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cepflow::{Pattern, SkipStrategy};
///
/// let pattern = Pattern::<&str>::begin("fail")
///     .when(|e| *e == "fail")
///     .times(3)
///     .followed_by("success")
///     .when(|e| *e == "success")
///     .within(Duration::from_secs(60))
///     .skip(SkipStrategy::SkipPastLastEvent)
///     .build()?;
/// assert_eq!(pattern.stage_names().count(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PatternBuilder<E> {
    pub(crate) stages: Vec<StageDraft<E>>,
    pub(crate) skip: SkipStrategy,
}

impl<E> std::fmt::Debug for PatternBuilder<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PatternBuilder")
            .field(
                "stages",
                &self.stages.iter().map(|s| &s.name).collect::<Vec<_>>(),
            )
            .field("skip", &self.skip)
            .finish()
    }
}

impl<E: 'static> Pattern<E> {
    /// Starts a pattern with its first stage (Flink's `Pattern.begin`).
    pub fn begin(name: impl Into<String>) -> PatternBuilder<E> {
        PatternBuilder { stages: Vec::new(), skip: SkipStrategy::NoSkip }.push(
            name.into(),
            Connect::Begin,
            Body::Events(None),
        )
    }

    /// Starts a pattern whose first stage is a group (Flink's
    /// `Pattern.begin(Pattern)`).
    pub fn begin_group(
        name: impl Into<String>,
        group: PatternBuilder<E>,
    ) -> PatternBuilder<E> {
        PatternBuilder { stages: Vec::new(), skip: SkipStrategy::NoSkip }.push(
            name.into(),
            Connect::Begin,
            Body::Group(group),
        )
    }
}

impl<E: 'static> PatternBuilder<E> {
    fn push(mut self, name: String, connect: Connect, body: Body<E>) -> Self {
        self.stages.push(StageDraft {
            name,
            connect,
            body,
            repeat: Vec::new(),
            consecutive: 0,
            combinations: 0,
            optional: 0,
            greedy: false,
            until: Vec::new(),
            within_first_and_last: None,
            within_previous_and_current: None,
            condition_on_group: false,
        });
        self
    }

    fn last(&mut self) -> &mut StageDraft<E> {
        // OK because every builder starts with `begin`, which pushes.
        self.stages.last_mut().expect("a builder always has a stage")
    }

    fn add_condition(mut self, cond: Condition<E>, or: bool) -> Self {
        let stage = self.last();
        if let Body::Events(existing) = &mut stage.body {
            *existing = Some(match existing.take() {
                None => cond,
                Some(prev) if or => prev.or(cond),
                Some(prev) => prev.and(cond),
            });
        } else {
            // A group takes no condition; `build` reports it.
            stage.condition_on_group = true;
        }
        self
    }

    /// Appends a stage with strict contiguity (Flink's `next`).
    pub fn next(self, name: impl Into<String>) -> Self {
        self.push(name.into(), Connect::Next, Body::Events(None))
    }

    /// Appends a stage with relaxed contiguity (Flink's `followedBy`).
    pub fn followed_by(self, name: impl Into<String>) -> Self {
        self.push(name.into(), Connect::FollowedBy, Body::Events(None))
    }

    /// Appends a stage with non-deterministic relaxed contiguity (Flink's
    /// `followedByAny`).
    pub fn followed_by_any(self, name: impl Into<String>) -> Self {
        self.push(name.into(), Connect::FollowedByAny, Body::Events(None))
    }

    /// Appends a negation: the event right after must not match (Flink's
    /// `notNext`).
    pub fn not_next(self, name: impl Into<String>) -> Self {
        self.push(name.into(), Connect::NotNext, Body::Events(None))
    }

    /// Appends a negation: no matching event may come before the next
    /// stage's event (Flink's `notFollowedBy`). As the last stage it needs
    /// a `within` window.
    pub fn not_followed_by(self, name: impl Into<String>) -> Self {
        self.push(name.into(), Connect::NotFollowedBy, Body::Events(None))
    }

    /// Appends a group with strict contiguity (Flink's `next(Pattern)`).
    pub fn next_group(
        self,
        name: impl Into<String>,
        group: PatternBuilder<E>,
    ) -> Self {
        self.push(name.into(), Connect::Next, Body::Group(group))
    }

    /// Appends a group with relaxed contiguity (Flink's
    /// `followedBy(Pattern)`).
    pub fn followed_by_group(
        self,
        name: impl Into<String>,
        group: PatternBuilder<E>,
    ) -> Self {
        self.push(name.into(), Connect::FollowedBy, Body::Group(group))
    }

    /// Appends a group with non-deterministic relaxed contiguity (Flink's
    /// `followedByAny(Pattern)`).
    pub fn followed_by_any_group(
        self,
        name: impl Into<String>,
        group: PatternBuilder<E>,
    ) -> Self {
        self.push(name.into(), Connect::FollowedByAny, Body::Group(group))
    }

    /// Adds a condition on the event; several are and-ed (Flink's
    /// `where` with a `SimpleCondition`).
    #[doc(alias = "where")]
    pub fn when(self, f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.add_condition(Condition::simple(f), false)
    }

    /// Adds a condition that may read the partial match (Flink's `where`
    /// with an `IterativeCondition`).
    pub fn when_iterative(
        self,
        f: impl Fn(&E, &Context<'_, E>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.add_condition(Condition::iterative(f), false)
    }

    /// Adds a prebuilt [`Condition`], and-ed with the others.
    pub fn when_condition(self, cond: Condition<E>) -> Self {
        self.add_condition(cond, false)
    }

    /// Or-s a condition with the stage's conditions so far (Flink's `or`).
    pub fn or(self, f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        self.add_condition(Condition::simple(f), true)
    }

    /// Or-s a prebuilt [`Condition`] with the stage's conditions so far.
    pub fn or_condition(self, cond: Condition<E>) -> Self {
        self.add_condition(cond, true)
    }

    /// Narrows the stage to events of a subtype (Flink's `subtype`): only
    /// events for which `narrow` gives `Some` are taken.
    pub fn subtype<S: ?Sized + 'static>(
        self,
        narrow: impl Fn(&E) -> Option<&S> + Send + Sync + 'static,
    ) -> Self {
        self.add_condition(
            Condition::simple(move |e| narrow(e).is_some()),
            false,
        )
    }

    /// A condition on the subtype: events that narrow to `S` and satisfy
    /// `f`.
    pub fn when_subtype<S: ?Sized + 'static>(
        self,
        narrow: impl Fn(&E) -> Option<&S> + Send + Sync + 'static,
        f: impl Fn(&S) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.add_condition(
            Condition::simple(move |e| narrow(e).is_some_and(&f)),
            false,
        )
    }

    /// Stops a looping stage at the first event that satisfies `f`
    /// (Flink's `until`).
    pub fn until(
        self,
        f: impl Fn(&E) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.until_condition(Condition::simple(f))
    }

    /// Like [`until`](Self::until) with a prebuilt [`Condition`].
    pub fn until_condition(mut self, cond: Condition<E>) -> Self {
        self.last().until.push(cond);
        self
    }

    /// Records a quantifier call with unchecked numbers (the JSON spec's
    /// integers); `build` applies Flink's checks.
    pub(crate) fn repeat_call(mut self, call: RepeatCall) -> Self {
        self.last().repeat.push(call);
        self
    }

    /// The stage takes exactly `n` events (Flink's `times(n)`).
    pub fn times(mut self, n: u32) -> Self {
        self.last().repeat.push(RepeatCall::Times(i64::from(n)));
        self
    }

    /// The stage takes `from` to `to` events (Flink's `times(from, to)`);
    /// `from == 0` makes it optional, as in Flink.
    pub fn times_range(mut self, from: u32, to: u32) -> Self {
        self.last()
            .repeat
            .push(RepeatCall::TimesRange(i64::from(from), i64::from(to)));
        self
    }

    /// The stage takes `n` or more events (Flink's `timesOrMore(n)`).
    pub fn times_or_more(mut self, n: u32) -> Self {
        self.last().repeat.push(RepeatCall::TimesOrMore(i64::from(n)));
        self
    }

    /// The stage takes one or more events (Flink's `oneOrMore`).
    pub fn one_or_more(mut self) -> Self {
        self.last().repeat.push(RepeatCall::OneOrMore);
        self
    }

    /// The stage may be skipped (Flink's `optional`).
    pub fn optional(mut self) -> Self {
        self.last().optional += 1;
        self
    }

    /// A looping or times stage takes as many events as it can (Flink's
    /// `greedy`).
    pub fn greedy(mut self) -> Self {
        self.last().greedy = true;
        self
    }

    /// Strict contiguity inside a looping or times stage (Flink's
    /// `consecutive`).
    pub fn consecutive(mut self) -> Self {
        self.last().consecutive += 1;
        self
    }

    /// Non-deterministic relaxed contiguity inside a looping or times
    /// stage (Flink's `allowCombinations`).
    pub fn allow_combinations(mut self) -> Self {
        self.last().combinations += 1;
        self
    }

    /// Bounds the match from its first to its last event, exclusive
    /// (Flink's `within(Duration)` on this stage; the smallest such window
    /// of all stages wins).
    pub fn within(self, window: Duration) -> Self {
        self.within_type(window, WithinType::FirstAndLast)
    }

    /// Flink's `within(Duration, WithinType)` on this stage.
    pub fn within_type(self, window: Duration, kind: WithinType) -> Self {
        let ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        self.within_ms(ms, kind)
    }

    /// Like [`within_type`](Self::within_type) in milliseconds. A window
    /// of zero or less means no window.
    pub fn within_ms(mut self, ms: i64, kind: WithinType) -> Self {
        let stage = self.last();
        match kind {
            WithinType::FirstAndLast => stage.within_first_and_last = Some(ms),
            WithinType::PreviousAndCurrent => {
                stage.within_previous_and_current = Some(ms)
            }
        }
        self
    }

    /// Sets the after-match skip strategy (Flink passes it to `begin`).
    pub fn skip(mut self, strategy: SkipStrategy) -> Self {
        self.skip = strategy;
        self
    }

    /// Validates the pattern by Flink's rules and compiles its NFA.
    ///
    /// # Errors
    ///
    /// A [`PatternError`] naming the stage and the rule, for every
    /// pattern Flink's `Pattern` API or `NFACompiler` rejects (see
    /// `docs/semantics.md` for the list).
    pub fn build(self) -> Result<Pattern<E>, PatternError> {
        let def = validate::validate(self)?;
        Pattern::from_def(def)
    }
}
