//! `u32` id newtypes.
//!
//! The engine addresses everything (stages, NFA states, buffer nodes,
//! events) by dense integer ids rather than names or pointers, so per-key
//! state is a few plain vectors and comparisons are integer compares.
//! Each id stores its index plus one in a `NonZeroU32`, so an
//! `Option<Id>` is four bytes, as small as the id itself (runs and buffer
//! nodes hold optional ids).

macro_rules! index_type {
    ($(#[$attr:meta])* $name:ident) => {
        $(#[$attr])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize,
        )]
        pub struct $name(std::num::NonZeroU32);

        impl $name {
            /// The largest representable id.
            pub const MAX: usize = (u32::MAX - 1) as usize;

            /// Makes an id from an index, or `None` when it does not fit.
            #[inline]
            pub fn new(index: usize) -> Option<Self> {
                if index <= Self::MAX {
                    // OK because index + 1 <= u32::MAX.
                    std::num::NonZeroU32::new(index as u32 + 1).map(Self)
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
                (self.0.get() - 1) as usize
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
    /// A node of a shared buffer.
    NodeId
);
index_type!(
    /// An event stored in a shared buffer.
    EventId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_optional_ids_cost_nothing() {
        for i in [0, 1, 41, NodeId::MAX] {
            assert_eq!(NodeId::must(i).as_usize(), i);
        }
        assert!(NodeId::new(NodeId::MAX + 1).is_none());
        assert_eq!(std::mem::size_of::<Option<NodeId>>(), 4);
        assert!(StateId::must(1) < StateId::must(2));
    }
}
