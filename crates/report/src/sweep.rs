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
        [x, y] => two_axes(dir, &name, x, y, &table, &overlays, &mut written)?,
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
    overlays: &[(String, Vec<String>)],
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
        .map(|row| row.iter().map(|v| majority(v)).collect())
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
        let map = Map {
            col: "phase_agreement".into(),
            label: "agreement".into(),
            log_z: false,
            z_range: Some((0.0, 1.0)),
        };
        let t = format!("{name}: fraction of seeds in the majority phase");
        written.push(grid_map(dir, &t, (x, y), &agreement, &map)?);
    }
    for m in &field_maps(table, overlays) {
        let (col, label) = (m.col.as_str(), m.label.as_str());
        let z = mean_grid(table, &cells, col, nx, ny);
        let t = format!("{name}: {label} (mean over seeds; grey: never)");
        written.push(grid_map(dir, &t, (x, y), &z, m)?);
    }
    Ok(())
}

/// `COL.svg`: a field's values `z` over the sweep's two axes, coloured as `m` says.
fn grid_map(
    dir: &Path,
    title: &str,
    (x, y): (&SweepAxis, &SweepAxis),
    z: &[Vec<Option<f64>>],
    m: &Map,
) -> Result<PathBuf, String> {
    let path = dir.join(format!("{}.svg", m.col));
    crate::files::render(&path, |p| {
        heatmap(
            p,
            &Heatmap {
                title,
                x: x.plot_axis(),
                xs: &x.values,
                y: y.plot_axis(),
                ys: &y.values,
                z,
                z_label: &m.label,
                log_z: m.log_z,
                z_range: m.z_range,
            },
        )
    })?;
    Ok(path)
}

/// One field's map: its column, label and colour scale.
struct Map {
    col: String,
    label: String,
    log_z: bool,
    z_range: Option<(f64, f64)>,
}

/// The simulated fields, and beside each the theory columns that predict it, on the same axes
/// and the same colour scale.
fn field_maps(table: &Table, overlays: &[(String, Vec<String>)]) -> Vec<Map> {
    let mut maps: Vec<Map> = Vec::new();
    for (col, label, log_z) in [
        ("steps_to_val_acc", "steps to validation accuracy", true),
        ("grokking_gap", "grokking gap (steps)", false),
        (
            "final_subnetwork_size",
            "final subnetwork size (neurons)",
            true,
        ),
    ] {
        if table.column(col).is_none() {
            continue;
        }
        let mut group = vec![(col.to_string(), label.to_string())];
        for (th, on) in overlays {
            if on.iter().any(|f| f == col) {
                group.push((th.clone(), format!("{label}, theory")));
            }
        }
        let range = (group.len() > 1).then(|| {
            let vals: Vec<f64> = group
                .iter()
                .flat_map(|(c, _)| table.column(c).unwrap_or_default())
                .filter(|v| v.is_finite() && (!log_z || *v > 0.0))
                .collect();
            let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        });
        maps.extend(group.into_iter().map(|(col, label)| Map {
            col,
            label,
            log_z,
            z_range: range,
        }));
    }
    maps
}

/// The mean over seeds of column `col` per cell [y][x] (None where no run has a finite value).
fn mean_grid(
    table: &Table,
    cells: &[Option<(usize, usize)>],
    col: &str,
    nx: usize,
    ny: usize,
) -> Vec<Vec<Option<f64>>> {
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
}

/// The phase most seeds of a cell reached (an index into [`PHASES`]); ties go to the phase listed
/// first, the more generalising one. None for a cell without runs.
pub fn majority(votes: &[usize]) -> Option<usize> {
    let total: usize = votes.iter().sum();
    (total > 0).then(|| (0..votes.len()).fold(0, |b, k| if votes[k] > votes[b] { k } else { b }))
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
    // the subnetwork probe's summary fields (sparse parity)
    ("final_subnetwork_size", true),
    ("memorization_epoch", false),
    ("test_jump_epoch", false),
    ("sparsity_drop_factor", true),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_phases_and_a_hand_made_sweep() {
        assert_eq!(majority(&[0, 0, 0, 0, 0]), None);
        assert_eq!(majority(&[1, 2, 0, 0, 0]), Some(1));
        assert_eq!(majority(&[0, 1, 1, 1, 0]), Some(1), "ties go to the first");
        assert_eq!(majority(&[0, 0, 0, 0, 3]), Some(4));
        let dir = std::env::temp_dir().join(format!("groklab-sweep-draw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("sweep.json"),
            r#"{"name": "t", "axes": [
                {"key": "lr", "labels": ["0.001", "0.01"], "values": [0.001, 0.01], "log": true},
                {"key": "wd", "labels": ["0", "1"], "values": [0, 1], "log": false}]}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join("sweep.csv"),
            "run,lr,wd,seed,phase,steps_to_val_acc,grokking_gap\n\
             r0,0.001,0,0,grokking,500,400\nr1,0.001,0,1,grokking,700,600\n\
             r2,0.001,1,0,confusion,,\nr3,0.001,1,1,memorization,,\n\
             r4,0.01,0,0,comprehension,100,0\nr5,0.01,0,1,comprehension,120,10\n\
             r6,0.01,1,0,diverged,,\nr7,0.01,1,1,diverged,,\n",
        )
        .unwrap();
        let written = draw_sweep(&dir).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "phases.svg",
                "phase_agreement.svg",
                "steps_to_val_acc.svg",
                "grokking_gap.svg"
            ]
        );
        let svg = std::fs::read_to_string(dir.join("phases.svg")).unwrap();
        // grokking's orange, comprehension's green, memorization's blue (the 1-1 tie) and black
        for colour in ["#FF7F0E", "#2CA02C", "#1F77B4", "#282828"] {
            assert!(svg.contains(colour), "{colour} missing");
        }
        // confusion lost its tie to memorization: only its legend swatch is drawn
        assert_eq!(svg.matches("#9467BD").count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
