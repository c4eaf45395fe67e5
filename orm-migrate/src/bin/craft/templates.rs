//! The files `craft` writes.

/// The runner binary's name in a generated app (`src/bin/craft-migrate.rs`).
pub const RUNNER_BIN: &str = "craft-migrate";

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('"', "\\\"");
    format!("\"{escaped}\"")
}

/// The app's `Cargo.toml`, depending on the ORM's crates under `orm_root` by path.
pub fn cargo_toml(package: &str, orm_root: &str) -> String {
    let core = toml_string(&format!("{orm_root}/orm-core"));
    let migrate = toml_string(&format!("{orm_root}/orm-migrate"));
    format!(
        r#"[package]
name = "{package}"
version = "0.1.0"
edition = "2021"
publish = false
default-run = "{package}"

[dependencies]
orm-core = {{ path = {core}, features = ["sqlite", "postgres", "mysql"] }}
orm-migrate = {{ path = {migrate} }}

# Optimise dependencies a little (SQLite itself is compiled from C), as the ORM's
# own workspace does, so both can share compiled dependencies.
[profile.dev.package."*"]
opt-level = 1

# A crate of its own, never a member of an enclosing workspace.
[workspace]
"#
    )
}

/// The database a new app uses unless `craft new --database URL` names another.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://database.sqlite3";

/// `.env`: the database the app and `craft migrate` use. A URL with characters a `.env`
/// line reads specially (`$` substitutes a variable, a space ends the value, quotes
/// and `#`) is written in single quotes, each `'` as `'\''`, so it reads back as given.
pub fn dot_env(url: &str) -> String {
    let plain = url
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/:@._-?=&%+,;[]~!*()".contains(&b));
    if plain {
        format!("DATABASE_URL={url}\n")
    } else {
        format!("DATABASE_URL='{}'\n", url.replace('\'', "'\\''"))
    }
}

/// `.gitignore`.
pub const GITIGNORE: &str = "/target\n/database.sqlite3*\n.env\n";

/// `src/lib.rs`: the Masonite layout (`app/`, `databases/`) as modules.
pub fn lib_rs(package: &str) -> String {
    format!(
        r#"//! The `{package}` app: models in `app/`, migrations in `databases/migrations/`.

#[path = "../app/mod.rs"]
pub mod app;
#[path = "../databases/mod.rs"]
pub mod databases;
"#
    )
}

/// `src/main.rs`: connects and uses the `User` model.
pub fn main_rs(crate_ident: &str) -> String {
    format!(
        r#"use std::process::ExitCode;

use orm_core::prelude::*;

use {crate_ident}::app::User;

fn main() -> ExitCode {{
    match run() {{
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {{
            eprintln!("error: {{e}} (has `craft migrate` run?)");
            ExitCode::FAILURE
        }}
    }}
}}

fn run() -> Result<()> {{
    // DATABASE_URL, from the environment or `.env`.
    DB::from_env()?;
    if User::count()? == 0 {{
        let mut ada = User {{
            name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            password: "not-a-real-hash".into(),
            ..Default::default()
        }};
        ada.save()?;
        println!("Created user #{{}}: {{}}", ada.id.unwrap_or_default(), ada.name);
    }}
    for user in User::all()? {{
        println!(
            "User #{{}}: {{}} <{{}}>",
            user.id.unwrap_or_default(),
            user.name,
            user.email
        );
    }}
    Ok(())
}}
"#
    )
}

/// `src/bin/craft-migrate.rs`: the runner `craft migrate` builds and calls.
pub fn runner_rs(crate_ident: &str) -> String {
    format!(
        r#"//! Runs the app's migrations and seeders, and checks its models: `craft migrate`
//! (and `migrate:*`, `seed:run`, `schema:check`) build and call it.

use {crate_ident}::app;
use {crate_ident}::databases::{{migrations, seeds}};

fn main() -> std::process::ExitCode {{
    orm_migrate::cli::run_app_in(
        env!("CARGO_MANIFEST_DIR"),
        migrations::all(),
        seeds::all(),
        app::all(),
    )
}}
"#
    )
}

/// `app/mod.rs`.
pub const APP_MOD: &str = r#"//! The app's models. `craft model NAME` adds to this list.

pub mod user;

pub use user::User;

/// Every model, for `craft schema:check` (each compared with its table).
pub fn all() -> Vec<orm_migrate::cli::ModelCheck> {
    vec![
        orm_migrate::cli::model::<User>(),
    ]
}
"#;

/// `app/user.rs`: the model of the `users` table.
pub const USER_MODEL: &str = r#"//! The `User` model.

use orm_core::prelude::*;

/// A row of the `users` table.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "users", timestamps)]
pub struct User {
    /// The key, `None` until saved.
    pub id: Option<i64>,
    /// The display name.
    pub name: String,
    /// The e-mail address (unique).
    pub email: String,
    /// The password hash, hidden from serialization.
    #[model(hidden)]
    pub password: String,
    /// The "remember me" token.
    pub remember_token: Option<String>,
    /// When the row was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When the row was last updated.
    pub updated_at: Option<DateTime<Utc>>,
    /// What the model remembers of its row: `save` writes only the changed columns.
    pub state: ModelState,
}
"#;

/// `databases/mod.rs`.
pub const DATABASES_MOD: &str = r#"//! The app's database: its migrations and seeders.

pub mod migrations;
pub mod seeds;
"#;

/// `databases/seeds/mod.rs` with the database seeder registered.
pub const SEEDS_MOD: &str = r#"//! The app's seeders. `craft seed NAME` adds one here and to the list in
//! `database_seeder.rs`.

use orm_migrate::Seeder;

mod database_seeder;

pub use database_seeder::DatabaseSeeder;

/// Every seeder of the app, for `craft seed:run [NAME]`.
pub fn all() -> Vec<Box<dyn Seeder>> {
    vec![
        Box::new(DatabaseSeeder),
    ]
}
"#;

/// `databases/seeds/database_seeder.rs`.
pub const DATABASE_SEEDER: &str = r#"//! The seeder `craft seed:run` and `craft migrate --seed` run: it calls the others.

use orm_migrate::prelude::*;

#[allow(unused_imports)]
use super::*;

/// Seeds the database by calling the app's other seeders, in this order (each in a
/// transaction of its own).
pub struct DatabaseSeeder;

impl Seeder for DatabaseSeeder {
    fn run(&self) -> Result<()> {
        self.call(&[
        ])
    }
}
"#;

/// `databases/seeds/NAME_table_seeder.rs`: a seeder of `table`.
pub fn seeder(type_name: &str, table: &str) -> String {
    format!(
        r#"//! Seeds the `{table}` table.

use orm_migrate::prelude::*;

/// Seeds the `{table}` table.
pub struct {type_name};

impl Seeder for {type_name} {{
    fn run(&self) -> Result<()> {{
        // Insert rows with the models (with `use orm_core::Model;` for their methods),
        // e.g. with orm-migrate's `factory` feature and `impl Factory for Model`:
        // Model::factory().count(50).create()?;
        // or by table: orm_core::DB::table("{table}").insert_many(rows)?;
        Ok(())
    }}
}}
"#
    )
}

/// `databases/migrations/mod.rs` with the users migration registered.
pub const MIGRATIONS_MOD: &str = r#"//! The app's migrations, run in name order. `craft migration NAME` and
//! `craft model NAME -m` add to this list.

use orm_migrate::Migration;

#[path = "2014_10_12_000000_create_users_table.rs"]
mod m2014_10_12_000000_create_users_table;

/// Every migration of the app.
pub fn all() -> Vec<Box<dyn Migration>> {
    vec![
        Box::new(m2014_10_12_000000_create_users_table::CreateUsersTable),
    ]
}
"#;

/// The stem of the default users migration.
pub const USERS_MIGRATION_STEM: &str = "2014_10_12_000000_create_users_table";

/// `databases/migrations/2014_10_12_000000_create_users_table.rs`.
pub const USERS_MIGRATION: &str = r#"//! Creates the `users` table.

use orm_migrate::prelude::*;

/// Creates the `users` table.
pub struct CreateUsersTable;

impl Migration for CreateUsersTable {
    fn name(&self) -> &str {
        "2014_10_12_000000_create_users_table"
    }

    fn up(&self, schema: &mut Schema) -> Result<()> {
        schema.create("users", |table| {
            table.increments("id");
            table.string("name", 255);
            table.string("email", 255).unique();
            table.string("password", 255);
            table.remember_token();
            table.timestamps();
        })
    }

    fn down(&self, schema: &mut Schema) -> Result<()> {
        schema.drop_if_exists("users")
    }
}
"#;

/// `app/NAME.rs`: a model with its key and timestamps.
pub fn model(type_name: &str, table: &str) -> String {
    format!(
        r#"//! The `{type_name}` model.

use orm_core::prelude::*;

/// A row of the `{table}` table.
#[derive(Debug, Clone, Default, Model)]
#[model(table = "{table}", timestamps)]
pub struct {type_name} {{
    /// The key, `None` until saved.
    pub id: Option<i64>,
    // Add a field per column, e.g.:
    // pub title: String,
    /// When the row was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When the row was last updated.
    pub updated_at: Option<DateTime<Utc>>,
    /// What the model remembers of its row: `save` writes only the changed columns.
    pub state: ModelState,
}}
"#
    )
}

/// A migration that creates `table`, named `stem` (its file's stem) in the ledger.
pub fn create_migration(type_name: &str, table: &str, stem: &str) -> String {
    format!(
        r#"//! Creates the `{table}` table.

use orm_migrate::prelude::*;

/// Creates the `{table}` table.
pub struct {type_name};

impl Migration for {type_name} {{
    fn name(&self) -> &str {{
        "{stem}"
    }}

    fn up(&self, schema: &mut Schema) -> Result<()> {{
        schema.create("{table}", |table| {{
            table.increments("id");
            table.timestamps();
        }})
    }}

    fn down(&self, schema: &mut Schema) -> Result<()> {{
        schema.drop_if_exists("{table}")
    }}
}}
"#
    )
}

/// A migration that changes `table`, named `stem` in the ledger.
pub fn alter_migration(type_name: &str, table: &str, stem: &str) -> String {
    format!(
        r#"//! Changes the `{table}` table.

use orm_migrate::prelude::*;

/// Changes the `{table}` table.
pub struct {type_name};

impl Migration for {type_name} {{
    fn name(&self) -> &str {{
        "{stem}"
    }}

    fn up(&self, schema: &mut Schema) -> Result<()> {{
        schema.table("{table}", |_table| {{
            // _table.integer("votes").nullable();
        }})
    }}

    fn down(&self, schema: &mut Schema) -> Result<()> {{
        schema.table("{table}", |_table| {{
            // _table.drop_column("votes");
        }})
    }}
}}
"#
    )
}

/// A migration with empty `up` and `down`, named `stem` in the ledger.
pub fn blank_migration(type_name: &str, stem: &str) -> String {
    format!(
        r#"//! A migration.

use orm_migrate::prelude::*;

/// A migration.
pub struct {type_name};

impl Migration for {type_name} {{
    fn name(&self) -> &str {{
        "{stem}"
    }}

    fn up(&self, _schema: &mut Schema) -> Result<()> {{
        Ok(())
    }}

    fn down(&self, _schema: &mut Schema) -> Result<()> {{
        Ok(())
    }}
}}
"#
    )
}
