//! Reads criterion's results (`<target>/criterion/**/new/{benchmark,estimates}.json`)
//! and renders the table of median times and ratios to the raw driver in BENCHMARKS.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The raw driver on SQLite's in-memory databases: the baseline of every SQLite
/// contender except [`POOL`].
pub const RUSQLITE: &str = "rusqlite";
/// The raw driver on a SQLite database file: the baseline of [`POOL`] on SQLite, which
/// needs a file (a pool of in-memory connections would be a pool of separate databases).
pub const RUSQLITE_FILE: &str = "rusqlite_file";
/// The ORM through the default connection made by `DB::connect(url)`: a pool, the path
/// applications take. The headline column.
pub const POOL: &str = "orm_pool";
/// The ORM on an explicit connection (`conn.scope(..)`).
pub const EXPLICIT: &str = "orm_explicit";
/// The ORM on the default connection installed by `orm_core::testing` (SQLite in memory,
/// PostgreSQL/MySQL a private schema on one connection): no pool.
pub const TESTING: &str = "orm";
/// Diesel (SQLite and PostgreSQL only).
pub const DIESEL: &str = "diesel";

/// The raw-driver baseline of `function` in `group` (`sqlite/...`, `postgres/...` or
/// `mysql/...`): the same driver on the same kind of database (file or in memory).
pub fn baseline_for(group: &str, function: &str) -> &'static str {
    if group.starts_with("postgres/") {
        "postgres"
    } else if group.starts_with("mysql/") {
        "mysql"
    } else if function == POOL {
        RUSQLITE_FILE
    } else {
        RUSQLITE
    }
}

/// Whether `function` is a raw driver (a baseline, not a contender with a ratio).
pub fn is_raw(function: &str) -> bool {
    matches!(function, RUSQLITE | RUSQLITE_FILE | "postgres" | "mysql")
}

/// The ORM and Diesel columns, in table order, with their headings.
pub const COLUMNS: [(&str, &str); 4] = [
    (POOL, "orm via `DB::connect` (pool)"),
    (EXPLICIT, "orm, explicit connection"),
    (TESTING, "orm, `testing` connection"),
    (DIESEL, "diesel"),
];

/// The contenders the chart draws a bar for, with their legend text.
pub const CHARTED: [(&str, &str); 3] = [
    (POOL, "orm via DB::connect (pool)"),
    (EXPLICIT, "orm, explicit connection"),
    (DIESEL, "diesel"),
];

/// One measured benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Group (`sqlite/trivial_query`).
    pub group: String,
    /// Contender (`orm`).
    pub function: String,
    /// Parameter (`100`), empty when none.
    pub parameter: String,
    /// Median time per iteration, in nanoseconds.
    pub median_ns: f64,
}

fn read_json(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}

/// Every measurement under `criterion_dir` (sorted by group, parameter, contender).
pub fn collect(criterion_dir: &Path) -> Vec<Measurement> {
    let mut found = Vec::new();
    let mut pending: Vec<PathBuf> = vec![criterion_dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.is_dir() {
                continue;
            }
            if path.file_name().is_some_and(|n| n == "new") {
                if let Some(measurement) = measurement_in(&path) {
                    found.push(measurement);
                }
            } else if path.file_name().is_some_and(|n| n != "report") {
                pending.push(path);
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.group, parameter_order(&a.parameter), &a.function).cmp(&(
            &b.group,
            parameter_order(&b.parameter),
            &b.function,
        ))
    });
    found
}

fn parameter_order(parameter: &str) -> (u64, String) {
    (parameter.parse().unwrap_or(u64::MAX), parameter.to_owned())
}

fn measurement_in(new_dir: &Path) -> Option<Measurement> {
    let benchmark = read_json(&new_dir.join("benchmark.json"))?;
    let estimates = read_json(&new_dir.join("estimates.json"))?;
    Some(Measurement {
        group: benchmark.get("group_id")?.as_str()?.to_owned(),
        function: benchmark.get("function_id")?.as_str()?.to_owned(),
        parameter: benchmark
            .get("value_str")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_owned(),
        median_ns: estimates.get("median")?.get("point_estimate")?.as_f64()?,
    })
}

/// A duration in the unit that suits it.
pub fn format_duration(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// One workload and size of one backend: every contender's median and its ratio to
/// the raw driver of the same run.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Group (`sqlite/trivial_query`).
    pub group: String,
    /// Parameter (`100`), empty when none.
    pub parameter: String,
    /// Median time per iteration (ns) by contender, raw drivers included.
    pub medians: BTreeMap<String, f64>,
}

impl Row {
    /// The backend: the group's first segment (`sqlite`).
    pub fn backend(&self) -> &str {
        self.group.split('/').next().unwrap_or("")
    }

    /// The workload: the group without its backend (`trivial_query`).
    pub fn workload(&self) -> &str {
        self.group.split_once('/').map_or(&*self.group, |(_, w)| w)
    }

    /// `function`'s median over its baseline's median, when both were measured.
    pub fn ratio(&self, function: &str) -> Option<f64> {
        let ns = self.medians.get(function)?;
        let base = self.medians.get(baseline_for(&self.group, function))?;
        Some(ns / base)
    }
}

/// The measurements grouped into rows (by group, then numeric parameter).
pub fn rows(measurements: &[Measurement]) -> Vec<Row> {
    let mut rows: BTreeMap<(String, (u64, String)), BTreeMap<String, f64>> = BTreeMap::new();
    for m in measurements {
        rows.entry((m.group.clone(), parameter_order(&m.parameter)))
            .or_default()
            .insert(m.function.clone(), m.median_ns);
    }
    rows.into_iter()
        .map(|((group, (_, parameter)), medians)| Row {
            group,
            parameter,
            medians,
        })
        .collect()
}

/// The markdown table: one row per workload and size; the raw driver's median, then for
/// each ORM path and Diesel the median and, in brackets, its ratio to the raw driver of
/// the same run on the same kind of database (on SQLite the pool column's baseline is
/// rusqlite on a file, shown in the raw driver's cell; the others' rusqlite in memory).
pub fn markdown_table(measurements: &[Measurement]) -> String {
    let mut out = String::from("| workload | N | raw driver |");
    for (_, heading) in COLUMNS {
        out.push_str(&format!(" {heading} |"));
    }
    out.push_str("\n|---|---:|---:|");
    out.push_str(&"---:|".repeat(COLUMNS.len()));
    out.push('\n');
    for row in rows(measurements) {
        let raw = match (
            row.medians.get(baseline_for(&row.group, TESTING)),
            row.medians.get(RUSQLITE_FILE),
        ) {
            (Some(&memory), Some(&file)) => {
                format!(
                    "{} (file: {})",
                    format_duration(memory),
                    format_duration(file)
                )
            }
            (Some(&ns), None) => format_duration(ns),
            (None, Some(&file)) => format!("file: {}", format_duration(file)),
            (None, None) => "–".to_owned(),
        };
        out.push_str(&format!("| {} | {} | {raw} |", row.group, row.parameter));
        for (function, _) in COLUMNS {
            let cell = match (row.medians.get(function), row.ratio(function)) {
                (Some(&ns), Some(ratio)) => format!("{} ({ratio:.2})", format_duration(ns)),
                (Some(&ns), None) => format_duration(ns),
                (None, _) => "–".to_owned(),
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out
}

/// Bar colours of [`CHARTED`], in order (blue, orange, grey: tell-apart for most colour
/// vision).
const BAR_COLOURS: [(u8, u8, u8); 3] = [(31, 119, 180), (255, 127, 14), (150, 150, 150)];

/// Workload label of the chart's x axis: the workload, and its size on a second line.
fn short_workload(workload: &str) -> &str {
    match workload {
        "save_in_transaction" => "save_in_tx",
        other => other,
    }
}

/// Draws the ratio table as an SVG bar chart at `path`: one panel per backend, per
/// workload and size a bar for each of [`CHARTED`] (its ratio to the raw driver of the
/// same run, the same baseline as the table), and the raw driver as the 1.0 line. The
/// scale is linear and clipped at 2.5 at most; a clipped bar ends in an arrow and
/// carries its value, as every bar does.
pub fn write_svg_chart(measurements: &[Measurement], path: &Path) -> Result<(), String> {
    use plotters::prelude::*;

    let rows = rows(measurements);
    let backends: Vec<&str> = ["sqlite", "postgres", "mysql"]
        .into_iter()
        .filter(|b| rows.iter().any(|r| r.backend() == *b))
        .collect();
    if backends.is_empty() {
        return Err("no measurements to chart".to_owned());
    }
    let width = 1400u32;
    let header = 70u32;
    let panel_height = 380u32;
    let height = header + panel_height * backends.len() as u32;
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    let err = |e: DrawingAreaErrorKind<std::io::Error>| format!("drawing {}: {e}", path.display());
    root.fill(&WHITE).map_err(err)?;
    let (top, body) = root.split_vertically(header);

    top.draw(&Text::new(
        "ORM time / raw driver time (criterion medians, same run; lower is better, 1.0 = raw driver)",
        (20, 10),
        ("sans-serif", 20).into_font(),
    ))
    .map_err(err)?;
    let mut x = 20;
    for ((_, legend), colour) in CHARTED.iter().zip(BAR_COLOURS) {
        let colour = RGBColor(colour.0, colour.1, colour.2);
        top.draw(&Rectangle::new([(x, 44), (x + 16, 58)], colour.filled()))
            .map_err(err)?;
        top.draw(&Text::new(
            *legend,
            (x + 22, 44),
            ("sans-serif", 15).into_font(),
        ))
        .map_err(err)?;
        x += 40 + 8 * legend.len() as i32;
    }
    top.draw(&PathElement::new(
        vec![(x, 51), (x + 24, 51)],
        BLACK.stroke_width(2),
    ))
    .map_err(err)?;
    top.draw(&Text::new(
        "raw driver (1.0; SQLite: rusqlite on the same kind of database)",
        (x + 30, 44),
        ("sans-serif", 15).into_font(),
    ))
    .map_err(err)?;

    let panels = body.split_evenly((backends.len(), 1));
    for (panel, backend) in panels.iter().zip(&backends) {
        let rows: Vec<&Row> = rows.iter().filter(|r| r.backend() == *backend).collect();
        let max = rows
            .iter()
            .flat_map(|r| CHARTED.iter().filter_map(|(f, _)| r.ratio(f)))
            .fold(1.0f64, f64::max);
        // Linear, clipped: near 1.0 is where the differences are; Diesel's 8x on SQLite
        // would flatten every other bar.
        let cap = ((max * 1.1 * 4.0).ceil() / 4.0).clamp(1.5, 2.5);
        let top_y = cap * 1.1;
        let n = rows.len() as f64;
        let title = match *backend {
            "sqlite" => "SQLite",
            "postgres" => "PostgreSQL",
            "mysql" => "MySQL/MariaDB (no Diesel)",
            other => other,
        };
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 18).into_font())
            .margin_left(10)
            .margin_right(20)
            .margin_bottom(42)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..n, 0.0..top_y)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .x_label_formatter(&|_| String::new())
            .y_labels(12)
            .light_line_style(WHITE)
            .y_label_formatter(&|y| format!("{y:.1}"))
            .y_desc("ratio to raw driver")
            .draw()
            .map_err(err)?;
        let bar = 0.8 / CHARTED.len() as f64;
        // Value labels go on last, over the 1.0 line.
        let mut values = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            for (j, ((function, _), colour)) in CHARTED.iter().zip(BAR_COLOURS).enumerate() {
                let Some(ratio) = row.ratio(function) else {
                    continue;
                };
                let colour = RGBColor(colour.0, colour.1, colour.2);
                let x0 = i as f64 + 0.1 + j as f64 * bar;
                let shown = ratio.min(cap);
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, 0.0), (x0 + bar * 0.9, shown)],
                        colour.filled(),
                    )))
                    .map_err(err)?;
                let label = if ratio > cap {
                    format!("{ratio:.1}↑")
                } else {
                    format!("{ratio:.2}")
                };
                values.push((label, chart.backend_coord(&(x0 + bar * 0.45, shown))));
            }
            let (px, py) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            let centred = |size: f64| {
                ("sans-serif", size).into_font().color(&BLACK).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Top,
                    ),
                )
            };
            root.draw(&Text::new(
                short_workload(row.workload()).to_owned(),
                (px, py + 6),
                centred(13.0),
            ))
            .map_err(err)?;
            root.draw(&Text::new(
                row.parameter.clone(),
                (px, py + 22),
                centred(12.0),
            ))
            .map_err(err)?;
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.0, 1.0), (n, 1.0)],
                BLACK.stroke_width(2),
            )))
            .map_err(err)?;
        for (label, (px, py)) in values {
            root.draw(&Text::new(
                label,
                (px, py - 4),
                ("sans-serif", 10).into_font().color(&BLACK).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    ),
                ),
            ))
            .map_err(err)?;
        }
    }
    root.present().map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A criterion result as criterion writes it, under `dir`.
    fn write_result(dir: &Path, group: &str, function: &str, parameter: &str, median: f64) {
        let new = dir
            .join(group.replace('/', "_"))
            .join(function)
            .join(parameter)
            .join("new");
        std::fs::create_dir_all(&new).unwrap();
        std::fs::write(
            new.join("benchmark.json"),
            format!(
                r#"{{"group_id":"{group}","function_id":"{function}","value_str":"{parameter}"}}"#
            ),
        )
        .unwrap();
        std::fs::write(
            new.join("estimates.json"),
            format!(r#"{{"median":{{"point_estimate":{median},"standard_error":1.0}}}}"#),
        )
        .unwrap();
    }

    fn synthetic_run() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = [
            (RUSQLITE, 1000.0),
            (RUSQLITE_FILE, 2000.0),
            (POOL, 2400.0),
            (EXPLICIT, 1100.0),
            (TESTING, 1200.0),
            (DIESEL, 8000.0),
        ];
        for (function, median) in sqlite {
            write_result(dir.path(), "sqlite/find_by_key", function, "1000", median);
        }
        for (function, median) in [("postgres", 100.0), (POOL, 105.0), (DIESEL, 90.0)] {
            write_result(
                dir.path(),
                "postgres/trivial_query",
                function,
                "100",
                median,
            );
            write_result(
                dir.path(),
                "postgres/trivial_query",
                function,
                "10000",
                median * 100.0,
            );
        }
        for (function, median) in [("mysql", 50.0), (POOL, 60.0), (EXPLICIT, 55.0)] {
            write_result(dir.path(), "mysql/save_one", function, "1", median);
        }
        dir
    }

    #[test]
    fn table_has_one_row_per_workload_and_size_with_ratios_to_the_same_kind() {
        let dir = synthetic_run();
        let measurements = collect(dir.path());
        assert_eq!(measurements.len(), 6 + 6 + 3);
        let table = markdown_table(&measurements);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "| workload | N | raw driver | orm via `DB::connect` (pool) | orm, explicit connection | orm, `testing` connection | diesel |"
        );
        assert_eq!(lines.len(), 2 + 4, "{table}");
        // Rows sorted by group, then numerically by size (100 before 10000).
        assert_eq!(
            lines[2],
            "| mysql/save_one | 1 | 50 ns | 60 ns (1.20) | 55 ns (1.10) | – | – |"
        );
        assert_eq!(
            lines[3],
            "| postgres/trivial_query | 100 | 100 ns | 105 ns (1.05) | – | – | 90 ns (0.90) |"
        );
        assert!(
            lines[4].starts_with("| postgres/trivial_query | 10000 | 10.0 µs |"),
            "{table}"
        );
        // SQLite: the pool column's ratio is to rusqlite on a file, the others' in memory.
        assert_eq!(
            lines[5],
            "| sqlite/find_by_key | 1000 | 1.0 µs (file: 2.0 µs) | 2.4 µs (1.20) | 1.1 µs (1.10) | 1.2 µs (1.20) | 8.0 µs (8.00) |"
        );
    }

    #[test]
    fn chart_has_a_panel_per_backend_a_bar_per_ratio_and_the_legend() {
        let dir = synthetic_run();
        let measurements = collect(dir.path());
        let svg_path = dir.path().join("ratios.svg");
        write_svg_chart(&measurements, &svg_path).unwrap();
        let svg = std::fs::read_to_string(&svg_path).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in [
            "SQLite",
            "PostgreSQL",
            "MySQL/MariaDB (no Diesel)",
            "orm via DB::connect (pool)",
            "orm, explicit connection",
            "diesel",
            "find_by_key",
            "trivial_query",
            "save_one",
            "10000",
            // Values: pool on SQLite against the file baseline, Diesel clipped.
            "1.20",
            "1.10",
            "8.0↑",
            "1.05",
        ] {
            // Text elements hold their text on a line of its own.
            assert!(
                svg.contains(&format!("\n{text}\n</text>")),
                "{text} missing from the chart"
            );
        }
        // Bars: SQLite 3, PostgreSQL 2 per size (no explicit), MySQL 2 (no Diesel).
        let bars = svg.matches("<rect").count();
        assert!(bars >= 3 + 2 * 2 + 2, "{bars} rectangles");
    }

    #[test]
    fn chart_of_nothing_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(write_svg_chart(&[], &dir.path().join("x.svg")).is_err());
    }
}
