//! `Json<T>` fields: the application's own serde types in a JSON column (JSONB on
//! PostgreSQL, JSON on MariaDB, TEXT on SQLite), on every backend.

use std::collections::{BTreeMap, HashMap};

use orm_core::prelude::*;
use orm_migrate::Schema;
use orm_tests::on_every_backend;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub theme: String,
    pub font_size: u32,
    pub tags: Vec<String>,
    pub limits: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Model)]
pub struct Account {
    pub id: Option<i64>,
    pub name: String,
    pub settings: Json<Settings>,
    pub extra: Option<Json<Vec<i64>>>,
}

/// A map whose keys JSON cannot hold (tuples): its `Serialize` fails.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "accounts")]
pub struct BadAccount {
    pub id: Option<i64>,
    pub name: String,
    pub settings: Json<HashMap<(i32, i32), i64>>,
    pub extra: Option<Json<Vec<i64>>>,
}

/// The same table with hooks: its mass updates write model by model.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "accounts", hooks)]
pub struct HookedAccount {
    pub id: Option<i64>,
    pub name: String,
    pub settings: Json<Settings>,
    pub extra: Option<Json<Vec<i64>>>,
}

impl ModelHooks for HookedAccount {
    fn saving(&mut self) -> Result<()> {
        self.name = self.name.to_lowercase();
        Ok(())
    }
}

fn schema() -> Result<()> {
    Schema::on_default(|s| {
        s.create("accounts", |t| {
            t.increments("id");
            t.string("name", 50);
            t.jsonb("settings");
            t.json("extra").nullable();
        })
    })
    .map_err(|e| Error::other(e.to_string()))
}

fn settings() -> Settings {
    Settings {
        theme: "dark \"night\" ünïcode".into(),
        font_size: 14,
        tags: vec!["a".into(), "b".into()],
        limits: BTreeMap::from([("daily".into(), 10), ("monthly".into(), -3)]),
    }
}

on_every_backend! {
    fn json_fields_round_trip() -> Result<()> {
        schema()?;
        let mut ada = Account::create(Account {
            name: "ada".into(),
            settings: Json(settings()),
            extra: Some(Json(vec![1, 2, 3])),
            ..Default::default()
        })?;
        let grace = Account::create(Account {
            name: "grace".into(),
            settings: Json(Settings::default()),
            extra: None,
            ..Default::default()
        })?;
        let read = Account::find_or_fail(ada.id)?;
        assert_eq!(read, ada);
        assert_eq!(read.settings.limits["monthly"], -3);
        assert_eq!(Account::find_or_fail(grace.id)?.extra, None);

        // Changing the inner value through DerefMut is saved.
        ada.settings.font_size = 16;
        ada.settings.tags.push("c".into());
        ada.save()?;
        let read = Account::find_or_fail(ada.id)?;
        assert_eq!(read.settings.font_size, 16);
        assert_eq!(read.settings.tags, ["a", "b", "c"]);

        // Stored as a JSON document: the raw column reads as JSON, with the fields' names.
        let raw = DB::table("accounts").where_eq("name", "ada").value::<serde_json::Value>("settings")?;
        assert_eq!(raw.unwrap()["theme"], "dark \"night\" ünïcode");

        // Bound by hand too (raw SQL), and serialised as the inner value.
        let json = read.to_json()?;
        assert_eq!(json["settings"]["font_size"], 16);
        assert_eq!(json["extra"], serde_json::json!([1, 2, 3]));
        DB::insert(
            "INSERT INTO accounts (name, settings) VALUES (?, ?)",
            &[&"raw", &Json(Settings { font_size: 9, ..Default::default() })],
        )?;
        let raw = Account::where_eq("name", "raw").first()?.unwrap();
        assert_eq!(raw.settings.font_size, 9);
        Ok(())
    }

    fn json_that_does_not_fit_is_a_decode_error() -> Result<()> {
        schema()?;
        DB::table("accounts").insert(vec![
            ("name", Value::from("odd")),
            ("settings", Value::Json(serde_json::json!({"theme": 3}))),
        ])?;
        match Account::where_eq("name", "odd").first() {
            Err(Error::Decode { column, expected, found }) => {
                assert_eq!(column, "settings");
                assert!(expected.starts_with("Json<"), "{expected}");
                assert!(found.contains("does not fit"), "{found}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        Ok(())
    }

    fn json_that_cannot_be_encoded_is_a_bind_error_and_writes_nothing() -> Result<()> {
        schema()?;
        let bad = BadAccount {
            name: "bad".into(),
            settings: Json(HashMap::from([((1, 2), 3)])),
            ..Default::default()
        };
        let err = BadAccount::create(bad.clone()).unwrap_err();
        assert!(matches!(err, Error::Bind { .. }), "{err:?}");
        assert!(err.to_string().contains("as JSON"), "{err}");
        let err = BadAccount::insert_many(&mut [bad.clone()]).unwrap_err();
        assert!(matches!(err, Error::Bind { .. }), "{err:?}");
        assert_eq!(DB::table("accounts").count()?, 0);

        // An update of a stored row refuses too, and the row keeps its document.
        let mut stored = BadAccount::create(BadAccount { name: "ok".into(), ..Default::default() })?;
        stored.settings.insert((0, 0), 1);
        let err = stored.save().unwrap_err();
        assert!(matches!(err, Error::Bind { .. }), "{err:?}");
        let raw = DB::table("accounts").value::<serde_json::Value>("settings")?;
        assert_eq!(raw, Some(serde_json::json!({})));

        // As a raw binding.
        let err = DB::insert(
            "INSERT INTO accounts (name, settings) VALUES (?, ?)",
            &[&"raw", &bad.settings],
        )
        .unwrap_err();
        assert!(matches!(err, Error::Bind { .. }), "{err:?}");
        let err = Account::query().where_raw("settings = ?", &[&bad.settings]).get().unwrap_err();
        assert_eq!(err.invalid_query_kind(), Some(InvalidQueryKind::Argument), "{err}");
        assert_eq!(DB::table("accounts").count()?, 1);
        Ok(())
    }
}

fn json_rows() -> Result<()> {
    schema()?;
    let rows = [
        ("ada", settings(), Some(vec![1, 2, 3])),
        (
            "grace",
            Settings {
                theme: "light".into(),
                font_size: 12,
                tags: vec!["b".into()],
                limits: BTreeMap::new(),
            },
            None,
        ),
        (
            "linus",
            Settings {
                theme: "it's dark".into(),
                font_size: 9,
                tags: vec![],
                limits: BTreeMap::from([("daily".into(), 10)]),
            },
            Some(vec![3]),
        ),
    ];
    for (name, settings, extra) in rows {
        Account::create(Account {
            name: name.into(),
            settings: Json(settings),
            extra: extra.map(Json),
            ..Default::default()
        })?;
    }
    Ok(())
}

/// `docs (id, doc JSON NULL)`.
fn docs_table() -> Result<()> {
    Schema::on_default(|s| {
        s.create("docs", |t| {
            t.increments("id");
            t.json("doc").nullable();
        })
    })
    .map_err(|e| Error::other(e.to_string()))
}

fn account_names(query: Query<Account>) -> Result<Vec<String>> {
    Ok(query
        .order_by("name")
        .get()?
        .into_iter()
        .map(|a| a.name)
        .collect())
}

// Laravel's arrow syntax (`where('settings->theme', ..)`), `whereJsonContains` and
// `whereJsonLength`.
on_every_backend! {
    fn a_json_path_compares_its_value() -> Result<()> {
        json_rows()?;
        assert_eq!(account_names(Account::where_eq("settings->theme", "light"))?, ["grace"]);
        assert_eq!(account_names(Account::where_eq("settings->theme", "it's dark"))?, ["linus"]);
        assert_eq!(account_names(Account::where_eq("settings->theme", "dark \"night\" ünïcode"))?, ["ada"]);
        // Numbers compare as numbers, not text ('9' > '10').
        assert_eq!(account_names(Account::where_("settings->font_size", ">", 10))?, ["ada", "grace"]);
        assert_eq!(account_names(Account::where_("settings->limits->daily", "=", 10))?, ["ada", "linus"]);
        assert_eq!(account_names(Account::where_eq("settings->tags->0", "b"))?, ["grace"]);
        assert_eq!(account_names(Account::where_("settings->theme", "like", "%dark%"))?, ["ada", "linus"]);
        assert_eq!(account_names(Account::query().where_null("settings->limits->monthly"))?, ["grace", "linus"]);
        // Selected: named as written, or by its alias; plucked.
        let themes: Vec<String> = DB::table("accounts").order_by("name").pluck("settings->theme")?;
        assert_eq!(themes[1], "light");
        let rows = DB::table("accounts").select(&["name", "settings->theme", "settings->font_size as size"]).order_by("name").get()?;
        assert_eq!(rows[1].get::<String, _>("settings->theme")?, "light");
        // SQLite's json_extract gives the JSON number; PostgreSQL's ->> and MySQL's
        // json_unquote give its text (as in Laravel).
        let size = rows[1].get::<Value, _>("size")?;
        assert!(matches!(&size, Value::Int(12)) || matches!(&size, Value::Text(t) if t == "12"), "{size:?}");
        // Numbers order as numbers (14, 12, 9), not as text ("9" first), where the
        // database orders JSON values; MariaDB's JSON is text (documented).
        let by_size: Vec<String> = Account::query().order_by_desc("settings->font_size").pluck("name")?;
        if orm_tests::backend() != orm_core::Backend::Mysql {
            assert_eq!(by_size, ["ada", "grace", "linus"]);
        }
        assert_eq!(by_size.len(), 3);
        // A key that is not a plain name is refused, never written into the SQL.
        let bad = Account::where_eq("settings->x' OR '1'='1", 1).get();
        assert!(matches!(bad, Err(Error::InvalidIdentifier { .. })), "{bad:?}");
        Ok(())
    }

    fn a_json_null_is_null_to_where_null_on_every_backend() -> Result<()> {
        Schema::on_default(|s| {
            s.create("docs", |t| {
                t.increments("id");
                t.string("name", 20);
                t.json("body").nullable();
            })
        })
        .map_err(Error::other)?;
        // Laravel's DatabaseMySqlConnectionTest data set: a JSON null, a value, a
        // missing key, at several depths and in arrays.
        let docs = [
            ("null_value", serde_json::json!({"value": null})),
            ("value", serde_json::json!({"value": 1})),
            ("missing", serde_json::json!({"other": 1})),
            ("nested_null", serde_json::json!({"nested": {"value": null}})),
            ("array_null", serde_json::json!([null, 1])),
            ("array_value", serde_json::json!([1, null])),
        ];
        for (name, body) in docs {
            DB::table("docs").insert(row! {"name" => name, "body" => body})?;
        }
        let names = |q: Query<Record>| -> Result<Vec<String>> { q.order_by("name").pluck("name") };
        let null = |path: &str| names(DB::table("docs").where_null(path.to_owned()));
        let not_null = |path: &str| names(DB::table("docs").where_not_null(path.to_owned()));
        assert_eq!(null("body->value")?, ["array_null", "array_value", "missing", "nested_null", "null_value"]);
        assert_eq!(not_null("body->value")?, ["value"]);
        assert_eq!(null("body->nested->value")?.len(), 6);
        // Laravel's index syntax, on the arrays (MySQL reads `$[0]` of an object as the
        // object itself).
        let arrays = || DB::table("docs").where_in("name", ["array_null", "array_value"]);
        assert_eq!(names(arrays().where_null("body->[0]"))?, ["array_null"]);
        assert_eq!(names(arrays().where_not_null("body->[0]"))?, ["array_value"]);
        assert_eq!(names(arrays().where_null("body->1"))?, ["array_value"]);
        // `where_eq(path, NULL)` means the same as `where_null(path)`.
        assert_eq!(names(DB::table("docs").where_eq("body->value", Value::Null))?, null("body->value")?);
        assert_eq!(names(DB::table("docs").where_("body->value", "<>", Value::Null))?, ["value"]);
        // Which documents have a path (Laravel's whereJsonContainsKey): a key holding
        // null is there; a NULL document has none.
        DB::table("docs").insert(row! {"name" => "empty", "body" => Value::Null})?;
        assert_eq!(names(DB::table("docs").where_json_contains_key("body->value"))?, ["null_value", "value"]);
        assert_eq!(names(DB::table("docs").where_json_contains_key("body->nested->value"))?, ["nested_null"]);
        assert_eq!(names(DB::table("docs").where_json_contains_key("body->[1]"))?, ["array_null", "array_value"]);
        assert_eq!(
            names(DB::table("docs").where_json_doesnt_contain_key("body->value").or_where_json_contains_key("body->other"))?,
            ["array_null", "array_value", "empty", "missing", "nested_null"]
        );
        let bare = DB::table("docs").where_json_contains_key("body").get().unwrap_err();
        assert!(matches!(bare, Error::InvalidQuery { .. }), "{bare:?}");
        DB::table("docs").where_eq("name", "empty").delete()?;
        // An object looked for: an element of an array, or a sub-document (Laravel's
        // whereJsonContains); SQLite looks for scalars only.
        DB::table("docs").insert(row! {"name" => "objects", "body" => serde_json::json!({"tags": [{"k": "a"}, {"k": "b"}]})})?;
        DB::table("docs").insert(row! {"name" => "sub", "body" => serde_json::json!({"tags": {"k": "b", "n": 1}})})?;
        let with_b = names(DB::table("docs").where_json_contains("body->tags", serde_json::json!({"k": "b"})));
        match orm_tests::backend() {
            orm_core::Backend::Sqlite => assert!(matches!(with_b, Err(Error::InvalidQuery { .. })), "{with_b:?}"),
            _ => assert_eq!(with_b?, ["objects", "sub"]),
        }
        Ok(())
    }

    fn booleans_in_json_compare_as_booleans() -> Result<()> {
        Schema::on_default(|s| {
            s.create("flags", |t| {
                t.increments("id");
                t.string("name", 20);
                t.json("options");
            })
        })
        .map_err(|e| Error::other(e.to_string()))?;
        DB::table("flags").insert(row! {"name" => "on", "options" => serde_json::json!({"enabled": true, "n": 1.5})})?;
        DB::table("flags").insert(row! {"name" => "off", "options" => serde_json::json!({"enabled": false, "n": 2})})?;
        let names = |q: Query| -> Result<Vec<String>> { q.order_by("name").pluck("name") };
        assert_eq!(names(DB::table("flags").where_eq("options->enabled", true))?, ["on"]);
        assert_eq!(names(DB::table("flags").where_eq("options->enabled", false))?, ["off"]);
        assert_eq!(names(DB::table("flags").where_("options->n", ">", 1.6))?, ["off"]);
        assert_eq!(names(DB::table("flags").where_("options->n", "<", 2))?, ["on"]);
        // A path's number reads into a serde_json::Value on every backend.
        let ns: Vec<serde_json::Value> = DB::table("flags").order_by("name").pluck("options->n")?;
        assert_eq!(ns, [serde_json::json!(2), serde_json::json!(1.5)]);
        // A decimal compares as a number too (MySQL compared its text: "2" > "10.5").
        let ten_and_a_half: orm_core::Decimal = "10.5".parse().unwrap();
        assert_eq!(names(DB::table("flags").where_("options->n", ">", ten_and_a_half))?, Vec::<String>::new());
        assert_eq!(names(DB::table("flags").where_("options->n", "<", ten_and_a_half))?, ["off", "on"]);
        // Written as a JSON boolean, found as one.
        DB::table("flags").where_eq("name", "off").update(row! {"options->enabled" => true})?;
        assert_eq!(names(DB::table("flags").where_eq("options->enabled", true))?, ["off", "on"]);
        // Rows holding another JSON type at the path (user data) do not match, and do not
        // fail the statement (PostgreSQL would refuse to cast "abc" to a number), also
        // inside a transaction, which such a failure would abort.
        DB::table("flags").insert(row! {"name" => "text", "options" => serde_json::json!({"enabled": "yes", "n": "abc"})})?;
        DB::table("flags").insert(row! {"name" => "object", "options" => serde_json::json!({"enabled": {"a": 1}, "n": [1]})})?;
        DB::transaction(|| {
            assert_eq!(names(DB::table("flags").where_("options->n", ">", 1.6))?, ["off"]);
            assert_eq!(names(DB::table("flags").where_eq("options->n", 2))?, ["off"]);
            assert_eq!(names(DB::table("flags").where_eq("options->enabled", true))?, ["off", "on"]);
            assert_eq!(names(DB::table("flags").where_eq("options->n", "abc"))?, ["text"]);
            assert_eq!(names(DB::table("flags").where_eq("options->n", 0))?, Vec::<String>::new());
            assert_eq!(names(DB::table("flags").where_("options->n", "<", 100))?, ["off", "on"]);
            assert_eq!(names(DB::table("flags").where_("options->enabled", "<>", false))?, ["off", "on"]);
            Ok(())
        })?;
        // Text compares with the path's text on every backend (probe 48d: SQLite's
        // `json_extract` gave the number 2, which equals no text), so the number 2 and
        // the string "2" are both found by "2", and only they.
        DB::table("flags").insert(row! {"name" => "two", "options" => serde_json::json!({"n": "2"})})?;
        assert_eq!(names(DB::table("flags").where_eq("options->n", "2"))?, ["off", "two"]);
        assert_eq!(names(DB::table("flags").where_eq("options->n", "1.5"))?, ["on"]);
        assert_eq!(names(DB::table("flags").where_("options->n", "like", "2%"))?, ["off", "two"]);
        // A number still compares with numbers only.
        assert_eq!(names(DB::table("flags").where_eq("options->n", 2))?, ["off"]);
        Ok(())
    }

    fn a_json_path_compared_with_an_array_or_object_compares_documents() -> Result<()> {
        // Probe 48i (EF Core's structural equality): PostgreSQL's jsonb and MariaDB print
        // `[1, 2, 3]`, which the bound text `[1,2,3]` never equalled.
        docs_table()?;
        let doc = serde_json::json!({"a": {"list": [1, 2, 3], "obj": {"k": "v", "n": 1}}, "s": "x"});
        DB::table("docs").insert(row! {"doc" => doc})?;
        DB::table("docs").insert(row! {"doc" => serde_json::json!({"a": {"list": [3, 2, 1], "obj": {"k": "w"}}})})?;
        let ids = |q: Query| -> Result<Vec<i64>> { q.order_by("id").pluck("id") };
        assert_eq!(ids(DB::table("docs").where_eq("doc->a->list", serde_json::json!([1, 2, 3])))?, [1]);
        assert_eq!(ids(DB::table("docs").where_eq("doc->a->list", serde_json::json!([3, 2, 1])))?, [2]);
        assert_eq!(ids(DB::table("docs").where_eq("doc->a->obj", serde_json::json!({"k": "v", "n": 1})))?, [1]);
        assert_eq!(ids(DB::table("docs").where_eq("doc->a->list", serde_json::json!([1, 2])))?, Vec::<i64>::new());
        assert_eq!(ids(DB::table("docs").where_("doc->a->list", "<>", serde_json::json!([1, 2, 3])))?, [2]);
        // Still found after the ORM rewrote the document at another path.
        DB::table("docs").where_eq("id", 1).update(row! {"doc->s" => "y"})?;
        assert_eq!(ids(DB::table("docs").where_eq("doc->a->obj", serde_json::json!({"k": "v", "n": 1})))?, [1]);
        // Text and numbers at a path compare as before.
        assert_eq!(ids(DB::table("docs").where_eq("doc->s", "y"))?, [1]);
        assert_eq!(ids(DB::table("docs").where_eq("doc->a->obj->n", 1))?, [1]);
        Ok(())
    }

    fn a_json_path_between_two_numbers_compares_numbers() -> Result<()> {
        // CakePHP's BetweenExpression types its bounds: PostgreSQL compared the path's
        // text ("10.25" lay between 1 and 9.8), MariaDB matched the string "7".
        Schema::on_default(|s| {
            s.create("ranges", |t| {
                t.increments("id");
                t.json("js");
            })
        })
        .map_err(|e| Error::other(e.to_string()))?;
        for doc in [
            serde_json::json!({"n": 5, "p": 1.5}),
            serde_json::json!({"n": 15, "p": 10.25}),
            serde_json::json!({"n": 10, "p": 9.75}),
            serde_json::json!({"n": "7", "p": "abc"}),
        ] {
            DB::table("ranges").insert(row! {"js" => doc})?;
        }
        let ids = |q: Query| -> Result<Vec<i64>> { q.order_by("id").pluck("id") };
        assert_eq!(ids(DB::table("ranges").where_between("js->n", 5, 10))?, [1, 3]);
        assert_eq!(ids(DB::table("ranges").where_not_between("js->n", 9, 10))?, [1, 2]);
        assert_eq!(ids(DB::table("ranges").where_between("js->p", 1.0, 9.8))?, [1, 3]);
        assert_eq!(ids(DB::table("ranges").where_eq("id", 0).or_where_between("js->n", 11, 20))?, [2]);
        let low: orm_core::Decimal = "9.5".parse().unwrap();
        assert_eq!(ids(DB::table("ranges").where_between("js->p", low, 100))?, [2, 3]);
        // Two paths compared with each other: numbers as numbers, text as text.
        DB::table("ranges").insert(row! {"id" => 5, "js" => serde_json::json!({"a": 9, "b": 10, "s": "b", "t": "a"})})?;
        DB::table("ranges").insert(row! {"id" => 6, "js" => serde_json::json!({"a": 10, "b": 9, "s": "a", "t": "b"})})?;
        DB::table("ranges").insert(row! {"id" => 7, "js" => serde_json::json!({"a": 2.5, "b": 2.5, "lo": 1, "hi": 3})})?;
        assert_eq!(ids(DB::table("ranges").where_column("js->a", "<", "js->b"))?, [5]);
        assert_eq!(ids(DB::table("ranges").where_column("js->a", ">", "js->b"))?, [6]);
        assert_eq!(ids(DB::table("ranges").where_column("js->a", "=", "js->b"))?, [7]);
        assert_eq!(ids(DB::table("ranges").where_column("js->s", "<", "js->t"))?, [6]);
        assert_eq!(ids(DB::table("ranges").where_between_columns("js->a", "js->lo", "js->hi"))?, [7]);
        // An aggregate of a path is refused before it is sent (each database would
        // aggregate its text, or take the path for a column name).
        let max = DB::table("ranges").max::<i64>("js->n").unwrap_err();
        assert!(matches!(max, Error::InvalidQuery { kind: InvalidQueryKind::Clauses, .. }), "{max:?}");
        assert!(matches!(DB::table("ranges").sum("js->n"), Err(Error::InvalidQuery { .. })));
        Ok(())
    }

    fn a_json_path_read_into_a_json_type_keeps_its_json_type() -> Result<()> {
        docs_table()?;
        let doc = serde_json::json!({
            "digits": "123", "word": "hello", "truth": "true", "list_text": "[1]",
            "n": 7, "b": false, "none": null, "o": {"tags": ["a", "b"]},
        });
        DB::table("docs").insert(row! {"doc" => doc.clone()})?;
        let value = |path: &'static str| DB::table("docs").value::<serde_json::Value>(path);
        // A JSON string stays a string, whatever its text would parse as.
        assert_eq!(value("doc->digits")?, Some(serde_json::json!("123")));
        assert_eq!(value("doc->word")?, Some(serde_json::json!("hello")));
        assert_eq!(value("doc->truth")?, Some(serde_json::json!("true")));
        assert_eq!(value("doc->list_text")?, Some(serde_json::json!("[1]")));
        assert_eq!(value("doc->n")?, Some(serde_json::json!(7)));
        assert_eq!(value("doc->b")?, Some(serde_json::json!(false)));
        assert_eq!(value("doc->o")?, Some(serde_json::json!({"tags": ["a", "b"]})));
        assert_eq!(value("doc->o->tags->1")?, Some(serde_json::json!("b")));
        assert_eq!(value("doc->none")?, Some(serde_json::Value::Null));
        let missing = DB::table("docs").value::<Option<serde_json::Value>>("doc->missing")?;
        assert_eq!(missing, Some(None));
        let words: Vec<serde_json::Value> = DB::table("docs").pluck("doc->word")?;
        assert_eq!(words, [serde_json::json!("hello")]);
        let keyed: Vec<(i64, serde_json::Value)> = DB::table("docs").pluck_keyed("doc->digits", "id")?;
        assert_eq!(keyed, [(1, serde_json::json!("123"))]);
        let tags: Vec<orm_core::Json<Vec<String>>> = DB::table("docs").pluck("doc->o->tags")?;
        assert_eq!(tags[0].0, ["a", "b"]);
        // Read into text, a path still gives the string's own text.
        assert_eq!(DB::table("docs").value::<String>("doc->digits")?.as_deref(), Some("123"));
        assert_eq!(DB::table("docs").value::<String>("doc->word")?.as_deref(), Some("hello"));
        Ok(())
    }

    fn a_json_path_read_into_a_number_or_a_boolean_reads_the_value_it_holds() -> Result<()> {
        docs_table()?;
        let doc = serde_json::json!({
            "n": 7, "big": 9_007_199_254_740_993_i64, "neg": -3, "f": 2.5, "price": 19.99,
            "yes": true, "no": false, "none": null, "digits": "123", "o": {"n": 4},
        });
        DB::table("docs").insert(row! {"doc" => doc})?;
        DB::table("docs").insert(row! {"doc" => serde_json::json!({"n": 8, "yes": false})})?;
        let docs = || DB::table("docs").order_by("id");
        assert_eq!(docs().value::<i64>("doc->n")?, Some(7));
        assert_eq!(docs().value::<i64>("doc->big")?, Some(9_007_199_254_740_993));
        assert_eq!(docs().value::<i32>("doc->neg")?, Some(-3));
        assert_eq!(docs().value::<i64>("doc->o->n")?, Some(4));
        assert_eq!(docs().value::<f64>("doc->f")?, Some(2.5));
        assert_eq!(docs().value::<f64>("doc->n")?, Some(7.0));
        assert_eq!(
            docs().value::<rust_decimal::Decimal>("doc->price")?,
            Some(rust_decimal::Decimal::new(1999, 2))
        );
        assert_eq!(docs().value::<bool>("doc->yes")?, Some(true));
        assert_eq!(docs().value::<bool>("doc->no")?, Some(false));
        assert_eq!(docs().value::<Option<i64>>("doc->none")?, Some(None));
        assert_eq!(docs().value::<Option<i64>>("doc->missing")?, Some(None));
        assert_eq!(docs().pluck::<i64>("doc->n")?, [7, 8]);
        assert_eq!(docs().pluck::<bool>("doc->yes")?, [true, false]);
        let keyed: Vec<(i64, i64)> = docs().pluck_keyed("doc->n", "id")?;
        assert_eq!(keyed, [(1, 7), (2, 8)]);
        let by_n: Vec<(i64, i64)> = docs().pluck_keyed("id", "doc->n")?;
        assert_eq!(by_n, [(7, 1), (8, 2)]);
        // A string is no number, whatever its text; nor is a fraction an integer.
        let text = docs().value::<i64>("doc->digits");
        assert!(matches!(text, Err(Error::Decode { .. })), "{text:?}");
        let fraction = docs().value::<i64>("doc->f");
        assert!(matches!(fraction, Err(Error::Decode { .. })), "{fraction:?}");
        Ok(())
    }

    fn where_json_contains_and_length() -> Result<()> {
        json_rows()?;
        assert_eq!(account_names(Account::query().where_json_contains("settings->tags", "b"))?, ["ada", "grace"]);
        assert_eq!(account_names(Account::query().where_json_contains("settings->tags", serde_json::json!(["a", "b"])))?, ["ada"]);
        assert_eq!(account_names(Account::query().where_json_contains("extra", 3))?, ["ada", "linus"]);
        assert_eq!(account_names(Account::query().where_json_contains("extra", 2).or_where_json_contains("settings->tags", "b"))?, ["ada", "grace"]);
        assert_eq!(account_names(Account::query().where_json_doesnt_contain("settings->tags", "a"))?, ["grace", "linus"]);
        assert_eq!(account_names(Account::query().where_json_length("settings->tags", "=", 0))?, ["linus"]);
        assert_eq!(account_names(Account::query().where_json_length("extra", ">", 1))?, ["ada"]);
        assert_eq!(account_names(Account::query().where_json_length("settings->tags", ">=", 1).or_where_json_length("extra", "=", 1))?, ["ada", "grace", "linus"]);
        Ok(())
    }

    fn json_paths_and_qualified_columns_in_model_updates() -> Result<()> {
        // A mass update on a model with hooks (model by model) and a model's own
        // `update` take what a query's `update` takes: a JSON path sets that path and
        // keeps the rest of the document; a column named with the model's table.
        json_rows()?;
        let updated = HookedAccount::where_eq("name", "grace").update(row! {
            "settings->font_size" => 21,
            "settings->limits->weekly" => 4,
            "accounts.name" => "GRACE",
        })?;
        assert_eq!(updated, 1);
        let grace = Account::where_eq("name", "grace").first()?.expect("the hook lowercased it");
        assert_eq!(grace.settings.font_size, 21);
        assert_eq!(grace.settings.limits.get("weekly"), Some(&4));
        assert_eq!(grace.settings.tags, ["b"], "the rest of the document is kept");
        let other = HookedAccount::where_eq("name", "grace").update(row! {"teams.name" => "x"});
        assert!(matches!(other, Err(Error::ColumnNotFound(_))), "{other:?}");
        let mut ada = Account::where_eq("name", "ada").first()?.unwrap();
        ada.update(row! {"settings->theme" => "light", "extra->1" => 9})?;
        let ada = Account::find_or_fail(ada.id)?;
        assert_eq!((ada.settings.theme.as_str(), ada.settings.font_size), ("light", 14));
        assert_eq!(ada.extra.as_deref(), Some(&vec![1, 9, 3]));
        Ok(())
    }

    fn a_path_below_a_missing_key_makes_the_objects_on_the_way() -> Result<()> {
        // Laravel's testSavingJSONFields: `update(['json->a->b' => 3])` on {"x": 0}. SQLite
        // makes `a`; PostgreSQL's jsonb_set and MySQL's json_set left the document as it
        // was while reporting the row updated.
        Schema::on_default(|s| {
            s.create("docs", |t| {
                t.increments("id");
                t.json("doc");
            })
        })
        .map_err(Error::other)?;
        DB::table("docs").insert(row! {"doc" => serde_json::json!({"x": 0, "k": {"keep": 1}})})?;
        DB::table("docs").update(row! {"doc->a->b" => 3, "doc->a->c" => "s", "doc->k->n->m" => true})?;
        let doc: serde_json::Value = DB::table("docs").value("doc")?.unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"x": 0, "a": {"b": 3, "c": "s"}, "k": {"keep": 1, "n": {"m": true}}})
        );
        // A value set whole and a path below it in one update: the value is not replaced.
        DB::table("docs").update(row! {"doc->p" => serde_json::json!({"q": 1}), "doc->p->r" => 2})?;
        let doc: serde_json::Value = DB::table("docs").value("doc")?.unwrap();
        assert_eq!(doc["p"], serde_json::json!({"q": 1, "r": 2}));
        // A NULL document: the paths set make the object (json_set of NULL is NULL, and
        // the row was counted as updated with nothing kept).
        Schema::on_default(|s| {
            s.create("maybe_docs", |t| {
                t.increments("id");
                t.json("doc").nullable();
            })
        })
        .map_err(Error::other)?;
        DB::table("maybe_docs").insert(row! {"doc" => None::<serde_json::Value>})?;
        assert_eq!(DB::table("maybe_docs").update(row! {"doc->a->b" => 1, "doc->c" => "x"})?, 1);
        let doc: serde_json::Value = DB::table("maybe_docs").value("doc")?.unwrap();
        assert_eq!(doc, serde_json::json!({"a": {"b": 1}, "c": "x"}));
        Ok(())
    }

    fn json_contains_on_a_column_named_like_sqlites_json_each_columns() -> Result<()> {
        // Laravel's testSavingJSONFields has a column named `json`: SQLite's `json_each`
        // has columns `json`, `value`, `key`, ... of its own, which the bare name read.
        Schema::on_default(|s| {
            s.create("docs", |t| {
                t.increments("id");
                t.json("json");
                t.json("value").nullable();
            })
        })
        .map_err(Error::other)?;
        DB::table("docs").insert(row! {"json" => serde_json::json!({"tags": ["a", "b"]}), "value" => serde_json::json!([1, 2])})?;
        DB::table("docs").insert(row! {"json" => serde_json::json!({"tags": ["c"]}), "value" => serde_json::json!([3])})?;
        let ids = |q: Query| q.order_by("id").pluck::<i64>("id");
        assert_eq!(ids(DB::table("docs").where_json_contains("json->tags", "b"))?, [1]);
        assert_eq!(ids(DB::table("docs").where_json_doesnt_contain("json->tags", "b"))?, [2]);
        assert_eq!(ids(DB::table("docs").where_json_contains("value", 3))?, [2]);
        assert_eq!(ids(DB::table("docs as d").where_json_contains("json->tags", "c"))?, [2]);
        assert_eq!(ids(DB::table("docs").where_group(|q| q.where_json_contains("value", 1)))?, [1]);
        assert_eq!(DB::table("docs").where_json_contains("json->tags", "c").delete()?, 1);
        assert_eq!(DB::table("docs").count()?, 1);
        Ok(())
    }
}

// Laravel's `update(['options->theme' => 'dark'])`: one path of the document set, the
// rest kept, on the JSONB and the JSON column alike.
on_every_backend! {
    fn updating_a_json_path_keeps_the_rest() -> Result<()> {
        json_rows()?;
        DB::table("accounts").where_eq("name", "grace").update(row! {
            "settings->theme" => "it's \"dark\"",
            "settings->font_size" => 15,
            "settings->limits->daily" => 3,
        })?;
        let grace = Account::where_eq("name", "grace").first()?.unwrap();
        assert_eq!(grace.settings.theme, "it's \"dark\"");
        assert_eq!(grace.settings.font_size, 15);
        assert_eq!(grace.settings.limits.get("daily"), Some(&3));
        assert_eq!(grace.settings.tags, ["b"]);
        DB::table("accounts").where_eq("name", "ada").update(row! {"extra->0" => 7})?;
        let ada = Account::where_eq("name", "ada").first()?.unwrap();
        assert_eq!(ada.extra.as_deref(), Some(&vec![7, 2, 3]));
        let stepped = DB::table("accounts").increment("settings->font_size", 1);
        assert!(matches!(stepped, Err(Error::InvalidQuery { .. })), "{stepped:?}");
        Ok(())
    }
}
