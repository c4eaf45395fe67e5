//! What an app gets from orm-core with its default features off but `sqlite`: models
//! derive without serde (feature `json`), with timestamps, relations and eager loading,
//! through `DB::connect`; one connection per name without r2d2 (feature `pool`); and,
//! with `postgres`, JSON columns read as text. `.ci/run` runs
//! it that way (`cargo test -p orm-core --no-default-features --features sqlite,postgres,mysql`,
//! and with `sqlite` alone);
//! the workspace run covers the SQLite part with the defaults.

use orm_core::prelude::*;

#[derive(Debug, Clone, Default, Model)]
#[model(timestamps)]
pub struct Author {
    pub id: Option<i64>,
    pub name: String,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    #[model(hidden)]
    pub secret: Option<String>,
    #[model(has_many(Book))]
    pub books: HasMany<Book>,
}

#[derive(Debug, Clone, Default, Model)]
pub struct Book {
    pub id: Option<i64>,
    pub author_id: i64,
    pub title: String,
    pub published_on: Option<NaiveDate>,
    #[model(belongs_to(Author))]
    pub author: BelongsTo<Author>,
}

#[test]
fn models_save_load_and_eager_load_through_db_connect() -> Result<()> {
    let dir = tempfile::tempdir().unwrap();
    DB::connect(&format!("sqlite://{}", dir.path().join("app.db").display()))?;
    DB::unprepared(
        "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT NOT NULL, secret TEXT,
             created_at TEXT, updated_at TEXT);
         CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL,
             title TEXT NOT NULL, published_on TEXT);",
    )?;

    let mut ada = Author::create(Author {
        name: "Ada".into(),
        ..Default::default()
    })?;
    let id = ada.id.expect("a key after create");
    assert!(ada.created_at.is_some(), "create fills the timestamps");
    for (title, day) in [("Notes", 10), ("Letters", 11)] {
        Book::create(Book {
            author_id: id,
            title: title.into(),
            published_on: NaiveDate::from_ymd_opt(1843, 7, day),
            ..Default::default()
        })?;
    }
    ada.name = "Ada Lovelace".into();
    ada.save()?;

    let found = Author::find(id)?.expect("the saved author");
    assert_eq!(found.name, "Ada Lovelace");

    let authors = Author::query().with(&["books"]).get()?;
    assert!(authors[0].books.is_loaded());
    assert_eq!(authors[0].books.len(), 2);
    assert_eq!(
        authors[0].books[0].published_on,
        NaiveDate::from_ymd_opt(1843, 7, 10)
    );

    let titled = Book::where_("title", "like", "Let%")
        .with(&["author"])
        .get()?;
    assert_eq!(titled.len(), 1);
    assert_eq!(
        titled[0].author.get().map(|a| a.name.as_str()),
        Some("Ada Lovelace")
    );
    assert!(DB::disconnect(orm_core::DEFAULT_CONNECTION));
    Ok(())
}

/// Without `json`, a PostgreSQL JSON or JSONB document reads as its text (JSONB's
/// version byte dropped), and text bound to such a column is stored as the document.
#[cfg(all(feature = "postgres", not(feature = "json")))]
#[test]
fn postgres_json_columns_read_as_text_without_serde() -> Result<()> {
    let Some(_db) = orm_core::testing::postgres() else {
        return Ok(());
    };
    DB::unprepared("CREATE TABLE documents (id BIGSERIAL PRIMARY KEY, plain JSON, packed JSONB)")?;
    DB::insert(
        "INSERT INTO documents (plain, packed) VALUES (?, ?), (NULL, NULL)",
        &[&r#"{"a": [1, 2]}"#, &r#"{"b": "ü"}"#],
    )?;
    let rows = DB::select("SELECT plain, packed FROM documents ORDER BY id", &[])?;
    assert_eq!(rows[0].get::<String, _>("plain")?, r#"{"a": [1, 2]}"#);
    assert_eq!(rows[0].get::<String, _>("packed")?, r#"{"b": "ü"}"#);
    assert_eq!(rows[1].get::<Option<String>, _>("packed")?, None);
    // The server still checks what it is sent.
    let refused = DB::insert("INSERT INTO documents (packed) VALUES (?)", &[&"{not json"]);
    assert!(refused.is_err(), "{refused:?}");
    Ok(())
}

/// Without `pool`, a connection name holds one connection: a thread that wants it while
/// another has it waits (counted as a wait) and then gets the same connection.
#[cfg(not(feature = "pool"))]
#[test]
fn without_pool_threads_take_turns_on_the_one_connection() -> Result<()> {
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let name = "single_turns";
    DB::connect_named(
        name,
        &format!("sqlite://{}", dir.path().join("turns.db").display()),
    )?;
    let db = DB::connection(name);
    db.statement("CREATE TABLE hits (n INTEGER NOT NULL)")?;
    let held = DB::pool(name)?.get()?;
    assert_eq!(
        (DB::pool(name)?.connections(), DB::pool_status(name)?.in_use),
        (1, 1)
    );
    let started = std::sync::Arc::new(std::sync::Barrier::new(2));
    let other_started = std::sync::Arc::clone(&started);
    let other = std::thread::spawn(move || -> Result<i64> {
        let db = DB::connection(name);
        other_started.wait();
        db.execute("INSERT INTO hits (n) VALUES (?)", &[&1])?;
        db.select("SELECT COUNT(*) AS n FROM hits", &[])?[0].get("n")
    });
    // The other thread is running: give it the time to reach its checkout and wait.
    started.wait();
    std::thread::sleep(Duration::from_millis(100));
    drop(held);
    assert_eq!(other.join().unwrap()?, 1);
    let status = DB::pool_status(name)?;
    assert_eq!((status.in_use, status.idle, status.max_size), (0, 1, 1));
    assert!(status.waits >= 1, "{status:?}");
    assert_eq!((status.opened, status.closed, status.timeouts), (1, 0, 0));
    assert!(DB::disconnect(name));
    Ok(())
}

/// Without `pool`: a thread that waits past `connection_timeout` gets
/// `Error::Connection`; a nested call on the thread that holds the connection fails at
/// once instead of waiting for itself; a transaction left open is rolled back on return.
#[cfg(not(feature = "pool"))]
#[test]
fn without_pool_timeouts_nesting_and_a_dirty_return() -> Result<()> {
    use std::time::Duration;
    let name = "single_limits";
    let config = orm_core::PoolConfig {
        connection_timeout: Duration::from_millis(50),
        ..Default::default()
    };
    // An in-memory database is the connection itself: every caller sees the same one.
    DB::connect_with(name, "sqlite::memory:", config)?;
    let db = DB::connection(name);
    db.statement("CREATE TABLE kept (x INTEGER)")?;
    let held = DB::pool(name)?.get()?;
    let waited = std::thread::spawn(move || DB::connection(name).select("SELECT 1", &[]));
    match waited.join().unwrap() {
        Err(Error::Connection { message, .. }) => {
            assert!(message.contains("timed out"), "{message}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(DB::pool_status(name)?.timeouts, 1);
    drop(held);

    let nested = db.with(|_| DB::connection(name).select("SELECT 1", &[]));
    assert!(
        matches!(nested, Err(Error::ConnectionInUse(_))),
        "{nested:?}"
    );
    // So is a statement on a thread that holds the connection itself (no waiting out the
    // timeout for itself).
    let held = DB::pool(name)?.get()?;
    let own = db.select("SELECT 1", &[]);
    assert!(matches!(own, Err(Error::ConnectionInUse(_))), "{own:?}");
    drop(held);

    {
        let mut conn = DB::pool(name)?.get()?;
        conn.execute_batch("BEGIN")?;
        conn.execute("INSERT INTO kept (x) VALUES (?)", &[&1])?;
    }
    db.execute("INSERT INTO kept (x) VALUES (?)", &[&2])?;
    let rows = db.select("SELECT x FROM kept", &[])?;
    assert_eq!(
        rows.len(),
        1,
        "the open transaction was rolled back on return"
    );
    assert_eq!(rows[0].get::<i64, _>("x")?, 2);
    let committed = db.transaction(|| db.execute("INSERT INTO kept (x) VALUES (?)", &[&3]));
    assert_eq!(committed?, 1);
    assert_eq!(db.select("SELECT x FROM kept", &[])?.len(), 2);
    assert!(DB::disconnect(name));
    Ok(())
}

/// Without `pool`, a PostgreSQL connection its server ended is found out on the next
/// checkout (it had been idle over 500 ms) and replaced.
#[cfg(all(feature = "postgres", not(feature = "pool")))]
#[test]
fn without_pool_a_connection_the_server_ended_is_replaced() -> Result<()> {
    use std::time::Duration;
    if orm_core::testing::postgres().is_none() {
        return Ok(());
    }
    let url = orm_core::testing::postgres_url();
    let name = "single_replaced";
    DB::connect_named(name, &url)?;
    let db = DB::connection(name);
    let pid_of =
        || -> Result<i64> { db.select("SELECT pg_backend_pid() AS pid", &[])?[0].get("pid") };
    let first = pid_of()?;
    let mut admin = orm_core::Connection::open(&url)?;
    admin.select("SELECT pg_terminate_backend(?)", &[&first])?;
    std::thread::sleep(Duration::from_millis(600));
    let second = pid_of()?;
    assert_ne!(first, second);
    let status = DB::pool_status(name)?;
    assert_eq!((status.opened, status.closed), (2, 1));
    assert!(DB::disconnect(name));
    Ok(())
}

/// A URL of a database this build leaves out is a typed error naming the feature to
/// enable (`.ci/run` runs this file with `sqlite` alone for it).
#[cfg(not(feature = "postgres"))]
#[test]
fn a_database_left_out_of_the_build_is_a_typed_error_naming_its_feature() {
    let err = DB::connect("postgres://ada:secret@127.0.0.1:5432/app").unwrap_err();
    assert!(
        matches!(
            err,
            Error::BackendNotCompiled {
                feature: "postgres",
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(shown.contains("`postgres` feature"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
}
