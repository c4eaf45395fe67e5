//! Creates the tables, writes a few rows of each model and reads them back.

mod models;
mod schema;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use models::{
    Category, Comment, NewCategory, NewComment, NewPost, NewProfile, NewTag, NewUser, Post,
    Profile, Tag, User,
};

const SCHEMA: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
                    created_at TIMESTAMP, updated_at TIMESTAMP);
CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
                    category_id INTEGER REFERENCES categories (id), title TEXT NOT NULL,
                    body TEXT NOT NULL, published BOOLEAN NOT NULL, created_at TIMESTAMP,
                    updated_at TIMESTAMP);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id),
                       user_id INTEGER NOT NULL REFERENCES users (id), body TEXT NOT NULL);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE profiles (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
                       bio TEXT, website TEXT);
";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    use schema::{categories, comments, posts, profiles, tags, users};
    let mut conn = SqliteConnection::establish(":memory:")?;
    conn.batch_execute(SCHEMA)?;
    let now = Some(Utc::now().naive_utc());
    let ada: User = diesel::insert_into(users::table)
        .values(NewUser {
            name: "Ada",
            email: "ada@example.com",
            created_at: now,
            updated_at: now,
        })
        .returning(User::as_returning())
        .get_result(&mut conn)?;
    let news: Category = diesel::insert_into(categories::table)
        .values(NewCategory {
            name: "News",
            parent_id: None,
        })
        .returning(Category::as_returning())
        .get_result(&mut conn)?;
    let post: Post = diesel::insert_into(posts::table)
        .values(NewPost {
            user_id: ada.id,
            category_id: Some(news.id),
            title: "Hello",
            body: "First post",
            published: true,
            created_at: now,
            updated_at: now,
        })
        .returning(Post::as_returning())
        .get_result(&mut conn)?;
    diesel::insert_into(comments::table)
        .values(NewComment {
            post_id: post.id,
            user_id: ada.id,
            body: "Nice",
        })
        .execute(&mut conn)?;
    diesel::insert_into(tags::table)
        .values(NewTag { name: "rust" })
        .execute(&mut conn)?;
    diesel::insert_into(profiles::table)
        .values(NewProfile {
            user_id: ada.id,
            bio: Some("Mathematician"),
            website: None,
        })
        .execute(&mut conn)?;

    let all_users = users::table.select(User::as_select()).load(&mut conn)?;
    let their_posts = Post::belonging_to(&all_users)
        .select(Post::as_select())
        .load(&mut conn)?;
    let their_comments = Comment::belonging_to(&their_posts)
        .select(Comment::as_select())
        .load(&mut conn)?;
    let their_profiles = Profile::belonging_to(&all_users)
        .select(Profile::as_select())
        .load(&mut conn)?;
    let comments_by_post = their_comments.grouped_by(&their_posts);
    let posts_by_user = their_posts.grouped_by(&all_users);
    let profiles_by_user = their_profiles.grouped_by(&all_users);
    let published: i64 = posts::table
        .filter(posts::published.eq(true))
        .count()
        .get_result(&mut conn)?;
    let first_tag = tags::table
        .order(tags::name)
        .select(Tag::as_select())
        .first(&mut conn)
        .optional()?;
    let top_categories = categories::table
        .filter(categories::parent_id.is_null())
        .select(Category::as_select())
        .load(&mut conn)?;
    let post_comments = comments::table
        .filter(comments::post_id.eq(post.id))
        .select(Comment::as_select())
        .load(&mut conn)?;
    println!(
        "{} users ({} with posts, {} post comment groups, {} profiles), {published} published \
         posts, tag {:?}, {} top categories, {} comments",
        all_users.len(),
        posts_by_user.len(),
        comments_by_post.len(),
        profiles_by_user.len(),
        first_tag.map(|t| t.name),
        top_categories.len(),
        post_comments.len()
    );
    Ok(())
}
