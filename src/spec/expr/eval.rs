//! Evaluation, with the reference interpreter's value model: `null`, a
//! 64-bit float, a string, a boolean, or a JSON array/object taken from an
//! event. Values borrow from the event and the compiled expression, so the
//! common cases (field reads, comparisons, arithmetic, aggregates) do not
//! allocate.

use std::borrow::Cow;

use serde_json::{Number, Value};

use super::ast::{AggFn, ArithOp, Ast, CmpOp, Func1, Lit, Node, NodeId, StrTest};
use super::MatchEvents;
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
/// exactly `true` holds.
pub(crate) fn test(ast: &Ast, event: &Value, matched: &dyn MatchEvents) -> bool {
    Evaluator { ast, event, matched }.truthy(ast.root)
}

/// Evaluates the root of `ast` to a value (for tests and diagnostics).
#[cfg(test)]
pub(crate) fn value<'a>(
    ast: &'a Ast,
    event: &'a Value,
    matched: &dyn MatchEvents,
) -> Val<'a> {
    Evaluator { ast, event, matched }.eval(ast.root)
}

struct Evaluator<'a, 'm> {
    ast: &'a Ast,
    event: &'a Value,
    matched: &'m dyn MatchEvents,
}

impl<'a> Evaluator<'a, '_> {
    fn truthy(&self, id: NodeId) -> bool {
        matches!(self.eval(id), Val::Bool(true))
    }

    fn eval(&self, id: NodeId) -> Val<'a> {
        match self.ast.node(id) {
            Node::Lit(lit) => lit_val(lit),
            Node::Field(path) => borrowed_val(lookup(self.event, path)),
            Node::Not(a) => Val::Bool(!self.truthy(*a)),
            Node::Neg(a) => match self.eval(*a) {
                Val::Num(x) => Val::Num(-x),
                _ => Val::Null,
            },
            Node::And(xs) => Val::Bool(xs.iter().all(|x| self.truthy(*x))),
            Node::Or(xs) => Val::Bool(xs.iter().any(|x| self.truthy(*x))),
            Node::Cmp(op, a, b) => {
                Val::Bool(compare(*op, &self.eval(*a), &self.eval(*b)))
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
            Node::Matches(a, re) => Val::Bool(match self.eval(*a) {
                Val::Str(s) => self.ast.regexes[*re as usize].is_match(&*s),
                _ => false,
            }),
            Node::Agg(f, stage, path) => {
                aggregate(self.matched, *f, *stage, path)
            }
        }
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

/// The value at `path` inside `event`; `None` when a segment is missing
/// or a parent is not an object.
pub(crate) fn lookup<'v>(event: &'v Value, path: &[Box<str>]) -> Option<&'v Value> {
    path.iter().try_fold(event, |v, seg| v.as_object()?.get(&**seg))
}

fn borrowed_val(v: Option<&Value>) -> Val<'_> {
    match v {
        None | Some(Value::Null) => Val::Null,
        Some(Value::Bool(b)) => Val::Bool(*b),
        Some(Value::Number(n)) => number_val(n),
        Some(Value::String(s)) => Val::Str(Cow::Borrowed(s)),
        Some(json) => Val::Json(Cow::Borrowed(json)),
    }
}

/// Like [`borrowed_val`], for a value that cannot be borrowed past the
/// match store's callback.
fn owned_val(v: Option<&Value>) -> Val<'static> {
    match v {
        Some(Value::String(s)) => Val::Str(Cow::Owned(s.clone())),
        Some(json @ (Value::Array(_) | Value::Object(_))) => {
            Val::Json(Cow::Owned(json.clone()))
        }
        other => scalar_val(other).unwrap_or(Val::Null),
    }
}

/// The value if it is cheap to copy (null, boolean, number).
fn scalar_val(v: Option<&Value>) -> Option<Val<'static>> {
    match v {
        None | Some(Value::Null) => Some(Val::Null),
        Some(Value::Bool(b)) => Some(Val::Bool(*b)),
        Some(Value::Number(n)) => Some(number_val(n)),
        Some(_) => None,
    }
}

fn number_val(n: &Number) -> Val<'static> {
    // Always a float unless serde_json's arbitrary precision mode keeps a
    // number it cannot represent; treat that like a missing value.
    n.as_f64().map_or(Val::Null, Val::Num)
}

// ------------------------------------------------------------ comparisons

fn compare(op: CmpOp, x: &Val<'_>, y: &Val<'_>) -> bool {
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
                && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
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

fn aggregate(
    m: &dyn MatchEvents,
    f: AggFn,
    stage: StageId,
    path: &[Box<str>],
) -> Val<'static> {
    match f {
        AggFn::Count => Val::Num(count(m, stage, path) as f64),
        AggFn::Sum => Val::Num(sum(m, stage, path).0),
        AggFn::Avg => match sum(m, stage, path) {
            (_, 0) => Val::Null,
            (total, n) => Val::Num(total / n as f64),
        },
        AggFn::Min => extreme(m, stage, path, true).map_or(Val::Null, Val::Num),
        AggFn::Max => extreme(m, stage, path, false).map_or(Val::Null, Val::Num),
        AggFn::First => first(m, stage, path),
        AggFn::Last => last(m, stage, path),
    }
}

/// The number at `path` in a taken event; other values are skipped.
fn number_at(event: &Value, path: &[Box<str>]) -> Option<f64> {
    lookup(event, path)?.as_f64()
}

/// Events taken (with an empty path) or events whose field is not null.
fn count(m: &dyn MatchEvents, stage: StageId, path: &[Box<str>]) -> usize {
    let mut n = 0;
    m.for_each_rev(stage, &mut |ev| {
        if path.is_empty() || lookup(ev, path).is_some_and(|v| !v.is_null()) {
            n += 1;
        }
        true
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
fn sum(m: &dyn MatchEvents, stage: StageId, path: &[Box<str>]) -> (f64, usize) {
    let (mut total, mut magnitude, mut n, mut integral) = (0.0, 0.0, 0, true);
    m.for_each_rev(stage, &mut |ev| {
        if let Some(x) = number_at(ev, path) {
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
    (sum_in_match_order(m, stage, path, n), n)
}

/// Adds the `n` numeric values in match order, buffering them on the stack
/// when there are few.
fn sum_in_match_order(
    m: &dyn MatchEvents,
    stage: StageId,
    path: &[Box<str>],
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
    let mut slot = n;
    m.for_each_rev(stage, &mut |ev| {
        if let Some(x) = number_at(ev, path) {
            let Some(prev) = slot.checked_sub(1) else {
                return false;
            };
            slot = prev;
            buf[slot] = x;
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
    path: &[Box<str>],
    min: bool,
) -> Option<f64> {
    let mut best: Option<f64> = None;
    m.for_each_rev(stage, &mut |ev| {
        if let Some(x) = number_at(ev, path) {
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

/// The field of the most recent event (even when null): the first visited,
/// so the walk stops there.
fn last(m: &dyn MatchEvents, stage: StageId, path: &[Box<str>]) -> Val<'static> {
    let mut out = Val::Null;
    m.for_each_rev(stage, &mut |ev| {
        out = owned_val(lookup(ev, path));
        false
    });
    out
}

/// The field of the earliest event (even when null): the last one visited.
/// Cheap values are copied on the way; a string, array or object is cloned
/// only once, in a second walk that stops at that event.
fn first(m: &dyn MatchEvents, stage: StageId, path: &[Box<str>]) -> Val<'static> {
    let mut seen = 0;
    let mut scalar = None;
    m.for_each_rev(stage, &mut |ev| {
        seen += 1;
        scalar = scalar_val(lookup(ev, path));
        true
    });
    match (seen, scalar) {
        (0, _) => Val::Null,
        (_, Some(v)) => v,
        (_, None) => nth_visited(m, stage, path, seen - 1),
    }
}

/// The field of the `k`-th event visited (0 = most recent), cloned.
fn nth_visited(
    m: &dyn MatchEvents,
    stage: StageId,
    path: &[Box<str>],
    k: usize,
) -> Val<'static> {
    let (mut i, mut out) = (0, Val::Null);
    m.for_each_rev(stage, &mut |ev| {
        if i == k {
            out = owned_val(lookup(ev, path));
            return false;
        }
        i += 1;
        true
    });
    out
}
