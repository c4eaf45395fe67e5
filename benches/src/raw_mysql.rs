//! The MySQL/MariaDB baseline: the `mysql` crate with prepared statements (the driver's
//! per-connection statement cache: each is prepared once) and positional reads. Keys
//! come back with `INSERT ... RETURNING id`, as the ORM reads them on MariaDB 10.5+.

use mysql::prelude::Queryable;
use mysql::{Conn, Opts, OptsBuilder, TxOpts, Value};

use crate::grouping::{nest, Nested};
use crate::{NewUser, PlainComment, PlainPost, PlainUser};

/// A connection on one database.
pub struct RawMysql {
    conn: Conn,
}

type Row3 = (i64, String, Option<String>);
/// A user and its left-joined post's columns.
type UserPostRow = (
    i64,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
);

impl RawMysql {
    /// Connects and makes `database` the session's default database.
    pub fn connect(url: &str, database: &str) -> Result<RawMysql, mysql::Error> {
        let opts = OptsBuilder::from_opts(Opts::from_url(&driver_url(url))?)
            .prefer_socket(false)
            .stmt_cache_size(Some(512));
        let mut conn = Conn::new(opts)?;
        conn.query_drop(format!("USE `{database}`"))?;
        Ok(RawMysql { conn })
    }

    /// The connection, for set-up scripts.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Trivial query: every user.
    pub fn load_users(&mut self) -> Result<Vec<PlainUser>, mysql::Error> {
        self.conn
            .exec_map("SELECT id, name, hair_color FROM users", (), user)
    }

    /// Medium query: black-haired users with their post, if any.
    pub fn load_users_with_posts(
        &mut self,
    ) -> Result<Vec<(PlainUser, Option<PlainPost>)>, mysql::Error> {
        let mut out = Vec::new();
        let rows = self.conn.exec_iter(
            "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body \
             FROM users LEFT JOIN posts ON posts.user_id = users.id WHERE users.hair_color = ?",
            ("black",),
        )?;
        for row in rows {
            let row = row?;
            let (id, name, hair_color, post_id, user_id, title, body): UserPostRow =
                mysql::from_row(row);
            let post = post_id.map(|id| PlainPost {
                id,
                user_id: user_id.unwrap_or_default(),
                title: title.unwrap_or_default(),
                body,
            });
            out.push((
                PlainUser {
                    id,
                    name,
                    hair_color,
                },
                post,
            ));
        }
        Ok(out)
    }

    /// Inserts every user in one multi-row statement, returning the generated keys.
    pub fn insert_many(&mut self, users: &[NewUser]) -> Result<Vec<i64>, mysql::Error> {
        let mut sql = String::from("INSERT INTO users (name, hair_color) VALUES ");
        for i in 0..users.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?)");
        }
        sql.push_str(" RETURNING id");
        let params: Vec<Value> = users
            .iter()
            .flat_map(|u| [Value::from(&u.name), Value::from(&u.hair_color)])
            .collect();
        self.conn.exec(&sql, params)
    }

    /// Inserts one user and returns its key.
    pub fn insert_one(&mut self, user: &NewUser) -> Result<i64, mysql::Error> {
        let id: Option<i64> = self.conn.exec_first(
            "INSERT INTO users (name, hair_color) VALUES (?, ?) RETURNING id",
            (&user.name, &user.hair_color),
        )?;
        Ok(id.unwrap_or_default())
    }

    /// Inserts each user with its own statement, all in one transaction.
    pub fn insert_each_in_transaction(
        &mut self,
        users: &[NewUser],
    ) -> Result<Vec<i64>, mysql::Error> {
        let mut tx = self.conn.start_transaction(TxOpts::default())?;
        let mut keys = Vec::with_capacity(users.len());
        for user in users {
            let id: Option<i64> = tx.exec_first(
                "INSERT INTO users (name, hair_color) VALUES (?, ?) RETURNING id",
                (&user.name, &user.hair_color),
            )?;
            keys.push(id.unwrap_or_default());
        }
        tx.commit()?;
        Ok(keys)
    }

    /// Looks one user up by primary key.
    pub fn find_user(&mut self, id: i64) -> Result<Option<PlainUser>, mysql::Error> {
        let row: Option<Row3> = self
            .conn
            .exec_first("SELECT id, name, hair_color FROM users WHERE id = ?", (id,))?;
        Ok(row.map(user))
    }

    /// Associations: users, their posts (`IN (?, ..)`) and the posts' comments, nested.
    pub fn load_associations(
        &mut self,
    ) -> Result<Nested<PlainUser, PlainPost, PlainComment>, mysql::Error> {
        let users = self.load_users()?;
        let user_ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let posts: Vec<PlainPost> = self.in_list(
            "SELECT id, user_id, title, body FROM posts WHERE user_id IN ",
            &user_ids,
            |(id, user_id, title, body)| PlainPost {
                id,
                user_id,
                title,
                body,
            },
        )?;
        let post_ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let comments: Vec<PlainComment> = self.in_list(
            "SELECT id, post_id, text FROM comments WHERE post_id IN ",
            &post_ids,
            |(id, post_id, text)| PlainComment { id, post_id, text },
        )?;
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

    /// `head (?, ?, ..)` with one placeholder per id (nothing to read for no ids).
    fn in_list<R: mysql::prelude::FromRow, T>(
        &mut self,
        head: &str,
        ids: &[i64],
        f: impl FnMut(R) -> T,
    ) -> Result<Vec<T>, mysql::Error> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = String::with_capacity(head.len() + 3 * ids.len() + 2);
        sql.push_str(head);
        sql.push('(');
        for i in 0..ids.len() {
            sql.push_str(if i == 0 { "?" } else { ", ?" });
        }
        sql.push(')');
        self.conn.exec_map(&sql, ids.to_vec(), f)
    }

    /// Streams every user through one result set, one row at a time, calling `f` on each.
    pub fn stream_users(&mut self, mut f: impl FnMut(PlainUser)) -> Result<usize, mysql::Error> {
        let rows = self
            .conn
            .exec_iter("SELECT id, name, hair_color FROM users ORDER BY id", ())?;
        let mut count = 0;
        for row in rows {
            f(user(mysql::from_row(row?)));
            count += 1;
        }
        Ok(count)
    }
}

/// `url` without the ORM's own options (`returning=`, `autoinc_consecutive=`, which the
/// test URL may carry), which the driver refuses.
fn driver_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.starts_with("returning=") && !p.starts_with("autoinc_consecutive="))
        .collect();
    match kept.is_empty() {
        true => base.to_owned(),
        false => format!("{base}?{}", kept.join("&")),
    }
}

fn user((id, name, hair_color): Row3) -> PlainUser {
    PlainUser {
        id,
        name,
        hair_color,
    }
}
