//! `ModelMeta`: what the derive tells the library about a model (table, columns, key, options).

use super::*;
use crate::untimed::timestamps_paused;
use crate::value::TypeFamily;

/// What `#[derive(Model)]` knows about a model: table, columns, key and flags.
#[derive(Debug)]
pub struct ModelMeta {
    /// The model's type name (`User`), used in errors.
    pub name: &'static str,
    /// The table (`users` by default: snake_case plural of the type name).
    pub table: &'static str,
    /// The name stored in the type column of a polymorphic relation (`commentable_type`)
    /// for this model: its table by default, `#[model(morph_name = "post")]` to choose.
    pub morph_name: &'static str,
    /// The primary key column.
    pub primary_key: &'static str,
    /// Position of the primary key in [`ModelMeta::columns`].
    pub primary_key_index: usize,
    /// Whether the database assigns the key (an `Option<integer>` key).
    pub incrementing: bool,
    /// Every column, in field order: the order rows are selected and decoded in.
    pub columns: &'static [&'static str],
    /// Columns left out of serialisation.
    pub hidden: &'static [&'static str],
    /// Position of `created_at` when the model has `timestamps`.
    pub created_at: Option<usize>,
    /// Position of `updated_at` when the model has `timestamps`.
    pub updated_at: Option<usize>,
    /// Position of `deleted_at` when the model has `soft_deletes`.
    pub deleted_at: Option<usize>,
    /// The connection the model uses (`default` unless set).
    pub connection: &'static str,
    /// Whether the model implements its own hooks (`#[model(hooks)]`): mass updates and
    /// deletes then run model by model so the hooks see each one.
    pub hooks: bool,
    /// The relations declared on the model.
    pub relations: &'static [RelationMeta],
    /// Position of the version column (`#[model(version)]`): optimistic locking.
    pub version: Option<usize>,
    /// Positions of the columns whose table default applies while the field is unset
    /// (`#[model(default)]`): left out of the `INSERT`, read back through `RETURNING`.
    /// Always among the first 64 columns (the derive checks it).
    pub defaults: &'static [usize],
    /// Per column, the family of its field's type and whether the field reads NULL
    /// (compared with the live table by `Model::check_schema`).
    pub column_types: &'static [(TypeFamily, bool)],
    /// The model's global scopes ([`crate::ModelHooks::global_scopes`]) for a query that
    /// reads its rows without its type (`has`, `where_has`, `with_count`); `None` without
    /// `#[model(hooks)]`.
    #[doc(hidden)]
    pub scopes: Option<fn(Query<Record>) -> Query<Record>>,
    #[doc(hidden)]
    pub sql: SqlCache,
}

impl ModelMeta {
    /// Every column as `table.column`, in decode order (computed once).
    pub fn qualified_columns(&'static self) -> &'static [String] {
        self.sql.qualified_columns.get_or_init(|| {
            self.columns
                .iter()
                .map(|c| format!("{}.{c}", self.table))
                .collect()
        })
    }

    pub(super) fn qualified_deleted_at(&'static self) -> Option<&'static str> {
        let i = self.deleted_at?;
        Some(
            self.sql
                .qualified_deleted_at
                .get_or_init(|| format!("{}.{}", self.table, self.columns[i])),
        )
    }

    /// Whether the model has `created_at`/`updated_at` maintained automatically.
    pub fn timestamps(&self) -> bool {
        self.updated_at.is_some()
    }

    /// `created_at`'s position when writes stamp it now: the model has timestamps and
    /// [`Model::without_timestamps`] does not pause them on this thread.
    pub(crate) fn stamped_created_at(&self) -> Option<usize> {
        self.created_at.filter(|_| !timestamps_paused(self.name))
    }

    /// `updated_at`'s position when writes stamp it now (see
    /// [`ModelMeta::stamped_created_at`]).
    pub(crate) fn stamped_updated_at(&self) -> Option<usize> {
        self.updated_at.filter(|_| !timestamps_paused(self.name))
    }

    /// Whether deletes are soft (set `deleted_at`) and trashed rows hidden by default.
    pub fn soft_deletes(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// The name of the column at `index`.
    pub fn column(&self, index: usize) -> &'static str {
        self.columns[index]
    }
}
