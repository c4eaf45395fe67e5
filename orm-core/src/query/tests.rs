//! Golden SQL per dialect.

use super::render::{render_delete, render_insert, render_update, SetValue};
use super::*;
use crate::dialect::{PostgresDialect, SqliteDialect};
use crate::error::Error;

fn q() -> Query {
    Query::new("users")
}

fn lite(query: &Query) -> String {
    query.to_sql_for(&SqliteDialect).unwrap().0
}

fn pg(query: &Query) -> String {
    query.to_sql_for(&PostgresDialect).unwrap().0
}

/// Asserts the SQLite rendering and that PostgreSQL renders the same with `$n`.
#[track_caller]
fn golden(query: Query, sqlite: &str) {
    assert_eq!(lite(&query), sqlite);
    let mut n = 0;
    let expected: String = sqlite
        .split('?')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part.to_owned()
            } else {
                n += 1;
                format!("${n}{part}")
            }
        })
        .collect::<String>()
        .replace(r"ESCAPE '\'", r"ESCAPE E'\\'");
    // PostgreSQL compares a column's text with a pattern (`"name"::text LIKE $1`).
    let expected = with_like_cast(&expected);
    assert_eq!(pg(&query), expected);
}

/// `"col" LIKE` / `"col" NOT LIKE` as `"col"::text LIKE` / `"col"::text NOT LIKE`.
fn with_like_cast(sql: &str) -> String {
    let mut out = sql.to_owned();
    for op in [" NOT LIKE ", " LIKE "] {
        let mut rewritten = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(op) {
            let (head, tail) = rest.split_at(at);
            let cast = head.ends_with('"') && !head.ends_with("::text") && !head.ends_with(" NOT");
            rewritten.push_str(head);
            if cast {
                rewritten.push_str("::text");
            }
            rewritten.push_str(op);
            rest = &tail[op.len()..];
        }
        rewritten.push_str(rest);
        out = rewritten;
    }
    out
}

#[test]
fn basic_wheres() {
    golden(
        q().where_("votes", ">", 100)
            .where_("name", "=", "Ada")
            .where_("published", "=", true),
        r#"SELECT * FROM "users" WHERE "votes" > ? AND "name" = ? AND "published" = ?"#,
    );
    let (_, binds) = q()
        .where_("votes", ">", 100)
        .to_sql_for(&SqliteDialect)
        .unwrap();
    assert_eq!(binds, vec![Value::Int(100)]);
    golden(
        q().where_eq("id", 1)
            .or_where_eq("id", 2)
            .or_where("votes", "<>", 3),
        r#"SELECT * FROM "users" WHERE "id" = ? OR "id" = ? OR "votes" <> ?"#,
    );
    golden(
        q().where_("name", "!=", "x")
            .where_("deleted_at", "=", None::<i64>),
        r#"SELECT * FROM "users" WHERE "name" <> ? AND "deleted_at" IS NULL"#,
    );
}

#[test]
fn groups_and_when() {
    golden(
        q().where_eq("active", true)
            .where_group(|q| q.where_("votes", ">", 10).or_where("name", "like", "A%"))
            .or_where_group(|q| q.where_null("email"))
            .where_group(|q| q)
            .when(false, |q| q.where_eq("never", 1))
            .when(true, |q| q.where_eq("always", 1)),
        r#"SELECT * FROM "users" WHERE "active" = ? AND ("votes" > ? OR "name" LIKE ? ESCAPE '\') OR ("email" IS NULL) AND "always" = ?"#,
    );
}

#[test]
fn in_null_between_like_column() {
    let lists = q()
        .where_in("id", [1, 2, 3])
        .or_where_in("id", [9])
        .where_not_in("id", [4]);
    assert_eq!(
        lite(&lists),
        r#"SELECT * FROM "users" WHERE "id" IN (?, ?, ?) OR "id" IN (?) AND "id" NOT IN (?)"#
    );
    // PostgreSQL binds each list as one array.
    assert_eq!(
        pg(&lists),
        r#"SELECT * FROM "users" WHERE "id" = ANY($1) OR "id" = ANY($2) AND "id" <> ALL($3)"#
    );
    let (_, binds) = lists.to_sql_for(&PostgresDialect).unwrap();
    assert_eq!(binds[0], Value::Array(vec![1.into(), 2.into(), 3.into()]));
    golden(
        q().where_in("id", Vec::<i64>::new())
            .where_not_in("id", Vec::<i64>::new()),
        r#"SELECT * FROM "users" WHERE 1 = 0 AND 1 = 1"#,
    );
    golden(
        q().where_null("a")
            .where_not_null("b")
            .or_where_null("c")
            .or_where_not_null("d"),
        r#"SELECT * FROM "users" WHERE "a" IS NULL AND "b" IS NOT NULL OR "c" IS NULL OR "d" IS NOT NULL"#,
    );
    golden(
        q().where_between("votes", 1, 10)
            .where_not_between("votes", 4, 5)
            .or_where_between("id", 7, 8),
        r#"SELECT * FROM "users" WHERE "votes" BETWEEN ? AND ? AND "votes" NOT BETWEEN ? AND ? OR "id" BETWEEN ? AND ?"#,
    );
    golden(
        q().where_like("name", "A%")
            .where_not_like("name", "%z")
            .or_where_like("email", "%@x"),
        r#"SELECT * FROM "users" WHERE "name" LIKE ? ESCAPE '\' AND "name" NOT LIKE ? ESCAPE '\' OR "email" LIKE ? ESCAPE '\'"#,
    );
    golden(
        q().where_column("users.updated_at", ">", "users.created_at")
            .or_where_column("a", "=", "b"),
        r#"SELECT * FROM "users" WHERE "users"."updated_at" > "users"."created_at" OR "a" = "b""#,
    );
}

#[test]
fn ilike_is_dialect_specific() {
    let query = q()
        .where_("name", "ilike", "a%")
        .where_("name", "not ilike", "b%");
    assert_eq!(
        lite(&query),
        r#"SELECT * FROM "users" WHERE "name" LIKE ? ESCAPE '\' AND "name" NOT LIKE ? ESCAPE '\'"#
    );
    assert_eq!(
        pg(&query),
        r#"SELECT * FROM "users" WHERE "name"::text ILIKE $1 ESCAPE E'\\' AND "name"::text NOT ILIKE $2 ESCAPE E'\\'"#
    );
}

#[test]
fn literal_text_matches_escape_the_wildcards() {
    let query = q()
        .where_contains("name", r"50% of a_b\c")
        .or_where_starts_with("name", "x")
        .where_ends_with("name", "%");
    assert_eq!(
        pg(&query),
        r#"SELECT * FROM "users" WHERE "name"::text LIKE $1 ESCAPE E'\\' OR "name"::text LIKE $2 ESCAPE E'\\' AND "name"::text LIKE $3 ESCAPE E'\\'"#
    );
    let (_, binds) = query.to_sql_for(&SqliteDialect).unwrap();
    assert_eq!(
        binds,
        vec![
            Value::from(r"%50\% of a\_b\\c%"),
            Value::from("x%"),
            Value::from(r"%\%"),
        ]
    );
    // On SQLite, text too long for a LIKE pattern is matched without one.
    let long = "y".repeat(50_000);
    assert_eq!(
        lite(
            &q().where_contains("name", "z")
                .where_contains("name", &long)
                .where_starts_with("name", &long)
                .where_ends_with("name", &long)
        ),
        r#"SELECT * FROM "users" WHERE "name" LIKE ? ESCAPE '\' AND instr(lower("name"), lower(?)) > 0 AND instr(lower("name"), lower(?)) = 1 AND substr(lower("name"), -length(?)) = lower(?)"#
    );
}

#[test]
fn bad_like_patterns_are_refused_before_running() {
    for pattern in [r"50\", r"a\\\"] {
        let err = q()
            .where_like("name", pattern)
            .to_sql_for(&SqliteDialect)
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::LikePattern, message: ref m, .. } if m.contains("escape character")),
            "{err}"
        );
    }
    assert!(q()
        .where_like("name", r"50\\")
        .to_sql_for(&PostgresDialect)
        .is_ok());
    let long = "x".repeat(50_001);
    let err = q()
        .where_like("name", long.as_str())
        .to_sql_for(&SqliteDialect)
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::LikePattern, message: ref m, .. } if m.contains("50000")),
        "{err}"
    );
    assert!(q()
        .where_like("name", long.as_str())
        .to_sql_for(&PostgresDialect)
        .is_ok());
}

#[test]
fn subqueries() {
    let posts = Query::<Record>::new("posts")
        .select("user_id")
        .where_eq("published", true);
    golden(
        q().where_eq("active", 1).where_in_sub("id", posts.clone()),
        r#"SELECT * FROM "users" WHERE "active" = ? AND "id" IN (SELECT "user_id" FROM "posts" WHERE "published" = ?)"#,
    );
    golden(
        q().where_not_in_sub("id", posts),
        r#"SELECT * FROM "users" WHERE "id" NOT IN (SELECT "user_id" FROM "posts" WHERE "published" = ?)"#,
    );
    let sub = Query::<Record>::new("posts").where_column("posts.user_id", "=", "users.id");
    golden(
        q().where_exists(sub.clone())
            .where_not_exists(sub.clone())
            .or_where_exists(sub),
        r#"SELECT * FROM "users" WHERE EXISTS (SELECT * FROM "posts" WHERE "posts"."user_id" = "users"."id") AND NOT EXISTS (SELECT * FROM "posts" WHERE "posts"."user_id" = "users"."id") OR EXISTS (SELECT * FROM "posts" WHERE "posts"."user_id" = "users"."id")"#,
    );
}

#[test]
fn every_where_has_its_or_form() {
    let posts = || {
        Query::<Record>::new("posts")
            .select("user_id")
            .where_eq("published", true)
    };
    golden(
        q().where_eq("id", 1)
            .or_where_not_between("votes", 1, 9)
            .or_where_not_like("name", "A%"),
        r#"SELECT * FROM "users" WHERE "id" = ? OR "votes" NOT BETWEEN ? AND ? OR "name" NOT LIKE ? ESCAPE '\'"#,
    );
    golden(
        q().where_eq("id", 1)
            .or_where_in_sub("id", posts())
            .or_where_not_in_sub("team_id", posts()),
        r#"SELECT * FROM "users" WHERE "id" = ? OR "id" IN (SELECT "user_id" FROM "posts" WHERE "published" = ?) OR "team_id" NOT IN (SELECT "user_id" FROM "posts" WHERE "published" = ?)"#,
    );
    let sub = Query::<Record>::new("posts").where_column("posts.user_id", "=", "users.id");
    golden(
        q().where_eq("id", 1).or_where_not_exists(sub.clone()),
        r#"SELECT * FROM "users" WHERE "id" = ? OR NOT EXISTS (SELECT * FROM "posts" WHERE "posts"."user_id" = "users"."id")"#,
    );
    golden(
        q().where_eq("id", 1)
            .or_where_sub(sub.select_raw("COUNT(*)", &[]), ">", 2),
        r#"SELECT * FROM "users" WHERE "id" = ? OR (SELECT COUNT(*) FROM "posts" WHERE "posts"."user_id" = "users"."id") > ?"#,
    );
    golden(
        q().group_by("team_id")
            .having("team_id", ">", 1)
            .or_having("team_id", Operator::Eq, 0)
            .or_having_raw("SUM(votes) > ?", &[&100]),
        r#"SELECT * FROM "users" GROUP BY "team_id" HAVING "team_id" > ? OR "team_id" = ? OR (SUM(votes) > ?)"#,
    );
    // The OR forms of the date parts render like their AND forms.
    let query = q()
        .where_eq("id", 1)
        .or_where_date("created_at", "=", "2024-01-05")
        .or_where_year("created_at", ">=", 2024)
        .or_where_month("created_at", "=", 1)
        .or_where_day("created_at", "<", 6);
    assert_eq!(
        lite(&query),
        r#"SELECT * FROM "users" WHERE "id" = ? OR date("created_at") = ? OR CAST(strftime('%Y', "created_at") AS INTEGER) >= ? OR CAST(strftime('%m', "created_at") AS INTEGER) = ? OR CAST(strftime('%d', "created_at") AS INTEGER) < ?"#
    );
    let and_form = pg(&q()
        .where_date("created_at", "=", "2024-01-05")
        .where_year("created_at", ">=", 2024)
        .where_month("created_at", "=", 1)
        .where_day("created_at", "<", 6));
    let or_form = pg(&q()
        .where_date("created_at", "=", "2024-01-05")
        .or_where_year("created_at", ">=", 2024)
        .or_where_month("created_at", "=", 1)
        .or_where_day("created_at", "<", 6));
    assert_eq!(or_form, and_form.replace(" AND ", " OR "));
}

#[test]
fn operators_are_an_enum_or_their_text() {
    use Operator::*;
    let typed = q()
        .where_("a", Eq, 1)
        .where_("b", NotEq, 1)
        .where_("c", Lt, 1)
        .where_("d", Le, 1)
        .or_where("e", Gt, 1)
        .or_where("f", Ge, 1)
        .where_("g", Like, "x")
        .where_("h", NotLike, "x")
        .where_column("i", Ge, "j")
        .join("p", "p.id", Eq, "users.p_id");
    let not_like = String::from("not like");
    let text = q()
        .where_("a", "=", 1)
        .where_("b", "!=", 1)
        .where_("c", "<", 1)
        .where_("d", "<=", 1)
        .or_where("e", ">", 1)
        .or_where("f", String::from(">="), 1)
        .where_("g", "LIKE", "x")
        .where_("h", &not_like, "x")
        .where_column("i", ">=", "j")
        .join("p", "p.id", "==", "users.p_id");
    assert_eq!(lite(&typed), lite(&text));
    assert_eq!(not_like.parse::<Operator>().unwrap(), NotLike);
    // Surrounding spaces are ignored, symbols too.
    assert_eq!(" >= ".parse::<Operator>().unwrap(), Ge);
    assert_eq!("<>\t".parse::<Operator>().unwrap(), NotEq);
    assert!("=>".parse::<Operator>().is_err());
    assert_eq!(pg(&typed), pg(&text));
    assert_eq!(
        pg(&q().where_("a", ILike, "x").where_("b", NotILike, "y")),
        r#"SELECT * FROM "users" WHERE "a"::text ILIKE $1 ESCAPE E'\\' AND "b"::text NOT ILIKE $2 ESCAPE E'\\'"#
    );
}

#[test]
fn date_parts_per_dialect() {
    let query = q()
        .where_date("created_at", "=", "2024-01-05")
        .where_year("created_at", ">=", 2024)
        .where_month("created_at", "=", 1)
        .where_day("created_at", "<", 6);
    assert_eq!(
        lite(&query),
        r#"SELECT * FROM "users" WHERE date("created_at") = ? AND CAST(strftime('%Y', "created_at") AS INTEGER) >= ? AND CAST(strftime('%m', "created_at") AS INTEGER) = ? AND CAST(strftime('%d', "created_at") AS INTEGER) < ?"#
    );
    // PostgreSQL: a TIMESTAMPTZ's parts are taken in UTC, whatever the session's zone.
    let part = |field: &str| {
        format!(
            r#"CASE WHEN pg_typeof("created_at") = 'timestamptz'::regtype THEN CAST(EXTRACT({field} FROM CAST("created_at" AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS INTEGER) ELSE CAST(EXTRACT({field} FROM CAST("created_at" AS TIMESTAMP)) AS INTEGER) END"#
        )
    };
    let date = r#"CASE WHEN pg_typeof("created_at") = 'timestamptz'::regtype THEN CAST(CAST("created_at" AS TIMESTAMPTZ) AT TIME ZONE 'UTC' AS DATE) ELSE CAST(CAST("created_at" AS TIMESTAMP) AS DATE) END"#;
    assert_eq!(
        pg(&query),
        format!(
            r#"SELECT * FROM "users" WHERE {date} = $1 AND {} >= $2 AND {} = $3 AND {} < $4"#,
            part("YEAR"),
            part("MONTH"),
            part("DAY")
        )
    );
}

#[test]
fn raw_pieces_take_bindings() {
    golden(
        q().where_raw("votes > ? * 2", &[&10])
            .or_where_raw("name = ?", &[&"x"]),
        r#"SELECT * FROM "users" WHERE (votes > ? * 2) OR (name = ?)"#,
    );
    golden(
        q().select_raw("COUNT(*) AS n, ? AS k", &[&1])
            .group_by("name")
            .having_raw("COUNT(*) > ?", &[&1])
            .order_by_raw("n DESC", &[]),
        r#"SELECT COUNT(*) AS n, ? AS k FROM "users" GROUP BY "name" HAVING (COUNT(*) > ?) ORDER BY n DESC"#,
    );
    let err = q()
        .where_raw("a = ? AND b = ?", &[&1])
        .to_sql_for(&SqliteDialect)
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidQuery {
            kind: InvalidQueryKind::Placeholders,
            ..
        }
    ));
}

#[test]
fn select_and_identifiers() {
    golden(
        q().select(&["id", "users.name as n", "posts.*", "*"])
            .add_select("email AS mail")
            .distinct(),
        r#"SELECT DISTINCT "id", "users"."name" AS "n", "posts".*, *, "email" AS "mail" FROM "users""#,
    );
    golden(
        Query::<Record>::new("users as u")
            .select(&["u.id"])
            .select(vec!["u.name".to_owned()]),
        r#"SELECT "u"."name" FROM "users" AS "u""#,
    );
    // A static list (array or slice) adds to what is selected; `select` starts over.
    let names: &[&str] = &["email", "votes"];
    golden(
        q().select("id").add_select(&["name"]).add_select(names),
        r#"SELECT "id", "name", "email", "votes" FROM "users""#,
    );
    golden(
        q().select(vec!["id".to_owned()]).select(names),
        r#"SELECT "email", "votes" FROM "users""#,
    );
    // Held as names or as items, one selection is one selection.
    assert_eq!(
        q().select(&["id", "name"]).parts(),
        q().select("id").add_select("name").parts()
    );
    assert_ne!(
        q().select(&["id", "name"]).parts(),
        q().select("id").add_select("email").parts()
    );
    golden(
        q().select(&["id", "name"])
            .select_raw("? AS k", &[&1])
            .add_select(&["votes"]),
        r#"SELECT "id", "name", ? AS k, "votes" FROM "users""#,
    );
    golden(
        q().where_eq(r#"we"ird"#, 1),
        r#"SELECT * FROM "users" WHERE "we""ird" = ?"#,
    );
    let err = q().where_eq("", 1).to_sql_for(&SqliteDialect).unwrap_err();
    assert!(matches!(err, Error::InvalidIdentifier { .. }));
}

#[test]
fn joins() {
    golden(
        q().join("posts", "users.id", "=", "posts.user_id")
            .left_join("comments as c", "c.post_id", "=", "posts.id")
            .right_join("teams", "teams.id", "=", "users.team_id")
            .cross_join("colors"),
        r#"SELECT * FROM "users" INNER JOIN "posts" ON "users"."id" = "posts"."user_id" LEFT JOIN "comments" AS "c" ON "c"."post_id" = "posts"."id" RIGHT JOIN "teams" ON "teams"."id" = "users"."team_id" CROSS JOIN "colors""#,
    );
    golden(
        q().join_with("posts", |j| {
            j.on("users.id", "=", "posts.user_id")
                .or_on("users.id", "=", "posts.editor_id")
                .where_("posts.published", "=", true)
                .or_where("posts.votes", ">", 3)
                .where_null("posts.deleted_at")
        })
        .left_join_with("tags", |j| j.on("tags.user_id", "=", "users.id"))
        .right_join_with("x", |j| j.on("x.id", "=", "users.id"))
        .where_eq("users.id", 1),
        r#"SELECT * FROM "users" INNER JOIN "posts" ON "users"."id" = "posts"."user_id" OR "users"."id" = "posts"."editor_id" AND "posts"."published" = ? OR "posts"."votes" > ? AND "posts"."deleted_at" IS NULL LEFT JOIN "tags" ON "tags"."user_id" = "users"."id" RIGHT JOIN "x" ON "x"."id" = "users"."id" WHERE "users"."id" = ?"#,
    );
    golden(
        q().left_join_with("posts", |j| {
            j.on("posts.user_id", Operator::Eq, "users.id")
                .where_not_null("posts.published_at")
                .or_where_null("posts.pinned_at")
                .or_where_not_null("posts.featured_at")
        }),
        r#"SELECT * FROM "users" LEFT JOIN "posts" ON "posts"."user_id" = "users"."id" AND "posts"."published_at" IS NOT NULL OR "posts"."pinned_at" IS NULL OR "posts"."featured_at" IS NOT NULL"#,
    );
}

#[test]
fn grouping_ordering_paging() {
    golden(
        q().group_by(&["team_id", "role"]).having("team_id", ">", 1),
        r#"SELECT * FROM "users" GROUP BY "team_id", "role" HAVING "team_id" > ?"#,
    );
    golden(
        q().order_by("name")
            .order_by_desc("votes")
            .latest()
            .oldest()
            .latest_by("id")
            .oldest_by("x"),
        r#"SELECT * FROM "users" ORDER BY "name" ASC, "votes" DESC, "created_at" DESC, "created_at" ASC, "id" DESC, "x" ASC"#,
    );
    golden(
        q().in_random_order(),
        r#"SELECT * FROM "users" ORDER BY RANDOM()"#,
    );
    golden(q().order_by("a").reorder(), r#"SELECT * FROM "users""#);
    golden(
        q().limit(10).offset(20),
        r#"SELECT * FROM "users" LIMIT 10 OFFSET 20"#,
    );
    golden(
        q().take(5).skip(5),
        r#"SELECT * FROM "users" LIMIT 5 OFFSET 5"#,
    );
    golden(
        q().for_page(3, 15),
        r#"SELECT * FROM "users" LIMIT 15 OFFSET 30"#,
    );
    golden(
        q().for_page(0, 15),
        r#"SELECT * FROM "users" LIMIT 15 OFFSET 0"#,
    );
    assert_eq!(
        lite(&q().offset(5)),
        r#"SELECT * FROM "users" LIMIT -1 OFFSET 5"#
    );
    assert_eq!(pg(&q().offset(5)), r#"SELECT * FROM "users" OFFSET 5"#);
    // Numbers past i64::MAX (from requests) are written as i64::MAX, which the
    // databases take: the same rows (no limit; past every row).
    let max = i64::MAX as u64;
    for huge in [max, max + 1, u64::MAX] {
        golden(
            q().limit(huge).offset(huge),
            r#"SELECT * FROM "users" LIMIT 9223372036854775807 OFFSET 9223372036854775807"#,
        );
        golden(
            q().for_page(huge, 2),
            r#"SELECT * FROM "users" LIMIT 2 OFFSET 9223372036854775807"#,
        );
        golden(
            q().for_page(1, huge),
            r#"SELECT * FROM "users" LIMIT 9223372036854775807 OFFSET 0"#,
        );
        assert_eq!(
            lite(&q().offset(huge)),
            r#"SELECT * FROM "users" LIMIT -1 OFFSET 9223372036854775807"#
        );
    }
}

#[test]
fn nulls_placed_in_each_dialect() {
    let query = q().order_by_desc("due").nulls_last().order_by("id");
    assert_eq!(
        lite(&query),
        r#"SELECT * FROM "users" ORDER BY "due" DESC NULLS LAST, "id" ASC"#
    );
    assert_eq!(
        pg(&query),
        r#"SELECT * FROM "users" ORDER BY "due" DESC NULLS LAST, "id" ASC"#
    );
    let (mysql, _) = query
        .to_sql_for(&crate::dialect::MysqlDialect::RETURNING)
        .unwrap();
    assert_eq!(
        mysql,
        "SELECT * FROM `users` ORDER BY `due` IS NULL ASC, `due` DESC, `id` ASC"
    );
    let intersected = q()
        .select("name")
        .intersect(Query::<Record>::new("admins").select("name"))
        .except(Query::<Record>::new("banned").select("name"));
    assert_eq!(
        lite(&intersected),
        r#"SELECT "name" FROM "users" INTERSECT SELECT "name" FROM "admins" EXCEPT SELECT "name" FROM "banned""#
    );
}

#[test]
fn common_table_expressions() {
    golden(
        Query::<Record>::new("popular")
            .with_expression("popular", q().select("id").where_("votes", ">", 100))
            .with_expression(
                "red",
                Query::<Record>::new("popular").where_eq("team", "red"),
            )
            .where_eq("id", 1),
        r#"WITH "popular" AS (SELECT "id" FROM "users" WHERE "votes" > ?), "red" AS (SELECT * FROM "popular" WHERE "team" = ?) SELECT * FROM "popular" WHERE "id" = ?"#,
    );
    golden(
        Query::<Record>::new("series").with_recursive_expression(
            "series",
            q().select_raw("1 AS n", &[]).union_all(
                Query::<Record>::new("series")
                    .select_raw("n + 1", &[])
                    .where_("n", "<", 5),
            ),
        ),
        r#"WITH RECURSIVE "series" AS (SELECT 1 AS n FROM "users" UNION ALL SELECT n + 1 FROM "series" WHERE "n" < ?) SELECT * FROM "series""#,
    );
    // A union ordered by an expression is a derived table; the expression stays outside.
    golden(
        Query::<Record>::new("a")
            .with_expression("a", q())
            .union(Query::<Record>::new("a"))
            .order_by_raw("length(name)", &[]),
        r#"WITH "a" AS (SELECT * FROM "users") SELECT * FROM (SELECT * FROM "a" UNION SELECT * FROM "a") AS "orm_compound" ORDER BY length(name)"#,
    );
}

#[test]
fn unions_and_locks() {
    golden(
        q().select("name")
            .where_eq("a", 1)
            .union(
                Query::<Record>::new("admins")
                    .select("name")
                    .where_eq("b", 2),
            )
            .union_all(Query::<Record>::new("guests").select("name"))
            .order_by("name")
            .limit(3),
        r#"SELECT "name" FROM "users" WHERE "a" = ? UNION SELECT "name" FROM "admins" WHERE "b" = ? UNION ALL SELECT "name" FROM "guests" ORDER BY "name" ASC LIMIT 3"#,
    );
    // A part with a limit or compound parts of its own is read from a derived table.
    golden(
        q().select("name")
            .union(
                Query::<Record>::new("x")
                    .select("name")
                    .order_by("name")
                    .limit(1),
            )
            .except(
                Query::<Record>::new("y")
                    .select("name")
                    .where_eq("b", 2)
                    .union(Query::<Record>::new("z").select("name")),
            ),
        r#"SELECT "name" FROM "users" UNION SELECT * FROM (SELECT "name" FROM "x" ORDER BY "name" ASC LIMIT 1) AS "orm_compound" EXCEPT SELECT * FROM (SELECT "name" FROM "y" WHERE "b" = ? UNION SELECT "name" FROM "z") AS "orm_compound""#,
    );
    let bad = q().union(Query::<Record>::new("x").lock_for_update());
    assert!(matches!(
        bad.to_sql_for(&SqliteDialect),
        Err(Error::InvalidQuery {
            kind: InvalidQueryKind::Clauses,
            ..
        })
    ));

    let locked = q().where_eq("id", 1).lock_for_update();
    assert_eq!(lite(&locked), r#"SELECT * FROM "users" WHERE "id" = ?"#);
    assert_eq!(
        pg(&locked),
        r#"SELECT * FROM "users" WHERE "id" = $1 FOR UPDATE"#
    );
    assert_eq!(pg(&q().shared_lock()), r#"SELECT * FROM "users" FOR SHARE"#);
}

#[test]
fn scopes_wrap_the_query_s_own_conditions() {
    let scoped = q()
        .scope("soft_deletes", |q| q.where_null("deleted_at"))
        .where_eq("a", 1)
        .or_where_eq("b", 2);
    assert!(scoped.has_scope("soft_deletes"));
    golden(
        scoped.clone(),
        r#"SELECT * FROM "users" WHERE "deleted_at" IS NULL AND ("a" = ? OR "b" = ?)"#,
    );
    golden(
        scoped.clone().without_scope("soft_deletes"),
        r#"SELECT * FROM "users" WHERE "a" = ? OR "b" = ?"#,
    );
    golden(
        q().scope("s", |q| q.where_eq("t", 1).or_where_eq("t", 2))
            .scope("s", |q| q.where_eq("t", 3))
            .scope("u", |q| q.where_eq("u", 4)),
        r#"SELECT * FROM "users" WHERE "t" = ? AND "u" = ?"#,
    );
    golden(
        q().scope("s", |q| q.where_eq("t", 1)).without_scopes(),
        r#"SELECT * FROM "users""#,
    );
}

#[test]
fn unknown_operators_are_errors_not_sql() {
    for query in [
        q().where_("votes", "; DROP TABLE users; --", 1),
        q().or_where("votes", "=>", 1),
        q().where_column("a", "===", "b"),
        q().having("a", "~", 1),
        q().or_having("a", "~", 1),
        q().or_where_date("a", "=<", 1),
        q().or_where_sub(q(), "in", 1),
        q().where_year("a", "between", 1),
        q().join("p", "a", "<=>", "b"),
        q().join_with("p", |j| j.on("a", "^", "b")),
        q().where_group(|q| q.where_("a", "lol", 1)),
        q().scope("s", |q| q.where_("a", "lol", 1)),
    ] {
        let err = query.to_sql_for(&PostgresDialect).unwrap_err();
        assert!(
            matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::Operator, message: ref m, .. } if m.contains("unknown operator")),
            "{err}"
        );
    }
}

fn aggregate(
    query: Query,
    function: &'static str,
    column: Option<&'static str>,
    float: bool,
) -> (String, String) {
    let mut a = SqlWriter::new(&SqliteDialect);
    Parts::clone(&query.parts).render_aggregate(
        &mut a,
        function,
        column.map(Ident::Borrowed),
        float,
    );
    let mut b = SqlWriter::new(&PostgresDialect);
    query
        .into_parts()
        .render_aggregate(&mut b, function, column.map(Ident::Borrowed), float);
    (a.finish().unwrap().0, b.finish().unwrap().0)
}

#[test]
fn aggregates() {
    let (s, _) = aggregate(
        q().where_eq("a", 1).order_by("x").lock_for_update(),
        "COUNT",
        None,
        false,
    );
    assert_eq!(
        s,
        r#"SELECT COUNT(*) AS "aggregate" FROM "users" WHERE "a" = ?"#
    );
    let (s, p) = aggregate(q(), "SUM", Some("votes"), true);
    assert_eq!(
        s,
        r#"SELECT SUM(CAST("votes" AS REAL)) AS "aggregate" FROM "users""#
    );
    assert_eq!(
        p,
        r#"SELECT CAST(SUM("votes") AS DOUBLE PRECISION) AS "aggregate" FROM "users""#
    );
    let (s, p) = aggregate(
        q().select("name").distinct().limit(5),
        "MAX",
        Some("users.name"),
        false,
    );
    assert_eq!(
        s,
        r#"SELECT MAX("name") AS "aggregate" FROM (SELECT DISTINCT "name" FROM "users" LIMIT 5) AS "aggregate_table""#
    );
    assert_eq!(
        p,
        r#"SELECT MAX("name") AS "aggregate" FROM (SELECT DISTINCT "name" FROM "users" LIMIT 5) AS "aggregate_table""#
    );
    // Two columns of one name selected from a static list: the derived table aliases one.
    let (s, _) = aggregate(
        q().select(&["users.id", "posts.id"])
            .join("posts", "posts.user_id", "=", "users.id")
            .distinct(),
        "COUNT",
        None,
        false,
    );
    assert_eq!(
        s,
        r#"SELECT COUNT(*) AS "aggregate" FROM (SELECT DISTINCT "users"."id", "posts"."id" AS "aggregate_column_1" FROM "users" INNER JOIN "posts" ON "posts"."user_id" = "users"."id") AS "aggregate_table""#
    );
    let mut w = SqlWriter::new(&PostgresDialect);
    q().where_eq("a", 1).into_parts().render_exists(&mut w);
    assert_eq!(
        w.finish().unwrap().0,
        r#"SELECT EXISTS (SELECT * FROM "users" WHERE "a" = $1) AS "exists""#
    );
}

fn write_sql(dialect: &'static dyn Dialect, f: impl FnOnce(&mut SqlWriter)) -> String {
    let mut w = SqlWriter::new(dialect);
    f(&mut w);
    w.finish().unwrap().0
}

#[test]
fn writes() {
    for (dialect, p1, p2, p3) in [
        (&SqliteDialect as &'static dyn Dialect, "?", "?", "?"),
        (&PostgresDialect, "$1", "$2", "$3"),
    ] {
        let sql = write_sql(dialect, |w| {
            let mut values = vec![Value::Int(1), Value::Int(2)].into_iter();
            render_insert(w, "users as u", &["a"], 2, &mut values);
        });
        assert_eq!(
            sql,
            format!(r#"INSERT INTO "users" ("a") VALUES ({p1}), ({p2})"#)
        );
        let sql = write_sql(dialect, |w| {
            render_insert(w, "users", &[], 1, &mut std::iter::empty());
        });
        assert_eq!(sql, r#"INSERT INTO "users" DEFAULT VALUES"#);
        let sql = write_sql(dialect, |w| {
            let mut values = vec![Value::Int(1), Value::Int(2)].into_iter();
            render_insert(w, "users", &["email", "name"], 1, &mut values);
            dialect.push_upsert(w, &["email"], &["name"]);
        });
        assert_eq!(
            sql,
            format!(
                r#"INSERT INTO "users" ("email", "name") VALUES ({p1}, {p2}) ON CONFLICT ("email") DO UPDATE SET "name" = excluded."name""#
            )
        );
        let sql = write_sql(dialect, |w| dialect.push_upsert(w, &["a", "b"], &[]));
        assert_eq!(sql, r#" ON CONFLICT ("a", "b") DO NOTHING"#);
        let sql = write_sql(dialect, |w| dialect.push_returning(w, "id"));
        assert_eq!(sql, r#" RETURNING "id""#);
        let sql = write_sql(dialect, |w| {
            render_update(
                w,
                q().where_eq("id", 5).into_parts(),
                "id",
                vec![
                    ("users.votes", SetValue::Add(Value::Int(1))),
                    ("name", SetValue::Value("x".into())),
                ],
            )
        });
        // SQLite checks an integer step for overflow (its sum would become a double).
        let step = if p1 == "?" {
            r#"CASE WHEN typeof("votes") = 'integer' AND typeof("votes" + ?) = 'real' THEN abs(-9223372036854775807 - 1) ELSE "votes" + ? END"#.to_owned()
        } else {
            format!(r#""votes" + {p1}"#)
        };
        assert_eq!(
            sql,
            format!(r#"UPDATE "users" SET "votes" = {step}, "name" = {p2} WHERE "id" = {p3}"#)
        );
        let sql = write_sql(dialect, |w| {
            render_update(
                w,
                q().into_parts(),
                "id",
                vec![("votes", SetValue::Sub(Value::Int(1)))],
            )
        });
        let step = step.replace(" + ", " - ");
        assert_eq!(sql, format!(r#"UPDATE "users" SET "votes" = {step}"#));
        let sql = write_sql(dialect, |w| {
            let parts = Query::<Record>::new("users as u")
                .where_eq("u.id", 5)
                .into_parts();
            render_delete(w, parts, "id")
        });
        assert_eq!(
            sql,
            format!(r#"DELETE FROM "users" AS "u" WHERE "u"."id" = {p1}"#)
        );
        let sql = write_sql(dialect, |w| {
            render_delete(w, q().where_eq("id", 5).into_parts(), "id")
        });
        assert_eq!(sql, format!(r#"DELETE FROM "users" WHERE "id" = {p1}"#));
        let sql = write_sql(dialect, |w| {
            render_delete(
                w,
                q().where_eq("a", 1).order_by("id").limit(2).into_parts(),
                "id",
            )
        });
        assert_eq!(
            sql,
            format!(
                r#"DELETE FROM "users" WHERE "id" IN (SELECT "users"."id" FROM "users" WHERE "a" = {p1} ORDER BY "id" ASC LIMIT 2)"#
            )
        );
        let sql = write_sql(dialect, |w| {
            render_delete(
                w,
                q().scope("s", |q| q.where_null("deleted_at"))
                    .where_eq("a", 1)
                    .into_parts(),
                "id",
            )
        });
        assert_eq!(
            sql,
            format!(r#"DELETE FROM "users" WHERE "deleted_at" IS NULL AND "a" = {p1}"#)
        );
    }
    assert_eq!(
        write_sql(&SqliteDialect, |w| SqliteDialect.push_truncate(w, "users")),
        r#"DELETE FROM "users""#
    );
    assert_eq!(
        write_sql(&PostgresDialect, |w| PostgresDialect
            .push_truncate(w, "users")),
        r#"TRUNCATE TABLE "users" RESTART IDENTITY"#
    );
}

#[test]
fn queries_remember_their_connection_and_key() {
    let query = Query::<Record>::table("users")
        .use_connection("analytics")
        .primary_key("uuid");
    assert_eq!(query.connection_name(), "analytics");
    assert_eq!(query.key_name(), "uuid");
    assert_eq!(query.table_name(), "users");
    assert_eq!(crate::DB::table("t").connection_name(), "default");
    assert_eq!(crate::DB::connection("x").table("t").connection_name(), "x");
    let typed: Query<(i64,)> = query.into_rows();
    assert_eq!(typed.key_name(), "uuid");
}

#[test]
fn row_macro_builds_pairs() {
    let row = crate::row! {"name" => "Ada", "votes" => 3, "ok" => true};
    assert_eq!(row[1], ("votes", Value::Int(3)));
    assert_eq!(row[2], ("ok", Value::Bool(true)));
}

/// Every builder call moves the query: at 128 bytes or less the move is a few register
/// copies, above it a call to `memcpy` (four of them building a one-join query).
#[test]
fn a_query_is_small_enough_to_move_without_a_call() {
    assert!(
        std::mem::size_of::<Query>() <= 128,
        "{}",
        std::mem::size_of::<Query>()
    );
}

#[test]
fn conditions_a_callback_adds_are_bracketed_when_they_hold_an_or() {
    let base = || q().where_eq("a", 1).where_eq("b", 2);
    golden(
        base().bracketed(|q| q.where_eq("c", 3).or_where_eq("d", 4)),
        r#"SELECT * FROM "users" WHERE "a" = ? AND "b" = ? AND ("c" = ? OR "d" = ?)"#,
    );
    // Without an `OR` nothing moves; a lone `or_where` narrows.
    golden(
        base().bracketed(|q| q.where_eq("c", 3)),
        r#"SELECT * FROM "users" WHERE "a" = ? AND "b" = ? AND "c" = ?"#,
    );
    golden(
        base().bracketed(|q| q.or_where_eq("c", 3)),
        r#"SELECT * FROM "users" WHERE "a" = ? AND "b" = ? AND "c" = ?"#,
    );
    // An `OR` before the callback is bracketed too, so the callback narrows all of it.
    golden(
        q().where_eq("a", 1)
            .or_where_eq("b", 2)
            .bracketed(|q| q.where_eq("c", 3)),
        r#"SELECT * FROM "users" WHERE ("a" = ? OR "b" = ?) AND "c" = ?"#,
    );
    golden(
        q().bracketed(|q| q.where_eq("c", 3).or_where_eq("d", 4)),
        r#"SELECT * FROM "users" WHERE ("c" = ? OR "d" = ?)"#,
    );
    // The values stay in order.
    let (_, values) = base()
        .bracketed(|q| q.where_eq("c", 3).or_where_eq("d", 4))
        .to_sql_for(&SqliteDialect)
        .unwrap();
    assert_eq!(values, [1, 2, 3, 4].map(Value::from));
}

#[test]
fn json_paths_per_dialect() {
    let my = |query: &Query| {
        query
            .to_sql_for(&crate::dialect::MysqlDialect::RETURNING)
            .unwrap()
            .0
    };
    let query = q()
        .where_("options->size", ">", 9)
        .where_eq("options->on", true)
        .where_eq("tags->0", "a")
        .order_by("options->rank");
    assert_eq!(
        lite(&query),
        r#"SELECT * FROM "users" WHERE CASE WHEN json_type("options", '$."size"') IN ('integer', 'real') THEN json_extract("options", '$."size"') END > ? AND CASE WHEN json_type("options", '$."on"') IN ('true', 'false') THEN json_extract("options", '$."on"') END = ? AND CAST(json_extract("tags", '$[0]') AS TEXT) = ? ORDER BY json_extract("options", '$."rank"') ASC"#
    );
    assert_eq!(
        pg(&query),
        r#"SELECT * FROM "users" WHERE CASE WHEN jsonb_typeof((("options"->'size'))::jsonb) = 'number' THEN (("options"->>'size'))::numeric END > $1 AND CASE WHEN jsonb_typeof((("options"->'on'))::jsonb) = 'boolean' THEN (("options"->>'on'))::boolean END = $2 AND ("tags"->>0) = $3 ORDER BY (("options"->'rank'))::jsonb ASC"#
    );
    assert_eq!(
        my(&query),
        "SELECT * FROM `users` WHERE CASE WHEN json_type(json_extract(`options`, '$.\"size\"')) IN ('INTEGER', 'UNSIGNED INTEGER', 'DOUBLE', 'DECIMAL') THEN json_unquote(json_extract(`options`, '$.\"size\"')) END > (? + 0) AND CASE WHEN json_type(json_extract(`options`, '$.\"on\"')) IN ('BOOLEAN') THEN json_unquote(json_extract(`options`, '$.\"on\"')) END = IF(?, 'true', 'false') AND json_unquote(json_extract(`tags`, '$[0]')) = ? ORDER BY json_extract(`options`, '$.\"rank\"') ASC"
    );
    #[cfg(feature = "json")]
    {
        let contains = q()
            .where_json_contains("options->tags", "a")
            .where_json_length("tags", ">", 1);
        assert_eq!(
            pg(&contains),
            r#"SELECT * FROM "users" WHERE ((("options"->'tags'))::jsonb @> $1) AND jsonb_array_length(("tags")::jsonb) > $2"#
        );
        assert_eq!(
            my(&contains),
            "SELECT * FROM `users` WHERE (json_contains(`options`, ?, '$.\"tags\"')) AND json_length(`tags`) > ?"
        );
        assert_eq!(
            lite(&contains),
            r#"SELECT * FROM "users" WHERE ((EXISTS (SELECT 1 FROM json_each("options", '$."tags"') WHERE json_each.type = 'text' AND json_each.value = ?))) AND json_array_length("tags") > ?"#
        );
    }
    for bad in ["options->", "options->a b", "->a", "options->a'--"] {
        let err = q().where_eq(bad, 1).to_sql_for(&SqliteDialect).unwrap_err();
        assert!(
            matches!(err, Error::InvalidIdentifier { .. }),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn long_integer_in_lists_are_literals() {
    let keys: Vec<i64> = (0..1001).collect();
    let sql = lite(&q().where_in("id", keys));
    assert!(
        sql.starts_with(r#"SELECT * FROM "users" WHERE "id" IN (0, 1, 2,"#),
        "{sql}"
    );
    assert!(!sql.contains('?'));
    let short = lite(&q().where_in("id", (0..1000).collect::<Vec<i64>>()));
    assert!(short.contains("?, ?"));
}
