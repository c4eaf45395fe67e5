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
use fake::rand::{Rng, RngExt, SeedableRng};
use fake::Dummy;
use orm_core::__private::relation_query;
use orm_core::{Model, ModelMeta, RelationKind, RelationMeta, Value, DB};

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
/// The columns a parent made by a factory gives its children, found when they are made.
type MakeParent = Box<dyn Fn(&mut StdRng, &[Recycled]) -> Result<Vec<(&'static str, Value)>>>;

/// Makes or creates models of `M`: from [`Factory::factory`].
pub struct FactoryBuilder<M: Factory> {
    count: usize,
    seed: Option<u64>,
    changes: Vec<Change<M>>,
    parents: Vec<(&'static str, Value)>,
    parent_factories: Vec<MakeParent>,
    children: Vec<(String, Box<dyn Children<M>>)>,
    recycled: Vec<Recycled>,
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
            .field("parent_factories", &self.parent_factories.len())
            .field(
                "children",
                &self.children.iter().map(|(r, _)| r).collect::<Vec<_>>(),
            )
            .field("recycled", &self.recycled.len())
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
            parent_factories: Vec::new(),
            children: Vec::new(),
            recycled: Vec::new(),
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
    ///
    /// `parent` may also be a factory (Eloquent's `for(User::factory())`):
    /// `Post::factory().count(3).for_parent(User::factory(), "user")` creates one user
    /// for the three posts (with `make` too, since the posts need its key), unless
    /// [`recycle`](Self::recycle) gave users to pick from.
    pub fn for_parent<P: Parent>(mut self, parent: P, relation: &str) -> Self {
        match parent.into_source().resolve(M::meta(), relation) {
            Ok(Resolved::Now(pairs)) => self.parents.extend(pairs),
            Ok(Resolved::Later(make)) => self.parent_factories.push(make),
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
    /// their type column to the user's morph name). Through a belongs-to-many (or
    /// morph-to-many) relation the children are created and attached, 3 to each user,
    /// as [`has_attached`](Self::has_attached) without pivot values. `make` makes no
    /// children (they need the parents' keys).
    pub fn has<C: Factory>(mut self, children: FactoryBuilder<C>, relation: &str) -> Self {
        self.children
            .push((relation.to_owned(), Box::new(Created(children))));
        self
    }

    /// With `create`, each model is attached through its belongs-to-many (or
    /// morph-to-many, morphed-by-many) `relation` to `related`, with these values in the
    /// pivot rows (Eloquent's `hasAttached`). `related` is a factory, whose models are
    /// created for each parent (`.has_attached(Role::factory().count(3), [("active",
    /// true.into())], "roles")`: 3 new roles per user), or stored models (`&roles`,
    /// `&[admin]`), which every parent is attached to.
    pub fn has_attached<'a, C: Model>(
        mut self,
        related: impl Attachable<C>,
        pivot: impl IntoIterator<Item = (&'a str, Value)>,
        relation: &str,
    ) -> Self {
        let pivot = pivot
            .into_iter()
            .map(|(column, value)| (column.to_owned(), value))
            .collect();
        self.children.push((
            relation.to_owned(),
            Box::new(Attached {
                related: related.into_related(),
                pivot,
            }),
        ));
        self
    }

    /// Models to use, instead of creating new ones, wherever this factory (or a factory
    /// it creates parents or children with) would create a parent of their type through
    /// [`for_parent`](Self::for_parent) with a factory: one of them, picked at random
    /// (Eloquent's `recycle`). `Post::factory().count(10).recycle(&users)
    /// .for_parent(User::factory(), "user")` gives each call's posts one of `users`.
    pub fn recycle<P: Model>(mut self, models: &[P]) -> Self {
        self.recycled
            .extend(models.iter().map(|model| Recycled::of(model)));
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
        self.build(&mut rng, self.count, &[], &[], &[])
    }

    /// One model, built and not saved (whatever `count` says).
    pub fn make_one(&self) -> Result<M> {
        let mut rng = self.rng(None);
        Ok(self.build(&mut rng, 1, &[], &[], &[])?.remove(0))
    }

    /// The models, inserted in batches of [`BATCH_SIZE`] with `insert_many` (keys and
    /// timestamps filled in), then their children; all in one transaction on the
    /// model's connection, so a failure keeps none of them.
    pub fn create(&self) -> Result<Vec<M>> {
        let mut rng = self.rng(None);
        self.create_in_transaction(&mut rng, self.count, &[])
    }

    /// [`create`](Self::create) with the hooks of every model paused, the children's
    /// and parents' included (Eloquent's `createQuietly`; see
    /// [`Model::without_events`]).
    pub fn create_quietly(&self) -> Result<Vec<M>> {
        M::without_events(|| self.create())
    }

    /// One model, created (whatever `count` says), with its children.
    pub fn create_one(&self) -> Result<M> {
        let mut rng = self.rng(None);
        Ok(self.create_in_transaction(&mut rng, 1, &[])?.remove(0))
    }

    fn create_in_transaction(
        &self,
        rng: &mut StdRng,
        count: usize,
        recycled: &[Recycled],
    ) -> Result<Vec<M>> {
        let mut failure = None;
        let created = DB::connection(M::meta().connection).transaction(|| {
            match self.create_with(rng, count, &[], &[], recycled) {
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
    /// each with the owner's key in `owners.0` and the values of `fixed`; the parents
    /// [`for_parent`](Self::for_parent) gave as factories are created (or picked from
    /// this builder's and `inherited` recycled models) first.
    fn build(
        &self,
        rng: &mut StdRng,
        count: usize,
        owners: &[(&str, &[Value])],
        fixed: &[(&str, Value)],
        inherited: &[Recycled],
    ) -> Result<Vec<M>> {
        if let Some(e) = &self.error {
            return Err(copy_error(e).into());
        }
        let recycled = self.recycled_with(inherited);
        let mut made_parents = Vec::new();
        for make in &self.parent_factories {
            made_parents.extend(make(rng, &recycled)?);
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
                for (column, key) in self.parents.iter().chain(&made_parents) {
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
        inherited: &[Recycled],
    ) -> Result<Vec<M>> {
        let meta = M::meta();
        // Misnamed relations fail before anything is written.
        let relations = self
            .children
            .iter()
            .map(|(relation, children)| children.relation(meta, relation))
            .collect::<orm_core::Result<Vec<_>>>()?;
        let mut models = self.build(rng, count, owners, fixed, inherited)?;
        for batch in models.chunks_mut(BATCH_SIZE) {
            M::insert_many(batch)?;
            report_inserted(meta.table, batch.len());
        }
        let recycled = self.recycled_with(inherited);
        for (relation, (_, children)) in relations.into_iter().zip(&self.children) {
            children.create_for(rng, relation, &models, &recycled)?;
        }
        for model in &mut models {
            for after in &self.after_creating {
                after(model)?;
            }
        }
        Ok(models)
    }

    /// This builder's recycled models, then those of the builders it is part of.
    fn recycled_with(&self, inherited: &[Recycled]) -> Vec<Recycled> {
        self.recycled.iter().chain(inherited).cloned().collect()
    }
}

/// A model given to [`FactoryBuilder::recycle`] or [`FactoryBuilder::has_attached`]:
/// its type and column values.
#[derive(Clone)]
struct Recycled {
    meta: &'static ModelMeta,
    values: Vec<Value>,
}

impl Recycled {
    fn of<P: Model>(model: &P) -> Recycled {
        let meta = P::meta();
        Recycled {
            meta,
            values: meta
                .columns
                .iter()
                .map(|column| model.column_value(column).unwrap_or(Value::Null))
                .collect(),
        }
    }

    fn column(&self, name: &str) -> Option<Value> {
        let i = self.meta.columns.iter().position(|c| *c == name)?;
        Some(self.values[i].clone())
    }
}

impl fmt::Debug for Recycled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recycled")
            .field("model", &self.meta.name)
            .finish_non_exhaustive()
    }
}

/// What [`FactoryBuilder::for_parent`] takes: a stored model (`&user`), or a factory
/// that creates one (`User::factory()`).
pub trait Parent {
    /// The parent's model.
    type Model: Model;

    #[doc(hidden)]
    fn into_source(self) -> ParentSource<Self::Model>;
}

/// A parent of [`FactoryBuilder::for_parent`], as [`Parent`] gives it.
#[doc(hidden)]
pub struct ParentSource<P: Model>(ParentKind<P>);

enum ParentKind<P: Model> {
    Stored(Recycled),
    Made(CreateParent<P>),
}

type CreateParent<P> = Box<dyn Fn(&mut StdRng, &[Recycled]) -> Result<P>>;

/// A parent's columns for its children: now, or once the parent is created.
enum Resolved {
    Now(Vec<(&'static str, Value)>),
    Later(MakeParent),
}

impl<P: Model> ParentSource<P> {
    fn resolve(self, child: &'static ModelMeta, relation: &str) -> orm_core::Result<Resolved> {
        let found = belongs_to_relation(child, relation, P::meta())?;
        match self.0 {
            ParentKind::Stored(parent) => Ok(Resolved::Now(parent_columns(child, found, &parent)?)),
            ParentKind::Made(make) => Ok(Resolved::Later(Box::new(move |rng, recycled| {
                let recycled_of_type: Vec<&Recycled> = recycled
                    .iter()
                    .filter(|r| std::ptr::eq(r.meta, P::meta()))
                    .collect();
                let parent = if recycled_of_type.is_empty() {
                    Recycled::of(&make(rng, recycled)?)
                } else {
                    recycled_of_type[rng.random_range(0..recycled_of_type.len())].clone()
                };
                Ok(parent_columns(child, found, &parent)?)
            }))),
        }
    }
}

impl<P: Model> Parent for &P {
    type Model = P;

    fn into_source(self) -> ParentSource<P> {
        ParentSource(ParentKind::Stored(Recycled::of(self)))
    }
}

impl<P: Factory> Parent for FactoryBuilder<P> {
    type Model = P;

    fn into_source(self) -> ParentSource<P> {
        ParentSource(ParentKind::Made(Box::new(move |rng, recycled| {
            let mut parent_rng = self.rng(Some(rng));
            Ok(self
                .create_in_transaction(&mut parent_rng, 1, recycled)?
                .remove(0))
        })))
    }
}

/// What [`FactoryBuilder::has_attached`] takes: a factory of the related models (new
/// ones for each parent), or stored ones (`&roles`, `&[admin]`, `&admin`), attached to
/// every parent.
pub trait Attachable<C: Model> {
    #[doc(hidden)]
    fn into_related(self) -> Related<C>;
}

/// The related models of [`FactoryBuilder::has_attached`], as [`Attachable`] gives
/// them.
#[doc(hidden)]
pub struct Related<C: Model>(RelatedKind<C>);

enum RelatedKind<C: Model> {
    /// Stored models, attached to every parent.
    Stored(Vec<Recycled>),
    /// Makes `count` models for each of `n` parents (the first argument).
    Made {
        count: usize,
        table: &'static str,
        make: CreateRelated<C>,
    },
}

type CreateRelated<C> = Box<dyn Fn(usize, &mut StdRng, &[Recycled]) -> Result<Vec<C>>>;

impl<C: Factory> Attachable<C> for FactoryBuilder<C> {
    fn into_related(self) -> Related<C> {
        Related(RelatedKind::Made {
            count: self.count,
            table: C::meta().table,
            make: Box::new(move |parents, rng, recycled| {
                let mut child_rng = self.rng(Some(rng));
                self.create_with(&mut child_rng, self.count * parents, &[], &[], recycled)
            }),
        })
    }
}

impl<C: Model> Attachable<C> for &[C] {
    fn into_related(self) -> Related<C> {
        Related(RelatedKind::Stored(self.iter().map(Recycled::of).collect()))
    }
}

impl<C: Model, const N: usize> Attachable<C> for &[C; N] {
    fn into_related(self) -> Related<C> {
        self.as_slice().into_related()
    }
}

impl<C: Model> Attachable<C> for &Vec<C> {
    fn into_related(self) -> Related<C> {
        self.as_slice().into_related()
    }
}

impl<C: Model> Attachable<C> for &C {
    fn into_related(self) -> Related<C> {
        std::slice::from_ref(self).into_related()
    }
}

/// What [`FactoryBuilder::has`] and [`FactoryBuilder::has_attached`] add to each
/// parent `M`, whatever the related model.
trait Children<M> {
    /// `meta`'s `relation`, checked to be one these children can be added through.
    fn relation(
        &self,
        meta: &'static ModelMeta,
        relation: &str,
    ) -> orm_core::Result<&'static RelationMeta>;

    fn create_for(
        &self,
        rng: &mut StdRng,
        relation: &'static RelationMeta,
        parents: &[M],
        recycled: &[Recycled],
    ) -> Result<()>;
}

/// Children of [`FactoryBuilder::has`], created for each parent.
struct Created<C: Factory>(FactoryBuilder<C>);

impl<M: Model, C: Factory> Children<M> for Created<C> {
    fn relation(
        &self,
        meta: &'static ModelMeta,
        relation: &str,
    ) -> orm_core::Result<&'static RelationMeta> {
        child_relation(meta, relation, C::meta().table, "has", |kind| {
            kind.has_pivot()
                || matches!(
                    kind,
                    RelationKind::HasMany
                        | RelationKind::HasOne
                        | RelationKind::MorphMany
                        | RelationKind::MorphOne
                )
        })
    }

    fn create_for(
        &self,
        rng: &mut StdRng,
        relation: &'static RelationMeta,
        parents: &[M],
        recycled: &[Recycled],
    ) -> Result<()> {
        if parents.is_empty() {
            return Ok(());
        }
        let mut child_rng = self.0.rng(Some(rng));
        if relation.kind.has_pivot() {
            let count = self.0.count;
            let children =
                self.0
                    .create_with(&mut child_rng, count * parents.len(), &[], &[], recycled)?;
            let linked: Vec<Value> = children
                .iter()
                .map(|child| linked_value(relation, &Recycled::of(child)))
                .collect();
            return attach_each::<M, C>(relation, parents, |i| &linked[i * count..][..count], &[]);
        }
        let column = relation.parent_column();
        let keys = parents
            .iter()
            .map(|model| {
                model.column_value(column).ok_or_else(|| {
                    orm_core::Error::invalid_query(
                        orm_core::InvalidQueryKind::Model,
                        format!("model `{}` has no column `{column}`", M::meta().name),
                    )
                })
            })
            .collect::<orm_core::Result<Vec<Value>>>()?;
        let morph: Vec<(&str, Value)> = relation
            .morph_value()
            .map(|name| (relation.morph_type, Value::Text(name.to_owned())))
            .into_iter()
            .collect();
        self.0.create_with(
            &mut child_rng,
            self.0.count,
            &[(relation.foreign_key, &keys)],
            &morph,
            recycled,
        )?;
        Ok(())
    }
}

/// Related models of [`FactoryBuilder::has_attached`], with the pivot values.
struct Attached<C: Model> {
    related: Related<C>,
    pivot: Vec<(String, Value)>,
}

impl<M: Model, C: Model> Children<M> for Attached<C> {
    fn relation(
        &self,
        meta: &'static ModelMeta,
        relation: &str,
    ) -> orm_core::Result<&'static RelationMeta> {
        let table = match &self.related.0 {
            RelatedKind::Made { table, .. } => table,
            RelatedKind::Stored(_) => C::meta().table,
        };
        child_relation(
            meta,
            relation,
            table,
            "has_attached",
            RelationKind::has_pivot,
        )
    }

    fn create_for(
        &self,
        rng: &mut StdRng,
        relation: &'static RelationMeta,
        parents: &[M],
        recycled: &[Recycled],
    ) -> Result<()> {
        if parents.is_empty() {
            return Ok(());
        }
        match &self.related.0 {
            RelatedKind::Stored(models) => {
                let linked: Vec<Value> = models
                    .iter()
                    .map(|model| linked_value(relation, model))
                    .collect();
                attach_each::<M, C>(relation, parents, |_| &linked, &self.pivot)
            }
            RelatedKind::Made { count, make, .. } => {
                let children = make(parents.len(), rng, recycled)?;
                let linked: Vec<Value> = children
                    .iter()
                    .map(|child| linked_value(relation, &Recycled::of(child)))
                    .collect();
                attach_each::<M, C>(
                    relation,
                    parents,
                    |i| &linked[i * count..][..*count],
                    &self.pivot,
                )
            }
        }
    }
}

/// The value of a related model's column that a pivot row of `relation` links to.
fn linked_value(relation: &RelationMeta, model: &Recycled) -> Value {
    let column = relation.linked_key.unwrap_or(model.meta.primary_key);
    model.column(column).unwrap_or(Value::Null)
}

/// Attaches each parent `i` through `relation` to the related rows `linked(i)`, with
/// `pivot` in every pivot row.
fn attach_each<'l, M: Model, C: Model>(
    relation: &'static RelationMeta,
    parents: &[M],
    linked: impl Fn(usize) -> &'l [Value],
    pivot: &[(String, Value)],
) -> Result<()> {
    for (i, parent) in parents.iter().enumerate() {
        let keys = linked(i);
        if let Some(missing) = keys.iter().position(Value::is_null) {
            return Err(relation_error(format!(
                "factory: related model {missing} given to `{}.{}` has no key (save it first)",
                M::meta().name,
                relation.name
            ))
            .into());
        }
        let related = || relation_query::<M, C>(parent, relation, true);
        if pivot.is_empty() {
            related().attach(keys.iter().cloned())?;
        } else {
            for key in keys {
                related().attach_with(
                    key.clone(),
                    pivot.iter().map(|(c, v)| (c.as_str(), v.clone())),
                )?;
            }
        }
    }
    Ok(())
}

/// `meta`'s `relation`, checked to be of a kind `allowed` takes and to lead to `table`.
fn child_relation(
    meta: &'static ModelMeta,
    relation: &str,
    table: &str,
    method: &str,
    allowed: impl Fn(RelationKind) -> bool,
) -> orm_core::Result<&'static RelationMeta> {
    let found = meta.relation(relation)?;
    if !allowed(found.kind) {
        let needs = if method == "has" {
            "a has-many, has-one, morph-many, morph-one or belongs-to-many one"
        } else {
            "a belongs-to-many, morph-to-many or morphed-by-many one"
        };
        return Err(relation_error(format!(
            "factory: `{}.{relation}` is a {:?} relation; `{method}` needs {needs}",
            meta.name, found.kind
        )));
    }
    let related = (found.related)().table;
    if related != table {
        return Err(relation_error(format!(
            "factory: `{}.{relation}` leads to `{related}`, not to `{table}`",
            meta.name
        )));
    }
    Ok(found)
}

/// The belongs-to or morph-to `relation` of `child`, checked to lead to `parent`.
fn belongs_to_relation(
    child: &'static ModelMeta,
    relation: &str,
    parent: &'static ModelMeta,
) -> orm_core::Result<&'static RelationMeta> {
    let found = child.relation(relation)?;
    match found.kind {
        RelationKind::MorphTo => {
            if !found
                .morph_targets
                .iter()
                .any(|target| std::ptr::eq(target(), parent))
            {
                return Err(relation_error(format!(
                        "factory: `{}.{}` cannot hold a {}: its morph_to enum has no variant for it",
                        child.name, found.name, parent.name
                    ),
                ));
            }
        }
        RelationKind::BelongsTo => {
            let related = (found.related)();
            if related.table != parent.table {
                return Err(relation_error(format!(
                        "factory: `{}.{relation}` belongs to `{}`, not to `{}`",
                        child.name, related.name, parent.name
                    ),
                ));
            }
        }
        kind => {
            return Err(relation_error(format!(
                    "factory: `{}.{relation}` is a {kind:?} relation; `for_parent` needs a belongs-to or morph-to one",
                    child.name
                ),
            ))
        }
    }
    Ok(found)
}

/// The columns of a child of `parent` through the belongs-to or morph-to `found`: the
/// foreign key (and, through a morph-to, the type column) with `parent`'s values.
fn parent_columns(
    child: &'static ModelMeta,
    found: &'static RelationMeta,
    parent: &Recycled,
) -> orm_core::Result<Vec<(&'static str, Value)>> {
    let owner_key = match found.kind {
        RelationKind::MorphTo => parent.meta.primary_key,
        _ => found.local_key.unwrap_or(parent.meta.primary_key),
    };
    let key = parent.column(owner_key).unwrap_or(Value::Null);
    if key.is_null() {
        return Err(relation_error(format!(
            "factory: the `{}` given to `{}`'s `for_parent` has no `{owner_key}` (save it first)",
            parent.meta.name, child.name
        )));
    }
    let mut columns = vec![(found.foreign_key, key)];
    if found.kind == RelationKind::MorphTo {
        columns.push((
            found.morph_type,
            Value::Text(parent.meta.morph_name.to_owned()),
        ));
    }
    Ok(columns)
}

/// A factory given a relation it cannot use.
fn relation_error(message: String) -> orm_core::Error {
    orm_core::Error::invalid_query(orm_core::InvalidQueryKind::Relation, message)
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
