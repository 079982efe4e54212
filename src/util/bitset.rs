//! A small set of indices (pattern numbers), inline up to 64.

/// A set of small indices: the first 64 live in one inline word, the rest
/// (rare: more than 64 patterns on one operator) in a vector that is
/// only allocated when used. The keyed operator keeps a few per key
/// (patterns with live runs, patterns that started a match in this
/// visit), so that a visit touches only the patterns that have something;
/// the common case is a plain word operation.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize,
)]
pub(crate) struct BitSet {
    first: u64,
    rest: Vec<u64>,
}

impl BitSet {
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.first == 0 && self.rest.iter().all(|&w| w == 0)
    }

    #[inline]
    pub(crate) fn contains(&self, i: usize) -> bool {
        if i < 64 {
            return self.first & (1 << i) != 0;
        }
        self.rest.get(i / 64 - 1).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    #[inline]
    pub(crate) fn insert(&mut self, i: usize) {
        if i < 64 {
            self.first |= 1 << i;
        } else {
            self.insert_in_rest(i);
        }
    }

    /// [`insert`](Self::insert) past the first word: out of line, so that
    /// the word operation inlines into its callers on its own.
    #[cold]
    #[inline(never)]
    fn insert_in_rest(&mut self, i: usize) {
        let w = i / 64 - 1;
        if self.rest.len() <= w {
            self.rest.resize(w + 1, 0);
        }
        self.rest[w] |= 1 << (i % 64);
    }

    #[inline]
    pub(crate) fn remove(&mut self, i: usize) {
        if i < 64 {
            self.first &= !(1 << i);
        } else if let Some(w) = self.rest.get_mut(i / 64 - 1) {
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

    #[inline]
    pub(crate) fn clear(&mut self) {
        self.first = 0;
        self.rest.iter_mut().for_each(|w| *w = 0);
    }

    /// The members, ascending.
    #[inline]
    pub(crate) fn iter(&self) -> Members<'_> {
        Members { word: self.first, base: 0, rest: self.rest.iter() }
    }

    /// Keeps the members for which `keep` says yes, visiting them in
    /// ascending order (so a caller can change what each member stands
    /// for while deciding, with no list of members to remove after).
    #[inline]
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let first = retain_word(self.first, 0, &mut keep);
        self.first = first;
        for (wi, w) in self.rest.iter_mut().enumerate() {
            *w = retain_word(*w, (wi + 1) * 64, &mut keep);
        }
    }
}

/// The bits of `word` (standing for `base..base + 64`) that `keep` keeps.
#[inline]
fn retain_word(
    word: u64,
    base: usize,
    keep: &mut impl FnMut(usize) -> bool,
) -> u64 {
    let mut left = word;
    let mut kept = word;
    while left != 0 {
        let bit = left.trailing_zeros();
        left &= left - 1;
        if !keep(base + bit as usize) {
            kept &= !(1 << bit);
        }
    }
    kept
}

/// The members of a [`BitSet`], ascending.
pub(crate) struct Members<'a> {
    /// The bits of the current word not yet returned.
    word: u64,
    /// The index the current word's bit 0 stands for.
    base: usize,
    rest: std::slice::Iter<'a, u64>,
}

impl Iterator for Members<'_> {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.word == 0 {
            self.word = *self.rest.next()?;
            self.base += 64;
        }
        let bit = self.word.trailing_zeros() as usize;
        self.word &= self.word - 1;
        Some(self.base + bit)
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

    #[test]
    fn retain_visits_members_in_order_and_drops_the_refused() {
        let mut s = BitSet::default();
        for i in [1, 2, 64, 65, 130] {
            s.insert(i);
        }
        let mut seen = Vec::new();
        s.retain(|i| {
            seen.push(i);
            i % 2 == 0
        });
        assert_eq!(seen, vec![1, 2, 64, 65, 130]);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![2, 64, 130]);
        s.retain(|_| false);
        assert!(s.is_empty());
    }
}
