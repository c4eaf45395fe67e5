//! Concurrency and pool hygiene on a real pool: SQLite on a file (WAL), PostgreSQL
//! (a private schema, tables named `schema.table` through the builder) and MariaDB (a
//! private database, named in the URL).
//!
//! - 16 threads x N inserts each: every row present once, no error reaches the caller
//!   (N = 1 000 in CI mode and long mode alike; `ORM_RELIABILITY_LONG=1` runs 5 rounds).
//! - 16 threads incrementing one counter inside transactions (read with
//!   `lock_for_update`, write back): the final value is exact.
//! - Connections returned after a failed transaction, an open transaction (raw `BEGIN`
//!   or a forgotten handle), an aborted PostgreSQL transaction and a panic are never
//!   reused dirty; thousands of checkouts leak nothing.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use orm_core::prelude::*;
use orm_core::{row, testing, Backend, Connection, PoolConfig};
use orm_tests::reliability::{inject_panic, long_mode, quiet_injected_panics, scaled};

const THREADS: usize = 16;
const INSERTS_PER_THREAD: usize = 1_000;

/// A database reachable through a named pool, removed again when dropped.
struct Target {
    name: String,
    backend: Backend,
    url: String,
    /// `schema.` on PostgreSQL, empty on SQLite.
    prefix: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

impl Target {
    fn table(&self, table: &str) -> String {
        format!("{}{table}", self.prefix)
    }

    fn conn(&self) -> orm_core::ConnectionRef {
        DB::connection(&self.name)
    }

    /// `schema.table` quoted part by part, for the hand-written SQL.
    fn quoted(&self, table: &str) -> String {
        let q = if self.backend == Backend::Mysql {
            '`'
        } else {
            '"'
        };
        self.table(table)
            .split('.')
            .map(|p| format!("{q}{p}{q}"))
            .collect::<Vec<_>>()
            .join(".")
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        DB::disconnect(&self.name);
        if let Some(schema) = &self.schema {
            if self.backend == Backend::Mysql {
                if let Ok(mut c) = Connection::open(&testing::mysql_url()) {
                    let _ = c.execute_batch(&format!("DROP DATABASE IF EXISTS `{schema}`"));
                }
            } else if let Ok(mut c) = Connection::open(&testing::postgres_url()) {
                let _ = c.execute_batch(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
            }
        }
    }
}

fn pool_config(max_size: u32) -> PoolConfig {
    PoolConfig {
        max_size,
        min_idle: Some(0),
        connection_timeout: Duration::from_secs(60),
        ..PoolConfig::default()
    }
}

fn sqlite_target(name: &str, max_size: u32) -> Target {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}",
        dir.path().join("reliability.sqlite3").display()
    );
    DB::connect_with(name, &url, pool_config(max_size)).expect("connect SQLite file");
    Target {
        name: name.to_owned(),
        backend: Backend::Sqlite,
        url,
        prefix: String::new(),
        _dir: Some(dir),
        schema: None,
    }
}

/// `None` (test skipped, as `testing::postgres` does) when no server is reachable
/// outside CI.
fn postgres_target(name: &str, max_size: u32) -> Option<Target> {
    let guard = testing::postgres()?;
    let schema = format!("{}_{name}", guard.schema().expect("schema"));
    drop(guard);
    let url = testing::postgres_url();
    Connection::open(&url)
        .and_then(|mut c| c.execute_batch(&format!("CREATE SCHEMA \"{schema}\"")))
        .expect("create schema");
    // Each pooled session skips waiting for the WAL flush of its commits (see
    // `relax_durability`).
    let pooled_url = format!(
        "{url}{}options=-c%20synchronous_commit%3Doff",
        if url.contains('?') { '&' } else { '?' }
    );
    DB::connect_with(name, &pooled_url, pool_config(max_size)).expect("connect PostgreSQL");
    Some(Target {
        name: name.to_owned(),
        backend: Backend::Postgres,
        url,
        prefix: format!("{schema}."),
        _dir: None,
        schema: Some(schema),
    })
}

/// A private MySQL/MariaDB database named in the pool's URL (the test URL's options
/// kept); `None` when no server is reachable outside CI.
fn mysql_target(name: &str, max_size: u32) -> Option<Target> {
    let guard = testing::mysql()?;
    let database = format!("{}_{name}", guard.schema().expect("database"));
    drop(guard);
    Connection::open(&testing::mysql_url())
        .and_then(|mut c| c.execute_batch(&format!("CREATE DATABASE `{database}`")))
        .expect("create database");
    let url = orm_tests::mysql_url_for(&database);
    DB::connect_with(name, &url, pool_config(max_size)).expect("connect MySQL");
    Some(Target {
        name: name.to_owned(),
        backend: Backend::Mysql,
        url,
        prefix: String::new(),
        _dir: None,
        schema: Some(database),
    })
}

fn create_tables(target: &Target) -> Result<()> {
    let key = match target.backend {
        Backend::Postgres => "BIGSERIAL PRIMARY KEY",
        Backend::Mysql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    let rows = target.quoted("rows");
    let counter = target.quoted("counter");
    target.conn().statement(&format!(
        "CREATE TABLE {rows} (id {key}, thread INTEGER NOT NULL, seq INTEGER NOT NULL)"
    ))?;
    target.conn().statement(&format!(
        "CREATE TABLE {counter} (id INTEGER PRIMARY KEY, value BIGINT NOT NULL)"
    ))?;
    target
        .conn()
        .table(target.table("counter"))
        .insert(row! {"id" => 1, "value" => 0})?;
    Ok(())
}

/// Errors seen by the callers, by kind.
#[derive(Default)]
struct Failures(Mutex<BTreeMap<String, usize>>);

impl Failures {
    fn note(&self, error: &Error) {
        let kind = format!("{error:?}").chars().take(60).collect::<String>();
        *self.0.lock().unwrap().entry(kind).or_default() += 1;
    }

    fn assert_none(&self, what: &str) {
        let seen = self.0.lock().unwrap();
        assert!(
            seen.is_empty(),
            "{what}: errors reached the caller: {seen:#?}"
        );
    }
}

fn concurrent_inserts(target: &Target) -> Result<()> {
    let rounds = if long_mode() { 5 } else { 1 };
    let failures = Arc::new(Failures::default());
    let table = target.table("rows");
    let started = Instant::now();
    for round in 0..rounds {
        std::thread::scope(|s| {
            for thread in 0..THREADS {
                let failures = Arc::clone(&failures);
                let table = table.clone();
                s.spawn(move || {
                    for seq in 0..INSERTS_PER_THREAD {
                        let seq = (round * INSERTS_PER_THREAD + seq) as i64;
                        let result = target
                            .conn()
                            .table(table.clone())
                            .insert(row! {"thread" => thread as i64, "seq" => seq});
                        if let Err(e) = result {
                            failures.note(&e);
                        }
                    }
                });
            }
        });
    }
    let elapsed = started.elapsed();
    failures.assert_none("concurrent inserts");
    let expected = (THREADS * INSERTS_PER_THREAD * rounds) as u64;
    let rows = target.conn().table(table.clone()).count()?;
    assert_eq!(rows, expected, "rows missing or duplicated");
    let distinct = target
        .conn()
        .table(table.clone())
        .select(&["thread", "seq"])
        .distinct()
        .count()?;
    assert_eq!(distinct, expected, "duplicated rows");
    for thread in 0..THREADS {
        let seqs: Vec<i64> = target
            .conn()
            .table(table.clone())
            .where_eq("thread", thread as i64)
            .order_by("seq")
            .pluck("seq")?;
        let want: Vec<i64> = (0..(INSERTS_PER_THREAD * rounds) as i64).collect();
        assert_eq!(seqs, want, "thread {thread} lost or repeated rows");
    }
    eprintln!(
        "{:?}: {THREADS} threads x {} inserts: {rows} rows, none missing or duplicated, no error, in {elapsed:.2?}",
        target.backend,
        INSERTS_PER_THREAD * rounds
    );
    Ok(())
}

fn concurrent_counter(target: &Target) -> Result<()> {
    let per_thread = scaled(100, 1_000);
    let failures = Arc::new(Failures::default());
    let table = target.table("counter");
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            let failures = Arc::clone(&failures);
            let table = table.clone();
            s.spawn(move || {
                for _ in 0..per_thread {
                    let conn = target.conn();
                    let result = conn.transaction(|| {
                        let value: i64 = conn
                            .table(table.clone())
                            .where_eq("id", 1)
                            .lock_for_update()
                            .value("value")?
                            .expect("the counter row");
                        conn.table(table.clone())
                            .where_eq("id", 1)
                            .update(row! {"value" => value + 1})
                    });
                    if let Err(e) = result {
                        failures.note(&e);
                    }
                }
            });
        }
    });
    failures.assert_none("counter transactions");
    let value: i64 = target
        .conn()
        .table(table)
        .where_eq("id", 1)
        .value("value")?
        .expect("the counter row");
    assert_eq!(value, (THREADS * per_thread) as i64, "lost updates");
    eprintln!(
        "{:?}: {THREADS} threads x {per_thread} read-modify-write transactions: counter = {value} (exact) in {:.2?}",
        target.backend,
        started.elapsed()
    );
    Ok(())
}

#[test]
fn sqlite_file_concurrent_writers() -> Result<()> {
    let target = sqlite_target("reliability_sqlite_writers", THREADS as u32);
    create_tables(&target)?;
    concurrent_inserts(&target)?;
    concurrent_counter(&target)
}

#[test]
fn postgres_concurrent_writers() -> Result<()> {
    let Some(target) = postgres_target("reliability_pg_writers", THREADS as u32) else {
        return Ok(());
    };
    create_tables(&target)?;
    concurrent_inserts(&target)?;
    concurrent_counter(&target)
}

/// Whether a row with `seq` is visible from a separate, fresh connection (so it was
/// committed).
fn committed(target: &Target, seq: i64) -> Result<bool> {
    let mut fresh = Connection::open(&target.url)?;
    let rows = fresh.select(
        &format!(
            "SELECT COUNT(*) AS n FROM {} WHERE seq = ?",
            target.quoted("rows")
        ),
        &[&seq],
    )?;
    Ok(rows[0].get::<i64, _>("n")? > 0)
}

/// The one pooled connection (max_size 1) is clean: not in a transaction, and a write
/// on it commits at once.
fn assert_clean(target: &Target, seq: i64) -> Result<()> {
    let pool = DB::pool(&target.name)?;
    let mut conn = pool.get()?;
    assert!(!conn.in_transaction(), "reused inside a transaction");
    conn.execute(
        &format!(
            "INSERT INTO {} (thread, seq) VALUES (?, ?)",
            target.quoted("rows")
        ),
        &[&-1, &seq],
    )?;
    drop(conn);
    assert!(
        committed(target, seq)?,
        "a write on the reused connection did not commit: it was still in a transaction"
    );
    Ok(())
}

fn pool_hygiene(target: &Target) -> Result<()> {
    quiet_injected_panics();
    let insert_sql = format!(
        "INSERT INTO {} (thread, seq) VALUES (?, ?)",
        target.quoted("rows")
    );
    let mut next_seq = 1_000_000i64;
    let mut seq = || {
        next_seq += 1;
        next_seq
    };

    // 1. A failed transaction.
    let s = seq();
    let result = target.conn().transaction(|| {
        target.conn().execute(&insert_sql, &[&1, &s])?;
        Err::<(), _>(Error::other("injected"))
    });
    assert!(result.is_err());
    assert!(!committed(target, s)?);
    assert_clean(target, seq())?;

    // 2. A raw BEGIN left open on a checked-out connection.
    let s = seq();
    {
        let mut conn = DB::pool(&target.name)?.get()?;
        conn.execute_batch("BEGIN")?;
        conn.execute(&insert_sql, &[&2, &s])?;
    }
    assert!(!committed(target, s)?, "an open transaction was committed");
    assert_clean(target, seq())?;

    // 3. A transaction handle forgotten (never committed, never dropped).
    let s = seq();
    {
        let mut conn = DB::pool(&target.name)?.get()?;
        let mut tx = conn.begin()?;
        tx.execute(&insert_sql, &[&3, &s])?;
        std::mem::forget(tx);
    }
    assert!(!committed(target, s)?);
    assert_clean(target, seq())?;

    // 4. A statement failing inside a raw transaction (PostgreSQL: aborted state).
    {
        let mut conn = DB::pool(&target.name)?.get()?;
        conn.execute_batch("BEGIN")?;
        assert!(conn.execute("SELECT * FROM no_such_table", &[]).is_err());
    }
    assert_clean(target, seq())?;

    // 5. A panic inside a transaction, and a panic while holding a connection.
    let s = seq();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let _ = target.conn().transaction::<()>(|| {
            target.conn().execute(&insert_sql, &[&5, &s])?;
            inject_panic()
        });
    }));
    assert!(caught.is_err());
    assert!(!committed(target, s)?);
    assert_clean(target, seq())?;
    let s = seq();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let mut conn = DB::pool(&target.name).unwrap().get().unwrap();
        conn.execute_batch("BEGIN").unwrap();
        conn.execute(&insert_sql, &[&6, &s]).unwrap();
        inject_panic()
    }));
    assert!(caught.is_err());
    assert!(!committed(target, s)?);
    assert_clean(target, seq())?;

    // 6. Thousands of checkouts, mixed outcomes: nothing leaks.
    let checkouts = scaled(3_000, 30_000);
    let pool = DB::pool(&target.name)?;
    let ok = AtomicUsize::new(0);
    for i in 0..checkouts {
        let result = match i % 3 {
            0 => target.conn().select("SELECT 1 AS one", &[]).map(drop),
            1 => target
                .conn()
                .transaction(|| Err::<(), _>(Error::other("injected"))),
            _ => {
                let mut conn = pool.get()?;
                conn.execute_batch("BEGIN")
            }
        };
        if result.is_ok() {
            ok.fetch_add(1, Ordering::Relaxed);
        }
        assert!(pool.connections() <= 1, "the pool grew past its size");
    }
    assert_eq!(ok.load(Ordering::Relaxed), checkouts - checkouts / 3);
    assert_clean(target, seq())?;
    assert_eq!(
        pool.connections(),
        pool.idle_connections(),
        "a connection leaked"
    );
    eprintln!(
        "{:?}: pool hygiene: 6 dirty-return cases clean, {checkouts} checkouts, {} connection(s) open at the end",
        target.backend,
        pool.connections()
    );
    Ok(())
}

#[test]
fn mysql_concurrent_writers() -> Result<()> {
    let Some(target) = mysql_target("rel_my_writers", THREADS as u32) else {
        return Ok(());
    };
    create_tables(&target)?;
    concurrent_inserts(&target)?;
    concurrent_counter(&target)
}

/// `SET autocommit = 0` on a pooled connection (a legacy script, a copied snippet) would
/// leave every later statement of the pool's next user in an implicit transaction that
/// is never committed: its writes reported done, then lost. The connection is not handed
/// out again; the next user's writes commit.
#[test]
fn mysql_autocommit_turned_off_does_not_reach_the_next_user() -> Result<()> {
    let Some(target) = mysql_target("rel_my_autocommit", 1) else {
        return Ok(());
    };
    create_tables(&target)?;
    let rows = target.quoted("rows");
    for off in ["SET autocommit = 0", "set @@SESSION.autocommit=OFF"] {
        target.conn().statement(off)?;
        target.conn().execute(
            &format!("INSERT INTO {rows} (thread, seq) VALUES (1, 1)"),
            &[],
        )?;
        // In one batch, committed by its own COMMIT.
        target.conn().unprepared(&format!(
            "SET autocommit = 0; INSERT INTO {rows} (thread, seq) VALUES (2, 2); COMMIT"
        ))?;
        target.conn().execute(
            &format!("INSERT INTO {rows} (thread, seq) VALUES (3, 3)"),
            &[],
        )?;
    }
    let mut other = Connection::open(&target.url)?;
    let seen = other.select(&format!("SELECT COUNT(*) AS n FROM {rows}"), &[])?;
    assert_eq!(
        seen[0].get::<i64, _>("n")?,
        6,
        "every write reported done is committed"
    );
    Ok(())
}

#[test]
fn sqlite_pool_never_reuses_a_dirty_connection() -> Result<()> {
    let target = sqlite_target("reliability_sqlite_pool", 1);
    create_tables(&target)?;
    pool_hygiene(&target)
}

#[test]
fn postgres_pool_never_reuses_a_dirty_connection() -> Result<()> {
    let Some(target) = postgres_target("reliability_pg_pool", 1) else {
        return Ok(());
    };
    create_tables(&target)?;
    pool_hygiene(&target)
}

#[test]
fn mysql_pool_never_reuses_a_dirty_connection() -> Result<()> {
    let Some(target) = mysql_target("rel_my_pool", 1) else {
        return Ok(());
    };
    create_tables(&target)?;
    pool_hygiene(&target)
}

/// Several connections opening a new SQLite file at the same moment all succeed. Each
/// switches the file to WAL, which takes an exclusive lock, and SQLite answered all but
/// one with an immediate SQLITE_BUSY (no busy wait, to avoid a deadlock) — which also
/// hung a test whose threads met at a barrier after connecting.
#[test]
fn sqlite_connections_opening_a_new_file_at_once_all_succeed() {
    let files = scaled(60, 600);
    let mut failures = Vec::new();
    for _ in 0..files {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("new.sqlite3").display());
        let barrier = std::sync::Barrier::new(16);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..16)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        Connection::open(&url).map(drop)
                    })
                })
                .collect();
            for handle in handles {
                if let Err(e) = handle.join().expect("opener thread") {
                    failures.push(e.to_string());
                }
            }
        });
    }
    assert!(failures.is_empty(), "opens failed: {failures:?}");
}

// ----- writes that read their rows first, racing (concurrency probe) ----------------------

macro_rules! claim_model {
    ($name:ident, $connection:literal) => {
        /// A queued job, with hooks: its mass writes read the rows, then write each.
        #[derive(Debug, Clone, Default, Model)]
        #[model(table = "claim_jobs", connection = $connection, hooks)]
        pub struct $name {
            pub id: Option<i64>,
            pub status: String,
            pub worker: i64,
        }

        impl ModelHooks for $name {}
    };
}

claim_model!(SqliteJob, "claims_sqlite");
claim_model!(PostgresJob, "claims_postgres");
claim_model!(MysqlJob, "claims_mysql");

const JOBS: usize = 20;
const WORKERS: usize = 8;

/// Every worker at once, after a barrier; the sum of what each was told it wrote.
fn race(target: &Target, write: impl Fn(i64) -> Result<u64> + Sync) -> u64 {
    let barrier = std::sync::Barrier::new(WORKERS);
    let failures = Failures::default();
    let total = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for worker in 0..WORKERS {
            let (barrier, failures, total, write) = (&barrier, &failures, &total, &write);
            s.spawn(move || {
                barrier.wait();
                match write(worker as i64) {
                    Ok(n) => {
                        total.fetch_add(n as usize, Ordering::Relaxed);
                    }
                    Err(e) => failures.note(&e),
                }
            });
        }
    });
    failures.assert_none(&format!("{:?} racing writers", target.backend));
    total.load(Ordering::Relaxed) as u64
}

fn queue(target: &Target, status: &str) -> Result<Vec<i64>> {
    let table = target.quoted("claim_jobs");
    target.conn().statement(&format!("DELETE FROM {table}"))?;
    let rows: Vec<_> = (0..JOBS)
        .map(|_| row! {"status" => status, "worker" => -1})
        .collect();
    target.conn().table("claim_jobs").insert_many(rows)?;
    target.conn().table("claim_jobs").order_by("id").pluck("id")
}

fn racing_reads_then_writes<M: Model + ModelHooks>(target: &Target) -> Result<()> {
    let key = match target.backend {
        Backend::Postgres => "BIGSERIAL PRIMARY KEY",
        Backend::Mysql => "BIGINT AUTO_INCREMENT PRIMARY KEY",
        _ => "INTEGER PRIMARY KEY AUTOINCREMENT",
    };
    target.conn().statement(&format!(
        "CREATE TABLE {} (id {key}, status VARCHAR(20) NOT NULL, worker BIGINT NOT NULL)",
        target.quoted("claim_jobs")
    ))?;
    for _ in 0..scaled(3, 20) {
        // Each job claimed by one worker, and the claims add up to the jobs.
        queue(target, "queued")?;
        let claimed = race(target, |worker| {
            M::where_eq("status", "queued").update(row! {"status" => "claimed", "worker" => worker})
        });
        assert_eq!(claimed, JOBS as u64, "{:?}: claims", target.backend);
        let owners: Vec<i64> = target
            .conn()
            .table("claim_jobs")
            .distinct()
            .pluck("worker")?;
        assert_eq!(
            owners.len(),
            1,
            "{:?}: one worker claimed them all",
            target.backend
        );
        // Deleted once, counted once: a mass delete with hooks, and destroy.
        queue(target, "old")?;
        let deleted = race(target, |_| M::where_eq("status", "old").delete());
        assert_eq!(deleted, JOBS as u64, "{:?}: mass deletes", target.backend);
        let ids = queue(target, "old")?;
        let destroyed = race(target, |_| M::destroy(ids.clone()));
        assert_eq!(destroyed, JOBS as u64, "{:?}: destroy", target.backend);
        assert_eq!(target.conn().table("claim_jobs").count()?, 0);
    }
    Ok(())
}

#[test]
fn sqlite_racing_mass_writes_claim_each_row_once() -> Result<()> {
    let target = sqlite_target("claims_sqlite", WORKERS as u32);
    racing_reads_then_writes::<SqliteJob>(&target)
}

#[test]
fn postgres_racing_mass_writes_claim_each_row_once() -> Result<()> {
    let Some(mut target) = postgres_target("claims_postgres", WORKERS as u32) else {
        return Ok(());
    };
    // The model names its table unqualified: the pool's sessions look in the schema.
    let schema = target.schema.clone().expect("schema");
    DB::disconnect(&target.name);
    let url = testing::with_search_path(&target.url, &schema);
    DB::connect_with(&target.name, &url, pool_config(WORKERS as u32))?;
    target.prefix = String::new();
    racing_reads_then_writes::<PostgresJob>(&target)
}

#[test]
fn mysql_racing_mass_writes_claim_each_row_once() -> Result<()> {
    let Some(target) = mysql_target("claims_mysql", WORKERS as u32) else {
        return Ok(());
    };
    racing_reads_then_writes::<MysqlJob>(&target)
}
