//! Models read rows by column name whenever the result is not the model's own column
//! list: raw SQL (`from_sql`), a custom `select`, eager-load constraints that select, and
//! streaming. A result in another order never swaps fields; one that lacks a column is a
//! typed error, never a half-read model. On every backend.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Person {
    pub id: Option<i64>,
    pub first: String,
    pub last: String,
    pub team_id: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Team {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Person))]
    pub people: HasMany<Person>,
}

fn seed() -> Result<()> {
    Schema::on_default(|s| {
        s.create("teams", |t| {
            t.increments("id");
            t.string("name", 50);
        })?;
        s.create("people", |t| {
            t.increments("id");
            t.string("first", 50);
            t.string("last", 50);
            t.big_integer("team_id").nullable();
        })
    })
    .map_err(Error::other)?;
    let team = Team::create(Team {
        name: "core".into(),
        ..Default::default()
    })?;
    for (first, last) in [("Ada", "Lovelace"), ("Grace", "Hopper")] {
        Person::create(Person {
            first: first.into(),
            last: last.into(),
            team_id: team.id,
            ..Default::default()
        })?;
    }
    Ok(())
}

fn names(people: &[Person]) -> Vec<(String, String)> {
    people
        .iter()
        .map(|p| (p.first.clone(), p.last.clone()))
        .collect()
}

fn expected() -> Vec<(String, String)> {
    vec![
        ("Ada".into(), "Lovelace".into()),
        ("Grace".into(), "Hopper".into()),
    ]
}

on_every_backend! {
    fn raw_sql_in_another_order_decodes_by_name() {
        seed()?;
        let people = Person::from_sql("SELECT team_id, id, last, first FROM people WHERE id > ? ORDER BY id", &[&0])?;
        assert_eq!(names(&people), expected());
        assert!(people.iter().all(|p| p.id.is_some() && p.team_id.is_some()));
        // Extra columns are ignored; upper-case aliases match (PostgreSQL folds them only when unquoted).
        let people = Person::from_sql(
            "SELECT 1 AS extra, last AS LAST, first, id, team_id FROM people ORDER BY id",
            &[],
        )?;
        assert_eq!(names(&people), expected());
        // The model's own order still decodes (the fast path).
        let people = Person::from_sql("SELECT id, first, last, team_id FROM people ORDER BY id", &[])?;
        assert_eq!(names(&people), expected());
        Ok(())
    }

    fn a_result_without_a_model_column_is_an_error_not_a_half_model() {
        seed()?;
        let err = Person::from_sql("SELECT id, first FROM people", &[]).unwrap_err();
        assert!(matches!(&err, Error::ColumnNotFound(m) if m.contains("Person.last")), "{err:?}");
        let err = Person::query().select(&["id", "last"]).get().unwrap_err();
        assert!(matches!(&err, Error::ColumnNotFound(m) if m.contains("Person.first")), "{err:?}");
        Ok(())
    }

    fn a_custom_select_order_decodes_by_name() {
        seed()?;
        let people = Person::query().select(&["last", "team_id", "first", "id"]).order_by("id").get()?;
        assert_eq!(names(&people), expected());
        let people = Person::query()
            .select(&["people.last", "people.first", "people.id", "people.team_id"])
            .add_select("first")
            .order_by("id")
            .get()?;
        assert_eq!(names(&people), expected());
        let first = Person::query().select(&["last", "first", "id", "team_id"]).order_by("id").first()?.unwrap();
        assert_eq!((first.first.as_str(), first.last.as_str()), ("Ada", "Lovelace"));
        // A model read in another order saves what it read.
        let mut grace = Person::query().select(&["last", "first", "id", "team_id"]).where_eq("first", "Grace").first()?.unwrap();
        grace.last = "Hopper-Murray".into();
        grace.save()?;
        assert_eq!(Person::find(grace.id.unwrap())?.unwrap().last, "Hopper-Murray");
        Ok(())
    }

    fn streaming_and_chunks_decode_by_name() {
        seed()?;
        let query = || Person::query().select(&["last", "first", "id", "team_id"]).order_by("id");
        let streamed = query().cursor().collect::<Result<Vec<_>>>()?;
        assert_eq!(names(&streamed), expected());
        let mut each = Vec::new();
        query().each(|p| { each.push(p); Ok(true) })?;
        assert_eq!(names(&each), expected());
        let mut chunked = Vec::new();
        query().chunk(1, |page| { chunked.extend(page); Ok(true) })?;
        assert_eq!(names(&chunked), expected());
        Ok(())
    }

    fn an_eager_load_constraint_that_selects_decodes_by_name() {
        seed()?;
        let teams = Team::query()
            .with_where("people", |q| q.select(&["last", "team_id", "first", "id"]).order_by("id"))
            .get()?;
        assert_eq!(names(&teams[0].people), expected());
        Ok(())
    }
}

// A join selecting both tables' `*` has two `id` columns: the model keeps its own key,
// whichever table comes first, so a save writes its own row (Eloquent keeps the last
// one, which clobbers the key when the model's table comes first).
on_every_backend! {
    fn a_join_of_two_stars_keeps_the_models_own_key() {
        seed()?;
        let extra = Team::create(Team { name: "Extra".into(), ..Default::default() })?;
        let extra_id = extra.id.unwrap();
        for select in [&["teams.*", "people.*"][..], &["people.*", "teams.*"][..]] {
            let people = Person::query()
                .join("teams", "teams.id", "=", "people.team_id")
                .select(select.to_vec())
                .order_by("people.id")
                .get()?;
            assert!(!people.is_empty());
            for person in &people {
                let stored = Person::find_or_fail(person.id)?;
                assert_eq!((&person.first, &person.last), (&stored.first, &stored.last), "{select:?}");
            }
            let mut first = people[0].clone();
            first.last = format!("{} (edited)", first.last);
            first.save()?;
            assert!(Person::find_or_fail(first.id)?.last.ends_with("(edited)"));
            assert_eq!(Team::find_or_fail(extra_id)?.name, "Extra");
        }
        Ok(())
    }
}
