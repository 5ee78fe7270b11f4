//! A run directory while its run trains: `metrics.csv` grows by its new rows at every evaluation
//! (flushed, so `tail -f` and pandas read a run in progress), `progress.json` says where the run
//! stands, and `state.safetensors` holds the whole training state, saved every
//! `train.checkpoint_every` steps (by default every few minutes) and when a signal stops the run,
//! for `groklab train --resume DIR`.

use crate::config::CHECKPOINT_MINUTES;
use crate::files::{csv_bytes, csv_rows, write_atomic};
use crate::snapshot::Snapshot;
use crate::train::{Trainer, Watch};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The saved training state of an unfinished run.
pub const STATE: &str = "state.safetensors";
pub const PROGRESS: &str = "progress.json";

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Running,
    Finished,
    Interrupted,
    Diverged,
}

/// `progress.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Progress {
    pub status: Status,
    /// The last step whose evaluation (or, interrupted, whose update) is recorded.
    pub step: usize,
    /// Steps of the run.
    pub steps: usize,
    /// Training time so far, across resumptions.
    pub wall_seconds: f64,
    /// The step the saved state (`state.safetensors`) is at, if there is one.
    pub saved_step: Option<usize>,
}

pub fn write_progress(dir: &Path, p: &Progress) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(p).map_err(std::io::Error::other)?;
    write_atomic(&dir.join(PROGRESS), json.as_bytes())
}

/// `progress.json` of a run directory, if it has one that reads.
pub fn read_progress(dir: &Path) -> Option<Progress> {
    let text = std::fs::read_to_string(dir.join(PROGRESS)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Saves a training call's state to one file every `train.checkpoint_every` steps (by default
/// every few minutes of training) and when a signal stops it: a sweep's chunk, and inside
/// [`Live`], a run.
pub struct Saver {
    path: PathBuf,
    /// `train.checkpoint_every` (None: every [`CHECKPOINT_MINUTES`] minutes).
    every: Option<usize>,
    /// Set to a signal's number by the handler that caught it (0: none).
    interrupt: Option<Arc<AtomicUsize>>,
    last_save: f64,
    saved_step: Option<usize>,
    /// The first failure to write, reported when the run ends.
    pub error: Option<std::io::Error>,
}

impl Saver {
    /// `wall` and `saved_step`: where a resumed call's state was saved.
    pub fn new(
        path: &Path,
        every: Option<usize>,
        interrupt: Option<Arc<AtomicUsize>>,
        wall: f64,
        saved_step: Option<usize>,
    ) -> Saver {
        Saver {
            path: path.to_path_buf(),
            every,
            interrupt,
            last_save: wall,
            saved_step,
            error: None,
        }
    }

    /// The step of the last saved state.
    pub fn saved_step(&self) -> Option<usize> {
        self.saved_step
    }
}

impl Watch for Saver {
    fn interrupt(&self, _step: usize) -> Option<i32> {
        let s = self.interrupt.as_ref()?.load(Ordering::Relaxed);
        (s != 0).then_some(s as i32)
    }

    fn save_due(&self, step: usize, wall: f64) -> bool {
        match self.every {
            Some(0) => false,
            Some(n) => step.is_multiple_of(n),
            None => wall - self.last_save >= CHECKPOINT_MINUTES * 60.0,
        }
    }

    fn saved(&mut self, state: Snapshot) {
        self.last_save = state.get("wall_seconds").unwrap_or(self.last_save);
        match state.write(&self.path) {
            Ok(()) => self.saved_step = state.get("step").ok(),
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }
}

/// Seconds of training between rewrites of a live run's probe tables (`embeddings.csv`,
/// `fourier.csv`, ...): they are rewritten whole, so not at every evaluation.
pub const TABLE_SECONDS: f64 = 30.0;

/// Seconds of training between rewrites of `progress.json` (a run evaluated at every step would
/// otherwise spend its time writing it).
pub const PROGRESS_SECONDS: f64 = 1.0;

/// The watcher of one run writing its directory: its rows and progress at every evaluation, its
/// probes' tables every [`TABLE_SECONDS`], its state through a [`Saver`].
pub struct Live {
    dir: PathBuf,
    /// Rows of metrics.csv already written, None before its header is.
    written: Option<usize>,
    /// Training time at the last write of the tables and of progress.json.
    tables_at: Option<f64>,
    progress_at: Option<f64>,
    pub saver: Saver,
}

impl Live {
    /// `written`: the rows of metrics.csv already in place under its header (a resumed run
    /// rewrote them), None when there is no metrics.csv yet.
    pub fn new(dir: &Path, written: Option<usize>, saver: Saver) -> Live {
        Live {
            dir: dir.to_path_buf(),
            written,
            tables_at: None,
            progress_at: None,
            saver,
        }
    }

    /// The new rows only (each evaluation costs one row's formatting, not the whole table's).
    fn append(&mut self, t: &Trainer, step: usize, wall: f64) -> std::io::Result<()> {
        let (columns, rows) = t.metrics(0);
        let bytes = match self.written {
            None => csv_bytes(columns, rows),
            Some(n) => csv_rows(&rows[n.min(rows.len())..]),
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("metrics.csv"))?;
        f.write_all(&bytes)?;
        f.flush()?;
        self.written = Some(rows.len());
        if self.tables_at.is_none_or(|at| wall - at >= TABLE_SECONDS) {
            for table in t.tables(0).iter().filter(|t| !t.rows.is_empty()) {
                write_atomic(
                    &self.dir.join(&table.file),
                    &csv_bytes(&table.header, &table.rows),
                )?;
            }
            self.tables_at = Some(wall);
        }
        if self
            .progress_at
            .is_some_and(|at| wall - at < PROGRESS_SECONDS)
        {
            return Ok(());
        }
        self.progress_at = Some(wall);
        write_progress(
            &self.dir,
            &Progress {
                status: Status::Running,
                step,
                steps: t.steps(),
                wall_seconds: wall,
                saved_step: self.saver.saved_step,
            },
        )
    }
}

impl Watch for Live {
    fn evaluated(&mut self, t: &Trainer, step: usize, wall: f64) {
        if let Err(e) = self.append(t, step, wall) {
            self.saver.error.get_or_insert(e);
        }
    }

    fn interrupt(&self, step: usize) -> Option<i32> {
        self.saver.interrupt(step)
    }

    fn save_due(&self, step: usize, wall: f64) -> bool {
        self.saver.save_due(step, wall)
    }

    fn saved(&mut self, state: Snapshot) {
        self.saver.saved(state);
    }
}
