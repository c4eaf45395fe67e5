//! The one error type of orm-core.

use std::fmt;

/// The kind of a constraint the database refused a write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConstraintKind {
    /// A UNIQUE or PRIMARY KEY constraint.
    Unique,
    /// A FOREIGN KEY constraint.
    ForeignKey,
    /// A NOT NULL constraint.
    NotNull,
    /// A CHECK constraint.
    Check,
}

impl fmt::Display for ConstraintKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConstraintKind::Unique => "unique",
            ConstraintKind::ForeignKey => "foreign key",
            ConstraintKind::NotNull => "not null",
            ConstraintKind::Check => "check",
        })
    }
}

/// Everything that can go wrong in orm-core.
///
/// Constraint violations have a variant each ([`Error::UniqueViolation`], ...) and
/// [`Error::constraint_kind`] tells them apart generically.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A connection could not be opened or was lost. Never contains a password.
    #[error("connection error: {message}")]
    Connection {
        /// What went wrong.
        message: String,
    },
    /// A connection URL or configuration value is not valid.
    #[error("configuration error: {0}")]
    Config(String),
    /// No connection is configured under that name.
    #[error(
        "no database connection named `{0}` is configured (call DB::connect or DB::from_env first)"
    )]
    NoConnection(String),
    /// A row was required but none matched.
    #[error("no {model} found for {key}")]
    NotFound {
        /// The model (or table) that was searched.
        model: String,
        /// The key or condition searched for.
        key: String,
    },
    /// A model with a version column (`#[model(version)]`) was changed by someone else
    /// since it was read: its row's version is no longer the one the model holds, so
    /// the write was refused (nothing was written). Refresh the model and retry.
    #[error("{model} with {key} was changed by someone else since it was read (stale version)")]
    StaleModel {
        /// The model.
        model: String,
        /// The key of its row (`id = 7`).
        key: String,
    },
    /// More rows matched than the call allows (e.g. `sole`).
    #[error("expected exactly one row, found {found}")]
    MultipleRows {
        /// How many rows were found (at least 2).
        found: u64,
    },
    /// A UNIQUE or PRIMARY KEY constraint was violated.
    #[error("unique constraint violated: {message}")]
    UniqueViolation {
        /// The database's message.
        message: String,
        /// The statement that failed.
        sql: Option<String>,
    },
    /// A FOREIGN KEY constraint was violated.
    #[error("foreign key constraint violated: {message}")]
    ForeignKeyViolation {
        /// The database's message.
        message: String,
        /// The statement that failed.
        sql: Option<String>,
    },
    /// A NOT NULL constraint was violated.
    #[error("not null constraint violated: {message}")]
    NotNullViolation {
        /// The database's message.
        message: String,
        /// The statement that failed.
        sql: Option<String>,
    },
    /// A CHECK constraint was violated.
    #[error("check constraint violated: {message}")]
    CheckViolation {
        /// The database's message.
        message: String,
        /// The statement that failed.
        sql: Option<String>,
    },
    /// The database is busy or locked (SQLite busy timeout expired, PostgreSQL lock
    /// not available, deadlock or serialization failure); the operation may be retried.
    #[error("database busy: {message}")]
    Busy {
        /// The database's message.
        message: String,
        /// The statement that failed.
        sql: Option<String>,
    },
    /// A value read from the database could not be converted to the requested type.
    #[error("cannot decode column `{column}`: expected {expected}, found {found}")]
    Decode {
        /// The column's name (or index when the name is unknown).
        column: String,
        /// The Rust-side type that was asked for.
        expected: String,
        /// What the database held.
        found: String,
    },
    /// A column name or index that the row does not have.
    #[error("no column `{0}` in the result")]
    ColumnNotFound(String),
    /// An identifier that cannot be quoted safely (empty, NUL byte, too long).
    #[error("invalid identifier {identifier:?}: {reason}")]
    InvalidIdentifier {
        /// The identifier as given.
        identifier: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A query that cannot be built (unknown operator, mismatched rows, ...).
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A value cannot be bound to a parameter of the type the database expects.
    #[error("cannot bind parameter: {0}")]
    Bind(String),
    /// The thread's scoped connection is already in use by an enclosing call.
    #[error("the connection `{0}` is in use by an enclosing call on this thread")]
    ConnectionInUse(String),
    /// A model hook refused the write (nothing was written).
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// A relation was read lazily while [`crate::DB::prevent_lazy_loading`] is on: eager
    /// load it (`with`/`load`) instead.
    #[error("lazy loading of relation `{relation}` on model `{model}` is prevented (eager load it with `with(&[\"{relation}\"])`)")]
    LazyLoading {
        /// The parent model.
        model: String,
        /// The relation.
        relation: String,
    },
    /// A relation name the model does not declare.
    #[error("model `{model}` has no relation `{relation}`")]
    UnknownRelation {
        /// The model.
        model: String,
        /// The relation asked for.
        relation: String,
    },
    /// A statement failed inside a PostgreSQL transaction, which made the server abort
    /// the whole transaction: committing it rolled it back instead. `first` is the first
    /// failure. Wrap a statement that may fail in a nested `DB::transaction` (a savepoint)
    /// to keep the rest of the transaction.
    #[error("the transaction was rolled back because a statement in it failed: {first}")]
    TransactionAborted {
        /// The first statement failure of the transaction (or savepoint).
        #[source]
        first: Box<Error>,
    },
    /// Any other error reported by the database.
    #[error("database error: {message}{}", sql.as_deref().map(|s| format!(" (in `{s}`)")).unwrap_or_default())]
    Database {
        /// The database's message.
        message: String,
        /// The SQLSTATE (PostgreSQL) or extended result code (SQLite), when known.
        code: Option<String>,
        /// The statement that failed.
        sql: Option<String>,
    },
    /// A model could not be serialized (a field's `Serialize` impl refused it, e.g. a
    /// map with non-string keys for JSON); the serializer's error is the `source()`.
    #[error("cannot serialize the model: {0}")]
    Serialization(#[source] serde_json::Error),
}

impl Error {
    /// The kind of constraint violated, if this is a constraint violation.
    pub fn constraint_kind(&self) -> Option<ConstraintKind> {
        match self {
            Error::UniqueViolation { .. } => Some(ConstraintKind::Unique),
            Error::ForeignKeyViolation { .. } => Some(ConstraintKind::ForeignKey),
            Error::NotNullViolation { .. } => Some(ConstraintKind::NotNull),
            Error::CheckViolation { .. } => Some(ConstraintKind::Check),
            _ => None,
        }
    }

    /// Whether retrying the operation may succeed (busy, locked, deadlock).
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Busy { .. })
    }

    /// The SQL statement that failed, when it is attached.
    pub fn sql(&self) -> Option<&str> {
        match self {
            Error::UniqueViolation { sql, .. }
            | Error::ForeignKeyViolation { sql, .. }
            | Error::NotNullViolation { sql, .. }
            | Error::CheckViolation { sql, .. }
            | Error::Busy { sql, .. }
            | Error::Database { sql, .. } => sql.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn constraint(kind: ConstraintKind, message: String, sql: Option<String>) -> Error {
        match kind {
            ConstraintKind::Unique => Error::UniqueViolation { message, sql },
            ConstraintKind::ForeignKey => Error::ForeignKeyViolation { message, sql },
            ConstraintKind::NotNull => Error::NotNullViolation { message, sql },
            ConstraintKind::Check => Error::CheckViolation { message, sql },
        }
    }

    /// A copy of a statement failure, kept to report it again when the transaction it
    /// aborted is committed.
    pub(crate) fn duplicate_failure(&self) -> Error {
        match (self, self.constraint_kind()) {
            (
                Error::UniqueViolation { message, sql }
                | Error::ForeignKeyViolation { message, sql }
                | Error::NotNullViolation { message, sql }
                | Error::CheckViolation { message, sql },
                Some(kind),
            ) => Error::constraint(kind, message.clone(), sql.clone()),
            (Error::Busy { message, sql }, _) => Error::Busy {
                message: message.clone(),
                sql: sql.clone(),
            },
            (Error::Database { message, code, sql }, _) => Error::Database {
                message: message.clone(),
                code: code.clone(),
                sql: sql.clone(),
            },
            (other, _) => Error::Database {
                message: other.to_string(),
                code: None,
                sql: None,
            },
        }
    }

    /// Attaches the failing SQL to errors that carry it, when not yet attached.
    pub(crate) fn with_sql(mut self, statement: &str) -> Error {
        match &mut self {
            Error::UniqueViolation { sql, .. }
            | Error::ForeignKeyViolation { sql, .. }
            | Error::NotNullViolation { sql, .. }
            | Error::CheckViolation { sql, .. }
            | Error::Busy { sql, .. }
            | Error::Database { sql, .. }
                if sql.is_none() =>
            {
                *sql = Some(statement.to_owned());
            }
            _ => {}
        }
        self
    }
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
