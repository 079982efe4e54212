//! Compiles a validated pattern into an [`Nfa`], back to front.
//!
//! This is a faithful port of Flink's `NFACompiler` (2.x): the same
//! states, in the same order, with the same transitions in the same order,
//! the same copies for negations and greedy loops, and the same window
//! bookkeeping. The order matters: it decides the order in which runs are
//! created, which Flink's skip strategies observe. Where Flink compares
//! internal state names, so do we.

use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::automaton::{
    direct_shape, Action, AfterMatch, Exclusive, Nfa, Reuse, StartTake, State,
    StateKind, Transition,
};
use crate::pattern::condition::{Leaf, Test};
use crate::pattern::error::Kind;
use crate::pattern::validate::{PatternDef, StageDef};
use crate::pattern::{
    Condition, Connect, Contiguity, PatternError, Repeat, SkipStrategy,
};
use crate::util::ids::{StageId, StateId};

const ENDING_STATE_NAME: &str = "$endState$";

/// Flink's `ConsumingStrategy`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Consuming {
    Strict,
    SkipTillNext,
    SkipTillAny,
    NotNext,
    NotFollow,
}

struct BuildState<E> {
    name: String,
    stage: Option<StageId>,
    kind: StateKind,
    transitions: Vec<(Action, usize, Condition<E>)>,
    window_previous: Option<i64>,
}

pub(crate) fn compile<E>(def: PatternDef<E>) -> Result<Nfa<E>, PatternError> {
    let last =
        *def.top.last().ok_or_else(|| PatternError::new(None, Kind::Empty))?;
    let mut c = Compiler {
        def: &def,
        states: Vec::new(),
        used_names: HashSet::new(),
        stop_states: HashMap::new(),
        window_time: None,
        current_group: None,
        first_of_loop: HashMap::new(),
        current: last,
        following: None,
        original_state_map: HashMap::new(),
    };
    let sink = c.create_ending_state();
    let sink = c.create_middle_states(sink);
    let start = c.convert_pattern(sink);
    c.states[start].kind = StateKind::Start;
    c.check_window_times()?;
    let last_def = def.stage(last);
    if last_def.connect == Connect::NotFollowedBy {
        let local = c
            .states
            .iter()
            .find(|s| s.name == last_def.name)
            .and_then(|s| s.window_previous);
        if local.is_none_or(|w| w <= 0) && c.window() == 0 {
            return Err(PatternError::new(
                Some(&last_def.name),
                Kind::NotFollowedByLastWithoutWindow,
            ));
        }
    }
    let window = c.window();
    let (states, leaves) = c.freeze();
    let skip = resolve_skip(&def);
    let start_take = simple_start_take(&states[start], &leaves);
    let steps_in_place = start_take.is_some()
        && states.iter().all(|s| {
            !matches!(s.kind, StateKind::Normal | StateKind::Pending)
                || s.exclusive.is_some()
        });
    let previous_windows =
        states.iter().any(|s| s.window_previous.is_some_and(|w| w > 0));
    let pending = states.iter().any(|s| s.kind == StateKind::Pending);
    Ok(Nfa {
        states,
        leaves,
        start: StateId::must(start),
        start_take,
        steps_in_place,
        window,
        previous_windows,
        pending,
        stage_names: def.stages.iter().map(|s| s.name.clone()).collect(),
        skip,
        skip_strategy: def.skip.clone(),
    })
}

/// The start state's take edge, when one simple closure alone decides it
/// (see [`Nfa::start_take`]).
fn simple_start_take<E>(
    start: &State<E>,
    leaves: &[Leaf<E>],
) -> Option<StartTake<E>> {
    if start.has_proceed {
        return None;
    }
    let mut takes = start
        .transitions
        .iter()
        .enumerate()
        .filter(|(_, t)| t.action == Action::Take);
    let (Some((transition, take)), None) = (takes.next(), takes.next()) else {
        return None;
    };
    let (leaf, negated) = take.test.single_leaf()?;
    match &leaves[leaf as usize] {
        Leaf::Simple(f) => {
            Some(StartTake { test: Arc::clone(f), leaf, negated, transition })
        }
        Leaf::Iterative(_) => None,
    }
}

fn resolve_skip<E>(def: &PatternDef<E>) -> AfterMatch {
    let find = |name: &str| {
        // OK because validation checked the stage exists at top level.
        def.top
            .iter()
            .copied()
            .find(|&id| def.stage(id).name == name)
            .expect("validated skip stage")
    };
    match &def.skip {
        SkipStrategy::NoSkip => AfterMatch::NoSkip,
        SkipStrategy::SkipToNext => AfterMatch::ToNext,
        SkipStrategy::SkipPastLastEvent => AfterMatch::PastLastEvent,
        SkipStrategy::SkipToFirst { stage, throw_on_miss } => {
            AfterMatch::ToFirst {
                stage: find(stage),
                throw_on_miss: *throw_on_miss,
            }
        }
        SkipStrategy::SkipToLast { stage, throw_on_miss } => {
            AfterMatch::ToLast {
                stage: find(stage),
                throw_on_miss: *throw_on_miss,
            }
        }
    }
}

struct Compiler<'d, E> {
    def: &'d PatternDef<E>,
    states: Vec<BuildState<E>>,
    used_names: HashSet<String>,
    stop_states: HashMap<StageId, usize>,
    window_time: Option<i64>,
    current_group: Option<StageId>,
    first_of_loop: HashMap<StageId, bool>,
    current: StageId,
    following: Option<StageId>,
    original_state_map: HashMap<usize, usize>,
}

impl<E> Compiler<'_, E> {
    // ----- pattern accessors (Flink's Pattern / Quantifier getters)

    fn st(&self, id: StageId) -> &StageDef<E> {
        self.def.stage(id)
    }

    fn previous(&self, id: StageId) -> Option<StageId> {
        self.st(id).previous
    }

    fn consuming(&self, id: StageId) -> Consuming {
        match self.st(id).connect {
            Connect::NotNext => Consuming::NotNext,
            Connect::NotFollowedBy => Consuming::NotFollow,
            c => contiguity_to_consuming(c.contiguity()),
        }
    }

    fn inner_consuming(&self, id: StageId) -> Consuming {
        contiguity_to_consuming(self.st(id).inner)
    }

    fn is_optional(&self, id: StageId) -> bool {
        self.st(id).optional
    }

    fn is_greedy(&self, id: StageId) -> bool {
        self.st(id).greedy
    }

    fn times(&self, id: StageId) -> Option<(u32, u32)> {
        self.st(id).repeat.times()
    }

    /// Flink's `Pattern.getCondition()`: the user's, or `trueFunction`.
    fn condition(&self, id: StageId) -> Condition<E> {
        self.st(id).condition.clone().unwrap_or_else(Condition::always)
    }

    fn group_until(&self) -> Option<Condition<E>> {
        self.current_group.and_then(|g| self.st(g).until.clone())
    }

    fn window(&self) -> i64 {
        self.window_time.unwrap_or(0)
    }

    // ----- state creation

    fn create_state_named(
        &mut self,
        base: &str,
        stage: Option<StageId>,
        kind: StateKind,
    ) -> usize {
        let mut candidate = base.to_owned();
        let mut counter = 0;
        while self.used_names.contains(&candidate) {
            candidate = format!("{base}:{counter}");
            counter += 1;
        }
        self.used_names.insert(candidate.clone());
        self.states.push(BuildState {
            name: candidate,
            stage,
            kind,
            transitions: Vec::new(),
            window_previous: None,
        });
        self.states.len() - 1
    }

    /// Flink's `createState(StateType, boolean isTake)`: a state of the
    /// current stage, recording its `previous_and_current` window when it
    /// takes events and the stage has no quantifier.
    fn create_state(&mut self, kind: StateKind, is_take: bool) -> usize {
        let current = self.current;
        let name = self.st(current).name.clone();
        let state = self.create_state_named(&name, Some(current), kind);
        if is_take && self.times(current).is_none() {
            if let Some(w) = self.st(current).within_previous_and_current {
                self.states[state].window_previous = Some(w);
            }
        }
        state
    }

    fn add(
        &mut self,
        from: usize,
        action: Action,
        to: usize,
        cond: Condition<E>,
    ) {
        self.states[from].transitions.push((action, to, cond));
    }

    fn create_ending_state(&mut self) -> usize {
        let end =
            self.create_state_named(ENDING_STATE_NAME, None, StateKind::Final);
        self.window_time = self.st(self.current).within_first_and_last;
        end
    }

    fn create_stop_state(
        &mut self,
        cond: Condition<E>,
        stage: StageId,
    ) -> usize {
        if let Some(&s) = self.stop_states.get(&stage) {
            return s;
        }
        let name = self.st(stage).name.clone();
        let stop =
            self.create_state_named(&name, Some(stage), StateKind::Stop);
        self.add(stop, Action::Take, stop, cond);
        self.stop_states.insert(stage, stop);
        stop
    }

    // ----- the compiler proper

    fn create_middle_states(&mut self, sink: usize) -> usize {
        let mut last_sink = sink;
        while let Some(previous) = self.previous(self.current) {
            let current = self.current;
            match self.consuming(current) {
                Consuming::NotFollow => {
                    let has_local =
                        self.st(current).within_previous_and_current.is_some();
                    if (has_local || self.window() > 0)
                        && self.states[last_sink].kind == StateKind::Final
                    {
                        let not_follow =
                            self.create_state(StateKind::Pending, true);
                        let not_cond = self.take_condition(current);
                        let stop =
                            self.create_stop_state(not_cond.clone(), current);
                        self.add(
                            not_follow,
                            Action::Proceed,
                            stop,
                            not_cond.clone(),
                        );
                        self.add(
                            not_follow,
                            Action::Ignore,
                            not_follow,
                            not_cond.not(),
                        );
                        last_sink = not_follow;
                    }
                }
                Consuming::NotNext => {
                    let not_next = self.create_state(StateKind::Normal, true);
                    let not_cond = self.take_condition(current);
                    let stop =
                        self.create_stop_state(not_cond.clone(), current);
                    if self.states[last_sink].kind == StateKind::Final {
                        self.add(
                            not_next,
                            Action::Ignore,
                            last_sink,
                            not_cond.clone().not(),
                        );
                    } else {
                        self.add(
                            not_next,
                            Action::Proceed,
                            last_sink,
                            not_cond.clone().not(),
                        );
                    }
                    self.add(not_next, Action::Proceed, stop, not_cond);
                    last_sink = not_next;
                }
                _ => last_sink = self.convert_pattern(last_sink),
            }
            self.following = Some(current);
            self.current = previous;
            if let Some(w) = self.st(previous).within_first_and_last {
                if w < self.window_time.unwrap_or(i64::MAX) {
                    self.window_time = Some(w);
                }
            }
        }
        last_sink
    }

    fn convert_pattern(&mut self, sink: usize) -> usize {
        let current = self.current;
        let last_sink = match self.st(current).repeat {
            Repeat::AtLeast { .. } => {
                self.set_first_of_loop(false);
                let sink_copy = self.copy_without_transitive_nots(sink);
                let looping = self.create_looping(sink_copy);
                self.set_first_of_loop(true);
                // OK because a looping stage has times.
                let times = self.times(current).expect("looping has times");
                self.create_times_state(looping, sink, times)
            }
            Repeat::Times { from, to } => {
                self.create_times_state(sink, sink, (from, to))
            }
            Repeat::Once => {
                let take = self.take_condition(current);
                let ignore = self.ignore_condition(current);
                let optional = self.is_optional(current);
                self.create_singleton_state(
                    sink,
                    Some(sink),
                    take,
                    ignore,
                    optional,
                )
            }
        };
        self.add_stop_states(last_sink);
        last_sink
    }

    /// Flink's `getCurrentNotCondition`: the `not_followed_by` stages
    /// reachable backwards through optional stages.
    fn current_not_conditions(&self) -> Vec<(Condition<E>, StageId)> {
        let mut out = Vec::new();
        let mut p = self.current;
        while let Some(prev) = self.previous(p) {
            let prev_def = self.st(prev);
            if !(prev_def.optional
                || prev_def.connect == Connect::NotFollowedBy)
            {
                break;
            }
            p = prev;
            if prev_def.connect == Connect::NotFollowedBy {
                out.push((self.take_condition(prev), prev));
            }
        }
        out
    }

    fn copy_without_transitive_nots(&mut self, sink: usize) -> usize {
        let nots = self.current_not_conditions();
        if nots.is_empty() || !self.is_optional(self.current) {
            return sink;
        }
        self.copy_without_nots(sink, &nots, 0)
    }

    fn copy_without_nots(
        &mut self,
        sink: usize,
        nots: &[(Condition<E>, StageId)],
        depth: usize,
    ) -> usize {
        let (name, stage, kind) = {
            let s = &self.states[sink];
            (s.name.clone(), s.stage, s.kind)
        };
        let copy = self.create_state_named(&name, stage, kind);
        let transitions: Vec<_> = self.states[sink]
            .transitions
            .iter()
            .map(|(a, t, c)| (*a, *t, c.clone()))
            .collect();
        for (action, target, cond) in transitions {
            if action == Action::Proceed {
                let mut new_target = target;
                let mut remove = false;
                if self.states[target].kind == StateKind::Stop {
                    let target_name = &self.states[target].name;
                    remove = nots
                        .iter()
                        .any(|(_, s)| *target_name == self.st(*s).name);
                } else if depth < 64 {
                    // Flink recurses without bound; proceed edges only
                    // cycle in patterns Flink itself cannot run.
                    new_target =
                        self.copy_without_nots(target, nots, depth + 1);
                }
                if !remove {
                    self.add(copy, action, new_target, cond);
                }
            } else {
                let to = if target == sink { copy } else { target };
                self.add(copy, action, to, cond);
            }
        }
        copy
    }

    /// Flink's `copy`: the same state under a fresh name, transitions
    /// shared (self loops point at the copy).
    fn copy(&mut self, state: usize) -> usize {
        let (name, stage, kind) = {
            let s = &self.states[state];
            let original = s.name.split(':').next().unwrap_or("").to_owned();
            (original, s.stage, s.kind)
        };
        let copy = self.create_state_named(&name, stage, kind);
        let transitions: Vec<_> = self.states[state]
            .transitions
            .iter()
            .map(|(a, t, c)| (*a, *t, c.clone()))
            .collect();
        for (action, target, cond) in transitions {
            let to = if target == state { copy } else { target };
            self.add(copy, action, to, cond);
        }
        copy
    }

    fn add_stop_states(&mut self, state: usize) {
        for (cond, stage) in self.current_not_conditions() {
            let stop = self.create_stop_state(cond.clone(), stage);
            self.add(state, Action::Proceed, stop, cond);
        }
    }

    fn add_stop_state_to_looping(&mut self, state: usize) {
        if let Some(following) = self.following {
            if self.st(following).connect == Connect::NotFollowedBy {
                let cond = self.take_condition(following);
                let stop = self.create_stop_state(cond.clone(), following);
                self.add(state, Action::Proceed, stop, cond);
            }
        }
    }

    fn create_times_state(
        &mut self,
        sink: usize,
        proceed: usize,
        (from, to): (u32, u32),
    ) -> usize {
        let current = self.current;
        let mut last_sink = sink;
        self.set_first_of_loop(false);
        let (until, inner_ignore, take) = self.loop_conditions(current);
        if self.is_greedy(current) && from != to {
            if until.is_some() {
                let copy = self.copy(sink);
                self.original_state_map.insert(sink, copy);
            }
            self.update_with_greedy_condition(sink, take.clone());
        }
        for _ in from..to {
            last_sink = self.create_singleton_state(
                last_sink,
                Some(proceed),
                take.clone(),
                inner_ignore.clone(),
                true,
            );
            self.add_stop_state_to_looping(last_sink);
        }
        for _ in 1..from {
            last_sink = self.create_singleton_state(
                last_sink,
                None,
                take.clone(),
                inner_ignore.clone(),
                false,
            );
            self.add_stop_state_to_looping(last_sink);
        }
        self.set_first_of_loop(true);
        let ignore = self.ignore_condition(current);
        let optional = self.is_optional(current);
        self.create_singleton_state(
            last_sink,
            Some(proceed),
            take,
            ignore,
            optional,
        )
    }

    fn set_first_of_loop(&mut self, value: bool) {
        if self.st(self.current).is_group {
            self.first_of_loop.insert(self.current, value);
        }
    }

    fn is_current_group_first_of_loop(&self) -> bool {
        self.current_group
            .and_then(|g| self.first_of_loop.get(&g).copied())
            .unwrap_or(true)
    }

    fn head_of_group(&self, id: StageId) -> bool {
        self.current_group.is_some() && self.previous(id).is_none()
    }

    fn is_head_of_optional_group(&self, id: StageId) -> bool {
        self.head_of_group(id)
            && self.is_current_group_first_of_loop()
            && self.current_group.is_some_and(|g| self.is_optional(g))
    }

    fn create_singleton_state(
        &mut self,
        sink: usize,
        proceed: Option<usize>,
        take: Condition<E>,
        ignore: Option<Condition<E>>,
        optional: bool,
    ) -> usize {
        let current = self.current;
        if self.st(current).is_group {
            return self
                .create_group_pattern_state(current, sink, proceed, optional);
        }
        let single = self.create_state(StateKind::Normal, true);
        let sink_copy = self.copy_without_transitive_nots(sink);
        self.add(single, Action::Take, sink_copy, take.clone());
        let proceed_cond = self.true_function();
        if optional {
            // OK because optional states are always given a proceed state.
            let proceed =
                proceed.expect("optional state has a proceed target");
            if self.is_greedy(current) {
                let until = self.st(current).until.clone();
                if let Some(until) = &until {
                    let target = self
                        .original_state_map
                        .get(&proceed)
                        .copied()
                        .unwrap_or(proceed);
                    self.add(
                        single,
                        Action::Proceed,
                        target,
                        proceed_cond.clone().and(until.clone()),
                    );
                }
                let cond = match until {
                    Some(u) => proceed_cond.and(u.not()),
                    None => proceed_cond,
                };
                self.add(single, Action::Proceed, proceed, cond);
            } else {
                self.add(single, Action::Proceed, proceed, proceed_cond);
            }
        }
        if let Some(ignore) = ignore {
            let ignore_state =
                if optional || self.is_head_of_optional_group(current) {
                    let state = self.create_state(StateKind::Normal, false);
                    self.add(state, Action::Take, sink_copy, take);
                    self.add(state, Action::Ignore, state, ignore.clone());
                    self.add_stop_states(state);
                    state
                } else {
                    single
                };
            self.add(single, Action::Ignore, ignore_state, ignore);
        }
        single
    }

    fn create_group_pattern_state(
        &mut self,
        group: StageId,
        sink: usize,
        proceed: Option<usize>,
        optional: bool,
    ) -> usize {
        let proceed_cond = self.true_function();
        let saved = (self.current, self.following, self.current_group);
        self.current_group = Some(group);
        self.current = self.last_member(group);
        let mut last_sink = self.create_middle_states(sink);
        last_sink = self.convert_pattern(last_sink);
        if optional {
            let proceed =
                proceed.expect("optional group has a proceed target");
            self.add(last_sink, Action::Proceed, proceed, proceed_cond);
        }
        (self.current, self.following, self.current_group) = saved;
        last_sink
    }

    fn create_looping_group_pattern_state(
        &mut self,
        group: StageId,
        sink: usize,
    ) -> usize {
        let proceed_cond = self.true_function();
        let saved = (self.current, self.following, self.current_group);
        let dummy = self.create_state(StateKind::Normal, true);
        self.current_group = Some(group);
        self.current = self.last_member(group);
        let mut last_sink = self.create_middle_states(dummy);
        last_sink = self.convert_pattern(last_sink);
        self.add(last_sink, Action::Proceed, sink, proceed_cond.clone());
        self.add(dummy, Action::Proceed, last_sink, proceed_cond);
        (self.current, self.following, self.current_group) = saved;
        last_sink
    }

    fn last_member(&self, group: StageId) -> StageId {
        // OK because validation rejects empty groups.
        *self.st(group).members.last().expect("groups are not empty")
    }

    fn create_looping(&mut self, sink: usize) -> usize {
        let current = self.current;
        if self.st(current).is_group {
            return self.create_looping_group_pattern_state(current, sink);
        }
        let (until, ignore, take) = self.loop_conditions(current);
        let proceed_cond = self.true_function();
        let looping = self.create_state(StateKind::Normal, true);
        if self.is_greedy(current) {
            if let Some(until) = &until {
                let copy = self.copy(sink);
                self.add(
                    looping,
                    Action::Proceed,
                    copy,
                    proceed_cond.clone().and(until.clone()),
                );
                self.original_state_map.insert(sink, copy);
            }
            let cond = match &until {
                Some(u) => proceed_cond.and(u.clone().not()),
                None => proceed_cond,
            };
            self.add(looping, Action::Proceed, sink, cond);
            let greedy_take = self.take_condition(current);
            self.update_with_greedy_condition(sink, greedy_take);
        } else {
            self.add(looping, Action::Proceed, sink, proceed_cond);
        }
        self.add(looping, Action::Take, looping, take.clone());
        self.add_stop_state_to_looping(looping);
        if let Some(ignore) = ignore {
            let ignore_state = self.create_state(StateKind::Normal, false);
            self.add(ignore_state, Action::Take, looping, take);
            self.add(
                ignore_state,
                Action::Ignore,
                ignore_state,
                ignore.clone(),
            );
            self.add(looping, Action::Ignore, ignore_state, ignore);
            self.add_stop_state_to_looping(ignore_state);
        }
        looping
    }

    /// A looping or times stage's `until`, and its inner ignore and take
    /// conditions extended with it (as Flink's `createTimesState` and
    /// `createLooping` both compute them).
    fn loop_conditions(
        &self,
        id: StageId,
    ) -> (Option<Condition<E>>, Option<Condition<E>>, Condition<E>) {
        let until = self.st(id).until.clone();
        let ignore = extend_with_until(
            self.inner_ignore_condition(id),
            until.as_ref(),
            false,
        );
        let take = extend_with_until(
            Some(self.take_condition(id)),
            until.as_ref(),
            true,
        )
        .unwrap_or_else(Condition::always);
        (until, ignore, take)
    }

    fn inner_ignore_condition(&self, id: StageId) -> Option<Condition<E>> {
        let mut consuming = self.inner_consuming(id);
        if self.head_of_group(id) {
            // OK because head_of_group implies a current group.
            consuming =
                self.inner_consuming(self.current_group.expect("group"));
        }
        let ignore = self.ignore_for(consuming, id);
        match self.group_until() {
            Some(until) => extend_with_until(ignore, Some(&until), false),
            None => ignore,
        }
    }

    fn ignore_condition(&self, id: StageId) -> Option<Condition<E>> {
        let mut consuming = self.consuming(id);
        if self.head_of_group(id) {
            let group = self.current_group.expect("group");
            consuming = if self.is_current_group_first_of_loop() {
                self.consuming(group)
            } else {
                self.inner_consuming(group)
            };
        }
        let ignore = self.ignore_for(consuming, id);
        match self.group_until() {
            Some(until) => extend_with_until(ignore, Some(&until), false),
            None => ignore,
        }
    }

    fn ignore_for(
        &self,
        consuming: Consuming,
        id: StageId,
    ) -> Option<Condition<E>> {
        match consuming {
            Consuming::SkipTillNext => Some(self.condition(id).not()),
            Consuming::SkipTillAny => Some(Condition::always()),
            Consuming::Strict | Consuming::NotNext | Consuming::NotFollow => {
                None
            }
        }
    }

    fn take_condition(&self, id: StageId) -> Condition<E> {
        let take = self.condition(id);
        match self.group_until() {
            Some(until) => extend_with_until(Some(take), Some(&until), true)
                .unwrap_or_else(Condition::always),
            None => take,
        }
    }

    fn true_function(&self) -> Condition<E> {
        match self.group_until() {
            Some(until) => extend_with_until(
                Some(Condition::always()),
                Some(&until),
                true,
            )
            .unwrap_or_else(Condition::always),
            None => Condition::always(),
        }
    }

    fn update_with_greedy_condition(
        &mut self,
        state: usize,
        take: Condition<E>,
    ) {
        for t in &mut self.states[state].transitions {
            let cond = std::mem::replace(&mut t.2, Condition::always());
            t.2 = cond.and(take.clone().not());
        }
    }

    fn check_window_times(&self) -> Result<(), PatternError> {
        let Some(window) = self.window_time else { return Ok(()) };
        for s in &self.states {
            if s.window_previous.is_some_and(|w| w > window) {
                let stage = s.stage.map(|id| self.st(id).name.as_str());
                return Err(PatternError::new(stage, Kind::LocalWindowLarger));
            }
        }
        Ok(())
    }

    /// Per state: whether some path of proceed edges leads from it to the
    /// final state (whatever their conditions), i.e. whether Flink's
    /// `findFinalStateAfterProceed` can find anything there.
    fn proceed_paths_to_final(&self) -> Vec<bool> {
        let n = self.states.len();
        let mut finishes = vec![false; n];
        // Backwards from the final state(s) over proceed edges, to a fixed
        // point (the graphs are tiny).
        let mut changed = true;
        while changed {
            changed = false;
            for (i, s) in self.states.iter().enumerate() {
                if finishes[i] {
                    continue;
                }
                let reaches = s.transitions.iter().any(|t| {
                    t.0 == Action::Proceed
                        && (self.states[t.1].kind == StateKind::Final
                            || finishes[t.1])
                });
                if reaches {
                    finishes[i] = true;
                    changed = true;
                }
            }
        }
        finishes
    }

    fn freeze(self) -> (Vec<State<E>>, Vec<Leaf<E>>) {
        let mut leaves = Vec::new();
        let mut numbers = HashMap::new();
        let kinds: Vec<StateKind> =
            self.states.iter().map(|s| s.kind).collect();
        let proceeds: Vec<bool> = self
            .states
            .iter()
            .map(|s| s.transitions.iter().any(|t| t.0 == Action::Proceed))
            .collect();
        let finishes = self.proceed_paths_to_final();
        let mut states = self
            .states
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let transitions = {
                    let mut out: Vec<Transition<E>> = Vec::new();
                    for (action, target, condition) in s.transitions {
                        let program =
                            condition.compile(&mut leaves, &mut numbers);
                        let test = Test::new(program);
                        out.push(Transition {
                            action,
                            source: StateId::must(i),
                            stage: s.stage,
                            target: StateId::must(target),
                            reuse: Reuse::between(
                                out.last().map(|t| &t.test),
                                &test,
                            ),
                            target_final: kinds[target] == StateKind::Final,
                            target_may_finish: finishes[target],
                            test,
                            condition,
                        });
                    }
                    out
                };
                State {
                    name: s.name,
                    kind: s.kind,
                    has_proceed: proceeds[i],
                    direct: false,
                    then: None,
                    exclusive: None,
                    transitions,
                    window_previous: s.window_previous,
                }
            })
            .collect::<Vec<_>>();
        // Shapes that read other states, worked out once all exist.
        let shapes: Vec<_> = (0..states.len())
            .map(|i| (direct_shape(&states, i), Exclusive::of(&states, i)))
            .collect();
        for (state, (direct, exclusive)) in states.iter_mut().zip(shapes) {
            state.direct = direct.is_some();
            state.then = direct.flatten();
            state.exclusive = exclusive;
        }
        (states, leaves)
    }
}

fn contiguity_to_consuming(c: Contiguity) -> Consuming {
    match c {
        Contiguity::Strict => Consuming::Strict,
        Contiguity::Relaxed => Consuming::SkipTillNext,
        Contiguity::NonDeterministicRelaxed => Consuming::SkipTillAny,
    }
}

/// Flink's `extendWithUntilCondition`.
fn extend_with_until<E>(
    cond: Option<Condition<E>>,
    until: Option<&Condition<E>>,
    is_take: bool,
) -> Option<Condition<E>> {
    match (cond, until) {
        (Some(c), Some(u)) => Some(u.clone().not().and(c)),
        (None, Some(u)) if is_take => Some(u.clone().not()),
        (c, _) => c,
    }
}
