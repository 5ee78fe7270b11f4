//! Figures 1-5 of Levi, Beck, Bar-Sinai 2023 ("Grokking in linear estimators", arXiv 2310.16441):
//! which simulations each needs ([`Levi2023::plan`]) and how each figure is drawn from their results
//! and the large-dimension theory ([`Levi2023::build`]).
//!
//! Simulations start from the `levi2023-*` presets (din = 1000, eta = 0.01, eps = 1e-3, 0.95 level)
//! with d_in, seeds, budgets and evaluation density set by the [`Mode`]. A linear run's budget is
//! `factor x` the theory's t_gen (2.5, or 3 at the smaller d_in of `--quick`: seeds near lambda = 1
//! spread by tens of percent), or, when the test
//! accuracy never reaches the level, `max(20000, 20 t_train)` steps, so its plateau shows.

pub mod comparison;
mod figures;

use super::figure::{Figure, Stats, sci, short};
use super::sim::{Plan, SimId, SimRuns, SimTimes, theory_of};
use crate::commands::CliError;
use groklab_engine::Config;
use groklab_theory::linear::LinearTheory;
use toml::Value;

/// How much to simulate.
#[derive(Clone, Debug)]
pub struct Mode {
    pub name: &'static str,
    pub seeds: usize,
    /// Input dimension of every simulation (the theory depends on lambda only).
    pub d_in: usize,
    /// Test-set size (None: the presets').
    pub n_test: Option<usize>,
    /// A linear run's budget in units of the theory's t_gen.
    pub factor: f64,
    pub min_steps: usize,
    pub max_steps: usize,
    pub log_points: usize,
    /// Cells per axis of the figure-4 heatmaps.
    pub grid: usize,
    /// Simulate the expensive points: dout = 700 and dh = 200.
    pub heavy: bool,
    /// dout values simulated for delta_t against dout.
    pub dout_points: Vec<usize>,
}

impl Mode {
    pub fn full(seeds: Option<usize>) -> Mode {
        Mode {
            name: "full",
            seeds: seeds.unwrap_or(5),
            d_in: 1000,
            n_test: None,
            factor: 2.5,
            min_steps: 2000,
            max_steps: 250_000,
            log_points: 200,
            grid: 40,
            heavy: true,
            dout_points: vec![1, 5, 20, 50, 700],
        }
    }
    pub fn quick(seeds: Option<usize>) -> Mode {
        Mode {
            name: "quick",
            seeds: seeds.unwrap_or(2),
            d_in: 200,
            factor: 3.0,
            max_steps: 150_000,
            grid: 25,
            heavy: false,
            dout_points: vec![1, 5, 50],
            ..Mode::full(None)
        }
    }
    /// Test-only: tiny and short (most runs end before they generalise).
    pub fn smoke(seeds: Option<usize>) -> Mode {
        Mode {
            name: "smoke",
            seeds: seeds.unwrap_or(2),
            d_in: 40,
            n_test: Some(500),
            min_steps: 200,
            max_steps: 1500,
            log_points: 40,
            grid: 5,
            ..Mode::quick(None)
        }
    }

    fn steps_for(&self, th: &LinearTheory) -> usize {
        let s = th.summary();
        let target = match (s.t_gen, s.t_train) {
            (Some(g), _) => self.factor * g,
            (None, Some(t)) => (20.0 * t).max(20_000.0),
            (None, None) => 20_000.0,
        };
        let rounded = ((target / 1000.0).ceil() * 1000.0) as usize;
        rounded.clamp(self.min_steps, self.max_steps)
    }
}

/// A simulated grokking time beside the theory's.
pub struct DtPoint {
    pub panel: String,
    pub series: String,
    /// The swept parameter and its value.
    pub param: &'static str,
    pub value: f64,
    /// lambda as realised (d_in / round(d_in / lambda)).
    pub lambda: f64,
    pub d_in: Option<usize>,
    pub steps: usize,
    pub sim: SimTimes,
    /// (t_train, t_gen) of the theory at the simulation's parameters; None where no theory applies.
    pub theory: Option<(Option<f64>, Option<f64>)>,
}

impl DtPoint {
    pub fn theory_dt(&self) -> Option<f64> {
        let (a, b) = self.theory?;
        Some(b? - a?)
    }

    pub fn json(&self) -> serde_json::Value {
        let st = |s: &Option<Stats>| s.map_or(serde_json::Value::Null, |s| s.json());
        let (tt, tg) = self.theory.unwrap_or((None, None));
        let dt = self.theory_dt();
        serde_json::json!({
            "panel": self.panel,
            "series": self.series,
            "param": self.param,
            "value": self.value,
            "lambda_realised": self.lambda,
            "d_in": self.d_in,
            "steps": self.steps,
            "seeds": self.sim.seeds,
            "sim_delta_t": st(&self.sim.delta_t),
            "sim_t_train": st(&self.sim.t_train),
            "sim_t_gen": st(&self.sim.t_gen),
            "theory_delta_t": dt,
            "theory_t_train": tt,
            "theory_t_gen": tg,
            "sim_over_theory": match (self.sim.delta_t, dt) {
                (Some(s), Some(t)) if t > 0.0 => Some(s.mean / t),
                _ => None,
            },
        })
    }
}

/// A built figure and its grokking-time comparisons.
pub struct FigureOut {
    pub figure: Figure,
    pub points: Vec<DtPoint>,
}

/// The simulations of every figure, by role.
pub struct Levi2023 {
    mode: Mode,
    /// F1: (lambda, sim) for the curves and for delta_t.
    f1_curves: Vec<(f64, SimId)>,
    f1_dt: Vec<(f64, SimId)>,
    /// F2: (dout, sim if simulated) for the curves; (dout, sim) for delta_t.
    f2_curves: Vec<(usize, Option<SimId>)>,
    f2_dt: Vec<(usize, SimId)>,
    /// F3: (gamma, sim).
    f3_curves: Vec<(f64, SimId)>,
    f3_dt: Vec<(f64, SimId)>,
    /// F5: (dh, activation label, sim).
    f5: Vec<(usize, &'static str, SimId)>,
}

const LAMBDA: f64 = 0.9;
const F1_CURVES: [f64; 3] = [0.1, 0.9, 1.5];
const F1_DT: [f64; 4] = [0.3, 0.5, 0.7, 0.9];
const F1_EPS: [f64; 4] = [1e-2, 1e-3, 1e-4, 1e-6];
const F2_CURVES: [usize; 3] = [1, 50, 700];
const F3_CURVES: [f64; 3] = [1e-5, 1e-3, 1e-2];
const F3_DT: [f64; 5] = [1e-5, 1e-4, 5e-4, 1e-3, 1e-2];
const CURVE_POINTS: usize = 300;

fn lambda_of(c: &Config) -> f64 {
    theory_of(c).map_or(f64::NAN, |t| t.lambda)
}

fn linear_config(mode: &Mode, lambda: f64, dout: usize, gamma: f64) -> Result<Config, CliError> {
    let base = groklab_engine::presets::load("levi2023-fig1-lambda0.9")?;
    let group = base.optim.keys().next().cloned().unwrap_or_default();
    let decay = format!("optim.{group}.weight_decay");
    let mut sets = vec![
        ("task.d_in", Value::Integer(mode.d_in as i64)),
        ("task.d_out", Value::Integer(dout as i64)),
        ("task.lambda", Value::Float(lambda)),
        (decay.as_str(), Value::Float(gamma)),
        ("eval.log_points", Value::Integer(mode.log_points as i64)),
    ];
    if let Some(n) = mode.n_test {
        sets.push(("task.n_test", Value::Integer(n as i64)));
    }
    let mut c = base.with(&sets)?;
    c.name = format!("lambda={} dout={dout} gamma={}", short(lambda), sci(gamma));
    c.description = format!(
        "groklab repro levi2023 ({} mode): linear teacher-student, lambda={lambda}, dout={dout}, \
         gamma={gamma}, d_in={}",
        mode.name, mode.d_in
    );
    let th = theory_of(&c).ok_or_else(|| CliError::Work("the base preset is not linear".into()))?;
    th.validate()
        .map_err(|e| CliError::Work(format!("simulation {}: {e}", c.name)))?;
    c.train.steps = mode.steps_for(&th);
    Ok(c)
}

fn deep_config(mode: &Mode, dh: usize, act: &str) -> Result<Config, CliError> {
    let mut sets = vec![
        ("task.d_in", Value::Integer(mode.d_in as i64)),
        (
            "model.d_hidden",
            Value::Array(vec![Value::Integer(dh as i64)]),
        ),
        ("eval.log_points", Value::Integer(mode.log_points as i64)),
    ];
    if let Some(n) = mode.n_test {
        sets.push(("task.n_test", Value::Integer(n as i64)));
    }
    let mut c = groklab_engine::presets::load(&format!("levi2023-fig5-{act}"))?.with(&sets)?;
    c.name = format!("deep {act} dh={dh}");
    c.train.steps = c.train.steps.min(mode.max_steps);
    Ok(c)
}

/// `k` log-spaced steps from 1 to `n`.
fn log_steps(n: f64, k: usize) -> Vec<f64> {
    (0..k)
        .map(|i| (n.ln() * i as f64 / (k - 1) as f64).exp())
        .collect()
}

/// `k` log-spaced values from `a` to `b`, rounded to 12 significant digits.
fn log_values(a: f64, b: f64, k: usize) -> Vec<f64> {
    (0..k)
        .map(|i| {
            let v = (a.ln() + (b.ln() - a.ln()) * i as f64 / (k - 1) as f64).exp();
            format!("{v:.11e}").parse().unwrap_or(v)
        })
        .collect()
}

/// `k` log-spaced whole numbers from `a` to `b`, without repeats.
fn log_integers(a: f64, b: f64, k: usize) -> Vec<f64> {
    let mut v: Vec<f64> = log_values(a, b, k).into_iter().map(f64::round).collect();
    v.dedup();
    v
}

fn lin_values(a: f64, b: f64, k: usize) -> Vec<f64> {
    (0..k)
        .map(|i| {
            let v = a + (b - a) * i as f64 / (k - 1) as f64;
            format!("{v:.11e}").parse().unwrap_or(v)
        })
        .collect()
}

impl Levi2023 {
    /// Registers every simulation the figures need.
    pub fn plan(mode: &Mode, plan: &mut Plan) -> Result<Levi2023, CliError> {
        let mut lin = |lambda, dout, gamma| -> Result<SimId, CliError> {
            Ok(plan.add(linear_config(mode, lambda, dout, gamma)?))
        };
        let f1_curves = F1_CURVES
            .iter()
            .map(|&l| Ok((l, lin(l, 1, 0.0)?)))
            .collect::<Result<_, CliError>>()?;
        let f1_dt = F1_DT
            .iter()
            .map(|&l| Ok((l, lin(l, 1, 0.0)?)))
            .collect::<Result<_, CliError>>()?;
        let f2_curves = F2_CURVES
            .iter()
            .map(|&d| {
                let sim = (mode.heavy || d < 700)
                    .then(|| lin(LAMBDA, d, 0.0))
                    .transpose()?;
                Ok((d, sim))
            })
            .collect::<Result<_, CliError>>()?;
        let f2_dt = mode
            .dout_points
            .iter()
            .map(|&d| Ok((d, lin(LAMBDA, d, 0.0)?)))
            .collect::<Result<_, CliError>>()?;
        let f3_curves = F3_CURVES
            .iter()
            .map(|&g| Ok((g, lin(LAMBDA, 1, g)?)))
            .collect::<Result<_, CliError>>()?;
        let f3_dt = F3_DT
            .iter()
            .map(|&g| Ok((g, lin(LAMBDA, 1, g)?)))
            .collect::<Result<_, CliError>>()?;
        let mut f5 = Vec::new();
        let dhs: &[usize] = if mode.heavy { &[50, 200] } else { &[50] };
        for &dh in dhs {
            for (label, preset) in [("identity", "linear"), ("tanh", "tanh")] {
                f5.push((dh, label, plan.add(deep_config(mode, dh, preset)?)));
            }
        }
        Ok(Levi2023 {
            mode: mode.clone(),
            f1_curves,
            f1_dt,
            f2_curves,
            f2_dt,
            f3_curves,
            f3_dt,
            f5,
        })
    }

    /// Draws every figure from the simulations' results (indexed by [`SimId`]).
    pub fn build(&self, sims: &[SimRuns]) -> Result<Vec<FigureOut>, CliError> {
        Ok(vec![
            self.fig1(sims)?,
            self.fig2(sims)?,
            self.fig3(sims)?,
            self.fig4()?,
            self.fig5(sims),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_cover_the_theory_and_respect_the_caps() {
        let quick = Mode::quick(None);
        let th = LinearTheory::new(0.9);
        let t_gen = th.summary().t_gen.unwrap();
        let s = quick.steps_for(&th);
        assert!(s as f64 >= 3.0 * t_gen && s.is_multiple_of(1000), "{s}");
        assert_eq!(quick.steps_for(&LinearTheory::new(0.1)), 2000);
        assert_eq!(quick.steps_for(&LinearTheory::new(1.5)), 20_000);
        assert_eq!(Mode::smoke(None).steps_for(&th), 1500);
        assert_eq!(log_integers(1.0, 1000.0, 4), vec![1.0, 10.0, 100.0, 1000.0]);
        let s = log_steps(100.0, 3);
        assert!((s[0] - 1.0).abs() < 1e-12 && (s[1] - 10.0).abs() < 1e-9);
    }
}
