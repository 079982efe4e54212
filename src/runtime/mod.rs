//! The keyed operator: keys, event time, watermarks, timers, fan-out.
//!
//! [`KeyedOperator`] is the push-based heart everything else wraps: push
//! an event with its key and timestamp, advance the watermark, finish; it
//! calls a [`Handler`] with matches, timeouts and late events. It follows
//! Flink's `CepOperator`:
//!
//! * **Event time.** An event at or below the current watermark is late
//!   and goes to [`Handler::on_late`]. Others wait in their key's reorder
//!   buffer until the watermark passes them, then are processed in
//!   timestamp order (arrival order among equal timestamps); before each
//!   timestamp the key's runs are advanced to it, so windows expire first.
//! * **Processing time.** Events are processed on arrival at the
//!   operator's clock.
//! * **Timers.** As Flink, a key is visited when the watermark passes one
//!   of its buffered events or one of its window timers (`t + window`,
//!   set after a partial match starts). Timers wait in per-pattern queues
//!   in time order: idle keys cost nothing.
//! * **Fan-out.** Every pattern runs on the same keyed input; an event is
//!   keyed, buffered and stored once, however many patterns there are.
//! * **Snapshots.** [`KeyedOperator::snapshot`] copies all keyed state
//!   into a serde-serialisable [`OperatorSnapshot`];
//!   [`KeyedOperator::restore`] puts it into an operator with the same
//!   patterns, checking it first, and the operator continues as if never
//!   stopped.
//! * **Threads.** [`ShardedOperator`] splits the keys over worker
//!   threads, one operator each, fed in batches from the caller's thread.
//! * **Hygiene.** A key with no partial matches and no buffered events is
//!   dropped; its state is recycled for the next new key. An event that
//!   starts nothing on such a key never materialises it.

mod operator;
mod pipeline;
mod sharded;

pub use operator::{
    Counters, Handler, KeyedOperator, OperatorSnapshot, PatternCounters,
    PatternId, PatternOptions, RestoreError, TimeMode,
};
pub use pipeline::{Keyed, Pipeline, Report, Timed, Watermarks};
pub use sharded::{
    Finished, ShardError, ShardedOperator, ShardedSnapshot, Stopped,
};
