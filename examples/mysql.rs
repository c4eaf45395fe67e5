//! The blog on MySQL or MariaDB:
//! `DATABASE_URL=mysql://root@127.0.0.1:3306/test cargo run -p examples --features mysql --example mysql`.
//!
//! It creates its tables in a database of its own (`orm_blog_example`) and drops it at
//! the end, so it leaves the server as it found it. On MySQL 8 (no `RETURNING`) keys come
//! from `LAST_INSERT_ID()`; add `?returning=off` to the URL to take that path on MariaDB.

use orm_core::DB;

const DATABASE: &str = "orm_blog_example";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    dotenv_database_url();
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("mysql") || url.starts_with("mariadb") => url,
        _ => {
            eprintln!("set DATABASE_URL=mysql://USER@HOST:3306/DB to run this example");
            std::process::exit(2);
        }
    };
    // One connection, so that `USE` holds for every statement.
    DB::connect_with(
        "default",
        &url,
        orm_core::PoolConfig {
            max_size: 1,
            ..Default::default()
        },
    )?;
    DB::unprepared(&format!(
        "DROP DATABASE IF EXISTS {DATABASE}; CREATE DATABASE {DATABASE} CHARACTER SET utf8mb4; \
         USE {DATABASE}"
    ))?;
    let outcome = examples::blog::run(|line| println!("{line}"));
    DB::unprepared(&format!("DROP DATABASE IF EXISTS {DATABASE}"))?;
    outcome?;
    Ok(())
}

/// Reads `.env` the way `DB::from_env` does, without connecting.
fn dotenv_database_url() {
    if std::env::var_os("DATABASE_URL").is_none() {
        if let Ok(text) = std::fs::read_to_string(".env") {
            for line in text.lines() {
                if let Some(url) = line.strip_prefix("DATABASE_URL=") {
                    std::env::set_var("DATABASE_URL", url.trim());
                }
            }
        }
    }
}
