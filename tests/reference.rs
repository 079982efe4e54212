//! A naive reference matcher for the part of Flink CEP that the property
//! tests generate, written from the definition of the semantics, not as
//! an automaton: it enumerates assignments of events to stages and keeps
//! those the definition allows. It is slow (exponential) and meant for
//! streams of at most ~10 events and patterns of at most 3 stages.
//!
//! This comment is the definition; the code below transcribes it.
//!
//! # Patterns covered
//!
//! A pattern is 1 to 3 stages `S0 .. Sk`. A stage has a condition (a set
//! of event kinds), a quantifier, an `optional` flag, an inner contiguity
//! (for quantified stages) and, except `S0`, a connect (its contiguity to
//! the stage before). Optionally a `within` window (on any stages; the
//! smallest one bounds the whole pattern, as in Flink) and a skip
//! strategy. Not covered: negations, `greedy`, `until`, groups,
//! iterative conditions, `previous_and_current` windows.
//!
//! # Candidates
//!
//! Events are `e0 .. e(n-1)` in processing order (timestamps do not
//! decrease). A *candidate* is a non-empty sequence `(s1, j1) .. (sL, jL)`
//! of (stage, event) pairs with `j` strictly and `s` weakly increasing:
//! each stage takes a contiguous block of the sequence. Write `p` for the
//! event taken right before `j` in the candidate. A candidate is
//! *consistent* when:
//!
//! 1. every event satisfies the condition of the stage that takes it;
//! 2. no stage takes more events than its quantifier's maximum (single:
//!    1, `times(n)`: n, `times_range(a, b)`: b, loops: unbounded);
//! 3. the stages before `s1` and the stages strictly between two
//!    consecutive blocks are *skippable* (`optional`, or
//!    `times_range(0, b)`, which Flink turns into an optional
//!    `times(1, b)`);
//! 4. a stage left for a later one has taken at least its quantifier's
//!    minimum (single: 1, `times(n)`: n, `times_range(a, b)`: max(a, 1),
//!    `times_or_more(n)`: n, `one_or_more`: 1);
//! 5. the first event `j` of a block of stage `S` (other than the very
//!    first block) relates to `p` by `S`'s connect, the next event `j` of
//!    the same block by `S`'s inner contiguity, where:
//!    * strict (`next`, `consecutive`): `j == p + 1`;
//!    * relaxed (`followed_by`, the default inside a stage): no event
//!      strictly between `p` and `j` satisfies `S`'s condition, i.e. `j`
//!      is the first later event `S` could take (Flink's SKIP_TILL_NEXT);
//!    * any (`followed_by_any`, `allow_combinations`): no constraint.
//!
//!    The relation is always to the previous *taken* event: a skipped
//!    optional stage in between changes nothing, and only the condition
//!    of the stage taking `j` matters (Flink's NFA leaves an optional or
//!    a loop through a proceed edge evaluated on the event right after
//!    `p`, and the next stage's own ignore edge decides what may be
//!    skipped after that). The first block has no constraint: Flink's
//!    start state is re-entered at every event.
//!
//! Rules 1-5 only relate neighbours, so every prefix of a consistent
//! candidate is consistent. A consistent candidate is a *match* when its
//! last stage has taken its minimum and every later stage is skippable.
//! With a window `w`, a candidate is only considered while
//! `ts(jL) - ts(j1) < w` (exclusive, as in Flink).
//!
//! A consistent candidate whose events are all `<= t` is a *partial
//! match alive after event t* when one more event could extend it: for
//! some stage `S`, rules 2-5 allow `S` to take a hypothetical event at
//! position `t + 1` (for relaxed contiguity, only the real events up to
//! `t` can be in the way; later events can be chosen freely, and any
//! condition is satisfiable, so such a candidate can still complete).
//! This is exactly when Flink still holds a computation state for it.
//! With a window it is alive at time `T` only while `T - ts(j1) < w`
//! (Flink drops it when time reaches `ts(j1) + w`). Only the *start*
//! `j1` of partial matches matters below.
//!
//! # Output
//!
//! Without skip strategy (`no_skip`) every match is emitted once, when
//! its last event is processed.
//!
//! With any other strategy, Flink's hold-back rule applies. The state is
//! the set `held` of completed matches not yet emitted and the set `dead`
//! of start events whose matches and partial matches were pruned. At each
//! *emission point*, repeat: let `m0` be the smallest start of a held
//! match; if a partial match alive at that moment (start not dead)
//! started before `m0`, stop; otherwise emit one held match `m` starting
//! at `m0` and prune with its pruning event `x`: `skip_to_next` kills
//! starts `<=` the first event of `m`, `skip_past_last_event` starts `<=` its
//! last event, `skip_to_first(S)` / `skip_to_last(S)` starts `<` the
//! first / last event `S` took in `m` (nothing when `S` took none); held
//! matches with a dead start are dropped. Ties: a partial match with the
//! same start as `m0` does not block. The emission points, for each event
//! `t` at time `T`:
//!
//! * time advances to `T`: emission point with the partials alive after
//!   `t - 1` that have not expired at `T` (this releases matches held by
//!   a partial match whose window just closed);
//! * the matches ending at `t` (start not dead) join `held`; emission
//!   point with the partials alive after `t`, at `T`;
//!
//! and at the end of input, time goes to infinity: with a window, every
//! partial expires and the last emission point releases everything still
//! held; without a window nothing happens, so matches held by a partial
//! match that can never complete are never emitted (Flink never releases
//! them).
//!
//! Which of several held matches with the same smallest start Flink
//! emits first depends on its priority queue's internal order, not on
//! anything in the definition, yet it matters (`skip_to_next` keeps only
//! the first, for instance). The reference leaves that choice to its
//! caller (`choose`); the property tests replay the engine's choice and
//! check that it was one of the allowed ones, and that everything else
//! follows.
//!
//! # Where the rules come from, and what Flink said
//!
//! Rule 5's treatment of skipped optional stages and of loops whose
//! condition overlaps the next stage's was read off Flink's
//! `NFACompiler` (the proceed edge out of a loop or an optional stage is
//! taken on the event right after `p`; the ignore state of an optional
//! stage has no proceed edge; the start state drops ignore edges and is
//! re-created on every event). Everything above was then checked against
//! Flink CEP 2.3 with the oracle (`/work/shared/oracle`) on 2 600+
//! generated cases (`dump_cases` in `properties.rs`): 2 000 random ones
//! of every generator, 300 that use skipped optional stages, relaxed,
//! consecutive and combined loops, 287 with held-back or tied matches,
//! and 40 where the hold-back rule changes the output under
//! `skip_to_next` / `skip_past_last_event`; Flink agreed on all of them.
//! Two points are worth recording:
//!
//! * The hold-back rule applies to `skip_to_next` (and
//!   `skip_past_last_event`) too, although `spec-format.md` says
//!   otherwise. Oracle case: stages `s0` (kind 1, `times_or_more(2)`,
//!   optional), `s1` (kind 0, `followed_by`), `skip_to_next`; events
//!   (id:kind@ts) `0:1@1 1:0@1 2:1@4 3:0@6`. Flink emits
//!   `{s0:[0,2], s1:[3]}` and `{s1:[1]}`: the match `{s1:[1]}` completed
//!   at event 1 waited for the partial match started at event 0, which
//!   completed first at event 3 (emitted at once, it would have pruned
//!   that partial match and `{s0:[0,2], s1:[3]}` would be missing).
//! * Among held matches with the same start, Flink's order is its
//!   priority queue's; the engine reproduces it (the 287 tie cases
//!   agree), so the properties can replay the engine's choice.

/// Event kinds used by the generators: conditions are sets of them.
pub const KINDS: u8 = 3;

/// A test event: `id` makes equal kinds at different places distinct.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Ord, PartialOrd)]
pub struct Ev {
    pub id: u32,
    pub kind: u8,
    pub ts: i64,
}

/// How an event may be separated from the one taken before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contiguity {
    /// `next` / `consecutive`.
    Strict,
    /// `followed_by` / the default inside a quantified stage.
    Relaxed,
    /// `followed_by_any` / `allow_combinations`.
    Any,
}

/// The quantifier call, as made on the builder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quantifier {
    Once,
    Times(u32),
    TimesRange(u32, u32),
    TimesOrMore(u32),
    OneOrMore,
}

#[derive(Clone, Debug)]
pub struct Stage {
    pub name: String,
    /// The condition: bit `k` set means events of kind `k` qualify.
    pub kinds: u8,
    /// Contiguity to the previous stage; ignored on the first stage.
    pub connect: Contiguity,
    pub quantifier: Quantifier,
    pub optional: bool,
    /// Contiguity inside the stage; `Relaxed` unless quantified.
    pub inner: Contiguity,
    /// A `within` (first_and_last) window set on this stage, in ms.
    pub within: Option<i64>,
}

/// The after-match skip strategy; stages are named by index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterMatch {
    NoSkip,
    ToNext,
    PastLastEvent,
    ToFirst(usize),
    ToLast(usize),
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub stages: Vec<Stage>,
    pub skip: AfterMatch,
}

/// A match as the engine reports it: each stage that took events, in
/// stage order, with its events.
pub type Match = Vec<(String, Vec<Ev>)>;

impl Stage {
    pub fn accepts(&self, e: &Ev) -> bool {
        self.kinds >> e.kind & 1 == 1
    }

    /// Rule 3.
    fn skippable(&self) -> bool {
        self.optional
            || matches!(self.quantifier, Quantifier::TimesRange(0, _))
    }

    /// Rule 4: the least number of events once the stage takes any.
    fn least(&self) -> u32 {
        match self.quantifier {
            Quantifier::Once | Quantifier::OneOrMore => 1,
            Quantifier::Times(n) | Quantifier::TimesOrMore(n) => n,
            Quantifier::TimesRange(from, _) => from.max(1),
        }
    }

    /// Rule 2.
    fn most(&self) -> u32 {
        match self.quantifier {
            Quantifier::Once => 1,
            Quantifier::Times(n) => n,
            Quantifier::TimesRange(_, to) => to,
            Quantifier::TimesOrMore(_) | Quantifier::OneOrMore => u32::MAX,
        }
    }
}

impl Spec {
    /// The pattern's window: the smallest positive `within` of all
    /// stages.
    pub fn window(&self) -> Option<i64> {
        self.stages.iter().filter_map(|s| s.within).filter(|&w| w > 0).min()
    }
}

/// A candidate: (stage, event) pairs in event order.
type Candidate = Vec<(usize, usize)>;

/// Rule 5 between `p` and `j`: only the events strictly between them
/// are looked at, so `j` may be a hypothetical event past the last one.
fn gap_ok(
    c: Contiguity,
    stage: &Stage,
    events: &[Ev],
    p: usize,
    j: usize,
) -> bool {
    match c {
        Contiguity::Strict => j == p + 1,
        Contiguity::Relaxed => {
            !events[p + 1..j].iter().any(|e| stage.accepts(e))
        }
        Contiguity::Any => true,
    }
}

/// Rules 2-5 for stage `s` taking the event at position `j` after `cand`
/// (its own condition, rule 1, aside).
fn may_take(
    spec: &Spec,
    events: &[Ev],
    cand: &[(usize, usize)],
    s: usize,
    j: usize,
) -> bool {
    let stage = &spec.stages[s];
    let Some(&(last_stage, p)) = cand.last() else {
        return spec.stages[..s].iter().all(Stage::skippable);
    };
    if j <= p || s < last_stage {
        return false;
    }
    let taken = cand.iter().filter(|&&(x, _)| x == last_stage).count() as u32;
    if s == last_stage {
        taken < stage.most() && gap_ok(stage.inner, stage, events, p, j)
    } else {
        taken >= spec.stages[last_stage].least()
            && spec.stages[last_stage + 1..s].iter().all(Stage::skippable)
            && gap_ok(stage.connect, stage, events, p, j)
    }
}

fn is_match(spec: &Spec, cand: &[(usize, usize)]) -> bool {
    let Some(&(last_stage, _)) = cand.last() else { return false };
    let taken = cand.iter().filter(|&&(x, _)| x == last_stage).count() as u32;
    taken >= spec.stages[last_stage].least()
        && spec.stages[last_stage + 1..].iter().all(Stage::skippable)
}

/// Alive after event `t`: some stage could take a next event.
fn alive_after(
    spec: &Spec,
    events: &[Ev],
    cand: &[(usize, usize)],
    t: usize,
) -> bool {
    (0..spec.stages.len()).any(|s| may_take(spec, events, cand, s, t + 1))
}

/// A match with where it starts and ends.
struct Found {
    cand: Candidate,
    start: usize,
    end: usize,
}

/// Every match, and for each event `t` the starts (a bit set) of the
/// partial matches alive after `t` (windows aside).
struct Analysis {
    matches: Vec<Found>,
    alive: Vec<u32>,
    /// Extensions the window forbade.
    window_cuts: usize,
}

/// Candidates explored before the reference gives up (a blow-up of
/// `followed_by_any` and `allow_combinations`).
const MAX_CANDIDATES: usize = 400_000;

fn analyse(spec: &Spec, events: &[Ev]) -> Option<Analysis> {
    let mut a = Analysis {
        matches: Vec::new(),
        alive: vec![0; events.len()],
        window_cuts: 0,
    };
    let mut budget = MAX_CANDIDATES;
    extend(spec, events, &mut Vec::new(), &mut a, &mut budget)?;
    Some(a)
}

fn extend(
    spec: &Spec,
    events: &[Ev],
    cand: &mut Candidate,
    a: &mut Analysis,
    budget: &mut usize,
) -> Option<()> {
    *budget = budget.checked_sub(1)?;
    if let (Some(&(_, start)), Some(&(_, last))) = (cand.first(), cand.last())
    {
        // Once a partial match cannot be extended it stays so: strict
        // contiguity only allows the very next event, and an event in
        // the way of relaxed contiguity stays in the way.
        let mut t = last;
        while t < events.len() && alive_after(spec, events, cand, t) {
            a.alive[t] |= 1 << start;
            t += 1;
        }
        if is_match(spec, cand) {
            a.matches.push(Found { cand: cand.clone(), start, end: last });
        }
    }
    let from = cand.last().map_or(0, |&(_, p)| p + 1);
    for j in from..events.len() {
        if let (Some(w), Some(&(_, start))) = (spec.window(), cand.first()) {
            if events[j].ts - events[start].ts >= w {
                let stages = 0..spec.stages.len();
                a.window_cuts += stages
                    .filter(|&s| {
                        spec.stages[s].accepts(&events[j])
                            && may_take(spec, events, cand, s, j)
                    })
                    .count();
                break;
            }
        }
        for s in 0..spec.stages.len() {
            if spec.stages[s].accepts(&events[j])
                && may_take(spec, events, cand, s, j)
            {
                cand.push((s, j));
                extend(spec, events, cand, a, budget)?;
                cand.pop();
            }
        }
    }
    Some(())
}

fn to_match(spec: &Spec, events: &[Ev], cand: &[(usize, usize)]) -> Match {
    let mut out: Match = Vec::new();
    for &(s, j) in cand {
        let name = &spec.stages[s].name;
        match out.last_mut() {
            Some((last, evs)) if last == name => evs.push(events[j].clone()),
            _ => out.push((name.clone(), vec![events[j].clone()])),
        }
    }
    out
}

/// The event a match prunes against, and whether a start equal to it is
/// pruned too.
fn pruning(skip: AfterMatch, m: &Found) -> Option<(usize, bool)> {
    let of = |stage: usize| {
        m.cand.iter().filter(move |&&(s, _)| s == stage).map(|&(_, j)| j)
    };
    match skip {
        AfterMatch::NoSkip => None,
        AfterMatch::ToNext => Some((m.start, true)),
        AfterMatch::PastLastEvent => Some((m.end, true)),
        AfterMatch::ToFirst(stage) => of(stage).next().map(|j| (j, false)),
        AfterMatch::ToLast(stage) => of(stage).next_back().map(|j| (j, false)),
    }
}

/// What the reference saw while producing the output.
#[derive(Clone, Copy, Debug, Default)]
pub struct Stats {
    /// Emissions where several held matches shared the smallest start.
    pub ties: usize,
    /// Matches held back at least once by an earlier partial match.
    pub held_back: usize,
    /// Matches never emitted (pruned or held forever).
    pub lost: usize,
    /// Extensions of a candidate the window forbade.
    pub window_cuts: usize,
}

/// The expected output: for each event, the matches emitted while
/// processing it, then those emitted at the end of input (one more
/// entry). `choose(step, position, candidates)` picks which of several
/// held matches with the same start is emitted (see the module comment);
/// `None` when the stream is too large to enumerate.
pub fn expected(
    spec: &Spec,
    events: &[Ev],
    choose: &mut dyn FnMut(usize, usize, &[Match]) -> usize,
) -> Option<(Vec<Vec<Match>>, Stats)> {
    assert!(events.len() <= 32, "starts are kept in a u32 bit set");
    let a = analyse(spec, events)?;
    let mut stats = Stats { window_cuts: a.window_cuts, ..Stats::default() };
    let n = events.len();
    if spec.skip == AfterMatch::NoSkip {
        let mut steps = vec![Vec::new(); n + 1];
        for m in &a.matches {
            steps[m.end].push(to_match(spec, events, &m.cand));
        }
        return Some((steps, stats));
    }
    let window = spec.window();
    // Partial matches alive at time `now`, from those alive after an
    // event: drop the ones whose window has closed.
    let unexpired = |starts: u32, now: i64| -> u32 {
        (0..n)
            .filter(|&s| starts >> s & 1 == 1)
            .filter(|&s| window.is_none_or(|w| now - events[s].ts < w))
            .fold(0, |acc, s| acc | 1 << s)
    };
    let mut sim = Sim {
        spec,
        events,
        a: &a,
        held: Vec::new(),
        dead: 0,
        was_held: vec![false; a.matches.len()],
        emitted: 0,
        stats: &mut stats,
        choose,
    };
    let mut steps = Vec::new();
    for (t, event) in events.iter().enumerate() {
        let now = event.ts;
        let mut out = Vec::new();
        if t > 0 {
            sim.emit(t, unexpired(a.alive[t - 1], now), &mut out);
        }
        for (i, m) in a.matches.iter().enumerate() {
            if m.end == t && sim.dead >> m.start & 1 == 0 {
                sim.held.push(i);
            }
        }
        sim.emit(t, unexpired(a.alive[t], now), &mut out);
        steps.push(out);
    }
    let mut out = Vec::new();
    if window.is_some() {
        sim.emit(n, 0, &mut out);
    }
    steps.push(out);
    let emitted = sim.emitted;
    stats.lost = a.matches.len() - emitted;
    Some((steps, stats))
}

struct Sim<'a, 'c> {
    spec: &'a Spec,
    events: &'a [Ev],
    a: &'a Analysis,
    /// Completed matches not yet emitted (indices into `a.matches`).
    held: Vec<usize>,
    /// Pruned start events (a bit set).
    dead: u32,
    was_held: Vec<bool>,
    emitted: usize,
    stats: &'a mut Stats,
    choose: &'c mut dyn FnMut(usize, usize, &[Match]) -> usize,
}

impl Sim<'_, '_> {
    /// One emission point, with the starts of the partial matches alive.
    fn emit(&mut self, step: usize, alive: u32, out: &mut Vec<Match>) {
        let a = self.a;
        while let Some(first) =
            self.held.iter().map(|&i| a.matches[i].start).min()
        {
            let earlier = alive & !self.dead & ((1u32 << first) - 1);
            if earlier != 0 {
                for &i in &self.held {
                    if !self.was_held[i] {
                        self.was_held[i] = true;
                        self.stats.held_back += 1;
                    }
                }
                return;
            }
            let tied: Vec<usize> = self
                .held
                .iter()
                .copied()
                .filter(|&i| a.matches[i].start == first)
                .collect();
            let pick = if tied.len() == 1 {
                tied[0]
            } else {
                self.stats.ties += 1;
                let shown: Vec<Match> = tied
                    .iter()
                    .map(|&i| {
                        to_match(self.spec, self.events, &a.matches[i].cand)
                    })
                    .collect();
                tied[(self.choose)(step, out.len(), &shown)
                    .min(tied.len() - 1)]
            };
            self.held.retain(|&i| i != pick);
            out.push(to_match(self.spec, self.events, &a.matches[pick].cand));
            self.emitted += 1;
            if let Some((x, inclusive)) =
                pruning(self.spec.skip, &a.matches[pick])
            {
                let upto = if inclusive { x + 1 } else { x };
                self.dead |= ((1u64 << upto) - 1) as u32;
                let dead = self.dead;
                self.held.retain(|&i| dead >> a.matches[i].start & 1 == 0);
            }
        }
    }
}
