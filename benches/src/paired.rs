//! Interleaved wall-time rounds, shared by `paired-ratios` (SQLite) and `mysql-paired`:
//! each round times a short batch of every contender back to back, rotating the order,
//! so load from other processes hits all of them alike.

use std::cell::RefCell;
use std::time::{Duration, Instant};

/// One contender's iteration, on the fixture the contenders share.
pub type Routine<'a, F> = Box<dyn FnMut(&mut F) + 'a>;

/// Runs `rounds` interleaved rounds of `contenders` (each batch sized from a warm-up to
/// about `batch_target`) and prints one markdown row: every contender's median time per
/// iteration and, in brackets, its ratio to the first contender's.
pub fn measure<F>(
    fixture: &mut F,
    name: &str,
    rounds: usize,
    batch_target: Duration,
    contenders: Vec<(&str, Routine<'_, F>)>,
) {
    measure_with(fixture, name, rounds, batch_target, contenders, &mut |_| {});
}

/// What a write consumes (models to insert), made before each timed batch and dropped
/// after it, untimed, as criterion's `iter_batched` does: only the write is timed, not
/// copying its input (timed, the copy moved SQLite's `insert_many` ratio from about 1.16
/// to 1.25; BENCHMARKS.md, "Targets").
/// A timed iteration writes one through [`Inputs::write`].
pub struct Inputs<T> {
    template: T,
    ready: RefCell<Vec<T>>,
    written: RefCell<Vec<T>>,
}

impl<T: Clone> Inputs<T> {
    /// Inputs that are copies of `template`.
    pub fn new(template: T) -> Inputs<T> {
        Inputs {
            template,
            ready: RefCell::new(Vec::new()),
            written: RefCell::new(Vec::new()),
        }
    }

    /// Hands `write` one copy, made ahead, and keeps it afterwards, to be dropped
    /// untimed before the next batch.
    pub fn write(&self, write: impl FnOnce(&mut T)) {
        let mut input = self.take();
        write(&mut input);
        self.keep(input);
    }

    /// One copy, made ahead (a copy made now outside a timed batch: the warm-up).
    fn take(&self) -> T {
        let ready = self.ready.borrow_mut().pop();
        ready.unwrap_or_else(|| self.template.clone())
    }

    /// Keeps what an iteration wrote, to be dropped before the next batch.
    fn keep(&self, written: T) {
        self.written.borrow_mut().push(written);
    }

    /// Drops what the last batch wrote and makes `n` copies for the next (and room to
    /// keep them written: the timed batch allocates nothing of this harness's own).
    pub fn restock(&self, n: u32) {
        let mut written = self.written.borrow_mut();
        written.clear();
        written.reserve(n as usize);
        let mut ready = self.ready.borrow_mut();
        ready.clear();
        ready.extend((0..n).map(|_| self.template.clone()));
    }
}

/// [`measure`] for writes: what each iteration writes (the ORM's models, the other
/// contenders' rows) is copied before every batch, untimed, so every contender writes
/// data as freshly made as an application's.
pub fn measure_writes<F, T: Clone, U: Clone>(
    fixture: &mut F,
    name: &str,
    rounds: usize,
    batch_target: Duration,
    (models, rows): (&Inputs<T>, &Inputs<U>),
    contenders: Vec<(&str, Routine<'_, F>)>,
) {
    measure_with(fixture, name, rounds, batch_target, contenders, &mut |n| {
        models.restock(n);
        rows.restock(n);
    });
}

/// [`measure`], calling `before_batch(n)` untimed before every timed batch of `n`
/// iterations ([`Inputs::restock`]).
pub fn measure_with<F>(
    fixture: &mut F,
    name: &str,
    rounds: usize,
    batch_target: Duration,
    mut contenders: Vec<(&str, Routine<'_, F>)>,
    before_batch: &mut dyn FnMut(u32),
) {
    let mut batch_sizes = Vec::new();
    for (_, routine) in contenders.iter_mut() {
        let start = Instant::now();
        let mut n = 0u32;
        while start.elapsed() < batch_target / 2 {
            routine(fixture);
            n += 1;
        }
        batch_sizes.push((n * 2).max(1));
    }
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        for offset in 0..contenders.len() {
            // Rotate the order each round so no contender always runs first.
            let i = (round + offset) % contenders.len();
            let (_, routine) = &mut contenders[i];
            before_batch(batch_sizes[i]);
            let start = Instant::now();
            for _ in 0..batch_sizes[i] {
                routine(fixture);
            }
            samples[i].push(start.elapsed().as_nanos() as f64 / f64::from(batch_sizes[i]));
        }
    }
    let medians: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
    let cells: Vec<String> = contenders
        .iter()
        .zip(&medians)
        .map(|((who, _), ns)| {
            format!(
                "{who} {} ({:.2})",
                crate::report::format_duration(*ns),
                ns / medians[0]
            )
        })
        .collect();
    println!("| {name} | {} |", cells.join(" | "));
}

fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}
