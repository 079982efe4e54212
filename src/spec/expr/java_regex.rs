//! Regexes of `matches(s, "regex")`.
//!
//! The contract allows the syntax common to Rust's `regex` and Java's
//! `java.util.regex`, and the reference evaluates with Java's
//! `Matcher.find()`. Much of that common syntax means different things in
//! the two dialects, so the pattern is translated into a Rust pattern with
//! Java's meaning before it is compiled:
//!
//! * `\d`, `\w`, `\s` and the POSIX `\p{Alpha}`-style classes are ASCII in
//!   Java (unless `(?U)`); Rust's are Unicode.
//! * `.` excludes all of Java's line terminators (`\r`, U+0085, U+2028,
//!   U+2029 as well as `\n`); `$` and `\Z` also match before a final line
//!   terminator.
//! * An escaped non-alphanumeric character is always a literal in Java
//!   (`\<` is not a word boundary, `\é` is valid); `\v`, `\h`, `\R`, `\e`,
//!   `\cX`, octal `\0nn`, `\G` and `\Q...\E` are rewritten to equivalents.
//! * Java's inline flags `d`, `u`, `U` and `c` have no (or another) meaning
//!   in Rust: they are tracked here and not passed on.
//! * `[[:alpha:]]`, `~~` and `--` inside a class are literal text in Java,
//!   set syntax in Rust: they are escaped.
//!
//! Java-only constructs Rust cannot express (lookaround, backreferences,
//! atomic groups, possessive quantifiers, ...) are errors, so a spec using
//! them is rejected rather than silently evaluated differently.

use regex_automata::meta::Regex;

/// Compiles a Java-dialect regex for an unanchored search, or describes
/// why it is invalid.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    let rust = translate(pattern)?;
    Regex::new(&rust).map_err(|e| describe(&e))
}

/// The one-line reason of a build error (regex-syntax's own message spans
/// several lines and quotes the translated pattern).
fn describe(err: &regex_automata::meta::BuildError) -> String {
    let Some(syntax) = err.syntax_error() else {
        return err.to_string();
    };
    let text = syntax.to_string();
    let last = text.lines().rev().find(|l| !l.trim().is_empty());
    let reason = last.unwrap_or(&text).trim();
    reason.strip_prefix("error: ").unwrap_or(reason).to_string()
}

/// Java's line terminators, as the body of a Rust class.
const TERMINATORS: &str = r"\n\r\x{85}\x{2028}\x{2029}";

/// What `$` may consume before the end: one final line terminator.
const FINAL_TERMINATOR: &str = r"(?:\r\n|[\n\r\x{85}\x{2028}\x{2029}])?\z";

/// Java's `\R`.
const LINEBREAK: &str = r"(?:\r\n|[\n\x0B\x0C\r\x{85}\x{2028}\x{2029}])";

/// Java's `\v` and `\h` class bodies.
const VERTICAL: &str = r"\n\x0B\x0C\r\x{85}\x{2028}\x{2029}";
const HORIZONTAL: &str =
    r" \t\x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";

/// The inline flags that change how this translation reads the pattern.
#[derive(Clone, Copy, Debug, Default)]
struct Flags {
    /// `s`: `.` matches everything.
    dotall: bool,
    /// `m`: `^` and `$` match at line boundaries.
    multiline: bool,
    /// `d`: only `\n` ends a line.
    unix_lines: bool,
    /// `U`: `\d`, `\w`, `\s` and POSIX classes are Unicode.
    unicode_classes: bool,
    /// `x`: whitespace and `#` comments are ignored.
    comments: bool,
    /// `i`: case-insensitive, for ASCII letters only unless `u`.
    case_insensitive: bool,
    /// `u` (or `U`): case-insensitivity covers all of Unicode.
    unicode_case: bool,
}

/// What precedes the current position, for Java's quantifier rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prev {
    /// The start of a sequence (pattern, group or branch start, or after
    /// an inline flag group): nothing to quantify.
    Start,
    /// Something quantifiable.
    Atom,
    /// A quantifier.
    Quantifier,
}

struct Translator {
    chars: Vec<char>,
    pos: usize,
    out: String,
    flags: Flags,
    /// Flags to restore at each open group's `)`.
    saved: Vec<Flags>,
    prev: Prev,
    /// Inside a character class.
    in_class: bool,
}

/// Rewrites a Java pattern into a Rust pattern with the same meaning.
fn translate(pattern: &str) -> Result<String, String> {
    let mut t = Translator {
        chars: pattern.chars().collect(),
        pos: 0,
        out: String::with_capacity(pattern.len() + 16),
        flags: Flags::default(),
        saved: Vec::new(),
        prev: Prev::Start,
        in_class: false,
    };
    while let Some(c) = t.bump() {
        t.outside_class(c)?;
    }
    Ok(t.out)
}

impl Translator {
    fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn outside_class(&mut self, c: char) -> Result<(), String> {
        match c {
            '*' | '+' | '?' => return self.quantifier(c),
            '{' => return self.counted(),
            '(' => return self.group(),
            '|' => {
                self.out.push('|');
                self.prev = Prev::Start;
                return Ok(());
            }
            '#' if self.flags.comments => {
                self.comment();
                return Ok(());
            }
            ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r'
                if self.flags.comments =>
            {
                // Ignored in comments mode (and by Rust's `x` too).
                self.out.push(c);
                return Ok(());
            }
            '\\' => self.escape(false)?,
            '[' => self.class()?,
            ')' => {
                self.flags = self.saved.pop().unwrap_or(self.flags);
                self.out.push(')');
            }
            '.' => self.dot(),
            '$' => self.dollar(),
            '^' if self.flags.multiline => self.out.push_str("(?m:^)"),
            '^' => self.out.push('^'),
            // Anything else, `}` and `]` included, is a literal.
            c => self.literal(c),
        }
        self.prev = Prev::Atom;
        Ok(())
    }

    /// `*`, `+` or `?`: Java rejects them with nothing to quantify or
    /// right after another quantifier ("dangling meta character").
    fn quantifier(&mut self, q: char) -> Result<(), String> {
        if self.prev != Prev::Atom {
            return Err(format!("dangling meta character '{q}'"));
        }
        self.out.push(q);
        self.quantifier_suffix()
    }

    /// `{n}`, `{n,}` or `{n,m}`. With nothing to quantify Java repeats
    /// the empty string (`{2}` alone matches everywhere).
    fn counted(&mut self) -> Result<(), String> {
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return Err("illegal repetition".into());
        }
        let min = self.decimal()?;
        let mut text = min.to_string();
        if self.peek() == Some(',') {
            self.bump();
            text.push(',');
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                let max = self.decimal()?;
                if max < min {
                    return Err("illegal repetition range".into());
                }
                text.push_str(&max.to_string());
            }
        }
        if self.bump() != Some('}') {
            return Err("unclosed counted closure".into());
        }
        if self.prev != Prev::Atom {
            self.out.push_str("(?:)");
        }
        self.out.push_str(&format!("{{{text}}}"));
        self.quantifier_suffix()
    }

    fn decimal(&mut self) -> Result<u32, String> {
        let mut n: u32 = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            self.bump();
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(d))
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or("repetition count too large")?;
        }
        Ok(n)
    }

    /// A quantifier's lazy `?` (both dialects) or possessive `+` (Java
    /// only: Rust cannot express it).
    fn quantifier_suffix(&mut self) -> Result<(), String> {
        match self.peek() {
            Some('?') => {
                self.bump();
                self.out.push('?');
            }
            Some('+') => {
                return Err("possessive quantifiers are not supported".into());
            }
            _ => {}
        }
        self.prev = Prev::Quantifier;
        Ok(())
    }

    /// Drops a `#` comment of comments mode (up to the end of the line),
    /// so that nothing in it is translated.
    fn comment(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                self.out.push('\n');
                return;
            }
        }
    }

    fn dot(&mut self) {
        if self.flags.dotall {
            self.out.push_str("(?s:.)");
        } else if self.flags.unix_lines {
            self.out.push_str(r"[^\n]");
        } else {
            self.out.push_str(&format!("[^{TERMINATORS}]"));
        }
    }

    /// `$`: in multi-line mode Rust's line end; otherwise the end of input
    /// or before a final line terminator. Rust has no lookahead, so the
    /// terminator is consumed instead: this only keeps the meaning when
    /// nothing follows `$` in its branch, and `matches` only asks whether
    /// there is a match at all. Elsewhere `$` is the end of input (as in
    /// Java, anything but a terminator after `$` cannot match anyway).
    fn dollar(&mut self) {
        if self.flags.multiline {
            self.out.push_str("(?m:$)");
        } else {
            self.end_but_for_terminator();
        }
    }

    fn end_but_for_terminator(&mut self) {
        let at_branch_end = matches!(self.peek(), None | Some('|' | ')'));
        if !at_branch_end {
            self.out.push_str(r"\z");
        } else if self.flags.unix_lines {
            self.out.push_str(r"\n?\z");
        } else {
            self.out.push_str(FINAL_TERMINATOR);
        }
    }

    /// A group opening (the `(` is consumed): inline flags are applied
    /// here, other group kinds Rust supports are copied.
    fn group(&mut self) -> Result<(), String> {
        self.prev = Prev::Start;
        if self.peek() != Some('?') {
            self.saved.push(self.flags);
            self.out.push('(');
            return Ok(());
        }
        self.bump();
        match (self.peek(), self.peek_at(1)) {
            (Some(':'), _) => {
                self.bump();
                self.saved.push(self.flags);
                self.out.push_str("(?:");
                Ok(())
            }
            (Some('<'), Some(c)) if c != '=' && c != '!' => {
                self.bump();
                self.saved.push(self.flags);
                self.group_name()
            }
            (Some('=' | '!' | '<'), _) => {
                Err("look-around is not supported".to_string())
            }
            (Some('>'), _) => Err("atomic groups are not supported".into()),
            _ => self.inline_flags(),
        }
    }

    /// A named group's name and `>` (after the `<`): Java allows an ASCII
    /// letter then ASCII letters and digits.
    fn group_name(&mut self) -> Result<(), String> {
        let mut name = String::new();
        loop {
            match self.bump() {
                Some('>') if !name.is_empty() => break,
                Some(c) if c.is_ascii_alphabetic() => name.push(c),
                Some(c) if c.is_ascii_digit() && !name.is_empty() => {
                    name.push(c);
                }
                _ => return Err("bad named group".into()),
            }
        }
        self.out.push_str(&format!("(?<{name}>"));
        Ok(())
    }

    /// `(?flags)` or `(?flags:...)` after the `(?`.
    fn inline_flags(&mut self) -> Result<(), String> {
        let mut next = self.flags;
        let (mut on, mut off) = (String::new(), String::new());
        let mut negate = false;
        loop {
            let c = self.bump().ok_or("unclosed group")?;
            match c {
                '-' => negate = true,
                ')' | ':' => {
                    let rust = rust_flags(&on, &off);
                    if c == ':' {
                        self.saved.push(self.flags);
                        self.out.push_str(&format!("(?{rust}:"));
                    } else if !rust.is_empty() {
                        self.out.push_str(&format!("(?{rust})"));
                    }
                    self.flags = next;
                    return Ok(());
                }
                'i' | 'd' | 'm' | 's' | 'u' | 'x' | 'U' | 'c' => {
                    set_flag(&mut next, c, !negate);
                    // Comments mode means the same in Rust; the others are
                    // handled by this translation.
                    if c == 'x' {
                        if negate { &mut off } else { &mut on }.push(c);
                    }
                }
                _ => return Err(format!("unknown inline modifier '{c}'")),
            }
        }
    }

    /// A character class (the `[` is consumed), nested classes included.
    ///
    /// Under `(?i)` the class is made case-insensitive with Rust's
    /// (Unicode) folding: for ASCII-only Java folding this is only an
    /// approximation (Rust also folds `ſ`, the Kelvin sign and non-ASCII
    /// letters in classes).
    fn class(&mut self) -> Result<(), String> {
        let fold = self.flags.case_insensitive;
        if fold {
            self.out.push_str("(?i:");
        }
        self.in_class = true;
        let result = self.class_body();
        self.in_class = false;
        if fold {
            self.out.push(')');
        }
        result
    }

    fn class_body(&mut self) -> Result<(), String> {
        self.class_start();
        let mut depth = 1;
        while depth > 0 {
            let c = self.bump().ok_or("unclosed character class")?;
            match c {
                '\\' => self.escape(true)?,
                '[' => {
                    depth += 1;
                    self.class_start();
                }
                ']' => {
                    depth -= 1;
                    self.out.push(']');
                }
                // Set operators in Rust, literal text in Java.
                '~' => self.out.push_str(r"\~"),
                '-' if self.peek() == Some('-') => {
                    self.bump();
                    self.out.push_str(r"-\-");
                }
                // Rust's comments mode would skip it; Java's does not.
                c if c.is_whitespace() && !c.is_ascii() => self.literal(c),
                c => self.out.push(c),
            }
        }
        Ok(())
    }

    /// Opens a class: `[`, an optional `^`, and a literal `]` or `:` right
    /// after (Rust would read `[:` as a POSIX class).
    fn class_start(&mut self) {
        self.out.push('[');
        if self.peek() == Some('^') {
            self.bump();
            self.out.push('^');
        }
        match self.peek() {
            Some(']') => {
                self.bump();
                self.out.push_str(r"\]");
            }
            Some(':') => {
                self.bump();
                self.out.push_str(r"\:");
            }
            _ => {}
        }
    }

    /// An escape (the backslash is consumed).
    fn escape(&mut self, in_class: bool) -> Result<(), String> {
        let c = self.bump().ok_or("trailing backslash")?;
        if !c.is_ascii_alphanumeric() {
            // Java: a backslash before a non-alphanumeric is a literal.
            self.literal(c);
            return Ok(());
        }
        if let Some(class) = self.shorthand(c) {
            self.out.push_str(&class);
            return Ok(());
        }
        match c {
            't' | 'n' | 'r' | 'f' | 'A' | 'z' | 'B' => {
                self.out.push('\\');
                self.out.push(c);
            }
            'a' => self.literal('\u{7}'),
            'e' => self.literal('\u{1b}'),
            'b' => self.word_boundary()?,
            'G' => self.out.push_str(r"\A"),
            'Z' => self.end_but_for_terminator(),
            'R' if !in_class => self.out.push_str(LINEBREAK),
            'c' => self.control()?,
            '0' => self.octal()?,
            'u' => self.unicode()?,
            'x' => self.hex()?,
            'p' | 'P' => self.property(c == 'P'),
            'Q' => self.quote(),
            '1'..='9' | 'k' => {
                return Err("backreferences are not supported".into());
            }
            _ => return Err(format!("illegal/unsupported escape \\{c}")),
        }
        Ok(())
    }

    /// `\d \D \w \W \s \S \v \V \h \H` as a bracketed Rust class (valid
    /// both alone and nested in a class).
    fn shorthand(&self, c: char) -> Option<String> {
        let unicode = self.flags.unicode_classes;
        let s = match c {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' if unicode => format!("\\{c}"),
            'd' => "[[:digit:]]".into(),
            'D' => "[[:^digit:]]".into(),
            'w' => "[[:word:]]".into(),
            'W' => "[[:^word:]]".into(),
            's' => "[[:space:]]".into(),
            'S' => "[[:^space:]]".into(),
            'v' => format!("[{VERTICAL}]"),
            'V' => format!("[^{VERTICAL}]"),
            'h' => format!("[{HORIZONTAL}]"),
            'H' => format!("[^{HORIZONTAL}]"),
            _ => return None,
        };
        Some(s)
    }

    /// `\b`; Java's `\b{g}` (grapheme boundary) has no Rust equivalent.
    /// Any other `{` after it is a quantifier, not Rust's `\b{start}`.
    fn word_boundary(&mut self) -> Result<(), String> {
        if self.peek() == Some('{') && self.peek_at(1) == Some('g') {
            return Err("\\b{g} is not supported".into());
        }
        self.out.push_str(r"\b");
        Ok(())
    }

    /// `\cX`: the control character X ^ 64.
    fn control(&mut self) -> Result<(), String> {
        let x = self.bump().ok_or("illegal control escape sequence")?;
        let c = char::from_u32(x as u32 ^ 64);
        self.literal(c.ok_or("illegal control escape sequence")?);
        Ok(())
    }

    /// `\0n`, `\0nn` or `\0mnn` (m <= 3), as Java reads it.
    fn octal(&mut self) -> Result<(), String> {
        let digit = |c: Option<char>| c.and_then(|c| c.to_digit(8));
        let n = digit(self.peek()).ok_or("illegal octal escape sequence")?;
        self.bump();
        let mut value = n;
        if let Some(m) = digit(self.peek()) {
            self.bump();
            value = n * 8 + m;
            if let Some(o) = digit(self.peek()).filter(|_| n <= 3) {
                self.bump();
                value = value * 8 + o;
            }
        }
        // At most 0o377, always a valid character.
        self.literal(char::from_u32(value).unwrap_or('\0'));
        Ok(())
    }

    /// `\uXXXX` (exactly four hex digits); an escaped surrogate pair is
    /// one character, as in Java.
    fn unicode(&mut self) -> Result<(), String> {
        let high = self.hex4()?;
        let c = if (0xd800..0xdc00).contains(&high)
            && self.peek() == Some('\\')
            && self.peek_at(1) == Some('u')
        {
            let save = self.pos;
            self.pos += 2;
            let low = self.hex4()?;
            if (0xdc00..0xe000).contains(&low) {
                0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
            } else {
                self.pos = save;
                high
            }
        } else {
            high
        };
        let c = char::from_u32(c).ok_or("surrogate in \\u escape")?;
        self.literal(c);
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut value = 0;
        for _ in 0..4 {
            let d = self.peek().and_then(|c| c.to_digit(16));
            value = value * 16 + d.ok_or("illegal unicode escape sequence")?;
            self.bump();
        }
        Ok(value)
    }

    /// `\p{Name}` / `\P{Name}`: Java's POSIX names are ASCII classes
    /// (unless `(?U)`); other names are passed on.
    fn property(&mut self, negated: bool) {
        let posix = if self.peek() == Some('{') && !self.flags.unicode_classes
        {
            let end = self.chars[self.pos..].iter().position(|&c| c == '}');
            end.and_then(|end| {
                let name: String =
                    self.chars[self.pos + 1..self.pos + end].iter().collect();
                posix_class(&name).map(|class| (class, end + 1))
            })
        } else {
            None
        };
        match posix {
            Some((class, len)) => {
                self.pos += len;
                let not = if negated { "^" } else { "" };
                self.out.push_str(&format!("[[:{not}{class}:]]"));
            }
            None => {
                // Java makes case categories (`Lu`, ...) case-insensitive
                // under `(?i)`; Rust's folding of the class is close.
                let fold = self.flags.case_insensitive && !self.in_class;
                if fold {
                    self.out.push_str("(?i:");
                }
                self.out.push_str(if negated { r"\P" } else { r"\p" });
                self.copy_name();
                if fold {
                    self.out.push(')');
                }
            }
        }
    }

    /// Copies a property name, `{...}` or one character, as it is.
    fn copy_name(&mut self) {
        if self.peek() != Some('{') {
            if let Some(c) = self.bump() {
                self.out.push(c);
            }
            return;
        }
        while let Some(c) = self.bump() {
            self.out.push(c);
            if c == '}' {
                return;
            }
        }
    }

    /// `\xhh` or `\x{h...h}`.
    fn hex(&mut self) -> Result<(), String> {
        const BAD: &str = "illegal hexadecimal escape sequence";
        let digit = |c: Option<char>| c.and_then(|c| c.to_digit(16));
        let value = if self.peek() == Some('{') {
            self.bump();
            let mut value: u32 = 0;
            let mut any = false;
            while let Some(d) = digit(self.peek()) {
                self.bump();
                any = true;
                value = value.saturating_mul(16).saturating_add(d);
            }
            if !any || self.bump() != Some('}') {
                return Err(BAD.into());
            }
            value
        } else {
            let hi = digit(self.bump()).ok_or(BAD)?;
            let lo = digit(self.bump()).ok_or(BAD)?;
            hi * 16 + lo
        };
        let c =
            char::from_u32(value).ok_or("hexadecimal codepoint is too big")?;
        self.literal(c);
        Ok(())
    }

    /// `\Q...\E`: the text in between is literal.
    fn quote(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\\' && self.peek() == Some('E') {
                self.bump();
                return;
            }
            self.literal(c);
        }
    }

    /// A character that matches itself (case-insensitively under `(?i)`
    /// outside a class, where Java folds ASCII letters only, unless `u`).
    fn literal(&mut self, c: char) {
        if !self.in_class && self.flags.case_insensitive {
            if self.flags.unicode_case {
                self.out.push_str("(?i:");
                self.escaped(c);
                self.out.push(')');
                return;
            }
            if c.is_ascii_alphabetic() {
                let (lo, up) =
                    (c.to_ascii_lowercase(), c.to_ascii_uppercase());
                self.out.push_str(&format!("[{lo}{up}]"));
                return;
            }
        }
        self.escaped(c);
    }

    /// A character that matches itself in any Rust context.
    fn escaped(&mut self, c: char) {
        if c.is_alphanumeric() {
            self.out.push(c);
        } else {
            self.out.push_str(&format!("\\x{{{:X}}}", c as u32));
        }
    }
}

/// Java's POSIX class names and the equivalent Rust ASCII class.
fn posix_class(name: &str) -> Option<&'static str> {
    Some(match name {
        "Lower" => "lower",
        "Upper" => "upper",
        "ASCII" => "ascii",
        "Alpha" => "alpha",
        "Digit" => "digit",
        "Alnum" => "alnum",
        "Punct" => "punct",
        "Graph" => "graph",
        "Print" => "print",
        "Blank" => "blank",
        "Cntrl" => "cntrl",
        "XDigit" => "xdigit",
        "Space" => "space",
        _ => return None,
    })
}

fn set_flag(flags: &mut Flags, c: char, on: bool) {
    match c {
        's' => flags.dotall = on,
        'm' => flags.multiline = on,
        'd' => flags.unix_lines = on,
        'U' => {
            // Java: UNICODE_CHARACTER_CLASS implies UNICODE_CASE.
            flags.unicode_classes = on;
            flags.unicode_case = on;
        }
        'x' => flags.comments = on,
        'i' => flags.case_insensitive = on,
        'u' => flags.unicode_case = on,
        _ => {}
    }
}

/// The Rust spelling of the flags Rust shares with Java.
fn rust_flags(on: &str, off: &str) -> String {
    if off.is_empty() {
        on.to_string()
    } else {
        format!("{on}-{off}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(pattern: &str, hay: &str) -> bool {
        match compile(pattern) {
            Ok(re) => re.is_match(hay),
            Err(e) => panic!("{pattern}: {e}"),
        }
    }

    #[test]
    fn search_is_unanchored() {
        assert!(find("b", "abc"));
        assert!(find("^a", "abc"));
        assert!(!find("^b", "abc"));
        assert!(find("c$", "abc"));
        assert!(!find("b$", "abc"));
        assert!(find("[xz]", "..z.."));
        assert!(find("a|q", "xq"));
        assert!(find("^(ab)+$", "abab"));
        assert!(find("", ""));
    }

    #[test]
    fn shorthand_classes_are_ascii_like_java() {
        assert!(find(r"\d", "a1"));
        assert!(!find(r"\d", "\u{663}"));
        assert!(find(r"\D", "\u{663}"));
        assert!(!find(r"^\w+$", "é"));
        assert!(find(r"^\w+$", "a_9"));
        assert!(find(r"\W", "é"));
        assert!(!find(r"\s", "\u{a0}"));
        assert!(find(r"\s", "\u{b}"));
        assert!(find(r"^\S+$", "\u{3000}"));
        assert!(find(r"^[\d_]+$", "1_2"));
        assert!(!find(r"^[^\d]$", "5"));
        assert!(find(r"^[\D]$", "x"));
        assert!(find(r"(?U)^\w$", "é"));
        assert!(find(r"(?U)\d", "\u{663}"));
        assert!(!find(r"\p{Alpha}", "é"));
        assert!(find(r"\P{Alpha}", "é"));
        assert!(find(r"(?U)\p{Alpha}", "é"));
        assert!(find(r"\p{L}", "é"));
        assert!(find(r"[\p{Punct}]", "!"));
        assert!(find(r"\v", "\u{2028}"));
        assert!(find(r"\h", "\u{a0}"));
        assert!(find(r"^\H$", "x"));
        assert!(find(r"^\R$", "\r\n"));
        // An escaped backslash is not the start of an escape.
        assert!(find(r"\\d", r"a\d"));
        assert!(!find(r"\\d", "5"));
    }

    #[test]
    fn dot_and_dollar_know_javas_line_terminators() {
        assert!(!find("a.", "a\r"));
        assert!(!find("a.", "a\u{2028}"));
        assert!(find("a.", "a\t"));
        assert!(find("(?s)a.", "a\r"));
        assert!(find("(?s:a.)b", "a\nb"));
        assert!(find("((?s)a.)b", "a\nb"));
        assert!(!find("((?s)a).b", "a\nb"));
        assert!(find("(?d)a.", "a\r"));
        assert!(find("a$", "a\n"));
        assert!(find("a$", "a\r\n"));
        assert!(find("a$", "a\u{2028}"));
        assert!(!find("a$", "a\n\n"));
        assert!(find("^$", "\n"));
        assert!(find("a$|x", "a\n"));
        assert!(find("(a$)", "a\n"));
        assert!(!find("a$b", "a\nb"));
        assert!(find(r"a\Z", "a\n"));
        assert!(find("(?m)a$", "a\nb"));
        assert!(find("(?m)^b", "a\nb"));
        assert!(!find("^b", "a\nb"));
        assert!(find("[$.]", "$"));
        assert!(!find("[$.]", "x"));
    }

    #[test]
    fn escapes() {
        assert!(find(r"\<a\>", "<a>"));
        assert!(find(r"\é", "é"));
        assert!(find(r"\%\ \-", "% -"));
        assert!(find(r"[\]]", "]"));
        assert!(find(r"\e\a\cA", "\u{1b}\u{7}\u{1}"));
        assert!(find(r"\0101\07", "A\u{7}"));
        assert!(find(r"\0477", "'7"));
        assert!(find(r"\u00e9\x41\x{1F600}", "éA😀"));
        assert!(find(r"\uD83D\uDE00", "😀"));
        assert!(find(r"\Gab", "abc"));
        assert!(!find(r"\Gb", "abc"));
        assert!(find(r"\Qa.b\E$", "xa.b"));
        assert!(!find(r"\Qa.b\E", "axb"));
        assert!(find(r"\Q(*)", "(*)"));
        assert!(find(r"^\Q\d\E", r"\d"));
    }

    #[test]
    fn classes_are_read_like_java() {
        assert!(find("[]a]", "]"));
        assert!(find("[^]a]", "b"));
        assert!(find("[[:alpha:]]", ":"));
        assert!(!find("[[:alpha:]]", "b"));
        assert!(find("[a~~b]", "~"));
        assert!(find("[+--]", ","));
        assert!(find("[a-z&&[^e]]", "d"));
        assert!(!find("[a-z&&[^e]]", "e"));
        assert!(find("[a[0-9]]", "5"));
    }

    #[test]
    fn flags() {
        assert!(find("(?i)abc", "ABC"));
        assert!(find("(?i:a)b", "Ab"));
        assert!(!find("(?i:a)b", "AB"));
        assert!(find("(?x) a b # comment ( [\n c", "abc"));
        assert!(find("(?<name>a)", "a"));
        assert!(find("(?-i)a", "a"));
        assert!(find("(?iu)é", "É"));
        // Java folds ASCII letters only, unless `u`.
        assert!(!find("(?i)é", "É"));
        assert!(!find("(?i)s", "ſ"));
        assert!(!find("(?i)k", "\u{212a}"));
        assert!(find("(?i)\\x41", "a"));
        assert!(find("(?i)[a-c]", "B"));
        assert!(!find("(?i)[^a]", "A"));
        assert!(find("(?iu)k", "\u{212a}"));
        assert!(find("(?U)(?i)é", "É"));
    }

    #[test]
    fn quantifiers_follow_java() {
        assert!(find("^a{2}$", "aa"));
        assert!(find("^a{1,}$", "aaa"));
        assert!(find("^a{1,2}?$", "aa"));
        assert!(find("a*?b+?c??", "bc"));
        // With nothing to quantify Java repeats the empty string.
        assert!(find("{2}", ""));
        assert!(find("x|{1,}", "q"));
        assert!(find("(?i){2}a", "A"));
        assert!(find("a{2}{3}", "aa"));
        assert!(find("a}]", "a}]"));
        assert!(find(r"a\b{2}", "a"));
        assert!(find("(?<n1>a)", "a"));
        assert!(!find(r"(?i)\P{Lu}", "k"));
        for bad in [
            "*a",
            "a|+",
            "(?",
            "(*)",
            "a**",
            "a{2}*",
            "a*?*",
            "(?i)?",
            "a{",
            "a{,3}",
            "a{x}",
            "a{2",
            "a{3,2}",
            "a*+",
            "a{2}+",
            "a?+",
            "a{99999999999}",
        ] {
            assert!(compile(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors() {
        assert_eq!(compile("a(b").unwrap_err(), "unclosed group");
        assert!(!compile("[a").unwrap_err().contains('\n'));
        for bad in [
            "x\\",
            "(?=a)",
            "(?!a)",
            "(?<=a)",
            "(?<!a)",
            "(?>a)",
            r"(a)\1",
            r"\k<n>",
            "(?P<n>a)",
            "(?R)",
            r"\b{start}",
            r"\y",
            r"\uD800",
            r"\u12",
            r"\08",
            "[a",
            "(?i",
            r"\c",
            r"\X",
            r"\N{LATIN}",
            r"\b{g}",
            "(?<1a>x)",
            "(?<a_b>x)",
            "(?<>x)",
        ] {
            assert!(compile(bad).is_err(), "{bad}");
        }
    }
}
