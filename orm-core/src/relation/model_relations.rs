//! `ModelRelations`: the relation methods every model has (`load`, `associate`,
//! `dissociate`), kept in the relation layer so `model/` does not import it.

use super::*;

/// The relation methods of every [`Model`] (in the prelude): eager loading onto models
/// already loaded, and setting or clearing a belongs-to key.
pub trait ModelRelations: Model {
    /// Eager loads relations onto models already loaded: `User::load(&mut users,
    /// &["posts", "posts.comments"])` (one query per relation and level).
    fn load(models: &mut [Self], relations: &[&str]) -> Result<()> {
        crate::replicas::read_named(&models_connection(models), |conn| {
            load(models, relations, conn)
        })
    }

    /// Eager loads one relation (or nested path) onto models already loaded, with a
    /// constraint on its query (Eloquent's `load(['posts' => fn ($q) => ..])`):
    /// `User::load_where(&mut users, "posts", |q| q.where_eq("published", true))`.
    fn load_where(
        models: &mut [Self],
        relation: &str,
        constraint: impl Fn(Query<Record>) -> Query<Record> + Send + Sync + 'static,
    ) -> Result<()> {
        let constraint: Constraint = Arc::new(constraint);
        let mut plan = LoadPlan::default();
        plan.add_path(relation, Some(constraint));
        if models.is_empty() {
            // Nothing to load onto, but a misspelt relation is an error all the same.
            return check_plan(Self::meta(), &plan);
        }
        crate::replicas::read_named(&models_connection(models), |conn| {
            run_plan(models, &plan, conn)
        })
    }

    /// Eager loads the relations that models already loaded lack (Eloquent's
    /// `loadMissing`): `User::load_missing(&mut users, &["posts.comments"])` loads `posts`
    /// only onto the users that have not loaded it, and `comments` onto every post
    /// (loaded now or before) that has not loaded them. What was loaded stays as it is,
    /// changes included. Below a `morph_to` loaded before, nested paths are not followed.
    fn load_missing(models: &mut [Self], relations: &[&str]) -> Result<()> {
        let mut plan = LoadPlan::default();
        for path in relations {
            plan.add_missing_path(path);
        }
        if models.is_empty() {
            // Nothing to load onto, but a misspelt relation is an error all the same.
            return check_plan(Self::meta(), &plan);
        }
        if plan.is_empty() {
            return Ok(());
        }
        crate::replicas::read_named(&models_connection(models), |conn| {
            run_plan(models, &plan, conn)
        })
    }

    /// Counts relations onto models already loaded, as `with_count` does on a query:
    /// `User::load_count(&mut users, &["posts"])` (Eloquent's `loadCount`; one grouped
    /// query per relation); read with `user.posts.count()`.
    fn load_count(models: &mut [Self], relations: &[&str]) -> Result<()> {
        load_each(models, relations, load_counts)
    }

    /// Loads whether each model has any row of each relation, as `with_exists` does on a
    /// query (Eloquent's `loadExists`; one grouped query per relation); read with
    /// `user.posts.exists()`.
    fn load_exists(models: &mut [Self], relations: &[&str]) -> Result<()> {
        load_each(models, relations, load_exists)
    }

    /// Loads `function(column)` of a relation onto models already loaded, as
    /// `with_aggregate` does on a query: `User::load_aggregate(&mut users, "posts",
    /// Aggregate::Sum, "votes")` (Eloquent's `loadSum`, `loadAggregate`; one grouped
    /// query); read with `user.posts.sum("votes")`.
    fn load_aggregate(
        models: &mut [Self],
        relation: &str,
        function: Aggregate,
        column: &str,
    ) -> Result<()> {
        if models.is_empty() {
            return Ok(());
        }
        let meta = Self::meta().relation(relation)?;
        let request = AggregateRequest {
            relation: relation.to_owned(),
            function,
            column: column.to_owned(),
            constraint: None,
        };
        crate::replicas::read_named(&models_connection(models), |conn| {
            load_aggregates(models, meta, &request, conn)
        })
    }

    /// Sets this model's foreign key of the belongs-to `relation` to `owner`'s key (not
    /// saved: call `save`); the relation field, when loaded, then holds `owner` (a
    /// `morph_to` field becomes not loaded).
    fn associate<O: Model + Clone>(&mut self, relation: &str, owner: &O) -> Result<()> {
        associate(self, relation, owner)
    }

    /// Clears this model's foreign key of the belongs-to `relation` (not saved); the
    /// relation field, when loaded, then holds no owner.
    fn dissociate(&mut self, relation: &str) -> Result<()> {
        dissociate(self, relation)
    }
}

impl<M: Model> ModelRelations for M {}

/// One grouped load per named relation onto models already loaded (`load_count`,
/// `load_exists`), on the models' connection; an unknown name fails before any query.
fn load_each<M: Model>(
    models: &mut [M],
    relations: &[&str],
    load: fn(&mut [M], &'static RelationMeta, Option<&Constraint>, &mut Connection) -> Result<()>,
) -> Result<()> {
    let relations = relations
        .iter()
        .map(|name| M::meta().relation(name))
        .collect::<Result<Vec<_>>>()?;
    if models.is_empty() {
        return Ok(());
    }
    crate::replicas::read_named(&models_connection(models), |conn| {
        for relation in &relations {
            load(models, relation, None, conn)?;
        }
        Ok(())
    })
}

/// The connection models were read from (or saved on): the one the first remembers,
/// else their model's. `with` on their query reads there too.
fn models_connection<M: Model>(models: &[M]) -> Arc<str> {
    models
        .first()
        .and_then(Model::state)
        .and_then(crate::ModelState::shared_connection)
        .map_or_else(|| Arc::from(M::meta().connection), Arc::clone)
}
