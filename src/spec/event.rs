//! JSON events: one object per line, kept verbatim for the output, with
//! the key and the timestamp found through field paths split at load.

use std::fmt;

use serde_json::Value;

/// A JSON event: the line as read and its parsed value.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonEvent {
    raw: Box<str>,
    value: Value,
}

impl JsonEvent {
    /// Parses a line that must hold one JSON object.
    ///
    /// # Errors
    ///
    /// The reason when the line is not a JSON object.
    pub fn parse(line: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(line)
            .map_err(|e| format!("not JSON: {e}"))?;
        if !value.is_object() {
            return Err("not a JSON object".to_owned());
        }
        Ok(Self { raw: line.trim().into(), value })
    }

    /// Wraps a value; its text is the value serialized.
    pub fn from_value(value: Value) -> Self {
        Self { raw: value.to_string().into(), value }
    }

    /// The event exactly as it was read.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The parsed event.
    pub fn value(&self) -> &Value {
        &self.value
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
        Value::String(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp_millis())
            .map_err(|e| format!("time {s:?} is not RFC 3339: {e}")),
        other => Err(format!("time {other} is neither ms nor RFC 3339")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn field_paths() {
        let v = serde_json::json!({"a": {"b": 3}});
        let p = FieldPath::parse("a.b").unwrap();
        assert_eq!(p.get(&v), Some(&serde_json::json!(3)));
        assert!(FieldPath::parse("a..b").is_none());
        assert_eq!(FieldPath::parse("x").unwrap().get(&v), None);
    }

    #[test]
    fn events_must_be_objects() {
        assert!(JsonEvent::parse("[1]").is_err());
        assert!(JsonEvent::parse("{").is_err());
        assert_eq!(JsonEvent::parse(" {\"a\":1} ").unwrap().raw(), "{\"a\":1}");
    }
}
