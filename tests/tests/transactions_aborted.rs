//! A statement that fails inside a transaction and is ignored: PostgreSQL aborts the
//! transaction, so its commit is `Error::TransactionAborted` (never `Ok` for rows it did
//! not keep); SQLite keeps the transaction and commits the other rows. A savepoint (a
//! nested `DB::transaction`) around the failing statement keeps the rest on both.

use orm_core::{Backend, Error, DB};
use orm_tests::{backend, on_every_backend};

fn setup() -> orm_core::Result<()> {
    DB::statement("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
    add(1, "before")?;
    Ok(())
}

fn add(id: i64, name: &str) -> orm_core::Result<u64> {
    DB::insert("INSERT INTO items (id, name) VALUES (?, ?)", &[&id, &name])
}

fn names() -> orm_core::Result<Vec<String>> {
    DB::table("items").order_by("id").pluck("name")
}

fn not_in_transaction() -> orm_core::Result<bool> {
    DB::with_connection(|c| Ok(!c.in_transaction()))
}

/// The error a commit returns after an ignored failure: the first failure, as its source.
fn assert_aborted_by_duplicate<T: std::fmt::Debug>(result: &orm_core::Result<T>) {
    match result {
        Err(Error::TransactionAborted { first }) => {
            assert!(
                matches!(**first, Error::UniqueViolation { .. }),
                "{first:?}"
            );
            // The copy keeps what the database said about the constraint and the SQL.
            assert_eq!(first.constraint_name(), Some("items_pkey"), "{first:?}");
            assert!(
                first.sql().is_some_and(|sql| sql.contains("INSERT")),
                "{first:?}"
            );
            let shown = result.as_ref().unwrap_err().to_string();
            assert!(shown.contains("unique"), "{shown}");
            let source = std::error::Error::source(result.as_ref().unwrap_err());
            assert!(source.is_some(), "the first failure is the source");
        }
        other => panic!("expected TransactionAborted, got {other:?}"),
    }
}

on_every_backend! {
    fn an_ignored_failure_is_reported_at_commit_on_postgres_and_kept_on_sqlite() {
        setup()?;
        let result = DB::transaction(|| {
            add(2, "a")?;
            let failed = add(1, "duplicate");
            assert!(matches!(failed, Err(Error::UniqueViolation { .. })), "{failed:?}");
            Ok("done")
        });
        match backend() {
            Backend::Postgres => {
                assert_aborted_by_duplicate(&result);
                assert_eq!(names()?, ["before"]);
            }
            _ => {
                assert_eq!(result?, "done");
                assert_eq!(names()?, ["before", "a"]);
            }
        }
        assert!(not_in_transaction()?);
        // The connection is clean: the next transaction commits.
        DB::transaction(|| add(3, "next"))?;
        assert_eq!(names()?.last().map(String::as_str), Some("next"));
        Ok(())
    }

    fn statements_after_the_failure_are_reported_as_aborted_by_it_then_by_the_commit() {
        setup()?;
        let result = DB::transaction(|| {
            let _ = add(1, "duplicate");
            let after = add(2, "after");
            if backend() == Backend::Postgres {
                // PostgreSQL refuses everything until the transaction ends (25P02): the
                // refusal names the failure that aborted it (concurrency probe).
                assert_aborted_by_duplicate(&after.map(drop));
            } else {
                after?;
            }
            Ok(())
        });
        match backend() {
            Backend::Postgres => {
                // The commit names the first failure, not the 25P02 that followed.
                assert_aborted_by_duplicate(&result);
                assert_eq!(names()?, ["before"]);
            }
            _ => {
                result?;
                assert_eq!(names()?, ["before", "after"]);
            }
        }
        Ok(())
    }

    fn a_savepoint_around_the_failing_statement_keeps_the_rest_on_both() {
        setup()?;
        DB::transaction(|| {
            add(2, "a")?;
            let failed = DB::transaction(|| add(1, "duplicate"));
            assert!(matches!(failed, Err(Error::UniqueViolation { .. })), "{failed:?}");
            add(3, "b")?;
            Ok(())
        })?;
        assert_eq!(names()?, ["before", "a", "b"]);
        Ok(())
    }

    fn a_nested_level_that_ignores_a_failure_fails_alone() {
        setup()?;
        DB::transaction(|| {
            add(2, "outer")?;
            let inner = DB::transaction(|| {
                add(3, "inner")?;
                let _ = add(1, "duplicate");
                Ok(())
            });
            match backend() {
                Backend::Postgres => assert_aborted_by_duplicate(&inner),
                _ => inner?,
            }
            // The savepoint was rolled back: the outer level goes on.
            assert_eq!(DB::with_connection(|c| Ok(c.transaction_depth()))?, 1);
            add(4, "outer again")?;
            Ok(())
        })?;
        match backend() {
            Backend::Postgres => assert_eq!(names()?, ["before", "outer", "outer again"]),
            _ => assert_eq!(names()?, ["before", "outer", "inner", "outer again"]),
        }
        Ok(())
    }

    fn a_nested_level_that_returns_the_error_clears_the_failure() {
        setup()?;
        DB::transaction(|| {
            add(2, "outer")?;
            let inner: orm_core::Result<()> = DB::transaction(|| {
                add(3, "inner")?;
                add(1, "duplicate")?;
                Ok(())
            });
            assert!(matches!(inner, Err(Error::UniqueViolation { .. })), "{inner:?}");
            add(4, "outer again")?;
            Ok(())
        })?;
        assert_eq!(names()?, ["before", "outer", "outer again"]);
        Ok(())
    }

    fn a_failure_in_the_outer_level_is_not_cleared_by_a_later_savepoint() {
        setup()?;
        let result = DB::transaction(|| {
            add(2, "a")?;
            let _ = add(1, "duplicate");
            // On PostgreSQL the savepoint itself is refused; either way the outcome of
            // the nested call must not hide the outer failure.
            let _ = DB::transaction(|| add(3, "b"));
            Ok(())
        });
        match backend() {
            Backend::Postgres => {
                assert_aborted_by_duplicate(&result);
                assert_eq!(names()?, ["before"]);
            }
            _ => {
                result?;
                assert_eq!(names()?, ["before", "a", "b"]);
            }
        }
        assert!(not_in_transaction()?);
        Ok(())
    }

    fn explicit_connection_transactions_report_the_abort_too() {
        setup()?;
        DB::with_connection(|conn| {
            let closure = conn.transaction(|tx| {
                tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&2, &"closure"])?;
                let _ = tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&1, &"dup"]);
                Ok(())
            });
            let mut tx = conn.begin()?;
            tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&3, &"handle"])?;
            let _ = tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&1, &"dup"]);
            let handle = tx.commit();
            match conn.backend() {
                Backend::Postgres => {
                    assert_aborted_by_duplicate(&closure);
                    assert_aborted_by_duplicate(&handle);
                }
                _ => {
                    closure?;
                    handle?;
                }
            }
            assert!(!conn.in_transaction());
            // An explicit rollback after a failure is simply a rollback.
            let mut tx = conn.begin()?;
            let _ = tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&1, &"dup"]);
            tx.rollback()?;
            Ok(())
        })?;
        match backend() {
            Backend::Postgres => assert_eq!(names()?, ["before"]),
            _ => assert_eq!(names()?, ["before", "closure", "handle"]),
        }
        Ok(())
    }

    fn a_failure_outside_any_transaction_does_not_affect_the_next_one() {
        setup()?;
        assert!(add(1, "duplicate").is_err());
        DB::transaction(|| add(2, "a"))?;
        assert_eq!(names()?, ["before", "a"]);
        Ok(())
    }

    fn a_refused_binding_does_not_abort_the_transaction() {
        setup()?;
        // The value is refused before anything reaches the server (Error::Bind).
        DB::transaction(|| {
            let refused = DB::insert("INSERT INTO items (id, name) VALUES (?, ?)", &[&"x", &"y"]);
            match backend() {
                Backend::Postgres => assert!(matches!(refused, Err(Error::Bind { .. })), "{refused:?}"),
                _ => assert!(refused.is_err()),
            }
            add(2, "a")?;
            Ok(())
        })?;
        assert_eq!(names()?, ["before", "a"]);
        Ok(())
    }
}

// Failures after which the database has rolled back the whole transaction itself (SQLite
// on a full disk, MariaDB on a deadlock), savepoints included. Statements the closure
// runs after ignoring such a failure must not commit on their own (autocommit), and the
// commit must not report rows the database threw away.

/// Shrinks the SQLite database's page limit so that the next large write fails with
/// `SQLITE_FULL`, which rolls back the whole transaction.
fn fill_the_sqlite_disk() -> orm_core::Result<()> {
    let pages: i64 = DB::select("PRAGMA page_count", &[])?[0].get("page_count")?;
    DB::statement(&format!("PRAGMA max_page_count = {}", pages + 1))?;
    Ok(())
}

fn too_big_for_the_disk() -> orm_core::Result<u64> {
    DB::insert(
        "INSERT INTO items (id, name) VALUES (?, ?)",
        &[&9_i64, &"x".repeat(200_000)],
    )
}

fn assert_aborted_by(result: &orm_core::Result<()>, first: impl Fn(&Error) -> bool) {
    match result {
        Err(Error::TransactionAborted { first: failure }) => {
            assert!(first(failure), "{failure:?}")
        }
        other => panic!("expected TransactionAborted, got {other:?}"),
    }
}

#[test]
fn sqlite_a_full_disk_ends_the_transaction_and_later_statements_stay_out() -> orm_core::Result<()> {
    let _db = orm_core::testing::sqlite();
    setup()?;
    fill_the_sqlite_disk()?;
    let result = DB::transaction(|| {
        add(2, "a")?;
        let full = too_big_for_the_disk();
        assert!(full.is_err(), "{full:?}");
        add(3, "after")?;
        Ok(())
    });
    assert_aborted_by(&result, |e| e.to_string().contains("full"));
    assert!(not_in_transaction()?);
    assert_eq!(names()?, ["before"]);
    DB::transaction(|| add(4, "next"))?;
    assert_eq!(names()?, ["before", "next"]);
    Ok(())
}

#[test]
fn sqlite_a_full_disk_inside_a_savepoint_ends_every_level() -> orm_core::Result<()> {
    let _db = orm_core::testing::sqlite();
    setup()?;
    fill_the_sqlite_disk()?;
    let result = DB::transaction(|| {
        add(2, "outer")?;
        let inner = DB::transaction(|| {
            add(3, "inner")?;
            too_big_for_the_disk()
        });
        assert!(inner.is_err(), "{inner:?}");
        assert_eq!(DB::with_connection(|c| Ok(c.transaction_depth()))?, 1);
        add(4, "after")?;
        Ok(())
    });
    assert_aborted_by(&result, |e| e.to_string().contains("full"));
    assert!(not_in_transaction()?);
    assert_eq!(names()?, ["before"]);
    Ok(())
}

/// Runs `statement` (an update of row 2 of `slots`) on this thread's connection while
/// another connection, holding row 2 and a thousand other rows, waits for row 1, which
/// this thread's transaction holds: a deadlock whose victim (the lighter side) is this
/// thread's transaction. Returns what `statement` returned.
fn mysql_deadlock_victim<T>(
    db: &orm_core::testing::TestDatabase,
    statement: impl FnOnce() -> orm_core::Result<T>,
) -> orm_core::Result<orm_core::Result<T>> {
    let mut other = orm_core::Connection::open(&orm_core::testing::mysql_url())?;
    other.execute_batch(&format!("USE `{}`", db.schema().expect("a test database")))?;
    DB::statement("UPDATE slots SET n = n + 1 WHERE id = 1")?;
    let (holding, held) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || -> orm_core::Result<()> {
        let mut tx = other.begin()?;
        tx.execute("UPDATE ballast SET n = n + 1", &[])?;
        tx.execute("UPDATE slots SET n = n + 10 WHERE id = 2", &[])?;
        holding.send(()).ok();
        // Blocks until this thread's transaction is rolled back by the deadlock.
        tx.execute("UPDATE slots SET n = n + 10 WHERE id = 1", &[])?;
        tx.commit()
    });
    held.recv().expect("the other side holds row 2");
    // Let the other side's request for row 1 start waiting.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let outcome = statement();
    waiter.join().expect("the other side finishes")?;
    Ok(outcome)
}

fn mysql_deadlock_setup() -> orm_core::Result<()> {
    setup()?;
    DB::statement("CREATE TABLE slots (id BIGINT PRIMARY KEY, n INTEGER NOT NULL)")?;
    DB::insert("INSERT INTO slots (id, n) VALUES (1, 0), (2, 0)", &[])?;
    DB::statement("CREATE TABLE ballast (id BIGINT PRIMARY KEY, n INTEGER NOT NULL)")?;
    DB::statement(
        "INSERT INTO ballast (id, n) WITH RECURSIVE s (i) AS \
         (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000) SELECT i, 0 FROM s",
    )?;
    Ok(())
}

fn is_deadlock(e: &Error) -> bool {
    e.is_busy() && e.is_retryable()
}

#[test]
fn mysql_a_deadlock_ends_the_transaction_and_later_statements_stay_out() -> orm_core::Result<()> {
    let Some(db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    mysql_deadlock_setup()?;
    let result = DB::transaction(|| {
        add(2, "a")?;
        let deadlock = mysql_deadlock_victim(&db, || {
            DB::statement("UPDATE slots SET n = n + 1 WHERE id = 2")
        })?;
        assert!(deadlock.as_ref().is_err_and(is_deadlock), "{deadlock:?}");
        add(3, "after")?;
        Ok(())
    });
    assert_aborted_by(&result, is_deadlock);
    assert!(result.unwrap_err().is_retryable());
    assert!(not_in_transaction()?);
    assert_eq!(names()?, ["before"]);
    // The other side committed; this side changed nothing.
    let slots: Vec<i64> = DB::table("slots").order_by("id").pluck("n")?;
    assert_eq!(slots, [10, 10]);
    Ok(())
}

#[test]
fn mysql_a_deadlock_inside_a_savepoint_ends_every_level() -> orm_core::Result<()> {
    let Some(db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    mysql_deadlock_setup()?;
    let result = DB::transaction(|| {
        add(2, "outer")?;
        let inner = mysql_deadlock_victim(&db, || {
            DB::transaction(|| {
                add(3, "inner")?;
                DB::statement("UPDATE slots SET n = n + 1 WHERE id = 2")
            })
        })?;
        assert!(inner.as_ref().is_err_and(is_deadlock), "{inner:?}");
        assert_eq!(DB::with_connection(|c| Ok(c.transaction_depth()))?, 1);
        add(4, "after")?;
        Ok(())
    });
    assert_aborted_by(&result, is_deadlock);
    assert!(not_in_transaction()?);
    assert_eq!(names()?, ["before"]);
    Ok(())
}

/// A deadlock between two other connections: the victim's error.
fn a_deadlock_elsewhere(db: &orm_core::testing::TestDatabase) -> orm_core::Result<Error> {
    let open = || -> orm_core::Result<orm_core::Connection> {
        let mut c = orm_core::Connection::open(&orm_core::testing::mysql_url())?;
        c.execute_batch(&format!("USE `{}`", db.schema().expect("a test database")))?;
        Ok(c)
    };
    let (mut a, mut b) = (open()?, open()?);
    a.execute_batch("START TRANSACTION")?;
    b.execute_batch("START TRANSACTION")?;
    a.execute("UPDATE slots SET n = n + 1 WHERE id = 1", &[])?;
    b.execute("UPDATE slots SET n = n + 1 WHERE id = 2", &[])?;
    let waiter = std::thread::spawn(move || {
        let outcome = a.execute("UPDATE slots SET n = n + 1 WHERE id = 2", &[]);
        let _ = a.execute_batch("ROLLBACK");
        outcome
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let mine = b.execute("UPDATE slots SET n = n + 1 WHERE id = 1", &[]);
    let _ = b.execute_batch("ROLLBACK");
    let theirs = waiter.join().expect("the other side finishes");
    mine.err()
        .or(theirs.err())
        .ok_or_else(|| Error::other("no deadlock between the two connections"))
}

/// An error a row callback returns is the caller's, whatever it says: a deadlock on
/// another connection, returned through `each` inside this thread's transaction and
/// handled by the closure, neither ends this transaction nor commits part of it.
#[test]
fn mysql_a_deadlock_from_another_connection_does_not_end_this_transaction() -> orm_core::Result<()>
{
    let Some(db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    mysql_deadlock_setup()?;
    let mut foreign = Some(a_deadlock_elsewhere(&db)?);
    assert!(foreign.as_ref().is_some_and(is_deadlock), "{foreign:?}");
    let result = DB::transaction(|| {
        add(2, "inside")?;
        let streamed = DB::table("slots").each(|_| Err::<bool, _>(foreign.take().expect("once")));
        assert!(streamed.as_ref().is_err_and(is_deadlock), "{streamed:?}");
        add(3, "after")?;
        Err::<(), _>(Error::other("the closure gives up"))
    });
    assert!(matches!(&result, Err(Error::Other(_))), "{result:?}");
    assert!(not_in_transaction()?);
    assert_eq!(names()?, ["before"], "nothing of the transaction is kept");
    Ok(())
}
