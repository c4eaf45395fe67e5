//! Creates the tables, writes a few rows of each model and reads them back.

mod models;

use models::{Category, Comment, Post, Profile, Tag, User};
use orm_core::prelude::*;

const SCHEMA: &str = "
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL,
                    created_at TEXT, updated_at TEXT);
CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL, parent_id INTEGER);
CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
                    category_id INTEGER REFERENCES categories (id), title TEXT NOT NULL,
                    body TEXT NOT NULL, published BOOLEAN NOT NULL, created_at TEXT, updated_at TEXT);
CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id INTEGER NOT NULL REFERENCES posts (id),
                       user_id INTEGER NOT NULL REFERENCES users (id), body TEXT NOT NULL);
CREATE TABLE tags (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE profiles (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id),
                       bio TEXT, website TEXT);
";

fn main() -> Result<()> {
    DB::connect("sqlite::memory:")?;
    DB::unprepared(SCHEMA)?;
    let mut ada = User {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        ..User::default()
    };
    ada.save()?;
    let user_id = ada.id.unwrap_or_default();
    let mut news = Category {
        name: "News".into(),
        ..Category::default()
    };
    news.save()?;
    let mut post = Post {
        user_id,
        category_id: news.id,
        title: "Hello".into(),
        body: "First post".into(),
        published: true,
        ..Post::default()
    };
    post.save()?;
    let post_id = post.id.unwrap_or_default();
    Comment {
        post_id,
        user_id,
        body: "Nice".into(),
        ..Comment::default()
    }
    .save()?;
    Tag {
        name: "rust".into(),
        ..Tag::default()
    }
    .save()?;
    Profile {
        user_id,
        bio: Some("Mathematician".into()),
        ..Profile::default()
    }
    .save()?;

    let users = User::query().with(&["posts", "posts.comments", "profile"]).get()?;
    let published = Post::where_("published", "=", true).count()?;
    let first_tag = Tag::query().order_by("name").first()?;
    let categories = Category::query().where_null("parent_id").get()?;
    let comments = Comment::where_("post_id", "=", post_id).get()?;
    println!(
        "{} users, {published} published posts, tag {:?}, {} top categories, {} comments",
        users.len(),
        first_tag.map(|t| t.name),
        categories.len(),
        comments.len()
    );
    Ok(())
}
