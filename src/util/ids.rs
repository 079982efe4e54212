//! `u32` id newtypes.
//!
//! The engine addresses everything (stages, NFA states, buffer nodes,
//! events) by dense integer ids rather than names or pointers, so per-key
//! state is a few plain vectors and comparisons are integer compares.

macro_rules! index_type {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        pub struct $name(u32);

        impl $name {
            /// The largest representable id.
            pub const MAX: usize = (u32::MAX - 1) as usize;

            /// Makes an id from an index, or `None` when it does not fit.
            #[inline]
            pub fn new(index: usize) -> Option<Self> {
                if index <= Self::MAX {
                    // OK because index <= u32::MAX - 1.
                    Some(Self(index as u32))
                } else {
                    None
                }
            }

            /// Makes an id from an index.
            ///
            /// # Panics
            ///
            /// When `index` exceeds [`Self::MAX`]; the engine only calls
            /// it on lengths it has already bounded.
            #[inline]
            pub fn must(index: usize) -> Self {
                match Self::new(index) {
                    Some(id) => id,
                    None => panic!(
                        "{} index {} exceeds {}",
                        stringify!($name),
                        index,
                        Self::MAX
                    ),
                }
            }

            /// The id as a vector index.
            #[inline]
            pub fn as_usize(self) -> usize {
                self.0 as usize
            }
        }
    };
}

index_type!(
    /// A stage of a pattern: its position in declaration order, a group's
    /// members right after the group itself.
    StageId
);
index_type!(
    /// A state of a compiled [`Nfa`](crate::Nfa).
    StateId
);
index_type!(
    /// A node of a per-key shared buffer.
    NodeId
);
index_type!(
    /// An event stored in a per-key shared buffer.
    EventId
);
