//! Model factories on every backend: counts, make vs create, states, sequences, seeds,
//! children through has-many, parents through belongs-to, batches and atomicity.

use std::cell::RefCell;
use std::rc::Rc;

use orm_core::prelude::*;
use orm_migrate::factory::fake::faker::{lorem::en::Sentence, name::en::Name};
use orm_migrate::factory::{Factory, Fakes, BATCH_SIZE};
use orm_migrate::{seed_with, Migration, Migrator, Schema, SeedProgress, Seeder};
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "authors", timestamps)]
pub struct Author {
    pub id: Option<i64>,
    pub name: String,
    pub email: String,
    pub votes: i64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[model(has_many(Article))]
    pub articles: HasMany<Article>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "articles")]
pub struct Article {
    pub id: Option<i64>,
    pub author_id: i64,
    pub title: String,
    pub slug: Option<String>,
    #[model(belongs_to(Author))]
    pub author: BelongsTo<Author>,
    #[model(has_many(Remark))]
    pub remarks: HasMany<Remark>,
    #[model(morph_many(Reaction, name = "reactable"))]
    pub reactions: MorphMany<Reaction>,
    #[model(belongs_to_many(Label, with_pivot = ["pinned"]))]
    pub labels: BelongsToMany<Label>,
}

/// Labels on articles (belongs-to-many, pivot `article_label` with a `pinned` column).
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "labels")]
pub struct Label {
    pub id: Option<i64>,
    pub name: String,
}

impl Factory for Label {
    fn definition(f: &mut Fakes) -> Label {
        Label {
            name: format!("label {}", f.index()),
            ..Default::default()
        }
    }
}

/// Reactions to an article or a remark (polymorphic).
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "reactions")]
pub struct Reaction {
    pub id: Option<i64>,
    pub reactable_id: i64,
    pub reactable_type: String,
    pub emoji: String,
    #[model(morph_to)]
    pub reactable: MorphTo<Reactable>,
}

#[derive(Debug, Clone, PartialEq, MorphTo)]
pub enum Reactable {
    Article(Article),
    Remark(Remark),
}

impl Factory for Reaction {
    fn definition(f: &mut Fakes) -> Reaction {
        Reaction {
            emoji: ["+1", "heart", "eyes"][f.index() % 3].into(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "remarks")]
pub struct Remark {
    pub id: Option<i64>,
    pub article_id: i64,
    pub body: String,
}

impl Factory for Author {
    fn definition(f: &mut Fakes) -> Author {
        Author {
            name: f.fake(Name()),
            email: format!("author{}@example.com", f.index()),
            votes: f.fake(0..100),
            ..Default::default()
        }
    }
}

impl Factory for Article {
    fn definition(f: &mut Fakes) -> Article {
        Article {
            title: f.fake(Sentence(2..5)),
            ..Default::default()
        }
    }
}

impl Factory for Remark {
    fn definition(f: &mut Fakes) -> Remark {
        Remark {
            body: f.fake(Sentence(1..3)),
            ..Default::default()
        }
    }
}

struct CreateTables;
impl Migration for CreateTables {
    fn name(&self) -> &str {
        "2024_01_01_000000_create_factory_tables"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.create("authors", |t| {
            t.increments("id");
            t.string("name", 255);
            t.string("email", 255).unique();
            t.big_integer("votes");
            t.timestamps();
        })?;
        schema.create("articles", |t| {
            t.increments("id");
            t.big_integer("author_id").unsigned();
            t.string("title", 255);
            t.string("slug", 255).nullable().unique();
            t.foreign("author_id").references("id").on("authors");
        })?;
        schema.create("remarks", |t| {
            t.increments("id");
            t.big_integer("article_id").unsigned();
            t.string("body", 255);
            t.foreign("article_id").references("id").on("articles");
        })?;
        schema.create("reactions", |t| {
            t.increments("id");
            t.big_integer("reactable_id");
            t.string("reactable_type", 50);
            t.string("emoji", 20);
        })?;
        schema.create("labels", |t| {
            t.increments("id");
            t.string("name", 255);
        })?;
        schema.create("article_label", |t| {
            t.big_integer("article_id").unsigned();
            t.big_integer("label_id").unsigned();
            t.boolean("pinned").default(false);
            t.primary(&["article_id", "label_id"]);
            t.foreign("article_id").references("id").on("articles");
            t.foreign("label_id").references("id").on("labels");
        })
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop_if_exists("article_label")?;
        schema.drop_if_exists("labels")?;
        schema.drop_if_exists("reactions")?;
        schema.drop_if_exists("remarks")?;
        schema.drop_if_exists("articles")?;
        schema.drop_if_exists("authors")
    }
}

fn migrate() -> orm_migrate::Result<()> {
    Migrator::new(vec![Box::new(CreateTables)]).run()?;
    Ok(())
}

/// An author factory whose every model has an e-mail of its own (`f.index()` starts at
/// 0 in each call).
fn fresh_authors() -> orm_migrate::factory::FactoryBuilder<Author> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static MADE: AtomicUsize = AtomicUsize::new(0);
    Author::factory().state(|a| {
        a.email = format!("fresh{}@example.com", MADE.fetch_add(1, Ordering::Relaxed));
    })
}

fn names(authors: &[Author]) -> Vec<&str> {
    authors.iter().map(|a| a.name.as_str()).collect()
}

on_every_backend! {
    fn morph_relations_and_the_after_making_and_after_creating_callbacks() -> orm_migrate::Result<()> {
        migrate()?;
        let author = Author::factory().create_one()?;
        // `has` through a morph-many: key and type set (Eloquent's `hasComments(2)`).
        let articles = Article::factory()
            .count(2)
            .for_parent(&author, "author")
            .has(Reaction::factory().count(3), "reactions")
            .create()?;
        for article in &articles {
            let reactions = article.reactions().get()?;
            assert_eq!(reactions.len(), 3);
            assert!(reactions.iter().all(|r| r.reactable_type == Article::meta().morph_name));
        }
        // `for_parent` through a morph-to: `->for($remark, 'reactable')`.
        let remark = Remark::factory().state({
            let id = articles[0].id.unwrap();
            move |r| r.article_id = id
        }).create_one()?;
        let on_remark = Reaction::factory().count(2).for_parent(&remark, "reactable").create()?;
        assert!(on_remark.iter().all(|r| r.reactable_id == remark.id.unwrap() && r.reactable_type == Remark::meta().morph_name));
        let loaded = Reaction::query().with(&["reactable"]).find_or_fail(on_remark[0].id.unwrap())?;
        assert!(matches!(loaded.reactable.get(), Some(Reactable::Remark(r)) if r.id == remark.id));
        // A parent the morph_to cannot hold is refused before anything is written.
        let before = Reaction::count()?;
        let refused = Reaction::factory().for_parent(&author, "reactable").create();
        assert!(refused.is_err());
        assert_eq!(Reaction::count()?, before);

        // Fake dates come with the factory feature (fake's chrono fakers).
        use orm_migrate::factory::fake::Fake;
        let (start, end) = (Utc::now() - chrono::Duration::days(30), Utc::now());
        let when: DateTime<Utc> =
            orm_migrate::factory::fake::faker::chrono::en::DateTimeBetween(start, end).fake();
        assert!(start <= when && when <= end, "{when}");

        // afterMaking runs for make and create; afterCreating after the rows (and their
        // children) exist, inside the factory's transaction.
        let made = Author::factory().count(2).after_making(|a| a.votes = 7).make()?;
        assert!(made.iter().all(|a| a.votes == 7 && a.id.is_none()));
        let created = Author::factory()
            .count(2)
            .sequence(|i, a| a.email = format!("made{i}@example.com"))
            .after_making(|a| a.votes = 9)
            .has(Article::factory().count(1), "articles")
            .after_creating(|a| {
                assert!(a.id.is_some());
                assert_eq!(a.articles().count()?, 1, "children exist");
                a.update(row! {"name" => format!("made {}", a.id.unwrap())})
            })
            .create()?;
        for a in &created {
            let stored = Author::find_or_fail(a.id)?;
            assert_eq!((stored.votes, stored.name.clone()), (9, format!("made {}", a.id.unwrap())));
        }
        // An error from afterCreating rolls the whole create back.
        let authors = Author::count()?;
        let failed = Author::factory()
            .count(3)
            .sequence(|i, a| a.email = format!("fail{i}@example.com"))
            .after_creating(|a| if a.email.ends_with("2@example.com") { Err(Error::Cancelled("no".into())) } else { Ok(()) })
            .create();
        assert!(failed.is_err());
        assert_eq!(Author::count()?, authors);
        Ok(())
    }

    fn create_inserts_and_make_does_not() -> orm_migrate::Result<()> {
        migrate()?;
        let made = Author::factory().count(3).make()?;
        assert_eq!(made.len(), 3);
        assert!(made.iter().all(|a| a.id.is_none() && !a.name.is_empty()));
        assert_eq!(Author::count()?, 0, "make saves nothing");

        let created = Author::factory().count(5).create()?;
        assert_eq!(Author::count()?, 5);
        assert!(created.iter().all(|a| a.id.is_some() && a.created_at.is_some()));
        let stored = Author::find_or_fail(created[2].id)?;
        assert_eq!(stored.name, created[2].name);

        let one = Author::factory().count(7).state(|a| a.email = "one@example.com".into()).create_one()?;
        assert_eq!(Author::count()?, 6, "create_one makes one whatever count says");
        assert_eq!(Author::find_or_fail(one.id)?.email, "one@example.com");
        Ok(())
    }

    fn states_and_sequences_apply_in_order() -> orm_migrate::Result<()> {
        migrate()?;
        let authors = Author::factory()
            .count(4)
            .state(|a| a.votes = 10)
            .sequence(|i, a| a.name = format!("author {i}"))
            .sequence(|i, a| {
                if i % 2 == 1 {
                    a.votes += 1;
                }
            })
            .create()?;
        let stored = Author::query().order_by("id").get()?;
        assert_eq!(names(&stored), ["author 0", "author 1", "author 2", "author 3"]);
        assert_eq!(stored.iter().map(|a| a.votes).collect::<Vec<_>>(), [10, 11, 10, 11]);
        assert_eq!(authors, stored.into_iter().map(|mut a| {
            a.articles = Default::default();
            a
        }).collect::<Vec<_>>());
        Ok(())
    }

    fn the_same_seed_makes_the_same_values() -> orm_migrate::Result<()> {
        migrate()?;
        let factory = || Author::factory().count(20).seed(42).has(Article::factory().count(2), "articles");
        let first = factory().make()?;
        let again = factory().make()?;
        assert_eq!(names(&first), names(&again));
        assert_eq!(
            first.iter().map(|a| a.votes).collect::<Vec<_>>(),
            again.iter().map(|a| a.votes).collect::<Vec<_>>()
        );
        let other = Author::factory().count(20).seed(43).make()?;
        assert_ne!(names(&first), names(&other), "another seed, other values");
        // Children without a seed of their own follow the parent's.
        factory().create()?;
        let titles = || -> orm_core::Result<Vec<String>> {
            Article::query().order_by("id").pluck::<String>("title")
        };
        let first_titles = titles()?;
        DB::table("articles").delete()?;
        DB::table("authors").delete()?;
        factory().create()?;
        assert_eq!(titles()?, first_titles);
        Ok(())
    }

    fn children_get_their_parents_key() -> orm_migrate::Result<()> {
        migrate()?;
        let authors = Author::factory()
            .count(3)
            .has(
                Article::factory()
                    .count(2)
                    .sequence(|i, a| a.title = format!("article {i}"))
                    .has(Remark::factory().count(2), "remarks"),
                "articles",
            )
            .create()?;
        assert_eq!(Article::count()?, 6);
        assert_eq!(Remark::count()?, 12);
        for author in &authors {
            let id = author.id.unwrap();
            assert_eq!(Article::where_("author_id", "=", id).count()?, 2);
        }
        let titles = Article::query().order_by("id").pluck::<String>("title")?;
        assert_eq!(titles[..3], ["article 0", "article 1", "article 2"], "one sequence over all children");
        for article in Article::all()? {
            assert_eq!(Remark::where_("article_id", "=", article.id.unwrap()).count()?, 2);
        }
        Ok(())
    }

    fn for_parent_sets_the_foreign_key() -> orm_migrate::Result<()> {
        migrate()?;
        let ada = Author::factory().create_one()?;
        Article::factory().count(3).for_parent(&ada, "author").create()?;
        assert_eq!(Article::where_("author_id", "=", ada.id.unwrap()).count()?, 3);
        assert_eq!(Article::count()?, 3);
        Ok(())
    }

    fn misuse_is_a_typed_error_and_writes_nothing() -> orm_migrate::Result<()> {
        migrate()?;
        let ada = Author::factory().create_one()?;
        let err = Article::factory().for_parent(&ada, "writer").create().unwrap_err();
        assert!(
            matches!(err, orm_migrate::Error::Database(orm_core::Error::UnknownRelation { .. })),
            "{err:?}"
        );
        let err = Article::factory().for_parent(&ada, "remarks").make().unwrap_err();
        assert!(err.to_string().contains("needs a belongs-to"), "{err}");
        let unsaved = Author::default();
        let err = Article::factory().for_parent(&unsaved, "author").create().unwrap_err();
        assert!(err.to_string().contains("save it first"), "{err}");
        let err = Author::factory().has(Remark::factory(), "articles").create().unwrap_err();
        assert!(err.to_string().contains("not to `remarks`"), "{err}");
        let err = Article::factory().for_parent(&ada, "author").has(Author::factory(), "author").create().unwrap_err();
        assert!(err.to_string().contains("needs a has-many"), "{err}");
        assert_eq!(Article::count()?, 0);
        assert_eq!(Author::count()?, 1, "the failed creates left no authors");

        // A child that cannot be inserted (a duplicate slug): none of the parents stay.
        let err = Author::factory()
            .count(2)
            .sequence(|i, a| a.email = format!("parent{i}@example.com"))
            .has(Article::factory().state(|a| a.slug = Some("same".into())), "articles")
            .create()
            .unwrap_err();
        assert!(
            matches!(err, orm_migrate::Error::Database(orm_core::Error::UniqueViolation { .. })),
            "{err:?}"
        );
        assert_eq!((Author::count()?, Article::count()?), (1, 0), "the parents went too");
        let before = Author::count()?;
        let err = Author::factory()
            .count(3)
            .state(|a| a.email = "same@example.com".into())
            .create()
            .unwrap_err();
        assert!(
            matches!(err, orm_migrate::Error::Database(orm_core::Error::UniqueViolation { .. })),
            "{err:?}"
        );
        assert_eq!(Author::count()?, before, "a failed create keeps nothing");
        Ok(())
    }

    fn create_inserts_in_batches_and_reports_them() -> orm_migrate::Result<()> {
        migrate()?;
        struct Many;
        impl Seeder for Many {
            fn run(&self) -> orm_migrate::Result<()> {
                Author::factory().count(2 * BATCH_SIZE + 5).create()?;
                Ok(())
            }
        }
        let log = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&log);
        seed_with(&Many, move |progress| {
            if let SeedProgress::Inserted { table, rows } = progress {
                sink.borrow_mut().push((table.to_owned(), rows));
            }
        })?;
        assert_eq!(Author::count()?, 2 * BATCH_SIZE as u64 + 5);
        let authors = "authors".to_owned();
        assert_eq!(
            log.take(),
            [(authors.clone(), BATCH_SIZE), (authors.clone(), BATCH_SIZE), (authors, 5)]
        );
        Ok(())
    }

    fn has_through_belongs_to_many_creates_and_attaches() -> orm_migrate::Result<()> {
        migrate()?;
        let author = Author::factory().create_one()?;
        // Eloquent's `has(Label::factory()->count(2), 'labels')`: new labels per article.
        let articles = Article::factory()
            .count(3)
            .for_parent(&author, "author")
            .has(Label::factory().count(2), "labels")
            .create()?;
        assert_eq!(Label::count()?, 6);
        assert_eq!(DB::table("article_label").count()?, 6);
        let mut seen = Vec::new();
        for article in &articles {
            let labels = article.labels().get()?;
            assert_eq!(labels.len(), 2, "each article its own two labels");
            seen.extend(labels.into_iter().map(|l| l.id));
        }
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 6, "no label shared");
        assert_eq!(DB::table("article_label").where_eq("pinned", true).count()?, 0);
        Ok(())
    }

    fn has_attached_with_pivot_values_from_a_factory_or_stored_models() -> orm_migrate::Result<()> {
        migrate()?;
        let author = Author::factory().create_one()?;
        // `hasAttached(Label::factory()->count(2), ['pinned' => true])`.
        let articles = Article::factory()
            .count(2)
            .for_parent(&author, "author")
            .has_attached(Label::factory().count(2), [("pinned", true.into())], "labels")
            .create()?;
        assert_eq!(Label::count()?, 4);
        for article in &articles {
            let pinned = article.labels().where_pivot("pinned", "=", true).count()?;
            assert_eq!(pinned, 2);
        }
        // Stored models: every new article gets the same two.
        let stored = Label::factory().count(2).create()?;
        let more = Article::factory()
            .count(3)
            .for_parent(&author, "author")
            .has_attached(&stored, [], "labels")
            .create()?;
        assert_eq!(Label::count()?, 6, "no new labels");
        for article in &more {
            let mut ids = article.labels().pluck::<i64>("labels.id")?;
            ids.sort();
            assert_eq!(ids, [stored[0].id.unwrap(), stored[1].id.unwrap()]);
        }
        let one = Article::factory()
            .for_parent(&author, "author")
            .has_attached(&stored[0], [("pinned", true.into())], "labels")
            .create_one()?;
        assert_eq!(one.labels().where_pivot("pinned", "=", true).count()?, 1);

        // Misuse: a relation of the wrong kind, or a model without a key, writes nothing.
        let before = (Article::count()?, DB::table("article_label").count()?);
        let err = Article::factory()
            .for_parent(&author, "author")
            .has_attached(&stored, [], "remarks")
            .create()
            .unwrap_err();
        assert!(err.to_string().contains("`has_attached` needs a belongs-to-many"), "{err}");
        let unsaved = Label::default();
        let err = Article::factory()
            .for_parent(&author, "author")
            .has_attached(&unsaved, [], "labels")
            .create()
            .unwrap_err();
        assert!(err.to_string().contains("has no key"), "{err}");
        // A pivot column the table lacks: the database refuses, the articles go too.
        let err = Article::factory()
            .for_parent(&author, "author")
            .has_attached(&stored, [("nope", 1.into())], "labels")
            .create();
        assert!(err.is_err());
        assert_eq!((Article::count()?, DB::table("article_label").count()?), before);
        Ok(())
    }

    fn for_parent_with_a_factory_creates_one_parent_per_call() -> orm_migrate::Result<()> {
        migrate()?;
        // Eloquent's `for(Author::factory()->state([...]))`.
        let articles = Article::factory()
            .count(3)
            .for_parent(fresh_authors().state(|a| a.name = "Ada".into()), "author")
            .create()?;
        assert_eq!(Author::count()?, 1);
        let ada = Author::first()?.unwrap();
        assert_eq!(ada.name, "Ada");
        assert!(articles.iter().all(|a| a.author_id == ada.id.unwrap()));
        // Each call makes its own parent; `make` creates the parent too (its key is needed).
        let factory = Article::factory().count(2).for_parent(fresh_authors(), "author");
        factory.create()?;
        let drafts = factory.make()?;
        assert_eq!(Author::count()?, 3);
        assert!(drafts.iter().all(|a| a.id.is_none() && a.author_id == drafts[0].author_id));
        // A morph-to parent from a factory: key and type.
        let on_article = Reaction::factory()
            .count(2)
            .for_parent(Article::factory().for_parent(&ada, "author"), "reactable")
            .create()?;
        assert!(on_article.iter().all(|r| r.reactable_type == Article::meta().morph_name));
        assert_eq!(Article::where_eq("id", on_article[0].reactable_id).count()?, 1);
        // A parent factory that fails keeps nothing of the call.
        let (authors, articles) = (Author::count()?, Article::count()?);
        let taken = ada.email.clone();
        let err = Article::factory()
            .for_parent(Author::factory().state(move |a| a.email = taken.clone()), "author")
            .create()
            .unwrap_err();
        assert!(
            matches!(err, orm_migrate::Error::Database(orm_core::Error::UniqueViolation { .. })),
            "{err:?}"
        );
        assert_eq!((Author::count()?, Article::count()?), (authors, articles));
        // A wrong relation is refused before anything is written.
        let err = Article::factory().for_parent(Author::factory(), "remarks").make().unwrap_err();
        assert!(err.to_string().contains("needs a belongs-to"), "{err}");
        assert_eq!(Author::count()?, authors);
        Ok(())
    }

    fn recycle_picks_parents_from_the_models_given() -> orm_migrate::Result<()> {
        migrate()?;
        let authors = Author::factory().count(2).create()?;
        let keys: Vec<i64> = authors.iter().map(|a| a.id.unwrap()).collect();
        // Eloquent's `recycle($authors)`: no new author, through a nested factory too.
        for _ in 0..10 {
            let articles = Article::factory()
                .count(2)
                .recycle(&authors)
                .for_parent(Author::factory(), "author")
                .create()?;
            assert!(keys.contains(&articles[0].author_id));
            assert!(articles.iter().all(|a| a.author_id == articles[0].author_id), "one per call");
        }
        assert_eq!(Author::count()?, 2, "every parent recycled");
        let nested = Reaction::factory()
            .recycle(&authors)
            .for_parent(Article::factory().for_parent(Author::factory(), "author"), "reactable")
            .create_one()?;
        let article = Article::find_or_fail(nested.reactable_id)?;
        assert!(keys.contains(&article.author_id), "recycled in the parent's own factory");
        assert_eq!(Author::count()?, 2);
        Ok(())
    }
}
