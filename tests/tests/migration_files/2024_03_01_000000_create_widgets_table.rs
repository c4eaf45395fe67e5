//! A migration file named like craft's, mounted twice by `migrations.rs` under different
//! module names: its ledger name is its file stem either way.

use orm_migrate::prelude::*;

pub struct CreateWidgetsTable;

impl Migration for CreateWidgetsTable {
    fn name(&self) -> &str {
        orm_migrate::migration_name!()
    }

    fn up(&self, schema: &mut Schema) -> Result<()> {
        schema.create("widgets", |table| {
            table.increments("id");
        })
    }

    fn down(&self, schema: &mut Schema) -> Result<()> {
        schema.drop_if_exists("widgets")
    }
}
