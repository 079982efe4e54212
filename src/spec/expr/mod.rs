//! The condition expression language of the spec (spec-format.md,
//! "Expressions" and "Expression edge rules").
//!
//! Where the contract is silent, behaviour follows the Flink oracle's
//! reference interpreter (`shared/oracle/src/ceporacle/Expr.java`), so
//! that conditions decide exactly as they do under Flink: the same inputs
//! are accepted, and every value rule (nulls, types, number equality,
//! regex `find()`, aggregates) is the same.
//!
//! An expression is compiled once ([`compile`]) into an arena of nodes
//! with field paths pre-split and regexes pre-built; [`Expr::test`] then
//! evaluates it per event without allocating in the common cases.

mod ast;
mod closures;
mod eval;
mod java_regex;
mod lexer;
mod parser;

use std::fmt;
use std::sync::Arc;

use crate::pattern::Condition;
use crate::spec::event::{FieldTable, JsonEvent};
use crate::util::ids::StageId;

#[cfg(test)]
pub(crate) use eval::Val;

/// A compiled expression.
#[derive(Clone)]
pub(crate) struct Expr {
    ast: Arc<ast::Ast>,
    reads_match: bool,
    /// For each node: the slot of the field a `Field` or `Agg` node reads
    /// ([`UNBOUND`] for other nodes, and before [`Expr::bind`]).
    slots: Arc<[u32]>,
    /// The expression as closures, once bound.
    pred: Option<closures::Pred>,
}

impl fmt::Debug for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expr")
            .field("ast", &self.ast)
            .field("reads_match", &self.reads_match)
            .field("slots", &self.slots)
            .finish_non_exhaustive()
    }
}

/// The slot of a node that reads no field (an unbound field reads as
/// missing).
pub(crate) const UNBOUND: u32 = u32::MAX;

/// Where and why an expression is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExprError {
    /// 1-based column, in characters, of the offending spot.
    column: usize,
    message: String,
}

impl ExprError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        ExprError { column, message: message.into() }
    }

    /// 1-based column, in characters (Unicode code points), of the
    /// offending spot; one past the end for a premature end.
    pub(crate) fn column(&self) -> usize {
        self.column
    }

    /// What is wrong, lowercase, without a final period.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The source line holding the column, and a caret line under it:
    ///
    /// ```text
    /// type == "x" && count(fial) < 3
    ///                      ^
    /// ```
    ///
    /// Tabs before the column are kept in the caret line so that the caret
    /// lines up in a terminal.
    pub(crate) fn caret(&self, source: &str) -> String {
        let target = self.column.saturating_sub(1);
        let (mut line_char, mut line_byte) = (0, 0);
        for (i, (byte, c)) in source.char_indices().enumerate() {
            if i >= target {
                break;
            }
            if c == '\n' {
                (line_char, line_byte) = (i + 1, byte + 1);
            }
        }
        let rest = &source[line_byte..];
        let line = rest.split('\n').next().unwrap_or(rest);
        let line = line.strip_suffix('\r').unwrap_or(line);
        // Past the end of the line (only for a premature end): just after.
        let offset = (target - line_char).min(line.chars().count());
        let pad: String = line
            .chars()
            .take(offset)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{line}\n{pad}^")
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for ExprError {}

/// Compiles `source`. `resolve_stage` maps a stage name used in
/// count/sum/avg/min/max/first/last to its id, returning `None` for names
/// that are not (non-group) stages of the pattern; such a name is the error
/// `unknown stage "x"` at its column.
pub(crate) fn compile(
    source: &str,
    resolve_stage: &dyn Fn(&str) -> Option<StageId>,
) -> Result<Expr, ExprError> {
    let ast = parser::parse(source, resolve_stage)?;
    let reads_match = ast
        .reachable()
        .into_iter()
        .any(|id| matches!(ast.node(id), ast::Node::Agg(..)));
    let slots = vec![UNBOUND; ast.nodes.len()].into();
    Ok(Expr { ast: Arc::new(ast), reads_match, slots, pred: None })
}

/// Read access to the events the partial match has taken so far.
pub(crate) trait MatchEvents {
    /// Calls `f` on each event `stage` has taken so far in this partial
    /// match, MOST RECENT FIRST; `f` returns false to stop early. (The
    /// underlying store is a backwards linked list, so reverse order is
    /// the cheap one.) The events outlive the borrow of `self`, so values
    /// read from them can too.
    fn for_each_rev<'s>(
        &'s self,
        stage: StageId,
        f: &mut dyn FnMut(&'s JsonEvent) -> bool,
    );

    /// The most recent event `stage` has taken.
    fn last(&self, stage: StageId) -> Option<&JsonEvent> {
        let mut out = None;
        self.for_each_rev(stage, &mut |e| {
            out = Some(e);
            false
        });
        out
    }

    /// The first event `stage` took.
    fn first(&self, stage: StageId) -> Option<&JsonEvent> {
        let mut out = None;
        self.for_each_rev(stage, &mut |e| {
            out = Some(e);
            true
        });
        out
    }

    /// How many events `stage` has taken, counted up to `cap`.
    fn count(&self, stage: StageId, cap: usize) -> usize {
        let mut n = 0;
        if cap > 0 {
            self.for_each_rev(stage, &mut |_| {
                n += 1;
                n < cap
            });
        }
        n
    }
}

impl Expr {
    /// Evaluates to true only if the result is exactly boolean true
    /// (contract rule).
    #[inline]
    pub(crate) fn test(
        &self,
        event: &JsonEvent,
        matched: &dyn MatchEvents,
    ) -> bool {
        match &self.pred {
            Some(pred) => pred(event, matched),
            None => eval::test(&self.ast, &self.slots, event, matched),
        }
    }

    /// The value the expression evaluates to (for tests).
    #[cfg(test)]
    pub(crate) fn value<'a>(
        &'a self,
        event: &'a JsonEvent,
        matched: &'a dyn MatchEvents,
    ) -> Val<'a> {
        eval::value(&self.ast, &self.slots, event, matched)
    }

    /// Gives every field the expression reads, of the current event or
    /// inside an aggregate (`price` of `last(rise.price)`), its slot in
    /// `table`.
    /// Then compiles the expression into closures.
    pub(crate) fn bind(&mut self, table: &mut FieldTable) {
        let mut ids = self.ast.reachable();
        // Source order, so that slots are numbered predictably.
        ids.sort_by_key(|id| id.index());
        let mut slots = self.slots.to_vec();
        for id in ids {
            let path = match self.ast.node(id) {
                ast::Node::Field(path) => path,
                ast::Node::Agg(_, _, path) if !path.is_empty() => path,
                _ => continue,
            };
            slots[id.index()] = table.slot(path);
        }
        self.slots = slots.into();
        self.pred = Some(closures::predicate(&self.ast, &self.slots));
    }

    /// The engine's condition for an expression that does not read the
    /// partial match (see [`Expr::reads_match`]); call after
    /// [`Expr::bind`].
    pub(crate) fn simple_condition(&self) -> Condition<JsonEvent> {
        let pred = match &self.pred {
            Some(pred) => pred.clone(),
            // Not bound: the interpreter (every field reads as missing).
            None => {
                let (ast, slots) = (self.ast.clone(), self.slots.clone());
                Arc::new(move |e: &JsonEvent, m: &dyn MatchEvents| {
                    eval::test(&ast, &slots, e, m)
                })
            }
        };
        closures::condition(&self.ast, &self.slots, pred)
    }

    /// Whether the expression holds, by the interpreter alone (tests
    /// check the closures against it).
    #[cfg(test)]
    pub(crate) fn test_interpreted(
        &self,
        event: &JsonEvent,
        matched: &dyn MatchEvents,
    ) -> bool {
        eval::test(&self.ast, &self.slots, event, matched)
    }

    /// Whether the expression reads the partial match (uses
    /// count/sum/avg/min/max/first/last).
    pub(crate) fn reads_match(&self) -> bool {
        self.reads_match
    }

    /// Field paths of the current event this expression reads (for callers
    /// that pre-extract fields), each as its segments, without duplicates,
    /// in source order. Paths inside aggregates are not included: they
    /// are read from the taken events, not the current one.
    // Part of the module's API for callers that pre-extract fields; the
    // crate may not call it yet.
    #[allow(dead_code)]
    pub(crate) fn field_paths(&self) -> Vec<Vec<String>> {
        let mut ids = self.ast.reachable();
        // Arena order is the order the parser met them: source order.
        ids.sort_by_key(|id| id.index());
        let mut out: Vec<Vec<String>> = Vec::new();
        for id in ids {
            let ast::Node::Field(path) = self.ast.node(id) else {
                continue;
            };
            let segs: Vec<String> =
                path.iter().map(|s| s.to_string()).collect();
            if !out.contains(&segs) {
                out.push(segs);
            }
        }
        out
    }
}

/// A [`MatchEvents`] over plain vectors, for tests.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct TestMatch {
    /// Events per stage, in match order (oldest first).
    pub(crate) taken: std::collections::HashMap<StageId, Vec<JsonEvent>>,
    /// How many events the last walks visited in total.
    pub(crate) visits: std::cell::Cell<usize>,
}

#[cfg(test)]
impl TestMatch {
    pub(crate) fn with(stage: usize, events: Vec<JsonEvent>) -> Self {
        let mut m = TestMatch::default();
        m.taken.insert(StageId::must(stage), events);
        m
    }
}

#[cfg(test)]
impl MatchEvents for TestMatch {
    fn for_each_rev<'s>(
        &'s self,
        stage: StageId,
        f: &mut dyn FnMut(&'s JsonEvent) -> bool,
    ) {
        let Some(events) = self.taken.get(&stage) else { return };
        for ev in events.iter().rev() {
            self.visits.set(self.visits.get() + 1);
            if !f(ev) {
                return;
            }
        }
    }
}

/// An expression bound to its own slots, with a parser for events in
/// that layout (for tests).
#[cfg(test)]
pub(crate) struct Bound {
    pub(crate) expr: Expr,
    parser: crate::spec::event::EventParser,
}

#[cfg(test)]
impl Bound {
    pub(crate) fn new(
        src: &str,
        resolve_stage: &dyn Fn(&str) -> Option<StageId>,
    ) -> Result<Self, ExprError> {
        let mut expr = compile(src, resolve_stage)?;
        let mut table = FieldTable::default();
        expr.bind(&mut table);
        let layout = crate::spec::event::Layout::new(table, None, None);
        Ok(Bound {
            expr,
            parser: crate::spec::event::EventParser::new(layout),
        })
    }

    /// An event with the fields of `v` (an object).
    pub(crate) fn event(&mut self, v: &serde_json::Value) -> JsonEvent {
        let line = v.to_string();
        let parsed = self.parser.parse(&line).expect("an object");
        parsed.event().expect("an event")
    }

    pub(crate) fn events(
        &mut self,
        vs: &[serde_json::Value],
    ) -> Vec<JsonEvent> {
        vs.iter().map(|v| self.event(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stages(name: &str) -> Option<StageId> {
        ["a", "b"].iter().position(|s| *s == name).map(StageId::must)
    }

    #[test]
    fn compiles_and_tests() {
        let src = "type == \"fail\" && count(a) < 2";
        let mut b = Bound::new(src, &stages).unwrap();
        let m = TestMatch::with(0, b.events(&[json!({})]));
        let (fail, ok) = (
            b.event(&json!({"type": "fail"})),
            b.event(&json!({"type": "ok"})),
        );
        assert!(b.expr.test(&fail, &m));
        assert!(!b.expr.test(&ok, &m));
        let m2 = TestMatch::with(0, b.events(&[json!({}), json!({})]));
        assert!(!b.expr.test(&fail, &m2));
    }

    #[test]
    fn values() {
        let mut b = Bound::new("x + sum(a.v)", &stages).unwrap();
        let m = TestMatch::with(0, b.events(&[json!({"v": 2})]));
        let ev = b.event(&json!({"x": 1}));
        assert_eq!(b.expr.value(&ev, &m), Val::Num(3.0));
        let mut b = Bound::new("lower(\"AB\")", &stages).unwrap();
        let ev = b.event(&json!({"x": 1}));
        assert_eq!(b.expr.value(&ev, &m), Val::Str("ab".into()));
    }

    #[test]
    fn only_true_holds() {
        let m = TestMatch::default();
        for src in ["1", "\"true\"", "null", "x", "a.b"] {
            let mut b = Bound::new(src, &stages).unwrap();
            let ev = b.event(&json!({"x": 1, "a": {"b": "true"}}));
            assert!(!b.expr.test(&ev, &m), "{src}");
        }
        let mut b = Bound::new("x", &stages).unwrap();
        let ev = b.event(&json!({"x": true}));
        assert!(b.expr.test(&ev, &m));
    }

    #[test]
    fn binds_fields_to_slots() {
        let mut e = compile(
            "a.b == 1 && x > sum(a.v) || count(b) > 0 && first(b.x) == x",
            &stages,
        )
        .unwrap();
        let mut table = FieldTable::default();
        e.bind(&mut table);
        let slots: Vec<u32> =
            e.slots.iter().copied().filter(|s| *s != UNBOUND).collect();
        // a.b, x, v (of sum), x (of first), x: three distinct fields.
        assert_eq!(slots, [0, 1, 2, 1, 1]);
        let mut other = compile("v < 1 && y", &stages).unwrap();
        other.bind(&mut table);
        let slots: Vec<u32> =
            other.slots.iter().copied().filter(|s| *s != UNBOUND).collect();
        assert_eq!(slots, [2, 3]);
    }

    #[test]
    fn reads_match() {
        let r = |s| compile(s, &stages).unwrap().reads_match();
        assert!(!r("x == 1 && matches(s, \"a\")"));
        assert!(r("count(a) > 0"));
        assert!(r("!(x == last(b.x))"));
        assert!(r("abs(sum(a.v)) > 1"));
    }

    #[test]
    fn field_paths_of_the_current_event() {
        let e = compile(
            "a.b == 1 && x > sum(a.v) || lower(y.z) == x && first(b.q) in [1]",
            &stages,
        )
        .unwrap();
        let want: Vec<Vec<String>> = vec![
            vec!["a".into(), "b".into()],
            vec!["x".into()],
            vec!["y".into(), "z".into()],
        ];
        assert_eq!(e.field_paths(), want);
        assert!(compile("count(a) > 1", &stages)
            .unwrap()
            .field_paths()
            .is_empty());
    }

    #[test]
    fn error_display_and_column() {
        let src = "type == \"x\" && count(fial) < 3";
        let err = compile(src, &stages).unwrap_err();
        assert_eq!(err.column(), 22);
        assert_eq!(err.message(), "unknown stage \"fial\"");
        assert_eq!(err.to_string(), "column 22: unknown stage \"fial\"");
        assert_eq!(
            err.caret(src),
            "type == \"x\" && count(fial) < 3\n                     ^"
        );
    }

    #[test]
    fn caret_rendering() {
        let e = ExprError::new(1, "x");
        assert_eq!(e.caret("abc"), "abc\n^");
        // One past the end.
        assert_eq!(ExprError::new(4, "x").caret("abc"), "abc\n   ^");
        // Columns count characters, not bytes.
        assert_eq!(ExprError::new(3, "x").caret("é😀z"), "é😀z\n  ^");
        // Tabs are kept so that the caret lines up.
        assert_eq!(ExprError::new(3, "x").caret("\tab"), "\tab\n\t ^");
        // Multi-line source: the line holding the column.
        let src = "x == 1 &&\n  y ==\r\n  ]";
        let err = compile(src, &stages).unwrap_err();
        assert_eq!(err.column(), 21);
        assert_eq!(err.caret(src), "  ]\n  ^");
        assert_eq!(ExprError::new(12, "x").caret(src), "  y ==\n ^");
        assert_eq!(ExprError::new(0, "x").caret(""), "\n^");
        assert_eq!(ExprError::new(99, "x").caret("ab"), "ab\n  ^");
    }
}
