//! Long work (a run, a sweep) on its own thread, so that Python keeps the GIL free and its main
//! thread free to draw a progress bar and to take Ctrl-C: Python polls [`Job::wait`], reads
//! [`Job::position`], and on KeyboardInterrupt calls [`Job::interrupt`] (the engine then stops
//! after the step it is in, as on SIGINT) before [`Job::result`].

use super::errors::{Failure, GroklabError};
use pyo3::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

type Outcome = Result<String, Failure>;

/// A run or sweep in progress.
#[pyclass(module = "groklab._groklab")]
pub struct Job {
    handle: Mutex<Option<JoinHandle<Outcome>>>,
    position: Arc<AtomicUsize>,
    total: usize,
    interrupt: Arc<AtomicUsize>,
}

impl Job {
    /// Starts `work` on a thread; it reports to `position` and stops when `interrupt` is set.
    pub fn spawn(
        total: usize,
        position: Arc<AtomicUsize>,
        interrupt: Arc<AtomicUsize>,
        work: impl FnOnce() -> Outcome + Send + 'static,
    ) -> Job {
        Job {
            handle: Mutex::new(Some(std::thread::spawn(work))),
            position,
            total,
            interrupt,
        }
    }
}

/// A job dropped unfinished (its Python object collected) stops rather than training unseen.
impl Drop for Job {
    fn drop(&mut self) {
        self.interrupt.store(2, Ordering::SeqCst);
    }
}

#[pymethods]
impl Job {
    /// Steps (of a run) or runs (of a sweep) in all.
    #[getter]
    fn total(&self) -> usize {
        self.total
    }

    /// Steps or runs done so far.
    fn position(&self) -> usize {
        self.position.load(Ordering::Relaxed)
    }

    /// Waits up to `timeout` seconds with the GIL released; True when the work has ended.
    fn wait(&self, py: Python<'_>, timeout: f64) -> bool {
        let until = Instant::now() + Duration::from_secs_f64(timeout.max(0.0));
        py.detach(|| {
            loop {
                let ended = self
                    .handle
                    .lock()
                    .map_or(true, |h| h.as_ref().is_none_or(JoinHandle::is_finished));
                if ended || Instant::now() >= until {
                    return ended;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    }

    /// Asks the work to stop after the step it is in (as SIGINT does to the CLI).
    fn interrupt(&self) {
        self.interrupt.store(2, Ordering::SeqCst);
    }

    /// Waits for the end (GIL released) and returns the outcome as JSON, or raises its error.
    fn result(&self, py: Python<'_>) -> PyResult<String> {
        let handle = self
            .handle
            .lock()
            .ok()
            .and_then(|mut h| h.take())
            .ok_or_else(|| GroklabError::new_err("the job's result was already taken"))?;
        let outcome = py.detach(|| handle.join());
        match outcome {
            Ok(r) => r.map_err(PyErr::from),
            Err(_) => Err(GroklabError::new_err(
                "the work panicked (a bug in groklab: please report it)",
            )),
        }
    }
}
