//! The pipeline API: a DataStream-like builder over the keyed operator,
//! built lazily and then executed.
//!
//! ```
//! use cepflow::runtime::{Pipeline, Watermarks};
//! use cepflow::handler::select;
//! use cepflow::Pattern;
//! use std::time::Duration;
//!
//! #[derive(Clone, Debug)]
//! struct Login { user: &'static str, ok: bool, ts: i64 }
//!
//! let pattern = Pattern::<Login>::begin("fail").when(|e| !e.ok).times(2)
//!     .next("ok").when(|e| e.ok)
//!     .within(Duration::from_secs(60))
//!     .build()?;
//! let events = vec![
//!     Login { user: "ann", ok: false, ts: 1_000 },
//!     Login { user: "bob", ok: false, ts: 1_500 },
//!     Login { user: "ann", ok: false, ts: 2_000 },
//!     Login { user: "ann", ok: true, ts: 3_000 },
//! ];
//! let alerts = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//! let sink = alerts.clone();
//! let report = Pipeline::from_iter(events)
//!     .event_time(|e| e.ts, Watermarks::bounded_out_of_orderness(Duration::ZERO))
//!     .key_by(|e| e.user)
//!     .pattern(&pattern, select(
//!         |m, ctx| format!("{} got in after {} failures", ctx.key(), m.events("fail").count()),
//!         move |alert| sink.borrow_mut().push(alert),
//!     ))
//!     .run()?;
//! assert_eq!(*alerts.borrow(), vec!["ann got in after 2 failures".to_owned()]);
//! assert_eq!(report.counters().matches, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::hash::Hash;
use std::time::Duration;

use super::operator::{
    Counters, Handler, KeyedOperator, PatternCounters, PatternId,
    PatternOptions, TimeMode,
};
use crate::handler::{MatchContext, OutputTag, PatternHandler, SideOutputs};
use crate::nfa::{Match, SkipError};
use crate::pattern::Pattern;

/// How watermarks follow the events (Flink's `WatermarkStrategy`).
pub struct Watermarks<E> {
    kind: WatermarkKind<E>,
}

type WatermarkFn<E> = Box<dyn FnMut(&E, i64) -> Option<i64>>;

enum WatermarkKind<E> {
    Bounded { delay_ms: i64, max_ts: i64 },
    Custom(WatermarkFn<E>),
}

impl<E> std::fmt::Debug for Watermarks<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            WatermarkKind::Bounded { delay_ms, .. } => {
                write!(
                    f,
                    "Watermarks::bounded_out_of_orderness({delay_ms} ms)"
                )
            }
            WatermarkKind::Custom(_) => f.write_str("Watermarks::custom"),
        }
    }
}

impl<E> Watermarks<E> {
    /// After each event, the watermark is the largest timestamp seen minus
    /// `delay`, minus one millisecond (Flink's
    /// `forBoundedOutOfOrderness`, emitted after every event).
    pub fn bounded_out_of_orderness(delay: Duration) -> Self {
        let delay_ms = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX);
        Self { kind: WatermarkKind::Bounded { delay_ms, max_ts: i64::MIN } }
    }

    /// Timestamps never decrease (Flink's `forMonotonousTimestamps`).
    pub fn monotonous() -> Self {
        Self::bounded_out_of_orderness(Duration::ZERO)
    }

    /// Any rule: given each event and its timestamp, returns a new
    /// watermark or `None` (a watermark never goes back).
    pub fn custom(f: impl FnMut(&E, i64) -> Option<i64> + 'static) -> Self {
        Self { kind: WatermarkKind::Custom(Box::new(f)) }
    }

    fn on_event(&mut self, event: &E, ts: i64) -> Option<i64> {
        match &mut self.kind {
            WatermarkKind::Bounded { delay_ms, max_ts } => {
                *max_ts = (*max_ts).max(ts);
                Some(max_ts.saturating_sub(*delay_ms).saturating_sub(1))
            }
            WatermarkKind::Custom(f) => f(event, ts),
        }
    }
}

enum Time<E> {
    Event { timestamp: Box<dyn Fn(&E) -> i64>, watermarks: Watermarks<E> },
    Processing { clock: Box<dyn FnMut() -> i64> },
}

/// A source of events, not yet timed or keyed.
pub struct Pipeline<I> {
    source: I,
}

impl<I> std::fmt::Debug for Pipeline<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pipeline")
    }
}

impl<E> Pipeline<std::iter::Empty<E>> {
    /// A pipeline whose events will come from an asynchronous stream,
    /// given to `Keyed::run_stream` (feature `futures`).
    pub fn for_stream() -> Self {
        Self { source: std::iter::empty() }
    }
}

impl<I: Iterator> Pipeline<I> {
    /// Reads events from any iterable.
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter(source: impl IntoIterator<IntoIter = I>) -> Self {
        Self { source: source.into_iter() }
    }

    /// Event time: timestamps from the events, watermarks by `watermarks`.
    pub fn event_time(
        self,
        timestamp: impl Fn(&I::Item) -> i64 + 'static,
        watermarks: Watermarks<I::Item>,
    ) -> Timed<I> {
        Timed {
            source: self.source,
            time: Time::Event { timestamp: Box::new(timestamp), watermarks },
        }
    }

    /// Processing time on the wall clock (milliseconds since the epoch).
    pub fn processing_time(self) -> Timed<I> {
        self.processing_time_with(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
        })
    }

    /// Processing time on a caller's clock (for tests and replays).
    pub fn processing_time_with(
        self,
        clock: impl FnMut() -> i64 + 'static,
    ) -> Timed<I> {
        Timed {
            source: self.source,
            time: Time::Processing { clock: Box::new(clock) },
        }
    }
}

/// A timed stream, ready to be keyed.
pub struct Timed<I: Iterator> {
    source: I,
    time: Time<I::Item>,
}

impl<I: Iterator> std::fmt::Debug for Timed<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Timed")
    }
}

impl<I: Iterator> Timed<I>
where
    I::Item: 'static,
{
    /// Partitions the stream: each key has its own partial matches.
    pub fn key_by<K: Hash + Eq + Clone + 'static>(
        self,
        key: impl Fn(&I::Item) -> K + 'static,
    ) -> Keyed<I, K> {
        Keyed {
            source: self.source,
            time: self.time,
            key: Box::new(key),
            patterns: Vec::new(),
            late: None,
        }
    }

    /// One global partition (a non-keyed stream).
    pub fn global(self) -> Keyed<I, ()> {
        self.key_by(|_| ())
    }
}

type LateSink<E, K> = Box<dyn FnMut(&K, E, i64)>;
type KeyFn<E, K> = Box<dyn Fn(&E) -> K>;
type Registered<E, K> = (Pattern<E>, Box<dyn PatternHandler<E, K>>);

/// A keyed stream with the patterns that run on it (fan-out: the input is
/// read once for all of them).
pub struct Keyed<I: Iterator, K> {
    source: I,
    time: Time<I::Item>,
    key: KeyFn<I::Item, K>,
    patterns: Vec<Registered<I::Item, K>>,
    late: Option<LateSink<I::Item, K>>,
}

impl<I: Iterator, K> std::fmt::Debug for Keyed<I, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyed")
            .field("patterns", &self.patterns.len())
            .finish()
    }
}

/// What a run produced besides the handlers' own output.
#[derive(Debug)]
pub struct Report<E> {
    counters: Counters,
    patterns: Vec<PatternCounters>,
    late: Vec<E>,
    side: SideOutputs,
}

impl<E> Report<E> {
    /// The operator's counters at the end.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// Each pattern's counters at the end, in the order the patterns
    /// were added to the pipeline.
    pub fn pattern_counters(&self) -> &[PatternCounters] {
        &self.patterns
    }

    /// Late events, when no late sink was set.
    pub fn late(&self) -> &[E] {
        &self.late
    }

    /// Takes what handlers sent to a side output.
    pub fn side_output<T: 'static>(&mut self, tag: &OutputTag<T>) -> Vec<T> {
        self.side.take(tag)
    }
}

struct Dispatch<E, K> {
    handlers: Vec<Box<dyn PatternHandler<E, K>>>,
    late: Option<LateSink<E, K>>,
    late_kept: Vec<E>,
    side: SideOutputs,
    watermark: i64,
}

impl<E, K> Dispatch<E, K> {
    /// The pattern's handler and the context it is called with.
    fn route<'a>(
        &'a mut self,
        pattern: PatternId,
        key: &'a K,
        timestamp: i64,
    ) -> (&'a mut dyn PatternHandler<E, K>, MatchContext<'a, K>) {
        let ctx = MatchContext {
            key,
            timestamp,
            watermark: self.watermark,
            side: &mut self.side,
        };
        (self.handlers[pattern.index()].as_mut(), ctx)
    }
}

impl<E, K> Handler<E, K> for Dispatch<E, K> {
    fn on_match(
        &mut self,
        pattern: PatternId,
        key: &K,
        m: &Match<'_, E>,
        timestamp: i64,
    ) {
        let (handler, mut ctx) = self.route(pattern, key, timestamp);
        handler.on_match(m, &mut ctx);
    }

    fn on_timeout(
        &mut self,
        pattern: PatternId,
        key: &K,
        m: &Match<'_, E>,
        timestamp: i64,
    ) {
        let (handler, mut ctx) = self.route(pattern, key, timestamp);
        handler.on_timeout(m, &mut ctx);
    }

    fn on_late(&mut self, key: &K, event: E, timestamp: i64) {
        match &mut self.late {
            Some(sink) => sink(key, event, timestamp),
            None => self.late_kept.push(event),
        }
    }
}

impl<I: Iterator, K: Hash + Eq + Clone + 'static> Keyed<I, K>
where
    I::Item: 'static,
{
    /// Runs `pattern` on every key; results go to `handler` (see
    /// [`select`](crate::handler::select),
    /// [`flat_select`](crate::handler::flat_select),
    /// [`process`](crate::handler::process)).
    pub fn pattern(
        mut self,
        pattern: &Pattern<I::Item>,
        handler: impl PatternHandler<I::Item, K> + 'static,
    ) -> Self {
        self.patterns.push((pattern.clone(), Box::new(handler)));
        self
    }

    /// Sends late events (at or below the watermark) to `sink` instead of
    /// keeping them in the [`Report`].
    pub fn late_data(
        mut self,
        sink: impl FnMut(&K, I::Item, i64) + 'static,
    ) -> Self {
        self.late = Some(Box::new(sink));
        self
    }

    /// Executes the pipeline to the end of the source.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn run(self) -> Result<Report<I::Item>, SkipError> {
        let (source, mut driver) = self.into_driver();
        for event in source {
            driver.feed(event)?;
        }
        driver.end()
    }

    /// Executes the pipeline over an asynchronous stream instead of the
    /// iterator (feature `futures`); start from
    /// [`Pipeline::for_stream`].
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    #[cfg(feature = "futures")]
    pub async fn run_stream<S>(
        self,
        mut stream: S,
    ) -> Result<Report<I::Item>, SkipError>
    where
        S: futures_core::Stream<Item = I::Item> + Unpin,
    {
        let (_, mut driver) = self.into_driver();
        while let Some(event) = std::future::poll_fn(|cx| {
            std::pin::Pin::new(&mut stream).poll_next(cx)
        })
        .await
        {
            driver.feed(event)?;
        }
        driver.end()
    }

    fn into_driver(self) -> (I, Driver<I::Item, K>) {
        let Keyed { source, time, key, patterns, late } = self;
        let mode = match time {
            Time::Event { .. } => TimeMode::EventTime,
            Time::Processing { .. } => TimeMode::ProcessingTime,
        };
        let mut op = KeyedOperator::new(mode);
        let mut handlers = Vec::with_capacity(patterns.len());
        for (pattern, handler) in patterns {
            op.add_pattern(
                &pattern,
                PatternOptions { timeouts: handler.wants_timeouts() },
            );
            handlers.push(handler);
        }
        let out = Dispatch {
            handlers,
            late,
            late_kept: Vec::new(),
            side: SideOutputs::default(),
            watermark: i64::MIN,
        };
        (source, Driver { op, out, time, key })
    }
}

/// Feeds events one at a time into the operator: the loop body shared by
/// the iterator and the stream sources.
struct Driver<E, K> {
    op: KeyedOperator<E, K>,
    out: Dispatch<E, K>,
    time: Time<E>,
    key: KeyFn<E, K>,
}

impl<E, K: Hash + Eq + Clone> Driver<E, K> {
    fn feed(&mut self, event: E) -> Result<(), SkipError> {
        let k = (self.key)(&event);
        match &mut self.time {
            Time::Event { timestamp, watermarks } => {
                let ts = timestamp(&event);
                match watermarks.on_event(&event, ts) {
                    Some(wm) => {
                        self.out.watermark = self.out.watermark.max(wm);
                        self.op.push_and_advance(
                            k,
                            event,
                            ts,
                            wm,
                            &mut self.out,
                        )
                    }
                    None => self.op.push(k, event, ts, &mut self.out),
                }
            }
            Time::Processing { clock } => {
                let now = clock();
                self.out.watermark = now;
                self.op.advance_to(now.saturating_sub(1), &mut self.out)?;
                self.op.push(k, event, now, &mut self.out)
            }
        }
    }

    fn end(mut self) -> Result<Report<E>, SkipError> {
        if matches!(self.time, Time::Event { .. }) {
            self.out.watermark = i64::MAX;
        }
        self.op.finish(&mut self.out)?;
        let patterns = self
            .op
            .pattern_ids()
            .filter_map(|id| self.op.pattern_counters(id))
            .collect();
        Ok(Report {
            counters: self.op.counters(),
            patterns,
            late: self.out.late_kept,
            side: self.out.side,
        })
    }
}

#[cfg(all(test, feature = "futures"))]
mod stream_tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use super::*;
    use crate::handler::{select, Collector};

    /// A stream that is pending every other poll, to exercise waking.
    struct Slow(std::vec::IntoIter<(u8, i64)>, bool);

    impl futures_core::Stream for Slow {
        type Item = (u8, i64);
        fn poll_next(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Self::Item>> {
            self.1 = !self.1;
            if self.1 {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(self.0.next())
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }

    #[test]
    fn a_stream_source_gives_what_an_iterator_gives() {
        let events = vec![(1, 1), (2, 2), (1, 3), (2, 4)];
        let p = Pattern::<(u8, i64)>::begin("a")
            .when(|e| e.0 == 1)
            .followed_by("b")
            .when(|e| e.0 == 2)
            .build()
            .unwrap();
        let got = Collector::new();
        let report = block_on(
            Pipeline::for_stream()
                .event_time(|e: &(u8, i64)| e.1, Watermarks::monotonous())
                .global()
                .pattern(&p, select(|m, _| m.len(), got.sink()))
                .run_stream(Slow(events.into_iter(), false)),
        )
        .unwrap();
        // a1 b2 and a3 b4 (relaxed contiguity: a1 stops at b2).
        assert_eq!(got.take(), vec![2, 2]);
        assert_eq!(report.counters().events_in, 4);
    }
}
