//! Model factories (feature `factory`): models filled with fake values, made in memory
//! or inserted in batches, with states, sequences, related models and seeds.
//!
//! A model gets a factory by implementing [`Factory`]; [`Factory::factory`] then
//! returns a [`FactoryBuilder`]:
//!
//! ```
//! use orm_core::prelude::*;
//! use orm_migrate::factory::fake::faker::{internet::en::SafeEmail, name::en::Name};
//! use orm_migrate::factory::{Factory, Fakes};
//! use orm_migrate::testing;
//!
//! #[derive(Debug, Clone, Default, Model)]
//! #[model(table = "users", timestamps)]
//! pub struct User {
//!     pub id: Option<i64>,
//!     pub name: String,
//!     pub email: String,
//!     pub password: String,
//!     pub created_at: Option<DateTime<Utc>>,
//!     pub updated_at: Option<DateTime<Utc>>,
//! }
//!
//! impl Factory for User {
//!     fn definition(f: &mut Fakes) -> User {
//!         User {
//!             name: f.fake(Name()),
//!             // `f.index()`: the model's position in the batch, to keep e-mails unique.
//!             email: format!("{}.{}", f.index(), f.fake::<String, _>(SafeEmail())),
//!             password: "-".into(),
//!             ..Default::default()
//!         }
//!     }
//! }
//!
//! let _db = testing::sqlite(vec![Box::new(orm_migrate::CreateUsersTable)])?;
//! let users = User::factory().count(50).create()?;      // 50 rows, in batches
//! assert_eq!(User::count()?, 50);
//! assert!(users.iter().all(|u| u.id.is_some()));
//! let draft = User::factory().state(|u| u.name = "Ada".into()).make_one()?; // not saved
//! assert_eq!((draft.name.as_str(), draft.id), ("Ada", None));
//! // The same seed gives the same values.
//! let names = |users: Vec<User>| users.into_iter().map(|u| u.name).collect::<Vec<_>>();
//! let a = names(User::factory().count(3).seed(42).make()?);
//! assert_eq!(a, names(User::factory().count(3).seed(42).make()?));
//! # Ok::<(), orm_migrate::Error>(())
//! ```

use std::fmt;
use std::marker::PhantomData;

use fake::rand::rngs::StdRng;
use fake::rand::{Rng, SeedableRng};
use fake::Dummy;
use orm_core::{Model, RelationKind, RelationMeta, Value, DB};

use crate::error::Result;
use crate::seeder::report_inserted;

/// The [`fake`](https://docs.rs/fake) crate, re-exported: its fakers
/// (`fake::faker::name::en::Name`, `...::internet::en::SafeEmail`, `fake::Faker`, ...)
/// are what [`Fakes::fake`] takes.
pub use fake;

/// How many models one batch of [`FactoryBuilder::create`] inserts (`insert_many`
/// splits each batch further under the backend's bind limit).
pub const BATCH_SIZE: usize = 1000;

/// A model that factories can make: [`Factory::definition`] says how one looks.
pub trait Factory: Model {
    /// One model with fake values; `f` holds the random source (seeded by
    /// [`FactoryBuilder::seed`]) and the model's position in its batch.
    fn definition(f: &mut Fakes) -> Self;

    /// A builder of these models: `User::factory().count(50).create()?`.
    fn factory() -> FactoryBuilder<Self> {
        FactoryBuilder::new()
    }
}

/// What [`Factory::definition`] draws values from.
pub struct Fakes {
    rng: StdRng,
    index: usize,
}

impl Fakes {
    /// A fake value from a `fake` faker: `f.fake(Name())`, `f.fake(1..100)`,
    /// `f.fake(fake::Faker)` (any type with a `Dummy` implementation).
    pub fn fake<U: Dummy<F>, F>(&mut self, faker: F) -> U {
        U::dummy_with_rng(&faker, &mut self.rng)
    }

    /// The model's position (from 0) among those this builder makes in one call
    /// (children: among all children made in that call).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The random source, for anything `fake` has no faker for.
    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }
}

impl fmt::Debug for Fakes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fakes")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

type Change<M> = Box<dyn Fn(usize, &mut M)>;
type AfterMaking<M> = Box<dyn Fn(&mut M)>;
type AfterCreating<M> = Box<dyn Fn(&mut M) -> orm_core::Result<()>>;

/// Makes or creates models of `M`: from [`Factory::factory`].
pub struct FactoryBuilder<M: Factory> {
    count: usize,
    seed: Option<u64>,
    changes: Vec<Change<M>>,
    parents: Vec<(&'static str, Value)>,
    children: Vec<(String, Box<dyn Children>)>,
    after_making: Vec<AfterMaking<M>>,
    after_creating: Vec<AfterCreating<M>>,
    error: Option<orm_core::Error>,
    model: PhantomData<fn() -> M>,
}

impl<M: Factory> fmt::Debug for FactoryBuilder<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FactoryBuilder")
            .field("model", &M::meta().name)
            .field("count", &self.count)
            .field("seed", &self.seed)
            .field("states", &self.changes.len())
            .field("parents", &self.parents)
            .field(
                "children",
                &self.children.iter().map(|(r, _)| r).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<M: Factory> Default for FactoryBuilder<M> {
    fn default() -> Self {
        FactoryBuilder::new()
    }
}

impl<M: Factory> FactoryBuilder<M> {
    /// One model, random values, no states.
    pub fn new() -> FactoryBuilder<M> {
        FactoryBuilder {
            count: 1,
            seed: None,
            changes: Vec::new(),
            parents: Vec::new(),
            children: Vec::new(),
            after_making: Vec::new(),
            after_creating: Vec::new(),
            error: None,
            model: PhantomData,
        }
    }

    /// How many models `make` / `create` return (default 1).
    pub fn count(mut self, count: usize) -> Self {
        self.count = count;
        self
    }

    /// Seeds the random source: the same seed makes the same values (children without
    /// a seed of their own are seeded from it too).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Changes every model after its definition: `.state(|u| u.admin = true)`. States
    /// and sequences apply in the order given.
    pub fn state(mut self, state: impl Fn(&mut M) + 'static) -> Self {
        self.changes.push(Box::new(move |_, model| state(model)));
        self
    }

    /// Changes each model by its position (from 0):
    /// `.sequence(|i, u| u.admin = i % 2 == 0)`.
    pub fn sequence(mut self, sequence: impl Fn(usize, &mut M) + 'static) -> Self {
        self.changes.push(Box::new(sequence));
        self
    }

    /// Every model belongs to `parent` through the belongs-to or morph-to `relation`
    /// of `M` (`Post::factory().for_parent(&ada, "user")` sets each post's `user_id`;
    /// `Comment::factory().for_parent(&post, "commentable")` sets `commentable_id` and
    /// `commentable_type`).
    pub fn for_parent<P: Model>(mut self, parent: &P, relation: &str) -> Self {
        match belongs_to_key(M::meta(), relation, parent) {
            Ok(pairs) => self.parents.extend(pairs),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// With `create`, each model gets `children` (their count each) through its
    /// has-many, has-one, morph-many or morph-one `relation`:
    /// `User::factory().has(Post::factory().count(3), "posts")` creates 3 posts per
    /// user, their foreign key set to the user's key (and, through a morph relation,
    /// their type column to the user's morph name). `make` makes no children (they need
    /// the parents' keys).
    pub fn has<C: Factory>(mut self, children: FactoryBuilder<C>, relation: &str) -> Self {
        self.children
            .push((relation.to_owned(), Box::new(children)));
        self
    }

    /// Runs `f` on each model once it is made, by `make` and by `create` (before it
    /// is inserted): Eloquent's `afterMaking`.
    pub fn after_making(mut self, f: impl Fn(&mut M) + 'static) -> Self {
        self.after_making.push(Box::new(f));
        self
    }

    /// Runs `f` on each model once it and its children are inserted, inside the
    /// factory's transaction (Eloquent's `afterCreating`): attach roles, create what
    /// `has` cannot. An `Err` rolls the whole `create` back.
    pub fn after_creating(mut self, f: impl Fn(&mut M) -> orm_core::Result<()> + 'static) -> Self {
        self.after_creating.push(Box::new(f));
        self
    }

    /// The models, built and not saved.
    pub fn make(&self) -> Result<Vec<M>> {
        let mut rng = self.rng(None);
        self.build(&mut rng, self.count, &[], &[])
    }

    /// One model, built and not saved (whatever `count` says).
    pub fn make_one(&self) -> Result<M> {
        let mut rng = self.rng(None);
        Ok(self.build(&mut rng, 1, &[], &[])?.remove(0))
    }

    /// The models, inserted in batches of [`BATCH_SIZE`] with `insert_many` (keys and
    /// timestamps filled in), then their children; all in one transaction on the
    /// model's connection, so a failure keeps none of them.
    pub fn create(&self) -> Result<Vec<M>> {
        let mut rng = self.rng(None);
        self.create_in_transaction(&mut rng, self.count)
    }

    /// One model, created (whatever `count` says), with its children.
    pub fn create_one(&self) -> Result<M> {
        let mut rng = self.rng(None);
        Ok(self.create_in_transaction(&mut rng, 1)?.remove(0))
    }

    fn create_in_transaction(&self, rng: &mut StdRng, count: usize) -> Result<Vec<M>> {
        let mut failure = None;
        let created = DB::connection(M::meta().connection).transaction(|| {
            match self.create_with(rng, count, &[], &[]) {
                Ok(models) => Ok(models),
                Err(crate::Error::Database(e)) => Err(e),
                Err(e) => {
                    failure = Some(e);
                    Err(orm_core::Error::other("factory failed"))
                }
            }
        });
        match (failure, created) {
            (Some(e), _) => Err(e),
            (None, created) => Ok(created?),
        }
    }

    /// The random source: this builder's seed, else one drawn from `parent` (a
    /// parent builder's source), else from the thread's random generator.
    fn rng(&self, parent: Option<&mut StdRng>) -> StdRng {
        let seed = match (self.seed, parent) {
            (Some(seed), _) => seed,
            (None, Some(parent)) => parent.next_u64(),
            (None, None) => fake::rand::rng().next_u64(),
        };
        StdRng::seed_from_u64(seed)
    }

    /// `count` models per key of `owners` (or `count` models when there are none),
    /// each with the owner's key in `owners.0` and the values of `fixed`.
    fn build(
        &self,
        rng: &mut StdRng,
        count: usize,
        owners: &[(&str, &[Value])],
        fixed: &[(&str, Value)],
    ) -> Result<Vec<M>> {
        if let Some(e) = &self.error {
            return Err(copy_error(e).into());
        }
        let groups = owners.first().map_or(1, |(_, keys)| keys.len());
        let mut fakes = Fakes {
            // Moved in and back out (a placeholder meanwhile): `StdRng` is not `Clone`.
            rng: std::mem::replace(rng, StdRng::seed_from_u64(0)),
            index: 0,
        };
        let mut models = Vec::with_capacity(count * groups);
        for group in 0..groups {
            for _ in 0..count {
                let index = fakes.index;
                let mut model = M::definition(&mut fakes);
                for change in &self.changes {
                    change(index, &mut model);
                }
                for (column, key) in &self.parents {
                    model.set_column(column, key.as_ref())?;
                }
                for (column, keys) in owners {
                    model.set_column(column, keys[group].as_ref())?;
                }
                for (column, value) in fixed {
                    model.set_column(column, value.as_ref())?;
                }
                for after in &self.after_making {
                    after(&mut model);
                }
                models.push(model);
                fakes.index += 1;
            }
        }
        *rng = fakes.rng;
        Ok(models)
    }

    fn create_with(
        &self,
        rng: &mut StdRng,
        count: usize,
        owners: &[(&str, &[Value])],
        fixed: &[(&str, Value)],
    ) -> Result<Vec<M>> {
        let meta = M::meta();
        // Misnamed relations fail before anything is written.
        let relations = self
            .children
            .iter()
            .map(|(relation, children)| has_relation(meta, relation, children.table()))
            .collect::<orm_core::Result<Vec<_>>>()?;
        let mut models = self.build(rng, count, owners, fixed)?;
        for batch in models.chunks_mut(BATCH_SIZE) {
            M::insert_many(batch)?;
            report_inserted(meta.table, batch.len());
        }
        for (relation, (_, children)) in relations.into_iter().zip(&self.children) {
            let column = relation.parent_column();
            let keys = models
                .iter()
                .map(|model| {
                    model.column_value(column).ok_or_else(|| {
                        orm_core::Error::invalid_query(
                            orm_core::InvalidQueryKind::Model,
                            format!("model `{}` has no column `{column}`", meta.name),
                        )
                    })
                })
                .collect::<orm_core::Result<Vec<Value>>>()?;
            let mut child_rng = children.rng_from(rng);
            let morph: Vec<(&str, Value)> = relation
                .morph_value()
                .map(|name| (relation.morph_type, Value::Text(name.to_owned())))
                .into_iter()
                .collect();
            children.create_for(&mut child_rng, relation.foreign_key, &keys, &morph)?;
        }
        for model in &mut models {
            for after in &self.after_creating {
                after(model)?;
            }
        }
        Ok(models)
    }
}

/// A child factory of [`FactoryBuilder::has`], whatever its model.
trait Children {
    fn table(&self) -> &'static str;
    fn rng_from(&self, parent: &mut StdRng) -> StdRng;
    fn create_for(
        &self,
        rng: &mut StdRng,
        foreign_key: &str,
        keys: &[Value],
        fixed: &[(&str, Value)],
    ) -> Result<()>;
}

impl<C: Factory> Children for FactoryBuilder<C> {
    fn table(&self) -> &'static str {
        C::meta().table
    }

    fn rng_from(&self, parent: &mut StdRng) -> StdRng {
        self.rng(Some(parent))
    }

    fn create_for(
        &self,
        rng: &mut StdRng,
        foreign_key: &str,
        keys: &[Value],
        fixed: &[(&str, Value)],
    ) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        self.create_with(rng, self.count, &[(foreign_key, keys)], fixed)?;
        Ok(())
    }
}

/// The has-one/has-many (or morph-one/morph-many) `relation` of `meta`, checked to
/// lead to `table`.
fn has_relation(
    meta: &'static orm_core::ModelMeta,
    relation: &str,
    table: &str,
) -> orm_core::Result<&'static RelationMeta> {
    let found = meta.relation(relation)?;
    if !matches!(
        found.kind,
        RelationKind::HasMany
            | RelationKind::HasOne
            | RelationKind::MorphMany
            | RelationKind::MorphOne
    ) {
        return Err(orm_core::Error::invalid_query(
            orm_core::InvalidQueryKind::Relation,
            format!(
            "factory: `{}.{relation}` is a {:?} relation; `has` needs a has-many, has-one, morph-many or morph-one one",
            meta.name, found.kind
        ),
        ));
    }
    let related = (found.related)().table;
    if related != table {
        return Err(orm_core::Error::invalid_query(
            orm_core::InvalidQueryKind::Relation,
            format!(
                "factory: `{}.{relation}` leads to `{related}`, not to `{table}`",
                meta.name
            ),
        ));
    }
    Ok(found)
}

/// The foreign-key column of the belongs-to `relation` of `meta` and `parent`'s key
/// (for a morph-to, also its type column and `parent`'s morph name).
fn belongs_to_key<P: Model>(
    meta: &'static orm_core::ModelMeta,
    relation: &str,
    parent: &P,
) -> orm_core::Result<Vec<(&'static str, Value)>> {
    let found = meta.relation(relation)?;
    if found.kind == RelationKind::MorphTo {
        return morph_to_key(meta, found, parent);
    }
    if found.kind != RelationKind::BelongsTo {
        return Err(orm_core::Error::invalid_query(
            orm_core::InvalidQueryKind::Relation,
            format!(
                "factory: `{}.{relation}` is a {:?} relation; `for_parent` needs a belongs-to or morph-to one",
                meta.name, found.kind
            ),
        ));
    }
    let related = (found.related)();
    if related.table != P::meta().table {
        return Err(orm_core::Error::invalid_query(
            orm_core::InvalidQueryKind::Relation,
            format!(
                "factory: `{}.{relation}` belongs to `{}`, not to `{}`",
                meta.name,
                related.name,
                P::meta().name
            ),
        ));
    }
    let owner_key = found.local_key.unwrap_or(related.primary_key);
    let key = parent.column_value(owner_key).unwrap_or(Value::Null);
    if key.is_null() {
        return Err(orm_core::Error::invalid_query(
            orm_core::InvalidQueryKind::Relation,
            format!(
                "factory: the `{}` given to `for_parent` has no `{owner_key}` (save it first)",
                P::meta().name
            ),
        ));
    }
    Ok(vec![(found.foreign_key, key)])
}

fn morph_to_key<P: Model>(
    meta: &'static orm_core::ModelMeta,
    found: &'static RelationMeta,
    parent: &P,
) -> orm_core::Result<Vec<(&'static str, Value)>> {
    let parent_meta = P::meta();
    if !found
        .morph_targets
        .iter()
        .any(|target| std::ptr::eq(target(), parent_meta))
    {
        return Err(orm_core::Error::invalid_query(
            orm_core::InvalidQueryKind::Relation,
            format!(
                "factory: `{}.{}` cannot hold a {}: its morph_to enum has no variant for it",
                meta.name, found.name, parent_meta.name
            ),
        ));
    }
    let key = parent.key_value();
    if key.is_null() {
        return Err(orm_core::Error::invalid_query(
            orm_core::InvalidQueryKind::Relation,
            format!(
                "factory: the `{}` given to `for_parent` has no key (save it first)",
                parent_meta.name
            ),
        ));
    }
    Ok(vec![
        (found.foreign_key, key),
        (
            found.morph_type,
            Value::Text(parent_meta.morph_name.to_owned()),
        ),
    ])
}

/// The builder keeps its first error and returns it from each `make`/`create`.
fn copy_error(e: &orm_core::Error) -> orm_core::Error {
    match e {
        orm_core::Error::UnknownRelation { model, relation } => orm_core::Error::UnknownRelation {
            model: model.clone(),
            relation: relation.clone(),
        },
        orm_core::Error::InvalidQuery { kind, message, .. } => {
            orm_core::Error::invalid_query(*kind, message.clone())
        }
        other => orm_core::Error::other(other.to_string()),
    }
}
