//! The query builder: one [`Query<T>`] for the untyped `DB::table("users")` (rows are
//! [`Record`]s) and for models (rows decode into `T` through [`FromRow`]).
//!
//! Building only records clauses (plain enums; identifiers are `Cow<'static, str>`, so
//! string literals are never copied). The SQL is rendered once, by the terminal method,
//! through the dialect of the connection it runs on: every value is a bound parameter,
//! every identifier is quoted, and the `*_raw` methods are the only way raw SQL enters.
//! `get` and `first` reuse the text this thread rendered for a query of the same shape
//! (same clauses, other values: `shape.rs`) and only collect the values.
//!
//! A terminal method (`get`, `first`, `count`, `insert`, ...) runs on the query's named
//! connection (`"default"` unless [`Query::use_connection`] says otherwise), which is the
//! connection lent by an enclosing [`crate::Executor::scope`] when there is one, else this
//! thread's transaction or test database, else the pool. The builder knows nothing of
//! models or relations: what model queries carry (the eager-load plan, the relation
//! context, the mass-write hook) is data and function pointers those layers fill in.

mod clause;
mod entry;
mod exec;
mod load_plan;
mod operator;
mod render;
mod shape;
mod wheres;

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

pub use self::clause::Ident;
pub(crate) use self::clause::{clone_list, condition_columns, Clauses, Columns, Parts, SelectItem};
use self::clause::{
    deferred, Compound, Conditions, Deferred, Group, Join, JoinKind, Order, Where, WhereKind,
};
pub use self::exec::{
    Continue, Cursor, CursorPaginator, Paginator, SimplePaginator, CURSOR_PAGE_SIZE,
};
pub(crate) use self::load_plan::AggregateRequest;
pub use self::load_plan::{Aggregate, Constraint, EagerRelation, LoadPlan};
pub use self::operator::{IntoOperator, Operator};
use crate::backend::Connection;
use crate::db::DEFAULT_CONNECTION;
use crate::dialect::{Dialect, LockMode, LockWait, SqlWriter};
use crate::error::{InvalidQueryKind, Result};
use crate::row::Record;
use crate::untimed::timestamps_paused;
use crate::value::{ToValue, Value};

#[cfg(doc)]
use crate::row::FromRow;

/// A query on one table, decoding its rows into `T` (an untyped [`Record`] by default).
///
/// Builder methods take and return the query, so they chain; terminal methods consume it
/// (clone a query to run it twice). An invalid clause (e.g. an unknown operator) is
/// remembered and reported as [`crate::Error::InvalidQuery`] by the terminal method.
///
/// ```
/// use orm_core::{Query, dialect::PostgresDialect};
/// let q = Query::<orm_core::Record>::new("users")
///     .where_("votes", ">", 100)
///     .or_where_group(|q| q.where_eq("name", "Ada").where_null("deleted_at"))
///     .order_by_desc("votes")
///     .limit(10);
/// let (sql, binds) = q.to_sql_for(&PostgresDialect)?;
/// assert_eq!(
///     sql,
///     r#"SELECT * FROM "users" WHERE "votes" > $1 OR ("name" = $2 AND "deleted_at" IS NULL) ORDER BY "votes" DESC LIMIT 10"#
/// );
/// assert_eq!(binds.len(), 2);
/// # Ok::<(), orm_core::Error>(())
/// ```
pub struct Query<T = Record> {
    /// The clauses, shared with the query this one was cloned from (a model's default
    /// query) until the first change copies them: `Model::query()` is a pointer copy,
    /// and an unchanged query is known to be the default one by pointer.
    parts: Clauses,
    connection: Ident,
    key: Ident,
    /// Set by `Model::query()`: what the model layer made once for its queries.
    model_info: Option<&'static ModelInfo>,
    /// Model-query extras: eager loads, the relation context, ...
    pub(crate) model: ModelExtras<T>,
    /// Set by `force_delete`: `delete` removes the rows even on a soft-deleting model.
    hard_delete: bool,
    /// Set by [`Query::on_primary`]: reads skip the connection's read replicas.
    on_primary: bool,
    _row: PhantomData<fn() -> T>,
}

/// What a model's queries know of the model, made once per model by the model layer.
/// (A query is moved by every builder call: one pointer here keeps it small enough to be
/// copied without a call.)
pub(crate) struct ModelInfo {
    /// The model's name, which `first_or_fail` and `sole` report a missing row by.
    pub(crate) name: &'static str,
    /// The model's statement cache, whose rendered SQL `get` reuses while the clauses
    /// still equal the model's default query.
    pub(crate) default_select: &'static dyn DefaultSelect,
    /// `(deleted_at, updated_at)` when `delete` is a soft delete.
    pub(crate) soft_delete: Option<(&'static str, Option<&'static str>)>,
    /// The `updated_at` column mass updates and upserts stamp.
    pub(crate) updated_at: Option<&'static str>,
    /// The `created_at` column upserts fill on the rows they insert.
    pub(crate) created_at: Option<&'static str>,
}

impl std::fmt::Debug for ModelInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelInfo")
            .field("soft_delete", &self.soft_delete)
            .field("updated_at", &self.updated_at)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// A model's cached SQL for its default query (the model layer's `SqlCache` implements
/// it): the builder asks through this hook, so it does not depend on the model layer.
pub(crate) trait DefaultSelect: Sync {
    /// The default query's SQL, when `parts` still equals that query's clauses.
    fn default_select_sql(
        &'static self,
        parts: &Parts,
        dialect: &'static dyn Dialect,
    ) -> Option<&'static str>;
}

/// Loads a plan's relations onto decoded rows.
pub(crate) type AfterLoad<T> = fn(&mut [T], &LoadPlan, &mut Connection) -> Result<()>;

/// What a model query carries besides its clauses.
pub(crate) struct ModelExtras<T> {
    /// The eager loads and counts to run on the decoded rows (boxed: most queries have
    /// none, and every query is moved and dropped).
    pub(crate) eager: Option<Box<EagerLoads<T>>>,
    /// Set on relation queries: the parent and relation, and the lazy-loading guard.
    pub(crate) relation: Option<Arc<RelationLink>>,
    /// Whether mass updates stamp the model's `updated_at` ([`ModelInfo::updated_at`]).
    pub(crate) stamps_updated_at: bool,
    /// Runs a mass update/delete model by model, for models with hooks.
    pub(crate) bulk: Option<BulkWrite<T>>,
}

/// A relation query's link to its parent.
pub(crate) struct RelationLink<C: ?Sized = dyn Any + Send + Sync> {
    /// `(model, relation)` when this is a lazy relation query on an unloaded relation.
    pub(crate) lazy_guard: Option<(&'static str, &'static str)>,
    /// Why `delete` through this relation is refused, when it is (a belongs-to-many
    /// relation's related rows may be other parents' too).
    pub(crate) delete_refused: Option<Arc<str>>,
    /// For `save`/`create`/`attach` through the relation: the relation layer's context,
    /// opaque to the builder.
    pub(crate) context: C,
}

/// A mass write on a model query.
pub(crate) enum BulkOp {
    Update(Vec<(String, Value)>),
    Delete { force: bool },
}

/// Runs a mass write model by model (so hooks run); returns how many models were written.
pub(crate) type BulkWrite<T> = fn(Query<T>, BulkOp, &mut Connection) -> Result<u64>;

/// A model query's eager loads: the plan and the function that runs it.
pub(crate) struct EagerLoads<T> {
    pub(crate) after_load: AfterLoad<T>,
    pub(crate) plan: LoadPlan,
}

impl<T> ModelExtras<T> {
    /// The eager-load plan, created with `after_load` as its runner when there is none.
    pub(crate) fn eager_plan(&mut self, after_load: AfterLoad<T>) -> &mut LoadPlan {
        &mut self
            .eager
            .get_or_insert_with(|| {
                Box::new(EagerLoads {
                    after_load,
                    plan: LoadPlan::default(),
                })
            })
            .plan
    }

    /// [`ModelExtras::eager_plan`], run from now on by `after_load` even when the plan
    /// began with another runner (counts and aggregates need the runner that loads them).
    pub(crate) fn eager_plan_run_by(&mut self, after_load: AfterLoad<T>) -> &mut LoadPlan {
        let eager = self.eager.get_or_insert_with(|| {
            Box::new(EagerLoads {
                after_load,
                plan: LoadPlan::default(),
            })
        });
        eager.after_load = after_load;
        &mut eager.plan
    }
}

impl<T> Default for ModelExtras<T> {
    fn default() -> Self {
        ModelExtras {
            eager: None,
            relation: None,
            stamps_updated_at: false,
            bulk: None,
        }
    }
}

impl<T> Clone for ModelExtras<T> {
    fn clone(&self) -> Self {
        ModelExtras {
            eager: self.eager.as_ref().map(|eager| {
                Box::new(EagerLoads {
                    after_load: eager.after_load,
                    plan: eager.plan.clone(),
                })
            }),
            relation: self.relation.clone(),
            stamps_updated_at: self.stamps_updated_at,
            bulk: self.bulk,
        }
    }
}

impl<T> Clone for Query<T> {
    fn clone(&self) -> Self {
        Query {
            parts: self.parts.clone(),
            connection: self.connection.clone(),
            key: self.key.clone(),
            model_info: self.model_info,
            model: self.model.clone(),
            hard_delete: self.hard_delete,
            on_primary: self.on_primary,
            _row: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Query<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Query")
            .field("connection", &self.connection)
            .field("key", &self.key)
            .field("parts", &self.parts)
            .finish()
    }
}

/// Converts the bindings of a raw method (`&[&1, &"x"]`, as [`crate::DB::select`] takes).
/// A value that cannot be encoded (a `Json<T>` whose `Serialize` fails) fails the
/// query: it reports the error when run.
fn bindings(parts: &mut clause::Parts, values: &[&dyn ToValue]) -> Vec<Value> {
    values
        .iter()
        .map(|v| {
            v.try_to_value().unwrap_or_else(|e| {
                parts.fail((InvalidQueryKind::Argument, e.to_string()));
                Value::Null
            })
        })
        .collect()
}

/// Column lists accepted by [`Query::select`], [`Query::group_by`], ...: `"id"`,
/// `&["id", "name"]`, `vec![String]`.
pub trait IntoColumns {
    /// Appends the columns to `out`.
    fn push_columns(self, out: &mut Vec<Ident>);

    /// The names, when they are a list of `&'static str` (`&["id", "name"]`): selected
    /// straight from it, with no list in between.
    #[doc(hidden)]
    fn static_names(&self) -> Option<&[&'static str]> {
        None
    }
}

impl IntoColumns for &'static str {
    fn push_columns(self, out: &mut Vec<Ident>) {
        out.push(Ident::Borrowed(self));
    }
}
impl IntoColumns for String {
    fn push_columns(self, out: &mut Vec<Ident>) {
        out.push(Ident::Owned(self));
    }
}
impl IntoColumns for &[&'static str] {
    fn push_columns(self, out: &mut Vec<Ident>) {
        out.extend(self.iter().map(|c| Ident::Borrowed(*c)));
    }
    fn static_names(&self) -> Option<&[&'static str]> {
        Some(self)
    }
}
impl<const N: usize> IntoColumns for &[&'static str; N] {
    fn push_columns(self, out: &mut Vec<Ident>) {
        out.extend(self.iter().map(|c| Ident::Borrowed(*c)));
    }
    fn static_names(&self) -> Option<&[&'static str]> {
        Some(*self)
    }
}
impl IntoColumns for Vec<String> {
    fn push_columns(self, out: &mut Vec<Ident>) {
        out.extend(self.into_iter().map(Ident::Owned));
    }
}
impl IntoColumns for Vec<Ident> {
    fn push_columns(self, out: &mut Vec<Ident>) {
        out.extend(self);
    }
}
impl IntoColumns for Vec<&'static str> {
    fn push_columns(self, out: &mut Vec<Ident>) {
        out.extend(self.into_iter().map(Ident::Borrowed));
    }
}

impl<T> Query<T> {
    /// A query on `table` (`"users"`, `"users as u"`, `"schema.table"`) on the default
    /// connection.
    pub fn new(table: impl Into<Ident>) -> Self {
        Query {
            parts: Clauses::new(Parts::new(table.into())),
            connection: Ident::Borrowed(DEFAULT_CONNECTION),
            key: Ident::Borrowed("id"),
            model_info: None,
            model: ModelExtras::default(),
            hard_delete: false,
            on_primary: false,
            _row: PhantomData,
        }
    }

    /// Same as [`Query::new`]: `Query::<User>::table("users")`.
    pub fn table(table: impl Into<Ident>) -> Self {
        Query::new(table)
    }

    /// Runs the query on the named connection (see [`crate::DB::connection`]).
    pub fn use_connection(mut self, name: impl Into<Ident>) -> Self {
        self.connection = name.into();
        self
    }

    /// Reads this query's rows from the connection's primary even when it has read
    /// replicas (for a read that must see the latest commit). Locking reads
    /// ([`Query::lock_for_update`], [`Query::shared_lock`]) always do.
    pub fn on_primary(mut self) -> Self {
        self.on_primary = true;
        self
    }

    /// The name of the connection the plain terminal methods run on.
    pub fn connection_name(&self) -> &str {
        &self.connection
    }

    /// The table as given (possibly with an alias).
    pub fn table_name(&self) -> &str {
        &self.parts.table
    }

    /// The name the statement calls the table by: its alias when it has one.
    pub(crate) fn table_reference(&self) -> &str {
        render::table_reference(&self.parts.table)
    }

    /// Sets the primary key column used by [`Query::find`], [`Query::chunk`],
    /// [`Query::cursor`], [`Query::insert_get_id`] and by an update or delete with joins,
    /// an order or a limit, which names its rows by key (default `id`).
    pub fn primary_key(mut self, key: impl Into<Ident>) -> Self {
        self.key = key.into();
        self
    }

    /// The primary key column.
    pub fn key_name(&self) -> &str {
        &self.key
    }

    /// Turns this query into one that decodes rows as `U` (same clauses).
    pub fn into_rows<U>(self) -> Query<U> {
        Query {
            parts: self.parts,
            connection: self.connection,
            key: self.key,
            model_info: self.model_info,
            model: ModelExtras::default(),
            hard_delete: self.hard_delete,
            on_primary: self.on_primary,
            _row: PhantomData,
        }
    }

    fn fresh(&self) -> Self {
        Query {
            parts: Clauses::new(Parts::new(self.parts.table.clone())),
            connection: self.connection.clone(),
            key: self.key.clone(),
            model_info: None,
            model: ModelExtras::default(),
            hard_delete: false,
            on_primary: false,
            _row: PhantomData,
        }
    }

    /// Makes this a query of the model `info` describes: its default `SELECT` reused,
    /// `delete` a soft delete when the model has one.
    pub(crate) fn model_info(mut self, info: &'static ModelInfo) -> Self {
        self.model_info = Some(info);
        self
    }

    /// `(deleted_at, updated_at)` when `delete` is a soft delete.
    pub(crate) fn soft_delete(&self) -> Option<(&'static str, Option<&'static str>)> {
        match self.model_info {
            Some(info) if !self.hard_delete => info.soft_delete,
            _ => None,
        }
    }

    /// The `updated_at` column a mass update stamps.
    pub(crate) fn stamped_updated_at(&self) -> Option<&'static str> {
        match self.model_info {
            Some(info) if self.model.stamps_updated_at && !timestamps_paused(info.name) => {
                info.updated_at
            }
            _ => None,
        }
    }

    /// The `created_at` and `updated_at` columns an upsert fills on the rows it inserts
    /// (on the same model queries whose updates stamp `updated_at`).
    pub(crate) fn stamped_timestamps(&self) -> [Option<&'static str>; 2] {
        match self.model_info {
            Some(info) if self.model.stamps_updated_at && !timestamps_paused(info.name) => {
                [info.created_at, info.updated_at]
            }
            _ => [None, None],
        }
    }

    /// The model's cached default `SELECT`, when this is a model query.
    pub(crate) fn default_select(&self) -> Option<&'static dyn DefaultSelect> {
        self.model_info.map(|info| info.default_select)
    }

    /// Makes the query fail with [`crate::Error::InvalidQuery`] when it runs.
    pub(crate) fn fail(mut self, kind: InvalidQueryKind, message: impl Into<String>) -> Self {
        self.parts_mut().fail((kind, message.into()));
        self
    }

    /// The clauses.
    pub(crate) fn parts(&self) -> &Parts {
        &self.parts
    }

    /// The clauses, to change: copied first when another query shares them.
    #[inline]
    pub(crate) fn parts_mut(&mut self) -> &mut Parts {
        self.parts.make_mut()
    }

    /// The clauses, owned (copied only when another query still shares them).
    pub(crate) fn into_parts(self) -> Parts {
        self.parts.into_parts()
    }

    /// Makes `delete` a real `DELETE` again.
    pub(crate) fn hard_delete(mut self) -> Self {
        self.hard_delete = true;
        self
    }

    // ----- default scopes -------------------------------------------------------------

    /// Adds a named scope: conditions (built by `f` on a fresh query) that are ANDed with
    /// everything else, the query's own `OR`s included. A model adds its default scopes
    /// this way (e.g. soft deletes: `scope("soft_deletes", |q| q.where_null("deleted_at"))`);
    /// a scope of the same name is replaced.
    pub fn scope(mut self, name: impl Into<Ident>, f: impl FnOnce(Self) -> Self) -> Self {
        let inner = f(self.fresh()).into_parts();
        set_scope(&mut self.parts, name.into(), inner);
        self
    }

    /// Removes the named scope (no-op when absent).
    pub fn without_scope(mut self, name: &str) -> Self {
        remove_scopes(&mut self.parts, Some(name));
        self
    }

    /// Removes every scope.
    pub fn without_scopes(mut self) -> Self {
        remove_scopes(&mut self.parts, None);
        self
    }

    /// Removes every scope but those named (Eloquent's `withoutGlobalScopesExcept`):
    /// `Post::query().without_scopes_except(&[SOFT_DELETES])`.
    pub fn without_scopes_except(mut self, names: &[&str]) -> Self {
        let parts = self.parts.make_mut();
        parts
            .scopes
            .retain(|(n, _)| n == RELATION_SCOPE || names.iter().any(|name| n == name));
        self
    }

    /// Points the `IS [NOT] NULL` conditions on `table.column` (its wheres and scopes')
    /// at `alias.column` instead: the soft-delete column of a related table that an
    /// existence subquery aliases, which `only_trashed()`/`without_trashed()` in a
    /// relation's constraint named by its table.
    pub(crate) fn requalify_null_checks(&mut self, table: &str, column: &str, alias: &str) {
        let qualified = format!("{table}.{column}");
        let names = |conditions: &Conditions| {
            conditions.iter().any(
                |c| matches!(&c.kind, WhereKind::Null { column, .. } if **column == *qualified),
            )
        };
        let present = names(&self.parts.wheres) || self.parts.scopes.iter().any(|(_, c)| names(c));
        if !present {
            return;
        }
        let parts = self.parts_mut();
        let lists =
            std::iter::once(&mut parts.wheres).chain(parts.scopes.iter_mut().map(|(_, c)| c));
        for conditions in lists {
            for condition in conditions.iter_mut() {
                if let WhereKind::Null { column: named, .. } = &mut condition.kind {
                    if **named == *qualified {
                        *named = Ident::Owned(format!("{alias}.{column}"));
                    }
                }
            }
        }
    }

    /// Whether the named scope is applied.
    pub fn has_scope(&self, name: &str) -> bool {
        self.parts.scopes.iter().any(|(n, _)| n == name)
    }

    /// Turns the conditions so far into the scope [`RELATION_SCOPE`], which
    /// `without_scope(s)` keeps: a relation query's own conditions (its parent's key, a
    /// morph type, a declared constraint), so that conditions added after them, `OR`s
    /// included, can only narrow the parent's rows.
    pub(crate) fn seal_relation_conditions(mut self) -> Self {
        seal_conditions(&mut self.parts);
        self
    }

    // ----- select ---------------------------------------------------------------------

    /// The columns to select (replacing earlier ones): `select(&["id", "users.name as n"])`.
    /// `*` and `table.*` are kept; every other part is quoted.
    pub fn select(mut self, columns: impl IntoColumns) -> Self {
        self.parts_mut().columns.clear();
        self.add_select(columns)
    }

    /// Selects a list shared with other queries (a model's columns): cloning this query
    /// does not copy it.
    pub(crate) fn shared_select(mut self, items: &'static [SelectItem]) -> Self {
        self.parts_mut().columns = Columns::shared(items);
        self
    }

    /// Adds columns to the selection.
    pub fn add_select(mut self, columns: impl IntoColumns) -> Self {
        if let Some(names) = columns.static_names() {
            self.parts_mut().columns.extend_names(names);
            return self;
        }
        let mut list = Vec::new();
        columns.push_columns(&mut list);
        self.parts_mut()
            .columns
            .extend(list.into_iter().map(SelectItem::Column));
        self
    }

    /// Adds a raw expression to the selection: `select_raw("COUNT(*) AS n", &[])`. On a
    /// model's query that selects the model's own columns, it replaces them (Eloquent's
    /// `selectRaw`), so `Post::query().select_raw("COUNT(*)", &[])` is a scalar query
    /// (for `value`, or a subquery); write `select(&["posts.*"])` first to keep them.
    pub fn select_raw(mut self, sql: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Self {
        let bindings = self::bindings(self.parts_mut(), bindings);
        let columns = &mut self.parts_mut().columns;
        if !columns.chosen() {
            columns.clear();
        }
        columns.push(SelectItem::Raw(sql.into(), bindings));
        self
    }

    /// Adds a subquery's single value to the selection under `alias` (Orator's
    /// `select_sub`, Laravel's `addSelect(['alias' => $query])`):
    /// `select_sub(DB::table("posts").select_raw("COUNT(*)", &[]).where_column("posts.user_id", "=", "users.id"), "posts_count")`.
    /// The subquery may name the enclosing query's tables (a correlated subquery).
    pub fn select_sub<U>(mut self, query: Query<U>, alias: impl Into<Ident>) -> Self {
        let sub = Box::new(query.into_parts());
        self.parts_mut()
            .columns
            .push(SelectItem::Sub(sub, alias.into()));
        self
    }

    /// Adds `function(column) AS aggregate` to the selected items (a float for `Sum` and
    /// `Avg`, as [`Query::sum`] reads them).
    pub(crate) fn select_aggregate(mut self, function: Aggregate, column: Ident) -> Self {
        self.parts_mut().columns.push(SelectItem::Aggregate {
            function: function.function(),
            column: Some(column),
            float: function.is_float(),
        });
        self
    }

    /// Selects `function(column)` alone, in place of what the query selected.
    pub(crate) fn select_only_aggregate(mut self, function: Aggregate, column: Ident) -> Self {
        self.parts_mut().columns.clear();
        self.select_aggregate(function, column)
    }

    /// `SELECT DISTINCT`.
    pub fn distinct(mut self) -> Self {
        self.parts_mut().distinct = true;
        self
    }

    // ----- joins ----------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn join_kind(
        mut self,
        kind: JoinKind,
        table: Ident,
        sub: Option<Box<Parts>>,
        first: Ident,
        op: impl IntoOperator,
        second: Ident,
    ) -> Self {
        let Some(op) = self.operator(op) else {
            return self;
        };
        self.parts_mut().joins.push(Join {
            kind,
            table,
            sub,
            conditions: smallvec::smallvec![Where {
                or: false,
                kind: WhereKind::Column { first, op, second },
            }],
        });
        self
    }

    fn join_closure(
        mut self,
        kind: JoinKind,
        table: Ident,
        f: impl FnOnce(JoinClause) -> JoinClause,
    ) -> Self {
        let clause = f(JoinClause {
            conditions: Conditions::new(),
            error: None,
        });
        if let Some(message) = clause.error {
            self.parts_mut().fail(message);
        }
        self.parts_mut().joins.push(Join {
            kind,
            table,
            sub: None,
            conditions: clause.conditions,
        });
        self
    }

    /// `INNER JOIN table ON first op second`.
    pub fn join(
        self,
        table: impl Into<Ident>,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.join_kind(
            JoinKind::Inner,
            table.into(),
            None,
            first.into(),
            op,
            second.into(),
        )
    }

    /// `LEFT JOIN table ON first op second`.
    pub fn left_join(
        self,
        table: impl Into<Ident>,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.join_kind(
            JoinKind::Left,
            table.into(),
            None,
            first.into(),
            op,
            second.into(),
        )
    }

    /// `RIGHT JOIN table ON first op second`.
    pub fn right_join(
        self,
        table: impl Into<Ident>,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.join_kind(
            JoinKind::Right,
            table.into(),
            None,
            first.into(),
            op,
            second.into(),
        )
    }

    /// `FULL OUTER JOIN table ON first op second`: every row of both tables, matched
    /// where the condition holds and with NULLs for the other side where it does not
    /// (SQLite, PostgreSQL; MySQL has none: [`crate::Error::InvalidQuery`], kind `Unsupported`).
    pub fn full_join(
        self,
        table: impl Into<Ident>,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.join_kind(
            JoinKind::Full,
            table.into(),
            None,
            first.into(),
            op,
            second.into(),
        )
    }

    fn join_sub_kind<U>(
        self,
        kind: JoinKind,
        query: Query<U>,
        alias: Ident,
        first: Ident,
        op: impl IntoOperator,
        second: Ident,
    ) -> Self {
        let sub = Some(Box::new(query.into_parts()));
        self.join_kind(kind, alias, sub, first, op, second)
    }

    /// `INNER JOIN (subquery) AS alias ON first op second` (Laravel's `joinSub`):
    /// `join_sub(DB::table("posts").select(&["user_id"]).select_raw("MAX(created_at) AS last", &[]).group_by("user_id"), "latest", "latest.user_id", "=", "users.id")`.
    pub fn join_sub<U>(
        self,
        query: Query<U>,
        alias: impl Into<Ident>,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.join_sub_kind(
            JoinKind::Inner,
            query,
            alias.into(),
            first.into(),
            op,
            second.into(),
        )
    }

    /// `LEFT JOIN (subquery) AS alias ON first op second` (see [`Query::join_sub`]).
    pub fn left_join_sub<U>(
        self,
        query: Query<U>,
        alias: impl Into<Ident>,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.join_sub_kind(
            JoinKind::Left,
            query,
            alias.into(),
            first.into(),
            op,
            second.into(),
        )
    }

    /// `RIGHT JOIN (subquery) AS alias ON first op second` (see [`Query::join_sub`]).
    pub fn right_join_sub<U>(
        self,
        query: Query<U>,
        alias: impl Into<Ident>,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        self.join_sub_kind(
            JoinKind::Right,
            query,
            alias.into(),
            first.into(),
            op,
            second.into(),
        )
    }

    /// Names a query for this one to read as a table: a common table expression, `WITH
    /// name AS (query) SELECT ..` (`staudenmeir/laravel-cte`'s `withExpression`, SQL's
    /// `WITH`). Read it with `DB::table(name)`, a join or a subquery naming it; each
    /// call adds one, in order, and a later one may read an earlier.
    /// `DB::table("big_spenders").with_expression("big_spenders", DB::table("orders").select(&["user_id"]).group_by("user_id").having_raw("SUM(total) > ?", &[&1000]))`.
    /// Needs MySQL 8 or MariaDB 10.2.
    pub fn with_expression<U>(self, name: impl Into<Ident>, query: Query<U>) -> Self {
        self.push_cte(name.into(), query, false)
    }

    /// [`Query::with_expression`] whose query may read itself (`WITH RECURSIVE`): a
    /// first query `union_all` one reading `name`, repeated until it adds no row (a tree's
    /// descendants, a series of numbers). The union's columns are the first query's.
    pub fn with_recursive_expression<U>(self, name: impl Into<Ident>, query: Query<U>) -> Self {
        self.push_cte(name.into(), query, true)
    }

    fn push_cte<U>(mut self, name: Ident, query: Query<U>, recursive: bool) -> Self {
        let query = query.into_parts();
        self.parts_mut().ctes.push(clause::Cte {
            name,
            query,
            recursive,
        });
        self
    }

    /// Reads the rows of a subquery instead of the table (Laravel's `fromSub`):
    /// `FROM (SELECT ...) AS alias`; the query's columns and conditions name `alias`.
    /// `DB::table("x").from_sub(DB::table("orders").select(&["user_id"]).select_raw("SUM(total) AS spent", &[]).group_by("user_id"), "totals").where_("spent", ">", 100)`.
    /// Updates and deletes through such a query are refused.
    pub fn from_sub<U>(mut self, query: Query<U>, alias: impl Into<Ident>) -> Self {
        let sub = Box::new(query.into_parts());
        let parts = self.parts_mut();
        parts.table = alias.into();
        parts.from_sub = Some(sub);
        self
    }

    /// `CROSS JOIN table`.
    pub fn cross_join(mut self, table: impl Into<Ident>) -> Self {
        self.parts_mut().joins.push(Join {
            kind: JoinKind::Cross,
            table: table.into(),
            sub: None,
            conditions: Conditions::new(),
        });
        self
    }

    /// `INNER JOIN table ON column op value`, the value bound (Orator's `join_where`):
    /// `join_where("contacts", "contacts.kind", "=", "email")`.
    pub fn join_where(
        self,
        table: impl Into<Ident>,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.join_with(table, |j| j.where_(column, op, value))
    }

    /// `LEFT JOIN table ON column op value` (see [`Query::join_where`]).
    pub fn left_join_where(
        self,
        table: impl Into<Ident>,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.left_join_with(table, |j| j.where_(column, op, value))
    }

    /// `RIGHT JOIN table ON column op value` (see [`Query::join_where`]).
    pub fn right_join_where(
        self,
        table: impl Into<Ident>,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.right_join_with(table, |j| j.where_(column, op, value))
    }

    /// `INNER JOIN table ON ...` with the conditions built by `f`:
    /// `join_with("posts", |j| j.on("users.id", "=", "posts.user_id").where_("posts.published", "=", true))`.
    pub fn join_with(
        self,
        table: impl Into<Ident>,
        f: impl FnOnce(JoinClause) -> JoinClause,
    ) -> Self {
        self.join_closure(JoinKind::Inner, table.into(), f)
    }

    /// `LEFT JOIN table ON ...` with the conditions built by `f`.
    pub fn left_join_with(
        self,
        table: impl Into<Ident>,
        f: impl FnOnce(JoinClause) -> JoinClause,
    ) -> Self {
        self.join_closure(JoinKind::Left, table.into(), f)
    }

    /// `RIGHT JOIN table ON ...` with the conditions built by `f`.
    pub fn right_join_with(
        self,
        table: impl Into<Ident>,
        f: impl FnOnce(JoinClause) -> JoinClause,
    ) -> Self {
        self.join_closure(JoinKind::Right, table.into(), f)
    }

    /// `FULL OUTER JOIN table ON ...` with the conditions built by `f` (see
    /// [`Query::full_join`]).
    pub fn full_join_with(
        self,
        table: impl Into<Ident>,
        f: impl FnOnce(JoinClause) -> JoinClause,
    ) -> Self {
        self.join_closure(JoinKind::Full, table.into(), f)
    }

    // ----- grouping, ordering, paging ---------------------------------------------------

    /// `GROUP BY columns`.
    pub fn group_by(mut self, columns: impl IntoColumns) -> Self {
        let mut names = Vec::new();
        columns.push_columns(&mut names);
        let groups = &mut self.parts_mut().groups;
        groups.extend(names.into_iter().map(Group::Column));
        self
    }

    /// Adds a raw SQL expression to the `GROUP BY`, with bound values (Laravel's
    /// `groupByRaw`): `group_by_raw("strftime('%Y', created_at)", &[])`.
    pub fn group_by_raw(mut self, sql: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Self {
        let bindings = self::bindings(self.parts_mut(), bindings);
        self.parts_mut()
            .groups
            .push(Group::Raw(sql.into(), bindings));
        self
    }

    /// `ORDER BY column ASC`.
    ///
    /// After `with_count("posts")`, `posts_count` orders by each row's count of posts
    /// (a `COUNT(*)` subquery), as in Eloquent, unless the model has such a column; so
    /// does an aggregate's name after `with_sum("posts", "votes")` and its siblings
    /// (`posts_sum_votes`, `posts_max_votes`, ...).
    pub fn order_by(mut self, column: impl Into<Ident>) -> Self {
        self.push_order(column.into(), false);
        self
    }

    /// `ORDER BY column DESC` (a `with_count` alias as in [`Query::order_by`]).
    pub fn order_by_desc(mut self, column: impl Into<Ident>) -> Self {
        self.push_order(column.into(), true);
        self
    }

    /// Makes `alias` order by `count` (a `with_count` subquery): the orders already
    /// given and the ones to come. Needs the eager plan `with_count` created.
    pub(crate) fn order_alias_by(&mut self, alias: String, count: Parts) {
        for order in &mut self.parts_mut().orders {
            let (column, desc, nulls) = match order {
                Order::Column(column, desc) => (column, *desc, None),
                Order::Nulls(column, desc, first) => (column, *desc, Some(*first)),
                _ => continue,
            };
            if **column == *alias {
                *order = Order::Sub(Box::new(count.clone()), desc, nulls);
            }
        }
        if let Some(eager) = self.model.eager.as_mut() {
            eager.plan.count_orders.push((alias, count));
        }
    }

    fn push_order(&mut self, column: Ident, desc: bool) {
        let counted = self.model.eager.as_ref().and_then(|eager| {
            eager
                .plan
                .count_order(&column)
                .map(|sub| Order::Sub(Box::new(sub.clone()), desc, None))
        });
        let order = counted.unwrap_or(Order::Column(column, desc));
        self.orders_to_extend().push(order);
    }

    /// The order list a new order joins: emptied first when its orders were given
    /// before `union()` (an order given after it orders the whole union instead, as the
    /// first part's own order would be ignored in Laravel's and Sequel's unions).
    fn orders_to_extend(&mut self) -> &mut Vec<Order> {
        let parts = self.parts_mut();
        if parts.orders_before_union {
            parts.orders_before_union = false;
            parts.orders.clear();
        }
        &mut parts.orders
    }

    /// Puts the NULLs of the last [`Query::order_by`]/[`Query::order_by_desc`] column
    /// before its other values, on every database: `NULLS FIRST` on PostgreSQL and
    /// SQLite, `column IS NULL DESC, column` on MySQL (which has no such clause).
    /// Without it each database keeps its own default: NULLs are the smallest value on
    /// SQLite and MySQL, the largest on PostgreSQL. After a `with_count` or `with_sum`
    /// (and siblings) name it places the NULLs of that aggregate (a parent without
    /// related rows has NULL there, but for a count). After anything else but a column
    /// order the query fails with [`crate::Error::InvalidQuery`].
    ///
    /// `Task::query().order_by_desc("due_at").nulls_last()`
    pub fn nulls_first(self) -> Self {
        self.place_nulls(true)
    }

    /// Puts the NULLs of the last column order after its other values, on every database
    /// (see [`Query::nulls_first`]).
    pub fn nulls_last(self) -> Self {
        self.place_nulls(false)
    }

    fn place_nulls(mut self, first: bool) -> Self {
        if let Some(last) = self.parts_mut().orders.last_mut() {
            if let Order::Column(column, desc) | Order::Nulls(column, desc, _) = last {
                *last = Order::Nulls(column.clone(), *desc, first);
                return self;
            }
            if let Order::Sub(_, _, nulls) = last {
                *nulls = Some(first);
                return self;
            }
        }
        self.fail(
            InvalidQueryKind::Clauses,
            format!(
                "{}() places the NULLs of the column ordered last: call it after order_by or order_by_desc",
                if first { "nulls_first" } else { "nulls_last" }
            ),
        )
    }

    /// Raw `ORDER BY` term: `order_by_raw("votes * ? DESC", &[&2])`.
    pub fn order_by_raw(mut self, sql: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Self {
        let bindings = self::bindings(self.parts_mut(), bindings);
        self.orders_to_extend()
            .push(Order::Raw(sql.into(), bindings));
        self
    }

    /// Newest first: `ORDER BY created_at DESC` (the model's `created_at` column, when
    /// it names another).
    pub fn latest(self) -> Self {
        let column = self.created_at_column();
        self.order_by_desc(column)
    }

    /// The column `latest`/`oldest` order by: the model's `created_at`, else `created_at`;
    /// named with the query's table where a join could make it ambiguous (a model's
    /// query, which may be joined later, or a query joined already), unless the order
    /// is a union's, which names result columns.
    fn created_at_column(&self) -> Ident {
        let column = self
            .model_info
            .and_then(|info| info.created_at)
            .unwrap_or("created_at");
        let joined = self.model_info.is_some() || !self.parts.joins.is_empty();
        if !joined || !self.parts.unions.is_empty() || self.parts.from_sub.is_some() {
            return Ident::Borrowed(column);
        }
        Ident::Owned(format!("{}.{column}", self.table_reference()))
    }

    /// `ORDER BY column DESC`.
    pub fn latest_by(self, column: impl Into<Ident>) -> Self {
        self.order_by_desc(column)
    }

    /// Oldest first: `ORDER BY created_at ASC` (the model's `created_at` column, when it
    /// names another).
    pub fn oldest(self) -> Self {
        let column = self.created_at_column();
        self.order_by(column)
    }

    /// `ORDER BY column ASC`.
    pub fn oldest_by(self, column: impl Into<Ident>) -> Self {
        self.order_by(column)
    }

    /// Random order (the dialect's random function).
    pub fn in_random_order(mut self) -> Self {
        self.orders_to_extend().push(Order::Random);
        self
    }

    /// Removes every `ORDER BY` term.
    pub fn reorder(mut self) -> Self {
        self.parts_mut().orders.clear();
        self
    }

    /// `LIMIT n`.
    pub fn limit(mut self, n: u64) -> Self {
        self.parts_mut().limit = Some(n);
        self
    }

    /// Whether the query has a `LIMIT` or an `OFFSET`.
    pub(crate) fn is_limited(&self) -> bool {
        self.parts.limit.is_some() || self.parts.offset.is_some()
    }

    /// This query's limit and offset applied per value of `group` rather than to the
    /// whole result (an eager load's limit per parent, as Laravel's): `SELECT * FROM
    /// (SELECT .., ROW_NUMBER() OVER (PARTITION BY group ORDER BY ..) AS orm_row ..)
    /// WHERE orm_row > offset AND orm_row <= offset + limit`, one statement for every
    /// group. The rows come ordered by that number, each group's in the query's order,
    /// with the number as an extra last column. Only for a query that
    /// [`numbers_per_group`](Query::numbers_per_group).
    pub(crate) fn limited_per_group(mut self, group: Ident) -> Query<T> {
        let parts = self.parts_mut();
        let offset = parts.offset.take().unwrap_or(0);
        let limit = parts.limit.take();
        let orders = std::mem::take(&mut parts.orders);
        if parts.columns.is_empty() {
            parts.columns.push(SelectItem::Column(Ident::Borrowed("*")));
        }
        parts.columns.push(SelectItem::RowNumber {
            partition: group,
            orders,
        });
        let row = render::ROW_NUMBER_COLUMN;
        let number = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut outer = Query::<T>::new("orm_limited")
            .use_connection(self.connection.clone())
            .from_sub(self, "orm_limited")
            .where_(row, ">", number(offset));
        if let Some(limit) = limit {
            outer = outer.where_(row, "<=", number(offset.saturating_add(limit)));
        }
        outer.order_by(row)
    }

    /// Whether a window can number this query's rows as it returns them (see
    /// [`Query::limited_per_group`]): not when distinct, grouped or a union.
    pub(crate) fn numbers_per_group(&self) -> bool {
        !self.parts.distinct && self.parts.groups.is_empty() && self.parts.unions.is_empty()
    }

    /// Whether the query has an `ORDER BY`.
    pub(crate) fn is_ordered(&self) -> bool {
        !self.parts.orders.is_empty()
    }

    /// Same as [`Query::limit`].
    pub fn take(self, n: u64) -> Self {
        self.limit(n)
    }

    /// `OFFSET n`.
    pub fn offset(mut self, n: u64) -> Self {
        self.parts_mut().offset = Some(n);
        self
    }

    /// Same as [`Query::offset`].
    pub fn skip(self, n: u64) -> Self {
        self.offset(n)
    }

    /// Page `page` (1-based; 0 counts as 1) of `per_page` rows.
    pub fn for_page(self, page: u64, per_page: u64) -> Self {
        let offset = page.saturating_sub(1).saturating_mul(per_page);
        self.offset(offset).limit(per_page)
    }

    /// The `per_page` rows after `last_id` in `column`'s order (Eloquent's
    /// `forPageAfterId`): `WHERE column > last_id ORDER BY column LIMIT per_page`, for
    /// paging through a table by key without `OFFSET`. An order the query already had on
    /// `column` is replaced; `Value::Null` as `last_id` starts at the first row.
    pub fn for_page_after_id(
        self,
        per_page: u64,
        last_id: impl Into<Value>,
        column: impl Into<Ident>,
    ) -> Self {
        self.page_by_id(per_page, last_id.into(), column.into(), false)
    }

    /// The `per_page` rows before `last_id`, `column` descending (Eloquent's
    /// `forPageBeforeId`); see [`Query::for_page_after_id`].
    pub fn for_page_before_id(
        self,
        per_page: u64,
        last_id: impl Into<Value>,
        column: impl Into<Ident>,
    ) -> Self {
        self.page_by_id(per_page, last_id.into(), column.into(), true)
    }

    fn page_by_id(mut self, per_page: u64, last_id: Value, column: Ident, before: bool) -> Self {
        self.parts_mut().orders.retain(
            |order| !matches!(order, Order::Column(c, _) | Order::Nulls(c, ..) if *c == column),
        );
        let query = if last_id.is_null() {
            self.where_not_null(column.clone())
        } else {
            self.where_(column.clone(), if before { "<" } else { ">" }, last_id)
        };
        let query = if before {
            query.order_by_desc(column)
        } else {
            query.order_by(column)
        };
        query.limit(per_page)
    }

    /// `UNION` with another query (duplicates removed). Order and limit the outer query;
    /// a unioned query with its own order or limit, or with compound parts of its own
    /// (`a.except(b.union(c))`), is read from a derived table, so they apply to it
    /// alone; one with a lock is an error.
    pub fn union<U>(self, other: Query<U>) -> Self {
        self.compound(other, Compound::Union)
    }

    /// `UNION ALL` with another query.
    pub fn union_all<U>(self, other: Query<U>) -> Self {
        self.compound(other, Compound::UnionAll)
    }

    /// `INTERSECT` with another query: the distinct rows both return. As with
    /// [`Query::union`], order and limit the outer query. Combinations apply in the
    /// order written; an `intersect` after a `union` or `except` is
    /// [`crate::Error::InvalidQuery`], since the databases disagree on which comes first
    /// there (read the union from a derived table with `from_sub` instead). Needs
    /// MariaDB 10.3 or MySQL 8.0.31.
    pub fn intersect<U>(self, other: Query<U>) -> Self {
        self.compound(other, Compound::Intersect)
    }

    /// `EXCEPT` another query: the distinct rows this query returns and `other` does
    /// not (see [`Query::intersect`]).
    pub fn except<U>(self, other: Query<U>) -> Self {
        self.compound(other, Compound::Except)
    }

    /// Adds `other` as a part of a compound query. A limit this query has already applies
    /// to the whole result; with a part that has a limit of its own, the two limits
    /// read as the parts' own (Laravel's `(... limit 2) union (... limit 2)`), and the
    /// query is refused rather than answered with the first limit over the whole.
    fn compound<U>(mut self, other: Query<U>, kind: Compound) -> Self {
        let other = other.into_parts();
        let limited = |p: &Parts| p.limit.is_some() || p.offset.is_some();
        if limited(&self.parts) && limited(&other) {
            return self.fail(
                InvalidQueryKind::Clauses,
                "both this query and the one combined with it have a limit: a limit set \
                 before union() applies to the whole result, so limit each part by \
                 reading it from a derived table (from_sub), or set the limit after \
                 union()",
            );
        }
        let parts = self.parts_mut();
        if parts.unions.is_empty() && !parts.orders.is_empty() {
            parts.orders_before_union = true;
        }
        parts.unions.push((other, kind));
        self
    }

    /// Locks the selected rows for update (`FOR UPDATE` on PostgreSQL; SQLite has no
    /// row locks and locks the database on the first write instead). Past a `LEFT
    /// JOIN`, PostgreSQL locks the rows of the query's own table (`FOR UPDATE OF
    /// "users"`): it cannot lock the nullable side of an outer join.
    pub fn lock_for_update(self) -> Self {
        self.locking(LockMode::Update, None)
    }

    /// The rows a write reads before writing them one by one (a mass update or delete of
    /// a model with hooks, `destroy`), locked for update until its transaction ends:
    /// a concurrent write of the same rows waits, then reads them as they are, so two
    /// writers never both claim one row and a row deleted meanwhile is not counted
    /// (PostgreSQL and MySQL check the conditions again after the wait). Not where the
    /// databases refuse a lock (grouped, distinct, union or joined rows).
    pub(crate) fn locked_for_write(self) -> Self {
        let parts = &self.parts;
        if parts.lock.is_some()
            || parts.distinct
            || !parts.groups.is_empty()
            || !parts.unions.is_empty()
            || !parts.joins.is_empty()
        {
            return self;
        }
        self.lock_for_update()
    }

    /// Locks the selected rows against changes (`FOR SHARE` on PostgreSQL; no-op on
    /// SQLite).
    pub fn shared_lock(self) -> Self {
        self.locking(LockMode::Share, None)
    }

    /// Leaves out the rows another transaction holds locked (`FOR UPDATE SKIP LOCKED`;
    /// PostgreSQL, MySQL 8, MariaDB 10.6): each worker of a queue takes rows no other
    /// is working on. After [`Query::shared_lock`] it applies to that lock; otherwise
    /// it locks for update. SQLite, which has no row locks, ignores it.
    pub fn skip_locked(self) -> Self {
        let mode = self.parts.lock.map_or(LockMode::Update, |(mode, _)| mode);
        self.locking(mode, Some(LockWait::SkipLocked))
    }

    /// Fails at once, instead of waiting, when another transaction holds one of the rows
    /// locked (`FOR UPDATE NOWAIT`: [`crate::Error::Busy`]). After
    /// [`Query::shared_lock`] it applies to that lock; otherwise it locks for update.
    pub fn no_wait(self) -> Self {
        let mode = self.parts.lock.map_or(LockMode::Update, |(mode, _)| mode);
        self.locking(mode, Some(LockWait::NoWait))
    }

    /// Sets the lock's mode, and its wait policy when given (otherwise kept).
    fn locking(mut self, mode: LockMode, wait: Option<LockWait>) -> Self {
        let parts = self.parts_mut();
        let wait = wait.unwrap_or_else(|| parts.lock.map(|(_, w)| w).unwrap_or_default());
        parts.lock = Some((mode, wait));
        self
    }

    // ----- rendering ------------------------------------------------------------------

    /// The `SELECT` this query runs, with its bindings, rendered for `dialect` (no
    /// connection needed): `to_sql_for(&PostgresDialect)`.
    pub fn to_sql_for(&self, dialect: &'static dyn Dialect) -> Result<(String, Vec<Value>)> {
        self.render(dialect)
    }

    fn render(&self, dialect: &'static dyn Dialect) -> Result<(String, Vec<Value>)> {
        let mut w = SqlWriter::new(dialect);
        Parts::clone(&self.parts).render_select(&mut w);
        w.finish()
    }

    pub(crate) fn render_owned(
        self,
        dialect: &'static dyn Dialect,
    ) -> Result<(String, Vec<Value>)> {
        let mut w = SqlWriter::new(dialect);
        self.into_parts().render_select(&mut w);
        w.finish()
    }

    /// The `SELECT` this query runs, with its bindings, rendered for the dialect of its
    /// connection (for debugging).
    pub fn to_sql(&self) -> Result<(String, Vec<Value>)> {
        // Reads nothing: it must not make the thread's reads sticky.
        let dialect =
            crate::db::with_named_on(&self.connection, false, (), |(), c| Ok(c.dialect()))?;
        self.render(dialect)
    }
}

/// The conditions of a join, built in [`Query::join_with`] and friends.
#[derive(Debug, Clone)]
pub struct JoinClause {
    conditions: Conditions,
    error: Option<Deferred>,
}

impl JoinClause {
    fn push(
        mut self,
        or: bool,
        op: impl IntoOperator,
        make: impl FnOnce(Operator) -> WhereKind,
    ) -> Self {
        match op.into_operator() {
            Ok(op) => self.conditions.push(Where { or, kind: make(op) }),
            Err(error) => {
                self.error.get_or_insert_with(|| deferred(error));
            }
        }
        self
    }

    /// `ON first op second` (ANDed with earlier conditions).
    pub fn on(
        self,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        let (first, second) = (first.into(), second.into());
        self.push(false, op, |op| WhereKind::Column { first, op, second })
    }

    /// `OR first op second`.
    pub fn or_on(
        self,
        first: impl Into<Ident>,
        op: impl IntoOperator,
        second: impl Into<Ident>,
    ) -> Self {
        let (first, second) = (first.into(), second.into());
        self.push(true, op, |op| WhereKind::Column { first, op, second })
    }

    /// `AND column op value` (a bound value).
    pub fn where_(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        let (column, value) = (column.into(), value.into());
        self.push(false, op, |op| WhereKind::Basic { column, op, value })
    }

    /// `OR column op value`.
    pub fn or_where(
        self,
        column: impl Into<Ident>,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        let (column, value) = (column.into(), value.into());
        self.push(true, op, |op| WhereKind::Basic { column, op, value })
    }

    fn null(mut self, or: bool, column: Ident, not: bool) -> Self {
        let kind = WhereKind::Null { column, not };
        self.conditions.push(Where { or, kind });
        self
    }

    /// `AND column IS NULL`.
    pub fn where_null(self, column: impl Into<Ident>) -> Self {
        self.null(false, column.into(), false)
    }

    /// `OR column IS NULL`.
    pub fn or_where_null(self, column: impl Into<Ident>) -> Self {
        self.null(true, column.into(), false)
    }

    /// `AND column IS NOT NULL`.
    pub fn where_not_null(self, column: impl Into<Ident>) -> Self {
        self.null(false, column.into(), true)
    }

    /// `OR column IS NOT NULL`.
    pub fn or_where_not_null(self, column: impl Into<Ident>) -> Self {
        self.null(true, column.into(), true)
    }
}

/// A row for [`Query::insert`], [`Query::update`] and friends:
/// `row!{"name" => "Ada", "votes" => 3}` expands to
/// `[("name", Value::from("Ada")), ("votes", Value::from(3))]`.
#[macro_export]
macro_rules! row {
    ($($column:expr => $value:expr),* $(,)?) => {
        [$(($column, $crate::Value::from($value))),*]
    };
}

/// [`Query::scope`] without the row type (compiled once): replaces the scope `name`
/// with `inner`'s conditions, keeping `inner`'s building error.
fn set_scope(clauses: &mut Clauses, name: Ident, inner: Parts) {
    let parts = clauses.make_mut();
    let beyond = beyond_conditions(&inner);
    if let Some(message) = inner.error {
        parts.fail(message);
    }
    if let Some(clause) = beyond {
        // Kept, it would be lost without a word (a scope holds conditions only).
        parts.fail((
            InvalidQueryKind::Clauses,
            format!(
                "scope `{name}` adds {clause}, but a scope holds only conditions \
                 (where/or_where/...): add {clause} to the query outside `scope`"
            ),
        ));
    }
    parts.scopes.retain(|(n, _)| *n != name);
    parts.scopes.push((name, inner.wheres));
}

/// The first clause of a scope's query that is not a condition, named for an error.
fn beyond_conditions(inner: &Parts) -> Option<&'static str> {
    [
        (!inner.joins.is_empty(), "a join"),
        (!inner.columns.is_empty(), "a select"),
        (inner.distinct, "distinct"),
        (!inner.groups.is_empty(), "a group by"),
        (!inner.havings.is_empty(), "a having"),
        (!inner.orders.is_empty(), "an order"),
        (
            inner.limit.is_some() || inner.offset.is_some(),
            "a limit or offset",
        ),
        (!inner.unions.is_empty(), "a union"),
        (inner.lock.is_some(), "a lock"),
        (!inner.scopes.is_empty(), "a nested scope"),
    ]
    .into_iter()
    .find_map(|(present, clause)| present.then_some(clause))
}

/// The scope holding a relation query's own conditions (see
/// [`Query::seal_relation_conditions`]); never removed.
pub(crate) const RELATION_SCOPE: &str = "orm_relation";

/// Moves the conditions into the scope [`RELATION_SCOPE`].
fn seal_conditions(clauses: &mut Clauses) {
    if clauses.wheres.is_empty() {
        return;
    }
    let parts = clauses.make_mut();
    let wheres = std::mem::take(&mut parts.wheres);
    parts.scopes.push((Ident::Borrowed(RELATION_SCOPE), wheres));
}

/// Removes the scope `name`, or every scope (a relation query's own conditions stay).
fn remove_scopes(clauses: &mut Clauses, name: Option<&str>) {
    let parts = clauses.make_mut();
    parts
        .scopes
        .retain(|(n, _)| n == RELATION_SCOPE || name.is_some_and(|name| n != name));
}

#[cfg(test)]
mod tests;
