//! The NFA: compiled once per pattern, stepped per key.
//!
//! * [`Nfa`]: the immutable automaton, built by
//!   [`PatternBuilder::build`](crate::PatternBuilder::build) (a port of
//!   Flink's `NFACompiler`), shared by every key.
//! * [`SharedBuffer`]: events and partial-match chains, shared by all
//!   patterns (and, in the keyed operator, by all keys).
//! * [`Runs`]: one key's partial matches of one pattern, stepped by
//!   [`Runs::process`] and [`Runs::advance_time`] (Flink's `NFA.process`
//!   and `NFA.advanceTime`).
//! * [`Partition`]: the three together for a single key and pattern, the
//!   simplest way to use the engine directly.
//!
//! Nothing here knows about keys, clocks or watermarks: time enters as
//! the timestamps the caller passes.

mod automaton;
mod buffer;
pub(crate) mod compiler;
mod context;
mod matched;
mod partition;
mod runs;

pub use automaton::Nfa;
pub(crate) use buffer::Holder;
pub use buffer::SharedBuffer;
pub use context::{Context, StageKey};
pub use matched::Match;
pub use partition::{OwnedMatch, Partition};
pub use runs::{Incoming, Output, Runs, Scratch, SkipError};
