//! Transactions through the DB facade and explicit handles, on both backends.

use orm_core::{
    Backend, Connection, ConnectionRef, Error, InvalidQueryKind, IsolationLevel, PoolConfig,
    Result, DB,
};
use orm_tests::{on_every_backend, SecondDatabase};

fn setup() -> orm_core::Result<()> {
    DB::statement("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")?;
    Ok(())
}

fn names() -> orm_core::Result<Vec<String>> {
    DB::select("SELECT name FROM items ORDER BY id", &[])?
        .iter()
        .map(|r| r.get("name"))
        .collect()
}

fn add(id: i64, name: &str) -> orm_core::Result<u64> {
    DB::insert("INSERT INTO items (id, name) VALUES (?, ?)", &[&id, &name])
}

on_every_backend! {
    fn commit_on_ok() {
        setup()?;
        let value = DB::transaction(|| {
            add(1, "a")?;
            add(2, "b")?;
            Ok(7)
        })?;
        assert_eq!(value, 7);
        assert_eq!(names()?, ["a", "b"]);
        Ok(())
    }

    fn rollback_on_err() {
        setup()?;
        add(1, "kept")?;
        let result = DB::transaction(|| {
            add(2, "gone")?;
            add(1, "duplicate key")?;
            Ok(())
        });
        assert!(matches!(result, Err(Error::UniqueViolation { .. })), "{result:?}");
        assert_eq!(names()?, ["kept"]);
        Ok(())
    }

    fn rollback_on_panic_then_the_panic_continues() {
        setup()?;
        let caught = std::panic::catch_unwind(|| {
            let _ = DB::transaction(|| {
                add(1, "gone").unwrap();
                panic!("boom");
                #[allow(unreachable_code)]
                Ok(())
            });
        });
        assert!(caught.is_err());
        assert_eq!(names()?, Vec::<String>::new());
        // The connection is usable afterwards and no transaction is left open.
        assert!(!DB::with_connection(|c| Ok(c.in_transaction()))?);
        add(2, "after")?;
        assert_eq!(names()?, ["after"]);
        Ok(())
    }

    fn nested_savepoint_rolls_back_alone() {
        setup()?;
        DB::transaction(|| {
            add(1, "outer")?;
            let inner = DB::transaction(|| {
                add(2, "inner")?;
                Err::<(), _>(Error::other("inner fails"))
            });
            assert!(inner.is_err());
            DB::transaction(|| add(3, "inner ok"))?;
            assert_eq!(DB::with_connection(|c| Ok(c.transaction_depth()))?, 1);
            Ok(())
        })?;
        assert_eq!(names()?, ["outer", "inner ok"]);
        Ok(())
    }

    fn a_database_error_inside_a_savepoint_leaves_the_outer_transaction_usable() {
        setup()?;
        DB::transaction(|| {
            add(1, "outer")?;
            let failed = DB::transaction(|| add(1, "duplicate"));
            assert!(matches!(failed, Err(Error::UniqueViolation { .. })));
            add(2, "still works")?;
            Ok(())
        })?;
        assert_eq!(names()?, ["outer", "still works"]);
        Ok(())
    }

    fn explicit_handle_rolls_back_on_drop() {
        setup()?;
        DB::with_connection(|conn| {
            {
                let mut tx = conn.begin()?;
                tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&1, &"dropped"])?;
            }
            {
                let mut tx = conn.begin()?;
                tx.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&2, &"committed"])?;
                let mut inner = tx.begin()?;
                inner.execute("INSERT INTO items (id, name) VALUES (?, ?)", &[&3, &"inner dropped"])?;
                drop(inner);
                tx.commit()?;
            }
            assert!(!conn.in_transaction());
            Ok(())
        })?;
        assert_eq!(names()?, ["committed"]);
        Ok(())
    }

    fn nested_db_call_inside_a_connection_callback_is_a_typed_error() {
        setup()?;
        let result = DB::with_connection(|_conn| DB::select("SELECT 1", &[]));
        assert!(matches!(result, Err(Error::ConnectionInUse(_))), "{result:?}");
        Ok(())
    }
}

// ----- DB::after_commit (Laravel's DatabaseTransactionsTest) ------------------------------

thread_local! {
    static RAN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A callback that records `what`, and the rows it sees when it runs.
fn note(what: &'static str) -> impl FnOnce() + 'static {
    move || {
        let seen = names()
            .map(|n| n.join(","))
            .unwrap_or_else(|e| format!("error: {e}"));
        RAN.with(|r| r.borrow_mut().push(format!("{what} saw [{seen}]")));
    }
}

fn ran() -> Vec<String> {
    RAN.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

on_every_backend! {
    fn after_commit_runs_once_the_outermost_transaction_commits() {
        setup()?;
        ran();
        DB::after_commit(note("outside"));
        assert_eq!(ran(), ["outside saw []"], "no transaction: at once");
        DB::transaction(|| {
            add(1, "a")?;
            DB::after_commit(note("outer"));
            DB::transaction(|| {
                add(2, "b")?;
                DB::after_commit(note("inner"));
                Ok(())
            })?;
            assert!(ran().is_empty(), "nothing before the outermost commit");
            Ok(())
        })?;
        assert_eq!(ran(), ["outer saw [a,b]", "inner saw [a,b]"]);
        Ok(())
    }

    fn after_commit_callbacks_of_a_rolled_back_level_are_dropped() {
        setup()?;
        ran();
        DB::transaction(|| {
            add(1, "kept")?;
            DB::after_commit(note("kept"));
            let inner: orm_core::Result<()> = DB::transaction(|| {
                add(2, "undone")?;
                DB::after_commit(note("undone"));
                Err(Error::other("inner gives up"))
            });
            assert!(inner.is_err());
            Ok(())
        })?;
        assert_eq!(ran(), ["kept saw [kept]"]);
        // A savepoint that committed, then an outer level that rolls back: both dropped.
        let outer: orm_core::Result<()> = DB::transaction(|| {
            DB::transaction(|| {
                DB::after_commit(note("inner of a failed outer"));
                Ok(())
            })?;
            Err(Error::other("outer gives up"))
        });
        assert!(outer.is_err());
        // A savepoint that committed, then a sibling that rolls back: the first one's
        // callbacks belong to the outer level now, which commits.
        DB::transaction(|| {
            DB::transaction(|| {
                add(3, "sibling kept")?;
                DB::after_commit(note("committed sibling"));
                Ok(())
            })?;
            let failed: orm_core::Result<()> = DB::transaction(|| {
                DB::after_commit(note("failed sibling"));
                Err(Error::other("second sibling gives up"))
            });
            assert!(failed.is_err());
            Ok(())
        })?;
        assert_eq!(ran(), ["committed sibling saw [kept,sibling kept]"]);
        DB::table("items").where_eq("id", 3).delete()?;
        let panicked = std::panic::catch_unwind(|| {
            let _ = DB::transaction(|| -> orm_core::Result<()> {
                DB::after_commit(note("panicked"));
                panic!("inside");
            });
        });
        assert!(panicked.is_err());
        assert!(ran().is_empty(), "{:?}", ran());
        // A commit that fails (PostgreSQL, after an ignored failure) drops them too; a
        // commit that keeps the rest (SQLite, MySQL) runs them.
        let ignored = DB::transaction(|| {
            add(10, "first")?;
            DB::after_commit(note("after an ignored failure"));
            assert!(add(10, "again").is_err());
            Ok(())
        });
        match ignored {
            Err(Error::TransactionAborted { .. }) => assert!(ran().is_empty()),
            Ok(()) => assert_eq!(ran().len(), 1),
            Err(other) => return Err(other),
        }
        Ok(())
    }
}

// MySQL commits an open transaction before DDL and TRUNCATE. Statements that would do
// it are refused inside a transaction (nothing runs, nothing is committed early), and
// `truncate()` there deletes the rows instead; elsewhere DDL is transactional.
on_every_backend! {
    fn ddl_inside_a_transaction_never_commits_it_early() {
        setup()?;
        let result: orm_core::Result<()> = DB::transaction(|| {
            add(1, "before")?;
            let created = DB::statement("CREATE TABLE reports (id INTEGER PRIMARY KEY)");
            if orm_tests::backend() == orm_core::Backend::Mysql {
                assert!(matches!(created, Err(Error::InvalidQuery { kind: orm_core::InvalidQueryKind::Unsupported, .. })), "{created:?}");
            } else {
                created?;
            }
            add(2, "after")?;
            Err(Error::other("roll back"))
        });
        assert!(result.is_err());
        assert!(names()?.is_empty(), "a rolled-back transaction kept {:?}", names()?);
        // Temporary tables do not end a MySQL transaction: allowed everywhere.
        DB::transaction(|| {
            DB::statement("CREATE TEMPORARY TABLE scratch (id INTEGER)")?;
            let drop = match orm_tests::backend() {
                orm_core::Backend::Mysql => "DROP TEMPORARY TABLE scratch",
                _ => "DROP TABLE scratch",
            };
            DB::statement(drop)?;
            add(3, "kept")
        })?;
        assert_eq!(names()?, ["kept"]);
        // DDL behind a comment is DDL too; a literal holding `; DROP ..` is not.
        let result: orm_core::Result<()> = DB::transaction(|| {
            add(4, "before")?;
            for ddl in ["/* why */ CREATE TABLE r2 (id INTEGER)", "-- why\nCREATE TABLE r3 (id INTEGER)"] {
                let created = DB::statement(ddl);
                if orm_tests::backend() == orm_core::Backend::Mysql {
                    assert!(matches!(created, Err(Error::InvalidQuery { kind: orm_core::InvalidQueryKind::Unsupported, .. })), "{ddl}: {created:?}");
                } else {
                    created?;
                }
            }
            add(5, "x'; DROP TABLE items; --")?;
            DB::insert("INSERT INTO items (id, name) VALUES (6, 'a; drop table items')", &[])?;
            Err(Error::other("roll back"))
        });
        assert!(result.is_err());
        assert_eq!(names()?, ["kept"]);
        // Outside a transaction, DDL runs as usual.
        DB::statement("CREATE TABLE reports (id INTEGER PRIMARY KEY)")?;
        // A script that commits what it began leaves no transaction open: DDL after it
        // runs (MySQL refused it after any script holding a BEGIN; the MySQL bench's
        // seed then `ANALYZE`). One that leaves its transaction open still refuses it.
        DB::unprepared("BEGIN; INSERT INTO items (id, name) VALUES (7, 'scripted'); COMMIT;")?;
        DB::unprepared("CREATE TABLE reports2 (id INTEGER PRIMARY KEY)")?;
        if orm_tests::backend() == orm_core::Backend::Mysql {
            DB::unprepared("BEGIN; INSERT INTO items (id, name) VALUES (8, 'open')")?;
            let refused = DB::unprepared("CREATE TABLE reports3 (id INTEGER PRIMARY KEY)");
            assert!(matches!(refused, Err(Error::InvalidQuery { kind: orm_core::InvalidQueryKind::Unsupported, .. })), "{refused:?}");
            DB::unprepared("ROLLBACK")?;
        }
        assert_eq!(names()?, ["kept", "scripted"]);
        Ok(())
    }

    fn raw_transaction_control_inside_a_transaction_is_refused() {
        // A raw COMMIT would keep the rows whatever the closure then returns (and on an
        // in-memory SQLite database the failed rollback after it lost the database).
        setup()?;
        for control in ["COMMIT", "/* done */ commit", "ROLLBACK", "BEGIN", "START TRANSACTION", "SAVEPOINT s1", "INSERT INTO items (id, name) VALUES (9, 'x'); COMMIT"] {
            let result: orm_core::Result<()> = DB::transaction(|| {
                add(1, "a")?;
                let refused = DB::statement(control);
                assert!(matches!(refused, Err(Error::InvalidQuery { kind: orm_core::InvalidQueryKind::Unsupported, .. })), "{control}: {refused:?}");
                let refused = DB::unprepared(control);
                assert!(matches!(refused, Err(Error::InvalidQuery { kind: orm_core::InvalidQueryKind::Unsupported, .. })), "{control}: {refused:?}");
                add(2, "b")?;
                Err(Error::other("roll back"))
            });
            assert!(result.is_err());
            assert!(names()?.is_empty(), "{control}: kept {:?}", names()?);
        }
        // Outside one, raw transaction control is the application's own.
        DB::unprepared("BEGIN")?;
        add(1, "raw")?;
        DB::unprepared("COMMIT")?;
        assert_eq!(names()?, ["raw"]);
        Ok(())
    }

    fn truncate_inside_a_rolled_back_transaction_keeps_the_rows() {
        setup()?;
        add(1, "a")?;
        add(2, "b")?;
        let result: orm_core::Result<()> = DB::transaction(|| {
            DB::table("items").truncate()?;
            assert!(names()?.is_empty());
            Err(Error::other("roll back"))
        });
        assert!(result.is_err());
        assert_eq!(names()?, ["a", "b"]);
        DB::transaction(|| DB::table("items").truncate())?;
        assert!(names()?.is_empty());
        Ok(())
    }
}

/// A pool of one connection to a second database, so consecutive transactions share it,
/// and another connection to that database to write beside them.
fn isolation_database() -> Result<(SecondDatabase, ConnectionRef, Connection)> {
    let second = SecondDatabase::new("isolation")?;
    let config = PoolConfig {
        max_size: 1,
        ..PoolConfig::default()
    };
    DB::connect_with(&second.name, &second.url, config)?;
    let db = DB::connection(&second.name);
    db.statement("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")?;
    db.statement("INSERT INTO counters (id, n) VALUES (1, 0)")?;
    let other = Connection::open(&second.url)?;
    Ok((second, db, other))
}

fn counter(db: &ConnectionRef) -> Result<i64> {
    let row = db.select_one("SELECT n FROM counters WHERE id = 1", &[])?;
    row.expect("the counter row").get::<i64, _>("n")
}

on_every_backend! {
    fn an_isolated_transaction_runs_at_its_level_and_only_it() {
        if orm_tests::backend() == Backend::Sqlite {
            // SQLite's transactions are serializable: every level runs, and commits.
            DB::statement("CREATE TABLE t (x INTEGER)")?;
            for level in [IsolationLevel::ReadUncommitted, IsolationLevel::ReadCommitted, IsolationLevel::RepeatableRead, IsolationLevel::Serializable] {
                DB::isolated(level).transaction(|| DB::insert("INSERT INTO t (x) VALUES (1)", &[]).map(drop))?;
            }
            assert_eq!(DB::table("t").count()?, 4);
        } else {
            let (_second, db, mut other) = isolation_database()?;
            let bump = |other: &mut Connection| other.execute("UPDATE counters SET n = n + 1 WHERE id = 1", &[]).map(drop);
            // REPEATABLE READ: one snapshot, another connection's commit unseen.
            let seen = db.isolated(IsolationLevel::RepeatableRead).transaction(|| {
                let before = counter(&db)?;
                bump(&mut other)?;
                Ok((before, counter(&db)?))
            })?;
            assert_eq!(seen, (0, 0));
            // READ COMMITTED: each statement sees what was committed before it.
            let seen = db.isolated(IsolationLevel::ReadCommitted).transaction(|| {
                let before = counter(&db)?;
                bump(&mut other)?;
                Ok((before, counter(&db)?))
            })?;
            assert_eq!(seen, (1, 2));
            // The next transaction on the same connection is back at the server's default
            // (READ COMMITTED on PostgreSQL, REPEATABLE READ on MySQL).
            let seen = db.transaction(|| {
                let before = counter(&db)?;
                bump(&mut other)?;
                Ok((before, counter(&db)?))
            })?;
            let expected = if orm_tests::backend() == Backend::Postgres { (2, 3) } else { (2, 2) };
            assert_eq!(seen, expected);
            // On an explicit connection too.
            let seen = other.transaction_isolated(IsolationLevel::RepeatableRead, |c| {
                let read = |c: &mut Connection| -> Result<i64> { c.select("SELECT n FROM counters WHERE id = 1", &[])?[0].get::<i64, _>("n") };
                let before = read(c)?;
                db.update("UPDATE counters SET n = n + 1 WHERE id = 1", &[])?;
                Ok((before, read(c)?))
            })?;
            assert_eq!(seen, (3, 3));
            assert_eq!(counter(&db)?, 4);
            if orm_tests::backend() == Backend::Postgres {
                // A write to a row changed since the snapshot is a serialization failure,
                // retryable: the second attempt reads the new value and succeeds.
                let mut attempts = 0;
                db.isolated(IsolationLevel::Serializable).transaction_with_retry(3, || {
                    attempts += 1;
                    let n = counter(&db)?;
                    if attempts == 1 {
                        bump(&mut other)?;
                    }
                    db.update("UPDATE counters SET n = ? WHERE id = 1", &[&(n * 10)]).map(drop)
                })?;
                assert_eq!((attempts, counter(&db)?), (2, 50));
            }
        }
        // The level belongs to a whole transaction: not to a savepoint inside one.
        let err = DB::transaction(|| DB::isolated(IsolationLevel::Serializable).transaction(|| Ok(()))).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{err:?}");
        let mut conn = Connection::open("sqlite::memory:")?;
        let mut tx = conn.begin()?;
        assert!(tx.begin_isolated(IsolationLevel::ReadCommitted).is_err());
        Ok(())
    }
}

on_every_backend! {
    fn after_rollback_runs_for_the_levels_that_roll_back() {
        setup()?;
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<&str>::new()));
        let note = |what: &'static str| {
            let seen = std::rc::Rc::clone(&seen);
            move || seen.borrow_mut().push(what)
        };
        // Outside a transaction: nothing to roll back.
        DB::after_rollback(note("outside"));
        // A savepoint that rolls back runs its own; the commit drops the outer one's.
        DB::transaction(|| {
            DB::after_rollback(note("outer, committed"));
            let inner: Result<()> = DB::transaction(|| {
                DB::after_rollback(note("inner, rolled back"));
                Err(Error::other("inner gives up"))
            });
            assert!(inner.is_err());
            assert_eq!(*seen.borrow(), ["inner, rolled back"], "at the savepoint's rollback");
            Ok(())
        })?;
        // A committed savepoint's stands or falls with the level around it.
        let outer: Result<()> = DB::transaction(|| {
            DB::transaction(|| {
                DB::after_rollback(note("inner, committed, outer rolled back"));
                add(1, "x").map(drop)
            })?;
            Err(Error::other("outer gives up"))
        });
        assert!(outer.is_err());
        assert_eq!(*seen.borrow(), ["inner, rolled back", "inner, committed, outer rolled back"]);
        assert!(names()?.is_empty());
        Ok(())
    }
}
