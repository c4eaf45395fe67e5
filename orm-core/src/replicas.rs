//! Read replicas: a named connection with one primary and any number of read replicas.
//!
//! The primary is the connection's ordinary pool (in `db`'s registry), so writes,
//! transactions, executor scopes and migrations never look here. Reads that may go to a
//! replica (the query builder's read terminals, `Model::find`, `DB::select`) ask
//! [`crate::db::read_replicas`] first; it answers `None` at the cost of one atomic load
//! when no connection has replicas. A replica that cannot be reached is skipped for
//! [`ReplicaConfig::retry_after`] with a warning, and the read moves on to the next
//! replica, then to the primary.
//!
//! Sticky reads: after a call that may write on a connection (a write terminal, a model
//! save, a transaction, raw `DB::execute`), the thread's reads of that connection go to
//! the primary until [`DB::forget_sticky`], so a thread reads its own writes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use crate::backend::Connection;
use crate::db::{read_replicas, with_named_on, DB, DEFAULT_CONNECTION};
use crate::error::{Error, Result};
use crate::pool::PoolConfig;
use crate::url::ConnectOptions;

/// Read-replica settings for [`DB::connect_replicated`].
#[derive(Debug, Clone)]
pub struct ReplicaConfig {
    /// After a write on a thread, that thread's later reads of the connection go to the
    /// primary (until [`DB::forget_sticky`]), so it reads its own writes. Default: on.
    pub sticky: bool,
    /// How long a replica that could not be reached is left out of the rotation.
    /// Default: 30 s.
    pub retry_after: Duration,
    /// How long a read waits for a connection to a replica (connecting included) before
    /// it moves on to the next replica or the primary. Default: 2 s. A PostgreSQL replica
    /// URL without `connect_timeout` gets this one (in whole seconds).
    pub replica_timeout: Duration,
    /// Pool settings for the primary; the replicas' pools take them too, with
    /// `connection_timeout` replaced by `replica_timeout`.
    pub pool: PoolConfig,
}

impl Default for ReplicaConfig {
    fn default() -> Self {
        ReplicaConfig {
            sticky: true,
            retry_after: Duration::from_secs(30),
            replica_timeout: Duration::from_secs(2),
            pool: PoolConfig::default(),
        }
    }
}

/// One read replica of a connection, as [`DB::replica_status`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicaStatus {
    /// The replica's URL, password hidden.
    pub url: String,
    /// Whether reads skip it for now (it could not be reached; see
    /// [`ReplicaConfig::retry_after`]).
    pub skipped: bool,
    /// Its pool's state and counters; `None` until a read first opened it.
    pub pool: Option<crate::metrics::PoolStatus>,
}

/// One read replica: its pool, opened on first use (so a replica that is down when the
/// connection is configured only costs a warning), and until when it is skipped.
struct Replica {
    url: String,
    /// The URL with any password hidden, for messages.
    shown: String,
    pool: Mutex<Option<crate::pool::Pool>>,
    down_until: Mutex<Option<Instant>>,
}

/// The read replicas of one named connection.
pub(crate) struct ReplicaSet {
    replicas: Vec<Replica>,
    next: AtomicUsize,
    config: ReplicaConfig,
}

fn sets() -> &'static RwLock<HashMap<String, Arc<ReplicaSet>>> {
    static SETS: OnceLock<RwLock<HashMap<String, Arc<ReplicaSet>>>> = OnceLock::new();
    SETS.get_or_init(Default::default)
}

/// Whether any connection has replicas (set once one is configured, never cleared):
/// the whole cost of this module for an application without replicas.
static ANY: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// The connections this thread may have written on (sticky reads).
    static STICKY: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Depth of [`DB::on_primary`] calls on this thread.
    static ON_PRIMARY: Cell<u32> = const { Cell::new(0) };
}

/// Whether any connection has read replicas.
#[inline]
pub(crate) fn any() -> bool {
    ANY.load(Ordering::Relaxed)
}

fn set_of(name: &str) -> Option<Arc<ReplicaSet>> {
    sets()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .cloned()
}

/// Notes that this thread may have written on `name`: its later reads stick to the
/// primary when the connection is configured so.
#[inline]
pub(crate) fn wrote(name: &str) {
    if any() {
        note_write(name);
    }
}

#[cold]
fn note_write(name: &str) {
    if set_of(name).is_some_and(|set| set.config.sticky) {
        STICKY.with(|s| {
            let mut s = s.borrow_mut();
            if !s.iter().any(|n| n == name) {
                s.push(name.to_owned());
            }
        });
    }
}

/// The replicas a read on `name` may use now (see [`read_replicas`]).
pub(crate) fn for_reads(name: &str) -> Option<Arc<ReplicaSet>> {
    if ON_PRIMARY.with(Cell::get) > 0 || STICKY.with(|s| s.borrow().iter().any(|n| n == name)) {
        return None;
    }
    set_of(name)
}

/// Runs a read on `name`: on a replica when [`read_replicas`] allows one, else on the
/// primary (the thread's scoped connection or the pool) without making reads sticky.
/// `f` may run more than once: a replica lost during the call is skipped and the read
/// runs again elsewhere.
pub(crate) fn read_named<T>(name: &str, f: impl FnMut(&mut Connection) -> Result<T>) -> Result<T> {
    match read_replicas(name) {
        Some(set) => set.read(name, f),
        None => {
            let mut f = f;
            with_named_on(name, false, (), |(), conn| f(conn))
        }
    }
}

/// Whether `error` says the server could not be reached or the session was lost (as
/// opposed to a failure of the statement itself).
fn unreachable(error: &Error) -> bool {
    matches!(error, Error::Connection { .. })
}

impl ReplicaSet {
    /// Runs `f` on a connection to a replica, rotating over the live ones; a replica that
    /// cannot be reached (or is lost during `f`) is skipped for a while and `f` runs on
    /// the next one, and on the primary when none is left. Only a failure of the
    /// statement itself (or of the primary) is returned.
    pub(crate) fn read<T>(
        &self,
        name: &str,
        f: impl FnMut(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        self.read_retrying_while(name, || true, f)
    }

    /// [`ReplicaSet::read`], running `f` again after a lost replica only while
    /// `may_retry` says so (a stream that already handed rows out must not).
    pub(crate) fn read_retrying_while<T>(
        &self,
        name: &str,
        may_retry: impl Fn() -> bool,
        mut f: impl FnMut(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let mut out = None;
        self.read_on_any(name, &may_retry, &mut |conn| {
            // A retry runs `f` again only after a failed run, which left `out` empty:
            // forgotten, not dropped, it compiles no drop of a `T` here.
            std::mem::forget(out.replace(f(conn)?));
            Ok(())
        })?;
        // `f` ran whenever the read succeeded; as in `with_named_on`, a read that never
        // reached `f` found its connection taken.
        out.ok_or_else(|| crate::db::in_use(name))
    }

    /// [`ReplicaSet::read_retrying_while`] without its types (compiled once): `f`
    /// keeps what it read.
    fn read_on_any(
        &self,
        name: &str,
        may_retry: &dyn Fn() -> bool,
        f: &mut dyn FnMut(&mut Connection) -> Result<()>,
    ) -> Result<()> {
        let n = self.replicas.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let replica = &self.replicas[(start + i) % n];
            if replica.is_down() {
                continue;
            }
            let mut conn = match replica.checkout(&self.config) {
                Ok(Some(conn)) => conn,
                // Found down by another read while this one waited to open its pool.
                Ok(None) => continue,
                Err(e) => {
                    self.skip(name, replica, &e);
                    continue;
                }
            };
            let _context = crate::log::Context::enter(name, crate::log::Role::Replica);
            match f(&mut conn) {
                Err(e) if unreachable(&e) => {
                    self.skip(name, replica, &e);
                    if !may_retry() {
                        return Err(e);
                    }
                    continue;
                }
                result => return result,
            }
        }
        // No replica answered: the primary serves the read.
        with_named_on(name, false, (), |(), conn| f(conn))
    }

    fn skip(&self, name: &str, replica: &Replica, error: &Error) {
        let until = Instant::now() + self.config.retry_after;
        *replica.down_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(until);
        log::warn!(
            target: "orm::replicas",
            "read replica {} of connection `{name}` is unavailable, skipping it for {:?}: {error}",
            replica.shown,
            self.config.retry_after,
        );
    }
}

impl Replica {
    fn is_down(&self) -> bool {
        let mut down = self.down_until.lock().unwrap_or_else(|e| e.into_inner());
        match *down {
            Some(until) if Instant::now() < until => true,
            Some(_) => {
                // Its time is up: try it again.
                *down = None;
                false
            }
            None => false,
        }
    }

    /// A connection to this replica; `None` when it was found down while this call
    /// waited for another one that was opening its pool.
    fn checkout(&self, config: &ReplicaConfig) -> Result<Option<crate::pool::PooledConnection>> {
        let pool = {
            let mut slot = self.pool.lock().unwrap_or_else(|e| e.into_inner());
            match &*slot {
                Some(pool) => pool.clone(),
                None if self.is_down() => return Ok(None),
                None => {
                    let pool_config = PoolConfig {
                        connection_timeout: config.replica_timeout,
                        ..config.pool.clone()
                    };
                    let pool = crate::pool::Pool::with_config(&self.url, pool_config)?;
                    *slot = Some(pool.clone());
                    pool
                }
            }
        };
        pool.get().map(Some)
    }
}

/// `url` with a PostgreSQL `connect_timeout` of `timeout` (whole seconds, at least 1)
/// unless it sets one: a replica host that drops packets would otherwise hold a read for
/// the operating system's TCP timeout (minutes) before it is skipped.
fn bounded_connect(url: &str, backend: crate::Backend, timeout: Duration) -> String {
    if backend != crate::Backend::Postgres || url.contains("connect_timeout=") {
        return url.to_owned();
    }
    let seconds = timeout.as_secs_f64().ceil().max(1.0) as u64;
    crate::url::with_query_option(url, &format!("connect_timeout={seconds}"))
}

/// Configures `name` with a primary and read replicas (see [`DB::connect_replicated`]).
fn configure(name: &str, primary: &str, replicas: &[&str], config: ReplicaConfig) -> Result<()> {
    if config.replica_timeout.is_zero() {
        return Err(Error::Config(
            "ReplicaConfig::replica_timeout must not be zero".into(),
        ));
    }
    let mut parsed = Vec::with_capacity(replicas.len());
    for url in replicas {
        let options = ConnectOptions::parse(url)?;
        if options.is_memory() {
            return Err(Error::Config(format!(
                "a read replica cannot be an in-memory database ({})",
                options.redacted()
            )));
        }
        parsed.push(Replica {
            url: bounded_connect(url, options.backend(), config.replica_timeout),
            shown: options.redacted().to_owned(),
            pool: Mutex::new(None),
            down_until: Mutex::new(None),
        });
    }
    DB::connect_with(name, primary, config.pool.clone())?;
    let mut sets = sets().write().unwrap_or_else(|e| e.into_inner());
    if parsed.is_empty() {
        sets.remove(name);
        return Ok(());
    }
    sets.insert(
        name.to_owned(),
        Arc::new(ReplicaSet {
            replicas: parsed,
            next: AtomicUsize::new(0),
            config,
        }),
    );
    ANY.store(true, Ordering::Relaxed);
    Ok(())
}

/// `DB::from_env` with `DATABASE_READ_URLS` read too.
pub(crate) fn connect_from_env(primary: &str) -> Result<()> {
    match std::env::var("DATABASE_READ_URLS") {
        Ok(urls) if !urls.trim().is_empty() => {
            let replicas: Vec<&str> = urls
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .collect();
            DB::connect_with_replicas(primary, &replicas)
        }
        _ => DB::connect(primary),
    }
}

/// Drops the replicas of `name` (configured again, or disconnected).
pub(crate) fn forget(name: &str) {
    sets()
        .write()
        .unwrap_or_else(|e| e.into_inner())
        .remove(name);
}

/// Read replicas, sticky reads and the primary (see the guide's "Scaling out" page).
impl DB {
    /// Configures the default connection with a primary and read replicas: reads (the
    /// query builder's `get`/`first`/`find`/`count`/`exists`/`paginate`/streaming,
    /// `Model::find`, [`DB::select`]) go to the replicas in turn; writes, locking reads
    /// (`lock_for_update`, `shared_lock`), everything in a transaction or an
    /// [`crate::Executor`] scope, and migrations go to the primary. After a write, the
    /// thread's reads stick to the primary (see [`ReplicaConfig::sticky`]). Connects to
    /// the primary once to prove its URL works; a replica is connected on first use, and
    /// one that cannot be reached is skipped for a while (reads fall back to the others,
    /// then to the primary).
    ///
    /// ```no_run
    /// use orm_core::DB;
    /// DB::connect_with_replicas(
    ///     "postgres://app@db-primary/app",
    ///     &["postgres://app@db-replica-1/app", "postgres://app@db-replica-2/app"],
    /// )?;
    /// # Ok::<(), orm_core::Error>(())
    /// ```
    pub fn connect_with_replicas(primary: &str, replicas: &[&str]) -> Result<()> {
        configure(
            DEFAULT_CONNECTION,
            primary,
            replicas,
            ReplicaConfig::default(),
        )
    }

    /// [`DB::connect_with_replicas`] for a named connection, with settings.
    pub fn connect_replicated(
        name: &str,
        primary: &str,
        replicas: &[&str],
        config: ReplicaConfig,
    ) -> Result<()> {
        configure(name, primary, replicas, config)
    }

    /// Ends this thread's sticky reads: its next reads go to the replicas again. Call it
    /// where a unit of work ends (a web request, a job).
    pub fn forget_sticky() {
        STICKY.with(|s| s.borrow_mut().clear());
    }

    /// Whether this thread's reads of connection `name` stick to its primary (it wrote
    /// there since the last [`DB::forget_sticky`]).
    pub fn is_sticky(name: &str) -> bool {
        STICKY.with(|s| s.borrow().iter().any(|n| n == name))
    }

    /// The read replicas of connection `name` as they stand: each one's URL (password
    /// hidden), whether it is being skipped after a failure, and its pool's state and
    /// counters (`None` until a read first opened it). Empty when `name` has none.
    /// [`DB::pool_status`] reports the primary.
    pub fn replica_status(name: &str) -> Vec<ReplicaStatus> {
        let Some(set) = set_of(name) else {
            return Vec::new();
        };
        let now = Instant::now();
        set.replicas
            .iter()
            .map(|replica| ReplicaStatus {
                url: replica.shown.clone(),
                skipped: replica
                    .down_until
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some_and(|until| until > now),
                pool: replica
                    .pool
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .as_ref()
                    .map(crate::pool::Pool::status),
            })
            .collect()
    }

    /// Runs `f` with every read on this thread going to the primary (for a read that
    /// must see the latest commit, or a raw `SELECT` that writes).
    pub fn on_primary<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
        struct Leave;
        impl Drop for Leave {
            fn drop(&mut self) {
                ON_PRIMARY.with(|d| d.set(d.get().saturating_sub(1)));
            }
        }
        ON_PRIMARY.with(|d| d.set(d.get() + 1));
        let _leave = Leave;
        f()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_replicas_get_a_connect_timeout() {
        let pg = crate::Backend::Postgres;
        let t = Duration::from_millis(1500);
        assert_eq!(
            bounded_connect("postgres://u@h/db", pg, t),
            "postgres://u@h/db?connect_timeout=2"
        );
        assert_eq!(
            bounded_connect("postgres://u@h/db?sslmode=disable", pg, t),
            "postgres://u@h/db?sslmode=disable&connect_timeout=2"
        );
        // One the URL sets is kept; other backends are left alone.
        assert_eq!(
            bounded_connect("postgres://u@h/db?connect_timeout=9", pg, t),
            "postgres://u@h/db?connect_timeout=9"
        );
        assert_eq!(
            bounded_connect("mysql://u@h/db", crate::Backend::Mysql, t),
            "mysql://u@h/db"
        );
        assert_eq!(
            bounded_connect("postgres://u@h/db", pg, Duration::from_millis(10)),
            "postgres://u@h/db?connect_timeout=1"
        );
    }
}
