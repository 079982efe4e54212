//! Small shared building blocks: integer id newtypes.

pub(crate) mod ids;
pub(crate) mod javaheap;
