use std::borrow::Cow;

use super::{rewrite_question_marks, Backend, Dialect};

/// SQL syntax of SQLite.
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn push_placeholder(&self, out: &mut String, _index: usize) {
        out.push('?');
    }

    fn max_identifier_len(&self) -> usize {
        // SQLite has no limit of its own; keep names portable and sane.
        1024
    }

    fn max_bind_params(&self) -> usize {
        32766
    }

    fn begin_transaction(&self) -> &'static str {
        // Take the write lock up front so concurrent writers wait (busy timeout)
        // instead of failing with SQLITE_BUSY when a read lock is upgraded.
        "BEGIN IMMEDIATE"
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

    fn translate_placeholders<'a>(&self, sql: &'a str) -> Cow<'a, str> {
        if sql.contains("??") {
            Cow::Owned(rewrite_question_marks(sql, |out, _| out.push('?')))
        } else {
            Cow::Borrowed(sql)
        }
    }
}
