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
use crate::error::{Error, InvalidQueryKind, Result};
use crate::row::FromRow;
use crate::value::{FromValue, ToValue, Value};

mod reads;
mod streaming;
mod writes;

pub use reads::*;
pub use streaming::*;
