//! Timestamps paused per model on one thread ([`crate::Model::without_timestamps`]):
//! the check model writes and model queries' updates make before stamping; touches
//! of owners paused ([`crate::Model::without_touching`], [`crate::without_touching`]);
//! and every model's hooks paused ([`crate::Model::without_events`]).

thread_local! {
    /// How many [`without_events`] calls are running on this thread.
    static QUIET: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Whether [`without_events`] pauses the models' hooks on this thread.
pub(crate) fn events_paused() -> bool {
    QUIET.with(std::cell::Cell::get) > 0
}

/// Runs `f` with the hooks of every model paused on this thread; they run again when `f`
/// returns or unwinds. See [`crate::Model::without_events`].
pub(crate) fn without_events<R>(f: impl FnOnce() -> R) -> R {
    struct Resume;
    impl Drop for Resume {
        fn drop(&mut self) {
            QUIET.with(|quiet| quiet.set(quiet.get() - 1));
        }
    }
    QUIET.with(|quiet| quiet.set(quiet.get() + 1));
    let _resume = Resume;
    f()
}

thread_local! {
    /// The models (by type name) whose timestamps [`crate::Model::without_timestamps`] pauses
    /// on this thread; empty nearly always, so the check is a length test.
    static UNTIMED: std::cell::RefCell<Vec<&'static str>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

thread_local! {
    /// The models (by type name) whose rows are not touched as owners on this thread;
    /// [`EVERY_MODEL`] pauses the touches of all.
    static UNTOUCHED: std::cell::RefCell<Vec<&'static str>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The entry of [`crate::without_touching`]: no owner is touched.
const EVERY_MODEL: &str = "*";

/// Whether the model named `model` has its timestamps paused on this thread.
pub(crate) fn timestamps_paused(model: &str) -> bool {
    UNTIMED.with(|untimed| {
        let untimed = untimed.borrow();
        !untimed.is_empty() && untimed.contains(&model)
    })
}

/// Whether the rows of the model named `model` are not touched as owners on this
/// thread.
pub(crate) fn touches_paused(model: &str) -> bool {
    UNTOUCHED.with(|untouched| {
        let untouched = untouched.borrow();
        !untouched.is_empty() && untouched.iter().any(|m| *m == model || *m == EVERY_MODEL)
    })
}

/// Whether `crate::without_touching` pauses every model's touches on this thread: no
/// owner is stamped, so the chain is not walked.
pub(crate) fn every_touch_paused() -> bool {
    touches_paused(EVERY_MODEL)
}

type Paused = std::thread::LocalKey<std::cell::RefCell<Vec<&'static str>>>;

/// Runs `f` with `model` in `list` on this thread; it leaves the list when `f` returns
/// or unwinds.
fn paused_while<R>(list: &'static Paused, model: &'static str, f: impl FnOnce() -> R) -> R {
    struct Resume(&'static Paused, &'static str);
    impl Drop for Resume {
        fn drop(&mut self) {
            self.0.with(|paused| {
                let mut paused = paused.borrow_mut();
                if let Some(i) = paused.iter().rposition(|m| *m == self.1) {
                    paused.remove(i);
                }
            });
        }
    }
    list.with(|paused| paused.borrow_mut().push(model));
    let _resume = Resume(list, model);
    f()
}

/// Runs `f` with `model`'s timestamps paused on this thread.
pub(crate) fn without_timestamps<R>(model: &'static str, f: impl FnOnce() -> R) -> R {
    paused_while(&UNTIMED, model, f)
}

/// Runs `f` with the touches of `model`'s rows as owners paused on this thread.
pub(crate) fn without_touching_model<R>(model: &'static str, f: impl FnOnce() -> R) -> R {
    paused_while(&UNTOUCHED, model, f)
}

/// Runs `f` with no owner touched on this thread (Eloquent's `Model::withoutTouching`
/// called on the base class): a child's writes stamp no owner's `updated_at`, and
/// belongs-to-many relations declared with `touch` stamp no related row. The touches
/// resume when `f` returns or panics; other threads are unaffected.
pub fn without_touching<R>(f: impl FnOnce() -> R) -> R {
    paused_while(&UNTOUCHED, EVERY_MODEL, f)
}
