//! `groklab train FILE.toml | preset NAME [--set key=value]... [--seed N] [--out DIR] [--json]`.

use super::{CliError, resolve};
use groklab_engine::run::{OutDir, Summary, default_name, execute_from};
use groklab_engine::train::TrainOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// FILE.toml, or the word `preset` followed by a preset name (see `groklab presets`).
    #[arg(value_name = "FILE.toml | preset NAME", required = true, num_args = 1..=2)]
    source: Vec<String>,
    /// Override a config key, e.g. --set optim.decoder.weight_decay=1.0 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Seed for data split, initialisation and batch order (overrides the config's).
    #[arg(long)]
    seed: Option<u64>,
    /// Run directory; it must be new or empty (default: a new directory under runs/ named after the
    /// preset, the seed and the --set overrides, with -2, -3, ... when that name is taken).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Let --out replace an existing groklab run directory (never a directory holding other files).
    #[arg(long, requires = "out")]
    overwrite: bool,
    /// Start from the parameters of a checkpoint (a run's checkpoint.safetensors or
    /// init.safetensors; names and shapes must be the model's) instead of the initialisation.
    #[arg(long, value_name = "FILE.safetensors")]
    init: Option<PathBuf>,
    /// Print summary.json to stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(a: Args) -> Result<(), CliError> {
    let config = resolve(&a.source, &a.sets, a.seed)?;
    let out = out_dir(a.out, a.overwrite, default_name(&config, &a.sets));
    let (summary, dir) = execute_from(
        &config,
        &out,
        &TrainOptions { progress: !a.quiet },
        a.init.as_deref(),
    )?;
    print_human(&summary, &dir);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}

/// `--out DIR [--overwrite]`, or a fresh directory `runs/NAME`.
pub fn out_dir(out: Option<PathBuf>, overwrite: bool, name: String) -> OutDir {
    match out {
        Some(path) => OutDir::Exact { path, overwrite },
        None => OutDir::Fresh {
            root: PathBuf::from("runs"),
            name,
        },
    }
}

fn step(s: Option<usize>) -> String {
    s.map_or("never".into(), |s| s.to_string())
}

pub fn print_human(s: &Summary, dir: &std::path::Path) {
    let pct = (s.acc_threshold * 100.0).round();
    eprintln!(
        "{} seed {}: {} — train acc >= {pct}% at step {}, validation at step {}; {} steps in {:.1} s ({:.0} steps/s)",
        s.name,
        s.seed,
        s.phase.as_str(),
        step(s.steps_to_train_acc),
        step(s.steps_to_val_acc),
        s.steps,
        s.wall_seconds,
        s.steps_per_second
    );
    let f = |k: &str| {
        s.final_metrics
            .get(k)
            .map_or("-".into(), |v| format!("{v:.4}"))
    };
    eprintln!(
        "  final: train acc {}, val acc {}, train loss {}, val loss {}, RQI {}",
        f("train_acc"),
        f("val_acc"),
        f("train_loss"),
        f("val_loss"),
        f("rqi")
    );
    eprintln!("  run directory: {}", dir.display());
}
