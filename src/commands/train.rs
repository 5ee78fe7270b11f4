//! `groklab train FILE.toml | preset NAME [--set key=value]... [--seed N] [--out DIR] [--json]`.

use super::{CliError, io_err, resolve};
use groklab_engine::run::{Summary, execute};
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
    /// Run directory (default runs/NAME-seedN).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print summary.json to stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
}

pub fn run(a: Args) -> Result<(), CliError> {
    let config = resolve(&a.source, &a.sets, a.seed)?;
    let dir = a
        .out
        .unwrap_or_else(|| PathBuf::from(format!("runs/{}-seed{}", config.name, config.seed)));
    let summary = execute(&config, &dir, &TrainOptions { progress: !a.quiet })
        .map_err(io_err("cannot write run", &dir))?;
    print_human(&summary, &dir);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
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
