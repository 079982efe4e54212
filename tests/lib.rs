//! The integration tests, one binary.

mod common;
mod conformance;
mod alloc;
mod runtime;
mod properties;
mod reference;
mod example_ssh;
