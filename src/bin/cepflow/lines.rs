//! `--lines`: plain text lines to JSON events through a regex with named
//! groups, so a raw log file needs no converter.

use regex_automata::meta::Regex;
use serde_json::{Map, Number, Value};

use crate::args::RunArgs;

pub struct LineParser {
    regex: Regex,
    /// Each named group: its index, its name, and whether it stays text
    /// (`--text-groups`) rather than becoming a number when it looks
    /// like one.
    names: Vec<(usize, String, bool)>,
    time_group: String,
    time_format: Option<String>,
    year: i32,
}

impl LineParser {
    /// `None` without `--lines`.
    pub fn from_args(a: &RunArgs) -> Result<Option<Self>, String> {
        let Some(pattern) = &a.lines else { return Ok(None) };
        let regex = Regex::new(pattern)
            .map_err(|e| format!("--lines: bad regex: {e}"))?;
        let names: Vec<(usize, String, bool)> = regex
            .group_info()
            .pattern_names(regex_automata::PatternID::ZERO)
            .enumerate()
            .filter_map(|(i, n)| {
                n.map(|n| {
                    (i, n.to_owned(), a.text_groups.iter().any(|t| t == n))
                })
            })
            .collect();
        if names.is_empty() {
            return Err("--lines: the regex has no named groups".to_owned());
        }
        if let Some(missing) = a
            .text_groups
            .iter()
            .find(|t| !names.iter().any(|(_, n, _)| n == *t))
        {
            return Err(format!(
                "--text-groups: the --lines regex has no group named {missing:?}"
            ));
        }
        if a.time_format.is_some()
            && !names.iter().any(|(_, n, _)| *n == a.time_group)
        {
            return Err(format!(
                "--lines: no group named {:?} for the time",
                a.time_group
            ));
        }
        let year = a.year.unwrap_or(1970);
        Ok(Some(Self {
            regex,
            names,
            time_group: a.time_group.clone(),
            time_format: a.time_format.clone(),
            year,
        }))
    }

    /// The line as a JSON object text; `Ok(None)` when the regex does not
    /// match (the line is skipped).
    pub fn to_json(&self, line: &str) -> Result<Option<String>, String> {
        let mut caps = self.regex.create_captures();
        self.regex.captures(line, &mut caps);
        if !caps.is_match() {
            return Ok(None);
        }
        let mut obj = Map::new();
        for (i, name, keep_text) in &self.names {
            let Some(span) = caps.get_group(*i) else { continue };
            let text = &line[span];
            let value =
                if *name == self.time_group && self.time_format.is_some() {
                    Value::from(self.parse_time(text)?)
                } else if *keep_text {
                    Value::String(text.to_owned())
                } else {
                    number_or_string(text)
                };
            obj.insert(name.clone(), value);
        }
        Ok(Some(Value::Object(obj).to_string()))
    }

    fn parse_time(&self, text: &str) -> Result<i64, String> {
        // OK because from_args only sets time_format with a group.
        let fmt = self.time_format.as_deref().unwrap_or_default();
        let parsed =
            chrono::NaiveDateTime::parse_from_str(text, fmt).or_else(|_| {
                // Formats without a year (syslog's "%b %d %H:%M:%S").
                chrono::NaiveDateTime::parse_from_str(
                    &format!("{} {text}", self.year),
                    &format!("%Y {fmt}"),
                )
            });
        parsed
            .map(|t| t.and_utc().timestamp_millis())
            .map_err(|e| format!("time {text:?} does not fit {fmt:?}: {e}"))
    }
}

fn number_or_string(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    let looks_numeric = text.bytes().all(|b| {
        b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')
    });
    if looks_numeric {
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    Value::String(text.to_owned())
}
