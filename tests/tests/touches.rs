//! `#[model(belongs_to(Post, touch))]`: saving or deleting a comment stamps its post's
//! `updated_at` (Eloquent's `$touches`), on every backend.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps)]
pub struct Post {
    pub id: Option<i64>,
    pub title: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Comment {
    pub id: Option<i64>,
    pub post_id: Option<i64>,
    pub body: String,
    pub state: ModelState,
    #[model(belongs_to(Post, touch))]
    pub post: BelongsTo<Post>,
}

/// A comment whose post is not touched.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "comments")]
pub struct QuietComment {
    pub id: Option<i64>,
    pub post_id: Option<i64>,
    pub body: String,
    #[model(belongs_to(Post))]
    pub post: BelongsTo<Post>,
}

fn setup() -> Result<(Post, DateTime<Utc>)> {
    Schema::on_default(|s| {
        s.create("posts", |t| {
            t.increments("id");
            t.string("title", 100);
            t.timestamps();
        })?;
        s.create("comments", |t| {
            t.increments("id");
            t.big_integer("post_id").nullable();
            t.string("body", 200);
        })
    })
    .map_err(Error::other)?;
    let long_ago = Utc::now() - chrono::Duration::days(30);
    let post = Post::create(Post {
        title: "Hello".into(),
        created_at: Some(long_ago),
        updated_at: Some(long_ago),
        ..Default::default()
    })?;
    Ok((post, long_ago))
}

fn post_updated_at(id: i64) -> Result<DateTime<Utc>> {
    Ok(Post::find_or_fail(id)?.updated_at.expect("stamped"))
}

on_every_backend! {
    fn saving_and_deleting_a_child_touches_its_owner() {
        let (post, long_ago) = setup()?;
        let id = post.id.unwrap();
        let before = Utc::now() - chrono::Duration::seconds(5);

        let mut comment = Comment::create(Comment { post_id: Some(id), body: "First".into(), ..Default::default() })?;
        let created = post_updated_at(id)?;
        assert!(created > before, "{created} after {long_ago}");

        // Reset, then an update of the child touches again.
        DB::table("posts").where_eq("id", id).update(row! {"updated_at" => long_ago})?;
        comment.body = "Edited".into();
        comment.save()?;
        assert!(post_updated_at(id)? > before);

        // A save that writes nothing touches nothing.
        DB::table("posts").where_eq("id", id).update(row! {"updated_at" => long_ago})?;
        comment.save()?;
        assert_eq!(post_updated_at(id)?.timestamp(), long_ago.timestamp());

        comment.delete()?;
        assert!(post_updated_at(id)? > before);
        Ok(())
    }

    fn without_touch_or_owner_nothing_is_stamped() {
        let (post, long_ago) = setup()?;
        let id = post.id.unwrap();
        QuietComment::create(QuietComment { post_id: Some(id), body: "Quiet".into(), ..Default::default() })?;
        assert_eq!(post_updated_at(id)?.timestamp(), long_ago.timestamp());
        // An orphan comment (no post) with touch saves fine.
        Comment::create(Comment { post_id: None, body: "Orphan".into(), ..Default::default() })?;
        assert_eq!(post_updated_at(id)?.timestamp(), long_ago.timestamp());
        Ok(())
    }
}
