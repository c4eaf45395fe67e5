//! What a backend says about schemas: its column types, the parts of DDL that differ
//! between databases, which table changes it can make in place, and the catalog
//! queries the schema builder reads. [`super::schema`]'s renderers (`create_table`,
//! `alter_table`, ...) write everything common and ask these methods for the rest.

use super::schema::{AlterCommand, ColumnDef, ColumnType};
use super::SqlWriter;
use crate::error::{Error, InvalidQueryKind};
use crate::value::TypeFamily;

/// The schema half of a dialect: every [`Dialect`](super::Dialect) implements it.
pub trait SchemaGrammar {
    /// Appends the SQL type of `column` (without constraints).
    fn push_column_type(&self, w: &mut SqlWriter, column: &ColumnDef);

    /// What follows ` PRIMARY KEY` on an auto-incrementing column declared inline.
    fn inline_auto_increment(&self) -> &'static str {
        ""
    }

    /// Appends what makes an `unsigned` column refuse negative values where its type
    /// cannot say so, as part of the column's definition (nothing by default: not
    /// enforced, or [`names_unsigned_checks`](Self::names_unsigned_checks)).
    fn push_unsigned_check(&self, _w: &mut SqlWriter, _column: &ColumnDef) {}

    /// Whether an `unsigned` column refuses negative values by a named table constraint
    /// `CONSTRAINT "{table}_{column}_unsigned" CHECK ("column" >= 0)` (see
    /// [`unsigned_check_name`](super::schema::unsigned_check_name)) rather than by
    /// [`push_unsigned_check`](Self::push_unsigned_check): MySQL, where a column's own
    /// CHECK can only be removed by restating the column, and must be removed before a
    /// foreign key that [writes the column](super::schema::ForeignKeyDef::writes_its_columns)
    /// is added to it.
    fn names_unsigned_checks(&self) -> bool {
        false
    }

    /// Whether the database refuses a CHECK constraint on a column whose foreign key
    /// [writes it](super::schema::ForeignKeyDef::writes_its_columns) (MySQL, MariaDB:
    /// "cannot be used in the CHECK clause"). Such a column then gets no unsigned CHECK,
    /// and adding such a key to an existing column drops the column's.
    fn refuses_checks_on_written_columns(&self) -> bool {
        false
    }

    /// What follows `DROP TABLE IF EXISTS "t"` when every table is dropped (`fresh`), so
    /// that the foreign keys between them do not stop it; never used for one table.
    fn drop_if_exists_suffix(&self) -> &'static str {
        ""
    }

    /// Statements run before and after dropping every table (`fresh`) where a table
    /// that others reference cannot be dropped first and `DROP TABLE` has no suffix to
    /// drop it anyway (MySQL): foreign-key checks off, then back as they were. The second
    /// runs whether or not the drops succeeded.
    fn drop_all_tables_around(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// Whether `command` can be carried out in place with `ALTER TABLE`; when not, the
    /// plan is a table rebuild ([`AlterPlan::SqliteRebuild`](super::schema::AlterPlan)).
    fn alters_in_place(&self, _command: &AlterCommand) -> bool {
        true
    }

    /// Appends the statement renaming index `from` of `table` to `to`:
    /// `ALTER INDEX "from" RENAME TO "to"` (PostgreSQL's) by default.
    fn push_rename_index(&self, w: &mut SqlWriter, _table: &str, from: &str, to: &str) {
        w.push("ALTER INDEX ")
            .push_constraint_name(from)
            .push(" RENAME TO ")
            .push_constraint_name(to);
    }

    /// Appends what follows `ALTER TABLE "t" ` to give the existing `column` its new
    /// type, nullability and default. Only asked when
    /// [`alters_in_place`](SchemaGrammar::alters_in_place) accepts the change. An
    /// `auto_increment` column is an existing auto-increment column given a new integer
    /// type (the schema builder refuses to turn another column into one): it keeps
    /// numbering its rows and stays the primary key.
    fn push_change_column(&self, w: &mut SqlWriter, column: &ColumnDef) {
        w.fail(Error::invalid_query(
            InvalidQueryKind::Unsupported,
            format!(
                "column `{}`: this database cannot change a column in place",
                column.name
            ),
        ));
    }

    /// Appends a statement to run after [`push_change_column`](Self::push_change_column)
    /// changed `column` of `table`, or nothing when none is needed. PostgreSQL: the
    /// sequence a serial column owns takes the column's new type (`ALTER SEQUENCE .. AS
    /// BIGINT`), so that widening an auto-increment key widens the numbers it hands out.
    fn push_after_change_column(&self, _w: &mut SqlWriter, _table: &str, _column: &ColumnDef) {}

    /// Appends the column options written inside `column`'s definition after its
    /// default (MySQL's `ON UPDATE CURRENT_TIMESTAMP` and `COMMENT '..'`); nothing by
    /// default.
    fn push_column_options(&self, _w: &mut SqlWriter, _column: &ColumnDef) {}

    /// Appends where an added column goes among the others (MySQL's `AFTER "c"` or
    /// `FIRST`); nothing by default: the column goes last.
    fn push_column_position(&self, _w: &mut SqlWriter, _column: &ColumnDef) {}

    /// Appends the statement giving `column` of `table` its comment where comments are
    /// statements of their own (PostgreSQL's `COMMENT ON COLUMN`), or nothing.
    fn push_column_comment(&self, _w: &mut SqlWriter, _table: &str, _column: &ColumnDef) {}

    /// Whether DDL runs inside a transaction (and rolls back with it). MySQL commits
    /// the open transaction before each DDL statement, so a migration is not atomic there.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// The `DEFAULT` expression of a column of type `kind` defaulting to the current time.
    fn current_timestamp_default(&self, kind: &ColumnType) -> &'static str {
        let _ = kind;
        "CURRENT_TIMESTAMP"
    }

    /// Appends the statement dropping index `name` of `table`.
    fn push_drop_index(&self, w: &mut SqlWriter, table: &str, name: &str) {
        let _ = table;
        w.push("DROP INDEX ").push_constraint_name(name);
    }

    /// Appends what follows `ALTER TABLE "t" ` to drop the primary key called `name`.
    fn push_drop_primary(&self, w: &mut SqlWriter, name: &str) {
        w.push("DROP CONSTRAINT ").push_constraint_name(name);
    }

    /// Appends what follows `ALTER TABLE "t" ` to drop the foreign key called `name`.
    fn push_drop_foreign(&self, w: &mut SqlWriter, name: &str) {
        w.push("DROP CONSTRAINT ").push_constraint_name(name);
    }

    /// A query (one bind: the table name) returning one row when the table exists (a
    /// base table: not a view, as Laravel's `hasTable`).
    fn has_table_query(&self) -> &'static str;

    /// A query (one bind: the table name) returning the table's column names in order,
    /// in a column named `name`.
    fn column_listing_query(&self) -> &'static str;

    /// A query (no binds) returning every user table of the current schema, in a
    /// column named `name`.
    fn table_listing_query(&self) -> &'static str;

    /// A query (no binds) returning every view of the current schema, in a column named
    /// `name`. This default is SQLite's.
    fn view_listing_query(&self) -> &'static str {
        "SELECT name FROM sqlite_master WHERE type = 'view' ORDER BY name"
    }

    /// A query (one bind: the table name) describing the table's columns in order, one
    /// row each: `name`, `type` (the database's spelling), `not_null` (0/1), `default`
    /// (the default's SQL text, or NULL), `pk` (position in the primary key from 1, or 0)
    /// and `auto_increment` (0/1). No rows when the table does not exist.
    fn columns_query(&self) -> &'static str;

    /// A query (one bind: the table name) listing the table's indexes other than the
    /// primary key, one row per indexed column in index order: `name`, `column`,
    /// `unique` (0/1). Expression parts are left out.
    fn indexes_query(&self) -> &'static str;

    /// A query (one bind: the table name) listing the table's foreign keys, one row per
    /// column pair in key order: `id` (groups the rows of one key), `name` (or NULL where
    /// the database does not keep it), `column`, `foreign_table`, `foreign_column` (NULL:
    /// the foreign table's primary key), `on_update`, `on_delete` (`NO ACTION`,
    /// `RESTRICT`, `CASCADE`, `SET NULL`, `SET DEFAULT`).
    fn foreign_keys_query(&self) -> &'static str;

    /// The family of a live column's SQL type as [`columns_query`](Self::columns_query)
    /// spells it (`character varying(100)` → text), for comparing it with a model field.
    fn type_family(&self, sql_type: &str) -> TypeFamily {
        common_type_family(sql_type)
    }

    /// Whether a text column may hold any value the ORM writes (dates, JSON, decimals
    /// as text): SQLite's, whose types are only affinities.
    fn text_holds_any(&self) -> bool {
        false
    }

    /// A query (one bind: the table name) returning the primary key constraint's name
    /// in a column named `name`, where dropping a primary key needs its name.
    fn primary_key_name_query(&self) -> Option<&'static str> {
        None
    }

    /// The statements that suspend foreign-key enforcement around work that would trip
    /// it midway (a table rebuild, dropping every table), where the database has such a
    /// switch and needs it.
    fn foreign_key_switch(&self) -> Option<&'static ForeignKeySwitch> {
        None
    }

    /// Where `DROP TABLE` does not itself refuse a table that other tables' foreign keys
    /// reference (SQLite deletes its rows first, firing `ON DELETE CASCADE` into the
    /// children, or drops it leaving them referencing a missing table while foreign keys
    /// are suspended): a query (two binds: the table name, twice) listing those other
    /// tables in a column named `name`, so the schema builder can refuse the drop as
    /// PostgreSQL and MySQL do. `None` where the database refuses by itself.
    fn referencing_tables_query(&self) -> Option<&'static str> {
        None
    }

    /// Whether `error` is this database refusing to drop a table because other tables'
    /// foreign keys reference it, and how to name those tables: from the error itself,
    /// or by a query (the table name bound twice, the tables in a column `name`).
    fn refused_drop(&self, error: &Error) -> Option<ReferencingTables> {
        let _ = error;
        None
    }
}

/// The tables whose foreign keys stopped a `DROP TABLE` ([`SchemaGrammar::refused_drop`]).
#[derive(Debug)]
pub enum ReferencingTables {
    /// Named by the database's error.
    Named(Vec<String>),
    /// To read with this query (two binds: the dropped table's name, twice).
    Query(&'static str),
}

/// The family of the common SQL type spellings, by keyword (case-insensitive).
pub fn common_type_family(sql_type: &str) -> TypeFamily {
    let t = sql_type.to_ascii_lowercase();
    let has = |word: &str| t.contains(word);
    // Integers by whole word (`bigint unsigned`, `int4`, `serial`), not by letters:
    // `point` and `interval` are no integers.
    const INTEGERS: [&str; 17] = [
        "int",
        "integer",
        "smallint",
        "bigint",
        "tinyint",
        "mediumint",
        "int2",
        "int4",
        "int8",
        "serial",
        "smallserial",
        "bigserial",
        "serial2",
        "serial4",
        "serial8",
        "oid",
        "year",
    ];
    let integer = t
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| INTEGERS.contains(&word));
    if t.ends_with("[]") || t.starts_with('_') || has("array") {
        // An array (PostgreSQL's `integer[]`, `_int4`): no scalar field reads it.
        TypeFamily::Any
    } else if has("tinyint(1)") || has("bool") {
        TypeFamily::Bool
    } else if integer {
        TypeFamily::Integer
    } else if has("numeric") || has("decimal") {
        TypeFamily::Decimal
    } else if has("real") || has("double") || has("float") {
        TypeFamily::Float
    } else if has("json") {
        TypeFamily::Json
    } else if has("timestamp") || has("datetime") {
        TypeFamily::DateTime
    } else if t.starts_with("date") {
        TypeFamily::Date
    } else if t == "timetz" || t.starts_with("time with time zone") {
        // A time of day with a zone: no Rust value here reads it.
        TypeFamily::Any
    } else if t.starts_with("time") {
        TypeFamily::Time
    } else if has("char")
        || has("text")
        || has("clob")
        || has("uuid")
        || has("enum")
        || t.starts_with("interval")
    {
        TypeFamily::Text
    } else if has("blob") || has("bytea") || has("binary") {
        TypeFamily::Bytes
    } else {
        TypeFamily::Any
    }
}

/// Statements turning a connection's foreign-key enforcement off and on, and checking
/// the rows before a commit (see [`SchemaGrammar::foreign_key_switch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForeignKeySwitch {
    /// Reads whether foreign keys are enforced: one row, one integer column, `1` if so.
    pub state: &'static str,
    /// Turns enforcement off (SQLite: no effect inside a transaction).
    pub off: &'static str,
    /// Turns enforcement on.
    pub on: &'static str,
    /// Lists rows violating foreign keys: no rows, all good.
    pub check: &'static str,
}
