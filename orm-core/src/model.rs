//! The `Model` trait: all active-record behaviour, written once, generically.
//! `#[derive(Model)]` supplies only metadata, a positional decoder and an encoder.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, SubsecRound, Utc};

use crate::backend::Connection;
use crate::db::with_named;
use crate::dialect::{Backend, Dialect, SqlWriter};
use crate::error::{Error, Result};
use crate::query::{BulkOp, Cursor, Ident, Paginator, Parts, Query, SelectItem};
use crate::relation::{EagerRelation, RelationMeta};
use crate::row::FromRow;
use crate::state::ModelState;
use crate::value::{Bind, Param, ToValue, Value, ValueRef};

/// What `#[derive(Model)]` knows about a model: table, columns, key and flags.
#[derive(Debug)]
pub struct ModelMeta {
    /// The model's type name (`User`), used in errors.
    pub name: &'static str,
    /// The table (`users` by default: snake_case plural of the type name).
    pub table: &'static str,
    /// The primary key column.
    pub primary_key: &'static str,
    /// Position of the primary key in [`ModelMeta::columns`].
    pub primary_key_index: usize,
    /// Whether the database assigns the key (an `Option<integer>` key).
    pub incrementing: bool,
    /// Every column, in field order: the order rows are selected and decoded in.
    pub columns: &'static [&'static str],
    /// Columns left out of serialisation.
    pub hidden: &'static [&'static str],
    /// Position of `created_at` when the model has `timestamps`.
    pub created_at: Option<usize>,
    /// Position of `updated_at` when the model has `timestamps`.
    pub updated_at: Option<usize>,
    /// Position of `deleted_at` when the model has `soft_deletes`.
    pub deleted_at: Option<usize>,
    /// The connection the model uses (`default` unless set).
    pub connection: &'static str,
    /// Whether the model implements its own hooks (`#[model(hooks)]`): mass updates and
    /// deletes then run model by model so the hooks see each one.
    pub hooks: bool,
    /// The relations declared on the model.
    pub relations: &'static [RelationMeta],
    /// Position of the version column (`#[model(version)]`): optimistic locking.
    pub version: Option<usize>,
    /// Positions of the columns whose table default applies while the field is unset
    /// (`#[model(default)]`): left out of the `INSERT`, read back through `RETURNING`.
    /// Always among the first 64 columns (the derive checks it).
    pub defaults: &'static [usize],
    #[doc(hidden)]
    pub sql: SqlCache,
}

impl ModelMeta {
    /// Every column as `table.column`, in decode order (computed once).
    pub fn qualified_columns(&'static self) -> &'static [String] {
        self.sql.qualified_columns.get_or_init(|| {
            self.columns
                .iter()
                .map(|c| format!("{}.{c}", self.table))
                .collect()
        })
    }

    fn qualified_deleted_at(&'static self) -> Option<&'static str> {
        let i = self.deleted_at?;
        Some(
            self.sql
                .qualified_deleted_at
                .get_or_init(|| format!("{}.{}", self.table, self.columns[i])),
        )
    }

    /// Whether the model has `created_at`/`updated_at` maintained automatically.
    pub fn timestamps(&self) -> bool {
        self.updated_at.is_some()
    }

    /// Whether deletes are soft (set `deleted_at`) and trashed rows hidden by default.
    pub fn soft_deletes(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The name of the column at `index`.
    pub fn column(&self, index: usize) -> &'static str {
        self.columns[index]
    }
}

const BACKEND_SLOTS: usize = 4;

#[derive(Debug, Clone, Copy)]
#[repr(usize)]
enum Statement {
    Find,
    FindWithTrashed,
    InsertWithoutKey,
    InsertWithKey,
    Update,
    Delete,
    Exists,
}
const STATEMENT_KINDS: usize = 7;

/// The SQL text of a model's fixed-shape statements (find by key, insert, update,
/// delete), rendered once per backend and reused.
#[doc(hidden)]
#[derive(Debug)]
pub struct SqlCache {
    slots: [[OnceLock<String>; STATEMENT_KINDS]; BACKEND_SLOTS],
    qualified_columns: OnceLock<Vec<String>>,
    qualified_deleted_at: OnceLock<String>,
    /// What `Model::query()` returns (built once, cloned per call).
    default_query: OnceLock<Query<()>>,
    /// The default query's select list, shared by every clone of it.
    default_columns: OnceLock<Vec<SelectItem>>,
    /// The default query's `SELECT`, per backend (`None`: it has bindings, not cached).
    default_select: [OnceLock<Option<String>>; BACKEND_SLOTS],
    /// Statements whose shape varies (multi-row and default-omitting `INSERT`s, `UPDATE`s
    /// of the changed columns), by shape, most recent last.
    shapes: Mutex<Vec<(Shape, Arc<str>)>>,
}

/// The shape of a varying statement, for [`SqlCache::shapes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// An `INSERT` of `rows` rows without the generated key (`generated`) and without the
    /// default columns in `omitted` (a bit per column position).
    Insert {
        slot: usize,
        rows: usize,
        generated: bool,
        omitted: u64,
    },
    /// An `UPDATE` of the columns in `set` (a bit per column position).
    Update { slot: usize, set: u64 },
}

/// Distinct statement shapes kept per model (then the cache starts over).
const SHAPE_CACHE_CAPACITY: usize = 32;

/// The columns of a model insert: which are left out (and returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InsertShape {
    /// The auto-increment key is left to the database.
    generated: bool,
    /// Default columns left to the database (a bit per column position).
    omitted: u64,
}

impl InsertShape {
    const FULL: InsertShape = InsertShape {
        generated: false,
        omitted: 0,
    };

    fn leaves_out(&self, meta: &ModelMeta, column: usize) -> bool {
        (self.generated && column == meta.primary_key_index)
            || (column < 64 && self.omitted & (1 << column) != 0)
    }

    fn returns_anything(&self) -> bool {
        self.generated || self.omitted != 0
    }

    /// How many columns the insert returns (those it leaves out).
    #[inline]
    fn returned_width(&self, meta: &ModelMeta) -> usize {
        let key = match meta.primary_key_index {
            i if self.generated && i < 64 => 1 << i,
            _ => 0,
        };
        usize::from(self.generated) + (self.omitted & !key).count_ones() as usize
    }

    /// The shape for one model's values (in column order).
    #[inline]
    fn of(meta: &ModelMeta, values: &[Bind<'_>]) -> InsertShape {
        let is_null = |i: usize| matches!(values[i].as_ref(), ValueRef::Null);
        let mut omitted = 0;
        for &i in meta.defaults {
            if is_null(i) {
                omitted |= 1 << i;
            }
        }
        InsertShape {
            generated: meta.incrementing && is_null(meta.primary_key_index),
            omitted,
        }
    }
}

impl SqlCache {
    /// An empty cache (usable in a `static`).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> SqlCache {
        SqlCache {
            slots: [const { [const { OnceLock::new() }; STATEMENT_KINDS] }; BACKEND_SLOTS],
            qualified_columns: OnceLock::new(),
            qualified_deleted_at: OnceLock::new(),
            default_query: OnceLock::new(),
            default_columns: OnceLock::new(),
            default_select: [const { OnceLock::new() }; BACKEND_SLOTS],
            shapes: Mutex::new(Vec::new()),
        }
    }

    /// A statement of a varying shape, rendered once per shape and then reused.
    fn shape_sql(&self, shape: Shape, render: impl FnOnce() -> Result<String>) -> Result<Arc<str>> {
        let mut cache = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, sql)) = cache.iter().find(|(k, _)| *k == shape) {
            return Ok(Arc::clone(sql));
        }
        let sql: Arc<str> = render()?.into();
        if cache.len() >= SHAPE_CACHE_CAPACITY {
            cache.clear();
        }
        cache.push((shape, Arc::clone(&sql)));
        Ok(sql)
    }

    /// `INSERT INTO table (columns) VALUES (...), (...) [RETURNING ...]` for `rows` rows
    /// of one shape, rendered once per backend, row count and shape, then reused.
    fn insert_many_sql(
        &self,
        meta: &ModelMeta,
        dialect: &'static dyn Dialect,
        rows: usize,
        shape: InsertShape,
    ) -> Result<Arc<str>> {
        let key = Shape::Insert {
            slot: backend_slot(dialect.backend()),
            rows,
            generated: shape.generated,
            omitted: shape.omitted,
        };
        self.shape_sql(key, || {
            let mut w = SqlWriter::new(dialect);
            render_model_insert(&mut w, meta, rows, shape);
            Ok(w.finish()?.0)
        })
    }

    /// The rendered `SELECT` of the model's default query when `parts` are still
    /// exactly its clauses; `None` otherwise (the caller renders as usual).
    pub(crate) fn default_select_sql(
        &'static self,
        parts: &Parts,
        dialect: &'static dyn Dialect,
    ) -> Option<&'static str> {
        let template = self.default_query.get()?;
        if template.parts() != parts {
            return None;
        }
        self.default_select[backend_slot(dialect.backend())]
            .get_or_init(|| {
                let mut writer = SqlWriter::new(dialect);
                template.parts().clone().render_select(&mut writer);
                match writer.finish() {
                    Ok((sql, binds)) if binds.is_empty() => Some(sql),
                    _ => None,
                }
            })
            .as_deref()
    }

    fn get(
        &self,
        dialect: &'static dyn Dialect,
        statement: Statement,
        render: impl FnOnce(&mut SqlWriter),
    ) -> Result<&str> {
        let slot = &self.slots[backend_slot(dialect.backend())][statement as usize];
        if let Some(sql) = slot.get() {
            return Ok(sql);
        }
        let mut writer = SqlWriter::new(dialect);
        render(&mut writer);
        let (sql, _) = writer.finish()?;
        Ok(slot.get_or_init(|| sql))
    }
}

fn backend_slot(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 0,
        Backend::Postgres => 1,
    }
}

/// Callbacks around every write. Returning `Err` from a `saving`/`creating`/`updating`/
/// `deleting` hook cancels the write (nothing is written) and returns that error
/// (`Error::Cancelled("why")` says so plainly).
///
/// `#[derive(Model)]` implements this trait with no hooks unless the struct says
/// `#[model(hooks)]`; then implement it yourself, overriding the hooks you need. With
/// hooks, mass updates and deletes on the model's queries (`User::where_(..).delete()`)
/// load the matching models and write them one by one, so the hooks run for each.
pub trait ModelHooks {
    /// Global scopes: conditions added to every query of the model (`Model::query`,
    /// `find`, `all`, ...). Add them with `query.scope("name", |q| ..)` so a query can
    /// remove them with `without_scope("name")`.
    fn global_scopes(query: Query<Self>) -> Query<Self>
    where
        Self: Sized,
    {
        query
    }

    /// Before an insert or an update (on a model with a [`ModelState`], before every
    /// `save`, even one that then finds nothing changed and writes nothing).
    fn saving(&mut self) -> Result<()> {
        Ok(())
    }
    /// After an insert or an update (on a model with a [`ModelState`], after every
    /// `save`).
    fn saved(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before an insert.
    fn creating(&mut self) -> Result<()> {
        Ok(())
    }
    /// After an insert.
    fn created(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before an update (on a model with a [`ModelState`], only when columns changed; the
    /// hook may change more, which are written too).
    fn updating(&mut self) -> Result<()> {
        Ok(())
    }
    /// After an update.
    fn updated(&mut self) -> Result<()> {
        Ok(())
    }
    /// Before a delete (soft or hard).
    fn deleting(&mut self) -> Result<()> {
        Ok(())
    }
    /// After a delete (soft or hard).
    fn deleted(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Where a model operation runs: the model's named connection (resolved per call, so
/// hooks may use the database too) or a connection an internal caller already holds.
pub(crate) enum On<'c> {
    Named(&'static str),
    /// A connection a model remembers (read from or saved on).
    Remembered(Arc<str>),
    Conn(&'c mut Connection),
}

impl On<'_> {
    pub(crate) fn run<T>(&mut self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        match self {
            On::Named(name) => with_named(name, f),
            On::Remembered(name) => with_named(name, f),
            On::Conn(conn) => f(conn),
        }
    }

    /// The model's connection: the one its state remembers, else its own.
    pub(crate) fn model<M: Model>(model: &M) -> On<'static> {
        match model.state().and_then(ModelState::shared_connection) {
            Some(name) => On::Remembered(Arc::clone(name)),
            None => On::Named(M::meta().connection),
        }
    }
}

/// The current time as stored: UTC, microsecond precision (what both backends keep).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn push_column_list(w: &mut SqlWriter, meta: &ModelMeta) {
    w.push_identifiers(meta.columns.iter().copied());
}

fn push_key_condition(w: &mut SqlWriter, meta: &ModelMeta) {
    w.push(" WHERE ")
        .push_identifier(meta.primary_key)
        .push(" = ");
    w.push_placeholder(1);
}

fn find_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
    with_trashed: bool,
) -> Result<&'static str> {
    let kind = if with_trashed || meta.deleted_at.is_none() {
        Statement::FindWithTrashed
    } else {
        Statement::Find
    };
    meta.sql.get(dialect, kind, |w| {
        w.push("SELECT ");
        push_column_list(w, meta);
        w.push(" FROM ").push_identifier(meta.table);
        push_key_condition(w, meta);
        if let (Some(deleted_at), false) = (meta.deleted_at, with_trashed) {
            w.push(" AND ")
                .push_identifier(meta.columns[deleted_at])
                .push(" IS NULL");
        }
        let mut limit = String::new();
        w.dialect().push_limit_offset(&mut limit, Some(1), None);
        w.push(&limit);
    })
}

/// SQL text from the statement cache: a fixed statement or a shaped one.
enum CachedSql {
    Fixed(&'static str),
    Shaped(Arc<str>),
}

impl std::ops::Deref for CachedSql {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            CachedSql::Fixed(sql) => sql,
            CachedSql::Shaped(sql) => sql,
        }
    }
}

fn insert_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
    shape: InsertShape,
) -> Result<CachedSql> {
    let kind = match shape {
        InsertShape::FULL => Statement::InsertWithKey,
        InsertShape {
            generated: true,
            omitted: 0,
        } => Statement::InsertWithoutKey,
        _ => {
            return meta
                .sql
                .insert_many_sql(meta, dialect, 1, shape)
                .map(CachedSql::Shaped)
        }
    };
    meta.sql
        .get(dialect, kind, |w| render_model_insert(w, meta, 1, shape))
        .map(CachedSql::Fixed)
}

/// `INSERT INTO table (columns) VALUES (..), .. [RETURNING ..]` for `rows` rows of the
/// model, with placeholders only (values are bound at execution). The columns the shape
/// leaves out (the generated key, unset default columns) are returned.
fn render_model_insert(w: &mut SqlWriter, meta: &ModelMeta, rows: usize, shape: InsertShape) {
    let columns = meta
        .columns
        .iter()
        .enumerate()
        .filter(|&(i, _)| !shape.leaves_out(meta, i))
        .map(|(_, column)| *column);
    let width = columns.clone().count();
    w.push("INSERT INTO ").push_identifier(meta.table);
    if width == 0 {
        // Every column left to the database (one row: `insert_many` sends these singly).
        w.push(" DEFAULT VALUES");
    } else {
        w.push(" (").push_identifiers(columns).push(") VALUES ");
        for row in 0..rows {
            w.push(if row == 0 { "(" } else { ", (" });
            for column in 0..width {
                if column > 0 {
                    w.push(", ");
                }
                w.push_placeholder(row * width + column + 1);
            }
            w.push(")");
        }
    }
    if shape.returns_anything() {
        w.push(" RETURNING ").push_identifiers(
            meta.columns
                .iter()
                .enumerate()
                .filter(|&(i, _)| shape.leaves_out(meta, i))
                .map(|(_, column)| *column),
        );
    }
}

/// `UPDATE table SET a = ?, b = ? [, version = version + 1] WHERE key = ?
/// [AND version = ?]`: binds are the set values, the key, then the version read.
fn render_update<'a>(
    w: &mut SqlWriter,
    meta: &ModelMeta,
    columns: impl IntoIterator<Item = &'a str>,
) {
    w.push("UPDATE ").push_identifier(meta.table).push(" SET ");
    let mut n = 0;
    for column in columns {
        if n > 0 {
            w.push(", ");
        }
        n += 1;
        w.push_identifier(column).push(" = ");
        w.push_placeholder(n);
    }
    let version = meta.version.map(|v| meta.columns[v]);
    if let Some(version) = version {
        if n > 0 {
            w.push(", ");
        }
        w.push_identifier(version)
            .push(" = ")
            .push_identifier(version)
            .push(" + 1");
    }
    w.push(" WHERE ")
        .push_identifier(meta.primary_key)
        .push(" = ");
    w.push_placeholder(n + 1);
    if let Some(version) = version {
        w.push(" AND ").push_identifier(version).push(" = ");
        w.push_placeholder(n + 2);
    }
}

/// Whether a column is written by a full update: not the key, not the version (which
/// the update increments itself).
fn updatable(meta: &ModelMeta, column: usize) -> bool {
    column != meta.primary_key_index && Some(column) != meta.version
}

fn update_sql(meta: &'static ModelMeta, dialect: &'static dyn Dialect) -> Result<&'static str> {
    meta.sql.get(dialect, Statement::Update, |w| {
        let columns = meta
            .columns
            .iter()
            .enumerate()
            .filter(|&(i, _)| updatable(meta, i))
            .map(|(_, c)| *c);
        render_update(w, meta, columns);
    })
}

/// The `UPDATE` of the columns at `set` (ascending positions), cached by shape while
/// the positions fit a mask.
fn update_columns_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
    set: &[usize],
) -> Result<Arc<str>> {
    let render = || {
        let mut w = SqlWriter::new(dialect);
        render_update(&mut w, meta, set.iter().map(|&i| meta.columns[i]));
        Ok(w.finish()?.0)
    };
    match column_mask(set) {
        Some(mask) => meta.sql.shape_sql(
            Shape::Update {
                slot: backend_slot(dialect.backend()),
                set: mask,
            },
            render,
        ),
        None => render().map(Arc::from),
    }
}

/// A bit per column position, when every position fits.
fn column_mask(positions: &[usize]) -> Option<u64> {
    positions
        .iter()
        .try_fold(0u64, |mask, &i| (i < 64).then(|| mask | (1 << i)))
}

fn delete_sql(meta: &'static ModelMeta, dialect: &'static dyn Dialect) -> Result<&'static str> {
    meta.sql.get(dialect, Statement::Delete, |w| {
        w.push("DELETE FROM ").push_identifier(meta.table);
        push_key_condition(w, meta);
    })
}

fn exists_sql(meta: &'static ModelMeta, dialect: &'static dyn Dialect) -> Result<&'static str> {
    meta.sql.get(dialect, Statement::Exists, |w| {
        w.push("SELECT 1 FROM ").push_identifier(meta.table);
        push_key_condition(w, meta);
    })
}

/// `UPDATE table SET a = ?, b = ? WHERE key = ?` for a chosen set of columns, with the
/// version check and increment on a versioned model; returns how many rows changed.
fn update_columns_on(
    conn: &mut Connection,
    meta: &'static ModelMeta,
    columns: &[(&str, Value)],
    key: &Value,
    version: Option<&Value>,
) -> Result<u64> {
    let mut w = SqlWriter::new(conn.dialect());
    render_update(&mut w, meta, columns.iter().map(|(c, _)| *c));
    let (sql, _) = w.finish()?;
    let mut binds: Vec<Bind<'_>> = columns.iter().map(|(_, v)| Bind::Value(v)).collect();
    binds.push(Bind::Value(key));
    if let Some(version) = version {
        binds.push(Bind::Value(version));
    }
    conn.execute_binds(&sql, &binds)
}

fn not_found(meta: &ModelMeta, key: &Value) -> Error {
    Error::NotFound {
        model: meta.name.to_owned(),
        key: format!("{} = {key}", meta.primary_key),
    }
}

fn missing_key(meta: &ModelMeta, action: &str) -> Error {
    Error::InvalidQuery(format!(
        "cannot {action} a {} that has no primary key value (save it first)",
        meta.name
    ))
}

/// An active-record model. Derive it: `#[derive(Model)]`.
///
/// Every operation runs on the model's connection as the thread resolves it: an
/// [`crate::Executor`] scope (`conn.scope(|| user.save())`), an open transaction or test
/// database, else the pool.
///
/// ```
/// use orm_core::prelude::*;
///
/// #[derive(Debug, Clone, Default, Model)]
/// #[model(timestamps)]                 // table `users`: the type name, snake_case plural
/// pub struct User {
///     pub id: Option<i64>,             // the auto-increment key: None until saved
///     pub name: String,
///     pub votes: i32,
///     pub created_at: Option<DateTime<Utc>>,
///     pub updated_at: Option<DateTime<Utc>>,
/// }
///
/// DB::connect("sqlite::memory:")?;
/// DB::statement("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
///                votes INTEGER NOT NULL, created_at TEXT, updated_at TEXT)")?;
/// let mut ada = User { name: "Ada".into(), votes: 120, ..Default::default() };
/// ada.save()?;                         // INSERT: id and timestamps filled
/// ada.votes += 1;
/// ada.save()?;                         // UPDATE by primary key
/// assert_eq!(User::find_or_fail(ada.id.unwrap())?.votes, 121);
/// let top = User::where_("votes", ">", 100).order_by_desc("votes").get()?;
/// assert_eq!(top.len(), 1);
/// ada.delete()?;
/// assert_eq!(User::count()?, 0);
/// # Ok::<(), orm_core::Error>(())
/// ```
pub trait Model: FromRow + ModelHooks + Sized + 'static {
    /// The model's metadata (emitted by the derive).
    fn meta() -> &'static ModelMeta;

    /// Every column's value, in [`ModelMeta::columns`] order (emitted by the derive).
    fn to_values(&self) -> Vec<Value>;

    /// Appends every column's value to `out` as [`ModelMeta::columns`] orders them,
    /// borrowing text and bytes from the fields (the derive emits it; inserts use it).
    #[doc(hidden)]
    fn write_binds<'a>(&'a self, out: &mut Vec<Bind<'a>>) {
        out.extend(self.to_values().into_iter().map(Bind::Owned));
    }

    /// The primary key's value (`Value::Null` before an auto-increment insert).
    fn key_value(&self) -> Value;

    /// The model's [`ModelState`] field, when it has one (emitted by the derive).
    #[doc(hidden)]
    fn state(&self) -> Option<&ModelState> {
        None
    }

    /// The model's [`ModelState`] field, mutably (emitted by the derive).
    #[doc(hidden)]
    fn state_mut(&mut self) -> Option<&mut ModelState> {
        None
    }

    /// Sets one column's field from a value (emitted by the derive).
    fn set_column(&mut self, column: &str, value: ValueRef<'_>) -> Result<()>;

    /// One column's value, by column name (emitted by the derive).
    fn column_value(&self, column: &str) -> Option<Value>;

    /// A query on the model's table, decoding rows into the model. Soft-deleted rows are
    /// excluded (the `soft_deletes` scope; see [`Query::with_trashed`]).
    fn query() -> Query<Self> {
        let meta = Self::meta();
        let mut query: Query<Self> = meta
            .sql
            .default_query
            .get_or_init(|| default_query(meta))
            .clone()
            .into_rows();
        query.model.updated_at = meta.updated_at.map(|u| meta.columns[u]);
        if meta.hooks {
            query.model.bulk = Some(bulk_write::<Self>);
        }
        Self::global_scopes(query)
    }

    /// Every row (trashed rows excluded).
    fn all() -> Result<Vec<Self>> {
        Self::query().get()
    }

    /// `Model::query().where_(column, op, value)`.
    fn where_(
        column: impl Into<Ident>,
        op: impl crate::query::IntoOperator,
        value: impl Into<Value>,
    ) -> Query<Self> {
        Self::query().where_(column, op, value)
    }

    /// `Model::query().where_eq(column, value)`.
    fn where_eq(column: impl Into<Ident>, value: impl Into<Value>) -> Query<Self> {
        Self::query().where_eq(column, value)
    }

    /// `Model::query().where_in(column, values)`.
    fn where_in<V: Into<Value>>(
        column: impl Into<Ident>,
        values: impl IntoIterator<Item = V>,
    ) -> Query<Self> {
        Self::query().where_in(column, values)
    }

    /// `Model::query().where_null(column)`.
    fn where_null(column: impl Into<Ident>) -> Query<Self> {
        Self::query().where_null(column)
    }

    /// `Model::query().where_not_null(column)`.
    fn where_not_null(column: impl Into<Ident>) -> Query<Self> {
        Self::query().where_not_null(column)
    }

    /// `Model::query().order_by(column)`.
    fn order_by(column: impl Into<Ident>) -> Query<Self> {
        Self::query().order_by(column)
    }

    /// `Model::query().order_by_desc(column)`.
    fn order_by_desc(column: impl Into<Ident>) -> Query<Self> {
        Self::query().order_by_desc(column)
    }

    /// `Model::query().latest()`: newest `created_at` first.
    fn latest() -> Query<Self> {
        Self::query().latest()
    }

    /// `Model::query().first()`.
    fn first() -> Result<Option<Self>> {
        Self::query().first()
    }

    /// `Model::query().count()`.
    fn count() -> Result<u64> {
        Self::query().count()
    }

    /// `Model::query().paginate(per_page, page)`.
    fn paginate(per_page: u64, page: u64) -> Result<Paginator<Self>> {
        Self::query().paginate(per_page, page)
    }

    /// `Model::query().cursor()`: every row, streamed in pages.
    fn cursor() -> Cursor<Self> {
        Self::query().cursor()
    }

    /// A query that includes soft-deleted rows.
    fn with_trashed() -> Query<Self> {
        Self::query().with_trashed()
    }

    /// A query on soft-deleted rows only.
    fn only_trashed() -> Query<Self> {
        Self::query().only_trashed()
    }

    /// The rows with these keys (in no particular order; missing keys are skipped).
    fn find_many<K: ToValue>(keys: impl IntoIterator<Item = K>) -> Result<Vec<Self>> {
        let keys = keys.into_iter().map(|k| k.to_value());
        Self::query().where_in(Self::meta().primary_key, keys).get()
    }

    /// The first row matching `attributes`, or a new model (its `Default` with
    /// `attributes` then `values` applied) saved now.
    fn first_or_create<'a>(
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<Self>
    where
        Self: Default,
    {
        first_or_create(&mut On::Named(Self::meta().connection), attributes, values)
    }

    /// The first row matching `attributes` with `values` applied and saved, or a new
    /// model (its `Default` with both applied) saved now.
    fn update_or_create<'a>(
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<Self>
    where
        Self: Default,
    {
        update_or_create(&mut On::Named(Self::meta().connection), attributes, values)
    }

    /// Inserts new models with multi-row `INSERT`s (as few statements as the backend's
    /// bind limit allows, in one transaction), running the creating/saving hooks and
    /// setting timestamps first, and filling auto-increment keys from `RETURNING`.
    fn insert_many(models: &mut [Self]) -> Result<()> {
        insert_many(models, &mut On::Named(Self::meta().connection))
    }

    /// Eager loads one relation onto `models` (emitted by the derive for models with
    /// relations).
    #[doc(hidden)]
    fn eager_load(
        models: &mut [Self],
        relation: &str,
        eager: &EagerRelation,
        conn: &mut Connection,
    ) -> Result<()> {
        let _ = (models, eager, conn);
        Err(Error::UnknownRelation {
            model: Self::meta().name.to_owned(),
            relation: relation.to_owned(),
        })
    }

    /// Where `with_count` stores a relation's count (emitted by the derive).
    #[doc(hidden)]
    fn relation_count(&mut self, relation: &str) -> Option<&mut Option<u64>> {
        let _ = relation;
        None
    }

    /// Eager loads relations onto models already loaded: `User::load(&mut users,
    /// &["posts", "posts.comments"])` (one query per relation and level).
    fn load(models: &mut [Self], relations: &[&str]) -> Result<()> {
        with_named(Self::meta().connection, |conn| {
            crate::relation::load(models, relations, conn)
        })
    }

    /// Sets this model's foreign key of the belongs-to `relation` to `owner`'s key (not
    /// saved: call `save`).
    fn associate<O: Model>(&mut self, relation: &str, owner: &O) -> Result<()> {
        crate::relation::associate(self, relation, owner)
    }

    /// Clears this model's foreign key of the belongs-to `relation` (not saved).
    fn dissociate(&mut self, relation: &str) -> Result<()> {
        crate::relation::dissociate(self, relation)
    }

    /// The row with this primary key, if any (trashed rows excluded).
    fn find(key: impl ToValue) -> Result<Option<Self>> {
        find_by_key::<Self>(
            &mut On::Named(Self::meta().connection),
            key.to_value(),
            false,
        )
    }

    /// The row with this primary key, or [`Error::NotFound`] naming model and key.
    fn find_or_fail(key: impl ToValue) -> Result<Self> {
        let key = key.to_value();
        find_by_key::<Self>(&mut On::Named(Self::meta().connection), key.clone(), false)?
            .ok_or_else(|| not_found(Self::meta(), &key))
    }

    /// Inserts the model (when new) or updates its row, running the hooks and
    /// maintaining timestamps; an auto-increment key is filled in after an insert.
    ///
    /// With a [`ModelState`] field: a new model is inserted (a creation: `creating`/
    /// `created`, both timestamps), even with a key set by hand; a stored one updates
    /// only the columns changed since it was read or saved, plus `updated_at` (the
    /// `updating`/`updated` hooks run only then) — no statement when nothing changed.
    ///
    /// Without one, the key decides: no key (or a natural key no row has) inserts; an
    /// auto-increment key updates every column, and [`Error::NotFound`] says that no row
    /// has it (use [`Model::create`] to insert with a chosen key). With a version column
    /// (`#[model(version)]`) a row changed since it was read is [`Error::StaleModel`].
    fn save(&mut self) -> Result<()> {
        let mut on = On::model(self);
        save(self, &mut on, None)
    }

    /// Updates only the named columns of an existing row (plus `updated_at`).
    fn save_only(&mut self, columns: &[&str]) -> Result<()> {
        let mut on = On::model(self);
        save(self, &mut on, Some(columns))
    }

    /// Inserts a new model and returns it (with its key and read-back defaults filled
    /// in). Always an `INSERT` — `creating`/`created` hooks, both timestamps (unless set
    /// by the caller) — even with a key chosen by hand: a key a row already has is
    /// [`Error::UniqueViolation`] and that row is untouched.
    fn create(mut model: Self) -> Result<Self> {
        model.insert()?;
        Ok(model)
    }

    /// Inserts this model as a new row: [`Model::create`] in place.
    fn insert(&mut self) -> Result<()> {
        let mut on = On::model(self);
        create(self, &mut on)
    }

    /// Deletes the row: a soft delete (sets `deleted_at`) when the model has
    /// `soft_deletes`, else a real `DELETE`. Runs the delete hooks.
    fn delete(&mut self) -> Result<()> {
        let mut on = On::model(self);
        delete(self, &mut on, false)
    }

    /// Deletes the row for real, even with `soft_deletes`.
    fn force_delete(&mut self) -> Result<()> {
        let mut on = On::model(self);
        delete(self, &mut on, true)
    }

    /// Whether the model is soft-deleted (`deleted_at` set).
    fn trashed(&self) -> bool {
        Self::meta()
            .deleted_at
            .and_then(|i| self.column_value(Self::meta().columns[i]))
            .is_some_and(|v| !v.is_null())
    }

    /// Un-deletes a soft-deleted model.
    fn restore(&mut self) -> Result<()> {
        let mut on = On::model(self);
        restore(self, &mut on)
    }

    /// Reloads every column from the database.
    fn refresh(&mut self) -> Result<()> {
        let mut on = On::model(self);
        refresh(self, &mut on)
    }

    /// Sets `updated_at` to now and writes only that column.
    fn touch(&mut self) -> Result<()> {
        let mut on = On::model(self);
        touch(self, &mut on)
    }

    /// Deletes the rows with these keys, loading each so hooks and soft deletes apply.
    /// Returns how many were deleted.
    fn destroy<K: ToValue>(keys: impl IntoIterator<Item = K>) -> Result<u64> {
        destroy::<Self, K>(&mut On::Named(Self::meta().connection), keys)
    }

    /// The columns whose value differs from the stored row, with their new values (every
    /// column for a model that was never saved). With a [`ModelState`] field it compares
    /// with the values as read or last saved, without a query; without one it compares
    /// with the database (one query), so it also sees changes made by others.
    fn get_dirty(&self) -> Result<Vec<(&'static str, Value)>> {
        let mut on = On::model(self);
        dirty(self, &mut on)
    }

    /// Whether any column differs from the stored row (see [`Model::get_dirty`]).
    fn is_dirty(&self) -> Result<bool> {
        if let Some(state) = self.state() {
            return Ok(!changed_columns(self, state).is_empty());
        }
        Ok(!self.get_dirty()?.is_empty())
    }

    /// A column's value as read or last saved: `None` for a model without a
    /// [`ModelState`] field, a new model, or an unknown column.
    fn get_original(&self, column: &str) -> Option<Value> {
        let original = self.state()?.original()?;
        let i = Self::meta().columns.iter().position(|c| *c == column)?;
        Some(original[i].clone())
    }

    /// The model as JSON, without its hidden fields (the derived `Serialize`), or
    /// [`Error::Serialization`] when a field's `Serialize` impl fails.
    fn to_json(&self) -> Result<serde_json::Value>
    where
        Self: serde::Serialize,
    {
        serde_json::to_value(self).map_err(Error::Serialization)
    }
}

pub(crate) fn find_by_key<M: Model>(
    on: &mut On<'_>,
    key: Value,
    with_trashed: bool,
) -> Result<Option<M>> {
    let meta = M::meta();
    if meta.hooks {
        // Global scopes may apply: go through the model's query.
        let mut query = M::query().where_eq(
            Ident::Owned(format!("{}.{}", meta.table, meta.primary_key)),
            key,
        );
        if with_trashed {
            query = query.without_scope(SOFT_DELETES);
        }
        return on.run(|conn| query.first_on(conn));
    }
    on.run(|conn| {
        let sql = find_sql(M::meta(), conn.dialect(), with_trashed)?;
        conn.query_first_native(sql, std::slice::from_ref(&key), M::from_row)
    })
}

/// The query `Model::query()` returns, built once per model: every column, the
/// model's connection and key, and the soft-delete scope.
fn default_query(meta: &'static ModelMeta) -> Query<()> {
    let columns = meta.sql.default_columns.get_or_init(|| {
        meta.qualified_columns()
            .iter()
            .map(|c| SelectItem::Column(Ident::Borrowed(c.as_str())))
            .collect()
    });
    let query = Query::<()>::table(meta.table)
        .use_connection(meta.connection)
        .primary_key(meta.primary_key)
        .shared_select(columns);
    let query = match (meta.qualified_deleted_at(), meta.deleted_at) {
        (Some(qualified), Some(i)) => query
            .scope(SOFT_DELETES, |q| q.where_null(qualified))
            .soft_delete_columns(meta.columns[i], meta.updated_at.map(|u| meta.columns[u])),
        _ => query,
    };
    query.default_select(&meta.sql)
}

/// The name of the soft-delete scope on model queries.
pub const SOFT_DELETES: &str = "soft_deletes";

fn first_or_create<'a, M: Model + Default>(
    on: &mut On<'_>,
    attributes: impl IntoIterator<Item = (&'a str, Value)>,
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<M> {
    let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
    if let Some(found) = on.run(|conn| matching::<M>(&attributes).first_on(conn))? {
        return Ok(found);
    }
    let mut model = M::default();
    apply(&mut model, attributes.iter().cloned().chain(values))?;
    save(&mut model, on, None)?;
    Ok(model)
}

fn update_or_create<'a, M: Model + Default>(
    on: &mut On<'_>,
    attributes: impl IntoIterator<Item = (&'a str, Value)>,
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<M> {
    let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
    let mut model = match on.run(|conn| matching::<M>(&attributes).first_on(conn))? {
        Some(found) => found,
        None => {
            let mut model = M::default();
            apply(&mut model, attributes.iter().cloned())?;
            model
        }
    };
    apply(&mut model, values)?;
    save(&mut model, on, None)?;
    Ok(model)
}

fn destroy<M: Model, K: ToValue>(
    on: &mut On<'_>,
    keys: impl IntoIterator<Item = K>,
) -> Result<u64> {
    let mut count = 0;
    for key in keys {
        if let Some(mut model) = find_by_key::<M>(on, key.to_value(), false)? {
            delete(&mut model, on, false)?;
            count += 1;
        }
    }
    Ok(count)
}

fn dirty<M: Model>(model: &M, on: &mut On<'_>) -> Result<Vec<(&'static str, Value)>> {
    let meta = M::meta();
    if let Some(state) = model.state() {
        let changed = changed_columns(model, state);
        let mut values = model.to_values();
        return Ok(changed
            .into_iter()
            .map(|i| (meta.columns[i], std::mem::take(&mut values[i])))
            .collect());
    }
    let key = model.key_value();
    let stored = if key.is_null() {
        None
    } else {
        find_by_key::<M>(on, key, true)?
    };
    let columns = meta.columns.iter().copied().zip(model.to_values());
    Ok(match stored {
        None => columns.collect(),
        Some(stored) => columns
            .zip(stored.to_values())
            .filter(|((_, current), stored)| current != stored)
            .map(|(changed, _)| changed)
            .collect(),
    })
}

/// The positions of the columns that differ from the values as read or last saved
/// (every column of a new model).
fn changed_columns<M: Model>(model: &M, state: &ModelState) -> Vec<usize> {
    let mut values = Vec::with_capacity(M::meta().columns.len());
    model.write_binds(&mut values);
    match state.original() {
        None => (0..values.len()).collect(),
        Some(original) => values
            .iter()
            .zip(original)
            .enumerate()
            .filter(|(_, (current, original))| current.as_ref() != original.as_ref())
            .map(|(i, _)| i)
            .collect(),
    }
}

/// Marks a model with a state as stored, its current values the original ones.
fn mark_stored<M: Model>(model: &mut M) {
    if model.state().is_some() {
        let values = model.to_values().into_boxed_slice();
        if let Some(state) = model.state_mut() {
            state.set_original(Some(values));
        }
    }
}

/// Records the current values of the columns at `positions` as saved.
fn sync_original<M: Model>(model: &mut M, positions: impl IntoIterator<Item = usize>) {
    if model.state().is_none_or(|s| !s.is_stored()) {
        return;
    }
    let columns = M::meta().columns;
    let values: Vec<(usize, Value)> = positions
        .into_iter()
        .filter_map(|i| Some((i, model.column_value(columns[i])?)))
        .collect();
    if let Some(original) = model.state_mut().and_then(ModelState::original_mut) {
        for (i, value) in values {
            original[i] = value;
        }
    }
}

/// A model decoded from a row: stored, its values the original ones (the derive calls
/// it for models with a [`ModelState`] field).
#[doc(hidden)]
pub fn loaded<M: Model>(mut model: M) -> M {
    mark_stored(&mut model);
    model
}

/// Remembers in models read through `connection` that they came from it, when it is
/// not the model's own (the derive's `FromRow::remember_connection`).
#[doc(hidden)]
pub fn remember_connection<M: Model>(models: &mut [M], connection: &str) {
    if connection == M::meta().connection {
        return;
    }
    let name: Arc<str> = Arc::from(connection);
    for model in models {
        if let Some(state) = model.state_mut() {
            state.set_connection(Some(Arc::clone(&name)));
        }
    }
}

fn matching<M: Model>(attributes: &[(&str, Value)]) -> Query<M> {
    attributes.iter().fold(M::query(), |q, (column, value)| {
        q.where_eq(Ident::Owned((*column).to_owned()), value.clone())
    })
}

fn apply<'a, M: Model>(
    model: &mut M,
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<()> {
    for (column, value) in values {
        model.set_column(column, value.as_ref())?;
    }
    Ok(())
}

impl<M: Model> Query<M> {
    /// Includes soft-deleted rows.
    pub fn with_trashed(self) -> Self {
        self.without_scope(SOFT_DELETES)
    }

    /// Only soft-deleted rows.
    pub fn only_trashed(self) -> Self {
        match M::meta().qualified_deleted_at() {
            Some(column) => self.without_scope(SOFT_DELETES).where_not_null(column),
            None => self.where_raw("1 = 0", &[]),
        }
    }

    /// Deletes the matching rows for real, even on a model with soft deletes.
    pub fn force_delete(self) -> Result<u64> {
        self.hard_delete().delete()
    }

    /// Un-deletes the matching soft-deleted rows; returns how many.
    pub fn restore(self) -> Result<u64> {
        match M::meta().deleted_at {
            Some(i) => self
                .with_trashed()
                .update([(M::meta().columns[i], Value::Null)]),
            None => Ok(0),
        }
    }
}

fn insert_many<M: Model>(models: &mut [M], on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    if models.is_empty() {
        return Ok(());
    }
    let at = timestamp_for(meta);
    for model in models.iter_mut() {
        model.saving()?;
        model.creating()?;
        stamp_unset(model, meta.created_at, at)?;
        stamp_unset(model, meta.updated_at, at)?;
    }
    // Rows of one shape (which columns the database fills) go together, in order.
    let groups = insert_groups(models);
    let results: Vec<Vec<Value>> = on.run(|conn| {
        let dialect = conn.dialect();
        let per_statement = |shape: &InsertShape| {
            let width = (0..meta.columns.len())
                .filter(|&i| !shape.leaves_out(meta, i))
                .count();
            // An all-default row (`DEFAULT VALUES`) goes alone.
            dialect
                .max_bind_params()
                .checked_div(width)
                .map_or(1, |rows| rows.max(1))
        };
        let statements: usize = groups
            .iter()
            .map(|(shape, rows)| rows.len().div_ceil(per_statement(shape)))
            .sum();
        let write = |conn: &mut Connection| {
            let mut results = Vec::with_capacity(groups.len());
            for (shape, rows) in &groups {
                if shape.returns_anything() && !dialect.supports_returning() {
                    return Err(cannot_return(dialect));
                }
                let width = shape.returned_width(meta);
                let mut returned = Vec::with_capacity(rows.len() * width);
                for chunk in rows.chunks(per_statement(shape)) {
                    let sql = meta
                        .sql
                        .insert_many_sql(meta, dialect, chunk.len(), *shape)?;
                    let mut binds = Vec::with_capacity(chunk.len() * meta.columns.len());
                    for &i in chunk {
                        let start = binds.len();
                        models[i].write_binds(&mut binds);
                        leave_out(&mut binds, start, meta, shape);
                    }
                    if shape.returns_anything() {
                        conn.query_each_binds(&sql, &binds, |row| {
                            for c in 0..width {
                                returned.push(row.value_at(c)?.to_owned_value());
                            }
                            Ok(true)
                        })?;
                    } else {
                        conn.execute_binds(&sql, &binds)?;
                    }
                }
                results.push(returned);
            }
            Ok(results)
        };
        // One statement is atomic on its own; several share a transaction.
        if statements <= 1 {
            write(conn)
        } else {
            conn.transaction(write)
        }
    })?;
    for ((shape, rows), returned) in groups.iter().zip(&results) {
        let columns: Vec<&str> = (0..meta.columns.len())
            .filter(|&i| shape.leaves_out(meta, i))
            .map(|i| meta.columns[i])
            .collect();
        if columns.is_empty() {
            continue;
        }
        for (&i, values) in rows.iter().zip(returned.chunks(columns.len())) {
            for (column, value) in columns.iter().zip(values) {
                models[i].set_column(column, value.as_ref())?;
            }
        }
    }
    for model in models.iter_mut() {
        mark_stored(model);
        model.created()?;
        model.saved()?;
    }
    Ok(())
}

/// The models' positions grouped by insert shape (one group unless some rows leave
/// their key or a default column to the database and others do not).
fn insert_groups<M: Model>(models: &[M]) -> Vec<(InsertShape, Vec<usize>)> {
    let meta = M::meta();
    if let (true, Some(head)) = (meta.defaults.is_empty(), models.first()) {
        // Only the key can be left out: usually all rows or none leave it, one group.
        let generated = |model: &M| meta.incrementing && model.key_value().is_null();
        let first = generated(head);
        if models[1..].iter().all(|model| generated(model) == first) {
            let shape = InsertShape {
                generated: first,
                omitted: 0,
            };
            return vec![(shape, (0..models.len()).collect())];
        }
    }
    let mut scratch = Vec::new();
    let mut groups: Vec<(InsertShape, Vec<usize>)> = Vec::with_capacity(1);
    for (i, model) in models.iter().enumerate() {
        let shape = if meta.defaults.is_empty() {
            InsertShape {
                generated: meta.incrementing && model.key_value().is_null(),
                omitted: 0,
            }
        } else {
            scratch.clear();
            model.write_binds(&mut scratch);
            InsertShape::of(meta, &scratch)
        };
        match groups.iter_mut().find(|(s, _)| *s == shape) {
            Some((_, rows)) => rows.push(i),
            None => groups.push((shape, {
                let mut rows = Vec::with_capacity(models.len() - i);
                rows.push(i);
                rows
            })),
        }
    }
    groups
}

/// Drops from the row written at `binds[start..]` the columns the shape leaves out.
#[inline(always)]
fn leave_out(binds: &mut Vec<Bind<'_>>, start: usize, meta: &ModelMeta, shape: &InsertShape) {
    if shape.omitted == 0 {
        // The common shapes: every column, or all but the generated key.
        if shape.generated {
            binds.remove(start + meta.primary_key_index);
        }
        return;
    }
    leave_out_defaults(binds, start, meta, shape);
}

/// [`leave_out`] for a shape that leaves default columns to the database.
fn leave_out_defaults(
    binds: &mut Vec<Bind<'_>>,
    start: usize,
    meta: &ModelMeta,
    shape: &InsertShape,
) {
    for c in (0..meta.columns.len()).rev() {
        if shape.leaves_out(meta, c) {
            binds.remove(start + c);
        }
    }
}

fn cannot_return(dialect: &dyn Dialect) -> Error {
    Error::InvalidQuery(format!(
        "{:?} cannot return generated values",
        dialect.backend()
    ))
}

/// A mass update or delete on a model with hooks: load the models, write each (hooks
/// run), all in one transaction so a hook's `Err` cancels everything.
fn bulk_write<M: Model>(query: Query<M>, op: BulkOp, conn: &mut Connection) -> Result<u64> {
    conn.transaction(|conn| {
        let mut models = query.get_on(conn)?;
        let mut on = On::Conn(conn);
        for model in &mut models {
            match &op {
                BulkOp::Update(values) => {
                    for (column, value) in values {
                        model.set_column(column, value.as_ref())?;
                    }
                    let columns: Vec<&str> = values.iter().map(|(c, _)| c.as_str()).collect();
                    save(model, &mut on, Some(&columns))?;
                }
                BulkOp::Delete { force } => delete(model, &mut on, *force)?,
            }
        }
        Ok(models.len() as u64)
    })
}

/// The time to stamp a write with: now when the model has timestamp columns (otherwise
/// nothing reads it, so no clock is read).
fn timestamp_for(meta: &ModelMeta) -> DateTime<Utc> {
    if meta.created_at.is_some() || meta.updated_at.is_some() {
        now()
    } else {
        DateTime::<Utc>::MIN_UTC
    }
}

fn set_timestamp<M: Model>(model: &mut M, index: Option<usize>, at: DateTime<Utc>) -> Result<()> {
    if let Some(i) = index {
        model.set_column(M::meta().columns[i], ValueRef::DateTimeUtc(at))?;
    }
    Ok(())
}

/// Stamps a timestamp column the caller left unset (a value they set is kept).
#[inline]
fn stamp_unset<M: Model>(model: &mut M, index: Option<usize>, at: DateTime<Utc>) -> Result<()> {
    if let Some(i) = index {
        let column = M::meta().columns[i];
        if model.column_value(column).is_none_or(|v| v.is_null()) {
            model.set_column(column, ValueRef::DateTimeUtc(at))?;
        }
    }
    Ok(())
}

/// The version a versioned model holds (what its next update checks for).
fn version_read<M: Model>(model: &M) -> Option<Value> {
    let meta = M::meta();
    meta.version
        .map(|v| model.column_value(meta.columns[v]).unwrap_or(Value::Null))
}

/// After an update of a versioned model: the field holds the row's new version.
fn bump_version<M: Model>(model: &mut M, read: Option<Value>) -> Result<()> {
    let meta = M::meta();
    if let (Some(v), Some(Value::Int(n))) = (meta.version, read) {
        model.set_column(meta.columns[v], ValueRef::Int(n + 1))?;
        sync_original(model, [v]);
    }
    Ok(())
}

/// Why an update of the row with `key` changed nothing: the row was changed by someone
/// else (versioned model, row still there) or it is gone.
fn stale_or_missing<M: Model>(on: &mut On<'_>, key: &Value) -> Error {
    let meta = M::meta();
    if meta.version.is_some() {
        let exists = on.run(|conn| {
            let sql = exists_sql(meta, conn.dialect())?;
            Ok(conn
                .query_first_native(sql, std::slice::from_ref(key), |_| Ok(()))?
                .is_some())
        });
        match exists {
            Ok(true) => {
                return Error::StaleModel {
                    model: meta.name.to_owned(),
                    key: format!("{} = {key}", meta.primary_key),
                }
            }
            Ok(false) => {}
            Err(e) => return e,
        }
    }
    not_found(meta, key)
}

/// [`Model::save`] on a connection the caller already holds (relation writes).
pub(crate) fn save_on<M: Model>(model: &mut M, conn: &mut Connection) -> Result<()> {
    save(model, &mut On::Conn(conn), None)
}

/// [`Model::insert`] on a connection the caller already holds (relation writes).
pub(crate) fn insert_on<M: Model>(model: &mut M, conn: &mut Connection) -> Result<()> {
    create(model, &mut On::Conn(conn))
}

fn save<M: Model>(model: &mut M, on: &mut On<'_>, only: Option<&[&str]>) -> Result<()> {
    if let Some(columns) = only {
        return save_only(model, on, columns);
    }
    match model.state().map(ModelState::is_stored) {
        Some(true) => update_changed(model, on),
        Some(false) => create(model, on),
        None => save_by_key(model, on),
    }
}

/// `save` on a model without a state: the key tells a new model from a stored one.
fn save_by_key<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    let key = model.key_value();
    let exists = if key.is_null() {
        false
    } else if meta.incrementing {
        true
    } else {
        on.run(|conn| {
            let sql = exists_sql(meta, conn.dialect())?;
            Ok(conn
                .query_first_native(sql, std::slice::from_ref(&key), |_| Ok(()))?
                .is_some())
        })?
    };
    if !exists {
        return create(model, on);
    }
    model.saving()?;
    model.updating()?;
    set_timestamp(model, meta.updated_at, timestamp_for(meta))?;
    let key = model.key_value();
    let version = version_read(model);
    let changed = {
        let mut values = Vec::with_capacity(meta.columns.len() + 1);
        model.write_binds(&mut values);
        let mut column = 0;
        values.retain(|_| {
            column += 1;
            updatable(meta, column - 1)
        });
        values.push(Bind::Value(&key));
        if let Some(version) = &version {
            values.push(Bind::Value(version));
        }
        on.run(|conn| {
            let sql = update_sql(meta, conn.dialect())?;
            conn.execute_binds(sql, &values)
        })?
    };
    if changed == 0 {
        return Err(stale_or_missing::<M>(on, &key));
    }
    bump_version(model, version)?;
    model.updated()?;
    model.saved()
}

/// `save` on a stored model with a state: writes the changed columns only.
fn update_changed<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    let changes = |model: &M| {
        let mut changed = model
            .state()
            .map_or_else(Vec::new, |s| changed_columns(model, s));
        // The version is the update's own business, never written from the field.
        changed.retain(|&i| Some(i) != meta.version);
        changed
    };
    model.saving()?;
    if changes(model).is_empty() {
        return model.saved();
    }
    model.updating()?;
    let mut changed = changes(model);
    if changed.is_empty() {
        return model.saved();
    }
    if let Some(u) = meta.updated_at {
        // `updated_at` is stamped unless the caller changed it themselves.
        if !changed.contains(&u) {
            set_timestamp(model, Some(u), timestamp_for(meta))?;
            let at = changed.partition_point(|&i| i < u);
            changed.insert(at, u);
        }
    }
    // The row is the one read: its key as read (the key column itself may be changed).
    let key = model
        .state()
        .and_then(ModelState::original)
        .map(|o| o[meta.primary_key_index].clone())
        .unwrap_or_else(|| model.key_value());
    let version = version_read(model);
    let count = {
        let mut values = Vec::with_capacity(meta.columns.len());
        model.write_binds(&mut values);
        let mut binds: Vec<Bind<'_>> = changed.iter().map(|&i| values[i].param()).collect();
        binds.push(Bind::Value(&key));
        if let Some(version) = &version {
            binds.push(Bind::Value(version));
        }
        on.run(|conn| {
            let sql = update_columns_sql(meta, conn.dialect(), &changed)?;
            conn.execute_binds(&sql, &binds)
        })?
    };
    if count == 0 {
        return Err(stale_or_missing::<M>(on, &key));
    }
    sync_original(model, changed);
    bump_version(model, version)?;
    model.updated()?;
    model.saved()
}

/// `save_only`: the named columns (plus `updated_at`) of a stored row.
fn save_only<M: Model>(model: &mut M, on: &mut On<'_>, columns: &[&str]) -> Result<()> {
    let meta = M::meta();
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "update"));
    }
    model.saving()?;
    model.updating()?;
    let at = timestamp_for(meta);
    set_timestamp(model, meta.updated_at, at)?;
    let version_column = meta.version.map(|v| meta.columns[v]);
    let mut pairs: Vec<(&str, Value)> = Vec::with_capacity(columns.len() + 1);
    for column in columns {
        if Some(*column) == version_column {
            continue;
        }
        let value = model
            .column_value(column)
            .ok_or_else(|| Error::ColumnNotFound(format!("{}.{column}", meta.name)))?;
        pairs.push((column, value));
    }
    if let Some(i) = meta.updated_at {
        if !columns.contains(&meta.columns[i]) {
            pairs.push((meta.columns[i], Value::DateTimeUtc(at)));
        }
    }
    let version = version_read(model);
    let changed = on.run(|conn| update_columns_on(conn, meta, &pairs, &key, version.as_ref()))?;
    if changed == 0 {
        return Err(stale_or_missing::<M>(on, &key));
    }
    let positions: Vec<usize> = pairs
        .iter()
        .filter_map(|(c, _)| meta.columns.iter().position(|m| m == c))
        .collect();
    sync_original(model, positions);
    bump_version(model, version)?;
    model.updated()?;
    model.saved()
}

/// Inserts a model as a creation: hooks, timestamps the caller left unset, the insert.
fn create<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    model.saving()?;
    model.creating()?;
    let at = timestamp_for(meta);
    stamp_unset(model, meta.created_at, at)?;
    stamp_unset(model, meta.updated_at, at)?;
    insert(model, on)?;
    mark_stored(model);
    model.created()?;
    model.saved()
}

/// The `INSERT` of one model; the columns left to the database (generated key, unset
/// default columns) are read back into the model.
fn insert<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    let mut values = Vec::with_capacity(meta.columns.len());
    model.write_binds(&mut values);
    let shape = InsertShape::of(meta, &values);
    leave_out(&mut values, 0, meta, &shape);
    let returned = on.run(|conn| {
        let dialect = conn.dialect();
        let sql = insert_sql(meta, dialect, shape)?;
        if !shape.returns_anything() {
            conn.execute_binds(&sql, &values)?;
            return Ok(None.into_iter().chain(Vec::new()));
        }
        if !dialect.supports_returning() {
            return Err(cannot_return(dialect));
        }
        // The first value apart: the usual lone one (the key) needs no Vec.
        let width = shape.returned_width(meta);
        let (mut first, mut rest) = (None, Vec::new());
        conn.query_each_binds(&sql, &values, |row| {
            for c in 0..width {
                let value = row.value_at(c)?.to_owned_value();
                match c {
                    0 => first = Some(value),
                    _ => rest.push(value),
                }
            }
            Ok(false)
        })?;
        Ok(first.into_iter().chain(rest))
    })?;
    let left_out = (0..meta.columns.len()).filter(|&i| shape.leaves_out(meta, i));
    for (i, value) in left_out.zip(returned) {
        model.set_column(meta.columns[i], value.as_ref())?;
    }
    Ok(())
}

fn delete<M: Model>(model: &mut M, on: &mut On<'_>, force: bool) -> Result<()> {
    let meta = M::meta();
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "delete"));
    }
    model.deleting()?;
    match meta.deleted_at {
        Some(i) if !force => {
            let at = now();
            let mut pairs = vec![(meta.columns[i], Value::DateTimeUtc(at))];
            if let Some(u) = meta.updated_at {
                pairs.push((meta.columns[u], Value::DateTimeUtc(at)));
            }
            let version = version_read(model);
            let changed =
                on.run(|conn| update_columns_on(conn, meta, &pairs, &key, version.as_ref()))?;
            if changed == 0 && meta.version.is_some() {
                return Err(stale_or_missing::<M>(on, &key));
            }
            set_timestamp(model, Some(i), at)?;
            set_timestamp(model, meta.updated_at, at)?;
            sync_original(model, [Some(i), meta.updated_at].into_iter().flatten());
            bump_version(model, version)?;
        }
        _ => {
            on.run(|conn| {
                let sql = delete_sql(meta, conn.dialect())?;
                conn.execute_native(sql, std::slice::from_ref(&key))
            })?;
            // The row is gone: saving the model again inserts it anew.
            if let Some(state) = model.state_mut() {
                state.set_original(None);
            }
        }
    }
    model.deleted()
}

fn restore<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    let Some(i) = meta.deleted_at else {
        return Err(Error::InvalidQuery(format!(
            "{} does not use soft deletes",
            meta.name
        )));
    };
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "restore"));
    }
    model.set_column(meta.columns[i], ValueRef::Null)?;
    save(model, on, Some(&[meta.columns[i]]))
}

fn refresh<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "refresh"));
    }
    let fresh = find_by_key::<M>(on, key.clone(), true)?.ok_or_else(|| not_found(meta, &key))?;
    for (i, value) in fresh.to_values().into_iter().enumerate() {
        model.set_column(meta.columns[i], value.as_ref())?;
    }
    mark_stored(model);
    Ok(())
}

fn touch<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    let Some(u) = meta.updated_at else {
        return Ok(());
    };
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "touch"));
    }
    let at = now();
    let version = version_read(model);
    let changed = on.run(|conn| {
        update_columns_on(
            conn,
            meta,
            &[(meta.columns[u], Value::DateTimeUtc(at))],
            &key,
            version.as_ref(),
        )
    })?;
    if changed == 0 {
        return Err(stale_or_missing::<M>(on, &key));
    }
    set_timestamp(model, Some(u), at)?;
    sync_original(model, [u]);
    bump_version(model, version)
}
