//! Exact dynamics of one realisation: given the empirical covariance `Sigma` (or the data `X`),
//! the teacher `T` and the initial student `S0`, the residual `D_t = S_t - T` and both losses at
//! any time, in closed form, for discrete GD with weight decay and for gradient flow.
//!
//! `Sigma = V diag(nu) V^T` is decomposed once. In the eigenbasis the update
//! `D_{t+1} = (I - (2 eta/dout) Sigma) D_t - (eta gamma/dout)(D_t + T)` acts row by row:
//! `d_{t+1} = a d_t - (eta gamma/dout) tau`, `a = 1 - (eta/dout)(2 nu + gamma)`, whose solution is
//! `d_t = E d_0 - (1 - E) k tau` with `k = gamma / (2 nu + gamma)` and `E = a^t` (discrete) or
//! `E = exp(-(eta/dout)(2 nu + gamma) t)` (flow). The losses only need, per eigendirection `i`,
//! the three row sums `|d0_i|^2`, `|tau_i|^2` and `d0_i . tau_i`, so after the `O(din^3)` set-up
//! each time costs `O(din)`.
//!
//! Under gradient flow with `gamma = 0`: `dL_gen/dt = (1/dout) d|D|^2/dt = -(4 eta / dout^2)
//! Tr(D^T Sigma D) = -(4 eta / dout) L_train` (the spec's `-4 eta L_train` at `dout = 1`).

use faer::{Mat, MatRef, Side};

use super::losses::{Clock, Losses, decay};

/// Why an [`ExactDynamics`] could not be built.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ExactError {
    /// A matrix has the wrong shape: `what` names it, `expected` and `got` are `(rows, cols)`.
    Shape {
        /// Which argument.
        what: &'static str,
        /// The shape it must have.
        expected: (usize, usize),
        /// The shape it has.
        got: (usize, usize),
    },
    /// The symmetric eigendecomposition did not converge.
    Eigen,
    /// `eta` must be positive and `gamma` non-negative, both finite.
    Parameter {
        /// Which parameter.
        what: &'static str,
        /// Its value.
        value: f64,
    },
}

impl std::fmt::Display for ExactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Shape {
                what,
                expected,
                got,
            } => write!(
                f,
                "{what} has shape {}x{}, expected {}x{}",
                got.0, got.1, expected.0, expected.1
            ),
            Self::Eigen => write!(f, "eigendecomposition of the covariance did not converge"),
            Self::Parameter { what, value } => write!(f, "invalid {what} = {value}"),
        }
    }
}

impl std::error::Error for ExactError {}

/// The closed-form dynamics of one realisation (see the module docs).
#[derive(Clone, Debug)]
pub struct ExactDynamics {
    eta: f64,
    gamma: f64,
    dout: usize,
    /// Eigenvalues of Sigma, ascending, clamped at 0 (negative ones are rounding).
    nu: Vec<f64>,
    /// Eigenvectors (columns), din x din.
    basis: Mat<f64>,
    /// `V^T D0` and `V^T T`, din x dout.
    d0: Mat<f64>,
    tau: Mat<f64>,
    teacher: Mat<f64>,
    /// Per eigendirection: `|d0_i|^2`, `|tau_i|^2`, `d0_i . tau_i`.
    d0_sq: Vec<f64>,
    tau_sq: Vec<f64>,
    cross: Vec<f64>,
}

impl ExactDynamics {
    /// From the empirical covariance `sigma` (din x din, symmetric; only its lower half is
    /// read), the teacher (din x dout) and the initial student (din x dout).
    pub fn from_covariance(
        sigma: MatRef<'_, f64>,
        teacher: MatRef<'_, f64>,
        student0: MatRef<'_, f64>,
        eta: f64,
        gamma: f64,
    ) -> Result<Self, ExactError> {
        let din = teacher.nrows();
        let dout = teacher.ncols();
        check_shape("sigma", sigma, (din, din))?;
        check_shape("student0", student0, (din, dout))?;
        if !(eta.is_finite() && eta > 0.0) {
            return Err(ExactError::Parameter {
                what: "eta",
                value: eta,
            });
        }
        if !(gamma.is_finite() && gamma >= 0.0) {
            return Err(ExactError::Parameter {
                what: "gamma",
                value: gamma,
            });
        }
        if dout == 0 {
            return Err(ExactError::Shape {
                what: "teacher",
                expected: (din, 1),
                got: (din, 0),
            });
        }
        let evd = sigma
            .self_adjoint_eigen(Side::Lower)
            .map_err(|_| ExactError::Eigen)?;
        let nu: Vec<f64> = (0..din)
            .map(|i| evd.S().column_vector()[i].max(0.0))
            .collect();
        Ok(Self::project(
            eta,
            gamma,
            nu,
            evd.U().to_owned(),
            teacher,
            student0,
        ))
    }

    /// The same data (`Sigma`, `eta`, `gamma`) with another teacher and initial student, reusing
    /// the eigendecomposition: `O(din^2 dout)` instead of `O(din^3)`, for averaging over seeds of
    /// the weights on fixed data.
    pub fn with_weights(
        &self,
        teacher: MatRef<'_, f64>,
        student0: MatRef<'_, f64>,
    ) -> Result<Self, ExactError> {
        let din = self.nu.len();
        let dout = teacher.ncols();
        check_shape("teacher", teacher, (din, dout.max(1)))?;
        check_shape("student0", student0, (din, dout))?;
        Ok(Self::project(
            self.eta,
            self.gamma,
            self.nu.clone(),
            self.basis.clone(),
            teacher,
            student0,
        ))
    }

    /// Projects `D0 = S0 - T` and `T` on the eigenbasis and forms the per-direction sums.
    fn project(
        eta: f64,
        gamma: f64,
        nu: Vec<f64>,
        basis: Mat<f64>,
        teacher: MatRef<'_, f64>,
        student0: MatRef<'_, f64>,
    ) -> Self {
        let (din, dout) = (teacher.nrows(), teacher.ncols());
        let d0_full = Mat::from_fn(din, dout, |i, j| student0[(i, j)] - teacher[(i, j)]);
        let d0 = basis.transpose() * &d0_full;
        let tau = basis.transpose() * teacher;
        let row = |m: &Mat<f64>, n: &Mat<f64>, i: usize| -> f64 {
            (0..dout).map(|j| m[(i, j)] * n[(i, j)]).sum()
        };
        let d0_sq = (0..din).map(|i| row(&d0, &d0, i)).collect();
        let tau_sq = (0..din).map(|i| row(&tau, &tau, i)).collect();
        let cross = (0..din).map(|i| row(&d0, &tau, i)).collect();
        Self {
            eta,
            gamma,
            dout,
            nu,
            basis,
            d0,
            tau,
            teacher: teacher.to_owned(),
            d0_sq,
            tau_sq,
            cross,
        }
    }

    /// From the training inputs `x` (N x din, one sample per row): `Sigma = X^T X / N`.
    pub fn from_data(
        x: MatRef<'_, f64>,
        teacher: MatRef<'_, f64>,
        student0: MatRef<'_, f64>,
        eta: f64,
        gamma: f64,
    ) -> Result<Self, ExactError> {
        let din = teacher.nrows();
        check_shape("x", x, (x.nrows(), din))?;
        if x.nrows() == 0 {
            return Err(ExactError::Shape {
                what: "x",
                expected: (1, din),
                got: (0, din),
            });
        }
        let gram = x.transpose() * x;
        let n = x.nrows() as f64;
        let sigma = Mat::from_fn(din, din, |i, j| gram[(i, j)] / n);
        Self::from_covariance(sigma.as_ref(), teacher, student0, eta, gamma)
    }

    /// Eigenvalues of `Sigma`, ascending (negative rounding noise clamped to 0).
    pub fn eigenvalues(&self) -> &[f64] {
        &self.nu
    }

    /// `(E_i, (1 - E_i) k_i)` for eigendirection `i`: `d_t = E d0 - (1 - E) k tau`.
    fn coefficients(&self, i: usize, t: f64, clock: Clock) -> (f64, f64) {
        let nu = self.nu[i];
        let rate = self.eta * (2.0 * nu + self.gamma) / self.dout as f64;
        let e = decay(rate, t, clock);
        let k = if self.gamma > 0.0 {
            self.gamma / (2.0 * nu + self.gamma)
        } else {
            0.0
        };
        (e, (1.0 - e) * k)
    }

    /// `L_train = (1/dout) Tr(D_t^T Sigma D_t)` and `L_gen = (1/dout) ||D_t||_F^2` at step `t`.
    pub fn losses(&self, t: f64, clock: Clock) -> Losses {
        let (mut train, mut test) = (0.0, 0.0);
        for i in 0..self.nu.len() {
            let (e, f) = self.coefficients(i, t, clock);
            let sq = e * e * self.d0_sq[i] - 2.0 * e * f * self.cross[i] + f * f * self.tau_sq[i];
            test += sq;
            train += self.nu[i] * sq;
        }
        let k = self.dout as f64;
        Losses {
            train_loss: train / k,
            gen_loss: test / k,
        }
    }

    /// The residual `D_t = S_t - T` (din x dout).
    pub fn residual(&self, t: f64, clock: Clock) -> Mat<f64> {
        let coeffs: Vec<(f64, f64)> = (0..self.nu.len())
            .map(|i| self.coefficients(i, t, clock))
            .collect();
        let rotated = Mat::from_fn(self.d0.nrows(), self.dout, |i, j| {
            let (e, f) = coeffs[i];
            e * self.d0[(i, j)] - f * self.tau[(i, j)]
        });
        &self.basis * &rotated
    }

    /// The student `S_t = T + D_t`.
    pub fn student(&self, t: f64, clock: Clock) -> Mat<f64> {
        self.residual(t, clock) + &self.teacher
    }
}

fn check_shape(
    what: &'static str,
    m: MatRef<'_, f64>,
    expected: (usize, usize),
) -> Result<(), ExactError> {
    let got = (m.nrows(), m.ncols());
    if got == expected {
        Ok(())
    } else {
        Err(ExactError::Shape {
            what,
            expected,
            got,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    /// A realisation as in the spec: x ~ N(0, I), T and S0 with entries of variance
    /// 1/(2 din dout).
    fn realisation(n: usize, din: usize, dout: usize, seed: u64) -> (Mat<f64>, Mat<f64>, Mat<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Mat::from_fn(n, din, |_, _| rng.sample::<f64, _>(StandardNormal));
        let sd = (1.0 / (2.0 * (din * dout) as f64)).sqrt();
        let t = Mat::from_fn(din, dout, |_, _| sd * rng.sample::<f64, _>(StandardNormal));
        let s = Mat::from_fn(din, dout, |_, _| sd * rng.sample::<f64, _>(StandardNormal));
        (x, t, s)
    }

    /// The update rule itself, on plain vectors: D <- D - (2 eta/dout) Sigma D - (eta gamma/dout)
    /// (D + T), with Sigma formed by hand from the data (no faer on this side).
    struct NaiveGd {
        din: usize,
        dout: usize,
        sigma: Vec<f64>,
        t: Vec<f64>,
        d: Vec<f64>,
        eta: f64,
        gamma: f64,
    }

    impl NaiveGd {
        fn new(x: &Mat<f64>, t: &Mat<f64>, s: &Mat<f64>, eta: f64, gamma: f64) -> Self {
            let (n, din, dout) = (x.nrows(), x.ncols(), t.ncols());
            let mut sigma = vec![0.0; din * din];
            for a in 0..din {
                for b in 0..din {
                    sigma[a * din + b] =
                        (0..n).map(|r| x[(r, a)] * x[(r, b)]).sum::<f64>() / n as f64;
                }
            }
            let tv = (0..din * dout)
                .map(|k| t[(k / dout, k % dout)])
                .collect::<Vec<_>>();
            let d = (0..din * dout)
                .map(|k| s[(k / dout, k % dout)] - tv[k])
                .collect();
            Self {
                din,
                dout,
                sigma,
                t: tv,
                d,
                eta,
                gamma,
            }
        }

        fn step(&mut self) {
            let (din, dout) = (self.din, self.dout);
            let k = dout as f64;
            let mut next = self.d.clone();
            for a in 0..din {
                for j in 0..dout {
                    let sd: f64 = (0..din)
                        .map(|b| self.sigma[a * din + b] * self.d[b * dout + j])
                        .sum();
                    let i = a * dout + j;
                    next[i] -= 2.0 * self.eta / k * sd
                        + self.eta * self.gamma / k * (self.d[i] + self.t[i]);
                }
            }
            self.d = next;
        }

        fn losses(&self) -> (f64, f64) {
            let (din, dout) = (self.din, self.dout);
            let test = self.d.iter().map(|v| v * v).sum::<f64>() / dout as f64;
            let mut train = 0.0;
            for j in 0..dout {
                for a in 0..din {
                    for b in 0..din {
                        train +=
                            self.d[a * dout + j] * self.sigma[a * din + b] * self.d[b * dout + j];
                    }
                }
            }
            (train / dout as f64, test)
        }
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    fn check_against_naive(n: usize, din: usize, dout: usize, gamma: f64, steps: usize, seed: u64) {
        let eta = 0.01;
        let (x, t, s) = realisation(n, din, dout, seed);
        let exact =
            ExactDynamics::from_data(x.as_ref(), t.as_ref(), s.as_ref(), eta, gamma).unwrap();
        let mut naive = NaiveGd::new(&x, &t, &s, eta, gamma);
        let checkpoints = [1, 10, 100, 1000, steps];
        for step in 1..=steps {
            naive.step();
            if !checkpoints.contains(&step) {
                continue;
            }
            let d = exact.residual(step as f64, Clock::Discrete);
            let mut diff = 0.0;
            let mut norm = 0.0;
            for a in 0..din {
                for j in 0..dout {
                    let v = naive.d[a * dout + j];
                    diff += (d[(a, j)] - v).powi(2);
                    norm += v * v;
                }
            }
            let drel = (diff / norm).sqrt();
            assert!(
                drel < 1e-10,
                "n {n} din {din} gamma {gamma} step {step}: |dD|/|D| = {drel}"
            );
            let (train, test) = naive.losses();
            let l = exact.losses(step as f64, Clock::Discrete);
            assert!(
                rel(l.train_loss, train) < 1e-10,
                "step {step}: train {} vs {train}",
                l.train_loss
            );
            assert!(
                rel(l.gen_loss, test) < 1e-10,
                "step {step}: gen {} vs {test}",
                l.gen_loss
            );
        }
    }

    #[test]
    fn discrete_solution_equals_naive_gd_without_weight_decay() {
        check_against_naive(120, 60, 3, 0.0, 4000, 1); // lambda = 0.5
        check_against_naive(40, 60, 2, 0.0, 4000, 2); // lambda = 1.5: the null space never moves
    }

    #[test]
    fn discrete_solution_equals_naive_gd_with_weight_decay() {
        check_against_naive(120, 60, 3, 0.05, 4000, 3);
        check_against_naive(40, 60, 2, 0.5, 4000, 4);
    }

    #[test]
    fn gradient_flow_obeys_the_loss_identity() {
        // dL_gen/dt = -(4 eta / dout) L_train under flow with gamma = 0, by central differences.
        for (dout, seed) in [(1, 5), (4, 6)] {
            let (x, t, s) = realisation(150, 100, dout, seed);
            let exact =
                ExactDynamics::from_data(x.as_ref(), t.as_ref(), s.as_ref(), 0.01, 0.0).unwrap();
            for time in [3.0, 100.0, 2000.0] {
                let h = 1e-3 * time;
                let slope = (exact.losses(time + h, Clock::Flow).gen_loss
                    - exact.losses(time - h, Clock::Flow).gen_loss)
                    / (2.0 * h);
                let want = -4.0 * 0.01 / dout as f64 * exact.losses(time, Clock::Flow).train_loss;
                assert!(
                    rel(slope, want) < 1e-5,
                    "dout {dout} t {time}: {slope} vs {want}"
                );
            }
        }
    }

    #[test]
    fn weight_decay_reaches_the_ridge_solution() {
        // t -> infinity: S = (2 Sigma + gamma)^-1 2 Sigma T, i.e.
        // D = -gamma (2 Sigma + gamma)^-1 T.
        let (x, t, s) = realisation(50, 30, 2, 9);
        let gamma = 0.2;
        let exact =
            ExactDynamics::from_data(x.as_ref(), t.as_ref(), s.as_ref(), 0.01, gamma).unwrap();
        let d = exact.residual(1e7, Clock::Discrete);
        // Check the stationarity condition (2 Sigma + gamma) D + gamma T = 0 directly.
        let n = x.nrows() as f64;
        let gram = x.transpose() * &x;
        let sigma = Mat::from_fn(gram.nrows(), gram.ncols(), |i, j| gram[(i, j)] / n);
        let sd = &sigma * &d;
        let mut worst = 0.0f64;
        for i in 0..d.nrows() {
            for j in 0..d.ncols() {
                let v = 2.0 * sd[(i, j)] + gamma * (d[(i, j)] + t[(i, j)]);
                worst = worst.max(v.abs());
            }
        }
        assert!(worst < 1e-12, "stationarity residual {worst}");
    }

    #[test]
    fn shapes_are_checked() {
        let (x, t, s) = realisation(10, 5, 2, 0);
        let bad = Mat::<f64>::zeros(5, 3);
        let err = ExactDynamics::from_data(x.as_ref(), t.as_ref(), bad.as_ref(), 0.01, 0.0);
        assert_eq!(
            err.unwrap_err(),
            ExactError::Shape {
                what: "student0",
                expected: (5, 2),
                got: (5, 3)
            }
        );
        let err = ExactDynamics::from_data(x.as_ref(), t.as_ref(), s.as_ref(), -1.0, 0.0);
        assert!(matches!(
            err,
            Err(ExactError::Parameter { what: "eta", .. })
        ));
    }
}
