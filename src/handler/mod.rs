//! Result handlers: what happens to a match or a timeout.
//!
//! One trait, [`PatternHandler`], is all the runtime calls. Flink's
//! `select`, `flatSelect`, `process` and their timeout variants are
//! adapters onto it ([`select`], [`flat_select`], [`process`]), so there
//! is no operator per combination. Side outputs are typed
//! [`OutputTag`]s collected per tag in [`SideOutputs`].

mod adapt;
mod side;
mod sink;

pub use adapt::{
    flat_select, process, select, MatchContext, PatternHandler, Process,
};
pub use side::{OutputTag, SideOutputs};
pub use sink::{channel, print, Collector};
