//! Value injection: every payload of the corpus goes through every value-accepting API on
//! both backends. Each must round-trip byte-exact, leave the `canary` table untouched,
//! and never reach the SQL text: the statements logged for a payload must be exactly the
//! statements logged for a neutral value (so the SQL does not depend on the value at
//! all), and no payload of 4 or more bytes that is not already part of that neutral SQL
//! may appear in it.

use orm_core::prelude::*;
use orm_core::row;
use orm_tests::reliability::payloads;
use orm_tests::{on_every_backend, per_backend};

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "notes")]
pub struct Note {
    pub id: Option<i64>,
    pub body: String,
    pub tag: String,
}

/// A model whose primary key is text, so `find` takes the payload as the key.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "labels", primary_key = "name")]
pub struct Label {
    pub name: String,
    pub note: String,
}

const CANARY: [(i64, &str); 3] = [(1, "alpha"), (2, "beta"), (3, "gamma")];

fn schema() -> Result<()> {
    orm_tests::reliability::relax_durability()?;
    DB::statement("CREATE TABLE canary (id INTEGER PRIMARY KEY, secret TEXT NOT NULL)")?;
    for (id, secret) in CANARY {
        DB::insert(
            "INSERT INTO canary (id, secret) VALUES (?, ?)",
            &[&id, &secret],
        )?;
    }
    DB::statement(per_backend(
        "CREATE TABLE notes (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL, \
         tag TEXT NOT NULL DEFAULT '')",
        "CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, \
         tag TEXT NOT NULL DEFAULT '')",
    ))?;
    // No index on the text columns: PostgreSQL's B-tree refuses rows over ~2.7 kB, and
    // the 1 MiB payload must reach every API.
    DB::statement(per_backend(
        "CREATE TABLE labels (slot INTEGER PRIMARY KEY, name TEXT NOT NULL, note TEXT NOT NULL)",
        "CREATE TABLE labels (slot BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, note TEXT NOT NULL)",
    ))?;
    Ok(())
}

fn canary_is_intact() -> Result<()> {
    let rows: Vec<(i64, String)> = DB::select("SELECT id, secret FROM canary ORDER BY id", &[])?
        .iter()
        .map(|r| Ok((r.get("id")?, r.get("secret")?)))
        .collect::<Result<_>>()?;
    let expected: Vec<(i64, String)> = CANARY.iter().map(|(i, s)| (*i, s.to_string())).collect();
    assert_eq!(rows, expected, "the canary table changed");
    Ok(())
}

fn bodies() -> Result<Vec<String>> {
    DB::select("SELECT body FROM notes ORDER BY id", &[])?
        .iter()
        .map(|r| r.get("body"))
        .collect()
}

fn record_bodies(rows: &[Record]) -> Result<Vec<String>> {
    rows.iter().map(|r| r.get("body")).collect()
}

/// Seeds `notes` with the payload and a decoy, through a bound raw statement.
fn seed(payload: &str) -> Result<()> {
    for body in [payload, "decoy row"] {
        DB::insert(
            "INSERT INTO notes (body, tag) VALUES (?, ?)",
            &[&body, &"seeded"],
        )?;
    }
    Ok(())
}

fn only_payload(rows: &[Record], payload: &str) -> Result<()> {
    assert_eq!(record_bodies(rows)?, [payload]);
    Ok(())
}

/// The builder refuses some patterns before running, with an error (never a wrong
/// answer): patterns over SQLite's 50 000 bytes (`SQLITE_MAX_LIKE_PATTERN_LENGTH`), and
/// patterns ending in a lone escape character `\`, on every backend.
fn like_pattern_refused(pattern: &str, message: &str) -> bool {
    let trailing_escapes = pattern.bytes().rev().take_while(|b| *b == b'\\').count();
    (message.contains("longer than") && pattern.len() > 50_000)
        || (message.contains("escape character") && trailing_escapes % 2 == 1)
}

type Operation = fn(&str) -> Result<()>;

/// Every value-accepting entry point, each with its own round-trip assertion.
const OPERATIONS: &[(&str, Operation)] = &[
    ("table.insert", |p| {
        DB::table("notes").insert(row! {"body" => p, "tag" => p})?;
        assert_eq!(bodies()?, [p]);
        let tag: Option<String> = DB::table("notes").value("tag")?;
        assert_eq!(tag.as_deref(), Some(p));
        Ok(())
    }),
    ("table.insert_many", |p| {
        let twice = format!("{p}{p}");
        DB::table("notes").insert_many([
            row! {"body" => p, "tag" => "a"},
            row! {"body" => twice.as_str(), "tag" => "b"},
        ])?;
        assert_eq!(bodies()?, [p, twice.as_str()]);
        Ok(())
    }),
    ("table.update", |p| {
        seed("before")?;
        let changed = DB::table("notes")
            .where_eq("body", "before")
            .update(row! {"body" => p})?;
        assert_eq!(changed, 1);
        assert_eq!(bodies()?, [p, "decoy row"]);
        Ok(())
    }),
    ("table.upsert", |p| {
        let again = format!("again {p}");
        for note in [p, again.as_str()] {
            DB::table("labels").upsert(
                [row! {"slot" => 1, "name" => p, "note" => note}],
                &["slot"],
                &["note"],
            )?;
        }
        let row = DB::table("labels").first()?.expect("one label");
        assert_eq!(row.get::<String, _>("name")?, p);
        assert_eq!(row.get::<String, _>("note")?, again);
        Ok(())
    }),
    ("where_", |p| {
        seed(p)?;
        only_payload(&DB::table("notes").where_("body", "=", p).get()?, p)
    }),
    ("where_eq", |p| {
        seed(p)?;
        only_payload(&DB::table("notes").where_eq("body", p).get()?, p)
    }),
    ("or_where", |p| {
        seed(p)?;
        let rows = DB::table("notes")
            .where_eq("id", -1)
            .or_where("body", "=", p)
            .get()?;
        only_payload(&rows, p)
    }),
    ("where_in", |p| {
        seed(p)?;
        let other = format!("{p} but not quite");
        only_payload(&DB::table("notes").where_in("body", [p, &other]).get()?, p)
    }),
    ("where_not_in", |p| {
        seed(p)?;
        let rows = DB::table("notes").where_not_in("body", [p]).get()?;
        assert_eq!(record_bodies(&rows)?, ["decoy row"]);
        Ok(())
    }),
    ("where_between", |p| {
        seed(p)?;
        only_payload(&DB::table("notes").where_between("body", p, p).get()?, p)
    }),
    ("where_like", |p| {
        seed(p)?;
        // The payload is a LIKE pattern here (`%`, `_` and `\` mean
        // something); whatever matches must be a seeded row, byte-exact, and a pattern
        // without metacharacters must find the payload itself.
        let rows = match DB::table("notes").where_like("body", p).get() {
            Ok(rows) => rows,
            Err(Error::InvalidQuery { message, .. }) if like_pattern_refused(p, &message) => {
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        for body in record_bodies(&rows)? {
            assert!(body == p || body == "decoy row", "unexpected row {body:?}");
        }
        if !p.contains(['%', '_', '\\']) {
            assert!(record_bodies(&rows)?.iter().any(|b| b == p));
        }
        Ok(())
    }),
    ("having", |p| {
        seed(p)?;
        let rows = DB::table("notes")
            .select("body")
            .group_by("body")
            .having("body", "=", p)
            .get()?;
        only_payload(&rows, p)
    }),
    ("paginate", |p| {
        seed(p)?;
        let page = DB::table("notes").where_eq("body", p).paginate(5, 1)?;
        assert_eq!(page.total, 1);
        only_payload(&page.data, p)
    }),
    ("model.save+find", |p| {
        let mut note = Note {
            body: p.to_owned(),
            tag: p.to_owned(),
            ..Default::default()
        };
        note.save()?;
        let id = note.id.expect("key filled");
        assert_eq!(Note::find(id)?.as_ref(), Some(&note));
        note.body = format!("{p}{p}");
        note.save()?;
        assert_eq!(Note::find(id)?.as_ref(), Some(&note));
        Ok(())
    }),
    ("model.find by text key", |p| {
        let mut label = Label {
            name: p.to_owned(),
            note: p.to_owned(),
        };
        label.save()?;
        assert_eq!(Label::find(p)?.as_ref(), Some(&label));
        assert_eq!(Label::find(format!("{p}x"))?, None);
        Ok(())
    }),
    ("model.first_or_create", |p| {
        let created = Note::first_or_create(row! {"body" => p}, row! {"tag" => p})?;
        let found = Note::first_or_create(row! {"body" => p}, row! {"tag" => "other"})?;
        assert_eq!(created, found);
        assert_eq!(found.body, p);
        assert_eq!(found.tag, p);
        Ok(())
    }),
    ("where_raw with bindings", |p| {
        seed(p)?;
        let rows = DB::table("notes")
            .where_raw("body = ? AND tag = ?", &[&p, &"seeded"])
            .get()?;
        only_payload(&rows, p)
    }),
    ("DB::execute with bindings", |p| {
        seed("before")?;
        let changed = DB::execute("UPDATE notes SET body = ? WHERE body = ?", &[&p, &"before"])?;
        assert_eq!(changed, 1);
        assert_eq!(bodies()?, [p, "decoy row"]);
        Ok(())
    }),
    ("model.update_or_create", |p| {
        let created = Note::update_or_create(row! {"tag" => p}, row! {"body" => p})?;
        let twice = format!("{p}{p}");
        let updated = Note::update_or_create(row! {"tag" => p}, row! {"body" => twice.as_str()})?;
        assert_eq!(created.id, updated.id);
        assert_eq!(
            Note::find(created.id.expect("key"))?.expect("row").body,
            twice
        );
        Ok(())
    }),
    ("model.find_many+destroy by text key", |p| {
        for name in [p.to_owned(), format!("{p}x")] {
            Label::create(Label {
                name: name.clone(),
                note: name,
            })?;
        }
        let found = Label::find_many([p])?;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].note, p);
        assert_eq!(Label::destroy([p])?, 1);
        let left: Vec<String> = DB::table("labels").pluck("name")?;
        assert_eq!(left, [format!("{p}x")]);
        Ok(())
    }),
    ("DB::select with bindings", |p| {
        seed(p)?;
        let rows = DB::select(
            "SELECT body FROM notes WHERE body = ? AND tag <> ?",
            &[&p, &p],
        )?;
        only_payload(&rows, p)
    }),
];

/// Runs one operation on empty tables and returns the SQL it sent.
fn run_logged(operation: Operation, payload: &str) -> Result<Vec<String>> {
    DB::unprepared("DELETE FROM notes; DELETE FROM labels")?;
    DB::flush_query_log();
    operation(payload)?;
    Ok(DB::query_log().into_iter().map(|q| q.sql).collect())
}

fn check_every_payload_through_every_api() -> Result<()> {
    schema()?;
    DB::enable_query_log();
    let baselines: Vec<Vec<String>> = OPERATIONS
        .iter()
        .map(|(_, operation)| run_logged(*operation, "neutral value"))
        .collect::<Result<_>>()?;
    let corpus = payloads();
    assert!(corpus.len() >= 200, "only {} payloads", corpus.len());
    let mut checked = 0;
    for payload in &corpus {
        let shown: String = payload.chars().take(40).collect();
        for ((name, operation), baseline) in OPERATIONS.iter().zip(&baselines) {
            let sent = run_logged(*operation, payload)
                .unwrap_or_else(|e| panic!("{name} failed for payload {shown:?}: {e}"));
            // A statement refused before running (a LIKE pattern) is not sent; any
            // statement sent is one of the baseline's.
            let refused = sent.len() < baseline.len() && baseline.starts_with(&sent);
            assert!(
                &sent == baseline || refused,
                "{name}: the SQL sent depends on the payload {shown:?}: {sent:?}"
            );
            let distinctive =
                payload.len() >= 4 && !baseline.iter().any(|sql| sql.contains(payload.as_str()));
            if distinctive {
                assert!(
                    !sent.iter().any(|sql| sql.contains(payload.as_str())),
                    "{name}: payload {shown:?} appears in the SQL"
                );
            }
            checked += 1;
        }
        canary_is_intact()?;
    }
    DB::disable_query_log();
    eprintln!(
        "value injection: {} payloads x {} APIs = {checked} checks passed",
        corpus.len(),
        OPERATIONS.len()
    );
    Ok(())
}

on_every_backend! {
    fn every_payload_round_trips_through_every_api() {
        check_every_payload_through_every_api()
    }
}

/// Raw SQL: a `?` inside a PostgreSQL dollar-quoted or `E''` literal is text, not a
/// placeholder (it used to be renumbered to `$1`, changing the literal).
#[test]
fn raw_literals_keep_their_question_marks_on_postgres() -> Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let rows = DB::select(
        "SELECT $$a?b$$ AS x, $tag$ ? $$ ? $tag$ AS y, E'\\'?' AS z, ? AS bound",
        &[&"value"],
    )?;
    assert_eq!(rows[0].get::<String, _>("x")?, "a?b");
    assert_eq!(rows[0].get::<String, _>("y")?, " ? $$ ? ");
    assert_eq!(rows[0].get::<String, _>("z")?, "'?");
    assert_eq!(rows[0].get::<String, _>("bound")?, "value");
    Ok(())
}
