//! [`ModelState`]: what a model remembers about its row, so `save` writes only what
//! changed and knows a stored model from a new one.

use std::sync::Arc;

use crate::value::Value;
use crate::write_marks::WriteMark;

/// A model's memory of its row: whether it is stored, the column values as last read or
/// saved, and the named connection it was read from.
///
/// Add it to a model as a field of this type (any name; `#[model(state)]` marks it when
/// the type is spelled through an alias). It is not a column and is never serialised.
/// With it, `save` on a stored model writes only the changed columns (and nothing when
/// nothing changed), `save` on a new model inserts it, and `is_dirty`/`get_dirty`
/// answer without a query.
///
/// `Default` is a new, unsaved model; `Clone` copies the memory with the values (a copy
/// of a stored model is stored). Two models compare equal whatever their states: the
/// state is bookkeeping, not data. A model that derives `serde::Deserialize` marks the
/// field `#[serde(skip)]` (a deserialised model is new).
///
/// ```
/// use orm_core::prelude::*;
///
/// #[derive(Debug, Clone, Default, Model)]
/// pub struct Post {
///     pub id: Option<i64>,
///     pub title: String,
///     pub state: ModelState,
/// }
///
/// DB::connect("sqlite::memory:")?;
/// DB::statement("CREATE TABLE posts (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")?;
/// let mut post = Post::create(Post { title: "Hello".into(), ..Default::default() })?;
/// assert!(post.state.is_stored());
/// post.title = "Hello, world".into();
/// assert!(post.is_dirty()?);                       // no query: compared with the state
/// assert_eq!(post.get_original("title"), Some(Value::from("Hello")));
/// post.save()?;                                    // UPDATE posts SET title = ? ...
/// assert!(!post.is_dirty()?);
/// # Ok::<(), orm_core::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct ModelState {
    /// The column values as read or last saved, in column order; `None`: not stored.
    original: Option<Box<[Value]>>,
    /// The named connection the model was read from, when not the model's own.
    connection: Option<Arc<str>>,
    /// What this copy's own writes did, when it wrote (kept apart so that a model read
    /// and never written carries one pointer for it).
    history: Option<Box<History>>,
    /// Read in a result of more than one row: reading its relations one by one is the
    /// N+1 pattern `DB::prevent_lazy_loading` refuses (Eloquent guards only such models).
    read_with_others: bool,
}

/// What a model's own writes did: whether it inserted its row, and which columns its
/// last update wrote.
#[derive(Clone, Default)]
struct History {
    created: bool,
    changes: Vec<usize>,
    /// The values of `changes` before the update, in the same order.
    previous: Vec<Value>,
    /// The writes made inside transactions not yet over, oldest first, each with how to
    /// take it back should its transaction roll back (see [`ModelState::settle`]).
    undo: Vec<(Arc<WriteMark>, Undo)>,
}

/// How to take a write back in the state.
#[derive(Clone)]
enum Undo {
    /// The write inserted the row: the model was new (and had or had not inserted a
    /// row of its own before).
    Inserted { was_created: bool },
    /// The write changed these columns, whose values as stored were these.
    Columns(Vec<(usize, Value)>),
    /// The write deleted the row, stored with these values.
    Deleted(Box<[Value]>),
}

/// What a write did to a model's row, for [`ModelState::remember_write`].
pub(crate) enum Written<'a> {
    Inserted,
    Columns(&'a [usize]),
    Deleted,
}

impl ModelState {
    /// Whether the model's row is stored (read from the database or saved; a row it
    /// inserted in a transaction that then rolled back is not).
    pub fn is_stored(&self) -> bool {
        match self.undone() {
            None => self.original.is_some(),
            Some(undone) => {
                let mut stored = self.original.is_some();
                for (_, undo) in undone.iter().rev() {
                    match undo {
                        Undo::Inserted { .. } => stored = false,
                        Undo::Deleted(_) => stored = true,
                        Undo::Columns(_) => {}
                    }
                }
                stored
            }
        }
    }

    /// The writes whose transactions rolled back, from the first of them on.
    fn undone(&self) -> Option<&[(Arc<WriteMark>, Undo)]> {
        let undo = &self.history.as_ref()?.undo;
        let first = undo.iter().position(|(mark, _)| mark.rolled_back())?;
        Some(&undo[first..])
    }

    /// Before the state takes in a write made inside a transaction (`mark`): remembers
    /// how to take it back should that transaction roll back, so that a model saved in
    /// a rolled-back transaction is written again by its next save, not taken as
    /// stored. A deleted row's values move here (the state forgets them anyway).
    pub(crate) fn remember_write(&mut self, mark: Arc<WriteMark>, written: Written<'_>) {
        self.settle();
        let undo = match written {
            Written::Inserted => Undo::Inserted {
                was_created: self.was_recently_created(),
            },
            Written::Columns(positions) => {
                let Some(original) = &self.original else {
                    return;
                };
                let values = positions
                    .iter()
                    .filter_map(|&i| Some((i, original.get(i)?.clone())))
                    .collect();
                Undo::Columns(values)
            }
            Written::Deleted => match self.original.take() {
                Some(original) => Undo::Deleted(original),
                None => return,
            },
        };
        let history = self.history.get_or_insert_with(Box::default);
        history.undo.push((mark, undo));
    }

    /// Takes back what the writes of transactions that rolled back did to the state
    /// (newest first), and forgets the writes whose transactions committed. Every write
    /// of a model calls it first.
    pub(crate) fn settle(&mut self) {
        let ModelState {
            original, history, ..
        } = self;
        let Some(history) = history.as_mut() else {
            return;
        };
        if history.undo.is_empty() {
            return;
        }
        if let Some(first) = history.undo.iter().position(|(mark, _)| mark.rolled_back()) {
            let undone = history.undo.split_off(first);
            take_back(&undone, original, &mut history.created);
        }
        history.undo.retain(|(mark, _)| !mark.committed());
    }

    /// The values as read or last saved, as [`ModelState::settle`] would leave them:
    /// the state itself, or, after a rollback not yet settled, a copy with the undone
    /// writes taken back. The readers (`is_dirty`, `get_original`, `discard_changes`)
    /// take `&self` and must not answer from the values a rolled-back write left.
    pub(crate) fn settled_original(&self) -> Option<std::borrow::Cow<'_, [Value]>> {
        use std::borrow::Cow;
        let Some(undone) = self.undone() else {
            return self.original.as_deref().map(Cow::Borrowed);
        };
        let mut original = self.original.clone();
        // Only the values are read here (`was_recently_created` reads its own flag).
        take_back(undone, &mut original, &mut false);
        original.map(|values| Cow::Owned(values.into_vec()))
    }

    /// The named connection the model was read from or saved on, when it is not the
    /// model's own (`#[model(connection)]`, `default` unless set).
    pub fn connection(&self) -> Option<&str> {
        self.connection.as_deref()
    }

    /// Sends this model's writes and reads (`save`, `delete`, `refresh`, its relation
    /// queries) to the named connection `name`: what reading it through
    /// `query().use_connection(name)` does, for a model built by hand.
    pub fn use_connection(&mut self, name: &str) {
        self.connection = Some(Arc::from(name));
    }

    /// The column values as read or last saved (`None` for a new model).
    pub(crate) fn original(&self) -> Option<&[Value]> {
        self.original.as_deref()
    }

    pub(crate) fn original_mut(&mut self) -> Option<&mut [Value]> {
        self.original.as_deref_mut()
    }

    pub(crate) fn set_original(&mut self, values: Option<Box<[Value]>>) {
        self.original = values;
    }

    /// Whether this model inserted its row (`save` on a new model, `create`,
    /// `first_or_create` when it created): Eloquent's `wasRecentlyCreated`. It stays true
    /// after later updates of the same model; a model read from the database is false.
    pub fn was_recently_created(&self) -> bool {
        let created = self.history.as_ref().is_some_and(|h| h.created);
        match self.undone() {
            None => created,
            Some(undone) => undone
                .iter()
                .find_map(|(_, undo)| match undo {
                    Undo::Inserted { was_created } => Some(*was_created),
                    _ => None,
                })
                .unwrap_or(created),
        }
    }

    /// The positions of the columns the model's last update wrote (empty before one).
    pub(crate) fn changes(&self) -> &[usize] {
        self.history.as_ref().map_or(&[], |h| &h.changes)
    }

    pub(crate) fn record_created(&mut self) {
        self.history.get_or_insert_with(Box::default).created = true;
    }

    /// The values of [`ModelState::changes`] before the update that wrote them.
    pub(crate) fn previous(&self) -> &[Value] {
        self.history.as_ref().map_or(&[], |h| &h.previous)
    }

    /// Records the columns an update wrote, taking their values as read before it from
    /// the original values (not yet synced).
    pub(crate) fn record_changes(&mut self, positions: Vec<usize>) {
        let previous = match &self.original {
            Some(original) => positions
                .iter()
                .map(|&i| original.get(i).cloned().unwrap_or_default())
                .collect(),
            None => Vec::new(),
        };
        let history = self.history.get_or_insert_with(Box::default);
        history.changes = positions;
        history.previous = previous;
    }

    pub(crate) fn shared_connection(&self) -> Option<&Arc<str>> {
        self.connection.as_ref()
    }

    pub(crate) fn set_connection(&mut self, connection: Option<Arc<str>>) {
        self.connection = connection;
    }

    /// Whether the model was read in a result of more than one row.
    pub(crate) fn read_with_others(&self) -> bool {
        self.read_with_others
    }

    pub(crate) fn set_read_with_others(&mut self) {
        self.read_with_others = true;
    }
}

impl std::fmt::Debug for ModelState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut s = f.debug_struct("ModelState");
        s.field("stored", &self.is_stored());
        if let Some(name) = &self.connection {
            s.field("connection", name);
        }
        s.finish()
    }
}

impl PartialEq for ModelState {
    /// Always equal: two models are equal when their columns are.
    fn eq(&self, _: &ModelState) -> bool {
        true
    }
}

impl Eq for ModelState {}

impl std::hash::Hash for ModelState {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

/// Takes back, newest first, the writes `undone` did to `original` and `created`.
fn take_back(
    undone: &[(Arc<WriteMark>, Undo)],
    original: &mut Option<Box<[Value]>>,
    created: &mut bool,
) {
    for (_, undo) in undone.iter().rev() {
        match undo {
            Undo::Inserted { was_created } => {
                *original = None;
                *created = *was_created;
            }
            Undo::Columns(values) => {
                if let Some(original) = original.as_deref_mut() {
                    for (i, value) in values {
                        if let Some(slot) = original.get_mut(*i) {
                            *slot = value.clone();
                        }
                    }
                }
            }
            Undo::Deleted(values) => *original = Some(values.clone()),
        }
    }
}
