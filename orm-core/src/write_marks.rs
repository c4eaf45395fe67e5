//! What became of the transaction a write ran in, for models that remember their rows
//! (`ModelState`): a model saved inside a transaction that then rolls back must not
//! keep taking the write as stored.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

const COMMITTED: u8 = 1;
const ROLLED_BACK: u8 = 2;
/// A savepoint released: its writes share the fate of the level it was released into.
const RELEASED: u8 = 3;

/// One transaction level's outcome (0 while the level is open), shared by the
/// connection and the models written in that level.
#[derive(Debug, Default)]
pub(crate) struct WriteMark {
    outcome: AtomicU8,
    parent: OnceLock<Arc<WriteMark>>,
}

impl WriteMark {
    /// Whether the writes made under this mark were undone.
    pub(crate) fn rolled_back(&self) -> bool {
        match self.outcome.load(Ordering::Acquire) {
            ROLLED_BACK => true,
            RELEASED => self.parent.get().is_some_and(|p| p.rolled_back()),
            _ => false,
        }
    }

    /// Whether the writes made under this mark are committed for good.
    pub(crate) fn committed(&self) -> bool {
        match self.outcome.load(Ordering::Acquire) {
            COMMITTED => true,
            RELEASED => self.parent.get().is_some_and(|p| p.committed()),
            _ => false,
        }
    }
}

/// The marks of a connection's open levels, outermost first; one slot per level, made
/// when a model first asks for it. Levels the connection still has open when it is
/// dropped never commit.
#[derive(Debug, Default)]
pub(crate) struct WriteMarks(Vec<Option<Arc<WriteMark>>>);

impl WriteMarks {
    pub(crate) fn opened(&mut self) {
        self.0.push(None);
    }

    /// The innermost level's mark (made now when it has none).
    pub(crate) fn current(&mut self) -> Option<Arc<WriteMark>> {
        self.0
            .last_mut()
            .map(|slot| Arc::clone(slot.get_or_insert_default()))
    }

    pub(crate) fn committed(&mut self) {
        let Some(mark) = self.0.pop().flatten() else {
            return;
        };
        match self.0.last_mut() {
            Some(parent) => {
                let _ = mark.parent.set(Arc::clone(parent.get_or_insert_default()));
                mark.outcome.store(RELEASED, Ordering::Release);
            }
            None => mark.outcome.store(COMMITTED, Ordering::Release),
        }
    }

    pub(crate) fn rolled_back(&mut self) {
        if let Some(mark) = self.0.pop().flatten() {
            mark.outcome.store(ROLLED_BACK, Ordering::Release);
        }
    }

    /// The database undid every open level (and the connection opens them again): what
    /// was written in them is gone.
    pub(crate) fn all_undone(&mut self) {
        for slot in &mut self.0 {
            if let Some(mark) = slot.take() {
                mark.outcome.store(ROLLED_BACK, Ordering::Release);
            }
        }
    }
}

impl Drop for WriteMarks {
    fn drop(&mut self) {
        self.all_undone();
    }
}
