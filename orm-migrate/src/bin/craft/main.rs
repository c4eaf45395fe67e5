//! `craft`: scaffold an app, its models and migrations; run, roll back and inspect
//! migrations (Masonite's workflow for an orm-core app).

mod names;
mod runner;
mod scaffold;
mod templates;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orm_migrate::cli::{print_error, MigrateCommand, Paint};

/// Scaffold orm-core apps, models and migrations, and run the migrations.
#[derive(Debug, Parser)]
#[command(name = "craft", version, propagate_version = true)]
struct Craft {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new app crate NAME/ on SQLite, with the users migration and User model
    New {
        /// The app's name (snake_case or kebab-case), also its directory
        name: String,
        /// The database URL written to the app's .env (default sqlite://database.sqlite3;
        /// e.g. postgres://user@host/db or mysql://user@host:3306/db)
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Create a model in app/ (and with -m its create_TABLE_table migration)
    Model {
        /// The model's name: Post, blog_post or blog-post
        name: String,
        /// Also create the migration that creates its table
        #[arg(short = 'm', long = "migration")]
        with_migration: bool,
    },
    /// Create a timestamped migration in databases/migrations/
    Migration {
        /// The migration's name, in snake_case (e.g. create_posts_table)
        name: String,
        /// The table the migration creates
        #[arg(long, value_name = "TABLE")]
        create: Option<String>,
        /// The table the migration changes
        #[arg(long, value_name = "TABLE")]
        table: Option<String>,
    },
    #[command(flatten)]
    Migrate(MigrateCommand),
}

fn main() -> ExitCode {
    let craft = Craft::parse();
    let paint = Paint::stdout();
    let outcome = match craft.command {
        Command::New { name, database } => {
            scaffold::new_app(&current_dir(), &name, database.as_deref()).map(|created| {
                print_created(paint, &created.files);
                println!(
                    "{} Next: cd {} && craft migrate && cargo run",
                    paint.heading("App ready."),
                    relative(&created.root).display()
                );
            })
        }
        Command::Model {
            name,
            with_migration,
        } => scaffold::find_app(&current_dir())
            .and_then(|app| scaffold::new_model(&app, &name, with_migration))
            .map(|files| print_created(paint, &files)),
        Command::Migration {
            name,
            create,
            table,
        } => scaffold::find_app(&current_dir())
            .and_then(|app| {
                let kind = scaffold::MigrationKind::from_flags(&name, create, table)?;
                scaffold::new_migration(&app, &name, &kind)
            })
            .map(|file| print_created(paint, &[file])),
        Command::Migrate(command) => {
            return match scaffold::find_app(&current_dir())
                .and_then(|app| runner::run(&app, &command))
            {
                Ok(code) => code,
                Err(message) => {
                    print_error(&message);
                    ExitCode::FAILURE
                }
            };
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            print_error(&message);
            ExitCode::FAILURE
        }
    }
}

fn print_created(paint: Paint, files: &[PathBuf]) {
    for path in files {
        println!("{} {}", paint.done("Created"), relative(path).display());
    }
}

/// `path` relative to the current directory when it is under it.
fn relative(path: &Path) -> &Path {
    let here = current_dir();
    path.strip_prefix(&here)
        .ok()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(path)
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
}
