//! The migrate commands as a library, for an app's small runner binary:
//!
//! ```no_run
//! // src/bin/craft-migrate.rs of an app made by `craft new`
//! fn main() -> std::process::ExitCode {
//!     orm_migrate::cli::run_migrations(vec![Box::new(orm_migrate::CreateUsersTable)])
//! }
//! ```
//!
//! The runner understands `migrate [--pretend] [--force]`, `migrate:rollback [--step N]`,
//! `migrate:reset`, `migrate:refresh`, `migrate:fresh` and `migrate:status`, each with
//! `--database URL` (else `DATABASE_URL`, from the environment or `.env`). It prints each
//! migration as it runs with its time, and a status table; errors are one line on
//! stderr and a non-zero exit code. `craft` builds the runner and forwards these
//! commands to it.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use orm_core::Connection;

use crate::migration::Migration;
use crate::migrator::{MigrationState, MigrationStatus, Migrator, Progress, RunOptions};

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
        /// Run even if applied migrations were edited or are missing from the code
        #[arg(long)]
        force: bool,
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
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Roll back every migration
    #[command(name = "migrate:reset")]
    Reset {
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Roll back every migration, then run them all again
    #[command(name = "migrate:refresh")]
    Refresh {
        /// `--database URL`.
        #[command(flatten)]
        database: DatabaseArg,
    },
    /// Drop every table, then run every migration
    #[command(name = "migrate:fresh")]
    Fresh {
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
    /// Resolve a migration that only partly ran (MySQL): after undoing it by hand
    /// (--rolled-back) or finishing it by hand (--applied)
    #[command(name = "migrate:resolve")]
    Resolve {
        /// The migration's name, as `migrate:status` shows it
        name: String,
        /// Its statements were finished by hand: record it as applied
        #[arg(
            long,
            conflicts_with = "rolled_back",
            required_unless_present = "rolled_back"
        )]
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
                database,
            } => {
                args.push("migrate".to_owned());
                if *pretend {
                    args.push("--pretend".to_owned());
                }
                if *force {
                    args.push("--force".to_owned());
                }
                database
            }
            MigrateCommand::Rollback { step, database } => {
                args.push("migrate:rollback".to_owned());
                if let Some(step) = step {
                    args.push("--step".to_owned());
                    args.push(step.to_string());
                }
                database
            }
            MigrateCommand::Reset { database } => {
                args.push("migrate:reset".to_owned());
                database
            }
            MigrateCommand::Refresh { database } => {
                args.push("migrate:refresh".to_owned());
                database
            }
            MigrateCommand::Fresh { database } => {
                args.push("migrate:fresh".to_owned());
                database
            }
            MigrateCommand::Status { database } => {
                args.push("migrate:status".to_owned());
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
            | MigrateCommand::Reset { database }
            | MigrateCommand::Refresh { database }
            | MigrateCommand::Fresh { database }
            | MigrateCommand::Status { database }
            | MigrateCommand::Resolve { database, .. } => database.database.as_deref(),
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
/// one line on stderr; 2 for a bad command line).
pub fn run_migrations(migrations: Vec<Box<dyn Migration>>) -> ExitCode {
    let cli = RunnerCli::parse();
    run_command(migrations, &cli.command)
}

/// Runs one command on `migrations`, printing progress to stdout and an error to
/// stderr; see [`run_migrations`].
pub fn run_command(migrations: Vec<Box<dyn Migration>>, command: &MigrateCommand) -> ExitCode {
    match execute(migrations, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            print_error(&message);
            ExitCode::FAILURE
        }
    }
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

fn execute(migrations: Vec<Box<dyn Migration>>, command: &MigrateCommand) -> Result<(), String> {
    let url = database_url(command.database())?;
    let mut conn =
        Connection::open(&url).map_err(|e| format!("cannot connect to the database: {e}"))?;
    let paint = Paint::stdout();
    let migrator = Migrator::new(migrations).on_progress(move |progress| {
        print_progress(paint, progress);
    });
    let failed = |e: crate::Error| e.to_string();
    let nothing = |what: &str| println!("{}", paint.note(what));
    match command {
        MigrateCommand::Migrate { pretend, force, .. } => {
            let options = RunOptions {
                pretend: *pretend,
                force: *force,
                ..RunOptions::default()
            };
            let report = migrator.run_with_on(&mut conn, options).map_err(failed)?;
            for migration in &report.pretended {
                println!("{}", paint.heading(&format!("{}:", migration.name)));
                for statement in &migration.statements {
                    println!("  {statement};");
                }
            }
            if report.applied.is_empty() && report.pretended.is_empty() {
                nothing("Nothing to migrate.");
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
        MigrateCommand::Refresh { .. } => {
            if migrator
                .refresh_on(&mut conn)
                .map_err(failed)?
                .applied
                .is_empty()
            {
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
    }
    Ok(())
}

fn print_progress(paint: Paint, progress: Progress<'_>) {
    let line = match progress {
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

    #[test]
    fn commands_round_trip_through_their_arguments() {
        let commands = [
            "migrate",
            "migrate --pretend --force",
            "migrate:rollback --step 2 --database sqlite::memory:",
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

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(Duration::from_micros(3210)), "3.21ms");
        assert_eq!(format_duration(Duration::from_millis(1200)), "1.20s");
    }
}
