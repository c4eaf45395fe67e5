//! The schema grammar: a description of tables, columns, indexes and foreign keys, and
//! its rendering into DDL for each backend.
//!
//! The schema builder (orm-migrate) describes what it wants with these types; this
//! module turns the descriptions into statements. Identifiers are always quoted by the
//! dialect and default values are written as escaped literals, because DDL cannot take
//! bind parameters.
//!
//! ```
//! use orm_core::dialect::schema::{create_table, ColumnDef, ColumnType, TableDef};
//! use orm_core::Backend;
//!
//! let mut table = TableDef::new("posts");
//! table.columns.push(ColumnDef::increments("id"));
//! table.columns.push(ColumnDef::new("title", ColumnType::String { length: 255 }));
//! let sql = create_table(Backend::Postgres.dialect(), &table)?;
//! assert_eq!(
//!     sql,
//!     vec![r#"CREATE TABLE "posts" ("id" SERIAL PRIMARY KEY NOT NULL, "title" VARCHAR(255) NOT NULL)"#]
//! );
//! # Ok::<(), orm_core::Error>(())
//! ```

use crate::dialect::sql_tokens::{self, TokenKind};
use crate::dialect::{Backend, Dialect, SqlWriter};
use crate::error::{Error, Result};
use crate::value::Value;

/// The type of a column, as the schema builder names it. Each dialect maps it to its
/// own type names.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ColumnType {
    /// A 1-byte integer (SMALLINT on PostgreSQL).
    TinyInteger,
    /// A 2-byte integer.
    SmallInteger,
    /// A 3-byte integer (INTEGER on PostgreSQL).
    MediumInteger,
    /// A 4-byte integer.
    Integer,
    /// An 8-byte integer.
    BigInteger,
    /// A single precision float.
    Float,
    /// A double precision float.
    Double,
    /// An exact decimal number.
    Decimal {
        /// Total number of digits.
        precision: u32,
        /// Digits after the decimal point.
        scale: u32,
    },
    /// A boolean.
    Boolean,
    /// Variable length text with a maximum length.
    String {
        /// The maximum length.
        length: u32,
    },
    /// Fixed length text.
    Char {
        /// The length.
        length: u32,
    },
    /// Unbounded text.
    Text,
    /// Unbounded text (MEDIUMTEXT elsewhere; TEXT here).
    MediumText,
    /// Unbounded text (LONGTEXT elsewhere; TEXT here).
    LongText,
    /// Text restricted to a set of values by a CHECK constraint.
    Enum(Vec<String>),
    /// A JSON document (TEXT on SQLite).
    Json,
    /// A binary JSON document (JSONB on PostgreSQL, TEXT on SQLite).
    Jsonb,
    /// A calendar date.
    Date,
    /// A date and time without time zone.
    DateTime,
    /// A time of day.
    Time,
    /// A point in time (TIMESTAMPTZ on PostgreSQL, text on SQLite).
    Timestamp,
    /// A point in time with time zone (TIMESTAMPTZ on PostgreSQL, text on SQLite).
    TimestampTz,
    /// Binary data.
    Binary,
    /// A UUID (CHAR(36) on SQLite).
    Uuid,
}

impl ColumnType {
    fn is_integer(&self) -> bool {
        matches!(
            self,
            ColumnType::TinyInteger
                | ColumnType::SmallInteger
                | ColumnType::MediumInteger
                | ColumnType::Integer
                | ColumnType::BigInteger
        )
    }
}

/// A column's default value.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ColumnDefault {
    /// A value, written as an escaped literal.
    Value(Value),
    /// SQL written by the application, inserted as is (the explicitly raw form).
    Raw(String),
    /// The current date and time when the row is inserted.
    CurrentTimestamp,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ColumnDef {
    /// The column's name.
    pub name: String,
    /// Its type.
    pub kind: ColumnType,
    /// Whether it accepts NULL (columns are NOT NULL unless this is set).
    pub nullable: bool,
    /// The default value, if any.
    pub default: Option<ColumnDefault>,
    /// Whether negative numbers are refused (a CHECK on PostgreSQL; SQLite has no
    /// unsigned integers and keeps this as documentation only).
    pub unsigned: bool,
    /// Whether the database numbers rows itself (implies `primary`).
    pub auto_increment: bool,
    /// Whether this column is (part of) the primary key.
    pub primary: bool,
    /// Whether a unique index is created on this column alone.
    pub unique: bool,
    /// Whether a plain index is created on this column alone.
    pub index: bool,
    /// Whether this describes a change to an existing column (in an alter).
    pub change: bool,
}

impl ColumnDef {
    /// A NOT NULL column without default or index.
    pub fn new(name: impl Into<String>, kind: ColumnType) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            kind,
            nullable: false,
            default: None,
            unsigned: false,
            auto_increment: false,
            primary: false,
            unique: false,
            index: false,
            change: false,
        }
    }

    /// An auto-incrementing unsigned integer primary key.
    pub fn increments(name: impl Into<String>) -> ColumnDef {
        ColumnDef {
            unsigned: true,
            auto_increment: true,
            primary: true,
            ..ColumnDef::new(name, ColumnType::Integer)
        }
    }
}

/// What an index enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IndexKind {
    /// The primary key.
    Primary,
    /// A unique index.
    Unique,
    /// A plain index.
    Index,
}

impl IndexKind {
    /// The suffix of default index names: `primary`, `unique` or `index`.
    pub fn suffix(self) -> &'static str {
        match self {
            IndexKind::Primary => "primary",
            IndexKind::Unique => "unique",
            IndexKind::Index => "index",
        }
    }
}

/// The default name of an index: `{table}_{col1}_{col2}_{kind}`, lowercased with `-`
/// and `.` replaced by `_`.
pub fn default_index_name(table: &str, columns: &[String], kind: IndexKind) -> String {
    let mut name = table.to_owned();
    for column in columns {
        name.push('_');
        name.push_str(column);
    }
    name.push('_');
    name.push_str(kind.suffix());
    name.to_lowercase().replace(['-', '.'], "_")
}

/// The default name of a foreign key: `{table}_{col1}_{col2}_foreign`.
pub fn default_foreign_key_name(table: &str, columns: &[String]) -> String {
    let mut name = table.to_owned();
    for column in columns {
        name.push('_');
        name.push_str(column);
    }
    name.push_str("_foreign");
    name.to_lowercase().replace(['-', '.'], "_")
}

/// An index on one or more columns.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IndexDef {
    /// The index (or constraint) name.
    pub name: String,
    /// What it enforces.
    pub kind: IndexKind,
    /// The indexed columns, in order.
    pub columns: Vec<String>,
}

impl IndexDef {
    /// An index with an explicit name.
    pub fn new(name: impl Into<String>, kind: IndexKind, columns: Vec<String>) -> IndexDef {
        IndexDef {
            name: name.into(),
            kind,
            columns,
        }
    }
}

/// What a foreign key does when the referenced row is deleted or its key updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ForeignKeyAction {
    /// Delete or update the referencing rows too.
    Cascade,
    /// Refuse the change.
    Restrict,
    /// Set the referencing columns to NULL.
    SetNull,
    /// Set the referencing columns to their defaults.
    SetDefault,
    /// Refuse the change at the end of the statement.
    NoAction,
}

impl ForeignKeyAction {
    /// Parses `cascade`, `restrict`, `set null`, `set default` or `no action` (any case,
    /// `_` allowed for the space). `None` for anything else.
    pub fn parse(action: &str) -> Option<ForeignKeyAction> {
        let normalized = action.trim().to_ascii_lowercase().replace('_', " ");
        Some(match normalized.as_str() {
            "cascade" => ForeignKeyAction::Cascade,
            "restrict" => ForeignKeyAction::Restrict,
            "set null" => ForeignKeyAction::SetNull,
            "set default" => ForeignKeyAction::SetDefault,
            "no action" => ForeignKeyAction::NoAction,
            _ => return None,
        })
    }

    fn sql(self) -> &'static str {
        match self {
            ForeignKeyAction::Cascade => "CASCADE",
            ForeignKeyAction::Restrict => "RESTRICT",
            ForeignKeyAction::SetNull => "SET NULL",
            ForeignKeyAction::SetDefault => "SET DEFAULT",
            ForeignKeyAction::NoAction => "NO ACTION",
        }
    }
}

/// A foreign key constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ForeignKeyDef {
    /// The constraint name.
    pub name: String,
    /// The referencing columns.
    pub columns: Vec<String>,
    /// The referenced table.
    pub references_table: String,
    /// The referenced columns.
    pub references_columns: Vec<String>,
    /// What happens on delete of the referenced row.
    pub on_delete: Option<ForeignKeyAction>,
    /// What happens on update of the referenced key.
    pub on_update: Option<ForeignKeyAction>,
}

impl ForeignKeyDef {
    /// A foreign key without actions.
    pub fn new(
        name: impl Into<String>,
        columns: Vec<String>,
        references_table: impl Into<String>,
        references_columns: Vec<String>,
    ) -> ForeignKeyDef {
        ForeignKeyDef {
            name: name.into(),
            columns,
            references_table: references_table.into(),
            references_columns,
            on_delete: None,
            on_update: None,
        }
    }
}

/// A CHECK constraint: an SQL condition every row must satisfy, written by the
/// application (never user input).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckDef {
    /// The constraint name; without one the database picks it (and dropping the
    /// constraint later needs that name).
    pub name: Option<String>,
    /// The condition, e.g. `votes >= 0`.
    pub expression: String,
}

impl CheckDef {
    /// An unnamed CHECK constraint.
    pub fn new(expression: impl Into<String>) -> CheckDef {
        CheckDef {
            name: None,
            expression: expression.into(),
        }
    }

    /// A CHECK constraint named `name`.
    pub fn named(name: impl Into<String>, expression: impl Into<String>) -> CheckDef {
        CheckDef {
            name: Some(name.into()),
            expression: expression.into(),
        }
    }
}

/// A table to create.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TableDef {
    /// The table name.
    pub name: String,
    /// The columns, in order.
    pub columns: Vec<ColumnDef>,
    /// Table-level indexes (composite primary, unique and plain indexes).
    pub indexes: Vec<IndexDef>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeyDef>,
    /// Table-level CHECK constraints.
    pub checks: Vec<CheckDef>,
}

impl TableDef {
    /// An empty table description.
    pub fn new(name: impl Into<String>) -> TableDef {
        TableDef {
            name: name.into(),
            columns: Vec::new(),
            indexes: Vec::new(),
            foreign_keys: Vec::new(),
            checks: Vec::new(),
        }
    }
}

/// One change to an existing table.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AlterCommand {
    /// Add a column (and its single-column indexes).
    AddColumn(ColumnDef),
    /// Change an existing column's type, nullability and default to `ColumnDef`'s.
    ChangeColumn(ColumnDef),
    /// Drop a column (and the indexes and constraints on it).
    DropColumn(String),
    /// Rename a column.
    RenameColumn {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Add an index, unique index or primary key.
    AddIndex(IndexDef),
    /// Drop an index or unique index by name.
    DropIndex(String),
    /// Drop the primary key. On PostgreSQL the constraint name is needed.
    DropPrimary(String),
    /// Add a foreign key.
    AddForeign(ForeignKeyDef),
    /// Drop a foreign key by constraint name.
    DropForeign(String),
    /// Add a CHECK constraint (existing rows must satisfy it).
    AddCheck(CheckDef),
    /// Drop a CHECK constraint by name.
    DropCheck(String),
}

impl AlterCommand {
    /// A short description, e.g. `drop column "body"` (for logs and plans).
    pub fn describe(&self) -> String {
        match self {
            AlterCommand::AddColumn(c) => format!("add column {:?}", c.name),
            AlterCommand::ChangeColumn(c) => format!("change column {:?}", c.name),
            AlterCommand::DropColumn(c) => format!("drop column {c:?}"),
            AlterCommand::RenameColumn { from, to } => format!("rename column {from:?} to {to:?}"),
            AlterCommand::AddIndex(i) => format!("add {} {:?}", i.kind.suffix(), i.name),
            AlterCommand::DropIndex(i) => format!("drop index {i:?}"),
            AlterCommand::DropPrimary(i) => format!("drop primary {i:?}"),
            AlterCommand::AddForeign(f) => format!("add foreign key {:?}", f.name),
            AlterCommand::DropForeign(f) => format!("drop foreign key {f:?}"),
            AlterCommand::AddCheck(c) => match &c.name {
                Some(name) => format!("add check {name:?}"),
                None => format!("add check {:?}", c.expression),
            },
            AlterCommand::DropCheck(c) => format!("drop check {c:?}"),
        }
    }
}

/// How an [`AlterCommand`] is carried out on a backend.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AlterPlan {
    /// Run these statements.
    Statements(Vec<String>),
    /// The backend has no ALTER for this (SQLite): rebuild the table with
    /// [`sqlite_rebuild`] from a [`SqliteTableSnapshot`], then run these statements
    /// (indexes on the new columns).
    SqliteRebuild {
        /// Statements to run after the rebuild.
        then: Vec<String>,
    },
}

fn finish(w: SqlWriter) -> Result<String> {
    w.finish().map(|(sql, _)| sql)
}

fn push_identifier_list(w: &mut SqlWriter, names: &[String]) {
    w.push("(")
        .push_identifiers(names.iter().map(String::as_str))
        .push(")");
}

/// The SQL type name of `column` on this backend (without constraints).
fn push_column_type(w: &mut SqlWriter, column: &ColumnDef) {
    let backend = w.dialect().backend();
    let text: String = match (&column.kind, backend) {
        (kind, Backend::Sqlite) if kind.is_integer() => "INTEGER".into(),
        (ColumnType::TinyInteger | ColumnType::SmallInteger, _) if column.auto_increment => {
            "SMALLSERIAL".into()
        }
        (ColumnType::MediumInteger | ColumnType::Integer, _) if column.auto_increment => {
            "SERIAL".into()
        }
        (ColumnType::BigInteger, _) if column.auto_increment => "BIGSERIAL".into(),
        (ColumnType::TinyInteger | ColumnType::SmallInteger, _) => "SMALLINT".into(),
        (ColumnType::MediumInteger | ColumnType::Integer, _) => "INTEGER".into(),
        (ColumnType::BigInteger, _) => "BIGINT".into(),
        (ColumnType::Float, Backend::Sqlite) => "FLOAT".into(),
        (ColumnType::Float, _) => "REAL".into(),
        (ColumnType::Double, Backend::Sqlite) => "DOUBLE".into(),
        (ColumnType::Double, _) => "DOUBLE PRECISION".into(),
        (ColumnType::Decimal { precision, scale }, _) => format!("NUMERIC({precision}, {scale})"),
        (ColumnType::Boolean, _) => "BOOLEAN".into(),
        (ColumnType::String { length }, _) => format!("VARCHAR({length})"),
        (ColumnType::Char { length }, _) => format!("CHAR({length})"),
        (ColumnType::Text | ColumnType::MediumText | ColumnType::LongText, _) => "TEXT".into(),
        (ColumnType::Enum(_), _) => "VARCHAR(255)".into(),
        (ColumnType::Json | ColumnType::Jsonb, Backend::Sqlite) => "TEXT".into(),
        (ColumnType::Json, _) => "JSON".into(),
        (ColumnType::Jsonb, _) => "JSONB".into(),
        (ColumnType::Date, _) => "DATE".into(),
        (ColumnType::DateTime, Backend::Sqlite) => "DATETIME".into(),
        (ColumnType::DateTime, _) => "TIMESTAMP".into(),
        (ColumnType::Time, _) => "TIME".into(),
        (ColumnType::Timestamp | ColumnType::TimestampTz, Backend::Sqlite) => "DATETIME".into(),
        (ColumnType::Timestamp | ColumnType::TimestampTz, _) => "TIMESTAMPTZ".into(),
        (ColumnType::Binary, Backend::Sqlite) => "BLOB".into(),
        (ColumnType::Binary, _) => "BYTEA".into(),
        (ColumnType::Uuid, Backend::Sqlite) => "CHAR(36)".into(),
        (ColumnType::Uuid, _) => "UUID".into(),
    };
    w.push(&text);
}

fn push_default(w: &mut SqlWriter, column: &ColumnDef, default: &ColumnDefault) {
    match default {
        ColumnDefault::Value(value) => {
            // Booleans given as 0/1 are written as booleans (PostgreSQL is strict).
            let value = match (&column.kind, value) {
                (ColumnType::Boolean, Value::Int(i)) => Value::Bool(*i != 0),
                _ => value.clone(),
            };
            w.push_literal(&value);
        }
        ColumnDefault::Raw(sql) => {
            w.push_raw_with_bindings(sql, Vec::new());
        }
        ColumnDefault::CurrentTimestamp => {
            w.push("CURRENT_TIMESTAMP");
        }
    }
}

/// Appends one column definition: name, type, constraints, default and checks.
/// `inline_primary` writes `PRIMARY KEY` on the column itself.
fn push_column_definition(w: &mut SqlWriter, column: &ColumnDef, inline_primary: bool) {
    let backend = w.dialect().backend();
    w.push_identifier(&column.name).push(" ");
    push_column_type(w, column);
    if inline_primary {
        w.push(" PRIMARY KEY");
        if column.auto_increment && backend == Backend::Sqlite {
            w.push(" AUTOINCREMENT");
        }
    }
    if !column.nullable {
        w.push(" NOT NULL");
    }
    if let Some(default) = &column.default {
        w.push(" DEFAULT ");
        push_default(w, column, default);
    }
    if column.unsigned
        && backend == Backend::Postgres
        && !column.auto_increment
        && matches!(
            column.kind,
            ColumnType::TinyInteger
                | ColumnType::SmallInteger
                | ColumnType::MediumInteger
                | ColumnType::Integer
                | ColumnType::BigInteger
                | ColumnType::Float
                | ColumnType::Double
                | ColumnType::Decimal { .. }
        )
    {
        w.push(" CHECK (")
            .push_identifier(&column.name)
            .push(" >= 0)");
    }
    if let ColumnType::Enum(values) = &column.kind {
        w.push(" CHECK (")
            .push_identifier(&column.name)
            .push(" IN (");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_literal(&Value::Text(value.clone()));
        }
        w.push("))");
    }
}

fn push_foreign_key(w: &mut SqlWriter, fk: &ForeignKeyDef) {
    w.push("CONSTRAINT ")
        .push_identifier(&fk.name)
        .push(" FOREIGN KEY ");
    push_identifier_list(w, &fk.columns);
    w.push(" REFERENCES ")
        .push_identifier(&fk.references_table)
        .push(" ");
    push_identifier_list(w, &fk.references_columns);
    if let Some(action) = fk.on_delete {
        w.push(" ON DELETE ").push(action.sql());
    }
    if let Some(action) = fk.on_update {
        w.push(" ON UPDATE ").push(action.sql());
    }
}

/// Whether `condition` can stand inside `CHECK (...)` as one condition: not empty, its
/// parentheses balanced, no `;` and no comment (a `--` would swallow the closing `)`).
fn is_one_condition(condition: &str) -> bool {
    let mut depth = 0usize;
    for token in sql_tokens::tokenize(condition) {
        if token.kind == TokenKind::Comment || token.is_symbol(condition, ';') {
            return false;
        }
        if token.is_symbol(condition, '(') {
            depth += 1;
        } else if token.is_symbol(condition, ')') {
            let Some(outer) = depth.checked_sub(1) else {
                return false;
            };
            depth = outer;
        }
    }
    depth == 0 && !condition.trim().is_empty()
}

/// `[CONSTRAINT "name"] CHECK (expression)`. The expression is raw SQL written by the
/// application; it takes no `?` and must be [one condition](is_one_condition).
fn push_check(w: &mut SqlWriter, check: &CheckDef) {
    if let Some(name) = &check.name {
        w.push("CONSTRAINT ").push_identifier(name).push(" ");
    }
    let text = check.expression.as_str();
    if !is_one_condition(text) {
        w.fail(Error::InvalidQuery(format!(
            "CHECK constraint `{text}` must be one condition: not empty, parentheses \
             balanced, no `;` and no comment"
        )));
    }
    w.push("CHECK (")
        .push_raw_with_bindings(text, Vec::new())
        .push(")");
}

fn push_primary_constraint(w: &mut SqlWriter, index: &IndexDef) {
    w.push("CONSTRAINT ")
        .push_identifier(&index.name)
        .push(" PRIMARY KEY ");
    push_identifier_list(w, &index.columns);
}

/// The indexes implied by the columns' `unique`/`index` flags.
pub fn column_indexes(table: &str, column: &ColumnDef) -> Vec<IndexDef> {
    let mut out = Vec::new();
    for (flag, kind) in [
        (column.unique, IndexKind::Unique),
        (column.index, IndexKind::Index),
    ] {
        if flag {
            let columns = vec![column.name.clone()];
            out.push(IndexDef::new(
                default_index_name(table, &columns, kind),
                kind,
                columns,
            ));
        }
    }
    out
}

/// `CREATE [UNIQUE] INDEX` for a unique or plain index.
fn create_index(dialect: &'static dyn Dialect, table: &str, index: &IndexDef) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push(match index.kind {
        IndexKind::Unique => "CREATE UNIQUE INDEX ",
        _ => "CREATE INDEX ",
    })
    .push_identifier(&index.name)
    .push(" ON ")
    .push_identifier(table)
    .push(" ");
    push_identifier_list(&mut w, &index.columns);
    finish(w)
}

/// The statements that create `table`: `CREATE TABLE` (columns, primary key, foreign
/// keys) followed by one `CREATE INDEX` per unique or plain index.
pub fn create_table(dialect: &'static dyn Dialect, table: &TableDef) -> Result<Vec<String>> {
    if table.columns.is_empty() {
        return Err(Error::InvalidQuery(format!(
            "table `{}` needs at least one column",
            table.name
        )));
    }
    let mut primary: Vec<IndexDef> = table
        .indexes
        .iter()
        .filter(|i| i.kind == IndexKind::Primary)
        .cloned()
        .collect();
    let flagged: Vec<String> = table
        .columns
        .iter()
        .filter(|c| c.primary || c.auto_increment)
        .map(|c| c.name.clone())
        .collect();
    let inline_primary = if primary.is_empty() && flagged.len() == 1 {
        Some(flagged[0].clone())
    } else {
        if !flagged.is_empty() {
            if table.columns.iter().any(|c| c.auto_increment) || !primary.is_empty() {
                return Err(Error::InvalidQuery(format!(
                    "table `{}` has more than one primary key",
                    table.name
                )));
            }
            primary.push(IndexDef::new(
                default_index_name(&table.name, &flagged, IndexKind::Primary),
                IndexKind::Primary,
                flagged,
            ));
        }
        None
    };
    if primary.len() > 1 {
        return Err(Error::InvalidQuery(format!(
            "table `{}` has more than one primary key",
            table.name
        )));
    }

    let mut w = SqlWriter::new(dialect);
    w.push("CREATE TABLE ")
        .push_identifier(&table.name)
        .push(" (");
    for (i, column) in table.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        push_column_definition(
            &mut w,
            column,
            inline_primary.as_deref() == Some(column.name.as_str()),
        );
    }
    for index in &primary {
        w.push(", ");
        push_primary_constraint(&mut w, index);
    }
    for fk in &table.foreign_keys {
        w.push(", ");
        push_foreign_key(&mut w, fk);
    }
    for check in &table.checks {
        w.push(", ");
        push_check(&mut w, check);
    }
    w.push(")");
    let mut statements = vec![finish(w)?];
    for column in &table.columns {
        for index in column_indexes(&table.name, column) {
            statements.push(create_index(dialect, &table.name, &index)?);
        }
    }
    for index in table
        .indexes
        .iter()
        .filter(|i| i.kind != IndexKind::Primary)
    {
        statements.push(create_index(dialect, &table.name, index)?);
    }
    Ok(statements)
}

/// `DROP TABLE "table"`, or `DROP TABLE IF EXISTS "table"`.
pub fn drop_table(dialect: &'static dyn Dialect, table: &str, if_exists: bool) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push(if if_exists {
        "DROP TABLE IF EXISTS "
    } else {
        "DROP TABLE "
    })
    .push_identifier(table);
    if dialect.backend() == Backend::Postgres && if_exists {
        // Dropping every table (fresh) must not stop at foreign keys between them.
        w.push(" CASCADE");
    }
    finish(w)
}

/// `ALTER TABLE "from" RENAME TO "to"`.
pub fn rename_table(dialect: &'static dyn Dialect, from: &str, to: &str) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push("ALTER TABLE ")
        .push_identifier(from)
        .push(" RENAME TO ")
        .push_identifier(to);
    finish(w)
}

fn alter_prefix(dialect: &'static dyn Dialect, table: &str) -> SqlWriter {
    let mut w = SqlWriter::new(dialect);
    w.push("ALTER TABLE ").push_identifier(table).push(" ");
    w
}

/// Whether SQLite can add `column` with `ALTER TABLE ADD COLUMN` (it cannot add a
/// primary key, a NOT NULL column without default, or a non-constant default).
fn sqlite_can_add_column(column: &ColumnDef) -> bool {
    !(column.primary
        || column.auto_increment
        || (!column.nullable && column.default.is_none())
        || matches!(
            column.default,
            Some(ColumnDefault::CurrentTimestamp | ColumnDefault::Raw(_))
        ))
}

/// How `command` is carried out on `table` on this backend.
pub fn alter_table(
    dialect: &'static dyn Dialect,
    table: &str,
    command: &AlterCommand,
) -> Result<AlterPlan> {
    let sqlite = dialect.backend() == Backend::Sqlite;
    let statements = match command {
        AlterCommand::AddColumn(column) => {
            let mut then = Vec::new();
            for index in column_indexes(table, column) {
                then.push(create_index(dialect, table, &index)?);
            }
            if sqlite && !sqlite_can_add_column(column) {
                return Ok(AlterPlan::SqliteRebuild { then });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("ADD COLUMN ");
            push_column_definition(&mut w, column, column.primary || column.auto_increment);
            let mut statements = vec![finish(w)?];
            statements.extend(then);
            statements
        }
        AlterCommand::ChangeColumn(column) => {
            let mut then = Vec::new();
            for index in column_indexes(table, column) {
                then.push(create_index(dialect, table, &index)?);
            }
            if sqlite {
                return Ok(AlterPlan::SqliteRebuild { then });
            }
            if column.auto_increment {
                return Err(Error::InvalidQuery(format!(
                    "column `{}`: changing a column into an auto-increment one is not supported",
                    column.name
                )));
            }
            let mut w = alter_prefix(dialect, table);
            w.push("ALTER COLUMN ")
                .push_identifier(&column.name)
                .push(" TYPE ");
            push_column_type(&mut w, column);
            w.push(" USING ").push_identifier(&column.name).push("::");
            push_column_type(&mut w, column);
            w.push(", ALTER COLUMN ").push_identifier(&column.name);
            w.push(if column.nullable {
                " DROP NOT NULL"
            } else {
                " SET NOT NULL"
            });
            w.push(", ALTER COLUMN ").push_identifier(&column.name);
            match &column.default {
                Some(default) => {
                    w.push(" SET DEFAULT ");
                    push_default(&mut w, column, default);
                }
                None => {
                    w.push(" DROP DEFAULT");
                }
            }
            let mut statements = vec![finish(w)?];
            statements.extend(then);
            statements
        }
        AlterCommand::DropColumn(name) => {
            if sqlite {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("DROP COLUMN ").push_identifier(name);
            vec![finish(w)?]
        }
        AlterCommand::RenameColumn { from, to } => {
            let mut w = alter_prefix(dialect, table);
            w.push("RENAME COLUMN ")
                .push_identifier(from)
                .push(" TO ")
                .push_identifier(to);
            vec![finish(w)?]
        }
        AlterCommand::AddIndex(index) => match index.kind {
            IndexKind::Primary if sqlite => {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() })
            }
            IndexKind::Primary => {
                let mut w = alter_prefix(dialect, table);
                w.push("ADD ");
                push_primary_constraint(&mut w, index);
                vec![finish(w)?]
            }
            _ => vec![create_index(dialect, table, index)?],
        },
        AlterCommand::DropIndex(name) => {
            let mut w = SqlWriter::new(dialect);
            w.push("DROP INDEX ").push_identifier(name);
            vec![finish(w)?]
        }
        AlterCommand::DropPrimary(name) | AlterCommand::DropForeign(name) => {
            if sqlite {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("DROP CONSTRAINT ").push_identifier(name);
            vec![finish(w)?]
        }
        AlterCommand::AddForeign(fk) => {
            if sqlite {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("ADD ");
            push_foreign_key(&mut w, fk);
            vec![finish(w)?]
        }
        AlterCommand::AddCheck(check) => {
            let mut w = alter_prefix(dialect, table);
            w.push("ADD ");
            push_check(&mut w, check);
            let statement = finish(w)?;
            if sqlite {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            vec![statement]
        }
        AlterCommand::DropCheck(name) => {
            if sqlite {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("DROP CONSTRAINT ").push_identifier(name);
            vec![finish(w)?]
        }
    };
    Ok(AlterPlan::Statements(statements))
}

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

/// What SQLite knows about a table, read before rebuilding it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteTableSnapshot {
    /// The table name.
    pub table: String,
    /// Its `CREATE TABLE` statement, from `sqlite_master`.
    pub create_sql: String,
    /// Its explicitly created indexes.
    pub indexes: Vec<SqliteIndexSnapshot>,
    /// Its triggers' `CREATE TRIGGER` statements.
    pub triggers: Vec<String>,
}

impl SqliteTableSnapshot {
    /// A snapshot from the parts read with the [`sqlite_pragmas`] queries.
    pub fn new(
        table: impl Into<String>,
        create_sql: impl Into<String>,
        indexes: Vec<SqliteIndexSnapshot>,
        triggers: Vec<String>,
    ) -> SqliteTableSnapshot {
        SqliteTableSnapshot {
            table: table.into(),
            create_sql: create_sql.into(),
            indexes,
            triggers,
        }
    }
}

/// One explicitly created index of a SQLite table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteIndexSnapshot {
    /// The index name.
    pub name: String,
    /// Its `CREATE INDEX` statement.
    pub sql: String,
    /// The indexed columns (empty entries for expressions).
    pub columns: Vec<String>,
}

impl SqliteIndexSnapshot {
    /// An index snapshot.
    pub fn new(name: impl Into<String>, sql: impl Into<String>, columns: Vec<String>) -> Self {
        SqliteIndexSnapshot {
            name: name.into(),
            sql: sql.into(),
            columns,
        }
    }
}

/// Splits `text` at top-level commas, outside parentheses, literals, quoted names and
/// comments. Comments are left out of the items (a `--` comment would otherwise swallow
/// whatever follows once the items are joined again).
fn split_top_level(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut last_end = 0;
    for token in sql_tokens::tokenize(text) {
        let gap = &text[last_end..token.span.start];
        last_end = token.span.end;
        if token.kind == TokenKind::Comment {
            current.push(' ');
            continue;
        }
        if depth == 0 && token.is_symbol(text, ',') {
            items.push(current.trim().to_owned());
            current.clear();
            continue;
        }
        if token.is_symbol(text, '(') {
            depth += 1;
        } else if token.is_symbol(text, ')') {
            depth = depth.saturating_sub(1);
        }
        current.push_str(gap);
        current.push_str(token.text(text));
    }
    if !current.trim().is_empty() {
        items.push(current.trim().to_owned());
    }
    items
}

/// `column_sql` (one column definition) without its column-level CHECK constraints
/// that refer to `column` (a column that is being dropped).
fn without_checks_on(column_sql: &str, column: &str) -> String {
    let tokens: Vec<_> = sql_tokens::tokenize(column_sql)
        .into_iter()
        .filter(|t| t.kind != TokenKind::Comment)
        .collect();
    let mut cuts = Vec::new();
    let mut i = 1;
    while i + 1 < tokens.len() {
        if !(tokens[i].is_keyword(column_sql, "CHECK") && tokens[i + 1].is_symbol(column_sql, '('))
        {
            i += 1;
            continue;
        }
        let mut depth = 0usize;
        let mut close = tokens.len() - 1;
        for (j, token) in tokens.iter().enumerate().skip(i + 1) {
            if token.is_symbol(column_sql, '(') {
                depth += 1;
            } else if token.is_symbol(column_sql, ')') {
                depth -= 1;
                if depth == 0 {
                    close = j;
                    break;
                }
            }
        }
        let condition = &column_sql[tokens[i + 1].span.start..tokens[close].span.end];
        if sql_tokens::mentions_column(condition, column) {
            let named = i >= 2 && tokens[i - 2].is_keyword(column_sql, "CONSTRAINT");
            let from = if named { i - 2 } else { i };
            cuts.push(tokens[from - 1].span.end..tokens[close].span.end);
        }
        i = close + 1;
    }
    let mut out = column_sql.to_owned();
    for cut in cuts.into_iter().rev() {
        out.replace_range(cut, "");
    }
    out
}

/// The first token of `text` (an identifier, unquoted) and the rest.
fn first_token(text: &str) -> (String, &str) {
    let text = text.trim_start();
    let mut chars = text.char_indices();
    match chars.next() {
        Some((_, q @ ('"' | '`' | '['))) => {
            let close = if q == '[' { ']' } else { q };
            let mut name = String::new();
            let mut iter = text[1..].char_indices().peekable();
            while let Some((i, c)) = iter.next() {
                if c == close {
                    if close != ']' && iter.peek().map(|(_, d)| *d) == Some(close) {
                        name.push(close);
                        iter.next();
                        continue;
                    }
                    return (name, &text[1 + i + c.len_utf8()..]);
                }
                name.push(c);
            }
            (name, "")
        }
        Some(_) => {
            let end = text
                .find(|c: char| c.is_whitespace() || c == '(')
                .unwrap_or(text.len());
            (text[..end].to_owned(), &text[end..])
        }
        None => (String::new(), ""),
    }
}

/// The identifiers inside the first parenthesised list of `text`.
fn first_column_list(text: &str) -> Vec<String> {
    let Some(open) = text.find('(') else {
        return Vec::new();
    };
    let Some(close) = text[open..].find(')') else {
        return Vec::new();
    };
    split_top_level(&text[open + 1..open + close])
        .iter()
        .map(|item| first_token(item).0)
        .collect()
}

#[derive(Debug, Clone)]
enum TableItem {
    Column { name: String, sql: String },
    Constraint { name: Option<String>, sql: String },
}

impl TableItem {
    fn parse(sql: String) -> TableItem {
        let (first, rest) = first_token(&sql);
        let keyword = first.to_ascii_uppercase();
        let quoted = sql.trim_start().starts_with(['"', '`', '[']);
        if !quoted
            && matches!(
                keyword.as_str(),
                "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "CHECK" | "FOREIGN"
            )
        {
            let name = (keyword == "CONSTRAINT").then(|| first_token(rest).0);
            TableItem::Constraint { name, sql }
        } else {
            TableItem::Column { name: first, sql }
        }
    }

    /// The body of a constraint after `CONSTRAINT name`, uppercased keywords first.
    fn constraint_body(sql: &str) -> &str {
        let (first, rest) = first_token(sql);
        if first.eq_ignore_ascii_case("CONSTRAINT") {
            first_token(rest).1.trim_start()
        } else {
            sql.trim_start()
        }
    }

    fn is_check_body(body: &str) -> bool {
        body.get(..5)
            .is_some_and(|word| word.eq_ignore_ascii_case("CHECK"))
    }

    /// Whether this is a CHECK table constraint named `wanted`.
    fn is_check_named(&self, wanted: &str) -> bool {
        matches!(self, TableItem::Constraint { name: Some(name), sql }
            if name == wanted && Self::is_check_body(Self::constraint_body(sql)))
    }

    fn is_primary_constraint(&self) -> bool {
        match self {
            TableItem::Constraint { sql, .. } => Self::constraint_body(sql)
                .to_ascii_uppercase()
                .starts_with("PRIMARY"),
            TableItem::Column { .. } => false,
        }
    }

    /// Whether this table constraint involves `column`.
    fn constraint_mentions(&self, column: &str) -> bool {
        let TableItem::Constraint { sql, .. } = self else {
            return false;
        };
        let body = Self::constraint_body(sql);
        if Self::is_check_body(body) {
            return sql_tokens::mentions_column(body, column);
        }
        first_column_list(body)
            .iter()
            .any(|c| c.eq_ignore_ascii_case(column))
    }
}

/// Position of `needle` (ASCII, uppercase) in `haystack` outside quotes, ignoring case.
fn find_keyword(haystack: &str, needle: &str) -> Option<usize> {
    let upper = haystack.to_ascii_uppercase();
    let bytes = upper.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if matches!(b, b'\'' | b'"' | b'`') => quote = Some(b),
            None if upper[i..].starts_with(needle) => return Some(i),
            None => {}
        }
        i += 1;
    }
    None
}

/// The statements of SQLite's table-rebuild recipe carrying out `command` on the table
/// described by `snapshot`: create the new table under a temporary name, copy the rows
/// of the columns both have, drop the old table, rename the new one, recreate the
/// indexes (except those on dropped columns) and triggers. Foreign keys must be off
/// (or the table unreferenced) while they run, and `PRAGMA foreign_key_check` run after.
pub fn sqlite_rebuild(
    snapshot: &SqliteTableSnapshot,
    command: &AlterCommand,
) -> Result<Vec<String>> {
    let dialect: &'static dyn Dialect = &super::SqliteDialect;
    let table = snapshot.table.as_str();
    let create = snapshot.create_sql.as_str();
    let (Some(open), Some(close)) = (create.find('('), create.rfind(')')) else {
        return Err(Error::InvalidQuery(format!(
            "cannot read the definition of table `{table}`"
        )));
    };
    let suffix = &create[close + 1..];
    let mut items: Vec<TableItem> = split_top_level(&create[open + 1..close])
        .into_iter()
        .map(TableItem::parse)
        .collect();
    let old_columns: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            TableItem::Column { name, .. } => Some(name.clone()),
            TableItem::Constraint { .. } => None,
        })
        .collect();
    let column_position = |items: &[TableItem], wanted: &str| {
        items.iter().position(
            |item| matches!(item, TableItem::Column { name, .. } if name.eq_ignore_ascii_case(wanted)),
        )
    };
    let render_column = |column: &ColumnDef| -> Result<String> {
        let mut w = SqlWriter::new(dialect);
        push_column_definition(&mut w, column, column.primary || column.auto_increment);
        finish(w)
    };
    let missing_column =
        |name: &str| Error::InvalidQuery(format!("table `{table}` has no column `{name}`"));
    let mut dropped_column: Option<String> = None;

    match command {
        AlterCommand::AddColumn(column) => {
            if column_position(&items, &column.name).is_some() {
                return Err(Error::InvalidQuery(format!(
                    "table `{table}` already has a column `{}`",
                    column.name
                )));
            }
            let sql = render_column(column)?;
            let at = items
                .iter()
                .position(|i| matches!(i, TableItem::Constraint { .. }))
                .unwrap_or(items.len());
            items.insert(
                at,
                TableItem::Column {
                    name: column.name.clone(),
                    sql,
                },
            );
        }
        AlterCommand::ChangeColumn(column) => {
            let at = column_position(&items, &column.name)
                .ok_or_else(|| missing_column(&column.name))?;
            items[at] = TableItem::Column {
                name: column.name.clone(),
                sql: render_column(column)?,
            };
        }
        AlterCommand::DropColumn(name) => {
            let at = column_position(&items, name).ok_or_else(|| missing_column(name))?;
            items.remove(at);
            // As PostgreSQL's DROP COLUMN does: the constraints involving the column go
            // with it, table-level and column-level; the others stay.
            items.retain(|item| !item.constraint_mentions(name));
            for item in &mut items {
                if let TableItem::Column { sql, .. } = item {
                    *sql = without_checks_on(sql, name);
                }
            }
            dropped_column = Some(name.clone());
        }
        AlterCommand::AddForeign(fk) => {
            let mut w = SqlWriter::new(dialect);
            push_foreign_key(&mut w, fk);
            items.push(TableItem::Constraint {
                name: Some(fk.name.clone()),
                sql: finish(w)?,
            });
        }
        AlterCommand::DropForeign(name) => {
            let before = items.len();
            items.retain(
                |item| !matches!(item, TableItem::Constraint { name: Some(n), .. } if n == name),
            );
            if items.len() == before {
                return Err(Error::InvalidQuery(format!(
                    "table `{table}` has no foreign key named `{name}`"
                )));
            }
        }
        AlterCommand::AddCheck(check) => {
            if let Some(name) = &check.name {
                if items.iter().any(
                    |item| matches!(item, TableItem::Constraint { name: Some(n), .. } if n == name),
                ) {
                    return Err(Error::InvalidQuery(format!(
                        "table `{table}` already has a constraint named `{name}`"
                    )));
                }
            }
            let mut w = SqlWriter::new(dialect);
            push_check(&mut w, check);
            items.push(TableItem::Constraint {
                name: check.name.clone(),
                sql: finish(w)?,
            });
        }
        AlterCommand::DropCheck(name) => {
            let before = items.len();
            items.retain(|item| !item.is_check_named(name));
            if items.len() == before {
                return Err(Error::InvalidQuery(format!(
                    "table `{table}` has no CHECK constraint named `{name}`"
                )));
            }
        }
        AlterCommand::AddIndex(index) if index.kind == IndexKind::Primary => {
            let mut w = SqlWriter::new(dialect);
            push_primary_constraint(&mut w, index);
            items.push(TableItem::Constraint {
                name: Some(index.name.clone()),
                sql: finish(w)?,
            });
        }
        AlterCommand::DropPrimary(_) => {
            let before = items.len();
            items.retain(|item| !item.is_primary_constraint());
            if items.len() == before {
                let mut found = false;
                for item in &mut items {
                    if let TableItem::Column { sql, .. } = item {
                        if let Some(at) = find_keyword(sql, "PRIMARY KEY") {
                            let mut end = at + "PRIMARY KEY".len();
                            for word in [" ASC", " DESC", " AUTOINCREMENT"] {
                                if sql[end..].to_ascii_uppercase().starts_with(word) {
                                    end += word.len();
                                }
                            }
                            let start = if sql[..at].ends_with(' ') { at - 1 } else { at };
                            sql.replace_range(start..end, "");
                            found = true;
                        }
                    }
                }
                if !found {
                    return Err(Error::InvalidQuery(format!(
                        "table `{table}` has no primary key"
                    )));
                }
            }
        }
        other => {
            return Err(Error::InvalidQuery(format!(
                "{} does not need a table rebuild",
                other.describe()
            )))
        }
    }

    let new_columns: Vec<String> = items
        .iter()
        .filter_map(|item| match item {
            TableItem::Column { name, .. } => Some(name.clone()),
            TableItem::Constraint { .. } => None,
        })
        .collect();
    if new_columns.is_empty() {
        return Err(Error::InvalidQuery(format!(
            "table `{table}` cannot lose its last column"
        )));
    }
    let copied: Vec<String> = new_columns
        .iter()
        .filter(|c| old_columns.iter().any(|o| o.eq_ignore_ascii_case(c)))
        .cloned()
        .collect();
    let temporary = format!("orm_rebuild_{table}");

    let mut statements = Vec::new();
    let mut w = SqlWriter::new(dialect);
    w.push("CREATE TABLE ")
        .push_identifier(&temporary)
        .push(" (");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        // Definitions read back from SQLite's own schema, or rendered above.
        let (TableItem::Column { sql, .. } | TableItem::Constraint { sql, .. }) = item;
        w.push(sql);
    }
    w.push(")").push(suffix);
    statements.push(finish(w)?);

    if !copied.is_empty() {
        let mut w = SqlWriter::new(dialect);
        w.push("INSERT INTO ").push_identifier(&temporary).push(" ");
        push_identifier_list(&mut w, &copied);
        w.push(" SELECT ");
        for (i, column) in copied.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_identifier(column);
        }
        w.push(" FROM ").push_identifier(table);
        statements.push(finish(w)?);
    }
    let mut w = SqlWriter::new(dialect);
    w.push("DROP TABLE ").push_identifier(table);
    statements.push(finish(w)?);
    statements.push(rename_table(dialect, &temporary, table)?);
    for index in &snapshot.indexes {
        let on_dropped = dropped_column
            .as_ref()
            .is_some_and(|d| index.columns.iter().any(|c| c.eq_ignore_ascii_case(d)));
        if !on_dropped {
            statements.push(index.sql.clone());
        }
    }
    statements.extend(snapshot.triggers.iter().cloned());
    Ok(statements)
}

/// A one-line description of a SQLite table rebuild, used where the statements are
/// not run (pretend mode): `-- rebuild table "posts": drop column "body"`.
pub fn sqlite_rebuild_summary(table: &str, command: &AlterCommand) -> Result<String> {
    let mut w = SqlWriter::new(&super::SqliteDialect);
    w.push("-- rebuild table ")
        .push_identifier(table)
        .push(": ");
    // The description quotes names with Rust's escaping; strip line breaks.
    let description = command.describe().replace(['\n', '\r'], " ");
    w.push(&description);
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{PostgresDialect, SqliteDialect};

    fn posts() -> TableDef {
        let mut table = TableDef::new("posts");
        table.columns.push(ColumnDef::increments("id"));
        table
            .columns
            .push(ColumnDef::new("title", ColumnType::String { length: 255 }));
        let mut body = ColumnDef::new("body", ColumnType::Text);
        body.nullable = true;
        table.columns.push(body);
        let mut user = ColumnDef::new("user_id", ColumnType::BigInteger);
        user.unsigned = true;
        table.columns.push(user);
        let mut status = ColumnDef::new(
            "status",
            ColumnType::Enum(vec!["draft".into(), "it's".into()]),
        );
        status.default = Some(ColumnDefault::Value(Value::Text("draft".into())));
        status.index = true;
        table.columns.push(status);
        let mut fk = ForeignKeyDef::new(
            "posts_user_id_foreign",
            vec!["user_id".into()],
            "users",
            vec!["id".into()],
        );
        fk.on_delete = Some(ForeignKeyAction::Cascade);
        table.foreign_keys.push(fk);
        table
    }

    #[test]
    fn golden_create_table_sqlite() {
        let sql = create_table(&SqliteDialect, &posts()).unwrap();
        assert_eq!(
            sql,
            vec![
                r#"CREATE TABLE "posts" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "title" VARCHAR(255) NOT NULL, "body" TEXT, "user_id" INTEGER NOT NULL, "status" VARCHAR(255) NOT NULL DEFAULT 'draft' CHECK ("status" IN ('draft', 'it''s')), CONSTRAINT "posts_user_id_foreign" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)"#,
                r#"CREATE INDEX "posts_status_index" ON "posts" ("status")"#,
            ]
        );
    }

    #[test]
    fn golden_create_table_postgres() {
        let sql = create_table(&PostgresDialect, &posts()).unwrap();
        assert_eq!(
            sql[0],
            r#"CREATE TABLE "posts" ("id" SERIAL PRIMARY KEY NOT NULL, "title" VARCHAR(255) NOT NULL, "body" TEXT, "user_id" BIGINT NOT NULL CHECK ("user_id" >= 0), "status" VARCHAR(255) NOT NULL DEFAULT 'draft' CHECK ("status" IN ('draft', 'it''s')), CONSTRAINT "posts_user_id_foreign" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)"#
        );
    }

    #[test]
    fn golden_alter_statements() {
        let mut column = ColumnDef::new("votes", ColumnType::Integer);
        column.default = Some(ColumnDefault::Value(Value::Int(-1)));
        let plan = alter_table(
            &PostgresDialect,
            "users",
            &AlterCommand::AddColumn(column.clone()),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "users" ADD COLUMN "votes" INTEGER NOT NULL DEFAULT -1"#.into()
            ])
        );
        let plan = alter_table(
            &SqliteDialect,
            "users",
            &AlterCommand::AddColumn(column.clone()),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "users" ADD COLUMN "votes" INTEGER NOT NULL DEFAULT -1"#.into()
            ])
        );
        let plan = alter_table(
            &PostgresDialect,
            "users",
            &AlterCommand::ChangeColumn(column),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "users" ALTER COLUMN "votes" TYPE INTEGER USING "votes"::INTEGER, ALTER COLUMN "votes" SET NOT NULL, ALTER COLUMN "votes" SET DEFAULT -1"#.into()
            ])
        );
        let plan = alter_table(
            &SqliteDialect,
            "users",
            &AlterCommand::DropColumn("votes".into()),
        )
        .unwrap();
        assert_eq!(plan, AlterPlan::SqliteRebuild { then: vec![] });
    }

    #[test]
    fn literals_are_escaped_and_nul_refused() {
        let mut column = ColumnDef::new("name", ColumnType::Text);
        column.default = Some(ColumnDefault::Value(Value::Text(
            "x'); DROP TABLE users; --".into(),
        )));
        let plan = alter_table(
            &PostgresDialect,
            "t",
            &AlterCommand::AddColumn(column.clone()),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "t" ADD COLUMN "name" TEXT NOT NULL DEFAULT 'x''); DROP TABLE users; --'"#.into()
            ])
        );
        column.default = Some(ColumnDefault::Value(Value::Text("a\0b".into())));
        assert!(alter_table(&PostgresDialect, "t", &AlterCommand::AddColumn(column)).is_err());
    }

    #[test]
    fn rebuild_drops_a_column_and_its_indexes() {
        let snapshot = SqliteTableSnapshot::new(
            "t",
            r#"CREATE TABLE "t" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "a, b" TEXT DEFAULT 'x,y', "c" INTEGER NOT NULL, CONSTRAINT "t_c_foreign" FOREIGN KEY ("c") REFERENCES "u" ("id"))"#,
            vec![
                SqliteIndexSnapshot::new(
                    "t_c_index",
                    r#"CREATE INDEX "t_c_index" ON "t" ("c")"#,
                    vec!["c".into()],
                ),
                SqliteIndexSnapshot::new(
                    "t_ab_index",
                    r#"CREATE INDEX "t_ab_index" ON "t" ("a, b")"#,
                    vec!["a, b".into()],
                ),
            ],
            vec![],
        );
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropColumn("c".into())).unwrap();
        assert_eq!(
            sql,
            vec![
                r#"CREATE TABLE "orm_rebuild_t" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "a, b" TEXT DEFAULT 'x,y')"#,
                r#"INSERT INTO "orm_rebuild_t" ("id", "a, b") SELECT "id", "a, b" FROM "t""#,
                r#"DROP TABLE "t""#,
                r#"ALTER TABLE "orm_rebuild_t" RENAME TO "t""#,
                r#"CREATE INDEX "t_ab_index" ON "t" ("a, b")"#,
            ]
        );
        let sql =
            sqlite_rebuild(&snapshot, &AlterCommand::DropForeign("t_c_foreign".into())).unwrap();
        assert!(!sql[0].contains("FOREIGN"));
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropPrimary("x".into())).unwrap();
        assert!(
            sql[0].starts_with(r#"CREATE TABLE "orm_rebuild_t" ("id" INTEGER NOT NULL, "#),
            "{}",
            sql[0]
        );
    }

    #[test]
    fn rebuild_keeps_checks_that_only_contain_the_dropped_name() {
        let snapshot = SqliteTableSnapshot::new(
            "t",
            "CREATE TABLE t (id INTEGER PRIMARY KEY, note TEXT, notes_count INTEGER, -- note, ok\n              lo INTEGER CHECK (lo <= \"note\"), hi INTEGER CONSTRAINT hi_ok CHECK (hi > 0),              CHECK (notes_count >= 0), CONSTRAINT label CHECK (notes_count <> 'note'),              CONSTRAINT has_note CHECK (length(NOTE) > 0 /* ) */))",
            vec![],
            vec![],
        );
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropColumn("note".into())).unwrap();
        assert_eq!(
            sql[0],
            "CREATE TABLE \"orm_rebuild_t\" (id INTEGER PRIMARY KEY, notes_count INTEGER, \
             lo INTEGER, hi INTEGER CONSTRAINT hi_ok CHECK (hi > 0), CHECK (notes_count >= 0), \
             CONSTRAINT label CHECK (notes_count <> 'note'))"
        );
        let sql = sqlite_rebuild(&snapshot, &AlterCommand::DropCheck("label".into())).unwrap();
        assert!(!sql[0].contains("CONSTRAINT label"), "{}", sql[0]);
        assert!(sql[0].contains("CONSTRAINT has_note"), "{}", sql[0]);
        assert!(sqlite_rebuild(&snapshot, &AlterCommand::DropCheck("hi_ok".into())).is_err());
        let sql = sqlite_rebuild(
            &snapshot,
            &AlterCommand::AddCheck(CheckDef::named("lo_ok", "lo >= 0")),
        )
        .unwrap();
        assert!(
            sql[0].ends_with(r#", CONSTRAINT "lo_ok" CHECK (lo >= 0))"#),
            "{}",
            sql[0]
        );
        assert!(sqlite_rebuild(
            &snapshot,
            &AlterCommand::AddCheck(CheckDef::named("label", "lo >= 0"))
        )
        .is_err());
    }

    #[test]
    fn checks_render_on_create_and_alter() {
        let mut table = TableDef::new("t");
        table
            .columns
            .push(ColumnDef::new("votes", ColumnType::Integer));
        table.checks.push(CheckDef::new("votes >= 0"));
        table
            .checks
            .push(CheckDef::named("votes_small", "votes < 1000"));
        assert_eq!(
            create_table(&SqliteDialect, &table).unwrap()[0],
            r#"CREATE TABLE "t" ("votes" INTEGER NOT NULL, CHECK (votes >= 0), CONSTRAINT "votes_small" CHECK (votes < 1000))"#
        );
        let plan = alter_table(
            &PostgresDialect,
            "t",
            &AlterCommand::AddCheck(CheckDef::named("v", "votes ?? 'x'")),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "t" ADD CONSTRAINT "v" CHECK (votes ? 'x')"#.into()
            ])
        );
        let plan = alter_table(&PostgresDialect, "t", &AlterCommand::DropCheck("v".into()));
        assert_eq!(
            plan.unwrap(),
            AlterPlan::Statements(vec![r#"ALTER TABLE "t" DROP CONSTRAINT "v""#.into()])
        );
        for bad in [
            "",
            "votes > 0) OR (1 = 1",
            "(votes > 0",
            "votes > ?",
            "1); DROP TABLE t; (1",
            "votes > 0 -- positive",
        ] {
            table.checks = vec![CheckDef::new(bad)];
            assert!(
                matches!(
                    create_table(&SqliteDialect, &table),
                    Err(Error::InvalidQuery(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn foreign_key_actions_are_whitelisted() {
        assert_eq!(
            ForeignKeyAction::parse("SET NULL"),
            Some(ForeignKeyAction::SetNull)
        );
        assert_eq!(
            ForeignKeyAction::parse("no_action"),
            Some(ForeignKeyAction::NoAction)
        );
        assert_eq!(ForeignKeyAction::parse("cascade; drop table x"), None);
    }
}
