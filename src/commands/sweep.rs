//! `groklab sweep`: run a sweep, resume one, merge shards, print a preset or a Slurm script.
//!
//! - `groklab sweep SWEEP.toml | preset NAME [--out DIR] [--jobs N] [--chunk M] [--resume] [--shard I/N] [--json]`
//! - `groklab sweep resume DIR [--jobs N] [--shard I/N] [--json]`
//! - `groklab sweep merge DIR [--json]`
//! - `groklab sweep show NAME`
//! - `groklab sweep slurm SWEEP.toml | preset NAME --out DIR [--array N] [--time T] [--cpus C] [--partition P] [--mem M]`

use super::CliError;
use groklab_sweep::exec::{Options, Outcome, Shard};
use groklab_sweep::{Prepared, Sweep, SweepDir, SweepError, dir, exec, prepare, presets, slurm};
use serde_json::json;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// SWEEP.toml, `preset NAME`, `resume DIR`, `merge DIR`, `show NAME` or `slurm SWEEP.toml | slurm preset NAME`.
    #[arg(value_name = "SWEEP.toml | preset NAME | resume DIR | merge DIR | show NAME | slurm ...", required = true, num_args = 1..=3)]
    words: Vec<String>,
    /// Sweep directory (default sweeps/NAME; a directory holding the same sweep is resumed).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (default: every core).
    #[arg(long)]
    jobs: Option<usize>,
    /// Runs trained together as one ensemble (same-shaped runs only; results do not depend on it).
    /// Default: 1 on the fused path, 4 on the autodiff path (measured fastest on 2 cores,
    /// BENCHMARKS.md).
    #[arg(long)]
    chunk: Option<usize>,
    /// Require --out to hold this sweep already, and continue it.
    #[arg(long)]
    resume: bool,
    /// Override a config key of every run, as `train --set` (repeatable); part of the sweep's
    /// definition, so `sweep resume` keeps it.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Run only shard I of N (run i belongs to shard i mod N); `--shard /N` takes I from SLURM_ARRAY_TASK_ID.
    #[arg(long, value_name = "I/N")]
    shard: Option<String>,
    /// Print a JSON summary to stdout.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short)]
    quiet: bool,
    /// slurm: array tasks (shards).
    #[arg(long, default_value_t = 4)]
    array: usize,
    /// slurm: time limit of each task.
    #[arg(long, default_value = "1:00:00")]
    time: String,
    /// slurm: CPUs of each task (its --jobs).
    #[arg(long, default_value_t = 1)]
    cpus: usize,
    /// slurm: partition.
    #[arg(long)]
    partition: Option<String>,
    /// slurm: memory of each task, e.g. 4G.
    #[arg(long)]
    mem: Option<String>,
}

impl From<SweepError> for CliError {
    fn from(e: SweepError) -> CliError {
        if e.is_user_error() {
            CliError::Input(e.to_string())
        } else {
            CliError::Work(e.to_string())
        }
    }
}

pub fn run(a: Args) -> Result<(), CliError> {
    match a.words.as_slice() {
        [w, name] if w == "show" => {
            let text = presets::text(name).ok_or_else(|| presets::unknown(name))?;
            print!("{text}");
            Ok(())
        }
        [w, d] if w == "merge" => merge(Path::new(d), a.json),
        [w, d] if w == "resume" => {
            if !a.sets.is_empty() {
                return Err(CliError::Input(
                    "invalid option `--set` with `sweep resume`: a resumed sweep keeps its stored definition (give --set to a new sweep)".into(),
                ));
            }
            let (_, sweep) = SweepDir::resume(Path::new(d))?;
            train(sweep, Path::new(d), &a)
        }
        [w, rest @ ..] if w == "slurm" => {
            let sweep = load(rest)?.with_sets(&a.sets)?;
            let out = a.out.clone().ok_or_else(|| {
                CliError::Input(
                    "`groklab sweep slurm` needs --out DIR (the sweep directory every task writes)"
                        .into(),
                )
            })?;
            submit_script(sweep, &out, &a)
        }
        words => {
            let sweep = load(words)?.with_sets(&a.sets)?;
            let out = match &a.out {
                Some(o) => o.clone(),
                None => dir::default_dir(&sweep),
            };
            if a.resume && !out.join(dir::DEFINITION).is_file() {
                return Err(CliError::Input(format!(
                    "invalid value for `--resume`: {} holds no sweep to resume",
                    out.display()
                )));
            }
            train(sweep, &out, &a)
        }
    }
}

/// A sweep from `FILE.toml` or `preset NAME`.
fn load(words: &[String]) -> Result<Sweep, CliError> {
    match words {
        [p, name] if p == "preset" => {
            if presets::text(name).is_none() && groklab_engine::presets::text(name).is_some() {
                return Err(CliError::Input(format!(
                    "`{name}` is a run preset, not a sweep preset: train it with `groklab train preset {name}`"
                )));
            }
            Ok(presets::load(name)?)
        }
        [file] => {
            let path = Path::new(file);
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Input(format!("cannot read sweep file {file}: {e}")))?;
            let dir = path.parent().unwrap_or(Path::new("."));
            Ok(Sweep::from_toml(&text, file, dir)?)
        }
        _ => Err(CliError::Input(
            "expected SWEEP.toml, `preset NAME`, `resume DIR`, `merge DIR`, `show NAME` or `slurm ...`".into(),
        )),
    }
}

fn options(a: &Args) -> Result<Options, CliError> {
    let shard = a
        .shard
        .as_deref()
        .map(Shard::parse)
        .transpose()
        .map_err(CliError::Input)?;
    if a.chunk == Some(0) {
        return Err(CliError::Input(
            "invalid value for `--chunk`: 0; allowed: an integer >= 1".into(),
        ));
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Ok(Options {
        jobs: a.jobs.unwrap_or(cores).max(1),
        chunk: a.chunk,
        shard,
        progress: !a.quiet,
        interrupt: Some(super::train::catch_signals()?),
        done: None,
    })
}

fn train(sweep: Sweep, out: &Path, a: &Args) -> Result<(), CliError> {
    let opts = options(a)?;
    let prepared = prepare(sweep)?;
    let dir = SweepDir::open(out, &prepared)?;
    eprintln!(
        "sweep {}: {} runs{} into {} ({} worker{}, {} per ensemble)",
        prepared.sweep.name,
        prepared.runs.len(),
        opts.shard.map_or(String::new(), |s| format!(
            ", shard {}/{}",
            s.index, s.count
        )),
        out.display(),
        opts.jobs,
        if opts.jobs == 1 { "" } else { "s" },
        opts.chunk.map_or_else(
            || prepared
                .runs
                .first()
                .map_or(1, groklab_sweep::exec::default_chunk)
                .to_string(),
            |c| c.to_string()
        )
    );
    let outcome = exec::run(&dir, &prepared, &opts)?;
    if outcome.already_done > 0 {
        eprintln!(
            "  {} run{} finished earlier were kept",
            outcome.already_done,
            if outcome.already_done == 1 { "" } else { "s" }
        );
    }
    let missing = finish(&dir, &prepared)?;
    report(&dir, &prepared, Some(&outcome), missing, a.json)?;
    match outcome.interrupted_by {
        Some(sig) => Err(CliError::Interrupted {
            message: format!(
                "interrupted by {}: the runs in training saved their states in {}; continue with: groklab sweep resume {}",
                if sig == 15 { "SIGTERM" } else { "SIGINT" },
                out.join("states").display(),
                out.display()
            ),
            code: 128 + sig as u8,
        }),
        None => Ok(()),
    }
}

/// Rebuilds the table, draws the diagrams and writes the page; returns how many runs are missing.
fn finish(dir: &SweepDir, prepared: &Prepared) -> Result<usize, CliError> {
    let missing = dir.rebuild_table(prepared)?.len();
    groklab_report::sweep::draw_sweep(&dir.path).map_err(CliError::Work)?;
    groklab_report::html::sweep_page(&dir.path).map_err(CliError::Work)?;
    Ok(missing)
}

fn merge(path: &Path, json: bool) -> Result<(), CliError> {
    let (_, sweep) = SweepDir::resume(path)?;
    let prepared = prepare(sweep)?;
    let dir = SweepDir::open(path, &prepared)?;
    let missing = finish(&dir, &prepared)?;
    report(&dir, &prepared, None, missing, json)
}

fn report(
    dir: &SweepDir,
    prepared: &Prepared,
    outcome: Option<&Outcome>,
    missing: usize,
    json: bool,
) -> Result<(), CliError> {
    let table = groklab_report::Table::read(&dir.path.join(dir::TABLE)).unwrap_or_default();
    let phases = table.text_column("phase").unwrap_or_default();
    let mut counts = serde_json::Map::new();
    for (p, _) in groklab_report::sweep::PHASES {
        let n = phases.iter().filter(|x| x == p).count();
        counts.insert(p.to_string(), json!(n));
    }
    let words: Vec<String> = counts
        .iter()
        .filter(|(_, n)| n.as_u64() != Some(0))
        .map(|(p, n)| format!("{n} {p}"))
        .collect();
    eprintln!(
        "{}: {} of {} runs in sweep.csv ({}); {} missing{}",
        prepared.sweep.name,
        phases.len(),
        prepared.runs.len(),
        words.join(", "),
        missing,
        outcome.map_or(String::new(), |o| format!(
            "; trained {} in {:.1} s",
            o.trained, o.wall_seconds
        ))
    );
    eprintln!("  open {}", dir.path.join("index.html").display());
    if json {
        let mut j = json!({
            "name": prepared.sweep.name,
            "dir": dir.path,
            "runs": prepared.runs.len(),
            "finished": phases.len(),
            "missing": missing,
            "phases": counts,
            "table": dir.path.join(dir::TABLE),
            "page": dir.path.join("index.html"),
        });
        if let Some(o) = outcome {
            j["in_shard"] = json!(o.in_shard);
            j["already_done"] = json!(o.already_done);
            j["trained"] = json!(o.trained);
            j["wall_seconds"] = json!(o.wall_seconds);
            j["runs_per_minute"] = json!(if o.wall_seconds > 0.0 {
                o.trained as f64 * 60.0 / o.wall_seconds
            } else {
                0.0
            });
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&j).map_err(|e| CliError::Work(e.to_string()))?
        );
    }
    Ok(())
}

fn submit_script(sweep: Sweep, out: &Path, a: &Args) -> Result<(), CliError> {
    if a.array == 0 || a.cpus == 0 {
        return Err(CliError::Input(
            "invalid value for `--array`/`--cpus`: 0; allowed: integers >= 1".into(),
        ));
    }
    let prepared = prepare(sweep)?;
    let dir = SweepDir::open(out, &prepared)?;
    let logs = dir.path.join("slurm");
    std::fs::create_dir_all(&logs).map_err(super::io_err("cannot create", &logs))?;
    let exe = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| CliError::Work(format!("cannot find the groklab binary: {e}")))?;
    let abs = dir
        .path
        .canonicalize()
        .map_err(super::io_err("cannot resolve", &dir.path))?;
    let job = slurm::Job {
        array: a.array,
        time: a.time.clone(),
        cpus: a.cpus,
        partition: a.partition.clone(),
        mem: a.mem.clone(),
    };
    let script = slurm::script(&prepared.sweep.name, &abs, &exe, &job);
    let path = dir.path.join("submit.sbatch");
    super::write_atomic(&path, script.as_bytes())?;
    print!("{script}");
    eprintln!(
        "wrote {} ({} runs in {} array tasks); submit it with `sbatch {}`, then `groklab sweep merge {}`",
        path.display(),
        prepared.runs.len(),
        a.array,
        path.display(),
        dir.path.display()
    );
    Ok(())
}
