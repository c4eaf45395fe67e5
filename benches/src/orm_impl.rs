//! This ORM, written as its users write it. Each workload comes twice: on the default
//! connection (`User::query().get()`) and on an explicit [`Connection`] lent to a scope
//! (`conn.scope(|| User::query().get())`). The benches run the default-connection code
//! twice: with the default a pool made by `DB::connect` (`orm_pool`, the headline figure)
//! and with a `testing` guard's connection installed for the thread (`orm`).

use orm_core::prelude::*;
use orm_core::{testing, Backend, Connection};

use crate::data::{self, Database, Seed};
use crate::grouping::Nested;
use crate::models::{Comment, Post, User, UserWithPost, USER_WITH_POST_COLUMNS};
use crate::NewUser;

/// Opens an in-memory SQLite connection with the schema and `seed`.
pub fn open_sqlite(seed: &Seed) -> Result<Connection> {
    let mut conn = Connection::open("sqlite::memory:")?;
    conn.execute_batch(data::schema(Database::Sqlite))?;
    conn.execute_batch(&seed.script())?;
    Ok(conn)
}

/// Opens a new SQLite database file at `path` with the schema and `seed`.
pub fn open_sqlite_file(seed: &Seed, path: &std::path::Path) -> Result<Connection> {
    let url = format!("sqlite://{}", path.display());
    let mut seeder = Connection::open(&url)?;
    seeder.execute_batch(data::schema(Database::Sqlite))?;
    seeder.execute_batch(&seed.script())?;
    drop(seeder);
    Connection::open(&url)
}

/// Installs a fresh in-memory SQLite database, with the schema and `seed`, as this
/// thread's default connection (until the guard is dropped).
pub fn install_default_sqlite(seed: &Seed) -> Result<testing::TestDatabase> {
    let guard = testing::sqlite();
    DB::unprepared(data::schema(Database::Sqlite))?;
    DB::unprepared(&seed.script())?;
    Ok(guard)
}

/// Seeds a new SQLite database file at `path` and makes it the default connection
/// with `DB::connect`, as an application does: every call then checks a connection out
/// of the pool (no thread-scoped connection is installed).
pub fn connect_default_sqlite_file(seed: &Seed, path: &std::path::Path) -> Result<()> {
    let url = format!("sqlite://{}", path.display());
    let mut conn = Connection::open(&url)?;
    conn.execute_batch(data::schema(Database::Sqlite))?;
    conn.execute_batch(&seed.script())?;
    drop(conn);
    DB::connect(&url)
}

/// Installs a private PostgreSQL schema as this thread's default connection (dropped
/// with the guard), or `None` when no server is reachable.
pub fn install_default_postgres() -> Option<testing::TestDatabase> {
    let guard = testing::postgres()?;
    assert_eq!(guard.backend(), Backend::Postgres);
    Some(guard)
}

/// Connects to PostgreSQL with `schema` as the search path.
pub fn connect_postgres(url: &str, schema: &str) -> Result<Connection> {
    let mut conn = Connection::open(url)?;
    conn.execute_batch(&format!("SET search_path TO \"{schema}\""))?;
    Ok(conn)
}

/// Makes the default connection a pool made by `DB::connect`, as an application does,
/// on the PostgreSQL server at `url` with `schema` as every pooled session's search path
/// (the libpq URL option `options=-csearch_path=..`). No thread-scoped connection may be
/// installed while it is used: a `testing` guard would shadow the pool.
pub fn connect_default_postgres(url: &str, schema: &str) -> Result<()> {
    DB::connect(&orm_core::testing::with_search_path(url, schema))
}

/// `url` (`mysql://user@host:port/db?opts`) with its database replaced by `database`.
pub fn with_mysql_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Makes the default connection a pool made by `DB::connect` on the MySQL/MariaDB
/// server at `url`, with `database` named in the URL's path.
pub fn connect_default_mysql(url: &str, database: &str) -> Result<()> {
    DB::connect(&with_mysql_database(url, database))
}

/// Installs a private MySQL/MariaDB database as this thread's default connection
/// (dropped with the guard), or `None` when no server is reachable.
pub fn install_default_mysql() -> Option<testing::TestDatabase> {
    let guard = testing::mysql()?;
    assert_eq!(guard.backend(), Backend::Mysql);
    Some(guard)
}

/// Connects to MySQL/MariaDB with `database` as the session's default database.
pub fn connect_mysql(url: &str, database: &str) -> Result<Connection> {
    let mut conn = Connection::open(url)?;
    conn.execute_batch(&format!("USE `{database}`"))?;
    Ok(conn)
}

fn users_with_posts() -> Query<UserWithPost> {
    Query::<UserWithPost>::table("users")
        .select(&USER_WITH_POST_COLUMNS)
        .left_join("posts", "posts.user_id", "=", "users.id")
        .where_eq("users.hair_color", "black")
}

/// Models to insert.
pub fn models(users: &[NewUser]) -> Vec<User> {
    users
        .iter()
        .map(|u| User {
            id: None,
            name: u.name.clone(),
            hair_color: u.hair_color.clone(),
            posts: HasMany::default(),
        })
        .collect()
}

/// `User::query().with(&["posts", "posts.comments"])`: eager loading, one query per
/// level; the loaded relations are moved out into the shape every contender returns.
fn eager_load() -> Query<User> {
    User::query().with(&["posts", "posts.comments"])
}

fn into_nested(users: Vec<User>) -> Nested<User, Post, Comment> {
    users
        .into_iter()
        .map(|mut user| {
            let posts = user
                .posts
                .take()
                .into_iter()
                .map(|mut post| {
                    let comments = post.comments.take();
                    (post, comments)
                })
                .collect();
            (user, posts)
        })
        .collect()
}

/// The default-connection path: what users write. Whichever default is in force runs
/// it: a `testing` guard's connection when one is installed on the thread, else the pool
/// `DB::connect` made.
pub mod default_connection {
    use super::*;

    /// Trivial query: `User::query().get()`.
    pub fn load_users() -> Result<Vec<User>> {
        User::query().get()
    }

    /// Medium query through the query builder (`left_join` + `where_eq`).
    pub fn load_users_with_posts() -> Result<Vec<UserWithPost>> {
        users_with_posts().get()
    }

    /// `User::insert_many(&mut users)`: one multi-row statement, keys filled in.
    pub fn insert_many(users: &mut [User]) -> Result<()> {
        User::insert_many(users)
    }

    /// 100 `save()` calls in one `DB::transaction`.
    pub fn save_each_in_transaction(users: &mut [User]) -> Result<()> {
        DB::transaction(|| users.iter_mut().try_for_each(|u| u.save()))
    }

    /// One `save()`.
    pub fn save_one(user: &mut User) -> Result<()> {
        user.save()
    }

    /// `User::find(id)`.
    pub fn find_user(id: i64) -> Result<Option<User>> {
        User::find(id)
    }

    /// Eager loading: `User::query().with(&["posts", "posts.comments"]).get()`.
    pub fn load_associations() -> Result<Nested<User, Post, Comment>> {
        Ok(into_nested(eager_load().get()?))
    }

    /// `User::query().cursor()`, calling `f` on each user.
    pub fn stream_users(mut f: impl FnMut(User)) -> Result<usize> {
        let mut count = 0;
        for user in User::query().cursor() {
            f(user?);
            count += 1;
        }
        Ok(count)
    }
}

/// The explicit-connection path: each call runs in `conn.scope(..)`.
pub mod explicit_connection {
    use super::*;
    use orm_core::Executor;

    /// Trivial query: `conn.scope(|| User::query().get())`.
    pub fn load_users(conn: &mut Connection) -> Result<Vec<User>> {
        conn.scope(|| User::query().get())
    }

    /// Medium query through the query builder.
    pub fn load_users_with_posts(conn: &mut Connection) -> Result<Vec<UserWithPost>> {
        conn.scope(|| users_with_posts().get())
    }

    /// `conn.scope(|| User::insert_many(&mut users))`.
    pub fn insert_many(conn: &mut Connection, users: &mut [User]) -> Result<()> {
        conn.scope(|| User::insert_many(users))
    }

    /// 100 `save()` calls in one `conn.transaction`, in its scope.
    pub fn save_each_in_transaction(conn: &mut Connection, users: &mut [User]) -> Result<()> {
        conn.transaction(|c| c.scope(|| users.iter_mut().try_for_each(|u| u.save())))
    }

    /// One `save()` in `conn.scope`.
    pub fn save_one(conn: &mut Connection, user: &mut User) -> Result<()> {
        conn.scope(|| user.save())
    }

    /// `conn.scope(|| User::find(id))`.
    pub fn find_user(conn: &mut Connection, id: i64) -> Result<Option<User>> {
        conn.scope(|| User::find(id))
    }

    /// Eager loading on an explicit connection.
    pub fn load_associations(conn: &mut Connection) -> Result<Nested<User, Post, Comment>> {
        Ok(into_nested(conn.scope(|| eager_load().get())?))
    }

    /// `User::query().cursor()` in `conn.scope`, calling `f` on each user.
    pub fn stream_users(conn: &mut Connection, mut f: impl FnMut(User)) -> Result<usize> {
        conn.scope(|| {
            let mut count = 0;
            for user in User::query().cursor() {
                f(user?);
                count += 1;
            }
            Ok(count)
        })
    }
}
