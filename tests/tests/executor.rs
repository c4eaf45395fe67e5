//! `Executor::scope`: every statement inside runs on the executor's connection. Each
//! test uses a second database the test's default connection does not see (another
//! in-memory SQLite database, or another schema on the PostgreSQL test server), so a
//! statement that went to the wrong place is caught.

use std::panic::{catch_unwind, AssertUnwindSafe};

use orm_core::prelude::*;
use orm_tests::{on_every_backend, per_backend, SecondDatabase};

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
    #[model(belongs_to_many(
        User,
        table = "friend_user",
        foreign_pivot_key = "user_id",
        related_pivot_key = "friend_id"
    ))]
    pub friends: BelongsToMany<User>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(soft_deletes)]
pub struct Post {
    pub id: Option<i64>,
    pub user_id: i64,
    pub title: String,
    pub deleted_at: Option<DateTime<Utc>>,
}

fn tables() -> String {
    let key = per_backend("INTEGER PRIMARY KEY", "BIGSERIAL PRIMARY KEY");
    let stamp = per_backend("TEXT", "TIMESTAMPTZ");
    format!(
        "CREATE TABLE users (id {key}, name TEXT NOT NULL);
         CREATE TABLE posts (id {key}, user_id BIGINT NOT NULL, title TEXT NOT NULL,
                             deleted_at {stamp});
         CREATE TABLE friend_user (user_id BIGINT NOT NULL, friend_id BIGINT NOT NULL,
                                   PRIMARY KEY (user_id, friend_id));"
    )
}

/// The tables on the test's default database (which stay empty).
fn default_tables() -> Result<()> {
    DB::unprepared(&tables())
}

/// A second database with the same tables, empty (dropped with the guard).
struct Second(SecondDatabase);

impl Second {
    fn new() -> Result<Second> {
        SecondDatabase::new("executor").map(Second)
    }

    /// A connection to the second database, its tables created.
    fn open(&self) -> Result<Connection> {
        let mut conn = Connection::open(&self.0.url)?;
        conn.execute_batch(&tables())?;
        Ok(conn)
    }
}

fn count(conn: &mut Connection, table: &str) -> Result<i64> {
    let rows = conn.select(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])?;
    rows[0].get("n")
}

on_every_backend! {
    fn relation_writes_and_restores_run_on_the_scoped_connection() {
        default_tables()?;
        let second = Second::new()?;
        let mut conn = second.open()?;
        conn.scope(|| {
            let john = User::create(User { name: "john".into(), ..Default::default() })?;
            let kim = User::create(User { name: "kim".into(), ..Default::default() })?;
            john.posts().create(Post { title: "first".into(), ..Default::default() })?;
            let mut second_post = Post { title: "second".into(), ..Default::default() };
            john.posts().save(&mut second_post)?;
            assert_eq!(john.friends().attach([kim.id.unwrap()])?, 1);
            let changes = john.friends().sync([kim.id.unwrap(), john.id.unwrap()])?;
            assert_eq!(changes.attached, [Value::from(john.id.unwrap())]);
            assert_eq!(john.friends().detach([john.id.unwrap()])?, 1);
            // Soft delete both, then restore: one through the query, one on the model.
            john.posts().delete()?;
            assert_eq!(john.posts().count()?, 0);
            assert_eq!(Post::query().where_eq("title", "first").restore()?, 1);
            let mut trashed = Post::only_trashed().first_or_fail()?;
            trashed.restore()?;
            assert_eq!(john.posts().count()?, 2);
            Ok(())
        })?;
        assert_eq!(count(&mut conn, "users")?, 2);
        assert_eq!(count(&mut conn, "posts WHERE deleted_at IS NULL")?, 2);
        assert_eq!(count(&mut conn, "friend_user")?, 1);
        // The default database saw none of it.
        assert_eq!(DB::table("users").count()?, 0);
        assert_eq!(DB::table("posts").count()?, 0);
        assert_eq!(DB::table("friend_user").count()?, 0);
        Ok(())
    }

    fn a_transaction_inside_a_scope_is_a_savepoint_on_its_connection() {
        default_tables()?;
        let second = Second::new()?;
        let mut conn = second.open()?;
        let mut tx = conn.begin()?;
        tx.scope(|| {
            DB::transaction(|| User::create(User { name: "kept".into(), ..Default::default() }))?;
            let inner: Result<()> = DB::transaction(|| {
                User::create(User { name: "undone".into(), ..Default::default() })?;
                Err(Error::other("changed my mind"))
            });
            assert!(inner.is_err());
            assert_eq!(User::count()?, 1);
            Ok(())
        })?;
        assert_eq!(tx.transaction_depth(), 1);
        assert_eq!(count(&mut tx, "users")?, 1);
        tx.rollback()?;
        assert_eq!(count(&mut conn, "users")?, 0);
        assert_eq!(DB::table("users").count()?, 0);
        Ok(())
    }

    fn the_connection_comes_back_after_an_error_or_a_panic() {
        default_tables()?;
        let second = Second::new()?;
        let mut conn = second.open()?;
        let failed: Result<()> = conn.scope(|| {
            User::create(User { name: "a".into(), ..Default::default() })?;
            Err(Error::other("stop"))
        });
        assert!(failed.is_err());
        let panicked = catch_unwind(AssertUnwindSafe(|| {
            conn.scope(|| -> Result<()> {
                User::create(User { name: "b".into(), ..Default::default() })?;
                panic!("boom")
            })
        }));
        assert!(panicked.is_err());
        // The caller's connection is its own again, and the scope is gone.
        assert_eq!(count(&mut conn, "users")?, 2);
        assert_eq!(User::count()?, 0);
        Ok(())
    }

    fn nested_scopes_use_the_innermost_and_restore_the_outer() {
        default_tables()?;
        let outer_db = Second::new()?;
        let inner_db = Second::new()?;
        let mut outer = outer_db.open()?;
        let mut inner = inner_db.open()?;
        outer.scope(|| {
            User::create(User { name: "outer".into(), ..Default::default() })?;
            inner.scope(|| User::create(User { name: "inner".into(), ..Default::default() }))?;
            User::create(User { name: "outer again".into(), ..Default::default() })?;
            Ok(())
        })?;
        assert_eq!(count(&mut outer, "users")?, 2);
        assert_eq!(count(&mut inner, "users")?, 1);
        assert_eq!(User::count()?, 0);
        Ok(())
    }

    fn named_and_pooled_connection_scopes_run_everything_on_one_connection() {
        default_tables()?;
        let second = Second::new()?;
        let name = second.0.name.clone();
        DB::connect_named(&name, &second.0.url)?;
        let named = DB::connection(&name);
        let n = named.scope(|| {
            DB::unprepared(&tables())?;
            DB::transaction(|| User::create(User { name: "there".into(), ..Default::default() }))?;
            User::count()
        })?;
        assert_eq!(n, 1);
        assert_eq!(User::count()?, 0);
        // A connection checked out of that pool is an executor too.
        let mut pooled = DB::pool(&name)?.get()?;
        assert_eq!(pooled.scope(User::count)?, 1);
        drop(pooled);
        DB::disconnect(&name);
        Ok(())
    }

    fn a_query_inside_a_stream_on_the_scoped_connection_is_connection_in_use() {
        default_tables()?;
        let second = Second::new()?;
        let mut conn = second.open()?;
        let result = conn.scope(|| {
            User::create(User { name: "a".into(), ..Default::default() })?;
            User::query().each(|mut user| {
                user.name.push('!');
                user.save()
            })
        });
        assert!(matches!(result, Err(Error::ConnectionInUse(_))), "{result:?}");
        Ok(())
    }
}
