//! Engine errors, typed. [`EngineError::is_user_error`] says whether the user's input caused it
//! (a bad config, configs that cannot train together, a run that would not fit in memory, an output
//! directory that is not ours to write): the binary exits 2 for those and 1 for failures while
//! working (I/O).

use crate::reader::ConfigError;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug)]
#[non_exhaustive]
pub enum EngineError {
    /// A config is invalid.
    Config(ConfigError),
    /// Configs that cannot train as one ensemble: what differs.
    ShapeMismatch(String),
    /// The run would not fit in memory.
    Memory {
        /// Estimated bytes, and the machine's.
        estimate: f64,
        machine: f64,
        /// The largest part of the estimate and the key that sets it.
        largest: &'static str,
        key: &'static str,
    },
    /// An output directory that may not be written.
    OutDir { path: PathBuf, problem: String },
    /// Initial parameters (`--init`) that do not fit the model.
    Init { path: PathBuf, problem: String },
    /// A saved training state (`--resume`) that this run cannot continue from.
    Resume(String),
    /// Reading or writing a file failed.
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl EngineError {
    /// Whether the user's input caused it (exit code 2).
    pub fn is_user_error(&self) -> bool {
        !matches!(self, EngineError::Io { .. })
    }

    /// An I/O error at `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> EngineError {
        let path = path.into();
        move |source| EngineError::Io { path, source }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::memory::human;
        match self {
            EngineError::Config(e) => e.fmt(f),
            EngineError::ShapeMismatch(m) => {
                write!(f, "members cannot train as one ensemble: {m}")
            }
            EngineError::Memory {
                estimate,
                machine,
                largest,
                key,
            } => write!(
                f,
                "the run needs about {} but the machine has {}; most of it is {largest} (set by `{key}`): make it smaller",
                human(*estimate),
                human(*machine)
            ),
            EngineError::OutDir { path, problem } => {
                write!(
                    f,
                    "invalid value for `--out`: {}; {problem}",
                    path.display()
                )
            }
            EngineError::Resume(why) => {
                write!(f, "cannot resume: {why}")
            }
            EngineError::Init { path, problem } => {
                write!(
                    f,
                    "invalid value for `--init`: {}; {problem}",
                    path.display()
                )
            }
            EngineError::Io { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for EngineError {}

impl From<ConfigError> for EngineError {
    fn from(e: ConfigError) -> EngineError {
        EngineError::Config(e)
    }
}
