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
//! * **Timers.** A key is visited when the watermark passes its earliest
//!   buffered event or the earliest window deadline of its runs, through
//!   one heap of (time, key) entries: idle keys cost nothing.
//! * **Fan-out.** Every pattern runs on the same keyed input; an event is
//!   keyed, buffered and stored once, however many patterns there are.
//! * **Hygiene.** A key with no partial matches and no buffered events is
//!   dropped; its state is recycled for the next new key.

mod operator;
mod pipeline;

pub use operator::{
    Counters, Handler, KeyedOperator, PatternId, PatternOptions, TimeMode,
};
pub use pipeline::{Keyed, Pipeline, Report, Timed, Watermarks};
