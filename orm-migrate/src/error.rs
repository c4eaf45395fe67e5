//! The one error type of orm-migrate.

/// Everything that can go wrong while building schemas or migrating.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error from the database or from orm-core.
    #[error(transparent)]
    Database(#[from] orm_core::Error),
    /// A foreign key action that is not one of `cascade`, `restrict`, `set null`,
    /// `set default`, `no action`.
    #[error(
        "invalid foreign key action `{action}` on table `{table}`: expected cascade, restrict, \
         set null, set default or no action"
    )]
    InvalidForeignKeyAction {
        /// The table whose blueprint held the foreign key.
        table: String,
        /// The action as given.
        action: String,
    },
    /// A blueprint that cannot be turned into DDL (missing referenced table, an
    /// operation that makes no sense when creating a table, ...).
    #[error("invalid schema for table `{table}`: {message}")]
    InvalidBlueprint {
        /// The table.
        table: String,
        /// What is wrong.
        message: String,
    },
    /// A SQLite table rebuild that cannot be done safely where it was asked for.
    #[error("cannot rebuild SQLite table `{table}`: {reason}")]
    RebuildRefused {
        /// The table.
        table: String,
        /// Why.
        reason: String,
    },
    /// `drop`/`drop_if_exists` of a table other tables' foreign keys reference, on
    /// SQLite (whose `DROP TABLE` would delete the rows first, cascading into them);
    /// PostgreSQL and MySQL refuse it themselves, and their refusal is reported as this
    /// error too. Nothing was dropped or deleted.
    #[error(
        "cannot drop table `{table}`: {} {} a foreign key referencing it; drop {} or \
         {} foreign key first",
        referenced_by.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", "),
        if referenced_by.len() == 1 { "has" } else { "have" },
        if referenced_by.len() == 1 { "that table" } else { "those tables" },
        if referenced_by.len() == 1 { "its" } else { "their" }
    )]
    TableReferenced {
        /// The table asked to be dropped.
        table: String,
        /// The other tables referencing it.
        referenced_by: Vec<String>,
    },
    /// Rows violate foreign keys after a change (SQLite's `PRAGMA foreign_key_check`).
    #[error("{violations} row(s) violate foreign keys after changing table `{table}`")]
    ForeignKeyCheckFailed {
        /// The changed table (or `*` after a migration).
        table: String,
        /// How many violating rows were found.
        violations: usize,
    },
    /// A migration failed; nothing of it was kept.
    #[error(
        "migration `{migration}` failed{}: {source}",
        at_statement(statement, source)
    )]
    MigrationFailed {
        /// The migration's name.
        migration: String,
        /// The statement that failed, when known.
        statement: Option<String>,
        /// The error.
        #[source]
        source: Box<Error>,
    },
    /// A migration failed on a database whose DDL is not transactional (MySQL): the
    /// statements before the failing one ran and stay applied, and the migration is not
    /// recorded as applied. Undo (or finish) them by hand before migrating again.
    #[error(
        "migration `{migration}` partially applied: {} ran before it failed and stay \
         applied (MySQL commits DDL implicitly); undo them by hand, then migrate again. The \
         failure: {source}",
        match ran { 1 => "its first statement".to_owned(), n => format!("its first {n} statements") }
    )]
    PartiallyApplied {
        /// The migration's name.
        migration: String,
        /// How many of its statements ran.
        ran: usize,
        /// The failure.
        #[source]
        source: Box<Error>,
    },
    /// The ledger holds a migration that only partly ran (MySQL, see
    /// [`Error::PartiallyApplied`]), or that a migrator started and never finished (it
    /// was killed: `ran` is 0, how far it got is unknown): nothing runs or rolls back
    /// until it is resolved with `Migrator::resolve` (`craft migrate:resolve NAME
    /// --applied|--rolled-back`).
    #[error(
        "migration `{migration}` was {}; undo or finish it by hand, then run `craft \
         migrate:resolve {migration} --rolled-back` (or `--applied`)",
        unresolved_extent(*ran)
    )]
    UnresolvedMigration {
        /// The migration's name.
        migration: String,
        /// How many of its statements ran (0: the migrator stopped mid-way, unknown).
        ran: usize,
    },
    /// `Migrator::resolve` for a migration the ledger does not hold as partially applied.
    #[error("migration `{0}` is not recorded as partially applied: nothing to resolve")]
    NothingToResolve(String),
    /// An applied migration whose SQL has changed since it ran.
    #[error(
        "migration `{migration}` changed after it was applied (checksum {recorded} recorded, \
         {current} now); restore it, or roll it back and migrate again to apply the change \
         (`migrate --force`, `RunOptions::force`, runs the pending ones and leaves it as it ran)"
    )]
    ChecksumMismatch {
        /// The migration's name.
        migration: String,
        /// The checksum in the ledger.
        recorded: String,
        /// The checksum of its SQL now.
        current: String,
    },
    /// A migration in the ledger that the code no longer has.
    #[error(
        "migration `{0}` is recorded as applied but missing from the code: restore it to roll \
         it back (`migrate --force`, `RunOptions::force`, only migrates past it)"
    )]
    MissingMigration(String),
    /// Two migrations with the same name.
    #[error("two migrations are named `{0}`")]
    DuplicateMigration(String),
    /// The ledger table exists but another tool made it (Laravel's, Orator's or
    /// Masonite's `migrations` table has no checksums): nothing was read or changed.
    #[error(
        "table `{table}` exists but is not this migrator's ledger (it has no {} column{}: \
         another tool, such as Laravel, Orator or Masonite, made it); rename it (e.g. \
         `ALTER TABLE {table} RENAME TO old_{table}`) and migrate again: the tables it \
         recorded are left as they are",
        missing.join(", "),
        if missing.len() == 1 { "" } else { "s" }
    )]
    ForeignLedger {
        /// The ledger table's name.
        table: String,
        /// The ledger columns it lacks (`checksum`, `applied_at`).
        missing: Vec<String>,
    },
    /// A seeder failed; its transaction was rolled back.
    #[error("seeder `{seeder}` failed: {source}")]
    SeederFailed {
        /// The seeder's name (the innermost one that failed).
        seeder: String,
        /// The error.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The SQL statement that failed, when known.
    pub fn statement(&self) -> Option<&str> {
        match self {
            Error::Database(e) => e.sql(),
            Error::MigrationFailed { statement, .. } => statement.as_deref(),
            Error::SeederFailed { source, .. } => source.statement(),
            Error::PartiallyApplied { source, .. } => source.statement(),
            _ => None,
        }
    }
}

/// `Result` with orm-migrate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How far an unresolved migration ran, for its message.
fn unresolved_extent(ran: usize) -> String {
    match ran {
        0 => "started but never finished (the migrator stopped: some of its statements may \
              have run)"
            .to_owned(),
        ran => format!("partially applied (statements 1-{ran} ran)"),
    }
}

/// ` at `STATEMENT`` for a failed migration's message, unless its error already names
/// the statement (a database error does: `(in `...`)`), so the line shows it once.
fn at_statement(statement: &Option<String>, source: &Error) -> String {
    match statement {
        Some(statement) if !source.to_string().contains(statement.as_str()) => {
            format!(" at `{statement}`")
        }
        _ => String::new(),
    }
}
