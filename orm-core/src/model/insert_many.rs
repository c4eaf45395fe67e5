//! `insert_many`: grouping runs of rows of one insert shape and writing each group in one
//! statement.

use super::*;

pub(super) fn insert_many<M: Model>(models: &mut [M], on: &mut On) -> Result<()> {
    let meta = M::meta();
    if models.is_empty() {
        return Ok(());
    }
    let at = timestamp_for(meta);
    let (created_at, updated_at) = (meta.stamped_created_at(), meta.stamped_updated_at());
    let hooks = !crate::untimed::events_paused();
    for model in models.iter_mut() {
        persist::Persist::fill_new_key(model)?;
        if hooks {
            model.saving()?;
            model.creating()?;
        }
        stamp_unset(model, created_at, at)?;
        stamp_unset(model, updated_at, at)?;
        model.truncate_to_stored();
        model.check_values()?;
    }
    // With hooks, the rows and the `created`/`saved` hooks after them are kept or undone
    // together, as a single model's create (see `persistence::all_or_nothing`).
    if hooks && meta.hooks {
        let before: Vec<Snapshot> = models.iter().map(|m| Snapshot::take(m)).collect();
        let result = on.transaction(|on| insert_rows(models, on, hooks));
        if result.is_err() {
            for (model, snapshot) in models.iter_mut().zip(before) {
                snapshot.restore(model);
            }
        }
        return result;
    }
    insert_rows(models, on, hooks)
}

/// [`insert_many`]'s statements, and the hooks after them.
fn insert_rows<M: Model>(models: &mut [M], on: &mut On, hooks: bool) -> Result<()> {
    let meta = M::meta();
    // Runs of rows of one shape (which columns the database fills) go together.
    let groups = insert_groups(models);
    let stateful = models.first().is_some_and(|m| m.state().is_some());
    let (results, mark): (Vec<Returned>, _) = on.run_write(stateful, |conn| {
        let dialect = conn.dialect();
        // Without RETURNING, a statement's generated keys are known when they are
        // consecutive (the first, then the next ones) and nothing else is left to the
        // database; otherwise each row is inserted, and read back, on its own.
        let consecutive = conn.consecutive_keys();
        let row_by_row = |shape: &InsertShape| {
            !dialect.supports_returning()
                && shape.returns_anything()
                && !(consecutive && shape.generated && shape.returned_width(meta) == 1)
        };
        let per_statement = |shape: &InsertShape| {
            if row_by_row(shape) {
                return 1;
            }
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
                let width = shape.returned_width(meta);
                let mut returned = Returned::with_capacity(rows.len(), width);
                for chunk in rows.chunks(per_statement(shape)) {
                    let sql = meta
                        .sql
                        .insert_many_sql(meta, dialect, chunk.len(), *shape)?;
                    let mut binds = Binds::with_capacity(chunk.len() * meta.columns.len());
                    for &i in chunk {
                        let start = binds.len();
                        models[i].write_binds(&mut binds);
                        leave_out(&mut binds, start, meta, shape);
                    }
                    if !shape.returns_anything() {
                        conn.execute_binds(&sql, &binds)?;
                    } else if !dialect.supports_returning() {
                        let written = conn.execute_binds(&sql, &binds)?;
                        if written != chunk.len() as u64 {
                            return Err(Error::invalid_query(
                                InvalidQueryKind::Rows,
                                format!("{written} of {} rows were inserted", chunk.len()),
                            ));
                        }
                        if row_by_row(shape) {
                            let key = match shape.generated {
                                true => generated_key(conn, meta, 0)?,
                                false => models[chunk[0]].key_value(),
                            };
                            for value in read_back(conn, meta, *shape, key)? {
                                returned.push(value);
                            }
                        } else {
                            for offset in 0..chunk.len() {
                                returned.push(generated_key(conn, meta, offset)?);
                            }
                        }
                    } else {
                        conn.query_each_binds(&sql, &binds, |row| {
                            for c in 0..width {
                                returned.push_ref(row.value_at(c)?);
                            }
                            Ok(true)
                        })?;
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
        match returned {
            Returned::Ints(keys) => {
                // One column read back (the generated key, nearly always).
                for (&i, &key) in rows.iter().zip(keys) {
                    models[i].set_column(columns[0], ValueRef::Int(key))?;
                }
            }
            Returned::Values(values) => {
                for (&i, values) in rows.iter().zip(values.chunks(columns.len())) {
                    for (column, value) in columns.iter().zip(values) {
                        models[i].set_column(column, value.as_ref())?;
                    }
                }
            }
        }
    }
    for model in models.iter_mut() {
        remember_write(model, mark.clone(), Written::Inserted);
        mark_stored(model);
        record_created(model);
        if hooks {
            model.created()?;
            model.saved()?;
        }
    }
    Ok(())
}

/// The models' positions grouped by insert shape (one group unless some rows leave
/// their key or a default column to the database and others do not).
pub(super) fn insert_groups<M: Model>(models: &[M]) -> Vec<(InsertShape, Vec<usize>)> {
    let meta = M::meta();
    if let (true, Some(head)) = (meta.defaults.is_empty(), models.first()) {
        // Only the key can be left out: usually all rows or none leave it, one group.
        let generated = |model: &M| meta.incrementing && key_is_null(model);
        let first = generated(head);
        if models[1..].iter().all(|model| generated(model) == first) {
            let shape = InsertShape {
                generated: first,
                omitted: 0,
            };
            return vec![(shape, (0..models.len()).collect())];
        }
    }
    let mut scratch = Binds::new();
    let mut groups: Vec<(InsertShape, Vec<usize>)> = Vec::with_capacity(1);
    for (i, model) in models.iter().enumerate() {
        let shape = if meta.defaults.is_empty() {
            InsertShape {
                generated: meta.incrementing && key_is_null(model),
                omitted: 0,
            }
        } else {
            scratch.clear();
            model.write_binds(&mut scratch);
            InsertShape::of(meta, &scratch)
        };
        // Only a run of rows of one shape goes together, so the rows are written (and
        // their keys generated) in the caller's order.
        match groups.last_mut().filter(|(s, _)| *s == shape) {
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
pub(super) fn leave_out(
    binds: &mut Binds<'_>,
    start: usize,
    meta: &ModelMeta,
    shape: &InsertShape,
) {
    if shape.omitted == 0 {
        // The common shapes: every column, or all but the generated key.
        if shape.generated {
            binds.remove(start + meta.primary_key_index).discard();
        }
        return;
    }
    leave_out_defaults(binds, start, meta, shape);
}

/// [`leave_out`] for a shape that leaves default columns to the database.
pub(super) fn leave_out_defaults(
    binds: &mut Binds<'_>,
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

/// Whether the model's key is unset (`NULL`), without the drop-glue call for the usual
/// answers (a `NULL` or an integer owns nothing).
#[inline]
fn key_is_null<M: Model>(model: &M) -> bool {
    let key = model.key_value();
    let null = key.is_null();
    key.discard();
    null
}

/// The columns the database filled in, as read back, row after row: integers while
/// only a generated key comes back and every one is an integer (nearly always; no
/// `Value` to build and drop per row), else values.
enum Returned {
    Ints(Vec<i64>),
    Values(Vec<Value>),
}

impl Returned {
    fn with_capacity(rows: usize, width: usize) -> Returned {
        if width == 1 {
            Returned::Ints(Vec::with_capacity(rows))
        } else {
            Returned::Values(Vec::with_capacity(rows * width))
        }
    }

    #[inline]
    fn push_ref(&mut self, value: ValueRef<'_>) {
        if let (Returned::Ints(keys), &ValueRef::Int(key)) = (&mut *self, &value) {
            keys.push(key);
            // An integer owns nothing: skip the enum's drop-glue call (once per row).
            std::mem::forget(value);
            return;
        }
        self.push(value.to_owned_value());
    }

    fn push(&mut self, value: Value) {
        if let Returned::Ints(keys) = self {
            if let Value::Int(key) = value {
                keys.push(key);
                return;
            }
            let values = keys.iter().map(|&k| Value::Int(k)).collect();
            *self = Returned::Values(values);
        }
        if let Returned::Values(values) = self {
            values.push(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn returned_keys_stay_integers_until_another_value_comes_back() {
        let mut one_column = Returned::with_capacity(3, 1);
        one_column.push_ref(ValueRef::Int(7));
        one_column.push(Value::Int(8));
        assert!(matches!(&one_column, Returned::Ints(keys) if keys == &[7, 8]));
        // A default text column read back as the only column: every value kept, in order.
        one_column.push_ref(ValueRef::Text(Cow::Borrowed("draft")));
        one_column.push_ref(ValueRef::Int(9));
        match one_column {
            Returned::Values(values) => assert_eq!(
                values,
                [
                    Value::Int(7),
                    Value::Int(8),
                    Value::Text("draft".into()),
                    Value::Int(9)
                ]
            ),
            Returned::Ints(_) => panic!("text read back as an integer key"),
        }
        let mut two_columns = Returned::with_capacity(1, 2);
        two_columns.push_ref(ValueRef::Int(1));
        assert!(matches!(two_columns, Returned::Values(ref v) if v == &[Value::Int(1)]));
    }
}
