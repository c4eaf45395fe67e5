//! `DB::from_env` reads DATABASE_URL from `.env` (its own test binary: it changes the
//! process's working directory and environment).

use orm_core::{Error, DB};

#[test]
fn from_env_reads_dot_env_and_reports_a_missing_url() -> orm_core::Result<()> {
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
