//! Shared helpers for the integration tests: run one test body on every backend.

pub use orm_core;

use orm_core::{Backend, DB};

pub mod introspect;

/// The backend of this thread's default (test) connection.
pub fn backend() -> Backend {
    DB::with_connection(|c| Ok(c.backend())).expect("a test database is installed")
}

/// Picks the SQL for the current backend.
pub fn per_backend<'a>(sqlite: &'a str, postgres: &'a str) -> &'a str {
    match backend() {
        Backend::Postgres => postgres,
        _ => sqlite,
    }
}

/// Defines a test module with one test per backend; the body runs with a fresh test
/// database installed as the thread's default connection and returns `orm_core::Result<()>`.
///
/// ```ignore
/// on_both_backends! {
///     fn inserts_and_reads() { DB::statement("...")?; Ok(()) }
/// }
/// ```
///
/// A body may name its own result type (`fn name() -> orm_migrate::Result<()> { .. }`).
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
}
