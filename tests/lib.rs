//! The integration tests, one binary.

mod common;
mod conformance;
mod properties;
mod reference;
