//! Issue 14, items 1, 2, 5, 6 and the model half of 10: creating never overwrites,
//! `save` writes only what changed (a `ModelState` field), version columns refuse stale
//! writes, caller-set timestamps are kept, table defaults apply, and a model read from a
//! named connection keeps using it. Also what a model remembers of its writes
//! (`get_changes`, `was_changed`, `was_recently_created`, `discard_changes`), quiet
//! writes and `replicate`, after Laravel's `EloquentModelTest`.

use std::cell::RefCell;

use orm_core::prelude::*;
use orm_tests::{backend, on_every_backend, per_backend};

/// A model with a state field: dirty-only writes.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "users", timestamps, soft_deletes, hooks)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    pub votes: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
    pub state: ModelState,
}

thread_local! {
    static HOOKS: RefCell<Vec<&'static str>> = const { RefCell::new(Vec::new()) };
}

impl orm_migrate::factory::Factory for User {
    fn definition(f: &mut orm_migrate::factory::Fakes) -> User {
        User {
            name: format!("made {}", f.index()),
            ..Default::default()
        }
    }
}

fn hooks() -> Vec<&'static str> {
    HOOKS.with(|h| std::mem::take(&mut *h.borrow_mut()))
}

fn record(hook: &'static str) -> Result<()> {
    HOOKS.with(|h| h.borrow_mut().push(hook));
    Ok(())
}

impl ModelHooks for User {
    fn saving(&mut self) -> Result<()> {
        record("saving")
    }
    fn saved(&mut self) -> Result<()> {
        record("saved")
    }
    fn creating(&mut self) -> Result<()> {
        record("creating")
    }
    fn created(&mut self) -> Result<()> {
        record("created")
    }
    fn updating(&mut self) -> Result<()> {
        record("updating")
    }
    fn updated(&mut self) -> Result<()> {
        record("updated")
    }
    fn deleting(&mut self) -> Result<()> {
        record("deleting")
    }
    fn deleted(&mut self) -> Result<()> {
        record("deleted")
    }
    fn restoring(&mut self) -> Result<()> {
        record("restoring")
    }
    fn restored(&mut self) -> Result<()> {
        record("restored")
    }
}

/// The same table without a state field: key-based `save`, `create` always inserts.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "users", timestamps, soft_deletes)]
pub struct PlainUser {
    pub id: Option<i64>,
    pub name: String,
    pub votes: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Optimistic locking without a state field.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "accounts", timestamps, soft_deletes)]
pub struct Account {
    pub id: Option<i64>,
    pub owner: String,
    pub balance: i64,
    #[model(version)]
    pub version: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Optimistic locking with a state field.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "accounts", timestamps, soft_deletes)]
pub struct TrackedAccount {
    pub id: Option<i64>,
    pub owner: String,
    pub balance: i64,
    #[model(version)]
    pub version: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub state: ModelState,
}

/// Columns whose table default applies while the field is `None`.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "posts")]
pub struct Post {
    pub id: Option<i64>,
    pub user_id: Option<i64>,
    pub title: String,
    #[model(default)]
    pub status: Option<String>,
    #[model(default)]
    pub rank: Option<i64>,
    pub state: ModelState,
}

/// The same, without a state field.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "posts")]
pub struct PlainPost {
    pub id: Option<i64>,
    pub user_id: Option<i64>,
    pub title: String,
    #[model(default)]
    pub status: Option<String>,
    #[model(default)]
    pub rank: Option<i64>,
}

fn schema() -> Result<()> {
    DB::statement(per_backend(
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, \
         votes INTEGER NOT NULL DEFAULT 0, created_at TEXT, updated_at TEXT, deleted_at TEXT)",
        "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, \
         votes INTEGER NOT NULL DEFAULT 0, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, \
         deleted_at TIMESTAMPTZ)",
    ))?;
    DB::statement(per_backend(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, \
         balance INTEGER NOT NULL, version INTEGER NOT NULL, created_at TEXT, updated_at TEXT, \
         deleted_at TEXT)",
        "CREATE TABLE accounts (id BIGSERIAL PRIMARY KEY, owner TEXT NOT NULL, \
         balance BIGINT NOT NULL, version INTEGER NOT NULL, created_at TIMESTAMPTZ, \
         updated_at TIMESTAMPTZ, deleted_at TIMESTAMPTZ)",
    ))?;
    DB::statement(per_backend(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER, \
         title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft', rank INTEGER DEFAULT 5)",
        "CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, user_id BIGINT, \
         title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft', rank BIGINT DEFAULT 5)",
    ))?;
    Ok(())
}

fn alice() -> Result<User> {
    let mut alice = User {
        name: "Alice".into(),
        votes: 5,
        ..Default::default()
    };
    alice.save()?;
    hooks();
    Ok(alice)
}

/// A user's row as stored: name, votes, created_at, deleted_at.
type StoredUser = (String, i32, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

fn stored_user(id: i64) -> Result<StoredUser> {
    let row = &DB::select(
        "SELECT name, votes, created_at, deleted_at FROM users WHERE id = ?",
        &[&id],
    )?[0];
    Ok((
        row.get("name")?,
        row.get("votes")?,
        row.get("created_at")?,
        row.get("deleted_at")?,
    ))
}

fn the_time() -> DateTime<Utc> {
    "2001-02-03T04:05:06.123456Z".parse().unwrap()
}

// ----- 1. creating never overwrites ------------------------------------------------------

on_every_backend! {
    fn a_model_saved_in_a_rolled_back_transaction_is_written_again() {
        // The rollback undoes the rows; the model's state follows it, so the next save
        // writes again what the rolled-back one wrote (Eloquent's would skip it).
        schema()?;
        let mut bob = User { name: "Bob".into(), votes: 1, ..Default::default() };
        let failed = DB::transaction(|| {
            bob.save()?;
            Err::<(), _>(Error::other("changed my mind"))
        });
        assert!(failed.is_err());
        assert_eq!(User::with_trashed().count()?, 0);
        assert!(!bob.state.is_stored(), "the insert was rolled back");
        bob.save()?;
        let id = bob.id.unwrap();
        assert_eq!(stored_user(id)?.0, "Bob");
        // Two updates rolled back: both columns are written by the next save.
        let _ = DB::transaction(|| {
            bob.name = "Robert".into();
            bob.save()?;
            bob.votes = 2;
            bob.save()?;
            Err::<(), _>(Error::other("no"))
        });
        assert_eq!(stored_user(id)?.0, "Bob");
        assert!(bob.state.is_stored());
        bob.save()?;
        assert_eq!((stored_user(id)?.0, stored_user(id)?.1), ("Robert".to_owned(), 2));
        // A savepoint rolled back inside a committed transaction: only its write returns.
        DB::transaction(|| {
            bob.votes = 3;
            bob.save()?;
            let _ = DB::transaction(|| {
                bob.name = "Bobby".into();
                bob.save()?;
                Err::<(), _>(Error::other("inner"))
            });
            Ok(())
        })?;
        assert_eq!((stored_user(id)?.0, stored_user(id)?.1), ("Robert".to_owned(), 3));
        bob.save()?;
        assert_eq!((stored_user(id)?.0, stored_user(id)?.1), ("Bobby".to_owned(), 3));
        // A savepoint released into a transaction that then rolls back.
        let _ = DB::transaction(|| {
            DB::transaction(|| {
                bob.votes = 4;
                bob.save()
            })?;
            Err::<(), _>(Error::other("outer"))
        });
        assert_eq!(stored_user(id)?.1, 3);
        bob.save()?;
        assert_eq!(stored_user(id)?.1, 4);
        // A delete rolled back: the model is stored again, and a save updates its row.
        let _ = DB::transaction(|| {
            bob.force_delete()?;
            Err::<(), _>(Error::other("keep it"))
        });
        assert!(bob.state.is_stored());
        bob.name = "Bob again".into();
        bob.save()?;
        assert_eq!(User::with_trashed().count()?, 1);
        assert_eq!(stored_user(id)?.0, "Bob again");
        // Committed writes are kept as they are: nothing to write after them.
        DB::transaction(|| {
            bob.votes = 5;
            bob.save()
        })?;
        hooks();
        bob.save()?;
        assert_eq!(hooks(), ["saving", "saved"], "a clean save writes nothing");
        Ok(())
    }

    fn after_a_rollback_the_dirty_checks_answer_from_the_stored_row() {
        // SQLAlchemy's test_transaction (attributes expire on rollback): the readers of
        // the state see what the row holds, not the values the rolled-back write left.
        schema()?;
        let mut bob = User::create(User { name: "Bob".into(), votes: 1, ..Default::default() })?;
        let id = bob.id.unwrap();
        let _ = DB::transaction(|| {
            bob.votes = 5;
            bob.save()?;
            Err::<(), _>(Error::other("no"))
        });
        assert_eq!(stored_user(id)?.1, 1);
        assert!(bob.is_dirty()?, "votes 5 is not stored");
        assert!(bob.is_dirty_column("votes")?);
        assert!(!bob.is_dirty_column("name")?);
        assert_eq!(bob.get_original("votes"), Some(Value::Int(1)));
        assert!(bob.get_dirty()?.iter().any(|(c, v)| *c == "votes" && *v == Value::Int(5)));
        // Discarding puts back what the row holds, and a save then writes nothing.
        bob.discard_changes()?;
        assert_eq!(bob.votes, 1);
        assert!(!bob.is_dirty()?);
        bob.save()?;
        assert_eq!(stored_user(id)?.1, 1);
        // A savepoint rolled back inside a committed transaction.
        DB::transaction(|| {
            bob.name = "Robert".into();
            bob.save()?;
            let _ = DB::transaction(|| {
                bob.votes = 9;
                bob.save()?;
                Err::<(), _>(Error::other("inner"))
            });
            Ok(())
        })?;
        assert_eq!(bob.get_original("name"), Some(Value::from("Robert")));
        assert_eq!(bob.get_original("votes"), Some(Value::Int(1)));
        assert!(bob.is_dirty_column("votes")? && !bob.is_dirty_column("name")?);
        // An insert rolled back: not recently created, nothing original, all dirty.
        let mut eve = User { name: "Eve".into(), ..Default::default() };
        let _ = DB::transaction(|| {
            eve.save()?;
            Err::<(), _>(Error::other("no"))
        });
        assert!(!eve.was_recently_created());
        assert_eq!(eve.get_original("name"), None);
        assert!(eve.is_dirty()?);
        // Nothing rolled back: the readers answer as before.
        let mut ann = User::create(User { name: "Ann".into(), ..Default::default() })?;
        assert!(ann.was_recently_created() && !ann.is_dirty()?);
        ann.votes = 2;
        assert!(ann.is_dirty_column("votes")?);
        Ok(())
    }

    fn a_model_saved_through_a_dropped_transaction_handle_is_new_again() {
        // The explicit handle (`conn.begin()`), dropped without commit: its rollback
        // reaches the model's state as `DB::transaction`'s does.
        schema()?;
        let mut eve = User { name: "Eve".into(), ..Default::default() };
        DB::with_connection(|conn| {
            let mut tx = conn.begin()?;
            tx.scope(|| eve.save())?;
            assert!(eve.state.is_stored());
            Ok(())
        })?;
        assert!(!eve.state.is_stored(), "the handle was dropped: rolled back");
        eve.save()?;
        assert_eq!(User::with_trashed().count()?, 1);
        // Committed through the handle: stored, and a clean save writes nothing.
        let mut mallory = User { name: "Mallory".into(), ..Default::default() };
        DB::with_connection(|conn| {
            let mut tx = conn.begin()?;
            tx.scope(|| mallory.save())?;
            tx.commit()
        })?;
        assert!(mallory.state.is_stored());
        hooks();
        mallory.save()?;
        assert_eq!(hooks(), ["saving", "saved"]);
        assert_eq!(User::with_trashed().count()?, 2);
        Ok(())
    }

    fn a_failed_save_many_or_push_leaves_the_models_as_they_were() {
        // Laravel's EloquentPushTest, retried: after a failure part-way, what the first
        // saves changed in memory (keys, state, timestamps) is put back, so fixing the
        // bad model and calling again stores everything, nothing silently skipped.
        schema()?;
        DB::statement("CREATE UNIQUE INDEX posts_title_unique ON posts (title)")?;
        let alice = alice()?;
        Post::create(Post { title: "taken".into(), ..Default::default() })?;
        let mut posts = vec![
            Post { title: "a".into(), ..Default::default() },
            Post { title: "taken".into(), ..Default::default() },
        ];
        let failed = alice.posts().save_many(&mut posts);
        assert!(matches!(failed, Err(Error::UniqueViolation { .. })), "{failed:?}");
        assert_eq!(Post::count()?, 1);
        assert!(posts.iter().all(|p| p.id.is_none() && !p.state.is_stored()));
        posts[1].title = "b".into();
        alice.posts().save_many(&mut posts)?;
        let mut titles: Vec<String> = Post::query().pluck("title")?;
        titles.sort();
        assert_eq!(titles, ["a", "b", "taken"]);

        let id = alice.id.unwrap();
        let mut alice = User::query().with(&["posts"]).find_or_fail(id)?;
        let updated_at = alice.updated_at;
        std::thread::sleep(std::time::Duration::from_millis(5));
        alice.name = "Alice L.".into();
        let posts = alice.posts.loaded_mut().expect("loaded");
        posts[0].title = "a, changed".into();
        posts[1].title = "taken".into();
        let failed = alice.push();
        assert!(matches!(failed, Err(Error::UniqueViolation { .. })), "{failed:?}");
        assert_eq!(stored_user(id)?.0, "Alice");
        assert!(alice.is_dirty()?, "the rolled-back change is still to be written");
        assert_eq!(alice.updated_at, updated_at);
        alice.posts.loaded_mut().unwrap()[1].title = "b, changed".into();
        alice.push()?;
        assert_eq!(stored_user(id)?.0, "Alice L.");
        let mut titles: Vec<String> = Post::query().pluck("title")?;
        titles.sort();
        assert_eq!(titles, ["a, changed", "b, changed", "taken"]);
        Ok(())
    }

    fn create_with_a_taken_key_is_a_unique_violation_and_the_row_is_untouched() {
        schema()?;
        let alice = alice()?;
        let id = alice.id.unwrap();
        let before = stored_user(id)?;
        let intruder = User { id: Some(id), name: "Mallory".into(), ..Default::default() };
        assert!(matches!(User::create(intruder.clone()), Err(Error::UniqueViolation { .. })));
        assert_eq!(stored_user(id)?, before);
        // Without a state field too, and through `insert` and `insert_many`.
        let plain = PlainUser { id: Some(id), name: "Mallory".into(), ..Default::default() };
        assert!(matches!(PlainUser::create(plain.clone()), Err(Error::UniqueViolation { .. })));
        assert!(matches!(plain.clone().insert(), Err(Error::UniqueViolation { .. })));
        assert!(matches!(
            PlainUser::insert_many(&mut [plain]),
            Err(Error::UniqueViolation { .. })
        ));
        let mut copy = User::find_or_fail(id)?;
        assert!(matches!(copy.insert(), Err(Error::UniqueViolation { .. })));
        assert_eq!(stored_user(id)?, before);
        assert_eq!(User::count()?, 1);
        Ok(())
    }

    fn create_over_a_soft_deleted_row_does_not_undelete_it() {
        schema()?;
        let mut alice = alice()?;
        let id = alice.id.unwrap();
        alice.delete()?;
        let before = stored_user(id)?;
        assert!(before.3.is_some());
        let again = User { id: Some(id), name: "Zombie".into(), ..Default::default() };
        assert!(matches!(User::create(again), Err(Error::UniqueViolation { .. })));
        let plain = PlainUser { id: Some(id), name: "Zombie".into(), ..Default::default() };
        assert!(matches!(PlainUser::create(plain), Err(Error::UniqueViolation { .. })));
        assert_eq!(stored_user(id)?, before);
        assert_eq!(User::find(id)?, None);
        Ok(())
    }

    fn create_with_a_free_key_is_a_creation() {
        schema()?;
        hooks();
        let user = User::create(User { id: Some(42), name: "Bob".into(), ..Default::default() })?;
        assert_eq!(hooks(), ["saving", "creating", "created", "saved"]);
        assert!(user.state.is_stored());
        let (_, _, created_at, _) = stored_user(42)?;
        assert!(created_at.is_some());
        assert_eq!(user.created_at, created_at);
        assert_eq!(user.updated_at, created_at);

        // `save` on a new model with a chosen key is a creation as well.
        let mut carol = User { id: Some(43), name: "Carol".into(), ..Default::default() };
        carol.save()?;
        assert_eq!(hooks(), ["saving", "creating", "created", "saved"]);
        assert!(stored_user(43)?.2.is_some());

        // Without a state field: create/insert/insert_many insert with both timestamps.
        let plain = PlainUser::create(PlainUser { id: Some(44), name: "Dan".into(), ..Default::default() })?;
        assert!(plain.created_at.is_some() && plain.updated_at.is_some());
        let mut erin = PlainUser { id: Some(45), name: "Erin".into(), ..Default::default() };
        erin.insert()?;
        let mut more = [PlainUser { id: Some(46), name: "Fay".into(), ..Default::default() }];
        PlainUser::insert_many(&mut more)?;
        for id in [44, 45, 46] {
            assert!(stored_user(id)?.2.is_some(), "created_at of {id}");
        }
        Ok(())
    }

    fn save_without_a_state_never_turns_an_update_into_an_insert() {
        schema()?;
        let mut ghost = PlainUser { id: Some(7), name: "Ghost".into(), ..Default::default() };
        assert!(matches!(ghost.save(), Err(Error::NotFound { .. })));
        assert_eq!(PlainUser::count()?, 0);
        Ok(())
    }
}

// ----- 2. lost updates --------------------------------------------------------------------

on_every_backend! {
    fn two_copies_of_one_row_keep_both_changes() {
        schema()?;
        let id = alice()?.id.unwrap();
        let mut a = User::find_or_fail(id)?;
        let mut b = User::find_or_fail(id)?;
        a.name = "Alice Cooper".into();
        a.save()?;
        b.votes += 10;
        b.save()?;
        let stored = User::find_or_fail(id)?;
        assert_eq!((stored.name.as_str(), stored.votes), ("Alice Cooper", 15));
        Ok(())
    }

    fn save_writes_only_the_changed_columns_and_nothing_when_clean() {
        schema()?;
        let id = alice()?.id.unwrap();
        let mut a = User::find_or_fail(id)?;
        DB::enable_query_log();
        DB::flush_query_log();
        a.save()?;
        assert!(DB::query_log().is_empty(), "a clean save runs no statement");
        assert_eq!(hooks(), ["saving", "saved"]);

        a.votes = 6;
        a.save()?;
        // A model with hooks writes in a transaction (its after-hooks may refuse the
        // write): one UPDATE between its BEGIN and COMMIT.
        let log: Vec<String> = DB::query_log().iter().map(|q| q.sql.to_lowercase()).collect();
        DB::disable_query_log();
        let control = |sql: &str| ["begin", "start transaction", "commit"].iter().any(|w| sql.starts_with(w));
        assert_eq!(log.len(), 3, "{log:?}");
        assert!(control(&log[0]) && control(&log[2]), "{log:?}");
        let sql = log[1].clone();
        assert!(sql.starts_with("update"), "{sql}");
        assert!(sql.contains("votes") && sql.contains("updated_at"), "{sql}");
        assert!(!sql.contains("\"name\"") && !sql.contains("created_at"), "{sql}");
        assert_eq!(hooks(), ["saving", "updating", "updated", "saved"]);
        assert!(!a.is_dirty()?);
        Ok(())
    }

    fn is_dirty_answers_without_a_query() {
        schema()?;
        let id = alice()?.id.unwrap();
        let mut a = User::find_or_fail(id)?;
        DB::enable_query_log();
        DB::flush_query_log();
        assert!(!a.is_dirty()?);
        a.name = "Alicia".into();
        assert!(a.is_dirty()?);
        let dirty = a.get_dirty()?;
        assert_eq!(dirty, vec![("name", Value::from("Alicia"))]);
        assert_eq!(a.get_original("name"), Some(Value::from("Alice")));
        let log = DB::query_log();
        DB::disable_query_log();
        assert!(log.is_empty(), "{log:?}");
        // A new model: every column is dirty, nothing is original.
        let fresh = User::default();
        assert_eq!(fresh.get_dirty()?.len(), User::meta().columns.len());
        assert_eq!(fresh.get_original("name"), None);
        Ok(())
    }

    fn delete_refresh_restore_and_touch_keep_the_state_consistent() {
        schema()?;
        let mut a = alice()?;
        let id = a.id.unwrap();
        a.delete()?;
        assert!(!a.is_dirty()?, "a soft delete is saved");
        a.restore()?;
        assert!(!a.is_dirty()?);
        assert!(User::find(id)?.is_some());
        DB::update("UPDATE users SET votes = 99 WHERE id = ?", &[&id])?;
        a.refresh()?;
        assert_eq!(a.votes, 99);
        assert!(!a.is_dirty()?);
        a.touch()?;
        assert!(!a.is_dirty()?);
        a.force_delete()?;
        assert!(!a.state.is_stored());
        // Saved again after a real delete: a new row.
        hooks();
        a.save()?;
        assert_eq!(hooks(), ["saving", "creating", "created", "saved"]);
        assert_eq!(User::count()?, 1);
        Ok(())
    }

    fn a_stale_copy_with_a_version_column_is_refused() {
        schema()?;
        let mut first = Account { owner: "ann".into(), balance: 100, ..Default::default() };
        first.save()?;
        let id = first.id.unwrap();
        assert_eq!(first.version, 0);
        let mut a = Account::find_or_fail(id)?;
        let mut b = Account::find_or_fail(id)?;
        a.balance += 50;
        a.save()?;
        assert_eq!(a.version, 1);
        b.balance -= 30;
        match b.save() {
            Err(Error::StaleModel { model, key }) => {
                assert_eq!((model.as_str(), key), ("Account", format!("id = {id}")));
            }
            other => panic!("expected StaleModel, got {other:?}"),
        }
        let stored = Account::find_or_fail(id)?;
        assert_eq!((stored.balance, stored.version), (150, 1));
        // Every update checks and bumps the version: save_only, touch, delete, restore.
        assert!(matches!(b.touch(), Err(Error::StaleModel { .. })));
        assert!(matches!(b.save_only(&["balance"]), Err(Error::StaleModel { .. })));
        assert!(matches!(b.delete(), Err(Error::StaleModel { .. })));
        a.touch()?;
        a.delete()?;
        a.restore()?;
        a.balance = 1;
        a.save_only(&["balance"])?;
        assert_eq!(a.version, 5);
        assert_eq!(Account::find_or_fail(id)?.version, 5);
        // A hard delete from a stale copy leaves the row (Rails' test_lock_destroy).
        let mut stale = Account::find_or_fail(id)?;
        a.balance = 2;
        a.save()?;
        assert!(matches!(stale.force_delete(), Err(Error::StaleModel { .. })));
        assert_eq!(Account::find_or_fail(id)?.balance, 2);
        // A row that is gone is NotFound, not stale; deleting it again deletes nothing.
        a.force_delete()?;
        assert!(matches!(a.save(), Err(Error::NotFound { .. })));
        stale.force_delete()?;
        Ok(())
    }

    fn a_version_column_with_a_state_field() {
        schema()?;
        let created = TrackedAccount::create(TrackedAccount { owner: "bo".into(), balance: 1, ..Default::default() })?;
        let id = created.id.unwrap();
        let mut a = TrackedAccount::find_or_fail(id)?;
        let mut b = TrackedAccount::find_or_fail(id)?;
        a.owner = "Bo".into();
        a.save()?;
        assert!(!a.is_dirty()?);
        b.balance = 2;
        assert!(matches!(b.save(), Err(Error::StaleModel { .. })));
        b.refresh()?;
        b.balance = 2;
        b.save()?;
        let stored = TrackedAccount::find_or_fail(id)?;
        assert_eq!((stored.owner.as_str(), stored.balance, stored.version), ("Bo", 2, 2));
        // An update rolled back: the version the row still has is the one checked next.
        let _ = DB::transaction(|| {
            b.balance = 3;
            b.save()?;
            Err::<(), _>(Error::other("no"))
        });
        b.save()?;
        let stored = TrackedAccount::find_or_fail(id)?;
        assert_eq!((stored.balance, stored.version, b.version), (3, 3, 3));
        Ok(())
    }
}

// ----- 5. caller-set timestamps -------------------------------------------------------------

on_every_backend! {
    fn timestamps_the_caller_set_are_kept() {
        schema()?;
        let at = the_time();
        let user = User::create(User { name: "Old".into(), created_at: Some(at), ..Default::default() })?;
        let stored = User::find_or_fail(user.id.unwrap())?;
        assert_eq!(stored.created_at, Some(at));
        assert!(stored.updated_at.unwrap() > at, "the unset one is stamped");

        let mut plain = [PlainUser { name: "Older".into(), created_at: Some(at), updated_at: Some(at), ..Default::default() }];
        PlainUser::insert_many(&mut plain)?;
        let stored = PlainUser::find_or_fail(plain[0].id.unwrap())?;
        assert_eq!((stored.created_at, stored.updated_at), (Some(at), Some(at)));

        // On update: `updated_at` set by the caller is kept (state models), else stamped.
        let mut edited = User::find_or_fail(user.id.unwrap())?;
        edited.name = "Imported".into();
        edited.updated_at = Some(at);
        edited.save()?;
        assert_eq!(User::find_or_fail(user.id.unwrap())?.updated_at, Some(at));
        edited.name = "Edited".into();
        edited.save()?;
        assert!(User::find_or_fail(user.id.unwrap())?.updated_at.unwrap() > at);
        Ok(())
    }
}

// ----- 6. column defaults -----------------------------------------------------------------

on_every_backend! {
    fn table_defaults_apply_and_are_read_back() {
        schema()?;
        let post = Post::create(Post { title: "Hello".into(), ..Default::default() })?;
        assert_eq!((post.status.as_deref(), post.rank), (Some("draft"), Some(5)));
        assert!(!post.is_dirty()?);
        let stored = Post::find_or_fail(post.id.unwrap())?;
        assert_eq!((stored.status.as_deref(), stored.rank), (Some("draft"), Some(5)));

        // A value set is written; a model without state the same.
        let mut live = PlainPost { title: "Live".into(), status: Some("live".into()), ..Default::default() };
        live.save()?;
        assert_eq!((live.status.as_deref(), live.rank), (Some("live"), Some(5)));
        assert_eq!(PlainPost::find_or_fail(live.id.unwrap())?.status.as_deref(), Some("live"));
        Ok(())
    }

    fn insert_many_with_rows_of_different_shapes() {
        schema()?;
        let mut posts: Vec<Post> = (0..7)
            .map(|i| Post {
                title: format!("p{i}"),
                status: (i % 2 == 1).then(|| format!("s{i}")),
                rank: (i % 3 == 0).then_some(i),
                id: (i == 4).then_some(1_000_000),
                ..Default::default()
            })
            .collect();
        Post::insert_many(&mut posts)?;
        for (i, post) in posts.iter().enumerate() {
            let i = i as i64;
            let status = if i % 2 == 1 { format!("s{i}") } else { "draft".to_owned() };
            let rank = if i % 3 == 0 { i } else { 5 };
            assert_eq!(post.status.as_deref(), Some(status.as_str()), "post {i}");
            assert_eq!(post.rank, Some(rank), "post {i}");
            assert!(post.state.is_stored());
            let stored = Post::find_or_fail(post.id.expect("key filled"))?;
            assert_eq!(stored.title, format!("p{i}"), "keys matched to their models");
            assert_eq!((stored.status, stored.rank), (post.status.clone(), post.rank));
        }
        assert_eq!(posts[4].id, Some(1_000_000));
        // The generated keys follow the list, whatever each row leaves to the database
        // (peewee's suite: separate inserts would number them so).
        let generated: Vec<i64> = posts.iter().enumerate().filter(|(i, _)| *i != 4).map(|(_, p)| p.id.unwrap()).collect();
        assert!(generated.windows(2).all(|w| w[0] < w[1]), "keys in list order: {generated:?}");
        // Across the bind limit: two runs of one shape each.
        let mut many: Vec<PlainPost> = (0..40_000)
            .map(|i| PlainPost {
                title: format!("m{i}"),
                status: (i < 20_000).then(|| "x".to_owned()),
                ..Default::default()
            })
            .collect();
        PlainPost::insert_many(&mut many)?;
        assert_eq!(many[20_001].status.as_deref(), Some("draft"));
        assert!(many.windows(2).all(|w| w[0].id < w[1].id), "keys in list order");
        assert_eq!(PlainPost::find_or_fail(many[39_999].id.unwrap())?.title, "m39999");
        assert_eq!(Post::where_("status", "=", "draft").count()?, 20_000 + 4);
        Ok(())
    }
}

// ----- 10. a model read from a named connection keeps using it -----------------------------

/// A second database (an SQLite file) named `model_state_{tag}_{backend}`, holding a user
/// 1 'Remote' (1 vote) with one post, 'far away'; the default database gets another user
/// 1, Alice (5 votes), with none.
fn other_database(tag: &str) -> Result<(String, tempfile::TempDir)> {
    let other = format!("model_state_{tag}_{:?}", backend()).to_lowercase();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("other.sqlite3").display());
    DB::connect_named(&other, &url)?;
    DB::connection(&other).statement(
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, \
         votes INTEGER NOT NULL DEFAULT 0, created_at TEXT, updated_at TEXT, deleted_at TEXT)",
    )?;
    DB::connection(&other).statement(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER, \
         title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft', rank INTEGER DEFAULT 5)",
    )?;
    DB::connection(&other).execute(
        "INSERT INTO users (id, name, votes) VALUES (1, 'Remote', 1)",
        &[],
    )?;
    DB::connection(&other).execute(
        "INSERT INTO posts (user_id, title) VALUES (1, 'far away')",
        &[],
    )?;
    let local = alice()?;
    assert_eq!(local.id, Some(1));
    Ok((other, dir))
}

on_every_backend! {
    fn a_model_read_from_a_named_connection_keeps_using_it() {
        schema()?;
        let (other, _dir) = other_database("other")?;

        let mut remote = User::query().use_connection(other.clone()).find_or_fail(1)?;
        assert_eq!(remote.state.connection(), Some(other.as_str()));
        assert_eq!(remote.name, "Remote");
        let titles: Vec<String> = remote.posts().get()?.into_iter().map(|p| p.title).collect();
        assert_eq!(titles, ["far away"]);
        // Eager loaded children come from there and remember it too.
        let mut loaded = User::query().use_connection(other.clone()).with(&["posts"]).find_or_fail(1)?;
        let mut far = loaded.posts[0].clone();
        assert_eq!(far.state.connection(), Some(other.as_str()));
        far.title = "further".into();
        far.save()?;
        let remote_titles = DB::connection(&other).select("SELECT title FROM posts", &[])?;
        assert_eq!(remote_titles[0].get::<String, _>("title")?, "further");
        loaded.name = "Loaded".into();
        loaded.save()?;

        remote.votes = 2;
        remote.save()?;
        let remote_votes = DB::connection(&other).select("SELECT votes FROM users WHERE id = 1", &[])?;
        assert_eq!(remote_votes[0].get::<i64, _>("votes")?, 2);
        assert_eq!(User::find_or_fail(1)?.votes, 5, "the default database is untouched");

        DB::connection(&other).execute("UPDATE users SET name = 'Changed' WHERE id = 1", &[])?;
        remote.refresh()?;
        assert_eq!(remote.name, "Changed");

        // Every row of a query, streamed or paged, remembers the connection too.
        let all = User::query().use_connection(other.clone()).get()?;
        assert!(all.iter().all(|u| u.state.connection() == Some(other.as_str())));
        let cursor: Vec<User> = User::query().use_connection(other.clone()).cursor().collect::<Result<_>>()?;
        assert!(cursor.iter().all(|u| u.state.connection() == Some(other.as_str())));

        remote.force_delete()?;
        assert!(DB::connection(&other).select("SELECT id FROM users", &[])?.is_empty());
        assert!(User::find(1)?.is_some(), "the default database keeps its user 1");
        // A model built by hand can be sent there.
        let mut hand = User { name: "Hand".into(), ..Default::default() };
        hand.state.use_connection(&other);
        hand.save()?;
        let rows = DB::connection(&other).select("SELECT name FROM users", &[])?;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<String, _>("name")?, "Hand");
        assert_eq!(User::count()?, 1);
        // Read from the model's own connection: nothing remembered.
        assert_eq!(User::find_or_fail(1)?.state.connection(), None);
        Ok(())
    }
}

on_every_backend! {
    fn models_read_or_created_in_a_named_scope_write_back_there() {
        // Eloquent's User::on('other')->firstOrCreate(..), ->find(..): the model keeps
        // its connection. Before, a later save or delete outside the scope went by key to
        // the default database, changing or deleting its user 1.
        schema()?;
        let (other, _dir) = other_database("scoped")?;
        let mut found = DB::connection(&other).scope(|| User::first_or_create(row! {"name" => "Remote"}, row! {}))?;
        assert_eq!(found.state.connection(), Some(other.as_str()));
        found.votes = 7;
        found.save()?;
        let remote_votes = DB::connection(&other).select("SELECT votes FROM users WHERE id = 1", &[])?;
        assert_eq!(remote_votes[0].get::<i64, _>("votes")?, 7);
        assert_eq!(User::find_or_fail(1)?.votes, 5, "the default database's user 1 is untouched");

        let mut created = DB::connection(&other).scope(|| User::create(User { name: "Made there".into(), ..Default::default() }))?;
        created.name = "Renamed there".into();
        created.save()?;
        let names = DB::connection(&other).table("users").order_by("id").pluck::<String>("name")?;
        assert_eq!(names, ["Remote", "Renamed there"]);
        assert_eq!(User::count()?, 1);

        // Loading relations onto models read there reads them there (`load`, `load_missing`,
        // `load_count`), as `with` on their query does.
        let read = || User::query().use_connection(other.clone()).where_eq("id", 1).get();
        let mut users = read()?;
        User::load(&mut users, &["posts"])?;
        assert_eq!(users[0].posts.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(), ["far away"]);
        let mut users = read()?;
        User::load_missing(&mut users, &["posts"])?;
        assert_eq!(users[0].posts.len(), 1);
        let mut users = read()?;
        User::load_count(&mut users, &["posts"])?;
        assert_eq!(users[0].posts.count(), Some(1));

        // The query forms run on the query's connection, a model without a state too.
        let query = || PlainUser::query().use_connection(other.clone());
        let updated = query().update_or_create(row! {"name" => "Remote"}, row! {"votes" => 9})?;
        assert_eq!(updated.votes, 9);
        let made = query().update_or_create(row! {"name" => "Third"}, row! {"votes" => 3})?;
        let first = query().create_or_first(row! {"name" => "Fourth"}, row! {"votes" => 4})?;
        let remote = DB::connection(&other).table("users").order_by("id").pluck::<i64>("votes")?;
        assert_eq!(remote, [9, 0, 3, 4]);
        assert_eq!((made.name.as_str(), first.name.as_str()), ("Third", "Fourth"));
        assert_eq!(User::find_or_fail(1)?.votes, 5, "the default database's user 1 is untouched");
        assert_eq!(User::count()?, 1);

        let mut doomed = DB::connection(&other).scope(|| User::find_or_fail(1))?;
        doomed.force_delete()?;
        assert_eq!(DB::connection(&other).table("users").order_by("id").pluck::<String>("name")?, ["Renamed there", "Third", "Fourth"]);
        assert!(User::find(1)?.is_some(), "the default database keeps its user 1");
        Ok(())
    }
}

// ----- what a model remembers of its writes (Laravel's EloquentModelTest) ---------------

fn names(changes: &[(&'static str, Value)]) -> Vec<&'static str> {
    changes.iter().map(|(c, _)| *c).collect()
}

on_every_backend! {
    fn get_changes_and_was_changed_tell_what_the_last_update_wrote() {
        schema()?;
        let created = alice()?;
        assert!(created.was_recently_created());
        assert!(!created.was_changed());
        assert!(created.get_changes().is_empty(), "an insert is not a change");

        let mut a = User::find_or_fail(created.id.unwrap())?;
        assert!(!a.was_recently_created(), "read, not created");
        assert!(a.is_clean()?);
        a.name = "Alicia".into();
        assert!(a.is_dirty_column("name")?);
        assert!(!a.is_dirty_column("votes")?);
        assert!(!a.is_clean()?);
        assert!(matches!(a.is_dirty_column("nope"), Err(Error::ColumnNotFound(_))));
        assert!(!a.was_changed(), "nothing saved yet");
        a.save()?;
        assert!(a.is_clean()?);
        assert_eq!(names(&a.get_changes()), ["name", "updated_at"]);
        assert_eq!(a.get_changes()[0].1, Value::from("Alicia"));
        assert!(a.was_changed());
        assert!(a.was_changed_column("name"));
        assert!(!a.was_changed_column("votes"));

        // A save that writes nothing keeps the last update's changes (as Eloquent).
        a.save()?;
        assert!(a.was_changed_column("name"));
        // Changed again after the save: the changes hold what was written.
        a.name = "Alison".into();
        assert_eq!(a.get_changes()[0].1, Value::from("Alicia"));

        a.votes = 9;
        a.save_only(&["votes"])?;
        assert_eq!(names(&a.get_changes()), ["votes", "updated_at"]);
        a.touch()?;
        assert_eq!(names(&a.get_changes()), ["updated_at"]);

        // first_or_create tells a row it created from one it found.
        let found = User::first_or_create(row! {"name" => "Alicia"}, row! {"votes" => 1})?;
        assert!(!found.was_recently_created());
        let made = User::first_or_create(row! {"name" => "Bob"}, row! {"votes" => 1})?;
        assert!(made.was_recently_created());

        // Without a state field nothing is remembered; is_dirty_column asks the database.
        let mut plain = PlainUser::find_or_fail(created.id.unwrap())?;
        plain.votes = 1;
        assert!(plain.is_dirty_column("votes")?);
        assert!(!plain.is_dirty_column("name")?);
        plain.save()?;
        assert!(!plain.was_changed() && plain.get_changes().is_empty());
        Ok(())
    }

    fn a_versioned_update_does_not_list_the_version_as_a_change() {
        schema()?;
        let mut account = TrackedAccount { owner: "Ada".into(), balance: 10, ..Default::default() };
        account.save()?;
        account.balance = 20;
        account.save()?;
        assert_eq!(names(&account.get_changes()), ["balance", "updated_at"]);
        assert_eq!(account.version, 1);
        Ok(())
    }

    fn discard_changes_puts_back_the_values_as_read() {
        schema()?;
        let id = alice()?.id.unwrap();
        let mut a = User::find_or_fail(id)?;
        a.name = "Mallory".into();
        a.votes = 100;
        a.discard_changes()?;
        assert_eq!((a.name.as_str(), a.votes), ("Alice", 5));
        assert!(a.is_clean()?);
        a.save()?;
        assert_eq!(stored_user(id)?.0, "Alice");
        // A new model has nothing to go back to.
        let mut new = User { name: "New".into(), ..Default::default() };
        new.discard_changes()?;
        assert_eq!(new.name, "New");
        Ok(())
    }

    fn without_events_pauses_every_hook_on_the_thread() {
        schema()?;
        hooks();
        let made = User::without_events(|| -> Result<User> {
            let mut a = User::create(User { name: "A".into(), ..Default::default() })?;
            a.votes = 2;
            a.save()?;
            a.increment("votes", 1)?;
            let mut many = vec![User { name: "B".into(), ..Default::default() }, User { name: "C".into(), ..Default::default() }];
            User::insert_many(&mut many)?;
            // A mass write on a model with hooks is one statement here.
            assert_eq!(User::where_("votes", "<", 10).update(row! {"votes" => 7})?, 3);
            User::where_eq("name", "C").first()?.unwrap().delete()?;
            a.restore()?;
            Ok(a)
        })?;
        assert!(hooks().is_empty());
        assert!(made.created_at.is_some() && made.updated_at.is_some(), "timestamps still set");
        // A factory's createQuietly.
        use orm_migrate::factory::Factory as _;
        let quiet = User::factory().count(3).create_quietly().map_err(Error::other)?;
        assert_eq!(quiet.len(), 3);
        assert!(hooks().is_empty());
        User::factory().create().map_err(Error::other)?;
        assert_eq!(hooks(), ["saving", "creating", "created", "saved"]);
        assert_eq!(User::where_eq("votes", 7).count()?, 2);
        // Afterwards, and after a closure that panicked, the hooks run again.
        let unwound = std::panic::catch_unwind(|| User::without_events(|| panic!("inside")));
        assert!(unwound.is_err());
        let mut b = User::where_eq("name", "B").first()?.unwrap();
        b.votes = 1;
        b.save()?;
        assert_eq!(hooks(), ["saving", "updating", "updated", "saved"]);
        Ok(())
    }

    fn quiet_writes_run_no_hooks_and_keep_everything_else() {
        schema()?;
        hooks();
        let mut quiet = User { name: "Quiet".into(), ..Default::default() };
        quiet.save_quietly()?;
        assert!(hooks().is_empty());
        let id = quiet.id.expect("inserted, key read back");
        assert!(quiet.created_at.is_some() && quiet.updated_at.is_some());
        assert!(quiet.was_recently_created());
        quiet.votes = 3;
        quiet.save_quietly()?;
        assert!(hooks().is_empty());
        assert_eq!(stored_user(id)?.1, 3);
        assert_eq!(names(&quiet.get_changes()), ["votes", "updated_at"]);
        quiet.delete_quietly()?;
        assert!(hooks().is_empty());
        assert!(stored_user(id)?.3.is_some(), "soft deleted");
        // The loud forms still run them.
        quiet.restore()?;
        quiet.delete()?;
        assert_eq!(hooks(), ["restoring", "saving", "updating", "updated", "saved", "restored", "deleting", "deleted"]);
        Ok(())
    }

    fn without_timestamps_leaves_them_alone_for_that_model_only() {
        schema()?;
        let id = alice()?.id.unwrap();
        let old = the_time();
        DB::update("UPDATE users SET created_at = ?, updated_at = ? WHERE id = ?", &[&old, &old, &id])?;
        let updated_at = || -> Result<Option<DateTime<Utc>>> {
            DB::table("users").where_eq("id", id).value("updated_at")
        };
        let mut a = User::find_or_fail(id)?;
        let made = User::without_timestamps(|| -> Result<User> {
            a.votes = 6;
            a.save()?;
            a.touch()?;
            User::where_eq("id", id).update(row! {"name" => "Ada"})?;
            User::where_eq("id", id).increment("votes", 1)?;
            User::create(User { name: "Untimed".into(), ..Default::default() })
        })?;
        assert_eq!(updated_at()?, Some(old), "nothing stamped");
        assert_eq!(stored_user(id)?.1, 7);
        assert_eq!((made.created_at, made.updated_at), (None, None));
        assert_eq!(stored_user(made.id.unwrap())?.2, None);
        // Another model over the same table is not paused.
        User::without_timestamps(|| PlainUser::where_eq("id", id).update(row! {"votes" => 8}))?;
        assert_ne!(updated_at()?, Some(old));
        // The pause ends with the closure, even one that panics.
        DB::update("UPDATE users SET updated_at = ? WHERE id = ?", &[&old, &id])?;
        let unwound = std::panic::catch_unwind(|| User::without_timestamps(|| panic!("inside")));
        assert!(unwound.is_err());
        let mut a = User::find_or_fail(id)?;
        a.votes = 9;
        a.save()?;
        assert_ne!(updated_at()?, Some(old), "stamped again");
        Ok(())
    }

    fn the_lazy_loading_guard_lets_new_and_just_created_parents_through() {
        schema()?;
        let id = alice()?.id.unwrap();
        DB::prevent_lazy_loading(true);
        // Read alone (Eloquent's testStrictModeDoesntThrowAnExceptionOnLazyLoadingWithSingleModel):
        // no loop, so nothing to guard.
        let read = User::find_or_fail(id)?;
        assert!(read.posts().get()?.is_empty());
        let only = User::all()?;
        assert_eq!(only.len(), 1);
        assert!(only[0].posts().get()?.is_empty());
        // Never saved, made by hand, or just created (Eloquent's wasRecentlyCreated).
        assert!(User::default().posts().get()?.is_empty());
        let by_hand = User { id: Some(id), ..Default::default() };
        assert!(by_hand.posts().get()?.is_empty());
        let created = User::create(User { name: "New".into(), ..Default::default() })?;
        assert!(created.posts().get()?.is_empty());
        // Read with others: guarded, through `get`, `lazy` pages and copies alike.
        let users = User::query().order_by("id").get()?;
        assert_eq!(users.len(), 2);
        assert!(matches!(users[0].posts().get(), Err(Error::LazyLoading { .. })));
        assert!(matches!(users[1].clone().posts().get(), Err(Error::LazyLoading { .. })));
        let paged: Vec<User> = User::query().lazy(10).collect::<Result<_>>()?;
        assert!(matches!(paged[1].posts().get(), Err(Error::LazyLoading { .. })));
        DB::prevent_lazy_loading(false);
        Ok(())
    }

    fn an_increment_past_the_integer_range_is_refused_and_keeps_the_value() {
        // SQLite made the sum a double, stored in the integer column: the row then no
        // longer read as an integer. Every backend now refuses it as out of range.
        DB::statement(orm_tests::per_backend(
            "CREATE TABLE tallies (id INTEGER PRIMARY KEY, n BIGINT NOT NULL, f DOUBLE NOT NULL)",
            "CREATE TABLE tallies (id BIGINT PRIMARY KEY, n BIGINT NOT NULL, f DOUBLE PRECISION NOT NULL)",
        ))?;
        let near = i64::MAX - 10;
        DB::table("tallies").insert(row! {"id" => 1, "n" => near, "f" => 1.5})?;
        let up = DB::table("tallies").where_eq("id", 1).increment("n", 100);
        assert!(matches!(up, Err(Error::ValueOutOfRange { .. })), "{up:?}");
        let down = DB::table("tallies").where_eq("id", 1).decrement("n", i64::MAX);
        assert!(down.is_ok(), "{down:?}");
        let low = DB::table("tallies").where_eq("id", 1).decrement("n", i64::MAX);
        assert!(matches!(low, Err(Error::ValueOutOfRange { .. })), "{low:?}");
        assert_eq!(DB::table("tallies").value::<i64>("n")?, Some(near - i64::MAX));
        // Within the range, and on a float column, a step is a step.
        DB::table("tallies").where_eq("id", 1).increment("n", 7)?;
        DB::table("tallies").where_eq("id", 1).increment("f", 2)?;
        let row = DB::table("tallies").first()?.expect("the row");
        assert_eq!((row.get::<i64, _>("n")?, row.get::<f64, _>("f")?), (near - i64::MAX + 7, 3.5));
        // A step that is no number is refused before anything is sent (Laravel's
        // "Non-numeric value passed to increment method"; SQLite added 0, and a NULL
        // step emptied the column everywhere).
        for step in [Value::from("abc"), Value::Null, Value::Bool(true)] {
            let err = DB::table("tallies").increment("n", step.clone()).unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. }), "{err:?}");
            let err = DB::table("tallies").decrement("f", step).unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. }), "{err:?}");
        }
        let row = DB::table("tallies").first()?.expect("the row");
        assert_eq!((row.get::<i64, _>("n")?, row.get::<f64, _>("f")?), (near - i64::MAX + 7, 3.5));
        DB::table("tallies").increment("n", "2")?;
        assert_eq!(DB::table("tallies").value::<i64>("n")?, Some(near - i64::MAX + 9));
        Ok(())
    }

    fn increment_steps_the_stored_value_and_reads_it_back() {
        schema()?;
        let id = alice()?.id.unwrap();
        let old = the_time();
        DB::update("UPDATE users SET updated_at = ? WHERE id = ?", &[&old, &id])?;
        let mut a = User::find_or_fail(id)?;
        let mut stale = User::find_or_fail(id)?;
        hooks();
        a.increment("votes", 2)?;
        assert_eq!(a.votes, 7);
        assert_eq!(hooks(), ["updating", "updated"]);
        assert_eq!(names(&a.get_changes()), ["votes", "updated_at"]);
        assert!(a.is_clean()?);
        assert!(a.updated_at > Some(old));
        // A copy read before: the database adds, the copy reads the sum.
        stale.increment("votes", 1)?;
        assert_eq!(stale.votes, 8);
        assert_eq!(stored_user(id)?.1, 8);
        // Other unsaved changes stay unsaved (and dirty).
        a.name = "Unsaved".into();
        a.decrement("votes", 3)?;
        assert_eq!(a.votes, 5);
        assert_eq!(stored_user(id)?.0, "Alice");
        assert!(a.is_dirty_column("name")? && !a.is_dirty_column("votes")?);
        assert!(matches!(a.increment("nope", 1), Err(Error::ColumnNotFound(_))));
        let mut new = User::default();
        assert!(matches!(new.increment("votes", 1), Err(Error::InvalidQuery { .. })));
        // Several columns in one statement (Eloquent's incrementEach/decrementEach).
        let mut post = Post::create(Post { title: "each".into(), user_id: Some(1), rank: Some(1), ..Default::default() })?;
        post.increment_each(row! {"rank" => 2, "user_id" => 3})?;
        assert_eq!((post.rank, post.user_id), (Some(3), Some(4)));
        assert_eq!(names(&post.get_changes()), ["user_id", "rank"]);
        post.decrement_each(row! {"rank" => 1})?;
        let stored = Post::find_or_fail(post.id.unwrap())?;
        assert_eq!((stored.rank, stored.user_id, post.rank), (Some(2), Some(4), Some(2)));
        assert!(matches!(post.increment_each(row! {"rank" => 1, "nope" => 1}), Err(Error::ColumnNotFound(_))));
        // Without a state field, and with a version column.
        let mut plain = PlainUser::find_or_fail(id)?;
        plain.increment("votes", 10)?;
        assert_eq!((plain.votes, stored_user(id)?.1), (15, 15));
        let mut account = TrackedAccount { owner: "Ada".into(), balance: 10, ..Default::default() };
        account.save()?;
        let mut behind = TrackedAccount::find_or_fail(account.id.unwrap())?;
        account.increment("balance", 5)?;
        assert_eq!((account.balance, account.version), (15, 1));
        assert!(matches!(behind.increment("balance", 1), Err(Error::StaleModel { .. })));
        behind.refresh()?;
        behind.decrement("balance", 1)?;
        assert_eq!((behind.balance, behind.version), (14, 2));
        Ok(())
    }

    fn get_previous_fresh_is_update_and_create_or_first() {
        schema()?;
        let id = alice()?.id.unwrap();
        let mut a = User::find_or_fail(id)?;
        a.name = "Alicia".into();
        a.save()?;
        let previous = a.get_previous();
        assert_eq!(names(&previous), ["name", "updated_at"]);
        assert_eq!(previous[0].1, Value::from("Alice"));

        // fresh: a new copy of the stored row; the model itself is unchanged.
        DB::update("UPDATE users SET votes = 50 WHERE id = ?", &[&id])?;
        let fresh = a.fresh()?.expect("still there");
        assert_eq!((fresh.votes, a.votes), (50, 5));
        a.delete()?;
        assert!(a.fresh()?.is_some(), "trashed rows too, whatever the scopes");
        a.force_delete()?;
        assert!(a.fresh()?.is_none(), "gone");

        // is / is_not: the same row, not the same values.
        let b = User::create(User { name: "Bob".into(), ..Default::default() })?;
        let mut b2 = User::find_or_fail(b.id.unwrap())?;
        b2.votes = 99;
        assert!(b.is(&b2) && !b.is_not(&b2));
        let plain = PlainUser::find_or_fail(b.id.unwrap())?;
        assert!(b.is(&plain), "another model over the same table and key");
        assert!(!b.is(&User::default()), "a new model is no row");
        let account = TrackedAccount { id: b.id, ..Default::default() };
        assert!(b.is_not(&account), "another table");

        // update: set and save a stored model; a new one is refused, untouched.
        b2.update(row! {"name" => "Robert", "votes" => 7})?;
        assert_eq!(stored_user(b.id.unwrap())?.0, "Robert");
        assert_eq!(stored_user(b.id.unwrap())?.1, 7);
        let mut new = User { name: "New".into(), ..Default::default() };
        assert!(matches!(new.update(row! {"name" => "Changed"}), Err(Error::InvalidQuery { .. })));
        assert_eq!(new.name, "New");

        // create_or_first: inserts, or returns the row a unique key already holds.
        DB::statement("CREATE UNIQUE INDEX users_name_unique ON users (name)")?;
        let made = User::create_or_first(row! {"name" => "Carol"}, row! {"votes" => 3})?;
        assert!(made.was_recently_created());
        let found = User::create_or_first(row! {"name" => "Carol"}, row! {"votes" => 4})?;
        assert!(!found.was_recently_created());
        assert_eq!((found.id, found.votes), (made.id, 3));
        Ok(())
    }

    fn replicate_copies_into_a_new_row() {
        schema()?;
        let mut original = alice()?;
        original.votes = 7;
        original.save()?;
        let mut copy = original.replicate()?;
        assert_eq!(copy.id, None);
        assert_eq!((copy.created_at, copy.updated_at), (None, None));
        assert_eq!((copy.name.as_str(), copy.votes), ("Alice", 7));
        assert!(!copy.state.is_stored() && !copy.was_recently_created() && !copy.was_changed());
        copy.name = "Alice II".into();
        copy.save()?;
        assert_ne!(copy.id, original.id);
        assert!(copy.created_at.is_some());
        assert_eq!(User::count()?, 2);
        assert_eq!(stored_user(original.id.unwrap())?.0, "Alice", "the original row is untouched");
        assert_eq!(stored_user(copy.id.unwrap())?.1, 7);
        let first = User::first_where("name", "like", "Alice %")?.expect("the copy");
        assert_eq!(first.id, copy.id);
        Ok(())
    }
}
