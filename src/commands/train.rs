//! `groklab train FILE.toml | preset NAME [--set key=value]... [--seed N] [--out DIR] [--json]`,
//! and `groklab train --resume DIR` (or `groklab train DIR`) to continue an unfinished run.

use super::{CliError, resolve};
use groklab_engine::live::Status;
use groklab_engine::run::{OutDir, Summary, default_name, execute_from, resume, unfinished};
use groklab_engine::train::TrainOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

#[derive(clap::Args)]
pub struct Args {
    /// FILE.toml, or the word `preset` followed by a preset name (see `groklab presets`), or the
    /// directory of an unfinished run to continue (as --resume).
    #[arg(
        value_name = "FILE.toml | preset NAME | RUN_DIR",
        required_unless_present = "resume",
        num_args = 1..=2
    )]
    source: Vec<String>,
    /// Continue the unfinished run in DIR (interrupted, or killed) from its saved state
    /// (state.safetensors): it ends as it would have without the stop, bit for bit.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["sets", "seed", "out", "overwrite", "init"])]
    resume: Option<PathBuf>,
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
    let opts = TrainOptions {
        progress: !a.quiet,
        interrupt: Some(catch_signals()?),
        overrides: a.sets.clone(),
        position: None,
    };
    // a run directory given as the source is continued, as with --resume
    let dir_source = match a.source.as_slice() {
        [d] if Path::new(d).is_dir() => Some(PathBuf::from(d)),
        _ => None,
    };
    let explicit = a.resume.is_some();
    let (summary, dir) = match a.resume.or(dir_source) {
        Some(dir) => {
            if !explicit && unfinished(&dir).is_none() {
                return Err(CliError::Input(format!(
                    "{} is a directory but holds no unfinished run to continue; allowed: \
                     FILE.toml, `preset NAME`, or an unfinished run's directory",
                    dir.display()
                )));
            }
            resume(&dir, &opts)?
        }
        None => {
            let config = resolve(&a.source, &a.sets, a.seed)?;
            let out = out_dir(a.out, a.overwrite, default_name(&config, &a.sets));
            execute_from(&config, &out, &opts, a.init.as_deref())?
        }
    };
    print_human(&summary, &dir);
    if a.json {
        // summary.json, and where the run is
        let mut v = serde_json::to_value(&summary).map_err(|e| CliError::Work(e.to_string()))?;
        v["run_dir"] = serde_json::Value::String(dir.display().to_string());
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    interrupted(&summary, &dir, &opts)
}

/// SIGINT and SIGTERM (what Slurm sends before a kill) set the returned flag to their number: the
/// run saves its state and stops after the step it is in. A second SIGINT exits at once.
pub fn catch_signals() -> Result<Arc<AtomicUsize>, CliError> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicUsize::new(0));
    let fail = |e: std::io::Error| CliError::Work(format!("cannot install signal handlers: {e}"));
    let caught = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // the second Ctrl-C exits at once (the handler set by the first has run by then)
    signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(&caught))
        .map_err(fail)?;
    signal_hook::flag::register(SIGINT, caught).map_err(fail)?;
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_usize(sig, Arc::clone(&flag), sig as usize).map_err(fail)?;
    }
    Ok(flag)
}

/// After an interrupted run: where it is and how to continue, and exit 128 + the signal.
fn interrupted(s: &Summary, dir: &Path, opts: &TrainOptions) -> Result<(), CliError> {
    if s.status != Status::Interrupted {
        return Ok(());
    }
    let sig = opts
        .interrupt
        .as_ref()
        .map_or(2, |f| f.load(std::sync::atomic::Ordering::Relaxed));
    let name = if sig == 15 { "SIGTERM" } else { "SIGINT" };
    Err(CliError::Interrupted {
        message: format!(
            "interrupted by {name} after step {} of {}: state saved in {}; continue with: groklab train --resume {}",
            s.steps,
            s.budget.max(s.steps),
            dir.join(groklab_engine::live::STATE).display(),
            dir.display()
        ),
        code: 128 + sig as u8,
    })
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
        match s.status {
            Status::Interrupted => "interrupted (phase so far)",
            _ => s.phase.as_str(),
        },
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
