//! The baseline ("the limit"): hand-written rusqlite with cached prepared statements and
//! positional reads.

use rusqlite::{params, params_from_iter, Connection};

use crate::data::{self, Database, Seed};
use crate::grouping::{nest, Nested};
use crate::{NewUser, PlainComment, PlainPost, PlainUser};

/// Opens an in-memory database with the schema and `seed` (foreign keys on, as the ORM
/// and Diesel have them).
pub fn open(seed: &Seed) -> rusqlite::Result<Connection> {
    let conn = Connection::open_in_memory()?;
    conn.set_prepared_statement_cache_capacity(256);
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    conn.execute_batch(data::schema(Database::Sqlite))?;
    conn.execute_batch(&seed.script())?;
    Ok(conn)
}

/// Opens (creating) the database file at `path` with the schema and `seed`, set up as
/// the ORM sets up a file database (WAL, `synchronous = NORMAL`, foreign keys on), so
/// the two compare like for like.
pub fn open_file(seed: &Seed, path: &std::path::Path) -> rusqlite::Result<Connection> {
    // Seeded by a connection of its own, closed before the measured one opens (as the
    // ORM's file is seeded): closing checkpoints the write-ahead log, so neither side
    // reads its rows through a WAL the other has not got.
    let seeder = Connection::open(path)?;
    seeder.pragma_update(None, "journal_mode", "WAL")?;
    seeder.execute_batch(data::schema(Database::Sqlite))?;
    seeder.execute_batch(&seed.script())?;
    drop(seeder);
    let conn = Connection::open(path)?;
    conn.set_prepared_statement_cache_capacity(256);
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON")?;
    Ok(conn)
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PlainUser> {
    Ok(PlainUser {
        id: row.get(0)?,
        name: row.get(1)?,
        hair_color: row.get(2)?,
    })
}

fn post_from_row(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<PlainPost> {
    Ok(PlainPost {
        id: row.get(at)?,
        user_id: row.get(at + 1)?,
        title: row.get(at + 2)?,
        body: row.get(at + 3)?,
    })
}

/// Trivial query: every user.
pub fn load_users(conn: &Connection) -> rusqlite::Result<Vec<PlainUser>> {
    let mut stmt = conn.prepare_cached("SELECT id, name, hair_color FROM users")?;
    let rows = stmt.query_map([], user_from_row)?;
    rows.collect()
}

/// Medium query: black-haired users with their post, if any.
pub fn load_users_with_posts(
    conn: &Connection,
) -> rusqlite::Result<Vec<(PlainUser, Option<PlainPost>)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body \
         FROM users LEFT JOIN posts ON posts.user_id = users.id WHERE users.hair_color = ?1",
    )?;
    let rows = stmt.query_map(["black"], |row| {
        let user = user_from_row(row)?;
        let post = match row.get::<_, Option<i64>>(3)? {
            None => None,
            Some(_) => Some(post_from_row(row, 3)?),
        };
        Ok((user, post))
    })?;
    rows.collect()
}

fn multi_row_insert_sql(rows: usize) -> String {
    let mut sql = String::from("INSERT INTO users (name, hair_color) VALUES ");
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?)");
    }
    sql.push_str(" RETURNING id");
    sql
}

/// Inserts every user in one multi-row statement and returns the generated keys (the
/// same work as the ORM's `insert_many`, which fills the keys in).
pub fn insert_many(conn: &Connection, users: &[NewUser]) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(&multi_row_insert_sql(users.len()))?;
    let params = users
        .iter()
        .flat_map(|u| [&u.name as &dyn rusqlite::ToSql, &u.hair_color]);
    let rows = stmt.query_map(params_from_iter(params), |row| row.get(0))?;
    rows.collect()
}

/// Inserts one user and returns its key.
pub fn insert_one(conn: &Connection, user: &NewUser) -> rusqlite::Result<i64> {
    let mut stmt =
        conn.prepare_cached("INSERT INTO users (name, hair_color) VALUES (?1, ?2) RETURNING id")?;
    stmt.query_row(params![user.name, user.hair_color], |row| row.get(0))
}

/// Inserts each user with its own statement, all in one transaction.
pub fn insert_each_in_transaction(
    conn: &mut Connection,
    users: &[NewUser],
) -> rusqlite::Result<Vec<i64>> {
    let tx = conn.transaction()?;
    let keys = users
        .iter()
        .map(|user| insert_one(&tx, user))
        .collect::<rusqlite::Result<Vec<_>>>()?;
    tx.commit()?;
    Ok(keys)
}

/// Looks one user up by primary key.
pub fn find_user(conn: &Connection, id: i64) -> rusqlite::Result<Option<PlainUser>> {
    let mut stmt = conn.prepare_cached("SELECT id, name, hair_color FROM users WHERE id = ?1")?;
    let mut rows = stmt.query([id])?;
    rows.next()?.map(user_from_row).transpose()
}

fn in_list(column: &str, count: usize) -> String {
    let mut sql = format!("{column} IN (");
    for i in 0..count {
        sql.push_str(if i == 0 { "?" } else { ", ?" });
    }
    sql.push(')');
    sql
}

/// Associations: users, their posts and the posts' comments in three queries, nested.
pub fn load_associations(
    conn: &Connection,
) -> rusqlite::Result<Nested<PlainUser, PlainPost, PlainComment>> {
    let users = load_users(conn)?;
    let user_ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, user_id, title, body FROM posts WHERE {}",
        in_list("user_id", user_ids.len())
    ))?;
    let posts = stmt
        .query_map(params_from_iter(&user_ids), |row| post_from_row(row, 0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let post_ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, post_id, text FROM comments WHERE {}",
        in_list("post_id", post_ids.len())
    ))?;
    let comments = stmt
        .query_map(params_from_iter(&post_ids), |row| {
            Ok(PlainComment {
                id: row.get(0)?,
                post_id: row.get(1)?,
                text: row.get(2)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(nest(
        users,
        posts,
        comments,
        |u| u.id,
        |p| p.id,
        |p| p.user_id,
        |c| c.post_id,
    ))
}

/// Streams every user through one statement, one row at a time, calling `f` on each.
pub fn stream_users(conn: &Connection, mut f: impl FnMut(PlainUser)) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare_cached("SELECT id, name, hair_color FROM users ORDER BY id")?;
    let mut rows = stmt.query([])?;
    let mut count = 0;
    while let Some(row) = rows.next()? {
        f(user_from_row(row)?);
        count += 1;
    }
    Ok(count)
}
