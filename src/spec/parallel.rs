//! A spec run on several threads: the keys split over a
//! [`ShardedOperator`], each shard writing the contract's lines into a
//! buffer of its own that it hands to the shared output a block of whole
//! lines at a time.

use std::io::{self, Write};
use std::ops::Range;
use std::sync::{Arc, Mutex};

use super::load::CompiledSpec;
use super::run::{
    operator_for, watermark_after, JsonLines, Key, Prepared, RunError,
};
use super::{EventError, JsonEvent, SpecRunner, Summary};
use crate::runtime::{Counters, PatternCounters, ShardedOperator, TimeMode};

/// A shard hands its lines over once it has this many bytes of them.
const HAND_OVER_AT: usize = 64 * 1024;

/// [`SpecRunner`] with the keys split over worker threads (`cepflow run
/// --threads`). Each shard emits exactly what one runner emits for its
/// keys, and a key's lines keep their order; lines of different keys
/// interleave in an order that varies from run to run. On one thread,
/// or for a spec in processing time (no `time` section), which cannot be
/// split, it is a [`SpecRunner`] on the caller's thread.
pub struct ParallelSpecRunner<W: Write + Send + 'static> {
    engine: Engine<W>,
}

/// Both boxed: each is large, and only one is ever used.
enum Engine<W: Write + Send + 'static> {
    One(Box<SpecRunner<W>>),
    Split(Box<Split<W>>),
}

/// The split engine: a runner that only reads lines (parses them, finds
/// their keys and counts them), and the shards.
struct Split<W: Write + Send + 'static> {
    reader: SpecRunner<io::Sink>,
    op: ShardedOperator<JsonEvent, Key, JsonLines<ShardOut<W>>>,
    out: Arc<Mutex<W>>,
    out_of_orderness: i64,
    max_ts: i64,
    /// A shard stopped on an error; `finish` reports it.
    stopped: bool,
    /// Events pushed already read ([`ParallelSpecRunner::push_prepared`]),
    /// so not counted by the reader.
    prepared: u64,
}

impl<W: Write + Send + 'static> std::fmt::Debug for ParallelSpecRunner<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let threads = match &self.engine {
            Engine::One(_) => 1,
            Engine::Split(s) => s.op.shard_count(),
        };
        f.debug_struct("ParallelSpecRunner")
            .field("threads", &threads)
            .finish()
    }
}

impl ParallelSpecRunner<io::Sink> {
    /// A runner that only counts results (for benchmarks), on `threads`
    /// threads.
    pub fn counting(spec: CompiledSpec, threads: usize) -> Self {
        Self::with_output(spec, threads, io::sink(), false)
    }
}

impl<W: Write + Send + 'static> ParallelSpecRunner<W> {
    /// A runner for `spec` on `threads` threads writing to `out`.
    pub fn new(spec: CompiledSpec, threads: usize, out: W) -> Self {
        Self::with_output(spec, threads, out, true)
    }

    fn with_output(
        spec: CompiledSpec,
        threads: usize,
        out: W,
        write: bool,
    ) -> Self {
        let split = spec.time.clone().filter(|_| threads > 1);
        let Some((_, out_of_orderness)) = split else {
            let mut one = SpecRunner::new(spec, out);
            one.set_output(write);
            return Self { engine: Engine::One(Box::new(one)) };
        };
        let out = Arc::new(Mutex::new(out));
        let op = ShardedOperator::new(
            threads,
            || operator_for(&spec, TimeMode::EventTime),
            |_| {
                let shard = ShardOut { buf: Vec::new(), shared: out.clone() };
                let mut lines = JsonLines::new(&spec, shard);
                lines.set_enabled(write);
                lines
            },
        );
        let split = Split {
            reader: SpecRunner::counting(spec),
            op,
            out,
            out_of_orderness,
            max_ts: i64::MIN,
            stopped: false,
            prepared: 0,
        };
        Self { engine: Engine::Split(Box::new(split)) }
    }

    /// Reads one input line ([`SpecRunner::push_line`]).
    ///
    /// # Errors
    ///
    /// As [`SpecRunner::push_line`], except that a skip strategy's error
    /// in a shard comes from [`finish`](Self::finish).
    pub fn push_line(
        &mut self,
        line_no: u64,
        line: &str,
    ) -> Result<(), RunError> {
        match &mut self.engine {
            Engine::One(r) => r.push_line(line_no, line),
            Engine::Split(s) => match s.reader.read_line(line_no, line) {
                None => Ok(()),
                Some(p) => s.push(p),
            },
        }
    }

    /// Reads line `range` of `block` ([`SpecRunner::push_line_in`]).
    ///
    /// # Errors
    ///
    /// As [`push_line`](Self::push_line).
    ///
    /// # Panics
    ///
    /// If `range` is not a range of `block` at char boundaries.
    pub fn push_line_in(
        &mut self,
        line_no: u64,
        block: &Arc<str>,
        range: Range<usize>,
    ) -> Result<(), RunError> {
        match &mut self.engine {
            Engine::One(r) => r.push_line_in(line_no, block, range),
            Engine::Split(s) => {
                match s.reader.read_line_in(line_no, block, range) {
                    None => Ok(()),
                    Some(p) => s.push(p),
                }
            }
        }
    }

    /// Runs an event read with [`SpecRunner::prepare`] (by any runner of
    /// the same spec).
    ///
    /// # Errors
    ///
    /// As [`push_line`](Self::push_line).
    pub fn push_prepared(&mut self, p: Prepared) -> Result<(), RunError> {
        match &mut self.engine {
            Engine::One(r) => r.push_prepared(p),
            Engine::Split(s) => {
                s.prepared += 1;
                s.push(Ok(p))
            }
        }
    }

    /// Ends the input ([`SpecRunner::finish`]): every shard finishes (and
    /// releases held matches with `flush_held`), its last lines are
    /// written, and the counts of all shards are added up (the peak of
    /// live partial matches is the sum of the shards' peaks).
    ///
    /// # Errors
    ///
    /// [`RunError::Skip`] from a shard, or [`RunError::Io`].
    pub fn finish(self, flush_held: bool) -> Result<(Summary, W), RunError> {
        match self.engine {
            Engine::One(r) => (*r).finish(flush_held),
            Engine::Split(s) => (*s).finish(flush_held),
        }
    }
}

impl<W: Write + Send + 'static> Split<W> {
    fn push(
        &mut self,
        prepared: Result<Prepared, EventError>,
    ) -> Result<(), RunError> {
        let p = prepared.map_err(RunError::Event)?;
        // Prepared in event time: `prepare` refused lines without a time.
        let (Some(ts), false) = (p.timestamp(), self.stopped) else {
            return Ok(());
        };
        self.max_ts = self.max_ts.max(ts);
        let watermark = watermark_after(self.max_ts, self.out_of_orderness);
        let (key, event) = p.into_parts();
        self.stopped =
            self.op.push_and_advance(key, event, ts, watermark).is_err();
        Ok(())
    }

    fn finish(self, flush_held: bool) -> Result<(Summary, W), RunError> {
        let read = self.reader.summary();
        let shards = self.op.finish().map_err(|e| RunError::Skip(e.error))?;
        let mut counters = Counters::default();
        // The reader knows the patterns' names; it ran nothing, and the
        // shards' counts are added up from zero.
        let mut patterns = read.patterns;
        for p in &mut patterns {
            p.counters = PatternCounters::default();
        }
        let mut error = None;
        for mut shard in shards {
            let (op, lines) = (&mut shard.operator, &mut shard.handler);
            if flush_held {
                op.flush_held(lines)?;
            }
            // Every line is whole now: hand the rest over.
            let flushed = lines.out.flush();
            error = error.or(lines.error.take()).or(flushed.err());
            counters = counters.added(&op.counters());
            for (summary, id) in patterns.iter_mut().zip(op.pattern_ids()) {
                let c = op.pattern_counters(id).unwrap_or_default();
                summary.counters = summary.counters.added(&c);
            }
        }
        if let Some(e) = error {
            return Err(RunError::Io(e));
        }
        // The shards' handlers are gone, so this is the last reference.
        let mut out = Arc::try_unwrap(self.out)
            .map_err(|_| {
                RunError::Io(io::Error::other("output still shared"))
            })?
            .into_inner()
            .map_err(|_| RunError::Io(io::Error::other("output poisoned")))?;
        out.flush().map_err(RunError::Io)?;
        let summary = Summary {
            lines: read.lines + self.prepared,
            invalid: read.invalid,
            counters,
            patterns,
        };
        Ok((summary, out))
    }
}

/// A shard's output: lines gather in its own buffer, and whole lines go
/// to the shared output in blocks, so lines of different shards never
/// mix within a line.
struct ShardOut<W> {
    buf: Vec<u8>,
    shared: Arc<Mutex<W>>,
}

impl<W: Write> ShardOut<W> {
    /// Writes the buffer's whole lines (up to its last newline).
    fn hand_over(&mut self) -> io::Result<()> {
        let Some(end) = self.buf.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        let mut out = self
            .shared
            .lock()
            .map_err(|_| io::Error::other("output poisoned"))?;
        out.write_all(&self.buf[..=end])?;
        drop(out);
        self.buf.drain(..=end);
        Ok(())
    }
}

impl<W: Write> Write for ShardOut<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= HAND_OVER_AT {
            self.hand_over()?;
        }
        Ok(data.len())
    }

    /// Hands over every whole line (the caller flushes when no line is
    /// half written).
    fn flush(&mut self) -> io::Result<()> {
        self.hand_over()
    }
}
