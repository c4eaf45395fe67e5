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
//!
//! The modules are layered, each importing only those below it: values and errors
//! (`value`, `error`), the dialect (`dialect/`, the only writer of SQL syntax), rows
//! (`row`), the drivers (`backend/`), the executor (`db`: `DB`, pools, connection
//! scopes), the query builder (`query/`, which knows nothing of models), models
//! (`model/`), relations (`relation/`) and `testing`, with no import cycles (a test
//! reads the source to hold it). The repository's `docs/12-architecture.md` lists what
//! each layer may import.
#![deny(missing_docs)]

mod after_commit;
mod backend;
mod column_field;
mod db;
#[cfg(feature = "decimal")]
mod decimal;
pub mod dialect;
mod error;
#[cfg(feature = "json")]
mod json;
mod lazy_loading;
mod log;
mod metrics;
mod model;
mod pool;
mod query;
mod relation;
mod replicas;
mod retry;
mod row;
mod state;
pub mod testing;
mod untimed;
mod url;
#[cfg(feature = "uuid")]
mod uuid;
mod value;
mod write_marks;

pub use crate::backend::{Connection, Transaction};
pub use crate::db::{ConnectionRef, Executor, DB, DEFAULT_CONNECTION};
pub use crate::dialect::{Backend, Dialect, IsolationLevel};
pub use crate::error::{ConstraintKind, Error, InvalidQueryKind, Result};
#[cfg(feature = "json")]
pub use crate::json::Json;
pub use crate::log::{LoggedQuery, Role, SQL_TARGET};
pub use crate::metrics::PoolStatus;
pub use crate::model::{
    Model, ModelHooks, ModelMeta, RelationKind, RelationMeta, SchemaProblem, SchemaReport,
    SOFT_DELETES,
};
#[cfg(feature = "pool")]
pub use crate::pool::Manager;
pub use crate::pool::{Pool, PoolConfig, PooledConnection};
pub use crate::query::{Aggregate, Constraint};
pub use crate::query::{
    Continue, Cursor, CursorPaginator, Ident, IntoColumns, JoinClause, Paginator, Query,
    SimplePaginator, CURSOR_PAGE_SIZE,
};
pub use crate::query::{IntoOperator, Operator};
pub use crate::relation::{
    BelongsTo, BelongsToMany, HasMany, HasManyThrough, HasOne, HasOneThrough, Many, ModelRelations,
    MorphMany, MorphOne, MorphTarget, MorphTo, MorphToMany, MorphedByMany, One, SyncChanges,
};
pub use crate::replicas::{ReplicaConfig, ReplicaStatus};
pub use crate::retry::Isolated;
pub use crate::row::{FromRow, Record, Row, RowIndex};
pub use crate::state::ModelState;
pub use crate::untimed::without_touching;
pub use crate::url::ConnectOptions;
pub use crate::value::{now, DecodeError, FromValue, ToValue, TypeFamily, Value, ValueRef};
/// `#[derive(DbEnum)]`: a fieldless enum stored in one column (see the `orm-derive` crate).
pub use orm_derive::DbEnum;
/// `#[derive(Model)]`: see the `orm-derive` crate.
pub use orm_derive::Model;
/// `#[derive(MorphTo)]`: the enum of a `morph_to` relation's possible parents (see the
/// `orm-derive` crate).
pub use orm_derive::MorphTo;
/// English inflection of table and key names (the `orm-inflector` crate, which
/// `#[derive(Model)]` and `craft` use too): `User` → `users`, `movies` → `movie`.
pub use orm_inflector as inflector;
/// `serde_json`, whose `Value` JSON columns read into (so an app needs no dependency
/// of its own for them; feature `json`).
#[cfg(feature = "json")]
#[doc(no_inline)]
pub use serde_json;

/// Chrono's date and time types, re-exported for model fields.
pub use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};

/// `rust_decimal`'s exact decimal, re-exported for model fields (feature `decimal`).
#[cfg(feature = "decimal")]
pub use rust_decimal::Decimal;

/// `uuid`'s UUID, re-exported for model fields (feature `uuid`).
#[cfg(feature = "uuid")]
pub use ::uuid::Uuid;

/// Everything an application usually needs: `use orm_core::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "decimal")]
    pub use crate::Decimal;
    #[cfg(feature = "json")]
    pub use crate::Json;
    pub use crate::Operator;
    #[cfg(feature = "uuid")]
    pub use crate::Uuid;
    pub use crate::{
        row, Aggregate, BelongsTo, BelongsToMany, Connection, DateTime, DbEnum, Error, Executor,
        FromRow, HasMany, HasManyThrough, HasOne, HasOneThrough, InvalidQueryKind, IsolationLevel,
        Model, ModelHooks, ModelRelations, ModelState, MorphMany, MorphOne, MorphTarget, MorphTo,
        MorphToMany, MorphedByMany, NaiveDate, NaiveDateTime, NaiveTime, Query, Record, Result,
        ToValue, Utc, Value, DB,
    };
}

#[doc(hidden)]
pub mod __private {
    /// The derives' `serde::Serialize` impls go through this: kept with feature `json`,
    /// dropped without it (a proc macro cannot see its caller's features).
    pub use crate::__with_json as with_json;
    pub use crate::column_field::{ColumnField, NotSerialized, Serialized};
    pub use crate::db::holding_name;
    pub use crate::model::RelationCache;
    pub use crate::model::{global_scopes_of, loaded, remember_connection, RelationSlot, SqlCache};
    pub use crate::query::EagerRelation;
    pub use crate::relation::{
        constrain, load_belongs_to, load_many, load_morph_to, load_one, morph_load, morph_to_lazy,
        relation_query, PushLoaded,
    };
    #[cfg(feature = "uuid")]
    pub use crate::uuid::new_key as new_uuid_key;
    pub use crate::value::{Bind, Binds};
    #[cfg(feature = "json")]
    pub use serde;
}

#[cfg(feature = "json")]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_json {
    ($($item:tt)*) => { $($item)* };
}

#[cfg(not(feature = "json"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __with_json {
    ($($item:tt)*) => {};
}
