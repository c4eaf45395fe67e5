//! What `#[derive(Model)]` emits for a relation field: `RelationMeta`, its kind and cached
//! keys. Metadata of the model that declares it (`ModelMeta::relations`); the relation
//! layer (`crate::relation`) reads it to build relation queries.

use std::sync::OnceLock;

use orm_inflector::singularize;

use super::ModelMeta;
use crate::error::{Error, Result};
use crate::query::Query;
use crate::row::Record;

/// The kind of a relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RelationKind {
    /// The related table holds a key to this model; at most one row.
    HasOne,
    /// The related table holds a key to this model.
    HasMany,
    /// This model holds a key to the related table.
    BelongsTo,
    /// A pivot table links both.
    BelongsToMany,
    /// Related rows reached through an intermediate table (`country → users → posts`).
    HasManyThrough,
    /// [`RelationKind::HasManyThrough`] with at most one row.
    HasOneThrough,
    /// Polymorphic has-one: the related table holds this model's key and morph name
    /// (`images.imageable_id`, `images.imageable_type`); at most one row.
    MorphOne,
    /// Polymorphic has-many (`comments.commentable_id`, `comments.commentable_type`).
    MorphMany,
    /// The inverse of a polymorphic has-one/many: this model holds the key and the
    /// morph name of its parent, which may be any of several models.
    MorphTo,
    /// Polymorphic many-to-many from the owning side: a pivot (`taggables`) links this
    /// model (`taggable_id`, `taggable_type`) to the related one (`tag_id`).
    MorphToMany,
    /// The inverse of [`RelationKind::MorphToMany`]: from the tag, the posts (the pivot
    /// rows whose type is the related model's morph name).
    MorphedByMany,
}

impl RelationKind {
    /// Whether a pivot table links both sides (belongs to many and the two polymorphic
    /// many-to-many kinds).
    pub fn has_pivot(self) -> bool {
        matches!(
            self,
            RelationKind::BelongsToMany | RelationKind::MorphToMany | RelationKind::MorphedByMany
        )
    }
}

/// A relation declared on a model (emitted by `#[derive(Model)]`).
///
/// Key columns per kind (defaults in parentheses, for `User` ↔ `Post`/`Role`, `Country` →
/// `User` → `Post`):
/// - has one / has many: `foreign_key` on the related table (default `user_id`), `local_key` on
///   this table (default: its primary key);
/// - belongs to: `foreign_key` on this table (default `user_id`), `local_key` = the owner's key on
///   the related table (default: its primary key);
/// - belongs to many: `pivot_table` (default: the two singular table names in
///   alphabetical order, `role_user`), `foreign_key` = the pivot column pointing here (default `user_id`),
///   `related_key` = the pivot column pointing to the related table (default `role_id`);
/// - has many / one through: `foreign_key` = the intermediate table's column pointing here
///   (default `country_id`), `related_key` = the related table's column pointing to the
///   intermediate one (default `user_id`);
/// - morph one / morph many (`name = "commentable"`): `foreign_key` on the related table
///   (`commentable_id`), `morph_type` beside it (`commentable_type`), holding this model's
///   [`ModelMeta::morph_name`];
/// - morph to: `foreign_key` (`commentable_id`) and `morph_type` (`commentable_type`) on
///   this table; the possible parents are `morph_targets` (`related` is this model);
/// - morph to many / morphed by many (`name = "taggable"`): `pivot_table` (default
///   `taggables`), `morph_type` the pivot's type column (`taggable_type`); from the owner
///   (`Post`) `foreign_key` = `taggable_id`, `related_key` = `tag_id`; from the tag,
///   the other way round.
#[derive(Debug)]
pub struct RelationMeta {
    /// The relation's name (the field name).
    pub name: &'static str,
    /// Its kind.
    pub kind: RelationKind,
    /// The model declaring it.
    pub parent: fn() -> &'static ModelMeta,
    /// The related model.
    pub related: fn() -> &'static ModelMeta,
    /// The intermediate model of a through relation.
    pub through: Option<fn() -> &'static ModelMeta>,
    /// See the type's documentation.
    pub foreign_key: &'static str,
    /// See the type's documentation (`""` when unused).
    pub related_key: &'static str,
    /// See the type's documentation (`None`: a primary key).
    pub local_key: Option<&'static str>,
    /// The column a link points at on the far side (`None`: that table's primary key):
    /// for the pivot kinds, the related table's column the pivot's `related_key` holds
    /// (Eloquent's `relatedKey`); for the through kinds, the intermediate table's column
    /// the related table's `related_key` holds (Eloquent's `secondLocalKey`).
    pub linked_key: Option<&'static str>,
    /// The pivot table of a belongs-to-many relation (`None`: the default name).
    pub pivot_table: Option<&'static str>,
    /// Whether `attach` stamps `created_at`/`updated_at` on pivot rows.
    pub pivot_timestamps: bool,
    /// The pivot columns read with the related models (`with_pivot = ["active"]`): by
    /// eager loading (`Many::pivots`) and `get_with_pivot`.
    pub pivot_columns: &'static [&'static str],
    /// For belongs-to: whether saving or deleting this model stamps the owner's
    /// `updated_at` (`#[model(belongs_to(Post, touch))]`, Eloquent's `$touches`).
    pub touch: bool,
    /// The type column of a polymorphic relation (`""` when unused).
    pub morph_type: &'static str,
    /// For morph to: the models the parent may be (the `#[derive(MorphTo)]` enum's).
    pub morph_targets: &'static [fn() -> &'static ModelMeta],
    /// What the relation's query always adds (`#[model(has_one(Post, constrain =
    /// Post::latest_first))]`): applied by lazy reads, eager loading, `has` and counts.
    pub constraint: Option<fn(Query<Record>) -> Query<Record>>,
    #[doc(hidden)]
    pub cache: RelationCache,
}

/// Names computed once per relation.
#[doc(hidden)]
#[derive(Debug)]
pub struct RelationCache {
    pub(crate) pivot_table: OnceLock<String>,
}

impl RelationCache {
    /// An empty cache (usable in a `static`).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> RelationCache {
        RelationCache {
            pivot_table: OnceLock::new(),
        }
    }
}

impl RelationMeta {
    /// The column on this model's table that the relation matches on.
    pub fn parent_column(&self) -> &'static str {
        match self.kind {
            RelationKind::BelongsTo | RelationKind::MorphTo => self.foreign_key,
            _ => self.local_key.unwrap_or((self.parent)().primary_key),
        }
    }

    /// The column [`RelationMeta::linked_key`] names, or the far table's primary key:
    /// the related table's for the pivot kinds, the intermediate table's for the through
    /// kinds (unused by the others).
    pub(crate) fn linked_column(&self) -> &'static str {
        self.linked_key.unwrap_or_else(|| match self.kind {
            RelationKind::HasManyThrough | RelationKind::HasOneThrough => {
                self.through_meta().primary_key
            }
            _ => (self.related)().primary_key,
        })
    }

    /// For belongs-to: the owner's key column on the related table.
    pub(crate) fn owner_key(&self) -> &'static str {
        self.local_key.unwrap_or((self.related)().primary_key)
    }

    /// The morph name a polymorphic relation's type column holds for its rows: the
    /// parent's for morph one/many and morph to many, the related model's for morphed by
    /// many (`None` for other kinds).
    pub fn morph_value(&self) -> Option<&'static str> {
        match self.kind {
            RelationKind::MorphOne | RelationKind::MorphMany | RelationKind::MorphToMany => {
                Some((self.parent)().morph_name)
            }
            RelationKind::MorphedByMany => Some((self.related)().morph_name),
            _ => None,
        }
    }

    /// The pivot table of a belongs-to-many relation.
    pub fn pivot(&'static self) -> &'static str {
        if let Some(table) = self.pivot_table {
            return table;
        }
        self.cache.pivot_table.get_or_init(|| {
            let mut names = [
                singularize((self.parent)().table),
                singularize((self.related)().table),
            ];
            names.sort();
            names.join("_")
        })
    }

    /// The pivot columns eager loading reads: the declared ones, the timestamps, and
    /// the two keys; none when the relation declares neither columns nor timestamps.
    pub(crate) fn eager_pivot_columns(&self) -> Vec<&'static str> {
        if !self.kind.has_pivot() || (self.pivot_columns.is_empty() && !self.pivot_timestamps) {
            return Vec::new();
        }
        let mut columns = vec![self.foreign_key, self.related_key];
        columns.extend(self.pivot_columns);
        if self.pivot_timestamps {
            columns.extend(["created_at", "updated_at"]);
        }
        columns
    }

    pub(crate) fn through_meta(&self) -> &'static ModelMeta {
        (self
            .through
            .expect("a through relation names its intermediate model"))()
    }
}

impl ModelMeta {
    /// The relation named `name`, or [`Error::UnknownRelation`].
    pub fn relation(&'static self, name: &str) -> Result<&'static RelationMeta> {
        self.relations
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Error::UnknownRelation {
                model: self.name.to_owned(),
                relation: name.to_owned(),
            })
    }
}
