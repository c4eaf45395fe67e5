//! `Model::check_schema` compares a model with its live table on every backend: a model
//! that matches its migration reports nothing; each kind of drift is named.

use orm_core::prelude::*;
use orm_core::SchemaProblem;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps, soft_deletes)]
pub struct Article {
    pub id: Option<i64>,
    pub title: String,
    pub body: Option<String>,
    pub views: i64,
    pub price: f64,
    pub published: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The same table seen by a model that drifted from it.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "articles")]
pub struct DriftedArticle {
    pub id: Option<i64>,
    pub title: Option<String>, // Option on a NOT NULL column without default
    pub body: String,          // not an Option on a nullable column
    pub views: String,         // text for an integer column
    pub subtitle: String,      // no such column
}

#[derive(Debug, Clone, Default, Model)]
pub struct Ghost {
    pub id: Option<i64>,
}

fn migrate() -> Result<()> {
    Schema::on_default(|s| {
        s.create("articles", |t| {
            t.increments("id");
            t.string("title", 200);
            t.text("body").nullable();
            t.big_integer("views").default(0);
            t.double("price");
            t.boolean("published").default(false);
            t.string("slug", 200);
            t.timestamps();
            t.soft_deletes();
        })
    })
    .map_err(Error::other)
}

on_every_backend! {
    fn a_model_that_matches_its_migration_reports_nothing() {
        migrate()?;
        DB::statement("ALTER TABLE articles DROP COLUMN slug")?;
        let report = Article::check_schema()?;
        assert!(report.is_ok(), "{report}");
        assert_eq!(report.to_string(), "Article (articles): ok");
        Ok(())
    }

    fn each_kind_of_drift_is_named() {
        migrate()?;
        let report = DriftedArticle::check_schema()?;
        let problems = &report.problems;
        let has = |p: SchemaProblem| problems.contains(&p);
        assert!(has(SchemaProblem::NotNullColumn { column: "title".into() }), "{report}");
        assert!(has(SchemaProblem::NullableColumn { column: "body".into() }), "{report}");
        assert!(problems.iter().any(|p| matches!(p, SchemaProblem::TypeMismatch { column, .. } if column == "views")), "{report}");
        assert!(has(SchemaProblem::MissingColumn { column: "subtitle".into() }), "{report}");
        assert!(has(SchemaProblem::UnmappedColumn { column: "price".into() }), "{report}");
        assert!(has(SchemaProblem::UnmappedColumn { column: "slug".into() }), "{report}");
        // Columns with defaults or NULL allowed are not required in the model.
        assert!(!has(SchemaProblem::UnmappedColumn { column: "published".into() }), "{report}");
        assert!(!has(SchemaProblem::UnmappedColumn { column: "deleted_at".into() }), "{report}");
        assert_eq!(problems.len(), 6, "{report}");
        let text = report.to_string();
        assert!(text.starts_with("DriftedArticle (articles):\n  - "), "{text}");
        assert!(text.contains("field `subtitle` has no column"), "{text}");

        let ghost = Ghost::check_schema()?;
        assert_eq!(ghost.problems, [SchemaProblem::MissingTable]);
        Ok(())
    }
}
