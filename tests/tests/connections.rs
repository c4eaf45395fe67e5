//! Pool, named connections, thread scopes, the query log, busy handling and the
//! statement cache.

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use orm_core::{Connection, Error, PoolConfig, Value, DB};
use orm_tests::on_every_backend;

fn file_url(dir: &tempfile::TempDir, query: &str) -> String {
    format!(
        "sqlite://{}{query}",
        dir.path().join("app.sqlite3").display()
    )
}

#[test]
fn pooled_connections_are_shared_across_threads_and_returned_clean() -> orm_core::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let name = "pool_test";
    DB::connect_with(
        name,
        &file_url(&dir, ""),
        PoolConfig {
            max_size: 4,
            ..PoolConfig::default()
        },
    )?;
    let db = DB::connection(name);
    db.statement("CREATE TABLE hits (id INTEGER PRIMARY KEY, thread INTEGER NOT NULL)")?;

    let handles: Vec<_> = (0..4)
        .map(|t| {
            thread::spawn(move || -> orm_core::Result<()> {
                let db = DB::connection(name);
                for _ in 0..50 {
                    db.transaction(|| {
                        db.execute("INSERT INTO hits (thread) VALUES (?)", &[&t])?;
                        Ok(())
                    })?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap()?;
    }
    let count: i64 = db.select("SELECT COUNT(*) AS n FROM hits", &[])?[0].get("n")?;
    assert_eq!(count, 200);

    // A connection handed back with an open transaction is rolled back, not reused dirty.
    let pool = DB::pool(name)?;
    {
        let mut conn = pool.get()?;
        let mut tx = conn.begin()?;
        tx.execute("INSERT INTO hits (thread) VALUES (?)", &[&99])?;
        std::mem::forget(tx); // leak the handle: the transaction stays open
    }
    for _ in 0..8 {
        let mut conn = pool.get()?;
        assert!(!conn.in_transaction());
        let n: i64 =
            conn.select("SELECT COUNT(*) AS n FROM hits WHERE thread = 99", &[])?[0].get("n")?;
        assert_eq!(n, 0);
    }
    // Thousands of checkouts do not grow the pool.
    for _ in 0..2000 {
        drop(pool.get()?);
    }
    assert!(pool.connections() <= 4, "{}", pool.connections());
    assert!(DB::disconnect(name));
    assert!(matches!(
        db.select("SELECT 1", &[]),
        Err(Error::NoConnection(_))
    ));
    Ok(())
}

#[test]
fn unconfigured_connections_are_a_typed_error() {
    let err = DB::connection("never_configured")
        .select("SELECT 1", &[])
        .unwrap_err();
    assert!(
        matches!(err, Error::NoConnection(ref n) if n == "never_configured"),
        "{err}"
    );
}

#[test]
fn test_databases_are_private_to_their_thread() -> orm_core::Result<()> {
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || -> orm_core::Result<i64> {
                let _db = orm_core::testing::sqlite();
                DB::statement("CREATE TABLE t (x INTEGER)")?;
                DB::execute("INSERT INTO t VALUES (?)", &[&i])?;
                barrier.wait();
                DB::select("SELECT COUNT(*) AS n FROM t", &[])?[0].get("n")
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap()?, 1);
    }
    Ok(())
}

#[test]
fn a_held_sqlite_write_lock_makes_writers_wait_then_succeed() -> orm_core::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let url = file_url(&dir, "?busy_timeout=5000");
    let mut holder = Connection::open(&url)?;
    holder.execute_batch("CREATE TABLE t (x INTEGER)")?;
    let tx = holder.begin()?; // BEGIN IMMEDIATE: holds the write lock
    let waiter = thread::spawn(move || -> orm_core::Result<Duration> {
        let mut conn = Connection::open(&url)?;
        let start = Instant::now();
        conn.transaction(|c| c.execute("INSERT INTO t VALUES (?)", &[&1]))?;
        Ok(start.elapsed())
    });
    thread::sleep(Duration::from_millis(300));
    tx.commit()?;
    let waited = waiter.join().unwrap()?;
    assert!(waited >= Duration::from_millis(200), "waited {waited:?}");
    let n: i64 = holder.select("SELECT COUNT(*) AS n FROM t", &[])?[0].get("n")?;
    assert_eq!(n, 1);
    Ok(())
}

#[test]
fn a_sqlite_writer_gets_a_busy_error_after_its_timeout() -> orm_core::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let mut holder = Connection::open(&file_url(&dir, ""))?;
    holder.execute_batch("CREATE TABLE t (x INTEGER)")?;
    let _tx = holder.begin()?;
    let mut impatient = Connection::open(&file_url(&dir, "?busy_timeout=100"))?;
    let err = impatient
        .transaction(|c| c.execute("INSERT INTO t VALUES (?)", &[&1]))
        .unwrap_err();
    assert!(err.is_busy(), "{err:?}");
    assert!(!impatient.in_transaction());
    Ok(())
}

#[test]
fn sqlite_file_connections_use_wal_and_foreign_keys() -> orm_core::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(&file_url(&dir, ""))?;
    let mode: String = conn.select("PRAGMA journal_mode", &[])?[0].get(&0usize)?;
    assert_eq!(mode, "wal");
    let fk: i64 = conn.select("PRAGMA foreign_keys", &[])?[0].get(&0usize)?;
    assert_eq!(fk, 1);
    Ok(())
}

on_every_backend! {
    fn raw_writes_that_return_rows_report_their_count_once() {
        DB::statement("CREATE TABLE returned (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
        // Before: SQLite made the insert and then reported an error, inviting a retry
        // that wrote the row twice.
        let inserted = DB::insert(
            "INSERT INTO returned (id, name) VALUES (?, ?), (?, ?), (?, ?) RETURNING id",
            &[&1, &"ada", &2, &"grace", &3, &"linus"],
        )?;
        assert_eq!(inserted, 3);
        let deleted = DB::delete("DELETE FROM returned WHERE id = ? RETURNING name", &[&3])?;
        assert_eq!(deleted, 1);
        DB::statement("SELECT name FROM returned")?;
        assert_eq!(DB::table("returned").order_by("id").pluck::<String>("name")?, ["ada", "grace"]);
        Ok(())
    }

    fn the_query_log_captures_statements_with_binding_counts() {
        DB::statement("CREATE TABLE logged (x INTEGER)")?;
        DB::enable_query_log();
        DB::execute("INSERT INTO logged VALUES (?)", &[&1])?;
        DB::select("SELECT x FROM logged WHERE x = ? OR x = ?", &[&1, &2])?;
        let log = DB::query_log();
        DB::disable_query_log();
        assert_eq!(log.len(), 2);
        assert!(log[0].sql.starts_with("INSERT INTO logged"));
        assert_eq!(log[0].bindings, 1);
        assert_eq!(log[1].bindings, 2);
        DB::flush_query_log();
        assert!(DB::query_log().is_empty());
        Ok(())
    }

    fn hand_written_sql_uses_question_marks_on_every_backend() {
        let rows = DB::select("SELECT ? AS a, '?' AS literal, CAST(? AS INTEGER) AS b", &[&"x", &2])?;
        assert_eq!(rows[0].get::<String, _>("a")?, "x");
        assert_eq!(rows[0].get::<String, _>("literal")?, "?");
        assert_eq!(rows[0].get::<i64, _>("b")?, 2);
        Ok(())
    }

    fn every_public_raw_connection_method_takes_question_marks() {
        DB::statement("CREATE TABLE marks (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
        DB::with_connection(|c| {
            let inserted = c.execute_values(
                "INSERT INTO marks (id, name) VALUES (?, ?), (?, '?')",
                &[Value::Int(1), Value::Text("ada".into()), Value::Int(2)],
            )?;
            assert_eq!(inserted, 2);
            let sql = "SELECT name FROM marks WHERE id >= ? AND name <> 'who?' ORDER BY id";
            let names = c.query_map(sql, &[Value::Int(1)], |row| row.get::<String, _>("name"))?;
            assert_eq!(names, ["ada", "?"]);
            let mut seen = Vec::new();
            c.query_each(sql, &[Value::Int(2)], |row| {
                seen.push(row.get::<String, _>("name")?);
                Ok(true)
            })?;
            assert_eq!(seen, ["?"]);
            let first = c.query_first(sql, &[Value::Int(1)], |row| row.get::<String, _>("name"))?;
            assert_eq!(first.as_deref(), Some("ada"));
            let records = c.select_values(sql, &[Value::Int(2)])?;
            assert_eq!(records[0].get::<String, _>("name")?, "?");
            Ok(())
        })
    }
}

#[test]
fn postgres_raw_connection_methods_read_double_question_mark_as_a_literal_one(
) -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let sql = "SELECT ('{\"a\": 1}'::jsonb ?? CAST(? AS TEXT)) AS has";
    let key = || [Value::Text("a".into())];
    DB::with_connection(|c| {
        let has = c.query_first(sql, &key(), |row| row.get::<bool, _>("has"))?;
        assert_eq!(has, Some(true));
        let mapped = c.query_map(sql, &key(), |row| row.get::<bool, _>("has"))?;
        assert_eq!(mapped, [true]);
        let mut each = Vec::new();
        c.query_each(sql, &key(), |row| {
            each.push(row.get::<bool, _>("has")?);
            Ok(true)
        })?;
        assert_eq!(each, [true]);
        assert!(c.select_values(sql, &key())?[0].get::<bool, _>("has")?);
        Ok(())
    })
}

#[test]
fn postgres_statements_are_prepared_once_per_connection() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let sql = "SELECT $1::int8 + 1 AS n";
    for i in 0..5i64 {
        let n: i64 =
            DB::with_connection(|c| c.select_values("SELECT ?::int8 + 1 AS n", &[Value::Int(i)]))?
                [0]
            .get("n")?;
        assert_eq!(n, i + 1);
    }
    let prepared: i64 = DB::select(
        "SELECT COUNT(*) AS n FROM pg_prepared_statements WHERE statement = ?",
        &[&sql],
    )?[0]
        .get("n")?;
    assert_eq!(prepared, 1);
    Ok(())
}

#[test]
fn a_nested_call_on_a_single_connection_pool_fails_at_once() -> orm_core::Result<()> {
    DB::connect_named("single_memory", "sqlite::memory:")?;
    let db = DB::connection("single_memory");
    let start = Instant::now();
    let nested = db.with(|_conn| DB::connection("single_memory").select("SELECT 1", &[]));
    assert!(
        matches!(nested, Err(Error::ConnectionInUse(_))),
        "{nested:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    // Sequential calls still work.
    db.select("SELECT 1", &[])?;
    db.select("SELECT 1", &[])?;
    Ok(())
}

#[test]
fn postgres_statements_survive_schema_changes() -> orm_core::Result<()> {
    let Some(db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    DB::statement("CREATE TABLE shapes (id INTEGER PRIMARY KEY)")?;
    DB::execute("INSERT INTO shapes (id) VALUES (?)", &[&1])?;
    assert_eq!(DB::select("SELECT * FROM shapes", &[])?[0].len(), 1);
    // The same connection changes the table: its cache is dropped.
    DB::statement("ALTER TABLE shapes ADD COLUMN name TEXT")?;
    assert_eq!(DB::select("SELECT * FROM shapes", &[])?[0].len(), 2);
    // Another connection changes it: the stale statement is re-prepared once.
    let mut other = Connection::open(&orm_core::testing::postgres_url())?;
    other.execute_batch(&format!(
        "SET search_path TO \"{}\"; ALTER TABLE shapes ADD COLUMN size INTEGER",
        db.schema().unwrap()
    ))?;
    assert_eq!(DB::select("SELECT * FROM shapes", &[])?[0].len(), 3);
    Ok(())
}

#[test]
fn an_in_memory_database_lives_as_long_as_its_pool() -> orm_core::Result<()> {
    // The shortest timeouts; r2d2's reaper closes expired connections every 30 s (a
    // period it does not let callers change), so the test waits just over one period.
    let short = PoolConfig {
        idle_timeout: Some(Duration::from_secs(1)),
        max_lifetime: Some(Duration::from_secs(1)),
        ..PoolConfig::default()
    };
    DB::connect_with("memory_lives", "sqlite::memory:", short.clone())?;
    let memory = DB::connection("memory_lives");
    memory.statement("CREATE TABLE kept (x INTEGER)")?;
    memory.execute("INSERT INTO kept (x) VALUES (?)", &[&1])?;
    // A file database with the same settings shows that the reaper did run.
    let dir = tempfile::tempdir().unwrap();
    DB::connect_with("file_reaped", &file_url(&dir, ""), short)?;
    DB::connection("file_reaped").select("SELECT 1", &[])?;
    assert_eq!(DB::pool("file_reaped")?.connections(), 1);

    thread::sleep(Duration::from_secs(33));

    assert_eq!(DB::pool("file_reaped")?.connections(), 0);
    assert_eq!(DB::pool("memory_lives")?.connections(), 1);
    let n: i64 = memory.select("SELECT COUNT(*) AS n FROM kept", &[])?[0].get("n")?;
    assert_eq!(n, 1);
    DB::disconnect("memory_lives");
    DB::disconnect("file_reaped");
    Ok(())
}

/// A row callback's error is the caller's, not the streaming connection's: a lost
/// connection elsewhere, returned through `each`, does not make the pool discard its
/// one in-memory connection (and the database with it).
#[test]
fn a_row_callbacks_connection_error_is_not_the_streams() -> orm_core::Result<()> {
    DB::connect_named("memory_callback", "sqlite::memory:")?;
    let memory = DB::connection("memory_callback");
    memory.statement("CREATE TABLE notes (body TEXT)")?;
    memory.execute("INSERT INTO notes (body) VALUES ('a'), ('b')", &[])?;
    let elsewhere = || Connection::open("postgres://postgres@127.0.0.1:1/nowhere").map(|_| true);
    assert!(matches!(elsewhere(), Err(Error::Connection { .. })));
    let streamed = DB::table("notes")
        .use_connection("memory_callback")
        .each(|_| elsewhere());
    assert!(
        matches!(streamed, Err(Error::Connection { .. })),
        "{streamed:?}"
    );
    let first = DB::table("notes")
        .use_connection("memory_callback")
        .first_where("body", "=", "b");
    assert!(first?.is_some(), "the database is still there");
    assert_eq!(DB::pool("memory_callback")?.status().closed, 0);
    DB::disconnect("memory_callback");
    Ok(())
}

/// A connection checked out by hand (`DB::acquire`, `Pool::get`) and held while the same
/// thread runs a query on that one-connection pool: `ConnectionInUse` at once, not a
/// wait for itself until the checkout timeout. Another thread still waits its turn.
#[test]
fn a_one_connection_pool_held_by_this_thread_is_connection_in_use() -> orm_core::Result<()> {
    DB::connect_named("memory_acquired", "sqlite::memory:")?;
    let memory = DB::connection("memory_acquired");
    memory.statement("CREATE TABLE t (x INTEGER)")?;
    let held = DB::pool("memory_acquired")?.get()?;
    let nested = memory.select("SELECT x FROM t", &[]);
    assert!(
        matches!(nested, Err(Error::ConnectionInUse(_))),
        "{nested:?}"
    );
    let waiter = thread::spawn(|| {
        DB::connection("memory_acquired")
            .select("SELECT x FROM t", &[])
            .map(|rows| rows.len())
    });
    thread::sleep(Duration::from_millis(50));
    drop(held);
    assert_eq!(waiter.join().unwrap()?, 0);
    // Given back: this thread has it again, and it is the same database.
    memory.execute("INSERT INTO t (x) VALUES (1)", &[])?;
    assert_eq!(memory.select("SELECT x FROM t", &[])?.len(), 1);
    DB::disconnect("memory_acquired");
    Ok(())
}

/// `DB::transaction` nested in a checkout of a one-connection pool (here inside
/// `with`; an `each` callback is the same) cannot get a connection: it fails at once
/// with `ConnectionInUse`, as every other nested call does, instead of waiting out the
/// checkout timeout for the connection this thread holds.
#[test]
fn a_transaction_nested_on_a_one_connection_pool_is_connection_in_use() -> orm_core::Result<()> {
    DB::connect_named("memory_nested_tx", "sqlite::memory:")?;
    let memory = DB::connection("memory_nested_tx");
    memory.statement("CREATE TABLE t (x INTEGER)")?;
    let nested = memory.with(|_| memory.transaction(|| Ok(())));
    assert!(
        matches!(&nested, Err(Error::ConnectionInUse(name)) if name == "memory_nested_tx"),
        "{nested:?}"
    );
    let streamed = DB::table("t")
        .use_connection("memory_nested_tx")
        .each(|_| memory.transaction(|| Ok(true)));
    assert!(streamed.is_ok(), "no row, no call: {streamed:?}");
    memory.execute("INSERT INTO t (x) VALUES (1)", &[])?;
    let streamed = DB::table("t")
        .use_connection("memory_nested_tx")
        .each(|_| memory.transaction(|| Ok(true)));
    assert!(
        matches!(streamed, Err(Error::ConnectionInUse(_))),
        "{streamed:?}"
    );
    // On its own, and nested in itself (a savepoint), it works.
    memory.transaction(|| {
        memory.transaction(|| memory.execute("INSERT INTO t (x) VALUES (2)", &[]))
    })?;
    assert_eq!(memory.select("SELECT x FROM t", &[])?.len(), 2);
    DB::disconnect("memory_nested_tx");
    Ok(())
}

/// `max_lifetime` closes a connection in steady use too: one returned older than it is
/// closed, not kept in the pool's hot slot for the next checkout.
fn a_connection_in_steady_use_lives_no_longer_than_max_lifetime(
    name: &str,
    url: &str,
    session_id: &str,
) -> orm_core::Result<()> {
    let config = PoolConfig {
        max_lifetime: Some(Duration::from_secs(1)),
        ..PoolConfig::default()
    };
    DB::connect_with(name, url, config)?;
    let db = DB::connection(name);
    let mut sessions = std::collections::BTreeSet::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        let id: i64 = db.select(session_id, &[])?[0].get(&0usize)?;
        sessions.insert(id);
        thread::sleep(Duration::from_millis(50));
    }
    let closed = DB::pool(name)?.status().closed;
    DB::disconnect(name);
    assert!(
        sessions.len() >= 2,
        "{name}: one session for 2.5 s: {sessions:?}"
    );
    assert!(closed >= 1, "{name}: closed {closed}");
    Ok(())
}

#[test]
fn postgres_connections_in_steady_use_are_renewed_after_max_lifetime() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let url = orm_core::testing::postgres_url();
    a_connection_in_steady_use_lives_no_longer_than_max_lifetime(
        "lifetime_pg",
        &url,
        "SELECT pg_backend_pid()",
    )
}

#[test]
fn mysql_connections_in_steady_use_are_renewed_after_max_lifetime() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    let url = orm_core::testing::mysql_url();
    a_connection_in_steady_use_lives_no_longer_than_max_lifetime(
        "lifetime_my",
        &url,
        "SELECT CONNECTION_ID()",
    )
}

#[test]
fn zero_pool_durations_are_configuration_errors() {
    for config in [
        PoolConfig {
            idle_timeout: Some(Duration::ZERO),
            ..PoolConfig::default()
        },
        PoolConfig {
            max_lifetime: Some(Duration::ZERO),
            ..PoolConfig::default()
        },
        PoolConfig {
            connection_timeout: Duration::ZERO,
            ..PoolConfig::default()
        },
    ] {
        let result = DB::connect_with("zero_durations", "sqlite::memory:", config);
        assert!(matches!(result, Err(Error::Config(_))), "{result:?}");
    }
}

/// Each thread remembers its last pool lookup; reconnecting or forgetting a name must
/// still take effect at once on every thread.
#[test]
fn reconnecting_or_forgetting_a_name_takes_effect_at_once_on_every_thread() -> orm_core::Result<()>
{
    let first = tempfile::tempdir().unwrap();
    let second = tempfile::tempdir().unwrap();
    let name = "relookup_test";
    let db = DB::connection(name);
    let url_of = |dir: &tempfile::TempDir| file_url(dir, "");
    DB::connect_named(name, &url_of(&first))?;
    db.statement("CREATE TABLE which (name TEXT)")?;
    db.execute("INSERT INTO which VALUES (?)", &[&"first"])?;
    DB::connect_named(name, &url_of(&second))?;
    db.statement("CREATE TABLE which (name TEXT)")?;
    db.execute("INSERT INTO which VALUES (?)", &[&"second"])?;
    // Another thread looked the first pool up before; it must see the second now.
    let read = |db: &orm_core::ConnectionRef| -> orm_core::Result<String> {
        db.select("SELECT name FROM which", &[])?[0].get::<String, _>("name")
    };
    let other = thread::spawn(move || {
        let db = DB::connection("relookup_test");
        read(&db)
    });
    assert_eq!(other.join().unwrap()?, "second");
    assert_eq!(read(&db)?, "second");

    assert!(DB::disconnect(name));
    assert!(matches!(read(&db), Err(Error::NoConnection(n)) if n == name));
    Ok(())
}

/// The pool keeps the connection returned last aside for the next checkout; one
/// returned while another checkout waits must go to that checkout instead, or it would
/// wait for its whole timeout with a connection idle. Four threads share one
/// connection, so nearly every statement waits for the one before it.
fn a_returned_connection_goes_to_the_waiting_checkout(
    name: &str,
    url: &str,
) -> orm_core::Result<()> {
    let config = PoolConfig {
        max_size: 1,
        connection_timeout: Duration::from_secs(20),
        ..PoolConfig::default()
    };
    DB::connect_with(name, url, config)?;
    let name = name.to_owned();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let name = name.clone();
            thread::spawn(move || -> orm_core::Result<()> {
                let db = DB::connection(&name);
                for i in 0..100i64 {
                    let n: i64 = db.select("SELECT CAST(? AS INTEGER) AS n", &[&i])?[0].get("n")?;
                    assert_eq!(n, i);
                    // A checkout held for a moment, as a transaction would.
                    if i % 10 == 0 {
                        let _held = DB::pool(&name)?.get()?;
                        thread::sleep(Duration::from_millis(2));
                    }
                }
                Ok(())
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap()?;
    }
    let status = DB::pool_status(&name)?;
    assert_eq!((status.timeouts, status.in_use, status.idle), (0, 0, 1));
    assert_eq!(status.checkouts, 4 * (100 + 10));
    DB::disconnect(&name);
    Ok(())
}

#[test]
fn sqlite_a_returned_connection_goes_to_the_waiting_checkout() -> orm_core::Result<()> {
    let dir = tempfile::tempdir().unwrap();
    a_returned_connection_goes_to_the_waiting_checkout("handoff_sqlite", &file_url(&dir, ""))
}

#[test]
fn postgres_a_returned_connection_goes_to_the_waiting_checkout() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let url = orm_core::testing::postgres_url();
    a_returned_connection_goes_to_the_waiting_checkout("handoff_postgres", &url)
}

#[test]
fn mysql_a_returned_connection_goes_to_the_waiting_checkout() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    let url = orm_core::testing::mysql_url();
    a_returned_connection_goes_to_the_waiting_checkout("handoff_mysql", &url)
}

#[test]
fn a_postgres_connection_refused_says_why() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    // The driver says "db error" for whatever the server refused: the server's reason is
    // in the message, so a missing database reads differently from a wrong password.
    let url = orm_core::testing::postgres_url();
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    let refused = Connection::open(&format!("{base}/orm_no_such_database_xyz"));
    match refused {
        Err(Error::Connection { message, .. }) => {
            assert!(message.contains("does not exist"), "{message}");
        }
        other => panic!("expected a connection error, got {other:?}"),
    }
    Ok(())
}

#[test]
fn postgres_types_without_a_rust_value_take_text_and_read_as_text() -> orm_core::Result<()> {
    // INET, CIDR, MACADDR, INTERVAL, a native enum: text bound in PostgreSQL's text
    // format, which the server parses as a literal; the network types read back as text.
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    DB::unprepared(
        "CREATE TYPE mood AS ENUM ('ok', 'great');
         CREATE TABLE hosts (id SERIAL PRIMARY KEY, ip INET, net CIDR, mac MACADDR,
            uptime INTERVAL, mood mood, up BOOLEAN)",
    )?;
    DB::insert(
        "INSERT INTO hosts (ip, net, mac, uptime, mood, up) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            &"192.168.0.1",
            &"10.0.0.0/8",
            &"08:00:2b:01:02:03",
            &"1 day 02:00:00",
            &"great",
            &"true",
        ],
    )?;
    orm_core::Query::<orm_core::Record>::new("hosts").insert(orm_core::row! {
        "ip" => "2001:db8::1", "net" => "2001:db8::/32", "mac" => "08-00-2b-01-02-04",
        "uptime" => "90 minutes", "mood" => "ok", "up" => "false",
    })?;
    let rows = DB::select("SELECT ip, net, mac, mood, up FROM hosts ORDER BY id", &[])?;
    let text = |i: usize, c: &str| rows[i].get::<String, _>(c);
    assert_eq!(text(0, "ip")?, "192.168.0.1");
    assert_eq!(text(0, "net")?, "10.0.0.0/8");
    assert_eq!(text(0, "mac")?, "08:00:2b:01:02:03");
    assert_eq!(text(0, "mood")?, "great");
    assert!(rows[0].get::<bool, _>("up")?);
    assert_eq!(text(1, "ip")?, "2001:db8::1");
    assert_eq!(text(1, "net")?, "2001:db8::/32");
    assert_eq!(text(1, "mac")?, "08:00:2b:01:02:04");
    let hours: f64 = DB::select(
        "SELECT EXTRACT(EPOCH FROM uptime) / 3600 AS h FROM hosts ORDER BY id",
        &[],
    )?[0]
        .get("h")?;
    assert_eq!(hours, 26.0);
    // Found by their text, compared as the type (not as text).
    let found = DB::select(
        "SELECT id FROM hosts WHERE ip = ? AND net >> ?",
        &[&"192.168.0.1", &"10.1.2.3"],
    )?;
    assert_eq!(found.len(), 1);
    // Text the type cannot parse is the server's error, typed, nothing written.
    let bad = DB::insert("INSERT INTO hosts (ip) VALUES (?)", &[&"not an address"]);
    assert!(
        matches!(bad, Err(orm_core::Error::Database { .. })),
        "{bad:?}"
    );
    assert_eq!(DB::table("hosts").count()?, 2);
    Ok(())
}

#[test]
fn postgres_interval_reads_as_the_servers_own_text() -> orm_core::Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    DB::unprepared("CREATE TABLE spans (id SERIAL PRIMARY KEY, span INTERVAL)")?;
    let spans = [
        "0",
        "1 day 02:00:00",
        "90 minutes",
        "30 hours",
        "1 year 2 mons 3 days 04:05:06.5",
        "-1 day +02:00:00",
        "1 day -02:00:00",
        "-1 year -2 mons",
        "1 mon -3 days",
        "-00:00:00.000001",
        "00:00:01.25",
        "14 mons",
        "-14 mons 3 days -01:00:00",
    ];
    for span in spans {
        DB::insert("INSERT INTO spans (span) VALUES (?)", &[&span])?;
    }
    DB::insert("INSERT INTO spans (span) VALUES (NULL)", &[])?;
    let rows = DB::select(
        "SELECT span, span::text AS server FROM spans ORDER BY id",
        &[],
    )?;
    assert_eq!(rows.len(), spans.len() + 1);
    for row in &rows[..spans.len()] {
        let server: String = row.get("server")?;
        assert_eq!(row.get::<String, _>("span")?, server);
    }
    assert_eq!(rows[spans.len()].get::<Option<String>, _>("span")?, None);
    // The catalogs' one-byte `"char"` reads as its character.
    DB::unprepared("CREATE TABLE flags (id SERIAL PRIMARY KEY, kind \"char\" NOT NULL)")?;
    DB::insert("INSERT INTO flags (kind) VALUES ('r'), ('v')", &[])?;
    let kinds: Vec<String> = DB::table("flags").order_by("id").pluck("kind")?;
    assert_eq!(kinds, ["r", "v"]);
    Ok(())
}

#[test]
fn mysql_year_reads_as_an_integer() -> orm_core::Result<()> {
    // `craft model --from-table` writes an `i64` field for a YEAR column.
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    DB::statement("CREATE TABLE births (id INTEGER PRIMARY KEY, born YEAR)")?;
    DB::insert(
        "INSERT INTO births (id, born) VALUES (1, 1999), (2, NULL)",
        &[],
    )?;
    let years: Vec<Option<i64>> = DB::table("births").order_by("id").pluck("born")?;
    assert_eq!(years, [Some(1999), None]);
    Ok(())
}

#[test]
fn mysql_named_parameters_are_a_bind_error_not_a_lost_connection() -> orm_core::Result<()> {
    // `:id` is not a placeholder here (`?` is): the driver refuses the parameters. That
    // is the statement's fault, and the connection goes on.
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    DB::statement("CREATE TABLE named (id INTEGER PRIMARY KEY)")?;
    DB::insert("INSERT INTO named (id) VALUES (1)", &[])?;
    let named = DB::select("SELECT id FROM named WHERE id = :id", &[&1]);
    assert!(
        matches!(named, Err(orm_core::Error::Bind { .. })),
        "{named:?}"
    );
    assert_eq!(DB::table("named").count()?, 1);
    Ok(())
}

/// The URL options that bound a server which stops answering reach the drivers (docs/02
/// "A server that stops answering"): `DB::connect` accepts them and the connection works.
#[test]
fn network_timeout_options_in_the_url_are_accepted() -> orm_core::Result<()> {
    let with = |url: String, options: &str| {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}{options}")
    };
    if orm_core::testing::postgres().is_some() {
        let url = with(
            orm_core::testing::postgres_url(),
            "tcp_user_timeout=30&keepalives=1&keepalives_idle=60",
        );
        let mut conn = orm_core::Connection::open(&url)?;
        assert_eq!(
            conn.query_map("SELECT 1 AS one", &[], |r| r.get::<i64, _>(&0))?,
            [1]
        );
    }
    if orm_core::testing::mysql().is_some() {
        let url = with(
            orm_core::testing::mysql_url(),
            "tcp_user_timeout_ms=30000&tcp_keepalive_time_ms=60000",
        );
        let mut conn = orm_core::Connection::open(&url)?;
        assert_eq!(
            conn.query_map("SELECT 1 AS one", &[], |r| r.get::<i64, _>(&0))?,
            [1]
        );
    }
    Ok(())
}
