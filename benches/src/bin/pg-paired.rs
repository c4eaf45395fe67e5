//! Ratios to the raw `postgres` crate measured in interleaved rounds (as `paired-ratios`
//! does for SQLite): each round times a short batch of every contender back to back,
//! rotating the order, so load from other processes hits all of them alike. Prints the
//! median over rounds of each batch's time per iteration and its ratio to the raw
//! driver's. The ORM through `DB::connect` (`orm`: a pool whose sessions have the bench's
//! schema as search path), on an explicit connection (`orm_explicit`), and Diesel, all on
//! one private schema (dropped at the end). Skipped without a server at
//! `ORM_TEST_POSTGRES_URL`.
//!
//! `cargo run --release -p orm-benches --bin pg-paired [-- ROUNDS [FILTER]]`
//!
//! Pinning the client to one CPU (`taskset -c 0 ...`) keeps the scheduler from moving it
//! between rounds; the server's backends run wherever the kernel puts them.

use std::hint::black_box;
use std::time::Duration;

use orm_benches::data::Seed;
use orm_benches::diesel_impl::pg as diesel_pg;
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::paired::Inputs;
use orm_benches::pg_fixture::PgFixture;
use orm_benches::{
    new_users, ASSOCIATION_SHAPE, FIND_LOOKUPS, INSERT_BATCH, LOAD_SIZES, STREAM_ROWS,
};
use orm_core::testing;

/// Wall time each contender gets per round (batches are sized to about this).
const BATCH_TARGET: Duration = Duration::from_millis(40);

type Routine<'a> = orm_benches::paired::Routine<'a, PgFixture>;

fn measure(f: &mut PgFixture, name: &str, rounds: usize, contenders: Vec<(&str, Routine<'_>)>) {
    orm_benches::paired::measure(f, name, rounds, BATCH_TARGET, contenders);
}

fn measure_writes<T: Clone, U: Clone>(
    f: &mut PgFixture,
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
    let mut f = match PgFixture::connect("orm_pg_paired") {
        Ok(f) => f,
        Err(e) => {
            eprintln!(
                "skipped: no PostgreSQL server at {}: {e}",
                testing::postgres_url()
            );
            return;
        }
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
                        "postgres",
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
                    (
                        "diesel",
                        Box::new(|f| {
                            drop(black_box(diesel_pg::load_users(&mut f.diesel).unwrap()))
                        }),
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
                        "postgres",
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
                    (
                        "diesel",
                        Box::new(|f| {
                            drop(black_box(
                                diesel_pg::load_users_with_posts(&mut f.diesel).unwrap(),
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
                    "postgres",
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
                (
                    "diesel",
                    Box::new(move |f| {
                        ids.iter().for_each(|&id| {
                            drop(black_box(diesel_pg::find_user(&mut f.diesel, id).unwrap()))
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
                    "postgres",
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
                (
                    "diesel",
                    Box::new(|f| {
                        drop(black_box(
                            diesel_pg::load_associations(&mut f.diesel).unwrap(),
                        ))
                    }),
                ),
            ],
        );
    }
    let name = format!("streaming/{STREAM_ROWS}");
    if wanted(&name) {
        f.seed(&Seed::users(STREAM_ROWS));
        measure(
            &mut f,
            &name,
            rounds,
            vec![
                (
                    "postgres",
                    Box::new(|f| {
                        black_box(f.raw.stream_users(|u| drop(black_box(u))).unwrap());
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
                    Box::new(|f| {
                        black_box(
                            orm_on::stream_users(&mut f.orm, |u| drop(black_box(u))).unwrap(),
                        );
                    }),
                ),
                (
                    "diesel",
                    Box::new(|f| {
                        black_box(
                            diesel_pg::stream_users(&mut f.diesel, |u| drop(black_box(u))).unwrap(),
                        );
                    }),
                ),
            ],
        );
    }
    // Writes: the table grows during the run (inserts go to the end of the key, so its
    // size does not change the cost of an insert much); what each contender writes is
    // copied before each batch, untimed.
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
                    "postgres",
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
                (
                    "diesel",
                    Box::new(move |f| {
                        rows.write(|batch| {
                            drop(black_box(
                                diesel_pg::insert_many(&mut f.diesel, batch).unwrap(),
                            ));
                        });
                    }),
                ),
            ],
        );
    }
    let name = format!("save_in_transaction/{INSERT_BATCH}");
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
                    "postgres",
                    Box::new(move |f| {
                        rows.write(|batch| {
                            drop(black_box(f.raw.insert_each_in_transaction(batch).unwrap()));
                        });
                    }),
                ),
                (
                    "orm",
                    Box::new(move |_| {
                        batches.write(|batch| {
                            orm::save_each_in_transaction(batch).unwrap();
                        });
                    }),
                ),
                (
                    "orm_explicit",
                    Box::new(move |f| {
                        batches.write(|batch| {
                            orm_on::save_each_in_transaction(&mut f.orm, batch).unwrap();
                        });
                    }),
                ),
                (
                    "diesel",
                    Box::new(move |f| {
                        rows.write(|batch| {
                            drop(black_box(
                                diesel_pg::insert_each_in_transaction(&mut f.diesel, batch)
                                    .unwrap(),
                            ));
                        });
                    }),
                ),
            ],
        );
    }
    let name = "save_one/1";
    if wanted(name) {
        f.seed(&Seed::users(0));
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
                    "postgres",
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
                (
                    "diesel",
                    Box::new(move |f| {
                        rows.write(|row| {
                            black_box(diesel_pg::insert_one(&mut f.diesel, row).unwrap());
                        });
                    }),
                ),
            ],
        );
    }
}
