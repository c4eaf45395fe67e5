//! Relations: the metadata `#[derive(Model)]` emits for relation fields, the containers
//! that hold loaded relations, relation queries (`user.posts()`), eager loading (one
//! `IN (...)` query per level), existence subqueries (`has`, `where_has`) and pivot
//! operations (`attach`, `detach`, `sync`, `toggle`).

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use crate::backend::Connection;
use crate::error::{Error, Result};
use crate::model::{now, Model, ModelMeta};
use crate::query::{clone_list, Ident, Query};
use crate::row::Record;
use crate::value::{Value, ValueRef};
use orm_inflector::singularize;

/// The kind of a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelationKind {
    /// The related table holds a key to this model; at most one row.
    HasOne,
    /// The related table holds a key to this model.
    HasMany,
    /// This model holds a key to the related table.
    BelongsTo,
    /// A pivot table links both.
    BelongsToMany,
    /// Related rows reached through an intermediate table (`country → users → posts`).
    HasManyThrough,
    /// [`RelationKind::HasManyThrough`] with at most one row.
    HasOneThrough,
}

/// A relation declared on a model (emitted by `#[derive(Model)]`).
///
/// Key columns per kind (defaults in parentheses, for `User` ↔ `Post`/`Role`, `Country` →
/// `User` → `Post`):
/// - has one / has many: `foreign_key` on the related table (default `user_id`), `local_key` on
///   this table (default: its primary key);
/// - belongs to: `foreign_key` on this table (default `user_id`), `local_key` = the owner's key on
///   the related table (default: its primary key);
/// - belongs to many: `pivot_table` (default: the two singular table names in
///   alphabetical order, `role_user`), `foreign_key` = the pivot column pointing here (default `user_id`),
///   `related_key` = the pivot column pointing to the related table (default `role_id`);
/// - has many / one through: `foreign_key` = the intermediate table's column pointing here
///   (default `country_id`), `related_key` = the related table's column pointing to the
///   intermediate one (default `user_id`).
#[derive(Debug)]
pub struct RelationMeta {
    /// The relation's name (the field name).
    pub name: &'static str,
    /// Its kind.
    pub kind: RelationKind,
    /// The model declaring it.
    pub parent: fn() -> &'static ModelMeta,
    /// The related model.
    pub related: fn() -> &'static ModelMeta,
    /// The intermediate model of a through relation.
    pub through: Option<fn() -> &'static ModelMeta>,
    /// See the type's documentation.
    pub foreign_key: &'static str,
    /// See the type's documentation (`""` when unused).
    pub related_key: &'static str,
    /// See the type's documentation (`None`: a primary key).
    pub local_key: Option<&'static str>,
    /// The pivot table of a belongs-to-many relation (`None`: the default name).
    pub pivot_table: Option<&'static str>,
    /// Whether `attach` stamps `created_at`/`updated_at` on pivot rows.
    pub pivot_timestamps: bool,
    #[doc(hidden)]
    pub cache: RelationCache,
}

/// Names computed once per relation.
#[doc(hidden)]
#[derive(Debug)]
pub struct RelationCache {
    pivot_table: OnceLock<String>,
}

impl RelationCache {
    /// An empty cache (usable in a `static`).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> RelationCache {
        RelationCache {
            pivot_table: OnceLock::new(),
        }
    }
}

impl RelationMeta {
    /// The column on this model's table that the relation matches on.
    pub fn parent_column(&self) -> &'static str {
        match self.kind {
            RelationKind::BelongsTo => self.foreign_key,
            _ => self.local_key.unwrap_or((self.parent)().primary_key),
        }
    }

    /// For belongs-to: the owner's key column on the related table.
    fn owner_key(&self) -> &'static str {
        self.local_key.unwrap_or((self.related)().primary_key)
    }

    /// The pivot table of a belongs-to-many relation.
    pub fn pivot(&'static self) -> &'static str {
        if let Some(table) = self.pivot_table {
            return table;
        }
        self.cache.pivot_table.get_or_init(|| {
            let mut names = [
                singularize((self.parent)().table),
                singularize((self.related)().table),
            ];
            names.sort();
            names.join("_")
        })
    }

    fn through_meta(&self) -> &'static ModelMeta {
        (self
            .through
            .expect("a through relation names its intermediate model"))()
    }
}

impl ModelMeta {
    /// The relation named `name`, or [`Error::UnknownRelation`].
    pub fn relation(&'static self, name: &str) -> Result<&'static RelationMeta> {
        self.relations
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Error::UnknownRelation {
                model: self.name.to_owned(),
                relation: name.to_owned(),
            })
    }
}

fn qualify(table: &str, column: &str) -> Ident {
    Ident::Owned(format!("{table}.{column}"))
}

// ----- containers -----------------------------------------------------------------------

/// A loaded to-many relation (`HasMany`, `BelongsToMany`, `HasManyThrough`): empty and
/// not loaded until eager loading fills it. Dereferences to the loaded slice (empty when
/// not loaded; [`Many::is_loaded`] tells the difference).
pub struct Many<T> {
    items: Option<Vec<T>>,
    count: Option<u64>,
}

/// Models related by a foreign key on their table.
pub type HasMany<T> = Many<T>;
/// Models related through a pivot table.
pub type BelongsToMany<T> = Many<T>;
/// Models related through an intermediate table.
pub type HasManyThrough<T> = Many<T>;

impl<T> Many<T> {
    /// Whether the relation was loaded.
    pub fn is_loaded(&self) -> bool {
        self.items.is_some()
    }

    /// The loaded models, if loaded.
    pub fn loaded(&self) -> Option<&[T]> {
        self.items.as_deref()
    }

    /// Replaces the loaded models.
    pub fn set(&mut self, items: Vec<T>) {
        self.items = Some(items);
    }

    /// Takes the loaded models out (the relation becomes not loaded).
    pub fn take(&mut self) -> Vec<T> {
        self.items.take().unwrap_or_default()
    }

    /// The related row count from `with_count`, else the loaded length.
    pub fn count(&self) -> Option<u64> {
        self.count
            .or_else(|| self.items.as_ref().map(|v| v.len() as u64))
    }

    #[doc(hidden)]
    pub fn count_slot(&mut self) -> &mut Option<u64> {
        &mut self.count
    }
}

impl<T> Default for Many<T> {
    fn default() -> Self {
        Many {
            items: None,
            count: None,
        }
    }
}

impl<T: Clone> Clone for Many<T> {
    fn clone(&self) -> Self {
        Many {
            items: self.items.clone(),
            count: self.count,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Many<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.items {
            Some(items) => f.debug_list().entries(items).finish(),
            None => f.write_str("<not loaded>"),
        }
    }
}

impl<T: PartialEq> PartialEq for Many<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl<T> Deref for Many<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.items.as_deref().unwrap_or(&[])
    }
}

impl<T: serde::Serialize> serde::Serialize for Many<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(serializer)
    }
}

/// A loaded to-one relation (`HasOne`, `BelongsTo`, `HasOneThrough`).
pub struct One<T> {
    item: Option<Option<Box<T>>>,
    count: Option<u64>,
}

/// A model related by a foreign key on its table (at most one).
pub type HasOne<T> = One<T>;
/// The model this one holds a key to.
pub type BelongsTo<T> = One<T>;
/// A model related through an intermediate table (at most one).
pub type HasOneThrough<T> = One<T>;

impl<T> One<T> {
    /// Whether the relation was loaded.
    pub fn is_loaded(&self) -> bool {
        self.item.is_some()
    }

    /// The loaded model (`None` when not loaded or when there is none).
    pub fn get(&self) -> Option<&T> {
        self.item.as_ref().and_then(|i| i.as_deref())
    }

    /// Replaces the loaded model.
    pub fn set(&mut self, item: Option<T>) {
        self.item = Some(item.map(Box::new));
    }

    /// Takes the loaded model out (the relation becomes not loaded).
    pub fn take(&mut self) -> Option<T> {
        self.item.take().flatten().map(|b| *b)
    }

    #[doc(hidden)]
    pub fn count_slot(&mut self) -> &mut Option<u64> {
        &mut self.count
    }
}

impl<T> Default for One<T> {
    fn default() -> Self {
        One {
            item: None,
            count: None,
        }
    }
}

impl<T: Clone> Clone for One<T> {
    fn clone(&self) -> Self {
        One {
            item: self.item.clone(),
            count: self.count,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for One<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.item {
            Some(item) => item.fmt(f),
            None => f.write_str("<not loaded>"),
        }
    }
}

impl<T: PartialEq> PartialEq for One<T> {
    fn eq(&self, other: &Self) -> bool {
        self.item == other.item
    }
}

impl<T: serde::Serialize> serde::Serialize for One<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

// ----- lazy-loading prevention ----------------------------------------------------------

static PREVENT_LAZY_LOADING: AtomicBool = AtomicBool::new(false);

thread_local! {
    static PREVENT_ON_THIS_THREAD: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Turns lazy-loading prevention on or off. On a thread with a test database
/// ([`crate::testing`]) it applies to that thread only, so parallel tests do not affect
/// each other; elsewhere it applies to the whole process.
pub(crate) fn prevent_lazy_loading(on: bool) {
    if crate::testing::has_test_database() {
        PREVENT_ON_THIS_THREAD.with(|c| c.set(Some(on)));
    } else {
        PREVENT_LAZY_LOADING.store(on, Ordering::Relaxed);
    }
}

pub(crate) fn lazy_loading_prevented() -> bool {
    PREVENT_ON_THIS_THREAD
        .with(Cell::get)
        .unwrap_or_else(|| PREVENT_LAZY_LOADING.load(Ordering::Relaxed))
}

pub(crate) fn reset_thread_lazy_loading() {
    PREVENT_ON_THIS_THREAD.with(|c| c.set(None));
}

// ----- relation queries -----------------------------------------------------------------

/// What a relation query knows about its parent, for writes through the relation.
#[derive(Debug)]
pub(crate) struct RelationContext {
    relation: &'static RelationMeta,
    /// The parent's value of [`RelationMeta::parent_column`].
    parent_value: Value,
}

/// The query behind `parent.relation()`: the related rows of one parent.
#[doc(hidden)]
pub fn relation_query<P: Model, C: Model>(
    parent: &P,
    relation: &'static RelationMeta,
    loaded: bool,
) -> Query<C> {
    let parent_value = parent
        .column_value(relation.parent_column())
        .unwrap_or(Value::Null);
    let (query, parent_column) = related_rows(C::query(), relation, (relation.related)().table);
    let mut query = query.where_eq(parent_column, parent_value.clone());
    if parent_value.is_null() {
        // `= NULL` would become `IS NULL` and match orphans: a parent without a key
        // has no related rows.
        query = query.where_raw("1 = 0", &[]);
    }
    if !loaded {
        query.model.lazy_guard = Some((P::meta().name, relation.name));
    }
    // A parent read from a named connection reads its relations there too.
    if let Some(name) = parent.state().and_then(crate::ModelState::connection) {
        query = query.use_connection(name.to_owned());
    }
    query.model.relation = Some(Arc::new(RelationContext {
        relation,
        parent_value,
    }));
    query
}

/// Which rows `sync`/`toggle` attached and detached.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncChanges {
    /// Keys newly attached.
    pub attached: Vec<Value>,
    /// Keys detached.
    pub detached: Vec<Value>,
}

impl<C: Model> Query<C> {
    fn relation_context(&self, action: &str) -> Result<Arc<RelationContext>> {
        self.model.relation.clone().ok_or_else(|| {
            Error::InvalidQuery(format!(
                "`{action}` works on a relation query (e.g. `user.posts().{action}(..)`)"
            ))
        })
    }

    fn pivot_context(&self, action: &str) -> Result<Arc<RelationContext>> {
        let context = self.relation_context(action)?;
        if context.relation.kind != RelationKind::BelongsToMany {
            return Err(Error::InvalidQuery(format!(
                "`{action}` works on a belongs-to-many relation, not `{}`",
                context.relation.name
            )));
        }
        if context.parent_value.is_null() {
            return Err(Error::InvalidQuery(format!(
                "save the parent before `{action}` on `{}`",
                context.relation.name
            )));
        }
        Ok(context)
    }

    /// Saves `child` as related to this query's parent: sets its foreign key
    /// (has-one/has-many), or saves it and attaches it (belongs-to-many, both in one
    /// transaction). Like every read and write through a relation query, it runs on the
    /// query's connection (`user.posts().use_connection("other").save(..)` writes to
    /// `other`).
    pub fn save(self, child: &mut C) -> Result<()> {
        self.write_child(child, "save", |child, conn| {
            crate::model::save_on(child, conn)
        })
    }

    /// Inserts `child` as related to this query's parent and returns it: always an
    /// INSERT, like [`Model::create`] (a taken key is `Error::UniqueViolation`).
    pub fn create(self, mut child: C) -> Result<C> {
        self.write_child(&mut child, "create", |child, conn| {
            crate::model::insert_on(child, conn)
        })?;
        Ok(child)
    }

    fn write_child(
        self,
        child: &mut C,
        action: &str,
        write: impl Fn(&mut C, &mut Connection) -> Result<()>,
    ) -> Result<()> {
        let context = self.relation_context(action)?;
        let relation = context.relation;
        let name = self.connection_name().to_owned();
        match relation.kind {
            RelationKind::HasOne | RelationKind::HasMany => {
                if context.parent_value.is_null() {
                    return Err(Error::InvalidQuery(format!(
                        "save the parent before `{action}` through `{}`",
                        relation.name
                    )));
                }
                child.set_column(relation.foreign_key, context.parent_value.as_ref())?;
                self.run(|_, conn| write(child, conn))?;
            }
            RelationKind::BelongsToMany => {
                self.pivot_context(action)?;
                crate::DB::connection(&name).transaction(|| {
                    crate::db::with_named(&name, |conn| write(child, conn))?;
                    self.attach([child.key_value()]).map(|_| ())
                })?;
            }
            _ => {
                return Err(Error::InvalidQuery(format!(
                    "cannot {action} through `{}`: use associate() for belongs-to relations",
                    relation.name
                )))
            }
        }
        // Written on the query's connection: later saves of the child go there too.
        if name != C::meta().connection {
            if let Some(state) = child.state_mut() {
                state.use_connection(&name);
            }
        }
        Ok(())
    }

    /// Links the parent to the related rows with these keys (pivot rows inserted; with
    /// pivot timestamps, stamped). Returns how many rows were inserted.
    pub fn attach<K: Into<Value>>(self, keys: impl IntoIterator<Item = K>) -> Result<u64> {
        let rows: Vec<(Value, Vec<(&str, Value)>)> =
            keys.into_iter().map(|k| (k.into(), Vec::new())).collect();
        self.attach_rows(rows)
    }

    /// Attaches one related key with extra pivot columns.
    pub fn attach_with<'a>(
        self,
        key: impl Into<Value>,
        pivot: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<()> {
        self.attach_rows(vec![(key.into(), pivot.into_iter().collect())])
            .map(|_| ())
    }

    fn attach_rows(self, rows: Vec<(Value, Vec<(&str, Value)>)>) -> Result<u64> {
        let context = self.pivot_context("attach")?;
        let relation = context.relation;
        if rows.is_empty() {
            return Ok(0);
        }
        let stamp = relation.pivot_timestamps.then(|| Value::DateTimeUtc(now()));
        let pivot_rows: Vec<Vec<(&str, Value)>> = rows
            .into_iter()
            .map(|(key, extra)| {
                let mut row = vec![
                    (relation.foreign_key, context.parent_value.clone()),
                    (relation.related_key, key),
                ];
                row.extend(extra);
                if let Some(at) = &stamp {
                    row.push(("created_at", at.clone()));
                    row.push(("updated_at", at.clone()));
                }
                row
            })
            .collect();
        // Rows with different extra columns are inserted one by one.
        let uniform = pivot_rows
            .windows(2)
            .all(|w| w[0].iter().map(|c| c.0).eq(w[1].iter().map(|c| c.0)));
        let pivot = Query::<Record>::new(relation.pivot())
            .use_connection(Ident::Owned(self.connection_name().to_owned()));
        if uniform {
            pivot.insert_many(pivot_rows)
        } else {
            let mut n = 0;
            for row in pivot_rows {
                n += pivot.clone().insert(row).map(|_| 1)?;
            }
            Ok(n)
        }
    }

    /// Unlinks the related rows with these keys; returns how many pivot rows went.
    pub fn detach<K: Into<Value>>(self, keys: impl IntoIterator<Item = K>) -> Result<u64> {
        let context = self.pivot_context("detach")?;
        let keys: Vec<Value> = keys.into_iter().map(Into::into).collect();
        self.pivot_rows(&context)
            .where_in(context.relation.related_key, keys)
            .delete()
    }

    /// Unlinks every related row; returns how many pivot rows went.
    pub fn detach_all(self) -> Result<u64> {
        let context = self.pivot_context("detach_all")?;
        self.pivot_rows(&context).delete()
    }

    /// Makes the linked keys exactly `keys`: attaches the missing, detaches the rest.
    pub fn sync<K: Into<Value>>(self, keys: impl IntoIterator<Item = K>) -> Result<SyncChanges> {
        let context = self.pivot_context("sync")?;
        let wanted: Vec<Value> = keys.into_iter().map(Into::into).collect();
        let name = self.connection_name().to_owned();
        crate::DB::connection(&name).transaction(|| {
            let current = self.linked_keys(&context)?;
            let detached: Vec<Value> = current
                .iter()
                .filter(|k| !contains(&wanted, k))
                .cloned()
                .collect();
            let mut attached: Vec<Value> = Vec::new();
            for key in &wanted {
                if !contains(&current, key) && !contains(&attached, key) {
                    attached.push(key.clone());
                }
            }
            if !detached.is_empty() {
                self.clone().detach(detached.clone())?;
            }
            self.clone().attach(attached.clone())?;
            Ok(SyncChanges { attached, detached })
        })
    }

    /// Attaches the keys not linked yet and detaches the linked ones.
    pub fn toggle<K: Into<Value>>(self, keys: impl IntoIterator<Item = K>) -> Result<SyncChanges> {
        let context = self.pivot_context("toggle")?;
        let keys: Vec<Value> = keys.into_iter().map(Into::into).collect();
        let name = self.connection_name().to_owned();
        crate::DB::connection(&name).transaction(|| {
            let current = self.linked_keys(&context)?;
            let (detached, attached): (Vec<Value>, Vec<Value>) =
                keys.into_iter().partition(|k| contains(&current, k));
            if !detached.is_empty() {
                self.clone().detach(detached.clone())?;
            }
            self.clone().attach(attached.clone())?;
            Ok(SyncChanges { attached, detached })
        })
    }

    /// Adds pivot columns to the selection, read back by [`Query::get_with_pivot`].
    pub fn with_pivot(self, columns: &[&str]) -> Self {
        let Some(context) = self.model.relation.clone() else {
            return self.fail("`with_pivot` works on a belongs-to-many relation query".into());
        };
        let pivot = context.relation.pivot();
        let selected: Vec<String> = columns.iter().map(|c| format!("{pivot}.{c}")).collect();
        self.add_select(selected)
    }

    /// The related models, each with its pivot row (the columns named by
    /// [`Query::with_pivot`], plus the two keys).
    pub fn get_with_pivot(self) -> Result<Vec<(C, Record)>> {
        let context = self.pivot_context("get_with_pivot")?;
        let pivot = context.relation.pivot();
        let query = self.add_select(vec![
            format!("{pivot}.{}", context.relation.foreign_key),
            format!("{pivot}.{}", context.relation.related_key),
        ]);
        query.run(|mut query, conn| {
            query.model = Default::default();
            let width = C::meta().columns.len();
            let (sql, binds) = query.render_owned(conn.dialect())?;
            let mut names: Option<Arc<[String]>> = None;
            conn.query_map_native(&sql, &binds, |row| {
                let model = C::from_row(row)?;
                let names = names.get_or_insert_with(|| {
                    (width..row.len())
                        .map(|i| row.column_name(i).to_owned())
                        .collect()
                });
                let values = (width..row.len())
                    .map(|i| row.value(&i).map(|v| v.to_owned_value()))
                    .collect::<Result<Vec<_>>>()?;
                Ok((model, Record::new(Arc::clone(names), values)))
            })
        })
    }

    fn pivot_rows(&self, context: &RelationContext) -> Query<Record> {
        Query::<Record>::new(context.relation.pivot())
            .use_connection(Ident::Owned(self.connection_name().to_owned()))
            .where_eq(context.relation.foreign_key, context.parent_value.clone())
    }

    fn linked_keys(&self, context: &RelationContext) -> Result<Vec<Value>> {
        self.pivot_rows(context)
            .pluck::<Value>(context.relation.related_key)
    }
}

fn contains(values: &[Value], wanted: &Value) -> bool {
    let wanted = KeyRepr::of(wanted);
    values.iter().any(|v| KeyRepr::of(v) == wanted)
}

// ----- belongs-to: associate / dissociate ----------------------------------------------

pub(crate) fn associate<M: Model, O: Model>(
    model: &mut M,
    relation: &str,
    owner: &O,
) -> Result<()> {
    let relation = belongs_to::<M>(relation)?;
    let key = owner
        .column_value(relation.owner_key())
        .unwrap_or(Value::Null);
    if key.is_null() {
        return Err(Error::InvalidQuery(format!(
            "cannot associate `{}` with an unsaved {}",
            relation.name,
            O::meta().name
        )));
    }
    model.set_column(relation.foreign_key, key.as_ref())
}

pub(crate) fn dissociate<M: Model>(model: &mut M, relation: &str) -> Result<()> {
    let relation = belongs_to::<M>(relation)?;
    model.set_column(relation.foreign_key, Value::Null.as_ref())
}

fn belongs_to<M: Model>(name: &str) -> Result<&'static RelationMeta> {
    let relation = M::meta().relation(name)?;
    if relation.kind != RelationKind::BelongsTo {
        return Err(Error::InvalidQuery(format!(
            "`{name}` on {} is not a belongs-to relation",
            M::meta().name
        )));
    }
    Ok(relation)
}

// ----- eager loading --------------------------------------------------------------------

/// A constraint on an eager-loaded relation (`with_where`).
pub type Constraint = Arc<dyn Fn(Query<Record>) -> Query<Record> + Send + Sync>;

/// The relations (and counts) to load after a query.
#[doc(hidden)]
#[derive(Default)]
pub struct LoadPlan {
    pub(crate) relations: Vec<EagerRelation>,
    pub(crate) counts: Vec<String>,
}

impl Clone for LoadPlan {
    fn clone(&self) -> LoadPlan {
        LoadPlan {
            relations: clone_list(&self.relations),
            counts: clone_list(&self.counts),
        }
    }
}

impl std::fmt::Debug for LoadPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadPlan")
            .field(
                "relations",
                &self.relations.iter().map(|r| &r.name).collect::<Vec<_>>(),
            )
            .field("counts", &self.counts)
            .finish()
    }
}

/// One relation to eager load, with its constraint and nested relations.
#[doc(hidden)]
#[derive(Clone)]
pub struct EagerRelation {
    pub(crate) name: String,
    pub(crate) constraint: Option<Constraint>,
    pub(crate) nested: LoadPlan,
}

impl LoadPlan {
    pub(crate) fn is_empty(&self) -> bool {
        self.relations.is_empty() && self.counts.is_empty()
    }

    /// Adds `posts.comments` as `posts` → `comments`, with `constraint` on the last one.
    pub(crate) fn add_path(&mut self, path: &str, constraint: Option<Constraint>) {
        let (head, rest) = match path.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (path, None),
        };
        let index = match self.relations.iter().position(|r| r.name == head) {
            Some(i) => i,
            None => {
                self.relations.push(EagerRelation {
                    name: head.to_owned(),
                    constraint: None,
                    nested: LoadPlan::default(),
                });
                self.relations.len() - 1
            }
        };
        match rest {
            Some(rest) => self.relations[index].nested.add_path(rest, constraint),
            None => {
                if constraint.is_some() {
                    self.relations[index].constraint = constraint;
                }
            }
        }
    }
}

/// Loads `plan` onto `models`: each relation with one query per level (per chunk of
/// keys under the bind limit), then the counts.
pub(crate) fn run_plan<M: Model>(
    models: &mut [M],
    plan: &LoadPlan,
    conn: &mut Connection,
) -> Result<()> {
    if models.is_empty() {
        return Ok(());
    }
    for relation in &plan.relations {
        M::eager_load(models, &relation.name, relation, conn)?;
    }
    for name in &plan.counts {
        load_counts(models, M::meta().relation(name)?, conn)?;
    }
    Ok(())
}

/// A fast hasher for grouping keys (mostly integers): eager loading hashes one key per
/// related row, and SipHash's DoS resistance buys nothing for keys read from our own
/// tables.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_i64(&mut self, value: i64) {
        self.write_u64(value as u64);
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }
}

type KeyMap<V> = HashMap<KeyRepr, V, BuildHasherDefault<KeyHasher>>;

/// A hashable form of a key value, for grouping related rows by key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum KeyRepr {
    Int(i64),
    Text(String),
    Other(String),
}

impl KeyRepr {
    fn of(value: &Value) -> Option<KeyRepr> {
        Self::of_ref(&value.as_ref())
    }

    fn of_ref(value: &ValueRef<'_>) -> Option<KeyRepr> {
        match value {
            ValueRef::Null => None,
            ValueRef::Int(v) => Some(KeyRepr::Int(*v)),
            ValueRef::Bool(v) => Some(KeyRepr::Int(i64::from(*v))),
            ValueRef::Text(v) => Some(KeyRepr::Text(v.to_string())),
            other => Some(KeyRepr::Other(other.to_owned_value().to_string())),
        }
    }

    /// The key in column `index` of `row` (integers without any allocation or drop).
    #[inline]
    fn read(row: &crate::row::Row<'_>, index: usize) -> Result<Option<KeyRepr>> {
        let value = row.value_at(index)?;
        if let ValueRef::Int(v) = value {
            // Nothing to drop in an integer: skip the enum's drop-glue call.
            std::mem::forget(value);
            return Ok(Some(KeyRepr::Int(v)));
        }
        Ok(Self::of_ref(&value))
    }
}

/// Distinct non-null values of `column` over `models`.
fn distinct_keys<M: Model>(models: &[M], column: &str) -> Vec<Value> {
    let mut seen: HashSet<KeyRepr, BuildHasherDefault<KeyHasher>> = HashSet::default();
    models
        .iter()
        .filter_map(|m| m.column_value(column))
        .filter(|v| KeyRepr::of(v).is_some_and(|k| seen.insert(k)))
        .collect()
}

/// Runs `query` restricted to `group_column IN keys` (in chunks under the bind limit),
/// decoding each row into `C` and reading its group key — from the model's own column
/// when the relation's key is one (has one/many, belongs to), else from the key column
/// selected after the model's; then loads `eager`'s nested relations onto all the
/// children at once.
fn fetch_children<C: Model>(
    conn: &mut Connection,
    query: Query<C>,
    relation: &'static RelationMeta,
    group_column: Ident,
    keys: Vec<Value>,
    eager: &EagerRelation,
) -> Result<(Vec<C>, Vec<Option<KeyRepr>>)> {
    let mut children = Vec::new();
    let mut groups = Vec::new();
    if keys.is_empty() {
        return Ok((children, groups));
    }
    let mut query = query;
    if let Some(constraint) = &eager.constraint {
        query = constraint(query.into_rows::<Record>()).into_rows::<C>();
    }
    let columns = C::meta().columns;
    let own_key = match relation.kind {
        RelationKind::HasOne | RelationKind::HasMany => Some(relation.foreign_key),
        RelationKind::BelongsTo => Some(relation.owner_key()),
        _ => None,
    }
    .and_then(|key| columns.iter().position(|c| *c == key));
    let key_at = match own_key {
        Some(position) => position,
        None => {
            query = query.add_select(vec![group_column.clone()]);
            columns.len()
        }
    };
    let chunk = conn.dialect().max_bind_params().saturating_sub(1000).max(1);
    // At least one child per parent key is the common case: start there.
    children.reserve(keys.len());
    groups.reserve(keys.len());
    for keys in keys.chunks(chunk) {
        let (sql, binds) = query
            .clone()
            .where_in(group_column.clone(), keys.to_vec())
            .render_owned(conn.dialect())?;
        conn.query_each_native(&sql, &binds, |row| {
            children.push(C::from_row(row)?);
            groups.push(KeyRepr::read(row, key_at)?);
            Ok(true)
        })?;
    }
    C::remember_connection(&mut children, query.connection_name());
    run_plan(&mut children, &eager.nested, conn)?;
    Ok((children, groups))
}

fn group<C>(children: Vec<C>, groups: Vec<Option<KeyRepr>>) -> KeyMap<Vec<C>> {
    let mut map: KeyMap<Vec<C>> = KeyMap::default();
    for (child, key) in children.into_iter().zip(groups) {
        if let Some(key) = key {
            map.entry(key).or_default().push(child);
        }
    }
    map
}

/// The related rows of every parent, grouped by the parent's key.
fn load_grouped<P: Model, C: Model>(
    parents: &[P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
) -> Result<KeyMap<Vec<C>>> {
    let keys = distinct_keys(parents, relation.parent_column());
    let mut children = C::query();
    // Parents read from a named connection: their children come from it and remember it.
    if let Some(name) = parents
        .first()
        .and_then(Model::state)
        .and_then(crate::ModelState::connection)
    {
        children = children.use_connection(name.to_owned());
    }
    let (query, group_column) = related_rows(children, relation, (relation.related)().table);
    let (children, groups) = fetch_children(conn, query, relation, group_column, keys, eager)?;
    Ok(group(children, groups))
}

fn parent_key<P: Model>(parent: &P, relation: &RelationMeta) -> Option<KeyRepr> {
    parent
        .column_value(relation.parent_column())
        .and_then(|v| KeyRepr::of(&v))
}

/// Eager loads a to-many relation (has many, belongs to many, has many through).
#[doc(hidden)]
pub fn load_many<P: Model, C: Model>(
    parents: &mut [P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    field: fn(&mut P) -> &mut Many<C>,
) -> Result<()> {
    let mut grouped = load_grouped::<P, C>(parents, relation, eager, conn)?;
    for parent in parents.iter_mut() {
        let items = parent_key(parent, relation)
            .and_then(|k| grouped.remove(&k))
            .unwrap_or_default();
        field(parent).set(items);
    }
    Ok(())
}

/// Eager loads a to-one relation whose rows belong to one parent each (has one, has one
/// through).
#[doc(hidden)]
pub fn load_one<P: Model, C: Model>(
    parents: &mut [P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    field: fn(&mut P) -> &mut One<C>,
) -> Result<()> {
    let mut grouped = load_grouped::<P, C>(parents, relation, eager, conn)?;
    for parent in parents.iter_mut() {
        let item = parent_key(parent, relation)
            .and_then(|k| grouped.remove(&k))
            .and_then(|v| v.into_iter().next());
        field(parent).set(item);
    }
    Ok(())
}

/// Eager loads a belongs-to relation (several parents may share one owner, so owners
/// are cloned).
#[doc(hidden)]
pub fn load_belongs_to<P: Model, C: Model + Clone>(
    parents: &mut [P],
    relation: &'static RelationMeta,
    eager: &EagerRelation,
    conn: &mut Connection,
    field: fn(&mut P) -> &mut One<C>,
) -> Result<()> {
    let grouped = load_grouped::<P, C>(parents, relation, eager, conn)?;
    for parent in parents.iter_mut() {
        let item = parent_key(parent, relation)
            .and_then(|k| grouped.get(&k))
            .and_then(|v| v.first().cloned());
        field(parent).set(item);
    }
    Ok(())
}

/// `with_count`: one grouped `COUNT(*)` query per relation.
fn load_counts<M: Model>(
    models: &mut [M],
    relation: &'static RelationMeta,
    conn: &mut Connection,
) -> Result<()> {
    let keys = distinct_keys(models, relation.parent_column());
    let mut counts: KeyMap<u64> = KeyMap::default();
    if !keys.is_empty() {
        let (query, group_column) = counting_query(relation, None)?;
        let chunk = conn.dialect().max_bind_params().saturating_sub(1000).max(1);
        for keys in keys.chunks(chunk) {
            let rows = query
                .clone()
                .where_in(group_column.clone(), keys.to_vec())
                .group_by(vec![group_column.clone()])
                .select(vec![group_column.clone()])
                .select_raw("COUNT(*)", &[])
                .get_on(conn)?;
            for row in rows {
                if let Some(key) = KeyRepr::of(row.value(&0usize)?) {
                    counts.insert(key, row.get::<i64, _>(&1usize)?.max(0) as u64);
                }
            }
        }
    }
    for model in models.iter_mut() {
        let count = parent_key(model, relation)
            .and_then(|k| counts.get(&k).copied())
            .unwrap_or(0);
        if let Some(slot) = model.relation_count(relation.name) {
            *slot = Some(count);
        }
    }
    Ok(())
}

/// The related rows joined as needed, and the column matching the parent's key.
/// `alias` names the related table in the statement (`FROM categories AS alias`), for
/// a subquery whose enclosing query reads the same table.
fn counting_query(
    relation: &'static RelationMeta,
    alias: Option<&str>,
) -> Result<(Query<Record>, Ident)> {
    let related = (relation.related)();
    let (from, reference) = match alias {
        Some(alias) => (Ident::Owned(format!("{} as {alias}", related.table)), alias),
        None => (Ident::Borrowed(related.table), related.table),
    };
    let mut query = Query::<Record>::new(from);
    if let Some(i) = related.deleted_at {
        query = query.where_null(qualify(reference, related.columns[i]));
    }
    Ok(related_rows(query, relation, reference))
}

/// Joins what `relation` needs onto `query` (a query on the related table, which the
/// statement calls `related`: its name or alias) and returns it with the column that
/// holds the parent's key (`posts.user_id`, `role_user.user_id`, `users.country_id`, ...).
fn related_rows<T>(
    query: Query<T>,
    relation: &'static RelationMeta,
    related: &str,
) -> (Query<T>, Ident) {
    let related_meta = (relation.related)();
    match relation.kind {
        RelationKind::HasOne | RelationKind::HasMany => {
            (query, qualify(related, relation.foreign_key))
        }
        RelationKind::BelongsTo => (query, qualify(related, relation.owner_key())),
        RelationKind::BelongsToMany => {
            let pivot = relation.pivot();
            (
                query.join(
                    pivot,
                    qualify(pivot, relation.related_key),
                    "=",
                    qualify(related, related_meta.primary_key),
                ),
                qualify(pivot, relation.foreign_key),
            )
        }
        RelationKind::HasManyThrough | RelationKind::HasOneThrough => {
            let through = relation.through_meta();
            (
                query.join(
                    through.table,
                    qualify(through.table, through.primary_key),
                    "=",
                    qualify(related, relation.related_key),
                ),
                qualify(through.table, relation.foreign_key),
            )
        }
    }
}

// ----- existence ------------------------------------------------------------------------

/// The alias of a related table inside an existence subquery whose enclosing query
/// reads the same table (a self relation: `categories` → `children`), suffixed with the
/// nesting depth.
const SELF_ALIAS: &str = "orm_self_";

/// The subquery of `has`/`where_has` for `path` (`posts` or `posts.comments`), correlated
/// with the enclosing query, which reads `parent`'s table under the name `parent_ref`:
/// `SELECT <select> FROM posts WHERE posts.user_id = users.id ...`. A related table that
/// is the enclosing one (a self relation) is aliased, so that each side of the
/// condition names its own rows: `FROM categories AS orm_self_1 WHERE
/// orm_self_1.parent_id = categories.id`.
fn existence_query(
    parent: &'static ModelMeta,
    parent_ref: &str,
    path: &str,
    select: &'static str,
    constraint: Option<&Constraint>,
    depth: usize,
) -> Result<Query<Record>> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let relation = parent.relation(head)?;
    let related = (relation.related)();
    let alias = (related.table == parent_ref).then(|| format!("{SELF_ALIAS}{depth}"));
    let (query, group_column) = counting_query(relation, alias.as_deref())?;
    let mut query = query.select_raw(select, &[]).where_column(
        group_column,
        "=",
        qualify(parent_ref, relation.parent_column()),
    );
    match rest {
        Some(rest) => {
            let reference = alias.as_deref().unwrap_or(related.table);
            let inner = existence_query(related, reference, rest, "1", constraint, depth + 1)?;
            query = query.where_exists(inner);
        }
        None => {
            if let Some(constraint) = constraint {
                query = constraint(query);
            }
        }
    }
    Ok(query)
}

impl<M: Model> Query<M> {
    /// Eager loads relations after the query (`"posts"`, nested `"posts.comments"`): one
    /// `IN (...)` query per relation and level, whatever the number of rows.
    pub fn with(mut self, relations: &[&str]) -> Self {
        for path in relations {
            self.model.plan.add_path(path, None);
        }
        self.model.after_load = Some(run_plan::<M>);
        self
    }

    /// Eager loads one relation (or nested path) with a constraint on its query:
    /// `with_where("posts", |q| q.where_("published", "=", true))`.
    pub fn with_where(
        mut self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        self.model
            .plan
            .add_path(relation, Some(Arc::new(constraint)));
        self.model.after_load = Some(run_plan::<M>);
        self
    }

    /// Loads the number of related rows of each relation into its container
    /// (`user.posts.count()`), with one grouped query per relation.
    pub fn with_count(mut self, relations: &[&str]) -> Self {
        self.model
            .plan
            .counts
            .extend(relations.iter().map(|r| (*r).to_owned()));
        self.model.after_load = Some(run_plan::<M>);
        self
    }

    /// Only rows with at least one related row (`EXISTS`); nested paths allowed.
    pub fn has(self, relation: &str) -> Self {
        self.exists_where(relation, None, false)
    }

    /// Only rows without related rows (`NOT EXISTS`).
    pub fn doesnt_have(self, relation: &str) -> Self {
        self.exists_where(relation, None, true)
    }

    /// Only rows with related rows matching the constraint.
    pub fn where_has(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.exists_where(relation, Some(&constraint), false)
    }

    /// Only rows without related rows matching the constraint.
    pub fn where_doesnt_have(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.exists_where(relation, Some(&constraint), true)
    }

    /// Only rows whose number of related rows compares with `count`:
    /// `has_count("posts", ">=", 3)`.
    pub fn has_count(
        self,
        relation: &str,
        op: impl crate::query::IntoOperator,
        count: i64,
    ) -> Self {
        let parent = self.table_reference();
        match existence_query(M::meta(), parent, relation, "COUNT(*)", None, 1) {
            Ok(sub) => self.where_sub(sub, op, count),
            Err(e) => self.fail(e.to_string()),
        }
    }

    fn exists_where(self, relation: &str, constraint: Option<&Constraint>, not: bool) -> Self {
        let parent = self.table_reference();
        match existence_query(M::meta(), parent, relation, "1", constraint, 1) {
            Ok(sub) if not => self.where_not_exists(sub),
            Ok(sub) => self.where_exists(sub),
            Err(e) => self.fail(e.to_string()),
        }
    }
}

/// Eager loads `relations` onto models already in memory.
pub(crate) fn load<M: Model>(
    models: &mut [M],
    relations: &[&str],
    conn: &mut Connection,
) -> Result<()> {
    let mut plan = LoadPlan::default();
    for path in relations {
        plan.add_path(path, None);
    }
    if plan.is_empty() {
        return Ok(());
    }
    run_plan(models, &plan, conn)
}
