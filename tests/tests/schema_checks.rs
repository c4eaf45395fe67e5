//! CHECK constraints: declared in the blueprint, enforced on both backends, and kept
//! (or dropped) correctly when SQLite rebuilds a table.

use orm_core::{Error as DbError, DB};
use orm_migrate::prelude::*;
use orm_migrate::Error;
use orm_tests::on_every_backend;

fn schema<T>(f: impl FnOnce(&mut Schema<'_>) -> Result<T>) -> Result<T> {
    Schema::on_default(f)
}

fn insert_votes(table: &str, column: &str, votes: i64) -> orm_core::Result<u64> {
    DB::execute(
        &format!("INSERT INTO {table} ({column}) VALUES (?)"),
        &[&votes],
    )
}

fn refused(result: orm_core::Result<u64>) -> bool {
    matches!(result, Err(DbError::CheckViolation { .. }))
}

on_every_backend! {
    fn checks_declared_on_create_refuse_rows_that_break_them() -> Result<()> {
        schema(|s| {
            s.create("polls", |t| {
                t.increments("id");
                t.integer("votes");
                t.check("votes >= 0");
                t.check_named("votes < 1000", "polls_votes_small");
            })
        })?;
        assert!(refused(insert_votes("polls", "votes", -1)));
        assert!(refused(insert_votes("polls", "votes", 1000)));
        assert_eq!(insert_votes("polls", "votes", 5)?, 1);
        Ok(())
    }

    fn checks_are_added_to_and_dropped_from_existing_tables() -> Result<()> {
        schema(|s| {
            s.create("polls", |t| {
                t.increments("id");
                t.integer("votes");
                t.string("title", 50).nullable();
            })
        })?;
        insert_votes("polls", "votes", 3)?;
        schema(|s| s.table("polls", |t| t.check_named("votes >= 0", "polls_votes_positive")))?;
        assert!(refused(insert_votes("polls", "votes", -1)));

        // Rows already there must satisfy a new check; nothing changes when they do not.
        insert_votes("polls", "votes", 50)?;
        let failed = schema(|s| s.table("polls", |t| t.check("votes < 10")));
        assert!(
            matches!(failed, Err(Error::Database(DbError::CheckViolation { .. }))),
            "{failed:?}"
        );
        assert_eq!(insert_votes("polls", "votes", 60)?, 1);

        schema(|s| s.table("polls", |t| t.drop_check("polls_votes_positive")))?;
        assert_eq!(insert_votes("polls", "votes", -1)?, 1);
        let rows = DB::select("SELECT COUNT(*) AS n FROM polls", &[])?;
        assert_eq!(rows[0].get::<i64, _>("n")?, 4);
        assert!(schema(|s| s.table("polls", |t| t.drop_check("no_such_check"))).is_err());
        Ok(())
    }

    fn dropping_a_column_keeps_checks_that_only_contain_its_name() -> Result<()> {
        schema(|s| {
            s.create("posts", |t| {
                t.increments("id");
                t.string("note", 50).nullable();
                t.integer("notes_count").default(0);
                t.check("notes_count >= 0");
                t.check_named("note <> ''", "posts_note_not_empty");
            })
        })?;
        DB::execute("INSERT INTO posts (note, notes_count) VALUES (?, ?)", &[&"hi", &1])?;
        schema(|s| s.table("posts", |t| t.drop_column("note")))?;
        // The check on `note` went with it (as PostgreSQL's DROP COLUMN does); the one
        // on `notes_count` stays.
        assert!(refused(insert_votes("posts", "notes_count", -1)));
        assert_eq!(insert_votes("posts", "notes_count", 2)?, 1);
        Ok(())
    }

    fn renaming_or_changing_a_column_keeps_its_checks() -> Result<()> {
        // A raw condition, so quoted the database's way.
        let quoted_check = if orm_tests::backend() == orm_core::Backend::Mysql {
            "`votes` < 1000"
        } else {
            "\"votes\" < 1000"
        };
        schema(|s| {
            s.create("polls", |t| {
                t.increments("id");
                t.integer("votes");
                t.string("title", 50).nullable();
                t.check("votes >= 0");
                t.check(quoted_check);
            })
        })?;
        schema(|s| s.table("polls", |t| t.rename_column("votes", "score")))?;
        assert!(refused(insert_votes("polls", "score", -1)));
        assert!(refused(insert_votes("polls", "score", 1000)));
        // Rebuilds on SQLite: change a type, drop another column.
        schema(|s| {
            s.table("polls", |t| {
                t.big_integer("score").change();
                t.drop_column("title");
            })
        })?;
        assert!(refused(insert_votes("polls", "score", -1)));
        assert!(refused(insert_votes("polls", "score", 1000)));
        assert_eq!(insert_votes("polls", "score", 7)?, 1);
        Ok(())
    }
}

#[test]
fn a_check_that_would_close_its_parentheses_early_is_refused() {
    let _db = orm_core::testing::sqlite();
    let result = schema(|s| {
        s.create("polls", |t| {
            t.integer("votes");
            t.check("votes >= 0) OR (1 = 1");
        })
    });
    assert!(matches!(
        result,
        Err(Error::Database(DbError::InvalidQuery { .. }))
    ));
    assert!(!schema(|s| s.has_table("polls")).unwrap());
}
