//! A small set of indices (pattern numbers), inline up to 64.

use smallvec::SmallVec;

/// A set of small indices: one inline word covers 64 indices, more spill
/// to the heap. The keyed operator keeps a few per key (patterns with
/// live runs, patterns that started a match in this visit), so that a
/// visit touches only the patterns that have something.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BitSet {
    words: SmallVec<[u64; 1]>,
}

impl Default for BitSet {
    /// Empty, with its inline word in place (so inserting below 64 never
    /// takes the resizing path).
    fn default() -> Self {
        Self { words: smallvec::smallvec![0] }
    }
}

impl BitSet {
    pub(crate) fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    #[inline]
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.words.get(i / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    #[inline]
    pub(crate) fn insert(&mut self, i: usize) {
        match self.words.get_mut(i / 64) {
            Some(w) => *w |= 1 << (i % 64),
            None => {
                self.words.resize(i / 64 + 1, 0);
                self.words[i / 64] |= 1 << (i % 64);
            }
        }
    }

    #[inline]
    pub(crate) fn remove(&mut self, i: usize) {
        if let Some(w) = self.words.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }

    /// Sets or clears `i`.
    #[inline]
    pub(crate) fn set(&mut self, i: usize, on: bool) {
        if on {
            self.insert(i);
        } else {
            self.remove(i);
        }
    }

    pub(crate) fn clear(&mut self) {
        self.words.iter_mut().for_each(|w| *w = 0);
    }

    /// The members, ascending.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(wi, &w)| {
            let mut rest = w;
            std::iter::from_fn(move || {
                if rest == 0 {
                    return None;
                }
                let bit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                Some(wi * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_come_back_in_order_across_words() {
        let mut s = BitSet::default();
        assert!(s.is_empty());
        for i in [70, 3, 0, 63, 64] {
            s.insert(i);
        }
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 3, 63, 64, 70]);
        assert!(s.contains(63) && !s.contains(62) && !s.contains(500));
        s.remove(70);
        s.set(3, false);
        s.set(5, true);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 5, 63, 64]);
        s.clear();
        assert!(s.is_empty());
    }
}
