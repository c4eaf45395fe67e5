//! Timestamps paused per model on one thread ([`crate::Model::without_timestamps`]):
//! the check model writes and model queries' updates make before stamping.

thread_local! {
    /// The models (by type name) whose timestamps [`crate::Model::without_timestamps`] pauses
    /// on this thread; empty nearly always, so the check is a length test.
    static UNTIMED: std::cell::RefCell<Vec<&'static str>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Whether the model named `model` has its timestamps paused on this thread.
pub(crate) fn timestamps_paused(model: &str) -> bool {
    UNTIMED.with(|untimed| {
        let untimed = untimed.borrow();
        !untimed.is_empty() && untimed.contains(&model)
    })
}

/// Runs `f` with `model`'s timestamps paused on this thread; they resume when `f`
/// returns or unwinds.
pub(crate) fn without_timestamps<R>(model: &'static str, f: impl FnOnce() -> R) -> R {
    struct Resume(&'static str);
    impl Drop for Resume {
        fn drop(&mut self) {
            UNTIMED.with(|untimed| {
                let mut untimed = untimed.borrow_mut();
                if let Some(i) = untimed.iter().rposition(|m| *m == self.0) {
                    untimed.remove(i);
                }
            });
        }
    }
    UNTIMED.with(|untimed| untimed.borrow_mut().push(model));
    let _resume = Resume(model);
    f()
}
