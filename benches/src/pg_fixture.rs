//! The PostgreSQL contenders on one private schema (dropped when the fixture drops): the
//! raw `postgres` crate, Diesel, the ORM on an explicit connection, and the ORM's default
//! connection as a pool made by `DB::connect` with the schema as every session's search
//! path. Shared by the criterion bench and `pg-paired`, so both measure the same set-up.

use diesel::PgConnection;
use orm_core::{testing, DB};

use crate::data::{self, Database, Seed};
use crate::raw_postgres::RawPostgres;
use crate::{diesel_impl, orm_impl};

/// One connection per contender (a pool for the ORM's default connection), all on the
/// same private schema.
pub struct PgFixture {
    /// The baseline.
    pub raw: RawPostgres,
    /// Diesel's connection.
    pub diesel: PgConnection,
    /// The ORM's explicit connection.
    pub orm: orm_core::Connection,
    schema: String,
}

impl PgFixture {
    /// Creates the schema `{prefix}_{pid}` with the benchmark tables on the server at
    /// `ORM_TEST_POSTGRES_URL` and connects every contender to it; the driver's error
    /// when no server answers.
    pub fn connect(prefix: &str) -> Result<PgFixture, postgres::Error> {
        let url = testing::postgres_url();
        let schema = format!("{prefix}_{}", std::process::id());
        let mut raw = RawPostgres::connect(&url, &schema)?;
        raw.client().batch_execute(&format!(
            "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\"; {}",
            data::schema(Database::Postgres)
        ))?;
        orm_impl::connect_default_postgres(&url, &schema).expect("orm pool");
        Ok(PgFixture {
            raw,
            diesel: diesel_impl::connect_postgres(&url, &schema).expect("diesel connection"),
            orm: orm_impl::connect_postgres(&url, &schema).expect("orm connection"),
            schema,
        })
    }

    /// The script that empties the tables and seeds `seed` (sequences moved past the
    /// seeded keys).
    pub fn script(seed: &Seed) -> String {
        format!(
            "{}\n{}\n{}",
            data::reset(Database::Postgres),
            seed.script(),
            Seed::sequence_fixup()
        )
    }

    /// Empties the tables, seeds `seed` and refreshes the planner's statistics.
    pub fn seed(&mut self, seed: &Seed) {
        let client = self.raw.client();
        client
            .batch_execute(&PgFixture::script(seed))
            .expect("seed");
        client.batch_execute("ANALYZE").expect("analyze");
    }
}

impl Drop for PgFixture {
    fn drop(&mut self) {
        DB::disconnect("default");
        let _ = self
            .raw
            .client()
            .batch_execute(&format!("DROP SCHEMA \"{}\" CASCADE", self.schema));
    }
}
