//! The models of the tables orm-migrate's default migrations create: [`User`] for
//! [`CreateUsersTable`](crate::CreateUsersTable) and [`MigrationRecord`] for the
//! migrator's ledger.
//!
//! ```
//! use orm_core::prelude::*;
//! use orm_migrate::models::{MigrationRecord, User};
//! use orm_migrate::{CreateUsersTable, Migrator};
//!
//! let _db = orm_core::testing::sqlite();
//! Migrator::new(vec![Box::new(CreateUsersTable)]).run()?;
//! let mut ada = User {
//!     name: "Ada".into(),
//!     email: "ada@example.com".into(),
//!     password: "hashed".into(),
//!     ..Default::default()
//! };
//! ada.save()?;
//! assert_eq!(User::query().count()?, 1);
//! let ledger = MigrationRecord::all()?;
//! assert_eq!(ledger[0].migration, "2014_10_12_000000_create_users_table");
//! assert_eq!(ledger[0].batch, 1);
//! # Ok::<(), orm_migrate::Error>(())
//! ```

use orm_core::prelude::*;

/// A row of the `users` table created by [`CreateUsersTable`](crate::CreateUsersTable).
///
/// `password` is hidden from serialization; store a hash, never the password itself.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "users", timestamps)]
pub struct User {
    /// The key, `None` until saved.
    pub id: Option<i64>,
    /// The display name.
    pub name: String,
    /// The e-mail address (unique).
    pub email: String,
    /// The password hash; hidden from serialization.
    #[model(hidden)]
    pub password: String,
    /// The "remember me" token, when one is set.
    pub remember_token: Option<String>,
    /// When the row was created (set by `save`).
    pub created_at: Option<DateTime<Utc>>,
    /// When the row was last updated (set by `save`).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A row of the migrator's ledger, the `migrations` table
/// ([`LEDGER_TABLE`](crate::LEDGER_TABLE)): one applied migration.
///
/// Read it freely; the [`Migrator`](crate::Migrator) is the one that writes it.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "migrations")]
pub struct MigrationRecord {
    /// The key.
    pub id: Option<i64>,
    /// The migration's name (its file stem), unique.
    pub migration: String,
    /// The batch it was applied in; `rollback` reverts the highest one.
    pub batch: i64,
    /// The checksum of the SQL it ran (see [`checksum`](crate::checksum)).
    pub checksum: Option<String>,
    /// When it was applied.
    pub applied_at: Option<DateTime<Utc>>,
}
