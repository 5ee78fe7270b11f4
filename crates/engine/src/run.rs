//! A run directory: `config.toml` (resolved, re-runnable), `metrics.csv`, probe tables such as
//! `embeddings.csv`, `summary.json`, `checkpoint.safetensors` (final) and `init.safetensors`
//! (initial parameters, to replay the run elsewhere) and SVG plots. Every file is written
//! atomically; `config.toml` goes first so a crashed run still says what it was.
//!
//! A run never overwrites another run or a user's files: a default directory is new (named after
//! the config, the seed and the overrides, with a counter when that name is taken), and an
//! explicit directory must be absent or empty, unless `overwrite` is given and it is a groklab run
//! directory.

use crate::config::Config;
use crate::error::EngineError;
use crate::files::{csv_bytes, write_atomic};
use crate::live::{Live, Progress, STATE, Saver, Status, read_progress, write_progress};
use crate::params::ParamSpec;
use crate::phase::{Phase, classify};
use crate::snapshot::Snapshot;
use crate::train::{MemberResult, Metrics, TrainOptions, Trainer};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Summary {
    pub name: String,
    pub seed: u64,
    /// `finished`, `diverged`, or `interrupted` (by a signal; `groklab train --resume DIR`
    /// continues it).
    pub status: Status,
    /// First evaluated step with train accuracy at or above the threshold (null if never).
    pub steps_to_train_acc: Option<usize>,
    /// First evaluated step with validation accuracy at or above the threshold (null if never).
    pub steps_to_val_acc: Option<usize>,
    /// steps_to_val_acc - steps_to_train_acc, when both exist.
    pub grokking_gap: Option<i64>,
    pub phase: Phase,
    #[serde(rename = "final", deserialize_with = "nulls_as_nan")]
    pub final_metrics: std::collections::BTreeMap<String, f64>,
    /// Steps taken.
    pub steps: usize,
    pub diverged_at: Option<usize>,
    /// The evaluation at which `train.stop` stopped the run (null if it did not).
    pub stopped_at: Option<usize>,
    pub acc_threshold: f64,
    pub budget: usize,
    pub wall_seconds: f64,
    pub steps_per_second: f64,
    /// What made the run (build, command line, times, host, threads, `--init` file).
    pub provenance: crate::provenance::Provenance,
    /// What the probes add (the sparse-parity study: memorisation epoch, subnetwork size, ...).
    #[serde(flatten)]
    pub probes: std::collections::BTreeMap<String, Option<f64>>,
}

/// `summary.json` writes a NaN as null (JSON has no NaN); read it back as NaN.
fn nulls_as_nan<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<std::collections::BTreeMap<String, f64>, D::Error> {
    let m: std::collections::BTreeMap<String, Option<f64>> = serde::Deserialize::deserialize(d)?;
    Ok(m.into_iter()
        .map(|(k, v)| (k, v.unwrap_or(f64::NAN)))
        .collect())
}

/// Reads a run's `summary.json`.
pub fn read_summary(dir: &Path) -> Result<Summary, EngineError> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(EngineError::io(dir))?;
    serde_json::from_str(&text).map_err(|e| {
        EngineError::Resume(format!("{}: not a groklab summary ({e})", path.display()))
    })
}

/// The keys `summary.json` holds besides the probes' fields, so readers (`sweep.csv`) can tell
/// the two apart.
pub const SUMMARY_KEYS: &[&str] = &[
    "name",
    "seed",
    "status",
    "steps_to_train_acc",
    "steps_to_val_acc",
    "grokking_gap",
    "phase",
    "final",
    "steps",
    "diverged_at",
    "stopped_at",
    "acc_threshold",
    "budget",
    "wall_seconds",
    "steps_per_second",
    "provenance",
];

/// First step (column `step`) where `col` reaches `level`.
pub fn first_reaching(metrics: &Metrics, col: &str, level: f64) -> Option<usize> {
    let steps = metrics.column("step")?;
    let vals = metrics.column(col)?;
    steps
        .iter()
        .zip(&vals)
        .find(|(_, v)| **v >= level)
        .map(|(s, _)| *s as usize)
}

/// Summarises one member's training.
pub fn summarise(
    config: &Config,
    r: &MemberResult,
    wall_seconds: f64,
    steps_per_second: f64,
) -> Summary {
    let thr = config.phase.acc_threshold;
    // exact to the step where the trainer refined them, else the first evaluation at the level
    let t = r.crossings[0].or_else(|| first_reaching(&r.metrics, "train_acc", thr));
    let v = r.crossings[1].or_else(|| first_reaching(&r.metrics, "val_acc", thr));
    let budget = config.budget();
    let phase = classify(t, v, budget, config.phase.gap, r.diverged_at.is_some());
    let mut fin = std::collections::BTreeMap::new();
    for k in [
        "train_acc",
        "val_acc",
        "train_loss",
        "val_loss",
        "rqi",
        "acc_hat",
        "wnorm",
    ] {
        if let Some(x) = r.metrics.last(k) {
            fin.insert(k.to_string(), x);
        }
    }
    Summary {
        name: config.name.clone(),
        seed: config.seed,
        status: if r.diverged_at.is_some() {
            Status::Diverged
        } else {
            Status::Finished
        },
        steps_to_train_acc: t,
        steps_to_val_acc: v,
        grokking_gap: match (t, v) {
            (Some(a), Some(b)) => Some(b as i64 - a as i64),
            _ => None,
        },
        phase,
        final_metrics: fin,
        steps: r.steps,
        diverged_at: r.diverged_at,
        stopped_at: r.stopped_at,
        acc_threshold: thr,
        budget,
        wall_seconds,
        steps_per_second,
        // a sweep's run: the build, host and end; a single run's writer fills in the rest
        provenance: crate::provenance::Provenance {
            started: String::new(),
            ended: crate::provenance::now(),
            command: Vec::new(),
            ..crate::provenance::Provenance::here(&[])
        },
        probes: r.summary.iter().cloned().collect(),
    }
}

/// Writes the resolved config first (before any training).
pub fn write_config(dir: &Path, config: &Config) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(&dir.join("config.toml"), config.to_toml().as_bytes())
}

/// Writes everything a finished member produced, and its plots.
pub fn write_member(
    dir: &Path,
    config: &Config,
    specs: &[ParamSpec],
    r: &MemberResult,
    summary: &Summary,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(
        &dir.join("metrics.csv"),
        &csv_bytes(&r.metrics.columns, &r.metrics.rows),
    )?;
    for t in &r.tables {
        write_atomic(&dir.join(&t.file), &csv_bytes(&t.header, &t.rows))?;
    }
    write_checkpoint(
        &dir.join("checkpoint.safetensors"),
        config,
        specs,
        &r.final_params,
        r.steps,
    )?;
    write_checkpoint(
        &dir.join("init.safetensors"),
        config,
        specs,
        &r.initial_params,
        0,
    )?;
    let json = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    write_atomic(&dir.join("summary.json"), json.as_bytes())?;
    groklab_report::run::draw_run(dir).map_err(std::io::Error::other)?;
    groklab_report::html::run_page(dir).map_err(std::io::Error::other)?;
    Ok(())
}

/// Writes final parameters as safetensors (in the run's precision, each under its model name and
/// shape), with the resolved config, step and seed as metadata. Python:
/// `safetensors.torch.load_file(path)`.
pub fn write_checkpoint(
    path: &Path,
    config: &Config,
    specs: &[ParamSpec],
    values: &[Vec<f64>],
    step: usize,
) -> std::io::Result<()> {
    use safetensors::tensor::{Dtype, TensorView};
    let f64s = config.train.dtype == crate::params::Precision::F64;
    let dtype = if f64s { Dtype::F64 } else { Dtype::F32 };
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| {
            if f64s {
                v.iter().flat_map(|&x| x.to_le_bytes()).collect()
            } else {
                v.iter().flat_map(|&x| (x as f32).to_le_bytes()).collect()
            }
        })
        .collect();
    let views: Vec<(String, TensorView<'_>)> = specs
        .iter()
        .zip(&bytes)
        .map(|(s, b)| TensorView::new(dtype, s.shape.clone(), b).map(|v| (s.name.clone(), v)))
        .collect::<Result<_, _>>()
        .map_err(std::io::Error::other)?;
    let mut meta = HashMap::new();
    meta.insert("config".to_string(), config.to_toml());
    meta.insert("step".to_string(), step.to_string());
    meta.insert("seed".to_string(), config.seed.to_string());
    meta.insert("producer".to_string(), crate::provenance::producer());
    let out = safetensors::serialize(views, Some(meta)).map_err(std::io::Error::other)?;
    write_atomic(path, &canonical_header(out)?)
}

/// The same safetensors file with its JSON header's keys in sorted order. The `safetensors` crate
/// writes its metadata from a `HashMap`, whose order changes from process to process; sorting
/// makes the file a function of its contents. Reordering keeps the header's length, and readers
/// locate tensors by their offsets, not by key order.
fn canonical_header(mut file: Vec<u8>) -> std::io::Result<Vec<u8>> {
    use serde_json::{Map, Value};
    fn sorted(v: Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut entries: Vec<(String, Value)> = m.into_iter().collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k, sorted(v)))
                        .collect::<Map<_, _>>(),
                )
            }
            other => other,
        }
    }
    let bad = |m: &str| std::io::Error::other(format!("safetensors header: {m}"));
    let n = u64::from_le_bytes(
        file.get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("too short"))?,
    ) as usize;
    let header = file.get(8..8 + n).ok_or_else(|| bad("truncated"))?;
    let value: Value = serde_json::from_slice(header).map_err(|e| bad(&e.to_string()))?;
    let mut text = serde_json::to_vec(&sorted(value)).map_err(|e| bad(&e.to_string()))?;
    if text.len() > n {
        return Err(bad("the sorted header is longer than the original"));
    }
    text.resize(n, b' ');
    file[8..8 + n].copy_from_slice(&text);
    Ok(file)
}

/// Where a run goes.
#[derive(Debug, Clone, PartialEq)]
pub enum OutDir {
    /// A new directory `name` under `root`, or `name-2`, `name-3`, ... when that one exists.
    Fresh { root: PathBuf, name: String },
    /// Exactly `path`: absent or empty, or (with `overwrite`) a groklab run directory to replace.
    Exact { path: PathBuf, overwrite: bool },
}

/// The default directory name of a run: config name and seed, then the `--set` overrides, e.g.
/// `liu2022-toy-seed0-optim.decoder.weight_decay=1.0`. Characters that do not belong in a file name
/// become `_`; long names are cut (the counter keeps them unique).
pub fn default_name(config: &Config, overrides: &[String]) -> String {
    let mut name = format!("{}-seed{}", config.name, config.seed);
    for o in overrides {
        name.push('-');
        name.push_str(o.trim());
    }
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._=+-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    clean.trim_start_matches('.').to_string()
}

/// Files a groklab run directory holds: what [`write_member`] and the report write, and the
/// temporary files of an interrupted atomic write.
fn is_run_file(name: &str) -> bool {
    let ext = name.rsplit('.').next().unwrap_or("");
    (name.starts_with('.') && name.contains(".tmp"))
        || ["csv", "svg", "json", "toml", "safetensors", "html"].contains(&ext)
}

/// A directory taken for one run. Files go to [`Claimed::dir`]; [`Claimed::commit`] puts them in
/// place. Replacing a run (`--overwrite`) writes a staging sibling first and swaps it in only when
/// the new run is complete, so a failed or interrupted run never costs the old one.
#[derive(Debug)]
pub struct Claimed {
    target: PathBuf,
    staging: Option<PathBuf>,
}

impl Claimed {
    /// Where the run's files are written now.
    pub fn dir(&self) -> &Path {
        self.staging.as_deref().unwrap_or(&self.target)
    }

    /// Puts a complete run in place and returns its directory.
    pub fn commit(self) -> Result<PathBuf, EngineError> {
        let Some(staging) = &self.staging else {
            return Ok(self.target);
        };
        let old = sibling(&self.target, "old");
        std::fs::rename(&self.target, &old).map_err(EngineError::io(&self.target))?;
        std::fs::rename(staging, &self.target).map_err(EngineError::io(&self.target))?;
        std::fs::remove_dir_all(&old).map_err(EngineError::io(&old))?;
        Ok(self.target)
    }

    /// Removes a staging directory after a failure (the replaced run stays as it was).
    pub fn abandon(self) {
        if let Some(s) = &self.staging {
            let _ = std::fs::remove_dir_all(s);
        }
    }
}

/// `.NAME.groklab-WHAT-PID` beside `path`.
fn sibling(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.groklab-{what}-{}", std::process::id()))
}

/// Why a directory holding an unfinished run is not taken, and how to continue that run.
fn offer_resume(path: &Path, p: &Progress) -> String {
    let status = serde_json::to_value(p.status)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let saved = p.saved_step.map_or(", no state saved".into(), |s| {
        format!(", state saved at step {s}")
    });
    format!(
        "it holds an unfinished run ({status}, step {} of {}{saved}); continue it with `groklab \
         train --resume {}`, or give another --out (or --overwrite to start it again)",
        p.step,
        p.steps,
        path.display()
    )
}

/// Takes the directory a run will write; refuses what it may not write (exit 2, nothing touched).
pub fn claim(out: &OutDir) -> Result<Claimed, EngineError> {
    let refuse = |path: &Path, problem: String| EngineError::OutDir {
        path: path.to_path_buf(),
        problem,
    };
    let fs = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| EngineError::OutDir {
            path,
            problem: format!("cannot create it ({e})"),
        }
    };
    let claimed = |target: PathBuf| Claimed {
        target,
        staging: None,
    };
    match out {
        OutDir::Fresh { root, name } => {
            std::fs::create_dir_all(root).map_err(fs(root))?;
            for k in 1.. {
                let dir = if k == 1 {
                    root.join(name)
                } else {
                    root.join(format!("{name}-{k}"))
                };
                match std::fs::create_dir(&dir) {
                    Ok(()) => return Ok(claimed(dir)),
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(fs(&dir)(e)),
                }
            }
            unreachable!("some counter is free")
        }
        OutDir::Exact { path, overwrite } => {
            if !path.exists() {
                std::fs::create_dir_all(path).map_err(fs(path))?;
                return Ok(claimed(path.clone()));
            }
            if !path.is_dir() {
                return Err(refuse(path, "it exists and is not a directory".into()));
            }
            let mut entries: Vec<(String, bool)> = std::fs::read_dir(path)
                .and_then(|d| {
                    d.map(|e| {
                        e.map(|e| {
                            let is_file = e.file_type().is_ok_and(|t| t.is_file());
                            (e.file_name().to_string_lossy().into_owned(), is_file)
                        })
                    })
                    .collect::<Result<_, _>>()
                })
                .map_err(|e| refuse(path, format!("cannot read it ({e})")))?;
            entries.sort();
            if entries.is_empty() {
                return Ok(claimed(path.clone()));
            }
            if let (false, Some(p)) = (*overwrite, unfinished(path)) {
                return Err(refuse(path, offer_resume(path, &p)));
            }
            if !overwrite {
                let shown: Vec<&str> = entries.iter().take(5).map(|e| e.0.as_str()).collect();
                let more = entries.len().saturating_sub(5);
                return Err(refuse(
                    path,
                    format!(
                        "the directory is not empty (it holds {}{}); allowed: a new or empty directory, or --overwrite to replace a groklab run directory",
                        shown.join(", "),
                        if more > 0 {
                            format!(" and {more} more")
                        } else {
                            String::new()
                        }
                    ),
                ));
            }
            let foreign: Vec<&str> = entries
                .iter()
                .filter(|(n, file)| !(*file && is_run_file(n)))
                .map(|(n, _)| n.as_str())
                .collect();
            let config_ok = std::fs::read_to_string(path.join("config.toml"))
                .ok()
                .is_some_and(|t| Config::from_toml(&t, "config.toml").is_ok());
            if !foreign.is_empty() || !config_ok {
                return Err(refuse(
                    path,
                    format!(
                        "--overwrite replaces only groklab run directories, and this one {}",
                        if foreign.is_empty() {
                            "has no config.toml that groklab reads".to_string()
                        } else {
                            format!("holds {}", foreign.join(", "))
                        }
                    ),
                ));
            }
            let staging = sibling(path, "new");
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir(&staging).map_err(fs(&staging))?;
            Ok(Claimed {
                target: path.clone(),
                staging: Some(staging),
            })
        }
    }
}

/// The parameters of a safetensors checkpoint, in the order of `specs`: every name present with its
/// shape (f32 or f64 values), nothing else; errors name what does not fit.
pub fn read_checkpoint(path: &Path, specs: &[ParamSpec]) -> Result<Vec<Vec<f64>>, EngineError> {
    use safetensors::tensor::Dtype;
    let bad = |problem: String| EngineError::Init {
        path: path.to_path_buf(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it ({e})")))?;
    let st = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| bad(format!("not a safetensors file ({e})")))?;
    let mut names: Vec<String> = st.names().into_iter().map(String::from).collect();
    names.sort();
    let expected: Vec<String> = specs
        .iter()
        .map(|s| format!("{} {:?}", s.name, s.shape))
        .collect();
    let values = specs
        .iter()
        .map(|spec| {
            let t = st.tensor(&spec.name).map_err(|_| {
                bad(format!(
                    "it has no tensor `{}`; the model's parameters are {}",
                    spec.name,
                    expected.join(", ")
                ))
            })?;
            if t.shape() != spec.shape.as_slice() {
                return Err(bad(format!(
                    "`{}` has shape {:?}, the model's is {:?}",
                    spec.name,
                    t.shape(),
                    spec.shape
                )));
            }
            let data = t.data();
            Ok(match t.dtype() {
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                    .collect(),
                Dtype::F64 => data
                    .chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                    .collect(),
                other => {
                    return Err(bad(format!(
                        "`{}` is {other:?}; allowed: F32 or F64",
                        spec.name
                    )));
                }
            })
        })
        .collect::<Result<Vec<Vec<f64>>, EngineError>>()?;
    if let Some(extra) = names.iter().find(|n| !specs.iter().any(|s| &s.name == *n)) {
        return Err(bad(format!(
            "it has a tensor `{extra}` the model does not; the model's parameters are {}",
            expected.join(", ")
        )));
    }
    Ok(values)
}

/// Trains one config and writes its run directory; returns the summary and the directory. Every
/// check (config, memory, output directory, `init`) happens before anything is written. `init`
/// starts from a checkpoint's parameters instead of the config's initialisation.
pub fn execute(
    config: &Config,
    out: &OutDir,
    opts: &TrainOptions,
) -> Result<(Summary, PathBuf), EngineError> {
    execute_from(config, out, opts, None)
}

/// Writes what a run produced, finished or interrupted (then with its saved state beside it).
fn finish(
    dir: &Path,
    config: &Config,
    result: &crate::train::TrainResult,
    mut live: Live,
    provenance: crate::provenance::Provenance,
) -> Result<Summary, EngineError> {
    if let Some(e) = live.saver.error.take() {
        return Err(EngineError::io(dir)(e));
    }
    let member = &result.members[0];
    let mut summary = summarise(config, member, result.wall_seconds, result.steps_per_second);
    if result.interrupted_by.is_some() {
        summary.status = Status::Interrupted;
    }
    summary.provenance = crate::provenance::Provenance {
        ended: crate::provenance::now(),
        ..provenance
    };
    write_member(dir, config, &result.specs, member, &summary).map_err(EngineError::io(dir))?;
    let finished = summary.status != Status::Interrupted;
    if finished {
        match std::fs::remove_file(dir.join(STATE)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(EngineError::io(dir)(e));
            }
            _ => {}
        }
    }
    write_progress(
        dir,
        &Progress {
            status: summary.status,
            step: member.steps,
            steps: config.train.steps,
            wall_seconds: result.wall_seconds,
            saved_step: if finished {
                None
            } else {
                live.saver.saved_step()
            },
        },
    )
    .map_err(EngineError::io(dir))?;
    Ok(summary)
}

/// Continues the unfinished run in `dir` from its saved state (`state.safetensors`) to the end of
/// its budget; the run ends as it would have without the stop, bit for bit.
pub fn resume(dir: &Path, opts: &TrainOptions) -> Result<(Summary, PathBuf), EngineError> {
    let bad = |why: String| EngineError::Resume(format!("{}: {why}", dir.display()));
    if read_progress(dir).is_some_and(|p| p.status == Status::Finished) {
        return Err(bad("the run there finished; nothing to resume".into()));
    }
    let text = std::fs::read_to_string(dir.join("config.toml"))
        .map_err(|e| bad(format!("no config.toml to resume from ({e})")))?;
    let config = Config::from_toml(&text, "config.toml")?;
    let state = dir.join(STATE);
    if !state.exists() {
        return Err(bad(format!(
            "no {STATE}: the run saved no state before it stopped (train.checkpoint_every sets \
             how often it does); start it again with groklab train {} --out NEW_DIR",
            dir.join("config.toml").display()
        )));
    }
    let state = Snapshot::read(&state).map_err(|e| bad(format!("{STATE}: {e}")))?;
    // the provenance of the run's first part, with this resumption added
    let mut provenance = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| serde_json::from_value(v["provenance"].clone()).ok())
        .unwrap_or_else(|| crate::provenance::Provenance::here(&[]));
    provenance.resumed.push(crate::provenance::Resumed {
        at: crate::provenance::now(),
        command: std::env::args().collect(),
    });
    let mut trainer = Trainer::setup(std::slice::from_ref(&config))?;
    let (step, wall) = trainer.load(state)?;
    // metrics.csv as of the saved step: rows a killed run wrote after it are dropped
    let (columns, rows) = trainer.metrics(0);
    let bytes = csv_bytes(columns, rows);
    let io = EngineError::io(dir);
    write_atomic(&dir.join("metrics.csv"), &bytes).map_err(io)?;
    let every = config.train.checkpoint_every;
    let saver = Saver::new(
        &dir.join(STATE),
        every,
        opts.interrupt.clone(),
        wall,
        Some(step),
    );
    let mut live = Live::new(dir, Some(rows.len()), saver);
    let result = trainer.run_watched(opts, &mut live);
    let summary = finish(dir, &config, &result, live, provenance)?;
    Ok((summary, dir.to_path_buf()))
}

/// Whether `dir` holds a run that stopped before its end (interrupted, or killed while running).
pub fn unfinished(dir: &Path) -> Option<Progress> {
    read_progress(dir).filter(|p| p.status == Status::Running || p.status == Status::Interrupted)
}

/// [`execute`] from the parameters of a checkpoint file.
pub fn execute_from(
    config: &Config,
    out: &OutDir,
    opts: &TrainOptions,
    init: Option<&Path>,
) -> Result<(Summary, PathBuf), EngineError> {
    let mut provenance = crate::provenance::Provenance::here(&opts.overrides);
    let start = match init {
        Some(path) => {
            let params = read_checkpoint(path, config.build_model().specs())?;
            provenance.init =
                Some(
                    crate::provenance::FileHash::of(path).map_err(|e| EngineError::Init {
                        path: path.to_path_buf(),
                        problem: format!("cannot read it ({e})"),
                    })?,
                );
            Some(params)
        }
        None => None,
    };
    let trainer = Trainer::setup_from(std::slice::from_ref(config), start.map(|p| vec![p]))?;
    let claimed = claim(out)?;
    let dir = claimed.dir().to_path_buf();
    let written = write_config(&dir, config)
        .map_err(EngineError::io(&dir))
        .and_then(|()| {
            let every = config.train.checkpoint_every;
            let saver = Saver::new(&dir.join(STATE), every, opts.interrupt.clone(), 0.0, None);
            let mut live = Live::new(&dir, None, saver);
            let result = trainer.run_watched(opts, &mut live);
            finish(&dir, config, &result, live, provenance)
        });
    match written {
        Ok(summary) => Ok((summary, claimed.commit()?)),
        Err(e) => {
            claimed.abandon();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_keys_are_exactly_the_fields_besides_the_probes() {
        let mut s = Summary {
            name: "x".into(),
            seed: 0,
            status: Status::Finished,
            steps_to_train_acc: None,
            steps_to_val_acc: None,
            grokking_gap: None,
            phase: Phase::Confusion,
            final_metrics: Default::default(),
            steps: 0,
            diverged_at: None,
            stopped_at: None,
            acc_threshold: 0.9,
            budget: 0,
            wall_seconds: 0.0,
            steps_per_second: 0.0,
            provenance: Default::default(),
            probes: Default::default(),
        };
        let keys = |s: &Summary| -> Vec<String> {
            let j = serde_json::to_value(s).unwrap();
            let mut k: Vec<String> = j.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let mut expected: Vec<String> = SUMMARY_KEYS.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(keys(&s), expected);
        s.probes.insert("final_subnetwork_size".into(), Some(6.0));
        expected.push("final_subnetwork_size".into());
        expected.sort();
        assert_eq!(keys(&s), expected);
    }

    #[test]
    fn default_names_say_what_differs_and_fresh_dirs_count_up() {
        let c = crate::presets::load("liu2022-toy").unwrap();
        assert_eq!(default_name(&c, &[]), "liu2022-toy-seed0");
        assert_eq!(
            default_name(
                &c,
                &[
                    "optim.decoder.weight_decay=1.0".into(),
                    "model.d_hidden=[5, 6]".into()
                ]
            ),
            "liu2022-toy-seed0-optim.decoder.weight_decay=1.0-model.d_hidden=_5__6_"
        );
        let tmp = tempfile::tempdir().unwrap();
        let out = OutDir::Fresh {
            root: tmp.path().join("runs"),
            name: "x".into(),
        };
        let path = || claim(&out).unwrap().commit().unwrap();
        assert_eq!(path(), tmp.path().join("runs/x"));
        assert_eq!(path(), tmp.path().join("runs/x-2"));
        assert_eq!(path(), tmp.path().join("runs/x-3"));
    }

    #[test]
    fn explicit_dirs_refuse_foreign_files_even_with_overwrite() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().join("r");
        let exact = |overwrite| OutDir::Exact {
            path: d.clone(),
            overwrite,
        };
        assert_eq!(claim(&exact(false)).unwrap().dir(), d);
        std::fs::write(d.join("metrics.csv"), "mine").unwrap();
        let e = claim(&exact(false)).unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("not empty"),
            "{e}"
        );
        // a config.toml that is not a groklab config: not a run directory
        std::fs::write(d.join("config.toml"), "name = 3").unwrap();
        assert!(claim(&exact(true)).is_err());
        let config = crate::presets::load("liu2022-toy").unwrap();
        std::fs::write(d.join("config.toml"), config.to_toml()).unwrap();
        std::fs::write(d.join("notes.txt"), "keep me").unwrap();
        let e = claim(&exact(true)).unwrap_err().to_string();
        assert!(e.contains("notes.txt"), "{e}");
        assert_eq!(
            std::fs::read_to_string(d.join("metrics.csv")).unwrap(),
            "mine"
        );
        std::fs::remove_file(d.join("notes.txt")).unwrap();
        // a replacement is staged beside the old run, which stays until the new one commits
        let c = claim(&exact(true)).unwrap();
        assert_ne!(c.dir(), d);
        std::fs::write(c.dir().join("metrics.csv"), "new").unwrap();
        assert_eq!(
            std::fs::read_to_string(d.join("metrics.csv")).unwrap(),
            "mine"
        );
        c.abandon();
        assert_eq!(
            std::fs::read_to_string(d.join("metrics.csv")).unwrap(),
            "mine"
        );
        let c = claim(&exact(true)).unwrap();
        std::fs::write(c.dir().join("metrics.csv"), "new").unwrap();
        assert_eq!(c.commit().unwrap(), d);
        assert_eq!(
            std::fs::read_to_string(d.join("metrics.csv")).unwrap(),
            "new"
        );
        assert!(!d.join("config.toml").exists());
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "staging left behind"
        );
        // a path below a file cannot be created: refused as --out, exit 2
        std::fs::write(tmp.path().join("f"), "x").unwrap();
        let e = claim(&OutDir::Exact {
            path: tmp.path().join("f/sub"),
            overwrite: false,
        })
        .unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("`--out`"),
            "{e}"
        );
    }

    #[test]
    fn checkpoints_are_byte_identical_for_the_same_contents() {
        let c = crate::presets::load("liu2022-toy").unwrap();
        let model = c.build_model();
        let values = model.init(&mut crate::seed::rng(0, crate::seed::Stream::Init));
        let tmp = tempfile::tempdir().unwrap();
        let write = |name: &str| {
            let p = tmp.path().join(name);
            write_checkpoint(&p, &c, model.specs(), &values, 3).unwrap();
            std::fs::read(p).unwrap()
        };
        let a = write("a.safetensors");
        // HashMap order differs between maps even within one process; write many to meet several
        for k in 0..8 {
            assert_eq!(a, write(&format!("b{k}.safetensors")));
        }
        let st = safetensors::SafeTensors::deserialize(&a).unwrap();
        assert_eq!(st.tensors().len(), 7);
        let (_, meta) = safetensors::SafeTensors::read_metadata(&a).unwrap();
        assert_eq!(meta.metadata().as_ref().unwrap()["step"], "3");
    }
}
