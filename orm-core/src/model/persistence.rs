//! Writing one model: save (insert or update changed columns), delete, restore, refresh, touch; bulk writes with hooks.

use super::persist::{
    record_changes, record_created, remember_write, set_written, settle, sync_original,
    written_column, Persist,
};
use super::*;
use crate::untimed::{events_paused, touches_paused};

/// A mass update or delete on a model with hooks: load the models, write each (hooks
/// run), all in one transaction so a hook's `Err` cancels everything.
pub(super) fn bulk_write<M: Model>(
    query: Query<M>,
    op: BulkOp,
    conn: &mut Connection,
) -> Result<u64> {
    if let Some(refused) = query.parts().write_refused() {
        return Err(refused);
    }
    conn.transaction(|conn| {
        // The connection is lent to the thread while the hooks run, so what they write
        // (`DB::table`, other models) goes into this transaction, on this connection:
        // kept or rolled back with the mass write, never on another of the pool.
        crate::Executor::scope(conn, || {
            let mut models = query.locked_for_write().get()?;
            let mut on = On::Named(M::meta().connection);
            for model in &mut models {
                write_one(model, &op, &mut on)?;
            }
            Ok(models.len() as u64)
        })
    })
}

/// One model's part of [`bulk_write`].
fn write_one(model: &mut dyn Persist, op: &BulkOp, on: &mut On) -> Result<()> {
    match op {
        BulkOp::Update(values) => {
            // The row as read, so that what the hooks change besides is written too.
            let baseline: Vec<Option<Value>> = model
                .meta()
                .columns
                .iter()
                .map(|c| model.column_value(c))
                .collect();
            let meta = model.meta();
            let mut columns: Vec<&str> = Vec::with_capacity(values.len());
            for (name, value) in values {
                set_written(model, name, value.clone())?;
                if let Some(column) = written_column(meta, name) {
                    if !columns.contains(&column) {
                        columns.push(column);
                    }
                }
            }
            save_columns(model, on, &columns, Some(&baseline))
        }
        BulkOp::Delete { force } => delete_with(model, on, *force, false),
    }
}

/// Stamps `updated_at` on the owners of the belongs-to relations declared with `touch`
/// (after this model was written): the owner sees its children change.
#[inline(always)]
pub(super) fn touch_owners(model: &dyn Persist, on: &mut On) -> Result<()> {
    // Most models touch nothing: no call for them.
    if touches_owners(model.meta()) {
        touch_each_owner(model, on)
    } else {
        Ok(())
    }
}

/// Whether the model declares a relation whose owner its writes touch.
#[inline(always)]
fn touches_owners(meta: &ModelMeta) -> bool {
    meta.relations.iter().any(|r| r.touch)
}

fn touch_each_owner(model: &dyn Persist, on: &mut On) -> Result<()> {
    if crate::untimed::every_touch_paused() {
        return Ok(());
    }
    let mut path = Vec::new();
    for relation in model.meta().relations.iter().filter(|r| r.touch) {
        if relation.kind.has_pivot() {
            let parent = model.column_value(relation.parent_column());
            if let Some((rows, stamp)) = parent.and_then(|p| touch_through_pivot(relation, p)) {
                on.run(|conn| rows.update_on(conn, stamp))?;
            }
        } else if let Some(key) = model.column_value(relation.foreign_key) {
            touch_owner(relation, key, on, &mut path)?;
        }
    }
    Ok(())
}

/// Rows to update, and the timestamp to write into them.
pub(crate) type RowsToStamp = (Query<crate::row::Record>, [(&'static str, Value); 1]);

/// For a belongs-to-many relation declared with `touch` (Eloquent's `$touches` naming a
/// `belongsToMany`): the related rows linked to the parent whose key is `parent`, and
/// the stamp of their `updated_at`, as Eloquent's `BelongsToMany::touch` writes it
/// (one mass update, soft-deleted rows left alone, their own owners not touched).
/// `None` when the related model has no `updated_at`, or the parent no key.
pub(crate) fn touch_through_pivot(
    relation: &'static RelationMeta,
    parent: Value,
) -> Option<RowsToStamp> {
    let related = (relation.related)();
    let updated_at = related.stamped_updated_at()?;
    if parent.is_null() || touches_paused(related.name) {
        return None;
    }
    let pivot = relation.pivot();
    let mut linked = Query::<crate::row::Record>::table(pivot)
        .select(vec![relation.related_key])
        .where_eq(relation.foreign_key, parent);
    if let Some(morph) = relation.morph_value() {
        linked = linked.where_eq(relation.morph_type, morph);
    }
    let mut rows = Query::<crate::row::Record>::table(related.table)
        .where_in_sub(relation.linked_column(), linked);
    if let Some(deleted_at) = related.deleted_at {
        rows = rows.where_null(related.columns[deleted_at]);
    }
    Some((
        rows,
        [(related.columns[updated_at], Value::DateTimeUtc(now()))],
    ))
}

/// Stamps the owner whose key is `key` through `relation`, unless it is soft-deleted
/// (Eloquent touches through the relation, which hides trashed owners), then the owners
/// that owner touches, as Eloquent's `touchOwners()` goes on to the owner's own. An
/// owner whose touches are paused (`without_touching`) or that has no `updated_at` is
/// not stamped, but the chain goes on past it, as in Eloquent (Laravel's
/// `testTouchesGreatParentEvenWhenParentIsInNoTouchScope`). `path` holds the owners
/// being touched below this one (table and key), so that a cycle of rows touching each
/// other ends.
fn touch_owner(
    relation: &RelationMeta,
    key: Value,
    on: &mut On,
    path: &mut Vec<(&'static str, Value)>,
) -> Result<()> {
    let owner = (relation.related)();
    let stamped = owner
        .stamped_updated_at()
        .filter(|_| !touches_paused(owner.name));
    let above: Vec<&RelationMeta> = owner.relations.iter().filter(|r| r.touch).collect();
    if key.is_null()
        || (stamped.is_none() && above.is_empty())
        || path
            .iter()
            .any(|(table, k)| *table == owner.table && *k == key)
    {
        return Ok(());
    }
    let mut rows =
        Query::<crate::row::Record>::table(owner.table).where_eq(relation.owner_key(), key.clone());
    if let Some(deleted_at) = owner.deleted_at {
        rows = rows.where_null(owner.columns[deleted_at]);
    }
    let stamp = stamped.map(|i| [(owner.columns[i], Value::DateTimeUtc(now()))]);
    if above.is_empty() {
        if let Some(stamp) = stamp {
            on.run(|conn| rows.update_on(conn, stamp))?;
        }
        return Ok(());
    }
    let touched = rows
        .clone()
        .select(above.iter().map(|r| r.foreign_key).collect::<Vec<_>>());
    if let Some(stamp) = stamp {
        on.run(|conn| rows.update_on(conn, stamp))?;
    }
    let owners = on.run(|conn| touched.get_on(conn))?;
    path.push((owner.table, key));
    for row in &owners {
        for relation in &above {
            touch_owner(
                relation,
                row.get::<Value, _>(relation.foreign_key)?,
                on,
                path,
            )?;
        }
    }
    path.pop();
    Ok(())
}

/// The time to stamp a write with: now when the model has timestamp columns (otherwise
/// nothing reads it, so no clock is read).
pub(super) fn timestamp_for(meta: &ModelMeta) -> DateTime<Utc> {
    if meta.created_at.is_some() || meta.updated_at.is_some() {
        now()
    } else {
        DateTime::<Utc>::MIN_UTC
    }
}

pub(super) fn set_timestamp(
    model: &mut dyn Persist,
    index: Option<usize>,
    at: DateTime<Utc>,
) -> Result<()> {
    if let Some(i) = index {
        model.set_column(model.meta().columns[i], ValueRef::DateTimeUtc(at))?;
    }
    Ok(())
}

/// Stamps a timestamp column the caller left unset (a value they set is kept).
#[inline]
pub(super) fn stamp_unset(
    model: &mut dyn Persist,
    index: Option<usize>,
    at: DateTime<Utc>,
) -> Result<()> {
    if let Some(i) = index {
        let column = model.meta().columns[i];
        if model.column_value(column).is_none_or(|v| v.is_null()) {
            model.set_column(column, ValueRef::DateTimeUtc(at))?;
        }
    }
    Ok(())
}

/// The version a versioned model holds (what its next update checks for): with a
/// state, the version as read or last written (which a rolled-back update takes back;
/// the field keeps the bumped number), else the field's.
pub(super) fn version_read(model: &dyn Persist) -> Option<Value> {
    let meta = model.meta();
    let v = meta.version?;
    let stored = model
        .state()
        .and_then(ModelState::original)
        .and_then(|original| original.get(v).cloned());
    Some(stored.unwrap_or_else(|| model.column_value(meta.columns[v]).unwrap_or(Value::Null)))
}

/// After an update of a versioned model: the field holds the row's new version.
pub(super) fn bump_version(model: &mut dyn Persist, read: Option<Value>) -> Result<()> {
    let meta = model.meta();
    if let (Some(v), Some(Value::Int(n))) = (meta.version, read) {
        model.set_column(meta.columns[v], ValueRef::Int(n + 1))?;
        sync_original(model, &[v]);
    }
    Ok(())
}

/// Why an update of the row with `key` changed nothing: the row was changed by someone
/// else (versioned model, row still there) or it is gone.
pub(super) fn stale_or_missing(meta: &'static ModelMeta, on: &mut On, key: &Value) -> Error {
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

/// [`save`] on the connection named `name`, resolved per statement: the model's hooks
/// run while no connection is held, so they may use the database, as `Model::save`'s.
pub(crate) fn save_named(model: &mut dyn Persist, name: &str) -> Result<()> {
    save(model, &mut On::Remembered(Arc::from(name)), None)
}

/// [`create`] on the connection named `name`, as [`save_named`].
pub(crate) fn insert_named(model: &mut dyn Persist, name: &str) -> Result<()> {
    create(model, &mut On::Remembered(Arc::from(name)))
}

/// Runs `write` (a model's write from its statement on: the statement, then touching its
/// owners and the hooks that follow it) in a transaction (a savepoint inside one) when
/// a step after the statement may still fail: the model's `created`/`updated`/`saved`/
/// `deleted`/`restored` hooks, or touching its owners. Else such an `Err` was returned
/// for a row that was kept, and a retry of the call wrote it twice. The hooks that run
/// before the write (`saving`, `creating`, ..) stay outside, as before: an `Err` from
/// them writes nothing. A failed `write` leaves the model as it was when `write` began.
/// `alone` is false for a write that is already part of one transaction (a mass write
/// model by model), whose failure undoes the whole.
fn all_or_nothing(
    model: &mut dyn Persist,
    on: &mut On,
    alone: bool,
    write: impl FnOnce(&mut dyn Persist, &mut On) -> Result<()>,
) -> Result<()> {
    let after_steps = model.runs_hooks() || touches_owners(model.meta());
    if !alone || !after_steps {
        return write(model, on);
    }
    let before = Snapshot::take(model);
    let result = on.transaction(|on| write(model, on));
    if result.is_err() {
        before.restore(model);
    }
    result
}

pub(super) fn save(model: &mut dyn Persist, on: &mut On, only: Option<&[&str]>) -> Result<()> {
    if events_paused() {
        return save_hooked(&mut Quiet(model), on, only);
    }
    save_hooked(model, on, only)
}

fn save_hooked(model: &mut dyn Persist, on: &mut On, only: Option<&[&str]>) -> Result<()> {
    settle(model);
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
pub(super) fn save_by_key(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    let meta = model.meta();
    let key = model.key_value();
    if key.is_null() {
        key.discard();
        return create(model, on);
    }
    // A model of its key alone (and no version) has no column to update: whether its
    // row exists is all a save can tell.
    let nothing_to_set =
        meta.version.is_none() && (0..meta.columns.len()).all(|i| !updatable(meta, i));
    let exists = (meta.incrementing && !nothing_to_set)
        || on.run(|conn| {
            let sql = exists_sql(meta, conn.dialect())?;
            Ok(conn
                .query_first_native(sql, std::slice::from_ref(&key), |_| Ok(()))?
                .is_some())
        })?;
    if !exists && meta.incrementing {
        return Err(stale_or_missing(meta, on, &key));
    }
    if !exists {
        return create(model, on);
    }
    model.saving()?;
    if nothing_to_set {
        return model.saved();
    }
    model.updating()?;
    all_or_nothing(model, on, true, update_every_column)
}

/// [`save_by_key`]'s update of every column, and what follows it.
fn update_every_column(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    let meta = model.meta();
    set_timestamp(model, meta.stamped_updated_at(), timestamp_for(meta))?;
    model.prepare_values()?;
    let key = model.key_value();
    let version = version_read(model);
    let changed = {
        let mut values = Binds::new();
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
        return Err(stale_or_missing(meta, on, &key));
    }
    bump_version(model, version)?;
    touch_owners(model, on)?;
    model.updated()?;
    model.saved()
}

/// The key of the row a model was read from: with a state, the key as read (the key
/// field itself may have been changed since), else the field's.
fn key_as_read(model: &dyn Persist) -> Value {
    let index = model.meta().primary_key_index;
    model
        .state()
        .and_then(ModelState::original)
        .map(|original| original[index].clone())
        .unwrap_or_else(|| model.key_value())
}

/// `save` on a stored model with a state: writes the changed columns only.
pub(super) fn update_changed(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    let meta = model.meta();
    let changes = |model: &dyn Persist| {
        let mut changed = model
            .state()
            .map_or_else(Vec::new, |s| changed_columns(model, s));
        // The version is the update's own business, never written from the field.
        changed.retain(|&i| Some(i) != meta.version);
        changed
    };
    model.saving()?;
    // A change below a microsecond is no change: the column would store the same value.
    model.truncate_to_stored();
    if changes(model).is_empty() {
        return model.saved();
    }
    model.updating()?;
    model.prepare_values()?;
    let changed = changes(model);
    if changed.is_empty() {
        return model.saved();
    }
    all_or_nothing(model, on, true, |model, on| {
        update_columns(model, on, changed)
    })
}

/// [`update_changed`]'s update of the `changed` columns, and what follows it.
fn update_columns(model: &mut dyn Persist, on: &mut On, mut changed: Vec<usize>) -> Result<()> {
    let meta = model.meta();
    if let Some(u) = meta.stamped_updated_at() {
        // `updated_at` is stamped unless the caller changed it themselves.
        if !changed.contains(&u) {
            set_timestamp(model, Some(u), timestamp_for(meta))?;
            let at = changed.partition_point(|&i| i < u);
            changed.insert(at, u);
        }
    }
    let key = key_as_read(model);
    let version = version_read(model);
    let count = {
        let mut values = Binds::new();
        model.write_binds(&mut values);
        let mut binds: Binds<'_> = changed.iter().map(|&i| values[i].param()).collect();
        binds.push(Bind::Value(&key));
        if let Some(version) = &version {
            binds.push(Bind::Value(version));
        }
        on.run_write(true, |conn| {
            let sql = update_columns_sql(meta, conn.dialect(), &changed)?;
            conn.execute_binds(&sql, &binds)
        })?
    };
    let (count, mark) = count;
    if count == 0 {
        return Err(stale_or_missing(meta, on, &key));
    }
    remember_write(model, mark, Written::Columns(&changed));
    record_changes(model, &changed);
    sync_original(model, &changed);
    bump_version(model, version)?;
    touch_owners(model, on)?;
    model.updated()?;
    model.saved()
}

/// `save_only`: the named columns (plus `updated_at`) of a stored row.
pub(super) fn save_only(model: &mut dyn Persist, on: &mut On, columns: &[&str]) -> Result<()> {
    save_columns(model, on, columns, None)
}

/// [`save_only`]; with `baseline` (the row as read, for a mass update), the columns the
/// hooks changed are written too, as a save would.
fn save_columns(
    model: &mut dyn Persist,
    on: &mut On,
    columns: &[&str],
    baseline: Option<&[Option<Value>]>,
) -> Result<()> {
    settle(model);
    if model.key_value().is_null() {
        return Err(missing_key(model.meta(), "update"));
    }
    model.saving()?;
    model.updating()?;
    // A mass update (`baseline`) writes its models in one transaction already.
    all_or_nothing(model, on, baseline.is_none(), |model, on| {
        update_named_columns(model, on, columns, baseline)
    })
}

/// [`save_columns`]'s update, and what follows it.
fn update_named_columns(
    model: &mut dyn Persist,
    on: &mut On,
    columns: &[&str],
    baseline: Option<&[Option<Value>]>,
) -> Result<()> {
    let meta = model.meta();
    let key = model.key_value();
    model.prepare_values()?;
    let at = timestamp_for(meta);
    let updated_at = meta.stamped_updated_at();
    set_timestamp(model, updated_at, at)?;
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
    if let Some(baseline) = baseline {
        for (i, column) in meta.columns.iter().enumerate() {
            let skipped = columns.contains(column)
                || Some(*column) == version_column
                || Some(i) == updated_at
                || *column == meta.primary_key;
            if skipped {
                continue;
            }
            let now = model.column_value(column);
            if now != baseline.get(i).cloned().flatten() {
                pairs.push((column, now.unwrap_or_default()));
            }
        }
    }
    if let Some(i) = updated_at {
        if !columns.contains(&meta.columns[i]) {
            pairs.push((meta.columns[i], Value::DateTimeUtc(at)));
        }
    }
    if pairs.is_empty() {
        // Nothing named and nothing stamped (`save_only(&[])` on a model without
        // `updated_at`): nothing to write, as a `save` with no changes.
        return Ok(());
    }
    let version = version_read(model);
    let stateful = model.state().is_some();
    let (changed, mark) = on.run_write(stateful, |conn| {
        update_columns_on(conn, meta, &pairs, &key, version.as_ref())
    })?;
    if changed == 0 {
        return Err(stale_or_missing(meta, on, &key));
    }
    let positions: Vec<usize> = pairs
        .iter()
        .filter_map(|(c, _)| meta.columns.iter().position(|m| m == c))
        .collect();
    remember_write(model, mark, Written::Columns(&positions));
    record_changes(model, &positions);
    sync_original(model, &positions);
    bump_version(model, version)?;
    touch_owners(model, on)?;
    model.updated()?;
    model.saved()
}

/// Inserts a model as a creation: hooks, timestamps the caller left unset, the insert.
pub(super) fn create(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    if events_paused() {
        return create_hooked(&mut Quiet(model), on);
    }
    create_hooked(model, on)
}

fn create_hooked(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    settle(model);
    let meta = model.meta();
    model.before_create()?;
    all_or_nothing(model, on, true, |model, on| {
        let at = timestamp_for(meta);
        stamp_unset(model, meta.stamped_created_at(), at)?;
        stamp_unset(model, meta.stamped_updated_at(), at)?;
        let mark = insert(model, on)?;
        remember_write(model, mark, Written::Inserted);
        mark_stored(model);
        record_created(model);
        touch_owners(model, on)?;
        model.after_create()
    })
}

/// The `INSERT` of one model; the columns left to the database (generated key, unset
/// default columns) are read back into the model. Returns the mark of the transaction
/// it ran in, for a model with a state (see [`On::run_write`]).
pub(super) fn insert(model: &mut dyn Persist, on: &mut On) -> Result<Option<Arc<WriteMark>>> {
    let meta = model.meta();
    model.prepare_values()?;
    let stateful = model.state().is_some();
    // The binds borrow the model: their block ends before it takes what came back.
    let (shape, first, rest, mark) = {
        let mut binds = Binds::new();
        model.write_binds(&mut binds);
        let shape = InsertShape::of(meta, &binds);
        // The usual shape leaves only a leading generated key out: bind past it rather than
        // move the other values down.
        let skip =
            usize::from(shape.generated && shape.omitted == 0 && meta.primary_key_index == 0);
        if skip == 0 {
            leave_out(&mut binds, 0, meta, &shape);
        }
        let values = &binds[skip..];
        // The first value apart: the usual lone one (the key) needs no Vec.
        let ((first, rest), mark) = on.run_write(stateful, |conn| {
            let dialect = conn.dialect();
            let sql = insert_sql(meta, dialect, shape)?;
            if !shape.returns_anything() {
                conn.execute_binds(&sql, values)?;
                return Ok((None, Vec::new()));
            }
            if !dialect.supports_returning() {
                conn.execute_binds(&sql, values)?;
                let key = match shape.generated {
                    true => generated_key(conn, meta, 0)?,
                    false => model.key_value(),
                };
                let mut rest = read_back(conn, meta, shape, key)?;
                let first = (!rest.is_empty()).then(|| rest.remove(0));
                return Ok((first, rest));
            }
            let width = shape.returned_width(meta);
            let (mut first, mut rest) = (None, Vec::new());
            conn.query_each_binds(&sql, values, |row| {
                first = Some(row.value_at(0)?.into_owned());
                for c in 1..width {
                    rest.push(row.value_at(c)?.into_owned());
                }
                Ok(false)
            })?;
            Ok((first, rest))
        })?;
        (shape, first, rest, mark)
    };
    let Some(first) = first else {
        return Ok(mark);
    };
    if shape.omitted == 0 {
        // Only the generated key came back: nearly always an integer (nothing to drop).
        let column = meta.columns[meta.primary_key_index];
        if let Value::Int(key) = first {
            first.discard();
            model.set_column(column, ValueRef::Int(key))?;
            return Ok(mark);
        }
        model.set_column(column, first.as_ref())?;
        return Ok(mark);
    }
    let left_out = (0..meta.columns.len()).filter(|&i| shape.leaves_out(meta, i));
    for (i, value) in left_out.zip(std::iter::once(first).chain(rest)) {
        model.set_column(meta.columns[i], value.as_ref())?;
    }
    Ok(mark)
}

/// Without `RETURNING`: the key the last insert generated for its row `offset` (0:
/// the first), from `LAST_INSERT_ID()` (the first key of the statement).
pub(super) fn generated_key(conn: &Connection, meta: &ModelMeta, offset: usize) -> Result<Value> {
    let first = conn.last_insert_id().ok_or_else(|| {
        Error::invalid_query(
            InvalidQueryKind::Unsupported,
            format!(
                "the insert into {} generated no key: is {} AUTO_INCREMENT?",
                meta.table, meta.primary_key
            ),
        )
    })?;
    let offset = i64::try_from(offset).ok();
    offset
        .and_then(|offset| first.checked_add(offset))
        .map(Value::Int)
        .ok_or_else(|| Error::invalid_query(InvalidQueryKind::Rows, "generated key overflow"))
}

/// Without `RETURNING`: the values of the columns an insert of `shape` left to the
/// database, in column order, for the row with `key`. The generated key alone needs
/// no query; default columns are read back by key.
pub(super) fn read_back(
    conn: &mut Connection,
    meta: &ModelMeta,
    shape: InsertShape,
    key: Value,
) -> Result<Vec<Value>> {
    let columns: Vec<&str> = (0..meta.columns.len())
        .filter(|&i| shape.leaves_out(meta, i))
        .map(|i| meta.columns[i])
        .collect();
    if columns.len() == 1 && shape.generated {
        return Ok(vec![key]);
    }
    let dialect = conn.dialect();
    let mut w = SqlWriter::new(dialect);
    let find = crate::dialect::FindByKey {
        row: crate::dialect::ByKey {
            table: meta.table,
            key: meta.primary_key,
        },
        columns: &columns,
        not_deleted: None,
    };
    dialect.push_find_by_key(&mut w, &find);
    let (sql, _) = w.finish()?;
    let row = conn.query_first_native(&sql, std::slice::from_ref(&key), |row| {
        (0..columns.len())
            .map(|c| Ok(row.value_at(c)?.to_owned_value()))
            .collect::<Result<Vec<Value>>>()
    })?;
    row.ok_or_else(|| {
        Error::invalid_query(
            InvalidQueryKind::Rows,
            format!(
                "the row just inserted into {} is not found by its key {key:?}",
                meta.table
            ),
        )
    })
}

pub(super) fn delete(model: &mut dyn Persist, on: &mut On, force: bool) -> Result<()> {
    delete_with(model, on, force, true)
}

/// [`delete`]; `alone` as for [`all_or_nothing`].
fn delete_with(model: &mut dyn Persist, on: &mut On, force: bool, alone: bool) -> Result<()> {
    if events_paused() {
        return delete_hooked(&mut Quiet(model), on, force, alone);
    }
    delete_hooked(model, on, force, alone)
}

fn delete_hooked(model: &mut dyn Persist, on: &mut On, force: bool, alone: bool) -> Result<()> {
    settle(model);
    let meta = model.meta();
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "delete"));
    }
    let forcing = force && meta.deleted_at.is_some();
    if forcing {
        model.force_deleting()?;
    }
    model.deleting()?;
    all_or_nothing(model, on, alone, |model, on| {
        delete_row(model, on, force, key)
    })
}

/// [`delete_hooked`]'s statement (a soft delete's update, or the `DELETE`), and what
/// follows it.
fn delete_row(model: &mut dyn Persist, on: &mut On, force: bool, key: Value) -> Result<()> {
    let stateful = model.state().is_some();
    let meta = model.meta();
    let forcing = force && meta.deleted_at.is_some();
    match meta.deleted_at {
        Some(i) if !force => {
            let at = now();
            let mut pairs = vec![(meta.columns[i], Value::DateTimeUtc(at))];
            let updated_at = meta.stamped_updated_at();
            if let Some(u) = updated_at {
                pairs.push((meta.columns[u], Value::DateTimeUtc(at)));
            }
            let version = version_read(model);
            let (changed, mark) = on.run_write(stateful, |conn| {
                update_columns_on(conn, meta, &pairs, &key, version.as_ref())
            })?;
            if changed == 0 && meta.version.is_some() {
                return Err(stale_or_missing(meta, on, &key));
            }
            set_timestamp(model, Some(i), at)?;
            set_timestamp(model, updated_at, at)?;
            let positions: Vec<usize> = [Some(i), updated_at].into_iter().flatten().collect();
            remember_write(model, mark, Written::Columns(&positions));
            sync_original(model, &positions);
            bump_version(model, version)?;
        }
        _ => {
            // A versioned model deletes only the row as it read it.
            let version = version_read(model);
            let (deleted, mark) = on.run_write(stateful, |conn| {
                let sql = delete_sql(meta, conn.dialect())?;
                match &version {
                    Some(version) => conn.execute_native(sql, &[key.clone(), version.clone()]),
                    None => conn.execute_native(sql, std::slice::from_ref(&key)),
                }
            })?;
            if deleted == 0 && version.is_some() {
                // Changed since it was read: stale. Already gone: nothing to delete.
                match stale_or_missing(meta, on, &key) {
                    stale @ Error::StaleModel { .. } => return Err(stale),
                    Error::NotFound { .. } => {}
                    other => return Err(other),
                }
            }
            remember_write(model, mark, Written::Deleted);
            // The row is gone: saving the model again inserts it anew.
            if let Some(state) = model.state_mut() {
                state.set_original(None);
            }
        }
    }
    touch_owners(model, on)?;
    model.deleted()?;
    if forcing {
        model.force_deleted()?;
    }
    Ok(())
}

pub(super) fn restore(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    if events_paused() {
        return restore_hooked(&mut Quiet(model), on);
    }
    restore_hooked(model, on)
}

fn restore_hooked(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    let meta = model.meta();
    let Some(i) = meta.deleted_at else {
        return Err(Error::invalid_query(
            InvalidQueryKind::Model,
            format!("{} does not use soft deletes", meta.name),
        ));
    };
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "restore"));
    }
    model.restoring()?;
    all_or_nothing(model, on, true, |model, on| {
        model.set_column(meta.columns[i], ValueRef::Null)?;
        // A full save, as Eloquent's `restore`: changes made meanwhile are written too.
        save(model, on, None)?;
        model.restored()
    })
}

pub(super) fn refresh<M: Model>(model: &mut M, on: &mut On) -> Result<()> {
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
    // The relations it had loaded are loaded again, as Eloquent's `refresh` does: what
    // they held was read before the row changed (their own nested loads are not kept).
    let loaded: Vec<&'static str> = meta
        .relations
        .iter()
        .filter(|r| {
            model
                .relation_slot(r.name)
                .is_some_and(|slot| slot.is_loaded())
        })
        .map(|r| r.name)
        .collect();
    if loaded.is_empty() {
        return Ok(());
    }
    on.run(|conn| {
        for name in loaded {
            let eager = crate::query::EagerRelation {
                name: name.to_owned(),
                constraint: None,
                nested: Default::default(),
                missing_only: false,
            };
            M::eager_load(std::slice::from_mut(model), name, &eager, conn)?;
        }
        Ok(())
    })
}

/// `Model::increment`/`decrement`: `column = column ± by` (and `updated_at`) on the
/// model's row, in the database (so concurrent steps add up), then the field holds the
/// value stored. `updating`/`updated` run around it, as Eloquent's.
pub(super) fn step(
    model: &mut dyn Persist,
    on: &mut On,
    steps: Vec<(&str, Value)>,
    down: bool,
) -> Result<()> {
    if events_paused() {
        return step_hooked(&mut Quiet(model), on, steps, down);
    }
    step_hooked(model, on, steps, down)
}

fn step_hooked(
    model: &mut dyn Persist,
    on: &mut On,
    steps: Vec<(&str, Value)>,
    down: bool,
) -> Result<()> {
    settle(model);
    let meta = model.meta();
    let action = if down { "decrement" } else { "increment" };
    let mut stepped: Vec<(usize, &'static str)> = Vec::with_capacity(steps.len());
    for (column, _) in &steps {
        let Some(position) = meta.columns.iter().position(|c| c == column) else {
            return Err(Error::ColumnNotFound(format!("{}.{column}", meta.name)));
        };
        if !stepped.iter().any(|(p, _)| *p == position) {
            stepped.push((position, meta.columns[position]));
        }
    }
    if stepped.is_empty() {
        return Ok(());
    }
    let key = key_as_read(model);
    if key.is_null() {
        return Err(missing_key(meta, action));
    }
    model.updating()?;
    all_or_nothing(model, on, true, |model, on| {
        step_row(model, on, steps, &stepped, down, key)
    })
}

/// [`step_hooked`]'s update, and what follows it.
fn step_row(
    model: &mut dyn Persist,
    on: &mut On,
    steps: Vec<(&str, Value)>,
    stepped: &[(usize, &'static str)],
    down: bool,
    key: Value,
) -> Result<()> {
    let stateful = model.state().is_some();
    let meta = model.meta();
    let at = timestamp_for(meta);
    let updated_at = meta.stamped_updated_at();
    let version = version_read(model);
    // The update and the read of its result in one transaction: the row stays locked
    // between them, so the value read is this call's, not a concurrent one's.
    let (stored, mark) = on.run_write(stateful, |conn| {
        conn.transaction(|conn| {
            let mut row = Query::<Record>::table(meta.table)
                .primary_key(meta.primary_key)
                .where_eq(meta.primary_key, key.clone());
            let mut extra: Vec<(&str, Value)> = Vec::new();
            if let Some(u) = updated_at {
                extra.push((meta.columns[u], Value::DateTimeUtc(at)));
            }
            if let (Some(v), Some(read)) = (meta.version, &version) {
                row = row.where_eq(meta.columns[v], read.clone());
                if let Value::Int(n) = read {
                    extra.push((meta.columns[v], Value::Int(n + 1)));
                }
            }
            if row.step_each_on(conn, steps, extra, down)? == 0 {
                return Ok(None);
            }
            let columns: Vec<&'static str> = stepped.iter().map(|(_, c)| *c).collect();
            let stored = Query::<Record>::table(meta.table)
                .select(columns)
                .where_eq(meta.primary_key, key.clone())
                .first_on(conn)?;
            Ok(stored.map(Record::into_values))
        })
    })?;
    let Some(values) = stored else {
        return Err(stale_or_missing(meta, on, &key));
    };
    for ((_, column), value) in stepped.iter().zip(&values) {
        model.set_column(column, value.as_ref())?;
    }
    set_timestamp(model, updated_at, at)?;
    let mut positions: Vec<usize> = stepped.iter().map(|(p, _)| *p).collect();
    positions.extend(updated_at.filter(|u| !positions.contains(u)));
    positions.sort_unstable();
    remember_write(model, mark, Written::Columns(&positions));
    record_changes(model, &positions);
    sync_original(model, &positions);
    bump_version(model, version)?;
    model.updated()
}

pub(super) fn touch(model: &mut dyn Persist, on: &mut On) -> Result<()> {
    settle(model);
    let stateful = model.state().is_some();
    let meta = model.meta();
    let Some(u) = meta.stamped_updated_at() else {
        return Ok(());
    };
    let key = model.key_value();
    if key.is_null() {
        return Err(missing_key(meta, "touch"));
    }
    let at = now();
    let version = version_read(model);
    let (changed, mark) = on.run_write(stateful, |conn| {
        update_columns_on(
            conn,
            meta,
            &[(meta.columns[u], Value::DateTimeUtc(at))],
            &key,
            version.as_ref(),
        )
    })?;
    if changed == 0 {
        return Err(stale_or_missing(meta, on, &key));
    }
    set_timestamp(model, Some(u), at)?;
    remember_write(model, mark, Written::Columns(&[u]));
    record_changes(model, &[u]);
    sync_original(model, &[u]);
    bump_version(model, version)?;
    // Eloquent's touch() saves the model, which touches its owners.
    touch_owners(model, on)
}
