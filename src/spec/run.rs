//! Runs a spec over JSON Lines: the engine behind `cepflow run`.

use std::hash::BuildHasher;
use std::io::{self, Write};
use std::ops::Range;
use std::sync::Arc;

use hashbrown::{DefaultHashBuilder, HashMap, HashSet};

use super::error::EventError;
use super::event::{EventParser, JsonEvent, KeyRef};
use super::load::CompiledSpec;
use crate::nfa::{Match, SkipError};
use crate::runtime::{
    Counters, Handler, KeyedOperator, PatternCounters, PatternId,
    PatternOptions, TimeMode,
};

/// What a run counted, for the summary on standard error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines read (empty lines not counted).
    pub lines: u64,
    /// Lines refused (not a JSON object, no key or time field).
    pub invalid: u64,
    /// The operator's counters at the end.
    pub counters: Counters,
    /// Each pattern's counters, in the spec's order.
    pub patterns: Vec<PatternSummary>,
}

/// One pattern's part of a [`Summary`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PatternSummary {
    /// The pattern's name in the spec.
    pub name: String,
    /// What it emitted, and its partial matches alive.
    pub counters: PatternCounters,
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

/// A partition key: the canonical JSON text of the key field's value
/// (serde_json's `Value::to_string`), with its hash.
///
/// The operator hashes the key of every event it releases; the hash is
/// computed once, when the line is read, so that lookup hashes one word
/// instead of the text. It is seeded at random per runner (by [`Keys`]),
/// as the operator's own hasher is, so keys from the input cannot be
/// chosen to collide.
#[derive(Clone, Debug)]
pub(super) struct Key {
    hash: u64,
    text: KeyText,
}

/// A key's text. Short keys are kept inline (no allocation per event,
/// and comparing them reads no other memory); longer ones share one
/// allocation per key (an `Arc`, so that keys can go to other threads).
#[derive(Clone, Debug)]
enum KeyText {
    Inline { len: u8, bytes: [u8; INLINE_KEY] },
    Shared(Arc<[u8]>),
}

/// The longest key kept inline (the text is then 24 bytes).
const INLINE_KEY: usize = 22;

impl Key {
    /// The key for `text`, hashed by `hasher` (every key of one runner
    /// must use the same one).
    fn new(text: &[u8], hasher: &DefaultHashBuilder) -> Key {
        let text = match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE_KEY => {
                let mut bytes = [0; INLINE_KEY];
                bytes[..text.len()].copy_from_slice(text);
                KeyText::Inline { len, bytes }
            }
            _ => KeyText::Shared(text.into()),
        };
        Key { hash: hasher.hash_one(text.as_bytes()), text }
    }

    #[inline]
    fn as_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }
}

impl KeyText {
    #[inline]
    fn as_bytes(&self) -> &[u8] {
        match self {
            KeyText::Inline { len, bytes } => &bytes[..usize::from(*len)],
            KeyText::Shared(text) => text,
        }
    }
}

// A key is its text: equal texts have equal hashes (one hasher per
// runner), so the hash alone can stand for the text when hashing.
impl std::hash::Hash for Key {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

// A text has one form (inline exactly when short, the unused inline
// bytes zero), so equal keys have the same form, and the inline form
// compares as fixed-size data. Different hashes settle most unequal
// pairs at once.
impl PartialEq for Key {
    #[inline]
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash
            && match (&self.text, &other.text) {
                (
                    KeyText::Inline { len, bytes },
                    KeyText::Inline { len: len2, bytes: bytes2 },
                ) => len == len2 && bytes == bytes2,
                (KeyText::Shared(a), KeyText::Shared(b)) => a == b,
                _ => false,
            }
    }
}

impl Eq for Key {}

/// Writes the contract's output lines.
pub(super) struct JsonLines<W> {
    pub(super) out: W,
    /// The patterns' names, as JSON strings.
    names: Vec<String>,
    pub(super) error: Option<io::Error>,
    /// Off for `cepflow bench`: results are only counted.
    enabled: bool,
}

impl<W> JsonLines<W> {
    /// Lines for `spec`'s patterns, written to `out`.
    pub(super) fn new(spec: &CompiledSpec, out: W) -> Self {
        let names =
            spec.patterns.iter().map(|p| json_string(&p.name)).collect();
        JsonLines { out, names, error: None, enabled: true }
    }

    /// Off: results are only counted.
    pub(super) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }
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

/// Writes `s` as a JSON string (as serde_json does).
fn write_json_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.write_all(b"\"")?;
        out.write_all(s.as_bytes())?;
        return out.write_all(b"\"");
    }
    serde_json::to_writer(&mut *out, s).map_err(io::Error::other)
}

fn json_string(s: &str) -> String {
    let mut out = Vec::new();
    // OK because writing to a vector does not fail.
    let _ = write_json_string(&mut out, s);
    String::from_utf8(out).unwrap_or_default()
}

impl<W: Write> Handler<JsonEvent, Key> for JsonLines<W> {
    fn on_match(
        &mut self,
        pattern: PatternId,
        key: &Key,
        m: &Match<'_, JsonEvent>,
        _timestamp: i64,
    ) {
        if !self.enabled {
            return;
        }
        let r = (|| {
            self.out.write_all(b"{\"kind\":\"match\",\"pattern\":")?;
            self.out.write_all(self.names[pattern.index()].as_bytes())?;
            self.out.write_all(b",\"key\":")?;
            self.out.write_all(key.as_bytes())?;
            self.out.write_all(b",")?;
            self.write_events(m)
        })();
        self.record(r);
    }

    fn on_timeout(
        &mut self,
        pattern: PatternId,
        key: &Key,
        m: &Match<'_, JsonEvent>,
        timestamp: i64,
    ) {
        if !self.enabled {
            return;
        }
        let r = (|| {
            self.out.write_all(b"{\"kind\":\"timeout\",\"pattern\":")?;
            self.out.write_all(self.names[pattern.index()].as_bytes())?;
            self.out.write_all(b",\"key\":")?;
            self.out.write_all(key.as_bytes())?;
            write!(self.out, ",\"timestamp\":{timestamp},")?;
            self.write_events(m)
        })();
        self.record(r);
    }

    fn on_late(&mut self, _key: &Key, event: JsonEvent, _timestamp: i64) {
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

/// Keys seen, for those whose text as written is not their canonical
/// text (floats, escapes, objects, ...) or that are long: the canonical
/// text is computed once per spelling, and long keys share one
/// allocation. Short canonical keys (`"u00042"`, `17`, `null`) need
/// neither: they are copied inline.
struct Keys {
    /// Key text as written -> key.
    written: HashMap<Box<[u8]>, Key>,
    /// Keys by canonical text (`1.0` and `1.00` are one key).
    canonical: HashSet<Key>,
    /// When `written` holds this many spellings, the tables are
    /// cleared (keys the operator no longer holds would otherwise pile
    /// up); the operator compares keys by content, so a key seen again
    /// afterwards is still the same partition.
    limit: usize,
    /// The smallest limit.
    min_limit: usize,
    /// The key of a non-keyed stream.
    null: Key,
    /// Hashes every key (seeded at random; kept when the tables are
    /// cleared, so a key's hash never changes).
    hasher: DefaultHashBuilder,
}

const MIN_KEYS_LIMIT: usize = 1 << 16;

impl Keys {
    fn new() -> Self {
        let hasher = DefaultHashBuilder::default();
        Keys {
            written: HashMap::new(),
            canonical: HashSet::new(),
            limit: MIN_KEYS_LIMIT,
            min_limit: MIN_KEYS_LIMIT,
            null: Key::new(b"null", &hasher),
            hasher,
        }
    }

    /// The key for `k`; `live` is how many keys the operator holds (read
    /// only when the tables are full).
    #[inline]
    fn get(&mut self, k: KeyRef<'_>, live: impl FnOnce() -> usize) -> Key {
        let text = match k {
            KeyRef::Canonical(text) if text.len() <= INLINE_KEY => {
                return Key::new(text.as_bytes(), &self.hasher);
            }
            KeyRef::Canonical(text) | KeyRef::Written(text) => {
                if let Some(key) = self.written.get(text.as_bytes()) {
                    return key.clone();
                }
                text
            }
            KeyRef::Value(v) => return self.canonical(v.to_string()),
        };
        self.new_spelling(text, live)
    }

    #[cold]
    #[inline(never)]
    fn new_spelling(
        &mut self,
        text: &str,
        live: impl FnOnce() -> usize,
    ) -> Key {
        if self.written.len() >= self.limit {
            self.written.clear();
            self.canonical.clear();
            self.limit = self.min_limit.max(live().saturating_mul(2));
        }
        // The scanner checked the text.
        let canonical = serde_json::from_str::<serde_json::Value>(text)
            .map_or_else(|_| text.to_owned(), |v| v.to_string());
        let key = self.canonical(canonical);
        self.written.insert(text.as_bytes().into(), key.clone());
        key
    }

    fn canonical(&mut self, text: String) -> Key {
        let key = Key::new(text.as_bytes(), &self.hasher);
        if let Some(known) = self.canonical.get(&key) {
            return known.clone();
        }
        self.canonical.insert(key.clone());
        key
    }
}

/// An input line parsed, with its key and timestamp.
#[derive(Debug)]
pub struct Prepared {
    key: Key,
    event: JsonEvent,
    timestamp: Option<i64>,
}

impl Prepared {
    /// The event's time (`None` in processing time).
    pub(super) fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// The key and the event.
    pub(super) fn into_parts(self) -> (Key, JsonEvent) {
        (self.key, self.event)
    }
}

/// Runs a compiled spec over events pushed one line at a time, writing
/// the contract's output lines to `out`.
pub struct SpecRunner<W: Write> {
    spec: CompiledSpec,
    parser: EventParser,
    keys: Keys,
    op: KeyedOperator<JsonEvent, Key>,
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
        r.set_output(false);
        r
    }
}

fn wall_clock_ms() -> i64 {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl<W: Write> SpecRunner<W> {
    /// A runner for `spec` writing to `out`. Without a `time` section the
    /// wall clock stamps events (processing time).
    pub fn new(spec: CompiledSpec, out: W) -> Self {
        let mode = if spec.time.is_some() {
            TimeMode::EventTime
        } else {
            TimeMode::ProcessingTime
        };
        let op = operator_for(&spec, mode);
        let parser = EventParser::new(spec.layout.clone());
        Self {
            out: JsonLines::new(&spec, out),
            spec,
            parser,
            keys: Keys::new(),
            op,
            max_ts: i64::MIN,
            summary: Summary::default(),
            clock: Box::new(wall_clock_ms),
        }
    }

    /// Whether results are written (off: only counted).
    pub(super) fn set_output(&mut self, write: bool) {
        self.out.set_enabled(write);
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
    pub fn push_line(
        &mut self,
        line_no: u64,
        line: &str,
    ) -> Result<(), RunError> {
        match self.read_line(line_no, line) {
            None => Ok(()),
            Some(p) => self.push_prepared(p.map_err(RunError::Event)?),
        }
    }

    /// [`prepare`](Self::prepare)s a line unless it is empty (`None`: an
    /// empty line is skipped, not counted).
    pub(super) fn read_line(
        &mut self,
        line_no: u64,
        line: &str,
    ) -> Option<Result<Prepared, EventError>> {
        (!line.trim().is_empty()).then(|| self.prepare(line_no, line))
    }

    /// [`read_line`](Self::read_line) for line `range` of `block`.
    pub(super) fn read_line_in(
        &mut self,
        line_no: u64,
        block: &Arc<str>,
        range: Range<usize>,
    ) -> Option<Result<Prepared, EventError>> {
        let empty = block[range.clone()].trim().is_empty();
        (!empty).then(|| self.prepare_in(line_no, block, range))
    }

    /// Reads line `range` of `block` as [`push_line`](Self::push_line)
    /// reads a line, the event sharing `block` as its text: lines read a
    /// block at a time then cost one allocation per block rather than
    /// one per event, and an event that starts nothing is dropped without
    /// freeing memory. An event a partial match holds keeps its whole
    /// block alive, so blocks should be small (a few KiB).
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
        match self.read_line_in(line_no, block, range) {
            None => Ok(()),
            Some(p) => self.push_prepared(p.map_err(RunError::Event)?),
        }
    }

    /// Parses a line and finds its key and timestamp, without running it
    /// (so `cepflow bench` can time the engine alone).
    ///
    /// # Errors
    ///
    /// The line's [`EventError`]; it is counted as invalid.
    pub fn prepare(
        &mut self,
        line_no: u64,
        line: &str,
    ) -> Result<Prepared, EventError> {
        self.counted_prepare(line_no, line, None)
    }

    /// [`prepare`](Self::prepare) for line `range` of `block`, the event
    /// sharing `block` as its text (see
    /// [`push_line_in`](Self::push_line_in)).
    ///
    /// # Errors
    ///
    /// The line's [`EventError`]; it is counted as invalid.
    ///
    /// # Panics
    ///
    /// If `range` is not a range of `block` at char boundaries.
    pub fn prepare_in(
        &mut self,
        line_no: u64,
        block: &Arc<str>,
        range: Range<usize>,
    ) -> Result<Prepared, EventError> {
        let at = range.start;
        self.counted_prepare(line_no, &block[range], Some((block, at)))
    }

    /// `spec_prepare`, counting the line and, if it fails, the invalid
    /// line.
    fn counted_prepare(
        &mut self,
        line_no: u64,
        line: &str,
        shared: Option<(&Arc<str>, usize)>,
    ) -> Result<Prepared, EventError> {
        self.summary.lines += 1;
        let result = self.spec_prepare(line_no, line, shared);
        if result.is_err() {
            self.summary.invalid += 1;
        }
        result
    }

    fn spec_prepare(
        &mut self,
        line_no: u64,
        line: &str,
        shared: Option<(&Arc<str>, usize)>,
    ) -> Result<Prepared, EventError> {
        let bad = |reason: String| EventError { line: line_no, reason };
        let parsed = self.parser.parse(line).map_err(bad)?;
        let key = match &self.spec.key {
            None => self.keys.null.clone(),
            Some(path) => match parsed.key() {
                Some(k) => {
                    let op = &self.op;
                    self.keys.get(k, || op.counters().keys as usize)
                }
                None => return Err(bad(format!("no key field \"{path}\""))),
            },
        };
        let timestamp = match &self.spec.time {
            None => None,
            Some((path, _)) => match parsed.timestamp() {
                Some(ts) => Some(ts.map_err(bad)?),
                None => return Err(bad(format!("no time field \"{path}\""))),
            },
        };
        let event = parsed.event_in(shared).map_err(bad)?;
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
                // The event goes in against the watermark before it; then
                // the watermark moves on.
                self.max_ts = self.max_ts.max(ts);
                let watermark = watermark_after(self.max_ts, *ooo);
                self.op.push_and_advance(
                    p.key,
                    p.event,
                    ts,
                    watermark,
                    &mut self.out,
                )?;
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
    pub fn finish(
        mut self,
        flush_held: bool,
    ) -> Result<(Summary, W), RunError> {
        self.op.finish(&mut self.out)?;
        if flush_held {
            self.op.flush_held(&mut self.out)?;
        }
        self.take_io_error()?;
        self.out.out.flush().map_err(RunError::Io)?;
        let summary = self.summary();
        Ok((summary, self.out.out))
    }

    /// The counts so far (each pattern's live partial matches counted
    /// over the keys, so this walks them).
    pub fn summary(&self) -> Summary {
        let patterns = self
            .spec
            .patterns
            .iter()
            .zip(self.op.pattern_ids())
            .map(|(p, id)| PatternSummary {
                name: p.name.clone(),
                counters: self.op.pattern_counters(id).unwrap_or_default(),
            })
            .collect();
        Summary { counters: self.op.counters(), patterns, ..self.summary }
    }
}

/// A keyed operator in `mode` with `spec`'s patterns.
pub(super) fn operator_for(
    spec: &CompiledSpec,
    mode: TimeMode,
) -> KeyedOperator<JsonEvent, Key> {
    let mut op = KeyedOperator::new(mode);
    for p in &spec.patterns {
        op.add_pattern(&p.pattern, PatternOptions { timeouts: p.timeouts });
    }
    op
}

/// The watermark once the largest timestamp seen is `max_ts`: Flink's
/// bounded out-of-orderness, `max_ts - out_of_orderness - 1`.
pub(super) fn watermark_after(max_ts: i64, out_of_orderness: i64) -> i64 {
    max_ts.saturating_sub(out_of_orderness).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(keys: &mut Keys, line: &str) -> Key {
        let mut p = crate::spec::event::tests::parser(&[], Some("k"), None);
        let parsed = p.parse(line).unwrap();
        keys.get(parsed.key().unwrap(), || 0)
    }

    fn text(k: &Key) -> &str {
        std::str::from_utf8(k.as_bytes()).unwrap()
    }

    #[test]
    fn keys_are_canonical_json() {
        let mut keys = Keys::new();
        let long = "x".repeat(40);
        for (line, want) in [
            (r#"{"k":"a"}"#, r#""a""#),
            (r#"{"k":"\u0061"}"#, r#""a""#),
            (r#"{"k":1}"#, "1"),
            (r#"{"k":1.0}"#, "1.0"),
            (r#"{"k":1.00}"#, "1.0"),
            (r#"{"k":1e0}"#, "1.0"),
            (r#"{"k":-0}"#, "-0.0"),
            (r#"{"k":null}"#, "null"),
            (r#"{"k":{"b":1, "a":[2, 3]}}"#, r#"{"a":[2,3],"b":1}"#),
            (r#"{"k":"a\/b"}"#, r#""a/b""#),
            (&format!(r#"{{"k":"{long}"}}"#), &format!("\"{long}\"")),
            (&format!(r#"{{"k":"{long}\u0078"}}"#), &format!("\"{long}x\"")),
        ] {
            assert_eq!(text(&key(&mut keys, line)), want, "{line}");
            // Again, now from the tables.
            assert_eq!(text(&key(&mut keys, line)), want, "{line}");
        }
        assert_ne!(
            key(&mut keys, r#"{"k":1}"#),
            key(&mut keys, r#"{"k":1.0}"#)
        );
        assert_eq!(
            key(&mut keys, r#"{"k":"ab"}"#),
            key(&mut keys, r#"{"k":"\u0061b"}"#)
        );
        // One form per text: inline exactly up to INLINE_KEY bytes.
        let hasher = DefaultHashBuilder::default();
        let new = |text: &[u8]| Key::new(text, &hasher);
        for n in [0, 1, INLINE_KEY - 1, INLINE_KEY, INLINE_KEY + 1, 40] {
            let text = vec![b'x'; n];
            let (a, b) = (new(&text), new(&text.clone()));
            assert_eq!(
                matches!(a.text, KeyText::Inline { .. }),
                n <= INLINE_KEY
            );
            assert_eq!(a, b);
            assert_eq!(hasher.hash_one(&a), hasher.hash_one(&b));
            assert_eq!(a.as_bytes(), &text[..]);
            assert_ne!(a, new(&vec![b'x'; n + 1]));
        }
        assert_ne!(new(b"ab"), new(b"ab\0"));
    }

    #[test]
    fn key_tables_are_cleared_when_full() {
        let mut keys = Keys::new();
        (keys.limit, keys.min_limit) = (4, 4);
        let mut seen = Vec::new();
        for i in 0..20 {
            let line = format!(r#"{{"k":{i}.0}}"#);
            seen.push(key(&mut keys, &line));
            assert!(keys.written.len() <= 4);
        }
        for (i, k) in seen.iter().enumerate() {
            let line = format!(r#"{{"k":{i}.00}}"#);
            assert_eq!(*k, key(&mut keys, &line));
            assert_eq!(text(k), format!("{i}.0"));
        }
    }
}
