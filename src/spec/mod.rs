//! The JSON spec front end (`spec-format.md`): serde model, expression
//! language, JSON events, and the runner behind `cepflow run`.
//!
//! A spec compiles into the same [`Pattern`](crate::Pattern)s the Rust
//! DSL builds; expressions become [`Condition`](crate::Condition)s over
//! [`JsonEvent`]s.

mod error;
mod event;
pub(crate) mod expr;
mod load;
pub mod model;
mod parallel;
mod run;

pub use error::{EventError, SpecError};
pub use event::{parse_timestamp, FieldPath, JsonEvent};
pub use load::{compile_file, load, CompiledPattern, CompiledSpec};
pub use parallel::ParallelSpecRunner;
pub use run::{PatternSummary, Prepared, RunError, SpecRunner, Summary};
