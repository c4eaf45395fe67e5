//! A key is the same key whether it is an integer or the text of that integer, as in
//! Eloquent (PHP array keys, `castKeys`): pivot writes given `"1"` for the integer key 1
//! change nothing they should not, and eager loading matches text foreign keys to
//! integer keys (and back) as the lazy reads do. On every backend.

use orm_core::prelude::*;
use orm_core::SyncChanges;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    #[model(belongs_to_many(Role, timestamps, with_pivot = ["active", "note"]))]
    pub roles: BelongsToMany<Role>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Role {
    pub id: Option<i64>,
    pub name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Post {
    pub id: Option<i64>,
    pub title: String,
    #[model(has_many(Remark))]
    pub remarks: HasMany<Remark>,
    #[model(morph_many(Note, name = "notable"))]
    pub notes: MorphMany<Note>,
    #[model(morph_to_many(Tag, name = "taggable"))]
    pub tags: MorphToMany<Tag>,
    #[model(has_many(Comment))]
    pub comments: HasMany<Comment>,
}

/// An integer field over a legacy SQLite `VARCHAR` column, which stores it as text.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Comment {
    pub id: Option<i64>,
    pub post_id: i64,
    pub body: String,
}

/// Its foreign key is text (`remarks.post_id VARCHAR`), the posts' key an integer.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Remark {
    pub id: Option<i64>,
    pub post_id: String,
    pub body: String,
    #[model(belongs_to(Post))]
    pub post: BelongsTo<Post>,
}

/// Its morph key is text (`notes.notable_id VARCHAR`).
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Note {
    pub id: Option<i64>,
    pub notable_id: String,
    pub notable_type: String,
    pub body: String,
    #[model(morph_to)]
    pub notable: MorphTo<Notable>,
}

#[derive(Debug, Clone, PartialEq, MorphTo)]
pub enum Notable {
    Post(Post),
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Tag {
    pub id: Option<i64>,
    pub name: String,
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("users", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("roles", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("role_user", |t| {
            t.big_integer("role_id");
            t.big_integer("user_id");
            t.boolean("active").default(true);
            t.string("note", 50).nullable();
            t.timestamps();
            t.primary(&["role_id", "user_id"]);
        })?;
        s.create("posts", |t| {
            t.increments("id");
            t.string("title", 50);
        })?;
        s.create("remarks", |t| {
            t.increments("id");
            t.string("post_id", 20);
            t.string("body", 50);
        })?;
        s.create("notes", |t| {
            t.increments("id");
            t.string("notable_id", 20);
            t.string("notable_type", 50);
            t.string("body", 50);
        })?;
        s.create("tags", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("taggables", |t| {
            t.big_integer("tag_id");
            t.big_integer("taggable_id");
            t.string("taggable_type", 50);
            t.primary(&["tag_id", "taggable_id", "taggable_type"]);
        })
    })
    .map_err(|e| Error::other(e.to_string()))
}

fn role(name: &str) -> Result<i64> {
    Ok(Role::create(Role {
        name: name.into(),
        ..Default::default()
    })?
    .id
    .unwrap())
}

fn post(title: &str) -> Result<Post> {
    Post::create(Post {
        title: title.into(),
        ..Default::default()
    })
}

/// A pivot row's active, note and created_at.
type PivotRow = (bool, Option<String>, DateTime<Utc>);

/// The pivot row of `user` and `role`.
fn pivot_row(user: &User, role: i64) -> Result<Option<PivotRow>> {
    let Some(row) = DB::table("role_user")
        .where_eq("user_id", user.id)
        .where_eq("role_id", role)
        .first()?
    else {
        return Ok(None);
    };
    Ok(Some((
        row.get("active")?,
        row.get("note")?,
        row.get("created_at")?,
    )))
}

on_every_backend! {
    fn pivot_writes_take_an_integer_given_as_text_for_that_integer() {
        schema()?;
        let ada = User::create(User { name: "Ada".into(), ..Default::default() })?;
        let (r1, r2) = (role("admin")?, role("editor")?);
        ada.roles().attach_with(r1, row! {"active" => false, "note" => "keep me"})?;
        let long_ago = Utc::now() - chrono::Duration::days(3);
        DB::table("role_user").update(row! {"created_at" => long_ago})?;
        let kept = pivot_row(&ada, r1)?;

        // Already linked: the pivot row, its columns and its created_at stay.
        let changes = ada.roles().sync([r1.to_string()])?;
        assert_eq!(changes, SyncChanges::default());
        assert_eq!(pivot_row(&ada, r1)?, kept);
        let changes = ada.roles().sync([Value::Text(r1.to_string()), Value::Int(r1)])?;
        assert_eq!(changes, SyncChanges::default());
        assert_eq!(pivot_row(&ada, r1)?, kept);

        // Linked: toggling detaches it (reported as the integer key it is).
        let changes = ada.roles().toggle([r1.to_string()])?;
        assert_eq!((changes.attached, changes.detached), (vec![], vec![Value::Int(r1)]));
        assert_eq!(ada.roles().count()?, 0);
        // "2" and 2 are one key: attached once.
        let changes = ada.roles().toggle([Value::Text(r2.to_string()), Value::Int(r2)])?;
        assert_eq!((changes.attached, changes.detached), (vec![Value::Int(r2)], vec![]));
        assert_eq!(ada.roles().count()?, 1);
        let changes = ada.roles().sync([r2.to_string(), r2.to_string(), r1.to_string()])?;
        assert_eq!((changes.attached, changes.detached), (vec![Value::Int(r1)], vec![]));

        assert_eq!(ada.roles().update_existing_pivot(r2.to_string(), row! {"note" => "set"})?, 1);
        assert_eq!(pivot_row(&ada, r2)?.unwrap().1.as_deref(), Some("set"));
        assert_eq!(ada.roles().detach([r2.to_string()])?, 1);
        assert_eq!(ada.roles().pluck::<i64>("roles.id")?, [r1]);
        Ok(())
    }

    fn morph_to_many_writes_take_an_integer_given_as_text_for_that_integer() {
        schema()?;
        let p1 = post("p1")?;
        let rust = Tag::create(Tag { name: "rust".into(), ..Default::default() })?.id.unwrap();
        p1.tags().attach([rust])?;
        assert_eq!(p1.tags().sync([rust.to_string()])?, SyncChanges::default());
        assert_eq!(p1.tags().count()?, 1);
        let changes = p1.tags().toggle([rust.to_string()])?;
        assert_eq!((changes.attached, changes.detached), (vec![], vec![Value::Int(rust)]));
        assert_eq!(p1.tags().count()?, 0);
        Ok(())
    }

    fn eager_loading_matches_text_foreign_keys_to_integer_keys() {
        schema()?;
        let p1 = post("p1")?;
        let p2 = post("p2")?;
        let p1_key = p1.id.unwrap().to_string();
        Remark::create(Remark { post_id: p1_key.clone(), body: "r".into(), ..Default::default() })?;
        Note::create(Note {
            notable_id: p1_key.clone(),
            notable_type: "posts".into(),
            body: "n".into(),
            ..Default::default()
        })?;

        // has_many and morph_many: eager and counted as lazily.
        assert_eq!((p1.remarks().count()?, p2.remarks().count()?), (1, 0));
        assert_eq!((p1.notes().count()?, p2.notes().count()?), (1, 0));
        let posts = Post::query().with(&["remarks", "notes"]).order_by("id").get()?;
        assert_eq!(posts.iter().map(|p| p.remarks.len()).collect::<Vec<_>>(), [1, 0]);
        assert_eq!(posts.iter().map(|p| p.notes.len()).collect::<Vec<_>>(), [1, 0]);
        let posts = Post::query().with_count(&["remarks", "notes"]).order_by("id").get()?;
        assert_eq!(posts.iter().map(|p| p.remarks.count()).collect::<Vec<_>>(), [Some(1), Some(0)]);
        assert_eq!(posts.iter().map(|p| p.notes.count()).collect::<Vec<_>>(), [Some(1), Some(0)]);

        // belongs_to and morph_to: the text key finds the integer-keyed owner.
        let remark = Remark::query().with(&["post"]).first()?.unwrap();
        assert_eq!(remark.post.get().map(|p| p.title.as_str()), Some("p1"));
        assert_eq!(remark.post().first()?.map(|p| p.title), Some("p1".to_owned()));
        let note = Note::query().with(&["notable"]).first()?.unwrap();
        assert!(matches!(note.notable.get(), Some(Notable::Post(p)) if p.title == "p1"));
        assert!(matches!(note.notable()?, Some(Notable::Post(p)) if p.title == "p1"));
        Ok(())
    }

    fn writes_through_a_relation_give_a_text_foreign_key_the_keys_text() {
        schema()?;
        let p1 = post("p1")?;
        let key = p1.id.unwrap().to_string();
        let note = p1.notes().create(Note { body: "n".into(), ..Default::default() })?;
        assert_eq!((note.notable_id.as_str(), note.notable_type.as_str()), (key.as_str(), "posts"));
        let remark = p1.remarks().create(Remark { body: "r".into(), ..Default::default() })?;
        assert_eq!(remark.post_id, key);
        let mut saved = Remark { body: "s".into(), ..Default::default() };
        p1.remarks().save(&mut saved)?;
        assert_eq!(saved.post_id, key);
        assert_eq!((p1.notes().count()?, p1.remarks().count()?), (1, 2));

        let mut moved = Remark { body: "m".into(), ..Default::default() };
        moved.associate("post", &p1)?;
        assert_eq!(moved.post_id, key);
        let mut pointed = Note { body: "p".into(), ..Default::default() };
        pointed.associate("notable", &p1)?;
        assert_eq!((pointed.notable_id.as_str(), pointed.notable_type.as_str()), (key.as_str(), "posts"));
        Ok(())
    }
}

#[test]
fn counts_match_integers_stored_as_text_in_a_sqlite_varchar_column() -> Result<()> {
    let _db = orm_core::testing::sqlite();
    DB::unprepared(
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
         CREATE TABLE comments (id INTEGER PRIMARY KEY, post_id VARCHAR(20) NOT NULL, body TEXT NOT NULL);",
    )?;
    let p1 = post("p1")?;
    post("p2")?;
    p1.comments().create(Comment {
        body: "c".into(),
        ..Default::default()
    })?;
    assert_eq!(
        DB::select("SELECT typeof(post_id) AS t FROM comments", &[])?[0].get::<String, _>("t")?,
        "text"
    );
    assert_eq!(p1.comments().count()?, 1);
    // Counted as the lazy query counts. (Reading the rows, lazily or eagerly, is a
    // decode error: an `i64` field does not read text.)
    let posts = Post::query()
        .with_count(&["comments"])
        .order_by("id")
        .get()?;
    assert_eq!(
        posts.iter().map(|p| p.comments.count()).collect::<Vec<_>>(),
        [Some(1), Some(0)]
    );
    Ok(())
}

/// A text-keyed parent whose children's keys may differ from its own in case or
/// trailing spaces (a key typed by hand, or read from a file).
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "repos", primary_key = "slug")]
pub struct Repo {
    pub slug: String,
    #[model(has_many(Edit, foreign_key = "repo_slug"))]
    pub edits: HasMany<Edit>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Edit {
    pub id: Option<i64>,
    pub repo_slug: String,
    #[model(belongs_to(Repo, foreign_key = "repo_slug"))]
    pub repo: BelongsTo<Repo>,
}

on_every_backend! {
    fn eager_loading_attaches_what_the_database_matched_as_the_lazy_read_does() {
        Schema::on_default(|s| {
            s.create("repos", |t| {
                t.string("slug", 20).primary();
            })?;
            s.create("edits", |t| {
                t.increments("id");
                t.string("repo_slug", 20);
            })
        })
        .map_err(Error::other)?;
        Repo::create(Repo { slug: "Key".into(), ..Default::default() })?;
        for slug in ["Key", "key", "Key "] {
            Edit::create(Edit { repo_slug: slug.into(), ..Default::default() })?;
        }
        // Whatever the database's comparison (exact on SQLite and PostgreSQL; on MySQL
        // the collation's, trailing spaces ignored and, under `_ci`, case too), eager
        // loading keeps every row it matched, as the lazy read and the count do.
        let repo = Repo::find_or_fail("Key")?;
        let lazy = repo.edits().count()?;
        let eager = Repo::query().with(&["edits"]).first()?.unwrap();
        assert_eq!(eager.edits.len() as u64, lazy);
        let counted = Repo::query().with_count(&["edits"]).first()?.unwrap();
        assert_eq!(counted.edits.count(), Some(lazy));
        // A parent whose only child differs from it by a trailing space: what the
        // grouped loads read back is the child's text, found for the parent as the
        // database matched it.
        Repo::create(Repo { slug: "Other".into(), ..Default::default() })?;
        Edit::create(Edit { repo_slug: "Other ".into(), ..Default::default() })?;
        let other = Repo::find_or_fail("Other")?;
        let lazy_other = other.edits().count()?;
        let loaded = Repo::query()
            .with_count(&["edits"])
            .with_exists(&["edits"])
            .with_max("edits", "id")
            .where_eq("slug", "Other")
            .first()?
            .unwrap();
        assert_eq!(loaded.edits.count(), Some(lazy_other));
        assert_eq!(loaded.edits.exists(), Some(lazy_other > 0));
        assert_eq!(loaded.edits.max::<i64>("id")?.is_some(), lazy_other > 0);
        let mut plain = vec![Repo::find_or_fail("Other")?];
        Repo::load_exists(&mut plain, &["edits"])?;
        assert_eq!(plain[0].edits.exists(), Some(lazy_other > 0));
        // The other way round, each edit's owner is matched by its exact key (which of
        // two keys differing in case MySQL would match depends on the collation).
        let edits = Edit::query().with(&["repo"]).order_by("id").get()?;
        let eager_owned: Vec<bool> = edits.iter().map(|e| e.repo.get().is_some()).collect();
        assert_eq!(eager_owned, [true, false, false, false]);
        if orm_tests::backend() == orm_core::Backend::Mysql {
            assert!(lazy >= 2, "MySQL pads trailing spaces in every collation: {lazy}");
        } else {
            assert_eq!(lazy, 1);
        }
        Ok(())
    }
}
