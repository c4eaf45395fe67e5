//! Generated keys on MySQL without `INSERT ... RETURNING` (MySQL 8), on this machine's
//! MariaDB through the diagnostic URL options: `returning=off` takes MySQL 8's path
//! (`LAST_INSERT_ID()`), `autoinc_consecutive=off` the fallback for servers whose
//! multi-row keys are not consecutive (`innodb_autoinc_lock_mode = 2`, MySQL 8's
//! default): one `INSERT` per row, in one transaction.

use orm_core::prelude::*;
use orm_core::testing::{self, TestDatabase};
use orm_core::{InvalidQueryKind, Value};

#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "posts", timestamps)]
pub struct Post {
    pub id: Option<i64>,
    pub title: String,
    #[model(default)]
    pub status: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

/// A table whose key the caller gives (no AUTO_INCREMENT), with a default column.
#[derive(Debug, Clone, Default, PartialEq, Model)]
#[model(table = "codes")]
pub struct Code {
    pub id: i64,
    pub label: String,
    #[model(default)]
    pub status: Option<String>,
}

/// The path a test takes: the URL options, and whether multi-row inserts stay one
/// statement.
const PATHS: [(&str, bool); 2] = [
    ("returning=off", true),
    ("returning=off&autoinc_consecutive=off", false),
];

fn database(options: &str) -> Option<TestDatabase> {
    let db = testing::mysql_with(options)?;
    DB::statement(
        "CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, title TEXT NOT NULL, \
         status VARCHAR(20) NOT NULL DEFAULT 'draft', created_at DATETIME(6), \
         updated_at DATETIME(6))",
    )
    .expect("posts");
    DB::statement(
        "CREATE TABLE codes (id BIGINT PRIMARY KEY, label TEXT NOT NULL, \
         status VARCHAR(20) NOT NULL DEFAULT 'new')",
    )
    .expect("codes");
    Some(db)
}

fn post(title: &str) -> Post {
    Post {
        title: title.into(),
        ..Default::default()
    }
}

/// The INSERT statements the closure ran.
fn inserts(f: impl FnOnce() -> Result<()>) -> Result<usize> {
    DB::enable_query_log();
    let result = f();
    let count = DB::query_log()
        .iter()
        .filter(|q| q.sql.starts_with("INSERT"))
        .count();
    DB::disable_query_log();
    result.map(|()| count)
}

fn stored_title(id: i64) -> Result<String> {
    let rows = DB::select("SELECT title FROM posts WHERE id = ?", &[&id])?;
    rows[0].get("title")
}

#[test]
fn the_dialect_has_no_returning_on_these_connections() -> Result<()> {
    for (options, _) in PATHS {
        let Some(_db) = database(options) else {
            return Ok(());
        };
        DB::with_connection(|c| {
            assert!(!c.dialect().supports_returning());
            Ok(())
        })?;
        // A plain MariaDB connection keeps RETURNING.
        let plain = Connection::open(&testing::mysql_url())?;
        let mariadb = !testing::mysql_url().contains("returning=off");
        assert_eq!(plain.dialect().supports_returning(), mariadb);
    }
    Ok(())
}

#[test]
fn save_reads_the_generated_key_and_the_defaults_back() -> Result<()> {
    for (options, _) in PATHS {
        let Some(_db) = database(options) else {
            return Ok(());
        };
        let mut first = post("first");
        first.save()?;
        let mut second = post("second");
        second.save()?;
        let (a, b) = (first.id.unwrap(), second.id.unwrap());
        assert!(b > a, "{a} then {b}");
        assert_eq!(stored_title(a)?, "first");
        assert_eq!(stored_title(b)?, "second");
        // The default column came back from the table, the timestamps are the model's.
        assert_eq!(first.status.as_deref(), Some("draft"));
        assert!(first.created_at.is_some());
        // A value given is written, not the default.
        let mut given = Post {
            status: Some("live".into()),
            ..post("given")
        };
        given.save()?;
        assert_eq!(
            Post::find(given.id.unwrap())?.unwrap().status.as_deref(),
            Some("live")
        );
        // A caller-given key with a default left to the table.
        let mut code = Code {
            id: 42,
            label: "answer".into(),
            status: None,
        };
        code.save()?;
        assert_eq!((code.id, code.status.as_deref()), (42, Some("new")));
    }
    Ok(())
}

#[test]
fn insert_many_gives_each_model_its_own_key() -> Result<()> {
    for (options, consecutive) in PATHS {
        let Some(_db) = database(options) else {
            return Ok(());
        };
        // Keys taken before, so that the new ones do not start at 1.
        post("before").save()?;
        DB::statement("DELETE FROM posts")?;
        let titles: Vec<String> = (0..7).map(|i| format!("post {i}")).collect();
        let mut posts: Vec<Post> = titles.iter().map(|t| post(t)).collect();
        // Every model gives its status: only the key is left to the database.
        for p in &mut posts {
            p.status = Some("queued".into());
        }
        let statements = inserts(|| Post::insert_many(&mut posts))?;
        assert_eq!(
            statements,
            if consecutive { 1 } else { posts.len() },
            "{options}"
        );
        let mut keys: Vec<i64> = posts.iter().map(|p| p.id.expect("key filled")).collect();
        for (p, title) in posts.iter().zip(&titles) {
            assert_eq!(&stored_title(p.id.unwrap())?, title);
        }
        keys.dedup();
        assert_eq!(keys.len(), posts.len());
        assert_eq!(Post::count()?, 7);
    }
    Ok(())
}

#[test]
fn insert_many_reads_defaults_back_row_by_row() -> Result<()> {
    for (options, _) in PATHS {
        let Some(_db) = database(options) else {
            return Ok(());
        };
        let mut posts = vec![
            post("a"),
            Post {
                status: Some("live".into()),
                ..post("b")
            },
            post("c"),
        ];
        Post::insert_many(&mut posts)?;
        let statuses: Vec<_> = posts.iter().map(|p| p.status.as_deref()).collect();
        assert_eq!(statuses, [Some("draft"), Some("live"), Some("draft")]);
        for p in &posts {
            assert_eq!(stored_title(p.id.unwrap())?, p.title);
        }
        let mut codes = vec![
            Code {
                id: 7,
                label: "seven".into(),
                status: None,
            },
            Code {
                id: 3,
                label: "three".into(),
                status: None,
            },
        ];
        Code::insert_many(&mut codes)?;
        assert!(codes.iter().all(|c| c.status.as_deref() == Some("new")));
    }
    Ok(())
}

#[test]
fn a_failing_row_leaves_no_row_of_the_batch() -> Result<()> {
    for (options, _) in PATHS {
        let Some(_db) = database(options) else {
            return Ok(());
        };
        Code {
            id: 2,
            label: "taken".into(),
            status: Some("x".into()),
        }
        .save()?;
        let mut codes: Vec<Code> = [1, 5, 2, 9]
            .into_iter()
            .map(|id| Code {
                id,
                label: format!("code {id}"),
                status: None,
            })
            .collect();
        let err = Code::insert_many(&mut codes).expect_err("key 2 is taken");
        assert!(matches!(err, Error::UniqueViolation { .. }), "{err:?}");
        assert_eq!(Code::count()?, 1, "{options}");
    }
    Ok(())
}

#[test]
fn insert_get_id_and_upsert_without_returning() -> Result<()> {
    for (options, _) in PATHS {
        let Some(_db) = database(options) else {
            return Ok(());
        };
        let id = DB::table("posts").insert_get_id(row! {"title" => "by query"})?;
        assert_eq!(stored_title(id)?, "by query");
        let next = DB::table("posts").insert_get_id(row! {"title" => "next"})?;
        assert_eq!(next, id + 1);
        // A key given is the key returned.
        let given = DB::table("posts").insert_get_id(row! {"id" => 100, "title" => "given"})?;
        assert_eq!(given, 100);
        // No AUTO_INCREMENT key: a typed refusal, not 0.
        DB::statement("CREATE TABLE tags (id VARCHAR(20) PRIMARY KEY)")?;
        let err = DB::table("tags")
            .insert_get_id(row! {"id" => "rust"})
            .expect_err("no key generated");
        assert!(
            matches!(
                err,
                Error::InvalidQuery {
                    kind: InvalidQueryKind::Unsupported,
                    ..
                }
            ),
            "{err:?}"
        );
        let written = DB::table("codes").upsert(
            [
                row! {"id" => 1, "label" => "one"},
                row! {"id" => 2, "label" => "two"},
            ],
            &["id"],
            &["label"],
        )?;
        assert_eq!(written, 2);
        DB::table("codes").upsert([row! {"id" => 1, "label" => "uno"}], &["id"], &["label"])?;
        let label: Vec<Value> = DB::table("codes").where_("id", "=", 1).pluck("label")?;
        assert_eq!(label, [Value::Text("uno".into())]);
    }
    Ok(())
}

#[test]
fn unknown_option_values_are_a_config_error() {
    // Refused before connecting: no server needed.
    let err =
        Connection::open("mysql://root@127.0.0.1:1/test?returning=maybe").expect_err("refused");
    assert!(
        matches!(err, Error::Config(ref m) if m.contains("returning")),
        "{err:?}"
    );
}
