//! A lost PostgreSQL or MySQL connection (its server process or thread terminated, as
//! in a server restart) is `Error::Connection`, and a pool does not hand out a
//! connection known to be dead.

use std::time::{Duration, Instant};

use orm_core::{Connection, Error, PoolConfig, DB};

fn postgres_url() -> Option<String> {
    // Skips without a server, fails in CI (as every PostgreSQL test does).
    orm_core::testing::postgres().map(|_guard| orm_core::testing::postgres_url())
}

fn mysql_url() -> Option<String> {
    orm_core::testing::mysql().map(|_guard| orm_core::testing::mysql_url())
}

fn is_mysql(url: &str) -> bool {
    url.starts_with("mysql")
}

/// The server's id of the session (PostgreSQL: its process; MySQL: its thread).
fn backend_pid(conn: &mut Connection) -> orm_core::Result<i64> {
    let sql = match conn.backend() {
        orm_core::Backend::Mysql => "SELECT CONNECTION_ID() AS pid",
        _ => "SELECT pg_backend_pid() AS pid",
    };
    conn.select(sql, &[])?[0].get("pid")
}

/// Terminates the server session `pid` from another connection, as a server restart
/// would, and waits until it is gone.
fn terminate(url: &str, pid: i64) -> orm_core::Result<()> {
    let mut admin = Connection::open(url)?;
    let mysql = is_mysql(url);
    if mysql {
        admin.execute_batch(&format!("KILL {pid}"))?;
    } else {
        let done: bool =
            admin.select("SELECT pg_terminate_backend(?) AS done", &[&pid])?[0].get("done")?;
        assert!(done, "backend {pid} was not terminated");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let left_sql = match mysql {
        true => "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE id = ?",
        false => "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE pid = ?",
    };
    loop {
        let left: i64 = admin.select(left_sql, &[&pid])?[0].get("n")?;
        if left == 0 {
            return Ok(());
        }
        assert!(Instant::now() < deadline, "backend {pid} is still running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_terminated_connection_is_a_connection_error() -> orm_core::Result<()> {
    let Some(url) = postgres_url() else {
        return Ok(());
    };
    terminated_connection(&url)
}

#[test]
fn mysql_a_killed_connection_is_a_connection_error() -> orm_core::Result<()> {
    let Some(url) = mysql_url() else {
        return Ok(());
    };
    terminated_connection(&url)
}

fn terminated_connection(url: &str) -> orm_core::Result<()> {
    let url = url.to_owned();
    let mut conn = Connection::open(&url)?;
    let pid = backend_pid(&mut conn)?;
    terminate(&url, pid)?;
    let first = conn.select("SELECT 1 AS one", &[]);
    assert!(matches!(first, Err(Error::Connection { .. })), "{first:?}");
    let second = conn.execute("SELECT 1", &[]);
    assert!(
        matches!(second, Err(Error::Connection { .. })),
        "{second:?}"
    );
    Ok(())
}

#[test]
fn a_connection_lost_inside_a_transaction_is_a_connection_error() -> orm_core::Result<()> {
    let Some(url) = postgres_url() else {
        return Ok(());
    };
    lost_inside_a_transaction(&url)
}

#[test]
fn mysql_a_connection_lost_inside_a_transaction_is_a_connection_error() -> orm_core::Result<()> {
    let Some(url) = mysql_url() else {
        return Ok(());
    };
    lost_inside_a_transaction(&url)
}

fn lost_inside_a_transaction(url: &str) -> orm_core::Result<()> {
    let url = url.to_owned();
    let mut conn = Connection::open(&url)?;
    let pid = backend_pid(&mut conn)?;
    let result = conn.transaction(|tx| {
        tx.execute("CREATE TEMPORARY TABLE t (x INTEGER)", &[])?;
        terminate(&url, pid)?;
        let lost = tx.execute("INSERT INTO t (x) VALUES (?)", &[&1]);
        assert!(matches!(lost, Err(Error::Connection { .. })), "{lost:?}");
        Ok(()) // ignored: the commit must still say the connection is lost
    });
    // Error::Connection (what retry code matches), not Error::TransactionAborted.
    assert!(
        matches!(result, Err(Error::Connection { .. })),
        "{result:?}"
    );
    assert!(matches!(conn.begin().err(), Some(Error::Connection { .. })));
    Ok(())
}

/// PostgreSQL ends a session left idle inside a transaction too long (FATAL 25P03): that
/// is a lost connection too, whatever statement notices it.
#[test]
fn a_session_ended_for_idling_in_a_transaction_is_a_connection_error() -> orm_core::Result<()> {
    let Some(url) = postgres_url() else {
        return Ok(());
    };
    let separator = if url.contains('?') { '&' } else { '?' };
    DB::connect_named(
        "idle_in_transaction",
        &format!("{url}{separator}options=-cidle_in_transaction_session_timeout%3D300"),
    )?;
    let db = DB::connection("idle_in_transaction");
    db.statement("CREATE TEMPORARY TABLE idling (x INTEGER)")?;
    let result = db.transaction(|| {
        db.execute("INSERT INTO idling (x) VALUES (1)", &[])?;
        std::thread::sleep(Duration::from_millis(600));
        let lost = db.execute("INSERT INTO idling (x) VALUES (2)", &[]);
        assert!(matches!(lost, Err(Error::Connection { .. })), "{lost:?}");
        Ok(())
    });
    DB::disconnect("idle_in_transaction");
    assert!(
        matches!(result, Err(Error::Connection { .. })),
        "{result:?}"
    );
    Ok(())
}

#[test]
fn a_pool_replaces_a_connection_the_server_closed() -> orm_core::Result<()> {
    let Some(url) = postgres_url() else {
        return Ok(());
    };
    pool_replaces_closed(&url, "connection_loss_pool")
}

#[test]
fn mysql_a_pool_replaces_a_connection_the_server_closed() -> orm_core::Result<()> {
    let Some(url) = mysql_url() else {
        return Ok(());
    };
    pool_replaces_closed(&url, "connection_loss_pool_mysql")
}

fn pool_replaces_closed(url: &str, name: &str) -> orm_core::Result<()> {
    let url = url.to_owned();
    let config = PoolConfig {
        max_size: 2,
        ..PoolConfig::default()
    };
    DB::connect_with(name, &url, config)?;
    let db = DB::connection(name);
    let pid_sql = match is_mysql(&url) {
        true => "SELECT CONNECTION_ID() AS pid",
        false => "SELECT pg_backend_pid() AS pid",
    };
    let pid_of = || -> orm_core::Result<i64> { db.select(pid_sql, &[])?[0].get("pid") };
    let first = pid_of()?;
    assert_eq!(DB::pool(name)?.idle_connections(), 1);
    terminate(&url, first)?;
    // A connection idle for a while is verified on checkout (a connection used within
    // the last 500 ms is trusted): the dead one is replaced and the call succeeds.
    std::thread::sleep(Duration::from_millis(600));
    let second = pid_of()?;
    assert_ne!(first, second);
    // Again, with the pool's connection lost inside a transaction: that transaction
    // fails with Error::Connection, the connection is discarded, the next call works.
    let result = db.transaction(|| {
        db.select("SELECT 1 AS one", &[])?;
        terminate(&url, second)?;
        db.select("SELECT 1 AS one", &[])?;
        Ok(())
    });
    assert!(
        matches!(result, Err(Error::Connection { .. })),
        "{result:?}"
    );
    let third = pid_of()?;
    assert_ne!(third, second);
    // Within the trusted window the first call on a dead connection is
    // Error::Connection, and the connection is discarded: the call after it works.
    let used = Instant::now();
    terminate(&url, third)?;
    match pid_of() {
        Err(Error::Connection { .. }) => {}
        // A slow machine may pass the window while terminating: then it was verified.
        Ok(pid) if used.elapsed() >= Duration::from_millis(500) => assert_ne!(pid, third),
        other => panic!("expected Error::Connection, got {other:?}"),
    }
    let fourth = pid_of()?;
    assert_ne!(fourth, third);
    assert!(DB::pool(name)?.connections() <= 2);
    DB::disconnect(name);
    Ok(())
}

/// A server that accepts the TCP connection but never answers (a hung server, a wedged
/// proxy): `DB::connect_with` gives up after the pool's `connection_timeout` with
/// `Error::Connection`, where it used to wait forever in the driver's handshake. Needs no
/// server: the listener is this test's.
#[test]
fn connecting_to_a_server_that_never_answers_gives_up_after_the_timeout() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().unwrap().port();
    let config = PoolConfig {
        connection_timeout: Duration::from_millis(500),
        ..PoolConfig::default()
    };
    for url in [
        format!("postgres://postgres@127.0.0.1:{port}/test"),
        format!("mysql://root@127.0.0.1:{port}/test"),
    ] {
        let started = Instant::now();
        let outcome = DB::connect_with("never_answers", &url, config.clone());
        assert!(
            matches!(outcome, Err(Error::Connection { .. })),
            "{url}: {outcome:?}"
        );
        // A hang, not a speed: the bound is generous.
        assert!(started.elapsed() < Duration::from_secs(20), "{url}");
    }
    drop(listener);
}

/// A proxy to `server` that forwards both ways until it sees a `COMMIT` go to the server:
/// it forwards it, then cuts the connection when the answer comes back, as a network
/// lost at that moment would. The server commits; the client never hears it.
fn commit_answer_cutting_proxy(server: String) -> u16 {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
    let port = listener.local_addr().expect("an address").port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let Ok(upstream) = TcpStream::connect(&server) else {
                return;
            };
            let cut = Arc::new(AtomicBool::new(false));
            let pump = |mut from: TcpStream, mut to: TcpStream, cut: Arc<AtomicBool>, up: bool| {
                move || {
                    let mut buffer = vec![0u8; 64 * 1024];
                    loop {
                        let n = match from.read(&mut buffer) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let data = &buffer[..n];
                        if up && data.windows(6).any(|w| w == b"COMMIT") {
                            // Set before the server can answer.
                            cut.store(true, Ordering::SeqCst);
                        } else if !up && cut.load(Ordering::SeqCst) {
                            break;
                        }
                        if to.write_all(data).is_err() {
                            break;
                        }
                    }
                    let _ = from.shutdown(Shutdown::Both);
                    let _ = to.shutdown(Shutdown::Both);
                }
            };
            let (c, u) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            std::thread::spawn(pump(c, u, cut.clone(), true));
            std::thread::spawn(pump(upstream, client, cut, false));
        }
    });
    port
}

/// The connection lost after COMMIT was sent and before its answer (probe 47g): the
/// server committed. The error says the outcome is unknown, and neither the
/// after_commit nor the after_rollback callbacks run (an application undoing side
/// effects in after_rollback would undo work whose rows exist).
#[test]
fn a_commit_whose_answer_is_lost_is_an_unknown_outcome() -> orm_core::Result<()> {
    if let Some(url) = postgres_url() {
        commit_answer_lost(&url, "commit_lost_pg")?;
    }
    if let Some(url) = mysql_url() {
        commit_answer_lost(&url, "commit_lost_mysql")?;
    }
    Ok(())
}

fn commit_answer_lost(url: &str, name: &str) -> orm_core::Result<()> {
    use std::cell::Cell;
    use std::rc::Rc;

    let after_at = url.split_once('@').map_or(url, |(_, rest)| rest);
    let server = after_at
        .split(['/', '?'])
        .next()
        .unwrap_or(after_at)
        .to_owned();
    let port = commit_answer_cutting_proxy(server.clone());
    let proxied = url.replacen(&server, &format!("127.0.0.1:{port}"), 1);
    let table = format!("commit_lost_{}", std::process::id());
    let mut admin = Connection::open(url)?;
    admin.execute_batch(&format!("DROP TABLE IF EXISTS {table}"))?;
    admin.execute_batch(&format!("CREATE TABLE {table} (x INTEGER)"))?;
    DB::connect_named(name, &proxied)?;
    let db = DB::connection(name);
    let (committed, rolled_back) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(false)));
    let result = db.transaction(|| {
        db.insert(&format!("INSERT INTO {table} (x) VALUES (?)"), &[&1])?;
        let (c, r) = (committed.clone(), rolled_back.clone());
        db.after_commit(move || c.set(true));
        db.after_rollback(move || r.set(true));
        Ok(())
    });
    let err = result.unwrap_err();
    assert!(
        matches!(&err, Error::Connection { message, .. } if message.contains("may have committed")),
        "{err:?}"
    );
    assert!(!committed.get() && !rolled_back.get());
    let kept: i64 =
        admin.select(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])?[0].get("n")?;
    assert_eq!(kept, 1, "the server committed");
    // The pool goes on with a new connection.
    assert_eq!(
        db.scalar::<i64>(&format!("SELECT COUNT(*) FROM {table}"), &[])?,
        Some(1)
    );
    admin.execute_batch(&format!("DROP TABLE {table}"))?;
    Ok(())
}
