//! Sweep errors. Every one caused by the user's input (a bad definition, a run that does not
//! validate, a directory that holds something else or another sweep) is a user error: exit 2.

use groklab_engine::{ConfigError, EngineError};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
pub enum SweepError {
    /// The definition itself is invalid.
    Definition(ConfigError),
    /// One expanded run is invalid: its id, its axis values, and why.
    Run {
        id: String,
        assignments: String,
        error: Box<ConfigError>,
    },
    /// A directory that may not be used for this sweep.
    Dir { path: PathBuf, problem: String },
    /// The engine refused or failed (memory, I/O).
    Engine(EngineError),
    /// Reading or writing a file failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl SweepError {
    pub fn is_user_error(&self) -> bool {
        match self {
            SweepError::Io { .. } => false,
            SweepError::Engine(e) => e.is_user_error(),
            _ => true,
        }
    }

    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> SweepError {
        let path = path.into();
        move |source| SweepError::Io { path, source }
    }
}

impl fmt::Display for SweepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SweepError::Definition(e) => write!(f, "sweep definition: {e}"),
            SweepError::Run {
                id,
                assignments,
                error,
            } => write!(f, "run {id} ({assignments}): {error}"),
            SweepError::Dir { path, problem } => write!(f, "{}: {problem}", path.display()),
            SweepError::Engine(e) => e.fmt(f),
            SweepError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for SweepError {}

impl From<ConfigError> for SweepError {
    fn from(e: ConfigError) -> SweepError {
        SweepError::Definition(e)
    }
}

impl From<EngineError> for SweepError {
    fn from(e: EngineError) -> SweepError {
        SweepError::Engine(e)
    }
}
