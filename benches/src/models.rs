//! The ORM's models for the benchmark schema, written as a user would.

use orm_core::prelude::*;
use orm_core::Row;

/// A user.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "users")]
pub struct User {
    /// Primary key (`None` until saved).
    pub id: Option<i64>,
    /// Name.
    pub name: String,
    /// Hair colour.
    pub hair_color: Option<String>,
    /// The user's posts, when eager loaded.
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
}

/// A post.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "posts")]
pub struct Post {
    /// Primary key.
    pub id: Option<i64>,
    /// The author.
    pub user_id: i64,
    /// Title.
    pub title: String,
    /// Body.
    pub body: Option<String>,
    /// The post's comments, when eager loaded.
    #[model(has_many(Comment))]
    pub comments: HasMany<Comment>,
}

/// A comment.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "comments")]
pub struct Comment {
    /// Primary key.
    pub id: Option<i64>,
    /// The post commented on.
    pub post_id: i64,
    /// Text.
    pub text: String,
}

/// One row of `users LEFT JOIN posts`: the user and their post, if any.
#[derive(Debug, Clone)]
pub struct UserWithPost {
    /// The user.
    pub user: User,
    /// The post (`None` when the user has none).
    pub post: Option<Post>,
}

/// The columns [`UserWithPost`] decodes, in order.
pub const USER_WITH_POST_COLUMNS: [&str; 7] = [
    "users.id",
    "users.name",
    "users.hair_color",
    "posts.id",
    "posts.user_id",
    "posts.title",
    "posts.body",
];

impl FromRow for UserWithPost {
    fn from_row(row: &Row<'_>) -> Result<Self> {
        let user = User {
            id: row.get_at(0)?,
            name: row.get_at(1)?,
            hair_color: row.get_at(2)?,
            posts: HasMany::default(),
        };
        let post = match row.get_at::<Option<i64>>(3)? {
            None => None,
            Some(id) => Some(Post {
                id: Some(id),
                user_id: row.get_at(4)?,
                title: row.get_at(5)?,
                body: row.get_at(6)?,
                comments: HasMany::default(),
            }),
        };
        Ok(UserWithPost { user, post })
    }
}
