//! Recursive-descent parser for the grammar of spec-format.md,
//! "Expressions", accepting exactly what the reference (`Expr.java`)
//! accepts.

use super::ast::{
    AggFn, ArithOp, Ast, CmpOp, Func1, Lit, Node, NodeId, Path, StrTest,
};
use super::java_regex;
use super::lexer::{Lexer, Tok, Token};
use super::ExprError;
use crate::util::ids::StageId;

/// How many parentheses, calls and unary operators may nest. The reference
/// has no limit (it overflows the stack instead); real conditions nest a
/// handful of levels, and the limit keeps parsing and evaluation safe on
/// small thread stacks.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `source` into an [`Ast`].
pub(crate) fn parse(
    source: &str,
    resolve_stage: &dyn Fn(&str) -> Option<StageId>,
) -> Result<Ast, ExprError> {
    let mut p = Parser {
        lexer: Lexer::new(source),
        peeked: None,
        ast: Ast::new(),
        resolve_stage,
        depth: 0,
    };
    let root = p.expr()?;
    let end = p.next()?;
    if end.kind != Tok::Eof {
        return Err(unexpected(&end));
    }
    p.ast.root = root;
    Ok(p.ast)
}

struct Parser<'s, 'r> {
    lexer: Lexer<'s>,
    peeked: Option<Token<'s>>,
    ast: Ast,
    resolve_stage: &'r dyn Fn(&str) -> Option<StageId>,
    /// Current nesting of parentheses, calls and unary operators.
    depth: usize,
}

/// A parsed call argument and the column where it starts.
struct Arg {
    node: NodeId,
    column: usize,
}

impl<'s> Parser<'s, '_> {
    // ------------------------------------------------------------ tokens

    fn peek(&mut self) -> Result<&Token<'s>, ExprError> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lexer.next_token()?,
        };
        Ok(self.peeked.insert(t))
    }

    fn next(&mut self) -> Result<Token<'s>, ExprError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next_token(),
        }
    }

    /// Consumes the next token if it is `kind`.
    fn eat(&mut self, kind: &Tok<'_>) -> Result<bool, ExprError> {
        let hit = &self.peek()?.kind == kind;
        if hit {
            self.next()?;
        }
        Ok(hit)
    }

    fn expect(&mut self, kind: &Tok<'_>, what: &str) -> Result<(), ExprError> {
        let t = self.next()?;
        if &t.kind == kind {
            Ok(())
        } else {
            Err(ExprError::new(t.column, format!("expected {what}")))
        }
    }

    fn push(&mut self, node: Node) -> Result<NodeId, ExprError> {
        let column = self.lexer.column();
        self.ast
            .push(node)
            .ok_or_else(|| ExprError::new(column, "expression too large"))
    }

    /// Enters one level of nesting at `column`.
    fn enter(&mut self, column: usize) -> Result<(), ExprError> {
        if self.depth >= MAX_DEPTH {
            return Err(ExprError::new(
                column,
                format!("expression nested more than {MAX_DEPTH} levels deep"),
            ));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    // ------------------------------------------------------------ grammar

    fn expr(&mut self) -> Result<NodeId, ExprError> {
        self.or()
    }

    fn or(&mut self) -> Result<NodeId, ExprError> {
        let first = self.and()?;
        let mut all = vec![first];
        while self.eat(&Tok::OrOr)? {
            all.push(self.and()?);
        }
        self.chain(all, Node::Or)
    }

    fn and(&mut self) -> Result<NodeId, ExprError> {
        let first = self.not()?;
        let mut all = vec![first];
        while self.eat(&Tok::AndAnd)? {
            all.push(self.not()?);
        }
        self.chain(all, Node::And)
    }

    /// One operand stays itself; more become one flat node.
    fn chain(
        &mut self,
        all: Vec<NodeId>,
        make: fn(Box<[NodeId]>) -> Node,
    ) -> Result<NodeId, ExprError> {
        match all[..] {
            [one] => Ok(one),
            _ => self.push(make(all.into_boxed_slice())),
        }
    }

    /// `!` binds looser than comparisons: `!a == b` is `!(a == b)`.
    fn not(&mut self) -> Result<NodeId, ExprError> {
        let t = self.peek()?;
        if t.kind != Tok::Bang {
            return self.cmp();
        }
        let column = t.column;
        self.next()?;
        self.enter(column)?;
        let inner = self.not()?;
        self.leave();
        self.push(Node::Not(inner))
    }

    fn cmp(&mut self) -> Result<NodeId, ExprError> {
        let left = self.sum()?;
        let op = match self.peek()?.kind {
            Tok::EqEq => CmpOp::Eq,
            Tok::NotEq => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            // `in` is a keyword only here; elsewhere it is a field name.
            Tok::Ident("in") => {
                self.next()?;
                return self.in_list(left);
            }
            _ => return Ok(left),
        };
        self.next()?;
        let right = self.sum()?;
        self.push(Node::Cmp(op, left, right))
    }

    fn in_list(&mut self, left: NodeId) -> Result<NodeId, ExprError> {
        self.expect(&Tok::LBracket, "'['")?;
        let mut lits = vec![self.literal()?];
        while self.eat(&Tok::Comma)? {
            lits.push(self.literal()?);
        }
        self.expect(&Tok::RBracket, "']'")?;
        self.push(Node::In(left, lits.into_boxed_slice()))
    }

    /// A literal of an `in` list: a number (negative too), a string,
    /// `true`, `false` or `null`.
    fn literal(&mut self) -> Result<Lit, ExprError> {
        let t = self.next()?;
        Ok(match t.kind {
            Tok::Minus => match self.next()? {
                Token { kind: Tok::Num(n), .. } => Lit::Num(-n),
                _ => {
                    return Err(ExprError::new(
                        t.column,
                        "expected a number after '-'",
                    ));
                }
            },
            Tok::Num(n) => Lit::Num(n),
            Tok::Str(s) => Lit::Str(s.into_boxed_str()),
            Tok::Ident("true") => Lit::Bool(true),
            Tok::Ident("false") => Lit::Bool(false),
            Tok::Ident("null") => Lit::Null,
            _ => return Err(ExprError::new(t.column, "expected a literal")),
        })
    }

    fn sum(&mut self) -> Result<NodeId, ExprError> {
        let first = self.product()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()?.kind {
                Tok::Plus => ArithOp::Add,
                Tok::Minus => ArithOp::Sub,
                _ => return self.arith(first, rest),
            };
            self.next()?;
            rest.push((op, self.product()?));
        }
    }

    fn product(&mut self) -> Result<NodeId, ExprError> {
        let first = self.unary()?;
        let mut rest = Vec::new();
        loop {
            let op = match self.peek()?.kind {
                Tok::Star => ArithOp::Mul,
                Tok::Slash => ArithOp::Div,
                Tok::Percent => ArithOp::Rem,
                _ => return self.arith(first, rest),
            };
            self.next()?;
            rest.push((op, self.unary()?));
        }
    }

    fn arith(
        &mut self,
        first: NodeId,
        rest: Vec<(ArithOp, NodeId)>,
    ) -> Result<NodeId, ExprError> {
        if rest.is_empty() {
            return Ok(first);
        }
        self.push(Node::Arith(first, rest.into_boxed_slice()))
    }

    fn unary(&mut self) -> Result<NodeId, ExprError> {
        let t = self.peek()?;
        if t.kind != Tok::Minus {
            return self.atom();
        }
        let column = t.column;
        self.next()?;
        self.enter(column)?;
        let inner = self.unary()?;
        self.leave();
        self.push(Node::Neg(inner))
    }

    fn atom(&mut self) -> Result<NodeId, ExprError> {
        let t = self.next()?;
        let lit = match t.kind {
            Tok::Num(n) => Lit::Num(n),
            Tok::Str(s) => Lit::Str(s.into_boxed_str()),
            Tok::Ident("true") => Lit::Bool(true),
            Tok::Ident("false") => Lit::Bool(false),
            Tok::Ident("null") => Lit::Null,
            Tok::Ident(name) => return self.call_or_path(name, t.column),
            Tok::LParen => return self.group(t.column),
            Tok::Eof => {
                return Err(ExprError::new(
                    t.column,
                    "unexpected end of expression",
                ));
            }
            _ => return Err(unexpected(&t)),
        };
        self.push(Node::Lit(lit))
    }

    fn group(&mut self, column: usize) -> Result<NodeId, ExprError> {
        self.enter(column)?;
        let inner = self.expr()?;
        self.expect(&Tok::RParen, "')'")?;
        self.leave();
        Ok(inner)
    }

    fn call_or_path(
        &mut self,
        name: &'s str,
        column: usize,
    ) -> Result<NodeId, ExprError> {
        if self.eat(&Tok::LParen)? {
            self.enter(column)?;
            let node = self.call(name, column);
            self.leave();
            return node;
        }
        let mut parts: Vec<Box<str>> = vec![name.into()];
        while self.eat(&Tok::Dot)? {
            let t = self.next()?;
            match t.kind {
                Tok::Ident(part) => parts.push(part.into()),
                _ => {
                    return Err(ExprError::new(
                        t.column,
                        "expected an identifier",
                    ));
                }
            }
        }
        self.push(Node::Field(parts.into_boxed_slice()))
    }

    // ------------------------------------------------------------- calls

    /// A call; the opening parenthesis is consumed.
    fn call(
        &mut self,
        name: &str,
        column: usize,
    ) -> Result<NodeId, ExprError> {
        let args = self.args()?;
        if let Some(agg) = AggFn::from_name(name) {
            return self.aggregate(agg, name, column, &args);
        }
        let (arity, node) = match name {
            "abs" => (1, Func1::Abs),
            "lower" => (1, Func1::Lower),
            "upper" => (1, Func1::Upper),
            "len" => (1, Func1::Len),
            "matches" | "starts_with" | "ends_with" | "contains" => {
                check_arity(name, column, 2, &args)?;
                return self.two_string_call(name, &args);
            }
            _ => {
                return Err(ExprError::new(
                    column,
                    format!("unknown function \"{name}\""),
                ));
            }
        };
        check_arity(name, column, arity, &args)?;
        // OK because the arity (1) was just checked.
        self.push(Node::Call1(node, args[0].node))
    }

    /// The arguments up to and including the closing parenthesis.
    fn args(&mut self) -> Result<Vec<Arg>, ExprError> {
        let mut args = Vec::new();
        if self.eat(&Tok::RParen)? {
            return Ok(args);
        }
        loop {
            let column = self.peek()?.column;
            args.push(Arg { node: self.expr()?, column });
            if !self.eat(&Tok::Comma)? {
                break;
            }
        }
        self.expect(&Tok::RParen, "')'")?;
        Ok(args)
    }

    fn two_string_call(
        &mut self,
        name: &str,
        args: &[Arg],
    ) -> Result<NodeId, ExprError> {
        // OK because callers checked the arity (2).
        let (subject, second) = (args[0].node, &args[1]);
        let test = match name {
            "starts_with" => StrTest::StartsWith,
            "ends_with" => StrTest::EndsWith,
            "contains" => StrTest::Contains,
            _ => return self.matches(subject, second),
        };
        self.push(Node::StrTest(test, subject, second.node))
    }

    /// `matches(s, "regex")`: the regex must be a string literal (possibly
    /// parenthesized); it is compiled now.
    fn matches(
        &mut self,
        subject: NodeId,
        regex: &Arg,
    ) -> Result<NodeId, ExprError> {
        let Node::Lit(Lit::Str(pattern)) = self.ast.node(regex.node) else {
            return Err(ExprError::new(
                regex.column,
                "matches() needs a string literal regex",
            ));
        };
        let re = java_regex::compile(pattern).map_err(|why| {
            ExprError::new(regex.column, format!("bad regex: {why}"))
        })?;
        let index = self.ast.push_regex(re).ok_or_else(|| {
            ExprError::new(regex.column, "expression too large")
        })?;
        self.push(Node::Matches(subject, index))
    }

    /// `count(stage)`, `sum(stage.f)`, ...: the argument must be a path
    /// (possibly parenthesized) whose first segment names a stage.
    fn aggregate(
        &mut self,
        agg: AggFn,
        name: &str,
        column: usize,
        args: &[Arg],
    ) -> Result<NodeId, ExprError> {
        let [arg] = args else {
            return Err(ExprError::new(
                column,
                format!("{name}() takes exactly one argument"),
            ));
        };
        let Node::Field(path) = self.ast.node(arg.node) else {
            return Err(ExprError::new(
                arg.column,
                format!("{name}() needs a stage path argument"),
            ));
        };
        let (stage_name, field) = split_stage(path);
        let Some(stage) = (self.resolve_stage)(stage_name) else {
            return Err(ExprError::new(
                arg.column,
                format!("unknown stage \"{stage_name}\""),
            ));
        };
        if agg != AggFn::Count && field.is_empty() {
            return Err(ExprError::new(
                arg.column,
                format!("{name}() needs a field: {name}(stage.field)"),
            ));
        }
        let field: Path = field.into();
        self.push(Node::Agg(agg, stage, field))
    }
}

/// Splits a path into its stage name and the field path after it.
fn split_stage(path: &Path) -> (&str, &[Box<str>]) {
    match path.split_first() {
        Some((stage, field)) => (stage, field),
        // Paths always have at least one segment.
        None => ("", &[]),
    }
}

fn check_arity(
    name: &str,
    column: usize,
    arity: usize,
    args: &[Arg],
) -> Result<(), ExprError> {
    if args.len() == arity {
        return Ok(());
    }
    let plural = if arity == 1 { "argument" } else { "arguments" };
    Err(ExprError::new(
        column,
        format!("{name}() takes {arity} {plural}, not {}", args.len()),
    ))
}

fn unexpected(t: &Token<'_>) -> ExprError {
    let what = match &t.kind {
        Tok::Eof => {
            return ExprError::new(t.column, "unexpected end of expression");
        }
        Tok::Num(_) => "number".to_string(),
        Tok::Str(_) => "string".to_string(),
        Tok::Ident(name) => format!("\"{name}\""),
        other => format!("'{}'", symbol(other)),
    };
    ExprError::new(t.column, format!("unexpected {what}"))
}

fn symbol(kind: &Tok<'_>) -> &'static str {
    match kind {
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::Comma => ",",
        Tok::Dot => ".",
        Tok::Bang => "!",
        Tok::AndAnd => "&&",
        Tok::OrOr => "||",
        Tok::EqEq => "==",
        Tok::NotEq => "!=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Slash => "/",
        Tok::Percent => "%",
        Tok::Num(_) | Tok::Str(_) | Tok::Ident(_) | Tok::Eof => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(name: &str) -> Option<StageId> {
        ["a", "b", "fail", "in"]
            .iter()
            .position(|s| *s == name)
            .map(StageId::must)
    }

    fn ok(src: &str) -> Ast {
        match parse(src, &stages) {
            Ok(ast) => ast,
            Err(e) => panic!("{src}: {e}"),
        }
    }

    fn err(src: &str) -> (usize, String) {
        match parse(src, &stages) {
            Ok(ast) => panic!("{src} parsed: {:?}", ast.node(ast.root)),
            Err(e) => (e.column(), e.message().to_string()),
        }
    }

    fn root(src: &str) -> Node {
        let ast = ok(src);
        ast.node(ast.root).clone()
    }

    #[test]
    fn accepts_the_grammar() {
        for src in [
            "true",
            "a == 1 && b != \"x\" || !c",
            "-x + 2 * (y - 3) / 4 % 5 >= 0",
            "x in [1, -2, - 3.5, \"s\", true, false, null, .5]",
            "a.b.c < a . b",
            "count(fail) < 3 && sum(fail.amount) > 10",
            "count(fail.f) + avg(a.x) + min(a.x) + max(a.x)",
            "first(a.x) == last(b.y.z)",
            "matches(tag, \"^x\") && starts_with(tag, \"y\")",
            "ends_with(tag, p) || contains(lower(tag), upper(\"a\"))",
            "abs(x) + len(s)",
            "count ( fail )",
            "count((fail))",
            "matches(t, (\"x\"))",
            "in == 1",
            "in in [1]",
            "count(in)",
            "a.true.in",
            "5in [5]",
            "x<-1",
            "!!!x",
            "- -x",
            "a--b",
            "  x  ",
            "\u{3000}x\u{2028}==\n1",
        ] {
            ok(src);
        }
    }

    #[test]
    fn not_binds_looser_than_comparisons() {
        let ast = ok("!a == b");
        let Node::Not(inner) = ast.node(ast.root) else { panic!() };
        assert!(matches!(ast.node(*inner), Node::Cmp(CmpOp::Eq, ..)));
        // ...but tighter than && and ||.
        assert!(matches!(root("!a && b"), Node::And(_)));
    }

    #[test]
    fn chains_are_flat() {
        let Node::Or(xs) = root("a || b || c || d") else { panic!() };
        assert_eq!(xs.len(), 4);
        let Node::And(xs) = root("a && b && c") else { panic!() };
        assert_eq!(xs.len(), 3);
        let Node::Arith(_, rest) = root("1 - 2 + 3 - 4") else { panic!() };
        let ops: Vec<_> = rest.iter().map(|(op, _)| *op).collect();
        assert_eq!(ops, [ArithOp::Sub, ArithOp::Add, ArithOp::Sub]);
        // Products bind tighter than sums.
        let Node::Arith(_, rest) = root("1 + 2 * 3") else { panic!() };
        assert_eq!(rest.len(), 1);
        // A long chain is not deep.
        let long = vec!["x"; 5000].join(" + ");
        ok(&long);
        ok(&vec!["x == 1"; 2000].join(" || "));
    }

    #[test]
    fn in_list_items() {
        let Node::In(_, lits) = root("x in [1, -2, \"a\", null, true, -.5]")
        else {
            panic!()
        };
        assert_eq!(
            &lits[..],
            [
                Lit::Num(1.0),
                Lit::Num(-2.0),
                Lit::Str("a".into()),
                Lit::Null,
                Lit::Bool(true),
                Lit::Num(-0.5)
            ]
        );
    }

    #[test]
    fn aggregates_resolve_stages() {
        let Node::Agg(AggFn::Sum, stage, field) = root("sum(fail.amount.v)")
        else {
            panic!()
        };
        assert_eq!(stage.as_usize(), 2);
        assert_eq!(&field[..], [Box::from("amount"), Box::from("v")]);
        let Node::Agg(AggFn::Count, _, field) = root("count(a)") else {
            panic!()
        };
        assert!(field.is_empty());
    }

    #[test]
    fn unknown_stage_column() {
        let src = "type == \"x\" && count(fial) < 3";
        assert_eq!(err(src), (22, "unknown stage \"fial\"".into()));
        assert_eq!(err("sum( zz.x)"), (6, "unknown stage \"zz\"".into()));
        // A '-' is not part of a name: this is a difference, not a path.
        let (col, msg) = err("count(middle-first)");
        assert_eq!(
            (col, msg.as_str()),
            (7, "count() needs a stage path argument")
        );
    }

    #[test]
    fn call_errors() {
        assert_eq!(err("foo(1)").0, 1);
        assert_eq!(err("x && foo(1)").1, "unknown function \"foo\"");
        assert_eq!(err("abs()").1, "abs() takes 1 argument, not 0");
        assert_eq!(err("abs(1, 2)").0, 1);
        assert_eq!(
            err("contains(a)").1,
            "contains() takes 2 arguments, not 1"
        );
        assert_eq!(err("matches(a, \"x\", 1)").0, 1);
        assert_eq!(err("count()").1, "count() takes exactly one argument");
        assert_eq!(err("count(a, b)").0, 1);
        assert_eq!(
            err("count(1)"),
            (7, "count() needs a stage path argument".into())
        );
        assert_eq!(err("last(a.x + 1)").0, 6);
        assert_eq!(
            err("sum(a)"),
            (5, "sum() needs a field: sum(stage.field)".into())
        );
        assert_eq!(err("first(b)").0, 7);
        assert_eq!(err("count(a.)").0, 9);
        assert_eq!(err("a.b(1)").0, 4);
        assert_eq!(err("f(1,)").0, 5);
        assert_eq!(err("f(,1)").0, 3);
    }

    #[test]
    fn matches_needs_a_literal_regex() {
        assert_eq!(
            err("matches(s, p)"),
            (12, "matches() needs a string literal regex".into())
        );
        assert_eq!(err("matches(s, \"a\" + \"b\")").0, 12);
        assert_eq!(err("matches(s, 1)").0, 12);
        let (col, msg) = err("x == 1 && matches(s,  \"a(b\")");
        assert_eq!(col, 23);
        assert_eq!(msg, "bad regex: unclosed group");
    }

    #[test]
    fn syntax_errors() {
        for (src, col) in [
            ("", 1),
            ("   ", 4),
            ("a ==", 5),
            ("a == b == c", 8),
            ("a < b in [1]", 7),
            ("a in [1] == true", 10),
            ("(a", 3),
            ("a)", 2),
            ("a b", 3),
            ("a == !b", 6),
            ("-!a", 2),
            ("!=a", 1),
            ("a.", 3),
            ("a.5", 2),
            ("a .5", 3),
            ("a in 1", 6),
            ("a in []", 7),
            ("a in [1,]", 9),
            ("a in [1", 8),
            ("a in [x]", 7),
            ("a in [truex]", 7),
            ("a in [-x]", 7),
            ("a in [--1]", 7),
            ("a in [+1]", 7),
            ("a in [.]", 7),
            ("true(1)", 5),
            ("null.x", 5),
            ("1.2.3", 4),
            ("5abc", 2),
            ("1e", 2),
            ("x = 1", 3),
            ("x === 1", 5),
            ("x <> 1", 4),
            ("[1]", 1),
            ("x,y", 2),
            ("x && ", 6),
        ] {
            assert_eq!(err(src).0, col, "{src}");
        }
        assert_eq!(err("").1, "unexpected end of expression");
        assert_eq!(err("a b").1, "unexpected \"b\"");
        assert_eq!(err("(a").1, "expected ')'");
    }

    #[test]
    fn nesting_is_limited() {
        let ok_depth = MAX_DEPTH;
        ok(&format!("{}x{}", "(".repeat(ok_depth), ")".repeat(ok_depth)));
        ok(&format!("{}x", "!".repeat(ok_depth)));
        ok(&format!("{}x", "-".repeat(ok_depth)));
        let deep = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(err(&deep).0, MAX_DEPTH + 1);
        assert_eq!(err(&"!".repeat(100_000)).0, MAX_DEPTH + 1);
        assert_eq!(err(&"-".repeat(100_000)).0, MAX_DEPTH + 1);
        assert_eq!(err(&"abs(".repeat(100)).0, 4 * MAX_DEPTH + 1);
        let mixed = "(!-abs(".repeat(30);
        assert!(err(&mixed).1.contains("nested"));
    }

    #[test]
    fn never_panics_on_odd_input() {
        let pieces = [
            "(", ")", "[", "]", "!", "-", "\"", "\\", "a", "1", ".", ",",
            "in", "&&", "||", "==", "count(", "matches(", "é", "😀", " ",
            "\u{663}", "e", "\"\\u", "true", "null", "%", "<",
        ];
        // Every 3-piece combination.
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let src = format!("{a}{b}{c}");
                    let _ = parse(&src, &stages);
                }
            }
        }
    }
}
