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
            return;
        }
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
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.first)
            .chain(self.rest.iter().copied())
            .enumerate()
            .flat_map(|(wi, w)| {
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
