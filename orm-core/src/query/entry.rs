//! The builder's entry points on the `DB` facade (`DB::table`,
//! `DB::connection(..).table`): defined here so that `db`, below the builder, does not
//! import it.

use super::{Ident, Query};
use crate::db::{ConnectionRef, DB};
use crate::row::Record;

impl DB {
    /// A query builder on `table` (on the default connection); rows come back as
    /// [`Record`]s: `DB::table("users").where_("votes", ">", 100).get()`.
    pub fn table(table: impl Into<Ident>) -> Query<Record> {
        Query::new(table)
    }
}

impl ConnectionRef {
    /// A query builder on `table` that runs on this connection.
    pub fn table(&self, table: impl Into<Ident>) -> Query<Record> {
        Query::new(table).use_connection(self.name().to_owned())
    }
}
