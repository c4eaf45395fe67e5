//! Relations declared with a constraint (`constrain = path::to::fn`): a has-one "latest
//! post" and a has-many "published posts" read lazily, eager loaded, in `has` and in
//! counts, on every backend.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, Model)]
pub struct Author {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Post))]
    pub posts: HasMany<Post>,
    #[model(has_one(Post, constrain = Post::latest_first))]
    pub latest_post: HasOne<Post>,
    #[model(has_many(Post, constrain = Post::published))]
    pub published_posts: HasMany<Post>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Post {
    pub id: Option<i64>,
    pub author_id: i64,
    pub title: String,
    pub published: bool,
    pub written: i64,
}

impl Post {
    fn latest_first(query: Query<Post>) -> Query<Post> {
        query.order_by_desc("written")
    }

    fn published(query: Query<Post>) -> Query<Post> {
        query.where_eq("published", true).order_by("title")
    }
}

fn seed() -> Result<()> {
    Schema::on_default(|s| {
        s.create("authors", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("posts", |t| {
            t.increments("id");
            t.big_integer("author_id");
            t.string("title", 50);
            t.boolean("published");
            t.big_integer("written");
        })
    })
    .map_err(Error::other)?;
    let ada = Author::create(Author {
        name: "Ada".into(),
        ..Default::default()
    })?;
    let bob = Author::create(Author {
        name: "Bob".into(),
        ..Default::default()
    })?;
    for (author, title, published, written) in [
        (&ada, "b-notes", true, 1),
        (&ada, "a-draft", false, 3),
        (&ada, "c-essay", true, 2),
        (&bob, "z-draft", false, 5),
    ] {
        Post::create(Post {
            author_id: author.id.unwrap(),
            title: title.into(),
            published,
            written,
            ..Default::default()
        })?;
    }
    Ok(())
}

fn titles(posts: &[Post]) -> Vec<&str> {
    posts.iter().map(|p| p.title.as_str()).collect()
}

on_every_backend! {
    fn lazy_reads_apply_the_constraint() {
        seed()?;
        let ada = Author::where_eq("name", "Ada").first()?.unwrap();
        assert_eq!(ada.latest_post().first()?.unwrap().title, "a-draft");
        assert_eq!(titles(&ada.published_posts().get()?), ["b-notes", "c-essay"]);
        assert_eq!(ada.posts().count()?, 3);
        Ok(())
    }

    fn eager_loading_applies_the_constraint() {
        seed()?;
        let authors = Author::query().with(&["latest_post", "published_posts"]).order_by("name").get()?;
        assert_eq!(authors[0].latest_post.get().unwrap().title, "a-draft");
        assert_eq!(titles(&authors[0].published_posts), ["b-notes", "c-essay"]);
        assert_eq!(authors[1].latest_post.get().unwrap().title, "z-draft");
        assert!(authors[1].published_posts.is_empty());
        Ok(())
    }

    fn has_and_counts_apply_the_constraint() {
        seed()?;
        let with_published = Author::query().has("published_posts").get()?;
        assert_eq!(with_published.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Ada"]);
        assert_eq!(Author::query().has("posts").count()?, 2);
        let counted = Author::query().with_count(&["published_posts"]).order_by("name").get()?;
        assert_eq!(counted[0].published_posts.count(), Some(2));
        assert_eq!(counted[1].published_posts.count(), Some(0));
        Ok(())
    }
}

fn names(authors: &[Author]) -> Vec<&str> {
    authors.iter().map(|a| a.name.as_str()).collect()
}

// A has-one whose constraint orders its rows holds the first one (Eloquent's
// `latestOfMany`): `has`, `where_has`, the counts and the aggregates judge that row, not
// every related row. Ada's latest post is her unpublished "a-draft" (written 3), Bob's
// his unpublished "z-draft" (written 5).
on_every_backend! {
    fn where_has_on_a_latest_has_one_judges_the_latest_row() {
        seed()?;
        let by_name = || Author::query().order_by("name");
        assert!(by_name().where_has("latest_post", |q| q.where_eq("published", true)).get()?.is_empty());
        assert_eq!(names(&by_name().where_has("latest_post", |q| q.where_eq("published", false)).get()?), ["Ada", "Bob"]);
        assert_eq!(names(&by_name().where_has("latest_post", |q| q.where_eq("posts.published", false)).get()?), ["Ada", "Bob"]);
        assert!(by_name().where_relation("latest_post", "title", "=", "c-essay").get()?.is_empty());
        assert_eq!(names(&by_name().where_doesnt_have("latest_post", |q| q.where_eq("title", "z-draft")).get()?), ["Ada"]);
        assert_eq!(by_name().has_count("latest_post", ">", 1).count()?, 0);
        assert_eq!(names(&by_name().has("latest_post").get()?), ["Ada", "Bob"]);
        assert_eq!(names(&by_name().has("latest_post").where_has("posts", |q| q.where_eq("published", true)).get()?), ["Ada"]);
        Ok(())
    }

    fn counts_and_aggregates_of_a_latest_has_one_read_its_one_row() {
        seed()?;
        let authors = Author::query()
            .with_count(&["latest_post", "posts"])
            .with_sum("latest_post", "written")
            .with_max("posts", "written")
            .order_by("name")
            .get()?;
        assert_eq!(authors[0].latest_post.count(), Some(1));
        assert_eq!(authors[0].posts.count(), Some(3));
        assert_eq!(authors[0].latest_post.sum("written"), Some(3.0));
        assert_eq!(authors[1].latest_post.sum("written"), Some(5.0));
        let published = Author::query()
            .with_count_where("latest_post", |q| q.where_eq("published", true))
            .order_by("name")
            .get()?;
        assert_eq!(published.iter().map(|a| a.latest_post.count()).collect::<Vec<_>>(), [Some(0), Some(0)]);
        Ok(())
    }

    fn a_latest_has_one_skips_a_soft_deleted_latest_row() {
        Schema::on_default(|s| {
            s.create("owners", |t| {
                t.increments("id");
                t.string("name", 20);
            })?;
            s.create("notes", |t| {
                t.increments("id");
                t.big_integer("owner_id");
                t.string("body", 20);
                t.timestamp("deleted_at").nullable();
            })
        })
        .map_err(Error::other)?;
        let ada = Owner::create(Owner { name: "Ada".into(), ..Default::default() })?;
        for body in ["old", "new"] {
            Note::create(Note { owner_id: ada.id.unwrap(), body: body.into(), ..Default::default() })?;
        }
        Note::where_eq("body", "new").first()?.unwrap().delete()?;
        assert_eq!(ada.last_note().first()?.unwrap().body, "old");
        assert_eq!(Owner::query().where_has("last_note", |q| q.where_eq("body", "old")).count()?, 1);
        let owners = Owner::query().with_count(&["last_note"]).get()?;
        assert_eq!(owners[0].last_note.count(), Some(1));
        Ok(())
    }

    fn a_self_relation_latest_child_is_judged_by_its_own_rows() {
        Schema::on_default(|s| {
            s.create("sections", |t| {
                t.increments("id");
                t.integer("parent_id").nullable();
                t.string("title", 20);
            })
        })
        .map_err(Error::other)?;
        let root = Section::create(Section { title: "root".into(), ..Default::default() })?;
        let other = Section::create(Section { title: "other".into(), ..Default::default() })?;
        for (parent, title) in [(&root, "first"), (&root, "second"), (&other, "only")] {
            Section::create(Section { parent_id: parent.id, title: title.into(), ..Default::default() })?;
        }
        let titles = |q: Query<Section>| -> Result<Vec<String>> {
            Ok(q.order_by("title").get()?.into_iter().map(|s| s.title).collect())
        };
        assert_eq!(titles(Section::query().where_has("newest_child", |q| q.where_eq("title", "first")))?, Vec::<String>::new());
        assert_eq!(titles(Section::query().where_has("newest_child", |q| q.where_eq("title", "second")))?, ["root"]);
        assert_eq!(titles(Section::query().has("newest_child"))?, ["other", "root"]);
        let counted = Section::query().with_count(&["newest_child"]).order_by("title").get()?;
        assert_eq!(counted.iter().map(|s| s.newest_child.count()).collect::<Vec<_>>(), [Some(0), Some(0), Some(1), Some(1), Some(0)]);
        Ok(())
    }
}

#[derive(Debug, Clone, Default, Model)]
pub struct Owner {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_one(Note, constrain = Note::newest_first))]
    pub last_note: HasOne<Note>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(soft_deletes)]
pub struct Note {
    pub id: Option<i64>,
    pub owner_id: i64,
    pub body: String,
    pub deleted_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl Note {
    fn newest_first(query: Query<Note>) -> Query<Note> {
        query.order_by_desc("id")
    }
}

#[derive(Debug, Clone, Default, Model)]
pub struct Section {
    pub id: Option<i64>,
    pub parent_id: Option<i64>,
    pub title: String,
    #[model(has_one(Section, foreign_key = "parent_id", constrain = Section::newest_first))]
    pub newest_child: HasOne<Section>,
}

impl Section {
    fn newest_first(query: Query<Section>) -> Query<Section> {
        query.order_by_desc("id")
    }
}
