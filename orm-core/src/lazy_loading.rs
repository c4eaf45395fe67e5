//! The lazy-loading guard's setting: reading a relation that was not eager loaded is an
//! error while it is on. It sits below `db`, `relation` and `testing`, which all use
//! it: `testing` says when a thread holds a test database (the setting is then that
//! thread's own), so the guard never asks `testing`.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

static PREVENT_LAZY_LOADING: AtomicBool = AtomicBool::new(false);

thread_local! {
    static PREVENT_ON_THIS_THREAD: Cell<Option<bool>> = const { Cell::new(None) };
    /// Test databases alive on this thread.
    static THREAD_SCOPES: Cell<usize> = const { Cell::new(0) };
}

/// Turns lazy-loading prevention on or off. On a thread with a test database
/// ([`crate::testing`]) it applies to that thread only, so parallel tests do not affect
/// each other; elsewhere it applies to the whole process.
pub(crate) fn prevent_lazy_loading(on: bool) {
    if THREAD_SCOPES.with(Cell::get) > 0 {
        PREVENT_ON_THIS_THREAD.with(|c| c.set(Some(on)));
    } else {
        PREVENT_LAZY_LOADING.store(on, Ordering::Relaxed);
    }
}

pub(crate) fn lazy_loading_prevented() -> bool {
    PREVENT_ON_THIS_THREAD
        .with(Cell::get)
        .unwrap_or_else(|| PREVENT_LAZY_LOADING.load(Ordering::Relaxed))
}

/// A test database was installed on this thread: the setting becomes the thread's own.
/// Returns the thread's setting as it was, for [`leave_thread_scope`] to restore.
pub(crate) fn enter_thread_scope() -> Option<bool> {
    THREAD_SCOPES.with(|c| c.set(c.get() + 1));
    PREVENT_ON_THIS_THREAD.with(Cell::get)
}

/// A test database was dropped: the thread's setting is again what it was when that
/// database was installed (a nested guard's setting ends with it); with the thread's
/// last one, its own setting goes.
pub(crate) fn leave_thread_scope(before: Option<bool>) {
    let left = THREAD_SCOPES.with(|c| {
        let n = c.get().saturating_sub(1);
        c.set(n);
        n
    });
    PREVENT_ON_THIS_THREAD.with(|c| c.set(if left == 0 { None } else { before }));
}
