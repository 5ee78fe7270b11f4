//! `groklab.train`: one run, exactly as `groklab train` makes it (`run::execute_from`).

use super::errors::{Failure, config_error};
use super::job::Job;
use groklab_engine::Config;
use groklab_engine::run::{OutDir, default_name, execute_from};
use groklab_engine::train::TrainOptions;
use pyo3::prelude::*;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// Validates a config document (with `seed` set when given) and starts its run: into `out`
/// (absent or empty), or a new directory under `root` named as the CLI names it. The job's result
/// is {"summary": summary.json, "dir": the run directory}.
#[pyfunction]
#[pyo3(signature = (text, seed, out, root, overrides))]
pub fn start_train(
    text: &str,
    seed: Option<u64>,
    out: Option<PathBuf>,
    root: PathBuf,
    overrides: Vec<String>,
) -> PyResult<Job> {
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        config_error(&groklab_engine::ConfigError::Parse {
            source: "the config".into(),
            message: e.to_string(),
        })
    })?;
    if let Some(seed) = seed {
        table.insert("seed".into(), toml::Value::Integer(seed as i64));
    }
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
        let (summary, dir) = execute_from(&config, &out, &opts, None)?;
        let summary = serde_json::to_value(&summary).map_err(|e| Failure::Work(e.to_string()))?;
        Ok(json!({"summary": summary, "dir": dir}).to_string())
    }))
}
