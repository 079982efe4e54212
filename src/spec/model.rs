//! The JSON spec as serde types (see `spec-format.md`): every field of
//! the contract, unknown fields rejected.

use serde::Deserialize;

/// A spec file: how to key and time events, and the patterns.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// Field path of the key; absent: one global partition.
    #[serde(default)]
    pub key: Option<String>,
    /// Event time; absent: processing time.
    #[serde(default)]
    pub time: Option<TimeSpec>,
    /// The patterns, all run over the same input.
    pub patterns: Vec<PatternSpec>,
}

/// Event time: where the timestamp is and how late events may be.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    /// Field path of the timestamp (integer ms or RFC 3339 string).
    pub field: String,
    /// Bounded out-of-orderness of the watermark, in ms.
    #[serde(default)]
    pub out_of_orderness_ms: i64,
}

/// One pattern.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternSpec {
    /// Unique name, used in the output.
    pub name: String,
    /// After-match skip strategy (default `no_skip`).
    #[serde(default)]
    pub skip: Option<SkipSpec>,
    /// `within` on the last stage, in ms.
    #[serde(default)]
    pub within_ms: Option<i64>,
    /// The type of that window.
    #[serde(default)]
    pub within_type: Option<WithinTypeSpec>,
    /// Emit timed-out partial matches.
    #[serde(default)]
    pub timeouts: bool,
    /// The stages, first to last.
    pub stages: Vec<StageSpec>,
}

/// The skip strategy: a name, or an object naming the stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SkipSpec {
    /// `"no_skip"`, `"skip_to_next"`, `"skip_past_last_event"`.
    Simple(SimpleSkip),
    /// `{"skip_to_first": "S"}` or `{"skip_to_last": "S"}`.
    ToStage(StageSkip),
}

/// Skip strategies that name no stage.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SimpleSkip {
    /// `no_skip`
    NoSkip,
    /// `skip_to_next`
    SkipToNext,
    /// `skip_past_last_event`
    SkipPastLastEvent,
}

/// Skip strategies that name a stage.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StageSkip {
    /// `{"skip_to_first": "S"}`
    SkipToFirst(String),
    /// `{"skip_to_last": "S"}`
    SkipToLast(String),
}

/// `first_and_last` or `previous_and_current`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WithinTypeSpec {
    /// The whole match.
    FirstAndLast,
    /// The gap before this stage's event.
    PreviousAndCurrent,
}

/// How a stage follows the previous one.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ConnectSpec {
    /// Strict contiguity.
    Next,
    /// Relaxed contiguity.
    FollowedBy,
    /// Non-deterministic relaxed contiguity.
    FollowedByAny,
    /// Negated strict contiguity.
    NotNext,
    /// Negated relaxed contiguity.
    NotFollowedBy,
}

/// `times`: `N` or `[FROM, TO]`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum TimesSpec {
    /// Exactly N.
    Exactly(i64),
    /// FROM to TO.
    Range(i64, i64),
}

/// One stage.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Unique within the pattern, group members included.
    pub name: String,
    /// How the stage follows the previous one; not on a first stage.
    #[serde(default)]
    pub connect: Option<ConnectSpec>,
    /// The condition expression (default `true`).
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
    /// The stop condition of a looping stage.
    #[serde(default)]
    pub until: Option<String>,
    /// `times`.
    #[serde(default)]
    pub times: Option<TimesSpec>,
    /// `times_or_more`.
    #[serde(default)]
    pub times_or_more: Option<i64>,
    /// `one_or_more`.
    #[serde(default)]
    pub one_or_more: Option<bool>,
    /// `optional`.
    #[serde(default)]
    pub optional: Option<bool>,
    /// `greedy`.
    #[serde(default)]
    pub greedy: Option<bool>,
    /// `consecutive`.
    #[serde(default)]
    pub consecutive: Option<bool>,
    /// `allow_combinations`.
    #[serde(default)]
    pub allow_combinations: Option<bool>,
    /// `within` on this stage, in ms.
    #[serde(default)]
    pub within_ms: Option<i64>,
    /// The type of that window.
    #[serde(default)]
    pub within_type: Option<WithinTypeSpec>,
    /// A group pattern instead of `where`.
    #[serde(default)]
    pub group: Option<Vec<StageSpec>>,
}
