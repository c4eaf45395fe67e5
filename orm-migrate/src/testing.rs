//! Test databases that start migrated: each test thread gets its own fresh database
//! (see `orm_core::testing`) with the given migrations already run.
//!
//! ```
//! use orm_migrate::{testing, CreateUsersTable};
//! let _db = testing::sqlite(vec![Box::new(CreateUsersTable)])?;
//! assert_eq!(orm_core::DB::select("SELECT COUNT(*) AS n FROM users", &[])?[0].get::<i64, _>("n")?, 0);
//! # Ok::<(), orm_migrate::Error>(())
//! ```

use orm_core::testing::TestDatabase;

use crate::error::Result;
use crate::migration::Migration;
use crate::migrator::Migrator;

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
