//! Relation queries (`user.posts()`) and writes through them: `save`, `create`, pivots (`attach`, `detach`, `sync`, `toggle`), `associate`.

use super::*;
use crate::query::{Operator, RelationLink};

/// What a relation query knows about its parent, for writes through the relation.
#[derive(Debug, Clone)]
pub(crate) struct RelationContext {
    pub(super) relation: &'static RelationMeta,
    /// The parent's value of [`RelationMeta::parent_column`].
    pub(super) parent_value: Value,
    /// The pivot conditions added (`where_pivot`, ..): pivot writes (`detach`, `sync`,
    /// `update_existing_pivot`) touch only the pivot rows they let through, as Eloquent's
    /// `newPivotQuery`.
    pub(super) pivot_conditions: Vec<PivotCondition>,
}

impl RelationContext {
    pub(super) fn new(relation: &'static RelationMeta, parent_value: Value) -> RelationContext {
        RelationContext {
            relation,
            parent_value,
            pivot_conditions: Vec::new(),
        }
    }

    /// A link to `relation` without a parent, for a query that applies the relation's
    /// declared constraint (which may name pivot columns).
    pub(super) fn parentless_link(relation: &'static RelationMeta) -> Arc<RelationLink> {
        Arc::new(RelationLink {
            lazy_guard: None,
            delete_refused: None,
            context: RelationContext::new(relation, Value::Null),
        })
    }
}

/// What a relation's find-or-create forms start from: the related row found, or a new
/// model built with the relation query to write it through.
enum Found<C> {
    Stored(C),
    Built(Query<C>, C),
}

/// A condition on a pivot column, kept to be applied to the pivot table itself.
#[derive(Debug, Clone)]
pub(crate) struct PivotCondition {
    or: bool,
    /// Qualified with the pivot table.
    column: String,
    test: PivotTest,
    /// Set by `with_pivot_value`: the rows attached through the relation get the value.
    written: bool,
}

/// What a pivot condition tests.
#[derive(Debug, Clone)]
enum PivotTest {
    Compare(Operator, Value),
    In(Vec<Value>, bool),
    Null(bool),
    Between(Value, Value, bool),
}

impl PivotTest {
    fn apply<T>(self, q: Query<T>, or: bool, column: String) -> Query<T> {
        match (self, or) {
            (PivotTest::Compare(op, value), false) => q.where_(column, op, value),
            (PivotTest::Compare(op, value), true) => q.or_where(column, op, value),
            (PivotTest::In(values, false), false) => q.where_in(column, values),
            (PivotTest::In(values, false), true) => q.or_where_in(column, values),
            (PivotTest::In(values, true), false) => q.where_not_in(column, values),
            (PivotTest::In(values, true), true) => q.or_where_not_in(column, values),
            (PivotTest::Null(false), false) => q.where_null(column),
            (PivotTest::Null(false), true) => q.or_where_null(column),
            (PivotTest::Null(true), false) => q.where_not_null(column),
            (PivotTest::Null(true), true) => q.or_where_not_null(column),
            (PivotTest::Between(low, high, false), false) => q.where_between(column, low, high),
            (PivotTest::Between(low, high, false), true) => q.or_where_between(column, low, high),
            (PivotTest::Between(low, high, true), false) => q.where_not_between(column, low, high),
            (PivotTest::Between(low, high, true), true) => {
                q.or_where_not_between(column, low, high)
            }
        }
    }
}

impl PivotCondition {
    fn apply(&self, q: Query<Record>) -> Query<Record> {
        self.test.clone().apply(q, self.or, self.column.clone())
    }

    /// The column and value a `with_pivot_value` writes into attached pivot rows.
    fn written_value(&self) -> Option<(&str, &Value)> {
        match (&self.test, self.written) {
            (PivotTest::Compare(_, value), true) => {
                let column = self.column.rsplit('.').next().unwrap_or(&self.column);
                Some((column, value))
            }
            _ => None,
        }
    }
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
    // Conditions added to `user.posts()` later, an `or_where` included, narrow the
    // user's posts; they never reach other users' rows.
    let mut query = query.seal_relation_conditions();
    // A parent without a key (not saved) has nothing to load.
    let lazy_guard = (!loaded && !parent_value.is_null() && lazy_load_guarded(parent))
        .then_some((P::meta().name, relation.name));
    // A parent read from a named connection reads its relations there too.
    if let Some(name) = parent.state().and_then(crate::ModelState::connection) {
        query = query.use_connection(name.to_owned());
    }
    // The related rows of a pivot relation may be other parents' too: deleting them
    // through one parent would take them from the others (Rails' `delete_all` unlinks
    // instead; Eloquent deletes).
    let delete_refused = relation.kind.has_pivot().then(|| {
        Arc::from(format!(
            "`delete` through the belongs-to-many relation `{}.{}` would delete the related \
             rows themselves, also those other parents link to; unlink them with \
             `detach_all()` or `detach(keys)`, or delete through the related model's own query",
            P::meta().name,
            relation.name
        ))
    });
    query.model.relation = Some(Arc::new(RelationLink {
        lazy_guard,
        delete_refused,
        context: RelationContext::new(relation, parent_value),
    }));
    query
}

/// Whether `DB::prevent_lazy_loading` refuses to read a relation of `parent` that was
/// not loaded. As Eloquent: a model read in a result of more than one row is guarded;
/// one read alone, made by hand, or just created (`wasRecentlyCreated`) is not, since
/// reading its relations is no N+1 loop. A model without a [`crate::ModelState`]
/// cannot remember how it was read, so it is guarded unless it has no key.
pub(crate) fn lazy_load_guarded<P: Model>(parent: &P) -> bool {
    match parent.state() {
        Some(state) => state.read_with_others() && !state.was_recently_created(),
        None => true,
    }
}

/// Which rows `sync`/`toggle` attached, detached and updated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncChanges {
    /// Keys newly attached.
    pub attached: Vec<Value>,
    /// Keys detached.
    pub detached: Vec<Value>,
    /// Keys already linked whose pivot row got the values given (`sync_with`).
    pub updated: Vec<Value>,
}

fn without_values<'a, K: Into<Value>>(
    keys: impl IntoIterator<Item = K>,
) -> Vec<(Value, Vec<(&'a str, Value)>)> {
    keys.into_iter().map(|k| (k.into(), Vec::new())).collect()
}

fn with_values<'a, K: Into<Value>, P: IntoIterator<Item = (&'a str, Value)>>(
    rows: impl IntoIterator<Item = (K, P)>,
) -> Vec<(Value, Vec<(&'a str, Value)>)> {
    rows.into_iter()
        .map(|(k, v)| (k.into(), v.into_iter().collect()))
        .collect()
}

impl<C: Model> Query<C> {
    pub(super) fn relation_context(&self, action: &str) -> Result<RelationContext> {
        self.model
            .relation
            .as_ref()
            .and_then(|link| link.context.downcast_ref::<RelationContext>())
            .cloned()
            .ok_or_else(|| {
                Error::invalid_query(
                    InvalidQueryKind::Relation,
                    format!(
                        "`{action}` works on a relation query (e.g. `user.posts().{action}(..)`)"
                    ),
                )
            })
    }

    /// Refuses a pivot write that would reach every linked row although the query has
    /// conditions on the related rows (`roles().where_eq("name", "b").detach_all()`):
    /// the pivot table cannot apply them, and Eloquent's silently ignoring them unlinks
    /// rows the caller filtered out. `where_pivot` conditions are applied.
    fn refuse_related_conditions(&self, context: &RelationContext, action: &str) -> Result<()> {
        if self.parts().wheres.len() > context.pivot_conditions.len() {
            return Err(Error::invalid_query(
                InvalidQueryKind::Relation,
                format!(
                    "`{action}` through `{}` with conditions on the related rows: the pivot \
                     write cannot apply them and would reach every linked row; filter the \
                     pivot with `where_pivot`, or name the keys (`detach([..])`)",
                    context.relation.name
                ),
            ));
        }
        Ok(())
    }

    pub(super) fn pivot_context(&self, action: &str) -> Result<RelationContext> {
        let context = self.relation_context(action)?;
        if !context.relation.kind.has_pivot() {
            return Err(Error::invalid_query(
                InvalidQueryKind::Relation,
                format!(
                    "`{action}` works on a belongs-to-many relation, not `{}`",
                    context.relation.name
                ),
            ));
        }
        if context.parent_value.is_null() {
            return Err(Error::invalid_query(
                InvalidQueryKind::Relation,
                format!(
                    "save the parent before `{action}` on `{}`",
                    context.relation.name
                ),
            ));
        }
        Ok(context)
    }

    /// Saves `child` as related to this query's parent: sets its foreign key
    /// (has-one/has-many), or saves it and attaches it (belongs-to-many, both in one
    /// transaction). Like every read and write through a relation query, it runs on the
    /// query's connection (`user.posts().use_connection("other").save(..)` writes to
    /// `other`). On a model query that is not a relation, it saves the model as
    /// [`Model::save`] does, on the query's connection.
    pub fn save(self, child: &mut C) -> Result<()> {
        self.write_child(child, "save", |child, name| {
            crate::model::save_named(child, name)
        })
    }

    /// [`Query::save`] for each of `children`, in one transaction: all are saved as
    /// related to the parent, or none (Orator's `save_many`, Eloquent's `saveMany`).
    /// When it fails, the children are left as they were before the call (keys,
    /// timestamps, state), so the same call can be retried.
    pub fn save_many(self, children: &mut [C]) -> Result<()> {
        let name = self.connection_name().to_owned();
        let before: Vec<crate::model::Snapshot> = children
            .iter()
            .map(|child| crate::model::Snapshot::take(child))
            .collect();
        let result = crate::DB::connection(&name).transaction(|| {
            for child in children.iter_mut() {
                self.clone().save(child)?;
            }
            Ok(())
        });
        if result.is_err() {
            for (child, snapshot) in children.iter_mut().zip(before) {
                snapshot.restore(child);
            }
        }
        result
    }

    /// [`Query::create`] for each of `children`, in one transaction; returns them
    /// created, or creates none (Eloquent's `createMany`).
    pub fn create_many(self, children: impl IntoIterator<Item = C>) -> Result<Vec<C>> {
        let mut children: Vec<C> = children.into_iter().collect();
        let name = self.connection_name().to_owned();
        crate::DB::connection(&name).transaction(|| {
            for child in children.iter_mut() {
                self.clone().write_child(child, "create", |child, name| {
                    crate::model::insert_named(child, name)
                })?;
            }
            Ok(())
        })?;
        Ok(children)
    }

    /// Inserts `child` as related to this query's parent and returns it: always an
    /// INSERT, like [`Model::create`] (a taken key is `Error::UniqueViolation`).
    pub fn create(self, mut child: C) -> Result<C> {
        self.write_child(&mut child, "create", |child, name| {
            crate::model::insert_named(child, name)
        })?;
        Ok(child)
    }

    /// The first related row matching `attributes`, or a new related model (its
    /// `Default` with `attributes` then `values`) created through the relation
    /// (Eloquent's `$user->posts()->firstOrCreate(..)`): linked to the parent like
    /// [`Query::create`]. Through a belongs-to-many relation, a row of the related table
    /// that matches but is not attached yet is attached rather than created again (as
    /// Eloquent does: a tag is not duplicated per parent).
    pub fn first_or_create<'a>(
        self,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<C>
    where
        C: Default,
    {
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        match self.find_or_build(attributes.iter().cloned(), values)? {
            Found::Stored(found) => Ok(found),
            Found::Built(query, child) => match query.unattached_match(&attributes)? {
                Some(found) => query.attach_found(found),
                None => query.create(child),
            },
        }
    }

    /// [`Query::first_or_create`] through a belongs-to-many relation, writing `pivot`'s
    /// columns into the pivot row it attaches (Eloquent's `firstOrCreate($attributes,
    /// $values, $joining)`): `order.items().first_or_create_with_pivot(row! {"name" =>
    /// "Cars"}, row! {}, row! {"quantity" => 1})`. A related row already attached is
    /// returned as it is; one that matches but is not attached is attached with `pivot`.
    pub fn first_or_create_with_pivot<'a>(
        self,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
        pivot: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<C>
    where
        C: Default,
    {
        const ACTION: &str = "first_or_create_with_pivot";
        self.pivot_context(ACTION)?;
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        let pivot: Vec<(&str, Value)> = pivot.into_iter().collect();
        match self.find_or_build(attributes.iter().cloned(), values)? {
            Found::Stored(found) => Ok(found),
            Found::Built(query, mut child) => match query.unattached_match(&attributes)? {
                Some(found) => {
                    let linked = linked_value(&found, query.relation_context(ACTION)?.relation);
                    query.attach_with(linked, pivot)?;
                    Ok(found)
                }
                None => {
                    query.write_child_with_pivot(&mut child, ACTION, &pivot, |child, name| {
                        crate::model::insert_named(child, name)
                    })?;
                    Ok(child)
                }
            },
        }
    }

    /// Creates a model through this query as [`Query::create`] does (linked to a
    /// relation's parent), or, when a unique key refuses it, returns the row of this query
    /// matching `attributes` (Eloquent's `createOrFirst` on a relation or a query). Inside
    /// a transaction the insert runs in a savepoint, so the refusal does not abort it.
    /// Through a belongs-to-many relation, a matching related row that is not attached
    /// yet is attached.
    pub fn create_or_first<'a>(
        self,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<C>
    where
        C: Default,
    {
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        let mut child = C::default();
        crate::model::apply(&mut child, attributes.iter().cloned().chain(values))?;
        let name = self.connection_name().to_owned();
        let query = self.clone();
        // In a savepoint when a transaction is open, so that PostgreSQL's refusal does
        // not abort it; alone otherwise, so that the row that refused it stays visible.
        let created = if crate::db::with_named(&name, |conn| Ok(conn.in_transaction()))? {
            crate::DB::connection(&name).transaction(|| query.create(child))
        } else {
            query.create(child)
        };
        match created {
            Err(refused @ Error::UniqueViolation { .. }) => {
                if let Some(found) = self.clone().matching(&attributes).first()? {
                    return Ok(found);
                }
                match self.unattached_match(&attributes)? {
                    Some(found) => self.attach_found(found),
                    None => Err(refused),
                }
            }
            created => created,
        }
    }

    /// The first related row matching `attributes`, or a new related model (its
    /// `Default` with `attributes` then `values`, and for a has-one/many relation the
    /// parent's key) **not saved** (Eloquent's `firstOrNew` on a relation).
    pub fn first_or_new<'a>(
        self,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<C>
    where
        C: Default,
    {
        match self.find_or_build(attributes, values)? {
            Found::Stored(found) => Ok(found),
            Found::Built(query, mut child) => {
                query.link_unsaved(&mut child, "first_or_new")?;
                Ok(child)
            }
        }
    }

    /// `child` linked to this query's parent but **not saved** (Eloquent's `make` on a
    /// relation): for a has-one/many (or morph) relation, with the parent's key (and
    /// morph type) set; a belongs-to-many's pivot row is written only on `attach`.
    /// `user.posts().make(Post { title: "Draft".into(), ..Default::default() })`.
    pub fn make(self, mut child: C) -> Result<C> {
        self.link_unsaved(&mut child, "make")?;
        Ok(child)
    }

    /// The related model with key `id`, or a new one linked to the parent and **not
    /// saved** (Eloquent's `findOrNew` on a relation; on a model query, the model's
    /// `Default`). A row with that key related to another parent is not found.
    pub fn find_or_new(self, id: impl crate::value::ToValue) -> Result<C>
    where
        C: Default,
    {
        match self.clone().find(id)? {
            Some(found) => Ok(found),
            None => self.make(C::default()),
        }
    }

    fn link_unsaved(&self, child: &mut C, operation: &'static str) -> Result<()> {
        if self.model.relation.is_none() {
            // A model query: nothing to link.
            return Ok(());
        }
        let context = self.relation_context(operation)?;
        let relation = context.relation;
        if matches!(
            relation.kind,
            RelationKind::HasOne
                | RelationKind::HasMany
                | RelationKind::MorphOne
                | RelationKind::MorphMany
        ) {
            let key = column_key::<C>(relation.foreign_key, context.parent_value);
            child.set_column(relation.foreign_key, key.as_ref())?;
            if let Some(morph) = relation.morph_value() {
                child.set_column(relation.morph_type, ValueRef::Text(morph.into()))?;
            }
        }
        Ok(())
    }

    /// The first related row matching `attributes` with `values` applied and saved, or
    /// a new related model made from both and created through the relation (Eloquent's
    /// `$user->posts()->updateOrCreate(..)`).
    pub fn update_or_create<'a>(
        self,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<C>
    where
        C: Default,
    {
        let values: Vec<(&str, Value)> = values.into_iter().collect();
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        match self
            .clone()
            .find_or_build(attributes.iter().cloned(), values.iter().cloned())?
        {
            Found::Stored(mut found) => {
                // Already related: saved as itself (through a belongs-to-many relation,
                // `save` would attach it a second time), on the query's connection (a
                // model without a state remembers none).
                crate::model::apply(&mut found, values)?;
                crate::model::save_named(&mut found, self.connection_name())?;
                Ok(found)
            }
            Found::Built(query, child) => {
                // Through a belongs-to-many relation, a matching related row not attached
                // yet is attached and updated, not created a second time (Eloquent's
                // `updateOrCreate` goes through `firstOrCreate`).
                if let Some(mut found) = query.unattached_match(&attributes)? {
                    let name = query.connection_name().to_owned();
                    return crate::DB::connection(&name).transaction(|| {
                        let linked =
                            linked_value(&found, query.relation_context("attach")?.relation);
                        query.attach([linked])?;
                        crate::model::apply(&mut found, values)?;
                        crate::model::save_named(&mut found, &name)?;
                        Ok(found)
                    });
                }
                query.create(child)
            }
        }
    }

    /// Through a belongs-to-many relation, a row of the related table matching
    /// `attributes` that this parent has not attached (Eloquent's `firstOrCreate` and
    /// `updateOrCreate` attach it rather than create a second one); `None` otherwise.
    /// Attaches `found`, a related row matched but not linked yet, and returns it.
    fn attach_found(self, found: C) -> Result<C> {
        let linked = linked_value(&found, self.relation_context("attach")?.relation);
        self.attach([linked])?;
        Ok(found)
    }

    fn unattached_match(&self, attributes: &[(&str, Value)]) -> Result<Option<C>> {
        let pivot = self
            .relation_context("first_or_create")
            .is_ok_and(|c| c.relation.kind.has_pivot());
        if !pivot {
            return Ok(None);
        }
        C::query()
            .use_connection(self.connection_name().to_owned())
            .matching(attributes)
            .first()
    }

    /// The first related row matching `attributes`, else a new model (its `Default`
    /// with `attributes` then `values`) and this query to write it through.
    fn find_or_build<'a>(
        self,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<Found<C>>
    where
        C: Default,
    {
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        if let Some(found) = self.clone().matching(&attributes).first()? {
            return Ok(Found::Stored(found));
        }
        let mut child = C::default();
        crate::model::apply(&mut child, attributes.into_iter().chain(values))?;
        Ok(Found::Built(self, child))
    }

    /// This relation query narrowed to the related rows whose columns hold `attributes`
    /// (each column qualified with the related table: a pivot joined beside it may share
    /// the name).
    fn matching(self, attributes: &[(&str, Value)]) -> Self {
        let table = C::meta().table;
        attributes.iter().fold(self, |q, (column, value)| {
            let column = match column.contains('.') {
                true => Ident::Owned((*column).to_owned()),
                false => Ident::Owned(format!("{table}.{column}")),
            };
            q.where_eq(column, value.clone())
        })
    }

    pub(super) fn write_child(
        self,
        child: &mut C,
        action: &str,
        write: impl Fn(&mut C, &str) -> Result<()>,
    ) -> Result<()> {
        self.write_child_with_pivot(child, action, &[], write)
    }

    /// [`Query::write_child`], writing `pivot`'s columns into the pivot row a
    /// belongs-to-many relation attaches.
    fn write_child_with_pivot(
        self,
        child: &mut C,
        action: &str,
        pivot: &[(&str, Value)],
        write: impl Fn(&mut C, &str) -> Result<()>,
    ) -> Result<()> {
        let name = self.connection_name().to_owned();
        if self.model.relation.is_none() {
            // A model query (`User::with_trashed().first_or_create(..)`): the model is
            // written as `Model::save`/`create` would, on the query's connection.
            write(child, &name)?;
            if name != C::meta().connection {
                if let Some(state) = child.state_mut() {
                    state.use_connection(&name);
                }
            }
            return Ok(());
        }
        let context = self.relation_context(action)?;
        let relation = context.relation;
        match relation.kind {
            RelationKind::HasOne
            | RelationKind::HasMany
            | RelationKind::MorphOne
            | RelationKind::MorphMany => {
                if context.parent_value.is_null() {
                    return Err(Error::invalid_query(
                        InvalidQueryKind::Relation,
                        format!(
                            "save the parent before `{action}` through `{}`",
                            relation.name
                        ),
                    ));
                }
                let key = column_key::<C>(relation.foreign_key, context.parent_value.clone());
                child.set_column(relation.foreign_key, key.as_ref())?;
                if let Some(morph) = relation.morph_value() {
                    child.set_column(relation.morph_type, ValueRef::Text(morph.into()))?;
                }
                write(child, &name)?;
            }
            RelationKind::BelongsToMany
            | RelationKind::MorphToMany
            | RelationKind::MorphedByMany => {
                self.pivot_context(action)?;
                crate::DB::connection(&name).transaction(|| {
                    write(child, &name)?;
                    let linked = linked_value(child, relation);
                    self.clone().attach_with(linked, pivot.iter().cloned())
                })?;
            }
            _ => {
                let hint = match relation.kind {
                    RelationKind::BelongsTo | RelationKind::MorphTo => {
                        "use associate() for belongs-to relations"
                    }
                    _ => "a through relation's rows are written through the relations it goes through",
                };
                return Err(Error::invalid_query(
                    InvalidQueryKind::Relation,
                    format!("cannot {action} through `{}`: {hint}", relation.name),
                ));
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
        let query = self.clone();
        query.touching(self.attach_rows(rows))
    }

    /// Attaches one related key with extra pivot columns.
    pub fn attach_with<'a>(
        self,
        key: impl Into<Value>,
        pivot: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<()> {
        let query = self.clone();
        let attached = self.attach_rows(vec![(key.into(), pivot.into_iter().collect())]);
        query.touching(attached).map(|_| ())
    }

    /// `written` (how many pivot rows a write changed), after touching the related rows
    /// when it changed some and the relation is declared with `touch` (Eloquent's
    /// `touchIfTouching`: the parent touches the relation, so its related rows are
    /// stamped, all of them, as `BelongsToMany::touch` does).
    fn touching(self, written: Result<u64>) -> Result<u64> {
        let written = written?;
        if written > 0 {
            self.touch_related()?;
        }
        Ok(written)
    }

    fn touch_related(self) -> Result<()> {
        let context = self.pivot_context("touch")?;
        if !context.relation.touch {
            return Ok(());
        }
        let Some((rows, stamp)) =
            crate::model::touch_through_pivot(context.relation, context.parent_value)
        else {
            return Ok(());
        };
        rows.use_connection(Ident::Owned(self.connection_name().to_owned()))
            .update(stamp)
            .map(|_| ())
    }

    pub(super) fn attach_rows(self, rows: Vec<(Value, Vec<(&str, Value)>)>) -> Result<u64> {
        let context = self.pivot_context("attach")?;
        let relation = context.relation;
        if rows.is_empty() {
            return Ok(0);
        }
        let stamp = relation.pivot_timestamps.then(|| Value::DateTimeUtc(now()));
        // `with_pivot_value`s, declared or added to this query, win over the caller's
        // (Eloquent's `pivotValues`): a row without them would not be the relation's.
        let declared = declared_pivot_conditions(relation);
        let written: Vec<(&str, &Value)> = declared
            .iter()
            .chain(&context.pivot_conditions)
            .filter_map(PivotCondition::written_value)
            .collect();
        let pivot_rows: Vec<Vec<(&str, Value)>> = rows
            .into_iter()
            .map(|(key, extra)| {
                let mut row = vec![
                    (relation.foreign_key, context.parent_value.clone()),
                    (relation.related_key, related_key(relation, key)),
                ];
                if let Some(morph) = relation.morph_value() {
                    row.push((relation.morph_type, Value::Text(morph.to_owned())));
                }
                if let Some(at) = &stamp {
                    row.push(("created_at", at.clone()));
                    row.push(("updated_at", at.clone()));
                }
                // A column given is the caller's value, in place of ours (Eloquent's
                // array_merge), not a second one: a row naming a column twice is refused.
                let fixed = written.iter().map(|(c, v)| (*c, (*v).clone()));
                for (column, value) in extra.into_iter().chain(fixed) {
                    match row.iter_mut().find(|(c, _)| *c == column) {
                        Some(slot) => slot.1 = value,
                        None => row.push((column, value)),
                    }
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
        let query = self.clone();
        query.touching(self.detach_keys(keys))
    }

    fn detach_keys<K: Into<Value>>(self, keys: impl IntoIterator<Item = K>) -> Result<u64> {
        let context = self.pivot_context("detach")?;
        let keys = related_keys(context.relation, keys);
        self.pivot_rows(&context)
            .where_in(context.relation.related_key, keys)
            .delete()
    }

    /// Changes columns of the existing pivot row linking the parent to `key` (with pivot
    /// timestamps, also its `updated_at`); returns how many pivot rows changed (0 when
    /// they are not linked: nothing is attached). Eloquent's `updateExistingPivot`.
    pub fn update_existing_pivot<'a>(
        self,
        key: impl Into<Value>,
        pivot: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        let query = self.clone();
        query.touching(self.update_pivot_row(key.into(), pivot))
    }

    fn update_pivot_row<'a>(
        self,
        key: Value,
        pivot: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        let context = self.pivot_context("update_existing_pivot")?;
        let mut values: Vec<(&str, Value)> = pivot.into_iter().collect();
        if context.relation.pivot_timestamps && !values.iter().any(|(c, _)| *c == "updated_at") {
            values.push(("updated_at", Value::DateTimeUtc(now())));
        }
        self.pivot_rows(&context)
            .where_eq(
                context.relation.related_key,
                related_key(context.relation, key),
            )
            .update(values)
    }

    /// Unlinks every related row; returns how many pivot rows went.
    pub fn detach_all(self) -> Result<u64> {
        let context = self.pivot_context("detach_all")?;
        self.refuse_related_conditions(&context, "detach_all")?;
        let query = self.clone();
        query.touching(self.pivot_rows(&context).delete())
    }

    /// Makes the linked keys exactly `keys`: attaches the missing, detaches the rest.
    pub fn sync<K: Into<Value>>(self, keys: impl IntoIterator<Item = K>) -> Result<SyncChanges> {
        self.sync_rows("sync", without_values(keys), true)
    }

    /// [`Query::sync`] with pivot values per key (Eloquent's `sync([1 => ['expires' =>
    /// ..], 2])`): the missing keys are attached with their values, the values given for
    /// a key already linked are written into its pivot row (it is then in `updated`),
    /// and the keys not given are detached.
    pub fn sync_with<'a, K: Into<Value>, P: IntoIterator<Item = (&'a str, Value)>>(
        self,
        rows: impl IntoIterator<Item = (K, P)>,
    ) -> Result<SyncChanges> {
        self.sync_rows("sync_with", with_values(rows), true)
    }

    /// Attaches the keys not linked yet and leaves every linked key linked (Eloquent's
    /// `syncWithoutDetaching`); `detached` is always empty.
    pub fn sync_without_detaching<K: Into<Value>>(
        self,
        keys: impl IntoIterator<Item = K>,
    ) -> Result<SyncChanges> {
        self.sync_rows("sync_without_detaching", without_values(keys), false)
    }

    /// [`Query::sync_without_detaching`] with pivot values per key, written as
    /// [`Query::sync_with`] writes them.
    pub fn sync_without_detaching_with<
        'a,
        K: Into<Value>,
        P: IntoIterator<Item = (&'a str, Value)>,
    >(
        self,
        rows: impl IntoIterator<Item = (K, P)>,
    ) -> Result<SyncChanges> {
        self.sync_rows("sync_without_detaching_with", with_values(rows), false)
    }

    /// The keys of the related rows linked through the pivot, read from the pivot table
    /// alone (Eloquent's `allRelatedIds`): `user.roles().all_related_ids()?`. The
    /// relation's pivot conditions (`where_pivot`) apply; conditions on the related rows
    /// do not, since they are not read.
    pub fn all_related_ids(self) -> Result<Vec<Value>> {
        let context = self.pivot_context("all_related_ids")?;
        self.linked_keys(&context)
    }

    /// The sync forms: in one transaction, attach the keys not linked (with their
    /// values), write the values of the linked ones, and, `detaching`, detach the rest.
    /// A key given twice counts once, with its first values.
    fn sync_rows(
        self,
        action: &str,
        rows: Vec<(Value, Vec<(&str, Value)>)>,
        detaching: bool,
    ) -> Result<SyncChanges> {
        let context = self.pivot_context(action)?;
        if detaching {
            self.refuse_related_conditions(&context, action)?;
        }
        let mut wanted: Vec<(Value, Vec<(&str, Value)>)> = Vec::with_capacity(rows.len());
        for (key, values) in rows {
            let key = related_key(context.relation, key);
            if !wanted
                .iter()
                .any(|(k, _)| KeyRepr::of(k) == KeyRepr::of(&key))
            {
                wanted.push((key, values));
            }
        }
        if wanted.is_empty() && !detaching {
            // Nothing to attach and nothing to detach: no statement at all (Eloquent's).
            return Ok(SyncChanges::default());
        }
        let name = self.connection_name().to_owned();
        crate::DB::connection(&name).transaction(|| {
            let current = self.linked_keys(&context)?;
            let detached: Vec<Value> = if detaching {
                let keys: Vec<Value> = wanted.iter().map(|(k, _)| k.clone()).collect();
                current
                    .iter()
                    .filter(|k| !contains(&keys, k))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
            let mut changes = SyncChanges {
                detached,
                ..SyncChanges::default()
            };
            let mut new_rows = Vec::new();
            for (key, values) in wanted {
                if !contains(&current, &key) {
                    changes.attached.push(key.clone());
                    new_rows.push((key, values));
                } else if !values.is_empty()
                    && self.clone().update_pivot_row(key.clone(), values)? > 0
                {
                    changes.updated.push(key);
                }
            }
            if !changes.detached.is_empty() {
                self.clone().detach_keys(changes.detached.clone())?;
            }
            self.clone().attach_rows(new_rows)?;
            let changed = changes.attached.len() + changes.detached.len() + changes.updated.len();
            self.clone().touching(Ok(changed as u64))?;
            Ok(changes)
        })
    }

    /// Attaches the keys not linked yet and detaches the linked ones. A key given twice
    /// is toggled once (as Eloquent reads the keys: a set).
    pub fn toggle<K: Into<Value>>(self, keys: impl IntoIterator<Item = K>) -> Result<SyncChanges> {
        self.toggle_rows("toggle", without_values(keys))
    }

    /// [`Query::toggle`] with pivot values for the keys it attaches (Eloquent's
    /// `toggle([1 => ['expires' => ..], 2])`); the linked keys are detached.
    pub fn toggle_with<'a, K: Into<Value>, P: IntoIterator<Item = (&'a str, Value)>>(
        self,
        rows: impl IntoIterator<Item = (K, P)>,
    ) -> Result<SyncChanges> {
        self.toggle_rows("toggle_with", with_values(rows))
    }

    fn toggle_rows(
        self,
        action: &str,
        rows: Vec<(Value, Vec<(&str, Value)>)>,
    ) -> Result<SyncChanges> {
        let context = self.pivot_context(action)?;
        self.refuse_related_conditions(&context, action)?;
        let mut unique: Vec<(Value, Vec<(&str, Value)>)> = Vec::with_capacity(rows.len());
        for (key, values) in rows {
            let key = related_key(context.relation, key);
            if !unique
                .iter()
                .any(|(k, _)| KeyRepr::of(k) == KeyRepr::of(&key))
            {
                unique.push((key, values));
            }
        }
        let name = self.connection_name().to_owned();
        crate::DB::connection(&name).transaction(|| {
            let current = self.linked_keys(&context)?;
            let (linked, unlinked): (Vec<_>, Vec<_>) =
                unique.into_iter().partition(|(k, _)| contains(&current, k));
            let detached: Vec<Value> = linked.into_iter().map(|(k, _)| k).collect();
            let attached: Vec<Value> = unlinked.iter().map(|(k, _)| k.clone()).collect();
            if !detached.is_empty() {
                self.clone().detach_keys(detached.clone())?;
            }
            self.clone().attach_rows(unlinked)?;
            self.clone()
                .touching(Ok((attached.len() + detached.len()) as u64))?;
            Ok(SyncChanges {
                attached,
                detached,
                updated: Vec::new(),
            })
        })
    }

    /// `AND pivot.column op value` on a belongs-to-many relation query
    /// (`user.roles().where_pivot("active", "=", true)`, Eloquent's `wherePivot`).
    /// The pivot conditions also limit what `detach`, `sync`, `toggle` and
    /// `update_existing_pivot` touch through this query, as Eloquent's do.
    pub fn where_pivot(
        mut self,
        column: &str,
        op: impl crate::query::IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        // An unknown operator is the query's failure, reported when it runs.
        let Some(op) = self.operator(op) else {
            return self;
        };
        self.pivot_where(
            "where_pivot",
            false,
            column,
            PivotTest::Compare(op, value.into()),
        )
    }

    /// `OR pivot.column op value` (see [`Query::where_pivot`]).
    pub fn or_where_pivot(
        mut self,
        column: &str,
        op: impl crate::query::IntoOperator,
        value: impl Into<Value>,
    ) -> Self {
        let Some(op) = self.operator(op) else {
            return self;
        };
        self.pivot_where(
            "or_where_pivot",
            true,
            column,
            PivotTest::Compare(op, value.into()),
        )
    }

    /// `AND pivot.column IN (values)` (see [`Query::where_pivot`]).
    pub fn where_pivot_in<V: Into<Value>>(
        self,
        column: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let test = PivotTest::In(values.into_iter().map(Into::into).collect(), false);
        self.pivot_where("where_pivot_in", false, column, test)
    }

    /// `OR pivot.column IN (values)` (see [`Query::where_pivot`]).
    pub fn or_where_pivot_in<V: Into<Value>>(
        self,
        column: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let test = PivotTest::In(values.into_iter().map(Into::into).collect(), false);
        self.pivot_where("or_where_pivot_in", true, column, test)
    }

    /// `AND pivot.column NOT IN (values)` (see [`Query::where_pivot`]).
    pub fn where_pivot_not_in<V: Into<Value>>(
        self,
        column: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let test = PivotTest::In(values.into_iter().map(Into::into).collect(), true);
        self.pivot_where("where_pivot_not_in", false, column, test)
    }

    /// `OR pivot.column NOT IN (values)` (see [`Query::where_pivot`]).
    pub fn or_where_pivot_not_in<V: Into<Value>>(
        self,
        column: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        let test = PivotTest::In(values.into_iter().map(Into::into).collect(), true);
        self.pivot_where("or_where_pivot_not_in", true, column, test)
    }

    /// `AND pivot.column IS NULL` (see [`Query::where_pivot`]).
    pub fn where_pivot_null(self, column: &str) -> Self {
        self.pivot_where("where_pivot_null", false, column, PivotTest::Null(false))
    }

    /// `OR pivot.column IS NULL` (see [`Query::where_pivot`]).
    pub fn or_where_pivot_null(self, column: &str) -> Self {
        self.pivot_where("or_where_pivot_null", true, column, PivotTest::Null(false))
    }

    /// `AND pivot.column IS NOT NULL` (see [`Query::where_pivot`]).
    pub fn where_pivot_not_null(self, column: &str) -> Self {
        self.pivot_where("where_pivot_not_null", false, column, PivotTest::Null(true))
    }

    /// `OR pivot.column IS NOT NULL` (see [`Query::where_pivot`]).
    pub fn or_where_pivot_not_null(self, column: &str) -> Self {
        self.pivot_where(
            "or_where_pivot_not_null",
            true,
            column,
            PivotTest::Null(true),
        )
    }

    /// `AND pivot.column BETWEEN low AND high` (see [`Query::where_pivot`]; Eloquent's
    /// `wherePivotBetween`).
    pub fn where_pivot_between(
        self,
        column: &str,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        let test = PivotTest::Between(low.into(), high.into(), false);
        self.pivot_where("where_pivot_between", false, column, test)
    }

    /// `OR pivot.column BETWEEN low AND high` (see [`Query::where_pivot`]).
    pub fn or_where_pivot_between(
        self,
        column: &str,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        let test = PivotTest::Between(low.into(), high.into(), false);
        self.pivot_where("or_where_pivot_between", true, column, test)
    }

    /// `AND pivot.column NOT BETWEEN low AND high` (see [`Query::where_pivot`]).
    pub fn where_pivot_not_between(
        self,
        column: &str,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        let test = PivotTest::Between(low.into(), high.into(), true);
        self.pivot_where("where_pivot_not_between", false, column, test)
    }

    /// `OR pivot.column NOT BETWEEN low AND high` (see [`Query::where_pivot`]).
    pub fn or_where_pivot_not_between(
        self,
        column: &str,
        low: impl Into<Value>,
        high: impl Into<Value>,
    ) -> Self {
        let test = PivotTest::Between(low.into(), high.into(), true);
        self.pivot_where("or_where_pivot_not_between", true, column, test)
    }

    /// Only the related rows whose pivot `column` is `value`, and every row attached
    /// through the relation gets that value in its pivot row (Eloquent's
    /// `withPivotValue`). Meant for a relation's declared constraint:
    /// `#[model(belongs_to_many(Role, constrain = Role::approved))]` with
    /// `fn approved(q: Query<Role>) -> Query<Role> { q.with_pivot_value("approved", true) }`
    /// makes `user.approved_roles().attach([1])` write `approved = true`.
    pub fn with_pivot_value(self, column: &str, value: impl Into<Value>) -> Self {
        let test = PivotTest::Compare(Operator::Eq, value.into());
        self.pivot_condition("with_pivot_value", false, column, test, true)
    }

    fn pivot_where(self, action: &str, or: bool, column: &str, test: PivotTest) -> Self {
        self.pivot_condition(action, or, column, test, false)
    }

    /// Applies a pivot condition to the query (with `column` qualified by the pivot
    /// table) and records it in the relation's context, for the pivot writes; or makes
    /// the query fail when it is no belongs-to-many relation query.
    fn pivot_condition(
        mut self,
        action: &str,
        or: bool,
        column: &str,
        test: PivotTest,
        written: bool,
    ) -> Self {
        let context = self
            .model
            .relation
            .as_ref()
            .and_then(|link| Some((link, link.context.downcast_ref::<RelationContext>()?)))
            .filter(|(_, context)| context.relation.kind.has_pivot());
        let Some((link, context)) = context else {
            return self.fail(
                InvalidQueryKind::Relation,
                format!("`{action}` works on a belongs-to-many relation query"),
            );
        };
        let column = format!("{}.{column}", context.relation.pivot());
        let mut context = context.clone();
        context.pivot_conditions.push(PivotCondition {
            or,
            column: column.clone(),
            test: test.clone(),
            written,
        });
        let lazy_guard = link.lazy_guard;
        let delete_refused = link.delete_refused.clone();
        self.model.relation = Some(Arc::new(RelationLink {
            lazy_guard,
            delete_refused,
            context,
        }));
        test.apply(self, or, column)
    }

    /// `ORDER BY pivot.column ASC` on a belongs-to-many relation query (Eloquent's
    /// `orderByPivot`).
    pub fn order_by_pivot(self, column: &str) -> Self {
        self.on_pivot("order_by_pivot", column, Query::order_by)
    }

    /// `ORDER BY pivot.column DESC` (see [`Query::order_by_pivot`]).
    pub fn order_by_pivot_desc(self, column: &str) -> Self {
        self.on_pivot("order_by_pivot_desc", column, Query::order_by_desc)
    }

    /// Applies `f` with `column` qualified by the relation's pivot table, or makes the
    /// query fail when it is no belongs-to-many relation query.
    fn on_pivot(self, action: &str, column: &str, f: impl FnOnce(Self, String) -> Self) -> Self {
        let pivot = self
            .model
            .relation
            .as_ref()
            .and_then(|link| link.context.downcast_ref::<RelationContext>())
            .filter(|context| context.relation.kind.has_pivot())
            .map(|context| context.relation.pivot());
        match pivot {
            Some(pivot) => f(self, format!("{pivot}.{column}")),
            None => self.fail(
                InvalidQueryKind::Relation,
                format!("`{action}` works on a belongs-to-many relation query"),
            ),
        }
    }

    /// Adds pivot columns to the selection, read back by [`Query::get_with_pivot`].
    pub fn with_pivot(self, columns: &[&str]) -> Self {
        let Some(context) = self
            .model
            .relation
            .as_ref()
            .and_then(|link| link.context.downcast_ref::<RelationContext>())
            .cloned()
        else {
            return self.fail(
                InvalidQueryKind::Relation,
                "`with_pivot` works on a belongs-to-many relation query",
            );
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
        let mut columns = vec![
            format!("{pivot}.{}", context.relation.foreign_key),
            format!("{pivot}.{}", context.relation.related_key),
        ];
        // The declared pivot columns (`with_pivot = [..]`) and timestamps come along.
        columns.extend(
            context
                .relation
                .eager_pivot_columns()
                .iter()
                .skip(2)
                .map(|c| format!("{pivot}.{c}")),
        );
        let query = self.add_select(columns);
        query.run(|mut query, conn| {
            // The model's eager loads (`with`, `#[model(with = [..])]`) run on the models
            // once read; nothing else of the model's query applies to the pivot columns.
            let eager = query.model.eager.take();
            query.model = Default::default();
            let width = C::meta().columns.len();
            let mut layout = query.layout();
            let (sql, binds) = query.render_owned(conn.dialect())?;
            let mut names: Option<Arc<[String]>> = None;
            let mut record_names = None;
            let pairs = conn.query_map_native(&sql, &binds, |row| {
                let model = layout.decode::<C>(row, &mut record_names)?;
                let names = names.get_or_insert_with(|| {
                    (width..row.len())
                        .map(|i| row.column_name(i).to_owned())
                        .collect()
                });
                let values = (width..row.len())
                    .map(|i| row.value(&i).map(|v| v.to_owned_value()))
                    .collect::<Result<Vec<_>>>()?;
                Ok((model, Record::new(Arc::clone(names), values)))
            })?;
            let Some(eager) = eager else {
                return Ok(pairs);
            };
            let (mut models, pivots): (Vec<C>, Vec<Record>) = pairs.into_iter().unzip();
            (eager.after_load)(&mut models, &eager.plan, conn)?;
            Ok(models.into_iter().zip(pivots).collect())
        })
    }

    /// The parent's pivot rows this relation query sees: those of the parent (and morph
    /// type), through the pivot conditions the relation declares and the query added.
    pub(super) fn pivot_rows(&self, context: &RelationContext) -> Query<Record> {
        let rows = Query::<Record>::new(context.relation.pivot())
            .use_connection(Ident::Owned(self.connection_name().to_owned()))
            .where_eq(context.relation.foreign_key, context.parent_value.clone());
        let rows = match context.relation.morph_value() {
            Some(morph) => rows.where_eq(context.relation.morph_type, morph),
            None => rows,
        };
        let declared = declared_pivot_conditions(context.relation);
        let conditions: Vec<&PivotCondition> =
            declared.iter().chain(&context.pivot_conditions).collect();
        if conditions.is_empty() {
            return rows;
        }
        rows.bracketed(|q| conditions.iter().fold(q, |q, c| c.apply(q)))
    }

    pub(super) fn linked_keys(&self, context: &RelationContext) -> Result<Vec<Value>> {
        let keys = self
            .pivot_rows(context)
            .pluck::<Value>(context.relation.related_key)?;
        Ok(related_keys(context.relation, keys))
    }
}

/// The pivot conditions a relation's declared constraint adds (`where_pivot` in its
/// `constrain` function), read by running the constraint on an empty query.
fn declared_pivot_conditions(relation: &'static RelationMeta) -> Vec<PivotCondition> {
    let Some(constrain) = relation.constraint else {
        return Vec::new();
    };
    let mut probe = Query::<Record>::new((relation.related)().table);
    probe.model.relation = Some(RelationContext::parentless_link(relation));
    let probe = constrain(probe);
    probe
        .model
        .relation
        .as_ref()
        .and_then(|link| link.context.downcast_ref::<RelationContext>())
        .map(|context| context.pivot_conditions.clone())
        .unwrap_or_default()
}

/// `key` as a value of the related model's column the pivot links to (`"1"` is the
/// integer key 1), so that keys compare as the database compares them.
fn related_key(relation: &RelationMeta, key: Value) -> Value {
    let related = (relation.related)();
    let column = relation.linked_column();
    match related.columns.iter().position(|c| *c == column) {
        Some(i) => key.into_key_of(related.column_types[i].0),
        None => key,
    }
}

/// The value of `model`'s column a pivot row of `relation` links to: its key, unless
/// the relation names another column (`related_key`).
fn linked_value<C: Model>(model: &C, relation: &RelationMeta) -> Value {
    match relation.linked_key {
        None => model.key_value(),
        Some(column) => model.column_value(column).unwrap_or(Value::Null),
    }
}

/// `key` as a value of `M`'s field for `column`: a text foreign key gets the parent's
/// integer key as its text.
fn column_key<M: Model>(column: &str, key: Value) -> Value {
    let meta = M::meta();
    match meta.columns.iter().position(|c| *c == column) {
        Some(i) => key.into_key_of(meta.column_types[i].0),
        None => key,
    }
}

fn related_keys<K: Into<Value>>(
    relation: &RelationMeta,
    keys: impl IntoIterator<Item = K>,
) -> Vec<Value> {
    keys.into_iter()
        .map(|key| related_key(relation, key.into()))
        .collect()
}

pub(super) fn contains(values: &[Value], wanted: &Value) -> bool {
    let wanted = KeyRepr::of(wanted);
    values.iter().any(|v| KeyRepr::of(v) == wanted)
}

// ----- belongs-to: associate / dissociate ----------------------------------------------

pub(crate) fn associate<M: Model, O: Model + Clone>(
    model: &mut M,
    relation: &str,
    owner: &O,
) -> Result<()> {
    let relation = belongs_to::<M>(relation)?;
    if relation.kind == RelationKind::MorphTo
        && !relation
            .morph_targets
            .iter()
            .any(|target| std::ptr::eq(target(), O::meta()))
    {
        return Err(Error::invalid_query(
            InvalidQueryKind::Relation,
            format!(
                "`{}` on {} cannot hold a {}: its morph_to enum has no variant for it",
                relation.name,
                M::meta().name,
                O::meta().name
            ),
        ));
    }
    let owner_key = match relation.kind {
        RelationKind::MorphTo => O::meta().primary_key,
        _ => relation.owner_key(),
    };
    let key = owner.column_value(owner_key).unwrap_or(Value::Null);
    if key.is_null() {
        return Err(Error::invalid_query(
            InvalidQueryKind::Relation,
            format!(
                "cannot associate `{}` with an unsaved {}",
                relation.name,
                O::meta().name
            ),
        ));
    }
    let key = column_key::<M>(relation.foreign_key, key);
    model.set_column(relation.foreign_key, key.as_ref())?;
    if relation.kind == RelationKind::MorphTo {
        model.set_column(
            relation.morph_type,
            ValueRef::Text(O::meta().morph_name.into()),
        )?;
    }
    // The loaded relation is the owner now (Eloquent's setRelation); a morph_to holds
    // its enum, which this owner is not, so it is unloaded instead.
    if let Some(slot) = model.relation_slot(relation.name) {
        match slot.as_any_mut().downcast_mut::<One<O>>() {
            Some(one) => one.set(Some(owner.clone())),
            None => slot.unload(),
        }
    }
    Ok(())
}

pub(crate) fn dissociate<M: Model>(model: &mut M, relation: &str) -> Result<()> {
    let relation = belongs_to::<M>(relation)?;
    model.set_column(relation.foreign_key, Value::Null.as_ref())?;
    if relation.kind == RelationKind::MorphTo {
        model.set_column(relation.morph_type, Value::Null.as_ref())?;
    }
    // The relation now holds no owner (Eloquent's setRelation(.., null)).
    if let Some(slot) = model.relation_slot(relation.name) {
        slot.clear();
    }
    Ok(())
}

/// The belongs-to or morph-to relation `name` of `M`.
pub(super) fn belongs_to<M: Model>(name: &str) -> Result<&'static RelationMeta> {
    let relation = M::meta().relation(name)?;
    if !matches!(
        relation.kind,
        RelationKind::BelongsTo | RelationKind::MorphTo
    ) {
        return Err(Error::invalid_query(
            InvalidQueryKind::Relation,
            format!(
                "`{name}` on {} is not a belongs-to or morph-to relation",
                M::meta().name
            ),
        ));
    }
    Ok(relation)
}

// ----- eager loading --------------------------------------------------------------------
