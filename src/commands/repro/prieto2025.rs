//! `groklab repro prieto2025`: Prieto, Barsbey, Mediano, Birdal 2025, "Grokking at the edge of
//! numerical stability" (arXiv 2501.04697), in the authors' settings
//! (LucasPrietoAl/grokking-at-the-edge-of-numerical-stability @ 0cc9e8d, run_main_experiments.sh):
//! fig. 1 (a) ⊥AdamW generalises at once, (b) StableMax groks without regularisation, (c) softmax
//! cross-entropy does not generalise; fig. 2, softmax cross-entropy at lr 5e-4 with the softmax in
//! float32 and float64 at 40%, 60% and 70% of the data. Published values were read from the
//! authors' own figure images (paper_plots.ipynb), as the rows say.

use super::work::{Figure, Work, rel};
use crate::commands::CliError;
use groklab_engine::Config;
use groklab_report::Table;
use groklab_report::comparison::{Comparison, Criterion, Value};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Output directory: new, empty, or holding this same reproduction, which is continued
    /// (default: a new runs/repro-prieto2025[-N]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A fast pass (about 9 minutes on 2 cores): fig. 1(a) whole, the first 6,000 of fig. 1(b)
    /// and (c)'s 80,000 epochs, no fig. 2. The full pass (about 3.5 hours on 2 cores) runs every
    /// run to the authors' budget.
    #[arg(long)]
    quick: bool,
    /// Print the comparison rows as JSON to stdout.
    #[arg(long)]
    json: bool,
    /// Test-only: every run capped at N steps.
    #[arg(long, hide = true, value_name = "N")]
    max_steps: Option<usize>,
}

/// A run: its directory name, the overrides of `prieto2025-stablemax` that make it, and whether `--quick` runs it (and how far).
struct Run {
    name: &'static str,
    sets: Vec<(&'static str, toml::Value)>,
    quick_steps: Option<usize>,
}

fn runs() -> Vec<Run> {
    use toml::Value::{Array, Boolean, Float, Integer, String as S};
    let softmax = |precision: &str| {
        vec![
            ("loss.kind", S("cross-entropy".into())),
            ("loss.precision", S(precision.into())),
        ]
    };
    let fig2 = |fraction: i64, precision: &'static str| {
        let mut s = softmax(precision);
        s.extend([
            ("optim.all.lr", Float(5e-4)),
            (
                "optim.all.eps",
                Float(if fraction == 40 { 1e-30 } else { 1e-25 }),
            ),
            ("task.train", Integer(12769 * fraction / 100)),
            ("train.steps", Integer(20_000)),
            ("eval.every", Integer(500)),
        ]);
        s
    };
    let mut fig1a = softmax("model");
    // OrthoGrad wraps an AdamW whose betas and eps stay torch's defaults (grokking_experiments.py
    // :53-67 never passes them on)
    fig1a.extend([
        ("optim.all.orthograd", Boolean(true)),
        ("optim.all.betas", Array(vec![Float(0.9), Float(0.999)])),
        ("optim.all.eps", Float(1e-8)),
        ("train.steps", Integer(300)),
        ("eval.every", Integer(10)),
    ]);
    let mut runs = vec![
        Run {
            name: "fig1a-orthograd",
            sets: fig1a,
            quick_steps: Some(300),
        },
        Run {
            name: "fig1b-stablemax",
            sets: vec![],
            quick_steps: Some(6000),
        },
        Run {
            name: "fig1c-softmax",
            sets: softmax("f64"),
            quick_steps: Some(6000),
        },
    ];
    for fraction in [40, 60, 70] {
        for precision in ["model", "f64"] {
            runs.push(Run {
                name: match (fraction, precision) {
                    (40, "model") => "fig2-40-f32",
                    (40, _) => "fig2-40-f64",
                    (60, "model") => "fig2-60-f32",
                    (60, _) => "fig2-60-f64",
                    (_, "model") => "fig2-70-f32",
                    _ => "fig2-70-f64",
                },
                sets: fig2(fraction, precision),
                quick_steps: None,
            });
        }
    }
    runs
}

pub fn run(a: Args) -> Result<(), CliError> {
    let base = groklab_engine::presets::load("prieto2025-stablemax")?;
    let mut planned: Vec<(&'static str, Config)> = Vec::new();
    for r in runs() {
        let steps = match (a.max_steps, a.quick) {
            (Some(n), _) => Some(n.min(r.quick_steps.unwrap_or(n))),
            (None, true) => match r.quick_steps {
                Some(n) => Some(n),
                None => continue,
            },
            (None, false) => None,
        };
        let mut sets = r.sets.clone();
        sets.push(("phase.acc_threshold", toml::Value::Float(0.95)));
        if let Some(n) = steps {
            sets.push(("train.steps", toml::Value::Integer(n as i64)));
        }
        let c = base.with(&sets)?;
        groklab_engine::train::check_fits(std::slice::from_ref(&c))?;
        planned.push((r.name, c));
    }
    let mode = match (a.max_steps, a.quick) {
        (Some(n), _) => format!("--max-steps {n}"),
        (None, true) => "--quick".into(),
        (None, false) => String::new(),
    };
    let work = Work::open(&a.out, "prieto2025", &mode)?;
    eprintln!(
        "groklab repro prieto2025: {} runs into {}",
        planned.len(),
        work.dir.display()
    );
    for (name, c) in &planned {
        let s = work.train(name, c)?;
        eprintln!(
            "  {name}: {} steps, test accuracy {:.3}",
            s.steps,
            s.final_metrics.get("val_acc").copied().unwrap_or(f64::NAN)
        );
    }
    let rows = comparison(&work)?;
    let figures = figures(&work);
    let intro = "<p>Prieto, Barsbey, Mediano, Birdal 2025, <em>Grokking at the edge of numerical \
                 stability</em> (arXiv 2501.04697): an MLP [200, 200] on x + y mod 113 from \
                 concatenated one-hots, full batch, no regulariser, in the settings of the \
                 authors' run_main_experiments.sh. The published curves were read from the \
                 authors' figure images (paper_plots.ipynb); float16 softmax (fig. 2) is not \
                 offered by groklab.</p>";
    work.finish(
        "Prieto et al. 2025: grokking at the edge of numerical stability",
        intro,
        &rows,
        &figures,
        a.json.then(|| serde_json::json!({})),
    )
}

/// The test accuracy a run logged at `step` (None when the run stopped before it), and its last.
fn val_acc(work: &Work, run: &str, step: Option<usize>) -> Option<f64> {
    let t = Table::read(&work.dir.join("runs").join(run).join("metrics.csv")).ok()?;
    let pts = t.xy("step", "val_acc");
    match step {
        Some(s) => pts.iter().find(|p| p.0 as usize == s).map(|p| p.1),
        None => pts.last().map(|p| p.1),
    }
}

fn summary(work: &Work, run: &str) -> Option<groklab_engine::run::Summary> {
    groklab_engine::run::read_summary(&work.dir.join("runs").join(run)).ok()
}

fn comparison(work: &Work) -> Result<Vec<Comparison>, CliError> {
    let row = |figure: &str,
               quantity: &str,
               published: f64,
               ours: Option<f64>,
               unit: &str,
               c,
               source: &str| {
        Comparison {
            paper: "Prieto et al. 2025".into(),
            figure: figure.into(),
            quantity: quantity.into(),
            published: Value::Number(published),
            ours: ours.map(Value::Number),
            unit: unit.into(),
            criterion: c,
            source: source.into(),
            command: work.command(),
        }
    };
    let acc = Criterion::absolute(0.1, 0.25);
    let image = |cell: u32, line: &str| {
        format!(
            "read from the authors' image, paper_plots.ipynb cell {cell} (pixel positions \
             against the gridlines, +-0.01); run_main_experiments.sh:{line}"
        )
    };
    let full = |run: &str| summary(work, run).map(|s| s.steps);
    let mut rows = vec![row(
        "fig. 1(a)",
        "⊥AdamW: epochs to 95% test accuracy",
        110.0,
        summary(work, "fig1a-orthograd").and_then(|s| s.steps_to_val_acc.map(|v| v as f64)),
        "epochs",
        Criterion::relative(0.25, 1.0),
        &image(3, "51"),
    )];
    for (step, published) in [
        (20_000, 0.058),
        (40_000, 0.73),
        (60_000, 0.976),
        (80_000, 0.985),
    ] {
        let ran = full("fig1b-stablemax").is_some_and(|n| n >= step);
        rows.push(row(
            "fig. 1(b)",
            &format!("StableMax: test accuracy at epoch {step}"),
            published,
            ran.then(|| val_acc(work, "fig1b-stablemax", Some(step)))
                .flatten(),
            "accuracy",
            acc,
            &image(2, "50"),
        ));
    }
    let c_done = full("fig1c-softmax").is_some_and(|n| n >= 80_000);
    rows.push(row(
        "fig. 1(c)",
        "softmax cross-entropy (float64): test accuracy at epoch 80,000",
        0.01,
        c_done
            .then(|| val_acc(work, "fig1c-softmax", None))
            .flatten(),
        "accuracy",
        Criterion::absolute(0.02, 0.05),
        &image(4, "52"),
    ));
    for (run, published, cell) in [
        ("fig2-40-f32", 0.0, 8),
        ("fig2-40-f64", 0.0, 8),
        ("fig2-60-f32", 0.28, 7),
        ("fig2-60-f64", 0.53, 7),
        ("fig2-70-f32", 0.67, 6),
        ("fig2-70-f64", 0.88, 6),
    ] {
        let done = full(run).is_some_and(|n| n >= 20_000);
        let parts: Vec<&str> = run.split('-').collect();
        rows.push(row(
            "fig. 2",
            &format!(
                "softmax CE at lr 5e-4, {}% of the data, softmax in float{}: test accuracy at \
                 epoch 20,000",
                parts[1],
                &parts[2][1..]
            ),
            published,
            done.then(|| val_acc(work, run, None)).flatten(),
            "accuracy",
            acc,
            &image(cell, "59-69"),
        ));
    }
    Ok(rows)
}

fn figures(work: &Work) -> Vec<Figure> {
    let run_figs = |run: &str| -> Vec<String> {
        ["accuracy.svg", "softmax_collapse.svg", "loss.svg"]
            .iter()
            .filter_map(|f| rel(work, &work.dir.join("runs").join(run).join(f)))
            .collect()
    };
    let mut out = Vec::new();
    for (run, title, fig) in [
        (
            "fig1a-orthograd",
            "⊥AdamW (softmax cross-entropy)",
            "fig. 1(a)",
        ),
        (
            "fig1b-stablemax",
            "StableMax cross-entropy, no regulariser",
            "fig. 1(b)",
        ),
        (
            "fig1c-softmax",
            "Softmax cross-entropy (float64), no regulariser",
            "fig. 1(c)",
        ),
        (
            "fig2-60-f32",
            "Softmax CE, 60% of the data, float32",
            "fig. 2(b)",
        ),
        (
            "fig2-60-f64",
            "Softmax CE, 60% of the data, float64",
            "fig. 2(b)",
        ),
        (
            "fig2-70-f32",
            "Softmax CE, 70% of the data, float32",
            "fig. 2(c)",
        ),
        (
            "fig2-70-f64",
            "Softmax CE, 70% of the data, float64",
            "fig. 2(c)",
        ),
    ] {
        let images = run_figs(run);
        if images.is_empty() {
            continue;
        }
        out.push(Figure {
            title: title.into(),
            paper_figure: fig.into(),
            images,
            note: format!(
                "<a href=\"runs/{run}/index.html\">runs/{run}</a>. softmax_collapse is the \
                 fraction of training rows whose float32 softmax sums to exactly 1 (the authors' \
                 logger.py:154-165)."
            ),
        });
    }
    out
}
