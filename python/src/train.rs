//! `groklab.train`: one run, exactly as `groklab train` makes it (`run::execute_from`).

use super::errors::{Failure, config_error};
use super::job::Job;
use groklab_engine::Config;
use groklab_engine::run::{OutDir, Summary, default_name, execute_from, resume, unfinished};
use groklab_engine::train::TrainOptions;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// Validates a config document and starts its run: into `out`
/// (absent or empty), or a new directory under `root` named as the CLI names it. The job's result
/// is {"summary": summary.json, "dir": the run directory}.
#[pyfunction]
#[pyo3(signature = (text, out, root, overrides))]
pub fn start_train(
    text: &str,
    out: Option<PathBuf>,
    root: PathBuf,
    overrides: Vec<String>,
) -> PyResult<Job> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        config_error(&groklab_engine::ConfigError::Parse {
            source: "the config".into(),
            message: e.to_string(),
        })
    })?;
    let config = Config::from_table(table).map_err(|e| config_error(&e))?;
    let out = match out {
        Some(path) => OutDir::Exact {
            path,
            overwrite: false,
        },
        None => OutDir::Fresh {
            root,
            name: default_name(&config, &overrides),
        },
    };
    let position = Arc::new(AtomicUsize::new(0));
    let interrupt = Arc::new(AtomicUsize::new(0));
    let opts = TrainOptions {
        progress: false,
        interrupt: Some(Arc::clone(&interrupt)),
        overrides,
        position: Some(Arc::clone(&position)),
    };
    let total = config.train.steps;
    Ok(Job::spawn(total, position, interrupt, move || {
        outcome(execute_from(&config, &out, &opts, None)?)
    }))
}

/// Continues the unfinished run in `dir` from its saved state, as `groklab train --resume DIR`
/// (it ends as it would have without the stop, bit for bit). Same result as [`start_train`].
#[pyfunction]
pub fn start_resume(dir: PathBuf) -> PyResult<Job> {
    let progress = unfinished(&dir).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{} holds no unfinished run to continue (a run interrupted or killed while training)",
            dir.display()
        ))
    })?;
    let position = Arc::new(AtomicUsize::new(progress.saved_step.unwrap_or(0)));
    let interrupt = Arc::new(AtomicUsize::new(0));
    let opts = TrainOptions {
        progress: false,
        interrupt: Some(Arc::clone(&interrupt)),
        position: Some(Arc::clone(&position)),
        ..Default::default()
    };
    Ok(Job::spawn(progress.steps, position, interrupt, move || {
        outcome(resume(&dir, &opts)?)
    }))
}

/// A finished (or stopped) run as the job's JSON result: {"summary": summary.json, "dir"}.
fn outcome((summary, dir): (Summary, PathBuf)) -> Result<String, Failure> {
    let summary = serde_json::to_value(&summary).map_err(|e| Failure::Work(e.to_string()))?;
    Ok(json!({"summary": summary, "dir": dir}).to_string())
}
