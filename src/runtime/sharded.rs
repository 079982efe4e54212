//! The keyed operator split over worker threads by key.
//!
//! Keys never interact, so a keyed stream can be cut by key into shards,
//! each a [`KeyedOperator`] of its own on its own thread, with its own
//! handler. The caller's thread only routes: it hashes each event's key
//! to pick a shard and hands the shards their events in batches, so the
//! shards work while it reads on.
//!
//! Every shard sees its keys' events in the order pushed and every
//! advance of the watermark, in the same order as one operator would: a
//! key's visits, and so its output, depend on when the watermark moves
//! (Flink completes a trailing `not_followed_by` only when a visit
//! finds its window passed, and a key is visited only for its events and
//! timers), so no shard may see a coarser watermark than one operator
//! does. Each shard then emits exactly what one operator emits for its
//! keys; only the order of the output across shards differs, and the
//! counters' peaks are per shard.
//!
//! A snapshot is every shard's [`OperatorSnapshot`], taken in order with
//! the events (each shard has processed exactly what was pushed before
//! it). Restoring keeps every key that holds state in the shard that
//! holds it; keys that hold nothing go wherever their hash sends them.

use std::hash::{BuildHasher, Hash};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use super::operator::{
    Handler, KeyedOperator, OperatorSnapshot, RestoreError, TimeMode,
};
use crate::nfa::SkipError;

/// Events per batch handed to a shard: large enough that the hand-over
/// costs next to nothing per event, small enough to keep the shards busy.
const BATCH: usize = 1024;

/// Batches in flight per shard before the router waits for it.
const IN_FLIGHT: usize = 4;

/// What the router hands a shard.
enum Item<E, K> {
    /// An event.
    Event { key: K, event: E, timestamp: i64 },
    /// The watermark moved on.
    Advance(i64),
    /// Something to do with the shard's operator at this point of its
    /// input (a snapshot).
    Call(Call<E, K>),
}

/// A look at a shard's operator, run on its thread.
type Call<E, K> = Box<dyn FnOnce(&KeyedOperator<E, K>) + Send>;

/// A shard's worker: the batch being filled, its queue, the queue empty
/// batches come back on, and its thread.
struct Shard<E, K, H> {
    batch: Vec<Item<E, K>>,
    send: Option<SyncSender<Vec<Item<E, K>>>>,
    spare: Receiver<Vec<Item<E, K>>>,
    thread: Option<JoinHandle<ShardResult<E, K, H>>>,
}

/// A shard at the end: its operator (for its counters, or a snapshot)
/// and its handler (with whatever it collected).
#[derive(Debug)]
pub struct Finished<E, K, H> {
    /// The shard's operator.
    pub operator: KeyedOperator<E, K>,
    /// The shard's handler.
    pub handler: H,
}

/// What a shard's worker hands back: its operator and handler as they
/// ended, and whether it stopped on an error.
type ShardResult<E, K, H> = (KeyedOperator<E, K>, H, Result<(), SkipError>);

/// A [`KeyedOperator`] in event time whose keys are split over worker
/// threads: push events and advance the watermark from one thread, as on
/// one operator; each shard's handler gets its keys' output.
///
/// # Example
///
/// ```
/// use cepflow::runtime::{Handler, KeyedOperator, PatternId, ShardedOperator, TimeMode};
/// use cepflow::{Match, Pattern};
///
/// #[derive(Default)]
/// struct Count(u64);
/// impl Handler<i32, u32> for Count {
///     fn on_match(&mut self, _: PatternId, _: &u32, _: &Match<'_, i32>, _: i64) {
///         self.0 += 1;
///     }
/// }
///
/// let p = Pattern::<i32>::begin("a").when(|x| *x < 0).next("b").when(|x| *x > 0).build()?;
/// let mut op = ShardedOperator::new(
///     2,
///     || {
///         let mut op = KeyedOperator::new(TimeMode::EventTime);
///         op.add_pattern(&p, Default::default());
///         op
///     },
///     |_| Count::default(),
/// );
/// // Key 0 gets -1 then 5, key 1 gets -2 then 7.
/// for (ts, x) in [-1, 5, -2, 7].into_iter().enumerate() {
///     let (key, ts) = (ts as u32 / 2, ts as i64);
///     op.push_and_advance(key, x, ts, ts - 1)?;
/// }
/// let shards = op.finish()?;
/// assert_eq!(shards.iter().map(|s| s.handler.0).sum::<u64>(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ShardedOperator<E, K, H> {
    shards: Vec<Shard<E, K, H>>,
    hasher: hashbrown::DefaultHashBuilder,
    watermark: i64,
    /// Keys restored into a shard their hash may not pick: they stay
    /// there. Empty unless restored.
    pinned: HashMap<K, usize>,
}

/// A [`ShardedOperator`]'s state: each shard's [`OperatorSnapshot`], to
/// serialise with serde and give to [`ShardedOperator::restore`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "E: Serialize, K: Serialize",
        deserialize = "E: Deserialize<'de>, K: Deserialize<'de>"
    ),
    deny_unknown_fields
)]
pub struct ShardedSnapshot<E, K> {
    watermark: i64,
    shards: Vec<OperatorSnapshot<E, K>>,
}

impl<E, K> ShardedSnapshot<E, K> {
    /// The watermark when the snapshot was taken.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// Each shard's snapshot, in shard order.
    pub fn shards(&self) -> &[OperatorSnapshot<E, K>] {
        &self.shards
    }
}

impl<E, K, H> std::fmt::Debug for ShardedOperator<E, K, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedOperator")
            .field("shards", &self.shards.len())
            .field("watermark", &self.watermark)
            .finish()
    }
}

impl<E, K, H> ShardedOperator<E, K, H>
where
    E: Send + 'static,
    K: Hash + Eq + Clone + Send + 'static,
    H: Handler<E, K> + Send + 'static,
{
    /// `shards` operators (at least one), each made by `operator` (which
    /// must register the same patterns, in event time) and given the
    /// handler `handler(shard)`, each on a thread of its own.
    ///
    /// # Panics
    ///
    /// When `operator` makes an operator in processing time: a shard
    /// cannot read the caller's clock at the caller's moment.
    pub fn new(
        shards: usize,
        mut operator: impl FnMut() -> KeyedOperator<E, K>,
        handler: impl FnMut(usize) -> H,
    ) -> Self {
        let operators = (0..shards.max(1)).map(|_| operator()).collect();
        Self::start(operators, handler, i64::MIN, HashMap::new())
    }

    /// A sharded operator that goes on from `snapshot`
    /// ([`snapshot`](Self::snapshot)), with as many shards as it has, each
    /// made by `operator` (the same patterns as when it was taken) and
    /// given the handler `handler(shard)`.
    ///
    /// # Errors
    ///
    /// [`RestoreError`] when a shard's snapshot does not fit its operator
    /// ([`KeyedOperator::restore`]), or the shards disagree (a key in two
    /// shards, different watermarks, no shard at all).
    ///
    /// # Panics
    ///
    /// As [`new`](Self::new).
    pub fn restore(
        snapshot: ShardedSnapshot<E, K>,
        mut operator: impl FnMut() -> KeyedOperator<E, K>,
        handler: impl FnMut(usize) -> H,
    ) -> Result<Self, RestoreError> {
        if snapshot.shards.is_empty() {
            return Err(RestoreError::Corrupt { reason: "no shard".into() });
        }
        let mut pinned = HashMap::new();
        let mut operators = Vec::with_capacity(snapshot.shards.len());
        for (i, shard) in snapshot.shards.into_iter().enumerate() {
            if shard.watermark() != snapshot.watermark {
                return Err(RestoreError::Corrupt {
                    reason: format!(
                        "shard {i} is at watermark {}, the snapshot at {}",
                        shard.watermark(),
                        snapshot.watermark
                    ),
                });
            }
            for key in shard.held_keys() {
                if *pinned.entry(key.clone()).or_insert(i) != i {
                    return Err(RestoreError::Corrupt {
                        reason: format!("shard {i} holds a key of another"),
                    });
                }
            }
            let mut op = operator();
            op.restore(shard).map_err(|e| in_shard(i, e))?;
            operators.push(op);
        }
        Ok(Self::start(operators, handler, snapshot.watermark, pinned))
    }

    /// Starts a thread per operator.
    fn start(
        operators: Vec<KeyedOperator<E, K>>,
        mut handler: impl FnMut(usize) -> H,
        watermark: i64,
        pinned: HashMap<K, usize>,
    ) -> Self {
        let shards = operators
            .into_iter()
            .enumerate()
            .map(|(i, op)| {
                assert!(
                    op.mode() == TimeMode::EventTime,
                    "a sharded operator runs in event time"
                );
                spawn(op, handler(i))
            })
            .collect();
        Self {
            shards,
            hasher: hashbrown::DefaultHashBuilder::default(),
            watermark,
            pinned,
        }
    }

    /// A snapshot of every shard, taken once each has processed all that
    /// was pushed so far (the caller waits for the slowest).
    ///
    /// # Errors
    ///
    /// A shard stopped on a [`SkipError`] ([`finish`](Self::finish)
    /// tells which).
    pub fn snapshot(&mut self) -> Result<ShardedSnapshot<E, K>, Stopped>
    where
        E: Clone,
    {
        let mut replies = Vec::with_capacity(self.shards.len());
        for s in 0..self.shards.len() {
            let (reply, answer) = mpsc::channel();
            self.shards[s].batch.push(Item::Call(Box::new(move |op| {
                // The caller waits for this answer; if it went, no one
                // needs the snapshot.
                let _ = reply.send(op.snapshot());
            })));
            self.send(s)?;
            replies.push(answer);
        }
        let shards = replies
            .into_iter()
            .map(|answer| answer.recv().map_err(|_| Stopped))
            .collect::<Result<_, _>>()?;
        Ok(ShardedSnapshot { watermark: self.watermark, shards })
    }

    /// The current watermark.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// How many shards (threads) there are.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Pushes one event of `key` ([`KeyedOperator::push`]) to its shard.
    ///
    /// # Errors
    ///
    /// A shard stopped on a [`SkipError`]; [`finish`](Self::finish)
    /// hands it back.
    pub fn push(
        &mut self,
        key: K,
        event: E,
        timestamp: i64,
    ) -> Result<(), Stopped> {
        let s = self.shard_of(&key);
        self.shards[s].batch.push(Item::Event { key, event, timestamp });
        self.flush_if_full(s)
    }

    /// Pushes one event, then advances the watermark to `to`
    /// ([`KeyedOperator::push_and_advance`]).
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    pub fn push_and_advance(
        &mut self,
        key: K,
        event: E,
        timestamp: i64,
        to: i64,
    ) -> Result<(), Stopped> {
        self.push(key, event, timestamp)?;
        self.advance_to(to)
    }

    /// Advances the watermark to `to` ([`KeyedOperator::advance_to`]):
    /// every shard hears of it with its next batch, in order with the
    /// events (see [`flush`](Self::flush)).
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    pub fn advance_to(&mut self, to: i64) -> Result<(), Stopped> {
        if to <= self.watermark {
            return Ok(());
        }
        self.watermark = to;
        for s in 0..self.shards.len() {
            self.shards[s].batch.push(Item::Advance(to));
            self.flush_if_full(s)?;
        }
        Ok(())
    }

    /// Hands every shard what it has not been sent yet, so that it
    /// processes it (and fires its timers) without waiting for more.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    pub fn flush(&mut self) -> Result<(), Stopped> {
        (0..self.shards.len()).try_for_each(|s| self.send(s))
    }

    /// Ends the input: every shard is flushed and finished
    /// ([`KeyedOperator::finish`]); hands back each shard's operator and
    /// handler, in shard order. To release the matches a skip strategy
    /// still holds back, call [`KeyedOperator::flush_held`] on each
    /// operator with its handler.
    ///
    /// # Errors
    ///
    /// The first shard's [`SkipError`], with every shard's operator and
    /// handler as they stopped.
    // Spelled out, not aliased, so that the docs show what comes back.
    #[allow(clippy::type_complexity)]
    pub fn finish(
        mut self,
    ) -> Result<Vec<Finished<E, K, H>>, ShardError<E, K, H>> {
        // A shard that stopped refuses its batch (its error comes back
        // below); the others still get theirs.
        for s in 0..self.shards.len() {
            let _ = self.send(s);
        }
        let mut results = Vec::with_capacity(self.shards.len());
        let mut error = None;
        for shard in &mut self.shards {
            shard.send = None; // the worker's queue ends: it finishes
            let joined = shard.thread.take().map(|t| t.join());
            match joined {
                Some(Ok((op, h, result))) => {
                    if let Err(e) = result {
                        error.get_or_insert(e);
                    }
                    results.push(Finished { operator: op, handler: h });
                }
                // A handler panicked: so does the caller.
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                None => {}
            }
        }
        match error {
            None => Ok(results),
            Some(error) => Err(ShardError { error, shards: results }),
        }
    }

    fn shard_of(&self, key: &K) -> usize {
        if !self.pinned.is_empty() {
            if let Some(&s) = self.pinned.get(key) {
                return s;
            }
        }
        let hash = self.hasher.hash_one(key);
        // Multiply-shift: the high bits of the hash pick the shard.
        ((u128::from(hash) * self.shards.len() as u128) >> 64) as usize
    }

    #[inline]
    fn flush_if_full(&mut self, s: usize) -> Result<(), Stopped> {
        if self.shards[s].batch.len() >= BATCH {
            self.send(s)
        } else {
            Ok(())
        }
    }

    /// Sends shard `s` its batch.
    fn send(&mut self, s: usize) -> Result<(), Stopped> {
        let shard = &mut self.shards[s];
        if shard.batch.is_empty() {
            return Ok(());
        }
        // The worker hands emptied batches back: reuse one if there is.
        let next = shard.spare.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut shard.batch, next);
        let Some(send) = &shard.send else { return Err(Stopped) };
        send.send(full).map_err(|_| Stopped)
    }
}

impl<E, K, H> Drop for ShardedOperator<E, K, H> {
    fn drop(&mut self) {
        // Dropped unfinished: the workers end their input (finishing their
        // operators into handlers nobody reads) and are waited for, so no
        // thread outlives the operator.
        for shard in &mut self.shards {
            shard.send = None;
            if let Some(t) = shard.thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// Starts a shard's worker thread.
fn spawn<E, K, H>(op: KeyedOperator<E, K>, handler: H) -> Shard<E, K, H>
where
    E: Send + 'static,
    K: Hash + Eq + Clone + Send + 'static,
    H: Handler<E, K> + Send + 'static,
{
    let (send, queue) = mpsc::sync_channel::<Vec<Item<E, K>>>(IN_FLIGHT);
    let (give_back, spare) = mpsc::channel();
    let thread =
        std::thread::spawn(move || work(op, handler, &queue, &give_back));
    Shard {
        batch: Vec::with_capacity(BATCH + 1),
        send: Some(send),
        spare,
        thread: Some(thread),
    }
}

/// A shard's worker: runs its batches through its operator until the
/// queue ends, then finishes it.
fn work<E, K, H>(
    mut op: KeyedOperator<E, K>,
    mut handler: H,
    queue: &Receiver<Vec<Item<E, K>>>,
    give_back: &mpsc::Sender<Vec<Item<E, K>>>,
) -> ShardResult<E, K, H>
where
    K: Hash + Eq + Clone,
    H: Handler<E, K>,
{
    let run = |op: &mut KeyedOperator<E, K>, h: &mut H| {
        for mut batch in queue {
            for item in batch.drain(..) {
                match item {
                    Item::Event { key, event, timestamp } => {
                        op.push(key, event, timestamp, h)?;
                    }
                    Item::Advance(to) => op.advance_to(to, h)?,
                    Item::Call(call) => call(op),
                }
            }
            // The router may have gone; then the batch is just dropped.
            let _ = give_back.send(batch);
        }
        op.finish(h)
    };
    let result = run(&mut op, &mut handler);
    (op, handler, result)
}

/// A shard's [`RestoreError`], saying which shard.
fn in_shard(shard: usize, e: RestoreError) -> RestoreError {
    match e {
        RestoreError::Corrupt { reason } => RestoreError::Corrupt {
            reason: format!("shard {shard}: {reason}"),
        },
        RestoreError::Pattern { pattern, reason } => RestoreError::Pattern {
            pattern,
            reason: format!("shard {shard}: {reason}"),
        },
        other => other,
    }
}

/// A shard stopped on an error: [`ShardedOperator::finish`] tells which.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped;

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a shard of the operator stopped; finish() tells why")
    }
}

impl std::error::Error for Stopped {}

/// A shard's [`SkipError`], with every shard's operator and handler as
/// they stopped.
pub struct ShardError<E, K, H> {
    /// The first shard's error.
    pub error: SkipError,
    /// Every shard's operator and handler, in shard order.
    pub shards: Vec<Finished<E, K, H>>,
}

impl<E, K, H> std::fmt::Debug for ShardError<E, K, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardError").field("error", &self.error).finish()
    }
}

impl<E, K, H> std::fmt::Display for ShardError<E, K, H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl<E, K, H> std::error::Error for ShardError<E, K, H> {}
