//! Reads criterion's results (`<target>/criterion/**/new/{benchmark,estimates}.json`)
//! and renders the table of median times and ratios to the raw driver in BENCHMARKS.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The raw-driver baseline of a group (`sqlite/...`, `postgres/...` or `mysql/...`).
pub fn baseline_for(group: &str) -> &'static str {
    if group.starts_with("postgres/") {
        "postgres"
    } else if group.starts_with("mysql/") {
        "mysql"
    } else {
        "rusqlite"
    }
}

/// The contenders, in table order.
pub const CONTENDERS: [&str; 6] = [
    "rusqlite",
    "postgres",
    "mysql",
    "orm",
    "orm_explicit",
    "diesel",
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

/// The markdown table: one row per workload and size; for each contender the median and,
/// in brackets, its ratio to the raw driver of the same run.
pub fn markdown_table(measurements: &[Measurement]) -> String {
    let mut rows: BTreeMap<(String, (u64, String)), BTreeMap<String, f64>> = BTreeMap::new();
    for m in measurements {
        rows.entry((m.group.clone(), parameter_order(&m.parameter)))
            .or_default()
            .insert(m.function.clone(), m.median_ns);
    }
    let mut out = String::from(
        "| workload | N | raw driver | orm (default connection) | orm (explicit connection) | diesel |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for ((group, (_, parameter)), by_function) in &rows {
        let baseline = by_function.get(baseline_for(group)).copied();
        let cell = |function: &str| match (by_function.get(function), baseline) {
            (Some(&ns), Some(base)) if function != baseline_for(group) => {
                format!("{} ({:.2})", format_duration(ns), ns / base)
            }
            (Some(&ns), _) => format_duration(ns),
            (None, _) => "–".to_owned(),
        };
        out.push_str(&format!(
            "| {group} | {parameter} | {} | {} | {} | {} |\n",
            cell(baseline_for(group)),
            cell("orm"),
            cell("orm_explicit"),
            cell("diesel"),
        ));
    }
    out
}
