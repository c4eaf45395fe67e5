//! The `migrations` ledger: its table, the statements that read and change it, and the
//! lock that keeps two migrators from running at once. The SQL is rendered for the
//! connection's dialect (identifiers quoted by it, `?` placeholders like every raw
//! query run through [`Connection`]).

use chrono::{DateTime, Utc};
use orm_core::dialect::{Dialect, SqlWriter};
use orm_core::{Connection, Value};

use crate::error::Result;
use crate::schema::Schema;

/// The name of the ledger table.
pub const LEDGER_TABLE: &str = "migrations";

/// Tells the migrator's advisory lock apart from other users of the database's locks.
const ADVISORY_LOCK_KEY: i32 = 0x6f72_6d6d; // "ormm"

/// SQLSTATE `undefined_function`: the engine lacks the advisory lock function.
const UNDEFINED_FUNCTION: &str = "42883";

/// The column holding the checksum of the SQL a migration's `down` would run, taken
/// when it was applied; added to ledgers made before it existed.
pub(crate) const DOWN_CHECKSUM: &str = "down_checksum";

/// One applied migration, as the ledger records it.
#[derive(Debug, Clone)]
pub(crate) struct LedgerRow {
    pub(crate) migration: String,
    pub(crate) batch: i64,
    pub(crate) checksum: Option<String>,
    /// `None` for rows written before the column existed, or when `down` could not be
    /// pretended.
    pub(crate) down_checksum: Option<String>,
    pub(crate) applied_at: Option<DateTime<Utc>>,
}

/// Runs `f` holding the migrators' lock: the dialect's session-level advisory lock on
/// `conn` (PostgreSQL; re-entrant). Without one (SQLite) each step takes the write lock
/// when its transaction begins (`BEGIN IMMEDIATE`). An engine that lacks the lock
/// function (CockroachDB) runs `f` without it, with a warning.
pub(crate) fn with_lock<T>(
    conn: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    let Some((lock, unlock)) = conn.dialect().advisory_lock(ADVISORY_LOCK_KEY) else {
        return f(conn);
    };
    match conn.execute_batch(&lock) {
        Ok(()) => {}
        // A PostgreSQL-compatible engine without the function (CockroachDB: "unknown
        // function: pg_advisory_lock()", SQLSTATE 42883) runs the migrations unlocked.
        Err(orm_core::Error::Database {
            code: Some(ref code),
            ref message,
            ..
        }) if code == UNDEFINED_FUNCTION => {
            log::warn!(
                target: "orm_migrate",
                "the database has no advisory lock ({message}): migrating without the \
                 migrators' lock, so run one migrator at a time"
            );
            return f(conn);
        }
        Err(e) => return Err(e.into()),
    }
    // A panicking migration releases the lock too: the session outlives it in the
    // application's pool, and the next migrator would wait on it for good.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn)));
    let released = conn.execute_batch(&unlock);
    let value = match result {
        Ok(result) => result?,
        Err(panic) => std::panic::resume_unwind(panic),
    };
    released?;
    Ok(value)
}

/// Creates the ledger table unless it exists, and adds the `down_checksum` column to a
/// ledger made before it existed (a nullable column: the old rows keep `NULL`, "not
/// known"). The callers hold the migrators' lock (or SQLite's write lock), so two
/// migrators do not both add it; an engine without the lock that loses the race finds
/// the column there and goes on.
pub(crate) fn ensure(conn: &mut Connection) -> Result<()> {
    let mut schema = Schema::new(conn);
    if schema.has_table(LEDGER_TABLE)? {
        refuse_foreign(&mut schema)?;
    } else {
        return schema.create(LEDGER_TABLE, |table| {
            table.increments("id");
            table.string("migration", 255).unique();
            table.integer("batch");
            table.string("checksum", 64).nullable();
            table.timestamp("applied_at").nullable();
            table.string(DOWN_CHECKSUM, 64).nullable();
        });
    }
    if schema.has_column(LEDGER_TABLE, DOWN_CHECKSUM)? {
        return Ok(());
    }
    match schema.table(LEDGER_TABLE, |table| {
        table.string(DOWN_CHECKSUM, 64).nullable();
    }) {
        Ok(()) => Ok(()),
        Err(_) if schema.has_column(LEDGER_TABLE, DOWN_CHECKSUM)? => Ok(()),
        Err(e) => Err(e),
    }
}

/// [`crate::Error::ForeignLedger`] when the existing ledger table lacks this migrator's
/// columns: another tool's, which must not be read as this one's, nor changed.
fn refuse_foreign(schema: &mut Schema<'_>) -> Result<()> {
    let mut missing = Vec::new();
    for column in ["checksum", "applied_at"] {
        if !schema.has_column(LEDGER_TABLE, column)? {
            missing.push(column.to_owned());
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(crate::Error::ForeignLedger {
        table: LEDGER_TABLE.to_owned(),
        missing,
    })
}

/// Every ledger row, oldest batch first. `with_down` says whether the table has the
/// `down_checksum` column (a ledger not upgraded yet lacks it).
pub(crate) fn read(conn: &mut Connection, with_down: bool) -> Result<Vec<LedgerRow>> {
    let sql = select_all(conn.dialect(), with_down)?;
    Ok(conn.query_map(&sql, &[], |row| {
        Ok(LedgerRow {
            migration: row.get("migration")?,
            batch: row.get("batch")?,
            checksum: row.get("checksum")?,
            down_checksum: if with_down {
                row.get(DOWN_CHECKSUM)?
            } else {
                None
            },
            applied_at: row
                .get::<Option<DateTime<Utc>>, _>("applied_at")
                .ok()
                .flatten(),
        })
    })?)
}

/// Every ledger row, or none when the ledger table does not exist yet. Reads a ledger
/// of any version and changes nothing (`status` upgrades no table).
pub(crate) fn read_if_exists(conn: &mut Connection) -> Result<Vec<LedgerRow>> {
    let mut schema = Schema::new(conn);
    if !schema.has_table(LEDGER_TABLE)? {
        return Ok(Vec::new());
    }
    refuse_foreign(&mut schema)?;
    let with_down = schema.has_column(LEDGER_TABLE, DOWN_CHECKSUM)?;
    read(conn, with_down)
}

/// Whether migration `name` is recorded.
pub(crate) fn is_recorded(conn: &mut Connection, name: &str) -> Result<bool> {
    let sql = select_one(conn.dialect())?;
    Ok(!conn
        .select_values(&sql, &[Value::Text(name.to_owned())])?
        .is_empty())
}

/// Records migration `name` as applied in `batch`, with its SQL's `checksum` and, when
/// known, the checksum of the SQL its `down` would run (`down_checksum`).
pub(crate) fn record(
    conn: &mut Connection,
    name: &str,
    batch: i64,
    checksum: String,
    down_checksum: Option<String>,
) -> Result<()> {
    let sql = insert(conn.dialect())?;
    conn.execute_values(
        &sql,
        &[
            Value::Text(name.to_owned()),
            Value::Int(batch),
            Value::Text(checksum),
            Value::DateTimeUtc(Utc::now()),
            down_checksum.map_or(Value::Null, Value::Text),
        ],
    )?;
    Ok(())
}

/// The checksum marking a migration whose first `ran` statements ran before it failed
/// on a database without transactional DDL.
pub(crate) fn partial_marker(ran: usize) -> String {
    format!("{PARTIAL_PREFIX}{ran}")
}

const PARTIAL_PREFIX: &str = "partial:";

impl LedgerRow {
    /// How many statements ran, when the row marks a partially applied migration.
    pub(crate) fn partial(&self) -> Option<usize> {
        self.checksum
            .as_deref()?
            .strip_prefix(PARTIAL_PREFIX)?
            .parse()
            .ok()
    }
}

/// Replaces migration `name`'s checksum (a partial marker, or the real one when it
/// finishes).
pub(crate) fn set_checksum(conn: &mut Connection, name: &str, checksum: String) -> Result<()> {
    let mut w = SqlWriter::new(conn.dialect());
    w.push("UPDATE ")
        .push_identifier(LEDGER_TABLE)
        .push(" SET ")
        .push_identifier("checksum")
        .push(" = ? WHERE ")
        .push_identifier("migration")
        .push(" = ?");
    let sql = finish(w)?;
    conn.execute_values(&sql, &[Value::Text(checksum), Value::Text(name.to_owned())])?;
    Ok(())
}

/// Records migration `name` as applied: its real `checksum` and `down_checksum` (a
/// migration that finished on MySQL, or a partial one resolved as applied).
pub(crate) fn set_checksums(
    conn: &mut Connection,
    name: &str,
    checksum: String,
    down_checksum: Option<String>,
) -> Result<()> {
    let sql = update_checksums(conn.dialect())?;
    conn.execute_values(
        &sql,
        &[
            Value::Text(checksum),
            down_checksum.map_or(Value::Null, Value::Text),
            Value::Text(name.to_owned()),
        ],
    )?;
    Ok(())
}

/// Forgets migration `name`.
pub(crate) fn forget(conn: &mut Connection, name: &str) -> Result<()> {
    let sql = delete(conn.dialect())?;
    conn.execute_values(&sql, &[Value::Text(name.to_owned())])?;
    Ok(())
}

fn finish(w: SqlWriter) -> Result<String> {
    Ok(w.finish().map(|(sql, _)| sql)?)
}

/// Columns `id`, `migration`, `batch`, `checksum`, `applied_at` (and `down_checksum`
/// when `with_down`) of every row.
fn select_all(dialect: &'static dyn Dialect, with_down: bool) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push("SELECT ")
        .push_identifiers(["id", "migration", "batch", "checksum", "applied_at"]);
    if with_down {
        w.push(", ").push_identifier(DOWN_CHECKSUM);
    }
    w.push(" FROM ")
        .push_identifier(LEDGER_TABLE)
        .push(" ORDER BY ")
        .push_identifiers(["batch", "migration"]);
    finish(w)
}

/// One row (column `found`) when the migration bound as the only parameter is recorded.
fn select_one(dialect: &'static dyn Dialect) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push("SELECT 1 AS found FROM ")
        .push_identifier(LEDGER_TABLE)
        .push(" WHERE ")
        .push_identifier("migration")
        .push(" = ?");
    finish(w)
}

/// Binds `migration`, `batch`, `checksum`, `applied_at`, `down_checksum`.
fn insert(dialect: &'static dyn Dialect) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push("INSERT INTO ")
        .push_identifier(LEDGER_TABLE)
        .push(" (")
        .push_identifiers([
            "migration",
            "batch",
            "checksum",
            "applied_at",
            DOWN_CHECKSUM,
        ])
        .push(") VALUES (?, ?, ?, ?, ?)");
    finish(w)
}

/// Binds `checksum`, `down_checksum`, then `migration`.
fn update_checksums(dialect: &'static dyn Dialect) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push("UPDATE ")
        .push_identifier(LEDGER_TABLE)
        .push(" SET ")
        .push_identifier("checksum")
        .push(" = ?, ")
        .push_identifier(DOWN_CHECKSUM)
        .push(" = ? WHERE ")
        .push_identifier("migration")
        .push(" = ?");
    finish(w)
}

/// Binds `migration`.
fn delete(dialect: &'static dyn Dialect) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push("DELETE FROM ")
        .push_identifier(LEDGER_TABLE)
        .push(" WHERE ")
        .push_identifier("migration")
        .push(" = ?");
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use orm_core::Backend;

    #[test]
    fn golden_ledger_statements() {
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let dialect = backend.dialect();
            assert_eq!(
                select_all(dialect, false).unwrap(),
                r#"SELECT "id", "migration", "batch", "checksum", "applied_at" FROM "migrations" ORDER BY "batch", "migration""#
            );
            assert_eq!(
                select_all(dialect, true).unwrap(),
                r#"SELECT "id", "migration", "batch", "checksum", "applied_at", "down_checksum" FROM "migrations" ORDER BY "batch", "migration""#
            );
            assert_eq!(
                select_one(dialect).unwrap(),
                r#"SELECT 1 AS found FROM "migrations" WHERE "migration" = ?"#
            );
            assert_eq!(
                insert(dialect).unwrap(),
                r#"INSERT INTO "migrations" ("migration", "batch", "checksum", "applied_at", "down_checksum") VALUES (?, ?, ?, ?, ?)"#
            );
            assert_eq!(
                update_checksums(dialect).unwrap(),
                r#"UPDATE "migrations" SET "checksum" = ?, "down_checksum" = ? WHERE "migration" = ?"#
            );
            assert_eq!(
                delete(dialect).unwrap(),
                r#"DELETE FROM "migrations" WHERE "migration" = ?"#
            );
        }
        assert!(Backend::Sqlite
            .dialect()
            .advisory_lock(ADVISORY_LOCK_KEY)
            .is_none());
        assert_eq!(
            Backend::Postgres.dialect().advisory_lock(7),
            Some((
                "SELECT pg_advisory_lock(7, hashtext(current_schema()))".to_owned(),
                "SELECT pg_advisory_unlock(7, hashtext(current_schema()))".to_owned()
            ))
        );
    }
}
