//! Every rule of Flink's `Pattern` API, checked once at `build`.
//!
//! Flink checks as methods are called; we check the recorded calls in the
//! order Flink's API applies them to one stage: quantifier, `consecutive`,
//! `allowCombinations`, `optional`, `greedy`, `until` (the order the JSON
//! spec implies too). Rules that Flink checks while compiling the NFA
//! (windows, a trailing `notFollowedBy`) live in the compiler, which sees
//! the windows as Flink computes them.

use hashbrown::HashSet;

use super::builder::{Body, PatternBuilder, RepeatCall, StageDraft};
use super::error::{Kind, PatternError};
use super::quantifier::{Connect, Contiguity, Repeat, SkipStrategy};
use super::Condition;
use crate::util::ids::StageId;

/// A validated stage.
pub(crate) struct StageDef<E> {
    pub(crate) name: String,
    pub(crate) connect: Connect,
    /// The stage's condition; `None` is Flink's `trueFunction`.
    pub(crate) condition: Option<Condition<E>>,
    /// Members of a group stage, in order; empty for an event stage.
    pub(crate) members: Vec<StageId>,
    pub(crate) is_group: bool,
    pub(crate) repeat: Repeat,
    pub(crate) optional: bool,
    pub(crate) greedy: bool,
    /// Contiguity inside a looping or times stage.
    pub(crate) inner: Contiguity,
    pub(crate) until: Option<Condition<E>>,
    pub(crate) within_first_and_last: Option<i64>,
    pub(crate) within_previous_and_current: Option<i64>,
    /// The stage before this one in its sequence (Flink's `getPrevious`).
    pub(crate) previous: Option<StageId>,
}

/// A validated pattern: stages in declaration order.
pub(crate) struct PatternDef<E> {
    pub(crate) stages: Vec<StageDef<E>>,
    pub(crate) top: Vec<StageId>,
    pub(crate) skip: SkipStrategy,
}

impl<E> PatternDef<E> {
    pub(crate) fn stage(&self, id: StageId) -> &StageDef<E> {
        &self.stages[id.as_usize()]
    }
}

pub(crate) fn validate<E>(
    builder: PatternBuilder<E>,
) -> Result<PatternDef<E>, PatternError> {
    let mut def = PatternDef {
        stages: Vec::new(),
        top: Vec::new(),
        skip: builder.skip.clone(),
    };
    let mut names = HashSet::new();
    def.top = flatten(builder, None, &mut def.stages, &mut names)?;
    check_skip(&def)?;
    Ok(def)
}

fn flatten<E>(
    builder: PatternBuilder<E>,
    parent: Option<StageId>,
    out: &mut Vec<StageDef<E>>,
    names: &mut HashSet<String>,
) -> Result<Vec<StageId>, PatternError> {
    if builder.stages.is_empty() {
        let kind =
            if parent.is_some() { Kind::EmptyGroup } else { Kind::Empty };
        return Err(PatternError::new(None, kind));
    }
    let mut sequence = Vec::with_capacity(builder.stages.len());
    for (position, draft) in builder.stages.into_iter().enumerate() {
        let id = StageId::new(out.len())
            .ok_or_else(|| PatternError::new(None, Kind::Empty))?;
        let name = draft.name.clone();
        let err = |kind| Err(PatternError::new(Some(&name), kind));
        if name == "$endState$" {
            return err(Kind::ReservedName);
        }
        if !names.insert(name.clone()) {
            return err(Kind::DuplicateName);
        }
        if (position == 0) != (draft.connect == Connect::Begin) {
            return err(Kind::FirstStageConnect);
        }
        let previous = sequence.last().copied();
        let previous_def: Option<&StageDef<E>> =
            previous.map(|p: StageId| &out[p.as_usize()]);
        let stage = check_stage(draft, previous, previous_def)?;
        let group = match stage {
            (def, Some(group)) => {
                out.push(def);
                Some(group)
            }
            (def, None) => {
                out.push(def);
                None
            }
        };
        if let Some(group) = group {
            let members = flatten(group, Some(id), out, names)?;
            out[id.as_usize()].members = members;
        }
        sequence.push(id);
    }
    Ok(sequence)
}

/// Checks one stage's calls in Flink's order; returns the stage and, for
/// a group, its inner builder to flatten next.
#[allow(clippy::type_complexity)]
fn check_stage<E>(
    draft: StageDraft<E>,
    previous: Option<StageId>,
    previous_def: Option<&StageDef<E>>,
) -> Result<(StageDef<E>, Option<PatternBuilder<E>>), PatternError> {
    let name = draft.name;
    let err = |kind| Err(PatternError::new(Some(&name), kind));
    let negation = draft.connect.is_negation();
    let is_group = matches!(draft.body, Body::Group(_));

    // `notNext` / `notFollowedBy` are refused after an optional stage.
    if negation && previous_def.is_some_and(|p| p.optional) {
        return err(Kind::NegationAfterOptional);
    }
    if negation && is_group {
        return err(Kind::NegationGroup);
    }
    if draft.condition_on_group {
        return err(Kind::GroupCondition);
    }

    // The quantifier.
    let mut repeat = Repeat::Once;
    let mut optional = false;
    if draft.repeat.len() > 1 {
        return err(Kind::QuantifierTwice);
    }
    if let Some(&call) = draft.repeat.first() {
        if negation {
            return err(Kind::NegationQuantified);
        }
        repeat = match call {
            RepeatCall::Times(n) => Repeat::Times {
                from: positive(n, &name)?,
                to: positive(n, &name)?,
            },
            RepeatCall::TimesRange(mut from, to) => {
                if from == 0 {
                    // Flink: `times(0, n)` is `optional().times(1, n)`.
                    optional = true;
                    from = 1;
                }
                let from = positive(from, &name)?;
                if to < i64::from(from) {
                    return err(Kind::TimesRangeReversed);
                }
                Repeat::Times { from, to: positive(to, &name)? }
            }
            RepeatCall::TimesOrMore(n) => {
                Repeat::AtLeast { from: positive(n, &name)? }
            }
            RepeatCall::OneOrMore => Repeat::AtLeast { from: 1 },
        };
    }

    // consecutive, then allowCombinations.
    let mut inner = Contiguity::Relaxed;
    if draft.consecutive > 0 {
        if repeat == Repeat::Once {
            return err(Kind::ConsecutiveOnSingle);
        }
        if draft.consecutive > 1 {
            return err(Kind::ConsecutiveTwice);
        }
        inner = Contiguity::Strict;
    }
    if draft.combinations > 0 {
        if repeat == Repeat::Once {
            return err(Kind::CombinationsOnSingle);
        }
        if inner == Contiguity::Strict {
            return err(Kind::ConsecutiveAndCombinations);
        }
        if draft.combinations > 1 {
            return err(Kind::CombinationsTwice);
        }
        inner = Contiguity::NonDeterministicRelaxed;
    }

    // optional: Pattern.optional() checks the previous stage first.
    for _ in 0..draft.optional {
        if previous_def.is_some_and(|p| p.greedy) {
            return err(Kind::OptionalAfterGreedy);
        }
        if optional {
            return err(Kind::OptionalTwice);
        }
        if negation {
            return err(Kind::NegationOptional);
        }
        optional = true;
    }

    if draft.greedy {
        if negation {
            return err(Kind::GreedyOnNegation);
        }
        if is_group {
            return err(Kind::GreedyOnGroup);
        }
        if inner == Contiguity::NonDeterministicRelaxed {
            return err(Kind::GreedyWithCombinations);
        }
        if repeat == Repeat::Once {
            return err(Kind::GreedyOnSingle);
        }
    }

    if draft.until.len() > 1 {
        return err(Kind::UntilTwice);
    }
    if !draft.until.is_empty() && !repeat.is_looping() {
        return err(Kind::UntilNotLooping);
    }

    let (condition, group) = match draft.body {
        Body::Events(cond) => (cond, None),
        Body::Group(g) => (None, Some(g)),
    };
    let def = StageDef {
        name,
        connect: draft.connect,
        condition,
        members: Vec::new(),
        is_group,
        repeat,
        optional,
        greedy: draft.greedy,
        inner,
        until: draft.until.into_iter().next(),
        within_first_and_last: draft.within_first_and_last,
        within_previous_and_current: draft.within_previous_and_current,
        previous,
    };
    Ok((def, group))
}

fn positive(n: i64, stage: &str) -> Result<u32, PatternError> {
    match u32::try_from(n) {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(PatternError::new(Some(stage), Kind::NonPositiveTimes)),
    }
}

/// `skip_to_first` / `skip_to_last` must name a top-level event stage.
fn check_skip<E>(def: &PatternDef<E>) -> Result<(), PatternError> {
    let Some(target) = def.skip.stage() else { return Ok(()) };
    let found = def.top.iter().any(|&id| {
        let stage = def.stage(id);
        !stage.is_group && stage.name == target
    });
    if found {
        Ok(())
    } else {
        Err(PatternError::new(Some(target), Kind::SkipStageUnknown))
    }
}

#[cfg(test)]
mod tests {
    use crate::Pattern;

    fn reject(b: crate::PatternBuilder<u32>) -> String {
        match b.build() {
            Ok(_) => panic!("pattern was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let msg = reject(Pattern::begin("a").followed_by("a"));
        assert!(msg.contains("stage \"a\""), "{msg}");
        assert!(msg.contains("unique"), "{msg}");
    }

    #[test]
    fn greedy_needs_a_quantifier() {
        let msg = reject(Pattern::begin("a").greedy());
        assert!(msg.contains("singleton quantifier"), "{msg}");
    }

    #[test]
    fn negation_after_optional_is_rejected() {
        let msg = reject(Pattern::begin("a").optional().not_next("b"));
        assert!(msg.contains("stage \"b\""), "{msg}");
        assert!(msg.contains("optional path to NOT"), "{msg}");
    }

    #[test]
    fn until_needs_a_loop() {
        let msg = reject(Pattern::begin("a").times(2).until(|_| true));
        assert!(msg.contains("looping"), "{msg}");
        assert!(Pattern::<u32>::begin("a")
            .one_or_more()
            .until(|_| true)
            .build()
            .is_ok());
    }

    #[test]
    fn times_zero_is_rejected_but_range_from_zero_is_optional() {
        reject(Pattern::begin("a").times(0));
        reject(Pattern::begin("a").times_range(0, 0));
        reject(Pattern::begin("a").times_or_more(0));
        let ok = Pattern::<u32>::begin("a").times_range(0, 2).build();
        assert!(ok.is_ok());
    }

    #[test]
    fn consecutive_and_combinations_exclude_each_other() {
        let msg = reject(
            Pattern::begin("a").times(2).consecutive().allow_combinations(),
        );
        assert!(msg.contains("not both"), "{msg}");
        reject(Pattern::begin("a").consecutive());
        reject(Pattern::begin("a").allow_combinations());
    }

    #[test]
    fn greedy_rules() {
        reject(
            Pattern::begin("a").one_or_more().allow_combinations().greedy(),
        );
        reject(
            Pattern::begin("a")
                .one_or_more()
                .greedy()
                .followed_by("b")
                .optional(),
        );
        reject(
            Pattern::begin_group("g", Pattern::begin("x"))
                .one_or_more()
                .greedy(),
        );
        reject(Pattern::begin("a").not_next("b").greedy());
    }

    #[test]
    fn negation_rules() {
        reject(Pattern::begin("a").not_next("b").times(2));
        reject(Pattern::begin("a").not_followed_by("b").optional());
        reject(Pattern::begin("a").not_followed_by("b"));
        reject(
            Pattern::begin("a")
                .not_followed_by("b")
                .followed_by("c")
                .optional()
                .not_next("d"),
        );
    }

    #[test]
    fn skip_target_must_be_a_top_level_event_stage() {
        use crate::SkipStrategy;
        reject(Pattern::begin("a").skip(SkipStrategy::skip_to_first("zz")));
        reject(
            Pattern::begin_group("g", Pattern::begin("x"))
                .skip(SkipStrategy::skip_to_last("x")),
        );
        reject(
            Pattern::begin_group("g", Pattern::begin("x"))
                .skip(SkipStrategy::skip_to_last("g")),
        );
        assert!(Pattern::<u32>::begin("a")
            .skip(SkipStrategy::skip_to_last("a"))
            .build()
            .is_ok());
    }

    #[test]
    fn reserved_and_empty_names() {
        reject(Pattern::begin("$endState$"));
    }
}
