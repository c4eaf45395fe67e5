//! The query log: every statement at debug level through the `log` crate (target
//! [`SQL_TARGET`], with its duration, connection name and role; at warn level when
//! slower than the threshold of `DB::set_slow_query_threshold`), and a per-thread
//! capture that tests use to see (and count) the statements that ran.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU64, Ordering};
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
    /// The name of the connection it ran on (empty when run on a connection opened
    /// directly, outside the `DB` registry).
    pub connection: String,
    /// Whether it ran on the connection's primary or on a read replica.
    pub role: Role,
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

/// The `log` target statements are reported under (debug level; slow ones at warn).
pub const SQL_TARGET: &str = "orm::sql";

/// Statements slower than this many nanoseconds are logged at warn level (0: off).
static SLOW_NANOS: AtomicU64 = AtomicU64::new(0);

/// Sets (or with `None` clears) the slow-statement threshold.
pub(crate) fn set_slow_threshold(threshold: Option<Duration>) {
    let nanos = threshold.map_or(0, |d| {
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1)
    });
    SLOW_NANOS.store(nanos, Ordering::Relaxed);
}

/// Which server of a connection a statement ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Role {
    /// The connection's primary (every connection without read replicas).
    #[default]
    Primary,
    /// One of the connection's read replicas.
    Replica,
}

impl Role {
    /// `"primary"` or `"replica"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
        }
    }
}

thread_local! {
    /// The connection name and role the thread's statements are reported with.
    static CONTEXT: RefCell<(String, Role)> = const { RefCell::new((String::new(), Role::Primary)) };
}

/// Names the connection (and its role) that the thread's statements run on until the
/// guard drops. Costs nothing unless statements are being reported.
pub(crate) struct Context {
    outer: Option<(String, Role)>,
}

impl Context {
    #[inline]
    pub(crate) fn enter(name: &str, role: Role) -> Context {
        if !wanted() {
            return Context { outer: None };
        }
        let outer = CONTEXT.with(|c| {
            let mut c = c.borrow_mut();
            let outer = c.clone();
            c.0.clear();
            c.0.push_str(name);
            c.1 = role;
            outer
        });
        Context { outer: Some(outer) }
    }
}

impl Drop for Context {
    #[inline]
    fn drop(&mut self) {
        if let Some(outer) = self.outer.take() {
            CONTEXT.with(|c| *c.borrow_mut() = outer);
        }
    }
}

/// Whether anything reads statement timings: a logger taking `debug` records for
/// [`SQL_TARGET`], a slow-statement threshold, this thread's capture, or (feature
/// `tracing`) a subscriber taking debug spans.
#[inline]
fn wanted() -> bool {
    log::log_enabled!(target: SQL_TARGET, log::Level::Debug)
        || SLOW_NANOS.load(Ordering::Relaxed) != 0
        || CAPTURING.with(Cell::get)
        || tracing_wanted()
}

#[cfg(feature = "tracing")]
#[inline]
fn tracing_wanted() -> bool {
    tracing::level_enabled!(tracing::Level::DEBUG)
}

#[cfg(not(feature = "tracing"))]
#[inline(always)]
fn tracing_wanted() -> bool {
    false
}

/// A statement being timed (see [`start`]).
pub(crate) struct Started {
    at: Option<Instant>,
    /// The statement's span (feature `tracing`), entered until [`finish`].
    #[cfg(feature = "tracing")]
    span: Option<tracing::span::EnteredSpan>,
}

/// Starts timing a statement when something will read the time (see [`wanted`]);
/// otherwise reads no clock. With feature `tracing`, enters the statement's span.
#[inline]
pub(crate) fn start() -> Started {
    Started {
        at: wanted().then(Instant::now),
        #[cfg(feature = "tracing")]
        span: enter_span(),
    }
}

/// The statement's span, named after the thread's connection and role; its SQL is
/// recorded when it ends ([`finish`]), since the caller has it then.
#[cfg(feature = "tracing")]
fn enter_span() -> Option<tracing::span::EnteredSpan> {
    use tracing::field::Empty;
    let span = tracing::debug_span!(
        target: SQL_TARGET,
        "statement",
        sql = Empty,
        bindings = Empty,
        connection = Empty,
        role = Empty
    );
    if span.is_disabled() {
        return None;
    }
    CONTEXT.with(|c| {
        let c = c.borrow();
        if !c.0.is_empty() {
            span.record("connection", c.0.as_str());
        }
        span.record("role", c.1.as_str());
    });
    Some(span.entered())
}

/// Records a statement timed by [`start`] (nothing when it was not timed), and closes
/// its span.
#[inline]
pub(crate) fn finish(started: Started, sql: &str, bindings: usize) {
    #[cfg(feature = "tracing")]
    if let Some(span) = &started.span {
        span.record("sql", sql);
        span.record("bindings", bindings as u64);
    }
    if let Some(at) = started.at {
        record(sql, bindings, at.elapsed());
    }
}

#[cold]
fn record(sql: &str, bindings: usize, elapsed: Duration) {
    let slow = SLOW_NANOS.load(Ordering::Relaxed);
    let level = if slow != 0 && elapsed.as_nanos() >= u128::from(slow) {
        log::Level::Warn
    } else {
        log::Level::Debug
    };
    if log::log_enabled!(target: SQL_TARGET, level) {
        CONTEXT.with(|c| {
            let c = c.borrow();
            let name = if c.0.is_empty() { "?" } else { c.0.as_str() };
            let slow = if level == log::Level::Warn {
                "slow statement: "
            } else {
                ""
            };
            log::log!(
                target: SQL_TARGET,
                level,
                "{slow}{sql} [{bindings} bindings] {elapsed:?} connection={name} role={}",
                c.1.as_str()
            );
        });
    }
    if CAPTURING.with(Cell::get) {
        let (connection, role) = CONTEXT.with(|c| c.borrow().clone());
        CAPTURED.with(|c| {
            c.borrow_mut().push(LoggedQuery {
                sql: sql.to_owned(),
                bindings,
                elapsed,
                connection,
                role,
            })
        });
    }
}
