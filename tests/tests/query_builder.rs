//! The query builder, run live on SQLite and PostgreSQL; plus a parity suite comparing
//! the two backends row for row.

use chrono::{NaiveDate, NaiveDateTime};
use orm_core::{
    row, Backend, Error, Executor, InvalidQueryKind, Operator, Query, Record, Result, Value, DB,
};
use orm_tests::{backend, on_every_backend, per_backend, per_backend3};

fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, 0, 0)
        .unwrap()
}

/// users (6 rows), posts (5 rows), teams (3 rows).
fn seed() -> Result<()> {
    DB::unprepared(per_backend(
        "CREATE TABLE teams (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
            votes INTEGER NOT NULL DEFAULT 0, team_id INTEGER, active BOOLEAN NOT NULL DEFAULT 1,
            created_at DATETIME);
         CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL,
            published BOOLEAN NOT NULL, votes INTEGER NOT NULL)",
        "CREATE TABLE teams (id SERIAL PRIMARY KEY, name TEXT NOT NULL);
         CREATE TABLE users (id SERIAL PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE,
            votes INTEGER NOT NULL DEFAULT 0, team_id INTEGER, active BOOLEAN NOT NULL DEFAULT TRUE,
            created_at TIMESTAMP);
         CREATE TABLE posts (id SERIAL PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL,
            published BOOLEAN NOT NULL, votes INTEGER NOT NULL)",
    ))?;
    DB::table("teams").insert_many([
        row! {"name" => "red"},
        row! {"name" => "blue"},
        row! {"name" => "empty"},
    ])?;
    let users = [
        (
            "Ada",
            Some("ada@example.com"),
            120,
            Some(1),
            true,
            at(2024, 1, 5, 10),
        ),
        (
            "Grace",
            Some("grace@example.com"),
            80,
            Some(1),
            true,
            at(2024, 2, 5, 11),
        ),
        ("Linus", None, 15, Some(2), false, at(2023, 12, 31, 23)),
        (
            "Barbara",
            Some("barbara@example.com"),
            300,
            Some(2),
            true,
            at(2024, 1, 20, 9),
        ),
        (
            "alan",
            Some("alan@example.com"),
            0,
            None,
            true,
            at(2024, 3, 1, 8),
        ),
        (
            "Edsger",
            Some("edsger@example.com"),
            80,
            Some(1),
            false,
            at(2022, 6, 15, 12),
        ),
    ];
    DB::table("users").insert_many(users.iter().map(
        |&(name, email, votes, team, active, created)| {
            row! {
                "name" => name, "email" => email, "votes" => votes,
                "team_id" => team, "active" => active, "created_at" => created,
            }
        },
    ))?;
    DB::table("posts").insert_many([
        row! {"user_id" => 1, "title" => "Notes", "published" => true, "votes" => 10},
        row! {"user_id" => 1, "title" => "Engine", "published" => false, "votes" => 3},
        row! {"user_id" => 2, "title" => "COBOL", "published" => true, "votes" => 7},
        row! {"user_id" => 4, "title" => "Liskov", "published" => true, "votes" => 5},
        row! {"user_id" => 4, "title" => "Draft", "published" => false, "votes" => 0},
    ])?;
    Ok(())
}

fn names(rows: &[Record]) -> Vec<String> {
    rows.iter()
        .map(|r| r.get::<String, _>("name").unwrap())
        .collect()
}

on_every_backend! {
    fn nulls_first_and_last_place_nulls_the_same_way_on_every_backend() {
        seed()?;
        let by_team = |desc: bool, first: bool| -> Result<Vec<String>> {
            let q = DB::table("users");
            let q = if desc { q.order_by_desc("team_id") } else { q.order_by("team_id") };
            let q = if first { q.nulls_first() } else { q.nulls_last() };
            Ok(names(&q.order_by("name").get()?))
        };
        assert_eq!(by_team(false, true)?, ["alan", "Ada", "Edsger", "Grace", "Barbara", "Linus"]);
        assert_eq!(by_team(false, false)?, ["Ada", "Edsger", "Grace", "Barbara", "Linus", "alan"]);
        assert_eq!(by_team(true, true)?, ["alan", "Barbara", "Linus", "Ada", "Edsger", "Grace"]);
        assert_eq!(by_team(true, false)?, ["Barbara", "Linus", "Ada", "Edsger", "Grace", "alan"]);
        // The last call wins; a page keeps the placement.
        let page = DB::table("users").order_by("team_id").nulls_last().nulls_first().order_by("name").paginate(2, 1)?;
        assert_eq!(names(&page.data), ["alan", "Ada"]);
        // Only a column order can place its NULLs.
        for q in [DB::table("users").nulls_first(), DB::table("users").order_by_raw("name", &[]).nulls_last()] {
            let err = q.get().unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{err:?}");
        }
        // Keyset paging cannot follow such an order.
        let err = DB::table("users").order_by("team_id").nulls_first().cursor_paginate(2, None).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
        Ok(())
    }

    fn intersect_and_except_combine_queries_on_every_backend() {
        seed()?;
        let popular = || DB::table("users").select("name").where_("votes", ">", 50);
        let red = || DB::table("users").select("name").where_eq("team_id", 1);
        let both: Vec<String> = popular().intersect(red()).order_by("name").pluck("name")?;
        assert_eq!(both, ["Ada", "Edsger", "Grace"]);
        let only_popular: Vec<String> = popular().except(red()).order_by("name").pluck("name")?;
        assert_eq!(only_popular, ["Barbara"]);
        assert_eq!(popular().intersect(red()).count()?, 3);
        let page = popular().intersect(red()).order_by("name").paginate(2, 2)?;
        assert_eq!((names(&page.data), page.total), (vec!["Grace".to_owned()], 3));
        // In the order written: an intersect first, then a union.
        let alan = DB::table("users").select("name").where_eq("name", "alan");
        let names_: Vec<String> = popular().intersect(red()).union(alan).order_by("name").pluck("name")?;
        assert_eq!(names_, ["Ada", "Edsger", "Grace", "alan"]);
        // A union then an intersect means different rows on different databases.
        let alan = DB::table("users").select("name").where_eq("name", "alan");
        let err = popular().union(alan).intersect(red()).get().unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{err:?}");
        Ok(())
    }

    fn a_compound_or_limited_query_in_a_union_is_combined_whole() {
        // Sequel's dataset_test: compound UNION, EXCEPT and INTERSECT nested in the
        // argument combine as a whole, never spliced into the outer chain.
        for (table, numbers) in [("i1", [10, 20]), ("i2", [10, 30]), ("i3", [10, 40])] {
            DB::statement(&format!("CREATE TABLE {table} (number INTEGER)"))?;
            for n in numbers {
                DB::table(table).insert(row! {"number" => n})?;
            }
        }
        let s = |t: &'static str| DB::table(t).select("number");
        let sorted = |q: Query| -> Result<Vec<i64>> { q.order_by("number").pluck("number") };
        assert_eq!(sorted(s("i1").except(s("i2").union(s("i3"))))?, [20]);
        assert_eq!(sorted(s("i1").union(s("i2").except(s("i3"))))?, [10, 20, 30]);
        assert_eq!(sorted(s("i1").except(s("i2").except(s("i3"))))?, [10, 20]);
        assert_eq!(sorted(s("i1").intersect(s("i2").union(s("i3"))))?, [10]);
        assert_eq!(sorted(s("i1").union(s("i2").intersect(s("i3"))))?, [10, 20]);
        assert_eq!(sorted(s("i1").except(s("i2").intersect(s("i3"))))?, [20]);
        // A part's own order and limit apply to that part (Laravel's parenthesised
        // parts): the highest of i2 joins i1.
        assert_eq!(sorted(s("i1").union(s("i2").order_by_desc("number").limit(1)))?, [10, 20, 30]);
        assert_eq!(s("i1").union_all(s("i3").where_("number", ">", 15).limit(5)).count()?, 3);
        let top = s("i1").union(s("i2").order_by_desc("number").limit(1)).order_by_desc("number").limit(2);
        assert_eq!(top.pluck::<i64>("number")?, [30, 20]);
        // A limit on the first query applies to the whole union: with a limited part too,
        // the two read as per-part limits (Yii, SQLAlchemy), so the query is refused.
        let both = s("i1").order_by("number").limit(1).union(s("i2").order_by("number").limit(1)).get().unwrap_err();
        assert!(matches!(both, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{both:?}");
        // An order given before union() orders the whole result, until one given after it
        // replaces it (Sequel's union specs: the first part's own order is no order of
        // the union's).
        assert_eq!(s("i1").order_by_desc("number").union(s("i2")).pluck::<i64>("number")?, [30, 20, 10]);
        assert_eq!(s("i1").order_by_desc("number").union(s("i2")).order_by("number").pluck::<i64>("number")?, [10, 20, 30]);
        let raw = s("i1").order_by("number").union(s("i3")).order_by_raw("number DESC", &[]).order_by("number");
        assert_eq!(raw.pluck::<i64>("number")?, [40, 20, 10]);
        // An order that is an expression, not an output column (which SQLite and
        // PostgreSQL refuse after a UNION), orders the union read as a derived table.
        let by_expression = s("i1").union(s("i3")).order_by_raw("number * ? DESC", &[&-1]).limit(2);
        assert_eq!(by_expression.pluck::<i64>("number")?, [10, 20]);
        let rows = s("i1").union(s("i3")).order_by_raw("number * ? DESC", &[&-1]).offset(1).get()?;
        assert_eq!(rows.iter().map(|r| r.get::<i64, _>("number")).collect::<Result<Vec<_>>>()?, [20, 40]);
        assert_eq!(s("i1").union(s("i3")).in_random_order().get()?.len(), 3);
        Ok(())
    }

    fn pluck_and_value_read_every_part_of_a_union() {
        // knex's unions.spec: pluck of a union whose parts select every column.
        seed()?;
        let team = |id: i64| DB::table("users").where_eq("team_id", id);
        let mut ids: Vec<i64> = team(1).union(team(2)).pluck("id")?;
        ids.sort_unstable();
        let mut expected: Vec<i64> = DB::table("users").where_in("team_id", [1, 2]).pluck("id")?;
        expected.sort_unstable();
        assert_eq!(ids, expected);
        // The union's order, limit and offset apply to the whole.
        let names_: Vec<String> = team(1).union(team(2)).order_by_desc("name").limit(2).offset(1).pluck("name")?;
        let all: Vec<String> = DB::table("users").where_in("team_id", [1, 2]).order_by_desc("name").pluck("name")?;
        assert_eq!(names_, all[1..3]);
        assert_eq!(team(1).union(team(2)).order_by("name").value::<String>("name")?, all.last().cloned());
        let keyed: Vec<(i64, String)> = team(1).union_all(team(2)).order_by("id").pluck_keyed("name", "id")?;
        assert_eq!(keyed.len(), expected.len());
        assert_eq!(keyed.iter().map(|(id, _)| *id).collect::<Vec<_>>(), expected);
        let voted = || DB::table("users").where_("votes", ">", 50);
        let mut both: Vec<i64> = team(1).intersect(voted()).pluck("id")?;
        both.sort_unstable();
        let mut direct: Vec<i64> = team(1).where_("votes", ">", 50).pluck("id")?;
        direct.sort_unstable();
        assert_eq!(both, direct);
        assert_eq!(team(1).except(voted()).pluck::<i64>("id")?.len(), team(1).count()? as usize - direct.len());
        Ok(())
    }

    fn common_table_expressions_read_as_tables_on_every_backend() {
        seed()?;
        // knex's `with`, peewee's CTE tests: a named query, its bindings before the outer
        // query's.
        let popular = || DB::table("users").select(&["id", "name", "team_id"]).where_("votes", ">=", 80);
        let names_: Vec<String> = DB::table("popular")
            .with_expression("popular", popular())
            .where_eq("team_id", 1)
            .order_by("name")
            .pluck("name")?;
        assert_eq!(names_, ["Ada", "Edsger", "Grace"]);
        // Joined, counted, paginated, read by a subquery, and a later one reading an earlier.
        let rows = DB::table("posts")
            .with_expression("popular", popular())
            .join("popular", "popular.id", "=", "posts.user_id")
            .select(&["posts.title", "popular.name"])
            .order_by("posts.id")
            .get()?;
        let expected = DB::table("posts")
            .join("users", "users.id", "=", "posts.user_id")
            .where_("users.votes", ">=", 80)
            .count()?;
        assert_eq!(rows.len() as u64, expected);
        assert_eq!(DB::table("popular").with_expression("popular", popular()).count()?, 4);
        let page = DB::table("popular").with_expression("popular", popular()).order_by("name").paginate(3, 2)?;
        assert_eq!((page.total, page.data.len()), (4, 1));
        let red = DB::table("popular")
            .with_expression("popular", popular())
            .with_expression("red", DB::table("popular").where_eq("team_id", 1).select("id"))
            .where_in_sub("id", DB::table("red").select("id"))
            .count()?;
        assert_eq!(red, 3);
        assert!(DB::table("popular").with_expression("popular", popular()).where_eq("name", "Ada").exists()?);
        // A series of numbers and a chain of managers, recursively.
        let series = DB::table("series").with_recursive_expression(
            "series",
            DB::table("users").select_raw("1 AS n", &[]).where_eq("name", "Ada").union_all(
                DB::table("series").select_raw("n + 1", &[]).where_("n", "<", 10),
            ),
        );
        assert_eq!(series.clone().sum_exact::<i64>("n")?, Some(55));
        assert_eq!(series.order_by_desc("n").limit(3).pluck::<i64>("n")?, [10, 9, 8]);
        DB::statement("CREATE TABLE staff (id INTEGER PRIMARY KEY, name TEXT, boss_id INTEGER)")?;
        for (id, name, boss) in [(1, "ceo", None), (2, "cto", Some(1)), (3, "dev", Some(2)), (4, "ops", Some(1)), (5, "intern", Some(3))] {
            DB::table("staff").insert(row! {"id" => id, "name" => name, "boss_id" => boss})?;
        }
        let chain = DB::table("chain")
            .with_recursive_expression(
                "chain",
                DB::table("staff").select(&["id", "name", "boss_id"]).where_eq("name", "intern").union_all(
                    DB::table("staff")
                        .select(&["staff.id", "staff.name", "staff.boss_id"])
                        .join("chain", "chain.boss_id", "=", "staff.id"),
                ),
            )
            .pluck::<String>("name")?;
        assert_eq!(chain, ["intern", "dev", "cto", "ceo"]);
        // Writes through one: the rows of the table the expression names.
        let quiet = DB::table("users")
            .with_expression("quiet", DB::table("users").select("id").where_("votes", "<", 20))
            .where_in_sub("id", DB::table("quiet").select("id"))
            .update([("votes", Value::Int(20))])?;
        assert_eq!(quiet, 2);
        assert_eq!(DB::table("users").where_("votes", "<", 20).count()?, 0);
        let gone = DB::table("staff")
            .with_expression("leaves", DB::table("staff").select("id").where_not_in_sub("id", DB::table("staff").select("boss_id").where_not_null("boss_id")))
            .where_in_sub("id", DB::table("leaves").select("id"))
            .order_by("id")
            .limit(1)
            .delete()?;
        assert_eq!(gone, 1);
        assert_eq!(DB::table("staff").order_by("id").pluck::<String>("name")?, ["ceo", "cto", "dev", "intern"]);
        // A part of a union with its own expression is a derived table.
        let both: Vec<String> = DB::table("users").select("name").where_eq("name", "Ada")
            .union(DB::table("popular").with_expression("popular", popular()).select("name").where_eq("name", "Grace"))
            .order_by("name")
            .pluck("name")?;
        assert_eq!(both, ["Ada", "Grace"]);
        Ok(())
    }

    fn having_names_a_raw_select_alias_on_every_backend() {
        seed()?;
        // peewee's suite: PostgreSQL refuses an output alias in HAVING; the condition
        // repeats the expression instead.
        let prolific: Vec<i64> = DB::table("posts")
            .select("user_id")
            .select_raw("COUNT(*) AS posts_n", &[])
            .group_by("user_id")
            .having("posts_n", ">=", 2)
            .or_having("posts_n", "=", 7)
            .order_by_desc("posts_n")
            .order_by("user_id")
            .pluck("user_id")?;
        assert_eq!(prolific, [1, 4]);
        Ok(())
    }

    fn max_and_min_of_booleans_read_booleans_on_every_backend() {
        // CakePHP's BoolTypeTest: PostgreSQL has no MAX(boolean) (bool_or is its MAX).
        DB::statement(per_backend(
            "CREATE TABLE flags (id INTEGER PRIMARY KEY, on_ BOOLEAN)",
            "CREATE TABLE flags (id BIGINT PRIMARY KEY, on_ BOOLEAN)",
        ))?;
        DB::table("flags").insert(row! {"id" => 1, "on_" => false})?;
        DB::table("flags").insert(row! {"id" => 2, "on_" => None::<bool>})?;
        assert_eq!(DB::table("flags").max::<bool>("on_")?, Some(false));
        DB::table("flags").insert(row! {"id" => 3, "on_" => true})?;
        assert_eq!(DB::table("flags").max::<bool>("on_")?, Some(true));
        assert_eq!(DB::table("flags").min::<bool>("on_")?, Some(false));
        assert_eq!(DB::table("flags").where_eq("id", 3).min::<bool>("on_")?, Some(true));
        assert_eq!(DB::table("flags").where_eq("id", 9).max::<bool>("on_")?, None);
        assert_eq!(DB::table("flags").max::<i64>("id")?, Some(3));
        Ok(())
    }

    fn having_repeats_any_select_alias_on_every_backend() {
        seed()?;
        // Sequel's group/having specs on PostgreSQL, which refuses an output alias in
        // HAVING: a raw select with bindings, a between, and a subselect.
        let weighted: Vec<i64> = DB::table("posts")
            .select("user_id")
            .select_raw("COUNT(*) * ? AS weight", &[&2])
            .group_by("user_id")
            .having("weight", ">=", 4)
            .order_by("user_id")
            .pluck("user_id")?;
        assert_eq!(weighted, [1, 4]);
        let between: Vec<i64> = DB::table("posts")
            .select("user_id")
            .select_raw("COUNT(*) AS posts_n", &[])
            .group_by("user_id")
            .having_between("posts_n", 2, 100)
            .order_by("user_id")
            .pluck("user_id")?;
        assert_eq!(between, [1, 4]);
        let posts_of_user = DB::table("posts").select_raw("COUNT(*)", &[]).where_column("posts.user_id", "=", "users.id");
        let subselected: Vec<i64> = DB::table("users")
            .select("id")
            .select_sub(posts_of_user, "posts_n")
            .group_by("id")
            .having("posts_n", ">=", 2)
            .order_by("id")
            .pluck("id")?;
        assert_eq!(subselected, [1, 4]);
        Ok(())
    }

    fn a_long_where_in_list_of_integers_passes_the_bind_limit() {
        seed()?;
        // peewee-suite probe: 70 000 keys, past SQLite's 32 766 and MySQL's 65 535 binds.
        let keys: Vec<i64> = (0..70_000).collect();
        assert_eq!(DB::table("users").where_in("id", keys.clone()).count()?, 6);
        assert_eq!(DB::table("users").where_not_in("id", keys[3..].to_vec()).pluck::<i64>("id")?, [1, 2]);
        // Twice, with other values: the text holds the list, so it is not reused.
        let odd: Vec<i64> = (0..70_000).filter(|k| k % 2 == 1).collect();
        assert_eq!(DB::table("users").where_in("id", odd).order_by("id").pluck::<i64>("id")?, [1, 3, 5]);
        Ok(())
    }

    fn pluck_reads_the_qualified_column_of_a_join_not_another_of_its_name() {
        seed()?;
        let joined = || DB::table("users").join("posts", "posts.user_id", "=", "users.id").order_by("posts.id");
        // Both tables have `id`: the plucked one is the one named.
        let post_ids: Vec<i64> = joined().select(&["users.id", "posts.id"]).pluck("posts.id")?;
        assert_eq!(post_ids, [1, 2, 3, 4, 5]);
        let user_ids: Vec<i64> = joined().select(&["users.id", "posts.id"]).pluck("users.id")?;
        assert_eq!(user_ids, [1, 1, 2, 4, 4]);
        let keyed: Vec<(i64, i64)> = joined().select(&["users.id", "posts.id"]).pluck_keyed("users.id", "posts.id")?;
        assert_eq!(keyed[2], (3, 2));
        let aliased: Vec<i64> = joined().select(&["users.id", "posts.id as post_id"]).pluck("post_id")?;
        assert_eq!(aliased, [1, 2, 3, 4, 5]);
        // Behind a `*` the position is unknown: a name two columns share is an error.
        let err = joined().select(&["users.*", "posts.*"]).pluck::<i64>("posts.id").unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
        assert!(err.to_string().contains("two columns named `id`"), "{err}");
        let titles: Vec<String> = joined().select(&["users.*", "posts.title"]).pluck("posts.title")?;
        assert_eq!(titles.len(), 5);
        Ok(())
    }

    fn a_join_without_a_condition_is_an_error_on_every_backend() {
        seed()?;
        let err = DB::table("users").join_with("posts", |j| j).get().unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
        assert!(err.to_string().contains("cross_join"), "{err}");
        assert!(DB::table("users").left_join_with("posts", |j| j).count().is_err());
        assert_eq!(DB::table("users").cross_join("teams").count()?, 18);
        Ok(())
    }

    fn a_query_run_again_with_other_values_reads_its_own_rows() {
        seed()?;
        // The second run of a shape reuses the first one's SQL: only the values change.
        for (name, count) in [("Ada", 1), ("Grace", 1), ("Nobody", 0), ("Ada", 1)] {
            assert_eq!(DB::table("users").where_eq("name", name).get()?.len(), count, "{name}");
        }
        let by_email = |email: Option<&str>| -> Result<Vec<String>> {
            Ok(names(&DB::table("users").where_eq("email", email).order_by("id").get()?))
        };
        assert_eq!(by_email(Some("ada@example.com"))?, ["Ada"]);
        let without = by_email(None)?;
        assert!(without.contains(&"Linus".to_owned()), "{without:?}");
        assert_eq!(by_email(Some("grace@example.com"))?, ["Grace"]);
        for ids in [vec![1, 2], vec![1, 2, 3], vec![], vec![4]] {
            let rows = DB::table("users").where_in("id", ids.clone()).get()?;
            assert_eq!(rows.len(), ids.len(), "{ids:?}");
        }
        for limit in [1, 3, 2] {
            let rows = DB::table("users").order_by("id").limit(limit).get()?;
            assert_eq!(rows.len() as u64, limit);
        }
        for (floor, expected) in [(100, vec!["Ada", "Barbara"]), (200, vec!["Barbara"])] {
            let rows = DB::table("users").where_raw("votes > ?", &[&floor]).order_by("name").get()?;
            assert_eq!(names(&rows), expected);
        }
        Ok(())
    }

    fn counting_a_distinct_query_that_selects_a_name_twice() {
        seed()?;
        // MySQL refuses a derived table with two columns of one name: the count aliases
        // the second rather than failing.
        let distinct_names = DB::table("users").select("name").distinct().count()?;
        assert_eq!(DB::table("users").select(&["name", "name"]).distinct().count()?, distinct_names);
        let joined = DB::table("users")
            .join("teams", "users.team_id", "=", "teams.id")
            .select(&["users.id", "teams.id"])
            .distinct()
            .count()?;
        assert_eq!(joined, DB::table("users").where_not_null("team_id").count()?);
        Ok(())
    }

    fn reads_and_aggregates() {
        seed()?;
        let rows = DB::table("users").where_("votes", ">", 100).order_by("name").get()?;
        assert_eq!(names(&rows), ["Ada", "Barbara"]);
        let ada = DB::table("users").where_eq("name", "Ada").first()?.expect("Ada");
        assert_eq!(ada.get::<i64, _>("votes")?, 120);
        assert!(ada.get::<bool, _>("active")?);
        assert_eq!(ada.get::<NaiveDateTime, _>("created_at")?, at(2024, 1, 5, 10));
        assert!(DB::table("users").where_eq("name", "Nobody").first()?.is_none());
        assert_eq!(DB::table("users").find(2)?.unwrap().get::<String, _>("name")?, "Grace");
        assert!(DB::table("users").find(99)?.is_none());
        assert_eq!(
            DB::table("users").primary_key("email").find("alan@example.com")?.unwrap().get::<String, _>("name")?,
            "alan"
        );
        assert!(matches!(
            DB::table("users").find_or_fail(99),
            Err(Error::NotFound { ref model, ref key }) if model == "users" && key == "id = 99"
        ));
        assert!(matches!(
            DB::table("users").where_eq("votes", -1).first_or_fail(),
            Err(Error::NotFound { ref model, .. }) if model == "users"
        ));
        assert_eq!(DB::table("users").where_eq("id", 3).value::<String>("name")?.as_deref(), Some("Linus"));
        assert_eq!(DB::table("users").where_eq("id", 3).value::<Option<String>>("email")?, Some(None));
        assert_eq!(
            DB::table("users").where_("votes", ">=", 80).order_by("id").pluck::<String>("name")?,
            ["Ada", "Grace", "Barbara", "Edsger"]
        );
        let keyed: std::collections::HashMap<i64, String> =
            DB::table("users").where_("votes", ">", 100).pluck_keyed::<i64, String>("name", "id")?.into_iter().collect();
        assert_eq!(keyed[&1], "Ada");
        assert_eq!(keyed.len(), 2);
        assert!(DB::table("users").where_eq("name", "Ada").exists()?);
        assert!(DB::table("users").where_eq("name", "Nobody").doesnt_exist()?);
        assert_eq!(DB::table("users").count()?, 6);
        assert_eq!(DB::table("users").where_eq("active", true).count()?, 4);
        assert_eq!(DB::table("users").sum("votes")?, 595.0);
        assert_eq!(DB::table("users").where_eq("id", -1).sum("votes")?, 0.0);
        assert_eq!(DB::table("posts").avg("votes")?, Some(5.0));
        assert_eq!(DB::table("posts").where_eq("id", -1).avg("votes")?, None);
        assert_eq!(DB::table("users").min::<i64>("votes")?, Some(0));
        assert_eq!(DB::table("users").max::<i64>("votes")?, Some(300));
        assert_eq!(DB::table("users").max::<String>("name")?.as_deref(), Some("alan"));
        // Counting grouped and limited queries counts their rows; a distinct column, its
        // values (below).
        assert_eq!(DB::table("users").select(&["team_id", "active"]).distinct().count()?, DB::table("users").select(&["team_id", "active"]).distinct().get()?.len() as u64);
        assert_eq!(DB::table("users").group_by("team_id").select("team_id").count()?, 3);
        // Without a select of its own: the groups are counted (no `SELECT *` beside
        // GROUP BY, which PostgreSQL and MySQL's ONLY_FULL_GROUP_BY refuse).
        assert_eq!(DB::table("users").group_by("team_id").count()?, 3);
        // Another column's aggregate over grouped rows (Rails' group(:firm_id).sum(..)): a
        // group has no single value of it, so without HAVING it is the matched rows'.
        let all_votes = DB::table("users").sum("votes")?;
        assert_eq!(DB::table("users").group_by("team_id").sum("votes")?, all_votes);
        assert_eq!(DB::table("users").group_by("team_id").max::<i64>("votes")?, DB::table("users").max::<i64>("votes")?);
        assert_eq!(DB::table("users").where_("votes", "<", 100).group_by("team_id").avg("votes")?, DB::table("users").where_("votes", "<", 100).avg("votes")?);
        assert_eq!(DB::table("users").group_by("team_id").count_column("team_id")?, DB::table("users").count_column("team_id")?);
        // A column the query selects per group is aggregated over the groups.
        let per_team = DB::table("users").select_raw("team_id, SUM(votes) AS total", &[]).group_by("team_id");
        assert_eq!(per_team.clone().sum("total")?, all_votes);
        assert_eq!(per_team.max::<i64>("total")?, Some(DB::table("users").select_raw("team_id, SUM(votes) AS total", &[]).group_by("team_id").get()?.iter().map(|r| r.get::<i64, _>("total").unwrap()).max().unwrap()));
        // With HAVING, which rows count is for the caller to say: a typed error.
        let err = DB::table("users").group_by("team_id").having_raw("COUNT(*) > 1", &[]).sum("votes").unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{err:?}");
        // Orator's and Laravel's COUNT(DISTINCT col): NULL is no value.
        let teams: Vec<Option<i64>> = DB::table("users").pluck("team_id")?;
        let mut distinct: Vec<i64> = teams.iter().flatten().copied().collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(teams.iter().any(Option::is_none), "the seed has a user without a team");
        assert_eq!(DB::table("users").select("team_id").distinct().count()?, distinct.len() as u64);
        // A paginator's total counts the rows its pages hold, the NULL row among them.
        let rows = DB::table("users").select("team_id").distinct().get()?.len() as u64;
        assert_eq!(rows, distinct.len() as u64 + 1);
        let page = DB::table("users").select("team_id").distinct().paginate(100, 1)?;
        assert_eq!((page.total, page.data.len() as u64), (rows, rows));
        let page = DB::table("users").select("team_id").distinct().paginate(1, 1)?;
        assert_eq!((page.total, page.last_page), (rows, rows));
        assert!(matches!(
            DB::table("users").select("team_id").distinct().sole(),
            Err(Error::MultipleRows { found }) if found == rows
        ));
        assert_eq!(DB::table("users").limit(2).count()?, 2);
        assert_eq!(DB::table("users").order_by("votes").limit(3).sum("votes")?, 95.0);
        // Typed rows: tuples decode positionally.
        let pairs: Vec<(i64, String)> = Query::<(i64, String)>::table("users")
            .select(&["id", "name"]).where_in("id", [1, 2]).order_by("id").get()?;
        assert_eq!(pairs, [(1, "Ada".to_owned()), (2, "Grace".to_owned())]);
        Ok(())
    }

    fn where_clauses() {
        seed()?;
        let get = |q: Query| -> Result<Vec<String>> { q.order_by("id").pluck::<String>("name") };
        assert_eq!(get(DB::table("users").where_eq("team_id", 1).or_where_eq("team_id", 2).where_("votes", "<", 100))?,
            ["Ada", "Grace", "Linus", "Edsger"]); // AND binds tighter: t=1 OR (t=2 AND v<100)
        assert_eq!(get(DB::table("users").where_group(|q| q.where_eq("team_id", 1).or_where_eq("team_id", 2)).where_("votes", "<", 100))?,
            ["Grace", "Linus", "Edsger"]);
        assert_eq!(get(DB::table("users").where_eq("active", false).or_where_group(|q| q.where_null("team_id")))?,
            ["Linus", "alan", "Edsger"]);
        assert_eq!(get(DB::table("users").where_in("id", [1, 3, 5]))?, ["Ada", "Linus", "alan"]);
        assert_eq!(get(DB::table("users").where_not_in("id", [1, 3, 5]))?, ["Grace", "Barbara", "Edsger"]);
        assert!(get(DB::table("users").where_in("id", Vec::<i64>::new()))?.is_empty());
        assert_eq!(get(DB::table("users").where_not_in("id", Vec::<i64>::new()))?.len(), 6);
        // A NULL in the list is no value to leave out (SQL's NOT IN (.., NULL) is never true).
        assert_eq!(get(DB::table("users").where_not_in("id", [Some(1), None, Some(3), Some(5)]))?, ["Grace", "Barbara", "Edsger"]);
        assert_eq!(get(DB::table("users").where_not_in("id", [None::<i64>]))?.len(), 6);
        assert_eq!(get(DB::table("users").where_in("id", [Some(1), None]))?, ["Ada"]);
        assert_eq!(get(DB::table("users").where_eq("id", 1).or_where_in("id", [2]))?, ["Ada", "Grace"]);
        assert_eq!(get(DB::table("users").where_null("email"))?, ["Linus"]);
        assert_eq!(get(DB::table("users").where_not_null("team_id").where_null("email"))?, ["Linus"]);
        assert_eq!(get(DB::table("users").where_null("email").or_where_null("team_id"))?, ["Linus", "alan"]);
        assert_eq!(get(DB::table("users").where_between("votes", 80, 120))?, ["Ada", "Grace", "Edsger"]);
        assert_eq!(get(DB::table("users").where_not_between("votes", 1, 299))?, ["Barbara", "alan"]);
        assert_eq!(get(DB::table("users").where_like("email", "%ce@%"))?, ["Grace"]);
        assert_eq!(get(DB::table("users").where_not_like("name", "%a%"))?, ["Linus", "Edsger"]);
        // ilike is case-insensitive on both backends.
        assert_eq!(get(DB::table("users").where_("name", "ilike", "a%"))?, ["Ada", "alan"]);
        assert_eq!(get(DB::table("users").where_("name", "NOT ILIKE", "%A%"))?, ["Linus", "Edsger"]);
        assert_eq!(get(DB::table("users").where_column("id", "=", "team_id"))?, ["Ada"]);
        assert_eq!(get(DB::table("users").where_("email", "=", None::<String>))?, ["Linus"]);
        let published = DB::table("posts").select("user_id").where_eq("published", true);
        assert_eq!(get(DB::table("users").where_in_sub("id", published.clone()))?, ["Ada", "Grace", "Barbara"]);
        assert_eq!(get(DB::table("users").where_not_in_sub("id", published))?, ["Linus", "alan", "Edsger"]);
        // A limited subquery (MySQL refuses `LIMIT` directly inside `IN (...)`).
        let first_published = || DB::table("posts").select("user_id").where_eq("published", true).order_by("id").limit(1);
        assert_eq!(get(DB::table("users").where_in_sub("id", first_published()))?, ["Ada"]);
        assert_eq!(get(DB::table("users").where_not_in_sub("id", first_published().offset(1)))?, ["Ada", "Linus", "Barbara", "alan", "Edsger"]);
        // A subquery of two columns is refused before it is sent (Sequel's specs).
        let two = DB::table("users").where_in_sub("id", DB::table("posts").select(&["user_id", "id"])).get().unwrap_err();
        assert!(matches!(two, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{two:?}");
        let has_posts = DB::table("posts").where_column("posts.user_id", "=", "users.id");
        assert_eq!(get(DB::table("users").where_exists(has_posts.clone()))?, ["Ada", "Grace", "Barbara"]);
        assert_eq!(get(DB::table("users").where_not_exists(has_posts.clone()))?, ["Linus", "alan", "Edsger"]);
        assert_eq!(get(DB::table("users").where_null("email").or_where_exists(has_posts.where_eq("posts.votes", 7)))?, ["Grace", "Linus"]);
        assert_eq!(get(DB::table("users").where_date("created_at", "=", NaiveDate::from_ymd_opt(2024, 1, 5).unwrap()))?, ["Ada"]);
        assert_eq!(get(DB::table("users").where_date("created_at", ">=", "2024-02-01"))?, ["Grace", "alan"]);
        assert_eq!(get(DB::table("users").where_year("created_at", "=", 2024))?, ["Ada", "Grace", "Barbara", "alan"]);
        assert_eq!(get(DB::table("users").where_year("created_at", "<", 2024).where_month("created_at", ">", 6))?, ["Linus"]);
        assert_eq!(get(DB::table("users").where_month("created_at", "=", 1))?, ["Ada", "Barbara"]);
        assert_eq!(get(DB::table("users").where_day("created_at", "=", 5))?, ["Ada", "Grace"]);
        assert_eq!(get(DB::table("users").where_raw("votes > ? AND votes < ?", &[&50, &100]))?, ["Grace", "Edsger"]);
        assert_eq!(get(DB::table("users").where_eq("id", 1).or_where_raw("votes = ?", &[&0]))?, ["Ada", "alan"]);
        assert_eq!(get(DB::table("users").when(true, |q| q.where_eq("id", 2)).when(false, |q| q.where_eq("id", 3)))?, ["Grace"]);
        assert_eq!(get(DB::table("users").unless(false, |q| q.where_eq("id", 2)).unless(true, |q| q.where_eq("id", 3)))?, ["Grace"]);
        let by_id = |first: bool| DB::table("users").where_in("id", [1, 2]).when_else(first, |q| q.where_eq("id", 1), |q| q.where_eq("id", 2));
        assert_eq!((get(by_id(true))?, get(by_id(false))?), (vec!["Ada".to_owned()], vec!["Grace".to_owned()]));
        // A default scope ANDs with the query's own ORs.
        let scoped = DB::table("users").scope("active", |q| q.where_eq("active", true));
        assert_eq!(get(scoped.clone().where_eq("team_id", 2).or_where_eq("team_id", 1))?, ["Ada", "Grace", "Barbara"]);
        assert_eq!(get(scoped.without_scope("active").where_eq("team_id", 2))?, ["Linus", "Barbara"]);
        // Negated groups (Eloquent's whereNot / orWhereNot).
        let all = get(DB::table("users"))?;
        let many = get(DB::table("users").where_("votes", ">", 100).or_where_eq("id", 1))?;
        let rest: Vec<String> = all.iter().filter(|n| !many.contains(n)).cloned().collect();
        assert_eq!(get(DB::table("users").where_not(|q| q.where_("votes", ">", 100).or_where_eq("id", 1)))?, rest);
        let rest_or_ada = get(DB::table("users").where_eq("id", 0).or_where_not(|q| q.where_("votes", "<=", 100)))?;
        assert_eq!(rest_or_ada, get(DB::table("users").where_("votes", ">", 100))?);
        assert_eq!(DB::table("users").where_not(|q| q).count()?, all.len() as u64, "an empty group is no condition");
        // A scope holds conditions only: a join (or order, limit, ...) in one is refused,
        // not dropped (Laravel's EloquentTouchParentWithGlobalScopeTest joins in one).
        let joined = DB::table("users").scope("teamed", |q| q.join("teams", "teams.id", "=", "users.team_id"));
        let refused = joined.count();
        assert!(
            matches!(&refused, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, message, .. }) if message.contains("a join")),
            "{refused:?}"
        );
        let ordered = DB::table("users").scope("newest", |q| q.order_by_desc("id").limit(1)).get();
        assert!(matches!(ordered, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{ordered:?}");
        Ok(())
    }

    fn select_sub_adds_a_subquery_value_to_each_row() {
        seed()?;
        // Orator's select_sub / Laravel's addSelect(['published' => ...]), with bindings
        // inside the subquery and around it, in the order they appear.
        let published = DB::table("posts")
            .select_raw("COUNT(*)", &[])
            .where_column("posts.user_id", "=", "users.id")
            .where_eq("published", true);
        let rows = DB::table("users")
            .select(&["name"])
            .select_sub(published, "published_posts")
            .where_("votes", ">=", 0)
            .order_by("id")
            .get()?;
        let expected: Vec<i64> = DB::table("users")
            .order_by("id")
            .pluck::<i64>("id")?
            .into_iter()
            .map(|id| DB::table("posts").where_eq("user_id", id).where_eq("published", true).count().map(|n| n as i64))
            .collect::<Result<_>>()?;
        let got: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>("published_posts")).collect::<Result<_>>()?;
        assert_eq!(got, expected);
        assert!(got.iter().any(|n| *n > 0));
        // Twice: the second run reuses the rendered statement and binds the same values.
        let again = DB::table("users")
            .select(&["name"])
            .select_sub(DB::table("posts").select_raw("COUNT(*)", &[]).where_column("posts.user_id", "=", "users.id").where_eq("published", true), "published_posts")
            .where_("votes", ">=", 0)
            .order_by("id")
            .get()?;
        assert_eq!(again.len(), rows.len());
        assert_eq!(again.iter().map(|r| r.get::<i64, _>("published_posts")).collect::<Result<Vec<_>>>()?, got);
        Ok(())
    }

    fn a_distinct_count_of_a_column_named_with_a_question_mark() {
        // The fuzzer's case: the column's name is no placeholder.
        orm_migrate::Schema::on_default(|s| {
            s.create("qmarks", |t| {
                t.string("x?y", 10).nullable();
            })
        })
        .map_err(Error::other)?;
        for value in [Some("a"), Some("a"), Some("b"), None] {
            DB::table("qmarks").insert(row! {"x?y" => value})?;
        }
        assert_eq!(DB::table("qmarks").select("x?y").distinct().count()?, 2);
        // In raw SQL too: a `?` inside a backtick-quoted name (MySQL's and SQLite's
        // quotes; PostgreSQL has none) is part of the name, not a placeholder.
        if backend() != Backend::Postgres {
            assert_eq!(DB::table("qmarks").where_raw("`x?y` = ?", &[&"a"]).count()?, 2);
            assert_eq!(DB::select("SELECT COUNT(*) AS n FROM qmarks WHERE `x?y` = ?", &[&"b"])?[0].get::<i64, _>("n")?, 1);
        }
        Ok(())
    }

    fn from_sub_and_join_sub_read_a_subquery_as_a_table() {
        seed()?;
        // Laravel's fromSub / joinSub: the subquery's values bound before the outer ones.
        let totals = || {
            DB::table("posts")
                .select("user_id")
                .select_raw("SUM(votes) AS total", &[])
                .where_eq("published", true)
                .group_by("user_id")
        };
        for _ in 0..2 {
            let big: Vec<i64> = DB::table("t")
                .from_sub(totals(), "totals")
                .where_("total", ">", 6)
                .order_by("user_id")
                .pluck("user_id")?;
            assert_eq!(big, [1, 2]);
        }
        assert_eq!(DB::table("t").from_sub(totals(), "totals").where_("total", ">", 6).count()?, 2);
        assert_eq!(DB::table("t").from_sub(totals(), "totals").max::<i64>("total")?, Some(10));
        let rows = DB::table("users")
            .join_sub(totals(), "totals", "totals.user_id", "=", "users.id")
            .where_("users.votes", ">", 100)
            .select(&["users.name", "totals.total"])
            .order_by("users.id")
            .get()?;
        let got: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.get("name")?, r.get("total")?)))
            .collect::<Result<_>>()?;
        assert_eq!(got, [("Ada".to_owned(), 10), ("Barbara".to_owned(), 5)]);
        let left: Vec<Option<i64>> = DB::table("users")
            .left_join_sub(totals(), "totals", "totals.user_id", "=", "users.id")
            .order_by("users.id")
            .pluck("totals.total")?;
        assert_eq!(left, [Some(10), Some(7), None, Some(5), None, None]);
        // Writing through a derived table is refused, and nothing is written.
        let refused = DB::table("t").from_sub(totals(), "totals").update(row! {"total" => 0});
        assert!(
            matches!(refused, Err(Error::InvalidQuery { kind: InvalidQueryKind::Unsupported, .. })),
            "{refused:?}"
        );
        assert!(matches!(
            DB::table("t").from_sub(totals(), "totals").delete(),
            Err(Error::InvalidQuery { kind: InvalidQueryKind::Unsupported, .. })
        ));
        // Nor inserted into or emptied, even when the alias names a real table.
        let unsupported = |r: Result<u64>| {
            matches!(r, Err(Error::InvalidQuery { kind: InvalidQueryKind::Unsupported, .. }))
        };
        let row = || row! {"user_id" => 1, "title" => "x", "published" => true, "votes" => 1};
        assert!(unsupported(DB::table("t").from_sub(totals(), "posts").insert(row())));
        assert!(unsupported(DB::table("t").from_sub(totals(), "posts").insert_get_id(row()).map(|_| 0)));
        assert!(unsupported(DB::table("t").from_sub(totals(), "posts").insert_or_ignore([row()])));
        assert!(unsupported(DB::table("t").from_sub(totals(), "posts").truncate().map(|()| 0)));
        assert_eq!(DB::table("posts").count()?, 5);
        assert_eq!(DB::table("posts").sum("votes")?, 25.0);
        Ok(())
    }

    fn group_by_raw_count_column_insert_using_and_update_raw() {
        seed()?;
        // Laravel's groupByRaw, with a bound value.
        let rows = DB::table("users")
            .select_raw("CASE WHEN votes >= 100 THEN 1 ELSE 0 END AS rich", &[])
            .select_raw("COUNT(*) AS n", &[])
            .group_by_raw("CASE WHEN votes >= 100 THEN 1 ELSE 0 END", &[])
            .order_by("rich")
            .get()?;
        let got: Vec<(i64, i64)> = rows
            .iter()
            .map(|r| Ok((r.get("rich")?, r.get("n")?)))
            .collect::<Result<_>>()?;
        assert_eq!(got, [(0, 4), (1, 2)]);
        let groups = DB::table("users")
            .where_("id", ">", 0)
            .group_by_raw("CASE WHEN votes >= ? THEN 1 ELSE 0 END", &[&100]);
        assert_eq!(groups.count()?, 2);
        // count('column'): the rows whose column is not NULL.
        assert_eq!(DB::table("users").count_column("email")?, 5);
        assert_eq!(DB::table("users").count_column("team_id")?, 5);
        assert_eq!(DB::table("users").where_("votes", ">", 50).count_column("users.email")?, 4);
        assert_eq!(DB::table("users").where_eq("id", -1).count_column("email")?, 0);
        // distinct().count('column'): the column's distinct values, NULL not among them,
        // whatever the query selects (it counted distinct rows).
        assert_eq!(DB::table("users").distinct().count_column("votes")?, 5);
        assert_eq!(DB::table("users").distinct().count_column("team_id")?, 2);
        assert_eq!(DB::table("users").select("name").distinct().count_column("team_id")?, 2);
        // insertUsing: the rows a query selects, in one statement.
        DB::unprepared("CREATE TABLE drafts (id INTEGER PRIMARY KEY, title TEXT NOT NULL, note TEXT)")?;
        let copied = DB::table("drafts").insert_using(
            &["id", "title"],
            DB::table("posts").select(&["id", "title"]).where_eq("published", false).order_by("id"),
        )?;
        assert_eq!(copied, 2);
        let titles: Vec<String> = DB::table("drafts").order_by("id").pluck("title")?;
        assert_eq!(titles, ["Engine", "Draft"]);
        let failed = DB::table("drafts").insert_using(&["id", "title"], DB::table("posts").select(&["id", "title"]));
        assert!(matches!(failed, Err(Error::UniqueViolation { .. })), "{failed:?}");
        assert_eq!(DB::table("drafts").count()?, 2, "the failed insert kept none of its rows");
        // update with raw assignments (`DB::raw` in Laravel's update), values bound.
        let updated = DB::table("users")
            .where_eq("team_id", 1)
            .update_raw("votes = votes * ?, name = UPPER(name)", &[&2])?;
        assert_eq!(updated, 3);
        let rows = DB::table("users").where_eq("team_id", 1).order_by("id").get()?;
        let got: Vec<(String, i64)> = rows
            .iter()
            .map(|r| Ok((r.get("name")?, r.get("votes")?)))
            .collect::<Result<_>>()?;
        assert_eq!(
            got,
            [("ADA".to_owned(), 240), ("GRACE".to_owned(), 160), ("EDSGER".to_owned(), 160)]
        );
        assert_eq!(DB::table("users").where_eq("id", 4).value::<i64>("votes")?, Some(300));
        Ok(())
    }

    fn implode_join_where_and_find_many() {
        seed()?;
        let names: Vec<String> = DB::table("users").order_by("id").pluck("name")?;
        assert_eq!(DB::table("users").order_by("id").implode("name", ", ")?, names.join(", "));
        let ids: Vec<i64> = DB::table("users").order_by("id").pluck("id")?;
        let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join("-");
        assert_eq!(DB::table("users").order_by("id").implode("id", "-")?, joined);
        assert_eq!(DB::table("users").where_eq("id", -1).implode("name", ",")?, "");
        // Orator's join_where: a bound value in the ON clause.
        let with_published: Vec<String> = DB::table("users")
            .join_where("posts", "posts.published", "=", true)
            .where_column("posts.user_id", "=", "users.id")
            .distinct()
            .order_by("users.name")
            .pluck("users.name")?;
        let expected: Vec<String> = DB::table("users")
            .where_exists(DB::table("posts").where_column("posts.user_id", "=", "users.id").where_eq("published", true))
            .order_by("name")
            .pluck("name")?;
        assert_eq!(with_published, expected);
        let left: Vec<String> = DB::table("users")
            .left_join_where("posts", "posts.id", "=", -1)
            .order_by("users.id")
            .pluck("users.name")?;
        assert_eq!(left, names);
        // find_many on a query: its conditions hold too.
        let found = DB::table("users").where_("votes", ">=", 0).find_many([ids[0], ids[1], 999_999])?;
        assert_eq!(found.len(), 2);
        assert!(DB::table("users").find_many(Vec::<i64>::new())?.is_empty());
        Ok(())
    }

    fn where_column_sub_compares_a_column_with_a_subquery() {
        seed()?;
        let votes: Vec<i64> = DB::table("users").order_by("id").pluck("votes")?;
        let names: Vec<String> = DB::table("users").order_by("id").pluck("name")?;
        let average = votes.iter().sum::<i64>() as f64 / votes.len() as f64;
        let above: Vec<&String> = names.iter().zip(&votes).filter(|(_, v)| **v as f64 > average).map(|(n, _)| n).collect();
        assert!(!above.is_empty() && above.len() < names.len());
        let mean = DB::table("users").select_raw("AVG(votes)", &[]);
        let got: Vec<String> = DB::table("users").where_column_sub("votes", ">", mean.clone()).order_by("id").pluck("name")?;
        assert_eq!(got.iter().collect::<Vec<_>>(), above);
        // Correlated: each user's newest post id, compared with the post's own.
        let newest = DB::table("posts as p2").select_raw("MAX(p2.id)", &[]).where_column("p2.user_id", "=", "posts.user_id");
        let firsts: Vec<i64> = DB::table("posts").where_column_sub("id", "=", newest).order_by("id").pluck("id")?;
        let expected: Vec<i64> = DB::table("posts").select_raw("MAX(id) as id", &[]).group_by("user_id").order_by("id").pluck("id")?;
        assert_eq!(firsts, expected);
        let either: Vec<String> = DB::table("users").where_eq("id", 1).or_where_column_sub("votes", ">", mean).order_by("id").pluck("name")?;
        assert_eq!(either.len(), above.len() + usize::from(!above.contains(&&names[0])));
        Ok(())
    }

    fn or_forms_of_every_where() {
        seed()?;
        let get = |q: Query| -> Result<Vec<String>> { q.order_by("id").pluck::<String>("name") };
        assert_eq!(get(DB::table("users").where_eq("id", 1).or_where_not_between("votes", 1, 299))?, ["Ada", "Barbara", "alan"]);
        assert_eq!(get(DB::table("users").where_eq("id", 3).or_where_not_like("name", "%a%"))?, ["Linus", "Edsger"]);
        let published = DB::table("posts").select("user_id").where_eq("published", true);
        assert_eq!(get(DB::table("users").where_eq("id", 5).or_where_in_sub("id", published.clone()))?, ["Ada", "Grace", "Barbara", "alan"]);
        assert_eq!(get(DB::table("users").where_eq("id", 1).or_where_not_in_sub("id", published))?, ["Ada", "Linus", "alan", "Edsger"]);
        let has_posts = DB::table("posts").where_column("posts.user_id", "=", "users.id");
        assert_eq!(get(DB::table("users").where_eq("id", 1).or_where_not_exists(has_posts.clone()))?, ["Ada", "Linus", "alan", "Edsger"]);
        let post_count = has_posts.select_raw("COUNT(*)", &[]);
        assert_eq!(get(DB::table("users").where_eq("id", 5).or_where_sub(post_count, Operator::Ge, 2))?, ["Ada", "Barbara", "alan"]);
        let day = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        assert_eq!(get(DB::table("users").where_eq("id", 3).or_where_date("created_at", "=", day))?, ["Ada", "Linus"]);
        assert_eq!(get(DB::table("users").where_eq("id", 1).or_where_year("created_at", "=", 2022))?, ["Ada", "Edsger"]);
        assert_eq!(get(DB::table("users").where_year("created_at", "<", 2023).or_where_month("created_at", "=", 3))?, ["alan", "Edsger"]);
        assert_eq!(get(DB::table("users").where_eq("id", 2).or_where_day("created_at", "=", 20))?, ["Grace", "Barbara"]);
        assert_eq!(get(DB::table("users").where_("votes", Operator::Ge, 120))?, ["Ada", "Barbara"]);
        let joined = DB::table("users")
            .join_with("posts", |j| j.on("posts.user_id", "=", "users.id").where_not_null("posts.title"))
            .where_eq("posts.votes", 7)
            .select("users.name");
        assert_eq!(joined.pluck::<String>("name")?, ["Grace"]);
        let teams = |q: Query| -> Result<Vec<i64>> { q.select("team_id").group_by("team_id").order_by("team_id").pluck("team_id") };
        assert_eq!(teams(DB::table("users").having("team_id", "=", 2).or_having("team_id", Operator::Eq, 1))?, [1, 2]);
        assert_eq!(teams(DB::table("users").having("team_id", "=", 2).or_having_raw("COUNT(*) > ?", &[&2]))?, [1, 2]);
        Ok(())
    }

    fn selects_joins_groups_unions() {
        seed()?;
        let rows = DB::table("users as u")
            .select(&["u.name as author", "p.title"])
            .join("posts as p", "p.user_id", "=", "u.id")
            .where_eq("p.published", true)
            .order_by("p.votes")
            .get()?;
        let got: Vec<(String, String)> = rows.iter().map(|r| (r.get("author").unwrap(), r.get("title").unwrap())).collect();
        assert_eq!(got, [("Barbara".into(), "Liskov".into()), ("Grace".into(), "COBOL".into()), ("Ada".into(), "Notes".into())]);
        let left = DB::table("users")
            .select(&["users.name"]).add_select("posts.title")
            .left_join_with("posts", |j| j.on("posts.user_id", "=", "users.id").where_("posts.published", "=", true))
            .where_null("posts.id")
            .order_by("users.id")
            .pluck::<String>("users.name")?;
        assert_eq!(left, ["Linus", "alan", "Edsger"]);
        let right = Query::<(Option<String>, String)>::table("users")
            .select(&["users.name", "teams.name as team"])
            .right_join("teams", "teams.id", "=", "users.team_id")
            .where_eq("teams.name", "empty")
            .get()?;
        assert_eq!(right, [(None, "empty".to_owned())]);
        // Both sides' unmatched rows (Kysely's and Drizzle's fullJoin; probes 48b, 48e).
        let full = Query::<(Option<String>, Option<String>)>::table("users")
            .select(&["users.name", "teams.name as team"])
            .full_join("teams", "teams.id", "=", "users.team_id")
            .where_null("users.team_id")
            .or_where_eq("teams.name", "empty")
            .order_by("users.name")
            .get();
        if backend() == Backend::Mysql {
            assert!(matches!(full, Err(Error::InvalidQuery { kind: InvalidQueryKind::Unsupported, .. })), "{full:?}");
        } else {
            let mut full = full?;
            full.sort();
            let users_without: Vec<_> = DB::table("users").where_null("team_id").order_by("name").pluck::<String>("name")?;
            let mut expected: Vec<_> = users_without.into_iter().map(|n| (Some(n), None)).collect();
            expected.push((None, Some("empty".to_owned())));
            expected.sort();
            assert_eq!(full, expected);
        }
        assert_eq!(DB::table("users").cross_join("teams").count()?, 18);
        let grouped = Query::<(i64, i64, i64)>::table("posts")
            .select(&["user_id"])
            .select_raw("COUNT(*) AS n, SUM(votes) * ? AS s", &[&2])
            .group_by("user_id")
            .having_raw("COUNT(*) > ?", &[&1])
            .order_by("user_id")
            .get()?;
        assert_eq!(grouped, [(1, 2, 26), (4, 2, 10)]);
        let teams = DB::table("users").select("team_id").distinct().where_not_null("team_id").order_by("team_id").pluck::<i64>("team_id")?;
        assert_eq!(teams, [1, 2]);
        let union = DB::table("users").select("name").where_eq("id", 1)
            .union(DB::table("teams").select("name"))
            .union_all(DB::table("users").select("name").where_eq("id", 1))
            .order_by_desc("name")
            .pluck::<String>("name")?;
        assert_eq!(union, ["red", "empty", "blue", "Ada", "Ada"]);
        assert_eq!(DB::table("users").order_by_desc("votes").order_by("name").limit(2).offset(1).pluck::<String>("name")?, ["Ada", "Edsger"]);
        assert_eq!(DB::table("users").order_by("id").for_page(2, 4).pluck::<String>("name")?, ["alan", "Edsger"]);
        assert_eq!(DB::table("users").order_by("id").skip(5).pluck::<String>("name")?, ["Edsger"]);
        assert_eq!(DB::table("users").latest().take(1).pluck::<String>("name")?, ["alan"]);
        assert_eq!(DB::table("users").oldest().take(1).pluck::<String>("name")?, ["Edsger"]);
        assert_eq!(DB::table("users").latest_by("votes").take(1).pluck::<String>("name")?, ["Barbara"]);
        assert_eq!(DB::table("users").order_by_raw("votes % ? DESC, id", &[&7]).take(3).pluck::<i64>("id")?, [4, 2, 6]);
        let mut shuffled = DB::table("users").in_random_order().pluck::<i64>("id")?;
        shuffled.sort_unstable();
        assert_eq!(shuffled, [1, 2, 3, 4, 5, 6]);
        DB::transaction(|| {
            let locked = DB::table("users").where_eq("id", 1).lock_for_update().first()?;
            assert!(locked.is_some());
            assert_eq!(DB::table("users").where_eq("id", 1).shared_lock().count()?, 1);
            // Past a LEFT JOIN the query's own rows are locked (PostgreSQL refused to lock
            // the nullable side: 0A000).
            let joined = DB::table("users as u").left_join("teams", "teams.id", "=", "u.team_id")
                .select(&["u.id", "teams.name"]).order_by("u.id").lock_for_update().get()?;
            assert_eq!(joined.len(), 6);
            Ok(())
        })?;
        Ok(())
    }

    fn pluck_and_value_keep_the_query_s_own_select() {
        seed()?;
        // Laravel's pluck/value select the column only when the query selects nothing of
        // its own; otherwise they read it from the row, by its alias or unqualified name.
        let users = || DB::table("users").where_("votes", ">=", 80).order_by("id");
        assert_eq!(users().select("name as n").pluck::<String>("n")?, ["Ada", "Grace", "Barbara", "Edsger"]);
        assert_eq!(users().select("name as n").pluck::<String>("name as n")?, ["Ada", "Grace", "Barbara", "Edsger"]);
        assert_eq!(users().select(&["id", "users.name"]).pluck::<String>("users.name")?[0], "Ada");
        assert_eq!(users().select_raw("votes * 2 AS double_votes", &[]).pluck::<i64>("double_votes")?, [240, 160, 600, 160]);
        assert_eq!(users().select(&["id", "name as n"]).value::<String>("n")?.as_deref(), Some("Ada"));
        assert_eq!(users().select(&["name", "votes"]).value::<i64>("votes")?, Some(120));
        assert_eq!(users().select("name as n").where_eq("id", -1).value::<String>("n")?, None);
        let keyed = users().select(&["id as k", "name as n"]).pluck_keyed::<i64, String>("n", "k")?;
        assert_eq!(keyed[0], (1, "Ada".to_owned()));
        assert_eq!(keyed.len(), 4);
        // Grouped: the aggregate is read by its alias.
        let per_team = DB::table("users").select("team_id").select_raw("COUNT(*) AS n", &[])
            .where_not_null("team_id").group_by("team_id").order_by("team_id").pluck::<i64>("n")?;
        assert_eq!(per_team, [3, 2]);
        // A column the select does not have is an error, not silently another column.
        assert!(matches!(users().select("name").pluck::<String>("email"), Err(Error::ColumnNotFound(ref c)) if c == "email"));
        // Without a select of its own the query selects just the column, as before.
        assert_eq!(users().pluck::<String>("users.name")?[0], "Ada");
        assert_eq!(DB::table("users as u").order_by("u.id").pluck::<String>("u.name")?[0], "Ada");
        assert_eq!(users().value::<String>("name")?.as_deref(), Some("Ada"));
        Ok(())
    }

    fn huge_page_numbers_and_windows_read_empty_or_everything() {
        seed()?;
        // `per_page` and `page` come from requests: no panic and no database error,
        // however large. A limit past i64::MAX means no limit, such an offset no rows.
        let users = || DB::table("users").order_by("id");
        let all = ["Ada", "Grace", "Linus", "Barbara", "alan", "Edsger"];
        let page = users().paginate(3, u64::MAX)?;
        assert_eq!((page.total, page.current_page, page.last_page, page.data.len()), (6, u64::MAX, 2, 0));
        let page = users().paginate(u64::MAX, 1)?;
        assert_eq!((page.total, page.last_page), (6, 1));
        assert_eq!(names(&page.data), all);
        assert!(users().paginate(u64::MAX, u64::MAX)?.data.is_empty());
        let simple = users().simple_paginate(u64::MAX, 1)?;
        assert_eq!((names(&simple.data), simple.has_more), (all.map(String::from).to_vec(), false));
        let simple = users().simple_paginate(2, u64::MAX)?;
        assert_eq!((simple.data.len(), simple.has_more), (0, false));
        assert!(users().simple_paginate(u64::MAX, 2)?.data.is_empty());
        let limit = i64::MAX as u64;
        for huge in [limit, limit + 1, u64::MAX] {
            assert_eq!(users().limit(huge).pluck::<String>("name")?, all, "limit {huge}");
            assert_eq!(users().take(huge).offset(2).count()?, 4, "take {huge} offset 2");
            assert!(users().offset(huge).pluck::<String>("name")?.is_empty(), "offset {huge}");
            assert!(users().skip(huge).limit(2).get()?.is_empty(), "skip {huge}");
            assert!(users().for_page(huge, 2).get()?.is_empty(), "for_page({huge}, 2)");
            assert_eq!(users().for_page(1, huge).get()?.len(), 6, "for_page(1, {huge})");
            assert!(users().for_page(2, huge).get()?.is_empty(), "for_page(2, {huge})");
            let mut seen = 0;
            users().chunk(huge, |rows| { seen += rows.len(); Ok(true) })?;
            assert_eq!(seen, 6, "chunk({huge})");
            let mut seen = 0;
            users().offset(huge).chunk(2, |rows| { seen += rows.len(); Ok(true) })?;
            assert_eq!(seen, 0, "offset({huge}).chunk(2)");
            assert_eq!(users().limit(huge).cursor().count(), 6, "cursor with limit {huge}");
            assert_eq!(users().offset(huge).cursor().count(), 0, "cursor with offset {huge}");
        }
        Ok(())
    }

    fn where_any_all_and_none_compare_several_columns() {
        seed()?;
        let names_of = |q: Query<Record>| -> Result<Vec<String>> { q.order_by("name").pluck("name") };
        assert_eq!(names_of(DB::table("users").where_any(&["name", "email"], "like", "%race%"))?, ["Grace"]);
        assert_eq!(names_of(DB::table("users").where_all(&["votes", "id"], ">", 3))?, ["Barbara", "Edsger"]);
        // alan's NULL team makes its comparison unknown: neither matched nor excluded.
        assert_eq!(names_of(DB::table("users").where_none(&["votes", "team_id"], "=", 1))?, ["Barbara", "Linus"]);
        // Bracketed: the ORs stay inside.
        assert_eq!(names_of(DB::table("users").where_eq("active", true).where_any(&["votes", "team_id"], "=", 2))?, ["Barbara"]);
        assert_eq!(names_of(DB::table("users").where_eq("name", "Ada").or_where_any(&["votes"], "<", 1))?, ["Ada", "alan"]);
        // Between two columns of the row (id <= team_id <= votes); alan's NULL team is
        // neither.
        assert_eq!(names_of(DB::table("users").where_between_columns("team_id", "id", "votes"))?, ["Ada"]);
        assert_eq!(
            names_of(DB::table("users").where_not_between_columns("team_id", "id", "votes"))?,
            ["Barbara", "Edsger", "Grace", "Linus"]
        );
        assert_eq!(names_of(DB::table("users").where_eq("name", "alan").or_where_between_columns("team_id", "id", "id"))?, ["Ada", "alan"]);
        // HAVING BETWEEN.
        let teams: Vec<i64> = DB::table("users").select("team_id").where_not_null("team_id").group_by("team_id")
            .having_between("team_id", 2, 5).pluck("team_id")?;
        assert_eq!(teams, [2]);
        let bad = DB::table("users").where_any(&["name"], "=~", "x").get();
        assert!(matches!(bad, Err(Error::InvalidQuery { kind: InvalidQueryKind::Operator, .. })), "{bad:?}");
        Ok(())
    }

    fn cursor_pagination_walks_both_ways_without_repeating_or_skipping() {
        seed()?;
        // By votes, most first: Grace and Edsger tie at 80, and the key breaks the tie.
        let by_votes = || DB::table("users").order_by_desc("votes");
        let first = by_votes().cursor_paginate(2, None)?;
        assert_eq!(names(&first.data), ["Barbara", "Ada"]);
        assert!(first.previous_cursor.is_none() && first.has_pages());
        // A row added before the cursor meanwhile does not shift the next page.
        DB::table("users").insert(row! {"name" => "Zed", "votes" => 500})?;
        let second = by_votes().cursor_paginate(2, first.next_cursor.as_deref())?;
        assert_eq!(names(&second.data), ["Edsger", "Grace"]);
        let third = by_votes().cursor_paginate(2, second.next_cursor.as_deref())?;
        assert_eq!(names(&third.data), ["Linus", "alan"]);
        assert!(third.next_cursor.is_none());
        // Back again.
        let back = by_votes().cursor_paginate(2, third.previous_cursor.as_deref())?;
        assert_eq!(names(&back.data), ["Edsger", "Grace"]);
        assert!(back.next_cursor.is_some());
        let start = by_votes().cursor_paginate(2, back.previous_cursor.as_deref())?;
        assert_eq!(names(&start.data), ["Barbara", "Ada"]);
        // Zed is before the first page now: a page precedes it.
        let zed = by_votes().cursor_paginate(2, start.previous_cursor.as_deref())?;
        assert_eq!(names(&zed.data), ["Zed"]);
        assert!(zed.previous_cursor.is_none() && zed.next_cursor.is_some());

        // Walking every page equals reading all, whatever the conditions (ORs included).
        let query = || DB::table("users").where_eq("team_id", 1).or_where("votes", "<", 20).order_by("created_at");
        let mut walked = Vec::new();
        let mut cursor = None;
        loop {
            let page = query().cursor_paginate(2, cursor.as_deref())?;
            walked.extend(names(&page.data));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(walked, names(&query().get()?));
        assert_eq!(walked.len(), 5);
        // Linus and Zed have no email: their NULLs are paged where the database sorts
        // them (first on SQLite and MySQL, last on PostgreSQL), both ways.
        for descending in [false, true] {
            let query = || match descending {
                false => DB::table("users").order_by("email"),
                true => DB::table("users").order_by_desc("email"),
            };
            let mut pages: Vec<Vec<String>> = Vec::new();
            let mut cursor = None;
            loop {
                let page = query().cursor_paginate(2, cursor.as_deref())?;
                pages.push(names(&page.data));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            // Ties broken by the key, in the last order column's direction.
            let all = match descending {
                false => names(&query().order_by("id").get()?),
                true => names(&query().order_by_desc("id").get()?),
            };
            assert_eq!(pages.concat(), all, "descending: {descending}");
            assert_eq!(all.len(), 7);
            // And back from the last page to the first.
            let mut back: Vec<Vec<String>> = Vec::new();
            let mut page = query().cursor_paginate(2, cursor.as_deref())?;
            while let Some(previous) = page.previous_cursor.clone() {
                page = query().cursor_paginate(2, Some(&previous))?;
                back.push(names(&page.data));
            }
            back.reverse();
            assert_eq!(back.concat(), pages[..pages.len() - 1].concat(), "descending: {descending}");
        }
        // No order: by the primary key.
        assert_eq!(names(&DB::table("users").cursor_paginate(1, None)?.data), ["Ada"]);

        // Every page walked equals the rows read at once, whatever the query's shape.
        fn walk(query: impl Fn() -> Query<Record>, per_page: u64) -> Result<Vec<Record>> {
            let mut rows = Vec::new();
            let mut cursor: Option<String> = None;
            loop {
                let page = query().cursor_paginate(per_page, cursor.as_deref())?;
                rows.extend(page.data);
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => return Ok(rows),
                }
            }
        }
        // By another table's column of the same name as one of the rows' own (`votes`).
        let by_author = || {
            DB::table("posts").join("users", "users.id", "=", "posts.user_id")
                .select("posts.*").order_by_desc("users.votes")
        };
        let ids = |rows: &[Record]| rows.iter().map(|r| r.get::<i64, _>("id").unwrap()).collect::<Vec<_>>();
        let all = by_author().order_by_desc("posts.id").get()?;
        assert_eq!(ids(&walk(by_author, 2)?), ids(&all));
        assert_eq!(all.len(), 5);
        // DISTINCT and grouped rows are paged by their order alone (no key in them).
        let distinct = || DB::table("posts").select("user_id").distinct().order_by("user_id");
        assert_eq!(walk(distinct, 1)?, distinct().get()?);
        // DISTINCT rows with the key in them: paged by it when there is no order.
        let whole = || DB::table("posts").join("users", "users.id", "=", "posts.user_id").select("posts.*").distinct();
        assert_eq!(ids(&walk(whole, 2)?), [1, 2, 3, 4, 5]);
        let grouped = || DB::table("posts").select("user_id").select_raw("COUNT(*) AS n", &[]).group_by("user_id").order_by("user_id");
        assert_eq!(walk(grouped, 1)?, grouped().get()?);
        // Ordered by a select alias: the condition compares its expression.
        let renamed = || DB::table("users").select("id as user_id").order_by("user_id");
        assert_eq!(walk(renamed, 4)?.len(), 7);
        // Linus and Zed tie there: the key, selected under an alias of its own, breaks it.
        let computed = || DB::table("users").select("name").select_raw("COALESCE(email, ?) AS sort_email", &[&"~none"]).order_by("sort_email");
        let walked = walk(computed, 2)?;
        assert_eq!(names(&walked), names(&computed().order_by("id").get()?));
        assert_eq!(walked.len(), 7);

        // What cannot be paged by values is a typed error.
        let clauses = |r: Result<orm_core::CursorPaginator<Record>>| {
            matches!(r, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }))
        };
        assert!(clauses(DB::table("users").in_random_order().cursor_paginate(2, None)));
        assert!(clauses(DB::table("users").order_by_raw("votes * 2", &[]).cursor_paginate(2, None)));
        let argument = |r: Result<orm_core::CursorPaginator<Record>>| {
            matches!(r, Err(Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. }))
        };
        assert!(argument(by_votes().cursor_paginate(0, None)));
        assert!(argument(by_votes().cursor_paginate(2, Some("not a cursor"))));
        // A cursor of another order (one column more or less) is refused, not misread.
        assert!(argument(by_votes().order_by("name").cursor_paginate(2, first.next_cursor.as_deref())));
        Ok(())
    }

    fn select_one_and_scalar_read_one_row_and_one_value() {
        seed()?;
        let first = DB::select_one("SELECT name FROM users WHERE votes > ? ORDER BY id", &[&100])?;
        assert_eq!(first.map(|r| r.get::<String, _>("name")).transpose()?.as_deref(), Some("Ada"));
        assert!(DB::select_one("SELECT name FROM users WHERE id = ?", &[&-1])?.is_none());
        assert_eq!(DB::scalar::<i64>("SELECT COUNT(*) FROM users", &[])?, Some(6));
        assert_eq!(DB::scalar::<i64>("SELECT votes FROM users WHERE id = ?", &[&-1])?, None);
        assert_eq!(DB::scalar::<i64>("SELECT team_id FROM users WHERE team_id IS NULL", &[])?, None);
        let two = DB::scalar::<i64>("SELECT id, votes FROM users", &[]);
        assert!(matches!(two, Err(Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. })), "{two:?}");
        let conn = DB::connection(orm_core::DEFAULT_CONNECTION);
        assert_eq!(conn.scalar::<i64>("SELECT MAX(votes) FROM users", &[])?, Some(300));
        assert!(conn.select_one("SELECT id FROM users ORDER BY id", &[])?.is_some());
        Ok(())
    }

    fn pagination_and_streaming() {
        seed()?;
        let page = DB::table("users").order_by("id").paginate(4, 2)?;
        assert_eq!((page.total, page.per_page, page.current_page, page.last_page), (6, 4, 2, 2));
        assert_eq!(names(&page.data), ["alan", "Edsger"]);
        let empty = DB::table("users").where_eq("id", -1).paginate(4, 1)?;
        assert_eq!((empty.total, empty.last_page, empty.data.len()), (0, 1, 0));
        let simple = DB::table("users").order_by("id").simple_paginate(4, 1)?;
        assert!(simple.has_more);
        assert_eq!(simple.data.len(), 4);
        let simple = DB::table("users").order_by("id").simple_paginate(3, 2)?;
        assert!(!simple.has_more);
        assert_eq!(names(&simple.data), ["Barbara", "alan", "Edsger"]);
        assert!(matches!(DB::table("users").paginate(0, 1), Err(Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. })));
        // The helpers of Laravel's and Orator's paginators, and the page as JSON.
        let first = DB::table("users").order_by("id").paginate(4, 1)?;
        assert!(first.has_more_pages() && first.has_pages() && first.on_first_page() && !first.on_last_page());
        assert_eq!((first.next_page(), first.previous_page()), (Some(2), None));
        assert_eq!((first.first_item(), first.last_item()), (Some(1), Some(4)));
        assert!(!page.has_more_pages() && page.on_last_page());
        assert_eq!((page.next_page(), page.previous_page()), (None, Some(1)));
        assert_eq!((page.first_item(), page.last_item()), (Some(5), Some(6)));
        assert_eq!((empty.first_item(), empty.last_item(), empty.has_pages()), (None, None, false));
        let json = page.to_json()?;
        assert_eq!(json["total"], 6);
        assert_eq!((json["from"].as_u64(), json["to"].as_u64(), json["prev_page"].as_u64()), (Some(5), Some(6), Some(1)));
        assert!(json["next_page"].is_null());
        assert_eq!(json["data"][0]["name"], "alan");
        assert_eq!(json.as_object().map(|o| o.len()), Some(9));
        assert_eq!((simple.next_page(), simple.previous_page(), simple.first_item(), simple.last_item()), (None, Some(1), Some(4), Some(6)));
        let json = simple.to_json()?;
        assert_eq!((json["from"].as_u64(), json["to"].as_u64()), (Some(4), Some(6)));
        assert!(json["next_page"].is_null() && json.get("total").is_none());
        let cursor = DB::table("users").order_by("id").cursor_paginate(4, None)?;
        let json = cursor.to_json()?;
        assert_eq!((json["data"].as_array().map(Vec::len), json["next_cursor"].as_str()), (Some(4), cursor.next_cursor.as_deref()));
        assert!(json["prev_cursor"].is_null());

        let mut pages = Vec::new();
        let finished = DB::table("users").chunk(4, |rows| {
            pages.push(names(&rows));
            // The connection is free inside the callback.
            assert_eq!(DB::table("users").count()?, 6);
            Ok(true)
        })?;
        assert!(finished);
        assert_eq!(pages, [vec!["Ada", "Grace", "Linus", "Barbara"], vec!["alan", "Edsger"]]);
        // Row by row, paged by key: the callback may change what the query filters on.
        let mut raised = Vec::new();
        let finished = DB::table("users").where_("votes", "<", 100).each_by_id(2, |row| {
            let id = row.get::<i64, _>("id")?;
            DB::table("users").where_eq("id", id).increment("votes", 100)?;
            raised.push(id);
            Ok(())
        })?;
        assert!(finished);
        assert_eq!(raised, [2, 3, 5, 6]);
        let stopped = DB::table("users").each_by_id(2, |row| Ok(row.get::<i64, _>("id")? < 3))?;
        assert!(!stopped);
        // From the highest key down (Eloquent's chunkByIdDesc), each row once while the
        // callback changes what the query filters on.
        let mut down = Vec::new();
        let finished = DB::table("users").where_("votes", "<", 1000).chunk_by_id_desc(4, |rows| {
            let ids: Vec<i64> = rows.iter().map(|r| r.get::<i64, _>("id")).collect::<Result<_>>()?;
            DB::table("users").where_in("id", ids.clone()).increment("votes", 1000)?;
            down.push(ids);
            Ok(true)
        })?;
        assert!(finished);
        assert_eq!(down, [vec![6, 5, 4, 3], vec![2, 1]]);
        DB::table("users").decrement("votes", 1000)?;
        DB::table("users").where_in("id", raised.clone()).decrement("votes", 100)?;
        // Mapped page by page, in the query's order.
        let votes = DB::table("users").order_by_desc("votes").chunk_map(4, |r| r.get::<i64, _>("votes"))?;
        assert_eq!(votes.into_iter().collect::<Result<Vec<_>>>()?, [300, 120, 80, 80, 15, 0]);
        assert!(matches!(DB::table("users").chunk_map(0, |r| r), Err(Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. })));
        let mut seen = 0;
        let finished = DB::table("users").chunk(2, |rows| { seen += rows.len(); Ok(seen < 4) })?;
        assert!(!finished);
        assert_eq!(seen, 4);
        // chunk respects the query's own limit and offset.
        let mut ids = Vec::new();
        DB::table("users").order_by("id").offset(1).limit(3).chunk(2, |rows| {
            ids.extend(rows.iter().map(|r| r.get::<i64, _>("id").unwrap()));
            Ok(true)
        })?;
        assert_eq!(ids, [2, 3, 4]);

        let streamed: Vec<i64> = DB::table("users").where_("votes", ">", 10).lazy(2)
            .map(|r| r.and_then(|r| r.get::<i64, _>("id")))
            .collect::<Result<_>>()?;
        assert_eq!(streamed, [1, 2, 3, 4, 6]);
        assert_eq!(DB::table("users").cursor().count(), 6);
        let bad: Vec<Result<Record>> = DB::table("users").where_("id", "??", 1).cursor().collect();
        assert_eq!(bad.len(), 1);
        assert!(matches!(bad[0], Err(Error::InvalidQuery { kind: InvalidQueryKind::Operator, .. })));
        let mut each = Vec::new();
        DB::table("users").order_by_desc("id").each(|r| { each.push(r.get::<i64, _>("id")?); Ok(each.len() < 3) })?;
        assert_eq!(each, [6, 5, 4]);
        let via_conn = DB::with_connection(|c| {
            c.scope(|| {
                let n = DB::table("users").cursor().count();
                let page = DB::table("users").order_by("id").paginate(5, 2)?;
                Ok((n, page.data.len()))
            })
        })?;
        assert_eq!(via_conn, (6, 1));
        Ok(())
    }

    fn writes() {
        seed()?;
        assert_eq!(DB::table("teams").insert(row! {"name" => "green"})?, 1);
        assert_eq!(DB::table("teams").insert([("name", Value::from("black"))])?, 1);
        let id = DB::table("teams").insert_get_id(vec![("name", "white".into())])?;
        assert_eq!(id, 6);
        assert_eq!(DB::table("teams").find(id)?.unwrap().get::<String, _>("name")?, "white");
        // Rows with the same columns in another order are fine.
        assert_eq!(DB::table("teams").insert_many([row! {"name" => "a", "id" => 10}, row! {"id" => 11, "name" => "b"}])?, 2);
        assert_eq!(DB::table("teams").where_eq("id", 11).value::<String>("name")?.as_deref(), Some("b"));
        assert_eq!(DB::table("teams").insert_many(Vec::<[(&str, Value); 1]>::new())?, 0);

        // Upsert: update on conflict, or do nothing.
        let n = DB::table("users").upsert(
            [row! {"name" => "Ada L.", "email" => "ada@example.com", "votes" => 1},
             row! {"name" => "Katherine", "email" => "kj@example.com", "votes" => 2}],
            &["email"], &["name", "votes"],
        )?;
        // Rows written, on every backend (MySQL's own count has 2 per updated row).
        assert_eq!(n, 2);
        let ada = DB::table("users").where_eq("email", "ada@example.com").first_or_fail()?;
        assert_eq!((ada.get::<String, _>("name")?, ada.get::<i64, _>("votes")?), ("Ada L.".into(), 1));
        assert_eq!(DB::table("users").count()?, 7);
        let n = DB::table("users").upsert([row! {"name" => "X", "email" => "kj@example.com"}], &["email"], &[])?;
        // MySQL's "do nothing" assigns the key to itself: a found row counts once.
        assert_eq!(n, if backend() == Backend::Mysql { 1 } else { 0 });
        assert_eq!(DB::table("users").where_eq("email", "kj@example.com").value::<String>("name")?.as_deref(), Some("Katherine"));
        assert!(matches!(DB::table("users").upsert([row! {"name" => "X"}], &[], &[]), Err(Error::InvalidQuery { kind: InvalidQueryKind::Rows, .. })));
        // Two rows with one key (Rails' upsert_all raises): a typed error on every
        // backend, nothing written, where PostgreSQL alone refused the statement.
        let before = DB::table("users").count()?;
        let repeated = DB::table("users").upsert(
            [row! {"name" => "A", "email" => "dup@example.com"}, row! {"name" => "B", "email" => "other@example.com"}, row! {"name" => "C", "email" => "dup@example.com"}],
            &["email"],
            &["name"],
        );
        let err = repeated.unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Rows, .. }), "{err:?}");
        assert!(err.to_string().contains("rows 1 and 3"), "{err}");
        assert_eq!(DB::table("users").count()?, before);

        // Insert or ignore: a row conflicting on any unique index is skipped, the rest
        // inserted; other errors are still errors (no truncated or default values).
        let before = DB::table("users").count()?;
        let n = DB::table("users").insert_or_ignore([
            row! {"name" => "Dup", "email" => "kj@example.com"},
            row! {"name" => "New1", "email" => "new1@example.com"},
            row! {"name" => "New2", "email" => "new2@example.com"},
        ])?;
        assert_eq!(n, if backend() == Backend::Mysql { 3 } else { 2 });
        assert_eq!(DB::table("users").count()?, before + 2);
        assert_eq!(DB::table("users").where_eq("email", "kj@example.com").value::<String>("name")?.as_deref(), Some("Katherine"));
        let not_null = DB::table("users").insert_or_ignore([row! {"name" => Value::Null, "email" => "null@example.com"}]);
        assert!(matches!(not_null, Err(Error::NotNullViolation { .. })), "{not_null:?}");
        assert_eq!(DB::table("users").count()?, before + 2);
        assert_eq!(DB::table("users").insert_or_ignore(Vec::<[(&str, Value); 1]>::new())?, 0);
        DB::table("users").where_in("email", ["new1@example.com", "new2@example.com"]).delete()?;
        // Update the matching row, or insert one (Laravel's updateOrInsert).
        assert_eq!(DB::table("users").update_or_insert(row! {"email" => "kj@example.com"}, row! {"votes" => 9})?, 1);
        assert_eq!(DB::table("users").where_eq("email", "kj@example.com").value::<i64>("votes")?, Some(9));
        assert_eq!(DB::table("users").update_or_insert(row! {"email" => "uoi@example.com"}, row! {"name" => "Uoi"})?, 1);
        assert_eq!(DB::table("users").where_eq("email", "uoi@example.com").value::<String>("name")?.as_deref(), Some("Uoi"));
        assert_eq!(DB::table("users").update_or_insert(row! {"email" => "uoi@example.com"}, Vec::<(&str, Value)>::new())?, 0);
        DB::table("users").where_eq("email", "uoi@example.com").delete()?;
        // Inserting, a value wins over an attribute of the same column (array_merge).
        let moved = row! {"email" => "new-uoi@example.com", "name" => "Uoi"};
        assert_eq!(DB::table("users").update_or_insert(row! {"email" => "uoi@example.com"}, moved)?, 1);
        assert_eq!(DB::table("users").where_eq("email", "new-uoi@example.com").count()?, 1);
        DB::table("users").where_eq("email", "new-uoi@example.com").delete()?;

        assert_eq!(DB::table("users").where_eq("team_id", 1).update(row! {"votes" => 50, "active" => true})?, 3);
        assert_eq!(DB::table("users").where_eq("team_id", 1).sum("votes")?, 150.0);
        assert_eq!(DB::table("users").where_eq("id", 2).increment("votes", 5)?, 1);
        assert_eq!(DB::table("users").where_eq("id", 2).decrement("votes", 2)?, 1);
        assert_eq!(DB::table("users").find(2)?.unwrap().get::<i64, _>("votes")?, 53);
        DB::table("users").where_eq("id", 2).increment_with("votes", 10, row! {"name" => "Grace H."})?;
        DB::table("users").where_eq("id", 2).decrement_with("votes", 1, row! {"active" => false})?;
        let grace = DB::table("users").find(2)?.unwrap();
        assert_eq!((grace.get::<i64, _>("votes")?, grace.get::<String, _>("name")?, grace.get::<bool, _>("active")?), (62, "Grace H.".into(), false));
        assert!(matches!(DB::table("users").update(Vec::<(&str, Value)>::new()), Err(Error::InvalidQuery { kind: InvalidQueryKind::Rows, .. })));
        // Several columns stepped in one statement (Laravel's incrementEach).
        assert_eq!(DB::table("users").where_eq("id", 2).increment_each(row! {"votes" => 8, "team_id" => 1}, row! {"name" => "G."})?, 1);
        let stepped = DB::table("users").find(2)?.unwrap();
        assert_eq!((stepped.get::<i64, _>("votes")?, stepped.get::<i64, _>("team_id")?, stepped.get::<String, _>("name")?), (70, 2, "G.".into()));
        DB::table("users").where_eq("id", 2).decrement_each(row! {"votes" => 8, "team_id" => 1}, row! {"name" => "Grace H."})?;
        let grace = DB::table("users").find(2)?.unwrap();
        assert_eq!((grace.get::<i64, _>("votes")?, grace.get::<i64, _>("team_id")?), (62, 1));
        // A column both stepped and set: the set value wins (Laravel's testIncrement),
        // where PostgreSQL refuses two assignments to one column.
        DB::table("users").where_eq("id", 2).increment_each(row! {"votes" => 10}, row! {"votes" => 5})?;
        DB::table("users").where_eq("id", 2).increment_with("team_id", 1, row! {"team_id" => 7, "team_id" => 1})?;
        let grace = DB::table("users").find(2)?.unwrap();
        assert_eq!((grace.get::<i64, _>("votes")?, grace.get::<i64, _>("team_id")?), (5, 1));
        DB::table("users").where_eq("id", 2).update(row! {"votes" => 62})?;
        // Update and delete with order + limit (portable through a key subquery; MySQL's
        // own UPDATE .. ORDER BY .. LIMIT).
        assert_eq!(DB::table("users").order_by_desc("votes").limit(1).update(row! {"name" => "Top"})?, 1);
        assert_eq!(DB::table("users").where_eq("name", "Top").value::<i64>("id")?, Some(4));
        assert_eq!(DB::table("users").where_("votes", "<", 1000).order_by("votes").order_by("id").limit(2).increment("votes", 1000)?, 2);
        assert_eq!(DB::table("users").where_("votes", ">=", 1000).count()?, 2);
        DB::table("users").where_("votes", ">=", 1000).decrement("votes", 1000)?;
        assert_eq!(DB::table("users").join("posts", "posts.user_id", "=", "users.id").where_eq("posts.title", "COBOL").delete()?, 1);
        assert!(DB::table("users").find(2)?.is_none());
        assert_eq!(DB::table("users").where_eq("active", false).delete()?, 1);
        assert_eq!(DB::table("users").count()?, 5);
        // Aliased tables keep their alias in UPDATE and DELETE.
        assert_eq!(DB::table("users as u").where_eq("u.id", 1).update(row! {"votes" => 7})?, 1);
        assert_eq!(DB::table("users as u").where_eq("u.id", 1).value::<i64>("u.votes")?, Some(7));
        assert_eq!(DB::table("users as u").where_eq("u.id", 1).order_by("u.id").limit(1).delete()?, 1);
        assert_eq!(DB::table("users").count()?, 4);
        DB::table("posts").truncate()?;
        assert_eq!(DB::table("posts").count()?, 0);
        let id = DB::table("posts").insert_get_id(row! {"user_id" => 1, "title" => "t", "published" => true, "votes" => 0})?;
        assert_eq!(id, 1, "truncate restarts the identity");
        Ok(())
    }

    fn truncate_restarts_the_ids_of_a_table_the_schema_builder_made() {
        orm_migrate::Schema::on_default(|s| {
            s.create("tickets", |t| {
                t.increments("id");
                t.string("code", 10);
            })
        })
        .map_err(Error::other)?;
        for code in ["a", "b", "c"] {
            DB::table("tickets").insert(row! {"code" => code})?;
        }
        DB::table("tickets").truncate()?;
        assert_eq!(DB::table("tickets").count()?, 0);
        assert_eq!(DB::table("tickets").insert_get_id(row! {"code" => "after"})?, 1);
        // In a transaction, a rollback keeps the rows and the counter (MySQL's TRUNCATE
        // commits the transaction it is in: the server's rule).
        if backend() != Backend::Mysql {
            let rolled_back: Result<()> = DB::transaction(|| {
                DB::table("tickets").truncate()?;
                Err(Error::Cancelled("undo".into()))
            });
            assert!(rolled_back.is_err());
            assert_eq!(DB::table("tickets").insert_get_id(row! {"code" => "next"})?, 2);
        }
        Ok(())
    }

    fn truncate_of_a_referenced_table_follows_the_foreign_keys_on_every_backend() {
        // Probe 48a: PostgreSQL and MySQL refuse to truncate a table another table's
        // foreign key references, whatever the rows (an untyped error), while SQLite's
        // DELETE was refused only for a referenced row.
        orm_migrate::Schema::on_default(|s| {
            s.create("owners", |t| {
                t.increments("id");
                t.string("name", 10);
            })?;
            s.create("pets", |t| {
                t.increments("id");
                t.foreign_id("owner_id").constrained_to("owners");
            })?;
            s.create("badges", |t| {
                t.increments("id");
                t.foreign_id("owner_id").constrained_to("owners").cascade_on_delete();
            })
        })
        .map_err(Error::other)?;
        let add_owner = || DB::table("owners").insert_get_id(row! {"name" => "o"});
        for _ in 0..3 {
            add_owner()?;
        }
        // Nothing references a row: emptied, and the ids start again.
        DB::table("owners").truncate()?;
        assert_eq!(DB::table("owners").count()?, 0);
        assert_eq!(add_owner()?, 1);
        // A referenced row: a typed foreign-key violation, and every row stays.
        add_owner()?;
        DB::table("pets").insert(row! {"owner_id" => 1})?;
        let refused = DB::table("owners").truncate().unwrap_err();
        assert_eq!(refused.constraint_kind(), Some(orm_core::ConstraintKind::ForeignKey), "{refused:?}");
        assert_eq!(DB::table("owners").count()?, 2);
        // The same inside a transaction, which goes on after the refusal.
        DB::transaction(|| {
            let refused = DB::table("owners").truncate().unwrap_err();
            assert_eq!(refused.constraint_kind(), Some(orm_core::ConstraintKind::ForeignKey), "{refused:?}");
            assert_eq!(DB::table("owners").count()?, 2);
            Ok(())
        })?;
        // Referencing rows that cascade go with their owners, as a DELETE takes them.
        DB::table("pets").delete()?;
        DB::table("badges").insert(row! {"owner_id" => 2})?;
        DB::table("owners").truncate()?;
        assert_eq!((DB::table("owners").count()?, DB::table("badges").count()?), (0, 0));
        assert_eq!(add_owner()?, 1);
        Ok(())
    }

    fn an_ordered_update_of_a_unique_column() {
        orm_migrate::Schema::on_default(|s| {
            s.create("numbers", |t| {
                t.increments("id");
                t.integer("number").unique();
            })
        })
        .map_err(Error::other)?;
        DB::table("numbers").insert_many(vec![row! {"number" => 1}, row! {"number" => 2}])?;
        // Django's MySQLUpdateOrderByTest: highest first, no two rows share a number on
        // the way. MySQL writes in the query's order; the others check each row as they
        // write it in their own order, and keep nothing of a failed statement.
        let stepped = DB::table("numbers").order_by_desc("number").increment("number", 1);
        let numbers = || DB::table("numbers").order_by("id").pluck::<i64>("number");
        if orm_tests::backend() == orm_core::Backend::Mysql {
            assert_eq!(stepped?, 2);
            assert_eq!(numbers()?, [2, 3]);
        } else {
            assert!(matches!(stepped, Err(Error::UniqueViolation { .. })), "{stepped:?}");
            assert_eq!(numbers()?, [1, 2]);
        }
        Ok(())
    }

    fn where_in_lists_of_every_length_and_kind() {
        seed()?;
        let get = |q: Query| -> Result<Vec<String>> { q.order_by("id").pluck::<String>("name") };
        // Long lists (PostgreSQL binds one array, SQLite one parameter per value).
        let ids: Vec<i64> = (-500..500).collect();
        assert_eq!(get(DB::table("users").where_in("id", ids.clone()))?.len(), 6);
        assert_eq!(get(DB::table("users").where_not_in("id", ids))?.len(), 0);
        assert_eq!(get(DB::table("users").where_in("name", ["Ada", "alan", "nobody"]))?, ["Ada", "alan"]);
        // NULL in the list equals nothing; in NOT IN it is left out (SQL's NOT IN (.., NULL)
        // would match no row at all).
        assert_eq!(get(DB::table("users").where_in("id", [Value::Null, Value::from(1)]))?, ["Ada"]);
        assert_eq!(get(DB::table("users").where_not_in("id", [Value::Null, Value::from(1)]))?.len(), 5);
        // Lists of different lengths reuse nothing wrongly: each answers its own question.
        for n in 1..=6_i64 {
            assert_eq!(DB::table("users").where_in("id", (1..=n).collect::<Vec<_>>()).count()?, n as u64);
        }
        // An array bound by hand.
        let ids = Value::Array(vec![Value::from(1), Value::from(2)]);
        match DB::with_connection(|c| Ok(c.backend()))? {
            Backend::Postgres => {
                let rows = DB::select("SELECT name FROM users WHERE id = ANY(?) ORDER BY id", &[&ids])?;
                assert_eq!(names(&rows), ["Ada", "Grace"]);
            }
            _ => {
                let err = DB::select("SELECT name FROM users WHERE id IN (?)", &[&ids]).unwrap_err();
                assert!(matches!(err, Error::Bind { message: ref m, .. } if m.contains("array")), "{err}");
            }
        }
        Ok(())
    }

    fn bad_input_is_a_typed_error() {
        seed()?;
        for op in ["=>", "; DROP TABLE users --", "", "LIKE LIKE"] {
            let err = DB::table("users").where_("votes", op, 1).get().unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Operator, message: ref m, .. } if m.contains("unknown operator")), "{err}");
            assert!(matches!(DB::table("users").where_("votes", op, 1).count(), Err(Error::InvalidQuery { kind: InvalidQueryKind::Operator, .. })));
            assert!(matches!(DB::table("users").where_("votes", op, 1).delete(), Err(Error::InvalidQuery { kind: InvalidQueryKind::Operator, .. })));
            assert!(matches!(DB::table("users").where_("votes", op, 1).update(row! {"votes" => 1}), Err(Error::InvalidQuery { kind: InvalidQueryKind::Operator, .. })));
        }
        assert_eq!(DB::table("users").count()?, 6, "nothing was deleted");
        assert!(matches!(DB::table("users").where_eq("", 1).get(), Err(Error::InvalidIdentifier { .. })));

        let err = DB::table("teams").insert_many([
            vec![("name", Value::from("x"))],
            vec![("name", "y".into()), ("id", 50.into())],
        ]).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Rows, message: ref m, .. } if m.contains("same columns")), "{err}");
        let err = DB::table("teams").insert_many([row! {"name" => "x"}, row! {"nom" => "y"}]).unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Rows, .. }));
        assert!(matches!(DB::table("teams").insert(row! {"name" => "x", "name" => "y"}), Err(Error::InvalidQuery { kind: InvalidQueryKind::Rows, .. })));
        assert_eq!(DB::table("teams").count()?, 3, "nothing was inserted");

        assert!(matches!(DB::table("users").where_eq("id", -1).sole(), Err(Error::NotFound { .. })));
        assert!(matches!(DB::table("users").where_eq("team_id", 1).sole(), Err(Error::MultipleRows { found: 3 })));
        assert_eq!(DB::table("users").where_eq("id", 1).sole()?.get::<String, _>("name")?, "Ada");
        // A failing statement is the database's typed error, with the query intact.
        assert!(matches!(
            DB::table("users").insert(row! {"name" => "Dup", "email" => "ada@example.com"}),
            Err(Error::UniqueViolation { .. })
        ));
        Ok(())
    }

    fn insert_many_splits_under_the_bind_limit() {
        DB::statement("CREATE TABLE nums (n INTEGER NOT NULL, m INTEGER NOT NULL)")?;
        const ROWS: i64 = 40_000;
        DB::enable_query_log();
        DB::flush_query_log();
        let n = DB::table("nums").insert_many((0..ROWS).map(|i| row! {"n" => i, "m" => i * 2}))?;
        let inserts = DB::query_log().iter().filter(|q| q.sql.starts_with("INSERT")).count();
        DB::disable_query_log();
        assert_eq!(n, ROWS as u64);
        // 80 000 parameters: 3 statements under SQLite's 32 766, 2 under PostgreSQL's 65 535.
        assert_eq!(inserts, per_backend("3", "2").parse::<usize>().unwrap());
        assert_eq!(DB::table("nums").count()?, ROWS as u64);
        assert_eq!(DB::table("nums").sum("n")?, (ROWS * (ROWS - 1) / 2) as f64);
        // One transaction: a failing chunk leaves nothing behind.
        DB::statement("CREATE TABLE strict (n INTEGER NOT NULL UNIQUE)")?;
        let err = DB::table("strict")
            .insert_many((0..ROWS).map(|i| row! {"n" => if i == ROWS - 1 { 0 } else { i }}))
            .unwrap_err();
        assert!(matches!(err, Error::UniqueViolation { .. }), "{err}");
        assert_eq!(DB::table("strict").count()?, 0);
        Ok(())
    }

    fn explicit_and_named_connections() {
        seed()?;
        let n = DB::with_connection(|c| {
            c.scope(|| {
                DB::table("teams").insert(row! {"name" => "on"})?;
                let rows = DB::table("teams").where_eq("name", "on").get()?;
                assert_eq!(rows.len(), 1);
                assert!(DB::table("teams").where_eq("name", "on").exists()?);
                DB::table("teams").count()
            })
        })?;
        assert_eq!(n, 4);
        let (sql, binds) = DB::table("users").where_eq("id", 1).to_sql()?;
        assert_eq!(sql, per_backend3(
            r#"SELECT * FROM "users" WHERE "id" = ?"#,
            r#"SELECT * FROM "users" WHERE "id" = $1"#,
            "SELECT * FROM `users` WHERE `id` = ?",
        ));
        assert_eq!(binds, [Value::Int(1)]);
        let missing = DB::connection("nowhere").table("users").count().unwrap_err();
        assert!(matches!(missing, Error::NoConnection(ref name) if name == "nowhere"));
        Ok(())
    }
}

/// Normalises backend differences that are representation only (SQLite has no boolean).
fn normalise(value: &Value) -> Value {
    match value {
        Value::Bool(b) => Value::Int(i64::from(*b)),
        other => other.clone(),
    }
}

type Table = Vec<Vec<Value>>;

fn table(rows: Vec<Record>) -> Table {
    rows.iter()
        .map(|r| r.values().iter().map(normalise).collect())
        .collect()
}

/// The shared set of queries of the parity suite, each reduced to rows of values.
fn parity_queries() -> Result<Vec<(&'static str, Table)>> {
    seed()?;
    let users =
        || DB::table("users").select(&["id", "name", "email", "votes", "team_id", "active"]);
    let scalar = |v: Value| vec![vec![v]];
    Ok(vec![
        ("all", table(users().order_by("id").get()?)),
        (
            "where",
            table(users().where_("votes", ">", 50).order_by("id").get()?),
        ),
        (
            "or group",
            table(
                users()
                    .where_eq("active", true)
                    .where_group(|q| q.where_eq("team_id", 2).or_where_null("team_id"))
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "in",
            table(
                users()
                    .where_in("id", [2, 4, 6])
                    .order_by_desc("id")
                    .get()?,
            ),
        ),
        (
            "empty in",
            table(users().where_in("id", Vec::<i64>::new()).get()?),
        ),
        (
            "between",
            table(
                users()
                    .where_between("votes", 15, 120)
                    .order_by("votes")
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "null",
            table(
                users()
                    .where_null("email")
                    .or_where_null("team_id")
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "ilike",
            table(
                users()
                    .where_("name", "ilike", "%A%")
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "dates",
            table(
                users()
                    .where_year("created_at", "=", 2024)
                    .where_month("created_at", "<=", 2)
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "date",
            table(
                users()
                    .where_date("created_at", "<", "2024-01-01")
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "join",
            table(
                DB::table("users")
                    .select(&["users.name", "posts.title", "posts.votes"])
                    .join("posts", "posts.user_id", "=", "users.id")
                    .order_by("posts.id")
                    .get()?,
            ),
        ),
        (
            "left join",
            table(
                DB::table("users")
                    .select(&["users.id", "posts.id as post"])
                    .left_join("posts", "posts.user_id", "=", "users.id")
                    .order_by("users.id")
                    .order_by("posts.id")
                    .get()?,
            ),
        ),
        (
            "group",
            table(
                DB::table("posts")
                    .select("user_id")
                    .select_raw("COUNT(*) AS n", &[])
                    .group_by("user_id")
                    .order_by("user_id")
                    .get()?,
            ),
        ),
        (
            "exists",
            table(
                users()
                    .where_exists(
                        DB::table("posts")
                            .where_column("posts.user_id", "=", "users.id")
                            .where_eq("published", false),
                    )
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "in sub",
            table(
                users()
                    .where_in_sub(
                        "id",
                        DB::table("posts").select("user_id").where_("votes", ">", 4),
                    )
                    .order_by("id")
                    .get()?,
            ),
        ),
        (
            "union",
            table(
                DB::table("users")
                    .select("name")
                    .where_eq("team_id", 1)
                    .union(DB::table("teams").select("name"))
                    .order_by("name")
                    .get()?,
            ),
        ),
        (
            "distinct",
            table(
                DB::table("users")
                    .select("votes")
                    .distinct()
                    .order_by("votes")
                    .get()?,
            ),
        ),
        (
            "paging",
            table(users().order_by("name").for_page(2, 2).get()?),
        ),
        (
            "count",
            scalar(Value::Int(
                DB::table("users").where_eq("active", true).count()? as i64,
            )),
        ),
        (
            "sum",
            scalar(Value::Float(DB::table("users").sum("votes")?)),
        ),
        (
            "avg",
            scalar(
                DB::table("posts")
                    .where_eq("published", true)
                    .avg("votes")?
                    .into(),
            ),
        ),
        (
            "min max",
            vec![vec![
                DB::table("users").min::<Value>("name")?.unwrap_or_default(),
                DB::table("users")
                    .max::<Value>("votes")?
                    .unwrap_or_default(),
            ]],
        ),
        (
            "pluck",
            vec![DB::table("users").order_by("id").pluck::<Value>("name")?],
        ),
        ("paginate", {
            let p = users().order_by("id").paginate(4, 2)?;
            let mut t = table(p.data);
            t.push(vec![
                Value::Int(p.total as i64),
                Value::Int(p.last_page as i64),
            ]);
            t
        }),
        ("after writes", {
            DB::table("users")
                .where_eq("team_id", 2)
                .increment("votes", 1)?;
            DB::table("users").where_null("team_id").delete()?;
            DB::table("users").upsert(
                [row! {"email" => "ada@example.com", "name" => "A"}],
                &["email"],
                &["name"],
            )?;
            table(users().order_by("id").get()?)
        }),
    ])
}

#[test]
fn parity_sqlite_and_postgres_return_the_same_rows() -> Result<()> {
    let sqlite = {
        let _db = orm_core::testing::sqlite();
        parity_queries()?
    };
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let postgres = parity_queries()?;
    assert_eq!(sqlite.len(), postgres.len());
    for ((name, lite), (_, pg)) in sqlite.iter().zip(&postgres) {
        assert_eq!(
            lite, pg,
            "query `{name}` differs between SQLite and PostgreSQL"
        );
    }
    assert!(sqlite.iter().filter(|(_, rows)| !rows.is_empty()).count() >= 20);
    Ok(())
}

/// MySQL identifiers cannot hold characters beyond the Basic Multilingual Plane: such a
/// name is refused as an invalid identifier before anything is sent.
#[test]
fn mysql_refuses_identifiers_beyond_the_bmp() -> Result<()> {
    let Some(_db) = orm_core::testing::mysql() else {
        return Ok(());
    };
    let err = DB::table("emoji 🌀").count().unwrap_err();
    assert!(matches!(err, Error::InvalidIdentifier { .. }), "{err:?}");
    Ok(())
}

/// A query's SQL is reused per dialect: one shape run on PostgreSQL and on SQLite from one
/// thread, in turns, gets each backend's placeholders.
#[test]
fn one_query_shape_on_two_backends_from_one_thread() -> Result<()> {
    let Some(_pg) = orm_core::testing::postgres() else {
        return Ok(());
    };
    DB::unprepared(
        "CREATE TABLE shapes (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO shapes (id, name) VALUES (1, 'on postgres')",
    )?;
    let mut lite = orm_core::Connection::open("sqlite::memory:")?;
    lite.execute_batch(
        "CREATE TABLE shapes (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO shapes (id, name) VALUES (1, 'on sqlite')",
    )?;
    for _ in 0..2 {
        let pg = DB::table("shapes").where_eq("id", 1).get()?;
        assert_eq!(names(&pg), ["on postgres"]);
        let sqlite = (&mut lite).scope(|| DB::table("shapes").where_eq("id", 1).get())?;
        assert_eq!(names(&sqlite), ["on sqlite"]);
    }
    Ok(())
}
