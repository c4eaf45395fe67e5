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
    crate::lazy_loading::enter_thread_scope();
    TestDatabase {
        scope,
        backend,
        schema,
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
        crate::lazy_loading::leave_thread_scope();
    }
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
        Ok("1") => with_options(&url, "returning=off"),
        Ok("per-row") => with_options(&url, "returning=off&autoinc_consecutive=off"),
        _ => url,
    }
}

/// `url` with the query options `options` (`key=value&...`) added.
fn with_options(url: &str, options: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{options}")
}

/// [`mysql()`] on a connection opened with the URL options `options` added to
/// [`mysql_url()`] (e.g. `"returning=off"`: see the MySQL section of the guide's
/// configuration chapter).
///
/// # Panics
/// In CI (`CI` set) when the server is unreachable.
pub fn mysql_with(options: &str) -> Option<TestDatabase> {
    mysql_at(&with_options(&mysql_url(), options))
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
