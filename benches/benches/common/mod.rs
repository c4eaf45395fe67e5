//! What the three backend benches share.

use std::fmt::Display;

use criterion::measurement::WallTime;
use criterion::{Bencher, BenchmarkGroup, BenchmarkId};

/// Benches `routine`, which runs on the ORM's default connection, on both default paths:
/// as `orm` while `testing` (an installed `testing` guard, which shadows the pool) is
/// alive, then as `orm_pool` once it has dropped, on the pool `DB::connect` made.
pub fn default_connection_paths<G>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    parameter: impl Display,
    testing: G,
    mut routine: impl FnMut(&mut Bencher<'_>),
) {
    group.bench_function(BenchmarkId::new("orm", &parameter), &mut routine);
    drop(testing);
    group.bench_function(BenchmarkId::new("orm_pool", &parameter), routine);
}
