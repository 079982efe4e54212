//! The pattern DSL: stages, conditions, quantifiers, windows, skip
//! strategies, and the rules Flink enforces on them. Data only; nothing
//! here evaluates events.

pub(crate) mod builder;
pub(crate) mod condition;
pub(crate) mod error;
mod quantifier;
pub(crate) mod validate;

use std::sync::Arc;

pub use builder::PatternBuilder;
pub use condition::Condition;
pub use error::PatternError;
pub use quantifier::{Connect, Contiguity, Repeat, SkipStrategy, WithinType};

use crate::nfa::Nfa;
use crate::util::ids::StageId;

/// A validated pattern with its compiled [`Nfa`]; cheap to clone and
/// shareable across threads.
///
/// Build one with [`Pattern::begin`] and
/// [`PatternBuilder::build`].
pub struct Pattern<E> {
    nfa: Arc<Nfa<E>>,
}

impl<E> Clone for Pattern<E> {
    fn clone(&self) -> Self {
        Self { nfa: self.nfa.clone() }
    }
}

impl<E> std::fmt::Debug for Pattern<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pattern").field("nfa", &self.nfa).finish()
    }
}

impl<E> Pattern<E> {
    pub(crate) fn from_def(
        def: validate::PatternDef<E>,
    ) -> Result<Self, PatternError> {
        Ok(Self { nfa: Arc::new(crate::nfa::compiler::compile(def)?) })
    }

    /// The compiled automaton.
    pub fn nfa(&self) -> &Nfa<E> {
        &self.nfa
    }

    /// The compiled automaton, shared.
    pub fn nfa_arc(&self) -> Arc<Nfa<E>> {
        self.nfa.clone()
    }

    /// The stage names in declaration order (a group's members right
    /// after the group); a name's position is its [`StageId`].
    pub fn stage_names(&self) -> impl Iterator<Item = &str> {
        self.nfa.stage_names().iter().map(String::as_str)
    }

    /// The id of a stage, for fast lookups in iterative conditions.
    pub fn stage_id(&self, name: &str) -> Option<StageId> {
        self.nfa.stage_id(name)
    }
}
