//! `craft`: scaffold an app, its models, migrations and seeders; run, roll back and
//! inspect migrations, run seeders (Masonite's workflow for an orm-core app).

mod from_table;
mod names;
mod runner;
mod scaffold;
mod templates;
mod write_lock;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use orm_migrate::cli::{print_error, print_warning, MigrateCommand, Paint};

/// Scaffold orm-core apps, models, migrations and seeders; run the migrations and seeders.
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
    #[command(visible_alias = "make:model")]
    Model {
        /// The model's name: Post, blog_post or blog-post
        name: String,
        /// Also create the migration that creates its table
        #[arg(short = 'm', long = "migration", conflicts_with = "from_table")]
        with_migration: bool,
        /// Write the fields from this existing table's columns (read on the app's database)
        #[arg(long, value_name = "TABLE")]
        from_table: Option<String>,
        /// The database to read --from-table on (default: DATABASE_URL, or the app's .env)
        #[arg(long, value_name = "URL", requires = "from_table")]
        database: Option<String>,
    },
    /// Create a timestamped migration in databases/migrations/
    #[command(visible_alias = "make:migration")]
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
    /// Create a seeder in databases/seeds/ (NAME_table_seeder.rs), called by DatabaseSeeder
    #[command(visible_alias = "make:seeder")]
    Seed {
        /// The table it seeds: Users, blog_posts or blog-posts
        name: String,
    },
    #[command(flatten)]
    Migrate(MigrateCommand),
}

fn main() -> ExitCode {
    let craft = match Craft::try_parse() {
        Ok(craft) => craft,
        Err(error) => return usage_failure(error),
    };
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
            from_table,
            database,
        } => scaffold::find_app(&current_dir())
            .and_then(|app| {
                let _lock = write_lock::WriteLock::take(&app.root)?;
                let from = match &from_table {
                    Some(table) => Some((
                        table.as_str(),
                        from_table::read_columns(&app, table, database.as_deref())?,
                    )),
                    None => None,
                };
                scaffold::new_model(&app, &name, with_migration, from)
            })
            .map(|files| print_created(paint, &files)),
        Command::Migration {
            name,
            create,
            table,
        } => scaffold::find_app(&current_dir())
            .and_then(|app| {
                let _lock = write_lock::WriteLock::take(&app.root)?;
                let kind = scaffold::MigrationKind::from_flags(&name, create, table)?;
                scaffold::new_migration(&app, &name, &kind)
            })
            .map(|file| print_created(paint, &[file])),
        Command::Seed { name } => scaffold::find_app(&current_dir())
            .and_then(|app| {
                let _lock = write_lock::WriteLock::take(&app.root)?;
                scaffold::new_seeder(&app, &name)
            })
            .map(|file| print_created(paint, &[file])),
        Command::Migrate(command) => {
            return match scaffold::find_app(&current_dir())
                .and_then(|app| {
                    if command.seeds() {
                        scaffold::check_seeders(&app)?;
                    }
                    if command.migrates() {
                        // Named, not refused: the runner has the migrations the app
                        // compiles, and a file kept aside must not stop a rollback.
                        for warning in scaffold::unlisted_migrations(&app)? {
                            print_warning(&warning);
                        }
                    }
                    Ok(app)
                })
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

/// Help and version print as clap writes them; a usage error (an unknown command, a bad
/// flag) is one line on stderr, as every other craft error, with where to look.
fn usage_failure(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        let _ = error.print();
        return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
    }
    // What clap says before its usage block, on one line: the missing arguments of a
    // "not provided" error and a tip are on the lines after the first.
    let text = error.to_string();
    let said: Vec<&str> = text
        .lines()
        .take_while(|line| !line.starts_with("Usage:"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let line = if said.is_empty() {
        "error: invalid arguments".to_owned()
    } else {
        said.join(" ")
    };
    eprintln!("{line} (`craft --help` lists the commands, `craft <command> --help` their flags)");
    ExitCode::from(2)
}
