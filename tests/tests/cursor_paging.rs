//! `cursor()` pages by primary key (`WHERE key > last`) when it can, and by
//! `LIMIT/OFFSET` otherwise; either way every row comes once, in order.

use orm_core::prelude::*;
use orm_tests::{on_every_backend, per_backend};

fn seed() -> Result<()> {
    DB::statement(per_backend(
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, votes INTEGER NOT NULL)",
        "CREATE TABLE items (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, votes INTEGER NOT NULL)",
    ))?;
    for (i, votes) in [5, 20, 30, 1, 40, 50, 2].iter().enumerate() {
        DB::execute(
            "INSERT INTO items (id, name, votes) VALUES (?, ?, ?)",
            &[&(i as i64 + 1), &format!("item {}", i + 1), votes],
        )?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "items")]
pub struct Item {
    #[model(primary_key)]
    pub id: Option<i64>,
    pub name: String,
    pub votes: i64,
}

fn ids(rows: impl Iterator<Item = Result<Record>>) -> Result<Vec<i64>> {
    rows.map(|r| r.and_then(|r| r.get::<i64, _>("id")))
        .collect()
}

fn paging_statements() -> Vec<String> {
    DB::query_log()
        .into_iter()
        .map(|q| q.sql)
        .filter(|sql| sql.contains("items"))
        .collect()
}

on_every_backend! {
    fn cursor_paginate_pages_a_union_as_one_table() {
        // Laravel's EloquentCursorPaginateTest::testPaginationWithUnion: the union's rows
        // paged by the outer order, which names its result columns.
        seed()?;
        let union = || {
            DB::table("items")
                .select(&["id", "name"])
                .where_("votes", ">=", 30)
                .union_all(DB::table("items").select(&["id", "name"]).where_("votes", "<", 5))
                .order_by_desc("id")
        };
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut previous = None;
        loop {
            let page = union().cursor_paginate(2, cursor.as_deref())?;
            seen.push(page.data.iter().map(|r| r.get::<i64, _>("id")).collect::<Result<Vec<_>>>()?);
            previous = page.previous_cursor.clone().or(previous);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, [vec![7, 6], vec![5, 4], vec![3]]);
        let back = union().cursor_paginate(2, previous.as_deref())?;
        assert_eq!(back.data.iter().map(|r| r.get::<i64, _>("id")).collect::<Result<Vec<_>>>()?, [5, 4]);
        // A model query's union too.
        let models = Item::query()
            .where_("votes", ">=", 30)
            .union_all(Item::query().where_("votes", "<", 5))
            .order_by("id")
            .cursor_paginate(3, None)?;
        assert_eq!(models.data.iter().map(|i| i.id.unwrap()).collect::<Vec<_>>(), [3, 4, 5]);
        let rest = Item::query()
            .where_("votes", ">=", 30)
            .union_all(Item::query().where_("votes", "<", 5))
            .order_by("id")
            .cursor_paginate(3, models.next_cursor.as_deref())?;
        assert_eq!(rest.data.iter().map(|i| i.id.unwrap()).collect::<Vec<_>>(), [6, 7]);
        Ok(())
    }

    fn cursor_pages_by_key_and_keeps_or_conditions_grouped() {
        seed()?;
        DB::enable_query_log();
        let streamed = ids(
            DB::table("items").where_("votes", ">", 10).or_where("name", "=", "item 7").lazy(2),
        )?;
        assert_eq!(streamed, [2, 3, 5, 6, 7]);
        let statements = paging_statements();
        DB::disable_query_log();
        assert_eq!(statements.len(), 3, "{statements:?}");
        assert!(statements[1].replace('`', "\"").contains(r#""id" > "#), "{}", statements[1]);
        assert!(statements.iter().skip(1).all(|sql| !sql.contains("OFFSET")), "{statements:?}");
        Ok(())
    }

    fn model_and_tuple_cursors_page_by_key() {
        seed()?;
        DB::enable_query_log();
        let names: Vec<String> = Item::query()
            .where_("votes", ">", 1)
            .lazy(2)
            .map(|item| item.map(|item| item.name))
            .collect::<Result<_>>()?;
        let statements = paging_statements();
        DB::disable_query_log();
        assert_eq!(names, ["item 1", "item 2", "item 3", "item 5", "item 6", "item 7"]);
        // Three full pages, then an empty one; every page after the first starts after a key.
        assert_eq!(statements.len(), 4, "{statements:?}");
        assert!(
            statements[1..].iter().all(|sql| sql.replace('`', "\"").contains(r#""id" > "#) && !sql.contains("OFFSET")),
            "{statements:?}"
        );
        // A tuple cannot tell its key after decoding: the key column is read per row.
        let pairs: Vec<(i64, String)> = Query::<(i64, String)>::table("items")
            .select(&["id", "name"])
            .lazy(3)
            .collect::<Result<_>>()?;
        assert_eq!(pairs.len(), 7);
        assert_eq!(pairs[6], (7, "item 7".to_owned()));
        Ok(())
    }

    fn cursor_falls_back_to_offsets_without_the_key_or_with_an_order() {
        seed()?;
        let names: Vec<String> = DB::table("items")
            .select("name")
            .lazy(3)
            .map(|r| r.and_then(|r| r.get::<String, _>("name")))
            .collect::<Result<_>>()?;
        assert_eq!(names.len(), 7);
        assert_eq!(names[6], "item 7");
        let by_votes = ids(DB::table("items").order_by_desc("votes").lazy(2))?;
        assert_eq!(by_votes, [6, 5, 3, 2, 1, 7, 4]);
        let limited = ids(DB::table("items").limit(5).lazy(2))?;
        assert_eq!(limited, [1, 2, 3, 4, 5]);
        let offset = ids(DB::table("items").offset(2).limit(3).lazy(2))?;
        assert_eq!(offset, [3, 4, 5]);
        Ok(())
    }

    fn cursor_by_key_sees_rows_deleted_behind_it_without_skipping() {
        seed()?;
        let mut seen = Vec::new();
        for row in DB::table("items").lazy(2) {
            let id = row?.get::<i64, _>("id")?;
            seen.push(id);
            // Deleting rows already read would shift later OFFSET pages; keys do not move.
            DB::execute("DELETE FROM items WHERE id = ?", &[&id])?;
        }
        assert_eq!(seen, [1, 2, 3, 4, 5, 6, 7]);
        Ok(())
    }

    fn for_page_after_and_before_id_page_by_key() {
        seed()?;
        let ids = |q: Query| -> Result<Vec<i64>> { q.pluck("id") };
        let items = || DB::table("items");
        assert_eq!(ids(items().for_page_after_id(3, Value::Null, "id"))?, [1, 2, 3]);
        assert_eq!(ids(items().for_page_after_id(3, 3, "id"))?, [4, 5, 6]);
        assert_eq!(ids(items().for_page_after_id(3, 6, "id"))?, [7]);
        // An order on the column the query had is replaced, other conditions stay.
        let big = || items().where_("votes", ">=", 5).order_by_desc("id");
        assert_eq!(ids(big().for_page_after_id(2, 1, "id"))?, [2, 3]);
        assert_eq!(ids(items().for_page_before_id(2, 5, "id"))?, [4, 3]);
        assert_eq!(ids(items().for_page_before_id(10, 2, "id"))?, [1]);
        Ok(())
    }

    fn a_row_that_does_not_decode_comes_after_the_rows_before_it() {
        // Probe 48j: a paged cursor returned the page's error alone, losing the rows
        // read before the bad one (the streaming cursor gave them).
        seed()?;
        DB::execute("UPDATE items SET votes = ? WHERE id = 4", &[&300])?;
        let read: Vec<Result<(i64, u8)>> = Query::<(i64, u8)>::table("items")
            .select(&["id", "votes"])
            .lazy(5)
            .collect();
        assert_eq!(read.len(), 4, "{read:?}");
        let ok: Vec<i64> = read[..3].iter().map(|r| r.as_ref().map(|(id, _)| *id).unwrap()).collect();
        assert_eq!(ok, [1, 2, 3]);
        assert!(matches!(read[3], Err(Error::Decode { .. })), "{:?}", read[3]);
        // The same through `cursor()`.
        let read: Vec<Result<(i64, u8)>> = Query::<(i64, u8)>::table("items").select(&["id", "votes"]).cursor().collect();
        assert_eq!(read.len(), 4, "{read:?}");
        assert!(read[..3].iter().all(Result::is_ok));
        Ok(())
    }

    fn each_streams_stops_early_and_reports_a_failure_after_the_rows_before_it() {
        // `each` reads rows off the connection one at a time on every backend
        // (PostgreSQL's driver received the whole result first: probe 48j).
        seed()?;
        let mut seen = Vec::new();
        Query::<(i64,)>::table("items").select(&["id"]).order_by("id").each(|(id,)| {
            seen.push(id);
            Ok(id < 3)
        })?;
        assert_eq!(seen, [1, 2, 3]);
        // The connection is clean after a stream left early.
        assert_eq!(DB::table("items").count()?, 7);
        // A row that fails on the fourth: the three before it were handed over.
        let mut before = Vec::new();
        let failed = Query::<(i64,)>::table("items")
            .select_raw("CASE WHEN id = 4 THEN NULL ELSE id END AS q", &[])
            .order_by("id")
            .each(|(q,)| {
                before.push(q);
                Ok(())
            });
        assert!(matches!(failed, Err(Error::Decode { .. })), "{failed:?}");
        assert_eq!(before, [1, 2, 3]);
        // The server failing mid-result (PostgreSQL casts row by row, in table order).
        if orm_tests::backend() == orm_core::Backend::Postgres {
            let mut before = Vec::new();
            let failed = Query::<(i64,)>::table("items")
                .select_raw("CAST(CASE WHEN id = 4 THEN 'x' ELSE '1' END AS INTEGER) AS q", &[])
                .each(|(q,)| {
                    before.push(q);
                    Ok(())
                });
            assert!(matches!(failed, Err(Error::Database { .. })), "{failed:?}");
            assert_eq!(before, [1, 1, 1]);
        }
        assert_eq!(DB::table("items").count()?, 7);
        Ok(())
    }
}
