//! The integration tests, one binary.

mod alloc;
mod cli;
mod common;
mod conformance;
mod example_ssh;
mod fuzz_regressions;
mod properties;
mod reference;
mod runtime;
mod snapshot;
