//! Every supported type round-trips through every backend; bad reads are typed errors.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use orm_core::{Error, Value, DB};
use orm_tests::{on_every_backend, per_backend3};
use serde_json::json;

fn create_table() -> orm_core::Result<()> {
    DB::statement(per_backend3(
        "CREATE TABLE vals (id INTEGER PRIMARY KEY, b BOOLEAN, i16v INTEGER, i32v INTEGER, \
         i64v INTEGER, f32v REAL, f64v REAL, s TEXT, bytes BLOB, d DATE, t TIME, \
         dt DATETIME, dtz DATETIME, j TEXT, opt INTEGER)",
        "CREATE TABLE vals (id SERIAL PRIMARY KEY, b BOOLEAN, i16v SMALLINT, i32v INTEGER, \
         i64v BIGINT, f32v REAL, f64v DOUBLE PRECISION, s TEXT, bytes BYTEA, d DATE, t TIME, \
         dt TIMESTAMP, dtz TIMESTAMPTZ, j JSONB, opt BIGINT)",
        "CREATE TABLE vals (id INTEGER AUTO_INCREMENT PRIMARY KEY, b BOOLEAN, i16v SMALLINT, \
         i32v INTEGER, i64v BIGINT, f32v FLOAT, f64v DOUBLE, s TEXT, bytes LONGBLOB, d DATE, \
         t TIME(6), dt DATETIME(6), dtz DATETIME(6), j JSON, opt BIGINT)",
    ))?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
struct Sample {
    b: bool,
    i16v: i16,
    i32v: i32,
    i64v: i64,
    f32v: f32,
    f64v: f64,
    s: String,
    bytes: Vec<u8>,
    d: NaiveDate,
    t: NaiveTime,
    dt: NaiveDateTime,
    dtz: DateTime<Utc>,
    j: serde_json::Value,
    opt: Option<i64>,
}

fn samples() -> Vec<Sample> {
    let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
    let t = NaiveTime::from_hms_micro_opt(23, 59, 58, 123_456).unwrap();
    vec![
        Sample {
            b: true,
            i16v: i16::MIN,
            i32v: i32::MIN,
            i64v: i64::MIN,
            f32v: f32::MIN_POSITIVE,
            f64v: f64::MAX,
            s: String::new(),
            bytes: Vec::new(),
            d: NaiveDate::from_ymd_opt(1, 1, 1).unwrap(),
            t: NaiveTime::MIN,
            dt: NaiveDate::from_ymd_opt(1970, 1, 1)
                .unwrap()
                .and_time(NaiveTime::MIN),
            dtz: Utc.timestamp_opt(0, 0).unwrap(),
            j: json!(null),
            opt: None,
        },
        Sample {
            b: false,
            i16v: i16::MAX,
            i32v: i32::MAX,
            i64v: i64::MAX,
            f32v: -1.5,
            f64v: -0.000_123_456_789,
            s: "héllo wörld ✓ 日本語 🦀 'quote' \"dq\" \\ back".repeat(3),
            bytes: (0..=255u8).cycle().take(1 << 20).collect(),
            d,
            t,
            dt: d.and_time(t),
            dtz: Utc.with_ymd_and_hms(2038, 1, 19, 3, 14, 8).unwrap(),
            j: json!({"a": [1, 2.5, "x", null, true], "nested": {"k": "v"}}),
            opt: Some(42),
        },
    ]
}

on_every_backend! {
    fn a_single_precision_column_keeps_the_digits_it_was_given() {
        // `t.float(..)`: REAL on PostgreSQL, FLOAT on MySQL, single precision. An f64
        // with no more digits than it holds is written, compared and read back as
        // given (`19.99`, not `19.989999771118164`); an f32 field round-trips.
        DB::statement(per_backend3(
            "CREATE TABLE prices (id INTEGER PRIMARY KEY, f FLOAT)",
            "CREATE TABLE prices (id SERIAL PRIMARY KEY, f REAL)",
            "CREATE TABLE prices (id INTEGER AUTO_INCREMENT PRIMARY KEY, f FLOAT)",
        ))?;
        let prices = orm_core::Query::<orm_core::Record>::new("prices");
        prices.clone().insert(orm_core::row! {"f" => 19.99f64})?;
        prices.clone().insert(orm_core::row! {"f" => 0.1f32})?;
        prices.clone().insert(orm_core::row! {"f" => -3.4e38f32})?;
        assert_eq!(prices.clone().where_("f", ">", 0.5f64).count()?, 1);
        assert_eq!(prices.clone().where_("f", "<", 1e-3f64).count()?, 1);
        let read: Vec<f64> = prices.clone().order_by("id").pluck("f")?;
        assert_eq!(read, [19.99, 0.1, -3.4e38]);
        let single: Vec<f32> = prices.clone().order_by("id").pluck("f")?;
        assert_eq!(single, [19.99f32, 0.1, -3.4e38]);
        if orm_tests::backend() == orm_core::Backend::Postgres {
            // More digits than the column keeps: refused, not cut, naming the fix.
            let cut = prices.clone().insert(orm_core::row! {"f" => 0.123_456_789_012f64});
            assert!(
                matches!(&cut, Err(Error::Bind { message, .. }) if message.contains("double")),
                "{cut:?}"
            );
            assert_eq!(prices.count()?, 3);
        }
        Ok(())
    }

    fn every_type_round_trips() {
        create_table()?;
        for sample in samples() {
            DB::insert(
                "INSERT INTO vals (b, i16v, i32v, i64v, f32v, f64v, s, bytes, d, t, dt, dtz, j, opt) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                &[&sample.b, &sample.i16v, &sample.i32v, &sample.i64v, &sample.f32v, &sample.f64v,
                  &sample.s, &sample.bytes, &sample.d, &sample.t, &sample.dt, &sample.dtz,
                  &sample.j, &sample.opt],
            )?;
        }
        let rows = DB::select("SELECT * FROM vals ORDER BY id", &[])?;
        let read: Vec<Sample> = rows
            .iter()
            .map(|r| {
                Ok(Sample {
                    b: r.get("b")?,
                    i16v: r.get("i16v")?,
                    i32v: r.get("i32v")?,
                    i64v: r.get("i64v")?,
                    f32v: r.get("f32v")?,
                    f64v: r.get("f64v")?,
                    s: r.get("s")?,
                    bytes: r.get("bytes")?,
                    d: r.get("d")?,
                    t: r.get("t")?,
                    dt: r.get("dt")?,
                    dtz: r.get("dtz")?,
                    j: r.get("j")?,
                    opt: r.get("opt")?,
                })
            })
            .collect::<orm_core::Result<_>>()?;
        assert_eq!(read, samples());
        Ok(())
    }

    fn narrow_integers_widen_and_out_of_range_is_a_decode_error() {
        create_table()?;
        DB::insert("INSERT INTO vals (i32v, i64v, s) VALUES (?, ?, ?)", &[&7, &(i64::from(i32::MAX) + 1), &"text"])?;
        let row = &DB::select("SELECT i32v, i64v, s, opt FROM vals", &[])?[0];
        assert_eq!(row.get::<i64, _>("i32v")?, 7);
        assert_eq!(row.get::<f64, _>("i32v")?, 7.0);
        match row.get::<i32, _>("i64v") {
            Err(Error::Decode { column, expected, found }) => {
                assert_eq!(column, "i64v");
                assert_eq!(expected, "i32");
                assert!(found.contains("out of range"), "{found}");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        match row.get::<i64, _>("s") {
            Err(Error::Decode { column, found, .. }) => {
                assert_eq!(column, "s");
                assert_eq!(found, "text");
            }
            other => panic!("expected a decode error, got {other:?}"),
        }
        assert!(matches!(row.get::<i64, _>("opt"), Err(Error::Decode { .. })));
        assert_eq!(row.get::<Option<i64>, _>("opt")?, None);
        assert!(matches!(row.get::<i64, _>("nope"), Err(Error::ColumnNotFound(_))));
        assert!(matches!(row.get::<i64, _>(&99usize), Err(Error::ColumnNotFound(_))));
        Ok(())
    }

    fn u64_reads_every_unsigned_value_and_i64_refuses_what_it_cannot_hold() {
        use orm_core::Backend;
        use rust_decimal::Decimal;
        let decode_error = |r: orm_core::Result<i64>, column: &str| match r {
            Err(Error::Decode { column: c, expected, found }) => {
                assert_eq!((c.as_str(), expected.as_str()), (column, "i64"));
                assert!(found.contains("18446744073709551615"), "{found}");
            }
            other => panic!("expected a decode error for {column}, got {other:?}"),
        };
        match orm_tests::backend() {
            Backend::Mysql => {
                // BIGINT UNSIGNED past i64::MAX: the row stays readable, the value reads
                // into u64, Decimal and String, and i64 says it is out of range.
                let rows = DB::select("SELECT CAST(18446744073709551615 AS UNSIGNED) AS u, 7 AS seven", &[])?;
                let row = &rows[0];
                assert_eq!(row.get::<u64, _>("u")?, u64::MAX);
                assert_eq!(row.get::<Decimal, _>("u")?, Decimal::from(u64::MAX));
                assert_eq!(row.get::<String, _>("u")?, "18446744073709551615");
                assert_eq!(row.get::<i64, _>("seven")?, 7);
                decode_error(row.get::<i64, _>("u"), "u");
                DB::statement("CREATE TABLE unsigned_vals (id BIGINT AUTO_INCREMENT PRIMARY KEY, u BIGINT UNSIGNED NOT NULL)")?;
                DB::insert("INSERT INTO unsigned_vals (u) VALUES (18446744073709551615), (5)", &[])?;
                let table = || DB::table("unsigned_vals");
                assert_eq!(table().order_by("id").pluck::<u64>("u")?, [u64::MAX, 5]);
                assert_eq!(table().max::<u64>("u")?, Some(u64::MAX));
                assert_eq!(table().min::<u64>("u")?, Some(5));
                assert_eq!(table().order_by("id").value::<u64>("u")?, Some(u64::MAX));
                assert_eq!(table().order_by("id").get()?[0].get::<u64, _>("u")?, u64::MAX);
                decode_error(table().order_by("id").value::<i64>("u").map(Option::unwrap_or_default), "u");
            }
            Backend::Postgres => {
                // A whole NUMERIC reads into u64 as it does into i64.
                let rows = DB::select(
                    "SELECT 5::numeric AS five, 18446744073709551615::numeric AS u, \
                     18446744073709551616::numeric AS over, (-1)::numeric AS neg, 1.5::numeric AS frac",
                    &[],
                )?;
                let row = &rows[0];
                assert_eq!(row.get::<u64, _>("five")?, 5);
                assert_eq!(row.get::<i64, _>("five")?, 5);
                assert_eq!(row.get::<u64, _>("u")?, u64::MAX);
                decode_error(row.get::<i64, _>("u"), "u");
                for column in ["over", "neg", "frac"] {
                    assert!(matches!(row.get::<u64, _>(column), Err(Error::Decode { .. })), "{column}");
                }
            }
            _ => {
                let rows = DB::select("SELECT 9223372036854775807 AS big, -1 AS neg", &[])?;
                assert_eq!(rows[0].get::<u64, _>("big")?, i64::MAX as u64);
                assert!(matches!(rows[0].get::<u64, _>("neg"), Err(Error::Decode { .. })));
            }
        }
        Ok(())
    }

    fn rows_read_by_position_through_the_connection() {
        create_table()?;
        DB::insert("INSERT INTO vals (s, i64v) VALUES (?, ?), (?, ?)", &[&"a", &1, &"b", &2])?;
        let pairs = DB::with_connection(|c| {
            c.query_map("SELECT s, i64v FROM vals ORDER BY i64v", &[], |row| {
                Ok((row.get::<String, _>(&0usize)?, row.get::<i64, _>(&1usize)?))
            })
        })?;
        assert_eq!(pairs, vec![("a".to_owned(), 1), ("b".to_owned(), 2)]);
        let record = &DB::select("SELECT s AS name FROM vals ORDER BY i64v", &[])?[1];
        assert_eq!(record.columns(), ["name"]);
        assert_eq!(record.value("name")?, &Value::Text("b".into()));
        Ok(())
    }
}
