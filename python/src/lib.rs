//! `groklab._groklab`: the native half of the Python package. It calls the engine, sweep, theory and
//! report crates that the `groklab` binary calls (nothing here trains, validates or draws by
//! itself) and hands back TOML, JSON and raw bytes that `groklab/*.py` turns into dicts,
//! DataFrames and numpy arrays. Long work runs on a Rust thread with the GIL released, behind a
//! [`job::Job`] that Python polls for its progress bar and interrupts on Ctrl-C.

mod config;
mod errors;
mod job;
mod sweep;
mod tensors;
mod theory;
mod train;

use pyo3::prelude::*;

#[pymodule]
fn _groklab(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("ConfigError", py.get_type::<errors::ConfigError>())?;
    m.add("GroklabError", py.get_type::<errors::GroklabError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<job::Job>()?;
    m.add_function(wrap_pyfunction!(config::presets_json, m)?)?;
    m.add_function(wrap_pyfunction!(config::preset_text, m)?)?;
    m.add_function(wrap_pyfunction!(config::validate, m)?)?;
    m.add_function(wrap_pyfunction!(config::set_keys, m)?)?;
    m.add_function(wrap_pyfunction!(config::to_json, m)?)?;
    m.add_function(wrap_pyfunction!(train::start_train, m)?)?;
    m.add_function(wrap_pyfunction!(train::start_resume, m)?)?;
    m.add_function(wrap_pyfunction!(sweep::start_sweep, m)?)?;
    m.add_function(wrap_pyfunction!(tensors::read_safetensors, m)?)?;
    m.add_function(wrap_pyfunction!(theory::addition_json, m)?)?;
    m.add_function(wrap_pyfunction!(theory::linear_json, m)?)?;
    Ok(())
}
