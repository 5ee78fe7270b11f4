//! `groklab quickstart`: the main job on the embedded default. Trains `liu2022-toy`, puts the
//! effective theory beside it (does this training set pin the representation down, and how fast),
//! and prints a short summary. `--transformer` trains `modadd-quick` instead: a transformer grokking
//! modular addition.

use super::CliError;
use groklab_engine::run::execute;
use groklab_engine::task::addition::Addition;
use groklab_engine::train::TrainOptions;
use groklab_theory::addition as th;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Run directory; it must be new or empty (default: runs/quickstart, or runs/quickstart-2, ...
    /// when that exists; runs/quickstart-transformer with --transformer).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Let --out replace an existing groklab run directory (never a directory holding other files).
    #[arg(long, requires = "out")]
    overwrite: bool,
    /// Seed of the run.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the run's summary.json to stdout.
    #[arg(long)]
    json: bool,
    /// Train a transformer on modular addition instead (`modadd-quick`: groks in about a minute).
    #[arg(long)]
    transformer: bool,
}

pub fn run(a: Args) -> Result<(), CliError> {
    if a.transformer {
        return transformer(a);
    }
    let mut config = groklab_engine::presets::load("liu2022-toy")?;
    config.seed = a.seed;
    let Some(task) = config.task.get::<Addition>() else {
        return Err(CliError::Work(
            "the quickstart preset is not an addition task".into(),
        ));
    };
    let p = task.p;
    eprintln!(
        "groklab quickstart: {} (seed {})",
        config.description, config.seed
    );
    let out = super::train::out_dir(a.out, a.overwrite, "quickstart".into());
    let (summary, dir) = execute(&config, &out, &shown())?;
    super::train::print_human(&summary, &dir);

    let data = config.dataset();
    let train_mask = data.train_mask();
    let spec = th::spectrum(p, &th::parallelograms(p, &train_mask));
    let eta = config.optim.get("embed").map_or(1e-3, |g| g.lr);
    let crit = th::critical_fraction(p, 2000, 0);
    let frac = data.train.len() as f64 / train_mask.len() as f64;
    eprintln!("effective theory:");
    if spec.nullity == 2 {
        eprintln!(
            "  this training set determines the linear representation (nullity 2); lambda_3 = {:.3}, so about 1/(lambda_3 eta) = {:.0} steps at eta = {eta}",
            spec.lambda3,
            th::predicted_steps(spec.lambda3, eta)
        );
    } else {
        eprintln!(
            "  this training set leaves {} extra free directions (nullity {}): the theory expects no generalisation",
            spec.nullity - 2,
            spec.nullity
        );
    }
    match crit.critical_fraction {
        Some(c) => eprintln!(
            "  random training sets determine it above a training fraction of {c:.2} (this run: {frac:.2})"
        ),
        None => eprintln!("  random training sets never determine it with probability 1/2"),
    }
    let grokked = summary.steps_to_val_acc.is_some();
    eprintln!(
        "verdict: {} (phase {}); plots and data in {}",
        if grokked {
            "it generalised"
        } else {
            "it did not generalise within the budget"
        },
        summary.phase.as_str(),
        dir.display()
    );
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}

/// `quickstart --transformer`: `modadd-quick`, and when it fitted and generalised.
fn transformer(a: Args) -> Result<(), CliError> {
    let mut config = groklab_engine::presets::load("modadd-quick")?;
    config.seed = a.seed;
    eprintln!(
        "groklab quickstart --transformer: {} (seed {})",
        config.description, config.seed
    );
    let out = super::train::out_dir(a.out, a.overwrite, "quickstart-transformer".into());
    let (summary, dir) = execute(&config, &out, &shown())?;
    super::train::print_human(&summary, &dir);
    let at = |s: Option<usize>| s.map_or("never".to_string(), |s| format!("step {s}"));
    eprintln!(
        "verdict: training accuracy reached {:.0}% at {}, validation at {} (phase {}); plots and data in {}",
        100.0 * config.phase.acc_threshold,
        at(summary.steps_to_train_acc),
        at(summary.steps_to_val_acc),
        summary.phase.as_str(),
        dir.display()
    );
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}

/// A quickstart run draws its progress bar.
fn shown() -> TrainOptions {
    TrainOptions {
        progress: true,
        ..Default::default()
    }
}
