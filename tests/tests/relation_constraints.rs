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
