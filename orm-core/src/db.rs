//! The default-connection facade: `DB::connect`, named connections and their pools'
//! registry, the thread-scoped connection (open transaction or test guard) and raw SQL
//! entry points.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock, Weak};

use crate::backend::Connection;
use crate::dialect::IsolationLevel;
use crate::error::{Error, Result};
use crate::log::LoggedQuery;
use crate::pool::{Pool, PoolConfig, PooledConnection};
use crate::row::Record;
use crate::value::{FromValue, ToValue};
use crate::Backend;

/// The name of the connection used when none is named.
pub const DEFAULT_CONNECTION: &str = "default";

fn registry() -> &'static RwLock<HashMap<String, Arc<Pool>>> {
    static REGISTRY: OnceLock<RwLock<HashMap<String, Arc<Pool>>>> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// Bumped by every change to the registry, so that a thread's cached lookup
/// ([`registered`]) knows when it is stale.
static REGISTRY_GENERATION: AtomicU64 = AtomicU64::new(0);

/// Changes the registry (and invalidates every thread's cached lookup).
fn update_registry<T>(f: impl FnOnce(&mut HashMap<String, Arc<Pool>>) -> T) -> T {
    let mut registry = registry().write().unwrap_or_else(|e| e.into_inner());
    let result = f(&mut registry);
    REGISTRY_GENERATION.fetch_add(1, Ordering::Release);
    result
}

thread_local! {
    /// This thread's last registry lookup: (generation, name, pool). Every statement on
    /// the pool path looks its pool up, nearly always the same one; this spares it the
    /// shared lock and the hashing. The pool is held weakly, so a forgotten pool still
    /// closes its connections at once.
    static LAST_LOOKUP: RefCell<Option<(u64, String, Weak<Pool>)>> = const { RefCell::new(None) };
}

fn registered(name: &str) -> Result<Arc<Pool>> {
    let generation = REGISTRY_GENERATION.load(Ordering::Acquire);
    let cached = LAST_LOOKUP.with(|last| match &*last.borrow() {
        Some((g, n, pool)) if *g == generation && n == name => pool.upgrade(),
        _ => None,
    });
    match cached {
        Some(pool) => Ok(pool),
        None => registered_slow(name, generation),
    }
}

#[cold]
fn registered_slow(name: &str, generation: u64) -> Result<Arc<Pool>> {
    let pool = registry()
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(name)
        .cloned()
        .ok_or_else(|| Error::NoConnection(name.to_owned()))?;
    LAST_LOOKUP.with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some((generation, name.to_owned(), Arc::downgrade(&pool)));
        }
    });
    Ok(pool)
}

enum ScopedConn {
    Pooled(Box<PooledConnection>),
    Owned(Connection),
}

impl ScopedConn {
    fn get(&mut self) -> &mut Connection {
        match self {
            ScopedConn::Pooled(c) => c,
            ScopedConn::Owned(c) => c,
        }
    }
}

struct Scope {
    name: String,
    /// `None` while an enclosing call on this thread is using it.
    conn: Option<ScopedConn>,
}

thread_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
}

fn find_scope(scopes: &[Scope], name: &str) -> Option<usize> {
    scopes.iter().rposition(|s| s.name == name)
}

pub(crate) fn has_scope(name: &str) -> bool {
    lending() || SCOPES.with(|s| find_scope(&s.borrow(), name).is_some())
}

pub(crate) fn push_scope_owned(name: &str, conn: Connection) -> usize {
    push_scope(name, ScopedConn::Owned(conn))
}

fn push_scope(name: &str, conn: ScopedConn) -> usize {
    SCOPES.with(|s| {
        let mut scopes = s.borrow_mut();
        scopes.push(Scope {
            name: name.to_owned(),
            conn: Some(conn),
        });
        scopes.len() - 1
    })
}

/// Runs `f` with the connection name `name` held on this thread, as by an enclosing
/// call: a statement on it from `f` fails with [`Error::ConnectionInUse`] rather than
/// running on another connection of the pool (outside the holder's transaction). What
/// the migrator wraps a migration in; `Executor::scope` still lends a connection.
#[doc(hidden)]
pub fn holding_name<T>(name: &str, f: impl FnOnce() -> T) -> T {
    struct Pop(usize);
    impl Drop for Pop {
        fn drop(&mut self) {
            pop_scope(self.0);
        }
    }
    let index = SCOPES.with(|s| {
        let mut scopes = s.borrow_mut();
        scopes.push(Scope {
            name: name.to_owned(),
            conn: None,
        });
        scopes.len() - 1
    });
    let _pop = Pop(index);
    f()
}

/// Removes the scope at `index` (and any left above it) and drops its connection.
pub(crate) fn pop_scope(index: usize) {
    let removed: Vec<Scope> = SCOPES.with(|s| {
        let mut scopes = s.borrow_mut();
        if index < scopes.len() {
            scopes.split_off(index)
        } else {
            Vec::new()
        }
    });
    drop(removed);
}

/// Anything that can run a statement: `&mut Connection`, `&mut PooledConnection`,
/// `&mut Transaction` and a named connection ([`DB::connection`]). The library's
/// operations are each written once, on the default path; an executor says where they
/// run: every statement inside [`Executor::scope`] on this thread, whatever connection
/// name it would use, runs on the executor's connection.
///
/// ```
/// use orm_core::prelude::*;
/// use orm_core::{Connection, Executor};
///
/// #[derive(Debug, Clone, Default, Model)]
/// pub struct User {
///     pub id: Option<i64>,
///     pub votes: i32,
/// }
///
/// let mut conn = Connection::open("sqlite::memory:")?;
/// conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, votes INTEGER NOT NULL)", &[])?;
/// conn.execute("INSERT INTO users (votes) VALUES (1)", &[])?;
/// let votes = conn.scope(|| {
///     let mut user = User::find_or_fail(1)?;
///     user.votes += 1;
///     user.save()?;
///     // A transaction inside the scope is one on `conn` (a savepoint when `conn`
///     // already has one open).
///     DB::transaction(|| User::query().sum("votes"))
/// })?;
/// assert_eq!(votes, 2.0);
/// # Ok::<(), orm_core::Error>(())
/// ```
pub trait Executor: sealed::Sealed + Sized {
    /// Runs `f` with this executor's connection as the thread's connection: every
    /// statement `f` runs on this thread (models, queries, relations, `DB::*`,
    /// `DB::transaction`) uses it. Scopes nest; the innermost wins.
    fn scope<R>(self, f: impl FnOnce() -> Result<R>) -> Result<R>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &mut crate::Connection {}
    impl Sealed for &mut super::PooledConnection {}
    impl Sealed for &mut crate::backend::Transaction<'_> {}
    impl Sealed for &super::ConnectionRef {}
}

/// The connection lent by this thread's innermost [`Executor::scope`]. Kept in cells
/// apart from the scope stack: every statement checks it first, so it costs a cell swap
/// rather than a stack search, and nested scopes keep the outer one in their guard.
#[derive(Default)]
enum Lending {
    #[default]
    None,
    /// Taken by a call that is running on it.
    InUse,
    Lent(Connection),
}

struct LendingCells {
    slot: Cell<Lending>,
    /// A stand-in connection, kept between scopes so that entering one allocates
    /// nothing.
    spare: Cell<Option<Connection>>,
    /// The name of the lent connection when a `DB::connection(name).scope(..)` lent it
    /// (`None` for an explicit connection's scope): what models read or saved in the
    /// scope remember, so that their later writes go back there.
    name: Cell<Option<Arc<str>>>,
}

thread_local! {
    static LENDING: LendingCells = const {
        LendingCells {
            slot: Cell::new(Lending::None),
            spare: Cell::new(None),
            name: Cell::new(None),
        }
    };
}

/// The connection name of the innermost open [`Executor::scope`], when it was entered
/// through [`DB::connection`] (`None` outside one, or in an explicit connection's).
pub(crate) fn lent_name() -> Option<Arc<str>> {
    LENDING.with(|l| {
        let name = l.name.take();
        l.name.set(name.clone());
        name
    })
}

/// Takes the lent connection, marking the slot in use.
#[inline]
fn take_lent() -> Lending {
    LENDING.with(|l| {
        let slot = l.slot.replace(Lending::InUse);
        if let Lending::None = slot {
            l.slot.set(Lending::None);
        }
        slot
    })
}

/// Whether an [`Executor::scope`] is open on this thread.
pub(crate) fn lending() -> bool {
    LENDING.with(|l| {
        let slot = l.slot.take();
        let open = !matches!(slot, Lending::None);
        l.slot.set(slot);
        open
    })
}

/// Puts the lent connection back when the call using it ends, even by panic.
struct GiveBack(Option<Connection>);

impl Drop for GiveBack {
    #[inline]
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            LENDING.with(|l| l.slot.set(Lending::Lent(conn)));
        }
    }
}

impl Executor for &mut Connection {
    fn scope<R>(self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        lend(self, None, f)
    }
}

/// Lends `home` to this thread's statements while `f` runs, under `name` when it is a
/// named connection's.
fn lend<R>(
    home: &mut Connection,
    name: Option<Arc<str>>,
    f: impl FnOnce() -> Result<R>,
) -> Result<R> {
    // The thread owns what it lends, and the crate has no unsafe: the connection is
    // swapped out for the call, leaving a (reused) stand-in behind, and swapped back
    // by the guard (on return, error or panic).
    let (outer, outer_name) = LENDING.with(|l| {
        let stand_in = l.spare.take().unwrap_or_else(|| home.detached());
        let lent = std::mem::replace(home, stand_in);
        (l.slot.replace(Lending::Lent(lent)), l.name.replace(name))
    });
    // The guard drops after `f`'s result is in place: the result is not moved again.
    let _lend = Lend {
        home,
        outer,
        outer_name,
    };
    f()
}

impl Executor for &mut PooledConnection {
    fn scope<R>(self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        (&mut **self).scope(f)
    }
}

impl Executor for &mut crate::backend::Transaction<'_> {
    fn scope<R>(self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        (&mut **self).scope(f)
    }
}

impl Executor for &ConnectionRef {
    /// Takes one connection of this name (the thread's scoped one, else one from the
    /// pool) and runs all of `f` on it.
    fn scope<R>(self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        with_named(&self.name, |conn| {
            lend(conn, Some(Arc::from(&*self.name)), f)
        })
    }
}

/// Ends a scope: moves the lent connection back to its owner and restores the
/// enclosing scope's slot.
struct Lend<'c> {
    home: &'c mut Connection,
    outer: Lending,
    outer_name: Option<Arc<str>>,
}

impl Drop for Lend<'_> {
    #[inline]
    fn drop(&mut self) {
        let outer = std::mem::take(&mut self.outer);
        let outer_name = self.outer_name.take();
        // Whatever is to be dropped leaves the closure first, which keeps it small enough
        // to inline.
        let (_replaced, _second_stand_in, _name) = LENDING.with(|l| {
            let name = l.name.replace(outer_name);
            match l.slot.replace(outer) {
                Lending::Lent(lent) => {
                    let stand_in = std::mem::replace(self.home, lent);
                    // Keep one stand-in; a second (after nested scopes) is dropped.
                    (Lending::None, l.spare.replace(Some(stand_in)), name)
                }
                other => (other, None, name),
            }
        });
    }
}

/// Puts a scoped connection back when the call using it ends, even by panic.
struct PutBack {
    index: usize,
    conn: Option<ScopedConn>,
}

impl Drop for PutBack {
    fn drop(&mut self) {
        let conn = self.conn.take();
        SCOPES.with(|s| {
            if let Some(scope) = s.borrow_mut().get_mut(self.index) {
                scope.conn = conn;
            }
        });
    }
}

/// What this thread's scopes hold for a connection name.
enum Scoped {
    /// No scope answers for the name: use its pool.
    No,
    /// The scope's connection is being used by an enclosing call.
    InUse,
    /// Taken out of its scope until the guard drops.
    Taken(PutBack),
}

/// Takes the scoped connection for `name` out of its slot. Not generic, so the lookup
/// is compiled once and [`with_named`] stays small enough to inline.
fn take_scoped(name: &str) -> Scoped {
    SCOPES.with(|s| {
        let mut scopes = s.borrow_mut();
        match find_scope(&scopes, name) {
            None => Scoped::No,
            Some(index) => match scopes[index].conn.take() {
                Some(conn) => Scoped::Taken(PutBack {
                    index,
                    conn: Some(conn),
                }),
                None => Scoped::InUse,
            },
        }
    })
}

#[cold]
pub(crate) fn in_use(name: &str) -> Error {
    Error::ConnectionInUse(name.to_owned())
}

/// Runs `f` on the connection named `name`: the connection lent by this thread's
/// innermost [`Executor::scope`] when there is one (whatever the name), else the
/// thread's scoped connection of that name (open transaction or test guard), else one
/// checked out of the pool.
#[inline]
pub(crate) fn with_named<T>(name: &str, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
    with_named_passing(name, f, |f, conn| f(conn))
}

/// [`with_named`] handing `value` to `f` with the connection (moved once, into the
/// call, rather than captured by a closure first: a query is large).
#[inline]
pub(crate) fn with_named_passing<V, T>(
    name: &str,
    value: V,
    f: impl FnOnce(V, &mut Connection) -> Result<T>,
) -> Result<T> {
    with_named_on(name, true, value, f)
}

/// [`with_named_passing`]; `writes` says whether the call may write, which makes this
/// thread's later reads of a replicated connection sticky to its primary
/// ([`crate::replicas`]). Reads that must see the primary (locks, `on_primary`) pass
/// `false`.
///
/// Generic only in what it hands over and in the explicit executor's case: finding a
/// scoped or pooled connection is [`run_named`], compiled once. Every statement of
/// every model goes through here, and the whole lookup compiled again for each caller
/// was 13 % of a six-model app's code (64 copies).
#[inline]
pub(crate) fn with_named_on<V, T>(
    name: &str,
    writes: bool,
    value: V,
    f: impl FnOnce(V, &mut Connection) -> Result<T>,
) -> Result<T> {
    match take_lent() {
        // An explicit executor (`conn.scope(..)`): its connection, straight away.
        Lending::Lent(conn) => {
            let mut guard = GiveBack(Some(conn));
            match guard.0.as_mut() {
                Some(conn) => f(value, conn),
                None => Err(in_use(name)),
            }
        }
        Lending::InUse => Err(in_use(name)),
        Lending::None => {
            let mut call = Some((value, f));
            let mut outcome = None;
            run_named(name, writes, &mut |conn| {
                if let Some((value, f)) = call.take() {
                    // `outcome` is still `None` (`call` was there to take): forgetting it
                    // rather than dropping it keeps the drop of a `Result<T>` out of
                    // every caller's code.
                    std::mem::forget(outcome.replace(f(value, conn)));
                }
            })?;
            outcome.unwrap_or_else(|| Err(in_use(name)))
        }
    }
}

/// Runs `f` on the connection `name` resolves to on this thread when no executor lent
/// one: the thread's scoped connection of that name (open transaction or test guard),
/// else one checked out of the pool. An error here means `f` did not run.
fn run_named(name: &str, writes: bool, f: &mut dyn FnMut(&mut Connection)) -> Result<()> {
    match take_scoped(name) {
        Scoped::Taken(mut guard) => match guard.conn.as_mut() {
            Some(conn) => {
                let _context = crate::log::Context::enter(name, crate::log::Role::Primary);
                f(conn.get());
                Ok(())
            }
            None => Err(in_use(name)),
        },
        Scoped::InUse => Err(in_use(name)),
        Scoped::No => {
            if writes {
                crate::replicas::wrote(name);
            }
            let _context = crate::log::Context::enter(name, crate::log::Role::Primary);
            with_pooled(name, f)
        }
    }
}

/// Runs `f` on `conn`, the connection named `current` that the caller holds, when
/// `wanted` is that name (or an [`Executor::scope`] lends one connection to every name);
/// else on the connection named `wanted`. Relations read a related model declared on
/// another connection there.
pub(crate) fn on_named_or<T>(
    conn: &mut Connection,
    current: &str,
    wanted: &str,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    if wanted == current || lending() {
        f(conn)
    } else {
        with_named(wanted, f)
    }
}

/// The replicas a read on `name` may go to: none when `name` has none, while this
/// thread holds a connection of that name (transaction, executor scope, test
/// database), or when the thread's reads stick to the primary.
#[inline]
pub(crate) fn read_replicas(name: &str) -> Option<std::sync::Arc<crate::replicas::ReplicaSet>> {
    if !crate::replicas::any() || has_scope(name) {
        return None;
    }
    crate::replicas::for_reads(name)
}

fn with_pooled(name: &str, f: &mut dyn FnMut(&mut Connection)) -> Result<()> {
    let pool = registered(name)?;
    // A nested call on this thread would wait for the connection it already holds when
    // the pool has only one (in-memory SQLite; every name without the `pool` feature):
    // fail at once instead.
    let _held = HeldCheckout::enter(name, &pool)?;
    let mut conn = pool.get()?;
    f(&mut conn);
    Ok(())
}

/// A connection of `name`'s pool for the caller to hold (a cursor's open statement),
/// where a read on this thread would check one out of the pool: no executor lent, no
/// scoped connection of that name (transaction, test database), no read replicas; and
/// only from a pool of more than one connection, so the queries the caller runs while
/// holding it take another. `None` otherwise (the caller reads per call instead).
#[cfg(feature = "sqlite")]
pub(crate) fn held_from_pool(name: &str) -> Result<Option<crate::backend::sqlite::HeldConnection>> {
    if crate::replicas::any() || has_scope(name) {
        return Ok(None);
    }
    let pool = registered(name)?;
    if pool.max_size() <= 1 {
        return Ok(None);
    }
    Ok(Some(Box::new(pool.get()?)))
}

thread_local! {
    /// The single-connection pools this thread has checked out, by address.
    static SINGLE_CHECKOUTS: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

/// Marks a single-connection pool as checked out by this thread.
struct HeldCheckout {
    pool: Option<usize>,
}

impl HeldCheckout {
    fn enter(name: &str, pool: &Arc<Pool>) -> Result<HeldCheckout> {
        if pool.max_size() != 1 {
            return Ok(HeldCheckout { pool: None });
        }
        // The registry's `Arc` outlives the checkout, so its address names the pool.
        let id = Arc::as_ptr(pool) as usize;
        SINGLE_CHECKOUTS.with(|held| {
            let mut held = held.borrow_mut();
            if held.contains(&id) {
                return Err(in_use(name));
            }
            held.push(id);
            Ok(HeldCheckout { pool: Some(id) })
        })
    }
}

impl Drop for HeldCheckout {
    fn drop(&mut self) {
        if let Some(id) = self.pool {
            SINGLE_CHECKOUTS.with(|held| {
                let mut held = held.borrow_mut();
                if let Some(i) = held.iter().rposition(|&p| p == id) {
                    held.remove(i);
                }
            });
        }
    }
}

pub(crate) fn transaction_named<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    transaction_named_at(name, None, f)
}

/// [`transaction_named`] at an isolation level, when given.
pub(crate) fn transaction_named_at<T>(
    name: &str,
    isolation: Option<IsolationLevel>,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    crate::replicas::wrote(name);
    // Held while the transaction runs: nested on a one-connection pool that this thread
    // already holds (an `each` callback, `with_connection`), it fails at once with
    // `ConnectionInUse` rather than waiting out the checkout timeout.
    let mut _held = None;
    let pushed = if has_scope(name) {
        None
    } else {
        let pool = registered(name)?;
        _held = Some(HeldCheckout::enter(name, &pool)?);
        let conn = pool.get()?;
        Some(push_scope(name, ScopedConn::Pooled(Box::new(conn))))
    };
    let level = crate::after_commit::enter(name);
    let outcome =
        with_named(name, |c| c.begin_at(isolation)).map(|()| catch_unwind(AssertUnwindSafe(f)));
    let mut ready = None;
    let result = match outcome {
        Err(begin_error) => Err(begin_error),
        Ok(Ok(Ok(value))) => match with_named(name, Connection::commit_raw) {
            Ok(()) => {
                ready = Some(level.committed());
                Ok(value)
            }
            Err(error @ Error::Connection { .. })
                if level.is_outermost()
                    && with_named(name, |c| Ok(c.take_commit_unknown())).unwrap_or(false) =>
            {
                // Neither its after_commit nor its after_rollback callbacks run.
                level.outcome_unknown();
                Err(error)
            }
            Err(error) => Err(error),
        },
        Ok(Ok(Err(error))) => {
            let _ = with_named(name, Connection::rollback_raw);
            Err(error)
        }
        Ok(Err(panic)) => {
            let _ = with_named(name, Connection::rollback_raw);
            if let Some(index) = pushed {
                pop_scope(index);
            }
            resume_unwind(panic);
        }
    };
    if let Some(index) = pushed {
        pop_scope(index);
    }
    // `DB::after_commit` callbacks run once the connection is back in its pool.
    drop(_held);
    if let Some(ready) = ready {
        ready.run();
    }
    result
}

/// A named connection: the same entry points as [`DB`], on that connection.
#[derive(Debug, Clone)]
pub struct ConnectionRef {
    name: String,
}

impl ConnectionRef {
    /// The connection's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` on this connection (the thread's scoped one, else one from the pool).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        with_named(&self.name, f)
    }

    /// See [`DB::transaction`].
    pub fn transaction<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        transaction_named(&self.name, f)
    }

    /// See [`DB::after_commit`]: after this connection's open transaction commits.
    pub fn after_commit(&self, f: impl FnOnce() + 'static) {
        crate::after_commit::register(&self.name, Box::new(f));
    }

    /// See [`DB::after_rollback`]: if this connection's open transaction rolls back.
    pub fn after_rollback(&self, f: impl FnOnce() + 'static) {
        crate::after_commit::register_rollback(&self.name, Box::new(f));
    }

    /// See [`DB::select`].
    pub fn select(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Record>> {
        select_named(&self.name, sql, params)
    }

    /// See [`DB::select_one`].
    pub fn select_one(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Option<Record>> {
        Ok(select_named(&self.name, sql, params)?.into_iter().next())
    }

    /// See [`DB::scalar`].
    pub fn scalar<V: FromValue>(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Option<V>> {
        scalar_of(select_named(&self.name, sql, params)?)
    }

    /// See [`DB::execute`].
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        self.with(|c| c.execute(sql, params))
    }

    /// See [`DB::insert`].
    pub fn insert(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        self.execute(sql, params)
    }

    /// See [`DB::update`].
    pub fn update(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        self.execute(sql, params)
    }

    /// See [`DB::delete`].
    pub fn delete(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        self.execute(sql, params)
    }

    /// See [`DB::statement`].
    pub fn statement(&self, sql: &str) -> Result<u64> {
        self.with(|c| c.execute(sql, &[]))
    }

    /// See [`DB::unprepared`].
    pub fn unprepared(&self, sql: &str) -> Result<()> {
        self.with(|c| c.execute_batch(sql))
    }

    /// The backend of this connection.
    pub fn backend(&self) -> Result<Backend> {
        self.with(|c| Ok(c.backend()))
    }
}

/// The database facade: configure connections once, then run SQL and transactions
/// without passing a connection around.
///
/// ```
/// use orm_core::DB;
/// DB::connect("sqlite::memory:")?;
/// DB::statement("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
/// DB::transaction(|| {
///     DB::execute("INSERT INTO users (name) VALUES (?)", &[&"Ada"])?;
///     DB::execute("INSERT INTO users (name) VALUES (?)", &[&"Grace"])?;
///     Ok(())
/// })?;
/// let rows = DB::select("SELECT name FROM users WHERE id = ?", &[&2])?;
/// assert_eq!(rows[0].get::<String, _>("name")?, "Grace");
/// # Ok::<(), orm_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DB;

/// `url` with a relative SQLite path taken from the `.env` file at `env_file` made
/// relative to that file's directory, as `craft` reads it: a program run from a
/// subdirectory of the app (`cd src && cargo run`) opens the app's database, not a new
/// empty one beside it. A URL from the environment itself is left as given.
#[cfg(feature = "dotenv")]
fn beside_env_file(url: String, env_file: &std::path::Path) -> String {
    let Some(path) = url.strip_prefix("sqlite://") else {
        return url;
    };
    let relative = !path.is_empty()
        && !path.starts_with('/')
        && !path.starts_with(":memory:")
        && std::path::Path::new(path.split('?').next().unwrap_or(path)).is_relative();
    let from_file = dotenvy::from_path_iter(env_file).is_ok_and(|mut vars| {
        vars.any(|var| matches!(var, Ok((key, value)) if key == "DATABASE_URL" && value == url))
    });
    match env_file.parent() {
        Some(dir) if relative && from_file && !dir.as_os_str().is_empty() => {
            format!("sqlite://{}", dir.join(path).display())
        }
        _ => url,
    }
}

impl DB {
    /// Configures the default connection from a URL (`sqlite::memory:`,
    /// `sqlite://database.sqlite3`, `postgres://user:pass@host:5432/db`), replacing any
    /// earlier one. Connects once to prove the URL works.
    pub fn connect(url: &str) -> Result<()> {
        DB::connect_named(DEFAULT_CONNECTION, url)
    }

    /// Configures a named connection.
    pub fn connect_named(name: &str, url: &str) -> Result<()> {
        DB::connect_with(name, url, PoolConfig::default())
    }

    /// Configures a named connection with pool settings.
    pub fn connect_with(name: &str, url: &str, config: PoolConfig) -> Result<()> {
        let pool = Pool::with_config(url, config)?;
        crate::replicas::forget(name);
        update_registry(|registry| registry.insert(name.to_owned(), Arc::new(pool)));
        Ok(())
    }

    /// Configures the default connection from `DATABASE_URL`, loading `.env` from the
    /// current directory (or a parent) first when there is one (feature `dotenv`).
    /// `DATABASE_READ_URLS` (comma-separated URLs), when set, adds read replicas (see
    /// [`DB::connect_with_replicas`]).
    pub fn from_env() -> Result<()> {
        #[cfg(feature = "dotenv")]
        let env_file = match dotenvy::dotenv() {
            Ok(path) => Some(path),
            Err(e) if e.not_found() => None,
            Err(e) => return Err(Error::Config(format!("cannot read .env: {e}"))),
        };
        let url = std::env::var("DATABASE_URL").map_err(|_| {
            Error::Config("DATABASE_URL is not set (in the environment or in .env)".into())
        })?;
        #[cfg(feature = "dotenv")]
        let url = match env_file {
            Some(path) => beside_env_file(url, &path),
            None => url,
        };
        crate::replicas::connect_from_env(&url)
    }

    /// Forgets a configured connection; its pooled connections close when idle.
    pub fn disconnect(name: &str) -> bool {
        crate::replicas::forget(name);
        update_registry(|registry| registry.remove(name).is_some())
    }

    /// The pool of a configured connection, for explicit checkouts.
    pub fn pool(name: &str) -> Result<Pool> {
        registered(name).map(|pool| Pool::clone(&pool))
    }

    /// Checks a connection out of the default pool, for code that passes connections
    /// explicitly. It returns to the pool when dropped.
    pub fn acquire() -> Result<PooledConnection> {
        registered(DEFAULT_CONNECTION)?.get()
    }

    /// A named connection, with the same entry points as `DB`.
    pub fn connection(name: &str) -> ConnectionRef {
        ConnectionRef {
            name: name.to_owned(),
        }
    }

    /// Runs `f` on the default connection: this thread's open transaction or test
    /// database when there is one, else a connection from the pool.
    pub fn with_connection<T>(f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        with_named(DEFAULT_CONNECTION, f)
    }

    /// Runs `f` in a transaction on the default connection: commits when it returns
    /// `Ok`, rolls back on `Err` and on panic (the panic then continues). Every database
    /// call on this thread inside `f` uses the transaction's connection. Nested calls use
    /// savepoints, so an inner failure rolls back only the inner part.
    ///
    /// On PostgreSQL a statement that fails inside `f` aborts the whole transaction: when
    /// `f` ignores the failure and returns `Ok`, the commit rolls back and returns
    /// [`Error::TransactionAborted`] naming the first failure. Wrap a statement that may
    /// fail in a nested `DB::transaction` to keep the rest (SQLite keeps it either way).
    ///
    /// ```
    /// use orm_core::{Error, DB};
    /// DB::connect("sqlite::memory:")?;
    /// DB::statement("CREATE TABLE t (x INTEGER NOT NULL UNIQUE)")?;
    /// let n = DB::transaction(|| {
    ///     DB::insert("INSERT INTO t (x) VALUES (?)", &[&1])?;
    ///     // A nested transaction is a savepoint: its failure undoes only its part.
    ///     let inner = DB::transaction(|| DB::insert("INSERT INTO t (x) VALUES (?)", &[&1]));
    ///     assert!(matches!(inner, Err(Error::UniqueViolation { .. })));
    ///     DB::table("t").count()
    /// })?;
    /// assert_eq!(n, 1);
    /// // An `Err` rolls everything back.
    /// let failed: orm_core::Result<()> = DB::transaction(|| {
    ///     DB::insert("INSERT INTO t (x) VALUES (?)", &[&2])?;
    ///     Err(Error::other("changed my mind"))
    /// });
    /// assert!(failed.is_err());
    /// assert_eq!(DB::table("t").count()?, 1);
    /// # Ok::<(), orm_core::Error>(())
    /// ```
    pub fn transaction<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
        transaction_named(DEFAULT_CONNECTION, f)
    }

    /// Runs `f` once this thread's open [`DB::transaction`] on the default connection
    /// commits (Laravel's `DB::afterCommit`): for work that must not happen for rows the
    /// database may still roll back (a mail, a job, a cache entry). Registered inside a
    /// nested transaction, it waits for the outermost commit, and is dropped when that
    /// nested level (or any level around it) rolls back. With no transaction open it runs
    /// at once. Callbacks run in order, after the transaction's connection went back to
    /// its pool, so they may use the database.
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    /// use orm_core::{Error, DB};
    /// DB::connect("sqlite::memory:")?;
    /// let sent = Rc::new(RefCell::new(Vec::new()));
    /// let mail = |to: &'static str| {
    ///     let sent = Rc::clone(&sent);
    ///     move || sent.borrow_mut().push(to)
    /// };
    /// let _ = DB::transaction(|| -> orm_core::Result<()> {
    ///     DB::after_commit(mail("rolled back"));
    ///     Err(Error::other("no"))
    /// });
    /// DB::transaction(|| {
    ///     DB::after_commit(mail("ada"));
    ///     assert!(sent.borrow().is_empty(), "not before the commit");
    ///     Ok(())
    /// })?;
    /// assert_eq!(*sent.borrow(), ["ada"]);
    /// # Ok::<(), orm_core::Error>(())
    /// ```
    pub fn after_commit(f: impl FnOnce() + 'static) {
        crate::after_commit::register(DEFAULT_CONNECTION, Box::new(f));
    }

    /// Runs `f` if this thread's open [`DB::transaction`] on the default connection rolls
    /// back (Laravel's `DB::afterRollBack`): for undoing work done outside the database
    /// while it ran (a file written, a cache entry set). Registered inside a nested
    /// transaction, it runs when that level (or any level around it) rolls back, after
    /// the rollback; when the outermost transaction commits it is dropped. With no
    /// transaction open it is dropped at once, and while a panic unwinds it does not run.
    ///
    /// ```
    /// use orm_core::{DB, Error};
    /// use std::{cell::Cell, rc::Rc};
    /// DB::connect("sqlite::memory:")?;
    /// let undone = Rc::new(Cell::new(0));
    /// let _ = DB::transaction(|| -> orm_core::Result<()> {
    ///     let undone = Rc::clone(&undone);
    ///     DB::after_rollback(move || undone.set(undone.get() + 1));
    ///     Err(Error::other("no"))
    /// });
    /// DB::transaction(|| {
    ///     let undone = Rc::clone(&undone);
    ///     DB::after_rollback(move || undone.set(undone.get() + 1));
    ///     Ok(())
    /// })?;
    /// assert_eq!(undone.get(), 1);
    /// # Ok::<(), orm_core::Error>(())
    /// ```
    pub fn after_rollback(f: impl FnOnce() + 'static) {
        crate::after_commit::register_rollback(DEFAULT_CONNECTION, Box::new(f));
    }

    /// Runs hand-written SQL with `?` placeholders and returns the rows. On a connection
    /// with read replicas, SQL that only reads (`SELECT`, `WITH`, `SHOW`, ...) may run on
    /// a replica; any other statement (`INSERT .. RETURNING`) runs on the primary. Wrap
    /// a `SELECT` that locks or calls a writing function in [`DB::on_primary`].
    pub fn select(sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Record>> {
        select_named(DEFAULT_CONNECTION, sql, params)
    }

    /// [`DB::select`]'s first row, if any (Laravel's `selectOne`).
    pub fn select_one(sql: &str, params: &[&dyn ToValue]) -> Result<Option<Record>> {
        Ok(select_named(DEFAULT_CONNECTION, sql, params)?
            .into_iter()
            .next())
    }

    /// The one value a statement selects (Laravel's `scalar`):
    /// `DB::scalar::<i64>("SELECT COUNT(*) FROM users", &[])`. `None` when it returns no
    /// row (or NULL, read as an `Option`); a statement selecting several columns is
    /// [`Error::InvalidQuery`] (kind `Argument`).
    pub fn scalar<V: FromValue>(sql: &str, params: &[&dyn ToValue]) -> Result<Option<V>> {
        scalar_of(select_named(DEFAULT_CONNECTION, sql, params)?)
    }

    /// Runs one hand-written statement with `?` placeholders; returns rows affected.
    pub fn execute(sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        DB::with_connection(|c| c.execute(sql, params))
    }

    /// [`DB::execute`] for an `INSERT`.
    pub fn insert(sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        DB::execute(sql, params)
    }

    /// [`DB::execute`] for an `UPDATE`.
    pub fn update(sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        DB::execute(sql, params)
    }

    /// [`DB::execute`] for a `DELETE`.
    pub fn delete(sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        DB::execute(sql, params)
    }

    /// Runs one raw statement without parameters (DDL such as `CREATE INDEX ...`).
    pub fn statement(sql: &str) -> Result<u64> {
        DB::execute(sql, &[])
    }

    /// Runs raw SQL that may hold several `;`-separated statements, unprepared.
    pub fn unprepared(sql: &str) -> Result<()> {
        DB::with_connection(|c| c.execute_batch(sql))
    }

    /// Makes reading a relation that was not eager loaded (`user.posts().get()` on a user
    /// loaded without `with(&["posts"])`) fail with [`Error::LazyLoading`], so N+1 query
    /// patterns are caught in tests. On a thread with a test database
    /// ([`crate::testing`]) the setting applies to that thread only.
    pub fn prevent_lazy_loading(on: bool) {
        crate::lazy_loading::prevent_lazy_loading(on);
    }

    /// Starts recording the statements run on this thread (see [`DB::query_log`]).
    pub fn enable_query_log() {
        crate::log::enable();
    }

    /// Stops recording statements on this thread.
    pub fn disable_query_log() {
        crate::log::disable();
    }

    /// The statements recorded on this thread since [`DB::enable_query_log`].
    pub fn query_log() -> Vec<LoggedQuery> {
        crate::log::get()
    }

    /// Forgets the statements recorded on this thread.
    pub fn flush_query_log() {
        crate::log::flush();
    }
}

/// `DB::select` on the named connection: on a replica only when the SQL only reads.
/// The first column of the first of `rows`, which must have one column.
fn scalar_of<V: FromValue>(rows: Vec<Record>) -> Result<Option<V>> {
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    if row.len() != 1 {
        return Err(Error::invalid_query(
            crate::error::InvalidQueryKind::Argument,
            format!(
                "`scalar` reads one column; the statement selects {}",
                row.len()
            ),
        ));
    }
    row.get::<Option<V>, usize>(&0)
}

fn select_named(name: &str, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Record>> {
    if crate::dialect::sql_tokens::only_reads(sql) {
        crate::replicas::read_named(name, |c| c.select(sql, params))
    } else {
        with_named_on(name, true, (), |(), c| c.select(sql, params))
    }
}
