//! `groklab.sweep`: a sweep exactly as `groklab sweep` runs it (`exec::run`, then the table, the
//! figures and the page), resumable the same way: the same definition into the same directory
//! keeps the runs that finished.

use super::errors::{Failure, py};
use super::job::Job;
use groklab_sweep::exec::{self, Options};
use groklab_sweep::{Sweep, SweepDir, dir, prepare, presets};
use pyo3::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

/// The definition: `kind` is "preset" (a name), "file" (a SWEEP.toml path), "text" (TOML read
/// relative to the working directory) or "dir" (a sweep directory to continue).
fn definition(kind: &str, source: &str) -> Result<(Sweep, Option<PathBuf>), Failure> {
    match kind {
        "preset" => {
            if presets::text(source).is_none() && groklab_engine::presets::text(source).is_some() {
                return Err(Failure::Input(format!(
                    "`{source}` is a run preset, not a sweep preset: train it with \
                     groklab.train({source:?})"
                )));
            }
            Ok((presets::load(source)?, None))
        }
        "file" => {
            let path = Path::new(source);
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Input(format!("cannot read sweep file {source}: {e}")))?;
            let base = path.parent().unwrap_or(Path::new("."));
            Ok((Sweep::from_toml(&text, source, base)?, None))
        }
        "text" => Ok((
            Sweep::from_toml(source, "the sweep definition", Path::new("."))?,
            None,
        )),
        _ => {
            let (_, sweep) = SweepDir::resume(Path::new(source))?;
            Ok((sweep, Some(PathBuf::from(source))))
        }
    }
}

/// Validates the sweep, opens its directory (new, or the same sweep's to continue) and starts it.
/// The job's result is {"dir", "runs", "already_done", "trained", "missing", "wall_seconds",
/// "interrupted"}.
#[pyfunction]
#[pyo3(signature = (kind, source, sets, out, jobs, chunk))]
pub fn start_sweep(
    kind: &str,
    source: &str,
    sets: Vec<String>,
    out: Option<PathBuf>,
    jobs: Option<usize>,
    chunk: Option<usize>,
) -> PyResult<Job> {
    let (sweep, stored) = definition(kind, source).map_err(py)?;
    if stored.is_some() && (!sets.is_empty() || out.is_some()) {
        return Err(py(Failure::Input(
            "a sweep directory is continued where it is, with its stored definition: give \
             `sets` and `out` to a new sweep"
                .into(),
        )));
    }
    if chunk == Some(0) {
        return Err(py(Failure::Input(
            "invalid value for `chunk`: 0; allowed: an integer >= 1".into(),
        )));
    }
    let sweep = sweep.with_sets(&sets).map_err(py)?;
    let out = stored.or(out).unwrap_or_else(|| dir::default_dir(&sweep));
    let prepared = prepare(sweep).map_err(py)?;
    let sweep_dir = SweepDir::open(&out, &prepared).map_err(py)?;
    let done = Arc::new(AtomicUsize::new(0));
    let interrupt = Arc::new(AtomicUsize::new(0));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let opts = Options {
        jobs: jobs.unwrap_or(cores).max(1),
        chunk,
        shard: None,
        progress: false,
        interrupt: Some(Arc::clone(&interrupt)),
        done: Some(Arc::clone(&done)),
    };
    let total = prepared.runs.len();
    Ok(Job::spawn(total, done, interrupt, move || {
        let outcome = exec::run(&sweep_dir, &prepared, &opts)?;
        let missing = sweep_dir.rebuild_table(&prepared)?.len();
        groklab_report::sweep::draw_sweep(&sweep_dir.path).map_err(Failure::Work)?;
        groklab_report::html::sweep_page(&sweep_dir.path).map_err(Failure::Work)?;
        Ok(json!({
            "dir": sweep_dir.path,
            "runs": total,
            "already_done": outcome.already_done,
            "trained": outcome.trained,
            "missing": missing,
            "wall_seconds": outcome.wall_seconds,
            "interrupted": outcome.interrupted_by.is_some(),
        })
        .to_string())
    }))
}
