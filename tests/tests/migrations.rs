//! The migrator on both backends: batches, rollbacks, the ledger, failures, checksums
//! and concurrent runs.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Barrier};

use orm_core::Model;
use orm_core::{Connection, Executor, DB};
use orm_migrate::models::MigrationRecord;
use orm_migrate::prelude::*;
use orm_migrate::{MigrationState, Progress, RunOptions, LEDGER_TABLE};
use orm_tests::introspect::{column, columns, index, table_exists};
use orm_tests::{on_both_backends, on_every_backend};

type Step = fn(&mut Schema<'_>) -> Result<()>;

/// A migration made of two functions.
struct Fns {
    name: &'static str,
    up: Step,
    down: Step,
    transactional: bool,
}

impl Migration for Fns {
    fn name(&self) -> &str {
        self.name
    }
    fn up(&self, schema: &mut Schema) -> Result<()> {
        (self.up)(schema)
    }
    fn down(&self, schema: &mut Schema) -> Result<()> {
        (self.down)(schema)
    }
    fn transactional(&self) -> bool {
        self.transactional
    }
}

fn fns(name: &'static str, up: Step, down: Step) -> Box<dyn Migration> {
    Box::new(Fns {
        name,
        up,
        down,
        transactional: true,
    })
}

/// DESIGN.md section 4's migration.
struct CreatePostsTable;
impl Migration for CreatePostsTable {
    fn name(&self) -> &str {
        "2024_01_01_000000_create_posts_table"
    }
    fn up(&self, schema: &mut Schema) -> Result<()> {
        schema.create("posts", |table| {
            table.increments("id");
            table.string("title", 255);
            table.text("body").nullable();
            table.big_integer("user_id").unsigned();
            table
                .foreign("user_id")
                .references("id")
                .on("users")
                .on_delete("cascade");
            table.timestamps();
        })
    }
    fn down(&self, schema: &mut Schema) -> Result<()> {
        schema.drop_if_exists("posts")
    }
}

fn add_votes() -> Box<dyn Migration> {
    fns(
        "2024_01_02_000000_add_votes_to_users",
        |s| {
            s.table("users", |t| {
                t.integer("votes").default(0).index();
            })
        },
        |s| s.table("users", |t| t.drop_column("votes")),
    )
}

fn create_tags() -> Box<dyn Migration> {
    fns(
        "2024_01_03_000000_create_tags_table",
        |s| {
            s.create("tags", |t| {
                t.increments("id");
                t.string("name", 50).unique();
            })
        },
        |s| s.drop("tags"),
    )
}

/// DESIGN.md section 4, exactly as written (no `name`: the default one).
mod design {
    use orm_migrate::prelude::*;

    pub struct CreatePostsTable;
    impl Migration for CreatePostsTable {
        fn up(&self, schema: &mut Schema) -> Result<()> {
            schema.create("posts", |table| {
                table.increments("id");
                table.string("title", 255);
                table.text("body").nullable();
                table.big_integer("user_id").unsigned();
                table
                    .foreign("user_id")
                    .references("id")
                    .on("users")
                    .on_delete("cascade");
                table.timestamps();
            })
        }
        fn down(&self, schema: &mut Schema) -> Result<()> {
            schema.drop_if_exists("posts")
        }
    }
}

#[path = "migration_files/2024_03_01_000000_create_widgets_table.rs"]
mod m2024_03_01_000000_create_widgets_table;
// The same file again, as a migration moved to another module would be.
#[allow(clippy::duplicate_mod)]
#[path = "migration_files/2024_03_01_000000_create_widgets_table.rs"]
mod moved_elsewhere;

#[test]
fn a_migration_name_is_its_file_stem_whatever_its_module_path() {
    let stem = "2024_03_01_000000_create_widgets_table";
    assert_eq!(
        m2024_03_01_000000_create_widgets_table::CreateWidgetsTable.name(),
        stem
    );
    assert_eq!(moved_elsewhere::CreateWidgetsTable.name(), stem);
    assert_eq!(
        CreateUsersTable.name(),
        "2014_10_12_000000_create_users_table"
    );
}

fn base() -> Vec<Box<dyn Migration>> {
    vec![
        Box::new(CreateUsersTable),
        Box::new(CreatePostsTable),
        add_votes(),
    ]
}

fn ledger() -> orm_core::Result<Vec<(String, i64)>> {
    DB::select(
        "SELECT migration, batch FROM migrations ORDER BY migration",
        &[],
    )?
    .iter()
    .map(|r| Ok((r.get("migration")?, r.get("batch")?)))
    .collect()
}

on_every_backend! {
    fn another_tools_ledger_is_refused_and_left_as_it_is() -> Result<()> {
        // A database Laravel or Orator migrated: `migrations (id, migration, batch)`.
        Schema::on_default(|s| {
            s.create(LEDGER_TABLE, |t| {
                t.increments("id");
                t.string("migration", 255);
                t.integer("batch");
            })
        })?;
        DB::table(LEDGER_TABLE).insert(orm_core::row! {"migration" => "2014_10_12_000000_create_users_table", "batch" => 1})?;
        let migrator = Migrator::new(base());
        let foreign = |outcome: Result<()>| match outcome {
            Err(Error::ForeignLedger { table, missing }) => {
                assert_eq!((table.as_str(), missing), (LEDGER_TABLE, vec!["checksum".to_owned(), "applied_at".to_owned()]));
            }
            other => panic!("expected ForeignLedger, got {other:?}"),
        };
        foreign(migrator.run().map(|_| ()));
        foreign(migrator.status().map(|_| ()));
        foreign(migrator.rollback().map(|_| ()));
        let message = migrator.run().unwrap_err().to_string();
        assert!(message.contains("rename it"), "{message}");
        // Nothing was changed: no column added, no table created.
        let names: Vec<String> = columns(LEDGER_TABLE)?.into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["id", "migration", "batch"]);
        assert!(!table_exists("users")?);
        Ok(())
    }

    fn run_status_pretend_rollback_step_reset_refresh_fresh() -> Result<()> {
        let migrator = Migrator::new(base());
        let status = migrator.status()?;
        assert_eq!(status.len(), 3);
        assert!(status.iter().all(|s| !s.ran && s.state == MigrationState::Pending));

        // Pretend: the SQL of each pending migration, nothing run or recorded.
        let pretended = migrator.pretend()?;
        assert_eq!(pretended.len(), 3);
        assert_eq!(pretended[0].name, "2014_10_12_000000_create_users_table");
        let q = if orm_tests::backend() == orm_core::Backend::Mysql { '`' } else { '"' };
        assert!(pretended[0].statements[0].starts_with(&format!("CREATE TABLE {q}users{q}")));
        assert!(pretended[1].statements[0].contains(&format!("REFERENCES {q}users{q}")));
        let report = migrator.run_with(RunOptions { pretend: true, ..RunOptions::default() })?;
        assert_eq!(report.pretended, pretended);
        assert!(!table_exists("users")? && !table_exists(LEDGER_TABLE)?);

        // Run: one batch, in name order.
        let report = migrator.run()?;
        assert_eq!(report.applied, migrator.names());
        assert_eq!(report.batch, Some(1));
        assert_eq!(ledger()?.iter().map(|(_, b)| *b).collect::<Vec<_>>(), [1, 1, 1]);
        let names: Vec<String> = columns("users")?.into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["id", "name", "email", "password", "remember_token", "created_at", "updated_at", "votes"]
        );
        assert!(column("users", "remember_token").nullable);
        assert!(!column("users", "email").nullable);
        assert!(index("users", "users_email_unique").is_some_and(|i| i.unique));
        assert!(index("users", "users_votes_index").is_some());
        let status = migrator.status()?;
        assert!(status.iter().all(|s| s.ran && s.batch == Some(1) && s.state == MigrationState::Applied));
        assert!(status.iter().all(|s| s.applied_at.is_some()), "{status:?}");
        // Pretending a rollback or a reset: each `down`'s SQL, newest first; nothing runs.
        let rollback = migrator.pretend_rollback(None)?;
        let mut newest_first = migrator.names();
        newest_first.reverse();
        assert_eq!(rollback.iter().map(|p| p.name.clone()).collect::<Vec<_>>(), newest_first);
        assert!(rollback.last().is_some_and(|p| p.statements[0] == format!("DROP TABLE IF EXISTS {q}users{q}")), "{rollback:?}");
        assert_eq!(migrator.pretend_rollback(Some(1))?.len(), 1);
        assert_eq!(migrator.pretend_reset()?, rollback);
        assert!(table_exists("users")?);
        assert_eq!(ledger()?.len(), 3);
        let ledger_columns: Vec<String> = columns(LEDGER_TABLE)?.into_iter().map(|c| c.name).collect();
        assert_eq!(
            ledger_columns,
            ["id", "migration", "batch", "checksum", "applied_at", "down_checksum"]
        );
        assert!(index(LEDGER_TABLE, "migrations_migration_unique").is_some_and(|i| i.unique));

        // Nothing pending: nothing happens.
        assert!(migrator.run()?.applied.is_empty());

        // A new migration is a new batch; rollback reverts only that batch.
        let mut all = base();
        all.push(create_tags());
        let migrator = Migrator::new(all);
        assert_eq!(migrator.run()?.batch, Some(2));
        assert_eq!(migrator.rollback()?, ["2024_01_03_000000_create_tags_table"]);
        assert!(!table_exists("tags")?);
        assert_eq!(migrator.rollback()?.len(), 3);
        assert!(!table_exists("users")? && !table_exists("posts")?);
        assert!(ledger()?.is_empty());

        // Step: one batch each; rollback_steps(n) reverts the last n.
        let report = migrator.run_with(RunOptions { step: true, ..RunOptions::default() })?;
        assert_eq!(report.applied.len(), 4);
        assert_eq!(ledger()?.iter().map(|(_, b)| *b).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(
            migrator.rollback_steps(2)?,
            ["2024_01_03_000000_create_tags_table", "2024_01_02_000000_add_votes_to_users"]
        );
        assert!(!orm_tests::introspect::columns("users")?.iter().any(|c| c.name == "votes"));
        assert_eq!(ledger()?.len(), 2);

        // Reset reverts everything; refresh reverts and runs everything.
        assert_eq!(migrator.reset()?.len(), 2);
        assert!(ledger()?.is_empty() && !table_exists("users")?);
        migrator.run()?;
        DB::insert("INSERT INTO users (name, email, password) VALUES (?, ?, ?)", &[&"a", &"b", &"c"])?;
        let report = migrator.refresh()?;
        assert_eq!(report.applied.len(), 4);
        assert!(DB::select("SELECT id FROM users", &[])?.is_empty());

        // Fresh drops every table, even unknown ones, then runs everything.
        DB::statement("CREATE TABLE junk (id INTEGER)")?;
        let report = migrator.fresh()?;
        assert_eq!(report.applied.len(), 4);
        assert_eq!(report.batch, Some(1));
        assert!(!table_exists("junk")?);
        assert!(table_exists("tags")?);

        // A migration that creates a view runs again after fresh (probe 47f: the view
        // outlived its tables and `CREATE VIEW` failed), and a view over a view goes too.
        let mut with_view = base();
        with_view.push(create_tags());
        with_view.push(fns(
            "2099_01_01_000000_create_user_names_view",
            |s| {
                s.statement("CREATE VIEW user_names AS SELECT name FROM users")?;
                s.statement("CREATE VIEW user_names_a AS SELECT name FROM user_names WHERE name LIKE 'a%'")
            },
            |s| {
                s.statement("DROP VIEW user_names_a")?;
                s.statement("DROP VIEW user_names")
            },
        ));
        let migrator = Migrator::new(with_view);
        migrator.run()?;
        DB::statement("CREATE VIEW stray AS SELECT 1 AS one")?;
        assert_eq!(migrator.fresh()?.applied.len(), 5);
        let views = DB::with_connection(|c| Schema::new(c).get_view_listing().map_err(|e| orm_core::Error::other(e.to_string())))?;
        assert_eq!(views, ["user_names", "user_names_a"]);
        Ok(())
    }

}

// Transactional DDL only: on MySQL see `mysql_a_failing_migration_is_partially_applied`.
on_both_backends! {
    fn a_failing_migration_leaves_no_trace_at_any_statement() -> Result<()> {
        fn failing(fail_at: usize) -> Box<dyn Migration> {
            let up: Step = match fail_at {
                0 => |s| {
                    s.statement("SELECT * FROM no_such_table")?;
                    s.create("t1", |t| { t.increments("id"); })?;
                    s.create("t2", |t| { t.increments("id"); })
                },
                1 => |s| {
                    s.create("t1", |t| { t.increments("id"); })?;
                    s.statement("SELECT * FROM no_such_table")?;
                    s.create("t2", |t| { t.increments("id"); })
                },
                2 => |s| {
                    s.create("t1", |t| { t.increments("id"); })?;
                    s.create("t2", |t| { t.increments("id"); })?;
                    s.table("t1", |t| { t.string("x", 5).nullable(); })?;
                    // A SQLite table rebuild, rolled back with the rest.
                    s.table("users", |t| t.drop_column("remember_token"))?;
                    s.statement("SELECT * FROM no_such_table")
                },
                _ => |s| {
                    s.create("t1", |t| { t.increments("id"); })?;
                    // The index statement of this create fails (the name is taken).
                    s.create("t2", |t| {
                        t.increments("id");
                        t.integer("a");
                        t.index_named(&["a"], "t1_pkey_clash");
                    })?;
                    s.create("t3", |t| {
                        t.increments("id");
                        t.integer("a");
                        t.index_named(&["a"], "t1_pkey_clash");
                    })
                },
            };
            Box::new(Fns { name: "2020_01_01_000000_failing", up, down: |s| s.drop_if_exists("t1"), transactional: true })
        }
        for fail_at in 0..4 {
            let migrator = Migrator::new(vec![Box::new(CreateUsersTable), failing(fail_at), create_tags()]);
            let err = migrator.run().unwrap_err();
            let Error::MigrationFailed { migration, statement, .. } = &err else {
                panic!("unexpected error {err:?}");
            };
            assert_eq!(migration, "2020_01_01_000000_failing");
            let statement = statement.as_deref().expect("the failing statement");
            let message = err.to_string();
            assert!(message.contains("2020_01_01_000000_failing") && message.contains(statement), "{message}");
            assert_eq!(message.matches(statement).count(), 1, "the statement shown once: {message}");
            if fail_at < 3 {
                assert_eq!(statement, "SELECT * FROM no_such_table");
            } else {
                assert!(statement.contains("t1_pkey_clash"), "{statement}");
            }
            // The one before stays applied and recorded; the failing one and those
            // after it leave nothing.
            assert_eq!(ledger()?, [("2014_10_12_000000_create_users_table".to_owned(), 1)]);
            assert!(table_exists("users")?);
            for table in ["t1", "t2", "t3", "tags"] {
                assert!(!table_exists(table)?, "{table} after failing at {fail_at}");
            }
            assert!(column("users", "remember_token").nullable);
            assert!(index("users", "users_email_unique").is_some());
            let status = migrator.status()?;
            assert_eq!(status.iter().filter(|s| s.ran).count(), 1);
            Migrator::new(vec![Box::new(CreateUsersTable)]).reset()?;
        }
        Ok(())
    }

}

on_every_backend! {
    fn edited_and_missing_migrations_are_detected_and_refused_unless_forced() -> Result<()> {
        Migrator::new(vec![Box::new(CreateUsersTable), create_tags()]).run()?;

        let edited = fns(
            "2024_01_03_000000_create_tags_table",
            |s| s.create("tags", |t| { t.increments("id"); t.string("name", 80).unique(); }),
            |s| s.drop("tags"),
        );
        let migrator = Migrator::new(vec![Box::new(CreateUsersTable), edited, add_votes()]);
        let status = migrator.status()?;
        let tags = status.iter().find(|s| s.name.ends_with("create_tags_table")).unwrap();
        assert_eq!(tags.state, MigrationState::Changed);
        assert!(matches!(migrator.run().unwrap_err(), Error::ChecksumMismatch { ref migration, .. } if migration.ends_with("create_tags_table")));
        assert!(!orm_tests::introspect::columns("users")?.iter().any(|c| c.name == "votes"));
        let report = migrator.run_with(RunOptions { force: true, ..RunOptions::default() })?;
        assert_eq!(report.applied, ["2024_01_02_000000_add_votes_to_users"]);

        let missing = Migrator::new(vec![Box::new(CreateUsersTable), add_votes()]);
        let status = missing.status()?;
        let tags = status.iter().find(|s| s.name.ends_with("create_tags_table")).unwrap();
        assert_eq!((tags.state, tags.ran), (MigrationState::Missing, true));
        assert!(matches!(missing.run().unwrap_err(), Error::MissingMigration(ref name) if name.ends_with("create_tags_table")));
        missing.run_with(RunOptions { force: true, ..RunOptions::default() })?;
        // Reverting a migration the code lacks is refused.
        assert!(matches!(missing.reset().unwrap_err(), Error::MissingMigration(_)));
        assert_eq!(ledger()?.len(), 3, "nothing was reverted");
        Ok(())
    }

    fn non_transactional_migrations_and_duplicate_names() -> Result<()> {
        let outside = Box::new(Fns {
            name: "2024_03_01_000000_outside",
            up: |s| s.create("outside", |t| { t.increments("id"); }),
            down: |s| s.drop("outside"),
            transactional: false,
        });
        let migrator = Migrator::new(vec![outside]);
        migrator.run()?;
        assert!(table_exists("outside")?);
        assert_eq!(ledger()?.len(), 1);
        migrator.rollback()?;
        assert!(!table_exists("outside")?);

        let twice = Migrator::new(vec![create_tags(), create_tags()]);
        assert!(matches!(twice.run().unwrap_err(), Error::DuplicateMigration(_)));
        Ok(())
    }

    fn a_migration_dropping_a_referenced_table_fails_and_keeps_every_row() -> Result<()> {
        let create = Migrator::new(vec![fns(
            "2024_04_01_000000_create_parent_and_child",
            |s| {
                s.create("fk_parent", |t| { t.id(); })?;
                s.create("fk_child", |t| {
                    t.id();
                    t.foreign_id("fk_parent_id").constrained_to("fk_parent").cascade_on_delete();
                })
            },
            |s| {
                s.drop_if_exists("fk_child")?;
                s.drop_if_exists("fk_parent")
            },
        )]);
        create.run()?;
        DB::table("fk_parent").insert(orm_core::row! {"id" => 1})?;
        // With and without child rows (SQLite's own DROP TABLE would delete them, or,
        // with foreign keys suspended, leave the child referencing a missing table).
        for with_rows in [true, false] {
            DB::table("fk_child").delete()?;
            if with_rows {
                DB::table("fk_child").insert_many([
                    orm_core::row! {"fk_parent_id" => 1},
                    orm_core::row! {"fk_parent_id" => 1},
                ])?;
            }
            for transactional in [true, false] {
                let drop = Migrator::new(vec![Box::new(Fns {
                    name: "2024_04_02_000000_drop_parent",
                    up: |s| s.drop("fk_parent"),
                    down: |s| s.create("fk_parent", |t| { t.id(); }),
                    transactional,
                })]);
                // `force`: the migration creating the tables is not part of this migrator.
                let forced = RunOptions { force: true, ..RunOptions::default() };
                let err = drop.run_with(forced).expect_err("dropping a referenced table must fail");
                let (Error::MigrationFailed { source, .. } | Error::PartiallyApplied { source, .. }) = &err else {
                    panic!("unexpected error {err:?}");
                };
                if orm_tests::backend() == orm_core::Backend::Sqlite {
                    assert!(
                        matches!(&**source, Error::TableReferenced { table, referenced_by }
                            if table == "fk_parent" && referenced_by == &["fk_child".to_owned()]),
                        "{err:?}"
                    );
                }
                assert!(table_exists("fk_parent")?);
                assert_eq!(DB::table("fk_parent").count()?, 1);
                assert_eq!(DB::table("fk_child").count()?, if with_rows { 2 } else { 0 });
                assert_eq!(ledger()?.len(), 1, "the drop is not recorded");
            }
        }
        create.rollback()?;
        assert!(!table_exists("fk_child")? && !table_exists("fk_parent")?);
        Ok(())
    }

    fn the_design_example_runs_as_written() -> Result<()> {
        let migrator = Migrator::new(vec![Box::new(design::CreatePostsTable), Box::new(CreateUsersTable)]);
        assert_eq!(
            migrator.names(),
            ["2014_10_12_000000_create_users_table", "create_posts_table"]
        );
        migrator.run()?;
        assert_eq!(orm_tests::introspect::foreign_keys("posts")?[0].on_delete, "CASCADE");
        assert_eq!(migrator.rollback()?.len(), 2);
        assert!(!table_exists("posts")? && !table_exists("users")?);
        Ok(())
    }

    fn explicit_connections_work_like_the_default_one() -> Result<()> {
        let migrator = Migrator::new(base());
        let report = DB::with_connection(|conn| conn.scope(|| Ok(migrator.run())))??;
        assert_eq!(report.applied.len(), 3);
        assert!(DB::with_connection(|conn| conn.scope(|| Ok(migrator.status())))??.iter().all(|s| s.ran));
        assert_eq!(DB::with_connection(|conn| conn.scope(|| Ok(migrator.reset())))??.len(), 3);
        Ok(())
    }
}

/// A migrator over `migrations` whose progress lands in the returned log: `changed NAME
/// up=.. down=..`, `migrating NAME`, `rolling back NAME`.
fn logged(migrations: Vec<Box<dyn Migration>>) -> (Migrator, Rc<RefCell<Vec<String>>>) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&log);
    let migrator = Migrator::new(migrations).on_progress(move |progress| {
        let line = match progress {
            Progress::Changed {
                migration,
                up,
                down,
            } => {
                format!("changed {migration} up={up} down={down}")
            }
            Progress::Migrating(name) => format!("migrating {name}"),
            Progress::RollingBack(name) => format!("rolling back {name}"),
            _ => return,
        };
        sink.borrow_mut().push(line);
    });
    (migrator, log)
}

const TAGS: &str = "2024_01_03_000000_create_tags_table";
const VOTES: &str = "2024_01_02_000000_add_votes_to_users";
const USERS: &str = "2014_10_12_000000_create_users_table";

on_every_backend! {
    fn edited_migrations_are_named_when_forced_past_or_rolled_back() -> Result<()> {
        Migrator::new(vec![Box::new(CreateUsersTable), create_tags()]).run()?;
        let records = MigrationRecord::all()?;
        let down_sums: Vec<usize> = records
            .iter()
            .map(|r| {
                DB::select("SELECT down_checksum FROM migrations WHERE migration = ?", &[&r.migration])
                    .unwrap()[0]
                    .get::<String, _>("down_checksum")
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(down_sums, [16, 16], "applying records the down's checksum");

        // `up` edited: a forced run names it, runs only what is pending, and leaves it
        // as it ran (batch 1, its old columns).
        let edited_up = fns(
            TAGS,
            |s| s.create("tags", |t| { t.increments("id"); t.string("label", 80); }),
            |s| s.drop("tags"),
        );
        let (migrator, log) = logged(vec![Box::new(CreateUsersTable), edited_up, add_votes()]);
        let report = migrator.run_with(RunOptions { force: true, ..RunOptions::default() })?;
        assert_eq!(report.applied, [VOTES]);
        assert_eq!(
            log.take(),
            [format!("changed {TAGS} up=true down=false"), format!("migrating {VOTES}")]
        );
        assert!(ledger()?.contains(&(TAGS.to_owned(), 1)));
        assert!(columns("tags")?.iter().any(|c| c.name == "name"), "not run again");
        // Pretending `up` does not take the unchanged ones for changed.
        let (migrator, log) = logged(vec![Box::new(CreateUsersTable), create_tags(), add_votes()]);
        migrator.run_with(RunOptions { force: true, ..RunOptions::default() })?;
        assert!(log.take().is_empty());

        // Only `down` edited: rolling back names it just before running it; the
        // unchanged ones are rolled back without a word.
        let edited_down = || fns(
            TAGS,
            |s| s.create("tags", |t| { t.increments("id"); t.string("name", 50).unique(); }),
            |s| s.drop_if_exists("tags"),
        );
        let (migrator, log) = logged(vec![Box::new(CreateUsersTable), edited_down(), add_votes()]);
        assert!(migrator.run()?.applied.is_empty(), "an edited down() does not stop a run");
        migrator.reset()?;
        assert_eq!(
            log.take(),
            [
                format!("rolling back {VOTES}"),
                format!("changed {TAGS} up=false down=true"),
                format!("rolling back {TAGS}"),
                format!("rolling back {USERS}"),
            ]
        );
        assert!(!table_exists("tags")?, "rolled back with the down() as it is now");

        // refresh: the edited down() is named while resetting; what runs again is
        // recorded as it is now, so the next refresh has nothing to say.
        Migrator::new(vec![Box::new(CreateUsersTable), create_tags(), add_votes()]).run()?;
        let (migrator, log) = logged(vec![Box::new(CreateUsersTable), edited_down(), add_votes()]);
        migrator.refresh()?;
        let lines = log.take();
        assert_eq!(lines.iter().filter(|l| l.starts_with("changed")).count(), 1, "{lines:?}");
        let at = lines.iter().position(|l| *l == format!("changed {TAGS} up=false down=true"));
        assert_eq!(
            lines.get(at.map_or(usize::MAX, |at| at + 1)),
            Some(&format!("rolling back {TAGS}")),
            "{lines:?}"
        );
        migrator.refresh()?;
        assert!(!log.take().iter().any(|l| l.starts_with("changed")));

        // Both edited, rolled back one step.
        let both = fns(
            TAGS,
            |s| s.create("tags", |t| { t.increments("id"); t.string("label", 80); }),
            |s| s.statement("DROP TABLE tags"),
        );
        let (migrator, log) = logged(vec![Box::new(CreateUsersTable), both, add_votes()]);
        // One batch now (refresh): the later name is rolled back first.
        migrator.rollback_steps(2)?;
        assert_eq!(
            log.take(),
            [
                format!("changed {TAGS} up=true down=true"),
                format!("rolling back {TAGS}"),
                format!("rolling back {VOTES}"),
            ]
        );
        Ok(())
    }

    fn a_ledger_from_before_down_checksums_is_read_as_it_is_and_upgraded_by_a_run() -> Result<()> {
        // The ledger as earlier versions made it, with the users migration applied.
        Schema::on_default(|s| {
            s.create(LEDGER_TABLE, |table| {
                table.increments("id");
                table.string("migration", 255).unique();
                table.integer("batch");
                table.string("checksum", 64).nullable();
                table.timestamp("applied_at").nullable();
            })
        })?;
        let users = Migrator::new(vec![Box::new(CreateUsersTable)]);
        let statements = users.pretend()?.remove(0).statements;
        Schema::on_default(|s| CreateUsersTable.up(s))?;
        DB::execute(
            "INSERT INTO migrations (migration, batch, checksum, applied_at) VALUES (?, ?, ?, ?)",
            &[&USERS, &1i64, &orm_migrate::checksum(&statements), &chrono::Utc::now()],
        )?;
        let names = || -> Result<Vec<String>> {
            Ok(columns(LEDGER_TABLE)?.into_iter().map(|c| c.name).collect())
        };
        let old = ["id", "migration", "batch", "checksum", "applied_at"];
        assert_eq!(names()?, old);

        // Reading it changes nothing.
        let (migrator, log) = logged(vec![Box::new(CreateUsersTable), create_tags()]);
        let status = migrator.status()?;
        assert_eq!(status[0].state, MigrationState::Applied);
        assert_eq!(status[1].state, MigrationState::Pending);
        assert_eq!(names()?, old, "status upgrades no table");
        assert_eq!(MigrationRecord::count()?, 1);

        // A run adds the column; the old row keeps NULL ("not known").
        assert_eq!(migrator.run()?.applied, [TAGS]);
        assert_eq!(names()?, [&old[..], &["down_checksum"]].concat());
        let sums = DB::select(
            "SELECT migration, down_checksum FROM migrations ORDER BY migration",
            &[],
        )?;
        assert_eq!(sums[0].get::<Option<String>, _>("down_checksum")?, None);
        assert_eq!(sums[1].get::<Option<String>, _>("down_checksum")?.map(|s| s.len()), Some(16));
        assert_eq!(MigrationRecord::count()?, 2, "the model reads the upgraded ledger");
        // Upgrading again is a no-op, and the new column is used from now on.
        assert!(migrator.run()?.applied.is_empty());
        let (edited, log2) = logged(vec![
            Box::new(CreateUsersTable),
            fns(TAGS, |s| s.create("tags", |t| { t.increments("id"); t.string("name", 50).unique(); }), |s| s.drop_if_exists("tags")),
        ]);
        edited.reset()?;
        assert_eq!(
            log2.take(),
            [
                format!("changed {TAGS} up=false down=true"),
                format!("rolling back {TAGS}"),
                format!("rolling back {USERS}"),
            ]
        );
        assert_eq!(log.take(), [format!("migrating {TAGS}")]);
        assert_eq!(names()?, [&old[..], &["down_checksum"]].concat());
        Ok(())
    }
}

fn many_tables() -> Vec<Box<dyn Migration>> {
    macro_rules! table_migration {
        ($name:literal, $table:literal) => {
            fns(
                $name,
                |s| {
                    s.create($table, |t| {
                        t.increments("id");
                        t.string("name", 20).index();
                    })
                },
                |s| s.drop($table),
            )
        };
    }
    vec![
        Box::new(CreateUsersTable),
        table_migration!("2024_04_01_000001_a", "conc_a"),
        table_migration!("2024_04_01_000002_b", "conc_b"),
        table_migration!("2024_04_01_000003_c", "conc_c"),
        table_migration!("2024_04_01_000004_d", "conc_d"),
        table_migration!("2024_04_01_000005_e", "conc_e"),
    ]
}

/// Runs two migrators at once on fresh connections from `open`; returns how many
/// migrations each applied.
fn race(open: impl Fn() -> orm_core::Result<Connection> + Send + Sync + 'static) -> Vec<usize> {
    let open = Arc::new(open);
    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let open = Arc::clone(&open);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut conn = open().expect("connect");
                barrier.wait();
                conn.scope(|| Ok(Migrator::new(many_tables()).run()))
                    .and_then(|run| run.map_err(|e| orm_core::Error::Config(e.to_string())))
                    .expect("concurrent run")
                    .applied
                    .len()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("migrator thread"))
        .collect()
}

fn ledger_on(conn: &mut Connection) -> orm_core::Result<Vec<String>> {
    conn.select("SELECT migration FROM migrations ORDER BY migration", &[])?
        .iter()
        .map(|r| r.get("migration"))
        .collect()
}

#[test]
fn concurrent_sqlite_migrators_apply_each_migration_once() -> Result<()> {
    for _ in 0..3 {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("app.sqlite3").display());
        let open_url = url.clone();
        let applied = race(move || Connection::open(&open_url));
        assert_eq!(applied.iter().sum::<usize>(), 6, "{applied:?}");
        let mut conn = Connection::open(&url)?;
        assert_eq!(ledger_on(&mut conn)?.len(), 6);
        let status = conn.scope(|| Ok(Migrator::new(many_tables()).status()))??;
        assert!(status.iter().all(|s| s.state == MigrationState::Applied));
    }
    Ok(())
}

/// A migrator that finds SQLite's write lock held for longer than the connection's busy
/// timeout (a long migration of another migrator, here a writer's open transaction)
/// waits for it, as a second migrator waits on PostgreSQL's advisory lock, instead of
/// failing with "database is locked".
#[test]
fn a_sqlite_migrator_waits_for_the_write_lock_past_the_busy_timeout() -> Result<()> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!(
        "sqlite://{}?busy_timeout=50",
        dir.path().join("app.sqlite3").display()
    );
    let (holding, held) = std::sync::mpsc::channel();
    let holder = {
        let url = url.clone();
        std::thread::spawn(move || -> orm_core::Result<()> {
            let mut conn = Connection::open(&url)?;
            conn.execute_batch("CREATE TABLE other_writes (id INTEGER PRIMARY KEY)")?;
            let mut tx = conn.begin()?;
            tx.execute("INSERT INTO other_writes (id) VALUES (1)", &[])?;
            let _ = holding.send(());
            std::thread::sleep(std::time::Duration::from_millis(700));
            tx.commit()
        })
    };
    if held
        .recv_timeout(std::time::Duration::from_secs(30))
        .is_err()
    {
        holder.join().expect("holder thread")?;
        panic!("the writer never took the lock");
    }
    let mut conn = Connection::open(&url)?;
    let run = conn.scope(|| Ok(Migrator::new(many_tables()).run()))??;
    assert_eq!(run.applied.len(), 6);
    holder.join().expect("holder thread")?;
    assert_eq!(ledger_on(&mut conn)?.len(), 6);
    Ok(())
}

#[test]
fn concurrent_postgres_migrators_apply_each_migration_once() -> Result<()> {
    let url = orm_core::testing::postgres_url();
    let mut setup = match Connection::open(&url) {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: PostgreSQL test (no server reachable: {e})");
            return Ok(());
        }
        Err(e) => panic!("PostgreSQL tests must run in CI: {e}"),
    };
    for round in 0..3 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let schema = format!("orm_migrate_race_{}_{round}_{nanos}", std::process::id());
        setup.execute_batch(&format!("CREATE SCHEMA \"{schema}\""))?;
        let open_url = url.clone();
        let open_schema = schema.clone();
        let applied = race(move || {
            let mut conn = Connection::open(&open_url)?;
            conn.execute_batch(&format!("SET search_path TO \"{open_schema}\""))?;
            Ok(conn)
        });
        setup.execute_batch(&format!("SET search_path TO \"{schema}\""))?;
        let ledger = ledger_on(&mut setup);
        setup.execute_batch(&format!(
            "SET search_path TO public; DROP SCHEMA \"{schema}\" CASCADE"
        ))?;
        assert_eq!(applied.iter().sum::<usize>(), 6, "{applied:?}");
        assert_eq!(ledger?.len(), 6);
    }
    Ok(())
}

/// MySQL commits each DDL statement: a migration failing at its third statement leaves
/// the first two applied, is not recorded, and says which ran; one failing at its first
/// statement is an ordinary failure that left nothing.
#[test]
fn mysql_a_failing_migration_is_partially_applied() -> Result<()> {
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    let partial = Fns {
        name: "2020_01_01_000000_partial",
        up: |s| {
            s.create("t1", |t| {
                t.increments("id");
            })?;
            s.create("t2", |t| {
                t.increments("id");
            })?;
            s.statement("SELECT * FROM no_such_table")
        },
        down: |s| s.drop_if_exists("t1"),
        transactional: true,
    };
    let migrator = Migrator::new(vec![Box::new(CreateUsersTable), Box::new(partial)]);
    let err = migrator.run().unwrap_err();
    let Error::PartiallyApplied {
        migration,
        ran,
        source,
    } = &err
    else {
        panic!("unexpected error {err:?}");
    };
    assert_eq!((migration.as_str(), *ran), ("2020_01_01_000000_partial", 2));
    assert!(
        matches!(**source, Error::MigrationFailed { .. }),
        "{source:?}"
    );
    assert_eq!(err.statement(), Some("SELECT * FROM no_such_table"));
    let message = err.to_string();
    assert!(
        message.contains("partially applied: its first 2 statements ran"),
        "{message}"
    );
    // The failing statement and the database's reason are in the message (craft prints
    // only the top-level message).
    assert!(
        message.contains("SELECT * FROM no_such_table")
            && message.contains("no_such_table' doesn't exist"),
        "{message}"
    );
    // What ran stays; the ledger does not claim the migration applied: it marks it
    // partial, and nothing runs or rolls back until that is resolved.
    assert!(table_exists("t1")? && table_exists("t2")?);
    let partial = "2020_01_01_000000_partial";
    let state = |migrator: &Migrator| -> Result<MigrationState> {
        Ok(migrator
            .status()?
            .into_iter()
            .find(|s| s.name == partial)
            .expect("listed")
            .state)
    };
    assert_eq!(state(&migrator)?, MigrationState::Partial);
    for refused in [migrator.run().map(drop), migrator.rollback().map(drop)] {
        assert!(
            matches!(&refused, Err(Error::UnresolvedMigration { migration, ran: 2 }) if migration == partial),
            "{refused:?}"
        );
    }
    assert!(matches!(
        migrator.resolve("2014_10_12_000000_create_users_table", false),
        Err(Error::NothingToResolve(_))
    ));
    // Undone by hand, then resolved as rolled back: forgotten, it runs (and fails) again.
    DB::unprepared("DROP TABLE t2; DROP TABLE t1")?;
    migrator.resolve(partial, false)?;
    assert_eq!(state(&migrator)?, MigrationState::Pending);
    assert!(matches!(
        migrator.run(),
        Err(Error::PartiallyApplied { ran: 2, .. })
    ));
    // Finished by hand, then resolved as applied: recorded, nothing left to run.
    migrator.resolve(partial, true)?;
    assert_eq!(state(&migrator)?, MigrationState::Applied);
    assert!(migrator.run()?.applied.is_empty());
    migrator.rollback()?;
    assert!(!table_exists("t1")?);
    DB::statement("DROP TABLE t2")?;
    assert_eq!(
        ledger()?,
        [("2014_10_12_000000_create_users_table".to_owned(), 1)]
    );

    let first = Fns {
        name: "2020_01_02_000000_first",
        up: |s| s.statement("SELECT * FROM no_such_table"),
        down: |s| s.drop_if_exists("t3"),
        transactional: true,
    };
    let err = Migrator::new(vec![Box::new(CreateUsersTable), Box::new(first)])
        .run()
        .unwrap_err();
    assert!(matches!(err, Error::MigrationFailed { .. }), "{err:?}");
    Ok(())
}

// Data work in a migration (Laravel's `DB::table(..)` in `up()`): through `schema.run`
// it is on the migration's connection, in its transaction; outside it, refused rather
// than run on another connection of the pool.
on_every_backend! {
    fn data_work_in_a_migration_runs_in_its_transaction() -> Result<()> {
        let seeded = seed_settings;
        Migrator::new(vec![seeded()]).run()?;
        let keys: Vec<String> = DB::table("settings").order_by("id").pluck("key")?;
        assert_eq!(keys, ["theme", "locale"]);

        // A migration that updates rows and then fails keeps no update where DDL is
        // transactional (MySQL's migrations are not atomic: documented).
        let failing = fns(
            "2024_03_02_000000_fail_after_update",
            |s| {
                s.run(|| DB::table("settings").update(orm_core::row! {"key" => "changed"}).map(drop))?;
                s.statement("CREATE TABLE settings (id INTEGER)")
            },
            |_| Ok(()),
        );
        let failed = Migrator::new(vec![seeded(), failing]).run();
        assert!(matches!(failed, Err(Error::MigrationFailed { .. }) | Err(Error::PartiallyApplied { .. })), "{failed:?}");
        let keys: Vec<String> = DB::table("settings").order_by("id").pluck("key")?;
        if orm_tests::backend() == orm_core::Backend::Mysql {
            assert_eq!(keys, ["changed", "changed"]);
        } else {
            assert_eq!(keys, ["theme", "locale"]);
        }

        // Outside `run`: a typed error, and the migration is not recorded.
        let outside = fns(
            "2024_03_03_000000_outside_run",
            |_| DB::table("settings").insert(orm_core::row! {"key" => "lost"}).map(drop).map_err(Into::into),
            |_| Ok(()),
        );
        if orm_tests::backend() == orm_core::Backend::Mysql {
            // The failed one is recorded as partly applied there: mark it rolled back.
            Migrator::new(vec![seeded()]).resolve("2024_03_02_000000_fail_after_update", false)?;
        }
        let result = Migrator::new(vec![seeded(), outside]).run();
        let message = format!("{result:?}");
        assert!(message.contains("ConnectionInUse"), "{message}");
        assert_eq!(DB::table("settings").where_eq("key", "lost").count()?, 0);
        Ok(())
    }
}

fn seed_settings() -> Box<dyn Migration> {
    fns(
        "2024_03_01_000000_seed_settings",
        |s| {
            s.create("settings", |t| {
                t.increments("id");
                t.string("key", 50);
            })?;
            s.run(|| {
                DB::table("settings")
                    .insert(orm_core::row! {"key" => "theme"})
                    .map(drop)
            })?;
            s.run(|| {
                DB::transaction(|| {
                    DB::table("settings")
                        .insert(orm_core::row! {"key" => "locale"})
                        .map(drop)
                })
            })
        },
        |s| s.drop("settings"),
    )
}

// A `down` that fails half-way: where DDL is transactional nothing of it is kept and
// the migration stays applied; on MySQL what ran is kept, so the row is marked partly
// applied (to resolve) rather than `Applied` over a half-reverted schema.
on_every_backend! {
    fn a_down_failing_half_way_is_resolvable() -> Result<()> {
        let two_tables = || {
            fns(
                "2024_04_01_000000_two_tables",
                |s| {
                    s.create("tags", |t| {
                        t.increments("id");
                    })?;
                    s.create("labels", |t| {
                        t.increments("id");
                    })
                },
                |s| {
                    s.drop("labels")?;
                    s.statement("DROP TABLE tagz")?;
                    s.drop("tags")
                },
            )
        };
        let migrator = Migrator::new(vec![two_tables()]);
        migrator.run()?;
        let failed = migrator.rollback();
        assert!(failed.is_err());
        let state = migrator.status()?[0].state;
        if orm_tests::backend() == orm_core::Backend::Mysql {
            assert!(matches!(failed, Err(Error::PartiallyApplied { ran: 1, .. })), "{failed:?}");
            assert_eq!(state, MigrationState::Partial);
            assert!(!table_exists("labels")?);
            // Finished by hand, then resolved as rolled back.
            DB::statement("DROP TABLE tags")?;
            migrator.resolve("2024_04_01_000000_two_tables", false)?;
            assert_eq!(migrator.status()?[0].state, MigrationState::Pending);
        } else {
            assert_eq!(state, MigrationState::Applied);
            assert!(table_exists("labels")? && table_exists("tags")?);
        }
        Ok(())
    }
}

/// A migration that panics (a bug in the app's own code) ends the runner with an error
/// line and a failing exit status, as a failing migration does, not Rust's crash report
/// (probe 47f); nothing of it is kept.
#[test]
fn a_panicking_migration_ends_the_runner_with_an_error() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("panics.sqlite3").display());
    let migrations = || {
        vec![fns(
            "2099_01_01_000000_create_half_table",
            |s| {
                s.create("half", |t| {
                    t.increments("id");
                })?;
                panic!("boom in up")
            },
            |s| s.drop_if_exists("half"),
        )]
    };
    let command = orm_migrate::cli::MigrateCommand::Migrate {
        pretend: false,
        force: false,
        seed: false,
        step: false,
        database: orm_migrate::cli::DatabaseArg {
            database: Some(url.clone()),
        },
    };
    let code = orm_migrate::cli::run_app_command(migrations(), Vec::new(), &command);
    assert_eq!(code, std::process::ExitCode::FAILURE);
    // The runner's panic hook is put back: a later panic reaches the test harness as usual.
    assert!(std::panic::catch_unwind(|| panic!("after")).is_err());
    let mut conn = Connection::open(&url).expect("the database");
    let tables: Vec<String> = conn
        .query_map(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'half'",
            &[],
            |r| r.get::<String, _>(&0),
        )
        .expect("the listing");
    assert!(tables.is_empty(), "{tables:?}");
}
