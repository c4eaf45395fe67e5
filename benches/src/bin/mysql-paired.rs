//! Ratios to the raw `mysql` crate measured in interleaved rounds (as `paired-ratios`
//! does for SQLite): each round times a short batch of every contender back to back,
//! rotating the order, so load from other processes hits all of them alike. Prints the
//! median over rounds of each batch's time per iteration and its ratio to the raw
//! driver's. Skipped without a server at `ORM_TEST_MYSQL_URL`.
//!
//! `cargo run --release -p orm-benches --bin mysql-paired [-- ROUNDS [FILTER]]`

use std::hint::black_box;
use std::time::Duration;

use mysql::prelude::Queryable;
use orm_benches::data::{self, Database, Seed};
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::paired::Inputs;
use orm_benches::raw_mysql::RawMysql;
use orm_benches::{new_users, ASSOCIATION_SHAPE, FIND_LOOKUPS, INSERT_BATCH, LOAD_SIZES};
use orm_core::{testing, DB};

/// Wall time each contender gets per round (batches are sized to about this).
const BATCH_TARGET: Duration = Duration::from_millis(40);

struct Fixture {
    raw: RawMysql,
    orm: orm_core::Connection,
    _default: testing::TestDatabase,
}

impl Fixture {
    fn seed(&mut self, seed: &Seed) {
        let script = format!("{}\n{}", data::reset(Database::Mysql), seed.script());
        self.raw.conn().query_drop(script).expect("seed");
    }
}

type Routine<'a> = orm_benches::paired::Routine<'a, Fixture>;

fn measure(f: &mut Fixture, name: &str, rounds: usize, contenders: Vec<(&str, Routine<'_>)>) {
    orm_benches::paired::measure(f, name, rounds, BATCH_TARGET, contenders);
}

fn measure_writes<T: Clone, U: Clone>(
    f: &mut Fixture,
    name: &str,
    rounds: usize,
    inputs: (&Inputs<T>, &Inputs<U>),
    contenders: Vec<(&str, Routine<'_>)>,
) {
    orm_benches::paired::measure_writes(f, name, rounds, BATCH_TARGET, inputs, contenders);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(30);
    let filter = args.next().unwrap_or_default();
    let Some(default) = orm_impl::install_default_mysql() else {
        eprintln!("skipped: no MySQL server at {}", testing::mysql_url());
        return;
    };
    let database = default.schema().expect("a private database").to_owned();
    let url = testing::mysql_url();
    let mut raw = RawMysql::connect(&url, &database).expect("mysql");
    raw.conn()
        .query_drop(data::schema(Database::Mysql))
        .expect("schema");
    let mut f = Fixture {
        raw,
        orm: orm_impl::connect_mysql(&url, &database).expect("orm"),
        _default: default,
    };
    let users = new_users(INSERT_BATCH);
    let models = orm_impl::models(&users);
    let wanted = |name: &str| name.contains(&filter);

    for n in LOAD_SIZES {
        let name = format!("trivial_query/{n}");
        if wanted(&name) {
            f.seed(&Seed::users(n));
            measure(
                &mut f,
                &name,
                rounds,
                vec![
                    (
                        "mysql",
                        Box::new(|f| drop(black_box(f.raw.load_users().unwrap()))),
                    ),
                    (
                        "orm",
                        Box::new(|_| drop(black_box(orm::load_users().unwrap()))),
                    ),
                    (
                        "orm_explicit",
                        Box::new(|f| drop(black_box(orm_on::load_users(&mut f.orm).unwrap()))),
                    ),
                ],
            );
        }
    }
    for n in LOAD_SIZES {
        let name = format!("medium_query/{n}");
        if wanted(&name) {
            f.seed(&Seed::users_posts_comments(n, 1, 0));
            measure(
                &mut f,
                &name,
                rounds,
                vec![
                    (
                        "mysql",
                        Box::new(|f| drop(black_box(f.raw.load_users_with_posts().unwrap()))),
                    ),
                    (
                        "orm",
                        Box::new(|_| drop(black_box(orm::load_users_with_posts().unwrap()))),
                    ),
                    (
                        "orm_explicit",
                        Box::new(|f| {
                            drop(black_box(
                                orm_on::load_users_with_posts(&mut f.orm).unwrap(),
                            ))
                        }),
                    ),
                ],
            );
        }
    }
    let name = format!("find_by_key/{FIND_LOOKUPS}");
    if wanted(&name) {
        f.seed(&Seed::users(FIND_LOOKUPS));
        let ids: Vec<i64> = (1..=FIND_LOOKUPS as i64).collect();
        let ids = &ids;
        measure(
            &mut f,
            &name,
            rounds,
            vec![
                (
                    "mysql",
                    Box::new(move |f| {
                        ids.iter()
                            .for_each(|&id| drop(black_box(f.raw.find_user(id).unwrap())))
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
                    Box::new(move |f| {
                        ids.iter().for_each(|&id| {
                            drop(black_box(orm_on::find_user(&mut f.orm, id).unwrap()))
                        })
                    }),
                ),
            ],
        );
    }
    let (u, p, c) = ASSOCIATION_SHAPE;
    let name = format!("associations/{u}x{p}x{c}");
    if wanted(&name) {
        f.seed(&Seed::users_posts_comments(u, p, c));
        measure(
            &mut f,
            &name,
            rounds,
            vec![
                (
                    "mysql",
                    Box::new(|f| drop(black_box(f.raw.load_associations().unwrap()))),
                ),
                (
                    "orm",
                    Box::new(|_| drop(black_box(orm::load_associations().unwrap()))),
                ),
                (
                    "orm_explicit",
                    Box::new(|f| drop(black_box(orm_on::load_associations(&mut f.orm).unwrap()))),
                ),
            ],
        );
    }
    // Writes: the table grows during the run (InnoDB inserts at the end of the key, so
    // its size does not change the cost of an insert much); what each contender writes
    // is copied before each batch, untimed.
    let name = format!("insert_many/{INSERT_BATCH}");
    if wanted(&name) {
        f.seed(&Seed::users(0));
        let (batches, rows) = (Inputs::new(models.clone()), Inputs::new(users.clone()));
        let (batches, rows) = (&batches, &rows);
        measure_writes(
            &mut f,
            &name,
            rounds,
            (batches, rows),
            vec![
                (
                    "mysql",
                    Box::new(move |f| {
                        rows.write(|batch| {
                            drop(black_box(f.raw.insert_many(batch).unwrap()));
                        });
                    }),
                ),
                (
                    "orm",
                    Box::new(move |_| {
                        batches.write(|batch| {
                            orm::insert_many(batch).unwrap();
                        });
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(move |f| {
                        batches.write(|batch| {
                            orm_on::insert_many(&mut f.orm, batch).unwrap();
                        });
                    }),
                ),
            ],
        );
        DB::unprepared("DELETE FROM users").expect("clear");
    }
    let name = "save_one/1";
    if wanted(name) {
        let (singles, rows) = (
            Inputs::new(models[0].clone()),
            Inputs::new(users[0].clone()),
        );
        let (singles, rows) = (&singles, &rows);
        measure_writes(
            &mut f,
            name,
            rounds,
            (singles, rows),
            vec![
                (
                    "mysql",
                    Box::new(move |f| {
                        rows.write(|row| {
                            black_box(f.raw.insert_one(row).unwrap());
                        });
                    }),
                ),
                (
                    "orm",
                    Box::new(move |_| {
                        singles.write(|one| {
                            orm::save_one(one).unwrap();
                        });
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(move |f| {
                        singles.write(|one| {
                            orm_on::save_one(&mut f.orm, one).unwrap();
                        });
                    }),
                ),
            ],
        );
    }
}
