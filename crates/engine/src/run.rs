//! A run directory: `config.toml` (resolved, re-runnable), `metrics.csv`, probe tables such as
//! `embeddings.csv`, `summary.json`, `checkpoint.safetensors` (final) and `init.safetensors`
//! (initial parameters, to replay the run elsewhere) and SVG plots. Every file is written
//! atomically; `config.toml` goes first so a crashed run still says what it was.

use crate::config::Config;
use crate::files::{csv_bytes, write_atomic};
use crate::model::ParamSpec;
use crate::phase::{Phase, classify};
use crate::train::{MemberResult, Metrics};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub name: String,
    pub seed: u64,
    /// First evaluated step with train accuracy at or above the threshold (null if never).
    pub steps_to_train_acc: Option<usize>,
    /// First evaluated step with validation accuracy at or above the threshold (null if never).
    pub steps_to_val_acc: Option<usize>,
    /// steps_to_val_acc - steps_to_train_acc, when both exist.
    pub grokking_gap: Option<i64>,
    pub phase: Phase,
    #[serde(rename = "final")]
    pub final_metrics: std::collections::BTreeMap<String, f64>,
    /// Steps taken.
    pub steps: usize,
    pub diverged_at: Option<usize>,
    pub acc_threshold: f64,
    pub budget: usize,
    pub wall_seconds: f64,
    pub steps_per_second: f64,
}

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
    let t = first_reaching(&r.metrics, "train_acc", thr);
    let v = first_reaching(&r.metrics, "val_acc", thr);
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
        acc_threshold: thr,
        budget,
        wall_seconds,
        steps_per_second,
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
    meta.insert(
        "producer".to_string(),
        format!("groklab {}", env!("CARGO_PKG_VERSION")),
    );
    let out = safetensors::serialize(views, Some(meta)).map_err(std::io::Error::other)?;
    write_atomic(path, &out)
}

/// Trains one config and writes its run directory; returns the summary.
pub fn execute(
    config: &Config,
    dir: &Path,
    opts: &crate::train::TrainOptions,
) -> std::io::Result<Summary> {
    write_config(dir, config)?;
    let result = crate::train::train(std::slice::from_ref(config), opts)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let member = &result.members[0];
    let summary = summarise(config, member, result.wall_seconds, result.steps_per_second);
    write_member(dir, config, &result.specs, member, &summary)?;
    Ok(summary)
}
