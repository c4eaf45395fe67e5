//! Seeding 100 000 rows on SQLite: a model factory inside a seeder (the ORM's way, what
//! `craft seed:run` runs) against the same fake rows written by hand with rusqlite's
//! batched multi-row inserts in one transaction. Both generate their values inside the
//! timed part; the tables are emptied between iterations, untimed.

use std::cell::RefCell;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use orm_benches::data::Seed;
use orm_benches::orm_impl;
use orm_benches::raw_sqlite;
use orm_benches::seeding::{orm_seed, raw_sqlite_seed, SEED_ROWS};
use orm_benches::time_with_cleanup;
use orm_core::DB;

const CLEAR_USERS: &str = "DELETE FROM users";

fn seeding(c: &mut Criterion) {
    let raw = RefCell::new(raw_sqlite::open(&Seed::users(0)).expect("rusqlite database"));
    let _default = orm_impl::install_default_sqlite(&Seed::users(0)).expect("orm database");
    let mut group = c.benchmark_group("sqlite/seeding");
    group.throughput(Throughput::Elements(SEED_ROWS as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function(BenchmarkId::new("rusqlite", SEED_ROWS), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                1,
                || (),
                |()| raw_sqlite_seed(&mut raw.borrow_mut(), SEED_ROWS, 7).unwrap(),
                || raw.borrow().execute_batch(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.bench_function(BenchmarkId::new("orm_factory", SEED_ROWS), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                1,
                || (),
                |()| orm_seed(SEED_ROWS, 7).unwrap(),
                || DB::unprepared(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, seeding);
criterion_main!(benches);
