//! # orm-core
//!
//! An active-record ORM for Rust in the tradition of Orator and Eloquent: configure a
//! connection once, then run SQL and transactions without threading a connection through
//! every call. SQLite (embedded, the default) and PostgreSQL sit behind one API; the
//! dialect is the only place SQL syntax lives, and every value is a bound parameter.
//!
//! ```
//! use orm_core::prelude::*;
//!
//! DB::connect("sqlite::memory:")?;
//! DB::statement("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, votes INTEGER)")?;
//! DB::transaction(|| {
//!     DB::insert("INSERT INTO users (name, votes) VALUES (?, ?)", &[&"Ada", &120])?;
//!     DB::insert("INSERT INTO users (name, votes) VALUES (?, ?)", &[&"Grace", &80])?;
//!     Ok(())
//! })?;
//! let popular = DB::select("SELECT name FROM users WHERE votes > ? ORDER BY name", &[&100])?;
//! assert_eq!(popular.len(), 1);
//! assert_eq!(popular[0].get::<String, _>("name")?, "Ada");
//!
//! // Constraint violations are typed.
//! DB::statement("CREATE UNIQUE INDEX users_name_unique ON users (name)")?;
//! let err = DB::insert("INSERT INTO users (name) VALUES (?)", &[&"Ada"]).unwrap_err();
//! assert!(matches!(err, Error::UniqueViolation { .. }));
//! # Ok::<(), orm_core::Error>(())
//! ```
#![deny(missing_docs)]

mod backend;
mod db;
pub mod dialect;
mod error;
mod log;
mod row;
pub mod testing;
mod url;
mod value;

pub use crate::backend::{Connection, Transaction};
pub use crate::db::{
    ConnectionRef, Manager, Pool, PoolConfig, PooledConnection, DB, DEFAULT_CONNECTION,
};
pub use crate::dialect::{Backend, Dialect};
pub use crate::error::{ConstraintKind, Error, Result};
pub use crate::log::LoggedQuery;
pub use crate::row::{Record, Row, RowIndex};
pub use crate::url::ConnectOptions;
pub use crate::value::{DecodeError, FromValue, ToValue, Value, ValueRef};

/// Chrono's date and time types, re-exported for model fields.
pub use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// Everything an application usually needs: `use orm_core::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Connection, DateTime, Error, NaiveDate, NaiveDateTime, NaiveTime, Record, Result, ToValue,
        Utc, Value, DB,
    };
}

#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
