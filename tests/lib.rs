//! The integration tests, one binary.

mod common;
mod conformance;
