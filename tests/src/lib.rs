//! Shared helpers for the integration tests: run one test body on every backend.

pub use orm_core;

use orm_core::{Backend, DB};

pub mod introspect;

/// The test MySQL server's URL ([`orm_core::testing::mysql_url`]) naming `database`
/// instead of its own, its options kept: how a pool reaches a test's private database.
pub fn mysql_url_for(database: &str) -> String {
    let base = orm_core::testing::mysql_url();
    let (address, options) = match base.split_once('?') {
        Some((address, options)) => (address, format!("?{options}")),
        None => (base.as_str(), String::new()),
    };
    let server = address
        .rsplit_once('/')
        .map_or(address, |(server, _)| server);
    format!("{server}/{database}{options}")
}

/// The backend of this thread's default (test) connection.
pub fn backend() -> Backend {
    DB::with_connection(|c| Ok(c.backend())).expect("a test database is installed")
}

/// Picks the SQL for the current backend. MySQL gets the PostgreSQL text translated by
/// [`mysql_from_postgres`] (see [`per_backend3`] where it needs its own).
pub fn per_backend<'a>(sqlite: &'a str, postgres: &'a str) -> &'a str {
    match backend() {
        Backend::Postgres => postgres,
        // A few short strings per test: leaked so that every caller keeps its `&str`.
        Backend::Mysql => Box::leak(mysql_from_postgres(postgres).into_boxed_str()),
        _ => sqlite,
    }
}

/// The test suite's hand-written PostgreSQL DDL and catalog queries in MySQL's words:
/// serial keys become `BIGINT AUTO_INCREMENT`, `TIMESTAMP[TZ]` `DATETIME(6)`, `BYTEA`
/// `LONGBLOB`, `JSONB` `JSON`, `DOUBLE PRECISION` `DOUBLE`, `TIME` `TIME(6)`, `TEXT`
/// `LONGTEXT` (unbounded, as PostgreSQL's),
/// `current_schema()` `DATABASE()`, and `"quoted"` identifiers backquoted. Only words
/// outside single-quoted strings change.
pub fn mysql_from_postgres(sql: &str) -> String {
    const WORDS: &[(&str, &str)] = &[
        ("BIGSERIAL", "BIGINT AUTO_INCREMENT"),
        ("SERIAL", "BIGINT AUTO_INCREMENT"),
        ("TIMESTAMPTZ", "DATETIME(6)"),
        ("TIMESTAMP", "DATETIME(6)"),
        ("BYTEA", "LONGBLOB"),
        ("JSONB", "JSON"),
        ("PRECISION", ""),
        ("TIME", "TIME(6)"),
        // PostgreSQL's TEXT is unbounded; MySQL's holds 64 KiB.
        ("TEXT", "LONGTEXT"),
        ("current_schema", "DATABASE"),
    ];
    let mut out = String::with_capacity(sql.len() + 16);
    let mut chars = sql.char_indices().peekable();
    let mut in_string = false;
    while let Some((i, c)) = chars.next() {
        if in_string {
            out.push(c);
            if c == '\'' {
                in_string = false;
            }
            continue;
        }
        match c {
            '\'' => {
                in_string = true;
                out.push(c);
            }
            '"' => out.push('`'),
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut end = i + c.len_utf8();
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_ascii_alphanumeric() || d == '_' {
                        end = j + d.len_utf8();
                        chars.next();
                    } else {
                        break;
                    }
                }
                let word = &sql[i..end];
                match WORDS
                    .iter()
                    .find(|(from, _)| from.eq_ignore_ascii_case(word))
                {
                    Some((_, to)) => out.push_str(to),
                    None => out.push_str(word),
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// Picks the SQL for the current backend, MySQL's own.
pub fn per_backend3<'a>(sqlite: &'a str, postgres: &'a str, mysql: &'a str) -> &'a str {
    match backend() {
        Backend::Postgres => postgres,
        Backend::Mysql => mysql,
        _ => sqlite,
    }
}

/// Defines a test module with one test per backend (SQLite, PostgreSQL, MySQL/MariaDB);
/// the body runs with a fresh test database installed as the thread's default
/// connection and returns `orm_core::Result<()>`.
///
/// ```ignore
/// on_every_backend! {
///     fn inserts_and_reads() { DB::statement("...")?; Ok(()) }
/// }
/// ```
///
/// A body may name its own result type (`fn name() -> orm_migrate::Result<()> { .. }`).
#[macro_export]
macro_rules! on_every_backend {
    ($(fn $name:ident() -> $ret:ty $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() -> $ret {
                let _db = ::orm_core::testing::sqlite();
                $body
            }

            #[test]
            fn postgres() -> $ret {
                let Some(_db) = ::orm_core::testing::postgres() else {
                    return Ok(());
                };
                $body
            }

            #[test]
            fn mysql() -> $ret {
                let Some(_db) = ::orm_core::testing::mysql() else {
                    return Ok(());
                };
                $body
            }
        }
    )*};
    ($(fn $name:ident() $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() -> ::orm_core::Result<()> {
                let _db = ::orm_core::testing::sqlite();
                $body
            }

            #[test]
            fn postgres() -> ::orm_core::Result<()> {
                let Some(_db) = ::orm_core::testing::postgres() else {
                    return Ok(());
                };
                $body
            }

            #[test]
            fn mysql() -> ::orm_core::Result<()> {
                let Some(_db) = ::orm_core::testing::mysql() else {
                    return Ok(());
                };
                $body
            }
        }
    )*};
}

/// [`on_every_backend!`] without MySQL: SQLite and PostgreSQL only, for the test files
/// not yet run on MySQL.
#[macro_export]
macro_rules! on_both_backends {
    ($(fn $name:ident() -> $ret:ty $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() -> $ret {
                let _db = ::orm_core::testing::sqlite();
                $body
            }

            #[test]
            fn postgres() -> $ret {
                let Some(_db) = ::orm_core::testing::postgres() else {
                    return Ok(());
                };
                $body
            }
        }
    )*};
    ($(fn $name:ident() $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sqlite() -> ::orm_core::Result<()> {
                let _db = ::orm_core::testing::sqlite();
                $body
            }

            #[test]
            fn postgres() -> ::orm_core::Result<()> {
                let Some(_db) = ::orm_core::testing::postgres() else {
                    return Ok(());
                };
                $body
            }
        }
    )*};
}

/// A second, empty database beside the test's default one, for tests that must show a
/// statement ran on one database and not the other: another in-memory SQLite database,
/// on PostgreSQL a schema of its own (reached through `search_path` in the URL), on MySQL
/// a database of its own, dropped with the guard.
pub struct SecondDatabase {
    /// A URL that opens the second database.
    pub url: String,
    /// A name unique in this process (`prefix_pid_n`), e.g. to register it under.
    pub name: String,
    schema: Option<String>,
}

impl SecondDatabase {
    /// Creates it on the backend of this thread's test database; `prefix` names the
    /// PostgreSQL schema (made unique per process and call).
    pub fn new(prefix: &str) -> orm_core::Result<SecondDatabase> {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{prefix}_{}_{n}", std::process::id());
        match backend() {
            Backend::Postgres => {
                DB::statement(&format!("CREATE SCHEMA \"{name}\""))?;
                Ok(SecondDatabase {
                    url: orm_core::testing::with_search_path(
                        &orm_core::testing::postgres_url(),
                        &name,
                    ),
                    schema: Some(name.clone()),
                    name,
                })
            }
            Backend::Mysql => {
                DB::statement(&format!("CREATE DATABASE `{name}`"))?;
                let url = orm_core::testing::mysql_url();
                let server = url
                    .rsplit_once('/')
                    .map_or(url.as_str(), |(server, _)| server);
                Ok(SecondDatabase {
                    url: format!("{server}/{name}"),
                    schema: Some(name.clone()),
                    name,
                })
            }
            _ => Ok(SecondDatabase {
                url: "sqlite::memory:".into(),
                schema: None,
                name,
            }),
        }
    }

    /// The PostgreSQL schema, if the second database is one.
    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }
}

impl Drop for SecondDatabase {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            let _ = match backend() {
                Backend::Mysql => DB::statement(&format!("DROP DATABASE IF EXISTS `{schema}`")),
                _ => DB::statement(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")),
            };
        }
    }
}

pub mod reliability;

/// The README's examples, compiled and run as doctests (they use every crate).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The guide's pages (`docs/`), each compiled and run as doctests.
#[cfg(doctest)]
pub mod guide {
    #[doc = include_str!("../../docs/01-getting-started.md")]
    pub struct GettingStarted;
    #[doc = include_str!("../../docs/02-configuration.md")]
    pub struct Configuration;
    #[doc = include_str!("../../docs/03-models.md")]
    pub struct Models;
    #[doc = include_str!("../../docs/04-query-builder.md")]
    pub struct QueryBuilder;
    #[doc = include_str!("../../docs/05-relationships.md")]
    pub struct Relationships;
    #[doc = include_str!("../../docs/06-migrations.md")]
    pub struct Migrations;
    #[doc = include_str!("../../docs/07-craft.md")]
    pub struct Craft;
    #[doc = include_str!("../../docs/08-transactions.md")]
    pub struct Transactions;
    #[doc = include_str!("../../docs/09-testing.md")]
    pub struct Testing;
    #[doc = include_str!("../../docs/10-performance.md")]
    pub struct Performance;
    #[doc = include_str!("../../docs/11-coming-from-orator.md")]
    pub struct ComingFromOrator;
    #[doc = include_str!("../../docs/12-architecture.md")]
    pub struct Architecture;
    #[doc = include_str!("../../docs/13-seeding.md")]
    pub struct Seeding;
    #[doc = include_str!("../../docs/14-scaling-out.md")]
    pub struct ScalingOut;
}
