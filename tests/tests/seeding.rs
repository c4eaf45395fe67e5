//! Seeders on every backend: order, one transaction per seeder (nothing of a failed one
//! kept), progress, and the testing helper that migrates and seeds in one line.

use std::cell::RefCell;
use std::rc::Rc;

use orm_core::{Value, DB};
use orm_migrate::prelude::*;
use orm_migrate::testing::TestDatabaseExt;
use orm_migrate::{seed, seed_with, SeedProgress};
use orm_tests::on_every_backend;

fn add_user(name: &str) -> Result<()> {
    DB::table("users").insert([
        ("name", Value::from(name)),
        ("email", Value::from(format!("{name}@example.com"))),
        ("password", Value::from("-")),
    ])?;
    Ok(())
}

fn names() -> Result<Vec<String>> {
    Ok(DB::table("users").order_by("id").pluck::<String>("name")?)
}

struct AdaSeeder;
impl Seeder for AdaSeeder {
    fn run(&self) -> Result<()> {
        add_user("ada")
    }
}

struct GraceSeeder;
impl Seeder for GraceSeeder {
    fn run(&self) -> Result<()> {
        add_user("grace")
    }
}

/// Writes a row, then fails on a duplicate e-mail: the row it wrote must not stay.
struct DuplicateSeeder;
impl Seeder for DuplicateSeeder {
    fn run(&self) -> Result<()> {
        add_user("linus")?;
        add_user("ada")
    }
}

struct DatabaseSeeder;
impl Seeder for DatabaseSeeder {
    fn run(&self) -> Result<()> {
        self.call(&[&AdaSeeder, &GraceSeeder])
    }
}

struct FailingDatabaseSeeder;
impl Seeder for FailingDatabaseSeeder {
    fn run(&self) -> Result<()> {
        add_user("root")?;
        self.call(&[&AdaSeeder, &DuplicateSeeder, &GraceSeeder])
    }
}

/// Catches a child's failure and goes on: the child's rows go, the rest stays.
struct ForgivingSeeder;
impl Seeder for ForgivingSeeder {
    fn run(&self) -> Result<()> {
        self.call(&[&AdaSeeder])?;
        let failed = self.call(&[&DuplicateSeeder]);
        assert!(
            matches!(failed, Err(Error::SeederFailed { .. })),
            "{failed:?}"
        );
        self.call(&[&GraceSeeder])
    }
}

fn migrate_users() -> Result<()> {
    Migrator::new(vec![Box::new(CreateUsersTable)]).run()?;
    Ok(())
}

on_every_backend! {
    fn seeders_run_in_the_order_they_are_called() -> orm_migrate::Result<()> {
        migrate_users()?;
        seed(&DatabaseSeeder)?;
        assert_eq!(names()?, ["ada", "grace"]);
        // One seeder alone.
        seed(&GraceSeeder).unwrap_err();
        assert_eq!(names()?, ["ada", "grace"], "the duplicate left nothing");
        Ok(())
    }

    fn a_failing_seeder_leaves_nothing_of_the_run() -> orm_migrate::Result<()> {
        migrate_users()?;
        let err = seed(&FailingDatabaseSeeder).unwrap_err();
        match &err {
            Error::SeederFailed { seeder, source } => {
                assert_eq!(seeder, "DuplicateSeeder", "the innermost seeder is named");
                assert!(
                    matches!(**source, Error::Database(orm_core::Error::UniqueViolation { .. })),
                    "{source:?}"
                );
            }
            other => panic!("expected SeederFailed, got {other:?}"),
        }
        assert!(err.to_string().starts_with("seeder `DuplicateSeeder` failed: "), "{err}");
        assert!(names()?.is_empty(), "nothing of the run was kept: {:?}", names()?);
        // The connection is usable afterwards (no transaction left open).
        seed(&AdaSeeder)?;
        assert_eq!(names()?, ["ada"]);
        Ok(())
    }

    fn a_caught_failure_undoes_only_that_seeder() -> orm_migrate::Result<()> {
        migrate_users()?;
        seed(&ForgivingSeeder)?;
        assert_eq!(names()?, ["ada", "grace"], "linus (the failed seeder's row) is gone");
        Ok(())
    }

    fn progress_names_each_seeder() -> orm_migrate::Result<()> {
        migrate_users()?;
        let log = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&log);
        seed_with(&DatabaseSeeder, move |progress| {
            sink.borrow_mut().push(match progress {
                SeedProgress::Seeding(name) => format!("seeding {name}"),
                SeedProgress::Seeded(name, _) => format!("seeded {name}"),
                SeedProgress::Inserted { table, rows } => format!("{rows} into {table}"),
                _ => format!("{progress:?}"),
            });
        })?;
        assert_eq!(
            log.take(),
            [
                "seeding DatabaseSeeder",
                "seeding AdaSeeder",
                "seeded AdaSeeder",
                "seeding GraceSeeder",
                "seeded GraceSeeder",
                "seeded DatabaseSeeder",
            ]
        );
        // The observer is gone after the run.
        orm_migrate::report_inserted("users", 1);
        seed(&AdaSeeder).unwrap_err();
        assert!(log.take().is_empty());
        Ok(())
    }
}

#[test]
fn one_line_migrates_and_seeds_a_test_database() -> Result<()> {
    let _db =
        orm_migrate::testing::sqlite(vec![Box::new(CreateUsersTable)])?.seed(&DatabaseSeeder)?;
    assert_eq!(names()?, ["ada", "grace"]);
    drop(_db);
    let _db = orm_core::testing::sqlite()
        .migrate(vec![Box::new(CreateUsersTable)])?
        .seed(&AdaSeeder)?;
    assert_eq!(names()?, ["ada"]);
    drop(_db);
    if let Some(db) = orm_migrate::testing::postgres(vec![Box::new(CreateUsersTable)])? {
        let _db = db.seed(&DatabaseSeeder)?;
        assert_eq!(names()?, ["ada", "grace"]);
    }
    Ok(())
}
