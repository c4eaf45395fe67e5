//! `Many` and `One`: the fields that hold a loaded relation.

use crate::model::RelationSlot;
use crate::query::Aggregate;
use crate::value::FromValue;
use std::mem::ManuallyDrop;

use super::*;

/// Drops what a relation container held, out of line. The containers hold their
/// contents in `ManuallyDrop` and drop them here, so a model's drop glue stops at its
/// relation fields: the related models' glue (and theirs, around the model graph) is
/// compiled once per type here, instead of into every place an app drops a model.
#[inline(never)]
fn discard<X>(contents: X) {
    drop(contents);
}

/// A loaded to-many relation (`HasMany`, `BelongsToMany`, `HasManyThrough`): empty and
/// not loaded until eager loading fills it. Dereferences to the loaded slice (empty when
/// not loaded; [`Many::is_loaded`] tells the difference).
pub struct Many<T> {
    /// Nothing until something is loaded: a model decoded with relations it did not load
    /// carries one null pointer per relation (its rows are allocated, moved and freed by
    /// the hundred, and their size decides how hard the allocator works). Dropped by
    /// [`discard`].
    inner: ManuallyDrop<Option<Box<ManyInner<T>>>>,
}

impl<T> Drop for Many<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            discard(inner);
        }
    }
}

/// The `with_sum`-like aggregates loaded onto one relation field: few, so a boxed list
/// (two words, where a `Vec` takes three), null unless some were loaded.
#[derive(Clone, Default)]
struct Aggregates(Option<Box<[Aggregated]>>);

/// One aggregate: the function, its column and the value read.
type Aggregated = (Aggregate, Box<str>, Value);

impl Aggregates {
    fn set(&mut self, function: Aggregate, column: &str, value: Value) {
        let mut list = self.0.take().map(Vec::from).unwrap_or_default();
        match list
            .iter_mut()
            .find(|(f, c, _)| *f == function && &**c == column)
        {
            Some(entry) => entry.2 = value,
            None => list.push((function, column.into(), value)),
        }
        self.0 = Some(list.into_boxed_slice());
    }

    fn get(&self, function: Aggregate, column: &str) -> Option<&Value> {
        self.0
            .as_ref()?
            .iter()
            .find(|(f, c, _)| *f == function && &**c == column)
            .map(|(_, _, value)| value)
    }
}

/// What `Many::sum`/`One::sum` and their siblings read, from a relation's aggregates
/// (`None`: the relation's container holds none).
fn sum(aggregates: Option<&Aggregates>, column: &str) -> Option<f64> {
    let value = aggregates?.get(Aggregate::Sum, column)?;
    Some(as_float(value).unwrap_or(0.0))
}

fn count_as(aggregates: Option<&Aggregates>, name: &str) -> Option<u64> {
    match aggregates?.get(Aggregate::Count, name)? {
        Value::Int(n) => Some((*n).max(0) as u64),
        _ => None,
    }
}

fn avg(aggregates: Option<&Aggregates>, column: &str) -> Option<f64> {
    as_float(aggregates?.get(Aggregate::Avg, column)?)
}

/// `Min` or `Max` of `column` read as `V` (`Ok(None)` when not loaded or NULL).
fn extreme<V: FromValue>(
    aggregates: Option<&Aggregates>,
    function: Aggregate,
    column: &str,
) -> Result<Option<V>> {
    match aggregates.and_then(|a| a.get(function, column)) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => V::from_value(value.as_ref())
            .map(Some)
            .map_err(|e| e.into_error(format!("{}({column})", function.function().to_lowercase()))),
    }
}

#[cfg(feature = "json")]
impl Aggregates {
    /// Writes each aggregate as Eloquent names it: `{relation}_{function}_{column}`
    /// (`posts_sum_votes`), the column without its table; a named count under its name.
    fn serialize_into<S: serde::ser::SerializeStruct>(
        &self,
        state: &mut S,
        relation: &str,
    ) -> Result<(), S::Error> {
        for (function, column, value) in self.0.iter().flatten() {
            if *function == Aggregate::Count {
                state.serialize_field(static_key(column.to_string()), value)?;
                continue;
            }
            let column = column.rsplit('.').next().unwrap_or(column);
            let function = function.function().to_lowercase();
            let key = static_key(format!("{relation}_{function}_{column}"));
            state.serialize_field(key, value)?;
        }
        Ok(())
    }
}

/// [`Aggregates::serialize_into`] for a container that may hold none.
#[cfg(feature = "json")]
fn serialize_aggregates<S: serde::ser::SerializeStruct>(
    aggregates: Option<&Aggregates>,
    state: &mut S,
    relation: &str,
) -> Result<(), S::Error> {
    match aggregates {
        Some(aggregates) => aggregates.serialize_into(state, relation),
        None => Ok(()),
    }
}

/// `key` as a `&'static str`, which `serde`'s structs take as field names: each
/// distinct key is kept once for the process (an app has a handful).
#[cfg(feature = "json")]
fn static_key(key: String) -> &'static str {
    static KEYS: std::sync::Mutex<Option<HashSet<&'static str>>> = std::sync::Mutex::new(None);
    let mut keys = KEYS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let keys = keys.get_or_insert_with(HashSet::new);
    if let Some(kept) = keys.get(key.as_str()) {
        return kept;
    }
    let kept: &'static str = Box::leak(key.into_boxed_str());
    keys.insert(kept);
    kept
}

/// A sum or average as read (a float; an integer where a backend kept one).
fn as_float(value: &Value) -> Option<f64> {
    match value {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        _ => None,
    }
}

struct ManyInner<T> {
    items: Option<Vec<T>>,
    count: Option<u64>,
    /// Whether any related row matched, from `with_exists`.
    exists: Option<bool>,
    aggregates: Aggregates,
    /// Per item, its pivot row, when eager loading read one (a belongs-to-many with
    /// `with_pivot` columns or pivot timestamps).
    pivots: Option<Vec<Record>>,
}

/// Models related by a foreign key on their table.
pub type HasMany<T> = Many<T>;
/// Models related through a pivot table.
pub type BelongsToMany<T> = Many<T>;
/// Models related through an intermediate table.
pub type HasManyThrough<T> = Many<T>;

impl<T> Many<T> {
    fn items(&self) -> Option<&Vec<T>> {
        self.inner.as_ref()?.items.as_ref()
    }

    fn inner_mut(&mut self) -> &mut ManyInner<T> {
        self.inner.get_or_insert_with(|| {
            Box::new(ManyInner {
                items: None,
                count: None,
                exists: None,
                aggregates: Aggregates::default(),
                pivots: None,
            })
        })
    }

    /// Whether the relation was loaded.
    pub fn is_loaded(&self) -> bool {
        self.items().is_some()
    }

    /// The loaded models, if loaded.
    pub fn loaded(&self) -> Option<&[T]> {
        self.items().map(Vec::as_slice)
    }

    /// The loaded models, to change (then `save` them, or `push` the parent), if loaded.
    pub fn loaded_mut(&mut self) -> Option<&mut [T]> {
        self.inner.as_mut()?.items.as_deref_mut()
    }

    /// The loaded list itself (its pivots and counts stay), if loaded.
    pub(super) fn loaded_vec_mut(&mut self) -> Option<&mut Vec<T>> {
        self.inner.as_mut()?.items.as_mut()
    }

    /// Replaces the loaded models (and forgets any pivot rows).
    pub fn set(&mut self, items: Vec<T>) {
        let inner = self.inner_mut();
        inner.items = Some(items);
        inner.pivots = None;
    }

    /// Takes the loaded models out (the relation becomes not loaded).
    pub fn take(&mut self) -> Vec<T> {
        match &mut *self.inner {
            Some(inner) => {
                inner.pivots = None;
                inner.items.take().unwrap_or_default()
            }
            None => Vec::new(),
        }
    }

    /// The pivot rows of the loaded models, in their order, when eager loading read them:
    /// a belongs-to-many (or morph-to-many) declaring `with_pivot = [..]` columns or
    /// pivot `timestamps`. Each holds those columns and the two pivot keys.
    pub fn pivots(&self) -> Option<&[Record]> {
        self.inner.as_ref()?.pivots.as_deref()
    }

    /// The loaded models, each with its pivot row (empty when no pivot was read: see
    /// [`Many::pivots`]).
    pub fn with_pivots(&self) -> impl Iterator<Item = (&T, &Record)> {
        let items = self.loaded().unwrap_or(&[]);
        let pivots = self.pivots().unwrap_or(&[]);
        items.iter().zip(pivots)
    }

    pub(super) fn set_with_pivots(&mut self, items: Vec<T>, pivots: Vec<Record>) {
        let inner = self.inner_mut();
        inner.items = Some(items);
        inner.pivots = Some(pivots);
    }

    /// The related row count from `with_count`, else the loaded length.
    pub fn count(&self) -> Option<u64> {
        let inner = self.inner.as_ref()?;
        inner
            .count
            .or_else(|| inner.items.as_ref().map(|v| v.len() as u64))
    }

    /// The count `with_count` loaded, if any (what serializes as `{relation}_count`).
    #[doc(hidden)]
    pub fn counted(&self) -> Option<u64> {
        self.inner.as_ref()?.count
    }

    #[doc(hidden)]
    pub fn count_slot(&mut self) -> &mut Option<u64> {
        &mut self.inner_mut().count
    }

    /// Whether the relation has any row: what `with_exists` loaded, else whether the
    /// `with_count` count or the loaded list is non-zero; `None` when none of them was
    /// loaded (Eloquent's `{relation}_exists`).
    pub fn exists(&self) -> Option<bool> {
        let inner = self.inner.as_ref()?;
        inner.exists.or_else(|| Some(self.count()? > 0))
    }

    /// What `with_exists` loaded, if it ran (what serializes as `{relation}_exists`).
    #[doc(hidden)]
    pub fn exists_loaded(&self) -> Option<bool> {
        self.inner.as_ref()?.exists
    }

    /// Writes the aggregates `with_sum` and its siblings loaded as
    /// `{relation}_{function}_{column}` fields (the derived `Serialize` calls it).
    #[doc(hidden)]
    #[cfg(feature = "json")]
    pub fn serialize_aggregates<S: serde::ser::SerializeStruct>(
        &self,
        state: &mut S,
        relation: &str,
    ) -> Result<(), S::Error> {
        serialize_aggregates(self.aggregates(), state, relation)
    }

    fn aggregates(&self) -> Option<&Aggregates> {
        self.inner.as_ref().map(|inner| &inner.aggregates)
    }

    /// The `function(column)` of the related rows that `with_sum`, `with_avg`,
    /// `with_min`, `with_max` (or `with_aggregate_where`, `Model::load_aggregate`) loaded:
    /// `None` when not loaded, `Some(Value::Null)` when there were no related rows.
    pub fn aggregate(&self, function: Aggregate, column: &str) -> Option<&Value> {
        self.aggregates()?.get(function, column)
    }

    /// The sum of `column` that `with_sum` loaded: `None` when not loaded, 0 when
    /// there are no related rows (as [`Query::sum`]).
    pub fn sum(&self, column: &str) -> Option<f64> {
        sum(self.aggregates(), column)
    }

    /// The average of `column` that `with_avg` loaded (`None` when not loaded or when
    /// there are no related rows: [`Self::aggregate`] tells the two apart).
    pub fn avg(&self, column: &str) -> Option<f64> {
        avg(self.aggregates(), column)
    }

    /// The smallest `column` that `with_min` loaded, read as `V` (`Ok(None)` when not
    /// loaded or when there are no related rows; an error when it does not read as `V`).
    pub fn min<V: FromValue>(&self, column: &str) -> Result<Option<V>> {
        extreme(self.aggregates(), Aggregate::Min, column)
    }

    /// The largest `column` that `with_max` loaded, as [`Self::min`].
    pub fn max<V: FromValue>(&self, column: &str) -> Result<Option<V>> {
        extreme(self.aggregates(), Aggregate::Max, column)
    }

    /// The count [`Query::with_count_as`] loaded under `name` (`None` when not loaded).
    pub fn count_as(&self, name: &str) -> Option<u64> {
        count_as(self.aggregates(), name)
    }
}

impl<T> Default for Many<T> {
    fn default() -> Self {
        Many {
            inner: ManuallyDrop::new(None),
        }
    }
}

impl<T: Clone> Clone for Many<T> {
    fn clone(&self) -> Self {
        Many {
            inner: ManuallyDrop::new(self.inner.as_ref().map(|inner| {
                Box::new(ManyInner {
                    items: inner.items.clone(),
                    count: inner.count,
                    exists: inner.exists,
                    aggregates: inner.aggregates.clone(),
                    pivots: inner.pivots.clone(),
                })
            })),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Many<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.loaded() {
            Some(items) => f.debug_list().entries(items).finish(),
            None => f.write_str("<not loaded>"),
        }
    }
}

impl<T: PartialEq> PartialEq for Many<T> {
    fn eq(&self, other: &Self) -> bool {
        self.loaded() == other.loaded()
    }
}

impl<T> Deref for Many<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.loaded().unwrap_or(&[])
    }
}

#[cfg(feature = "json")]
impl<T: serde::Serialize> serde::Serialize for Many<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.loaded().serialize(serializer)
    }
}

/// A loaded to-one relation (`HasOne`, `BelongsTo`, `HasOneThrough`).
pub struct One<T> {
    /// Nothing until something is loaded (or counted), as [`Many`]; dropped by
    /// [`discard`].
    inner: ManuallyDrop<Option<Box<OneInner<T>>>>,
}

impl<T> Drop for One<T> {
    #[inline]
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            discard(inner);
        }
    }
}

struct OneInner<T> {
    /// `Some` once loaded: the model, or `None` when there is none.
    item: Option<Option<T>>,
    count: Option<u64>,
    exists: Option<bool>,
    aggregates: Aggregates,
}

/// A model related by a foreign key on its table (at most one).
pub type HasOne<T> = One<T>;
/// The model this one holds a key to.
pub type BelongsTo<T> = One<T>;
/// A model related through an intermediate table (at most one).
pub type HasOneThrough<T> = One<T>;

impl<T> One<T> {
    /// `Some` once loaded: the model, or `None` when there is none.
    fn state(&self) -> Option<Option<&T>> {
        self.inner.as_ref()?.item.as_ref().map(Option::as_ref)
    }

    fn inner_mut(&mut self) -> &mut OneInner<T> {
        self.inner.get_or_insert_with(|| {
            Box::new(OneInner {
                item: None,
                count: None,
                exists: None,
                aggregates: Aggregates::default(),
            })
        })
    }

    /// Whether the relation was loaded.
    pub fn is_loaded(&self) -> bool {
        self.state().is_some()
    }

    /// The loaded model (`None` when not loaded or when there is none).
    pub fn get(&self) -> Option<&T> {
        self.state().flatten()
    }

    /// The loaded model, to change (then `save` it, or `push` the parent).
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.inner.as_mut()?.item.as_mut()?.as_mut()
    }

    /// What was loaded (the model, or `None` when there is none), if loaded.
    pub(super) fn loaded_slot_mut(&mut self) -> Option<&mut Option<T>> {
        self.inner.as_mut()?.item.as_mut()
    }

    /// Replaces the loaded model.
    pub fn set(&mut self, item: Option<T>) {
        self.inner_mut().item = Some(item);
    }

    /// Takes the loaded model out (the relation becomes not loaded).
    pub fn take(&mut self) -> Option<T> {
        self.inner.as_mut()?.item.take().flatten()
    }

    /// The count `with_count` loaded, if any (what serializes as `{relation}_count`).
    #[doc(hidden)]
    pub fn counted(&self) -> Option<u64> {
        self.inner.as_ref()?.count
    }

    #[doc(hidden)]
    pub fn count_slot(&mut self) -> &mut Option<u64> {
        &mut self.inner_mut().count
    }

    /// As [`Many::exists`]: what `with_exists` loaded, else whether a count or the loaded
    /// model says there is one.
    pub fn exists(&self) -> Option<bool> {
        let inner = self.inner.as_ref()?;
        inner.exists.or_else(|| Some(self.count()? > 0))
    }

    #[doc(hidden)]
    pub fn exists_loaded(&self) -> Option<bool> {
        self.inner.as_ref()?.exists
    }

    #[doc(hidden)]
    #[cfg(feature = "json")]
    pub fn serialize_aggregates<S: serde::ser::SerializeStruct>(
        &self,
        state: &mut S,
        relation: &str,
    ) -> Result<(), S::Error> {
        serialize_aggregates(self.aggregates(), state, relation)
    }

    fn aggregates(&self) -> Option<&Aggregates> {
        self.inner.as_ref().map(|inner| &inner.aggregates)
    }

    /// The related row count from `with_count` (how many rows the relation matches,
    /// which a has-one may exceed 1), else 0 or 1 when loaded; `None` when neither.
    pub fn count(&self) -> Option<u64> {
        let inner = self.inner.as_ref()?;
        inner
            .count
            .or_else(|| inner.item.as_ref().map(|item| u64::from(item.is_some())))
    }

    /// As [`Many::aggregate`], over the related row.
    pub fn aggregate(&self, function: Aggregate, column: &str) -> Option<&Value> {
        self.aggregates()?.get(function, column)
    }

    /// As [`Many::sum`].
    pub fn sum(&self, column: &str) -> Option<f64> {
        sum(self.aggregates(), column)
    }

    /// As [`Many::avg`].
    pub fn avg(&self, column: &str) -> Option<f64> {
        avg(self.aggregates(), column)
    }

    /// As [`Many::min`].
    pub fn min<V: FromValue>(&self, column: &str) -> Result<Option<V>> {
        extreme(self.aggregates(), Aggregate::Min, column)
    }

    /// As [`Many::max`].
    pub fn max<V: FromValue>(&self, column: &str) -> Result<Option<V>> {
        extreme(self.aggregates(), Aggregate::Max, column)
    }

    /// As [`Many::count_as`].
    pub fn count_as(&self, name: &str) -> Option<u64> {
        count_as(self.aggregates(), name)
    }
}

impl<T> Default for One<T> {
    fn default() -> Self {
        One {
            inner: ManuallyDrop::new(None),
        }
    }
}

impl<T: Clone> Clone for One<T> {
    fn clone(&self) -> Self {
        One {
            inner: ManuallyDrop::new(self.inner.as_ref().map(|inner| {
                Box::new(OneInner {
                    item: inner.item.clone(),
                    count: inner.count,
                    exists: inner.exists,
                    aggregates: inner.aggregates.clone(),
                })
            })),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for One<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.state() {
            Some(item) => item.fmt(f),
            None => f.write_str("<not loaded>"),
        }
    }
}

impl<T: PartialEq> PartialEq for One<T> {
    fn eq(&self, other: &Self) -> bool {
        self.state() == other.state()
    }
}

#[cfg(feature = "json")]
impl<T: serde::Serialize> serde::Serialize for One<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

// ----- lazy-loading prevention ----------------------------------------------------------

/// Saves the loaded models of a relation field, and theirs (`Model::push`; the derive
/// calls it for each relation but a `morph_to`).
#[doc(hidden)]
pub trait PushLoaded {
    /// Pushes every loaded model.
    fn push_loaded(&mut self) -> Result<()>;
}

impl<T: Model> PushLoaded for One<T> {
    fn push_loaded(&mut self) -> Result<()> {
        match self.get_mut() {
            Some(model) => model.push_in_place(),
            None => Ok(()),
        }
    }
}

impl<T: Model> PushLoaded for Many<T> {
    fn push_loaded(&mut self) -> Result<()> {
        for model in self.loaded_mut().unwrap_or_default() {
            model.push_in_place()?;
        }
        Ok(())
    }
}

impl<T: 'static> RelationSlot for One<T> {
    fn set_exists(&mut self, exists: bool) {
        self.inner_mut().exists = Some(exists);
    }
    fn is_loaded(&self) -> bool {
        One::is_loaded(self)
    }
    fn set_aggregate(&mut self, function: Aggregate, column: &str, value: Value) {
        self.inner_mut().aggregates.set(function, column, value);
    }
    fn unload(&mut self) {
        self.take();
    }
    fn clear(&mut self) {
        self.set(None);
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

impl<T: 'static> RelationSlot for Many<T> {
    fn set_exists(&mut self, exists: bool) {
        self.inner_mut().exists = Some(exists);
    }
    fn is_loaded(&self) -> bool {
        Many::is_loaded(self)
    }
    fn set_aggregate(&mut self, function: Aggregate, column: &str, value: Value) {
        self.inner_mut().aggregates.set(function, column, value);
    }
    fn unload(&mut self) {
        self.take();
    }
    fn clear(&mut self) {
        self.set(Vec::new());
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregates_cost_a_loaded_relation_two_words() {
        assert_eq!(std::mem::size_of::<Aggregates>(), 16);
    }

    #[test]
    fn an_unloaded_relation_is_one_pointer() {
        assert_eq!(std::mem::size_of::<Many<[u8; 100]>>(), 8);
        assert_eq!(std::mem::size_of::<One<[u8; 100]>>(), 8);
    }

    #[test]
    fn dropping_a_container_drops_what_it_holds() {
        let held = std::rc::Rc::new(());
        let mut many = Many::default();
        many.set(vec![held.clone(), held.clone()]);
        let mut one = One::default();
        one.set(Some(held.clone()));
        let copies = (many.clone(), one.clone());
        assert_eq!(std::rc::Rc::strong_count(&held), 7);
        many.set(vec![held.clone()]);
        assert_eq!(
            std::rc::Rc::strong_count(&held),
            6,
            "set drops what it replaces"
        );
        drop((many, one, copies));
        assert_eq!(std::rc::Rc::strong_count(&held), 1);
        drop((
            Many::<std::rc::Rc<()>>::default(),
            One::<std::rc::Rc<()>>::default(),
        ));
    }

    #[test]
    fn many_loads_takes_counts_and_compares() {
        let mut many = Many::<i64>::default();
        assert!(!many.is_loaded() && many.is_empty() && many.count().is_none());
        assert_eq!(format!("{many:?}"), "<not loaded>");
        *many.count_slot() = Some(7);
        assert!(!many.is_loaded());
        assert_eq!(many.count(), Some(7));
        many.set(vec![1, 2]);
        assert_eq!(many.loaded(), Some(&[1, 2][..]));
        assert_eq!(
            many.count(),
            Some(7),
            "a with_count count wins over the length"
        );
        let copy = many.clone();
        assert_eq!(copy, many);
        assert_eq!(format!("{copy:?}"), "[1, 2]");
        assert_eq!(many.take(), vec![1, 2]);
        assert!(!many.is_loaded());
        assert_ne!(copy, many);
        let mut counted = Many::<i64>::default();
        counted.set(vec![3]);
        assert_eq!(counted.count(), Some(1));
    }

    #[test]
    fn one_tells_not_loaded_from_none() {
        let mut one = One::<String>::default();
        assert!(!one.is_loaded() && one.get().is_none());
        assert_eq!(format!("{one:?}"), "<not loaded>");
        one.set(None);
        assert!(one.is_loaded() && one.get().is_none());
        assert_eq!(format!("{one:?}"), "None");
        assert_ne!(one, One::default());
        one.set(Some("Ada".to_owned()));
        assert_eq!(one.get().map(String::as_str), Some("Ada"));
        assert_eq!(one.clone(), one);
        *one.count_slot() = Some(1);
        assert_eq!(one.take().as_deref(), Some("Ada"));
        assert!(!one.is_loaded());
        assert_eq!(one.take(), None);
    }
}
