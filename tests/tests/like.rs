//! `LIKE` means the same on every backend, and user text can be matched literally
//! (issue 14, item 12).

use orm_core::prelude::*;
use orm_core::{dialect::escape_like, Backend, Query};
use orm_tests::{backend, on_every_backend};

const NAMES: [&str; 11] = [
    "50%",
    "500",
    r"50\",
    "a_b",
    "axb",
    "it's",
    r#"say "hi""#,
    r"back\slash",
    "Alpha",
    "alpha",
    "100% sure",
];

fn items() -> Result<()> {
    DB::statement("CREATE TABLE items (name TEXT NOT NULL)")?;
    for name in NAMES {
        DB::table("items").insert(row! {"name" => name})?;
    }
    Ok(())
}

fn names(query: Query) -> Result<Vec<String>> {
    let mut names: Vec<String> = query.pluck("name")?;
    names.sort();
    Ok(names)
}

fn items_where(f: impl FnOnce(Query) -> Query) -> Result<Vec<String>> {
    names(f(DB::table("items")))
}

on_every_backend! {
    fn a_number_or_date_column_matches_a_pattern_by_its_text_everywhere() {
        orm_migrate::Schema::on_default(|s| {
            s.create("codes", |t| {
                t.increments("id");
                t.big_integer("number");
                t.date("day");
            })
        })
        .map_err(Error::other)?;
        for (number, day) in [(1205, "2024-01-05"), (2105, "2024-02-10"), (77, "2023-12-31")] {
            DB::table("codes").insert(orm_core::row! {"number" => number, "day" => chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap()})?;
        }
        let count = |q: Query| q.count();
        assert_eq!(count(DB::table("codes").where_like("number", "%05"))?, 2);
        assert_eq!(count(DB::table("codes").where_contains("number", "20"))?, 1);
        assert_eq!(count(DB::table("codes").where_("number", "not like", "12%"))?, 2);
        assert_eq!(count(DB::table("codes").where_like("day", "2024-%"))?, 2);
        assert_eq!(count(DB::table("codes").where_("id", "ilike", "1"))?, 1);
        Ok(())
    }

    fn a_pattern_matches_the_same_rows_everywhere() {
        items()?;
        // A backslash escapes the next character on every backend (SQLite had no escape).
        assert_eq!(items_where(|q| q.where_like("name", r"50\%"))?, ["50%"]);
        assert_eq!(items_where(|q| q.where_like("name", r"a\_b"))?, ["a_b"]);
        assert_eq!(items_where(|q| q.where_like("name", "a_b"))?, ["a_b", "axb"]);
        assert_eq!(items_where(|q| q.where_like("name", r"%\\"))?, [r"50\"]);
        assert_eq!(items_where(|q| q.where_like("name", r"%\\%"))?, [r"50\", r"back\slash"]);
        assert_eq!(items_where(|q| q.where_not_like("name", r"%\%%"))?.len(), NAMES.len() - 2);
        assert_eq!(items_where(|q| q.where_("name", "ilike", r"50\%"))?, ["50%"]);
        // `\` before an ordinary character is that character.
        assert_eq!(items_where(|q| q.where_like("name", r"\a\x\b"))?, ["axb"]);
        Ok(())
    }

    fn a_trailing_escape_is_a_typed_error() {
        items()?;
        for pattern in [r"50\", r"50\\\"] {
            let err = DB::table("items").where_like("name", pattern).count().unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::LikePattern, message: ref m, .. } if m.contains("escape character")), "{err}");
            let err = DB::table("items").where_("name", "ilike", pattern).get().unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { kind: InvalidQueryKind::LikePattern, .. }), "{err}");
        }
        Ok(())
    }

    fn user_text_is_matched_literally() {
        items()?;
        assert_eq!(items_where(|q| q.where_contains("name", "0%"))?, ["100% sure", "50%"]);
        assert_eq!(items_where(|q| q.where_contains("name", "_"))?, ["a_b"]);
        assert_eq!(items_where(|q| q.where_contains("name", r"\"))?, [r"50\", r"back\slash"]);
        assert_eq!(items_where(|q| q.where_contains("name", "'s"))?, ["it's"]);
        assert_eq!(items_where(|q| q.where_starts_with("name", "50"))?, ["50%", "500", r"50\"]);
        assert_eq!(items_where(|q| q.where_starts_with("name", "50%"))?, ["50%"]);
        assert_eq!(items_where(|q| q.where_ends_with("name", r#""hi""#))?, [r#"say "hi""#]);
        assert_eq!(items_where(|q| q.where_ends_with("name", "%"))?, ["50%"]);
        assert_eq!(
            items_where(|q| q.where_starts_with("name", "a_").or_where_ends_with("name", r"\"))?,
            [r"50\", "a_b"]
        );
        assert_eq!(
            items_where(|q| q.where_contains("name", "%").or_where_contains("name", "'"))?,
            ["100% sure", "50%", "it's"]
        );
        assert_eq!(
            items_where(|q| q.where_contains("name", "nothing").or_where_starts_with("name", "ax"))?,
            ["axb"]
        );
        assert_eq!(items_where(|q| q.where_contains("name", ""))?.len(), NAMES.len());
        // Case: LIKE's, as documented (ASCII case ignored on SQLite only) ...
        let alpha = items_where(|q| q.where_contains("name", "ALPH"))?;
        match backend() {
            Backend::Sqlite => assert_eq!(alpha, ["Alpha", "alpha"]),
            _ => assert!(alpha.is_empty()),
        }
        // ... and `ilike` with escaped text ignores case on both.
        let pattern = format!("%{}%", escape_like("LPHA"));
        assert_eq!(items_where(|q| q.where_("name", "ilike", pattern))?, ["Alpha", "alpha"]);
        Ok(())
    }

    fn long_text_is_matched_and_long_patterns_are_refused_alike() {
        DB::statement("CREATE TABLE items (name TEXT NOT NULL)")?;
        // 40 000 bytes of text that escape to a 60 000-byte pattern, past SQLite's limit.
        let middle = "%_".repeat(20_000);
        let long = format!("Start{middle}end");
        DB::table("items").insert(row! {"name" => long.as_str()})?;
        DB::table("items").insert(row! {"name" => middle.as_str()})?;
        DB::table("items").insert(row! {"name" => "short"})?;
        let count = |f: &dyn Fn(Query) -> Query| f(DB::table("items")).count();
        assert_eq!(count(&|q| q.where_contains("name", &middle))?, 2);
        assert_eq!(count(&|q| q.where_contains("name", &format!("t{middle}e")))?, 1);
        assert_eq!(count(&|q| q.where_starts_with("name", &format!("Start{middle}")))?, 1);
        assert_eq!(count(&|q| q.where_starts_with("name", &middle))?, 1);
        assert_eq!(count(&|q| q.where_ends_with("name", &format!("{middle}end")))?, 1);
        assert_eq!(count(&|q| q.where_ends_with("name", &middle))?, 1);
        assert_eq!(count(&|q| q.where_ends_with("name", &format!("x{long}")))?, 0);
        assert_eq!(
            count(&|q| q.where_contains("name", "nothing").or_where_contains("name", &middle))?,
            2
        );
        // The case rule does not change with the text's length.
        let shouted = format!("START{middle}");
        let expected = if backend() == Backend::Sqlite { 1 } else { 0 };
        assert_eq!(count(&|q| q.where_starts_with("name", &shouted))?, expected);
        assert_eq!(count(&|q| q.where_starts_with("name", "START"))?, expected);

        // A LIKE pattern itself longer than SQLite accepts is a typed error there.
        let pattern = format!("{}%", "x".repeat(50_000));
        let result = DB::table("items").where_like("name", pattern.as_str()).count();
        match backend() {
            Backend::Sqlite => assert!(matches!(result, Err(Error::InvalidQuery { kind: InvalidQueryKind::LikePattern, message: ref m, .. }) if m.contains("50000")), "{result:?}"),
            _ => assert_eq!(result?, 0),
        }
        Ok(())
    }
}
