//! Ratios to raw rusqlite measured in interleaved rounds: each round times a short
//! batch of every contender back to back, so load from other processes on a shared
//! machine hits all contenders alike. Reports the median over rounds of each batch's
//! time per iteration, and its ratio to rusqlite's. A cross-check of the criterion
//! table on a noisy machine, not a replacement for it.
//!
//! `cargo run --release -p orm-benches --bin paired-ratios [-- [--pool] ROUNDS [FILTER | =NAME]]`
//!
//! With `--pool` every contender works on a database file instead of in memory, and the
//! ORM's default connection is a pool made by `DB::connect` (the path applications
//! take) rather than the thread's test database.

use std::hint::black_box;
use std::time::Duration;

use orm_benches::data::Seed;
use orm_benches::diesel_impl::{self, sqlite as diesel_sqlite};
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::paired::Inputs;
use orm_benches::{
    new_users, raw_sqlite, ASSOCIATION_SHAPE, FIND_LOOKUPS, INSERT_BATCH, LOAD_SIZES, STREAM_ROWS,
};
use orm_core::DB;

/// Wall time each contender gets per round (batches are sized to about this).
const BATCH_TARGET: Duration = Duration::from_millis(20);
const CLEAR_USERS: &str = "DELETE FROM users";

struct Contenders {
    raw: rusqlite::Connection,
    diesel: diesel::SqliteConnection,
    orm: orm_core::Connection,
    _default: Option<orm_core::testing::TestDatabase>,
    _files: Option<tempfile::TempDir>,
}

/// Set by `--pool`: file databases, and the ORM's default connection through the pool.
static POOL_PATH: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Contenders {
    fn new(seed: &Seed) -> Contenders {
        if !POOL_PATH.load(std::sync::atomic::Ordering::Relaxed) {
            return Contenders {
                raw: raw_sqlite::open(seed).expect("rusqlite"),
                diesel: diesel_impl::open_sqlite(seed).expect("diesel"),
                orm: orm_impl::open_sqlite(seed).expect("orm"),
                _default: Some(orm_impl::install_default_sqlite(seed).expect("orm default")),
                _files: None,
            };
        }
        let dir = tempfile::tempdir().expect("a temporary directory");
        orm_impl::connect_default_sqlite_file(seed, &dir.path().join("pool.db")).expect("orm pool");
        Contenders {
            raw: raw_sqlite::open_file(seed, &dir.path().join("raw.db")).expect("rusqlite"),
            diesel: diesel_impl::open_sqlite_file(seed, &dir.path().join("diesel.db"))
                .expect("diesel"),
            orm: orm_impl::open_sqlite_file(seed, &dir.path().join("orm.db")).expect("orm"),
            _default: None,
            _files: Some(dir),
        }
    }
}

type Routine<'a> = orm_benches::paired::Routine<'a, Contenders>;

fn measure(name: &str, rounds: usize, seed: &Seed, contenders: Vec<(&str, Routine<'_>)>) {
    let mut c = Contenders::new(seed);
    orm_benches::paired::measure(&mut c, name, rounds, BATCH_TARGET, contenders);
}

fn measure_writes<T: Clone, U: Clone>(
    name: &str,
    rounds: usize,
    seed: &Seed,
    inputs: (&Inputs<T>, &Inputs<U>),
    contenders: Vec<(&str, Routine<'_>)>,
) {
    let mut c = Contenders::new(seed);
    orm_benches::paired::measure_writes(&mut c, name, rounds, BATCH_TARGET, inputs, contenders);
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("--pool") {
        args.next();
        POOL_PATH.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(30);
    let filter = args.next().unwrap_or_default();
    // `=name` selects one workload exactly; anything else, every name containing it.
    let wanted = |name: &str| match filter.strip_prefix('=') {
        Some(exact) => name == exact,
        None => name.contains(&filter),
    };
    let users = new_users(INSERT_BATCH);
    let models = orm_impl::models(&users);

    for n in LOAD_SIZES {
        let name = format!("trivial_query/{n}");
        if wanted(&name) {
            measure(
                &name,
                rounds,
                &Seed::users(n),
                vec![
                    (
                        "rusqlite",
                        Box::new(|c| drop(black_box(raw_sqlite::load_users(&c.raw).unwrap()))),
                    ),
                    (
                        "orm",
                        Box::new(|_| drop(black_box(orm::load_users().unwrap()))),
                    ),
                    (
                        "orm_explicit",
                        Box::new(|c| drop(black_box(orm_on::load_users(&mut c.orm).unwrap()))),
                    ),
                    (
                        "diesel",
                        Box::new(|c| {
                            drop(black_box(diesel_sqlite::load_users(&mut c.diesel).unwrap()))
                        }),
                    ),
                ],
            );
        }
    }
    for n in LOAD_SIZES {
        let name = format!("medium_query/{n}");
        if wanted(&name) {
            measure(
                &name,
                rounds,
                &Seed::users_posts_comments(n, 1, 0),
                vec![
                    (
                        "rusqlite",
                        Box::new(|c| {
                            drop(black_box(
                                raw_sqlite::load_users_with_posts(&c.raw).unwrap(),
                            ))
                        }),
                    ),
                    (
                        "orm",
                        Box::new(|_| drop(black_box(orm::load_users_with_posts().unwrap()))),
                    ),
                    (
                        "orm_explicit",
                        Box::new(|c| {
                            drop(black_box(
                                orm_on::load_users_with_posts(&mut c.orm).unwrap(),
                            ))
                        }),
                    ),
                    (
                        "diesel",
                        Box::new(|c| {
                            drop(black_box(
                                diesel_sqlite::load_users_with_posts(&mut c.diesel).unwrap(),
                            ))
                        }),
                    ),
                ],
            );
        }
    }
    if wanted("find_by_key/1000") {
        let ids: Vec<i64> = (1..=FIND_LOOKUPS as i64).collect();
        let ids = &ids;
        measure(
            "find_by_key/1000",
            rounds,
            &Seed::users(FIND_LOOKUPS),
            vec![
                (
                    "rusqlite",
                    Box::new(move |c| {
                        ids.iter().for_each(|&id| {
                            drop(black_box(raw_sqlite::find_user(&c.raw, id).unwrap()))
                        })
                    }),
                ),
                (
                    "orm",
                    Box::new(move |_| {
                        ids.iter()
                            .for_each(|&id| drop(black_box(orm::find_user(id).unwrap())))
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(move |c| {
                        ids.iter().for_each(|&id| {
                            drop(black_box(orm_on::find_user(&mut c.orm, id).unwrap()))
                        })
                    }),
                ),
                (
                    "diesel",
                    Box::new(move |c| {
                        ids.iter().for_each(|&id| {
                            drop(black_box(
                                diesel_sqlite::find_user(&mut c.diesel, id).unwrap(),
                            ))
                        })
                    }),
                ),
            ],
        );
    }
    // Writes start on empty tables; rounds are short, so the tables stay small. The raw
    // drivers and Diesel read `users`; the ORM writes models, copied before each batch.
    let batches = Inputs::new(models.clone());
    let rows = Inputs::new(users.clone());
    if wanted("insert_many/100") {
        measure_writes(
            "insert_many/100",
            rounds,
            &Seed::users(0),
            (&batches, &rows),
            vec![
                (
                    "rusqlite",
                    Box::new(|c| {
                        rows.write(|batch| {
                            drop(black_box(raw_sqlite::insert_many(&c.raw, batch).unwrap()));
                        });
                    }),
                ),
                (
                    "orm",
                    Box::new(|_| {
                        batches.write(|batch| {
                            orm::insert_many(batch).unwrap();
                        });
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(|c| {
                        batches.write(|batch| {
                            orm_on::insert_many(&mut c.orm, batch).unwrap();
                        });
                    }),
                ),
                (
                    "diesel",
                    Box::new(|c| {
                        rows.write(|batch| {
                            drop(black_box(
                                diesel_sqlite::insert_many(&mut c.diesel, batch).unwrap(),
                            ));
                        });
                    }),
                ),
            ],
        );
    }
    if wanted("save_in_transaction/100") {
        measure_writes(
            "save_in_transaction/100",
            rounds,
            &Seed::users(0),
            (&batches, &rows),
            vec![
                (
                    "rusqlite",
                    Box::new(|c| {
                        rows.write(|batch| {
                            drop(black_box(
                                raw_sqlite::insert_each_in_transaction(&mut c.raw, batch).unwrap(),
                            ));
                        });
                    }),
                ),
                (
                    "orm",
                    Box::new(|_| {
                        batches.write(|batch| {
                            orm::save_each_in_transaction(batch).unwrap();
                        });
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(|c| {
                        batches.write(|batch| {
                            orm_on::save_each_in_transaction(&mut c.orm, batch).unwrap();
                        });
                    }),
                ),
                (
                    "diesel",
                    Box::new(|c| {
                        rows.write(|batch| {
                            drop(black_box(
                                diesel_sqlite::insert_each_in_transaction(&mut c.diesel, batch)
                                    .unwrap(),
                            ));
                        });
                    }),
                ),
            ],
        );
    }
    if wanted("save_one/1") {
        let singles = Inputs::new(models[0].clone());
        let single_rows = Inputs::new(users[0].clone());
        measure_writes(
            "save_one/1",
            rounds,
            &Seed::users(0),
            (&singles, &single_rows),
            vec![
                (
                    "rusqlite",
                    Box::new(|c| {
                        single_rows.write(|row| {
                            black_box(raw_sqlite::insert_one(&c.raw, row).unwrap());
                        });
                    }),
                ),
                (
                    "orm",
                    Box::new(|_| {
                        singles.write(|one| {
                            orm::save_one(one).unwrap();
                        });
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(|c| {
                        singles.write(|one| {
                            orm_on::save_one(&mut c.orm, one).unwrap();
                        });
                    }),
                ),
                (
                    "diesel",
                    Box::new(|c| {
                        single_rows.write(|row| {
                            black_box(diesel_sqlite::insert_one(&mut c.diesel, row).unwrap());
                        });
                    }),
                ),
            ],
        );
    }
    if wanted("associations/100x10x10") {
        let (u, p, m) = ASSOCIATION_SHAPE;
        measure(
            "associations/100x10x10",
            rounds,
            &Seed::users_posts_comments(u, p, m),
            vec![
                (
                    "rusqlite",
                    Box::new(|c| drop(black_box(raw_sqlite::load_associations(&c.raw).unwrap()))),
                ),
                (
                    "orm",
                    Box::new(|_| drop(black_box(orm::load_associations().unwrap()))),
                ),
                (
                    "orm_explicit",
                    Box::new(|c| drop(black_box(orm_on::load_associations(&mut c.orm).unwrap()))),
                ),
                (
                    "diesel",
                    Box::new(|c| {
                        drop(black_box(
                            diesel_sqlite::load_associations(&mut c.diesel).unwrap(),
                        ))
                    }),
                ),
            ],
        );
    }
    let name = format!("streaming/{STREAM_ROWS}");
    if wanted(&name) {
        measure(
            &name,
            rounds,
            &Seed::users(STREAM_ROWS),
            vec![
                (
                    "rusqlite",
                    Box::new(|c| {
                        black_box(
                            raw_sqlite::stream_users(&c.raw, |u| drop(black_box(u))).unwrap(),
                        );
                    }),
                ),
                (
                    "orm",
                    Box::new(|_| {
                        black_box(orm::stream_users(|u| drop(black_box(u))).unwrap());
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(|c| {
                        black_box(
                            orm_on::stream_users(&mut c.orm, |u| drop(black_box(u))).unwrap(),
                        );
                    }),
                ),
                (
                    "diesel",
                    Box::new(|c| {
                        black_box(
                            diesel_sqlite::stream_users(&mut c.diesel, |u| drop(black_box(u)))
                                .unwrap(),
                        );
                    }),
                ),
            ],
        );
    }
    let _ = DB::unprepared(CLEAR_USERS);
}
