//! PostgreSQL through the `postgres` crate. The only module that knows that driver.

use std::borrow::Cow;
use std::collections::HashMap;
use std::error::Error as StdError;
use std::str::FromStr;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, Kind, ToSql, Type};
use postgres::{Client, NoTls, Statement};

use crate::error::{ConstraintKind, Error, Result, Violation};
use crate::row::{Row, RowInner};
use crate::value::{Bind, Param, Value, ValueRef, DATETIME_TEXT_FORMAT};

const STATEMENT_CACHE_CAPACITY: usize = 512;

/// How long a liveness check waits for the server's answer.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct PgConnection {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Whether SQL sent on this connection may have left a transaction block open. The
    /// driver does not expose the server's transaction status, so it is tracked from
    /// the statements: set by anything that may start one (`BEGIN`, `START
    /// TRANSACTION`, even when it fails), cleared by a successful plain `COMMIT` /
    /// `ROLLBACK`. Over-estimating only costs the pool one `ROLLBACK` on return.
    transaction_maybe_open: bool,
    /// What the last statement's failure did to the open transaction: an ERROR from the
    /// server aborts it (or was the refusal of an already aborted one); failures found on
    /// this side (a value that cannot be bound, a column that cannot be decoded) send
    /// nothing and abort nothing.
    rejected: super::AfterFailure,
}

impl PgConnection {
    pub(crate) fn open(url: &str) -> Result<PgConnection> {
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            Error::Config(format!(
                "invalid PostgreSQL URL {}: {e}",
                crate::url::redact(url)
            ))
        })?;
        // Sessions run in UTC, as the ORM's values are (MySQL's are set the same way):
        // `CURRENT_TIMESTAMP` into a TIMESTAMP column, a column default, date parts of a
        // TIMESTAMPTZ then agree with what the ORM writes, whatever zone the server or
        // database is set to. A TimeZone the URL's `options` set is kept.
        let options = config.get_options().unwrap_or_default();
        if !options.to_ascii_lowercase().contains("timezone") {
            let options = format!("{options} -c TimeZone=UTC");
            config.options(options.trim_start());
        }
        let client = config.connect(NoTls).map_err(|e| {
            // The driver's own text is "db error" for whatever the server refused: the
            // server's message tells a missing database from a wrong password.
            let reason = match (e.as_db_error(), e.source()) {
                (Some(db), _) => format!("{} ({})", db.message(), db.code().code()),
                (None, Some(source)) => format!("{e}: {source}"),
                (None, None) => e.to_string(),
            };
            Error::Connection {
                message: format!("cannot connect to {}: {reason}", crate::url::redact(url)),
                source: Some(Box::new(e)),
            }
        })?;
        Ok(PgConnection {
            client,
            statements: HashMap::new(),
            transaction_maybe_open: false,
            rejected: super::AfterFailure::Kept,
        })
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok(stmt.clone());
        }
        let prepared = self.client.prepare(sql);
        let stmt = prepared.map_err(|e| self.driver_error(e))?;
        if self.statements.len() >= STATEMENT_CACHE_CAPACITY {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }

    /// `sql` prepared again with wider parameter types, when `error` is a value that did
    /// not fit the integer type PostgreSQL inferred for its parameter but is an integer
    /// all the same (`find(5_000_000_000)` on an `INTEGER` key, `where_("small", "<",
    /// 100_000)`): compared as a `BIGINT` (or `NUMERIC`) it matches nothing, as on the
    /// other databases, instead of failing. Only compared parameters ([`compared`]): a
    /// value written into a column stays refused here, before anything is sent. Not
    /// cached: the inferred types stay the statement's own.
    #[cold]
    #[inline(never)]
    fn widened<P: Param>(
        &mut self,
        error: &postgres::Error,
        sql: &str,
        stmt: &Statement,
        params: &[P],
    ) -> Result<Option<Statement>> {
        let refused = error
            .source()
            .is_some_and(|source| source.is::<BindRefused>());
        if !refused {
            return Ok(None);
        }
        let mut types = stmt.params().to_vec();
        let mut changed = false;
        for (i, (ty, param)) in types.iter_mut().zip(params).enumerate() {
            let bind = param.param();
            let wider = match placement(sql, i + 1) {
                Placement::Compared => wider_compared_type(ty, &bind),
                // `n + $1` in an `UPDATE`: a wider integer, whose sum the server checks
                // against the column; never a fraction, which the assignment would round.
                Placement::Operand => wider_integer_type(ty, &bind),
                Placement::Written => None,
            };
            if let Some(wider) = wider {
                *ty = wider;
                changed = true;
            }
        }
        if !changed {
            return Ok(None);
        }
        let prepared = self.client.prepare_typed(sql, &types);
        prepared.map(Some).map_err(|e| self.driver_error(e))
    }

    /// Maps a driver error, noting whether the server rejected the statement.
    fn driver_error(&mut self, error: postgres::Error) -> Error {
        self.rejected = match error.as_db_error() {
            None => super::AfterFailure::Kept,
            Some(db) if *db.code() == SqlState::IN_FAILED_SQL_TRANSACTION => {
                super::AfterFailure::AbortedBefore
            }
            Some(_) => super::AfterFailure::Aborted,
        };
        map_error(error)
    }

    /// A statement the server rejected aborts the open transaction (up to the innermost
    /// savepoint); a failure on the client's side leaves it as it was.
    pub(crate) fn after_failure(&mut self) -> super::AfterFailure {
        std::mem::replace(&mut self.rejected, super::AfterFailure::Kept)
    }

    fn forget(&mut self, sql: &str) {
        self.statements.remove(sql);
    }

    /// Updates the open-transaction flag after `sql` ran (`succeeded`: without error).
    fn track_transaction(&mut self, sql: &str, may_begin: bool, succeeded: bool) {
        if may_begin {
            self.transaction_maybe_open = true;
        } else if succeeded && ends_transaction(sql) {
            self.transaction_maybe_open = false;
        }
    }

    pub(crate) fn execute<P: Param>(&mut self, sql: &str, params: &[P]) -> Result<u64> {
        let may_begin = starts_transaction(sql);
        self.rejected = super::AfterFailure::Kept;
        let result = self.execute_prepared(sql, params);
        self.track_transaction(sql, may_begin, result.is_ok());
        result
    }

    fn execute_prepared<P: Param>(&mut self, sql: &str, params: &[P]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        check_param_count(&stmt, params)?;
        let binds: Vec<PgBind<'_>> = binds(params);
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        let mut executed = self.client.execute(&stmt, &refs);
        if let Err(error) = &executed {
            if let Some(wide) = self.widened(error, sql, &stmt, params)? {
                executed = self.client.execute(&wide, &refs);
            }
        }
        let changed = executed.map_err(|e| {
            self.forget(sql);
            self.driver_error(e)
        })?;
        if starts_with_ddl(sql) {
            // Plans cached before a schema change may no longer fit it.
            self.statements.clear();
        }
        Ok(changed)
    }

    pub(crate) fn query_each<P: Param>(
        &mut self,
        sql: &str,
        params: &[P],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
        caught: &mut Option<Error>,
        streamed: bool,
    ) -> Result<()> {
        let may_begin = starts_transaction(sql);
        self.rejected = super::AfterFailure::Kept;
        let result = match streamed {
            true => self.query_streamed(sql, params, f, caught),
            false => self.query_prepared(sql, params, f, caught),
        };
        self.track_transaction(sql, may_begin, result.is_ok());
        result
    }

    /// [`PgConnection::query_prepared`] reading the rows off the connection one at a
    /// time (the driver's row iterator), for a caller that asked for bounded memory
    /// (`each`): each row enters the driver's runtime, which costs more per row than
    /// one receipt of the whole result, so only where asked.
    fn query_streamed<P: Param>(
        &mut self,
        sql: &str,
        params: &[P],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
        caught: &mut Option<Error>,
    ) -> Result<()> {
        let stmt = self.statement(sql)?;
        check_param_count(&stmt, params)?;
        let binds: Vec<PgBind<'_>> = binds(params);
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        // Each `match` ends the rows' borrow of the client before `self` is used again.
        let first = match self.client.query_raw(&stmt, refs.iter().copied()) {
            Ok(rows) => Ok(stream_rows(rows, f, caught)),
            Err(error) => Err(error),
        };
        let error = match first {
            Ok(streamed) => return self.streamed(streamed, sql),
            Err(error) => error,
        };
        let Some(wide) = self.widened(&error, sql, &stmt, params)? else {
            return Err(self.driver_error(error));
        };
        let streamed = match self.client.query_raw(&wide, refs.iter().copied()) {
            Ok(rows) => stream_rows(rows, f, caught),
            Err(error) => Err(error),
        };
        self.streamed(streamed, sql)
    }

    /// The outcome of [`stream_rows`], its driver error mapped (once the rows, which
    /// borrow the client, are gone).
    fn streamed(
        &mut self,
        outcome: std::result::Result<(), postgres::Error>,
        sql: &str,
    ) -> Result<()> {
        outcome.map_err(|error| {
            let error = self.driver_error(error);
            if matches!(error, Error::Database { .. }) {
                self.forget(sql);
            }
            error
        })
    }

    fn query_prepared<P: Param>(
        &mut self,
        sql: &str,
        params: &[P],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
        caught: &mut Option<Error>,
    ) -> Result<()> {
        let stmt = self.statement(sql)?;
        check_param_count(&stmt, params)?;
        let result = (|| {
            // The whole result is received in one go: the synchronous driver's row
            // iterator enters its runtime once per row, which costs more than the rows'
            // wire bytes held in memory (paged reads such as `cursor()` stay bounded).
            let binds: Vec<PgBind<'_>> = binds(params);
            let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
            let mut rows = self.client.query(&stmt, &refs);
            if let Err(error) = &rows {
                if let Some(wide) = self.widened(error, sql, &stmt, params)? {
                    rows = self.client.query(&wide, &refs);
                }
            }
            let rows = rows.map_err(|e| self.driver_error(e))?;
            for row in &rows {
                let row = Row {
                    inner: RowInner::Postgres(row),
                    rows_hint: rows.len(),
                    positions: None,
                };
                if !super::call_row(f, &row, caught) {
                    break;
                }
            }
            Ok(())
        })();
        if matches!(result, Err(Error::Database { .. })) {
            self.forget(sql);
        }
        result
    }

    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<()> {
        // Several statements: any of them may begin a transaction (a false positive,
        // e.g. a function body's BEGIN, only costs a ROLLBACK on return to the pool).
        let lower = sql.to_ascii_lowercase();
        let may_begin = lower.contains("begin") || lower.contains("start transaction");
        self.rejected = super::AfterFailure::Kept;
        let result = self.client.batch_execute(sql);
        let result = result.map_err(|e| self.driver_error(e));
        self.track_transaction(sql, may_begin, result.is_ok());
        if result.is_ok() && starts_with_ddl(sql) {
            // Plans cached before a schema change may no longer fit it.
            self.statements.clear();
        }
        result
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Whether the connection is still open: known closed, or, when `verify`, a round
    /// trip fails. The synchronous driver reads the socket only during a call, so a
    /// session the server ended while the connection sat idle is found by a round trip.
    pub(crate) fn still_open(&mut self, verify: bool) -> bool {
        if self.client.is_closed() {
            return false;
        }
        !verify || self.client.is_valid(VERIFY_TIMEOUT).is_ok()
    }

    pub(crate) fn has_open_transaction(&mut self) -> bool {
        self.transaction_maybe_open
    }
}

/// Whether one statement may open a transaction block (`BEGIN`, `START TRANSACTION`).
fn starts_transaction(sql: &str) -> bool {
    let head = sql.trim_start().get(..5).unwrap_or_default();
    head.eq_ignore_ascii_case("BEGIN") || head.eq_ignore_ascii_case("START")
}

/// Whether `sql` is exactly one statement closing the transaction block.
fn ends_transaction(sql: &str) -> bool {
    let statement = sql.trim().trim_end_matches(';').trim_end();
    let mut words = statement.split_ascii_whitespace();
    let first = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    let closes = ["COMMIT", "END", "ROLLBACK", "ABORT"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k));
    let noise_only = match rest.as_slice() {
        [] => true,
        [word] => word.eq_ignore_ascii_case("WORK") || word.eq_ignore_ascii_case("TRANSACTION"),
        _ => false,
    };
    closes && noise_only
}

fn starts_with_ddl(sql: &str) -> bool {
    let head = sql.trim_start().get(..6).unwrap_or_default();
    ["CREATE", "ALTER ", "DROP ", "TRUNCA", "COMMEN"]
        .iter()
        .any(|k| head.len() >= k.len() && head[..k.len()].eq_ignore_ascii_case(k))
}

fn check_param_count<P>(stmt: &Statement, params: &[P]) -> Result<()> {
    if stmt.params().len() != params.len() {
        return Err(Error::bind(format!(
            "the statement has {} placeholder(s) but {} value(s) were bound",
            stmt.params().len(),
            params.len()
        )));
    }
    Ok(())
}

/// Binds a [`Value`] to a parameter of whatever type PostgreSQL inferred for it,
/// converting losslessly (an `i64` into an `INT4` parameter when it fits, text into
/// `JSONB`, `UUID`, dates, ...) and refusing anything lossy.
#[derive(Debug)]
struct PgBind<'a> {
    bind: Bind<'a>,
    /// 1-based, for the error message.
    position: usize,
}

/// Hands `rows` to `f` one at a time; a failure while reading them is the driver's.
fn stream_rows(
    mut rows: postgres::RowIter<'_>,
    f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    caught: &mut Option<Error>,
) -> std::result::Result<(), postgres::Error> {
    use postgres::fallible_iterator::FallibleIterator;
    while let Some(row) = rows.next()? {
        let row = Row {
            inner: RowInner::Postgres(&row),
            rows_hint: 0,
            positions: None,
        };
        if !super::call_row(f, &row, caught) {
            break;
        }
    }
    Ok(())
}

fn binds<P: Param>(params: &[P]) -> Vec<PgBind<'_>> {
    params
        .iter()
        .enumerate()
        .map(|(index, p)| PgBind {
            bind: p.param(),
            position: index + 1,
        })
        .collect()
}

type BoxError = Box<dyn StdError + Sync + Send>;

/// A value refused by [`PgBind`], nothing sent; recognised in [`map_error`] to report
/// `Error::Bind`, or `Error::ValueOutOfRange` for an integer past its parameter's width
/// (40 000 for a `SMALLINT`), as the server reports the same value written as SQL, and
/// MySQL the bound one.
#[derive(Debug)]
struct BindRefused {
    message: String,
    out_of_range: bool,
}

impl std::fmt::Display for BindRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for BindRefused {}

fn out_of_range(v: impl std::fmt::Display, ty: &Type) -> BoxError {
    Box::new(BindRefused {
        message: format!("{v} does not fit a parameter of type {}", ty.name()),
        out_of_range: true,
    })
}

fn mismatch(type_name: &str, ty: &Type) -> BoxError {
    format!(
        "cannot bind a {type_name} value to a parameter of type {}",
        ty.name()
    )
    .into()
}

impl ToSql for PgBind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        let bound = match &self.bind {
            Bind::Value(value) => bind_value(value, ty, out),
            Bind::Owned(value) => bind_value(value, ty, out),
            Bind::Text(text) => bind_text(text, ty, out),
            Bind::Bytes(bytes) => match *ty {
                Type::BYTEA => bytes.to_sql(ty, out),
                _ => Err(mismatch("bytes", ty)),
            },
        };
        bound.map_err(|e| {
            Box::new(BindRefused {
                message: format!("parameter {}: {e}", self.position),
                out_of_range: e
                    .downcast_ref::<BindRefused>()
                    .is_some_and(|refused| refused.out_of_range),
            }) as BoxError
        })
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, ty: &Type) -> postgres::types::Format {
        let text = matches!(
            &self.bind,
            Bind::Text(_) | Bind::Value(Value::Text(_)) | Bind::Owned(Value::Text(_))
        );
        if text && text_in_text_format(ty) {
            postgres::types::Format::Text
        } else {
            postgres::types::Format::Binary
        }
    }

    postgres::types::to_sql_checked!();
}

/// Binds an owned or borrowed [`Value`] by the rules of [`PgBind`].
fn bind_value(
    value: &Value,
    ty: &Type,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, BoxError> {
    match value {
        Value::Null => Ok(IsNull::Yes),
        Value::Bool(v) => match *ty {
            Type::BOOL => v.to_sql(ty, out),
            Type::INT2 | Type::INT4 | Type::INT8 => bind_int(i64::from(*v), value, ty, out),
            _ if is_textual(ty) => (if *v { "true" } else { "false" }).to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        Value::Int(v) => bind_int(*v, value, ty, out),
        Value::Float(v) => match *ty {
            Type::FLOAT8 => v.to_sql(ty, out),
            Type::FLOAT4 => match crate::value::narrow_f64(*v) {
                Some(narrow) => narrow.to_sql(ty, out),
                None => Err(format!(
                    "{v} does not fit a float4 parameter: a REAL column keeps about 7 \
                     significant digits (a `double` column keeps an f64's)"
                )
                .into()),
            },
            Type::NUMERIC => encode_numeric(&v.to_string(), out),
            // A whole number (`42.0`) is that integer, without loss; `2.5` stays refused.
            Type::INT2 | Type::INT4 | Type::INT8 => match whole_float(*v) {
                Some(whole) => bind_int(whole, value, ty, out),
                None => Err(mismatch(value.type_name(), ty)),
            },
            _ if is_textual(ty) => v.to_string().as_str().to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        Value::Text(v) => bind_text(v, ty, out),
        Value::Bytes(v) => match *ty {
            Type::BYTEA => v.as_slice().to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        Value::Date(v) => match *ty {
            Type::DATE => v.to_sql(ty, out),
            Type::TIMESTAMP => v.and_time(NaiveTime::MIN).to_sql(ty, out),
            Type::TIMESTAMPTZ => v.and_time(NaiveTime::MIN).and_utc().to_sql(ty, out),
            _ if is_textual(ty) => v.format("%Y-%m-%d").to_string().as_str().to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        Value::Time(v) => match *ty {
            Type::TIME => v.to_sql(ty, out),
            _ if is_textual(ty) => v
                .format("%H:%M:%S%.6f")
                .to_string()
                .as_str()
                .to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        Value::DateTime(v) => match *ty {
            Type::TIMESTAMP => whole_micros(*v).to_sql(ty, out),
            Type::TIMESTAMPTZ => whole_micros(*v).and_utc().to_sql(ty, out),
            Type::DATE => bind_date_of(*v, out),
            _ if is_textual(ty) => v
                .format(DATETIME_TEXT_FORMAT)
                .to_string()
                .as_str()
                .to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        Value::DateTimeUtc(v) => match *ty {
            Type::TIMESTAMPTZ => whole_micros(v.naive_utc()).and_utc().to_sql(ty, out),
            Type::TIMESTAMP => whole_micros(v.naive_utc()).to_sql(ty, out),
            Type::DATE => bind_date_of(v.naive_utc(), out),
            _ if is_textual(ty) => v
                .naive_utc()
                .format(DATETIME_TEXT_FORMAT)
                .to_string()
                .as_str()
                .to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        #[cfg(feature = "json")]
        Value::Json(v) => match *ty {
            Type::JSON | Type::JSONB => v.to_sql(ty, out),
            _ if is_textual(ty) => v.to_string().as_str().to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        Value::Array(items) => match ty.kind() {
            Kind::Array(element) => bind_array(items, element, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => match *ty {
            Type::NUMERIC => encode_numeric(&d.to_string(), out),
            Type::FLOAT8 => crate::decimal::nearest_f64(*d).to_sql(ty, out),
            Type::INT2 | Type::INT4 | Type::INT8 => match crate::decimal::whole(*d) {
                Some(v) => bind_int(v, value, ty, out),
                None => {
                    Err(format!("{d} is not a whole number for a {} parameter", ty.name()).into())
                }
            },
            _ if is_textual(ty) => d.to_string().as_str().to_sql(ty, out),
            _ => Err(mismatch(value.type_name(), ty)),
        },
    }
}

/// `v` in whole microseconds, the extra digits dropped as SQLite and MySQL drop them.
/// The postgres crate counts microseconds from 2000-01-01 towards zero, which rounds
/// an earlier time up (1999-12-31 23:59:59.999999999 became 2000-01-01).
#[inline]
fn whole_micros(v: NaiveDateTime) -> NaiveDateTime {
    let nanos = v.nanosecond();
    v.with_nanosecond(nanos - nanos % 1000).unwrap_or(v)
}

/// Binds a date-time to a `DATE` parameter when it is midnight: any other time of day
/// would be dropped silently.
fn bind_date_of(v: NaiveDateTime, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
    if v.time() != NaiveTime::MIN {
        return Err(format!(
            "{v} has a time of day, which a date parameter would drop; bind its date \
             (`.date()`) or compare with a timestamp"
        )
        .into());
    }
    v.date().to_sql(&Type::DATE, out)
}

/// Writes a one-dimensional array in PostgreSQL's binary format, each element bound
/// like a parameter of the element type.
fn bind_array(
    items: &[Value],
    element: &Type,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, BoxError> {
    let len = i32::try_from(items.len()).map_err(|_| "the array is too long to bind")?;
    out.put_i32(i32::from(len > 0));
    out.put_i32(i32::from(items.iter().any(Value::is_null)));
    out.put_u32(element.oid());
    if len > 0 {
        out.put_i32(len);
        out.put_i32(1);
    }
    for item in items {
        let at = out.len();
        out.put_i32(0);
        let size = match bind_value(item, element, out)? {
            IsNull::Yes => -1,
            IsNull::No => i32::try_from(out.len() - at - 4)
                .map_err(|_| "an array element is too large to bind")?,
        };
        out[at..at + 4].copy_from_slice(&size.to_be_bytes());
    }
    Ok(IsNull::No)
}

fn is_textual(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
}

/// Where a parameter sits in a statement, for [`PgConnection::widened`].
enum Placement {
    /// Compared (anywhere in a `SELECT`/`WITH`/`DELETE`, after the `WHERE` of anything
    /// else): any wider type only changes which rows match.
    Compared,
    /// The operand of `+`/`-` in what an `UPDATE` writes (`increment`).
    Operand,
    /// Written into a column: it keeps the column's type, so a refusal stays on the
    /// client and an open transaction goes on.
    Written,
}

fn placement(sql: &str, position: usize) -> Placement {
    let head = sql.trim_start().get(..6).unwrap_or_default();
    if ["SELECT", "WITH ", "DELETE"]
        .iter()
        .any(|k| head.len() >= k.len() && head[..k.len()].eq_ignore_ascii_case(k))
    {
        return Placement::Compared;
    }
    let marker = format!("${position}");
    let Some(at) = sql
        .match_indices(&marker)
        .map(|(at, _)| at)
        .find(|at| !sql[at + marker.len()..].starts_with(|c: char| c.is_ascii_digit()))
    else {
        return Placement::Written;
    };
    let filter = sql.to_ascii_uppercase().find(" WHERE ");
    if filter.is_some_and(|filter| at > filter) {
        Placement::Compared
    } else if sql[..at].ends_with("+ ") || sql[..at].ends_with("- ") {
        Placement::Operand
    } else {
        Placement::Written
    }
}

/// [`wider_integer_type`], and for a fraction compared with an integer column
/// (`where_("small", "<", 2.5)`), a `DOUBLE PRECISION` (a `NUMERIC` for a decimal): it
/// compares by value and matches nothing it should not.
fn wider_compared_type(ty: &Type, bind: &Bind<'_>) -> Option<Type> {
    if let Some(wider) = wider_integer_type(ty, bind) {
        return Some(wider);
    }
    if !matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8) {
        return None;
    }
    match bind {
        Bind::Value(Value::Float(v)) | Bind::Owned(Value::Float(v)) if v.is_finite() => {
            Some(Type::FLOAT8)
        }
        #[cfg(feature = "decimal")]
        Bind::Value(Value::Decimal(_)) | Bind::Owned(Value::Decimal(_)) => Some(Type::NUMERIC),
        _ => None,
    }
}

/// `v` as an `i64` when it is a whole number in its range (`42.0`, not `2.5` or NaN).
fn whole_float(v: f64) -> Option<i64> {
    // 2^63 is exactly representable; every whole f64 below it in size fits an i64.
    let limit = 9_223_372_036_854_775_808.0;
    (v.fract() == 0.0 && v >= -limit && v < limit).then_some(v as i64)
}

/// The type a parameter of integer type `ty` needs for an integer value it cannot hold:
/// `BIGINT` for an `i64` (or integer text, or whole float) past `INT2`/`INT4`, `NUMERIC`
/// for integer text past `i64`; the same for the elements of an array (`= ANY($1)`).
/// `None` for anything else, which stays refused.
fn wider_integer_type(ty: &Type, bind: &Bind<'_>) -> Option<Type> {
    let value = match bind {
        Bind::Value(value) => *value,
        Bind::Owned(value) => value,
        Bind::Text(text) => return wider_integer(ty, parse_integer_text(text)?),
        Bind::Bytes(_) => return None,
    };
    if let (Kind::Array(element), Value::Array(items)) = (ty.kind(), value) {
        let widest = items
            .iter()
            .filter_map(|item| wider_integer(element, integer_of(item)?))
            .max_by_key(|wider| *wider == Type::NUMERIC)?;
        return Some(if widest == Type::NUMERIC {
            Type::NUMERIC_ARRAY
        } else {
            Type::INT8_ARRAY
        });
    }
    wider_integer(ty, integer_of(value)?)
}

/// The integer a value spells (`Err` past `i64`), for [`wider_integer_type`].
fn integer_of(value: &Value) -> Option<std::result::Result<i64, ()>> {
    match value {
        Value::Int(v) => Some(Ok(*v)),
        Value::Float(v) => whole_float(*v).map(Ok),
        Value::Text(text) => parse_integer_text(text),
        _ => None,
    }
}

fn wider_integer(ty: &Type, value: std::result::Result<i64, ()>) -> Option<Type> {
    let fits = match (ty, value) {
        (&Type::INT2 | &Type::INT4 | &Type::INT8, Err(())) => false,
        (&Type::INT2, Ok(v)) => i16::try_from(v).is_ok(),
        (&Type::INT4, Ok(v)) => i32::try_from(v).is_ok(),
        _ => true,
    };
    match value {
        _ if fits => None,
        Ok(_) => Some(Type::INT8),
        Err(()) => Some(Type::NUMERIC),
    }
}

fn bind_int(
    v: i64,
    value: &Value,
    ty: &Type,
    out: &mut BytesMut,
) -> std::result::Result<IsNull, BoxError> {
    let range = |_| out_of_range(v, ty);
    match *ty {
        Type::INT8 => v.to_sql(ty, out),
        Type::INT4 => i32::try_from(v).map_err(range)?.to_sql(ty, out),
        Type::INT2 => i16::try_from(v).map_err(range)?.to_sql(ty, out),
        Type::OID => u32::try_from(v).map_err(range)?.to_sql(ty, out),
        Type::FLOAT8 if v.unsigned_abs() <= 1 << 53 => (v as f64).to_sql(ty, out),
        Type::FLOAT4 if v.unsigned_abs() <= 1 << 24 => (v as f32).to_sql(ty, out),
        Type::NUMERIC => encode_numeric(&v.to_string(), out),
        Type::BOOL if v == 0 || v == 1 => (v == 1).to_sql(ty, out),
        _ if is_textual(ty) => v.to_string().as_str().to_sql(ty, out),
        _ => Err(mismatch(value.type_name(), ty)),
    }
}

/// `Some` when `v` is a JSON document; without serde_json (feature `json` off) the
/// server checks it.
fn check_json(v: &str) -> Option<()> {
    #[cfg(feature = "json")]
    {
        serde_json::from_str::<serde::de::IgnoredAny>(v)
            .ok()
            .map(|_| ())
    }
    #[cfg(not(feature = "json"))]
    {
        let _ = v;
        Some(())
    }
}

fn bind_text(v: &str, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
    let unparsable = || -> BoxError { format!("text {v:?} is not a valid {}", ty.name()).into() };
    match *ty {
        _ if is_textual(ty) => v.to_sql(ty, out),
        Type::JSON => {
            check_json(v).ok_or_else(unparsable)?;
            out.put_slice(v.as_bytes());
            Ok(IsNull::No)
        }
        Type::JSONB => {
            check_json(v).ok_or_else(unparsable)?;
            out.put_u8(1);
            out.put_slice(v.as_bytes());
            Ok(IsNull::No)
        }
        Type::UUID => {
            let bytes = parse_uuid(v).ok_or_else(unparsable)?;
            out.put_slice(&bytes);
            Ok(IsNull::No)
        }
        Type::NUMERIC => encode_numeric(v, out),
        // An integer key from a URL or a form (`find("1")`), as PostgreSQL reads a text
        // literal for an integer parameter; range-checked by the parameter's width.
        Type::INT2 | Type::INT4 | Type::INT8 => match parse_integer_text(v) {
            Some(Ok(n)) => bind_int(n, &Value::Int(n), ty, out),
            Some(Err(())) => Err(out_of_range(v, ty)),
            None => Err(mismatch("text", ty)),
        },
        Type::DATE => NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .map_err(|_| unparsable())?
            .to_sql(ty, out),
        // `where_("starts", ">", "10:00")` on a TIME column: `HH:MM[:SS[.f]]`.
        Type::TIME => v
            .trim()
            .parse::<NaiveTime>()
            .or_else(|_| NaiveTime::parse_from_str(v.trim(), "%H:%M"))
            .map_err(|_| unparsable())?
            .to_sql(ty, out),
        Type::TIMESTAMP | Type::TIMESTAMPTZ => {
            let parsed = Value::Text(v.to_owned())
                .get::<NaiveDateTime>()
                .map(whole_micros)
                .map_err(|_| unparsable())?;
            if *ty == Type::TIMESTAMP {
                parsed.to_sql(ty, out)
            } else {
                parsed.and_utc().to_sql(ty, out)
            }
        }
        // Any other type (an enum, `INET`, `INTERVAL`, `MACADDR`, a range, ...): the
        // text goes in PostgreSQL's text format (see `PgBind::encode_format`), which the
        // server parses as it parses a literal.
        _ => {
            out.put_slice(v.as_bytes());
            Ok(IsNull::No)
        }
    }
}

/// Whether text bound to a parameter of type `ty` goes in the text format: for every
/// type [`bind_text`] does not encode itself.
fn text_in_text_format(ty: &Type) -> bool {
    !(is_textual(ty)
        || matches!(
            *ty,
            Type::JSON
                | Type::JSONB
                | Type::UUID
                | Type::NUMERIC
                | Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::DATE
                | Type::TIME
                | Type::TIMESTAMP
                | Type::TIMESTAMPTZ
        ))
}

/// Text that is an integer (PostgreSQL's form: an optional sign and decimal digits,
/// surrounding whitespace allowed): `Some(Ok)` when it fits an `i64`, `Some(Err)` when
/// it is an integer too large for one, `None` when it is no integer.
fn parse_integer_text(text: &str) -> Option<std::result::Result<i64, ()>> {
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<i64>().map_err(|_| ()))
}

/// An `INET`, `CIDR` or `MACADDR` value's binary form as PostgreSQL's text: the address,
/// with its mask when it is a network (always for `CIDR`).
fn format_network(ty: &Type, raw: &[u8]) -> Option<String> {
    if *ty == Type::MACADDR {
        let bytes: [u8; 6] = raw.try_into().ok()?;
        return Some(
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":"),
        );
    }
    // family, mask bits, is-cidr flag, address length, address.
    let [family, bits, cidr, len, address @ ..] = raw else {
        return None;
    };
    let (ip, full): (std::net::IpAddr, u8) = match (*family, *len, address) {
        (2, 4, a) => (
            std::net::Ipv4Addr::from(<[u8; 4]>::try_from(a).ok()?).into(),
            32,
        ),
        (3, 16, a) => (
            std::net::Ipv6Addr::from(<[u8; 16]>::try_from(a).ok()?).into(),
            128,
        ),
        _ => return None,
    };
    Some(if *bits == full && *cidr == 0 {
        ip.to_string()
    } else {
        format!("{ip}/{bits}")
    })
}

/// An `INTERVAL` (microseconds, days, months) as PostgreSQL writes it in its default
/// `IntervalStyle`: `1 year 2 mons -3 days +04:05:06.5`, `00:00:00` when zero.
fn format_interval(raw: &[u8]) -> Option<String> {
    let micros = i64::from_be_bytes(raw.get(0..8)?.try_into().ok()?);
    let days = i32::from_be_bytes(raw.get(8..12)?.try_into().ok()?);
    let months = i32::from_be_bytes(raw.get(12..16)?.try_into().ok()?);
    let mut text = String::new();
    // Whether the last part written was negative: a positive part after it is signed.
    let mut before_negative = false;
    for (value, unit) in [(months / 12, "year"), (months % 12, "mon"), (days, "day")] {
        if value == 0 {
            continue;
        }
        if !text.is_empty() {
            text.push(' ');
        }
        let sign = if before_negative && value > 0 {
            "+"
        } else {
            ""
        };
        let plural = if value == 1 { "" } else { "s" };
        text.push_str(&format!("{sign}{value} {unit}{plural}"));
        before_negative = value < 0;
    }
    if text.is_empty() || micros != 0 {
        let sign = match (micros < 0, text.is_empty(), before_negative) {
            (true, _, _) => "-",
            (false, false, true) => "+",
            _ => "",
        };
        let total = micros.unsigned_abs();
        let (seconds, fraction) = (total / 1_000_000, total % 1_000_000);
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&format!(
            "{sign}{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        ));
        if fraction != 0 {
            let digits = format!("{fraction:06}");
            text.push('.');
            text.push_str(digits.trim_end_matches('0'));
        }
    }
    Some(text)
}

fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = text.bytes().filter(|b| *b != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

fn format_uuid(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Writes a decimal string in PostgreSQL's binary NUMERIC format.
fn encode_numeric(text: &str, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
    let invalid = || -> BoxError { format!("{text:?} is not a decimal number").into() };
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if digits.eq_ignore_ascii_case("nan") {
        out.put_slice(&[0, 0, 0, 0, 0xC0, 0, 0, 0]);
        return Ok(IsNull::No);
    }
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty()
        || !int_part
            .bytes()
            .chain(frac_part.bytes())
            .all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    let int_part = int_part.trim_start_matches('0');
    // Pad so both parts split into whole base-10000 groups around the decimal point.
    let int_pad = (4 - int_part.len() % 4) % 4;
    let frac_pad = (4 - frac_part.len() % 4) % 4;
    let padded: String = "0".repeat(int_pad) + int_part + frac_part + &"0".repeat(frac_pad);
    let mut groups: Vec<i16> = padded
        .as_bytes()
        .chunks(4)
        .map(|c| {
            std::str::from_utf8(c)
                .unwrap_or("0")
                .parse::<i16>()
                .unwrap_or(0)
        })
        .collect();
    let int_groups = (int_part.len() + int_pad) / 4;
    let mut weight = int_groups as i32 - 1;
    while groups.first() == Some(&0) {
        groups.remove(0);
        weight -= 1;
    }
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let ndigits = i16::try_from(groups.len()).map_err(|_| invalid())?;
    let weight = i16::try_from(weight).map_err(|_| invalid())?;
    let dscale = u16::try_from(frac_part.len()).map_err(|_| invalid())?;
    out.put_i16(ndigits);
    out.put_i16(weight);
    out.put_u16(if negative && !groups.is_empty() {
        0x4000
    } else {
        0
    });
    out.put_u16(dscale);
    for g in groups {
        out.put_i16(g);
    }
    Ok(IsNull::No)
}

/// Reads PostgreSQL's binary NUMERIC into its exact decimal text.
fn decode_numeric(raw: &[u8]) -> Option<String> {
    let word =
        |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*raw.get(i)?, *raw.get(i + 1)?])) };
    let ndigits = word(0)? as usize;
    let weight = word(2)? as i16 as i32;
    let sign = word(4)?;
    let dscale = word(6)? as usize;
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits)
        .map(|i| word(8 + 2 * i))
        .collect::<Option<_>>()?;
    let mut int_part = String::new();
    for pos in 0..=weight.max(-1) {
        let d = digits.get(pos as usize).copied().unwrap_or(0);
        if int_part.is_empty() {
            if d != 0 {
                int_part = d.to_string();
            }
        } else {
            int_part.push_str(&format!("{d:04}"));
        }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let mut frac = String::new();
    let mut pos = weight + 1;
    while frac.len() < dscale {
        let d = if pos < 0 {
            0
        } else {
            digits.get(pos as usize).copied().unwrap_or(0)
        };
        frac.push_str(&format!("{d:04}"));
        pos += 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if frac.is_empty() {
        format!("{sign}{int_part}")
    } else {
        format!("{sign}{int_part}.{frac}")
    })
}

/// Reads PostgreSQL's binary NUMERIC into a [`rust_decimal::Decimal`] when it holds the
/// value exactly (at most 28 digits after the point, a mantissa within 96 bits); `None`
/// otherwise, and for NaN and the infinities.
#[cfg(feature = "decimal")]
fn decode_decimal(raw: &[u8]) -> Option<rust_decimal::Decimal> {
    let word =
        |i: usize| -> Option<u16> { Some(u16::from_be_bytes([*raw.get(i)?, *raw.get(i + 1)?])) };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    let mut scale = u32::from(word(6)?);
    if sign != 0 && sign != 0x4000 {
        return None;
    }
    // value = sum(digit[i] * 10000^(weight - i)); mantissa = value * 10^scale.
    let mut mantissa: i128 = 0;
    for i in 0..ndigits {
        let digit = i128::from(word(8 + 2 * i)?);
        let exponent = 4 * (weight - i as i32) + scale as i32;
        let term = if exponent >= 0 {
            digit.checked_mul(10i128.checked_pow(exponent as u32)?)?
        } else {
            // Digits below the display scale must be zeros to be dropped exactly.
            let divisor = 10i128.checked_pow(exponent.unsigned_abs())?;
            if digit % divisor != 0 {
                return None;
            }
            digit / divisor
        };
        mantissa = mantissa.checked_add(term)?;
    }
    // A column's scale pads the value with zeros (100000000000.5 in a NUMERIC(38, 18)
    // has 30 digits): those go while the mantissa or the scale is more than a Decimal
    // holds, which loses nothing.
    while scale > 0
        && mantissa % 10 == 0
        && (scale > rust_decimal::Decimal::MAX_SCALE || mantissa.unsigned_abs() >= 1u128 << 96)
    {
        mantissa /= 10;
        scale -= 1;
    }
    if sign == 0x4000 {
        mantissa = -mantissa;
    }
    rust_decimal::Decimal::try_from_i128_with_scale(mantissa, scale).ok()
}

/// A NUMERIC column's value: a [`rust_decimal::Decimal`] when it holds the value exactly
/// (feature `decimal`), the exact decimal text otherwise (NaN, the infinities, more
/// digits than a Decimal has). `None` when the bytes are malformed.
fn numeric_value(raw: &[u8]) -> Option<ValueRef<'static>> {
    #[cfg(feature = "decimal")]
    if let Some(d) = decode_decimal(raw) {
        return Some(ValueRef::Decimal(d));
    }
    decode_numeric(raw).map(|text| ValueRef::Text(Cow::Owned(text)))
}

/// The raw binary form of a column, for the types decoded here rather than by the driver.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(Raw(raw))
    }
    fn accepts(_ty: &Type) -> bool {
        true
    }
}

/// A `TIME` read from its microseconds since midnight. `24:00:00`, which PostgreSQL
/// stores and chrono has no value for, is refused instead of read as `00:00:00`.
struct PgTime(NaiveTime);

impl<'a> FromSql<'a> for PgTime {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        let bytes: [u8; 8] = raw.try_into().map_err(|_| "a TIME is 8 bytes")?;
        let micros = i64::from_be_bytes(bytes);
        let (secs, micros) = (micros.div_euclid(1_000_000), micros.rem_euclid(1_000_000));
        u32::try_from(secs)
            .ok()
            .and_then(|secs| {
                NaiveTime::from_num_seconds_from_midnight_opt(secs, micros as u32 * 1000)
            })
            .map(PgTime)
            .ok_or_else(|| "a time of day past 23:59:59.999999 (24:00:00)".into())
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIME
    }
}

impl crate::row::DriverRow for postgres::Row {
    #[inline]
    fn value_ref(&self, index: usize) -> std::result::Result<ValueRef<'_>, Box<Error>> {
        value_ref(self, index)
    }
}

fn value_ref(row: &postgres::Row, index: usize) -> std::result::Result<ValueRef<'_>, Box<Error>> {
    if let Some(value) = read_common(row, index) {
        return Ok(value);
    }
    read_value(row, index).map_err(Box::new)
}

/// The most common column types (integers, text, booleans, doubles) decoded straight from
/// the column's bytes in PostgreSQL's binary format, with one lookup; `None` sends anything
/// else (and any malformed value, for its precise error) to [`read_value`].
#[inline]
fn read_common(row: &postgres::Row, index: usize) -> Option<ValueRef<'_>> {
    let ty = row.columns().get(index)?.type_();
    if !matches!(
        *ty,
        Type::INT8
            | Type::INT4
            | Type::INT2
            | Type::TEXT
            | Type::VARCHAR
            | Type::BOOL
            | Type::FLOAT8
    ) {
        return None;
    }
    let Some(Raw(bytes)) = row.try_get::<_, Option<Raw<'_>>>(index).ok()? else {
        return Some(ValueRef::Null);
    };
    match *ty {
        Type::INT8 => Some(ValueRef::Int(i64::from_be_bytes(bytes.try_into().ok()?))),
        Type::INT4 => Some(ValueRef::Int(
            i32::from_be_bytes(bytes.try_into().ok()?).into(),
        )),
        Type::INT2 => Some(ValueRef::Int(
            i16::from_be_bytes(bytes.try_into().ok()?).into(),
        )),
        Type::FLOAT8 => Some(ValueRef::Float(f64::from_be_bytes(bytes.try_into().ok()?))),
        Type::BOOL => match bytes {
            [byte] => Some(ValueRef::Bool(*byte != 0)),
            _ => None,
        },
        _ => std::str::from_utf8(bytes)
            .ok()
            .map(|text| ValueRef::Text(Cow::Borrowed(text))),
    }
}

fn read_value(row: &postgres::Row, index: usize) -> Result<ValueRef<'_>> {
    let column = row
        .columns()
        .get(index)
        .ok_or_else(|| Error::ColumnNotFound(index.to_string()))?;
    let ty = column.type_();
    let fail = |e: postgres::Error| Error::Decode {
        column: column.name().to_owned(),
        expected: ty.name().to_owned(),
        found: e.source().map_or_else(|| e.to_string(), |s| s.to_string()),
    };
    macro_rules! get {
        ($t:ty, $wrap:expr) => {
            row.try_get::<_, Option<$t>>(index)
                .map_err(fail)?
                .map_or(ValueRef::Null, $wrap)
        };
    }
    Ok(match *ty {
        Type::BOOL => get!(bool, ValueRef::Bool),
        Type::INT2 => get!(i16, |v| ValueRef::Int(v.into())),
        Type::INT4 => get!(i32, |v| ValueRef::Int(v.into())),
        Type::INT8 => get!(i64, ValueRef::Int),
        Type::OID => get!(u32, |v| ValueRef::Int(v.into())),
        Type::FLOAT4 => get!(f32, |v| ValueRef::Float(crate::value::widen_f32(v))),
        Type::FLOAT8 => get!(f64, ValueRef::Float),
        // The one-byte `"char"` of the catalogs (`pg_class.relkind`): its character.
        Type::CHAR => get!(i8, |v| ValueRef::Text(Cow::Owned(
            char::from(v.to_ne_bytes()[0]).to_string()
        ))),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            get!(&str, |v| ValueRef::Text(Cow::Borrowed(v)))
        }
        Type::BYTEA => get!(&[u8], ValueRef::Bytes),
        Type::DATE => get!(NaiveDate, ValueRef::Date),
        Type::TIME => get!(PgTime, |v: PgTime| ValueRef::Time(v.0)),
        Type::TIMESTAMP => get!(NaiveDateTime, ValueRef::DateTime),
        Type::TIMESTAMPTZ => get!(DateTime<Utc>, ValueRef::DateTimeUtc),
        #[cfg(feature = "json")]
        Type::JSON | Type::JSONB => get!(serde_json::Value, |v| ValueRef::Json(Cow::Owned(v))),
        // Without serde_json a document reads as its text (JSONB: a version byte first).
        #[cfg(not(feature = "json"))]
        Type::JSON | Type::JSONB => match row.try_get::<_, Option<Raw<'_>>>(index).map_err(fail)? {
            None => ValueRef::Null,
            Some(Raw(raw)) => {
                let text = if *ty == Type::JSONB {
                    raw.get(1..).unwrap_or(&[])
                } else {
                    raw
                };
                ValueRef::Text(Cow::Owned(String::from_utf8_lossy(text).into_owned()))
            }
        },
        Type::UUID => get!(Raw<'_>, |v| ValueRef::Text(Cow::Owned(format_uuid(v.0)))),
        // As PostgreSQL writes them as text (`192.168.0.1`, `10.0.0.0/8`,
        // `08:00:2b:01:02:03`), as `INTERVAL` below (`1 day 02:00:00`).
        Type::INET | Type::CIDR | Type::MACADDR => {
            match row.try_get::<_, Option<Raw<'_>>>(index).map_err(fail)? {
                None => ValueRef::Null,
                Some(raw) => match format_network(ty, raw.0) {
                    Some(text) => ValueRef::Text(Cow::Owned(text)),
                    None => ValueRef::Bytes(raw.0),
                },
            }
        }
        Type::INTERVAL => match row.try_get::<_, Option<Raw<'_>>>(index).map_err(fail)? {
            None => ValueRef::Null,
            Some(raw) => match format_interval(raw.0) {
                Some(text) => ValueRef::Text(Cow::Owned(text)),
                None => ValueRef::Bytes(raw.0),
            },
        },
        Type::NUMERIC => match row.try_get::<_, Option<Raw<'_>>>(index).map_err(fail)? {
            None => ValueRef::Null,
            Some(raw) => numeric_value(raw.0).ok_or_else(|| Error::Decode {
                column: column.name().to_owned(),
                expected: "numeric".into(),
                found: "malformed numeric".into(),
            })?,
        },
        _ if matches!(ty.kind(), Kind::Enum(_)) || ty.name() == "citext" => {
            match row.try_get::<_, Option<Raw<'_>>>(index).map_err(fail)? {
                None => ValueRef::Null,
                Some(raw) => match std::str::from_utf8(raw.0) {
                    Ok(text) => ValueRef::Text(Cow::Borrowed(text)),
                    Err(_) => ValueRef::Bytes(raw.0),
                },
            }
        }
        _ => {
            return Err(Error::Decode {
                column: column.name().to_owned(),
                expected: "a supported column type".into(),
                found: format!(
                    "PostgreSQL type {} (cast it in SQL, e.g. ::text)",
                    ty.name()
                ),
            })
        }
    })
}

/// SQLSTATEs after which the server has ended the session: class 08 (connection
/// exception), 57P01-57P05 (admin or crash shutdown, cannot connect now, database
/// dropped, idle session timeout), 25P03 (idle in a transaction too long) and 25P04
/// (PostgreSQL 17's transaction timeout), both of which the server reports as FATAL.
fn ends_session(code: &SqlState) -> bool {
    let code = code.code();
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57P04" | "57P05" | "25P03" | "25P04"
        )
}

pub(crate) fn map_error(error: postgres::Error) -> Error {
    if let Some(refused) = error
        .source()
        .and_then(|source| source.downcast_ref::<BindRefused>())
    {
        let message = refused.message.clone();
        return match refused.out_of_range {
            true => Error::ValueOutOfRange {
                message,
                code: None,
                sql: None,
                source: Some(Box::new(error)),
            },
            false => Error::Bind {
                message,
                source: Some(Box::new(error)),
            },
        };
    }
    if let Some(db) = error.as_db_error() {
        let message = match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        };
        let code = db.code().clone();
        if ends_session(&code) {
            return Error::Connection {
                message: format!("the server ended the session: {message} ({})", code.code()),
                source: Some(Box::new(error)),
            };
        }
        let kind = if code == SqlState::UNIQUE_VIOLATION {
            Some(ConstraintKind::Unique)
        } else if code == SqlState::FOREIGN_KEY_VIOLATION {
            Some(ConstraintKind::ForeignKey)
        } else if code == SqlState::NOT_NULL_VIOLATION {
            Some(ConstraintKind::NotNull)
        } else if code == SqlState::CHECK_VIOLATION {
            Some(ConstraintKind::Check)
        } else {
            None
        };
        if let Some(kind) = kind {
            let violation = Violation {
                message,
                constraint: db.constraint().map(str::to_owned),
                columns: match db.column() {
                    Some(column) => vec![column.to_owned()],
                    None => db.detail().map(key_columns).unwrap_or_default(),
                },
                source: Some(Box::new(error)),
            };
            return Error::constraint(kind, violation);
        }
        if [
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::T_R_SERIALIZATION_FAILURE,
        ]
        .contains(&code)
        {
            return Error::Busy {
                message,
                code: Some(code.code().to_owned()),
                sql: None,
                source: Some(Box::new(error)),
            };
        }
        if [
            SqlState::STRING_DATA_RIGHT_TRUNCATION,
            SqlState::NUMERIC_VALUE_OUT_OF_RANGE,
            SqlState::DATETIME_FIELD_OVERFLOW,
            SqlState::CHARACTER_NOT_IN_REPERTOIRE,
            SqlState::UNTRANSLATABLE_CHARACTER,
        ]
        .contains(&code)
        {
            return Error::ValueOutOfRange {
                message,
                code: Some(code.code().to_owned()),
                sql: None,
                source: Some(Box::new(error)),
            };
        }
        if code == SqlState::INDETERMINATE_DATATYPE {
            // `? IS NULL` on its own: nothing around a NULL tells the parameter's type.
            return Error::Bind {
                message: format!(
                    "{message}: PostgreSQL cannot tell this parameter's type from the SQL \
                     around it; cast it (`?::text`, `?::bigint`)"
                ),
                source: Some(Box::new(error)),
            };
        }
        if code == SqlState::QUERY_CANCELED {
            return Error::StatementCancelled {
                message,
                code: Some(code.code().to_owned()),
                sql: None,
                source: Some(Box::new(error)),
            };
        }
        return Error::Database {
            message,
            code: Some(code.code().to_owned()),
            sql: None,
            source: Some(Box::new(error)),
        };
    }
    let message = match error.source() {
        Some(source) => format!("{error}: {source}"),
        None => error.to_string(),
    };
    let io_failure = error
        .source()
        .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some());
    if error.is_closed() || io_failure {
        return Error::Connection {
            message,
            source: Some(Box::new(error)),
        };
    }
    // A value that cannot be converted to its parameter's type (`PgBind` refused it).
    if error.to_string().starts_with("error serializing parameter") {
        return Error::Bind {
            message,
            source: Some(Box::new(error)),
        };
    }
    Error::Database {
        message,
        code: None,
        sql: None,
        source: Some(Box::new(error)),
    }
}

/// The columns a unique or foreign key violation's detail names: `Key (a, b)=(1, 2)
/// already exists.`, `Key (user_id)=(5) is not present in table "users".` An expression
/// of an expression index (`lower(email::text)`) is no column and is left out.
fn key_columns(detail: &str) -> Vec<String> {
    let Some(list) = detail
        .strip_prefix("Key (")
        .and_then(|rest| rest.split_once(")=(").map(|(list, _)| list))
    else {
        return Vec::new();
    };
    list.split(", ")
        .map(|name| name.trim())
        .filter(|name| !name.contains(['(', ')', ':', ' ']) || name.starts_with('"'))
        .map(|name| {
            name.strip_prefix('"')
                .and_then(|n| n.strip_suffix('"'))
                .map_or_else(|| name.to_owned(), |n| n.replace("\"\"", "\""))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let mut out = BytesMut::new();
        encode_numeric(text, &mut out).unwrap();
        decode_numeric(&out).unwrap()
    }

    #[test]
    fn integer_text_binds_to_integer_parameters_in_range() {
        let bind = |text: &str, ty: &Type| bind_text(text, ty, &mut BytesMut::new()).map(|_| ());
        for ok in ["1", " 42 ", "-7", "+3", "9223372036854775807"] {
            assert!(bind(ok, &Type::INT8).is_ok(), "{ok:?}");
        }
        assert!(bind("32767", &Type::INT2).is_ok());
        let err = |text: &str, ty: &Type| bind(text, ty).unwrap_err().to_string();
        assert_eq!(
            err("32768", &Type::INT2),
            "32768 does not fit a parameter of type int2"
        );
        assert_eq!(
            err("9223372036854775808", &Type::INT8),
            "9223372036854775808 does not fit a parameter of type int8"
        );
        for bad in ["", "abc", "1.5", "1e3", "0x10", "- 1", "1 2"] {
            assert_eq!(
                err(bad, &Type::INT4),
                "cannot bind a text value to a parameter of type int4",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn numeric_binary_round_trips() {
        for (input, expected) in [
            ("0", "0"),
            ("12.50", "12.50"),
            ("-12345678.0001", "-12345678.0001"),
            ("0.000123", "0.000123"),
            ("10000", "10000"),
            ("99999999999999999999.99", "99999999999999999999.99"),
        ] {
            assert_eq!(roundtrip(input), expected, "{input}");
        }
        assert!(encode_numeric("1e5", &mut BytesMut::new()).is_err());
        assert!(encode_numeric("", &mut BytesMut::new()).is_err());
    }

    #[cfg(feature = "decimal")]
    #[test]
    fn numeric_binary_reads_as_an_exact_decimal() {
        let decimal = |text: &str| {
            let mut out = BytesMut::new();
            encode_numeric(text, &mut out).unwrap();
            decode_decimal(&out)
        };
        for text in [
            "0",
            "19.99",
            "-0.01",
            "12.50",
            "10000",
            "0.000123",
            "-12345678.0001",
            "1234567890.123456789012345678",
            "79228162514264337593543950335",
        ] {
            let expected = rust_decimal::Decimal::from_str_exact(text).unwrap();
            let read = decimal(text).unwrap();
            assert_eq!(read, expected, "{text}");
            assert_eq!(read.to_string(), text, "{text} keeps its scale");
        }
        // A scale beyond 28 is exact when the extra digits are zeros.
        assert_eq!(
            decimal("1.500000000000000000000000000000")
                .unwrap()
                .to_string(),
            "1.5000000000000000000000000000"
        );
        // Not representable exactly: left to the text fallback.
        assert_eq!(decimal("79228162514264337593543950336"), None);
        assert_eq!(decimal("0.12345678901234567890123456789"), None);
        assert_eq!(decimal("NaN"), None);
    }

    #[test]
    fn transaction_control_is_recognised() {
        for sql in [
            "BEGIN",
            "  begin isolation level serializable",
            "START TRANSACTION",
        ] {
            assert!(starts_transaction(sql), "{sql}");
        }
        for sql in ["SELECT 1", "SAVEPOINT orm_savepoint_1", "BEG"] {
            assert!(!starts_transaction(sql), "{sql}");
        }
        for sql in [
            "COMMIT",
            "rollback;",
            "END WORK",
            "ABORT TRANSACTION",
            " COMMIT ; ",
        ] {
            assert!(ends_transaction(sql), "{sql}");
        }
        for sql in [
            "ROLLBACK TO SAVEPOINT s",
            "ROLLBACK TO SAVEPOINT s; RELEASE SAVEPOINT s",
            "RELEASE SAVEPOINT s",
            "COMMIT PREPARED 'x'",
            "BEGIN; COMMIT",
        ] {
            assert!(!ends_transaction(sql), "{sql}");
        }
    }

    #[test]
    fn uuid_text_round_trips() {
        let text = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert_eq!(format_uuid(&parse_uuid(text).unwrap()), text);
        assert!(parse_uuid("nope").is_none());
    }

    #[test]
    fn key_columns_come_from_the_violations_detail() {
        assert_eq!(
            key_columns("Key (email)=(a@b.c) already exists."),
            ["email"]
        );
        assert_eq!(
            key_columns("Key (team_id, nick)=(1, x) already exists."),
            ["team_id", "nick"]
        );
        assert_eq!(
            key_columns("Key (user_id)=(5) is not present in table \"users\"."),
            ["user_id"]
        );
        assert_eq!(
            key_columns("Key (\"Odd Name\")=(1) already exists."),
            ["Odd Name"]
        );
        assert!(key_columns("Key (lower(email::text))=(a) already exists.").is_empty());
        assert!(key_columns("Failing row contains (1).").is_empty());
    }
}
