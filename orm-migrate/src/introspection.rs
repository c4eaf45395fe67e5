//! What a live table looks like: its columns, indexes and foreign keys, read from the
//! database's catalog (the queries are the dialect's `SchemaGrammar`'s).

pub use orm_core::dialect::schema::ColumnInfo;
use orm_core::{Row, Value};

use crate::error::Result;
use crate::schema::Schema;

/// One index of a live table other than its primary key ([`Schema::indexes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexInfo {
    /// The index's name.
    pub name: String,
    /// Its columns in index order (expression parts left out).
    pub columns: Vec<String>,
    /// Whether it is unique (unique constraints are unique indexes).
    pub unique: bool,
}

/// One foreign key of a live table ([`Schema::foreign_keys`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForeignKeyInfo {
    /// The constraint's name; `None` on SQLite, which does not keep it.
    pub name: Option<String>,
    /// The referencing columns, in key order.
    pub columns: Vec<String>,
    /// The referenced table.
    pub foreign_table: String,
    /// The referenced columns (empty: the foreign table's primary key).
    pub foreign_columns: Vec<String>,
    /// `ON UPDATE` action: `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_update: String,
    /// `ON DELETE` action, spelled as `on_update`.
    pub on_delete: String,
}

fn flag(row: &Row<'_>, column: &str) -> orm_core::Result<bool> {
    Ok(row.get::<i64, _>(column)? != 0)
}

impl Schema<'_> {
    /// The columns of `table`, in order (empty when it does not exist).
    ///
    /// ```
    /// use orm_migrate::prelude::*;
    /// let mut conn = orm_core::Connection::open("sqlite::memory:")?;
    /// let mut schema = Schema::new(&mut conn);
    /// schema.create("posts", |t| {
    ///     t.increments("id");
    ///     t.string("title", 100);
    ///     t.integer("votes").nullable().default(0);
    /// })?;
    /// let columns = schema.columns("posts")?;
    /// assert_eq!(columns.len(), 3);
    /// assert!(columns[0].primary_key && columns[0].auto_increment);
    /// assert!(!columns[1].nullable && columns[2].nullable);
    /// assert_eq!(columns[2].default.as_deref(), Some("0"));
    /// # Ok::<(), orm_migrate::Error>(())
    /// ```
    pub fn columns(&mut self, table: &str) -> Result<Vec<ColumnInfo>> {
        crate::schema::unqualified(table)?;
        Ok(self.connection().columns(table)?)
    }

    /// The indexes of `table` other than its primary key, by name (unique constraints
    /// included).
    pub fn indexes(&mut self, table: &str) -> Result<Vec<IndexInfo>> {
        crate::schema::unqualified(table)?;
        let conn = self.connection();
        let query = conn.dialect().indexes_query();
        let rows = conn.query_map(query, &[Value::Text(table.to_owned())], |row| {
            Ok((
                row.get::<String, _>("name")?,
                row.get::<String, _>("column")?,
                flag(row, "unique")?,
            ))
        })?;
        let mut indexes: Vec<IndexInfo> = Vec::new();
        for (name, column, unique) in rows {
            match indexes.last_mut() {
                Some(index) if index.name == name => index.columns.push(column),
                _ => indexes.push(IndexInfo {
                    name,
                    columns: vec![column],
                    unique,
                }),
            }
        }
        Ok(indexes)
    }

    /// The foreign keys of `table`.
    pub fn foreign_keys(&mut self, table: &str) -> Result<Vec<ForeignKeyInfo>> {
        crate::schema::unqualified(table)?;
        let conn = self.connection();
        let query = conn.dialect().foreign_keys_query();
        let rows = conn.query_map(query, &[Value::Text(table.to_owned())], |row| {
            Ok((
                row.get::<String, _>("id")?,
                ForeignKeyInfo {
                    name: row.get("name")?,
                    columns: vec![row.get("column")?],
                    foreign_table: row.get("foreign_table")?,
                    foreign_columns: row
                        .get::<Option<String>, _>("foreign_column")?
                        .into_iter()
                        .collect(),
                    on_update: row.get("on_update")?,
                    on_delete: row.get("on_delete")?,
                },
            ))
        })?;
        let mut keys: Vec<(String, ForeignKeyInfo)> = Vec::new();
        for (id, key) in rows {
            match keys.last_mut() {
                Some((last, existing)) if *last == id => {
                    existing.columns.extend(key.columns);
                    existing.foreign_columns.extend(key.foreign_columns);
                }
                _ => keys.push((id, key)),
            }
        }
        Ok(keys.into_iter().map(|(_, key)| key).collect())
    }

    /// Whether `table` has an index (other than its primary key) named `name` (Laravel's
    /// `Schema::hasIndex('table', 'name')`).
    pub fn has_index(&mut self, table: &str, name: &str) -> Result<bool> {
        Ok(self.indexes(table)?.iter().any(|index| index.name == name))
    }

    /// Whether `table` has an index (other than its primary key) on exactly `columns`,
    /// in that order (Laravel's `Schema::hasIndex('table', ['a', 'b'])`); `unique`:
    /// `Some(true)` asks for a unique one, `Some(false)` for a plain one.
    pub fn has_index_on(
        &mut self,
        table: &str,
        columns: &[&str],
        unique: Option<bool>,
    ) -> Result<bool> {
        Ok(self.indexes(table)?.iter().any(|index| {
            index
                .columns
                .iter()
                .map(String::as_str)
                .eq(columns.iter().copied())
                && unique.is_none_or(|u| u == index.unique)
        }))
    }

    /// Whether `table` has a foreign key on exactly `columns`, in that order.
    pub fn has_foreign_key_on(&mut self, table: &str, columns: &[&str]) -> Result<bool> {
        Ok(self.foreign_keys(table)?.iter().any(|key| {
            key.columns
                .iter()
                .map(String::as_str)
                .eq(columns.iter().copied())
        }))
    }

    /// The type of `table`'s `column` as the database spells it (`integer`,
    /// `character varying(100)`, `VARCHAR(100)`, ...), or `None` when there is no such
    /// column (Laravel's `Schema::getColumnType`).
    pub fn get_column_type(&mut self, table: &str, column: &str) -> Result<Option<String>> {
        Ok(self
            .columns(table)?
            .into_iter()
            .find(|c| c.name == column)
            .map(|c| c.type_name))
    }
}
