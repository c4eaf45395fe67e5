//! MySQL/MariaDB: this ORM against the raw `mysql` crate (the baseline), all on one
//! private database (dropped at the end). The ORM three ways: through the default
//! connection made by `DB::connect` (`orm_pool`: a pool, the database named in the URL,
//! the path applications take), on an explicit connection (`orm_explicit`) and on the
//! default connection installed by `orm_core::testing::mysql()` (`orm`: one connection on
//! a private database of its own, seeded identically). No Diesel: its MySQL backend links
//! libmysqlclient, which the project does not build. Skipped, with a note, when no server
//! is reachable at `ORM_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`).

use std::hint::black_box;
use std::time::Duration;

mod common;

use common::default_connection_paths;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use orm_benches::data::{self, Database, Seed};
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::raw_mysql::RawMysql;
use orm_benches::{
    new_users, time_with_cleanup, ASSOCIATION_SHAPE, FIND_LOOKUPS, INSERT_BATCH, LOAD_SIZES,
    STREAM_ROWS,
};
use orm_core::testing::{self, TestDatabase};
use orm_core::DB;

/// One connection per contender (a pool for `orm_pool`), all on the same private database.
struct Fixture {
    raw: RawMysql,
    orm: orm_core::Connection,
    database: String,
    seeded: Seed,
}

impl Fixture {
    fn connect() -> Option<Fixture> {
        use mysql::prelude::Queryable;
        let url = testing::mysql_url();
        let database = format!("orm_bench_{}", std::process::id());
        let created = orm_core::Connection::open(&url).and_then(|mut conn| {
            conn.execute_batch(&format!(
                "DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}`"
            ))
        });
        if let Err(e) = created {
            eprintln!("no MySQL server: {e}");
            return None;
        }
        let mut raw = RawMysql::connect(&url, &database).expect("mysql connection");
        raw.conn()
            .query_drop(data::schema(Database::Mysql))
            .expect("schema");
        orm_impl::connect_default_mysql(&url, &database).expect("orm pool");
        Some(Fixture {
            raw,
            orm: orm_impl::connect_mysql(&url, &database).expect("orm connection"),
            database,
            seeded: Seed::users(0),
        })
    }

    fn script(seed: &Seed) -> String {
        format!("{}\n{}", data::reset(Database::Mysql), seed.script())
    }

    fn seed(&mut self, seed: &Seed) {
        use mysql::prelude::Queryable;
        self.raw
            .conn()
            .query_drop(Fixture::script(seed))
            .expect("seed");
        self.raw
            .conn()
            .query_drop("ANALYZE TABLE users, posts, comments")
            .expect("analyze");
        self.seeded = *seed;
    }

    /// Installs `testing::mysql()` (a private database of its own, seeded like the
    /// shared one) as this thread's default connection, until the guard drops. Only
    /// around the `orm` benchmark: while it is installed it shadows the pool.
    fn testing_path(&self) -> TestDatabase {
        let guard = orm_impl::install_default_mysql().expect("a MySQL server");
        DB::unprepared(data::schema(Database::Mysql)).expect("testing schema");
        DB::unprepared(&Fixture::script(&self.seeded)).expect("testing seed");
        DB::unprepared("ANALYZE TABLE users, posts, comments").expect("analyze");
        guard
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        use mysql::prelude::Queryable;
        DB::disconnect("default");
        let _ = self
            .raw
            .conn()
            .query_drop(format!("DROP DATABASE `{}`", self.database));
    }
}

/// `TRUNCATE` rather than `DELETE`: a `DELETE` of thousands of rows leaves InnoDB purge
/// work that slowed whichever contender ran next by up to 40 %. `users` is referenced by
/// `posts`, which the insert benches leave empty, so the check is off for the statement.
const CLEAR_USERS: &str =
    "SET FOREIGN_KEY_CHECKS = 0; TRUNCATE TABLE users; SET FOREIGN_KEY_CHECKS = 1";

fn trivial_query(c: &mut Criterion, f: &mut Fixture) {
    let mut group = c.benchmark_group("mysql/trivial_query");
    for n in LOAD_SIZES {
        f.seed(&Seed::users(n));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("mysql", n), |b| {
            b.iter(|| black_box(f.raw.load_users().unwrap()))
        });
        default_connection_paths(&mut group, n, f.testing_path(), |b| {
            b.iter(|| black_box(orm::load_users().unwrap()))
        });
        group.bench_function(BenchmarkId::new("orm_explicit", n), |b| {
            b.iter(|| black_box(orm_on::load_users(&mut f.orm).unwrap()))
        });
    }
    group.finish();
}

fn medium_query(c: &mut Criterion, f: &mut Fixture) {
    let mut group = c.benchmark_group("mysql/medium_query");
    for n in LOAD_SIZES {
        f.seed(&Seed::users_posts_comments(n, 1, 0));
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(BenchmarkId::new("mysql", n), |b| {
            b.iter(|| black_box(f.raw.load_users_with_posts().unwrap()))
        });
        default_connection_paths(&mut group, n, f.testing_path(), |b| {
            b.iter(|| black_box(orm::load_users_with_posts().unwrap()))
        });
        group.bench_function(BenchmarkId::new("orm_explicit", n), |b| {
            b.iter(|| black_box(orm_on::load_users_with_posts(&mut f.orm).unwrap()))
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

    let mut group = c.benchmark_group("mysql/insert_many");
    group.throughput(Throughput::Elements(INSERT_BATCH as u64));
    group.bench_function(BenchmarkId::new("mysql", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| cell.borrow_mut().raw.insert_many(&users).unwrap(),
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
                    orm_on::insert_many(&mut cell.borrow_mut().orm, &mut batch).unwrap();
                    batch
                },
                clear_default,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("mysql/save_in_transaction");
    group.throughput(Throughput::Elements(INSERT_BATCH as u64));
    group.bench_function(BenchmarkId::new("mysql", INSERT_BATCH), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                CLEANUP_EVERY,
                || (),
                |()| {
                    cell.borrow_mut()
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
                    orm_on::save_each_in_transaction(&mut cell.borrow_mut().orm, &mut batch)
                        .unwrap();
                    batch
                },
                clear_default,
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("mysql/save_one");
    let cleanup_every = CLEANUP_EVERY * INSERT_BATCH as u64;
    group.bench_function(BenchmarkId::new("mysql", 1), |b| {
        b.iter_custom(|iters| {
            time_with_cleanup(
                iters,
                cleanup_every,
                || (),
                |()| cell.borrow_mut().raw.insert_one(&one_user[0]).unwrap(),
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
                    orm_on::save_one(&mut cell.borrow_mut().orm, &mut user).unwrap();
                    user
                },
                clear_default,
            )
        })
    });
    group.finish();
}

fn find_by_key(c: &mut Criterion, f: &mut Fixture) {
    f.seed(&Seed::users(FIND_LOOKUPS));
    let ids: Vec<i64> = (1..=FIND_LOOKUPS as i64).collect();
    let mut group = c.benchmark_group("mysql/find_by_key");
    group.throughput(Throughput::Elements(FIND_LOOKUPS as u64));
    group.bench_function(BenchmarkId::new("mysql", FIND_LOOKUPS), |b| {
        b.iter(|| {
            for &id in &ids {
                black_box(f.raw.find_user(id).unwrap());
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
    group.finish();
}

fn associations(c: &mut Criterion, f: &mut Fixture) {
    let (users, posts, comments) = ASSOCIATION_SHAPE;
    f.seed(&Seed::users_posts_comments(users, posts, comments));
    let mut group = c.benchmark_group("mysql/associations");
    let label = format!("{users}x{posts}x{comments}");
    group.bench_function(BenchmarkId::new("mysql", &label), |b| {
        b.iter(|| black_box(f.raw.load_associations().unwrap()))
    });
    default_connection_paths(&mut group, &label, f.testing_path(), |b| {
        b.iter(|| black_box(orm::load_associations().unwrap()))
    });
    group.bench_function(BenchmarkId::new("orm_explicit", &label), |b| {
        b.iter(|| black_box(orm_on::load_associations(&mut f.orm).unwrap()))
    });
    group.finish();
}

fn streaming(c: &mut Criterion, f: &mut Fixture) {
    f.seed(&Seed::users(STREAM_ROWS));
    let mut group = c.benchmark_group("mysql/streaming");
    group.sample_size(10);
    group.throughput(Throughput::Elements(STREAM_ROWS as u64));
    group.bench_function(BenchmarkId::new("mysql", STREAM_ROWS), |b| {
        b.iter(|| f.raw.stream_users(|u| drop(black_box(u))).unwrap())
    });
    default_connection_paths(&mut group, STREAM_ROWS, f.testing_path(), |b| {
        b.iter(|| orm::stream_users(|u| drop(black_box(u))).unwrap())
    });
    group.bench_function(BenchmarkId::new("orm_explicit", STREAM_ROWS), |b| {
        b.iter(|| orm_on::stream_users(&mut f.orm, |u| drop(black_box(u))).unwrap())
    });
    group.finish();
}

fn mysql(c: &mut Criterion) {
    let Some(mut f) = Fixture::connect() else {
        eprintln!(
            "mysql benchmarks skipped: no server at {}",
            testing::mysql_url()
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
    targets = mysql
}
criterion_main!(benches);
