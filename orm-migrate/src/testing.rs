//! Test databases that start migrated: each test thread gets its own fresh database
//! (see `orm_core::testing`) with the given migrations already run.
//!
//! ```
//! use orm_migrate::{testing, CreateUsersTable};
//! let _db = testing::sqlite(vec![Box::new(CreateUsersTable)])?;
//! assert_eq!(orm_core::DB::select("SELECT COUNT(*) AS n FROM users", &[])?[0].get::<i64, _>("n")?, 0);
//! # Ok::<(), orm_migrate::Error>(())
//! ```
//!
//! Migrated and seeded in one line, with [`TestDatabaseExt::seed`]:
//!
//! ```
//! use orm_migrate::prelude::*;
//! use orm_migrate::testing::{self, TestDatabaseExt};
//!
//! struct AdaSeeder;
//! impl Seeder for AdaSeeder {
//!     fn run(&self) -> Result<()> {
//!         orm_core::DB::table("users").insert([
//!             ("name", "Ada".into()),
//!             ("email", "ada@example.com".into()),
//!             ("password", "-".into()),
//!         ])?;
//!         Ok(())
//!     }
//! }
//!
//! let _db = testing::sqlite(vec![Box::new(CreateUsersTable)])?.seed(&AdaSeeder)?;
//! assert_eq!(orm_core::DB::table("users").count()?, 1);
//! # Ok::<(), orm_migrate::Error>(())
//! ```

use orm_core::testing::TestDatabase;

use crate::error::Result;
use crate::migration::Migration;
use crate::migrator::Migrator;
use crate::seeder::{seed, Seeder};

/// A fresh in-memory SQLite database as this thread's default connection, migrated.
pub fn sqlite(migrations: Vec<Box<dyn Migration>>) -> Result<TestDatabase> {
    let db = orm_core::testing::sqlite();
    Migrator::new(migrations).run()?;
    Ok(db)
}

/// A fresh PostgreSQL schema as this thread's default connection, migrated; `None` when
/// no server is reachable outside CI (see `orm_core::testing::postgres`).
pub fn postgres(migrations: Vec<Box<dyn Migration>>) -> Result<Option<TestDatabase>> {
    let Some(db) = orm_core::testing::postgres() else {
        return Ok(None);
    };
    Migrator::new(migrations).run()?;
    Ok(Some(db))
}

/// Migrating and seeding a test database in the same expression that makes it:
/// `testing::sqlite(migrations)?.seed(&DatabaseSeeder)?`, or from orm-core's
/// `orm_core::testing::sqlite().migrate(migrations)?.seed(&DatabaseSeeder)?`.
pub trait TestDatabaseExt: Sized {
    /// Runs `migrations` on this (the thread's current) test database.
    fn migrate(self, migrations: Vec<Box<dyn Migration>>) -> Result<Self>;
    /// Runs `seeder` on this test database (see [`crate::seed`]).
    fn seed(self, seeder: &dyn Seeder) -> Result<Self>;
}

impl TestDatabaseExt for TestDatabase {
    fn migrate(self, migrations: Vec<Box<dyn Migration>>) -> Result<TestDatabase> {
        Migrator::new(migrations).run()?;
        Ok(self)
    }

    fn seed(self, seeder: &dyn Seeder) -> Result<TestDatabase> {
        seed(seeder)?;
        Ok(self)
    }
}
