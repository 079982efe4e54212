//! Conditions compiled to closures, once their fields have slots.
//!
//! The tree interpreter ([`super::eval`]) dispatches on every node; most
//! conditions are a few comparisons of a field with a literal (`type ==
//! "fail"`, `amount < 1`) or with a field of an earlier event (`price >
//! last(rise.price)`), joined by `&&`, `||` and `!`. Those shapes become
//! closures that read the slot and compare directly; anything else is a
//! closure that runs the interpreter on its subtree, so every value rule
//! stays the interpreter's (the tests check both agree).
//!
//! A condition that reads only the event and is one comparison (most
//! are) becomes the engine's condition itself ([`condition`]): the engine
//! then makes one indirect call per evaluation, into code that reads the
//! slot and compares, instead of going through the generic predicate.

use std::borrow::Cow;
use std::sync::Arc;

use super::ast::{AggFn, Ast, CmpOp, Lit, Node, NodeId};
use super::eval::{self, compare, field, Val};
use super::{MatchEvents, UNBOUND};
use crate::pattern::Condition;
use crate::spec::event::{JsonEvent, Slot};
use crate::util::ids::StageId;

/// A compiled condition: true only if the expression is exactly `true`.
pub(crate) type Pred =
    Arc<dyn Fn(&JsonEvent, &dyn MatchEvents) -> bool + Send + Sync>;

/// Compiles the root of `ast` (with its fields' `slots`).
pub(crate) fn predicate(ast: &Arc<Ast>, slots: &Arc<[u32]>) -> Pred {
    let c = Compiler { ast: ast.clone(), slots: slots.clone() };
    c.pred(ast.root)
}

/// The engine's condition for an expression that does not read the
/// partial match, given its compiled `pred`: a closure over the event
/// alone, specialised when the root is a leaf shape.
pub(crate) fn condition(
    ast: &Arc<Ast>,
    slots: &Arc<[u32]>,
    pred: Pred,
) -> Condition<JsonEvent> {
    let c = Compiler { ast: ast.clone(), slots: slots.clone() };
    c.leaf(ast.root, AsCondition)
        .unwrap_or_else(|| Condition::simple(move |e| pred(e, &NoEvents)))
}

/// Wraps a closure over the event alone into one of the two forms a
/// condition takes. Generic, so that each leaf shape is written once and
/// each form gets the concrete closure (inlined, not called through a
/// second pointer).
trait Make {
    type Out;
    fn make(
        self,
        f: impl Fn(&JsonEvent) -> bool + Send + Sync + 'static,
    ) -> Self::Out;
}

/// A [`Pred`] (for use inside `&&`, `||`, `!`).
struct AsPred;

impl Make for AsPred {
    type Out = Pred;
    fn make(
        self,
        f: impl Fn(&JsonEvent) -> bool + Send + Sync + 'static,
    ) -> Pred {
        Arc::new(move |e, _| f(e))
    }
}

/// The engine's condition.
struct AsCondition;

impl Make for AsCondition {
    type Out = Condition<JsonEvent>;
    fn make(
        self,
        f: impl Fn(&JsonEvent) -> bool + Send + Sync + 'static,
    ) -> Condition<JsonEvent> {
        Condition::simple(f)
    }
}

/// The partial match of a condition that does not read it.
struct NoEvents;

impl MatchEvents for NoEvents {
    fn for_each_rev<'s>(
        &'s self,
        _: StageId,
        _: &mut dyn FnMut(&'s JsonEvent) -> bool,
    ) {
    }
}

struct Compiler {
    ast: Arc<Ast>,
    slots: Arc<[u32]>,
}

/// One side of a comparison.
enum Operand {
    Field(u32),
    Num(f64),
    Str(Box<str>),
    Null,
    Bool(bool),
    /// `first(stage.f)`, `last(stage.f)`: the stage and f's slot.
    First(StageId, u32),
    Last(StageId, u32),
    /// Anything else: the interpreter.
    Node(NodeId),
}

impl Compiler {
    fn slot(&self, id: NodeId) -> u32 {
        self.slots.get(id.index()).copied().unwrap_or(UNBOUND)
    }

    /// Falls back to the interpreter for `id`.
    fn interpreted(&self, id: NodeId) -> Pred {
        let (ast, slots) = (self.ast.clone(), self.slots.clone());
        Arc::new(move |e, m| eval::test_node(&ast, &slots, id, e, m))
    }

    /// The shapes that read only the current event: a literal, a field,
    /// a field compared with a literal.
    fn leaf<M: Make>(&self, id: NodeId, m: M) -> Option<M::Out> {
        Some(match self.ast.node(id) {
            Node::Lit(Lit::Bool(true)) => m.make(|_| true),
            Node::Lit(_) => m.make(|_| false),
            Node::Field(_) => {
                let s = self.slot(id);
                m.make(move |e| matches!(e.slot(s), Some(Slot::Bool(true))))
            }
            Node::Cmp(op, a, b) => {
                let op = *op;
                match (self.operand(*a), self.operand(*b)) {
                    (Operand::Field(s), Operand::Num(k)) => {
                        num_field(op, s, k, m)
                    }
                    (Operand::Num(k), Operand::Field(s)) => {
                        num_field(flip(op), s, k, m)
                    }
                    (Operand::Field(s), Operand::Str(t)) => {
                        str_field(op, s, t, m)
                    }
                    (Operand::Str(t), Operand::Field(s)) => {
                        str_field(flip(op), s, t, m)
                    }
                    _ => return None,
                }
            }
            _ => return None,
        })
    }

    fn pred(&self, id: NodeId) -> Pred {
        if let Some(p) = self.leaf(id, AsPred) {
            return p;
        }
        match self.ast.node(id) {
            Node::And(xs) => {
                let ps: Vec<Pred> = xs.iter().map(|x| self.pred(*x)).collect();
                match &ps[..] {
                    [a, b] => {
                        let (a, b) = (a.clone(), b.clone());
                        Arc::new(move |e, m| a(e, m) && b(e, m))
                    }
                    _ => Arc::new(move |e, m| ps.iter().all(|p| p(e, m))),
                }
            }
            Node::Or(xs) => {
                let ps: Vec<Pred> = xs.iter().map(|x| self.pred(*x)).collect();
                match &ps[..] {
                    [a, b] => {
                        let (a, b) = (a.clone(), b.clone());
                        Arc::new(move |e, m| a(e, m) || b(e, m))
                    }
                    _ => Arc::new(move |e, m| ps.iter().any(|p| p(e, m))),
                }
            }
            Node::Not(a) => {
                let p = self.pred(*a);
                Arc::new(move |e, m| !p(e, m))
            }
            Node::Cmp(op, a, b) => self.cmp(*op, *a, *b),
            _ => self.interpreted(id),
        }
    }

    fn operand(&self, id: NodeId) -> Operand {
        match self.ast.node(id) {
            Node::Field(_) => Operand::Field(self.slot(id)),
            Node::Lit(Lit::Num(k)) => Operand::Num(*k),
            Node::Lit(Lit::Str(s)) => Operand::Str(s.clone()),
            Node::Lit(Lit::Null) => Operand::Null,
            Node::Lit(Lit::Bool(b)) => Operand::Bool(*b),
            Node::Agg(AggFn::First, stage, path) if !path.is_empty() => {
                Operand::First(*stage, self.slot(id))
            }
            Node::Agg(AggFn::Last, stage, path) if !path.is_empty() => {
                Operand::Last(*stage, self.slot(id))
            }
            _ => Operand::Node(id),
        }
    }

    fn cmp(&self, op: CmpOp, a: NodeId, b: NodeId) -> Pred {
        if let Some(p) = self.count_cmp(op, a, b) {
            return p;
        }
        // (Field with a literal is a leaf.)
        match (self.operand(a), self.operand(b)) {
            (Operand::Field(s), Operand::First(stage, t)) => {
                field_taken(op, s, stage, t, true)
            }
            (Operand::Field(s), Operand::Last(stage, t)) => {
                field_taken(op, s, stage, t, false)
            }
            (Operand::First(stage, t), Operand::Field(s)) => {
                field_taken(flip(op), s, stage, t, true)
            }
            (Operand::Last(stage, t), Operand::Field(s)) => {
                field_taken(flip(op), s, stage, t, false)
            }
            (x, y) => {
                let (ast, slots) = (self.ast.clone(), self.slots.clone());
                Arc::new(move |e, m| {
                    compare(
                        op,
                        &x.val(&ast, &slots, e, m),
                        &y.val(&ast, &slots, e, m),
                    )
                })
            }
        }
    }

    /// `count(...)` compared with a number literal: counts up to what
    /// decides the comparison (see `Evaluator::count_cmp`).
    fn count_cmp(&self, op: CmpOp, a: NodeId, b: NodeId) -> Option<Pred> {
        let c = eval::count_literal(&self.ast, a, b)?;
        let (stage, k, flipped) = (c.stage, c.k, c.flipped);
        let cap = eval::count_cap(k);
        let slot = c.by_field.then(|| self.slot(c.agg));
        let op = if flipped { flip(op) } else { op };
        Some(Arc::new(move |_, m| {
            let n = eval::count(m, stage, slot, cap) as f64;
            compare(op, &Val::Num(n), &Val::Num(k))
        }))
    }
}

impl Operand {
    fn val<'a>(
        &'a self,
        ast: &'a Ast,
        slots: &'a [u32],
        e: &'a JsonEvent,
        m: &'a dyn MatchEvents,
    ) -> Val<'a> {
        match self {
            Operand::Field(s) => field(e, *s),
            Operand::Num(k) => Val::Num(*k),
            Operand::Str(t) => Val::Str(Cow::Borrowed(t)),
            Operand::Null => Val::Null,
            Operand::Bool(b) => Val::Bool(*b),
            Operand::First(stage, s) => {
                m.first(*stage).map_or(Val::Null, |ev| field(ev, *s))
            }
            Operand::Last(stage, s) => {
                m.last(*stage).map_or(Val::Null, |ev| field(ev, *s))
            }
            Operand::Node(id) => eval::value_node(ast, slots, *id, e, m),
        }
    }
}

/// `a op b` is `b flip(op) a`.
fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Eq,
        CmpOp::Ne => CmpOp::Ne,
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
    }
}

/// A field of the current event compared with field `t` of the first
/// (or last) event `stage` took: two numbers or two strings directly,
/// anything else through `compare`.
fn field_taken(
    op: CmpOp,
    s: u32,
    stage: StageId,
    t: u32,
    first: bool,
) -> Pred {
    Arc::new(move |e, m| {
        let other = if first { m.first(stage) } else { m.last(stage) };
        let (x, y) = (e.slot(s), other.and_then(|ev| ev.slot(t)));
        if let (Some(Slot::Num(a)), Some(Slot::Num(b))) = (x, y) {
            return ord_op(op, a, b);
        }
        let texts = match (x, other.zip(y)) {
            (Some(a), Some((ev, b))) => e.str_bytes(a).zip(ev.str_bytes(b)),
            _ => None,
        };
        match texts {
            Some((a, b)) => ord_op(op, a, b),
            None => {
                let y = other.map_or(Val::Null, |ev| field(ev, t));
                compare(op, &field(e, s), &y)
            }
        }
    })
}

/// String equality without a library call for short strings (most
/// compared fields are short: `type == "fail"`).
#[inline]
fn str_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() > 16 {
        return a == b;
    }
    a.iter().zip(b).all(|(x, y)| x == y)
}

/// `a OP b` for two numbers or two strings (strings compare by code
/// point, which is UTF-8 byte order).
fn ord_op<T: PartialOrd + ?Sized>(op: CmpOp, a: &T, b: &T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

/// A field compared with a number literal, with `compare`'s rules: two
/// numbers compare as floats; `null` (or missing) is only `!=`; any other
/// type is neither equal nor unequal nor ordered.
fn num_field<M: Make>(op: CmpOp, s: u32, k: f64, m: M) -> M::Out {
    #[inline]
    fn num(e: &JsonEvent, s: u32) -> Result<f64, bool> {
        match e.slot(s) {
            Some(Slot::Num(x)) => Ok(*x),
            None | Some(Slot::Null) => Err(true),
            _ => Err(false),
        }
    }
    match op {
        CmpOp::Eq => m.make(move |e| num(e, s).is_ok_and(|x| x == k)),
        CmpOp::Ne => m.make(move |e| match num(e, s) {
            Ok(x) => x != k,
            Err(null) => null,
        }),
        CmpOp::Lt => m.make(move |e| num(e, s).is_ok_and(|x| x < k)),
        CmpOp::Le => m.make(move |e| num(e, s).is_ok_and(|x| x <= k)),
        CmpOp::Gt => m.make(move |e| num(e, s).is_ok_and(|x| x > k)),
        CmpOp::Ge => m.make(move |e| num(e, s).is_ok_and(|x| x >= k)),
    }
}

/// A field compared with a string literal, with `compare`'s rules (strings
/// order by code point, which is UTF-8 byte order).
fn str_field<M: Make>(op: CmpOp, s: u32, t: Box<str>, m: M) -> M::Out {
    #[inline]
    fn text(e: &JsonEvent, s: u32) -> Result<&[u8], bool> {
        match e.slot(s) {
            None | Some(Slot::Null) => Err(true),
            Some(slot) => e.str_bytes(slot).ok_or(false),
        }
    }
    // A short literal equals a field exactly when the field's inline
    // slot is the literal's: one fixed-size comparison, no byte loop.
    let short = match Slot::short(&t) {
        Some(Slot::Short { len, bytes }) => Some((len, bytes)),
        _ => None,
    };
    match (op, short) {
        (CmpOp::Eq, Some(lit)) => m.make(move |e| match e.slot(s) {
            Some(Slot::Short { len, bytes }) => (*len, *bytes) == lit,
            _ => text(e, s).is_ok_and(|x| str_eq(x, t.as_bytes())),
        }),
        (CmpOp::Ne, Some(lit)) => m.make(move |e| match e.slot(s) {
            Some(Slot::Short { len, bytes }) => (*len, *bytes) != lit,
            _ => match text(e, s) {
                Ok(x) => !str_eq(x, t.as_bytes()),
                Err(null) => null,
            },
        }),
        (CmpOp::Eq, None) => {
            m.make(move |e| text(e, s).is_ok_and(|x| str_eq(x, t.as_bytes())))
        }
        (CmpOp::Ne, None) => m.make(move |e| match text(e, s) {
            Ok(x) => !str_eq(x, t.as_bytes()),
            Err(null) => null,
        }),
        (CmpOp::Lt, _) => {
            m.make(move |e| text(e, s).is_ok_and(|x| x < t.as_bytes()))
        }
        (CmpOp::Le, _) => {
            m.make(move |e| text(e, s).is_ok_and(|x| x <= t.as_bytes()))
        }
        (CmpOp::Gt, _) => {
            m.make(move |e| text(e, s).is_ok_and(|x| x > t.as_bytes()))
        }
        (CmpOp::Ge, _) => {
            m.make(move |e| text(e, s).is_ok_and(|x| x >= t.as_bytes()))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::super::{Bound, TestMatch};
    use crate::util::ids::StageId;

    fn stages(name: &str) -> Option<StageId> {
        ["a", "b"].iter().position(|s| *s == name).map(StageId::must)
    }

    fn events() -> Vec<Value> {
        vec![
            json!({}),
            json!({"x": 1, "s": "Abc", "t": true}),
            json!({"x": -0.0, "s": "", "t": false, "n": null}),
            json!({"x": 2.5, "s": "b", "t": "true", "y": 2.5}),
            json!({"x": "1", "s": 1, "t": 1, "y": "b"}),
            json!({"x": [1], "s": {"a": 1}, "t": null, "y": [1]}),
            json!({"x": 1e300, "s": "é😀", "y": -1}),
            json!({"x": 0, "s": "abc", "y": 0, "o": {"p": 3}}),
            json!({"s": "fourteen bytes", "y": "fifteen bytes!!", "x": "é"}),
            json!({"s": "fifteen bytes!!", "y": "fourteen bytes", "t": "\n"}),
        ]
    }

    /// Every shape the closures special-case, each side, each operator,
    /// against each type: the closures decide as the interpreter does.
    #[test]
    fn closures_decide_as_the_interpreter() {
        let ops = ["==", "!=", "<", "<=", ">", ">="];
        let operands = [
            "x",
            "s",
            "t",
            "y",
            "n",
            "missing",
            "o.p",
            "1",
            "0",
            "-0",
            "2.5",
            "\"b\"",
            "\"\"",
            "\"Abc\"",
            "null",
            "true",
            "false",
            "\"fourteen bytes\"",
            "\"fifteen bytes!!\"",
            "\"é\"",
            "first(a.x)",
            "last(a.x)",
            "first(b.s)",
            "last(a.s)",
            "count(a)",
            "count(a.y)",
            "x + 1",
            "len(s)",
            "0/0",
        ];
        let mut sources = Vec::new();
        for op in ops {
            for l in operands {
                for r in operands {
                    sources.push(format!("{l} {op} {r}"));
                }
            }
        }
        sources.extend(
            [
                "x",
                "t",
                "true",
                "false",
                "null",
                "1",
                "\"true\"",
                "!t",
                "!!t",
                "t && x == 1",
                "t || x == 1",
                "!(x > 1) && s != \"b\"",
                "x == 1 || y == 2.5 || s == \"\"",
                "x == 1 && y == 2.5 && t",
                "x in [1, 2.5, \"1\", null]",
                "s in [\"Abc\", \"b\"]",
                "matches(s, \"^A\")",
                "contains(s, \"b\")",
                "first(a.t)",
                "last(a.t) && t",
                "count(a) == 0 || x > last(a.x)",
            ]
            .map(str::to_owned),
        );
        let taken_sets = [
            vec![],
            vec![json!({"x": 1, "s": "b", "t": true})],
            vec![json!({"x": 3}), json!({"x": "z", "s": "Abc", "y": 1})],
            events(),
        ];
        let mut checked = 0;
        for src in &sources {
            let mut b = Bound::new(src, &stages)
                .unwrap_or_else(|e| panic!("{src}: {e}"));
            for taken in &taken_sets {
                let m = TestMatch::with(0, b.events(taken));
                for ev in events() {
                    let e = b.event(&ev);
                    assert_eq!(
                        b.expr.test(&e, &m),
                        b.expr.test_interpreted(&e, &m),
                        "{src} on {ev} after {taken:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20_000);
    }

    /// The engine's form of a condition on the event alone (specialised
    /// at the root, or wrapping the predicate) decides as the
    /// interpreter.
    #[test]
    fn conditions_decide_as_the_interpreter() {
        use crate::pattern::condition::{Leaf, Program};
        let sources = [
            "x == 1",
            "1 != x",
            "x < 2.5",
            "2.5 <= x",
            "x > 0",
            "x >= 0",
            "s == \"b\"",
            "\"b\" != s",
            "s < \"b\"",
            "s <= \"b\"",
            "\"b\" > s",
            "s >= \"Abc\"",
            "t",
            "true",
            "false",
            "null",
            "missing == 1",
            "missing != \"b\"",
            "x == 1 && t",
            "!t",
            "x + 1 > 2",
            "len(s) == 3",
        ];
        let mut checked = 0;
        for src in sources {
            let mut b = Bound::new(src, &stages).unwrap();
            assert!(!b.expr.reads_match(), "{src}");
            let cond = b.expr.simple_condition();
            let mut leaves = Vec::new();
            let program =
                cond.compile(&mut leaves, &mut hashbrown::HashMap::new());
            assert_eq!(program, Program::Leaf(0), "{src}");
            let Leaf::Simple(f) = &leaves[0] else { panic!("{src}") };
            for ev in events() {
                let e = b.event(&ev);
                let m = TestMatch::with(0, Vec::new());
                assert_eq!(
                    f(&e),
                    b.expr.test_interpreted(&e, &m),
                    "{src} on {ev}"
                );
                checked += 1;
            }
        }
        assert!(checked > 200);
    }
}
