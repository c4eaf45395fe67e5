//! Row locks that do not wait: `skip_locked()` leaves out the rows another transaction
//! holds (a queue's workers each take other rows) and `no_wait()` fails at once, typed
//! `Error::Busy`. Two sessions of one pool on the test's private schema (database):
//! one holds a row locked in a transaction on another thread while the other reads.
//! PostgreSQL and MySQL/MariaDB; SQLite, which has no row locks, ignores both.

use std::sync::mpsc;
use std::time::Duration;

use orm_core::prelude::*;
use orm_core::{testing, PoolConfig};

fn pool(name: &str, url: &str) -> Result<()> {
    let config = PoolConfig {
        max_size: 2,
        min_idle: Some(0),
        connection_timeout: Duration::from_secs(30),
        ..PoolConfig::default()
    };
    DB::connect_with(name, url, config)
}

/// `wait_at_most`: the statement that makes a lock wait give up after a few seconds.
fn queue(name: &str, wait_at_most: &str) -> Result<()> {
    let conn = DB::connection(name);
    conn.statement("CREATE TABLE jobs (id INTEGER PRIMARY KEY, payload VARCHAR(20) NOT NULL)")?;
    for id in 1..=3 {
        conn.table("jobs")
            .insert(row! {"id" => id, "payload" => format!("job {id}")})?;
    }
    let (locked_tx, locked_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let holder_name = name.to_owned();
    let holder = std::thread::spawn(move || {
        let conn = DB::connection(&holder_name);
        conn.transaction(|| {
            let taken = conn
                .table("jobs")
                .where_eq("id", 1)
                .lock_for_update()
                .first()?;
            assert!(taken.is_some());
            locked_tx.send(()).expect("reader waits");
            release_rx.recv().expect("reader releases");
            Ok(())
        })
    });
    locked_rx.recv().expect("the holder locked row 1");

    // Each read waits at most a few seconds for a lock, so that one which waits where it
    // should not fails the test instead of hanging it.
    let read = |f: &dyn Fn() -> Result<Vec<i64>>| {
        conn.transaction(|| {
            conn.statement(wait_at_most)?;
            f()
        })
    };
    let free = read(&|| conn.table("jobs").order_by("id").skip_locked().pluck("id"))?;
    assert_eq!(free, [2, 3], "the locked row is skipped");
    let one = read(&|| {
        conn.table("jobs")
            .order_by("id")
            .limit(1)
            .lock_for_update()
            .skip_locked()
            .pluck("id")
    })?;
    assert_eq!(one, [2], "a worker takes the first free row");
    let started = std::time::Instant::now();
    let refused = read(&|| conn.table("jobs").where_eq("id", 1).no_wait().pluck("id"));
    assert!(matches!(refused, Err(Error::Busy { .. })), "{refused:?}");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused at once, not after a wait"
    );
    // Without a lock the row reads as usual.
    assert_eq!(conn.table("jobs").count()?, 3);

    release_tx.send(()).expect("holder waits");
    holder.join().expect("holder thread")?;
    let all = read(&|| conn.table("jobs").order_by("id").skip_locked().pluck("id"))?;
    assert_eq!(all, [1, 2, 3], "released, nothing is skipped");
    DB::disconnect(name);
    Ok(())
}

#[test]
fn postgres_skip_locked_and_no_wait() -> Result<()> {
    let Some(db) = testing::postgres() else {
        return Ok(());
    };
    let schema = db.schema().expect("a private schema").to_owned();
    pool(
        "locks_pg",
        &testing::with_search_path(&testing::postgres_url(), &schema),
    )?;
    queue("locks_pg", "SET LOCAL lock_timeout = '3s'")
}

#[test]
fn mysql_skip_locked_and_no_wait() -> Result<()> {
    let Some(db) = testing::mysql() else {
        return Ok(());
    };
    let database = db.schema().expect("a private database").to_owned();
    pool("locks_my", &orm_tests::mysql_url_for(&database))?;
    queue("locks_my", "SET SESSION innodb_lock_wait_timeout = 3")
}

#[test]
fn sqlite_ignores_skip_locked_and_no_wait() -> Result<()> {
    let _db = testing::sqlite();
    DB::statement("CREATE TABLE jobs (id INTEGER PRIMARY KEY)")?;
    DB::table("jobs").insert(row! {"id" => 1})?;
    let (sql, _) = DB::table("jobs").skip_locked().to_sql()?;
    assert!(!sql.contains("LOCK") && !sql.contains("WAIT"), "{sql}");
    assert_eq!(DB::transaction(|| DB::table("jobs").no_wait().count())?, 1);
    Ok(())
}
