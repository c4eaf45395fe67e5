//! What narrows a relation's rows stays around them: a `where_has` callback or a declared
//! constraint holding an `OR` is bracketed (it cannot reach the parent-key condition), a
//! related model's global scopes apply in `has`, `where_has` and `with_count`, and a
//! soft-deleted intermediate row of a through relation hides what lies behind it. On
//! every backend, lazily, eagerly, in `has` and in counts.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, Model)]
pub struct Writer {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Article))]
    pub articles: HasMany<Article>,
    #[model(has_many(Article, constrain = Article::first_or_last))]
    pub bookends: HasMany<Article>,
    #[model(has_many(Draft))]
    pub drafts: HasMany<Draft>,
    #[model(has_many_through(Page, through = Shelf))]
    pub pages: HasManyThrough<Page>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Article {
    pub id: Option<i64>,
    pub writer_id: i64,
    pub title: String,
}

impl Article {
    fn first_or_last(query: Query<Article>) -> Query<Article> {
        query
            .where_eq("title", "first")
            .or_where_eq("title", "last")
    }
}

#[derive(Debug, Clone, Default, Model)]
#[model(hooks)]
pub struct Draft {
    pub id: Option<i64>,
    pub writer_id: i64,
    pub active: bool,
}

impl ModelHooks for Draft {
    fn global_scopes(query: Query<Self>) -> Query<Self> {
        query.scope("active", |q| q.where_eq("active", true))
    }
}

#[derive(Debug, Clone, Default, Model)]
#[model(soft_deletes)]
pub struct Shelf {
    pub id: Option<i64>,
    pub writer_id: i64,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Page {
    pub id: Option<i64>,
    pub shelf_id: i64,
    pub text: String,
}

/// Ada: articles "first" and "middle", an active and an inactive draft, a live shelf
/// (page "kept") and a soft-deleted one (page "hidden"). Grace: article "last", an
/// inactive draft, a soft-deleted shelf (page "gone"). Linus: nothing.
fn seed() -> Result<[Writer; 3]> {
    Schema::on_default(|s| {
        s.create("writers", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("articles", |t| {
            t.increments("id");
            t.big_integer("writer_id");
            t.string("title", 50);
        })?;
        s.create("drafts", |t| {
            t.increments("id");
            t.big_integer("writer_id");
            t.boolean("active");
        })?;
        s.create("shelves", |t| {
            t.increments("id");
            t.big_integer("writer_id");
            t.soft_deletes();
        })?;
        s.create("pages", |t| {
            t.increments("id");
            t.big_integer("shelf_id");
            t.string("text", 50);
        })
    })
    .map_err(Error::other)?;
    let writer = |name: &str| {
        Writer::create(Writer {
            name: name.into(),
            ..Default::default()
        })
    };
    let (ada, grace, linus) = (writer("Ada")?, writer("Grace")?, writer("Linus")?);
    for (w, title) in [(&ada, "first"), (&ada, "middle"), (&grace, "last")] {
        Article::create(Article {
            writer_id: w.id.unwrap(),
            title: title.into(),
            ..Default::default()
        })?;
    }
    for (w, active) in [(&ada, true), (&ada, false), (&grace, false)] {
        Draft::create(Draft {
            writer_id: w.id.unwrap(),
            active,
            ..Default::default()
        })?;
    }
    for (w, text, deleted) in [
        (&ada, "kept", false),
        (&ada, "hidden", true),
        (&grace, "gone", true),
    ] {
        let mut shelf = Shelf::create(Shelf {
            writer_id: w.id.unwrap(),
            ..Default::default()
        })?;
        Page::create(Page {
            shelf_id: shelf.id.unwrap(),
            text: text.into(),
            ..Default::default()
        })?;
        if deleted {
            shelf.delete()?;
        }
    }
    Ok([ada, grace, linus])
}

fn names(writers: &[Writer]) -> Vec<&str> {
    writers.iter().map(|w| w.name.as_str()).collect()
}

fn counts(writers: &[Writer], count: impl Fn(&Writer) -> Option<u64>) -> Vec<Option<u64>> {
    writers.iter().map(count).collect()
}

on_every_backend! {
    fn an_or_in_a_where_has_callback_stays_inside_it() {
        seed()?;
        let found = Writer::query()
            .where_has("articles", |q| q.where_eq("title", "zzz").or_where_eq("title", "last"))
            .order_by("name")
            .get()?;
        assert_eq!(names(&found), ["Grace"]);
        let without = Writer::query()
            .where_doesnt_have("articles", |q| q.where_eq("title", "zzz").or_where_eq("title", "last"))
            .order_by("name")
            .get()?;
        assert_eq!(names(&without), ["Ada", "Linus"]);
        // A callback that starts with `or_where` narrows as `where` would.
        let found = Writer::query()
            .where_has("articles", |q| q.or_where_eq("title", "middle"))
            .get()?;
        assert_eq!(names(&found), ["Ada"]);
        // Eager-loading constraints likewise.
        let loaded = Writer::query()
            .with_where("articles", |q| q.where_eq("title", "zzz").or_where_eq("title", "last"))
            .order_by("name")
            .get()?;
        assert_eq!(loaded.iter().map(|w| w.articles.len()).collect::<Vec<_>>(), [0, 1, 0]);
        Ok(())
    }

    fn a_declared_constraint_with_an_or_stays_inside_it() {
        let [ada, grace, linus] = seed()?;
        let titles = |w: &Writer| -> Result<Vec<String>> {
            Ok(w.bookends().order_by("title").get()?.into_iter().map(|a| a.title).collect())
        };
        assert_eq!(titles(&ada)?, ["first"]);
        assert_eq!(titles(&grace)?, ["last"]);
        assert!(titles(&linus)?.is_empty());
        let with = Writer::query().has("bookends").order_by("name").get()?;
        assert_eq!(names(&with), ["Ada", "Grace"]);
        let counted = Writer::query().with_count(&["bookends"]).order_by("name").get()?;
        assert_eq!(counts(&counted, |w| w.bookends.count()), [Some(1), Some(1), Some(0)]);
        let loaded = Writer::query().with(&["bookends"]).order_by("name").get()?;
        assert_eq!(loaded.iter().map(|w| w.bookends.len()).collect::<Vec<_>>(), [1, 1, 0]);
        Ok(())
    }

    fn the_related_models_global_scopes_apply_in_has_and_counts() {
        let [ada, grace, _] = seed()?;
        assert_eq!(ada.drafts().count()?, 1);
        assert_eq!(grace.drafts().count()?, 0);
        let with = Writer::query().has("drafts").order_by("name").get()?;
        assert_eq!(names(&with), ["Ada"]);
        let without = Writer::query().doesnt_have("drafts").order_by("name").get()?;
        assert_eq!(names(&without), ["Grace", "Linus"]);
        let inactive = Writer::query()
            .where_has("drafts", |q| q.where_eq("active", false))
            .get()?;
        assert!(names(&inactive).is_empty(), "{:?}", names(&inactive));
        assert_eq!(
            names(&Writer::query().has_count("drafts", ">=", 1).order_by("name").get()?),
            ["Ada"]
        );
        let counted = Writer::query().with_count(&["drafts"]).order_by("name").get()?;
        assert_eq!(counts(&counted, |w| w.drafts.count()), [Some(1), Some(0), Some(0)]);
        Ok(())
    }

    fn a_soft_deleted_intermediate_row_hides_what_is_behind_it() {
        let [ada, grace, _] = seed()?;
        let texts = |w: &Writer| -> Result<Vec<String>> {
            Ok(w.pages().get()?.into_iter().map(|p| p.text).collect())
        };
        assert_eq!(texts(&ada)?, ["kept"]);
        assert!(texts(&grace)?.is_empty());
        assert_eq!(ada.pages().count()?, 1);
        let with = Writer::query().has("pages").order_by("name").get()?;
        assert_eq!(names(&with), ["Ada"]);
        let loaded = Writer::query().with(&["pages"]).order_by("name").get()?;
        assert_eq!(loaded.iter().map(|w| w.pages.len()).collect::<Vec<_>>(), [1, 0, 0]);
        let counted = Writer::query().with_count(&["pages"]).order_by("name").get()?;
        assert_eq!(counts(&counted, |w| w.pages.count()), [Some(1), Some(0), Some(0)]);
        // The intermediate rows come back with `restore`, and so do their pages.
        let mut gone = Shelf::query().with_trashed().where_eq("writer_id", grace.id.unwrap()).first()?.unwrap();
        gone.restore()?;
        assert_eq!(texts(&grace)?, ["gone"]);
        Ok(())
    }

    fn or_forms_counts_with_constraints_and_constrained_counts() {
        seed()?;
        let by_name = |q: Query<Writer>| -> Result<Vec<String>> {
            Ok(q.order_by("name").get()?.into_iter().map(|w| w.name).collect())
        };
        assert_eq!(by_name(Writer::where_eq("name", "Linus").or_has("drafts"))?, ["Ada", "Linus"]);
        assert_eq!(
            by_name(Writer::where_eq("name", "Ada").or_doesnt_have("articles"))?,
            ["Ada", "Linus"]
        );
        assert_eq!(
            by_name(Writer::where_eq("name", "Linus").or_where_has("articles", |q| q.where_eq("title", "last")))?,
            ["Grace", "Linus"]
        );
        assert_eq!(
            by_name(
                Writer::where_eq("name", "Grace")
                    .or_where_doesnt_have("articles", |q| q.where_eq("title", "first"))
            )?,
            ["Grace", "Linus"]
        );
        assert_eq!(
            by_name(Writer::query().where_has_count("articles", |q| q.where_("title", "<>", "zzz"), ">=", 2))?,
            ["Ada"]
        );
        assert_eq!(
            by_name(Writer::query().where_has_count("articles", |q| q.where_eq("title", "zzz").or_where_eq("title", "last"), "=", 1))?,
            ["Grace"]
        );
        let counted = Writer::query()
            .with_count_where("articles", |q| q.where_eq("title", "first").or_where_eq("title", "last"))
            .with_count(&["drafts"])
            .order_by("name")
            .get()?;
        assert_eq!(counts(&counted, |w| w.articles.count()), [Some(1), Some(1), Some(0)]);
        assert_eq!(counts(&counted, |w| w.drafts.count()), [Some(1), Some(0), Some(0)]);
        Ok(())
    }

    fn conditions_added_to_a_relation_query_stay_within_its_parent() {
        let [ada, grace, _] = seed()?;
        let mine = || ada.articles().where_eq("title", "zzz").or_where_eq("title", "last");
        assert!(mine().get()?.is_empty());
        assert_eq!(mine().count()?, 0);
        assert_eq!(
            ada.articles().where_eq("title", "first").or_where_eq("title", "middle").count()?,
            2
        );
        // Removing scopes keeps the relation's own condition.
        assert_eq!(ada.articles().without_scopes().count()?, 2);
        assert_eq!(mine().without_scope("orm_relation").count()?, 0);
        // Writes through such a query touch only the parent's rows.
        assert_eq!(mine().update([("title", Value::from("x"))])?, 0);
        assert_eq!(mine().delete()?, 0);
        assert_eq!(grace.articles().pluck::<String>("title")?, ["last"]);
        assert_eq!(Article::query().count()?, 3);
        Ok(())
    }

    fn a_raw_condition_with_an_or_stays_within_its_relation_and_scopes() {
        // Yii's QueryBuilderTest brackets every string condition: an OR written raw
        // must not reach past a relation's key or a scope, least of all in a write.
        let [ada, grace, _] = seed()?;
        let either = || ada.articles().where_raw("title = ? OR title = ?", &[&"last", &"middle"]);
        assert_eq!(either().pluck::<String>("title")?, ["middle"]);
        assert_eq!(either().count()?, 1);
        assert_eq!(either().update([("title", Value::from("changed"))])?, 1);
        assert_eq!(grace.articles().pluck::<String>("title")?, ["last"]);
        let gone = ada.articles().where_raw("title = ? OR 1 = 1", &[&"nothing"]).delete()?;
        assert_eq!(gone, 2, "only Ada's articles");
        assert_eq!(grace.articles().pluck::<String>("title")?, ["last"]);
        // A global scope and soft deletes hold too.
        assert_eq!(Draft::query().where_raw("1 = 0 OR 1 = 1", &[]).count()?, 1);
        assert_eq!(Shelf::query().where_raw("1 = 0 OR 1 = 1", &[]).count()?, 1);
        assert_eq!(Shelf::query().having_raw("1 = 0 OR 1 = 1", &[]).group_by("id").count()?, 1);
        assert_eq!(Shelf::query().where_raw("1 = 0 OR 1 = 1", &[]).delete()?, 1);
        assert_eq!(Shelf::only_trashed().count()?, 3);
        Ok(())
    }

    fn a_model_query_with_a_raw_select_is_a_scalar_query_that_keeps_its_scopes() {
        // CakePHP's subquery tests, Eloquent's selectRaw: the raw expression replaces the
        // model's columns, and the soft-delete scope still applies.
        seed()?;
        assert_eq!(Article::query().select_raw("COUNT(*) AS n", &[]).value::<i64>("n")?, Some(3));
        assert_eq!(Shelf::query().select_raw("COUNT(*) AS n", &[]).value::<i64>("n")?, Some(1));
        let articles_of = Article::query().select_raw("COUNT(*)", &[]).where_column("articles.writer_id", "=", "writers.id");
        let counts: Vec<i64> = DB::table("writers").select_sub(articles_of, "n").order_by("name").pluck("n")?;
        assert_eq!(counts, [2, 1, 0]);
        let live_owner = Shelf::query().select_raw("MAX(writer_id)", &[]);
        let names: Vec<String> = DB::table("writers").where_column_sub("id", "=", live_owner).pluck("name")?;
        assert_eq!(names, ["Ada"]);
        // The model's columns stay when the query chose them.
        let titled: Vec<Article> = Article::query()
            .select(&["articles.*"])
            .select_raw("UPPER(title) AS shout", &[])
            .where_eq("title", "last")
            .get()?;
        assert_eq!(titled[0].title, "last");
        Ok(())
    }
}
