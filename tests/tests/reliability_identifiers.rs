//! Identifier corpus: table, column and index names with quotes, backticks, semicolons,
//! comment openers, spaces, unicode, reserved words, empty, over-long and NUL. Each name
//! is quoted and round-trips through create / insert / select / drop, or is refused with
//! `Error::InvalidIdentifier` before any SQL is sent. Never a panic, never malformed SQL.
//!
//! Paths: DDL is written through `SqlWriter::push_identifier` (the raw, explicitly
//! quoted path). Data goes through the query builder (`DB::table(name)`) except for names
//! the builder reads as syntax: a `.` separates qualified parts (`schema.table`,
//! `table.column`) and ` as ` (any case) introduces an alias. Such names only round-trip
//! through `SqlWriter`, which this suite uses for them.

use orm_core::dialect::SqlWriter;
use orm_core::prelude::*;
use orm_core::{Backend, Dialect};
use orm_tests::backend;

fn corpus() -> Vec<String> {
    let mut names: Vec<String> = [
        "plain",
        "with space",
        "  leading spaces",
        "trailing spaces  ",
        " ",
        "double\"quote",
        "\"",
        "\"\"",
        "\"; DROP TABLE canary; --",
        "'single'",
        "'",
        "back`tick",
        "`",
        "[bracketed]",
        "semi;colon",
        "; DROP TABLE canary; --",
        "dash--dash",
        "--",
        "/* comment */",
        "*/",
        "select",
        "SELECT",
        "from",
        "table",
        "order",
        "group",
        "user",
        "where",
        "index",
        "primary",
        "null",
        "default",
        "key",
        "transaction",
        "日本語",
        "émoji 🦀",
        "Ωμέγα",
        "\u{200B}zero width",
        "rtl\u{202E}override",
        "tab\tname",
        "new\nline",
        "back\\slash",
        "percent%s",
        "question?",
        "dollar$1",
        "$$",
        ":colon",
        "@at",
        "#hash",
        "(paren)",
        "a,b",
        "x=1",
        "1starts_with_digit",
        "123",
        "CamelCase",
        "*",
        "dotted.name",
        ".",
        "a.b.c",
        "x as y",
        "x AS y",
        "",
        "nul\0byte",
        "\0",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    names.push("a".repeat(63)); // PostgreSQL's longest
    names.push("é".repeat(31)); // 62 bytes: limits count bytes
    names.push("é".repeat(32)); // 64 bytes: over PostgreSQL's limit
    names.push("b".repeat(64));
    names.push("c".repeat(1024)); // this library's SQLite limit
    names.push("d".repeat(1025));
    names.push("e".repeat(100_000));
    names
}

/// Whether the query builder reads `name` as syntax in a table position (qualified
/// name or alias).
fn builder_parses(name: &str) -> bool {
    name.contains('.') || name.to_ascii_lowercase().contains(" as ")
}

/// Whether the query builder reads `name` as syntax in a select list: also `*`, the
/// wildcard.
fn builder_parses_column(name: &str) -> bool {
    builder_parses(name) || name == "*"
}

fn acceptable(name: &str, dialect: &dyn Dialect) -> bool {
    // MySQL refuses names ending in a space and characters beyond U+FFFF (the dialect
    // refuses them first).
    let mysql_refuses = dialect.backend() == orm_core::Backend::Mysql
        && (name.ends_with(' ') || name.chars().any(|c| u32::from(c) > 0xFFFF));
    !name.is_empty()
        && !name.contains('\0')
        && name.len() <= dialect.max_identifier_len()
        && !mysql_refuses
}

fn is_invalid_identifier<T: std::fmt::Debug>(result: Result<T>) -> bool {
    matches!(result, Err(Error::InvalidIdentifier { .. }))
}

/// Builds one statement from raw text and identifiers.
fn statement(dialect: &'static dyn Dialect, parts: &[Part<'_>]) -> Result<(String, Vec<Value>)> {
    let mut w = SqlWriter::new(dialect);
    for part in parts {
        match part {
            Part::Sql(sql) => w.push(sql),
            Part::Ident(name) => w.push_identifier(name),
            Part::Bind(value) => w.push_bind(value.clone()),
        };
    }
    w.finish()
}

enum Part<'a> {
    Sql(&'a str),
    Ident(&'a str),
    Bind(Value),
}
use Part::{Bind, Ident, Sql};

fn run(dialect: &'static dyn Dialect, parts: &[Part<'_>]) -> Result<u64> {
    let (sql, binds) = statement(dialect, parts)?;
    DB::with_connection(|c| c.execute_values(&sql, &binds))
}

fn select_values(dialect: &'static dyn Dialect, parts: &[Part<'_>]) -> Result<Vec<Record>> {
    let (sql, binds) = statement(dialect, parts)?;
    DB::with_connection(|c| c.select_values(&sql, &binds))
}

/// `name` as a table (one column `v`): create, insert, select, count, drop.
fn table_round_trip(dialect: &'static dyn Dialect, name: &str) -> Result<()> {
    run(
        dialect,
        &[Sql("CREATE TABLE "), Ident(name), Sql(" (v TEXT NOT NULL)")],
    )?;
    if builder_parses(name) {
        run(
            dialect,
            &[
                Sql("INSERT INTO "),
                Ident(name),
                Sql(" (v) VALUES ("),
                Bind(Value::from(name)),
                Sql(")"),
            ],
        )?;
        let rows = select_values(dialect, &[Sql("SELECT v FROM "), Ident(name)])?;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<String, _>("v")?, name);
    } else {
        DB::table(name.to_owned()).insert([("v", Value::from(name))])?;
        let rows = DB::table(name.to_owned()).where_eq("v", name).get()?;
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].get::<String, _>("v")?, name);
        assert_eq!(DB::table(name.to_owned()).count()?, 1);
        assert_eq!(DB::table(name.to_owned()).delete()?, 1);
    }
    run(dialect, &[Sql("DROP TABLE "), Ident(name)])?;
    Ok(())
}

/// `name` as a column of table `columns`: create, insert, select (the result column has
/// the name byte-exact), drop.
fn column_round_trip(dialect: &'static dyn Dialect, name: &str) -> Result<()> {
    run(
        dialect,
        &[
            Sql("CREATE TABLE columns (id INTEGER PRIMARY KEY, "),
            Ident(name),
            Sql(" TEXT)"),
        ],
    )?;
    let rows = if builder_parses_column(name) {
        run(
            dialect,
            &[
                Sql("INSERT INTO columns (id, "),
                Ident(name),
                Sql(") VALUES (1, "),
                Bind(Value::from(name)),
                Sql(")"),
            ],
        )?;
        select_values(
            dialect,
            &[
                Sql("SELECT "),
                Ident(name),
                Sql(" FROM columns WHERE "),
                Ident(name),
                Sql(" = "),
                Bind(Value::from(name)),
            ],
        )?
    } else {
        DB::table("columns").insert([("id", Value::from(1)), (name, Value::from(name))])?;
        DB::table("columns")
            .select(vec![name.to_owned()])
            .where_eq(name.to_owned(), name)
            .order_by(name.to_owned())
            .get()?
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].columns().to_vec(), vec![name.to_owned()]);
    assert_eq!(rows[0].get::<String, usize>(&0)?, name);
    run(dialect, &[Sql("DROP TABLE columns")])?;
    Ok(())
}

/// `name` as an index on `indexed (v)`: create, use, drop.
fn index_round_trip(dialect: &'static dyn Dialect, name: &str) -> Result<()> {
    run(dialect, &[Sql("CREATE TABLE indexed (v TEXT)")])?;
    run(
        dialect,
        &[Sql("CREATE INDEX "), Ident(name), Sql(" ON indexed (v)")],
    )?;
    DB::table("indexed").insert([("v", Value::from(name))])?;
    assert_eq!(DB::table("indexed").where_eq("v", name).count()?, 1);
    if dialect.backend() == orm_core::Backend::Mysql {
        // MySQL's index names are per table.
        run(
            dialect,
            &[Sql("DROP INDEX "), Ident(name), Sql(" ON indexed")],
        )?;
    } else {
        run(dialect, &[Sql("DROP INDEX "), Ident(name)])?;
    }
    run(dialect, &[Sql("DROP TABLE indexed")])?;
    Ok(())
}

type RoundTrip = fn(&'static dyn Dialect, &str) -> Result<()>;

/// Each name in each role (table, column, index). Not in the corpus: names starting with
/// `sqlite_`, which SQLite reserves and refuses with its own error (`Error::Database`).
fn check_identifier_corpus() -> Result<()> {
    orm_tests::reliability::relax_durability()?;
    let dialect: &'static dyn Dialect = backend().dialect();
    let names = corpus();
    assert!(names.len() >= 50, "only {} names", names.len());
    let (mut accepted, mut refused) = (0, 0);
    for name in &names {
        let shown: String = name.chars().take(30).collect();
        let checks: [(&str, RoundTrip); 3] = [
            ("table", table_round_trip),
            ("column", column_round_trip),
            ("index", index_round_trip),
        ];
        for (role, check) in checks {
            let result = check(dialect, name);
            if role == "index"
                && dialect.backend() == orm_core::Backend::Mysql
                && name.eq_ignore_ascii_case("primary")
            {
                // MySQL reserves the index name PRIMARY for the primary key and refuses
                // it with its own error, like SQLite's `sqlite_` names.
                assert!(matches!(result, Err(Error::Database { .. })), "{result:?}");
                let _ = DB::statement("DROP TABLE IF EXISTS indexed");
                continue;
            }
            if acceptable(name, dialect) {
                if let Err(e) = result {
                    panic!("{role} named {shown:?} should round-trip: {e}");
                }
                accepted += 1;
            } else {
                assert!(
                    is_invalid_identifier(result),
                    "{role} named {shown:?} should be refused as an invalid identifier"
                );
                // Nothing half-made is left behind.
                let _ = DB::statement("DROP TABLE IF EXISTS indexed");
                let _ = DB::statement("DROP TABLE IF EXISTS columns");
                refused += 1;
            }
        }
        if !acceptable(name, dialect) && !builder_parses(name) {
            // The builder refuses them the same way, before sending anything.
            assert!(is_invalid_identifier(DB::table(name.to_owned()).get()));
            assert!(is_invalid_identifier(
                DB::table("t").where_eq(name.to_owned(), 1).to_sql()
            ));
            assert!(is_invalid_identifier(
                DB::table(name.to_owned()).insert([("v", Value::from(1))])
            ));
            assert!(is_invalid_identifier(
                DB::table("t").insert([(name.as_str(), Value::from(1))])
            ));
        }
    }
    let limit = match dialect.backend() {
        Backend::Postgres => "63 bytes",
        _ => "1024 bytes",
    };
    eprintln!(
        "identifiers: {} names, {accepted} (name, role) round trips, {refused} typed refusals (limit {limit})",
        names.len()
    );
    Ok(())
}

orm_tests::on_every_backend! {
    fn every_identifier_round_trips_or_is_refused() {
        check_identifier_corpus()
    }
}

#[test]
fn the_builder_never_renders_a_bare_wildcard_outside_the_select_list() -> Result<()> {
    use orm_core::dialect::{PostgresDialect, SqliteDialect};
    for dialect in [&SqliteDialect as &'static dyn Dialect, &PostgresDialect] {
        let (sql, _) = DB::table("*").where_eq("*", 1).to_sql_for(dialect)?;
        assert_eq!(sql.matches('*').count(), 3, "{sql}");
        assert!(sql.contains(r#"FROM "*""#), "{sql}");
        assert!(sql.contains(r#"WHERE "*" ="#), "{sql}");
    }
    Ok(())
}
