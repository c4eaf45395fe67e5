//! Schema descriptions (tables, columns, indexes, foreign keys, checks) and, re-exported
//! here, their rendering into DDL for each backend: what differs between backends is
//! asked of the dialect's [`SchemaGrammar`](super::SchemaGrammar).
//!
//! The schema builder (orm-migrate) describes what it wants with these types; the
//! renderers turn the descriptions into statements. Identifiers are always quoted by the
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

pub use super::ddl::{
    alter_table, column_indexes, create_table, drop_table, drop_table_dropping_all,
    drop_view_dropping_all, omit_refused_unsigned_checks, rename_table, unsigned_check_name,
};
pub use super::sqlite_rebuild::{
    sqlite_pragmas, sqlite_rebuild, sqlite_rebuild_summary, SqliteIndexSnapshot,
    SqliteTableSnapshot,
};
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
    pub(crate) fn is_integer(&self) -> bool {
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
    /// The column's comment (MySQL's `COMMENT`, PostgreSQL's `COMMENT ON COLUMN`;
    /// SQLite keeps none).
    pub comment: Option<String>,
    /// MySQL: the column an added column goes after (`AFTER`); elsewhere added columns
    /// go last.
    pub after: Option<String>,
    /// MySQL: an added column goes first (`FIRST`).
    pub first: bool,
    /// MySQL: the column takes the current time whenever its row is updated (`ON
    /// UPDATE CURRENT_TIMESTAMP`); the other databases have no such clause.
    pub use_current_on_update: bool,
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
            comment: None,
            after: None,
            first: false,
            use_current_on_update: false,
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

    pub(crate) fn sql(self) -> &'static str {
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
    /// Whether one of its actions writes the referencing columns: `ON DELETE SET NULL`
    /// or `SET DEFAULT`, `ON UPDATE CASCADE`, `SET NULL` or `SET DEFAULT` (MySQL and
    /// MariaDB refuse a CHECK on such a column: InnoDB's cascades bypass CHECKs).
    pub fn writes_its_columns(&self) -> bool {
        use ForeignKeyAction::{Cascade, SetDefault, SetNull};
        matches!(self.on_delete, Some(SetNull | SetDefault))
            || matches!(self.on_update, Some(Cascade | SetNull | SetDefault))
    }

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
    /// Rename an index or unique index.
    RenameIndex {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
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
            AlterCommand::RenameIndex { from, to } => format!("rename index {from:?} to {to:?}"),
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

/// One column of a live table (`Schema::columns` in orm-migrate, [`crate::Connection::columns`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnInfo {
    /// The column's name.
    pub name: String,
    /// Its type as the database spells it (`INTEGER`, `VARCHAR(100)`,
    /// `character varying(100)`, `timestamp with time zone`, ...).
    pub type_name: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Its default as SQL text (`0`, `'draft'`, `CURRENT_TIMESTAMP`), if any. An
    /// auto-increment column's sequence default is reported by `auto_increment` instead.
    pub default: Option<String>,
    /// Whether it is (part of) the primary key.
    pub primary_key: bool,
    /// Whether the database assigns its values (SQLite's `INTEGER PRIMARY KEY`, a
    /// PostgreSQL serial or identity column).
    pub auto_increment: bool,
}

impl ColumnInfo {
    /// A NOT NULL column with no default, not a key: set the other fields as needed
    /// (the struct is `#[non_exhaustive]`).
    pub fn new(name: impl Into<String>, type_name: impl Into<String>) -> ColumnInfo {
        ColumnInfo {
            name: name.into(),
            type_name: type_name.into(),
            nullable: false,
            default: None,
            primary_key: false,
            auto_increment: false,
        }
    }
}
