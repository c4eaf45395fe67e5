use std::borrow::Cow;

use super::ddl::push_shared_column_type;
use super::schema::{
    sqlite_pragmas, AlterCommand, ColumnDef, ColumnDefault, ColumnType, IndexKind,
};
use super::{
    push_like_pattern, rewrite_question_marks, text_match_pattern, Backend, DatePart, Dialect,
    ForeignKeySwitch, IsolationLevel, LockMode, LockWait, SchemaGrammar, SqlWriter, TextMatch,
};
use crate::value::Value;

/// SQLITE_MAX_LIKE_PATTERN_LENGTH of the bundled library (a compile-time maximum that the
/// runtime limit cannot raise): longer patterns fail with "LIKE or GLOB pattern too complex".
const MAX_LIKE_PATTERN_LEN: usize = 50_000;

/// SQL syntax of SQLite.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn json_contains_needs_table(&self, column: &str) -> bool {
        // `json_each`'s columns, hidden ones included.
        const OWN: [&str; 10] = [
            "key", "value", "type", "atom", "id", "parent", "fullkey", "path", "json", "root",
        ];
        OWN.iter().any(|own| own.eq_ignore_ascii_case(column))
    }

    fn push_placeholder(&self, out: &mut String, _index: usize) {
        out.push('?');
    }

    fn max_identifier_len(&self) -> usize {
        // SQLite has no limit of its own; keep names portable and sane.
        1024
    }

    fn limits_key_lookups(&self) -> bool {
        false
    }

    fn max_bind_params(&self) -> usize {
        32766
    }

    fn begin_transaction(&self) -> &'static str {
        // Take the write lock up front so concurrent writers wait (busy timeout)
        // instead of failing with SQLITE_BUSY when a read lock is upgraded.
        "BEGIN IMMEDIATE"
    }

    fn begin_transaction_at(&self, _level: IsolationLevel) -> String {
        // SQLite's transactions are serializable: every level is given.
        self.begin_transaction().to_owned()
    }

    fn push_limit_offset(&self, out: &mut String, limit: Option<u64>, offset: Option<u64>) {
        use std::fmt::Write;
        match (limit, offset) {
            (Some(limit), _) => {
                let _ = write!(out, " LIMIT {limit}");
            }
            // SQLite accepts OFFSET only after a LIMIT; -1 means no limit.
            (None, Some(_)) => out.push_str(" LIMIT -1"),
            (None, None) => {}
        }
        if let Some(offset) = offset {
            let _ = write!(out, " OFFSET {offset}");
        }
    }

    fn ilike_operator(&self, negated: bool) -> &'static str {
        // SQLite's LIKE is case-insensitive for ASCII already.
        if negated {
            "NOT LIKE"
        } else {
            "LIKE"
        }
    }

    fn max_like_pattern_len(&self) -> usize {
        MAX_LIKE_PATTERN_LEN
    }

    fn push_text_match(&self, w: &mut SqlWriter, column: &str, kind: TextMatch, text: &str) {
        let pattern = text_match_pattern(kind, text);
        if pattern.len() <= MAX_LIKE_PATTERN_LEN {
            return push_like_pattern(w, column, pattern);
        }
        // Too long for LIKE: the same match without a pattern. `lower` folds ASCII only,
        // as SQLite's LIKE does, so the answer does not depend on the text's length.
        let text = Value::Text(text.to_owned());
        match kind {
            TextMatch::Contains | TextMatch::StartsWith => {
                w.push("instr(lower(")
                    .push_qualified_name(column)
                    .push("), lower(")
                    .push_bind(text)
                    .push(if kind == TextMatch::Contains {
                        ")) > 0"
                    } else {
                        ")) = 1"
                    });
            }
            TextMatch::EndsWith => {
                w.push("substr(lower(")
                    .push_qualified_name(column)
                    .push("), -length(")
                    .push_bind(text.clone())
                    .push(")) = lower(")
                    .push_bind(text)
                    .push(")");
            }
        }
    }

    fn push_date_part(&self, w: &mut SqlWriter, part: DatePart, column: &str) {
        // Date-times are stored as UTC text (no zone to convert). strftime returns text
        // ('07'): cast so the part compares with integers.
        let (prefix, suffix) = match part {
            DatePart::Date => ("date(", ")"),
            DatePart::Year => ("CAST(strftime('%Y', ", ") AS INTEGER)"),
            DatePart::Month => ("CAST(strftime('%m', ", ") AS INTEGER)"),
            DatePart::Day => ("CAST(strftime('%d', ", ") AS INTEGER)"),
            DatePart::Time => ("strftime('%H:%M:%S', ", ")"),
        };
        w.push(prefix).push_qualified_name(column).push(suffix);
    }

    fn float_cast(&self) -> (&'static str, &'static str) {
        ("", "")
    }

    fn float_argument_cast(&self) -> (&'static str, &'static str) {
        ("CAST(", " AS REAL)")
    }

    fn lock_clause(&self, _mode: LockMode) -> &'static str {
        // SQLite locks the whole database for writers; there are no row locks.
        ""
    }

    fn lock_wait_clause(&self, _wait: LockWait) -> &'static str {
        ""
    }

    fn push_truncate(&self, w: &mut SqlWriter, table: &str) {
        // SQLite has no TRUNCATE; an unconditional DELETE uses its truncate optimisation.
        w.push("DELETE FROM ").push_table_name(table);
    }

    /// A decimal step is done in doubles, whose sum is only exact to 15 significant
    /// digits (0.1 added ten times is 0.9999999999999999): the result is stored as
    /// those 15 digits, as SQLite prints a double, so that money compares equal to
    /// what it should be (`where_eq("balance", dec!(1.00))`). NULL stays NULL.
    fn push_step(&self, w: &mut SqlWriter, column: &str, by: Value, subtract: bool) {
        #[cfg(feature = "decimal")]
        let decimal = matches!(by, Value::Decimal(_));
        #[cfg(not(feature = "decimal"))]
        let decimal = false;
        if let Value::Int(_) = by {
            // SQLite turns an integer sum past i64 into a double, stored in the integer
            // column: a lost value that no longer reads as an integer. `abs` of i64::MIN
            // is SQLite's "integer overflow" error instead, as the servers refuse it.
            w.push("CASE WHEN typeof(")
                .push_identifier(column)
                .push(") = 'integer' AND typeof(");
            super::push_column_step(w, column, by.clone(), subtract);
            w.push(") = 'real' THEN abs(-9223372036854775807 - 1) ELSE ");
            super::push_column_step(w, column, by, subtract);
            w.push(" END");
            return;
        }
        if !decimal {
            return super::push_column_step(w, column, by, subtract);
        }
        w.push("CASE WHEN ")
            .push_identifier(column)
            .push(" IS NULL THEN NULL ELSE CAST(printf('%.15g', ");
        super::push_column_step(w, column, by, subtract);
        w.push(") AS NUMERIC) END");
    }

    fn truncate_counter_reset(&self) -> Option<(&'static str, &'static str)> {
        // An AUTOINCREMENT key (the schema builder's `increments`) counts on in
        // `sqlite_sequence`, which exists once such a table does.
        Some((
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
            "DELETE FROM sqlite_sequence WHERE name = ?",
        ))
    }

    fn bool_literal(&self, value: bool) -> &'static str {
        if value {
            "1"
        } else {
            "0"
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

impl super::StatementGrammar for SqliteDialect {}

impl SchemaGrammar for SqliteDialect {
    /// The current time in the form the ORM writes date-times (`YYYY-MM-DD
    /// HH:MM:SS.ffffff`, UTC; SQLite's `%f` gives milliseconds): `CURRENT_TIMESTAMP`'s
    /// `YYYY-MM-DD HH:MM:SS` would compare as shorter text than the same instant bound.
    fn current_timestamp_default(&self, _kind: &ColumnType) -> &'static str {
        "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))"
    }

    fn push_column_type(&self, w: &mut SqlWriter, column: &ColumnDef) {
        let kind = &column.kind;
        if kind.is_integer() {
            // Only INTEGER makes a rowid alias (and AUTOINCREMENT) of a primary key.
            w.push("INTEGER");
            return;
        }
        let name = match kind {
            ColumnType::Float => "FLOAT",
            ColumnType::Double => "DOUBLE",
            ColumnType::Json | ColumnType::Jsonb => "TEXT",
            ColumnType::DateTime | ColumnType::Timestamp | ColumnType::TimestampTz => "DATETIME",
            ColumnType::Binary => "BLOB",
            ColumnType::Uuid => "CHAR(36)",
            other => return push_shared_column_type(w, column, other),
        };
        w.push(name);
    }

    fn inline_auto_increment(&self) -> &'static str {
        " AUTOINCREMENT"
    }

    fn alters_in_place(&self, command: &AlterCommand) -> bool {
        match command {
            AlterCommand::AddColumn(column) => can_add_column(column),
            AlterCommand::AddIndex(index) => index.kind != IndexKind::Primary,
            AlterCommand::RenameColumn { .. } | AlterCommand::DropIndex(_) => true,
            _ => false,
        }
    }

    fn has_table_query(&self) -> &'static str {
        // SQLite's names are case-insensitive: `DROP TABLE "MOMS"` drops `moms`.
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE"
    }

    fn column_listing_query(&self) -> &'static str {
        "SELECT name FROM pragma_table_info(?) ORDER BY cid"
    }

    fn text_holds_any(&self) -> bool {
        true
    }

    fn columns_query(&self) -> &'static str {
        // A single-column INTEGER PRIMARY KEY is the rowid: assigned by the database.
        "SELECT name, type, \"notnull\" AS not_null, dflt_value AS \"default\", pk, \
         CASE WHEN pk = 1 AND upper(type) = 'INTEGER' AND max(pk) OVER () = 1 \
         THEN 1 ELSE 0 END AS auto_increment \
         FROM pragma_table_info(?) ORDER BY cid"
    }

    fn indexes_query(&self) -> &'static str {
        "SELECT il.name AS name, ii.name AS \"column\", il.\"unique\" AS \"unique\" \
         FROM pragma_index_list(?) AS il, pragma_index_info(il.name) AS ii \
         WHERE il.origin <> 'pk' AND ii.name IS NOT NULL ORDER BY il.name, ii.seqno"
    }

    fn foreign_keys_query(&self) -> &'static str {
        "SELECT CAST(id AS TEXT) AS id, NULL AS name, \"from\" AS \"column\", \
         \"table\" AS foreign_table, \"to\" AS foreign_column, on_update, on_delete \
         FROM pragma_foreign_key_list(?) ORDER BY id, seq"
    }

    fn table_listing_query(&self) -> &'static str {
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    }

    fn foreign_key_switch(&self) -> Option<&'static ForeignKeySwitch> {
        const SWITCH: ForeignKeySwitch = ForeignKeySwitch {
            state: sqlite_pragmas::FOREIGN_KEYS_STATE,
            off: sqlite_pragmas::FOREIGN_KEYS_OFF,
            on: sqlite_pragmas::FOREIGN_KEYS_ON,
            check: sqlite_pragmas::FOREIGN_KEY_CHECK,
        };
        Some(&SWITCH)
    }

    fn referencing_tables_query(&self) -> Option<&'static str> {
        Some(sqlite_pragmas::REFERENCING_TABLES)
    }
}

/// Whether SQLite can add `column` with `ALTER TABLE ADD COLUMN` (it cannot add a
/// primary key, a NOT NULL column without default, or a non-constant default).
fn can_add_column(column: &ColumnDef) -> bool {
    !(column.primary
        || column.auto_increment
        || (!column.nullable && column.default.is_none())
        || matches!(
            column.default,
            Some(ColumnDefault::CurrentTimestamp | ColumnDefault::Raw(_))
        ))
}
