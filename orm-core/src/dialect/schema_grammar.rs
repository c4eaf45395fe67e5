//! What a backend says about schemas: its column types, the parts of DDL that differ
//! between databases, which table changes it can make in place, and the catalog
//! queries the schema builder reads. [`super::schema`]'s renderers (`create_table`,
//! `alter_table`, ...) write everything common and ask these methods for the rest.

use super::schema::{AlterCommand, ColumnDef};
use super::SqlWriter;
use crate::error::Error;

/// The schema half of a dialect: every [`Dialect`](super::Dialect) implements it.
pub trait SchemaGrammar {
    /// Appends the SQL type of `column` (without constraints).
    fn push_column_type(&self, w: &mut SqlWriter, column: &ColumnDef);

    /// What follows ` PRIMARY KEY` on an auto-incrementing column declared inline.
    fn inline_auto_increment(&self) -> &'static str {
        ""
    }

    /// Appends what makes an `unsigned` column refuse negative values where its type
    /// cannot say so (nothing by default: not enforced).
    fn push_unsigned_check(&self, _w: &mut SqlWriter, _column: &ColumnDef) {}

    /// What follows `DROP TABLE IF EXISTS "t"` so that dropping every table (`fresh`)
    /// does not stop at foreign keys between them.
    fn drop_if_exists_suffix(&self) -> &'static str {
        ""
    }

    /// Whether `command` can be carried out in place with `ALTER TABLE`; when not, the
    /// plan is a table rebuild ([`AlterPlan::SqliteRebuild`](super::schema::AlterPlan)).
    fn alters_in_place(&self, _command: &AlterCommand) -> bool {
        true
    }

    /// Appends what follows `ALTER TABLE "t" ` to give the existing `column` its new
    /// type, nullability and default. Only asked when
    /// [`alters_in_place`](SchemaGrammar::alters_in_place) accepts the change.
    fn push_change_column(&self, w: &mut SqlWriter, column: &ColumnDef) {
        w.fail(Error::InvalidQuery(format!(
            "column `{}`: this database cannot change a column in place",
            column.name
        )));
    }

    /// Whether DDL runs inside a transaction (and rolls back with it). MySQL commits
    /// the open transaction before each DDL statement, so a migration is not atomic there.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// The `DEFAULT` expression of a column defaulting to the current time.
    fn current_timestamp_default(&self) -> &'static str {
        "CURRENT_TIMESTAMP"
    }

    /// Appends the statement dropping index `name` of `table`.
    fn push_drop_index(&self, w: &mut SqlWriter, table: &str, name: &str) {
        let _ = table;
        w.push("DROP INDEX ").push_identifier(name);
    }

    /// Appends what follows `ALTER TABLE "t" ` to drop the primary key called `name`.
    fn push_drop_primary(&self, w: &mut SqlWriter, name: &str) {
        w.push("DROP CONSTRAINT ").push_identifier(name);
    }

    /// Appends what follows `ALTER TABLE "t" ` to drop the foreign key called `name`.
    fn push_drop_foreign(&self, w: &mut SqlWriter, name: &str) {
        w.push("DROP CONSTRAINT ").push_identifier(name);
    }

    /// A query (one bind: the table name) returning one row when the table exists.
    fn has_table_query(&self) -> &'static str;

    /// A query (one bind: the table name) returning the table's column names in order,
    /// in a column named `name`.
    fn column_listing_query(&self) -> &'static str;

    /// A query (no binds) returning every user table of the current schema, in a
    /// column named `name`.
    fn table_listing_query(&self) -> &'static str;

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
