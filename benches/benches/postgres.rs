//! PostgreSQL: this ORM against the raw `postgres` crate (the baseline) and Diesel, all
//! on one private schema (dropped at the end). The ORM three ways: through the default
//! connection made by `DB::connect` (`orm_pool`: a pool whose sessions have the schema as
//! search path, the path applications take), on an explicit connection (`orm_explicit`)
//! and on the default connection installed by `orm_core::testing::postgres()` (`orm`: one
//! connection on a private schema of its own, seeded identically). Skipped, with a note,
//! when no server is reachable at `ORM_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`).

use std::hint::black_box;
use std::time::Duration;

mod common;

use common::default_connection_paths;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use orm_benches::data::{self, Database, Seed};
use orm_benches::diesel_impl::pg as diesel_pg;
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::pg_fixture::PgFixture;
use orm_benches::{
    new_users, time_with_cleanup, ASSOCIATION_SHAPE, FIND_LOOKUPS, INSERT_BATCH, LOAD_SIZES,
    STREAM_ROWS,
};
use orm_core::testing::{self, TestDatabase};
use orm_core::DB;

/// The shared schema's contenders, and what the `testing` path seeds its own schema with.
struct Fixture {
    pg: PgFixture,
    seeded: Seed,
}

impl Fixture {
    fn connect() -> Option<Fixture> {
        match PgFixture::connect("orm_bench") {
            Ok(pg) => Some(Fixture {
                pg,
                seeded: Seed::users(0),
            }),
            Err(e) => {
                eprintln!("no PostgreSQL server: {e}");
                None
            }
        }
    }

    fn seed(&mut self, seed: &Seed) {
        self.pg.seed(seed);
        self.seeded = *seed;
    }

    /// Installs `testing::postgres()` (a private schema of its own, seeded like the
    /// shared one) as this thread's default connection, until the guard drops. Only
    /// around the `orm` benchmark: while it is installed it shadows the pool.
    fn testing_path(&self) -> TestDatabase {
        let guard = orm_impl::install_default_postgres().expect("a PostgreSQL server");
        DB::unprepared(data::schema(Database::Postgres)).expect("testing schema");
        DB::unprepared(&PgFixture::script(&self.seeded)).expect("testing seed");
        DB::unprepared("ANALYZE").expect("analyze");
        guard
    }
}

const CLEAR_USERS: &str = "DELETE FROM users";

fn trivial_query(c: &mut Criterion, f: &mut Fixture) {
    let mut group = c.benchmark_group("postgres/trivial_query");
    for n in LOAD_SIZES {
        f.seed(&Seed::users(n));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("postgres", n), |b| {
            b.iter(|| black_box(f.pg.raw.load_users().unwrap()))
        });
        default_connection_paths(&mut group, n, f.testing_path(), |b| {
            b.iter(|| black_box(orm::load_users().unwrap()))
        });
        group.bench_function(BenchmarkId::new("orm_explicit", n), |b| {
            b.iter(|| black_box(orm_on::load_users(&mut f.pg.orm).unwrap()))
        });
        group.bench_function(BenchmarkId::new("diesel", n), |b| {
            b.iter(|| black_box(diesel_pg::load_users(&mut f.pg.diesel).unwrap()))
        });
    }
    group.finish();
}

fn medium_query(c: &mut Criterion, f: &mut Fixture) {
    let mut group = c.benchmark_group("postgres/medium_query");
    for n in LOAD_SIZES {
        f.seed(&Seed::users_posts_comments(n, 1, 0));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("postgres", n), |b| {
            b.iter(|| black_box(f.pg.raw.load_users_with_posts().unwrap()))
        });
        default_connection_paths(&mut group, n, f.testing_path(), |b| {
            b.iter(|| black_box(orm::load_users_with_posts().unwrap()))
        });
        group.bench_function(BenchmarkId::new("orm_explicit", n), |b| {
            b.iter(|| black_box(orm_on::load_users_with_posts(&mut f.pg.orm).unwrap()))
        });
        group.bench_function(BenchmarkId::new("diesel", n), |b| {
            b.iter(|| black_box(diesel_pg::load_users_with_posts(&mut f.pg.diesel).unwrap()))
        });
    }
    group.finish();
}

/// Inserts clear the table every this many iterations (untimed).
const CLEANUP_EVERY: u64 = 256;

fn inserts(c: &mut Criterion, f: &mut Fixture) {
    f.seed(&Seed::users(0));
    let users = new_users(INSERT_BATCH);
    let models = orm_impl::models(&users);
    let one_user = &users[..1];
    let one_model = &models[..1];
    let clear_default = || DB::unprepared(CLEAR_USERS).unwrap();
    let cell = std::cell::RefCell::new(f);

    let mut group = c.benchmark_group("postgres/insert_many");
    group.throughput(Throughput::Elements(INSERT_BATCH as u64));
    group.bench_function(BenchmarkId::new("postgres", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| cell.borrow_mut().pg.raw.insert_many(&users).unwrap(),
                clear_default,
            )
        })
    });
    // Bound first: the guard, not the borrow of the cell, lives through the benchmarks.
    let testing = cell.borrow().testing_path();
    default_connection_paths(&mut group, INSERT_BATCH, testing, |b| {
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
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || models.clone(),
                |mut batch| {
                    orm_on::insert_many(&mut cell.borrow_mut().pg.orm, &mut batch).unwrap();
                    batch
                },
                clear_default,
            )
        })
    });
    group.bench_function(BenchmarkId::new("diesel", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| diesel_pg::insert_many(&mut cell.borrow_mut().pg.diesel, &users).unwrap(),
                clear_default,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("postgres/save_in_transaction");
    group.throughput(Throughput::Elements(INSERT_BATCH as u64));
    group.bench_function(BenchmarkId::new("postgres", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| {
                    cell.borrow_mut()
                        .pg
                        .raw
                        .insert_each_in_transaction(&users)
                        .unwrap()
                },
                clear_default,
            )
        })
    });
    // Bound first: the guard, not the borrow of the cell, lives through the benchmarks.
    let testing = cell.borrow().testing_path();
    default_connection_paths(&mut group, INSERT_BATCH, testing, |b| {
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
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || models.clone(),
                |mut batch| {
                    orm_on::save_each_in_transaction(&mut cell.borrow_mut().pg.orm, &mut batch)
                        .unwrap();
                    batch
                },
                clear_default,
            )
        })
    });
    group.bench_function(BenchmarkId::new("diesel", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| {
                    diesel_pg::insert_each_in_transaction(&mut cell.borrow_mut().pg.diesel, &users)
                        .unwrap()
                },
                clear_default,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("postgres/save_one");
    let cleanup_every = CLEANUP_EVERY * INSERT_BATCH as u64;
    group.bench_function(BenchmarkId::new("postgres", 1), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                cleanup_every,
                || (),
                |()| cell.borrow_mut().pg.raw.insert_one(&one_user[0]).unwrap(),
                clear_default,
            )
        })
    });
    // Bound first: the guard, not the borrow of the cell, lives through the benchmarks.
    let testing = cell.borrow().testing_path();
    default_connection_paths(&mut group, 1, testing, |b| {
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
            time_with_cleanup(
                iters,
                cleanup_every,
                || one_model[0].clone(),
                |mut user| {
                    orm_on::save_one(&mut cell.borrow_mut().pg.orm, &mut user).unwrap();
                    user
                },
                clear_default,
            )
        })
    });
    group.bench_function(BenchmarkId::new("diesel", 1), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                cleanup_every,
                || (),
                |()| diesel_pg::insert_one(&mut cell.borrow_mut().pg.diesel, &one_user[0]).unwrap(),
                clear_default,
            )
        })
    });
    group.finish();
}

fn find_by_key(c: &mut Criterion, f: &mut Fixture) {
    f.seed(&Seed::users(FIND_LOOKUPS));
    let ids: Vec<i64> = (1..=FIND_LOOKUPS as i64).collect();
    let mut group = c.benchmark_group("postgres/find_by_key");
    group.throughput(Throughput::Elements(FIND_LOOKUPS as u64));
    group.bench_function(BenchmarkId::new("postgres", FIND_LOOKUPS), |b| {
        b.iter(|| {
            for &id in &ids {
                black_box(f.pg.raw.find_user(id).unwrap());
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
                black_box(orm_on::find_user(&mut f.pg.orm, id).unwrap());
            }
        })
    });
    group.bench_function(BenchmarkId::new("diesel", FIND_LOOKUPS), |b| {
        b.iter(|| {
            for &id in &ids {
                black_box(diesel_pg::find_user(&mut f.pg.diesel, id).unwrap());
            }
        })
    });
    group.finish();
}

fn associations(c: &mut Criterion, f: &mut Fixture) {
    let (users, posts, comments) = ASSOCIATION_SHAPE;
    f.seed(&Seed::users_posts_comments(users, posts, comments));
    let mut group = c.benchmark_group("postgres/associations");
    let label = format!("{users}x{posts}x{comments}");
    group.bench_function(BenchmarkId::new("postgres", &label), |b| {
        b.iter(|| black_box(f.pg.raw.load_associations().unwrap()))
    });
    default_connection_paths(&mut group, &label, f.testing_path(), |b| {
        b.iter(|| black_box(orm::load_associations().unwrap()))
    });
    group.bench_function(BenchmarkId::new("orm_explicit", &label), |b| {
        b.iter(|| black_box(orm_on::load_associations(&mut f.pg.orm).unwrap()))
    });
    group.bench_function(BenchmarkId::new("diesel", &label), |b| {
        b.iter(|| black_box(diesel_pg::load_associations(&mut f.pg.diesel).unwrap()))
    });
    group.finish();
}

fn streaming(c: &mut Criterion, f: &mut Fixture) {
    f.seed(&Seed::users(STREAM_ROWS));
    let mut group = c.benchmark_group("postgres/streaming");
    group.sample_size(10);
    group.throughput(Throughput::Elements(STREAM_ROWS as u64));
    group.bench_function(BenchmarkId::new("postgres", STREAM_ROWS), |b| {
        b.iter(|| f.pg.raw.stream_users(|u| drop(black_box(u))).unwrap())
    });
    default_connection_paths(&mut group, STREAM_ROWS, f.testing_path(), |b| {
        b.iter(|| orm::stream_users(|u| drop(black_box(u))).unwrap())
    });
    group.bench_function(BenchmarkId::new("orm_explicit", STREAM_ROWS), |b| {
        b.iter(|| orm_on::stream_users(&mut f.pg.orm, |u| drop(black_box(u))).unwrap())
    });
    group.bench_function(BenchmarkId::new("diesel", STREAM_ROWS), |b| {
        b.iter(|| diesel_pg::stream_users(&mut f.pg.diesel, |u| drop(black_box(u))).unwrap())
    });
    group.finish();
}

fn postgres(c: &mut Criterion) {
    let Some(mut f) = Fixture::connect() else {
        eprintln!(
            "postgres benchmarks skipped: no server at {}",
            testing::postgres_url()
        );
        return;
    };
    trivial_query(c, &mut f);
    medium_query(c, &mut f);
    find_by_key(c, &mut f);
    associations(c, &mut f);
    streaming(c, &mut f);
    inserts(c, &mut f);
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = postgres
}
criterion_main!(benches);
