//! The one error type of orm-core.

use std::fmt;

/// The driver's own error (rusqlite's, postgres', r2d2's), kept as the `source()` of the
/// variant that reports it.
type DriverError = Box<dyn std::error::Error + Send + Sync>;

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
    #[non_exhaustive]
    Connection {
        /// What went wrong.
        message: String,
        /// The driver's error, when one caused it.
        #[source]
        source: Option<DriverError>,
    },
    /// A connection URL or configuration value is not valid.
    #[error("configuration error: {0}")]
    Config(String),
    /// The URL names a database whose support this build of orm-core leaves out: enable
    /// the feature named.
    #[error("{url} support is not compiled in: enable orm-core's `{feature}` feature")]
    #[non_exhaustive]
    BackendNotCompiled {
        /// The connection URL, without its password.
        url: String,
        /// The orm-core feature that adds the database: `sqlite`, `postgres` or `mysql`.
        feature: &'static str,
    },
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
    ///
    /// See [`Error::CheckViolation`] for the fields.
    #[error("unique constraint violated: {message}")]
    #[non_exhaustive]
    UniqueViolation {
        /// The database's message.
        message: String,
        /// The constraint's name, when the database reports it.
        constraint: Option<String>,
        /// The constrained columns, when the database reports them.
        columns: Vec<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
    },
    /// A FOREIGN KEY constraint was violated.
    ///
    /// See [`Error::CheckViolation`] for the fields.
    #[error("foreign key constraint violated: {message}")]
    #[non_exhaustive]
    ForeignKeyViolation {
        /// The database's message.
        message: String,
        /// The constraint's name, when the database reports it.
        constraint: Option<String>,
        /// The constrained columns, when the database reports them.
        columns: Vec<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
    },
    /// A NOT NULL constraint was violated.
    ///
    /// See [`Error::CheckViolation`] for the fields.
    #[error("not null constraint violated: {message}")]
    #[non_exhaustive]
    NotNullViolation {
        /// The database's message.
        message: String,
        /// The constraint's name, when the database reports it.
        constraint: Option<String>,
        /// The constrained columns, when the database reports them.
        columns: Vec<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
    },
    /// A CHECK constraint was violated.
    ///
    /// The constraint variants carry what the database reports about the constraint:
    ///
    /// | | `constraint` | `columns` |
    /// |---|---|---|
    /// | PostgreSQL | the name (all but NOT NULL) | the column (NOT NULL); the key's columns (UNIQUE, PRIMARY KEY, FOREIGN KEY, from the error's detail; none for an expression index) |
    /// | SQLite | a CHECK's name, when it has one; a unique expression index's name | UNIQUE, PRIMARY KEY and NOT NULL |
    /// | MySQL / MariaDB | the name (UNIQUE: the key's, `PRIMARY` for the primary key; FOREIGN KEY; CHECK) | the column (NOT NULL, FOREIGN KEY); the key's columns (UNIQUE, PRIMARY KEY: read from the catalog after the failure, when the key's table can be told) |
    ///
    /// SQLite names no constraint for a FOREIGN KEY failure. An unnamed SQLite CHECK
    /// whose whole condition is one bare column name is reported as if it were named so.
    #[error("check constraint violated: {message}")]
    #[non_exhaustive]
    CheckViolation {
        /// The database's message.
        message: String,
        /// The constraint's name, when the database reports it.
        constraint: Option<String>,
        /// The constrained columns, when the database reports them.
        columns: Vec<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
    },
    /// The database is busy or locked (SQLite busy timeout expired, PostgreSQL lock
    /// not available, deadlock or serialization failure); the operation may be retried.
    #[error("database busy: {message}")]
    #[non_exhaustive]
    Busy {
        /// The database's message.
        message: String,
        /// The SQLSTATE (PostgreSQL: `40001`, `40P01`, `55P03`), the error number
        /// (MySQL: `1213`, `1205`, `3572`) or the extended result code (SQLite: `5`, `6`, ...).
        code: Option<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
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
    /// A query or schema change that cannot be built or run as asked (an unknown
    /// operator, rows of different columns, a relation used against its kind, ...): it was
    /// refused before anything was sent to the database. `kind` tells the cases apart.
    #[error("invalid query: {message}")]
    #[non_exhaustive]
    InvalidQuery {
        /// Which rule the query broke.
        kind: InvalidQueryKind,
        /// What is wrong, and usually how to fix it.
        message: String,
    },
    /// A value cannot be bound to a parameter of the type the database expects (a text
    /// for an integer column, a date with a time of day, NaN on SQLite, ...).
    #[error("cannot bind parameter: {message}")]
    #[non_exhaustive]
    Bind {
        /// Which parameter, and why.
        message: String,
        /// The driver's error, when the driver refused the value.
        #[source]
        source: Option<DriverError>,
    },
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
    /// A polymorphic relation's type column (`commentable_type`) holds a name that none
    /// of the relation's models carries as its morph name.
    #[error("`{model}.{relation}` holds the type {type_name:?}, which no model of the relation has as its morph name (known: {known})")]
    UnknownMorphType {
        /// The model holding the type column.
        model: String,
        /// The `morph_to` relation.
        relation: String,
        /// The name read from the type column.
        type_name: String,
        /// The morph names the relation knows, comma-separated.
        known: String,
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
    /// The database cancelled the statement: a statement timeout (PostgreSQL's
    /// `statement_timeout`, MariaDB's `max_statement_time`, MySQL's `max_execution_time`)
    /// or a cancel request (`pg_cancel_backend`, `KILL QUERY`). What the statement did is
    /// undone; on PostgreSQL an open transaction is aborted, as after any failure.
    #[error("statement cancelled: {message}{}", sql.as_deref().map(|s| format!(" (in `{s}`)")).unwrap_or_default())]
    #[non_exhaustive]
    StatementCancelled {
        /// The database's message.
        message: String,
        /// The SQLSTATE (PostgreSQL: `57014`) or error number (MySQL/MariaDB: `1317`,
        /// `1969`, `3024`).
        code: Option<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
    },
    /// A value the column or its type cannot hold, refused by the database: text longer
    /// than a `VARCHAR(n)`, a number outside the column's type (or an arithmetic result
    /// outside it), a character the database cannot store (NUL in PostgreSQL text).
    /// Nothing was written. SQLite stores such values as they are.
    #[error("value out of range: {message}{}", sql.as_deref().map(|s| format!(" (in `{s}`)")).unwrap_or_default())]
    #[non_exhaustive]
    ValueOutOfRange {
        /// The database's message (which usually names the column).
        message: String,
        /// The SQLSTATE (PostgreSQL) or error number (MySQL).
        code: Option<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
    },
    /// Any other error reported by the database.
    #[error("database error: {message}{}", sql.as_deref().map(|s| format!(" (in `{s}`)")).unwrap_or_default())]
    #[non_exhaustive]
    Database {
        /// The database's message.
        message: String,
        /// The SQLSTATE (PostgreSQL) or extended result code (SQLite), when known.
        code: Option<String>,
        /// The statement that failed.
        sql: Option<String>,
        /// The driver's error.
        #[source]
        source: Option<DriverError>,
    },
    /// An error of the application's own, returned from a transaction closure or a model
    /// hook to abort it (see [`Error::other`]).
    #[error(transparent)]
    Other(DriverError),
    /// A model could not be serialized (a field's `Serialize` impl refused it, e.g. a
    /// map with non-string keys for JSON); the serializer's error is the `source()`.
    #[cfg(feature = "json")]
    #[error("cannot serialize the model: {0}")]
    Serialization(#[source] serde_json::Error),
}

/// The rule an [`Error::InvalidQuery`] broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidQueryKind {
    /// An unknown comparison operator (`where_("votes", "=>", 1)`).
    Operator,
    /// A `LIKE` pattern the database cannot take (a trailing escape character, too long).
    LikePattern,
    /// An argument out of its range (a chunk size or `per_page` of 0).
    Argument,
    /// Rows to write that do not fit the statement: rows of different columns, a column
    /// twice, an update or upsert with nothing to write by.
    Rows,
    /// Clauses that cannot be combined (an `ORDER BY` inside a union part, `chunk_by_id`
    /// on an ordered query, ...).
    Clauses,
    /// Raw SQL whose `?` placeholders do not match its bindings.
    Placeholders,
    /// A model operation the model cannot do: no primary key value yet, no soft deletes.
    Model,
    /// A relation used against its kind (`attach` on a has-many, `associate` with an
    /// unsaved owner, a write on a relation of an unsaved parent).
    Relation,
    /// A schema change that cannot be made as asked (an unknown column or constraint, a
    /// second primary key, a CHECK that is not one condition, a table with no column).
    Schema,
    /// Something this database does not do (`RETURNING`, schemas, arrays, a column type).
    Unsupported,
    /// A value that cannot be written as an SQL literal (a NUL byte, a non-finite float).
    Literal,
}

impl fmt::Display for InvalidQueryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidQueryKind::Operator => "operator",
            InvalidQueryKind::LikePattern => "like pattern",
            InvalidQueryKind::Argument => "argument",
            InvalidQueryKind::Rows => "rows",
            InvalidQueryKind::Clauses => "clauses",
            InvalidQueryKind::Placeholders => "placeholders",
            InvalidQueryKind::Model => "model",
            InvalidQueryKind::Relation => "relation",
            InvalidQueryKind::Schema => "schema",
            InvalidQueryKind::Unsupported => "unsupported",
            InvalidQueryKind::Literal => "literal",
        })
    }
}

impl Error {
    /// An [`Error::InvalidQuery`] of `kind`.
    pub fn invalid_query(kind: InvalidQueryKind, message: impl Into<String>) -> Error {
        Error::InvalidQuery {
            kind,
            message: message.into(),
        }
    }

    /// An application error ([`Error::Other`]): a message or any error of the caller's,
    /// kept as the `source()`. Returning it from a [`crate::DB::transaction`] closure
    /// rolls the transaction back; from a `creating`/`saving`/... hook, cancels the write.
    ///
    /// ```
    /// use orm_core::Error;
    /// let err = Error::other("a country needs a name");
    /// assert_eq!(err.to_string(), "a country needs a name");
    /// let parse = "x".parse::<i32>().map_err(Error::other).unwrap_err();
    /// assert!(matches!(parse, Error::Other(_)));
    /// ```
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Error {
        Error::Other(error.into())
    }

    /// The rule broken, if this is an [`Error::InvalidQuery`].
    pub fn invalid_query_kind(&self) -> Option<InvalidQueryKind> {
        match self {
            Error::InvalidQuery { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// An [`Error::Bind`] without a driver error.
    pub(crate) fn bind(message: impl Into<String>) -> Error {
        Error::Bind {
            message: message.into(),
            source: None,
        }
    }

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

    /// Whether running the whole transaction again may succeed: a serialization
    /// failure or a deadlock (PostgreSQL `40001`/`40P01`, MySQL/MariaDB `1213`), also
    /// when it aborted a transaction ([`Error::TransactionAborted`]). A lock wait that
    /// timed out is not: it would wait the same again. See
    /// [`crate::DB::transaction_with_retry`].
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Busy {
                code: Some(code), ..
            } => matches!(code.as_str(), "40001" | "40P01" | "1213"),
            Error::TransactionAborted { first } => first.is_retryable(),
            _ => false,
        }
    }

    /// The SQL statement that failed, when it is attached.
    pub fn sql(&self) -> Option<&str> {
        match self {
            Error::UniqueViolation { sql, .. }
            | Error::ForeignKeyViolation { sql, .. }
            | Error::NotNullViolation { sql, .. }
            | Error::CheckViolation { sql, .. }
            | Error::Busy { sql, .. }
            | Error::StatementCancelled { sql, .. }
            | Error::ValueOutOfRange { sql, .. }
            | Error::Database { sql, .. } => sql.as_deref(),
            _ => None,
        }
    }

    /// The constraint's name, for a constraint violation whose database reports it
    /// (see [`Error::CheckViolation`]).
    pub fn constraint_name(&self) -> Option<&str> {
        match self {
            Error::UniqueViolation { constraint, .. }
            | Error::ForeignKeyViolation { constraint, .. }
            | Error::NotNullViolation { constraint, .. }
            | Error::CheckViolation { constraint, .. } => constraint.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn constraint(kind: ConstraintKind, violation: Violation) -> Error {
        let Violation {
            message,
            constraint,
            columns,
            source,
        } = violation;
        let sql = None;
        match kind {
            ConstraintKind::Unique => Error::UniqueViolation {
                message,
                constraint,
                columns,
                sql,
                source,
            },
            ConstraintKind::ForeignKey => Error::ForeignKeyViolation {
                message,
                constraint,
                columns,
                sql,
                source,
            },
            ConstraintKind::NotNull => Error::NotNullViolation {
                message,
                constraint,
                columns,
                sql,
                source,
            },
            ConstraintKind::Check => Error::CheckViolation {
                message,
                constraint,
                columns,
                sql,
                source,
            },
        }
    }

    /// A copy of a statement failure, kept to report it again when the transaction it
    /// aborted is committed. The driver's error cannot be copied: the copy has none
    /// (the failure itself, returned when it happened, keeps it).
    pub(crate) fn duplicate_failure(&self) -> Error {
        match (self, self.constraint_kind()) {
            (
                Error::UniqueViolation {
                    message,
                    constraint,
                    columns,
                    sql,
                    ..
                }
                | Error::ForeignKeyViolation {
                    message,
                    constraint,
                    columns,
                    sql,
                    ..
                }
                | Error::NotNullViolation {
                    message,
                    constraint,
                    columns,
                    sql,
                    ..
                }
                | Error::CheckViolation {
                    message,
                    constraint,
                    columns,
                    sql,
                    ..
                },
                Some(kind),
            ) => {
                let violation = Violation {
                    message: message.clone(),
                    constraint: constraint.clone(),
                    columns: columns.clone(),
                    source: None,
                };
                Error::constraint(kind, violation).with_sql_opt(sql.as_deref())
            }
            (
                Error::Busy {
                    message, code, sql, ..
                },
                _,
            ) => Error::Busy {
                message: message.clone(),
                code: code.clone(),
                sql: sql.clone(),
                source: None,
            },
            (
                Error::StatementCancelled {
                    message, code, sql, ..
                },
                _,
            ) => Error::StatementCancelled {
                message: message.clone(),
                code: code.clone(),
                sql: sql.clone(),
                source: None,
            },
            (
                Error::Database {
                    message, code, sql, ..
                },
                _,
            ) => Error::Database {
                message: message.clone(),
                code: code.clone(),
                sql: sql.clone(),
                source: None,
            },
            (other, _) => Error::Database {
                message: other.to_string(),
                code: None,
                sql: None,
                source: None,
            },
        }
    }

    fn with_sql_opt(self, statement: Option<&str>) -> Error {
        match statement {
            Some(statement) => self.with_sql(statement),
            None => self,
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
            | Error::StatementCancelled { sql, .. }
            | Error::ValueOutOfRange { sql, .. }
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

/// What a backend reports about a violated constraint.
pub(crate) struct Violation {
    pub(crate) message: String,
    pub(crate) constraint: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) source: Option<DriverError>,
}

/// `Result` with [`Error`] as the error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_stay_small() {
        // Every `Result` of the crate carries an `Error`, and clippy's
        // `result_large_err` fires at 128 bytes (120 today: the constraint variants).
        // Box a new variant's payload rather than grow this.
        let size = std::mem::size_of::<Error>();
        assert!(size <= 120, "Error is {size} bytes");
    }
}
