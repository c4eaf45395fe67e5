//! `cursor()` through `DB::connect` on a SQLite file: one statement held open on a
//! connection of the pool, rows decoded as they are consumed (issue 20's streaming);
//! the loop body may still use the database, and the connection goes back when the
//! rows end, fail or the cursor is dropped.

use orm_core::prelude::*;
use orm_core::{PoolConfig, Record};

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(connection = "stream_items", table = "items")]
pub struct Item {
    pub id: Option<i64>,
    pub name: String,
    pub qty: i64,
}

/// The connection is registered once for the whole file (the tests of one file run on
/// threads of one process, and a name is global): each scenario starts from a fresh
/// table.
fn seed(name: &str) -> Result<()> {
    let db = DB::connection(name);
    db.statement("DROP TABLE IF EXISTS items")?;
    db.statement(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL)",
    )?;
    db.statement(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) \
         INSERT INTO items (name, qty) SELECT 'item ' || i, i FROM n",
    )?;
    Ok(())
}

#[test]
fn cursors_through_db_connect_on_a_sqlite_file() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("stream.sqlite3").display());
    let config = PoolConfig {
        max_size: 4,
        ..PoolConfig::default()
    };
    DB::connect_with("stream_items", &url, config)?;
    for scenario in [
        a_cursor_streams_every_row_in_key_order_and_gives_its_connection_back,
        the_loop_body_may_read_and_write_while_a_cursor_streams,
        a_row_that_does_not_decode_ends_the_stream_with_its_error,
        inside_a_transaction_a_cursor_reads_by_pages_on_the_transactions_connection,
    ] {
        seed("stream_items")?;
        scenario()?;
    }
    Ok(())
}

fn in_use(name: &str) -> Result<u32> {
    Ok(DB::pool(name)?.status().in_use)
}

fn a_cursor_streams_every_row_in_key_order_and_gives_its_connection_back() -> Result<()> {
    let mut cursor = Item::query().cursor();
    let first = cursor.next().unwrap()?;
    assert_eq!((first.id, first.qty), (Some(1), 1));
    // The statement holds one connection while the rows are read.
    assert_eq!(in_use("stream_items")?, 1);
    let rest: Vec<Item> = cursor.by_ref().collect::<Result<_>>()?;
    assert_eq!(rest.len(), 249);
    assert!(rest.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(in_use("stream_items")?, 0, "back when the rows end");
    assert!(cursor.next().is_none(), "an ended cursor stays ended");
    // Its own conditions, order, limit and offset.
    let picked: Vec<i64> = Item::where_("qty", ">", 100)
        .order_by_desc("qty")
        .offset(5)
        .limit(3)
        .cursor()
        .map(|item| item.map(|i| i.qty))
        .collect::<Result<_>>()?;
    assert_eq!(picked, [245, 244, 243]);
    // Dropped early: the connection goes back, and writers are not held up.
    {
        let mut cursor = Item::query().cursor();
        cursor.next().unwrap()?;
        assert_eq!(in_use("stream_items")?, 1);
    }
    assert_eq!(
        in_use("stream_items")?,
        0,
        "back when the cursor is dropped"
    );
    assert_eq!(Item::query().update(row! {"qty" => 0})?, 250);
    // Records too.
    let names: Vec<String> = Query::<Record>::new("items")
        .use_connection("stream_items")
        .where_("id", "<=", 2)
        .cursor()
        .map(|row| row.and_then(|r| r.get::<String, _>("name")))
        .collect::<Result<_>>()?;
    assert_eq!(names, ["item 1", "item 2"]);
    Ok(())
}

fn the_loop_body_may_read_and_write_while_a_cursor_streams() -> Result<()> {
    let mut seen = 0;
    for item in Item::query().cursor() {
        let mut item = item?;
        seen += 1;
        // A read and a write on another connection of the pool, and a transaction.
        assert_eq!(
            Item::query().find(item.id.unwrap())?.unwrap().name,
            item.name
        );
        item.qty *= 10;
        item.save()?;
        DB::connection("stream_items").transaction(|| {
            Item::create(Item {
                name: format!("child of {}", item.name),
                qty: -1,
                ..Default::default()
            })?;
            Ok(())
        })?;
    }
    // One statement: the rows it reads are the table as it was when it started, so the
    // rows the body added are not read again (pages would have met them).
    assert_eq!(seen, 250);
    assert_eq!(Item::query().count()?, 500);
    assert_eq!(Item::where_("qty", ">=", 10).count()?, 250);
    assert_eq!(in_use("stream_items")?, 0);
    Ok(())
}

fn a_row_that_does_not_decode_ends_the_stream_with_its_error() -> Result<()> {
    DB::connection("stream_items").statement("UPDATE items SET qty = 'many' WHERE id = 3")?;
    let read: Vec<Result<Item>> = Item::query().cursor().collect();
    assert_eq!(read.len(), 3, "two rows, then the error, then nothing");
    assert!(read[0].is_ok() && read[1].is_ok());
    let err = read[2].as_ref().unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_eq!(in_use("stream_items")?, 0);
    // A statement the database refuses: its error, with the SQL.
    let refused: Vec<Result<Record>> = Query::<Record>::new("no_such_table")
        .use_connection("stream_items")
        .cursor()
        .collect();
    assert_eq!(refused.len(), 1);
    let err = refused[0].as_ref().unwrap_err();
    assert!(
        err.sql().is_some_and(|sql| sql.contains("no_such_table")),
        "{err:?}"
    );
    assert_eq!(in_use("stream_items")?, 0);
    Ok(())
}

fn inside_a_transaction_a_cursor_reads_by_pages_on_the_transactions_connection() -> Result<()> {
    DB::connection("stream_items").transaction(|| {
        Item::query().update(row! {"qty" => 7})?;
        // The transaction's own connection (its uncommitted rows), not a pooled one.
        let qty: Vec<i64> = Item::query()
            .cursor()
            .map(|i| i.map(|i| i.qty))
            .collect::<Result<_>>()?;
        assert_eq!(qty.len(), 250);
        assert!(qty.iter().all(|&q| q == 7));
        assert_eq!(in_use("stream_items")?, 1);
        Ok(())
    })?;
    Ok(())
}
