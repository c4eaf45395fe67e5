//! Six models, as an application declares them.

use orm_core::prelude::*;

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    pub email: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
    #[model(has_one(Profile))]
    pub profile: HasOne<Profile>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps)]
pub struct Post {
    pub id: Option<i64>,
    pub user_id: i64,
    pub category_id: Option<i64>,
    pub title: String,
    pub body: String,
    pub published: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[model(belongs_to(User))]
    pub user: BelongsTo<User>,
    #[model(has_many(Comment))]
    pub comments: HasMany<Comment>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Comment {
    pub id: Option<i64>,
    pub post_id: i64,
    pub user_id: i64,
    pub body: String,
    #[model(belongs_to(Post))]
    pub post: BelongsTo<Post>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Tag {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "categories")]
pub struct Category {
    pub id: Option<i64>,
    pub name: String,
    pub parent_id: Option<i64>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Profile {
    pub id: Option<i64>,
    pub user_id: i64,
    pub bio: Option<String>,
    pub website: Option<String>,
}
