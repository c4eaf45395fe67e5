//! Connections: one type over every backend. Only the backend modules know their driver.

mod detached;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::dialect::{Backend, Dialect, IsolationLevel};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::row::{Record, Row};
use crate::url::{ConnectOptions, Target};
use crate::value::{Bind, Param, ToValue, Value};
use crate::write_marks::{WriteMark, WriteMarks};

/// The fewest values any supported database takes in one statement (SQLite's 32 766):
/// statements binding no more skip the check against their own database's limit.
const FEWEST_BIND_PARAMS: usize = 32766;

/// The callback a statement calls for each row it reads; `Ok(false)` stops it.
type RowFn<'a> = &'a mut dyn FnMut(&Row<'_>) -> Result<bool>;

/// Calls a backend's row callback: whether to go on. Its error is the caller's (see
/// `Connection::query_params`): kept in `caught`, and the rows stop.
#[inline(always)]
fn call_row(f: RowFn<'_>, row: &Row<'_>, caught: &mut Option<Error>) -> bool {
    match f(row) {
        Ok(more) => more,
        Err(error) => {
            *caught = Some(error);
            false
        }
    }
}

/// What a failed statement did to the transaction open around it.
pub(crate) enum AfterFailure {
    /// Only the statement was undone (SQLite and MySQL for most failures).
    Kept,
    /// The server refuses every statement up to the innermost savepoint's rollback
    /// (PostgreSQL).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    Aborted,
    /// The server refused the statement because an earlier one had aborted the
    /// transaction (PostgreSQL's `25P02`).
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    AbortedBefore,
    /// The database rolled back the whole transaction, savepoints included (SQLite on a
    /// full disk or an I/O error, MySQL on a deadlock): what follows would run outside it.
    Ended,
}

/// The level an [`AfterFailure::Ended`] failure is recorded at: every level's commit
/// reports it, since every level's work was thrown away.
const WHOLE_TRANSACTION: u32 = 0;

/// One open database connection (SQLite, PostgreSQL or MySQL/MariaDB), caching its prepared statements.
///
/// ```
/// use orm_core::Connection;
/// let mut conn = Connection::open("sqlite::memory:")?;
/// conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)", &[])?;
/// conn.execute("INSERT INTO t (name) VALUES (?)", &[&"Ada"])?;
/// let rows = conn.select("SELECT id, name FROM t WHERE name = ?", &[&"Ada"])?;
/// assert_eq!(rows[0].get::<String, _>("name")?, "Ada");
/// # Ok::<(), orm_core::Error>(())
/// ```
pub struct Connection {
    /// One pointer, so that [`crate::Executor::scope`], which moves the connection in
    /// and out of the thread's scope on every call, moves 8 bytes.
    state: Box<State>,
}

struct State {
    inner: Inner,
    options: ConnectOptions,
    depth: u32,
    /// One per open level (`depth` of them): what became of each, for the models
    /// written in it.
    marks: WriteMarks,
    broken: bool,
    /// The last outermost COMMIT was sent on a connection that then failed before its
    /// answer came: whether it committed is unknown (read by `DB::transaction`).
    commit_unknown: bool,
    /// The first statement the server rejected inside the open transaction, and the
    /// depth it ran at: PostgreSQL has then aborted the transaction (up to that level's
    /// savepoint), so committing that level must fail rather than report success.
    /// [`WHOLE_TRANSACTION`] when the database rolled back every level.
    aborted: Option<(u32, Box<Error>)>,
    /// The isolation level the open transaction was asked to run at, to open it again
    /// at when the database ended it.
    isolation: Option<IsolationLevel>,
    /// When the connection last went back to its pool.
    idle_since: Instant,
    /// When the connection was opened.
    opened: Instant,
}

enum Inner {
    #[cfg(feature = "sqlite")]
    Sqlite(Box<sqlite::SqliteConnection>),
    #[cfg(feature = "postgres")]
    Postgres(Box<postgres::PgConnection>),
    #[cfg(feature = "mysql")]
    Mysql(Box<mysql::MysqlConnection>),
    /// Left in a `&mut Connection` while the connection is lent to a scope.
    Detached(detached::Detached),
}

impl Connection {
    /// The SQLite connection underneath, for a stream held open on it.
    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(&self) -> Option<&sqlite::SqliteConnection> {
        match &self.state.inner {
            Inner::Sqlite(conn) => Some(conn),
            _ => None,
        }
    }
}

macro_rules! dispatch {
    ($self:expr, $conn:ident => $body:expr) => {
        match $self {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite($conn) => $body,
            #[cfg(feature = "postgres")]
            Inner::Postgres($conn) => $body,
            #[cfg(feature = "mysql")]
            Inner::Mysql($conn) => $body,
            Inner::Detached($conn) => $body,
        }
    };
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.state.options.redacted())
            .field("transaction_depth", &self.state.depth)
            .finish()
    }
}

impl Connection {
    /// Opens a connection from a URL (see [`ConnectOptions::parse`]).
    pub fn open(url: &str) -> Result<Connection> {
        Connection::open_with(&ConnectOptions::parse(url)?)
    }

    /// [`Connection::open_with`] that gives up after `limit` when the server accepts the
    /// connection but never answers (a hung server or proxy): the drivers bound the TCP
    /// connect at most, not the handshake after it. The attempt runs on a thread of its
    /// own, left behind when it does not finish in time. SQLite opens on this thread.
    pub(crate) fn open_within(options: &ConnectOptions, limit: Duration) -> Result<Connection> {
        if options.backend() == Backend::Sqlite {
            return Connection::open_with(options);
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        let attempt = options.clone();
        std::thread::Builder::new()
            .name("orm-connect".into())
            .spawn(move || {
                let _ = sender.send(Connection::open_with(&attempt));
            })
            .map_err(|e| Error::Connection {
                message: format!("cannot start a thread to connect: {e}"),
                source: None,
            })?;
        receiver.recv_timeout(limit).unwrap_or_else(|_| {
            Err(Error::Connection {
                message: format!(
                    "{} accepted the connection but did not answer within {limit:?} \
                     (the pool's connection_timeout)",
                    options.redacted()
                ),
                source: None,
            })
        })
    }

    /// Opens a connection from parsed options.
    pub fn open_with(options: &ConnectOptions) -> Result<Connection> {
        let inner = match &options.target {
            #[cfg(feature = "sqlite")]
            Target::SqliteMemory | Target::SqliteFile(_) => {
                Inner::Sqlite(Box::new(sqlite::SqliteConnection::open(options)?))
            }
            #[cfg(feature = "postgres")]
            Target::Postgres(url) => Inner::Postgres(Box::new(postgres::PgConnection::open(url)?)),
            #[cfg(feature = "mysql")]
            Target::Mysql(url) => Inner::Mysql(Box::new(mysql::MysqlConnection::open(url)?)),
            #[allow(unreachable_patterns)]
            _ => {
                return Err(Error::BackendNotCompiled {
                    url: options.redacted().to_owned(),
                    feature: match options.backend() {
                        Backend::Sqlite => "sqlite",
                        Backend::Postgres => "postgres",
                        Backend::Mysql => "mysql",
                    },
                })
            }
        };
        Ok(Connection {
            state: Box::new(State {
                inner,
                options: options.clone(),
                depth: 0,
                marks: WriteMarks::default(),
                broken: false,
                commit_unknown: false,
                aborted: None,
                isolation: None,
                idle_since: Instant::now(),
                opened: Instant::now(),
            }),
        })
    }

    /// The options this connection was opened with.
    pub fn options(&self) -> &ConnectOptions {
        &self.state.options
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        match &self.state.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Inner::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Inner::Mysql(_) => Backend::Mysql,
            Inner::Detached(d) => d.backend,
        }
    }

    /// A stand-in for this connection while it is lent to a thread scope: no database,
    /// every call fails (each thread keeps one for reuse).
    pub(crate) fn detached(&self) -> Connection {
        Connection {
            state: Box::new(State {
                inner: Inner::Detached(detached::Detached {
                    backend: self.backend(),
                    dialect: self.dialect(),
                }),
                options: ConnectOptions::detached(),
                depth: 0,
                marks: WriteMarks::default(),
                broken: true,
                commit_unknown: false,
                aborted: None,
                isolation: None,
                idle_since: self.state.idle_since,
                opened: self.state.opened,
            }),
        }
    }

    /// The dialect that renders SQL for this connection (on MySQL, with or without
    /// `RETURNING`, as the server takes it).
    pub fn dialect(&self) -> &'static dyn Dialect {
        match &self.state.inner {
            #[cfg(feature = "mysql")]
            Inner::Mysql(c) => c.dialect(),
            Inner::Detached(d) => d.dialect,
            #[allow(unreachable_patterns)]
            _ => self.backend().dialect(),
        }
    }

    /// The first key the last [`Connection::execute_binds`]-family statement generated
    /// (`LAST_INSERT_ID()`), on a backend whose dialect has no `RETURNING`; `None` when
    /// it generated none or the backend does not say.
    pub(crate) fn last_insert_id(&self) -> Option<i64> {
        match &self.state.inner {
            #[cfg(feature = "mysql")]
            Inner::Mysql(c) => i64::try_from(c.last_insert_id()).ok().filter(|&id| id > 0),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// Whether the keys one multi-row `INSERT` generates are consecutive from the
    /// first ([`Connection::last_insert_id`]) on, where the dialect has no `RETURNING`.
    pub(crate) fn consecutive_keys(&self) -> bool {
        match &self.state.inner {
            #[cfg(feature = "mysql")]
            Inner::Mysql(c) => c.keys().consecutive,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// Runs one statement with `?` placeholders and returns the number of rows changed.
    pub fn execute(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        self.execute_values(sql, &to_values(params)?)
    }

    /// [`Connection::execute`] with owned values (`?` placeholders).
    pub fn execute_values(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.check_no_transaction_control(sql)?;
        let sql = self.dialect().translate_placeholders(sql);
        self.execute_params(&sql, params)
    }

    /// Runs one statement whose placeholders are already in this dialect's form (as
    /// rendered by a [`crate::dialect::SqlWriter`]): the ORM's own statements skip the
    /// `?` rewrite.
    pub(crate) fn execute_native(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.execute_params(sql, params)
    }

    /// [`Connection::execute_native`] with parameters that may borrow from models.
    pub(crate) fn execute_binds(&mut self, sql: &str, params: &[Bind<'_>]) -> Result<u64> {
        self.execute_params(sql, params)
    }

    fn execute_params<P: Param>(&mut self, sql: &str, params: &[P]) -> Result<u64> {
        if params.len() > FEWEST_BIND_PARAMS {
            self.check_bind_count(params.len())?;
        }
        let started = crate::log::start();
        let mut result = dispatch!(&mut self.state.inner, c => c.execute(sql, params));
        if self.should_retry(&result) {
            result = dispatch!(&mut self.state.inner, c => c.execute(sql, params));
        }
        crate::log::finish(started, sql, params.len());
        self.note(result, sql)
    }

    /// A statement prepared before another connection changed the table's shape fails
    /// once on PostgreSQL ("cached plan must not change result type"); the backend has
    /// dropped it from its cache, so outside a transaction it is run again, re-prepared.
    fn should_retry<T>(&self, result: &Result<T>) -> bool {
        self.state.depth == 0
            && matches!(result, Err(Error::Database { code: Some(code), message, .. })
                if code == "0A000" && message.contains("cached plan"))
    }

    /// Runs one query with `?` placeholders and returns every row as a [`Record`].
    pub fn select(&mut self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Record>> {
        self.select_values(sql, &to_values(params)?)
    }

    /// The columns of `table` as the database's catalog describes them, in order (empty
    /// when it does not exist). A primary key column is never nullable.
    pub fn columns(&mut self, table: &str) -> Result<Vec<crate::dialect::schema::ColumnInfo>> {
        let query = self.dialect().columns_query();
        let flag = |row: &Row<'_>, column: &str| Ok::<_, Error>(row.get::<i64, _>(column)? != 0);
        self.query_map(query, &[Value::Text(table.to_owned())], |row| {
            let auto_increment = flag(row, "auto_increment")?;
            let primary_key = row.get::<i64, _>("pk")? > 0;
            Ok(crate::dialect::schema::ColumnInfo {
                name: row.get("name")?,
                type_name: row.get("type")?,
                nullable: !flag(row, "not_null")? && !primary_key,
                default: match auto_increment {
                    true => None,
                    false => row.get("default")?,
                },
                primary_key,
                auto_increment,
            })
        })
    }

    /// [`Connection::select`] with owned values (`?` placeholders).
    pub fn select_values(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Record>> {
        self.check_no_transaction_control(sql)?;
        let sql = self.dialect().translate_placeholders(sql);
        let mut columns: Option<Arc<[String]>> = None;
        self.query_map_native(&sql, params, |row| {
            let columns = columns.get_or_insert_with(|| row.column_names());
            row.to_record(columns)
        })
    }

    /// Runs a query with `?` placeholders and maps each row with `f`, reading columns
    /// straight from the driver.
    pub fn query_map<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        let sql = self.dialect().translate_placeholders(sql);
        self.query_map_native(&sql, params, f)
    }

    /// [`Connection::query_map`] for SQL in this dialect's placeholder form.
    pub(crate) fn query_map_native<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query_into_native(sql, params, |row, out| {
            out.push(f(row)?);
            Ok(())
        })
    }

    /// [`Connection::query_map_native`] with `f` pushing each row's value onto the list
    /// itself (sized to the result on the first row).
    pub(crate) fn query_into_native<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row<'_>, &mut Vec<T>) -> Result<()>,
    ) -> Result<Vec<T>> {
        // Allocated up front, at the size a first push would grow it to: a one-row read
        // costs 43 instructions less than growing from empty (allocated at the first row
        // instead, after its values, loads of 100 rows cost 300 more). An empty result
        // pays for the allocation. (The standard library's first growth: 4 elements, 1
        // when each is over 1 KiB.)
        let first = if std::mem::size_of::<T>() <= 1024 {
            4
        } else {
            1
        };
        let mut out = Vec::with_capacity(first);
        self.query_values(sql, params, &mut |row| {
            if out.capacity() < row.rows_hint {
                out.reserve(row.rows_hint);
            }
            f(row, &mut out)?;
            Ok(true)
        })?;
        Ok(out)
    }

    /// Runs a query with `?` placeholders and calls `f` for each row as it is read,
    /// without collecting; `f` returns `Ok(false)` to stop early.
    pub fn query_each(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        let sql = self.dialect().translate_placeholders(sql);
        self.query_values(&sql, params, &mut f)
    }

    /// [`Connection::query_each`] for SQL in this dialect's placeholder form.
    pub(crate) fn query_each_native(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        self.query_values(sql, params, &mut f)
    }

    /// [`Connection::query_each_native`] reading the rows off the connection one at a
    /// time where the driver would receive the whole result first (PostgreSQL): for a
    /// caller that streams (`each`), at a cost per row.
    pub(crate) fn query_each_streamed(
        &mut self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        self.query_values_streamed(sql, params, &mut f)
    }

    /// [`Connection::query_each_native`] with parameters that may borrow from models.
    pub(crate) fn query_each_binds(
        &mut self,
        sql: &str,
        params: &[Bind<'_>],
        mut f: impl FnMut(&Row<'_>) -> Result<bool>,
    ) -> Result<()> {
        self.query_bound(sql, params, &mut f)
    }

    /// More values than the database takes in one statement: a typed error before the
    /// statement is sent (the driver's would carry the whole, very long, SQL).
    #[cold]
    #[inline(never)]
    fn check_bind_count(&self, count: usize) -> Result<()> {
        let max = self.dialect().max_bind_params();
        if count <= max {
            return Ok(());
        }
        let database = match self.backend() {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MySQL",
        };
        Err(Error::invalid_query(
            InvalidQueryKind::Argument,
            format!(
                "{count} values to bind in one statement; {database} takes at most {max} \
                 (split a long `where_in` list, e.g. with `chunk` of its keys)"
            ),
        ))
    }

    // The two entry points of `query_params`, out of line and not generic: the generic
    // callers above, compiled into every application crate, call these instead of
    // instantiating the backends' statement code there again.
    #[inline(never)]
    fn query_values(&mut self, sql: &str, params: &[Value], f: RowFn<'_>) -> Result<()> {
        self.query_params(sql, params, f, false)
    }

    #[inline(never)]
    fn query_values_streamed(&mut self, sql: &str, params: &[Value], f: RowFn<'_>) -> Result<()> {
        self.query_params(sql, params, f, true)
    }

    #[inline(never)]
    fn query_bound(&mut self, sql: &str, params: &[Bind<'_>], f: RowFn<'_>) -> Result<()> {
        self.query_params(sql, params, f, false)
    }

    fn query_params<P: Param>(
        &mut self,
        sql: &str,
        params: &[P],
        f: RowFn<'_>,
        streamed: bool,
    ) -> Result<()> {
        if params.len() > FEWEST_BIND_PARAMS {
            self.check_bind_count(params.len())?;
        }
        let started = crate::log::start();
        // An error the row callback returns is the caller's, not this connection's (it
        // may come from another connection the callback used): the backend keeps it in
        // `caught`, stopping the rows as `Ok(false)` does, and it is returned as it is,
        // so that it never marks this connection lost, its transaction aborted or
        // ended, nor runs the statement again.
        let mut caught = None;
        let mut result = dispatch!(&mut self.state.inner, c => c.query_each(sql, params, f, &mut caught, streamed));
        if caught.is_none() && self.should_retry(&result) {
            result = dispatch!(&mut self.state.inner, c => c.query_each(sql, params, f, &mut caught, streamed));
        }
        crate::log::finish(started, sql, params.len());
        match caught {
            Some(error) if result.is_ok() => Err(error.with_sql(sql)),
            _ => self.note(result, sql),
        }
    }

    /// Runs a query with `?` placeholders and returns the first row mapped by `f`, if
    /// any.
    pub fn query_first<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let sql = self.dialect().translate_placeholders(sql);
        self.query_first_native(&sql, params, f)
    }

    /// [`Connection::query_first`] for SQL in this dialect's placeholder form.
    pub(crate) fn query_first_native<T>(
        &mut self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row<'_>) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let mut out = None;
        self.query_values(sql, params, &mut |row| {
            if let Some(f) = f.take() {
                out = Some(f(row)?);
            }
            Ok(false)
        })?;
        Ok(out)
    }

    /// Runs several `;`-separated statements without parameters (raw SQL, e.g. a script),
    /// sent as written: with no parameters there are no placeholders to rewrite.
    pub fn execute_batch(&mut self, sql: &str) -> Result<()> {
        self.check_no_transaction_control(sql)?;
        self.batch(sql)
    }

    /// Refuses hand-written SQL that would begin, end or mark a transaction while one
    /// opened through this connection is open: a `COMMIT` there keeps the rows whatever
    /// the transaction then does (a rollback reported for rows kept), and the
    /// transaction's own commit or rollback then fails.
    fn check_no_transaction_control(&self, sql: &str) -> Result<()> {
        if self.state.depth > 0 && crate::dialect::sql_tokens::controls_transaction(sql) {
            return Err(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                format!(
                    "`{}` inside a transaction: the transaction commits when its closure \
                     returns `Ok` and rolls back on `Err`; nest `DB::transaction` for a \
                     savepoint",
                    sql.trim().chars().take(60).collect::<String>()
                ),
            ));
        }
        Ok(())
    }

    /// [`Connection::execute_batch`] for the connection's own statements (its
    /// transaction control among them).
    fn batch(&mut self, sql: &str) -> Result<()> {
        let started = crate::log::start();
        let result = dispatch!(&mut self.state.inner, c => c.execute_batch(sql));
        crate::log::finish(started, sql, 0);
        self.note(result, sql)
    }

    /// Whether a transaction (or savepoint) opened through this connection is open.
    pub fn in_transaction(&self) -> bool {
        self.state.depth > 0
    }

    /// How many transactions are nested (0: none, 1: a transaction, 2+: savepoints).
    pub fn transaction_depth(&self) -> u32 {
        self.state.depth
    }

    /// Opens a transaction, or a savepoint inside the open one. The handle rolls back
    /// when dropped without [`Transaction::commit`].
    pub fn begin(&mut self) -> Result<Transaction<'_>> {
        self.begin_raw()?;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }

    /// Opens a transaction at an isolation level (see [`crate::DB::isolated`]). The level
    /// belongs to a whole transaction: inside an open one this is
    /// [`Error::InvalidQuery`] (`Clauses`), not a savepoint at another level.
    pub fn begin_isolated(&mut self, level: IsolationLevel) -> Result<Transaction<'_>> {
        self.begin_at(Some(level))?;
        Ok(Transaction {
            conn: self,
            done: false,
        })
    }

    /// [`Connection::transaction`] at an isolation level ([`Connection::begin_isolated`]).
    pub fn transaction_isolated<T>(
        &mut self,
        level: IsolationLevel,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        let tx = self.begin_isolated(level)?;
        finish_transaction(tx, f)
    }

    /// Runs `f` in a transaction (a savepoint when one is open): commits on `Ok`, rolls
    /// back on `Err` and on panic. After a statement failed inside it on PostgreSQL, the
    /// commit rolls back and returns [`Error::TransactionAborted`] (see `DB::transaction`).
    pub fn transaction<T>(&mut self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let tx = self.begin()?;
        finish_transaction(tx, f)
    }

    pub(crate) fn begin_raw(&mut self) -> Result<()> {
        self.begin_at(None)
    }

    /// Opens a transaction (at `isolation`, when given), or a savepoint inside the open
    /// one.
    pub(crate) fn begin_at(&mut self, isolation: Option<IsolationLevel>) -> Result<()> {
        let sql = match (self.state.depth, isolation) {
            (0, isolation) => {
                self.state.aborted = None;
                self.state.isolation = isolation;
                self.begin_statement()
            }
            (_, None) => self.dialect().savepoint(&savepoint_name(self.state.depth)),
            (_, Some(level)) => {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    format!(
                        "the isolation level {} applies to a whole transaction, and one is open \
                         on this connection: set the level on the outermost transaction",
                        level.sql()
                    ),
                ))
            }
        };
        self.batch(&sql)?;
        self.state.depth += 1;
        self.state.marks.opened();
        Ok(())
    }

    /// The statement that opens a transaction at the level asked for, if any.
    fn begin_statement(&self) -> String {
        match self.state.isolation {
            None => self.dialect().begin_transaction().to_owned(),
            Some(level) => self.dialect().begin_transaction_at(level),
        }
    }

    /// The mark of the innermost open transaction level, for a model written in it;
    /// `None` outside a transaction (the write is committed).
    pub(crate) fn write_mark(&mut self) -> Option<Arc<WriteMark>> {
        self.state.marks.current()
    }

    pub(crate) fn commit_raw(&mut self) -> Result<()> {
        debug_assert!(self.state.depth > 0);
        if let Some(first) = self.abort_at_this_level() {
            // The server would answer COMMIT with a silent ROLLBACK (RELEASE with an
            // error): roll back and say why.
            let _ = self.rollback_raw();
            return Err(Error::TransactionAborted { first });
        }
        let sql = if self.state.depth == 1 {
            self.dialect().commit_transaction().to_owned()
        } else {
            self.dialect()
                .release_savepoint(&savepoint_name(self.state.depth - 1))
        };
        let sent_on_live = self.state.depth == 1 && !self.is_broken();
        self.state.commit_unknown = false;
        match self.batch(&sql) {
            Ok(()) => {
                self.state.depth -= 1;
                self.state.marks.committed();
                Ok(())
            }
            Err(Error::Connection { message, source }) if sent_on_live => {
                // The server may have committed before the connection failed: say so
                // (a connection already lost before the COMMIT rolled back for sure).
                let _ = self.rollback_raw();
                self.state.commit_unknown = true;
                Err(Error::Connection {
                    message: format!(
                        "the connection failed at COMMIT before its answer came: the \
                         transaction may have committed or not: {message}"
                    ),
                    source,
                })
            }
            Err(e) => {
                // A failed COMMIT leaves the transaction open on SQLite (e.g. busy);
                // roll back so the connection is usable and nothing half-commits.
                let _ = self.rollback_raw();
                Err(e)
            }
        }
    }

    /// Whether the last outermost COMMIT's outcome is unknown (see `commit_raw`); reset.
    pub(crate) fn take_commit_unknown(&mut self) -> bool {
        std::mem::take(&mut self.state.commit_unknown)
    }

    pub(crate) fn rollback_raw(&mut self) -> Result<()> {
        debug_assert!(self.state.depth > 0);
        let result = if self.state.depth == 1 {
            self.control(self.dialect().rollback_transaction())
        } else {
            let sql = self
                .dialect()
                .rollback_to_savepoint(&savepoint_name(self.state.depth - 1));
            self.control(&sql)
        };
        // Rolling back this level undoes a failure that happened in it; rolling back the
        // transaction undoes every failure.
        let depth = self.state.depth;
        if self
            .state
            .aborted
            .as_ref()
            .is_some_and(|(at, _)| depth == 1 || (*at != WHOLE_TRANSACTION && *at >= depth))
        {
            self.state.aborted = None;
        }
        self.state.depth -= 1;
        self.state.marks.rolled_back();
        if result.is_err() {
            self.state.broken = true;
        }
        result
    }

    /// Marks the connection as one to discard rather than reuse.
    pub(crate) fn mark_broken(&mut self) {
        self.state.broken = true;
    }

    /// Whether the connection should be discarded rather than reused.
    pub(crate) fn is_broken(&self) -> bool {
        self.state.broken || dispatch!(&self.state.inner, c => c.is_closed())
    }

    /// Whether a server at the other end can end the session (not so for SQLite, whose
    /// file cannot go away under an open connection): only then is idle time tracked.
    #[inline]
    fn has_server(&self) -> bool {
        match &self.state.inner {
            #[cfg(feature = "sqlite")]
            Inner::Sqlite(_) => false,
            Inner::Detached(_) => false,
            #[allow(unreachable_patterns)]
            _ => true,
        }
    }

    /// Whether a pooled connection may be handed out again: not known broken and, for a
    /// server connection idle for `verify_after` or longer, still answered (a round
    /// trip). An embedded connection costs a flag test.
    #[inline]
    pub(crate) fn fit_for_checkout(&mut self, verify_after: Duration) -> bool {
        if self.state.broken {
            return false;
        }
        if !self.has_server() {
            return true;
        }
        let verify = self.state.idle_since.elapsed() >= verify_after;
        dispatch!(&mut self.state.inner, c => c.still_open(verify))
    }

    /// Notes that the connection went back to its pool, idle. Reads the clock only for
    /// a server connection: a checkout of an embedded one pays nothing for it.
    pub(crate) fn mark_idle(&mut self) {
        if self.has_server() {
            self.state.idle_since = Instant::now();
        }
    }

    /// Whether a server connection just marked idle has lived `max` or longer (its pool's
    /// `max_lifetime`); no clock is read beyond `mark_idle`'s.
    #[cfg(feature = "pool")]
    pub(crate) fn outlived(&self, max: Duration) -> bool {
        self.has_server()
            && self
                .state
                .idle_since
                .saturating_duration_since(self.state.opened)
                >= max
    }

    /// Makes the connection clean for its next user: rolls back whatever transaction is
    /// still open. Returns `false` when it cannot be made clean.
    pub(crate) fn reset(&mut self) -> bool {
        while self.state.depth > 0 {
            if self.rollback_raw().is_err() {
                return false;
            }
        }
        if dispatch!(&mut self.state.inner, c => c.has_open_transaction()) {
            let _ = self.batch(self.dialect().rollback_transaction());
            return !dispatch!(&mut self.state.inner, c => c.has_open_transaction());
        }
        !self.is_broken()
    }

    /// A cheap round trip proving the connection works.
    pub fn ping(&mut self) -> Result<()> {
        self.execute_batch("SELECT 1")
    }

    /// The first failure that aborted the innermost open level, taken.
    fn abort_at_this_level(&mut self) -> Option<Box<Error>> {
        let depth = self.state.depth;
        match &self.state.aborted {
            // The whole transaction is gone: each level reports it, the outermost last.
            Some((WHOLE_TRANSACTION, first)) if depth > 1 => {
                Some(Box::new(first.duplicate_failure()))
            }
            Some((at, _)) if *at == WHOLE_TRANSACTION || *at >= depth => {
                self.state.aborted.take().map(|(_, first)| first)
            }
            _ => None,
        }
    }

    fn note<T>(&mut self, result: Result<T>, sql: &str) -> Result<T> {
        match result {
            Ok(value) => Ok(value),
            Err(error) => Err(self.failed(error.with_sql(sql))),
        }
    }

    #[cold]
    fn failed(&mut self, error: Error) -> Error {
        if let Error::Connection { .. } = &error {
            self.state.broken = true;
        }
        let after = dispatch!(&mut self.state.inner, c => c.after_failure());
        // A lost connection is reported as such (retry code matches it), not as an abort.
        if self.state.broken || self.state.depth == 0 {
            return error;
        }
        match after {
            AfterFailure::Kept => {}
            AfterFailure::Aborted | AfterFailure::AbortedBefore => match &self.state.aborted {
                None => {
                    let first = Box::new(error.duplicate_failure());
                    self.state.aborted = Some((self.state.depth, first));
                }
                // Refused because an earlier statement aborted the transaction: say
                // which, so the caller (and a retry) sees the deadlock or violation that
                // did it, not "current transaction is aborted".
                Some((_, first)) if matches!(after, AfterFailure::AbortedBefore) => {
                    return Error::TransactionAborted {
                        first: Box::new(first.duplicate_failure()),
                    };
                }
                Some(_) => {}
            },
            AfterFailure::Ended => self.transaction_ended(&error),
        }
        error
    }

    /// The database rolled back the whole open transaction because of `error`. Opens it
    /// again, with its savepoints, so that the statements the caller runs before it
    /// ends the transaction are not committed one by one; each level's commit then
    /// rolls back and reports `error` ([`Error::TransactionAborted`]).
    #[cold]
    fn transaction_ended(&mut self, error: &Error) {
        if !matches!(self.state.aborted, Some((WHOLE_TRANSACTION, _))) {
            let first = Box::new(error.duplicate_failure());
            self.state.aborted = Some((WHOLE_TRANSACTION, first));
        }
        self.state.marks.all_undone();
        let mut reopen = vec![self.begin_statement()];
        reopen.extend(
            (1..self.state.depth).map(|level| self.dialect().savepoint(&savepoint_name(level))),
        );
        for sql in &reopen {
            if self.control(sql).is_err() {
                self.state.broken = true;
                return;
            }
        }
    }

    /// Runs a transaction-control statement (a rollback, or reopening a transaction the
    /// database ended): logged like any statement, but its failure says nothing about
    /// the transaction's statements.
    fn control(&mut self, sql: &str) -> Result<()> {
        let started = crate::log::start();
        let result = dispatch!(&mut self.state.inner, c => c.execute_batch(sql));
        crate::log::finish(started, sql, 0);
        if let Err(Error::Connection { .. }) = &result {
            self.state.broken = true;
        }
        result.map_err(|e| e.with_sql(sql))
    }

    /// Runs `f` on the underlying rusqlite connection (an escape hatch for SQLite-only
    /// features); `None` on other backends.
    #[cfg(feature = "sqlite")]
    pub fn as_rusqlite(&mut self) -> Option<&mut rusqlite::Connection> {
        match &mut self.state.inner {
            Inner::Sqlite(c) => Some(c.raw()),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// The parameters as values; a value that cannot be encoded (a `Json<T>` whose
/// `Serialize` fails) is its error.
fn to_values(params: &[&dyn ToValue]) -> Result<Vec<Value>> {
    params.iter().map(|p| p.try_to_value()).collect()
}

/// Runs `f` in the opened transaction `tx`: commits on `Ok`, rolls back on `Err` (and on
/// panic, when `tx` drops).
fn finish_transaction<T>(
    mut tx: Transaction<'_>,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    match f(&mut tx) {
        Ok(value) => {
            tx.commit()?;
            Ok(value)
        }
        Err(e) => {
            // The caller wants the failure, not a rollback's failure after it (the
            // database may have ended the transaction itself); a failed rollback
            // marks the connection broken.
            if let Err(rollback) = tx.rollback() {
                log::warn!(target: "orm", "rollback after a failure failed: {rollback}");
            }
            Err(e)
        }
    }
}

/// An open transaction (or savepoint) on a [`Connection`]. Dereferences to the
/// connection; rolls back when dropped unless committed.
pub struct Transaction<'c> {
    conn: &'c mut Connection,
    done: bool,
}

impl Transaction<'_> {
    /// Commits (or releases the savepoint); [`Error::TransactionAborted`], rolled back,
    /// when a statement failed in it on PostgreSQL.
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        self.conn.commit_raw()
    }

    /// Rolls back (to the savepoint).
    pub fn rollback(mut self) -> Result<()> {
        self.done = true;
        self.conn.rollback_raw()
    }
}

impl Deref for Transaction<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl DerefMut for Transaction<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if !self.done {
            if let Err(e) = self.conn.rollback_raw() {
                log::warn!(target: "orm", "rollback on drop failed: {e}");
            }
        }
    }
}

/// The name of the savepoint that opens nesting level `depth` (1 for the first nested
/// transaction): a plain word made here, so the dialect needs no quoting for it.
fn savepoint_name(depth: u32) -> String {
    format!("orm_savepoint_{depth}")
}
