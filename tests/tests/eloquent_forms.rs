//! Eloquent forms on every backend: `with_exists` / `load_exists` (`withExists`,
//! `loadExists`), `find_many_or_fail` on a relation query (`$user->posts()->findOrFail([..])`)
//! `Model::force_destroy` (`forceDestroy`), and relations a model always loads
//! (`#[model(with = [..])]`, Eloquent's `$with`, with `without` and `with_only`).

use chrono::TimeZone;
use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, Model)]
pub struct Writer {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Article))]
    pub articles: HasMany<Article>,
    #[model(has_one(Article, constrain = Article::newest_first))]
    pub newest_article: HasOne<Article>,
    #[model(belongs_to(Writer, foreign_key = "mentor_id"))]
    pub mentor: BelongsTo<Writer>,
    pub mentor_id: Option<i64>,
    #[model(belongs_to_many(Club, with_pivot = ["role"]))]
    pub clubs: BelongsToMany<Club>,
}

/// A club always read with its president.
#[derive(Debug, Clone, Default, Model)]
#[model(with = ["president"])]
pub struct Club {
    pub id: Option<i64>,
    pub name: String,
    pub president_id: i64,
    #[model(belongs_to(Writer, foreign_key = "president_id"))]
    pub president: BelongsTo<Writer>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(soft_deletes, hooks)]
pub struct Article {
    pub id: Option<i64>,
    pub writer_id: i64,
    pub title: String,
    pub published: bool,
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Article {
    fn newest_first(query: Query<Article>) -> Query<Article> {
        query.order_by_desc("id")
    }
}

thread_local! {
    static ARTICLE_HOOKS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn article_hooks() -> Vec<String> {
    ARTICLE_HOOKS.with(|h| std::mem::take(&mut *h.borrow_mut()))
}

fn note_hook(hook: &str, title: &str) {
    ARTICLE_HOOKS.with(|h| h.borrow_mut().push(format!("{hook} {title}")));
}

impl ModelHooks for Article {
    fn deleting(&mut self) -> Result<()> {
        note_hook("deleting", &self.title);
        if self.title == "keep" {
            return Err(Error::Cancelled("kept".into()));
        }
        Ok(())
    }
    fn deleted(&mut self) -> Result<()> {
        note_hook("deleted", &self.title);
        Ok(())
    }
    fn force_deleting(&mut self) -> Result<()> {
        note_hook("force_deleting", &self.title);
        Ok(())
    }
    fn force_deleted(&mut self) -> Result<()> {
        note_hook("force_deleted", &self.title);
        Ok(())
    }
}

/// An article that always loads its writer, and a note that always loads its article
/// (and so that article's writer).
#[derive(Debug, Clone, Default, Model)]
#[model(table = "articles", soft_deletes, with = ["writer"])]
pub struct Story {
    pub id: Option<i64>,
    pub writer_id: i64,
    pub title: String,
    pub published: bool,
    pub deleted_at: Option<DateTime<Utc>>,
    #[model(belongs_to(Writer))]
    pub writer: BelongsTo<Writer>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(with = ["story"])]
pub struct Note {
    pub id: Option<i64>,
    pub story_id: i64,
    pub body: String,
    #[model(belongs_to(Story))]
    pub story: BelongsTo<Story>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "writers", with = ["stories.writer"])]
pub struct Author {
    pub id: Option<i64>,
    pub name: String,
    pub mentor_id: Option<i64>,
    #[model(has_many(Story, foreign_key = "writer_id"))]
    pub stories: HasMany<Story>,
    #[model(belongs_to(Writer, foreign_key = "mentor_id"))]
    pub mentor: BelongsTo<Writer>,
}

/// A log that stamps only its creation, under its own column name (Eloquent's
/// `const CREATED_AT = 'logged_at'; const UPDATED_AT = null;`).
#[derive(Debug, Clone, Default, Model)]
#[model(table = "entries", created_at = "logged_at")]
pub struct Entry {
    pub id: Option<i64>,
    pub line: String,
    pub logged_at: Option<DateTime<Utc>>,
}

/// Both stamps, the second under another name.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "pages", timestamps, updated_at = "modified_at")]
pub struct Page {
    pub id: Option<i64>,
    pub body: String,
    pub created_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
}

/// Two models that load each other by default: a cycle, refused with an error.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "writers", with = ["essays"])]
pub struct Essayist {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Essay, foreign_key = "writer_id"))]
    pub essays: HasMany<Essay>,
}

#[derive(Debug, Clone, Default, Model)]
#[model(table = "articles", with = ["essayist"])]
pub struct Essay {
    pub id: Option<i64>,
    pub writer_id: i64,
    #[model(belongs_to(Essayist, foreign_key = "writer_id"))]
    pub essayist: BelongsTo<Essayist>,
}

/// Ada (three articles, one published, one soft-deleted), Bob (none), Cy (one draft,
/// mentored by Ada).
/// Clubs and their members, whose pivot `role` cannot be empty.
fn create_clubs() -> Result<()> {
    Schema::on_default(|s| {
        s.create("clubs", |t| {
            t.increments("id");
            t.string("name", 50);
            t.big_integer("president_id");
        })?;
        s.create("club_writer", |t| {
            t.big_integer("club_id");
            t.big_integer("writer_id");
            t.string("role", 20);
        })
    })
    .map_err(Error::other)
}

fn seed() -> Result<(i64, i64, i64)> {
    Schema::on_default(|s| {
        s.create("writers", |t| {
            t.increments("id");
            t.string("name", 50);
            t.big_integer("mentor_id").nullable();
        })?;
        s.create("articles", |t| {
            t.increments("id");
            t.big_integer("writer_id");
            t.string("title", 50);
            t.boolean("published");
            t.timestamp("deleted_at").nullable();
        })
    })
    .map_err(Error::other)?;
    let writer = |name: &str, mentor_id: Option<i64>| {
        Writer::create(Writer {
            name: name.into(),
            mentor_id,
            ..Default::default()
        })
        .map(|w| w.id.unwrap())
    };
    let ada = writer("Ada", None)?;
    let bob = writer("Bob", None)?;
    let cy = writer("Cy", Some(ada))?;
    for (writer_id, title, published) in [
        (ada, "one", true),
        (ada, "two", false),
        (ada, "gone", true),
        (cy, "draft", false),
    ] {
        Article::create(Article {
            writer_id,
            title: title.into(),
            published,
            ..Default::default()
        })?;
    }
    Article::where_eq("title", "gone")
        .first()?
        .unwrap()
        .delete()?;
    Ok((ada, bob, cy))
}

fn writer_of(story: &Story) -> Option<&str> {
    story.writer.get().map(|w| w.name.as_str())
}

fn names(writers: &[Writer]) -> Vec<&str> {
    writers.iter().map(|w| w.name.as_str()).collect()
}

on_every_backend! {
    fn with_exists_loads_whether_each_row_has_a_related_row() -> Result<()> {
        seed()?;
        let writers = Writer::query()
            .with_exists(&["articles", "newest_article", "mentor"])
            .order_by("name")
            .get()?;
        assert_eq!(names(&writers), ["Ada", "Bob", "Cy"]);
        let exists = |w: &Writer| (w.articles.exists(), w.newest_article.exists(), w.mentor.exists());
        assert_eq!(exists(&writers[0]), (Some(true), Some(true), Some(false)));
        assert_eq!(exists(&writers[1]), (Some(false), Some(false), Some(false)));
        assert_eq!(exists(&writers[2]), (Some(true), Some(true), Some(true)));
        // Loading whether rows exist loads no rows.
        assert!(!writers[0].articles.is_loaded());

        // A constraint: only published articles count; the soft-deleted one never does.
        let published = Writer::query()
            .with_exists_where("articles", |q| q.where_eq("published", true))
            .order_by("name")
            .get()?;
        let flags: Vec<_> = published.iter().map(|w| w.articles.exists()).collect();
        assert_eq!(flags, [Some(true), Some(false), Some(false)]);
        Article::where_eq("title", "one").update(row! {"published" => false})?;
        let published = Writer::query()
            .with_exists_where("articles", |q| q.where_eq("published", true))
            .order_by("name")
            .get()?;
        assert_eq!(published[0].articles.exists(), Some(false), "only the soft-deleted article is published");
        Ok(())
    }

    fn exists_answers_from_a_count_or_the_loaded_rows_and_is_none_otherwise() -> Result<()> {
        seed()?;
        let plain = Writer::query().order_by("name").get()?;
        assert_eq!(plain[0].articles.exists(), None);
        let counted = Writer::query().with_count(&["articles"]).order_by("name").get()?;
        assert_eq!(counted.iter().map(|w| w.articles.exists()).collect::<Vec<_>>(), [Some(true), Some(false), Some(true)]);
        let loaded = Writer::query().with(&["articles"]).order_by("name").get()?;
        assert_eq!(loaded.iter().map(|w| w.articles.exists()).collect::<Vec<_>>(), [Some(true), Some(false), Some(true)]);
        Ok(())
    }

    fn load_exists_answers_for_models_already_read() -> Result<()> {
        seed()?;
        let mut writers = Writer::query().order_by("name").get()?;
        Writer::load_exists(&mut writers, &["articles", "mentor"])?;
        let flags: Vec<_> = writers.iter().map(|w| (w.articles.exists(), w.mentor.exists())).collect();
        assert_eq!(flags, [(Some(true), Some(false)), (Some(false), Some(false)), (Some(true), Some(true))]);
        assert!(Writer::load_exists(&mut writers, &["nope"]).is_err());
        assert!(Writer::load_exists(&mut [], &["nope"]).is_err(), "a misspelt name fails with no models too");
        assert!(Writer::load_missing(&mut [], &["articles.nope"]).is_err());
        assert!(Writer::load(&mut [], &["nope"]).is_err());
        Writer::load_exists(&mut [], &["articles"])?;
        Ok(())
    }

    fn with_exists_serializes_as_the_relation_exists_key() -> Result<()> {
        seed()?;
        let bob = Writer::where_eq("name", "Bob").with_exists(&["articles"]).first()?.unwrap();
        let json = bob.to_json()?;
        assert_eq!(json["articles_exists"], serde_json::json!(false));
        assert!(json.get("articles_count").is_none());
        let plain = Writer::where_eq("name", "Bob").first()?.unwrap().to_json()?;
        assert!(plain.get("articles_exists").is_none());
        // Aggregates serialize as Eloquent names them: `{relation}_{function}_{column}`.
        let ada = Writer::where_eq("name", "Ada")
            .with_sum("articles", "id")
            .with_max("articles", "articles.id")
            .with_count(&["articles"])
            .first()?
            .unwrap();
        let json = ada.to_json()?;
        let max = ada.articles.max::<i64>("articles.id")?.unwrap();
        assert_eq!(json["articles_max_id"], serde_json::json!(max));
        assert_eq!(json["articles_sum_id"].as_f64(), ada.articles.sum("id"));
        assert_eq!(json["articles_count"], serde_json::json!(2));
        let bob = Writer::where_eq("name", "Bob").with_avg("articles", "id").first()?.unwrap().to_json()?;
        assert_eq!(bob["articles_avg_id"], serde_json::Value::Null, "no rows: NULL, as Eloquent");
        assert!(plain.get("articles_sum_id").is_none());
        Ok(())
    }

    fn find_many_or_fail_on_a_relation_query_finds_only_its_rows() -> Result<()> {
        let (ada, _, cy) = seed()?;
        let ada = Writer::find_or_fail(ada)?;
        let ids: Vec<i64> = Article::query().order_by("id").pluck("id")?;
        let (one, two, draft) = (ids[0], ids[1], ids[2]);
        let found = ada.articles().find_many_or_fail([two, one])?;
        assert_eq!(found.iter().map(|a| a.title.as_str()).collect::<Vec<_>>(), ["two", "one"]);
        // Cy's draft exists but is not Ada's: missing here, named in the error.
        match ada.articles().find_many_or_fail([one, draft]).unwrap_err() {
            Error::NotFound { model, key } => {
                assert_eq!(model, "Article");
                assert_eq!(key, format!("id IN ({draft})"));
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        // The soft-deleted article is missing too, unless trashed rows are asked for.
        let gone = Article::with_trashed().where_eq("title", "gone").value::<i64>("id")?.unwrap();
        assert!(ada.articles().find_many_or_fail([gone]).is_err());
        assert_eq!(ada.articles().with_trashed().find_many_or_fail([gone])?[0].title, "gone");
        let cy = Writer::find_or_fail(cy)?;
        assert_eq!(cy.articles().find_many_or_fail([draft])?[0].title, "draft");
        Ok(())
    }

    fn force_destroy_deletes_rows_for_real_soft_deleted_ones_too() -> Result<()> {
        seed()?;
        let id = |title: &str| -> Result<i64> {
            Ok(Article::with_trashed().where_eq("title", title).value::<i64>("id")?.unwrap())
        };
        let (one, gone) = (id("one")?, id("gone")?);
        // `destroy` skips the soft-deleted row and only soft-deletes the other.
        assert_eq!(Article::destroy([gone])?, 0);
        article_hooks();
        assert_eq!(Article::force_destroy([one, gone, 999_999])?, 2);
        // Eloquent's order: forceDeleting, deleting, deleted, forceDeleted.
        let mut hooks = article_hooks();
        hooks.sort_by_key(|h| h.contains("gone"));
        assert_eq!(hooks, [
            "force_deleting one", "deleting one", "deleted one", "force_deleted one",
            "force_deleting gone", "deleting gone", "deleted gone", "force_deleted gone",
        ]);
        // A soft delete runs neither force hook.
        let mut two = Article::where_eq("title", "two").first()?.unwrap();
        two.delete()?;
        assert_eq!(article_hooks(), ["deleting two", "deleted two"]);
        assert_eq!(Article::with_trashed().where_in("id", [one, gone]).count()?, 0);
        assert_eq!(DB::table("articles").count()?, 2);
        Ok(())
    }

    fn destroy_counts_rows_not_keys() -> Result<()> {
        seed()?;
        let ids: Vec<i64> = Article::query().order_by("id").pluck("id")?;
        let text = ids[0].to_string();
        // One key given twice, and once more as text (from a URL): one row, deleted once.
        let keys = [Value::from(ids[0]), Value::from(ids[0]), Value::from(text.as_str()), Value::from(ids[1])];
        assert_eq!(Article::destroy(keys)?, 2);
        assert_eq!(Article::query().count()?, ids.len() as u64 - 2);
        assert_eq!(Article::only_trashed().count()?, 3, "soft-deleted, with the one seeded so");
        Ok(())
    }

    fn force_destroy_is_all_or_none_when_a_hook_refuses() -> Result<()> {
        seed()?;
        Article::where_eq("title", "two").update(row! {"title" => "keep"})?;
        let ids: Vec<i64> = Article::with_trashed().order_by("id").pluck("id")?;
        let err = Article::force_destroy(ids.clone()).unwrap_err();
        assert!(matches!(err, Error::Cancelled(_)), "{err:?}");
        assert_eq!(DB::table("articles").count()?, 4, "nothing deleted");
        Ok(())
    }

    fn a_model_with_default_loads_loads_them_on_every_read() -> Result<()> {
        let (ada, _, cy) = seed()?;
        let stories = Story::query().order_by("id").get()?;
        assert_eq!(stories.iter().map(writer_of).collect::<Vec<_>>(), [Some("Ada"), Some("Ada"), Some("Cy")]);
        let one = Story::where_eq("title", "two").first()?.unwrap();
        assert_eq!(writer_of(&one), Some("Ada"));
        // `find` goes through the query too.
        let id = one.id.unwrap();
        assert_eq!(writer_of(&Story::find(id)?.unwrap()), Some("Ada"));
        assert_eq!(writer_of(&Story::find_or_fail(id)?), Some("Ada"));
        assert!(Story::all()?.iter().all(|s| s.writer.is_loaded()));
        let page = Story::query().order_by("id").paginate(2, 1)?;
        assert!(page.data.iter().all(|s| s.writer.is_loaded()));
        let streamed: Vec<Story> = Story::query().order_by("id").cursor().collect::<Result<_>>()?;
        assert_eq!(streamed.iter().map(writer_of).collect::<Vec<_>>(), [Some("Ada"), Some("Ada"), Some("Cy")]);
        // A relation query of another model: its rows load their default relations too.
        let author = Author::find_or_fail(cy)?;
        assert_eq!(author.stories.iter().map(writer_of).collect::<Vec<_>>(), [Some("Cy")]);
        let mine = Writer::find_or_fail(ada)?;
        let counted = Story::query().where_eq("writer_id", mine.id.unwrap()).count()?;
        assert_eq!(counted, 2, "an aggregate loads nothing and counts as before");
        Ok(())
    }

    fn default_loads_nest_through_eager_loading() -> Result<()> {
        seed()?;
        Schema::on_default(|s| {
            s.create("notes", |t| {
                t.increments("id");
                t.big_integer("story_id");
                t.string("body", 50);
            })
        })
        .map_err(Error::other)?;
        let draft = Story::where_eq("title", "draft").first()?.unwrap();
        Note::create(Note { story_id: draft.id.unwrap(), body: "fix".into(), ..Default::default() })?;
        let note = Note::query().first()?.unwrap();
        let story = note.story.get().unwrap();
        assert_eq!((story.title.as_str(), writer_of(story)), ("draft", Some("Cy")));
        // Loading notes onto models already read applies the notes' own default too.
        let notes = Note::query().without(&["story"]).get()?;
        assert!(!notes[0].story.is_loaded());
        Ok(())
    }

    fn without_and_with_only_change_what_a_query_loads() -> Result<()> {
        let (ada, _, _) = seed()?;
        let plain = Story::query().without(&["writer"]).order_by("id").get()?;
        assert!(plain.iter().all(|s| !s.writer.is_loaded()));
        assert!(!Story::query().without(&["writer"]).find(1)?.is_some_and(|s| s.writer.is_loaded()));
        // Leaving out the nested part of the author's default leaves the stories, and
        // a story's own default still loads its writer (as a query of stories would).
        let author = Author::query().without(&["stories.writer"]).where_eq("id", ada).first()?.unwrap();
        assert_eq!(author.stories.len(), 2);
        assert!(author.stories.iter().all(|s| s.writer.is_loaded()));
        // Only the nested part of a path: the mentor loads, the mentor's articles do not.
        let cy = Writer::query()
            .with(&["articles", "mentor.articles"])
            .without(&["mentor.articles", "nope.nothing"])
            .where_eq("name", "Cy")
            .first()?
            .unwrap();
        let mentor = cy.mentor.get().unwrap();
        assert!(cy.articles.is_loaded() && !mentor.articles.is_loaded());
        let author = Author::query().with_only(&["mentor"]).where_eq("id", ada).first()?.unwrap();
        assert!(!author.stories.is_loaded() && author.mentor.is_loaded());
        // `with` on top of the defaults adds to them.
        let author = Author::query().with(&["mentor"]).where_eq("id", ada).first()?.unwrap();
        assert!(author.stories.is_loaded() && author.mentor.is_loaded());
        Ok(())
    }

    fn default_loads_that_cycle_are_an_error_not_endless_queries() -> Result<()> {
        seed()?;
        let err = Essayist::query().get().unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
        assert!(err.to_string().contains("nest deeper than 32 levels"), "{err}");
        // Without the loop, the same models read.
        let essayists = Essayist::query().without(&["essays"]).order_by("name").get()?;
        assert_eq!(essayists.len(), 3);
        let read = Essayist::query().with_only(&[]).where_eq("name", "Ada").first()?.unwrap();
        assert!(!read.essays.is_loaded());
        Ok(())
    }

    fn a_model_stamps_one_timestamp_or_both_under_its_own_names() -> Result<()> {
        Schema::on_default(|s| {
            s.create("entries", |t| {
                t.increments("id");
                t.string("line", 50);
                t.timestamp("logged_at").nullable();
            })?;
            s.create("pages", |t| {
                t.increments("id");
                t.string("body", 50);
                t.timestamps();
                t.timestamp("modified_at").nullable();
            })
        })
        .map_err(Error::other)?;
        let early = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
        let late = Utc.with_ymd_and_hms(2024, 6, 7, 8, 9, 10).unwrap();
        let mut first = orm_core::testing::travel_to(early, || Entry::create(Entry { line: "one".into(), ..Default::default() }))?;
        orm_core::testing::travel_to(late, || Entry::create(Entry { line: "two".into(), ..Default::default() }))?;
        assert_eq!(first.logged_at, Some(early));
        // Saving again, a mass update and a touch stamp nothing: there is no `updated_at`.
        first.line = "one, edited".into();
        orm_core::testing::travel_to(late, || first.save())?;
        Entry::query().update(row! {"line" => "all"})?;
        orm_core::testing::travel_to(late, || first.touch())?;
        let read = Entry::find_or_fail(first.id.unwrap())?;
        assert_eq!((read.line.as_str(), read.logged_at), ("all", Some(early)));
        // `latest`/`oldest` order by the model's creation column.
        let newest = Entry::query().latest().first()?.unwrap();
        assert_eq!(newest.logged_at, Some(late));
        assert_eq!(Entry::query().oldest().first()?.unwrap().logged_at, Some(early));
        // Joined to a table with a column of the same name, given before or after the
        // join: the model's own (SQLite refused the bare name as ambiguous: probe 48g).
        DB::statement("CREATE TABLE entry_notes (id INTEGER PRIMARY KEY, entry_id INTEGER, logged_at TIMESTAMP NULL)")?;
        DB::statement("INSERT INTO entry_notes (id, entry_id, logged_at) VALUES (1, 1, NULL), (2, 2, NULL)")?;
        let joined = Entry::query().latest().join("entry_notes", "entry_notes.entry_id", "=", "entries.id").first()?;
        assert_eq!(joined.unwrap().logged_at, Some(late));
        let joined = Entry::query().join("entry_notes", "entry_notes.entry_id", "=", "entries.id").oldest().first()?;
        assert_eq!(joined.unwrap().logged_at, Some(early));
        let table = DB::table("entries").join("entry_notes", "entry_notes.entry_id", "=", "entries.id").latest_by("entries.logged_at");
        assert_eq!(table.value::<i64>("entries.id")?, Some(2));

        let mut page = orm_core::testing::travel_to(early, || Page::create(Page { body: "a".into(), ..Default::default() }))?;
        assert_eq!((page.created_at, page.modified_at), (Some(early), Some(early)));
        page.body = "b".into();
        orm_core::testing::travel_to(late, || page.save())?;
        let read = Page::find_or_fail(page.id.unwrap())?;
        assert_eq!((read.created_at, read.modified_at), (Some(early), Some(late)));
        let raw: Option<Option<DateTime<Utc>>> = DB::table("pages").value("updated_at")?;
        assert_eq!(raw, Some(None), "the usual column is left alone");
        orm_core::testing::travel_to(early, || Page::query().update(row! {"body" => "c"}))?;
        assert_eq!(Page::find_or_fail(page.id.unwrap())?.modified_at, Some(early));
        Ok(())
    }

    fn counts_and_exists_load_on_every_read_path() -> Result<()> {
        seed()?;
        let q = || Writer::query().with_exists(&["articles"]).with_count(&["articles"]).order_by("name");
        let flags = |ws: &[Writer]| ws.iter().map(|w| (w.articles.exists(), w.articles.counted())).collect::<Vec<_>>();
        let expected = [(Some(true), Some(2)), (Some(false), Some(0)), (Some(true), Some(1))];
        assert_eq!(flags(&q().get()?), expected);
        assert_eq!(flags(&q().paginate(2, 1)?.data), expected[..2]);
        let streamed: Vec<Writer> = q().cursor().collect::<Result<_>>()?;
        assert_eq!(flags(&streamed), expected);
        let mut chunked = Vec::new();
        q().chunk(2, |ws| {
            chunked.extend(ws);
            Ok(true)
        })?;
        assert_eq!(flags(&chunked), expected);
        let mut by_id = Vec::new();
        Writer::query().with_exists(&["articles"]).with_count(&["articles"]).chunk_by_id(1, |ws| {
            by_id.extend(ws);
            Ok(true)
        })?;
        by_id.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(flags(&by_id), expected);
        Ok(())
    }

    fn default_loads_run_once_per_relation_and_on_pivot_reads() -> Result<()> {
        let (ada, _, cy) = seed()?;
        // The author's path `stories.writer` and each story's own `writer` are one load.
        DB::enable_query_log();
        let author = Author::find_or_fail(ada)?;
        let statements = DB::query_log().len();
        DB::disable_query_log();
        assert_eq!(statements, 3, "authors, their stories, the stories' writers");
        assert!(author.stories.iter().all(|s| writer_of(s) == Some("Ada")));

        create_clubs()?;
        let club = Club::create(Club { name: "Poets".into(), president_id: cy, ..Default::default() })?;
        let ada = Writer::find_or_fail(ada)?;
        ada.clubs().attach_with(club.id.unwrap(), row! {"role" => "member"})?;
        let pairs = ada.clubs().get_with_pivot()?;
        assert_eq!(pairs.len(), 1);
        let (club, pivot) = &pairs[0];
        assert_eq!(club.president.get().map(|p| p.name.as_str()), Some("Cy"));
        assert_eq!(pivot.get::<String, _>("role")?, "member");
        Ok(())
    }

    fn first_or_create_through_a_pivot_writes_the_pivot_columns() -> Result<()> {
        // Eloquent's firstOrCreate($attributes, $values, $joining); Yii's link() with the
        // extra columns of order_item, whose pivot columns cannot be empty.
        let (ada, _, cy) = seed()?;
        create_clubs()?;
        let (ada, cy) = (Writer::find_or_fail(ada)?, Writer::find_or_fail(cy)?);
        let plain = ada.clubs().first_or_create(row! {"name" => "Poets"}, row! {"president_id" => cy.id.unwrap()});
        assert!(matches!(plain, Err(Error::NotNullViolation { .. })), "{plain:?}");
        assert_eq!(Club::query().count()?, 0, "nothing half-written");
        let poets = ada.clubs().first_or_create_with_pivot(
            row! {"name" => "Poets"},
            row! {"president_id" => cy.id.unwrap()},
            row! {"role" => "founder"},
        )?;
        let roles = |w: &Writer| -> Result<Vec<(i64, String)>> {
            Ok(w.clubs().get_with_pivot()?.into_iter().map(|(c, p)| (c.id.unwrap(), p.get("role").unwrap())).collect())
        };
        assert_eq!(roles(&ada)?, [(poets.id.unwrap(), "founder".to_owned())]);
        // Attached already: returned as it is, nothing written.
        let again = ada.clubs().first_or_create_with_pivot(row! {"name" => "Poets"}, row! {}, row! {"role" => "other"})?;
        assert_eq!(again.id, poets.id);
        assert_eq!(roles(&ada)?, [(poets.id.unwrap(), "founder".to_owned())]);
        // A matching club not attached to this writer is attached, not created again.
        let joined = cy.clubs().first_or_create_with_pivot(row! {"name" => "Poets"}, row! {}, row! {"role" => "member"})?;
        assert_eq!(joined.id, poets.id);
        assert_eq!(roles(&cy)?, [(poets.id.unwrap(), "member".to_owned())]);
        assert_eq!(Club::query().count()?, 1);
        // Only through a belongs-to-many relation.
        let err = ada.articles().first_or_create_with_pivot(row! {"title" => "x"}, row! {}, row! {}).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Relation, .. }), "{err:?}");
        Ok(())
    }
}
