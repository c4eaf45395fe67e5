//! What an app gets from orm-core with its default features off but `sqlite`: models
//! derive without serde (feature `json`), with timestamps, relations and eager loading,
//! through `DB::connect`; and, with `postgres`, JSON columns read as text. `.ci/run` runs
//! it that way (`cargo test -p orm-core --no-default-features --features sqlite,postgres,mysql`);
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
