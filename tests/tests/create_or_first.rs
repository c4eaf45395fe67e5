//! `first_or_create` and `update_or_create` racing another caller for the same unique
//! key: the caller that loses the race gets the winner's row, not a `UniqueViolation`
//! (Eloquent's `createOrFirst`), in and out of a transaction, on every backend. The race
//! is made deterministic: a `creating` hook inserts the row first, as the other caller
//! would between the lookup and the insert.

use std::cell::{Cell, RefCell};

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, Model)]
#[model(hooks)]
pub struct Tag {
    pub id: Option<i64>,
    pub name: String,
    pub slug: String,
    pub uses: i64,
}

thread_local! {
    /// When set, the next `creating` hook inserts this tag name first.
    static RIVAL: Cell<Option<&'static str>> = const { Cell::new(None) };
    /// The rival's own connection, when it has one (it commits on its own).
    static RIVAL_CONNECTION: RefCell<Option<Connection>> = const { RefCell::new(None) };
}

impl ModelHooks for Tag {
    fn creating(&mut self) -> Result<()> {
        if let Some(name) = RIVAL.with(Cell::take) {
            let slug = format!("rival-{name}");
            let sql = "INSERT INTO tags (name, slug, uses) VALUES (?, ?, ?)";
            let params: [&dyn ToValue; 3] = [&name, &slug, &100];
            RIVAL_CONNECTION.with(|rival| match rival.borrow_mut().as_mut() {
                Some(conn) => conn.execute(sql, &params),
                None => DB::insert(sql, &params),
            })?;
        }
        Ok(())
    }
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("tags", |t| {
            t.increments("id");
            t.string("name", 50).unique();
            t.string("slug", 50).unique();
            t.big_integer("uses");
        })
    })
    .map_err(Error::other)
}

fn tag(name: &str, slug: &str) -> Tag {
    Tag {
        name: name.into(),
        slug: slug.into(),
        ..Tag::default()
    }
}

fn tag_named(name: &str) -> Tag {
    tag(name, name)
}

fn race(name: &'static str) {
    RIVAL.with(|r| r.set(Some(name)));
}

on_every_backend! {
    fn a_key_among_the_values_is_the_new_rows_own() {
        // Laravel's testCreateOrFirstNonAttributeFieldViolation, on a model without a
        // state: the create is an insert even with the key given, never an update of the
        // row that has that key.
        schema()?;
        RIVAL.with(|r| r.set(None));
        let three = Tag::create(Tag { id: Some(3), ..tag("three", "three") })?;
        let taken = Tag::first_or_create(row! {"name" => "new"}, row! {"id" => 3, "slug" => "new"});
        assert!(matches!(taken, Err(Error::UniqueViolation { .. })), "{taken:?}");
        let row3 = Tag::find_or_fail(3)?;
        assert_eq!((row3.name, row3.slug), (three.name.clone(), three.slug.clone()));
        let five = Tag::first_or_create(row! {"id" => 5}, row! {"name" => "five", "slug" => "five"})?;
        assert_eq!(five.id, Some(5));
        assert_eq!(Tag::find_or_fail(5)?.name, "five");
        let nine = Tag::update_or_create(row! {"id" => 9}, row! {"name" => "nine", "slug" => "nine"})?;
        assert_eq!((nine.id, Tag::count()?), (Some(9), 3));
        let again = Tag::update_or_create(row! {"id" => 9}, row! {"uses" => 7})?;
        assert_eq!((again.name.as_str(), Tag::find_or_fail(9)?.uses), ("nine", 7));
        Ok(())
    }

    fn first_or_create_returns_the_row_a_rival_created_meanwhile() {
        schema()?;
        race("rust");
        let tag = Tag::first_or_create(row! {"name" => "rust"}, row! {"slug" => "rust", "uses" => 1})?;
        assert_eq!((tag.name.as_str(), tag.slug.as_str(), tag.uses), ("rust", "rival-rust", 100));
        assert!(tag.id.is_some());
        assert_eq!(Tag::count()?, 1);
        Ok(())
    }

    fn update_or_create_updates_the_row_a_rival_created_meanwhile() {
        schema()?;
        race("sql");
        let tag = Tag::update_or_create(row! {"name" => "sql"}, row! {"slug" => "sql", "uses" => 7})?;
        assert_eq!((tag.slug.as_str(), tag.uses), ("sql", 7));
        let stored = Tag::where_eq("name", "sql").first_or_fail()?;
        assert_eq!((stored.id, stored.uses), (tag.id, 7));
        assert_eq!(Tag::count()?, 1);
        Ok(())
    }

    fn create_or_first_on_a_query_returns_the_row_a_rival_created_meanwhile() {
        // Eloquent's createOrFirst on a query: the insert first, the lookup after a refusal.
        schema()?;
        race("go");
        let tag = Tag::query().create_or_first(row! {"name" => "go"}, row! {"slug" => "go", "uses" => 1})?;
        assert_eq!((tag.slug.as_str(), tag.uses), ("rival-go", 100));
        let made = Tag::query().create_or_first(row! {"name" => "zig"}, row! {"slug" => "zig", "uses" => 2})?;
        assert_eq!((made.slug.as_str(), made.uses), ("zig", 2));
        // Inside a transaction the refusal is a savepoint's: the transaction goes on.
        DB::transaction(|| {
            let again = Tag::query().create_or_first(row! {"name" => "zig"}, row! {"slug" => "zag", "uses" => 3})?;
            assert_eq!(again.slug, "zig");
            let refused = Tag::query().where_eq("uses", 0).create_or_first(row! {"name" => "zig"}, row! {"slug" => "zog"});
            assert!(matches!(refused, Err(Error::UniqueViolation { .. })), "the query's own conditions hide it: {refused:?}");
            Tag::create(tag_named("c"))
        })?;
        assert_eq!(Tag::count()?, 3);
        Ok(())
    }

    fn a_unique_key_the_lookup_does_not_cover_is_still_an_error() {
        schema()?;
        Tag::create(tag("first", "taken"))?;
        let refused = Tag::first_or_create(row! {"name" => "second"}, row! {"slug" => "taken", "uses" => 0});
        assert!(matches!(refused, Err(Error::UniqueViolation { .. })), "{refused:?}");
        // Inside a transaction the refusal is reported and the transaction goes on.
        DB::transaction(|| {
            let refused = Tag::first_or_create(row! {"name" => "second"}, row! {"slug" => "taken", "uses" => 0});
            assert!(matches!(refused, Err(Error::UniqueViolation { .. })), "{refused:?}");
            Tag::create(tag("third", "third"))?;
            Ok(())
        })?;
        assert_eq!(Tag::count()?, 2);
        Ok(())
    }
}

/// A rival on another connection commits while this side's transaction is open (only
/// PostgreSQL lets the test do that deterministically: SQLite's transaction holds the
/// write lock, and MariaDB's repeatable reads would not see the rival's row inside the
/// transaction, where the lost race stays a `UniqueViolation`). The insert ran in a
/// savepoint, so the transaction goes on.
#[test]
fn postgres_inside_a_transaction_the_lost_race_keeps_the_rest_of_it() -> Result<()> {
    let Some(db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    schema()?;
    let mut rival = Connection::open(&orm_core::testing::postgres_url())?;
    let schema_name = db.schema().expect("a test schema");
    rival.execute_batch(&format!("SET search_path TO \"{schema_name}\""))?;
    RIVAL_CONNECTION.with(|r| *r.borrow_mut() = Some(rival));
    let outcome = DB::transaction(|| {
        Tag::first_or_create(row! {"name" => "orm"}, row! {"slug" => "orm", "uses" => 1})?;
        race("rust");
        let tag = Tag::first_or_create(
            row! {"name" => "rust"},
            row! {"slug" => "rust", "uses" => 1},
        )?;
        assert_eq!(tag.slug, "rival-rust");
        Ok(())
    });
    RIVAL_CONNECTION.with(|r| r.borrow_mut().take());
    outcome?;
    let names: Vec<String> = Tag::query().order_by("name").pluck("name")?;
    assert_eq!(names, ["orm", "rust"]);
    Ok(())
}
