//! The Marchenko-Pastur law: the large-dimension spectrum of the empirical covariance
//! `Sigma = X^T X / N` of standard Gaussian inputs, with `lambda = din / N`.
//!
//! This file owns the density, the point mass at zero and, above all, an accurate expectation
//! `E_MP[f(nu)]`. Every large-dimension loss of the study is such an expectation, and the ones
//! that matter for grokking times are dominated by the lower spectral edge at late times, where
//! the integrand becomes a narrow peak against a square-root endpoint. The quadrature therefore:
//!
//! - substitutes `nu = m - r cos(phi)`, `m = 1 + lambda`, `r = 2 sqrt(lambda)`, which turns the
//!   square-root endpoints into a smooth integrand `(2 / pi) sin^2(phi) f(nu) / nu` on `[0, pi]`
//!   (the measure `rho(nu) d nu` becomes exactly that, whatever `lambda`);
//! - grades Gauss-Legendre panels geometrically towards `phi = 0` (the lower edge), so a peak of
//!   any width down to ~1e-10 in `phi` is resolved; this covers `exp(-s nu)` for `s` up to ~1e15,
//!   the near-pole `1 / nu` when `lambda -> 1` and `1 / (nu + gamma / 2)^2` for tiny `gamma`.
//!
//! The rule is built once per `lambda` (820 nodes) and reused for every `t`.

use std::f64::consts::PI;

/// Gauss-Legendre order of each panel. 20 nodes integrate `exp(-beta x)` on `[-1, 1]` to full
/// precision for `beta` up to ~25, which is what a factor-2 geometric panel can see of a peak
/// that still carries weight.
const GL_ORDER: usize = 20;
/// Number of geometric halvings towards the lower edge: the smallest panel is `pi 2^-36`
/// (~5e-11 rad).
const GEOMETRIC_LEVELS: i32 = 36;
/// `[pi / 4, pi]` is split into this many uniform panels.
const UNIFORM_PANELS: usize = 6;

/// The Marchenko-Pastur distribution with ratio `lambda = din / N` and unit input variance,
/// together with a quadrature rule for expectations over it.
///
/// `p(nu) = (1 - 1/lambda)^+ delta(nu) + sqrt((l+ - nu)(nu - l-)) / (2 pi lambda nu)` on
/// `[l-, l+]`, `l± = (1 ± sqrt(lambda))^2`. Its mean is 1 and its variance is `lambda`.
#[derive(Clone, Debug)]
pub struct MarchenkoPastur {
    lambda: f64,
    /// `(nu, weight)` pairs; the point mass at zero, when present, is the first pair.
    rule: Vec<(f64, f64)>,
}

impl MarchenkoPastur {
    /// Builds the distribution and its quadrature rule.
    ///
    /// # Panics
    /// If `lambda` is not finite and positive.
    pub fn new(lambda: f64) -> Self {
        assert!(
            lambda.is_finite() && lambda > 0.0,
            "Marchenko-Pastur ratio lambda must be finite and > 0, got {lambda}"
        );
        let sq = lambda.sqrt();
        let lower = (1.0 - sq) * (1.0 - sq);
        let (x, w) = gauss_legendre(GL_ORDER);
        let mut panels = Vec::new();
        panels.push((0.0, PI * 2f64.powi(-GEOMETRIC_LEVELS)));
        for k in (2..GEOMETRIC_LEVELS).rev() {
            panels.push((PI * 2f64.powi(-k - 1), PI * 2f64.powi(-k)));
        }
        let step = (PI - PI / 4.0) / UNIFORM_PANELS as f64;
        for i in 0..UNIFORM_PANELS {
            panels.push((PI / 4.0 + step * i as f64, PI / 4.0 + step * (i + 1) as f64));
        }
        let mut rule = Vec::with_capacity(panels.len() * GL_ORDER + 1);
        let mass = point_mass(lambda);
        if mass > 0.0 {
            rule.push((0.0, mass));
        }
        for (a, b) in panels {
            let half = 0.5 * (b - a);
            let mid = 0.5 * (b + a);
            for (xi, wi) in x.iter().zip(&w) {
                let phi = mid + half * xi;
                let s = (0.5 * phi).sin();
                // l- + r (1 - cos phi), written with sin^2(phi/2) so that nu keeps full relative
                // precision near the lower edge (and near 0 when lambda = 1).
                let nu = lower + 4.0 * sq * s * s;
                let sin = phi.sin();
                rule.push((nu, (2.0 / PI) * sin * sin / nu * half * wi));
            }
        }
        Self { lambda, rule }
    }

    /// The ratio `lambda = din / N`.
    pub fn lambda(&self) -> f64 {
        self.lambda
    }

    /// The spectral edges `(l-, l+) = ((1 - sqrt(lambda))^2, (1 + sqrt(lambda))^2)`.
    pub fn edges(&self) -> (f64, f64) {
        let sq = self.lambda.sqrt();
        ((1.0 - sq).powi(2), (1.0 + sq).powi(2))
    }

    /// The weight `(1 - 1/lambda)^+` of the point mass at `nu = 0` (the directions the training
    /// data do not span).
    pub fn point_mass(&self) -> f64 {
        point_mass(self.lambda)
    }

    /// The continuous part of the density at `nu` (zero outside `[l-, l+]`).
    pub fn density(&self, nu: f64) -> f64 {
        let (lo, hi) = self.edges();
        if nu <= lo || nu >= hi || nu <= 0.0 {
            return 0.0;
        }
        ((hi - nu) * (nu - lo)).sqrt() / (2.0 * PI * self.lambda * nu)
    }

    /// The quadrature rule as `(nu, weight)` pairs, point mass included, so that
    /// `E_MP[f] ~ sum weight * f(nu)`. Lets a caller evaluate several integrands in one pass.
    pub fn rule(&self) -> &[(f64, f64)] {
        &self.rule
    }

    /// `E_MP[f(nu)]`, point mass included.
    pub fn expect(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.rule.iter().map(|&(nu, w)| w * f(nu)).sum()
    }

    /// `E_MP[f(nu)]` over the continuous part only (the point mass is left out).
    pub fn expect_continuous(&self, f: impl Fn(f64) -> f64) -> f64 {
        let skip = usize::from(self.point_mass() > 0.0);
        self.rule[skip..].iter().map(|&(nu, w)| w * f(nu)).sum()
    }
}

fn point_mass(lambda: f64) -> f64 {
    (1.0 - 1.0 / lambda).max(0.0)
}

/// Nodes and weights of `n`-point Gauss-Legendre quadrature on `[-1, 1]` (Newton iteration on
/// the Legendre recurrence; exact to rounding for the small orders used here).
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let nf = n as f64;
    for i in 0..n.div_ceil(2) {
        let mut z = (PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p1, mut p2) = (1.0, 0.0);
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                p1 = ((2 * j + 1) as f64 * z * p2 - j as f64 * p3) / (j + 1) as f64;
            }
            dp = nf * (z * p1 - p2) / (z * z - 1.0);
            let dz = p1 / dp;
            z -= dz;
            if dz.abs() < 1e-16 {
                break;
            }
        }
        x[i] = -z;
        x[n - 1 - i] = z;
        let wi = 2.0 / ((1.0 - z * z) * dp * dp);
        w[i] = wi;
        w[n - 1 - i] = wi;
    }
    (x, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAMBDAS: [f64; 8] = [0.01, 0.1, 0.5, 0.9, 0.999, 1.0, 1.5, 10.0];

    #[test]
    fn gauss_legendre_is_exact_for_polynomials_up_to_degree_2n_minus_1() {
        let (x, w) = gauss_legendre(GL_ORDER);
        for k in 0..2 * GL_ORDER {
            let q: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(k as i32)).sum();
            let exact = if k % 2 == 1 {
                0.0
            } else {
                2.0 / (k + 1) as f64
            };
            assert!((q - exact).abs() < 1e-14, "degree {k}: {q} vs {exact}");
        }
    }

    #[test]
    fn total_mass_is_one_with_the_point_mass() {
        for lambda in LAMBDAS {
            let mp = MarchenkoPastur::new(lambda);
            let total = mp.expect(|_| 1.0);
            assert!((total - 1.0).abs() < 1e-12, "lambda {lambda}: mass {total}");
            let continuous = mp.expect_continuous(|_| 1.0);
            let want = 1.0f64.min(1.0 / lambda);
            assert!(
                (continuous - want).abs() < 1e-12,
                "lambda {lambda}: {continuous}"
            );
        }
    }

    #[test]
    fn moments_match_the_known_values() {
        // E[nu] = 1, E[nu^2] = 1 + lambda, E[nu^3] = 1 + 3 lambda + lambda^2 (Narayana numbers).
        for lambda in LAMBDAS {
            let mp = MarchenkoPastur::new(lambda);
            let m1 = mp.expect(|nu| nu);
            let m2 = mp.expect(|nu| nu * nu);
            let m3 = mp.expect(|nu| nu * nu * nu);
            assert!((m1 - 1.0).abs() < 1e-12, "lambda {lambda}: mean {m1}");
            assert!((m2 - (1.0 + lambda)).abs() < 1e-11 * (1.0 + lambda));
            let want3 = 1.0 + 3.0 * lambda + lambda * lambda;
            assert!((m3 - want3).abs() < 1e-11 * want3, "lambda {lambda}: {m3}");
        }
    }

    #[test]
    fn inverse_moments_match_the_inverse_wishart_values() {
        // For lambda < 1: E[1/nu] = 1/(1 - lambda), E[1/nu^2] = 1/(1 - lambda)^3. At
        // lambda = 0.999 the integrand has a near-pole of width ~1e-3 at the lower edge.
        for lambda in [0.01, 0.1, 0.5, 0.9, 0.99, 0.999] {
            let mp = MarchenkoPastur::new(lambda);
            let inv1 = mp.expect(|nu| 1.0 / nu);
            let inv2 = mp.expect(|nu| 1.0 / (nu * nu));
            let w1 = 1.0 / (1.0 - lambda);
            let w2 = w1.powi(3);
            assert!(
                (inv1 / w1 - 1.0).abs() < 1e-10,
                "lambda {lambda}: {inv1} vs {w1}"
            );
            assert!(
                (inv2 / w2 - 1.0).abs() < 1e-9,
                "lambda {lambda}: {inv2} vs {w2}"
            );
        }
    }

    #[test]
    fn quadrature_agrees_with_direct_integration_of_the_density() {
        // An independent check of the substitution: composite Simpson on the density after
        // nu = l- + (l+ - l-) u^2 (which removes the lower square root), f = cos(3 nu).
        for lambda in [0.3, 2.0] {
            let mp = MarchenkoPastur::new(lambda);
            let (lo, hi) = mp.edges();
            let n = 200_000;
            let g = |u: f64| {
                let nu = lo + (hi - lo) * u * u;
                mp.density(nu) * (3.0 * nu).cos() * 2.0 * (hi - lo) * u
            };
            let h = 1.0 / n as f64;
            let mut s = g(0.0) + g(1.0);
            for i in 1..n {
                s += g(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
            }
            let direct = s * h / 3.0;
            let quad = mp.expect_continuous(|nu| (3.0 * nu).cos());
            assert!(
                (direct - quad).abs() < 1e-6,
                "lambda {lambda}: {direct} vs {quad}"
            );
        }
    }
}
