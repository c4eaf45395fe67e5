//! Reads a live database's schema (SQLite pragmas, PostgreSQL's information_schema and
//! pg_indexes, MySQL's information_schema), so that tests check what the database really has, not SQL strings.

use orm_core::{Backend, Result, DB};

use crate::backend;

/// One column as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// The column name.
    pub name: String,
    /// The type, uppercased: SQLite's declared type, PostgreSQL's `data_type`
    /// (with the length for character types, e.g. `CHARACTER VARYING(255)`).
    pub ty: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The default expression, as the database shows it.
    pub default: Option<String>,
    /// Whether it is part of the primary key.
    pub primary: bool,
}

/// The columns of `table`, in order.
pub fn columns(table: &str) -> Result<Vec<ColumnInfo>> {
    match backend() {
        Backend::Postgres => {
            let rows = DB::select(
                "SELECT c.column_name::text AS name, upper(c.data_type::text) AS ty, \
                 c.is_nullable::text AS nullable, c.column_default::text AS dflt, \
                 c.character_maximum_length::int AS len, \
                 EXISTS (SELECT 1 FROM information_schema.table_constraints tc \
                   JOIN information_schema.key_column_usage k \
                     ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema \
                   WHERE tc.table_schema = c.table_schema AND tc.table_name = c.table_name \
                     AND tc.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name) AS pk \
                 FROM information_schema.columns c \
                 WHERE c.table_schema = current_schema() AND c.table_name = ? \
                 ORDER BY c.ordinal_position",
                &[&table],
            )?;
            rows.iter()
                .map(|r| {
                    let mut ty: String = r.get("ty")?;
                    if let Some(len) = r.get::<Option<i64>, _>("len")? {
                        ty = format!("{ty}({len})");
                    }
                    Ok(ColumnInfo {
                        name: r.get("name")?,
                        ty,
                        nullable: r.get::<String, _>("nullable")? == "YES",
                        default: r.get("dflt")?,
                        primary: r.get("pk")?,
                    })
                })
                .collect()
        }
        Backend::Mysql => {
            let rows = DB::select(
                "SELECT column_name AS name, upper(column_type) AS ty, is_nullable AS nullable, \
                 column_default AS dflt, column_key = 'PRI' AS pk \
                 FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
                &[&table],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(ColumnInfo {
                        name: r.get("name")?,
                        ty: r.get("ty")?,
                        nullable: r.get::<String, _>("nullable")? == "YES",
                        // MariaDB shows "no default" of a nullable column as the text NULL.
                        default: r.get::<Option<String>, _>("dflt")?.filter(|d| d != "NULL"),
                        primary: r.get::<i64, _>("pk")? == 1,
                    })
                })
                .collect()
        }
        _ => {
            let rows = DB::select(
                "SELECT name, upper(type) AS ty, \"notnull\" AS nn, dflt_value AS dflt, pk \
                 FROM pragma_table_info(?) ORDER BY cid",
                &[&table],
            )?;
            rows.iter()
                .map(|r| {
                    Ok(ColumnInfo {
                        name: r.get("name")?,
                        ty: r.get("ty")?,
                        nullable: r.get::<i64, _>("nn")? == 0,
                        default: r.get("dflt")?,
                        primary: r.get::<i64, _>("pk")? > 0,
                    })
                })
                .collect()
        }
    }
}

/// One column of `table` by name.
///
/// # Panics
/// When the table has no such column.
pub fn column(table: &str, name: &str) -> ColumnInfo {
    columns(table)
        .expect("read columns")
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("table {table} has no column {name}"))
}

/// One index as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    /// The index name.
    pub name: String,
    /// Whether it is unique.
    pub unique: bool,
    /// Its columns, in order.
    pub columns: Vec<String>,
}

/// The indexes of `table` (on PostgreSQL including the primary key's), by name.
pub fn indexes(table: &str) -> Result<Vec<IndexInfo>> {
    let mut out = Vec::new();
    match backend() {
        Backend::Postgres => {
            let rows = DB::select(
                "SELECT i.relname::text AS name, ix.indisunique AS uniq, \
                 array_to_string(ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, n) \
                   JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n), ',') AS cols \
                 FROM pg_index ix JOIN pg_class t ON t.oid = ix.indrelid \
                 JOIN pg_class i ON i.oid = ix.indexrelid \
                 JOIN pg_indexes pi ON pi.indexname = i.relname AND pi.schemaname = current_schema() \
                 WHERE t.relname = ? AND t.relnamespace = current_schema()::regnamespace ORDER BY 1",
                &[&table],
            )?;
            for r in rows {
                out.push(IndexInfo {
                    name: r.get("name")?,
                    unique: r.get("uniq")?,
                    columns: r
                        .get::<String, _>("cols")?
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                });
            }
        }
        Backend::Mysql => {
            let rows = DB::select(
                "SELECT index_name AS name, MIN(non_unique) = 0 AS uniq, \
                 GROUP_CONCAT(column_name ORDER BY seq_in_index SEPARATOR ',') AS cols \
                 FROM information_schema.statistics \
                 WHERE table_schema = DATABASE() AND table_name = ? \
                 GROUP BY index_name ORDER BY index_name",
                &[&table],
            )?;
            for r in rows {
                out.push(IndexInfo {
                    name: r.get("name")?,
                    unique: r.get::<i64, _>("uniq")? == 1,
                    columns: r
                        .get::<String, _>("cols")?
                        .split(',')
                        .map(str::to_owned)
                        .collect(),
                });
            }
        }
        _ => {
            let rows = DB::select(
                "SELECT name, \"unique\" AS uniq FROM pragma_index_list(?) ORDER BY name",
                &[&table],
            )?;
            for r in rows {
                let name: String = r.get("name")?;
                let columns = DB::select(
                    "SELECT name FROM pragma_index_info(?) ORDER BY seqno",
                    &[&name],
                )?
                .iter()
                .map(|c| c.get::<String, _>("name"))
                .collect::<Result<Vec<_>>>()?;
                out.push(IndexInfo {
                    name,
                    unique: r.get::<i64, _>("uniq")? == 1,
                    columns,
                });
            }
        }
    }
    Ok(out)
}

/// The index of `table` named `name`, if any.
pub fn index(table: &str, name: &str) -> Option<IndexInfo> {
    indexes(table)
        .expect("read indexes")
        .into_iter()
        .find(|i| i.name == name)
}

/// One foreign key as the database describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKeyInfo {
    /// The referencing column.
    pub column: String,
    /// The referenced table.
    pub references_table: String,
    /// The referenced column.
    pub references_column: String,
    /// The delete rule, uppercased (`CASCADE`, `NO ACTION`, ...).
    pub on_delete: String,
}

/// The foreign keys of `table` (single-column ones).
pub fn foreign_keys(table: &str) -> Result<Vec<ForeignKeyInfo>> {
    let rows = match backend() {
        Backend::Postgres => DB::select(
            "SELECT kcu.column_name::text AS col, ccu.table_name::text AS ref_table, \
             ccu.column_name::text AS ref_col, rc.delete_rule::text AS on_delete \
             FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage kcu \
               ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema \
             JOIN information_schema.referential_constraints rc \
               ON rc.constraint_name = tc.constraint_name AND rc.constraint_schema = tc.table_schema \
             JOIN information_schema.constraint_column_usage ccu \
               ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.table_schema \
             WHERE tc.table_schema = current_schema() AND tc.table_name = ? \
               AND tc.constraint_type = 'FOREIGN KEY' ORDER BY 1",
            &[&table],
        )?,
        Backend::Mysql => DB::select(
            "SELECT k.column_name AS col, k.referenced_table_name AS ref_table, \
             k.referenced_column_name AS ref_col, upper(rc.delete_rule) AS on_delete \
             FROM information_schema.key_column_usage k \
             JOIN information_schema.referential_constraints rc \
               ON rc.constraint_schema = k.constraint_schema \
              AND rc.constraint_name = k.constraint_name AND rc.table_name = k.table_name \
             WHERE k.table_schema = DATABASE() AND k.table_name = ? \
               AND k.referenced_table_name IS NOT NULL ORDER BY 1",
            &[&table],
        )?,
        _ => DB::select(
            "SELECT \"from\" AS col, \"table\" AS ref_table, \"to\" AS ref_col, \
             upper(on_delete) AS on_delete FROM pragma_foreign_key_list(?) ORDER BY 1",
            &[&table],
        )?,
    };
    rows.iter()
        .map(|r| {
            Ok(ForeignKeyInfo {
                column: r.get("col")?,
                references_table: r.get("ref_table")?,
                references_column: r.get("ref_col")?,
                on_delete: r.get("on_delete")?,
            })
        })
        .collect()
}

/// Whether `table` exists.
pub fn table_exists(table: &str) -> Result<bool> {
    let sql = match backend() {
        Backend::Postgres => {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name = ?"
        }
        Backend::Mysql => {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() \
             AND table_name = ?"
        }
        _ => "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
    };
    Ok(!DB::select(sql, &[&table])?.is_empty())
}
