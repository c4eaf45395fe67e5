//! Read replicas against a real PostgreSQL streaming standby (`scripts/pg-standby.sh`,
//! started by `.ci/run`): where each statement ran is proved with
//! `pg_is_in_recovery()` (true only on the standby) and the query log's role; sticky
//! reads, transactions, locks and migrations; a replica that is down (a closed port, and
//! the standby stopped mid-run); and `transaction_with_retry` on conflicting
//! SERIALIZABLE transactions (PostgreSQL) and a deadlock (MariaDB).
//!
//! Outside CI a test skips (saying so) when a server it needs does not answer; in CI it
//! fails.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier, RwLock, RwLockReadGuard};
use std::time::Duration;

use orm_core::prelude::*;
use orm_core::testing::{self, ReplicatedDatabase};
use orm_core::{ReplicaConfig, Role};

/// The standby-stopping test takes this for writing; the others share it, so none of
/// them sees the standby disappear.
static STANDBY: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    STANDBY.read().unwrap_or_else(|e| e.into_inner())
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

fn replicated(sticky: bool) -> Option<ReplicatedDatabase> {
    testing::postgres_replicated(ReplicaConfig {
        sticky,
        ..ReplicaConfig::default()
    })
}

/// Whether the read path of connection `name` answered from the standby.
fn read_in_recovery(name: &str) -> Result<bool> {
    DB::connection(name)
        .select("SELECT pg_is_in_recovery() AS r", &[])?
        .remove(0)
        .get("r")
}

fn query_in_recovery(name: &str) -> Result<bool> {
    probe_in_recovery(Query::<Record>::new("probe").use_connection(name.to_owned()))
}

/// Runs `pg_is_in_recovery()` through the query builder's read path.
fn probe_in_recovery(query: Query<Record>) -> Result<bool> {
    query
        .select_raw("pg_is_in_recovery() AS r", &[])
        .first()?
        .expect("the probe table has a row")
        .get("r")
}

/// The probe table, with one row, replayed on the standby.
fn probe(db: &ReplicatedDatabase) -> Result<()> {
    let conn = DB::connection(db.name());
    conn.statement("CREATE TABLE probe (id SERIAL PRIMARY KEY, note TEXT NOT NULL)")?;
    conn.execute("INSERT INTO probe (note) VALUES (?)", &[&"first"])?;
    assert!(db.wait_for_replay(Duration::from_secs(10))?, "replay");
    DB::forget_sticky();
    Ok(())
}

fn roles() -> Vec<Role> {
    DB::query_log().into_iter().map(|q| q.role).collect()
}

#[test]
fn reads_go_to_the_replica_and_writes_to_the_primary() -> Result<()> {
    let _shared = shared();
    let Some(db) = replicated(false) else {
        return Ok(());
    };
    probe(&db)?;
    let name = db.name();
    DB::enable_query_log();
    assert!(read_in_recovery(name)?, "DB::select runs on the standby");
    assert!(
        query_in_recovery(name)?,
        "a query's read runs on the standby"
    );
    let logged = DB::query_log();
    assert_eq!(roles(), vec![Role::Replica, Role::Replica]);
    assert!(logged.iter().all(|q| q.connection == name), "{logged:?}");

    // A write goes to the primary: the standby would refuse it (read-only).
    DB::flush_query_log();
    DB::connection(name).execute(
        "INSERT INTO probe (note) SELECT CASE WHEN pg_is_in_recovery() THEN 'standby' ELSE 'primary' END",
        &[],
    )?;
    Query::<Record>::new("probe")
        .use_connection(name.to_owned())
        .insert([("note", Value::from("builder"))])?;
    assert_eq!(roles(), vec![Role::Primary, Role::Primary]);
    assert!(db.wait_for_replay(Duration::from_secs(10))?);
    let notes: Vec<String> = Query::<Record>::new("probe")
        .use_connection(name.to_owned())
        .order_by("id")
        .pluck("note")?;
    assert_eq!(notes, ["first", "primary", "builder"]);

    // Every read terminal rotates onto the replica (one replica: always it).
    DB::flush_query_log();
    let q = || Query::<Record>::new("probe").use_connection(name.to_owned());
    assert_eq!(q().count()?, 3);
    assert!(q().exists()?);
    assert_eq!(q().get()?.len(), 3);
    assert!(q().first()?.is_some());
    assert!(q().find(1)?.is_some());
    assert_eq!(q().paginate(2, 1)?.total, 3);
    let mut streamed = 0;
    q().each(|_| {
        streamed += 1;
        Ok(true)
    })?;
    assert_eq!(streamed, 3);
    assert_eq!(q().cursor().count(), 3);
    assert!(
        roles().iter().all(|r| *r == Role::Replica),
        "{:?}",
        DB::query_log()
    );
    DB::disable_query_log();
    Ok(())
}

#[test]
fn sticky_reads_see_their_own_write_until_forgotten() -> Result<()> {
    let _shared = shared();
    let Some(db) = replicated(true) else {
        return Ok(());
    };
    probe(&db)?;
    let name = db.name();
    assert!(!DB::is_sticky(name));
    assert!(read_in_recovery(name)?);
    // Many writes and reads in a row: each read sees the write before it, whatever the
    // standby's replay lag, because the thread reads the primary after its write.
    for i in 0..20_i64 {
        DB::connection(name).execute("INSERT INTO probe (note) VALUES (?)", &[&"own"])?;
        assert!(DB::is_sticky(name));
        let seen = Query::<Record>::new("probe")
            .use_connection(name.to_owned())
            .where_eq("note", "own")
            .count()?;
        assert_eq!(seen, i as u64 + 1);
    }
    assert!(!read_in_recovery(name)?, "sticky: reads on the primary");
    assert!(!query_in_recovery(name)?);

    // Another thread did not write: it reads the replica.
    let other = db.name().to_owned();
    let elsewhere = std::thread::spawn(move || read_in_recovery(&other))
        .join()
        .unwrap()?;
    assert!(elsewhere, "stickiness is per thread");

    DB::forget_sticky();
    assert!(!DB::is_sticky(name));
    assert!(
        read_in_recovery(name)?,
        "after forget_sticky reads go to the replica"
    );
    Ok(())
}

#[test]
fn without_sticky_reads_come_from_the_replica_once_replayed() -> Result<()> {
    let _shared = shared();
    let Some(db) = replicated(false) else {
        return Ok(());
    };
    probe(&db)?;
    let name = db.name();
    DB::connection(name).execute("INSERT INTO probe (note) VALUES (?)", &[&"later"])?;
    assert!(!DB::is_sticky(name));
    assert!(db.wait_for_replay(Duration::from_secs(10))?);
    DB::enable_query_log();
    let seen = Query::<Record>::new("probe")
        .use_connection(name.to_owned())
        .where_eq("note", "later")
        .count()?;
    assert_eq!(seen, 1);
    assert_eq!(roles(), vec![Role::Replica]);
    DB::disable_query_log();
    assert!(read_in_recovery(name)?);
    Ok(())
}

#[test]
fn transactions_locks_and_on_primary_use_the_primary() -> Result<()> {
    let _shared = shared();
    let Some(db) = replicated(false) else {
        return Ok(());
    };
    probe(&db)?;
    let name = db.name();
    let conn = DB::connection(name);
    let in_transaction = conn.transaction(|| read_in_recovery(name))?;
    assert!(!in_transaction, "a transaction's reads run on the primary");
    let in_scope = conn.scope(|| query_in_recovery(name))?;
    assert!(!in_scope, "an executor scope's reads run on the primary");

    DB::enable_query_log();
    // The standby refuses FOR UPDATE / FOR SHARE: these succeed only on the primary.
    let q = || Query::<Record>::new("probe").use_connection(name.to_owned());
    assert_eq!(q().lock_for_update().get()?.len(), 1);
    assert_eq!(q().shared_lock().count()?, 1);
    assert!(!probe_in_recovery(q().on_primary())?);
    assert!(!DB::on_primary(|| read_in_recovery(name))?);
    assert!(
        roles().iter().all(|r| *r == Role::Primary),
        "{:?}",
        DB::query_log()
    );
    DB::disable_query_log();
    // None of them made the thread sticky.
    assert!(!DB::is_sticky(name));
    assert!(read_in_recovery(name)?);
    // A `select` of SQL that writes (`INSERT .. RETURNING`) goes to the primary (the
    // standby refuses it as read-only).
    DB::enable_query_log();
    let rows = conn.select(
        "INSERT INTO probe (note) VALUES (?) RETURNING id",
        &[&"returned"],
    )?;
    assert_eq!((rows.len(), roles()), (1, vec![Role::Primary]));
    DB::disable_query_log();
    let stored =
        DB::on_primary(|| conn.select("SELECT note FROM probe WHERE note = ?", &[&"returned"]))?;
    assert_eq!(stored.len(), 1);
    DB::forget_sticky();
    Ok(())
}

mod models {
    use super::*;

    #[derive(Debug, Clone, Default, Model)]
    #[model(table = "probe", connection = "replica_models")]
    pub struct Probe {
        pub id: Option<i64>,
        pub note: String,
    }

    #[test]
    fn models_read_from_the_replica_and_save_on_the_primary() -> Result<()> {
        let _shared = shared();
        let Some(mut db) = replicated(true) else {
            return Ok(());
        };
        probe(&db)?;
        db.also_as("replica_models")?;
        DB::enable_query_log();
        assert_eq!(Probe::find(1)?.map(|p| p.note).as_deref(), Some("first"));
        assert_eq!(Probe::query().get()?.len(), 1);
        assert_eq!(roles(), vec![Role::Replica, Role::Replica]);

        DB::flush_query_log();
        let mut p = Probe {
            note: "saved".into(),
            ..Probe::default()
        };
        p.save()?;
        // Sticky: the saved row reads back at once, from the primary.
        let back = Probe::find(p.id.unwrap())?.expect("read back");
        assert_eq!(back.note, "saved");
        assert!(
            roles().iter().all(|r| *r == Role::Primary),
            "{:?}",
            DB::query_log()
        );
        DB::disable_query_log();
        DB::forget_sticky();
        Ok(())
    }
}

mod migrations {
    use super::*;
    use orm_migrate::{Migration, Migrator, Schema};
    use std::sync::Mutex;

    static SEEN_IN_RECOVERY: Mutex<Option<bool>> = Mutex::new(None);

    struct CreateNotes;

    impl Migration for CreateNotes {
        fn name(&self) -> &str {
            "2026_01_01_000000_create_notes"
        }
        fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
            let r: bool = schema
                .connection()
                .select("SELECT pg_is_in_recovery() AS r", &[])?
                .remove(0)
                .get("r")?;
            *SEEN_IN_RECOVERY.lock().unwrap() = Some(r);
            schema.create("notes", |t| {
                t.increments("id");
                t.string("body", 100);
            })
        }
        fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
            schema.drop_if_exists("notes")
        }
    }

    #[test]
    fn migrations_run_on_the_primary() -> orm_migrate::Result<()> {
        let _shared = shared();
        let Some(db) = replicated(false) else {
            return Ok(());
        };
        let migrator = Migrator::new(vec![Box::new(CreateNotes)]);
        let report = DB::connection(db.name()).scope(|| {
            migrator
                .run()
                .map_err(|e| orm_core::Error::other(e.to_string()))
        })?;
        assert_eq!(report.applied.len(), 1);
        assert_eq!(*SEEN_IN_RECOVERY.lock().unwrap(), Some(false));
        // The table and the ledger reach the standby by replay.
        assert!(db.wait_for_replay(Duration::from_secs(10))?);
        let n = Query::<Record>::new("notes")
            .use_connection(db.name().to_owned())
            .count()?;
        assert_eq!(n, 0);
        assert!(read_in_recovery(db.name())?);
        Ok(())
    }
}

/// A replica on a closed port: every read still succeeds, on the live replica or the
/// primary, and the dead one is skipped afterwards (no connect attempt per read).
#[test]
fn a_replica_that_is_down_is_skipped_and_reads_fall_back() -> Result<()> {
    let _shared = shared();
    let primary = testing::postgres_url();
    if let Err(e) = Connection::open(&primary) {
        assert!(!in_ci(), "PostgreSQL must be reachable in CI: {e}");
        eprintln!("skipped: no PostgreSQL ({e})");
        return Ok(());
    }
    let dead = "postgres://postgres@127.0.0.1:9/test?connect_timeout=1";
    let config = ReplicaConfig {
        retry_after: Duration::from_secs(3600),
        replica_timeout: Duration::from_millis(500),
        ..ReplicaConfig::default()
    };
    // Only a dead replica: the primary serves every read.
    DB::connect_replicated("replicas_dead_only", &primary, &[dead], config.clone())?;
    let started = std::time::Instant::now();
    for _ in 0..20 {
        assert!(!read_in_recovery("replicas_dead_only")?);
    }
    // One failed attempt, then skipped: twenty reads do not pay twenty timeouts.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    DB::disconnect("replicas_dead_only");

    // A dead replica and the live standby: reads alternate between them, the dead one
    // is left out, and every read succeeds on the standby.
    let replica = testing::replica_url();
    match Connection::open(&replica) {
        Ok(_) => {
            DB::connect_replicated("replicas_one_dead", &primary, &[dead, &replica], config)?;
            for _ in 0..20 {
                assert!(read_in_recovery("replicas_one_dead")?);
            }
            // The fleet as the API reports it: the dead replica skipped and never opened,
            // the standby open and serving every read.
            let status = DB::replica_status("replicas_one_dead");
            assert_eq!(status.len(), 2, "{status:?}");
            assert!(status[0].url.contains(":9/"), "{status:?}");
            assert!(status[0].skipped && status[0].pool.is_none(), "{status:?}");
            assert!(!status[1].skipped, "{status:?}");
            let standby = status[1].pool.as_ref().expect("the standby's pool");
            assert_eq!((standby.checkouts, standby.in_use), (20, 0), "{status:?}");
            DB::disconnect("replicas_one_dead");
            assert!(DB::replica_status("replicas_one_dead").is_empty());
        }
        Err(e) => {
            assert!(!in_ci(), "the standby must be running in CI: {e}");
            eprintln!("skipped the live-replica half: no standby ({e})");
        }
    }
    Ok(())
}

fn standby_script(action: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/pg-standby.sh");
    std::process::Command::new(script)
        .arg(action)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// The standby is stopped while a thread reads in a loop: no read fails (the lost
/// replica is skipped, the reads move to the primary), and the standby is started again.
#[test]
fn stopping_the_standby_mid_run_loses_no_read() -> Result<()> {
    let _exclusive = STANDBY.write().unwrap_or_else(|e| e.into_inner());
    let Some(db) = replicated(false) else {
        return Ok(());
    };
    probe(&db)?;
    let name = db.name().to_owned();
    let mut on_standby = 0;
    let mut on_primary = 0;
    let mut stopped = false;
    for i in 0..60 {
        if i == 20 {
            stopped = standby_script("stop");
            if !stopped {
                assert!(!in_ci(), "scripts/pg-standby.sh stop failed");
                eprintln!("skipped the stop: scripts/pg-standby.sh stop failed");
                break;
            }
        }
        let n = Query::<Record>::new("probe")
            .use_connection(name.clone())
            .count()
            .unwrap_or_else(|e| panic!("read {i} failed: {e}"));
        assert_eq!(n, 1);
        if read_in_recovery(&name).unwrap_or_else(|e| panic!("read {i} failed: {e}")) {
            on_standby += 1;
        } else {
            on_primary += 1;
        }
    }
    if stopped {
        assert!(
            standby_script("start"),
            "scripts/pg-standby.sh start failed"
        );
        assert_eq!((on_standby, on_primary), (20, 40));
    }
    Ok(())
}

/// A private schema on the PostgreSQL test server as connection `name`, shared by every
/// thread (unlike `testing::postgres()`, which is per thread).
struct SharedSchema {
    name: String,
    schema: String,
}

impl SharedSchema {
    fn postgres(name: &str) -> Option<SharedSchema> {
        let url = testing::postgres_url();
        let mut conn = match Connection::open(&url) {
            Ok(conn) => conn,
            Err(e) => {
                assert!(!in_ci(), "PostgreSQL must be reachable in CI: {e}");
                eprintln!("skipped: no PostgreSQL ({e})");
                return None;
            }
        };
        let schema = format!("orm_retry_{}_{name}", std::process::id());
        conn.execute_batch(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap();
        DB::connect_named(name, &format!("{url}?options=-csearch_path%3D{schema}")).unwrap();
        Some(SharedSchema {
            name: name.to_owned(),
            schema,
        })
    }
}

impl Drop for SharedSchema {
    fn drop(&mut self) {
        DB::disconnect(&self.name);
        if let Ok(mut conn) = Connection::open(&testing::postgres_url()) {
            let _ = conn.execute_batch(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema));
        }
    }
}

/// Two SERIALIZABLE transactions that each read what the other writes (write skew): the
/// server fails one with 40001, and `transaction_with_retry` runs it again, so both
/// commit.
#[test]
fn transaction_with_retry_reruns_a_serialization_failure() -> Result<()> {
    let _shared = shared();
    let Some(db) = SharedSchema::postgres("retry_serializable") else {
        return Ok(());
    };
    let conn = DB::connection(&db.name);
    conn.statement("CREATE TABLE doctors (id SERIAL PRIMARY KEY, on_call BOOLEAN NOT NULL)")?;
    conn.execute("INSERT INTO doctors (on_call) VALUES (true), (true)", &[])?;

    let barrier = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = [1_i64, 2]
        .into_iter()
        .map(|id| {
            let (name, barrier, attempts) = (db.name.clone(), barrier.clone(), attempts.clone());
            std::thread::spawn(move || {
                let conn = DB::connection(&name);
                let mut first = true;
                conn.transaction_with_retry(5, || {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    conn.statement("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")?;
                    let on_call: i64 = conn
                        .select("SELECT COUNT(*) AS n FROM doctors WHERE on_call", &[])?
                        .remove(0)
                        .get("n")?;
                    if first {
                        // Both have read before either writes.
                        first = false;
                        barrier.wait();
                    }
                    if on_call >= 2 {
                        conn.execute("UPDATE doctors SET on_call = false WHERE id = ?", &[&id])?;
                    }
                    Ok(on_call)
                })
            })
        })
        .collect();
    for t in threads {
        if let Err(e) = t.join().unwrap() {
            panic!("a retried transaction failed: {e}");
        }
    }
    // One ran again (three attempts in all, or more when its retry overlapped the other
    // transaction before that one committed), and the invariant held: one still on call.
    assert!(attempts.load(Ordering::SeqCst) >= 3);
    let on_call: i64 = conn
        .select("SELECT COUNT(*) AS n FROM doctors WHERE on_call", &[])?
        .remove(0)
        .get("n")?;
    assert_eq!(on_call, 1);
    Ok(())
}

/// With one attempt the serialization failure comes back (retryable); an error that is
/// not retryable returns at once.
#[test]
fn transaction_with_retry_gives_up_and_passes_other_errors_through() -> Result<()> {
    let _shared = shared();
    let Some(db) = SharedSchema::postgres("retry_limits") else {
        return Ok(());
    };
    let conn = DB::connection(&db.name);
    conn.statement("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)")?;
    conn.execute("INSERT INTO t VALUES (1, 0)", &[])?;

    let mut calls = 0;
    let err = conn
        .transaction_with_retry(4, || {
            calls += 1;
            conn.execute("INSERT INTO t VALUES (1, 1)", &[])
        })
        .unwrap_err();
    assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(calls, 1, "not retried");

    // A serialization failure on every attempt: `attempts` runs, then the error.
    let barrier = Arc::new(Barrier::new(2));
    let name = db.name.clone();
    let b = barrier.clone();
    let other = std::thread::spawn(move || {
        let conn = DB::connection(&name);
        // Holds a snapshot-conflicting update until the main thread has read.
        conn.transaction(|| {
            conn.statement("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")?;
            conn.select("SELECT v FROM t WHERE id = 1", &[])?;
            b.wait();
            b.wait();
            conn.execute("UPDATE t SET v = v + 1 WHERE id = 1", &[])?;
            Ok(())
        })
    });
    let mut calls = 0;
    let err = conn
        .transaction_with_retry(1, || {
            calls += 1;
            conn.statement("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")?;
            conn.select("SELECT v FROM t WHERE id = 1", &[])?;
            barrier.wait();
            // The other transaction updates and commits first...
            barrier.wait();
            std::thread::sleep(Duration::from_millis(200));
            // ...so this update conflicts with it.
            conn.execute("UPDATE t SET v = v + 10 WHERE id = 1", &[])?;
            Ok(())
        })
        .unwrap_err();
    other.join().unwrap()?;
    assert!(err.is_retryable(), "{err:?}");
    assert!(
        matches!(err, Error::Busy { ref code, .. } if code.as_deref() == Some("40001")),
        "{err:?}"
    );
    assert_eq!(calls, 1);
    Ok(())
}

/// MariaDB picks a deadlock victim (1213); `transaction_with_retry` runs it again.
#[test]
fn transaction_with_retry_reruns_a_mariadb_deadlock() -> Result<()> {
    let _shared = shared();
    let url = testing::mysql_url();
    let mut admin = match Connection::open(&url) {
        Ok(conn) => conn,
        Err(e) => {
            assert!(!in_ci(), "MariaDB must be reachable in CI: {e}");
            eprintln!("skipped: no MariaDB ({e})");
            return Ok(());
        }
    };
    let database = format!("orm_deadlock_{}", std::process::id());
    admin.execute_batch(&format!(
        "DROP DATABASE IF EXISTS {database}; CREATE DATABASE {database}"
    ))?;
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    DB::connect_named("retry_deadlock", &format!("{base}/{database}"))?;
    let conn = DB::connection("retry_deadlock");
    conn.statement("CREATE TABLE t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB")?;
    conn.execute("INSERT INTO t VALUES (1, 0), (2, 0)", &[])?;

    let barrier = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = [(1_i64, 2_i64), (2, 1)]
        .into_iter()
        .map(|(first_row, second_row)| {
            let (barrier, attempts) = (barrier.clone(), attempts.clone());
            std::thread::spawn(move || {
                let conn = DB::connection("retry_deadlock");
                let mut first = true;
                conn.transaction_with_retry(5, || {
                    attempts.fetch_add(1, Ordering::SeqCst);
                    conn.execute("UPDATE t SET v = v + 1 WHERE id = ?", &[&first_row])?;
                    if first {
                        first = false;
                        // Each holds one row and now asks for the other's.
                        barrier.wait();
                    }
                    conn.execute("UPDATE t SET v = v + 1 WHERE id = ?", &[&second_row])?;
                    Ok(())
                })
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap()?;
    }
    assert_eq!(attempts.load(Ordering::SeqCst), 3, "the victim ran twice");
    let total: i64 = conn
        .select("SELECT CAST(SUM(v) AS SIGNED) AS s FROM t", &[])?
        .remove(0)
        .get("s")?;
    assert_eq!(total, 4, "both transactions committed once");
    DB::disconnect("retry_deadlock");
    admin.execute_batch(&format!("DROP DATABASE IF EXISTS {database}"))?;
    Ok(())
}

/// Statements are reported with the connection name and role; pool metrics count
/// checkouts, and a checkout that cannot get a connection counts as a timeout.
#[test]
fn pool_status_counts_checkouts_waits_and_timeouts() -> Result<()> {
    let _shared = shared();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("pool.sqlite3").display());
    DB::connect_with(
        "pool_metrics",
        &url,
        orm_core::PoolConfig {
            max_size: 1,
            connection_timeout: Duration::from_millis(50),
            ..Default::default()
        },
    )?;
    let conn = DB::connection("pool_metrics");
    conn.select("SELECT 1", &[])?;
    let before = DB::pool_status("pool_metrics")?;
    assert!(before.checkouts >= 1);
    // Every statement is one checkout, whether it found an idle connection at once
    // (no r2d2 event) or had to wait for one.
    conn.select("SELECT 1", &[])?;
    assert_eq!(
        DB::pool_status("pool_metrics")?.checkouts,
        before.checkouts + 1
    );
    assert_eq!((before.in_use, before.max_size, before.timeouts), (0, 1, 0));

    let pool = DB::pool("pool_metrics")?;
    let held = pool.get()?;
    assert_eq!(DB::pool_status("pool_metrics")?.in_use, 1);
    // The only connection is out: the next checkout waits 50 ms and gives up.
    let waiting = std::thread::spawn(|| DB::connection("pool_metrics").select("SELECT 1", &[]));
    assert!(matches!(
        waiting.join().unwrap(),
        Err(Error::Connection { .. })
    ));
    drop(held);
    let after = DB::pool_status("pool_metrics")?;
    assert_eq!(after.timeouts, 1);
    assert_eq!(after.in_use, 0);
    DB::disconnect("pool_metrics");
    Ok(())
}

/// An engine without `pg_advisory_lock` (CockroachDB answers "unknown function",
/// SQLSTATE 42883): the migrator runs without its lock instead of failing. Simulated on
/// PostgreSQL by a function of that name in the test schema, searched before
/// `pg_catalog`, that raises 42883.
#[test]
fn migrations_run_without_the_advisory_lock_where_the_engine_lacks_it() -> orm_migrate::Result<()> {
    use orm_migrate::{Migration, Migrator, Schema};

    struct CreateThings;
    impl Migration for CreateThings {
        fn name(&self) -> &str {
            "2026_01_01_000000_create_things"
        }
        fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
            schema.create("things", |t| {
                t.increments("id");
            })
        }
        fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
            schema.drop_if_exists("things")
        }
    }

    let _shared = shared();
    let Some(db) = testing::postgres() else {
        return Ok(());
    };
    let schema = db.schema().expect("a private schema").to_owned();
    DB::unprepared(&format!(
        "SET search_path TO \"{schema}\", pg_catalog;
         CREATE FUNCTION \"{schema}\".pg_advisory_lock(integer, integer) RETURNS void
         LANGUAGE plpgsql AS $$ BEGIN
           RAISE EXCEPTION 'unknown function: pg_advisory_lock()' USING ERRCODE = '42883';
         END $$"
    ))?;
    // The stand-in answers as CockroachDB does.
    let err = DB::select("SELECT pg_advisory_lock(1, 2)", &[]).unwrap_err();
    assert!(
        matches!(err, Error::Database { code: Some(ref c), .. } if c == "42883"),
        "{err:?}"
    );
    let report = Migrator::new(vec![Box::new(CreateThings)]).run()?;
    assert_eq!(report.applied.len(), 1);
    assert_eq!(Query::<Record>::new("things").count()?, 0);
    Ok(())
}

mod logging {
    use super::*;
    use std::sync::Mutex;

    /// Records what the `orm::sql` target logs, for the test below.
    struct Capture;

    static RECORDS: Mutex<Vec<(log::Level, String)>> = Mutex::new(Vec::new());

    impl log::Log for Capture {
        fn enabled(&self, metadata: &log::Metadata) -> bool {
            metadata.target() == orm_core::SQL_TARGET
        }
        fn log(&self, record: &log::Record) {
            if self.enabled(record.metadata()) {
                RECORDS
                    .lock()
                    .unwrap()
                    .push((record.level(), record.args().to_string()));
            }
        }
        fn flush(&self) {}
    }

    fn logged(name: &str) -> Vec<(log::Level, String)> {
        RECORDS
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, m)| m.contains(&format!("connection={name} ")))
            .cloned()
            .collect()
    }

    /// Every statement reaches the `log` facade with its duration, connection and role;
    /// with a slow-statement threshold it comes at warn level.
    #[test]
    fn statements_are_logged_with_connection_role_and_slow_warnings() -> Result<()> {
        let _shared = shared();
        static LOGGER: Capture = Capture;
        let _ = log::set_logger(&LOGGER);
        log::set_max_level(log::LevelFilter::Debug);
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("logged.sqlite3").display());
        DB::connect_replicated("logged_db", &url, &[&url], ReplicaConfig::default())?;
        let conn = DB::connection("logged_db");
        conn.statement("CREATE TABLE t (x INTEGER)")?;
        DB::forget_sticky();
        conn.select("SELECT x FROM t WHERE x = ?", &[&1])?;
        let records = logged("logged_db");
        assert_eq!(records.len(), 2, "{records:?}");
        assert_eq!(records[0].0, log::Level::Debug);
        assert!(records[0].1.starts_with("CREATE TABLE t"), "{records:?}");
        assert!(
            records[0].1.ends_with("connection=logged_db role=primary"),
            "{records:?}"
        );
        assert!(records[1].1.contains("[1 bindings]"), "{records:?}");
        assert!(
            records[1].1.ends_with("connection=logged_db role=replica"),
            "{records:?}"
        );

        // Every statement takes at least a nanosecond: all are slow now.
        DB::set_slow_query_threshold(Some(Duration::from_nanos(1)));
        conn.select("SELECT x FROM t", &[])?;
        DB::set_slow_query_threshold(None);
        let records = logged("logged_db");
        let last = records.last().unwrap();
        assert_eq!(last.0, log::Level::Warn);
        assert!(
            last.1.starts_with("slow statement: SELECT x FROM t"),
            "{last:?}"
        );
        DB::disconnect("logged_db");
        DB::forget_sticky();
        Ok(())
    }
}
