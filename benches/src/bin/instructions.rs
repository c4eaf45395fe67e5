//! Instructions per iteration (SQLite), counted by valgrind's callgrind: unlike wall time,
//! the count is the same from run to run whatever else the machine is doing, so it
//! shows small changes a noisy machine hides. It counts work, not time (cache misses and
//! allocator stalls cost no extra instructions), so it complements the criterion table.
//!
//! `cargo run --release -p orm-benches --bin instructions [-- FILTER]` runs every
//! workload × contender (or those whose `workload/contender` name contains FILTER) in a
//! child process under `valgrind --tool=callgrind`, collecting only inside the measured
//! loop, and prints instructions per iteration and the ratio to rusqlite's.
//! `instructions --run WORKLOAD CONTENDER ITERATIONS` is the child.

use std::hint::black_box;
use std::process::Command;

use orm_benches::data::Seed;
use orm_benches::diesel_impl::{self, sqlite as diesel_sqlite};
use orm_benches::orm_impl::{self, default_connection as orm, explicit_connection as orm_on};
use orm_benches::{new_users, raw_sqlite, ASSOCIATION_SHAPE, FIND_LOOKUPS, INSERT_BATCH};

const CONTENDERS: [&str; 6] = [
    "rusqlite",
    "orm",
    "orm_explicit",
    "diesel",
    "rusqlite_file",
    "orm_pool",
];

/// Each workload, its seed and how many iterations to count (fewer for the big ones).
fn workloads() -> Vec<(&'static str, Seed, u32)> {
    let (users, posts, comments) = ASSOCIATION_SHAPE;
    vec![
        ("trivial_query/1", Seed::users(1), 2000),
        ("trivial_query/100", Seed::users(100), 200),
        ("trivial_query/10000", Seed::users(10_000), 3),
        ("medium_query/1", Seed::users_posts_comments(1, 1, 0), 2000),
        (
            "medium_query/100",
            Seed::users_posts_comments(100, 1, 0),
            200,
        ),
        (
            "medium_query/10000",
            Seed::users_posts_comments(10_000, 1, 0),
            3,
        ),
        ("find_by_key/1000", Seed::users(FIND_LOOKUPS), 3),
        ("insert_many/100", Seed::users(0), 20),
        ("save_one/1", Seed::users(0), 500),
        ("save_in_transaction/100", Seed::users(0), 20),
        (
            "associations/100x10x10",
            Seed::users_posts_comments(users, posts, comments),
            3,
        ),
        ("streaming/100000", Seed::users(100_000), 1),
    ]
}

/// Only the measured contender's database is made: the others' would change the heap
/// the measured code allocates in (glibc's malloc then walks different bins), which
/// showed as tens of thousands of instructions on a 100-row load.
#[derive(Default)]
struct Contenders {
    raw: Option<rusqlite::Connection>,
    diesel: Option<diesel::SqliteConnection>,
    orm: Option<orm_core::Connection>,
    /// The thread's test database (`orm`); absent for `orm_pool`, whose default
    /// connection is a pool made by `DB::connect`.
    _default: Option<orm_core::testing::TestDatabase>,
    _files: Option<tempfile::TempDir>,
}

impl Contenders {
    fn raw(&self) -> &rusqlite::Connection {
        self.raw
            .as_ref()
            .expect("the rusqlite contender's database")
    }

    fn raw_mut(&mut self) -> &mut rusqlite::Connection {
        self.raw
            .as_mut()
            .expect("the rusqlite contender's database")
    }

    fn diesel(&mut self) -> &mut diesel::SqliteConnection {
        self.diesel
            .as_mut()
            .expect("the diesel contender's database")
    }

    fn orm(&mut self) -> &mut orm_core::Connection {
        self.orm
            .as_mut()
            .expect("the orm_explicit contender's database")
    }
}

/// Drops a result (of any type, `Copy` ones included) after `black_box` saw it.
fn keep<T>(value: T) {
    drop(value)
}

/// The region callgrind counts (`--toggle-collect`): `iterations` calls of `routine`.
#[inline(never)]
fn measured_region(iterations: u32, routine: &mut dyn FnMut()) {
    for _ in 0..iterations {
        routine();
    }
}

fn run(workload: &str, contender: &str, iterations: u32) {
    let (_, seed, _) = workloads()
        .into_iter()
        .find(|(name, _, _)| *name == workload)
        .unwrap_or_else(|| panic!("unknown workload {workload}"));
    // The file contenders are the in-memory ones on a database file: `rusqlite_file`
    // runs rusqlite's routines, `orm_pool` the default-connection ones through the pool.
    let files = matches!(contender, "rusqlite_file" | "orm_pool")
        .then(|| tempfile::tempdir().expect("a temporary directory"));
    let file = |name: &str| files.as_ref().expect("a directory").path().join(name);
    let mut c = Contenders::default();
    match contender {
        "rusqlite" => c.raw = Some(raw_sqlite::open(&seed).expect("rusqlite")),
        "rusqlite_file" => {
            c.raw = Some(raw_sqlite::open_file(&seed, &file("raw.db")).expect("rusqlite"))
        }
        "diesel" => c.diesel = Some(diesel_impl::open_sqlite(&seed).expect("diesel")),
        "orm_explicit" => c.orm = Some(orm_impl::open_sqlite(&seed).expect("orm")),
        "orm" => c._default = Some(orm_impl::install_default_sqlite(&seed).expect("orm default")),
        "orm_pool" => {
            orm_impl::connect_default_sqlite_file(&seed, &file("orm.db")).expect("orm pool")
        }
        _ => panic!("unknown contender {contender}"),
    }
    c._files = files;
    let contender = match contender {
        "rusqlite_file" => "rusqlite",
        "orm_pool" => "orm",
        other => other,
    };
    let users = new_users(INSERT_BATCH);
    let models = orm_impl::models(&users);
    let ids: Vec<i64> = (1..=FIND_LOOKUPS as i64).collect();
    // Write inputs are cloned before the counted region, and the written models dropped
    // after it, as the criterion benches time only the write.
    let batches = std::cell::RefCell::new(vec![models.clone(); iterations as usize + 1]);
    // One-model lists made ahead too, and room kept for what is written: the counted
    // region allocates nothing of the harness's own.
    let singles = std::cell::RefCell::new(vec![vec![models[0].clone()]; iterations as usize + 1]);
    let spent = std::cell::RefCell::new(Vec::with_capacity(iterations as usize + 1));
    let next_batch = || batches.borrow_mut().pop().expect("a prepared batch");
    let next_single = || singles.borrow_mut().pop().expect("a prepared model");
    let done = |written: Vec<orm_benches::models::User>| spent.borrow_mut().push(written);
    let kind = workload.split('/').next().unwrap_or_default();
    let mut routine: Box<dyn FnMut()> = match (kind, contender) {
        ("trivial_query", "rusqlite") => {
            Box::new(|| keep(black_box(raw_sqlite::load_users(c.raw()).unwrap())))
        }
        ("trivial_query", "orm") => Box::new(|| keep(black_box(orm::load_users().unwrap()))),
        ("trivial_query", "orm_explicit") => {
            Box::new(|| keep(black_box(orm_on::load_users(c.orm()).unwrap())))
        }
        ("trivial_query", "diesel") => {
            Box::new(|| keep(black_box(diesel_sqlite::load_users(c.diesel()).unwrap())))
        }
        ("medium_query", "rusqlite") => Box::new(|| {
            keep(black_box(
                raw_sqlite::load_users_with_posts(c.raw()).unwrap(),
            ))
        }),
        ("medium_query", "orm") => {
            Box::new(|| keep(black_box(orm::load_users_with_posts().unwrap())))
        }
        ("medium_query", "orm_explicit") => {
            Box::new(|| keep(black_box(orm_on::load_users_with_posts(c.orm()).unwrap())))
        }
        ("medium_query", "diesel") => Box::new(|| {
            keep(black_box(
                diesel_sqlite::load_users_with_posts(c.diesel()).unwrap(),
            ))
        }),
        ("find_by_key", "rusqlite") => Box::new(|| {
            ids.iter()
                .for_each(|&id| keep(black_box(raw_sqlite::find_user(c.raw(), id).unwrap())))
        }),
        ("find_by_key", "orm") => Box::new(|| {
            ids.iter()
                .for_each(|&id| keep(black_box(orm::find_user(id).unwrap())))
        }),
        ("find_by_key", "orm_explicit") => Box::new(|| {
            ids.iter()
                .for_each(|&id| keep(black_box(orm_on::find_user(c.orm(), id).unwrap())))
        }),
        ("find_by_key", "diesel") => Box::new(|| {
            ids.iter()
                .for_each(|&id| keep(black_box(diesel_sqlite::find_user(c.diesel(), id).unwrap())))
        }),
        ("insert_many", "rusqlite") => {
            Box::new(|| keep(black_box(raw_sqlite::insert_many(c.raw(), &users).unwrap())))
        }
        ("insert_many", "orm") => Box::new(|| {
            let mut batch = next_batch();
            orm::insert_many(&mut batch).unwrap();
            done(batch);
        }),
        ("insert_many", "orm_explicit") => Box::new(|| {
            let mut batch = next_batch();
            orm_on::insert_many(c.orm(), &mut batch).unwrap();
            done(batch);
        }),
        ("insert_many", "diesel") => Box::new(|| {
            keep(black_box(
                diesel_sqlite::insert_many(c.diesel(), &users).unwrap(),
            ))
        }),
        ("save_one", "rusqlite") => Box::new(|| {
            keep(black_box(
                raw_sqlite::insert_one(c.raw(), &users[0]).unwrap(),
            ))
        }),
        ("save_one", "orm") => Box::new(|| {
            let mut one = next_single();
            orm::save_one(&mut one[0]).unwrap();
            done(one);
        }),
        ("save_one", "orm_explicit") => Box::new(|| {
            let mut one = next_single();
            orm_on::save_one(c.orm(), &mut one[0]).unwrap();
            done(one);
        }),
        ("save_one", "diesel") => Box::new(|| {
            keep(black_box(
                diesel_sqlite::insert_one(c.diesel(), &users[0]).unwrap(),
            ))
        }),
        ("save_in_transaction", "rusqlite") => Box::new(|| {
            keep(black_box(
                raw_sqlite::insert_each_in_transaction(c.raw_mut(), &users).unwrap(),
            ))
        }),
        ("save_in_transaction", "orm") => Box::new(|| {
            let mut batch = next_batch();
            orm::save_each_in_transaction(&mut batch).unwrap();
            done(batch);
        }),
        ("save_in_transaction", "orm_explicit") => Box::new(|| {
            let mut batch = next_batch();
            orm_on::save_each_in_transaction(c.orm(), &mut batch).unwrap();
            done(batch);
        }),
        ("save_in_transaction", "diesel") => Box::new(|| {
            keep(black_box(
                diesel_sqlite::insert_each_in_transaction(c.diesel(), &users).unwrap(),
            ))
        }),
        ("associations", "rusqlite") => {
            Box::new(|| keep(black_box(raw_sqlite::load_associations(c.raw()).unwrap())))
        }
        ("associations", "orm") => Box::new(|| keep(black_box(orm::load_associations().unwrap()))),
        ("associations", "orm_explicit") => {
            Box::new(|| keep(black_box(orm_on::load_associations(c.orm()).unwrap())))
        }
        ("associations", "diesel") => Box::new(|| {
            keep(black_box(
                diesel_sqlite::load_associations(c.diesel()).unwrap(),
            ))
        }),
        ("streaming", "rusqlite") => Box::new(|| {
            keep(black_box(
                raw_sqlite::stream_users(c.raw(), |u| keep(black_box(u))).unwrap(),
            ))
        }),
        ("streaming", "orm") => Box::new(|| {
            keep(black_box(
                orm::stream_users(|u| keep(black_box(u))).unwrap(),
            ))
        }),
        ("streaming", "orm_explicit") => Box::new(|| {
            keep(black_box(
                orm_on::stream_users(c.orm(), |u| keep(black_box(u))).unwrap(),
            ))
        }),
        ("streaming", "diesel") => Box::new(|| {
            keep(black_box(
                diesel_sqlite::stream_users(c.diesel(), |u| keep(black_box(u))).unwrap(),
            ))
        }),
        _ => panic!("unknown contender {contender}"),
    };
    // One untimed call warms statement caches, as criterion's warm-up does.
    routine();
    measured_region(iterations, &mut routine);
}

/// Instructions one child run collected in the measured region.
fn count(exe: &str, workload: &str, contender: &str, iterations: u32) -> Option<u64> {
    let output = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--toggle-collect=*measured_region*",
            "--callgrind-out-file=/dev/null",
        ])
        .arg(exe)
        .args(["--run", workload, contender, &iterations.to_string()])
        .output()
        .ok()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|line| {
            line.split_once("Collected :")
                .map(|(_, n)| n.trim().parse().ok())
        })
        .flatten()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--run") {
        let iterations = args[4].parse().expect("iterations");
        run(&args[2], &args[3], iterations);
        return;
    }
    let filter = args.get(1).cloned().unwrap_or_default();
    let exe = std::env::current_exe().expect("own path");
    let exe = exe.to_str().expect("utf-8 path");
    println!(
        "| workload | rusqlite | orm (default) | orm (explicit) | diesel | rusqlite (file) | orm (DB::connect, file) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for (workload, _, iterations) in workloads() {
        let selected: Vec<&str> = CONTENDERS
            .into_iter()
            .filter(|c| format!("{workload}/{c}").contains(&filter))
            .collect();
        if selected.is_empty() {
            continue;
        }
        let mut cells = Vec::new();
        let mut baseline = None;
        let mut file_baseline = None;
        for contender in CONTENDERS {
            let is_file = matches!(contender, "rusqlite_file" | "orm_pool");
            let base_name = if is_file { "rusqlite_file" } else { "rusqlite" };
            if contender != base_name && !selected.contains(&contender) {
                cells.push(String::from("-"));
                continue;
            }
            if contender == base_name
                && !selected
                    .iter()
                    .any(|c| matches!(*c, "rusqlite_file" | "orm_pool") == is_file)
            {
                cells.push(String::from("-"));
                continue;
            }
            match count(exe, workload, contender, iterations) {
                Some(total) => {
                    let per = total as f64 / f64::from(iterations);
                    let base = if is_file {
                        *file_baseline.get_or_insert(per)
                    } else {
                        *baseline.get_or_insert(per)
                    };
                    cells.push(format!("{:.0} ({:.2})", per, per / base));
                }
                None => cells.push(String::from("valgrind failed")),
            }
        }
        println!("| {workload} | {} |", cells.join(" | "));
    }
}
