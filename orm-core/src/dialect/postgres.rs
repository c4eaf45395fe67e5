use std::borrow::Cow;

use crate::value::Value;

use super::{rewrite_question_marks, Backend, DatePart, Dialect, SqlWriter};

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

    fn like_escape_clause(&self) -> &'static str {
        // An E'' string means one backslash whatever `standard_conforming_strings` says.
        " ESCAPE E'\\\\'"
    }

    fn date_part(&self, part: DatePart) -> (&'static str, &'static str) {
        // EXTRACT returns NUMERIC (PostgreSQL 14+): cast so the part compares and reads
        // as an integer.
        match part {
            DatePart::Date => ("CAST(", " AS DATE)"),
            DatePart::Year => ("CAST(EXTRACT(YEAR FROM ", ") AS INTEGER)"),
            DatePart::Month => ("CAST(EXTRACT(MONTH FROM ", ") AS INTEGER)"),
            DatePart::Day => ("CAST(EXTRACT(DAY FROM ", ") AS INTEGER)"),
        }
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
