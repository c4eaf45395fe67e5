//! Query-builder fuzzing (proptest, runs in CI): random queries with arbitrary
//! identifiers, operators and values.
//!
//! - Rendering never panics; it gives SQL or a typed refusal (`InvalidIdentifier`,
//!   `InvalidQuery`).
//! - On both dialects the placeholders outside quoted identifiers equal the bindings in
//!   number (PostgreSQL: numbered `$1..$n` in order).
//! - Queries over a real table with weird (but valid) column names run without error on
//!   the backend (and so does an `update` through them); queries naming arbitrary
//!   identifiers fail, if at all, only because the
//!   table or column does not exist, never with a syntax error.
//!
//! CI mode: 256 queries per backend; long mode (`ORM_RELIABILITY_LONG=1`): 20 000.

use std::cell::Cell;

use orm_core::dialect::{PostgresDialect, SqliteDialect};
use orm_core::prelude::*;
use orm_core::{Backend, Dialect};
use orm_tests::reliability::scaled;
use orm_tests::{backend, on_every_backend};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// The real table's name and columns: valid, but full of SQL punctuation.
const TABLE: &str = "fuzz; table \"--";
const COLUMNS: &[&str] = &[
    "plain",
    "with space",
    "quo\"te",
    "semi;colon",
    "select",
    "日本語",
    "x?y",
    "$1",
    "-- c",
    "a'b",
];

#[derive(Debug, Clone)]
enum Clause {
    Where(bool, String, String, Value),
    In(bool, bool, String, Vec<Value>),
    Between(bool, String, Value, Value),
    Like(String, Value),
    Null(bool, String),
    Column(String, String, String),
    Group(bool, Vec<Clause>),
}

#[derive(Debug, Clone)]
struct FuzzQuery {
    table: String,
    clauses: Vec<Clause>,
    select: Vec<String>,
    group_having: Option<(String, String, Value)>,
    order: Vec<(String, bool)>,
    limit: Option<u64>,
    offset: Option<u64>,
    distinct: bool,
    /// A column and value for an `update` through the same query.
    set: (String, Value),
}

fn operator() -> impl Strategy<Value = String> {
    prop_oneof![
        30 => prop::sample::select(vec!["=", "<", ">", "<=", ">=", "<>", "!=", "like", "NOT LIKE"])
            .prop_map(str::to_owned),
        1 => prop::sample::select(vec!["; DROP TABLE x", "= 1 OR 1", "", "==="]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

/// Identifiers: the real table's columns when `real`, else anything at all.
fn identifier(real: bool) -> BoxedStrategy<String> {
    if real {
        prop::sample::select(COLUMNS)
            .prop_map(str::to_owned)
            .boxed()
    } else {
        prop_oneof![
            prop::sample::select(COLUMNS).prop_map(str::to_owned),
            any::<String>(),
            "[a-z\"'`;. *?$-]{0,12}",
            Just("a".repeat(2000)),
        ]
        .boxed()
    }
}

/// Text values (no NUL: PostgreSQL text), NULL; no backslash so a LIKE pattern is
/// always valid on PostgreSQL.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => "[^\\x00\\\\]{0,20}".prop_map(Value::Text),
        1 => Just(Value::Null),
    ]
}

fn clause(real: bool) -> impl Strategy<Value = Clause> {
    let leaf = prop_oneof![
        (any::<bool>(), identifier(real), operator(), value())
            .prop_map(|(or, c, op, v)| Clause::Where(or, c, op, v)),
        (
            any::<bool>(),
            any::<bool>(),
            identifier(real),
            prop::collection::vec(value(), 0..5)
        )
            .prop_map(|(or, not, c, vs)| Clause::In(or, not, c, vs)),
        (any::<bool>(), identifier(real), value(), value())
            .prop_map(|(or, c, a, b)| Clause::Between(or, c, a, b)),
        (identifier(real), value()).prop_map(|(c, v)| Clause::Like(c, v)),
        (any::<bool>(), identifier(real)).prop_map(|(not, c)| Clause::Null(not, c)),
        (identifier(real), operator(), identifier(real))
            .prop_map(|(a, op, b)| Clause::Column(a, op, b)),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        (any::<bool>(), prop::collection::vec(inner, 0..4))
            .prop_map(|(or, clauses)| Clause::Group(or, clauses))
    })
}

fn fuzz_query(real: bool) -> impl Strategy<Value = FuzzQuery> {
    let table = if real {
        Just(TABLE.to_owned()).boxed()
    } else {
        prop_oneof![Just(TABLE.to_owned()), identifier(false)].boxed()
    };
    (
        table,
        prop::collection::vec(clause(real), 0..5),
        prop::collection::vec(identifier(real), 0..3),
        prop::option::of((identifier(real), operator(), value())),
        prop::collection::vec((identifier(real), any::<bool>()), 0..3),
        prop::option::of(0u64..100),
        prop::option::of(0u64..100),
        any::<bool>(),
        (identifier(real), value()),
    )
        .prop_map(
            |(table, clauses, select, group_having, order, limit, offset, distinct, set)| {
                FuzzQuery {
                    table,
                    clauses,
                    select,
                    group_having,
                    order,
                    limit,
                    offset,
                    distinct,
                    set,
                }
            },
        )
}

fn apply(q: Query<Record>, clause: Clause) -> Query<Record> {
    match clause {
        Clause::Where(false, c, op, v) => q.where_(c, &op, v),
        Clause::Where(true, c, op, v) => q.or_where(c, &op, v),
        Clause::In(false, false, c, vs) => q.where_in(c, vs),
        Clause::In(false, true, c, vs) => q.where_not_in(c, vs),
        Clause::In(true, false, c, vs) => q.or_where_in(c, vs),
        Clause::In(true, true, c, vs) => q.or_where_not_in(c, vs),
        Clause::Between(false, c, a, b) => q.where_between(c, a, b),
        Clause::Between(true, c, a, b) => q.or_where_between(c, a, b),
        Clause::Like(c, v) => q.where_like(c, v),
        Clause::Null(false, c) => q.where_null(c),
        Clause::Null(true, c) => q.where_not_null(c),
        Clause::Column(a, op, b) => q.where_column(a, &op, b),
        Clause::Group(or, clauses) => {
            let group = |g: Query<Record>| clauses.into_iter().fold(g, apply);
            if or {
                q.or_where_group(group)
            } else {
                q.where_group(group)
            }
        }
    }
}

fn build(f: &FuzzQuery) -> Query<Record> {
    let mut q = DB::table(f.table.clone());
    for clause in f.clauses.clone() {
        q = apply(q, clause);
    }
    if let Some((column, op, value)) = f.group_having.clone() {
        q = q
            .select(vec![column.clone()])
            .group_by(vec![column.clone()])
            .having(column, &op, value);
    } else {
        if !f.select.is_empty() {
            q = q.select(f.select.clone());
        }
        // (PostgreSQL wants DISTINCT's ORDER BY columns selected: order only without it.)
        for (column, desc) in f.order.iter().filter(|_| !f.distinct) {
            q = if *desc {
                q.order_by_desc(column.clone())
            } else {
                q.order_by(column.clone())
            };
        }
    }
    if f.distinct {
        q = q.distinct();
    }
    if let Some(n) = f.limit {
        q = q.limit(n);
    }
    if let Some(n) = f.offset {
        q = q.offset(n);
    }
    q
}

/// The placeholders outside quoted identifiers and string literals, in order: `?` or
/// the number of each `$n`.
fn placeholders(sql: &str) -> Vec<Option<usize>> {
    let mut found = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                // Skip to the closing quote; a doubled quote is an escaped one.
                while let Some(inner) = chars.next() {
                    if inner == c {
                        if chars.peek() == Some(&c) {
                            chars.next();
                        } else {
                            break;
                        }
                    }
                }
            }
            '?' => found.push(None),
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                found.push(digits.parse().ok());
            }
            _ => {}
        }
    }
    found
}

fn check_rendering(q: &Query<Record>) -> std::result::Result<(), TestCaseError> {
    for dialect in [&SqliteDialect as &'static dyn Dialect, &PostgresDialect] {
        match q.to_sql_for(dialect) {
            Ok((sql, binds)) => {
                let marks = placeholders(&sql);
                prop_assert_eq!(marks.len(), binds.len(), "{}", sql);
                if dialect.backend() == Backend::Postgres {
                    let expected: Vec<Option<usize>> = (1..=binds.len()).map(Some).collect();
                    prop_assert_eq!(marks, expected, "{}", sql);
                } else {
                    prop_assert!(marks.iter().all(Option::is_none), "{}", sql);
                }
            }
            Err(Error::InvalidIdentifier { .. } | Error::InvalidQuery { .. }) => {}
            Err(other) => prop_assert!(false, "unexpected rendering error {:?}", other),
        }
    }
    Ok(())
}

/// A database refusal that only says an object does not exist (or, on PostgreSQL, that
/// a value does not fit the column's type), never that the SQL is malformed.
fn is_missing_object(error: &Error) -> bool {
    let message = error.to_string();
    // MySQL: "Unknown column 'x' in 'WHERE'", "Table 'db.t' doesn't exist" (its syntax
    // errors say "You have an error in your SQL syntax").
    !message.contains("syntax error")
        && !message.contains("error in your SQL syntax")
        && (message.contains("no such column")
            || message.contains("no such table")
            || message.contains("does not exist")
            || message.contains("missing FROM-clause entry")
            || message.contains("Unknown column")
            || message.contains("Unknown table")
            || message.contains("doesn't exist"))
}

fn check_fuzzed_queries() -> Result<()> {
    orm_tests::reliability::relax_durability()?;
    let mut w = orm_core::dialect::SqlWriter::new(backend().dialect());
    w.push("CREATE TABLE ").push_identifier(TABLE).push(" (");
    for (i, column) in COLUMNS.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.push_identifier(column).push(" TEXT");
    }
    w.push(")");
    DB::statement(&w.finish()?.0)?;
    for i in 0..5 {
        let row: Vec<(&str, Value)> = COLUMNS
            .iter()
            .map(|c| (*c, Value::from(format!("{c} {i}"))))
            .collect();
        DB::table(TABLE).insert(row)?;
    }
    let cases = scaled(256, 20_000) as u32;
    let (executed, refused, missing) = (Cell::new(0usize), Cell::new(0usize), Cell::new(0usize));
    for real in [true, false] {
        let mut runner = TestRunner::new(Config {
            cases: cases / 2,
            failure_persistence: None,
            ..Config::default()
        });
        let outcome = runner.run(&fuzz_query(real), |f| {
            let q = build(&f);
            check_rendering(&q)?;
            let got = q.clone().get();
            match &got {
                Ok(_) => executed.set(executed.get() + 1),
                Err(Error::InvalidIdentifier { .. } | Error::InvalidQuery { .. }) => {
                    refused.set(refused.get() + 1)
                }
                Err(e) if !real && is_missing_object(e) => missing.set(missing.get() + 1),
                Err(e) => prop_assert!(false, "the query failed to run: {}", e),
            }
            if real {
                // Counting the same query (a subquery when it groups, limits, ...) is
                // as valid as running it.
                let counted = q.clone().count();
                prop_assert_eq!(got.is_ok(), counted.is_ok(), "{:?}", counted);
                // An update through the same conditions (a `key IN (subquery)` when it
                // orders or limits) runs too, or is refused with a typed error. (An
                // update of a grouped query is not meaningful and is left out.)
                if f.group_having.is_none() {
                    let (column, value) = f.set.clone();
                    match q.primary_key("plain").update([(column.as_str(), value)]) {
                        Ok(_)
                        | Err(Error::InvalidIdentifier { .. } | Error::InvalidQuery { .. }) => {}
                        Err(e) => prop_assert!(false, "the update failed to run: {}", e),
                    }
                }
            }
            Ok(())
        });
        if let Err(e) = outcome {
            panic!("fuzzed query: {e}");
        }
    }
    eprintln!(
        "{:?}: {cases} fuzzed queries: {} ran, {} refused with a typed error, {} named missing objects; placeholders = bindings on both dialects",
        backend(),
        executed.get(),
        refused.get(),
        missing.get()
    );
    Ok(())
}

on_every_backend! {
    fn fuzzed_queries_render_bind_and_run() {
        check_fuzzed_queries()
    }
}
