//! Terminal methods: reads, aggregates, pagination, streaming and writes. Each runs on
//! the query's connection name as the thread resolves it (an [`crate::Executor`] scope,
//! an open transaction or test database, else the pool).

use super::clause::{split_alias, Order, SelectItem, Selected, Where, WhereKind};
use super::operator::Operator;
use super::render::{render_delete, render_insert, render_update, table_reference, SetValue};
use super::{BulkOp, Ident, Query};
use crate::backend::Connection;
use crate::db::{read_replicas, with_named_on, with_named_passing};
use crate::dialect::SqlWriter;
use crate::error::{Error, InvalidQueryKind, Result};
use crate::row::{FromRow, Layout};
use crate::value::{FromValue, ToValue, Value};

mod cursor_pages;
mod reads;
mod streaming;
mod writes;

pub use cursor_pages::CursorPaginator;
pub use reads::*;

impl<T: FromRow> Query<T> {
    /// How `T` reads this query's result (see [`super::clause::Parts::layout`]).
    pub(crate) fn layout(&self) -> Layout {
        self.parts.layout::<T>()
    }

    /// [`Query::layout`] for a type that expects `expected` (see
    /// [`crate::row::FromRow::expected_columns`]), whatever this query decodes into.
    pub(crate) fn layout_for(
        &self,
        expected: Option<(&'static str, &'static [&'static str])>,
    ) -> Layout {
        self.parts.layout_for(expected)
    }
}

impl super::clause::Parts {
    /// How `T` reads this query's result: trusted when the select list starts with `T`'s
    /// columns in order (bare or qualified by the table: a model's own queries, `add_select`
    /// after them), else checked by name on the first row.
    pub(crate) fn layout<T: FromRow>(&self) -> Layout {
        self.layout_for(T::expected_columns())
    }

    /// [`Parts::layout`] for the columns a type expects (compiled once, not per type).
    pub(crate) fn layout_for(
        &self,
        expected: Option<(&'static str, &'static [&'static str])>,
    ) -> Layout {
        let Some((model, columns)) = expected else {
            return Layout::Trusted;
        };
        let (table, alias) = super::clause::split_alias(&self.table);
        let names = |item: Selected<'_>, column: &str| match item.column() {
            Some(ident) => match ident.strip_suffix(column) {
                Some("") => self.joins.is_empty(),
                Some(prefix) => prefix
                    .strip_suffix('.')
                    .is_some_and(|t| t == alias.unwrap_or(table)),
                None => false,
            },
            None => false,
        };
        if self.columns.len() >= columns.len()
            && columns
                .iter()
                .zip(self.columns.iter())
                .all(|(c, item)| names(item, c))
        {
            Layout::Trusted
        } else {
            Layout::Check { model, columns }
        }
    }
}
pub use streaming::*;
