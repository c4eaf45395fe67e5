//! The migrate and seed commands as a library, for an app's small runner binary:
//!
//! ```no_run
//! // src/bin/craft-migrate.rs of an app made by `craft new`
//! # mod app { pub mod seeds { pub fn all() -> Vec<Box<dyn orm_migrate::Seeder>> { vec![] } } }
//! # use app::seeds;
//! fn main() -> std::process::ExitCode {
//!     orm_migrate::cli::run_app(vec![Box::new(orm_migrate::CreateUsersTable)], seeds::all())
//! }
//! ```
//!
//! The runner understands `migrate [--pretend] [--force] [--seed]`,
//! `migrate:rollback [--step N]`, `migrate:reset`, `migrate:refresh [--seed]`,
//! `migrate:fresh [--seed]`, `migrate:status`, `seed:run [NAME]` and `schema:check`
//! (every model listed with [`run_app_with_models`] against its table), each with
//! `--database URL` (else `DATABASE_URL`, from the environment or `.env`). It prints each
//! migration and seeder as it runs with its time (and, on stderr, the rows each seeder
//! inserted), and a status table; errors are one line on stderr and a non-zero exit
//! code. `craft` builds the runner and forwards these commands to it.

use std::cell::RefCell;
use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use orm_core::{Connection, Executor, Model, SchemaReport};

use crate::migration::Migration;
use crate::migrator::{MigrationState, MigrationStatus, Migrator, Progress, RunOptions};
use crate::seeder::{seed_with, SeedProgress, Seeder};

/// The seeder `seed:run` and `--seed` run when no name is given.
pub const DATABASE_SEEDER: &str = "DatabaseSeeder";

/// `--database URL`, shared by every migrate command.
#[derive(Debug, Clone, Default, PartialEq, Eq, Args)]
pub struct DatabaseArg {
    /// The database URL (e.g. sqlite://database.sqlite3 or postgres://user@host/db);
    /// default: DATABASE_URL from the environment or .env
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
}

/// The commands that run migrations.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum MigrateCommand {
    /// Run the pending migrations, as one batch
    #[command(name = "migrate")]
    Migrate {
        /// Show the SQL the pending migrations would run; run nothing
        #[arg(long)]
        pretend: bool,
        /// Run the pending migrations even if applied ones were edited (each is named,
        /// and not run again) or are missing from the code
        #[arg(long)]
        force: bool,
        /// Then run the database seeder
        #[arg(long, conflicts_with = "pretend")]
        seed: bool,
        /// Give each migration a batch of its own, so that `migrate:rollback` reverts
        /// them one at a time
        #[arg(long)]
        step: bool,
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Roll back the last batch of migrations (or the last N migrations)
    #[command(name = "migrate:rollback")]
    Rollback {
        /// Roll back this many migrations instead of the last batch
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        step: Option<u32>,
        /// Show the SQL the rollback would run; run nothing
        #[arg(long)]
        pretend: bool,
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Roll back every migration
    #[command(name = "migrate:reset")]
    Reset {
        /// Show the SQL the reset would run; run nothing
        #[arg(long)]
        pretend: bool,
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Roll back every migration (or the last N), then run them all again
    #[command(name = "migrate:refresh")]
    Refresh {
        /// Then run the database seeder
        #[arg(long)]
        seed: bool,
        /// Roll back only the last N migrations before migrating again
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        step: Option<u32>,
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Drop every table, then run every migration
    #[command(name = "migrate:fresh")]
    Fresh {
        /// Then run the database seeder
        #[arg(long)]
        seed: bool,
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Show which migrations have run, and in which batch
    #[command(name = "migrate:status")]
    Status {
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Compare every model of the app with its live table; exit non-zero on any mismatch
    #[command(name = "schema:check")]
    SchemaCheck {
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Run the database seeder, or the seeder NAME, each in a transaction
    #[command(name = "seed:run", visible_alias = "db:seed")]
    SeedRun {
        /// The seeder: Users, UsersTableSeeder or users_table_seeder (default:
        /// DatabaseSeeder)
        name: Option<String>,
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Resolve a migration that only partly ran (MySQL): after undoing it by hand
    /// (--rolled-back) or finishing it by hand (--applied)
    #[command(
        name = "migrate:resolve",
        group = clap::ArgGroup::new("outcome").required(true).args(["applied", "rolled_back"])
    )]
    Resolve {
        /// The migration's name, as `migrate:status` shows it
        name: String,
        /// Its statements were finished by hand: record it as applied
        #[arg(long)]
        applied: bool,
        /// Its statements were undone by hand: forget it, so that it runs again
        #[arg(long)]
        rolled_back: bool,
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
}

impl MigrateCommand {
    /// The command line that parses back to this command (for forwarding it to a
    /// runner): e.g. `["migrate:rollback", "--step", "2"]`.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let database = match self {
            MigrateCommand::Migrate {
                pretend,
                force,
                seed,
                step,
                database,
            } => {
                args.push("migrate".to_owned());
                if *pretend {
                    args.push("--pretend".to_owned());
                }
                if *force {
                    args.push("--force".to_owned());
                }
                if *seed {
                    args.push("--seed".to_owned());
                }
                if *step {
                    args.push("--step".to_owned());
                }
                database
            }
            MigrateCommand::Rollback {
                step,
                pretend,
                database,
            } => {
                args.push("migrate:rollback".to_owned());
                if let Some(step) = step {
                    args.push("--step".to_owned());
                    args.push(step.to_string());
                }
                if *pretend {
                    args.push("--pretend".to_owned());
                }
                database
            }
            MigrateCommand::Reset { pretend, database } => {
                args.push("migrate:reset".to_owned());
                if *pretend {
                    args.push("--pretend".to_owned());
                }
                database
            }
            MigrateCommand::Refresh {
                seed,
                step,
                database,
            } => {
                args.push("migrate:refresh".to_owned());
                if *seed {
                    args.push("--seed".to_owned());
                }
                if let Some(step) = step {
                    args.push("--step".to_owned());
                    args.push(step.to_string());
                }
                database
            }
            MigrateCommand::Fresh { seed, database } => {
                args.push("migrate:fresh".to_owned());
                if *seed {
                    args.push("--seed".to_owned());
                }
                database
            }
            MigrateCommand::Status { database } => {
                args.push("migrate:status".to_owned());
                database
            }
            MigrateCommand::SchemaCheck { database } => {
                args.push("schema:check".to_owned());
                database
            }
            MigrateCommand::SeedRun { name, database } => {
                args.push("seed:run".to_owned());
                if let Some(name) = name {
                    args.push(name.clone());
                }
                database
            }
            MigrateCommand::Resolve {
                name,
                applied,
                rolled_back,
                database,
            } => {
                args.push("migrate:resolve".to_owned());
                args.push(name.clone());
                if *applied {
                    args.push("--applied".to_owned());
                }
                if *rolled_back {
                    args.push("--rolled-back".to_owned());
                }
                database
            }
        };
        if let Some(url) = &database.database {
            args.push("--database".to_owned());
            args.push(url.clone());
        }
        args
    }

    fn database(&self) -> Option<&str> {
        match self {
            MigrateCommand::Migrate { database, .. }
            | MigrateCommand::Rollback { database, .. }
            | MigrateCommand::Reset { database, .. }
            | MigrateCommand::Refresh { database, .. }
            | MigrateCommand::Fresh { database, .. }
            | MigrateCommand::Status { database }
            | MigrateCommand::SchemaCheck { database }
            | MigrateCommand::Resolve { database, .. }
            | MigrateCommand::SeedRun { database, .. } => database.database.as_deref(),
        }
    }

    /// Whether the command runs, reverts or lists migrations (every command but
    /// `seed:run` and `schema:check`).
    pub fn migrates(&self) -> bool {
        !matches!(
            self,
            MigrateCommand::SeedRun { .. } | MigrateCommand::SchemaCheck { .. }
        )
    }

    /// Whether the command runs seeders (`seed:run`, or `--seed`).
    pub fn seeds(&self) -> bool {
        match self {
            MigrateCommand::Migrate { seed, .. }
            | MigrateCommand::Refresh { seed, .. }
            | MigrateCommand::Fresh { seed, .. } => *seed,
            MigrateCommand::SeedRun { .. } => true,
            _ => false,
        }
    }
}

/// The runner's command line.
#[derive(Debug, Parser)]
#[command(
    name = "craft-migrate",
    about = "Runs this app's migrations (usually through `craft`)",
    version
)]
struct RunnerCli {
    #[command(subcommand)]
    command: MigrateCommand,
}

/// Parses the process's arguments and runs the command on `migrations`: the whole of an
/// app's runner binary. Returns the exit code (1 after an error, which is printed on
/// one line on stderr; 2 for a bad command line). An app without seeders; see
/// [`run_app`].
pub fn run_migrations(migrations: Vec<Box<dyn Migration>>) -> ExitCode {
    run_app(migrations, Vec::new())
}

/// [`run_migrations`] for an app with seeders: `seed:run` and `--seed` run
/// [`DATABASE_SEEDER`] (or the one named) from `seeders`.
pub fn run_app(migrations: Vec<Box<dyn Migration>>, seeders: Vec<Box<dyn Seeder>>) -> ExitCode {
    let cli = RunnerCli::parse();
    run_app_command(migrations, seeders, &cli.command)
}

/// Runs one command on `migrations`, printing progress to stdout and an error to
/// stderr; see [`run_migrations`].
pub fn run_command(migrations: Vec<Box<dyn Migration>>, command: &MigrateCommand) -> ExitCode {
    run_app_command(migrations, Vec::new(), command)
}

/// [`run_app`] for an app that also lists its models, so `schema:check` can compare
/// each with its table: the runner `craft new` writes calls
/// `run_app_with_models(migrations::all(), seeds::all(), app::all())`.
pub fn run_app_with_models(
    migrations: Vec<Box<dyn Migration>>,
    seeders: Vec<Box<dyn Seeder>>,
    models: Vec<ModelCheck>,
) -> ExitCode {
    let cli = RunnerCli::parse();
    run_command_with_models(migrations, seeders, models, &cli.command)
}

/// [`run_app_with_models`] for the app whose package is at `app_dir`, as the runner
/// `craft new` writes calls it: `run_app_in(env!("CARGO_MANIFEST_DIR"), ..)`. Asked by
/// `craft` which app it belongs to (the environment variable [`APP_DIR_QUERY`] set), it
/// prints `app_dir` and runs nothing: apps that share a `CARGO_TARGET_DIR` build their
/// runners to one path, and `craft` checks that the runner it starts is its app's.
pub fn run_app_in(
    app_dir: &str,
    migrations: Vec<Box<dyn Migration>>,
    seeders: Vec<Box<dyn Seeder>>,
    models: Vec<ModelCheck>,
) -> ExitCode {
    if std::env::var_os(APP_DIR_QUERY).is_some() {
        println!("{app_dir}");
        return ExitCode::SUCCESS;
    }
    run_app_with_models(migrations, seeders, models)
}

/// The environment variable that makes a runner built with [`run_app_in`] print its
/// app's directory instead of running a command.
pub const APP_DIR_QUERY: &str = "ORM_CRAFT_APP_DIR_QUERY";

/// [`run_command`] with the app's seeders; see [`run_app`].
pub fn run_app_command(
    migrations: Vec<Box<dyn Migration>>,
    seeders: Vec<Box<dyn Seeder>>,
    command: &MigrateCommand,
) -> ExitCode {
    run_command_with_models(migrations, seeders, Vec::new(), command)
}

/// [`run_app_command`] with the app's models; see [`run_app_with_models`].
pub fn run_command_with_models(
    migrations: Vec<Box<dyn Migration>>,
    seeders: Vec<Box<dyn Seeder>>,
    models: Vec<ModelCheck>,
    command: &MigrateCommand,
) -> ExitCode {
    match panics_as_errors(|| execute(migrations, &seeders, &models, command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            print_error(&message);
            ExitCode::FAILURE
        }
    }
}

/// Runs `f`, a panic in it (in a migration's `up`, a seeder's `run`: the app's own code)
/// becoming an error like any failure: its message and where it was raised, on one line.
/// With `RUST_BACKTRACE` set, Rust's own report (and its backtrace) is printed too.
fn panics_as_errors(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    use std::sync::{Arc, Mutex};
    type Hook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send;
    let report = std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0");
    let previous: Arc<Hook> = Arc::from(std::panic::take_hook());
    let caught: Arc<Mutex<Option<String>>> = Arc::default();
    let (hook_previous, hook_caught) = (Arc::clone(&previous), Arc::clone(&caught));
    std::panic::set_hook(Box::new(move |info| {
        if report {
            hook_previous(info);
        }
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic".to_owned());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut slot) = hook_caught.lock() {
            slot.get_or_insert(format!("panicked{at}: {message}"));
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    drop(std::panic::take_hook());
    std::panic::set_hook(Box::new(move |info| previous(info)));
    outcome.unwrap_or_else(|_| {
        let caught = caught.lock().ok().and_then(|mut slot| slot.take());
        Err(caught.unwrap_or_else(|| "panicked".to_owned()))
    })
}

/// Prints `warning: MESSAGE` on one line on stderr (yellow on a terminal).
pub fn print_warning(message: &dyn Display) {
    let paint = Paint::stderr();
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{} {message}", paint.pending("warning:"));
}

/// Prints `error: MESSAGE` on one line on stderr (red on a terminal).
pub fn print_error(message: &dyn Display) {
    let paint = Paint::stderr();
    let one_line = message
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{} {one_line}", paint.error("error:"));
}

/// The database URL: `explicit` when given, else `DATABASE_URL` from the environment
/// or from a `.env` file in the current directory (or a parent).
pub fn database_url(explicit: Option<&str>) -> Result<String, String> {
    if let Some(url) = explicit {
        return Ok(url.to_owned());
    }
    match dotenvy::dotenv() {
        Ok(_) => {}
        Err(e) if e.not_found() => {}
        Err(e) => return Err(format!("cannot read .env: {e}")),
    }
    std::env::var("DATABASE_URL").map_err(|_| {
        "no database: pass --database URL, or set DATABASE_URL (in the environment or .env)"
            .to_owned()
    })
}

/// The seeder `name` (`Users`, `UsersTableSeeder`, `users_table_seeder`; `None`:
/// [`DATABASE_SEEDER`]) among `seeders`.
pub fn find_seeder<'s>(
    seeders: &'s [Box<dyn Seeder>],
    name: Option<&str>,
) -> Result<&'s dyn Seeder, String> {
    if seeders.is_empty() {
        return Err(
            "this app has no seeders: its runner (src/bin/craft-migrate.rs) passes none to \
             orm_migrate::cli::run_app"
                .to_owned(),
        );
    }
    let wanted = name.unwrap_or(DATABASE_SEEDER);
    let normal = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_lowercase()
    };
    let base = normal(wanted);
    let candidates = [
        base.clone(),
        format!("{base}seeder"),
        format!("{base}tableseeder"),
    ];
    // The closest spelling wins: `Users` is the seeder named `Users` when there is one,
    // before `UsersSeeder` and `UsersTableSeeder`.
    candidates
        .iter()
        .find_map(|candidate| seeders.iter().find(|s| normal(s.name()) == *candidate))
        .map(|s| &**s)
        .ok_or_else(|| {
            let known: Vec<&str> = seeders.iter().map(|s| s.name()).collect();
            format!(
                "no seeder named `{wanted}` (this app has: {})",
                known.join(", ")
            )
        })
}

/// One model for `schema:check`: its name and its [`orm_core::Model::check_schema`]. An
/// app lists its models with [`model`] (`craft model` adds to the list).
#[derive(Debug, Clone, Copy)]
pub struct ModelCheck {
    name: &'static str,
    check: fn() -> orm_core::Result<SchemaReport>,
}

/// `M` for `schema:check`.
pub fn model<M: Model>() -> ModelCheck {
    ModelCheck {
        name: M::meta().name,
        check: M::check_schema,
    }
}

/// Checks every model on `conn` and prints each report; an error when any differs.
fn check_models(conn: &mut Connection, models: &[ModelCheck], paint: Paint) -> Result<(), String> {
    if models.is_empty() {
        return Err(
            "this app lists no models for schema:check (`pub fn all()` in app/mod.rs)".into(),
        );
    }
    let mut differing = 0;
    for model in models {
        let report = conn
            .scope(|| (model.check)())
            .map_err(|e| format!("cannot check {}: {e}", model.name))?;
        if report.is_ok() {
            println!("{} {report}", paint.done("ok"));
        } else {
            differing += 1;
            println!("{} {report}", paint.error("differs"));
        }
    }
    match differing {
        0 => {
            println!(
                "{}",
                paint.done(&format!("{} models match their tables.", models.len()))
            );
            Ok(())
        }
        n => Err(format!(
            "schema check failed: {n} of {} models differ from their tables",
            models.len()
        )),
    }
}

fn run_seeder(conn: &mut Connection, seeder: &dyn Seeder, paint: Paint) -> Result<(), String> {
    use orm_core::Executor;
    let notes = Paint::stderr();
    let live = std::io::stderr().is_terminal();
    // Rows per table of each seeder running now (the innermost last).
    type RowsPerTable = Vec<(String, usize)>;
    let counts: Rc<RefCell<Vec<RowsPerTable>>> = Rc::default();
    let sink = Rc::clone(&counts);
    let observer = move |progress: SeedProgress<'_>| match progress {
        SeedProgress::Seeding(name) => {
            sink.borrow_mut().push(Vec::new());
            println!("{} {name}", paint.pending("Seeding:"));
        }
        SeedProgress::Seeded(name, elapsed) => {
            let tables = sink.borrow_mut().pop().unwrap_or_default();
            let mut stderr = std::io::stderr().lock();
            for (table, rows) in tables {
                let clear = if live { "\r\x1b[2K" } else { "" };
                let _ = writeln!(
                    stderr,
                    "{clear}{}",
                    notes.note(&format!("  seeded {rows} rows into {table}"))
                );
            }
            println!(
                "{}  {name} ({})",
                paint.done("Seeded:"),
                format_duration(elapsed)
            );
        }
        SeedProgress::Inserted { table, rows } => {
            let mut stack = sink.borrow_mut();
            if let Some(tables) = stack.last_mut() {
                let total = match tables.iter_mut().find(|(t, _)| t == table) {
                    Some((_, n)) => {
                        *n += rows;
                        *n
                    }
                    None => {
                        tables.push((table.to_owned(), rows));
                        rows
                    }
                };
                if live {
                    let mut stderr = std::io::stderr().lock();
                    let _ = write!(stderr, "\r\x1b[2K  seeding {table}: {total} rows");
                    let _ = stderr.flush();
                }
            }
        }
    };
    conn.scope(|| Ok(seed_with(seeder, observer)))
        .map_err(|e| e.to_string())?
        .map_err(|e| {
            if live {
                eprintln!();
            }
            // The seeders listed as seeded above ran in the same transaction.
            format!("{e} (the run was rolled back: nothing it seeded was kept)")
        })
}

fn execute(
    migrations: Vec<Box<dyn Migration>>,
    seeders: &[Box<dyn Seeder>],
    models: &[ModelCheck],
    command: &MigrateCommand,
) -> Result<(), String> {
    // A seeder that does not exist fails before anything runs.
    let seeder = match command {
        MigrateCommand::SeedRun { name, .. } => Some(find_seeder(seeders, name.as_deref())?),
        _ if command.seeds() => Some(find_seeder(seeders, None)?),
        _ => None,
    };
    let url = database_url(command.database())?;
    let mut conn =
        Connection::open(&url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    let paint = Paint::stdout();
    if let MigrateCommand::SchemaCheck { .. } = command {
        return check_models(&mut conn, models, paint);
    }
    let reverting = !matches!(command, MigrateCommand::Migrate { .. });
    let migrator = Migrator::new(migrations).on_progress(move |progress| {
        print_progress(paint, progress, reverting);
    });
    let failed = |e: crate::Error| e.to_string();
    let nothing = |what: &str| println!("{}", paint.note(what));
    match command {
        MigrateCommand::SeedRun { .. } => {}
        MigrateCommand::Migrate {
            pretend,
            force,
            step,
            ..
        } => {
            let options = RunOptions {
                pretend: *pretend,
                force: *force,
                step: *step,
            };
            let report = migrator.run_with_on(&mut conn, options).map_err(failed)?;
            print_pretended(paint, &report.pretended);
            if report.applied.is_empty() && report.pretended.is_empty() {
                nothing("Nothing to migrate.");
            }
        }
        MigrateCommand::Rollback {
            step,
            pretend: true,
            ..
        } => {
            let steps = step.map(|n| n as usize);
            let pretended = migrator
                .pretend_rollback_on(&mut conn, steps)
                .map_err(failed)?;
            print_pretended(paint, &pretended);
            if pretended.is_empty() {
                nothing("Nothing to roll back.");
            }
        }
        MigrateCommand::Reset { pretend: true, .. } => {
            let pretended = migrator.pretend_reset_on(&mut conn).map_err(failed)?;
            print_pretended(paint, &pretended);
            if pretended.is_empty() {
                nothing("Nothing to roll back.");
            }
        }
        MigrateCommand::Rollback { step, .. } => {
            let reverted = match step {
                Some(step) => migrator.rollback_steps_on(&mut conn, *step as usize),
                None => migrator.rollback_on(&mut conn),
            }
            .map_err(failed)?;
            if reverted.is_empty() {
                nothing("Nothing to roll back.");
            }
        }
        MigrateCommand::Reset { .. } => {
            if migrator.reset_on(&mut conn).map_err(failed)?.is_empty() {
                nothing("Nothing to roll back.");
            }
        }
        MigrateCommand::Refresh { step, .. } => {
            let report = match step {
                Some(step) => {
                    migrator
                        .rollback_steps_on(&mut conn, *step as usize)
                        .map_err(failed)?;
                    migrator.run_with_on(&mut conn, RunOptions::default())
                }
                None => migrator.refresh_on(&mut conn),
            }
            .map_err(failed)?;
            if report.applied.is_empty() {
                nothing("Nothing to migrate.");
            }
        }
        MigrateCommand::Fresh { .. } => {
            println!("{}", paint.note("Dropping all tables..."));
            if migrator
                .fresh_on(&mut conn)
                .map_err(failed)?
                .applied
                .is_empty()
            {
                nothing("Nothing to migrate.");
            }
        }
        MigrateCommand::Status { .. } => {
            let statuses = migrator.status_on(&mut conn).map_err(failed)?;
            print!("{}", status_table(&statuses, paint));
        }
        MigrateCommand::Resolve { name, applied, .. } => {
            migrator
                .resolve_on(&mut conn, name, *applied)
                .map_err(failed)?;
            let outcome = if *applied {
                "recorded as applied"
            } else {
                "forgotten: it runs again on the next migrate"
            };
            println!("{} {name} {outcome}", paint.done("Resolved:"));
        }
        MigrateCommand::SchemaCheck { .. } => unreachable!("handled before the migrator"),
    }
    if let Some(seeder) = seeder {
        run_seeder(&mut conn, seeder, paint)?;
    }
    Ok(())
}

/// Prints each migration's name and the statements it would run.
fn print_pretended(paint: Paint, pretended: &[crate::migrator::PretendedMigration]) {
    for migration in pretended {
        println!("{}", paint.heading(&format!("{}:", migration.name)));
        for statement in &migration.statements {
            println!("  {statement};");
        }
    }
}

/// Prints a progress line on stdout; a changed migration is a warning on stderr, which
/// says what happens to it (`reverting`: it is rolled back as it is now; otherwise a
/// forced `migrate` leaves it as it ran).
fn print_progress(paint: Paint, progress: Progress<'_>, reverting: bool) {
    let line = match progress {
        Progress::Changed {
            migration,
            up,
            down,
        } => {
            let what = match (up, down) {
                (true, true) => "its up() and down() differ from when it ran",
                (true, false) => "its up() differs from the one that ran",
                _ => "its down() differs from the one it had when it ran",
            };
            let outcome = if reverting {
                "rolling it back with its code as it is now"
            } else {
                "--force does not run it again: roll it back and migrate to apply the change"
            };
            print_warning(&format!(
                "{migration} changed after it was applied ({what}); {outcome}"
            ));
            return;
        }
        Progress::Migrating(name) => format!("{} {name}", paint.pending("Migrating:")),
        Progress::Migrated(name, elapsed) => format!(
            "{}  {name} ({})",
            paint.done("Migrated:"),
            format_duration(elapsed)
        ),
        Progress::RollingBack(name) => format!("{} {name}", paint.pending("Rolling back:")),
        Progress::RolledBack(name, elapsed) => format!(
            "{}  {name} ({})",
            paint.done("Rolled back:"),
            format_duration(elapsed)
        ),
    };
    println!("{line}");
}

/// `3.21ms`, or `1.20s` from a second on.
pub fn format_duration(elapsed: Duration) -> String {
    let millis = elapsed.as_secs_f64() * 1000.0;
    if millis >= 1000.0 {
        format!("{:.2}s", millis / 1000.0)
    } else {
        format!("{millis:.2}ms")
    }
}

/// The `migrate:status` table: `Ran?`, `Migration`, `Batch`. An applied migration whose
/// SQL changed since reads `Changed`; one missing from the code, `Missing`; one that only
/// partly ran (MySQL), `Partial`.
pub fn status_table(statuses: &[MigrationStatus], paint: Paint) -> String {
    if statuses.is_empty() {
        return format!("{}\n", paint.note("No migrations found."));
    }
    let rows: Vec<(&str, &str, String)> = statuses
        .iter()
        .map(|s| {
            let ran = match (s.ran, s.state) {
                (_, MigrationState::Changed) => "Changed",
                (_, MigrationState::Missing) => "Missing",
                (_, MigrationState::Partial) => "Partial",
                (true, _) => "Yes",
                (false, _) => "No",
            };
            let batch = s.batch.map(|b| b.to_string()).unwrap_or_default();
            (ran, s.name.as_str(), batch)
        })
        .collect();
    let widths = [
        rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(4),
        rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(9),
        rows.iter().map(|r| r.2.len()).max().unwrap_or(0).max(5),
    ];
    let rule = format!(
        "+{}+{}+{}+\n",
        "-".repeat(widths[0] + 2),
        "-".repeat(widths[1] + 2),
        "-".repeat(widths[2] + 2)
    );
    let mut table = rule.clone();
    table.push_str(&format!(
        "| {} | {} | {} |\n",
        paint.heading(&format!("{:<w$}", "Ran?", w = widths[0])),
        paint.heading(&format!("{:<w$}", "Migration", w = widths[1])),
        paint.heading(&format!("{:<w$}", "Batch", w = widths[2])),
    ));
    table.push_str(&rule);
    for (ran, name, batch) in &rows {
        let padded = format!("{ran:<w$}", w = widths[0]);
        let ran_cell = match *ran {
            "Yes" => paint.done(&padded),
            "No" => paint.pending(&padded),
            _ => paint.error(&padded),
        };
        table.push_str(&format!(
            "| {ran_cell} | {name:<w1$} | {batch:<w2$} |\n",
            w1 = widths[1],
            w2 = widths[2]
        ));
    }
    table.push_str(&rule);
    table
}

/// ANSI colours, on only when the stream is a terminal and `NO_COLOR` is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paint {
    enabled: bool,
}

impl Paint {
    /// Colours for stdout.
    pub fn stdout() -> Paint {
        Paint::when(std::io::stdout().is_terminal())
    }

    /// Colours for stderr.
    pub fn stderr() -> Paint {
        Paint::when(std::io::stderr().is_terminal())
    }

    /// Colours when `terminal` and `NO_COLOR` is unset; plain text otherwise.
    pub fn when(terminal: bool) -> Paint {
        Paint {
            enabled: terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    /// Plain text always.
    pub fn plain() -> Paint {
        Paint { enabled: false }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Something finished well (green).
    pub fn done(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Something under way or pending (yellow).
    pub fn pending(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// An error (bold red).
    pub fn error(self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// A heading (bold).
    pub fn heading(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// A side note (dim).
    pub fn note(self, text: &str) -> String {
        self.paint("2", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A migration creating table `name` (dropped by its `down`).
    struct Creates(&'static str, &'static str);
    impl Migration for Creates {
        fn name(&self) -> &str {
            self.0
        }
        fn up(&self, schema: &mut crate::Schema) -> crate::Result<()> {
            schema.create(self.1, |t| {
                t.increments("id");
            })
        }
        fn down(&self, schema: &mut crate::Schema) -> crate::Result<()> {
            schema.drop(self.1)
        }
    }

    #[test]
    fn migrate_step_and_refresh_step() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("db.sqlite3").display());
        let migrations = || -> Vec<Box<dyn Migration>> {
            vec![
                Box::new(Creates("2024_01_01_000001_a", "a")),
                Box::new(Creates("2024_01_01_000002_b", "b")),
                Box::new(Creates("2024_01_01_000003_c", "c")),
            ]
        };
        let run = |line: &str| {
            let args = ["craft-migrate"]
                .into_iter()
                .chain(line.split(' '))
                .chain(["--database", url.as_str()]);
            let command = RunnerCli::try_parse_from(args).expect(line).command;
            execute(migrations(), &[], &[], &command)
        };
        let batches = || -> Vec<(String, i64)> {
            let mut conn = Connection::open(&url).unwrap();
            let statuses = Migrator::new(migrations()).status_on(&mut conn).unwrap();
            statuses
                .into_iter()
                .map(|s| (s.name, s.batch.unwrap_or(0)))
                .collect()
        };
        run("migrate --step").unwrap();
        let stepped: Vec<i64> = batches().into_iter().map(|(_, b)| b).collect();
        assert_eq!(stepped, [1, 2, 3], "a batch per migration");
        run("migrate:rollback").unwrap();
        let after: Vec<i64> = batches().into_iter().map(|(_, b)| b).collect();
        assert_eq!(after, [1, 2, 0], "one migration rolled back");
        run("migrate").unwrap();
        // Refresh the last two only: the first keeps its batch, the two run again.
        run("migrate:refresh --step 2").unwrap();
        let refreshed: Vec<i64> = batches().into_iter().map(|(_, b)| b).collect();
        assert_eq!(refreshed, [1, 2, 2], "{refreshed:?}");
        // --pretend on rollback and reset: the `down` SQL, newest first, nothing run.
        let mut conn = Connection::open(&url).unwrap();
        let migrator = Migrator::new(migrations());
        let names = |pretended: Vec<crate::migrator::PretendedMigration>| {
            pretended
                .into_iter()
                .map(|p| (p.name, p.statements.len()))
                .collect::<Vec<_>>()
        };
        let last_batch = migrator.pretend_rollback_on(&mut conn, None).unwrap();
        assert_eq!(
            names(last_batch),
            [
                ("2024_01_01_000003_c".to_owned(), 1),
                ("2024_01_01_000002_b".to_owned(), 1)
            ]
        );
        let all = migrator.pretend_reset_on(&mut conn).unwrap();
        assert!(all[2].statements[0].starts_with("DROP TABLE"), "{all:?}");
        run("migrate:rollback --pretend").unwrap();
        run("migrate:reset --pretend").unwrap();
        assert_eq!(
            batches().into_iter().map(|(_, b)| b).collect::<Vec<_>>(),
            [1, 2, 2],
            "nothing rolled back"
        );
    }

    #[test]
    fn commands_round_trip_through_their_arguments() {
        let commands = [
            "migrate",
            "migrate --pretend --force",
            "migrate --seed",
            "migrate --step",
            "migrate:refresh --seed",
            "migrate:refresh --step 2",
            "migrate:fresh --seed --database sqlite::memory:",
            "seed:run",
            "seed:run Users --database sqlite::memory:",
            "migrate:rollback --step 2 --database sqlite::memory:",
            "migrate:rollback --step 1 --pretend",
            "migrate:reset --pretend",
            "migrate:reset",
            "migrate:refresh",
            "migrate:fresh --database postgres://u@h/db",
            "migrate:status",
        ];
        for line in commands {
            let args = std::iter::once("craft-migrate").chain(line.split(' '));
            let parsed = RunnerCli::try_parse_from(args).expect(line).command;
            assert_eq!(parsed.to_args().join(" "), line);
        }
        assert!(
            RunnerCli::try_parse_from(["craft-migrate", "migrate:rollback", "--step", "0"])
                .is_err()
        );
        assert!(RunnerCli::try_parse_from(["craft-migrate", "migrate:sideways"]).is_err());
        assert!(
            RunnerCli::try_parse_from(["craft-migrate", "migrate", "--seed", "--pretend"]).is_err()
        );
    }

    #[test]
    fn status_table_lines_up() {
        let statuses = vec![
            MigrationStatus {
                name: "2014_10_12_000000_create_users_table".into(),
                ran: true,
                batch: Some(1),
                applied_at: None,
                state: MigrationState::Applied,
            },
            MigrationStatus {
                name: "2024_01_01_000000_create_posts_table".into(),
                ran: false,
                batch: None,
                applied_at: None,
                state: MigrationState::Pending,
            },
        ];
        let table = status_table(&statuses, Paint::plain());
        assert_eq!(
            table,
            "+------+--------------------------------------+-------+\n\
             | Ran? | Migration                            | Batch |\n\
             +------+--------------------------------------+-------+\n\
             | Yes  | 2014_10_12_000000_create_users_table | 1     |\n\
             | No   | 2024_01_01_000000_create_posts_table |       |\n\
             +------+--------------------------------------+-------+\n"
        );
        assert_eq!(status_table(&[], Paint::plain()), "No migrations found.\n");
    }

    struct UsersTableSeeder;
    impl Seeder for UsersTableSeeder {
        fn run(&self) -> crate::Result<()> {
            Ok(())
        }
    }
    struct DatabaseSeeder;
    impl Seeder for DatabaseSeeder {
        fn run(&self) -> crate::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn seeders_are_found_by_any_spelling() {
        let seeders: Vec<Box<dyn Seeder>> =
            vec![Box::new(DatabaseSeeder), Box::new(UsersTableSeeder)];
        let name =
            |wanted: Option<&str>| find_seeder(&seeders, wanted).map(|s| s.name().to_owned());
        assert_eq!(name(None).unwrap(), "DatabaseSeeder");
        for spelling in [
            "Users",
            "users",
            "UsersTableSeeder",
            "users_table_seeder",
            "users-table",
        ] {
            assert_eq!(
                name(Some(spelling)).unwrap(),
                "UsersTableSeeder",
                "{spelling}"
            );
        }
        assert_eq!(name(Some("database")).unwrap(), "DatabaseSeeder");
        let err = name(Some("Posts")).unwrap_err();
        assert_eq!(
            err,
            "no seeder named `Posts` (this app has: DatabaseSeeder, UsersTableSeeder)"
        );
        assert!(find_seeder(&[], None).is_err());
        // An exact name wins over a longer spelling listed before it.
        struct Users;
        impl Seeder for Users {
            fn run(&self) -> crate::Result<()> {
                Ok(())
            }
        }
        let seeders: Vec<Box<dyn Seeder>> = vec![Box::new(UsersTableSeeder), Box::new(Users)];
        let name =
            |wanted: Option<&str>| find_seeder(&seeders, wanted).map(|s| s.name().to_owned());
        assert_eq!(name(Some("Users")).unwrap(), "Users");
        assert_eq!(name(Some("UsersTable")).unwrap(), "UsersTableSeeder");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_micros(3210)), "3.21ms");
        assert_eq!(format_duration(Duration::from_millis(1200)), "1.20s");
    }
}
