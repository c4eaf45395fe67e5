//! A small blog: users, posts, comments and tags, with migrations, relations, eager
//! loading, a transaction and pagination.

use orm_core::prelude::*;
use orm_migrate::{Migration, Migrator, Schema};

/// A blog author.
#[derive(Debug, Clone, Default, Model)]
#[model(timestamps)]
pub struct User {
    /// Key.
    pub id: Option<i64>,
    /// Display name.
    pub name: String,
    /// Unique e-mail.
    pub email: String,
    /// Set on insert.
    pub created_at: Option<DateTime<Utc>>,
    /// Set on insert and update.
    pub updated_at: Option<DateTime<Utc>>,
    /// The user's posts.
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
}

/// A blog post; soft-deleted posts stay in the table.
#[derive(Debug, Clone, Default, Model)]
#[model(timestamps, soft_deletes)]
pub struct Post {
    /// Key.
    pub id: Option<i64>,
    /// The author.
    pub user_id: i64,
    /// Title.
    pub title: String,
    /// Body text.
    pub body: String,
    /// Whether readers see it.
    pub published: bool,
    /// Set on insert.
    pub created_at: Option<DateTime<Utc>>,
    /// Set on insert and update.
    pub updated_at: Option<DateTime<Utc>>,
    /// Set by a soft delete.
    pub deleted_at: Option<DateTime<Utc>>,
    /// The author, when loaded.
    #[model(belongs_to(User))]
    pub user: BelongsTo<User>,
    /// The comments, when loaded.
    #[model(has_many(Comment))]
    pub comments: HasMany<Comment>,
    /// The tags, through the `post_tag` pivot table.
    #[model(belongs_to_many(Tag))]
    pub tags: BelongsToMany<Tag>,
}

/// A comment on a post.
#[derive(Debug, Clone, Default, Model)]
pub struct Comment {
    /// Key.
    pub id: Option<i64>,
    /// The post.
    pub post_id: i64,
    /// Who wrote it.
    pub author: String,
    /// Text.
    pub body: String,
}

/// A tag on posts.
#[derive(Debug, Clone, Default, Model)]
pub struct Tag {
    /// Key.
    pub id: Option<i64>,
    /// Unique name.
    pub name: String,
}

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
            t.timestamps();
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
            t.text("body");
            t.boolean("published").default(false);
            t.timestamps();
            t.soft_deletes();
        })
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop_if_exists("posts")
    }
}

struct CreateCommentsAndTagsTables;
impl Migration for CreateCommentsAndTagsTables {
    fn name(&self) -> &str {
        "2024_01_03_000000_create_comments_and_tags_tables"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.create("comments", |t| {
            t.increments("id");
            t.foreign_id("post_id").constrained().cascade_on_delete();
            t.string("author", 100);
            t.text("body");
        })?;
        schema.create("tags", |t| {
            t.increments("id");
            t.string("name", 50).unique();
        })?;
        schema.create("post_tag", |t| {
            t.foreign_id("post_id").constrained().cascade_on_delete();
            t.foreign_id("tag_id").constrained().cascade_on_delete();
            t.primary(&["post_id", "tag_id"]);
        })
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop_if_exists("post_tag")?;
        schema.drop_if_exists("tags")?;
        schema.drop_if_exists("comments")
    }
}

/// The blog's migrations.
pub fn migrator() -> Migrator {
    Migrator::new(vec![
        Box::new(CreateUsersTable),
        Box::new(CreatePostsTable),
        Box::new(CreateCommentsAndTagsTables),
    ])
}

/// What [`run`] found, for the examples to print and the tests to check.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    /// Migrations applied.
    pub migrated: Vec<String>,
    /// `(author, published titles, comments on them)` for every author, by name.
    pub authors: Vec<(String, Vec<String>, usize)>,
    /// Titles of page 2 of the published posts, 2 per page, newest first.
    pub page_two: Vec<String>,
    /// Published posts in all, and pages.
    pub total: u64,
    /// Last page number.
    pub last_page: u64,
    /// Posts tagged "rust".
    pub tagged_rust: Vec<String>,
    /// Whether the failed transaction left nothing behind.
    pub rolled_back: bool,
    /// Statements the eager load ran.
    pub eager_queries: usize,
}

/// Migrates, fills the blog and queries it, on the default connection (whatever
/// `DB::connect` or a test database installed). `say` receives a line per step.
pub fn run(mut say: impl FnMut(&str)) -> std::result::Result<Summary, Box<dyn std::error::Error>> {
    let mut summary = Summary::default();
    let report = migrator().run()?;
    for name in &report.applied {
        say(&format!("migrated {name}"));
    }
    summary.migrated = report.applied.clone();

    let ada = User::create(User {
        name: "Ada".into(),
        email: "ada@example.com".into(),
        ..Default::default()
    })?;
    let grace = User::create(User {
        name: "Grace".into(),
        email: "grace@example.com".into(),
        ..Default::default()
    })?;
    let rust = Tag::create(Tag {
        name: "rust".into(),
        ..Default::default()
    })?;
    let sql = Tag::create(Tag {
        name: "sql".into(),
        ..Default::default()
    })?;

    // One transaction for a post with its tags and first comment.
    DB::transaction(|| {
        for (author, title, published, tags) in [
            (&ada, "Engines", true, vec![rust.id]),
            (&ada, "Numbers", true, vec![sql.id]),
            (&ada, "Draft", false, vec![]),
            (&grace, "Compilers", true, vec![rust.id, sql.id]),
            (&grace, "Debugging", true, vec![]),
        ] {
            let post = author.posts().create(Post {
                title: title.into(),
                body: format!("{title} by {}", author.name),
                published,
                ..Default::default()
            })?;
            post.tags().attach(tags.into_iter().flatten())?;
            post.comments().create(Comment {
                author: "reader".into(),
                body: format!("nice {title}"),
                ..Default::default()
            })?;
        }
        Ok(())
    })?;
    say("wrote 5 posts with tags and comments in one transaction");

    // A transaction that fails leaves nothing behind.
    let before = Post::with_trashed().count()?;
    let failed = DB::transaction(|| {
        ada.posts().create(Post {
            title: "Oops".into(),
            body: String::new(),
            ..Default::default()
        })?;
        Err::<(), _>(Error::Cancelled("changed my mind".into()))
    });
    summary.rolled_back = failed.is_err() && Post::with_trashed().count()? == before;
    say(&format!(
        "a failed transaction rolled back: {}",
        summary.rolled_back
    ));

    // Eager loading: one query per level, whatever the number of rows.
    DB::enable_query_log();
    let authors = User::query()
        .with(&["posts", "posts.comments", "posts.tags"])
        .with_where("posts", |q| q.where_eq("published", true))
        .order_by("name")
        .get()?;
    summary.eager_queries = DB::query_log().len();
    DB::disable_query_log();
    for author in &authors {
        let titles: Vec<String> = author.posts.iter().map(|p| p.title.clone()).collect();
        let comments = author.posts.iter().map(|p| p.comments.len()).sum();
        say(&format!(
            "{} wrote {titles:?} ({comments} comments)",
            author.name
        ));
        summary
            .authors
            .push((author.name.clone(), titles, comments));
    }
    say(&format!(
        "loaded authors, posts, comments and tags with {} queries",
        summary.eager_queries
    ));

    // Pagination, newest first (ties broken by id).
    let page = Post::where_eq("published", true)
        .order_by_desc("id")
        .paginate(2, 2)?;
    summary.page_two = page.data.iter().map(|p| p.title.clone()).collect();
    summary.total = page.total;
    summary.last_page = page.last_page;
    say(&format!(
        "page {} of {} ({} published posts): {:?}",
        page.current_page, page.last_page, page.total, summary.page_two
    ));

    // Existence queries compile to EXISTS.
    let mut tagged: Vec<String> = Post::query()
        .where_has("tags", |q| q.where_eq("name", "rust"))
        .get()?
        .into_iter()
        .map(|p| p.title)
        .collect();
    tagged.sort();
    say(&format!("posts tagged rust: {tagged:?}"));
    summary.tagged_rust = tagged;

    // A soft delete hides the draft; it is still in the table.
    if let Some(mut draft) = Post::where_eq("title", "Draft").first()? {
        draft.delete()?;
    }
    say(&format!(
        "soft-deleted the draft: {} posts visible, {} in the table",
        Post::count()?,
        Post::with_trashed().count()?
    ));
    Ok(summary)
}
