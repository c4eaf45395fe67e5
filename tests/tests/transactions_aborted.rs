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

    fn statements_after_the_failure_are_reported_by_their_own_error_then_by_the_commit() {
        setup()?;
        let result = DB::transaction(|| {
            let _ = add(1, "duplicate");
            let after = add(2, "after");
            if backend() == Backend::Postgres {
                // PostgreSQL refuses everything until the transaction ends (25P02).
                assert!(matches!(after, Err(Error::Database { .. })), "{after:?}");
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
