//! DESIGN.md section 3 and 4, written as a user would, run on both backends.

use orm_core::prelude::*;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, Model)]
#[model(table = "users", timestamps, soft_deletes)] // table defaults to snake_case plural: User -> users
pub struct User {
    #[model(primary_key)] // defaults to the field named `id`
    pub id: Option<i64>, // None until inserted; save() fills it
    pub name: String,
    pub email: String,
    #[model(hidden)] // never serialised (to_json / serde)
    pub password: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(has_many(Post))] // foreign key defaults to `user_id`; not a column
    pub posts: HasMany<Post>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps)]
pub struct Post {
    pub id: Option<i64>,
    pub title: String,
    pub body: Option<String>,
    pub user_id: i64,
    pub published: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[model(has_many(Comment))]
    pub comments: HasMany<Comment>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Comment {
    pub id: Option<i64>,
    pub post_id: i64,
    pub body: String,
}

mod migrations {
    use orm_migrate::prelude::*;

    pub struct CreateUsersTable;
    impl Migration for CreateUsersTable {
        fn name(&self) -> &str {
            "2014_10_12_000000_create_users_table"
        }
        fn up(&self, schema: &mut Schema) -> Result<()> {
            schema.create("users", |table| {
                table.increments("id");
                table.string("name", 255);
                table.string("email", 255).unique();
                table.string("password", 255);
                table.integer("votes").default(0);
                table.timestamps();
                table.soft_deletes();
            })
        }
        fn down(&self, schema: &mut Schema) -> Result<()> {
            schema.drop_if_exists("users")
        }
    }

    pub struct CreatePostsTable;
    impl Migration for CreatePostsTable {
        fn name(&self) -> &str {
            "2024_01_01_000000_create_posts_table"
        }
        fn up(&self, schema: &mut Schema) -> Result<()> {
            schema.create("posts", |table| {
                table.increments("id");
                table.string("title", 255);
                table.text("body").nullable();
                table.big_integer("user_id").unsigned();
                table.boolean("published").default(false);
                table
                    .foreign("user_id")
                    .references("id")
                    .on("users")
                    .on_delete("cascade");
                table.timestamps();
            })
        }
        fn down(&self, schema: &mut Schema) -> Result<()> {
            schema.drop_if_exists("posts")
        }
    }

    pub struct CreateCommentsTable;
    impl Migration for CreateCommentsTable {
        fn name(&self) -> &str {
            "2024_01_02_000000_create_comments_table"
        }
        fn up(&self, schema: &mut Schema) -> Result<()> {
            schema.create("comments", |table| {
                table.increments("id");
                table
                    .foreign_id("post_id")
                    .constrained()
                    .cascade_on_delete();
                table.text("body");
            })
        }
        fn down(&self, schema: &mut Schema) -> Result<()> {
            schema.drop_if_exists("comments")
        }
    }

    pub fn all() -> Vec<Box<dyn Migration>> {
        vec![
            Box::new(CreateUsersTable),
            Box::new(CreatePostsTable),
            Box::new(CreateCommentsTable),
        ]
    }
}

fn migrate() -> Result<()> {
    orm_migrate::Migrator::new(migrations::all())
        .run()
        .map(|_| ())
        .map_err(|e| Error::other(e.to_string()))
}

on_every_backend! {
    fn the_design_example_runs_as_written() {
        migrate()?;
        let mut u = User { name: "Ada".into(), email: "ada@example.com".into(), ..Default::default() };
        u.save()?; // INSERT, id + timestamps filled
        assert!(u.id.is_some() && u.created_at.is_some());
        u.name = "Ada L.".into();
        u.save()?; // UPDATE by primary key
        let id = u.id.unwrap();
        let found: Option<User> = User::find(id)?;
        assert_eq!(found.unwrap().name, "Ada L.");
        let found: User = User::find_or_fail(id)?;
        assert!(matches!(User::find_or_fail(id + 100), Err(Error::NotFound { .. })));
        assert_eq!(found.email, "ada@example.com");

        DB::update("UPDATE users SET votes = ? WHERE id = ?", &[&150, &id])?;
        let top = User::where_("votes", ">", 100).order_by_desc("votes").limit(10).get()?;
        assert_eq!(top.len(), 1);
        let n = User::query().where_in("id", [1, 2, 3]).count()?;
        assert_eq!(n, 1);

        for (title, published) in [("hello", true), ("draft", false)] {
            let post = u.posts().create(Post { title: title.into(), published, ..Default::default() })?;
            post.comments().create(Comment { body: format!("on {title}"), ..Default::default() })?;
        }
        let posts = u.posts().where_("published", "=", true).get()?;
        assert_eq!(posts.len(), 1);
        let users = User::query().with(&["posts", "posts.comments"]).get()?; // eager: one query per level
        assert_eq!(users[0].posts.len(), 2);
        assert!(users[0].posts.iter().all(|p| p.comments.len() == 1));
        assert!(users[0].to_json()?.get("password").is_none());

        let mut a = User { name: "A".into(), email: "a@x".into(), ..Default::default() };
        let mut b = User { name: "B".into(), email: "b@x".into(), ..Default::default() };
        DB::transaction(|| {
            a.save()?;
            b.save()?;
            Ok(())
        })?;
        assert_eq!(User::count()?, 3);

        u.delete()?; // soft delete when the model has soft_deletes
        assert!(User::find(id)?.is_none());
        assert_eq!(User::with_trashed().count()?, 3);

        DB::statement("CREATE INDEX users_name_index ON users (name)")?; // raw SQL, explicitly named
        let rows = DB::select("SELECT * FROM users WHERE id = ?", &[&id])?; // bound parameters
        assert_eq!(rows[0].get::<String, _>("name")?, "Ada L.");
        Ok(())
    }
}
