//! The `Model` trait: all active-record behaviour, written once, generically.
//! `#[derive(Model)]` supplies only metadata, a positional decoder and an encoder.

use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};

use crate::backend::Connection;
use crate::db::with_named;
use crate::dialect::{Dialect, SqlWriter};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::query::EagerRelation;
use crate::query::{BulkOp, Cursor, Ident, ModelInfo, Paginator, Parts, Query, SelectItem};
use crate::row::{FromRow, Layout, Record};
use crate::state::{ModelState, Written};
use crate::value::{Bind, Binds, Param, ToValue, TypeFamily, Value, ValueRef};
use crate::write_marks::WriteMark;

mod hooks;
mod insert_many;
mod meta;
mod persist;
mod persistence;
mod relation_meta;
mod schema_check;
mod sql_cache;
mod statements;
mod undo;

pub use hooks::{global_scopes_of, ModelHooks};
use insert_many::*;
pub use meta::ModelMeta;
use persist::{changed_columns, mark_stored, record_created, remember_write, Quiet};
use persistence::*;
pub(crate) use persistence::{insert_named, save_named, touch_through_pivot};
pub use relation_meta::{RelationCache, RelationKind, RelationMeta};
pub use schema_check::{SchemaProblem, SchemaReport};
pub use sql_cache::SqlCache;
use sql_cache::*;
use statements::*;
pub(crate) use undo::Snapshot;

/// Where a model operation runs: a named connection, resolved per statement, so that
/// hooks (which run between statements) may use the database too.
pub(crate) enum On {
    /// The model's own connection.
    Named(&'static str),
    /// A connection a model remembers (read from or saved on), or a query names.
    Remembered(Arc<str>),
}

impl On {
    pub(crate) fn run<T>(&mut self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        match self {
            On::Named(name) => with_named(name, f),
            On::Remembered(name) => with_named(name, f),
        }
    }

    /// [`On::run`] for a write: also, when `stateful` (the model remembers its row), the
    /// mark of the transaction the write ran in (`None` outside one).
    pub(crate) fn run_write<T>(
        &mut self,
        stateful: bool,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<(T, Option<Arc<WriteMark>>)> {
        self.run(|conn| {
            let value = f(conn)?;
            Ok((value, if stateful { conn.write_mark() } else { None }))
        })
    }

    /// Runs the read `f` (which may run more than once): on a read replica of a named
    /// connection that has some (see `crate::replicas`), else like [`On::run`].
    pub(crate) fn read<T>(&mut self, f: impl FnMut(&mut Connection) -> Result<T>) -> Result<T> {
        match self {
            On::Named(name) => crate::replicas::read_named(name, f),
            On::Remembered(name) => crate::replicas::read_named(name, f),
        }
    }

    /// Runs `f` in a transaction on this connection (a savepoint when one is open).
    pub(crate) fn transaction<T>(&mut self, f: impl FnOnce(&mut On) -> Result<T>) -> Result<T> {
        match self {
            On::Named(name) => {
                let name = *name;
                crate::db::transaction_named(name, || f(&mut On::Named(name)))
            }
            On::Remembered(name) => {
                let name = Arc::clone(name);
                crate::db::transaction_named(&name, || f(&mut On::Remembered(Arc::clone(&name))))
            }
        }
    }

    /// The model's connection: the one its state remembers, else its own.
    pub(crate) fn model<M: Model>(model: &M) -> On {
        match model.state().and_then(ModelState::shared_connection) {
            Some(name) => On::Remembered(Arc::clone(name)),
            None => On::Named(M::meta().connection),
        }
    }
}

use crate::value::now;

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

    /// `false` when the model has no hooks of its own for certain (the derive's, without
    /// `#[model(hooks)]`): its queries then compile no model-by-model mass write, which
    /// [`ModelMeta::hooks`] would never ask for.
    #[doc(hidden)]
    const HOOKS: bool = true;

    /// Whether the ORM makes the model's key when it is unset at insert (an
    /// `Option<Uuid>` key, Eloquent's `HasUuids`): the derive sets it with
    /// [`Model::new_key`].
    #[doc(hidden)]
    const GENERATES_KEY: bool = false;

    /// A new key for an insert whose key is unset (emitted by the derive).
    #[doc(hidden)]
    fn new_key() -> Value {
        Value::Null
    }

    /// Whether the model declares relations every query of it loads
    /// (`#[model(with = [..])]`, Eloquent's `$with`): the derive sets it with
    /// [`Model::default_loads`].
    #[doc(hidden)]
    const DEFAULT_LOADS: bool = false;

    /// Adds the relations the model declares with `#[model(with = [..])]` to a new query
    /// of it (emitted by the derive).
    #[doc(hidden)]
    fn default_loads(query: Query<Self>) -> Query<Self> {
        query
    }

    /// Every column's value, in [`ModelMeta::columns`] order (emitted by the derive).
    fn to_values(&self) -> Vec<Value>;

    /// Appends every column's value to `out` as [`ModelMeta::columns`] orders them,
    /// borrowing text and bytes from the fields (the derive emits it; inserts use it).
    #[doc(hidden)]
    fn write_binds<'a>(&'a self, out: &mut Binds<'a>) {
        out.extend(self.to_values().into_iter().map(Bind::Owned));
    }

    /// Checks that every field encodes (a `Json<T>` whose `Serialize` fails is
    /// [`Error::Bind`]): writes call it before building their statement (the derive
    /// emits it).
    #[doc(hidden)]
    fn check_values(&self) -> Result<()> {
        Ok(())
    }

    /// Floors every date-time and time field to whole microseconds, what the backends
    /// store ([`ToValue::truncate_to_stored`]): writes call it before binding, so that
    /// the model holds what it wrote and reads back equal (the derive emits it).
    #[doc(hidden)]
    fn truncate_to_stored(&mut self) {}

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

    /// The value of the column at `index` in [`ModelMeta::columns`]: what eager loading
    /// groups a related row by, read from the decoded model rather than the row again.
    /// The derive emits it; by default through [`Model::column_value`].
    #[doc(hidden)]
    fn column_value_at(&self, index: usize) -> Option<Value> {
        self.column_value(Self::meta().columns.get(index)?)
    }

    /// A query on the model's table, decoding rows into the model. Soft-deleted rows are
    /// excluded (the `soft_deletes` scope; see [`Query::with_trashed`]).
    fn query() -> Query<Self> {
        let meta = Self::meta();
        let mut query: Query<Self> = model_query(meta).into_rows();
        query.model.stamps_updated_at = true;
        if Self::HOOKS && meta.hooks {
            query.model.bulk = Some(bulk_write::<Self>);
        }
        let query = Self::global_scopes(query);
        if Self::DEFAULT_LOADS {
            return Self::default_loads(query);
        }
        query
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

    /// The first row where `column op value`, if any (Eloquent's `firstWhere`).
    fn first_where(
        column: impl Into<Ident>,
        op: impl crate::query::IntoOperator,
        value: impl Into<Value>,
    ) -> Result<Option<Self>> {
        Self::query().where_(column, op, value).first()
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

    /// `Model::query().last()`: the row with the highest key.
    fn last() -> Result<Option<Self>> {
        Self::query().last()
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

    /// The rows with these keys (in no particular order; missing keys are skipped). A
    /// list longer than a statement can bind is read in parts, each key once.
    fn find_many<K: ToValue>(keys: impl IntoIterator<Item = K>) -> Result<Vec<Self>> {
        let keys = lookup_keys(Self::meta(), keys.into_iter().map(|k| k.to_value()));
        if keys.len() <= FIND_MANY_PART {
            return Self::query().where_in(Self::meta().primary_key, keys).get();
        }
        let mut found = Vec::new();
        for part in key_parts(keys) {
            found.extend(
                Self::query()
                    .where_in(Self::meta().primary_key, part)
                    .get()?,
            );
        }
        Ok(found)
    }

    /// The rows with all of these keys, in the order the keys are given (a key given
    /// twice gives its model once, where it first appears), or [`Error::NotFound`] naming every key with no row
    /// (`id IN (3, 7)`): Eloquent's `findOrFail([..])`.
    fn find_many_or_fail<K: ToValue>(keys: impl IntoIterator<Item = K>) -> Result<Vec<Self>> {
        Self::query().find_many_or_fail(keys)
    }

    /// The row with this key, or a new model (its `Default`) **not saved** (Eloquent's
    /// `findOrNew`).
    fn find_or_new(key: impl ToValue) -> Result<Self>
    where
        Self: Default,
    {
        Ok(Self::find(key)?.unwrap_or_default())
    }

    /// The first row matching `attributes`, or a new model (its `Default` with
    /// `attributes` then `values` applied) **not saved**: call `save` to store it.
    fn first_or_new<'a>(
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<Self>
    where
        Self: Default,
    {
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        if let Some(found) = matching::<Self>(&attributes).first()? {
            return Ok(found);
        }
        let mut model = Self::default();
        apply(&mut model, attributes.into_iter().chain(values))?;
        Ok(model)
    }

    /// Inserts a new model (its `Default` with `attributes` then `values` applied) or, when
    /// a unique key refuses it, returns the row matching `attributes` (Eloquent's
    /// `createOrFirst`): for a unique `attributes` that concurrent callers may insert
    /// at once. Inside a transaction the insert runs in a savepoint, so the refusal does
    /// not abort it. `was_recently_created()` tells the two apart.
    fn create_or_first<'a>(
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<Self>
    where
        Self: Default,
    {
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        create_or_first(&mut On::Named(Self::meta().connection), &attributes, values)
            .map(|(model, _)| model)
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

    /// Pushes the models loaded in the relation fields (emitted by the derive; see
    /// [`Model::push`]).
    #[doc(hidden)]
    fn push_relations(&mut self) -> Result<()> {
        Ok(())
    }

    /// Saves the model, then its relations' loaded models and theirs, without a
    /// transaction of its own ([`Model::push`] opens one).
    #[doc(hidden)]
    fn push_in_place(&mut self) -> Result<()> {
        if !undo::visit(self) {
            self.save()?;
        }
        self.push_relations()
    }

    /// Saves the model and every model loaded in its relations, and theirs, in one
    /// transaction on the model's connection (Eloquent's `push`): change what
    /// `with(&["posts.comments"])` loaded, then push the parent. A `morph_to`'s parent is
    /// not saved; a new related model is inserted as `save` inserts it (its foreign key
    /// as the field holds it).
    fn push(&mut self) -> Result<()> {
        let connection = self
            .state()
            .and_then(ModelState::connection)
            .unwrap_or(Self::meta().connection)
            .to_owned();
        // All or none, in the database and in memory: a failed push leaves every model
        // as it was before (see `undo`), so the same push can be retried.
        undo::push_all_or_none(&mut |write| {
            if write {
                crate::db::transaction_named(&connection, || self.push_in_place())
            } else {
                self.push_in_place()
            }
        })
    }

    /// The field holding a relation, without its type (emitted by the derive).
    #[doc(hidden)]
    fn relation_slot(&mut self, relation: &str) -> Option<&mut dyn RelationSlot> {
        let _ = relation;
        None
    }

    /// Compares the model with its live table (on the model's connection): a missing
    /// table or column, a `NOT NULL` column without default that no field fills, a type
    /// or nullability the field cannot hold. Meant for a test per model (or all at once
    /// with `craft schema:check`): `assert!(report.is_ok(), "{report}")`.
    fn check_schema() -> Result<SchemaReport> {
        schema_check::check(Self::meta())
    }

    /// Models from hand-written SQL with `?` placeholders, run on the model's connection:
    /// `User::from_sql("SELECT id, last, first FROM users WHERE votes > ?", &[&100])`.
    /// Columns are matched by name, so their order does not matter and extra columns
    /// are ignored; a column of the model that the result lacks is
    /// [`Error::ColumnNotFound`] (a model is never half-read).
    fn from_sql(sql: &str, bindings: &[&dyn ToValue]) -> Result<Vec<Self>> {
        let params = bindings
            .iter()
            .map(|b| b.try_to_value())
            .collect::<Result<Vec<Value>>>()?;
        let connection = Self::meta().connection;
        let mut models = crate::replicas::read_named(connection, |conn| {
            let mut layout = Layout::check::<Self>();
            let mut names = None;
            conn.query_map(sql, &params, |row| layout.decode::<Self>(row, &mut names))
        })?;
        Self::remember_connection(&mut models, connection);
        Ok(models)
    }

    /// The row with this primary key, if any (trashed rows excluded).
    fn find(key: impl ToValue) -> Result<Option<Self>> {
        find_by_key_from::<Self>(
            &mut On::Named(Self::meta().connection),
            key.to_value(),
            false,
            true,
        )
    }

    /// The row with this primary key, or what `fallback` returns (Eloquent's `findOr`):
    /// a default model, another lookup, or an error of the caller's. `fallback` runs only
    /// when no row has the key, with no connection held.
    fn find_or(key: impl ToValue, fallback: impl FnOnce() -> Result<Self>) -> Result<Self> {
        match Self::find(key)? {
            Some(found) => Ok(found),
            None => fallback(),
        }
    }

    /// The row with this primary key, or [`Error::NotFound`] naming model and key.
    fn find_or_fail(key: impl ToValue) -> Result<Self> {
        let key = key.to_value();
        find_by_key_from::<Self>(
            &mut On::Named(Self::meta().connection),
            key.clone(),
            false,
            true,
        )?
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

    /// Sets the given columns and saves the model (Eloquent's `$model->update([..])`): a
    /// stored model only; one never saved (no key, or a [`ModelState`] saying new) is
    /// [`Error::InvalidQuery`] (kind `Model`) and nothing is set.
    fn update<'a>(&mut self, values: impl IntoIterator<Item = (&'a str, Value)>) -> Result<()> {
        let meta = Self::meta();
        let new = match self.state() {
            Some(state) => !state.is_stored(),
            None => self.key_value().is_null(),
        };
        if new {
            return Err(missing_key(meta, "update"));
        }
        apply(self, values)?;
        self.save()
    }

    /// The model's row as stored now, read again into a new model (Eloquent's `fresh`),
    /// whatever the model's global scopes; `None` when the row is gone. The model itself
    /// is unchanged (see [`Model::refresh`]).
    fn fresh(&self) -> Result<Option<Self>> {
        let key = self.key_value();
        if key.is_null() {
            return Err(missing_key(Self::meta(), "fresh"));
        }
        let mut on = On::model(self);
        find_by_key::<Self>(&mut on, key, true)
    }

    /// Whether `other` is the same row: the same table, the same key (not empty) and the
    /// same connection (Eloquent's `is`). The columns' values are not compared.
    fn is<O: Model>(&self, other: &O) -> bool {
        let ours = self.state().and_then(ModelState::connection);
        let theirs = other.state().and_then(ModelState::connection);
        let key = self.key_value();
        !key.is_null()
            && Self::meta().table == O::meta().table
            && key == other.key_value()
            && ours.unwrap_or(Self::meta().connection) == theirs.unwrap_or(O::meta().connection)
    }

    /// `!self.is(other)` (Eloquent's `isNot`).
    fn is_not<O: Model>(&self, other: &O) -> bool {
        !self.is(other)
    }

    /// [`Model::save`] without running the model's hooks (Eloquent's `saveQuietly`):
    /// timestamps, touches of owners and the version check still apply.
    fn save_quietly(&mut self) -> Result<()> {
        let mut on = On::model(self);
        save(&mut Quiet(self), &mut on, None)
    }

    /// Runs `f` with this model's timestamps paused on the current thread (Eloquent's
    /// `withoutTimestamps`): inside it, `save`, `create`, `insert_many`, `touch`, soft
    /// deletes, `restore`, the model queries' `update`/`increment`/`upsert` and the
    /// touches of owners of this model leave `created_at` and `updated_at` alone (a new
    /// row gets what its fields hold). Other threads and other models are unaffected;
    /// the pause ends when `f` returns or panics. Models are told apart by type name.
    fn without_timestamps<R>(f: impl FnOnce() -> R) -> R {
        crate::untimed::without_timestamps(Self::meta().name, f)
    }

    /// Runs `f` with the hooks of every model paused on the current thread (Eloquent's
    /// `Model::withoutEvents`): inside it, `save`, `create`, `insert_many`, `delete`,
    /// `restore`, `increment` and the model queries' mass `update`/`delete` run no
    /// [`ModelHooks`] (a mass write on a model with hooks is then one statement, as on a
    /// model without). Timestamps, touches of owners and version checks still apply.
    /// Other threads are unaffected; the pause ends when `f` returns or panics.
    fn without_events<R>(f: impl FnOnce() -> R) -> R {
        crate::untimed::without_events(f)
    }

    /// Runs `f` with this model's rows not touched as owners on the current thread
    /// (Eloquent's `withoutTouching`): inside it, a child's write does not stamp this
    /// model's `updated_at` through a `belongs_to(.., touch)`, nor does a
    /// belongs-to-many declared with `touch` stamp rows of this model. The chain goes on
    /// past it, as Eloquent's does: the owners this model touches are still touched
    /// (pause them too to stop it). The model's own writes are stamped as usual
    /// ([`Model::without_timestamps`] pauses those). [`crate::without_touching`]
    /// pauses every model's.
    fn without_touching<R>(f: impl FnOnce() -> R) -> R {
        crate::untimed::without_touching_model(Self::meta().name, f)
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

    /// [`Model::delete`] without running the model's hooks (Eloquent's `deleteQuietly`).
    fn delete_quietly(&mut self) -> Result<()> {
        let mut on = On::model(self);
        delete(&mut Quiet(self), &mut on, false)
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

    /// Un-deletes a soft-deleted model: clears its `deleted_at` and saves it (Eloquent's
    /// `restore`), so changes made to it meanwhile are written too.
    fn restore(&mut self) -> Result<()> {
        let mut on = On::model(self);
        restore(self, &mut on)
    }

    /// Reloads every column from the database (the stored row, whatever the global
    /// scopes), and loads again the relations it had loaded (Eloquent's `refresh`).
    fn refresh(&mut self) -> Result<()> {
        let mut on = On::model(self);
        refresh(self, &mut on)
    }

    /// Adds `by` to a numeric column of the model's row in the database (`SET votes =
    /// votes + ?`, with `updated_at`), so concurrent increments add up; the field then
    /// holds the stored value (Eloquent's `$model->increment('votes')`). Runs the
    /// `updating`/`updated` hooks; other changed fields stay unsaved.
    fn increment(&mut self, column: &str, by: impl Into<Value>) -> Result<()> {
        let mut on = On::model(self);
        step(self, &mut on, vec![(column, by.into())], false)
    }

    /// Subtracts `by` from a numeric column (see [`Model::increment`]).
    fn decrement(&mut self, column: &str, by: impl Into<Value>) -> Result<()> {
        let mut on = On::model(self);
        step(self, &mut on, vec![(column, by.into())], true)
    }

    /// Adds to several numeric columns of the model's row in one statement, as
    /// [`Model::increment`] does to one (Eloquent's `$model->incrementEach([..])`):
    /// `post.increment_each(row! {"votes" => 1, "views" => 10})`. The fields then hold
    /// the stored values.
    fn increment_each<'a>(
        &mut self,
        columns: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<()> {
        let mut on = On::model(self);
        step(self, &mut on, columns.into_iter().collect(), false)
    }

    /// Subtracts from several numeric columns at once (Eloquent's `decrementEach`; see
    /// [`Model::increment_each`]).
    fn decrement_each<'a>(
        &mut self,
        columns: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<()> {
        let mut on = On::model(self);
        step(self, &mut on, columns.into_iter().collect(), true)
    }

    /// Sets `updated_at` to now and writes only that column.
    fn touch(&mut self) -> Result<()> {
        let mut on = On::model(self);
        touch(self, &mut on)
    }

    /// Deletes the rows with these keys, loading each so hooks and soft deletes apply.
    /// Returns how many were deleted. All or none: in one transaction, so a hook that
    /// refuses one row (or a failed delete) leaves every row in place.
    fn destroy<K: ToValue>(keys: impl IntoIterator<Item = K>) -> Result<u64> {
        On::Named(Self::meta().connection).transaction(|on| destroy::<Self, K>(on, keys, false))
    }

    /// Deletes the rows with these keys for real, soft-deleted ones included, loading
    /// each so hooks apply (Eloquent's `forceDestroy`). Returns how many were deleted.
    /// All or none, as [`Model::destroy`].
    fn force_destroy<K: ToValue>(keys: impl IntoIterator<Item = K>) -> Result<u64> {
        On::Named(Self::meta().connection).transaction(|on| destroy::<Self, K>(on, keys, true))
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

    /// Whether no column differs from the stored row: `!is_dirty()` (Eloquent's
    /// `isClean`).
    fn is_clean(&self) -> Result<bool> {
        Ok(!self.is_dirty()?)
    }

    /// Whether `column` differs from the stored row (Eloquent's `isDirty('column')`);
    /// an unknown column is [`Error::ColumnNotFound`]. See [`Model::get_dirty`].
    fn is_dirty_column(&self, column: &str) -> Result<bool> {
        let meta = Self::meta();
        let Some(i) = meta.columns.iter().position(|c| *c == column) else {
            return Err(Error::ColumnNotFound(format!("{}.{column}", meta.name)));
        };
        if let Some(state) = self.state() {
            return Ok(changed_columns(self, state).contains(&i));
        }
        Ok(self.get_dirty()?.iter().any(|(c, _)| *c == column))
    }

    /// The columns the model's last update wrote, with the values it wrote (Eloquent's
    /// `getChanges`): those `save` found changed and `updated_at`, or what `save_only`,
    /// `touch` and `restore` wrote. Empty before an update (an insert is not one: see
    /// [`ModelState::was_recently_created`]) and for a model without a [`ModelState`].
    fn get_changes(&self) -> Vec<(&'static str, Value)> {
        let Some(state) = self.state() else {
            return Vec::new();
        };
        let columns = Self::meta().columns;
        let original = state.original().unwrap_or_default();
        state
            .changes()
            .iter()
            .filter_map(|&i| Some((columns[i], original.get(i)?.clone())))
            .collect()
    }

    /// The columns the model's last update wrote, with the values they held before it
    /// (Eloquent's `getPrevious`); see [`Model::get_changes`].
    fn get_previous(&self) -> Vec<(&'static str, Value)> {
        let Some(state) = self.state() else {
            return Vec::new();
        };
        let columns = Self::meta().columns;
        state
            .changes()
            .iter()
            .zip(state.previous())
            .map(|(&i, value)| (columns[i], value.clone()))
            .collect()
    }

    /// Whether the model's last update wrote any column (Eloquent's `wasChanged()`).
    fn was_changed(&self) -> bool {
        self.state().is_some_and(|s| !s.changes().is_empty())
    }

    /// Whether the model's last update wrote `column` (Eloquent's
    /// `wasChanged('column')`).
    fn was_changed_column(&self, column: &str) -> bool {
        let columns = Self::meta().columns;
        self.state()
            .is_some_and(|s| s.changes().iter().any(|&i| columns[i] == column))
    }

    /// Whether this model inserted its row (Eloquent's `wasRecentlyCreated`): `save` of
    /// a new model, `create`, `insert`, or `first_or_create`/`update_or_create` when
    /// they created it. `false` for a model read from the database, and always for a
    /// model without a [`ModelState`].
    fn was_recently_created(&self) -> bool {
        self.state().is_some_and(ModelState::was_recently_created)
    }

    /// Puts every column back to its value as read or last saved (Eloquent's
    /// `discardChanges`); nothing for a new model or one without a [`ModelState`].
    fn discard_changes(&mut self) -> Result<()> {
        let Some(original) = self.state().and_then(ModelState::settled_original) else {
            return Ok(());
        };
        let original = original.into_owned();
        for (column, value) in Self::meta().columns.iter().zip(&original) {
            self.set_column(column, value.as_ref())?;
        }
        Ok(())
    }

    /// A new, unsaved copy of the model (Eloquent's `replicate`): every column but the
    /// key, `created_at` and `updated_at`, which are emptied so that `save` inserts the
    /// copy as a new row with its own key and times (a timestamp field that cannot be
    /// empty gets the current time). A key field that cannot be empty (a `String`, say)
    /// is an error rather than a copy whose save would write over the original: give
    /// such a copy its key by hand (`Clone`, then the key and a default [`ModelState`]).
    fn replicate(&self) -> Result<Self>
    where
        Self: Clone,
    {
        let meta = Self::meta();
        let mut copy = self.clone();
        copy.set_column(meta.primary_key, ValueRef::Null)?;
        let at = now();
        for i in [meta.created_at, meta.updated_at].into_iter().flatten() {
            if copy.set_column(meta.columns[i], ValueRef::Null).is_err() {
                copy.set_column(meta.columns[i], ValueRef::DateTimeUtc(at))?;
            }
        }
        if let Some(state) = copy.state_mut() {
            let connection = state.shared_connection().cloned();
            *state = ModelState::default();
            state.set_connection(connection);
        }
        Ok(copy)
    }

    /// A column's value as read or last saved: `None` for a model without a
    /// [`ModelState`] field, a new model, or an unknown column.
    fn get_original(&self, column: &str) -> Option<Value> {
        let original = self.state()?.settled_original()?;
        let i = Self::meta().columns.iter().position(|c| *c == column)?;
        Some(original[i].clone())
    }

    /// The model as JSON, without its hidden fields (the derived `Serialize`), or
    /// [`Error::Serialization`] when a field's `Serialize` impl fails (feature `json`).
    #[cfg(feature = "json")]
    fn to_json(&self) -> Result<serde_json::Value>
    where
        Self: serde::Serialize,
    {
        serde_json::to_value(self).map_err(Error::Serialization)
    }

    /// [`Model::to_json`] with only the named keys (Eloquent's `setVisible` / `only`,
    /// Orator's `set_visible`): `user.to_json_only(&["id", "name"])`. Hidden fields stay
    /// hidden.
    #[cfg(feature = "json")]
    fn to_json_only(&self, keys: &[&str]) -> Result<serde_json::Value>
    where
        Self: serde::Serialize,
    {
        let mut json = self.to_json()?;
        if let serde_json::Value::Object(map) = &mut json {
            map.retain(|key, _| keys.contains(&key.as_str()));
        }
        Ok(json)
    }

    /// [`Model::to_json`] without the named keys (Eloquent's `makeHidden`, Orator's
    /// `set_hidden`): `user.to_json_except(&["email"])`.
    #[cfg(feature = "json")]
    fn to_json_except(&self, keys: &[&str]) -> Result<serde_json::Value>
    where
        Self: serde::Serialize,
    {
        let mut json = self.to_json()?;
        if let serde_json::Value::Object(map) = &mut json {
            map.retain(|key, _| !keys.contains(&key.as_str()));
        }
        Ok(json)
    }
}

/// The most keys `find_many` binds in one statement: under every database's limit
/// (SQLite's 32 766), with room for the model's scopes.
const FIND_MANY_PART: usize = 30_000;

/// `keys` as the model's key column compares them, without those no row can have (see
/// [`Value::into_lookup_key`]).
fn lookup_keys(meta: &ModelMeta, keys: impl Iterator<Item = Value>) -> Vec<Value> {
    keys.filter_map(|key| lookup_key(meta, key)).collect()
}

/// One key of [`lookup_keys`]; `None` when no row can have it.
fn lookup_key(meta: &ModelMeta, key: Value) -> Option<Value> {
    key.into_lookup_key(meta.column_types[meta.primary_key_index].0)
}

/// `keys` without repeats (a row read by two parts would come back twice), in parts of
/// at most [`FIND_MANY_PART`].
fn key_parts(keys: Vec<Value>) -> Vec<Vec<Value>> {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<Value> = keys
        .into_iter()
        .filter(|key| seen.insert(key.to_string()))
        .collect();
    unique
        .chunks(FIND_MANY_PART)
        .map(<[Value]>::to_vec)
        .collect()
}

/// Which of the found rows' keys (by their [`Value::to_string`] text) a key given to
/// `find_many_or_fail` is: the one of its own text, else an integer given as text
/// (`"1"`, from a URL) is the integer key `1` and an integer the text key `"1"`, as the
/// databases compared them when they found the row.
fn found_key<V>(found: &std::collections::HashMap<String, V>, key: &Value) -> Option<String> {
    let own = key.to_string();
    if found.contains_key(&own) {
        return Some(own);
    }
    let mut others = Vec::with_capacity(2);
    match key {
        Value::Text(text) => {
            others.push(key.clone().into_key_of(TypeFamily::Integer));
            // A whole number written with a fraction (`"1.0"`), which the databases
            // compare with an integer key as 1.
            if let Some(whole) = text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
            {
                others.push(Value::Int(whole as i64));
            }
            // A UUID in capitals, which PostgreSQL and MySQL compare by value.
            let uuid_shaped = text.len() == 36
                && text.bytes().enumerate().all(|(i, b)| match i {
                    8 | 13 | 18 | 23 => b == b'-',
                    _ => b.is_ascii_hexdigit(),
                });
            if uuid_shaped && text.bytes().any(|b| b.is_ascii_uppercase()) {
                others.push(Value::Text(text.to_ascii_lowercase()));
            }
        }
        Value::Int(_) => others.push(key.clone().into_key_of(TypeFamily::Text)),
        _ => return None,
    }
    others
        .into_iter()
        .map(|other| other.to_string())
        .find(|other| *other != own && found.contains_key(other))
}

/// The row with this key; `stored`: the stored row whatever the model's scopes (soft
/// deletes and global scopes), as `refresh` and `get_dirty` read it (Eloquent's
/// `newQueryWithoutScopes`), else the row a `find` sees.
pub(crate) fn find_by_key<M: Model>(on: &mut On, key: Value, stored: bool) -> Result<Option<M>> {
    find_by_key_from::<M>(on, key, stored, false)
}

/// [`find_by_key`]; `replica`: a plain read, which a read replica may serve (a lookup
/// that a write builds on, as in `destroy` or `refresh`, reads the primary).
fn find_by_key_from<M: Model>(
    on: &mut On,
    key: Value,
    stored: bool,
    replica: bool,
) -> Result<Option<M>> {
    let meta = M::meta();
    // Only text keys change (checked first: an integer key costs no more than before).
    let key = match key {
        Value::Text(_) => match lookup_key(meta, key) {
            Some(key) => key,
            None => return Ok(None),
        },
        key => key,
    };
    // Global scopes may apply to a lookup, not to reading the stored row (`fresh`,
    // `refresh`, a write's check): that reads the table by key, whatever the scopes add,
    // joins included (Eloquent's `newQueryWithoutScopes`). A lookup loads the relations
    // the model declares with `#[model(with = [..])]` too.
    if (meta.hooks || M::DEFAULT_LOADS) && !stored {
        let query = M::query().where_eq(
            Ident::Owned(format!("{}.{}", meta.table, meta.primary_key)),
            key,
        );
        let first = |conn: &mut Connection| query.clone().first_on(conn);
        return if replica {
            on.read(first)
        } else {
            on.run(first)
        };
    }
    let find = |conn: &mut Connection| {
        let sql = find_sql(M::meta(), conn.dialect(), stored)?;
        conn.query_first_native(sql, std::slice::from_ref(&key), M::from_row)
    };
    if replica {
        on.read(find)
    } else {
        on.run(find)
    }
}

/// The query `Model::query()` returns, built once per model: every column, the
/// model's connection and key, and the soft-delete scope.
/// A copy of the model's default query (built on first use), out of line: the part of
/// [`Model::query`] that does not depend on the model type.
#[inline(never)]
fn model_query(meta: &'static ModelMeta) -> Query<()> {
    meta.sql
        .default_query
        .get_or_init(|| default_query(meta))
        .clone()
}

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
    let query = match meta.qualified_deleted_at() {
        Some(qualified) => query.scope(SOFT_DELETES, |q| q.where_null(qualified)),
        None => query,
    };
    let info = meta.sql.model_info.get_or_init(|| {
        let updated_at = meta.updated_at.map(|u| meta.columns[u]);
        ModelInfo {
            name: meta.name,
            default_select: &meta.sql,
            soft_delete: meta.deleted_at.map(|i| (meta.columns[i], updated_at)),
            updated_at,
            created_at: meta.created_at.map(|c| meta.columns[c]),
        }
    });
    query.model_info(info)
}

/// A relation field seen without its type (the derive's `Model::relation_slot`): what
/// `associate`/`dissociate` change on a loaded relation.
#[doc(hidden)]
pub trait RelationSlot: std::any::Any {
    /// Makes the relation not loaded (what a changed foreign key leaves it).
    fn unload(&mut self);
    /// Makes the relation loaded with nothing in it (what a cleared foreign key means).
    fn clear(&mut self);
    /// The field itself, to set it when its type is known.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
    /// Whether the relation was loaded (what `refresh` loads again).
    fn is_loaded(&self) -> bool;
    /// Keeps a `with_sum`-like aggregate of the relation's `column` (replacing an earlier
    /// one of the same function and column).
    fn set_aggregate(&mut self, function: crate::query::Aggregate, column: &str, value: Value);
    /// Keeps whether any related row matched (`with_exists`).
    fn set_exists(&mut self, exists: bool);
}

/// The name of the soft-delete scope on model queries.
pub const SOFT_DELETES: &str = "soft_deletes";

fn first_or_create<'a, M: Model + Default>(
    on: &mut On,
    attributes: impl IntoIterator<Item = (&'a str, Value)>,
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<M> {
    let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
    if let Some(found) = on.run(|conn| matching::<M>(&attributes).first_on(conn))? {
        return Ok(found);
    }
    create_or_first(on, &attributes, values).map(|(model, _)| model)
}

/// Creates the model from `attributes` and `values`. When a unique key refuses the row
/// because another caller created it since it was looked for, returns that caller's row
/// instead (`false`: not created), as Eloquent's `createOrFirst`. Inside a transaction
/// the insert runs in a savepoint, so that PostgreSQL's refusal does not abort the
/// transaction.
fn create_or_first<'a, M: Model + Default>(
    on: &mut On,
    attributes: &[(&'a str, Value)],
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<(M, bool)> {
    let mut model = M::default();
    apply(&mut model, attributes.iter().cloned().chain(values))?;
    // Always an insert, as `Model::create`: a key among the values is the new row's, not
    // a row to update (a model without a state would otherwise be saved by its key).
    let created = if on.run(|conn| Ok(conn.in_transaction()))? {
        on.transaction(|on| create(&mut model, on))
    } else {
        create(&mut model, on)
    };
    match created {
        Ok(()) => Ok((model, true)),
        Err(refused @ Error::UniqueViolation { .. }) => {
            match on.run(|conn| matching::<M>(attributes).first_on(conn))? {
                Some(found) => Ok((found, false)),
                None => Err(refused),
            }
        }
        Err(e) => Err(e),
    }
}

fn update_or_create<'a, M: Model + Default>(
    on: &mut On,
    attributes: impl IntoIterator<Item = (&'a str, Value)>,
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<M> {
    let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
    let values: Vec<(&str, Value)> = values.into_iter().collect();
    let mut model = match on.run(|conn| matching::<M>(&attributes).first_on(conn))? {
        Some(found) => found,
        None => match create_or_first::<M>(on, &attributes, values.iter().cloned())? {
            (created, true) => return Ok(created),
            (found, false) => found,
        },
    };
    apply(&mut model, values)?;
    save(&mut model, on, None)?;
    Ok(model)
}

/// Deletes the rows with these keys one by one, so hooks and soft deletes apply, after
/// reading them in one statement per part of the keys (`trashed`: soft-deleted rows
/// too, deleted for real).
fn destroy<M: Model, K: ToValue>(
    on: &mut On,
    keys: impl IntoIterator<Item = K>,
    trashed: bool,
) -> Result<u64> {
    let meta = M::meta();
    let key_column = format!("{}.{}", meta.table, meta.primary_key);
    let keys = lookup_keys(meta, keys.into_iter().map(|k| k.to_value()));
    // A row two spellings of one key found (`1` and `"1"`) in different parts is
    // deleted once.
    let mut deleted = std::collections::HashSet::new();
    for part in key_parts(keys) {
        let query = M::query().where_in(Ident::Owned(key_column.clone()), part);
        let query = if trashed { query.with_trashed() } else { query };
        let query = query.locked_for_write();
        for mut model in on.run(|conn| query.clone().get_on(conn))? {
            if deleted.insert(model.key_value().to_string()) {
                delete(&mut model, on, trashed)?;
            }
        }
    }
    Ok(deleted.len() as u64)
}

fn dirty<M: Model>(model: &M, on: &mut On) -> Result<Vec<(&'static str, Value)>> {
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

/// A model decoded from a row: stored, its values the original ones (the derive calls
/// it for models with a [`ModelState`] field).
#[doc(hidden)]
pub fn loaded<M: Model>(mut model: M) -> M {
    mark_stored(&mut model);
    model
}

/// Remembers in models read through `connection` that they came from it, when it is
/// not the model's own, and that they were read together when there are several (the
/// derive's `FromRow::remember_connection`, for models with a [`ModelState`]).
#[doc(hidden)]
pub fn remember_connection<M: Model>(models: &mut [M], connection: &str) {
    if models.len() > 1 {
        for model in models.iter_mut() {
            if let Some(state) = model.state_mut() {
                state.set_read_with_others();
            }
        }
    }
    // In a `DB::connection(name).scope(..)` every statement ran on that connection,
    // which the models remembered as they were decoded.
    if connection == M::meta().connection || crate::db::lending() {
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

pub(crate) fn apply<'a, M: Model>(
    model: &mut M,
    values: impl IntoIterator<Item = (&'a str, Value)>,
) -> Result<()> {
    for (column, value) in values {
        persist::set_written(model, column, value)?;
    }
    Ok(())
}

impl<M: Model> Query<M> {
    /// The rows with all of these keys that the query matches, in the order the keys are
    /// given (a key given twice gives its model once, where it first appears), or
    /// [`Error::NotFound`] naming every key without one (`id IN (3, 7)`): Eloquent's
    /// `findOrFail([..])` on a query or relation (`user.posts().find_many_or_fail([1, 2])`).
    /// A list longer than a statement can bind is read in parts.
    pub fn find_many_or_fail<K: ToValue>(
        self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<Vec<M>> {
        let keys: Vec<Value> = keys.into_iter().map(|k| k.to_value()).collect();
        let mut by_key: std::collections::HashMap<String, M> = std::collections::HashMap::new();
        for part in key_parts(lookup_keys(M::meta(), keys.iter().cloned())) {
            for model in self.clone().find_many(part)? {
                by_key.insert(model.key_value().to_string(), model);
            }
        }
        let missing: Vec<String> = keys
            .iter()
            .filter(|key| found_key(&by_key, key).is_none())
            .map(Value::to_string)
            .collect();
        if !missing.is_empty() {
            let meta = M::meta();
            return Err(Error::NotFound {
                model: meta.name.to_owned(),
                key: format!("{} IN ({})", meta.primary_key, missing.join(", ")),
            });
        }
        Ok(keys
            .iter()
            .filter_map(|key| by_key.remove(&found_key(&by_key, key)?))
            .collect())
    }

    /// Includes soft-deleted rows.
    pub fn with_trashed(self) -> Self {
        self.without_scope(SOFT_DELETES)
    }

    /// Excludes soft-deleted rows again (after `with_trashed`, or on a query that never
    /// had the scope): Eloquent's `withoutTrashed`.
    pub fn without_trashed(self) -> Self {
        match M::meta().qualified_deleted_at() {
            Some(column) => self
                .without_scope(SOFT_DELETES)
                .scope(SOFT_DELETES, |q| q.where_null(column)),
            None => self,
        }
    }

    /// Only soft-deleted rows.
    pub fn only_trashed(self) -> Self {
        match M::meta().qualified_deleted_at() {
            Some(column) => self.without_scope(SOFT_DELETES).where_not_null(column),
            None => self.where_raw("1 = 0", &[]),
        }
    }

    /// Deletes the matching rows for real, even on a model with soft deletes: the
    /// soft-deleted ones among them too (Eloquent's `forceDelete`, which runs without the
    /// soft-delete scope).
    pub fn force_delete(self) -> Result<u64> {
        self.with_trashed().hard_delete().delete()
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
