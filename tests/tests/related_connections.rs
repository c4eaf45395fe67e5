//! A related model declared on another connection (`#[model(connection = "catalog")]`)
//! is read there, lazily and eagerly, as Eloquent reads a related model on its own
//! connection: `belongs_to`, `has_many` and `morph_to`. Before, eager loads and
//! `morph_to` read the parents' database, silently returning nothing or another
//! database's row with the same key. One test runs every backend in turn, because the
//! connection name is the process's.

use orm_core::prelude::*;
use orm_tests::SecondDatabase;

/// Lives on the `catalog` connection.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(connection = "catalog")]
pub struct Item {
    pub id: Option<i64>,
    pub name: String,
    #[model(has_many(Order))]
    pub orders: HasMany<Order>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Order {
    pub id: Option<i64>,
    pub item_id: i64,
    pub item_type: String,
    #[model(belongs_to(Item))]
    pub item: BelongsTo<Item>,
    #[model(morph_to(name = "item"))]
    pub orderable: MorphTo<Orderable>,
}

#[derive(Debug, Clone, PartialEq, MorphTo)]
pub enum Orderable {
    Item(Item),
}

fn on_this_backend() -> Result<()> {
    let catalog = SecondDatabase::new("related_connections")?;
    DB::connect_named("catalog", &catalog.url)?;
    let outcome = (|| -> Result<()> {
        for db in [DB::connection("catalog"), DB::connection("default")] {
            db.statement("CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(50) NOT NULL)")?;
        }
        DB::statement(
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, item_type VARCHAR(50) NOT NULL)",
        )?;
        DB::connection("catalog").statement(
            "CREATE TABLE orders (id BIGINT PRIMARY KEY, item_id BIGINT NOT NULL, item_type VARCHAR(50) NOT NULL)",
        )?;
        // The same key on both databases: reading the wrong one gives the wrong name.
        Item::create(Item {
            id: Some(1),
            name: "catalog lamp".into(),
            ..Default::default()
        })?;
        DB::insert(
            "INSERT INTO items (id, name) VALUES (1, 'default lamp')",
            &[],
        )?;
        DB::insert(
            "INSERT INTO orders (id, item_id, item_type) VALUES (7, 1, 'items')",
            &[],
        )?;
        assert_eq!(Item::query().count()?, 1);

        let order = Order::query().first()?.expect("an order");
        assert_eq!(
            order.item().first()?.map(|i| i.name),
            Some("catalog lamp".into())
        );
        let eager = Order::query().with(&["item"]).first()?.expect("an order");
        assert_eq!(
            eager.item.get().map(|i| i.name.as_str()),
            Some("catalog lamp")
        );
        match order.orderable()? {
            Some(Orderable::Item(item)) => assert_eq!(item.name, "catalog lamp"),
            None => panic!("the order's item was not found"),
        }
        let eager = Order::query()
            .with(&["orderable"])
            .first()?
            .expect("an order");
        match eager.orderable.get() {
            Some(Orderable::Item(item)) => assert_eq!(item.name, "catalog lamp"),
            None => panic!("the order's item was not loaded"),
        }
        // The other way: an item on `catalog` loads its orders from the orders' connection
        // (the default), lazily and eagerly.
        let item = Item::find_or_fail(1)?;
        assert_eq!(item.orders().count()?, 1);
        let item = Item::query().with(&["orders"]).first()?.expect("an item");
        assert_eq!(item.orders.loaded().map(<[Order]>::len), Some(1));
        // Parents read from a named connection keep their children there.
        let from_catalog = Order::query()
            .use_connection("catalog")
            .with(&["item"])
            .get()?;
        assert!(from_catalog.is_empty());
        Ok(())
    })();
    DB::disconnect("catalog");
    outcome
}

#[test]
fn related_models_are_read_on_their_own_connection() -> Result<()> {
    {
        let _db = orm_core::testing::sqlite();
        on_this_backend()?;
    }
    if let Some(_db) = orm_core::testing::postgres() {
        on_this_backend()?;
    }
    if let Some(_db) = orm_core::testing::mysql() {
        on_this_backend()?;
    }
    Ok(())
}
