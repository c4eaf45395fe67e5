//! Shared code of the benchmark suite: the schema and seed data, the ORM models, and one
//! implementation of every workload per contender (raw rusqlite, raw `postgres`, Diesel
//! and this ORM), so the criterion benches in `benches/` only wire them together.
//!
//! Every contender returns the same shapes (owned structs, associations grouped in
//! Rust), so each benchmark measures the same work.

pub mod data;
pub mod diesel_impl;
pub mod grouping;
pub mod memory;
pub mod models;
pub mod orm_impl;
pub mod paired;
pub mod pg_fixture;
pub mod raw_mysql;
pub mod raw_postgres;
pub mod raw_sqlite;
pub mod report;
pub mod seeding;

/// The row counts of the load workloads (trivial and medium query).
pub const LOAD_SIZES: [usize; 3] = [1, 100, 10_000];
/// Users written by the multi-row insert and by the `save()` loop.
pub const INSERT_BATCH: usize = 100;
/// Primary-key lookups per iteration of the find workload (over a table this size).
pub const FIND_LOOKUPS: usize = 1_000;
/// The associations workload: users, posts per user, comments per post.
pub const ASSOCIATION_SHAPE: (usize, usize, usize) = (100, 10, 10);
/// Rows streamed by the streaming workload.
pub const STREAM_ROWS: usize = 100_000;

/// A user as every contender returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainUser {
    /// Primary key.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Hair colour (`black` or `brown` in the seed data).
    pub hair_color: Option<String>,
}

/// A post as the raw drivers return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainPost {
    /// Primary key.
    pub id: i64,
    /// The author.
    pub user_id: i64,
    /// Title.
    pub title: String,
    /// Body (absent for every other post).
    pub body: Option<String>,
}

/// A comment as the raw drivers return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainComment {
    /// Primary key.
    pub id: i64,
    /// The post commented on.
    pub post_id: i64,
    /// Text.
    pub text: String,
}

/// A new user to insert: the same values for every contender.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Name.
    pub name: String,
    /// Hair colour.
    pub hair_color: Option<String>,
}

/// The users every insert workload writes (`count` of them).
pub fn new_users(count: usize) -> Vec<NewUser> {
    (0..count)
        .map(|i| NewUser {
            name: format!("New user {i}"),
            hair_color: (i % 2 == 0).then(|| "black".to_owned()),
        })
        .collect()
}

/// Times `iterations` runs of `routine` (each given fresh input from `setup`, untimed),
/// calling `cleanup` untimed every `cleanup_every` runs: for write workloads whose table
/// would otherwise grow without bound over a long measurement.
pub fn time_with_cleanup<I, O>(
    iterations: u64,
    cleanup_every: u64,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
    mut cleanup: impl FnMut(),
) -> std::time::Duration {
    let mut total = std::time::Duration::ZERO;
    for done in 1..=iterations {
        let input = setup();
        let start = std::time::Instant::now();
        let output = routine(input);
        total += start.elapsed();
        drop(std::hint::black_box(output));
        if done % cleanup_every.max(1) == 0 {
            cleanup();
        }
    }
    total
}
