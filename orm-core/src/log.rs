//! The query log: every statement at debug level through the `log` crate, and a
//! per-thread capture that tests use to see (and count) the statements that ran.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

/// One statement that ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedQuery {
    /// The SQL text sent to the database (placeholders, never values).
    pub sql: String,
    /// How many values were bound.
    pub bindings: usize,
    /// How long the statement took.
    pub elapsed: Duration,
}

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static CAPTURED: RefCell<Vec<LoggedQuery>> = const { RefCell::new(Vec::new()) };
}

/// Starts recording the statements run on this thread (cleared first).
pub(crate) fn enable() {
    CAPTURED.with(|c| c.borrow_mut().clear());
    CAPTURING.with(|c| c.set(true));
}

/// Stops recording on this thread.
pub(crate) fn disable() {
    CAPTURING.with(|c| c.set(false));
}

/// The statements recorded on this thread so far.
pub(crate) fn get() -> Vec<LoggedQuery> {
    CAPTURED.with(|c| c.borrow().clone())
}

/// Forgets the statements recorded on this thread.
pub(crate) fn flush() {
    CAPTURED.with(|c| c.borrow_mut().clear());
}

/// Starts timing a statement when something will read the time (a logger taking
/// `debug` records for target `orm`, or this thread's capture); `None` otherwise, so
/// the common case reads no clock.
pub(crate) fn start() -> Option<Instant> {
    let wanted = log::log_enabled!(target: "orm", log::Level::Debug) || CAPTURING.with(Cell::get);
    wanted.then(Instant::now)
}

/// Records a statement timed by [`start`] (nothing when it was not timed).
pub(crate) fn finish(started: Option<Instant>, sql: &str, bindings: usize) {
    if let Some(started) = started {
        record(sql, bindings, started.elapsed());
    }
}

fn record(sql: &str, bindings: usize, elapsed: Duration) {
    log::debug!(target: "orm", "{sql} [{bindings} bindings] {elapsed:?}");
    if CAPTURING.with(Cell::get) {
        CAPTURED.with(|c| {
            c.borrow_mut().push(LoggedQuery {
                sql: sql.to_owned(),
                bindings,
                elapsed,
            })
        });
    }
}
