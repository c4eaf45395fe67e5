//! The `Migration` trait and the migrations orm-migrate ships.

use crate::error::Result;
use crate::schema::Schema;

/// One step of the schema's history, with its way back.
///
/// Do all database work through `schema` (use [`Schema::statement`] for raw SQL): that
/// is what `pretend` shows and what the ledger's checksum covers.
pub trait Migration {
    /// The stable name, the migration file's stem (e.g.
    /// `2024_01_01_000000_create_posts_table`); migrations run in name order.
    fn name(&self) -> &str;

    /// Applies the change.
    fn up(&self, schema: &mut Schema) -> Result<()>;

    /// Reverts [`Migration::up`].
    fn down(&self, schema: &mut Schema) -> Result<()>;

    /// Whether the migration and its ledger row run in one transaction (the default).
    /// Return `false` for statements that cannot run inside one (e.g. PostgreSQL's
    /// `CREATE INDEX CONCURRENTLY`); a failure may then leave part of it applied.
    fn transactional(&self) -> bool {
        true
    }
}

/// The `users` table: `id`, `name`, `email` (unique), `password`, `remember_token`,
/// `created_at`, `updated_at`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateUsersTable;

impl Migration for CreateUsersTable {
    fn name(&self) -> &str {
        "2014_10_12_000000_create_users_table"
    }

    fn up(&self, schema: &mut Schema) -> Result<()> {
        schema.create("users", |table| {
            table.increments("id");
            table.string("name", 255);
            table.string("email", 255).unique();
            table.string("password", 255);
            table.remember_token();
            table.timestamps();
        })
    }

    fn down(&self, schema: &mut Schema) -> Result<()> {
        schema.drop_if_exists("users")
    }
}
