//! `Migrator::on_progress` reports each migration as it runs, on both backends.

use std::cell::RefCell;
use std::rc::Rc;

use orm_migrate::{CreateUsersTable, Migration, Migrator, Progress, Result, Schema};
use orm_tests::on_every_backend;

struct CreatePostsTable;

impl Migration for CreatePostsTable {
    fn name(&self) -> &str {
        "2024_01_01_000000_create_posts_table"
    }
    fn up(&self, schema: &mut Schema) -> Result<()> {
        schema.create("posts", |t| {
            t.increments("id");
        })
    }
    fn down(&self, schema: &mut Schema) -> Result<()> {
        schema.drop_if_exists("posts")
    }
}

/// A migrator whose progress events land in the returned log, as `verb name`.
fn observed() -> (Migrator, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&log);
    let migrator = Migrator::new(vec![Box::new(CreatePostsTable), Box::new(CreateUsersTable)])
        .on_progress(move |progress| {
            let line = match progress {
                Progress::Migrating(name) => format!("migrating {name}"),
                Progress::Migrated(name, _) => format!("migrated {name}"),
                Progress::RollingBack(name) => format!("rolling back {name}"),
                Progress::RolledBack(name, _) => format!("rolled back {name}"),
                _ => format!("{progress:?}"),
            };
            sink.borrow_mut().push(line);
        });
    (migrator, log)
}

on_every_backend! {
    fn an_observer_may_query_the_default_connection() -> orm_migrate::Result<()> {
        // Reading the database between migrations (counting the tables made so far):
        // the observer runs on the migrator's connection, not into `ConnectionInUse`.
        let seen = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&seen);
        let migrator = Migrator::new(vec![Box::new(CreatePostsTable), Box::new(CreateUsersTable)])
            .on_progress(move |progress| {
                if let Progress::Migrated(name, _) = progress {
                    let count = orm_core::DB::table("migrations").count();
                    sink.borrow_mut().push(format!("{name}: {count:?}"));
                }
            });
        migrator.run()?;
        assert_eq!(
            seen.take(),
            [
                "2014_10_12_000000_create_users_table: Ok(1)",
                "2024_01_01_000000_create_posts_table: Ok(2)",
            ]
        );
        Ok(())
    }

    fn progress_follows_each_migration() -> orm_migrate::Result<()> {
        let (migrator, log) = observed();
        migrator.run()?;
        assert_eq!(
            log.take(),
            [
                "migrating 2014_10_12_000000_create_users_table",
                "migrated 2014_10_12_000000_create_users_table",
                "migrating 2024_01_01_000000_create_posts_table",
                "migrated 2024_01_01_000000_create_posts_table",
            ]
        );
        migrator.run()?;
        assert!(log.take().is_empty(), "nothing pending, nothing reported");
        migrator.rollback_steps(1)?;
        assert_eq!(
            log.take(),
            [
                "rolling back 2024_01_01_000000_create_posts_table",
                "rolled back 2024_01_01_000000_create_posts_table",
            ]
        );
        migrator.pretend()?;
        assert!(log.take().is_empty(), "pretend runs nothing");
        Ok(())
    }

    fn a_failing_migration_starts_but_never_finishes() -> orm_migrate::Result<()> {
        struct Broken;
        impl Migration for Broken {
            fn name(&self) -> &str {
                "2030_01_01_000000_broken"
            }
            fn up(&self, schema: &mut Schema) -> Result<()> {
                schema.statement("ALTER TABLE no_such_table ADD COLUMN x INTEGER")
            }
            fn down(&self, _schema: &mut Schema) -> Result<()> {
                Ok(())
            }
        }
        let log = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&log);
        let migrator = Migrator::new(vec![Box::new(Broken)]).on_progress(move |progress| {
            sink.borrow_mut().push(format!("{progress:?}"));
        });
        let err = migrator.run().expect_err("the migration fails");
        assert!(err.to_string().contains("2030_01_01_000000_broken"), "{err}");
        assert_eq!(log.take(), [r#"Migrating("2030_01_01_000000_broken")"#]);
        Ok(())
    }
}
