//! Times: when an accuracy curve first reaches a level, the grokking time
//! `delta_t = t_gen - t_train`, its `eps -> 0` limits, the Lambert-W asymptotics of `t_train` and
//! `t_gen`, and the largest weight decay that still allows perfect generalisation.
//!
//! Accuracy is a decreasing function of the loss (see [`accuracy`](mod@super::accuracy)), so
//! "accuracy reaches `level`" is "loss falls to `L* = loss_threshold(eps, dout, level)`", the same
//! `L*` for train and test. The theory losses are non-increasing in `t` (every eigendirection's
//! term is), so the first crossing is the unique root of `ln L(t) = ln L*`, found on a log scale in
//! `t`. When the asymptote `L(inf) >= L*` the level is never reached (e.g. `lambda > 1` without
//! weight decay, or large `gamma`).
//!
//! # Late-time asymptotics (`gamma = 0`, `lambda < 1`)
//! Near the lower edge `l- = (1 - sqrt(lambda))^2` the density is
//! `lambda^(-3/4) sqrt(nu - l-) / (pi l-)`, and the squared decay factor is, to first order in
//! `x = nu - l-`, `E^2 ~ exp(-kappa t) exp(-sigma t x)` with
//! - flow: `kappa = 4 eta' l-`, `sigma = 4 eta'`;
//! - discrete GD: `kappa = -2 ln(1 - 2 eta' l-)`, `sigma = 4 eta' / (1 - 2 eta' l-)`;
//!
//! where `eta' = eta / dout`. Hence `L_q(t) ~ A_q (sigma t)^(-3/2) exp(-kappa t)` with
//! `A_q = (1 + alpha^2) q(l-) lambda^(-3/4) / (4 sqrt(pi) dout l-)`, `q = 1` (gen) or `nu`
//! (train). (At `dout = alpha = 1`, flow, this is the large-`s` form of the Bessel closed form.)
//! Solving `L_q(t) = L*`:
//!
//! `t_q = 3 / (2 kappa) W0( (2 kappa / (3 sigma)) (A_q / L*)^(2/3) )`.
//!
//! The `(3/2) ln t` correction cancels in the difference only as `eps -> 0`, which leaves
//! `delta_t -> ln(1 / l-) / kappa`, i.e.
//! `dout ln(1/(1 - sqrt(lambda))) / (2 eta (1 - sqrt(lambda))^2)` under flow. `alpha` cancels
//! in the limit; `dout` multiplies it (via `eta / dout`). The approach is slow (relative
//! corrections ~ `1 / ln(1/eps)`), and the finite-`eps` times near `lambda = 1` differ from the
//! limit by a large factor (about 2.8 at `lambda = 0.9`, `eps = 1e-3`), so compare simulations
//! with [`grokking_times`], not with the limit. The Lambert-W difference is closer at every
//! `eps`, but the next-order edge correction (the train integrand carries `nu = l- + x`) still
//! leaves a relative error ~ `1.5 / (ln(1/eps) ln(1/l-))`, large for small `lambda`.
//!
//! With weight decay the spec quotes a small-`gamma` limit `ln(1 + sqrt(lambda)) / (2 eta
//! (1 - sqrt(lambda))^2)` ([`delta_t_limit_small_gamma`]). It does not follow from the
//! weight-decay formula implemented here: while `L_inf << L*` the crossing is governed by the
//! `E^2` term at the lower edge, which gives `ln(1/l-) / (4 eta' (l- + gamma/2))` under flow
//! (the `gamma = 0` limit with the edge rate shifted); nearer the critical `gamma` the
//! finite-`eps` `delta_t` *grows* (the approach to a floor just below `L*` is slow). It is
//! offered for comparison with the paper only.

use serde::{Deserialize, Serialize};

use super::accuracy::loss_threshold;
use super::losses::{Clock, LossModel, LossParams};

/// Times beyond this many steps count as never.
pub const T_MAX: f64 = 1e30;

/// When the train and test accuracies first reach the level (`None`: never).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Times {
    /// First time the training accuracy reaches the level.
    pub t_train: Option<f64>,
    /// First time the test accuracy reaches the level.
    pub t_gen: Option<f64>,
}

impl Times {
    /// `t_gen - t_train` when both exist.
    pub fn delta(&self) -> Option<f64> {
        Some(self.t_gen? - self.t_train?)
    }
}

/// First `t >= 0` at which a non-increasing `loss(t)` with limit `loss_inf` falls to
/// `threshold`; `None` if `loss_inf >= threshold` or the time exceeds [`T_MAX`]. The result is
/// a real time (the first integer step at or after it is `t.ceil()`).
pub fn first_time_below(loss: impl Fn(f64) -> f64, threshold: f64, loss_inf: f64) -> Option<f64> {
    if loss(0.0) <= threshold {
        return Some(0.0);
    }
    if loss_inf >= threshold {
        return None;
    }
    let mut lo = 0.0;
    let mut hi = 1.0;
    while loss(hi) > threshold {
        lo = hi;
        hi *= 4.0;
        if hi > T_MAX {
            return None;
        }
    }
    if lo == 0.0 {
        // Crossing within the first step: plain bisection on [0, 1].
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if loss(mid) > threshold {
                lo = mid
            } else {
                hi = mid
            }
        }
        return Some(hi);
    }
    // Illinois regula falsi on g(u) = ln(L(e^u) / L*): nearly linear in u at late times, so it
    // converges in a handful of evaluations; bisection takes over if g is not finite.
    let g = |u: f64| (loss(u.exp()) / threshold).ln();
    let (mut a, mut b) = (lo.ln(), hi.ln());
    let (mut fa, mut fb) = (g(a), g(b));
    let mut side = 0i8;
    let mut c = b;
    for _ in 0..200 {
        if b - a < 1e-14 * b.abs().max(1.0) {
            break;
        }
        c = if fa.is_finite() && fb.is_finite() && fa != fb {
            (a * fb - b * fa) / (fb - fa)
        } else {
            0.5 * (a + b)
        };
        if !(c > a && c < b) {
            c = 0.5 * (a + b);
        }
        let fc = g(c);
        if fc == 0.0 {
            return Some(c.exp());
        }
        if fc > 0.0 {
            a = c;
            fa = fc;
            if side == 1 {
                fb *= 0.5;
            }
            side = 1;
        } else {
            b = c;
            fb = fc;
            if side == -1 {
                fa *= 0.5;
            }
            side = -1;
        }
        if fc.abs() < 1e-15 {
            break;
        }
    }
    Some(c.exp())
}

/// `t_train` and `t_gen` from the large-dimension theory at accuracy `level` and threshold `eps`.
pub fn grokking_times(model: &LossModel, eps: f64, level: f64) -> Times {
    let threshold = loss_threshold(eps, model.params().dout, level);
    let inf = model.asymptotic();
    Times {
        t_train: first_time_below(|t| model.train_loss(t), threshold, inf.train_loss),
        t_gen: first_time_below(|t| model.gen_loss(t), threshold, inf.gen_loss),
    }
}

/// `kappa` and `sigma` of the lower-edge asymptotics (module docs) at `lambda < 1`.
fn edge_rates(lambda: f64, eta: f64, dout: usize, clock: Clock) -> (f64, f64, f64) {
    let lo = (1.0 - lambda.sqrt()).powi(2);
    let e = eta / dout as f64;
    match clock {
        Clock::Flow => (lo, 4.0 * e * lo, 4.0 * e),
        Clock::Discrete => {
            let x = 2.0 * e * lo;
            (lo, -2.0 * (-x).ln_1p(), 4.0 * e / (1.0 - x))
        }
    }
}

/// The `eps -> 0` grokking time at `gamma = 0`: `ln(1 / l-) / kappa`, which under flow is
/// `dout ln(1 / (1 - sqrt(lambda))) / (2 eta (1 - sqrt(lambda))^2)`. `None` unless
/// `0 < lambda < 1`.
pub fn delta_t_limit(lambda: f64, eta: f64, dout: usize, clock: Clock) -> Option<f64> {
    if !(lambda > 0.0 && lambda < 1.0) {
        return None;
    }
    let (lo, kappa, _) = edge_rates(lambda, eta, dout, clock);
    Some((1.0 / lo).ln() / kappa)
}

/// The paper's small-weight-decay limit as the spec states it,
/// `dout ln(1 + sqrt(lambda)) / (2 eta (1 - sqrt(lambda))^2)` under flow (with the discrete
/// lower-edge rate `kappa` in place of `4 eta l- / dout` for discrete GD). Not re-derived here:
/// the full weight-decay theory ([`grokking_times`]) is the reference. `None` unless
/// `0 < lambda < 1`.
pub fn delta_t_limit_small_gamma(lambda: f64, eta: f64, dout: usize, clock: Clock) -> Option<f64> {
    if !(lambda > 0.0 && lambda < 1.0) {
        return None;
    }
    let (_, kappa, _) = edge_rates(lambda, eta, dout, clock);
    Some(2.0 * (1.0 + lambda.sqrt()).ln() / kappa)
}

/// Lambert-W asymptotics of `t_train` and `t_gen` (module docs). Valid at late times (small
/// `eps`); `None` unless `gamma = 0` and `0 < lambda < 1`.
pub fn lambert_times(model: &LossModel, eps: f64, level: f64) -> Option<Times> {
    let p = model.params();
    if p.gamma != 0.0 || !(p.lambda > 0.0 && p.lambda < 1.0) {
        return None;
    }
    let threshold = loss_threshold(eps, p.dout, level);
    let (lo, kappa, sigma) = edge_rates(p.lambda, p.eta, p.dout, p.clock);
    let amplitude = (1.0 + p.alpha * p.alpha) * p.lambda.powf(-0.75)
        / (4.0 * std::f64::consts::PI.sqrt() * p.dout as f64 * lo);
    let time = |a_q: f64| {
        let arg = 2.0 * kappa / (3.0 * sigma) * (a_q / threshold).powf(2.0 / 3.0);
        1.5 / kappa * puruspe::lambert_w0(arg)
    };
    Some(Times {
        t_train: Some(time(amplitude * lo)),
        t_gen: Some(time(amplitude)),
    })
}

/// The largest weight decay at which the test accuracy still reaches `level` eventually
/// (`L_gen(inf) < L*`), all other parameters as in `params` (whose `gamma` is ignored).
/// `L_gen(inf)` grows with `gamma` from `(1 - 1/lambda)^+ / (2 dout)` at `gamma -> 0+` to
/// `1 / (2 dout)`. `None` if no `gamma > 0` works; `Some(f64::INFINITY)` if every one does
/// (many outputs: `L*` tends to `eps` while the losses start at `1/dout`). For small
/// thresholds and `lambda < 1` it is close to `sqrt(8 dout (1 - lambda)^3 L*)`.
pub fn critical_gamma(params: &LossParams, eps: f64, level: f64) -> Option<f64> {
    let threshold = loss_threshold(eps, params.dout, level);
    let k = params.dout as f64;
    if (1.0 - 1.0 / params.lambda).max(0.0) / (2.0 * k) >= threshold {
        return None;
    }
    if 1.0 / (2.0 * k) < threshold {
        return Some(f64::INFINITY);
    }
    let gen_inf = |gamma: f64| {
        LossModel::new(LossParams { gamma, ..*params })
            .asymptotic()
            .gen_loss
    };
    let (mut lo, mut hi) = (1e-300f64, 1.0f64);
    while gen_inf(hi) < threshold {
        lo = hi;
        hi *= 16.0;
    }
    // Bisection on ln gamma, and the first bracket often spans hundreds of decades, so
    // iterate on the log and stop at a relative width of ~1e-13.
    while (hi / lo).ln() > 1e-13 {
        let mid = (lo.ln() + 0.5 * (hi / lo).ln()).exp();
        if gen_inf(mid) < threshold {
            lo = mid
        } else {
            hi = mid
        }
    }
    Some(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(lambda: f64, dout: usize, gamma: f64, clock: Clock) -> LossModel {
        LossModel::new(LossParams {
            lambda,
            dout,
            gamma,
            eta: 0.01,
            alpha: 1.0,
            clock,
        })
    }

    #[test]
    fn first_time_below_finds_the_root_of_a_known_curve() {
        let t = first_time_below(|t| (-0.003 * t).exp() / (1.0 + t).sqrt(), 1e-6, 0.0).unwrap();
        let at = (-0.003 * t).exp() / (1.0 + t).sqrt();
        assert!((at / 1e-6 - 1.0).abs() < 1e-12, "{t}: {at}");
        assert_eq!(first_time_below(|_| 0.5, 1.0, 0.0), Some(0.0));
        let one = first_time_below(|t| 1.0 + 1.0 / (1.0 + t), 1.5, 1.0).unwrap();
        assert!((one - 1.0).abs() < 1e-12);
        assert_eq!(first_time_below(|t| 1.0 + 1.0 / (1.0 + t), 0.9, 1.0), None);
        let early = first_time_below(|t| 1.0 - t, 0.75, 0.0).unwrap();
        assert!((early - 0.25).abs() < 1e-12);
    }

    #[test]
    fn crossing_times_hit_the_threshold() {
        for clock in [Clock::Discrete, Clock::Flow] {
            let m = model(0.6, 3, 1e-4, clock);
            let times = grokking_times(&m, 1e-3, 0.95);
            let l = loss_threshold(1e-3, 3, 0.95);
            let (tt, tg) = (times.t_train.unwrap(), times.t_gen.unwrap());
            assert!(tt < tg);
            assert!((m.train_loss(tt) / l - 1.0).abs() < 1e-10);
            assert!((m.gen_loss(tg) / l - 1.0).abs() < 1e-10);
        }
    }

    #[test]
    fn no_generalisation_above_lambda_one_without_weight_decay() {
        let times = grokking_times(&model(1.5, 1, 0.0, Clock::Discrete), 1e-3, 0.95);
        assert!(times.t_train.is_some());
        assert_eq!(times.t_gen, None);
        assert_eq!(times.delta(), None);
    }

    #[test]
    fn large_weight_decay_prevents_generalisation() {
        // gamma = 1 at lambda = 0.9: L_gen(inf) ~ 1/2 E[(0.5/(nu+0.5))^2], far above L* ~ 2.6e-4.
        let times = grokking_times(&model(0.9, 1, 1.0, Clock::Discrete), 1e-3, 0.95);
        assert_eq!(times.t_gen, None);
    }

    #[test]
    fn grokking_time_increases_with_lambda() {
        for clock in [Clock::Discrete, Clock::Flow] {
            let mut prev = 0.0;
            for i in 1..20 {
                let lambda = 0.05 * i as f64;
                let dt = grokking_times(&model(lambda, 1, 0.0, clock), 1e-3, 0.95)
                    .delta()
                    .unwrap();
                assert!(dt > prev, "lambda {lambda}: {dt} after {prev}");
                prev = dt;
            }
        }
    }

    #[test]
    fn finite_eps_grokking_time_converges_to_the_limit() {
        // The ratio to the eps -> 0 formula approaches 1, slowly (the (3/2) ln t terms cancel
        // only as t -> infinity: corrections ~ 1 / ln(1/eps)). The Lambert-W difference keeps
        // those terms, is closer at every eps, and converges too (its own error is the
        // next-order edge correction, relative ~ 1.5 / (ln(1/eps) ln(1/l-))).
        for clock in [Clock::Discrete, Clock::Flow] {
            for lambda in [0.1, 0.5] {
                let m = model(lambda, 1, 0.0, clock);
                let limit = delta_t_limit(lambda, 0.01, 1, clock).unwrap();
                let (mut prev_gap, mut prev_lw_gap) = (f64::INFINITY, f64::INFINITY);
                for eps in [1e-3, 1e-6, 1e-10, 1e-16, 1e-24, 1e-40] {
                    let dt = grokking_times(&m, eps, 0.95).delta().unwrap();
                    let lw = lambert_times(&m, eps, 0.95).unwrap().delta().unwrap();
                    let gap = (dt / limit - 1.0).abs();
                    let lw_gap = (lw / dt - 1.0).abs();
                    assert!(
                        gap < prev_gap,
                        "lambda {lambda} eps {eps}: gap {gap} after {prev_gap}"
                    );
                    assert!(lw_gap < prev_lw_gap, "lambda {lambda} eps {eps}: {lw_gap}");
                    assert!(lw_gap < gap, "lambda {lambda} eps {eps}: {lw_gap} vs {gap}");
                    (prev_gap, prev_lw_gap) = (gap, lw_gap);
                }
                assert!(
                    prev_gap < 0.05,
                    "lambda {lambda}: gap {prev_gap} at eps = 1e-40"
                );
                assert!(
                    prev_lw_gap < 0.03,
                    "lambda {lambda}: lambert gap {prev_lw_gap}"
                );
            }
        }
    }

    #[test]
    fn lambert_times_approach_the_exact_theory_times() {
        for clock in [Clock::Discrete, Clock::Flow] {
            let m = model(0.5, 2, 0.0, clock);
            let exact = grokking_times(&m, 1e-12, 0.95);
            let lw = lambert_times(&m, 1e-12, 0.95).unwrap();
            for (a, b) in [(lw.t_train, exact.t_train), (lw.t_gen, exact.t_gen)] {
                let (a, b) = (a.unwrap(), b.unwrap());
                assert!((a / b - 1.0).abs() < 5e-3, "{a} vs {b}");
            }
        }
        assert!(lambert_times(&model(0.5, 1, 1e-3, Clock::Flow), 1e-3, 0.95).is_none());
        assert!(lambert_times(&model(1.5, 1, 0.0, Clock::Flow), 1e-3, 0.95).is_none());
    }

    #[test]
    fn limit_formula_scales_with_dout_and_matches_the_spec() {
        let flow = delta_t_limit(0.5, 0.01, 1, Clock::Flow).unwrap();
        let s = 0.5f64.sqrt();
        let spec = (1.0 / (1.0 - s)).ln() / (2.0 * 0.01 * (1.0 - s).powi(2));
        assert!((flow / spec - 1.0).abs() < 1e-14);
        let ten = delta_t_limit(0.5, 0.01, 10, Clock::Flow).unwrap();
        assert!((ten / (10.0 * flow) - 1.0).abs() < 1e-14);
        let small_gamma = delta_t_limit_small_gamma(0.5, 0.01, 1, Clock::Flow).unwrap();
        let spec = (1.0 + s).ln() / (2.0 * 0.01 * (1.0 - s).powi(2));
        assert!((small_gamma / spec - 1.0).abs() < 1e-14);
        // Discrete GD decays slightly faster at the edge than flow: a shorter limit.
        let discrete = delta_t_limit(0.5, 0.01, 1, Clock::Discrete).unwrap();
        assert!(discrete < flow && discrete > 0.99 * flow);
        assert_eq!(delta_t_limit(1.0, 0.01, 1, Clock::Flow), None);
    }

    #[test]
    fn critical_gamma_separates_generalisation_from_its_absence() {
        for (lambda, dout) in [(0.5, 1), (0.9, 5), (1.05, 1)] {
            let params = LossParams {
                lambda,
                dout,
                gamma: 0.0,
                eta: 0.01,
                alpha: 1.0,
                clock: Clock::Flow,
            };
            let eps = if lambda > 1.0 { 0.2 } else { 1e-3 };
            let gc = critical_gamma(&params, eps, 0.95).unwrap();
            assert!(gc.is_finite() && gc > 0.0);
            let below = LossModel::new(LossParams {
                gamma: gc * 0.99,
                ..params
            });
            let above = LossModel::new(LossParams {
                gamma: gc * 1.01,
                ..params
            });
            assert!(grokking_times(&below, eps, 0.95).t_gen.is_some());
            assert!(grokking_times(&above, eps, 0.95).t_gen.is_none());
        }
        // Small-gamma estimate sqrt(8 dout (1 - lambda)^3 L*), good to O(gamma / l-): check it
        // where gamma_c / 2 << l- = 0.086.
        let params = LossParams {
            dout: 3,
            ..LossParams::new(0.5)
        };
        let gc = critical_gamma(&params, 1e-7, 0.95).unwrap();
        let approx = (8.0 * 3.0 * 0.125 * loss_threshold(1e-7, 3, 0.95)).sqrt();
        assert!((gc / approx - 1.0).abs() < 0.01, "{gc} vs {approx}");
        let plateau = LossParams {
            lambda: 1.5,
            ..LossParams::new(1.5)
        };
        assert_eq!(critical_gamma(&plateau, 1e-3, 0.95), None);
        let wide = LossParams {
            dout: 700,
            ..LossParams::new(0.9)
        };
        assert_eq!(critical_gamma(&wide, 1e-3, 0.95), Some(f64::INFINITY));
    }
}
