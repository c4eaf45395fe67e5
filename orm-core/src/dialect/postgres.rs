use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::error::{Error, InvalidQueryKind, Result};
use crate::value::Value;

use super::ddl::{
    has_column_check, push_default, push_enum_check, push_non_negative_check,
    push_shared_column_type,
};
use super::schema::{ColumnDef, ColumnType};
use super::{
    push_quoted_text, rewrite_question_marks, Backend, DatePart, Dialect, JsonScalar,
    SchemaGrammar, SqlWriter,
};

/// SQL syntax of PostgreSQL.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn push_placeholder(&self, out: &mut String, index: usize) {
        use std::fmt::Write;
        let _ = write!(out, "${index}");
    }

    fn max_identifier_len(&self) -> usize {
        // NAMEDATALEN - 1: longer names would be truncated silently.
        63
    }

    fn max_bind_params(&self) -> usize {
        65535
    }

    fn nulls_sort_first(&self) -> bool {
        false
    }

    fn advisory_lock(&self, key: i32) -> Option<(String, String)> {
        // Scoped to the current schema, so migrators of different schemas do not wait.
        Some((
            format!("SELECT pg_advisory_lock({key}, hashtext(current_schema()))"),
            format!("SELECT pg_advisory_unlock({key}, hashtext(current_schema()))"),
        ))
    }

    fn push_create_and_use_schema(&self, w: &mut SqlWriter, name: &str) {
        w.push("CREATE SCHEMA ")
            .push_identifier(name)
            .push("; SET search_path TO ")
            .push_identifier(name);
    }

    fn push_drop_schema(&self, w: &mut SqlWriter, name: &str) {
        w.push("DROP SCHEMA IF EXISTS ")
            .push_identifier(name)
            .push(" CASCADE");
    }

    fn like_subject_cast(&self) -> &'static str {
        "::text"
    }

    fn like_escape_clause(&self) -> &'static str {
        // An E'' string means one backslash whatever `standard_conforming_strings` says.
        " ESCAPE E'\\\\'"
    }

    fn push_json_path(&self, w: &mut SqlWriter, column: &str, path: &[&str], as_text: bool) {
        if path.is_empty() {
            w.push_qualified_name(column);
            return;
        }
        w.push("(").push_qualified_name(column);
        for (i, key) in path.iter().enumerate() {
            w.push(if as_text && i == path.len() - 1 {
                "->>"
            } else {
                "->"
            });
            // The keys are letters, digits and underscores: nothing to escape.
            if key.bytes().all(|b| b.is_ascii_digit()) {
                w.push(key);
            } else {
                w.push("'").push(key).push("'");
            }
        }
        w.push(")");
    }

    /// PostgreSQL refuses to lock the nullable side of an outer join (0A000): the rows of
    /// the query's own table are locked (`FOR UPDATE OF "users"`).
    fn push_lock_of(&self, w: &mut SqlWriter, table: &str) {
        let name = table.rsplit('.').next().unwrap_or(table);
        w.push(" OF ").push_identifier(name);
    }

    fn push_json_set_open(&self, w: &mut SqlWriter) {
        w.push("jsonb_set((");
    }

    fn push_json_set_close(&self, w: &mut SqlWriter, path: &[&str], json: String) {
        // The keys are letters, digits and underscores: a text array literal as it is.
        w.push(")::jsonb, '{")
            .push(&path.join(","))
            .push("}', ")
            .push_bind(Value::Text(json))
            .push("::jsonb)");
    }

    fn json_set_makes_parents(&self) -> bool {
        false
    }

    fn push_json_parent_close(&self, w: &mut SqlWriter, column: &str, prefix: &[&str]) {
        let path = prefix.join(",");
        w.push(")::jsonb, '{")
            .push(&path)
            .push("}', COALESCE((")
            .push_qualified_name(column)
            .push(")::jsonb #> '{")
            .push(&path)
            .push("}', '{}'::jsonb))");
    }

    fn push_json_order(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        // jsonb orders numbers numerically (`->>` text would put 10 before 9).
        w.push("(");
        self.push_json_path(w, column, path, false);
        w.push(")::jsonb");
    }

    fn boolean_aggregate(&self, function: &'static str) -> &'static str {
        // PostgreSQL has no MAX(boolean): true is the larger, so `bool_or` is MAX.
        match function {
            "MAX" => "bool_or",
            "MIN" => "bool_and",
            other => other,
        }
    }

    fn push_json_paths_compared(
        &self,
        w: &mut SqlWriter,
        first: (&str, &[&str]),
        op: &str,
        second: (&str, &[&str]),
    ) {
        // `->>` gives text ("10" < "9"); jsonb compares numbers as numbers, strings as
        // strings (and orders different types by type).
        w.push("(");
        self.push_json_path(w, first.0, first.1, false);
        w.push(")::jsonb ").push(op).push(" (");
        self.push_json_path(w, second.0, second.1, false);
        w.push(")::jsonb");
    }

    fn push_json_compared(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
        scalar: JsonScalar,
    ) -> [&'static str; 2] {
        let (json_type, cast) = match scalar {
            JsonScalar::Number => ("number", "::numeric"),
            JsonScalar::Boolean => ("boolean", "::boolean"),
        };
        // Only where the JSON holds a number (a boolean): casting the text of a string
        // there would fail the whole statement. Other rows compare as NULL.
        w.push("CASE WHEN jsonb_typeof((");
        self.push_json_path(w, column, path, false);
        w.push(")::jsonb) = '").push(json_type).push("' THEN (");
        self.push_json_path(w, column, path, true);
        w.push(")").push(cast).push(" END");
        ["", ""]
    }

    #[cfg(feature = "json")]
    fn push_json_contains(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
        value: serde_json::Value,
    ) {
        if value.is_object() {
            // `@>` finds an object inside an array only when it is wrapped in one
            // (`[{"k": "b"}]`); a document holding it as a sub-document matches as is.
            w.push("((");
            self.push_json_path(w, column, path, false);
            w.push(")::jsonb @> ")
                .push_bind(Value::Json(value.clone()))
                .push(" OR (");
            self.push_json_path(w, column, path, false);
            w.push(")::jsonb @> ")
                .push_bind(Value::Json(serde_json::Value::Array(vec![value])))
                .push(")");
            return;
        }
        w.push("(");
        self.push_json_path(w, column, path, false);
        w.push(")::jsonb @> ").push_bind(Value::Json(value));
    }

    fn push_json_document_compared(
        &self,
        w: &mut SqlWriter,
        column: &str,
        path: &[&str],
    ) -> [&'static str; 2] {
        // `jsonb` equality: structural, whatever the spacing or key order stored.
        w.push("(");
        self.push_json_path(w, column, path, false);
        w.push(")::jsonb");
        ["CAST(", " AS jsonb)"]
    }

    fn push_json_text(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        self.push_json_path(w, column, path, true);
    }

    fn push_json_has_path(&self, w: &mut SqlWriter, column: &str, path: &[&str], not: bool) {
        // A jsonpath of plain keys and indexes (`$."a"[0]`); NULL for a NULL document.
        w.push(if not {
            "NOT COALESCE(jsonb_path_exists("
        } else {
            "COALESCE(jsonb_path_exists("
        })
        .push_qualified_name(column)
        .push("::jsonb, 'strict ");
        // Strict: an index of an object is not its first element (as on SQLite); the
        // structural errors that makes are silent (the last argument).
        super::push_json_path_literal(w, path);
        w.push("', '{}', TRUE), FALSE)");
    }

    fn push_json_length(&self, w: &mut SqlWriter, column: &str, path: &[&str]) {
        w.push("jsonb_array_length((");
        self.push_json_path(w, column, path, false);
        w.push(")::jsonb)");
    }

    fn push_date_part(&self, w: &mut SqlWriter, part: DatePart, column: &str) {
        // A TIMESTAMPTZ's parts follow the session's TimeZone: take them from its UTC
        // wall-clock time (what the ORM wrote) instead. The column's type is not known
        // here, so it is tested per row; both branches type-check for date, timestamp,
        // timestamptz and text. EXTRACT returns NUMERIC (PostgreSQL 14+): cast so the
        // part compares and reads as an integer.
        let (prefix, middle, suffix) = match part {
            DatePart::Time => return push_time_of_day(w, column),
            DatePart::Date => ("CAST(", " AT TIME ZONE 'UTC' AS DATE)", " AS DATE)"),
            DatePart::Year => (
                "CAST(EXTRACT(YEAR FROM ",
                " AT TIME ZONE 'UTC') AS INTEGER)",
                ") AS INTEGER)",
            ),
            DatePart::Month => (
                "CAST(EXTRACT(MONTH FROM ",
                " AT TIME ZONE 'UTC') AS INTEGER)",
                ") AS INTEGER)",
            ),
            DatePart::Day => (
                "CAST(EXTRACT(DAY FROM ",
                " AT TIME ZONE 'UTC') AS INTEGER)",
                ") AS INTEGER)",
            ),
        };
        w.push("CASE WHEN pg_typeof(")
            .push_qualified_name(column)
            .push(") = 'timestamptz'::regtype THEN ")
            .push(prefix)
            .push("CAST(")
            .push_qualified_name(column)
            .push(" AS TIMESTAMPTZ)")
            .push(middle)
            .push(" ELSE ")
            .push(prefix)
            .push("CAST(")
            .push_qualified_name(column)
            .push(" AS TIMESTAMP)")
            .push(suffix)
            .push(" END");
    }

    /// One array parameter (` = ANY($1)`, ` <> ALL($1)`) whatever the list's length: one
    /// prepared statement serves every length, and long lists bind and plan faster.
    fn push_in_list(&self, w: &mut SqlWriter, values: Vec<Value>, not: bool) {
        w.push(if not { " <> ALL(" } else { " = ANY(" })
            .push_bind(Value::Array(values))
            .push(")");
    }

    fn push_truncate(&self, w: &mut SqlWriter, table: &str) {
        w.push("TRUNCATE TABLE ")
            .push_table_name(table)
            .push(" RESTART IDENTITY");
    }

    fn truncate_refused(&self, error: &Error) -> bool {
        // 0A000 is "feature not supported", this among other refusals.
        matches!(error, Error::Database { code: Some(code), message, .. }
            if code == "0A000" && message.contains("referenced in a foreign key"))
    }

    fn push_counter_restart(&self, w: &mut SqlWriter, table: &str) {
        // Every sequence a column of the table owns (serial and identity keys), by the
        // table's quoted name, which `regclass` and `pg_get_serial_sequence` parse.
        let mut quoted = String::new();
        for (i, part) in table.split('.').enumerate() {
            if i > 0 {
                quoted.push('.');
            }
            if let Err(e) = self.push_identifier(&mut quoted, part) {
                w.fail(e);
            }
        }
        w.push("SELECT setval(s.seq, 1, false) FROM (SELECT pg_get_serial_sequence(")
            .push_bind(Value::Text(quoted.clone()))
            .push(", a.attname) AS seq FROM pg_attribute a WHERE a.attrelid = CAST(")
            .push_bind(Value::Text(quoted))
            .push(
                " AS regclass) AND a.attnum > 0 AND NOT a.attisdropped) s WHERE s.seq IS NOT NULL",
            );
    }

    fn push_bytes_literal(&self, out: &mut String, hex: &str) {
        out.push_str("'\\x");
        out.push_str(hex);
        out.push_str("'::bytea");
    }

    fn push_utc_literal(&self, out: &mut String, value: &DateTime<Utc>) -> Result<()> {
        push_quoted_text(out, &value.to_rfc3339())
    }

    fn has_array_literals(&self) -> bool {
        true
    }

    fn translate_placeholders<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        if sql.contains('?') {
            Cow::Owned(rewrite_question_marks(sql, |out, i| {
                self.push_placeholder(out, i)
            }))
        } else {
            Cow::Borrowed(sql)
        }
    }
}

impl super::StatementGrammar for PostgresDialect {}

impl SchemaGrammar for PostgresDialect {
    fn current_timestamp_default(&self, kind: &ColumnType) -> &'static str {
        match kind {
            // A TIMESTAMP holds the UTC time the ORM writes and reads; CURRENT_TIMESTAMP
            // would store the local time of whichever session inserts the row.
            ColumnType::DateTime => "(CURRENT_TIMESTAMP AT TIME ZONE 'UTC')",
            _ => "CURRENT_TIMESTAMP",
        }
    }

    fn refused_drop(&self, error: &Error) -> Option<super::schema_grammar::ReferencingTables> {
        // 2BP01, with one detail line per dependent object: `constraint posts_user_id_fkey
        // on table posts depends on table users`.
        let Error::Database {
            code: Some(code),
            message,
            ..
        } = error
        else {
            return None;
        };
        if code != "2BP01" {
            return None;
        }
        let mut tables: Vec<String> = Vec::new();
        let mut parts: Vec<&str> = message.split(" depends on table ").collect();
        parts.pop();
        for part in parts {
            let Some(at) = part.rfind(" on table ") else {
                continue;
            };
            let name = part[at + " on table ".len()..].trim().trim_matches('"');
            if !name.is_empty() && !tables.iter().any(|t| t == name) {
                tables.push(name.to_owned());
            }
        }
        (!tables.is_empty()).then_some(super::schema_grammar::ReferencingTables::Named(tables))
    }

    fn push_column_comment(&self, w: &mut SqlWriter, table: &str, column: &ColumnDef) {
        if let Some(comment) = &column.comment {
            w.push("COMMENT ON COLUMN ")
                .push_identifier(table)
                .push(".")
                .push_identifier(&column.name)
                .push(" IS ")
                .push_literal(&Value::Text(comment.clone()));
        }
    }

    fn push_column_type(&self, w: &mut SqlWriter, column: &ColumnDef) {
        let serial = column.auto_increment;
        let name = match &column.kind {
            ColumnType::TinyInteger | ColumnType::SmallInteger if serial => "SMALLSERIAL",
            ColumnType::MediumInteger | ColumnType::Integer if serial => "SERIAL",
            ColumnType::BigInteger if serial => "BIGSERIAL",
            kind if kind.is_integer() => integer_type(kind),
            ColumnType::Float => "REAL",
            ColumnType::Double => "DOUBLE PRECISION",
            ColumnType::Json => "JSON",
            ColumnType::Jsonb => "JSONB",
            ColumnType::DateTime => "TIMESTAMP",
            ColumnType::Timestamp | ColumnType::TimestampTz => "TIMESTAMPTZ",
            ColumnType::Binary => "BYTEA",
            ColumnType::Uuid => "UUID",
            other => return push_shared_column_type(w, column, other),
        };
        w.push(name);
    }

    fn push_unsigned_check(&self, w: &mut SqlWriter, column: &ColumnDef) {
        // No unsigned types: a CHECK keeps the promise (a serial is positive already).
        push_non_negative_check(w, column);
    }

    fn drop_if_exists_suffix(&self) -> &'static str {
        // Dropping every table (fresh) must not stop at foreign keys between them.
        " CASCADE"
    }

    fn push_change_column(&self, w: &mut SqlWriter, column: &ColumnDef) {
        if column.auto_increment {
            // A serial (or identity) column changes its integer type only: its default
            // (`nextval` of the sequence it owns) stays; the sequence follows in
            // `push_after_change_column`. SERIAL is no type: the base type is written.
            if column.default.is_some() {
                w.fail(Error::invalid_query(
                    InvalidQueryKind::Schema,
                    format!(
                        "column `{}`: an auto-increment column takes no default",
                        column.name
                    ),
                ));
            }
            let base = integer_type(&column.kind);
            w.push("ALTER COLUMN ")
                .push_identifier(&column.name)
                .push(" TYPE ")
                .push(base)
                .push(" USING ")
                .push_identifier(&column.name)
                .push("::")
                .push(base)
                .push(", ALTER COLUMN ")
                .push_identifier(&column.name)
                .push(" SET NOT NULL");
            return;
        }
        // The old default first: PostgreSQL casts it to the new type otherwise, and
        // refuses the change when it cannot (a text default on a column turned integer).
        w.push("ALTER COLUMN ")
            .push_identifier(&column.name)
            .push(" DROP DEFAULT, ALTER COLUMN ")
            .push_identifier(&column.name)
            .push(" TYPE ");
        self.push_column_type(w, column);
        // An explicit cast converts what PostgreSQL would not convert by itself (text to
        // integer), but to a shorter `VARCHAR(n)`/`CHAR(n)` it cuts the text off without
        // a word: to text the assignment cast applies, which refuses a value too long.
        let textual = matches!(
            column.kind,
            ColumnType::String { .. }
                | ColumnType::Char { .. }
                | ColumnType::Text
                | ColumnType::MediumText
                | ColumnType::LongText
        );
        if !textual {
            w.push(" USING ").push_identifier(&column.name).push("::");
            self.push_column_type(w, column);
        }
        w.push(", ALTER COLUMN ").push_identifier(&column.name);
        w.push(if column.nullable {
            " DROP NOT NULL"
        } else {
            " SET NOT NULL"
        });
        if let Some(default) = &column.default {
            w.push(", ALTER COLUMN ")
                .push_identifier(&column.name)
                .push(" SET DEFAULT ");
            push_default(w, column, default);
        }
    }

    fn push_after_change_column(&self, w: &mut SqlWriter, table: &str, column: &ColumnDef) {
        if !column.auto_increment {
            if has_column_check(column) {
                // ALTER COLUMN keeps the column's old CHECK (an enum's old list): it is
                // replaced, under the name PostgreSQL gave the one the column was
                // created with.
                let bare = table.rsplit('.').next().unwrap_or(table);
                let name = format!("{bare}_{}_check", column.name);
                w.push("ALTER TABLE ")
                    .push_table_name(table)
                    .push(" DROP CONSTRAINT IF EXISTS ")
                    .push_identifier(&name)
                    .push(", ADD CONSTRAINT ")
                    .push_identifier(&name);
                push_enum_check(w, column);
                push_non_negative_check(w, column);
            }
            return;
        }
        // A serial's sequence keeps the type it was created with (INTEGER for SERIAL:
        // it stops at 2^31 - 1 whatever the column's type). Its name is the server's to
        // find (`pg_get_serial_sequence`), so the statement is the same whatever the
        // catalog holds (a migration's checksum is of its SQL): a block that alters the
        // sequence the column owns, if any (an identity column's sequence has followed
        // the column's type already; altering it again changes nothing). `ALTER
        // SEQUENCE .. AS` moves the bounds that were the old type's to the new one's.
        let mut quoted_table = SqlWriter::new(w.dialect());
        quoted_table.push_identifier(table);
        let quoted_table = match quoted_table.finish() {
            Ok((sql, _)) => sql,
            Err(e) => {
                w.fail(e);
                return;
            }
        };
        let mut body = SqlWriter::new(w.dialect());
        body.push("DECLARE s text := pg_get_serial_sequence(")
            .push_literal(&Value::Text(quoted_table))
            .push(", ")
            .push_literal(&Value::Text(column.name.clone()))
            .push("); BEGIN IF s IS NOT NULL THEN EXECUTE format(")
            .push_literal(&Value::Text(format!(
                "ALTER SEQUENCE %s AS {}",
                integer_type(&column.kind)
            )))
            .push(", s); END IF; END");
        match body.finish() {
            Ok((body, _)) => {
                w.push("DO ").push_literal(&Value::Text(body));
            }
            Err(e) => {
                w.fail(e);
            }
        }
    }

    fn has_table_query(&self) -> &'static str {
        "SELECT 1 FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name = ? AND table_type = 'BASE TABLE'"
    }

    fn column_listing_query(&self) -> &'static str {
        "SELECT column_name::text AS name FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position"
    }

    fn columns_query(&self) -> &'static str {
        "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, \
         CASE WHEN a.attnotnull THEN 1 ELSE 0 END AS not_null, \
         pg_get_expr(d.adbin, d.adrelid) AS \"default\", \
         CASE WHEN a.attnum = ANY(i.indkey) THEN array_position(i.indkey::int2[], a.attnum) \
         - array_lower(i.indkey::int2[], 1) + 1 ELSE 0 END::int8 AS pk, \
         CASE WHEN a.attidentity <> '' OR pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%' \
         THEN 1 ELSE 0 END AS auto_increment \
         FROM pg_attribute a \
         JOIN pg_class c ON c.oid = a.attrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary \
         WHERE n.nspname = current_schema() AND c.relname::text = ? AND c.relkind = 'r' \
         AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    }

    fn indexes_query(&self) -> &'static str {
        "SELECT ic.relname::text AS name, a.attname::text AS \"column\", \
         CASE WHEN i.indisunique THEN 1 ELSE 0 END AS \"unique\" \
         FROM pg_index i \
         JOIN pg_class c ON c.oid = i.indrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_class ic ON ic.oid = i.indexrelid \
         CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position) \
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
         WHERE n.nspname = current_schema() AND c.relname::text = ? AND NOT i.indisprimary \
         ORDER BY ic.relname, k.position"
    }

    fn foreign_keys_query(&self) -> &'static str {
        "SELECT con.conname::text AS id, con.conname::text AS name, \
         a.attname::text AS \"column\", ft.relname::text AS foreign_table, \
         fa.attname::text AS foreign_column, \
         CASE con.confupdtype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' \
         WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END AS on_update, \
         CASE con.confdeltype WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' \
         WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' ELSE 'NO ACTION' END AS on_delete \
         FROM pg_constraint con \
         JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_class ft ON ft.oid = con.confrelid \
         CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, fattnum, position) \
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
         JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = k.fattnum \
         WHERE con.contype = 'f' AND n.nspname = current_schema() AND c.relname::text = ? \
         ORDER BY con.conname, k.position"
    }

    fn table_listing_query(&self) -> &'static str {
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name"
    }

    fn view_listing_query(&self) -> &'static str {
        "SELECT table_name::text AS name FROM information_schema.views \
         WHERE table_schema = current_schema() ORDER BY table_name"
    }

    fn primary_key_name_query(&self) -> Option<&'static str> {
        Some(
            "SELECT constraint_name::text AS name FROM information_schema.table_constraints \
             WHERE table_schema = current_schema() AND table_name = ? \
             AND constraint_type = 'PRIMARY KEY'",
        )
    }
}

/// The integer type of an integer column kind (a serial's base type).
fn integer_type(kind: &ColumnType) -> &'static str {
    match kind {
        ColumnType::TinyInteger | ColumnType::SmallInteger => "SMALLINT",
        ColumnType::BigInteger => "BIGINT",
        _ => "INTEGER",
    }
}

/// `where_time`'s operand: the time of day to the second, as `HH:MM:SS` text, of a
/// timestamptz (its UTC time), timestamp, time or text column. The branches go through
/// text because a time column cannot be cast to a timestamp (nor the reverse), and both
/// branches of a `CASE` must type-check for the column's type.
fn push_time_of_day(w: &mut SqlWriter, column: &str) {
    w.push("CASE WHEN pg_typeof(")
        .push_qualified_name(column)
        .push(") = 'timestamptz'::regtype THEN to_char(CAST(CAST(")
        .push_qualified_name(column)
        .push(" AS TEXT) AS TIMESTAMPTZ) AT TIME ZONE 'UTC', 'HH24:MI:SS') ELSE to_char(CAST(CAST(")
        .push_qualified_name(column)
        .push(" AS TEXT) AS TIME), 'HH24:MI:SS') END");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::ReferencingTables;

    #[test]
    fn a_refused_drop_names_every_referencing_table_once() {
        let error = Error::Database {
            message: "cannot drop table users because other objects depend on it \
                      (constraint posts_user_id_fkey on table posts depends on table users\n\
                      constraint notes_user_id_fkey on table \"Notes\" depends on table users\n\
                      constraint posts_editor_fkey on table posts depends on table users)"
                .into(),
            code: Some("2BP01".into()),
            sql: None,
            source: None,
        };
        match PostgresDialect.refused_drop(&error) {
            Some(ReferencingTables::Named(tables)) => assert_eq!(tables, ["posts", "Notes"]),
            other => panic!("{other:?}"),
        }
        let other = Error::Database {
            message: "syntax error".into(),
            code: Some("42601".into()),
            sql: None,
            source: None,
        };
        assert!(PostgresDialect.refused_drop(&other).is_none());
    }
}
