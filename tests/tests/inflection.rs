//! Table and pivot names come from one tested inflection (the `orm-inflector` crate),
//! the same in `#[derive(Model)]`, in orm-core and in `craft`: `movies` is `movie`, not
//! `movy`; `buses` is `bus`, not `buse`. (The word tables are unit tests in
//! orm-inflector.)

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Movie {
    pub id: Option<i64>,
    pub title: String,
    #[model(belongs_to_many(Bus))]
    pub buses: BelongsToMany<Bus>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Bus {
    pub id: Option<i64>,
    pub plate: String,
    #[model(belongs_to_many(Movie))]
    pub movies: BelongsToMany<Movie>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Hero {
    pub id: Option<i64>,
    pub name: String,
    #[model(belongs_to_many(OrderStatus))]
    pub statuses: BelongsToMany<OrderStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct OrderStatus {
    pub id: Option<i64>,
    pub name: String,
}

#[test]
fn derived_table_and_pivot_names() -> Result<()> {
    assert_eq!(Movie::meta().table, "movies");
    assert_eq!(Bus::meta().table, "buses");
    assert_eq!(Hero::meta().table, "heroes");
    assert_eq!(OrderStatus::meta().table, "order_statuses");
    assert_eq!(Movie::meta().relation("buses")?.pivot(), "bus_movie");
    assert_eq!(Bus::meta().relation("movies")?.pivot(), "bus_movie");
    assert_eq!(
        Hero::meta().relation("statuses")?.pivot(),
        "hero_order_status"
    );
    assert_eq!(Movie::meta().relation("buses")?.related_key, "bus_id");
    // The inflection orm-core re-exports is the one the derive used.
    assert_eq!(orm_core::inflector::table_name("Bus"), Bus::meta().table);
    assert_eq!(orm_core::inflector::singularize("movies"), "movie");
    Ok(())
}

on_every_backend! {
    fn pivot_rows_go_to_the_conventional_table() {
        Schema::on_default(|s| {
            s.create("movies", |t| {
                t.increments("id");
                t.string("title", 100);
            })?;
            s.create("buses", |t| {
                t.increments("id");
                t.string("plate", 20);
            })?;
            s.create("bus_movie", |t| {
                t.big_integer("bus_id");
                t.big_integer("movie_id");
                t.primary(&["bus_id", "movie_id"]);
            })
        })
        .map_err(|e| Error::other(e.to_string()))?;
        let movie = Movie::create(Movie { title: "Speed".into(), ..Default::default() })?;
        let bus = Bus::create(Bus { plate: "2525".into(), ..Default::default() })?;
        assert_eq!(movie.buses().attach([bus.id.unwrap()])?, 1);
        assert_eq!(DB::table("bus_movie").count()?, 1);
        let loaded = Bus::query().with(&["movies"]).first()?.unwrap();
        assert_eq!(loaded.movies.iter().map(|m| m.title.as_str()).collect::<Vec<_>>(), ["Speed"]);
        assert_eq!(Movie::query().has("buses").count()?, 1);
        Ok(())
    }
}
