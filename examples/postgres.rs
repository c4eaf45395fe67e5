//! The blog on PostgreSQL:
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/test cargo run -p examples --features postgres --example postgres`.
//!
//! It creates its tables in a schema of its own (`orm_blog_example`) and drops it at the
//! end, so it leaves the database as it found it.

use orm_core::DB;

const SCHEMA: &str = "orm_blog_example";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    dotenv_database_url();
    let url = match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => url,
        _ => {
            eprintln!("set DATABASE_URL=postgres://USER@HOST:5432/DB to run this example");
            std::process::exit(2);
        }
    };
    // One connection, so the schema's search_path holds for every statement.
    DB::connect_with(
        "default",
        &url,
        orm_core::PoolConfig {
            max_size: 1,
            ..Default::default()
        },
    )?;
    DB::unprepared(&format!(
        "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}; SET search_path TO {SCHEMA}"
    ))?;
    let outcome = examples::blog::run(|line| println!("{line}"));
    DB::unprepared(&format!("DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))?;
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
