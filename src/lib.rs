//! cepflow: complex event processing with Flink CEP's pattern language and
//! answers, embedded in Rust.
//!
//! Three failed logins and then a success from the same IP within a
//! minute:
//!
//! ```
//! use std::time::Duration;
//! use cepflow::handler::select;
//! use cepflow::runtime::{Pipeline, Watermarks};
//! use cepflow::{Pattern, SkipStrategy};
//!
//! #[derive(Clone, Debug)]
//! struct Login { ip: &'static str, user: &'static str, ok: bool, ts: i64 }
//!
//! let brute_force = Pattern::<Login>::begin("fail")
//!     .when(|e| !e.ok)
//!     .times(3)
//!     .followed_by("success")
//!     .when(|e| e.ok)
//!     .within(Duration::from_secs(60))
//!     .skip(SkipStrategy::SkipPastLastEvent)
//!     .build()?;
//!
//! let log = vec![
//!     Login { ip: "173.234.31.186", user: "admin", ok: false, ts: 1_000 },
//!     Login { ip: "173.234.31.186", user: "root", ok: false, ts: 2_000 },
//!     Login { ip: "10.0.0.7", user: "alice", ok: true, ts: 2_500 },
//!     Login { ip: "173.234.31.186", user: "test", ok: false, ts: 3_000 },
//!     Login { ip: "173.234.31.186", user: "fztu", ok: true, ts: 9_000 },
//! ];
//! let alerts = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
//! let sink = alerts.clone();
//! Pipeline::from_iter(log)
//!     .event_time(|e| e.ts, Watermarks::bounded_out_of_orderness(Duration::ZERO))
//!     .key_by(|e| e.ip)
//!     .pattern(&brute_force, select(
//!         |m, ctx| format!("{}: in as {} after {} failures", ctx.key(),
//!             m.events("success").next().map_or("?", |e: &Login| e.user),
//!             m.events("fail").count()),
//!         move |alert| sink.borrow_mut().push(alert),
//!     ))
//!     .run()?;
//! assert_eq!(*alerts.borrow(), ["173.234.31.186: in as fztu after 3 failures"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The same rule as a JSON spec, for `cepflow run --spec S --events E`
//! (see `spec-format.md` and `docs/cli.md`):
//!
//! ```json
//! {"key": "ip", "time": {"field": "ts"},
//!  "patterns": [{"name": "brute_force", "skip": "skip_past_last_event",
//!    "within_ms": 60000, "stages": [
//!      {"name": "fail", "where": "ok == false", "times": 3},
//!      {"name": "success", "connect": "followed_by", "where": "ok"}]}]}
//! ```
//!
//! # Which entry point
//!
//! * [`Pattern`] and [`PatternBuilder`]: the typed DSL, Flink's Pattern
//!   API one to one (`where` is spelled `when`).
//! * [`runtime::Pipeline`]: source, event time and watermarks, `key_by`,
//!   patterns, result handlers, side outputs, late data: a DataStream-like
//!   job in one call chain.
//! * [`runtime::KeyedOperator`]: the push-based keyed operator the pipeline
//!   and the CLI wrap; embed it in your own loop (push events, advance the
//!   watermark, collect results), add, replace and remove patterns while it
//!   runs, read its counters in total and per pattern
//!   ([`runtime::PatternCounters`]), and snapshot all its keyed state
//!   ([`runtime::OperatorSnapshot`], serde) to restore after a restart.
//! * [`runtime::ShardedOperator`]: the same operator with its keys split
//!   over worker threads, giving exactly what one operator gives.
//! * [`Partition`]: one pattern over one partition, Flink's `NFA` in the
//!   small.
//! * [`spec`]: the JSON spec and expression language, and the runner
//!   behind the `cepflow` command line.
//!
//! # Concepts
//!
//! A *pattern* is a sequence of *stages* (Flink's patterns); each takes
//! events that satisfy its condition, once or by a quantifier, joined to
//! the previous stage by a contiguity (`next`, `followed_by`,
//! `followed_by_any`, or a negation). A partial match is a *run*; runs of
//! one key share their events in a [`SharedBuffer`]. `within` bounds a
//! match in time; expired runs are *timeouts*. A *skip strategy* prunes
//! runs after a match. `docs/semantics.md` has the details and a
//! Flink-to-cepflow name table; `docs/architecture.md` the design.
//!
//! # One event, end to end
//!
//! 1. Read: the CLI parses a JSON line (or a log line through a regex);
//!    the pipeline takes your value.
//! 2. Clock: an event at or below the watermark is late and goes to the
//!    late output; others wait in the reorder buffer.
//! 3. Release: when the watermark passes it, the event's key is visited:
//!    its runs advance to the event's time (windows expire first), then
//!    every pattern steps its runs with the event.
//! 4. Emit: completed matches go to the pattern's handler as a borrowed
//!    [`Match`] (no event is copied), as the skip strategy allows.
//! 5. Tidy: freed chain nodes and events are reused; a key left with
//!    nothing is dropped; its next timer is armed.
//!
//! # Features
//!
//! * `cli` (default): the `cepflow` binary (clap).
#![deny(missing_docs)]
#![warn(missing_debug_implementations)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod handler;
pub mod nfa;
pub mod pattern;
pub mod runtime;
pub mod spec;
mod util;

pub use nfa::{Context, Match, Nfa, Partition, SharedBuffer};
pub use pattern::{
    Condition, Connect, Contiguity, Pattern, PatternBuilder, PatternError,
    Repeat, SkipStrategy, WithinType,
};
pub use util::ids::StageId;

/// The README's examples are doctests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
