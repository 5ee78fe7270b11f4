//! The plots of a sweep directory, from `sweep.json` (axes, seeds, theory overlays) and
//! `sweep.csv` (one row per run):
//! - two axes: `phases.svg` (the phase of every cell; with several seeds the majority phase) and,
//!   with several seeds, `phase_agreement.svg` (the fraction of seeds in the majority phase), plus
//!   heatmaps `steps_to_val_acc.svg` and `grokking_gap.svg`;
//! - one axis: each summary field against the axis, every seed a point and their mean a line,
//!   with theory columns dashed over the fields they predict.

use crate::plot::{Axis, CategoryMap, Heatmap, Series, category_map, heatmap, line_plot};
use crate::table::Table;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};

/// The phases in legend order, with their colours.
pub const PHASES: &[(&str, (u8, u8, u8))] = &[
    ("comprehension", (44, 160, 44)),
    ("grokking", (255, 127, 14)),
    ("memorization", (31, 119, 180)),
    ("confusion", (148, 103, 189)),
    ("diverged", (40, 40, 40)),
];

/// One axis of a sweep as `sweep.json` describes it.
struct SweepAxis {
    key: String,
    labels: Vec<String>,
    /// Numeric values, or positions 0, 1, ... for axes of words.
    values: Vec<f64>,
    log: bool,
}

impl SweepAxis {
    fn plot_axis(&self) -> Axis {
        if self.log {
            Axis::log(&self.key)
        } else {
            Axis::lin(&self.key)
        }
    }
    /// The index of a cell's text value on this axis.
    fn index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }
}

fn axes(meta: &Json) -> Vec<SweepAxis> {
    meta["axes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|ax| {
                    let labels: Vec<String> = ax["labels"]
                        .as_array()
                        .map(|l| {
                            l.iter()
                                .map(|v| v.as_str().unwrap_or_default().to_string())
                                .collect()
                        })
                        .unwrap_or_default();
                    let nums: Vec<Option<f64>> = ax["values"]
                        .as_array()
                        .map(|v| v.iter().map(Json::as_f64).collect())
                        .unwrap_or_default();
                    let numeric = nums.len() == labels.len() && nums.iter().all(Option::is_some);
                    let values = if numeric {
                        nums.into_iter().flatten().collect()
                    } else {
                        (0..labels.len()).map(|k| k as f64).collect()
                    };
                    SweepAxis {
                        key: ax["key"].as_str().unwrap_or("axis").to_string(),
                        log: numeric && ax["log"].as_bool().unwrap_or(false),
                        labels,
                        values,
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Draws a sweep directory's plots; returns the files written.
pub fn draw_sweep(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let meta: Json = std::fs::read(dir.join("sweep.json"))
        .map_err(|e| format!("{}: {e}", dir.join("sweep.json").display()))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))?;
    let table = Table::read(&dir.join("sweep.csv"))
        .map_err(|e| format!("{}: {e}", dir.join("sweep.csv").display()))?;
    let axes = axes(&meta);
    let name = meta["name"].as_str().unwrap_or("sweep").to_string();
    let overlays: Vec<(String, Vec<String>)> = meta["overlays"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|o| {
                    (
                        o["column"].as_str().unwrap_or_default().to_string(),
                        o["on"]
                            .as_array()
                            .map(|v| {
                                v.iter()
                                    .filter_map(|s| s.as_str().map(String::from))
                                    .collect()
                            })
                            .unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let mut written = Vec::new();
    match axes.as_slice() {
        [x, y] => two_axes(dir, &name, x, y, &table, &mut written)?,
        [x] => one_axis(dir, &name, x, &table, &overlays, &mut written)?,
        _ => {}
    }
    Ok(written)
}

/// Every row's cell: (x index, y index) on the two axes.
fn cell_of(table: &Table, x: &SweepAxis, y: &SweepAxis) -> Vec<Option<(usize, usize)>> {
    let (xs, ys) = (
        table.text_column(&x.key).unwrap_or_default(),
        table.text_column(&y.key).unwrap_or_default(),
    );
    xs.iter()
        .zip(&ys)
        .map(|(a, b)| Some((x.index(a)?, y.index(b)?)))
        .collect()
}

fn two_axes(
    dir: &Path,
    name: &str,
    x: &SweepAxis,
    y: &SweepAxis,
    table: &Table,
    written: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let cells = cell_of(table, x, y);
    let phases = table.text_column("phase").unwrap_or_default();
    let (nx, ny) = (x.labels.len(), y.labels.len());
    // votes[j][i][phase]
    let mut votes = vec![vec![vec![0usize; PHASES.len()]; nx]; ny];
    for (cell, phase) in cells.iter().zip(&phases) {
        if let (Some((i, j)), Some(k)) = (cell, PHASES.iter().position(|p| p.0 == phase)) {
            votes[*j][*i][k] += 1;
        }
    }
    let majority: Vec<Vec<Option<usize>>> = votes
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| {
                    let total: usize = v.iter().sum();
                    // ties go to the phase listed first (the more generalising one)
                    (total > 0)
                        .then(|| (0..v.len()).fold(0, |b, k| if v[k] > v[b] { k } else { b }))
                })
                .collect()
        })
        .collect();
    let seeds = votes
        .iter()
        .flatten()
        .map(|v| v.iter().sum::<usize>())
        .max()
        .unwrap_or(0);
    let title = if seeds > 1 {
        format!("{name}: majority phase of {seeds} seeds")
    } else {
        format!("{name}: phases")
    };
    let path = dir.join("phases.svg");
    crate::files::render(&path, |p| {
        category_map(
            p,
            &CategoryMap {
                title: &title,
                x: x.plot_axis(),
                xs: &x.values,
                y: y.plot_axis(),
                ys: &y.values,
                cells: &majority,
                categories: PHASES,
            },
        )
    })?;
    written.push(path);
    let grid = |col: &str| -> Vec<Vec<Option<f64>>> {
        let vals = table.column(col).unwrap_or_default();
        let mut sum = vec![vec![(0.0, 0usize); nx]; ny];
        for (cell, v) in cells.iter().zip(&vals) {
            if let (Some((i, j)), true) = (cell, v.is_finite()) {
                sum[*j][*i].0 += v;
                sum[*j][*i].1 += 1;
            }
        }
        sum.iter()
            .map(|r| {
                r.iter()
                    .map(|(s, n)| (*n > 0).then(|| s / *n as f64))
                    .collect()
            })
            .collect()
    };
    if seeds > 1 {
        let agreement: Vec<Vec<Option<f64>>> = votes
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| {
                        let total: usize = v.iter().sum();
                        (total > 0).then(|| *v.iter().max().unwrap_or(&0) as f64 / total as f64)
                    })
                    .collect()
            })
            .collect();
        let path = dir.join("phase_agreement.svg");
        let t = format!("{name}: fraction of seeds in the majority phase");
        crate::files::render(&path, |p| {
            heatmap(
                p,
                &Heatmap {
                    title: &t,
                    x: x.plot_axis(),
                    xs: &x.values,
                    y: y.plot_axis(),
                    ys: &y.values,
                    z: &agreement,
                    z_label: "agreement",
                    log_z: false,
                },
            )
        })?;
        written.push(path);
    }
    for (col, label, log_z) in [
        ("steps_to_val_acc", "steps to validation accuracy", true),
        ("grokking_gap", "grokking gap (steps)", false),
    ] {
        let z = grid(col);
        let path = dir.join(format!("{col}.svg"));
        let t = format!("{name}: {label} (mean over seeds; grey: never)");
        crate::files::render(&path, |p| {
            heatmap(
                p,
                &Heatmap {
                    title: &t,
                    x: x.plot_axis(),
                    xs: &x.values,
                    y: y.plot_axis(),
                    ys: &y.values,
                    z: &z,
                    z_label: label,
                    log_z,
                },
            )
        })?;
        written.push(path);
    }
    Ok(())
}

/// Fields drawn against a single axis, when the table has them.
const FIELDS: &[(&str, bool)] = &[
    ("final_val_acc", false),
    ("final_train_acc", false),
    ("final_rqi", false),
    ("steps_to_train_acc", true),
    ("steps_to_val_acc", true),
    ("grokking_gap", true),
    ("final_val_loss", true),
];

fn one_axis(
    dir: &Path,
    name: &str,
    x: &SweepAxis,
    table: &Table,
    overlays: &[(String, Vec<String>)],
    written: &mut Vec<PathBuf>,
) -> Result<(), String> {
    let labels = table.text_column(&x.key).unwrap_or_default();
    let xs: Vec<Option<f64>> = labels
        .iter()
        .map(|l| x.index(l).map(|i| x.values[i]))
        .collect();
    for &(field, log_y) in FIELDS {
        let Some(vals) = table.column(field) else {
            continue;
        };
        let pts: Vec<(f64, f64)> = xs
            .iter()
            .zip(&vals)
            .filter_map(|(a, b)| Some((a.as_ref().copied()?, *b)))
            .filter(|(_, b)| b.is_finite())
            .collect();
        if pts.is_empty() {
            continue;
        }
        let mean: Vec<(f64, f64)> = x
            .values
            .iter()
            .filter_map(|&v| {
                let at: Vec<f64> = pts.iter().filter(|p| p.0 == v).map(|p| p.1).collect();
                (!at.is_empty()).then(|| (v, at.iter().sum::<f64>() / at.len() as f64))
            })
            .collect();
        let mut series = vec![
            Series::points("each seed", pts.clone()),
            Series::line("mean over seeds", mean),
        ];
        for (col, on) in overlays {
            if on.iter().any(|f| f == field)
                && let Some(th) = table.column(col)
            {
                let mut curve: Vec<(f64, f64)> = xs
                    .iter()
                    .zip(&th)
                    .filter_map(|(a, b)| Some((a.as_ref().copied()?, *b)))
                    .filter(|(_, b)| b.is_finite())
                    .collect();
                curve.sort_by(|a, b| a.0.total_cmp(&b.0));
                curve.dedup_by(|a, b| a.0 == b.0);
                series.push(Series::dashed(&format!("{col} (theory)"), curve));
            }
        }
        let path = dir.join(format!("{field}.svg"));
        let y = if log_y {
            Axis::log(field)
        } else {
            Axis::lin(field)
        };
        let title = format!("{name}: {field}");
        crate::files::render(&path, |p| line_plot(p, &title, &x.plot_axis(), &y, &series))?;
        written.push(path);
    }
    Ok(())
}
