//! The compiled form of an expression: an arena of nodes.
//!
//! Nodes live in one vector and refer to each other by index, so a compiled
//! expression is a few allocations, drops without recursion, and clones
//! cheaply. Chains of `&&`, `||`, `+`/`-` and `*`/`/`/`%` are stored flat
//! (one node with a list of operands), so a long chain is a wide node, not
//! a deep one: tree depth, and with it the evaluator's recursion, only
//! grows with parentheses, unary operators and calls, which the parser
//! bounds.

use regex_automata::meta::Regex;

use crate::util::ids::StageId;

/// Index of a node in [`Ast::nodes`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeId(u32);

impl NodeId {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A field path, pre-split into its segments.
pub(crate) type Path = Box<[Box<str>]>;

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(Box<str>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// A one-argument function over a value of the current event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func1 {
    Abs,
    Lower,
    Upper,
    Len,
}

/// A two-string predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrTest {
    StartsWith,
    EndsWith,
    Contains,
}

/// A function over the events a stage has taken so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggFn {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    First,
    Last,
}

impl AggFn {
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "count" => AggFn::Count,
            "sum" => AggFn::Sum,
            "avg" => AggFn::Avg,
            "min" => AggFn::Min,
            "max" => AggFn::Max,
            "first" => AggFn::First,
            "last" => AggFn::Last,
            _ => return None,
        })
    }
}

/// One node of the expression tree.
#[derive(Clone, Debug)]
pub(crate) enum Node {
    Lit(Lit),
    /// A field of the current event.
    Field(Path),
    Not(NodeId),
    Neg(NodeId),
    /// `a && b && ...`, at least two operands.
    And(Box<[NodeId]>),
    /// `a || b || ...`, at least two operands.
    Or(Box<[NodeId]>),
    Cmp(CmpOp, NodeId, NodeId),
    /// A left-associative chain: `first op1 x1 op2 x2 ...`.
    Arith(NodeId, Box<[(ArithOp, NodeId)]>),
    In(NodeId, Box<[Lit]>),
    Call1(Func1, NodeId),
    StrTest(StrTest, NodeId, NodeId),
    /// `matches(subject, regex)`: index into [`Ast::regexes`].
    Matches(NodeId, u32),
    /// An aggregate: the stage, and the field path inside its events
    /// (empty only for `count(stage)`).
    Agg(AggFn, StageId, Path),
}

/// A compiled expression.
#[derive(Clone, Debug)]
pub(crate) struct Ast {
    pub(crate) nodes: Vec<Node>,
    pub(crate) regexes: Vec<Regex>,
    pub(crate) root: NodeId,
}

impl Ast {
    pub(crate) fn new() -> Self {
        Ast { nodes: Vec::new(), regexes: Vec::new(), root: NodeId(0) }
    }

    /// Appends a node, or returns `None` past `u32::MAX` nodes (the parser
    /// turns that into an error; it cannot happen with sane input).
    pub(crate) fn push(&mut self, node: Node) -> Option<NodeId> {
        let id = u32::try_from(self.nodes.len()).ok()?;
        self.nodes.push(node);
        Some(NodeId(id))
    }

    pub(crate) fn push_regex(&mut self, re: Regex) -> Option<u32> {
        let id = u32::try_from(self.regexes.len()).ok()?;
        self.regexes.push(re);
        Some(id)
    }

    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.index()]
    }

    /// The children of a node, for walks over the tree.
    pub(crate) fn children(&self, id: NodeId, out: &mut Vec<NodeId>) {
        match self.node(id) {
            Node::Lit(_) | Node::Field(_) | Node::Agg(..) => {}
            Node::Not(a)
            | Node::Neg(a)
            | Node::In(a, _)
            | Node::Call1(_, a)
            | Node::Matches(a, _) => out.push(*a),
            Node::And(xs) | Node::Or(xs) => out.extend_from_slice(xs),
            Node::Cmp(_, a, b) | Node::StrTest(_, a, b) => {
                out.extend([*a, *b]);
            }
            Node::Arith(first, rest) => {
                out.push(*first);
                out.extend(rest.iter().map(|(_, x)| *x));
            }
        }
    }

    /// Every node reachable from the root (the arena may hold nodes that
    /// the parser built and then folded into something else).
    pub(crate) fn reachable(&self) -> Vec<NodeId> {
        let mut out = Vec::new();
        let mut stack = vec![self.root];
        while let Some(id) = stack.pop() {
            out.push(id);
            self.children(id, &mut stack);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agg_names() {
        assert_eq!(AggFn::from_name("count"), Some(AggFn::Count));
        assert_eq!(AggFn::from_name("last"), Some(AggFn::Last));
        assert_eq!(AggFn::from_name("median"), None);
    }

    #[test]
    fn reachable_skips_orphans() {
        let mut ast = Ast::new();
        let orphan = ast.push(Node::Lit(Lit::Null)).unwrap();
        let a = ast.push(Node::Lit(Lit::Num(1.0))).unwrap();
        let b = ast.push(Node::Field(Box::new(["x".into()]))).unwrap();
        ast.root = ast.push(Node::Cmp(CmpOp::Eq, a, b)).unwrap();
        let r = ast.reachable();
        assert_eq!(r.len(), 3);
        assert!(!r.contains(&orphan));
    }
}
