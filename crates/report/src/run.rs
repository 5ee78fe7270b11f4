//! Plots of one run directory, drawn from its `metrics.csv` (and `embeddings.csv` when present). Used
//! at the end of every run and by `groklab report DIR`. Columns that a run does not have are skipped.

use crate::plot::{Axis, PlotResult, Series, line_plot, scatter_labelled};
use crate::table::Table;
use std::path::{Path, PathBuf};

/// Draws every plot the run's files support; returns the SVG paths written.
pub fn draw_run(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let metrics = Table::read(&dir.join("metrics.csv"))
        .map_err(|e| format!("cannot read {}: {e}", dir.join("metrics.csv").display()))?;
    let mut written = Vec::new();
    let mut draw = |name: &str, f: &dyn Fn(&Path) -> PlotResult| -> Result<(), String> {
        let path = dir.join(name);
        crate::files::render(&path, f)?;
        written.push(path);
        Ok(())
    };
    let step = Axis::log("step");
    let pick = |names: &[&str]| -> Vec<Series> {
        names
            .iter()
            .filter(|n| metrics.headers.iter().any(|h| h == *n))
            .map(|n| Series::line(n, metrics.xy("step", n)))
            .collect()
    };
    // Theory columns (`*_mp`) are drawn dashed in the colour of the simulated quantity they predict.
    let theory = |pairs: &[(&str, &str)]| -> Vec<Series> {
        pairs
            .iter()
            .filter(|(col, _)| metrics.headers.iter().any(|h| h == col))
            .map(|(col, sim)| Series::dashed(&format!("{sim} (theory)"), metrics.xy("step", col)))
            .collect()
    };
    let mut losses = pick(&["train_loss", "val_loss"]);
    losses.extend(theory(&[
        ("train_loss_mp", "train_loss"),
        ("gen_loss_mp", "val_loss"),
    ]));
    if !losses.is_empty() {
        draw("loss.svg", &|p| {
            line_plot(p, "loss", &step, &Axis::log("loss"), &losses)
        })?;
    }
    let mut accs = pick(&["train_acc", "val_acc"]);
    accs.extend(theory(&[
        ("train_acc_mp", "train_acc"),
        ("val_acc_mp", "val_acc"),
    ]));
    if !accs.is_empty() {
        draw("accuracy.svg", &|p| {
            line_plot(p, "accuracy", &step, &Axis::lin("accuracy"), &accs)
        })?;
    }
    let rep = pick(&["rqi", "acc_hat", "val_acc"]);
    if metrics.headers.iter().any(|h| h == "rqi") {
        draw("rqi.svg", &|p| {
            line_plot(
                p,
                "representation quality",
                &step,
                &Axis::lin("value"),
                &rep,
            )
        })?;
    }
    let norms: Vec<&str> = metrics
        .headers
        .iter()
        .filter(|h| h.starts_with("wnorm"))
        .map(String::as_str)
        .collect();
    if !norms.is_empty() {
        let s = pick(&norms);
        draw("wnorm.svg", &|p| {
            line_plot(p, "weight norm", &step, &Axis::lin("L2 norm"), &s)
        })?;
    }
    let emb_path = dir.join("embeddings.csv");
    if emb_path.exists() {
        let emb = Table::read(&emb_path).map_err(|e| e.to_string())?;
        if let Some(last) = emb
            .column("step")
            .and_then(|s| s.into_iter().filter(|x| x.is_finite()).reduce(f64::max))
        {
            let rows: Vec<&Vec<f64>> = emb
                .rows
                .iter()
                .filter(|r| r.first() == Some(&last))
                .collect();
            let d = emb.headers.len().saturating_sub(2);
            let title = format!("embeddings at step {last}");
            if d == 1 {
                let pts: Vec<(f64, f64)> = rows.iter().map(|r| (r[1], r[2])).collect();
                draw("embeddings.svg", &|p| {
                    line_plot(
                        p,
                        &title,
                        &Axis::lin("token"),
                        &Axis::lin("E"),
                        &[Series::line_points("E", pts.clone())],
                    )
                })?;
            } else if d >= 2 {
                let pts: Vec<(f64, f64, String)> = rows
                    .iter()
                    .map(|r| (r[2], r[3], format!("{}", r[1])))
                    .collect();
                draw("embeddings.svg", &|p| {
                    scatter_labelled(p, &title, &Axis::lin("e0"), &Axis::lin("e1"), &pts)
                })?;
            }
        }
    }
    Ok(written)
}
