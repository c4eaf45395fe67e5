//! Test support: each test thread gets its own fresh database, installed as the
//! thread's default connection, so tests run in parallel without seeing each other's rows.
//!
//! ```
//! use orm_core::{testing, DB};
//! let _db = testing::sqlite();          // fresh in-memory SQLite for this thread
//! DB::statement("CREATE TABLE t (x INTEGER)")?;
//! DB::execute("INSERT INTO t VALUES (?)", &[&1])?;
//! assert_eq!(DB::select("SELECT x FROM t", &[])?.len(), 1);
//! # Ok::<(), orm_core::Error>(())
//! ```

use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::backend::Connection;
use crate::db::{pop_scope, push_scope_owned, with_named, DEFAULT_CONNECTION};
use crate::dialect::{Dialect, SqlWriter};
use crate::error::Result;
use crate::url::with_query_option;
use crate::Backend;

/// Environment variable naming the PostgreSQL server tests use.
pub const POSTGRES_URL_VAR: &str = "ORM_TEST_POSTGRES_URL";
/// The server tried when [`POSTGRES_URL_VAR`] is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Environment variable naming the MySQL/MariaDB server tests use.
pub const MYSQL_URL_VAR: &str = "ORM_TEST_MYSQL_URL";
/// The server tried when [`MYSQL_URL_VAR`] is not set.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

fn installed(scope: usize, backend: Backend, schema: Option<String>) -> TestDatabase {
    let lazy_loading_before = crate::lazy_loading::enter_thread_scope();
    TestDatabase {
        scope,
        backend,
        schema,
        lazy_loading_before,
        not_send: PhantomData,
    }
}

/// A database installed as this thread's default connection until dropped.
///
/// Not `Send`: dropping it uninstalls the connection scope of the thread it is dropped
/// on, so it must die on the thread that created it.
#[derive(Debug)]
pub struct TestDatabase {
    scope: usize,
    backend: Backend,
    schema: Option<String>,
    /// The thread's lazy-loading setting when this database was installed, restored when
    /// it drops.
    lazy_loading_before: Option<bool>,
    /// Keeps the guard on its thread (a raw pointer is neither `Send` nor `Sync`).
    not_send: PhantomData<*const ()>,
}

impl TestDatabase {
    /// Which backend this test database is on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The PostgreSQL schema (MySQL: database) created for this test, if any.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            let dialect = self.backend.dialect();
            let _ = with_named(DEFAULT_CONNECTION, |c| {
                c.reset();
                c.execute_batch(&schema_statement(dialect, |w| {
                    dialect.push_drop_schema(w, schema)
                })?)
            });
        }
        pop_scope(self.scope);
        crate::lazy_loading::leave_thread_scope(self.lazy_loading_before);
    }
}

/// Runs `f` with the ORM's clock stopped at `at` on this thread (Laravel's `travelTo`,
/// `Carbon::setTestNow`): `created_at`, `updated_at`, touches, soft deletes and
/// [`crate::now`] read `at` (to the microsecond) while `f` runs. Calls nest; the clock
/// runs again when `f` returns or panics. Defaults the database fills itself
/// (`CURRENT_TIMESTAMP`) keep the server's time.
///
/// ```
/// use orm_core::{testing, DateTime, Utc};
/// let at: DateTime<Utc> = "2020-01-01T00:00:00Z".parse().unwrap();
/// assert_eq!(testing::travel_to(at, orm_core::now), at);
/// assert!(orm_core::now() > at);
/// ```
pub fn travel_to<R>(at: chrono::DateTime<chrono::Utc>, f: impl FnOnce() -> R) -> R {
    struct Resume(Option<chrono::DateTime<chrono::Utc>>);
    impl Drop for Resume {
        fn drop(&mut self) {
            crate::value::travel(self.0.take());
        }
    }
    let _resume = Resume(crate::value::travel(Some(at)));
    f()
}

/// [`travel_to`] the current time: the clock stopped for the length of `f` (Laravel's
/// `freezeTime`), so two writes in it carry the same timestamp.
pub fn freeze_time<R>(f: impl FnOnce() -> R) -> R {
    travel_to(crate::now(), f)
}

/// A fresh in-memory SQLite database as this thread's default connection.
///
/// # Panics
/// If SQLite cannot open an in-memory database (out of memory).
pub fn sqlite() -> TestDatabase {
    let conn = Connection::open("sqlite::memory:").expect("open in-memory SQLite");
    installed(
        push_scope_owned(DEFAULT_CONNECTION, conn),
        Backend::Sqlite,
        None,
    )
}

/// The PostgreSQL URL tests use: `ORM_TEST_POSTGRES_URL`, else the local default server.
pub fn postgres_url() -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// `url` (PostgreSQL) with `schema` as the search path of every session it opens (the
/// libpq URL option `options=-csearch_path=..`): how a second connection, or a pool made
/// by `DB::connect`, reaches a test's private schema. `schema` is a plain identifier.
pub fn with_search_path(url: &str, schema: &str) -> String {
    with_query_option(url, &format!("options=-csearch_path%3D{schema}"))
}

/// A fresh, private PostgreSQL schema as this thread's default connection (the schema
/// is dropped with the guard). `None` when no server is reachable and this is not CI:
/// the test is then skipped, and says so on stderr.
///
/// # Panics
/// In CI (`CI` set) when the server is unreachable: PostgreSQL tests must run there.
pub fn postgres() -> Option<TestDatabase> {
    match try_postgres() {
        Ok(db) => Some(db),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("PostgreSQL tests must run in CI, but the server is unavailable: {e}")
        }
        Err(e) => {
            eprintln!(
                "skipped: PostgreSQL test (no server reachable: {e}); set {POSTGRES_URL_VAR}"
            );
            None
        }
    }
}

fn try_postgres() -> Result<TestDatabase> {
    private_schema(&postgres_url())
}

/// Environment variable that makes the MySQL test connections take the path of
/// servers without `INSERT ... RETURNING` (MySQL 8) whatever the server: `1` adds the
/// URL option `returning=off` to [`mysql_url()`], `per-row` also
/// `autoinc_consecutive=off` (multi-row inserts then go row by row).
pub const MYSQL_NO_RETURNING_VAR: &str = "ORM_TEST_MYSQL_NO_RETURNING";

/// The MySQL URL tests use: `ORM_TEST_MYSQL_URL`, else the local default server, with
/// the options [`MYSQL_NO_RETURNING_VAR`] asks for.
pub fn mysql_url() -> String {
    let url = std::env::var(MYSQL_URL_VAR).unwrap_or_else(|_| DEFAULT_MYSQL_URL.to_owned());
    match std::env::var(MYSQL_NO_RETURNING_VAR).as_deref() {
        Ok("1") => with_query_option(&url, "returning=off"),
        Ok("per-row") => with_query_option(&url, "returning=off&autoinc_consecutive=off"),
        _ => url,
    }
}

/// [`mysql()`] on a connection opened with the URL options `options` added to
/// [`mysql_url()`] (e.g. `"returning=off"`: see the MySQL section of the guide's
/// configuration chapter).
///
/// # Panics
/// In CI (`CI` set) when the server is unreachable.
pub fn mysql_with(options: &str) -> Option<TestDatabase> {
    mysql_at(&with_query_option(&mysql_url(), options))
}

/// A fresh, private MySQL/MariaDB database (`CREATE DATABASE`) as this thread's default
/// connection, dropped with the guard. `None` when no server is reachable and this is
/// not CI: the test is then skipped, and says so on stderr.
///
/// # Panics
/// In CI (`CI` set) when the server is unreachable: MySQL tests must run there.
pub fn mysql() -> Option<TestDatabase> {
    mysql_at(&mysql_url())
}

fn mysql_at(url: &str) -> Option<TestDatabase> {
    match private_schema(url) {
        Ok(db) => Some(db),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("MySQL tests must run in CI, but the server is unavailable: {e}")
        }
        Err(e) => {
            eprintln!("skipped: MySQL test (no server reachable: {e}); set {MYSQL_URL_VAR}");
            None
        }
    }
}

/// A new schema (PostgreSQL) or database (MySQL) on the server at `url`, made the
/// session's default, on a connection installed as the thread's default.
fn private_schema(url: &str) -> Result<TestDatabase> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut conn = Connection::open(url)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let schema = format!(
        "orm_test_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dialect = conn.dialect();
    conn.execute_batch(&schema_statement(dialect, |w| {
        dialect.push_create_and_use_schema(w, &schema)
    })?)?;
    let backend = conn.backend();
    Ok(installed(
        push_scope_owned(DEFAULT_CONNECTION, conn),
        backend,
        Some(schema),
    ))
}

/// The statement `push` writes, rendered for `dialect`.
fn schema_statement(
    dialect: &'static dyn Dialect,
    push: impl FnOnce(&mut SqlWriter),
) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    push(&mut w);
    w.finish().map(|(sql, _)| sql)
}

/// A fresh test database on `backend` (see [`sqlite()`], [`postgres()`] and
/// [`mysql()`]).
pub fn database(backend: Backend) -> Option<TestDatabase> {
    match backend {
        Backend::Sqlite => Some(sqlite()),
        Backend::Postgres => postgres(),
        Backend::Mysql => mysql(),
    }
}

/// Environment variable naming a streaming replica of the [`POSTGRES_URL_VAR`] server
/// (the repository's `scripts/pg-standby.sh` starts one on port 5433).
pub const REPLICA_URL_VAR: &str = "ORM_TEST_REPLICA_URL";
/// The replica tried when [`REPLICA_URL_VAR`] is not set.
pub const DEFAULT_REPLICA_URL: &str = "postgres://postgres@127.0.0.1:5433/test";

/// The PostgreSQL replica URL tests use: `ORM_TEST_REPLICA_URL`, else the local default.
pub fn replica_url() -> String {
    std::env::var(REPLICA_URL_VAR).unwrap_or_else(|_| DEFAULT_REPLICA_URL.to_owned())
}

/// A private PostgreSQL schema on the test server, configured as the named connection
/// [`ReplicatedDatabase::name`] with the test replica as its read replica (both
/// sessions' `search_path` is the schema). Unlike [`postgres()`] it is not the thread's
/// default connection: a scoped connection would keep every read on the primary. The
/// connection is removed and the schema dropped with the guard.
#[derive(Debug)]
pub struct ReplicatedDatabase {
    name: String,
    schema: String,
    urls: (String, String),
    config: crate::ReplicaConfig,
    aliases: Vec<String>,
}

impl ReplicatedDatabase {
    /// The connection name the database is configured under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The private schema.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Configures the same primary and replica under another connection name too
    /// (e.g. a model's `#[model(connection = "..")]`), removed with the guard.
    pub fn also_as(&mut self, name: &str) -> Result<()> {
        crate::DB::connect_replicated(name, &self.urls.0, &[&self.urls.1], self.config.clone())?;
        self.aliases.push(name.to_owned());
        Ok(())
    }

    /// Waits until the replica has replayed everything the primary has written so far
    /// (`pg_last_wal_replay_lsn() >= pg_current_wal_lsn()`), at most `timeout`. Returns
    /// whether it caught up.
    pub fn wait_for_replay(&self, timeout: std::time::Duration) -> Result<bool> {
        let mut primary = Connection::open(&postgres_url())?;
        let lsn: String = primary
            .select("SELECT pg_current_wal_lsn()::text AS lsn", &[])?
            .remove(0)
            .get("lsn")?;
        let mut replica = Connection::open(&replica_url())?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let caught_up: bool = replica
                .select(
                    "SELECT COALESCE(pg_last_wal_replay_lsn() >= ?::text::pg_lsn, false) AS ok",
                    &[&lsn],
                )?
                .remove(0)
                .get("ok")?;
            if caught_up {
                return Ok(true);
            }
            if std::time::Instant::now() >= deadline {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

impl Drop for ReplicatedDatabase {
    fn drop(&mut self) {
        crate::DB::disconnect(&self.name);
        for alias in &self.aliases {
            crate::DB::disconnect(alias);
        }
        if let Ok(mut conn) = Connection::open(&postgres_url()) {
            let dialect = conn.dialect();
            if let Ok(sql) =
                schema_statement(dialect, |w| dialect.push_drop_schema(w, &self.schema))
            {
                let _ = conn.execute_batch(&sql);
            }
        }
    }
}

/// A [`ReplicatedDatabase`] with `config`. `None` when the primary or the replica does
/// not answer (or is not a replica) and this is not CI: the test is skipped, and says so
/// on stderr.
///
/// # Panics
/// In CI (`CI` set) when either server is unavailable: the replica tests must run there
/// (`.ci/run` starts the standby).
pub fn postgres_replicated(config: crate::ReplicaConfig) -> Option<ReplicatedDatabase> {
    match try_replicated(config) {
        Ok(db) => Some(db),
        Err(e) if std::env::var_os("CI").is_some() => {
            panic!("the replica tests must run in CI, but the standby is unavailable: {e} (run scripts/pg-standby.sh start)")
        }
        Err(e) => {
            eprintln!(
                "skipped: PostgreSQL replica test ({e}); run scripts/pg-standby.sh start or set {REPLICA_URL_VAR}"
            );
            None
        }
    }
}

fn try_replicated(config: crate::ReplicaConfig) -> Result<ReplicatedDatabase> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut replica = Connection::open(&replica_url())?;
    let in_recovery: bool = replica
        .select("SELECT pg_is_in_recovery() AS r", &[])?
        .remove(0)
        .get("r")?;
    if !in_recovery {
        return Err(crate::Error::Config(format!(
            "{} is not a standby (pg_is_in_recovery() is false)",
            crate::url::redact(&replica_url())
        )));
    }
    let schema = format!(
        "orm_replica_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut primary = Connection::open(&postgres_url())?;
    let dialect = primary.dialect();
    primary.execute_batch(&schema_statement(dialect, |w| {
        dialect.push_create_and_use_schema(w, &schema)
    })?)?;
    let with_path = |url: &str| with_search_path(url, &schema);
    let db = ReplicatedDatabase {
        name: format!("replicated_{schema}"),
        schema: schema.clone(),
        urls: (with_path(&postgres_url()), with_path(&replica_url())),
        config,
        aliases: Vec::new(),
    };
    crate::DB::connect_replicated(&db.name, &db.urls.0, &[&db.urls.1], db.config.clone())?;
    Ok(db)
}
