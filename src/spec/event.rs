//! JSON events: one object per line, kept verbatim for the output.
//!
//! A spec reads only a few fields of each event: those its expressions
//! name, the key and the time. At load time each of these field paths gets
//! a slot ([`FieldTable`], [`Layout`]); a line is then read once by a small
//! scanner that accepts exactly the lines `serde_json::from_str::<Value>`
//! accepts and extracts only those slots: numbers as `f64`, strings as a
//! range of the line (or decoded once when they hold escapes), arrays and
//! objects as a parsed tree (rare: only when an expression reads one). No
//! `serde_json::Value` is built for the event itself, and expressions read
//! fields by slot index rather than by name.
//!
//! Anything the scanner does not take on (a line that is not valid JSON,
//! nesting deeper than the scanner goes) is handed to `serde_json`, so
//! error messages and the accepted set stay serde_json's.

use std::fmt;
use std::sync::Arc;

use hashbrown::HashMap;
use serde_json::Value;
use smallvec::SmallVec;

/// A JSON event: the line as read and the fields the spec reads.
///
/// Cheap to clone and to drop: the text is shared. Lines read a block at
/// a time share the block's text (one allocation per block, and dropping
/// an event decrements a counter instead of freeing memory); a line with
/// escaped strings the spec reads has its own text, holding the line
/// followed by the decoded strings.
#[derive(Clone, Debug)]
pub struct JsonEvent {
    /// The text the line is in.
    text: Arc<str>,
    /// Where the line (trimmed) is in `text`.
    start: u32,
    raw_len: u32,
    /// The fields the spec's expressions read, by slot.
    slots: SmallVec<[Slot; 2]>,
}

/// Events are equal when their lines and fields are, wherever their
/// texts are kept.
impl PartialEq for JsonEvent {
    fn eq(&self, other: &Self) -> bool {
        self.raw() == other.raw()
            && self.slots.len() == other.slots.len()
            && self.slots.iter().zip(&other.slots).all(|(a, b)| {
                match (self.str_bytes(a), other.str_bytes(b)) {
                    (Some(x), Some(y)) => x == y,
                    (None, None) => a == b,
                    _ => false,
                }
            })
    }
}

/// A field of an event, as expressions see it. A missing field is
/// [`Slot::Null`]: the expression language does not tell them apart.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Slot {
    Null,
    Bool(bool),
    Num(f64),
    /// A short string, inline (comparing it reads no other memory).
    Short {
        len: u8,
        bytes: [u8; SHORT],
    },
    /// A string: a range of the event's text (not only of its line).
    Str {
        start: u32,
        len: u32,
    },
    /// An array or an object.
    Json(Box<Value>),
}

/// The longest string kept in a [`Slot::Short`] (the slot stays 16
/// bytes).
const SHORT: usize = 14;

impl Slot {
    /// `s` inline, if it is short enough. Every string of a slot that is
    /// this short is stored so (zero-padded), so two short strings are
    /// equal exactly when their slots are.
    pub(crate) fn short(s: &str) -> Option<Slot> {
        let len =
            u8::try_from(s.len()).ok().filter(|n| usize::from(*n) <= SHORT)?;
        let mut bytes = [0; SHORT];
        bytes[..s.len()].copy_from_slice(s.as_bytes());
        Some(Slot::Short { len, bytes })
    }
}

impl JsonEvent {
    /// The event exactly as it was read.
    pub fn raw(&self) -> &str {
        let start = self.start as usize;
        // OK because the line is a char-boundary range of the text (set
        // at build).
        self.text.get(start..start + self.raw_len as usize).unwrap_or_default()
    }

    /// The field in `slot`; `None` for a slot this event does not have.
    #[inline]
    pub(crate) fn slot(&self, slot: u32) -> Option<&Slot> {
        self.slots.get(slot as usize)
    }

    /// The UTF-8 bytes of a string slot of this event (`None` for other
    /// slots).
    #[inline]
    pub(crate) fn str_bytes<'a>(&'a self, slot: &'a Slot) -> Option<&'a [u8]> {
        match slot {
            Slot::Short { len, bytes } => bytes.get(..usize::from(*len)),
            Slot::Str { start, len } => {
                let (start, len) = (*start as usize, *len as usize);
                self.text.as_bytes().get(start..start + len)
            }
            _ => None,
        }
    }

    /// The text of a string slot of this event (`None` for other slots).
    #[inline]
    pub(crate) fn str<'a>(&'a self, slot: &'a Slot) -> Option<&'a str> {
        match slot {
            // Whole strings cut at char boundaries: always UTF-8.
            Slot::Short { .. } => {
                std::str::from_utf8(self.str_bytes(slot)?).ok()
            }
            Slot::Str { start, len } => {
                let (start, len) = (*start as usize, *len as usize);
                self.text.get(start..start + len)
            }
            _ => None,
        }
    }
}

/// A dotted field path (`a.b.c`), split once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    parts: Vec<String>,
}

impl FieldPath {
    /// Splits a path; `None` when a segment is empty.
    pub fn parse(text: &str) -> Option<Self> {
        let parts: Vec<String> = text.split('.').map(str::to_owned).collect();
        if parts.iter().any(String::is_empty) {
            return None;
        }
        Some(Self { text: text.to_owned(), parts })
    }

    /// Looks the path up in a value.
    pub fn get<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        let mut v = value;
        for p in &self.parts {
            v = v.as_object()?.get(p)?;
        }
        Some(v)
    }

    fn segments(&self) -> Path {
        self.parts.iter().map(|p| Box::from(p.as_str())).collect()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Reads a timestamp: integer milliseconds since the epoch, or an RFC 3339
/// string (fractions below a millisecond truncated).
pub fn parse_timestamp(v: &Value) -> Result<i64, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("time {n} is not an integer number of ms")),
        Value::String(s) => rfc3339(s),
        other => Err(format!("time {other} is neither ms nor RFC 3339")),
    }
}

fn rfc3339(s: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("time {s:?} is not RFC 3339: {e}"))
}

// ------------------------------------------------------------- the layout

/// A field path as segments.
pub(crate) type Path = Box<[Box<str>]>;

/// The fields expressions read, each with its slot (the index in
/// [`FieldTable::paths`]), filled while a spec's expressions compile.
#[derive(Clone, Debug, Default)]
pub(crate) struct FieldTable {
    paths: Vec<Path>,
    index: HashMap<Path, u32>,
}

impl FieldTable {
    /// The slot of `path`, given on first use.
    pub(crate) fn slot(&mut self, path: &[Box<str>]) -> u32 {
        if let Some(&slot) = self.index.get(path) {
            return slot;
        }
        // More than u32::MAX distinct fields cannot come from a spec that
        // fits in memory.
        let slot = u32::try_from(self.paths.len()).unwrap_or(u32::MAX);
        self.paths.push(path.into());
        self.index.insert(path.into(), slot);
        slot
    }
}

/// What the scanner extracts from a line: the expression fields (slots
/// `0..fields`), then the key and the time when they are other paths.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Every path to extract ("targets"); the first `fields` are slots.
    paths: Vec<Path>,
    fields: usize,
    key: Option<usize>,
    time: Option<usize>,
    /// The paths as a tree of object keys.
    root: Box<[TrieNode]>,
}

#[derive(Clone, Debug)]
struct TrieNode {
    name: Box<str>,
    /// `name` and its closing quote as a little-endian word, and the
    /// mask of the bytes they take, when they fit in 8 bytes and the
    /// name needs no escape (then a key is this name exactly when its
    /// raw bytes are these).
    quoted: Option<(u64, u64)>,
    /// The name needs no escape in JSON: a key without escapes may be it.
    plain: bool,
    /// The target this exact path fills.
    target: Option<usize>,
    children: Box<[TrieNode]>,
    /// Every target at or below this node (reset when a duplicate key
    /// replaces the subtree: the last duplicate wins, as in serde_json).
    below: Box<[usize]>,
}

impl Layout {
    /// The layout for a spec's fields, key and time.
    pub(crate) fn new(
        fields: FieldTable,
        key: Option<&FieldPath>,
        time: Option<&FieldPath>,
    ) -> Self {
        let mut paths = fields.paths;
        let n = paths.len();
        let mut target = |p: &FieldPath| {
            let segs = p.segments();
            match paths.iter().position(|q| *q == segs) {
                Some(i) => i,
                None => {
                    paths.push(segs);
                    paths.len() - 1
                }
            }
        };
        let key = key.map(&mut target);
        let time = time.map(&mut target);
        let targets: Vec<(usize, &[Box<str>])> =
            paths.iter().enumerate().map(|(i, p)| (i, &p[..])).collect();
        let root = trie(&targets);
        Layout { paths, fields: n, key, time, root }
    }
}

/// The trie of `targets` (paths are never empty).
fn trie(targets: &[(usize, &[Box<str>])]) -> Box<[TrieNode]> {
    let mut names: Vec<&str> = Vec::new();
    for (_, p) in targets {
        if let Some(first) = p.first() {
            if !names.contains(&&**first) {
                names.push(first);
            }
        }
    }
    names
        .into_iter()
        .map(|name| {
            let mine: Vec<(usize, &[Box<str>])> = targets
                .iter()
                .filter(|(_, p)| p.first().is_some_and(|f| &**f == name))
                .map(|(t, p)| (*t, &p[1..]))
                .collect();
            let target =
                mine.iter().find(|(_, rest)| rest.is_empty()).map(|(t, _)| *t);
            let deeper: Vec<(usize, &[Box<str>])> = mine
                .iter()
                .filter(|(_, rest)| !rest.is_empty())
                .copied()
                .collect();
            let plain =
                name.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
            let quoted = (plain && name.len() < 8).then(|| {
                let mut word = [0; 8];
                word[..name.len()].copy_from_slice(name.as_bytes());
                word[name.len()] = b'"';
                let mask = u64::MAX >> (8 * (7 - name.len()));
                (u64::from_le_bytes(word), mask)
            });
            TrieNode {
                name: name.into(),
                quoted,
                plain,
                target,
                children: trie(&deeper),
                below: mine.iter().map(|(t, _)| *t).collect(),
            }
        })
        .collect()
}

// ------------------------------------------------------------ the scanner

/// How deep the scanner follows nested arrays and objects; deeper lines
/// go to serde_json (whose own limit is 127).
const MAX_DEPTH: u32 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Missing,
    Null,
    True,
    False,
    Num,
    Str,
    /// A string with escapes.
    EscStr,
    Array,
    Object,
}

/// Where a target's value is in the line (`start..end` is its JSON text).
#[derive(Clone, Copy, Debug)]
struct Found {
    kind: Kind,
    start: usize,
    end: usize,
}

impl Found {
    const MISSING: Found = Found { kind: Kind::Missing, start: 0, end: 0 };
}

struct Scanner<'a, 'f> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    found: &'f mut [Found],
}

/// The scanner's verdict on a line it cannot take: serde_json decides.
struct Bail;

type Scan<T> = Result<T, Bail>;

impl Scanner<'_, '_> {
    #[inline]
    fn peek(&self) -> u8 {
        // NUL is never valid where the scanner peeks.
        self.b.get(self.i).copied().unwrap_or(0)
    }

    #[inline]
    fn ws(&mut self) {
        while matches!(self.peek(), b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }

    /// An object, at its `{`; keys in `nodes` fill their targets.
    fn object(&mut self, nodes: &[TrieNode], depth: u32) -> Scan<()> {
        self.i += 1;
        self.ws();
        if self.peek() == b'}' {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.peek() != b'"' {
                return Err(Bail);
            }
            let node = self.key(nodes)?;
            self.ws();
            if self.peek() != b':' {
                return Err(Bail);
            }
            self.i += 1;
            self.ws();
            match node {
                None => {
                    self.value(depth)?;
                }
                Some(n) => {
                    for &t in &*n.below {
                        self.found[t] = Found::MISSING;
                    }
                    let start = self.i;
                    let kind = if !n.children.is_empty() && self.peek() == b'{'
                    {
                        if depth >= MAX_DEPTH {
                            return Err(Bail);
                        }
                        self.object(&n.children, depth + 1)?;
                        Kind::Object
                    } else {
                        self.value(depth)?
                    };
                    if let Some(t) = n.target {
                        self.found[t] = Found { kind, start, end: self.i };
                    }
                }
            }
            self.ws();
            match self.peek() {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b'}' => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(Bail),
            }
        }
    }

    /// Reads a key (at its opening quote): the node it names, if any.
    #[inline]
    fn key<'n>(
        &mut self,
        nodes: &'n [TrieNode],
    ) -> Scan<Option<&'n TrieNode>> {
        let start = self.i;
        // Most keys a spec reads are short plain names: compare the raw
        // bytes, closing quote included, without scanning the string.
        if let Some(chunk) = self.b.get(start + 1..start + 9) {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            let word = u64::from_le_bytes(word);
            for n in nodes {
                if let Some((quoted, mask)) = n.quoted {
                    if word & mask == quoted {
                        self.i = start + n.name.len() + 2;
                        return Ok(Some(n));
                    }
                }
            }
        }
        let escaped = self.string()?;
        if !escaped {
            // Without escapes the key is its raw bytes, and only a plain
            // name can be them.
            let key = &self.b[start + 1..self.i - 1];
            return Ok(nodes
                .iter()
                .find(|n| n.plain && n.name.as_bytes() == key));
        }
        let key: String =
            serde_json::from_str(&self.s[start..self.i]).map_err(|_| Bail)?;
        Ok(nodes.iter().find(|n| *n.name == *key))
    }

    /// Any value; nested containers deepen `depth`.
    fn value(&mut self, depth: u32) -> Scan<Kind> {
        match self.peek() {
            b'"' => Ok(if self.string()? { Kind::EscStr } else { Kind::Str }),
            b'{' => {
                if depth >= MAX_DEPTH {
                    return Err(Bail);
                }
                self.object(&[], depth + 1)?;
                Ok(Kind::Object)
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(Bail);
                }
                self.array(depth + 1)?;
                Ok(Kind::Array)
            }
            b't' => self.word(b"true", Kind::True),
            b'f' => self.word(b"false", Kind::False),
            b'n' => self.word(b"null", Kind::Null),
            b'-' | b'0'..=b'9' => {
                self.number()?;
                Ok(Kind::Num)
            }
            _ => Err(Bail),
        }
    }

    fn word(&mut self, w: &[u8], kind: Kind) -> Scan<Kind> {
        if self.b.get(self.i..self.i + w.len()) != Some(w) {
            return Err(Bail);
        }
        self.i += w.len();
        Ok(kind)
    }

    fn array(&mut self, depth: u32) -> Scan<()> {
        self.i += 1;
        self.ws();
        if self.peek() == b']' {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            self.ws();
            match self.peek() {
                b',' => {
                    self.i += 1;
                    self.ws();
                }
                b']' => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(Bail),
            }
        }
    }

    /// A string, at its opening quote; whether it has escapes (those are
    /// checked by serde_json itself: a rare, slower path).
    fn string(&mut self) -> Scan<bool> {
        let b = self.b;
        let start = self.i;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time up to the first quote, backslash or
            // control character.
            while let Some(chunk) = b.get(i..i + 8) {
                let mut word = [0; 8];
                word.copy_from_slice(chunk);
                let special = special_bytes(u64::from_le_bytes(word));
                if special != 0 {
                    i += (special.trailing_zeros() / 8) as usize;
                    break;
                }
                i += 8;
            }
            let Some(&c) = b.get(i) else { return Err(Bail) };
            match c {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    i += 2;
                }
                0..=0x1f => return Err(Bail),
                _ => i += 1,
            }
        }
        self.i = i + 1;
        if escaped {
            // A quote is never inside a multi-byte character, so both
            // ends are char boundaries.
            serde_json::from_str::<String>(&self.s[start..self.i])
                .map_err(|_| Bail)?;
        }
        Ok(escaped)
    }

    /// A number: JSON's grammar, and serde_json's range (only a long
    /// exponent or a very long number can leave the range of an f64).
    fn number(&mut self) -> Scan<()> {
        let start = self.i;
        if self.peek() == b'-' {
            self.i += 1;
        }
        match self.peek() {
            b'0' => self.i += 1,
            b'1'..=b'9' => self.digits(),
            _ => return Err(Bail),
        }
        if self.peek() == b'.' {
            self.i += 1;
            if !self.peek().is_ascii_digit() {
                return Err(Bail);
            }
            self.digits();
        }
        let mut long_exponent = false;
        if matches!(self.peek(), b'e' | b'E') {
            self.i += 1;
            if matches!(self.peek(), b'+' | b'-') {
                self.i += 1;
            }
            if !self.peek().is_ascii_digit() {
                return Err(Bail);
            }
            let exp_start = self.i;
            self.digits();
            long_exponent = self.i - exp_start > 2;
        }
        if long_exponent || self.i - start > 100 {
            serde_json::from_str::<f64>(&self.s[start..self.i])
                .map_err(|_| Bail)?;
        }
        Ok(())
    }

    #[inline]
    fn digits(&mut self) {
        while self.peek().is_ascii_digit() {
            self.i += 1;
        }
    }
}

/// Exact powers of ten (every one up to 1e22 is an f64).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
    1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The value of a valid JSON number, exactly as serde_json computes it
/// (`as_f64` of the parsed `Number`). serde_json (without
/// `float_roundtrip`) takes the decimal significand as a `u64`, converts
/// it, and multiplies or divides once by an exact power of ten when the
/// exponent is small; that case is done here, the rest asks serde_json.
fn number_value(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    let neg = b.first() == Some(&b'-');
    let mut i = usize::from(neg);
    let (mut sig, mut digits, mut exp) = (0u64, 0u32, 0i32);
    while let Some(d @ b'0'..=b'9') = b.get(i).copied() {
        sig = sig.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        digits += 1;
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(d @ b'0'..=b'9') = b.get(i).copied() {
            sig = sig.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            digits += 1;
            exp -= 1;
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let negative_exp = b.get(i) == Some(&b'-');
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let mut e = 0i32;
        let mut n = 0;
        while let Some(d @ b'0'..=b'9') = b.get(i).copied() {
            e = e * 10 + i32::from(d - b'0');
            n += 1;
            i += 1;
            if n > 4 {
                return slow_number(text);
            }
        }
        exp += if negative_exp { -e } else { e };
    }
    // Up to 19 digits, a u64 never overflows: serde_json kept them all.
    if digits > 19 || exp.unsigned_abs() as usize >= POW10.len() {
        return slow_number(text);
    }
    let mut f = sig as f64;
    if exp >= 0 {
        f *= POW10[exp as usize];
    } else {
        f /= POW10[exp.unsigned_abs() as usize];
    }
    Some(if neg { -f } else { f })
}

#[cold]
fn slow_number(text: &str) -> Option<f64> {
    serde_json::from_str::<f64>(text).ok()
}

/// The bytes of `word` (little-endian) that end a plain run of string
/// characters: a quote, a backslash or a control character; each marked
/// by its high bit. Bytes above the lowest marked one may be marked
/// wrongly (borrows), so only the lowest is meaningful.
#[inline]
fn special_bytes(word: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| v.wrapping_sub(ONES) & !v;
    let quote = zero(word ^ (ONES * u64::from(b'"')));
    let backslash = zero(word ^ (ONES * u64::from(b'\\')));
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (quote | backslash | control) & HIGH
}

/// An integer timestamp the fast way: `-?[0-9]{1,18}`, not `-0` (which
/// serde_json reads as the float -0.0).
fn plain_integer(text: &str) -> Option<i64> {
    let (neg, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if digits.is_empty() || digits.len() > 18 || (neg && digits == b"0") {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Some(if neg { -n } else { n })
}

// ------------------------------------------------------------- the parser

/// Parses lines for one [`Layout`], reusing its scratch space.
#[derive(Clone, Debug)]
pub(crate) struct EventParser {
    layout: Layout,
    found: Vec<Found>,
}

/// A line read by [`EventParser::parse`]: its key, time and event.
pub(crate) struct Line<'p, 'l> {
    layout: &'p Layout,
    found: &'p [Found],
    line: &'l str,
    /// The trimmed line.
    raw: std::ops::Range<usize>,
    /// The parsed line, when serde_json had to read it.
    tree: Option<Box<Value>>,
}

/// A key as found in a line.
pub(crate) enum KeyRef<'a> {
    /// Its JSON text as written, which is its canonical text (that of
    /// serde_json's `Value::to_string`): a string without escapes, a
    /// small integer, `null`, `true`, `false`.
    Canonical(&'a str),
    /// Its JSON text as written, maybe not canonical (`1.0` and `1.00`
    /// are the same key).
    Written(&'a str),
    /// Its value.
    Value(&'a Value),
}

impl EventParser {
    pub(crate) fn new(layout: Layout) -> Self {
        let found = vec![Found::MISSING; layout.paths.len()];
        EventParser { layout, found }
    }

    /// Reads a line that must hold one JSON object.
    ///
    /// # Errors
    ///
    /// The reason when the line is not a JSON object (serde_json's
    /// message).
    #[inline]
    pub(crate) fn parse<'p, 'l>(
        &'p mut self,
        line: &'l str,
    ) -> Result<Line<'p, 'l>, String> {
        self.found.fill(Found::MISSING);
        let mut sc = Scanner {
            s: line,
            b: line.as_bytes(),
            i: 0,
            found: &mut self.found,
        };
        sc.ws();
        let lead = sc.i;
        if sc.peek() == b'{' && sc.object(&self.layout.root, 1).is_ok() {
            let end = sc.i;
            sc.ws();
            if sc.i == line.len() {
                return Ok(Line {
                    layout: &self.layout,
                    found: &self.found,
                    line,
                    raw: lead..end,
                    tree: None,
                });
            }
        }
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("not JSON: {e}"))?;
        if !value.is_object() {
            return Err("not a JSON object".to_owned());
        }
        // Only past the scanner's depth (or if it missed a case): read
        // from the tree.
        let trimmed = line.trim();
        let lead = trimmed.as_ptr() as usize - line.as_ptr() as usize;
        Ok(Line {
            layout: &self.layout,
            found: &self.found,
            line,
            raw: lead..lead + trimmed.len(),
            tree: Some(Box::new(value)),
        })
    }
}

impl Line<'_, '_> {
    fn tree_get<'v>(
        &self,
        tree: &'v Value,
        target: usize,
    ) -> Option<&'v Value> {
        self.layout.paths[target]
            .iter()
            .try_fold(tree, |v, seg| v.as_object()?.get(&**seg))
    }

    fn text(&self, f: Found) -> &str {
        &self.line[f.start..f.end]
    }

    /// The key field; `None` when it is missing (or the spec has none).
    #[inline]
    pub(crate) fn key(&self) -> Option<KeyRef<'_>> {
        let t = self.layout.key?;
        match &self.tree {
            Some(tree) => self.tree_get(tree, t).map(KeyRef::Value),
            None => {
                let f = self.found[t];
                let text = self.text(f);
                Some(match f.kind {
                    Kind::Missing => return None,
                    Kind::Str | Kind::Null | Kind::True | Kind::False => {
                        KeyRef::Canonical(text)
                    }
                    Kind::Num if plain_integer(text).is_some() => {
                        KeyRef::Canonical(text)
                    }
                    _ => KeyRef::Written(text),
                })
            }
        }
    }

    /// The timestamp; `None` when the time field is missing (or the spec
    /// has none).
    #[inline]
    pub(crate) fn timestamp(&self) -> Option<Result<i64, String>> {
        let t = self.layout.time?;
        if let Some(tree) = &self.tree {
            return self.tree_get(tree, t).map(parse_timestamp);
        }
        let f = self.found[t];
        let text = self.text(f);
        Some(match f.kind {
            Kind::Missing => return None,
            Kind::Num => match plain_integer(text) {
                Some(ms) => Ok(ms),
                None => slow_timestamp(text),
            },
            Kind::Str => rfc3339(&text[1..text.len() - 1]),
            _ => slow_timestamp(text),
        })
    }

    /// The event, with a text of its own.
    ///
    /// # Errors
    ///
    /// When the line and its decoded strings exceed 4 GiB.
    #[inline]
    pub(crate) fn event(&self) -> Result<JsonEvent, String> {
        self.event_in(None)
    }

    /// The event; its text is `shared` when the line is `shared[at..]`
    /// (and needs no decoded strings), or a text of its own.
    ///
    /// # Errors
    ///
    /// When the line and its decoded strings exceed 4 GiB.
    #[inline]
    pub(crate) fn event_in(
        &self,
        shared: Option<(&Arc<str>, usize)>,
    ) -> Result<JsonEvent, String> {
        let raw = &self.line[self.raw.clone()];
        let lead = self.raw.start;
        let n = self.layout.fields;
        let too_long = || "line too long (4 GiB or more)".to_owned();
        let raw_len = u32::try_from(raw.len()).map_err(|_| too_long())?;
        let mut slots = SmallVec::with_capacity(n);
        let mut text: Option<String> = None;
        let mut owned = |s: &str| -> Result<Slot, String> {
            if let Some(short) = Slot::short(s) {
                return Ok(short);
            }
            let buf = text.get_or_insert_with(|| {
                let mut b = String::with_capacity(raw.len() + s.len());
                b.push_str(raw);
                b
            });
            let start = buf.len();
            buf.push_str(s);
            let start = u32::try_from(start).map_err(|_| too_long())?;
            let len = u32::try_from(s.len()).map_err(|_| too_long())?;
            start.checked_add(len).ok_or_else(too_long)?;
            Ok(Slot::Str { start, len })
        };
        if let Some(tree) = &self.tree {
            for t in 0..n {
                slots.push(match self.tree_get(tree, t) {
                    None | Some(Value::Null) => Slot::Null,
                    Some(Value::Bool(b)) => Slot::Bool(*b),
                    Some(Value::Number(x)) => {
                        x.as_f64().map_or(Slot::Null, Slot::Num)
                    }
                    Some(Value::String(s)) => owned(s)?,
                    Some(json) => Slot::Json(Box::new(json.clone())),
                });
            }
        } else {
            for &f in &self.found[..n] {
                let json = &self.line[f.start..f.end];
                slots.push(match f.kind {
                    Kind::Missing | Kind::Null => Slot::Null,
                    Kind::True => Slot::Bool(true),
                    Kind::False => Slot::Bool(false),
                    Kind::Num => {
                        number_value(json).map_or(Slot::Null, Slot::Num)
                    }
                    Kind::Str => {
                        let content = &self.line[f.start + 1..f.end - 1];
                        Slot::short(content).unwrap_or(Slot::Str {
                            // In range: raw_len fits in a u32. Relative to
                            // the line here; moved below for a shared text.
                            start: (f.start + 1 - lead) as u32,
                            len: content.len() as u32,
                        })
                    }
                    Kind::EscStr => {
                        // Checked by the scanner.
                        let s: String =
                            serde_json::from_str(json).unwrap_or_default();
                        owned(&s)?
                    }
                    Kind::Array | Kind::Object => Slot::Json(Box::new(
                        serde_json::from_str(json).unwrap_or(Value::Null),
                    )),
                });
            }
        }
        if let Some(t) = text {
            // Decoded strings: a text of its own, the line first.
            return Ok(JsonEvent { text: t.into(), start: 0, raw_len, slots });
        }
        // The line in the shared text, if every offset fits in a u32.
        let base = shared.and_then(|(text, at)| {
            let start = at.checked_add(lead)?;
            u32::try_from(start.checked_add(raw.len())?).ok()?;
            Some((text, u32::try_from(start).ok()?))
        });
        let Some((text, start)) = base else {
            return Ok(JsonEvent {
                text: raw.into(),
                start: 0,
                raw_len,
                slots,
            });
        };
        for slot in &mut slots {
            if let Slot::Str { start: s, .. } = slot {
                // In range: within the line, which fits (checked above).
                *s += start;
            }
        }
        Ok(JsonEvent { text: text.clone(), start, raw_len, slots })
    }
}

#[cold]
fn slow_timestamp(text: &str) -> Result<i64, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) => parse_timestamp(&v),
        // The scanner checked the value.
        Err(e) => Err(format!("time: {e}")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A parser for expression fields `paths` (each dotted), with an
    /// optional key and time.
    pub(crate) fn parser(
        paths: &[&str],
        key: Option<&str>,
        time: Option<&str>,
    ) -> EventParser {
        let mut table = FieldTable::default();
        for p in paths {
            let segs: Path = p.split('.').map(Box::from).collect();
            table.slot(&segs);
        }
        let key = key.map(|k| FieldPath::parse(k).unwrap());
        let time = time.map(|k| FieldPath::parse(k).unwrap());
        EventParser::new(Layout::new(table, key.as_ref(), time.as_ref()))
    }

    fn slots(p: &mut EventParser, line: &str) -> Vec<Slot> {
        let e = p.parse(line).unwrap().event().unwrap();
        (0..e.slots.len() as u32).map(|i| e.slot(i).unwrap().clone()).collect()
    }

    fn strs(p: &mut EventParser, line: &str) -> Vec<String> {
        let e = p.parse(line).unwrap().event().unwrap();
        e.slots
            .iter()
            .map(|s| match e.str(s) {
                Some(text) => text.to_owned(),
                None => format!("{s:?}"),
            })
            .collect()
    }

    #[test]
    fn timestamps_in_ms_or_rfc3339() {
        assert_eq!(parse_timestamp(&serde_json::json!(17)), Ok(17));
        assert!(parse_timestamp(&serde_json::json!(1.5)).is_err());
        assert!(parse_timestamp(&serde_json::json!(true)).is_err());
        assert_eq!(
            parse_timestamp(&serde_json::json!("1970-01-01T00:00:01.0019Z")),
            Ok(1001)
        );
        assert_eq!(
            parse_timestamp(&serde_json::json!("1970-01-01T01:00:00+01:00")),
            Ok(0)
        );
    }

    #[test]
    fn timestamps_from_lines() {
        let mut p = parser(&[], None, Some("t"));
        let mut ts = |line: &str| p.parse(line).unwrap().timestamp();
        assert_eq!(ts(r#"{"t":17}"#), Some(Ok(17)));
        assert_eq!(ts(r#"{"t":-17}"#), Some(Ok(-17)));
        assert_eq!(ts(r#"{"t":9223372036854775807}"#), Some(Ok(i64::MAX)));
        assert_eq!(ts(r#"{"t":-9223372036854775808}"#), Some(Ok(i64::MIN)));
        assert_eq!(ts(r#"{"x":1}"#), None);
        assert_eq!(ts(r#"{"t":"1970-01-01T00:00:01Z"}"#), Some(Ok(1000)));
        assert_eq!(ts(r#"{"t":"1970-01-01T00:00:01\u005a"}"#), Some(Ok(1000)));
        for bad in [
            r#"{"t":-0}"#,
            r#"{"t":1.0}"#,
            r#"{"t":1e3}"#,
            r#"{"t":9223372036854775808}"#,
            r#"{"t":null}"#,
            r#"{"t":[1]}"#,
            r#"{"t":"yesterday"}"#,
        ] {
            let v: Value = serde_json::from_str(bad).unwrap();
            let want = parse_timestamp(&v["t"]);
            assert!(want.is_err());
            assert_eq!(ts(bad), Some(want), "{bad}");
        }
    }

    #[test]
    fn events_stay_small() {
        // The engine moves events around; two inline slots cover most
        // specs, and the whole event fits in a cache line.
        assert!(std::mem::size_of::<JsonEvent>() <= 64);
        assert_eq!(std::mem::size_of::<Slot>(), 16);
    }

    #[test]
    fn field_paths() {
        let v = serde_json::json!({"a": {"b": 3}});
        let p = FieldPath::parse("a.b").unwrap();
        assert_eq!(p.get(&v), Some(&serde_json::json!(3)));
        assert!(FieldPath::parse("a..b").is_none());
        assert_eq!(FieldPath::parse("x").unwrap().get(&v), None);
    }

    #[test]
    fn events_must_be_objects() {
        let mut p = parser(&["a"], None, None);
        assert_eq!(p.parse("[1]").err().unwrap(), "not a JSON object");
        assert_eq!(p.parse("5").err().unwrap(), "not a JSON object");
        assert!(p.parse("{").err().unwrap().starts_with("not JSON: "));
        let e = p.parse(" {\"a\":1} \t").unwrap().event().unwrap();
        assert_eq!(e.raw(), "{\"a\":1}");
        assert_eq!(e.slot(0), Some(&Slot::Num(1.0)));
    }

    #[test]
    fn the_same_lines_as_serde_json() {
        let mut p = parser(&["a", "b.c", "s"], Some("k"), Some("t"));
        let lines = [
            "{}",
            " { } ",
            "{\"a\":1,}",
            "{,}",
            "{\"a\" 1}",
            "{\"a\":1 \"b\":2}",
            "{\"a\":01}",
            "{\"a\":-}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":1e}",
            "{\"a\":1e+}",
            "{\"a\":1E-2}",
            "{\"a\":1e400}",
            "{\"a\":-1e400}",
            "{\"a\":1e-400}",
            "{\"a\":tru}",
            "{\"a\":nul}",
            "{\"a\":nulll}",
            "{\"a\":\"x\ty\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\ud800\"}",
            "{\"a\":\"\\ud83d\\ude00\"}",
            "{\"a\":\"\\u00e9\"}",
            "{\"a\":[1,2,]}",
            "{\"a\":[1 2]}",
            "{\"a\":[]}",
            "{\"a\":[[],{}]}",
            "{\"a\":{\"b\":}}",
            "{\"a\":1}x",
            "{\"a\":1}\u{a0}",
            "\u{a0}{\"a\":1}",
            "{\"a\":1}{}",
            "{\"a\":\"unterminated}",
            "{\"\\u0061\":1}",
            "{\"a\":1",
            "{\"a\"",
            "{\"a\":",
            "",
            "   ",
            "nul",
            "\"x\"",
            "{\"a\":\"é😀\"}",
            "{\"a\":123456789012345678901234567890}",
            "{\"a\":1e99}",
            "{\"a\":[1e999]}",
        ];
        for line in lines {
            let want = serde_json::from_str::<Value>(line)
                .map_err(|e| format!("not JSON: {e}"))
                .and_then(|v| {
                    if v.is_object() {
                        Ok(())
                    } else {
                        Err("not a JSON object".to_owned())
                    }
                });
            let got = p.parse(line).map(|_| ());
            assert_eq!(got, want, "{line:?}");
        }
        let deep =
            format!("{{\"a\":{}1{}}}", "[".repeat(126), "]".repeat(126));
        assert!(p.parse(&deep).is_ok());
        let deeper =
            format!("{{\"a\":{}1{}}}", "[".repeat(127), "]".repeat(127));
        assert!(p.parse(&deeper).is_err());
    }

    #[test]
    fn special_bytes_find_the_first() {
        for (i, c) in [b'"', b'\\', 0, 0x1f, b'\n']
            .into_iter()
            .cycle()
            .take(40)
            .enumerate()
        {
            let pos = i % 8;
            let mut w = *b"abcdefgh";
            w[pos] = c;
            // Later bytes may be anything, even other special ones.
            if pos < 7 {
                w[7] = [b'"', 0x7f, 0xff, 0x20][i % 4];
            }
            let m = special_bytes(u64::from_le_bytes(w));
            assert_eq!(m.trailing_zeros() / 8, pos as u32, "{w:?}");
        }
        for w in
            [*b"abcdefgh", [0x20; 8], [0x7f; 8], [0xff; 8], *b"\xc3\xa9!#]~ z"]
        {
            assert_eq!(special_bytes(u64::from_le_bytes(w)), 0, "{w:?}");
        }
        assert_eq!(plain_integer("-12"), Some(-12));
        assert_eq!(plain_integer("0"), Some(0));
        assert_eq!(plain_integer("-0"), None);
        assert_eq!(plain_integer("-"), None);
        assert_eq!(plain_integer("1.5"), None);
        assert_eq!(
            plain_integer("999999999999999999"),
            Some(999_999_999_999_999_999)
        );
        assert_eq!(plain_integer("1000000000000000000"), None);
    }

    #[test]
    fn numbers_as_serde_json() {
        let texts = [
            "0",
            "-0",
            "1",
            "-1",
            "12.34",
            "-12.34",
            "0.1",
            "1.5e3",
            "1.5E-3",
            "1e22",
            "1e23",
            "1e-22",
            "1e-23",
            "123456789012345678",
            "1234567890123456789",
            "12345678901234567890",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "9007199254740993",
            "0.30000000000000004",
            "3.141592653589793238462643383279",
            "1e308",
            "2.2250738585072014e-308",
            "4.9e-324",
            "1e-400",
            "123e-5",
            "0e10",
            "-0.0",
            "1.0000000000000002",
            "99999999999999999999e-5",
        ];
        for t in texts {
            let want = serde_json::from_str::<Value>(t).unwrap().as_f64();
            let got = number_value(t);
            assert_eq!(
                got.map(f64::to_bits),
                want.map(f64::to_bits),
                "{t}: {got:?} vs {want:?}"
            );
        }
    }

    #[test]
    fn fields_by_slot() {
        let mut p = parser(&["a", "b.c", "s", "o", "b"], None, None);
        let line = r#"{"a":true,"b":{"c":2.5,"d":[1]},"s":"x\"y","o":[1, 2]}"#;
        let got = slots(&mut p, line);
        assert_eq!(got[0], Slot::Bool(true));
        assert_eq!(got[1], Slot::Num(2.5));
        assert_eq!(got[3], Slot::Json(Box::new(serde_json::json!([1, 2]))));
        assert_eq!(
            got[4],
            Slot::Json(Box::new(serde_json::json!({"c": 2.5, "d": [1]})))
        );
        assert_eq!(strs(&mut p, line)[2], "x\"y");
        assert_eq!(
            strs(&mut p, r#"{"s":"plain","a":"\u00e9"}"#)[..3],
            ["é", "Null", "plain"]
        );
        // Missing, null, and through a non-object: all null.
        let got = slots(&mut p, r#"{"a":null,"b":3}"#);
        assert_eq!(got[..3], [Slot::Null, Slot::Null, Slot::Null]);
        assert_eq!(got[4], Slot::Num(3.0));
        // Escaped keys name fields too.
        let got = slots(&mut p, r#"{"\u0061":1,"b":{"\u0063":2}}"#);
        assert_eq!(got[..2], [Slot::Num(1.0), Slot::Num(2.0)]);
    }

    #[test]
    fn the_last_duplicate_wins() {
        let mut p = parser(&["a", "b.c", "b.d"], None, None);
        let got =
            slots(&mut p, r#"{"a":1,"a":2,"b":{"c":1,"d":2},"b":{"c":3}}"#);
        assert_eq!(got, [Slot::Num(2.0), Slot::Num(3.0), Slot::Null]);
        let got = slots(&mut p, r#"{"b":{"c":1},"b":5}"#);
        assert_eq!(got[1], Slot::Null);
        let got = slots(&mut p, r#"{"b":{"c":1,"c":null}}"#);
        assert_eq!(got[1], Slot::Null);
    }

    /// A slot as a plain value, whichever way it is stored.
    fn view(e: &JsonEvent, s: &Slot) -> String {
        match s {
            Slot::Num(x) => format!("num {}", x.to_bits()),
            Slot::Json(v) => format!("json {v:?}"),
            other => match e.str(other) {
                Some(t) => format!("str {t:?}"),
                None => format!("{other:?}"),
            },
        }
    }

    /// Random lines, valid and broken: the scanner agrees with serde_json
    /// on every verdict, field, key and time.
    #[test]
    fn random_lines_read_as_serde_json_reads_them() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let keys = ["a", "b", "c", "k", "t", "\\u0061", "a\\\"", "é", ""];
        let scalars = [
            "0",
            "-0",
            "1",
            "-1.5",
            "2.5e3",
            "1E-2",
            "1e400",
            "01",
            "1.",
            "123456789012345678901234",
            "9223372036854775808",
            "true",
            "false",
            "null",
            "\"x\"",
            "\"\"",
            "\"a\\nb\"",
            "\"\\u00e9\"",
            "\"\\ud83d\\ude00\"",
            "\"\\ud800\"",
            "\"é😀\"",
            "\"bad\\q\"",
            "\"1970-01-01T00:00:01Z\"",
            "nul",
            "[]",
            "{}",
            "-",
            ".5",
        ];
        fn value(
            rand: &mut dyn FnMut(usize) -> usize,
            keys: &[&str],
            scalars: &[&str],
            depth: usize,
        ) -> String {
            match rand(if depth > 3 { 1 } else { 4 }) {
                0 => scalars[rand(scalars.len())].to_owned(),
                1 => {
                    let n = rand(4);
                    let items: Vec<String> = (0..n)
                        .map(|_| value(rand, keys, scalars, depth + 1))
                        .collect();
                    format!("[{}]", items.join(","))
                }
                _ => {
                    let n = rand(5);
                    let items: Vec<String> = (0..n)
                        .map(|_| {
                            let k = keys[rand(keys.len())];
                            let v = value(rand, keys, scalars, depth + 1);
                            let ws = [" ", "", "\t", ""][rand(4)];
                            format!("\"{k}\"{ws}:{ws}{v}")
                        })
                        .collect();
                    format!("{{{}}}", items.join(","))
                }
            }
        }
        let mut p =
            parser(&["a", "b.c", "c", "a.b", "é"], Some("k"), Some("t"));
        let mut accepted = 0;
        for i in 0..20_000 {
            let mut line = value(&mut rand, &keys, &scalars, 0);
            if !line.starts_with('{') {
                line = format!("{{\"a\":{line}}}");
            }
            // Break some lines.
            match rand(8) {
                0 => {
                    let cut = rand(line.len() + 1);
                    if line.is_char_boundary(cut) {
                        line.truncate(cut);
                    }
                }
                1 => line.push_str([" ", "x", "}", "\u{a0}", "\n"][rand(5)]),
                2 => line.insert(0, [' ', '\t', '[', '\u{a0}'][rand(4)]),
                _ => {}
            }
            let want = serde_json::from_str::<Value>(&line);
            let got = p.parse(&line);
            let (parsed, tree) = match (got, want) {
                (Err(e), Err(w)) => {
                    assert_eq!(e, format!("not JSON: {w}"), "{line}");
                    continue;
                }
                (Err(e), Ok(w)) => {
                    assert!(!w.is_object(), "{line}: {e}");
                    assert_eq!(e, "not a JSON object");
                    continue;
                }
                (Ok(_), Err(w)) => panic!("accepted {line}: {w}"),
                (Ok(parsed), Ok(tree)) => (parsed, tree),
            };
            accepted += 1;
            // The same line read from serde_json's tree.
            let key = parsed.key().map(|k| match k {
                KeyRef::Canonical(t) | KeyRef::Written(t) => {
                    serde_json::from_str::<Value>(t).unwrap().to_string()
                }
                KeyRef::Value(v) => v.to_string(),
            });
            let ts = parsed.timestamp();
            let event = parsed.event().unwrap();
            let slow = Line {
                layout: &p.layout,
                found: &[],
                line: &line,
                raw: {
                    let t = line.trim();
                    let lead = t.as_ptr() as usize - line.as_ptr() as usize;
                    lead..lead + t.len()
                },
                tree: Some(Box::new(tree)),
            };
            let slow_key = slow.key().map(|k| match k {
                KeyRef::Value(v) => v.to_string(),
                _ => unreachable!(),
            });
            assert_eq!(key, slow_key, "{line}");
            assert_eq!(ts, slow.timestamp(), "{line}");
            let slow_event = slow.event().unwrap();
            assert_eq!(event.raw(), slow_event.raw(), "{i}");
            for (a, b) in event.slots.iter().zip(&slow_event.slots) {
                assert_eq!(view(&event, a), view(&slow_event, b), "{line}");
            }
        }
        assert!(accepted > 5_000, "{accepted}");
    }

    #[test]
    fn deep_lines_go_through_serde_json() {
        let mut p = parser(&["a", "b.c", "s"], Some("k"), None);
        let line = format!(
            r#"{{"x":{}1{},"a":7,"b":{{"c":"é\n"}},"s":"q","k":[1, 2]}}"#,
            "[".repeat(110),
            "]".repeat(110)
        );
        let parsed = p.parse(&line).unwrap();
        assert!(parsed.tree.is_some());
        assert!(matches!(
            parsed.key(),
            Some(KeyRef::Value(v)) if *v == serde_json::json!([1, 2])
        ));
        let e = parsed.event().unwrap();
        assert_eq!(e.raw(), line);
        assert_eq!(e.slot(0), Some(&Slot::Num(7.0)));
        assert_eq!(strs(&mut p, &line)[1..], ["é\n", "q"]);
    }

    /// An event sharing its block's text reads as one with its own text;
    /// a line with decoded strings gets its own text anyway.
    #[test]
    fn shared_texts_read_as_own_texts() {
        let mut p = parser(&["a", "s", "b.c"], Some("k"), None);
        let lines = [
            r#"{"a":1,"s":"a string longer than fourteen","k":"x"}"#,
            r#"  {"s":"short","b":{"c":"nested and long enough!"}}  "#,
            r#"{"s":"esc\u00e9aped and long enough","a":true}"#,
            r#"{"a":[1,2],"s":null}"#,
        ];
        let block: Arc<str> = lines.join("\n").into();
        let mut at = 0;
        for line in lines {
            let own = p.parse(line).unwrap().event().unwrap();
            let shared =
                p.parse(line).unwrap().event_in(Some((&block, at))).unwrap();
            assert_eq!(shared, own, "{line}");
            assert_eq!(shared.raw(), line.trim());
            for (a, b) in shared.slots.iter().zip(&own.slots) {
                assert_eq!(view(&shared, a), view(&own, b), "{line}");
            }
            let escaped = line.contains('\\');
            assert_eq!(Arc::ptr_eq(&shared.text, &block), !escaped, "{line}");
            at += line.len() + 1;
        }
    }

    #[test]
    fn keys_as_written() {
        let mut p = parser(&["k"], Some("k"), None);
        for (line, key) in [
            (r#"{"k":"u1"}"#, Some(r#""u1""#)),
            (r#"{"k" : 1.50 }"#, Some("1.50")),
            (r#"{"k":null}"#, Some("null")),
            (r#"{"k":-12}"#, Some("-12")),
            (r#"{"k":-0}"#, Some("-0")),
            (r#"{"k":"é\u00e9"}"#, Some(r#""é\u00e9""#)),
            (r#"{"k":true}"#, Some("true")),
            (r#"{"k":{"b":1, "a":2}}"#, Some(r#"{"b":1, "a":2}"#)),
            (r#"{"x":1}"#, None),
        ] {
            let parsed = p.parse(line).unwrap();
            let got = parsed.key().map(|k| match k {
                KeyRef::Canonical(t) => {
                    let v: Value = serde_json::from_str(t).unwrap();
                    assert_eq!(v.to_string(), t);
                    t.to_owned()
                }
                KeyRef::Written(t) => t.to_owned(),
                KeyRef::Value(v) => v.to_string(),
            });
            assert_eq!(got.as_deref(), key, "{line}");
        }
    }
}
