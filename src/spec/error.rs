//! Errors of the spec front end: a bad spec, or a bad input line.

use std::fmt;

use crate::pattern::PatternError;

/// An invalid spec, with where: the pattern, the stage, the field and,
/// for expressions, the column (and a caret line under it).
#[derive(Debug)]
pub struct SpecError {
    /// Boxed: results carrying a spec error stay small.
    pub(crate) detail: Box<Detail>,
}

/// What a [`SpecError`] says.
#[derive(Debug)]
pub(crate) struct Detail {
    pub(crate) pattern: Option<String>,
    pub(crate) stage: Option<String>,
    pub(crate) field: Option<&'static str>,
    pub(crate) column: Option<usize>,
    pub(crate) message: String,
    pub(crate) caret: Option<String>,
    pub(crate) source: Option<PatternError>,
}

impl SpecError {
    #[cold]
    #[inline(never)]
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            detail: Box::new(Detail {
                pattern: None,
                stage: None,
                field: None,
                column: None,
                message: message.into(),
                caret: None,
                source: None,
            }),
        }
    }

    pub(crate) fn in_pattern(mut self, pattern: &str) -> Self {
        self.detail.pattern.get_or_insert_with(|| pattern.to_owned());
        self
    }

    pub(crate) fn in_stage(mut self, stage: &str) -> Self {
        self.detail.stage.get_or_insert_with(|| stage.to_owned());
        self
    }

    /// The pattern the error is in.
    pub fn pattern(&self) -> Option<&str> {
        self.detail.pattern.as_deref()
    }

    /// The stage the error is in.
    pub fn stage(&self) -> Option<&str> {
        self.detail.stage.as_deref()
    }

    /// The field (`where`, `until`, ...) the error is in.
    pub fn field(&self) -> Option<&str> {
        self.detail.field
    }

    /// The 1-based column in an expression.
    pub fn column(&self) -> Option<usize> {
        self.detail.column
    }

    /// The expression and a caret under the column, for display under
    /// the message.
    pub fn caret(&self) -> Option<&str> {
        self.detail.caret.as_deref()
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut wrote = false;
        let mut sep = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            if wrote {
                f.write_str(", ")?;
            }
            wrote = true;
            Ok(())
        };
        if let Some(p) = &self.detail.pattern {
            sep(f)?;
            write!(f, "pattern {p:?}")?;
        }
        if let Some(s) = &self.detail.stage {
            sep(f)?;
            write!(f, "stage {s:?}")?;
        }
        if let Some(field) = self.detail.field {
            sep(f)?;
            f.write_str(field)?;
        }
        if let Some(c) = self.detail.column {
            sep(f)?;
            write!(f, "column {c}")?;
        }
        if !wrote {
            f.write_str("spec")?;
        }
        write!(f, ": {}", self.detail.message)
    }
}

impl std::error::Error for SpecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.detail.source.as_ref().map(|e| e as _)
    }
}

/// A bad input line: reported with its number and skipped (or fatal
/// under `--strict`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventError {
    pub(crate) line: u64,
    pub(crate) reason: String,
}

impl EventError {
    /// An error for input line `line` (1-based).
    pub fn new(line: u64, reason: impl Into<String>) -> Self {
        Self { line, reason: reason.into() }
    }

    /// The 1-based line number.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Why the line was refused.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for EventError {}
