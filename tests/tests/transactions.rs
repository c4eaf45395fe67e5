//! Transactions through the DB facade and explicit handles, on both backends.

use orm_core::{Error, DB};
use orm_tests::on_every_backend;

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
