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

    fn push_date_part(&self, w: &mut SqlWriter, part: DatePart, column: &str) {
        // A TIMESTAMPTZ's parts follow the session's TimeZone: take them from its UTC
        // wall-clock time (what the ORM wrote) instead. The column's type is not known
        // here, so it is tested per row; both branches type-check for date, timestamp,
        // timestamptz and text. EXTRACT returns NUMERIC (PostgreSQL 14+): cast so the
        // part compares and reads as an integer.
        let (prefix, middle, suffix) = match part {
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
