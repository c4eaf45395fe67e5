//! SQL dialects: the only place SQL syntax lives.
//!
//! Everything that renders SQL does it through a [`SqlWriter`], which can push only three
//! things: raw SQL text written by this crate, an identifier (quoted by the dialect), or a
//! bound value (a placeholder from the dialect plus the value in the bind list).

mod ddl;
mod mysql;
mod postgres;
pub mod schema;
mod schema_grammar;
pub(crate) mod sql_tokens;
mod sqlite;
mod sqlite_rebuild;
mod statements;
mod writer;

pub use self::mysql::MysqlDialect;
pub use self::postgres::PostgresDialect;
pub use self::schema_grammar::{
    common_type_family, ForeignKeySwitch, ReferencingTables, SchemaGrammar,
};
pub use self::sqlite::SqliteDialect;
pub use self::statements::{ByKey, FindByKey, InsertRows, StatementGrammar, UpdateByKey};
pub use self::writer::SqlWriter;
pub(crate) use self::writer::{split_json_path, HomeTable};

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::error::{Error, InvalidQueryKind, Result};
use crate::value::Value;

/// The database family a dialect renders for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (embedded).
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

impl Backend {
    /// The dialect that renders SQL for this backend.
    pub fn dialect(self) -> &'static dyn Dialect {
        match self {
            Backend::Sqlite => SQLITE,
            Backend::Postgres => POSTGRES,
            Backend::Mysql => MYSQL,
        }
    }

    /// A small index per backend (declaration order), below [`BACKEND_SLOTS`]: where
    /// per-backend caches keep this backend's entry.
    pub(crate) fn slot(self) -> usize {
        self as usize
    }
}

// The dialects as trait objects, in statics: code inlined into an application crate
// reads these pointers instead of making the vtables (and every default method of the
// trait) there again.
static SQLITE: &dyn Dialect = &SqliteDialect;
static POSTGRES: &dyn Dialect = &PostgresDialect;
static MYSQL: &dyn Dialect = &MysqlDialect::RETURNING;
#[cfg(feature = "mysql")]
pub(crate) static MYSQL_WITHOUT_RETURNING: &dyn Dialect = &MysqlDialect::WITHOUT_RETURNING;

/// How many dialects per-dialect caches (the model's statements) have room for: one
/// per backend, and one for MySQL without `RETURNING` (its inserts differ).
pub(crate) const BACKEND_SLOTS: usize = 4;
const _: () = assert!((Backend::Mysql as usize) + 1 < BACKEND_SLOTS);

/// Where per-dialect caches keep `dialect`'s entry (below [`BACKEND_SLOTS`]): its
/// backend's slot, or the last one for MySQL without `RETURNING`.
pub(crate) fn cache_slot(dialect: &dyn Dialect) -> usize {
    match dialect.backend() {
        Backend::Mysql if !dialect.supports_returning() => BACKEND_SLOTS - 1,
        backend => backend.slot(),
    }
}

/// SQL syntax of one database family (its schema half is [`SchemaGrammar`], the model's
/// statements by key [`StatementGrammar`]).
pub trait Dialect:
    SchemaGrammar + StatementGrammar + Send + Sync + std::fmt::Debug + 'static
{
    /// Which backend this dialect renders for.
    fn backend(&self) -> Backend;

    /// Appends the placeholder for the `index`-th (1-based) bound value.
    fn push_placeholder(&self, out: &mut String, index: usize);

    /// The character that opens and closes a quoted identifier.
    fn identifier_quote(&self) -> char {
        '"'
    }

    /// Longest identifier, in bytes, that the database keeps without truncating.
    fn max_identifier_len(&self) -> usize;

    /// The most bound parameters one statement may carry.
    fn max_bind_params(&self) -> usize;

    /// Whether `INSERT/UPDATE/DELETE ... RETURNING` is available.
    fn supports_returning(&self) -> bool {
        true
    }

    /// Whether `FULL OUTER JOIN` is available (SQLite since 3.39, PostgreSQL; not MySQL).
    fn supports_full_join(&self) -> bool {
        true
    }

    /// Whether a lookup by primary key ([`StatementGrammar::push_find_by_key`]) ends in
    /// `LIMIT 1`. A key matches one row, but a model may name a key the table does not
    /// enforce: where the driver receives the whole result before the first row is read
    /// (PostgreSQL, MySQL) the limit keeps that result to one row. SQLite steps row by row
    /// and the lookup stops after the first, so there the limit is only work.
    fn limits_key_lookups(&self) -> bool {
        true
    }

    /// The statement that opens a transaction that will write.
    fn begin_transaction(&self) -> &'static str {
        "BEGIN"
    }

    /// The statements that open a transaction at an isolation level
    /// ([`crate::DB::isolated`]): `BEGIN ISOLATION LEVEL ...` by default.
    fn begin_transaction_at(&self, level: IsolationLevel) -> String {
        format!("BEGIN ISOLATION LEVEL {}", level.sql())
    }

    /// The statement that commits the open transaction.
    fn commit_transaction(&self) -> &'static str {
        "COMMIT"
    }

    /// The statement that rolls the open transaction back.
    fn rollback_transaction(&self) -> &'static str {
        "ROLLBACK"
    }

    /// The statement that opens a nested transaction level: a savepoint called `name`
    /// (a plain word the crate makes, written unquoted).
    fn savepoint(&self, name: &str) -> String {
        format!("SAVEPOINT {name}")
    }

    /// The statement that ends savepoint `name`, keeping its work in the enclosing level.
    fn release_savepoint(&self, name: &str) -> String {
        format!("RELEASE SAVEPOINT {name}")
    }

    /// The statements (one batch) that undo the work since savepoint `name` and end it.
    fn rollback_to_savepoint(&self, name: &str) -> String {
        format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}")
    }

    /// Appends the statements (one batch) creating schema `name` and making it where
    /// this session's unqualified names resolve: a private namespace for a test.
    /// Refused where the database has no schemas.
    fn push_create_and_use_schema(&self, w: &mut SqlWriter, name: &str) {
        let _ = name;
        w.fail(no_schemas(self.backend()));
    }

    /// Appends the statement dropping schema `name` (if it exists) with everything in it.
    fn push_drop_schema(&self, w: &mut SqlWriter, name: &str) {
        let _ = name;
        w.fail(no_schemas(self.backend()));
    }

    /// The statements taking and releasing a session-level lock that serialises
    /// migrators working on the current schema, as `(lock, unlock)` (`key` tells lock
    /// users apart). `None` where the database has no such lock: the migrator then
    /// relies on its write transactions (SQLite's `BEGIN IMMEDIATE`).
    fn advisory_lock(&self, _key: i32) -> Option<(String, String)> {
        None
    }

    /// Appends `LIMIT`/`OFFSET` clauses (values are integers, never text from users).
    fn push_limit_offset(&self, out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        use std::fmt::Write;
        if let Some(limit) = limit {
            let _ = write!(out, " LIMIT {limit}");
        }
        if let Some(offset) = offset {
            let _ = write!(out, " OFFSET {offset}");
        }
    }

    /// Text around the key subquery of an `UPDATE`/`DELETE` with joins, order or limit
    /// (`WHERE key IN (subquery)`), as `(prefix, suffix)`, where the database needs it:
    /// MySQL refuses a subquery on the written table and `LIMIT` inside `IN (...)`, but
    /// takes both from a derived table.
    fn write_subquery_wrapper(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// Whether an `UPDATE`/`DELETE` of one table takes `ORDER BY` and `LIMIT` (MySQL's
    /// do): a query with only those besides its conditions then writes the rows in its
    /// order, which an update of a unique column (`number = number + 1`, highest first)
    /// needs, where the key subquery's order would be lost. `false` by default.
    fn orders_writes(&self) -> bool {
        false
    }

    /// Whether a `DELETE` from an aliased table names the alias before `FROM`
    /// (`DELETE a FROM t AS a`, MySQL's multi-table form) rather than `DELETE FROM t AS a`.
    fn delete_names_alias(&self) -> bool {
        false
    }

    /// An `ORDER BY` term that places the column's NULLs first or last
    /// ([`crate::Query::nulls_first`]): `column ASC NULLS FIRST` by default.
    fn push_nulls_order(&self, w: &mut SqlWriter, column: &str, descending: bool, first: bool) {
        w.push_order_name(column)
            .push(if descending { " DESC" } else { " ASC" })
            .push(if first { " NULLS FIRST" } else { " NULLS LAST" });
    }

    /// Whether an `ORDER BY` term takes `NULLS FIRST`/`NULLS LAST` (MySQL's does not:
    /// see [`Dialect::push_nulls_order`]).
    fn has_nulls_clause(&self) -> bool {
        true
    }

    /// The expression for a random number, for `ORDER BY`.
    fn random_function(&self) -> &'static str {
        "RANDOM()"
    }

    /// The operator for a case-insensitive `LIKE` (`negated`: `NOT ILIKE`). PostgreSQL has
    /// `ILIKE`; SQLite's `LIKE` is already case-insensitive for ASCII.
    fn ilike_operator(&self, negated: bool) -> &'static str {
        if negated {
            "NOT ILIKE"
        } else {
            "ILIKE"
        }
    }

    /// What follows a column compared with `LIKE` (PostgreSQL: `::text`, so a number or a
    /// date column matches a pattern as on the other databases, as Laravel's grammar
    /// casts it).
    fn like_subject_cast(&self) -> &'static str {
        ""
    }

    /// The clause after a `LIKE` pattern that makes [`LIKE_ESCAPE`] its escape character,
    /// so a pattern means the same on every backend (SQLite has no default escape,
    /// PostgreSQL's is a backslash).
    fn like_escape_clause(&self) -> &'static str {
        " ESCAPE '\\'"
    }

    /// The longest `LIKE` pattern, in bytes, that the database accepts.
    fn max_like_pattern_len(&self) -> usize {
        usize::MAX
    }

    /// Appends a condition true when `column`'s text matches `text` literally as `kind`
    /// says (`%`, `_` and the escape character in `text` are escaped). Case sensitivity
    /// is that of `LIKE` on the backend.
    fn push_text_match(&self, w: &mut SqlWriter, column: &str, kind: TextMatch, text: &str) {
        push_like_pattern(w, column, text_match_pattern(kind, text));
    }

    /// Appends the given part of `column`'s date: year, month and day as integers, the
    /// date as a date. A point in time (`TIMESTAMPTZ`) gives the parts of its UTC date,
    /// whatever the session's time zone; a date or a date-time without zone its own.
    fn push_date_part(&self, w: &mut SqlWriter, part: DatePart, column: &str);

    /// Appends the value at `path` inside the JSON document in `column` (Laravel's
    /// `options->language`; a key of digits is an array index): as text for the
    /// comparisons a condition makes (`as_text`), else as a JSON value. SQLite's
    /// `json_extract` gives SQL values (true as 1, a string as its text); its `->` the
    /// JSON text of the value.
    fn push_json_path(&self, w: &mut SqlWriter, column: &str, path: &[&str], as_text: bool) {
        if as_text {
            w.push("json_extract(")
                .push_qualified_name(column)
                .push(", '");
        } else {
            w.push("(").push_qualified_name(column).push(" -> '");
        }
        push_json_path_literal(w, path);
        w.push("')");
    }

    /// Appends the value at `path` in `column` as a condition comparing it with a JSON
    /// array or object reads it, and returns the text around the value's placeholder:
    /// the two compared as JSON documents, not as their text (PostgreSQL's `jsonb` and
    /// MariaDB print `[1, 2]` where the bound text is `[1,2]`). This default is
    /// SQLite's: `json_extract` gives an array or object as minified JSON text, and
    /// `json(?)` minifies the bound one.
    fn push_json_document_compared(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
    ) -> [&'static str; 2] {
        self.push_json_path(w, column, path, true);
        ["json(", ")"]
    }

    /// Appends the value at `path` in `column` as text, for a condition comparing it with
    /// a value that is neither a number nor a boolean (text, a date, ...): the path's
    /// text, so `where_eq("doc->n", "5")` finds a JSON `5` as a JSON `"5"`, as
    /// PostgreSQL's `->>` and MySQL's `json_unquote` read both. This default is
    /// SQLite's, whose `json_extract` gives a number as a number (which equals no text):
    /// cast to text (a JSON `true` reads `1` there).
    fn push_json_text(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        w.push("CAST(");
        self.push_json_path(w, column, path, true);
        w.push(" AS TEXT)");
    }

    /// Whether the JSON document in `column` has `path` (`not`: lacks it; a NULL document
    /// lacks every path): SQLite's `json_type(column, '$."a"') IS NOT NULL` by default.
    fn push_json_has_path(&self, w: &mut SqlWriter, column: &str, path: &[&str], not: bool) {
        w.push("json_type(").push_qualified_name(column).push(", '");
        push_json_path_literal(w, path);
        w.push(if not { "') IS NULL" } else { "') IS NOT NULL" });
    }

    /// A JSON path tested for NULL ([`SqlWriter::push_null_check`]): its text `IS NULL`
    /// by default, which a JSON `null` is on SQLite and PostgreSQL.
    fn push_json_null_check(&self, w: &mut SqlWriter, column: &str, path: &[&str], not: bool) {
        self.push_json_path(w, column, path, true);
        w.push(if not { " IS NOT NULL" } else { " IS NULL" });
    }

    /// Opens a JSON document with one path set, for `UPDATE .. SET column = ..`
    /// (Laravel's `update(['options->theme' => 'dark'])`): what precedes the document,
    /// `json_set(` by default (SQLite's). Several paths of one column nest.
    fn push_json_set_open(&self, w: &mut SqlWriter) {
        w.push("json_set(");
    }

    /// Closes what [`Dialect::push_json_set_open`] opened: the path, and the new value
    /// as the bound JSON text `json` (`, '$."theme"', json(?))`).
    fn push_json_set_close(&self, w: &mut SqlWriter, path: &[&str], json: String) {
        w.push(", '");
        push_json_path_literal(w, path);
        w.push("', json(").push_bind(Value::Text(json)).push("))");
    }

    /// Whether setting a JSON path creates the objects on the way (SQLite's `json_set`
    /// does; PostgreSQL's `jsonb_set` and MySQL's `json_set` leave the document as it
    /// was when a parent is missing).
    fn json_set_makes_parents(&self) -> bool {
        true
    }

    /// Where [`Dialect::json_set_makes_parents`] is `false`: closes a
    /// [`Dialect::push_json_set_open`] that makes the object at `prefix` exist, for a
    /// path set below it (`options->a->b` when `a` is missing): its value in `column` as
    /// stored, or an empty object.
    fn push_json_parent_close(&self, w: &mut SqlWriter, column: &str, prefix: &[&str]) {
        let _ = (column, prefix);
        w.fail(Error::invalid_query(
            InvalidQueryKind::Unsupported,
            "this database's JSON set creates the parents of a path itself",
        ));
    }

    /// Appends the value at `path` in `column` for an `ORDER BY`: as its JSON value where
    /// the database orders those (numbers as numbers), else as in a condition. SQLite's
    /// `json_extract` gives SQL values already.
    fn push_json_order(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        self.push_json_path(w, column, path, true);
    }

    /// Appends `first op second` for two JSON paths, each a column and its path
    /// (`where_column("js->a", "<", "js->b")`), `op` a plain comparison: their values
    /// compared as JSON values, numbers as numbers and text as text. This default is
    /// SQLite's, whose `json_extract` gives SQL values.
    fn push_json_paths_compared(
        &self,
        w: &mut SqlWriter,
        first: (&str, &[&str]),
        op: &str,
        second: (&str, &[&str]),
    ) {
        self.push_json_path(w, first.0, first.1, true);
        w.push(" ").push(op).push(" ");
        self.push_json_path(w, second.0, second.1, true);
    }

    /// Appends the value at `path` in `column` as a condition comparing it with a number
    /// or a boolean (`scalar`) reads it, and returns the text to put before and after the
    /// value's placeholder. The value is compared only where the JSON holds that type,
    /// so that a row holding text or an array there neither matches (SQLite orders any
    /// text after every number) nor fails the statement (PostgreSQL's cast of its text).
    /// Other values are compared with the path's text ([`Dialect::push_json_path`]).
    /// This default is SQLite's (`json_type`).
    ///
    /// See also [`Dialect::push_json_paths_compared`], for two paths.
    fn push_json_compared(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
        scalar: JsonScalar,
    ) -> [&'static str; 2] {
        let types = match scalar {
            JsonScalar::Number => "'integer', 'real'",
            JsonScalar::Boolean => "'true', 'false'",
        };
        w.push("CASE WHEN json_type(")
            .push_qualified_name(column)
            .push(", '");
        push_json_path_literal(w, path);
        w.push("') IN (").push(types).push(") THEN ");
        self.push_json_path(w, column, path, true);
        w.push(" END");
        ["", ""]
    }

    /// Whether a JSON containment condition on `column` (a name without its table) must
    /// name the table: SQLite's `json_each` has columns of its own (`key`, `value`,
    /// `type`, `json`, ...) that a bare column of the same name in its arguments would
    /// be read as. `false` by default.
    fn json_contains_needs_table(&self, _column: &str) -> bool {
        false
    }

    /// Appends a condition true when the JSON at `path` in `column` contains `value`
    /// (Laravel's `whereJsonContains`): an array holding it (each of its elements, for
    /// an array), an object holding its members, or the value itself.
    ///
    /// This default is SQLite's, which has no containment test: one `EXISTS` over
    /// `json_each` per scalar (an object's member values count as held); a nested
    /// array or object to look for is an [`Error::InvalidQuery`].
    #[cfg(feature = "json")]
    fn push_json_contains(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
        value: serde_json::Value,
    ) {
        use serde_json::Value as Json;
        let items = match value {
            Json::Array(items) => items,
            scalar => vec![scalar],
        };
        if items.is_empty() {
            w.push("json_type(").push_qualified_name(column).push(", '");
            push_json_path_literal(w, path);
            w.push("') = 'array'");
            return;
        }
        w.push("(");
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                w.push(" AND ");
            }
            w.push("EXISTS (SELECT 1 FROM json_each(")
                .push_qualified_name(column)
                .push(", '");
            push_json_path_literal(w, path);
            w.push("') WHERE ");
            match item {
                Json::Null => {
                    w.push("json_each.type = 'null'");
                }
                Json::Bool(b) => {
                    w.push(if b {
                        "json_each.type = 'true'"
                    } else {
                        "json_each.type = 'false'"
                    });
                }
                Json::Number(n) => {
                    let value = match (n.as_i64(), n.as_f64()) {
                        (Some(i), _) => Value::Int(i),
                        (None, Some(f)) => Value::Float(f),
                        (None, None) => Value::Text(n.to_string()),
                    };
                    w.push("json_each.value = ").push_bind(value);
                }
                Json::String(text) => {
                    w.push("json_each.type = 'text' AND json_each.value = ")
                        .push_bind(Value::Text(text));
                }
                Json::Array(_) | Json::Object(_) => {
                    w.fail(Error::invalid_query(
                        InvalidQueryKind::Clauses,
                        "`where_json_contains` on SQLite looks for scalars or an array of \
                         scalars, not nested arrays or objects",
                    ));
                }
            }
            w.push(")");
        }
        w.push(")");
    }

    /// Appends the number of elements of the JSON array at `path` in `column`
    /// (Laravel's `whereJsonLength`).
    fn push_json_length(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        push_json_function(w, "json_array_length(", column, path);
    }

    /// Whether NULL sorts before every value in an ascending order (SQLite, MySQL), or
    /// after (PostgreSQL): what keyset paging over a nullable column must know.
    fn nulls_sort_first(&self) -> bool {
        true
    }

    /// The text around an aggregate that makes it read back as a float on every backend
    /// (PostgreSQL's `SUM` of integers is `NUMERIC`), as `(prefix, suffix)`.
    fn float_cast(&self) -> (&'static str, &'static str) {
        ("CAST(", " AS DOUBLE PRECISION)")
    }

    /// The aggregate `function` (`MAX`, `MIN`) as it applies to a boolean column:
    /// itself by default (SQLite and MySQL store booleans as integers).
    fn boolean_aggregate(&self, function: &'static str) -> &'static str {
        function
    }

    /// The text around the argument of a float aggregate, where the cast must come
    /// before the aggregate adds anything up (SQLite's `SUM` of integers fails past
    /// `i64` instead of giving a float); `("", "")` by default.
    fn float_argument_cast(&self) -> (&'static str, &'static str) {
        ("", "")
    }

    /// The row-locking clause appended to a `SELECT` (empty where the database has none).
    fn lock_clause(&self, mode: LockMode) -> &'static str {
        match mode {
            LockMode::Update => " FOR UPDATE",
            LockMode::Share => " FOR SHARE",
        }
    }

    /// Appended after [`Dialect::lock_clause`] when the query has a `LEFT JOIN`, whose
    /// nullable side some databases cannot lock: the table (or alias) of the query's own
    /// rows, `table`, to lock those only. Nothing by default (the joined rows are locked
    /// too where they exist).
    fn push_lock_of(&self, w: &mut SqlWriter, table: &str) {
        let _ = (w, table);
    }

    /// What follows [`Dialect::lock_clause`] for `wait` (nothing where the
    /// database has no row locks).
    fn lock_wait_clause(&self, wait: LockWait) -> &'static str {
        match wait {
            LockWait::Wait => "",
            LockWait::NoWait => " NOWAIT",
            LockWait::SkipLocked => " SKIP LOCKED",
        }
    }

    /// Whether the database counts an upsert's updated row twice in the rows affected
    /// (MySQL: 1 per inserted row, 2 per updated one). The ORM then reports each row
    /// once, as the other databases count it.
    fn upsert_counts_updates_twice(&self) -> bool {
        false
    }

    /// Appends the conflict clause of an upsert: `ON CONFLICT (unique_by) DO UPDATE SET
    /// c = excluded.c`, or `DO NOTHING` when `update` is empty.
    fn push_upsert(&self, w: &mut SqlWriter, unique_by: &[&str], update: &[&str]) {
        w.push(" ON CONFLICT (")
            .push_identifiers(unique_by.iter().copied());
        if update.is_empty() {
            w.push(") DO NOTHING");
            return;
        }
        w.push(") DO UPDATE SET ");
        for (i, column) in update.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_identifier(column)
                .push(" = excluded.")
                .push_identifier(column);
        }
    }

    /// Appends what makes an `INSERT` skip a row that conflicts with any unique index
    /// (`insert_or_ignore`); `first_column` is one the statement inserts.
    fn push_insert_or_ignore(&self, w: &mut SqlWriter, first_column: &str) {
        let _ = first_column;
        w.push(" ON CONFLICT DO NOTHING");
    }

    /// Appends the membership test after a column: ` IN (?, ?, ...)` with one bound value
    /// each (` NOT IN` when `not`). `values` is not empty.
    fn push_in_list(&self, w: &mut SqlWriter, values: Vec<Value>, not: bool) {
        w.push(if not { " NOT IN (" } else { " IN (" });
        if inlines_integers(&values) {
            // Integers written into the text (Laravel's `whereIntegerInRaw`): a long
            // list of keys is not held to the bind limit.
            let mut text = String::with_capacity(values.len() * 8);
            for (i, value) in values.iter().enumerate() {
                if let Value::Int(n) = value {
                    if i > 0 {
                        text.push_str(", ");
                    }
                    text.push_str(&n.to_string());
                }
            }
            w.push(&text).push(")");
            return;
        }
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_bind(value);
        }
        w.push(")");
    }

    /// Appends ` RETURNING column` to an `INSERT`.
    fn push_returning(&self, w: &mut SqlWriter, column: &str) {
        if self.supports_returning() {
            w.push(" RETURNING ").push_identifier(column);
        } else {
            w.fail(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                "this database does not support RETURNING",
            ));
        }
    }

    /// Appends the statement that empties `table` (and restarts its identity where the
    /// database has one to restart).
    fn push_truncate(&self, w: &mut SqlWriter, table: &str) {
        w.push("TRUNCATE TABLE ").push_table_name(table);
    }

    /// Where [`Dialect::push_truncate`] leaves a table's key counter as it was: a query
    /// (one `?`, the table name) that restarts it, run after the truncate when
    /// `counter_table_query` (no binds) finds the table holding the counters. `None`
    /// where the truncate restarts the counter itself.
    fn truncate_counter_reset(&self) -> Option<(&'static str, &'static str)> {
        None
    }

    /// Whether `error` is this database refusing [`Dialect::push_truncate`] because other
    /// tables' foreign keys reference the table (whether or not any row does). `false`
    /// by default: SQLite's truncate is a `DELETE`, refused only for rows referenced.
    fn truncate_refused(&self, error: &Error) -> bool {
        let _ = error;
        false
    }

    /// Appends a statement restarting `table`'s key counters, run after a truncate
    /// refused by [`Dialect::truncate_refused`] deleted the rows instead. Nothing by
    /// default.
    fn push_counter_restart(&self, w: &mut SqlWriter, table: &str) {
        let _ = (w, table);
    }

    /// Appends the new value of `column` for `increment` (`column + ?`) or, with
    /// `subtract`, `decrement` (`column - ?`).
    fn push_step(&self, w: &mut SqlWriter, column: &str, by: Value, subtract: bool) {
        push_column_step(w, column, by, subtract);
    }

    /// Rewrites the portable `?` placeholders of hand-written SQL into this dialect's form.
    /// `?` inside string literals, quoted identifiers and comments is left alone; `??`
    /// stands for a literal `?` (e.g. PostgreSQL's JSON operators).
    fn translate_placeholders<'a>(&self, sql: &'a str) -> Cow<'a, str>;

    /// Appends `ident` quoted, doubling embedded quote characters. Refuses empty names,
    /// NUL bytes and names longer than [`Dialect::max_identifier_len`].
    ///
    /// [`SqlWriter`] quotes plain names (ASCII letters, digits and `_`, no longer than
    /// [`Dialect::max_identifier_len`]) itself with [`Dialect::identifier_quote`], without
    /// calling this: a dialect's own checks here apply to every other name.
    fn push_identifier(&self, out: &mut String, ident: &str) -> Result<()> {
        push_quoted_identifier(self, out, ident)
    }

    /// Appends `value` as an escaped SQL literal, for the places where a bind parameter
    /// is not allowed (DDL such as `DEFAULT ...`). Text has its single quotes doubled;
    /// NUL bytes and non-finite floats are refused.
    fn push_literal(&self, out: &mut String, value: &Value) -> Result<()> {
        push_literal_common(self, out, value)
    }

    /// The literal of a boolean.
    fn bool_literal(&self, value: bool) -> &'static str {
        if value {
            "TRUE"
        } else {
            "FALSE"
        }
    }

    /// Appends the literal of bytes given as lowercase hex digits.
    fn push_bytes_literal(&self, out: &mut String, hex: &str) {
        out.push_str("X'");
        out.push_str(hex);
        out.push('\'');
    }

    /// Appends the literal of a point in time, in the form the backend stores it.
    fn push_utc_literal(&self, out: &mut String, value: &DateTime<Utc>) -> Result<()> {
        push_quoted_text(
            out,
            &value
                .naive_utc()
                .format(crate::value::DATETIME_TEXT_FORMAT)
                .to_string(),
        )
    }

    /// Whether arrays can be written as literals (`ARRAY[...]`).
    fn has_array_literals(&self) -> bool {
        false
    }
}

/// [`Dialect::push_identifier`]'s rule, for dialects that add their own checks first.
pub(crate) fn push_quoted_identifier<D: Dialect + ?Sized>(
    dialect: &D,
    out: &mut String,
    ident: &str,
) -> Result<()> {
    let quote = dialect.identifier_quote();
    // Fast path, one pass: a valid name with no quote character to double.
    if quote.is_ascii() && !ident.is_empty() && ident.len() <= dialect.max_identifier_len() {
        let q = quote as u8;
        if !ident.bytes().any(|b| b == 0 || b == q) {
            out.reserve(ident.len() + 2);
            out.push(quote);
            out.push_str(ident);
            out.push(quote);
            return Ok(());
        }
    }
    validate_identifier(ident, dialect.max_identifier_len())?;
    out.reserve(ident.len() + 2);
    out.push(quote);
    if ident.contains(quote) {
        for c in ident.chars() {
            if c == quote {
                out.push(quote);
            }
            out.push(c);
        }
    } else {
        out.push_str(ident);
    }
    out.push(quote);
    Ok(())
}

fn no_schemas(backend: Backend) -> Error {
    Error::invalid_query(
        InvalidQueryKind::Unsupported,
        format!("{backend:?} has no schemas"),
    )
}

pub(crate) fn push_quoted_text(out: &mut String, text: &str) -> Result<()> {
    if text.contains('\0') {
        return Err(Error::invalid_query(
            InvalidQueryKind::Literal,
            "a SQL literal cannot contain NUL bytes",
        ));
    }
    out.reserve(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    Ok(())
}

fn push_literal_common<D: Dialect + ?Sized>(
    dialect: &D,
    out: &mut String,
    value: &Value,
) -> Result<()> {
    use std::fmt::Write;
    match value {
        Value::Null => out.push_str("NULL"),
        Value::Bool(b) => out.push_str(dialect.bool_literal(*b)),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => {
            if !f.is_finite() {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Literal,
                    format!("the float {f} cannot be written as a SQL literal"),
                ));
            }
            let _ = write!(out, "{f:?}");
        }
        Value::Text(t) => push_quoted_text(out, t)?,
        Value::Bytes(bytes) => {
            let mut hex = String::with_capacity(bytes.len() * 2);
            for b in bytes {
                let _ = write!(hex, "{b:02x}");
            }
            dialect.push_bytes_literal(out, &hex);
        }
        Value::Date(d) => push_quoted_text(out, &d.format("%Y-%m-%d").to_string())?,
        Value::Time(t) => push_quoted_text(out, &t.format("%H:%M:%S%.6f").to_string())?,
        Value::DateTime(dt) => push_quoted_text(
            out,
            &dt.format(crate::value::DATETIME_TEXT_FORMAT).to_string(),
        )?,
        Value::DateTimeUtc(dt) => dialect.push_utc_literal(out, dt)?,
        #[cfg(feature = "json")]
        Value::Json(j) => push_quoted_text(out, &j.to_string())?,
        // Digits, a sign and a point only: nothing to escape.
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => {
            let _ = write!(out, "{d}");
        }
        Value::Array(items) => {
            if !dialect.has_array_literals() {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Literal,
                    format!(
                        "{:?} has no arrays: an array cannot be written as a literal",
                        dialect.backend()
                    ),
                ));
            }
            out.push_str("ARRAY[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                push_literal_common(dialect, out, item)?;
            }
            out.push(']');
        }
    }
    Ok(())
}

/// The escape character of every `LIKE` pattern the query builder renders: `\%`, `\_` and
/// `\\` match `%`, `_` and `\` literally, the same on every backend.
pub const LIKE_ESCAPE: char = '\\';

/// How [`Dialect::push_text_match`] matches a column against literal text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TextMatch {
    /// The text occurs anywhere in the column.
    Contains,
    /// The column starts with the text.
    StartsWith,
    /// The column ends with the text.
    EndsWith,
}

/// `text` with the `LIKE` wildcards (`%`, `_`) and [`LIKE_ESCAPE`] escaped, so that as a
/// pattern it matches itself literally: `escape_like("50%")` is `50\%`.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    push_escaped_like(&mut out, text);
    out
}

fn push_escaped_like(out: &mut String, text: &str) {
    for c in text.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            out.push(LIKE_ESCAPE);
        }
        out.push(c);
    }
}

/// The `LIKE` pattern matching `text` literally as `kind` says.
pub(crate) fn text_match_pattern(kind: TextMatch, text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 4);
    if kind != TextMatch::StartsWith {
        pattern.push('%');
    }
    push_escaped_like(&mut pattern, text);
    if kind != TextMatch::EndsWith {
        pattern.push('%');
    }
    pattern
}

/// `column LIKE pattern ESCAPE ...`.
pub(crate) fn push_like_pattern(w: &mut SqlWriter, column: &str, pattern: String) {
    let dialect = w.dialect();
    w.push_qualified_name(column)
        .push(dialect.like_subject_cast())
        .push(" LIKE ")
        .push_bind(Value::Text(pattern))
        .push(dialect.like_escape_clause());
}

/// Why `pattern` cannot be used as a `LIKE` pattern on `dialect`, if it cannot.
pub(crate) fn check_like_pattern(dialect: &dyn Dialect, pattern: &str) -> Result<()> {
    let trailing = pattern
        .bytes()
        .rev()
        .take_while(|b| *b == LIKE_ESCAPE as u8)
        .count();
    if trailing % 2 == 1 {
        return Err(Error::invalid_query(
            InvalidQueryKind::LikePattern,
            format!(
                "the LIKE pattern {:?} ends with the escape character `{LIKE_ESCAPE}`: write \
             `{LIKE_ESCAPE}{LIKE_ESCAPE}` for a literal backslash",
                truncated(pattern)
            ),
        ));
    }
    let max = dialect.max_like_pattern_len();
    if pattern.len() > max {
        return Err(Error::invalid_query(
            InvalidQueryKind::LikePattern,
            format!(
                "a LIKE pattern of {} bytes is longer than the {max} bytes {:?} accepts; to \
             match long text literally use where_contains / where_starts_with / \
             where_ends_with",
                pattern.len(),
                dialect.backend()
            ),
        ));
    }
    Ok(())
}

/// The start of a long text, for an error message.
fn truncated(text: &str) -> String {
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// `column + ?` (`subtract`: `column - ?`), what [`Dialect::push_step`] writes unless a
/// dialect wraps it.
pub(crate) fn push_column_step(w: &mut SqlWriter, column: &str, by: Value, subtract: bool) {
    w.push_identifier(column)
        .push(if subtract { " - " } else { " + " })
        .push_bind(by);
}

/// A part of a date, for `where_date` / `where_year` / `where_month` / `where_day` /
/// `where_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DatePart {
    /// The calendar date (no time of day).
    Date,
    /// The year, as an integer.
    Year,
    /// The month (1-12), as an integer.
    Month,
    /// The day of the month (1-31), as an integer.
    Day,
    /// The time of day to the second, as `HH:MM:SS` text (the fraction dropped).
    Time,
}

/// A row lock taken by a `SELECT` (`lock_for_update`, `shared_lock`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LockMode {
    /// `FOR UPDATE`: exclusive, for rows about to be changed.
    Update,
    /// `FOR SHARE`: other transactions may read but not change the rows.
    Share,
}

/// What a row lock does about rows another transaction holds locked (`no_wait`,
/// `skip_locked`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LockWait {
    /// Waits for the other transaction (the default).
    #[default]
    Wait,
    /// Fails at once (`NOWAIT`).
    NoWait,
    /// Leaves those rows out (`SKIP LOCKED`): a queue's workers each take other rows.
    SkipLocked,
}

pub(crate) fn validate_identifier(ident: &str, max_len: usize) -> Result<()> {
    let reason = if ident.is_empty() {
        "identifiers cannot be empty"
    } else if ident.as_bytes().contains(&0) {
        "identifiers cannot contain NUL bytes"
    } else if ident.len() > max_len {
        "identifier is longer than the database allows"
    } else {
        return Ok(());
    };
    Err(Error::InvalidIdentifier {
        identifier: ident.to_owned(),
        reason,
    })
}

/// Whether the byte before `i` continues an identifier (so a `$` or `E` there is part
/// of a name, not the start of a literal).
fn follows_identifier(bytes: &[u8], i: usize) -> bool {
    i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || matches!(bytes[i - 1], b'_' | b'$'))
}

/// The length of a dollar-quote tag (`$$` or `$tag$`) at the start of `bytes`, if one
/// starts there. `$1` (a numbered placeholder) is not a tag.
fn dollar_tag_len(bytes: &[u8]) -> Option<usize> {
    if bytes.first() != Some(&b'$') {
        return None;
    }
    if bytes.get(1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let name = bytes[1..]
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    (bytes.get(1 + name) == Some(&b'$')).then_some(name + 2)
}

/// Rewrites `?` placeholders outside literals, quoted identifiers and comments by calling
/// `placeholder` with each 1-based index. Shared by the dialects that number placeholders.
pub(crate) fn rewrite_question_marks(
    sql: &str,
    mut placeholder: impl FnMut(&mut String, usize),
) -> String {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut index = 0;
    let mut i = 0;
    let mut start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if !follows_identifier(bytes, i) && dollar_tag_len(&bytes[i..]).is_some() => {
                // A dollar-quoted string (`$$ ... $$`, `$tag$ ... $tag$`): skip to the
                // closing tag (or the end).
                let tag_len = dollar_tag_len(&bytes[i..]).unwrap_or(1);
                let tag = &sql[i..i + tag_len];
                i = match sql[i + tag_len..].find(tag) {
                    Some(end) => i + tag_len + end + tag_len,
                    None => bytes.len(),
                };
            }
            // Literals, and names quoted with `"` or (MySQL, SQLite) backticks.
            quote @ (b'\'' | b'"' | b'`') => {
                // `E'...'` strings take backslash escapes (`\'` is a quote inside).
                let escapes = quote == b'\''
                    && i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && !follows_identifier(bytes, i - 1);
                i = sql_tokens::quoted_run_end(bytes, i, quote, escapes);
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
            }
            b'?' => {
                out.push_str(&sql[start..i]);
                if bytes.get(i + 1) == Some(&b'?') {
                    out.push('?');
                    i += 2;
                } else {
                    index += 1;
                    placeholder(&mut out, index);
                    i += 1;
                }
                start = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[start.min(sql.len())..]);
    out
}

/// `value` as JSON text, for a JSON path's new value: text quoted and escaped, numbers
/// and booleans as they are, NULL as `null`, dates as their text. Bytes and arrays have
/// no JSON form here.
pub(crate) fn json_text(value: &Value) -> Result<String> {
    let quoted = |text: &str| {
        let mut out = String::with_capacity(text.len() + 2);
        out.push('"');
        for c in text.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    };
    Ok(match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) if f.is_finite() => f.to_string(),
        Value::Text(text) => quoted(text),
        Value::Date(_) | Value::Time(_) | Value::DateTime(_) | Value::DateTimeUtc(_) => {
            quoted(&value.to_string())
        }
        #[cfg(feature = "json")]
        Value::Json(json) => json.to_string(),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => d.to_string(),
        other => {
            return Err(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                format!(
                    "a {} value cannot be written into a JSON path",
                    other.type_name()
                ),
            ))
        }
    })
}

/// `function(column[, '$.path'])`: `function` given with its opening parenthesis.
pub(crate) fn push_json_function(w: &mut SqlWriter, function: &str, column: &str, path: &[&str]) {
    w.push(function).push_qualified_name(column);
    if !path.is_empty() {
        w.push(", '");
        push_json_path_literal(w, path);
        w.push("'");
    }
    w.push(")");
}

/// Writes a JSON path as SQLite's and MySQL's functions read it: `$."key"[0]`. The keys
/// were checked to be letters, digits and underscores, so nothing needs escaping.
/// The JSON type a path must hold to be compared with a value
/// ([`Dialect::push_json_compared`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonScalar {
    /// A number (compared with an integer, a float or a decimal).
    Number,
    /// `true` or `false`.
    Boolean,
}

impl JsonScalar {
    /// The JSON type compared with `value`; `None` for a value compared with the path's
    /// text (text, dates, ...).
    pub fn of(value: &Value) -> Option<JsonScalar> {
        match value {
            Value::Int(_) | Value::Float(_) => Some(JsonScalar::Number),
            #[cfg(feature = "decimal")]
            Value::Decimal(_) => Some(JsonScalar::Number),
            Value::Bool(_) => Some(JsonScalar::Boolean),
            _ => None,
        }
    }
}

pub(crate) fn push_json_path_literal(w: &mut SqlWriter, path: &[&str]) {
    w.push("$");
    for key in path {
        if key.bytes().all(|b| b.is_ascii_digit()) {
            w.push("[").push(key).push("]");
        } else {
            w.push(".\"").push(key).push("\"");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_doubles_quotes_and_refuses_nul() {
        let mut out = String::new();
        SqliteDialect
            .push_identifier(&mut out, r#"we"ird"#)
            .unwrap();
        assert_eq!(out, r#""we""ird""#);
        let err = PostgresDialect
            .push_identifier(&mut String::new(), "a\0b")
            .unwrap_err();
        assert!(matches!(err, Error::InvalidIdentifier { .. }));
        assert!(PostgresDialect
            .push_identifier(&mut String::new(), "")
            .is_err());
        assert!(PostgresDialect
            .push_identifier(&mut String::new(), &"x".repeat(64))
            .is_err());
    }

    #[test]
    fn golden_mysql_statements() {
        let mysql: &'static dyn Dialect = &MysqlDialect::RETURNING;
        let mut out = String::new();
        mysql.push_identifier(&mut out, "we`ird").unwrap();
        assert_eq!(out, "`we``ird`");
        assert!(mysql
            .push_identifier(&mut String::new(), &"x".repeat(64))
            .is_ok());
        assert!(mysql
            .push_identifier(&mut String::new(), &"x".repeat(65))
            .is_err());
        let mut limit = String::new();
        mysql.push_limit_offset(&mut limit, None, Some(5));
        assert_eq!(limit, " LIMIT 18446744073709551615 OFFSET 5");
        assert_eq!(mysql.lock_clause(LockMode::Share), " LOCK IN SHARE MODE");
        assert_eq!(mysql.like_escape_clause(), " ESCAPE '\\'");
        let render = |create: bool| {
            let mut w = SqlWriter::new(mysql);
            if create {
                mysql.push_create_and_use_schema(&mut w, "orm_test_1");
            } else {
                mysql.push_drop_schema(&mut w, "orm_test_1");
            }
            w.finish().map(|(sql, _)| sql).unwrap()
        };
        assert_eq!(
            render(true),
            "CREATE DATABASE `orm_test_1` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; \
             USE `orm_test_1`"
        );
        assert_eq!(render(false), "DROP DATABASE IF EXISTS `orm_test_1`");
        let mut w = SqlWriter::new(mysql);
        mysql.push_upsert(&mut w, &["email"], &["name"]);
        assert_eq!(
            w.finish().unwrap().0,
            " ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)"
        );
        assert_eq!(
            mysql.translate_placeholders("a = ? AND b ?? c"),
            "a = ? AND b ? c"
        );
    }

    #[test]
    fn golden_literals_per_dialect() {
        use chrono::TimeZone;
        let literal = |dialect: &dyn Dialect, value: Value| {
            let mut out = String::new();
            dialect.push_literal(&mut out, &value).map(|()| out)
        };
        let at = Utc.with_ymd_and_hms(2024, 5, 6, 7, 8, 9).unwrap();
        let sqlite: &dyn Dialect = &SqliteDialect;
        let postgres: &dyn Dialect = &PostgresDialect;
        assert_eq!(literal(sqlite, Value::Bool(true)).unwrap(), "1");
        assert_eq!(literal(postgres, Value::Bool(false)).unwrap(), "FALSE");
        assert_eq!(
            literal(sqlite, Value::Bytes(vec![0, 255])).unwrap(),
            "X'00ff'"
        );
        assert_eq!(
            literal(postgres, Value::Bytes(vec![0, 255])).unwrap(),
            "'\\x00ff'::bytea"
        );
        assert_eq!(
            literal(sqlite, Value::DateTimeUtc(at)).unwrap(),
            format!(
                "'{}'",
                at.naive_utc().format(crate::value::DATETIME_TEXT_FORMAT)
            )
        );
        assert_eq!(
            literal(postgres, Value::DateTimeUtc(at)).unwrap(),
            "'2024-05-06T07:08:09+00:00'"
        );
        let array = Value::Array(vec![Value::Int(1), Value::Text("a'b".into())]);
        assert_eq!(
            literal(postgres, array.clone()).unwrap(),
            "ARRAY[1, 'a''b']"
        );
        assert!(matches!(
            literal(sqlite, array),
            Err(Error::InvalidQuery { .. })
        ));
    }

    #[test]
    fn golden_test_schema_statements() {
        let render = |dialect: &'static dyn Dialect, create: bool| {
            let mut w = SqlWriter::new(dialect);
            if create {
                dialect.push_create_and_use_schema(&mut w, "orm_test_1");
            } else {
                dialect.push_drop_schema(&mut w, "orm_test_1");
            }
            w.finish().map(|(sql, _)| sql)
        };
        assert_eq!(
            render(&PostgresDialect, true).unwrap(),
            r#"CREATE SCHEMA "orm_test_1"; SET search_path TO "orm_test_1""#
        );
        assert_eq!(
            render(&PostgresDialect, false).unwrap(),
            r#"DROP SCHEMA IF EXISTS "orm_test_1" CASCADE"#
        );
        assert!(render(&SqliteDialect, true).is_err());
    }

    #[test]
    fn golden_transaction_statements() {
        assert_eq!(SqliteDialect.begin_transaction(), "BEGIN IMMEDIATE");
        assert_eq!(PostgresDialect.begin_transaction(), "BEGIN");
        for dialect in [&SqliteDialect as &dyn Dialect, &PostgresDialect] {
            assert_eq!(dialect.commit_transaction(), "COMMIT");
            assert_eq!(dialect.rollback_transaction(), "ROLLBACK");
            assert_eq!(
                dialect.savepoint("orm_savepoint_1"),
                "SAVEPOINT orm_savepoint_1"
            );
            assert_eq!(
                dialect.release_savepoint("orm_savepoint_1"),
                "RELEASE SAVEPOINT orm_savepoint_1"
            );
            assert_eq!(
                dialect.rollback_to_savepoint("orm_savepoint_1"),
                "ROLLBACK TO SAVEPOINT orm_savepoint_1; RELEASE SAVEPOINT orm_savepoint_1"
            );
        }
    }

    #[test]
    fn placeholders_are_translated_outside_literals_only() {
        let sql = "SELECT '?', \"a?\" FROM t -- ?\nWHERE a = ? AND b = ? /* ? */ AND c ?? 'k'";
        assert_eq!(
            PostgresDialect.translate_placeholders(sql),
            "SELECT '?', \"a?\" FROM t -- ?\nWHERE a = $1 AND b = $2 /* ? */ AND c ? 'k'"
        );
        assert_eq!(SqliteDialect.translate_placeholders("a = ?"), "a = ?");
        assert_eq!(
            PostgresDialect.translate_placeholders("`a?``b?` = ?"),
            "`a?``b?` = $1"
        );
        assert_eq!(
            PostgresDialect.translate_placeholders("x = 'it''s ?' AND y = ?"),
            "x = 'it''s ?' AND y = $1"
        );
        // Dollar-quoted and E'' strings are literals too.
        assert_eq!(
            PostgresDialect.translate_placeholders(
                "SELECT $$a?b$$, $t$ ? $$ ? $t$, E'\\'?', e'?', ? FROM a$b WHERE c = ?"
            ),
            "SELECT $$a?b$$, $t$ ? $$ ? $t$, E'\\'?', e'?', $1 FROM a$b WHERE c = $2"
        );
        assert_eq!(
            PostgresDialect.translate_placeholders("SELECT $$ ? "),
            "SELECT $$ ? "
        );
        assert_eq!(
            PostgresDialect.translate_placeholders("SELECT x$$ = ?"),
            "SELECT x$$ = $1"
        );
    }
}

/// How much of other transactions' work a transaction may see (the SQL standard's
/// levels), for [`crate::DB::isolated`] and [`crate::Connection::begin_isolated`].
///
/// Each database gives at least the level asked for: SQLite's transactions are always
/// serializable, so every level is its one; PostgreSQL runs `READ UNCOMMITTED` as
/// `READ COMMITTED`. Without a level each database keeps its default (`READ COMMITTED` on
/// PostgreSQL, `REPEATABLE READ` on MySQL and MariaDB).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// `READ UNCOMMITTED`: may see other transactions' uncommitted writes (MySQL).
    ReadUncommitted,
    /// `READ COMMITTED`: each statement sees what was committed before it began.
    ReadCommitted,
    /// `REPEATABLE READ`: the transaction's reads see one snapshot; rows read do not
    /// change under it.
    RepeatableRead,
    /// `SERIALIZABLE`: as if the transactions ran one after another; the database may
    /// give one up with a serialization failure ([`crate::Error::is_retryable`]), so
    /// run it with [`crate::Isolated::transaction_with_retry`].
    Serializable,
}

impl IsolationLevel {
    /// The level's SQL name (`REPEATABLE READ`).
    pub fn sql(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "READ UNCOMMITTED",
            IsolationLevel::ReadCommitted => "READ COMMITTED",
            IsolationLevel::RepeatableRead => "REPEATABLE READ",
            IsolationLevel::Serializable => "SERIALIZABLE",
        }
    }
}

/// Past how many values an `IN` list of integers is written as literals rather than
/// bound (see [`inlines_integers`]).
const INLINED_INTEGER_LIST: usize = 1000;

/// Whether an `IN (...)` list is written as integer literals: more than
/// [`INLINED_INTEGER_LIST`] values, all integers. Such a statement's text holds its
/// values, so its shape is never cached.
pub(crate) fn inlines_integers(values: &[Value]) -> bool {
    values.len() > INLINED_INTEGER_LIST && values.iter().all(|v| matches!(v, Value::Int(_)))
}
