//! Spec text -> validated, compiled patterns, through the same
//! [`PatternBuilder`] a Rust user writes (one compiler, not two).

use std::sync::Arc;

use hashbrown::HashMap;

use super::error::SpecError;
use super::event::{EventParser, FieldPath, FieldTable, JsonEvent, Layout};
use super::expr::{self, Expr, MatchEvents};
use super::model::{
    ConnectSpec, PatternSpec, SimpleSkip, SkipSpec, SpecFile, StageSkip,
    StageSpec, TimesSpec, WithinTypeSpec,
};
use crate::nfa::Context;
use crate::pattern::builder::RepeatCall;
use crate::pattern::{
    Condition, Pattern, PatternBuilder, SkipStrategy, WithinType,
};
use crate::util::ids::StageId;

/// A loaded spec: key and time extraction and the compiled patterns.
#[derive(Debug, Clone)]
pub struct CompiledSpec {
    pub(crate) key: Option<FieldPath>,
    pub(crate) time: Option<(FieldPath, i64)>,
    pub(crate) patterns: Vec<CompiledPattern>,
    /// What to extract from each line: the fields the expressions read,
    /// the key and the time.
    pub(crate) layout: Layout,
}

/// One pattern of a spec.
#[derive(Debug, Clone)]
pub struct CompiledPattern {
    pub(crate) name: String,
    pub(crate) pattern: Pattern<JsonEvent>,
    pub(crate) timeouts: bool,
}

impl CompiledPattern {
    /// The pattern's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The compiled pattern.
    pub fn pattern(&self) -> &Pattern<JsonEvent> {
        &self.pattern
    }

    /// Whether timeouts are reported.
    pub fn timeouts(&self) -> bool {
        self.timeouts
    }
}

impl CompiledSpec {
    /// The patterns, in spec order.
    pub fn patterns(&self) -> &[CompiledPattern] {
        &self.patterns
    }

    /// The key field path, if keyed.
    pub fn key(&self) -> Option<&FieldPath> {
        self.key.as_ref()
    }

    /// The time field path and out-of-orderness, if in event time.
    pub fn time(&self) -> Option<(&FieldPath, i64)> {
        self.time.as_ref().map(|(p, o)| (p, *o))
    }

    /// Reads an event (one JSON object) for this spec's patterns: only
    /// the fields the spec reads are extracted. (A runner reuses one
    /// parser; this makes a new one per call.)
    ///
    /// # Errors
    ///
    /// The reason when the line is not a JSON object.
    pub fn parse_event(&self, line: &str) -> Result<JsonEvent, String> {
        EventParser::new(self.layout.clone()).parse(line)?.event()
    }
}

/// Loads and validates a spec.
///
/// # Errors
///
/// A [`SpecError`] naming the pattern, the stage and, for expressions,
/// the column: bad JSON, unknown or duplicate fields, unknown stages in
/// expressions, bad regexes, or anything Flink's API would reject.
pub fn load(text: &str) -> Result<CompiledSpec, SpecError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let file: SpecFile =
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path.is_empty() || path == "." {
                SpecError::new(format!("bad JSON: {inner}"))
            } else if inner.is_syntax() || inner.is_eof() {
                // Not JSON at all, wherever it broke off.
                SpecError::new(format!("bad JSON: {path}: {inner}"))
            } else {
                SpecError::new(format!("{path}: {inner}"))
            }
        })?;
    compile_file(file)
}

/// Loads from already parsed serde types.
///
/// # Errors
///
/// As [`load`].
pub fn compile_file(file: SpecFile) -> Result<CompiledSpec, SpecError> {
    let key = match &file.key {
        Some(k) => Some(field_path(k, "key")?),
        None => None,
    };
    let time = match &file.time {
        Some(t) => {
            if t.out_of_orderness_ms < 0 {
                return Err(SpecError::new(
                    "time.out_of_orderness_ms: must be >= 0",
                ));
            }
            Some((field_path(&t.field, "time.field")?, t.out_of_orderness_ms))
        }
        None => None,
    };
    if file.patterns.is_empty() {
        return Err(SpecError::new("patterns: must be a non-empty array"));
    }
    let mut names = hashbrown::HashSet::new();
    let mut patterns = Vec::with_capacity(file.patterns.len());
    let mut fields = FieldTable::default();
    for p in &file.patterns {
        if !names.insert(p.name.as_str()) {
            return Err(
                SpecError::new("duplicate pattern name").in_pattern(&p.name)
            );
        }
        patterns.push(
            compile_pattern(p, &mut fields)
                .map_err(|e| e.in_pattern(&p.name))?,
        );
    }
    let layout =
        Layout::new(fields, key.as_ref(), time.as_ref().map(|(p, _)| p));
    Ok(CompiledSpec { key, time, patterns, layout })
}

fn field_path(text: &str, what: &str) -> Result<FieldPath, SpecError> {
    FieldPath::parse(text).ok_or_else(|| {
        SpecError::new(format!("{what}: bad field path {text:?}"))
    })
}

/// Stage ids in declaration order, a group's members right after it:
/// the numbering the builder gives, so expressions can be resolved
/// before the pattern is built.
struct StageTable {
    ids: HashMap<String, StageId>,
    /// For each stage id: the ids of its members (a group's descendants
    /// are numbered contiguously after it), empty for an event stage.
    members: Vec<std::ops::Range<usize>>,
}

impl StageTable {
    fn collect(stages: &[StageSpec]) -> Result<Self, SpecError> {
        let mut table =
            StageTable { ids: HashMap::new(), members: Vec::new() };
        table.walk(stages)?;
        Ok(table)
    }

    fn walk(&mut self, stages: &[StageSpec]) -> Result<(), SpecError> {
        for s in stages {
            if s.name.is_empty() {
                return Err(SpecError::new("empty stage name"));
            }
            let index = self.members.len();
            let id = StageId::must(index);
            if self.ids.insert(s.name.clone(), id).is_some() {
                return Err(
                    SpecError::new("duplicate stage name").in_stage(&s.name)
                );
            }
            self.members.push(index..index);
            if let Some(g) = &s.group {
                self.walk(g)?;
                self.members[index] = index + 1..self.members.len();
            }
        }
        Ok(())
    }

    fn resolve(&self, name: &str) -> Option<StageId> {
        self.ids.get(name).copied()
    }
}

fn compile_pattern(
    p: &PatternSpec,
    fields: &mut FieldTable,
) -> Result<CompiledPattern, SpecError> {
    if p.stages.is_empty() {
        return Err(SpecError::new("'stages' must be a non-empty array"));
    }
    let table = StageTable::collect(&p.stages)?;
    let mut builder = build_sequence(&p.stages, &table, fields)?;
    if let Some(ms) = p.within_ms {
        builder = builder.within_ms(ms, within_type(p.within_type));
    }
    builder = builder.skip(match &p.skip {
        None | Some(SkipSpec::Simple(SimpleSkip::NoSkip)) => {
            SkipStrategy::NoSkip
        }
        Some(SkipSpec::Simple(SimpleSkip::SkipToNext)) => {
            SkipStrategy::SkipToNext
        }
        Some(SkipSpec::Simple(SimpleSkip::SkipPastLastEvent)) => {
            SkipStrategy::SkipPastLastEvent
        }
        Some(SkipSpec::ToStage(StageSkip::SkipToFirst(s))) => {
            SkipStrategy::skip_to_first(s)
        }
        Some(SkipSpec::ToStage(StageSkip::SkipToLast(s))) => {
            SkipStrategy::skip_to_last(s)
        }
    });
    let pattern = builder.build().map_err(|e| {
        let mut err = SpecError::new(
            e.to_string()
                .split_once(": ")
                .map_or_else(|| e.to_string(), |(_, rest)| rest.to_owned()),
        );
        if e.stage().is_none() {
            err.detail.message = e.to_string();
        }
        err.detail.stage = e.stage().map(str::to_owned);
        err.detail.source = Some(e);
        err
    })?;
    Ok(CompiledPattern { name: p.name.clone(), pattern, timeouts: p.timeouts })
}

fn within_type(t: Option<WithinTypeSpec>) -> WithinType {
    match t {
        Some(WithinTypeSpec::PreviousAndCurrent) => {
            WithinType::PreviousAndCurrent
        }
        _ => WithinType::FirstAndLast,
    }
}

fn build_sequence(
    stages: &[StageSpec],
    table: &StageTable,
    fields: &mut FieldTable,
) -> Result<PatternBuilder<JsonEvent>, SpecError> {
    let mut builder: Option<PatternBuilder<JsonEvent>> = None;
    for (i, s) in stages.iter().enumerate() {
        builder = Some(
            add_stage(builder, i, s, table, fields)
                .map_err(|e| e.in_stage(&s.name))?,
        );
    }
    // OK because `stages` is not empty (checked by callers).
    builder.ok_or_else(|| SpecError::new("a group must be a non-empty array"))
}

fn add_stage(
    builder: Option<PatternBuilder<JsonEvent>>,
    index: usize,
    s: &StageSpec,
    table: &StageTable,
    fields: &mut FieldTable,
) -> Result<PatternBuilder<JsonEvent>, SpecError> {
    let group = match &s.group {
        Some(g) if s.condition.is_some() => {
            let _ = g;
            return Err(SpecError::new("'group' and 'where' are exclusive"));
        }
        Some(g) if g.is_empty() => {
            return Err(SpecError::new("'group' must be a non-empty array"))
        }
        Some(g) => Some(build_sequence(g, table, fields)?),
        None => None,
    };
    let name = s.name.clone();
    let mut b = match (builder, s.connect, index) {
        (None, None, 0) => match group {
            Some(g) => Pattern::begin_group(name, g),
            None => Pattern::begin(name),
        },
        (_, Some(_), 0) | (None, _, _) => {
            return Err(SpecError::new(
                "'connect' is not allowed on a first stage",
            ))
        }
        (Some(_), None, _) => return Err(SpecError::new("missing 'connect'")),
        (Some(b), Some(c), _) => match (c, group) {
            (ConnectSpec::Next, Some(g)) => b.next_group(name, g),
            (ConnectSpec::FollowedBy, Some(g)) => b.followed_by_group(name, g),
            (ConnectSpec::FollowedByAny, Some(g)) => {
                b.followed_by_any_group(name, g)
            }
            (ConnectSpec::NotNext | ConnectSpec::NotFollowedBy, Some(_)) => {
                return Err(SpecError::new(
                    "not_next / not_followed_by cannot apply to a group",
                ))
            }
            (ConnectSpec::Next, None) => b.next(name),
            (ConnectSpec::FollowedBy, None) => b.followed_by(name),
            (ConnectSpec::FollowedByAny, None) => b.followed_by_any(name),
            (ConnectSpec::NotNext, None) => b.not_next(name),
            (ConnectSpec::NotFollowedBy, None) => b.not_followed_by(name),
        },
    };
    if let Some(src) = &s.condition {
        b = b.when_condition(expression(src, "where", table, fields)?);
    }
    let mut quantifiers = 0;
    if let Some(t) = s.times {
        quantifiers += 1;
        b = b.repeat_call(match t {
            TimesSpec::Exactly(n) => RepeatCall::Times(n),
            TimesSpec::Range(from, to) => RepeatCall::TimesRange(from, to),
        });
    }
    if let Some(n) = s.times_or_more {
        quantifiers += 1;
        b = b.repeat_call(RepeatCall::TimesOrMore(n));
    }
    if s.one_or_more == Some(true) {
        quantifiers += 1;
        b = b.repeat_call(RepeatCall::OneOrMore);
    }
    if quantifiers > 1 {
        return Err(SpecError::new(
            "at most one of times / times_or_more / one_or_more",
        ));
    }
    if s.consecutive == Some(true) {
        b = b.consecutive();
    }
    if s.allow_combinations == Some(true) {
        b = b.allow_combinations();
    }
    if s.optional == Some(true) {
        b = b.optional();
    }
    if s.greedy == Some(true) {
        b = b.greedy();
    }
    if let Some(src) = &s.until {
        b = b.until_condition(expression(src, "until", table, fields)?);
    }
    if let Some(ms) = s.within_ms {
        b = b.within_ms(ms, within_type(s.within_type));
    }
    Ok(b)
}

/// Compiles an expression into a condition over JSON events; the fields
/// it reads get their slots in `fields`.
fn expression(
    src: &str,
    field: &'static str,
    table: &StageTable,
    fields: &mut FieldTable,
) -> Result<Condition<JsonEvent>, SpecError> {
    let mut expr =
        expr::compile(src, &|name| table.resolve(name)).map_err(|e| {
            let mut err = SpecError::new(e.message().to_owned());
            err.detail.field = Some(field);
            err.detail.column = Some(e.column());
            err.detail.caret = Some(e.caret(src));
            err
        })?;
    expr.bind(fields);
    let expr = Arc::new(expr);
    let groups: Arc<[std::ops::Range<usize>]> = table.members.clone().into();
    let condition = if expr.reads_match() {
        Condition::iterative(move |e: &JsonEvent, ctx| {
            expr.test(e, &ContextEvents { ctx, groups: &groups })
        })
    } else {
        expr.simple_condition()
    };
    Ok(condition.labeled(src.trim()))
}

/// The partial match as the expression language reads it. A group's name
/// stands for the events of all its members, in match order (what the
/// Flink oracle does; the contract leaves group names out, we accept
/// them).
struct ContextEvents<'c, 'a> {
    ctx: &'c Context<'a, JsonEvent>,
    groups: &'c [std::ops::Range<usize>],
}

impl<'a> ContextEvents<'_, 'a> {
    /// The members of a group stage; empty for an event stage.
    fn members(&self, stage: StageId) -> &std::ops::Range<usize> {
        &self.groups[stage.as_usize()]
    }

    /// The events of group `members`, newest first.
    fn group_rev(
        &self,
        members: &std::ops::Range<usize>,
    ) -> impl Iterator<Item = &'a JsonEvent> + '_ {
        let members = members.clone();
        self.ctx
            .all_events_rev()
            .filter(move |(s, _)| members.contains(&s.as_usize()))
            .map(|(_, e)| e)
    }
}

impl MatchEvents for ContextEvents<'_, '_> {
    fn for_each_rev<'s>(
        &'s self,
        stage: StageId,
        f: &mut dyn FnMut(&'s JsonEvent) -> bool,
    ) {
        let members = self.members(stage);
        if members.is_empty() {
            for e in self.ctx.events_rev(stage) {
                if !f(e) {
                    break;
                }
            }
        } else {
            for e in self.group_rev(members) {
                if !f(e) {
                    break;
                }
            }
        }
    }

    fn last(&self, stage: StageId) -> Option<&JsonEvent> {
        let members = self.members(stage);
        if members.is_empty() {
            self.ctx.events_rev(stage).next()
        } else {
            self.group_rev(members).next()
        }
    }

    fn first(&self, stage: StageId) -> Option<&JsonEvent> {
        let members = self.members(stage);
        if members.is_empty() {
            self.ctx.events_rev(stage).last()
        } else {
            self.group_rev(members).last()
        }
    }

    fn count(&self, stage: StageId, cap: usize) -> usize {
        let members = self.members(stage);
        if members.is_empty() {
            self.ctx.events_rev(stage).take(cap).count()
        } else {
            self.group_rev(members).take(cap).count()
        }
    }
}

#[allow(dead_code)]
fn _assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Expr>();
}
