//! Polymorphic relations (`morph_one`, `morph_many`, `morph_to`, `morph_to_many`,
//! `morphed_by_many`) on every backend. Posts and videos share ids on purpose: a type
//! column that was not filtered on would mix their comments, images and tags.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(morph_name = "post")]
pub struct Post {
    pub id: Option<i64>,
    pub title: String,
    /// A column only posts have.
    pub public: bool,
    #[model(morph_many(Comment, name = "commentable"))]
    pub comments: MorphMany<Comment>,
    #[model(morph_one(Image, name = "owner"))]
    pub image: MorphOne<Image>,
    #[model(morph_to_many(Tag, name = "taggable"))]
    pub tags: MorphToMany<Tag>,
    /// A relation only posts declare (for `morphWith`-style nested loads).
    #[model(morph_many(Comment, name = "commentable"))]
    pub notes: MorphMany<Comment>,
}

/// No `morph_name`: its table, `videos`.
#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Video {
    pub id: Option<i64>,
    pub title: String,
    #[model(morph_many(Comment, name = "commentable"))]
    pub comments: MorphMany<Comment>,
    #[model(morph_one(Image, name = "owner"))]
    pub image: MorphOne<Image>,
    #[model(morph_to_many(Tag, name = "taggable", with_pivot = ["taggable_type"]))]
    pub tags: MorphToMany<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Comment {
    pub id: Option<i64>,
    pub body: String,
    pub commentable_id: Option<i64>,
    pub commentable_type: Option<String>,
    #[model(morph_to)]
    pub commentable: MorphTo<Commentable>,
}

#[derive(Debug, Clone, PartialEq, MorphTo)]
pub enum Commentable {
    Post(Post),
    Video(Video),
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Image {
    pub id: Option<i64>,
    pub url: String,
    pub owner_id: i64,
    pub owner_type: String,
    #[model(morph_to(name = "owner"))]
    pub imageable: MorphTo<Commentable>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Tag {
    pub id: Option<i64>,
    pub name: String,
    #[model(morphed_by_many(Post, name = "taggable"))]
    pub posts: MorphedByMany<Post>,
    #[model(morphed_by_many(Video, name = "taggable"))]
    pub videos: MorphedByMany<Video>,
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("posts", |t| {
            t.increments("id");
            t.string("title", 100);
            t.boolean("public").default(false);
        })?;
        s.create("videos", |t| {
            t.increments("id");
            t.string("title", 100);
        })?;
        s.create("comments", |t| {
            t.increments("id");
            t.string("body", 100);
            t.big_integer("commentable_id").nullable();
            t.string("commentable_type", 50).nullable();
        })?;
        s.create("images", |t| {
            t.increments("id");
            t.string("url", 100);
            t.big_integer("owner_id");
            t.string("owner_type", 50);
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

fn post(title: &str) -> Result<Post> {
    Post::create(Post {
        title: title.into(),
        ..Default::default()
    })
}

fn video(title: &str) -> Result<Video> {
    Video::create(Video {
        title: title.into(),
        ..Default::default()
    })
}

fn comment(body: &str) -> Comment {
    Comment {
        body: body.into(),
        ..Default::default()
    }
}

fn bodies(comments: &[Comment]) -> Vec<&str> {
    let mut out: Vec<&str> = comments.iter().map(|c| c.body.as_str()).collect();
    out.sort();
    out
}

/// Post 1 and 2, video 1 (the same id as post 1); comments on post 1, on video 1, none
/// on post 2.
fn seed() -> Result<(Post, Post, Video)> {
    schema()?;
    let p1 = post("p1")?;
    let p2 = post("p2")?;
    let v1 = video("v1")?;
    assert_eq!(p1.id, v1.id, "the test relies on shared ids");
    p1.comments().create(comment("p1-a"))?;
    p1.comments().create(comment("p1-b"))?;
    v1.comments().create(comment("v1-a"))?;
    Ok((p1, p2, v1))
}

on_every_backend! {
    fn morph_many_writes_both_columns_and_reads_by_type() -> Result<()> {
        let (p1, p2, v1) = seed()?;
        let stored = Comment::query().order_by("body").get()?;
        assert_eq!(stored[0].commentable_type.as_deref(), Some("post"));
        assert_eq!(stored[0].commentable_id, p1.id);
        assert_eq!(stored[2].commentable_type.as_deref(), Some("videos"));
        assert_eq!(bodies(&p1.comments().get()?), ["p1-a", "p1-b"]);
        assert_eq!(bodies(&v1.comments().get()?), ["v1-a"]);
        assert!(p2.comments().get()?.is_empty());
        assert_eq!(p1.comments().count()?, 2);

        // One query per relation, whatever the number of parents.
        DB::enable_query_log();
        let posts = Post::query().with(&["comments"]).order_by("id").get()?;
        assert_eq!(DB::query_log().len(), 2);
        DB::disable_query_log();
        assert_eq!(bodies(&posts[0].comments), ["p1-a", "p1-b"]);
        assert!(posts[1].comments.is_loaded() && posts[1].comments.is_empty());
        let videos = Video::query().with(&["comments"]).get()?;
        assert_eq!(bodies(&videos[0].comments), ["v1-a"]);
        // A limit per parent: the last comment of each post, in one statement, the
        // video's comment (same key, other type) not among them.
        DB::enable_query_log();
        let posts = Post::query().with_where("comments", |q| q.order_by_desc("body").limit(1)).order_by("id").get()?;
        assert_eq!(DB::query_log().len(), 2);
        DB::disable_query_log();
        assert_eq!(bodies(&posts[0].comments), ["p1-b"]);
        assert!(posts[1].comments.is_empty());
        let tagged = Post::query().with_where("tags", |q| q.order_by("name").limit(1)).order_by("id").get()?;
        assert!(tagged.iter().all(|p| p.tags.len() <= 1));
        Ok(())
    }

    fn morph_one_reads_lazily_and_eagerly() -> Result<()> {
        let (p1, p2, v1) = seed()?;
        p1.image().create(Image {
            url: "p1.png".into(),
            ..Default::default()
        })?;
        let mut image = Image {
            url: "v1.png".into(),
            ..Default::default()
        };
        v1.image().save(&mut image)?;
        assert_eq!(image.owner_type, "videos");
        assert_eq!(p1.image().first()?.unwrap().url, "p1.png");
        assert_eq!(v1.image().first()?.unwrap().url, "v1.png");
        assert!(p2.image().first()?.is_none());
        let posts = Post::query().with(&["image"]).order_by("id").get()?;
        assert_eq!(posts[0].image.get().unwrap().url, "p1.png");
        assert!(posts[1].image.is_loaded() && posts[1].image.get().is_none());
        Ok(())
    }

    fn morph_to_reads_each_type_with_one_query() -> Result<()> {
        let (p1, _, v1) = seed()?;
        Comment::create(comment("orphan"))?;
        let first = Comment::where_eq("body", "p1-a").first()?.unwrap();
        assert_eq!(first.commentable()?, Some(Commentable::Post(Post::find(p1.id)?.unwrap())));
        let on_video = Comment::where_eq("body", "v1-a").first()?.unwrap();
        match on_video.commentable()? {
            Some(Commentable::Video(video)) => assert_eq!(video.title, "v1"),
            other => panic!("expected the video, got {other:?}"),
        }
        let orphan = Comment::where_eq("body", "orphan").first()?.unwrap();
        assert_eq!(orphan.commentable()?, None);

        DB::enable_query_log();
        let comments = Comment::query().with(&["commentable"]).order_by("body").get()?;
        // comments + posts + videos
        assert_eq!(DB::query_log().len(), 3);
        DB::disable_query_log();
        let titles: Vec<Option<&str>> = comments
            .iter()
            .map(|c| match c.commentable.get() {
                Some(Commentable::Post(p)) => Some(p.title.as_str()),
                Some(Commentable::Video(v)) => Some(v.title.as_str()),
                None => None,
            })
            .collect();
        assert_eq!(titles, [None, Some("p1"), Some("p1"), Some("v1")]);
        assert!(comments[0].commentable.is_loaded());
        // A loaded parent serialises as its model.
        let json = comments[3].to_json()?;
        assert_eq!(json["commentable"]["title"], "v1");
        assert_eq!(json["commentable_type"], "videos");

        // The lazy read obeys the lazy-loading guard; a loaded relation does not.
        DB::prevent_lazy_loading(true);
        let err = on_video.commentable().unwrap_err();
        assert!(matches!(err, Error::LazyLoading { .. }), "{err:?}");
        assert!(comments[3].commentable().is_ok());
        DB::prevent_lazy_loading(false);

        // A nested relation only one type declares (Eloquent's `morphWith`): loaded
        // onto that type's parents, the others left alone; a name no type declares is
        // refused.
        let comments = Comment::query().with(&["commentable.notes"]).order_by("body").get()?;
        for comment in &comments {
            match comment.commentable.get() {
                Some(Commentable::Post(p)) => assert!(p.notes.is_loaded() && !p.notes.is_empty()),
                Some(Commentable::Video(v)) => assert!(!v.image.is_loaded()),
                None => {}
            }
        }
        let typo = Comment::query().with(&["commentable.notez"]).get();
        assert!(matches!(typo, Err(Error::UnknownRelation { .. })), "{typo:?}");

        // Nested eager loading goes through each type's own relation.
        let comments = Comment::query()
            .with(&["commentable.comments"])
            .where_eq("body", "v1-a")
            .get()?;
        match comments[0].commentable.get() {
            Some(Commentable::Video(v)) => assert_eq!(bodies(&v.comments), ["v1-a"]),
            other => panic!("expected the video, got {other:?}"),
        }
        assert_eq!(v1.id, p1.id);
        Ok(())
    }

    fn load_missing_leaves_a_loaded_morph_to_alone() -> Result<()> {
        seed()?;
        let mut comments = Comment::query().order_by("body").get()?;
        // The first comment's parent loaded (and changed in memory); the rest not.
        Comment::load(&mut comments[..1], &["commentable"])?;
        if let Some(Commentable::Post(post)) = comments[0].commentable.get_mut() {
            post.title = "changed".into();
        }
        DB::enable_query_log();
        Comment::load_missing(&mut comments, &["commentable"])?;
        let log = DB::query_log();
        DB::disable_query_log();
        // One query per type the others point at (posts for p1-b, videos for v1-a).
        let titles: Vec<&str> = comments
            .iter()
            .map(|c| match c.commentable.get() {
                Some(Commentable::Post(p)) => p.title.as_str(),
                Some(Commentable::Video(v)) => v.title.as_str(),
                None => "",
            })
            .collect();
        assert_eq!(titles, ["changed", "p1", "v1"]);
        assert_eq!(log.len(), 2, "{:#?}", log.iter().map(|q| &q.sql).collect::<Vec<_>>());
        Ok(())
    }

    fn morph_to_with_an_unknown_type_is_a_typed_error() -> Result<()> {
        seed()?;
        DB::table("comments").insert(vec![
            ("body", Value::from("stray")),
            ("commentable_id", Value::from(1)),
            ("commentable_type", Value::from("App\\Models\\Post")),
        ])?;
        let stray = Comment::where_eq("body", "stray").first()?.unwrap();
        for err in [
            stray.commentable().unwrap_err(),
            Comment::query().with(&["commentable"]).get().unwrap_err(),
        ] {
            match err {
                Error::UnknownMorphType { model, relation, type_name, known } => {
                    assert_eq!((model.as_str(), relation.as_str()), ("Comment", "commentable"));
                    assert_eq!(type_name, "App\\Models\\Post");
                    assert_eq!(known, "post, videos");
                }
                other => panic!("expected UnknownMorphType, got {other:?}"),
            }
        }
        Ok(())
    }

    fn associate_sets_the_type_and_the_key() -> Result<()> {
        let (p1, p2, v1) = seed()?;
        let mut c = Comment::create(comment("moving"))?;
        c.associate("commentable", &p2)?;
        assert_eq!((c.commentable_id, c.commentable_type.as_deref()), (p2.id, Some("post")));
        c.associate("commentable", &v1)?;
        assert_eq!((c.commentable_id, c.commentable_type.as_deref()), (v1.id, Some("videos")));
        c.save()?;
        assert_eq!(bodies(&v1.comments().get()?), ["moving", "v1-a"]);

        // A model that is no variant of the enum, and an unsaved one, are refused.
        let tag = Tag::create(Tag { name: "rust".into(), ..Default::default() })?;
        let err = c.associate("commentable", &tag).unwrap_err();
        assert_eq!(err.invalid_query_kind(), Some(InvalidQueryKind::Relation), "{err}");
        let err = c.associate("commentable", &Post::default()).unwrap_err();
        assert_eq!(err.invalid_query_kind(), Some(InvalidQueryKind::Relation), "{err}");
        assert_eq!(c.commentable_type.as_deref(), Some("videos"));

        c.dissociate("commentable")?;
        assert_eq!((c.commentable_id, c.commentable_type.as_deref()), (None, None));
        c.save()?;
        assert_eq!(c.commentable()?, None);
        // A loaded morph_to: associate unloads it (its enum is not the owner's type),
        // dissociate leaves it loaded with nothing.
        let mut loaded = Comment::query().with(&["commentable"]).where_eq("body", "v1-a").first()?.unwrap();
        assert!(loaded.commentable.get().is_some());
        loaded.associate("commentable", &p1)?;
        assert!(!loaded.commentable.is_loaded());
        let mut loaded = Comment::query().with(&["commentable"]).where_eq("body", "v1-a").first()?.unwrap();
        loaded.dissociate("commentable")?;
        assert!(loaded.commentable.is_loaded() && loaded.commentable.get().is_none());
        assert_eq!(p1.comments().count()?, 2);
        Ok(())
    }

    fn existence_and_counts_filter_by_type() -> Result<()> {
        let (_, _, v1) = seed()?;
        let with_comments = Post::query().has("comments").get()?;
        assert_eq!(with_comments.iter().map(|p| p.title.as_str()).collect::<Vec<_>>(), ["p1"]);
        assert_eq!(Post::query().doesnt_have("comments").count()?, 1);
        let b = Post::query().where_has("comments", |q| q.where_("body", "like", "%-b")).get()?;
        assert_eq!(b.len(), 1);
        // Video 1 has one comment; a comment on post 1 (same id) must not count for it.
        assert_eq!(Video::query().has_count("comments", ">=", 2).count()?, 0);
        let counted = Post::query().with_count(&["comments"]).order_by("id").get()?;
        assert_eq!(counted.iter().map(|p| p.comments.count()).collect::<Vec<_>>(), [Some(2), Some(0)]);
        let counted = Video::query().with_count(&["comments"]).get()?;
        assert_eq!(counted[0].comments.count(), Some(1));
        assert_eq!(v1.comments().count()?, 1);

        // A morph_to reads several tables: counting it is refused, typed.
        let err = Comment::query().with_count(&["commentable"]).get().unwrap_err();
        assert_eq!(err.invalid_query_kind(), Some(InvalidQueryKind::Relation), "{err}");

        // One type at a time: the type is matched, not only the key (post 1 = video 1).
        Comment::create(comment("orphan"))?;
        let mut gone = Comment::create(comment("to a deleted video"))?;
        let v2 = video("v2")?;
        gone.associate("commentable", &v2)?;
        gone.save()?;
        Video::destroy([v2.id])?;
        let on_posts = Comment::query().has_morph::<Post>("commentable").order_by("body").get()?;
        assert_eq!(bodies(&on_posts), ["p1-a", "p1-b"]);
        assert_eq!(Comment::query().has_morph::<Video>("commentable").count()?, 1);
        let either = Comment::query()
            .where_group(|q| q.has_morph::<Post>("commentable"))
            .or_where_group(|q| q.has_morph::<Video>("commentable"))
            .count()?;
        assert_eq!(either, 3);
        // `has` on the morph_to itself: any type it may hold (Eloquent's
        // whereHasMorph('*')); a row without a type matches neither form.
        assert_eq!(Comment::query().has("commentable").count()?, 3);
        let missing = Comment::query().doesnt_have("commentable").get()?;
        assert_eq!(bodies(&missing), ["to a deleted video"]);
        let titled = Comment::query()
            .where_has("commentable", |q| q.where_("title", "=", "p1"))
            .count()?;
        assert_eq!(titled, 2);
        let b = Comment::query()
            .where_has_morph::<Post>("commentable", |q| q.where_("title", "=", "p1"))
            .where_("body", "like", "%-b")
            .count()?;
        assert_eq!(b, 1);
        let none = Comment::query()
            .where_has_morph::<Video>("commentable", |q| q.where_("title", "=", "p1"))
            .count()?;
        assert_eq!(none, 0);
        // Of one type, pointing at no such row, or at none matching (Eloquent's
        // doesntHaveMorph, whereDoesntHaveMorph): other types are left out.
        let dangling = Comment::query().doesnt_have_morph::<Video>("commentable").get()?;
        assert_eq!(bodies(&dangling), ["to a deleted video"]);
        assert_eq!(Comment::query().doesnt_have_morph::<Post>("commentable").count()?, 0);
        let not_p1 = Comment::query()
            .where_doesnt_have_morph::<Post>("commentable", |q| q.where_("title", "=", "p1"))
            .count()?;
        assert_eq!(not_p1, 0);
        let not_v1 = Comment::query()
            .where_doesnt_have_morph::<Video>("commentable", |q| q.where_("title", "=", "v1"))
            .order_by("body")
            .get()?;
        assert_eq!(bodies(&not_v1), ["to a deleted video"]);
        // A constraint on a column only posts have (Laravel's whereMorphRelation with
        // '*'): the videos cannot match it, and are not asked.
        Post::where_eq("title", "p1").update(row! {"public" => true})?;
        let public = Comment::query().where_relation("commentable", "public", "=", true).order_by("body").get()?;
        assert_eq!(bodies(&public), ["p1-a", "p1-b"]);
        let not_public = Comment::query().where_doesnt_have("commentable", |q| q.where_eq("public", true)).order_by("body").get()?;
        assert_eq!(bodies(&not_public), ["to a deleted video", "v1-a"]);
        // A column no type has: no row matches, and every typed row lacks a match.
        assert_eq!(Comment::query().where_relation("commentable", "colour", "=", "red").count()?, 0);
        assert_eq!(Comment::query().where_doesnt_have("commentable", |q| q.where_eq("colour", "red")).count()?, 4);
        let err = Comment::query().has_morph::<Tag>("commentable").get().unwrap_err();
        assert_eq!(err.invalid_query_kind(), Some(InvalidQueryKind::Relation), "{err}");
        let err = Post::query().has_morph::<Post>("comments").get().unwrap_err();
        assert_eq!(err.invalid_query_kind(), Some(InvalidQueryKind::Relation), "{err}");
        Ok(())
    }

    fn morph_to_many_attaches_by_type_from_both_sides() -> Result<()> {
        let (p1, p2, v1) = seed()?;
        let rust = Tag::create(Tag { name: "rust".into(), ..Default::default() })?;
        let sql = Tag::create(Tag { name: "sql".into(), ..Default::default() })?;
        assert_eq!(p1.tags().attach([rust.id, sql.id])?, 2);
        v1.tags().attach([rust.id])?;
        p2.tags().attach([sql.id])?;
        let names = |tags: Vec<Tag>| {
            let mut n: Vec<String> = tags.into_iter().map(|t| t.name).collect();
            n.sort();
            n
        };
        assert_eq!(names(p1.tags().get()?), ["rust", "sql"]);
        assert_eq!(names(v1.tags().get()?), ["rust"]);
        let stored = DB::table("taggables").where_eq("taggable_type", "videos").count()?;
        assert_eq!(stored, 1);

        let mut posts: Vec<String> = rust.posts().get()?.into_iter().map(|p| p.title).collect();
        posts.sort();
        assert_eq!(posts, ["p1"]);
        assert_eq!(rust.videos().get()?.len(), 1);
        assert_eq!(sql.videos().count()?, 0);

        // Detaching from the video leaves the post with the same id tagged.
        assert_eq!(v1.tags().detach([rust.id])?, 1);
        assert_eq!(names(p1.tags().get()?), ["rust", "sql"]);
        let changes = v1.tags().sync([sql.id])?;
        assert_eq!(changes.attached.len(), 1);
        assert_eq!(names(v1.tags().get()?), ["sql"]);
        assert_eq!(names(p1.tags().get()?), ["rust", "sql"]);

        // Eager loading, existence and counts, from both sides.
        let posts = Post::query().with(&["tags"]).order_by("id").get()?;
        assert_eq!(posts[0].tags.len(), 2);
        assert_eq!(posts[1].tags.len(), 1);
        let tags = Tag::query().with(&["posts", "videos"]).with_count(&["posts"]).order_by("name").get()?;
        assert_eq!(tags[0].posts.len(), 1);
        assert!(tags[0].videos.is_empty());
        assert_eq!(tags[1].posts.count(), Some(2));
        assert_eq!(tags[1].videos[0].title, "v1");
        // Declared pivot columns come with the eager load, on the polymorphic pivot too.
        let videos = Video::query().with(&["tags"]).get()?;
        let (tag, pivot) = videos[0].tags.with_pivots().next().unwrap();
        assert_eq!(tag.name, "sql");
        assert_eq!(pivot.get::<String, _>("taggable_type")?, "videos");
        assert_eq!(pivot.get::<i64, _>("taggable_id")?, v1.id.unwrap());
        assert!(posts[0].tags.pivots().is_none());
        let tagged_sql = Video::query().where_has("tags", |q| q.where_("name", "=", "sql")).count()?;
        assert_eq!(tagged_sql, 1);
        assert_eq!(Tag::query().has("videos").count()?, 1);
        Ok(())
    }
}
