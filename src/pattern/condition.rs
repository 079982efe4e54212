//! Conditions: what an event must satisfy to be taken by a stage.

use std::fmt;
use std::sync::Arc;

use crate::nfa::Context;

pub(crate) type SimpleFn<E> = dyn Fn(&E) -> bool + Send + Sync;
type IterativeFn<E> = dyn Fn(&E, &Context<'_, E>) -> bool + Send + Sync;

/// A predicate over an event, optionally looking at the partial match
/// (Flink's `SimpleCondition` and `IterativeCondition`).
///
/// Conditions are cheap to clone (reference counted) and combine with
/// [`and`](Condition::and), [`or`](Condition::or) and
/// [`not`](Condition::not).
pub struct Condition<E> {
    node: Node<E>,
}

enum Node<E> {
    True,
    Simple(Arc<SimpleFn<E>>),
    Iterative(Arc<IterativeFn<E>>),
    Not(Box<Node<E>>),
    And(Box<Node<E>>, Box<Node<E>>),
    Or(Box<Node<E>>, Box<Node<E>>),
    /// A condition with a description for people (its source text, say):
    /// shown instead of its structure, evaluated as the inner one.
    Labeled(Arc<str>, Box<Node<E>>),
}

impl<E> Clone for Node<E> {
    fn clone(&self) -> Self {
        match self {
            Node::True => Node::True,
            Node::Simple(f) => Node::Simple(f.clone()),
            Node::Iterative(f) => Node::Iterative(f.clone()),
            Node::Not(a) => Node::Not(a.clone()),
            Node::And(a, b) => Node::And(a.clone(), b.clone()),
            Node::Or(a, b) => Node::Or(a.clone(), b.clone()),
            Node::Labeled(l, a) => Node::Labeled(l.clone(), a.clone()),
        }
    }
}

impl<E> Clone for Condition<E> {
    fn clone(&self) -> Self {
        Self { node: self.node.clone() }
    }
}

impl<E> fmt::Debug for Condition<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn go<E>(n: &Node<E>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match n {
                Node::True => f.write_str("true"),
                Node::Simple(_) => f.write_str("simple"),
                Node::Iterative(_) => f.write_str("iterative"),
                Node::Not(a) => {
                    f.write_str("!(")?;
                    go(a, f)?;
                    f.write_str(")")
                }
                Node::And(a, b) => {
                    f.write_str("(")?;
                    go(a, f)?;
                    f.write_str(" && ")?;
                    go(b, f)?;
                    f.write_str(")")
                }
                Node::Or(a, b) => {
                    f.write_str("(")?;
                    go(a, f)?;
                    f.write_str(" || ")?;
                    go(b, f)?;
                    f.write_str(")")
                }
                Node::Labeled(label, _) => f.write_str(label),
            }
        }
        go(&self.node, f)
    }
}

impl<E> Condition<E> {
    /// The condition every event satisfies (Flink's `trueFunction`).
    pub fn always() -> Self {
        Self { node: Node::True }
    }

    /// A condition on the event alone (Flink's `SimpleCondition`).
    pub fn simple(f: impl Fn(&E) -> bool + Send + Sync + 'static) -> Self {
        Self { node: Node::Simple(Arc::new(f)) }
    }

    /// A condition that may also read the events the partial match has
    /// taken so far (Flink's `IterativeCondition`).
    pub fn iterative(
        f: impl Fn(&E, &Context<'_, E>) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self { node: Node::Iterative(Arc::new(f)) }
    }

    /// Both conditions hold (Flink's `RichAndCondition`).
    pub fn and(self, other: Self) -> Self {
        Self { node: Node::And(Box::new(self.node), Box::new(other.node)) }
    }

    /// Either condition holds (Flink's `RichOrCondition`).
    pub fn or(self, other: Self) -> Self {
        Self { node: Node::Or(Box::new(self.node), Box::new(other.node)) }
    }

    /// The condition does not hold (Flink's `RichNotCondition`).
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Self { node: Node::Not(Box::new(self.node)) }
    }

    /// The same condition, described by `label` wherever it is shown (the
    /// NFA's [`Display`](std::fmt::Display), `cepflow check`) instead of
    /// `simple` or `iterative`. Costs nothing when evaluated.
    ///
    /// ```
    /// use cepflow::Condition;
    ///
    /// let big = Condition::simple(|x: &i32| *x > 100).labeled("x > 100");
    /// assert_eq!(format!("{:?}", big.not()), "!(x > 100)");
    /// ```
    pub fn labeled(self, label: impl Into<Arc<str>>) -> Self {
        Self { node: Node::Labeled(label.into(), Box::new(self.node)) }
    }

    /// Compiles the condition into a [`Program`] over numbered leaves,
    /// adding its leaves to `leaves`. The same user closure (the same
    /// `Arc`, cloned by the NFA compiler into several transitions) gets
    /// one number, so its result can be computed once and reused.
    pub(crate) fn compile(
        &self,
        leaves: &mut Vec<Leaf<E>>,
        numbers: &mut hashbrown::HashMap<usize, u32>,
    ) -> Program {
        compile(&self.node, leaves, numbers)
    }
}

/// A user closure, numbered within one NFA.
pub(crate) enum Leaf<E> {
    Simple(Arc<SimpleFn<E>>),
    Iterative(Arc<IterativeFn<E>>),
}

impl<E> Leaf<E> {
    /// Whether the result depends only on the event (so it may be shared
    /// by every run that sees the event).
    pub(crate) fn is_simple(&self) -> bool {
        matches!(self, Leaf::Simple(_))
    }

    #[inline]
    pub(crate) fn call(&self, event: &E, ctx: &Context<'_, E>) -> bool {
        match self {
            Leaf::Simple(f) => f(event),
            Leaf::Iterative(f) => f(event, ctx),
        }
    }
}

/// A transition's condition in the shape the engine tests fastest: the
/// forms Flink's compiler produces almost always (one closure, its
/// negation, or nothing) without walking a boxed tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Test {
    True,
    Leaf(u32),
    NotLeaf(u32),
    /// Boxed, so that `Test` has a tag of its own: telling the common
    /// forms apart is then one compare, not a decoding of `Program`'s tag
    /// (this is asked for every run an event meets).
    Program(Box<Program>),
}

impl Test {
    /// Evaluates the test, asking `leaf` for each closure's result (so
    /// the engine's cached and direct evaluations share this walk).
    #[inline]
    pub(crate) fn eval(&self, leaf: &mut impl FnMut(u32) -> bool) -> bool {
        match self {
            Test::True => true,
            Test::Leaf(i) => leaf(*i),
            Test::NotLeaf(i) => !leaf(*i),
            Test::Program(p) => p.eval(leaf),
        }
    }

    /// The test's one closure and whether it is negated, when it is a
    /// lone closure (the shape Flink's take and ignore edges mostly have).
    #[inline]
    pub(crate) fn single_leaf(&self) -> Option<(u32, bool)> {
        match *self {
            Test::Leaf(i) => Some((i, false)),
            Test::NotLeaf(i) => Some((i, true)),
            Test::True | Test::Program(_) => None,
        }
    }

    pub(crate) fn new(program: Program) -> Self {
        match program {
            Program::True => Test::True,
            Program::Leaf(i) => Test::Leaf(i),
            Program::Not(inner) => match *inner {
                Program::Leaf(i) => Test::NotLeaf(i),
                other => {
                    Test::Program(Box::new(Program::Not(Box::new(other))))
                }
            },
            other => Test::Program(Box::new(other)),
        }
    }
}

/// A condition as the engine evaluates it: combinators over numbered
/// leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Program {
    True,
    Leaf(u32),
    Not(Box<Program>),
    And(Box<Program>, Box<Program>),
    Or(Box<Program>, Box<Program>),
}

impl Program {
    /// Evaluates the program with short-circuiting `and`/`or`, asking
    /// `leaf` for each closure's result.
    pub(crate) fn eval(&self, leaf: &mut impl FnMut(u32) -> bool) -> bool {
        match self {
            Program::True => true,
            Program::Leaf(i) => leaf(*i),
            Program::Not(a) => !a.eval(leaf),
            Program::And(a, b) => a.eval(leaf) && b.eval(leaf),
            Program::Or(a, b) => a.eval(leaf) || b.eval(leaf),
        }
    }
}

fn compile<E>(
    node: &Node<E>,
    leaves: &mut Vec<Leaf<E>>,
    numbers: &mut hashbrown::HashMap<usize, u32>,
) -> Program {
    let mut number = |key: usize, leaf: Leaf<E>| {
        *numbers.entry(key).or_insert_with(|| {
            leaves.push(leaf);
            u32::try_from(leaves.len() - 1).unwrap_or(u32::MAX)
        })
    };
    match node {
        Node::True => Program::True,
        Node::Simple(f) => {
            let key = Arc::as_ptr(f) as *const () as usize;
            Program::Leaf(number(key, Leaf::Simple(f.clone())))
        }
        Node::Iterative(f) => {
            let key = Arc::as_ptr(f) as *const () as usize;
            Program::Leaf(number(key, Leaf::Iterative(f.clone())))
        }
        Node::Not(a) => Program::Not(Box::new(compile(a, leaves, numbers))),
        Node::And(a, b) => Program::And(
            Box::new(compile(a, leaves, numbers)),
            Box::new(compile(b, leaves, numbers)),
        ),
        Node::Or(a, b) => Program::Or(
            Box::new(compile(a, leaves, numbers)),
            Box::new(compile(b, leaves, numbers)),
        ),
        Node::Labeled(_, a) => compile(a, leaves, numbers),
    }
}
