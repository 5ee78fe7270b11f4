//! The transformer of Liu et al. 2022 on x + y mod 53 (the `prototype` branch @ 7270d57): the
//! effective dimension of its embeddings over training, and its phase plot over decoder lr x
//! weight decay. The authors' plot is 285 runs of up to 10^5 full-batch steps, hours each on 2
//! cores: here a CPU-sized subset, and the whole grid as a Slurm-ready sweep folded in with
//! `--transformer-grid DIR`.

use super::super::work::{Figure, Work, rel};
use super::Budget;
use crate::commands::CliError;
use groklab_report::Table;
use groklab_report::comparison::{Comparison, Criterion, Value};
use serde_json::json;
use std::path::Path;

/// The authors' decoder learning rates (definitions.py:7): 10^linspace(-9, -1, 15).
fn lrs() -> Vec<f64> {
    (0..15)
        .map(|k| 10f64.powf(-9.0 + 8.0 * k as f64 / 14.0))
        .collect()
}

/// Their weight decays (definitions.py:4): e^linspace(-4, 3, 19).
fn wds() -> Vec<f64> {
    (0..19)
        .map(|k| (-4.0 + 7.0 * k as f64 / 18.0).exp())
        .collect()
}

pub fn run(
    work: &Work,
    b: &Budget,
    grid: Option<&Path>,
) -> Result<(Vec<Comparison>, Vec<Figure>, serde_json::Value), CliError> {
    let mut c = groklab_engine::presets::load("liu2022-transformer-add53")?;
    if let Some(n) = b.transformer_steps {
        c = c.with(&[
            ("train.steps", toml::Value::Integer(n as i64)),
            ("eval.every", toml::Value::Integer((n / 30).max(1) as i64)),
        ])?;
    }
    let s = work.train("transformer", &c)?;
    let metrics = Table::read(&work.dir.join("runs/transformer/metrics.csv"))
        .map_err(|e| CliError::Work(e.to_string()))?;
    let dims = metrics.xy("step", "eff_dim");
    let (first, last) = (dims.first().map(|p| p.1), dims.last().map(|p| p.1));
    let dim_svg = work.dir.join("effective-dimension.svg");
    groklab_report::line_plot(
        &dim_svg,
        "Effective dimension of the transformer's embeddings (Liu et al. fig. 7)",
        &groklab_report::Axis::lin("step"),
        &groklab_report::Axis::lin("e^S (PCA entropy)"),
        &[groklab_report::Series::line("eff_dim", dims.clone())],
    )
    .map_err(CliError::Work)?;
    eprintln!(
        "  transformer: {} steps, validation 99% at {}, effective dimension {} -> {}",
        s.steps,
        s.steps_to_val_acc.map_or("never".into(), |v| v.to_string()),
        first.map_or("-".into(), |v| format!("{v:.1}")),
        last.map_or("-".into(), |v| format!("{v:.1}"))
    );
    let mut rows = vec![Comparison {
        paper: "Liu et al. 2022".into(),
        figure: "fig. 7 (left: the transformer's embeddings)".into(),
        quantity: "effective dimension of the embeddings, end of training / start".into(),
        published: Value::Number(32.0 / 51.7),
        // judged only on a run that generalised: a prefix has not reached the fall yet
        ours: first
            .zip(last)
            .filter(|_| s.steps_to_val_acc.is_some())
            .map(|(a, z)| Value::Number(z / a)),
        unit: "ratio".into(),
        criterion: Criterion::absolute(0.1, 0.25),
        source: "read from fig. 7 left, the authors' image (prototype @ 7270d57 \
                 plotting_nbs/EntropyAndTraining.ipynb cell 15): ~51.7 at initialisation, ~53 \
                 at 2e3 steps, ~32 by 2.5e4, on their p = 59 runs (dropout 0.05, wd 1, decoder \
                 lr 2e-4), not this p = 53 default run"
            .into(),
        command: work.command(),
    }];
    let mut figures = vec![Figure {
        title: "The transformer's default run: accuracy and the effective dimension".into(),
        paper_figure: "fig. 7".into(),
        images: std::iter::once(rel(work, &dim_svg))
            .chain(
                ["accuracy.svg", "loss.svg"]
                    .iter()
                    .map(|f| rel(work, &work.dir.join("runs/transformer").join(f))),
            )
            .flatten()
            .collect(),
        note: format!(
            "x + y mod 53, decoder lr 1e-3, no weight decay, {} steps{}.",
            s.steps,
            if b.transformer_steps.is_some() {
                " (a prefix of the authors' up to 10^5 with early stopping at test accuracy 0.999)"
            } else {
                ", stopping at test accuracy 0.999 as the authors"
            }
        ),
    }];
    let mut details = json!({
        "steps": s.steps, "steps_to_val_acc": s.steps_to_val_acc,
        "eff_dim_first": first, "eff_dim_last": last,
    });
    if !b.transformer_cells.is_empty() {
        details["cells"] = json!(cells(work, b, &mut figures)?);
    }
    if let Some(d) = grid {
        let (r, f) = fold_grid(work, d)?;
        rows.extend(r);
        figures.push(f);
    }
    Ok((rows, figures, details))
}

/// Cells of the authors' phase plot, each a run of a few hundred steps: the setting checked, not
/// the plot.
fn cells(
    work: &Work,
    b: &Budget,
    figures: &mut Vec<Figure>,
) -> Result<Vec<serde_json::Value>, CliError> {
    // one run at a time, each on both cores (as a 2-run sweep they took 3 min for 2 x 300 steps
    // against 1.5 min one after the other)
    let (lr, wd) = (lrs(), wds());
    let mut cells = Vec::new();
    for &(i, j) in &b.transformer_cells {
        let name = format!("transformer-lr{i}-wd{j}");
        let cell = groklab_engine::presets::load("liu2022-transformer-add53")?.with(&[
            ("optim.decoder.lr", toml::Value::Float(lr[i])),
            ("optim.decoder.weight_decay", toml::Value::Float(wd[j])),
            (
                "train.steps",
                toml::Value::Integer(b.transformer_cell_steps as i64),
            ),
            (
                "eval.every",
                toml::Value::Integer((b.transformer_cell_steps / 30).max(1) as i64),
            ),
        ])?;
        let s = work.train(&name, &cell)?;
        cells.push(
            json!({"run": name, "decoder_lr": lr[i], "weight_decay": wd[j],
                          "phase": s.phase.as_str(), "steps": s.steps}),
        );
        figures.push(Figure {
            title: format!(
                "The transformer at decoder lr {:.3e}, weight decay {:.4} (a cell of the \
                 authors' phase plot)",
                lr[i], wd[j]
            ),
            paper_figure: "fig. 6 (the transformer's phase diagram), one cell".into(),
            images: [rel(
                work,
                &work.dir.join("runs").join(&name).join("accuracy.svg"),
            )]
            .into_iter()
            .flatten()
            .collect(),
            note: format!(
                "{} steps: far too few to grok, so this checks the setting, not the plot \
                 (phase so far: {}). The authors' 285 runs: <code>groklab sweep slurm preset \
                 liu2022-transformer-phase --out DIR</code> (or <code>groklab sweep preset \
                 liu2022-transformer-phase</code>, resumable, weeks on 2 cores), then \
                 <code>{} --transformer-grid DIR</code>.",
                s.steps,
                s.phase.as_str(),
                work.command()
            ),
        });
    }
    Ok(cells)
}

/// A finished `liu2022-transformer-phase` sweep: its phases, drawn and counted.
fn fold_grid(work: &Work, dir: &Path) -> Result<(Vec<Comparison>, Figure), CliError> {
    let t = Table::read(&dir.join("sweep.csv")).map_err(|e| CliError::Work(e.to_string()))?;
    let phases = t.text_column("phase").unwrap_or_default();
    let generalised = phases
        .iter()
        .filter(|p| *p == "comprehension" || *p == "grokking")
        .count();
    let svg = dir.join("phases.svg");
    let copy = work.dir.join("transformer-grid-phases.svg");
    if svg.is_file() {
        std::fs::copy(&svg, &copy).map_err(crate::commands::io_err("cannot copy", &svg))?;
    }
    let row = Comparison {
        paper: "Liu et al. 2022".into(),
        figure: "fig. 6 (the transformer's phase diagram)".into(),
        quantity: "runs of the authors' 285 in the sweep".into(),
        published: Value::Number(285.0),
        ours: Some(Value::Number(phases.len() as f64)),
        unit: "runs".into(),
        criterion: Criterion::relative(0.0, 0.5),
        source: "prototype @ 7270d57 snakefile:45-51, phasegrok/definitions.py:3-10".into(),
        command: format!(
            "groklab sweep preset liu2022-transformer-phase --out {}",
            dir.display()
        ),
    };
    let figure = Figure {
        title: "The transformer's phase plot: the authors' 285-run grid".into(),
        paper_figure: "fig. 6".into(),
        images: rel(work, &copy).into_iter().collect(),
        note: format!(
            "From {}: {} of {} runs generalise (comprehension or grokking).",
            dir.display(),
            generalised,
            phases.len()
        ),
    };
    Ok((vec![row], figure))
}
