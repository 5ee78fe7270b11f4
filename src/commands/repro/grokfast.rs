//! `groklab repro grokfast`: Lee et al. 2024, "Grokfast: accelerated grokking by amplifying slow
//! gradients" (arXiv 2405.20233), x * y mod 97 with the authors' decoder. Trains the authors'
//! baseline (no weight decay), Grokfast-MA and Grokfast-EMA, and a baseline with the MA run's
//! weight decay (so the page shows how much of the speed-up the filter itself earns); writes
//! `comparison.csv` (steps to 95% validation accuracy and the speed-ups beside the README's
//! table), `compare_val_acc.svg`, `compare.csv` and `index.html`, the comparison first.

use crate::commands::CliError;
use groklab_engine::run::{OutDir, Summary, claim, execute};
use groklab_engine::train::TrainOptions;
use groklab_report::comparison::{Comparison, Criterion, Value, html_table, write_csv};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The runs, in order: preset, what the page calls it.
const RUNS: &[(&str, &str)] = &[
    ("grokfast-ma-baseline", "baseline (no weight decay)"),
    ("grokfast-ma", "Grokfast-MA"),
    ("grokfast-ema", "Grokfast-EMA"),
    (
        "grokfast-ma-fair-baseline",
        "baseline with MA's weight decay 0.01",
    ),
];

/// Steps the baselines run in `--quick` (they need ~40,000 to reach 95%).
const QUICK_STEPS: usize = 3000;

#[derive(clap::Args)]
pub struct Args {
    /// Output directory; it must be new or empty (default: a new runs/repro-grokfast[-N]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// A fast pass (about 5 minutes on 2 cores): MA and EMA to their 95%, the two baselines for
    /// their first 3,000 steps only (the paper's baseline needs 39,890: its crossing and the
    /// speed-ups are then "not run"). The full pass trains every run to 95% or its budget (the
    /// baselines: about an hour and a half each on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Print the comparison rows and the runs' summaries as JSON to stdout.
    #[arg(long)]
    json: bool,
    /// Test-only: every run capped at N steps.
    #[arg(long, hide = true, value_name = "N")]
    max_steps: Option<usize>,
}

pub fn run(a: Args) -> Result<(), CliError> {
    let started = Instant::now();
    let mut configs = Vec::new();
    for (preset, _) in RUNS {
        let mut c = groklab_engine::presets::load(preset)?;
        let baseline = preset.contains("baseline");
        let cap = match (a.max_steps, a.quick && baseline) {
            (Some(n), _) => Some(n),
            (None, true) => Some(QUICK_STEPS),
            (None, false) => None,
        };
        if let Some(n) = cap {
            let per = c.steps_per_epoch().unwrap_or(1);
            c = c.with(&[("train.epochs", toml::Value::Integer(n.div_ceil(per) as i64))])?;
        }
        groklab_engine::train::check_fits(std::slice::from_ref(&c))?;
        configs.push(c);
    }
    let out = super::out_dir(&a.out, "repro-grokfast");
    let dir = claim(&out)?.commit()?;
    eprintln!(
        "groklab repro grokfast: {} runs into {}",
        RUNS.len(),
        dir.display()
    );
    let mut summaries = Vec::new();
    for (c, (preset, label)) in configs.iter().zip(RUNS) {
        let run_dir = dir.join("runs").join(preset);
        let (s, _) = execute(
            c,
            &OutDir::Exact {
                path: run_dir,
                overwrite: false,
            },
            &TrainOptions {
                progress: true,
                ..Default::default()
            },
        )?;
        eprintln!(
            "  {label}: validation 95% at step {} ({} steps taken)",
            s.steps_to_val_acc.map_or("never".into(), |v| v.to_string()),
            s.steps
        );
        summaries.push(s);
    }
    let command = if a.quick {
        "groklab repro grokfast --quick"
    } else {
        "groklab repro grokfast"
    };
    let rows = comparison(&summaries, command);
    write_csv(&rows, &dir.join("comparison.csv")).map_err(CliError::Work)?;
    let run_dirs: Vec<PathBuf> = RUNS.iter().map(|(p, _)| dir.join("runs").join(p)).collect();
    let compared = groklab_report::compare::read(&run_dirs).map_err(CliError::Work)?;
    groklab_report::compare::write(&compared, "val_acc", &dir).map_err(CliError::Work)?;
    page(&dir, &rows, a.quick)?;
    eprintln!(
        "  comparison.csv and index.html in {} ({:.0} s)",
        dir.display(),
        started.elapsed().as_secs_f64()
    );
    for r in &rows {
        eprintln!(
            "  {:<58} published {:>8}  ours {:>8}  {}",
            r.quantity,
            r.published.show(),
            r.ours.as_ref().map_or("-".into(), Value::show),
            r.verdict().as_str()
        );
    }
    if a.json {
        let j = serde_json::json!({
            "dir": dir,
            "comparison": rows.iter().map(|r| serde_json::json!({
                "quantity": r.quantity, "published": r.published.show(),
                "ours": r.ours.as_ref().map(Value::show), "verdict": r.verdict().as_str(),
            })).collect::<Vec<_>>(),
            "runs": summaries,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&j).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}

/// The README's numbers beside ours: steps to 95% validation accuracy and the speed-ups.
fn comparison(s: &[Summary], command: &str) -> Vec<Comparison> {
    let steps = |k: usize| s[k].steps_to_val_acc.map(|v| v as f64);
    // one seed each: within 25% reproduced, within 2x close
    let steps_criterion = Criterion::relative(0.25, 1.0);
    let row =
        |quantity: &str, published: f64, ours: Option<f64>, unit: &str, line: &str| Comparison {
            paper: "Lee et al. 2024 (Grokfast)".into(),
            figure: "README results table (fig. 2)".into(),
            quantity: quantity.into(),
            published: Value::Number(published),
            ours: ours.map(Value::Number),
            unit: unit.into(),
            criterion: steps_criterion,
            source: format!("ironjr/grokfast README.md:{line}"),
            command: command.into(),
        };
    let ratio = |k: usize| steps(0).zip(steps(k)).map(|(b, f)| b / f);
    vec![
        row(
            "steps to 95% validation accuracy, baseline (no weight decay)",
            39890.0,
            steps(0),
            "steps",
            "178",
        ),
        row(
            "steps to 95% validation accuracy, Grokfast-MA",
            790.0,
            steps(1),
            "steps",
            "179",
        ),
        row(
            "steps to 95% validation accuracy, Grokfast-EMA",
            910.0,
            steps(2),
            "steps",
            "191",
        ),
        row(
            "speed-up of MA over the baseline",
            50.49,
            ratio(1),
            "x",
            "179",
        ),
        row(
            "speed-up of EMA over the baseline",
            43.84,
            ratio(2),
            "x",
            "191",
        ),
    ]
}

/// `index.html`: the comparison first, then the runs overlaid and their summaries.
fn page(dir: &Path, rows: &[Comparison], quick: bool) -> Result<(), CliError> {
    let note = if quick {
        format!(
            "<p>--quick: the baselines ran their first {QUICK_STEPS} steps only, so their \
             crossing and the speed-ups are not run.</p>\n"
        )
    } else {
        String::new()
    };
    let runs: String = RUNS
        .iter()
        .map(|(p, label)| format!("<li><a href=\"runs/{p}/index.html\">{label}</a> ({p})</li>\n"))
        .collect();
    let body = format!(
        "<h1>Grokfast (Lee et al. 2024): steps to 95% validation accuracy</h1>\n{note}\
         <h2>Published beside ours</h2>\n{}\n<h2>Validation accuracy of every run</h2>\n\
         <div class=\"plots\"><img src=\"compare_val_acc.svg\" alt=\"val_acc\"></div>\n\
         <p>The baseline with the MA run's weight decay (0.01) shows how much of the speed-up the \
         filter itself earns; the paper's baseline has none. Summaries: \
         <a href=\"compare.csv\">compare.csv</a>.</p>\n<h2>Runs</h2>\n<ul>\n{runs}</ul>\n",
        html_table(rows)
    );
    let html = groklab_report::html::page("repro grokfast", &body, true);
    super::super::write_atomic(&dir.join("index.html"), html.as_bytes())
}
