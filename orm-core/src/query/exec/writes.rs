//! Writing terminals: insert (one, many, get id), upsert, update, increment/decrement, delete, truncate.

use super::*;

/// A row to write, as collected from `(column, value)` pairs.
pub(super) struct Batch<'a> {
    pub(super) columns: Vec<&'a str>,
    /// Row-major values, `rows * columns.len()` of them.
    pub(super) values: Vec<Value>,
    pub(super) rows: usize,
}

/// Refuses an upsert whose rows repeat a `unique_by` key: PostgreSQL cannot write one
/// row twice in a statement (error 21000), while SQLite and MySQL would apply the rows in
/// turn; a typed error before anything is sent gives every backend one answer.
fn refuse_repeated_keys(batch: &Batch<'_>, unique_by: &[&str]) -> Result<()> {
    let width = batch.columns.len();
    let positions: Option<Vec<usize>> = unique_by
        .iter()
        .map(|c| batch.columns.iter().position(|b| b == c))
        .collect();
    let Some(positions) = positions.filter(|p| !p.is_empty() && batch.rows > 1) else {
        return Ok(());
    };
    let mut seen = std::collections::HashMap::with_capacity(batch.rows);
    for row in 0..batch.rows {
        let key: Vec<&Value> = positions
            .iter()
            .map(|&i| &batch.values[row * width + i])
            .collect();
        if key.iter().any(|v| v.is_null()) {
            continue; // NULL keys never conflict
        }
        if let Some(first) = seen.insert(format!("{key:?}"), row) {
            return Err(Error::invalid_query(
                InvalidQueryKind::Rows,
                format!(
                    "upsert: rows {} and {} have the same `{}` ({}); one statement cannot \
                     write a row twice: merge them first",
                    first + 1,
                    row + 1,
                    unique_by.join("`, `"),
                    key.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn collect_rows<'a, R>(rows: impl IntoIterator<Item = R>) -> Result<Batch<'a>>
where
    R: IntoIterator<Item = (&'a str, Value)>,
{
    let mut batch = Batch {
        columns: Vec::new(),
        values: Vec::new(),
        rows: 0,
    };
    let mut scratch: Vec<(&'a str, Value)> = Vec::new();
    for row in rows {
        if batch.rows == 0 {
            for (column, value) in row {
                if batch.columns.contains(&column) {
                    return Err(Error::invalid_query(
                        InvalidQueryKind::Rows,
                        format!("column {column:?} appears twice in one row"),
                    ));
                }
                batch.columns.push(column);
                batch.values.push(value);
            }
        } else {
            scratch.clear();
            scratch.extend(row);
            let same_order = scratch.len() == batch.columns.len()
                && scratch
                    .iter()
                    .zip(&batch.columns)
                    .all(|((c, _), col)| c == col);
            if same_order {
                batch.values.extend(scratch.drain(..).map(|(_, v)| v));
            } else {
                if scratch.len() != batch.columns.len() {
                    return Err(mismatch(batch.rows, &scratch, &batch.columns));
                }
                for column in &batch.columns {
                    let Some(pos) = scratch.iter().position(|(c, _)| c == column) else {
                        return Err(mismatch(batch.rows, &scratch, &batch.columns));
                    };
                    batch.values.push(std::mem::take(&mut scratch[pos].1));
                }
            }
        }
        batch.rows += 1;
    }
    Ok(batch)
}

/// Adds each of `columns` the rows lack, with `value` in every row (a column a row
/// gives keeps its value).
fn add_missing_columns<'a>(
    batch: &mut Batch<'a>,
    columns: impl IntoIterator<Item = &'a str>,
    value: &Value,
) {
    let missing: Vec<&str> = columns
        .into_iter()
        .filter(|c| !batch.columns.contains(c))
        .collect();
    if missing.is_empty() || batch.rows == 0 {
        return;
    }
    let width = batch.columns.len();
    let mut old = std::mem::take(&mut batch.values).into_iter();
    let mut values = Vec::with_capacity(batch.rows * (width + missing.len()));
    for _ in 0..batch.rows {
        values.extend(old.by_ref().take(width));
        values.extend(missing.iter().map(|_| value.clone()));
    }
    batch.values = values;
    batch.columns.extend(missing);
}

pub(super) fn mismatch(row: usize, got: &[(&str, Value)], first: &[&str]) -> Error {
    Error::invalid_query(
        InvalidQueryKind::Rows,
        format!(
            "every row must have the same columns: row {row} has {:?}, the first row has {first:?}",
            got.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
        ),
    )
}

/// What an insert does with a row that conflicts with a unique index.
#[derive(Clone, Copy)]
pub(super) enum OnConflict<'a> {
    /// Updates these columns of the row with the same `unique_by` columns (nothing when
    /// empty: that row stays).
    Update(&'a [&'a str], &'a [&'a str]),
    /// Skips the row, whichever unique index it conflicts with.
    Ignore,
}

/// Runs an insert of every row of `batch`, split into statements that stay under the
/// dialect's bind-parameter limit, all inside one transaction (a savepoint inside an
/// open one) when there is more than one statement.
pub(super) fn execute_insert(
    conn: &mut Connection,
    table: &str,
    batch: Batch<'_>,
    conflict: Option<OnConflict<'_>>,
) -> Result<u64> {
    if batch.rows == 0 {
        return Ok(0);
    }
    match conflict {
        Some(OnConflict::Update([], _)) => {
            return Err(Error::invalid_query(
                InvalidQueryKind::Rows,
                "upsert needs at least one unique_by column",
            ));
        }
        Some(OnConflict::Ignore) if batch.columns.is_empty() => {
            return Err(Error::invalid_query(
                InvalidQueryKind::Rows,
                "insert_or_ignore needs at least one column",
            ));
        }
        _ => {}
    }
    let dialect = conn.dialect();
    let width = batch.columns.len();
    // A row without columns is `DEFAULT VALUES`: one per statement.
    let per_statement = dialect
        .max_bind_params()
        .checked_div(width)
        .map_or(1, |n| n.max(1));
    let statements = batch.rows.div_ceil(per_statement);
    let columns = batch.columns;
    let rows = batch.rows;
    let mut values = batch.values.into_iter();
    let run = |c: &mut Connection| -> Result<u64> {
        let mut total = 0;
        let mut left = rows;
        while left > 0 {
            let n = left.min(per_statement);
            let mut w = SqlWriter::new(dialect);
            render_insert(&mut w, table, &columns, n, &mut values);
            match conflict {
                Some(OnConflict::Update(unique_by, update)) => {
                    dialect.push_upsert(&mut w, unique_by, update);
                }
                Some(OnConflict::Ignore) => dialect.push_insert_or_ignore(&mut w, columns[0]),
                None => {}
            }
            let (sql, binds) = w.finish()?;
            let affected = c.execute_native(&sql, &binds)?;
            // Each row of an upsert is inserted or updated: written once.
            let updates_counted_twice = dialect.upsert_counts_updates_twice()
                && matches!(conflict, Some(OnConflict::Update(_, [_, ..])));
            total += if updates_counted_twice {
                affected.min(n as u64)
            } else {
                affected
            };
            left -= n;
        }
        Ok(total)
    };
    if statements > 1 {
        conn.transaction(run)
    } else {
        let mut run = run;
        run(conn)
    }
}

impl<T> Query<T> {
    /// The table an insert or truncate writes: refused for a query reading a subquery
    /// (`from_sub`), whose name is only the subquery's alias.
    fn written_table(&self) -> Result<&str> {
        if self.parts.from_sub.is_some() {
            return Err(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                "a query reading a subquery (`from_sub`) cannot insert or truncate; write \
                 through a query on the table",
            ));
        }
        Ok(&self.parts.table)
    }

    /// Inserts one row given as `(column, value)` pairs — an array, a `Vec` or
    /// [`row!`](crate::row): `insert(row!{"name" => "Ada", "votes" => 3})`.
    /// Returns the number of rows inserted. An empty row inserts `DEFAULT VALUES`.
    pub fn insert<'a>(self, row: impl IntoIterator<Item = (&'a str, Value)>) -> Result<u64> {
        self.run(move |q, c| q.insert_on(c, row))
    }

    pub(crate) fn insert_on<'a>(
        self,
        conn: &mut Connection,
        row: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        self.insert_many_on(conn, [row])
    }

    /// Inserts many rows; every row must have the same columns (in any order), else
    /// [`Error::InvalidQuery`] and nothing is written. The rows are split into
    /// statements under the backend's bind-parameter limit (SQLite 32766, PostgreSQL
    /// 65535), run in one transaction. Returns the number of rows inserted.
    pub fn insert_many<'a, R>(self, rows: impl IntoIterator<Item = R>) -> Result<u64>
    where
        R: IntoIterator<Item = (&'a str, Value)>,
    {
        self.run(move |q, c| q.insert_many_on(c, rows))
    }

    pub(super) fn insert_many_on<'a, R>(
        self,
        conn: &mut Connection,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64>
    where
        R: IntoIterator<Item = (&'a str, Value)>,
    {
        let batch = collect_rows(rows)?;
        execute_insert(conn, self.written_table()?, batch, None)
    }

    /// Inserts the rows, skipping each one that conflicts with an existing row on any
    /// unique index or primary key (Laravel's `insertOrIgnore`): `ON CONFLICT DO
    /// NOTHING`, or on MySQL a no-op `ON DUPLICATE KEY UPDATE`, so that other errors
    /// (a NULL in a `NOT NULL` column, a missing foreign row, a value too long) still
    /// fail, where MySQL's `INSERT IGNORE` would store a truncated or default value.
    /// Returns the number of rows inserted (on MySQL the skipped ones count too: with the
    /// found-rows count this crate asks for, as for `update`, a row left as it was is a
    /// row found). Chunked like [`Query::insert_many`].
    pub fn insert_or_ignore<'a, R>(self, rows: impl IntoIterator<Item = R>) -> Result<u64>
    where
        R: IntoIterator<Item = (&'a str, Value)>,
    {
        self.run(move |q, c| {
            let batch = collect_rows(rows)?;
            execute_insert(c, q.written_table()?, batch, Some(OnConflict::Ignore))
        })
    }

    /// Inserts the rows a query selects (Laravel's `insertUsing`): `INSERT INTO table
    /// (columns) SELECT ...`, the query's columns matched to `columns` by position.
    /// Returns the number of rows inserted.
    /// `DB::table("archived_posts").insert_using(&["id", "title"], DB::table("posts").select(&["id", "title"]).where_("created_at", "<", cutoff))`.
    pub fn insert_using<U>(self, columns: &[&str], query: Query<U>) -> Result<u64> {
        let source = query.into_parts();
        self.run(move |q, c| {
            let mut w = SqlWriter::new(c.dialect());
            let (table, _) = split_alias(q.written_table()?);
            w.push("INSERT INTO ").push_table_name(table);
            if !columns.is_empty() {
                w.push(" (")
                    .push_identifiers(columns.iter().copied())
                    .push(")");
            }
            w.push(" ");
            source.render_select(&mut w);
            let (sql, binds) = w.finish()?;
            c.execute_native(&sql, &binds)
        })
    }

    /// Updates the rows matching `attributes` with `values`, or inserts one row of
    /// `attributes` and `values` when none matches (Laravel's `updateOrInsert`). Returns
    /// the number of rows written. Two statements: without a unique index on the
    /// `attributes` columns, two callers racing may both insert; with one, use
    /// [`Query::upsert`].
    pub fn update_or_insert<'a>(
        self,
        attributes: impl IntoIterator<Item = (&'a str, Value)>,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        let attributes: Vec<(&str, Value)> = attributes.into_iter().collect();
        let values: Vec<(&str, Value)> = values.into_iter().collect();
        self.run(move |q, c| {
            let matching = attributes.iter().fold(q.clone(), |q, (column, value)| {
                q.where_eq(Ident::Owned((*column).to_owned()), value.clone())
            });
            if !matching.clone().exists_on(c)? {
                // The attributes merged with the values, a value winning over an
                // attribute of the same column (Laravel's `array_merge`).
                let mut row = attributes;
                for (column, value) in values {
                    match row.iter_mut().find(|(c, _)| *c == column) {
                        Some(slot) => slot.1 = value,
                        None => row.push((column, value)),
                    }
                }
                return q.insert_many_on(c, [row]);
            }
            if values.is_empty() {
                return Ok(0);
            }
            matching.update_on(c, values)
        })
    }

    /// Inserts one row and returns its primary key (`INSERT ... RETURNING key`).
    pub fn insert_get_id<'a>(self, row: impl IntoIterator<Item = (&'a str, Value)>) -> Result<i64> {
        self.run(move |q, c| q.insert_get_id_on(c, row))
    }

    pub(super) fn insert_get_id_on<'a>(
        self,
        conn: &mut Connection,
        row: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<i64> {
        let batch = collect_rows([row])?;
        let dialect = conn.dialect();
        let mut w = SqlWriter::new(dialect);
        // A key given in the row is the key (what RETURNING would give back).
        let given = batch
            .columns
            .iter()
            .position(|c| *c == self.key)
            .and_then(|i| match batch.values.get(i) {
                Some(Value::Int(key)) => Some(*key),
                _ => None,
            });
        let mut values = batch.values.into_iter();
        render_insert(
            &mut w,
            self.written_table()?,
            &batch.columns,
            1,
            &mut values,
        );
        if !dialect.supports_returning() {
            // The key the statement generated (`LAST_INSERT_ID()`).
            let (sql, binds) = w.finish()?;
            conn.execute_native(&sql, &binds)?;
            return given.or_else(|| conn.last_insert_id()).ok_or_else(|| {
                Error::invalid_query(
                    InvalidQueryKind::Unsupported,
                    format!(
                        "the insert into {} generated no key: is {} AUTO_INCREMENT?",
                        self.parts.table, self.key
                    ),
                )
            });
        }
        dialect.push_returning(&mut w, &self.key);
        let (sql, binds) = w.finish()?;
        conn.query_first_native(&sql, &binds, |row| row.get::<i64, usize>(&0))?
            .ok_or_else(|| {
                Error::invalid_query(
                    InvalidQueryKind::Rows,
                    "INSERT ... RETURNING returned no row",
                )
            })
    }

    /// Inserts rows, or updates `update` columns of the existing row when one with the
    /// same `unique_by` columns exists (`ON CONFLICT (unique_by) DO UPDATE SET c =
    /// excluded.c`; `DO NOTHING` when `update` is empty). `unique_by` must match a
    /// unique index. Chunked like [`Query::insert_many`]. Returns the rows written.
    ///
    /// On a model query (`User::query()`) of a model with `timestamps`, as Eloquent's
    /// `upsert`: each row gets `created_at` and `updated_at` (now) unless it gives them,
    /// and `updated_at` joins a non-empty `update`, so an updated row is stamped and
    /// keeps its `created_at`.
    ///
    /// **MySQL/MariaDB** have no conflict target (`ON DUPLICATE KEY UPDATE`): a row that
    /// conflicts on *another* unique index than `unique_by` updates the row it conflicts
    /// with there (an upsert by `email` whose `username` is another user's overwrites
    /// that user's `update` columns), where SQLite and PostgreSQL refuse it with
    /// [`crate::Error::UniqueViolation`]. On a table with several unique indexes, check
    /// the other keys first, or upsert inside a transaction that reads them.
    pub fn upsert<'a, R>(
        self,
        rows: impl IntoIterator<Item = R>,
        unique_by: &[&str],
        update: &[&str],
    ) -> Result<u64>
    where
        R: IntoIterator<Item = (&'a str, Value)>,
    {
        self.run(move |q, c| q.upsert_on(c, rows, unique_by, update))
    }

    pub(super) fn upsert_on<'a, R>(
        self,
        conn: &mut Connection,
        rows: impl IntoIterator<Item = R>,
        unique_by: &[&str],
        update: &[&str],
    ) -> Result<u64>
    where
        R: IntoIterator<Item = (&'a str, Value)>,
    {
        let mut batch = collect_rows(rows)?;
        refuse_repeated_keys(&batch, unique_by)?;
        let mut update = std::borrow::Cow::Borrowed(update);
        let [created_at, updated_at] = self.stamped_timestamps();
        if created_at.is_some() || updated_at.is_some() {
            let now = Value::DateTimeUtc(crate::value::now());
            add_missing_columns(
                &mut batch,
                [created_at, updated_at].into_iter().flatten(),
                &now,
            );
            // An empty `update` is "insert or ignore": an existing row stays untouched.
            if let Some(updated_at) = updated_at {
                if !update.is_empty() && !update.contains(&updated_at) {
                    update.to_mut().push(updated_at);
                }
            }
        }
        let conflict = OnConflict::Update(unique_by, &update);
        execute_insert(conn, self.written_table()?, batch, Some(conflict))
    }

    /// Updates the matching rows: `update(row!{"votes" => 0})`; returns how many.
    /// A query with joins, order or limit updates `WHERE key IN (SELECT key ...)`.
    pub fn update<'a>(self, values: impl IntoIterator<Item = (&'a str, Value)>) -> Result<u64> {
        self.run(move |q, c| q.update_on(c, values))
    }

    /// Updates the matching rows with raw SQL assignments and their bound values (the
    /// form of Laravel's `update(['votes' => DB::raw('votes * 2')])`):
    /// `update_raw("votes = votes * ?, name = UPPER(name)", &[&2])`. Returns how many
    /// rows. A model's `updated_at` is stamped too. The SQL is written as given: name
    /// only trusted columns in it. A model query whose model has hooks refuses it (its
    /// hooks could not see the new values); use [`Query::update`] there.
    pub fn update_raw(self, sets: impl Into<Ident>, bindings: &[&dyn ToValue]) -> Result<u64> {
        let mut bound = Vec::with_capacity(bindings.len());
        for value in bindings {
            bound.push(value.try_to_value()?);
        }
        let sets = sets.into();
        self.run(move |mut q, c| {
            if q.hooked_bulk().is_some() {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Unsupported,
                    "`update_raw` on a model with hooks: its hooks could not see the new \
                     values; use `update`, or `DB::table` to write without the hooks",
                ));
            }
            q.execute_update(c, vec![("", SetValue::Raw(sets, bound))])
        })
    }

    /// Stamps `updated_at` with now on the matching rows of a model with timestamps
    /// (Eloquent's `Builder::touch`, `user.posts().touch()`); returns how many. A query
    /// whose rows have no `updated_at` fails with [`Error::InvalidQuery`] (kind `Model`).
    pub fn touch(self) -> Result<u64> {
        let Some(updated_at) = self.stamped_updated_at() else {
            return Err(Error::invalid_query(
                InvalidQueryKind::Model,
                format!(
                    "`touch` needs a model with timestamps; `{}` has no `updated_at`",
                    self.parts.table
                ),
            ));
        };
        self.update([(updated_at, Value::DateTimeUtc(crate::value::now()))])
    }

    pub(crate) fn update_on<'a>(
        mut self,
        conn: &mut Connection,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        if let Some(bulk) = self.hooked_bulk() {
            let values = values.into_iter().map(|(c, v)| (c.to_owned(), v)).collect();
            return bulk(self, BulkOp::Update(values), conn);
        }
        let sets: Vec<_> = values
            .into_iter()
            .map(|(c, v)| (c, SetValue::Value(v)))
            .collect();
        self.execute_update(conn, sets)
    }

    pub(super) fn execute_update(
        self,
        conn: &mut Connection,
        mut sets: Vec<(&str, SetValue)>,
    ) -> Result<u64> {
        if sets.is_empty() {
            return Err(Error::invalid_query(
                InvalidQueryKind::Rows,
                "update needs at least one column",
            ));
        }
        // A column given twice (stepped by `increment_each` and set in its `extra`) is
        // set once, to the later value, as Laravel does: PostgreSQL refuses two
        // assignments to one column.
        let mut i = 1;
        while i < sets.len() {
            let column = sets[i].0;
            match sets[..i].iter().position(|(c, _)| *c == column) {
                Some(earlier) if !column.is_empty() => {
                    let (_, value) = sets.remove(i);
                    sets[earlier].1 = value;
                }
                _ => i += 1,
            }
        }
        if let Some(updated_at) = self.stamped_updated_at() {
            if !sets.iter().any(|(c, _)| *c == updated_at) {
                let now = Value::DateTimeUtc(crate::value::now());
                sets.push((updated_at, SetValue::Value(now)));
            }
        }
        let mut w = SqlWriter::new(conn.dialect());
        render_update(&mut w, self.parts.into_parts(), &self.key, sets);
        let (sql, binds) = w.finish()?;
        conn.execute_native(&sql, &binds)
    }

    /// `SET column = column + by` on the matching rows; returns how many.
    pub fn increment(self, column: &str, by: impl Into<Value>) -> Result<u64> {
        let by = by.into();
        self.run(move |q, c| q.increment_with_on(c, column, by, []))
    }

    /// `SET column = column - by` on the matching rows; returns how many.
    pub fn decrement(self, column: &str, by: impl Into<Value>) -> Result<u64> {
        let by = by.into();
        self.run(move |q, c| q.decrement_with_on(c, column, by, []))
    }

    /// [`Query::increment`] that also sets other columns:
    /// `increment_with("votes", 1, row!{"updated_at" => now})`.
    pub fn increment_with<'a>(
        self,
        column: &'a str,
        by: impl Into<Value>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        let by = by.into();
        self.run(move |q, c| q.increment_with_on(c, column, by, extra))
    }

    pub(crate) fn increment_with_on<'a>(
        self,
        conn: &mut Connection,
        column: &'a str,
        by: impl Into<Value>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        let mut sets = vec![(column, SetValue::Add(by.into()))];
        sets.extend(extra.into_iter().map(|(c, v)| (c, SetValue::Value(v))));
        self.execute_update(conn, sets)
    }

    /// Adds to several columns at once, and sets `extra` ones (Laravel's
    /// `incrementEach`): `increment_each(row!{"votes" => 5, "balance" => 100}, row!{})`
    /// is one `UPDATE ... SET votes = votes + ?, balance = balance + ?`.
    pub fn increment_each<'a>(
        self,
        columns: impl IntoIterator<Item = (&'a str, Value)>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        self.step_each(columns, extra, SetValue::Add)
    }

    /// Subtracts from several columns at once, and sets `extra` ones (Laravel's
    /// `decrementEach`).
    pub fn decrement_each<'a>(
        self,
        columns: impl IntoIterator<Item = (&'a str, Value)>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        self.step_each(columns, extra, SetValue::Sub)
    }

    fn step_each<'a>(
        self,
        columns: impl IntoIterator<Item = (&'a str, Value)>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
        step: fn(Value) -> SetValue,
    ) -> Result<u64> {
        self.run(move |q, c| {
            let mut sets: Vec<_> = columns.into_iter().map(|(c, by)| (c, step(by))).collect();
            sets.extend(extra.into_iter().map(|(c, v)| (c, SetValue::Value(v))));
            q.execute_update(c, sets)
        })
    }

    /// [`Query::decrement`] that also sets other columns.
    pub fn decrement_with<'a>(
        self,
        column: &'a str,
        by: impl Into<Value>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        let by = by.into();
        self.run(move |q, c| q.decrement_with_on(c, column, by, extra))
    }

    /// Adds (`down`: subtracts) to several columns and sets `extra` ones, on `conn`.
    pub(crate) fn step_each_on<'a>(
        self,
        conn: &mut Connection,
        columns: Vec<(&'a str, Value)>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
        down: bool,
    ) -> Result<u64> {
        let step = if down { SetValue::Sub } else { SetValue::Add };
        let mut sets: Vec<_> = columns.into_iter().map(|(c, by)| (c, step(by))).collect();
        sets.extend(extra.into_iter().map(|(c, v)| (c, SetValue::Value(v))));
        self.execute_update(conn, sets)
    }

    pub(crate) fn decrement_with_on<'a>(
        self,
        conn: &mut Connection,
        column: &'a str,
        by: impl Into<Value>,
        extra: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        let mut sets = vec![(column, SetValue::Sub(by.into()))];
        sets.extend(extra.into_iter().map(|(c, v)| (c, SetValue::Value(v))));
        self.execute_update(conn, sets)
    }

    /// Deletes the matching rows; returns how many. A query with joins, order or limit
    /// deletes `WHERE key IN (SELECT key ...)`. On a model with soft deletes this stamps
    /// `deleted_at` instead (use `force_delete` on the query to really delete).
    pub fn delete(self) -> Result<u64> {
        self.run(Self::delete_on)
    }

    /// The model's hook-running path for a mass write (taken out of the query), unless
    /// [`crate::Model::without_events`] pauses the hooks: the write then goes to the
    /// database as one statement.
    fn hooked_bulk(&mut self) -> Option<crate::query::BulkWrite<T>> {
        let bulk = self.model.bulk.take()?;
        (!crate::untimed::events_paused()).then_some(bulk)
    }

    pub(super) fn delete_on(mut self, conn: &mut Connection) -> Result<u64> {
        if let Some(refused) = self
            .model
            .relation
            .as_ref()
            .and_then(|l| l.delete_refused.clone())
        {
            return Err(Error::invalid_query(
                InvalidQueryKind::Relation,
                refused.to_string(),
            ));
        }
        if let Some(bulk) = self.hooked_bulk() {
            let force = self.soft_delete().is_none();
            return bulk(self, BulkOp::Delete { force }, conn);
        }
        if let Some((deleted_at, updated_at)) = self.soft_delete() {
            let at = Value::DateTimeUtc(crate::value::now());
            let mut sets = vec![(deleted_at, at.clone())];
            sets.extend(updated_at.map(|u| (u, at)));
            return self.update_on(conn, sets);
        }
        let mut w = SqlWriter::new(conn.dialect());
        render_delete(&mut w, self.parts.into_parts(), &self.key);
        let (sql, binds) = w.finish()?;
        conn.execute_native(&sql, &binds)
    }

    /// Empties the table, ignoring the query's conditions, and restarts its key
    /// counter (PostgreSQL: `TRUNCATE ... RESTART IDENTITY`; SQLite: `DELETE FROM`).
    ///
    /// A table other tables' foreign keys reference, which PostgreSQL and MySQL do not
    /// truncate, is emptied by `DELETE` on every database: refused with a
    /// [`ConstraintKind::ForeignKey`](crate::ConstraintKind) violation while a row is
    /// referenced (nothing deleted), the referencing rows' own `ON DELETE` otherwise.
    pub fn truncate(self) -> Result<()> {
        self.run(Self::truncate_on)
    }

    pub(super) fn truncate_on(self, conn: &mut Connection) -> Result<()> {
        let dialect = conn.dialect();
        let mut w = SqlWriter::new(dialect);
        let (table, _) = crate::query::clause::split_alias(self.written_table()?);
        // Where DDL (TRUNCATE among it) commits an open transaction (MySQL), the rows are
        // deleted instead, so that they go or stay with it (the key counter is kept).
        if conn.transaction_depth() > 0 && !dialect.transactional_ddl() {
            let (sql, binds) = self.delete_all_statement(dialect, table)?;
            return conn.execute_native(&sql, &binds).map(|_| ());
        }
        dialect.push_truncate(&mut w, table);
        let (sql, binds) = w.finish()?;
        let Some((counters, reset)) = dialect.truncate_counter_reset() else {
            // In a savepoint where a refusal would end the transaction (PostgreSQL), so
            // that a table other tables reference is emptied by the same rules SQLite's
            // `DELETE` follows (refused for referenced rows, their own `ON DELETE`
            // otherwise) rather than refused whatever its rows.
            let truncated = match dialect.transactional_ddl() {
                true => conn.transaction(|conn| conn.execute_native(&sql, &binds)),
                false => conn.execute_native(&sql, &binds),
            };
            return match truncated {
                Err(e) if dialect.truncate_refused(&e) => self.delete_every_row(conn, table),
                other => other.map(|_| ()),
            };
        };
        // The rows and the key counter together: ids start again at 1, as after
        // PostgreSQL's `RESTART IDENTITY` and MySQL's `TRUNCATE`.
        let table = table.rsplit('.').next().unwrap_or(table).to_owned();
        conn.transaction(|conn| {
            conn.execute_native(&sql, &binds)?;
            if !conn.select_values(counters, &[])?.is_empty() {
                conn.execute_values(reset, &[Value::Text(table)])?;
            }
            Ok(())
        })
    }

    /// `DELETE FROM table`, every row, whatever this query's conditions.
    fn delete_all_statement(
        &self,
        dialect: &'static dyn crate::dialect::Dialect,
        table: &str,
    ) -> Result<(String, Vec<Value>)> {
        let rows = Query::<crate::row::Record>::new(Ident::Owned(table.to_owned()));
        let mut w = SqlWriter::new(dialect);
        render_delete(&mut w, rows.parts.into_parts(), &self.key);
        w.finish()
    }

    /// `truncate` of a table the database would not truncate because other tables
    /// reference it: every row deleted, then the key counters restarted, as one unit
    /// where the database can (MySQL's restart is DDL and commits by itself).
    fn delete_every_row(&self, conn: &mut Connection, table: &str) -> Result<()> {
        let dialect = conn.dialect();
        let (delete, delete_binds) = self.delete_all_statement(dialect, table)?;
        let mut restart = SqlWriter::new(dialect);
        dialect.push_counter_restart(&mut restart, table);
        let (restart, restart_binds) = restart.finish()?;
        let run = |conn: &mut Connection| {
            conn.execute_native(&delete, &delete_binds)?;
            if !restart.is_empty() {
                conn.execute_native(&restart, &restart_binds)?;
            }
            Ok(())
        };
        match dialect.transactional_ddl() {
            true => conn.transaction(run),
            false => run(conn),
        }
    }
}
