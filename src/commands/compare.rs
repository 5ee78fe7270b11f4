//! `groklab compare RUN_DIR... [--metric val_acc] [--out DIR] [--json]`: runs side by side, one
//! metric overlaid in one SVG and their summaries in one table.

use super::CliError;
use groklab_engine::run::{OutDir, claim};
use groklab_report::compare;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Run directories (two or more; each with metrics.csv and summary.json).
    #[arg(value_name = "RUN_DIR", required = true, num_args = 2..)]
    runs: Vec<PathBuf>,
    /// The metrics.csv column drawn over the steps.
    #[arg(long, default_value = "val_acc")]
    metric: String,
    /// Where compare_METRIC.svg, compare.csv and index.html go (new or empty; default: a new
    /// directory under comparisons/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the table as JSON to stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(a: Args) -> Result<(), CliError> {
    let runs = compare::read(&a.runs).map_err(CliError::Input)?;
    if let Some(r) = runs.iter().find(|r| !r.metrics.headers.contains(&a.metric)) {
        return Err(CliError::Input(format!(
            "invalid value for `--metric`: {}; {} has no such column; its columns: {}",
            a.metric,
            r.label,
            r.metrics.headers.join(", ")
        )));
    }
    let out = match a.out {
        Some(path) => OutDir::Exact {
            path,
            overwrite: false,
        },
        None => OutDir::Fresh {
            root: PathBuf::from("comparisons"),
            name: a.metric.clone(),
        },
    };
    let claimed = claim(&out)?;
    let dir = claimed.commit()?;
    compare::write(&runs, &a.metric, &dir).map_err(CliError::Work)?;
    for r in &runs {
        let f = |k: &str| {
            let v = compare::field(&r.summary, k);
            if v.is_empty() { "-".to_string() } else { v }
        };
        eprintln!(
            "{:<28} {:<14} train >= thr at {:>7}, val at {:>7}; final val acc {}",
            r.label,
            f("phase"),
            f("steps_to_train_acc"),
            f("steps_to_val_acc"),
            f("final.val_acc")
        );
    }
    eprintln!("  open {}", dir.join("index.html").display());
    if a.json {
        let rows: Vec<serde_json::Value> = runs
            .iter()
            .map(|r| {
                let mut m = serde_json::Map::new();
                m.insert("run".into(), r.label.clone().into());
                m.insert("dir".into(), r.dir.display().to_string().into());
                for f in compare::FIELDS {
                    m.insert(f.to_string(), compare::field(&r.summary, f).into());
                }
                serde_json::Value::Object(m)
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&rows).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}
