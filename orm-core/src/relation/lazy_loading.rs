//! The lazy-loading guard: reading a relation that was not eager loaded is an error while it is on.

use super::*;

pub(super) static PREVENT_LAZY_LOADING: AtomicBool = AtomicBool::new(false);

thread_local! {
    static PREVENT_ON_THIS_THREAD: Cell<Option<bool>> = const { Cell::new(None) };
}

/// Turns lazy-loading prevention on or off. On a thread with a test database
/// ([`crate::testing`]) it applies to that thread only, so parallel tests do not affect
/// each other; elsewhere it applies to the whole process.
pub(crate) fn prevent_lazy_loading(on: bool) {
    if crate::testing::has_test_database() {
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

pub(crate) fn reset_thread_lazy_loading() {
    PREVENT_ON_THIS_THREAD.with(|c| c.set(None));
}

// ----- relation queries -----------------------------------------------------------------
