//! Runs a spec over JSON Lines: the engine behind `cepflow run`.

use std::io::{self, Write};

use super::error::EventError;
use super::event::{parse_timestamp, JsonEvent};
use super::load::CompiledSpec;
use crate::nfa::{Match, SkipError};
use crate::runtime::{Counters, Handler, KeyedOperator, PatternId, PatternOptions, TimeMode};

/// What a run counted, for the summary on standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines read (empty lines not counted).
    pub lines: u64,
    /// Lines refused (not a JSON object, no key or time field).
    pub invalid: u64,
    /// The operator's counters at the end.
    pub counters: Counters,
}

/// Why a run stopped.
#[derive(Debug)]
pub enum RunError {
    /// A bad line under `--strict`.
    Event(EventError),
    /// A skip strategy with throw-on-miss could not skip.
    Skip(SkipError),
    /// Writing the output failed.
    Io(io::Error),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Event(e) => e.fmt(f),
            RunError::Skip(e) => e.fmt(f),
            RunError::Io(e) => write!(f, "output: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

impl From<SkipError> for RunError {
    fn from(e: SkipError) -> Self {
        RunError::Skip(e)
    }
}

/// Writes the contract's output lines.
struct JsonLines<W> {
    out: W,
    names: Vec<String>,
    error: Option<io::Error>,
    /// Off for `cepflow bench`: results are only counted.
    enabled: bool,
}

impl<W: Write> JsonLines<W> {
    fn write_events(&mut self, m: &Match<'_, JsonEvent>) -> io::Result<()> {
        self.out.write_all(b"\"events\":{")?;
        for (i, stage) in m.stages().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            write_json_string(&mut self.out, stage)?;
            self.out.write_all(b":[")?;
            for (j, e) in m.events(stage).enumerate() {
                if j > 0 {
                    self.out.write_all(b",")?;
                }
                self.out.write_all(e.raw().as_bytes())?;
            }
            self.out.write_all(b"]")?;
        }
        self.out.write_all(b"}}\n")
    }

    fn record(&mut self, r: io::Result<()>) {
        if let Err(e) = r {
            self.error.get_or_insert(e);
        }
    }
}

fn write_json_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(io::Error::other)
}

impl<W: Write> Handler<JsonEvent, Box<str>> for JsonLines<W> {
    fn on_match(
        &mut self,
        pattern: PatternId,
        key: &Box<str>,
        m: &Match<'_, JsonEvent>,
        _timestamp: i64,
    ) {
        if !self.enabled {
            return;
        }
        let r = (|| {
            self.out.write_all(b"{\"kind\":\"match\",\"pattern\":")?;
            write_json_string(&mut self.out, &self.names[pattern.index()])?;
            write!(self.out, ",\"key\":{key},")?;
            self.write_events(m)
        })();
        self.record(r);
    }

    fn on_timeout(
        &mut self,
        pattern: PatternId,
        key: &Box<str>,
        m: &Match<'_, JsonEvent>,
        timestamp: i64,
    ) {
        if !self.enabled {
            return;
        }
        let r = (|| {
            self.out.write_all(b"{\"kind\":\"timeout\",\"pattern\":")?;
            write_json_string(&mut self.out, &self.names[pattern.index()])?;
            write!(self.out, ",\"key\":{key},\"timestamp\":{timestamp},")?;
            self.write_events(m)
        })();
        self.record(r);
    }

    fn on_late(&mut self, _key: &Box<str>, event: JsonEvent, _timestamp: i64) {
        if !self.enabled {
            return;
        }
        let r = (|| {
            self.out.write_all(b"{\"kind\":\"late\",\"event\":")?;
            self.out.write_all(event.raw().as_bytes())?;
            self.out.write_all(b"}\n")
        })();
        self.record(r);
    }
}

/// An input line parsed, with its key text and timestamp.
#[derive(Debug)]
pub struct Prepared {
    key: Box<str>,
    event: JsonEvent,
    timestamp: Option<i64>,
}

/// Runs a compiled spec over events pushed one line at a time, writing
/// the contract's output lines to `out`.
pub struct SpecRunner<W: Write> {
    spec: CompiledSpec,
    op: KeyedOperator<JsonEvent, Box<str>>,
    out: JsonLines<W>,
    max_ts: i64,
    summary: Summary,
    clock: Box<dyn FnMut() -> i64>,
}

impl<W: Write> std::fmt::Debug for SpecRunner<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpecRunner").field("summary", &self.summary).finish()
    }
}

impl SpecRunner<io::Sink> {
    /// A runner that only counts results (for benchmarks).
    pub fn counting(spec: CompiledSpec) -> Self {
        let mut r = SpecRunner::new(spec, io::sink());
        r.out.enabled = false;
        r
    }
}

fn wall_clock_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl<W: Write> SpecRunner<W> {
    /// A runner for `spec` writing to `out`. Without a `time` section the
    /// wall clock stamps events (processing time).
    pub fn new(spec: CompiledSpec, out: W) -> Self {
        let mode =
            if spec.time.is_some() { TimeMode::EventTime } else { TimeMode::ProcessingTime };
        let mut op = KeyedOperator::new(mode);
        for p in &spec.patterns {
            op.add_pattern(&p.pattern, PatternOptions { timeouts: p.timeouts });
        }
        let names = spec.patterns.iter().map(|p| p.name.clone()).collect();
        Self {
            spec,
            op,
            out: JsonLines { out, names, error: None, enabled: true },
            max_ts: i64::MIN,
            summary: Summary::default(),
            clock: Box::new(wall_clock_ms),
        }
    }

    /// Replaces the processing-time clock (for tests).
    pub fn with_clock(mut self, clock: impl FnMut() -> i64 + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// Reads one input line. Empty lines are skipped.
    ///
    /// # Errors
    ///
    /// [`RunError::Event`] for a line that is not a JSON object or lacks
    /// the key or time field (the caller reports it and goes on, or stops
    /// under `--strict`); [`RunError::Skip`] and [`RunError::Io`] are
    /// fatal.
    pub fn push_line(&mut self, line_no: u64, line: &str) -> Result<(), RunError> {
        if line.trim().is_empty() {
            return Ok(());
        }
        let prepared = self.prepare(line_no, line).map_err(RunError::Event)?;
        self.push_prepared(prepared)
    }

    /// Parses a line and finds its key and timestamp, without running it
    /// (so `cepflow bench` can time the engine alone).
    ///
    /// # Errors
    ///
    /// The line's [`EventError`]; it is counted as invalid.
    pub fn prepare(&mut self, line_no: u64, line: &str) -> Result<Prepared, EventError> {
        self.summary.lines += 1;
        let result = self.spec_prepare(line_no, line);
        if result.is_err() {
            self.summary.invalid += 1;
        }
        result
    }

    fn spec_prepare(&self, line_no: u64, line: &str) -> Result<Prepared, EventError> {
        let bad = |reason: String| EventError { line: line_no, reason };
        let event = JsonEvent::parse(line).map_err(bad)?;
        let key: Box<str> = match &self.spec.key {
            None => "null".into(),
            Some(path) => match path.get(event.value()) {
                Some(v) => v.to_string().into(),
                None => return Err(bad(format!("no key field \"{path}\""))),
            },
        };
        let timestamp = match &self.spec.time {
            None => None,
            Some((path, _)) => match path.get(event.value()) {
                Some(v) => Some(parse_timestamp(v).map_err(bad)?),
                None => return Err(bad(format!("no time field \"{path}\""))),
            },
        };
        Ok(Prepared { key, event, timestamp })
    }

    /// Runs a prepared event.
    ///
    /// # Errors
    ///
    /// [`RunError::Skip`] or [`RunError::Io`], both fatal.
    pub fn push_prepared(&mut self, p: Prepared) -> Result<(), RunError> {
        match (p.timestamp, &self.spec.time) {
            (Some(ts), Some((_, ooo))) => {
                let ooo = *ooo;
                self.op.push(p.key, p.event, ts, &mut self.out)?;
                self.max_ts = self.max_ts.max(ts);
                let watermark = self.max_ts.saturating_sub(ooo).saturating_sub(1);
                self.op.advance_to(watermark, &mut self.out)?;
            }
            _ => {
                let now = (self.clock)();
                self.op.advance_to(now.saturating_sub(1), &mut self.out)?;
                self.op.push(p.key, p.event, now, &mut self.out)?;
            }
        }
        self.take_io_error()
    }

    fn take_io_error(&mut self) -> Result<(), RunError> {
        match self.out.error.take() {
            Some(e) => Err(RunError::Io(e)),
            None => Ok(()),
        }
    }

    /// Ends the input: the watermark goes to +infinity.
    ///
    /// # Errors
    ///
    /// [`RunError::Skip`] or [`RunError::Io`].
    pub fn finish(mut self, flush_held: bool) -> Result<(Summary, W), RunError> {
        self.op.finish(&mut self.out)?;
        if flush_held {
            self.op.flush_held(&mut self.out)?;
        }
        self.take_io_error()?;
        self.out.out.flush().map_err(RunError::Io)?;
        self.summary.counters = self.op.counters();
        Ok((self.summary, self.out.out))
    }

    /// The counts so far.
    pub fn summary(&self) -> Summary {
        Summary { counters: self.op.counters(), ..self.summary }
    }
}
