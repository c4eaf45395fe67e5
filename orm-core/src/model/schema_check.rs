//! `Model::check_schema`: a model compared with its live table, so a field added to the
//! struct without its migration (or a migration without its field) is caught in a test
//! or by `craft schema:check`, not by the first request that reads the row.

use std::fmt;

use super::ModelMeta;
use crate::db::with_named;
use crate::dialect::Dialect;
use crate::error::Result;
use crate::value::TypeFamily;

/// One way a model and its table disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaProblem {
    /// The table does not exist.
    MissingTable,
    /// A field has no column: every read fails.
    MissingColumn {
        /// The model's column.
        column: String,
    },
    /// A `NOT NULL` column without a default that the model has no field for: every
    /// insert fails.
    UnmappedColumn {
        /// The table's column.
        column: String,
    },
    /// The field's type cannot hold the column's values.
    TypeMismatch {
        /// The column.
        column: String,
        /// What the field reads.
        field: TypeFamily,
        /// The column's SQL type, as the database spells it.
        sql_type: String,
    },
    /// The column accepts NULL but the field is not an `Option`: reading a NULL fails.
    NullableColumn {
        /// The column.
        column: String,
    },
    /// The field is an `Option` but the column refuses NULL and has no default: saving
    /// `None` fails.
    NotNullColumn {
        /// The column.
        column: String,
    },
}

impl fmt::Display for SchemaProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchemaProblem::MissingTable => f.write_str("the table does not exist"),
            SchemaProblem::MissingColumn { column } => {
                write!(f, "field `{column}` has no column in the table")
            }
            SchemaProblem::UnmappedColumn { column } => write!(
                f,
                "column `{column}` is NOT NULL without a default, and the model has no field for it (inserts fail)"
            ),
            SchemaProblem::TypeMismatch {
                column,
                field,
                sql_type,
            } => write!(
                f,
                "column `{column}` is {sql_type}, but its field reads {field:?}"
            ),
            SchemaProblem::NullableColumn { column } => write!(
                f,
                "column `{column}` accepts NULL, but its field is not an Option (reading NULL fails)"
            ),
            SchemaProblem::NotNullColumn { column } => write!(
                f,
                "field `{column}` is an Option, but the column is NOT NULL without a default (saving None fails)"
            ),
        }
    }
}

/// What [`crate::Model::check_schema`] found: no problems means the model and its
/// table agree.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchemaReport {
    /// The model's name.
    pub model: &'static str,
    /// Its table.
    pub table: &'static str,
    /// Every disagreement, in column order.
    pub problems: Vec<SchemaProblem>,
}

impl SchemaReport {
    /// Whether the model and its table agree.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for SchemaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_ok() {
            return write!(f, "{} ({}): ok", self.model, self.table);
        }
        write!(f, "{} ({}):", self.model, self.table)?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

fn compatible(field: TypeFamily, column: TypeFamily, dialect: &dyn Dialect) -> bool {
    use TypeFamily::*;
    match (field, column) {
        (Any, _) | (_, Any) => true,
        (f, c) if f == c => true,
        (Integer, Bool) | (Bool, Integer) => true,
        (Float, Integer | Decimal) | (Decimal, Integer) => true,
        // JSON documents are text where the database has no JSON type (MariaDB's JSON
        // is LONGTEXT), and read back from it.
        (Json, Text) => true,
        (Date | Time | DateTime | Decimal, Text) => dialect.text_holds_any(),
        _ => false,
    }
}

pub(super) fn check(meta: &'static ModelMeta) -> Result<SchemaReport> {
    let (live, dialect) = with_named(meta.connection, |conn| {
        Ok((conn.columns(meta.table)?, conn.dialect()))
    })?;
    let mut problems = Vec::new();
    if live.is_empty() {
        problems.push(SchemaProblem::MissingTable);
    }
    let set_by_orm = |i: usize| {
        Some(i) == meta.created_at
            || Some(i) == meta.updated_at
            || Some(i) == meta.version
            || meta.defaults.contains(&i)
    };
    for (i, column) in meta.columns.iter().enumerate() {
        let Some(found) = live.iter().find(|c| c.name.eq_ignore_ascii_case(column)) else {
            if !live.is_empty() {
                problems.push(SchemaProblem::MissingColumn {
                    column: (*column).to_owned(),
                });
            }
            continue;
        };
        let Some(&(family, field_nullable)) = meta.column_types.get(i) else {
            continue;
        };
        if !compatible(family, dialect.type_family(&found.type_name), dialect) {
            problems.push(SchemaProblem::TypeMismatch {
                column: (*column).to_owned(),
                field: family,
                sql_type: found.type_name.clone(),
            });
        }
        if found.nullable && !field_nullable {
            problems.push(SchemaProblem::NullableColumn {
                column: (*column).to_owned(),
            });
        }
        let filled = found.default.is_some()
            || found.auto_increment
            || set_by_orm(i)
            || i == meta.primary_key_index;
        if field_nullable && !found.nullable && !filled {
            problems.push(SchemaProblem::NotNullColumn {
                column: (*column).to_owned(),
            });
        }
    }
    for column in &live {
        let mapped = meta
            .columns
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&column.name));
        if !mapped && !column.nullable && column.default.is_none() && !column.auto_increment {
            problems.push(SchemaProblem::UnmappedColumn {
                column: column.name.clone(),
            });
        }
    }
    Ok(SchemaReport {
        model: meta.name,
        table: meta.table,
        problems,
    })
}
