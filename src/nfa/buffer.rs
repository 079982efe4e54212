//! The per-key shared buffer: events stored once, partial matches as
//! shared backward chains.
//!
//! Flink stores each (event, stage) once and lets partial matches share it
//! through Dewey-numbered edges. We store each event once in a slab and
//! represent a partial match as a singly linked chain of small nodes
//! (stage, event, previous node), newest first. Branching a partial match
//! shares the whole chain (one reference count bump); taking an event adds
//! one 16-byte node. Extraction is a walk back along one chain, so it
//! always yields exactly one path, with no version compatibility checks.
//! Nodes and events are reference counted and freed the moment nothing
//! reaches them; freed slots are reused (the free lists are threaded
//! through the freed slots themselves), so a buffer in steady state does
//! not allocate.

use crate::util::ids::{EventId, NodeId, StageId};

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct EventSlot<E> {
    value: Option<E>,
    timestamp: i64,
    /// Arrival order (Flink's per-timestamp `EventId.id` orders the events
    /// of a key the same way).
    seq: u64,
    refs: u32,
    /// While the slot is free: the next free slot.
    next_free: Option<EventId>,
}

#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize)]
struct Node {
    event: EventId,
    stage: StageId,
    /// The previous node of the chain; while the node is free, the next
    /// free node.
    previous: Option<NodeId>,
    /// The chain's first node (itself for a first node), so the first
    /// event of a match, which iterative conditions read most (Flink's
    /// `first(start.price)`), is one step away however long the chain.
    root: NodeId,
    refs: u32,
}

/// An event's position in a key's order: timestamp, then arrival
/// (Flink's `EventId` order).
pub(crate) type EventOrder = (i64, u64);

/// Events and partial-match chains, shared by all the patterns and runs
/// that use it: one key's (a [`Partition`](crate::Partition)) or every
/// key's (the keyed operator keeps one for all keys).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SharedBuffer<E> {
    events: Vec<EventSlot<E>>,
    free_events: Option<EventId>,
    nodes: Vec<Node>,
    free_nodes: Option<NodeId>,
    next_seq: u64,
    live_events: usize,
    live_nodes: usize,
}

impl<E> Default for SharedBuffer<E> {
    fn default() -> Self {
        Self {
            events: Vec::new(),
            free_events: None,
            nodes: Vec::new(),
            free_nodes: None,
            next_seq: 0,
            live_events: 0,
            live_nodes: 0,
        }
    }
}

impl<E> SharedBuffer<E> {
    /// An empty buffer (allocates nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether no event and no node is held.
    pub fn is_empty(&self) -> bool {
        self.live_events == 0 && self.live_nodes == 0
    }

    /// Number of events held.
    pub fn event_count(&self) -> usize {
        self.live_events
    }

    /// Number of chain nodes held.
    pub fn node_count(&self) -> usize {
        self.live_nodes
    }

    /// Heap bytes held by the buffer's vectors (not counting heap memory
    /// owned by the events themselves).
    pub fn memory_usage(&self) -> usize {
        self.events.capacity() * std::mem::size_of::<EventSlot<E>>()
            + self.nodes.capacity() * std::mem::size_of::<Node>()
    }

    /// Stores an event, pinned: it lives until [`unpin`](Self::unpin) and
    /// then for as long as a node refers to it.
    pub(crate) fn insert_event(
        &mut self,
        value: E,
        timestamp: i64,
    ) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        let slot = EventSlot {
            value: Some(value),
            timestamp,
            seq,
            refs: 1,
            next_free: None,
        };
        self.live_events += 1;
        if let Some(id) = self.free_events {
            let free = &mut self.events[id.as_usize()];
            self.free_events = free.next_free;
            *free = slot;
            id
        } else {
            self.events.push(slot);
            EventId::must(self.events.len() - 1)
        }
    }

    /// Drops the pin of [`insert_event`](Self::insert_event); frees the
    /// event when no node refers to it.
    pub(crate) fn unpin(&mut self, id: EventId) {
        self.release_event(id);
    }

    fn release_event(&mut self, id: EventId) {
        let slot = &mut self.events[id.as_usize()];
        slot.refs -= 1;
        if slot.refs == 0 {
            slot.value = None;
            slot.next_free = self.free_events;
            self.free_events = Some(id);
            self.live_events -= 1;
        }
    }

    #[inline]
    pub(crate) fn event(&self, id: EventId) -> &E {
        // OK because only live slots are reachable from nodes and runs.
        self.events[id.as_usize()].value.as_ref().expect("live event")
    }

    #[inline]
    pub(crate) fn event_order(&self, id: EventId) -> EventOrder {
        let slot = &self.events[id.as_usize()];
        (slot.timestamp, slot.seq)
    }

    #[inline]
    pub(crate) fn event_timestamp(&self, id: EventId) -> i64 {
        self.events[id.as_usize()].timestamp
    }

    /// Adds a node: `event` taken by `stage` after the chain `previous`.
    /// The new node starts with one reference (the caller's run).
    pub(crate) fn put(
        &mut self,
        stage: StageId,
        event: EventId,
        previous: Option<NodeId>,
    ) -> NodeId {
        self.retain(previous);
        self.put_moving(stage, event, previous)
    }

    /// [`put`](Self::put) that takes over the caller's reference to
    /// `previous` instead of adding one (a run whose chain moves to its
    /// only successor).
    pub(crate) fn put_moving(
        &mut self,
        stage: StageId,
        event: EventId,
        previous: Option<NodeId>,
    ) -> NodeId {
        self.events[event.as_usize()].refs += 1;
        self.live_nodes += 1;
        let id = match self.free_nodes {
            Some(id) => id,
            None => NodeId::must(self.nodes.len()),
        };
        let root = previous.map_or(id, |p| self.nodes[p.as_usize()].root);
        let node = Node { event, stage, previous, root, refs: 1 };
        if let Some(free) = self.free_nodes {
            let slot = &mut self.nodes[free.as_usize()];
            self.free_nodes = slot.previous;
            *slot = node;
        } else {
            self.nodes.push(node);
        }
        id
    }

    /// Another run now shares the chain ending at `node`.
    #[inline]
    pub(crate) fn retain(&mut self, node: Option<NodeId>) {
        if let Some(n) = node {
            self.nodes[n.as_usize()].refs += 1;
        }
    }

    /// A run no longer uses the chain ending at `node`: frees every node
    /// (and event) nothing else reaches. Iterative, so chain length does
    /// not grow the stack.
    pub(crate) fn release(&mut self, node: Option<NodeId>) {
        let mut next = node;
        while let Some(id) = next {
            let n = &mut self.nodes[id.as_usize()];
            n.refs -= 1;
            if n.refs > 0 {
                return;
            }
            let (event, previous) = (n.event, n.previous);
            n.previous = self.free_nodes;
            self.free_nodes = Some(id);
            self.live_nodes -= 1;
            self.release_event(event);
            next = previous;
        }
    }

    /// The first (stage, event) of the chain ending at `node`.
    #[inline]
    pub(crate) fn root(&self, node: NodeId) -> (StageId, EventId) {
        let root = &self.nodes[self.nodes[node.as_usize()].root.as_usize()];
        (root.stage, root.event)
    }

    /// The chain ending at `node`, newest first: (stage, event).
    pub(crate) fn walk(
        &self,
        node: Option<NodeId>,
    ) -> impl Iterator<Item = (StageId, EventId)> + '_ {
        let mut next = node;
        std::iter::from_fn(move || {
            let id = next?;
            let n = &self.nodes[id.as_usize()];
            next = n.previous;
            Some((n.stage, n.event))
        })
    }

    /// Fills `out` with the chain ending at `node` in match order (oldest
    /// first).
    pub(crate) fn extract(
        &self,
        node: Option<NodeId>,
        out: &mut Vec<(StageId, EventId)>,
    ) {
        out.clear();
        out.extend(self.walk(node));
        out.reverse();
    }
}

/// A run's hold on a chain, as a restored buffer is checked against it:
/// the chain's last node, the run's pattern, and how many stages that
/// pattern has.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Holder {
    pub(crate) node: NodeId,
    pub(crate) pattern: usize,
    pub(crate) stages: usize,
}

impl<E> SharedBuffer<E> {
    /// Checks a buffer restored from a snapshot against every run that
    /// holds a chain in it. Reference counts must be exactly what the
    /// holders and the chains imply, the free lists must hold exactly the
    /// free slots, every chain must end (no cycle) at the root its nodes
    /// name, and every stage must be one of its pattern's (chains are
    /// never shared between patterns). Then nothing a run does with the
    /// buffer indexes out of bounds, frees a live slot or loops.
    pub(crate) fn check_restored(
        &self,
        holders: &[Holder],
    ) -> Result<(), String> {
        self.check_links()?;
        self.check_counts(holders)?;
        self.check_free_lists()?;
        self.check_chains()?;
        self.check_stages(holders)
    }

    /// Every field of a live slot refers inside the buffer.
    fn check_links(&self) -> Result<(), String> {
        let (nodes, events) = (self.nodes.len(), self.events.len());
        for (i, n) in self.nodes.iter().enumerate().filter(|(_, n)| n.refs > 0)
        {
            if n.event.as_usize() >= events
                || n.root.as_usize() >= nodes
                || n.previous.is_some_and(|p| p.as_usize() >= nodes)
            {
                return Err(format!("node {i} refers outside the buffer"));
            }
        }
        for (i, e) in
            self.events.iter().enumerate().filter(|(_, e)| e.refs > 0)
        {
            if e.value.is_none() {
                return Err(format!("event {i} is referred to but empty"));
            }
            if e.seq >= self.next_seq {
                return Err(format!("event {i} arrived after the last one"));
            }
        }
        Ok(())
    }

    /// Reference counts and live counts are what the holders imply.
    fn check_counts(&self, holders: &[Holder]) -> Result<(), String> {
        let mut node_refs = vec![0u64; self.nodes.len()];
        let mut event_refs = vec![0u64; self.events.len()];
        for h in holders {
            let Some(refs) = node_refs.get_mut(h.node.as_usize()) else {
                return Err(format!(
                    "a run holds node {}, the buffer has {}",
                    h.node.as_usize(),
                    self.nodes.len()
                ));
            };
            *refs += 1;
        }
        for n in self.nodes.iter().filter(|n| n.refs > 0) {
            if let Some(p) = n.previous {
                node_refs[p.as_usize()] += 1;
            }
            event_refs[n.event.as_usize()] += 1;
        }
        let counted = |what: &str, i: usize, have: u32, want: u64| {
            if u64::from(have) == want {
                Ok(())
            } else {
                Err(format!(
                    "{what} {i} counts {have} references, {want} refer to it"
                ))
            }
        };
        for (i, n) in self.nodes.iter().enumerate() {
            counted("node", i, n.refs, node_refs[i])?;
        }
        for (i, e) in self.events.iter().enumerate() {
            counted("event", i, e.refs, event_refs[i])?;
            if e.refs == 0 && e.value.is_some() {
                return Err(format!("event {i} is free but holds a value"));
            }
        }
        let live_nodes = self.nodes.iter().filter(|n| n.refs > 0).count();
        let live_events = self.events.iter().filter(|e| e.refs > 0).count();
        if (live_nodes, live_events) != (self.live_nodes, self.live_events) {
            return Err("the live counts are wrong".into());
        }
        Ok(())
    }

    /// Each free list holds every free slot once, and nothing else.
    fn check_free_lists(&self) -> Result<(), String> {
        let free_nodes = walk_free(
            self.free_nodes.map(NodeId::as_usize),
            self.nodes.len(),
            |i| {
                (
                    self.nodes[i].refs == 0,
                    self.nodes[i].previous.map(NodeId::as_usize),
                )
            },
        );
        let free_events = walk_free(
            self.free_events.map(EventId::as_usize),
            self.events.len(),
            |i| {
                let e = &self.events[i];
                (e.refs == 0, e.next_free.map(EventId::as_usize))
            },
        );
        if free_nodes != Some(self.nodes.len() - self.live_nodes) {
            return Err("the free node list is broken".into());
        }
        if free_events != Some(self.events.len() - self.live_events) {
            return Err("the free event list is broken".into());
        }
        Ok(())
    }

    /// Every live chain ends, and each node names its chain's first node
    /// as its root.
    fn check_chains(&self) -> Result<(), String> {
        const NEW: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut mark = vec![NEW; self.nodes.len()];
        let mut path = Vec::new();
        for first in 0..self.nodes.len() {
            if self.nodes[first].refs == 0 || mark[first] == DONE {
                continue;
            }
            let mut at = Some(first);
            while let Some(i) = at.filter(|&i| mark[i] != DONE) {
                if mark[i] == ON_PATH {
                    return Err(format!("node {i} is on a cycle"));
                }
                mark[i] = ON_PATH;
                path.push(i);
                at = self.nodes[i].previous.map(NodeId::as_usize);
            }
            // Oldest first, so each node's previous is already checked.
            while let Some(i) = path.pop() {
                let n = &self.nodes[i];
                let root = n
                    .previous
                    .map_or(i, |p| self.nodes[p.as_usize()].root.as_usize());
                if n.root.as_usize() != root {
                    return Err(format!("node {i} names the wrong root"));
                }
                mark[i] = DONE;
            }
        }
        Ok(())
    }

    /// Every node belongs to one pattern, and its stage is one of that
    /// pattern's.
    fn check_stages(&self, holders: &[Holder]) -> Result<(), String> {
        let mut owner = vec![usize::MAX; self.nodes.len()];
        for h in holders {
            let mut at = Some(h.node.as_usize());
            while let Some(i) = at {
                if owner[i] == h.pattern {
                    break;
                }
                if owner[i] != usize::MAX {
                    return Err(format!("node {i} is shared by two patterns"));
                }
                owner[i] = h.pattern;
                if self.nodes[i].stage.as_usize() >= h.stages {
                    return Err(format!(
                        "node {i} names stage {} of pattern {}, which has {}",
                        self.nodes[i].stage.as_usize(),
                        h.pattern,
                        h.stages
                    ));
                }
                at = self.nodes[i].previous.map(NodeId::as_usize);
            }
        }
        Ok(())
    }
}

/// Walks a free list threaded through `len` slots from `head`: its length
/// if every entry is a free slot (`slot(i)` gives whether slot `i` is
/// free, and the next entry) and none repeats; `None` otherwise.
fn walk_free(
    head: Option<usize>,
    len: usize,
    slot: impl Fn(usize) -> (bool, Option<usize>),
) -> Option<usize> {
    let mut seen = vec![false; len];
    let mut count = 0;
    let mut at = head;
    while let Some(i) = at {
        if seen.get(i) != Some(&false) {
            return None; // outside the slots, or a repeat
        }
        let (free, next) = slot(i);
        if !free {
            return None;
        }
        seen[i] = true;
        count += 1;
        at = next;
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(i: usize) -> StageId {
        StageId::must(i)
    }

    #[test]
    fn shared_chains_are_freed_when_the_last_run_lets_go() {
        let mut b = SharedBuffer::new();
        let e0 = b.insert_event("a", 1);
        let n0 = b.put(sid(0), e0, None);
        b.unpin(e0);
        let e1 = b.insert_event("b", 2);
        let n1 = b.put(sid(1), e1, Some(n0));
        b.unpin(e1);
        // The run that held n0 moves on to n1; another run still holds n0.
        b.retain(Some(n0));
        b.release(Some(n0));
        assert_eq!(b.node_count(), 2);
        let mut path = Vec::new();
        b.extract(Some(n1), &mut path);
        assert_eq!(path, vec![(sid(0), e0), (sid(1), e1)]);
        b.release(Some(n1));
        assert_eq!(b.node_count(), 1);
        assert_eq!(b.event_count(), 1);
        b.release(Some(n0));
        assert!(b.is_empty());
    }

    #[test]
    fn freed_slots_are_reused() {
        let mut b = SharedBuffer::new();
        let e = b.insert_event(1u8, 1);
        let n = b.put(sid(0), e, None);
        b.unpin(e);
        b.release(Some(n));
        let cap = b.memory_usage();
        let e2 = b.insert_event(2u8, 2);
        let n2 = b.put(sid(0), e2, None);
        b.unpin(e2);
        assert_eq!((e, n), (e2, n2));
        assert_eq!(b.memory_usage(), cap);
    }

    #[test]
    fn pinned_events_outlive_their_nodes_until_unpinned() {
        let mut b = SharedBuffer::new();
        let e = b.insert_event(7u8, 1);
        let n = b.put(sid(0), e, None);
        b.release(Some(n));
        assert_eq!(b.event_count(), 1);
        assert_eq!(*b.event(e), 7);
        b.unpin(e);
        assert!(b.is_empty());
    }
}
