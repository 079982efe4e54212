//! Conditions: what an event must satisfy to be taken by a stage.

use std::fmt;
use std::sync::Arc;

use crate::nfa::Context;

type SimpleFn<E> = dyn Fn(&E) -> bool + Send + Sync;
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

    /// Evaluates the condition.
    #[inline]
    pub(crate) fn test(&self, event: &E, ctx: &Context<'_, E>) -> bool {
        eval(&self.node, event, ctx)
    }
}

// Recursion depth is the nesting of the user's own combinators plus the
// compiler's (at most a handful of `and`/`not` layers), not the input.
fn eval<E>(node: &Node<E>, event: &E, ctx: &Context<'_, E>) -> bool {
    match node {
        Node::True => true,
        Node::Simple(f) => f(event),
        Node::Iterative(f) => f(event, ctx),
        Node::Not(a) => !eval(a, event, ctx),
        Node::And(a, b) => eval(a, event, ctx) && eval(b, event, ctx),
        Node::Or(a, b) => eval(a, event, ctx) || eval(b, event, ctx),
    }
}
