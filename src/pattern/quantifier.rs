//! Contiguity, quantifiers, windows and skip strategies: plain data.

/// How a stage's events may be separated from the events before them
/// (Flink's `ConsumingStrategy`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Contiguity {
    /// No event may come between (Flink's `STRICT`: `next`,
    /// `consecutive`).
    Strict,
    /// Events that do not match are skipped (Flink's `SKIP_TILL_NEXT`:
    /// `followedBy`, the default inside loops).
    Relaxed,
    /// Any event may be skipped, matching ones too, so every combination
    /// is tried (Flink's `SKIP_TILL_ANY`: `followedByAny`,
    /// `allowCombinations`).
    NonDeterministicRelaxed,
}

/// How a stage is joined to the stage before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Connect {
    /// The first stage (Flink's `begin`); behaves as relaxed.
    Begin,
    /// Strict contiguity (Flink's `next`).
    Next,
    /// Relaxed contiguity (Flink's `followedBy`).
    FollowedBy,
    /// Non-deterministic relaxed contiguity (Flink's `followedByAny`).
    FollowedByAny,
    /// The next event must not match (Flink's `notNext`).
    NotNext,
    /// No matching event may come before the following stage's event
    /// (Flink's `notFollowedBy`).
    NotFollowedBy,
}

impl Connect {
    /// Whether this is a negation (`not_next` / `not_followed_by`).
    pub fn is_negation(self) -> bool {
        matches!(self, Connect::NotNext | Connect::NotFollowedBy)
    }

    /// The contiguity the stage has with its predecessor.
    pub(crate) fn contiguity(self) -> Contiguity {
        match self {
            Connect::Next => Contiguity::Strict,
            Connect::FollowedByAny => Contiguity::NonDeterministicRelaxed,
            _ => Contiguity::Relaxed,
        }
    }

    /// The name used in the JSON spec and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Connect::Begin => "begin",
            Connect::Next => "next",
            Connect::FollowedBy => "followed_by",
            Connect::FollowedByAny => "followed_by_any",
            Connect::NotNext => "not_next",
            Connect::NotFollowedBy => "not_followed_by",
        }
    }
}

/// How often a stage matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Repeat {
    /// Exactly once (Flink's `SINGLE`).
    Once,
    /// Between `from` and `to` times, both inclusive (Flink's `times`).
    Times {
        /// Least number of events.
        from: u32,
        /// Largest number of events.
        to: u32,
    },
    /// At least `from` times (Flink's `timesOrMore`, `oneOrMore`).
    AtLeast {
        /// Least number of events.
        from: u32,
    },
}

impl Repeat {
    /// Whether the stage loops (takes any number of events).
    pub fn is_looping(self) -> bool {
        matches!(self, Repeat::AtLeast { .. })
    }

    /// Flink's `Times` of the quantifier: `None` for a single stage.
    pub(crate) fn times(self) -> Option<(u32, u32)> {
        match self {
            Repeat::Once => None,
            Repeat::Times { from, to } => Some((from, to)),
            Repeat::AtLeast { from } => Some((from, from)),
        }
    }
}

/// Which gap a `within` window bounds (Flink's `WithinType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum WithinType {
    /// From the first event of the match to the last (the default).
    #[default]
    FirstAndLast,
    /// From the previous event of the match to the one this stage takes.
    /// As in Flink, honoured only on stages without a quantifier.
    PreviousAndCurrent,
}

/// What happens to other partial matches after a match is emitted
/// (Flink's `AfterMatchSkipStrategy`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum SkipStrategy {
    /// Keep every partial match (`noSkip`, the default).
    #[default]
    NoSkip,
    /// Drop partial matches that started with the match's first event
    /// (`skipToNext`).
    SkipToNext,
    /// Drop partial matches that started within the match
    /// (`skipPastLastEvent`).
    SkipPastLastEvent,
    /// Drop partial matches that started before the first event of the
    /// named stage (`skipToFirst`).
    SkipToFirst {
        /// The stage to skip to.
        stage: String,
        /// Fail instead of ignoring a match that has no such event
        /// (`throwExceptionOnMiss`).
        throw_on_miss: bool,
    },
    /// Drop partial matches that started before the last event of the
    /// named stage (`skipToLast`).
    SkipToLast {
        /// The stage to skip to.
        stage: String,
        /// Fail instead of ignoring a match that has no such event
        /// (`throwExceptionOnMiss`).
        throw_on_miss: bool,
    },
}

impl SkipStrategy {
    /// `skip_to_first(stage)` without throw-on-miss.
    pub fn skip_to_first(stage: impl Into<String>) -> Self {
        SkipStrategy::SkipToFirst { stage: stage.into(), throw_on_miss: false }
    }

    /// `skip_to_last(stage)` without throw-on-miss.
    pub fn skip_to_last(stage: impl Into<String>) -> Self {
        SkipStrategy::SkipToLast { stage: stage.into(), throw_on_miss: false }
    }

    /// The same strategy, failing on a match without the named stage.
    /// No effect on strategies that name no stage.
    pub fn throw_on_miss(self) -> Self {
        match self {
            SkipStrategy::SkipToFirst { stage, .. } => {
                SkipStrategy::SkipToFirst { stage, throw_on_miss: true }
            }
            SkipStrategy::SkipToLast { stage, .. } => {
                SkipStrategy::SkipToLast { stage, throw_on_miss: true }
            }
            other => other,
        }
    }

    /// The stage this strategy names, if any.
    pub fn stage(&self) -> Option<&str> {
        match self {
            SkipStrategy::SkipToFirst { stage, .. }
            | SkipStrategy::SkipToLast { stage, .. } => Some(stage),
            _ => None,
        }
    }
}
