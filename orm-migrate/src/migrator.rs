//! The migrator: runs pending migrations in batches, rolls them back, and keeps the
//! `migrations` ledger.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use orm_core::{Connection, DB};

use crate::error::{Error, Result};
use crate::ledger::{self, with_lock, LedgerRow};
use crate::migration::Migration;
use crate::schema::{check_foreign_keys, foreign_keys_enabled, Schema};

/// Options of [`Migrator::run_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Only collect the SQL each pending migration would run; run and record nothing.
    pub pretend: bool,
    /// Run even when applied migrations were edited or are missing from the code.
    pub force: bool,
    /// Give each migration its own batch, so that `rollback` reverts them one by one.
    pub step: bool,
}

/// The SQL one pending migration would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PretendedMigration {
    /// The migration's name.
    pub name: String,
    /// Its statements, in order.
    pub statements: Vec<String>,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RunReport {
    /// The migrations applied, in order.
    pub applied: Vec<String>,
    /// The batch they were recorded in (the first one, with `step`).
    pub batch: Option<i64>,
    /// With `pretend`: the SQL of each pending migration.
    pub pretended: Vec<PretendedMigration>,
}

/// Where a migration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationState {
    /// Not applied yet.
    Pending,
    /// Applied, and its SQL is unchanged.
    Applied,
    /// Applied, but its SQL has changed since (the checksum differs).
    Changed,
    /// In the ledger, but no longer in the code.
    Missing,
    /// Failed after some of its statements ran, on a database without transactional
    /// DDL (MySQL), applying it or rolling it back: to resolve ([`Migrator::resolve`])
    /// before anything else runs.
    Partial,
}

/// What the migrator is doing, reported to the observer set with
/// [`Migrator::on_progress`] as each migration runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// About to apply this migration.
    Migrating(&'a str),
    /// Applied and recorded it, in this time.
    Migrated(&'a str, std::time::Duration),
    /// About to revert this migration.
    RollingBack(&'a str),
    /// Reverted and forgot it, in this time.
    RolledBack(&'a str, std::time::Duration),
    /// An applied migration whose code changed since it was applied: the SQL its `up`
    /// produces differs from the SQL that ran (`up`), or the SQL its `down` produces
    /// differs from what it produced when the migration was applied (`down`; known for
    /// migrations applied since the ledger has `down_checksum`). Reported just before
    /// such a migration is rolled back (its `down` as it is now runs), and by a forced
    /// [`Migrator::run_with`], which leaves it applied as it ran: an edited migration is
    /// never run again by itself.
    Changed {
        /// The migration's name.
        migration: &'a str,
        /// Its `up` differs from the one that ran.
        up: bool,
        /// Its `down` differs from the one it had when it was applied.
        down: bool,
    },
}

/// One line of [`Migrator::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationStatus {
    /// The migration's name.
    pub name: String,
    /// Whether it is recorded as applied.
    pub ran: bool,
    /// Its batch, when applied.
    pub batch: Option<i64>,
    /// When it was applied.
    pub applied_at: Option<DateTime<Utc>>,
    /// Pending, applied, changed or missing.
    pub state: MigrationState,
}

enum Selection {
    LastBatch,
    Steps(usize),
    All,
}

/// The checksum the ledger keeps of the SQL a migration ran: 64-bit FNV-1a of the
/// statements joined by newlines, in hex.
pub fn checksum(statements: &[String]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, statement) in statements.iter().enumerate() {
        if i > 0 {
            hash ^= u64::from(b'\n');
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for byte in statement.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

/// The callback of [`Migrator::on_progress`].
type Observer = Box<dyn Fn(Progress<'_>)>;

/// Runs and reverts a set of migrations, recording them in the `migrations` ledger.
///
/// Every operation exists twice: on the default connection (`run`, `rollback`, ...)
/// and on an explicit connection (`run_on`, `rollback_on`, ...).
///
/// - The ledger (`id`, `migration` unique, `batch`, `checksum`, `applied_at`) is created
///   on first use. Pending migrations run in name order as one new batch (max + 1).
/// - Each migration and its ledger row commit in one transaction (unless the migration
///   opts out with [`Migration::transactional`]); a failure rolls that migration back,
///   stops the run with [`Error::MigrationFailed`] (name, statement, database error) and
///   keeps the ones before it.
/// - Concurrent migrators are serialised: on PostgreSQL by a session-level advisory lock
///   (keyed by the current schema) held on the migrator's connection for the whole
///   operation; on SQLite by `BEGIN IMMEDIATE` (the write lock) taken before the ledger
///   is read, and each migration checks the ledger again inside its own transaction, so
///   it is applied exactly once.
/// - On SQLite, foreign key enforcement is suspended while a migration runs (outside an
///   enclosing transaction) so table rebuilds cannot cascade, and `PRAGMA
///   foreign_key_check` must come back clean before it commits.
/// - The checksum covers the statements the migration's `up` produces (a SQLite rebuild
///   counts as its one-line summary). An applied migration whose checksum differs, or
///   one the code no longer has, is reported by `status` and refused by `run` unless
///   `force` is set; a forced run reports each edited one ([`Progress::Changed`]) and
///   does not run it again. Migrations whose SQL depends on the database's state (e.g.
///   on `has_table`) may be reported as changed.
/// - The ledger also keeps the checksum of the SQL the migration's `down` produced when
///   it was applied (pretended right after `up`, in a savepoint rolled back at once).
///   Rolling back a migration whose `up` or `down` changed since reports
///   [`Progress::Changed`] first, and then rolls it back with the code as it is now.
///
/// ```
/// use orm_migrate::prelude::*;
///
/// struct CreatePostsTable;
/// impl Migration for CreatePostsTable {
///     fn name(&self) -> &str { "2024_01_01_000000_create_posts_table" }
///     fn up(&self, schema: &mut Schema) -> Result<()> {
///         schema.create("posts", |table| {
///             table.increments("id");
///             table.string("title", 255);
///         })
///     }
///     fn down(&self, schema: &mut Schema) -> Result<()> {
///         schema.drop_if_exists("posts")
///     }
/// }
///
/// orm_core::DB::connect("sqlite::memory:")?;
/// let migrator = Migrator::new(vec![Box::new(CreateUsersTable), Box::new(CreatePostsTable)]);
/// assert_eq!(migrator.pretend()?.len(), 2);            // the SQL, nothing run
/// let report = migrator.run()?;                         // both, as batch 1
/// assert_eq!((report.applied.len(), report.batch), (2, Some(1)));
/// assert!(migrator.status()?.iter().all(|s| s.ran));
/// assert_eq!(migrator.rollback()?.len(), 2);            // the last batch
/// # Ok::<(), orm_migrate::Error>(())
/// ```
pub struct Migrator {
    migrations: Vec<Box<dyn Migration>>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field(
                "migrations",
                &self.migrations.iter().map(|m| m.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn on_default<T>(f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
    let mut outcome = None;
    DB::with_connection(|conn| {
        // A migration's `DB::table(..)` or model call would otherwise run on another
        // connection of the pool, outside the migration's transaction (PostgreSQL): it
        // is refused (`ConnectionInUse`); `Schema::run` lends the migration's one.
        outcome = Some(orm_core::__private::holding_name("default", || f(conn)));
        Ok(())
    })?;
    outcome.unwrap_or_else(|| Err(orm_core::Error::NoConnection("default".into()).into()))
}

fn failed(migration: &str, error: Error) -> Error {
    match error {
        Error::MigrationFailed { .. } => error,
        other => Error::MigrationFailed {
            migration: migration.to_owned(),
            statement: other.statement().map(str::to_owned),
            source: Box::new(other),
        },
    }
}

impl Migrator {
    /// A migrator over `migrations` (sorted by name).
    pub fn new(mut migrations: Vec<Box<dyn Migration>>) -> Migrator {
        migrations.sort_by(|a, b| a.name().cmp(b.name()));
        Migrator {
            migrations,
            observer: None,
        }
    }

    /// Calls `observer` as each migration starts and ends (e.g. to print
    /// `Migrating: ...` / `Migrated: ... (3.21ms)`); a migration that another migrator
    /// applied meanwhile gets no end event.
    pub fn on_progress(mut self, observer: impl Fn(Progress<'_>) + 'static) -> Migrator {
        self.observer = Some(Box::new(observer));
        self
    }

    /// Tells the observer, with the migrator's connection lent to it: its `DB::table(..)`
    /// or model calls on the default connection run there (between migrations, outside
    /// their transactions) instead of failing with `ConnectionInUse`.
    fn report(&self, conn: &mut Connection, progress: Progress<'_>) {
        if let Some(observer) = &self.observer {
            let _ = orm_core::Executor::scope(conn, || {
                observer(progress);
                Ok(())
            });
        }
    }

    /// The migrations' names, in the order they run.
    pub fn names(&self) -> Vec<&str> {
        self.migrations.iter().map(|m| m.name()).collect()
    }

    /// Runs the pending migrations on the default connection as one new batch.
    pub fn run(&self) -> Result<RunReport> {
        on_default(|conn| self.run_on(conn))
    }

    /// [`Migrator::run`] with options (pretend, force, step).
    pub fn run_with(&self, options: RunOptions) -> Result<RunReport> {
        on_default(|conn| self.run_with_on(conn, options))
    }

    /// Reverts the last batch on the default connection; returns the reverted names.
    pub fn rollback(&self) -> Result<Vec<String>> {
        on_default(|conn| self.rollback_on(conn))
    }

    /// Reverts the last `steps` migrations on the default connection.
    pub fn rollback_steps(&self, steps: usize) -> Result<Vec<String>> {
        on_default(|conn| self.rollback_steps_on(conn, steps))
    }

    /// Reverts every applied migration on the default connection.
    pub fn reset(&self) -> Result<Vec<String>> {
        on_default(|conn| self.reset_on(conn))
    }

    /// Reverts everything, then runs everything, on the default connection.
    pub fn refresh(&self) -> Result<RunReport> {
        on_default(|conn| self.refresh_on(conn))
    }

    /// Drops every table, then runs everything, on the default connection.
    pub fn fresh(&self) -> Result<RunReport> {
        on_default(|conn| self.fresh_on(conn))
    }

    /// Resolves a migration recorded as partially applied (MySQL) on the default
    /// connection, after its statements were undone (`applied: false`: it is forgotten,
    /// and runs again on the next `run`) or finished by hand (`applied: true`: it is
    /// recorded as applied in its batch).
    pub fn resolve(&self, name: &str, applied: bool) -> Result<()> {
        on_default(|conn| self.resolve_on(conn, name, applied))
    }

    pub(crate) fn resolve_on(
        &self,
        conn: &mut Connection,
        name: &str,
        applied: bool,
    ) -> Result<()> {
        with_lock(conn, |conn| {
            let rows = read_ledger(conn)?;
            if !rows
                .iter()
                .any(|r| r.migration == name && r.partial().is_some())
            {
                return Err(Error::NothingToResolve(name.to_owned()));
            }
            if applied {
                let migration = self
                    .find(name)
                    .ok_or_else(|| Error::MissingMigration(name.to_owned()))?;
                let sum = current_checksum(conn, migration)?;
                let down = down_checksum(conn, migration);
                ledger::set_checksums(conn, name, sum, down)
            } else {
                ledger::forget(conn, name)
            }
        })
    }

    /// Every migration's state on the default connection, in name order (missing ones
    /// included).
    pub fn status(&self) -> Result<Vec<MigrationStatus>> {
        on_default(|conn| self.status_on(conn))
    }

    /// The SQL each pending migration would run on the default connection; nothing is
    /// run or recorded.
    pub fn pretend(&self) -> Result<Vec<PretendedMigration>> {
        on_default(|conn| self.pretend_on(conn))
    }

    /// The SQL [`Migrator::rollback`] (or, with `Some(n)`, [`Migrator::rollback_steps`])
    /// would run: each migration's `down`, newest first (Laravel's `migrate:rollback
    /// --pretend`). Nothing is run or recorded.
    pub fn pretend_rollback(&self, steps: Option<usize>) -> Result<Vec<PretendedMigration>> {
        on_default(|conn| self.pretend_rollback_on(conn, steps))
    }

    /// The SQL [`Migrator::reset`] would run, newest migration first; nothing is run.
    pub fn pretend_reset(&self) -> Result<Vec<PretendedMigration>> {
        on_default(|conn| self.pretend_reset_on(conn))
    }

    pub(crate) fn run_on(&self, conn: &mut Connection) -> Result<RunReport> {
        self.run_with_on(conn, RunOptions::default())
    }

    pub(crate) fn run_with_on(
        &self,
        conn: &mut Connection,
        options: RunOptions,
    ) -> Result<RunReport> {
        self.check_names()?;
        if options.pretend {
            return Ok(RunReport {
                pretended: self.pretend_on(conn)?,
                ..RunReport::default()
            });
        }
        with_lock(conn, |conn| {
            let rows = prepare_ledger(conn)?;
            self.verify(conn, &rows, options.force)?;
            let done: HashSet<&str> = rows.iter().map(|r| r.migration.as_str()).collect();
            let mut batch = rows.iter().map(|r| r.batch).max().unwrap_or(0) + 1;
            let mut report = RunReport::default();
            for migration in self.migrations.iter().filter(|m| !done.contains(m.name())) {
                let start = std::time::Instant::now();
                self.report(conn, Progress::Migrating(migration.name()));
                if apply(conn, migration.as_ref(), batch)? {
                    self.report(conn, Progress::Migrated(migration.name(), start.elapsed()));
                    log::info!(
                        target: "orm_migrate",
                        "migrated {} ({:.2?})",
                        migration.name(),
                        start.elapsed()
                    );
                    report.batch.get_or_insert(batch);
                    report.applied.push(migration.name().to_owned());
                    if options.step {
                        batch += 1;
                    }
                }
            }
            Ok(report)
        })
    }

    pub(crate) fn rollback_on(&self, conn: &mut Connection) -> Result<Vec<String>> {
        self.revert(conn, Selection::LastBatch)
    }

    pub(crate) fn rollback_steps_on(
        &self,
        conn: &mut Connection,
        steps: usize,
    ) -> Result<Vec<String>> {
        self.revert(conn, Selection::Steps(steps))
    }

    pub(crate) fn reset_on(&self, conn: &mut Connection) -> Result<Vec<String>> {
        self.revert(conn, Selection::All)
    }

    pub(crate) fn refresh_on(&self, conn: &mut Connection) -> Result<RunReport> {
        with_lock(conn, |conn| {
            self.reset_on(conn)?;
            self.run_on(conn)
        })
    }

    pub(crate) fn fresh_on(&self, conn: &mut Connection) -> Result<RunReport> {
        self.check_names()?;
        with_lock(conn, |conn| {
            let mut schema = Schema::new(conn);
            schema.drop_all_views()?;
            schema.drop_all_tables()?;
            self.run_on(conn)
        })
    }

    pub(crate) fn status_on(&self, conn: &mut Connection) -> Result<Vec<MigrationStatus>> {
        let rows = ledger::read_if_exists(conn)?;
        let by_name: HashMap<&str, &LedgerRow> =
            rows.iter().map(|r| (r.migration.as_str(), r)).collect();
        let mut statuses = Vec::new();
        for migration in &self.migrations {
            let status = match by_name.get(migration.name()) {
                None => MigrationStatus {
                    name: migration.name().to_owned(),
                    ran: false,
                    batch: None,
                    applied_at: None,
                    state: MigrationState::Pending,
                },
                Some(row) if row.partial().is_some() => MigrationStatus {
                    name: row.migration.clone(),
                    ran: false,
                    batch: Some(row.batch),
                    applied_at: row.applied_at,
                    state: MigrationState::Partial,
                },
                Some(row) => {
                    let changed = match &row.checksum {
                        Some(recorded) => *recorded != current_checksum(conn, migration.as_ref())?,
                        None => false,
                    };
                    MigrationStatus {
                        name: row.migration.clone(),
                        ran: true,
                        batch: Some(row.batch),
                        applied_at: row.applied_at,
                        state: if changed {
                            MigrationState::Changed
                        } else {
                            MigrationState::Applied
                        },
                    }
                }
            };
            statuses.push(status);
        }
        for row in &rows {
            if !self.migrations.iter().any(|m| m.name() == row.migration) {
                statuses.push(MigrationStatus {
                    name: row.migration.clone(),
                    ran: true,
                    batch: Some(row.batch),
                    applied_at: row.applied_at,
                    state: MigrationState::Missing,
                });
            }
        }
        statuses.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(statuses)
    }

    pub(crate) fn pretend_on(&self, conn: &mut Connection) -> Result<Vec<PretendedMigration>> {
        self.check_names()?;
        let rows = ledger::read_if_exists(conn)?;
        let done: HashSet<&str> = rows.iter().map(|r| r.migration.as_str()).collect();
        let mut out = Vec::new();
        for migration in self.migrations.iter().filter(|m| !done.contains(m.name())) {
            let mut schema = Schema::pretending(conn);
            migration
                .up(&mut schema)
                .map_err(|e| failed(migration.name(), e))?;
            out.push(PretendedMigration {
                name: migration.name().to_owned(),
                statements: schema.take_statements(),
            });
        }
        Ok(out)
    }

    fn check_names(&self) -> Result<()> {
        for pair in self.migrations.windows(2) {
            if pair[0].name() == pair[1].name() {
                return Err(Error::DuplicateMigration(pair[0].name().to_owned()));
            }
        }
        Ok(())
    }

    fn find(&self, name: &str) -> Option<&dyn Migration> {
        self.migrations
            .iter()
            .find(|m| m.name() == name)
            .map(|m| m.as_ref())
    }

    /// Refuses to run when an applied migration was edited or is missing from the code;
    /// with `force`, reports the edited ones ([`Progress::Changed`]) and goes on.
    fn verify(&self, conn: &mut Connection, rows: &[LedgerRow], force: bool) -> Result<()> {
        for row in rows {
            let Some(migration) = self.find(&row.migration) else {
                if force {
                    continue;
                }
                return Err(Error::MissingMigration(row.migration.clone()));
            };
            let Some(recorded) = &row.checksum else {
                continue;
            };
            let current = if force {
                // Only to warn: a migration that cannot be pretended does not stop it.
                match current_checksum(conn, migration) {
                    Ok(current) => current,
                    Err(_) => continue,
                }
            } else {
                current_checksum(conn, migration)?
            };
            if *recorded == current {
                continue;
            }
            if !force {
                return Err(Error::ChecksumMismatch {
                    migration: row.migration.clone(),
                    recorded: recorded.clone(),
                    current,
                });
            }
            log::warn!(
                target: "orm_migrate",
                "{} changed after it was applied; the forced run leaves it as it ran",
                row.migration
            );
            self.report(
                conn,
                Progress::Changed {
                    migration: migration.name(),
                    up: true,
                    down: false,
                },
            );
        }
        Ok(())
    }

    /// Reports [`Progress::Changed`] when `migration`, about to be rolled back, changed
    /// since it was applied (`row`). Pretending `up` or `down` failing only means that
    /// nothing can be said: the rollback itself reports the failure of `down`.
    fn warn_if_changed(&self, conn: &mut Connection, row: &LedgerRow, migration: &dyn Migration) {
        let up = match &row.checksum {
            Some(recorded) => {
                let current = pretended_checksum(conn, migration, |m, s| m.up(s));
                current.is_some_and(|current| current != *recorded)
            }
            None => false,
        };
        let down = match &row.down_checksum {
            Some(recorded) => {
                down_checksum(conn, migration).is_some_and(|current| current != *recorded)
            }
            None => false,
        };
        if up || down {
            log::warn!(
                target: "orm_migrate",
                "{} changed after it was applied (up: {up}, down: {down}); rolling it back \
                 with its code as it is now",
                row.migration
            );
            self.report(
                conn,
                Progress::Changed {
                    migration: migration.name(),
                    up,
                    down,
                },
            );
        }
    }

    /// The ledger rows `selection` reverts, newest first; [`Error::MissingMigration`]
    /// when the code lacks one of them (before anything is reverted).
    fn to_revert(&self, rows: Vec<LedgerRow>, selection: Selection) -> Result<Vec<LedgerRow>> {
        let mut rows = rows;
        rows.sort_by(|a, b| {
            b.batch
                .cmp(&a.batch)
                .then_with(|| b.migration.cmp(&a.migration))
        });
        let last_batch = rows.first().map(|r| r.batch);
        let chosen: Vec<LedgerRow> = match selection {
            Selection::LastBatch => rows
                .into_iter()
                .filter(|r| Some(r.batch) == last_batch)
                .collect(),
            Selection::Steps(n) => rows.into_iter().take(n).collect(),
            Selection::All => rows,
        };
        if let Some(row) = chosen.iter().find(|r| self.find(&r.migration).is_none()) {
            return Err(Error::MissingMigration(row.migration.clone()));
        }
        Ok(chosen)
    }

    /// The SQL the `down` of each migration `selection` would revert runs, newest
    /// first; nothing is run or recorded.
    fn pretend_revert_on(
        &self,
        conn: &mut Connection,
        selection: Selection,
    ) -> Result<Vec<PretendedMigration>> {
        self.check_names()?;
        let rows = ledger::read_if_exists(conn)?;
        let mut out = Vec::new();
        for row in self.to_revert(rows, selection)? {
            let migration = self
                .find(&row.migration)
                .ok_or_else(|| Error::MissingMigration(row.migration.clone()))?;
            let mut schema = Schema::pretending(conn);
            migration
                .down(&mut schema)
                .map_err(|e| failed(migration.name(), e))?;
            out.push(PretendedMigration {
                name: row.migration,
                statements: schema.take_statements(),
            });
        }
        Ok(out)
    }

    pub(crate) fn pretend_rollback_on(
        &self,
        conn: &mut Connection,
        steps: Option<usize>,
    ) -> Result<Vec<PretendedMigration>> {
        let selection = steps.map_or(Selection::LastBatch, Selection::Steps);
        self.pretend_revert_on(conn, selection)
    }

    pub(crate) fn pretend_reset_on(
        &self,
        conn: &mut Connection,
    ) -> Result<Vec<PretendedMigration>> {
        self.pretend_revert_on(conn, Selection::All)
    }

    fn revert(&self, conn: &mut Connection, selection: Selection) -> Result<Vec<String>> {
        self.check_names()?;
        with_lock(conn, |conn| {
            let rows = prepare_ledger(conn)?;
            // Refuses before reverting anything when the code lacks one of them.
            let chosen = self.to_revert(rows, selection)?;
            let mut reverted = Vec::new();
            for row in chosen {
                let migration = self
                    .find(&row.migration)
                    .ok_or_else(|| Error::MissingMigration(row.migration.clone()))?;
                self.warn_if_changed(conn, &row, migration);
                let start = std::time::Instant::now();
                self.report(conn, Progress::RollingBack(migration.name()));
                if unapply(conn, migration)? {
                    self.report(
                        conn,
                        Progress::RolledBack(migration.name(), start.elapsed()),
                    );
                    log::info!(target: "orm_migrate", "rolled back {}", row.migration);
                    reverted.push(row.migration);
                }
            }
            Ok(reverted)
        })
    }
}

/// How long a migrator waits for the write lock that another one holds, where the
/// database has no advisory lock (SQLite; its busy timeout, 5 s by default, is shorter
/// than many migrations): the second migrator runs after the first, as on PostgreSQL
/// and MySQL, instead of failing with "database is locked".
const WRITE_LOCK_WAIT: Duration = Duration::from_secs(600);

/// Runs `f` in a transaction (SQLite: `BEGIN IMMEDIATE`, the write lock, waited for up
/// to [`WRITE_LOCK_WAIT`]; a savepoint
/// when one is open). With `suspend_foreign_keys` on SQLite outside a transaction,
/// foreign keys are off while it runs and checked before the commit, as SQLite's
/// table-rebuild recipe requires.
fn in_transaction<T>(
    conn: &mut Connection,
    suspend_foreign_keys: bool,
    f: impl FnOnce(&mut Connection) -> Result<T>,
) -> Result<T> {
    let switch = match conn.dialect().foreign_key_switch() {
        Some(switch) if suspend_foreign_keys && !conn.in_transaction() => {
            foreign_keys_enabled(conn, switch)?.then_some(switch)
        }
        _ => None,
    };
    if let Some(switch) = switch {
        conn.execute_batch(switch.off)?;
    }
    let result = (|| {
        let mut tx = {
            let deadline = Instant::now() + WRITE_LOCK_WAIT;
            let mut told = false;
            loop {
                match conn.begin() {
                    Ok(tx) => break tx,
                    Err(e) if e.is_busy() && Instant::now() < deadline => {
                        if !told {
                            log::info!(
                                target: "orm_migrate",
                                "waiting for the database's write lock (another migrator \
                                 or writer holds it)"
                            );
                            told = true;
                        }
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let outcome = f(&mut tx).and_then(|value| {
            if let Some(switch) = switch {
                check_foreign_keys(&mut tx, switch, "*")?;
            }
            Ok(value)
        });
        match outcome {
            Ok(value) => {
                tx.commit()?;
                Ok(value)
            }
            Err(e) => {
                // The migration's failure is the error to report; a rollback failing
                // after it marks the connection broken.
                let _ = tx.rollback();
                Err(e)
            }
        }
    })();
    if let Some(switch) = switch {
        conn.execute_batch(switch.on)?;
    }
    result
}

/// Creates the ledger when needed and reads it, holding the write lock on SQLite.
/// Refuses to go on while a migration is recorded as partially applied.
fn prepare_ledger(conn: &mut Connection) -> Result<Vec<LedgerRow>> {
    let rows = read_ledger(conn)?;
    if let Some((row, ran)) = rows.iter().find_map(|r| Some((r, r.partial()?))) {
        return Err(Error::UnresolvedMigration {
            migration: row.migration.clone(),
            ran,
        });
    }
    Ok(rows)
}

fn read_ledger(conn: &mut Connection) -> Result<Vec<LedgerRow>> {
    // Where DDL commits an open transaction (MySQL, which refuses it inside one), the
    // ledger is made before the transaction; the migrators' lock is held either way.
    let transactional = conn.dialect().transactional_ddl();
    if !transactional {
        ledger::ensure(conn)?;
    }
    in_transaction(conn, false, |conn| {
        if transactional {
            ledger::ensure(conn)?;
        }
        ledger::read(conn, true)
    })
}

fn current_checksum(conn: &mut Connection, migration: &dyn Migration) -> Result<String> {
    let mut schema = Schema::pretending(conn);
    migration
        .up(&mut schema)
        .map_err(|e| failed(migration.name(), e))?;
    Ok(checksum(schema.statements()))
}

/// The checksum of the SQL `migration`'s `down` produces now, for the ledger's
/// `down_checksum`; see [`pretended_checksum`].
fn down_checksum(conn: &mut Connection, migration: &dyn Migration) -> Option<String> {
    pretended_checksum(conn, migration, |m, s| m.down(s))
}

/// The checksum of the SQL `step` (`up` or `down`) produces, pretending, in a
/// transaction (a savepoint inside the migration's own) that is rolled back whatever
/// happens: a step that writes through [`Schema::connection`] without checking
/// [`Schema::is_pretending`] changes nothing, and a read that fails there (which aborts
/// a PostgreSQL transaction) leaves the enclosing one usable. `None` when the step fails
/// (e.g. the `down` of an irreversible migration) or the savepoint cannot be had:
/// nothing is known then, which is not an error.
fn pretended_checksum(
    conn: &mut Connection,
    migration: &dyn Migration,
    step: impl FnOnce(&dyn Migration, &mut Schema) -> Result<()>,
) -> Option<String> {
    let mut tx = match conn.begin() {
        Ok(tx) => tx,
        Err(e) => {
            log::debug!(target: "orm_migrate", "cannot pretend {}: {e}", migration.name());
            return None;
        }
    };
    let mut schema = Schema::pretending(&mut tx);
    let outcome = step(migration, &mut schema);
    let statements = schema.take_statements();
    if let Err(e) = tx.rollback() {
        log::warn!(target: "orm_migrate", "rolling back after pretending {}: {e}", migration.name());
    }
    match outcome {
        Ok(()) => Some(checksum(&statements)),
        Err(e) => {
            log::debug!(target: "orm_migrate", "cannot pretend {}: {e}", migration.name());
            None
        }
    }
}

/// Applies one migration and records it, in one transaction unless it opts out.
/// `false` when another migrator applied it meanwhile.
fn apply(conn: &mut Connection, migration: &dyn Migration, batch: i64) -> Result<bool> {
    if !conn.dialect().transactional_ddl() {
        return apply_marked(conn, migration, batch);
    }
    let name = migration.name();
    let work = |conn: &mut Connection| -> Result<bool> {
        if ledger::is_recorded(conn, name)? {
            return Ok(false);
        }
        let mut schema = Schema::new(conn);
        migration.up(&mut schema)?;
        let sum = checksum(schema.statements());
        let down = down_checksum(conn, migration);
        ledger::record(conn, name, batch, sum, down)?;
        Ok(true)
    };
    let result = if migration.transactional() {
        in_transaction(conn, true, work)
    } else {
        work(conn)
    };
    result.map_err(|e| failed(name, e))
}

/// [`apply`] where DDL commits implicitly (MySQL): the ledger marks the migration as
/// started (`partial:0`) before its first statement, so that a migrator killed half-way
/// leaves a row that stops the next run (rather than a migration that runs again over
/// its own half); the mark becomes the checksum when it finishes, `partial:K` when it
/// fails after K statements, and is removed when it fails before any ran.
fn apply_marked(conn: &mut Connection, migration: &dyn Migration, batch: i64) -> Result<bool> {
    let name = migration.name();
    if ledger::is_recorded(conn, name)? {
        return Ok(false);
    }
    ledger::record(conn, name, batch, ledger::partial_marker(0), None)?;
    let mut schema = Schema::new(conn);
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| migration.up(&mut schema)));
    let outcome = match outcome {
        Ok(outcome) => outcome,
        // A panicking migration is marked as a failing one is: with what ran (every
        // statement it ran succeeded), or not at all when nothing ran.
        Err(panic) => {
            let ran = schema.statements().len();
            mark_how_far(conn, name, ran);
            std::panic::resume_unwind(panic);
        }
    };
    // The log holds what ran (a failing statement is not in it).
    let ran = schema.statements().len();
    let sum = checksum(schema.statements());
    match outcome {
        Ok(()) => {
            let down = down_checksum(conn, migration);
            ledger::set_checksums(conn, name, sum, down)?;
            Ok(true)
        }
        Err(e) => {
            mark_how_far(conn, name, ran);
            Err(partially(name, false, ran, failed(name, e)))
        }
    }
}

/// Records in the ledger how many statements of a migration that stopped half-way ran
/// (its row goes when none did), so that nothing goes on until it is resolved; best
/// effort: the error or panic reports it either way.
fn mark_how_far(conn: &mut Connection, name: &str, ran: usize) {
    let marked = match ran {
        0 => ledger::forget(conn, name),
        ran => ledger::set_checksum(conn, name, ledger::partial_marker(ran)),
    };
    if let Err(e) = marked {
        log::warn!(target: "orm_migrate", "cannot record how far {name} ran: {e}");
    }
}

/// On a database without transactional DDL, a migration that failed after some of its
/// statements ran says so.
fn partially(name: &str, atomic: bool, ran: usize, error: Error) -> Error {
    if atomic || ran == 0 {
        return error;
    }
    Error::PartiallyApplied {
        migration: name.to_owned(),
        ran,
        source: Box::new(error),
    }
}

/// Reverts one migration and forgets it, in one transaction unless it opts out.
fn unapply(conn: &mut Connection, migration: &dyn Migration) -> Result<bool> {
    let name = migration.name();
    let work = |conn: &mut Connection| -> Result<bool> {
        if !ledger::is_recorded(conn, name)? {
            return Ok(false);
        }
        let mut schema = Schema::new(conn);
        migration.down(&mut schema)?;
        ledger::forget(conn, name)?;
        Ok(true)
    };
    let result = if migration.transactional() && conn.dialect().transactional_ddl() {
        in_transaction(conn, true, work)
    } else if !conn.dialect().transactional_ddl() {
        return unapply_marked(conn, migration);
    } else {
        work(conn)
    };
    result.map_err(|e| failed(name, e))
}

/// [`unapply`] where DDL commits implicitly (MySQL): a `down` that fails after some of
/// its statements ran leaves the row marked as partly applied (the statements of `down`
/// that ran), so that nothing goes on until it is resolved; rather than `Applied` over
/// a schema half reverted, which the next rollback would fail on at its first statement.
fn unapply_marked(conn: &mut Connection, migration: &dyn Migration) -> Result<bool> {
    let name = migration.name();
    if !ledger::is_recorded(conn, name).map_err(|e| failed(name, e))? {
        return Ok(false);
    }
    let mut schema = Schema::new(conn);
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| migration.down(&mut schema)));
    let ran = schema.statements().len();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(panic) => {
            if ran > 0 {
                mark_how_far(conn, name, ran);
            }
            std::panic::resume_unwind(panic);
        }
    };
    match outcome {
        Ok(()) => {
            ledger::forget(conn, name).map_err(|e| failed(name, e))?;
            Ok(true)
        }
        Err(e) => {
            if ran > 0 {
                mark_how_far(conn, name, ran);
            }
            Err(partially(name, false, ran, failed(name, e)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_is_stable_and_sensitive() {
        let a = checksum(&["CREATE TABLE a (x INTEGER)".to_owned()]);
        assert_eq!(a, checksum(&["CREATE TABLE a (x INTEGER)".to_owned()]));
        assert_ne!(a, checksum(&["CREATE TABLE a (y INTEGER)".to_owned()]));
        assert_eq!(a.len(), 16);
    }
}
