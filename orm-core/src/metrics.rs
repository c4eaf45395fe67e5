//! Pool metrics ([`DB::pool_status`]) and the slow-statement threshold
//! ([`DB::set_slow_query_threshold`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::db::DB;
use crate::error::Result;
use crate::pool::Pool;

/// A checkout that took longer than this waited for a connection (to be freed or
/// opened) rather than taking an idle one.
const WAITED: Duration = Duration::from_millis(1);

/// Counters a pool's checkouts update (with the `pool` feature through r2d2's event
/// hook, and one relaxed increment on the checkout of an idle connection).
#[derive(Debug, Default)]
pub(crate) struct PoolMetrics {
    checkouts: AtomicU64,
    waits: AtomicU64,
    wait_nanos: AtomicU64,
    timeouts: AtomicU64,
    opened: AtomicU64,
    closed: AtomicU64,
}

/// The pool's r2d2 event handler, counting into its [`PoolMetrics`].
#[cfg(feature = "pool")]
#[derive(Debug)]
pub(crate) struct Events(pub(crate) std::sync::Arc<PoolMetrics>);

#[cfg(feature = "pool")]
impl r2d2::HandleEvent for Events {
    fn handle_acquire(&self, _: r2d2::event::AcquireEvent) {
        self.0.count_opened();
    }

    fn handle_release(&self, _: r2d2::event::ReleaseEvent) {
        self.0.count_closed();
    }

    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        self.0.count_checkout(event.duration());
    }

    fn handle_timeout(&self, _: r2d2::event::TimeoutEvent) {
        self.0.count_timeout();
    }
}

/// A snapshot of a connection pool ([`DB::pool_status`], [`Pool::status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStatus {
    /// Connections checked out right now.
    pub in_use: u32,
    /// Connections open and idle.
    pub idle: u32,
    /// The most connections the pool opens.
    pub max_size: u32,
    /// Checkouts since the pool was created.
    pub checkouts: u64,
    /// Checkouts that waited (1 ms or more) for a connection to be freed or opened.
    pub waits: u64,
    /// The time those checkouts waited, in all.
    pub wait_time: Duration,
    /// Checkouts that gave up after `PoolConfig::connection_timeout`.
    pub timeouts: u64,
    /// Connections opened since the pool was created.
    pub opened: u64,
    /// Connections closed since the pool was created (idle or too old, or broken).
    pub closed: u64,
}

impl PoolMetrics {
    /// A checkout that found an idle connection at once ([`Pool::get`]'s fast path,
    /// which r2d2 reports no event for).
    #[cfg_attr(not(feature = "pool"), allow(dead_code))]
    pub(crate) fn count_idle_checkout(&self) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
    }

    /// A checkout that took `waited` (counted as a wait from 1 ms up).
    pub(crate) fn count_checkout(&self, waited: Duration) {
        self.checkouts.fetch_add(1, Ordering::Relaxed);
        if waited >= WAITED {
            self.waits.fetch_add(1, Ordering::Relaxed);
            let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
            self.wait_nanos.fetch_add(nanos, Ordering::Relaxed);
        }
    }

    pub(crate) fn count_timeout(&self) {
        self.timeouts.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_closed(&self) {
        self.closed.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn status(&self, connections: u32, idle: u32, max_size: u32) -> PoolStatus {
        PoolStatus {
            in_use: connections.saturating_sub(idle),
            idle,
            max_size,
            checkouts: self.checkouts.load(Ordering::Relaxed),
            waits: self.waits.load(Ordering::Relaxed),
            wait_time: Duration::from_nanos(self.wait_nanos.load(Ordering::Relaxed)),
            timeouts: self.timeouts.load(Ordering::Relaxed),
            opened: self.opened.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
        }
    }
}

/// Statement reporting and pool metrics (see the guide's "Scaling out" page).
impl DB {
    /// The state and counters of connection `name`'s pool (its primary's, for a
    /// connection with read replicas).
    ///
    /// ```
    /// use orm_core::DB;
    /// DB::connect_named("metrics_doc", "sqlite::memory:")?;
    /// DB::connection("metrics_doc").select("SELECT 1", &[])?;
    /// let status = DB::pool_status("metrics_doc")?;
    /// assert_eq!((status.in_use, status.timeouts), (0, 0));
    /// assert!(status.checkouts >= 1);
    /// # Ok::<(), orm_core::Error>(())
    /// ```
    pub fn pool_status(name: &str) -> Result<PoolStatus> {
        DB::pool(name).map(|pool: Pool| pool.status())
    }

    /// Reports statements that take `threshold` or longer at warn level (target
    /// [`crate::SQL_TARGET`], with the connection name and role); `None` turns it off.
    /// Applies to every thread.
    pub fn set_slow_query_threshold(threshold: Option<Duration>) {
        crate::log::set_slow_threshold(threshold);
    }
}
