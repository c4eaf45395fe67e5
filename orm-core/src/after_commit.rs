//! `DB::after_commit`: callbacks held until the thread's outermost `DB::transaction` on
//! a connection commits, and dropped when the level they were registered in rolls back;
//! `DB::after_rollback`: the other way round.

use std::cell::RefCell;

/// A callback waiting for its transaction to commit.
struct Pending {
    name: String,
    /// The `DB::transaction` level (1: outermost) it was registered in.
    level: usize,
    /// Run when that level rolls back (`after_rollback`), not when it commits.
    on_rollback: bool,
    callback: Box<dyn FnOnce()>,
}

thread_local! {
    /// The connection names of this thread's open `DB::transaction` levels, innermost last.
    static LEVELS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static PENDING: RefCell<Vec<Pending>> = const { RefCell::new(Vec::new()) };
}

fn depth(name: &str) -> usize {
    LEVELS.with(|levels| levels.borrow().iter().filter(|n| *n == name).count())
}

/// Runs `callback` once this thread's open `DB::transaction` on `name` commits; at once
/// when none is open.
pub(crate) fn register(name: &str, callback: Box<dyn FnOnce()>) {
    if let Some(callback) = hold(name, callback, false) {
        callback();
    }
}

/// Runs `callback` if the innermost open `DB::transaction` level on `name` (or one
/// around it) rolls back; dropped when the outermost one commits, and at once when none
/// is open (there is nothing to roll back).
pub(crate) fn register_rollback(name: &str, callback: Box<dyn FnOnce()>) {
    drop(hold(name, callback, true));
}

/// Holds `callback` for the innermost open level on `name`; hands it back when none is
/// open.
fn hold(name: &str, callback: Box<dyn FnOnce()>, on_rollback: bool) -> Option<Box<dyn FnOnce()>> {
    let level = depth(name);
    if level == 0 {
        return Some(callback);
    }
    PENDING.with(|pending| {
        pending.borrow_mut().push(Pending {
            name: name.to_owned(),
            level,
            on_rollback,
            callback,
        })
    });
    None
}

/// A `DB::transaction` level open on a connection. Unless it is committed, its end
/// (a rollback, a failed commit, a panic) drops the callbacks registered in it and in
/// the levels inside it.
pub(crate) struct Level {
    name: String,
    level: usize,
    committed: bool,
}

/// Opens a level on `name`.
pub(crate) fn enter(name: &str) -> Level {
    LEVELS.with(|levels| levels.borrow_mut().push(name.to_owned()));
    Level {
        name: name.to_owned(),
        level: depth(name),
        committed: false,
    }
}

/// Every callback held for connection `name`, taken out of the thread's list.
fn take_pending(name: &str) -> Vec<Pending> {
    PENDING.with(|pending| {
        let mut pending = pending.borrow_mut();
        let (ours, others): (Vec<Pending>, Vec<Pending>) =
            pending.drain(..).partition(|p| p.name == name);
        *pending = others;
        ours
    })
}

/// Callbacks to run, in the order they were registered.
pub(crate) struct Ready(Vec<Box<dyn FnOnce()>>);

impl Ready {
    /// Runs them (after the transaction's connection went back to its pool, so that
    /// they may use the database).
    pub(crate) fn run(self) {
        for callback in self.0 {
            callback();
        }
    }
}

impl Level {
    /// The level committed. The outermost one hands back the callbacks held for its
    /// connection; an inner one (a savepoint) hands its own (and its inner levels') to
    /// the level around it, so that a later sibling level that rolls back does not drop
    /// them: they now stand or fall with the enclosing level.
    pub(crate) fn committed(mut self) -> Ready {
        self.committed = true;
        if self.level != 1 {
            let (name, level) = (&self.name, self.level);
            PENDING.with(|pending| {
                for p in pending.borrow_mut().iter_mut() {
                    if p.name == *name && p.level >= level {
                        p.level = level - 1;
                    }
                }
            });
            return Ready(Vec::new());
        }
        // The rollback callbacks are dropped: the transaction did not roll back.
        let ready = take_pending(&self.name)
            .into_iter()
            .filter(|p| !p.on_rollback)
            .map(|p| p.callback)
            .collect();
        Ready(ready)
    }

    /// Whether this is the outermost level on its connection (its end is the COMMIT).
    pub(crate) fn is_outermost(&self) -> bool {
        self.level == 1
    }

    /// The outermost level's COMMIT was sent and its answer lost with the connection:
    /// whether the transaction committed is unknown, so neither its commit nor its
    /// rollback callbacks run. They are dropped, the callbacks (and their captures)
    /// outside the borrow.
    pub(crate) fn outcome_unknown(mut self) {
        self.committed = true;
        drop(take_pending(&self.name));
    }
}

impl Drop for Level {
    fn drop(&mut self) {
        LEVELS.with(|levels| {
            let mut levels = levels.borrow_mut();
            if let Some(i) = levels.iter().rposition(|n| *n == self.name) {
                levels.remove(i);
            }
        });
        if !self.committed {
            let dropped: Vec<Pending> = PENDING.with(|pending| {
                let mut pending = pending.borrow_mut();
                let (gone, kept): (Vec<Pending>, Vec<Pending>) = pending
                    .drain(..)
                    .partition(|p| p.name == self.name && p.level >= self.level);
                *pending = kept;
                gone
            });
            // Run or dropped outside the borrow: a callback (or its captures) may
            // register another. Not while a panic unwinds, where a second panic aborts.
            let unwinding = std::thread::panicking();
            for pending in dropped {
                if pending.on_rollback && !unwinding {
                    (pending.callback)();
                }
            }
        }
    }
}
