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
use crate::value::{Bind, ToValue, Value, ValueRef};

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
    /// Multi-row `INSERT`s by (backend, rows, generated key), most recent last.
    insert_many: Mutex<Vec<(InsertManyKey, Arc<str>)>>,
}

/// (backend slot, row count, whether the key is generated).
type InsertManyKey = (usize, usize, bool);
/// Distinct multi-row `INSERT` shapes kept per model (then the cache starts over).
const INSERT_MANY_CACHE_CAPACITY: usize = 16;

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
            insert_many: Mutex::new(Vec::new()),
        }
    }

    /// `INSERT INTO table (columns) VALUES (...), (...) [RETURNING key]` for `rows`
    /// rows, rendered once per backend, row count and key mode, then reused.
    fn insert_many_sql(
        &self,
        meta: &ModelMeta,
        dialect: &'static dyn Dialect,
        rows: usize,
        generated: bool,
    ) -> Result<Arc<str>> {
        let key = (backend_slot(dialect.backend()), rows, generated);
        let mut cache = self.insert_many.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, sql)) = cache.iter().find(|(k, _)| *k == key) {
            return Ok(Arc::clone(sql));
        }
        let mut w = SqlWriter::new(dialect);
        render_model_insert(&mut w, meta, rows, !generated);
        let (sql, _) = w.finish()?;
        let sql: Arc<str> = sql.into();
        if cache.len() >= INSERT_MANY_CACHE_CAPACITY {
            cache.clear();
        }
        cache.push((key, Arc::clone(&sql)));
        Ok(sql)
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

    /// Before an insert or an update.
    fn saving(&mut self) -> Result<()> {
        Ok(())
    }
    /// After an insert or an update.
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
    /// Before an update.
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
/// hooks may use the database too) or an explicit connection.
pub(crate) enum On<'c> {
    Named(&'static str),
    Conn(&'c mut Connection),
}

impl On<'_> {
    pub(crate) fn run<T>(&mut self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        match self {
            On::Named(name) => with_named(name, f),
            On::Conn(conn) => f(conn),
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

fn insert_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
    with_key: bool,
) -> Result<&'static str> {
    let kind = if with_key {
        Statement::InsertWithKey
    } else {
        Statement::InsertWithoutKey
    };
    meta.sql
        .get(dialect, kind, |w| render_model_insert(w, meta, 1, with_key))
}

/// `INSERT INTO table (columns) VALUES (..), .. [RETURNING key]` for `rows` rows of the
/// model, with placeholders only (values are bound at execution). Without `with_key` the
/// auto-increment key is left out and returned.
fn render_model_insert(w: &mut SqlWriter, meta: &ModelMeta, rows: usize, with_key: bool) {
    let columns = meta
        .columns
        .iter()
        .enumerate()
        .filter(|&(i, _)| with_key || i != meta.primary_key_index)
        .map(|(_, column)| *column);
    let width = columns.clone().count();
    w.push("INSERT INTO ")
        .push_identifier(meta.table)
        .push(" (")
        .push_identifiers(columns)
        .push(") VALUES ");
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
    if !with_key && w.dialect().supports_returning() {
        w.push(" RETURNING ").push_identifier(meta.primary_key);
    }
}

fn update_sql(meta: &'static ModelMeta, dialect: &'static dyn Dialect) -> Result<&'static str> {
    meta.sql.get(dialect, Statement::Update, |w| {
        w.push("UPDATE ").push_identifier(meta.table).push(" SET ");
        let mut n = 0;
        for (i, column) in meta.columns.iter().enumerate() {
            if i == meta.primary_key_index {
                continue;
            }
            if n > 0 {
                w.push(", ");
            }
            n += 1;
            w.push_identifier(column).push(" = ");
            w.push_placeholder(n);
        }
        w.push(" WHERE ")
            .push_identifier(meta.primary_key)
            .push(" = ");
        w.push_placeholder(n + 1);
    })
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

/// `UPDATE table SET a = ?, b = ? WHERE key = ?` for a chosen set of columns.
fn update_columns_on(
    conn: &mut Connection,
    meta: &'static ModelMeta,
    columns: &[(&str, Value)],
    key: Value,
) -> Result<u64> {
    let mut w = SqlWriter::new(conn.dialect());
    w.push("UPDATE ").push_identifier(meta.table).push(" SET ");
    for (i, (column, value)) in columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.push_identifier(column)
            .push(" = ")
            .push_bind(value.clone());
    }
    w.push(" WHERE ")
        .push_identifier(meta.primary_key)
        .push(" = ")
        .push_bind(key);
    let (sql, binds) = w.finish()?;
    conn.execute_native(&sql, &binds)
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
/// Every operation runs on the model's connection (the thread's open transaction or
/// test database first, then the pool) or, through its `_on` twin, on an explicit one.
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
    fn where_(column: impl Into<Ident>, op: &str, value: impl Into<Value>) -> Query<Self> {
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
    fn cursor() -> Cursor<'static, Self> {
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
    fn find_many<K: Into<Value>>(keys: impl IntoIterator<Item = K>) -> Result<Vec<Self>> {
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

    /// [`Model::first_or_create`] on an explicit connection.
    fn first_or_create_on<'a>(
        conn: &mut Connection,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<Self>
    where
        Self: Default,
    {
        first_or_create(&mut On::Conn(conn), attributes, values)
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

    /// [`Model::update_or_create`] on an explicit connection.
    fn update_or_create_on<'a>(
        conn: &mut Connection,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<Self>
    where
        Self: Default,
    {
        update_or_create(&mut On::Conn(conn), attributes, values)
    }

    /// Inserts new models with multi-row `INSERT`s (as few statements as the backend's
    /// bind limit allows, in one transaction), running the creating/saving hooks and
    /// setting timestamps first, and filling auto-increment keys from `RETURNING`.
    fn insert_many(models: &mut [Self]) -> Result<()> {
        insert_many(models, &mut On::Named(Self::meta().connection))
    }

    /// [`Model::insert_many`] on an explicit connection.
    fn insert_many_on(conn: &mut Connection, models: &mut [Self]) -> Result<()> {
        insert_many(models, &mut On::Conn(conn))
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

    /// [`Model::load`] on an explicit connection.
    fn load_on(conn: &mut Connection, models: &mut [Self], relations: &[&str]) -> Result<()> {
        crate::relation::load(models, relations, conn)
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

    /// [`Model::find`] on an explicit connection.
    fn find_on(conn: &mut Connection, key: impl ToValue) -> Result<Option<Self>> {
        find_by_key::<Self>(&mut On::Conn(conn), key.to_value(), false)
    }

    /// The row with this primary key, or [`Error::NotFound`] naming model and key.
    fn find_or_fail(key: impl ToValue) -> Result<Self> {
        let key = key.to_value();
        find_by_key::<Self>(&mut On::Named(Self::meta().connection), key.clone(), false)?
            .ok_or_else(|| not_found(Self::meta(), &key))
    }

    /// [`Model::find_or_fail`] on an explicit connection.
    fn find_or_fail_on(conn: &mut Connection, key: impl ToValue) -> Result<Self> {
        let key = key.to_value();
        find_by_key::<Self>(&mut On::Conn(conn), key.clone(), false)?
            .ok_or_else(|| not_found(Self::meta(), &key))
    }

    /// Inserts the model (when new) or updates its row, running the hooks and
    /// maintaining timestamps; an auto-increment key is filled in after an insert.
    fn save(&mut self) -> Result<()> {
        save(self, &mut On::Named(Self::meta().connection), None)
    }

    /// [`Model::save`] on an explicit connection.
    fn save_on(&mut self, conn: &mut Connection) -> Result<()> {
        save(self, &mut On::Conn(conn), None)
    }

    /// Updates only the named columns of an existing row (plus `updated_at`).
    fn save_only(&mut self, columns: &[&str]) -> Result<()> {
        save(self, &mut On::Named(Self::meta().connection), Some(columns))
    }

    /// [`Model::save_only`] on an explicit connection.
    fn save_only_on(&mut self, conn: &mut Connection, columns: &[&str]) -> Result<()> {
        save(self, &mut On::Conn(conn), Some(columns))
    }

    /// Saves a new model and returns it (with its key filled in).
    fn create(mut model: Self) -> Result<Self> {
        model.save()?;
        Ok(model)
    }

    /// [`Model::create`] on an explicit connection.
    fn create_on(conn: &mut Connection, mut model: Self) -> Result<Self> {
        model.save_on(conn)?;
        Ok(model)
    }

    /// Deletes the row: a soft delete (sets `deleted_at`) when the model has
    /// `soft_deletes`, else a real `DELETE`. Runs the delete hooks.
    fn delete(&mut self) -> Result<()> {
        delete(self, &mut On::Named(Self::meta().connection), false)
    }

    /// [`Model::delete`] on an explicit connection.
    fn delete_on(&mut self, conn: &mut Connection) -> Result<()> {
        delete(self, &mut On::Conn(conn), false)
    }

    /// Deletes the row for real, even with `soft_deletes`.
    fn force_delete(&mut self) -> Result<()> {
        delete(self, &mut On::Named(Self::meta().connection), true)
    }

    /// [`Model::force_delete`] on an explicit connection.
    fn force_delete_on(&mut self, conn: &mut Connection) -> Result<()> {
        delete(self, &mut On::Conn(conn), true)
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
        restore(self, &mut On::Named(Self::meta().connection))
    }

    /// [`Model::restore`] on an explicit connection.
    fn restore_on(&mut self, conn: &mut Connection) -> Result<()> {
        restore(self, &mut On::Conn(conn))
    }

    /// Reloads every column from the database.
    fn refresh(&mut self) -> Result<()> {
        refresh(self, &mut On::Named(Self::meta().connection))
    }

    /// [`Model::refresh`] on an explicit connection.
    fn refresh_on(&mut self, conn: &mut Connection) -> Result<()> {
        refresh(self, &mut On::Conn(conn))
    }

    /// Sets `updated_at` to now and writes only that column.
    fn touch(&mut self) -> Result<()> {
        touch(self, &mut On::Named(Self::meta().connection))
    }

    /// [`Model::touch`] on an explicit connection.
    fn touch_on(&mut self, conn: &mut Connection) -> Result<()> {
        touch(self, &mut On::Conn(conn))
    }

    /// Deletes the rows with these keys, loading each so hooks and soft deletes apply.
    /// Returns how many were deleted.
    fn destroy<K: ToValue>(keys: impl IntoIterator<Item = K>) -> Result<u64> {
        destroy::<Self, K>(&mut On::Named(Self::meta().connection), keys)
    }

    /// [`Model::destroy`] on an explicit connection.
    fn destroy_on<K: ToValue>(
        conn: &mut Connection,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<u64> {
        destroy::<Self, K>(&mut On::Conn(conn), keys)
    }

    /// The columns whose value differs from the stored row, with their new values (every
    /// column for a model that was never saved). Compares with the database (one query)
    /// rather than with a snapshot, so it also sees changes made by others.
    fn get_dirty(&self) -> Result<Vec<(&'static str, Value)>> {
        dirty(self, &mut On::Named(Self::meta().connection))
    }

    /// [`Model::get_dirty`] on an explicit connection.
    fn get_dirty_on(&self, conn: &mut Connection) -> Result<Vec<(&'static str, Value)>> {
        dirty(self, &mut On::Conn(conn))
    }

    /// Whether any column differs from the stored row (see [`Model::get_dirty`]).
    fn is_dirty(&self) -> Result<bool> {
        Ok(!self.get_dirty()?.is_empty())
    }

    /// The model as JSON, without its hidden fields.
    fn to_json(&self) -> serde_json::Value
    where
        Self: serde::Serialize,
    {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
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

    /// [`Query::force_delete`] on an explicit connection.
    pub fn force_delete_on(self, conn: &mut Connection) -> Result<u64> {
        self.hard_delete().delete_on(conn)
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
        set_timestamp(model, meta.created_at, at)?;
        set_timestamp(model, meta.updated_at, at)?;
    }
    let key_index = meta.primary_key_index;
    let generated = meta.incrementing && models.iter().all(|m| m.key_value().is_null());
    let keys: Vec<Value> = on.run(|conn| {
        let dialect = conn.dialect();
        let width = meta.columns.len() - usize::from(generated);
        let per_statement = (dialect.max_bind_params() / width.max(1)).max(1);
        let write = |conn: &mut Connection| {
            let mut keys = Vec::with_capacity(if generated { models.len() } else { 0 });
            for chunk in models.chunks(per_statement) {
                let sql = meta
                    .sql
                    .insert_many_sql(meta, dialect, chunk.len(), generated)?;
                let mut binds = Vec::with_capacity(chunk.len() * meta.columns.len());
                for model in chunk {
                    let start = binds.len();
                    model.write_binds(&mut binds);
                    if generated {
                        binds.remove(start + key_index);
                    }
                }
                if generated {
                    conn.query_each_binds(&sql, &binds, |row| {
                        keys.push(row.value_at(0)?.to_owned_value());
                        Ok(true)
                    })?;
                } else {
                    conn.execute_binds(&sql, &binds)?;
                }
            }
            Ok(keys)
        };
        // One statement is atomic on its own; several share a transaction.
        if models.len() <= per_statement {
            write(conn)
        } else {
            conn.transaction(write)
        }
    })?;
    if generated {
        for (model, key) in models.iter_mut().zip(&keys) {
            model.set_column(meta.primary_key, key.as_ref())?;
        }
    }
    for model in models.iter_mut() {
        model.created()?;
        model.saved()?;
    }
    Ok(())
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

fn save<M: Model>(model: &mut M, on: &mut On<'_>, only: Option<&[&str]>) -> Result<()> {
    let meta = M::meta();
    let key = model.key_value();
    let exists = if key.is_null() {
        false
    } else if meta.incrementing || only.is_some() {
        true
    } else {
        on.run(|conn| {
            let sql = exists_sql(meta, conn.dialect())?;
            Ok(conn
                .query_first_native(sql, std::slice::from_ref(&key), |_| Ok(()))?
                .is_some())
        })?
    };
    model.saving()?;
    if exists {
        model.updating()?;
        let at = timestamp_for(meta);
        set_timestamp(model, meta.updated_at, at)?;
        let changed = match only {
            Some(columns) => {
                let mut pairs: Vec<(&str, Value)> = Vec::with_capacity(columns.len() + 1);
                for column in columns {
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
                on.run(|conn| update_columns_on(conn, meta, &pairs, key.clone()))?
            }
            None => {
                let mut values = Vec::with_capacity(meta.columns.len());
                model.write_binds(&mut values);
                let key = values.remove(meta.primary_key_index);
                values.push(key);
                on.run(|conn| {
                    let sql = update_sql(meta, conn.dialect())?;
                    conn.execute_binds(sql, &values)
                })?
            }
        };
        if changed == 0 {
            if only.is_some() {
                return Err(not_found(meta, &key));
            }
            // The key was set by hand but no row has it yet: insert it.
            insert(model, on)?;
            model.created()?;
        } else {
            model.updated()?;
        }
    } else {
        model.creating()?;
        let at = timestamp_for(meta);
        set_timestamp(model, meta.created_at, at)?;
        set_timestamp(model, meta.updated_at, at)?;
        insert(model, on)?;
        model.created()?;
    }
    model.saved()
}

fn insert<M: Model>(model: &mut M, on: &mut On<'_>) -> Result<()> {
    let meta = M::meta();
    let mut values = Vec::with_capacity(meta.columns.len());
    model.write_binds(&mut values);
    let with_key =
        !(meta.incrementing && matches!(values[meta.primary_key_index].as_ref(), ValueRef::Null));
    if !with_key {
        values.remove(meta.primary_key_index);
    }
    let key = on.run(|conn| {
        let dialect = conn.dialect();
        let sql = insert_sql(meta, dialect, with_key)?;
        if with_key {
            conn.execute_binds(sql, &values)?;
            Ok(None)
        } else if dialect.supports_returning() {
            let mut key = None;
            conn.query_each_binds(sql, &values, |row| {
                key = Some(row.value_at(0)?.to_owned_value());
                Ok(false)
            })?;
            Ok(key)
        } else {
            Err(Error::InvalidQuery(format!(
                "{:?} cannot return generated keys",
                dialect.backend()
            )))
        }
    })?;
    if let Some(key) = key {
        model.set_column(meta.primary_key, key.as_ref())?;
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
            on.run(|conn| update_columns_on(conn, meta, &pairs, key))?;
            set_timestamp(model, Some(i), at)?;
            set_timestamp(model, meta.updated_at, at)?;
        }
        _ => {
            on.run(|conn| {
                let sql = delete_sql(meta, conn.dialect())?;
                conn.execute_native(sql, std::slice::from_ref(&key))
            })?;
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
    set_timestamp(model, Some(u), at)?;
    let changed = on.run(|conn| {
        update_columns_on(
            conn,
            meta,
            &[(meta.columns[u], Value::DateTimeUtc(at))],
            key.clone(),
        )
    })?;
    if changed == 0 {
        return Err(not_found(meta, &key));
    }
    Ok(())
}
