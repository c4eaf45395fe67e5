//! Prints the BENCHMARKS.md table from the last `cargo bench -p orm-benches` run and
//! draws the same ratios as an SVG bar chart.
//!
//! `cargo run -p orm-benches --bin bench-report [-- [--svg PATH] [<criterion dir>]]`; the
//! directory defaults to `$CARGO_TARGET_DIR/criterion`, else `target/criterion`; the
//! chart to `benches/ratios.svg` (`--svg -` draws none).

use std::path::PathBuf;

use orm_benches::report;

fn main() {
    let mut dir = None;
    let mut svg = Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ratios.svg"));
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--svg" {
            let Some(path) = args.next() else {
                eprintln!("--svg needs a path (or - for no chart)");
                std::process::exit(2);
            };
            svg = (path != "-").then(|| PathBuf::from(path));
        } else {
            dir = Some(PathBuf::from(arg));
        }
    }
    let dir = dir.unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
            PathBuf::from,
        );
        target.join("criterion")
    });
    let measurements = report::collect(&dir);
    if measurements.is_empty() {
        eprintln!(
            "no criterion results under {}: run `cargo bench -p orm-benches` first",
            dir.display()
        );
        std::process::exit(1);
    }
    print!("{}", report::markdown_table(&measurements));
    if let Some(svg) = svg {
        if let Err(e) = report::write_svg_chart(&measurements, &svg) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        eprintln!("chart: {}", svg.display());
    }
}
