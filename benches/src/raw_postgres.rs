//! The PostgreSQL baseline: the `postgres` crate with prepared statements (prepared
//! once per connection) and positional reads.

use std::collections::HashMap;

use postgres::types::ToSql;
use postgres::{Client, NoTls, Statement};

use crate::grouping::{nest, Nested};
use crate::{NewUser, PlainComment, PlainPost, PlainUser};

/// A client with its prepared statements.
pub struct RawPostgres {
    client: Client,
    statements: HashMap<String, Statement>,
}

impl RawPostgres {
    /// Connects and makes `schema` the only schema on the search path.
    pub fn connect(url: &str, schema: &str) -> Result<RawPostgres, postgres::Error> {
        let mut client = Client::connect(url, NoTls)?;
        client.batch_execute(&format!("SET search_path TO \"{schema}\""))?;
        Ok(RawPostgres {
            client,
            statements: HashMap::new(),
        })
    }

    /// The client, for set-up scripts.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    fn prepared(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Trivial query: every user.
    pub fn load_users(&mut self) -> Result<Vec<PlainUser>, postgres::Error> {
        let statement = self.prepared("SELECT id, name, hair_color FROM users")?;
        let rows = self.client.query(&statement, &[])?;
        Ok(rows.iter().map(user_from_row).collect())
    }

    /// Medium query: black-haired users with their post, if any.
    pub fn load_users_with_posts(
        &mut self,
    ) -> Result<Vec<(PlainUser, Option<PlainPost>)>, postgres::Error> {
        let statement = self.prepared(
            "SELECT users.id, users.name, users.hair_color, posts.id, posts.user_id, posts.title, posts.body \
             FROM users LEFT JOIN posts ON posts.user_id = users.id WHERE users.hair_color = $1",
        )?;
        let rows = self.client.query(&statement, &[&"black"])?;
        Ok(rows
            .iter()
            .map(|row| {
                let post = row.get::<_, Option<i64>>(3).map(|id| PlainPost {
                    id,
                    user_id: row.get(4),
                    title: row.get(5),
                    body: row.get(6),
                });
                (user_from_row(row), post)
            })
            .collect())
    }

    /// Inserts every user in one multi-row statement, returning the generated keys.
    pub fn insert_many(&mut self, users: &[NewUser]) -> Result<Vec<i64>, postgres::Error> {
        let mut sql = String::from("INSERT INTO users (name, hair_color) VALUES ");
        for i in 0..users.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${})", 2 * i + 1, 2 * i + 2));
        }
        sql.push_str(" RETURNING id");
        let statement = self.prepared(&sql)?;
        let params: Vec<&(dyn ToSql + Sync)> = users
            .iter()
            .flat_map(|u| [&u.name as &(dyn ToSql + Sync), &u.hair_color])
            .collect();
        let rows = self.client.query(&statement, &params)?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Inserts one user and returns its key.
    pub fn insert_one(&mut self, user: &NewUser) -> Result<i64, postgres::Error> {
        let statement =
            self.prepared("INSERT INTO users (name, hair_color) VALUES ($1, $2) RETURNING id")?;
        let row = self
            .client
            .query_one(&statement, &[&user.name, &user.hair_color])?;
        Ok(row.get(0))
    }

    /// Inserts each user with its own statement, all in one transaction.
    pub fn insert_each_in_transaction(
        &mut self,
        users: &[NewUser],
    ) -> Result<Vec<i64>, postgres::Error> {
        let statement =
            self.prepared("INSERT INTO users (name, hair_color) VALUES ($1, $2) RETURNING id")?;
        let mut tx = self.client.transaction()?;
        let mut keys = Vec::with_capacity(users.len());
        for user in users {
            keys.push(
                tx.query_one(&statement, &[&user.name, &user.hair_color])?
                    .get(0),
            );
        }
        tx.commit()?;
        Ok(keys)
    }

    /// Looks one user up by primary key.
    pub fn find_user(&mut self, id: i64) -> Result<Option<PlainUser>, postgres::Error> {
        let statement = self.prepared("SELECT id, name, hair_color FROM users WHERE id = $1")?;
        let row = self.client.query_opt(&statement, &[&id])?;
        Ok(row.as_ref().map(user_from_row))
    }

    /// Associations: users, their posts (`= ANY($1)`) and the posts' comments, nested.
    pub fn load_associations(
        &mut self,
    ) -> Result<Nested<PlainUser, PlainPost, PlainComment>, postgres::Error> {
        let users = self.load_users()?;
        let user_ids: Vec<i64> = users.iter().map(|u| u.id).collect();
        let statement =
            self.prepared("SELECT id, user_id, title, body FROM posts WHERE user_id = ANY($1)")?;
        let posts: Vec<PlainPost> = self
            .client
            .query(&statement, &[&user_ids])?
            .iter()
            .map(|row| PlainPost {
                id: row.get(0),
                user_id: row.get(1),
                title: row.get(2),
                body: row.get(3),
            })
            .collect();
        let post_ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
        let statement =
            self.prepared("SELECT id, post_id, text FROM comments WHERE post_id = ANY($1)")?;
        let comments: Vec<PlainComment> = self
            .client
            .query(&statement, &[&post_ids])?
            .iter()
            .map(|row| PlainComment {
                id: row.get(0),
                post_id: row.get(1),
                text: row.get(2),
            })
            .collect();
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

    /// Streams every user through one portal, one row at a time, calling `f` on each.
    pub fn stream_users(&mut self, mut f: impl FnMut(PlainUser)) -> Result<usize, postgres::Error> {
        use postgres::fallible_iterator::FallibleIterator;
        let statement = self.prepared("SELECT id, name, hair_color FROM users ORDER BY id")?;
        let mut rows = self
            .client
            .query_raw(&statement, std::iter::empty::<i64>())?;
        let mut count = 0;
        while let Some(row) = rows.next()? {
            f(user_from_row(&row));
            count += 1;
        }
        Ok(count)
    }
}

fn user_from_row(row: &postgres::Row) -> PlainUser {
    PlainUser {
        id: row.get(0),
        name: row.get(1),
        hair_color: row.get(2),
    }
}
