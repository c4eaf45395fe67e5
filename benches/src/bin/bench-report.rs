//! Prints the BENCHMARKS.md table from the last `cargo bench -p orm-benches` run.
//!
//! `cargo run -p orm-benches --bin bench-report [-- <criterion dir>]`; the directory
//! defaults to `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.

use std::path::PathBuf;

use orm_benches::report;

fn main() {
    let dir = std::env::args_os().nth(1).map_or_else(
        || {
            let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
                || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
                PathBuf::from,
            );
            target.join("criterion")
        },
        PathBuf::from,
    );
    let measurements = report::collect(&dir);
    if measurements.is_empty() {
        eprintln!(
            "no criterion results under {}: run `cargo bench -p orm-benches` first",
            dir.display()
        );
        std::process::exit(1);
    }
    print!("{}", report::markdown_table(&measurements));
}
