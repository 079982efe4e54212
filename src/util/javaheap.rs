//! A binary heap that behaves exactly like `java.util.PriorityQueue`.
//!
//! Flink keeps partial matches in a `PriorityQueue` ordered by their start
//! event and walks it in *array* order, and emits completed matches in
//! poll order. Among entries that compare equal (matches that started at
//! the same event) that order decides which match a skip strategy keeps.
//! To give Flink's answers, we reproduce its sift-up, sift-down, bulk
//! removal and heapify steps one for one (OpenJDK 17).

use std::cmp::Ordering;

use thin_vec::ThinVec;

/// Entries know their own sort key.
pub(crate) trait HeapKey {
    /// Compares like Flink's `COMPUTATION_STATE_COMPARATOR`.
    fn heap_cmp(&self, other: &Self) -> Ordering;
}

/// A min-heap in `java.util.PriorityQueue`'s layout.
///
/// The entries are a `ThinVec`: one pointer, with the length and
/// capacity in the allocation (an empty one points at a shared static
/// header). A key holds a queue pair per pattern, mostly empty, so the
/// pair costs 16 bytes instead of 48, and a key's queues take fewer
/// cache lines.
#[derive(Clone, Debug)]
pub(crate) struct JavaHeap<T> {
    items: ThinVec<T>,
}

impl<T> Default for JavaHeap<T> {
    fn default() -> Self {
        Self { items: ThinVec::new() }
    }
}

/// The serialised form: `{"items": [...]}`, as when the entries were a
/// `Vec` (snapshots keep their format).
#[derive(serde::Serialize)]
struct HeapRef<'a, T> {
    items: &'a [T],
}

#[derive(serde::Deserialize)]
struct HeapOwned<T> {
    items: Vec<T>,
}

impl<T: serde::Serialize> serde::Serialize for JavaHeap<T> {
    fn serialize<S: serde::Serializer>(
        &self,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        HeapRef { items: &self.items }.serialize(s)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for JavaHeap<T> {
    fn deserialize<D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Self, D::Error> {
        let HeapOwned { items } = HeapOwned::deserialize(d)?;
        Ok(Self { items: ThinVec::from(items) })
    }
}

impl<T: HeapKey> JavaHeap<T> {
    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.items.capacity()
    }

    /// Takes the entries' vector out (its allocation with it), leaving
    /// the heap empty with no allocation.
    pub(crate) fn take_items(&mut self) -> ThinVec<T> {
        std::mem::take(&mut self.items)
    }

    /// Makes an empty vector (for its allocation) the heap's.
    pub(crate) fn set_items(&mut self, items: ThinVec<T>) {
        debug_assert!(self.items.is_empty() && items.is_empty());
        self.items = items;
    }

    /// Replaces the entries by `other`'s, in the same array order.
    pub(crate) fn copy_from(&mut self, other: &JavaHeap<T>)
    where
        T: Copy,
    {
        self.items.clear();
        self.items.extend_from_slice(&other.items);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The entries in array order (Java's iteration order).
    pub(crate) fn as_slice(&self) -> &[T] {
        &self.items
    }

    /// Whether no entry is smaller than its parent (a heap restored from
    /// a snapshot must be one).
    pub(crate) fn is_heap(&self) -> bool {
        (1..self.items.len()).all(|i| {
            self.items[i].heap_cmp(&self.items[(i - 1) >> 1]) != Ordering::Less
        })
    }

    pub(crate) fn peek(&self) -> Option<&T> {
        self.items.first()
    }

    pub(crate) fn clear(&mut self) {
        self.items.clear();
    }

    /// Takes the entries out in array order, leaving the heap empty but
    /// keeping its allocation for `add`.
    pub(crate) fn drain_in_array_order(&mut self) -> thin_vec::Drain<'_, T> {
        self.items.drain(..)
    }

    /// Takes out the first `n` entries in array order. The rest stay as
    /// they are, which is a heap when they are in order (the caller's
    /// promise).
    pub(crate) fn drain_front(&mut self, n: usize) -> thin_vec::Drain<'_, T> {
        debug_assert!(self.items[n..]
            .is_sorted_by(|a, b| a.heap_cmp(b) != Ordering::Greater));
        self.items.drain(..n)
    }

    /// Removes the last entry in array order (the heap stays a heap).
    pub(crate) fn pop_last(&mut self) -> Option<T> {
        self.items.pop()
    }

    /// Replaces each entry, in array order, by what `f` makes of it
    /// (`None`: removed), compacting in place. Adding the results to an
    /// empty heap in turn would give the same array when they are in
    /// order (the caller's promise), as nothing would sift.
    pub(crate) fn filter_map_in_place(
        &mut self,
        mut f: impl FnMut(T) -> Option<T>,
    ) where
        T: Copy,
    {
        let mut kept = 0;
        for i in 0..self.items.len() {
            if let Some(item) = f(self.items[i]) {
                self.items[kept] = item;
                kept += 1;
            }
        }
        self.items.truncate(kept);
        debug_assert!(self
            .items
            .is_sorted_by(|a, b| a.heap_cmp(b) != Ordering::Greater));
    }

    #[inline]
    pub(crate) fn add(&mut self, item: T) {
        let k = self.items.len();
        // Runs usually arrive in order (successors of runs walked in
        // order), so the new entry stays at the end: one comparison.
        let stays = k == 0
            || item.heap_cmp(&self.items[(k - 1) >> 1]) != Ordering::Less;
        self.items.push(item);
        if !stays {
            self.sift_up(k);
        }
    }

    /// [`add`](Self::add) for an entry greater than every other (the
    /// caller's promise): it stays at the end, so nothing is compared.
    #[inline]
    pub(crate) fn push_greatest(&mut self, item: T) {
        debug_assert!(self
            .items
            .iter()
            .all(|other| item.heap_cmp(other) == Ordering::Greater));
        self.items.push(item);
    }

    pub(crate) fn poll(&mut self) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let last = self.items.len() - 1;
        self.items.swap(0, last);
        let top = self.items.pop();
        if !self.items.is_empty() {
            self.sift_down(0);
        }
        top
    }

    /// Removes every entry for which `remove` says true, like Java's
    /// `removeIf`/`removeAll`: survivors keep their relative order, then
    /// the array is heapified.
    pub(crate) fn remove_if(&mut self, mut remove: impl FnMut(&T) -> bool) {
        let before = self.items.len();
        self.items.retain(|item| !remove(item));
        if self.items.len() != before {
            self.heapify();
        }
    }

    fn heapify(&mut self) {
        let n = self.items.len();
        let mut i = (n >> 1) as isize - 1;
        while i >= 0 {
            self.sift_down(i as usize);
            i -= 1;
        }
    }

    // The two sifts move a "hole" as Java does, so entries that compare
    // equal end up where Java puts them.
    fn sift_up(&mut self, mut k: usize) {
        while k > 0 {
            let parent = (k - 1) >> 1;
            if self.items[k].heap_cmp(&self.items[parent]) != Ordering::Less {
                break;
            }
            self.items.swap(k, parent);
            k = parent;
        }
    }

    fn sift_down(&mut self, mut k: usize) {
        let n = self.items.len();
        let half = n >> 1;
        while k < half {
            let mut child = 2 * k + 1;
            let right = child + 1;
            if right < n
                && self.items[child].heap_cmp(&self.items[right])
                    == Ordering::Greater
            {
                child = right;
            }
            if self.items[k].heap_cmp(&self.items[child]) != Ordering::Greater
            {
                break;
            }
            self.items.swap(k, child);
            k = child;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    struct Item(u32, char);

    impl HeapKey for u32 {
        fn heap_cmp(&self, other: &Self) -> Ordering {
            self.cmp(other)
        }
    }

    impl HeapKey for Item {
        fn heap_cmp(&self, other: &Self) -> Ordering {
            self.0.cmp(&other.0)
        }
    }

    fn tags(h: &JavaHeap<Item>) -> String {
        h.as_slice().iter().map(|i| i.1).collect()
    }

    #[test]
    fn poll_returns_in_key_order() {
        let mut h = JavaHeap::default();
        for (k, c) in [(5, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (4, 'e')] {
            h.add(Item(k, c));
        }
        let order: Vec<u32> =
            std::iter::from_fn(|| h.poll()).map(|i| i.0).collect();
        assert_eq!(order, vec![1, 2, 3, 4, 5]);
    }

    // Array layouts below were computed by hand from OpenJDK's
    // PriorityQueue.siftUpComparable / siftDownComparable.
    #[test]
    fn equal_keys_keep_java_array_order() {
        let mut h = JavaHeap::default();
        h.add(Item(1, 'a'));
        h.add(Item(1, 'b'));
        h.add(Item(0, 'c'));
        // c sifts up past a (strictly smaller), a moves to slot 2.
        assert_eq!(tags(&h), "cba");
        h.add(Item(1, 'd'));
        // d's parent is b (equal): stays.
        assert_eq!(tags(&h), "cbad");
        assert_eq!(h.poll(), Some(Item(0, 'c')));
        // last (d) goes to the root and sifts down: children b, a are
        // equal to it, so it stays.
        assert_eq!(tags(&h), "dba");
    }

    #[test]
    fn push_greatest_lays_out_as_add_does() {
        let mut added = JavaHeap::default();
        let mut pushed = JavaHeap::default();
        for (k, c) in [(3, 'a'), (1, 'b'), (2, 'c')] {
            added.add(Item(k, c));
            pushed.add(Item(k, c));
        }
        added.add(Item(9, 'z'));
        pushed.push_greatest(Item(9, 'z'));
        assert_eq!(tags(&pushed), tags(&added));
        assert_eq!(pushed.poll(), Some(Item(1, 'b')));
    }

    #[test]
    fn is_heap_sees_a_child_below_its_parent() {
        let mut h = JavaHeap::default();
        for (k, c) in [(3, 'a'), (1, 'b'), (2, 'c'), (5, 'd')] {
            h.add(Item(k, c));
        }
        assert!(h.is_heap());
        h.items.swap(0, 3);
        assert!(!h.is_heap());
    }

    #[test]
    fn remove_if_compacts_then_heapifies() {
        let mut h = JavaHeap::default();
        for (k, c) in [(1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e')] {
            h.add(Item(k, c));
        }
        h.remove_if(|i| i.1 == 'a');
        assert_eq!(tags(&h), "bcde");
        h.remove_if(|i| i.1 == 'x');
        assert_eq!(tags(&h), "bcde");
        h.remove_if(|i| i.1 == 'b');
        assert_eq!(tags(&h), "cde");
    }

    #[test]
    fn serialises_as_a_list_of_items_in_array_order() {
        let mut h = JavaHeap::default();
        for k in [3, 1, 2] {
            h.add(k);
        }
        let json = serde_json::to_string(&h).unwrap();
        // The form snapshots have had since the entries were a `Vec`.
        assert_eq!(json, r#"{"items":[1,3,2]}"#);
        let back: JavaHeap<u32> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.as_slice(), h.as_slice());
        let empty: JavaHeap<u32> =
            serde_json::from_str(r#"{"items":[]}"#).unwrap();
        assert_eq!((empty.len(), empty.capacity()), (0, 0));
    }
}
