//! The `Migration` trait and the migrations orm-migrate ships.

use crate::error::Result;
use crate::schema::Schema;

/// One step of the schema's history, with its way back.
///
/// Do all database work through `schema` (use [`Schema::statement`] for raw SQL): that
/// is what `pretend` shows and what the ledger's checksum covers.
pub trait Migration {
    /// The migration's identity in the ledger, and its place in the run order
    /// (migrations run in name order): its file's stem, e.g.
    /// `2024_01_01_000000_create_posts_table`. `craft` writes it into every migration it
    /// generates; in a hand-written one return a literal, or
    /// [`migration_name!()`](crate::migration_name) for the stem of the file it is
    /// written in. Required, so that nothing the compiler may change (type paths)
    /// decides which migrations the ledger has already run.
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

/// The stem of a source file's path (`.../2024_01_01_000000_x.rs` → `2024_01_01_000000_x`),
/// for [`migration_name!`](crate::migration_name).
#[doc(hidden)]
pub fn file_stem(path: &'static str) -> &'static str {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    name.strip_suffix(".rs").unwrap_or(name)
}

/// The stem of the file it is written in, as a migration's name:
/// `fn name(&self) -> &str { orm_migrate::migration_name!() }` in
/// `databases/migrations/2024_01_01_000000_create_posts_table.rs` is
/// `2024_01_01_000000_create_posts_table`, whatever module the file is mounted as.
#[macro_export]
macro_rules! migration_name {
    () => {
        $crate::file_stem(::core::file!())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stems() {
        assert_eq!(
            file_stem("src/../databases/migrations/2024_01_01_000000_create_posts_table.rs"),
            "2024_01_01_000000_create_posts_table"
        );
        assert_eq!(file_stem("databases\\migrations\\2024_x.rs"), "2024_x");
        assert_eq!(file_stem("plain.rs"), "plain");
        assert_eq!(migration_name!(), "migration");
    }
}
