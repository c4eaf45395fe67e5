//! The model's fixed-shape statements (find, insert, update, delete, exists by key),
//! described as plain data by `model/` and written here. Every method has the portable
//! form SQLite and PostgreSQL share; a backend overrides what it writes differently
//! (e.g. an insert without `RETURNING`).

use super::SqlWriter;
use crate::error::{Error, InvalidQueryKind};

/// One row of `table`, addressed by `key` = the first placeholder.
#[derive(Debug, Clone, Copy)]
pub struct ByKey<'a> {
    /// The table.
    pub table: &'a str,
    /// The key column.
    pub key: &'a str,
}

/// `SELECT columns FROM table WHERE key = ? [AND not_deleted IS NULL] LIMIT 1`.
#[derive(Debug, Clone, Copy)]
pub struct FindByKey<'a> {
    /// The row to read.
    pub row: ByKey<'a>,
    /// The columns selected, in decode order.
    pub columns: &'a [&'a str],
    /// A soft-delete column that must be `NULL` (`None`: trashed rows are found too).
    pub not_deleted: Option<&'a str>,
}

/// `INSERT INTO table (columns) VALUES (..), .. [RETURNING returning]`: `rows` rows of
/// placeholders, numbered row by row.
#[derive(Debug, Clone, Copy)]
pub struct InsertRows<'a> {
    /// The table.
    pub table: &'a str,
    /// The columns given values (none: `DEFAULT VALUES`, for one row).
    pub columns: &'a [&'a str],
    /// How many rows.
    pub rows: usize,
    /// The columns the database fills in, read back.
    pub returning: &'a [&'a str],
}

/// `UPDATE table SET a = ?, .. [, version = version + 1] WHERE key = ? [AND version = ?]`:
/// placeholders are the set values, the key, then the version read.
#[derive(Debug, Clone, Copy)]
pub struct UpdateByKey<'a> {
    /// The row to change.
    pub row: ByKey<'a>,
    /// The columns set.
    pub set: &'a [&'a str],
    /// The optimistic-lock column: incremented, and compared with the value read.
    pub version: Option<&'a str>,
}

/// The statements a model runs by key: every [`Dialect`](super::Dialect) implements it.
pub trait StatementGrammar {
    /// What follows `INSERT INTO table` for a row of defaults only.
    fn default_values_clause(&self) -> &'static str {
        " DEFAULT VALUES"
    }

    /// Appends the read of one row by key ([`FindByKey`]).
    fn push_find_by_key(&self, w: &mut SqlWriter, find: &FindByKey<'_>) {
        w.push("SELECT ")
            .push_identifiers(find.columns.iter().copied());
        w.push(" FROM ").push_table_name(find.row.table);
        push_key_condition(w, find.row.key, 1);
        if let Some(deleted_at) = find.not_deleted {
            w.push(" AND ").push_identifier(deleted_at).push(" IS NULL");
        }
        if w.dialect().limits_key_lookups() {
            let mut limit = String::new();
            w.dialect().push_limit_offset(&mut limit, Some(1), None);
            w.push(&limit);
        }
    }

    /// Appends `SELECT 1 FROM table WHERE key = ?`.
    fn push_exists_by_key(&self, w: &mut SqlWriter, row: ByKey<'_>) {
        w.push("SELECT 1 FROM ").push_table_name(row.table);
        push_key_condition(w, row.key, 1);
    }

    /// Appends `DELETE FROM table WHERE key = ?`.
    fn push_delete_by_key(&self, w: &mut SqlWriter, row: ByKey<'_>) {
        w.push("DELETE FROM ").push_table_name(row.table);
        push_key_condition(w, row.key, 1);
    }

    /// Appends `DELETE FROM table WHERE key = ? AND version = ?`: the delete of a
    /// versioned model, which leaves a row another copy changed since it was read.
    fn push_delete_versioned(&self, w: &mut SqlWriter, row: ByKey<'_>, version: &str) {
        self.push_delete_by_key(w, row);
        w.push(" AND ").push_identifier(version).push(" = ");
        w.push_placeholder(2);
    }

    /// Appends an insert of [`InsertRows`]; refused where the database cannot return the
    /// columns it asks for.
    fn push_insert_rows(&self, w: &mut SqlWriter, insert: &InsertRows<'_>) {
        let width = insert.columns.len();
        w.push("INSERT INTO ").push_table_name(insert.table);
        if width == 0 {
            w.push(self.default_values_clause());
        } else {
            w.push(" (")
                .push_identifiers(insert.columns.iter().copied())
                .push(") VALUES ");
            for row in 0..insert.rows {
                w.push(if row == 0 { "(" } else { ", (" });
                for column in 0..width {
                    if column > 0 {
                        w.push(", ");
                    }
                    w.push_placeholder(row * width + column + 1);
                }
                w.push(")");
            }
        }
        if !insert.returning.is_empty() {
            if !w.dialect().supports_returning() {
                w.fail(Error::invalid_query(
                    InvalidQueryKind::Unsupported,
                    "this database does not support RETURNING",
                ));
                return;
            }
            w.push(" RETURNING ")
                .push_identifiers(insert.returning.iter().copied());
        }
    }

    /// Appends an update of one row by key ([`UpdateByKey`]).
    fn push_update_by_key(&self, w: &mut SqlWriter, update: &UpdateByKey<'_>) {
        w.push("UPDATE ")
            .push_table_name(update.row.table)
            .push(" SET ");
        for (i, column) in update.set.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_identifier(column).push(" = ");
            w.push_placeholder(i + 1);
        }
        let n = update.set.len();
        if let Some(version) = update.version {
            if n > 0 {
                w.push(", ");
            }
            w.push_identifier(version)
                .push(" = ")
                .push_identifier(version)
                .push(" + 1");
        }
        push_key_condition(w, update.row.key, n + 1);
        if let Some(version) = update.version {
            w.push(" AND ").push_identifier(version).push(" = ");
            w.push_placeholder(n + 2);
        }
    }
}

fn push_key_condition(w: &mut SqlWriter, key: &str, placeholder: usize) {
    w.push(" WHERE ").push_identifier(key).push(" = ");
    w.push_placeholder(placeholder);
}
