//! Accuracy from loss: the map from a mean loss `L` to the fraction of samples whose per-sample
//! loss falls below the threshold `eps`, and its inverse (the loss that a target accuracy needs).
//!
//! Derivation (this is where the paper's text has a spurious factor 2, so it is spelled out).
//! The per-sample loss is `l(x) = (1/dout) ||D^T x||^2`. For `x ~ N(0, I)` the residual
//! `z = D^T x` is Gaussian with covariance `D^T D`. Under the equal-projection assumption the
//! columns of `D` are orthogonal with equal norms, so `D^T D = (||D||_F^2 / dout) I = L I`, where
//! `L = (1/dout) ||D||_F^2` is exactly the mean loss. Each of the `dout` components of `z` then
//! has *variance* `L` (the paper says "standard deviation"), and
//!
//! `l = (L / dout) chi2_dout`, so `A = P(chi2_dout < dout eps / L) = P(dout/2, dout eps / (2 L))`
//!
//! with `P` the regularised lower incomplete gamma function. For `dout = 1`,
//! `P(1/2, x) = erf(sqrt(x))` gives `A = erf(sqrt(eps / (2 L)))`. The same map is applied to the
//! training loss for the training accuracy (the residual over the training set has mean square
//! `L_train` per output; Gaussianity is the approximation).
//!
//! For large `dout` the chi-square concentrates: `A` becomes a step at `L = eps`, and the loss
//! a level needs tends to `eps` from below.

use puruspe::{erf, invgammp, ln_gamma};

/// Fraction of samples with per-sample loss below `eps` when the mean loss is `loss` and the
/// model has `dout` outputs (see the module docs). `loss = 0` gives 1, an infinite loss 0, and a
/// NaN loss or eps NaN (a diverged or overflowing prediction is a value, never a panic).
pub fn accuracy(loss: f64, eps: f64, dout: usize) -> f64 {
    assert!(dout >= 1, "dout must be >= 1");
    if loss.is_nan() || eps.is_nan() {
        return f64::NAN;
    }
    if loss <= 0.0 {
        return 1.0;
    }
    let x = eps / (2.0 * loss);
    if !x.is_finite() {
        return if x > 0.0 { 1.0 } else { f64::NAN };
    }
    if dout == 1 {
        // erf is the closed form of P(1/2, x); it is cheaper and exact near x = 0.
        return erf(x.sqrt());
    }
    let k = dout as f64;
    if !(k * x).is_finite() {
        return 1.0;
    }
    gammp(0.5 * k, k * x)
}

/// The regularised lower incomplete gamma function P(a, x).
///
/// puruspe 0.4.4's `gammp` returns NaN for a >= 100 and 0.2 a <= x < a - 1 (its large-a quadrature
/// takes the logarithm of a negative interval there), which is exactly the low-accuracy range of
/// models with a few hundred outputs. There the power series
/// P(a, x) = e^{-x} x^a / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n)), which converges for every
/// x < a (terms shrink at least by x / (a + 1)), is summed in log space instead.
pub fn gammp(a: f64, x: f64) -> f64 {
    let p = puruspe::gammp(a, x);
    if p.is_finite() || x >= a {
        return p;
    }
    let (mut term, mut sum, mut n) = (1.0, 1.0, 0.0);
    while term > 1e-17 * sum {
        n += 1.0;
        term *= x / (a + n);
        sum += term;
    }
    (-x + a * x.ln() - ln_gamma(a + 1.0) + sum.ln())
        .exp()
        .min(1.0)
}

/// The largest mean loss at which [`accuracy`] still reaches `level`:
/// `L* = dout eps / (2 x*)` with `P(dout/2, x*) = level`. A curve reaches the level at the first
/// time its loss falls to `L*`.
///
/// # Panics
/// If `level` is not in `(0, 1)` or `eps <= 0`.
pub fn loss_threshold(eps: f64, dout: usize, level: f64) -> f64 {
    assert!(
        level > 0.0 && level < 1.0,
        "level must be in (0, 1), got {level}"
    );
    assert!(eps > 0.0, "eps must be > 0, got {eps}");
    assert!(dout >= 1, "dout must be >= 1");
    let a = 0.5 * dout as f64;
    let x = chi_half_quantile(level, a);
    dout as f64 * eps / (2.0 * x)
}

/// `x` with `P(a, x) = p`. puruspe's `invgammp` starts from an approximation and stops at a
/// modest tolerance; two Newton steps on `gammp` (whose derivative is the gamma density)
/// bring it to rounding level.
fn chi_half_quantile(p: f64, a: f64) -> f64 {
    let mut x = invgammp(p, a);
    let ln_gamma_a = puruspe::ln_gamma(a);
    for _ in 0..3 {
        let density = ((a - 1.0) * x.ln() - x - ln_gamma_a).exp();
        if density <= 0.0 || !density.is_finite() {
            break;
        }
        let step = (gammp(a, x) - p) / density;
        x = (x - step).max(0.5 * x);
        if step.abs() < 1e-15 * x {
            break;
        }
    }
    x
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_finite_losses_give_values_not_panics() {
        // issue 6: a run with init_scale = 1e308 fed NaN losses here and puruspe's erfc panicked
        for dout in [1, 3, 700] {
            assert!(super::accuracy(f64::NAN, 1e-3, dout).is_nan());
            assert_eq!(super::accuracy(f64::INFINITY, 1e-3, dout), 0.0);
            assert_eq!(super::accuracy(1e-310, 1e-3, dout), 1.0);
        }
    }

    #[test]
    fn large_a_incomplete_gamma_is_finite_and_continuous() {
        // P(350, x) for chi-square with 700 degrees of freedom: mean 350, sd sqrt(350) = 18.7.
        let vals: Vec<f64> = [
            240.0, 280.0, 300.0, 320.0, 340.0, 349.0, 350.0, 360.0, 380.0,
        ]
        .iter()
        .map(|&x| super::gammp(350.0, x))
        .collect();
        assert!(
            vals.iter()
                .all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
            "{vals:?}"
        );
        assert!(
            vals.windows(2).all(|w| w[0] < w[1]),
            "not increasing: {vals:?}"
        );
        // the median of a gamma(a) variable is close to a - 1/3
        assert!((super::gammp(350.0, 350.0 - 1.0 / 3.0) - 0.5).abs() < 2e-3);
        // one standard deviation below the mean: about Phi(-1) = 0.159 (skew moves it a little)
        assert!((super::gammp(350.0, 350.0 - 350f64.sqrt()) - 0.159).abs() < 0.01);
        // agrees with puruspe where puruspe is finite
        assert!((super::gammp(50.0, 30.0) - puruspe::gammp(50.0, 30.0)).abs() < 1e-14);
    }

    use super::*;
    use rand::RngExt;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    #[test]
    fn erf_and_incomplete_gamma_agree_at_dout_1() {
        for loss in [1e-6f64, 1e-4, 3e-4, 1e-3, 1e-2, 1.0] {
            let by_erf = erf((1e-3 / (2.0 * loss)).sqrt());
            let by_gamma = gammp(0.5, 1e-3 / (2.0 * loss));
            // puruspe's gammp is good to ~1e-11 here; erf to rounding.
            assert!(
                (by_erf - by_gamma).abs() < 1e-10,
                "{loss}: {by_erf} vs {by_gamma}"
            );
            assert_eq!(accuracy(loss, 1e-3, 1), by_erf);
        }
    }

    #[test]
    fn threshold_inverts_accuracy() {
        for dout in [1, 2, 3, 5, 10, 50, 100, 199, 200, 201, 700, 5000] {
            for level in [0.5, 0.9, 0.95, 0.99] {
                let l = loss_threshold(1e-3, dout, level);
                let a = accuracy(l, 1e-3, dout);
                assert!((a - level).abs() < 1e-10, "dout {dout} level {level}: {a}");
                // A slightly larger loss must miss the level: the threshold is the largest.
                assert!(accuracy(l * (1.0 + 1e-6), 1e-3, dout) < level);
            }
        }
    }

    #[test]
    fn known_accuracy_values() {
        // P(|Z| < 1) = erf(1/sqrt 2) and the chi-square(3) CDF at 3 (scipy.stats.chi2.cdf(3, 3)).
        assert!((accuracy(1e-3, 1e-3, 1) - 0.6826894921370859).abs() < 1e-15);
        assert!((accuracy(1e-3, 1e-3, 3) - 0.608374823728911).abs() < 1e-10);
    }

    #[test]
    fn known_threshold_at_dout_1() {
        // erf(sqrt(eps / 2L)) = 0.95 <=> sqrt(eps / 2L) = 1.3859038243496777 (inverse erf of
        // 0.95, from mpmath.erfinv), so L* = eps / 3.841458820694124 (the chi-square 95% point).
        let l = loss_threshold(1e-3, 1, 0.95);
        assert!((l - 1e-3 / 3.841458820694124).abs() < 1e-15);
    }

    #[test]
    fn threshold_tends_to_eps_for_many_outputs() {
        let l = loss_threshold(1e-3, 100_000, 0.95);
        assert!(l < 1e-3 && l > 0.99e-3, "{l}");
    }

    /// Monte-Carlo check of the chi-square law: draw a residual matrix D with orthogonal
    /// columns of equal norm (the equal-projection case, where the law is exact), sample Gaussian
    /// inputs and count per-sample losses below eps. Tolerance: 4.5 binomial standard errors.
    #[test]
    fn accuracy_matches_monte_carlo() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let din = 12;
        let samples = 200_000;
        for (dout, loss) in [(1usize, 4e-4f64), (3, 6e-4), (10, 9e-4), (10, 1.3e-3)] {
            let eps = 1e-3;
            // Orthonormal columns by Gram-Schmidt, scaled so that (1/dout)||D||^2 = loss.
            let mut cols: Vec<Vec<f64>> = Vec::new();
            while cols.len() < dout {
                let mut v: Vec<f64> = (0..din).map(|_| rng.sample(StandardNormal)).collect();
                for c in &cols {
                    let p: f64 = v.iter().zip(c).map(|(a, b)| a * b).sum();
                    v.iter_mut().zip(c).for_each(|(a, b)| *a -= p * b);
                }
                let n = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                cols.push(v.iter().map(|a| a / n).collect());
            }
            let scale = loss.sqrt();
            let mut hits = 0usize;
            let mut x = vec![0.0; din];
            for _ in 0..samples {
                x.iter_mut().for_each(|a| *a = rng.sample(StandardNormal));
                let per_sample: f64 = cols
                    .iter()
                    .map(|c| {
                        let z: f64 = scale * c.iter().zip(&x).map(|(a, b)| a * b).sum::<f64>();
                        z * z
                    })
                    .sum::<f64>()
                    / dout as f64;
                hits += usize::from(per_sample < eps);
            }
            let mc = hits as f64 / samples as f64;
            let theory = accuracy(loss, eps, dout);
            let se = (theory * (1.0 - theory) / samples as f64).sqrt();
            assert!(
                (mc - theory).abs() < 4.5 * se,
                "dout {dout}, loss {loss}: Monte-Carlo {mc} vs theory {theory} (se {se})"
            );
        }
    }
}
