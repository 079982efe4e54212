//! Small shared building blocks: integer id newtypes, a Java-compatible
//! heap, a small bit set.

pub(crate) mod bitset;
pub(crate) mod ids;
pub(crate) mod javaheap;
