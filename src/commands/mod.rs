//! One module per subcommand; shared error type and config resolution.

pub mod compare;
pub mod presets;
pub mod quickstart;
pub mod report;
pub mod repro;
pub mod sweep;
pub mod theory;
pub mod theory_linear;
pub mod train;

use groklab_engine::{Config, ConfigError, EngineError};
use std::fmt;
use std::path::Path;

/// A command failure: bad input (exit 2) or a failure while working (exit 1).
#[derive(Debug)]
pub enum CliError {
    Input(String),
    Work(String),
    /// A run stopped by a signal, its state saved: exit 128 + the signal's number.
    Interrupted {
        message: String,
        code: u8,
    },
}

impl CliError {
    pub fn code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Work(_) => 1,
            CliError::Interrupted { code, .. } => *code,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Input(m) | CliError::Work(m) => f.write_str(m),
            CliError::Interrupted { message, .. } => f.write_str(message),
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> CliError {
        CliError::Input(e.to_string())
    }
}

impl From<EngineError> for CliError {
    fn from(e: EngineError) -> CliError {
        if e.is_user_error() {
            CliError::Input(e.to_string())
        } else {
            CliError::Work(e.to_string())
        }
    }
}

pub fn io_err(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> CliError {
    let msg = format!("{what} {}", path.display());
    move |e| CliError::Work(format!("{msg}: {e}"))
}

/// Writes a file atomically (engine::files), failures as work errors naming the path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    groklab_engine::files::write_atomic(path, bytes).map_err(io_err("cannot write", path))
}

/// Renders a file (a plot) atomically, failures as work errors naming the path.
pub fn render_atomic(
    path: &Path,
    render: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), CliError> {
    groklab_engine::files::render_atomic(path, render).map_err(io_err("cannot write", path))
}

/// Where a config comes from: `FILE.toml` or `preset NAME`.
pub fn load_source(source: &[String]) -> Result<(toml::Table, String), CliError> {
    match source {
        [word, name] if word == "preset" => {
            if groklab_engine::presets::text(name).is_none()
                && groklab_sweep::presets::text(name).is_some()
            {
                return Err(CliError::Input(format!(
                    "`{name}` is a sweep preset, not a run preset: run it with `groklab sweep preset {name}`"
                )));
            }
            let text = groklab_engine::presets::text(name)
                .ok_or_else(|| groklab_engine::presets::unknown(name))?;
            let table = text
                .parse::<toml::Table>()
                .map_err(|e| CliError::Work(format!("preset {name} does not parse: {e}")))?;
            Ok((table, format!("preset {name}")))
        }
        [word] if word == "preset" => Err(CliError::Input(format!(
            "`preset` needs a name; available: {}",
            groklab_engine::presets::names().join(", ")
        ))),
        [file] => {
            let path = Path::new(file);
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::Input(format!("cannot read config file {file}: {e}")))?;
            let table = text
                .parse::<toml::Table>()
                .map_err(|e| ConfigError::Parse {
                    source: file.clone(),
                    message: e.to_string(),
                })?;
            Ok((table, file.clone()))
        }
        _ => Err(CliError::Input(
            "expected FILE.toml or `preset NAME`".into(),
        )),
    }
}

/// Loads a source, applies `--set` overrides and `--seed`, and validates.
pub fn resolve(source: &[String], sets: &[String], seed: Option<u64>) -> Result<Config, CliError> {
    let (mut table, _) = load_source(source)?;
    for s in sets {
        groklab_engine::reader::apply_override(&mut table, s)?;
    }
    if let Some(seed) = seed {
        table.insert("seed".into(), toml::Value::Integer(seed as i64));
    }
    Ok(Config::from_table(table)?)
}
