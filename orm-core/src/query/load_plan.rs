//! The eager-loading plan a query carries: relation paths (`posts.comments`), their
//! constraints and counts. Plain data: the relation layer runs it after the rows load.

use std::sync::Arc;

use super::clause::Parts;
use super::{clone_list, Query};
use crate::row::Record;

/// A constraint on an eager-loaded relation (`with_where`).
pub type Constraint = Arc<dyn Fn(Query<Record>) -> Query<Record> + Send + Sync>;

/// The relations (and counts) to load after a query.
#[doc(hidden)]
#[derive(Default)]
pub struct LoadPlan {
    pub(crate) relations: Vec<EagerRelation>,
    /// The relations to count (`with_count`, `with_count_where`), with their constraints.
    pub(crate) counts: Vec<(String, Option<Constraint>)>,
    /// The relations to test for any row (`with_exists`, `with_exists_where`).
    pub(crate) exists: Vec<(String, Option<Constraint>)>,
    /// The relations' columns to aggregate (`with_sum`, `with_aggregate_where`, ...).
    pub(crate) aggregates: Vec<AggregateRequest>,
    /// The counts' aliases (`posts_count`) and the subqueries that count them, for an
    /// `order_by` of the alias (Eloquent's `withCount('posts')->orderBy('posts_count')`).
    pub(crate) count_orders: Vec<(String, Parts)>,
}

/// An aggregate of a relation's column, loaded per parent by `with_sum`, `with_avg`,
/// `with_min` and `with_max` (Eloquent's `withSum`, ...) and read from the relation
/// field: `user.posts.sum("votes")`, `user.posts.aggregate(Aggregate::Max, "votes")`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Aggregate {
    /// `SUM(column)`, as a float (as [`Query::sum`]).
    Sum,
    /// `AVG(column)`, as a float (as [`Query::avg`]).
    Avg,
    /// `MIN(column)`, in the column's own type.
    Min,
    /// `MAX(column)`, in the column's own type.
    Max,
    /// `COUNT(*)` of the related rows, under the name given in place of the column
    /// ([`Query::with_count_as`]): Eloquent's `withCount('posts as drafts_count')`.
    Count,
}

impl Aggregate {
    /// The SQL function.
    pub(crate) fn function(self) -> &'static str {
        match self {
            Aggregate::Sum => "SUM",
            Aggregate::Avg => "AVG",
            Aggregate::Min => "MIN",
            Aggregate::Max => "MAX",
            Aggregate::Count => "COUNT",
        }
    }

    /// Whether the result is cast to a float, so it reads the same on every backend.
    pub(crate) fn is_float(self) -> bool {
        matches!(self, Aggregate::Sum | Aggregate::Avg)
    }
}

/// One `with_sum`-like request: the relation, the function, its column and constraint.
#[derive(Clone)]
pub(crate) struct AggregateRequest {
    pub(crate) relation: String,
    pub(crate) function: Aggregate,
    pub(crate) column: String,
    pub(crate) constraint: Option<Constraint>,
}

impl Clone for LoadPlan {
    fn clone(&self) -> LoadPlan {
        LoadPlan {
            relations: clone_list(&self.relations),
            counts: clone_list(&self.counts),
            exists: clone_list(&self.exists),
            aggregates: clone_list(&self.aggregates),
            count_orders: self.count_orders.clone(),
        }
    }
}

impl std::fmt::Debug for LoadPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadPlan")
            .field(
                "relations",
                &self.relations.iter().map(|r| &r.name).collect::<Vec<_>>(),
            )
            .field(
                "counts",
                &self.counts.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .field(
                "exists",
                &self.exists.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            )
            .field(
                "aggregates",
                &self
                    .aggregates
                    .iter()
                    .map(|a| (&a.relation, a.function, &a.column))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// One relation to eager load, with its constraint and nested relations.
#[doc(hidden)]
#[derive(Clone)]
pub struct EagerRelation {
    pub(crate) name: String,
    pub(crate) constraint: Option<Constraint>,
    pub(crate) nested: LoadPlan,
    /// `load_missing`: load it only onto models that have not loaded it, and descend
    /// into the ones that have.
    pub(crate) missing_only: bool,
}

impl LoadPlan {
    /// The subquery counting the `with_count` relation whose alias is `column`.
    pub(crate) fn count_order(&self, column: &str) -> Option<&Parts> {
        self.count_orders
            .iter()
            .find(|(alias, _)| alias == column)
            .map(|(_, sub)| sub)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.relations.is_empty()
            && self.counts.is_empty()
            && self.exists.is_empty()
            && self.aggregates.is_empty()
    }

    /// Adds `posts.comments` as `posts` → `comments`, with `constraint` on the last one.
    pub(crate) fn add_path(&mut self, path: &str, constraint: Option<Constraint>) {
        self.add(path, constraint, false);
    }

    /// Adds `posts.comments` for `load_missing`: each level loads only where it is not
    /// loaded yet.
    pub(crate) fn add_missing_path(&mut self, path: &str) {
        self.add(path, None, true);
    }

    /// Removes `posts.comments` (`comments` under `posts`; `posts` itself and everything
    /// below it for `posts`). A path not in the plan changes nothing.
    pub(crate) fn remove_path(&mut self, path: &str) {
        match path.split_once('.') {
            Some((head, rest)) => {
                if let Some(relation) = self.relations.iter_mut().find(|r| r.name == head) {
                    relation.nested.remove_path(rest);
                }
            }
            None => self.relations.retain(|r| r.name != path),
        }
    }

    fn add(&mut self, path: &str, constraint: Option<Constraint>, missing_only: bool) {
        let (head, rest) = match path.split_once('.') {
            Some((head, rest)) => (head, Some(rest)),
            None => (path, None),
        };
        let index = match self.relations.iter().position(|r| r.name == head) {
            Some(i) => i,
            None => {
                self.relations.push(EagerRelation {
                    name: head.to_owned(),
                    constraint: None,
                    nested: LoadPlan::default(),
                    missing_only,
                });
                self.relations.len() - 1
            }
        };
        match rest {
            Some(rest) => self.relations[index]
                .nested
                .add(rest, constraint, missing_only),
            None => {
                if constraint.is_some() {
                    self.relations[index].constraint = constraint;
                }
            }
        }
    }
}
