//! `groklab.theory`: the theory crate's results as JSON, with the CLI's checks on the inputs.

use groklab_theory::linear::{LinearTheory, default_curve_steps, log_steps};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use serde_json::json;

fn invalid(key: &str, value: impl std::fmt::Display, allowed: &str) -> PyErr {
    PyValueError::new_err(format!(
        "invalid value for `{key}`: {value}; allowed: {allowed}"
    ))
}

/// `groklab theory addition`: P(nullity = 2) of the effective theory against the training-set
/// size, and the critical fraction (Liu et al. 2022, section 4).
#[pyfunction]
#[pyo3(signature = (p = 10, samples = 10_000, seed = 0))]
pub fn addition_json(py: Python<'_>, p: i64, samples: i64, seed: i64) -> PyResult<String> {
    if !(2..=60).contains(&p) {
        return Err(invalid("p", p, "an integer from 2 to 60"));
    }
    if samples < 1 {
        return Err(invalid("samples", samples, "an integer >= 1"));
    }
    if seed < 0 {
        return Err(invalid("seed", seed, "an integer >= 0"));
    }
    let (p, samples, seed) = (p as usize, samples as usize, seed as u64);
    let r = py.detach(|| groklab_theory::addition::critical_fraction(p, samples, seed));
    serde_json::to_string(&r).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `groklab theory linear`: the summary (t_train, t_gen, the grokking time, ...) and the curve
/// of losses and accuracies at `points` log-spaced steps up to `steps` (default: past both
/// times) of Levi et al. (2023).
#[pyfunction]
#[pyo3(signature = (lambda_, dout, gamma, eta, eps, alpha, level, flow, steps, points))]
#[allow(clippy::too_many_arguments)]
pub fn linear_json(
    py: Python<'_>,
    lambda_: f64,
    dout: i64,
    gamma: f64,
    eta: f64,
    eps: f64,
    alpha: f64,
    level: f64,
    flow: bool,
    steps: Option<f64>,
    points: i64,
) -> PyResult<String> {
    if !(1..=1_000_000_000).contains(&dout) {
        return Err(invalid("dout", dout, "an integer from 1 to 1e9"));
    }
    let theory = LinearTheory {
        lambda: lambda_,
        dout: dout as usize,
        gamma,
        eta,
        eps,
        alpha,
        level,
        discrete: !flow,
    };
    theory
        .validate()
        .map_err(|e| invalid(e.key, &e.value, &e.allowed))?;
    if !(2..=100_000).contains(&points) {
        return Err(invalid("points", points, "an integer from 2 to 100000"));
    }
    if let Some(n) = steps
        && !(n.is_finite() && n > 1.0)
    {
        return Err(invalid("steps", n, "a finite number > 1"));
    }
    let (summary, curve) = py.detach(|| {
        let summary = theory.summary();
        let n = steps.unwrap_or_else(|| default_curve_steps(summary.t_train, summary.t_gen));
        (summary, theory.curve(&log_steps(n, points as usize)))
    });
    serde_json::to_string(&json!({"summary": summary, "curve": curve}))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}
