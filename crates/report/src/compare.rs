//! `groklab compare RUN_DIR...`: several runs in one place — one metric of every run overlaid in
//! one SVG (a baseline against a filter, the seeds of one preset), and a table of their summaries
//! (`compare.csv` and `index.html`).

use crate::files::write_text;
use crate::html::esc;
use crate::plot::{Axis, Series, line_plot};
use crate::table::Table;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// The summary fields each run's row shows, in order.
pub const FIELDS: &[&str] = &[
    "name",
    "seed",
    "status",
    "phase",
    "steps_to_train_acc",
    "steps_to_val_acc",
    "grokking_gap",
    "steps",
    "final.train_acc",
    "final.val_acc",
    "final.train_loss",
    "final.val_loss",
    "wall_seconds",
];

/// One run as the comparison reads it.
pub struct Compared {
    pub dir: PathBuf,
    /// What the legend and the table call it.
    pub label: String,
    pub summary: Json,
    pub metrics: Table,
}

/// Reads every run; labels them by directory name (unique by construction of paths, short).
pub fn read(dirs: &[PathBuf]) -> Result<Vec<Compared>, String> {
    dirs.iter()
        .map(|d| {
            let metrics = Table::read(&d.join("metrics.csv"))
                .map_err(|e| format!("{}: no metrics.csv to compare ({e})", d.display()))?;
            let summary = std::fs::read(d.join("summary.json"))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Json::Null);
            let label = d
                .file_name()
                .map_or_else(|| d.display().to_string(), |n| n.to_string_lossy().into());
            Ok(Compared {
                dir: d.clone(),
                label,
                summary,
                metrics,
            })
        })
        .collect()
}

/// A summary field by dotted path, as text ("" when absent or null).
pub fn field(summary: &Json, path: &str) -> String {
    let v = path.split('.').fold(summary, |v, k| &v[k]);
    match v {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        Json::Number(n) => match n.as_f64() {
            Some(x) if x.fract() != 0.0 => format!("{:.4}", x),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Writes `compare_METRIC.svg`, `compare.csv` and `index.html` into `out`; returns the files.
pub fn write(runs: &[Compared], metric: &str, out: &Path) -> Result<Vec<PathBuf>, String> {
    let missing: Vec<&str> = runs
        .iter()
        .filter(|r| !r.metrics.headers.iter().any(|h| h == metric))
        .map(|r| r.label.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "invalid value for `--metric`: {metric}; these runs have no such column: {}",
            missing.join(", ")
        ));
    }
    let series: Vec<Series> = runs
        .iter()
        .map(|r| Series::line(&r.label, r.metrics.xy("step", metric)))
        .collect();
    let svg = out.join(format!("compare_{metric}.svg"));
    let log_y = metric.contains("loss");
    let y = if log_y {
        Axis::log(metric)
    } else {
        Axis::lin(metric)
    };
    crate::files::render(&svg, |p| {
        line_plot(
            p,
            &format!("{metric} of {} runs", runs.len()),
            &Axis::log("step"),
            &y,
            &series,
        )
    })?;
    let mut csv = String::from("run,dir");
    for f in FIELDS {
        csv += &format!(",{f}");
    }
    csv += "\n";
    let mut rows = String::new();
    for r in runs {
        let cells: Vec<String> = FIELDS.iter().map(|f| field(&r.summary, f)).collect();
        csv += &format!(
            "{},{},{}\n",
            quote(&r.label),
            quote(&r.dir.display().to_string()),
            cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",")
        );
        rows += &format!(
            "<tr><td style=\"text-align:left\">{}</td>{}</tr>\n",
            esc(&r.label),
            cells
                .iter()
                .map(|c| format!("<td>{}</td>", esc(c)))
                .collect::<String>()
        );
    }
    let table = out.join("compare.csv");
    write_text(&table, &csv)?;
    let head: String = std::iter::once("run")
        .chain(FIELDS.iter().copied())
        .map(|f| format!("<th>{}</th>", esc(f)))
        .collect();
    let body = format!(
        "<h1>{} runs: {}</h1>\n<div class=\"plots\"><img src=\"compare_{}.svg\" alt=\"{}\"></div>\n\
         <h2>Summaries</h2>\n<table class=\"sortable\"><thead><tr>{head}</tr></thead><tbody>\n{rows}</tbody></table>\n",
        runs.len(),
        esc(metric),
        esc(metric),
        esc(metric)
    );
    let index = out.join("index.html");
    write_text(
        &index,
        &crate::html::page(&format!("compare {metric}"), &body, true),
    )?;
    Ok(vec![svg, table, index])
}

/// A CSV cell.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
