//! SQLite: this ORM against raw rusqlite (the baseline) and Diesel, each contender on its
//! own identically seeded database. The ORM three ways: through the default connection
//! made by `DB::connect` (`orm_pool`: a pool, on a database file, the path applications
//! take), on an explicit connection (`orm_explicit`) and on the default connection
//! installed by `orm_core::testing::sqlite()` (`orm`: in memory, no pool). The baseline of
//! `orm_pool` is rusqlite on a file (`rusqlite_file`, set up as the ORM sets up a file:
//! WAL, `synchronous = NORMAL`); every other contender, and `rusqlite`, is in memory.

use std::fmt::Display;
use std::hint::black_box;
use std::time::Duration;

mod common;

use common::default_connection_paths;
use criterion::measurement::WallTime;
use criterion::{
    criterion_group, criterion_main, Bencher, BenchmarkGroup, BenchmarkId, Criterion, Throughput,
};
use diesel::connection::SimpleConnection;
use diesel::SqliteConnection;
use orm_benches::data::Seed;
use orm_benches::diesel_impl::{self, sqlite as diesel_sqlite};
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::{
    new_users, raw_sqlite, time_with_cleanup, ASSOCIATION_SHAPE, FIND_LOOKUPS, INSERT_BATCH,
    LOAD_SIZES, STREAM_ROWS,
};
use orm_core::testing::TestDatabase;
use orm_core::DB;

/// One database per contender, all seeded the same way.
struct Fixture {
    raw: rusqlite::Connection,
    raw_file: rusqlite::Connection,
    diesel: SqliteConnection,
    orm: orm_core::Connection,
    seed: Seed,
    /// The database files of `raw_file` and of the pool `DB::connect` made (the default
    /// connection while no `testing` guard is installed).
    _files: tempfile::TempDir,
}

impl Fixture {
    fn new(seed: &Seed) -> Fixture {
        let dir = tempfile::tempdir().expect("a temporary directory");
        orm_impl::connect_default_sqlite_file(seed, &dir.path().join("pool.db"))
            .expect("orm pool database");
        Fixture {
            raw: raw_sqlite::open(seed).expect("rusqlite database"),
            raw_file: raw_sqlite::open_file(seed, &dir.path().join("raw.db"))
                .expect("rusqlite file database"),
            diesel: diesel_impl::open_sqlite(seed).expect("diesel database"),
            orm: orm_impl::open_sqlite(seed).expect("orm database"),
            seed: *seed,
            _files: dir,
        }
    }

    /// Installs `testing::sqlite()`, seeded like the others, as this thread's default
    /// connection, until the guard drops. Only around the `orm` benchmark: while it is
    /// installed it shadows the pool, so `orm_pool` would measure it instead.
    fn testing_path(&self) -> TestDatabase {
        orm_impl::install_default_sqlite(&self.seed).expect("orm testing database")
    }
}

const CLEAR_USERS: &str = "DELETE FROM users";

/// Benches `routine` on rusqlite twice: as `rusqlite` on the in-memory database, then as
/// `rusqlite_file` on the database file (the baseline of `orm_pool`).
fn raw_paths(
    group: &mut BenchmarkGroup<'_, WallTime>,
    parameter: impl Display,
    f: &mut Fixture,
    mut routine: impl FnMut(&mut Bencher<'_>, &mut rusqlite::Connection),
) {
    for (name, conn) in [("rusqlite", &mut f.raw), ("rusqlite_file", &mut f.raw_file)] {
        group.bench_function(BenchmarkId::new(name, &parameter), |b| routine(b, conn));
    }
}

fn trivial_query(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite/trivial_query");
    for n in LOAD_SIZES {
        let mut f = Fixture::new(&Seed::users(n));
        group.throughput(Throughput::Elements(n as u64));
        raw_paths(&mut group, n, &mut f, |b, conn| {
            b.iter(|| black_box(raw_sqlite::load_users(conn).unwrap()))
        });
        default_connection_paths(&mut group, n, f.testing_path(), |b| {
            b.iter(|| black_box(orm::load_users().unwrap()))
        });
        group.bench_function(BenchmarkId::new("orm_explicit", n), |b| {
            b.iter(|| black_box(orm_on::load_users(&mut f.orm).unwrap()))
        });
        group.bench_function(BenchmarkId::new("diesel", n), |b| {
            b.iter(|| black_box(diesel_sqlite::load_users(&mut f.diesel).unwrap()))
        });
    }
    group.finish();
}

fn medium_query(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqlite/medium_query");
    for n in LOAD_SIZES {
        // Every user has one post; the filter keeps the black-haired half (at least one).
        let mut f = Fixture::new(&Seed::users_posts_comments(n, 1, 0));
        group.throughput(Throughput::Elements(n as u64));
        raw_paths(&mut group, n, &mut f, |b, conn| {
            b.iter(|| black_box(raw_sqlite::load_users_with_posts(conn).unwrap()))
        });
        default_connection_paths(&mut group, n, f.testing_path(), |b| {
            b.iter(|| black_box(orm::load_users_with_posts().unwrap()))
        });
        group.bench_function(BenchmarkId::new("orm_explicit", n), |b| {
            b.iter(|| black_box(orm_on::load_users_with_posts(&mut f.orm).unwrap()))
        });
        group.bench_function(BenchmarkId::new("diesel", n), |b| {
            b.iter(|| black_box(diesel_sqlite::load_users_with_posts(&mut f.diesel).unwrap()))
        });
    }
    group.finish();
}

/// Inserts clear the table every this many iterations (untimed), so it stays small.
const CLEANUP_EVERY: u64 = 64;

fn inserts(c: &mut Criterion) {
    let users = new_users(INSERT_BATCH);
    let models = orm_impl::models(&users);
    let one_user = &users[..1];
    let one_model = &models[..1];
    let mut f = Fixture::new(&Seed::users(0));
    let clear_default = || DB::unprepared(CLEAR_USERS).unwrap();

    let mut group = c.benchmark_group("sqlite/insert_many");
    group.throughput(Throughput::Elements(INSERT_BATCH as u64));
    raw_paths(&mut group, INSERT_BATCH, &mut f, |b, conn| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| raw_sqlite::insert_many(conn, &users).unwrap(),
                || drop(conn.execute_batch(CLEAR_USERS)),
            )
        })
    });
    default_connection_paths(&mut group, INSERT_BATCH, f.testing_path(), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || models.clone(),
                |mut batch| {
                    orm::insert_many(&mut batch).unwrap();
                    batch
                },
                clear_default,
            )
        })
    });
    group.bench_function(BenchmarkId::new("orm_explicit", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            let conn = std::cell::RefCell::new(&mut f.orm);
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || models.clone(),
                |mut batch| {
                    orm_on::insert_many(&mut conn.borrow_mut(), &mut batch).unwrap();
                    batch
                },
                || conn.borrow_mut().execute_batch(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.bench_function(BenchmarkId::new("diesel", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            let conn = std::cell::RefCell::new(&mut f.diesel);
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| diesel_sqlite::insert_many(&mut conn.borrow_mut(), &users).unwrap(),
                || conn.borrow_mut().batch_execute(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("sqlite/save_in_transaction");
    group.throughput(Throughput::Elements(INSERT_BATCH as u64));
    raw_paths(&mut group, INSERT_BATCH, &mut f, |b, conn| {
        b.iter_custom(|iters| {
            let conn = std::cell::RefCell::new(&mut *conn);
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| {
                    raw_sqlite::insert_each_in_transaction(&mut conn.borrow_mut(), &users).unwrap()
                },
                || conn.borrow_mut().execute_batch(CLEAR_USERS).unwrap(),
            )
        })
    });
    default_connection_paths(&mut group, INSERT_BATCH, f.testing_path(), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || models.clone(),
                |mut batch| {
                    orm::save_each_in_transaction(&mut batch).unwrap();
                    batch
                },
                clear_default,
            )
        })
    });
    group.bench_function(BenchmarkId::new("orm_explicit", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            let conn = std::cell::RefCell::new(&mut f.orm);
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || models.clone(),
                |mut batch| {
                    orm_on::save_each_in_transaction(&mut conn.borrow_mut(), &mut batch).unwrap();
                    batch
                },
                || conn.borrow_mut().execute_batch(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.bench_function(BenchmarkId::new("diesel", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            let conn = std::cell::RefCell::new(&mut f.diesel);
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| {
                    diesel_sqlite::insert_each_in_transaction(&mut conn.borrow_mut(), &users)
                        .unwrap()
                },
                || conn.borrow_mut().batch_execute(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("sqlite/save_one");
    let cleanup_every = CLEANUP_EVERY * INSERT_BATCH as u64;
    raw_paths(&mut group, 1, &mut f, |b, conn| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                cleanup_every,
                || (),
                |()| raw_sqlite::insert_one(conn, &one_user[0]).unwrap(),
                || conn.execute_batch(CLEAR_USERS).unwrap(),
            )
        })
    });
    default_connection_paths(&mut group, 1, f.testing_path(), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                cleanup_every,
                || one_model[0].clone(),
                |mut user| {
                    orm::save_one(&mut user).unwrap();
                    user
                },
                clear_default,
            )
        })
    });
    group.bench_function(BenchmarkId::new("orm_explicit", 1), |b| {
        b.iter_custom(|iters| {
            let conn = std::cell::RefCell::new(&mut f.orm);
            time_with_cleanup(
                iters,
                cleanup_every,
                || one_model[0].clone(),
                |mut user| {
                    orm_on::save_one(&mut conn.borrow_mut(), &mut user).unwrap();
                    user
                },
                || conn.borrow_mut().execute_batch(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.bench_function(BenchmarkId::new("diesel", 1), |b| {
        b.iter_custom(|iters| {
            let conn = std::cell::RefCell::new(&mut f.diesel);
            time_with_cleanup(
                iters,
                cleanup_every,
                || (),
                |()| diesel_sqlite::insert_one(&mut conn.borrow_mut(), &one_user[0]).unwrap(),
                || conn.borrow_mut().batch_execute(CLEAR_USERS).unwrap(),
            )
        })
    });
    group.finish();
}

fn find_by_key(c: &mut Criterion) {
    let mut f = Fixture::new(&Seed::users(FIND_LOOKUPS));
    let ids: Vec<i64> = (1..=FIND_LOOKUPS as i64).collect();
    let mut group = c.benchmark_group("sqlite/find_by_key");
    group.throughput(Throughput::Elements(FIND_LOOKUPS as u64));
    raw_paths(&mut group, FIND_LOOKUPS, &mut f, |b, conn| {
        b.iter(|| {
            for &id in &ids {
                black_box(raw_sqlite::find_user(conn, id).unwrap());
            }
        })
    });
    default_connection_paths(&mut group, FIND_LOOKUPS, f.testing_path(), |b| {
        b.iter(|| {
            for &id in &ids {
                black_box(orm::find_user(id).unwrap());
            }
        })
    });
    group.bench_function(BenchmarkId::new("orm_explicit", FIND_LOOKUPS), |b| {
        b.iter(|| {
            for &id in &ids {
                black_box(orm_on::find_user(&mut f.orm, id).unwrap());
            }
        })
    });
    group.bench_function(BenchmarkId::new("diesel", FIND_LOOKUPS), |b| {
        b.iter(|| {
            for &id in &ids {
                black_box(diesel_sqlite::find_user(&mut f.diesel, id).unwrap());
            }
        })
    });
    group.finish();
}

fn associations(c: &mut Criterion) {
    let (users, posts, comments) = ASSOCIATION_SHAPE;
    let mut f = Fixture::new(&Seed::users_posts_comments(users, posts, comments));
    let mut group = c.benchmark_group("sqlite/associations");
    let label = format!("{users}x{posts}x{comments}");
    raw_paths(&mut group, &label, &mut f, |b, conn| {
        b.iter(|| black_box(raw_sqlite::load_associations(conn).unwrap()))
    });
    default_connection_paths(&mut group, &label, f.testing_path(), |b| {
        b.iter(|| black_box(orm::load_associations().unwrap()))
    });
    group.bench_function(BenchmarkId::new("orm_explicit", &label), |b| {
        b.iter(|| black_box(orm_on::load_associations(&mut f.orm).unwrap()))
    });
    group.bench_function(BenchmarkId::new("diesel", &label), |b| {
        b.iter(|| black_box(diesel_sqlite::load_associations(&mut f.diesel).unwrap()))
    });
    group.finish();
}

fn streaming(c: &mut Criterion) {
    let mut f = Fixture::new(&Seed::users(STREAM_ROWS));
    let mut group = c.benchmark_group("sqlite/streaming");
    group.sample_size(10);
    group.throughput(Throughput::Elements(STREAM_ROWS as u64));
    raw_paths(&mut group, STREAM_ROWS, &mut f, |b, conn| {
        b.iter(|| raw_sqlite::stream_users(conn, |u| drop(black_box(u))).unwrap())
    });
    default_connection_paths(&mut group, STREAM_ROWS, f.testing_path(), |b| {
        b.iter(|| orm::stream_users(|u| drop(black_box(u))).unwrap())
    });
    group.bench_function(BenchmarkId::new("orm_explicit", STREAM_ROWS), |b| {
        b.iter(|| orm_on::stream_users(&mut f.orm, |u| drop(black_box(u))).unwrap())
    });
    group.bench_function(BenchmarkId::new("diesel", STREAM_ROWS), |b| {
        b.iter(|| diesel_sqlite::stream_users(&mut f.diesel, |u| drop(black_box(u))).unwrap())
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = trivial_query, medium_query, inserts, find_by_key, associations, streaming
}
criterion_main!(benches);
