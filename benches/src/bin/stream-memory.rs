//! Peak memory of streaming: each case runs in a fresh child process over a seeded SQLite
//! file, and reports how far the resident set's high-water mark (`VmHWM`) rose while
//! the rows were streamed. A flat figure across row counts means constant memory.
//!
//! `cargo run --release -p orm-benches --bin stream-memory`

use std::process::Command;

use orm_benches::data::{self, Database, Seed};
use orm_benches::memory::{mebibytes, peak_resident_bytes};
use orm_benches::models::User;
use orm_benches::raw_sqlite;
use orm_core::prelude::*;

const ROW_COUNTS: [usize; 3] = [10_000, 100_000, 300_000];
const CASES: [(&str, &str); 4] = [
    ("rusqlite", "raw rusqlite, one statement, row by row"),
    (
        "orm_cursor",
        "orm: User::query().cursor() (default connection)",
    ),
    (
        "orm_cursor_on",
        "orm: conn.scope(|| User::query().cursor() ..)",
    ),
    (
        "orm_get",
        "orm: User::query().get() (all rows in one Vec, for contrast)",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 5 && args[1] == "--child" {
        let rows: usize = args[4].parse().expect("row count");
        run_child(&args[2], &args[3], rows);
        return;
    }
    let dir = std::env::temp_dir().join(format!("orm-stream-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    println!("| case | rows | peak RSS before | peak RSS rise while streaming |");
    println!("|---|---:|---:|---:|");
    for rows in ROW_COUNTS {
        let path = dir.join(format!("users-{rows}.sqlite3"));
        seed_file(&path, rows);
        for (case, description) in CASES {
            let output = Command::new(std::env::current_exe().expect("own path"))
                .args(["--child", case, path.to_str().expect("utf-8 path")])
                .arg(rows.to_string())
                .output()
                .expect("run the child");
            assert!(
                output.status.success(),
                "{case} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let text = String::from_utf8_lossy(&output.stdout);
            let mut numbers = text
                .split_whitespace()
                .map(|n| n.parse::<u64>().unwrap_or(0));
            let (before, after) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
            println!(
                "| {description} | {rows} | {} | {} |",
                mebibytes(before),
                mebibytes(after.saturating_sub(before))
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn seed_file(path: &std::path::Path, rows: usize) {
    let conn = rusqlite::Connection::open(path).expect("create the database file");
    conn.execute_batch(data::schema(Database::Sqlite))
        .expect("schema");
    conn.execute_batch(&Seed::users(rows).script())
        .expect("seed");
}

fn run_child(case: &str, path: &str, rows: usize) {
    let url = format!("sqlite://{path}");
    let mut checksum = 0i64;
    let mut consume = |id: i64, name: &str| {
        checksum = checksum.wrapping_add(id).wrapping_add(name.len() as i64);
    };
    let before;
    let streamed = match case {
        "rusqlite" => {
            let conn = rusqlite::Connection::open(path).expect("open");
            before = peak_resident_bytes().unwrap_or(0);
            raw_sqlite::stream_users(&conn, |u| consume(u.id, &u.name)).expect("stream")
        }
        "orm_cursor" => {
            DB::connect(&url).expect("connect");
            before = peak_resident_bytes().unwrap_or(0);
            let mut n = 0;
            for user in User::query().cursor() {
                let user = user.expect("row");
                consume(user.id.unwrap_or_default(), &user.name);
                n += 1;
            }
            n
        }
        "orm_cursor_on" => {
            let mut conn = Connection::open(&url).expect("open");
            before = peak_resident_bytes().unwrap_or(0);
            conn.scope(|| {
                let mut n = 0;
                for user in User::query().cursor() {
                    let user = user.expect("row");
                    consume(user.id.unwrap_or_default(), &user.name);
                    n += 1;
                }
                Ok(n)
            })
            .expect("scope")
        }
        "orm_get" => {
            DB::connect(&url).expect("connect");
            before = peak_resident_bytes().unwrap_or(0);
            let users = User::query().get().expect("load");
            for user in &users {
                consume(user.id.unwrap_or_default(), &user.name);
            }
            users.len()
        }
        other => panic!("unknown case {other}"),
    };
    assert_eq!(streamed, rows, "every row streamed");
    let after = peak_resident_bytes().unwrap_or(0);
    println!("{before} {after} {checksum}");
}
