//! `find_many_or_fail` (every key or an error naming the missing ones) and
//! `first_or_new` (found, or built and not saved), on every backend.

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Flight {
    pub id: Option<i64>,
    pub code: String,
    pub seats: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(primary_key = "iata")]
pub struct Airport {
    pub iata: String,
    pub name: String,
}

/// A model over a table that does not enforce its key (a log with repeated codes, a
/// view): `find` must still answer with one row.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "gate_log", primary_key = "gate")]
pub struct GateEntry {
    pub gate: String,
    pub note: String,
}

/// A generated key that is not the first column.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "boarding_passes")]
pub struct BoardingPass {
    pub seat: String,
    pub passenger: String,
    pub id: Option<i64>,
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("flights", |t| {
            t.increments("id");
            t.string("code", 10).unique();
            t.big_integer("seats").default(0);
        })?;
        s.create("airports", |t| {
            t.string("iata", 3).primary();
            t.string("name", 50);
        })
    })
    .map_err(Error::other)?;
    for code in ["LH1", "LH2", "LH3"] {
        Flight::create(Flight {
            code: code.into(),
            seats: 100,
            ..Default::default()
        })?;
    }
    Airport::create(Airport {
        iata: "FRA".into(),
        name: "Frankfurt".into(),
    })?;
    Airport::create(Airport {
        iata: "MUC".into(),
        name: "Munich".into(),
    })?;
    Ok(())
}

on_every_backend! {
    fn find_on_a_query_reads_the_key_of_its_own_table_and_all_its_conditions() {
        schema()?;
        Schema::on_default(|s| {
            s.create("legs", |t| {
                t.increments("id");
                t.big_integer("flight_id");
            })
        })
        .map_err(Error::other)?;
        DB::table("legs").insert(row! {"flight_id" => 2})?;
        // Joined: `flights.id`, not an ambiguous `id`.
        let joined = || Flight::query().join("legs", "legs.flight_id", "=", "flights.id");
        assert_eq!(joined().find(2)?.map(|f| f.code), Some("LH2".to_owned()));
        assert_eq!(joined().find(1)?, None);
        assert_eq!(joined().find_or_fail(2)?.code, "LH2");
        // The key ANDed with every condition, an `or_where` included.
        let either = || Flight::where_eq("code", "LH1").or_where_eq("code", "LH3");
        assert_eq!(either().find(2)?, None);
        assert_eq!(either().find(3)?.map(|f| f.code), Some("LH3".to_owned()));
        assert!(either().find_or_fail(999).is_err());
        assert_eq!(DB::table("flights").where_eq("code", "LH1").or_where_eq("code", "LH3").find(2)?, None);
        Ok(())
    }

    fn find_many_reads_a_key_list_longer_than_a_statement_binds() {
        schema()?;
        // More keys than SQLite (32 766) or MySQL (65 535) bind at once, each key twice.
        let keys: Vec<i64> = (1..=70_000).chain(1..=70_000).collect();
        let mut found: Vec<String> = Flight::find_many(keys.clone())?.into_iter().map(|f| f.code).collect();
        found.sort();
        assert_eq!(found, ["LH1", "LH2", "LH3"]);
        let err = Flight::find_many_or_fail(keys).unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        // 40 000 keys, all of them found: each row once, in the keys' order.
        let repeated: Vec<i64> = (0..40_000).map(|i| 3 - i % 3).collect();
        let codes: Vec<String> = Flight::find_many_or_fail(repeated)?.into_iter().map(|f| f.code).collect();
        assert_eq!(codes, ["LH3", "LH2", "LH1"]);
        Ok(())
    }

    fn find_many_or_fail_returns_every_key_in_order_or_names_the_missing() {
        schema()?;
        let flights = Flight::find_many_or_fail([3, 1, 3])?;
        assert_eq!(flights.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["LH3", "LH1"]);
        let err = Flight::find_many_or_fail([1, 7, 2, 9]).unwrap_err();
        match err {
            Error::NotFound { model, key } => {
                assert_eq!(model, "Flight");
                assert_eq!(key, "id IN (7, 9)");
            }
            other => panic!("expected NotFound, got {other:?}"),
        }
        assert!(Flight::find_many_or_fail(Vec::<i64>::new())?.is_empty());
        let airports = Airport::find_many_or_fail(["MUC", "FRA"])?;
        assert_eq!(airports[0].name, "Munich");
        let err = Airport::find_many_or_fail(["MUC", "TXL"]).unwrap_err();
        assert_eq!(err.to_string(), r#"no Airport found for iata IN ("TXL")"#);
        Ok(())
    }

    fn text_keys_find_integer_keyed_rows_on_every_backend() {
        schema()?;
        // A key from a URL or a form arrives as text: the database compares it with the
        // integer column (PostgreSQL reads a text literal as the parameter's integer).
        assert_eq!(Flight::find("2")?.map(|f| f.code), Some("LH2".to_owned()));
        assert_eq!(Flight::find_or_fail("3")?.code, "LH3");
        assert_eq!(Flight::where_eq("seats", "100").count()?, 3, "a text value for a BIGINT column");
        let flights = Flight::find_many_or_fail(["1", "2"])?;
        assert_eq!(flights.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["LH1", "LH2"]);
        // An integer and its decimal text are one key: given both, the model comes once.
        let flights = Flight::find_many_or_fail(["3", "1"].map(Value::from).into_iter().chain([Value::Int(3)]))?;
        assert_eq!(flights.iter().map(|f| f.code.as_str()).collect::<Vec<_>>(), ["LH3", "LH1"]);
        let err = Flight::find_many_or_fail(["1", "7"]).unwrap_err();
        assert_eq!(err.to_string(), r#"no Flight found for id IN ("7")"#);
        // A whole number written with a fraction or spaces is that key, on every backend.
        assert_eq!(Flight::find_many_or_fail(["1.0"])?[0].code, "LH1");
        assert_eq!(Flight::find(" 2 ")?.map(|f| f.code), Some("LH2".to_owned()));
        // An integer too large for the column finds nothing, on every backend.
        assert_eq!(Flight::find("99999999999")?, None);
        assert_eq!(Flight::find("99999999999999999999999")?, None);
        // Text that spells no integer finds nothing on every backend, and is never read
        // by its leading digits (MySQL found row 1 for "1abc"): find, find_many, destroy.
        for bad in ["abc", "1.5", "1abc", "1 OR 1=1", ""] {
            assert_eq!(Flight::find(bad)?, None, "{bad}");
            assert!(Flight::find_many([bad])?.is_empty(), "{bad}");
            assert!(matches!(Flight::find_or_fail(bad), Err(Error::NotFound { .. })), "{bad}");
            assert!(matches!(Flight::find_many_or_fail([bad]), Err(Error::NotFound { .. })), "{bad}");
            assert_eq!(Flight::destroy([bad])?, 0, "{bad}");
        }
        assert_eq!(Flight::count()?, 3);
        Ok(())
    }

    fn model_queries_pluck_with_or_without_a_select_of_their_own() {
        schema()?;
        // The model's own column list is no select of the caller's: pluck selects just
        // the column; a caller's select is kept and the column read from it.
        assert_eq!(Flight::query().order_by("id").pluck::<String>("code")?, ["LH1", "LH2", "LH3"]);
        assert_eq!(Flight::query().order_by("id").pluck::<String>("flights.code")?, ["LH1", "LH2", "LH3"]);
        assert_eq!(Flight::query().select("code as c").order_by("id").pluck::<String>("c")?, ["LH1", "LH2", "LH3"]);
        assert_eq!(Flight::query().select("code as c").order_by_desc("id").value::<String>("c")?.as_deref(), Some("LH3"));
        let keyed = Flight::query().select(&["id as n", "code"]).order_by("id").pluck_keyed::<i64, String>("code", "n")?;
        assert_eq!(keyed, [(1, "LH1".to_owned()), (2, "LH2".to_owned()), (3, "LH3".to_owned())]);
        Ok(())
    }

    fn first_or_new_finds_or_builds_without_saving() {
        schema()?;
        let found = Flight::first_or_new(row! {"code" => "LH2"}, row! {"seats" => 5})?;
        assert_eq!((found.id, found.seats), (Some(2), 100));
        let mut built = Flight::first_or_new(row! {"code" => "LH9"}, row! {"seats" => 5})?;
        assert_eq!((built.id, built.code.as_str(), built.seats), (None, "LH9", 5));
        assert_eq!(Flight::count()?, 3, "first_or_new does not save");
        built.save()?;
        assert_eq!(Flight::where_eq("code", "LH9").first()?.unwrap().seats, 5);
        let err = Flight::first_or_new(row! {"code" => "LH8"}, row! {"no_such_column" => 1}).unwrap_err();
        assert!(matches!(err, Error::ColumnNotFound(_)), "{err:?}");
        Ok(())
    }

    fn find_on_a_key_the_table_does_not_enforce_reads_one_row() {
        Schema::on_default(|s| {
            s.create("gate_log", |t| {
                t.string("gate", 5);
                t.string("note", 50);
            })
        })
        .map_err(Error::other)?;
        for note in ["boarding", "closed"] {
            DB::insert("INSERT INTO gate_log (gate, note) VALUES (?, ?)", &[&"A1", &note])?;
        }
        let entry = GateEntry::find("A1")?.expect("a row with gate A1");
        assert!(["boarding", "closed"].contains(&entry.note.as_str()), "{entry:?}");
        assert_eq!(GateEntry::find("B2")?, None);
        Ok(())
    }

    fn saving_fills_a_generated_key_wherever_the_model_declares_it() {
        schema()?;
        Schema::on_default(|s| {
            s.create("boarding_passes", |t| {
                t.string("seat", 4);
                t.string("passenger", 50);
                t.increments("id");
            })
        })
        .map_err(Error::other)?;
        let mut flight = Flight {
            code: "LH7".into(),
            seats: 9,
            ..Default::default()
        };
        flight.save()?;
        assert_eq!(flight.id, Some(4));
        let mut pass = BoardingPass {
            seat: "12A".into(),
            passenger: "Ada".into(),
            id: None,
        };
        pass.save()?;
        let mut second = BoardingPass {
            seat: "12B".into(),
            passenger: "Grace".into(),
            id: None,
        };
        second.save()?;
        assert_eq!((pass.id, second.id), (Some(1), Some(2)));
        assert_eq!(BoardingPass::find(2)?, Some(second));
        assert_eq!(BoardingPass::find(1)?.map(|p| p.seat), Some("12A".to_owned()));
        Ok(())
    }

    fn last_reverses_the_order_and_ends_with_the_key() {
        // Masonite's `last` (probe 48a), as Rails reads it: the query's order reversed.
        schema()?;
        assert_eq!(Flight::last()?.map(|f| f.code), Some("LH3".to_owned()));
        let code = |flight: Option<Flight>| flight.map(|f| f.code);
        assert_eq!(code(Flight::query().order_by_desc("code").last()?), Some("LH1".into()));
        // Ties in the order: the highest key among the last ones.
        assert_eq!(code(Flight::query().order_by("seats").last()?), Some("LH3".into()));
        assert_eq!(code(Flight::where_("code", "<", "LH3").last()?), Some("LH2".into()));
        // The order's values decide, not the key.
        DB::table("flights").where_eq("code", "LH2").update(row! {"seats" => 5})?;
        let by_seats = || Flight::query().order_by("seats");
        assert_eq!(code(by_seats().last()?), Some("LH3".into()));
        assert_eq!(code(by_seats().first()?), Some("LH2".into()));
        // A limit or offset: the last of the rows it reads.
        assert_eq!(code(Flight::query().order_by("id").limit(2).last()?), Some("LH2".into()));
        assert_eq!(code(Flight::query().order_by("id").offset(1).limit(1).last()?), Some("LH2".into()));
        // A table query, a chosen key, a union.
        let name = DB::table("airports").primary_key("iata").last()?.map(|r| r.get::<String, _>("name"));
        assert_eq!(name.transpose()?, Some("Munich".to_owned()));
        assert_eq!(Airport::last()?.map(|a| a.iata), Some("MUC".to_owned()));
        let union = Flight::where_eq("code", "LH1").union(Flight::where_eq("code", "LH3")).order_by("code");
        assert_eq!(code(union.last()?), Some("LH3".into()));
        // Nothing matches: None.
        assert_eq!(Flight::where_eq("code", "none").last()?, None);
        // An order that cannot be reversed is refused before anything is sent.
        let raw = Flight::query().order_by_raw("seats * 2", &[]).last();
        assert!(matches!(raw, Err(Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. })), "{raw:?}");
        Ok(())
    }
}
