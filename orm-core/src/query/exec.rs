//! Terminal methods: reads, aggregates, pagination, streaming and writes. Each runs on
//! the query's connection name as the thread resolves it (an [`crate::Executor`] scope,
//! an open transaction or test database, else the pool).

use super::clause::{Order, SelectItem, Where, WhereKind};
use super::operator::Operator;
use super::render::{render_delete, render_insert, render_update, table_reference, SetValue};
use super::{BulkOp, Ident, Query};
use crate::backend::Connection;
use crate::db::{with_named, with_named_passing};
use crate::dialect::SqlWriter;
use crate::error::{Error, Result};
use crate::row::FromRow;
use crate::value::{FromValue, ToValue, Value};

/// One page of results with the totals (from [`Query::paginate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Paginator<T> {
    /// The rows of this page.
    pub data: Vec<T>,
    /// How many rows the query matches in all.
    pub total: u64,
    /// Rows per page.
    pub per_page: u64,
    /// This page's number (1-based).
    pub current_page: u64,
    /// The number of the last page (1 when there are no rows).
    pub last_page: u64,
}

/// One page of results without counting the total (from [`Query::simple_paginate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SimplePaginator<T> {
    /// The rows of this page.
    pub data: Vec<T>,
    /// Rows per page.
    pub per_page: u64,
    /// This page's number (1-based).
    pub current_page: u64,
    /// Whether another page follows.
    pub has_more: bool,
}

/// Rows per page fetched by [`Query::cursor`].
pub const CURSOR_PAGE_SIZE: u64 = 5000;

/// Successive `LIMIT/OFFSET` windows inside a query's own limit and offset.
#[derive(Debug, Clone)]
struct Pager {
    size: u64,
    offset: u64,
    remaining: Option<u64>,
}

impl Pager {
    fn new(offset: Option<u64>, limit: Option<u64>, size: u64) -> Pager {
        Pager {
            size,
            offset: offset.unwrap_or(0),
            remaining: limit,
        }
    }

    /// The next `(offset, limit)`, or `None` when the query's own limit is used up.
    fn window(&self) -> Option<(u64, u64)> {
        match self.remaining {
            Some(0) => None,
            Some(left) => Some((self.offset, left.min(self.size))),
            None => Some((self.offset, self.size)),
        }
    }

    fn advance(&mut self, rows: u64) {
        self.offset += rows;
        if let Some(left) = &mut self.remaining {
            *left = left.saturating_sub(rows);
        }
    }
}

fn not_found(table: &str, key: impl Into<String>) -> Error {
    Error::NotFound {
        model: table_reference(table).to_owned(),
        key: key.into(),
    }
}

/// A row to write, as collected from `(column, value)` pairs.
struct Batch<'a> {
    columns: Vec<&'a str>,
    /// Row-major values, `rows * columns.len()` of them.
    values: Vec<Value>,
    rows: usize,
}

fn collect_rows<'a, R>(rows: impl IntoIterator<Item = R>) -> Result<Batch<'a>>
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
                    return Err(Error::InvalidQuery(format!(
                        "column {column:?} appears twice in one row"
                    )));
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

fn mismatch(row: usize, got: &[(&str, Value)], first: &[&str]) -> Error {
    Error::InvalidQuery(format!(
        "every row must have the same columns: row {row} has {:?}, the first row has {first:?}",
        got.iter().map(|(c, _)| *c).collect::<Vec<_>>(),
    ))
}

/// Runs an insert of every row of `batch`, split into statements that stay under the
/// dialect's bind-parameter limit, all inside one transaction (a savepoint inside an
/// open one) when there is more than one statement.
fn execute_insert(
    conn: &mut Connection,
    table: &str,
    batch: Batch<'_>,
    conflict: Option<(&[&str], &[&str])>,
) -> Result<u64> {
    if batch.rows == 0 {
        return Ok(0);
    }
    if let Some((unique_by, _)) = conflict {
        if unique_by.is_empty() {
            return Err(Error::InvalidQuery(
                "upsert needs at least one unique_by column".into(),
            ));
        }
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
            if let Some((unique_by, update)) = conflict {
                dialect.push_upsert(&mut w, unique_by, update);
            }
            let (sql, binds) = w.finish()?;
            total += c.execute_native(&sql, &binds)?;
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
    /// Runs `f` on this query's named connection.
    #[inline(always)]
    pub(crate) fn run<R>(self, f: impl FnOnce(Self, &mut Connection) -> Result<R>) -> Result<R> {
        let name = self.connection.clone();
        with_named_passing(&name, self, f)
    }

    /// The primary key column, qualified with the table when the query joins others.
    fn paging_key(&self) -> Ident {
        if self.parts.joins.is_empty() || self.key.contains('.') {
            self.key.clone()
        } else {
            Ident::Owned(format!(
                "{}.{}",
                table_reference(&self.parts.table),
                self.key
            ))
        }
    }

    /// The query ordered for paging: by the primary key when it has no order.
    fn ordered_for_paging(mut self) -> Self {
        if self.parts.orders.is_empty() {
            let key = self.paging_key();
            self.parts.orders.push(Order::Column(key, false));
        }
        self
    }

    /// Restricts the query to the rows after `last` by `key` (keyset paging), ANDed with
    /// all its conditions, `OR`s included.
    fn after_key(&mut self, key: Ident, last: Value) {
        let after = Where {
            or: false,
            kind: WhereKind::Basic {
                column: key,
                op: Operator::Gt,
                value: last,
            },
        };
        self.parts
            .scopes
            .push((Ident::Borrowed(AFTER_KEY_SCOPE), vec![after]));
    }

    fn aggregate_on<V: FromValue>(
        self,
        conn: &mut Connection,
        function: &'static str,
        column: Option<Ident>,
        float: bool,
    ) -> Result<Option<V>> {
        let mut w = SqlWriter::new(conn.dialect());
        self.parts.render_aggregate(&mut w, function, column, float);
        let (sql, binds) = w.finish()?;
        let value = conn.query_first_native(&sql, &binds, |row| row.get::<Option<V>, usize>(&0))?;
        Ok(value.flatten())
    }

    /// The number of rows the query matches (`COUNT(*)`; grouped, distinct or limited
    /// queries are counted as a subquery).
    pub fn count(self) -> Result<u64> {
        self.run(Self::count_on)
    }

    fn count_on(self, conn: &mut Connection) -> Result<u64> {
        let n: Option<i64> = self.aggregate_on(conn, "COUNT", None, false)?;
        Ok(n.map_or(0, |n| n.max(0) as u64))
    }

    /// `SUM(column)` as a float (0 when no rows match). The sum is cast to a float in SQL,
    /// so it reads the same on every backend.
    pub fn sum(self, column: impl Into<Ident>) -> Result<f64> {
        let column = column.into();
        self.run(move |q, c| q.sum_on(c, column))
    }

    fn sum_on(self, conn: &mut Connection, column: impl Into<Ident>) -> Result<f64> {
        let sum: Option<f64> = self.aggregate_on(conn, "SUM", Some(column.into()), true)?;
        Ok(sum.unwrap_or(0.0))
    }

    /// `AVG(column)` as a float (`None` when no rows match).
    pub fn avg(self, column: impl Into<Ident>) -> Result<Option<f64>> {
        let column = column.into();
        self.run(move |q, c| q.avg_on(c, column))
    }

    fn avg_on(self, conn: &mut Connection, column: impl Into<Ident>) -> Result<Option<f64>> {
        self.aggregate_on(conn, "AVG", Some(column.into()), true)
    }

    /// `MIN(column)` read as `V` (`None` when no rows match): `min::<i64>("votes")`.
    pub fn min<V: FromValue>(self, column: impl Into<Ident>) -> Result<Option<V>> {
        let column = column.into();
        self.run(move |q, c| q.min_on(c, column))
    }

    fn min_on<V: FromValue>(
        self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Option<V>> {
        self.aggregate_on(conn, "MIN", Some(column.into()), false)
    }

    /// `MAX(column)` read as `V` (`None` when no rows match).
    pub fn max<V: FromValue>(self, column: impl Into<Ident>) -> Result<Option<V>> {
        let column = column.into();
        self.run(move |q, c| q.max_on(c, column))
    }

    fn max_on<V: FromValue>(
        self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Option<V>> {
        self.aggregate_on(conn, "MAX", Some(column.into()), false)
    }

    /// Whether any row matches (`SELECT EXISTS (...)`).
    pub fn exists(self) -> Result<bool> {
        self.run(Self::exists_on)
    }

    fn exists_on(self, conn: &mut Connection) -> Result<bool> {
        let mut w = SqlWriter::new(conn.dialect());
        self.parts.render_exists(&mut w);
        let (sql, binds) = w.finish()?;
        let found = conn.query_first_native(&sql, &binds, |row| row.get::<bool, usize>(&0))?;
        Ok(found.unwrap_or(false))
    }

    /// Whether no row matches.
    pub fn doesnt_exist(self) -> Result<bool> {
        self.exists().map(|e| !e)
    }

    /// The first row's `column`, read as `V` (`None` when no row matches).
    pub fn value<V: FromValue>(self, column: impl Into<Ident>) -> Result<Option<V>> {
        let column = column.into();
        self.run(move |q, c| q.value_on(c, column))
    }

    fn value_on<V: FromValue>(
        mut self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Option<V>> {
        self.parts.columns = vec![SelectItem::Column(column.into())].into();
        self.parts.limit = Some(1);
        let (sql, binds) = self.render_owned(conn.dialect())?;
        conn.query_first_native(&sql, &binds, |row| row.get::<V, usize>(&0))
    }

    /// One column of every matching row: `pluck::<String>("name")`.
    pub fn pluck<V: FromValue>(self, column: impl Into<Ident>) -> Result<Vec<V>> {
        let column = column.into();
        self.run(move |q, c| q.pluck_on(c, column))
    }

    fn pluck_on<V: FromValue>(
        mut self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Vec<V>> {
        self.parts.columns = vec![SelectItem::Column(column.into())].into();
        let (sql, binds) = self.render_owned(conn.dialect())?;
        conn.query_map_native(&sql, &binds, |row| row.get::<V, usize>(&0))
    }

    /// `(key, value)` pairs of two columns of every matching row, in query order:
    /// `pluck_keyed::<i64, String>("name", "id")` (collect into a `HashMap` if wanted).
    pub fn pluck_keyed<K: FromValue, V: FromValue>(
        self,
        value_column: impl Into<Ident>,
        key_column: impl Into<Ident>,
    ) -> Result<Vec<(K, V)>> {
        let (value_column, key_column) = (value_column.into(), key_column.into());
        self.run(move |q, c| q.pluck_keyed_on(c, value_column, key_column))
    }

    fn pluck_keyed_on<K: FromValue, V: FromValue>(
        mut self,
        conn: &mut Connection,
        value_column: impl Into<Ident>,
        key_column: impl Into<Ident>,
    ) -> Result<Vec<(K, V)>> {
        self.parts.columns = vec![
            SelectItem::Column(key_column.into()),
            SelectItem::Column(value_column.into()),
        ]
        .into();
        let (sql, binds) = self.render_owned(conn.dialect())?;
        conn.query_map_native(&sql, &binds, |row| {
            Ok((row.get::<K, usize>(&0)?, row.get::<V, usize>(&1)?))
        })
    }

    // ----- writes ---------------------------------------------------------------------

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

    fn insert_many_on<'a, R>(
        self,
        conn: &mut Connection,
        rows: impl IntoIterator<Item = R>,
    ) -> Result<u64>
    where
        R: IntoIterator<Item = (&'a str, Value)>,
    {
        let batch = collect_rows(rows)?;
        execute_insert(conn, &self.parts.table, batch, None)
    }

    /// Inserts one row and returns its primary key (`INSERT ... RETURNING key`).
    pub fn insert_get_id<'a>(self, row: impl IntoIterator<Item = (&'a str, Value)>) -> Result<i64> {
        self.run(move |q, c| q.insert_get_id_on(c, row))
    }

    fn insert_get_id_on<'a>(
        self,
        conn: &mut Connection,
        row: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<i64> {
        let batch = collect_rows([row])?;
        let dialect = conn.dialect();
        let mut w = SqlWriter::new(dialect);
        let mut values = batch.values.into_iter();
        render_insert(&mut w, &self.parts.table, &batch.columns, 1, &mut values);
        dialect.push_returning(&mut w, &self.key);
        let (sql, binds) = w.finish()?;
        conn.query_first_native(&sql, &binds, |row| row.get::<i64, usize>(&0))?
            .ok_or_else(|| Error::InvalidQuery("INSERT ... RETURNING returned no row".into()))
    }

    /// Inserts rows, or updates `update` columns of the existing row when one with the
    /// same `unique_by` columns exists (`ON CONFLICT (unique_by) DO UPDATE SET c =
    /// excluded.c`; `DO NOTHING` when `update` is empty). `unique_by` must match a
    /// unique index. Chunked like [`Query::insert_many`]. Returns the rows written.
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

    fn upsert_on<'a, R>(
        self,
        conn: &mut Connection,
        rows: impl IntoIterator<Item = R>,
        unique_by: &[&str],
        update: &[&str],
    ) -> Result<u64>
    where
        R: IntoIterator<Item = (&'a str, Value)>,
    {
        let batch = collect_rows(rows)?;
        execute_insert(conn, &self.parts.table, batch, Some((unique_by, update)))
    }

    /// Updates the matching rows: `update(row!{"votes" => 0})`; returns how many.
    /// A query with joins, order or limit updates `WHERE key IN (SELECT key ...)`.
    pub fn update<'a>(self, values: impl IntoIterator<Item = (&'a str, Value)>) -> Result<u64> {
        self.run(move |q, c| q.update_on(c, values))
    }

    fn update_on<'a>(
        mut self,
        conn: &mut Connection,
        values: impl IntoIterator<Item = (&'a str, Value)>,
    ) -> Result<u64> {
        if let Some(bulk) = self.model.bulk.take() {
            let values = values.into_iter().map(|(c, v)| (c.to_owned(), v)).collect();
            return bulk(self, BulkOp::Update(values), conn);
        }
        let sets: Vec<_> = values
            .into_iter()
            .map(|(c, v)| (c, SetValue::Value(v)))
            .collect();
        self.execute_update(conn, sets)
    }

    fn execute_update(self, conn: &mut Connection, mut sets: Vec<(&str, SetValue)>) -> Result<u64> {
        if sets.is_empty() {
            return Err(Error::InvalidQuery(
                "update needs at least one column".into(),
            ));
        }
        if let Some(updated_at) = self.model.updated_at {
            if !sets.iter().any(|(c, _)| *c == updated_at) {
                let now = Value::DateTimeUtc(crate::model::now());
                sets.push((updated_at, SetValue::Value(now)));
            }
        }
        let mut w = SqlWriter::new(conn.dialect());
        render_update(&mut w, self.parts, &self.key, sets);
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

    fn increment_with_on<'a>(
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

    fn decrement_with_on<'a>(
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

    fn delete_on(mut self, conn: &mut Connection) -> Result<u64> {
        if let Some(bulk) = self.model.bulk.take() {
            let force = self.soft_delete.is_none();
            return bulk(self, BulkOp::Delete { force }, conn);
        }
        if let Some((deleted_at, updated_at)) = self.soft_delete.take() {
            let at = Value::DateTimeUtc(crate::model::now());
            let mut sets = vec![(deleted_at, at.clone())];
            sets.extend(updated_at.map(|u| (u, at)));
            return self.update_on(conn, sets);
        }
        let mut w = SqlWriter::new(conn.dialect());
        render_delete(&mut w, self.parts, &self.key);
        let (sql, binds) = w.finish()?;
        conn.execute_native(&sql, &binds)
    }

    /// Empties the table, ignoring the query's conditions (PostgreSQL: `TRUNCATE ...
    /// RESTART IDENTITY`; SQLite: `DELETE FROM`).
    pub fn truncate(self) -> Result<()> {
        self.run(Self::truncate_on)
    }

    fn truncate_on(self, conn: &mut Connection) -> Result<()> {
        let dialect = conn.dialect();
        let mut w = SqlWriter::new(dialect);
        let (table, _) = super::clause::split_alias(&self.parts.table);
        dialect.push_truncate(&mut w, table);
        let (sql, binds) = w.finish()?;
        conn.execute_native(&sql, &binds).map(|_| ())
    }
}

/// What a `chunk`/`each` callback returns: `()` to go on, or a `bool` (`false` stops).
pub trait Continue {
    /// Whether to go on with the next chunk or row.
    fn go_on(self) -> bool;
}

impl Continue for () {
    fn go_on(self) -> bool {
        true
    }
}

impl Continue for bool {
    fn go_on(self) -> bool {
        self
    }
}

impl<T: FromRow> Query<T> {
    /// Every matching row.
    pub fn get(self) -> Result<Vec<T>> {
        self.run(Self::get_on)
    }

    pub(crate) fn get_on(mut self, conn: &mut Connection) -> Result<Vec<T>> {
        self.check_lazy_guard()?;
        let extras = std::mem::take(&mut self.model);
        // Rendering does not read the name: take it rather than copy it.
        let connection = std::mem::replace(&mut self.connection, Ident::Borrowed(""));
        let mut columns = None;
        let mut rows = match self.cached_select_sql(conn.dialect()) {
            Some(sql) => {
                conn.query_map_native(sql, &[], |row| T::from_row_in(row, &mut columns))?
            }
            None => {
                let (sql, binds) = self.render_owned(conn.dialect())?;
                conn.query_map_native(&sql, &binds, |row| T::from_row_in(row, &mut columns))?
            }
        };
        T::remember_connection(&mut rows, &connection);
        if let Some(after_load) = extras.after_load {
            after_load(&mut rows, &extras.plan, conn)?;
        }
        Ok(rows)
    }

    fn check_lazy_guard(&self) -> Result<()> {
        match self.model.lazy_guard {
            Some((model, relation)) if crate::relation::lazy_loading_prevented() => {
                Err(Error::LazyLoading {
                    model: model.to_owned(),
                    relation: relation.to_owned(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The first matching row (`LIMIT 1`), if any.
    pub fn first(self) -> Result<Option<T>> {
        self.run(Self::first_on)
    }

    pub(crate) fn first_on(self, conn: &mut Connection) -> Result<Option<T>> {
        Ok(self.limit(1).get_on(conn)?.into_iter().next())
    }

    /// The first matching row, or [`Error::NotFound`] naming the table.
    pub fn first_or_fail(self) -> Result<T> {
        self.run(Self::first_or_fail_on)
    }

    fn first_or_fail_on(self, conn: &mut Connection) -> Result<T> {
        let table = self.parts.table.clone();
        self.first_on(conn)?
            .ok_or_else(|| not_found(&table, "the given conditions"))
    }

    /// The only matching row: [`Error::NotFound`] when none matches,
    /// [`Error::MultipleRows`] (with the count) when several do.
    pub fn sole(self) -> Result<T> {
        self.run(Self::sole_on)
    }

    fn sole_on(self, conn: &mut Connection) -> Result<T> {
        let counter = self.clone();
        let table = self.parts.table.clone();
        let mut rows = self.limit(2).get_on(conn)?;
        match rows.len() {
            0 => Err(not_found(&table, "the given conditions")),
            1 => Ok(rows.remove(0)),
            _ => {
                let found = counter.count_on(conn)?.max(2);
                Err(Error::MultipleRows { found })
            }
        }
    }

    /// The row whose primary key (`id` unless [`Query::primary_key`] says otherwise)
    /// equals `id`.
    pub fn find(self, id: impl ToValue) -> Result<Option<T>> {
        let id = id.to_value();
        self.run(move |q, c| q.find_on(c, id))
    }

    fn find_on(self, conn: &mut Connection, id: Value) -> Result<Option<T>> {
        let key = self.key.clone();
        self.where_eq(key, id).first_on(conn)
    }

    /// [`Query::find`], or [`Error::NotFound`] naming the table and the key.
    pub fn find_or_fail(self, id: impl ToValue) -> Result<T> {
        let id = id.to_value();
        self.run(move |q, c| q.find_or_fail_on(c, id))
    }

    fn find_or_fail_on(self, conn: &mut Connection, id: Value) -> Result<T> {
        let table = self.parts.table.clone();
        let key = format!("{} = {id}", self.key);
        self.find_on(conn, id)?
            .ok_or_else(|| not_found(&table, key))
    }

    /// Page `page` (1-based) of `per_page` rows, with the total count (two queries; the
    /// query's own limit and offset are replaced).
    pub fn paginate(self, per_page: u64, page: u64) -> Result<Paginator<T>> {
        self.run(move |q, c| q.paginate_on(c, per_page, page))
    }

    fn paginate_on(self, conn: &mut Connection, per_page: u64, page: u64) -> Result<Paginator<T>> {
        if per_page == 0 {
            return Err(Error::InvalidQuery("per_page must be at least 1".into()));
        }
        let page = page.max(1);
        let mut counter = self.clone();
        counter.parts.orders.clear();
        counter.parts.limit = None;
        counter.parts.offset = None;
        let total = counter.count_on(conn)?;
        let data = self.for_page(page, per_page).get_on(conn)?;
        Ok(Paginator {
            data,
            total,
            per_page,
            current_page: page,
            last_page: total.div_ceil(per_page).max(1),
        })
    }

    /// Page `page` of `per_page` rows and whether more follow, without counting (one
    /// query, fetching one extra row).
    pub fn simple_paginate(self, per_page: u64, page: u64) -> Result<SimplePaginator<T>> {
        self.run(move |q, c| q.simple_paginate_on(c, per_page, page))
    }

    fn simple_paginate_on(
        self,
        conn: &mut Connection,
        per_page: u64,
        page: u64,
    ) -> Result<SimplePaginator<T>> {
        if per_page == 0 {
            return Err(Error::InvalidQuery("per_page must be at least 1".into()));
        }
        let page = page.max(1);
        let offset = (page - 1).saturating_mul(per_page);
        let mut data = self.offset(offset).limit(per_page + 1).get_on(conn)?;
        let has_more = data.len() as u64 > per_page;
        data.truncate(per_page as usize);
        Ok(SimplePaginator {
            data,
            per_page,
            current_page: page,
            has_more,
        })
    }

    fn chunk_with(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<bool>,
        mut fetch: impl FnMut(Self) -> Result<Vec<T>>,
    ) -> Result<bool> {
        if size == 0 {
            return Err(Error::InvalidQuery("chunk size must be at least 1".into()));
        }
        let base = self.ordered_for_paging();
        let mut pager = Pager::new(base.parts.offset, base.parts.limit, size);
        while let Some((offset, limit)) = pager.window() {
            let mut page = base.clone();
            page.parts.offset = Some(offset);
            page.parts.limit = Some(limit);
            let rows = fetch(page)?;
            let n = rows.len() as u64;
            if n == 0 {
                break;
            }
            if !f(rows)? {
                return Ok(false);
            }
            if n < limit {
                break;
            }
            pager.advance(n);
        }
        Ok(true)
    }

    /// Calls `f` with successive pages of `size` rows (`LIMIT/OFFSET`, ordered by the
    /// primary key when the query has no order) until the rows run out or `f` returns
    /// `Ok(false)`. Returns `Ok(false)` when `f` stopped early. The connection is free
    /// while `f` runs, so `f` may run queries itself.
    ///
    /// Pages are counted by offset: when `f` changes rows so that they no longer match
    /// (or move in the order), later pages skip rows. Use [`Query::chunk_by_id`] when the
    /// callback changes the rows it gets.
    pub fn chunk<R: Continue>(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<R>,
    ) -> Result<bool> {
        let name = self.connection.clone();
        self.chunk_with(
            size,
            |rows| f(rows).map(Continue::go_on),
            |q| with_named(&name, |c| q.get_on(c)),
        )
    }

    fn chunk_by_id_with(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<bool>,
        mut fetch: impl FnMut(Self) -> Result<Vec<T>>,
    ) -> Result<bool> {
        if size == 0 {
            return Err(Error::InvalidQuery("chunk size must be at least 1".into()));
        }
        let parts = &self.parts;
        if !parts.orders.is_empty() || parts.offset.is_some() || !parts.unions.is_empty() {
            return Err(Error::InvalidQuery(
                "chunk_by_id pages by the primary key: the query must have no order_by, \
                 offset or union (use chunk for those)"
                    .into(),
            ));
        }
        let key = self.paging_key();
        let key_name = key.rsplit('.').next().unwrap_or_default().to_owned();
        let mut base = self;
        base.parts.orders.push(Order::Column(key.clone(), false));
        let mut remaining = base.parts.limit;
        let mut last: Option<Value> = None;
        loop {
            let limit = match remaining {
                Some(0) => break,
                Some(left) => left.min(size),
                None => size,
            };
            let mut page = base.clone();
            page.parts.limit = Some(limit);
            if let Some(last) = last.take() {
                page.after_key(key.clone(), last);
            }
            let rows = fetch(page)?;
            let n = rows.len() as u64;
            let Some(row) = rows.last() else { break };
            let next = row
                .decoded_column(&key_name)
                .filter(|key| !key.is_null())
                .ok_or_else(|| {
                    Error::InvalidQuery(format!(
                        "chunk_by_id reads each page's last key: select the key column \
                         `{key_name}` (non-null) and read rows as models or records"
                    ))
                })?;
            if !f(rows)? {
                return Ok(false);
            }
            if n < limit {
                break;
            }
            if let Some(left) = &mut remaining {
                *left -= n;
            }
            last = Some(next);
        }
        Ok(true)
    }

    /// Calls `f` with successive pages of `size` rows, paging by the primary key
    /// (`WHERE key > last ORDER BY key LIMIT size`, ANDed with the query's own conditions;
    /// the key qualified with the table when the query joins others), until the rows run
    /// out or `f` returns `Ok(false)`. Returns `Ok(false)` when `f` stopped early.
    ///
    /// Unlike [`Query::chunk`], every matching row is seen exactly once even when `f`
    /// updates the rows it gets (a flag the query filters on, the column it orders by),
    /// and every page costs the same. The query's own limit caps the total; a query with
    /// an `order_by`, an offset or a union is [`Error::InvalidQuery`], and so is a row type
    /// that cannot tell its key (select the key column; rows are models or records).
    pub fn chunk_by_id<R: Continue>(
        self,
        size: u64,
        mut f: impl FnMut(Vec<T>) -> Result<R>,
    ) -> Result<bool> {
        let name = self.connection.clone();
        self.chunk_by_id_with(
            size,
            |rows| f(rows).map(Continue::go_on),
            |q| with_named(&name, |c| q.get_on(c)),
        )
    }

    /// Streams the rows through `f` as the driver reads them (one query, nothing
    /// collected); `f` returns `Ok(false)` to stop. The connection is busy while `f`
    /// runs, so `f` must not run queries on it.
    pub fn each<R: Continue>(self, f: impl FnMut(T) -> Result<R>) -> Result<()> {
        self.run(move |q, c| q.each_on(c, f))
    }

    fn each_on<R: Continue>(
        mut self,
        conn: &mut Connection,
        mut f: impl FnMut(T) -> Result<R>,
    ) -> Result<()> {
        let connection = std::mem::replace(&mut self.connection, Ident::Borrowed(""));
        let (sql, binds) = self.render_owned(conn.dialect())?;
        let mut columns = None;
        conn.query_each_native(&sql, &binds, |row| {
            let mut decoded = T::from_row_in(row, &mut columns)?;
            T::remember_connection(std::slice::from_mut(&mut decoded), &connection);
            f(decoded).map(Continue::go_on)
        })
    }

    /// An iterator over every matching row that never holds more than one page in memory:
    /// pages of [`CURSOR_PAGE_SIZE`] rows are fetched lazily, each page on a connection
    /// taken only for that query — so the loop body may run queries. A query with no
    /// order, offset, join, grouping, `DISTINCT` or union that selects its primary key
    /// pages by key (`WHERE key > last ORDER BY key LIMIT n`: every page costs the same);
    /// any other pages with `LIMIT/OFFSET` (ordered by the primary key when it has no
    /// order). Use [`Query::each`] for a single-statement stream.
    pub fn cursor(self) -> Cursor<T> {
        self.lazy(CURSOR_PAGE_SIZE)
    }

    /// [`Query::cursor`] with pages of `page_size` rows.
    pub fn lazy(self, page_size: u64) -> Cursor<T> {
        Cursor::new(self, page_size)
    }
}

/// A lazy iterator over a query's rows, fetched a page at a time (see [`Query::cursor`]).
/// Yields `Err` once and stops if a page cannot be read.
pub struct Cursor<T> {
    query: Query<T>,
    pager: Pager,
    /// The current page, reused for every page (drained from the front).
    buffer: std::collections::VecDeque<T>,
    done: bool,
    keyset: Keyset,
}

/// How a [`Cursor`] finds its next page.
#[derive(Debug, Clone)]
enum Keyset {
    /// Keyset paging is possible; the first page tells where the key column is.
    Undecided,
    /// After the row with this key (`WHERE key > last`).
    After { position: usize, last: Value },
    /// `LIMIT/OFFSET` paging.
    Off,
}

/// The key column's position and the key of the last row read.
type LastKey = (usize, Value);

/// The scope holding the `key > last` condition of keyset paging (`cursor`,
/// `chunk_by_id`).
const AFTER_KEY_SCOPE: &str = "after_key";

impl<T> std::fmt::Debug for Cursor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor")
            .field("query", &self.query)
            .field("offset", &self.pager.offset)
            .field("done", &self.done)
            .finish()
    }
}

impl<T> Cursor<T> {
    fn new(query: Query<T>, page_size: u64) -> Self {
        let parts = &query.parts;
        let by_key = parts.orders.is_empty()
            && parts.offset.is_none()
            && parts.joins.is_empty()
            && parts.groups.is_empty()
            && parts.havings.is_empty()
            && parts.unions.is_empty()
            && !parts.distinct;
        let query = query.ordered_for_paging();
        let pager = Pager::new(query.parts.offset, query.parts.limit, page_size.max(1));
        Cursor {
            query,
            pager,
            buffer: std::collections::VecDeque::new(),
            done: false,
            keyset: if by_key {
                Keyset::Undecided
            } else {
                Keyset::Off
            },
        }
    }
}

impl<T: FromRow> Cursor<T> {
    /// Reads one page, noting the key of its last row while keyset paging is possible.
    fn fetch(
        page: Query<T>,
        conn: &mut Connection,
        keyset: &Keyset,
        rows: &mut std::collections::VecDeque<T>,
    ) -> Result<(u64, Option<LastKey>)> {
        let key_name = page.key.rsplit('.').next().unwrap_or_default().to_owned();
        let mut position = match keyset {
            Keyset::After { position, .. } => Some(*position),
            Keyset::Undecided | Keyset::Off => None,
        };
        let find_key = matches!(keyset, Keyset::Undecided);
        let mut last = None;
        let mut last_value = None;
        let start = rows.len();
        let capacity = page
            .parts
            .limit
            .map_or(0, |n| n.min(CURSOR_PAGE_SIZE) as usize);
        let connection = page.connection.clone();
        let (sql, binds) = page.render_owned(conn.dialect())?;
        let mut columns = None;
        rows.reserve(capacity);
        let mut count = 0;
        // Models and records tell their key after decoding: only the last row's is read.
        let mut decoded_key = None;
        conn.query_each_native(&sql, &binds, |row| {
            if find_key && position.is_none() {
                position = (0..row.len()).find(|&i| row.column_name(i) == key_name);
            }
            let decoded = T::from_row_in(row, &mut columns)?;
            if let Some(i) = position {
                if *decoded_key.get_or_insert_with(|| decoded.decoded_column(&key_name).is_some()) {
                    last = Some(i);
                } else {
                    last_value = Some((i, row.value_at(i)?.to_owned_value()));
                }
            }
            rows.push_back(decoded);
            count += 1;
            Ok(true)
        })?;
        T::remember_connection(&mut rows.make_contiguous()[start..], &connection);
        let last = match (last, last_value) {
            (_, Some(found)) => Some(found),
            (Some(i), None) => rows
                .back()
                .filter(|_| rows.len() > start)
                .and_then(|row| row.decoded_column(&key_name))
                .map(|key| (i, key)),
            (None, None) => None,
        };
        Ok((count, last))
    }
}

impl<T: FromRow> Iterator for Cursor<T> {
    type Item = Result<T>;

    fn next(&mut self) -> Option<Result<T>> {
        loop {
            if let Some(row) = self.buffer.pop_front() {
                return Some(Ok(row));
            }
            if self.done {
                return None;
            }
            let Some((offset, limit)) = self.pager.window() else {
                self.done = true;
                return None;
            };
            let mut page = self.query.clone();
            page.parts.limit = Some(limit);
            match &self.keyset {
                Keyset::After { last, .. } => {
                    let key = page.key.clone();
                    page.after_key(key, last.clone());
                }
                Keyset::Undecided | Keyset::Off => page.parts.offset = Some(offset),
            }
            let keyset = &self.keyset;
            let buffer = &mut self.buffer;
            let fetched = page.run(|page, conn| Self::fetch(page, conn, keyset, buffer));
            match fetched {
                Err(e) => {
                    self.done = true;
                    self.buffer.clear();
                    return Some(Err(e));
                }
                Ok((n, last)) => {
                    if n < limit {
                        self.done = true;
                    }
                    self.pager.advance(n);
                    if !matches!(self.keyset, Keyset::Off) {
                        self.keyset = match last {
                            Some((position, last)) => Keyset::After { position, last },
                            // The key is not among the selected columns.
                            None if n > 0 => Keyset::Off,
                            None => Keyset::Undecided,
                        };
                    }
                }
            }
        }
    }
}
