//! Tokens of the expression language.
//!
//! The reference interpreter (the oracle's `Expr.java`) is scannerless: it
//! peeks at raw characters with Java's `Character` predicates. This lexer
//! produces the same token boundaries, using the same character classes
//! (Java's notion of whitespace, letters and digits, on UTF-16 code units),
//! so that exactly the same inputs are accepted. It is lazy: the parser
//! pulls one token at a time, so the first error is reported where the
//! reference reports it.

use std::sync::OnceLock;

use regex_automata::meta::Regex;
use regex_automata::{Anchored, Input};

use super::ExprError;

/// One token and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token<'s> {
    pub(crate) kind: Tok<'s>,
    /// 1-based column, in characters, of the token's first character.
    pub(crate) column: usize,
}

/// The kinds of tokens.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok<'s> {
    Num(f64),
    Str(String),
    Ident(&'s str),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    Bang,
    AndAnd,
    OrOr,
    EqEq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Eof,
}

/// Splits an expression into tokens on demand.
pub(crate) struct Lexer<'s> {
    src: &'s str,
    /// Byte offset of the next unread character.
    pos: usize,
    /// 1-based column (in characters) of the next unread character.
    column: usize,
}

impl<'s> Lexer<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        Lexer { src, pos: 0, column: 1 }
    }

    /// The column of the next unread character.
    pub(crate) fn column(&self) -> usize {
        self.column
    }

    /// Reads the next token, skipping whitespace first.
    pub(crate) fn next_token(&mut self) -> Result<Token<'s>, ExprError> {
        while self.peek_char().is_some_and(is_java_whitespace) {
            self.bump();
        }
        let column = self.column;
        let kind = match self.peek_char() {
            None => Tok::Eof,
            Some(c) => self.token_at(c, column)?,
        };
        Ok(Token { kind, column })
    }

    fn token_at(
        &mut self,
        c: char,
        column: usize,
    ) -> Result<Tok<'s>, ExprError> {
        if is_java_digit(c)
            || (c == '.' && self.nth_char(1).is_some_and(is_java_digit))
        {
            return self.number(column);
        }
        if c == '"' {
            return self.string(column).map(Tok::Str);
        }
        if is_ident_start(c) {
            return Ok(Tok::Ident(self.ident()));
        }
        self.operator(c, column)
    }

    fn operator(
        &mut self,
        c: char,
        column: usize,
    ) -> Result<Tok<'s>, ExprError> {
        let next = self.nth_char(1);
        // Two-character operators first (maximal munch, as the reference
        // tries "==", "!=", "<=", ">=" before "<", ">" and "!").
        let two = match (c, next) {
            ('&', Some('&')) => Some(Tok::AndAnd),
            ('|', Some('|')) => Some(Tok::OrOr),
            ('=', Some('=')) => Some(Tok::EqEq),
            ('!', Some('=')) => Some(Tok::NotEq),
            ('<', Some('=')) => Some(Tok::Le),
            ('>', Some('=')) => Some(Tok::Ge),
            _ => None,
        };
        if let Some(tok) = two {
            self.bump();
            self.bump();
            return Ok(tok);
        }
        let one = match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            '[' => Tok::LBracket,
            ']' => Tok::RBracket,
            ',' => Tok::Comma,
            '.' => Tok::Dot,
            '!' => Tok::Bang,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '%' => Tok::Percent,
            _ => {
                return Err(ExprError::new(
                    column,
                    format!("unexpected {}", quote_char(c)),
                ));
            }
        };
        self.bump();
        Ok(one)
    }

    fn ident(&mut self) -> &'s str {
        let start = self.pos;
        while self.peek_char().is_some_and(is_ident_part) {
            self.bump();
        }
        &self.src[start..self.pos]
    }

    /// Scans a number exactly as the reference does (digits, an optional
    /// fraction, an optional exponent that is only taken when digits follow
    /// it), then parses it as `Double.parseDouble` would.
    fn number(&mut self, column: usize) -> Result<Tok<'s>, ExprError> {
        let start = self.pos;
        self.skip_digits();
        if self.peek_char() == Some('.') {
            self.bump();
            self.skip_digits();
        }
        if matches!(self.peek_char(), Some('e' | 'E')) {
            self.exponent();
        }
        let text = &self.src[start..self.pos];
        parse_java_double(text).map(Tok::Num).ok_or_else(|| {
            ExprError::new(column, format!("bad number \"{text}\""))
        })
    }

    fn exponent(&mut self) {
        let (save_pos, save_column) = (self.pos, self.column);
        self.bump();
        if matches!(self.peek_char(), Some('+' | '-')) {
            self.bump();
        }
        if self.peek_char().is_some_and(is_java_digit) {
            self.skip_digits();
        } else {
            // "1e" or "1e+" without digits: the exponent is not part of the
            // number (the reference backs up the same way).
            self.pos = save_pos;
            self.column = save_column;
        }
    }

    fn skip_digits(&mut self) {
        while self.peek_char().is_some_and(is_java_digit) {
            self.bump();
        }
    }

    /// Reads a double-quoted string with JSON escapes (the opening quote
    /// is the next character).
    fn string(&mut self, column: usize) -> Result<String, ExprError> {
        self.bump();
        let mut out = String::new();
        let mut units = Utf16Builder::default();
        loop {
            let at = self.column;
            let Some(c) = self.peek_char() else {
                return Err(ExprError::new(column, "unterminated string"));
            };
            self.bump();
            match c {
                '"' => {
                    units.flush(&mut out);
                    return Ok(out);
                }
                '\\' => self.escape(at, column, &mut out, &mut units)?,
                c if (c as u32) < 0x20 => {
                    return Err(ExprError::new(
                        at,
                        "control character in string",
                    ));
                }
                c => {
                    units.flush(&mut out);
                    out.push(c);
                }
            }
        }
    }

    /// Decodes one escape; `at` is the column of the backslash.
    fn escape(
        &mut self,
        at: usize,
        string_column: usize,
        out: &mut String,
        units: &mut Utf16Builder,
    ) -> Result<(), ExprError> {
        let Some(e) = self.peek_char() else {
            return Err(ExprError::new(string_column, "unterminated string"));
        };
        self.bump();
        let simple = match e {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let unit = self
                    .unicode_escape()
                    .ok_or_else(|| ExprError::new(at, "bad \\u escape"))?;
                units.push(unit, out);
                return Ok(());
            }
            other => {
                return Err(ExprError::new(
                    at,
                    format!("bad escape \\{}", other.escape_debug()),
                ));
            }
        };
        units.flush(out);
        out.push(simple);
        Ok(())
    }

    /// The UTF-16 code unit of `\uXXXX`, decoded like the reference's
    /// `(char) Integer.parseInt(next4, 16)`: an optional sign, then hex
    /// digits in Java's sense (`Character.digit(c, 16)`).
    fn unicode_escape(&mut self) -> Option<u16> {
        let rest = self.src.get(self.pos..)?;
        let four: Vec<char> = rest.chars().take(4).collect();
        if four.len() < 4 {
            return None;
        }
        let value = java_parse_hex(&four)?;
        for _ in 0..4 {
            self.bump();
        }
        // Java's (char) cast keeps the low 16 bits, also of a negative
        // value ("\u-001" is U+FFFF).
        Some((value & 0xffff) as u16)
    }

    fn peek_char(&self) -> Option<char> {
        self.src.get(self.pos..)?.chars().next()
    }

    fn nth_char(&self, n: usize) -> Option<char> {
        self.src.get(self.pos..)?.chars().nth(n)
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek_char() {
            self.pos += c.len_utf8();
            self.column += 1;
        }
    }
}

/// Collects `\uXXXX` code units so that an escaped surrogate pair becomes
/// one character, as in Java. A lone surrogate (which Java keeps, but a
/// Rust string cannot hold) becomes U+FFFD.
#[derive(Default)]
struct Utf16Builder {
    high: Option<u16>,
}

impl Utf16Builder {
    fn push(&mut self, unit: u16, out: &mut String) {
        if let Some(high) = self.high.take() {
            if (0xdc00..0xe000).contains(&unit) {
                let c = char::decode_utf16([high, unit]).next();
                out.push(c.and_then(Result::ok).unwrap_or('\u{fffd}'));
                return;
            }
            out.push('\u{fffd}');
        }
        if (0xd800..0xdc00).contains(&unit) {
            self.high = Some(unit);
        } else {
            out.push(char::from_u32(unit.into()).unwrap_or('\u{fffd}'));
        }
    }

    fn flush(&mut self, out: &mut String) {
        if self.high.take().is_some() {
            out.push('\u{fffd}');
        }
    }
}

/// `Integer.parseInt(s, 16)` on exactly these characters, or `None` when
/// Java would throw.
fn java_parse_hex(chars: &[char]) -> Option<i32> {
    let (negative, digits) = match chars.split_first() {
        Some(('-', rest)) => (true, rest),
        Some(('+', rest)) => (false, rest),
        _ => (false, chars),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i32 = 0;
    for &c in digits {
        value = value * 16 + java_hex_digit(c)?;
    }
    Some(if negative { -value } else { value })
}

/// `Character.digit(c, 16)`: ASCII and fullwidth Latin hex letters, and
/// any decimal digit (`Nd`) of the Basic Multilingual Plane.
fn java_hex_digit(c: char) -> Option<i32> {
    let value = match c {
        '0'..='9' => c as u32 - '0' as u32,
        'a'..='f' => c as u32 - 'a' as u32 + 10,
        'A'..='F' => c as u32 - 'A' as u32 + 10,
        '\u{ff21}'..='\u{ff26}' => c as u32 - 0xff21 + 10,
        '\u{ff41}'..='\u{ff46}' => c as u32 - 0xff41 + 10,
        _ => nd_digit_value(c)?,
    };
    i32::try_from(value).ok()
}

/// The value of a non-ASCII BMP decimal digit. Every `Nd` block is a run of
/// ten code points from zero to nine, so the value is the number of `Nd`
/// code points right before it, modulo ten.
fn nd_digit_value(c: char) -> Option<u32> {
    if !is_java_digit(c) {
        return None;
    }
    let mut run = 0;
    let mut cp = c as u32;
    while let Some(prev) = cp.checked_sub(1).and_then(char::from_u32) {
        if !is_java_digit(prev) {
            break;
        }
        run += 1;
        cp -= 1;
    }
    Some(run % 10)
}

/// `Double.parseDouble` on the text the number scanner took: Java only
/// accepts ASCII digits there, and needs a digit before or after the point.
fn parse_java_double(text: &str) -> Option<f64> {
    if !text.is_ascii() {
        return None;
    }
    let mantissa = text.split(['e', 'E']).next().unwrap_or(text);
    if !mantissa.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn quote_char(c: char) -> String {
    format!("'{}'", c.escape_debug())
}

/// Java's `Character.isWhitespace` (on a UTF-16 code unit): space, line and
/// paragraph separators except the non-breaking ones, and the ASCII
/// controls tab to carriage return and 0x1C to 0x1F.
pub(crate) fn is_java_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t'..='\r'
            | '\u{1c}'..='\u{1f}'
            | ' '
            | '\u{1680}'
            | '\u{2000}'..='\u{2006}'
            | '\u{2008}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Java's `Character.isLetter(c) || c == '_'`.
pub(crate) fn is_ident_start(c: char) -> bool {
    c == '_' || is_java_letter(c)
}

/// Java's `Character.isLetterOrDigit(c) || c == '_'`.
pub(crate) fn is_ident_part(c: char) -> bool {
    c == '_' || is_java_letter(c) || is_java_digit(c)
}

/// Java's `Character.isLetter` on a UTF-16 code unit: general category L,
/// never for a character outside the BMP (Java sees its surrogates).
fn is_java_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    static LETTER: OnceLock<Option<Regex>> = OnceLock::new();
    class_contains(&LETTER, r"[\p{L}&&[\x{80}-\x{FFFF}]]", c)
}

/// Java's `Character.isDigit` on a UTF-16 code unit: general category Nd
/// in the BMP.
fn is_java_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static DIGIT: OnceLock<Option<Regex>> = OnceLock::new();
    class_contains(&DIGIT, r"[\p{Nd}&&[\x{80}-\x{FFFF}]]", c)
}

/// Whether `c` is in the one-character class `pattern`, using the Unicode
/// tables that regex-automata already carries.
fn class_contains(
    cell: &OnceLock<Option<Regex>>,
    pattern: &str,
    c: char,
) -> bool {
    // A constant pattern; if it somehow failed to build, non-ASCII
    // characters are simply not in the class (tests check that it builds).
    let Some(re) = cell.get_or_init(|| Regex::new(pattern).ok()) else {
        return false;
    };
    let mut buf = [0; 4];
    let s: &str = c.encode_utf8(&mut buf);
    re.is_match(Input::new(s).anchored(Anchored::Yes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok<'_>> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            if t.kind == Tok::Eof {
                return out;
            }
            out.push(t.kind);
        }
    }

    fn first_err(src: &str) -> ExprError {
        let mut lx = Lexer::new(src);
        loop {
            match lx.next_token() {
                Err(e) => return e,
                Ok(t) if t.kind == Tok::Eof => panic!("no error in {src}"),
                Ok(_) => {}
            }
        }
    }

    #[test]
    fn operators_use_maximal_munch() {
        use Tok::*;
        assert_eq!(
            kinds("&& || == != <= >= < > ! + - * / % ( ) [ ] , ."),
            vec![
                AndAnd, OrOr, EqEq, NotEq, Le, Ge, Lt, Gt, Bang, Plus, Minus,
                Star, Slash, Percent, LParen, RParen, LBracket, RBracket,
                Comma, Dot
            ]
        );
        assert_eq!(kinds("!=!"), vec![NotEq, Bang]);
        assert_eq!(first_err("!==").column(), 3);
        assert_eq!(first_err("a = b").column(), 3);
        assert_eq!(first_err("a & b").message(), "unexpected '&'");
        assert_eq!(first_err("a | b").column(), 3);
    }

    #[test]
    fn numbers_follow_java() {
        use Tok::*;
        assert_eq!(kinds("12"), vec![Num(12.0)]);
        assert_eq!(kinds("1.5e3"), vec![Num(1500.0)]);
        assert_eq!(kinds("5."), vec![Num(5.0)]);
        assert_eq!(kinds(".5"), vec![Num(0.5)]);
        assert_eq!(kinds("5.e1"), vec![Num(50.0)]);
        assert_eq!(kinds("1E-2"), vec![Num(0.01)]);
        assert_eq!(kinds("1e999"), vec![Num(f64::INFINITY)]);
        // An exponent without digits is not part of the number.
        assert_eq!(kinds("1e"), vec![Num(1.0), Ident("e")]);
        assert_eq!(kinds("1e+"), vec![Num(1.0), Ident("e"), Plus]);
        assert_eq!(kinds("5in"), vec![Num(5.0), Ident("in")]);
        assert_eq!(kinds("1.2.3"), vec![Num(1.2), Num(0.3)]);
        assert_eq!(kinds("a.b"), vec![Ident("a"), Dot, Ident("b")]);
        // Non-ASCII decimal digits start a number that Java cannot parse.
        let e = first_err("x == \u{663}");
        assert_eq!((e.column(), e.message()), (6, "bad number \"\u{663}\""));
        assert_eq!(first_err("1\u{663}").column(), 1);
    }

    #[test]
    fn identifiers_use_java_letters() {
        use Tok::*;
        assert_eq!(
            kinds("_a1 é x٣"),
            vec![Ident("_a1"), Ident("é"), Ident("x٣")]
        );
        assert_eq!(
            kinds("middle-first"),
            vec![Ident("middle"), Minus, Ident("first")]
        );
        // A letter outside the BMP is two surrogates to Java: not a letter.
        assert_eq!(first_err("\u{1d49c}").message(), "unexpected '\u{1d49c}'");
        // U+00AA is Lo (a letter); U+2160 is Nl (not a letter in Java).
        assert_eq!(kinds("\u{aa}"), vec![Ident("\u{aa}")]);
        assert_eq!(first_err("\u{2160}").column(), 1);
    }

    #[test]
    fn whitespace_is_javas() {
        use Tok::*;
        assert_eq!(
            kinds("\t1\n\u{b}\u{c}\r\u{1c}\u{2003}\u{3000}+"),
            vec![Num(1.0), Plus]
        );
        // No-break spaces and NEL are not whitespace in Java.
        assert_eq!(first_err("1\u{a0}").column(), 2);
        assert_eq!(first_err("1 \u{85}").column(), 3);
        assert_eq!(first_err("\u{202f}").column(), 1);
    }

    #[test]
    fn strings_take_json_escapes() {
        let s = |src| match kinds(src).pop() {
            Some(Tok::Str(s)) => s,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            s(r#""a\"b\\c\/d\b\f\n\r\t""#),
            "a\"b\\c/d\u{8}\u{c}\n\r\t"
        );
        assert_eq!(s(r#""\u0041\u00e9""#), "Aé");
        assert_eq!(s(r#""\ud83d\ude00""#), "\u{1f600}");
        assert_eq!(s(r#""\ud800x""#), "\u{fffd}x");
        assert_eq!(s(r#""\udc00""#), "\u{fffd}");
        assert_eq!(s(r#""\ud800\u0041""#), "\u{fffd}A");
        // Integer.parseInt quirks: a sign, and Unicode digits.
        assert_eq!(s(r#""\u+041""#), "A");
        assert_eq!(s(r#""\u-001""#), "\u{ffff}");
        assert_eq!(s("\"\\u00\u{ff21}1\""), "\u{a1}");
        assert_eq!(s("\"\\u0\u{663}41\""), "\u{341}");
        assert_eq!(s("\"é😀\u{7f}\""), "é😀\u{7f}");
    }

    #[test]
    fn string_errors() {
        let e = first_err(r#"x == "abc"#);
        assert_eq!((e.column(), e.message()), (6, "unterminated string"));
        assert_eq!(first_err(r#""ab\"#).message(), "unterminated string");
        let e = first_err(r#""a\q""#);
        assert_eq!((e.column(), e.message()), (3, "bad escape \\q"));
        let e = first_err(r#""a\u12""#);
        assert_eq!((e.column(), e.message()), (3, "bad \\u escape"));
        assert_eq!(first_err(r#""\u12x4""#).message(), "bad \\u escape");
        assert_eq!(first_err(r#""\u-""#).message(), "bad \\u escape");
        assert_eq!(first_err(r#""\u+-12""#).message(), "bad \\u escape");
        let e = first_err("\"a\nb\"");
        assert_eq!(
            (e.column(), e.message()),
            (3, "control character in string")
        );
    }

    #[test]
    fn columns_count_characters() {
        let mut lx = Lexer::new("é😀 x");
        assert!(lx.next_token().is_ok());
        let e = first_err("\"é😀\" ^");
        assert_eq!(e.column(), 6);
    }

    #[test]
    fn character_class_tables_build() {
        assert!(is_java_letter('é'));
        assert!(is_java_digit('\u{663}'));
        assert!(!is_java_letter('\u{1d49c}'));
        assert_eq!(nd_digit_value('\u{669}'), Some(9));
        assert_eq!(nd_digit_value('\u{ff10}'), Some(0));
    }
}
