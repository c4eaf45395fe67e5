//! Dates (issue 14, item 7): no silent truncation of a time of day into a DATE, and date
//! parts of the UTC instant the ORM wrote, whatever the session's time zone.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use orm_core::prelude::*;
use orm_core::Backend;
use orm_tests::{backend, on_every_backend, per_backend};

fn create_events() -> Result<()> {
    DB::statement(per_backend(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, at_utc DATETIME, at_local DATETIME, day DATE)",
        "CREATE TABLE events (id SERIAL PRIMARY KEY, at_utc TIMESTAMPTZ, at_local TIMESTAMP, day DATE)",
    ))?;
    Ok(())
}

fn naive(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").unwrap()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// A session whose zone is not UTC (PostgreSQL; SQLite has no session zone).
fn new_york_session() -> Result<()> {
    if backend() == Backend::Postgres {
        DB::statement("SET TIME ZONE 'America/New_York'")?;
    }
    Ok(())
}

/// A model whose date-time field keeps an offset.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "meetings")]
pub struct Meeting {
    pub id: Option<i64>,
    pub starts_at: Option<DateTime<orm_core::FixedOffset>>,
}

on_every_backend! {
    fn dates_times_and_documents_read_into_strings_alike_on_every_backend() {
        DB::statement(per_backend(
            "CREATE TABLE diary (id INTEGER PRIMARY KEY, day DATE, at TIME, stamp DATETIME, instant DATETIME, doc JSON)",
            "CREATE TABLE diary (id SERIAL PRIMARY KEY, day DATE, at TIME, stamp TIMESTAMP, instant TIMESTAMPTZ, doc JSONB)",
        ))?;
        let instant = Utc.with_ymd_and_hms(2024, 2, 29, 23, 30, 5).unwrap();
        DB::table("diary").insert(row! {
            "day" => ymd(2024, 2, 29),
            "at" => NaiveTime::from_hms_micro_opt(7, 5, 9, 250).unwrap(),
            "stamp" => naive("2024-02-29 08:00:00"),
            "instant" => instant,
            "doc" => serde_json::json!({"a": [1, "x"]}),
        })?;
        let diary = || DB::table("diary");
        assert_eq!(diary().pluck::<String>("day")?, ["2024-02-29"]);
        assert_eq!(diary().pluck::<String>("at")?, ["07:05:09.000250"]);
        assert_eq!(diary().pluck::<String>("stamp")?, ["2024-02-29 08:00:00.000000"]);
        assert_eq!(diary().pluck::<String>("instant")?, ["2024-02-29 23:30:05.000000"]);
        let doc: serde_json::Value = serde_json::from_str(&diary().value::<String>("doc")?.unwrap()).unwrap();
        assert_eq!(doc, serde_json::json!({"a": [1, "x"]}));
        // SQLAlchemy's DateTest.test_select_direct: a bound date selected back is that
        // date (MySQL reads it as a DATETIME at midnight); a date-time at another time of
        // day is not a date.
        assert_eq!(DB::scalar::<NaiveDate>("SELECT ?", &[&ymd(2012, 10, 15)])?, Some(ymd(2012, 10, 15)));
        assert!(diary().value::<NaiveDate>("stamp").is_err(), "08:00 is not a date");
        Ok(())
    }

    fn a_date_time_with_an_offset_keeps_its_instant() {
        DB::statement(per_backend(
            "CREATE TABLE meetings (id INTEGER PRIMARY KEY, starts_at DATETIME)",
            "CREATE TABLE meetings (id SERIAL PRIMARY KEY, starts_at TIMESTAMPTZ)",
        ))?;
        let tokyo = chrono::FixedOffset::east_opt(9 * 3600).unwrap();
        let new_york = chrono::FixedOffset::west_opt(5 * 3600).unwrap();
        let at = tokyo.with_ymd_and_hms(2024, 5, 20, 9, 30, 0).unwrap(); // 00:30 UTC
        let meeting = Meeting::create(Meeting { starts_at: Some(at), ..Default::default() })?;
        let read = Meeting::find_or_fail(meeting.id)?;
        assert_eq!(read.starts_at, Some(at), "the same instant");
        assert_eq!(read.starts_at.unwrap().naive_utc(), naive("2024-05-20 00:30:00"));
        // Compared as instants, whatever offset a value is given in.
        let same = new_york.with_ymd_and_hms(2024, 5, 19, 19, 30, 0).unwrap();
        assert_eq!(Meeting::where_eq("starts_at", same).count()?, 1);
        assert_eq!(Meeting::where_("starts_at", ">", same).count()?, 0);
        Ok(())
    }

    fn date_parts_compare_with_a_date_time_by_its_date() {
        create_events()?;
        let at = Utc.with_ymd_and_hms(2024, 5, 20, 9, 30, 0).unwrap();
        DB::table("events").insert(row! {"at_utc" => at, "at_local" => at.naive_utc(), "day" => ymd(2024, 5, 20)})?;
        let midnight = Utc.with_ymd_and_hms(2024, 5, 20, 0, 0, 0).unwrap();
        let evening = Utc.with_ymd_and_hms(2024, 5, 20, 21, 0, 0).unwrap();
        for column in ["at_utc", "at_local", "day"] {
            let events = || DB::table("events");
            for value in [Value::from(at), Value::from(midnight), Value::from(evening), Value::from(evening.naive_utc())] {
                assert_eq!(events().where_date(column, "=", value.clone()).count()?, 1, "{column} = {value}");
            }
            assert_eq!(events().where_date(column, ">", midnight + chrono::Duration::days(1)).count()?, 0, "{column}");
            assert_eq!(events().where_date(column, "<=", evening).count()?, 1, "{column}");
            assert_eq!(events().where_year(column, "=", evening).count()?, 1, "{column}");
            assert_eq!(events().where_month(column, "=", evening).count()?, 1, "{column}");
            assert_eq!(events().where_day(column, "=", evening).count()?, 1, "{column}");
            assert_eq!(events().where_day(column, "=", ymd(2024, 5, 21)).count()?, 0, "{column}");
        }
        Ok(())
    }

    fn a_time_of_day_is_never_dropped_into_a_date() {
        create_events()?;
        let midnight = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        let noon = Utc.with_ymd_and_hms(2024, 3, 1, 12, 0, 0).unwrap();
        DB::table("events").insert(row! {"day" => ymd(2024, 3, 1)})?;
        if backend() == Backend::Postgres {
            // Midnight is a date exactly: it converts to a DATE parameter.
            DB::table("events").insert(row! {"day" => midnight})?;
            DB::table("events").insert(row! {"day" => midnight.naive_utc()})?;
            assert_eq!(DB::table("events").pluck::<NaiveDate>("day")?, [ymd(2024, 3, 1); 3]);
            assert_eq!(DB::table("events").where_("day", "=", midnight).count()?, 3);
            // Noon is not: refused, nothing written (it was silently truncated).
            for value in [Value::from(noon), Value::from(noon.naive_utc())] {
                let err = DB::table("events").insert(row! {"day" => value.clone()}).unwrap_err();
                assert!(matches!(err, Error::Bind { message: ref m, .. } if m.contains("time of day")), "{err}");
                let err = DB::table("events").where_("day", "=", value).count().unwrap_err();
                assert!(matches!(err, Error::Bind { .. }), "{err}");
            }
            assert_eq!(DB::table("events").count()?, 3);
        } else {
            // SQLite compares the text as written: noon is not that date either.
            assert_eq!(DB::table("events").where_("day", "=", noon).count()?, 0);
            assert_eq!(DB::table("events").where_("day", "=", ymd(2024, 3, 1)).count()?, 1);
        }
        Ok(())
    }

    fn a_date_out_of_range_is_refused_never_changed() {
        create_events()?;
        let mut written = 0;
        for year in [1, 500, 9999, 10000, 12345, 0, -44] {
            let day = ymd(year, 3, 15);
            let at = day.and_hms_micro_opt(12, 30, 0, 250).unwrap();
            let values = [("at_utc", Value::from(at.and_utc())), ("at_local", Value::from(at)), ("day", Value::from(day))];
            for (column, value) in values {
                match DB::table("events").insert(row! {column => value.clone()}) {
                    Ok(_) => {
                        written += 1;
                        let read = DB::table("events").order_by_desc("id").first()?.unwrap();
                        match column {
                            "at_utc" => assert_eq!(read.get::<DateTime<Utc>, _>(column)?, at.and_utc()),
                            "at_local" => assert_eq!(read.get::<NaiveDateTime, _>(column)?, at),
                            _ => assert_eq!(read.get::<NaiveDate, _>(column)?, day),
                        }
                        assert_eq!(DB::table("events").where_(column, "=", value).count()?, 1, "{column} {year}");
                    }
                    Err(Error::Bind { .. }) => {
                        assert!(!(1..=9999).contains(&year), "{column} {year} refused");
                        let err = DB::table("events").where_(column, "=", value).count().unwrap_err();
                        assert!(matches!(err, Error::Bind { .. }), "{column} {year}: {err}");
                    }
                    Err(err) => panic!("{column} {year}: {err}"),
                }
                assert_eq!(DB::table("events").count()?, written, "{column} {year}");
            }
        }
        Ok(())
    }

    fn dates_sort_and_compare_in_time_order() {
        create_events()?;
        // Each backend's documented range (docs/02-configuration.md).
        let years = match backend() {
            Backend::Postgres => -4712..=294_275,
            _ => 1..=9999,
        };
        let mut kept = Vec::new();
        for year in [2024, 10000, 9999, 1, 0, -44, 12345, 500] {
            let at = Utc.with_ymd_and_hms(year, 6, 1, 8, 0, 0).unwrap();
            match DB::table("events").insert(row! {"at_utc" => at, "at_local" => at.naive_utc(), "day" => at.date_naive()}) {
                Ok(_) => kept.push(at),
                Err(Error::Bind { .. }) => {}
                Err(err) => panic!("{year}: {err}"),
            }
            assert_eq!(years.contains(&year), kept.last() == Some(&at), "{year}");
        }
        kept.sort();
        let (first, last) = (kept[0], kept[kept.len() - 1]);
        let events = || DB::table("events");
        assert_eq!(events().order_by("at_utc").pluck::<DateTime<Utc>>("at_utc")?, kept);
        assert_eq!(events().order_by("at_local").pluck::<NaiveDateTime>("at_local")?, kept.iter().map(|t| t.naive_utc()).collect::<Vec<_>>());
        assert_eq!(events().order_by("day").pluck::<NaiveDate>("day")?, kept.iter().map(|t| t.date_naive()).collect::<Vec<_>>());
        assert_eq!(events().max::<DateTime<Utc>>("at_utc")?, Some(last));
        assert_eq!(events().min::<NaiveDateTime>("at_local")?, Some(first.naive_utc()));
        assert_eq!(events().max::<NaiveDate>("day")?, Some(last.date_naive()));
        let y2024 = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let later = kept.iter().filter(|t| **t > y2024).count() as u64;
        assert_eq!(events().where_("at_utc", ">", y2024).count()?, later);
        assert_eq!(events().where_("day", ">", y2024.date_naive()).count()?, later);
        // A value outside the range is refused in a comparison too, never compared as text.
        if backend() != Backend::Postgres {
            let y10000 = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
            let err = events().where_("at_utc", "<", y10000).count().unwrap_err();
            assert!(matches!(err, Error::Bind { .. }), "{err}");
        }
        Ok(())
    }

    fn sub_microsecond_times_are_truncated_alike_everywhere() {
        DB::statement(per_backend(
            "CREATE TABLE clock (id INTEGER PRIMARY KEY, at_utc DATETIME, at_local DATETIME, t TIME)",
            "CREATE TABLE clock (id INTEGER PRIMARY KEY, at_utc TIMESTAMPTZ, at_local TIMESTAMP, t TIME)",
        ))?;
        let at = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap();
        // Every backend keeps whole microseconds, earlier ones too: PostgreSQL's encoder
        // counted from 2000 towards zero, so before 2000 it rounded up (to 2000 here).
        let cases = [
            ("1999-12-31 23:59:59.999999999", "1999-12-31 23:59:59.999999"),
            ("1985-06-01 12:00:00.123456789", "1985-06-01 12:00:00.123456"),
            ("1969-12-31 23:59:59.000000500", "1969-12-31 23:59:59"),
            ("2024-06-01 12:00:00.123456789", "2024-06-01 12:00:00.123456"),
        ];
        for (id, (given, stored)) in (1i64..).zip(cases) {
            let (given, stored) = (at(given), at(stored));
            DB::table("clock").insert(row! {"id" => id, "at_utc" => given.and_utc(), "at_local" => given, "t" => given.time()})?;
            let clock = || DB::table("clock").where_eq("id", id);
            assert_eq!(clock().value::<DateTime<Utc>>("at_utc")?, Some(stored.and_utc()));
            assert_eq!(clock().value::<NaiveDateTime>("at_local")?, Some(stored));
            assert_eq!(clock().value::<chrono::NaiveTime>("t")?, Some(stored.time()));
            // A comparison truncates the same way.
            assert_eq!(clock().where_("at_utc", "=", given.and_utc()).count()?, 1, "{given}");
            assert_eq!(clock().where_("at_local", "=", given).count()?, 1, "{given}");
            assert_eq!(clock().where_("at_local", "<", stored).count()?, 0, "{given}");
            if backend() == Backend::Postgres {
                // Text for a timestamp parameter is read as one, then truncated alike.
                let text = given.format("%Y-%m-%d %H:%M:%S%.9f").to_string();
                assert_eq!(clock().where_("at_local", "=", text).count()?, 1, "{given}");
            }
        }
        Ok(())
    }

    fn date_parts_use_the_utc_instant_whatever_the_session_zone() {
        create_events()?;
        new_york_session()?;
        let instant = Utc.with_ymd_and_hms(2010, 1, 1, 0, 30, 0).unwrap();
        DB::table("events").insert(row! {
            "at_utc" => instant,
            "at_local" => naive("2010-01-01 00:30:00"),
            "day" => ymd(2010, 1, 1),
        })?;
        let late = Utc.with_ymd_and_hms(2009, 12, 31, 23, 30, 0).unwrap();
        DB::table("events").insert(row! {
            "at_utc" => late,
            "at_local" => naive("2009-12-31 23:30:00"),
            "day" => ymd(2009, 12, 31),
        })?;
        let ids = |q: Query| -> Result<Vec<i64>> { q.order_by("id").pluck("id") };
        for column in ["at_utc", "at_local", "day"] {
            let events = || DB::table("events");
            assert_eq!(ids(events().where_year(column, "=", 2010))?, [1], "{column}");
            assert_eq!(ids(events().where_month(column, "=", 1))?, [1], "{column}");
            assert_eq!(ids(events().where_day(column, "=", 31))?, [2], "{column}");
            assert_eq!(ids(events().where_date(column, "=", ymd(2010, 1, 1)))?, [1], "{column}");
            assert_eq!(ids(events().where_date(column, "<", "2010-01-01"))?, [2], "{column}");
        }
        // The instant reads back unchanged in that session.
        let read: DateTime<Utc> = DB::table("events").where_("id", "=", 1).value("at_utc")?.unwrap();
        assert_eq!(read, instant);
        Ok(())
    }
}

on_every_backend! {
    // Laravel's `whereTime`: the time of day to the second, of every kind of column,
    // compared with a time, a date-time's time or `HH:MM:SS` text.
    fn where_time_compares_the_time_of_day_to_the_second() {
        DB::statement(per_backend(
            "CREATE TABLE shifts (id INTEGER PRIMARY KEY, at_utc DATETIME, at_local DATETIME, starts TIME)",
            "CREATE TABLE shifts (id SERIAL PRIMARY KEY, at_utc TIMESTAMPTZ, at_local TIMESTAMP, starts TIME)",
        ))?;
        new_york_session()?;
        let time = |h, m, s, micro| chrono::NaiveTime::from_hms_micro_opt(h, m, s, micro).unwrap();
        for (id, t) in [(1, time(9, 30, 15, 500_000)), (2, time(17, 5, 0, 0)), (3, time(23, 59, 59, 999_999))] {
            let at = ymd(2024, 5, 20).and_time(t);
            DB::table("shifts").insert(row! {"id" => id, "at_utc" => at.and_utc(), "at_local" => at, "starts" => t})?;
        }
        let ids = |q: Query| -> Result<Vec<i64>> { q.order_by("id").pluck("id") };
        for column in ["at_utc", "at_local", "starts"] {
            let shifts = || DB::table("shifts");
            assert_eq!(ids(shifts().where_time(column, "=", "09:30:15"))?, [1], "{column}");
            assert_eq!(ids(shifts().where_time(column, "=", time(9, 30, 15, 0)))?, [1], "{column}");
            assert_eq!(ids(shifts().where_time(column, ">=", "17:05:00"))?, [2, 3], "{column}");
            assert_eq!(ids(shifts().where_time(column, "<", time(17, 5, 0, 0)))?, [1], "{column}");
            let evening = Utc.with_ymd_and_hms(1999, 1, 1, 23, 59, 59).unwrap();
            assert_eq!(ids(shifts().where_time(column, "=", evening))?, [3], "{column}");
            assert_eq!(ids(shifts().where_eq("id", 1).or_where_time(column, ">", "23:00:00"))?, [1, 3], "{column}");
        }
        let first = DB::table("shifts").order_by("id").first_where("starts", ">", "10:00:00")?.expect("a row");
        assert_eq!(first.get::<i64, _>("id")?, 2);
        assert!(DB::table("shifts").first_where("id", "=", 4)?.is_none());
        Ok(())
    }
}

/// A PostgreSQL database whose zone is not UTC (`ALTER DATABASE .. SET TimeZone`): the
/// ORM's sessions still run in UTC, so a `datetime(..).use_current()` column (TIMESTAMP,
/// filled by the server's `CURRENT_TIMESTAMP`) holds the UTC time the ORM compares with.
#[test]
fn postgres_sessions_run_in_utc_whatever_the_databases_zone() -> Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    let url = orm_core::testing::postgres_url();
    let database = format!("orm_zone_{}", std::process::id());
    let mut admin = orm_core::Connection::open(&url)?;
    for sql in [
        format!("DROP DATABASE IF EXISTS {database}"),
        format!("CREATE DATABASE {database}"),
        format!("ALTER DATABASE {database} SET TimeZone = 'America/New_York'"),
    ] {
        admin.execute_batch(&sql)?;
    }
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    let outcome = (|| -> Result<()> {
        DB::connect_named("new_york", &format!("{base}/{database}"))?;
        let db = DB::connection("new_york");
        let zone: String = db.select("SHOW TimeZone", &[])?[0].get("TimeZone")?;
        assert_eq!(zone, "UTC");
        db.statement("CREATE TABLE pings (id SERIAL PRIMARY KEY, seen_at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP)")?;
        let before = Utc::now() - chrono::Duration::seconds(5);
        db.statement("INSERT INTO pings DEFAULT VALUES")?;
        let seen: DateTime<Utc> = db.table("pings").value("seen_at")?.expect("a default");
        assert!(
            (seen - Utc::now()).num_seconds().abs() < 60,
            "{seen} is not now in UTC"
        );
        assert_eq!(
            db.table("pings").where_("seen_at", ">=", before).count()?,
            1
        );
        // A zone the URL sets is kept.
        DB::connect_named(
            "tokyo",
            &format!("{base}/{database}?options=-c%20TimeZone%3DAsia%2FTokyo"),
        )?;
        let zone: String =
            DB::connection("tokyo").select("SHOW TimeZone", &[])?[0].get("TimeZone")?;
        assert_eq!(zone, "Asia/Tokyo");
        Ok(())
    })();
    DB::disconnect("new_york");
    DB::disconnect("tokyo");
    admin.execute_batch(&format!("DROP DATABASE IF EXISTS {database}"))?;
    outcome
}

on_every_backend! {
    fn a_time_the_database_filled_in_compares_equal_to_itself() {
        orm_migrate::Schema::on_default(|s| {
            s.create("pings", |t| {
                t.increments("id");
                t.string("k", 10);
                t.timestamp("seen_at").use_current();
            })
        })
        .map_err(Error::other)?;
        DB::table("pings").insert(row! {"k" => "db"})?;
        let seen: DateTime<Utc> = DB::table("pings").value("seen_at")?.expect("a default");
        assert!((seen - Utc::now()).num_seconds().abs() < 60, "{seen}");
        let pings = || DB::table("pings");
        assert_eq!(pings().where_eq("seen_at", seen).count()?, 1);
        assert_eq!(pings().where_("seen_at", ">=", seen).count()?, 1);
        assert_eq!(pings().where_("seen_at", "<=", seen).count()?, 1);
        let later = seen + chrono::Duration::seconds(1);
        assert_eq!(pings().where_between("seen_at", seen, later).count()?, 1);
        // A row the ORM stamps sorts with the database's.
        DB::table("pings").insert(row! {"k" => "orm", "seen_at" => later})?;
        let order: Vec<String> = pings().order_by_desc("seen_at").pluck("k")?;
        assert_eq!(order, ["orm", "db"]);
        Ok(())
    }

    fn a_date_time_without_zone_defaults_to_the_utc_time_in_any_session() {
        // Sequel's schema specs on PostgreSQL: CURRENT_TIMESTAMP into a TIMESTAMP column
        // stored the inserting session's local time; the ORM reads such a column as UTC.
        orm_migrate::Schema::on_default(|s| {
            s.create("visits", |t| {
                t.increments("id");
                t.datetime("at").use_current();
            })
        })
        .map_err(Error::other)?;
        new_york_session()?;
        DB::table("visits").insert(row! {"id" => 1})?;
        let at: NaiveDateTime = DB::table("visits").value("at")?.expect("a default");
        let off = (at - Utc::now().naive_utc()).num_seconds().abs();
        assert!(off < 60, "{at} is {off} s from the UTC time");
        Ok(())
    }
}

/// Date-time, date-time without zone and time fields, a state: what a model holds after
/// a write must be what it reads back.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "stamps", timestamps)]
pub struct Stamp {
    pub id: Option<i64>,
    pub at: Option<DateTime<Utc>>,
    pub local: Option<NaiveDateTime>,
    pub t: Option<NaiveTime>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub state: ModelState,
}

/// The same table without a state: `save` goes by the key.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "stamps", timestamps)]
pub struct PlainStamp {
    pub id: Option<i64>,
    pub at: Option<DateTime<Utc>>,
    pub local: Option<NaiveDateTime>,
    pub t: Option<NaiveTime>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// The fields the database stores, for comparing a model with its row.
type Stored = (
    Option<DateTime<Utc>>,
    Option<NaiveDateTime>,
    Option<NaiveTime>,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
);

fn stored(s: &Stamp) -> Stored {
    (s.at, s.local, s.t, s.created_at, s.updated_at)
}

fn plain_stored(s: &PlainStamp) -> Stored {
    (s.at, s.local, s.t, s.created_at, s.updated_at)
}

/// A time with nanoseconds: `micros` whole microseconds past noon, plus 789 ns.
fn with_nanos(micros: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
        + chrono::Duration::microseconds(micros)
        + chrono::Duration::nanoseconds(789)
}

fn floored(at: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::SubsecRound;
    at.trunc_subsecs(6)
}

on_every_backend! {
    fn a_written_model_holds_the_microseconds_it_stored() {
        orm_migrate::Schema::on_default(|s| {
            s.create("stamps", |t| {
                t.increments("id");
                t.timestamp("at").nullable();
                t.datetime("local").nullable();
                t.time("t").nullable();
                t.timestamps();
            })
        })
        .map_err(Error::other)?;
        let reread = |id: Option<i64>| Stamp::find_or_fail(id.expect("a key"));

        // create, with the caller's own times (one of them `Utc::now()`, which has
        // nanoseconds on Linux) and its own created_at.
        let now = Utc::now();
        let given = with_nanos(123_456);
        let created = Stamp::create(Stamp {
            at: Some(now),
            local: Some(given.naive_utc()),
            t: Some(given.time()),
            created_at: Some(given),
            ..Stamp::default()
        })?;
        assert_eq!(created.at, Some(floored(now)));
        assert_eq!(created.created_at, Some(floored(given)));
        assert_eq!(stored(&created), stored(&reread(created.id)?));
        assert!(!created.is_dirty()?);

        // save of a stored model with a state: the changed columns.
        let mut stamp = reread(created.id)?;
        let later = with_nanos(999_999);
        stamp.at = Some(later);
        stamp.t = Some(later.time());
        stamp.save()?;
        assert_eq!(stamp.at, Some(floored(later)));
        assert_eq!(stored(&stamp), stored(&reread(stamp.id)?));
        assert!(!stamp.is_dirty()?);

        // A change below a microsecond is no change: nothing is written.
        let before = stamp.updated_at;
        stamp.at = Some(floored(later) + chrono::Duration::nanoseconds(1));
        stamp.save()?;
        assert_eq!(stamp.at, Some(floored(later)));
        assert_eq!(stamp.updated_at, before);
        assert!(!stamp.is_dirty()?);

        // save_only.
        let only = with_nanos(7);
        stamp.local = Some(only.naive_utc());
        stamp.save_only(&["local"])?;
        assert_eq!(stamp.local, Some(floored(only).naive_utc()));
        assert_eq!(stored(&stamp), stored(&reread(stamp.id)?));
        assert!(!stamp.is_dirty()?);

        // insert_many.
        let mut many: Vec<Stamp> = (1..=3)
            .map(|i| Stamp {
                at: Some(with_nanos(i)),
                local: Some(with_nanos(i).naive_utc()),
                t: Some(with_nanos(i).time()),
                ..Stamp::default()
            })
            .collect();
        Stamp::insert_many(&mut many)?;
        for stamp in &many {
            assert_eq!(stored(stamp), stored(&reread(stamp.id)?));
            assert!(!stamp.is_dirty()?);
        }

        // A model without a state: save inserts, then updates by key.
        let mut plain = PlainStamp { at: Some(with_nanos(42)), ..PlainStamp::default() };
        plain.save()?;
        let row = |id| PlainStamp::find_or_fail(id);
        assert_eq!(plain_stored(&plain), plain_stored(&row(plain.id.unwrap())?));
        plain.at = Some(with_nanos(43));
        plain.local = Some(with_nanos(44).naive_utc());
        plain.save()?;
        assert_eq!(plain_stored(&plain), plain_stored(&row(plain.id.unwrap())?));
        assert_eq!(plain.local, Some(floored(with_nanos(44)).naive_utc()));
        Ok(())
    }
}
