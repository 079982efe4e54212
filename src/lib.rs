//! cepflow: complex event processing with Flink CEP's pattern language
//! and answers, embedded in Rust.
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod handler;
pub mod nfa;
pub mod pattern;
pub mod runtime;
pub mod spec;
mod util;

pub use nfa::{Context, Match, Nfa, Partition, SharedBuffer};
pub use pattern::{
    Condition, Connect, Contiguity, Pattern, PatternBuilder, PatternError,
    Repeat, SkipStrategy, WithinType,
};
pub use util::ids::StageId;
