//! Interleaved wall-time rounds, shared by `paired-ratios` (SQLite) and `mysql-paired`:
//! each round times a short batch of every contender back to back, rotating the order,
//! so load from other processes hits all of them alike.

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
    mut contenders: Vec<(&str, Routine<'_, F>)>,
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
