//! The schema (Diesel's benchmark schema: users, posts, comments) and deterministic seed
//! data, as SQL scripts every contender's connection runs identically.

use std::fmt::Write as _;

/// Which database a script is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL or MariaDB.
    Mysql,
}

/// Creates the three tables and their foreign-key indexes.
pub fn schema(database: Database) -> &'static str {
    match database {
        Database::Sqlite => {
            "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, hair_color TEXT);
             CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
                                 title TEXT NOT NULL, body TEXT);
             CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id),
                                    text TEXT NOT NULL);
             CREATE INDEX posts_user_id ON posts (user_id);
             CREATE INDEX comments_post_id ON comments (post_id);"
        }
        Database::Postgres => {
            "CREATE TABLE users (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, hair_color TEXT);
             CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, user_id BIGINT NOT NULL REFERENCES users (id),
                                 title TEXT NOT NULL, body TEXT);
             CREATE TABLE comments (id BIGSERIAL PRIMARY KEY, post_id BIGINT NOT NULL REFERENCES posts (id),
                                    text TEXT NOT NULL);
             CREATE INDEX posts_user_id ON posts (user_id);
             CREATE INDEX comments_post_id ON comments (post_id);"
        }
        // The foreign keys' indexes are declared with the tables (InnoDB would make its own).
        Database::Mysql => {
            "CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name TEXT NOT NULL, hair_color TEXT);
             CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL,
                                 title TEXT NOT NULL, body TEXT, INDEX posts_user_id (user_id),
                                 FOREIGN KEY (user_id) REFERENCES users (id));
             CREATE TABLE comments (id BIGINT AUTO_INCREMENT PRIMARY KEY, post_id BIGINT NOT NULL,
                                    text TEXT NOT NULL, INDEX comments_post_id (post_id),
                                    FOREIGN KEY (post_id) REFERENCES posts (id));"
        }
    }
}

/// Empties the tables (PostgreSQL, MySQL: and restarts the ids), so a seed starts at id 1.
pub fn reset(database: Database) -> &'static str {
    match database {
        Database::Sqlite => "DELETE FROM comments; DELETE FROM posts; DELETE FROM users;",
        Database::Postgres => "TRUNCATE comments, posts, users RESTART IDENTITY CASCADE;",
        Database::Mysql => {
            "SET FOREIGN_KEY_CHECKS = 0; TRUNCATE comments; TRUNCATE posts; TRUNCATE users; \
             SET FOREIGN_KEY_CHECKS = 1;"
        }
    }
}

/// What to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seed {
    /// Users, with ids 1..=users; even-numbered rows have black hair, the others brown.
    pub users: usize,
    /// Posts per user (odd-numbered posts have no body).
    pub posts_per_user: usize,
    /// Comments per post.
    pub comments_per_post: usize,
}

impl Seed {
    /// Only users.
    pub fn users(users: usize) -> Seed {
        Seed {
            users,
            posts_per_user: 0,
            comments_per_post: 0,
        }
    }

    /// Users with posts, and comments on the posts.
    pub fn users_posts_comments(users: usize, posts: usize, comments: usize) -> Seed {
        Seed {
            users,
            posts_per_user: posts,
            comments_per_post: comments,
        }
    }

    /// The SQL script inserting this seed (one transaction, multi-row statements).
    pub fn script(&self) -> String {
        const ROWS_PER_STATEMENT: usize = 500;
        let mut sql = String::from("BEGIN;\n");
        let mut push_rows =
            |table: &str, columns: &str, count: usize, row: &dyn Fn(usize) -> String| {
                for start in (0..count).step_by(ROWS_PER_STATEMENT) {
                    let _ = write!(sql, "INSERT INTO {table} ({columns}) VALUES ");
                    let end = (start + ROWS_PER_STATEMENT).min(count);
                    for i in start..end {
                        if i > start {
                            sql.push_str(", ");
                        }
                        sql.push_str(&row(i));
                    }
                    sql.push_str(";\n");
                }
            };
        push_rows("users", "id, name, hair_color", self.users, &|i| {
            let color = if i % 2 == 0 { "black" } else { "brown" };
            format!("({}, 'User {i}', '{color}')", i + 1)
        });
        let posts = self.users * self.posts_per_user;
        let per_user = self.posts_per_user.max(1);
        push_rows("posts", "id, user_id, title, body", posts, &|i| {
            let body = if i % 2 == 0 {
                format!("'Body of post {i}'")
            } else {
                "NULL".to_owned()
            };
            format!("({}, {}, 'Post {i}', {body})", i + 1, i / per_user + 1)
        });
        let per_post = self.comments_per_post.max(1);
        push_rows(
            "comments",
            "id, post_id, text",
            posts * self.comments_per_post,
            &|i| format!("({}, {}, 'Comment {i}')", i + 1, i / per_post + 1),
        );
        sql.push_str("COMMIT;\n");
        sql
    }

    /// PostgreSQL: moves the id sequences past the seeded ids (inserts then continue).
    pub fn sequence_fixup() -> &'static str {
        "SELECT setval(pg_get_serial_sequence('users', 'id'), COALESCE((SELECT MAX(id) FROM users), 0) + 1, false);
         SELECT setval(pg_get_serial_sequence('posts', 'id'), COALESCE((SELECT MAX(id) FROM posts), 0) + 1, false);
         SELECT setval(pg_get_serial_sequence('comments', 'id'), COALESCE((SELECT MAX(id) FROM comments), 0) + 1, false);"
    }
}
