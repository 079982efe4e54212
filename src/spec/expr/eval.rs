//! Evaluation, with the reference interpreter's value model: `null`, a
//! 64-bit float, a string, a boolean, or a JSON array/object taken from an
//! event. Fields are read by slot (assigned when the spec loads, see
//! `spec::event`), and values borrow from the events and the compiled
//! expression, so field reads, comparisons, arithmetic and aggregates
//! (`first`/`last` of strings included) do not allocate.

use std::borrow::Cow;

use serde_json::{Number, Value};

use super::ast::{
    AggFn, ArithOp, Ast, CmpOp, Func1, Lit, Node, NodeId, StrTest,
};
use super::{MatchEvents, UNBOUND};
use crate::spec::event::{JsonEvent, Slot};
use crate::util::ids::StageId;

/// A run-time value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Num(f64),
    Str(Cow<'a, str>),
    /// A JSON array or object (never a scalar).
    Json(Cow<'a, Value>),
}

/// Evaluates the root of `ast` and applies the contract's rule: only
/// exactly `true` holds. `slots` gives each field node its slot.
pub(crate) fn test<'a>(
    ast: &'a Ast,
    slots: &'a [u32],
    event: &'a JsonEvent,
    matched: &'a dyn MatchEvents,
) -> bool {
    Evaluator { ast, slots, event, matched }.truthy(ast.root)
}

/// Like [`test`], for the subtree at `id`.
pub(crate) fn test_node<'a>(
    ast: &'a Ast,
    slots: &'a [u32],
    id: NodeId,
    event: &'a JsonEvent,
    matched: &'a dyn MatchEvents,
) -> bool {
    Evaluator { ast, slots, event, matched }.truthy(id)
}

/// The value of the subtree at `id`.
pub(crate) fn value_node<'a>(
    ast: &'a Ast,
    slots: &'a [u32],
    id: NodeId,
    event: &'a JsonEvent,
    matched: &'a dyn MatchEvents,
) -> Val<'a> {
    Evaluator { ast, slots, event, matched }.eval(id)
}

/// Evaluates the root of `ast` to a value (for tests and diagnostics).
#[cfg(test)]
pub(crate) fn value<'a>(
    ast: &'a Ast,
    slots: &'a [u32],
    event: &'a JsonEvent,
    matched: &'a dyn MatchEvents,
) -> Val<'a> {
    Evaluator { ast, slots, event, matched }.eval(ast.root)
}

struct Evaluator<'a> {
    ast: &'a Ast,
    slots: &'a [u32],
    event: &'a JsonEvent,
    matched: &'a dyn MatchEvents,
}

impl<'a> Evaluator<'a> {
    fn truthy(&self, id: NodeId) -> bool {
        matches!(self.eval(id), Val::Bool(true))
    }

    fn slot(&self, id: NodeId) -> u32 {
        self.slots.get(id.index()).copied().unwrap_or(UNBOUND)
    }

    fn eval(&self, id: NodeId) -> Val<'a> {
        match self.ast.node(id) {
            Node::Lit(lit) => lit_val(lit),
            Node::Field(_) => field(self.event, self.slot(id)),
            Node::Not(a) => Val::Bool(!self.truthy(*a)),
            Node::Neg(a) => match self.eval(*a) {
                Val::Num(x) => Val::Num(-x),
                _ => Val::Null,
            },
            Node::And(xs) => Val::Bool(xs.iter().all(|x| self.truthy(*x))),
            Node::Or(xs) => Val::Bool(xs.iter().any(|x| self.truthy(*x))),
            Node::Cmp(op, a, b) => {
                Val::Bool(match self.count_cmp(*op, *a, *b) {
                    Some(r) => r,
                    None => compare(*op, &self.eval(*a), &self.eval(*b)),
                })
            }
            Node::Arith(first, rest) => self.arith(*first, rest),
            Node::In(a, lits) => {
                let x = self.eval(*a);
                Val::Bool(lits.iter().any(|l| equals(&x, &lit_val(l))))
            }
            Node::Call1(f, a) => call1(*f, self.eval(*a)),
            Node::StrTest(t, a, b) => {
                Val::Bool(str_test(*t, &self.eval(*a), &self.eval(*b)))
            }
            // The index comes from `Ast::push_regex` at compile time.
            Node::Matches(a, re) => Val::Bool(match self.eval(*a) {
                Val::Str(s) => self.ast.regexes[*re as usize].is_match(&*s),
                _ => false,
            }),
            Node::Agg(f, stage, path) => {
                let slot = (!path.is_empty()).then(|| self.slot(id));
                aggregate(self.matched, *f, *stage, slot)
            }
        }
    }

    /// `count(...)` compared with a number literal: counting stops once
    /// the count exceeds the literal, which decides every comparison
    /// (`count(rise) == 0` looks at one event, not all of them). `None`
    /// for any other comparison.
    fn count_cmp(&self, op: CmpOp, a: NodeId, b: NodeId) -> Option<bool> {
        let c = count_literal(self.ast, a, b)?;
        let slot = c.by_field.then(|| self.slot(c.agg));
        let n = count(self.matched, c.stage, slot, count_cap(c.k)) as f64;
        let (n, k) = (Val::Num(n), Val::Num(c.k));
        Some(if c.flipped { compare(op, &k, &n) } else { compare(op, &n, &k) })
    }

    /// A left-to-right chain; once a value is not a number the result is
    /// `null` whatever follows (evaluation has no side effects, so the
    /// rest can be skipped).
    fn arith(&self, first: NodeId, rest: &[(ArithOp, NodeId)]) -> Val<'a> {
        let Val::Num(mut acc) = self.eval(first) else {
            return Val::Null;
        };
        for (op, x) in rest {
            let Val::Num(y) = self.eval(*x) else {
                return Val::Null;
            };
            acc = apply(*op, acc, y);
        }
        Val::Num(acc)
    }
}

/// `count(...)` compared with a number literal, the comparison both
/// evaluators short-cut (see `Evaluator::count_cmp`).
pub(crate) struct CountLiteral {
    /// The `count` node.
    pub(crate) agg: NodeId,
    pub(crate) stage: StageId,
    /// Whether it counts a field's values (`count(s.f)`), not events.
    pub(crate) by_field: bool,
    pub(crate) k: f64,
    /// Whether the literal is on the left.
    pub(crate) flipped: bool,
}

/// Recognises `count(...) OP k` and `k OP count(...)` in operands `a`, `b`.
pub(crate) fn count_literal(
    ast: &Ast,
    a: NodeId,
    b: NodeId,
) -> Option<CountLiteral> {
    let (agg, k, flipped) = match (ast.node(a), ast.node(b)) {
        (Node::Agg(AggFn::Count, ..), Node::Lit(Lit::Num(k))) => {
            (a, *k, false)
        }
        (Node::Lit(Lit::Num(k)), Node::Agg(AggFn::Count, ..)) => (b, *k, true),
        _ => return None,
    };
    let Node::Agg(_, stage, path) = ast.node(agg) else { return None };
    Some(CountLiteral {
        agg,
        stage: *stage,
        by_field: !path.is_empty(),
        k,
        flipped,
    })
}

/// How far a count compared with `k` must count: a count n above
/// floor(k) compares with k exactly as floor(k) + 1 does (both are > k);
/// a negative or NaN k compares with every count as with 0.
pub(crate) fn count_cap(k: f64) -> usize {
    if k >= 0.0 {
        (k.floor() as usize).saturating_add(1)
    } else {
        0
    }
}

/// IEEE 754 arithmetic; Rust's `%` truncates like Java's.
fn apply(op: ArithOp, a: f64, b: f64) -> f64 {
    match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
        ArithOp::Rem => a % b,
    }
}

fn lit_val(lit: &Lit) -> Val<'_> {
    match lit {
        Lit::Null => Val::Null,
        Lit::Bool(b) => Val::Bool(*b),
        Lit::Num(n) => Val::Num(*n),
        Lit::Str(s) => Val::Str(Cow::Borrowed(s)),
    }
}

/// The field in `slot` of `event`, borrowed; a missing field is `null`.
#[inline]
pub(crate) fn field(event: &JsonEvent, slot: u32) -> Val<'_> {
    match event.slot(slot) {
        None | Some(Slot::Null) => Val::Null,
        Some(Slot::Bool(b)) => Val::Bool(*b),
        Some(Slot::Num(n)) => Val::Num(*n),
        Some(s @ (Slot::Str { .. } | Slot::Short { .. })) => {
            Val::Str(Cow::Borrowed(event.str(s).unwrap_or_default()))
        }
        Some(Slot::Json(v)) => Val::Json(Cow::Borrowed(v)),
    }
}

// ------------------------------------------------------------ comparisons

pub(crate) fn compare(op: CmpOp, x: &Val<'_>, y: &Val<'_>) -> bool {
    match op {
        CmpOp::Eq => equals(x, y),
        CmpOp::Ne => not_equals(x, y),
        CmpOp::Lt => order(x, y).is_some_and(|o| o.is_lt()),
        CmpOp::Le => order(x, y).is_some_and(|o| o.is_le()),
        CmpOp::Gt => order(x, y).is_some_and(|o| o.is_gt()),
        CmpOp::Ge => order(x, y).is_some_and(|o| o.is_ge()),
    }
}

/// `==`: with a `null` operand "both null"; different types are unequal.
pub(crate) fn equals(x: &Val<'_>, y: &Val<'_>) -> bool {
    match (x, y) {
        (Val::Null, Val::Null) => true,
        (Val::Num(a), Val::Num(b)) => a == b,
        (Val::Str(a), Val::Str(b)) => a == b,
        (Val::Bool(a), Val::Bool(b)) => a == b,
        (Val::Json(a), Val::Json(b)) => {
            a.is_array() == b.is_array() && json_eq(a, b)
        }
        _ => false,
    }
}

/// `!=`: with a `null` operand "not both null"; values of different types
/// are neither equal nor unequal (the reference's rule, so `1 != "1"` is
/// false).
fn not_equals(x: &Val<'_>, y: &Val<'_>) -> bool {
    match (x, y) {
        (Val::Null, Val::Null) => false,
        (Val::Null, _) | (_, Val::Null) => true,
        (Val::Num(a), Val::Num(b)) => a != b,
        (Val::Str(a), Val::Str(b)) => a != b,
        (Val::Bool(a), Val::Bool(b)) => a != b,
        (Val::Json(a), Val::Json(b)) if a.is_array() == b.is_array() => {
            !json_eq(a, b)
        }
        _ => false,
    }
}

/// Ordering of two numbers or two strings (UTF-8 byte order is code-point
/// order); `None` otherwise, and for NaN.
fn order(x: &Val<'_>, y: &Val<'_>) -> Option<std::cmp::Ordering> {
    match (x, y) {
        (Val::Num(a), Val::Num(b)) => a.partial_cmp(b),
        (Val::Str(a), Val::Str(b)) => Some(a.as_ref().cmp(b.as_ref())),
        _ => None,
    }
}

/// Equality of JSON trees as the reference's Jackson nodes define it:
/// integers and floats are different kinds of node (`[1]` is not
/// `[1.0]`), floats compare like `Double.compare` (so `-0.0` is not `0.0`),
/// objects compare regardless of key order.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Number(x), Value::Number(y)) => number_node_eq(x, y),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| json_eq(v, w))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => false,
    }
}

fn number_node_eq(x: &Number, y: &Number) -> bool {
    if x.is_f64() || y.is_f64() {
        return match (x.is_f64() && y.is_f64(), x.as_f64(), y.as_f64()) {
            (true, Some(a), Some(b)) => a.to_bits() == b.to_bits(),
            _ => false,
        };
    }
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => x.as_u64().is_some() && x.as_u64() == y.as_u64(),
    }
}

// -------------------------------------------------------------- functions

fn call1(f: Func1, x: Val<'_>) -> Val<'_> {
    match (f, x) {
        (Func1::Abs, Val::Num(n)) => Val::Num(n.abs()),
        (Func1::Lower, Val::Str(s)) => Val::Str(lower(s)),
        (Func1::Upper, Val::Str(s)) => Val::Str(upper(s)),
        (Func1::Len, Val::Str(s)) => Val::Num(s.chars().count() as f64),
        (Func1::Len, Val::Json(Cow::Borrowed(Value::Array(a)))) => {
            Val::Num(a.len() as f64)
        }
        (Func1::Len, Val::Json(Cow::Owned(Value::Array(a)))) => {
            Val::Num(a.len() as f64)
        }
        _ => Val::Null,
    }
}

/// Lower case (full Unicode mapping, like Java's `toLowerCase(ROOT)`),
/// without copying a string that has nothing to change.
fn lower(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return s;
    }
    Cow::Owned(s.to_lowercase())
}

/// Upper case, like [`lower`].
fn upper(s: Cow<'_, str>) -> Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_lowercase()) {
        return s;
    }
    Cow::Owned(s.to_uppercase())
}

/// `starts_with`, `ends_with`, `contains`: false unless both are strings.
fn str_test(t: StrTest, s: &Val<'_>, p: &Val<'_>) -> bool {
    let (Val::Str(s), Val::Str(p)) = (s, p) else {
        return false;
    };
    match t {
        StrTest::StartsWith => s.starts_with(p.as_ref()),
        StrTest::EndsWith => s.ends_with(p.as_ref()),
        StrTest::Contains => s.contains(p.as_ref()),
    }
}

// ------------------------------------------------------------- aggregates

fn aggregate<'e>(
    m: &'e dyn MatchEvents,
    f: AggFn,
    stage: StageId,
    slot: Option<u32>,
) -> Val<'e> {
    let Some(slot) = slot else {
        // Only `count(stage)` has no field.
        return Val::Num(count(m, stage, None, usize::MAX) as f64);
    };
    match f {
        AggFn::Count => {
            Val::Num(count(m, stage, Some(slot), usize::MAX) as f64)
        }
        AggFn::Sum => Val::Num(sum(m, stage, slot).0),
        AggFn::Avg => match sum(m, stage, slot) {
            (_, 0) => Val::Null,
            (total, n) => Val::Num(total / n as f64),
        },
        AggFn::Min => {
            extreme(m, stage, slot, true).map_or(Val::Null, Val::Num)
        }
        AggFn::Max => {
            extreme(m, stage, slot, false).map_or(Val::Null, Val::Num)
        }
        AggFn::First => first(m, stage, slot),
        AggFn::Last => last(m, stage, slot),
    }
}

/// The number in `slot` of a taken event; other values are skipped.
#[inline]
fn number_at(event: &JsonEvent, slot: u32) -> Option<f64> {
    match event.slot(slot) {
        Some(Slot::Num(x)) => Some(*x),
        _ => None,
    }
}

/// Events taken (without a field) or events whose field is not null,
/// counted up to `cap`.
pub(crate) fn count(
    m: &dyn MatchEvents,
    stage: StageId,
    slot: Option<u32>,
    cap: usize,
) -> usize {
    let Some(slot) = slot else {
        return m.count(stage, cap);
    };
    let mut n = 0;
    if cap == 0 {
        return n;
    }
    m.for_each_rev(stage, &mut |ev| {
        n += usize::from(!matches!(ev.slot(slot), None | Some(Slot::Null)));
        n < cap
    });
    n
}

/// Largest magnitude below which every integer, and so every sum of
/// integers whose magnitudes add up to at most this, is exact in an f64.
const EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53

/// The sum of the numeric values and how many there were. The reference
/// adds in match order; the store is visited newest first. When all values
/// are integers whose magnitudes add up to at most 2^53, every partial sum
/// is exact and the order cannot matter; otherwise (fractions, huge
/// values) the values are summed again in match order.
fn sum(m: &dyn MatchEvents, stage: StageId, slot: u32) -> (f64, usize) {
    let (mut total, mut magnitude, mut n, mut integral) = (0.0, 0.0, 0, true);
    m.for_each_rev(stage, &mut |ev| {
        if let Some(x) = number_at(ev, slot) {
            total += x;
            magnitude += x.abs();
            integral &= x.fract() == 0.0;
            n += 1;
        }
        true
    });
    if integral && magnitude <= EXACT_INT {
        return (total, n);
    }
    (sum_in_match_order(m, stage, slot, n), n)
}

/// Adds the `n` numeric values in match order, buffering them on the stack
/// when there are few.
fn sum_in_match_order(
    m: &dyn MatchEvents,
    stage: StageId,
    slot: u32,
    n: usize,
) -> f64 {
    const INLINE: usize = 32;
    let mut inline = [0.0; INLINE];
    let mut heap = Vec::new();
    let buf: &mut [f64] = if n <= INLINE {
        &mut inline[..n]
    } else {
        heap.resize(n, 0.0);
        &mut heap
    };
    let mut at = n;
    m.for_each_rev(stage, &mut |ev| {
        if let Some(x) = number_at(ev, slot) {
            let Some(prev) = at.checked_sub(1) else {
                return false;
            };
            at = prev;
            buf[at] = x;
        }
        true
    });
    buf.iter().fold(0.0, |acc, x| acc + x)
}

/// The smallest (`min`) or largest numeric value. The reference keeps the
/// first of equal values in match order (it matters for -0.0 vs 0.0);
/// visiting newest first, taking ties as well ends on that same one.
fn extreme(
    m: &dyn MatchEvents,
    stage: StageId,
    slot: u32,
    min: bool,
) -> Option<f64> {
    let mut best: Option<f64> = None;
    m.for_each_rev(stage, &mut |ev| {
        if let Some(x) = number_at(ev, slot) {
            let take = match best {
                None => true,
                Some(b) if min => x <= b,
                Some(b) => x >= b,
            };
            if take {
                best = Some(x);
            }
        }
        true
    });
    best
}

/// The field of the most recent event (even when null).
fn last<'e>(m: &'e dyn MatchEvents, stage: StageId, slot: u32) -> Val<'e> {
    m.last(stage).map_or(Val::Null, |ev| field(ev, slot))
}

/// The field of the earliest event (even when null), borrowed.
fn first<'e>(m: &'e dyn MatchEvents, stage: StageId, slot: u32) -> Val<'e> {
    m.first(stage).map_or(Val::Null, |ev| field(ev, slot))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{Bound, TestMatch};
    use super::*;

    fn stages(name: &str) -> Option<StageId> {
        ["a", "b"].iter().position(|s| *s == name).map(StageId::must)
    }

    fn bound(src: &str) -> Bound {
        Bound::new(src, &stages).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    /// The value of `src` on `event`, with stage `a` having taken `a_events`.
    fn val_with(
        src: &str,
        event: Value,
        a_events: Vec<Value>,
    ) -> Val<'static> {
        let mut b = bound(src);
        let ev = b.event(&event);
        let m = TestMatch::with(0, b.events(&a_events));
        to_static(b.expr.value(&ev, &m))
    }

    fn to_static(v: Val<'_>) -> Val<'static> {
        match v {
            Val::Str(s) => Val::Str(Cow::Owned(s.into_owned())),
            Val::Json(j) => Val::Json(Cow::Owned(j.into_owned())),
            Val::Null => Val::Null,
            Val::Bool(b) => Val::Bool(b),
            Val::Num(n) => Val::Num(n),
        }
    }

    fn val(src: &str) -> Val<'static> {
        val_with(src, ev(), Vec::new())
    }

    fn ev() -> Value {
        json!({
            "i": 1, "f": 1.0, "neg": -2.5, "s": "Abc", "t": true, "n": null,
            "arr": [1, 2, 3], "arr2": [1, 2, 3], "arrf": [1.0, 2, 3],
            "obj": {"x": 1, "y": [2]}, "obj2": {"y": [2], "x": 1},
            "uni": "é😀", "big": 9007199254740993u64
        })
    }

    fn holds(src: &str) -> bool {
        let mut b = bound(src);
        let ev = b.event(&ev());
        b.expr.test(&ev, &TestMatch::default())
    }

    fn num(x: f64) -> Val<'static> {
        Val::Num(x)
    }

    fn s(x: &str) -> Val<'static> {
        Val::Str(Cow::Owned(x.to_string()))
    }

    #[test]
    fn equality() {
        for src in [
            "i == 1",
            "i == 1.0",
            "f == 1",
            "i == f",
            "1 == 1.00",
            "1e0 == 1",
            "s == \"Abc\"",
            "t == true",
            "n == null",
            "missing == null",
            "null == null",
            "i != 2",
            "s != \"abc\"",
            "t != false",
            "i != null",
            "null != s",
            "arr == arr2",
            "obj == obj2",
            "arr != obj.y",
            "-0 == 0",
            "0/0 != 0/0",
        ] {
            assert!(holds(src), "{src}");
        }
        for src in [
            "i == \"1\"",
            "i != \"1\"",
            "t == 1",
            "t != 1",
            "s == null",
            "n != null",
            "arr == obj",
            "arr != obj",
            "arr == arrf",
            "arr == 1",
            "arr != 1",
            "0/0 == 0/0",
            "missing != null",
            "\"1\" != 1",
            "n == false",
        ] {
            assert!(!holds(src), "{src}");
        }
    }

    #[test]
    fn ordering() {
        for src in [
            "1 < 2",
            "2 <= 2",
            "3 > 2",
            "2 >= 2",
            "neg < 0",
            "-0 <= 0",
            "\"a\" < \"b\"",
            "\"a\" < \"ab\"",
            "\"B\" < \"a\"",
            "s >= \"Abc\"",
            // Code-point order: U+FFFF sorts before U+1F600.
            "\"\u{ffff}\" < \"\u{1f600}\"",
        ] {
            assert!(holds(src), "{src}");
        }
        for src in [
            "2 < 1",
            "1 < \"2\"",
            "\"1\" < 2",
            "null < 1",
            "1 >= null",
            "t > false",
            "arr < arr2",
            "0/0 < 1",
            "0/0 >= 0/0",
            "n <= n",
        ] {
            assert!(!holds(src), "{src}");
        }
    }

    #[test]
    fn arithmetic() {
        assert_eq!(val("1 + 2 * 3 - 4 / 2"), num(5.0));
        assert_eq!(val("(1 + 2) * 3"), num(9.0));
        assert_eq!(val("10 - 2 - 3"), num(5.0));
        assert_eq!(val("12 / 2 / 3"), num(2.0));
        assert_eq!(val("7 % 3"), num(1.0));
        assert_eq!(val("-7 % 3"), num(-1.0));
        assert_eq!(val("7.5 % 2"), num(1.5));
        assert_eq!(val("1 / 0"), num(f64::INFINITY));
        assert_eq!(val("-1 / 0"), num(f64::NEG_INFINITY));
        assert!(matches!(val("0 / 0"), Val::Num(x) if x.is_nan()));
        assert!(matches!(val("1 % 0"), Val::Num(x) if x.is_nan()));
        assert_eq!(val("-i"), num(-1.0));
        assert_eq!(val("--i"), num(1.0));
        assert_eq!(val("- -2.5 + neg"), num(0.0));
        assert_eq!(val("0.1 + 0.2"), num(0.1 + 0.2));
        for src in [
            "1 + null",
            "null * 2",
            "\"a\" + \"b\"",
            "s + 1",
            "t + 1",
            "arr + 1",
            "-s",
            "-null",
            "-t",
            "missing - 1",
            "1 + s * 2",
            "(1 + s) + 2",
        ] {
            assert_eq!(val(src), Val::Null, "{src}");
        }
    }

    #[test]
    fn logic_and_truthiness() {
        for src in [
            "true && true",
            "false || true",
            "!false",
            "!null",
            "!\"x\"",
            "!1",
            "!s",
            "!missing",
            "!arr",
            "!!true",
            "true || 1 / 0",
        ] {
            assert!(holds(src), "{src}");
        }
        for src in [
            "true && 1",
            "1 || null",
            "!true",
            "s && true",
            "1",
            "\"true\"",
            "!!1",
            "false && true",
            "t && false",
        ] {
            assert!(!holds(src), "{src}");
        }
        assert_eq!(val("1 && 1"), Val::Bool(false));
        assert_eq!(val("!s"), Val::Bool(true));
    }

    #[test]
    fn not_binds_looser_than_comparison() {
        // !(i == 2) is true; (!i) == 2 would be false == 2, false.
        assert!(holds("!i == 2"));
        assert!(!holds("!i == 1"));
        // !(t == false)
        assert!(holds("!t == false"));
        assert!(holds("!i == 2 && i == 1"));
    }

    #[test]
    fn in_lists() {
        for src in [
            "i in [3, 2, 1]",
            "neg in [-2.5]",
            "-2.5 in [1, - 2.5]",
            "s in [\"x\", \"Abc\"]",
            "n in [1, null]",
            "missing in [null]",
            "t in [true]",
            "f in [1]",
            "-0 in [0]",
        ] {
            assert!(holds(src), "{src}");
        }
        for src in [
            "i in [\"1\"]",
            "s in [\"abc\"]",
            "n in [false, 0, \"\"]",
            "arr in [1, 2, 3]",
            "t in [1]",
            "(0/0) in [0]",
        ] {
            assert!(!holds(src), "{src}");
        }
    }

    #[test]
    fn string_functions() {
        for src in [
            "matches(s, \"b\")",
            "matches(s, \"^A\")",
            "matches(s, \"c$\")",
            "matches(s, \"^[A-Z][a-z]+$\")",
            "!matches(s, \"^b\")",
            "!matches(i, \"1\")",
            "!matches(missing, \".*\")",
            "matches(uni, \"^.😀$\")",
            "starts_with(s, \"Ab\")",
            "ends_with(s, \"bc\")",
            "contains(s, \"b\")",
            "contains(s, \"\")",
            "starts_with(s, s)",
            "!starts_with(s, \"ab\")",
            "!ends_with(i, \"1\")",
            "!contains(s, 1)",
            "!contains(n, \"\")",
            "!starts_with(arr, \"[\")",
            "contains(uni, \"😀\")",
        ] {
            assert!(holds(src), "{src}");
        }
        assert_eq!(val("lower(s)"), s("abc"));
        assert_eq!(val("upper(s)"), s("ABC"));
        assert_eq!(val("lower(\"ÀÉ\")"), s("àé"));
        assert_eq!(val("upper(\"straße\")"), s("STRASSE"));
        assert_eq!(val("lower(\"ΟΔΟΣ\")"), s("οδος"));
        assert_eq!(val("lower(\"abc\")"), s("abc"));
        assert_eq!(val("upper(lower(s))"), s("ABC"));
        assert_eq!(val("len(s)"), num(3.0));
        assert_eq!(val("len(uni)"), num(2.0));
        assert_eq!(val("len(\"\")"), num(0.0));
        assert_eq!(val("len(arr)"), num(3.0));
        assert_eq!(val("len(obj.y)"), num(1.0));
        assert_eq!(val("abs(neg)"), num(2.5));
        assert_eq!(val("abs(-0)"), num(0.0));
        assert_eq!(val("abs(i)"), num(1.0));
        for src in [
            "lower(i)",
            "upper(n)",
            "lower(t)",
            "len(i)",
            "len(obj)",
            "len(n)",
            "len(missing)",
            "abs(s)",
            "abs(null)",
            "abs(arr)",
            "upper(arr)",
        ] {
            assert_eq!(val(src), Val::Null, "{src}");
        }
    }

    #[test]
    fn fields_and_numbers() {
        assert_eq!(val("obj.x"), num(1.0));
        assert_eq!(val("obj.y.z"), Val::Null);
        assert_eq!(val("s.x"), Val::Null);
        assert_eq!(val("obj.nope"), Val::Null);
        assert_eq!(val("big"), num(9007199254740992.0));
        assert!(holds("big == 9007199254740993"));
        assert_eq!(val("arr"), Val::Json(Cow::Owned(json!([1, 2, 3]))));
        assert_eq!(val("\"a\\u00e9\\n\""), s("aé\n"));
    }

    #[test]
    fn json_equality_is_jacksons() {
        let eq = |a: Value, b: Value| json_eq(&a, &b);
        assert!(eq(json!([1, {"a": null}]), json!([1, {"a": null}])));
        assert!(!eq(json!([1]), json!([1.0])));
        assert!(!eq(json!([0.0]), json!([-0.0])));
        assert!(eq(json!([0.5]), json!([0.5])));
        assert!(eq(json!([-3]), json!([-3])));
        assert!(eq(json!([u64::MAX]), json!([u64::MAX])));
        assert!(!eq(json!([u64::MAX]), json!([-1])));
        assert!(!eq(json!({"a": 1}), json!({"a": 1, "b": 2})));
        assert!(!eq(json!({"a": 1}), json!({"b": 1})));
        assert!(!eq(json!([[1]]), json!([[2]])));
        assert!(!eq(json!([1, 2]), json!([2, 1])));
        assert!(!eq(json!([null]), json!([false])));
    }

    fn agg(src: &str, taken: Vec<Value>) -> Val<'static> {
        val_with(src, json!({}), taken)
    }

    #[test]
    fn aggregates() {
        let taken = || {
            vec![
                json!({"v": 3, "s": "x", "o": {"w": 1}}),
                json!({"v": "7", "s": null}),
                json!({"v": 1.5, "o": {"w": 2}}),
                json!({"v": null, "s": "z", "o": [1]}),
                json!({"v": -2}),
            ]
        };
        assert_eq!(agg("count(a)", taken()), num(5.0));
        assert_eq!(agg("count(a.v)", taken()), num(4.0));
        assert_eq!(agg("count(a.s)", taken()), num(2.0));
        assert_eq!(agg("count(a.o.w)", taken()), num(2.0));
        assert_eq!(agg("sum(a.v)", taken()), num(2.5));
        assert_eq!(agg("avg(a.v)", taken()), num(2.5 / 3.0));
        assert_eq!(agg("min(a.v)", taken()), num(-2.0));
        assert_eq!(agg("max(a.v)", taken()), num(3.0));
        assert_eq!(agg("sum(a.o.w)", taken()), num(3.0));
        assert_eq!(agg("first(a.s)", taken()), s("x"));
        assert_eq!(
            agg("first(a.o)", taken()),
            Val::Json(Cow::Owned(json!({"w": 1})))
        );
        assert_eq!(agg("first(a.v)", taken()), num(3.0));
        assert_eq!(agg("last(a.v)", taken()), num(-2.0));
        assert_eq!(agg("last(a.s)", taken()), Val::Null);
        assert_eq!(agg("last(a.o.w)", taken()), Val::Null);
        assert_eq!(
            agg(
                "len(first(a.s)) + len(last(a.o))",
                vec![json!({"s": "héllo"}), json!({"o": [1, 2]}),]
            ),
            num(7.0)
        );
    }

    #[test]
    fn aggregates_over_no_events() {
        assert_eq!(agg("count(a)", vec![]), num(0.0));
        assert_eq!(agg("count(a.v)", vec![]), num(0.0));
        assert_eq!(agg("sum(a.v)", vec![]), num(0.0));
        for src in
            ["avg(a.v)", "min(a.v)", "max(a.v)", "first(a.v)", "last(a.v)"]
        {
            assert_eq!(agg(src, vec![]), Val::Null, "{src}");
        }
        // No numeric values is the same as no events, except for count.
        let strings = || vec![json!({"v": "1"}), json!({"v": true})];
        assert_eq!(agg("sum(a.v)", strings()), num(0.0));
        assert_eq!(agg("avg(a.v)", strings()), Val::Null);
        assert_eq!(agg("max(a.v)", strings()), Val::Null);
        assert_eq!(agg("count(a.v)", strings()), num(2.0));
        // Stage b has taken nothing.
        assert_eq!(agg("count(b) + sum(b.v)", strings()), num(0.0));
    }

    #[test]
    fn first_and_last_take_null_fields() {
        let taken =
            || vec![json!({"x": 1}), json!({"v": 1}), json!({"v": null})];
        assert_eq!(agg("first(a.v)", taken()), Val::Null);
        assert_eq!(agg("last(a.v)", taken()), Val::Null);
        assert_eq!(agg("first(a.x)", taken()), num(1.0));
        assert!(matches!(agg("first(a.v) == null", taken()), Val::Bool(true)));
    }

    #[test]
    fn last_stops_early_and_first_borrows() {
        let count_visits = |src: &str| {
            let mut b = bound(src);
            let taken: Vec<Value> = (0..10)
                .map(|i| json!({"v": i, "s": format!("s{i}")}))
                .collect();
            let m = TestMatch::with(0, b.events(&taken));
            let ev = b.event(&json!({}));
            let v = to_static(b.expr.value(&ev, &m));
            (v, m.visits.get())
        };
        assert_eq!(count_visits("last(a.v)"), (num(9.0), 1));
        assert_eq!(count_visits("last(a.s)"), (s("s9"), 1));
        assert_eq!(count_visits("first(a.v)"), (num(0.0), 10));
        // A string is borrowed from the event: one walk.
        assert_eq!(count_visits("first(a.s)"), (s("s0"), 10));
        assert_eq!(count_visits("count(a)"), (num(10.0), 10));
        // Compared with a literal, a count stops once it is decided.
        assert_eq!(count_visits("count(a) == 0"), (Val::Bool(false), 1));
        assert_eq!(count_visits("count(a) < 3"), (Val::Bool(false), 4));
        assert_eq!(count_visits("2.5 < count(a.v)"), (Val::Bool(true), 3));
        assert_eq!(count_visits("count(a) > -1"), (Val::Bool(true), 10));
        assert_eq!(count_visits("count(a) >= 10"), (Val::Bool(true), 10));
        assert_eq!(count_visits("count(a) == 10"), (Val::Bool(true), 10));
        assert_eq!(count_visits("count(a) != 11"), (Val::Bool(true), 10));
    }

    #[test]
    fn capped_counts_decide_like_full_counts() {
        let ops = ["==", "!=", "<", "<=", ">", ">="];
        let lits = [
            "0", "1", "2", "2.5", "3", "4", "-1", "-0.5", "0/0", "1/0",
            "-1/0", "-0", "1e300",
        ];
        for n in 0..5 {
            let taken: Vec<Value> = (0..n).map(|i| json!({"v": i})).collect();
            for op in ops {
                for k in lits {
                    for src in [
                        format!("count(a) {op} {k}"),
                        format!("{k} {op} count(a.v)"),
                    ] {
                        let full = src.replace("count(", "(0 + count(");
                        let full = full.replacen(')', "))", 1);
                        assert_eq!(
                            val_with(&src, json!({}), taken.clone()),
                            val_with(&full, json!({}), taken.clone()),
                            "{src} vs {full} over {n}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn sums_add_in_match_order() {
        let vs = |xs: &[f64]| {
            xs.iter().map(|x| json!({"v": x})).collect::<Vec<_>>()
        };
        let forward = |xs: &[f64]| xs.iter().fold(0.0, |a, x| a + x);
        for xs in [
            &[0.1, 0.2, 0.3][..],
            &[1e16, 1.0, -1e16],
            &[0.7; 40],
            &[1e308, 1e308, -1e308],
            &[3.0, 9007199254740992.0, 1.0],
        ] {
            let got = agg("sum(a.v)", vs(xs));
            assert_eq!(got, num(forward(xs)), "{xs:?}");
            let avg = agg("avg(a.v)", vs(xs));
            assert_eq!(avg, num(forward(xs) / xs.len() as f64), "{xs:?}");
        }
        // Only numbers count; others are skipped also in the slow path.
        let mixed = vec![
            json!({"v": 0.1}),
            json!({"v": "x"}),
            json!({"v": 0.2}),
            json!({}),
            json!({"v": 0.3}),
        ];
        assert_eq!(agg("sum(a.v)", mixed), num(0.1 + 0.2 + 0.3));
    }

    #[test]
    fn min_max_keep_the_first_of_ties() {
        let vs = vec![json!({"v": 0.0}), json!({"v": -0.0}), json!({"v": 1})];
        // 1 / min is +inf only if min kept +0.0, the first in match order.
        assert_eq!(agg("1 / min(a.v)", vs.clone()), num(f64::INFINITY));
        let vs = vec![json!({"v": -0.0}), json!({"v": 0.0})];
        assert_eq!(agg("1 / max(a.v)", vs), num(f64::NEG_INFINITY));
    }

    #[test]
    fn deep_chains_evaluate() {
        let src = vec!["i"; 20_000].join(" + ");
        assert_eq!(val(&src), num(20_000.0));
        let src = vec!["i == 2"; 20_000].join(" || ") + " || i == 1";
        assert!(holds(&src));
        let src = format!("{}i{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(val(&src), num(1.0));
        let src = format!("{}i", "-".repeat(64));
        assert_eq!(val(&src), num(1.0));
    }
}
