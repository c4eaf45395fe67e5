//! Reading terminals: rows (`get`, `first`, `find`, `sole`), aggregates, `pluck`/`value`, pagination.

use super::*;
use std::sync::Arc;

use crate::dialect::Dialect;
use crate::query::clause::split_alias;
use crate::query::shape::{Lookup, ShapeCache};
use crate::query::{Clauses, Columns, DefaultSelect, Parts};
use crate::row::Row;
use crate::value::{TypeFamily, ValueRef};
use std::cell::{Cell, RefCell};

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

impl<T> Paginator<T> {
    /// Whether a page follows this one (Laravel's `hasMorePages`).
    pub fn has_more_pages(&self) -> bool {
        self.current_page < self.last_page
    }

    /// Whether there is more than one page (Laravel's `hasPages`).
    pub fn has_pages(&self) -> bool {
        self.last_page > 1
    }

    /// Whether this is the first page.
    pub fn on_first_page(&self) -> bool {
        self.current_page <= 1
    }

    /// Whether this is the last page (or past it).
    pub fn on_last_page(&self) -> bool {
        self.current_page >= self.last_page
    }

    /// The next page's number, `None` on the last page.
    pub fn next_page(&self) -> Option<u64> {
        self.has_more_pages().then(|| self.current_page + 1)
    }

    /// The previous page's number, `None` on the first page.
    pub fn previous_page(&self) -> Option<u64> {
        previous_page(self.current_page)
    }

    /// The 1-based position of this page's first row among all rows (Laravel's
    /// `firstItem`), `None` for an empty page.
    pub fn first_item(&self) -> Option<u64> {
        first_item(self.current_page, self.per_page, self.data.len())
    }

    /// The position of this page's last row (Laravel's `lastItem`), `None` when empty.
    pub fn last_item(&self) -> Option<u64> {
        last_item(self.current_page, self.per_page, self.data.len())
    }
}

impl<T> SimplePaginator<T> {
    /// Whether a page follows this one.
    pub fn has_more_pages(&self) -> bool {
        self.has_more
    }

    /// Whether this is the first page.
    pub fn on_first_page(&self) -> bool {
        self.current_page <= 1
    }

    /// The next page's number, `None` on the last page.
    pub fn next_page(&self) -> Option<u64> {
        self.has_more.then(|| self.current_page + 1)
    }

    /// The previous page's number, `None` on the first page.
    pub fn previous_page(&self) -> Option<u64> {
        previous_page(self.current_page)
    }

    /// The 1-based position of this page's first row among all rows, `None` when empty.
    pub fn first_item(&self) -> Option<u64> {
        first_item(self.current_page, self.per_page, self.data.len())
    }

    /// The position of this page's last row, `None` when empty.
    pub fn last_item(&self) -> Option<u64> {
        last_item(self.current_page, self.per_page, self.data.len())
    }
}

/// The page before `page`, `None` on the first.
fn previous_page(page: u64) -> Option<u64> {
    (page > 1).then(|| page - 1)
}

fn first_item(page: u64, per_page: u64, rows: usize) -> Option<u64> {
    (rows > 0).then(|| {
        page.saturating_sub(1)
            .saturating_mul(per_page)
            .saturating_add(1)
    })
}

fn last_item(page: u64, per_page: u64, rows: usize) -> Option<u64> {
    let first = first_item(page, per_page, rows)?;
    Some(first.saturating_add(rows as u64 - 1))
}

#[cfg(feature = "json")]
impl<T: serde::Serialize> Paginator<T> {
    /// The page as JSON (its `Serialize`: Laravel's keys, the URLs left out), or
    /// [`Error::Serialization`].
    pub fn to_json(&self) -> Result<serde_json::Value> {
        serde_json::to_value(self).map_err(Error::Serialization)
    }
}

#[cfg(feature = "json")]
impl<T: serde::Serialize> SimplePaginator<T> {
    /// The page as JSON (its `Serialize`), or [`Error::Serialization`].
    pub fn to_json(&self) -> Result<serde_json::Value> {
        serde_json::to_value(self).map_err(Error::Serialization)
    }
}

/// Laravel's page as JSON, the URLs left out (the pages' numbers in their place):
/// `{"current_page", "data", "from", "last_page", "next_page", "per_page",
/// "prev_page", "to", "total"}`.
#[cfg(feature = "json")]
impl<T: serde::Serialize> serde::Serialize for Paginator<T> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut page = serializer.serialize_struct("Paginator", 9)?;
        page.serialize_field("current_page", &self.current_page)?;
        page.serialize_field("data", &self.data)?;
        page.serialize_field("from", &self.first_item())?;
        page.serialize_field("last_page", &self.last_page)?;
        page.serialize_field("next_page", &self.next_page())?;
        page.serialize_field("per_page", &self.per_page)?;
        page.serialize_field("prev_page", &self.previous_page())?;
        page.serialize_field("to", &self.last_item())?;
        page.serialize_field("total", &self.total)?;
        page.end()
    }
}

/// Laravel's simple page as JSON, the URLs left out: `{"current_page", "data", "from",
/// "next_page", "per_page", "prev_page", "to"}`.
#[cfg(feature = "json")]
impl<T: serde::Serialize> serde::Serialize for SimplePaginator<T> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut page = serializer.serialize_struct("SimplePaginator", 7)?;
        page.serialize_field("current_page", &self.current_page)?;
        page.serialize_field("data", &self.data)?;
        page.serialize_field("from", &self.first_item())?;
        page.serialize_field("next_page", &self.next_page())?;
        page.serialize_field("per_page", &self.per_page)?;
        page.serialize_field("prev_page", &self.previous_page())?;
        page.serialize_field("to", &self.last_item())?;
        page.end()
    }
}

pub(super) fn not_found(table: &str, key: impl Into<String>) -> Error {
    Error::NotFound {
        model: table_reference(table).to_owned(),
        key: key.into(),
    }
}

impl<T> Query<T> {
    /// Runs `f` on this query's named connection.
    #[inline(always)]
    pub(crate) fn run<R>(self, f: impl FnOnce(Self, &mut Connection) -> Result<R>) -> Result<R> {
        let name = self.connection.clone();
        with_named_passing(&name, self, f)
    }

    /// Runs the read `f` on this query's named connection: on a read replica when the
    /// connection has some and nothing holds the read to the primary (a lock,
    /// [`Query::on_primary`], a transaction or scope, sticky reads). `f` runs on a copy
    /// of the query there, so that a replica lost during the call can be skipped and the
    /// read run again elsewhere.
    #[inline(always)]
    pub(crate) fn run_read<R>(
        self,
        mut f: impl FnMut(Self, &mut Connection) -> Result<R>,
    ) -> Result<R> {
        let name = self.connection.clone();
        match self.read_replicas(&name) {
            Some(set) => set.read(&name, |conn| f(self.clone(), conn)),
            None => with_named_on(&name, false, self, f),
        }
    }

    /// The replicas this query's reads may use (see [`Query::run_read`]).
    #[inline(always)]
    pub(crate) fn read_replicas(
        &self,
        name: &str,
    ) -> Option<std::sync::Arc<crate::replicas::ReplicaSet>> {
        if self.on_primary || self.parts.lock.is_some() {
            None
        } else {
            read_replicas(name)
        }
    }

    pub(super) fn aggregate_on<V: FromValue>(
        self,
        conn: &mut Connection,
        function: &'static str,
        column: Option<Ident>,
        float: bool,
    ) -> Result<Option<V>> {
        let function = match V::FAMILY {
            TypeFamily::Bool => conn.dialect().boolean_aggregate(function),
            _ => function,
        };
        let mut w = SqlWriter::new(conn.dialect());
        self.parts
            .into_parts()
            .render_aggregate(&mut w, function, column, float);
        let (sql, binds) = w.finish()?;
        let value = conn.query_first_native(&sql, &binds, |row| row.get::<Option<V>, usize>(&0))?;
        Ok(value.flatten())
    }

    /// The number of rows the query matches (`COUNT(*)`; grouped, distinct or limited
    /// queries are counted as a subquery). A distinct query of one column counts that
    /// column's distinct values, NULL not among them, as Orator's `count()` does
    /// (`COUNT(DISTINCT col)`); the paginators' totals count the rows, NULL included.
    pub fn count(self) -> Result<u64> {
        self.run_read(Self::count_on)
    }

    pub(super) fn count_on(self, conn: &mut Connection) -> Result<u64> {
        let n: Option<i64> = self.aggregate_on(conn, "COUNT", None, false)?;
        Ok(n.map_or(0, |n| n.max(0) as u64))
    }

    /// The number of rows the query returns, a distinct one-column query's NULL row
    /// among them.
    pub(super) fn count_rows_on(self, conn: &mut Connection) -> Result<u64> {
        let mut w = SqlWriter::new(conn.dialect());
        self.parts.into_parts().render_row_count(&mut w);
        let (sql, binds) = w.finish()?;
        let n = conn.query_first_native(&sql, &binds, |row| row.get::<Option<i64>, usize>(&0))?;
        Ok(n.flatten().map_or(0, |n| n.max(0) as u64))
    }

    /// The number of matching rows whose `column` is not NULL (`COUNT(column)`;
    /// Laravel's and Orator's `count('column')`).
    pub fn count_column(self, column: impl Into<Ident>) -> Result<u64> {
        let column = column.into();
        self.run_read(move |q, c| {
            let n: Option<i64> = q.aggregate_on(c, "COUNT", Some(column.clone()), false)?;
            Ok(n.map_or(0, |n| n.max(0) as u64))
        })
    }

    /// `SUM(column)` as a float (0 when no rows match). The sum is cast to a float in SQL,
    /// so it reads the same on every backend; for money use [`Query::sum_exact`].
    pub fn sum(self, column: impl Into<Ident>) -> Result<f64> {
        let column = column.into();
        self.run_read(move |q, c| q.sum_on(c, column.clone()))
    }

    pub(super) fn sum_on(self, conn: &mut Connection, column: impl Into<Ident>) -> Result<f64> {
        let sum: Option<f64> = self.aggregate_on(conn, "SUM", Some(column.into()), true)?;
        Ok(sum.unwrap_or(0.0))
    }

    /// `SUM(column)` read as `V`, exactly as the database sums it (`None` when no rows
    /// match): for money, `sum_exact::<Decimal>("amount")` (PostgreSQL's and MySQL's
    /// `NUMERIC`/`DECIMAL` sums are exact; SQLite sums in doubles), or an integer sum as
    /// `i64`. [`Query::sum`] reads every sum as a float.
    pub fn sum_exact<V: FromValue>(self, column: impl Into<Ident>) -> Result<Option<V>> {
        let column = column.into();
        self.run_read(move |q, c| q.aggregate_on(c, "SUM", Some(column.clone()), false))
    }

    /// `AVG(column)` as a float (`None` when no rows match).
    pub fn avg(self, column: impl Into<Ident>) -> Result<Option<f64>> {
        let column = column.into();
        self.run_read(move |q, c| q.avg_on(c, column.clone()))
    }

    pub(super) fn avg_on(
        self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Option<f64>> {
        self.aggregate_on(conn, "AVG", Some(column.into()), true)
    }

    /// `MIN(column)` read as `V` (`None` when no rows match): `min::<i64>("votes")`.
    pub fn min<V: FromValue>(self, column: impl Into<Ident>) -> Result<Option<V>> {
        let column = column.into();
        self.run_read(move |q, c| q.min_on(c, column.clone()))
    }

    pub(super) fn min_on<V: FromValue>(
        self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Option<V>> {
        self.aggregate_on(conn, "MIN", Some(column.into()), false)
    }

    /// `MAX(column)` read as `V` (`None` when no rows match).
    pub fn max<V: FromValue>(self, column: impl Into<Ident>) -> Result<Option<V>> {
        let column = column.into();
        self.run_read(move |q, c| q.max_on(c, column.clone()))
    }

    pub(super) fn max_on<V: FromValue>(
        self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Option<V>> {
        self.aggregate_on(conn, "MAX", Some(column.into()), false)
    }

    /// Whether any row matches (`SELECT EXISTS (...)`).
    pub fn exists(self) -> Result<bool> {
        self.run_read(Self::exists_on)
    }

    pub(super) fn exists_on(self, conn: &mut Connection) -> Result<bool> {
        let mut w = SqlWriter::new(conn.dialect());
        self.parts.into_parts().render_exists(&mut w);
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
        self.run_read(move |q, c| q.value_on(c, column.clone()))
    }

    pub(super) fn value_on<V: FromValue>(
        mut self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Option<V>> {
        let column = column.into();
        self.parts_mut().limit = Some(1);
        if self.parts.columns.chosen() {
            // The query's own select stays (Laravel's `onceWithColumns`): the column is
            // read from its row by name.
            let (sql, binds) = self.render_owned(conn.dialect())?;
            return conn.query_first_native(&sql, &binds, |row| {
                row.get::<V, usize>(&plucked_position(row, &column)?)
            });
        }
        let json = reads_json_value::<V>(&column);
        let mut query = self.compound_as_table();
        query.parts_mut().columns = vec![plucked::<V>(column)].into();
        let (sql, binds) = query.render_owned(conn.dialect())?;
        conn.query_first_native(&sql, &binds, |row| read_plucked::<V>(row, 0, json))
    }

    /// A compound query (`union`, `intersect`, `except`) as a derived table (see
    /// [`Parts::compound_as_table`]), so that a read selecting columns of its own selects
    /// them from every part's rows (selected on the first part alone, the parts' columns
    /// would differ). Any other query as it is.
    fn compound_as_table(mut self) -> Self {
        if !self.parts.unions.is_empty() {
            let parts = self.parts_mut();
            let compound = std::mem::replace(parts, Parts::new(Ident::Borrowed("")));
            *parts = compound.compound_as_table();
        }
        self
    }

    /// One column of every matching row: `pluck::<String>("name")`. The query selects
    /// just that column unless it has a `select` of its own; then the column is read from
    /// its rows by name (by the alias of `expr as alias`, or the name after a `table.`),
    /// [`Error::ColumnNotFound`] when they have no such column.
    pub fn pluck<V: FromValue>(self, column: impl Into<Ident>) -> Result<Vec<V>> {
        let column = column.into();
        self.run_read(move |q, c| q.pluck_on(c, column.clone()))
    }

    pub(super) fn pluck_on<V: FromValue>(
        self,
        conn: &mut Connection,
        column: impl Into<Ident>,
    ) -> Result<Vec<V>> {
        let column = column.into();
        if self.parts.columns.chosen() {
            let mut at = selected_position(&self.parts.columns, &column);
            let (sql, binds) = self.render_owned(conn.dialect())?;
            return conn.query_map_native(&sql, &binds, |row| {
                let i = match at {
                    Some(i) => i,
                    None => *at.insert(plucked_position(row, &column)?),
                };
                row.get::<V, usize>(&i)
            });
        }
        let json = reads_json_value::<V>(&column);
        let mut query = self.compound_as_table();
        query.parts_mut().columns = vec![plucked::<V>(column)].into();
        let (sql, binds) = query.render_owned(conn.dialect())?;
        conn.query_map_native(&sql, &binds, |row| read_plucked::<V>(row, 0, json))
    }

    /// `(key, value)` pairs of two columns of every matching row, in query order:
    /// `pluck_keyed::<i64, String>("name", "id")` (collect into a `HashMap` if wanted).
    /// A query with a `select` of its own keeps it, as [`Query::pluck`].
    pub fn pluck_keyed<K: FromValue, V: FromValue>(
        self,
        value_column: impl Into<Ident>,
        key_column: impl Into<Ident>,
    ) -> Result<Vec<(K, V)>> {
        let (value_column, key_column) = (value_column.into(), key_column.into());
        self.run_read(move |q, c| q.pluck_keyed_on(c, value_column.clone(), key_column.clone()))
    }

    pub(super) fn pluck_keyed_on<K: FromValue, V: FromValue>(
        self,
        conn: &mut Connection,
        value_column: impl Into<Ident>,
        key_column: impl Into<Ident>,
    ) -> Result<Vec<(K, V)>> {
        let (value_column, key_column) = (value_column.into(), key_column.into());
        if self.parts.columns.chosen() {
            let known = (
                selected_position(&self.parts.columns, &key_column),
                selected_position(&self.parts.columns, &value_column),
            );
            let mut at = match known {
                (Some(k), Some(v)) => Some((k, v)),
                _ => None,
            };
            let (sql, binds) = self.render_owned(conn.dialect())?;
            return conn.query_map_native(&sql, &binds, |row| {
                let (k, v) = match at {
                    Some(found) => found,
                    None => *at.insert((
                        plucked_position(row, &key_column)?,
                        plucked_position(row, &value_column)?,
                    )),
                };
                Ok((row.get::<K, usize>(&k)?, row.get::<V, usize>(&v)?))
            });
        }
        let json = (
            reads_json_value::<K>(&key_column),
            reads_json_value::<V>(&value_column),
        );
        let mut query = self.compound_as_table();
        query.parts_mut().columns =
            vec![plucked::<K>(key_column), plucked::<V>(value_column)].into();
        let (sql, binds) = query.render_owned(conn.dialect())?;
        conn.query_map_native(&sql, &binds, |row| {
            Ok((
                read_plucked::<K>(row, 0, json.0)?,
                read_plucked::<V>(row, 1, json.1)?,
            ))
        })
    }
}

/// Where a column given to `pluck`/`value` is in a row of a query with its own select:
/// the column named as Laravel's `stripTableForPluck` names it (the alias of
/// `expr as alias`, else the part after the last `.`), exactly, else ignoring ASCII
/// case (an unquoted alias in raw SQL, folded by PostgreSQL).
/// Where the query's own select list puts `column` (`posts.id`, or an alias), when every
/// item before it is one result column (no `*`): a plucked `posts.id` is then that
/// column, whatever other `id` the result holds.
fn selected_position(columns: &Columns, column: &str) -> Option<usize> {
    for (i, item) in columns.iter().enumerate() {
        let written = item.column()?;
        if written == "*" || written.ends_with(".*") {
            return None;
        }
        let (name, alias) = split_alias(written);
        if written == column || name == column || alias == Some(column) {
            return Some(i);
        }
    }
    None
}

/// Where `column` is among a row's columns, by its name without a table (or its alias).
/// A name two columns share is ambiguous: an error, not the first of them.
fn plucked_position(row: &Row<'_>, column: &str) -> Result<usize> {
    let name = match split_alias(column) {
        (_, Some(alias)) => alias,
        (name, None) => name.rsplit('.').next().unwrap_or(name),
    };
    let names = || (0..row.len()).map(|i| (i, row.column_name(i)));
    let mut exact = names().filter(|(_, n)| *n == name).map(|(i, _)| i);
    let found = match exact.next() {
        Some(i) => {
            if exact.next().is_some() {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Clauses,
                    format!(
                        "the result has two columns named `{name}`: select `{column}` under \
                         an alias (`{column} as ..`) to pluck it"
                    ),
                ));
            }
            Some(i)
        }
        None => names()
            .find(|(_, n)| n.eq_ignore_ascii_case(name))
            .map(|(i, _)| i),
    };
    found.ok_or_else(|| Error::ColumnNotFound(column.to_owned()))
}

impl<T: FromRow> Query<T> {
    /// Every matching row.
    pub fn get(mut self) -> Result<Vec<T>> {
        // The query stays where it is and the call borrows it: moving it into the
        // connection lookup's value would copy the whole query (twice).
        let name = self.connection.clone();
        match self.read_replicas(&name) {
            Some(set) => set.read(&name, |conn| self.clone().get_on(conn)),
            None => with_named_on(&name, false, (), |(), conn| self.get_in(conn)),
        }
    }

    pub(crate) fn get_on(mut self, conn: &mut Connection) -> Result<Vec<T>> {
        self.get_in(conn)
    }

    /// [`Query::get_on`] on a borrowed query, which it leaves spent.
    fn get_in(&mut self, conn: &mut Connection) -> Result<Vec<T>> {
        self.check_lazy_guard()?;
        let eager = self.model.eager.take();
        // Rendering does not read the name: take it rather than copy it.
        let connection = std::mem::replace(&mut self.connection, Ident::Borrowed(""));
        let mut columns = None;
        let (sql, binds, mut layout) =
            self.select_statement(conn.dialect(), T::expected_columns())?;
        let mut rows = conn.query_into_native(&sql, &binds, |row, out| {
            layout.decode_into(row, &mut columns, out)
        })?;
        T::remember_connection(&mut rows, &connection);
        if let Some(eager) = eager {
            (eager.after_load)(&mut rows, &eager.plan, conn)?;
        }
        Ok(rows)
    }

    /// The `SELECT` of [`Query::get`] (the model's cached one while the clauses are its
    /// default query's), its bindings and how rows decode into a type expecting
    /// `expected`; leaves the clauses spent.
    fn select_statement(
        &mut self,
        dialect: &'static dyn Dialect,
        expected: Option<(&'static str, &'static [&'static str])>,
    ) -> Result<(SqlText, SpareBinds, Layout)> {
        let default_select = self.default_select();
        select_statement(&mut self.parts, default_select, dialect, expected)
    }

    pub(super) fn check_lazy_guard(&self) -> Result<()> {
        check_lazy_guard(self.model.relation.as_ref().and_then(|r| r.lazy_guard))
    }

    /// The first matching row (`LIMIT 1`), if any.
    pub fn first(self) -> Result<Option<T>> {
        let mut query = self.limit(1);
        let name = query.connection.clone();
        let first = |rows: Vec<T>| rows.into_iter().next();
        match query.read_replicas(&name) {
            Some(set) => set.read(&name, |conn| query.clone().get_on(conn).map(first)),
            None => with_named_on(&name, false, (), |(), conn| query.get_in(conn).map(first)),
        }
    }

    /// The last matching row, if any (Masonite's and Rails' `last`): the query's order
    /// reversed (each column flipped, its NULL placement too) and ended with the primary
    /// key descending, so without an order it is the row with the highest key. A raw or
    /// random order cannot be reversed: [`Error::InvalidQuery`]. A query with a limit or
    /// an offset, a grouping, `DISTINCT` or a union reads its rows and keeps the last.
    pub fn last(self) -> Result<Option<T>> {
        let parts = self.parts();
        let whole = parts.limit.is_some()
            || parts.offset.is_some()
            || !parts.groups.is_empty()
            || parts.distinct
            || !parts.unions.is_empty();
        if whole {
            return Ok(self.get()?.pop());
        }
        self.reversed().first()
    }

    /// The query in its reversed order, ended with the primary key descending.
    fn reversed(mut self) -> Self {
        let key = self.paging_key();
        let by_key = self.ordered_by(&key);
        let mut irreversible = false;
        for order in &mut self.parts_mut().orders {
            match order {
                Order::Column(_, desc) => *desc = !*desc,
                Order::Nulls(_, desc, nulls_first) => {
                    *desc = !*desc;
                    *nulls_first = !*nulls_first;
                }
                Order::Sub(_, desc, nulls) => {
                    *desc = !*desc;
                    if let Some(first) = nulls {
                        *first = !*first;
                    }
                }
                Order::Raw(..) | Order::Random => irreversible = true,
            }
        }
        if irreversible {
            return self.fail(
                InvalidQueryKind::Clauses,
                "last() reverses the query's order, and a raw or random order cannot be \
                 reversed: order by columns, or read the rows with get()",
            );
        }
        if !by_key {
            self.parts_mut().orders.push(Order::Column(key, true));
        }
        self
    }

    /// The first row where `column op value`, if any (Eloquent's `firstWhere`):
    /// `where_(column, op, value).first()`.
    pub fn first_where(
        self,
        column: impl Into<crate::query::Ident>,
        op: impl crate::query::IntoOperator,
        value: impl Into<Value>,
    ) -> Result<Option<T>> {
        self.where_(column, op, value).first()
    }

    pub(crate) fn first_on(self, conn: &mut Connection) -> Result<Option<T>> {
        Ok(self.limit(1).get_on(conn)?.into_iter().next())
    }

    /// The first matching row, or [`Error::NotFound`] naming the model (the table, for
    /// a query on a table).
    pub fn first_or_fail(self) -> Result<T> {
        self.run_read(Self::first_or_fail_on)
    }

    /// The first matching row, or what `fallback` returns (Eloquent's `firstOr`).
    /// `fallback` runs only when no row matches, with no connection held.
    pub fn first_or(self, fallback: impl FnOnce() -> Result<T>) -> Result<T> {
        match self.first()? {
            Some(found) => Ok(found),
            None => fallback(),
        }
    }

    /// What a missing row is reported by: the model's name, else the table's.
    fn missing_name(&self) -> Ident {
        match self.model_info {
            Some(info) => Ident::Borrowed(info.name),
            None => self.parts.table.clone(),
        }
    }

    pub(super) fn first_or_fail_on(self, conn: &mut Connection) -> Result<T> {
        let name = self.missing_name();
        self.first_on(conn)?
            .ok_or_else(|| not_found(&name, "the given conditions"))
    }

    /// The only matching row: [`Error::NotFound`] when none matches,
    /// [`Error::MultipleRows`] (with the count) when several do.
    pub fn sole(self) -> Result<T> {
        self.run_read(Self::sole_on)
    }

    pub(super) fn sole_on(self, conn: &mut Connection) -> Result<T> {
        let counter = self.clone();
        let name = self.missing_name();
        let mut rows = self.limit(2).get_on(conn)?;
        match rows.len() {
            0 => Err(not_found(&name, "the given conditions")),
            1 => Ok(rows.remove(0)),
            _ => {
                let found = counter.count_rows_on(conn)?.max(2);
                Err(Error::MultipleRows { found })
            }
        }
    }

    /// The row whose primary key (`id` unless [`Query::primary_key`] says otherwise)
    /// equals `id`.
    pub fn find(self, id: impl ToValue) -> Result<Option<T>> {
        let id = id.to_value();
        self.run_read(move |q, c| q.find_on(c, id.clone()))
    }

    pub(super) fn find_on(self, conn: &mut Connection, id: Value) -> Result<Option<T>> {
        // The key qualified when the query joins other tables (`users.id`, as Eloquent's
        // `whereKey`), and ANDed with all the query's conditions, `OR`s included.
        let key = self.paging_key();
        self.bracketed(|q| q.where_eq(key, id)).first_on(conn)
    }

    /// The rows whose primary key is one of `ids` (Eloquent's `findMany`), ANDed with the
    /// query's conditions; none for an empty list.
    pub fn find_many<K: ToValue>(self, ids: impl IntoIterator<Item = K>) -> Result<Vec<T>> {
        let ids: Vec<Value> = ids.into_iter().map(|id| id.to_value()).collect();
        let key = self.paging_key();
        self.bracketed(|q| q.where_in(key, ids)).get()
    }

    /// The values of `column` joined with `glue` (Orator's and Laravel's `implode`):
    /// text as it is, numbers and dates as they print, NULL as nothing.
    pub fn implode(self, column: impl Into<Ident>, glue: &str) -> Result<String> {
        let values = self.pluck::<Value>(column)?;
        let parts: Vec<String> = values
            .into_iter()
            .map(|value| match value {
                Value::Null => String::new(),
                Value::Text(text) => text,
                other => other.to_string(),
            })
            .collect();
        Ok(parts.join(glue))
    }

    /// [`Query::find`], or what `fallback` returns (Eloquent's `findOr`). `fallback`
    /// runs only when no row has the key, with no connection held.
    pub fn find_or(self, id: impl ToValue, fallback: impl FnOnce() -> Result<T>) -> Result<T> {
        match self.find(id)? {
            Some(found) => Ok(found),
            None => fallback(),
        }
    }

    /// [`Query::find`], or [`Error::NotFound`] naming the table and the key.
    pub fn find_or_fail(self, id: impl ToValue) -> Result<T> {
        let id = id.to_value();
        self.run_read(move |q, c| q.find_or_fail_on(c, id.clone()))
    }

    pub(super) fn find_or_fail_on(self, conn: &mut Connection, id: Value) -> Result<T> {
        let table = self.parts.table.clone();
        let key = format!("{} = {id}", self.key);
        self.find_on(conn, id)?
            .ok_or_else(|| not_found(&table, key))
    }

    /// Page `page` (1-based) of `per_page` rows, with the total count (two queries; the
    /// query's own limit and offset are replaced).
    pub fn paginate(self, per_page: u64, page: u64) -> Result<Paginator<T>> {
        self.run_read(move |q, c| q.paginate_on(c, per_page, page))
    }

    pub(super) fn paginate_on(
        self,
        conn: &mut Connection,
        per_page: u64,
        page: u64,
    ) -> Result<Paginator<T>> {
        if per_page == 0 {
            return Err(Error::invalid_query(
                InvalidQueryKind::Argument,
                "per_page must be at least 1",
            ));
        }
        let page = page.max(1);
        let mut counter = self.clone();
        counter.parts_mut().orders.clear();
        counter.parts_mut().limit = None;
        counter.parts_mut().offset = None;
        let total = counter.count_rows_on(conn)?;
        let data = self
            .uniquely_ordered()
            .for_page(page, per_page)
            .get_on(conn)?;
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
        self.run_read(move |q, c| q.simple_paginate_on(c, per_page, page))
    }

    pub(super) fn simple_paginate_on(
        self,
        conn: &mut Connection,
        per_page: u64,
        page: u64,
    ) -> Result<SimplePaginator<T>> {
        if per_page == 0 {
            return Err(Error::invalid_query(
                InvalidQueryKind::Argument,
                "per_page must be at least 1",
            ));
        }
        let page = page.max(1);
        let offset = (page - 1).saturating_mul(per_page);
        // One row more than a page tells whether another follows (saturating: no table
        // has u64::MAX rows).
        let mut data = self
            .uniquely_ordered()
            .offset(offset)
            .limit(per_page.saturating_add(1))
            .get_on(conn)?;
        let has_more = data.len() as u64 > per_page;
        data.truncate(usize::try_from(per_page).unwrap_or(usize::MAX));
        Ok(SimplePaginator {
            data,
            per_page,
            current_page: page,
            has_more,
        })
    }
}

/// Refuses a lazy relation query while lazy loading is prevented (out of the generic
/// query code: compiled once).
fn check_lazy_guard(guard: Option<(&'static str, &'static str)>) -> Result<()> {
    match guard {
        Some((model, relation)) if crate::lazy_loading::lazy_loading_prevented() => {
            Err(Error::LazyLoading {
                model: model.to_owned(),
                relation: relation.to_owned(),
            })
        }
        _ => Ok(()),
    }
}

/// [`Query::select_statement`], compiled once rather than per row type. A query of a
/// shape this thread rendered before (see [`crate::query::shape`]) takes that SQL and
/// only collects its values.
fn select_statement(
    parts: &mut Clauses,
    default_select: Option<&'static dyn DefaultSelect>,
    dialect: &'static dyn Dialect,
    expected: Option<(&'static str, &'static [&'static str])>,
) -> Result<(SqlText, SpareBinds, Layout)> {
    if let Some(sql) = default_select.and_then(|d| d.default_select_sql(parts, dialect)) {
        return Ok((SqlText::Static(sql), SpareBinds(None), Layout::Trusted));
    }
    let mut parts = parts.take();
    let layout = parts.layout_for(expected);
    // `try_with`: a query run while the thread's locals are being destroyed renders.
    let lookup = SHAPES
        .try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            Some(cache.lookup(&parts, dialect))
        })
        .ok()
        .flatten()
        .unwrap_or(Lookup::Uncacheable);
    match lookup {
        Lookup::Uncacheable => {
            let mut w = SqlWriter::new(dialect);
            Arc::unwrap_or_clone(parts).render_select(&mut w);
            let (sql, binds) = w.finish()?;
            Ok((SqlText::Owned(sql), SpareBinds(Some(binds)), layout))
        }
        Lookup::Hit(sql) => {
            #[cfg(debug_assertions)]
            let fresh = {
                let mut w = SqlWriter::new(dialect);
                crate::query::Parts::clone(&parts).render_select(&mut w);
                w.finish()
            };
            // The values are taken from the clauses where they are (copied only when
            // another query shares them), and the clauses dropped there.
            let mut w = SqlWriter::binds_only(dialect, SpareBinds::take());
            Arc::make_mut(&mut parts).collect_binds(&mut w);
            let collected = w.finish();
            #[cfg(debug_assertions)]
            match (&fresh, &collected) {
                (Ok((fresh_sql, fresh_binds)), Ok((_, binds))) => {
                    assert_eq!(*sql, **fresh_sql, "cached SQL of a query's shape");
                    // Debug text: a NaN is not equal to itself.
                    assert_eq!(
                        format!("{binds:?}"),
                        format!("{fresh_binds:?}"),
                        "values bound for cached SQL"
                    );
                }
                (Err(_), Err(_)) => {}
                _ => panic!("rendering {fresh:?} but collecting the values {collected:?}"),
            }
            let (_, binds) = collected?;
            Ok((SqlText::Shared(sql), SpareBinds(Some(binds)), layout))
        }
        Lookup::Miss(key) => {
            let mut w = SqlWriter::new(dialect);
            Arc::unwrap_or_clone(parts).render_select(&mut w);
            let (sql, binds) = w.finish()?;
            let sql: Arc<str> = sql.into();
            let _ = SHAPES.try_with(|cache| {
                if let Ok(mut cache) = cache.try_borrow_mut() {
                    cache.insert(key, Arc::clone(&sql));
                }
            });
            Ok((SqlText::Shared(sql), SpareBinds(Some(binds)), layout))
        }
    }
}

thread_local! {
    /// The list a query's values were last collected into, emptied, for the next one.
    static SPARE_BINDS: Cell<Vec<Value>> = const { Cell::new(Vec::new()) };
}

/// A statement's values; the list goes back to [`SPARE_BINDS`] when dropped, so a
/// query of a known shape collects its values without an allocation and a free.
/// (`None`: no values, nothing to give back.)
pub(crate) struct SpareBinds(Option<Vec<Value>>);

impl SpareBinds {
    /// The thread's spare list (empty), or a new one.
    fn take() -> Vec<Value> {
        SPARE_BINDS.try_with(Cell::take).unwrap_or_default()
    }

    #[inline(never)]
    fn give_back(mut binds: Vec<Value>) {
        // A list grown for a long `IN (...)` is not kept.
        if binds.capacity() == 0 || binds.capacity() > 64 {
            return;
        }
        binds.clear();
        let _ = SPARE_BINDS.try_with(|spare| spare.set(binds));
    }
}

impl std::ops::Deref for SpareBinds {
    type Target = [Value];

    #[inline]
    fn deref(&self) -> &[Value] {
        self.0.as_deref().unwrap_or_default()
    }
}

impl Drop for SpareBinds {
    #[inline]
    fn drop(&mut self) {
        if let Some(binds) = self.0.take() {
            SpareBinds::give_back(binds);
        }
    }
}

thread_local! {
    static SHAPES: RefCell<ShapeCache> = RefCell::new(ShapeCache::default());
}

/// A statement's text: a model's cached SQL, a shape's, or rendered for this call.
pub(crate) enum SqlText {
    Static(&'static str),
    Shared(Arc<str>),
    Owned(String),
}

impl std::ops::Deref for SqlText {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            SqlText::Static(sql) => sql,
            SqlText::Shared(sql) => sql,
            SqlText::Owned(sql) => sql,
        }
    }
}

/// The item that reads `column` into a `V`: a JSON path read into a JSON type, a
/// number or a boolean selects the path's JSON value, so that a JSON string `"123"`
/// stays a string and a number is read as the number it is ([`read_plucked`]), not as
/// the text PostgreSQL's `->>` and MySQL's `json_unquote` give; anything else the
/// column.
fn plucked<V: FromValue>(column: Ident) -> SelectItem {
    if reads_json_value::<V>(&column) {
        SelectItem::JsonValue(column)
    } else {
        SelectItem::Column(column)
    }
}

fn reads_json_value<V: FromValue>(column: &str) -> bool {
    matches!(
        V::FAMILY,
        TypeFamily::Json
            | TypeFamily::Integer
            | TypeFamily::Float
            | TypeFamily::Decimal
            | TypeFamily::Bool
    ) && column.contains("->")
}

/// Reads column `i` as a `V`; `json`: a path [`plucked`] as its JSON value, whose text
/// (`7`, `2.5`, `true`, `null`) a number or a boolean reads as that scalar.
fn read_plucked<V: FromValue>(row: &Row<'_>, i: usize, json: bool) -> Result<V> {
    if !json || V::FAMILY == TypeFamily::Json {
        return row.get::<V, usize>(&i);
    }
    let value = json_scalar(row.value_at(i)?, V::FAMILY == TypeFamily::Decimal);
    V::from_value(value).map_err(|e| e.into_error(row.column_name(i)))
}

/// The scalar a JSON value holds: a number, a boolean or NULL as such (a number as its
/// text for a decimal, which parses it exactly); a string, an array or an object as the
/// JSON text, which no number or boolean reads.
fn json_scalar(value: ValueRef<'_>, decimal: bool) -> ValueRef<'_> {
    match value {
        ValueRef::Text(text) => {
            let trimmed = text.trim();
            match trimmed {
                "null" => ValueRef::Null,
                "true" => ValueRef::Bool(true),
                "false" => ValueRef::Bool(false),
                _ if decimal || trimmed.starts_with(['"', '[', '{']) => ValueRef::Text(text),
                _ => match (trimmed.parse::<i64>(), trimmed.parse::<f64>()) {
                    (Ok(n), _) => ValueRef::Int(n),
                    (_, Ok(f)) => ValueRef::Float(f),
                    _ => ValueRef::Text(text),
                },
            }
        }
        #[cfg(feature = "json")]
        ValueRef::Json(json) => match &*json {
            serde_json::Value::Null => ValueRef::Null,
            serde_json::Value::Bool(b) => ValueRef::Bool(*b),
            serde_json::Value::Number(n) if decimal => ValueRef::Text(n.to_string().into()),
            serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => ValueRef::Int(i),
                (None, Some(f)) => ValueRef::Float(f),
                _ => ValueRef::Text(n.to_string().into()),
            },
            _ => ValueRef::Json(json),
        },
        other => other,
    }
}
