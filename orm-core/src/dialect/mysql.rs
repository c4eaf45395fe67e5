use std::borrow::Cow;

use super::ddl::{push_default, push_enum_check, push_shared_column_type};
use super::schema::{ColumnDef, ColumnType};
use super::{
    push_json_function, push_json_path_literal, rewrite_question_marks, Backend, DatePart, Dialect,
    IsolationLevel, JsonScalar, LockMode, SchemaGrammar, SqlWriter,
};
use crate::error::{Error, InvalidQueryKind};
use crate::value::Value;

/// `LIMIT` meaning "no limit", for an `OFFSET` without one (MySQL's documented idiom).
const NO_LIMIT: u64 = u64::MAX;

/// SQL syntax of MySQL and MariaDB.
///
/// Connections opened by this crate run with `sql_mode` including
/// `NO_BACKSLASH_ESCAPES` (so a backslash in a string literal is a plain character, as
/// in standard SQL and the other dialects) and `time_zone = '+00:00'`; the literals and
/// the `LIKE ... ESCAPE '\'` clause this dialect writes rely on both.
///
/// Two forms: [`MysqlDialect::RETURNING`] (the default; MariaDB 10.5 and later read
/// generated keys and defaults back with `INSERT ... RETURNING`) and
/// [`MysqlDialect::WITHOUT_RETURNING`] (MySQL 8, which has no `RETURNING`: keys come
/// from the statement's `LAST_INSERT_ID()`). A connection picks the one its server takes.
#[derive(Debug, Clone, Copy)]
pub struct MysqlDialect {
    returning: bool,
}

impl MysqlDialect {
    /// The dialect of servers with `INSERT ... RETURNING` (MariaDB 10.5 and later).
    pub const RETURNING: MysqlDialect = MysqlDialect { returning: true };
    /// The dialect of servers without it (MySQL 8, or a MariaDB connection opened with
    /// the diagnostic URL option `returning=off`).
    pub const WITHOUT_RETURNING: MysqlDialect = MysqlDialect { returning: false };
}

impl Default for MysqlDialect {
    /// [`MysqlDialect::RETURNING`].
    fn default() -> MysqlDialect {
        MysqlDialect::RETURNING
    }
}

impl Dialect for MysqlDialect {
    fn upsert_counts_updates_twice(&self) -> bool {
        true
    }

    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    fn supports_returning(&self) -> bool {
        self.returning
    }

    fn push_placeholder(&self, out: &mut String, _index: usize) {
        out.push('?');
    }

    fn identifier_quote(&self) -> char {
        '`'
    }

    fn push_identifier(&self, out: &mut String, ident: &str) -> crate::error::Result<()> {
        if ident.ends_with(' ') {
            // The server refuses such names ("Incorrect table name"): say so up front.
            return Err(Error::InvalidIdentifier {
                identifier: ident.to_owned(),
                reason: "MySQL names cannot end with a space",
            });
        }
        if ident.chars().any(|c| u32::from(c) > 0xFFFF) {
            // Identifiers are limited to the Basic Multilingual Plane (no emoji).
            return Err(Error::InvalidIdentifier {
                identifier: ident.to_owned(),
                reason: "MySQL names cannot contain characters beyond U+FFFF (such as emoji)",
            });
        }
        super::push_quoted_identifier(self, out, ident)
    }

    fn max_identifier_len(&self) -> usize {
        // Table, column, index and constraint names: 64 characters.
        64
    }

    fn max_bind_params(&self) -> usize {
        // The binary protocol counts parameters in 16 bits.
        65535
    }

    fn begin_transaction(&self) -> &'static str {
        "START TRANSACTION"
    }

    fn begin_transaction_at(&self, level: IsolationLevel) -> String {
        // Without `SESSION`, the level applies to the next transaction only.
        format!(
            "SET TRANSACTION ISOLATION LEVEL {}; START TRANSACTION",
            level.sql()
        )
    }

    fn rollback_to_savepoint(&self, name: &str) -> String {
        // The savepoint stays after ROLLBACK TO; the next SAVEPOINT of the same name
        // replaces it, so no RELEASE (one statement, no batch).
        format!("ROLLBACK TO SAVEPOINT {name}")
    }

    fn push_create_and_use_schema(&self, w: &mut SqlWriter, name: &str) {
        // A database is MySQL's schema: create one and make it the session's default.
        // Binary collation: text compares, sorts and LIKEs byte by byte, case-sensitively,
        // as on PostgreSQL (MySQL's default `_ci` collations ignore case).
        w.push("CREATE DATABASE ")
            .push_identifier(name)
            .push(" CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; USE ")
            .push_identifier(name);
    }

    fn push_drop_schema(&self, w: &mut SqlWriter, name: &str) {
        w.push("DROP DATABASE IF EXISTS ").push_identifier(name);
    }

    fn advisory_lock(&self, key: i32) -> Option<(String, String)> {
        // A named lock held by the session; the name (at most 64 characters) is scoped
        // to the current database, so migrators of different databases do not wait.
        // The timeout is a year: wait, as PostgreSQL's advisory lock does.
        let name = format!("CONCAT('orm_migrate_{key}_', MD5(DATABASE()))");
        Some((
            format!("DO GET_LOCK({name}, 31536000)"),
            format!("DO RELEASE_LOCK({name})"),
        ))
    }

    fn push_limit_offset(&self, out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        use std::fmt::Write;
        match (limit, offset) {
            (Some(limit), _) => {
                let _ = write!(out, " LIMIT {limit}");
            }
            (None, Some(_)) => {
                let _ = write!(out, " LIMIT {NO_LIMIT}");
            }
            (None, None) => {}
        }
        if let Some(offset) = offset {
            let _ = write!(out, " OFFSET {offset}");
        }
    }

    fn write_subquery_wrapper(&self) -> Option<(&'static str, &'static str)> {
        Some(("SELECT * FROM (", ") AS `orm_keys`"))
    }

    fn orders_writes(&self) -> bool {
        true
    }

    fn delete_names_alias(&self) -> bool {
        // MariaDB (before 11.6) has no alias in the single-table DELETE.
        true
    }

    fn supports_full_join(&self) -> bool {
        false
    }

    fn truncate_refused(&self, error: &Error) -> bool {
        // ER_TRUNCATE_ILLEGAL_FK: "Cannot truncate a table referenced in a foreign key
        // constraint".
        matches!(error, Error::Database { code: Some(code), .. } if code == "1701")
    }

    fn push_counter_restart(&self, w: &mut SqlWriter, table: &str) {
        // Below the largest key in use, InnoDB takes the next one after it.
        w.push("ALTER TABLE ")
            .push_table_name(table)
            .push(" AUTO_INCREMENT = 1");
    }

    fn push_nulls_order(&self, w: &mut SqlWriter, column: &str, descending: bool, first: bool) {
        // No `NULLS FIRST`: order by whether the value is NULL (1 or 0) first.
        w.push_order_name(column)
            .push(if first {
                " IS NULL DESC, "
            } else {
                " IS NULL ASC, "
            })
            .push_order_name(column)
            .push(if descending { " DESC" } else { " ASC" });
    }

    fn has_nulls_clause(&self) -> bool {
        false
    }

    fn random_function(&self) -> &'static str {
        "RAND()"
    }

    fn ilike_operator(&self, negated: bool) -> &'static str {
        // Case-insensitive whatever the column's collation (`col COLLATE .. LIKE ?`).
        // A plain LIKE follows the column's collation: case-insensitive under MySQL's
        // default `_ci` ones, case-sensitive under `utf8mb4_bin` (test databases).
        if negated {
            "COLLATE utf8mb4_general_ci NOT LIKE"
        } else {
            "COLLATE utf8mb4_general_ci LIKE"
        }
    }

    // `like_escape_clause`: the default ` ESCAPE '\'` — one backslash, since the session
    // runs with NO_BACKSLASH_ESCAPES.

    fn push_json_path(&self, w: &mut SqlWriter, column: &str, path: &[&str], as_text: bool) {
        if path.is_empty() {
            w.push_qualified_name(column);
            return;
        }
        w.push(if as_text {
            "json_unquote(json_extract("
        } else {
            "json_extract("
        })
        .push_qualified_name(column)
        .push(", '");
        push_json_path_literal(w, path);
        w.push(if as_text { "'))" } else { "')" });
    }

    fn push_json_document_compared(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
    ) -> [&'static str; 2] {
        // Both sides through `json_extract`: JSON values MySQL compares as such, and on
        // MariaDB (JSON is text) the same printer's text for both.
        self.push_json_path(w, column, path, false);
        ["json_extract(", ", '$')"]
    }

    fn push_json_text(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        self.push_json_path(w, column, path, true);
    }

    fn push_json_has_path(&self, w: &mut SqlWriter, column: &str, path: &[&str], not: bool) {
        w.push(if not {
            "NOT IFNULL(json_contains_path("
        } else {
            "IFNULL(json_contains_path("
        })
        .push_qualified_name(column)
        .push(", 'one', '");
        push_json_path_literal(w, path);
        w.push("'), 0)");
    }

    fn push_json_null_check(&self, w: &mut SqlWriter, column: &str, path: &[&str], not: bool) {
        // A JSON `null` is the text `null` here, not NULL: test its type too (as
        // Laravel's MySQL grammar does).
        w.push("(");
        self.push_json_path(w, column, path, false);
        w.push(if not {
            " IS NOT NULL AND json_type("
        } else {
            " IS NULL OR json_type("
        });
        self.push_json_path(w, column, path, false);
        w.push(if not { ") <> 'NULL')" } else { ") = 'NULL')" });
    }

    fn push_json_set_close(&self, w: &mut SqlWriter, path: &[&str], json: String) {
        // `json_extract(?, '$')` reads the bound text as JSON (MariaDB has no CAST AS JSON).
        w.push(", '");
        push_json_path_literal(w, path);
        w.push("', json_extract(")
            .push_bind(Value::Text(json))
            .push(", '$'))");
    }

    fn json_set_makes_parents(&self) -> bool {
        false
    }

    fn push_json_parent_close(&self, w: &mut SqlWriter, column: &str, prefix: &[&str]) {
        w.push(", '");
        push_json_path_literal(w, prefix);
        w.push("', COALESCE(json_extract(")
            .push_qualified_name(column)
            .push(", '");
        push_json_path_literal(w, prefix);
        w.push("'), json_object()))");
    }

    fn push_json_order(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        // MySQL orders JSON values (numbers numerically); MariaDB, whose JSON is text,
        // orders the JSON text.
        self.push_json_path(w, column, path, false);
    }

    fn push_json_paths_compared(
        &self,
        w: &mut SqlWriter,
        first: (&str, &[&str]),
        op: &str,
        second: (&str, &[&str]),
    ) {
        // MariaDB's paths are text ("10" < "9"): two numbers are compared as numbers,
        // anything else as the paths' text.
        const NUMBERS: &str = "'INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL'";
        w.push("CASE WHEN json_type(");
        self.push_json_path(w, first.0, first.1, false);
        w.push(") IN (").push(NUMBERS).push(") AND json_type(");
        self.push_json_path(w, second.0, second.1, false);
        w.push(") IN (").push(NUMBERS).push(") THEN (");
        self.push_json_path(w, first.0, first.1, false);
        w.push(" + 0) ").push(op).push(" (");
        self.push_json_path(w, second.0, second.1, false);
        w.push(" + 0) ELSE ");
        self.push_json_path(w, first.0, first.1, true);
        w.push(" ").push(op).push(" ");
        self.push_json_path(w, second.0, second.1, true);
        w.push(" END");
    }

    fn push_json_compared(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
        scalar: JsonScalar,
    ) -> [&'static str; 2] {
        let types = match scalar {
            JsonScalar::Number => "'INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL'",
            JsonScalar::Boolean => "'BOOLEAN'",
        };
        // Only where the JSON holds a number (a boolean): MySQL would read the text
        // "abc" as 0, and the text "true" as the boolean.
        w.push("CASE WHEN json_type(");
        self.push_json_path(w, column, path, false);
        w.push(") IN (").push(types).push(") THEN ");
        self.push_json_path(w, column, path, true);
        w.push(" END");
        match scalar {
            JsonScalar::Boolean => ["IF(", ", 'true', 'false')"],
            // A decimal is bound as its text, which the path's text would be compared
            // with as text ('9' > '10.5'): `+ 0` makes it a number.
            JsonScalar::Number => ["(", " + 0)"],
        }
    }

    #[cfg(feature = "json")]
    fn push_json_contains(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
        value: serde_json::Value,
    ) {
        w.push("json_contains(")
            .push_qualified_name(column)
            .push(", ")
            .push_bind(Value::Json(value));
        if !path.is_empty() {
            w.push(", '");
            push_json_path_literal(w, path);
            w.push("'");
        }
        w.push(")");
    }

    fn push_json_length(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        push_json_function(w, "json_length(", column, path);
    }

    fn push_date_part(&self, w: &mut SqlWriter, part: DatePart, column: &str) {
        // DATETIME values are stored as UTC wall-clock time (the session's zone is UTC).
        let (function, suffix) = match part {
            DatePart::Date => ("DATE(", ")"),
            DatePart::Year => ("YEAR(", ")"),
            DatePart::Month => ("MONTH(", ")"),
            DatePart::Day => ("DAYOFMONTH(", ")"),
            // TIME(col) keeps the fraction; the text form drops it, as SQLite's does.
            DatePart::Time => ("TIME_FORMAT(", ", '%H:%i:%s')"),
        };
        w.push(function).push_qualified_name(column).push(suffix);
    }

    fn float_cast(&self) -> (&'static str, &'static str) {
        // SUM/AVG of integers are DECIMAL: adding a DOUBLE zero makes them DOUBLE
        // (CAST(.. AS DOUBLE) needs MySQL 8.0.17 / MariaDB 10.4.5).
        ("(", " + 0E0)")
    }

    fn lock_clause(&self, mode: LockMode) -> &'static str {
        match mode {
            LockMode::Update => " FOR UPDATE",
            // FOR SHARE is MySQL 8 only; this spelling works on MySQL and MariaDB.
            LockMode::Share => " LOCK IN SHARE MODE",
        }
    }

    fn push_insert_or_ignore(&self, w: &mut SqlWriter, first_column: &str) {
        // Not `INSERT IGNORE`: that also turns other errors into warnings and stores a
        // truncated or default value. Assigning a column to itself changes no row.
        w.push(" ON DUPLICATE KEY UPDATE ")
            .push_identifier(first_column)
            .push(" = ")
            .push_identifier(first_column);
    }

    fn push_upsert(&self, w: &mut SqlWriter, unique_by: &[&str], update: &[&str]) {
        // MySQL finds the conflicting unique key itself; `unique_by` only serves the
        // "do nothing" form, which assigns a key column to itself.
        w.push(" ON DUPLICATE KEY UPDATE ");
        if update.is_empty() {
            match unique_by.first() {
                Some(column) => {
                    w.push_identifier(column)
                        .push(" = ")
                        .push_identifier(column);
                }
                None => {
                    w.fail(Error::invalid_query(
                        InvalidQueryKind::Rows,
                        "an upsert needs at least one unique column",
                    ));
                }
            }
            return;
        }
        for (i, column) in update.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_identifier(column)
                .push(" = VALUES(")
                .push_identifier(column)
                .push(")");
        }
    }

    fn translate_placeholders<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        if sql.contains("??") {
            Cow::Owned(rewrite_question_marks(sql, |out, _| out.push('?')))
        } else {
            Cow::Borrowed(sql)
        }
    }
}

impl super::StatementGrammar for MysqlDialect {
    fn default_values_clause(&self) -> &'static str {
        " () VALUES ()"
    }
}

impl SchemaGrammar for MysqlDialect {
    fn refused_drop(&self, error: &Error) -> Option<super::schema_grammar::ReferencingTables> {
        // MariaDB: 1451, reported as a foreign key violation with no columns; MySQL 8: 3730.
        let refused = match error {
            Error::ForeignKeyViolation { columns, .. } => columns.is_empty(),
            Error::Database {
                code: Some(code), ..
            } => code == "3730",
            _ => false,
        };
        refused.then_some(super::schema_grammar::ReferencingTables::Query(
            "SELECT DISTINCT TABLE_NAME AS name FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = ? AND TABLE_NAME <> ?",
        ))
    }

    fn drop_all_tables_around(&self) -> Option<(&'static str, &'static str)> {
        Some((
            "SET @orm_foreign_key_checks = @@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS = 0",
            "SET FOREIGN_KEY_CHECKS = @orm_foreign_key_checks",
        ))
    }

    fn push_column_type(&self, w: &mut SqlWriter, column: &ColumnDef) {
        if column.auto_increment && column.kind.is_integer() {
            // Every generated key is BIGINT, so that the usual foreign key column
            // (`big_integer(..)`, unsigned or not) has exactly its type, as InnoDB
            // requires of a foreign key.
            w.push("BIGINT");
            return;
        }
        let name = match &column.kind {
            ColumnType::TinyInteger => "TINYINT",
            ColumnType::SmallInteger => "SMALLINT",
            ColumnType::MediumInteger => "MEDIUMINT",
            // `integer` is BIGINT too: an integer foreign key column then has the exact
            // type of the `increments` key it references, as InnoDB requires.
            ColumnType::Integer | ColumnType::BigInteger => "BIGINT",
            ColumnType::Float => "FLOAT",
            ColumnType::Double => "DOUBLE",
            ColumnType::Decimal { precision, scale } => {
                w.push(&format!("DECIMAL({precision}, {scale})"));
                return;
            }
            ColumnType::Boolean => "TINYINT(1)",
            ColumnType::Text => "TEXT",
            ColumnType::MediumText => "MEDIUMTEXT",
            ColumnType::LongText => "LONGTEXT",
            ColumnType::Json | ColumnType::Jsonb => "JSON",
            // Microseconds, as the other backends keep them; no TIMESTAMP (it ends in
            // 2038 and converts to the session's zone).
            ColumnType::DateTime | ColumnType::Timestamp | ColumnType::TimestampTz => "DATETIME(6)",
            ColumnType::Time => "TIME(6)",
            ColumnType::Binary => "LONGBLOB",
            ColumnType::Uuid => "CHAR(36)",
            other => return push_shared_column_type(w, column, other),
        };
        w.push(name);
    }

    fn names_unsigned_checks(&self) -> bool {
        // A CHECK, as on PostgreSQL, rather than UNSIGNED types: a foreign key column
        // must have its key's exact type and sign, and `big_integer("user_id")` with or
        // without `unsigned()` should both reference an `increments` key (BIGINT).
        // A named table constraint rather than the column's own CHECK: that one only
        // goes by restating the column (MODIFY, which needs its live definition), and
        // it must go before a foreign key that writes the column is added; a named one
        // goes by name, and MODIFY (`change()`) keeps it.
        true
    }

    fn refuses_checks_on_written_columns(&self) -> bool {
        // Error 1901 (MariaDB), 3823 (MySQL): cascades and SET NULL run inside InnoDB,
        // which would not evaluate the CHECK, so the server refuses the pair.
        true
    }

    fn inline_auto_increment(&self) -> &'static str {
        " AUTO_INCREMENT"
    }

    fn transactional_ddl(&self) -> bool {
        // Each DDL statement commits implicitly (and ends savepoints).
        false
    }

    fn current_timestamp_default(&self, _kind: &ColumnType) -> &'static str {
        // The default's precision must match DATETIME(6)'s.
        "CURRENT_TIMESTAMP(6)"
    }

    fn push_rename_index(&self, w: &mut SqlWriter, table: &str, from: &str, to: &str) {
        w.push("ALTER TABLE ")
            .push_table_name(table)
            .push(" RENAME INDEX ")
            .push_constraint_name(from)
            .push(" TO ")
            .push_constraint_name(to);
    }

    fn push_change_column(&self, w: &mut SqlWriter, column: &ColumnDef) {
        // MODIFY restates the whole column: type, nullability and default.
        w.push("MODIFY COLUMN ")
            .push_identifier(&column.name)
            .push(" ");
        self.push_column_type(w, column);
        w.push(if column.nullable {
            " NULL"
        } else {
            " NOT NULL"
        });
        if column.auto_increment {
            // An auto-increment key stays one (MODIFY would drop AUTO_INCREMENT unless
            // restated) and stays the primary key (indexes are not MODIFY's business;
            // restating PRIMARY KEY would declare a second one).
            w.push(" AUTO_INCREMENT");
            return;
        }
        if let Some(default) = &column.default {
            w.push(" DEFAULT ");
            push_default(w, column, default);
        }
        self.push_column_options(w, column);
        // MODIFY drops the column's own CHECK: an enum's list is restated, the new one.
        push_enum_check(w, column);
        self.push_column_position(w, column);
    }

    fn push_column_options(&self, w: &mut SqlWriter, column: &ColumnDef) {
        if column.use_current_on_update {
            w.push(" ON UPDATE ")
                .push(self.current_timestamp_default(&column.kind));
        }
        if let Some(comment) = &column.comment {
            w.push(" COMMENT ")
                .push_literal(&crate::value::Value::Text(comment.clone()));
        }
    }

    fn push_column_position(&self, w: &mut SqlWriter, column: &ColumnDef) {
        if column.first {
            w.push(" FIRST");
        } else if let Some(after) = &column.after {
            w.push(" AFTER ").push_identifier(after);
        }
    }

    fn push_drop_index(&self, w: &mut SqlWriter, table: &str, name: &str) {
        w.push("DROP INDEX ")
            .push_constraint_name(name)
            .push(" ON ")
            .push_identifier(table);
    }

    fn push_drop_primary(&self, w: &mut SqlWriter, _name: &str) {
        w.push("DROP PRIMARY KEY");
    }

    fn push_drop_foreign(&self, w: &mut SqlWriter, name: &str) {
        w.push("DROP FOREIGN KEY ").push_constraint_name(name);
    }

    fn has_table_query(&self) -> &'static str {
        "SELECT 1 FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_name = ? AND table_type = 'BASE TABLE'"
    }

    fn column_listing_query(&self) -> &'static str {
        "SELECT column_name AS name FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
    }

    fn columns_query(&self) -> &'static str {
        // MariaDB reports an implicit `DEFAULT NULL` as the text NULL (a string default
        // is quoted), so NULLIF turns it back into "no default".
        "SELECT c.column_name AS name, c.column_type AS type, \
         CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END AS not_null, \
         NULLIF(c.column_default, 'NULL') AS `default`, \
         COALESCE(k.ordinal_position, 0) AS pk, \
         CASE WHEN c.extra LIKE '%auto_increment%' THEN 1 ELSE 0 END AS auto_increment \
         FROM information_schema.columns c \
         LEFT JOIN information_schema.key_column_usage k \
         ON k.table_schema = c.table_schema AND k.table_name = c.table_name \
         AND k.column_name = c.column_name AND k.constraint_name = 'PRIMARY' \
         WHERE c.table_schema = DATABASE() AND c.table_name = ? ORDER BY c.ordinal_position"
    }

    fn indexes_query(&self) -> &'static str {
        "SELECT index_name AS name, column_name AS `column`, \
         CASE WHEN non_unique = 0 THEN 1 ELSE 0 END AS `unique` \
         FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = ? AND index_name <> 'PRIMARY' \
         AND column_name IS NOT NULL ORDER BY index_name, seq_in_index"
    }

    fn foreign_keys_query(&self) -> &'static str {
        "SELECT k.constraint_name AS id, k.constraint_name AS name, k.column_name AS `column`, \
         k.referenced_table_name AS foreign_table, k.referenced_column_name AS foreign_column, \
         r.update_rule AS on_update, r.delete_rule AS on_delete \
         FROM information_schema.key_column_usage k \
         JOIN information_schema.referential_constraints r \
         ON r.constraint_schema = k.constraint_schema AND r.constraint_name = k.constraint_name \
         AND r.table_name = k.table_name \
         WHERE k.table_schema = DATABASE() AND k.table_name = ? \
         AND k.referenced_table_name IS NOT NULL ORDER BY k.constraint_name, k.ordinal_position"
    }

    fn table_listing_query(&self) -> &'static str {
        "SELECT table_name AS name FROM information_schema.tables \
         WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name"
    }

    fn view_listing_query(&self) -> &'static str {
        "SELECT table_name AS name FROM information_schema.views \
         WHERE table_schema = DATABASE() ORDER BY table_name"
    }
}
