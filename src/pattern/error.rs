//! The error of pattern building: a rule of Flink's Pattern API or of its
//! NFA compiler was broken.

use std::fmt;

/// A pattern that Flink CEP would reject, with the stage and the rule.
///
/// The message names the stage, then the rule in our words, then Flink's
/// own message so that Flink users recognise it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    stage: Option<String>,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Empty,
    DuplicateName,
    ReservedName,
    EmptyGroup,
    NegationAfterOptional,
    NegationQuantified,
    NegationOptional,
    NegationGroup,
    NonPositiveTimes,
    TimesRangeReversed,
    ConsecutiveOnSingle,
    CombinationsOnSingle,
    ConsecutiveAndCombinations,
    OptionalTwice,
    OptionalAfterGreedy,
    GreedyOnSingle,
    GreedyWithCombinations,
    GreedyOnGroup,
    GreedyOnNegation,
    UntilNotLooping,
    SkipStageUnknown,
    NotFollowedByLastWithoutWindow,
    LocalWindowLarger,
    FirstStageConnect,
    QuantifierTwice,
    ConsecutiveTwice,
    CombinationsTwice,
    UntilTwice,
    GroupCondition,
}

impl PatternError {
    #[cold]
    #[inline(never)]
    pub(crate) fn new(stage: Option<&str>, kind: Kind) -> Self {
        Self { stage: stage.map(str::to_owned), kind }
    }

    /// The stage the error is about, when there is one.
    pub fn stage(&self) -> Option<&str> {
        self.stage.as_deref()
    }

    /// Flink's own message for the same rejection, where Flink has one.
    pub fn flink_message(&self) -> Option<&'static str> {
        use Kind::*;
        Some(match self.kind {
            DuplicateName => "Duplicate pattern name. Names must be unique.",
            NegationAfterOptional => {
                "Specifying a pattern with an optional path to NOT \
                 condition is not supported yet."
            }
            NegationQuantified | GreedyOnNegation => {
                "Option not applicable to NOT pattern"
            }
            NegationOptional => "NOT pattern cannot be optional",
            NonPositiveTimes => {
                "You should give a positive number greater than 0."
            }
            TimesRangeReversed => {
                "The to should be a number greater than or equal to from"
            }
            ConsecutiveOnSingle => {
                "Consecutive not applicable to Quantifier{SINGLE}!"
            }
            CombinationsOnSingle => {
                "Combinations not applicable to Quantifier{SINGLE}!"
            }
            ConsecutiveAndCombinations => {
                "You can apply either combinations or consecutive, not both!"
            }
            OptionalTwice => "Optional already applied!",
            OptionalAfterGreedy => {
                "Optional pattern cannot be preceded by greedy pattern"
            }
            GreedyOnSingle => "Option not applicable to singleton quantifier",
            GreedyWithCombinations => {
                "Option not applicable to FollowedByAny pattern"
            }
            GreedyOnGroup => "Option not applicable to group pattern",
            UntilNotLooping => {
                "The until condition is only applicable to looping states."
            }
            SkipStageUnknown => {
                "The pattern name specified in AfterMatchSkipStrategy can \
                 not be found in the given Pattern"
            }
            NotFollowedByLastWithoutWindow => {
                "NotFollowedBy is not supported without windowTime as a \
                 last part of a Pattern!"
            }
            LocalWindowLarger => {
                "Window length between the previous and current event \
                 cannot be larger than the window length between the first \
                 and last event for a Pattern."
            }
            QuantifierTwice => "Already applied quantifier to this Pattern.",
            ConsecutiveTwice => "Consecutive already applied!",
            CombinationsTwice => "Combinations already applied!",
            UntilTwice => "Only one until condition can be applied.",
            GroupCondition => "GroupPattern does not support where clause.",
            Empty | ReservedName | EmptyGroup | NegationGroup
            | FirstStageConnect => return None,
        })
    }

    fn rule(&self) -> &'static str {
        use Kind::*;
        match self.kind {
            Empty => "a pattern needs at least one stage",
            DuplicateName => "stage names must be unique within a pattern",
            ReservedName => "the name \"$endState$\" is reserved",
            EmptyGroup => "a group needs at least one stage",
            NegationAfterOptional => {
                "a negation cannot follow an optional stage"
            }
            NegationQuantified => "a negation cannot have a quantifier",
            NegationOptional => "a negation cannot be optional",
            NegationGroup => "a negation cannot apply to a group",
            NonPositiveTimes => "times must be a positive number",
            TimesRangeReversed => "times range must have from <= to",
            ConsecutiveOnSingle => {
                "consecutive needs a looping or times stage"
            }
            CombinationsOnSingle => {
                "allow_combinations needs a looping or times stage"
            }
            ConsecutiveAndCombinations => {
                "consecutive and allow_combinations exclude each other"
            }
            OptionalTwice => "optional is applied twice",
            OptionalAfterGreedy => {
                "an optional stage cannot follow a greedy stage"
            }
            GreedyOnSingle => "greedy needs a looping or times stage",
            GreedyWithCombinations => {
                "greedy cannot be combined with allow_combinations"
            }
            GreedyOnGroup => "greedy cannot apply to a group",
            GreedyOnNegation => "greedy cannot apply to a negation",
            UntilNotLooping => "until needs a looping stage",
            SkipStageUnknown => {
                "the skip strategy names no top-level, non-group stage"
            }
            NotFollowedByLastWithoutWindow => {
                "a pattern ending in not_followed_by needs a within window"
            }
            LocalWindowLarger => {
                "a previous_and_current window cannot exceed the \
                 first_and_last window"
            }
            FirstStageConnect => {
                "the first stage cannot have a connect (it is begin)"
            }
            QuantifierTwice => "a stage takes one quantifier",
            ConsecutiveTwice => "consecutive is applied twice",
            CombinationsTwice => "allow_combinations is applied twice",
            UntilTwice => "a stage takes one until condition",
            GroupCondition => "a group takes no condition of its own",
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(stage) = &self.stage {
            write!(f, "stage {stage:?}: ")?;
        }
        f.write_str(self.rule())?;
        if let Some(flink) = self.flink_message() {
            write!(f, " (flink: {flink})")?;
        }
        Ok(())
    }
}

impl std::error::Error for PatternError {}
