//! Quick start on embedded SQLite: no set-up, prints what it does.
//!
//! `cargo run --example quickstart`

use orm_core::prelude::*;

fn main() -> Result<()> {
    DB::connect("sqlite::memory:")?;
    println!("connected to an in-memory SQLite database");

    DB::statement(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
         email TEXT NOT NULL UNIQUE, votes INTEGER NOT NULL DEFAULT 0)",
    )?;
    println!("created table users");

    DB::transaction(|| {
        for (name, email, votes) in [
            ("Ada", "ada@example.com", 120),
            ("Grace", "grace@example.com", 80),
            ("Linus", "linus@example.com", 300),
        ] {
            DB::insert(
                "INSERT INTO users (name, email, votes) VALUES (?, ?, ?)",
                &[&name, &email, &votes],
            )?;
        }
        Ok(())
    })?;
    println!("inserted 3 users in one transaction");

    let popular = DB::select(
        "SELECT name, votes FROM users WHERE votes > ? ORDER BY votes DESC",
        &[&100],
    )?;
    for user in &popular {
        println!(
            "  {} has {} votes",
            user.get::<String, _>("name")?,
            user.get::<i64, _>("votes")?
        );
    }

    match DB::insert(
        "INSERT INTO users (name, email) VALUES (?, ?)",
        &[&"Ada again", &"ada@example.com"],
    ) {
        Err(Error::UniqueViolation { message, .. }) => {
            println!("a duplicate email is refused with a typed error: {message}")
        }
        other => println!("unexpected: {other:?}"),
    }

    let rolled_back = DB::transaction(|| {
        DB::update("UPDATE users SET votes = 0", &[])?;
        Err::<(), _>(Error::InvalidQuery("changed my mind".into()))
    });
    let total: i64 = DB::select("SELECT SUM(votes) AS total FROM users", &[])?[0].get("total")?;
    println!(
        "a failed transaction ({}) was rolled back: votes still total {total}",
        rolled_back.unwrap_err()
    );
    Ok(())
}
