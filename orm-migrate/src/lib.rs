//! # orm-migrate
//!
//! The schema builder and migrations for orm-core, in the Orator / Masonite / Laravel
//! style:
//!
//! ```
//! use orm_migrate::prelude::*;
//!
//! pub struct CreatePostsTable;
//! impl Migration for CreatePostsTable {
//!     fn name(&self) -> &str {
//!         "2024_01_01_000000_create_posts_table"
//!     }
//!     fn up(&self, schema: &mut Schema) -> Result<()> {
//!         schema.create("posts", |table| {
//!             table.increments("id");
//!             table.string("title", 255);
//!             table.text("body").nullable();
//!             table.big_integer("user_id").unsigned();
//!             table.foreign("user_id").references("id").on("users").on_delete("cascade");
//!             table.timestamps();
//!         })
//!     }
//!     fn down(&self, schema: &mut Schema) -> Result<()> {
//!         schema.drop_if_exists("posts")
//!     }
//! }
//!
//! use orm_core::Executor;
//!
//! let mut conn = orm_core::Connection::open("sqlite::memory:")?;
//! let migrator = Migrator::new(vec![Box::new(CreateUsersTable), Box::new(CreatePostsTable)]);
//! // Inside `scope`, everything runs on `conn` (the migrator's own errors are returned
//! // inside the scope's `Result`).
//! let report = conn.scope(|| Ok(migrator.run()))??;
//! assert_eq!(report.applied.len(), 2);
//! assert!(conn.scope(|| Ok(migrator.status()))??.iter().all(|s| s.ran));
//! # Ok::<(), orm_migrate::Error>(())
//! ```
#![deny(missing_docs)]

mod blueprint;
#[cfg(feature = "cli")]
pub mod cli;
mod error;
#[cfg(feature = "factory")]
pub mod factory;
mod introspection;
mod ledger;
mod migration;
mod migrator;
pub mod models;
mod schema;
mod seeder;
pub mod testing;

pub use crate::blueprint::{Blueprint, ColumnBuilder, ForeignKeyBuilder, IndexName};
pub use crate::error::{Error, Result};
pub use crate::introspection::{ColumnInfo, ForeignKeyInfo, IndexInfo};
pub use crate::ledger::LEDGER_TABLE;
#[doc(hidden)]
pub use crate::migration::file_stem;
pub use crate::migration::{CreateUsersTable, Migration};
pub use crate::migrator::{
    checksum, MigrationState, MigrationStatus, Migrator, PretendedMigration, Progress, RunOptions,
    RunReport,
};
pub use crate::schema::Schema;
pub use crate::seeder::{report_inserted, seed, seed_with, SeedProgress, Seeder};

/// Everything a migration or seeder file needs: `use orm_migrate::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Blueprint, CreateUsersTable, Error, Migration, Migrator, Result, RunOptions, Schema, Seeder,
    };
}
