//! MySQL and MariaDB through the `mysql` crate. The only module that knows that driver.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveTime};
use mysql::consts::{CapabilityFlags, ColumnType};
use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, Params, Value as MyValue};

use crate::dialect::Dialect;
use crate::error::{ConstraintKind, Error, Result, Violation};
use crate::row::{Row, RowInner};
use crate::value::{Bind, Param, ParamRef, Value, ValueRef};

const STATEMENT_CACHE_CAPACITY: usize = 512;

/// The session every connection runs in (after `SET NAMES utf8mb4`, so that text of
/// any Unicode character travels unchanged): strict (bad data is an error, not a warning
/// and a silently changed value), backslashes plain characters in string literals (the
/// dialect's literals and `LIKE ... ESCAPE '\'` are standard SQL), and UTC, so
/// `CURRENT_TIMESTAMP` and DATETIME values agree with what the ORM writes.
const SESSION_SETUP: &str = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,\
     NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_BACKSLASH_ESCAPES', \
     time_zone = '+00:00'";

/// The oldest MariaDB supported: the first with `INSERT ... RETURNING` (older ones are
/// past their end of life, and untested).
const MARIADB_OLDEST: (u16, u16) = (10, 5);
/// The oldest MySQL supported: CHECK constraints, window functions, utf8mb4 throughout.
const MYSQL_OLDEST: (u16, u16) = (8, 0);

/// Server error codes.
mod code {
    pub(super) const DUP_ENTRY: u16 = 1062;
    pub(super) const DUP_ENTRY_WITH_KEY_NAME: u16 = 1586;
    pub(super) const NO_REFERENCED_ROW: u16 = 1216;
    pub(super) const ROW_IS_REFERENCED: u16 = 1217;
    pub(super) const ROW_IS_REFERENCED_2: u16 = 1451;
    pub(super) const NO_REFERENCED_ROW_2: u16 = 1452;
    pub(super) const BAD_NULL: u16 = 1048;
    pub(super) const NO_DEFAULT_FOR_FIELD: u16 = 1364;
    pub(super) const CHECK_CONSTRAINT_VIOLATED: u16 = 3819;
    pub(super) const MARIADB_CONSTRAINT_FAILED: u16 = 4025;
    pub(super) const LOCK_WAIT_TIMEOUT: u16 = 1205;
    pub(super) const LOCK_DEADLOCK: u16 = 1213;
    /// MySQL 8's `NOWAIT` refusal (MariaDB reports `LOCK_WAIT_TIMEOUT`).
    pub(super) const LOCK_NOWAIT: u16 = 3572;
    pub(super) const SERVER_SHUTDOWN: u16 = 1053;
    pub(super) const CONNECTION_KILLED: u16 = 1927;
    pub(super) const SERVER_GONE: u16 = 2006;
    pub(super) const SERVER_LOST: u16 = 2013;
    /// MySQL 8.0.24+ (`ER_CLIENT_INTERACTION_TIMEOUT`), sent before it closes an idle
    /// session; MariaDB uses the number for an unrelated error.
    pub(super) const CLIENT_INTERACTION_TIMEOUT: u16 = 4031;
    pub(super) const UNSUPPORTED_PS: u16 = 1295;
    pub(super) const QUERY_INTERRUPTED: u16 = 1317;
    pub(super) const MARIADB_STATEMENT_TIMEOUT: u16 = 1969;
    pub(super) const MYSQL_EXECUTION_TIMEOUT: u16 = 3024;
    /// `Data too long for column`.
    pub(super) const DATA_TOO_LONG: u16 = 1406;
    /// `Out of range value for column`.
    pub(super) const OUT_OF_RANGE: u16 = 1264;
    /// `.. value is out of range in ..` (arithmetic).
    pub(super) const DATA_OUT_OF_RANGE: u16 = 1690;
    /// `Incorrect .. value: '..' for column ..`: text the column's character set cannot
    /// hold (or multi-byte text past a `TEXT`'s size, on MariaDB), a number's column
    /// given text.
    pub(super) const INCORRECT_VALUE: u16 = 1366;
    /// `Data truncated for column ..`: an `ALTER` to a type or size, or to `NOT NULL`,
    /// that a value the column holds does not fit.
    pub(super) const DATA_TRUNCATED: u16 = 1265;
    /// `Truncated incorrect .. value: '..'`: text a number or date column cannot read.
    pub(super) const TRUNCATED_WRONG_VALUE: u16 = 1292;
}

pub(crate) struct MysqlConnection {
    conn: Conn,
    /// Set once the driver reported the connection lost.
    closed: bool,
    /// Whether SQL sent on this connection may have left a transaction open (see
    /// `PgConnection`: tracked from the statements; an over-estimate costs a ROLLBACK).
    transaction_maybe_open: bool,
    /// Whether SQL sent on this connection turned `autocommit` off: every later
    /// statement then runs in an implicit transaction that a pool's next user would
    /// inherit (its writes reported done, never committed), so the connection is not
    /// handed out again.
    autocommit_off: bool,
    /// Whether the last failure rolled the whole transaction back (a deadlock does, on
    /// InnoDB): committing the level it happened in must then fail.
    aborted: bool,
    /// How generated keys are read on this server.
    keys: Keys,
    /// The first key the last statement generated (`LAST_INSERT_ID()`), 0 for none.
    last_insert_id: u64,
}

/// How a connection reads generated keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keys {
    /// `INSERT ... RETURNING` (MariaDB 10.5+, unless the URL says `returning=off`).
    pub(crate) returning: bool,
    /// Without RETURNING: whether the keys one multi-row `INSERT` generates are
    /// consecutive (`innodb_autoinc_lock_mode` 0 or 1 and `auto_increment_increment`
    /// 1), so that they are the first key and the ones after it.
    pub(crate) consecutive: bool,
}

/// The diagnostic URL options this crate reads (and removes before the driver sees
/// the URL): `returning=off` takes the path of servers without `RETURNING` (MySQL 8)
/// on MariaDB; `autoinc_consecutive=off` treats multi-row keys as not consecutive
/// (as under `innodb_autoinc_lock_mode = 2`), so that `insert_many` inserts row by row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Diagnostics {
    no_returning: bool,
    not_consecutive: bool,
}

/// Splits this crate's own options off a `mysql://` URL: the URL for the driver, and
/// what they asked for.
fn split_options(url: &str) -> Result<(String, Diagnostics)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), Diagnostics::default()));
    };
    let mut diagnostics = Diagnostics::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let flag = match key {
            "returning" => &mut diagnostics.no_returning,
            "autoinc_consecutive" => &mut diagnostics.not_consecutive,
            _ => {
                kept.push(pair);
                continue;
            }
        };
        *flag = match value {
            "off" => true,
            "auto" => false,
            other => {
                return Err(Error::Config(format!(
                    "the MySQL URL option {key} takes `off` or `auto`, not `{other}`"
                )))
            }
        };
    }
    let url = match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    };
    Ok((url, diagnostics))
}

impl MysqlConnection {
    pub(crate) fn open(url: &str) -> Result<MysqlConnection> {
        let redacted = crate::url::redact(url);
        let (url, diagnostics) = split_options(url)?;
        let opts = Opts::from_url(&url)
            .map_err(|e| Error::Config(format!("invalid MySQL URL {redacted}: {e}")))?;
        let opts = OptsBuilder::from_opts(opts)
            .prefer_socket(false)
            .stmt_cache_size(Some(STATEMENT_CACHE_CAPACITY))
            // An UPDATE reports the rows it matched, as on the other backends, not
            // only those whose values changed.
            .additional_capabilities(CapabilityFlags::CLIENT_FOUND_ROWS)
            .init(vec!["SET NAMES utf8mb4", SESSION_SETUP]);
        let mut conn = Conn::new(opts).map_err(|e| Error::Connection {
            message: format!("cannot connect to {redacted}: {e}"),
            source: Some(Box::new(e)),
        })?;
        let version: Option<String> = conn.query_first("SELECT VERSION()").map_err(map_error)?;
        let returning = check_server(&version.unwrap_or_default())? && !diagnostics.no_returning;
        let consecutive = !returning && !diagnostics.not_consecutive && {
            // Read once: the lock mode is fixed while the server runs; the increment
            // is the session's (a `SET` after connecting is not seen).
            let settings: Option<(i64, i64)> = conn
                .query_first("SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment")
                .map_err(map_error)?;
            settings.is_some_and(|(mode, step)| consecutive_keys(mode, step))
        };
        Ok(MysqlConnection {
            conn,
            closed: false,
            transaction_maybe_open: false,
            autocommit_off: false,
            aborted: false,
            keys: Keys {
                returning,
                consecutive,
            },
            last_insert_id: 0,
        })
    }

    /// The dialect of this server: with or without `RETURNING`.
    pub(crate) fn dialect(&self) -> &'static dyn Dialect {
        match self.keys.returning {
            true => crate::Backend::Mysql.dialect(),
            false => crate::dialect::MYSQL_WITHOUT_RETURNING,
        }
    }

    pub(crate) fn keys(&self) -> Keys {
        self.keys
    }

    /// The first key the last statement generated; 0 when it generated none.
    pub(crate) fn last_insert_id(&self) -> u64 {
        self.last_insert_id
    }

    fn prepare(&mut self, sql: &str) -> Result<Option<mysql::Statement>> {
        match self.conn.prep(sql) {
            Ok(stmt) => Ok(Some(stmt)),
            // A statement the binary protocol does not take: sent as text (it has no
            // parameters: the server rejects `?` outside prepared statements).
            Err(mysql::Error::MySqlError(e)) if e.code == code::UNSUPPORTED_PS => Ok(None),
            Err(e) => Err(self.note(map_error(e))),
        }
    }

    /// InnoDB rolls back the whole transaction of a deadlock's victim, savepoints
    /// included; other failures undo only their statement.
    pub(crate) fn after_failure(&mut self) -> super::AfterFailure {
        if std::mem::take(&mut self.aborted) {
            super::AfterFailure::Ended
        } else {
            super::AfterFailure::Kept
        }
    }

    fn track_transaction(&mut self, sql: &str, succeeded: bool) {
        if starts_transaction(sql) {
            self.transaction_maybe_open = true;
        } else if succeeded && ends_transaction(sql) {
            self.transaction_maybe_open = false;
        } else if succeeded && is_set(sql) {
            self.track_autocommit(sql);
        }
    }

    fn track_autocommit(&mut self, sql: &str) {
        if let Some(on) = autocommit_setting(sql) {
            self.autocommit_off = !on;
        }
    }

    /// Refuses a statement that would commit the open transaction behind the caller's
    /// back: the rows written before it would be kept whatever the transaction does, and
    /// those after it would be written outside any transaction.
    fn check_no_implicit_commit(&self, sql: &str) -> Result<()> {
        if self.transaction_maybe_open
            && crate::dialect::sql_tokens::any_statement_head(sql, commits_implicitly)
        {
            return Err(Error::invalid_query(
                crate::error::InvalidQueryKind::Unsupported,
                format!(
                    "MySQL commits an open transaction before `{}`: run it outside the \
                     transaction (rows written before it would be kept, whatever the \
                     transaction does)",
                    sql.trim().chars().take(60).collect::<String>()
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn execute<P: Param>(&mut self, sql: &str, params: &[P]) -> Result<u64> {
        self.aborted = false;
        self.check_no_implicit_commit(sql)?;
        let result = self.execute_inner(sql, params);
        self.track_transaction(sql, result.is_ok());
        result
    }

    fn execute_inner<P: Param>(&mut self, sql: &str, params: &[P]) -> Result<u64> {
        self.last_insert_id = 0;
        let stmt = self.prepare(sql)?;
        let changed = match stmt {
            Some(stmt) => {
                check_count(usize::from(stmt.num_params()), params.len())?;
                let values = binds(params)?;
                match self.conn.exec_iter(&stmt, values) {
                    Ok(mut result) => affected(&mut result),
                    Err(e) => Err(too_large_hint(map_error(e), params)),
                }
            }
            None => {
                check_count(0, params.len())?;
                match self.conn.query_iter(sql) {
                    Ok(mut result) => affected(&mut result),
                    Err(e) => Err(map_error(e)),
                }
            }
        };
        changed
            .map(|(changed, id)| {
                self.last_insert_id = id;
                changed
            })
            .map_err(|e| {
                let e = self.note(e);
                self.unique_columns(e, sql)
            })
    }

    /// A unique violation names its key but not its columns (`Duplicate entry 'a' for
    /// key 'users_email_unique'`): they are read from the catalog, as the other
    /// backends report them. The key's table is the statement's when several tables
    /// have a key of that name (`PRIMARY`); when it cannot be told, none are given.
    #[cold]
    fn unique_columns(&mut self, mut error: Error, sql: &str) -> Error {
        let Error::UniqueViolation {
            constraint: Some(key),
            columns,
            ..
        } = &mut error
        else {
            return error;
        };
        if !columns.is_empty() {
            return error;
        }
        let found: Vec<(String, String)> = match self.conn.exec(
            "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME = ? ORDER BY TABLE_NAME, SEQ_IN_INDEX",
            (key.as_str(),),
        ) {
            Ok(rows) => rows,
            Err(_) => return error,
        };
        let table = statement_table(sql);
        let mut tables: Vec<&str> = found.iter().map(|(t, _)| t.as_str()).collect();
        tables.dedup();
        let table = match (tables.as_slice(), table.as_deref()) {
            ([only], _) => (*only).to_owned(),
            (_, Some(named)) if tables.iter().any(|t| t.eq_ignore_ascii_case(named)) => {
                named.to_owned()
            }
            _ => return error,
        };
        *columns = found
            .into_iter()
            .filter(|(t, _)| t.eq_ignore_ascii_case(&table))
            .map(|(_, column)| column)
            .collect();
        error
    }

    /// Notes what a mapped error says about the connection.
    fn note(&mut self, error: Error) -> Error {
        match &error {
            Error::Connection { .. } => self.closed = true,
            Error::Busy { message, .. } if message.contains("Deadlock") => self.aborted = true,
            _ => {}
        }
        error
    }

    pub(crate) fn query_each<P: Param>(
        &mut self,
        sql: &str,
        params: &[P],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
        caught: &mut Option<Error>,
        // The driver reads rows off the connection as they are asked for already.
        _streamed: bool,
    ) -> Result<()> {
        self.aborted = false;
        self.check_no_implicit_commit(sql)?;
        let result = self.query_inner(sql, params, f, caught);
        self.track_transaction(sql, result.is_ok());
        result
    }

    fn query_inner<P: Param>(
        &mut self,
        sql: &str,
        params: &[P],
        f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
        caught: &mut Option<Error>,
    ) -> Result<()> {
        let stmt = self.prepare(sql)?;
        let outcome = match stmt {
            Some(stmt) => {
                check_count(usize::from(stmt.num_params()), params.len())?;
                let values = binds(params)?;
                match self.conn.exec_iter(&stmt, values) {
                    Ok(mut result) => each_row(&mut result, f, caught),
                    Err(e) => Err(too_large_hint(map_error(e), params)),
                }
            }
            None => {
                check_count(0, params.len())?;
                match self.conn.query_iter(sql) {
                    Ok(mut result) => each_row(&mut result, f, caught),
                    Err(e) => Err(map_error(e)),
                }
            }
        };
        outcome.map_err(|e| {
            let e = self.note(e);
            self.unique_columns(e, sql)
        })
    }

    pub(crate) fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.aborted = false;
        self.check_no_implicit_commit(sql)?;
        let result = match self.conn.query_iter(sql) {
            Ok(mut result) => drain(&mut result).map(drop),
            Err(e) => Err(map_error(e)),
        };
        let result = result.map_err(|e| self.note(e));
        // Several statements: any of them may begin a transaction. A script that ran
        // whole is known by its last statement beginning or ending one (`BEGIN; ..;
        // COMMIT;` leaves none open, so a later `ANALYZE` is not refused for it).
        let lower = sql.to_ascii_lowercase();
        match script_leaves_transaction(sql).filter(|_| result.is_ok()) {
            Some(open) => self.transaction_maybe_open = open,
            None if lower.contains("begin") || lower.contains("start transaction") => {
                self.transaction_maybe_open = true;
            }
            None if result.is_ok() && ends_transaction(sql) => {
                self.transaction_maybe_open = false;
            }
            None => {}
        }
        // Whether or not it failed part-way: an earlier statement may have run.
        if lower.contains("autocommit") {
            self.track_autocommit(&lower);
        }
        result
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    pub(crate) fn still_open(&mut self, verify: bool) -> bool {
        if self.closed {
            return false;
        }
        if verify && self.conn.ping().is_err() {
            self.closed = true;
        }
        !self.closed
    }

    pub(crate) fn has_open_transaction(&mut self) -> bool {
        self.transaction_maybe_open || self.autocommit_off
    }
}

/// Refuses servers older than supported (MySQL before 8.0, MariaDB before 10.5);
/// otherwise whether the server has `INSERT ... RETURNING` (MariaDB does, MySQL not).
fn check_server(version: &str) -> Result<bool> {
    // From `VERSION()`: the handshake's version of MariaDB is "5.5.5-10.11.19-MariaDB".
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .map(|n| n.parse::<u16>().unwrap_or(0));
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    let mariadb = version.contains("MariaDB");
    let (name, oldest) = match mariadb {
        true => ("MariaDB", MARIADB_OLDEST),
        false => ("MySQL", MYSQL_OLDEST),
    };
    if (major, minor) < oldest {
        return Err(Error::Config(format!(
            "server {version} is {name} {major}.{minor}; {name} {}.{} or later is needed",
            oldest.0, oldest.1
        )));
    }
    Ok(mariadb)
}

/// Whether one multi-row `INSERT` ("simple insert": its row count known up front) takes
/// consecutive keys: under `innodb_autoinc_lock_mode` 0 (traditional) or 1
/// (consecutive), with an `auto_increment_increment` of 1. Mode 2 (interleaved, MySQL
/// 8's default) lets concurrent inserts take keys in between.
fn consecutive_keys(lock_mode: i64, increment: i64) -> bool {
    matches!(lock_mode, 0 | 1) && increment == 1
}

fn check_count(expected: usize, given: usize) -> Result<()> {
    if expected != given {
        return Err(Error::bind(format!(
            "the statement has {expected} placeholder(s) but {given} value(s) were bound"
        )));
    }
    Ok(())
}

/// Reads every result set to its end, surfacing an error a later statement of a batch
/// reports (dropping the result would swallow it).
/// Reads the result to its end; returns how many rows it held.
fn drain<P: mysql::prelude::Protocol>(
    result: &mut mysql::QueryResult<'_, '_, '_, P>,
) -> Result<u64> {
    let mut rows = 0;
    while let Some(set) = result.iter() {
        for row in set {
            row.map_err(map_error)?;
            rows += 1;
        }
    }
    Ok(rows)
}

/// The rows the statement changed and the first key it generated (0: none), its
/// result read to the end.
fn affected<P: mysql::prelude::Protocol>(
    result: &mut mysql::QueryResult<'_, '_, '_, P>,
) -> Result<(u64, u64)> {
    let changed = result.affected_rows();
    let id = result.last_insert_id().unwrap_or(0);
    // A write with `RETURNING` answers with its rows, not with a count.
    let returned = drain(result)?;
    Ok((if returned > 0 { returned } else { changed }, id))
}

fn each_row<P: mysql::prelude::Protocol>(
    result: &mut mysql::QueryResult<'_, '_, '_, P>,
    f: &mut dyn FnMut(&Row<'_>) -> Result<bool>,
    caught: &mut Option<Error>,
) -> Result<()> {
    let mut wanted = true;
    while let Some(set) = result.iter() {
        for row in set {
            let row = row.map_err(map_error)?;
            if wanted {
                let row = Row {
                    inner: RowInner::Mysql(&row),
                    rows_hint: 0,
                    positions: None,
                };
                wanted = super::call_row(f, &row, caught);
            }
        }
    }
    Ok(())
}

/// Whether one statement may open a transaction (`BEGIN`, `START TRANSACTION`).
fn is_set(sql: &str) -> bool {
    let head = sql.trim_start().get(..3).unwrap_or_default();
    head.eq_ignore_ascii_case("SET")
}

/// The value the last `autocommit = ..` assignment in `sql` gives it (`SET autocommit
/// = 0`, `SET @@SESSION.autocommit=OFF`, ...), if any.
fn autocommit_setting(sql: &str) -> Option<bool> {
    let squashed: String = sql
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let value = &squashed[squashed.rfind("autocommit=")? + "autocommit=".len()..];
    let is = |words: &[&str]| words.iter().any(|w| value.starts_with(w));
    if is(&["0", "off", "false"]) {
        Some(false)
    } else if is(&["1", "on", "true"]) {
        Some(true)
    } else {
        None
    }
}

/// Whether the last statement of `sql` that begins or ends a transaction begins one
/// (`None` when none does): `BEGIN`/`START TRANSACTION` open one, `COMMIT`/`ROLLBACK`
/// close it (not `ROLLBACK TO` a savepoint; a `COMMIT AND ..` may chain a new one, so it
/// counts as open).
fn script_leaves_transaction(sql: &str) -> Option<bool> {
    let mut open = None;
    crate::dialect::sql_tokens::any_statement_head(sql, |first, second| {
        let is = |word: &str, keyword: &str| word.eq_ignore_ascii_case(keyword);
        if is(first, "BEGIN") || (is(first, "START") && is(second, "TRANSACTION")) {
            open = Some(true);
        } else if (is(first, "COMMIT") || is(first, "ROLLBACK")) && !is(second, "TO") {
            open = Some(is(second, "AND"));
        }
        false
    });
    open
}

fn starts_transaction(sql: &str) -> bool {
    let head = sql.trim_start().get(..5).unwrap_or_default();
    head.eq_ignore_ascii_case("BEGIN") || head.eq_ignore_ascii_case("START")
}

/// Whether MySQL commits an open transaction before running `statement` (its
/// "statements that cause an implicit commit"): data definition (but `CREATE`/`DROP
/// TEMPORARY TABLE`), `TRUNCATE`, `LOCK TABLES`, account management and table
/// maintenance.
fn commits_implicitly(first: &str, second: &str) -> bool {
    const COMMITTING: [&str; 16] = [
        "ALTER",
        "CREATE",
        "DROP",
        "RENAME",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "LOCK",
        "ANALYZE",
        "OPTIMIZE",
        "REPAIR",
        "CHECK",
        "FLUSH",
        "RESET",
        "INSTALL",
        "UNINSTALL",
    ];
    if !COMMITTING.iter().any(|k| first.eq_ignore_ascii_case(k)) {
        return false;
    }
    let temporary = second.eq_ignore_ascii_case("TEMPORARY");
    let creates_or_drops =
        first.eq_ignore_ascii_case("CREATE") || first.eq_ignore_ascii_case("DROP");
    !(creates_or_drops && temporary)
}

/// Whether `sql` is exactly one statement closing the transaction.
fn ends_transaction(sql: &str) -> bool {
    let statement = sql.trim().trim_end_matches(';').trim_end();
    let mut words = statement.split_ascii_whitespace();
    let first = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    let closes = ["COMMIT", "ROLLBACK"]
        .iter()
        .any(|k| first.eq_ignore_ascii_case(k));
    let noise_only = match rest.as_slice() {
        [] => true,
        [word] => word.eq_ignore_ascii_case("WORK"),
        _ => false,
    };
    closes && noise_only
}

fn binds<P: Param>(params: &[P]) -> Result<Params> {
    if params.is_empty() {
        return Ok(Params::Empty);
    }
    let mut out = Vec::with_capacity(params.len());
    for (index, param) in params.iter().enumerate() {
        out.push(bind(param.param(), index + 1)?);
    }
    Ok(Params::Positional(out))
}

fn bind(bind: Bind<'_>, position: usize) -> Result<MyValue> {
    let value = match bind {
        Bind::Text(text) => return Ok(MyValue::Bytes(text.as_bytes().to_vec())),
        Bind::Bytes(bytes) => return Ok(MyValue::Bytes(bytes.to_vec())),
        Bind::Value(value) => value,
        Bind::Owned(ref value) => value,
    };
    Ok(match value {
        Value::Null => MyValue::NULL,
        Value::Bool(v) => MyValue::Int(i64::from(*v)),
        Value::Int(v) => MyValue::Int(*v),
        Value::Float(v) if !v.is_finite() => {
            return Err(Error::bind(format!(
                "parameter {position} is {v}, which MySQL cannot store"
            )))
        }
        Value::Float(v) => MyValue::Double(*v),
        Value::Text(v) => MyValue::Bytes(v.as_bytes().to_vec()),
        Value::Bytes(v) => MyValue::Bytes(v.clone()),
        Value::Date(d) => date_value(*d, NaiveTime::MIN, position)?,
        Value::Time(t) => {
            use chrono::Timelike;
            MyValue::Time(
                false,
                0,
                t.hour() as u8,
                t.minute() as u8,
                t.second() as u8,
                t.nanosecond().min(999_999_999) / 1000,
            )
        }
        Value::DateTime(v) => date_value(v.date(), v.time(), position)?,
        Value::DateTimeUtc(v) => {
            let v = v.naive_utc();
            date_value(v.date(), v.time(), position)?
        }
        #[cfg(feature = "json")]
        Value::Json(v) => MyValue::Bytes(v.to_string().into_bytes()),
        #[cfg(feature = "decimal")]
        Value::Decimal(d) => MyValue::Bytes(d.to_string().into_bytes()),
        Value::Array(_) => {
            return Err(Error::bind(format!(
                "parameter {position} is an array, which MySQL cannot bind"
            )))
        }
    })
}

/// The years a `DATE` or `DATETIME` holds as written. The server documents 1000 to
/// 9999, yet stores and reads back 1 to 999 exactly (its calendar is chrono's proleptic
/// Gregorian one); year 0 it counts differently (no 0000-02-29), and a wider year does
/// not fit its format.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

fn date_value(date: NaiveDate, time: NaiveTime, position: usize) -> Result<MyValue> {
    use chrono::{Datelike, Timelike};
    if !YEARS.contains(&date.year()) {
        return Err(out_of_years(date, position));
    }
    Ok(MyValue::Date(
        date.year() as u16,
        date.month() as u8,
        date.day() as u8,
        time.hour() as u8,
        time.minute() as u8,
        time.second() as u8,
        // A leap second's extra nanoseconds fold into the last microsecond.
        time.nanosecond().min(999_999_999) / 1000,
    ))
}

#[cold]
#[inline(never)]
fn out_of_years(date: NaiveDate, position: usize) -> Error {
    Error::bind(format!(
        "parameter {position} is the date {date}, outside the years 1 to 9999 that MySQL stores"
    ))
}

impl crate::row::DriverRow for mysql::Row {
    #[inline]
    fn value_ref(&self, index: usize) -> std::result::Result<ValueRef<'_>, Box<Error>> {
        value_ref(self, index).map_err(Box::new)
    }
}

/// The name of column `index` (empty when out of range).
fn column_name(row: &mysql::Row, index: usize) -> &str {
    row.columns_ref()
        .get(index)
        .and_then(|c| std::str::from_utf8(c.name_ref()).ok())
        .unwrap_or("")
}

/// The character set number MySQL gives binary strings.
const BINARY_CHARSET: u16 = 63;

/// A `BIGINT UNSIGNED` value past `i64::MAX`, exactly: a decimal (its digits as text
/// without feature `decimal`), which `u64`, `Decimal` and `String` read and `i64`
/// refuses as out of range; the row's other columns read as ever.
#[cold]
#[inline(never)]
fn unsigned_beyond_i64(v: u64) -> ValueRef<'static> {
    #[cfg(feature = "decimal")]
    {
        ValueRef::Decimal(rust_decimal::Decimal::from(v))
    }
    #[cfg(not(feature = "decimal"))]
    {
        ValueRef::Text(std::borrow::Cow::Owned(v.to_string()))
    }
}

fn value_ref(row: &mysql::Row, index: usize) -> Result<ValueRef<'_>> {
    let (Some(value), Some(column)) = (row.as_ref(index), row.columns_ref().get(index)) else {
        return Err(Error::ColumnNotFound(index.to_string()));
    };
    let ty = column.column_type();
    let fail = |found: String| Error::Decode {
        column: column_name(row, index).to_owned(),
        expected: format!("a supported {ty:?} value"),
        found,
    };
    Ok(match value {
        MyValue::NULL => ValueRef::Null,
        MyValue::Int(v) => ValueRef::Int(*v),
        MyValue::UInt(v) => match i64::try_from(*v) {
            Ok(v) => ValueRef::Int(v),
            Err(_) => unsigned_beyond_i64(*v),
        },
        MyValue::Float(v) => ValueRef::Float(crate::value::widen_f32(*v)),
        MyValue::Double(v) => ValueRef::Float(*v),
        MyValue::Date(y, m, d, h, mi, s, us) => {
            let date = NaiveDate::from_ymd_opt(i32::from(*y), u32::from(*m), u32::from(*d))
                .ok_or_else(|| fail(format!("the date {y:04}-{m:02}-{d:02}")))?;
            if ty == ColumnType::MYSQL_TYPE_DATE {
                ValueRef::Date(date)
            } else {
                let time = NaiveTime::from_hms_micro_opt(
                    u32::from(*h),
                    u32::from(*mi),
                    u32::from(*s),
                    *us,
                )
                .ok_or_else(|| fail(format!("the time {h:02}:{mi:02}:{s:02}")))?;
                ValueRef::DateTime(date.and_time(time))
            }
        }
        MyValue::Time(negative, days, h, mi, s, us) => {
            if *negative || *days > 0 {
                return Err(fail("a duration outside one day".into()));
            }
            ValueRef::Time(
                NaiveTime::from_hms_micro_opt(u32::from(*h), u32::from(*mi), u32::from(*s), *us)
                    .ok_or_else(|| fail(format!("the time {h:02}:{mi:02}:{s:02}")))?,
            )
        }
        MyValue::Bytes(bytes) => bytes_value(bytes, column, ty).map_err(fail)?,
    })
}

/// A value sent as bytes: text and blobs, and everything the text protocol sends
/// (numbers, dates) as its text.
fn bytes_value<'r>(
    bytes: &'r [u8],
    column: &mysql::Column,
    ty: ColumnType,
) -> std::result::Result<ValueRef<'r>, String> {
    use ColumnType::*;
    let text = || std::str::from_utf8(bytes).map_err(|_| "bytes that are not UTF-8".to_owned());
    let parse_err = |what: &str| format!("{what} `{}`", String::from_utf8_lossy(bytes));
    Ok(match ty {
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            let text = text()?;
            #[cfg(feature = "decimal")]
            if let Some(d) = exact_decimal(text) {
                return Ok(ValueRef::Decimal(d));
            }
            // More digits than a Decimal holds: the exact text, as PostgreSQL's NUMERIC.
            ValueRef::Text(Cow::Borrowed(text))
        }
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_INT24
        | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_YEAR => {
            let text = text()?;
            match text.parse::<i64>() {
                Ok(v) => ValueRef::Int(v),
                Err(_) => return Err(parse_err("the integer")),
            }
        }
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => match text()?.parse::<f64>() {
            Ok(v) => ValueRef::Float(v),
            Err(_) => return Err(parse_err("the number")),
        },
        MYSQL_TYPE_DATE => match NaiveDate::parse_from_str(text()?, "%Y-%m-%d") {
            Ok(v) => ValueRef::Date(v),
            Err(_) => return Err(parse_err("the date")),
        },
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP2 => {
            match chrono::NaiveDateTime::parse_from_str(text()?, "%Y-%m-%d %H:%M:%S%.f") {
                Ok(v) => ValueRef::DateTime(v),
                Err(_) => return Err(parse_err("the date-time")),
            }
        }
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => {
            match NaiveTime::parse_from_str(text()?, "%H:%M:%S%.f") {
                Ok(v) => ValueRef::Time(v),
                Err(_) => return Err(parse_err("the time")),
            }
        }
        MYSQL_TYPE_JSON => ValueRef::Text(Cow::Borrowed(text()?)),
        MYSQL_TYPE_BIT => ValueRef::Bytes(bytes),
        _ if column.character_set() == BINARY_CHARSET => ValueRef::Bytes(bytes),
        _ => match std::str::from_utf8(bytes) {
            Ok(text) => ValueRef::Text(Cow::Borrowed(text)),
            Err(_) => ValueRef::Bytes(bytes),
        },
    })
}

/// A DECIMAL's text as a `Decimal` when one holds it exactly (`parse` would round).
#[cfg(feature = "decimal")]
#[inline]
fn exact_decimal(text: &str) -> Option<rust_decimal::Decimal> {
    match rust_decimal::Decimal::from_str_exact(text) {
        Ok(d) => Some(d),
        Err(_) => exact_decimal_trimmed(text),
    }
}

/// A column's scale pads the value with zeros (`1.5` in a `DECIMAL(40, 30)` has 30
/// decimals, `100000000000.5` in a `DECIMAL(38, 18)` 30 digits): they are dropped, one
/// by one, until a Decimal holds the value, which loses nothing, as PostgreSQL's
/// NUMERIC reads the same value.
#[cfg(feature = "decimal")]
#[cold]
#[inline(never)]
fn exact_decimal_trimmed(text: &str) -> Option<rust_decimal::Decimal> {
    let point = text.find('.')?;
    let mut end = text.len();
    while end > point + 1 && text.as_bytes()[end - 1] == b'0' {
        end -= 1;
        if let Ok(d) = rust_decimal::Decimal::from_str_exact(&text[..end]) {
            return Some(d);
        }
    }
    None
}

/// A lost connection while sending large values (the server closes the session on a
/// packet past its `max_allowed_packet`, 16 MiB by default): the error says so, since the
/// driver only reports a reset connection.
#[cold]
fn too_large_hint<P: Param>(error: Error, params: &[P]) -> Error {
    const LARGE: usize = 1 << 20;
    let Error::Connection { message, source } = error else {
        return error;
    };
    let bytes: usize = params
        .iter()
        .map(|p| match p.param_ref() {
            ParamRef::Text(text) => text.len(),
            ParamRef::Bytes(bytes) => bytes.len(),
            ParamRef::Value(Value::Text(text)) => text.len(),
            ParamRef::Value(Value::Bytes(bytes)) => bytes.len(),
            ParamRef::Value(_) => 0,
        })
        .sum();
    let message = if bytes >= LARGE {
        format!(
            "{message} (the statement's values are {:.1} MiB: the server closes the \
             connection on a packet past its `max_allowed_packet`; raise it, or store less \
             per statement)",
            bytes as f64 / LARGE as f64
        )
    } else {
        message
    };
    Error::Connection { message, source }
}

pub(crate) fn map_error(error: mysql::Error) -> Error {
    let server = match error {
        mysql::Error::MySqlError(ref e) => e.clone(),
        // The statement's parameters do not fit it (a `:name` or a count that does not
        // match): the caller's statement, not the connection, is at fault.
        mysql::Error::DriverError(
            mysql::DriverError::MismatchedStmtParams(..)
            | mysql::DriverError::Params(_)
            | mysql::DriverError::MixedParams,
        ) => {
            return Error::Bind {
                message: error.to_string(),
                source: Some(Box::new(error)),
            }
        }
        mysql::Error::IoError(_) | mysql::Error::CodecError(_) | mysql::Error::DriverError(_) => {
            return Error::Connection {
                message: error.to_string(),
                source: Some(Box::new(error)),
            }
        }
        _ => {
            return Error::Database {
                message: error.to_string(),
                code: None,
                sql: None,
                source: Some(Box::new(error)),
            }
        }
    };
    let message = server.message.clone();
    let source = Some(Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
    let kind = match server.code {
        code::DUP_ENTRY | code::DUP_ENTRY_WITH_KEY_NAME => Some(ConstraintKind::Unique),
        code::NO_REFERENCED_ROW
        | code::NO_REFERENCED_ROW_2
        | code::ROW_IS_REFERENCED
        | code::ROW_IS_REFERENCED_2 => Some(ConstraintKind::ForeignKey),
        code::BAD_NULL | code::NO_DEFAULT_FOR_FIELD => Some(ConstraintKind::NotNull),
        code::CHECK_CONSTRAINT_VIOLATED | code::MARIADB_CONSTRAINT_FAILED => {
            Some(ConstraintKind::Check)
        }
        _ => None,
    };
    if let Some(kind) = kind {
        let (constraint, columns) = violated(kind, &message);
        return Error::constraint(
            kind,
            Violation {
                message,
                constraint,
                columns,
                source,
            },
        );
    }
    match server.code {
        code::LOCK_DEADLOCK | code::LOCK_WAIT_TIMEOUT | code::LOCK_NOWAIT => Error::Busy {
            message,
            code: Some(server.code.to_string()),
            sql: None,
            source,
        },
        code::QUERY_INTERRUPTED
        | code::MARIADB_STATEMENT_TIMEOUT
        | code::MYSQL_EXECUTION_TIMEOUT => Error::StatementCancelled {
            message,
            code: Some(server.code.to_string()),
            sql: None,
            source,
        },
        code::SERVER_SHUTDOWN | code::CONNECTION_KILLED | code::SERVER_GONE | code::SERVER_LOST => {
            Error::Connection {
                message: format!("the server ended the session: {message} ({})", server.code),
                source,
            }
        }
        code::CLIENT_INTERACTION_TIMEOUT if message.contains("disconnected by the server") => {
            Error::Connection {
                message: format!("the server ended the session: {message} ({})", server.code),
                source,
            }
        }
        code::DATA_TOO_LONG
        | code::OUT_OF_RANGE
        | code::DATA_OUT_OF_RANGE
        | code::INCORRECT_VALUE
        | code::DATA_TRUNCATED
        | code::TRUNCATED_WRONG_VALUE => Error::ValueOutOfRange {
            message,
            code: Some(server.code.to_string()),
            sql: None,
            source,
        },
        other => Error::Database {
            message,
            code: Some(other.to_string()),
            sql: None,
            source,
        },
    }
}

/// The table an `INSERT`/`REPLACE ... INTO` or `UPDATE` statement writes, unquoted and
/// without its database.
fn statement_table(sql: &str) -> Option<String> {
    let mut words = sql.split_whitespace();
    let first = words.next()?;
    let name = if first.eq_ignore_ascii_case("UPDATE") {
        words.find(|w| {
            !w.eq_ignore_ascii_case("LOW_PRIORITY") && !w.eq_ignore_ascii_case("IGNORE")
        })?
    } else {
        words
            .skip_while(|w| !w.eq_ignore_ascii_case("INTO"))
            .nth(1)?
    };
    let name = name.split('(').next()?.rsplit('.').next()?;
    Some(name.trim_matches('`').to_owned())
}

/// The text between the first `open` and the next `close` after it.
fn between<'m>(message: &'m str, open: &str, close: char) -> Option<&'m str> {
    let start = message.find(open)? + open.len();
    let rest = &message[start..];
    Some(&rest[..rest.find(close)?])
}

/// The constraint name and columns the server's message gives:
/// `Duplicate entry 'a@b' for key 'users.users_email_unique'` (MySQL 8 qualifies the
/// name with the table, MariaDB does not), `Column 'name' cannot be null`, `Field 'name'
/// doesn't have a default value`, `... CONSTRAINT `posts_user_id_foreign` FOREIGN KEY
/// (`user_id`) REFERENCES ...`, `Check constraint 'votes_ok' is violated.` (MySQL),
/// `CONSTRAINT `votes_ok` failed for `db`.`t`` (MariaDB).
fn violated(kind: ConstraintKind, message: &str) -> (Option<String>, Vec<String>) {
    match kind {
        ConstraintKind::Unique => {
            let name = message
                .rfind(" for key '")
                .map(|at| &message[at + " for key '".len()..])
                .and_then(|rest| rest.strip_suffix('\''))
                .map(|key| key.rsplit_once('.').map_or(key, |(_, name)| name));
            (name.map(str::to_owned), Vec::new())
        }
        ConstraintKind::NotNull => {
            let column =
                between(message, "Column '", '\'').or_else(|| between(message, "Field '", '\''));
            (None, column.map(str::to_owned).into_iter().collect())
        }
        ConstraintKind::ForeignKey => {
            let name = between(message, "CONSTRAINT `", '`');
            let columns = between(message, "FOREIGN KEY (", ')')
                .map(|list| {
                    list.split(", ")
                        .map(|c| c.trim_matches('`').to_owned())
                        .collect()
                })
                .unwrap_or_default();
            (name.map(str::to_owned), columns)
        }
        ConstraintKind::Check => {
            let name = between(message, "Check constraint '", '\'')
                .or_else(|| between(message, "CONSTRAINT `", '`'));
            (name.map(str::to_owned), Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_scripts_last_transaction_statement_decides() {
        use super::script_leaves_transaction as leaves;
        assert_eq!(
            leaves("BEGIN; INSERT INTO t VALUES (1); COMMIT;"),
            Some(false)
        );
        assert_eq!(
            leaves("START TRANSACTION; INSERT INTO t VALUES (1)"),
            Some(true)
        );
        assert_eq!(leaves("BEGIN; SAVEPOINT a; ROLLBACK TO a;"), Some(true));
        assert_eq!(leaves("BEGIN; COMMIT AND CHAIN"), Some(true));
        assert_eq!(leaves("INSERT INTO t VALUES ('BEGIN'); SELECT 1"), None);
        assert_eq!(
            leaves("/* BEGIN */ INSERT INTO t VALUES (1); rollback work"),
            Some(false)
        );
    }

    #[test]
    fn the_table_a_statement_writes() {
        use super::statement_table;
        assert_eq!(
            statement_table("INSERT INTO `users` (a) VALUES (?)").as_deref(),
            Some("users")
        );
        assert_eq!(
            statement_table("insert ignore into db.t(a) values (1)").as_deref(),
            Some("t")
        );
        assert_eq!(
            statement_table("UPDATE LOW_PRIORITY `t` SET a = 1").as_deref(),
            Some("t")
        );
        assert_eq!(
            statement_table("REPLACE INTO t VALUES (1)").as_deref(),
            Some("t")
        );
        assert_eq!(statement_table("SELECT 1"), None);
    }

    use super::*;

    fn server_error(code: u16, message: &str) -> Error {
        map_error(mysql::Error::MySqlError(mysql::MySqlError {
            state: "HY000".into(),
            message: message.into(),
            code,
        }))
    }

    #[test]
    fn mysql_closing_an_idle_session_is_a_lost_connection_but_mariadbs_4031_is_not() {
        let mysql = server_error(
            4031,
            "The client was disconnected by the server because of inactivity. See \
             wait_timeout and interactive_timeout for configuring this behavior.",
        );
        assert!(matches!(mysql, Error::Connection { .. }), "{mysql:?}");
        let mariadb = server_error(
            4031,
            "Referenced trigger 'tr' for the given action time and event type does not exist",
        );
        assert!(matches!(mariadb, Error::Database { .. }), "{mariadb:?}");
    }

    #[test]
    fn violations_name_what_the_message_gives() {
        assert_eq!(
            violated(
                ConstraintKind::Unique,
                "Duplicate entry 'a@b.c' for key 'users.users_email_unique'"
            ),
            (Some("users_email_unique".into()), vec![])
        );
        assert_eq!(
            violated(
                ConstraintKind::Unique,
                "Duplicate entry 'it''s for key 'x'' for key 'users_email_unique'"
            ),
            (Some("users_email_unique".into()), vec![])
        );
        assert_eq!(
            violated(ConstraintKind::NotNull, "Column 'name' cannot be null"),
            (None, vec!["name".into()])
        );
        assert_eq!(
            violated(
                ConstraintKind::NotNull,
                "Field 'name' doesn't have a default value"
            ),
            (None, vec!["name".into()])
        );
        assert_eq!(
            violated(
                ConstraintKind::ForeignKey,
                "Cannot add or update a child row: a foreign key constraint fails (`t`.`posts`, \
                 CONSTRAINT `posts_user_id_foreign` FOREIGN KEY (`user_id`) REFERENCES `users` \
                 (`id`))"
            ),
            (Some("posts_user_id_foreign".into()), vec!["user_id".into()])
        );
        assert_eq!(
            violated(
                ConstraintKind::Check,
                "CONSTRAINT `votes_ok` failed for `t`.`users`"
            ),
            (Some("votes_ok".into()), vec![])
        );
        assert_eq!(
            violated(
                ConstraintKind::Check,
                "Check constraint 'votes_ok' is violated."
            ),
            (Some("votes_ok".into()), vec![])
        );
    }

    #[test]
    fn mariadb_10_5_and_mysql_8_are_accepted() {
        assert_eq!(check_server("10.11.19-MariaDB-0+deb12u1").ok(), Some(true));
        assert_eq!(check_server("11.4.2-MariaDB").ok(), Some(true));
        assert_eq!(check_server("8.0.36").ok(), Some(false));
        assert_eq!(check_server("8.4.3-log").ok(), Some(false));
        assert_eq!(check_server("9.1.0").ok(), Some(false));
        for old in ["10.4.3-MariaDB", "5.7.44", "5.5.5"] {
            let Err(Error::Config(message)) = check_server(old) else {
                panic!("{old} is accepted");
            };
            assert!(message.contains("or later is needed"), "{message}");
        }
    }

    #[test]
    fn keys_are_consecutive_only_under_lock_modes_0_and_1_stepping_by_1() {
        assert!(consecutive_keys(0, 1));
        assert!(consecutive_keys(1, 1));
        assert!(!consecutive_keys(2, 1));
        assert!(!consecutive_keys(1, 2));
    }

    #[test]
    fn own_url_options_are_split_off() {
        let (url, d) = split_options("mysql://root@h/db").unwrap();
        assert_eq!(
            (url.as_str(), d),
            ("mysql://root@h/db", Diagnostics::default())
        );
        let (url, d) =
            split_options("mysql://root@h/db?returning=off&prefer_socket=false").unwrap();
        assert_eq!(url, "mysql://root@h/db?prefer_socket=false");
        assert!(d.no_returning && !d.not_consecutive);
        let (url, d) = split_options("mysql://h/db?autoinc_consecutive=off").unwrap();
        assert_eq!(url, "mysql://h/db");
        assert!(!d.no_returning && d.not_consecutive);
        assert!(matches!(
            split_options("mysql://h/db?returning=no"),
            Err(Error::Config(_))
        ));
    }

    #[test]
    fn transaction_control_is_recognised() {
        assert!(starts_transaction("START TRANSACTION"));
        assert!(starts_transaction("begin"));
        assert!(!starts_transaction("SAVEPOINT s"));
        assert!(ends_transaction("COMMIT"));
        assert!(ends_transaction("rollback work;"));
        assert!(!ends_transaction("ROLLBACK TO SAVEPOINT s"));
    }
}
