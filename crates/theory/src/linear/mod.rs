//! Grokking in linear estimators (Levi, Beck, Bar-Sinai 2023, arXiv 2310.16441): a linear
//! student learns a linear teacher from Gaussian inputs, and "accuracy" is a threshold `eps` on
//! the per-sample loss, so the training accuracy saturates long before the test accuracy does.
//! Everything is solvable; this module is the theory half of the study (the simulation lives in
//! the engine). The reference for the formulas is `specs/linear-estimators.md`; where it and the
//! paper are loose, the derivations in the file docs below are the ones implemented.
//!
//! - [`exact`]: closed-form dynamics of one realisation (given `Sigma` or `X`, `T`, `S0`):
//!   `D_t` and both losses at any step, discrete GD with weight decay or gradient flow.
//! - [`mp`]: the Marchenko-Pastur law and an accurate quadrature for `E_MP[f]`.
//! - [`losses`]: the large-dimension losses for any `(lambda, dout, gamma, eta, alpha)`, the
//!   Bessel closed form, asymptotic losses, the two-layer mapping.
//! - [`accuracy`](mod@accuracy): accuracy from loss (chi-square law) and its inverse.
//! - [`times`]: first-passage times, the grokking time, its limits and asymptotics.
//! - This file: [`LinearTheory`], the serialisable entry point behind `groklab theory linear`
//!   (summary, curves, and parallel grids over two parameters).
//!
//! Conventions: `t` counts optimisation steps (also under gradient flow, whose rate is `eta` per
//! step); losses are means over samples and outputs; `gamma` is the paper's weight decay, whose
//! penalty is divided by `dout`.

#![deny(missing_docs)]

pub mod accuracy;
pub mod exact;
pub mod losses;
pub mod mp;
pub mod times;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub use accuracy::{accuracy, loss_threshold};
pub use exact::{ExactDynamics, ExactError};
pub use losses::{Clock, LossModel, LossParams, Losses};
pub use mp::MarchenkoPastur;
pub use times::Times;

/// One configuration of the linear-estimator theory: the inputs of `groklab theory linear`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearTheory {
    /// `din / N_train`.
    pub lambda: f64,
    /// Number of outputs (the paper's `dout`).
    pub dout: usize,
    /// Weight decay (paper convention: penalty `gamma / (2 dout) ||S||^2`).
    pub gamma: f64,
    /// Learning rate.
    pub eta: f64,
    /// Per-sample loss threshold that counts a sample as correct.
    pub eps: f64,
    /// Initial student scale (`S0 -> alpha S0`).
    pub alpha: f64,
    /// Accuracy level that defines `t_train` and `t_gen`.
    pub level: f64,
    /// Discrete GD (the simulation's dynamics) rather than gradient flow.
    pub discrete: bool,
}

impl LinearTheory {
    /// The paper's defaults at the given `lambda`: `dout = 1`, `gamma = 0`, `eta = 0.01`,
    /// `eps = 1e-3`, `alpha = 1`, `level = 0.95`, discrete GD.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            dout: 1,
            gamma: 0.0,
            eta: 0.01,
            eps: 1e-3,
            alpha: 1.0,
            level: 0.95,
            discrete: true,
        }
    }

    /// The clock the dynamics run on.
    pub fn clock(&self) -> Clock {
        if self.discrete {
            Clock::Discrete
        } else {
            Clock::Flow
        }
    }

    /// The loss-theory parameters (everything but `eps` and `level`).
    pub fn loss_params(&self) -> LossParams {
        LossParams {
            lambda: self.lambda,
            dout: self.dout,
            gamma: self.gamma,
            eta: self.eta,
            alpha: self.alpha,
            clock: self.clock(),
        }
    }

    /// Checks every parameter, naming the first bad one, its value and what is allowed.
    pub fn validate(&self) -> Result<(), LinearTheoryError> {
        let bad =
            |key, value: f64, allowed| Err(LinearTheoryError::new(key, value.to_string(), allowed));
        let finite = |v: f64| v.is_finite();
        if !(finite(self.lambda) && self.lambda > 0.0) {
            return bad("lambda", self.lambda, "a finite number > 0");
        }
        if self.dout == 0 {
            return bad("dout", 0.0, "an integer >= 1");
        }
        if !(finite(self.gamma) && self.gamma >= 0.0) {
            return bad("gamma", self.gamma, "a finite number >= 0");
        }
        if !(finite(self.eta) && self.eta > 0.0) {
            return bad("eta", self.eta, "a finite number > 0");
        }
        if !(finite(self.eps) && self.eps > 0.0) {
            return bad("eps", self.eps, "a finite number > 0");
        }
        if !(finite(self.alpha) && self.alpha >= 0.0) {
            return bad("alpha", self.alpha, "a finite number >= 0");
        }
        if !(self.level > 0.0 && self.level < 1.0) {
            return bad("level", self.level, "a number strictly between 0 and 1");
        }
        if self.discrete {
            // The fastest direction has a = 1 - eta (2 l+ + gamma) / dout; |a| >= 1 diverges.
            let upper = (1.0 + self.lambda.sqrt()).powi(2);
            let limit = 2.0 * self.dout as f64 / (2.0 * upper + self.gamma);
            if self.eta >= limit {
                return Err(LinearTheoryError::new(
                    "eta",
                    self.eta.to_string(),
                    format!(
                        "< {limit:.6} for discrete GD at this lambda, dout and gamma \
                         (larger steps diverge); use gradient flow for larger eta"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn checked_model(&self) -> LossModel {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        LossModel::new(self.loss_params())
    }

    /// Times, limits and asymptotes of this configuration.
    ///
    /// # Panics
    /// If [`validate`](Self::validate) fails.
    pub fn summary(&self) -> LinearSummary {
        let model = self.checked_model();
        let clock = self.clock();
        let threshold = loss_threshold(self.eps, self.dout, self.level);
        let times = times::grokking_times(&model, self.eps, self.level);
        let lambert = times::lambert_times(&model, self.eps, self.level);
        let initial = model.initial();
        let inf = model.asymptotic();
        let gen_acc_inf = accuracy(inf.gen_loss, self.eps, self.dout);
        LinearSummary {
            theory: *self,
            loss_threshold: threshold,
            t_train: times.t_train,
            t_gen: times.t_gen,
            delta_t: times.delta(),
            delta_t_limit: if self.gamma == 0.0 {
                times::delta_t_limit(self.lambda, self.eta, self.dout, clock)
            } else {
                None
            },
            delta_t_limit_small_gamma: if self.gamma > 0.0 {
                times::delta_t_limit_small_gamma(self.lambda, self.eta, self.dout, clock)
            } else {
                None
            },
            t_train_lambert: lambert.and_then(|l| l.t_train),
            t_gen_lambert: lambert.and_then(|l| l.t_gen),
            delta_t_lambert: lambert.and_then(|l| l.delta()),
            train_loss_0: initial.train_loss,
            gen_loss_0: initial.gen_loss,
            train_loss_inf: inf.train_loss,
            gen_loss_inf: inf.gen_loss,
            train_acc_inf: accuracy(inf.train_loss, self.eps, self.dout),
            gen_acc_inf,
            perfect_generalisation: inf.gen_loss < threshold,
        }
    }

    /// Losses and accuracies at the given times (steps).
    ///
    /// # Panics
    /// If [`validate`](Self::validate) fails.
    pub fn curve(&self, steps: &[f64]) -> Vec<CurvePoint> {
        let model = self.checked_model();
        steps
            .iter()
            .map(|&t| {
                let l = model.losses(t);
                CurvePoint {
                    t,
                    train_loss: l.train_loss,
                    gen_loss: l.gen_loss,
                    train_acc: accuracy(l.train_loss, self.eps, self.dout),
                    gen_acc: accuracy(l.gen_loss, self.eps, self.dout),
                }
            })
            .collect()
    }

    /// This configuration with one parameter replaced (dout values must be whole numbers).
    pub fn with(&self, axis: Axis, value: f64) -> Result<Self, LinearTheoryError> {
        let mut out = *self;
        match axis {
            Axis::Lambda => out.lambda = value,
            Axis::Dout => {
                if !(value >= 1.0 && value.fract() == 0.0 && value <= 1e9) {
                    return Err(LinearTheoryError::new(
                        "dout",
                        value.to_string(),
                        "a whole number >= 1",
                    ));
                }
                out.dout = value as usize;
            }
            Axis::Gamma => out.gamma = value,
            Axis::Eta => out.eta = value,
            Axis::Eps => out.eps = value,
            Axis::Alpha => out.alpha = value,
        }
        out.validate()?;
        Ok(out)
    }

    /// Grokking times over the grid `values1 x values2` of two parameters, the others as in
    /// `self`, computed in parallel. Points come in row-major order (`values2` fastest). Every
    /// value is validated before any work starts.
    pub fn grid(
        &self,
        axis1: Axis,
        values1: &[f64],
        axis2: Axis,
        values2: &[f64],
    ) -> Result<Vec<GridPoint>, LinearTheoryError> {
        if axis1 == axis2 {
            return Err(LinearTheoryError::new(
                "axis2",
                axis2.to_string(),
                format!("an axis other than axis1 ({axis1})"),
            ));
        }
        let mut cells = Vec::with_capacity(values1.len() * values2.len());
        for &v1 in values1 {
            for &v2 in values2 {
                cells.push((v1, v2, self.with(axis1, v1)?.with(axis2, v2)?));
            }
        }
        Ok(cells
            .into_par_iter()
            .map(|(v1, v2, theory)| {
                let model = LossModel::new(theory.loss_params());
                let t = times::grokking_times(&model, theory.eps, theory.level);
                GridPoint {
                    v1,
                    v2,
                    t_train: t.t_train,
                    t_gen: t.t_gen,
                    delta_t: t.delta(),
                }
            })
            .collect())
    }
}

/// What [`LinearTheory::summary`] reports. Times are in steps; `None` means never (or not
/// applicable, for the limits).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinearSummary {
    /// The configuration summarised.
    pub theory: LinearTheory,
    /// The loss at which the accuracy reaches the level (the same for train and test).
    pub loss_threshold: f64,
    /// First time the training accuracy reaches the level.
    pub t_train: Option<f64>,
    /// First time the test accuracy reaches the level.
    pub t_gen: Option<f64>,
    /// Grokking time `t_gen - t_train`.
    pub delta_t: Option<f64>,
    /// `eps -> 0` limit of `delta_t` (`gamma = 0`, `lambda < 1`), in the chosen clock.
    pub delta_t_limit: Option<f64>,
    /// The spec's small-weight-decay limit (`gamma > 0`, `lambda < 1`); see
    /// [`times::delta_t_limit_small_gamma`].
    pub delta_t_limit_small_gamma: Option<f64>,
    /// Lambert-W asymptotic `t_train` (`gamma = 0`, `lambda < 1`).
    pub t_train_lambert: Option<f64>,
    /// Lambert-W asymptotic `t_gen` (`gamma = 0`, `lambda < 1`).
    pub t_gen_lambert: Option<f64>,
    /// Lambert-W asymptotic grokking time.
    pub delta_t_lambert: Option<f64>,
    /// Training loss at `t = 0`.
    pub train_loss_0: f64,
    /// Generalisation loss at `t = 0`.
    pub gen_loss_0: f64,
    /// Training loss as `t -> infinity`.
    pub train_loss_inf: f64,
    /// Generalisation loss as `t -> infinity`.
    pub gen_loss_inf: f64,
    /// Training accuracy as `t -> infinity`.
    pub train_acc_inf: f64,
    /// Test accuracy as `t -> infinity`.
    pub gen_acc_inf: f64,
    /// Whether the test accuracy ever reaches the level (`gen_loss_inf < loss_threshold`).
    pub perfect_generalisation: bool,
}

/// Losses and accuracies at one time.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Time in steps.
    pub t: f64,
    /// Training loss.
    pub train_loss: f64,
    /// Generalisation loss.
    pub gen_loss: f64,
    /// Training accuracy.
    pub train_acc: f64,
    /// Test accuracy.
    pub gen_acc: f64,
}

/// Enough steps to pass both times: 3 x the later one (at least 100), or, when the test
/// accuracy never reaches the level, max(1e5, 3 t_train).
pub fn default_curve_steps(t_train: Option<f64>, t_gen: Option<f64>) -> f64 {
    let n = match (t_train, t_gen) {
        (Some(a), Some(b)) => (3.0 * a.max(b)).max(100.0),
        (a, _) => (3.0 * a.unwrap_or(0.0)).max(1e5),
    };
    n.ceil()
}

/// `k >= 2` log-spaced steps from 1 to `n` (both included).
pub fn log_steps(n: f64, k: usize) -> Vec<f64> {
    let ln = n.ln();
    let mut steps: Vec<f64> = (0..k)
        .map(|i| (ln * i as f64 / (k - 1) as f64).exp())
        .collect();
    steps[0] = 1.0;
    steps[k - 1] = n;
    steps
}

/// One cell of [`LinearTheory::grid`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridPoint {
    /// Value of the first axis.
    pub v1: f64,
    /// Value of the second axis.
    pub v2: f64,
    /// First time the training accuracy reaches the level.
    pub t_train: Option<f64>,
    /// First time the test accuracy reaches the level.
    pub t_gen: Option<f64>,
    /// Grokking time.
    pub delta_t: Option<f64>,
}

/// A parameter a grid can sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Axis {
    /// `din / N_train`.
    Lambda,
    /// Number of outputs.
    Dout,
    /// Weight decay.
    Gamma,
    /// Learning rate.
    Eta,
    /// Per-sample loss threshold.
    Eps,
    /// Initial student scale.
    Alpha,
}

impl Axis {
    /// Every axis, in declaration order.
    pub const ALL: [Axis; 6] = [
        Axis::Lambda,
        Axis::Dout,
        Axis::Gamma,
        Axis::Eta,
        Axis::Eps,
        Axis::Alpha,
    ];

    /// The lowercase name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Axis::Lambda => "lambda",
            Axis::Dout => "dout",
            Axis::Gamma => "gamma",
            Axis::Eta => "eta",
            Axis::Eps => "eps",
            Axis::Alpha => "alpha",
        }
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Axis {
    type Err = LinearTheoryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Axis::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                LinearTheoryError::new(
                    "axis",
                    s.to_string(),
                    "one of lambda, dout, gamma, eta, eps, alpha",
                )
            })
    }
}

/// A parameter of the linear theory is out of range: names the key, the value and what is
/// allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinearTheoryError {
    /// The offending key (`lambda`, `dout`, ...).
    pub key: &'static str,
    /// Its value as given.
    pub value: String,
    /// What would have been accepted.
    pub allowed: String,
}

impl LinearTheoryError {
    fn new(key: &'static str, value: String, allowed: impl Into<String>) -> Self {
        Self {
            key,
            value,
            allowed: allowed.into(),
        }
    }
}

impl fmt::Display for LinearTheoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid {} = {}: expected {}",
            self.key, self.value, self.allowed
        )
    }
}

impl std::error::Error for LinearTheoryError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_reports_grokking_below_lambda_one() {
        let s = LinearTheory::new(0.5).summary();
        let (tt, tg) = (s.t_train.unwrap(), s.t_gen.unwrap());
        assert!(0.0 < tt && tt < tg);
        assert_eq!(s.delta_t, Some(tg - tt));
        assert!(s.delta_t_limit.is_some() && s.delta_t_lambert.is_some());
        assert!(s.delta_t_limit_small_gamma.is_none());
        assert!(s.perfect_generalisation && s.gen_acc_inf == 1.0);
        assert!((s.gen_loss_0 - 1.0).abs() < 1e-12 && s.gen_loss_inf == 0.0);
    }

    #[test]
    fn summary_reports_the_plateau_above_lambda_one() {
        let s = LinearTheory::new(1.5).summary();
        assert!(s.t_train.is_some());
        assert_eq!((s.t_gen, s.delta_t, s.delta_t_limit), (None, None, None));
        assert!((s.gen_loss_inf - (1.0 - 1.0 / 1.5)).abs() < 1e-12);
        assert!(!s.perfect_generalisation && s.gen_acc_inf < 0.95);
    }

    #[test]
    fn summary_at_the_interpolation_threshold() {
        // lambda = 1: the spectrum reaches 0 (density ~ nu^-1/2), losses decay as powers of t,
        // so generalisation still comes, late; the exponential-edge limits do not apply.
        let s = LinearTheory::new(1.0).summary();
        let (tt, tg) = (s.t_train.unwrap(), s.t_gen.unwrap());
        assert!(tt < tg && tg < 1e12, "{tt} {tg}");
        assert_eq!((s.delta_t_limit, s.delta_t_lambert), (None, None));
        let just_below = LinearTheory::new(0.999).summary();
        assert!(just_below.t_gen.unwrap() < tg);
    }

    #[test]
    fn curve_accuracies_follow_the_losses() {
        let theory = LinearTheory {
            dout: 4,
            ..LinearTheory::new(0.3)
        };
        let curve = theory.curve(&[0.0, 10.0, 1e3, 1e5]);
        assert_eq!(curve.len(), 4);
        assert!((curve[0].gen_loss - 0.25).abs() < 1e-12);
        for p in &curve {
            assert_eq!(p.gen_acc, accuracy(p.gen_loss, 1e-3, 4));
            assert!(p.train_loss <= p.gen_loss * (1.0 + 1e-12) || p.t == 0.0);
        }
        assert!(curve[3].gen_acc > 0.99 && curve[0].gen_acc < 1e-3);
    }

    #[test]
    fn grid_matches_single_summaries() {
        let base = LinearTheory::new(0.5);
        let grid = base
            .grid(Axis::Lambda, &[0.3, 0.9], Axis::Dout, &[1.0, 20.0])
            .unwrap();
        assert_eq!(grid.len(), 4);
        assert_eq!((grid[1].v1, grid[1].v2), (0.3, 20.0));
        for p in &grid {
            let s = LinearTheory {
                lambda: p.v1,
                dout: p.v2 as usize,
                ..base
            }
            .summary();
            assert_eq!(
                (p.t_train, p.t_gen, p.delta_t),
                (s.t_train, s.t_gen, s.delta_t)
            );
        }
    }

    #[test]
    fn grokking_time_peaks_at_a_few_tens_of_outputs() {
        // F2 (lambda = 0.9): delta_t rises with dout (eta / dout slows everything), then falls
        // as the initial loss 1/dout approaches the threshold L* -> eps. Maximum at dout = 26.
        let douts: Vec<f64> = (1..=700).map(f64::from).collect();
        let grid = LinearTheory::new(0.9)
            .grid(Axis::Dout, &douts, Axis::Lambda, &[0.9])
            .unwrap();
        let dt: Vec<f64> = grid.iter().map(|p| p.delta_t.unwrap()).collect();
        let argmax = (0..dt.len())
            .max_by(|&a, &b| dt[a].total_cmp(&dt[b]))
            .unwrap();
        assert_eq!(douts[argmax], 26.0);
        assert!(dt[..argmax].windows(2).all(|w| w[0] < w[1]));
        assert!(dt[argmax..].windows(2).all(|w| w[0] > w[1]));
    }

    #[test]
    fn grid_rejects_bad_axes_and_values() {
        let base = LinearTheory::new(0.5);
        let same = base
            .grid(Axis::Gamma, &[0.0], Axis::Gamma, &[0.1])
            .unwrap_err();
        assert_eq!(same.key, "axis2");
        let frac = base
            .grid(Axis::Dout, &[1.5], Axis::Lambda, &[0.5])
            .unwrap_err();
        assert_eq!((frac.key, frac.value.as_str()), ("dout", "1.5"));
        let neg = base
            .grid(Axis::Dout, &[1.0], Axis::Lambda, &[-0.5])
            .unwrap_err();
        assert_eq!(
            neg.to_string(),
            "invalid lambda = -0.5: expected a finite number > 0"
        );
        assert_eq!("gamma".parse::<Axis>(), Ok(Axis::Gamma));
        assert_eq!("gama".parse::<Axis>().unwrap_err().key, "axis");
    }

    #[test]
    fn validation_names_the_bad_key() {
        let t = LinearTheory {
            level: 1.0,
            ..LinearTheory::new(0.5)
        };
        assert_eq!(t.validate().unwrap_err().key, "level");
        let t = LinearTheory {
            eta: 1.0,
            ..LinearTheory::new(0.5)
        };
        assert_eq!(t.validate().unwrap_err().key, "eta");
        assert!(
            LinearTheory {
                discrete: false,
                ..t
            }
            .validate()
            .is_ok()
        );
        assert!(LinearTheory::new(0.5).validate().is_ok());
    }
}
