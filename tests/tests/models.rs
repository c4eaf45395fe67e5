//! `#[derive(Model)]` and the active-record write paths, on both backends.

use orm_core::prelude::*;
use orm_tests::{on_both_backends, per_backend};

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "users", timestamps, soft_deletes)]
pub struct User {
    #[model(primary_key)]
    pub id: Option<i64>,
    pub name: String,
    pub email: String,
    #[model(hidden)]
    pub password: String,
    pub votes: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(skip)]
    pub scratch: Vec<String>,
}

/// A model with a natural (non auto-increment) key and hooks.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(primary_key = "code", hooks)]
pub struct Country {
    pub code: String,
    #[model(column = "country_name")]
    pub name: String,
}

impl ModelHooks for Country {
    fn saving(&mut self) -> Result<()> {
        if self.name.is_empty() {
            return Err(Error::InvalidQuery("a country needs a name".into()));
        }
        self.code = self.code.to_uppercase();
        Ok(())
    }
}

fn schema() -> Result<()> {
    DB::statement(per_backend(
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, \
         email TEXT NOT NULL UNIQUE, password TEXT NOT NULL, votes INTEGER NOT NULL DEFAULT 0, \
         created_at TEXT, updated_at TEXT, deleted_at TEXT)",
        "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, \
         email TEXT NOT NULL UNIQUE, password TEXT NOT NULL, votes INTEGER NOT NULL DEFAULT 0, \
         created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ)",
    ))?;
    DB::statement(
        "CREATE TABLE countries (code VARCHAR(2) PRIMARY KEY, country_name TEXT NOT NULL)",
    )?;
    Ok(())
}

fn ada() -> User {
    User {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        password: "secret".into(),
        ..Default::default()
    }
}

on_both_backends! {
    fn save_inserts_then_updates_and_fills_key_and_timestamps() {
        schema()?;
        let mut u = ada();
        u.save()?;
        let id = u.id.expect("key filled");
        let created = u.created_at.expect("created_at set");
        assert_eq!(u.updated_at, Some(created));

        let found = User::find(id)?.expect("found");
        assert_eq!(found, User { scratch: vec![], ..u.clone() });

        std::thread::sleep(std::time::Duration::from_millis(5));
        u.name = "Ada L.".into();
        u.save()?;
        assert_eq!(u.id, Some(id));
        assert!(u.updated_at.unwrap() > created);
        let found = User::find_or_fail(id)?;
        assert_eq!(found.name, "Ada L.");
        assert_eq!(found.created_at, Some(created));
        assert_eq!(found.updated_at, u.updated_at);
        assert_eq!(DB::select("SELECT COUNT(*) AS n FROM users", &[])?[0].get::<i64, _>("n")?, 1);
        Ok(())
    }

    fn find_or_fail_names_model_and_key() {
        schema()?;
        match User::find_or_fail(42) {
            Err(Error::NotFound { model, key }) => {
                assert_eq!(model, "User");
                assert_eq!(key, "id = 42");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert_eq!(User::find(42)?, None);
        Ok(())
    }

    fn soft_delete_hides_restore_brings_back_force_delete_removes() {
        schema()?;
        let mut u = User::create(ada())?;
        let id = u.id.unwrap();
        u.delete()?;
        assert!(u.trashed());
        assert_eq!(User::find(id)?, None);
        let raw = DB::select("SELECT deleted_at FROM users WHERE id = ?", &[&id])?;
        assert!(raw[0].get::<Option<DateTime<Utc>>, _>("deleted_at")?.is_some());
        u.restore()?;
        assert!(!u.trashed());
        assert!(User::find(id)?.is_some());
        u.force_delete()?;
        assert!(DB::select("SELECT id FROM users", &[])?.is_empty());
        Ok(())
    }

    fn natural_keys_insert_or_update_and_hooks_can_cancel() {
        schema()?;
        let mut c = Country { code: "fr".into(), name: "France".into() };
        c.save()?;
        assert_eq!(c.code, "FR");
        c.name = "République française".into();
        c.save()?;
        assert_eq!(Country::find("FR")?.unwrap().name, "République française");
        assert_eq!(DB::select("SELECT COUNT(*) AS n FROM countries", &[])?[0].get::<i64, _>("n")?, 1);

        let mut nameless = Country { code: "xx".into(), name: String::new() };
        assert!(matches!(nameless.save(), Err(Error::InvalidQuery(_))));
        assert_eq!(Country::find("XX")?, None);
        Ok(())
    }

    fn refresh_touch_save_only_and_destroy() {
        schema()?;
        let mut u = User::create(ada())?;
        let id = u.id.unwrap();
        DB::update("UPDATE users SET votes = ? WHERE id = ?", &[&7, &id])?;
        u.refresh()?;
        assert_eq!(u.votes, 7);

        u.name = "not written".into();
        u.votes = 9;
        u.save_only(&["votes"])?;
        let stored = User::find(id)?.unwrap();
        assert_eq!((stored.name.as_str(), stored.votes), ("Ada", 9));

        let before = stored.updated_at;
        std::thread::sleep(std::time::Duration::from_millis(5));
        u.touch()?;
        assert!(User::find(id)?.unwrap().updated_at > before);

        let mut other = User { email: "b@x".into(), ..ada() };
        other.save()?;
        assert_eq!(User::destroy([id, other.id.unwrap(), 999])?, 2);
        assert_eq!(User::find(id)?, None);
        Ok(())
    }

    fn hidden_fields_are_not_serialised() {
        schema()?;
        let u = User::create(ada())?;
        let json = u.to_json();
        assert_eq!(json["name"], "Ada");
        assert!(json.get("password").is_none());
        assert!(json.get("scratch").is_none());
        Ok(())
    }

    fn explicit_connection_variants() {
        schema()?;
        DB::with_connection(|conn| {
            let mut u = ada();
            u.save_on(conn)?;
            let id = u.id.unwrap();
            assert_eq!(User::find_on(conn, id)?.unwrap().email, "ada@example.com");
            u.delete_on(conn)?;
            assert!(User::find_on(conn, id)?.is_none());
            Ok(())
        })
    }

    fn models_in_a_transaction_roll_back_together() {
        schema()?;
        let result = DB::transaction(|| {
            User::create(ada())?;
            User::create(ada())?; // duplicate email
            Ok(())
        });
        assert!(matches!(result, Err(Error::UniqueViolation { .. })));
        assert!(DB::select("SELECT id FROM users", &[])?.is_empty());
        Ok(())
    }
}

#[test]
fn default_table_names_follow_the_conventions() {
    #[derive(Debug, Default, Model)]
    struct Category {
        id: Option<i64>,
    }
    #[derive(Debug, Default, Model)]
    struct Person {
        id: Option<i32>,
    }
    assert_eq!(Category::meta().table, "categories");
    assert_eq!(Person::meta().table, "people");
    assert_eq!(User::meta().columns.len(), 8);
    assert!(User::meta().incrementing);
    assert!(!Country::meta().incrementing);
    assert_eq!(Country::meta().columns, ["code", "country_name"]);
}
