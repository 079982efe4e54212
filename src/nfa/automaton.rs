//! The compiled automaton: immutable, shared by every key and thread.

use std::fmt;
use std::sync::Arc;

use crate::pattern::condition::{Leaf, SimpleFn, Test};
use crate::pattern::{Condition, SkipStrategy};
use crate::util::ids::{StageId, StateId};

/// What kind of state a state is (Flink's `State.StateType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StateKind {
    /// Where every run begins.
    Start,
    /// An ordinary state.
    Normal,
    /// Reaching it completes a match.
    Final,
    /// Reaching it kills the run (a negation matched).
    Stop,
    /// A match waiting for its window to pass (a trailing
    /// `not_followed_by`).
    Pending,
}

/// What a transition does with the event (Flink's
/// `StateTransitionAction`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Take the event into the match and move.
    Take,
    /// Skip the event and move (or stay).
    Ignore,
    /// Move without consuming the event (an epsilon edge).
    Proceed,
}

pub(crate) struct Transition<E> {
    pub(crate) action: Action,
    pub(crate) source: StateId,
    /// The stage whose events the source state takes (what a take
    /// records the event under); `None` for the final state.
    pub(crate) stage: Option<StageId>,
    pub(crate) target: StateId,
    /// As built (kept for display).
    pub(crate) condition: Condition<E>,
    /// As evaluated: over the NFA's numbered leaves, in its fastest form.
    pub(crate) test: Test,
    /// How this transition's test relates to the previous transition's in
    /// the same state (Flink puts a condition on the take edge and its
    /// negation on the ignore edge), so a state's edges are decided with
    /// one condition call.
    pub(crate) reuse: Reuse,
    /// Whether the target is the final state (the run completes).
    pub(crate) target_final: bool,
    /// Whether proceed edges lead from the target to the final state (a
    /// take may then complete a match at once).
    pub(crate) target_may_finish: bool,
}

/// A transition's test, compared with the previous transition's test in
/// the same state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// Unrelated: evaluate it.
    No,
    /// The same test: the same answer.
    Same,
    /// The negation: the opposite answer.
    Negated,
}

impl Reuse {
    /// How `test` relates to `previous`.
    pub(crate) fn between(previous: Option<&Test>, test: &Test) -> Self {
        match (previous, test) {
            (Some(Test::Leaf(a)), Test::NotLeaf(b))
            | (Some(Test::NotLeaf(a)), Test::Leaf(b))
                if a == b =>
            {
                Reuse::Negated
            }
            (Some(p), t) if p == t && !matches!(t, Test::True) => Reuse::Same,
            _ => Reuse::No,
        }
    }
}

pub(crate) struct State<E> {
    /// Flink's internal state name (`stage`, `stage:0`, ...).
    pub(crate) name: String,
    pub(crate) kind: StateKind,
    /// Whether some transition is a proceed (epsilon) edge: states
    /// without one decide on their own transitions, no graph walk.
    pub(crate) has_proceed: bool,
    /// No edge to a stop state (a negation, which can discard a run's
    /// successors together) and no proceed edge, or just one whose test
    /// is `true` (see `then`): a run here is stepped by the engine's
    /// fused path, no graph walk.
    pub(crate) direct: bool,
    /// A direct state's one proceed edge (always followed) leads here: the
    /// decision graph is this state's own edges, then that state's.
    pub(crate) then: Option<StateId>,
    pub(crate) transitions: Vec<Transition<E>>,
    /// When at most one successor can come out of a run here (see
    /// [`Exclusive`]): the engine's shortest step.
    pub(crate) exclusive: Option<Exclusive>,
    /// A `previous_and_current` window on this state (Flink's
    /// `windowTimes` entry), possibly zero or negative (= none).
    pub(crate) window_previous: Option<i64>,
}

/// Whether state `i` is direct (see [`State::direct`]), and the state
/// its proceed edge leads to, if any.
pub(crate) fn direct_shape<E>(
    states: &[State<E>],
    i: usize,
) -> Option<Option<StateId>> {
    let no_stop = |s: &State<E>| {
        s.transitions
            .iter()
            .all(|t| states[t.target.as_usize()].kind != StateKind::Stop)
    };
    let state = &states[i];
    if !no_stop(state) {
        return None;
    }
    let mut proceeds =
        state.transitions.iter().filter(|t| t.action == Action::Proceed);
    let Some(edge) = proceeds.next() else { return Some(None) };
    let then = &states[edge.target.as_usize()];
    let follows = state.kind != StateKind::Start
        && proceeds.next().is_none()
        && matches!(edge.test, Test::True)
        && !then.has_proceed
        && no_stop(then);
    follows.then_some(Some(edge.target))
}

/// A non-start state whose edges are a take edge alone (strict
/// contiguity: a run the condition rejects dies) or a take edge and an
/// ignore edge with the negated test (relaxed: it waits), plus perhaps
/// one proceed edge into a stop state (a `not_followed_by` guard: when
/// it fires, the run dies whatever else holds). Exactly one of take and
/// ignore holds, so a run here has at most one successor, which can keep
/// the run's chain without sharing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exclusive {
    /// The take edge's index among the state's transitions.
    pub(crate) take: usize,
    /// The ignore edge's target and whether it is final, if there is one.
    pub(crate) ignore: Option<(StateId, bool)>,
    /// The guard: the proceed edge's index and the stop state it leads
    /// to (whose edges have no proceed edge).
    pub(crate) guard: Option<(usize, StateId)>,
}

impl Exclusive {
    /// The shape of state `i`'s edges, if it is one of those above.
    pub(crate) fn of<E>(states: &[State<E>], i: usize) -> Option<Self> {
        let state = &states[i];
        if state.kind == StateKind::Start {
            return None;
        }
        let mut guard = None;
        let mut edges: [Option<(usize, &Transition<E>)>; 2] = [None, None];
        let mut n = 0;
        for (j, t) in state.transitions.iter().enumerate() {
            let target = &states[t.target.as_usize()];
            if target.kind == StateKind::Stop {
                let plain_stop = !target.has_proceed;
                if t.action != Action::Proceed
                    || !plain_stop
                    || guard.is_some()
                {
                    return None;
                }
                guard = Some((j, t.target));
            } else if t.action == Action::Proceed || n == 2 {
                return None;
            } else {
                edges[n] = Some((j, t));
                n += 1;
            }
        }
        let (take, ignore) = match edges {
            [Some((j, t)), None] if t.action == Action::Take => (j, None),
            [Some((ja, a)), Some((jb, b))] => {
                // Asked here, not read from `b.reuse`: a guard may sit
                // between the two.
                if Reuse::between(Some(&a.test), &b.test) != Reuse::Negated {
                    return None;
                }
                match (a.action, b.action) {
                    (Action::Take, Action::Ignore) => (ja, Some(b)),
                    (Action::Ignore, Action::Take) => (jb, Some(a)),
                    _ => return None,
                }
            }
            _ => return None,
        };
        Some(Exclusive {
            take,
            ignore: ignore.map(|t| (t.target, t.target_final)),
            guard,
        })
    }
}

/// The start state's one take edge, when a simple closure decides it
/// (see [`Nfa::start_take`]).
pub(crate) struct StartTake<E> {
    /// The closure, called directly to ask whether an event starts a
    /// match.
    pub(crate) test: Arc<SimpleFn<E>>,
    /// Its leaf number (for the per-event cache shared with other runs).
    pub(crate) leaf: u32,
    /// Whether the edge's test is the closure's negation.
    pub(crate) negated: bool,
    /// The edge's index among the start state's transitions.
    pub(crate) transition: usize,
}

/// The skip strategy with its stage resolved.
#[derive(Clone, Debug)]
pub(crate) enum AfterMatch {
    NoSkip,
    ToNext,
    PastLastEvent,
    ToFirst { stage: StageId, throw_on_miss: bool },
    ToLast { stage: StageId, throw_on_miss: bool },
}

/// A pattern compiled to a non-deterministic finite automaton.
///
/// Built by [`PatternBuilder::build`](crate::PatternBuilder::build);
/// immutable and `Send + Sync` (when the event type is), so one NFA serves
/// every key on every thread. Per-key state lives in
/// [`Runs`](crate::nfa::Runs) and a [`SharedBuffer`](crate::SharedBuffer).
pub struct Nfa<E> {
    pub(crate) states: Vec<State<E>>,
    /// The user's closures, numbered: every transition's program refers
    /// to them.
    pub(crate) leaves: Vec<Leaf<E>>,
    pub(crate) start: StateId,
    /// When the start state has no proceed edge and one take edge whose
    /// test is one closure of the event alone (or its negation): that
    /// edge. Whether an event starts a match is then one call, and the
    /// start run is stepped without walking its state (most patterns
    /// begin this way).
    pub(crate) start_take: Option<StartTake<E>>,
    /// The start run has `start_take` and every state another run can be
    /// in is [`Exclusive`]: a key's queue, when in order, is stepped in
    /// place (see `Runs::step`).
    pub(crate) steps_in_place: bool,
    /// Flink's `windowTime`: the smallest first-and-last window; zero or
    /// less means none.
    pub(crate) window: i64,
    /// Some state has a previous-and-current window. If none has, a
    /// queue's earliest deadline is its first run's (see
    /// `runs::first_and_last_deadline`), so runs need not be looked at
    /// one by one to find it.
    pub(crate) previous_windows: bool,
    /// Some state waits out a trailing `not_followed_by` (kind
    /// `Pending`): only then can an expired run complete a match.
    pub(crate) pending: bool,
    pub(crate) stage_names: Vec<String>,
    pub(crate) skip: AfterMatch,
    pub(crate) skip_strategy: SkipStrategy,
}

impl<E> Nfa<E> {
    #[inline]
    pub(crate) fn state(&self, id: StateId) -> &State<E> {
        &self.states[id.as_usize()]
    }

    /// The stage names, indexed by [`StageId`].
    pub fn stage_names(&self) -> &[String] {
        &self.stage_names
    }

    /// The id of the named stage.
    pub fn stage_id(&self, name: &str) -> Option<StageId> {
        self.stage_names.iter().position(|n| n == name).and_then(StageId::new)
    }

    /// The name of a stage.
    ///
    /// # Panics
    ///
    /// When `stage` is not a stage of this pattern.
    pub fn stage_name(&self, stage: StageId) -> &str {
        &self.stage_names[stage.as_usize()]
    }

    /// The match window in milliseconds (Flink's `windowTime`), if any.
    pub fn window(&self) -> Option<i64> {
        (self.window > 0).then_some(self.window)
    }

    /// The after-match skip strategy.
    pub fn skip_strategy(&self) -> &SkipStrategy {
        &self.skip_strategy
    }

    /// The number of NFA states.
    pub fn state_count(&self) -> usize {
        self.states.len()
    }

    /// Heap bytes used by the automaton (approximate).
    pub fn memory_usage(&self) -> usize {
        self.states
            .iter()
            .map(|s| {
                s.name.capacity()
                    + s.transitions.capacity()
                        * std::mem::size_of::<Transition<E>>()
            })
            .sum::<usize>()
            + self.states.capacity() * std::mem::size_of::<State<E>>()
    }
}

impl<E> fmt::Debug for Nfa<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Nfa")
            .field("states", &self.states.len())
            .field("window", &self.window)
            .field("stages", &self.stage_names)
            .finish()
    }
}

impl<E> Nfa<E> {
    /// The automaton's structure without its conditions, one line per
    /// state or edge: what partial-match state refers to (state numbers,
    /// stage names, windows). A snapshot of keyed state taken with one
    /// automaton can be restored with another exactly when their
    /// structures are equal; conditions may change.
    pub(crate) fn structure(&self) -> Vec<String> {
        let mut lines = vec![
            format!("window {}", self.window),
            format!("skip {:?}", self.skip_strategy),
            format!("stages {:?}", self.stage_names),
        ];
        for (i, s) in self.states.iter().enumerate() {
            lines.push(self.state_line(i, s));
            for t in &s.transitions {
                lines.push(self.edge_line(t));
            }
        }
        lines
    }

    fn state_line(&self, i: usize, s: &State<E>) -> String {
        let kind = match s.kind {
            StateKind::Start => "start",
            StateKind::Normal => "normal",
            StateKind::Final => "final",
            StateKind::Stop => "stop",
            StateKind::Pending => "pending",
        };
        let mut line = format!("state {i} {:?} [{kind}]", s.name);
        if let Some(w) = s.window_previous {
            line.push_str(&format!(" previous_and_current {w} ms"));
        }
        line
    }

    fn edge_line(&self, t: &Transition<E>) -> String {
        let action = match t.action {
            Action::Take => "take",
            Action::Ignore => "ignore",
            Action::Proceed => "proceed",
        };
        format!(
            "  {action:<7} -> {} {:?}",
            t.target.as_usize(),
            self.state(t.target).name
        )
    }
}

/// Prints the automaton readably, one state per line with its
/// transitions, as `cepflow check` shows it.
impl<E> fmt::Display for Nfa<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "window: {}",
            match self.window() {
                Some(w) => format!("{w} ms (first_and_last)"),
                None => "none".to_owned(),
            }
        )?;
        writeln!(f, "skip: {:?}", self.skip_strategy)?;
        for (i, s) in self.states.iter().enumerate() {
            writeln!(f, "{}", self.state_line(i, s))?;
            for t in &s.transitions {
                writeln!(f, "{} if {:?}", self.edge_line(t), t.condition)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pattern::condition::Program;
    use crate::Pattern;
    use std::time::Duration;

    fn state<'a, E>(nfa: &'a Nfa<E>, name: &str) -> &'a State<E> {
        nfa.states.iter().find(|s| s.name == name).expect("state")
    }

    #[test]
    fn take_or_wait_and_take_or_die_are_exclusive() {
        let p = Pattern::<i32>::begin("a")
            .when(|e| *e > 0)
            .followed_by("b")
            .when(|e| *e < 0)
            .next("c")
            .when(|e| *e == 0)
            .build()
            .unwrap();
        let nfa = p.nfa();
        let b = state(nfa, "b").exclusive.expect("b is exclusive");
        // Relaxed: the run waits on the negated ignore edge.
        assert_eq!(b.ignore.map(|(t, _)| t), Some(state_id(nfa, "b")));
        assert_eq!(b.guard, None);
        // Strict: no ignore edge, a rejected run dies.
        let c = state(nfa, "c").exclusive.expect("c is exclusive");
        assert_eq!(c.ignore, None);
        // The start state has its own path.
        assert_eq!(state(nfa, "a").exclusive, None);
        assert!(nfa.steps_in_place);
    }

    #[test]
    fn a_negation_between_stages_is_a_guard() {
        let p = Pattern::<i32>::begin("a")
            .when(|e| *e > 0)
            .not_followed_by("no")
            .when(|e| *e == 0)
            .followed_by("b")
            .when(|e| *e > 5)
            .within(Duration::from_secs(1))
            .build()
            .unwrap();
        let nfa = p.nfa();
        let b = state(nfa, "b").exclusive.expect("b is exclusive");
        assert_eq!(b.guard.map(|(_, stop)| stop), Some(state_id(nfa, "no")));
        assert!(!state(nfa, "b").direct, "a stop edge is never direct");
    }

    #[test]
    fn overlapping_edges_are_not_exclusive() {
        // followed_by_any: a run may both take and wait.
        let p = Pattern::<i32>::begin("a")
            .when(|e| *e > 0)
            .followed_by_any("b")
            .when(|e| *e > 1)
            .build()
            .unwrap();
        let b = state(p.nfa(), "b");
        assert_eq!(b.exclusive, None);
        assert!(b.direct);
        assert!(!p.nfa().steps_in_place);
    }

    #[test]
    fn an_always_true_proceed_edge_is_followed_directly() {
        // A consecutive loop followed by `next`: the loop state proceeds
        // (always) to the next stage, whose edges join its own.
        let p = Pattern::<i32>::begin("a")
            .when(|e| *e > 0)
            .one_or_more()
            .consecutive()
            .next("b")
            .when(|e| *e < 0)
            .build()
            .unwrap();
        let nfa = p.nfa();
        let a = state(nfa, "a");
        assert!(a.direct);
        assert_eq!(a.then, Some(state_id(nfa, "b")));
        assert!(state(nfa, "b").then.is_none());
    }

    fn state_id<E>(nfa: &Nfa<E>, name: &str) -> StateId {
        let i = nfa.states.iter().position(|s| s.name == name).unwrap();
        StateId::must(i)
    }

    #[test]
    fn reuse_recognises_a_repeated_or_negated_test() {
        let leaf = |i| Test::Leaf(i);
        let not = |i| Test::NotLeaf(i);
        assert_eq!(Reuse::between(None, &leaf(0)), Reuse::No);
        assert_eq!(Reuse::between(Some(&leaf(0)), &not(0)), Reuse::Negated);
        assert_eq!(Reuse::between(Some(&not(3)), &leaf(3)), Reuse::Negated);
        assert_eq!(Reuse::between(Some(&leaf(1)), &leaf(1)), Reuse::Same);
        assert_eq!(Reuse::between(Some(&leaf(1)), &not(2)), Reuse::No);
        assert_eq!(Reuse::between(Some(&leaf(1)), &leaf(2)), Reuse::No);
        // `true` costs nothing to evaluate: never worth reusing.
        assert_eq!(Reuse::between(Some(&Test::True), &Test::True), Reuse::No);
        let and = || {
            Test::Program(Box::new(Program::And(
                Box::new(Program::Leaf(0)),
                Box::new(Program::Leaf(1)),
            )))
        };
        assert_eq!(Reuse::between(Some(&and()), &and()), Reuse::Same);
        assert_eq!(Reuse::between(Some(&leaf(0)), &and()), Reuse::No);
    }
}
