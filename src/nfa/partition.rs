//! One pattern on one partition: the NFA with its state, for direct use.

use super::buffer::SharedBuffer;
use super::matched::Match;
use super::runs::{Incoming, Output, Runs, Scratch, SkipError};
use crate::pattern::Pattern;

/// A match copied out of the buffer: each stage with its events, stages
/// in the order they first took an event.
pub type OwnedMatch<E> = Vec<(String, Vec<E>)>;

/// A single pattern over a single partition (one key), in the spirit of
/// Flink's `NFA`: push events in timestamp order, advance time, collect
/// matches and timeouts.
///
/// # Example
///
/// ```
/// use cepflow::{Partition, Pattern};
///
/// let pattern = Pattern::<i32>::begin("small")
///     .when(|x| *x < 10)
///     .followed_by("large")
///     .when(|x| *x > 100)
///     .build()?;
/// let mut p = Partition::new(&pattern);
/// assert!(p.process(5, 1)?.is_empty());
/// assert!(p.process(50, 2)?.is_empty());
/// let matches = p.process(500, 3)?;
/// assert_eq!(
///     matches,
///     vec![vec![("small".to_owned(), vec![5]), ("large".to_owned(), vec![500])]]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Partition<E> {
    pattern: Pattern<E>,
    runs: Runs,
    buffer: SharedBuffer<E>,
    scratch: Scratch,
    timeouts: bool,
}

/// An [`Output`] that keeps owned copies of what it is given.
pub(crate) struct Collect<E> {
    pub(crate) matches: Vec<OwnedMatch<E>>,
    pub(crate) timeouts: Vec<(OwnedMatch<E>, i64)>,
}

impl<E> Collect<E> {
    /// Nothing collected yet.
    pub(crate) fn new() -> Self {
        Self { matches: Vec::new(), timeouts: Vec::new() }
    }
}

impl<E: Clone> Output<E> for Collect<E> {
    fn on_match(&mut self, m: &Match<'_, E>) {
        self.matches.push(m.to_owned_groups());
    }

    fn on_timeout(&mut self, m: &Match<'_, E>, timestamp: i64) {
        self.timeouts.push((m.to_owned_groups(), timestamp));
    }
}

impl<E> Partition<E> {
    /// A fresh partition; timed-out partial matches are discarded.
    pub fn new(pattern: &Pattern<E>) -> Self {
        Self {
            runs: Runs::new(),
            pattern: pattern.clone(),
            buffer: SharedBuffer::new(),
            scratch: Scratch::new(),
            timeouts: false,
        }
    }

    /// Reports timed-out partial matches from
    /// [`advance_time`](Self::advance_time) (Flink's timeout handler).
    pub fn with_timeouts(mut self, on: bool) -> Self {
        self.timeouts = on;
        self
    }

    /// Processes one event, after expiring what its timestamp expires (as
    /// Flink's operator does before each event), and sends results to
    /// `out`. Events must come in non-decreasing timestamp order.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn process_with(
        &mut self,
        event: E,
        timestamp: i64,
        out: &mut impl Output<E>,
    ) -> Result<(), SkipError> {
        let nfa = self.pattern.nfa();
        self.runs.advance_time(
            nfa,
            &mut self.buffer,
            &mut self.scratch,
            timestamp,
            self.timeouts,
            out,
        )?;
        let mut incoming = Incoming::new(event, timestamp);
        let result = self.runs.process(
            nfa,
            &mut self.buffer,
            &mut self.scratch,
            &mut incoming,
            out,
        );
        incoming.finish(&mut self.buffer);
        result.map(|_| ())
    }

    /// Advances time to `timestamp` and sends what expires to `out`.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn advance_time_with(
        &mut self,
        timestamp: i64,
        out: &mut impl Output<E>,
    ) -> Result<(), SkipError> {
        self.runs.advance_time(
            self.pattern.nfa(),
            &mut self.buffer,
            &mut self.scratch,
            timestamp,
            self.timeouts,
            out,
        )
    }

    /// Partial matches alive.
    pub fn partial_count(&self) -> usize {
        self.runs.partial_count()
    }

    /// The shared buffer (events and chain nodes held).
    pub fn buffer(&self) -> &SharedBuffer<E> {
        &self.buffer
    }
}

impl<E: Clone> Partition<E> {
    /// Processes one event and returns the matches it completes.
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    pub fn process(
        &mut self,
        event: E,
        timestamp: i64,
    ) -> Result<Vec<OwnedMatch<E>>, SkipError> {
        let mut out = Collect::new();
        self.process_with(event, timestamp, &mut out)?;
        Ok(out.matches)
    }

    /// Advances time; returns the matches it releases and the partial
    /// matches that time out (with the moment they expired).
    ///
    /// # Errors
    ///
    /// [`SkipError`] from a skip strategy with throw-on-miss.
    #[allow(clippy::type_complexity)]
    pub fn advance_time(
        &mut self,
        timestamp: i64,
    ) -> Result<(Vec<OwnedMatch<E>>, Vec<(OwnedMatch<E>, i64)>), SkipError>
    {
        let mut out = Collect::new();
        self.advance_time_with(timestamp, &mut out)?;
        Ok((out.matches, out.timeouts))
    }
}
