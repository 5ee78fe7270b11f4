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
    // every title says whose run it is; the accuracy plot shows the phase threshold
    let summary: serde_json::Value = std::fs::read(dir.join("summary.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let who = match (summary["name"].as_str(), summary["seed"].as_u64()) {
        (Some(n), Some(s)) => format!(" — {n}, seed {s}"),
        _ => String::new(),
    };
    let titled = |what: &str| format!("{what}{who}");
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
            line_plot(p, &titled("loss"), &step, &Axis::log("loss"), &losses)
        })?;
    }
    let mut accs = pick(&["train_acc", "val_acc"]);
    accs.extend(theory(&[
        ("train_acc_mp", "train_acc"),
        ("val_acc_mp", "val_acc"),
    ]));
    if !accs.is_empty() {
        if let Some(thr) = summary["acc_threshold"].as_f64() {
            accs.push(Series::reference(&format!("threshold {thr}"), thr));
        }
        draw("accuracy.svg", &|p| {
            line_plot(p, &titled("accuracy"), &step, &Axis::lin("accuracy"), &accs)
        })?;
    }
    let rep = pick(&["rqi", "acc_hat", "val_acc"]);
    if metrics.headers.iter().any(|h| h == "rqi") {
        draw("rqi.svg", &|p| {
            line_plot(
                p,
                &titled("representation quality"),
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
            line_plot(p, &titled("weight norm"), &step, &Axis::lin("L2 norm"), &s)
        })?;
    }
    draw_fourier(
        dir,
        &step,
        &titled("embedding power of the final key frequencies"),
        &mut draw,
    )?;
    if let Ok(a) = Table::read(&dir.join("attention.csv")) {
        draw_attention(
            &a,
            &titled("attention (last layer, mean over heads and samples)"),
            &mut draw,
        )?;
    }
    draw_embeddings(dir, &titled, &mut draw)?;
    Ok(written)
}

/// The `n` frequencies with the largest share of the embeddings' power at the last step of
/// `fourier.csv` (step, source, frequency, share; source 0 = embeddings).
fn key_frequencies(f: &Table, n: usize) -> Vec<f64> {
    let last = f
        .rows
        .iter()
        .map(|r| r[0])
        .fold(f64::NEG_INFINITY, f64::max);
    let mut at: Vec<(f64, f64)> = f
        .rows
        .iter()
        .filter(|r| r[0] == last && r.get(1) == Some(&0.0))
        .map(|r| (r[2], r[3]))
        .collect();
    at.sort_by(|a, b| b.1.total_cmp(&a.1));
    at.into_iter().take(n).map(|(k, _)| k).collect()
}

/// Renders one plot file by name.
type Draw<'a> = dyn FnMut(&str, &dyn Fn(&Path) -> PlotResult) -> Result<(), String> + 'a;

/// The last layer's attention pattern (query x key), averaged over heads and samples, from
/// `attention.csv` (layer, head, sample, query, key, weight).
fn draw_attention(a: &Table, title: &str, draw: &mut Draw<'_>) -> Result<(), String> {
    let Some(layer) = a.rows.iter().map(|r| r[0]).reduce(f64::max) else {
        return Ok(());
    };
    let n = a
        .rows
        .iter()
        .map(|r| r[3].max(r[4]) as usize + 1)
        .max()
        .unwrap_or(0);
    let mut sum = vec![vec![0.0; n]; n];
    let mut count = vec![vec![0usize; n]; n];
    for r in a.rows.iter().filter(|r| r[0] == layer) {
        let (q, k) = (r[3] as usize, r[4] as usize);
        sum[q][k] += r[5];
        count[q][k] += 1;
    }
    let z: Vec<Vec<Option<f64>>> = sum
        .iter()
        .zip(&count)
        .map(|(s, c)| {
            s.iter()
                .zip(c)
                .map(|(v, &k)| (k > 0).then(|| v / k as f64))
                .collect()
        })
        .collect();
    let pos: Vec<f64> = (0..n).map(|p| p as f64).collect();
    let h = crate::plot::Heatmap {
        title,
        x: Axis::lin("key position"),
        xs: &pos,
        y: Axis::lin("query position"),
        ys: &pos,
        z: &z,
        z_label: "weight",
        log_z: false,
        z_range: Some((0.0, 1.0)),
    };
    draw("attention.svg", &|p| crate::plot::heatmap(p, &h))
}

/// `fourier.svg`: the embeddings' power in the final key frequencies over training.
fn draw_fourier(dir: &Path, step: &Axis, title: &str, draw: &mut Draw<'_>) -> Result<(), String> {
    if let Ok(f) = Table::read(&dir.join("fourier.csv")) {
        let key = key_frequencies(&f, 5);
        let s: Vec<Series> = key
            .iter()
            .map(|&k| {
                let pts = f
                    .rows
                    .iter()
                    .filter(|r| r.get(1) == Some(&0.0) && r.get(2) == Some(&k))
                    .map(|r| (r[0], r[3]))
                    .collect();
                Series::line(&format!("frequency {k}"), pts)
            })
            .collect();
        if !s.is_empty() {
            draw("fourier.svg", &|p| {
                line_plot(
                    p,
                    title,
                    step,
                    &Axis::lin("share of the embeddings' power"),
                    &s,
                )
            })?;
        }
    }
    Ok(())
}

/// `embeddings.svg`: the embeddings at the last recorded step (a line for 1-D, labelled points
/// for 2-D and more).
fn draw_embeddings(
    dir: &Path,
    titled: &dyn Fn(&str) -> String,
    draw: &mut Draw<'_>,
) -> Result<(), String> {
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
            let title = titled(&format!("embeddings at step {last}"));
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
    Ok(())
}
