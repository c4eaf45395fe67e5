//! Connection pools: one per configured connection name. With the `pool` feature (on by
//! default) r2d2's, with the connection returned last kept aside for the next checkout
//! ([`r2d2_pool`]); without it, one connection shared under a lock ([`single`]). Both
//! verify a connection before handing it out and clean it when it comes back.

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::time::Duration;

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::url::ConnectOptions;

#[cfg(feature = "pool")]
mod r2d2_pool;
#[cfg(not(feature = "pool"))]
mod single;

#[cfg(feature = "pool")]
pub use r2d2_pool::{Manager, Pool, PooledConnection};
#[cfg(not(feature = "pool"))]
pub use single::{Pool, PooledConnection};

impl Pool {
    /// A pool for `url` with default settings.
    pub fn new(url: &str) -> Result<Pool> {
        Pool::with_config(url, PoolConfig::default())
    }

    /// Connections in use and idle, and the pool's counters (checkouts, waits,
    /// timeouts).
    pub fn status(&self) -> crate::metrics::PoolStatus {
        self.metrics()
            .status(self.connections(), self.idle_connections(), self.max_size())
    }
}

impl Deref for PooledConnection {
    type Target = Connection;

    #[inline]
    fn deref(&self) -> &Connection {
        self.connection()
            .expect("a pooled connection until dropped")
    }
}

impl DerefMut for PooledConnection {
    #[inline]
    fn deref_mut(&mut self) -> &mut Connection {
        self.connection_mut()
            .expect("a pooled connection until dropped")
    }
}

impl fmt::Debug for PooledConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledConnection")
            .field("conn", &self.connection())
            .finish()
    }
}

/// Pool settings for [`DB::connect_with`](crate::DB::connect_with).
///
/// Without the `pool` feature a connection name holds one connection, opened by
/// `DB::connect` and kept until `DB::disconnect`: only `connection_timeout` applies (how
/// long a thread waits while another uses it).
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Most connections open at once. In-memory SQLite always uses 1, so that every
    /// caller sees the same database.
    pub max_size: u32,
    /// Connections kept open while idle (`None`: as many as `max_size`).
    pub min_idle: Option<u32>,
    /// How long a checkout waits for a free connection before failing.
    pub connection_timeout: Duration,
    /// How long a connection may sit idle before the pool closes it (`None`: never).
    /// Ignored for `sqlite::memory:`, whose database lives as long as its one connection.
    pub idle_timeout: Option<Duration>,
    /// How long a connection may live before the pool closes it (`None`: forever).
    /// Ignored for `sqlite::memory:`, like `idle_timeout`.
    pub max_lifetime: Option<Duration>,
}

impl PoolConfig {
    /// Refuses durations the pool cannot use (zero), which r2d2 would panic on.
    pub(crate) fn check(&self) -> Result<()> {
        let zero = |what: &str| Error::Config(format!("PoolConfig::{what} must not be zero"));
        if self.connection_timeout.is_zero() {
            return Err(zero("connection_timeout"));
        }
        if self.idle_timeout.is_some_and(|d| d.is_zero()) {
            return Err(zero("idle_timeout (use None for no timeout)"));
        }
        if self.max_lifetime.is_some_and(|d| d.is_zero()) {
            return Err(zero("max_lifetime (use None for no limit)"));
        }
        Ok(())
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_size: 10,
            min_idle: Some(0),
            connection_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(10 * 60)),
            max_lifetime: Some(Duration::from_secs(30 * 60)),
        }
    }
}

/// How long a pooled connection may sit idle before a checkout verifies it with a round
/// trip (as HikariCP's 500 ms "alive bypass window").
const VERIFY_AFTER_IDLE: Duration = Duration::from_millis(500);

thread_local! {
    static THREAD_MARK: u8 = const { 0 };
}

/// This thread, as the address of a thread-local (cheaper than `thread::current()`;
/// never 0). A one-connection pool notes which thread holds its connection, so that the
/// same thread asking again fails at once instead of waiting for itself.
fn this_thread() -> usize {
    THREAD_MARK.with(|mark| std::ptr::from_ref(mark) as usize)
}

/// Whether a pooled connection may be handed out (run on every checkout).
#[inline]
pub(super) fn verify(options: &ConnectOptions, conn: &mut Connection) -> Result<()> {
    if conn.fit_for_checkout(VERIFY_AFTER_IDLE) {
        Ok(())
    } else {
        conn.mark_broken();
        Err(closed_by_server(options))
    }
}

#[cold]
fn closed_by_server(options: &ConnectOptions) -> Error {
    Error::Connection {
        message: format!(
            "a pooled connection to {} was closed by the server",
            options.redacted()
        ),
        source: None,
    }
}

/// Readies a returned connection for its next user; `false` when it cannot be (then it
/// is discarded).
pub(super) fn make_clean(conn: &mut Connection) -> bool {
    conn.mark_idle();
    conn.reset()
}
