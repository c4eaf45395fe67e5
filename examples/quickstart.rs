//! Quick start on embedded SQLite: no set-up; prints what it does.
//!
//! `cargo run --example quickstart`

use orm_core::prelude::*;
use orm_migrate::{Migration, Migrator, Schema};

/// The model: a plain struct. `#[derive(Model)]` maps it to the `users` table.
#[derive(Debug, Clone, Default, Model)]
#[model(timestamps, soft_deletes)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    pub email: String,
    pub votes: i32,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Post {
    pub id: Option<i64>,
    pub user_id: i64,
    pub title: String,
}

/// Migrations are Rust code using the schema builder.
struct CreateUsersTable;
impl Migration for CreateUsersTable {
    fn name(&self) -> &str {
        "2024_01_01_000000_create_users_table"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.create("users", |t| {
            t.increments("id");
            t.string("name", 100);
            t.string("email", 255).unique();
            t.integer("votes").default(0);
            t.timestamps();
            t.soft_deletes();
        })
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop_if_exists("users")
    }
}

struct CreatePostsTable;
impl Migration for CreatePostsTable {
    fn name(&self) -> &str {
        "2024_01_02_000000_create_posts_table"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.create("posts", |t| {
            t.increments("id");
            t.foreign_id("user_id").constrained().cascade_on_delete();
            t.string("title", 200);
        })
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop_if_exists("posts")
    }
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    DB::connect("sqlite::memory:")?;
    println!("connected to an embedded, in-memory SQLite database");

    let report =
        Migrator::new(vec![Box::new(CreateUsersTable), Box::new(CreatePostsTable)]).run()?;
    for name in &report.applied {
        println!("migrated: {name}");
    }

    let mut ada = User {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        votes: 120,
        ..Default::default()
    };
    ada.save()?;
    println!(
        "saved {} with id {:?} at {:?}",
        ada.name,
        ada.id,
        ada.created_at.map(|t| t.to_rfc3339())
    );

    let mut others = vec![
        User {
            name: "Grace".into(),
            email: "grace@example.com".into(),
            votes: 80,
            ..Default::default()
        },
        User {
            name: "Linus".into(),
            email: "linus@example.com".into(),
            votes: 300,
            ..Default::default()
        },
    ];
    User::insert_many(&mut others)?;
    println!("inserted {} more users in one statement", others.len());

    ada.posts().create(Post {
        title: "Notes on the Analytical Engine".into(),
        ..Default::default()
    })?;
    ada.posts().create(Post {
        title: "On Bernoulli numbers".into(),
        ..Default::default()
    })?;

    let popular = User::where_("votes", ">", 100)
        .order_by_desc("votes")
        .get()?;
    let names: Vec<&str> = popular.iter().map(|u| u.name.as_str()).collect();
    println!("users with more than 100 votes: {names:?}");

    let users = User::query().with(&["posts"]).order_by("name").get()?;
    for user in &users {
        println!("{} has {} post(s)", user.name, user.posts.len());
    }

    match User::create(User {
        name: "Ada again".into(),
        email: "ada@example.com".into(),
        ..Default::default()
    }) {
        Err(Error::UniqueViolation { message, .. }) => {
            println!("a duplicate email is refused: {message}")
        }
        other => println!("unexpected: {other:?}"),
    }

    let failed = DB::transaction(|| {
        User::query().update([("votes", Value::Int(0))])?;
        Err::<(), _>(Error::other("changed my mind"))
    });
    println!(
        "a failed transaction ({}) rolled back: votes still total {}",
        failed.unwrap_err(),
        User::query().sum("votes")?
    );

    let mut grace = User::where_eq("name", "Grace")
        .first()?
        .ok_or("Grace is missing")?;
    grace.delete()?;
    println!(
        "soft-deleted Grace: {} users visible, {} with trashed",
        User::count()?,
        User::with_trashed().count()?
    );
    Ok(())
}
