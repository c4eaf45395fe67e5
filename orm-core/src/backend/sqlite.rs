//! SQLite through rusqlite. The only module that knows rusqlite.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use chrono::Datelike;
use rusqlite::config::DbConfig;
use rusqlite::types::{ToSqlOutput, ValueRef as SqliteRef};
use rusqlite::{ffi, OpenFlags};

use crate::error::{ConstraintKind, Error, Result, Violation};
use crate::row::{Row, RowInner};
use crate::url::{ConnectOptions, Target};
use crate::value::{Param, ParamRef, Value, ValueRef, DATETIME_TEXT_FORMAT, TIME_TEXT_FORMAT};

const STATEMENT_CACHE_CAPACITY: usize = 256;

pub(crate) struct SqliteConnection {
    conn: rusqlite::Connection,
}

impl SqliteConnection {
    pub(crate) fn open(options: &ConnectOptions) -> Result<SqliteConnection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = match &options.target {
            Target::SqliteFile(path) => rusqlite::Connection::open_with_flags(path, flags),
            _ => rusqlite::Connection::open_in_memory_with_flags(flags),
        }
        .map_err(|e| Error::Connection {
            message: format!("cannot open {}: {e}", options.redacted()),
            source: Some(Box::new(e)),
        })?;
        // SQLite's legacy misfeature reads a double-quoted name it cannot find as a string
        // literal: a mistyped column in `where_("nmae", ...)` would compare a constant and
        // update or delete every row. Off, the statement fails as on the other servers.
        // (Schemas already stored are still read the legacy way.)
        for config in [
            DbConfig::SQLITE_DBCONFIG_DQS_DML,
            DbConfig::SQLITE_DBCONFIG_DQS_DDL,
        ] {
            conn.set_db_config(config, false).map_err(map_error)?;
        }
        conn.busy_timeout(options.busy_timeout).map_err(map_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_CAPACITY);
        conn.execute_batch("PRAGMA foreign_keys = ON")
            .map_err(map_error)?;
        if matches!(options.target, Target::SqliteFile(_)) {
            // WAL lets readers run while one writer writes; NORMAL sync is safe with WAL.
            enable_wal(&conn, options.busy_timeout)?;
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(map_error)?;
        }
        Ok(SqliteConnection { conn })
    }

    pub(crate) fn raw(&mut self) -> &mut rusqlite::Connection {
        &mut self.conn
    }

    pub(crate) fn execute<P: Param>(&mut self, sql: &str, params: &[P]) -> Result<u64> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        bind_all(&mut stmt, params).map_err(map_error)?;
        if stmt.column_count() == 0 {
            return stmt.raw_execute().map(|n| n as u64).map_err(map_error);
        }
        // A statement that returns rows (`INSERT .. RETURNING`, a pragma reporting its
        // value, a `SELECT`) is stepped to its end: rusqlite's `execute` stops at the
        // first row and resets the statement, which in autocommit runs the commit and
        // drops its failure (a full disk, a deferred foreign key).
        let readonly = stmt.readonly();
        let mut rows = stmt.raw_query();
        while rows.next().map_err(map_error)?.is_some() {}
        Ok(if readonly { 0 } else { self.conn.changes() })
    }

    pub(crate) fn query_each<P: Param>(
        &mut self,
        sql: &str,
        params: &[P],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
        caught: &mut Option<Error>,
        // Rows are stepped one at a time whatever is asked.
        _streamed: bool,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_error)?;
        bind_all(&mut stmt, params).map_err(map_error)?;
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(map_error)? {
            let row = Row {
                inner: RowInner::Sqlite(row),
                rows_hint: 0,
                positions: None,
            };
            if !super::call_row(f, &row, caught) {
                // A write (`INSERT .. RETURNING`) in autocommit is stepped to its end:
                // its commit runs there, and a failed one (a full disk, a deferred
                // foreign key) is reported only by that step; dropped early, the
                // statement's reset would swallow it and the row the caller was told of
                // would not be kept. Inside a transaction the COMMIT reports it.
                if self.conn.is_autocommit() && rows.as_ref().is_some_and(|stmt| !stmt.readonly()) {
                    while rows.next().map_err(map_error)?.is_some() {}
                }
                break;
            }
        }
        Ok(())
    }

    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.conn.execute_batch(sql).map_err(map_error)
    }

    /// SQLite undoes only the failed statement, except after some failures (a full
    /// disk, an I/O error, out of memory) where it may roll back the whole transaction.
    pub(crate) fn after_failure(&mut self) -> super::AfterFailure {
        if self.conn.is_autocommit() {
            super::AfterFailure::Ended
        } else {
            super::AfterFailure::Kept
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        false
    }

    pub(crate) fn still_open(&mut self, _verify: bool) -> bool {
        true
    }

    pub(crate) fn has_open_transaction(&mut self) -> bool {
        !self.conn.is_autocommit()
    }
}

/// A connection held for a stream: the pool's checkout, as the executor layer hands it.
pub(crate) type HeldConnection = Box<dyn std::ops::Deref<Target = super::Connection>>;

/// A statement prepared on a held connection.
struct OpenStatement<'conn> {
    stmt: rusqlite::CachedStatement<'conn>,
}

impl Drop for OpenStatement<'_> {
    fn drop(&mut self) {
        // A stream dropped before its rows ended: the statement goes back to the cache
        // as it is, still reading (holding its read and locking its tables), so it is
        // reset first; a `Rows` resets its statement when dropped.
        drop(self.stmt.raw_query());
    }
}

self_cell::self_cell!(
    /// An open `SELECT` and the connection it runs on, owned together.
    struct StreamCell {
        owner: HeldConnection,
        #[not_covariant]
        dependent: OpenStatement,
    }
);

/// A `SELECT` stepped one row per call ([`SqliteStream::next_decoded`]) on a connection the
/// stream owns: a cursor's rows decoded as they are consumed, each freed before the
/// next is read. Dropping it resets the statement (ending its read) and then gives the
/// connection back.
pub(crate) struct SqliteStream {
    cell: StreamCell,
    done: bool,
}

impl SqliteStream {
    /// Prepares and binds `sql` on `held`, which must be a SQLite connection.
    pub(crate) fn open(held: HeldConnection, sql: &str, params: &[Value]) -> Result<SqliteStream> {
        let cell = StreamCell::try_new(held, |held| {
            let Some(sqlite) = held.sqlite() else {
                return Err(Error::invalid_query(
                    crate::error::InvalidQueryKind::Unsupported,
                    "a row stream needs a SQLite connection",
                ));
            };
            let mut stmt = sqlite.conn.prepare_cached(sql).map_err(map_error)?;
            bind_all(&mut stmt, params).map_err(map_error)?;
            Ok(OpenStatement { stmt })
        })?;
        Ok(SqliteStream { cell, done: false })
    }

    /// Whether the rows ended, or a step or a row's decoding failed.
    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    /// Steps to the next row and decodes it as `T` (`None` once the rows are done; a
    /// failed step or a row that does not decode is its error, after which the stream
    /// is done).
    #[inline]
    pub(crate) fn next_decoded<T: crate::row::FromRow>(
        &mut self,
        layout: &mut crate::row::Layout,
        columns: &mut Option<std::sync::Arc<[String]>>,
    ) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        let done = &mut self.done;
        self.cell.with_dependent_mut(|_, open| {
            // `Rows` resets the statement when dropped; one made per row is forgotten
            // instead (it owns nothing), so the statement stays where it is. Once the
            // rows end it has reset the statement itself.
            let mut rows = open.stmt.raw_query();
            let item = match rows.next() {
                Ok(Some(row)) => {
                    let row = Row {
                        inner: RowInner::Sqlite(row),
                        rows_hint: 0,
                        positions: None,
                    };
                    let decoded = layout.decode::<T>(&row, columns);
                    *done = decoded.is_err();
                    Some(decoded)
                }
                Ok(None) => {
                    *done = true;
                    None
                }
                Err(e) => {
                    *done = true;
                    Some(Err(map_error(e)))
                }
            };
            std::mem::forget(rows);
            item
        })
    }
}

/// Switches a file database to WAL. That takes an exclusive lock, and when several
/// connections open a new file at once SQLite answers SQLITE_BUSY at once (to avoid a
/// deadlock it skips the busy handler), so retry, with backoff, until the busy timeout.
fn enable_wal(conn: &rusqlite::Connection, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(map_error)
        {
            Err(error) if error.is_busy() && Instant::now() < deadline => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// A value SQLite cannot take, met while binding the parameter at `index` (0-based):
/// a NaN (SQLite would store NULL, losing the value silently) or an array. Nothing has
/// run when it is reported.
#[derive(Debug)]
struct Unbindable {
    index: usize,
    what: &'static str,
}

impl std::fmt::Display for Unbindable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "parameter {} is {}", self.index + 1, self.what)
    }
}

impl std::error::Error for Unbindable {}

fn unbindable(index: usize, what: &'static str) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(Unbindable { index, what }))
}

/// Binds a parameter (the one at the given position) without copying text or bytes. It
/// owns nothing, so binding drops nothing.
struct SqliteBind<'a>(ParamRef<'a>, usize);

/// Binds every parameter, each knowing its position for its error. Written here rather
/// than left to `Statement::query(params)`: rusqlite's generic binding loop was inlined
/// into the statement path in one build and called out of line in the next (+80
/// instructions per statement), as the code around it moved between codegen units.
/// The count check is always inlined (a statement without parameters pays no call).
#[inline(always)]
fn bind_all<P: Param>(stmt: &mut rusqlite::Statement<'_>, params: &[P]) -> rusqlite::Result<()> {
    let expected = stmt.parameter_count();
    if params.len() != expected {
        return Err(rusqlite::Error::InvalidParameterCount(
            params.len(),
            expected,
        ));
    }
    if params.is_empty() {
        return Ok(());
    }
    bind_each(stmt, params)
}

fn bind_each<P: Param>(stmt: &mut rusqlite::Statement<'_>, params: &[P]) -> rusqlite::Result<()> {
    for (i, p) in params.iter().enumerate() {
        let at = i + 1;
        // The usual kinds through rusqlite's own (inlined) conversions, as hand-written
        // code binds them; the rest through `SqliteBind`.
        match p.param_ref() {
            ParamRef::Text(v) => stmt.raw_bind_parameter(at, v)?,
            ParamRef::Value(Value::Text(v)) => stmt.raw_bind_parameter(at, v.as_str())?,
            ParamRef::Value(Value::Int(v)) => stmt.raw_bind_parameter(at, *v)?,
            ParamRef::Value(Value::Null) => stmt.raw_bind_parameter(at, rusqlite::types::Null)?,
            other => stmt.raw_bind_parameter(at, SqliteBind(other, i))?,
        }
    }
    Ok(())
}

impl SqliteBind<'_> {
    /// Dates are stored as text that sorts and compares in time order only with four
    /// digits of year: `+10000-01-01` would sort before `2024-01-01`, `-0044` before
    /// `0001`.
    #[inline]
    fn check_year(&self, year: i32) -> rusqlite::Result<()> {
        if (1..=9999).contains(&year) {
            Ok(())
        } else {
            Err(unbindable(
                self.1,
                "a date outside the years 1 to 9999, which SQLite cannot store as sortable text",
            ))
        }
    }
}

impl rusqlite::ToSql for SqliteBind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let value = match self.0 {
            ParamRef::Text(v) => return Ok(ToSqlOutput::Borrowed(SqliteRef::Text(v.as_bytes()))),
            ParamRef::Bytes(v) => return Ok(ToSqlOutput::Borrowed(SqliteRef::Blob(v))),
            ParamRef::Value(v) => v,
        };
        Ok(match value {
            Value::Null => ToSqlOutput::Borrowed(SqliteRef::Null),
            Value::Bool(v) => ToSqlOutput::Borrowed(SqliteRef::Integer(i64::from(*v))),
            Value::Int(v) => ToSqlOutput::Borrowed(SqliteRef::Integer(*v)),
            Value::Float(v) if v.is_nan() => {
                return Err(unbindable(
                    self.1,
                    "NaN, which SQLite cannot store (it would become NULL)",
                ))
            }
            Value::Float(v) => ToSqlOutput::Borrowed(SqliteRef::Real(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(SqliteRef::Text(v.as_bytes())),
            Value::Bytes(v) => ToSqlOutput::Borrowed(SqliteRef::Blob(v)),
            Value::Date(v) => {
                self.check_year(v.year())?;
                ToSqlOutput::from(v.format("%Y-%m-%d").to_string())
            }
            Value::Time(v) => ToSqlOutput::from(v.format(TIME_TEXT_FORMAT).to_string()),
            Value::DateTime(v) => {
                self.check_year(v.year())?;
                ToSqlOutput::from(v.format(DATETIME_TEXT_FORMAT).to_string())
            }
            Value::DateTimeUtc(v) => {
                let v = v.naive_utc();
                self.check_year(v.year())?;
                ToSqlOutput::from(v.format(DATETIME_TEXT_FORMAT).to_string())
            }
            #[cfg(feature = "json")]
            Value::Json(v) => ToSqlOutput::from(v.to_string()),
            // A number when a REAL holds it exactly (15 significant digits), so that it
            // compares as a number with expressions too (`price * qty > ?`: SQLite ranks
            // any text above any number where no column affinity converts it); with more
            // digits, text, which a NUMERIC column converts where it can and any other
            // column keeps whole.
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => match crate::decimal::as_exact_double(*v) {
                Some(real) => ToSqlOutput::Owned(rusqlite::types::Value::Real(real)),
                None => ToSqlOutput::from(v.to_string()),
            },
            Value::Array(_) => {
                return Err(unbindable(self.1, "an array, which SQLite cannot bind"));
            }
        })
    }
}

impl crate::row::DriverRow for rusqlite::Row<'_> {
    #[inline]
    fn value_ref(&self, index: usize) -> std::result::Result<ValueRef<'_>, Box<Error>> {
        value_ref(self, index)
    }
}

/// Column `index` of `row`, borrowed. The error is boxed so the common `Ok` stays small
/// on the per-column path.
#[inline]
fn value_ref<'r>(
    row: &'r rusqlite::Row<'r>,
    index: usize,
) -> std::result::Result<ValueRef<'r>, Box<Error>> {
    let value = match row.get_ref(index) {
        Ok(value) => value,
        Err(error) => return Err(column_not_found(index, error)),
    };
    Ok(match value {
        SqliteRef::Null => ValueRef::Null,
        SqliteRef::Integer(v) => ValueRef::Int(v),
        SqliteRef::Real(v) => ValueRef::Float(v),
        SqliteRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => ValueRef::Text(Cow::Borrowed(text)),
            Err(_) => ValueRef::Bytes(bytes),
        },
        SqliteRef::Blob(bytes) => ValueRef::Bytes(bytes),
    })
}

/// Out of line (not only cold): inlined, its message, box and the driver error's drop
/// were compiled into every column of every model's decoder.
#[cold]
#[inline(never)]
fn column_not_found(index: usize, error: rusqlite::Error) -> Box<Error> {
    drop(error);
    Box::new(Error::ColumnNotFound(index.to_string()))
}

pub(crate) fn map_error(error: rusqlite::Error) -> Error {
    if let rusqlite::Error::ToSqlConversionFailure(failure) = &error {
        if let Some(unbindable) = failure.downcast_ref::<Unbindable>() {
            return Error::bind(unbindable.to_string());
        }
    }
    if let rusqlite::Error::InvalidParameterCount(given, expected) = error {
        return Error::Bind {
            message: format!(
                "the statement has {expected} placeholder(s) but {given} value(s) were bound"
            ),
            source: Some(Box::new(error)),
        };
    }
    let rusqlite::Error::SqliteFailure(failure, message) = &error else {
        return Error::Database {
            message: error.to_string(),
            code: None,
            sql: None,
            source: Some(Box::new(error)),
        };
    };
    let failure = *failure;
    let message = message.clone().unwrap_or_else(|| failure.to_string());
    let kind = match failure.extended_code {
        ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
            Some(ConstraintKind::Unique)
        }
        ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(ConstraintKind::ForeignKey),
        // A RESTRICT action fails from the trigger SQLite runs for it, as
        // `RAISE(ABORT, 'FOREIGN KEY constraint failed')`: a foreign key violation too.
        ffi::SQLITE_CONSTRAINT_TRIGGER if message == FOREIGN_KEY_FAILED => {
            Some(ConstraintKind::ForeignKey)
        }
        ffi::SQLITE_CONSTRAINT_NOTNULL => Some(ConstraintKind::NotNull),
        ffi::SQLITE_CONSTRAINT_CHECK => Some(ConstraintKind::Check),
        _ => None,
    };
    let source = Some(Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
    if let Some(kind) = kind {
        let (constraint, columns) = violated(kind, &message);
        let violation = Violation {
            message,
            constraint,
            columns,
            source,
        };
        return Error::constraint(kind, violation);
    }
    match failure.code {
        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked => Error::Busy {
            message,
            code: Some(failure.extended_code.to_string()),
            sql: None,
            source,
        },
        rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::NotADatabase => {
            Error::Connection { message, source }
        }
        // An integer result past i64 (`abs`, and the dialect's checked increment).
        _ if message == "integer overflow" => Error::ValueOutOfRange {
            message,
            code: Some(failure.extended_code.to_string()),
            sql: None,
            source,
        },
        _ => Error::Database {
            message,
            code: Some(failure.extended_code.to_string()),
            sql: None,
            source,
        },
    }
}

/// SQLite's message for a foreign key violation, whichever way it is raised.
const FOREIGN_KEY_FAILED: &str = "FOREIGN KEY constraint failed";

/// The constraint name and columns SQLite's message gives: `UNIQUE constraint failed:
/// users.email, users.team_id` (columns; `index 'name'` for an expression index),
/// `NOT NULL constraint failed: users.name`, `CHECK constraint failed: name` (the name,
/// or the condition's text when the CHECK has none), `FOREIGN KEY constraint failed`.
fn violated(kind: ConstraintKind, message: &str) -> (Option<String>, Vec<String>) {
    let Some((_, detail)) = message.split_once("constraint failed: ") else {
        return (None, Vec::new());
    };
    match kind {
        ConstraintKind::Unique | ConstraintKind::NotNull => {
            if let Some(index) = detail
                .strip_prefix("index '")
                .and_then(|rest| rest.strip_suffix('\''))
            {
                return (Some(index.to_owned()), Vec::new());
            }
            let columns = detail
                .split(", ")
                .map(|qualified| match qualified.split_once('.') {
                    Some((_table, column)) => column.to_owned(),
                    None => qualified.to_owned(),
                })
                .collect();
            (None, columns)
        }
        ConstraintKind::Check if is_bare_name(detail) => (Some(detail.to_owned()), Vec::new()),
        _ => (None, Vec::new()),
    }
}

/// Whether `text` is a plain identifier (so a CHECK's name, not its condition).
fn is_bare_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations_name_what_the_message_gives() {
        let unique = violated(
            ConstraintKind::Unique,
            "UNIQUE constraint failed: users.team_id, users.email",
        );
        assert_eq!(unique, (None, vec!["team_id".into(), "email".into()]));
        let index = violated(
            ConstraintKind::Unique,
            "UNIQUE constraint failed: index 'users_lower_email'",
        );
        assert_eq!(index, (Some("users_lower_email".into()), vec![]));
        let named = violated(ConstraintKind::Check, "CHECK constraint failed: votes_ok");
        assert_eq!(named, (Some("votes_ok".into()), vec![]));
        // An unnamed CHECK is reported by its condition: no name.
        let unnamed = violated(ConstraintKind::Check, "CHECK constraint failed: votes >= 0");
        assert_eq!(unnamed, (None, vec![]));
        let foreign = violated(ConstraintKind::ForeignKey, "FOREIGN KEY constraint failed");
        assert_eq!(foreign, (None, vec![]));
    }

    #[test]
    fn a_nan_or_an_array_is_refused_by_position_and_nothing_runs() -> Result<()> {
        let mut conn = crate::Connection::open("sqlite::memory:")?;
        conn.execute_batch("CREATE TABLE t (x REAL, y REAL)")?;
        let nan = conn.execute("INSERT INTO t (x, y) VALUES (?, ?)", &[&1.0, &f64::NAN]);
        match nan {
            Err(Error::Bind { message, .. }) => assert_eq!(
                message,
                "parameter 2 is NaN, which SQLite cannot store (it would become NULL)"
            ),
            other => panic!("NaN gave {other:?}"),
        }
        let array = conn.execute_values(
            "INSERT INTO t (x, y) VALUES (?, ?)",
            &[Value::Array(vec![Value::Int(1)]), Value::Float(2.0)],
        );
        match array {
            Err(Error::Bind { message, .. }) => {
                assert_eq!(message, "parameter 1 is an array, which SQLite cannot bind")
            }
            other => panic!("an array gave {other:?}"),
        }
        let rows = conn.select("SELECT x FROM t WHERE x > ?", &[&f64::NAN]);
        assert!(matches!(rows, Err(Error::Bind { .. })), "{rows:?}");
        assert!(
            conn.select("SELECT * FROM t", &[])?.is_empty(),
            "nothing written"
        );
        Ok(())
    }
}
