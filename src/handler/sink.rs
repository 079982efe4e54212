//! Ready-made sinks for [`select`](super::select) and
//! [`flat_select`](super::flat_select): print, a channel, a collection.

use std::cell::RefCell;
use std::fmt::Debug;
use std::io::Write;
use std::rc::Rc;
use std::sync::mpsc::Sender;

/// Prints each result on standard output, one per line (`{:?}`), like
/// Flink's print sink. A closed standard output ends the printing
/// quietly instead of panicking.
pub fn print<R: Debug>() -> impl FnMut(R) {
    let mut open = true;
    move |r| {
        if open {
            open = writeln!(std::io::stdout().lock(), "{r:?}").is_ok();
        }
    }
}

/// Sends each result into a channel; results sent after the receiver is
/// gone are dropped.
pub fn channel<R>(tx: Sender<R>) -> impl FnMut(R) {
    move |r| {
        let _ = tx.send(r);
    }
}

/// Collects results for reading after (or during) the run.
///
/// ```
/// use cepflow::handler::Collector;
/// let c = Collector::new();
/// let mut sink = c.sink();
/// sink(1);
/// sink(2);
/// assert_eq!(c.take(), vec![1, 2]);
/// ```
#[derive(Debug)]
pub struct Collector<R> {
    items: Rc<RefCell<Vec<R>>>,
}

impl<R> Clone for Collector<R> {
    fn clone(&self) -> Self {
        Self { items: self.items.clone() }
    }
}

impl<R> Default for Collector<R> {
    fn default() -> Self {
        Self { items: Rc::new(RefCell::new(Vec::new())) }
    }
}

impl<R> Collector<R> {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sink appending to this collector.
    pub fn sink(&self) -> impl FnMut(R) {
        let items = self.items.clone();
        move |r| items.borrow_mut().push(r)
    }

    /// Takes everything collected so far.
    pub fn take(&self) -> Vec<R> {
        std::mem::take(&mut self.items.borrow_mut())
    }

    /// How many results are waiting.
    pub fn len(&self) -> usize {
        self.items.borrow().len()
    }

    /// Whether nothing is waiting.
    pub fn is_empty(&self) -> bool {
        self.items.borrow().is_empty()
    }
}
