//! Presets and configs as TOML text: the Python `Config` holds a document and edits it through
//! these functions, so every check is the engine's (`Config::from_table`, as after `--set`).

use super::errors::{config_error, py};
use groklab_engine::Config;
use groklab_engine::presets as runs;
use groklab_sweep::presets as sweeps;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::json;
use toml::Table;

/// Every preset, run and sweep, as a JSON list of {name, kind, study, reproduces, description, runs}.
#[pyfunction]
pub fn presets_json() -> PyResult<String> {
    // the study is the name's first word: liu2022, levi2023, nanda2023, ...
    let study = |name: &str| name.split('-').next().unwrap_or(name).to_string();
    let mut out = Vec::new();
    for (name, _) in runs::PRESETS {
        let c = runs::load(name).map_err(|e| config_error(&e))?;
        out.push(json!({
            "name": name, "kind": "run", "study": study(name), "reproduces": c.reproduces,
            "description": c.description, "runs": 1,
        }));
    }
    for (name, _) in sweeps::SWEEPS {
        let s = sweeps::load(name).map_err(py)?;
        out.push(json!({
            "name": name, "kind": "sweep", "study": study(name), "reproduces": s.reproduces,
            "description": s.description, "runs": s.len(),
        }));
    }
    Ok(serde_json::Value::Array(out).to_string())
}

/// The TOML text of a run preset (`kind = "run"`) or a sweep preset (`kind = "sweep"`); a name of
/// the other kind is refused with the CLI's hint.
#[pyfunction]
pub fn preset_text(name: &str, kind: &str) -> PyResult<String> {
    let (mine, other) = match kind {
        "run" => (runs::text(name), sweeps::text(name)),
        _ => (sweeps::text(name), runs::text(name)),
    };
    match (mine, other) {
        (Some(t), _) => Ok(t.to_string()),
        (None, Some(_)) if kind == "run" => Err(PyValueError::new_err(format!(
            "`{name}` is a sweep preset, not a run preset: run it with groklab.sweep({name:?})"
        ))),
        (None, Some(_)) => Err(PyValueError::new_err(format!(
            "`{name}` is a run preset, not a sweep preset: train it with groklab.train({name:?})"
        ))),
        (None, None) if kind == "run" => Err(config_error(&runs::unknown(name))),
        (None, None) => Err(config_error(&sweeps::unknown(name))),
    }
}

fn parse(text: &str, source: &str) -> PyResult<Table> {
    text.parse::<Table>().map_err(|e| {
        config_error(&groklab_engine::ConfigError::Parse {
            source: source.into(),
            message: e.to_string(),
        })
    })
}

/// Validates a config document as `groklab train FILE.toml` does; returns its name.
#[pyfunction]
pub fn validate(text: &str, source: &str) -> PyResult<String> {
    let c = Config::from_table(parse(text, source)?).map_err(|e| config_error(&e))?;
    Ok(c.name)
}

/// Sets dotted keys (each value a TOML literal) and validates the result once, as `--set` does;
/// returns the new document. Nothing changes when it does not validate.
#[pyfunction]
pub fn set_keys(text: &str, items: Vec<(String, String)>) -> PyResult<String> {
    let mut table = parse(text, "the config")?;
    for (key, literal) in &items {
        let value = format!("v = {literal}")
            .parse::<Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .ok_or_else(|| {
                config_error(&groklab_engine::ConfigError::Invalid {
                    key: key.clone(),
                    value: literal.clone(),
                    allowed: "a TOML value (number, string, boolean, array or table)".into(),
                })
            })?;
        groklab_engine::reader::set(&mut table, key, value).map_err(|e| config_error(&e))?;
    }
    Config::from_table(table.clone()).map_err(|e| config_error(&e))?;
    toml::to_string(&table).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// A config document as JSON (nested objects), for the dict view.
#[pyfunction]
pub fn to_json(text: &str) -> PyResult<String> {
    let table = parse(text, "the config")?;
    serde_json::to_string(&table).map_err(|e| PyValueError::new_err(e.to_string()))
}
