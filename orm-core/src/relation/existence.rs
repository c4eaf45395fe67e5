//! Existence subqueries: `has`, `where_has`, `doesnt_have`, `has_count`.

use super::*;
use crate::query::{IntoOperator, Operator};

/// The related rows joined as needed, and the column matching the parent's key.
/// `alias` names the related table in the statement (`FROM categories AS alias`), for
/// a subquery whose enclosing query reads the same table.
pub(super) fn counting_query(
    relation: &'static RelationMeta,
    alias: Option<&str>,
) -> Result<(Query<Record>, Ident)> {
    // A declared constraint's order means nothing inside EXISTS or COUNT (and PostgreSQL
    // refuses an ORDER BY column beside an aggregate).
    let (query, column) = ordered_rows(relation, alias)?;
    let mut query = query.reorder();
    // A declared constraint's `only_trashed()`/`without_trashed()` named the table.
    if let (Some(alias), Some(i)) = (alias, (relation.related)().deleted_at) {
        query.requalify_null_checks(
            (relation.related)().table,
            (relation.related)().columns[i],
            alias,
        );
    }
    Ok((query, column))
}

/// [`counting_query`] with the declared constraint's order kept.
fn ordered_rows(
    relation: &'static RelationMeta,
    alias: Option<&str>,
) -> Result<(Query<Record>, Ident)> {
    if relation.kind == RelationKind::MorphTo {
        return Err(morph_to_has_no_table(relation));
    }
    let related = (relation.related)();
    let (from, reference) = match alias {
        Some(alias) => (Ident::Owned(format!("{} as {alias}", related.table)), alias),
        None => (Ident::Borrowed(related.table), related.table),
    };
    let mut query = Query::<Record>::new(from);
    // The model queries' soft-delete scope, so that what removes it there (a declared
    // constraint's `with_trashed()`, a callback's `without_scope(SOFT_DELETES)`) does here.
    if let Some(i) = related.deleted_at {
        let deleted_at = qualify(reference, related.columns[i]);
        query = query.scope(crate::model::SOFT_DELETES, |q| q.where_null(deleted_at));
    }
    if let Some(scopes) = related.scopes {
        query = query.bracketed(scopes);
    }
    Ok(related_rows(query, relation, reference))
}

/// For a has-one or morph-one whose declared constraint orders the related rows (a
/// relation read as Eloquent's `latestOfMany`/`oldestOfMany`): the key of the first
/// related row of the parent whose key `parent_key` names, as loading reads it:
/// `SELECT posts.id FROM posts WHERE posts.user_id = users.id ... ORDER BY ... LIMIT 1`.
/// Counts, aggregates and existence compare the related rows' key with it, so they see
/// the row the relation holds, not every related row. `None` for other relations.
///
/// The related table is not aliased, so the constraint's conditions name it as they do
/// everywhere else; an enclosing statement's table of the same name is hidden inside,
/// so `parent_key` must name another table (or an alias).
pub(super) fn first_of_many(
    relation: &'static RelationMeta,
    parent_key: Ident,
) -> Result<Option<Query<Record>>> {
    if !matches!(relation.kind, RelationKind::HasOne | RelationKind::MorphOne)
        || relation.constraint.is_none()
    {
        return Ok(None);
    }
    let (query, column) = ordered_rows(relation, None)?;
    if !query.is_ordered() {
        return Ok(None);
    }
    let related = (relation.related)();
    let first = query
        .select(vec![qualify(related.table, related.primary_key)])
        .where_column(column, "=", parent_key)
        .limit(1);
    Ok(Some(first))
}

/// Joins what `relation` needs onto `query` (a query on the related table, which the
/// statement calls `related`: its name or alias) and returns it with the column that
/// holds the parent's key (`posts.user_id`, `role_user.user_id`, `users.country_id`, ...).
pub(super) fn related_rows<T>(
    query: Query<T>,
    relation: &'static RelationMeta,
    related: &str,
) -> (Query<T>, Ident) {
    let mut query = constrained(query, relation);
    let related_meta = (relation.related)();
    let joins = relation.kind.has_pivot()
        || matches!(
            relation.kind,
            RelationKind::HasManyThrough | RelationKind::HasOneThrough
        );
    if joins && related == related_meta.table {
        // The joined pivot or intermediate table may share column names (`id`) with the
        // related one: the caller's plain names mean the related table's.
        query.parts_mut().home = Some(crate::dialect::HomeTable {
            table: related_meta.table,
            columns: related_meta.columns,
        });
    }
    match relation.kind {
        RelationKind::HasOne | RelationKind::HasMany => {
            (query, qualify(related, relation.foreign_key))
        }
        RelationKind::BelongsTo => (query, qualify(related, relation.owner_key())),
        RelationKind::MorphOne | RelationKind::MorphMany => (
            query.where_eq(
                qualify(related, relation.morph_type),
                relation.morph_value().unwrap_or_default(),
            ),
            qualify(related, relation.foreign_key),
        ),
        RelationKind::MorphToMany | RelationKind::MorphedByMany => {
            let pivot = relation.pivot();
            (
                query
                    .join(
                        pivot,
                        qualify(pivot, relation.related_key),
                        "=",
                        qualify(related, relation.linked_column()),
                    )
                    .where_eq(
                        qualify(pivot, relation.morph_type),
                        relation.morph_value().unwrap_or_default(),
                    ),
                qualify(pivot, relation.foreign_key),
            )
        }
        // Its rows are in as many tables as the parent may be: no one query reads them.
        RelationKind::MorphTo => (
            query.fail(InvalidQueryKind::Relation, morph_to_message(relation)),
            qualify(related, relation.foreign_key),
        ),
        RelationKind::BelongsToMany => {
            let pivot = relation.pivot();
            (
                query.join(
                    pivot,
                    qualify(pivot, relation.related_key),
                    "=",
                    qualify(related, relation.linked_column()),
                ),
                qualify(pivot, relation.foreign_key),
            )
        }
        RelationKind::HasManyThrough | RelationKind::HasOneThrough => {
            let through = relation.through_meta();
            // An intermediate table that is also the related or the parent's table
            // (grandchildren, a user's referrals' sales) is aliased: unaliased it would
            // be named twice in the statement, or hide the parent in an EXISTS.
            let aliased =
                through.table == related_meta.table || through.table == (relation.parent)().table;
            let (join, reference) = if aliased {
                (
                    Ident::Owned(format!("{} as {THROUGH_ALIAS}", through.table)),
                    THROUGH_ALIAS,
                )
            } else {
                (Ident::Borrowed(through.table), through.table)
            };
            let mut query = query.join(
                join,
                qualify(reference, relation.linked_column()),
                "=",
                qualify(related, relation.related_key),
            );
            // A soft-deleted intermediate row hides the rows reached through it.
            if let Some(i) = through.deleted_at {
                query = query.where_null(qualify(reference, through.columns[i]));
            }
            (query, qualify(reference, relation.foreign_key))
        }
    }
}

fn morph_to_has_no_table(relation: &RelationMeta) -> Error {
    Error::invalid_query(InvalidQueryKind::Relation, morph_to_message(relation))
}

fn morph_to_message(relation: &RelationMeta) -> String {
    format!(
        "`{}` is a morph_to relation, whose rows are in several tables: it cannot be counted (`with_count`, `has_count`, `where_has_count`); use `has`/`where_has`, or `has_morph::<T>` for one type",
        relation.name
    )
}

/// Whether `rows` (a target's rows, its constraint applied) name a column of their own
/// table that `target` does not have.
fn names_missing_column(rows: &Query<Record>, target: &'static ModelMeta) -> bool {
    let mut named = Vec::new();
    crate::query::condition_columns(&rows.parts().wheres, &mut named);
    named.iter().any(|column| {
        let column = column.split("->").next().unwrap_or(column);
        let (table, name) = match column.rsplit_once('.') {
            Some((table, name)) => (Some(table), name),
            None => (None, column),
        };
        let own = table.is_none_or(|t| t == target.table || t.starts_with(SELF_ALIAS));
        own && !target.columns.contains(&name)
    })
}

/// The rows of `target` a `morph_to` relation's row of the enclosing query (whose table
/// it calls `parent`) points at: `SELECT 1 FROM posts WHERE posts.id = comments.commentable_id`,
/// without soft-deleted ones, with `constraint`. The parent's own table is aliased.
fn morph_target_rows(
    target: &'static ModelMeta,
    relation: &'static RelationMeta,
    parent: &str,
    constraint: Option<&Constraint>,
) -> Query<Record> {
    let alias = (target.table == parent).then(|| format!("{SELF_ALIAS}1"));
    let (from, reference) = match &alias {
        Some(alias) => (
            Ident::Owned(format!("{} as {alias}", target.table)),
            alias.as_str(),
        ),
        None => (Ident::Borrowed(target.table), target.table),
    };
    let mut sub = Query::<Record>::new(from)
        .select_raw("1", &[])
        .where_column(
            qualify(reference, target.primary_key),
            "=",
            qualify(parent, relation.foreign_key),
        );
    if let Some(i) = target.deleted_at {
        let deleted_at = qualify(reference, target.columns[i]);
        sub = sub.scope(crate::model::SOFT_DELETES, |q| q.where_null(deleted_at));
    }
    if let Some(constraint) = constraint {
        sub = sub.bracketed(|q| constraint(q));
    }
    sub
}

/// `query` with the relation's declared constraint applied (its model extras kept).
fn constrained<T>(mut query: Query<T>, relation: &'static RelationMeta) -> Query<T> {
    let Some(constrain) = relation.constraint else {
        return query;
    };
    let extras = std::mem::take(&mut query.model);
    let mut rows = query.into_rows::<Record>();
    // The constraint may name pivot columns (`where_pivot`): it sees the relation.
    if relation.kind.has_pivot() {
        rows.model.relation = Some(super::writes::RelationContext::parentless_link(relation));
    }
    let mut query = rows.bracketed(constrain).into_rows::<T>();
    query.model = extras;
    query
}

/// Applies a relation's `constrain` function, typed on the related model (the derive's
/// glue between `RelationMeta::constraint` and the user's function). The relation the
/// query belongs to goes with it.
#[doc(hidden)]
pub fn constrain<M>(mut query: Query<Record>, f: fn(Query<M>) -> Query<M>) -> Query<Record> {
    let link = query.model.relation.take();
    let mut typed = query.into_rows::<M>();
    typed.model.relation = link;
    let mut constrained = f(typed);
    let link = constrained.model.relation.take();
    let mut rows = constrained.into_rows();
    rows.model.relation = link;
    rows
}

// ----- existence ------------------------------------------------------------------------

/// The alias of a related table inside an existence subquery whose enclosing query
/// reads the same table (a self relation: `categories` → `children`), suffixed with the
/// nesting depth.
pub(super) const SELF_ALIAS: &str = "orm_self_";

/// The alias of a through relation's intermediate table when it is also the related or
/// the parent's table.
const THROUGH_ALIAS: &str = "orm_through";

/// The subquery of `has`/`where_has` for `path` (`posts` or `posts.comments`), correlated
/// with the enclosing query, which reads `parent`'s table under the name `parent_ref`:
/// `SELECT <select> FROM posts WHERE posts.user_id = users.id ...`. A related table that
/// is the enclosing one (a self relation) is aliased, so that each side of the
/// condition names its own rows: `FROM categories AS orm_self_1 WHERE
/// orm_self_1.parent_id = categories.id`.
pub(super) fn existence_query(
    parent: &'static ModelMeta,
    parent_ref: &str,
    path: &str,
    select: &'static str,
    constraint: Option<&Constraint>,
    depth: usize,
) -> Result<Query<Record>> {
    existence_counting(parent, parent_ref, path, select, constraint, depth, None)
}

/// [`existence_query`]; with `count`, a nested path's last relation is counted and
/// compared inside the level above it (Orator's and Eloquent's nested `has` with a
/// count: users with a post that has at least two comments), every other level being
/// an `EXISTS`.
fn existence_counting(
    parent: &'static ModelMeta,
    parent_ref: &str,
    path: &str,
    select: &'static str,
    constraint: Option<&Constraint>,
    depth: usize,
    count: Option<(Operator, i64)>,
) -> Result<Query<Record>> {
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let relation = parent.relation(head)?;
    let related = (relation.related)();
    let alias = (related.table == parent_ref).then(|| format!("{SELF_ALIAS}{depth}"));
    let (query, group_column) = counting_query(relation, alias.as_deref())?;
    let parent_key = qualify(parent_ref, relation.parent_column());
    // Inside `first_of_many` the related table's name hides a parent of the same name
    // (a self relation): there the related row's own copy of the parent's key is used.
    let first_key = match alias {
        Some(_) => group_column.clone(),
        None => parent_key.clone(),
    };
    let mut query = query
        .select_raw(select, &[])
        .where_column(group_column, "=", parent_key);
    if let Some(first) = first_of_many(relation, first_key)? {
        let reference = alias.as_deref().unwrap_or(related.table);
        query = query.where_column_sub(qualify(reference, related.primary_key), "=", first);
    }
    match rest {
        Some(rest) => {
            let reference = alias.as_deref().unwrap_or(related.table);
            match count {
                Some((op, n)) if !rest.contains('.') => {
                    let inner = existence_query(
                        related,
                        reference,
                        rest,
                        "COUNT(*)",
                        constraint,
                        depth + 1,
                    )?;
                    query = query.where_sub(inner, op, n);
                }
                _ => {
                    let inner = existence_counting(
                        related,
                        reference,
                        rest,
                        "1",
                        constraint,
                        depth + 1,
                        count,
                    )?;
                    query = query.where_exists(inner);
                }
            }
        }
        None => {
            if let Some(constraint) = constraint {
                query = query.bracketed(|q| constraint(q));
            }
        }
    }
    // An order means nothing inside EXISTS or a count, and PostgreSQL refuses one beside
    // `COUNT(*)` (`has_count`): a constraint's is dropped, as `counting_query` drops the
    // relation's own.
    Ok(query.reorder())
}

impl<M: Model> Query<M> {
    /// Only rows with at least one related row (`EXISTS`); nested paths allowed.
    pub fn has(self, relation: &str) -> Self {
        self.exists_where(relation, None, false, false)
    }

    /// `OR` rows with at least one related row: `where_eq("admin", true).or_has("posts")`.
    pub fn or_has(self, relation: &str) -> Self {
        self.exists_where(relation, None, false, true)
    }

    /// Only rows without related rows (`NOT EXISTS`).
    pub fn doesnt_have(self, relation: &str) -> Self {
        self.exists_where(relation, None, true, false)
    }

    /// `OR` rows without related rows.
    pub fn or_doesnt_have(self, relation: &str) -> Self {
        self.exists_where(relation, None, true, true)
    }

    /// Only rows with related rows matching the constraint. The constraint's conditions
    /// are bracketed: an `or_where` in it cannot reach past the relation's own condition.
    pub fn where_has(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.exists_where(relation, Some(&constraint), false, false)
    }

    /// Only rows with a related row whose `column` compares with `value` (Eloquent's
    /// `whereRelation`): `where_relation("posts", "published", "=", true)` is
    /// `where_has("posts", |q| q.where_("published", "=", true))`.
    pub fn where_relation(
        self,
        relation: &str,
        column: &str,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.relation_compares(relation, column, op, value.into(), false)
    }

    /// `OR` rows with a related row whose `column` compares with `value`.
    pub fn or_where_relation(
        self,
        relation: &str,
        column: &str,
        op: impl IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        self.relation_compares(relation, column, op, value.into(), true)
    }

    fn relation_compares(
        mut self,
        relation: &str,
        column: &str,
        op: impl IntoOperator,
        value: Value,
        or: bool,
    ) -> Self {
        let Some(op) = self.operator(op) else {
            return self;
        };
        let column = column.to_owned();
        let constraint: Constraint =
            Arc::new(move |q: Query<Record>| q.where_(column.clone(), op, value.clone()));
        self.exists_where(relation, Some(&constraint), false, or)
    }

    /// Only rows that `owner` owns through this model's belongs-to relation to `O`'s
    /// table (Eloquent's `whereBelongsTo`): `Post::query().where_belongs_to(&user)` is
    /// `where posts.user_id = <user's key>`. With no such relation, or several (name one
    /// with [`Query::where_belongs_to_relation`]), the query fails with
    /// [`Error::InvalidQuery`] (kind `Relation`).
    pub fn where_belongs_to<O: Model>(self, owner: &O) -> Self {
        let owners = M::meta().relations.iter().filter(|r| {
            r.kind == RelationKind::BelongsTo && std::ptr::eq((r.related)(), O::meta())
        });
        let mut found = owners.map(|r| r.name);
        match (found.next(), found.next()) {
            (Some(name), None) => self.where_belongs_to_relation(owner, name),
            (first, _) => {
                let message = match first {
                    None => format!(
                        "`where_belongs_to`: {} has no belongs-to relation to {}",
                        M::meta().table,
                        O::meta().table
                    ),
                    Some(_) => format!(
                        "`where_belongs_to`: {} has several belongs-to relations to {}: name \
                         one with `where_belongs_to_relation`",
                        M::meta().table,
                        O::meta().table
                    ),
                };
                self.fail(InvalidQueryKind::Relation, message)
            }
        }
    }

    /// [`Query::where_belongs_to`] through the named belongs-to relation.
    pub fn where_belongs_to_relation<O: Model>(self, owner: &O, relation: &str) -> Self {
        let relation = match M::meta().relation(relation) {
            Ok(relation) if relation.kind == RelationKind::BelongsTo => relation,
            Ok(relation) => {
                let message = format!(
                    "`where_belongs_to_relation`: `{}` is not a belongs-to relation",
                    relation.name
                );
                return self.fail(InvalidQueryKind::Relation, message);
            }
            Err(error) => return self.fail(InvalidQueryKind::Relation, error.to_string()),
        };
        let key = owner.column_value(relation.owner_key()).unwrap_or_default();
        let column = qualify(M::meta().table, relation.foreign_key);
        if key.is_null() {
            // An owner never saved owns nothing (`= NULL` would say the same, unknown).
            return self.where_raw("1 = 0", &[]);
        }
        self.where_eq(column, key)
    }

    /// Only rows with related rows matching the constraint, and those related rows
    /// eager loaded (Eloquent's `withWhereHas`): `where_has` and `with_where` with one
    /// constraint.
    pub fn with_where_has(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        let loaded = Arc::clone(&constraint);
        self.exists_where(relation, Some(&constraint), false, false)
            .with_where(relation, move |q| loaded(q))
    }

    /// `OR` rows with related rows matching the constraint.
    pub fn or_where_has(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.exists_where(relation, Some(&constraint), false, true)
    }

    /// Only rows without related rows matching the constraint.
    pub fn where_doesnt_have(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.exists_where(relation, Some(&constraint), true, false)
    }

    /// `OR` rows without related rows matching the constraint.
    pub fn or_where_doesnt_have(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.exists_where(relation, Some(&constraint), true, true)
    }

    /// Only rows whose number of related rows matching the constraint compares with
    /// `count` (Eloquent's `whereHas($relation, $callback, '>=', 2)`):
    /// `where_has_count("posts", |q| q.where_eq("published", true), ">=", 2)`.
    pub fn where_has_count(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
        op: impl crate::query::IntoOperator,
        count: i64,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.counted_has(relation, Some(&constraint), op, count)
    }

    /// Only rows whose number of related rows compares with `count`:
    /// `has_count("posts", ">=", 3)`.
    pub fn has_count(
        self,
        relation: &str,
        op: impl crate::query::IntoOperator,
        count: i64,
    ) -> Self {
        self.counted_has(relation, None, op, count)
    }

    /// `has_count`/`where_has_count`: `(SELECT COUNT(*) ..) op count`; for a nested path
    /// (`posts.comments`), rows with a post whose comments' count compares.
    fn counted_has(
        mut self,
        relation: &str,
        constraint: Option<&Constraint>,
        op: impl crate::query::IntoOperator,
        count: i64,
    ) -> Self {
        let Some(op) = self.operator(op) else {
            return self;
        };
        let parent = self.table_reference();
        if !relation.contains('.') {
            return match existence_query(M::meta(), parent, relation, "COUNT(*)", constraint, 1) {
                Ok(sub) => self.where_sub(sub, op, count),
                Err(e) => self.fail(InvalidQueryKind::Relation, e.to_string()),
            };
        }
        let counted = Some((op, count));
        match existence_counting(M::meta(), parent, relation, "1", constraint, 1, counted) {
            Ok(sub) => self.where_exists(sub),
            Err(e) => self.fail(InvalidQueryKind::Relation, e.to_string()),
        }
    }

    /// Only rows whose `morph_to` relation points at an existing `T` (the type column
    /// holds `T`'s morph name): Eloquent's `whereHasMorph`, one type per call.
    pub fn has_morph<T: Model>(self, relation: &str) -> Self {
        self.morph_exists::<T>(relation, None, false)
    }

    /// Only rows whose `morph_to` relation points at a `T` matching the constraint:
    /// `where_has_morph::<Post>("commentable", |q| q.where_("title", "like", "Rust%"))`.
    pub fn where_has_morph<T: Model>(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.morph_exists::<T>(relation, Some(&constraint), false)
    }

    /// Only rows whose `morph_to` relation is of type `T` and points at no existing `T`
    /// (Eloquent's `doesntHaveMorph`, one type per call); rows of other types are left
    /// out.
    pub fn doesnt_have_morph<T: Model>(self, relation: &str) -> Self {
        self.morph_exists::<T>(relation, None, true)
    }

    /// Only rows whose `morph_to` relation is of type `T` and points at no `T` matching
    /// the constraint (Eloquent's `whereDoesntHaveMorph`):
    /// `where_doesnt_have_morph::<Post>("commentable", |q| q.where_eq("public", true))`.
    pub fn where_doesnt_have_morph<T: Model>(
        self,
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Self {
        let constraint: Constraint = Arc::new(constraint);
        self.morph_exists::<T>(relation, Some(&constraint), true)
    }

    fn morph_exists<T: Model>(
        self,
        name: &str,
        constraint: Option<&Constraint>,
        not: bool,
    ) -> Self {
        let relation = match M::meta().relation(name) {
            Ok(relation) if relation.kind == RelationKind::MorphTo => relation,
            Ok(_) => {
                return self.fail(
                    InvalidQueryKind::Relation,
                    format!("`{name}` on {} is not a morph_to relation", M::meta().name),
                )
            }
            Err(e) => return self.fail(InvalidQueryKind::Relation, e.to_string()),
        };
        let target = T::meta();
        if !relation
            .morph_targets
            .iter()
            .any(|t| std::ptr::eq(t(), target))
        {
            return self.fail(
                InvalidQueryKind::Relation,
                format!(
                    "`{name}` on {} cannot hold a {}: its morph_to enum has no variant for it",
                    M::meta().name,
                    target.name
                ),
            );
        }
        let parent = self.table_reference().to_owned();
        let sub = morph_target_rows(target, relation, &parent, constraint);
        let typed = self.where_eq(qualify(&parent, relation.morph_type), target.morph_name);
        match not {
            false => typed.where_exists(sub),
            true => typed.where_not_exists(sub),
        }
    }

    /// `has`/`where_has`/`doesnt_have` on a `morph_to` relation: for each model it may
    /// hold, rows of that type whose target exists (`not`: is missing), matching the
    /// constraint; ORed (Eloquent's `whereHasMorph($relation, '*')`). A row whose type
    /// is NULL or unknown matches neither.
    fn morph_to_exists(
        self,
        relation: &'static RelationMeta,
        constraint: Option<&Constraint>,
        not: bool,
        or: bool,
    ) -> Self {
        if relation.morph_targets.is_empty() {
            return self.fail(InvalidQueryKind::Relation, morph_to_message(relation));
        }
        let parent = self.table_reference().to_owned();
        let each_type = |group: Self| {
            relation.morph_targets.iter().fold(group, |group, target| {
                let target = target();
                let sub = morph_target_rows(target, relation, &parent, constraint);
                // A type whose table lacks a column the constraint names has no row
                // matching it (Eloquent's `'*'` only queries the types the column holds;
                // here every type of the enum is, so such a type is answered here instead
                // of becoming an unknown column in the statement).
                let unmatchable = constraint.is_some() && names_missing_column(&sub, target);
                match (unmatchable, not) {
                    // No row of this type matches: its branch would be false.
                    (true, false) => group.or_where_raw("1 = 0", &[]),
                    (true, true) => {
                        group.or_where_eq(qualify(&parent, relation.morph_type), target.morph_name)
                    }
                    (false, _) => group.or_where_group(|q| {
                        let q =
                            q.where_eq(qualify(&parent, relation.morph_type), target.morph_name);
                        match not {
                            false => q.where_exists(sub),
                            true => q.where_not_exists(sub),
                        }
                    }),
                }
            })
        };
        match or {
            false => self.where_group(each_type),
            true => self.or_where_group(each_type),
        }
    }

    pub(super) fn exists_where(
        self,
        relation: &str,
        constraint: Option<&Constraint>,
        not: bool,
        or: bool,
    ) -> Self {
        if let Ok(morph_to) = M::meta().relation(relation) {
            if morph_to.kind == RelationKind::MorphTo {
                return self.morph_to_exists(morph_to, constraint, not, or);
            }
        }
        let parent = self.table_reference();
        match existence_query(M::meta(), parent, relation, "1", constraint, 1) {
            Ok(sub) => match (not, or) {
                (false, false) => self.where_exists(sub),
                (false, true) => self.or_where_exists(sub),
                (true, false) => self.where_not_exists(sub),
                (true, true) => self.or_where_not_exists(sub),
            },
            Err(e) => self.fail(InvalidQueryKind::Relation, e.to_string()),
        }
    }
}
