//! Putting models back as they were when a write spanning several of them fails and
//! rolls back (`push`, `save_many`). A save changes the model in memory (a new key,
//! timestamps, its state marking the row stored and clean): kept after the rollback,
//! that would say the rolled-back rows exist, and a retry of the same call would skip
//! them, or write an update that finds no row.

use std::cell::RefCell;

use super::persist::Persist;
use crate::state::ModelState;
use crate::value::Value;

/// A model's column values and state, as before a write.
pub(crate) struct Snapshot {
    values: Vec<Value>,
    state: Option<ModelState>,
}

impl Snapshot {
    pub(crate) fn take(model: &dyn Persist) -> Snapshot {
        Snapshot {
            values: model.to_values(),
            state: model.state().cloned(),
        }
    }

    pub(crate) fn restore(self, model: &mut dyn Persist) {
        for (column, value) in model.meta().columns.iter().zip(&self.values) {
            // The values came from this model's own fields: each one fits back.
            let _ = model.set_column(column, value.as_ref());
        }
        if let (Some(state), Some(slot)) = (self.state, model.state_mut()) {
            *slot = state;
        }
    }
}

/// What `push` does on this thread: record each model it visits, or put them back.
enum Journal {
    Recording(Vec<Snapshot>),
    Restoring(std::vec::IntoIter<Snapshot>),
}

thread_local! {
    static JOURNAL: RefCell<Option<Journal>> = const { RefCell::new(None) };
}

/// Runs `walk(true)` (a `push`: the walk over the models, saving each, in a
/// transaction) recording a snapshot of each model it visits; when it fails, runs
/// `walk(false)` (the same walk, without a transaction), which puts every visited
/// model back instead of saving it.
pub(crate) fn push_all_or_none(
    walk: &mut dyn FnMut(bool) -> crate::Result<()>,
) -> crate::Result<()> {
    let outer = JOURNAL.with(|j| j.replace(Some(Journal::Recording(Vec::new()))));
    let result = walk(true);
    let recorded = JOURNAL.with(|j| j.replace(outer));
    if result.is_err() {
        if let Some(Journal::Recording(snapshots)) = recorded {
            let restoring = Journal::Restoring(snapshots.into_iter());
            let outer = JOURNAL.with(|j| j.replace(Some(restoring)));
            let _ = walk(false);
            JOURNAL.with(|j| j.replace(outer));
        }
    }
    result
}

/// Called by `push` for each model before saving it: records it, or, on the walk that
/// puts models back, restores it and returns `true` (not to be saved).
pub(crate) fn visit(model: &mut dyn Persist) -> bool {
    JOURNAL.with(|j| match &mut *j.borrow_mut() {
        Some(Journal::Recording(snapshots)) => {
            snapshots.push(Snapshot::take(model));
            false
        }
        Some(Journal::Restoring(snapshots)) => {
            if let Some(snapshot) = snapshots.next() {
                snapshot.restore(model);
            }
            true
        }
        None => false,
    })
}
