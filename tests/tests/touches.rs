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

    fn a_query_touches_its_rows() {
        let (post, long_ago) = setup()?;
        let id = post.id.unwrap();
        let before = Utc::now() - chrono::Duration::seconds(5);
        Post::create(Post { title: "Other".into(), created_at: Some(long_ago), updated_at: Some(long_ago), ..Default::default() })?;
        // Eloquent's Builder::touch: only the matching rows.
        assert_eq!(Post::where_eq("id", id).touch()?, 1);
        assert!(post_updated_at(id)? > before);
        let other = Post::where_eq("title", "Other").first()?.unwrap();
        assert_eq!(other.updated_at.unwrap().timestamp(), long_ago.timestamp());
        let refused = Comment::query().touch();
        assert!(matches!(refused, Err(Error::InvalidQuery { kind: InvalidQueryKind::Model, .. })), "{refused:?}");
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

/// A board whose topics' messages touch their topic, which touches its board (Eloquent
/// touches owners of owners: `touch()` saves the owner, which touches its own).
#[derive(Debug, Clone, Default, Model)]
#[model(timestamps, soft_deletes)]
pub struct Board {
    pub id: Option<i64>,
    pub name: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps, soft_deletes)]
pub struct Topic {
    pub id: Option<i64>,
    pub board_id: i64,
    pub title: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(belongs_to(Board, touch))]
    pub board: BelongsTo<Board>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Message {
    pub id: Option<i64>,
    pub topic_id: i64,
    pub body: String,
    #[model(belongs_to(Topic, touch))]
    pub topic: BelongsTo<Topic>,
}

fn forum() -> Result<(Board, Topic, DateTime<Utc>)> {
    Schema::on_default(|s| {
        for table in ["boards", "topics"] {
            s.create(table, |t| {
                t.increments("id");
                if table == "topics" {
                    t.big_integer("board_id");
                    t.string("title", 100);
                } else {
                    t.string("name", 100);
                }
                t.timestamps();
                t.soft_deletes();
            })?;
        }
        s.create("messages", |t| {
            t.increments("id");
            t.big_integer("topic_id");
            t.string("body", 200);
        })
    })
    .map_err(Error::other)?;
    let long_ago = Utc::now() - chrono::Duration::days(30);
    let board = Board::create(Board {
        name: "Rust".into(),
        ..Default::default()
    })?;
    let topic = Topic::create(Topic {
        board_id: board.id.unwrap(),
        title: "ORMs".into(),
        ..Default::default()
    })?;
    for table in ["boards", "topics"] {
        DB::table(table).update(row! {"updated_at" => long_ago})?;
    }
    Ok((board, topic, long_ago))
}

on_every_backend! {
    fn touching_an_owner_touches_the_owners_it_touches() {
        let (board, topic, long_ago) = forum()?;
        let before = Utc::now() - chrono::Duration::seconds(5);
        Message::create(Message { topic_id: topic.id.unwrap(), body: "Hi".into(), ..Default::default() })?;
        let topic = Topic::find_or_fail(topic.id.unwrap())?;
        assert!(topic.updated_at.unwrap() > before, "{:?} after {long_ago}", topic.updated_at);
        let board = Board::find_or_fail(board.id.unwrap())?;
        assert!(board.updated_at.unwrap() > before, "{:?} after {long_ago}", board.updated_at);
        Ok(())
    }

    fn without_touching_pauses_the_touches_of_one_model_or_of_all() {
        let (board, topic, long_ago) = forum()?;
        let before = Utc::now() - chrono::Duration::seconds(5);
        let untouched = |at: Option<DateTime<Utc>>| at.unwrap().timestamp() == long_ago.timestamp();
        let topic_id = topic.id.unwrap();
        // The board is not touched, nor by the topic it would have stamped; the topic is.
        Board::without_touching(|| Message::create(Message { topic_id, body: "a".into(), ..Default::default() }))?;
        assert!(Topic::find_or_fail(topic_id)?.updated_at.unwrap() > before);
        assert!(untouched(Board::find_or_fail(board.id.unwrap())?.updated_at));
        // The topic paused: it is not stamped, but the board beyond it still is (Laravel's
        // testTouchesGreatParentEvenWhenParentIsInNoTouchScope); pausing both stops it.
        DB::table("topics").update(row! {"updated_at" => long_ago})?;
        Topic::without_touching(|| Message::create(Message { topic_id, body: "b".into(), ..Default::default() }))?;
        assert!(untouched(Topic::find_or_fail(topic_id)?.updated_at));
        assert!(Board::find_or_fail(board.id.unwrap())?.updated_at.unwrap() > before);
        DB::table("boards").update(row! {"updated_at" => long_ago})?;
        Topic::without_touching(|| Board::without_touching(|| Message::create(Message { topic_id, body: "b2".into(), ..Default::default() })))?;
        assert!(untouched(Topic::find_or_fail(topic_id)?.updated_at));
        assert!(untouched(Board::find_or_fail(board.id.unwrap())?.updated_at));
        // Every model paused; a model's own stamps still apply inside.
        let mut topic = Topic::find_or_fail(topic_id)?;
        orm_core::without_touching(|| -> Result<()> {
            Message::create(Message { topic_id, body: "c".into(), ..Default::default() })?;
            topic.title = "Renamed".into();
            topic.save()
        })?;
        assert!(topic.updated_at.unwrap() > before, "the topic's own save is stamped");
        assert!(untouched(Board::find_or_fail(board.id.unwrap())?.updated_at));
        // A panic inside ends the pause; afterwards touches are back.
        let unwound = std::panic::catch_unwind(|| Board::without_touching(|| panic!("inside")));
        assert!(unwound.is_err());
        Message::create(Message { topic_id, body: "d".into(), ..Default::default() })?;
        assert!(Board::find_or_fail(board.id.unwrap())?.updated_at.unwrap() > before);
        Ok(())
    }

    fn a_test_can_stop_the_clock() {
        // Laravel's travelTo / Carbon::setTestNow: every stamp the ORM writes is that time.
        let (board, topic, _) = forum()?;
        let at: DateTime<Utc> = "2021-06-01T12:00:00.123456Z".parse().unwrap();
        let topic_id = topic.id.unwrap();
        orm_core::testing::travel_to(at, || -> Result<()> {
            Message::create(Message { topic_id, body: "then".into(), ..Default::default() })?;
            Topic::find_or_fail(topic_id)?.delete()
        })?;
        let topic = Topic::with_trashed().find_or_fail(topic_id)?;
        assert_eq!((topic.updated_at, topic.deleted_at), (Some(at), Some(at)));
        assert_eq!(Board::find_or_fail(board.id.unwrap())?.updated_at, Some(at));
        assert!(orm_core::now() > at, "the clock runs again after the closure");
        // Two writes in a frozen clock carry one time; a panic inside ends the stop too.
        let (first, second) = orm_core::testing::freeze_time(|| -> Result<_> {
            let a = Board::create(Board { name: "a".into(), ..Default::default() })?;
            let b = Board::create(Board { name: "b".into(), ..Default::default() })?;
            Ok((a.created_at, b.created_at))
        })?;
        assert_eq!(first, second);
        let unwound = std::panic::catch_unwind(|| orm_core::testing::travel_to(at, || panic!("inside")));
        assert!(unwound.is_err());
        assert!(orm_core::now() > at);
        Ok(())
    }

    fn touching_a_model_touches_its_owners() {
        let (board, topic, long_ago) = forum()?;
        let before = Utc::now() - chrono::Duration::seconds(5);
        let mut topic = Topic::find_or_fail(topic.id.unwrap())?;
        topic.touch()?;
        assert!(topic.updated_at.unwrap() > before);
        let board = Board::find_or_fail(board.id.unwrap())?;
        assert!(board.updated_at.unwrap() > before, "{:?} after {long_ago}", board.updated_at);
        Ok(())
    }

    fn a_soft_deleted_owner_is_not_touched() {
        let (board, topic, long_ago) = forum()?;
        Topic::find_or_fail(topic.id.unwrap())?.delete()?;
        for table in ["boards", "topics"] {
            DB::table(table).update(row! {"updated_at" => long_ago})?;
        }
        let before = Utc::now() - chrono::Duration::seconds(5);
        Message::create(Message { topic_id: topic.id.unwrap(), body: "Hi".into(), ..Default::default() })?;
        let topic = Topic::with_trashed().find_or_fail(topic.id.unwrap())?;
        assert!(topic.updated_at.unwrap() < before, "a trashed topic was touched");
        let board = Board::find_or_fail(board.id.unwrap())?;
        assert!(board.updated_at.unwrap() < before, "its board was touched through it");
        Ok(())
    }
}

/// Folders touch their parent folder: a tree is touched up to its root, and rows that
/// are each other's parents end the chain instead of looping.
#[derive(Debug, Clone, Default, Model)]
#[model(timestamps)]
pub struct Folder {
    pub id: Option<i64>,
    pub parent_id: Option<i64>,
    pub name: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[model(belongs_to(Folder, foreign_key = "parent_id", touch))]
    pub parent: BelongsTo<Folder>,
}

on_every_backend! {
    fn a_tree_is_touched_up_to_its_root_and_a_cycle_ends() {
        Schema::on_default(|s| {
            s.create("folders", |t| {
                t.increments("id");
                t.big_integer("parent_id").nullable();
                t.string("name", 50);
                t.timestamps();
            })
        })
        .map_err(Error::other)?;
        let folder = |name: &str, parent: Option<i64>| {
            Folder::create(Folder { name: name.into(), parent_id: parent, ..Default::default() })
        };
        let root = folder("root", None)?;
        let mid = folder("mid", root.id)?;
        let leaf = folder("leaf", mid.id)?;
        let long_ago = Utc::now() - chrono::Duration::days(30);
        DB::table("folders").update(row! {"updated_at" => long_ago})?;
        let before = Utc::now() - chrono::Duration::seconds(5);
        folder("new", leaf.id)?;
        for name in ["leaf", "mid", "root"] {
            let stamped = Folder::where_eq("name", name).first_or_fail()?.updated_at.unwrap();
            assert!(stamped > before, "{name} was not touched");
        }
        // root and mid become each other's parents.
        DB::table("folders").where_eq("name", "root").update(row! {"parent_id" => mid.id})?;
        let mut mid = Folder::find_or_fail(mid.id.unwrap())?;
        mid.name = "middle".into();
        mid.save()?;
        Ok(())
    }
}

/// A member touches the teams it belongs to (Eloquent's `$touches = ['teams']` on a
/// `belongsToMany`): saving the member, and attaching, detaching or syncing through the
/// relation, stamp every linked team that is not soft-deleted.
#[derive(Debug, Clone, Default, Model)]
pub struct Member {
    pub id: Option<i64>,
    pub name: String,
    pub state: ModelState,
    #[model(belongs_to_many(Team, touch))]
    pub teams: BelongsToMany<Team>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps, soft_deletes)]
pub struct Team {
    pub id: Option<i64>,
    pub name: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

on_every_backend! {
    fn a_belongs_to_many_declared_with_touch_stamps_the_linked_rows() {
        Schema::on_default(|s| {
            s.create("members", |t| {
                t.increments("id");
                t.string("name", 50);
            })?;
            s.create("teams", |t| {
                t.increments("id");
                t.string("name", 50);
                t.timestamps();
                t.soft_deletes();
            })?;
            s.create("member_team", |t| {
                t.big_integer("member_id");
                t.big_integer("team_id");
            })
        })
        .map_err(Error::other)?;
        let long_ago = Utc::now() - chrono::Duration::days(30);
        let before = Utc::now() - chrono::Duration::seconds(5);
        let mut teams = Vec::new();
        for name in ["red", "blue", "gone", "other"] {
            teams.push(Team::create(Team { name: name.into(), ..Default::default() })?.id.unwrap());
        }
        Team::find_or_fail(teams[2])?.delete()?;
        let mut ada = Member::create(Member { name: "Ada".into(), ..Default::default() })?;
        let reset = || DB::table("teams").update(row! {"updated_at" => long_ago});
        let stamped = || -> Result<Vec<bool>> {
            let rows: Vec<DateTime<Utc>> = DB::table("teams").order_by("id").pluck("updated_at")?;
            Ok(rows.into_iter().map(|at| at > before).collect())
        };
        reset()?;
        assert_eq!(ada.teams().attach([teams[0], teams[2]])?, 2);
        assert_eq!(stamped()?, [true, false, false, false]);
        reset()?;
        ada.name = "Ada L.".into();
        ada.save()?;
        assert_eq!(stamped()?, [true, false, false, false]);
        // A save that writes nothing touches nothing; neither does a sync that changes nothing.
        reset()?;
        ada.save()?;
        assert_eq!(stamped()?, [false, false, false, false]);
        ada.teams().sync([teams[0], teams[2]])?;
        assert_eq!(stamped()?, [false, false, false, false]);
        // Changes through the relation stamp the rows linked afterwards.
        let changes = ada.teams().sync([teams[0], teams[1]])?;
        assert_eq!(changes.attached, [Value::Int(teams[1])]);
        assert_eq!(stamped()?, [true, true, false, false]);
        reset()?;
        ada.teams().detach([teams[1]])?;
        assert_eq!(stamped()?, [true, false, false, false]);
        reset()?;
        ada.teams().toggle([teams[1]])?;
        assert_eq!(stamped()?, [true, true, false, false]);
        reset()?;
        Team::without_touching(|| ada.teams().detach([teams[1]]))?;
        ada.name = "Ada B.".into();
        orm_core::without_touching(|| ada.save())?;
        assert_eq!(stamped()?, [false, false, false, false]);
        Ok(())
    }
}
