//! The pool with the `pool` feature: r2d2 underneath, with the connection returned last
//! kept aside for the next checkout.
//!
//! A checkout through r2d2 takes its lock twice and reads the clock three times, which a
//! busy loop of short SQLite statements notices (about as much as the statement itself
//! costs). So a returned connection waits in the pool's *hot slot* (as HikariCP keeps
//! a thread's last connection): the next checkout takes it with one uncontended lock.
//! r2d2 still owns the connection (it counts as checked out there), so `max_size` holds;
//! a returned connection goes straight back to r2d2 when a checkout is waiting in it,
//! and one left unused in the slot for a sweep period goes back too, so that r2d2's
//! `idle_timeout` closes it as it would any idle connection.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use scheduled_thread_pool::{OnPoolDropBehavior, ScheduledThreadPool};

use super::{make_clean, this_thread, verify, PoolConfig};
use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::metrics::PoolMetrics;
use crate::url::ConnectOptions;
use crate::Backend;

/// The longest a connection left unused in the hot slot stays there before it goes back
/// to r2d2 (whose reaper runs every 30 s).
const LONGEST_SWEEP: Duration = Duration::from_secs(30);

/// Opens pooled connections and makes them clean on return (an open transaction is
/// rolled back; a connection that cannot be cleaned is discarded).
#[derive(Debug)]
pub struct Manager {
    options: ConnectOptions,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Connection;
    type Error = Error;

    fn connect(&self) -> Result<Connection> {
        Connection::open_with(&self.options)
    }

    /// Runs on every checkout. A connection known to be closed is refused and replaced;
    /// one idle for a while is also asked for a round trip (its server may have ended
    /// the session meanwhile, e.g. a restart), while one used moments ago is trusted, so
    /// a busy loop of checkouts pays nothing.
    fn is_valid(&self, conn: &mut Connection) -> Result<()> {
        verify(&self.options, conn)
    }

    fn has_broken(&self, conn: &mut Connection) -> bool {
        !make_clean(conn)
    }
}

type R2d2Connection = r2d2::PooledConnection<Manager>;

/// A connection checked out of a [`Pool`]; returns to it when dropped. Dereferences to
/// [`Connection`].
pub struct PooledConnection {
    conn: Option<R2d2Connection>,
    hot: Arc<Hot>,
}

impl PooledConnection {
    #[inline]
    pub(super) fn connection(&self) -> Option<&Connection> {
        self.conn.as_deref()
    }

    #[inline]
    pub(super) fn connection_mut(&mut self) -> Option<&mut Connection> {
        self.conn.as_deref_mut()
    }
}

impl Drop for PooledConnection {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.hot.single {
            self.hot.holder.store(0, Ordering::Relaxed);
        }
        // A connection past the pool's `max_lifetime` is closed now: one in steady use
        // never sits idle in r2d2, whose reaper alone would close it.
        if !make_clean(&mut conn) || self.hot.max_lifetime.is_some_and(|max| conn.outlived(max)) {
            // r2d2's put-back asks `has_broken`, which says so: the connection is closed.
            conn.mark_broken();
            return;
        }
        let mut slot = self.hot.lock();
        if slot.waiting == 0 && slot.conn.is_none() {
            slot.conn = Some(conn);
            slot.used = true;
        }
        // Otherwise `conn` goes back to r2d2 (after the lock is released), which hands it
        // to a waiting checkout.
    }
}

/// The pool's hot slot: the connection returned last, checked out of r2d2 but idle.
struct Hot {
    slot: Mutex<HotSlot>,
    /// The pool's `max_lifetime`: a connection returned older than this is closed.
    max_lifetime: Option<Duration>,
    /// The sweep that moves an unused hot connection back to r2d2; cancelled with the pool.
    sweep: Mutex<Option<scheduled_thread_pool::JobHandle>>,
    /// Whether the pool has one connection (an in-memory database, `max_size` 1).
    single: bool,
    /// Then, the thread holding it (`this_thread`; 0: none): that thread asking again
    /// fails at once (`DB::acquire` held while a model query runs) instead of waiting
    /// out the checkout timeout for itself.
    holder: AtomicUsize,
}

#[derive(Default)]
struct HotSlot {
    conn: Option<R2d2Connection>,
    /// Checkouts waiting in r2d2: a returned connection goes to them, not to the slot.
    waiting: usize,
    /// Whether the slot was filled since the last sweep.
    used: bool,
}

impl Hot {
    fn lock(&self) -> MutexGuard<'_, HotSlot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[inline]
    fn take(&self) -> Option<R2d2Connection> {
        self.lock().conn.take()
    }

    fn occupied(&self) -> bool {
        self.lock().conn.is_some()
    }

    /// Moves a hot connection that was not used since the last sweep back to r2d2.
    fn sweep(&self) {
        let unused = {
            let mut slot = self.lock();
            if std::mem::take(&mut slot.used) {
                None
            } else {
                slot.conn.take()
            }
        };
        drop(unused);
    }
}

impl Drop for Hot {
    fn drop(&mut self) {
        if let Some(job) = self.sweep.get_mut().unwrap_or_else(|e| e.into_inner()) {
            job.cancel();
        }
    }
}

impl fmt::Debug for Hot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hot")
            .field("occupied", &self.occupied())
            .finish()
    }
}

/// Counts a checkout waiting in r2d2 while it waits (so returned connections go to it).
struct Waiting<'h>(&'h Hot);

impl<'h> Waiting<'h> {
    /// Registers a waiting checkout, unless the slot was filled meanwhile: then that
    /// connection, to take instead.
    fn enter(hot: &'h Hot) -> std::result::Result<Waiting<'h>, R2d2Connection> {
        let mut slot = hot.lock();
        match slot.conn.take() {
            Some(conn) => Err(conn),
            None => {
                slot.waiting += 1;
                Ok(Waiting(hot))
            }
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.lock().waiting -= 1;
    }
}

/// A pool of connections to one database.
#[derive(Clone, Debug)]
pub struct Pool {
    inner: r2d2::Pool<Manager>,
    hot: Arc<Hot>,
    options: Arc<ConnectOptions>,
    metrics: Arc<PoolMetrics>,
}

impl Pool {
    /// A pool for `url`. Opens (and closes) one connection right away, so a bad URL or an
    /// unreachable server is reported here with its cause.
    pub fn with_config(url: &str, config: PoolConfig) -> Result<Pool> {
        let options = ConnectOptions::parse(url)?;
        config.check()?;
        // Fail fast with the real cause when the URL or server is bad.
        drop(Connection::open_within(
            &options,
            config.connection_timeout,
        )?);
        // An in-memory database is its connection: one, kept for the pool's whole life
        // (closing it when idle or old would leave the next caller a new, empty database).
        let (max_size, idle_timeout, max_lifetime) = if options.is_memory() {
            (1, None, None)
        } else {
            (
                config.max_size.max(1),
                config.idle_timeout,
                config.max_lifetime,
            )
        };
        let metrics = Arc::<PoolMetrics>::default();
        // Three workers as r2d2's default, made here so that the sweep runs on them too;
        // they end when the pool is dropped rather than after the next reaper period.
        let workers = Arc::new(
            ScheduledThreadPool::builder()
                .num_threads(3)
                .thread_name_pattern("orm-pool-{}")
                .on_drop_behavior(OnPoolDropBehavior::DiscardPendingScheduled)
                .build(),
        );
        let inner = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(config.min_idle.map(|n| n.min(max_size)))
            .idle_timeout(idle_timeout)
            .max_lifetime(max_lifetime)
            .connection_timeout(config.connection_timeout)
            .test_on_check_out(true)
            .thread_pool(Arc::clone(&workers))
            .event_handler(Box::new(crate::metrics::Events(Arc::clone(&metrics))))
            .build_unchecked(Manager {
                options: options.clone(),
            });
        let hot = Arc::new(Hot {
            slot: Mutex::default(),
            max_lifetime,
            sweep: Mutex::new(None),
            single: max_size == 1,
            holder: AtomicUsize::new(0),
        });
        if let Some(idle_timeout) = idle_timeout {
            let every = idle_timeout.min(LONGEST_SWEEP);
            let weak: Weak<Hot> = Arc::downgrade(&hot);
            let job = workers.execute_at_fixed_rate(every, every, move || {
                if let Some(hot) = weak.upgrade() {
                    hot.sweep();
                }
            });
            *hot.sweep.lock().unwrap_or_else(|e| e.into_inner()) = Some(job);
        }
        Ok(Pool {
            inner,
            hot,
            options: Arc::new(options),
            metrics,
        })
    }

    /// Checks a connection out (waiting up to the configured timeout).
    pub fn get(&self) -> Result<PooledConnection> {
        // The hot connection first, then an idle one of r2d2's (its waiting checkout
        // reads the clock twice more: its deadline and a checkout event). It waits (or
        // opens a connection) only when neither is there.
        if let Some(conn) = self.hot.take().and_then(|conn| self.checked(conn)) {
            self.metrics.count_idle_checkout();
            return Ok(self.wrap(conn));
        }
        if let Some(conn) = self.inner.try_get() {
            self.metrics.count_idle_checkout();
            return Ok(self.wrap(conn));
        }
        if self.hot.single && self.hot.holder.load(Ordering::Relaxed) == this_thread() {
            return Err(Error::ConnectionInUse(self.options.redacted().to_owned()));
        }
        loop {
            let waiting = match Waiting::enter(&self.hot) {
                Ok(waiting) => waiting,
                Err(conn) => match self.checked(conn) {
                    Some(conn) => {
                        self.metrics.count_idle_checkout();
                        return Ok(self.wrap(conn));
                    }
                    None => continue,
                },
            };
            let conn = self.inner.get().map_err(|e| Error::Connection {
                message: format!(
                    "no connection to {} available: {e}",
                    self.options.redacted()
                ),
                source: Some(Box::new(e)),
            })?;
            drop(waiting);
            return Ok(self.wrap(conn));
        }
    }

    /// The hot connection if it is still usable; else it is discarded.
    #[inline]
    fn checked(&self, mut conn: R2d2Connection) -> Option<R2d2Connection> {
        match verify(&self.options, &mut conn) {
            Ok(()) => Some(conn),
            // Marked broken: back in r2d2, which closes it.
            Err(_) => None,
        }
    }

    #[inline]
    fn wrap(&self, conn: R2d2Connection) -> PooledConnection {
        if self.hot.single {
            self.hot.holder.store(this_thread(), Ordering::Relaxed);
        }
        PooledConnection {
            conn: Some(conn),
            hot: Arc::clone(&self.hot),
        }
    }

    /// The backend the pool connects to.
    pub fn backend(&self) -> Backend {
        self.options.backend()
    }

    /// The most connections the pool opens.
    pub(crate) fn max_size(&self) -> u32 {
        self.inner.max_size()
    }

    /// Connections open (idle and in use).
    pub fn connections(&self) -> u32 {
        self.inner.state().connections
    }

    /// Connections open and idle.
    pub fn idle_connections(&self) -> u32 {
        self.inner.state().idle_connections + u32::from(self.hot.occupied())
    }

    pub(super) fn metrics(&self) -> &PoolMetrics {
        &self.metrics
    }
}
