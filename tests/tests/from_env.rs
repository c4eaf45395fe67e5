//! `DB::from_env` reads DATABASE_URL from `.env` (its own test binary: it changes the
//! process's working directory and environment).

use orm_core::{Error, DB};

/// The tests change the process's environment: one at a time.
static ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn from_env_reads_dot_env_and_reports_a_missing_url() -> orm_core::Result<()> {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    std::env::remove_var("DATABASE_URL");
    assert!(matches!(DB::from_env(), Err(Error::Config(_))));

    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://from_env.sqlite3\n",
    )
    .unwrap();
    DB::from_env()?;
    DB::statement("CREATE TABLE t (x INTEGER)")?;
    assert!(dir.path().join("from_env.sqlite3").exists());
    Ok(())
}

/// `DATABASE_READ_URLS` adds read replicas: `DB::select` runs on one (the query log says
/// so); without it, a connection configured again has none.
#[test]
fn from_env_reads_replicas_from_database_read_urls() -> orm_core::Result<()> {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    // Its own directory, so the other test's `.env` is not read.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("replicated.sqlite3");
    let url = format!("sqlite://{}", db.display());
    std::env::set_var("DATABASE_URL", &url);
    std::env::set_var("DATABASE_READ_URLS", format!(" {url} , {url} "));
    DB::from_env()?;
    DB::statement("CREATE TABLE t (x INTEGER)")?;
    DB::forget_sticky();
    DB::enable_query_log();
    DB::select("SELECT x FROM t", &[])?;
    let roles: Vec<orm_core::Role> = DB::query_log().into_iter().map(|q| q.role).collect();
    assert_eq!(roles, [orm_core::Role::Replica]);

    std::env::remove_var("DATABASE_READ_URLS");
    DB::from_env()?;
    DB::flush_query_log();
    DB::select("SELECT x FROM t", &[])?;
    let roles: Vec<orm_core::Role> = DB::query_log().into_iter().map(|q| q.role).collect();
    assert_eq!(roles, [orm_core::Role::Primary]);
    DB::disable_query_log();
    std::env::remove_var("DATABASE_URL");
    Ok(())
}

/// A program run from a subdirectory of the app (`cd src && cargo run`) finds the app's
/// `.env` above it and opens the database beside that file, as `craft` does, not a new
/// empty one in the subdirectory; a DATABASE_URL from the environment is taken as given.
#[test]
fn a_relative_sqlite_path_from_dot_env_is_beside_that_file() -> orm_core::Result<()> {
    let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    std::fs::write(
        dir.path().join(".env"),
        "DATABASE_URL=sqlite://app.sqlite3\n",
    )
    .unwrap();
    std::env::remove_var("DATABASE_URL");
    std::env::set_current_dir(&src).unwrap();
    DB::from_env()?;
    DB::statement("CREATE TABLE t (x INTEGER)")?;
    assert!(dir.path().join("app.sqlite3").exists());
    assert!(!src.join("app.sqlite3").exists());

    // Set in the environment (not from the file): relative to where the program runs.
    std::env::set_var("DATABASE_URL", "sqlite://own.sqlite3");
    DB::from_env()?;
    DB::statement("CREATE TABLE t (x INTEGER)")?;
    assert!(src.join("own.sqlite3").exists());
    std::env::remove_var("DATABASE_URL");
    std::env::set_current_dir(dir.path()).unwrap();
    Ok(())
}
