//! Type round-trips (proptest): every supported column type, plain and as `Option`,
//! written with `Model::save` and read back with `Model::find` (the derive's decoder) and
//! with `DB::table(..).first()` (untyped records), on every backend.
//!
//! Ranges: integers, floats (incl. infinities, extremes, subnormals; NaN and the
//! infinities where the backend stores them, a typed refusal elsewhere) and bytes over
//! their whole domain; text is any Unicode (no NUL on PostgreSQL, whose text type cannot
//! hold it); dates and date-times over the backend's range that chrono also covers
//! (SQLite: years 1-9999 in its fixed-width text format; PostgreSQL: 4713 BC - 200000 AD;
//! MySQL: 1000-9999, its documented DATE and DATETIME range), times and date-times at
//! microsecond precision (every backend stores microseconds), no leap seconds; JSON
//! documents of any shape (floats with a fractional part: JSONB returns an integral
//! float as an integer).
//!
//! CI mode: 128 rows per backend; long mode (`ORM_RELIABILITY_LONG=1`): 5 000.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use orm_core::prelude::*;
use orm_core::Backend;
use orm_tests::reliability::scaled;
use orm_tests::{backend, on_every_backend};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "typed")]
pub struct Typed {
    pub id: Option<i64>,
    pub small: i16,
    pub int: i32,
    pub big: i64,
    pub single: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    pub bytes: Vec<u8>,
    pub day: NaiveDate,
    pub time: NaiveTime,
    pub stamp: NaiveDateTime,
    pub instant: DateTime<Utc>,
    pub doc: serde_json::Value,
    pub opt_small: Option<i16>,
    pub opt_int: Option<i32>,
    pub opt_big: Option<i64>,
    pub opt_single: Option<f32>,
    pub opt_double: Option<f64>,
    pub opt_flag: Option<bool>,
    pub opt_text: Option<String>,
    pub opt_bytes: Option<Vec<u8>>,
    pub opt_day: Option<NaiveDate>,
    pub opt_time: Option<NaiveTime>,
    pub opt_stamp: Option<NaiveDateTime>,
    pub opt_instant: Option<DateTime<Utc>>,
    pub opt_doc: Option<serde_json::Value>,
}

fn schema() -> Result<()> {
    orm_tests::reliability::relax_durability()?;
    // Name, then the type on PostgreSQL, SQLite and MySQL.
    let columns = [
        ("small", "SMALLINT", "INTEGER", "SMALLINT"),
        ("int", "INTEGER", "INTEGER", "INT"),
        ("big", "BIGINT", "INTEGER", "BIGINT"),
        ("single", "REAL", "REAL", "FLOAT"),
        ("double", "DOUBLE PRECISION", "REAL", "DOUBLE"),
        ("flag", "BOOLEAN", "INTEGER", "TINYINT(1)"),
        ("text", "TEXT", "TEXT", "LONGTEXT"),
        ("bytes", "BYTEA", "BLOB", "LONGBLOB"),
        ("day", "DATE", "TEXT", "DATE"),
        ("time", "TIME", "TEXT", "TIME(6)"),
        ("stamp", "TIMESTAMP", "TEXT", "DATETIME(6)"),
        ("instant", "TIMESTAMPTZ", "TEXT", "DATETIME(6)"),
        ("doc", "JSONB", "TEXT", "JSON"),
    ];
    let mut ddl = String::from(match backend() {
        Backend::Postgres => "CREATE TABLE typed (id BIGSERIAL PRIMARY KEY",
        Backend::Mysql => "CREATE TABLE typed (id BIGINT AUTO_INCREMENT PRIMARY KEY",
        _ => "CREATE TABLE typed (id INTEGER PRIMARY KEY AUTOINCREMENT",
    });
    for (name, pg, lite, my) in columns {
        let ty = match backend() {
            Backend::Postgres => pg,
            Backend::Mysql => my,
            _ => lite,
        };
        // `int` and `double` are reserved words in MySQL.
        let q = if backend() == Backend::Mysql { "`" } else { "" };
        ddl.push_str(&format!(", {q}{name}{q} {ty} NOT NULL, opt_{name} {ty}"));
    }
    ddl.push(')');
    DB::statement(&ddl)?;
    Ok(())
}

/// Whether the backend stores the infinities (MySQL's DOUBLE and FLOAT do not: it
/// refuses them, see [`check_infinities`]).
fn stores_infinities() -> bool {
    backend() != Backend::Mysql
}

fn float64() -> impl Strategy<Value = f64> {
    let infinite = stores_infinities();
    prop_oneof![
        any::<f64>().prop_filter("NaN is checked on its own", |f| !f.is_nan()),
        prop::sample::select(vec![
            0.0,
            f64::MIN,
            f64::MAX,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::EPSILON,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-324,
            1e308,
            9007199254740993.0,
        ]),
    ]
    .prop_filter("the backend stores infinities", move |f| {
        infinite || f.is_finite()
    })
}

fn float32() -> impl Strategy<Value = f32> {
    let infinite = stores_infinities();
    prop_oneof![
        any::<f32>().prop_filter("NaN is checked on its own", |f| !f.is_nan()),
        prop::sample::select(vec![
            0.0,
            f32::MIN,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::EPSILON,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-45,
        ]),
    ]
    .prop_filter("the backend stores infinities", move |f| {
        infinite || f.is_finite()
    })
}

fn text(postgres: bool) -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "\\PC{0,40}",
        Just("'; DROP TABLE typed; --".to_owned()),
        Just(String::new()),
    ]
    .prop_map(move |s| if postgres { s.replace('\0', "") } else { s })
}

fn date(backend: Backend) -> impl Strategy<Value = NaiveDate> {
    let (low, high) = match backend {
        Backend::Postgres => (
            NaiveDate::from_ymd_opt(-4712, 1, 1),
            NaiveDate::from_ymd_opt(200_000, 12, 31),
        ),
        Backend::Mysql => (
            NaiveDate::from_ymd_opt(1000, 1, 1),
            NaiveDate::from_ymd_opt(9999, 12, 31),
        ),
        _ => (
            NaiveDate::from_ymd_opt(1, 1, 1),
            NaiveDate::from_ymd_opt(9999, 12, 31),
        ),
    };
    let (low, high) = (low.expect("low"), high.expect("high"));
    let span = (high - low).num_days();
    (0..=span).prop_map(move |days| low + Duration::days(days))
}

fn time() -> impl Strategy<Value = NaiveTime> {
    (0u32..86_400, 0u32..1_000_000).prop_map(|(secs, micros)| {
        NaiveTime::from_num_seconds_from_midnight_opt(secs, micros * 1_000).expect("time")
    })
}

fn stamp(backend: Backend) -> impl Strategy<Value = NaiveDateTime> {
    (date(backend), time()).prop_map(|(d, t)| d.and_time(t))
}

fn json_doc() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>()
            // PostgreSQL's JSONB keeps numbers as decimals: an integral float comes
            // back as an integer (the same JSON number, another serde_json variant).
            .prop_filter("finite, with a fraction", |f| f.is_finite()
                && f.fract() != 0.0)
            .prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map("\\PC{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

prop_compose! {
    fn typed(backend: Backend)(
        small in any::<i16>(),
        int in any::<i32>(),
        big in any::<i64>(),
        single in float32(),
        double in float64(),
        flag in any::<bool>(),
        text in text(backend == Backend::Postgres),
        bytes in prop::collection::vec(any::<u8>(), 0..64),
        day in date(backend),
        time in time(),
        stamp in stamp(backend),
        instant in stamp(backend),
        doc in json_doc(),
        present in any::<[bool; 13]>(),
    ) -> Typed {
        Typed {
            id: None,
            opt_small: present[0].then_some(small),
            opt_int: present[1].then_some(int),
            opt_big: present[2].then_some(big),
            opt_single: present[3].then_some(single),
            opt_double: present[4].then_some(double),
            opt_flag: present[5].then_some(flag),
            opt_text: if present[6] { Some(text.clone()) } else { None },
            opt_bytes: if present[7] { Some(bytes.clone()) } else { None },
            opt_day: present[8].then_some(day),
            opt_time: present[9].then_some(time),
            opt_stamp: present[10].then_some(stamp),
            opt_instant: present[11].then(|| Utc.from_utc_datetime(&instant)),
            opt_doc: if present[12] { Some(doc.clone()) } else { None },
            small, int, big, single, double, flag, text, bytes, day, time, stamp,
            instant: Utc.from_utc_datetime(&instant),
            doc,
        }
    }
}

fn check_every_type_round_trips() -> Result<()> {
    schema()?;
    let cases = scaled(128, 5_000);
    let mut runner = TestRunner::new(Config {
        cases: cases as u32,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&typed(backend()), |mut row| {
        row.save()
            .map_err(|e| TestCaseError::fail(format!("save: {e}")))?;
        let id = row.id.expect("key");
        let found = Typed::find(id)
            .map_err(|e| TestCaseError::fail(format!("find: {e}")))?
            .expect("row");
        prop_assert_eq!(&found, &row);
        let record = DB::table("typed")
            .where_eq("id", id)
            .first()
            .map_err(|e| TestCaseError::fail(format!("first: {e}")))?
            .expect("record");
        let via_record =
            |column: &str| -> Result<String> { Ok(format!("{:?}", record.value(column)?)) };
        prop_assert_eq!(
            record.get::<String, _>("text").expect("text"),
            row.text.clone()
        );
        prop_assert_eq!(
            record
                .get::<Option<Vec<u8>>, _>("opt_bytes")
                .expect("bytes"),
            row.opt_bytes.clone()
        );
        prop_assert_eq!(
            record.get::<serde_json::Value, _>("doc").expect("doc"),
            row.doc.clone(),
            "{}",
            via_record("doc").unwrap_or_default()
        );
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("a value did not round-trip: {e}");
    }
    eprintln!("types: {cases} random rows of 26 typed columns round-tripped");
    Ok(())
}

/// NaN: PostgreSQL stores it; SQLite stores NULL for a bound NaN and MySQL cannot store
/// it, so the library must refuse it there with a typed error instead of losing it.
fn check_nan() -> Result<()> {
    schema()?;
    let mut row = Typed {
        single: f32::NAN,
        double: f64::NAN,
        opt_double: Some(f64::NAN),
        doc: json!({}),
        ..Default::default()
    };
    match (backend(), row.save()) {
        (Backend::Postgres, Ok(())) => {
            let found = Typed::find(row.id.expect("key"))?.expect("row");
            assert!(found.single.is_nan() && found.double.is_nan());
            assert!(found.opt_double.is_some_and(f64::is_nan));
        }
        (Backend::Sqlite | Backend::Mysql, Err(Error::Bind { .. })) => {
            assert_eq!(Typed::count()?, 0, "nothing written");
        }
        (backend, other) => panic!("{backend:?}: NaN gave {other:?}"),
    }
    Ok(())
}

/// The infinities: SQLite and PostgreSQL store them (the round trip above covers it);
/// MySQL's DOUBLE and FLOAT cannot, so each is refused with a typed error, nothing
/// written, rather than stored as another number.
fn check_infinities() -> Result<()> {
    schema()?;
    let rows = [
        Typed {
            double: f64::INFINITY,
            ..Default::default()
        },
        Typed {
            single: f32::NEG_INFINITY,
            ..Default::default()
        },
        Typed {
            opt_double: Some(f64::NEG_INFINITY),
            ..Default::default()
        },
    ];
    for mut row in rows {
        row.doc = json!({});
        match (backend(), row.save()) {
            (Backend::Mysql, Err(Error::Bind { message, .. })) => {
                assert!(message.contains("inf"), "{message}");
            }
            (Backend::Mysql, other) => panic!("MySQL: an infinity gave {other:?}"),
            (_, Ok(())) => {
                let found = Typed::find(row.id.expect("key"))?.expect("row");
                assert_eq!(found, row);
            }
            (backend, Err(e)) => panic!("{backend:?}: an infinity gave {e:?}"),
        }
    }
    if backend() == Backend::Mysql {
        assert_eq!(Typed::count()?, 0, "nothing written");
    }
    Ok(())
}

/// Floats inside JSON read back exactly (they were 1 ULP off before serde_json's
/// `float_roundtrip` was enabled; these are values proptest found).
fn check_json_floats() -> Result<()> {
    schema()?;
    let mut row = Typed {
        doc: json!([1.6246703602647621e-68, 1.3606062982147506e147, {"x": 0.1}]),
        ..Default::default()
    };
    row.save()?;
    assert_eq!(
        Typed::find(row.id.expect("key"))?.expect("row").doc,
        row.doc
    );
    Ok(())
}

on_every_backend! {
    fn infinities_are_kept_or_refused() {
        check_infinities()
    }

    fn json_floats_round_trip_exactly() {
        check_json_floats()
    }

    fn every_type_round_trips() {
        check_every_type_round_trips()
    }

    fn nan_is_kept_or_refused() {
        check_nan()
    }
}
