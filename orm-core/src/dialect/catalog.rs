//! Catalog queries: what the database knows about its tables (existence, columns,
//! primary key names), read by the schema builder.

use crate::dialect::{Backend, Dialect};

/// A query (one bind: the table name) returning one row when the table exists.
pub fn has_table_query(dialect: &'static dyn Dialect) -> &'static str {
    match dialect.backend() {
        Backend::Sqlite => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        Backend::Postgres => {
            "SELECT 1 FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = ?"
        }
    }
}

/// A query (one bind: the table name) returning the table's column names in order, in
/// a column named `name`.
pub fn column_listing_query(dialect: &'static dyn Dialect) -> &'static str {
    match dialect.backend() {
        Backend::Sqlite => "SELECT name FROM pragma_table_info(?) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
        }
    }
}

/// A query (no binds) returning every user table of the current schema, in a column
/// named `name`.
pub fn table_listing_query(dialect: &'static dyn Dialect) -> &'static str {
    match dialect.backend() {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        }
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
        }
    }
}

/// PostgreSQL: a query (one bind: the table name) returning the primary key
/// constraint's name in a column named `name`.
pub fn primary_key_name_query() -> &'static str {
    "SELECT constraint_name::text AS name FROM information_schema.table_constraints \
     WHERE table_schema = current_schema() AND table_name = ? AND constraint_type = 'PRIMARY KEY'"
}

/// PostgreSQL: the statements taking and releasing the session-level advisory lock that
/// serialises migrators working on the current schema (`key` tells lock users apart).
pub fn advisory_lock_statements(key: i32) -> (String, String) {
    (
        format!("SELECT pg_advisory_lock({key}, hashtext(current_schema()))"),
        format!("SELECT pg_advisory_unlock({key}, hashtext(current_schema()))"),
    )
}

/// The statements the migrator runs on its ledger table (named by the caller), with `?`
/// placeholders like every raw query run through [`crate::Connection`].
pub mod ledger {
    use crate::dialect::{Dialect, SqlWriter};
    use crate::error::Result;

    fn finish(w: SqlWriter) -> Result<String> {
        w.finish().map(|(sql, _)| sql)
    }

    /// Every ledger row, oldest first: columns `id`, `migration`, `batch`, `checksum`,
    /// `applied_at`.
    pub fn select_all(dialect: &'static dyn Dialect, table: &str) -> Result<String> {
        let mut w = SqlWriter::new(dialect);
        w.push("SELECT ")
            .push_identifier("id")
            .push(", ")
            .push_identifier("migration")
            .push(", ")
            .push_identifier("batch")
            .push(", ")
            .push_identifier("checksum")
            .push(", ")
            .push_identifier("applied_at")
            .push(" FROM ")
            .push_identifier(table)
            .push(" ORDER BY ")
            .push_identifier("batch")
            .push(", ")
            .push_identifier("migration");
        finish(w)
    }

    /// One row (column `found`) when the migration bound as the only parameter is
    /// recorded.
    pub fn select_one(dialect: &'static dyn Dialect, table: &str) -> Result<String> {
        let mut w = SqlWriter::new(dialect);
        w.push("SELECT 1 AS found FROM ")
            .push_identifier(table)
            .push(" WHERE ")
            .push_identifier("migration")
            .push(" = ?");
        finish(w)
    }

    /// Records a migration: binds `migration`, `batch`, `checksum`, `applied_at`.
    pub fn insert(dialect: &'static dyn Dialect, table: &str) -> Result<String> {
        let mut w = SqlWriter::new(dialect);
        w.push("INSERT INTO ")
            .push_identifier(table)
            .push(" (")
            .push_identifier("migration")
            .push(", ")
            .push_identifier("batch")
            .push(", ")
            .push_identifier("checksum")
            .push(", ")
            .push_identifier("applied_at")
            .push(") VALUES (?, ?, ?, ?)");
        finish(w)
    }

    /// Forgets a migration: binds `migration`.
    pub fn delete(dialect: &'static dyn Dialect, table: &str) -> Result<String> {
        let mut w = SqlWriter::new(dialect);
        w.push("DELETE FROM ")
            .push_identifier(table)
            .push(" WHERE ")
            .push_identifier("migration")
            .push(" = ?");
        finish(w)
    }
}

/// SQLite statements around work that must not trip foreign keys (table rebuilds):
/// turning enforcement off and on again (only effective outside a transaction), and
/// the check run before committing.
pub mod sqlite_pragmas {
    /// Reads whether foreign keys are enforced (one row, one integer column).
    pub const FOREIGN_KEYS_STATE: &str = "PRAGMA foreign_keys";
    /// Turns enforcement off (no effect inside a transaction).
    pub const FOREIGN_KEYS_OFF: &str = "PRAGMA foreign_keys = OFF";
    /// Turns enforcement on.
    pub const FOREIGN_KEYS_ON: &str = "PRAGMA foreign_keys = ON";
    /// Lists rows violating foreign keys (no rows: all good).
    pub const FOREIGN_KEY_CHECK: &str = "PRAGMA foreign_key_check";
    /// Lists tables (column `name`) with a foreign key to the table bound as `?`.
    pub const REFERENCING_TABLES: &str = "SELECT m.name AS name FROM sqlite_master AS m, \
        pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table' AND f.\"table\" = ? \
        AND m.name <> ?";
    /// The `CREATE TABLE` statement of the table bound as `?` (column `sql`).
    pub const TABLE_SQL: &str = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?";
    /// The explicitly created indexes of the table bound as `?` (columns `name`, `sql`).
    pub const INDEXES: &str = "SELECT name, sql FROM sqlite_master \
        WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name";
    /// The columns (column `name`) of the index bound as `?`, in order.
    pub const INDEX_COLUMNS: &str = "SELECT name FROM pragma_index_info(?) ORDER BY seqno";
    /// The triggers of the table bound as `?` (column `sql`).
    pub const TRIGGERS: &str = "SELECT sql FROM sqlite_master \
        WHERE type = 'trigger' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name";
}
