//! Python's view of groklab's errors: a config error is a `ConfigError` (a `ValueError`) carrying
//! the key, the value and what is allowed, with the CLI's one-line message; other bad input (an
//! output directory that is not ours, a run too large for memory) a `ValueError` with the CLI's
//! message; a failure while working (I/O) a `GroklabError` (a `RuntimeError`).

use groklab_engine::{ConfigError as Config, EngineError};
use groklab_sweep::SweepError;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

// named as Python users import them: groklab.ConfigError, groklab.GroklabError
pyo3::create_exception!(
    groklab,
    ConfigError,
    PyValueError,
    "A config (or sweep definition) that does not validate. `key`, `value` and `allowed` say \
     which key, what it was given and what it accepts (None where they do not apply); the \
     message is the one `groklab train --set` prints."
);
pyo3::create_exception!(
    groklab,
    GroklabError,
    PyRuntimeError,
    "A failure while working (reading or writing files), not caused by the input."
);

/// An error crossing from a worker thread (no GIL there) to Python.
#[derive(Debug)]
pub enum Failure {
    /// A config error, and its message (with the sweep run it is in, when it is one).
    Config(Config, String),
    /// Bad input that is not a config key, with its message.
    Input(String),
    Work(String),
}

impl From<Config> for Failure {
    fn from(e: Config) -> Failure {
        let message = e.to_string();
        Failure::Config(e, message)
    }
}

impl Failure {
    /// Any other error: bad input when the CLI would exit 2 for it, else a failure while working.
    fn other(user: bool, message: String) -> Failure {
        if user {
            Failure::Input(message)
        } else {
            Failure::Work(message)
        }
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Failure {
        match e {
            EngineError::Config(c) => c.into(),
            e => Failure::other(e.is_user_error(), e.to_string()),
        }
    }
}

impl From<SweepError> for Failure {
    fn from(e: SweepError) -> Failure {
        match e {
            SweepError::Definition(c) => c.into(),
            SweepError::Run { ref error, .. } => {
                let error = (**error).clone();
                Failure::Config(error, e.to_string())
            }
            SweepError::Engine(e) => e.into(),
            e => Failure::other(e.is_user_error(), e.to_string()),
        }
    }
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        match f {
            Failure::Config(c, message) => config_error_with(&c, message),
            Failure::Input(m) => PyValueError::new_err(m),
            Failure::Work(m) => GroklabError::new_err(m),
        }
    }
}

/// A `ConfigError` with its key, value and allowed values as attributes.
pub fn config_error(e: &Config) -> PyErr {
    config_error_with(e, e.to_string())
}

/// [`config_error`] with another message (the error in its context).
fn config_error_with(e: &Config, message: String) -> PyErr {
    let err = ConfigError::new_err(message);
    let (key, value, allowed) = match e {
        Config::Invalid {
            key,
            value,
            allowed,
        } => (
            Some(key.clone()),
            Some(value.clone()),
            Some(allowed.clone()),
        ),
        Config::Unknown { key, known, .. } => (Some(key.clone()), None, Some(known.join(", "))),
        Config::UnknownPreset { name, known, .. } => (
            Some("preset".into()),
            Some(name.clone()),
            Some(known.join(", ")),
        ),
        Config::Missing { key, allowed } => (Some(key.clone()), None, Some(allowed.clone())),
        Config::Parse { source, .. } => (Some(source.clone()), None, None),
    };
    Python::attach(|py| {
        let v = err.value(py);
        // attributes on a fresh exception object cannot fail
        let _ = v.setattr("key", key);
        let _ = v.setattr("value", value);
        let _ = v.setattr("allowed", allowed);
    });
    err
}

/// Any error as a [`Failure`] and then a Python exception.
pub fn py<E: Into<Failure>>(e: E) -> PyErr {
    e.into().into()
}
