//! orm-migrate's default models (`User`, `MigrationRecord`) against the tables its
//! migrator and default migration create, on both backends.

use orm_core::prelude::*;
use orm_migrate::models::{MigrationRecord, User};
use orm_migrate::{CreateUsersTable, Migrator, RunOptions, LEDGER_TABLE};
use orm_tests::on_every_backend;

fn migrator() -> Migrator {
    Migrator::new(vec![Box::new(CreateUsersTable)])
}

on_every_backend! {
    fn user_model_matches_the_users_migration() -> orm_migrate::Result<()> {
        migrator().run()?;
        let mut ada = User {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            password: "hashed-secret".into(),
            ..Default::default()
        };
        ada.save()?;
        let id = ada.id.expect("key filled on insert");
        assert!(ada.created_at.is_some() && ada.updated_at.is_some());

        let found = User::find(id)?.expect("saved user found");
        assert_eq!(found.name, "Ada");
        assert_eq!(found.email, "ada@example.com");
        assert_eq!(found.password, "hashed-secret");
        assert_eq!(found.remember_token, None);
        assert_eq!(found.created_at.map(|t| t.timestamp()), ada.created_at.map(|t| t.timestamp()));

        let mut found = found;
        found.remember_token = Some("token".into());
        found.save()?;
        assert_eq!(User::find(id)?.and_then(|u| u.remember_token).as_deref(), Some("token"));

        // The password is hidden from serialization.
        let json = serde_json::to_value(&found).expect("serializes");
        assert!(json.get("password").is_none(), "{json}");
        assert_eq!(json["email"], "ada@example.com");

        // `email` is unique.
        let mut twin = User { id: None, ..found.clone() };
        let err = twin.save().expect_err("duplicate email refused");
        assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
        assert_eq!(User::count()?, 1);
        Ok(())
    }

    fn migration_record_reads_the_ledger() -> orm_migrate::Result<()> {
        struct CreatePostsTable;
        impl orm_migrate::Migration for CreatePostsTable {
            fn name(&self) -> &str {
                "2024_01_01_000000_create_posts_table"
            }
            fn up(&self, schema: &mut orm_migrate::Schema) -> orm_migrate::Result<()> {
                schema.create("posts", |t| {
                    t.increments("id");
                })
            }
            fn down(&self, schema: &mut orm_migrate::Schema) -> orm_migrate::Result<()> {
                schema.drop_if_exists("posts")
            }
        }
        let migrator = Migrator::new(vec![Box::new(CreateUsersTable), Box::new(CreatePostsTable)]);
        migrator.run_with(RunOptions { step: true, ..RunOptions::default() })?;

        assert_eq!(MigrationRecord::meta().table, LEDGER_TABLE);
        let records = MigrationRecord::query().order_by("batch").get()?;
        let summary: Vec<(&str, i64)> =
            records.iter().map(|r| (r.migration.as_str(), r.batch)).collect();
        assert_eq!(
            summary,
            [
                ("2014_10_12_000000_create_users_table", 1),
                ("2024_01_01_000000_create_posts_table", 2)
            ]
        );
        let status = migrator.status()?;
        for (record, status) in records.iter().zip(&status) {
            assert!(record.id.is_some());
            assert_eq!(record.checksum.as_deref().map(str::len), Some(16));
            assert!(record.applied_at.is_some(), "applied_at decodes: {record:?}");
            assert_eq!(record.applied_at, status.applied_at);
        }

        migrator.rollback()?;
        let left: Vec<String> = MigrationRecord::all()?.into_iter().map(|r| r.migration).collect();
        assert_eq!(left, ["2014_10_12_000000_create_users_table"]);
        migrator.reset()?;
        assert_eq!(MigrationRecord::count()?, 0);
        Ok(())
    }
}
