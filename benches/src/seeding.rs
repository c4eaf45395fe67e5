//! The seeding workload: [`SEED_ROWS`] users with fake names, written by a model
//! factory inside a seeder (what `craft seed:run` runs) and by hand with rusqlite's
//! batched multi-row inserts. Both draw the same names from the same seeded generator,
//! so both write the same rows.

use orm_migrate::factory::fake::faker::name::en::Name;
use orm_migrate::factory::fake::rand::rngs::StdRng;
use orm_migrate::factory::fake::rand::SeedableRng;
use orm_migrate::factory::fake::Dummy;
use orm_migrate::factory::{Factory, Fakes, BATCH_SIZE};
use orm_migrate::Seeder;

use crate::models::User;
use crate::{raw_sqlite, NewUser};

/// Rows one seeding iteration writes.
pub const SEED_ROWS: usize = 100_000;

/// The hair colour of the user at `index`.
fn hair_color(index: usize) -> Option<String> {
    Some(if index % 2 == 0 { "black" } else { "brown" }.to_owned())
}

impl Factory for User {
    fn definition(f: &mut Fakes) -> User {
        User {
            name: f.fake(Name()),
            hair_color: hair_color(f.index()),
            ..Default::default()
        }
    }
}

/// The users the factory makes from `seed`, made by hand.
pub fn fake_users(count: usize, seed: u64) -> Vec<NewUser> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| NewUser {
            name: String::dummy_with_rng(&Name(), &mut rng),
            hair_color: hair_color(i),
        })
        .collect()
}

/// By hand: the fake users, then one transaction of multi-row `INSERT ... RETURNING id`
/// statements of [`BATCH_SIZE`] rows (prepared once).
pub fn raw_sqlite_seed(
    conn: &mut rusqlite::Connection,
    count: usize,
    seed: u64,
) -> rusqlite::Result<Vec<i64>> {
    let users = fake_users(count, seed);
    let tx = conn.transaction()?;
    let mut keys = Vec::with_capacity(count);
    for batch in users.chunks(BATCH_SIZE) {
        keys.extend(raw_sqlite::insert_many(&tx, batch)?);
    }
    tx.commit()?;
    Ok(keys)
}

/// The seeder: `User::factory().count(n).seed(s).create()`.
#[derive(Debug, Clone, Copy)]
pub struct UsersTableSeeder {
    /// How many users.
    pub count: usize,
    /// The factory's seed.
    pub seed: u64,
}

impl Seeder for UsersTableSeeder {
    fn run(&self) -> orm_migrate::Result<()> {
        User::factory().count(self.count).seed(self.seed).create()?;
        Ok(())
    }
}

/// With the ORM: runs [`UsersTableSeeder`] on the default connection (its own
/// transaction, as `craft seed:run` does).
pub fn orm_seed(count: usize, seed: u64) -> orm_migrate::Result<()> {
    orm_migrate::seed(&UsersTableSeeder { count, seed })
}
