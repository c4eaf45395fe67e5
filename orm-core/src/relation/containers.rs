//! `Many` and `One`: the fields that hold a loaded relation.

use super::*;

/// A loaded to-many relation (`HasMany`, `BelongsToMany`, `HasManyThrough`): empty and
/// not loaded until eager loading fills it. Dereferences to the loaded slice (empty when
/// not loaded; [`Many::is_loaded`] tells the difference).
pub struct Many<T> {
    pub(super) items: Option<Vec<T>>,
    /// The count and pivot rows, when loaded: boxed, so that a model with relations it
    /// did not load stays small (its rows are allocated, moved and freed by the
    /// hundred).
    extra: Option<Box<ManyExtra>>,
}

#[derive(Clone, Default)]
struct ManyExtra {
    count: Option<u64>,
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
    /// Whether the relation was loaded.
    pub fn is_loaded(&self) -> bool {
        self.items.is_some()
    }

    /// The loaded models, if loaded.
    pub fn loaded(&self) -> Option<&[T]> {
        self.items.as_deref()
    }

    /// Replaces the loaded models (and forgets any pivot rows).
    pub fn set(&mut self, items: Vec<T>) {
        self.items = Some(items);
        self.forget_pivots();
    }

    fn forget_pivots(&mut self) {
        if let Some(extra) = &mut self.extra {
            extra.pivots = None;
        }
    }

    /// Takes the loaded models out (the relation becomes not loaded).
    pub fn take(&mut self) -> Vec<T> {
        self.forget_pivots();
        self.items.take().unwrap_or_default()
    }

    /// The pivot rows of the loaded models, in their order, when eager loading read them:
    /// a belongs-to-many (or morph-to-many) declaring `with_pivot = [..]` columns or
    /// pivot `timestamps`. Each holds those columns and the two pivot keys.
    pub fn pivots(&self) -> Option<&[Record]> {
        self.extra.as_ref()?.pivots.as_deref()
    }

    /// The loaded models, each with its pivot row (empty when no pivot was read: see
    /// [`Many::pivots`]).
    pub fn with_pivots(&self) -> impl Iterator<Item = (&T, &Record)> {
        let items = self.items.as_deref().unwrap_or(&[]);
        let pivots = self.pivots().unwrap_or(&[]);
        items.iter().zip(pivots)
    }

    pub(super) fn set_with_pivots(&mut self, items: Vec<T>, pivots: Vec<Record>) {
        self.items = Some(items);
        self.extra.get_or_insert_default().pivots = Some(pivots);
    }

    /// The related row count from `with_count`, else the loaded length.
    pub fn count(&self) -> Option<u64> {
        self.extra
            .as_ref()
            .and_then(|extra| extra.count)
            .or_else(|| self.items.as_ref().map(|v| v.len() as u64))
    }

    #[doc(hidden)]
    pub fn count_slot(&mut self) -> &mut Option<u64> {
        &mut self.extra.get_or_insert_default().count
    }
}

impl<T> Default for Many<T> {
    fn default() -> Self {
        Many {
            items: None,
            extra: None,
        }
    }
}

impl<T: Clone> Clone for Many<T> {
    fn clone(&self) -> Self {
        Many {
            items: self.items.clone(),
            extra: self.extra.clone(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Many<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.items {
            Some(items) => f.debug_list().entries(items).finish(),
            None => f.write_str("<not loaded>"),
        }
    }
}

impl<T: PartialEq> PartialEq for Many<T> {
    fn eq(&self, other: &Self) -> bool {
        self.items == other.items
    }
}

impl<T> Deref for Many<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.items.as_deref().unwrap_or(&[])
    }
}

impl<T: serde::Serialize> serde::Serialize for Many<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.items.serialize(serializer)
    }
}

/// A loaded to-one relation (`HasOne`, `BelongsTo`, `HasOneThrough`).
pub struct One<T> {
    pub(super) item: Option<Option<Box<T>>>,
    pub(super) count: Option<u64>,
}

/// A model related by a foreign key on its table (at most one).
pub type HasOne<T> = One<T>;
/// The model this one holds a key to.
pub type BelongsTo<T> = One<T>;
/// A model related through an intermediate table (at most one).
pub type HasOneThrough<T> = One<T>;

impl<T> One<T> {
    /// Whether the relation was loaded.
    pub fn is_loaded(&self) -> bool {
        self.item.is_some()
    }

    /// The loaded model (`None` when not loaded or when there is none).
    pub fn get(&self) -> Option<&T> {
        self.item.as_ref().and_then(|i| i.as_deref())
    }

    /// Replaces the loaded model.
    pub fn set(&mut self, item: Option<T>) {
        self.item = Some(item.map(Box::new));
    }

    /// Takes the loaded model out (the relation becomes not loaded).
    pub fn take(&mut self) -> Option<T> {
        self.item.take().flatten().map(|b| *b)
    }

    #[doc(hidden)]
    pub fn count_slot(&mut self) -> &mut Option<u64> {
        &mut self.count
    }
}

impl<T> Default for One<T> {
    fn default() -> Self {
        One {
            item: None,
            count: None,
        }
    }
}

impl<T: Clone> Clone for One<T> {
    fn clone(&self) -> Self {
        One {
            item: self.item.clone(),
            count: self.count,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for One<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.item {
            Some(item) => item.fmt(f),
            None => f.write_str("<not loaded>"),
        }
    }
}

impl<T: PartialEq> PartialEq for One<T> {
    fn eq(&self, other: &Self) -> bool {
        self.item == other.item
    }
}

impl<T: serde::Serialize> serde::Serialize for One<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

// ----- lazy-loading prevention ----------------------------------------------------------
