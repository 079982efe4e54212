//! Regexes of `matches(s, "regex")`.
//!
//! The contract allows the syntax common to Rust's `regex` and Java's
//! `java.util.regex`, and the reference evaluates with Java's `find()`.
//! Most of the common syntax also means the same in both, except the
//! shorthand classes: Java's `\d`, `\w`, `\s` (and their negations) are
//! ASCII-only by default, Rust's are Unicode. They are rewritten to the
//! ASCII classes here, and Java's `\Q...\E` quoting (which Rust lacks) to
//! escaped literals, so a pattern matches what Java's matches.

use regex_automata::meta::Regex;

/// Compiles a Java-dialect regex for an unanchored search, or describes
/// why it is invalid.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    Regex::new(&translate(pattern)).map_err(|e| describe(&e))
}

/// The one-line reason of a build error (regex-syntax's own message spans
/// several lines and quotes the rewritten pattern).
fn describe(err: &regex_automata::meta::BuildError) -> String {
    let Some(syntax) = err.syntax_error() else {
        return err.to_string();
    };
    let text = syntax.to_string();
    let last = text.lines().rev().find(|l| !l.trim().is_empty());
    let reason = last.unwrap_or(&text).trim();
    reason.strip_prefix("error: ").unwrap_or(reason).to_string()
}

/// Rewrites the constructs whose meaning differs between the dialects.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(e) = chars.next() else {
            // A trailing backslash: leave it for the parser to reject.
            out.push('\\');
            break;
        };
        match ascii_class(e) {
            // A bracketed class is valid both alone and nested inside
            // another class, so no class tracking is needed.
            Some(class) => out.push_str(class),
            None if e == 'Q' => quote(&mut chars, &mut out),
            None => {
                out.push('\\');
                out.push(e);
            }
        }
    }
    out
}

/// Java's default (ASCII) meaning of a shorthand class escape.
fn ascii_class(e: char) -> Option<&'static str> {
    Some(match e {
        'd' => "[[:digit:]]",
        'D' => "[[:^digit:]]",
        'w' => "[[:word:]]",
        'W' => "[[:^word:]]",
        's' => "[[:space:]]",
        'S' => "[[:^space:]]",
        _ => return None,
    })
}

/// Copies the text up to `\E` (or the end) as escaped literals.
fn quote(chars: &mut std::str::Chars<'_>, out: &mut String) {
    while let Some(c) = chars.next() {
        if c == '\\' && chars.clone().next() == Some('E') {
            chars.next();
            return;
        }
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(pattern: &str, hay: &str) -> bool {
        compile(pattern).unwrap().is_match(hay)
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
        // An escaped backslash is not the start of an escape.
        assert!(find(r"\\d", r"a\d"));
        assert!(!find(r"\\d", "5"));
    }

    #[test]
    fn quoting() {
        assert!(find(r"\Qa.b\E$", "xa.b"));
        assert!(!find(r"\Qa.b\E", "axb"));
        assert!(find(r"\Q(*)", "(*)"));
        assert!(find(r"^\Q\d\E", r"\d"));
    }

    #[test]
    fn errors_are_one_line() {
        let e = compile("a(b").unwrap_err();
        assert_eq!(e, "unclosed group");
        assert!(!compile("[a").unwrap_err().contains('\n'));
        assert!(compile("x\\").is_err());
        // Java-only syntax is rejected rather than misread.
        assert!(compile("(?=a)").is_err());
        assert!(compile(r"(a)\1").is_err());
    }
}
