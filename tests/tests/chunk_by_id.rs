//! `chunk_by_id` pages by primary key (`WHERE key > last ORDER BY key LIMIT n`), so a
//! callback that updates the rows it gets (the flag the query filters on) still sees
//! every row exactly once — where offset paging (`chunk`) skips rows.

use orm_core::prelude::*;
use orm_tests::{on_every_backend, per_backend};

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Job {
    pub id: Option<i64>,
    pub name: String,
    pub owner_id: i64,
    pub processed: bool,
}

fn seed() -> Result<()> {
    DB::statement(per_backend(
        "CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE owners (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL)",
    ))?;
    DB::statement(per_backend(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL, owner_id BIGINT NOT NULL, \
         processed BOOLEAN NOT NULL)",
        "CREATE TABLE jobs (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, owner_id BIGINT NOT NULL, \
         processed BOOLEAN NOT NULL)",
    ))?;
    DB::table("owners").insert_many([row! {"name" => "ann"}, row! {"name" => "bob"}])?;
    let jobs: Vec<_> = (1..=7)
        .map(|i| row! {"name" => format!("job {i}"), "owner_id" => 1 + i % 2, "processed" => false})
        .collect();
    DB::table("jobs").insert_many(jobs)?;
    Ok(())
}

fn mark_processed(ids: &[i64]) -> Result<u64> {
    DB::table("jobs")
        .where_in("id", ids.to_vec())
        .update(row! {"processed" => true})
}

fn statements() -> Vec<String> {
    DB::query_log()
        .into_iter()
        .map(|q| q.sql)
        .filter(|sql| sql.starts_with("SELECT") && sql.contains("jobs"))
        .collect()
}

on_every_backend! {
    fn a_callback_that_updates_its_rows_sees_every_row_once() {
        seed()?;
        // Offset paging skips: after the first page is marked, the second page's offset
        // jumps over rows that moved up.
        let mut seen = Vec::new();
        DB::table("jobs").where_("processed", "=", false).chunk(2, |rows| {
            let ids: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>("id")).collect::<Result<_>>()?;
            mark_processed(&ids)?;
            seen.extend(ids);
            Ok(())
        })?;
        assert!(seen.len() < 7, "chunk skipped no row: {seen:?}");
        assert!(DB::table("jobs").where_("processed", "=", false).count()? > 0);

        DB::table("jobs").update(row! {"processed" => false})?;
        let mut seen = Vec::new();
        DB::enable_query_log();
        let finished = DB::table("jobs").where_("processed", "=", false).chunk_by_id(2, |rows| {
            let ids: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>("id")).collect::<Result<_>>()?;
            mark_processed(&ids)?;
            seen.extend(ids);
            Ok(())
        })?;
        let pages = statements();
        DB::disable_query_log();
        assert!(finished);
        assert_eq!(seen, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(DB::table("jobs").where_("processed", "=", false).count()?, 0);
        // Four pages (2+2+2+1); each after the first starts after a key, none uses OFFSET.
        assert_eq!(pages.len(), 4, "{pages:?}");
        assert!(pages[1..].iter().all(|sql| sql.replace('`', "\"").contains(r#""id" > "#)), "{pages:?}");
        assert!(pages.iter().all(|sql| !sql.contains("OFFSET")), "{pages:?}");
        Ok(())
    }

    fn model_queries_with_or_conditions_and_stopping() {
        seed()?;
        let mut seen = Vec::new();
        let finished = Job::query()
            .where_("processed", "=", false)
            .where_group(|q| q.where_("owner_id", "=", 1).or_where("name", "=", "job 1"))
            .chunk_by_id(2, |jobs| {
                let ids: Vec<i64> = jobs.iter().map(|j| j.id.unwrap()).collect();
                Job::query().where_in("id", ids.clone()).update(row! {"processed" => true})?;
                seen.extend(ids);
                Ok(())
            })?;
        assert!(finished);
        assert_eq!(seen, [1, 2, 4, 6]);

        // `Ok(false)` stops; the query's limit caps the total.
        let mut pages = 0;
        let finished = Job::query().chunk_by_id(3, |_| {
            pages += 1;
            Ok(false)
        })?;
        assert!(!finished);
        assert_eq!(pages, 1);
        let mut seen = Vec::new();
        Job::query().limit(5).chunk_by_id(2, |jobs| {
            seen.extend(jobs.iter().map(|j| j.id.unwrap()));
            Ok(())
        })?;
        assert_eq!(seen, [1, 2, 3, 4, 5]);
        Ok(())
    }

    fn joined_queries_page_by_the_qualified_key() {
        seed()?;
        let mut seen = Vec::new();
        DB::table("jobs")
            .join("owners", "owners.id", "=", "jobs.owner_id")
            .select(&["jobs.id", "jobs.name", "owners.name as owner"])
            .where_("owners.name", "=", "bob")
            .chunk_by_id(2, |rows| {
                for row in rows {
                    seen.push((row.get::<i64, _>("id")?, row.get::<String, _>("owner")?));
                }
                Ok(())
            })?;
        assert_eq!(seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(), [1, 3, 5, 7]);
        assert!(seen.iter().all(|(_, owner)| owner == "bob"));
        Ok(())
    }

    fn an_offset_skips_rows_before_the_first_page_only() {
        // Eloquent's testChunkByIdWithOffsets and ..WithLimitsAndOffsets.
        seed()?;
        let pages = |q: Query| -> Result<Vec<Vec<i64>>> {
            let mut pages = Vec::new();
            q.chunk_by_id(2, |rows| {
                pages.push(rows.iter().map(|r| r.get::<i64, _>("id")).collect::<Result<Vec<_>>>()?);
                Ok(())
            })?;
            Ok(pages)
        };
        assert_eq!(pages(DB::table("jobs").offset(1))?, [vec![2, 3], vec![4, 5], vec![6, 7]]);
        assert_eq!(pages(DB::table("jobs").offset(2).limit(3))?, [vec![3, 4], vec![5]]);
        assert_eq!(pages(DB::table("jobs").offset(7))?, Vec::<Vec<i64>>::new());
        Ok(())
    }

    fn queries_it_cannot_page_are_errors() {
        seed()?;
        let ordered = Job::query().order_by("name").chunk_by_id(2, |_| Ok(()));
        assert!(matches!(ordered, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{ordered:?}");
        let empty = Job::query().chunk_by_id(0, |_| Ok(()));
        assert!(matches!(empty, Err(Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. })), "{empty:?}");
        let no_key = DB::table("jobs").select(&["name"]).chunk_by_id(2, |_| Ok(()));
        assert!(matches!(no_key, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{no_key:?}");
        // Groups have no key to page by (PostgreSQL's raw error before).
        let grouped = DB::table("jobs").select(&["name"]).group_by("name").chunk_by_id(2, |_| Ok(()));
        assert!(matches!(grouped, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{grouped:?}");
        let lazy: Vec<Result<Record>> = DB::table("jobs").select(&["name"]).group_by("name").lazy_by_id(2).collect();
        assert!(matches!(lazy[..], [Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })]), "{lazy:?}");
        let mut called = false;
        let tuple = Query::<(i64, String)>::table("jobs")
            .select(&["id", "name"])
            .chunk_by_id(2, |_| {
                called = true;
                Ok(())
            });
        assert!(matches!(tuple, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{tuple:?}");
        assert!(!called);
        Ok(())
    }
}

on_every_backend! {
    fn lazy_by_id_streams_pages_by_key_while_the_loop_changes_the_rows() {
        // Eloquent's lazyById: the loop body marks each job, and the next page still
        // starts after the last key read, so no job is skipped.
        seed()?;
        DB::enable_query_log();
        let mut seen = Vec::new();
        for job in Job::query().where_("processed", "=", false).lazy_by_id(2) {
            let job = job?;
            mark_processed(&[job.id.unwrap()])?;
            seen.push(job.id.unwrap());
        }
        let pages = statements();
        DB::disable_query_log();
        assert_eq!(seen, [1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(pages.len(), 4, "{pages:?}");
        assert!(!pages.iter().any(|sql| sql.contains("OFFSET")), "{pages:?}");

        let down: Vec<i64> = Job::query().lazy_by_id_desc(3).map(|j| j.map(|j| j.id.unwrap())).collect::<Result<_>>()?;
        assert_eq!(down, [7, 6, 5, 4, 3, 2, 1]);
        let skipped: Vec<i64> = Job::query().offset(2).limit(4).lazy_by_id(3).map(|j| j.map(|j| j.id.unwrap())).collect::<Result<_>>()?;
        assert_eq!(skipped, [3, 4, 5, 6]);
        let joined: Vec<i64> = DB::table("jobs")
            .join("owners", "owners.id", "=", "jobs.owner_id")
            .select(&["jobs.id", "owners.name as owner"])
            .where_("owners.name", "=", "bob")
            .lazy_by_id(2)
            .map(|r| r.and_then(|r| r.get::<i64, _>("id")))
            .collect::<Result<_>>()?;
        assert_eq!(joined, [1, 3, 5, 7]);

        let ordered: Vec<Result<Job>> = Job::query().order_by("name").lazy_by_id(2).collect();
        assert!(matches!(ordered[..], [Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })]), "{ordered:?}");
        let no_key: Vec<Result<Record>> = DB::table("jobs").select(&["name"]).lazy_by_id(2).collect();
        assert!(matches!(no_key[..], [Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })]), "{no_key:?}");
        Ok(())
    }
}

/// `jobs` with `n` rows whose `owner_id` takes three values, so most rows tie in an
/// order by it.
fn seed_ties(n: i64) -> Result<()> {
    seed()?;
    DB::table("jobs").delete()?;
    let jobs: Vec<_> = (0..n)
        .map(|i| row! {"name" => format!("{:040}", i), "owner_id" => (i * 7919) % 3, "processed" => false})
        .collect();
    DB::table("jobs").insert_many(jobs)?;
    Ok(())
}

fn distinct_ids(rows: impl IntoIterator<Item = Result<i64>>) -> Result<(usize, usize)> {
    let mut seen = std::collections::HashSet::new();
    let mut total = 0;
    for id in rows {
        seen.insert(id?);
        total += 1;
    }
    Ok((total, seen.len()))
}

// peewee's suite (test_iterator): paging a result gives every row once, also when the
// caller's order has ties (PostgreSQL sorts ties differently per LIMIT/OFFSET).
on_every_backend! {
    fn offset_paging_over_an_order_with_ties_sees_every_row_once() {
        let n = 3000;
        seed_ties(n)?;
        let expect = (n as usize, n as usize);
        let id = |r: Result<Record>| r.and_then(|r| r.get::<i64, _>("id"));
        assert_eq!(distinct_ids(DB::table("jobs").order_by("owner_id").lazy(170).map(id))?, expect);
        assert_eq!(distinct_ids(Job::query().order_by_desc("owner_id").lazy(230).map(|j| j.map(|j| j.id.unwrap())))?, expect);
        let mut ids = Vec::new();
        DB::table("jobs").order_by_desc("owner_id").chunk(150, |rows| {
            ids.extend(rows.iter().map(|r| r.get::<i64, _>("id")));
            Ok(true)
        })?;
        assert_eq!(distinct_ids(ids)?, expect);
        // An explicit select list without the key: every selected column breaks the ties.
        let names = DB::table("jobs").select(&["owner_id", "name"]).order_by("owner_id").lazy(170);
        assert_eq!(distinct_ids(names.map(|r| r.and_then(|r| r.get::<String, _>("name")).map(|n| n.parse::<i64>().unwrap())))?, expect);
        // Pages asked for one by one.
        let mut ids = Vec::new();
        for page in 1..=(n as u64).div_ceil(400) {
            let rows = Job::query().order_by("owner_id").paginate(400, page)?.data;
            ids.extend(rows.into_iter().map(|j| Ok(j.id.unwrap())));
        }
        assert_eq!(distinct_ids(ids)?, expect);
        // A random order cannot be paged.
        let err = Job::query().in_random_order().chunk(10, |_| Ok(true)).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{err:?}");
        Ok(())
    }

    fn grouped_distinct_and_union_rows_can_be_paged() {
        seed_ties(30)?;
        let mut groups = Vec::new();
        DB::table("jobs").select("owner_id").select_raw("COUNT(*) AS n", &[]).group_by("owner_id").chunk(1, |rows| {
            groups.extend(rows.iter().map(|r| r.get::<i64, _>("owner_id").unwrap()));
            Ok(true)
        })?;
        groups.sort_unstable();
        assert_eq!(groups, [0, 1, 2]);
        let owners: Vec<i64> = DB::table("jobs").select("owner_id").distinct().lazy(1).map(|r| r?.get("owner_id")).collect::<Result<_>>()?;
        assert_eq!(owners.len(), 3);
        let first = DB::table("jobs").select("name").where_eq("owner_id", 0);
        let union = DB::table("jobs").select("name").where_eq("owner_id", 1).union(first);
        let names: Vec<String> = union.lazy(4).map(|r| r?.get("name")).collect::<Result<_>>()?;
        let unique: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!((names.len(), unique.len()), (20, 20));
        Ok(())
    }
}
