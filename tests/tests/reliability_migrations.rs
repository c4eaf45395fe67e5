//! Migrations under faults, on SQLite (a file) and PostgreSQL (a private schema):
//!
//! - a migration set failing at each of its statements (the statement replaced by
//!   broken SQL): the ledger and the schema always agree, and a re-run converges to the
//!   state of a clean run;
//! - a migrating child process (this test binary, re-run as `migration_child`) killed
//!   with SIGKILL at each statement: the same;
//! - 8 concurrent migrators: each migration applied exactly once (MariaDB too);
//! - on MariaDB, whose DDL commits implicitly, a migration failing at each statement: the
//!   ledger never claims it, the error says which statements ran, nothing goes on until
//!   it is resolved, and a re-run after resolving converges.
//!
//! "Agree": a migration is in the ledger exactly when every one of its effects (tables,
//! index, column, seed row) is present, and none of them is present otherwise.
//!
//! CI mode kills at every statement once; long mode (`ORM_RELIABILITY_LONG=1`) repeats
//! the kill sweep 5 times, adds 40 kills at random instants (0-40 ms after the child
//! connects, the child sleeping 3 ms before each statement) and runs 32 concurrent migrators.

use std::cell::Cell;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use orm_core::{testing, Backend, Connection, Executor, DB};
use orm_migrate::{Migration, Migrator, Schema};
use orm_tests::reliability::{long_mode, scaled};

/// Statements of the set, in the order they run (3 migrations).
const STATEMENTS: usize = 8;

thread_local! {
    /// Real (not pretended) statements run by this thread's migrators so far.
    static RUN: Cell<usize> = const { Cell::new(0) };
    /// The statement to break (index into the run), if any.
    static BREAK_AT: Cell<Option<usize>> = const { Cell::new(None) };
    /// The statement before which to stop and wait to be killed, if any.
    static PAUSE_AT: Cell<Option<usize>> = const { Cell::new(None) };
    /// Whether to sleep 3 ms before each statement (widens the window for random kills).
    static SLOW: Cell<bool> = const { Cell::new(false) };
}

/// Runs one statement of a migration, with the faults this thread has planned.
fn statement(schema: &mut Schema<'_>, sql: &str) -> orm_migrate::Result<()> {
    if schema.is_pretending() {
        return schema.statement(sql);
    }
    let index = RUN.with(|r| {
        let i = r.get();
        r.set(i + 1);
        i
    });
    if SLOW.with(Cell::get) {
        std::thread::sleep(Duration::from_millis(3));
    }
    if PAUSE_AT.with(Cell::get) == Some(index) {
        println!("PAUSED {index}");
        std::thread::sleep(Duration::from_secs(120));
    }
    if BREAK_AT.with(Cell::get) == Some(index) {
        return schema.statement("CREATE TABLE broken_statement (");
    }
    schema.statement(sql)
}

struct CreateAuthors;
impl Migration for CreateAuthors {
    fn name(&self) -> &str {
        "2024_01_01_000001_create_authors"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        statement(
            schema,
            "CREATE TABLE authors (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL)",
        )?;
        statement(schema, "CREATE INDEX authors_name_index ON authors (name)")?;
        statement(
            schema,
            "INSERT INTO authors (id, name) VALUES (1, 'seed author')",
        )
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop("authors")
    }
}

struct CreateBooks;
impl Migration for CreateBooks {
    fn name(&self) -> &str {
        "2024_01_01_000002_create_books"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        statement(
            schema,
            "CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title VARCHAR(100) NOT NULL)",
        )?;
        statement(
            schema,
            "INSERT INTO books (id, author_id, title) VALUES (1, 1, 'seed book')",
        )
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop("books")
    }
}

struct AddIsbnAndAudit;
impl Migration for AddIsbnAndAudit {
    fn name(&self) -> &str {
        "2024_01_01_000003_add_isbn_and_audit"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        statement(schema, "ALTER TABLE books ADD COLUMN isbn VARCHAR(20)")?;
        statement(schema, "UPDATE books SET isbn = 'isbn-1' WHERE id = 1")?;
        statement(schema, "CREATE TABLE audit (note VARCHAR(100))")
    }
    fn down(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.drop("audit")
    }
}

fn migrator() -> Migrator {
    Migrator::new(vec![
        Box::new(AddIsbnAndAudit),
        Box::new(CreateAuthors),
        Box::new(CreateBooks),
    ])
}

/// A database for one scenario: its URL (PostgreSQL: with the private schema as the
/// search path) and what removes it afterwards.
struct Database {
    url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
    /// A private MySQL database (dropped with it) rather than a PostgreSQL schema.
    mysql: bool,
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            if self.mysql {
                if let Ok(mut c) = Connection::open(&testing::mysql_url()) {
                    let _ = c.execute_batch(&format!("DROP DATABASE IF EXISTS `{schema}`"));
                }
            } else if let Ok(mut c) = Connection::open(&testing::postgres_url()) {
                let _ = c.execute_batch(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"));
            }
        }
    }
}

fn database(backend: Backend, tag: &str) -> Option<Database> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("migrate.sqlite3").display());
            Some(Database {
                url,
                _dir: Some(dir),
                schema: None,
                mysql: false,
            })
        }
        Backend::Mysql => {
            let guard = testing::mysql()?;
            let schema = format!("{}_{tag}", guard.schema().expect("database"));
            drop(guard);
            let base = testing::mysql_url();
            Connection::open(&base)
                .and_then(|mut c| c.execute_batch(&format!("CREATE DATABASE `{schema}`")))
                .expect("create database");
            let server = base
                .rsplit_once('/')
                .map_or(base.as_str(), |(server, _)| server);
            Some(Database {
                url: format!("{server}/{schema}"),
                _dir: None,
                schema: Some(schema),
                mysql: true,
            })
        }
        _ => {
            let guard = testing::postgres()?;
            let schema = format!("{}_{tag}", guard.schema().expect("schema"));
            drop(guard);
            let base = testing::postgres_url();
            Connection::open(&base)
                .and_then(|mut c| c.execute_batch(&format!("CREATE SCHEMA \"{schema}\"")))
                .expect("create schema");
            let url = format!(
                "{base}{}options=-c%20search_path%3D{schema}%20-c%20synchronous_commit%3Doff",
                if base.contains('?') { '&' } else { '?' }
            );
            Some(Database {
                url,
                _dir: None,
                schema: Some(schema),
                mysql: false,
            })
        }
    }
}

fn query_i64(conn: &mut Connection, sql: &str) -> orm_core::Result<Option<i64>> {
    Ok(match conn.select(sql, &[]) {
        Ok(rows) => rows.first().map(|r| r.get::<i64, usize>(&0)).transpose()?,
        Err(_) => None,
    })
}

fn has_table(conn: &mut Connection, table: &str) -> orm_migrate::Result<bool> {
    Schema::new(conn).has_table(table)
}

/// What each migration left behind: `(name, all effects present, no effect present)`.
fn effects(conn: &mut Connection) -> orm_migrate::Result<Vec<(&'static str, bool, bool)>> {
    let authors = has_table(conn, "authors")?;
    let author_seeded =
        authors && query_i64(conn, "SELECT COUNT(*) FROM authors WHERE id = 1")? == Some(1);
    let indexed = match conn.backend() {
        Backend::Postgres => query_i64(
            conn,
            "SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'authors_name_index'",
        )?,
        Backend::Mysql => query_i64(
            conn,
            "SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics \
             WHERE table_schema = DATABASE() AND index_name = 'authors_name_index'",
        )?,
        _ => query_i64(
            conn,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'authors_name_index'",
        )?,
    } == Some(1);
    let books = has_table(conn, "books")?;
    let book_seeded =
        books && query_i64(conn, "SELECT COUNT(*) FROM books WHERE id = 1")? == Some(1);
    let isbn = books && Schema::new(conn).has_column("books", "isbn")?;
    let isbn_set =
        isbn && query_i64(conn, "SELECT COUNT(*) FROM books WHERE isbn = 'isbn-1'")? == Some(1);
    let audit = has_table(conn, "audit")?;
    Ok(vec![
        (
            "2024_01_01_000001_create_authors",
            authors && indexed && author_seeded,
            !authors && !indexed,
        ),
        (
            "2024_01_01_000002_create_books",
            books && book_seeded,
            !books,
        ),
        (
            "2024_01_01_000003_add_isbn_and_audit",
            isbn && isbn_set && audit,
            !isbn && !audit,
        ),
    ])
}

fn recorded(conn: &mut Connection) -> orm_migrate::Result<Vec<String>> {
    if !has_table(conn, "migrations")? {
        return Ok(Vec::new());
    }
    let rows = conn.select("SELECT migration FROM migrations ORDER BY migration", &[])?;
    Ok(rows
        .iter()
        .map(|r| r.get::<String, _>("migration"))
        .collect::<orm_core::Result<_>>()?)
}

/// The ledger and the schema agree; returns how many migrations are applied.
fn assert_agree(conn: &mut Connection, context: &str) -> orm_migrate::Result<usize> {
    let ledger = recorded(conn)?;
    for (name, all, none) in effects(conn)? {
        if ledger.iter().any(|r| r == name) {
            assert!(all, "{context}: {name} is recorded but not (fully) applied");
        } else {
            assert!(
                none,
                "{context}: {name} is not recorded but (partly) applied"
            );
        }
    }
    // Applied in order: a prefix of the set.
    let names = migrator()
        .names()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    assert_eq!(
        ledger,
        names[..ledger.len()],
        "{context}: ledger out of order"
    );
    Ok(ledger.len())
}

/// Re-runs the migrations (no faults) and checks they converge to the full set.
fn converge(conn: &mut Connection, context: &str) -> orm_migrate::Result<()> {
    BREAK_AT.with(|b| b.set(None));
    conn.scope(|| Ok(migrator().run()))??;
    assert_eq!(
        assert_agree(conn, context)?,
        3,
        "{context}: did not converge"
    );
    Ok(())
}

fn failing_at_each_statement(backend: Backend) -> orm_migrate::Result<()> {
    let mut broken = 0;
    for break_at in 0..STATEMENTS {
        let Some(db) = database(backend, &format!("fail{break_at}")) else {
            return Ok(());
        };
        let mut conn = Connection::open(&db.url)?;
        RUN.with(|r| r.set(0));
        BREAK_AT.with(|b| b.set(Some(break_at)));
        let result = conn.scope(|| Ok(migrator().run()))?;
        assert!(
            matches!(result, Err(orm_migrate::Error::MigrationFailed { .. })),
            "statement {break_at}: {result:?}"
        );
        let context = format!("{backend:?}, statement {break_at} broken");
        assert_agree(&mut conn, &context)?;
        assert!(!conn.in_transaction());
        converge(&mut conn, &context)?;
        broken += 1;
    }
    eprintln!(
        "{backend:?}: a migration set failing at each of its {broken} statements: ledger and schema agree each time, re-runs converge"
    );
    Ok(())
}

#[test]
fn sqlite_migrations_failing_at_each_statement() -> orm_migrate::Result<()> {
    failing_at_each_statement(Backend::Sqlite)
}

#[test]
fn postgres_migrations_failing_at_each_statement() -> orm_migrate::Result<()> {
    failing_at_each_statement(Backend::Postgres)
}

/// The migration each statement of the set belongs to, and its position in it.
fn statement_owner(index: usize) -> (&'static str, usize) {
    match index {
        0..=2 => ("2024_01_01_000001_create_authors", index),
        3..=4 => ("2024_01_01_000002_create_books", index - 3),
        _ => ("2024_01_01_000003_add_isbn_and_audit", index - 5),
    }
}

/// MySQL commits DDL implicitly, so a failing migration is not undone: what must hold
/// instead is that the ledger never claims it. Breaking each statement in turn: the
/// error says which statements ran (`PartiallyApplied`, or `MigrationFailed` when none
/// did); migrations before it are applied with all their effects, the failing one is
/// `Partial` (never `Applied`), later ones pending with none of their effects; nothing
/// runs or rolls back until it is resolved; undone by hand and resolved, a re-run
/// converges.
#[test]
fn mysql_migrations_failing_at_each_statement() -> orm_migrate::Result<()> {
    use orm_migrate::{Error, MigrationState};
    let mut broken = 0;
    let mut partial = 0;
    for break_at in 0..STATEMENTS {
        let Some(db) = database(Backend::Mysql, &format!("fail{break_at}")) else {
            return Ok(());
        };
        let mut conn = Connection::open(&db.url)?;
        let context = format!("MySQL, statement {break_at} broken");
        let (failing, ran) = statement_owner(break_at);
        RUN.with(|r| r.set(0));
        BREAK_AT.with(|b| b.set(Some(break_at)));
        let result = conn.scope(|| Ok(migrator().run()))?;
        match (&result, ran) {
            (Err(Error::MigrationFailed { migration, .. }), 0) => {
                assert_eq!(migration, failing, "{context}");
            }
            (
                Err(Error::PartiallyApplied {
                    migration,
                    ran: reported,
                    ..
                }),
                _,
            ) => {
                assert_eq!((migration.as_str(), *reported), (failing, ran), "{context}");
                let message = result.as_ref().unwrap_err().to_string();
                assert!(
                    message.contains(&if ran == 1 {
                        "its first statement ran".to_owned()
                    } else {
                        format!("its first {ran} statements ran")
                    }),
                    "{context}: {message}"
                );
                partial += 1;
            }
            other => panic!("{context}: {other:?}"),
        }
        let statuses = conn.scope(|| Ok(migrator().status()))??;
        let effects = effects(&mut conn)?;
        for (name, all, none) in &effects {
            let status = statuses.iter().find(|s| s.name == *name).expect("listed");
            let expected = match name.cmp(&failing) {
                std::cmp::Ordering::Less => MigrationState::Applied,
                std::cmp::Ordering::Equal if ran > 0 => MigrationState::Partial,
                _ => MigrationState::Pending,
            };
            assert_eq!(status.state, expected, "{context}: {name}");
            match expected {
                MigrationState::Applied => assert!(*all, "{context}: {name} applied in part"),
                MigrationState::Pending => assert!(*none, "{context}: {name} left effects"),
                _ => assert!(!*all, "{context}: {name} is partial but complete"),
            }
        }
        if ran > 0 {
            // Refused until resolved.
            let again = conn.scope(|| Ok(migrator().run()))?;
            assert!(
                matches!(&again, Err(Error::UnresolvedMigration { migration, ran: r })
                    if migration == failing && *r == ran),
                "{context}: {again:?}"
            );
            // Undone by hand (the migration's own effects), then resolved.
            let undo = match failing {
                "2024_01_01_000001_create_authors" => "DROP TABLE IF EXISTS authors",
                "2024_01_01_000002_create_books" => "DROP TABLE IF EXISTS books",
                _ => "ALTER TABLE books DROP COLUMN IF EXISTS isbn; DROP TABLE IF EXISTS audit",
            };
            conn.execute_batch(undo)?;
            conn.scope(|| Ok(migrator().resolve(failing, false)))??;
        }
        converge(&mut conn, &context)?;
        broken += 1;
    }
    eprintln!(
        "Mysql: a migration set failing at each of its {broken} statements: {partial} reported partially applied (its first k statements), the rest failed at their first statement; the ledger never claimed a failing migration, nothing ran until resolved, re-runs converge"
    );
    Ok(())
}

const CHILD_URL_VAR: &str = "ORM_RELIABILITY_MIGRATION_CHILD_URL";
const CHILD_PAUSE_VAR: &str = "ORM_RELIABILITY_MIGRATION_CHILD_PAUSE_AT";
const CHILD_SLOW_VAR: &str = "ORM_RELIABILITY_MIGRATION_CHILD_SLOW";

/// Not a test on its own: the migrating child process of the kill tests.
#[test]
#[ignore = "run by the kill tests as a child process"]
fn migration_child() {
    let Ok(url) = std::env::var(CHILD_URL_VAR) else {
        return;
    };
    let pause_at = std::env::var(CHILD_PAUSE_VAR)
        .ok()
        .and_then(|v| v.parse().ok());
    PAUSE_AT.with(|p| p.set(pause_at));
    SLOW.with(|s| s.set(std::env::var_os(CHILD_SLOW_VAR).is_some()));
    let mut conn = Connection::open(&url).expect("child connects");
    println!("STARTED");
    conn.scope(|| Ok(migrator().run()))
        .expect("child connects")
        .expect("child migrates");
    println!("FINISHED");
}

/// Runs the child, SIGKILLs it when it reaches statement `pause_at`; whether it got
/// there (else it finished).
fn run_child_and_kill(url: &str, pause_at: usize) -> bool {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "migration_child", "--ignored", "--nocapture"])
        .env(CHILD_URL_VAR, url)
        .env(CHILD_PAUSE_VAR, pause_at.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut paused = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap_or_default();
        if line.contains("PAUSED") {
            paused = true;
            break;
        }
    }
    if paused {
        child.kill().expect("SIGKILL the child");
    }
    let status = child.wait().expect("child exits");
    assert!(paused || status.success(), "the child failed: {status}");
    paused
}

/// Runs the child (no pause, 3 ms per statement) and SIGKILLs it `delay` after it
/// connected, wherever it is by then (possibly already finished).
fn run_child_and_kill_after(url: &str, delay: Duration) {
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "migration_child", "--ignored", "--nocapture"])
        .env(CHILD_URL_VAR, url)
        .env(CHILD_SLOW_VAR, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        if line.unwrap_or_default().contains("STARTED") {
            break;
        }
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    let _ = child.wait();
    drop(lines);
}

/// Long mode only: kills at random instants, which also hit the points between the
/// statements (ledger reads and writes, commits).
/// Returns how many kills, and how many of them stopped the child mid-way (some but not
/// all migrations applied).
fn killed_at_random_instants(backend: Backend) -> orm_migrate::Result<(usize, usize)> {
    if !long_mode() {
        return Ok((0, 0));
    }
    let mut midway = 0;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.subsec_nanos() as u64 | 1);
    let kills = 40;
    for i in 0..kills {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 40_000);
        let Some(db) = database(backend, &format!("random{i}")) else {
            return Ok((0, 0));
        };
        run_child_and_kill_after(&db.url, delay);
        let mut conn = Connection::open(&db.url)?;
        let context = format!("{backend:?}, killed after {delay:?}");
        let applied = assert_agree(&mut conn, &context)?;
        midway += usize::from(applied > 0 && applied < 3);
        converge(&mut conn, &context)?;
    }
    Ok((kills, midway))
}

fn killed_at_each_statement(backend: Backend) -> orm_migrate::Result<()> {
    let sweeps = if long_mode() { 5 } else { 1 };
    let mut kills = 0;
    for _ in 0..sweeps {
        for pause_at in 0..=STATEMENTS {
            let Some(db) = database(backend, &format!("kill{pause_at}")) else {
                return Ok(());
            };
            let paused = run_child_and_kill(&db.url, pause_at);
            assert_eq!(paused, pause_at < STATEMENTS, "kill point {pause_at}");
            let mut conn = Connection::open(&db.url)?;
            let context = format!("{backend:?}, killed before statement {pause_at}");
            assert_agree(&mut conn, &context)?;
            converge(&mut conn, &context)?;
            kills += usize::from(paused);
        }
    }
    let (random_kills, midway) = killed_at_random_instants(backend)?;
    eprintln!(
        "{backend:?}: migrating child SIGKILLed at each of {STATEMENTS} statements ({kills} kills) and at {random_kills} random instants ({midway} between two migrations): ledger and schema agree each time, re-runs converge"
    );
    Ok(())
}

#[test]
fn sqlite_migrator_killed_at_each_statement() -> orm_migrate::Result<()> {
    killed_at_each_statement(Backend::Sqlite)
}

#[test]
fn postgres_migrator_killed_at_each_statement() -> orm_migrate::Result<()> {
    killed_at_each_statement(Backend::Postgres)
}

/// MySQL: the migrating child SIGKILLed before each statement. The migration it was in
/// stays marked as started (`Partial`, `ran` 0: how far it got is unknown) rather than
/// absent, so the next run refuses instead of running it again over its own half;
/// migrations before it are applied whole, later ones left nothing; undone by hand and
/// resolved, a re-run converges.
#[test]
fn mysql_migrator_killed_at_each_statement() -> orm_migrate::Result<()> {
    use orm_migrate::{Error, MigrationState};
    let mut kills = 0;
    for pause_at in 0..=STATEMENTS {
        let Some(db) = database(Backend::Mysql, &format!("kill{pause_at}")) else {
            return Ok(());
        };
        let paused = run_child_and_kill(&db.url, pause_at);
        assert_eq!(paused, pause_at < STATEMENTS, "kill point {pause_at}");
        let mut conn = Connection::open(&db.url)?;
        let context = format!("MySQL, killed before statement {pause_at}");
        if !paused {
            assert_eq!(assert_agree(&mut conn, &context)?, 3);
            continue;
        }
        kills += 1;
        let (interrupted, _) = statement_owner(pause_at);
        let statuses = conn.scope(|| Ok(migrator().status()))??;
        for (name, all, none) in effects(&mut conn)? {
            let state = statuses
                .iter()
                .find(|s| s.name == name)
                .expect("listed")
                .state;
            match name.cmp(interrupted) {
                std::cmp::Ordering::Less => {
                    assert_eq!(state, MigrationState::Applied, "{context}: {name}");
                    assert!(all, "{context}: {name} applied in part");
                }
                std::cmp::Ordering::Equal => {
                    assert_eq!(state, MigrationState::Partial, "{context}: {name}");
                }
                std::cmp::Ordering::Greater => {
                    assert_eq!(state, MigrationState::Pending, "{context}: {name}");
                    assert!(none, "{context}: {name} left effects");
                }
            }
        }
        let again = conn.scope(|| Ok(migrator().run()))?;
        assert!(
            matches!(&again, Err(Error::UnresolvedMigration { migration, ran: 0 })
                if migration == interrupted),
            "{context}: {again:?}"
        );
        let message = again.unwrap_err().to_string();
        assert!(message.contains("never finished"), "{context}: {message}");
        let undo = match interrupted {
            "2024_01_01_000001_create_authors" => "DROP TABLE IF EXISTS authors",
            "2024_01_01_000002_create_books" => "DROP TABLE IF EXISTS books",
            _ => "ALTER TABLE books DROP COLUMN IF EXISTS isbn; DROP TABLE IF EXISTS audit",
        };
        conn.execute_batch(undo)?;
        conn.scope(|| Ok(migrator().resolve(interrupted, false)))??;
        converge(&mut conn, &context)?;
    }
    eprintln!(
        "Mysql: migrating child SIGKILLed before each of {STATEMENTS} statements ({kills} kills): the interrupted migration stays marked as started, the next run refuses until it is resolved, re-runs converge"
    );
    Ok(())
}

fn concurrent_migrators(backend: Backend) -> orm_migrate::Result<()> {
    let Some(db) = database(backend, "concurrent") else {
        return Ok(());
    };
    let migrators = scaled(8, 32);
    // Each thread counts the statements its migrator really ran (rolled back or not).
    let outcomes: Vec<Result<usize, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..migrators)
            .map(|_| {
                s.spawn(|| -> Result<usize, String> {
                    RUN.with(|r| r.set(0));
                    let mut conn = Connection::open(&db.url).map_err(|e| e.to_string())?;
                    conn.scope(|| Ok(migrator().run()))
                        .map_err(|e| e.to_string())?
                        .map_err(|e| e.to_string())?;
                    Ok(RUN.with(Cell::get))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("migrator thread"))
            .collect()
    });
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(failures.is_empty(), "migrators failed: {failures:?}");
    let statements_run: usize = outcomes.iter().flatten().sum();
    assert_eq!(
        statements_run, STATEMENTS,
        "some migration ran more than once (even if rolled back)"
    );
    let mut conn = Connection::open(&db.url)?;
    assert_eq!(assert_agree(&mut conn, "concurrent migrators")?, 3);
    let ledger_rows = query_i64(&mut conn, "SELECT COUNT(*) FROM migrations")?;
    assert_eq!(ledger_rows, Some(3), "each migration recorded once");
    eprintln!(
        "{backend:?}: {migrators} concurrent migrators: each of 3 migrations applied and recorded exactly once"
    );
    Ok(())
}

#[test]
fn sqlite_concurrent_migrators() -> orm_migrate::Result<()> {
    concurrent_migrators(Backend::Sqlite)
}

#[test]
fn postgres_concurrent_migrators() -> orm_migrate::Result<()> {
    concurrent_migrators(Backend::Postgres)
}

/// MySQL serialises migrators with a named lock (`GET_LOCK`); its DDL is not
/// transactional, so the lock alone keeps each migration from running twice.
#[test]
fn mysql_concurrent_migrators() -> orm_migrate::Result<()> {
    concurrent_migrators(Backend::Mysql)
}

#[test]
fn the_statement_count_matches_the_set() -> orm_migrate::Result<()> {
    let _db = testing::sqlite();
    RUN.with(|r| r.set(0));
    migrator().run()?;
    assert_eq!(RUN.with(Cell::get), STATEMENTS);
    assert_eq!(DB::select("SELECT * FROM migrations", &[])?.len(), 3);
    Ok(())
}

struct Panics;
impl Migration for Panics {
    fn name(&self) -> &str {
        "2024_01_02_000001_panics"
    }
    fn up(&self, schema: &mut Schema) -> orm_migrate::Result<()> {
        schema.statement("CREATE TABLE before_the_panic (id INTEGER PRIMARY KEY)")?;
        panic!("a bug in the migration");
    }
    fn down(&self, _schema: &mut Schema) -> orm_migrate::Result<()> {
        Ok(())
    }
}

/// A migration that panics, caught by an application that goes on: the migrators'
/// session lock is released as on an error, so the next migrator (another process,
/// `craft migrate`) does not wait on the idle connection that held it.
fn a_panicking_migration_releases_the_lock(backend: Backend) -> orm_migrate::Result<()> {
    let Some(db) = database(backend, "panic") else {
        return Ok(());
    };
    let mut app = Connection::open(&db.url)?;
    let caught = app.scope(|| {
        Ok(std::panic::catch_unwind(|| {
            Migrator::new(vec![Box::new(Panics)]).run()
        }))
    })?;
    assert!(caught.is_err(), "the migration panicked");
    // The application's connection is still open; another session checks the lock.
    let mut other = Connection::open(&db.url)?;
    let free = match backend {
        Backend::Mysql => query_i64(
            &mut other,
            "SELECT IS_FREE_LOCK(CONCAT('orm_migrate_1869770093_', MD5(DATABASE())))",
        )?,
        _ => {
            let got = query_i64(
                &mut other,
                "SELECT CASE WHEN pg_try_advisory_lock(1869770093, hashtext(current_schema())) \
                 THEN 1 ELSE 0 END",
            )?;
            other.execute_batch("SELECT pg_advisory_unlock_all()")?;
            got
        }
    };
    assert_eq!(free, Some(1), "{backend:?}: the migrators' lock is free");
    drop(app);
    if backend == Backend::Mysql {
        // DDL is not transactional there: the ledger says how far the migration ran (its
        // CREATE did), as after an error, so the next run waits for it to be resolved.
        let marks = other.select(
            "SELECT checksum FROM migrations WHERE migration = '2024_01_02_000001_panics'",
            &[],
        )?;
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].get::<String, _>("checksum")?, "partial:1");
    }
    Ok(())
}

struct PanicsFirst;
impl Migration for PanicsFirst {
    fn name(&self) -> &str {
        "2024_01_03_000001_panics_first"
    }
    fn up(&self, _schema: &mut Schema) -> orm_migrate::Result<()> {
        panic!("a bug before any statement");
    }
    fn down(&self, _schema: &mut Schema) -> orm_migrate::Result<()> {
        Ok(())
    }
}

/// A migration that panics before its first statement leaves nothing behind on MySQL:
/// no ledger row, so the next run applies it (once fixed) without a resolution.
#[test]
fn mysql_a_migration_panicking_before_any_statement_leaves_no_mark() -> orm_migrate::Result<()> {
    let Some(db) = database(Backend::Mysql, "panic_first") else {
        return Ok(());
    };
    let mut app = Connection::open(&db.url)?;
    let caught = app.scope(|| {
        Ok(std::panic::catch_unwind(|| {
            Migrator::new(vec![Box::new(PanicsFirst)]).run()
        }))
    })?;
    assert!(caught.is_err());
    let rows = app.select("SELECT checksum FROM migrations", &[])?;
    assert!(rows.is_empty(), "no mark for a migration that ran nothing");
    Ok(())
}

#[test]
fn postgres_a_panicking_migration_releases_the_lock() -> orm_migrate::Result<()> {
    a_panicking_migration_releases_the_lock(Backend::Postgres)
}

#[test]
fn mysql_a_panicking_migration_releases_the_lock() -> orm_migrate::Result<()> {
    a_panicking_migration_releases_the_lock(Backend::Mysql)
}
